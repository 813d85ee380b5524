/*
 * The NATS JetStream sink: see src/sink/nats.c.
 */
#ifndef PGCDC_SINK_NATS_H
#define PGCDC_SINK_NATS_H

#include "pgcdc.h"

extern const pgcdc_sink_ops pgcdc__nats_sink;

#endif /* PGCDC_SINK_NATS_H */
