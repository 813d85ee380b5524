/*
 * The PostgreSQL (audit and apply) sink: not built yet.
 */
#include "sink/pgsql.h"

static int pgsql_open(pgcdc_sink *sink, const char *uri)
{
    (void)uri;
    return pgcdc_sink_fail(sink, PGCDC_ERR_INVALID, "the postgresql sink is not built yet");
}

static int pgsql_write(pgcdc_sink *sink, const pgcdc_sink_event *ev)
{
    (void)ev;
    return pgcdc_sink_fail(sink, PGCDC_ERR_INVALID, "the postgresql sink is not built yet");
}

const pgcdc_sink_ops pgcdc__pgsql_sink = {
    .abi = PGCDC_SINK_ABI,
    .kind = "postgresql",
    .open = pgsql_open,
    .write = pgsql_write,
};
