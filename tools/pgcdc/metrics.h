/*
 * What the admin server says: the pipelines' figures in the Prometheus text
 * exposition format 0.0.4 (/metrics), and whether they are ready (/readyz).
 * Pure functions of the figures (no HTTP, no clock), so tests feed them
 * made-up stats.
 */
#ifndef PGCDC_TOOL_METRICS_H
#define PGCDC_TOOL_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "pgcdc.h"

/* One pipeline's figures, read at one moment. */
typedef struct pgcdc_tool_metrics_pipeline {
    const char *name; /* the pipeline label: its slot */
    pgcdc_stats st;
    const pgcdc_table_stats *tables; /* events by table and operation */
    int ntables;
    const pgcdc_sink_stats *sinks; /* its sinks, in the order they were added */
    int nsinks;
} pgcdc_tool_metrics_pipeline;

/*
 * The page for n pipelines at now_us (Unix microseconds, for the lag):
 * malloc'd and NUL-terminated, its length in *len; NULL on out of memory.
 */
char *pgcdc_tool_metrics_text(const pgcdc_tool_metrics_pipeline *p, int n, int64_t now_us,
                              size_t *len);

/*
 * 1 when every pipeline streams and none is over its WAL budget; else 0,
 * with a line per pipeline that is not ready in buf ("s_orders: reconnecting").
 */
int pgcdc_tool_metrics_ready(const pgcdc_tool_metrics_pipeline *p, int n, char *buf, size_t size);

#endif /* PGCDC_TOOL_METRICS_H */
