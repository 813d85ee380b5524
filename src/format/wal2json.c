/*
 * wal2json's format-version 2: a line per change with the columns as
 * name/type/value objects and the identity, and B and C lines around each
 * transaction.  The plugin's options that shape these lines (transaction
 * ids, commit times, LSNs, type OIDs, NOT NULL, the primary key, numbers as
 * strings) are the format's options, with the plugin's defaults.  Schema
 * changes are S lines, pgcdc's addition.
 */
#include <stdint.h>
#include <string.h>

#include "base/num.h"
#include "format/format.h"
#include "format/json.h"
#include "wire/binval.h"
#include "wire/types.h"

/* Each option: its index (its bit in f->options), name, default, description. */
#define OPTIONS(X)                                                                                 \
    X(TRANSACTION, "include_transaction", 1, "a B and a C line around each transaction")           \
    X(XIDS, "include_xids", 0, "every line carries its transaction's id (\"xid\")")                \
    X(TIMESTAMP, "include_timestamp", 0,                                                           \
      "every line carries its transaction's commit time (\"timestamp\", in UTC)")                  \
    X(LSN, "include_lsn", 0,                                                                       \
      "changes carry their own \"lsn\"; B and C lines the commit's \"lsn\" (C also \"nextlsn\")")  \
    X(SCHEMAS, "include_schemas", 1, "changes name their table's schema (\"schema\")")             \
    X(TYPES, "include_types", 1, "columns carry their type's name (\"type\", with its modifier)")  \
    X(TYPE_OIDS, "include_type_oids", 0, "columns carry their type's OID (\"typeoid\")")           \
    X(TYPMOD, "include_typmod", 1,                                                                 \
      "accepted as wal2json takes it; its format 2 always names types with their modifiers")       \
    X(NOT_NULL, "include_not_null", 0,                                                             \
      "columns carry \"optional\", false for NOT NULL columns (read from the catalog)")            \
    X(PK, "include_pk", 0,                                                                         \
      "changes list their table's primary key columns (\"pk\", from the catalog)")                 \
    X(NUMERIC_STRING, "numeric_data_types_as_string", 0,                                           \
      "numbers (and NaN, Infinity) as JSON strings, as wal2json 2.6 does")

enum {
#define INDEX(id, name, on, desc) IX_##id,
    OPTIONS(INDEX)
#undef INDEX
        NOPTIONS
};

enum {
#define BIT(id, name, on, desc) O_##id = 1u << IX_##id,
    OPTIONS(BIT)
#undef BIT
};

/* The options that are on by default.  f->options holds the bits set otherwise. */
#define DEFAULT_BIT(id, name, on, desc) | ((on) ? (unsigned)O_##id : 0u)
#define DEFAULTS (0u OPTIONS(DEFAULT_BIT))

static const pgcdc_property wal2json_properties[NOPTIONS] = {
#define PROPERTY(id, name, on, desc)                                                               \
    [IX_##id] = {name, PGCDC_PROP_BOOL, (on) ? "true" : "false", 0, 0, NULL, desc},
    OPTIONS(PROPERTY)
#undef PROPERTY
};

static int on(const pgcdc_formatter *f, unsigned option)
{
    return ((f->options ^ DEFAULTS) & option) != 0;
}

static int wal2json_set(pgcdc_formatter *f, const pgcdc_property *p, const char *value)
{
    unsigned bit;
    int v;

    if (p < wal2json_properties || p >= wal2json_properties + NOPTIONS ||
        pgcdc__parse_flag(value, &v) != 0)
        return PGCDC_ERR_INVALID;
    bit = 1u << (p - wal2json_properties);
    if (!v != !(DEFAULTS & bit))
        f->options |= bit;
    else
        f->options &= ~bit;
    /* The transaction's cached fields depend on the options. */
    f->txn_of = NULL;
    return PGCDC_OK;
}

static int wal2json_needs(const pgcdc_formatter *f)
{
    return (on(f, O_NOT_NULL) ? PGCDC__REL_NOT_NULL : 0) | (on(f, O_PK) ? PGCDC__REL_PK : 0);
}

static void put_lsn(pgcdc__buf *j, const char *key, uint64_t lsn)
{
    char text[32];

    pgcdc__buf_lit(j, key);
    pgcdc__buf_u8(j, '"');
    pgcdc__buf_lit(j, pgcdc_lsn_format(lsn, text, sizeof(text)));
    pgcdc__buf_u8(j, '"');
}

/*
 * ,"timestamp":"..." as the server prints a timestamptz (DateStyle ISO, in
 * UTC): the commit time is turned into the binary value it came from.
 */
static void put_commit_time(pgcdc__buf *j, int64_t unix_us)
{
    /* Microseconds from 1970-01-01 to PostgreSQL's epoch, 2000-01-01. */
    const int64_t pg_epoch_us = INT64_C(946684800000000);
    uint64_t pg_us = (uint64_t)unix_us - (uint64_t)pg_epoch_us;
    uint8_t be[8];
    char text[PGCDC__FIXED_TEXT_MAX];
    int n;

    for (int i = 0; i < 8; i++)
        be[i] = (uint8_t)(pg_us >> (56 - 8 * i));
    n = pgcdc__fixed_to_text(PGCDC_OID_TIMESTAMPTZ, be, sizeof(be), text);
    if (n < 0)
        return;
    pgcdc__buf_lit(j, ",\"timestamp\":");
    pgcdc__json_string(j, text, (size_t)n);
}

/* The transaction's ,"xid":..,"timestamp":".." as the options ask, formatted once. */
static void put_txn_fields(pgcdc_formatter *f, const pgcdc_txn *txn)
{
    if (f->txn_of != txn || f->txn_token != txn->token || txn->token == 0) {
        pgcdc__buf tmp;

        pgcdc__buf_init(&tmp);
        if (on(f, O_XIDS)) {
            pgcdc__buf_lit(&tmp, ",\"xid\":");
            pgcdc__json_u64(&tmp, txn->xid);
        }
        if (on(f, O_TIMESTAMP))
            put_commit_time(&tmp, txn->commit_time);
        f->txn_len = tmp.len < sizeof(f->txn_text) && !tmp.oom ? tmp.len : 0;
        if (tmp.data != NULL)
            memcpy(f->txn_text, tmp.data, f->txn_len);
        pgcdc__buf_free(&tmp);
        f->txn_of = txn;
        f->txn_token = txn->token;
    }
    pgcdc__buf_put(&f->out, f->txn_text, f->txn_len);
}

/*
 * format_type() quotes identifiers that need it.  wal2json then writes a
 * name that starts with a quote as is (unless it ends in "]", an array);
 * for a single quoted identifier that is the same JSON string as its inner
 * text.  Other shapes (a quoted schema, a doubled quote) would make
 * wal2json's output invalid JSON; they are escaped as plain strings here.
 */
static void put_type(pgcdc__buf *j, const char *type)
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

static int is_number_type(uint32_t oid)
{
    return oid == PGCDC_OID_INT2 || oid == PGCDC_OID_INT4 || oid == PGCDC_OID_INT8 ||
           oid == PGCDC_OID_OID || oid == PGCDC_OID_FLOAT4 || oid == PGCDC_OID_FLOAT8 ||
           oid == PGCDC_OID_NUMERIC;
}

/*
 * A present value.  wal2json picks the JSON kind by the column's declared
 * type, so a domain's values are strings, whatever its base type; with
 * numbers as strings, so are the numbers.
 */
static void put_value(pgcdc_formatter *f, const pgcdc_row *row, int col)
{
    const pgcdc__relcol_info *info = &row->rel->cols[col];
    const char *text;
    size_t len;

    if (info->sent_oid == info->type_oid &&
        !(on(f, O_NUMERIC_STRING) && is_number_type(info->sent_oid))) {
        pgcdc__fmt_column(&f->out, row, col, 1);
        return;
    }
    if (pgcdc_row_get_text(row, col, &text, &len) != PGCDC_OK) {
        pgcdc__buf_put(&f->out, "null", 4);
        return;
    }
    pgcdc__json_string(&f->out, text, len);
}

/* What a column object holds besides its name. */
enum { C_VALUE = 1, C_OPTIONAL = 2 };

static void put_column(pgcdc_formatter *f, const pgcdc_row *row, int col, int what)
{
    pgcdc__buf *j = &f->out;
    const pgcdc__relcol_info *info = &row->rel->cols[col];
    const pgcdc__rel_text *rt = pgcdc__rel_text_of(row->rel);

    pgcdc__buf_lit(j, "{\"name\":");
    if (rt != NULL)
        pgcdc__buf_put(j, pgcdc__rel_text_at(rt, rt->names[col].off), rt->names[col].len - 1);
    else
        pgcdc__json_cstring(j, info->name);
    if (on(f, O_TYPES)) {
        pgcdc__buf_lit(j, ",\"type\":");
        put_type(j, pgcdc_row_type_name(row, col));
    }
    if (on(f, O_TYPE_OIDS)) {
        /* The plugin prints the OID as a signed integer. */
        pgcdc__buf_lit(j, ",\"typeoid\":");
        pgcdc__json_i64(j, (int32_t)info->sent_oid);
    }
    if (what & C_VALUE) {
        pgcdc__buf_lit(j, ",\"value\":");
        if (pgcdc_row_state(row, col) == PGCDC_VALUE_NULL)
            pgcdc__buf_put(j, "null", 4);
        else
            put_value(f, row, col);
    }
    /* Only when the catalog was read (not for a formatter the worker did not ask for). */
    if ((what & C_OPTIONAL) && on(f, O_NOT_NULL) && info->not_null >= 0) {
        pgcdc__buf_lit(j, ",\"optional\":");
        pgcdc__fmt_bool(j, !info->not_null);
    }
    pgcdc__buf_u8(j, '}');
}

/* Columns of row with a value or NULL; unchanged TOAST and absent columns are skipped. */
static void put_columns(pgcdc_formatter *f, const pgcdc_row *row, int ident_only, int what)
{
    int first = 1;

    for (int i = 0; i < row->rel->ncols; i++) {
        pgcdc_value_state st = pgcdc_row_state(row, i);

        if (st != PGCDC_VALUE_PRESENT && st != PGCDC_VALUE_NULL)
            continue;
        if (ident_only && !row->rel->cols[i].is_ident)
            continue;
        if (!first)
            pgcdc__buf_u8(&f->out, ',');
        first = 0;
        put_column(f, row, i, what);
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

static int in_pk(const pgcdc__relation *rel, int col)
{
    for (int k = 0; k < rel->npk; k++) {
        if (rel->pk[k] == col)
            return 1;
    }
    return 0;
}

/*
 * ,"pk":[...]: the primary key's columns in table order, named and typed,
 * without values; [] for a table without one.  Nothing when the catalog was
 * not read.  Like wal2json, a key column left out as unchanged TOAST is
 * left out here too.
 */
static void put_pk(pgcdc_formatter *f, const pgcdc_change *c)
{
    const pgcdc_row *row = c->has_old ? &c->old_row : c->has_new ? &c->new_row : NULL;
    int first = 1;

    if (c->rel->npk < 0)
        return;
    pgcdc__buf_lit(&f->out, ",\"pk\":[");
    for (int i = 0; row != NULL && i < c->rel->ncols; i++) {
        if (!in_pk(c->rel, i) || pgcdc_row_state(row, i) == PGCDC_VALUE_UNCHANGED)
            continue;
        if (!first)
            pgcdc__buf_u8(&f->out, ',');
        first = 0;
        put_column(f, row, i, 0);
    }
    pgcdc__buf_u8(&f->out, ']');
}

/* A two-phase transaction's GID (wal2json has none: pgcdc's addition). */
static void put_gid(pgcdc__buf *j, const pgcdc_txn *txn)
{
    if (txn->gid == NULL)
        return;
    pgcdc__buf_lit(j, ",\"gid\":");
    pgcdc__json_cstring(j, txn->gid);
}

/* A shape's columns, every one, named and typed as the options say (no values). */
static void put_shape(pgcdc_formatter *f, const char *key, const pgcdc_row *shape)
{
    pgcdc__buf_lit(&f->out, key);
    pgcdc__buf_u8(&f->out, '[');
    for (int i = 0; i < pgcdc_row_ncols(shape); i++) {
        if (i > 0)
            pgcdc__buf_u8(&f->out, ',');
        put_column(f, shape, i, C_OPTIONAL);
    }
    pgcdc__buf_u8(&f->out, ']');
}

/*
 * A schema change (wal2json has none: pgcdc's addition): an S line with the
 * table's columns after ("columns") and before ("oldcolumns", [] for a new
 * table), its key columns ("pk": the catalog's primary key when read, else
 * the key the stream knows) and the statement ("ddl", null when not
 * captured).  Columns are named and typed as in the other lines.
 */
static void schema_line(pgcdc_formatter *f, const pgcdc_change *c)
{
    pgcdc__buf *j = &f->out;
    const pgcdc__relation *rel = c->rel;
    int first = 1;

    pgcdc__buf_lit(j, "{\"action\":\"S\"");
    put_txn_fields(f, c->txn);
    if (on(f, O_LSN))
        put_lsn(j, ",\"lsn\":", pgcdc_change_lsn(c));
    if (on(f, O_SCHEMAS)) {
        pgcdc__buf_lit(j, ",\"schema\":");
        pgcdc__json_cstring(j, rel->schema);
    }
    pgcdc__buf_lit(j, ",\"table\":");
    pgcdc__json_cstring(j, rel->name);
    put_gid(j, c->txn);
    put_shape(f, ",\"columns\":", &c->new_row);
    put_shape(f, ",\"oldcolumns\":", &c->old_row);
    pgcdc__buf_lit(j, ",\"pk\":[");
    for (int i = 0; i < rel->ncols; i++) {
        if (!(rel->npk >= 0 ? in_pk(rel, i) : rel->cols[i].is_key))
            continue;
        if (!first)
            pgcdc__buf_u8(j, ',');
        first = 0;
        put_column(f, &c->new_row, i, 0);
    }
    pgcdc__buf_lit(j, "],\"ddl\":");
    pgcdc__json_cstring(j, c->ddl);
    pgcdc__buf_lit(j, "}\n");
}

static void wal2json_change(pgcdc_formatter *f, const pgcdc_change *c)
{
    pgcdc__buf *j = &f->out;
    const pgcdc_row *old_row = pgcdc_change_old(c);
    const pgcdc_row *new_row = pgcdc_change_new(c);
    /*
     * wal2json's action letters are pgoutput's message bytes.  It has no
     * snapshot: a snapshot's row reads as the insert that would make it.
     */
    char action = c->op == PGCDC_OP_READ ? 'I' : (char)c->op;

    if (c->op == PGCDC_OP_SCHEMA) {
        schema_line(f, c);
        return;
    }
    if (action != 'I' && action != 'U' && action != 'D' && action != 'T')
        action = '?';
    pgcdc__buf_lit(j, "{\"action\":\"");
    pgcdc__buf_u8(j, action);
    pgcdc__buf_u8(j, '"');
    put_txn_fields(f, c->txn);
    if (on(f, O_LSN))
        put_lsn(j, ",\"lsn\":", pgcdc_change_lsn(c));
    if (on(f, O_SCHEMAS)) {
        pgcdc__buf_lit(j, ",\"schema\":");
        pgcdc__json_cstring(j, c->rel->schema);
    }
    pgcdc__buf_lit(j, ",\"table\":");
    pgcdc__json_cstring(j, c->rel->name);
    put_gid(j, c->txn);
    if (c->op == PGCDC_OP_TRUNCATE) {
        pgcdc__buf_lit(j, "}\n");
        return;
    }
    if (new_row != NULL) {
        pgcdc__buf_lit(j, ",\"columns\":[");
        put_columns(f, new_row, 0, C_VALUE | C_OPTIONAL);
        pgcdc__buf_u8(j, ']');
    }
    if (old_row != NULL) {
        /* The old key (replica identity columns) or, under FULL, the whole old row. */
        pgcdc__buf_lit(j, ",\"identity\":[");
        put_columns(f, old_row, 0, C_VALUE);
        pgcdc__buf_u8(j, ']');
    } else if (c->op == PGCDC_OP_UPDATE && new_row != NULL) {
        /*
         * Key unchanged, so the server sent no old key: wal2json takes the
         * replica identity columns from the new row.  Without an identity
         * index but with a primary key it writes the whole new row.
         */
        if (has_ident_columns(c->rel)) {
            pgcdc__buf_lit(j, ",\"identity\":[");
            put_columns(f, new_row, 1, C_VALUE);
            pgcdc__buf_u8(j, ']');
        } else if (c->rel->nkeys > 0 || c->rel->npk > 0) {
            pgcdc__buf_lit(j, ",\"identity\":[");
            put_columns(f, new_row, 0, C_VALUE);
            pgcdc__buf_u8(j, ']');
        }
    }
    if (on(f, O_PK))
        put_pk(f, c);
    pgcdc__buf_lit(j, "}\n");
}

static int finishes_prepared(const pgcdc_txn *txn)
{
    return txn->two_phase == PGCDC_TWO_PHASE_COMMIT || txn->two_phase == PGCDC_TWO_PHASE_ROLLBACK;
}

static void wal2json_begin(pgcdc_formatter *f, const pgcdc_txn *txn)
{
    /* COMMIT/ROLLBACK PREPARED is one line, at its commit. */
    if (!on(f, O_TRANSACTION) || finishes_prepared(txn))
        return;
    pgcdc__buf_lit(&f->out, "{\"action\":\"B\"");
    put_txn_fields(f, txn);
    put_gid(&f->out, txn);
    if (on(f, O_LSN)) {
        put_lsn(&f->out, ",\"lsn\":", txn->commit_lsn);
        /* The commit's end is not known before the commit arrives (pgoutput's Begin lacks it). */
        if (txn->end_lsn != 0)
            put_lsn(&f->out, ",\"nextlsn\":", txn->end_lsn);
    }
    pgcdc__buf_lit(&f->out, "}\n");
}

/*
 * C, or for a prepared transaction P (it is not committed yet); COMMIT
 * PREPARED and ROLLBACK PREPARED are K and r lines (pgoutput's bytes),
 * written whatever include-transaction says: they are events of their own.
 */
static void wal2json_commit(pgcdc_formatter *f, const pgcdc_txn *txn)
{
    char action = 'C';

    if (finishes_prepared(txn) || txn->two_phase == PGCDC_TWO_PHASE_PREPARED)
        action = (char)txn->two_phase;
    if (!on(f, O_TRANSACTION) && !finishes_prepared(txn))
        return;
    pgcdc__buf_lit(&f->out, "{\"action\":\"");
    pgcdc__buf_u8(&f->out, (uint8_t)action);
    pgcdc__buf_u8(&f->out, '"');
    put_txn_fields(f, txn);
    put_gid(&f->out, txn);
    if (on(f, O_LSN)) {
        put_lsn(&f->out, ",\"lsn\":", txn->commit_lsn);
        put_lsn(&f->out, ",\"nextlsn\":", txn->end_lsn);
    }
    pgcdc__buf_lit(&f->out, "}\n");
}

const pgcdc__format_ops pgcdc__wal2json_format = {
    .name = "wal2json",
    .begin = wal2json_begin,
    .change = wal2json_change,
    .commit = wal2json_commit,
    .properties = wal2json_properties,
    .nproperties = NOPTIONS,
    .set = wal2json_set,
    .needs = wal2json_needs,
};
