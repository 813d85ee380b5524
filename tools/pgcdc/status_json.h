/*
 * /status.json, what the status page (/) draws: each pipeline's state,
 * positions, lag, rate, retained WAL, snapshot progress, tables, sinks and
 * the last minutes of history.  A pure function of the figures and the
 * history, so tests feed it made-up stats.
 */
#ifndef PGCDC_TOOL_STATUS_JSON_H
#define PGCDC_TOOL_STATUS_JSON_H

#include <stddef.h>
#include <stdint.h>

#include "history.h"
#include "metrics.h"

/*
 * The document for n pipelines at now_us (Unix microseconds), their
 * history from h (NULL: none): malloc'd and NUL-terminated, its length in
 * *len; NULL on out of memory.
 */
char *pgcdc_tool_status_json(const pgcdc_tool_metrics_pipeline *p, int n, pgcdc_tool_history *h,
                             int64_t now_us, size_t *len);

#endif /* PGCDC_TOOL_STATUS_JSON_H */
