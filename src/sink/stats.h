/*
 * A sink's counters (pgcdc_worker_sink_stats): events, bytes, bytes in
 * flight and errors as plain atomics, and acknowledgement latencies, for
 * which each deferred event's write time waits until its acknowledgement
 * finds it by token.
 */
#ifndef PGCDC_SINK_STATS_H
#define PGCDC_SINK_STATS_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "pgcdc.h"

/* A deferred event waiting for its acknowledgement. */
typedef struct pgcdc__ack_wait {
    uint64_t token;
    int64_t since_us; /* monotonic; -1 once acknowledged */
} pgcdc__ack_wait;

typedef struct pgcdc__sink_counters {
    _Atomic uint64_t events;   /* the worker's thread writes */
    _Atomic uint64_t bytes;    /* the worker's thread writes */
    _Atomic uint64_t inflight; /* pgcdc__sink_show_inflight() */
    _Atomic uint64_t errors;   /* any thread */
    /*
     * Under mu (acknowledgements come from any thread), so that a reader
     * sees a histogram whose buckets add up to its count.
     */
    pthread_mutex_t mu;
    uint64_t acks;
    uint64_t ack_sum_us;
    uint64_t buckets[PGCDC_SINK_ACK_BUCKETS]; /* each its own range, not cumulative */
    pgcdc__ack_wait *waits;                   /* a ring of cap (a power of two) */
    size_t cap;
    uint64_t head;        /* the oldest waiting, as a count of waits ever added */
    uint64_t tail;        /* the next one's */
    uint64_t early_token; /* acknowledged before its write returned (a non-commit event) */
    unsigned early;
} pgcdc__sink_counters;

void pgcdc__sink_counters_init(pgcdc__sink_counters *c);
void pgcdc__sink_counters_destroy(pgcdc__sink_counters *c);

/* Worker's thread: one event written, with the bytes of it the sink asked for. */
void pgcdc__sink_counters_wrote(pgcdc__sink_counters *c, size_t bytes);
/* Any thread: one failure more. */
void pgcdc__sink_counters_error(pgcdc__sink_counters *c);

/*
 * Worker's thread, around a commit event's write: expect() before it
 * starts a wait from since_us (its handle is returned); wrote() after it
 * with the write's result closes the wait unless the event was deferred
 * (a commit taken synchronously counts as acknowledged now).
 */
uint64_t pgcdc__sink_counters_expect(pgcdc__sink_counters *c, uint64_t token, int64_t since_us);
void pgcdc__sink_counters_settle(pgcdc__sink_counters *c, uint64_t wait, int64_t since_us,
                                 int result, int64_t now_us);
/* Worker's thread: another event was deferred (not a commit: no wait was started for it). */
void pgcdc__sink_counters_deferred(pgcdc__sink_counters *c, uint64_t token, int64_t now_us);
/* Any thread: the acknowledgement of token (now_us: the monotonic clock, as since_us). */
void pgcdc__sink_counters_ack(pgcdc__sink_counters *c, uint64_t token, int64_t now_us);

/* The counters into st (its uri and kind are the caller's). */
void pgcdc__sink_counters_read(pgcdc__sink_counters *c, pgcdc_sink_stats *st);

#endif /* PGCDC_SINK_STATS_H */
