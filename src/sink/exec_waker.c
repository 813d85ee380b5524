/*
 * The exec sink's waker (src/sink/exec_int.h): a thread that watches the
 * handler's standard output for the worker, which meanwhile reads the stream,
 * and wakes it when acknowledgements come or a deadline passes.  It reads
 * nothing itself: the worker's flush does, on its own thread.
 */
#include <poll.h>

#include "base/clock.h"
#include "sink/exec_int.h"
#include "sink/sink.h"

/* How long one poll() lasts at most: how soon a quit or a new fd is seen. */
#define WAKER_POLL_MS 100

static void *waker_main(void *arg)
{
    pgcdc__waker *wk = arg;

    pthread_mutex_lock(&wk->mu);
    while (!wk->quit) {
        struct pollfd pf;
        int64_t deadline;
        int ms = WAKER_POLL_MS;
        int n;
        int wake;

        if (!wk->armed || wk->fd < 0) {
            pthread_cond_wait(&wk->cv, &wk->mu);
            continue;
        }
        pf.fd = wk->fd;
        pf.events = POLLIN;
        pf.revents = 0;
        deadline = wk->deadline_us;
        pthread_mutex_unlock(&wk->mu);
        if (deadline > 0) {
            int64_t left = (deadline - pgcdc__now_us()) / 1000 + 1;

            if (left < ms)
                ms = left > 0 ? (int)left : 0;
        }
        n = poll(&pf, 1, ms);
        pthread_mutex_lock(&wk->mu);
        /* Re-armed for another handler meanwhile: watch that one. */
        if (wk->fd != pf.fd || !wk->armed)
            continue;
        wake = n > 0 || (deadline > 0 && pgcdc__now_us() >= deadline);
        if (!wake)
            continue;
        wk->armed = 0;
        pthread_mutex_unlock(&wk->mu);
        pgcdc__sink_wake(wk->sink);
        pthread_mutex_lock(&wk->mu);
    }
    pthread_mutex_unlock(&wk->mu);
    return NULL;
}

int pgcdc__waker_start(pgcdc__waker *wk, pgcdc_sink *sink)
{
    wk->sink = sink;
    wk->fd = -1;
    wk->armed = 0;
    wk->deadline_us = 0;
    wk->quit = 0;
    wk->started = 0;
    if (pthread_mutex_init(&wk->mu, NULL) != 0)
        return PGCDC_ERR_NOMEM;
    if (pthread_cond_init(&wk->cv, NULL) != 0) {
        pthread_mutex_destroy(&wk->mu);
        return PGCDC_ERR_NOMEM;
    }
    if (pthread_create(&wk->thread, NULL, waker_main, wk) != 0) {
        pthread_cond_destroy(&wk->cv);
        pthread_mutex_destroy(&wk->mu);
        return PGCDC_ERR_NOMEM;
    }
    wk->started = 1;
    return PGCDC_OK;
}

void pgcdc__waker_arm(pgcdc__waker *wk, int fd, int64_t deadline_us)
{
    if (!wk->started)
        return;
    pthread_mutex_lock(&wk->mu);
    wk->fd = fd;
    wk->armed = fd >= 0;
    wk->deadline_us = deadline_us;
    pthread_cond_signal(&wk->cv);
    pthread_mutex_unlock(&wk->mu);
}

void pgcdc__waker_stop(pgcdc__waker *wk)
{
    if (!wk->started)
        return;
    pthread_mutex_lock(&wk->mu);
    wk->quit = 1;
    pthread_cond_signal(&wk->cv);
    pthread_mutex_unlock(&wk->mu);
    pthread_join(wk->thread, NULL);
    pthread_cond_destroy(&wk->cv);
    pthread_mutex_destroy(&wk->mu);
    wk->started = 0;
}
