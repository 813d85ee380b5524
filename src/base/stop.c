/*
 * Stop requests: an atomic flag and a self-pipe.
 */
#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/stop.h"

int pgcdc__stop_init(pgcdc__stop *s)
{
    atomic_store(&s->requested, 0);
    s->wake[0] = -1;
    s->wake[1] = -1;
    return pipe2(s->wake, O_CLOEXEC | O_NONBLOCK) == 0 ? 0 : -1;
}

void pgcdc__stop_destroy(pgcdc__stop *s)
{
    for (int i = 0; i < 2; i++) {
        if (s->wake[i] >= 0)
            close(s->wake[i]);
        s->wake[i] = -1;
    }
}

void pgcdc__stop_request(pgcdc__stop *s)
{
    ssize_t ignored;

    atomic_store(&s->requested, 1);
    ignored = write(s->wake[1], "x", 1);
    (void)ignored;
}

void pgcdc__stop_wake(pgcdc__stop *s)
{
    ssize_t ignored = write(s->wake[1], "x", 1);

    (void)ignored;
}

int pgcdc__stop_fd(const pgcdc__stop *s)
{
    return s->wake[0];
}

void pgcdc__stop_drain(pgcdc__stop *s)
{
    char junk[64];

    while (read(s->wake[0], junk, sizeof(junk)) > 0)
        ;
}

int pgcdc__stop_sleep(pgcdc__stop *s, int ms)
{
    int64_t until = pgcdc__now_us() + (int64_t)ms * 1000;

    for (;;) {
        struct pollfd pfd = {s->wake[0], POLLIN, 0};
        int64_t left = until - pgcdc__now_us();

        if (pgcdc__stop_requested(s))
            return 1;
        if (left <= 0)
            return 0;
        if (poll(&pfd, 1, (int)((left + 999) / 1000)) > 0)
            pgcdc__stop_drain(s);
    }
}
