/*
 * The readers of an initial snapshot: one thread and one connection each,
 * all importing the slot's exported snapshot, each claiming a segment of
 * the plan and reading it chunk after chunk into blocks of whole rows.  A
 * bounded queue per reader holds the blocks until the worker takes them,
 * so memory does not grow with the tables.  The readers never log and
 * call no user code.
 */
#ifndef PGCDC_PG_SNAPSHOT_READ_H
#define PGCDC_PG_SNAPSHOT_READ_H

#include <stdint.h>

#include "base/buf.h"
#include "base/log.h"
#include "core/snapshot.h"

typedef struct pgcdc__snap_block {
    int reader;
    int seg;
    int first;   /* the first block of a chunk */
    int last;    /* the last block of a chunk */
    int seg_end; /* the last block of the segment's last chunk */
    char **key;  /* last block: where the segment stands after the chunk (NULL: as before) */
    /*
     * Last block of a chunk of a table with a key read by pages: the key of
     * the chunk's last row (the table's key width), whose page is where the
     * segment stands after the chunk; the worker looks it up.
     */
    char **bound;
    long rows;       /* rows in this block */
    pgcdc__buf data; /* whole rows, each a line of COPY text */
} pgcdc__snap_block;

typedef struct pgcdc__snap_readers pgcdc__snap_readers;

/*
 * Opens n connections that import the snapshot (NULL: each its own
 * REPEATABLE READ snapshot) and starts their threads.  The plan must
 * outlive the readers; they read its segments' bounds and progress, and
 * skip done segments.  chunk_rows bounds a chunk.  NULL with the context set
 * (*err) on failure.
 */
pgcdc__snap_readers *pgcdc__snap_readers_start(pgcdc__ctx *ctx, const char *conninfo,
                                               const char *snapshot, const pgcdc__snap_plan *plan,
                                               int n, long chunk_rows, int *err);
/*
 * The next block: of reader `reader` (the one whose chunk is being
 * delivered), or of any with reader -1.  Waits up to timeout_ms.  1 with
 * *out set, 0 when none came in time, 2 when every reader is done and
 * every block taken, or an error (the context set from the reader's).
 */
int pgcdc__snap_readers_next(pgcdc__snap_readers *r, int reader, pgcdc__snap_block **out,
                             int timeout_ms);
/* Waits up to timeout_ms until next would not return 0. */
void pgcdc__snap_readers_wait(pgcdc__snap_readers *r, int reader, int timeout_ms);
/* Gives a block back (its key is the caller's once taken: set it to NULL). */
void pgcdc__snap_readers_release(pgcdc__snap_readers *r, pgcdc__snap_block *b);
/* The failed reader's message (set once next returned its error). */
const char *pgcdc__snap_readers_error(pgcdc__snap_readers *r);
/* Rows read so far by all readers. */
uint64_t pgcdc__snap_readers_rows(pgcdc__snap_readers *r);
/* Stops the threads (cancelling their queries), closes the connections, frees. */
void pgcdc__snap_readers_free(pgcdc__snap_readers *r);

#endif /* PGCDC_PG_SNAPSHOT_READ_H */
