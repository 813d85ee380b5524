/*
 * Accessors for transactions, changes and rows handed to callbacks: typed
 * reads of column values that tell NULL, unchanged TOAST and absent apart.
 */
#include <string.h>

#include "base/clock.h"
#include "core/row.h"
#include "wire/binval.h"
#include "wire/types.h"
#include "wire/value.h"

uint32_t pgcdc_txn_xid(const pgcdc_txn *txn)
{
    return txn->xid;
}

pgcdc_snapshot_kind pgcdc_txn_snapshot(const pgcdc_txn *txn)
{
    return (pgcdc_snapshot_kind)txn->snapshot;
}

uint64_t pgcdc_txn_commit_lsn(const pgcdc_txn *txn)
{
    return txn->commit_lsn;
}

uint64_t pgcdc_txn_end_lsn(const pgcdc_txn *txn)
{
    return txn->end_lsn;
}

int64_t pgcdc_txn_commit_time(const pgcdc_txn *txn)
{
    return txn->commit_time;
}

uint32_t pgcdc_txn_nchanges(const pgcdc_txn *txn)
{
    return txn->nchanges;
}

uint64_t pgcdc_txn_token(const pgcdc_txn *txn)
{
    return txn->token;
}

pgcdc_two_phase pgcdc_txn_two_phase(const pgcdc_txn *txn)
{
    return (pgcdc_two_phase)txn->two_phase;
}

const char *pgcdc_txn_gid(const pgcdc_txn *txn)
{
    return txn->gid;
}

pgcdc_op pgcdc_change_op(const pgcdc_change *c)
{
    return c->op;
}

const char *pgcdc_change_schema(const pgcdc_change *c)
{
    return c->rel->schema;
}

const char *pgcdc_change_table(const pgcdc_change *c)
{
    return c->rel->name;
}

uint32_t pgcdc_change_relid(const pgcdc_change *c)
{
    return c->rel->relid;
}

uint32_t pgcdc_change_xid(const pgcdc_change *c)
{
    return c->txn->xid;
}

uint64_t pgcdc_change_commit_lsn(const pgcdc_change *c)
{
    return c->txn->commit_lsn;
}

int64_t pgcdc_change_commit_time(const pgcdc_change *c)
{
    return c->txn->commit_time;
}

uint64_t pgcdc_change_lsn(const pgcdc_change *c)
{
    return c->lsn;
}

uint32_t pgcdc_change_seq(const pgcdc_change *c)
{
    return c->seq;
}

uint64_t pgcdc_change_token(const pgcdc_change *c)
{
    return c->txn->token;
}

const pgcdc_txn *pgcdc_change_txn(const pgcdc_change *c)
{
    return c->txn;
}

const pgcdc_row *pgcdc_change_old(const pgcdc_change *c)
{
    return c->has_old ? &c->old_row : NULL;
}

const pgcdc_row *pgcdc_change_new(const pgcdc_change *c)
{
    return c->has_new ? &c->new_row : NULL;
}

int pgcdc_change_nkeys(const pgcdc_change *c)
{
    return c->rel->nkeys;
}

const char *pgcdc_change_key(const pgcdc_change *c, int k)
{
    if (k < 0 || k >= c->rel->nkeys)
        return NULL;
    return c->rel->cols[c->rel->keys[k]].name;
}

int pgcdc_change_truncate_flags(const pgcdc_change *c)
{
    return c->truncate_flags;
}

int pgcdc_change_snapshot_last(const pgcdc_change *c)
{
    return c->snapshot_last;
}

const char *pgcdc_change_ddl(const pgcdc_change *c)
{
    return c->op == PGCDC_OP_SCHEMA ? c->ddl : NULL;
}

int pgcdc_row_ncols(const pgcdc_row *row)
{
    return row->rel->ncols;
}

int pgcdc_row_find(const pgcdc_row *row, const char *name)
{
    for (int i = 0; i < row->rel->ncols; i++) {
        if (strcmp(row->rel->cols[i].name, name) == 0)
            return i;
    }
    return PGCDC_ERR_NOT_FOUND;
}

static inline int in_range(const pgcdc_row *row, int col)
{
    return (unsigned)col < (unsigned)row->rel->ncols;
}

const char *pgcdc_row_name(const pgcdc_row *row, int col)
{
    return in_range(row, col) ? row->rel->cols[col].name : NULL;
}

uint32_t pgcdc_row_type(const pgcdc_row *row, int col)
{
    return in_range(row, col) ? row->rel->cols[col].type_oid : 0;
}

const char *pgcdc_row_type_name(const pgcdc_row *row, int col)
{
    if (!in_range(row, col))
        return NULL;
    if (row->rel->cols[col].type_name != NULL)
        return row->rel->cols[col].type_name;
    return pgcdc__type_of(row->rel->cols[col].type_oid)->name;
}

int pgcdc_row_is_key(const pgcdc_row *row, int col)
{
    return in_range(row, col) ? row->rel->cols[col].is_key : 0;
}

pgcdc_value_state pgcdc_row_state(const pgcdc_row *row, int col)
{
    if (!in_range(row, col) || row->cols == NULL)
        return PGCDC_VALUE_ABSENT;
    return pgcdc__row_state(row, col);
}

/*
 * The column's value, or the error that explains why there is none: the
 * checks of pgcdc_row_state() in one pass, as every typed read starts here.
 */
static inline int value_of(const pgcdc_row *row, int col, const pgcdc__col **out)
{
    const pgcdc__col *v;

    if (!in_range(row, col))
        return PGCDC_ERR_NOT_FOUND;
    if (row->cols == NULL || (row->key_only && !row->rel->cols[col].is_ident))
        return PGCDC_ERR_ABSENT;
    v = &row->cols[col];
    if (v->kind == PGCDC_COL_NULL)
        return PGCDC_ERR_NULL_VALUE;
    if (v->kind == PGCDC_COL_UNCHANGED)
        return PGCDC_ERR_UNCHANGED;
    *out = v;
    return PGCDC_OK;
}

const pgcdc__col *pgcdc__row_text_col(const pgcdc_row *row, int col)
{
    pgcdc__col *v = &row->cols[col];
    pgcdc__buf *b = row->texts;
    size_t at;

    if (v->kind != PGCDC_COL_BINARY || b == NULL)
        return v;
    /*
     * The worker reserved PGCDC__FIXED_TEXT_MAX bytes per column of the
     * change, and each value is printed once: the buffer never moves here,
     * so the texts handed out before stay valid.  The worker checked sizes.
     */
    at = b->len;
    if (pgcdc__binary_to_text(row->rel->cols[col].type_oid, (const uint8_t *)v->data, v->len, b) !=
        0)
        return v;
    pgcdc__buf_u8(b, 0);
    v->data = (const char *)b->data + at;
    v->len = (uint32_t)(b->len - at - 1);
    v->kind = PGCDC_COL_TEXT;
    return v;
}

/* The column's value as text. */
static int text_of(const pgcdc_row *row, int col, const pgcdc__col **out)
{
    int r = value_of(row, col, out);

    if (r == PGCDC_OK)
        *out = pgcdc__row_text_col(row, col);
    return r;
}

/*
 * Typed reads straight from a fixed-size binary value, where they give what
 * reading its text would: 1 when done, 0 to read the text instead.
 */
static int binary_int64(const pgcdc_row *row, int col, const pgcdc__col *v, int64_t *out)
{
    if (v->kind != PGCDC_COL_BINARY)
        return 0;
    switch (row->rel->cols[col].type_oid) {
    case PGCDC_OID_INT2:
        *out = (int16_t)pgcdc__be16(v->data);
        return 1;
    case PGCDC_OID_INT4:
        *out = (int32_t)pgcdc__be32(v->data);
        return 1;
    case PGCDC_OID_OID:
        *out = (int64_t)pgcdc__be32(v->data);
        return 1;
    case PGCDC_OID_INT8:
        *out = (int64_t)pgcdc__be64(v->data);
        return 1;
    }
    return 0;
}

static int binary_double(const pgcdc_row *row, int col, const pgcdc__col *v, double *out)
{
    uint64_t bits;

    /* Not float4: its text reads back as the nearest double to the decimal. */
    if (v->kind != PGCDC_COL_BINARY || row->rel->cols[col].type_oid != PGCDC_OID_FLOAT8)
        return 0;
    bits = pgcdc__be64(v->data);
    memcpy(out, &bits, sizeof(*out));
    return 1;
}

static int binary_timestamp(const pgcdc_row *row, int col, const pgcdc__col *v, int64_t *out)
{
    int64_t t;

    if (v->kind != PGCDC_COL_BINARY)
        return 0;
    switch (row->rel->cols[col].type_oid) {
    case PGCDC_OID_TIMESTAMP:
    case PGCDC_OID_TIMESTAMPTZ:
        t = (int64_t)pgcdc__be64(v->data);
        break;
    case PGCDC_OID_DATE: {
        int32_t days = (int32_t)pgcdc__be32(v->data);

        if (days == INT32_MAX || days == INT32_MIN)
            return 0;
        t = (int64_t)days * INT64_C(86400000000);
        break;
    }
    default:
        return 0;
    }
    /* The infinities, and the far edges, are the text parser's to judge. */
    if (t >= INT64_MAX - PGCDC__EPOCH_DIFF_US || t <= INT64_MIN + PGCDC__EPOCH_DIFF_US)
        return 0;
    *out = t + PGCDC__EPOCH_DIFF_US;
    return 1;
}

static int parse_result(int r)
{
    if (r == -2)
        return PGCDC_ERR_RANGE;
    return r == 0 ? PGCDC_OK : PGCDC_ERR_TYPE;
}

int pgcdc_row_get_text(const pgcdc_row *row, int col, const char **out, size_t *len)
{
    const pgcdc__col *v;
    int r = text_of(row, col, &v);

    if (r != PGCDC_OK)
        return r;
    *out = v->data;
    if (len != NULL)
        *len = v->len;
    return PGCDC_OK;
}

int pgcdc_row_get_int64(const pgcdc_row *row, int col, int64_t *out)
{
    const pgcdc__col *v;
    int r = value_of(row, col, &v);

    if (r != PGCDC_OK)
        return r;
    if (binary_int64(row, col, v, out))
        return PGCDC_OK;
    v = pgcdc__row_text_col(row, col);
    return parse_result(pgcdc__parse_int64(v->data, v->len, out));
}

int pgcdc_row_get_double(const pgcdc_row *row, int col, double *out)
{
    const pgcdc__col *v;
    int r = value_of(row, col, &v);

    if (r != PGCDC_OK)
        return r;
    if (binary_double(row, col, v, out))
        return PGCDC_OK;
    v = pgcdc__row_text_col(row, col);
    return parse_result(pgcdc__parse_double(v->data, v->len, out));
}

int pgcdc_row_get_bool(const pgcdc_row *row, int col, int *out)
{
    const pgcdc__col *v;
    int r = value_of(row, col, &v);

    if (r != PGCDC_OK)
        return r;
    if (v->kind == PGCDC_COL_BINARY && row->rel->cols[col].type_oid == PGCDC_OID_BOOL) {
        *out = v->data[0] != 0;
        return PGCDC_OK;
    }
    v = pgcdc__row_text_col(row, col);
    return parse_result(pgcdc__parse_bool(v->data, v->len, out));
}

int pgcdc_row_get_numeric(const pgcdc_row *row, int col, const char **out)
{
    const pgcdc__col *v;
    int r = text_of(row, col, &v);
    double d;

    if (r != PGCDC_OK)
        return r;
    /* Valid number syntax is enough: too large for a double (-2) is fine here. */
    if (pgcdc__parse_double(v->data, v->len, &d) == -1)
        return PGCDC_ERR_TYPE;
    *out = v->data;
    return PGCDC_OK;
}

int pgcdc_row_get_timestamp(const pgcdc_row *row, int col, int64_t *out)
{
    const pgcdc__col *v;
    int r = value_of(row, col, &v);

    if (r != PGCDC_OK)
        return r;
    if (binary_timestamp(row, col, v, out))
        return PGCDC_OK;
    v = pgcdc__row_text_col(row, col);
    return parse_result(pgcdc__parse_timestamp(v->data, v->len, out));
}

int pgcdc_row_get_bytea(const pgcdc_row *row, int col, uint8_t *buf, size_t cap, size_t *len)
{
    const pgcdc__col *v;
    int r = text_of(row, col, &v);
    long need;

    if (r != PGCDC_OK)
        return r;
    need = pgcdc__bytea_hex_size(v->data, v->len);
    if (need < 0)
        return PGCDC_ERR_TYPE;
    *len = (size_t)need;
    if (buf == NULL || cap < (size_t)need)
        return PGCDC_ERR_RANGE;
    return parse_result(pgcdc__parse_bytea_hex(v->data, v->len, buf, cap, len));
}

int pgcdc_row_get_json(const pgcdc_row *row, int col, const char **out)
{
    const pgcdc__col *v;
    int r = text_of(row, col, &v);

    if (r != PGCDC_OK)
        return r;
    if (row->rel->cols[col].json != PGCDC__JSON_JSON)
        return PGCDC_ERR_TYPE;
    *out = v->data;
    return PGCDC_OK;
}

int pgcdc_row_text(const pgcdc_row *row, const char *name, const char **out)
{
    return pgcdc_row_get_text(row, pgcdc_row_find(row, name), out, NULL);
}

int pgcdc_row_int64(const pgcdc_row *row, const char *name, int64_t *out)
{
    return pgcdc_row_get_int64(row, pgcdc_row_find(row, name), out);
}

int pgcdc_row_double(const pgcdc_row *row, const char *name, double *out)
{
    return pgcdc_row_get_double(row, pgcdc_row_find(row, name), out);
}
