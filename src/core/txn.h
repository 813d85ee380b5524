/*
 * Transaction assembly: a pure state machine from pgoutput messages to
 * begin, change and commit events.  It keeps the relation cache, resumes a
 * transaction cut by a lost connection after the changes already delivered,
 * fills unchanged TOAST values from the old row, splits a Truncate into one
 * change per table, spools streamed transactions (protocol 2) and replays
 * them at their commit, and owns the text arena of the change it hands out.
 * No I/O but the spool's files; no libpq.
 */
#ifndef PGCDC_CORE_TXN_H
#define PGCDC_CORE_TXN_H

#include <stddef.h>
#include <stdint.h>

#include "base/log.h"
#include "core/row.h"
#include "core/tables.h"

typedef enum pgcdc__ev_type {
    PGCDC__EV_BEGIN = 'B',
    PGCDC__EV_CHANGE = 'X',
    PGCDC__EV_COMMIT = 'C',
    PGCDC__EV_KEEPALIVE = 'k',
    /*
     * A relation as a Relation message described it, its types named where
     * the type table could: the caller may complete it from the catalog
     * (types, not-null, primary key) before any change of it comes.
     */
    PGCDC__EV_RELATION = 'R',
    /* A listed table has a column that binary values cannot carry: reconnect in text mode. */
    PGCDC__EV_TEXT_MODE = 'T',
    /* A logical decoding message (pg_logical_emit_message): outside a transaction, or in one. */
    PGCDC__EV_MESSAGE = 'M'
} pgcdc__ev_type;

typedef struct pgcdc__event {
    pgcdc__ev_type type;
    /* BEGIN, CHANGE, COMMIT: the transaction; its token is the caller's to set at BEGIN. */
    pgcdc_txn *txn;
    const pgcdc_change *change; /* CHANGE */
    pgcdc__relation *relation;  /* RELATION */
    const pgcdc__msg *message;  /* MESSAGE: prefix, content, flags and lsn in message.u.message */
    /* BEGIN: the transaction cut by pgcdc__assembly_cut, sent again; it resumes after what was
     * delivered, and keeps the token it had. */
    int resumed;
    /* BEGIN: the cut transaction was not sent again (cannot happen while the slot holds it). */
    int cut_lost;
    /* KEEPALIVE: the server's position when nothing is in flight (never past the end
     * position), else 0; and whether the server asks for a status update at once.
     * MESSAGE: likewise the message's own position, for one outside any transaction. */
    uint64_t idle_lsn;
    int reply;
} pgcdc__event;

typedef struct pgcdc__assembly_opts {
    const pgcdc__tableset *tables; /* the listed tables (none: every published one) */
    const char *spool_dir;         /* NULL: $TMPDIR or /tmp */
    uint64_t endpos;               /* skip transactions committed after it (0: never) */
    int binary;                    /* the stream carries binary values */
    int schema_changes;            /* hand out PGCDC_OP_SCHEMA changes */
} pgcdc__assembly_opts;

/* The prefix of the DDL capture's logical messages (pgcdc_worker_install_ddl_capture). */
#define PGCDC__DDL_PREFIX "pgcdc.ddl"

typedef struct pgcdc__assembly pgcdc__assembly;

/* NULL on out of memory.  opts->tables must outlive the assembly. */
pgcdc__assembly *pgcdc__assembly_new(pgcdc__ctx *ctx, const pgcdc__assembly_opts *opts);
void pgcdc__assembly_free(pgcdc__assembly *ta);
void pgcdc__assembly_set_binary(pgcdc__assembly *ta, int on);

/*
 * Feeds one message: a replication CopyData message, or with raw a bare
 * pgoutput message (as SQL functions return them).  buf must be writable
 * with one spare byte past len, and stay valid until the next feed; events
 * point into it.
 */
void pgcdc__assembly_feed(pgcdc__assembly *ta, uint8_t *buf, size_t len, int raw);
/*
 * The next event: 1 with *ev filled (valid until the next call), 0 when
 * the fed input is used up, or an error with the context's message:
 * PGCDC_ERR_PROTOCOL for malformed or out-of-order input (confirm nothing
 * more; the server sends it again after a reconnect), PGCDC_ERR_IO or
 * PGCDC_ERR_NOMEM from the spool.
 */
int pgcdc__assembly_next(pgcdc__assembly *ta, pgcdc__event *ev);
/*
 * The connection is lost: forgets relations, decoder and spool, which the
 * server sends again.  Returns 1 if a transaction was cut after some of its
 * changes were handed out: when it comes again it resumes after them.
 */
int pgcdc__assembly_cut(pgcdc__assembly *ta);

/* Inside a transaction (between its begin and commit events). */
int pgcdc__assembly_in_txn(const pgcdc__assembly *ta);
/* The end position was reached: everything up to it has been handed out. */
int pgcdc__assembly_at_endpos(const pgcdc__assembly *ta);

#endif /* PGCDC_CORE_TXN_H */
