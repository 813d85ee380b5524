/*
 * The file sink ("-" for stdout, "file:PATH"): JSON lines appended in
 * batches, a whole group of transactions per write and fdatasync, each
 * acknowledged only once durable.  Its appender is shared with the
 * dead-letter file.
 */
#ifndef PGCDC_SINK_FILE_H
#define PGCDC_SINK_FILE_H

#include <stddef.h>

#include "base/buf.h"
#include "base/log.h"
#include "pgcdc.h"

extern const pgcdc_sink_ops pgcdc__file_sink;

/* A durable appender: bytes gathered in memory, written and synced on demand. */
typedef struct pgcdc__fileout {
    int fd;
    int is_file; /* a regular file, which is synced (not a pipe or a terminal) */
    int own_fd;
    char *path; /* for messages: the path, or "stdout" */
    pgcdc__buf buf;
    int failed; /* a write or sync failed: nothing more is written */
} pgcdc__fileout;

/*
 * Opens path for appending (NULL: stdout; a new file is made readable by its
 * owner only, as the events may hold anything), and drops a last line that
 * a crash cut short (it was never confirmed); warns through ctx when it does.
 */
int pgcdc__fileout_open(pgcdc__fileout *fo, pgcdc__ctx *ctx, const char *path);
void pgcdc__fileout_close(pgcdc__fileout *fo);
/*
 * Writes out, closes and opens the path again (created when renamed away);
 * stdout stays as it is.  PGCDC_OK or PGCDC_ERR_IO.
 */
int pgcdc__fileout_reopen(pgcdc__fileout *fo, pgcdc__ctx *ctx);
/* Writes out what was gathered; PGCDC_OK or PGCDC_ERR_IO (sticky). */
int pgcdc__fileout_write(pgcdc__fileout *fo, pgcdc__ctx *ctx);
/* Writes out and, for a regular file, fdatasyncs; PGCDC_OK or PGCDC_ERR_IO (sticky). */
int pgcdc__fileout_sync(pgcdc__fileout *fo, pgcdc__ctx *ctx);

#endif /* PGCDC_SINK_FILE_H */
