/*
 * SIGHUP: the output files are reopened (log rotation), and with --config
 * the file is read again.  A file that cannot be read or has a bad setting
 * is reported and the pipelines go on as they were; an unchanged file
 * changes nothing; a changed one stops the pipelines (each confirms what
 * it delivered) so that they start again with it.
 */
#ifndef PGCDC_TOOL_RELOAD_H
#define PGCDC_TOOL_RELOAD_H

#include "args.h"
#include "config_file.h"
#include "pgcdc.h"

typedef struct pgcdc_tool_reload pgcdc_tool_reload;

/*
 * Starts the thread that answers SIGHUP for n running workers, configured
 * from a (its --config, if any) and the file as read (f: empty without
 * --config); both must outlive it.  NULL when out of memory.
 */
pgcdc_tool_reload *pgcdc_tool_reload_start(const pgcdc_tool_args *a,
                                           const pgcdc_tool_config_file *f, pgcdc_worker *const *w,
                                           int n);
/* 1 once the workers are being stopped to start again (their stop is no failure). */
int pgcdc_tool_reload_restarting(pgcdc_tool_reload *r);
/* From the signal handler: async-signal-safe. */
void pgcdc_tool_reload_signal(pgcdc_tool_reload *r);
/*
 * Stops the thread.  1 when the workers were stopped for a changed file,
 * whose settings are then moved into *next (to be freed by the caller);
 * else 0.  NULL is a no-op that returns 0.
 */
int pgcdc_tool_reload_stop(pgcdc_tool_reload *r, pgcdc_tool_config_file *next);

#endif /* PGCDC_TOOL_RELOAD_H */
