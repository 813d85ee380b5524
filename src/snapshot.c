/*
 * The worker's snapshots: what the start does about them, READ rows
 * handed out through the same delivery as the stream's changes (one
 * transaction per chunk), the progress of acknowledged chunks kept in the
 * state file before the ledger may confirm past them, and the initial
 * snapshot read by parallel connections under the slot's exported snapshot.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "format/json.h"
#include "snapshot_int.h"
#include "wire/copy.h"

/* How often progress is logged while a snapshot runs. */
#define PROGRESS_LOG_US 10000000
/* How often the progress of acknowledged chunks is kept, at most (unless the worker waits). */
#define SAVE_EVERY_US 1000000

int pgcdc__snap_fail_oom(pgcdc_worker *w)
{
    return pgcdc__fail(&w->ctx, PGCDC_ERR_NOMEM, "out of memory");
}

static pgcdc__snaprun *run_new(pgcdc_worker *w)
{
    pgcdc__snaprun *s = calloc(1, sizeof(*s));
    char path[512];

    if (s == NULL)
        return NULL;
    s->rc = pgcdc__relcache_new();
    if (w->cfg.snapshot_state != NULL)
        snprintf(path, sizeof(path), "%s", w->cfg.snapshot_state);
    else
        snprintf(path, sizeof(path), "pgcdc-%s.snapshot", w->cfg.slot);
    s->state_path = strdup(path);
    if (s->rc == NULL || s->state_path == NULL) {
        pgcdc__relcache_free(s->rc);
        free(s->state_path);
        free(s);
        return NULL;
    }
    pthread_mutex_init(&s->mu, NULL);
    pgcdc__buf_init(&s->texts);
    s->pin = -1;
    s->run = (uint64_t)pgcdc__wall_us() ^ ((uint64_t)w->rng << 17);
    return s;
}

void pgcdc__snapshot_free(pgcdc_worker *w)
{
    pgcdc__snaprun *s = w->snap;

    if (s == NULL)
        return;
    if (s->readers != NULL) {
        if (s->blk != NULL)
            pgcdc__snap_readers_release(s->readers, s->blk);
        pgcdc__snap_readers_free(s->readers);
    }
    for (int i = 0; i < s->nfifo; i++)
        pgcdc__snap_keys_free(
            s->fifo[i].key, pgcdc__snap_width(&s->plan.tables[s->plan.segs[s->fifo[i].seg].table]));
    pgcdc__snap_inc_free(s);
    free(s->fifo);
    free(s->sent);
    free(s->cols);
    pgcdc__buf_free(&s->texts);
    pgcdc__snap_plan_clear(&s->plan);
    pgcdc__relcache_free(s->rc);
    pgcdc__snap_disconnect(s->conn);
    pgcdc__snap_disconnect(s->look);
    pthread_mutex_destroy(&s->mu);
    free(s->state_path);
    free(s);
    w->snap = NULL;
}

/* The catalog's table that plan table ti names. */
static const pgcdc__table_info *catalog_table(pgcdc_worker *w, const char *quoted)
{
    for (int i = 0; i < w->cat.ts.ntables; i++)
        if (strcmp(w->cat.ts.tables[i].quoted, quoted) == 0)
            return &w->cat.ts.tables[i];
    return NULL;
}

int pgcdc__snap_describe_table(pgcdc_worker *w, PGconn *conn, int ti)
{
    pgcdc__snaprun *s = w->snap;
    pgcdc__snap_table *t = &s->plan.tables[ti];
    const pgcdc__table_info *info = catalog_table(w, t->quoted);
    pgcdc__snap_table d;
    int width = t->nkey; /* a loaded plan's key width */
    char route[300];
    int r;

    if (info == NULL)
        return pgcdc__fail(&w->ctx, PGCDC_ERR_TABLE,
                           "the snapshot names table %s, which this pipeline does not stream (list "
                           "it, or move the snapshot state \"%s\" away)",
                           t->quoted, s->state_path);
    memset(&d, 0, sizeof(d));
    d.quoted = t->quoted;
    r = pgcdc__snap_describe(&w->ctx, conn, s->rc, &w->cat.ts, info, &d);
    d.by_pages = t->by_pages || d.nkey == 0;
    if (r != PGCDC_OK)
        return r;
    r = pgcdc__describe_relation(w, d.rel);
    if (r != PGCDC_OK)
        return r;
    if (s->plan.nsegs > 0 && pgcdc__snap_width(&d) != width && width != 0) {
        pgcdc__snap_keys_free(d.key_quoted, d.nkey);
        pgcdc__snap_keys_free(d.key_types, d.nkey);
        free(d.key_cols);
        free(d.select_list);
        return pgcdc__fail(&w->ctx, PGCDC_ERR_TABLE,
                           "the primary key of %s changed since its snapshot began (move the "
                           "snapshot state \"%s\" away to start it afresh)",
                           t->quoted, s->state_path);
    }
    snprintf(route, sizeof(route), "%s.%s", info->schema, info->name);
    free(t->route);
    t->route = strdup(route);
    t->oid = d.oid;
    t->nkey = d.nkey;
    t->by_pages = d.by_pages;
    t->relkind = d.relkind;
    t->key_cols = d.key_cols;
    t->key_quoted = d.key_quoted;
    t->key_types = d.key_types;
    t->select_list = d.select_list;
    t->rel = d.rel;
    t->rows_estimate = d.rows_estimate;
    t->pages = d.pages;
    if (t->route == NULL)
        return pgcdc__snap_fail_oom(w);
    if (d.rel->ncols > s->ncols_cap) {
        pgcdc__col *cols = realloc(s->cols, sizeof(*cols) * (size_t)d.rel->ncols);

        if (cols == NULL)
            return pgcdc__snap_fail_oom(w);
        s->cols = cols;
        s->ncols_cap = d.rel->ncols;
    }
    return PGCDC_OK;
}

/* Per-table counters sized for the plan's tables. */
int pgcdc__snap_counters(pgcdc_worker *w)
{
    pgcdc__snaprun *s = w->snap;
    uint64_t *sent = calloc((size_t)s->plan.ntables + 1, sizeof(*sent));

    if (sent == NULL)
        return pgcdc__snap_fail_oom(w);
    for (int i = 0; i < s->plan.ntables; i++)
        sent[i] = s->plan.tables[i].rows_done;
    pthread_mutex_lock(&s->mu);
    free(s->sent);
    s->sent = sent;
    s->shown = s->plan.ntables;
    pthread_mutex_unlock(&s->mu);
    s->segs_left = 0;
    for (int i = 0; i < s->plan.nsegs; i++)
        s->segs_left += !s->plan.segs[i].done;
    return PGCDC_OK;
}

/* A new initial snapshot of every listed table under the slot's exported snapshot. */
static int plan_initial(pgcdc_worker *w)
{
    pgcdc__snaprun *s = w->snap;
    PGconn *conn;
    int r = PGCDC_OK;

    conn = pgcdc__snap_connect(&w->ctx, w->cfg.conninfo, w->cat.snapshot_name, &r);
    if (conn == NULL)
        return r;
    s->plan.kind = PGCDC_SNAPSHOT_INITIAL;
    s->plan.lsn = w->cat.slot_lsn;
    for (int i = 0; r == PGCDC_OK && i < w->cat.ts.ntables; i++) {
        pgcdc__snap_table t;
        int ti;

        memset(&t, 0, sizeof(t));
        t.quoted = w->cat.ts.tables[i].quoted;
        ti = pgcdc__snap_add_table(&s->plan, &t);
        if (ti < 0) {
            r = pgcdc__snap_fail_oom(w);
            break;
        }
        r = pgcdc__snap_describe_table(w, conn, ti);
        /*
         * A plain table is read by pages: a sequential scan streams it as
         * fast as COPY does, where reading in key order goes through the
         * index and the buffer cache.  A partitioned one in key order (its
         * partitions' pages do not make one order).
         */
        if (r == PGCDC_OK && s->plan.tables[ti].relkind == 'r')
            s->plan.tables[ti].by_pages = 1;
        if (r == PGCDC_OK)
            r = pgcdc__snap_split(&w->ctx, conn, &s->plan, ti, w->cfg.snapshot_parallel);
    }
    pgcdc__snap_disconnect(conn);
    if (r == PGCDC_OK && s->plan.ntables == 0)
        r = pgcdc__fail(&w->ctx, PGCDC_ERR_INVALID,
                        "a snapshot needs the tables listed (set table, or -t on the command "
                        "line)");
    return r;
}

/* Fills a loaded plan's tables in from the catalog. */
static int describe_loaded(pgcdc_worker *w)
{
    pgcdc__snaprun *s = w->snap;
    PGconn *conn;
    int r = PGCDC_OK;

    conn = pgcdc__snap_connect(&w->ctx, w->cfg.conninfo, NULL, &r);
    if (conn == NULL)
        return r;
    for (int i = 0; r == PGCDC_OK && i < s->plan.ntables; i++)
        r = pgcdc__snap_describe_table(w, conn, i);
    pgcdc__snap_disconnect(conn);
    return r;
}

static void log_plan(pgcdc_worker *w, const char *what)
{
    pgcdc__snaprun *s = w->snap;
    uint64_t est = 0;

    for (int i = 0; i < s->plan.ntables; i++)
        est += s->plan.tables[i].rows_estimate;
    pgcdc__log(&w->ctx, PGCDC_LOG_INFO,
               "%s: %d table%s, about %llu rows, %d segment%s; progress kept in \"%s\"", what,
               s->plan.ntables, s->plan.ntables == 1 ? "" : "s", (unsigned long long)est,
               s->plan.nsegs, s->plan.nsegs == 1 ? "" : "s", s->state_path);
}

int pgcdc__snapshot_start(pgcdc_worker *w, int *defer_stream)
{
    pgcdc__snaprun *s;
    int mode = w->cfg.snapshot_mode;
    int r;

    *defer_stream = 0;
    s = w->snap = run_new(w);
    if (s == NULL)
        return pgcdc__snap_fail_oom(w);
    if (w->cat.export_conn != NULL) {
        /* The slot was just created for an initial snapshot: any old progress is void. */
        pgcdc__snap_forget(s->state_path);
        r = plan_initial(w);
        if (r == PGCDC_OK)
            r = pgcdc__snap_save(&w->ctx, &s->plan, s->state_path);
        if (r == PGCDC_OK)
            r = pgcdc__snap_counters(w);
        if (r == PGCDC_OK)
            s->readers =
                pgcdc__snap_readers_start(&w->ctx, w->cfg.conninfo, w->cat.snapshot_name, &s->plan,
                                          w->cfg.snapshot_parallel, w->cfg.snapshot_chunk_rows, &r);
        for (int i = 0; r == PGCDC_OK && i < s->plan.ntables && s->look == NULL; i++)
            if (s->plan.tables[i].by_pages && s->plan.tables[i].nkey > 0)
                s->look = pgcdc__snap_connect(&w->ctx, w->cfg.conninfo, w->cat.snapshot_name, &r);
        /* Every reader holds the snapshot now (or failed): let it go. */
        pgcdc__snap_disconnect(w->cat.export_conn);
        w->cat.export_conn = NULL;
        if (r != PGCDC_OK)
            return r;
        s->phase = PHASE_INITIAL;
        s->defer_stream = *defer_stream = 1;
        log_plan(w, "initial snapshot");
        return PGCDC_OK;
    }
    r = pgcdc__snap_load(&w->ctx, &s->plan, s->state_path);
    if (r < 0)
        return r;
    if (r == 1 && !pgcdc__snap_done(&s->plan)) {
        /* Stopped before its end: on with it from its last acknowledged chunks, while streaming. */
        r = describe_loaded(w);
        if (r == PGCDC_OK)
            r = pgcdc__snap_counters(w);
        if (r == PGCDC_OK)
            r = pgcdc__snap_inc_setup(w);
        if (r != PGCDC_OK)
            return r;
        log_plan(w, "resuming the snapshot after its last acknowledged chunks");
        return PGCDC_OK;
    }
    if (r == 1) {
        pgcdc__snap_forget(s->state_path);
        pgcdc__snap_plan_clear(&s->plan);
    }
    if (mode == PGCDC_SNAPSHOT_MODE_INITIAL || mode == PGCDC_SNAPSHOT_MODE_INITIAL_ONLY) {
        pgcdc__log(&w->ctx, PGCDC_LOG_INFO,
                   "replication slot \"%s\" existed: no initial snapshot (that is taken when the "
                   "slot is created; ask for an incremental one instead)",
                   w->cfg.slot);
        if (mode == PGCDC_SNAPSHOT_MODE_INITIAL_ONLY)
            *defer_stream = s->defer_stream = 1; /* nothing to stream: the run ends at once */
        return PGCDC_OK;
    }
    if (mode == PGCDC_SNAPSHOT_MODE_INCREMENTAL) {
        s->plan.kind = PGCDC_SNAPSHOT_INCREMENTAL;
        for (int i = 0; i < w->cat.ts.ntables; i++) {
            pgcdc__snap_table t;

            memset(&t, 0, sizeof(t));
            t.quoted = w->cat.ts.tables[i].quoted;
            if (pgcdc__snap_add_table(&s->plan, &t) < 0 ||
                pgcdc__snap_add_seg(&s->plan, i, NULL, NULL) < 0)
                return pgcdc__snap_fail_oom(w);
        }
        if (s->plan.ntables == 0)
            return pgcdc__fail(&w->ctx, PGCDC_ERR_INVALID,
                               "a snapshot needs the tables listed (set table, or -t on the "
                               "command line)");
        r = describe_loaded(w);
        if (r == PGCDC_OK)
            r = pgcdc__snap_save(&w->ctx, &s->plan, s->state_path);
        if (r == PGCDC_OK)
            r = pgcdc__snap_counters(w);
        if (r == PGCDC_OK)
            r = pgcdc__snap_inc_setup(w);
        if (r == PGCDC_OK)
            log_plan(w, "incremental snapshot");
        return r;
    }
    return PGCDC_OK;
}

int pgcdc__snapshot_pending(const pgcdc_worker *w)
{
    const pgcdc__snaprun *s = w->snap;

    return s != NULL && (s->phase == PHASE_INITIAL || s->defer_stream || s->cstate == CHUNK_EMIT);
}

/* ---- handing out ---- */

int pgcdc__snap_emit_begin(pgcdc_worker *w, uint64_t lsn, int kind)
{
    pgcdc__snaprun *s = w->snap;
    pgcdc__event ev;
    int r;

    memset(&s->txn, 0, sizeof(s->txn));
    s->txn.commit_lsn = lsn;
    s->txn.end_lsn = lsn;
    s->txn.begin_lsn = lsn;
    s->txn.commit_time = pgcdc__wall_us();
    s->txn.snapshot = kind;
    memset(&ev, 0, sizeof(ev));
    ev.type = PGCDC__EV_BEGIN;
    ev.txn = &s->txn;
    r = pgcdc__handle(w, &ev, NULL, 0);
    if (r != PGCDC_OK)
        return r;
    /* Released once the chunk's progress is kept (pgcdc__snapshot_poll). */
    pgcdc__ledger_hold(&w->ledger, s->txn.token);
    s->begun = 1;
    return PGCDC_OK;
}

int pgcdc__snap_emit_row(pgcdc_worker *w, int ti, char *line, size_t len, int last,
                         const pgcdc_change **out, int pull)
{
    pgcdc__snaprun *s = w->snap;
    pgcdc__snap_table *t = &s->plan.tables[ti];
    pgcdc_change *c = &s->change;
    pgcdc__event ev;

    if (pgcdc__copy_split(line, len, s->cols, t->rel->ncols) != 0)
        return pgcdc__fail(&w->ctx, PGCDC_ERR_PROTOCOL,
                           "a row of %s read by the snapshot does not have its %d columns",
                           t->quoted, t->rel->ncols);
    memset(c, 0, sizeof(*c));
    c->op = PGCDC_OP_READ;
    c->rel = t->rel;
    c->txn = &s->txn;
    c->seq = s->txn.nchanges++;
    c->snapshot_last = last;
    c->has_new = 1;
    c->new_row.rel = t->rel;
    c->new_row.cols = s->cols;
    c->new_row.texts = &s->texts;
    /* Only this thread writes them; the progress display reads them (under mu, for the array). */
    __atomic_store_n(&s->sent[ti], s->sent[ti] + 1, __ATOMIC_RELAXED);
    s->rows_sent++;
    memset(&ev, 0, sizeof(ev));
    ev.type = PGCDC__EV_CHANGE;
    ev.txn = &s->txn;
    ev.change = c;
    return pgcdc__handle(w, &ev, out, pull);
}

static int push(pgcdc_worker *w, uint64_t token, int seg, char **key, uint64_t rows, int seg_end)
{
    pgcdc__snaprun *s = w->snap;

    if (s->nfifo == s->capfifo) {
        int cap = s->capfifo != 0 ? s->capfifo * 2 : 16;
        pending *f = realloc(s->fifo, sizeof(*f) * (size_t)cap);

        if (f == NULL)
            return pgcdc__snap_fail_oom(w);
        s->fifo = f;
        s->capfifo = cap;
    }
    s->fifo[s->nfifo].token = token;
    s->fifo[s->nfifo].seg = seg;
    s->fifo[s->nfifo].key = key;
    s->fifo[s->nfifo].rows = rows;
    s->fifo[s->nfifo].seg_end = seg_end;
    s->nfifo++;
    if (seg_end)
        s->segs_left--;
    return PGCDC_OK;
}

int pgcdc__snap_emit_commit(pgcdc_worker *w, int seg, char **key, uint64_t rows, int seg_end)
{
    pgcdc__snaprun *s = w->snap;
    pgcdc__event ev;
    int r;

    memset(&ev, 0, sizeof(ev));
    ev.type = PGCDC__EV_COMMIT;
    ev.txn = &s->txn;
    r = pgcdc__handle(w, &ev, NULL, 0);
    s->begun = 0;
    if (r != PGCDC_OK)
        return r;
    return push(w, s->txn.token, seg, key, rows, seg_end);
}

int pgcdc__snap_push_empty(pgcdc_worker *w, int seg, char **key, int seg_end)
{
    return push(w, 0, seg, key, 0, seg_end);
}

/* ---- progress ---- */

static void log_progress(pgcdc_worker *w, int force)
{
    pgcdc__snaprun *s = w->snap;
    int64_t now = pgcdc__now_us();

    if (!force && now - s->logged_us < PROGRESS_LOG_US)
        return;
    s->logged_us = now;
    for (int i = 0; i < s->shown; i++) {
        const pgcdc__snap_table *t = &s->plan.tables[i];

        if (!force && t->done)
            continue;
        pgcdc__log(&w->ctx, PGCDC_LOG_INFO, "snapshot of %s: %llu rows of about %llu%s", t->route,
                   (unsigned long long)s->sent[i], (unsigned long long)t->rows_estimate,
                   t->done ? ", done" : "");
    }
}

/*
 * Keeps the progress of the chunks acknowledged (the oldest first), then
 * releases them.  One fsync for many chunks: unless forced (the worker is
 * about to wait, or stops), at most once a second or every 64 chunks.
 */
static int keep_progress(pgcdc_worker *w, int force)
{
    pgcdc__snaprun *s = w->snap;
    uint64_t tokens[64];
    int64_t now;
    int ready = 0;
    int n = 0;
    int r;

    while (
        ready < s->nfifo && ready < 64 &&
        (s->fifo[ready].token == 0 || pgcdc__ledger_pending(&w->ledger, s->fifo[ready].token) <= 1))
        ready++;
    if (ready == 0)
        return PGCDC_OK;
    now = pgcdc__now_us();
    if (!force && ready < 64 && now - s->saved_us < SAVE_EVERY_US)
        return PGCDC_OK;
    s->saved_us = now;
    while (n < ready) {
        pending *p = &s->fifo[n];
        pgcdc__snap_seg *seg = &s->plan.segs[p->seg];
        pgcdc__snap_table *t = &s->plan.tables[seg->table];
        int done = 1;

        if (p->key != NULL) {
            pgcdc__snap_keys_free(seg->acked, pgcdc__snap_width(t));
            seg->acked = p->key;
            p->key = NULL;
        }
        seg->done |= p->seg_end;
        pthread_mutex_lock(&s->mu);
        t->rows_done += p->rows;
        for (int i = 0; i < s->plan.nsegs; i++)
            if (s->plan.segs[i].table == seg->table && !s->plan.segs[i].done)
                done = 0;
        t->done = done;
        pthread_mutex_unlock(&s->mu);
        tokens[n++] = p->token;
    }
    if (n == 0)
        return PGCDC_OK;
    /* Durable before the slot may be confirmed past these chunks. */
    r = pgcdc__snap_save(&w->ctx, &s->plan, s->state_path);
    if (r != PGCDC_OK)
        return r;
    for (int i = 0; i < n; i++)
        if (tokens[i] != 0)
            pgcdc__ledger_ack(&w->ledger, tokens[i]);
    memmove(s->fifo, s->fifo + n, sizeof(*s->fifo) * (size_t)(s->nfifo - n));
    s->nfifo -= n;
    log_progress(w, 0);
    return PGCDC_OK;
}

int pgcdc__snapshot_poll(pgcdc_worker *w, int force)
{
    pgcdc__snaprun *s = w->snap;
    int r;

    if (s == NULL || (s->phase == PHASE_NONE && s->nfifo == 0 && s->plan.nsegs == 0))
        return PGCDC_OK;
    r = keep_progress(w, force);
    if (r != PGCDC_OK)
        return r;
    if (s->phase == PHASE_INCREMENTAL)
        r = pgcdc__snap_inc_poll(w);
    if (r == PGCDC_OK && s->phase != PHASE_INITIAL && s->nfifo == 0 && s->cstate == CHUNK_IDLE &&
        s->plan.nsegs > 0 && pgcdc__snap_done(&s->plan)) {
        log_progress(w, 1);
        pgcdc__log(&w->ctx, PGCDC_LOG_INFO, "snapshot done: %llu rows",
                   (unsigned long long)s->rows_sent);
        pgcdc__snap_forget(s->state_path);
        pgcdc__snap_inc_free(s);
        pthread_mutex_lock(&s->mu);
        s->shown = 0;
        pgcdc__snap_plan_clear(&s->plan);
        pthread_mutex_unlock(&s->mu);
        s->phase = PHASE_NONE;
    }
    return r;
}

/* ---- the initial snapshot ---- */

/*
 * Where the segment of a chunk read by pages stands after it: the page of
 * its last row, as the snapshot sees it (the pages before it are read and
 * that one is read again on a resume).  NULL in *key: as before.
 */
static int bound_page(pgcdc_worker *w, const pgcdc__snap_block *b, char ***key)
{
    pgcdc__snaprun *s = w->snap;
    uint64_t page;
    char num[24];
    char *p = num;
    int r;

    *key = NULL;
    r = pgcdc__snap_locate(&w->ctx, s->look, &s->plan.tables[s->plan.segs[b->seg].table], b->bound,
                           &page);
    if (r != PGCDC_OK || page == UINT64_MAX)
        return r;
    snprintf(num, sizeof(num), "%llu", (unsigned long long)page);
    *key = pgcdc__snap_keys_dup(&p, 1);
    return *key == NULL ? pgcdc__snap_fail_oom(w) : PGCDC_OK;
}

/* The next event of the initial snapshot. */
static int initial_next(pgcdc_worker *w, const pgcdc_change **out, int pull)
{
    pgcdc__snaprun *s = w->snap;
    pgcdc__snap_block *b = s->blk;
    int r;

    if (b == NULL) {
        r = pgcdc__snap_readers_next(s->readers, s->pin, &b, 0);
        if (r == 0)
            return 1;
        if (r == 2) {
            s->phase = PHASE_NONE;
            pgcdc__snap_readers_free(s->readers);
            s->readers = NULL;
            pgcdc__snap_disconnect(s->look);
            s->look = NULL;
            return PGCDC_OK;
        }
        if (r < 0)
            return pgcdc__fail(&w->ctx, r, "snapshot: %s", pgcdc__snap_readers_error(s->readers));
        s->blk = b;
        s->pos = 0;
        s->pin = b->reader;
        if (b->bound != NULL && s->look != NULL) {
            r = bound_page(w, b, &b->key);
            if (r != PGCDC_OK) {
                pgcdc__snap_readers_release(s->readers, b);
                s->blk = NULL;
                s->pin = -1;
                return r;
            }
        }
        if (b->first && b->last && b->rows == 0) {
            /* An empty chunk: its progress, nothing to hand out. */
            r = pgcdc__snap_push_empty(w, b->seg, b->key, b->seg_end);
            b->key = NULL;
            pgcdc__snap_readers_release(s->readers, b);
            s->blk = NULL;
            s->pin = -1;
            return r;
        }
        if (b->first)
            return pgcdc__snap_emit_begin(w, s->plan.lsn, PGCDC_SNAPSHOT_INITIAL);
    }
    if (s->pos < b->data.len) {
        char *line = (char *)b->data.data + s->pos;
        char *nl = memchr(line, '\n', b->data.len - s->pos);
        size_t len = nl != NULL ? (size_t)(nl - line) : b->data.len - s->pos;
        int last;

        s->pos += len + 1;
        last = b->last && b->seg_end && s->segs_left == 1 && s->pos >= b->data.len;
        return pgcdc__snap_emit_row(w, s->plan.segs[b->seg].table, line, len, last, out, pull);
    }
    if (b->last) {
        uint64_t rows = s->txn.nchanges;

        r = pgcdc__snap_emit_commit(w, b->seg, b->key, rows, b->seg_end);
        b->key = NULL;
        s->pin = -1;
        if (r != PGCDC_OK) {
            pgcdc__snap_readers_release(s->readers, b);
            s->blk = NULL;
            return r;
        }
    }
    pgcdc__snap_readers_release(s->readers, b);
    s->blk = NULL;
    return PGCDC_OK;
}

int pgcdc__snapshot_next(pgcdc_worker *w, const pgcdc_change **out, int pull)
{
    pgcdc__snaprun *s = w->snap;
    int r;

    if (s->phase == PHASE_INITIAL)
        return initial_next(w, out, pull);
    if (s->cstate == CHUNK_EMIT)
        return pgcdc__snap_inc_next(w, out, pull);
    if (s->defer_stream) {
        /* The initial snapshot is handed out: initial_only waits for its acknowledgements. */
        r = keep_progress(w, 1);
        if (r != PGCDC_OK)
            return r;
        if (w->cfg.snapshot_mode == PGCDC_SNAPSHOT_MODE_INITIAL_ONLY && s->nfifo > 0)
            return 1;
        s->defer_stream = 0;
        return 2;
    }
    return PGCDC_OK;
}

void pgcdc__snapshot_wait(pgcdc_worker *w, int timeout_ms)
{
    pgcdc__snaprun *s = w->snap;

    if (s->phase == PHASE_INITIAL && s->blk == NULL && s->readers != NULL)
        pgcdc__snap_readers_wait(s->readers, s->pin, timeout_ms);
    else
        pgcdc__stop_sleep(&w->stop, timeout_ms < 10 ? timeout_ms : 10);
}

void pgcdc__snapshot_stats(const pgcdc_worker *w, pgcdc_stats *st)
{
    pgcdc__snaprun *s = w->snap;

    if (s == NULL)
        return;
    pthread_mutex_lock(&s->mu);
    for (int i = 0; i < s->shown; i++) {
        st->snapshot_rows += __atomic_load_n(&s->sent[i], __ATOMIC_RELAXED);
        st->snapshot_rows_estimate += s->plan.tables[i].rows_estimate;
        st->snapshot_tables++;
        st->snapshot_tables_done += s->plan.tables[i].done != 0;
    }
    pthread_mutex_unlock(&s->mu);
}

int pgcdc_worker_snapshot_table(const pgcdc_worker *w, int i, pgcdc_snapshot_table *out)
{
    pgcdc__snaprun *s = w->snap;
    int r = PGCDC_ERR_RANGE;

    memset(out, 0, sizeof(*out));
    if (s == NULL)
        return r;
    pthread_mutex_lock(&s->mu);
    if (i >= 0 && i < s->shown) {
        const pgcdc__snap_table *t = &s->plan.tables[i];

        snprintf(out->table, sizeof(out->table), "%s", t->route != NULL ? t->route : t->quoted);
        out->rows = __atomic_load_n(&s->sent[i], __ATOMIC_RELAXED);
        out->rows_estimate = t->rows_estimate;
        out->done = t->done;
        r = PGCDC_OK;
    }
    pthread_mutex_unlock(&s->mu);
    return r;
}

int pgcdc_worker_request_snapshot(pgcdc_worker *w, const char *tables, const char *where)
{
    pgcdc__buf j;
    char lsn_text[32];
    uint64_t lsn = 0;
    const char *p = tables;
    int n = 0;
    int r;

    if (w->cfg.conninfo == NULL)
        return pgcdc__fail(&w->ctx, PGCDC_ERR_INVALID,
                           "no connection string (set one, e.g. \"host=... dbname=...\")");
    pgcdc__buf_init(&j);
    pgcdc__buf_lit(&j, "{\"snapshot\":[");
    while (p != NULL && *p != '\0') {
        const char *comma = strchr(p, ',');
        size_t len = comma != NULL ? (size_t)(comma - p) : strlen(p);
        char name[256];

        if (len > 0 && len < sizeof(name)) {
            memcpy(name, p, len);
            name[len] = '\0';
            if (n++ > 0)
                pgcdc__buf_u8(&j, ',');
            pgcdc__json_cstring(&j, name);
        }
        p = comma != NULL ? comma + 1 : NULL;
    }
    pgcdc__buf_u8(&j, ']');
    if (where != NULL) {
        pgcdc__buf_lit(&j, ",\"where\":");
        pgcdc__json_cstring(&j, where);
    }
    pgcdc__buf_u8(&j, '}');
    if (n == 0)
        r = pgcdc__fail(&w->ctx, PGCDC_ERR_INVALID,
                        "no table to snapshot (give \"schema.table\", comma-separated)");
    else if (j.oom)
        r = pgcdc__snap_fail_oom(w);
    else
        r = pgcdc__snap_signal(&w->ctx, w->cfg.conninfo, pgcdc__buf_cstr(&j), &lsn);
    if (r == PGCDC_OK)
        pgcdc__log(&w->ctx, PGCDC_LOG_INFO, "asked for a snapshot of %s at %s", tables,
                   pgcdc_lsn_format(lsn, lsn_text, sizeof(lsn_text)));
    pgcdc__buf_free(&j);
    return r;
}

int pgcdc__snapshot_in_chunk(const pgcdc_worker *w)
{
    return w->snap != NULL && w->snap->begun;
}

void pgcdc__snapshot_reconnected(pgcdc_worker *w)
{
    if (w->snap != NULL && w->snap->cstate == CHUNK_WINDOW)
        w->snap->cstate = CHUNK_WAIT_LOW;
}
