/*
 * LD_PRELOAD shim for tests: fsync() and fdatasync() fail with EIO once
 * PGCDC_FAIL_FSYNC_AFTER calls have succeeded, as a failing disk would.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <errno.h>
#include <stdlib.h>

int fsync(int fd);
int fdatasync(int fd);

static int calls;

static int failing(void)
{
    const char *after = getenv("PGCDC_FAIL_FSYNC_AFTER");

    return after != NULL && calls++ >= atoi(after);
}

int fsync(int fd)
{
    int (*real)(int) = (int (*)(int))dlsym(RTLD_NEXT, "fsync");

    if (failing()) {
        errno = EIO;
        return -1;
    }
    return real(fd);
}

int fdatasync(int fd)
{
    int (*real)(int) = (int (*)(int))dlsym(RTLD_NEXT, "fdatasync");

    if (failing()) {
        errno = EIO;
        return -1;
    }
    return real(fd);
}
