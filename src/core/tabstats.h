/*
 * Events handed out per table and operation, for pgcdc_worker_table_stats():
 * an entry is added (never removed before the worker is freed) on the
 * worker's thread when a table's first change goes out, and read from any
 * thread.  Each relation keeps a pointer to its entry, so counting a change
 * is one relaxed store.
 */
#ifndef PGCDC_CORE_TABSTATS_H
#define PGCDC_CORE_TABSTATS_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "pgcdc.h"

/* The operations counted, in this order: INSERT, UPDATE, DELETE, TRUNCATE, READ. */
#define PGCDC__TABSTAT_OPS 5

typedef struct pgcdc__tabstat {
    char *schema;
    char *name;
    _Atomic uint64_t n[PGCDC__TABSTAT_OPS];
} pgcdc__tabstat;

typedef struct pgcdc__tabstats {
    pthread_mutex_t mu; /* guards v, n and cap (not the counters) */
    pgcdc__tabstat **v;
    int n;
    int cap;
} pgcdc__tabstats;

void pgcdc__tabstats_init(pgcdc__tabstats *ts);
void pgcdc__tabstats_destroy(pgcdc__tabstats *ts);
/* The entry of schema.name, added when missing; NULL on out of memory. */
pgcdc__tabstat *pgcdc__tabstats_get(pgcdc__tabstats *ts, const char *schema, const char *name);
/*
 * Copies entry i (from 0): its names (truncated to their sizes) and
 * counters.  PGCDC_OK, or PGCDC_ERR_RANGE past the last.  Any thread.
 */
int pgcdc__tabstats_read(pgcdc__tabstats *ts, int i, pgcdc_table_stats *out);

/* Counts one change of op; only the worker's thread writes, other threads may read. */
static inline void pgcdc__tabstat_count(pgcdc__tabstat *t, pgcdc_op op)
{
    int i;

    switch (op) {
    case PGCDC_OP_INSERT:
        i = 0;
        break;
    case PGCDC_OP_UPDATE:
        i = 1;
        break;
    case PGCDC_OP_DELETE:
        i = 2;
        break;
    case PGCDC_OP_TRUNCATE:
        i = 3;
        break;
    default:
        i = 4;
        break;
    }
    atomic_store_explicit(&t->n[i], atomic_load_explicit(&t->n[i], memory_order_relaxed) + 1,
                          memory_order_relaxed);
}

#endif /* PGCDC_CORE_TABSTATS_H */
