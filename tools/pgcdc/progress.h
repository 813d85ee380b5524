/*
 * The progress display of a snapshot on a terminal: one line per table
 * (rows done of the estimate, rate, time left), redrawn twice a second on
 * stderr while a snapshot runs.  Not a terminal: nothing (the library logs
 * progress lines instead).
 */
#ifndef PGCDC_TOOL_PROGRESS_H
#define PGCDC_TOOL_PROGRESS_H

#include "pgcdc.h"

typedef struct pgcdc_tool_progress pgcdc_tool_progress;

/* Starts the display for w when stderr is a terminal; NULL otherwise. */
pgcdc_tool_progress *pgcdc_tool_progress_start(pgcdc_worker *w);
/* Stops it and clears its lines; NULL is a no-op. */
void pgcdc_tool_progress_stop(pgcdc_tool_progress *p);

/* One table's line into buf (for tests): name, bar, rows of the estimate, rate, time left. */
void pgcdc_tool_progress_line(char *buf, size_t size, const pgcdc_snapshot_table *t, double rate);

#endif /* PGCDC_TOOL_PROGRESS_H */
