/*
 * The monitor: a thread of the worker's with a normal connection of its
 * own that writes heartbeats and reads the slot's state (retained WAL,
 * wal_status, safe_wal_size); the worker's thread logs what it found and
 * acts on the WAL budget.
 */
#ifndef PGCDC_MONITOR_H
#define PGCDC_MONITOR_H

#include "pgcdc.h"

/* Starts the monitor thread once (later calls do nothing).  PGCDC_OK or PGCDC_ERR_NOMEM. */
int pgcdc__monitor_start(pgcdc_worker *w);
/* Stops the thread and closes its connection (its figures stay for the stats). */
void pgcdc__monitor_stop(pgcdc_worker *w);
/* Stops it and frees it; nothing when none was started. */
void pgcdc__monitor_free(pgcdc_worker *w);
/*
 * On the worker's thread: logs what the monitor found since the last call.
 * PGCDC_OK, or PGCDC_ERR_WAL_BUDGET (context set) when the slot is over its
 * budget and slot.max_retained_wal_exit is on.
 */
int pgcdc__monitor_poll(pgcdc_worker *w);
/* Fills the slot and heartbeat fields of st (any thread). */
void pgcdc__monitor_stats(const pgcdc_worker *w, pgcdc_stats *st);

#endif /* PGCDC_MONITOR_H */
