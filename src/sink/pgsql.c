/*
 * The postgresql sink: changes written to another PostgreSQL database, in
 * one of two modes.  audit appends every change as a row of an audit table
 * (COPY); apply makes each change again on a table of the same name, by its
 * primary key (pgsql_apply.c).  Changes are batched on the worker's thread
 * and written in one target transaction, which also records the last source
 * commit written in a position table; that position, read back, tells what
 * a later run or a retry after a lost connection must skip: every change
 * reaches the target once.  Commits are acknowledged once that transaction
 * committed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "base/clock.h"
#include "sink/pgsql.h"
#include "sink/pgsql_int.h"
#include "sink/sink.h"

#define NOTHING_LOST "nothing after the last confirmed position is lost"
#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 2000

static const pgcdc_property pgsql_properties[] = {
    {"mode", PGCDC_PROP_ENUM, "audit", 0, 0, "audit|apply",
     "audit: append every change to an audit table; apply: make each change again on a table "
     "of the same name, by its primary key"},
    {"schema", PGCDC_PROP_STRING, "", 0, 0, NULL,
     "the target schema (empty: public for audit, the source table's schema for apply)"},
    {"table", PGCDC_PROP_STRING, "pgcdc_audit", 0, 0, NULL,
     "audit mode: the audit table (created if missing)"},
    {"position_table", PGCDC_PROP_STRING, "pgcdc_sink_position", 0, 0, NULL,
     "the table of the last source commit written, per slot (in the schema; created if missing)"},
    {"max_inflight", PGCDC_PROP_SIZE, "16MB", 1024, 1LL << 40, NULL,
     "changes batched and not yet committed in the target; reading the stream waits beyond it"},
    {"flush_interval", PGCDC_PROP_DURATION, "100ms", 0, 60000, NULL,
     "how long changes wait to be written while the stream keeps the worker busy"},
    {"timeout", PGCDC_PROP_DURATION, "10s", 1000, 600000, NULL,
     "connecting; past it the target counts as unreachable"},
    {"max_elapsed", PGCDC_PROP_DURATION, "5m", 1000, 86400000, NULL,
     "how long a lost connection is retried before the sink fails"},
};

#define NPROPERTIES (int)(sizeof(pgsql_properties) / sizeof(pgsql_properties[0]))

/* ---- the URI: postgresql://... or postgres://..., given to libpq as is ---- */

static int pgsql_check_uri(const char *uri, char *err, size_t errlen)
{
    char *msg = NULL;
    PQconninfoOption *opts;

    if (strncmp(uri, "postgresql://", 13) != 0 && strncmp(uri, "postgres://", 11) != 0) {
        snprintf(err, errlen,
                 "not a postgresql URI (use postgresql://USER@HOST:PORT/DBNAME; a password is "
                 "best in ~/.pgpass or PGPASSWORD)");
        return PGCDC_ERR_INVALID;
    }
    opts = PQconninfoParse(uri, &msg);
    if (opts == NULL) {
        char line[512];

        pgcdc__one_line(line, sizeof(line), msg != NULL ? msg : "out of memory");
        snprintf(err, errlen, "bad postgresql URI: %s", line);
        PQfreemem(msg);
        return PGCDC_ERR_INVALID;
    }
    PQconninfoFree(opts);
    return PGCDC_OK;
}

/* ---- the connection ---- */

static void disconnect(pgcdc__pgsql *ps)
{
    if (ps->conn != NULL)
        PQfinish(ps->conn);
    ps->conn = NULL;
}

/* The connection's last error, on one line (libpq may have none for a closed socket). */
void pgcdc__pgsql_conn_error(PGconn *conn, char *why, size_t size)
{
    pgcdc__one_line(why, size, PQerrorMessage(conn));
    if (why[0] == '\0')
        snprintf(why, size, "the server closed the connection");
}

/* Runs SQL without parameters: PGCDC_OK or -1 with why. */
int pgcdc__pgsql_exec(PGconn *conn, const char *sql, ExecStatusType want, char *why, size_t size)
{
    PGresult *res = PQexec(conn, sql);
    int r = PQresultStatus(res) == want ? PGCDC_OK : -1;

    if (r != PGCDC_OK)
        pgcdc__pgsql_conn_error(conn, why, size);
    PQclear(res);
    return r;
}

/* Notices (a table there already) are the target's business, not the log's. */
static void no_notice(void *arg, const char *msg)
{
    (void)arg;
    (void)msg;
}

/* The position of the slot in the target, into ps->position: PGCDC_OK or -1 with why. */
static int read_position(pgcdc__pgsql *ps, int lock, char *why, size_t size)
{
    const char *slot = pgcdc__sink_slot(ps->sink);
    PGresult *res;
    int r = PGCDC_OK;

    pgcdc__buf_reset(&ps->scratch);
    pgcdc__buf_lit(&ps->scratch, "SELECT lsn::text FROM ");
    pgcdc__buf_put(&ps->scratch, ps->postab.data, ps->postab.len);
    pgcdc__buf_lit(&ps->scratch, lock ? " WHERE slot = $1 FOR UPDATE" : " WHERE slot = $1");
    res = PQexecParams(ps->conn, pgcdc__buf_cstr(&ps->scratch), 1, NULL, &slot, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        pgcdc__pgsql_conn_error(ps->conn, why, size);
        r = -1;
    } else if (PQntuples(res) == 1) {
        pgcdc_lsn_parse(PQgetvalue(res, 0, 0), &ps->position);
    }
    PQclear(res);
    return r;
}

/* Creates the tables the sink owns when missing: PGCDC_OK or -1 with why. */
static int make_tables(pgcdc__pgsql *ps, char *why, size_t size)
{
    pgcdc__buf *b = &ps->scratch;

    pgcdc__buf_reset(b);
    pgcdc__buf_lit(b, "CREATE TABLE IF NOT EXISTS ");
    pgcdc__buf_put(b, ps->postab.data, ps->postab.len);
    pgcdc__buf_lit(b, " (slot text PRIMARY KEY, lsn pg_lsn NOT NULL, "
                      "updated_at timestamptz NOT NULL DEFAULT now())");
    if (!ps->apply) {
        pgcdc__buf_lit(b, "; CREATE TABLE IF NOT EXISTS ");
        pgcdc__buf_put(b, ps->target.data, ps->target.len);
        pgcdc__buf_lit(b, " (commit_lsn pg_lsn NOT NULL, seq bigint NOT NULL, op text NOT NULL, "
                          "schema_name text NOT NULL, table_name text NOT NULL, old jsonb, new "
                          "jsonb, commit_time timestamptz, xid bigint, "
                          "PRIMARY KEY (commit_lsn, seq))");
    }
    if (pgcdc__buf_cstr(b) == NULL) {
        snprintf(why, size, "out of memory");
        return -1;
    }
    return pgcdc__pgsql_exec(ps->conn, pgcdc__buf_cstr(b), PGRES_COMMAND_OK, why, size);
}

/* A connection to the target with the sink's tables there: PGCDC_OK or -1 with why. */
static int try_connect(pgcdc__pgsql *ps, char *why, size_t size)
{
    char timeout[24];
    const char *keys[] = {"dbname", "connect_timeout", "fallback_application_name", NULL};
    const char *vals[] = {ps->conninfo, timeout, "pgcdc", NULL};

    snprintf(timeout, sizeof(timeout), "%lld", (ps->timeout_ms + 999) / 1000);
    ps->conn = PQconnectdbParams(keys, vals, 1);
    if (ps->conn == NULL) {
        snprintf(why, size, "out of memory");
        return -1;
    }
    PQsetNoticeProcessor(ps->conn, no_notice, NULL);
    ps->open = 0;
    if (PQstatus(ps->conn) != CONNECTION_OK ||
        pgcdc__pgsql_exec(ps->conn, "SET synchronous_commit = on", PGRES_COMMAND_OK, why, size) !=
            PGCDC_OK ||
        make_tables(ps, why, size) != PGCDC_OK || read_position(ps, 0, why, size) != PGCDC_OK) {
        /* Connected, and refused: no retry makes the tables right. */
        int r = PQstatus(ps->conn) == CONNECTION_OK ? -2 : -1;

        if (r == -1)
            pgcdc__pgsql_conn_error(ps->conn, why, size);
        disconnect(ps);
        return r;
    }
    return PGCDC_OK;
}

static int fail_for_good(pgcdc__pgsql *ps, const char *msg);

static int refused_setup(pgcdc__pgsql *ps, const char *why)
{
    char msg[PGCDC__MSG_SIZE];

    snprintf(msg, sizeof(msg),
             "could not set up the sink's tables (position%s): %.512s (check the schema and "
             "the user's rights)",
             ps->apply ? "" : ", audit", why);
    return fail_for_good(ps, msg);
}

static int stopped(pgcdc__pgsql *ps, int backoff)
{
    return pgcdc__sink_pause(ps->sink, backoff);
}

/*
 * Connects, retrying with backoff for up to max_elapsed: PGCDC_OK, a
 * failure, or PGCDC_ERR_STOPPED when the worker is asked to stop meanwhile.
 */
static int connect_retrying(pgcdc__pgsql *ps)
{
    int64_t start = pgcdc__now_us();
    int backoff = BACKOFF_MIN_MS;
    char why[512];
    int r;

    while ((r = try_connect(ps, why, sizeof(why))) != PGCDC_OK) {
        if (r == -2)
            return refused_setup(ps, why);
        pgcdc__sink_count_error(ps->sink);
        if (!ps->down) {
            pgcdc_sink_log(ps->sink, PGCDC_LOG_WARNING, "sink \"%s\": %s (retrying)",
                           ps->sink->shown, why);
            ps->down = 1;
        }
        if ((pgcdc__now_us() - start) / 1000 >= ps->max_elapsed_ms)
            return pgcdc_sink_fail(ps->sink, PGCDC_ERR_SINK,
                                   "could not reach postgresql at \"%s\" for %lld ms: %s "
                                   "(" NOTHING_LOST ")",
                                   ps->sink->shown, ps->max_elapsed_ms, why);
        if (stopped(ps, backoff))
            return pgcdc_sink_fail(ps->sink, PGCDC_ERR_STOPPED,
                                   "stopped while sink \"%s\" was reconnecting", ps->sink->shown);
        backoff = backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : backoff * 2;
    }
    if (ps->down) {
        pgcdc_sink_log(ps->sink, PGCDC_LOG_INFO, "sink \"%s\": delivering again", ps->sink->shown);
        ps->down = 0;
    }
    return PGCDC_OK;
}

/* ---- writing a batch ---- */

/* The sink failed for good: every later write or flush says so. */
static int fail_for_good(pgcdc__pgsql *ps, const char *msg)
{
    char line[PGCDC__MSG_SIZE + 256];

    snprintf(line, sizeof(line), "sink \"%s\": %.*s", ps->sink->shown, PGCDC__MSG_SIZE / 2, msg);
    pgcdc__one_line(ps->failure, sizeof(ps->failure) - sizeof(" (" NOTHING_LOST ")"), line);
    strcat(ps->failure, " (" NOTHING_LOST ")");
    ps->failed = 1;
    disconnect(ps);
    return pgcdc_sink_fail(ps->sink, PGCDC_ERR_SINK, "%s", ps->failure);
}

/* The position moves to the batch's last commit of the stream. */
static int save_position(pgcdc__pgsql *ps, char *why, size_t size)
{
    uint64_t last = 0;
    char lsn[32];
    const char *vals[2];
    PGresult *res;
    int r = PGCDC_OK;

    for (size_t i = 0; i < ps->nb; i++) {
        if (ps->q[i].token != 0 && !ps->q[i].snapshot && ps->q[i].lsn > last)
            last = ps->q[i].lsn;
    }
    if (last <= ps->position)
        return PGCDC_OK;
    vals[0] = pgcdc__sink_slot(ps->sink);
    vals[1] = pgcdc_lsn_format(last, lsn, sizeof(lsn));
    pgcdc__buf_reset(&ps->scratch);
    pgcdc__buf_lit(&ps->scratch, "INSERT INTO ");
    pgcdc__buf_put(&ps->scratch, ps->postab.data, ps->postab.len);
    pgcdc__buf_lit(&ps->scratch, " (slot, lsn) VALUES ($1, $2) ON CONFLICT (slot) DO UPDATE SET "
                                 "lsn = EXCLUDED.lsn, updated_at = now()");
    res = PQexecParams(ps->conn, pgcdc__buf_cstr(&ps->scratch), 2, NULL, vals, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
        pgcdc__pgsql_conn_error(ps->conn, why, size);
        r = -1;
    }
    PQclear(res);
    return r;
}

/*
 * Begins the target transaction unless one is under way, and reads the
 * position in it, under a lock: what a transaction whose COMMIT's answer
 * was lost did write is skipped.
 */
static int begin(pgcdc__pgsql *ps, char *why, size_t size)
{
    int r;

    if (ps->open)
        return PGCDC_OK;
    r = pgcdc__pgsql_exec(ps->conn, "BEGIN", PGRES_COMMAND_OK, why, size);
    if (r == PGCDC_OK)
        r = read_position(ps, 1, why, size);
    ps->open = r == PGCDC_OK;
    return r;
}

/* PGCDC_OK, 1 for a lost connection, or -1 (the transaction rolled back). */
static int outcome(pgcdc__pgsql *ps, int r)
{
    if (r == PGCDC_OK)
        return r;
    if (PQstatus(ps->conn) == CONNECTION_BAD)
        return 1;
    pgcdc__pgsql_exec(ps->conn, "ROLLBACK", PGRES_COMMAND_OK, (char[64]){0}, 64);
    ps->open = 0;
    return -1;
}

/* The batched changes, in the target transaction. */
static int write_changes(pgcdc__pgsql *ps, char *why, size_t size)
{
    int r = begin(ps, why, size);

    if (r == PGCDC_OK)
        r = ps->apply ? pgcdc__pgsql_apply_batch(ps, why, size)
                      : pgcdc__pgsql_copy_batch(ps, why, size);
    return outcome(ps, r);
}

/* The batch in one target transaction, with the position: PGCDC_OK, 1 (lost) or -1 with why. */
static int write_batch(pgcdc__pgsql *ps, char *why, size_t size)
{
    int r = write_changes(ps, why, size);

    if (r == PGCDC_OK)
        r = save_position(ps, why, size);
    if (r == PGCDC_OK)
        r = pgcdc__pgsql_exec(ps->conn, "COMMIT", PGRES_COMMAND_OK, why, size);
    ps->open = 0;
    return outcome(ps, r);
}

/* The items written are let go of; those after them (a transaction begun) move up. */
static void drop_written(pgcdc__pgsql *ps)
{
    size_t from = ps->nb < ps->nq ? ps->q[ps->nb].start : ps->data.len;

    for (size_t i = ps->nb; i < ps->nq; i++) {
        ps->q[i - ps->nb] = ps->q[i];
        ps->q[i - ps->nb].start -= from;
        ps->q[i - ps->nb].end -= from;
    }
    ps->nq -= ps->nb;
    ps->nb = 0;
    memmove(ps->data.data, ps->data.data + from, ps->data.len - from);
    ps->data.len -= from;
    if (ps->nq > 0)
        ps->oldest_us = pgcdc__now_us();
    pgcdc__sink_show_inflight(ps->sink, ps->data.len);
}

/* A lost connection, said on one line (libpq's messages have several); made again next. */
static void log_lost(pgcdc__pgsql *ps, const char *why)
{
    char line[PGCDC__MSG_SIZE];

    pgcdc__one_line(line, sizeof(line), why);
    pgcdc_sink_log(ps->sink, PGCDC_LOG_WARNING, "sink \"%s\": connection lost: %s (retrying)",
                   ps->sink->shown, line);
    ps->down = 1;
    disconnect(ps);
}

static int lost_spilled(pgcdc__pgsql *ps, const char *why)
{
    char msg[PGCDC__MSG_SIZE];

    snprintf(msg, sizeof(msg),
             "connection lost in a source transaction larger than max_inflight, part of it "
             "written: %.512s (run again: it is read again from the slot)",
             why);
    ps->open = 0;
    return fail_for_good(ps, msg);
}

/*
 * Writes the batch's first n items (up to a commit), reconnecting after a
 * lost connection, and acknowledges their commits.  PGCDC_OK or a failure.
 */
static int drain(pgcdc__pgsql *ps, size_t n)
{
    char why[PGCDC__MSG_SIZE];
    int r;

    ps->nb = n;
    for (;;) {
        if (ps->conn == NULL) {
            r = connect_retrying(ps);
            if (r != PGCDC_OK)
                return r;
        }
        /* (A path that finds the connection gone may have no message of its own.) */
        snprintf(why, sizeof(why), "the connection was lost");
        r = write_batch(ps, why, sizeof(why));
        if (r == PGCDC_OK)
            break;
        pgcdc__sink_count_error(ps->sink);
        if (r < 0)
            return fail_for_good(ps, why);
        if (ps->spilled)
            return lost_spilled(ps, why);
        log_lost(ps, why);
    }
    if (ps->skipped > 0)
        pgcdc_sink_log(ps->sink, PGCDC_LOG_INFO,
                       "sink \"%s\": %llu changes were in the target already (skipped)",
                       ps->sink->shown, (unsigned long long)ps->skipped);
    ps->skipped = 0;
    ps->spilled = 0;
    for (size_t i = 0; i < ps->nb; i++) {
        if (ps->q[i].token != 0)
            pgcdc_sink_ack(ps->sink, ps->q[i].token);
    }
    drop_written(ps);
    return PGCDC_OK;
}

/*
 * A source transaction larger than max_inflight: its changes so far are
 * written in the open target transaction and let go of, so that memory
 * stays bounded; the commits batched before it stay, to be acknowledged
 * with it.  Lost once changes were let go of, the transaction cannot be
 * written again: the sink fails, and a restart reads it again from the slot.
 */
static int spill(pgcdc__pgsql *ps)
{
    char why[PGCDC__MSG_SIZE];
    size_t kept = 0;
    int r;

    ps->nb = ps->nq;
    for (;;) {
        if (ps->conn == NULL) {
            r = connect_retrying(ps);
            if (r != PGCDC_OK)
                return r;
        }
        r = write_changes(ps, why, sizeof(why));
        if (r == PGCDC_OK)
            break;
        pgcdc__sink_count_error(ps->sink);
        if (r < 0)
            return fail_for_good(ps, why);
        if (ps->spilled)
            return lost_spilled(ps, why);
        log_lost(ps, why);
    }
    for (size_t i = 0; i < ps->nq; i++) {
        if (ps->q[i].token != 0)
            ps->q[kept++] = ps->q[i];
    }
    ps->nq = kept;
    ps->nb = 0;
    ps->spilled = 1;
    pgcdc__buf_reset(&ps->data);
    pgcdc__sink_show_inflight(ps->sink, 0);
    return PGCDC_OK;
}

/* ---- the worker's side ---- */

static pitem *queue_slot(pgcdc__pgsql *ps)
{
    if (ps->nq == ps->capq) {
        size_t cap = ps->capq > 0 ? ps->capq * 2 : 256;
        pitem *q = realloc(ps->q, cap * sizeof(*q));

        if (q == NULL)
            return NULL;
        ps->q = q;
        ps->capq = cap;
    }
    if (ps->nq == 0)
        ps->oldest_us = pgcdc__now_us();
    memset(&ps->q[ps->nq], 0, sizeof(pitem));
    return &ps->q[ps->nq];
}

/*
 * The audit row's seq: the change's ordinal, or for READ rows of a snapshot
 * (transactions of one chunk each, all at the slot's consistent point,
 * numbered from 0) a number counted on across chunks, from what the table
 * holds at that position already.  1 when the target must be asked first.
 */
static int audit_seq(pgcdc__pgsql *ps, const pgcdc_change *c, uint64_t *seq)
{
    const pgcdc_txn *txn = pgcdc_change_txn(c);

    if (pgcdc_txn_snapshot(txn) == PGCDC_SNAPSHOT_NONE) {
        *seq = pgcdc_change_seq(c);
        return PGCDC_OK;
    }
    if (pgcdc_txn_commit_lsn(txn) != ps->snap_lsn || !ps->snap_known) {
        char lsn[32];
        const char *val = pgcdc_lsn_format(pgcdc_txn_commit_lsn(txn), lsn, sizeof(lsn));
        PGresult *res;
        int r = PGCDC_OK;

        if (ps->conn == NULL && (r = connect_retrying(ps)) != PGCDC_OK)
            return r;
        pgcdc__buf_reset(&ps->scratch);
        pgcdc__buf_lit(&ps->scratch, "SELECT coalesce(max(seq) + 1, 0) FROM ");
        pgcdc__buf_put(&ps->scratch, ps->target.data, ps->target.len);
        pgcdc__buf_lit(&ps->scratch, " WHERE commit_lsn = $1");
        res = PQexecParams(ps->conn, pgcdc__buf_cstr(&ps->scratch), 1, NULL, &val, NULL, NULL, 0);
        if (PQresultStatus(res) != PGRES_TUPLES_OK) {
            char why[512];

            pgcdc__one_line(why, sizeof(why), PQerrorMessage(ps->conn));
            disconnect(ps);
            r = pgcdc_sink_fail(ps->sink, PGCDC_ERR_SINK, "sink \"%s\": %s", ps->sink->shown, why);
        } else {
            ps->snap_next = strtoull(PQgetvalue(res, 0, 0), NULL, 10);
            ps->snap_lsn = pgcdc_txn_commit_lsn(txn);
            ps->snap_known = 1;
        }
        PQclear(res);
        if (r != PGCDC_OK)
            return r;
    }
    *seq = ps->snap_next++;
    return PGCDC_OK;
}

static int audit_line(pgcdc__pgsql *ps, const pgcdc_change *c)
{
    uint64_t seq = 0;
    int r = audit_seq(ps, c, &seq);

    if (r == PGCDC_OK)
        pgcdc__pgsql_audit_line(&ps->data, &ps->scratch, c, seq);
    return r;
}

static int queue_change(pgcdc__pgsql *ps, const pgcdc_sink_event *ev)
{
    const pgcdc_change *c = pgcdc_sink_event_change(ev);
    int snapshot = pgcdc_txn_snapshot(pgcdc_change_txn(c)) != PGCDC_SNAPSHOT_NONE;
    size_t start = ps->data.len;
    pitem *it;
    int r = PGCDC_OK;

    /* Written by an earlier run (its position says so): delivered already. */
    if (!snapshot && pgcdc_change_commit_lsn(c) <= ps->position)
        return PGCDC_HANDLED;
    if (ps->apply)
        pgcdc__pgsql_record(&ps->data, c);
    else
        r = audit_line(ps, c);
    if (r != PGCDC_OK) {
        ps->data.len = start;
        return r;
    }
    it = queue_slot(ps);
    if (it == NULL || ps->data.oom || ps->scratch.oom) {
        ps->data.len = start;
        ps->data.oom = ps->scratch.oom = 0;
        return pgcdc_sink_fail(ps->sink, PGCDC_ERR_NOMEM, "out of memory");
    }
    it->lsn = pgcdc_change_commit_lsn(c);
    it->snapshot = snapshot;
    it->start = start;
    it->end = ps->data.len;
    ps->nq++;
    pgcdc__sink_show_inflight(ps->sink, ps->data.len);
    return PGCDC_HANDLED;
}

/* A commit: acknowledged once the target transaction of its batch committed. */
static int queue_commit(pgcdc__pgsql *ps, const pgcdc_sink_event *ev)
{
    const pgcdc_txn *txn = pgcdc_sink_event_txn(ev);
    int snapshot = pgcdc_txn_snapshot(txn) != PGCDC_SNAPSHOT_NONE;
    pitem *it;

    if (!snapshot && pgcdc_txn_commit_lsn(txn) <= ps->position)
        return PGCDC_HANDLED;
    it = queue_slot(ps);
    if (it == NULL)
        return pgcdc_sink_fail(ps->sink, PGCDC_ERR_NOMEM, "out of memory");
    it->token = pgcdc_sink_event_token(ev);
    it->lsn = pgcdc_txn_commit_lsn(txn);
    it->snapshot = snapshot;
    ps->nq++;
    return PGCDC_DEFER;
}

/*
 * Full in the middle of a transaction: the transactions before it are
 * written and acknowledged; when it alone is too large, its changes so far
 * go to the target already.
 */
static int make_room(pgcdc__pgsql *ps)
{
    size_t n = ps->nq;
    int r = PGCDC_OK;

    while (n > 0 && ps->q[n - 1].token == 0)
        n--;
    if (n > 0 && !ps->spilled)
        r = drain(ps, n);
    if (r == PGCDC_OK && ps->data.len >= (size_t)ps->max_inflight)
        r = spill(ps);
    return r == PGCDC_OK ? PGCDC_HANDLED : r;
}

static int pgsql_write(pgcdc_sink *sink, const pgcdc_sink_event *ev)
{
    pgcdc__pgsql *ps = pgcdc_sink_state(sink);
    int r = PGCDC_HANDLED;

    if (ps->failed)
        return pgcdc_sink_fail(sink, PGCDC_ERR_SINK, "%s", ps->failure);
    switch (pgcdc_sink_event_kind(ev)) {
    case PGCDC_EVENT_CHANGE:
        /* Rows only: a table's new shape is not applied to the target (nor audited). */
        if (pgcdc_change_op(pgcdc_sink_event_change(ev)) == PGCDC_OP_SCHEMA)
            return PGCDC_HANDLED;
        r = queue_change(ps, ev);
        break;
    case PGCDC_EVENT_COMMIT:
        r = queue_commit(ps, ev);
        break;
    default:
        return PGCDC_HANDLED;
    }
    if (r < 0)
        return r;
    if (r == PGCDC_HANDLED && ps->data.len >= (size_t)ps->max_inflight)
        return make_room(ps);
    /* Full, or the batch waited long enough: written at a commit, in one target transaction. */
    if (r == PGCDC_DEFER && (ps->data.len >= (size_t)ps->max_inflight ||
                             pgcdc__now_us() - ps->oldest_us >= ps->flush_ms * 1000)) {
        int d = drain(ps, ps->nq);

        if (d != PGCDC_OK)
            return d;
    }
    return r;
}

static int pgsql_flush(pgcdc_sink *sink)
{
    pgcdc__pgsql *ps = pgcdc_sink_state(sink);

    if (ps->failed)
        return pgcdc_sink_fail(sink, PGCDC_ERR_SINK, "%s", ps->failure);
    /* A transaction not over yet stays: its commit comes with the next events. */
    if (ps->nq == 0 || ps->q[ps->nq - 1].token == 0)
        return PGCDC_OK;
    return drain(ps, ps->nq);
}

/* ---- open and close ---- */

/* "schema"."table" (schema empty: public). */
static void qualified(pgcdc__buf *b, const char *schema, const char *table)
{
    pgcdc__pgsql_ident(b, schema[0] != '\0' ? schema : "public");
    pgcdc__buf_u8(b, '.');
    pgcdc__pgsql_ident(b, table);
}

static int pgsql_open(pgcdc_sink *sink, const char *uri)
{
    pgcdc__pgsql *ps = calloc(1, sizeof(*ps));
    char why[512];
    int r;

    if (ps == NULL)
        return pgcdc_sink_fail(sink, PGCDC_ERR_NOMEM, "out of memory");
    pgcdc_sink_set_state(sink, ps);
    ps->sink = sink;
    pgcdc__buf_init(&ps->data);
    pgcdc__buf_init(&ps->scratch);
    pgcdc__buf_init(&ps->target);
    pgcdc__buf_init(&ps->postab);
    if (pgsql_check_uri(uri, why, sizeof(why)) != PGCDC_OK)
        return pgcdc_sink_fail(sink, PGCDC_ERR_INVALID, "sink \"%s\": %s", sink->shown, why);
    ps->apply = strcmp(pgcdc_sink_property(sink, "mode"), "apply") == 0;
    ps->conninfo = strdup(uri);
    ps->schema = strdup(pgcdc_sink_property(sink, "schema"));
    if (ps->conninfo == NULL || ps->schema == NULL)
        return pgcdc_sink_fail(sink, PGCDC_ERR_NOMEM, "out of memory");
    qualified(&ps->target, ps->schema, pgcdc_sink_property(sink, "table"));
    qualified(&ps->postab, ps->schema, pgcdc_sink_property(sink, "position_table"));
    if (pgcdc__buf_cstr(&ps->target) == NULL || pgcdc__buf_cstr(&ps->postab) == NULL)
        return pgcdc_sink_fail(sink, PGCDC_ERR_NOMEM, "out of memory");
    /* The property table checked the values. */
    pgcdc__sink_prop_num(sink, "max_inflight", &ps->max_inflight);
    pgcdc__sink_prop_num(sink, "flush_interval", &ps->flush_ms);
    pgcdc__sink_prop_num(sink, "timeout", &ps->timeout_ms);
    pgcdc__sink_prop_num(sink, "max_elapsed", &ps->max_elapsed_ms);
    ps->careful = ps->apply && pgcdc__sink_can_dead_letter(sink);
    /* Unreachable now is said at once; the first batch retries, as after a lost connection. */
    r = try_connect(ps, why, sizeof(why));
    if (r == -2)
        return refused_setup(ps, why);
    if (r != PGCDC_OK) {
        pgcdc__sink_count_error(sink);
        pgcdc_sink_log(sink, PGCDC_LOG_WARNING, "sink \"%s\": %s (retrying)", sink->shown, why);
        ps->down = 1;
    }
    return PGCDC_OK;
}

static void pgsql_close(pgcdc_sink *sink)
{
    pgcdc__pgsql *ps = pgcdc_sink_state(sink);

    if (ps == NULL)
        return;
    /* What is still batched was never acknowledged: a later run writes it. */
    disconnect(ps);
    pgcdc__buf_free(&ps->data);
    pgcdc__buf_free(&ps->scratch);
    pgcdc__buf_free(&ps->target);
    pgcdc__buf_free(&ps->postab);
    free(ps->q);
    free(ps->conninfo);
    free(ps->schema);
    free(ps);
}

const pgcdc_sink_ops pgcdc__pgsql_sink = {
    .abi = PGCDC_SINK_ABI,
    .kind = "postgresql",
    .open = pgsql_open,
    .write = pgsql_write,
    .flush = pgsql_flush,
    .close = pgsql_close,
    .properties = pgsql_properties,
    .nproperties = NPROPERTIES,
    .check_uri = pgsql_check_uri,
};
