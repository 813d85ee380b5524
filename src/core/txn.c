/*
 * Transaction assembly: pgoutput messages in, begin/change/commit events
 * out.  The state of the transaction being received, the resume point of
 * one cut by a lost connection, the Truncate being split, the streamed
 * transaction being spooled or replayed, and the text arena of binary values.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "core/spool.h"
#include "core/txn.h"
#include "core/txn_int.h"
#include "wire/binval.h"
#include "wire/types.h"

pgcdc__assembly *pgcdc__assembly_new(pgcdc__ctx *ctx, const pgcdc__assembly_opts *opts)
{
    pgcdc__assembly *ta = calloc(1, sizeof(*ta));

    if (ta == NULL)
        return NULL;
    ta->ctx = ctx;
    ta->tables = opts->tables;
    ta->endpos = opts->endpos;
    ta->binary = opts->binary;
    ta->keep = opts->schema_changes ? PGCDC__KEEP_CHANGED : PGCDC__KEEP_NONE;
    pgcdc__buf_init(&ta->scratch);
    ta->dec = pgcdc__decoder_new();
    ta->rc = pgcdc__relcache_new();
    ta->spool = pgcdc__spool_new(ctx, opts->spool_dir);
    if (ta->dec == NULL || ta->rc == NULL || ta->spool == NULL) {
        pgcdc__assembly_free(ta);
        return NULL;
    }
    return ta;
}

void pgcdc__assembly_free(pgcdc__assembly *ta)
{
    if (ta == NULL)
        return;
    pgcdc__spool_free(ta->spool);
    pgcdc__relation_free(ta->shown);
    free(ta->shown_ddl);
    for (size_t i = 0; i < ta->nddl; i++)
        free(ta->ddl[i].text);
    free(ta->ddl);
    pgcdc__relcache_free(ta->rc);
    pgcdc__decoder_free(ta->dec);
    pgcdc__buf_free(&ta->scratch);
    free(ta->offsets);
    free(ta);
}

void pgcdc__assembly_set_binary(pgcdc__assembly *ta, int on)
{
    ta->binary = on;
}

int pgcdc__assembly_in_txn(const pgcdc__assembly *ta)
{
    /* A skipped transaction (sent again, or past the end position) hands out no begin. */
    return ta->in_txn && !ta->skip_txn;
}

int pgcdc__assembly_at_endpos(const pgcdc__assembly *ta)
{
    return ta->endpos_reached && !ta->in_txn;
}

int pgcdc__assembly_cut(pgcdc__assembly *ta)
{
    int cut = ta->in_txn && !ta->skip_txn;

    /* The server sends the cut transaction again from its first change. */
    if (cut) {
        ta->resume = 1;
        ta->resume_commit_lsn = ta->txn.commit_lsn;
        ta->resume_count =
            ta->txn.nchanges > ta->skip_below_seq ? ta->txn.nchanges : ta->skip_below_seq;
    }
    ta->in_txn = 0;
    ta->skip_txn = 0;
    ta->truncate_active = 0;
    ta->close_pending = 0;
    ta->redo = 0;
    ta->fed = 0;
    ta->dec_failed = 0;
    /* The new stream starts outside any streamed block and any replay. */
    ta->txn_streaming = 0;
    ta->replaying = 0;
    /* Kept to compare with: a shape that changed meanwhile is a schema change. */
    pgcdc__relcache_cut(ta->rc);
    pgcdc__decoder_reset(ta->dec);
    pgcdc__spool_replay_end(ta->spool);
    pgcdc__spool_reset(ta->spool);
    return cut;
}

void pgcdc__assembly_feed(pgcdc__assembly *ta, uint8_t *buf, size_t len, int raw)
{
    pgcdc__decoder_feed(ta->dec, buf, len, raw);
    ta->fed = 1;
}

static int protocol_error(pgcdc__assembly *ta, const char *what, const char *detail)
{
    return pgcdc__fail(ta->ctx, PGCDC_ERR_PROTOCOL, "protocol error: %s%s", what, detail);
}

/* Opens a transaction (Begin, or Stream Commit before its replay): 1 with ev set, or 0. */
static int open_txn(pgcdc__assembly *ta, pgcdc__event *ev, uint32_t xid, uint64_t commit_lsn,
                    int64_t commit_time)
{
    if (ta->in_txn)
        return protocol_error(ta, "transaction started inside another", "");
    ta->in_txn = 1;
    ta->txn.xid = xid;
    ta->txn.commit_lsn = commit_lsn;
    ta->txn.end_lsn = 0;
    if (pgcdc__unix_us_from_pg(commit_time, &ta->txn.commit_time) != 0)
        ta->txn.commit_time = INT64_MAX - 1;
    ta->txn.nchanges = 0;
    ta->txn.origin = NULL;
    ta->txn.origin_lsn = 0;
    ta->txn.prev_end_lsn = ta->last_end_lsn;
    ta->txn.two_phase = PGCDC_TWO_PHASE_NONE;
    ta->txn.gid = NULL;
    /* After a reconnect the server sends again what was already handed out. */
    ta->skip_txn = commit_lsn <= ta->last_delivered_commit && !ta->late;
    if (ta->endpos != 0 && commit_lsn > ta->endpos) {
        ta->endpos_reached = 1;
        ta->skip_txn = 1;
    }
    if (ta->skip_txn)
        return 0;
    ta->skip_below_seq = 0;
    memset(ev, 0, sizeof(*ev));
    ev->type = PGCDC__EV_BEGIN;
    ev->txn = &ta->txn;
    if (ta->resume) {
        ta->resume = 0;
        if (commit_lsn == ta->resume_commit_lsn) {
            /* Sent again after a reconnect: handlers already have its beginning. */
            ta->skip_below_seq = ta->resume_count;
            ev->resumed = 1;
        } else {
            pgcdc__log(ta->ctx, PGCDC_LOG_WARNING,
                       "interrupted transaction was not sent again (now transaction %u)", xid);
            ev->cut_lost = 1;
        }
    }
    return 1;
}

static int close_txn(pgcdc__assembly *ta, pgcdc__event *ev, uint64_t end_lsn)
{
    if (!ta->in_txn)
        return protocol_error(ta, "commit without a transaction", "");
    ta->in_txn = 0;
    ta->last_end_lsn = end_lsn;
    if (ta->skip_txn)
        return 0;
    ta->txn.end_lsn = end_lsn;
    if (ta->txn.commit_lsn > ta->last_delivered_commit)
        ta->last_delivered_commit = ta->txn.commit_lsn;
    if (ta->txn.two_phase == PGCDC_TWO_PHASE_PREPARED) {
        unsigned i = ta->prepared_next++ % PREPARED_KEPT;

        ta->prepared[i].lsn = ta->txn.commit_lsn;
        ta->prepared[i].xid = ta->txn.xid;
    }
    if (ta->endpos != 0 && end_lsn >= ta->endpos)
        ta->endpos_reached = 1;
    memset(ev, 0, sizeof(*ev));
    ev->type = PGCDC__EV_COMMIT;
    ev->txn = &ta->txn;
    return 1;
}

/*
 * Binary values, once per change.  Text-like types already are their text
 * (in place; jsonb after its version byte).  Fixed-size types stay binary:
 * the typed getters read them as they are, and their text is printed on
 * first use (pgcdc__row_text_col) into room reserved here.  The rest become
 * the text the server would have sent, in the arena: offsets first,
 * pointers after, as the arena may move while growing.  Returns how many
 * values were converted so, or an error.
 */
static int to_text(pgcdc__assembly *ta, const pgcdc__relation *rel, pgcdc__tuple *t,
                   size_t *offsets)
{
    int converted = 0;

    for (int i = 0; i < t->ncols; i++) {
        pgcdc__col *col = &t->cols[i];
        const pgcdc__relcol_info *info = &rel->cols[i];

        offsets[i] = SIZE_MAX;
        if (col->kind != PGCDC_COL_BINARY)
            continue;
        switch (info->bin_class) {
        case PGCDC__BIN_FIXED:
            if (col->len != info->bin_fixed)
                return protocol_error(ta, "unreadable binary value in column ", info->name);
            continue;
        case PGCDC__BIN_TEXT:
            col->kind = PGCDC_COL_TEXT;
            continue;
        case PGCDC__BIN_JSONB:
            if (col->len < 1 || col->data[0] != 1)
                return protocol_error(ta, "unreadable binary value in column ", info->name);
            col->kind = PGCDC_COL_TEXT;
            col->data++;
            col->len--;
            continue;
        default:
            break;
        }
        offsets[i] = ta->scratch.len;
        if (pgcdc__binary_to_text(info->type_oid, (const uint8_t *)col->data, col->len,
                                  &ta->scratch) != 0)
            return protocol_error(ta, "unreadable binary value in column ", info->name);
        pgcdc__buf_u8(&ta->scratch, 0);
        col->len = (uint32_t)(ta->scratch.len - offsets[i] - 1);
        converted++;
    }
    return converted;
}

static void point_to_text(pgcdc__assembly *ta, pgcdc__tuple *t, const size_t *offsets)
{
    for (int i = 0; i < t->ncols; i++) {
        if (offsets[i] == SIZE_MAX)
            continue;
        t->cols[i].kind = PGCDC_COL_TEXT;
        t->cols[i].data = (const char *)ta->scratch.data + offsets[i];
    }
}

static int convert_values(pgcdc__assembly *ta, const pgcdc__relation *rel, pgcdc__msg *m)
{
    size_t *old_off;
    size_t *new_off;
    int r;
    int converted;

    if ((size_t)rel->ncols * 2 + 2 > ta->noffsets) {
        size_t n = (size_t)rel->ncols * 2 + 2;
        size_t *grown = realloc(ta->offsets, n * sizeof(*grown));

        if (grown == NULL)
            return pgcdc__fail(ta->ctx, PGCDC_ERR_NOMEM, "out of memory");
        ta->offsets = grown;
        ta->noffsets = n;
    }
    old_off = ta->offsets;
    new_off = ta->offsets + rel->ncols;
    pgcdc__buf_reset(&ta->scratch);
    r = to_text(ta, rel, &m->u.change.old, old_off);
    if (r < 0)
        return r;
    converted = r;
    r = to_text(ta, rel, &m->u.change.new_, new_off);
    if (r < 0)
        return r;
    converted += r;
    /*
     * Room for the text of every column of both rows (an unchanged value
     * taken from the old row included): printing one never moves the others.
     */
    if (pgcdc__buf_reserve(&ta->scratch, ((size_t)m->u.change.old.ncols + m->u.change.new_.ncols) *
                                             PGCDC__FIXED_TEXT_MAX) == NULL)
        return pgcdc__fail(ta->ctx, PGCDC_ERR_NOMEM, "out of memory");
    if (converted > 0) {
        point_to_text(ta, &m->u.change.old, old_off);
        point_to_text(ta, &m->u.change.new_, new_off);
    }
    return PGCDC_OK;
}

static void fill_row(pgcdc__assembly *ta, pgcdc_row *row, const pgcdc__relation *rel,
                     const pgcdc__tuple *t, int key_only)
{
    row->rel = rel;
    row->cols = t->cols;
    row->key_only = key_only;
    row->texts = ta->binary ? &ta->scratch : NULL;
}

static void change_event(pgcdc__assembly *ta, pgcdc__event *ev)
{
    memset(ev, 0, sizeof(*ev));
    ev->type = PGCDC__EV_CHANGE;
    ev->txn = &ta->txn;
    ev->change = &ta->change;
}

/* Insert, Update, Delete: 1 with the change event, 0 when filtered out, or an error. */
static int row_change(pgcdc__assembly *ta, pgcdc__event *ev, pgcdc__msg *m)
{
    pgcdc__relation *rel = pgcdc__relcache_get(ta->rc, m->u.change.relid);
    pgcdc_change *c = &ta->change;
    char detail[32];

    if (!ta->in_txn)
        return protocol_error(ta, "change outside a transaction", "");
    if (rel == NULL) {
        snprintf(detail, sizeof(detail), "%u", m->u.change.relid);
        return protocol_error(ta, "change for unknown relation ", detail);
    }
    if ((m->u.change.old_kind != 0 && m->u.change.old.ncols != rel->ncols) ||
        (m->type != PGCDC_MSG_DELETE && m->u.change.new_.ncols != rel->ncols))
        return protocol_error(ta, "column count does not match relation ", rel->name);
    if (ta->skip_txn || !rel->wanted)
        return pgcdc__txn_shape_seen(ta, rel);
    if (rel->before != NULL && ta->txn.nchanges >= ta->skip_below_seq)
        return pgcdc__txn_schema_change(ta, ev, rel, m->wal_start);
    c->op = (pgcdc_op)m->type;
    c->rel = rel;
    c->txn = &ta->txn;
    c->lsn = m->wal_start;
    c->seq = ta->txn.nchanges;
    if (c->seq < ta->skip_below_seq) {
        ta->txn.nchanges++;
        return pgcdc__txn_shape_seen(ta, rel);
    }
    if (ta->binary) {
        int r = convert_values(ta, rel, m);

        if (r != PGCDC_OK)
            return r;
    } else if (m->u.change.old.binary || m->u.change.new_.binary) {
        /* Unchecked, it would be read at its type's size by the typed getters. */
        return protocol_error(ta, "binary value in a text-mode stream for relation ", rel->name);
    }
    /* Counted once it cannot fail: a cut must not skip a change never handed out. */
    ta->txn.nchanges++;
    c->truncate_flags = 0;
    c->has_old = m->u.change.old_kind != 0;
    c->has_new = m->type != PGCDC_MSG_DELETE;
    if (c->has_old)
        fill_row(ta, &c->old_row, rel, &m->u.change.old, m->u.change.old_kind == 'K');
    if (c->has_new)
        fill_row(ta, &c->new_row, rel, &m->u.change.new_, 0);
    /* Unchanged TOAST: with the whole old row (REPLICA IDENTITY FULL), take it from there. */
    if (c->has_new && m->u.change.old_kind == 'O') {
        for (int i = 0; i < rel->ncols; i++) {
            pgcdc__col *nc = &m->u.change.new_.cols[i];
            const pgcdc__col *oc = &m->u.change.old.cols[i];

            if (nc->kind == PGCDC_COL_UNCHANGED && oc->kind != PGCDC_COL_UNCHANGED)
                *nc = *oc;
        }
    }
    change_event(ta, ev);
    return 1;
}

/* Next TRUNCATE change of the current message: 1 with the event, 0 when done. */
static int truncate_change(pgcdc__assembly *ta, pgcdc__event *ev)
{
    while (ta->truncate_next < ta->msg.u.truncate.nrels) {
        uint32_t relid = pgcdc__truncate_relid(&ta->msg, ta->truncate_next++);
        pgcdc__relation *rel = pgcdc__relcache_get(ta->rc, relid);
        pgcdc_change *c = &ta->change;

        if (rel == NULL)
            continue;
        if (!rel->wanted || ta->skip_txn || ta->txn.nchanges < ta->skip_below_seq) {
            ta->txn.nchanges += !ta->skip_txn && rel->wanted;
            pgcdc__txn_shape_seen(ta, rel);
            continue;
        }
        if (rel->before != NULL) {
            ta->truncate_next--; /* its TRUNCATE comes after */
            return pgcdc__txn_schema_change(ta, ev, rel, ta->msg.wal_start);
        }
        memset(c, 0, sizeof(*c));
        c->op = PGCDC_OP_TRUNCATE;
        c->rel = rel;
        c->txn = &ta->txn;
        c->lsn = ta->msg.wal_start;
        c->seq = ta->txn.nchanges++;
        c->truncate_flags = ta->msg.u.truncate.options;
        change_event(ta, ev);
        return 1;
    }
    ta->truncate_active = 0;
    return 0;
}

static int relation(pgcdc__assembly *ta, pgcdc__event *ev, const pgcdc__msg *m)
{
    int keep = ta->keep != PGCDC__KEEP_NONE && pgcdc__txn_has_ddl(ta, m->u.relation.relid)
                   ? PGCDC__KEEP_ALWAYS
                   : ta->keep;
    pgcdc__relation *rel = pgcdc__relcache_update(ta->rc, m, keep);

    if (rel == NULL || pgcdc__relation_complete(rel, ta->tables) != PGCDC_OK)
        return pgcdc__fail(ta->ctx, PGCDC_ERR_NOMEM, "out of memory");
    for (int i = 0; ta->binary && rel->wanted && i < rel->ncols; i++) {
        if (rel->cols[i].bin_class != PGCDC__BIN_NONE)
            continue;
        /* Start again from the slot, in text mode, before any change of it is read. */
        ta->binary = 0;
        pgcdc__fail(ta->ctx, PGCDC_ERR_CONNECT,
                    "column \"%s\" of \"%s.%s\" has a type pgcdc reads only as text: switching "
                    "to text values",
                    rel->cols[i].name, rel->schema, rel->name);
        memset(ev, 0, sizeof(*ev));
        ev->type = PGCDC__EV_TEXT_MODE;
        return 1;
    }
    memset(ev, 0, sizeof(*ev));
    ev->type = PGCDC__EV_RELATION;
    ev->relation = rel;
    return 1;
}

static int keepalive(pgcdc__assembly *ta, pgcdc__event *ev, const pgcdc__msg *m)
{
    memset(ev, 0, sizeof(*ev));
    ev->type = PGCDC__EV_KEEPALIVE;
    ev->reply = m->u.keepalive.reply_requested;
    /*
     * Nothing in flight: the server's position may be confirmed, so an idle
     * slot pins no WAL.  Never past the end position: what lies beyond is
     * not handed out.
     */
    if (!ta->in_txn && pgcdc__spool_count(ta->spool) == 0) {
        ev->idle_lsn = m->wal_end;
        if (ta->endpos != 0 && ev->idle_lsn > ta->endpos)
            ev->idle_lsn = ta->endpos;
    }
    if (ta->endpos != 0 && !ta->in_txn && m->wal_end >= ta->endpos)
        ta->endpos_reached = 1;
    return 1;
}

static int stream_commit(pgcdc__assembly *ta, pgcdc__event *ev, const pgcdc__msg *m)
{
    int r;
    int sr;

    ta->txn.begin_lsn = m->wal_start;
    r = open_txn(ta, ev, m->xid, m->u.commit.commit_lsn, m->u.commit.commit_time);

    if (r < 0)
        return r;
    sr = pgcdc__spool_replay_begin(ta->spool, m->xid);
    if (sr != 0)
        return pgcdc__wrap(ta->ctx, sr, "could not read streamed transaction %u", m->xid);
    ta->replaying = 1;
    ta->replay_end_lsn = m->u.commit.end_lsn;
    return r;
}

/* Marks the transaction just opened (or skipped) as two-phase, with the message's GID. */
static void set_two_phase(pgcdc__assembly *ta, int kind, const char *gid)
{
    snprintf(ta->gid, sizeof(ta->gid), "%s", gid);
    ta->txn.two_phase = kind;
    ta->txn.gid = ta->gid;
}

static int handed_out(const pgcdc__assembly *ta, uint64_t lsn, uint32_t xid)
{
    for (unsigned i = 0; i < PREPARED_KEPT && i < ta->prepared_next; i++) {
        if (ta->prepared[i].lsn == lsn && ta->prepared[i].xid == xid)
            return 1;
    }
    return 0;
}

/* Begin Prepare: the prepared transaction's changes follow, until its Prepare. */
static int begin_prepare(pgcdc__assembly *ta, pgcdc__event *ev, const pgcdc__msg *m)
{
    int r;

    ta->txn.begin_lsn = m->wal_start;
    /*
     * A transaction prepared before the slot had two-phase decoding comes
     * whole at its COMMIT PREPARED, with its old prepare LSN, perhaps below
     * transactions handed out since: only one handed out before (sent again
     * after a reconnect) is skipped.  Past the last PREPARED_KEPT, one comes
     * twice rather than never.
     */
    ta->late = !handed_out(ta, m->u.twophase.lsn, m->xid);
    r = open_txn(ta, ev, m->xid, m->u.twophase.lsn, m->u.twophase.time);
    ta->late = 0;
    if (r >= 0)
        set_two_phase(ta, PGCDC_TWO_PHASE_PREPARED, m->u.twophase.gid);
    return r;
}

static int prepare(pgcdc__assembly *ta, pgcdc__event *ev, const pgcdc__msg *m)
{
    if (ta->in_txn && ta->txn.two_phase != PGCDC_TWO_PHASE_PREPARED)
        return protocol_error(ta, "prepare of a transaction not begun as prepared", "");
    return close_txn(ta, ev, m->u.twophase.end_lsn);
}

/*
 * Commit Prepared, Rollback Prepared: a transaction with no changes, its
 * begin event now and its commit event at the next call.  A rollback's
 * record start is not sent: the byte before its end stands for it, after
 * everything before and before anything after.
 */
static int finish_prepared(pgcdc__assembly *ta, pgcdc__event *ev, const pgcdc__msg *m)
{
    int rollback = m->type == PGCDC_MSG_ROLLBACK_PREPARED;
    uint64_t end_lsn = m->u.twophase.end_lsn;
    uint64_t lsn = rollback ? end_lsn - 1 : m->u.twophase.lsn;
    int r;

    if (rollback && end_lsn == 0)
        return protocol_error(ta, "rollback prepared without its end position", "");
    ta->txn.begin_lsn = m->wal_start;
    r = open_txn(ta, ev, m->xid, lsn, rollback ? m->u.twophase.rollback_time : m->u.twophase.time);
    if (r < 0)
        return r;
    set_two_phase(ta, rollback ? PGCDC_TWO_PHASE_ROLLBACK : PGCDC_TWO_PHASE_COMMIT,
                  m->u.twophase.gid);
    if (r == 0)
        return close_txn(ta, ev, end_lsn);
    ta->close_pending = 1;
    ta->close_end_lsn = end_lsn;
    return 1;
}

/* Stream Prepare: a streamed transaction, replayed from the spool as prepared. */
static int stream_prepare(pgcdc__assembly *ta, pgcdc__event *ev, const pgcdc__msg *m)
{
    pgcdc__msg c = *m;
    int r;

    c.u.commit.commit_lsn = m->u.twophase.lsn;
    c.u.commit.end_lsn = m->u.twophase.end_lsn;
    c.u.commit.commit_time = m->u.twophase.time;
    r = stream_commit(ta, ev, &c);
    if (r >= 0)
        set_two_phase(ta, PGCDC_TWO_PHASE_PREPARED, m->u.twophase.gid);
    return r;
}

/* Acts on one decoded message: 1 with an event, 0 without one, or an error. */
static int dispatch(pgcdc__assembly *ta, pgcdc__event *ev)
{
    pgcdc__msg *m = &ta->msg;

    switch (m->type) {
    case PGCDC_MSG_KEEPALIVE:
        return keepalive(ta, ev, m);
    case PGCDC_MSG_BEGIN:
        ta->txn.begin_lsn = m->wal_start;
        return open_txn(ta, ev, m->xid, m->u.begin.final_lsn, m->u.begin.commit_time);
    case PGCDC_MSG_COMMIT:
        return close_txn(ta, ev, m->u.commit.end_lsn);
    case PGCDC_MSG_ORIGIN:
        snprintf(ta->origin, sizeof(ta->origin), "%s", m->u.origin.name);
        ta->txn.origin = ta->origin;
        ta->txn.origin_lsn = m->u.origin.commit_lsn;
        return 0;
    case PGCDC_MSG_RELATION:
        return relation(ta, ev, m);
    case PGCDC_MSG_INSERT:
    case PGCDC_MSG_UPDATE:
    case PGCDC_MSG_DELETE:
        return row_change(ta, ev, m);
    case PGCDC_MSG_TRUNCATE:
        if (!ta->in_txn)
            return protocol_error(ta, "truncate outside a transaction", "");
        ta->truncate_active = 1;
        ta->truncate_next = 0;
        return truncate_change(ta, ev);
    case PGCDC_MSG_STREAM_START:
        ta->txn_streaming = 1;
        return 0;
    case PGCDC_MSG_STREAM_STOP:
        ta->txn_streaming = 0;
        return 0;
    case PGCDC_MSG_STREAM_ABORT: {
        int r = pgcdc__spool_abort(ta->spool, m->xid, m->u.stream_abort.subxid);

        if (r != 0)
            return pgcdc__wrap(ta->ctx, r, "could not discard streamed transaction %u", m->xid);
        return 0;
    }
    case PGCDC_MSG_STREAM_COMMIT:
        return stream_commit(ta, ev, m);
    case PGCDC_MSG_BEGIN_PREPARE:
        return begin_prepare(ta, ev, m);
    case PGCDC_MSG_PREPARE:
        return prepare(ta, ev, m);
    case PGCDC_MSG_COMMIT_PREPARED:
    case PGCDC_MSG_ROLLBACK_PREPARED:
        return finish_prepared(ta, ev, m);
    case PGCDC_MSG_STREAM_PREPARE:
        return stream_prepare(ta, ev, m);
    case PGCDC_MSG_MESSAGE:
        /* A captured DDL statement, of a transaction handed out: for its table's schema change. */
        if ((m->u.message.flags & 1) && ta->in_txn && !ta->skip_txn &&
            strcmp(m->u.message.prefix, PGCDC__DDL_PREFIX) == 0 &&
            pgcdc__txn_note_ddl(ta, m->u.message.content, m->u.message.len) != 0)
            return pgcdc__fail(ta->ctx, PGCDC_ERR_NOMEM, "out of memory");
        /* For the worker (snapshot watermarks and signals), not for handlers. */
        memset(ev, 0, sizeof(*ev));
        ev->type = PGCDC__EV_MESSAGE;
        ev->message = m;
        /* Nothing in flight before it: the worker may confirm up to it (a heartbeat). */
        if (!(m->u.message.flags & 1) && !ta->in_txn && pgcdc__spool_count(ta->spool) == 0 &&
            (ta->endpos == 0 || m->u.message.lsn <= ta->endpos))
            ev->idle_lsn = m->u.message.lsn;
        return 1;
    default:
        /* Type messages carry nothing for handlers. */
        return 0;
    }
}

/* Next message of a spooled transaction being replayed: 1 with an event, 0 without one. */
static int replay_step(pgcdc__assembly *ta, pgcdc__event *ev)
{
    uint8_t *msg;
    size_t len;
    uint64_t lsn = 0;
    int r = pgcdc__spool_replay_next(ta->spool, &msg, &len, &lsn);

    if (r < 0)
        return pgcdc__wrap(ta->ctx, r, "could not read streamed transaction %u", ta->txn.xid);
    if (r == 0) {
        ta->replaying = 0;
        pgcdc__spool_replay_end(ta->spool);
        return close_txn(ta, ev, ta->replay_end_lsn);
    }
    pgcdc__decoder_feed(ta->dec, msg, len, 1);
    if (pgcdc__decoder_next(ta->dec, &ta->msg) != 1)
        return pgcdc__fail(ta->ctx, PGCDC_ERR_PROTOCOL,
                           "protocol error in streamed transaction: %s",
                           pgcdc__decoder_error(ta->dec));
    ta->msg.wal_start = lsn;
    return dispatch(ta, ev);
}

/* A fed message that belongs to a streamed transaction goes to the spool: 1 if it did not. */
static int spool_streamed(pgcdc__assembly *ta)
{
    uint32_t xid;
    uint32_t subxid;
    uint64_t lsn;
    uint8_t *body;
    size_t len;
    int r;

    if (!pgcdc__decoder_take_streamed(ta->dec, &xid, &subxid, &lsn, &body, &len))
        return 1;
    r = pgcdc__spool_append(ta->spool, xid, subxid, lsn, body, len);
    if (r != 0)
        return pgcdc__wrap(ta->ctx, r, "could not spool streamed transaction %u", xid);
    return 0;
}

static int next_event(pgcdc__assembly *ta, pgcdc__event *ev)
{
    for (;;) {
        int r;

        if (ta->redo) {
            /* The change whose schema change was handed out: its message once more. */
            ta->redo = 0;
            r = ta->truncate_active ? truncate_change(ta, ev) : dispatch(ta, ev);
            if (r != 0)
                return r;
            continue;
        }
        if (ta->truncate_active && truncate_change(ta, ev) == 1)
            return 1;
        if (ta->close_pending) {
            ta->close_pending = 0;
            return close_txn(ta, ev, ta->close_end_lsn);
        }
        if (ta->replaying) {
            r = replay_step(ta, ev);
            if (r != 0)
                return r;
            continue;
        }
        /* Nothing fed: nothing to do, unless the decoder's error stands (until a cut). */
        if (!ta->fed && !ta->dec_failed)
            return 0;
        ta->fed = 0;
        /* A message of a streamed transaction waits in the spool for its commit. */
        if (ta->txn_streaming) {
            r = spool_streamed(ta);
            if (r != 1)
                return r;
        }
        r = pgcdc__decoder_next(ta->dec, &ta->msg);
        if (r == 0)
            return 0;
        if (r < 0) {
            ta->dec_failed = 1;
            return pgcdc__fail(ta->ctx, PGCDC_ERR_PROTOCOL, "protocol error: %s",
                               pgcdc__decoder_error(ta->dec));
        }
        r = dispatch(ta, ev);
        if (r != 0)
            return r;
    }
}

int pgcdc__assembly_next(pgcdc__assembly *ta, pgcdc__event *ev)
{
    /* Called once more after every message: make "nothing to do" cheap. */
    if (!ta->fed && !ta->dec_failed && !ta->truncate_active && !ta->replaying &&
        !ta->close_pending && !ta->redo)
        return 0;
    return next_event(ta, ev);
}
