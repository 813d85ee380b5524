/*
 * A latency histogram in fixed space: exact below 16 us, then eight buckets
 * per power of two (within 12.5 % of the value), up to about twelve days.
 * Not thread-safe: its owner locks.
 */
#ifndef PGCDC_BASE_HIST_H
#define PGCDC_BASE_HIST_H

#include <stdint.h>

#define PGCDC__HIST_BUCKETS 320

typedef struct pgcdc__hist {
    uint64_t count;
    uint64_t max;
    uint64_t sum;
    uint32_t bucket[PGCDC__HIST_BUCKETS];
} pgcdc__hist;

/* Counts one value (microseconds). */
void pgcdc__hist_add(pgcdc__hist *h, uint64_t us);
/* The value below which a fraction q (0 to 1) of the values lie (a bucket's upper end), 0 when
 * empty. */
uint64_t pgcdc__hist_quantile(const pgcdc__hist *h, double q);

#endif /* PGCDC_BASE_HIST_H */
