/*
 * pgcdc's native JSON event: one object per change with the operation,
 * schema, table, transaction fields, key column names, old and new rows,
 * and the columns left out as unchanged TOAST.
 */
#include <string.h>

#include "format/format.h"
#include "format/json.h"

static int unchanged_in(const pgcdc_row *row, int col)
{
    return row != NULL && pgcdc_row_state(row, col) == PGCDC_VALUE_UNCHANGED;
}

/* Formats the transaction's fields once for all its changes. */
static void cache_txn(pgcdc_formatter *f, const pgcdc_txn *txn)
{
    pgcdc__buf tmp;
    char lsn[32];

    if (f->txn_of == txn && f->txn_token == txn->token && txn->token != 0)
        return;
    pgcdc__buf_init(&tmp);
    pgcdc__buf_lit(&tmp, ",\"xid\":");
    pgcdc__json_u64(&tmp, txn->xid);
    pgcdc__buf_lit(&tmp, ",\"commit_lsn\":\"");
    pgcdc__buf_lit(&tmp, pgcdc_lsn_format(txn->commit_lsn, lsn, sizeof(lsn)));
    pgcdc__buf_u8(&tmp, '"');
    f->txn_len = tmp.len < sizeof(f->txn_text) ? tmp.len : 0;
    if (tmp.data != NULL)
        memcpy(f->txn_text, tmp.data, f->txn_len);
    pgcdc__buf_reset(&tmp);
    pgcdc__json_utc_time(&tmp, txn->commit_time);
    f->time_len = tmp.len < sizeof(f->time_text) ? tmp.len : 0;
    if (tmp.data != NULL)
        memcpy(f->time_text, tmp.data, f->time_len);
    pgcdc__buf_free(&tmp);
    f->txn_of = txn;
    f->txn_token = txn->token;
}

/* A shape's columns: [{"name":..,"type":..,"key":..}, ...]. */
static void put_columns(pgcdc__buf *j, const pgcdc_row *row)
{
    pgcdc__buf_u8(j, '[');
    for (int i = 0; i < pgcdc_row_ncols(row); i++) {
        pgcdc__buf_lit(j, i > 0 ? ",{\"name\":" : "{\"name\":");
        pgcdc__json_cstring(j, pgcdc_row_name(row, i));
        pgcdc__buf_lit(j, ",\"type\":");
        pgcdc__json_cstring(j, pgcdc_row_type_name(row, i));
        pgcdc__buf_lit(j, ",\"key\":");
        pgcdc__fmt_bool(j, pgcdc_row_is_key(row, i));
        pgcdc__buf_u8(j, '}');
    }
    pgcdc__buf_u8(j, ']');
}

/*
 * A table's new shape: its columns before and after (names, types, key),
 * the statement when DDL capture saw it, the seq of the change it precedes.
 */
static void native_schema(pgcdc_formatter *f, const pgcdc_change *c)
{
    pgcdc__buf *j = &f->out;

    cache_txn(f, c->txn);
    pgcdc__buf_lit(j, "{\"op\":\"SCHEMA_CHANGE\",");
    pgcdc__fmt_rel_head(j, c->rel, NULL);
    pgcdc__buf_put(j, f->txn_text, f->txn_len);
    pgcdc__buf_lit(j, ",\"seq\":");
    pgcdc__json_u64(j, c->seq);
    pgcdc__buf_lit(j, ",\"commit_time\":");
    pgcdc__buf_put(j, f->time_text, f->time_len);
    pgcdc__buf_lit(j, ",\"old_columns\":");
    put_columns(j, &c->old_row);
    pgcdc__buf_lit(j, ",\"new_columns\":");
    put_columns(j, &c->new_row);
    pgcdc__buf_lit(j, ",\"ddl\":");
    pgcdc__json_cstring(j, c->ddl);
    pgcdc__buf_lit(j, "}\n");
}

static void native_change(pgcdc_formatter *f, const pgcdc_change *c)
{
    pgcdc__buf *j = &f->out;
    const pgcdc__relation *rel = c->rel;
    const pgcdc__rel_text *rt = pgcdc__rel_text_of(rel);
    const pgcdc_row *old_row = pgcdc_change_old(c);
    const pgcdc_row *new_row = pgcdc_change_new(c);
    int listed = 0;
    int unchanged;

    if (c->op == PGCDC_OP_SCHEMA) {
        native_schema(f, c);
        return;
    }
    cache_txn(f, c->txn);
    pgcdc__buf_lit(j, "{\"op\":\"");
    pgcdc__buf_lit(j, pgcdc_op_name(c->op));
    pgcdc__buf_lit(j, "\",");
    pgcdc__fmt_rel_head(j, rel, rt);
    pgcdc__buf_put(j, f->txn_text, f->txn_len);
    pgcdc__buf_lit(j, ",\"seq\":");
    pgcdc__json_u64(j, c->seq);
    pgcdc__buf_lit(j, ",\"commit_time\":");
    pgcdc__buf_put(j, f->time_text, f->time_len);
    if (c->txn->gid != NULL) {
        /* A prepared transaction's change: not committed until its COMMIT_PREPARED event. */
        pgcdc__buf_lit(j, ",\"gid\":");
        pgcdc__json_cstring(j, c->txn->gid);
        pgcdc__buf_lit(j, ",\"prepared\":true");
    }
    pgcdc__buf_lit(j, ",\"pk\":");
    if (rt != NULL) {
        pgcdc__buf_put(j, pgcdc__rel_text_at(rt, rt->pk_off), rt->pk_len);
    } else {
        pgcdc__buf_u8(j, '[');
        for (int k = 0; k < rel->nkeys; k++) {
            if (k > 0)
                pgcdc__buf_u8(j, ',');
            pgcdc__json_cstring(j, rel->cols[rel->keys[k]].name);
        }
        pgcdc__buf_u8(j, ']');
    }
    pgcdc__buf_lit(j, ",\"old\":");
    unchanged = pgcdc__fmt_row(j, old_row, NULL);
    pgcdc__buf_lit(j, ",\"new\":");
    unchanged += pgcdc__fmt_row(j, new_row, NULL);
    /* Unchanged TOAST is neither a value nor NULL: name the columns left out. */
    for (int i = 0; unchanged > 0 && i < rel->ncols; i++) {
        if (!unchanged_in(new_row, i) && !unchanged_in(old_row, i))
            continue;
        pgcdc__buf_lit(j, listed ? "," : ",\"unchanged_toast\":[");
        listed = 1;
        pgcdc__json_cstring(j, rel->cols[i].name);
    }
    if (listed)
        pgcdc__buf_u8(j, ']');
    if (c->op == PGCDC_OP_TRUNCATE) {
        pgcdc__buf_lit(j, ",\"cascade\":");
        pgcdc__fmt_bool(j, (c->truncate_flags & 1) != 0);
        pgcdc__buf_lit(j, ",\"restart_identity\":");
        pgcdc__fmt_bool(j, (c->truncate_flags & 2) != 0);
    }
    pgcdc__buf_lit(j, "}\n");
}

/*
 * A transaction's end has no line of its own, except COMMIT PREPARED and
 * ROLLBACK PREPARED: an event that names the GID whose changes came before.
 */
static void native_commit(pgcdc_formatter *f, const pgcdc_txn *txn)
{
    pgcdc__buf *j = &f->out;
    char lsn[32];

    if (txn->two_phase != PGCDC_TWO_PHASE_COMMIT && txn->two_phase != PGCDC_TWO_PHASE_ROLLBACK)
        return;
    cache_txn(f, txn);
    pgcdc__buf_lit(j, txn->two_phase == PGCDC_TWO_PHASE_COMMIT ? "{\"op\":\"COMMIT_PREPARED\""
                                                               : "{\"op\":\"ROLLBACK_PREPARED\"");
    pgcdc__buf_lit(j, ",\"gid\":");
    pgcdc__json_cstring(j, txn->gid);
    pgcdc__buf_put(j, f->txn_text, f->txn_len);
    pgcdc__buf_lit(j, ",\"end_lsn\":\"");
    pgcdc__buf_lit(j, pgcdc_lsn_format(txn->end_lsn, lsn, sizeof(lsn)));
    pgcdc__buf_lit(j, "\",\"seq\":0,\"commit_time\":");
    pgcdc__buf_put(j, f->time_text, f->time_len);
    pgcdc__buf_lit(j, "}\n");
}

const pgcdc__format_ops pgcdc__native_format = {
    .name = "json",
    .begin = pgcdc__fmt_no_line,
    .change = native_change,
    .commit = native_commit,
};
