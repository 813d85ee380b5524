/*
 * The worker's hold on the server: the preflight and what it creates, the
 * start, a slot another process holds (fail naming it, or stand by), and
 * reconnects with backoff that end at once on what retrying cannot mend,
 * in the words the start would have used.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "monitor.h"
#include "pg/ddl.h"
#include "pg/slot.h"
#include "snapshot.h"
#include "worker.h"

/* A stream that lived this long starts the reconnect backoff afresh. */
#define PGCDC__STABLE_STREAM_US 30000000
/* How often a standby looks whether the slot is free. */
#define PGCDC__STANDBY_POLL_MS 1000
/* How long another process may hold the slot before a start (not standing by) fails. */
#define PGCDC__BUSY_GRACE_MS 3000

static void catalog_opts(const pgcdc_worker *w, pgcdc__catalog_opts *o)
{
    o->conninfo = w->cfg.conninfo;
    o->slot = w->cfg.slot;
    o->publication = w->cfg.publication;
    o->tables = w->cfg.tables;
    o->ntables = w->cfg.ntables;
    o->excludes = w->cfg.excludes;
    o->nexcludes = w->cfg.nexcludes;
    o->filters = &w->filters;
    o->push_down = w->cfg.filter_push_down;
    o->via_root = w->cfg.via_root;
    o->create_slot = w->cfg.create_slot;
    o->create_publication = w->cfg.create_publication;
    o->replica_identity_full = w->cfg.replica_identity_full;
    o->two_phase = w->cfg.two_phase;
    o->export_snapshot = w->cfg.snapshot_mode == PGCDC_SNAPSHOT_MODE_INITIAL ||
                         w->cfg.snapshot_mode == PGCDC_SNAPSHOT_MODE_INITIAL_ONLY;
    o->failover = w->cfg.failover;
    /* Protocol 2 came with PostgreSQL 14, two-phase decoding (protocol 3) with 15. */
    o->need_version = 0;
    if (w->cfg.two_phase || w->cfg.proto_version >= 3) {
        o->need_version = 150000;
        o->need_what = w->cfg.two_phase ? "two_phase" : "protocol 3";
        o->need_fix = w->cfg.two_phase ? "turn two_phase off" : "use protocol 1 or 2";
    } else if (w->cfg.proto_version == 2) {
        o->need_version = 140000;
        o->need_what = "protocol 2";
        o->need_fix = "use protocol 1";
    }
    /* Logical messages of ours, which a standby cannot write. */
    o->writes = w->cfg.heartbeat_ms > 0 ? "heartbeat messages (heartbeat.interval)"
                : w->cfg.snapshot_mode == PGCDC_SNAPSHOT_MODE_INCREMENTAL
                    ? "an incremental snapshot's watermarks"
                    : NULL;
}

/* The start was cut short by a stop request: say so (the context names the step). */
static int startup_result(pgcdc_worker *w, int r)
{
    if (r != PGCDC_OK && (w->ctx.interrupted || pgcdc__stop_requested(&w->stop))) {
        if (!w->ctx.interrupted)
            pgcdc__interrupted(&w->ctx, PGCDC_ERR_STOPPED, "start");
        return PGCDC_ERR_STOPPED;
    }
    return r;
}

int pgcdc_worker_prepare(pgcdc_worker *w, int *slot_created)
{
    pgcdc__catalog_opts o;
    int r;

    if (slot_created != NULL)
        *slot_created = 0;
    if (atomic_load(&w->state) != PGCDC_STATE_NEW)
        return pgcdc__fail(&w->ctx, PGCDC_ERR_STATE, "the worker was already started");
    if (w->cfg.conninfo == NULL)
        return pgcdc__fail(&w->ctx, PGCDC_ERR_INVALID,
                           "no connection string (set one, e.g. \"host=... dbname=...\")");
    pgcdc__catalog_clear(&w->cat);
    catalog_opts(w, &o);
    r = startup_result(w, pgcdc__catalog_prepare(&w->ctx, &o, &w->cat));
    if (slot_created != NULL)
        *slot_created = r == PGCDC_OK && w->cat.slot_created;
    return r;
}

int pgcdc_worker_drop(pgcdc_worker *w, int what)
{
    pgcdc__catalog_opts o;

    if ((what & (PGCDC_DROP_SLOT | PGCDC_DROP_PUBLICATION)) == 0 ||
        (what & ~(PGCDC_DROP_SLOT | PGCDC_DROP_PUBLICATION)) != 0)
        return pgcdc__fail(
            &w->ctx, PGCDC_ERR_INVALID,
            "nothing to drop (give PGCDC_DROP_SLOT, PGCDC_DROP_PUBLICATION or both)");
    catalog_opts(w, &o);
    return startup_result(w, pgcdc__catalog_drop(&w->ctx, &o, (what & PGCDC_DROP_SLOT) != 0,
                                                 (what & PGCDC_DROP_PUBLICATION) != 0));
}

int pgcdc_worker_drop_slot(pgcdc_worker *w)
{
    return pgcdc_worker_drop(w, PGCDC_DROP_SLOT);
}

int pgcdc_worker_install_ddl_capture(pgcdc_worker *w, int on)
{
    if (w->cfg.conninfo == NULL)
        return pgcdc__fail(&w->ctx, PGCDC_ERR_INVALID,
                           "no connection string (set one, e.g. \"host=... dbname=...\")");
    return startup_result(w, pgcdc__ddl_capture(&w->ctx, w->cfg.conninfo, on != 0));
}

static int open_stream(pgcdc_worker *w)
{
    pgcdc__stream_opts o;

    o.conninfo = w->cfg.conninfo;
    o.slot = w->cfg.slot;
    o.publication = w->cfg.publication;
    o.proto_version = w->proto;
    o.two_phase = w->cfg.two_phase;
    o.binary = w->binary;
    o.sql_ascii = w->cat.encoding != NULL && strcmp(w->cat.encoding, "SQL_ASCII") == 0;
    o.status_interval_ms = w->cfg.status_interval_ms;
    o.link_timeout_ms = w->cfg.link_timeout_ms;
    /* Snapshot watermarks and signals come as logical messages. */
    o.messages = w->cat.server_version >= 140000;
    pgcdc__assembly_set_binary(w->ta, w->binary);
    return pgcdc__stream_open(w->stream, &o);
}

/* Random in [lo, hi]; xorshift64*, per worker. */
static int jitter(pgcdc_worker *w, int lo, int hi)
{
    uint64_t x = w->rng;

    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    w->rng = x;
    x *= UINT64_C(2685821657736338717);
    return lo + (int)((x >> 33) % (uint64_t)(hi - lo + 1));
}

/*
 * The slot is held by the server process pid (0: free by now).  Our own
 * walsender from before the connection was lost (own): PGCDC_OK, retry as
 * usual, it goes once the server notices.  Another process: a short grace
 * (the walsender of a consumer that just exited takes a moment to go), then
 * SLOT_BUSY naming it; with standby, a wait, logged once, until it is free.
 */
static int slot_held(pgcdc_worker *w, int pid, int own)
{
    int64_t grace_until = pgcdc__now_us() + (int64_t)PGCDC__BUSY_GRACE_MS * 1000;
    int logged = 0;

    while (pid != 0 && (own == 0 || pid != own)) {
        int r;

        if (!w->cfg.standby && pgcdc__now_us() >= grace_until)
            return pgcdc__slot_busy(&w->ctx, w->cfg.slot, pid);
        if (w->cfg.standby && !logged)
            pgcdc__log(&w->ctx, PGCDC_LOG_WARNING,
                       "replication slot \"%s\" is in use by the server process with PID %d: "
                       "standing by to take over when it is free",
                       w->cfg.slot, pid);
        logged = w->cfg.standby;
        if (pgcdc__stop_sleep(&w->stop, w->cfg.standby ? PGCDC__STANDBY_POLL_MS : 250))
            return pgcdc__interrupted(&w->ctx, PGCDC_ERR_STOPPED, "wait for the replication slot");
        r = pgcdc__describe_slot_holder(w->describer, w->cfg.slot, &pid);
        if (r == PGCDC_ERR_CONNECT && w->cfg.standby) {
            /* Asked again next time; the server may be restarting. */
            pgcdc__log(&w->ctx, PGCDC_LOG_WARNING, "%s", w->ctx.msg);
            continue;
        }
        if (r != PGCDC_OK)
            return r;
    }
    if (logged)
        pgcdc__log(&w->ctx, PGCDC_LOG_WARNING, "replication slot \"%s\" is free: taking over",
                   w->cfg.slot);
    return PGCDC_OK;
}

/* The stream could not start because the slot is held: by whom, and what then. */
static int slot_busy(pgcdc_worker *w, int own)
{
    int pid = 0;
    int r = pgcdc__describe_slot_holder(w->describer, w->cfg.slot, &pid);

    return r != PGCDC_OK ? r : slot_held(w, pid, own);
}

/*
 * Errors no retry mends, told as the start would tell them: the preflight
 * runs again (creating nothing) and its failure stands in for r.  1 when r
 * is such an error (*r and the message replaced when the preflight says it
 * better), 0 when retrying may help.
 */
int pgcdc__permanent(pgcdc_worker *w, int *r)
{
    pgcdc__catalog_opts o;
    pgcdc__catalog cat;
    char msg[PGCDC__MSG_SIZE];
    int again;

    if (*r == PGCDC_ERR_NOMEM || *r == PGCDC_ERR_INVALID || *r == PGCDC_ERR_SLOT_MISSING ||
        *r == PGCDC_ERR_SLOT_INVALID || *r == PGCDC_ERR_SLOT_MISMATCH || *r == PGCDC_ERR_STOPPED)
        return 1;
    if (*r != PGCDC_ERR_AUTH && *r != PGCDC_ERR_PRIVILEGE && *r != PGCDC_ERR_PUBLICATION &&
        *r != PGCDC_ERR_DATABASE)
        return 0;
    snprintf(msg, sizeof(msg), "%s", w->ctx.msg);
    memset(&cat, 0, sizeof(cat));
    catalog_opts(w, &o);
    o.create_slot = 0;
    o.create_publication = 0;
    o.replica_identity_full = 0;
    o.failover = PGCDC_FAILOVER_OFF; /* the start made its slot one already: alter nothing */
    again = pgcdc__catalog_prepare(&w->ctx, &o, &cat);
    pgcdc__catalog_clear(&cat);
    if (again == PGCDC_OK || again == PGCDC_ERR_CONNECT || again == PGCDC_ERR_SQL) {
        /* The preflight passes (or cannot tell): the stream's own error stands. */
        pgcdc__fail(&w->ctx, *r, "%s", msg);
        return again != PGCDC_OK;
    }
    *r = again;
    return 1;
}

/*
 * Opens a stream again with exponential backoff (own: the walsender of the
 * stream that was lost, which may hold the slot a while).  Ends on a
 * permanent error, after reconnect.attempts failures or reconnect.max_elapsed.
 */
static int open_again(pgcdc_worker *w, int own)
{
    int64_t lost_at = pgcdc__now_us();
    int attempts = 0;

    if (w->reconnect_delay_ms == 0 ||
        pgcdc__now_us() - w->stream_opened_us > PGCDC__STABLE_STREAM_US)
        w->reconnect_delay_ms = 100;
    for (;;) {
        int delay = jitter(w, w->reconnect_delay_ms / 2, w->reconnect_delay_ms);
        int r;

        pgcdc__log(&w->ctx, PGCDC_LOG_INFO, "reconnecting in %d ms", delay);
        if (pgcdc__stop_sleep(&w->stop, delay))
            return pgcdc__interrupted(&w->ctx, PGCDC_ERR_STOPPED, "reconnect");
        w->reconnect_delay_ms *= 2;
        if (w->reconnect_delay_ms > w->cfg.reconnect_max_ms)
            w->reconnect_delay_ms = w->cfg.reconnect_max_ms;
        r = open_stream(w);
        if (r == PGCDC_ERR_SLOT_BUSY) {
            int held = slot_busy(w, own);

            if (held != PGCDC_OK && held != PGCDC_ERR_CONNECT)
                return held;
        }
        if (r == PGCDC_OK) {
            w->stream_opened_us = pgcdc__now_us();
            return PGCDC_OK;
        }
        attempts++;
        if (pgcdc__permanent(w, &r))
            return r;
        if (w->cfg.reconnect_attempts > 0 && attempts >= w->cfg.reconnect_attempts)
            return pgcdc__wrap(&w->ctx, r, "gave up after %d reconnect attempts", attempts);
        if (w->cfg.reconnect_max_elapsed_ms > 0 &&
            pgcdc__now_us() - lost_at >= w->cfg.reconnect_max_elapsed_ms * 1000)
            return pgcdc__wrap(&w->ctx, r,
                               "gave up reconnecting after %lld s (reconnect.max_elapsed)",
                               (long long)((pgcdc__now_us() - lost_at) / 1000000));
        pgcdc__log(&w->ctx, PGCDC_LOG_WARNING, "%s", w->ctx.msg);
    }
}

int pgcdc__reconnect(pgcdc_worker *w)
{
    int r;

    pgcdc__log(&w->ctx, PGCDC_LOG_WARNING, "%s", w->ctx.msg);
    atomic_store(&w->state, PGCDC_STATE_RECONNECTING);
    pgcdc__stream_close(w->stream, 0);
    if (pgcdc__assembly_cut(w->ta))
        w->resume_token = w->txn_token;
    r = open_again(w, pgcdc__stream_backend_pid(w->stream));
    if (r != PGCDC_OK)
        return r;
    pgcdc__count(&w->n_reconnects);
    pgcdc__snapshot_reconnected(w);
    atomic_store(&w->state, PGCDC_STATE_STREAMING);
    pgcdc__log(&w->ctx, PGCDC_LOG_INFO, "reconnected to slot \"%s\"", w->cfg.slot);
    return PGCDC_OK;
}

/* "public.a, public.b" for the start line: the first few tables, then how many more. */
static void tables_shown(const pgcdc__tableset *ts, char *buf, size_t size)
{
    size_t n = 0;
    int i;

    buf[0] = '\0';
    if (ts->ntables == 0) {
        snprintf(buf, size, "no table yet");
        return;
    }
    for (i = 0; i < ts->ntables && i < 8; i++) {
        int k = snprintf(buf + n, size - n, "%s%s.%s", i > 0 ? ", " : "", ts->tables[i].schema,
                         ts->tables[i].name);

        if (k < 0 || (size_t)k >= size - n - 24)
            break;
        n += (size_t)k;
    }
    if (i < ts->ntables)
        snprintf(buf + n, size - n, " and %d more", ts->ntables - i);
}

int pgcdc__stream_begin(pgcdc_worker *w)
{
    char tables[600];
    char lsn[32];
    int r = slot_held(w, w->cat.slot_active_pid, 0);

    if (r == PGCDC_OK)
        r = open_stream(w);
    /* Taken since the preflight looked: by whom, and what then. */
    if (r == PGCDC_ERR_SLOT_BUSY) {
        r = slot_busy(w, 0);
        if (r == PGCDC_OK || r == PGCDC_ERR_CONNECT)
            r = open_again(w, 0);
    }
    r = startup_result(w, r);
    if (r == PGCDC_OK)
        r = pgcdc__monitor_start(w);
    if (r != PGCDC_OK)
        return r;
    w->stream_opened_us = pgcdc__now_us();
    tables_shown(&w->cat.ts, tables, sizeof(tables));
    pgcdc__log(&w->ctx, PGCDC_LOG_INFO,
               "streaming from slot \"%s\" at %s (publication \"%s\": %s; %s values%s)",
               w->cfg.slot, pgcdc_lsn_format(w->cat.slot_lsn, lsn, sizeof(lsn)), w->cfg.publication,
               tables, w->binary ? "binary" : "text", w->cfg.two_phase ? "; two-phase" : "");
    return PGCDC_OK;
}

int pgcdc_worker_start(pgcdc_worker *w)
{
    char lsn[32];
    char end[32];
    int defer = 0;
    int timeout;
    int r;

    if (atomic_load(&w->state) != PGCDC_STATE_NEW)
        return pgcdc__fail(&w->ctx, PGCDC_ERR_STATE, "the worker was already started");
    if (pgcdc_config_check(&w->cfg) != PGCDC_OK) {
        r = pgcdc__fail(&w->ctx, PGCDC_ERR_INVALID, "%s", w->cfg.errmsg);
        goto fail;
    }
    /* Sinks first: one that cannot open stops the start before anything is created. */
    r = pgcdc__deliver_open(w);
    if (r == PGCDC_OK)
        r = pgcdc_worker_prepare(w, NULL);
    if (r == PGCDC_OK && pgcdc__formats_set_dbname(&w->formats, w->cat.database) != PGCDC_OK)
        r = pgcdc__fail(&w->ctx, PGCDC_ERR_NOMEM, "out of memory");
    if (r != PGCDC_OK)
        goto fail;
    /*
     * Protocol 2 (streaming of transactions in progress) came with PostgreSQL
     * 14; unless told, pgcdc asks for it there (large transactions reach the
     * spool while they run instead of the server's spill files).  Protocol 4's
     * parallel streaming (16) only adds the abort's position for appliers
     * that apply streamed blocks at once; pgcdc spools them, so 2 serves.
     */
    w->proto = w->cfg.proto_version != 0         ? w->cfg.proto_version
               : w->cat.server_version >= 140000 ? 2
                                                 : 1;
    /* Two-phase decoding is protocol 3's. */
    if (w->cfg.two_phase && w->proto < 3)
        w->proto = 3;
    /* Protocol 2 or 3 on a server without it was refused by the preflight (catalog_opts). */
    if (w->cat.late_prepared > 0)
        pgcdc__log(&w->ctx, PGCDC_LOG_WARNING,
                   "%d transaction(s) prepared before slot \"%s\" had two-phase decoding: each "
                   "comes whole at its COMMIT PREPARED, with a commit_lsn below what came "
                   "before it",
                   w->cat.late_prepared, w->cfg.slot);
    atomic_store(&w->state, PGCDC_STATE_STARTING);
    if (w->cfg.endpos != 0 && w->cat.slot_lsn >= w->cfg.endpos) {
        /* Nothing to do, and nothing confirmed: the run that follows ends at once. */
        pgcdc__log(&w->ctx, PGCDC_LOG_WARNING,
                   "nothing to stream: the end position %s is at or before the slot's "
                   "confirmed position %s",
                   pgcdc_lsn_format(w->cfg.endpos, end, sizeof(end)),
                   pgcdc_lsn_format(w->cat.slot_lsn, lsn, sizeof(lsn)));
        atomic_store(&w->state, PGCDC_STATE_STOPPED);
        return PGCDC_OK;
    }
    /* Report at least twice per wal_sender_timeout, so the server never drops us. */
    timeout = w->cat.wal_sender_timeout_ms;
    if (timeout > 0 && w->cfg.status_interval_ms > timeout / 2)
        w->cfg.status_interval_ms = timeout / 2 < 100 ? 100 : timeout / 2;
    w->binary = w->cfg.binary && pgcdc__tableset_binary_ok(&w->cat.ts);
    if (w->cfg.binary && !w->binary)
        pgcdc__log(&w->ctx, PGCDC_LOG_INFO,
                   "binary values not used: a listed table has a column of "
                   "a type pgcdc reads only as text");
    /* pgoutput's binary option came with PostgreSQL 14: text values before (same output). */
    if (w->binary && w->cat.server_version < 140000) {
        w->binary = 0;
        pgcdc__log(&w->ctx, PGCDC_LOG_INFO,
                   "binary values not used: PostgreSQL %d.%d sends text values only "
                   "(binary needs 14 or later)",
                   w->cat.server_version / 10000, w->cat.server_version % 10000);
    }
    r = pgcdc__snapshot_start(w, &defer);
    if (r != PGCDC_OK && w->cat.slot_created && w->cfg.snapshot_mode != PGCDC_SNAPSHOT_NEVER) {
        /* All or nothing: a slot made for a snapshot that cannot start would skip it next time. */
        char msg[PGCDC__MSG_SIZE];

        snprintf(msg, sizeof(msg), "%s", w->ctx.msg);
        pgcdc__snapshot_free(w);
        pgcdc_worker_drop(w, PGCDC_DROP_SLOT);
        pgcdc__fail(&w->ctx, r, "%s", msg);
    }
    if (r == PGCDC_OK && !defer)
        r = pgcdc__stream_begin(w);
    if (r != PGCDC_OK)
        goto fail;
    atomic_store(&w->state, PGCDC_STATE_STREAMING);
    return PGCDC_OK;
fail:
    pgcdc__stream_close(w->stream, 0);
    atomic_store(&w->state, PGCDC_STATE_FAILED);
    return r;
}
