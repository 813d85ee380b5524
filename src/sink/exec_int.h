/*
 * The exec sink's child process: started with its standard input and output
 * on sockets of ours, in a process group of its own, and ended (politely at
 * the close, at once when it misbehaves).
 */
#ifndef PGCDC_SINK_EXEC_INT_H
#define PGCDC_SINK_EXEC_INT_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "pgcdc.h"

typedef struct pgcdc__child {
    pid_t pid; /* 0: none */
    int in;    /* our end of its standard input (-1: closed) */
    int out;   /* our end of its standard output */
} pgcdc__child;

/*
 * Starts "/bin/sh -c cmd" with PGCDC_HANDLER_PROTOCOL and PGCDC_FORMAT in
 * its environment and its standard error shared with ours.  PGCDC_OK, or
 * an error with a reason in why.
 */
int pgcdc__child_start(pgcdc__child *c, const char *cmd, pgcdc_format format, char *why,
                       size_t size);
/*
 * Ends the child: with polite, closes its input and waits up to grace_ms for
 * it to exit before SIGTERM, then SIGKILL; else kills its group at once.
 * Writes how it ended into how ("exited with status 1"), and closes our ends.
 */
void pgcdc__child_end(pgcdc__child *c, int polite, int grace_ms, char *how, size_t size);

/*
 * The worker does not wait for a handler's acknowledgements (it goes back to
 * the stream): the waker, a thread of the sink's, watches the handler's
 * output while armed and wakes the worker, whose flush then reads it, when
 * something comes or the deadline passes (the timeout to check).
 */
typedef struct pgcdc__waker {
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pgcdc_sink *sink;
    int fd;              /* the output watched; -1: none */
    int armed;           /* until it wakes the worker once */
    int64_t deadline_us; /* 0: none */
    int quit;
    int started;
} pgcdc__waker;

/* Starts the thread: PGCDC_OK or PGCDC_ERR_NOMEM. */
int pgcdc__waker_start(pgcdc__waker *wk, pgcdc_sink *sink);
/* Watches fd until something comes or deadline_us passes (0: none); fd -1 disarms. */
void pgcdc__waker_arm(pgcdc__waker *wk, int fd, int64_t deadline_us);
/* Stops and joins the thread (nothing if it was not started). */
void pgcdc__waker_stop(pgcdc__waker *wk);

#endif /* PGCDC_SINK_EXEC_INT_H */
