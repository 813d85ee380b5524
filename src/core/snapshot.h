/*
 * A snapshot's plan and progress: the tables it reads, each cut into
 * segments of its key range or of its pages, and for each segment where
 * the last chunk that every handler and sink acknowledged ends: its last
 * key, or the page to go on from.  The progress is kept in a state file, written (fsynced,
 * renamed into place) before the slot is confirmed past a chunk, so a
 * snapshot stopped by a crash continues after its last acknowledged chunk.
 * No libpq: the SQL is pg/snapshot.c's.
 */
#ifndef PGCDC_CORE_SNAPSHOT_H
#define PGCDC_CORE_SNAPSHOT_H

#include <stdint.h>

#include "base/log.h"
#include "core/relcache.h"

typedef struct pgcdc__snap_table {
    char *quoted; /* schema.name as SQL spells it: the table's name in the state file */
    char *route;  /* "schema.name" as events name it */
    char *where;  /* a condition on its rows (a backfill of some of them), or NULL */
    uint32_t oid;
    int nkey; /* key columns (0: none; such a table is read by pages) */
    /*
     * Read by pages rather than by key: segments are page ranges, each read
     * by one sequential or TID range scan (an initial snapshot's tables, as
     * fast as COPY reads them), and progress is the page to go on from.
     */
    int by_pages;
    char relkind;      /* pg_class.relkind: 'r' for a plain table */
    int *key_cols;     /* their indexes among the relation's columns */
    char **key_quoted; /* their names as SQL spells them */
    char **key_types;  /* their types (format_type) */
    char *select_list; /* the relation's columns as SQL spells them, comma-separated */
    pgcdc__relation *rel;
    uint64_t rows_estimate; /* from the catalog (reltuples); 0 when unknown */
    uint64_t pages;         /* the table's size in pages when planned */
    uint64_t rows_done;     /* rows of acknowledged chunks */
    int done;               /* every segment done */
} pgcdc__snap_table;

typedef struct pgcdc__snap_seg {
    int table;
    /*
     * Key bounds (nkey values each; 1 for a page range: a page number):
     * lo exclusive (NULL: the table's start), hi inclusive (NULL: its end).
     * For page ranges lo is the first page and hi the page past the last.
     */
    char **lo;
    char **hi;
    /*
     * Where the acknowledged chunks end (NULL: none yet): the last key of
     * the last one, or for a page range the page to go on from.
     */
    char **acked;
    int done; /* every chunk of it acknowledged */
} pgcdc__snap_seg;

typedef struct pgcdc__snap_plan {
    int kind;     /* PGCDC_SNAPSHOT_INITIAL or PGCDC_SNAPSHOT_INCREMENTAL */
    uint64_t lsn; /* initial: the slot's consistent point */
    pgcdc__snap_table *tables;
    int ntables;
    pgcdc__snap_seg *segs;
    int nsegs;
    uint64_t signal_lsn; /* the last snapshot signal acted on (replays of it are ignored) */
} pgcdc__snap_plan;

void pgcdc__snap_plan_clear(pgcdc__snap_plan *p);
/* The number of key values of a segment of t: its key's, or 1 (a page). */
static inline int pgcdc__snap_width(const pgcdc__snap_table *t)
{
    return t->nkey > 0 && !t->by_pages ? t->nkey : 1;
}
/*
 * The key of a row of t (a line of COPY text; a trailing newline is
 * ignored) as t->nkey strings; NULL when the line does not have t's
 * columns, or on out of memory.
 */
char **pgcdc__snap_row_key(const pgcdc__snap_table *t, const char *line, size_t len);
/* Pages of t holding about rows rows (at least 1), from its estimates. */
long pgcdc__snap_chunk_pages(const pgcdc__snap_table *t, long rows);
/* Adds a table (strings copied; key arrays taken over); its index, or -1 on out of memory. */
int pgcdc__snap_add_table(pgcdc__snap_plan *p, const pgcdc__snap_table *t);
/* Adds a segment of table with bounds lo and hi (taken over, may be NULL); -1 on out of memory. */
int pgcdc__snap_add_seg(pgcdc__snap_plan *p, int table, char **lo, char **hi);
/* A copy of n key values; NULL for NULL or on out of memory. */
char **pgcdc__snap_keys_dup(char *const *v, int n);
void pgcdc__snap_keys_free(char **v, int n);
/* The index of the table named quoted, or -1. */
int pgcdc__snap_find_table(const pgcdc__snap_plan *p, const char *quoted);
/* Every segment done. */
int pgcdc__snap_done(const pgcdc__snap_plan *p);

/*
 * Writes the plan to path durably (a temporary file, fsync, rename, fsync
 * of the directory).  PGCDC_OK or PGCDC_ERR_IO (context set).
 */
int pgcdc__snap_save(pgcdc__ctx *ctx, const pgcdc__snap_plan *p, const char *path);
/*
 * Reads a plan saved by pgcdc__snap_save into p (tables with their names,
 * conditions, key widths and progress; the rest is the catalog's to fill):
 * 1 when read, 0 when there is no file, or PGCDC_ERR_IO / PGCDC_ERR_INVALID
 * (a file that is not a snapshot state) with the context set.
 */
int pgcdc__snap_load(pgcdc__ctx *ctx, pgcdc__snap_plan *p, const char *path);
/* Removes the state file (the snapshot is over); a missing file is fine. */
void pgcdc__snap_forget(const char *path);

#endif /* PGCDC_CORE_SNAPSHOT_H */
