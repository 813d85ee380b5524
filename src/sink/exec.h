/*
 * The exec sink (a handler in any language, as a child process): see src/sink/exec.c.
 */
#ifndef PGCDC_SINK_EXEC_H
#define PGCDC_SINK_EXEC_H

#include "pgcdc.h"

extern const pgcdc_sink_ops pgcdc__exec_sink;

#endif /* PGCDC_SINK_EXEC_H */
