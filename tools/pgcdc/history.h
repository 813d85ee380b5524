/*
 * The last minutes of each pipeline for the status page: a ring of points
 * (event rate, lag, bytes behind, retained WAL) per pipeline, filled every
 * few seconds by a thread of its own from the workers' stats, never per
 * event.  Reads and writes take a mutex, so the admin server's thread reads
 * while the sampler writes.
 */
#ifndef PGCDC_TOOL_HISTORY_H
#define PGCDC_TOOL_HISTORY_H

#include <stdint.h>

#include "pgcdc.h"

/* One sample of one pipeline. */
typedef struct pgcdc_tool_history_point {
    int64_t t_us;          /* Unix microseconds */
    double rate;           /* events per second since the previous sample */
    uint64_t events;       /* events since the previous sample */
    double lag_s;          /* pgcdc_tool_status_lag() */
    uint64_t lag_bytes;    /* received minus confirmed */
    uint64_t retained_wal; /* the slot's retained WAL */
} pgcdc_tool_history_point;

typedef struct pgcdc_tool_history pgcdc_tool_history;

/* Room for cap points of each of n pipelines, nothing sampled yet; NULL on no memory. */
pgcdc_tool_history *pgcdc_tool_history_new(int n, int cap);
/* Stops the sampler if started, and frees; NULL is a no-op. */
void pgcdc_tool_history_free(pgcdc_tool_history *h);

/*
 * Records pipeline i's stats at now_us.  The first call for a pipeline only
 * notes its event count (a rate needs two); each later one adds a point,
 * the oldest going when the ring is full.
 */
void pgcdc_tool_history_add(pgcdc_tool_history *h, int i, const pgcdc_stats *st, int64_t now_us);

/* Copies pipeline i's points, oldest first, at most max of them, into out: how many. */
int pgcdc_tool_history_read(pgcdc_tool_history *h, int i, pgcdc_tool_history_point *out, int max);

/* The most points a pipeline keeps. */
int pgcdc_tool_history_capacity(const pgcdc_tool_history *h);
/* Milliseconds between samples (0 until started). */
int pgcdc_tool_history_interval_ms(const pgcdc_tool_history *h);

/*
 * Samples the n workers given to _new every interval_ms on a thread of its
 * own, the first time at once; the workers must outlive it.  0, or -1 when
 * the thread cannot start.
 */
int pgcdc_tool_history_start(pgcdc_tool_history *h, pgcdc_worker *const *w, int interval_ms);

#endif /* PGCDC_TOOL_HISTORY_H */
