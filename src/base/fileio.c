/*
 * File I/O helpers.
 */
#include <errno.h>
#include <unistd.h>

#include "base/fileio.h"

int pgcdc__write_all(int fd, const void *p, size_t n)
{
    const char *at = p;

    while (n > 0) {
        ssize_t k = write(fd, at, n);

        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0)
            return -1;
        if (k == 0) {
            errno = EIO;
            return -1;
        }
        at += k;
        n -= (size_t)k;
    }
    return 0;
}
