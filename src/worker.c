/*
 * The worker: start (preflight, sinks, stream), the loop that feeds
 * received messages to transaction assembly and its events to delivery,
 * the ledger's tokens, reconnects with backoff, stop and shutdown.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/clock.h"
#include "monitor.h"
#include "pg/monitor.h"
#include "snapshot.h"
#include "worker.h"

/* Consecutive protocol errors after which reconnecting is pointless. */
#define PGCDC__MAX_PROTOCOL_ERRORS 3
/* How long a stop waits for outstanding acknowledgements, and for the transaction in flight. */
#define PGCDC__STOP_GRACE_MS 5000

/* The context's log lines go to the user's hook, on the worker's thread. */
static void log_to_hook(void *opaque, int level, const char *msg)
{
    pgcdc_worker *w = opaque;

    w->cfg.log_cb(w, (pgcdc_log_level)level, msg, w->cfg.log_opaque);
}

void pgcdc_worker_log(pgcdc_worker *w, pgcdc_log_level level, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    pgcdc__vlog(&w->ctx, (int)level, fmt, ap);
    va_end(ap);
}

const char *pgcdc_worker_errmsg(const pgcdc_worker *w)
{
    if (w == NULL)
        return "no worker";
    return w->ctx.msg[0] != '\0' ? w->ctx.msg : "no error";
}

const char *pgcdc_worker_database(const pgcdc_worker *w)
{
    return w->cat.database;
}

uint64_t pgcdc_worker_confirmed_lsn(const pgcdc_worker *w)
{
    return pgcdc__ledger_confirmed((pgcdc__ledger *)&w->ledger);
}

int pgcdc_worker_stats(const pgcdc_worker *w, pgcdc_stats *st)
{
    pgcdc_worker *mut = (pgcdc_worker *)w;
    pgcdc__hist lat;

    memset(st, 0, sizeof(*st));
    st->state = (pgcdc_state)atomic_load(&mut->state);
    st->received_lsn = mut->stream != NULL ? pgcdc__stream_received_lsn(mut->stream) : 0;
    st->confirmed_lsn = pgcdc__ledger_confirmed(&mut->ledger);
    st->last_commit_time = atomic_load(&mut->last_commit_time);
    st->transactions = atomic_load(&mut->n_txns);
    st->changes = atomic_load(&mut->n_changes);
    st->bytes = mut->stream != NULL ? pgcdc__stream_bytes(mut->stream) : 0;
    st->reconnects = atomic_load(&mut->n_reconnects);
    st->retries = atomic_load(&mut->n_retries);
    st->dead_letters = atomic_load(&mut->n_dead);
    pgcdc__ledger_latency(&mut->ledger, &lat);
    st->confirm_latency_p50_us = pgcdc__hist_quantile(&lat, 0.5);
    st->confirm_latency_p99_us = pgcdc__hist_quantile(&lat, 0.99);
    st->confirm_latency_max_us = lat.max;
    st->confirmed_transactions = lat.count;
    st->confirm_latency_sum_us = lat.sum;
    pgcdc__snapshot_stats(w, st);
    pgcdc__monitor_stats(w, st);
    return PGCDC_OK;
}

int pgcdc_worker_table_stats(const pgcdc_worker *w, int i, pgcdc_table_stats *out)
{
    return pgcdc__tabstats_read(&((pgcdc_worker *)w)->tabstats, i, out);
}

pgcdc_worker *pgcdc_worker_new(const pgcdc_config *cfg)
{
    pgcdc__assembly_opts opts;
    pgcdc_worker *w;

    if (cfg == NULL)
        return NULL;
    w = calloc(1, sizeof(*w));
    if (w == NULL)
        return NULL;
    pgcdc__tabstats_init(&w->tabstats);
    if (pgcdc__stop_init(&w->stop) != 0 || pgcdc__ledger_init(&w->ledger) != PGCDC_OK ||
        pgcdc__config_copy(&w->cfg, cfg) != PGCDC_OK) {
        pgcdc__stop_destroy(&w->stop);
        pgcdc__ledger_destroy(&w->ledger);
        pgcdc__tabstats_destroy(&w->tabstats);
        free(w);
        return NULL;
    }
    pgcdc__ctx_init(&w->ctx, w->cfg.log_cb != NULL ? log_to_hook : NULL, w, (int)w->cfg.log_level);
    pgcdc__formats_init(&w->formats);
    pgcdc__formats_set_options(&w->formats, w->cfg.props, w->cfg.nprops);
    opts.tables = &w->cat.ts;
    opts.spool_dir = w->cfg.spool_dir;
    opts.endpos = w->cfg.endpos;
    opts.binary = 0;
    opts.schema_changes = w->cfg.schema_changes;
    w->ta = pgcdc__assembly_new(&w->ctx, &opts);
    w->stream = pgcdc__stream_new(&w->ctx, &w->ledger, &w->stop, &w->busy);
    w->describer = pgcdc__describer_new(&w->ctx, w->cfg.conninfo);
    pgcdc__ctx_set_stop(&w->ctx, &w->stop);
    if (w->ta == NULL || w->stream == NULL || w->describer == NULL ||
        pgcdc__filters_build(&w->cfg, &w->filters) != PGCDC_OK) {
        /* No worker was made: its handler's close is not called. */
        w->cfg.close_cb = NULL;
        pgcdc_worker_free(w);
        return NULL;
    }
    w->rng = (uint64_t)pgcdc__now_us() ^ ((uint64_t)getpid() << 32) ^ (uint64_t)(uintptr_t)w;
    w->rng |= 1;
    w->filtering = pgcdc__filterset_active(&w->filters);
    return w;
}

void pgcdc_worker_free(pgcdc_worker *w)
{
    if (w == NULL)
        return;
    pgcdc__monitor_free(w);
    pgcdc__snapshot_free(w);
    pgcdc__stream_free(w->stream);
    pgcdc__assembly_free(w->ta);
    pgcdc__describer_free(w->describer);
    pgcdc__deliver_close(w);
    if (w->cfg.close_cb != NULL)
        w->cfg.close_cb(w, w->cfg.close_opaque);
    pgcdc__ledger_destroy(&w->ledger);
    pgcdc__stop_destroy(&w->stop);
    pgcdc__catalog_clear(&w->cat);
    pgcdc__config_clear(&w->cfg);
    pgcdc__tabstats_destroy(&w->tabstats);
    pgcdc__filterset_clear(&w->filters);
    free(w);
}

void pgcdc_worker_stop(pgcdc_worker *w)
{
    pgcdc__stop_request(&w->stop);
}

void pgcdc_worker_reopen(pgcdc_worker *w)
{
    atomic_store(&w->reopen, 1);
    pgcdc__stop_wake(&w->stop);
}

/* A stop was requested, and the transaction in flight (if any) had its grace. */
static int stopping(pgcdc_worker *w)
{
    int64_t now;

    if (!pgcdc__stop_requested(&w->stop))
        return 0;
    if (!pgcdc__assembly_in_txn(w->ta) && !pgcdc__snapshot_in_chunk(w))
        return 1;
    /* A graceful stop lets the transaction in flight finish, so a restart repeats none of it. */
    now = pgcdc__now_us();
    if (w->stop_deadline_us == 0)
        w->stop_deadline_us = now + (int64_t)PGCDC__STOP_GRACE_MS * 1000;
    return now >= w->stop_deadline_us;
}

int pgcdc_worker_ack(pgcdc_worker *w, uint64_t token)
{
    return pgcdc__ledger_ack(&w->ledger, token);
}

/* A begin event: the transaction's ledger token, then delivery. */
static int begin_txn(pgcdc_worker *w, const pgcdc__event *ev)
{
    if (ev->resumed) {
        /* Sent again after a reconnect: handlers already have its beginning. */
        ev->txn->token = w->resume_token;
        w->resume_token = 0;
        w->txn_token = ev->txn->token;
        return PGCDC_OK;
    }
    if (ev->cut_lost) {
        pgcdc__ledger_abort_open(&w->ledger);
        w->resume_token = 0;
    }
    ev->txn->token = pgcdc__ledger_begin(&w->ledger);
    if (ev->txn->token == 0)
        return pgcdc__fail(&w->ctx, PGCDC_ERR_NOMEM, "out of memory");
    w->txn_token = ev->txn->token;
    /* The guard: released at commit, so nothing of an open transaction is confirmed. */
    pgcdc__ledger_hold(&w->ledger, ev->txn->token);
    return pgcdc__deliver_begin(w, ev->txn);
}

static int commit_txn(pgcdc_worker *w, const pgcdc_txn *txn)
{
    int r = pgcdc__deliver_commit(w, txn);

    if (r != PGCDC_OK)
        return r;
    pgcdc__ledger_commit(&w->ledger, txn->token, txn->end_lsn, txn->commit_time);
    pgcdc__ledger_ack(&w->ledger, txn->token); /* the guard */
    w->protocol_errors = 0;
    pgcdc__count(&w->n_txns);
    atomic_store_explicit(&w->last_commit_time, txn->commit_time, memory_order_relaxed);
    return PGCDC_OK;
}

/*
 * A relation the stream is about to use: its type names and what the sinks'
 * formats need of the catalog.  A connection lost on the way is mended like
 * the stream's (nothing of the relation's changes was handed out); a query
 * that fails leaves the names unknown, with a warning.
 */
int pgcdc__describe_relation(pgcdc_worker *w, pgcdc__relation *rel)
{
    int flags = 0;
    int r;

    /* A partition of a listed table, perhaps attached after the start, counts as listed. */
    r = pgcdc__describe_ancestors(w->describer, rel, &w->cat.ts);
    if (r != PGCDC_OK)
        return r == PGCDC_ERR_CONNECT ? pgcdc__reconnect(w) : r;
    if (!rel->wanted)
        return PGCDC_OK;
    for (int i = 0; i < w->nsinks; i++)
        flags |= pgcdc__formats_needs(&w->formats, w->sinks[i]->format);
    r = pgcdc__describe(w->describer, rel, flags);
    if (r == PGCDC_ERR_CONNECT)
        return pgcdc__reconnect(w);
    if (r == PGCDC_ERR_NOMEM || r == PGCDC_ERR_STOPPED || pgcdc__permanent(w, &r))
        return r;
    if (r != PGCDC_OK)
        pgcdc__log(&w->ctx, PGCDC_LOG_WARNING, "%s", w->ctx.msg);
    return PGCDC_OK;
}

/*
 * Counts a change for its table.  The relation's link to its counters is a
 * cache the worker owns (the change only lends the relation as const); it is
 * set once per relation and connection, under the list's mutex.
 */
static void count_table(pgcdc_worker *w, const pgcdc_change *c)
{
    pgcdc__relation *rel = (pgcdc__relation *)c->rel;

    if (rel == NULL)
        return;
    if (rel->stats == NULL)
        rel->stats = pgcdc__tabstats_get(&w->tabstats, rel->schema, rel->name);
    if (rel->stats != NULL)
        pgcdc__tabstat_count(rel->stats, c->op);
}

/*
 * A table's new shape, of a listed table: the filters and the script's
 * functions, which read values, do not apply (its column lists are the
 * table's).  Not counted as a change.
 */
static int schema_change(pgcdc_worker *w, const pgcdc_change *c, const pgcdc_change **out, int pull)
{
    memset(&w->route, 0, sizeof(w->route));
    if (pull)
        *out = c;
    return pgcdc__deliver_change(w, c, !pull);
}

/*
 * A change: the snapshot's watermarks see it as it came, then the filters,
 * then the script's functions; one filtered out is handled (its transaction
 * still confirms).
 */
static int change(pgcdc_worker *w, const pgcdc_change *c, const pgcdc_change **out, int pull)
{
    if (c->op == PGCDC_OP_SCHEMA)
        return schema_change(w, c, out, pull);
    pgcdc__snapshot_change(w, c);
    if (w->filtering) {
        int r = pgcdc__filter_change(&w->filters, &w->cat.ts, c, &c);

        if (r <= 0)
            return r == 0 ? PGCDC_OK : pgcdc__fail(&w->ctx, r, "out of memory");
    }
    if (w->script != NULL) {
        const pgcdc_change *src = c;
        int r = pgcdc__script_change(w->script, src, &c, &w->route);

        if (r <= 0)
            return r == 0 ? PGCDC_OK : pgcdc__deliver_failed(w, src, r);
    }
    pgcdc__count(&w->n_changes);
    count_table(w, c);
    if (pull)
        *out = c;
    return pgcdc__deliver_change(w, c, !pull);
}

int pgcdc__handle(pgcdc_worker *w, const pgcdc__event *ev, const pgcdc_change **out, int pull)
{
    switch (ev->type) {
    case PGCDC__EV_BEGIN:
        return begin_txn(w, ev);
    case PGCDC__EV_CHANGE:
        return change(w, ev->change, out, pull);
    case PGCDC__EV_COMMIT:
        return commit_txn(w, ev->txn);
    case PGCDC__EV_KEEPALIVE:
        if (ev->idle_lsn != 0)
            pgcdc__ledger_idle_advance(&w->ledger, ev->idle_lsn);
        if (ev->reply)
            pgcdc__stream_send_status(w->stream, 0);
        return PGCDC_OK;
    case PGCDC__EV_TEXT_MODE:
        w->binary = 0;
        return pgcdc__reconnect(w);
    case PGCDC__EV_RELATION:
        return pgcdc__describe_relation(w, ev->relation);
    case PGCDC__EV_MESSAGE:
        /* A heartbeat with everything before it handled: the slot may move past it. */
        if (ev->idle_lsn != 0 &&
            strcmp(ev->message->u.message.prefix, PGCDC__HEARTBEAT_PREFIX) == 0)
            pgcdc__ledger_idle_advance(&w->ledger, ev->idle_lsn);
        return pgcdc__snapshot_message(w, ev->message);
    }
    return PGCDC_OK;
}

/* Logs the confirmed position when it moved (the keeper, which may send it, never logs). */
static void log_confirmed(pgcdc_worker *w)
{
    uint64_t flush = pgcdc__stream_sent_flush(w->stream);
    char lsn[32];

    if (flush == w->logged_flush)
        return;
    w->logged_flush = flush;
    pgcdc__log(&w->ctx, PGCDC_LOG_DEBUG, "confirmed %s", pgcdc_lsn_format(flush, lsn, sizeof(lsn)));
}

/* Malformed input confirms nothing more: reconnect, the server sends it again. */
static int input_failed(pgcdc_worker *w, int r)
{
    if (r != PGCDC_ERR_PROTOCOL || ++w->protocol_errors >= PGCDC__MAX_PROTOCOL_ERRORS)
        return r;
    return pgcdc__reconnect(w);
}

/*
 * One step of a snapshot that goes before the stream: 1 to go on, or what
 * step() returns (PGCDC_OK with *out set, or at the timeout; an error).
 */
static int snapshot_step(pgcdc_worker *w, const pgcdc_change **out, int pull, int64_t deadline,
                         int *idle_done)
{
    int r = pgcdc__snapshot_next(w, out, pull);

    if (r < 0)
        return r;
    if (r == PGCDC_OK) {
        *idle_done = 0;
        return *out != NULL ? PGCDC_OK : 1;
    }
    if (r == 2) {
        /* The initial snapshot is over: initial_only ends here, else the stream begins. */
        if (w->cfg.snapshot_mode == PGCDC_SNAPSHOT_MODE_INITIAL_ONLY)
            return PGCDC_ERR_STOPPED;
        r = pgcdc__stream_begin(w);
        return r == PGCDC_OK ? 1 : r;
    }
    /* Nothing ready: the idle work first, then a wait. */
    if (!*idle_done) {
        *idle_done = 1;
        r = pgcdc__deliver_idle(w);
        if (r == PGCDC_OK)
            r = pgcdc__snapshot_poll(w, 1);
        return r == PGCDC_OK ? 1 : r;
    }
    if (deadline >= 0 && pgcdc__now_us() >= deadline)
        return PGCDC_OK;
    pgcdc__snapshot_wait(w, 100);
    *idle_done = 0;
    return 1;
}

/*
 * Receives and hands out until a change is ready for a pull-mode caller
 * (*out set), the timeout passes (*out NULL), or the worker must stop
 * (PGCDC_ERR_STOPPED or an error).
 */
static int step(pgcdc_worker *w, const pgcdc_change **out, int timeout_ms, int pull)
{
    int64_t deadline = timeout_ms < 0 ? -1 : pgcdc__now_us() + (int64_t)timeout_ms * 1000;
    int idle_done = 0;

    *out = NULL;
    for (;;) {
        pgcdc__event ev;
        uint8_t *buf;
        size_t len;
        int left_ms = -1;
        int at_end;
        int r;

        if (stopping(w))
            return PGCDC_ERR_STOPPED;
        if (atomic_load_explicit(&w->reopen, memory_order_relaxed) &&
            atomic_exchange(&w->reopen, 0)) {
            r = pgcdc__deliver_reopen(w);
            if (r != PGCDC_OK)
                return r;
        }
        r = pgcdc__snapshot_poll(w, 0);
        if (r == PGCDC_OK && atomic_load_explicit(&w->monitor_news, memory_order_relaxed))
            r = pgcdc__monitor_poll(w);
        if (r != PGCDC_OK)
            return r;
        if (pgcdc__snapshot_pending(w)) {
            r = snapshot_step(w, out, pull, deadline, &idle_done);
            if (r != 1)
                return r;
            continue;
        }
        r = pgcdc__assembly_next(w->ta, &ev);
        if (r == 1) {
            r = pgcdc__handle(w, &ev, out, pull);
            if (r != PGCDC_OK)
                *out = NULL;
            if (r != PGCDC_OK || *out != NULL)
                return r;
            idle_done = 0;
            continue;
        }
        if (r < 0) {
            r = input_failed(w, r);
            if (r != PGCDC_OK)
                return r;
            continue;
        }
        /* At the end position: done once everything before it is acknowledged. */
        at_end = pgcdc__assembly_at_endpos(w->ta);
        if (at_end && pgcdc__ledger_count(&w->ledger) == 0)
            return PGCDC_ERR_STOPPED;
        if (deadline >= 0) {
            left_ms = (int)((deadline - pgcdc__now_us()) / 1000);
            if (left_ms <= 0)
                return PGCDC_OK;
        }
        if (at_end)
            left_ms = 10;
        /* A sink's thread has news (a failure, say): its flush tells. */
        if (atomic_load_explicit(&w->sink_poke, memory_order_relaxed) &&
            atomic_exchange(&w->sink_poke, 0))
            idle_done = 0;
        /* Caught up: the idle work first, then a wait. */
        r = pgcdc__stream_receive(w->stream, idle_done ? left_ms : 0, &buf, &len);
        if (r == 1) {
            pgcdc__assembly_feed(w->ta, buf, len, 0);
            idle_done = 0;
            continue;
        }
        if (r == 0 && !idle_done) {
            idle_done = 1;
            log_confirmed(w);
            r = pgcdc__deliver_idle(w);
            if (r == PGCDC_OK)
                r = pgcdc__snapshot_poll(w, 1);
            if (r != PGCDC_OK)
                return r;
            continue;
        }
        /*
         * A lost connection is mended by reconnecting; a missing publication
         * is not, and is told as the start would tell it.
         */
        if (r == PGCDC_ERR_PUBLICATION)
            pgcdc__permanent(w, &r);
        else if (r < 0)
            r = pgcdc__reconnect(w);
        if (r != PGCDC_OK)
            return r;
    }
}

/*
 * Flushes the handler and sinks (a graceful stop), waits for outstanding
 * acknowledgements, confirms, closes the stream.
 */
static void finish(pgcdc_worker *w, int graceful)
{
    int64_t until = pgcdc__now_us() + (int64_t)PGCDC__STOP_GRACE_MS * 1000;
    pgcdc__hist lat;
    char lsn[32];

    while (graceful && pgcdc__deliver_idle(w) == PGCDC_OK &&
           pgcdc__snapshot_poll(w, 1) == PGCDC_OK && pgcdc__now_us() < until &&
           pgcdc__ledger_count(&w->ledger) >
               (size_t)(pgcdc__assembly_in_txn(w->ta) || pgcdc__snapshot_in_chunk(w) ? 1 : 0))
        pgcdc__sleep_us(10000);
    pgcdc__monitor_stop(w);
    pgcdc__stream_close(w->stream, 1);
    pgcdc__log(&w->ctx, PGCDC_LOG_INFO, "stopped; confirmed up to %s",
               pgcdc_lsn_format(pgcdc__ledger_confirmed(&w->ledger), lsn, sizeof(lsn)));
    pgcdc__ledger_latency(&w->ledger, &lat);
    if (lat.count > 0)
        pgcdc__log(&w->ctx, PGCDC_LOG_DEBUG,
                   "commit to confirmation: p50 %.3f ms, p99 %.3f ms, max %.3f ms over %llu "
                   "transactions",
                   (double)pgcdc__hist_quantile(&lat, 0.5) / 1000.0,
                   (double)pgcdc__hist_quantile(&lat, 0.99) / 1000.0, (double)lat.max / 1000.0,
                   (unsigned long long)lat.count);
}

static int end_run(pgcdc_worker *w, int r)
{
    if (r == PGCDC_ERR_HANDLER)
        pgcdc__append(&w->ctx, r,
                      "; nothing past the previous transaction is confirmed (fix the handler or "
                      "the data and start again, or use the dead-letter policy)");
    if (r == PGCDC_ERR_STOPPED)
        r = PGCDC_OK;
    finish(w, r == PGCDC_OK);
    atomic_store(&w->state, r == PGCDC_OK ? PGCDC_STATE_STOPPED : PGCDC_STATE_FAILED);
    return r;
}

int pgcdc_worker_run(pgcdc_worker *w)
{
    const pgcdc_change *c;

    /* Started with nothing to stream (the end position was behind the slot). */
    if (atomic_load(&w->state) == PGCDC_STATE_STOPPED)
        return PGCDC_OK;
    if (atomic_load(&w->state) != PGCDC_STATE_STREAMING)
        return pgcdc__fail(&w->ctx, PGCDC_ERR_STATE,
                           "the worker is not streaming (start it first)");
    if (w->cfg.change_cb == NULL && w->nsinks == 0)
        return pgcdc__fail(&w->ctx, PGCDC_ERR_INVALID,
                           "no change handler and no sink (set one, or use pgcdc_worker_next)");
    return end_run(w, step(w, &c, -1, 0));
}

int pgcdc_worker_next(pgcdc_worker *w, const pgcdc_change **change, int timeout_ms)
{
    int r;

    *change = NULL;
    if (atomic_load(&w->state) == PGCDC_STATE_STOPPED)
        return PGCDC_ERR_STOPPED;
    if (atomic_load(&w->state) != PGCDC_STATE_STREAMING)
        return pgcdc__fail(&w->ctx, PGCDC_ERR_STATE,
                           "the worker is not streaming (start it first)");
    pgcdc__worker_busy(w, 0);
    r = step(w, change, timeout_ms, 1);
    if (r == PGCDC_OK) {
        /* The caller holds the change (or goes about its business): keep the status flowing. */
        pgcdc__worker_busy(w, 1);
        return PGCDC_OK;
    }
    r = end_run(w, r);
    return r == PGCDC_OK ? PGCDC_ERR_STOPPED : r;
}
