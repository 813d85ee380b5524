/*
 * What sinks that deliver from threads of their own share: a bound on the
 * bytes in flight (the worker's thread waits for room, which stops it
 * reading the stream while the keeper keeps the connection alive), and a
 * failure found on the sink's thread that the worker's next write or flush
 * returns.
 */
#ifndef PGCDC_SINK_ASYNC_H
#define PGCDC_SINK_ASYNC_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>

#include "base/log.h"
#include "sink/sink.h"

typedef struct pgcdc__inflight {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pgcdc_sink *sink;
    size_t bytes; /* reserved and not yet released */
    size_t peak;  /* the most ever in flight */
    size_t bound;
    int waiting;       /* the worker waits for room */
    size_t want;       /* for that many bytes */
    int err;           /* a failure from the sink's thread; 0 while none */
    atomic_int failed; /* err is set (read without the lock) */
    char msg[PGCDC__MSG_SIZE];
} pgcdc__inflight;

/* bound: the most bytes in flight (one item is let through when nothing is). */
void pgcdc__inflight_init(pgcdc__inflight *f, pgcdc_sink *sink, size_t bound);
void pgcdc__inflight_destroy(pgcdc__inflight *f);
/*
 * Worker's thread: waits until n more bytes fit.  PGCDC_OK; the recorded
 * failure (its message in the sink's context); or PGCDC_ERR_STOPPED when
 * the worker is asked to stop while waiting.
 */
int pgcdc__inflight_reserve(pgcdc__inflight *f, size_t n);
/* Any thread: n bytes were delivered (or given up); wakes a waiting worker. */
void pgcdc__inflight_release(pgcdc__inflight *f, size_t n);
/*
 * Any thread: records a failure (the first one stays) and wakes the worker,
 * whose next write or flush of the sink returns it.  Each call counts in the
 * sink's errors; returning the failure to the worker does not count again.
 */
void pgcdc__inflight_fail(pgcdc__inflight *f, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Worker's thread: the recorded failure (message into the sink's context), or PGCDC_OK. */
int pgcdc__inflight_check(pgcdc__inflight *f);
/*
 * Worker's thread: waits until nothing is in flight, a failure, a stop
 * request or timeout_ms (-1: no limit).  PGCDC_OK when drained, the failure,
 * PGCDC_ERR_STOPPED, or PGCDC_ERR_SINK on timeout.
 */
int pgcdc__inflight_drain(pgcdc__inflight *f, int timeout_ms);
/* Bytes in flight now (any thread; the sink's counters show them too). */
size_t pgcdc__inflight_bytes(pgcdc__inflight *f);

#endif /* PGCDC_SINK_ASYNC_H */
