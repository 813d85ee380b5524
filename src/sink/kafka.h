/*
 * The kafka sink: see src/sink/kafka.c.
 */
#ifndef PGCDC_SINK_KAFKA_H
#define PGCDC_SINK_KAFKA_H

#include "pgcdc.h"

extern const pgcdc_sink_ops pgcdc__kafka_sink;

#endif /* PGCDC_SINK_KAFKA_H */
