/*
 * Transactions, changes and rows as handlers see them: views into the
 * decoded message and the relation cache, read through the accessors of
 * include/pgcdc.h.
 */
#ifndef PGCDC_CORE_ROW_H
#define PGCDC_CORE_ROW_H

#include <stdint.h>

#include "base/buf.h"
#include "core/relcache.h"
#include "pgcdc.h"
#include "wire/decoder.h"

struct pgcdc_row {
    const pgcdc__relation *rel;
    pgcdc__col *cols;  /* rel->ncols entries, in the decoder's arrays; NULL: a shape, no values */
    int key_only;      /* old key tuple: non-key columns are absent */
    pgcdc__buf *texts; /* binary values: the change's text arena (core/txn.c) */
};

struct pgcdc_txn {
    uint32_t xid;
    uint64_t commit_lsn;
    uint64_t end_lsn;    /* 0 until the commit arrives */
    int64_t commit_time; /* Unix microseconds */
    uint32_t nchanges;
    uint64_t token;
    const char *origin;
    uint64_t origin_lsn;   /* the Origin message's commit LSN, with origin */
    uint64_t begin_lsn;    /* walStart of the Begin message (of Stream Commit, when streamed) */
    uint64_t prev_end_lsn; /* end LSN of the commit received before this one (0: none yet) */
    int snapshot;          /* pgcdc_snapshot_kind */
    int two_phase;         /* pgcdc_two_phase */
    const char *gid;       /* with two_phase; else NULL */
};

struct pgcdc_change {
    pgcdc_op op;
    const pgcdc__relation *rel;
    const pgcdc_txn *txn;
    uint64_t lsn; /* of the change's own record (the message's walStart) */
    uint32_t seq;
    int truncate_flags;
    int snapshot_last; /* READ: the snapshot's last row */
    const char *ddl;   /* SCHEMA: the captured statement, or NULL */
    int has_old;
    int has_new;
    pgcdc_row old_row;
    pgcdc_row new_row;
};

/* pgcdc_row_state() for an index known to be in range, inline for the formatters. */
static inline pgcdc_value_state pgcdc__row_state(const pgcdc_row *row, int col)
{
    if (row->key_only && !row->rel->cols[col].is_ident)
        return PGCDC_VALUE_ABSENT;
    switch (row->cols[col].kind) {
    case PGCDC_COL_NULL:
        return PGCDC_VALUE_NULL;
    case PGCDC_COL_UNCHANGED:
        return PGCDC_VALUE_UNCHANGED;
    default:
        return PGCDC_VALUE_PRESENT;
    }
}

/*
 * The column as text, for an index known to be in range with a value
 * present: a fixed-size binary value is printed on first use, into the
 * change's text arena.
 */
const pgcdc__col *pgcdc__row_text_col(const pgcdc_row *row, int col);

#endif /* PGCDC_CORE_ROW_H */
