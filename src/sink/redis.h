/*
 * The redis sink: see src/sink/redis.c.
 */
#ifndef PGCDC_SINK_REDIS_H
#define PGCDC_SINK_REDIS_H

#include "pgcdc.h"

extern const pgcdc_sink_ops pgcdc__redis_sink;

#endif /* PGCDC_SINK_REDIS_H */
