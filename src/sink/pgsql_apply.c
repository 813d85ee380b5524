/*
 * The postgresql sink's apply mode: each change made again on a table of
 * the same name in the target, by its primary key, so that applying it
 * twice leaves the same row: INSERT ... ON CONFLICT DO UPDATE for inserts,
 * snapshot reads and updates, DELETE by the old key, TRUNCATE.  Values go
 * as text parameters, typed by the target's columns; an unchanged TOAST
 * value is left out, so the target keeps the one it has.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "format/json.h"
#include "sink/pgsql.h"
#include "sink/pgsql_int.h"
#include "sink/sink.h"

/* SQLSTATE undefined_table */
#define UNDEFINED_TABLE "42P01"

/* A column of a record, pointing into it. */
typedef struct acol {
    const char *name;
    const char *value; /* NULL: SQL NULL */
    int state;
    int key;
} acol;

/* A record read back. */
typedef struct arec {
    int op;
    int flags;
    const char *schema;
    const char *table;
    int nnew;
    int nold;
    acol *cols; /* the new row's, then the old row's */
} arec;

void pgcdc__pgsql_ident(pgcdc__buf *b, const char *name)
{
    pgcdc__buf_u8(b, '"');
    for (const char *p = name; *p != '\0'; p++) {
        if (*p == '"')
            pgcdc__buf_u8(b, '"');
        pgcdc__buf_u8(b, (uint8_t)*p);
    }
    pgcdc__buf_u8(b, '"');
}

static void put_u32(pgcdc__buf *b, uint32_t v)
{
    pgcdc__buf_put(b, &v, sizeof(v));
}

static void record_row(pgcdc__buf *b, const pgcdc_row *row)
{
    int n = row != NULL ? pgcdc_row_ncols(row) : 0;

    put_u32(b, (uint32_t)n);
    for (int i = 0; i < n; i++) {
        pgcdc_value_state st = pgcdc_row_state(row, i);
        const char *text = "";
        size_t len = 0;

        if (st == PGCDC_VALUE_PRESENT && pgcdc_row_get_text(row, i, &text, &len) != PGCDC_OK)
            st = PGCDC_VALUE_NULL;
        pgcdc__buf_str(b, pgcdc_row_name(row, i));
        pgcdc__buf_u8(b, (uint8_t)st);
        pgcdc__buf_u8(b, (uint8_t)(pgcdc_row_is_key(row, i) != 0));
        put_u32(b, (uint32_t)len);
        pgcdc__buf_put(b, text, len);
        pgcdc__buf_u8(b, 0);
    }
}

void pgcdc__pgsql_record(pgcdc__buf *b, const pgcdc_change *c)
{
    pgcdc__buf_u8(b, (uint8_t)pgcdc_change_op(c));
    pgcdc__buf_u8(b, (uint8_t)pgcdc_change_truncate_flags(c));
    pgcdc__buf_str(b, pgcdc_change_schema(c));
    pgcdc__buf_str(b, pgcdc_change_table(c));
    record_row(b, pgcdc_change_new(c));
    record_row(b, pgcdc_change_old(c));
}

static uint32_t get_u32(const char **p)
{
    uint32_t v;

    memcpy(&v, *p, sizeof(v));
    *p += sizeof(v);
    return v;
}

static const char *read_cols(const char *p, acol *cols, int n)
{
    for (int i = 0; i < n; i++) {
        uint32_t len;

        cols[i].name = p;
        p += strlen(p) + 1;
        cols[i].state = (unsigned char)*p++;
        cols[i].key = *p++;
        len = get_u32(&p);
        cols[i].value = cols[i].state == PGCDC_VALUE_PRESENT ? p : NULL;
        p += len + 1;
    }
    return p;
}

/* Reads a record; cols is malloc'd (NULL when out of memory). */
static int read_record(const char *rec, arec *r)
{
    const char *p = rec;
    const char *old;
    int nold;

    r->op = (unsigned char)*p++;
    r->flags = (unsigned char)*p++;
    r->schema = p;
    p += strlen(p) + 1;
    r->table = p;
    p += strlen(p) + 1;
    r->nnew = (int)get_u32(&p);
    /* Skip the new row to count the old one's columns. */
    {
        acol tmp;

        old = p;
        for (int i = 0; i < r->nnew; i++)
            old = read_cols(old, &tmp, 1);
    }
    nold = (int)get_u32(&old);
    r->nold = nold;
    r->cols = malloc(sizeof(acol) * (size_t)(r->nnew + nold + 1));
    if (r->cols == NULL)
        return -1;
    p = read_cols(p, r->cols, r->nnew);
    p += sizeof(uint32_t);
    read_cols(p, r->cols + r->nnew, nold);
    return 0;
}

static void put_table(pgcdc__buf *b, const char *schema, const arec *r)
{
    pgcdc__pgsql_ident(b, schema != NULL && schema[0] != '\0' ? schema : r->schema);
    pgcdc__buf_u8(b, '.');
    pgcdc__pgsql_ident(b, r->table);
}

static void put_param(pgcdc__buf *b, int n)
{
    char num[16];

    snprintf(num, sizeof(num), "$%d", n);
    pgcdc__buf_lit(b, num);
}

/* Present in a row: a value or NULL, not an unchanged TOAST value or an absent column. */
static int present(const acol *c)
{
    return c->state == PGCDC_VALUE_PRESENT || c->state == PGCDC_VALUE_NULL;
}

/*
 * Runs a statement: PGCDC_OK (with the rows it touched in *rows), 1 for a
 * lost connection, or -1 with why.
 */
static int run(PGconn *conn, pgcdc__buf *sql, const char *const *vals, int nvals, const arec *r,
               const char *schema, long *rows, char *why, size_t size)
{
    const char *text = pgcdc__buf_cstr(sql);
    PGresult *res;
    int ret = PGCDC_OK;

    if (text == NULL) {
        snprintf(why, size, "out of memory");
        return -1;
    }
    res = PQexecParams(conn, text, nvals, NULL, vals, NULL, NULL, 0);
    if (PQresultStatus(res) == PGRES_COMMAND_OK) {
        if (rows != NULL)
            *rows = atol(PQcmdTuples(res));
    } else if (PQstatus(conn) == CONNECTION_BAD) {
        ret = 1;
    } else {
        const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
        const char *msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
        const char *sch = schema != NULL && schema[0] != '\0' ? schema : r->schema;

        if (state != NULL && strcmp(state, UNDEFINED_TABLE) == 0)
            snprintf(why, size,
                     "target table \"%s.%s\" does not exist (create it in the target database "
                     "first, with the source table's columns and primary key)",
                     sch, r->table);
        else
            snprintf(why, size, "could not apply %s to \"%s.%s\": %s", pgcdc__pgsql_op_name(r->op),
                     sch, r->table, msg != NULL ? msg : PQerrorMessage(conn));
        ret = -1;
    }
    PQclear(res);
    return ret;
}

/* WHERE k1 = $n AND ...: the key columns of cols, parameters from *np on. */
static int put_where(pgcdc__buf *sql, const acol *cols, int n, const char **vals, int *np)
{
    int any = 0;

    for (int i = 0; i < n; i++) {
        if (!cols[i].key || !present(&cols[i]))
            continue;
        pgcdc__buf_lit(sql, any ? " AND " : " WHERE ");
        pgcdc__pgsql_ident(sql, cols[i].name);
        pgcdc__buf_lit(sql, " = ");
        put_param(sql, ++*np);
        vals[*np - 1] = cols[i].value;
        any = 1;
    }
    return any;
}

/* INSERT ... ON CONFLICT (key) DO UPDATE SET (the new row's present columns). */
static int upsert(PGconn *conn, const char *schema, const arec *r, pgcdc__buf *sql,
                  const char **vals, char *why, size_t size)
{
    int np = 0;
    int nset = 0;
    int nkey = 0;

    pgcdc__buf_lit(sql, "INSERT INTO ");
    put_table(sql, schema, r);
    pgcdc__buf_lit(sql, " (");
    for (int i = 0; i < r->nnew; i++) {
        if (!present(&r->cols[i]))
            continue;
        if (np > 0)
            pgcdc__buf_lit(sql, ", ");
        pgcdc__pgsql_ident(sql, r->cols[i].name);
        vals[np++] = r->cols[i].value;
    }
    pgcdc__buf_lit(sql, ") VALUES (");
    for (int i = 0; i < np; i++) {
        if (i > 0)
            pgcdc__buf_lit(sql, ", ");
        put_param(sql, i + 1);
    }
    pgcdc__buf_lit(sql, ") ON CONFLICT (");
    for (int i = 0; i < r->nnew; i++) {
        if (!r->cols[i].key)
            continue;
        if (nkey++ > 0)
            pgcdc__buf_lit(sql, ", ");
        pgcdc__pgsql_ident(sql, r->cols[i].name);
    }
    pgcdc__buf_lit(sql, ") DO ");
    for (int i = 0; i < r->nnew; i++) {
        if (r->cols[i].key || !present(&r->cols[i]))
            continue;
        pgcdc__buf_lit(sql, nset++ > 0 ? ", " : "UPDATE SET ");
        pgcdc__pgsql_ident(sql, r->cols[i].name);
        pgcdc__buf_lit(sql, " = EXCLUDED.");
        pgcdc__pgsql_ident(sql, r->cols[i].name);
    }
    if (nset == 0)
        pgcdc__buf_lit(sql, "NOTHING");
    if (nkey == 0) {
        snprintf(why, size,
                 "table \"%s.%s\" has no primary key: apply mode needs one (use audit mode, or "
                 "add a primary key to the source table)",
                 r->schema, r->table);
        return -1;
    }
    return run(conn, sql, vals, np, r, schema, NULL, why, size);
}

/* The old row's key differs from the new row's: the row moves to its new key. */
static int key_changed(const arec *r)
{
    const acol *old = r->cols + r->nnew;

    for (int i = 0; i < r->nold; i++) {
        int j;

        if (!old[i].key || !present(&old[i]))
            continue;
        for (j = 0; j < r->nnew && strcmp(r->cols[j].name, old[i].name) != 0; j++)
            ;
        if (j == r->nnew || !present(&r->cols[j]))
            continue;
        if ((old[i].value == NULL) != (r->cols[j].value == NULL) ||
            (old[i].value != NULL && strcmp(old[i].value, r->cols[j].value) != 0))
            return 1;
    }
    return 0;
}

/*
 * An update that changes the key: the row at the old key takes the new key
 * and values (keeping its unchanged TOAST values); when no row has the old
 * key (applied before), the new row is upserted.
 */
static int move_row(PGconn *conn, const char *schema, const arec *r, pgcdc__buf *sql,
                    const char **vals, long *rows, char *why, size_t size)
{
    int np = 0;

    pgcdc__buf_lit(sql, "UPDATE ");
    put_table(sql, schema, r);
    for (int i = 0; i < r->nnew; i++) {
        if (!present(&r->cols[i]))
            continue;
        pgcdc__buf_lit(sql, np > 0 ? ", " : " SET ");
        pgcdc__pgsql_ident(sql, r->cols[i].name);
        pgcdc__buf_lit(sql, " = ");
        put_param(sql, ++np);
        vals[np - 1] = r->cols[i].value;
    }
    put_where(sql, r->cols + r->nnew, r->nold, vals, &np);
    return run(conn, sql, vals, np, r, schema, rows, why, size);
}

static int apply_record(PGconn *conn, const char *schema, const arec *r, pgcdc__buf *sql,
                        const char **vals, char *why, size_t size)
{
    long rows = 0;
    int np = 0;
    int ret;

    switch (r->op) {
    case PGCDC_OP_TRUNCATE:
        pgcdc__buf_lit(sql, "TRUNCATE ");
        put_table(sql, schema, r);
        if (r->flags & 2)
            pgcdc__buf_lit(sql, " RESTART IDENTITY");
        if (r->flags & 1)
            pgcdc__buf_lit(sql, " CASCADE");
        return run(conn, sql, NULL, 0, r, schema, NULL, why, size);
    case PGCDC_OP_DELETE:
        pgcdc__buf_lit(sql, "DELETE FROM ");
        put_table(sql, schema, r);
        if (!put_where(sql, r->cols + r->nnew, r->nold, vals, &np)) {
            snprintf(why, size, "a DELETE on \"%s.%s\" without its old key: apply mode needs one",
                     r->schema, r->table);
            return -1;
        }
        return run(conn, sql, vals, np, r, schema, NULL, why, size);
    case PGCDC_OP_UPDATE:
        if (r->nold > 0 && key_changed(r)) {
            ret = move_row(conn, schema, r, sql, vals, &rows, why, size);
            if (ret != PGCDC_OK || rows > 0)
                return ret;
            pgcdc__buf_reset(sql);
        }
        return upsert(conn, schema, r, sql, vals, why, size);
    default:
        return upsert(conn, schema, r, sql, vals, why, size);
    }
}

int pgcdc__pgsql_apply(PGconn *conn, const char *schema, const char *rec, size_t len, char *why,
                       size_t size)
{
    arec r;
    pgcdc__buf sql;
    const char **vals;
    int ret;

    (void)len;
    if (read_record(rec, &r) != 0) {
        snprintf(why, size, "out of memory");
        return -1;
    }
    vals = malloc(sizeof(*vals) * (size_t)(r.nnew + r.nold + 1));
    if (vals == NULL) {
        free(r.cols);
        snprintf(why, size, "out of memory");
        return -1;
    }
    pgcdc__buf_init(&sql);
    ret = apply_record(conn, schema, &r, &sql, vals, why, size);
    pgcdc__buf_free(&sql);
    free(vals);
    free(r.cols);
    return ret;
}

static void row_json(pgcdc__buf *b, const acol *cols, int n)
{
    int first = 1;

    if (n == 0) {
        pgcdc__buf_lit(b, "null");
        return;
    }
    pgcdc__buf_u8(b, '{');
    for (int i = 0; i < n; i++) {
        if (!present(&cols[i]))
            continue;
        if (!first)
            pgcdc__buf_u8(b, ',');
        first = 0;
        pgcdc__json_cstring(b, cols[i].name);
        pgcdc__buf_u8(b, ':');
        pgcdc__json_cstring(b, cols[i].value);
    }
    pgcdc__buf_u8(b, '}');
}

void pgcdc__pgsql_record_json(pgcdc__buf *b, const char *rec, uint64_t commit_lsn)
{
    char lsn[32];
    arec r;

    if (read_record(rec, &r) != 0) {
        b->oom = 1;
        return;
    }
    pgcdc__buf_lit(b, "{\"op\":");
    pgcdc__json_cstring(b, pgcdc__pgsql_op_name(r.op));
    pgcdc__buf_lit(b, ",\"schema\":");
    pgcdc__json_cstring(b, r.schema);
    pgcdc__buf_lit(b, ",\"table\":");
    pgcdc__json_cstring(b, r.table);
    pgcdc__buf_lit(b, ",\"commit_lsn\":");
    pgcdc__json_cstring(b, pgcdc_lsn_format(commit_lsn, lsn, sizeof(lsn)));
    pgcdc__buf_lit(b, ",\"old\":");
    row_json(b, r.cols + r.nnew, r.nold);
    pgcdc__buf_lit(b, ",\"new\":");
    row_json(b, r.cols, r.nnew);
    pgcdc__buf_u8(b, '}');
    free(r.cols);
}

/*
 * A change the target refused, under the dead-letter policy: undone to its
 * savepoint, and written with why to the dead-letter file.  PGCDC_OK, 1
 * (lost) or -1.
 */
static int dead_letter(pgcdc__pgsql *ps, const pitem *it, char *why, size_t size)
{
    if (pgcdc__pgsql_exec(ps->conn, "ROLLBACK TO SAVEPOINT pgcdc_change", PGRES_COMMAND_OK, why,
                          size) != PGCDC_OK)
        return -1;
    pgcdc__buf_reset(&ps->scratch);
    pgcdc__pgsql_record_json(&ps->scratch, (const char *)ps->data.data + it->start, it->lsn);
    if (pgcdc__sink_dead_letter(ps->sink, (const char *)ps->scratch.data, ps->scratch.len, why) !=
        PGCDC_OK) {
        pgcdc__one_line(why, size, pgcdc__errmsg(ps->sink->ctx));
        return -1;
    }
    return PGCDC_OK;
}

/*
 * apply: each change not in the target yet (under the dead-letter policy,
 * each behind a savepoint).  PGCDC_OK, 1 (lost) or -1.
 */
int pgcdc__pgsql_apply_batch(pgcdc__pgsql *ps, char *why, size_t size)
{
    for (size_t i = 0; i < ps->nb; i++) {
        const pitem *it = &ps->q[i];
        int r;

        if (it->token != 0)
            continue;
        if (!pgcdc__pgsql_wanted(ps, it)) {
            ps->skipped++;
            continue;
        }
        if (ps->careful && pgcdc__pgsql_exec(ps->conn, "SAVEPOINT pgcdc_change", PGRES_COMMAND_OK,
                                             why, size) != PGCDC_OK)
            return -1;
        r = pgcdc__pgsql_apply(ps->conn, ps->schema, (const char *)ps->data.data + it->start,
                               it->end - it->start, why, size);
        if (r < 0 && ps->careful)
            r = dead_letter(ps, it, why, size);
        if (r != PGCDC_OK)
            return r;
    }
    return PGCDC_OK;
}
