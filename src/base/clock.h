/*
 * Clocks: a monotonic one for intervals and deadlines, the wall clock for
 * times that leave the process.
 */
#ifndef PGCDC_BASE_CLOCK_H
#define PGCDC_BASE_CLOCK_H

#include <stdint.h>

/* Microseconds since the Unix epoch and 2000-01-01 (PostgreSQL's epoch) differ by this. */
#define PGCDC__EPOCH_DIFF_US INT64_C(946684800000000)

/*
 * PostgreSQL's microseconds since 2000 as microseconds since the Unix epoch in *out:
 * 0, or -1 for a finite time past what an int64 holds (timestamps of the year 294247
 * and later; the wire may also say anything).  The infinities (INT64_MAX, INT64_MIN)
 * stay as they are.
 */
static inline int pgcdc__unix_us_from_pg(int64_t t, int64_t *out)
{
    if (t != INT64_MAX && t != INT64_MIN) {
        if (t >= INT64_MAX - PGCDC__EPOCH_DIFF_US)
            return -1;
        t += PGCDC__EPOCH_DIFF_US;
    }
    *out = t;
    return 0;
}

/* Monotonic microseconds. */
int64_t pgcdc__now_us(void);
/* Wall clock: microseconds since the Unix epoch (UTC). */
int64_t pgcdc__wall_us(void);
/* Sleeps for us microseconds (EINTR ends it early). */
void pgcdc__sleep_us(int64_t us);

#endif /* PGCDC_BASE_CLOCK_H */
