/*
 * The CREATE PUBLICATION that pgcdc issues: its tables, and what of the
 * filters the server can apply itself - the operations (publish), and on
 * PostgreSQL 15 each table's column list and row filter where the server's
 * rules allow them without failing the tables' UPDATEs and DELETEs.  What
 * is not pushed here pgcdc applies itself (core/filter.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pg/catalog.h"
#include "pg/conn.h"

void pgcdc__like_pattern(const char *glob, int is_glob, char *out)
{
    for (const char *p = glob; *p != '\0'; p++) {
        if (is_glob && *p == '*') {
            *out++ = '%';
        } else if (is_glob && *p == '?') {
            *out++ = '_';
        } else {
            if (*p == '%' || *p == '_' || *p == '\\')
                *out++ = '\\';
            *out++ = *p;
        }
    }
    *out = '\0';
}

static int is_pk(const pgcdc__table_info *t, const char *col)
{
    for (int k = 0; k < t->npk; k++) {
        if (strcmp(t->pk[k], col) == 0)
            return 1;
    }
    return 0;
}

static void put_ident(PGconn *conn, pgcdc__buf *out, const char *name)
{
    char *q = PQescapeIdentifier(conn, name, strlen(name));

    if (q == NULL) {
        out->oom = 1;
        return;
    }
    pgcdc__buf_lit(out, q);
    PQfreemem(q);
}

/*
 * The column list of t, when it leaves columns out and the server takes it:
 * with UPDATE or DELETE published it must hold the replica identity, which
 * the kept key covers under the default identity only.
 */
static void put_columns(pgcdc__ctx *ctx, PGconn *conn, const pgcdc__tfilter *tf,
                        const pgcdc__table_info *t, int ops, pgcdc__buf *out)
{
    int kept = 0;
    int first = 1;

    for (int i = 0; i < t->ncols; i++)
        kept += pgcdc__tfilter_keeps(tf, t->col_names[i], is_pk(t, t->col_names[i]));
    if (kept == t->ncols)
        return;
    if ((ops & (PGCDC__FOP_UPDATE | PGCDC__FOP_DELETE)) && t->replident != 'd') {
        pgcdc__log(ctx, PGCDC_LOG_INFO,
                   "the column list of %s is applied by pgcdc: its replica identity is not the "
                   "primary key, and PostgreSQL would refuse its UPDATE and DELETE with a list",
                   t->quoted);
        return;
    }
    pgcdc__buf_lit(out, " (");
    for (int i = 0; i < t->ncols; i++) {
        if (!pgcdc__tfilter_keeps(tf, t->col_names[i], is_pk(t, t->col_names[i])))
            continue;
        if (!first)
            pgcdc__buf_lit(out, ", ");
        first = 0;
        put_ident(conn, out, t->col_names[i]);
    }
    pgcdc__buf_u8(out, ')');
}

/*
 * The row filter of t, when the server takes it: with UPDATE or DELETE
 * published it may name only replica identity columns (all of them under
 * REPLICA IDENTITY FULL, the primary key's under the default).
 */
static void put_where(pgcdc__ctx *ctx, const pgcdc__tfilter *tf, pgcdc__table_info *t, int ops,
                      pgcdc__buf *out)
{
    int ok = !(ops & (PGCDC__FOP_UPDATE | PGCDC__FOP_DELETE)) || t->replident == 'f';

    if (!ok && t->replident == 'd') {
        ok = 1;
        for (int i = 0; i < pgcdc__fexpr_ncols(tf->where); i++)
            ok &= is_pk(t, pgcdc__fexpr_col(tf->where, i));
    }
    if (!ok) {
        pgcdc__log(ctx, PGCDC_LOG_INFO,
                   "the row filter of %s is applied by pgcdc: it names columns outside the "
                   "replica identity, and PostgreSQL would refuse UPDATE and DELETE on the table "
                   "with it in the publication",
                   t->quoted);
        return;
    }
    pgcdc__buf_lit(out, " WHERE ");
    pgcdc__fexpr_sql(tf->where, out);
    t->where_pushed = 1;
}

int pgcdc__publication_sql(pgcdc__ctx *ctx, PGconn *conn, const pgcdc__catalog_opts *cfg,
                           pgcdc__catalog *cat, pgcdc__buf *out)
{
    int ops = cfg->filters != NULL && cfg->push_down ? cfg->filters->ops : PGCDC__FOP_ALL;
    int v15 = cat->server_version >= 150000 && cfg->push_down && cfg->filters != NULL;
    int options = 0;

    /* Publication names are validated to [a-z0-9_], so they need no quoting. */
    pgcdc__buf_lit(out, "CREATE PUBLICATION ");
    pgcdc__buf_lit(out, cfg->publication);
    pgcdc__buf_lit(out, " FOR TABLE ");
    for (int i = 0; i < cat->ts.ntables; i++) {
        pgcdc__table_info *t = &cat->ts.tables[i];
        const pgcdc__tfilter *tf =
            v15 ? pgcdc__filterset_find(cfg->filters, t->schema, t->name) : NULL;

        if (i > 0)
            pgcdc__buf_lit(out, ", ");
        put_ident(conn, out, t->schema);
        pgcdc__buf_u8(out, '.');
        put_ident(conn, out, t->name);
        /*
         * A partitioned table's list and filter apply to its partitions' changes
         * only when they are published as its own.
         */
        if (tf == NULL || (t->partitioned && !cfg->via_root))
            continue;
        if (tf->ncols > 0)
            put_columns(ctx, conn, tf, t, ops, out);
        if (tf->where != NULL)
            put_where(ctx, tf, t, ops, out);
    }
    if (ops != PGCDC__FOP_ALL) {
        char text[64];

        pgcdc__filter_ops_text(ops, text, sizeof(text));
        pgcdc__buf_lit(out, " WITH (publish = '");
        pgcdc__buf_lit(out, text);
        pgcdc__buf_u8(out, '\'');
        options = 1;
    }
    if (cfg->via_root && cat->server_version >= 130000) {
        pgcdc__buf_lit(out, options ? ", " : " WITH (");
        pgcdc__buf_lit(out, "publish_via_partition_root = true");
        options = 1;
    }
    if (options)
        pgcdc__buf_u8(out, ')');
    return pgcdc__buf_cstr(out) == NULL ? PGCDC_ERR_NOMEM : PGCDC_OK;
}
