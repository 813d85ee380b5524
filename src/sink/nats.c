/*
 * The NATS JetStream sink: not built yet.
 */
#include "sink/nats.h"

static int nats_open(pgcdc_sink *sink, const char *uri)
{
    (void)uri;
    return pgcdc_sink_fail(sink, PGCDC_ERR_INVALID, "the nats sink is not built yet");
}

static int nats_write(pgcdc_sink *sink, const pgcdc_sink_event *ev)
{
    (void)ev;
    return pgcdc_sink_fail(sink, PGCDC_ERR_INVALID, "the nats sink is not built yet");
}

const pgcdc_sink_ops pgcdc__nats_sink = {
    .abi = PGCDC_SINK_ABI,
    .kind = "nats",
    .open = nats_open,
    .write = nats_write,
};
