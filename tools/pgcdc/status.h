/*
 * How the pipelines are doing, while they stream: a live status line on a
 * terminal (state, rate, lag, confirmed position; hidden while a snapshot's
 * progress display is up), a summary log line per pipeline every
 * interval (events, rate, lag, confirmed position), nothing per event, and
 * systemd's notifications when it runs pgcdc (notify.h).
 */
#ifndef PGCDC_TOOL_STATUS_H
#define PGCDC_TOOL_STATUS_H

#include <stdint.h>

#include "pgcdc.h"

typedef struct pgcdc_tool_status pgcdc_tool_status;

/*
 * Starts the thread for n workers (tags: their slots when n > 1, for the
 * log lines); line: draw the status line (stderr is a terminal);
 * summary_s: seconds between summaries (0: none).  NULL when there is
 * nothing to do.
 */
pgcdc_tool_status *pgcdc_tool_status_start(pgcdc_worker *const *w, char *const *tags, int n,
                                           int line, int summary_s);
/* Stops it and clears the status line; NULL is a no-op. */
void pgcdc_tool_status_stop(pgcdc_tool_status *s);

/* Seconds the pipeline is behind: the age of the last change handed out while unconfirmed. */
double pgcdc_tool_status_lag(const pgcdc_stats *st, int64_t now_us);
/* The status line: state, rate (events/s), lag, confirmed position, events. */
void pgcdc_tool_status_line(char *buf, size_t size, const pgcdc_stats *st, double rate,
                            int64_t now_us);
/* Several pipelines' line: their state (one not streaming, if any), rate, worst lag, events. */
void pgcdc_tool_status_line_several(char *buf, size_t size, int n, pgcdc_state state, double rate,
                                    double lag, uint64_t events);
/* A summary: events in the period and their rate, in all, lag, bytes behind, confirmed. */
void pgcdc_tool_status_summary(char *buf, size_t size, const pgcdc_stats *st, uint64_t events,
                               double period_s, int64_t now_us);

#endif /* PGCDC_TOOL_STATUS_H */
