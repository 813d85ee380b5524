/* The kafka sink: being built. */
#include "sink/kafka.h"
#include "sink/sink.h"

static int write_event(pgcdc_sink *sink, const pgcdc_sink_event *ev)
{
    (void)ev;
    return pgcdc_sink_fail(sink, PGCDC_ERR_INVALID, "the kafka sink is not built yet");
}

const pgcdc_sink_ops pgcdc__kafka_sink = {
    .abi = PGCDC_SINK_ABI,
    .kind = "kafka",
    .write = write_event,
};
