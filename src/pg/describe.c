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
#include "pg/slot.h"
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

/* Opens the connection when there is none. */
static int ensure_conn(pgcdc__describer *d)
{
    int r = PGCDC_OK;

    if (d->conn == NULL)
        d->conn = pgcdc__connect(d->ctx, d->conninfo, 0, NULL, &r);
    return r;
}

int pgcdc__describe_slot_holder(pgcdc__describer *d, const char *slot, int *pid)
{
    pgcdc__slot_info info;
    int r = ensure_conn(d);

    *pid = 0;
    if (r != PGCDC_OK)
        return r;
    r = pgcdc__slot_read(d->ctx, d->conn, slot, &info);
    if (r == 0)
        r = pgcdc__slot_check(d->ctx, d->conn, slot);
    if (r < 0) {
        if (PQstatus(d->conn) != CONNECTION_OK) {
            PQfinish(d->conn);
            d->conn = NULL;
            r = PGCDC_ERR_CONNECT;
        }
        return r;
    }
    *pid = info.active_pid;
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
    r = ensure_conn(d);
    if (r != PGCDC_OK)
        return failed(d, r, rel);
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

/* Marks rel as listed, a partition of t, completed as the assembly completes a listed table. */
static int want_partition(pgcdc__describer *d, pgcdc__relation *rel, pgcdc__tableset *ts,
                          const pgcdc__table_info *t)
{
    if (pgcdc__tableset_add_part(ts, rel->relid, (int)(t - ts->tables), NULL) == NULL ||
        (t->npk > 0 && pgcdc__relation_set_keys(rel, t->pk, t->npk) < 0) ||
        pgcdc__relation_set_types(rel, t->col_names, t->col_types, t->col_oids, t->col_base_oids,
                                  t->ncols) != 0 ||
        pgcdc__relation_name_types(rel) < 0)
        return pgcdc__fail(d->ctx, PGCDC_ERR_NOMEM, "out of memory");
    rel->wanted = 1;
    pgcdc__log(d->ctx, PGCDC_LOG_DEBUG, "\"%s.%s\" is a partition of %s: streamed too", rel->schema,
               rel->name, t->quoted);
    return PGCDC_OK;
}

int pgcdc__describe_ancestors(pgcdc__describer *d, pgcdc__relation *rel, pgcdc__tableset *ts)
{
    char relid[16];
    const char *params[1] = {relid};
    const pgcdc__table_info *t = NULL;
    PGresult *res;
    int gone = 0;
    int r;

    if (rel->wanted || !pgcdc__tableset_has_partitioned(ts))
        return PGCDC_OK;
    r = ensure_conn(d);
    if (r != PGCDC_OK)
        return failed(d, r, rel);
    snprintf(relid, sizeof(relid), "%" PRIu32, rel->relid);
    /* Its ancestors, nearest first; 0 when the relation is gone. */
    res = pgcdc__query(
        d->ctx, d->conn, "read the partition's ancestors",
        "SELECT relid::oid FROM pg_partition_ancestors($1::oid) WHERE relid <> $1::oid "
        "UNION ALL SELECT 0 WHERE NOT EXISTS "
        "(SELECT 1 FROM pg_class WHERE oid = $1::oid)",
        1, params, NULL);
    if (res == NULL)
        return failed(d, PQstatus(d->conn) == CONNECTION_OK ? PGCDC_ERR_SQL : PGCDC_ERR_CONNECT,
                      rel);
    for (int i = 0; i < PQntuples(res) && t == NULL; i++) {
        uint32_t oid = (uint32_t)strtoul(PQgetvalue(res, i, 0), NULL, 10);

        gone |= oid == 0;
        t = pgcdc__tableset_find(ts, oid);
    }
    PQclear(res);
    if (gone)
        pgcdc__log(d->ctx, PGCDC_LOG_WARNING,
                   "relation \"%s.%s\" is gone from the catalog, so whether it was a "
                   "partition of a listed table cannot be told: its changes are skipped",
                   rel->schema, rel->name);
    return t != NULL ? want_partition(d, rel, ts, t) : PGCDC_OK;
}
