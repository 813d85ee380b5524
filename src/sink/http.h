/*
 * The http sink: see src/sink/http.c.
 */
#ifndef PGCDC_SINK_HTTP_H
#define PGCDC_SINK_HTTP_H

#include "pgcdc.h"

extern const pgcdc_sink_ops pgcdc__http_sink;

#endif /* PGCDC_SINK_HTTP_H */
