/*
 * Clocks: a monotonic one for intervals and deadlines, the wall clock for
 * times that leave the process.
 */
#ifndef PGCDC_BASE_CLOCK_H
#define PGCDC_BASE_CLOCK_H

#include <stdint.h>

/* Microseconds since the Unix epoch and 2000-01-01 (PostgreSQL's epoch) differ by this. */
#define PGCDC__EPOCH_DIFF_US INT64_C(946684800000000)

/* Monotonic microseconds. */
int64_t pgcdc__now_us(void);
/* Wall clock: microseconds since the Unix epoch (UTC). */
int64_t pgcdc__wall_us(void);
/* Sleeps for us microseconds (EINTR ends it early). */
void pgcdc__sleep_us(int64_t us);

#endif /* PGCDC_BASE_CLOCK_H */
