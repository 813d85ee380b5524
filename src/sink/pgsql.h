/*
 * The PostgreSQL (audit and apply) sink: see src/sink/pgsql.c.
 */
#ifndef PGCDC_SINK_PGSQL_H
#define PGCDC_SINK_PGSQL_H

#include "pgcdc.h"

extern const pgcdc_sink_ops pgcdc__pgsql_sink;

#endif /* PGCDC_SINK_PGSQL_H */
