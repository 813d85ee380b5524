/*
 * The worker: start (preflight, stream), the receive-dispatch loop that
 * assembles transactions from pgoutput messages, delivery to handlers with
 * retries, asynchronous acknowledgement, reconnects and shutdown.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "value.h"
#include "worker.h"

/* Consecutive protocol errors after which reconnecting is pointless. */
#define PGCDC__MAX_PROTOCOL_ERRORS 3
/* How long a stop waits for outstanding asynchronous acknowledgements. */
#define PGCDC__STOP_GRACE_MS 5000

/* Offset of the pgoutput message in an XLogData ('w') CopyData message. */
#define PGCDC__XLOGDATA_HDR 25

static const char *const level_names[] = {"error", "warning", "info", "debug"};

__attribute__((format(printf, 3, 0))) static void vlog(pgcdc_worker *w, pgcdc_log_level level,
                                                       const char *fmt, va_list ap)
{
    char line[PGCDC__ERRMSG_SIZE + 64];

    if (level > w->cfg.log_level)
        return;
    vsnprintf(line, sizeof(line), fmt, ap);
    if (w->cfg.log_cb != NULL)
        w->cfg.log_cb(w, level, line, w->cfg.log_opaque);
    else
        fprintf(stderr, "pgcdc: %s: %s\n", level_names[level], line);
}

void pgcdc__log(pgcdc_worker *w, pgcdc_log_level level, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vlog(w, level, fmt, ap);
    va_end(ap);
}

void pgcdc_worker_log(pgcdc_worker *w, pgcdc_log_level level, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vlog(w, level, fmt, ap);
    va_end(ap);
}

int pgcdc__fail(pgcdc_worker *w, int err, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(w->errmsg, sizeof(w->errmsg), fmt, ap);
    va_end(ap);
    return err;
}

const char *pgcdc_worker_errmsg(const pgcdc_worker *w)
{
    if (w == NULL)
        return "no worker";
    return w->errmsg[0] != '\0' ? w->errmsg : "no error";
}

const char *pgcdc_worker_database(const pgcdc_worker *w)
{
    return w->cat.database;
}

uint64_t pgcdc_worker_confirmed_lsn(const pgcdc_worker *w)
{
    return pgcdc__ledger_confirmed((pgcdc__ledger *)&w->ledger);
}

pgcdc_worker *pgcdc_worker_new(const pgcdc_config *cfg)
{
    pgcdc_worker *w;

    if (cfg == NULL)
        return NULL;
    w = calloc(1, sizeof(*w));
    if (w == NULL)
        return NULL;
    if (pgcdc__keeper_init(w) != 0) {
        free(w);
        return NULL;
    }
    w->wake[0] = -1;
    w->wake[1] = -1;
    w->dead_fd = -1;
    if (pgcdc__config_copy(&w->cfg, cfg) != PGCDC_OK)
        goto fail;
    if (pgcdc__ledger_init(&w->ledger) != PGCDC_OK)
        goto fail;
    pthread_mutex_init(&w->io_mu, NULL);
    pgcdc__buf_init(&w->out);
    pgcdc__buf_init(&w->scratch);
    w->dec = pgcdc__decoder_new();
    w->rc = pgcdc__relcache_new();
    w->spool = pgcdc__spool_new(w->cfg.spool_dir);
    if (w->dec == NULL || w->rc == NULL || w->spool == NULL)
        goto fail;
    if (pipe2(w->wake, O_CLOEXEC | O_NONBLOCK) != 0)
        goto fail;
    w->rng = (uint64_t)pgcdc__now_us() ^ ((uint64_t)getpid() << 32) ^ (uint64_t)(uintptr_t)w;
    w->rng |= 1;
    return w;
fail:
    pgcdc_worker_free(w);
    return NULL;
}

void pgcdc_worker_free(pgcdc_worker *w)
{
    if (w == NULL)
        return;
    pgcdc__keeper_stop(w);
    pgcdc__stream_close(w, w->state == PGCDC__W_STREAMING);
    if (w->rbuf != NULL)
        PQfreemem(w->rbuf);
    pgcdc__spool_free(w->spool);
    pgcdc__relcache_free(w->rc);
    pgcdc__decoder_free(w->dec);
    pgcdc__buf_free(&w->out);
    pgcdc__buf_free(&w->scratch);
    free(w->offsets);
    pgcdc_formatter_free(w->dead_fmt);
    if (w->dead_fd >= 0)
        close(w->dead_fd);
    if (w->ledger.ring != NULL) {
        pgcdc__ledger_destroy(&w->ledger);
        pthread_mutex_destroy(&w->io_mu);
    }
    if (w->wake[0] >= 0)
        close(w->wake[0]);
    if (w->wake[1] >= 0)
        close(w->wake[1]);
    pgcdc__catalog_clear(&w->cat);
    pgcdc__config_clear(&w->cfg);
    pgcdc__keeper_destroy(w);
    free(w);
}

void pgcdc_worker_stop(pgcdc_worker *w)
{
    ssize_t ignored;

    atomic_store(&w->stop_requested, 1);
    ignored = write(w->wake[1], "x", 1);
    (void)ignored;
}

int pgcdc__stopping(pgcdc_worker *w)
{
    int64_t now;

    if (!atomic_load(&w->stop_requested))
        return 0;
    if (!w->in_txn)
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

int pgcdc_worker_prepare(pgcdc_worker *w, int *slot_created)
{
    int r;

    if (slot_created != NULL)
        *slot_created = 0;
    if (w->state != PGCDC__W_NEW)
        return pgcdc__fail(w, PGCDC_ERR_STATE, "the worker was already started");
    if (w->cfg.conninfo == NULL)
        return pgcdc__fail(w, PGCDC_ERR_INVALID,
                           "no connection string (set one, e.g. \"host=... dbname=...\")");
    pgcdc__catalog_clear(&w->cat);
    r = pgcdc__catalog_prepare(w, &w->cfg, &w->cat);
    if (slot_created != NULL)
        *slot_created = r == PGCDC_OK && w->cat.slot_created;
    return r;
}

static int reconnect(pgcdc_worker *w);

int pgcdc_worker_start(pgcdc_worker *w)
{
    int r;
    char lsn[32];

    if (w->state != PGCDC__W_NEW)
        return pgcdc__fail(w, PGCDC_ERR_STATE, "the worker was already started");
    r = pgcdc_worker_prepare(w, NULL);
    if (r != PGCDC_OK)
        goto fail;
    /* Report at least twice per wal_sender_timeout, so the server never drops us. */
    if (w->cat.wal_sender_timeout_ms > 0 &&
        w->cfg.status_interval_ms > w->cat.wal_sender_timeout_ms / 2)
        w->cfg.status_interval_ms =
            w->cat.wal_sender_timeout_ms / 2 < 100 ? 100 : w->cat.wal_sender_timeout_ms / 2;
    w->binary = w->cfg.binary && pgcdc__catalog_binary_ok(&w->cat);
    if (w->cfg.binary && !w->binary)
        pgcdc__log(w, PGCDC_LOG_INFO,
                   "binary values not used: a listed table has a column of "
                   "a type pgcdc reads only as text");
    r = pgcdc__stream_open(w);
    /* The previous consumer's walsender can hold the slot a while: wait for it. */
    if (r == PGCDC_ERR_CONNECT && w->slot_busy)
        r = reconnect(w);
    if (r != PGCDC_OK)
        goto fail;
    r = pgcdc__keeper_start(w);
    if (r != PGCDC_OK)
        goto fail;
    w->stream_opened_us = pgcdc__now_us();
    w->state = PGCDC__W_STREAMING;
    pgcdc__log(w, PGCDC_LOG_INFO,
               "streaming from slot \"%s\" at %s (publication \"%s\", %s values)", w->cfg.slot,
               pgcdc_lsn_format(w->cat.slot_lsn, lsn, sizeof(lsn)), w->cfg.publication,
               w->binary ? "binary" : "text");
    return PGCDC_OK;
fail:
    pgcdc__stream_close(w, 0);
    w->state = PGCDC__W_FAILED;
    return r;
}

int pgcdc_worker_drop_slot(pgcdc_worker *w)
{
    return pgcdc__catalog_drop_slot(w, &w->cfg);
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

/* Forgets everything tied to the lost connection; the server sends it again. */
static void reset_stream_state(pgcdc_worker *w)
{
    if (w->rbuf != NULL) {
        PQfreemem(w->rbuf);
        w->rbuf = NULL;
    }
    /*
     * The cut transaction keeps its ledger entry: the server sends it again
     * from its first change, and delivery resumes after what handlers have.
     */
    if (w->in_txn && !w->skip_txn) {
        w->resume_commit_lsn = w->txn.commit_lsn;
        w->resume_token = w->txn.token;
        w->resume_count = w->txn.nchanges > w->skip_below_seq ? w->txn.nchanges : w->skip_below_seq;
    }
    w->in_txn = 0;
    w->skip_txn = 0;
    w->truncate_active = 0;
    /* The new stream starts outside any streamed block and any replay. */
    w->txn_streaming = 0;
    w->replaying = 0;
    pgcdc__relcache_clear(w->rc);
    pgcdc__decoder_reset(w->dec);
    pgcdc__spool_replay_end(w->spool);
    pgcdc__spool_reset(w->spool);
}

static int fatal_error(int r)
{
    return r == PGCDC_ERR_SLOT_MISSING || r == PGCDC_ERR_SLOT_INVALID || r == PGCDC_ERR_NOMEM ||
           r == PGCDC_ERR_INVALID;
}

static int reconnect(pgcdc_worker *w)
{
    int attempts = 0;

    pgcdc__log(w, PGCDC_LOG_WARNING, "%s", w->errmsg);
    pgcdc__stream_close(w, 0);
    reset_stream_state(w);
    /* A stream that lived a while starts the backoff afresh; a flapping one keeps it. */
    if (w->reconnect_delay_ms == 0 || pgcdc__now_us() - w->stream_opened_us > 30000000)
        w->reconnect_delay_ms = 100;
    for (;;) {
        int delay = jitter(w, w->reconnect_delay_ms / 2, w->reconnect_delay_ms);
        int r;

        pgcdc__log(w, PGCDC_LOG_INFO, "reconnecting in %d ms", delay);
        if (pgcdc__wait_interruptible(w, delay))
            return PGCDC_ERR_STOPPED;
        w->reconnect_delay_ms *= 2;
        if (w->reconnect_delay_ms > w->cfg.reconnect_max_ms)
            w->reconnect_delay_ms = w->cfg.reconnect_max_ms;
        r = pgcdc__stream_open(w);
        if (r == PGCDC_OK) {
            w->stream_opened_us = pgcdc__now_us();
            pgcdc__log(w, PGCDC_LOG_INFO, "reconnected to slot \"%s\"", w->cfg.slot);
            return PGCDC_OK;
        }
        attempts++;
        if (fatal_error(r) ||
            (w->cfg.reconnect_attempts > 0 && attempts >= w->cfg.reconnect_attempts))
            return r;
        pgcdc__log(w, PGCDC_LOG_WARNING, "%s", w->errmsg);
    }
}

static int call_change(pgcdc_worker *w, const void *arg);

/* "handler for UPDATE on public.orders (seq 3)", or the kind for begin/commit. */
static const char *describe(const char *kind, const void *arg, int is_change, char *buf,
                            size_t size)
{
    const pgcdc_change *c = arg;

    if (!is_change)
        return kind;
    snprintf(buf, size, "handler for %s on %s.%s (seq %u)", pgcdc_op_name(c->op), c->rel->schema,
             c->rel->name, c->seq);
    return buf;
}

/* Calls a handler, retrying failures with exponential backoff. */
static int call_with_retry(pgcdc_worker *w, const char *kind,
                           int (*call)(pgcdc_worker *, const void *), const void *arg)
{
    int delay = w->cfg.handler_delay_ms;
    int is_change = call == call_change;
    char buf[160];
    const char *what = kind;
    int rc = 0;

    for (int attempt = 0; attempt <= w->cfg.handler_retries; attempt++) {
        atomic_store(&w->in_callback, 1);
        rc = call(w, arg);
        atomic_store(&w->in_callback, 0);
        if (rc >= 0)
            return rc;
        what = describe(kind, arg, is_change, buf, sizeof(buf));
        if (attempt == w->cfg.handler_retries)
            break;
        pgcdc__log(w, PGCDC_LOG_WARNING, "%s failed with %d (attempt %d of %d), retrying in %d ms",
                   what, rc, attempt + 1, w->cfg.handler_retries + 1, delay);
        atomic_store(&w->in_callback, 1);
        if (pgcdc__wait_interruptible(w, delay)) {
            atomic_store(&w->in_callback, 0);
            return PGCDC_ERR_STOPPED;
        }
        atomic_store(&w->in_callback, 0);
        delay = delay * 2 > 30000 ? 30000 : delay * 2;
    }
    {
        char lsn[32];

        return pgcdc__fail(w, PGCDC_ERR_HANDLER,
                           "%s failed with %d after %d attempts (transaction %u, commit_lsn %s)",
                           what, rc, w->cfg.handler_retries + 1, w->txn.xid,
                           pgcdc_lsn_format(w->txn.commit_lsn, lsn, sizeof(lsn)));
    }
}

static int call_begin(pgcdc_worker *w, const void *arg)
{
    return w->cfg.begin_cb(w, arg, w->cfg.begin_opaque);
}

static int call_commit(pgcdc_worker *w, const void *arg)
{
    return w->cfg.commit_cb(w, arg, w->cfg.commit_opaque);
}

static int call_change(pgcdc_worker *w, const void *arg)
{
    return w->cfg.change_cb(w, arg, w->cfg.change_opaque);
}

static int protocol_error(pgcdc_worker *w, const char *what, const char *detail)
{
    return pgcdc__fail(w, PGCDC_ERR_PROTOCOL, "protocol error: %s%s", what, detail);
}

/* Opens a transaction (Begin, or Stream Commit before its replay). */
static int open_txn(pgcdc_worker *w, uint32_t xid, uint64_t commit_lsn, int64_t commit_time)
{
    if (w->in_txn)
        return protocol_error(w, "transaction started inside another", "");
    w->in_txn = 1;
    w->txn.xid = xid;
    w->txn.commit_lsn = commit_lsn;
    w->txn.end_lsn = 0;
    w->txn.commit_time = commit_time + PGCDC__EPOCH_DIFF_US;
    w->txn.nchanges = 0;
    w->txn.origin = NULL;
    /* After a reconnect the server sends again what we already delivered. */
    w->skip_txn = commit_lsn <= w->last_delivered_commit;
    if (w->cfg.endpos != 0 && commit_lsn > w->cfg.endpos) {
        w->endpos_reached = 1;
        w->skip_txn = 1;
    }
    if (w->skip_txn)
        return PGCDC_OK;
    w->skip_below_seq = 0;
    if (w->resume_token != 0) {
        uint64_t token = w->resume_token;

        w->resume_token = 0;
        if (commit_lsn == w->resume_commit_lsn) {
            /* Sent again after a reconnect: handlers already have its beginning. */
            w->txn.token = token;
            w->skip_below_seq = w->resume_count;
            return PGCDC_OK;
        }
        /* Not sent again (cannot happen while the slot holds it): forget it. */
        pgcdc__log(w, PGCDC_LOG_WARNING, "interrupted transaction %u was not sent again",
                   w->txn.xid);
        pgcdc__ledger_abort_open(&w->ledger);
    }
    w->txn.token = pgcdc__ledger_begin(&w->ledger);
    if (w->txn.token == 0)
        return pgcdc__fail(w, PGCDC_ERR_NOMEM, "out of memory");
    /* The guard: released at Commit, so nothing of an open transaction is confirmed. */
    pgcdc__ledger_hold(&w->ledger, w->txn.token);
    if (w->cfg.begin_cb != NULL) {
        int r = call_with_retry(w, "begin handler", call_begin, &w->txn);

        if (r < 0)
            return r;
    }
    return PGCDC_OK;
}

static int close_txn(pgcdc_worker *w, uint64_t end_lsn)
{
    if (!w->in_txn)
        return protocol_error(w, "commit without a transaction", "");
    w->in_txn = 0;
    if (w->skip_txn)
        return PGCDC_OK;
    w->txn.end_lsn = end_lsn;
    if (w->cfg.commit_cb != NULL) {
        int r = call_with_retry(w, "commit handler", call_commit, &w->txn);

        if (r < 0) {
            w->in_txn = 1;
            return r;
        }
        if (r == PGCDC_DEFER)
            pgcdc__ledger_hold(&w->ledger, w->txn.token);
    }
    pgcdc__ledger_commit(&w->ledger, w->txn.token, end_lsn);
    pgcdc__ledger_ack(&w->ledger, w->txn.token); /* the guard */
    w->last_delivered_commit = w->txn.commit_lsn;
    if (w->cfg.endpos != 0 && end_lsn >= w->cfg.endpos)
        w->endpos_reached = 1;
    return PGCDC_OK;
}

/*
 * Binary values, once per change.  Text-like types already are their text
 * (in place; jsonb after its version byte).  Fixed-size types stay binary:
 * the typed getters read them as they are, and their text is printed on
 * first use (pgcdc__row_text_col) into room reserved here.  The rest become
 * the text the server would have sent, in the scratch buffer: offsets first,
 * pointers after, as the buffer may move while growing.  Returns how many
 * values were converted so, or an error.
 */
static int to_text(pgcdc_worker *w, const pgcdc__relation *rel, pgcdc__tuple *t, size_t *offsets)
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
                return protocol_error(w, "unreadable binary value in column ", info->name);
            continue;
        case PGCDC__BIN_TEXT:
            col->kind = PGCDC_COL_TEXT;
            continue;
        case PGCDC__BIN_JSONB:
            if (col->len < 1 || col->data[0] != 1)
                return protocol_error(w, "unreadable binary value in column ", info->name);
            col->kind = PGCDC_COL_TEXT;
            col->data++;
            col->len--;
            continue;
        default:
            break;
        }
        offsets[i] = w->scratch.len;
        if (pgcdc__binary_to_text(info->type_oid, (const uint8_t *)col->data, col->len,
                                  &w->scratch) != 0)
            return protocol_error(w, "unreadable binary value in column ", info->name);
        pgcdc__buf_u8(&w->scratch, 0);
        col->len = (uint32_t)(w->scratch.len - offsets[i] - 1);
        converted++;
    }
    return converted;
}

static void point_to_text(pgcdc_worker *w, pgcdc__tuple *t, const size_t *offsets)
{
    for (int i = 0; i < t->ncols; i++) {
        if (offsets[i] == SIZE_MAX)
            continue;
        t->cols[i].kind = PGCDC_COL_TEXT;
        t->cols[i].data = (const char *)w->scratch.data + offsets[i];
    }
}

static int convert_values(pgcdc_worker *w, const pgcdc__relation *rel, pgcdc__msg *m)
{
    size_t *old_off;
    size_t *new_off;
    int r;
    int converted;

    if ((size_t)rel->ncols * 2 + 2 > w->noffsets) {
        size_t n = (size_t)rel->ncols * 2 + 2;
        size_t *grown = realloc(w->offsets, n * sizeof(*grown));

        if (grown == NULL)
            return pgcdc__fail(w, PGCDC_ERR_NOMEM, "out of memory");
        w->offsets = grown;
        w->noffsets = n;
    }
    old_off = w->offsets;
    new_off = w->offsets + rel->ncols;
    pgcdc__buf_reset(&w->scratch);
    r = to_text(w, rel, &m->u.change.old, old_off);
    if (r < 0)
        return r;
    converted = r;
    r = to_text(w, rel, &m->u.change.new_, new_off);
    if (r < 0)
        return r;
    converted += r;
    /*
     * Room for the text of every column of both rows (an unchanged value
     * taken from the old row included): printing one never moves the others.
     */
    pgcdc__buf_reserve(&w->scratch, ((size_t)m->u.change.old.ncols + m->u.change.new_.ncols) *
                                        PGCDC__FIXED_TEXT_MAX);
    if (w->scratch.oom)
        return pgcdc__fail(w, PGCDC_ERR_NOMEM, "out of memory");
    if (converted > 0) {
        point_to_text(w, &m->u.change.old, old_off);
        point_to_text(w, &m->u.change.new_, new_off);
    }
    return PGCDC_OK;
}

static void fill_row(pgcdc_worker *w, pgcdc_row *row, const pgcdc__relation *rel,
                     const pgcdc__tuple *t, int key_only)
{
    row->rel = rel;
    row->cols = t->cols;
    row->key_only = key_only;
    row->texts = w->binary ? &w->scratch : NULL;
}

/* Insert, Update, Delete: 1 with w->change ready, 0 when filtered out, <0 on error. */
static int row_change(pgcdc_worker *w, pgcdc__msg *m)
{
    pgcdc__relation *rel = pgcdc__relcache_get(w->rc, m->u.change.relid);
    pgcdc_change *c = &w->change;
    char detail[32];

    if (!w->in_txn)
        return protocol_error(w, "change outside a transaction", "");
    if (rel == NULL) {
        snprintf(detail, sizeof(detail), "%u", m->u.change.relid);
        return protocol_error(w, "change for unknown relation ", detail);
    }
    if ((m->u.change.old_kind != 0 && m->u.change.old.ncols != rel->ncols) ||
        (m->type != PGCDC_MSG_DELETE && m->u.change.new_.ncols != rel->ncols))
        return protocol_error(w, "column count does not match relation ", rel->name);
    if (w->skip_txn || !rel->wanted)
        return 0;
    c->op = (pgcdc_op)m->type;
    c->rel = rel;
    c->txn = &w->txn;
    c->seq = w->txn.nchanges++;
    if (c->seq < w->skip_below_seq)
        return 0;
    if (w->binary) {
        int r = convert_values(w, rel, m);

        if (r != PGCDC_OK)
            return r;
    }
    c->truncate_flags = 0;
    c->has_old = m->u.change.old_kind != 0;
    c->has_new = m->type != PGCDC_MSG_DELETE;
    if (c->has_old)
        fill_row(w, &c->old_row, rel, &m->u.change.old, m->u.change.old_kind == 'K');
    if (c->has_new)
        fill_row(w, &c->new_row, rel, &m->u.change.new_, 0);
    /* Unchanged TOAST: with the whole old row (REPLICA IDENTITY FULL), take it from there. */
    if (c->has_new && m->u.change.old_kind == 'O') {
        for (int i = 0; i < rel->ncols; i++) {
            pgcdc__col *nc = &m->u.change.new_.cols[i];
            const pgcdc__col *oc = &m->u.change.old.cols[i];

            if (nc->kind == PGCDC_COL_UNCHANGED && oc->kind != PGCDC_COL_UNCHANGED)
                *nc = *oc;
        }
    }
    return 1;
}

/* Next TRUNCATE change of the current message: 1 ready, 0 when done. */
static int truncate_change(pgcdc_worker *w)
{
    while (w->truncate_next < w->msg.u.truncate.nrels) {
        uint32_t relid = pgcdc__truncate_relid(&w->msg, w->truncate_next++);
        pgcdc__relation *rel = pgcdc__relcache_get(w->rc, relid);
        pgcdc_change *c = &w->change;

        if (rel == NULL || !rel->wanted || w->skip_txn)
            continue;
        if (w->txn.nchanges < w->skip_below_seq) {
            w->txn.nchanges++;
            continue;
        }
        memset(c, 0, sizeof(*c));
        c->op = PGCDC_OP_TRUNCATE;
        c->rel = rel;
        c->txn = &w->txn;
        c->seq = w->txn.nchanges++;
        c->truncate_flags = w->msg.u.truncate.options;
        return 1;
    }
    w->truncate_active = 0;
    return 0;
}

static int relation(pgcdc_worker *w, const pgcdc__msg *m)
{
    pgcdc__relation *rel = pgcdc__relcache_update(w->rc, m);
    const pgcdc__table_info *t;

    if (rel == NULL)
        return pgcdc__fail(w, PGCDC_ERR_NOMEM, "out of memory");
    t = pgcdc__catalog_table(&w->cat, rel->relid);
    rel->wanted = w->cat.ntables == 0 || t != NULL;
    if (t != NULL && t->npk > 0 && pgcdc__relation_set_keys(rel, t->pk, t->npk) < 0)
        return pgcdc__fail(w, PGCDC_ERR_NOMEM, "out of memory");
    if (t != NULL && pgcdc__relation_set_types(rel, t->col_names, t->col_types, t->col_oids,
                                               t->col_base_oids, t->ncols) != 0)
        return pgcdc__fail(w, PGCDC_ERR_NOMEM, "out of memory");
    for (int i = 0; w->binary && rel->wanted && i < rel->ncols; i++) {
        if (pgcdc__binary_supported(rel->cols[i].type_oid))
            continue;
        /* Start again from the slot, in text mode, before any change of it is read. */
        w->binary = 0;
        pthread_mutex_lock(&w->io_mu);
        w->conn_broken = 1;
        pthread_mutex_unlock(&w->io_mu);
        pgcdc__fail(w, PGCDC_ERR_CONNECT,
                    "column \"%s\" of \"%s.%s\" has a type pgcdc reads only as text: switching "
                    "to text values",
                    rel->cols[i].name, rel->schema, rel->name);
        break;
    }
    return PGCDC_OK;
}

static int keepalive(pgcdc_worker *w, const pgcdc__msg *m)
{
    if (m->wal_end > w->received_lsn)
        w->received_lsn = m->wal_end;
    /*
     * Nothing in flight: confirm the server's position so an idle slot pins
     * no WAL.  Never past the end position: what lies beyond is not delivered.
     */
    if (!w->in_txn && pgcdc__spool_count(w->spool) == 0) {
        uint64_t lsn = m->wal_end;

        if (w->cfg.endpos != 0 && lsn > w->cfg.endpos)
            lsn = w->cfg.endpos;
        pgcdc__ledger_idle_advance(&w->ledger, lsn);
    }
    if (w->cfg.endpos != 0 && !w->in_txn && m->wal_end >= w->cfg.endpos)
        w->endpos_reached = 1;
    if (m->u.keepalive.reply_requested)
        pgcdc__stream_send_status(w, 0);
    return PGCDC_OK;
}

/* Streamed change messages go to the spool before decoding (decoding alters the bytes). */
static int spool_if_streamed(pgcdc_worker *w, int len)
{
    const uint8_t *p = (const uint8_t *)w->rbuf + PGCDC__XLOGDATA_HDR;
    size_t n = (size_t)len - PGCDC__XLOGDATA_HDR;
    uint32_t subxid;
    uint8_t *copy;
    int r;

    if (!w->txn_streaming || w->rbuf[0] != 'w' || len < PGCDC__XLOGDATA_HDR + 5 || p[0] == 0 ||
        strchr("IUDTM", p[0]) == NULL)
        return 0;
    subxid = pgcdc__be32(p + 1);
    /* Keep the type byte, drop the xid: the spooled message reads as a plain one. */
    copy = (uint8_t *)w->rbuf + PGCDC__XLOGDATA_HDR + 4;
    copy[0] = p[0];
    r = pgcdc__spool_append(w->spool, w->stream_xid, subxid, copy, n - 4);
    if (r != 0)
        return pgcdc__fail(w, PGCDC_ERR_IO, "could not spool streamed transaction %u: %s",
                           w->stream_xid, pgcdc__spool_error(w->spool));
    return 1;
}

static int stream_commit(pgcdc_worker *w, const pgcdc__msg *m)
{
    int r = open_txn(w, m->xid, m->u.commit.commit_lsn, m->u.commit.commit_time);

    if (r != PGCDC_OK)
        return r;
    if (pgcdc__spool_replay_begin(w->spool, m->xid) != 0)
        return pgcdc__fail(w, PGCDC_ERR_IO, "could not read spooled transaction %u: %s", m->xid,
                           pgcdc__spool_error(w->spool));
    w->replaying = 1;
    w->replay_end_lsn = m->u.commit.end_lsn;
    return PGCDC_OK;
}

/* Acts on one decoded message: 1 when w->change is ready for delivery. */
static int dispatch(pgcdc_worker *w)
{
    pgcdc__msg *m = &w->msg;

    if (m->type != PGCDC_MSG_KEEPALIVE && m->wal_start > w->received_lsn)
        w->received_lsn = m->wal_start;
    switch (m->type) {
    case PGCDC_MSG_KEEPALIVE:
        return keepalive(w, m);
    case PGCDC_MSG_BEGIN:
        return open_txn(w, m->xid, m->u.begin.final_lsn, m->u.begin.commit_time);
    case PGCDC_MSG_COMMIT:
        return close_txn(w, m->u.commit.end_lsn);
    case PGCDC_MSG_ORIGIN:
        snprintf(w->origin, sizeof(w->origin), "%s", m->u.origin.name);
        w->txn.origin = w->origin;
        return PGCDC_OK;
    case PGCDC_MSG_RELATION:
        return relation(w, m);
    case PGCDC_MSG_INSERT:
    case PGCDC_MSG_UPDATE:
    case PGCDC_MSG_DELETE:
        return row_change(w, m);
    case PGCDC_MSG_TRUNCATE:
        if (!w->in_txn)
            return protocol_error(w, "truncate outside a transaction", "");
        w->truncate_active = 1;
        w->truncate_next = 0;
        return truncate_change(w);
    case PGCDC_MSG_STREAM_START:
        w->txn_streaming = 1;
        w->stream_xid = m->xid;
        return PGCDC_OK;
    case PGCDC_MSG_STREAM_STOP:
        w->txn_streaming = 0;
        return PGCDC_OK;
    case PGCDC_MSG_STREAM_ABORT:
        if (pgcdc__spool_abort(w->spool, m->xid, m->u.stream_abort.subxid) != 0)
            return pgcdc__fail(w, PGCDC_ERR_IO, "could not discard streamed transaction: %s",
                               pgcdc__spool_error(w->spool));
        return PGCDC_OK;
    case PGCDC_MSG_STREAM_COMMIT:
        return stream_commit(w, m);
    default:
        /* Type and logical decoding messages carry nothing for handlers. */
        return PGCDC_OK;
    }
}

/* Next message of a spooled transaction being replayed: 1 change ready, 0 more to do. */
static int replay_step(pgcdc_worker *w)
{
    uint8_t *msg;
    size_t len;
    int r = pgcdc__spool_replay_next(w->spool, &msg, &len);

    if (r < 0)
        return pgcdc__fail(w, PGCDC_ERR_IO, "could not read spooled transaction %u: %s", w->txn.xid,
                           pgcdc__spool_error(w->spool));
    if (r == 0) {
        w->replaying = 0;
        pgcdc__spool_replay_end(w->spool);
        return close_txn(w, w->replay_end_lsn);
    }
    pgcdc__decoder_feed(w->dec, msg, len, 1);
    if (pgcdc__decoder_next(w->dec, &w->msg) != 1)
        return pgcdc__fail(w, PGCDC_ERR_PROTOCOL, "protocol error in spooled transaction: %s",
                           pgcdc__decoder_error(w->dec));
    return dispatch(w);
}

/* Everything before the end position is delivered and acknowledged. */
static int endpos_done(pgcdc_worker *w)
{
    return w->endpos_reached && !w->in_txn && pgcdc__ledger_count(&w->ledger) == 0;
}

/*
 * Receives and dispatches until a change is ready (*out set), the timeout
 * passes (*out NULL), or the worker must stop (PGCDC_ERR_STOPPED or an error).
 */
static int step(pgcdc_worker *w, const pgcdc_change **out, int timeout_ms)
{
    int64_t deadline = timeout_ms < 0 ? -1 : pgcdc__now_us() + (int64_t)timeout_ms * 1000;

    *out = NULL;
    for (;;) {
        int len = 0;
        int r;
        int left_ms = -1;

        if (pgcdc__stopping(w))
            return PGCDC_ERR_STOPPED;
        if (w->truncate_active && truncate_change(w) == 1) {
            *out = &w->change;
            return PGCDC_OK;
        }
        if (w->replaying) {
            r = replay_step(w);
            if (r < 0)
                return r;
            if (r == 1) {
                *out = &w->change;
                return PGCDC_OK;
            }
            continue;
        }
        if (endpos_done(w))
            return PGCDC_ERR_STOPPED;
        if (w->rbuf != NULL) {
            PQfreemem(w->rbuf);
            w->rbuf = NULL;
        }
        if (deadline >= 0) {
            left_ms = (int)((deadline - pgcdc__now_us()) / 1000);
            if (left_ms <= 0)
                return PGCDC_OK;
        }
        r = pgcdc__stream_receive(w, w->endpos_reached ? 10 : left_ms, &len);
        if (r == 0)
            continue;
        if (r < 0 && w->stream_fatal != 0)
            return w->stream_fatal;
        if (r < 0) {
            r = reconnect(w);
            if (r != PGCDC_OK)
                return r;
            continue;
        }
        r = spool_if_streamed(w, len);
        if (r < 0)
            return r;
        if (r == 1)
            continue;
        pgcdc__decoder_feed(w->dec, (uint8_t *)w->rbuf, (size_t)len, 0);
        r = pgcdc__decoder_next(w->dec, &w->msg);
        if (r != 1) {
            pgcdc__fail(w, PGCDC_ERR_PROTOCOL, "protocol error: %s", pgcdc__decoder_error(w->dec));
            r = PGCDC_ERR_PROTOCOL;
        } else {
            r = dispatch(w);
        }
        if (r == PGCDC_ERR_PROTOCOL) {
            /* Confirm nothing more, report, reconnect: the server sends it again. */
            if (++w->protocol_errors >= PGCDC__MAX_PROTOCOL_ERRORS)
                return r;
            pthread_mutex_lock(&w->io_mu);
            w->conn_broken = 1;
            pthread_mutex_unlock(&w->io_mu);
            continue;
        }
        if (r < 0)
            return r;
        if (w->msg.type == PGCDC_MSG_COMMIT)
            w->protocol_errors = 0;
        if (r == 1) {
            *out = &w->change;
            return PGCDC_OK;
        }
    }
}

/* Waits for outstanding asynchronous acks, confirms, closes the stream. */
static void finish(pgcdc_worker *w, int graceful)
{
    int64_t until = pgcdc__now_us() + (int64_t)PGCDC__STOP_GRACE_MS * 1000;
    char lsn[32];

    while (graceful && pgcdc__now_us() < until &&
           pgcdc__ledger_count(&w->ledger) > (size_t)(w->in_txn ? 1 : 0)) {
        struct timespec ts = {0, 10 * 1000 * 1000};

        if (w->cfg.idle_cb != NULL)
            w->cfg.idle_cb(w, w->cfg.idle_opaque);
        nanosleep(&ts, NULL);
    }
    pgcdc__keeper_stop(w);
    pgcdc__stream_close(w, 1);
    pgcdc__log(w, PGCDC_LOG_INFO, "stopped; confirmed up to %s",
               pgcdc_lsn_format(pgcdc__ledger_confirmed(&w->ledger), lsn, sizeof(lsn)));
}

static int end_run(pgcdc_worker *w, int r)
{
    if (r == PGCDC_ERR_HANDLER) {
        char cause[PGCDC__ERRMSG_SIZE];

        snprintf(cause, sizeof(cause), "%s", w->errmsg);
        pgcdc__fail(w, r,
                    "%s; nothing past the previous transaction is confirmed (fix the handler or "
                    "the data and start again, or use the dead-letter policy)",
                    cause);
    }
    if (r == PGCDC_ERR_STOPPED)
        r = PGCDC_OK;
    finish(w, r == PGCDC_OK);
    w->state = r == PGCDC_OK ? PGCDC__W_DONE : PGCDC__W_FAILED;
    return r;
}

static int write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t k = write(fd, p, n);

        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0)
            return -1;
        p += k;
        n -= (size_t)k;
    }
    return 0;
}

/* The dead-letter policy: the event and its error, durably, before going on. */
static int dead_letter(pgcdc_worker *w, const pgcdc_change *c)
{
    pgcdc__buf line;
    const char *event;
    size_t len;
    char err[PGCDC__ERRMSG_SIZE];
    char lsn[32];
    int r = PGCDC_OK;

    snprintf(err, sizeof(err), "%s", w->errmsg);
    if (w->dead_fmt == NULL)
        w->dead_fmt = pgcdc_formatter_new(PGCDC_FORMAT_JSON, w->cat.database);
    if (w->dead_fd < 0)
        w->dead_fd = open(w->cfg.dead_letter_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (w->dead_fd < 0)
        return pgcdc__fail(w, PGCDC_ERR_IO, "could not open dead-letter file \"%s\": %s (%s)",
                           w->cfg.dead_letter_path, strerror(errno), err);
    if (w->dead_fmt == NULL || pgcdc_formatter_change(w->dead_fmt, c, &event, &len) != PGCDC_OK)
        return pgcdc__fail(w, PGCDC_ERR_NOMEM, "out of memory (%s)", err);
    pgcdc__buf_init(&line);
    pgcdc__buf_put(&line, "{\"dead_letter\":{\"error\":", strlen("{\"dead_letter\":{\"error\":"));
    {
        /* The error as a JSON string: it is ASCII text from pgcdc, escape quotes and controls. */
        pgcdc__buf_u8(&line, '"');
        for (const char *p = err; *p != '\0'; p++) {
            if (*p == '"' || *p == '\\')
                pgcdc__buf_u8(&line, '\\');
            pgcdc__buf_u8(&line, (uint8_t)((unsigned char)*p < 0x20 ? ' ' : *p));
        }
        pgcdc__buf_u8(&line, '"');
    }
    pgcdc__buf_put(&line, "},\"event\":", strlen("},\"event\":"));
    pgcdc__buf_put(&line, event, len - 1); /* without its newline */
    pgcdc__buf_put(&line, "}\n", 2);
    if (line.oom)
        r = pgcdc__fail(w, PGCDC_ERR_NOMEM, "out of memory (%s)", err);
    else if (write_all(w->dead_fd, (const char *)line.data, line.len) != 0 ||
             fsync(w->dead_fd) != 0)
        r = pgcdc__fail(w, PGCDC_ERR_IO,
                        "could not write dead-letter file \"%s\": %s (nothing past the failed "
                        "change is confirmed; %s)",
                        w->cfg.dead_letter_path, strerror(errno), err);
    pgcdc__buf_free(&line);
    if (r == PGCDC_OK)
        pgcdc__log(w, PGCDC_LOG_WARNING,
                   "dead-lettered %s on %s.%s (commit_lsn %s, seq %u) to \"%s\": %s",
                   pgcdc_op_name(c->op), c->rel->schema, c->rel->name,
                   pgcdc_lsn_format(w->txn.commit_lsn, lsn, sizeof(lsn)), c->seq,
                   w->cfg.dead_letter_path, err);
    return r;
}

/*
 * Delivers a change.  The transaction's guard (held from Begin to Commit)
 * keeps its count above zero, so a deferred change acknowledged from another
 * thread before the handler even returns is counted right.
 */
static int deliver(pgcdc_worker *w, const pgcdc_change *c)
{
    int r = call_with_retry(w, "change handler", call_change, c);

    if (r == PGCDC_ERR_HANDLER && w->cfg.error_policy == PGCDC_ON_ERROR_DEAD_LETTER)
        return dead_letter(w, c);
    if (r < 0)
        return r;
    if (r == PGCDC_DEFER)
        pgcdc__ledger_hold(&w->ledger, w->txn.token);
    return PGCDC_OK;
}

int pgcdc_worker_run(pgcdc_worker *w)
{
    if (w->state != PGCDC__W_STREAMING)
        return pgcdc__fail(w, PGCDC_ERR_STATE, "the worker is not streaming (start it first)");
    if (w->cfg.change_cb == NULL)
        return pgcdc__fail(w, PGCDC_ERR_INVALID,
                           "no change handler (set one, or use pgcdc_worker_next)");
    for (;;) {
        const pgcdc_change *c;
        int r = step(w, &c, -1);

        if (r == PGCDC_OK && c != NULL)
            r = deliver(w, c);
        if (r != PGCDC_OK)
            return end_run(w, r);
    }
}

int pgcdc_worker_next(pgcdc_worker *w, const pgcdc_change **change, int timeout_ms)
{
    int r;

    *change = NULL;
    if (w->state == PGCDC__W_DONE)
        return PGCDC_ERR_STOPPED;
    if (w->state != PGCDC__W_STREAMING)
        return pgcdc__fail(w, PGCDC_ERR_STATE, "the worker is not streaming (start it first)");
    atomic_store(&w->in_callback, 0);
    r = step(w, change, timeout_ms);
    if (r == PGCDC_OK) {
        /* The caller holds the change now: keep the status flowing meanwhile. */
        atomic_store(&w->in_callback, 1);
        return PGCDC_OK;
    }
    r = end_run(w, r);
    return r == PGCDC_OK ? PGCDC_ERR_STOPPED : r;
}
