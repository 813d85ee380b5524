/*
 * The state a worker's snapshot keeps, shared by snapshot.c (planning,
 * progress, the initial snapshot) and snapshot_inc.c (incremental chunks,
 * watermarks, signals).
 */
#ifndef PGCDC_SNAPSHOT_INT_H
#define PGCDC_SNAPSHOT_INT_H

#include <pthread.h>

#include "core/snapshot.h"
#include "core/watermark.h"
#include "pg/snapshot.h"
#include "pg/snapshot_read.h"
#include "snapshot.h"

typedef enum phase { PHASE_NONE = 0, PHASE_INITIAL, PHASE_INCREMENTAL } phase;
typedef enum chunk_state { CHUNK_IDLE = 0, CHUNK_WAIT_LOW, CHUNK_WINDOW, CHUNK_EMIT } chunk_state;

/* A chunk handed out, waiting for its acknowledgements before its progress is kept. */
typedef struct pending {
    uint64_t token; /* its transaction's (0: an empty chunk, nothing to wait for) */
    int seg;
    char **key; /* where the segment stands after it (NULL: as before) */
    uint64_t rows;
    int seg_end;
} pending;

struct pgcdc__snaprun {
    pgcdc__snap_plan plan;
    char *state_path;
    pgcdc__relcache *rc;
    phase phase;
    int defer_stream;   /* the stream opens when the initial snapshot is over */
    PGconn *conn;       /* watermarks, signals' tables and incremental reads */
    pthread_mutex_t mu; /* the progress figures other threads read */
    uint64_t *sent;     /* READ rows handed out, per table */
    int shown;          /* tables that sent covers, which other threads may read (under mu) */
    uint64_t rows_sent;
    int segs_left;     /* segments whose last chunk is not handed out yet */
    int64_t logged_us; /* when progress was last logged */
    int64_t saved_us;  /* when progress was last kept */

    /* Handing out: the chunk's transaction and the change being handed out. */
    pgcdc_txn txn;
    pgcdc_change change;
    pgcdc__col *cols;
    int ncols_cap;
    pgcdc__buf texts;
    int begun; /* the chunk's begin went out */

    /* The initial snapshot's readers and the block being handed out. */
    pgcdc__snap_readers *readers;
    pgcdc__snap_block *blk;
    size_t pos;
    PGconn *look; /* under the exported snapshot: the pages where chunks read by pages end */
    int pin;      /* the reader whose chunk is open, or -1 */

    /* Chunks handed out, oldest first. */
    pending *fifo;
    int nfifo;
    int capfifo;

    /* The incremental chunk. */
    chunk_state cstate;
    pgcdc__chunk chunk;
    int cseg;
    uint64_t cid; /* its number in this run */
    uint64_t run; /* this run's id, in its watermarks */
    uint64_t low_lsn;
    uint64_t high_lsn;
    uint32_t epos;
    int cend;      /* the segment's last chunk */
    char **ckey;   /* its last row's key */
    long limit;    /* rows of the next chunk */
    uint32_t *xip; /* transactions the chunk's snapshot saw running */
    int nxip;
    uint32_t xmax; /* and from this one on, none it saw (running or not) */
    /*
     * The last transactions whose changes the stream handed out: one the
     * chunk's snapshot still saw running (its commit record was sent before
     * the server made it visible) would leave a row of the chunk older than
     * the change already out, so that chunk is read again.
     */
    uint32_t recent[256];
    unsigned recent_at;
    char ***next;  /* per segment: the key the next chunk reads after (NULL: its start) */
    int *read_end; /* per segment: its last chunk was read */
};

/* snapshot.c */
int pgcdc__snap_fail_oom(pgcdc_worker *w);
/* Hands out row (a COPY line, len bytes without newline) of table ti as a READ change. */
int pgcdc__snap_emit_row(pgcdc_worker *w, int ti, char *line, size_t len, int last,
                         const pgcdc_change **out, int pull);
/* The chunk's begin (lsn: where the snapshot stands) and commit. */
int pgcdc__snap_emit_begin(pgcdc_worker *w, uint64_t lsn, int kind);
int pgcdc__snap_emit_commit(pgcdc_worker *w, int seg, char **key, uint64_t rows, int seg_end);
/* Queues an empty chunk's progress (nothing to hand out). */
int pgcdc__snap_push_empty(pgcdc_worker *w, int seg, char **key, int seg_end);
/* Sizes the progress counters for the plan's tables. */
int pgcdc__snap_counters(pgcdc_worker *w);
/* Describes plan table ti from the catalog table info; PGCDC_OK or an error. */
int pgcdc__snap_describe_table(pgcdc_worker *w, PGconn *conn, int ti);

/* snapshot_inc.c */
int pgcdc__snap_inc_setup(pgcdc_worker *w);
int pgcdc__snap_inc_poll(pgcdc_worker *w);
int pgcdc__snap_inc_next(pgcdc_worker *w, const pgcdc_change **out, int pull);
void pgcdc__snap_inc_free(pgcdc__snaprun *s);

#endif /* PGCDC_SNAPSHOT_INT_H */
