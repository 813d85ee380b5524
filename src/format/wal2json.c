/*
 * wal2json's format-version 2: a line per change with the columns as
 * name/type/value objects and the identity, and B and C lines around each
 * transaction.
 */
#include <string.h>

#include "format/format.h"
#include "format/json.h"

/*
 * format_type() quotes identifiers that need it.  wal2json then writes a
 * name that starts with a quote as is; for a single quoted identifier that is
 * the same JSON string as its inner text.  Other shapes (a quoted schema, a
 * doubled quote) would make wal2json's output invalid JSON; they are escaped
 * as plain strings here.
 */
static void wal2json_type(pgcdc__buf *j, const char *type)
{
    size_t n;

    if (type == NULL) {
        pgcdc__buf_put(j, "null", 4);
        return;
    }
    n = strlen(type);
    if (n >= 2 && type[0] == '"' && type[n - 1] == '"' && memchr(type + 1, '"', n - 2) == NULL &&
        memchr(type + 1, '\\', n - 2) == NULL) {
        pgcdc__json_string(j, type + 1, n - 2);
        return;
    }
    pgcdc__json_cstring(j, type);
}

static void wal2json_column(pgcdc__buf *j, const pgcdc_row *row, int col, int *first)
{
    if (!*first)
        pgcdc__buf_u8(j, ',');
    *first = 0;
    pgcdc__buf_lit(j, "{\"name\":");
    pgcdc__json_cstring(j, row->rel->cols[col].name);
    pgcdc__buf_lit(j, ",\"type\":");
    wal2json_type(j, pgcdc_row_type_name(row, col));
    pgcdc__buf_lit(j, ",\"value\":");
    if (pgcdc_row_state(row, col) == PGCDC_VALUE_NULL)
        pgcdc__buf_put(j, "null", 4);
    else
        pgcdc__fmt_column(j, row, col, 1);
    pgcdc__buf_u8(j, '}');
}

/* Columns of row with a value or NULL; unchanged TOAST and absent columns are skipped. */
static void wal2json_columns(pgcdc__buf *j, const pgcdc_row *row, int ident_only)
{
    int first = 1;

    for (int i = 0; i < row->rel->ncols; i++) {
        pgcdc_value_state st = pgcdc_row_state(row, i);

        if (st != PGCDC_VALUE_PRESENT && st != PGCDC_VALUE_NULL)
            continue;
        if (ident_only && !row->rel->cols[i].is_ident)
            continue;
        wal2json_column(j, row, i, &first);
    }
}

static int has_ident_columns(const pgcdc__relation *rel)
{
    for (int i = 0; i < rel->ncols; i++) {
        if (rel->cols[i].is_ident)
            return 1;
    }
    return 0;
}

static void wal2json_change(pgcdc_formatter *f, const pgcdc_change *c)
{
    pgcdc__buf *j = &f->out;
    const pgcdc_row *old_row = pgcdc_change_old(c);
    const pgcdc_row *new_row = pgcdc_change_new(c);
    /* wal2json's action letters are pgoutput's message bytes. */
    char action = (char)c->op;

    if (action != 'I' && action != 'U' && action != 'D' && action != 'T')
        action = '?';
    pgcdc__buf_lit(j, "{\"action\":\"");
    pgcdc__buf_u8(j, action);
    pgcdc__buf_lit(j, "\",\"schema\":");
    pgcdc__json_cstring(j, c->rel->schema);
    pgcdc__buf_lit(j, ",\"table\":");
    pgcdc__json_cstring(j, c->rel->name);
    if (c->op == PGCDC_OP_TRUNCATE) {
        pgcdc__buf_lit(j, "}\n");
        return;
    }
    if (new_row != NULL) {
        pgcdc__buf_lit(j, ",\"columns\":[");
        wal2json_columns(j, new_row, 0);
        pgcdc__buf_u8(j, ']');
    }
    if (old_row != NULL) {
        /* The old key (replica identity columns) or, under FULL, the whole old row. */
        pgcdc__buf_lit(j, ",\"identity\":[");
        wal2json_columns(j, old_row, 0);
        pgcdc__buf_u8(j, ']');
    } else if (c->op == PGCDC_OP_UPDATE && new_row != NULL) {
        /*
         * Key unchanged, so the server sent no old key: wal2json takes the
         * replica identity columns from the new row.  Without an identity
         * index but with a primary key it writes the whole new row.
         */
        if (has_ident_columns(c->rel)) {
            pgcdc__buf_lit(j, ",\"identity\":[");
            wal2json_columns(j, new_row, 1);
            pgcdc__buf_u8(j, ']');
        } else if (c->rel->nkeys > 0) {
            pgcdc__buf_lit(j, ",\"identity\":[");
            wal2json_columns(j, new_row, 0);
            pgcdc__buf_u8(j, ']');
        }
    }
    pgcdc__buf_lit(j, "}\n");
}

static void wal2json_begin(pgcdc_formatter *f, const pgcdc_txn *txn)
{
    (void)txn;
    pgcdc__buf_lit(&f->out, "{\"action\":\"B\"}\n");
}

static void wal2json_commit(pgcdc_formatter *f, const pgcdc_txn *txn)
{
    (void)txn;
    pgcdc__buf_lit(&f->out, "{\"action\":\"C\"}\n");
}

const pgcdc__format_ops pgcdc__wal2json_format = {
    .name = "wal2json",
    .begin = wal2json_begin,
    .change = wal2json_change,
    .commit = wal2json_commit,
};
