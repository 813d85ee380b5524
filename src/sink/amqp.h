/*
 * The RabbitMQ (AMQP 0-9-1) sink: see src/sink/amqp.c.
 */
#ifndef PGCDC_SINK_AMQP_H
#define PGCDC_SINK_AMQP_H

#include "pgcdc.h"

extern const pgcdc_sink_ops pgcdc__amqp_sink;

#endif /* PGCDC_SINK_AMQP_H */
