/* The http sink: being built. */
#include "sink/http.h"
#include "sink/sink.h"

static int write_event(pgcdc_sink *sink, const pgcdc_sink_event *ev)
{
    (void)ev;
    return pgcdc_sink_fail(sink, PGCDC_ERR_INVALID, "the http sink is not built yet");
}

const pgcdc_sink_ops pgcdc__http_sink = {
    .abi = PGCDC_SINK_ABI,
    .kind = "http",
    .write = write_event,
};
