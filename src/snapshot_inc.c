/*
 * Incremental snapshots (the DBLog method): while streaming, each chunk of
 * a table is read in key order between two watermarks written into the
 * WAL; a row the stream changed between them (or a transaction the chunk's
 * snapshot did not see changed, wherever its commit falls) is dropped from
 * the chunk, and what is left goes out as READ rows where the closing
 * watermark lies in the stream.  The slot keeps advancing meanwhile.  A
 * pgcdc.signal message asks for a snapshot of some tables while running.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "snapshot_int.h"

/* The first chunk's rows, before the rows' size is known. */
#define FIRST_CHUNK_ROWS 1000

/* Sizes the per-segment arrays for the plan, keeping what they hold. */
static int size_segs(pgcdc_worker *w, int old)
{
    pgcdc__snaprun *s = w->snap;
    char ***next = realloc(s->next, sizeof(*next) * (size_t)(s->plan.nsegs + 1));
    int *end;

    if (next == NULL)
        return pgcdc__snap_fail_oom(w);
    s->next = next;
    end = realloc(s->read_end, sizeof(*end) * (size_t)(s->plan.nsegs + 1));
    if (end == NULL)
        return pgcdc__snap_fail_oom(w);
    s->read_end = end;
    for (int i = old; i < s->plan.nsegs; i++) {
        const pgcdc__snap_seg *seg = &s->plan.segs[i];

        s->next[i] =
            pgcdc__snap_keys_dup(seg->acked, pgcdc__snap_width(&s->plan.tables[seg->table]));
        if (seg->acked != NULL && s->next[i] == NULL)
            return pgcdc__snap_fail_oom(w);
        s->read_end[i] = seg->done;
    }
    return PGCDC_OK;
}

/* Tables an incremental snapshot cannot read: say which and why. */
static int check_tables(pgcdc_worker *w)
{
    pgcdc__snaprun *s = w->snap;

    for (int i = 0; i < s->plan.nsegs; i++) {
        const pgcdc__snap_table *t = &s->plan.tables[s->plan.segs[i].table];

        if (!s->plan.segs[i].done && t->nkey == 0 && s->plan.kind == PGCDC_SNAPSHOT_INITIAL)
            return pgcdc__fail(&w->ctx, PGCDC_ERR_TABLE,
                               "the initial snapshot was cut short before the end of table %s, "
                               "which has no primary key: it cannot go on consistently while "
                               "streaming (drop the slot with --drop-slot and start again, or add "
                               "a primary key)",
                               t->quoted);
        if (!s->plan.segs[i].done && t->nkey == 0)
            return pgcdc__fail(&w->ctx, PGCDC_ERR_TABLE,
                               "table %s has no primary key: an incremental snapshot reads it in "
                               "key order (add a primary key, or take an initial snapshot with a "
                               "new slot)",
                               t->quoted);
    }
    return PGCDC_OK;
}

int pgcdc__snap_inc_setup(pgcdc_worker *w)
{
    pgcdc__snaprun *s = w->snap;
    int r;

    if (w->cat.server_version < 140000)
        return pgcdc__fail(&w->ctx, PGCDC_ERR_INVALID,
                           "incremental snapshots need PostgreSQL 14 or later (pgoutput sends "
                           "their watermarks from 14 on); this server is %d",
                           w->cat.server_version);
    r = check_tables(w);
    if (r == PGCDC_OK)
        r = size_segs(w, 0);
    if (r == PGCDC_OK && s->conn == NULL)
        s->conn = pgcdc__snap_connect(&w->ctx, w->cfg.conninfo, NULL, &r);
    if (r != PGCDC_OK)
        return r;
    s->phase = PHASE_INCREMENTAL;
    if (s->limit == 0)
        s->limit = w->cfg.snapshot_chunk_rows < FIRST_CHUNK_ROWS ? w->cfg.snapshot_chunk_rows
                                                                 : FIRST_CHUNK_ROWS;
    return PGCDC_OK;
}

void pgcdc__snap_inc_free(pgcdc__snaprun *s)
{
    for (int i = 0; s->next != NULL && i < s->plan.nsegs; i++)
        pgcdc__snap_keys_free(s->next[i],
                              pgcdc__snap_width(&s->plan.tables[s->plan.segs[i].table]));
    free(s->next);
    free(s->read_end);
    s->next = NULL;
    s->read_end = NULL;
    if (s->cstate != CHUNK_IDLE || s->chunk.data.data != NULL)
        pgcdc__chunk_free(&s->chunk);
    if (s->ckey != NULL)
        pgcdc__snap_keys_free(s->ckey,
                              pgcdc__snap_width(&s->plan.tables[s->plan.segs[s->cseg].table]));
    s->ckey = NULL;
    free(s->xip);
    s->xip = NULL;
}

static int add_row(void *opaque, const char *line, int len)
{
    pgcdc__chunk *c = opaque;

    return pgcdc__chunk_add(c, line, (size_t)len);
}

static int watermark(pgcdc_worker *w, char kind, uint64_t *lsn)
{
    pgcdc__snaprun *s = w->snap;
    char content[96];

    snprintf(content, sizeof(content), "%s:%llx:%llu:%c", w->cfg.slot, (unsigned long long)s->run,
             (unsigned long long)s->cid, kind);
    return pgcdc__snap_emit(&w->ctx, s->conn, 0, PGCDC__WATERMARK_PREFIX, content, lsn);
}

/*
 * Whether xid's changes are missing from the chunk: it was running when the
 * chunk's snapshot was taken, or began (or had its xid) from xmax on, which
 * pg_current_snapshot() does not list.  Compared as PostgreSQL compares
 * 32-bit xids, modulo 2^32.
 */
static int unseen(const pgcdc__snaprun *s, uint32_t xid)
{
    if ((int32_t)(xid - s->xmax) >= 0)
        return 1;
    for (int i = 0; i < s->nxip; i++)
        if (s->xip[i] == xid)
            return 1;
    return 0;
}

/* Whether the chunk's snapshot did not see a transaction the stream handed out already. */
static int saw_running(const pgcdc__snaprun *s)
{
    for (size_t k = 0; k < sizeof(s->recent) / sizeof(s->recent[0]); k++)
        if (s->recent[k] != 0 && unseen(s, s->recent[k]))
            return 1;
    return 0;
}

/* Reads the next chunk of segment i between its watermarks. */
static int read_chunk(pgcdc_worker *w, int i)
{
    pgcdc__snaprun *s = w->snap;
    pgcdc__snap_seg *seg = &s->plan.segs[i];
    pgcdc__snap_table *t = &s->plan.tables[seg->table];
    uint64_t next = 0;
    long rows = 0;
    int r;

    s->cid++;
    s->cseg = i;
    pgcdc__chunk_init(&s->chunk, t->rel->ncols, t->nkey, t->key_cols);
    free(s->xip);
    s->xip = NULL;
    for (int tries = 0;; tries++) {
        r = watermark(w, 'L', &s->low_lsn);
        if (r == PGCDC_OK)
            r = pgcdc__snap_begin_read(&w->ctx, s->conn, &s->xip, &s->nxip, &s->xmax);
        if (r != PGCDC_OK || !saw_running(s) || tries == 1000)
            break;
        /* A transaction handed out already is not visible yet: a moment, then again. */
        r = pgcdc__snap_end_read(&w->ctx, s->conn);
        if (r != PGCDC_OK)
            break;
        free(s->xip);
        s->xip = NULL;
        pgcdc__stop_sleep(&w->stop, 1);
    }
    if (r == PGCDC_OK)
        r = pgcdc__snap_read(&w->ctx, s->conn, &s->plan, seg, s->next[i],
                             t->by_pages ? pgcdc__snap_chunk_pages(t, s->limit) : s->limit, add_row,
                             &s->chunk, &rows, &next);
    if (r == PGCDC_OK)
        r = pgcdc__snap_end_read(&w->ctx, s->conn);
    if (r == PGCDC_OK)
        r = watermark(w, 'H', &s->high_lsn);
    if (r == PGCDC_OK)
        r = pgcdc__chunk_index(&s->chunk) == PGCDC_OK ? PGCDC_OK : pgcdc__snap_fail_oom(w);
    if (r != PGCDC_OK) {
        pgcdc__chunk_free(&s->chunk);
        return r;
    }
    if (t->by_pages) {
        /* A page range (an initial snapshot resumed): on from the page after it. */
        char page[24];
        char *p = page;

        s->cend = next == UINT64_MAX || (seg->hi != NULL && next >= strtoull(seg->hi[0], NULL, 10));
        snprintf(page, sizeof(page), "%llu", (unsigned long long)next);
        if (!s->cend && (s->ckey = pgcdc__snap_keys_dup(&p, 1)) == NULL)
            return pgcdc__snap_fail_oom(w);
    } else {
        s->cend = rows < s->limit;
        if (rows > 0) {
            /* The next chunk starts after this one's last key. */
            size_t len;
            char *line = pgcdc__chunk_row(&s->chunk, (uint32_t)rows - 1, &len);

            s->ckey = pgcdc__snap_row_key(t, line, len);
            if (s->ckey == NULL)
                return pgcdc__fail(&w->ctx, PGCDC_ERR_PROTOCOL,
                                   "could not read the key of the last row of a chunk of %s",
                                   t->quoted);
        }
    }
    if (rows > 0) {
        /* The next chunks' size from this one's rows. */
        long per = (long)(s->chunk.data.len / (size_t)rows) + 1;

        s->limit = (long)(w->cfg.snapshot_chunk_bytes / per);
        if (s->limit > w->cfg.snapshot_chunk_rows)
            s->limit = w->cfg.snapshot_chunk_rows;
        if (s->limit < 1)
            s->limit = 1;
    }
    s->cstate = CHUNK_WAIT_LOW;
    return PGCDC_OK;
}

int pgcdc__snap_inc_poll(pgcdc_worker *w)
{
    pgcdc__snaprun *s = w->snap;

    if (s->cstate != CHUNK_IDLE || s->defer_stream || pgcdc__assembly_in_txn(w->ta))
        return PGCDC_OK;
    for (int i = 0; i < s->plan.nsegs; i++) {
        if (!s->read_end[i]) {
            int r;

            /* The keeper keeps the stream's status flowing while the chunk is read. */
            pgcdc__worker_busy(w, 1);
            r = read_chunk(w, i);
            pgcdc__worker_busy(w, 0);
            return r;
        }
    }
    return PGCDC_OK;
}

/* The chunk is handed out (or dropped whole): where its segment goes on from. */
static int chunk_over(pgcdc_worker *w, int emitted)
{
    pgcdc__snaprun *s = w->snap;
    int i = s->cseg;
    int width = pgcdc__snap_width(&s->plan.tables[s->plan.segs[i].table]);
    char **key = s->ckey;
    int r;

    if (key != NULL) {
        char **dup = pgcdc__snap_keys_dup(key, width);

        if (dup == NULL)
            return pgcdc__snap_fail_oom(w);
        pgcdc__snap_keys_free(s->next[i], width);
        s->next[i] = dup;
    }
    s->read_end[i] = s->cend;
    s->ckey = NULL;
    if (emitted)
        r = pgcdc__snap_emit_commit(w, i, key, s->txn.nchanges, s->cend);
    else
        r = pgcdc__snap_push_empty(w, i, key, s->cend);
    pgcdc__chunk_free(&s->chunk);
    s->cstate = CHUNK_IDLE;
    return r;
}

int pgcdc__snap_inc_next(pgcdc_worker *w, const pgcdc_change **out, int pull)
{
    pgcdc__snaprun *s = w->snap;
    pgcdc__chunk *c = &s->chunk;
    int ti = s->plan.segs[s->cseg].table;
    uint32_t next;

    while (s->epos < c->nrows && c->dropped[s->epos])
        s->epos++;
    if (!s->begun) {
        if (s->epos >= c->nrows)
            return chunk_over(w, 0); /* every row was changed by the stream meanwhile */
        return pgcdc__snap_emit_begin(w, s->high_lsn, PGCDC_SNAPSHOT_INCREMENTAL);
    }
    if (s->epos < c->nrows) {
        size_t len;
        char *line = pgcdc__chunk_row(c, s->epos, &len);
        int last;

        s->epos++;
        next = s->epos;
        while (next < c->nrows && c->dropped[next])
            next++;
        last = next >= c->nrows && s->cend && s->segs_left == 1;
        return pgcdc__snap_emit_row(w, ti, line, len, last, out, pull);
    }
    return chunk_over(w, 1);
}

void pgcdc__snapshot_change(pgcdc_worker *w, const pgcdc_change *c)
{
    pgcdc__snaprun *s = w->snap;
    const pgcdc__snap_table *t;

    if (s == NULL)
        return;
    if (c->txn->xid != 0 && s->recent[(s->recent_at - 1) % 256] != c->txn->xid)
        s->recent[s->recent_at++ % 256] = c->txn->xid;
    if (s->cstate != CHUNK_WINDOW && s->cstate != CHUNK_WAIT_LOW)
        return;
    if (s->cstate == CHUNK_WAIT_LOW && !unseen(s, c->txn->xid))
        return;
    t = &s->plan.tables[s->plan.segs[s->cseg].table];
    if (c->rel->relid != t->oid)
        return;
    if (c->op == PGCDC_OP_TRUNCATE || c->rel->ncols != t->rel->ncols) {
        /* Truncated (or reshaped) inside the window: the stream has the table's story. */
        pgcdc__chunk_drop_all(&s->chunk);
        return;
    }
    if (c->has_new)
        pgcdc__chunk_drop(&s->chunk, &c->new_row);
    if (c->has_old)
        pgcdc__chunk_drop(&s->chunk, &c->old_row);
}

/* ---- messages: watermarks and signals ---- */

/* The strings of the JSON array after "key": in content (no nesting); n found, at most max. */
static int json_strings(const char *content, size_t len, const char *key, char out[][256], int max)
{
    char pat[32];
    const char *p;
    const char *end = content + len;
    int n = 0;

    snprintf(pat, sizeof(pat), "\"%s\"", key);
    p = memmem(content, len, pat, strlen(pat));
    if (p == NULL)
        return -1;
    p += strlen(pat);
    while (p < end && (*p == ' ' || *p == ':'))
        p++;
    if (p < end && *p == '"') {
        /* A single string. */
        size_t k = 0;

        for (p++; p < end && *p != '"' && k < 255; p++)
            out[0][k++] = *p == '\\' && p + 1 < end ? *++p : *p;
        out[0][k] = '\0';
        return 1;
    }
    if (p >= end || *p != '[')
        return -1;
    for (p++; p < end && *p != ']' && n < max;) {
        size_t k = 0;

        if (*p != '"') {
            p++;
            continue;
        }
        for (p++; p < end && *p != '"' && k < 255; p++)
            out[n][k++] = *p == '\\' && p + 1 < end ? *++p : *p;
        out[n++][k] = '\0';
        p++;
    }
    return n;
}

/* The catalog's table named "schema.name" (or "name"), or NULL. */
static const pgcdc__table_info *listed(pgcdc_worker *w, const char *name)
{
    for (int i = 0; i < w->cat.ts.ntables; i++) {
        const pgcdc__table_info *t = &w->cat.ts.tables[i];
        char route[300];

        snprintf(route, sizeof(route), "%s.%s", t->schema, t->name);
        if (strcmp(route, name) == 0 || strcmp(t->name, name) == 0 || strcmp(t->quoted, name) == 0)
            return t;
    }
    return NULL;
}

static int signal(pgcdc_worker *w, const pgcdc__msg *m)
{
    pgcdc__snaprun *s = w->snap;
    char names[16][256];
    char where[1][256];
    int n = json_strings(m->u.message.content, m->u.message.len, "snapshot", names, 16);
    int has_where = json_strings(m->u.message.content, m->u.message.len, "where", where, 1) == 1;
    int old_segs = s->plan.nsegs;
    int added = 0;
    int r;

    if (m->u.message.lsn <= s->plan.signal_lsn)
        return PGCDC_OK; /* acted on before a restart */
    if (n <= 0) {
        pgcdc__log(&w->ctx, PGCDC_LOG_WARNING,
                   "ignoring a pgcdc.signal message without a \"snapshot\" list of tables (e.g. "
                   "{\"snapshot\":[\"public.orders\"]})");
        return PGCDC_OK;
    }
    for (int i = 0; i < n; i++) {
        const pgcdc__table_info *info = listed(w, names[i]);
        pgcdc__snap_table t;
        int ti;

        if (info == NULL) {
            pgcdc__log(&w->ctx, PGCDC_LOG_WARNING,
                       "snapshot signal: \"%s\" is not a table this pipeline streams (skipped)",
                       names[i]);
            continue;
        }
        memset(&t, 0, sizeof(t));
        t.quoted = info->quoted;
        t.where = has_where ? where[0] : NULL;
        /* The array may move: not while another thread reads the tables shown. */
        pthread_mutex_lock(&s->mu);
        ti = pgcdc__snap_add_table(&s->plan, &t);
        pthread_mutex_unlock(&s->mu);
        if (ti < 0)
            return pgcdc__snap_fail_oom(w);
        r = pgcdc__snap_describe_table(w, s->conn, ti);
        if (r == PGCDC_OK && s->plan.tables[ti].nkey == 0)
            r = pgcdc__fail(&w->ctx, PGCDC_ERR_TABLE,
                            "table %s has no primary key: an incremental snapshot reads it in key "
                            "order (add a primary key)",
                            info->quoted);
        if (r != PGCDC_OK) {
            /* A snapshot that cannot be taken is told, and the stream goes on. */
            pgcdc__log(&w->ctx, PGCDC_LOG_ERROR, "snapshot signal: %s", w->ctx.msg);
            s->plan.ntables--;
            free(s->plan.tables[ti].quoted);
            free(s->plan.tables[ti].route);
            free(s->plan.tables[ti].where);
            continue;
        }
        if (pgcdc__snap_add_seg(&s->plan, ti, NULL, NULL) < 0)
            return pgcdc__snap_fail_oom(w);
        pgcdc__log(&w->ctx, PGCDC_LOG_INFO, "snapshot of %s asked for by a signal%s%s",
                   s->plan.tables[ti].route, has_where ? " where " : "", has_where ? where[0] : "");
        added++;
    }
    s->plan.signal_lsn = m->u.message.lsn;
    if (added == 0)
        return PGCDC_OK;
    if (s->plan.kind == 0)
        s->plan.kind = PGCDC_SNAPSHOT_INCREMENTAL;
    r = pgcdc__snap_save(&w->ctx, &s->plan, s->state_path);
    if (r == PGCDC_OK)
        r = pgcdc__snap_counters(w);
    if (r == PGCDC_OK)
        r = size_segs(w, old_segs);
    if (r == PGCDC_OK && s->phase != PHASE_INCREMENTAL)
        r = pgcdc__snap_inc_setup(w);
    return r;
}

int pgcdc__snapshot_message(pgcdc_worker *w, const pgcdc__msg *m)
{
    pgcdc__snaprun *s = w->snap;
    const char *prefix = m->u.message.prefix;
    char expect[96];
    size_t n;

    if (s == NULL)
        return PGCDC_OK;
    if (strcmp(prefix, PGCDC__SIGNAL_PREFIX) == 0) {
        if (s->conn == NULL) {
            int r = PGCDC_OK;

            s->conn = pgcdc__snap_connect(&w->ctx, w->cfg.conninfo, NULL, &r);
            if (r != PGCDC_OK)
                return r;
        }
        return signal(w, m);
    }
    if (strcmp(prefix, PGCDC__WATERMARK_PREFIX) != 0 || s->cstate == CHUNK_IDLE)
        return PGCDC_OK;
    /* Ours, of this chunk: "<slot>:<run>:<chunk>:" then L or H. */
    snprintf(expect, sizeof(expect), "%s:%llx:%llu:", w->cfg.slot, (unsigned long long)s->run,
             (unsigned long long)s->cid);
    n = strlen(expect);
    if (m->u.message.len != n + 1 || memcmp(m->u.message.content, expect, n) != 0)
        return PGCDC_OK;
    if (m->u.message.content[n] == 'L' && s->cstate == CHUNK_WAIT_LOW) {
        s->cstate = CHUNK_WINDOW;
    } else if (m->u.message.content[n] == 'H' && s->cstate == CHUNK_WINDOW) {
        s->cstate = CHUNK_EMIT;
        s->epos = 0;
        s->begun = 0;
    }
    return PGCDC_OK;
}
