/*
 * Relations completed from the catalog: type names by OID and modifier,
 * NOT NULL by column and the primary key by table, on a connection kept
 * for the purpose.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "pg/conn.h"
#include "pg/describe.h"
#include "pgcdc.h"

struct pgcdc__describer {
    pgcdc__ctx *ctx;
    char *conninfo;
    PGconn *conn;
};

pgcdc__describer *pgcdc__describer_new(pgcdc__ctx *ctx, const char *conninfo)
{
    pgcdc__describer *d = calloc(1, sizeof(*d));

    if (d == NULL)
        return NULL;
    d->ctx = ctx;
    d->conninfo = strdup(conninfo != NULL ? conninfo : "");
    if (d->conninfo == NULL) {
        free(d);
        return NULL;
    }
    return d;
}

void pgcdc__describer_free(pgcdc__describer *d)
{
    if (d == NULL)
        return;
    if (d->conn != NULL)
        PQfinish(d->conn);
    free(d->conninfo);
    free(d);
}

/* Forgets a connection that failed: the next call opens another. */
static int failed(pgcdc__describer *d, int r, const pgcdc__relation *rel)
{
    if (d->conn != NULL && PQstatus(d->conn) != CONNECTION_OK) {
        PQfinish(d->conn);
        d->conn = NULL;
    }
    return pgcdc__wrap(d->ctx, r, "could not describe \"%s.%s\"", rel->schema, rel->name);
}

/* "{1,2,3}": the values of one column's field as a SQL array literal. */
static char *array_of(const pgcdc__relation *rel, int typmods)
{
    pgcdc__buf b;

    pgcdc__buf_init(&b);
    pgcdc__buf_u8(&b, '{');
    for (int i = 0, n = 0; i < rel->ncols; i++) {
        char num[24];

        if (rel->cols[i].type_name != NULL)
            continue;
        snprintf(num, sizeof(num), "%s%" PRId64, n++ > 0 ? "," : "",
                 typmods ? (int64_t)rel->cols[i].typmod : (int64_t)rel->cols[i].sent_oid);
        pgcdc__buf_lit(&b, num);
    }
    pgcdc__buf_u8(&b, '}');
    return pgcdc__buf_take(&b);
}

/* format_type() for the columns still without a name, one query for all of them. */
static int name_types(pgcdc__describer *d, pgcdc__relation *rel)
{
    char *oids = array_of(rel, 0);
    char *typmods = array_of(rel, 1);
    const char *params[2] = {oids, typmods};
    PGresult *res = NULL;
    int r = PGCDC_OK;
    int row = 0;

    if (oids == NULL || typmods == NULL) {
        r = pgcdc__fail(d->ctx, PGCDC_ERR_NOMEM, "out of memory");
        goto done;
    }
    res = pgcdc__query(d->ctx, d->conn, "name the column types",
                       "SELECT format_type(o, t) FROM unnest($1::oid[], $2::int4[]) "
                       "WITH ORDINALITY AS u(o, t, n) ORDER BY n",
                       2, params, NULL);
    if (res == NULL) {
        r = PGCDC_ERR_SQL;
        goto done;
    }
    for (int i = 0; i < rel->ncols && row < PQntuples(res); i++) {
        if (rel->cols[i].type_name != NULL)
            continue;
        /* NULL for a type dropped since: the column keeps no name. */
        if (!PQgetisnull(res, row, 0)) {
            rel->cols[i].type_name = strdup(PQgetvalue(res, row, 0));
            if (rel->cols[i].type_name == NULL) {
                r = pgcdc__fail(d->ctx, PGCDC_ERR_NOMEM, "out of memory");
                goto done;
            }
        }
        row++;
    }
done:
    PQclear(res);
    free(oids);
    free(typmods);
    return r;
}

static int column_of(const pgcdc__relation *rel, const char *name)
{
    for (int i = 0; i < rel->ncols; i++) {
        if (strcmp(rel->cols[i].name, name) == 0)
            return i;
    }
    return -1;
}

/* NOT NULL of every column and the primary key, by column name, from the table as it is now. */
static int read_table(pgcdc__describer *d, pgcdc__relation *rel)
{
    char relid[16];
    const char *params[1] = {relid};
    PGresult *res;

    snprintf(relid, sizeof(relid), "%" PRIu32, rel->relid);
    /* The key's columns come first, in key order. */
    res = pgcdc__query(d->ctx, d->conn, "read the table's columns",
                       "SELECT a.attname, a.attnotnull, "
                       "array_position(i.indkey::int2[], a.attnum) AS k "
                       "FROM pg_attribute a LEFT JOIN pg_index i "
                       "ON i.indrelid = a.attrelid AND i.indisprimary "
                       "WHERE a.attrelid = $1::oid AND a.attnum > 0 AND NOT a.attisdropped "
                       "ORDER BY k NULLS LAST, a.attnum",
                       1, params, NULL);
    if (res == NULL)
        return PGCDC_ERR_SQL;
    rel->npk = 0;
    for (int row = 0; row < PQntuples(res); row++) {
        int col = column_of(rel, PQgetvalue(res, row, 0));

        if (col < 0)
            continue;
        rel->cols[col].not_null = strcmp(PQgetvalue(res, row, 1), "t") == 0;
        if (!PQgetisnull(res, row, 2))
            rel->pk[rel->npk++] = col;
    }
    PQclear(res);
    return PGCDC_OK;
}

int pgcdc__describe(pgcdc__describer *d, pgcdc__relation *rel, int flags)
{
    int missing = 0;
    int r;

    for (int i = 0; i < rel->ncols; i++)
        missing += rel->cols[i].type_name == NULL;
    if (missing == 0 && flags == 0)
        return PGCDC_OK;
    if (d->conn == NULL) {
        d->conn = pgcdc__connect(d->ctx, d->conninfo, 0, NULL, &r);
        if (d->conn == NULL)
            return failed(d, r, rel);
    }
    if (missing > 0) {
        r = name_types(d, rel);
        if (r != PGCDC_OK)
            return failed(d, r, rel);
    }
    if (flags != 0) {
        r = read_table(d, rel);
        if (r != PGCDC_OK)
            return failed(d, r, rel);
    }
    return PGCDC_OK;
}
