/*
 * A snapshot's SQL (see snapshot.h).  Every identifier comes from the
 * catalog through quote_ident and every key value is a literal escaped by
 * libpq, cast to the key column's type.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "pg/conn.h"
#include "pg/snapshot.h"
#include "pgcdc.h"
#include "wire/copy.h"

/*
 * The value text the stream's session settings give (pg/conn.c), for a
 * normal connection; and scans that start at a table's first page and
 * run in one process (no parallel workers), so a scan's rows come in page
 * order (progress is kept by page).
 */
#define SESSION_SQL                                                                                \
    "SET datestyle = ISO; SET intervalstyle = postgres; SET timezone = UTC; "                      \
    "SET bytea_output = hex; SET extra_float_digits = 1; SET synchronize_seqscans = off; "         \
    "SET max_parallel_workers_per_gather = 0"

/* Appends s without its NUL (pgcdc__buf_str writes a wire string, NUL included). */
static void text(pgcdc__buf *b, const char *s)
{
    pgcdc__buf_put(b, s, strlen(s));
}

/* A sample for cutting a table into segments: about this many rows per segment. */
#define SAMPLE_ROWS_PER_SEG 200

int pgcdc__snap_export(pgcdc__ctx *ctx, const char *conninfo, const char *slot, int failover,
                       uint64_t *lsn, char name[64], PGconn **hold)
{
    char sql[160];
    PGresult *res;
    PGconn *conn;
    int r;

    *hold = NULL;
    conn = pgcdc__connect(ctx, conninfo, 1, NULL, &r);
    if (conn == NULL)
        return r;
    pgcdc__log(ctx, PGCDC_LOG_INFO,
               "creating %sreplication slot \"%s\" with an exported snapshot (waits for running "
               "transactions to finish)",
               failover ? "failover " : "", slot);
    /* The slot name is validated to [a-z0-9_] by the configuration.  Options in
     * parentheses came with PostgreSQL 15; failover, which needs them, with 17. */
    if (failover)
        snprintf(sql, sizeof(sql),
                 "CREATE_REPLICATION_SLOT %s LOGICAL pgoutput (SNAPSHOT 'export', FAILOVER true)",
                 slot);
    else
        snprintf(sql, sizeof(sql), "CREATE_REPLICATION_SLOT %s LOGICAL pgoutput EXPORT_SNAPSHOT",
                 slot);
    res = pgcdc__query(ctx, conn, "create replication slot", sql, 0, NULL, NULL);
    if (res == NULL) {
        PQfinish(conn);
        return ctx != NULL && ctx->interrupted ? PGCDC_ERR_STOPPED : PGCDC_ERR_SQL;
    }
    pgcdc_lsn_parse(PQgetvalue(res, 0, 1), lsn);
    snprintf(name, 64, "%s", PQgetvalue(res, 0, 2));
    pgcdc__log(ctx, PGCDC_LOG_INFO, "created replication slot \"%s\" at %s (snapshot %s)", slot,
               PQgetvalue(res, 0, 1), name);
    PQclear(res);
    *hold = conn;
    return PGCDC_OK;
}

PGconn *pgcdc__snap_connect(pgcdc__ctx *ctx, const char *conninfo, const char *snapshot, int *err)
{
    PGconn *conn = pgcdc__connect(ctx, conninfo, 0, NULL, err);
    char sql[128];

    if (conn == NULL)
        return NULL;
    *err = pgcdc__exec(ctx, conn, "set the session for reading", SESSION_SQL, NULL);
    if (*err == PGCDC_OK && snapshot != NULL) {
        *err = pgcdc__exec(ctx, conn, "begin the snapshot's transaction",
                           "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY", NULL);
        /* The name comes from the server: hex digits and dashes. */
        snprintf(sql, sizeof(sql), "SET TRANSACTION SNAPSHOT '%s'", snapshot);
        if (*err == PGCDC_OK)
            *err = pgcdc__exec(ctx, conn, "import the slot's snapshot", sql, NULL);
    }
    if (*err != PGCDC_OK) {
        PQfinish(conn);
        return NULL;
    }
    return conn;
}

static int oom(pgcdc__ctx *ctx)
{
    return pgcdc__fail(ctx, PGCDC_ERR_NOMEM, "out of memory");
}

/* The relation as a Relation message would carry it, into the cache. */
static int cache_relation(pgcdc__ctx *ctx, PGresult *res, pgcdc__relcache *rc,
                          const pgcdc__tableset *ts, uint32_t oid, pgcdc__relation **out)
{
    int n = PQntuples(res);
    pgcdc__relcol *cols = calloc((size_t)n + 1, sizeof(*cols));
    pgcdc__msg m;

    if (cols == NULL)
        return oom(ctx);
    memset(&m, 0, sizeof(m));
    m.type = PGCDC_MSG_RELATION;
    m.u.relation.relid = oid;
    m.u.relation.nspname = PQgetvalue(res, 0, 5);
    m.u.relation.relname = PQgetvalue(res, 0, 6);
    m.u.relation.replident = PQgetvalue(res, 0, 4)[0];
    m.u.relation.ncols = (uint16_t)n;
    m.u.relation.cols = cols;
    for (int i = 0; i < n; i++) {
        cols[i].name = PQgetvalue(res, i, 0);
        cols[i].type_oid = (uint32_t)strtoul(PQgetvalue(res, i, 1), NULL, 10);
        cols[i].typmod = (int32_t)strtol(PQgetvalue(res, i, 2), NULL, 10);
        cols[i].flags = strcmp(PQgetvalue(res, i, 3), "t") == 0;
    }
    *out = pgcdc__relcache_update(rc, &m, PGCDC__KEEP_NONE);
    free(cols);
    if (*out == NULL || pgcdc__relation_complete(*out, ts) != PGCDC_OK)
        return oom(ctx);
    return PGCDC_OK;
}

int pgcdc__snap_describe(pgcdc__ctx *ctx, PGconn *conn, pgcdc__relcache *rc,
                         const pgcdc__tableset *ts, const pgcdc__table_info *ti,
                         pgcdc__snap_table *t)
{
    char oid[16];
    const char *params[1] = {oid};
    pgcdc__buf list;
    PGresult *res;
    int r;

    snprintf(oid, sizeof(oid), "%u", ti->oid);
    res = pgcdc__query(
        ctx, conn, "describe the table for its snapshot",
        "SELECT a.attname, a.atttypid, a.atttypmod, "
        "c.relreplident = 'f' OR a.attnum = ANY (coalesce((SELECT i.indkey::int2[] FROM pg_index i "
        "WHERE i.indrelid = c.oid AND CASE c.relreplident WHEN 'i' THEN i.indisreplident "
        "WHEN 'd' THEN i.indisprimary ELSE false END LIMIT 1), '{}')), "
        "c.relreplident, n.nspname, c.relname, greatest(c.reltuples, 0)::bigint, "
        "pg_relation_size(c.oid) / current_setting('block_size')::int, quote_ident(a.attname), "
        "format_type(a.atttypid, a.atttypmod), c.relkind "
        "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "JOIN pg_attribute a ON a.attrelid = c.oid "
        "WHERE c.oid = $1::oid AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = '' "
        "ORDER BY a.attnum",
        1, params, NULL);
    if (res == NULL)
        return PGCDC_ERR_SQL;
    if (PQntuples(res) == 0) {
        PQclear(res);
        return pgcdc__fail(ctx, PGCDC_ERR_TABLE, "table %s has no columns to read", ti->quoted);
    }
    r = cache_relation(ctx, res, rc, ts, ti->oid, &t->rel);
    if (r != PGCDC_OK) {
        PQclear(res);
        return r;
    }
    t->oid = ti->oid;
    t->rows_estimate = strtoull(PQgetvalue(res, 0, 7), NULL, 10);
    t->pages = strtoull(PQgetvalue(res, 0, 8), NULL, 10);
    t->relkind = PQgetvalue(res, 0, 11)[0];
    pgcdc__buf_init(&list);
    for (int i = 0; i < PQntuples(res); i++) {
        if (i > 0)
            pgcdc__buf_lit(&list, ", ");
        text(&list, PQgetvalue(res, i, 9));
    }
    t->select_list = pgcdc__buf_take(&list);
    /* The primary key, in key order, by the relation's column indexes. */
    t->nkey = ti->npk <= 32 ? ti->npk : 0; /* a key wider than 32 columns is read by pages */
    if (t->nkey > 0) {
        t->key_cols = calloc((size_t)t->nkey, sizeof(*t->key_cols));
        t->key_quoted = calloc((size_t)t->nkey, sizeof(*t->key_quoted));
        t->key_types = calloc((size_t)t->nkey, sizeof(*t->key_types));
        if (t->key_cols == NULL || t->key_quoted == NULL || t->key_types == NULL) {
            PQclear(res);
            return oom(ctx);
        }
        for (int k = 0; k < t->nkey; k++) {
            int col = -1;

            for (int i = 0; i < t->rel->ncols; i++)
                if (strcmp(t->rel->cols[i].name, ti->pk[k]) == 0)
                    col = i;
            if (col < 0) {
                PQclear(res);
                return pgcdc__fail(ctx, PGCDC_ERR_TABLE,
                                   "the primary key column \"%s\" of %s is not among its columns",
                                   ti->pk[k], ti->quoted);
            }

            t->key_cols[k] = col;
            t->key_quoted[k] = strdup(PQgetvalue(res, col, 9));
            t->key_types[k] = strdup(PQgetvalue(res, col, 10));
            if (t->key_quoted[k] == NULL || t->key_types[k] == NULL) {
                PQclear(res);
                return oom(ctx);
            }
        }
    }
    PQclear(res);
    return t->select_list == NULL ? oom(ctx) : PGCDC_OK;
}

/* "(k1, k2)" */
static void key_tuple(pgcdc__buf *b, const pgcdc__snap_table *t)
{
    pgcdc__buf_u8(b, '(');
    for (int k = 0; k < t->nkey; k++) {
        if (k > 0)
            pgcdc__buf_lit(b, ", ");
        text(b, t->key_quoted[k]);
    }
    pgcdc__buf_u8(b, ')');
}

/* "('v1'::type1, 'v2'::type2)" */
static int key_values(pgcdc__ctx *ctx, PGconn *conn, pgcdc__buf *b, const pgcdc__snap_table *t,
                      char *const *v)
{
    pgcdc__buf_u8(b, '(');
    for (int k = 0; k < t->nkey; k++) {
        char *lit = PQescapeLiteral(conn, v[k], strlen(v[k]));

        if (lit == NULL)
            return pgcdc__fail(ctx, PGCDC_ERR_SQL, "could not quote a key value: %s",
                               PQerrorMessage(conn));
        if (k > 0)
            pgcdc__buf_lit(b, ", ");
        text(b, lit);
        pgcdc__buf_lit(b, "::");
        text(b, t->key_types[k]);
        PQfreemem(lit);
    }
    pgcdc__buf_u8(b, ')');
    return PGCDC_OK;
}

int pgcdc__snap_split(pgcdc__ctx *ctx, PGconn *conn, pgcdc__snap_plan *p, int ti, int n)
{
    pgcdc__snap_table *t = &p->tables[ti];
    char **prev = NULL;
    pgcdc__buf sql;
    PGresult *res;
    double pct;
    int taken = 0;

    if (n <= 1 || (!t->by_pages && t->rows_estimate < (uint64_t)n * 1000) ||
        (t->by_pages && t->pages < (uint64_t)n * 8))
        return pgcdc__snap_add_seg(p, ti, NULL, NULL) < 0 ? oom(ctx) : PGCDC_OK;
    if (t->by_pages) {
        /* Page ranges of equal size; the last one open-ended (the table may grow). */
        for (int i = 0; i < n; i++) {
            char lo[24];
            char hi[24];
            char *plo = lo;
            char *phi = hi;

            snprintf(lo, sizeof(lo), "%llu", (unsigned long long)(t->pages * (uint64_t)i / n));
            snprintf(hi, sizeof(hi), "%llu",
                     (unsigned long long)(t->pages * (uint64_t)(i + 1) / n));
            if (pgcdc__snap_add_seg(p, ti, pgcdc__snap_keys_dup(&plo, 1),
                                    i + 1 < n ? pgcdc__snap_keys_dup(&phi, 1) : NULL) < 0)
                return oom(ctx);
        }
        return PGCDC_OK;
    }
    /* Key quantiles of a sample of about SAMPLE_ROWS_PER_SEG rows per segment. */
    pct = 100.0 * (double)(n * SAMPLE_ROWS_PER_SEG) / (double)t->rows_estimate;
    if (pct > 100.0)
        pct = 100.0;
    pgcdc__buf_init(&sql);
    pgcdc__buf_lit(&sql, "SELECT ");
    for (int k = 0; k < t->nkey; k++) {
        if (k > 0)
            pgcdc__buf_lit(&sql, ", ");
        text(&sql, t->key_quoted[k]);
        pgcdc__buf_lit(&sql, "::text");
    }
    pgcdc__buf_lit(&sql, " FROM ");
    text(&sql, t->quoted);
    {
        char num[64];

        snprintf(num, sizeof(num), " TABLESAMPLE SYSTEM (%.6f) ORDER BY ", pct);
        text(&sql, num);
    }
    for (int k = 0; k < t->nkey; k++) {
        if (k > 0)
            pgcdc__buf_lit(&sql, ", ");
        text(&sql, t->key_quoted[k]);
    }
    if (sql.oom) {
        pgcdc__buf_free(&sql);
        return oom(ctx);
    }
    res = pgcdc__query(ctx, conn, "sample the table's keys", pgcdc__buf_cstr(&sql), 0, NULL, NULL);
    pgcdc__buf_free(&sql);
    if (res == NULL)
        return PGCDC_ERR_SQL;
    for (int i = 1; i < n && PQntuples(res) >= n; i++) {
        int row = (int)((long)PQntuples(res) * i / n);
        char *v[32];
        char **hi;

        for (int k = 0; k < t->nkey; k++)
            v[k] = PQgetvalue(res, row, k);
        hi = pgcdc__snap_keys_dup(v, t->nkey);
        if (hi == NULL || pgcdc__snap_add_seg(p, ti, prev, hi) < 0) {
            PQclear(res);
            return oom(ctx);
        }
        prev = pgcdc__snap_keys_dup(hi, t->nkey);
        if (prev == NULL) {
            PQclear(res);
            return oom(ctx);
        }
        taken++;
    }
    PQclear(res);
    /* Quantiles may repeat on a small sample: a segment (a, a] is empty and harmless. */
    return pgcdc__snap_add_seg(p, ti, prev, NULL) < 0 ? oom(ctx) : PGCDC_OK;
}

/* No page: a bound left out of page_range(). */
#define NO_PAGE UINT64_MAX

/* ctid >= '(from,0)' AND ctid < '(to,0)', either bound left out (NO_PAGE); true with neither. */
static void page_range(pgcdc__buf *b, uint64_t from, uint64_t to)
{
    char num[96];

    if (from == NO_PAGE && to == NO_PAGE) {
        pgcdc__buf_lit(b, "true");
        return;
    }
    if (from != NO_PAGE)
        snprintf(num, sizeof(num), "ctid >= '(%llu,0)'::tid%s", (unsigned long long)from,
                 to != NO_PAGE ? " AND " : "");
    else
        num[0] = '\0';
    text(b, num);
    if (to != NO_PAGE) {
        snprintf(num, sizeof(num), "ctid < '(%llu,0)'::tid", (unsigned long long)to);
        text(b, num);
    }
}

/* The chunk's query. */
static int chunk_sql(pgcdc__ctx *ctx, PGconn *conn, pgcdc__buf *b, const pgcdc__snap_table *t,
                     const pgcdc__snap_seg *s, char *const *after, long limit, uint64_t *next)
{
    char num[96];
    int r = PGCDC_OK;

    pgcdc__buf_lit(b, "COPY (SELECT ");
    text(b, t->select_list);
    pgcdc__buf_lit(b, " FROM ");
    text(b, t->quoted);
    pgcdc__buf_lit(b, " WHERE ");
    if (t->where != NULL) {
        pgcdc__buf_u8(b, '(');
        text(b, t->where);
        pgcdc__buf_lit(b, ") AND ");
    }
    if (t->by_pages && limit <= 0) {
        /*
         * The whole segment in one scan: a sequential scan for a whole
         * table (the server's fastest read), a TID range scan for a range.
         */
        *next = UINT64_MAX;
        page_range(b, s->lo != NULL ? strtoull(s->lo[0], NULL, 10) : NO_PAGE,
                   s->hi != NULL ? strtoull(s->hi[0], NULL, 10) : NO_PAGE);
        pgcdc__buf_lit(b, ") TO STDOUT");
        return PGCDC_OK;
    }
    if (t->by_pages) {
        /* A page range: TID range scans (PostgreSQL 14 and later). */
        uint64_t from = strtoull(after != NULL   ? after[0]
                                 : s->lo != NULL ? s->lo[0]
                                                 : "0",
                                 NULL, 10);
        uint64_t to = from + (uint64_t)limit;

        if (s->hi != NULL && to >= strtoull(s->hi[0], NULL, 10))
            to = strtoull(s->hi[0], NULL, 10);
        *next = to;
        /* The last range is open-ended: the table may have grown since it was planned. */
        if (s->hi == NULL && to >= t->pages)
            *next = to = NO_PAGE;
        page_range(b, from, to);
        pgcdc__buf_lit(b, ") TO STDOUT");
        return PGCDC_OK;
    }
    pgcdc__buf_lit(b, "true");
    if (after != NULL || s->lo != NULL) {
        pgcdc__buf_lit(b, " AND ");
        key_tuple(b, t);
        pgcdc__buf_lit(b, " > ");
        r = key_values(ctx, conn, b, t, after != NULL ? after : s->lo);
    }
    if (r == PGCDC_OK && s->hi != NULL) {
        pgcdc__buf_lit(b, " AND ");
        key_tuple(b, t);
        pgcdc__buf_lit(b, " <= ");
        r = key_values(ctx, conn, b, t, s->hi);
    }
    pgcdc__buf_lit(b, " ORDER BY ");
    for (int k = 0; k < t->nkey; k++) {
        if (k > 0)
            pgcdc__buf_lit(b, ", ");
        text(b, t->key_quoted[k]);
    }
    snprintf(num, sizeof(num), " LIMIT %ld) TO STDOUT", limit);
    text(b, num);
    return r;
}

int pgcdc__snap_read(pgcdc__ctx *ctx, PGconn *conn, const pgcdc__snap_plan *p,
                     const pgcdc__snap_seg *s, char *const *after, long limit,
                     pgcdc__snap_row_fn fn, void *opaque, long *rows, uint64_t *next)
{
    const pgcdc__snap_table *t = &p->tables[s->table];
    pgcdc__buf sql;
    PGresult *res;
    char *line;
    int len;
    int r;

    *rows = 0;
    *next = 0;
    pgcdc__buf_init(&sql);
    r = chunk_sql(ctx, conn, &sql, t, s, after, limit, next);
    if (r == PGCDC_OK && sql.oom)
        r = oom(ctx);
    if (r == PGCDC_OK && !PQsendQuery(conn, pgcdc__buf_cstr(&sql)))
        r = pgcdc__fail(ctx, PGCDC_ERR_CONNECT, "could not read %s: %s", t->quoted,
                        PQerrorMessage(conn));
    pgcdc__buf_free(&sql);
    if (r != PGCDC_OK)
        return r;
    res = PQgetResult(conn);
    if (PQresultStatus(res) != PGRES_COPY_OUT) {
        char msg[512];

        pgcdc__result_line(msg, sizeof(msg), conn, res);
        r = pgcdc__fail(ctx, PQstatus(conn) == CONNECTION_BAD ? PGCDC_ERR_CONNECT : PGCDC_ERR_SQL,
                        "could not read %s: %s", t->quoted, msg);
        PQclear(res);
        while ((res = PQgetResult(conn)) != NULL)
            PQclear(res);
        return r;
    }
    PQclear(res);
    while ((len = PQgetCopyData(conn, &line, 0)) > 0) {
        if (r == PGCDC_OK) {
            r = fn(opaque, line, len);
            (*rows)++;
        }
        PQfreemem(line);
    }
    while ((res = PQgetResult(conn)) != NULL) {
        if (r == PGCDC_OK && PQresultStatus(res) != PGRES_COMMAND_OK) {
            char msg[512];

            pgcdc__result_line(msg, sizeof(msg), conn, res);
            r = pgcdc__fail(ctx,
                            PQstatus(conn) == CONNECTION_BAD ? PGCDC_ERR_CONNECT : PGCDC_ERR_SQL,
                            "could not read %s: %s", t->quoted, msg);
        }
        PQclear(res);
    }
    if (r == PGCDC_OK && len == -2)
        r = pgcdc__fail(ctx, PGCDC_ERR_CONNECT, "could not read %s: %s", t->quoted,
                        PQerrorMessage(conn));
    return r;
}

int pgcdc__snap_emit(pgcdc__ctx *ctx, PGconn *conn, int transactional, const char *prefix,
                     const char *content, uint64_t *lsn)
{
    const char *params[3] = {transactional ? "true" : "false", prefix, content};
    PGresult *res =
        pgcdc__query(ctx, conn, "write a logical message into the WAL",
                     "SELECT pg_logical_emit_message($1::bool, $2, $3)", 3, params, NULL);

    if (res == NULL)
        return PQstatus(conn) == CONNECTION_BAD ? PGCDC_ERR_CONNECT : PGCDC_ERR_SQL;
    pgcdc_lsn_parse(PQgetvalue(res, 0, 0), lsn);
    PQclear(res);
    return PGCDC_OK;
}

int pgcdc__snap_locate(pgcdc__ctx *ctx, PGconn *conn, const pgcdc__snap_table *t, char *const *key,
                       uint64_t *page)
{
    pgcdc__buf sql;
    PGresult *res;
    int r;

    *page = UINT64_MAX;
    pgcdc__buf_init(&sql);
    pgcdc__buf_lit(&sql, "SELECT ctid FROM ");
    text(&sql, t->quoted);
    pgcdc__buf_lit(&sql, " WHERE ");
    key_tuple(&sql, t);
    pgcdc__buf_lit(&sql, " = ");
    r = key_values(ctx, conn, &sql, t, key);
    if (r == PGCDC_OK && sql.oom)
        r = oom(ctx);
    if (r != PGCDC_OK) {
        pgcdc__buf_free(&sql);
        return r;
    }
    res = pgcdc__query(ctx, conn, "find the page of a snapshot chunk's last row",
                       pgcdc__buf_cstr(&sql), 0, NULL, NULL);
    pgcdc__buf_free(&sql);
    if (res == NULL)
        return PQstatus(conn) == CONNECTION_BAD ? PGCDC_ERR_CONNECT : PGCDC_ERR_SQL;
    /* "(page,item)" */
    if (PQntuples(res) == 1 && PQgetvalue(res, 0, 0)[0] == '(')
        *page = strtoull(PQgetvalue(res, 0, 0) + 1, NULL, 10);
    PQclear(res);
    return PGCDC_OK;
}

void pgcdc__snap_disconnect(PGconn *conn)
{
    if (conn != NULL)
        PQfinish(conn);
}

int pgcdc__snap_begin_read(pgcdc__ctx *ctx, PGconn *conn, uint32_t **xip, int *nxip, uint32_t *xmax)
{
    PGresult *res;
    const char *p;
    int n = 0;
    int cap = 0;
    int r;

    *xip = NULL;
    *nxip = 0;
    r = pgcdc__exec(ctx, conn, "begin a chunk's read",
                    "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY", NULL);
    if (r != PGCDC_OK)
        return PQstatus(conn) == CONNECTION_BAD ? PGCDC_ERR_CONNECT : r;
    res = pgcdc__query(ctx, conn, "read the chunk's snapshot", "SELECT pg_current_snapshot()", 0,
                       NULL, NULL);
    if (res == NULL)
        return PQstatus(conn) == CONNECTION_BAD ? PGCDC_ERR_CONNECT : PGCDC_ERR_SQL;
    /*
     * "xmin:xmax:xip,xip,...": the transactions running when the snapshot was
     * taken, and xmax, from which on none is seen (running ones included,
     * which xip leaves out).
     */
    p = strchr(PQgetvalue(res, 0, 0), ':');
    *xmax = p != NULL ? (uint32_t)strtoull(p + 1, NULL, 10) : 0;
    p = p != NULL ? strchr(p + 1, ':') : NULL;
    while (p != NULL && *++p != '\0') {
        char *end;
        unsigned long long x = strtoull(p, &end, 10);

        if (n == cap) {
            uint32_t *grown = realloc(*xip, sizeof(**xip) * (size_t)(cap = cap ? cap * 2 : 16));

            if (grown == NULL) {
                PQclear(res);
                return pgcdc__fail(ctx, PGCDC_ERR_NOMEM, "out of memory");
            }
            *xip = grown;
        }
        (*xip)[n++] = (uint32_t)x; /* pgoutput carries the 32-bit xid */
        p = strchr(end, ',');
    }
    *nxip = n;
    PQclear(res);
    return PGCDC_OK;
}

int pgcdc__snap_end_read(pgcdc__ctx *ctx, PGconn *conn)
{
    int r = pgcdc__exec(ctx, conn, "end a chunk's read", "COMMIT", NULL);

    return r != PGCDC_OK && PQstatus(conn) == CONNECTION_BAD ? PGCDC_ERR_CONNECT : r;
}

int pgcdc__snap_signal(pgcdc__ctx *ctx, const char *conninfo, const char *content, uint64_t *lsn)
{
    PGconn *conn;
    int r;

    conn = pgcdc__connect(ctx, conninfo, 0, NULL, &r);
    if (conn == NULL)
        return r;
    /* Before 14 pgoutput does not pass logical messages on: the request would be lost. */
    if (PQserverVersion(conn) < 140000)
        r = pgcdc__fail(ctx, PGCDC_ERR_INVALID,
                        "snapshot requests need PostgreSQL 14 or later (pgoutput passes logical "
                        "messages on from 14); this server is %d.%d",
                        PQserverVersion(conn) / 10000, PQserverVersion(conn) % 10000);
    else
        r = pgcdc__snap_emit(ctx, conn, 1, PGCDC__SIGNAL_PREFIX, content, lsn);
    PQfinish(conn);
    return r;
}
