/*
 * A stop request: a flag that a signal handler or another thread may set,
 * and a pipe that wakes whoever waits in poll() or in an interruptible sleep.
 */
#ifndef PGCDC_BASE_STOP_H
#define PGCDC_BASE_STOP_H

#include <stdatomic.h>

typedef struct pgcdc__stop {
    atomic_int requested;
    int wake[2]; /* read end, write end; -1 when not open */
} pgcdc__stop;

/* 0, or -1 when the pipe cannot be had. */
int pgcdc__stop_init(pgcdc__stop *s);
void pgcdc__stop_destroy(pgcdc__stop *s);
/* Async-signal-safe and thread-safe. */
void pgcdc__stop_request(pgcdc__stop *s);
static inline int pgcdc__stop_requested(pgcdc__stop *s)
{
    return atomic_load_explicit(&s->requested, memory_order_relaxed);
}
/* Wakes whoever waits, without asking to stop.  Async-signal-safe and thread-safe. */
void pgcdc__stop_wake(pgcdc__stop *s);
/* The descriptor to poll for POLLIN; drain it after it fired. */
int pgcdc__stop_fd(const pgcdc__stop *s);
void pgcdc__stop_drain(pgcdc__stop *s);
/* Sleeps up to ms; returns 1 at once when a stop is requested, else 0. */
int pgcdc__stop_sleep(pgcdc__stop *s, int ms);

#endif /* PGCDC_BASE_STOP_H */
