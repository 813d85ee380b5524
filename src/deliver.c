/*
 * Delivery: each event to the handler and to every sink, a failing call
 * retried with backoff, then the error policy (halt, or the dead-letter
 * file).  An event a handler or sink defers is one more item the ledger
 * waits for, so the confirmed position already means "every sink has it".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "format/json.h"
#include "worker.h"

/* The longest wait between retries. */
#define PGCDC__RETRY_MAX_MS 30000

enum { TO_BEGIN, TO_CHANGE, TO_COMMIT, TO_SINK };

/* One callee: the handler's callback for the event, or a sink. */
typedef struct target {
    int to;                /* TO_* */
    const char *kind;      /* for messages: "begin handler", "commit handler" */
    pgcdc_sink *sink;      /* TO_SINK */
    pgcdc_sink_event *ev;  /* TO_SINK */
    const pgcdc_txn *txn;  /* TO_BEGIN, TO_COMMIT */
    const pgcdc_change *c; /* TO_CHANGE, and a sink's change event */
} target;

static int call(pgcdc_worker *w, const target *t)
{
    switch (t->to) {
    case TO_SINK:
        return pgcdc__sink_write(t->sink, t->ev);
    case TO_CHANGE:
        return w->cfg.change_cb(w, t->c, w->cfg.change_opaque);
    case TO_BEGIN:
        return w->cfg.begin_cb(w, t->txn, w->cfg.begin_opaque);
    default:
        return w->cfg.commit_cb(w, t->txn, w->cfg.commit_opaque);
    }
}

/* "handler for UPDATE on public.orders (seq 3)", "sink \"-\" at commit", ... */
static const char *describe(const target *t, char *buf, size_t size)
{
    const char *who = t->sink != NULL ? "sink" : "handler";
    char sink[96] = "";

    if (t->sink != NULL)
        snprintf(sink, sizeof(sink), " \"%s\"", t->sink->shown);
    if (t->c != NULL)
        snprintf(buf, size, "%s%s for %s on %s.%s (seq %u)", who, sink, pgcdc_op_name(t->c->op),
                 t->c->rel->schema, t->c->rel->name, t->c->seq);
    else if (t->sink != NULL)
        snprintf(buf, size, "sink%s at %s", sink,
                 t->ev->kind == PGCDC_EVENT_BEGIN ? "begin" : "commit");
    else
        snprintf(buf, size, "%s", t->kind);
    return buf;
}

/* The retries of a call that failed with rc: the first success, or the failure. */
__attribute__((noinline, cold)) static int retry(pgcdc_worker *w, const pgcdc_txn *txn,
                                                 const target *t, int rc)
{
    int delay = w->cfg.handler_delay_ms;
    char what[256];
    char lsn[32];

    for (int attempt = 1; attempt <= w->cfg.handler_retries; attempt++) {
        /*
         * A durable write that failed cannot be had by trying again, nor can
         * what a sink gave up on after retries of its own.
         */
        if (t->sink != NULL && (rc == PGCDC_ERR_IO || rc == PGCDC_ERR_SINK))
            return rc;
        describe(t, what, sizeof(what));
        pgcdc__log(&w->ctx, PGCDC_LOG_WARNING,
                   "%s failed with %d (attempt %d of %d), retrying in %d ms%s%s", what, rc, attempt,
                   w->cfg.handler_retries + 1, delay, t->sink != NULL ? ": " : "",
                   t->sink != NULL ? w->ctx.msg : "");
        atomic_fetch_add(&w->n_retries, 1);
        pgcdc__worker_busy(w, 1);
        if (pgcdc__stop_sleep(&w->stop, delay)) {
            pgcdc__worker_busy(w, 0);
            return pgcdc__fail(&w->ctx, PGCDC_ERR_STOPPED, "stopped while retrying");
        }
        rc = call(w, t);
        pgcdc__worker_busy(w, 0);
        if (rc >= 0)
            return rc;
        delay = delay * 2 > PGCDC__RETRY_MAX_MS ? PGCDC__RETRY_MAX_MS : delay * 2;
    }
    if (t->sink != NULL && (rc == PGCDC_ERR_IO || rc == PGCDC_ERR_SINK))
        return rc;
    describe(t, what, sizeof(what));
    pgcdc_lsn_format(txn->commit_lsn, lsn, sizeof(lsn));
    if (t->sink != NULL)
        return pgcdc__wrap(&w->ctx, rc,
                           "%s failed with %d after %d attempts (transaction %u, commit_lsn %s)",
                           what, rc, w->cfg.handler_retries + 1, txn->xid, lsn);
    return pgcdc__fail(&w->ctx, PGCDC_ERR_HANDLER,
                       "%s failed with %d after %d attempts (transaction %u, commit_lsn %s)", what,
                       rc, w->cfg.handler_retries + 1, txn->xid, lsn);
}

/* Calls the target, retrying failures with exponential backoff: its result, or the failure. */
static inline int call_with_retry(pgcdc_worker *w, const pgcdc_txn *txn, const target *t)
{
    int rc;

    pgcdc__worker_busy(w, 1);
    rc = call(w, t);
    pgcdc__worker_busy(w, 0);
    return rc >= 0 ? rc : retry(w, txn, t, rc);
}

/* The dead-letter file, opened on first use; err is the failure being recorded. */
static int dead_file(pgcdc_worker *w, const char *err)
{
    int r;

    if (w->dead_open)
        return PGCDC_OK;
    r = pgcdc__fileout_open(&w->dead, &w->ctx, w->cfg.dead_letter_path);
    if (r != PGCDC_OK) {
        pgcdc__fileout_close(&w->dead);
        return pgcdc__append(&w->ctx, r, " (%s)", err);
    }
    w->dead_open = 1;
    return PGCDC_OK;
}

/*
 * A sink's payload it gave up on (a batch its target refused), as a JSON
 * string with the error and the sink, durably, before the sink acknowledges it.
 */
static int dead_letter_payload(void *arg, const char *uri, const char *data, size_t len,
                               const char *why)
{
    pgcdc_worker *w = arg;
    pgcdc__buf *out;
    char err[PGCDC__MSG_SIZE];
    int r;

    snprintf(err, sizeof(err), "%s", why);
    r = dead_file(w, err);
    if (r != PGCDC_OK)
        return r;
    out = &w->dead.buf;
    pgcdc__buf_lit(out, "{\"dead_letter\":{\"error\":");
    pgcdc__json_cstring(out, err);
    pgcdc__buf_lit(out, ",\"sink\":");
    pgcdc__json_cstring(out, uri);
    pgcdc__buf_lit(out, ",\"at\":");
    pgcdc__json_utc_time(out, pgcdc__wall_us());
    pgcdc__buf_lit(out, "},\"payload\":");
    pgcdc__json_string(out, data, len);
    pgcdc__buf_lit(out, "}\n");
    r = pgcdc__fileout_sync(&w->dead, &w->ctx);
    if (r != PGCDC_OK)
        return pgcdc__append(&w->ctx, r, " (dead-letter file; %s)", err);
    atomic_fetch_add(&w->n_dead, 1);
    pgcdc__log(&w->ctx, PGCDC_LOG_WARNING,
               "dead-lettered %zu bytes sink \"%s\" gave up on to \"%s\": %s", len, uri,
               w->cfg.dead_letter_path, err);
    return PGCDC_OK;
}

/* The dead-letter policy: the event and its error, durably, before going on. */
static int dead_letter(pgcdc_worker *w, const pgcdc_change *c)
{
    char err[PGCDC__MSG_SIZE];
    char lsn[32];
    const char *event;
    size_t len;
    pgcdc__buf *out;
    int r;

    memcpy(err, w->ctx.msg, sizeof(err));
    r = dead_file(w, err);
    if (r != PGCDC_OK)
        return r;
    if (w->dead_fmt == NULL)
        w->dead_fmt = pgcdc_formatter_new(PGCDC_FORMAT_JSON, w->cat.database);
    if (w->dead_fmt == NULL || pgcdc_formatter_change(w->dead_fmt, c, &event, &len) != PGCDC_OK)
        return pgcdc__fail(&w->ctx, PGCDC_ERR_NOMEM, "out of memory (%s)", err);
    out = &w->dead.buf;
    pgcdc__buf_lit(out, "{\"dead_letter\":{\"error\":");
    pgcdc__json_cstring(out, err);
    pgcdc__buf_lit(out, ",\"at\":");
    pgcdc__json_utc_time(out, pgcdc__wall_us());
    pgcdc__buf_lit(out, "},\"event\":");
    pgcdc__buf_put(out, event, len - 1); /* without its newline */
    pgcdc__buf_lit(out, "}\n");
    r = pgcdc__fileout_sync(&w->dead, &w->ctx);
    if (r != PGCDC_OK)
        return pgcdc__append(&w->ctx, r,
                             " (dead-letter file; nothing past the failed change is "
                             "confirmed; %s)",
                             err);
    atomic_fetch_add(&w->n_dead, 1);
    pgcdc__log(&w->ctx, PGCDC_LOG_WARNING,
               "dead-lettered %s on %s.%s (commit_lsn %s, seq %u) to \"%s\": %s",
               pgcdc_op_name(c->op), c->rel->schema, c->rel->name,
               pgcdc_lsn_format(c->txn->commit_lsn, lsn, sizeof(lsn)), c->seq,
               w->cfg.dead_letter_path, err);
    return PGCDC_OK;
}

/*
 * One call with its retries and the policy: a deferred result holds the
 * transaction in the ledger.  The transaction's guard (held from begin to
 * commit) keeps its count above zero, so an acknowledgement that comes from
 * another thread before the call even returns is counted right.
 */
static int deliver_to(pgcdc_worker *w, const pgcdc_txn *txn, const target *t)
{
    int r = call_with_retry(w, txn, t);

    if (r == PGCDC_DEFER)
        pgcdc__ledger_hold(&w->ledger, txn->token);
    if (r >= 0)
        return PGCDC_OK;
    if (t->c != NULL && r != PGCDC_ERR_IO && r != PGCDC_ERR_SINK && r != PGCDC_ERR_STOPPED &&
        w->cfg.error_policy == PGCDC_ON_ERROR_DEAD_LETTER)
        return dead_letter(w, t->c);
    return r;
}

/* The event to every sink (there are some). */
static int to_sinks_slow(pgcdc_worker *w, pgcdc_event_kind kind, const pgcdc_txn *txn,
                         const pgcdc_change *c)
{
    pgcdc_sink_event ev;
    target t = {TO_SINK, "sink", NULL, &ev, txn, c};

    pgcdc__sink_event_init(&ev, kind, txn, c, &w->formats);
    if (c != NULL)
        ev.topic = w->route.topic;
    for (int i = 0; i < w->nsinks; i++) {
        int r;

        /* The script's route, else a routed sink takes its tables' changes only. */
        if (c != NULL && w->route.routed) {
            if (i >= PGCDC__SCRIPT_MAX_SINKS || !(w->route.sinks & ((uint64_t)1 << i)))
                continue;
        } else if (c != NULL && w->cfg.sinks[i].nroutes > 0 &&
                   !pgcdc__route_match(&w->cfg.sinks[i], c->rel->schema, c->rel->name)) {
            continue;
        }
        t.sink = w->sinks[i];
        r = deliver_to(w, txn, &t);
        if (r != PGCDC_OK)
            return r;
    }
    return PGCDC_OK;
}

static inline int to_sinks(pgcdc_worker *w, pgcdc_event_kind kind, const pgcdc_txn *txn,
                           const pgcdc_change *c)
{
    return w->nsinks == 0 ? PGCDC_OK : to_sinks_slow(w, kind, txn, c);
}

int pgcdc__deliver_begin(pgcdc_worker *w, const pgcdc_txn *txn)
{
    if (w->cfg.begin_cb != NULL) {
        target t = {TO_BEGIN, "begin handler", NULL, NULL, txn, NULL};
        int r = call_with_retry(w, txn, &t);

        /* Begin cannot defer: the transaction is not handed out yet. */
        if (r < 0)
            return r;
    }
    return to_sinks(w, PGCDC_EVENT_BEGIN, txn, NULL);
}

int pgcdc__deliver_change(pgcdc_worker *w, const pgcdc_change *c, int to_handler)
{
    if (to_handler && w->cfg.change_cb != NULL) {
        target t = {TO_CHANGE, "change handler", NULL, NULL, c->txn, c};
        int r = deliver_to(w, c->txn, &t);

        if (r != PGCDC_OK)
            return r;
    }
    return to_sinks(w, PGCDC_EVENT_CHANGE, c->txn, c);
}

int pgcdc__deliver_commit(pgcdc_worker *w, const pgcdc_txn *txn)
{
    if (w->cfg.commit_cb != NULL) {
        target t = {TO_COMMIT, "commit handler", NULL, NULL, txn, NULL};
        int r = deliver_to(w, txn, &t);

        if (r != PGCDC_OK)
            return r;
    }
    return to_sinks(w, PGCDC_EVENT_COMMIT, txn, NULL);
}

int pgcdc__deliver_failed(pgcdc_worker *w, const pgcdc_change *c, int r)
{
    /* A script's error comes again on every try: the policy applies at once. */
    if (r != PGCDC_ERR_NOMEM && w->cfg.error_policy == PGCDC_ON_ERROR_DEAD_LETTER)
        return dead_letter(w, c);
    return r;
}

int pgcdc__deliver_idle(pgcdc_worker *w)
{
    if (w->cfg.idle_cb != NULL) {
        pgcdc__worker_busy(w, 1);
        w->cfg.idle_cb(w, w->cfg.idle_opaque);
        pgcdc__worker_busy(w, 0);
    }
    for (int i = 0; i < w->nsinks; i++) {
        int r;

        pgcdc__worker_busy(w, 1);
        r = pgcdc__sink_flush(w->sinks[i]);
        pgcdc__worker_busy(w, 0);
        if (r != PGCDC_OK)
            return r;
    }
    return PGCDC_OK;
}

int pgcdc__deliver_reopen(pgcdc_worker *w)
{
    for (int i = 0; i < w->nsinks; i++) {
        int r;

        pgcdc__worker_busy(w, 1);
        r = pgcdc__sink_reopen(w->sinks[i]);
        pgcdc__worker_busy(w, 0);
        if (r != PGCDC_OK)
            return r;
    }
    return PGCDC_OK;
}

/* The script of --lua, loaded and run once; route names the sinks by their URIs. */
static int open_script(pgcdc_worker *w)
{
    const char **uris;
    int r;

    if (w->cfg.lua_path == NULL)
        return PGCDC_OK;
    uris = calloc((size_t)w->cfg.nsinks + 1, sizeof(*uris));
    if (uris == NULL)
        return pgcdc__fail(&w->ctx, PGCDC_ERR_NOMEM, "out of memory");
    for (int i = 0; i < w->cfg.nsinks; i++)
        uris[i] = w->cfg.sinks[i].uri;
    r = pgcdc__script_open(&w->script, &w->ctx, w->cfg.lua_path, uris, w->cfg.nsinks);
    free(uris);
    return r;
}

int pgcdc__deliver_open(pgcdc_worker *w)
{
    int r = open_script(w);

    if (r != PGCDC_OK || w->cfg.nsinks == 0)
        return r;
    w->sinks = calloc((size_t)w->cfg.nsinks, sizeof(*w->sinks));
    if (w->sinks == NULL)
        return pgcdc__fail(&w->ctx, PGCDC_ERR_NOMEM, "out of memory");
    for (int i = 0; i < w->cfg.nsinks; i++) {
        const pgcdc__sink_spec *spec = &w->cfg.sinks[i];
        pgcdc__sink_env env = {
            .ctx = &w->ctx,
            .ledger = &w->ledger,
            .stop = &w->stop,
            .poke = &w->sink_poke,
            .props = w->cfg.props,
            .nprops = w->cfg.nprops,
            .dead_letter_arg = w,
            .slot = w->cfg.slot,
            .database = &w->cat.database,
        };

        if (w->cfg.error_policy == PGCDC_ON_ERROR_DEAD_LETTER)
            env.dead_letter = dead_letter_payload;
        w->sinks[i] = pgcdc__sink_new(spec->ops, spec->uri, spec->opaque, w->cfg.format, &env);
        if (w->sinks[i] == NULL)
            return pgcdc__fail(&w->ctx, PGCDC_ERR_NOMEM, "out of memory");
        w->nsinks++;
        r = pgcdc__sink_open(w->sinks[i]);
        if (r != PGCDC_OK)
            return r;
    }
    return PGCDC_OK;
}

void pgcdc__deliver_close(pgcdc_worker *w)
{
    for (int i = 0; i < w->nsinks; i++)
        pgcdc__sink_free(w->sinks[i]);
    free(w->sinks);
    w->sinks = NULL;
    w->nsinks = 0;
    pgcdc__formats_clear(&w->formats);
    pgcdc_formatter_free(w->dead_fmt);
    w->dead_fmt = NULL;
    if (w->dead_open)
        pgcdc__fileout_close(&w->dead);
    w->dead_open = 0;
    pgcdc__script_free(w->script);
    w->script = NULL;
}
