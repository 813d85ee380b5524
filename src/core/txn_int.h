/*
 * The transaction assembly's state, shared by txn.c (the messages into
 * events) and txn_schema.c (schema changes and the captured DDL kept for
 * them).
 */
#ifndef PGCDC_CORE_TXN_INT_H
#define PGCDC_CORE_TXN_INT_H

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "core/relcache.h"
#include "core/spool.h"
#include "core/txn.h"

#define PREPARED_KEPT 64
/* DDL statements waiting for their table's next Relation message, at most. */
#define DDL_KEPT 256

/* A captured DDL statement (pgcdc.ddl message) for a table whose Relation has not come yet. */
typedef struct ddl_note {
    uint32_t relid;
    char *text;
} ddl_note;

struct pgcdc__assembly {
    pgcdc__ctx *ctx;
    const pgcdc__tableset *tables;
    uint64_t endpos;
    int binary;
    pgcdc__decoder *dec;
    pgcdc__relcache *rc;
    pgcdc__spool *spool;
    pgcdc__msg msg;
    int fed;        /* a message was fed and not yet decoded */
    int dec_failed; /* the decoder's error sticks until a cut */

    /* The transaction being received. */
    int in_txn;
    int skip_txn; /* handed out before a reconnect, or past the end position */
    pgcdc_txn txn;
    char origin[64];
    pgcdc_change change;
    int truncate_active;
    uint32_t truncate_next;
    uint64_t last_delivered_commit; /* commit LSN of the last transaction fully handed out */
    uint64_t last_end_lsn;          /* end LSN of the last commit received, skipped ones too */
    /* A transaction cut by a lost connection: resumed, not handed out again, when sent again. */
    int resume;
    uint64_t resume_commit_lsn;
    uint32_t resume_count;
    uint32_t skip_below_seq;
    int endpos_reached;
    int late; /* the prepared transaction being opened is not one handed out before */
    /* The prepared transactions handed out last (prepare LSN, xid): what a reconnect repeats. */
    struct {
        uint64_t lsn;
        uint32_t xid;
    } prepared[PREPARED_KEPT];
    unsigned prepared_next;
    int txn_streaming; /* between Stream Start and Stream Stop */
    int replaying;     /* handing out a committed streamed transaction from the spool */
    uint64_t replay_end_lsn;
    /* A two-phase transaction's GID; a COMMIT/ROLLBACK PREPARED's commit event still to come. */
    char gid[256];
    int close_pending;
    uint64_t close_end_lsn;

    /* Schema changes: what the cache keeps (PGCDC__KEEP_*), the event and its old shape. */
    int keep;
    int redo; /* the message is dispatched again after the schema change handed out before it */
    pgcdc_change schema;
    pgcdc__relation *shown;
    char *shown_ddl;
    ddl_note *ddl;
    size_t nddl;

    /* Binary values of the current change as text: the arena, and offsets while it grows. */
    pgcdc__buf scratch;
    size_t *offsets;
    size_t noffsets;
};
/* txn_schema.c.  A change of rel not handed out: nor is the schema change before it.  0. */
int pgcdc__txn_shape_seen(pgcdc__assembly *ta, pgcdc__relation *rel);
/* The schema change before rel's next change, as the event; the message comes again.  1. */
int pgcdc__txn_schema_change(pgcdc__assembly *ta, pgcdc__event *ev, pgcdc__relation *rel,
                             uint64_t lsn);
/* A pgcdc.ddl message's statement kept for its tables.  0, or PGCDC_ERR_NOMEM. */
int pgcdc__txn_note_ddl(pgcdc__assembly *ta, const char *content, size_t len);
/* A statement is kept for relid. */
int pgcdc__txn_has_ddl(const pgcdc__assembly *ta, uint32_t relid);

#endif /* PGCDC_CORE_TXN_INT_H */
