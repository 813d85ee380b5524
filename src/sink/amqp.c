/*
 * The RabbitMQ (AMQP 0-9-1) sink: not built yet.
 */
#include "sink/amqp.h"

static int amqp_open(pgcdc_sink *sink, const char *uri)
{
    (void)uri;
    return pgcdc_sink_fail(sink, PGCDC_ERR_INVALID, "the amqp sink is not built yet");
}

static int amqp_write(pgcdc_sink *sink, const pgcdc_sink_event *ev)
{
    (void)ev;
    return pgcdc_sink_fail(sink, PGCDC_ERR_INVALID, "the amqp sink is not built yet");
}

const pgcdc_sink_ops pgcdc__amqp_sink = {
    .abi = PGCDC_SINK_ABI,
    .kind = "amqp",
    .open = amqp_open,
    .write = amqp_write,
};
