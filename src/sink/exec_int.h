/*
 * The exec sink's child process: started with its standard input and output
 * on sockets of ours, in a process group of its own, and ended (politely at
 * the close, at once when it misbehaves).
 */
#ifndef PGCDC_SINK_EXEC_INT_H
#define PGCDC_SINK_EXEC_INT_H

#include <stddef.h>
#include <sys/types.h>

#include "pgcdc.h"

typedef struct pgcdc__child {
    pid_t pid; /* 0: none */
    int in;    /* our end of its standard input (-1: closed) */
    int out;   /* our end of its standard output */
} pgcdc__child;

/*
 * Starts "/bin/sh -c cmd" with PGCDC_HANDLER_PROTOCOL and PGCDC_FORMAT in
 * its environment and its standard error shared with ours.  PGCDC_OK, or
 * an error with a reason in why.
 */
int pgcdc__child_start(pgcdc__child *c, const char *cmd, pgcdc_format format, char *why,
                       size_t size);
/*
 * Ends the child: with polite, closes its input and waits up to grace_ms for
 * it to exit before SIGTERM, then SIGKILL; else kills its group at once.
 * Writes how it ended into how ("exited with status 1"), and closes our ends.
 */
void pgcdc__child_end(pgcdc__child *c, int polite, int grace_ms, char *how, size_t size);

#endif /* PGCDC_SINK_EXEC_INT_H */
