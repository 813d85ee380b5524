/*
 * The admin HTTP server (--metrics-addr): the status page / with its
 * /status.json, /metrics (Prometheus), /healthz and /readyz, served by
 * libmicrohttpd on a thread of its own from the workers' stats, which are
 * safe to read from any thread.
 */
#ifndef PGCDC_TOOL_ADMIN_H
#define PGCDC_TOOL_ADMIN_H

#include <stddef.h>

#include "pgcdc.h"

typedef struct pgcdc_tool_admin pgcdc_tool_admin;

/*
 * Checks the form of HOST:PORT ([HOST]:PORT for IPv6; an empty host: every
 * interface; port 0 to 65535).  0, or -1 with what is wrong in err.
 */
int pgcdc_tool_admin_check_addr(const char *addr, char *err, size_t size);

/*
 * Binds addr and serves n workers (names: their pipeline labels, copied)
 * until stopped, with a log line saying so unless quiet; the workers must
 * outlive it.  NULL with *code 0 when addr
 * is NULL; NULL with the message written and *code an exit code when it
 * cannot (EXIT_USAGE: bad form; EXIT_RUNTIME: cannot resolve or bind).
 */
pgcdc_tool_admin *pgcdc_tool_admin_start(const char *addr, pgcdc_worker *const *w,
                                         char *const *names, int n, int quiet, int *code);
/* Stops serving (waits for its thread); NULL is a no-op. */
void pgcdc_tool_admin_stop(pgcdc_tool_admin *a);

#endif /* PGCDC_TOOL_ADMIN_H */
