/*
 * Inside the PostgreSQL (audit and apply) sink: see src/sink/pgsql.c; the apply
 * mode's statements are in src/sink/pgsql_apply.c.
 */
#ifndef PGCDC_SINK_PGSQL_INT_H
#define PGCDC_SINK_PGSQL_INT_H

#include <libpq-fe.h>

#include "base/buf.h"
#include "base/log.h"
#include "pgcdc.h"

/* A change batched (its bytes in data), or a commit waiting for the batch's transaction. */
typedef struct pitem {
    uint64_t token; /* a commit's; 0 for a change */
    uint64_t lsn;   /* the source commit's */
    int snapshot;   /* READ rows of a snapshot: not positions of the stream */
    size_t start;
    size_t end;
} pitem;

typedef struct pgcdc__pgsql {
    pgcdc_sink *sink;
    PGconn *conn; /* NULL: not connected */
    char *conninfo;
    int apply;
    char *schema;      /* as set ("" for the default) */
    pgcdc__buf target; /* audit: the quoted audit table */
    pgcdc__buf postab; /* the quoted position table */
    long long max_inflight;
    long long flush_ms;
    long long timeout_ms;
    long long max_elapsed_ms;
    pgcdc__buf data; /* audit: COPY lines; apply: records */
    pitem *q;
    size_t nq;
    size_t nb; /* the items being written: the batch's first ones, up to a commit */
    size_t capq;
    int64_t oldest_us; /* when the batch's first item was queued */
    uint64_t position; /* the target's, as last read: commits at or below it are there */
    uint64_t skipped;  /* changes found there already, in this drain */
    /* READ rows of one snapshot position get increasing numbers of their own (as redis.c). */
    uint64_t snap_lsn;
    uint64_t snap_next;
    int snap_known; /* snap_next continues what the audit table has */
    int open;       /* a target transaction is under way */
    int careful;    /* apply under the dead-letter policy: a savepoint per change */
    int spilled;    /* it holds changes no longer batched: it cannot be written again */
    pgcdc__buf scratch;
    int down;
    int failed;
    char failure[PGCDC__MSG_SIZE];
} pgcdc__pgsql;

/* Still to write: a snapshot row, or a change of a commit past the target's position. */
static inline int pgcdc__pgsql_wanted(const pgcdc__pgsql *ps, const pitem *it)
{
    return it->snapshot || it->lsn > ps->position;
}

/* The connection's last error, on one line (libpq may have none for a closed socket). */
void pgcdc__pgsql_conn_error(PGconn *conn, char *why, size_t size);
/* Runs SQL without parameters: PGCDC_OK or -1 with why. */
int pgcdc__pgsql_exec(PGconn *conn, const char *sql, ExecStatusType want, char *why, size_t size);

/*
 * Writes the batch's changes (its first nb items) not in the target yet, in
 * the open target transaction: audit with COPY, apply statement by
 * statement.  PGCDC_OK, 1 for a lost connection, or -1 with why.
 */
int pgcdc__pgsql_copy_batch(pgcdc__pgsql *ps, char *why, size_t size);
int pgcdc__pgsql_apply_batch(pgcdc__pgsql *ps, char *why, size_t size);

/*
 * Appends a change as a record of its own (names, key flags, value states
 * and texts) to b, for pgcdc__pgsql_apply later: the event does not outlive
 * the write.
 */
void pgcdc__pgsql_record(pgcdc__buf *b, const pgcdc_change *c);

/*
 * Applies one record to the target in schema (NULL or "": the source's):
 * PGCDC_OK, 1 for a lost connection, or -1 with a one-line reason naming
 * the table in why.
 */
int pgcdc__pgsql_apply(PGconn *conn, const char *schema, const char *rec, size_t len, char *why,
                       size_t size);

/*
 * A record as one JSON line for the dead-letter file: op, schema, table,
 * commit_lsn, and the rows' values as text ({"id":"1"}).
 */
void pgcdc__pgsql_record_json(pgcdc__buf *b, const char *rec, uint64_t commit_lsn);

/* "INSERT", "UPDATE", "DELETE", "TRUNCATE" or "READ". */
const char *pgcdc__pgsql_op_name(int op);

/*
 * audit: appends the change's row of the audit table to out, in COPY's
 * text format: commit_lsn seq op schema_name table_name old new
 * commit_time xid (scratch: for the JSON of the rows).
 */
void pgcdc__pgsql_audit_line(pgcdc__buf *out, pgcdc__buf *scratch, const pgcdc_change *c,
                             uint64_t seq);

/* A quoted SQL identifier ("a""b"). */
void pgcdc__pgsql_ident(pgcdc__buf *b, const char *name);

#endif /* PGCDC_SINK_PGSQL_INT_H */
