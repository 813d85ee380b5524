/*
 * Change formatters: pgcdc's native JSON event, Debezium's change-event
 * envelope and wal2json's format-version 2, one JSON line per event, written
 * straight into a buffer the formatter reuses (no allocation per change).
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "internal.h"
#include "json.h"
#include "value.h"

/* What Debezium writes for a value it could not read (unchanged TOAST). */
#define DEBEZIUM_UNAVAILABLE "__debezium_unavailable_value"

struct pgcdc_formatter {
    pgcdc_format format;
    char *dbname; /* Debezium's source.db; "" when unknown */
    pgcdc__json out;
    /* The transaction's fields, formatted once: ,"xid":..,"commit_lsn":"..". */
    const pgcdc_txn *txn_of;
    uint64_t txn_token;
    char txn_text[96];
    size_t txn_len;
    char time_text[48]; /* "...Z" with quotes */
    size_t time_len;
};

int pgcdc_format_parse(const char *name, pgcdc_format *format)
{
    if (name == NULL || format == NULL)
        return PGCDC_ERR_INVALID;
    if (strcmp(name, "json") == 0)
        *format = PGCDC_FORMAT_JSON;
    else if (strcmp(name, "debezium") == 0)
        *format = PGCDC_FORMAT_DEBEZIUM;
    else if (strcmp(name, "wal2json") == 0)
        *format = PGCDC_FORMAT_WAL2JSON;
    else
        return PGCDC_ERR_INVALID;
    return PGCDC_OK;
}

pgcdc_formatter *pgcdc_formatter_new(pgcdc_format format, const char *dbname)
{
    pgcdc_formatter *f;

    if (format != PGCDC_FORMAT_JSON && format != PGCDC_FORMAT_DEBEZIUM &&
        format != PGCDC_FORMAT_WAL2JSON)
        return NULL;
    f = calloc(1, sizeof(*f));
    if (f == NULL)
        return NULL;
    f->format = format;
    f->dbname = strdup(dbname != NULL ? dbname : "");
    if (f->dbname == NULL) {
        free(f);
        return NULL;
    }
    pgcdc__json_init(&f->out);
    return f;
}

void pgcdc_formatter_free(pgcdc_formatter *f)
{
    if (f == NULL)
        return;
    pgcdc__json_free(&f->out);
    free(f->dbname);
    free(f);
}

/* Hands the NUL-terminated text out, or reports that a write could not grow the buffer. */
static int finish(pgcdc_formatter *f, const char **out, size_t *len)
{
    const char *text = pgcdc__json_finish(&f->out);

    if (text == NULL) {
        pgcdc__json_reset(&f->out);
        *out = "";
        *len = 0;
        return PGCDC_ERR_NOMEM;
    }
    *out = text;
    *len = f->out.len;
    return PGCDC_OK;
}

/* ---- values ---- */

static int text_is(const pgcdc__col *v, const char *s)
{
    size_t n = strlen(s);

    return v->len == n && memcmp(v->data, s, n) == 0;
}

static int all_space(const pgcdc__col *v)
{
    for (uint32_t i = 0; i < v->len; i++) {
        char ch = v->data[i];

        if (ch != ' ' && ch != '\t' && ch != '\r' && ch != '\n')
            return 0;
    }
    return 1;
}

/*
 * One column value.  Shared rules: numbers as PostgreSQL printed them when
 * that is a finite JSON number, booleans as true/false, bytea as its hex
 * digits, everything else as a string.  NaN and the infinities are strings
 * except in wal2json, which writes null for them; json/jsonb is embedded
 * except in wal2json, which quotes it.
 */
static void write_value(pgcdc__json *j, uint32_t type, const pgcdc__col *v, int wal2json)
{
    if (v->kind == PGCDC_COL_BINARY) {
        /* Never requested by pgcdc; hex keeps arbitrary bytes valid JSON. */
        pgcdc__json_hex_string(j, v->data, v->len);
        return;
    }
    switch (type) {
    case PGCDC_OID_INT2:
    case PGCDC_OID_INT4:
    case PGCDC_OID_INT8:
    case PGCDC_OID_OID:
        /* The server's integer output is always a JSON number. */
        if (v->len > 0) {
            pgcdc__json_raw(j, v->data, v->len);
            return;
        }
        break;
    case PGCDC_OID_FLOAT4:
    case PGCDC_OID_FLOAT8:
    case PGCDC_OID_NUMERIC:
        if (pgcdc__number_is_finite(v->data, v->len)) {
            pgcdc__json_raw(j, v->data, v->len);
            return;
        }
        if (wal2json && (text_is(v, "NaN") || text_is(v, "Infinity") || text_is(v, "-Infinity"))) {
            pgcdc__json_raw(j, "null", 4);
            return;
        }
        break;
    case PGCDC_OID_BOOL:
        if (text_is(v, "t")) {
            pgcdc__json_raw(j, "true", 4);
            return;
        }
        if (text_is(v, "f")) {
            pgcdc__json_raw(j, "false", 5);
            return;
        }
        break;
    case PGCDC_OID_BYTEA:
        if (v->len >= 2 && v->data[0] == '\\' && v->data[1] == 'x') {
            pgcdc__json_string(j, v->data + 2, v->len - 2);
            return;
        }
        break;
    case PGCDC_OID_JSON:
    case PGCDC_OID_JSONB:
        /* Valid JSON from the server; an empty text would not be, so it stays a string. */
        if (!wal2json && !all_space(v)) {
            pgcdc__json_embed(j, v->data, v->len);
            return;
        }
        break;
    default:
        break;
    }
    pgcdc__json_string(j, v->data, v->len);
}

/*
 * A fixed-size binary value printed straight into the JSON, as write_value
 * would write its text: 1 when done, 0 to go the text way (NaN, the
 * infinities; a wrong size, which the worker refuses before).
 */
static int write_fixed(pgcdc__json *j, uint32_t type, const pgcdc__col *v)
{
    const uint8_t *data = (const uint8_t *)v->data;
    char *p;
    int n;

    switch (type) {
    case PGCDC_OID_BOOL:
        if (v->len != 1)
            return 0;
        if (data[0])
            pgcdc__json_raw(j, "true", 4);
        else
            pgcdc__json_raw(j, "false", 5);
        return 1;
    case PGCDC_OID_INT2:
    case PGCDC_OID_INT4:
    case PGCDC_OID_INT8:
    case PGCDC_OID_OID:
    case PGCDC_OID_FLOAT4:
    case PGCDC_OID_FLOAT8:
        p = pgcdc__json_reserve(j, PGCDC__FIXED_TEXT_MAX);
        if (p == NULL)
            return 1; /* out of memory: the writer's sticky flag tells */
        n = pgcdc__fixed_to_text(type, data, v->len, p);
        /* Numbers end in a digit; NaN and the infinities go the text way, spelled per format. */
        if (n <= 0 || p[n - 1] < '0' || p[n - 1] > '9')
            return 0;
        j->len += (size_t)n;
        return 1;
    case PGCDC_OID_DATE:
    case PGCDC_OID_TIMESTAMP:
    case PGCDC_OID_TIMESTAMPTZ:
        /* Digits, '-', ':', '.', '+', ' ' and letters: nothing to escape. */
        p = pgcdc__json_reserve(j, PGCDC__FIXED_TEXT_MAX + 2);
        if (p == NULL)
            return 1;
        n = pgcdc__fixed_to_text(type, data, v->len, p + 1);
        if (n < 0)
            return 0;
        p[0] = '"';
        p[n + 1] = '"';
        j->len += (size_t)n + 2;
        return 1;
    default:
        return 0;
    }
}

/* A present column's value; binary values of fixed size are printed straight in. */
static void write_column(pgcdc__json *j, const pgcdc_row *row, int col, int wal2json)
{
    uint32_t type = row->rel->cols[col].type_oid;
    const pgcdc__col *v = &row->cols[col];

    if (v->kind == PGCDC_COL_BINARY && row->texts != NULL && write_fixed(j, type, v))
        return;
    write_value(j, type, pgcdc__row_text_col(row, col), wal2json);
}

static void write_name(pgcdc__json *j, const pgcdc__relation *rel, int col)
{
    if (rel->json_keys != NULL) {
        pgcdc__json_raw(j, rel->json_keys[col], rel->json_key_lens[col]);
        return;
    }
    pgcdc__json_cstring(j, rel->cols[col].name);
    pgcdc__json_char(j, ':');
}

/*
 * A row as an object keyed by column name.  Absent columns are left out;
 * unchanged TOAST values are left out too, or written as placeholder when
 * one is given.
 */
static int write_row_object(pgcdc__json *j, const pgcdc_row *row, const char *placeholder)
{
    const pgcdc__relation *rel = row->rel;
    int first = 1;
    int unchanged = 0;

    pgcdc__json_char(j, '{');
    for (int i = 0; i < rel->ncols; i++) {
        pgcdc_value_state st = pgcdc__row_state(row, i);

        unchanged += st == PGCDC_VALUE_UNCHANGED;
        if (st == PGCDC_VALUE_ABSENT || (st == PGCDC_VALUE_UNCHANGED && placeholder == NULL))
            continue;
        if (!first)
            pgcdc__json_char(j, ',');
        first = 0;
        write_name(j, rel, i);
        if (st == PGCDC_VALUE_NULL)
            pgcdc__json_raw(j, "null", 4);
        else if (st == PGCDC_VALUE_UNCHANGED)
            pgcdc__json_cstring(j, placeholder);
        else
            write_column(j, row, i, 0);
    }
    pgcdc__json_char(j, '}');
    return unchanged;
}

/* Returns how many unchanged TOAST values the row holds. */
static int write_row_or_null(pgcdc__json *j, const pgcdc_row *row, const char *placeholder)
{
    if (row == NULL) {
        pgcdc__json_raw(j, "null", 4);
        return 0;
    }
    return write_row_object(j, row, placeholder);
}

static void write_bool(pgcdc__json *j, int on)
{
    if (on)
        pgcdc__json_raw(j, "true", 4);
    else
        pgcdc__json_raw(j, "false", 5);
}

/* ---- native JSON ---- */

static int unchanged_in(const pgcdc_row *row, int col)
{
    return row != NULL && pgcdc_row_state(row, col) == PGCDC_VALUE_UNCHANGED;
}

/* Formats the transaction's fields once for all its changes. */
static void cache_txn(pgcdc_formatter *f, const pgcdc_txn *txn)
{
    pgcdc__json tmp;
    char lsn[32];

    if (f->txn_of == txn && f->txn_token == txn->token && txn->token != 0)
        return;
    pgcdc__json_init(&tmp);
    pgcdc__json_lit(&tmp, ",\"xid\":");
    pgcdc__json_u64(&tmp, txn->xid);
    pgcdc__json_lit(&tmp, ",\"commit_lsn\":\"");
    pgcdc__json_lit(&tmp, pgcdc_lsn_format(txn->commit_lsn, lsn, sizeof(lsn)));
    pgcdc__json_char(&tmp, '"');
    f->txn_len = tmp.len < sizeof(f->txn_text) ? tmp.len : 0;
    if (tmp.data != NULL)
        memcpy(f->txn_text, tmp.data, f->txn_len);
    pgcdc__json_reset(&tmp);
    pgcdc__json_utc_time(&tmp, txn->commit_time);
    f->time_len = tmp.len < sizeof(f->time_text) ? tmp.len : 0;
    if (tmp.data != NULL)
        memcpy(f->time_text, tmp.data, f->time_len);
    pgcdc__json_free(&tmp);
    f->txn_of = txn;
    f->txn_token = txn->token;
}

static void native_change(pgcdc_formatter *f, const pgcdc_change *c)
{
    pgcdc__json *j = &f->out;
    const pgcdc__relation *rel = c->rel;
    const pgcdc_row *old_row = pgcdc_change_old(c);
    const pgcdc_row *new_row = pgcdc_change_new(c);
    int listed = 0;
    int unchanged;

    cache_txn(f, c->txn);
    pgcdc__json_lit(j, "{\"op\":\"");
    pgcdc__json_lit(j, pgcdc_op_name(c->op));
    pgcdc__json_lit(j, "\",");
    if (rel->json_head != NULL) {
        pgcdc__json_lit(j, rel->json_head);
    } else {
        pgcdc__json_lit(j, "\"schema\":");
        pgcdc__json_cstring(j, rel->schema);
        pgcdc__json_lit(j, ",\"table\":");
        pgcdc__json_cstring(j, rel->name);
    }
    pgcdc__json_raw(j, f->txn_text, f->txn_len);
    pgcdc__json_lit(j, ",\"seq\":");
    pgcdc__json_u64(j, c->seq);
    pgcdc__json_lit(j, ",\"commit_time\":");
    pgcdc__json_raw(j, f->time_text, f->time_len);
    pgcdc__json_lit(j, ",\"pk\":");
    if (rel->json_pk != NULL) {
        pgcdc__json_lit(j, rel->json_pk);
    } else {
        pgcdc__json_char(j, '[');
        for (int k = 0; k < rel->nkeys; k++) {
            if (k > 0)
                pgcdc__json_char(j, ',');
            pgcdc__json_cstring(j, rel->cols[rel->keys[k]].name);
        }
        pgcdc__json_char(j, ']');
    }
    pgcdc__json_lit(j, ",\"old\":");
    unchanged = write_row_or_null(j, old_row, NULL);
    pgcdc__json_lit(j, ",\"new\":");
    unchanged += write_row_or_null(j, new_row, NULL);
    /* Unchanged TOAST is neither a value nor NULL: name the columns left out. */
    for (int i = 0; unchanged > 0 && i < rel->ncols; i++) {
        if (!unchanged_in(new_row, i) && !unchanged_in(old_row, i))
            continue;
        pgcdc__json_lit(j, listed ? "," : ",\"unchanged_toast\":[");
        listed = 1;
        pgcdc__json_cstring(j, rel->cols[i].name);
    }
    if (listed)
        pgcdc__json_char(j, ']');
    if (c->op == PGCDC_OP_TRUNCATE) {
        pgcdc__json_lit(j, ",\"cascade\":");
        write_bool(j, (c->truncate_flags & 1) != 0);
        pgcdc__json_lit(j, ",\"restart_identity\":");
        write_bool(j, (c->truncate_flags & 2) != 0);
    }
    pgcdc__json_lit(j, "}\n");
}

/* ---- Debezium ---- */

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;

    if ((a % b != 0) && ((a < 0) != (b < 0)))
        q--;
    return q;
}

static int64_t now_ms(void)
{
    struct timespec ts;

    if (clock_gettime(CLOCK_REALTIME, &ts) != 0)
        return 0;
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static const char *debezium_op(pgcdc_op op)
{
    switch (op) {
    case PGCDC_OP_INSERT:
        return "c";
    case PGCDC_OP_UPDATE:
        return "u";
    case PGCDC_OP_DELETE:
        return "d";
    case PGCDC_OP_TRUNCATE:
        return "t";
    }
    return "?";
}

static void debezium_change(pgcdc__json *j, const pgcdc_change *c, const char *dbname)
{
    const pgcdc__relation *rel = c->rel;

    pgcdc__json_lit(j, "{\"before\":");
    write_row_or_null(j, pgcdc_change_old(c), DEBEZIUM_UNAVAILABLE);
    pgcdc__json_lit(j, ",\"after\":");
    write_row_or_null(j, pgcdc_change_new(c), DEBEZIUM_UNAVAILABLE);
    pgcdc__json_lit(j, ",\"source\":{\"version\":\"" PGCDC_VERSION_STRING
                       "\",\"connector\":\"postgresql\",\"name\":\"pgcdc\",\"ts_ms\":");
    pgcdc__json_i64(j, floor_div(c->txn->commit_time, 1000));
    pgcdc__json_lit(j, ",\"snapshot\":\"false\",\"db\":");
    pgcdc__json_cstring(j, dbname);
    /* sequence is a string holding a JSON array: [last commit LSN, this LSN]. */
    pgcdc__json_lit(j, ",\"sequence\":\"[null,\\\"");
    pgcdc__json_u64(j, c->txn->commit_lsn);
    pgcdc__json_lit(j, "\\\"]\",\"schema\":");
    pgcdc__json_cstring(j, rel->schema);
    pgcdc__json_lit(j, ",\"table\":");
    pgcdc__json_cstring(j, rel->name);
    pgcdc__json_lit(j, ",\"txId\":");
    pgcdc__json_u64(j, c->txn->xid);
    pgcdc__json_lit(j, ",\"lsn\":");
    pgcdc__json_u64(j, c->txn->commit_lsn);
    pgcdc__json_lit(j, ",\"xmin\":null},\"op\":\"");
    pgcdc__json_lit(j, debezium_op(c->op));
    pgcdc__json_lit(j, "\",\"ts_ms\":");
    pgcdc__json_i64(j, now_ms());
    pgcdc__json_lit(j, ",\"transaction\":null}\n");
}

/* ---- wal2json format-version 2 ---- */

/*
 * format_type() quotes identifiers that need it.  wal2json then writes a
 * name that starts with a quote as is; for a single quoted identifier that is
 * the same JSON string as its inner text.  Other shapes (a quoted schema, a
 * doubled quote) would make wal2json's output invalid JSON; they are escaped
 * as plain strings here.
 */
static void wal2json_type(pgcdc__json *j, const char *type)
{
    size_t n;

    if (type == NULL) {
        pgcdc__json_raw(j, "null", 4);
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

static void wal2json_column(pgcdc__json *j, const pgcdc_row *row, int col, int *first)
{
    if (!*first)
        pgcdc__json_char(j, ',');
    *first = 0;
    pgcdc__json_lit(j, "{\"name\":");
    pgcdc__json_cstring(j, row->rel->cols[col].name);
    pgcdc__json_lit(j, ",\"type\":");
    wal2json_type(j, pgcdc_row_type_name(row, col));
    pgcdc__json_lit(j, ",\"value\":");
    if (pgcdc_row_state(row, col) == PGCDC_VALUE_NULL)
        pgcdc__json_raw(j, "null", 4);
    else
        write_column(j, row, col, 1);
    pgcdc__json_char(j, '}');
}

/* Columns of row with a value or NULL; unchanged TOAST and absent columns are skipped. */
static void wal2json_columns(pgcdc__json *j, const pgcdc_row *row, int ident_only)
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

static void wal2json_change(pgcdc__json *j, const pgcdc_change *c)
{
    const pgcdc_row *old_row = pgcdc_change_old(c);
    const pgcdc_row *new_row = pgcdc_change_new(c);
    /* wal2json's action letters are pgoutput's message bytes. */
    char action = (char)c->op;

    if (action != 'I' && action != 'U' && action != 'D' && action != 'T')
        action = '?';
    pgcdc__json_lit(j, "{\"action\":\"");
    pgcdc__json_char(j, action);
    pgcdc__json_lit(j, "\",\"schema\":");
    pgcdc__json_cstring(j, c->rel->schema);
    pgcdc__json_lit(j, ",\"table\":");
    pgcdc__json_cstring(j, c->rel->name);
    if (c->op == PGCDC_OP_TRUNCATE) {
        pgcdc__json_lit(j, "}\n");
        return;
    }
    if (new_row != NULL) {
        pgcdc__json_lit(j, ",\"columns\":[");
        wal2json_columns(j, new_row, 0);
        pgcdc__json_char(j, ']');
    }
    if (old_row != NULL) {
        /* The old key (replica identity columns) or, under FULL, the whole old row. */
        pgcdc__json_lit(j, ",\"identity\":[");
        wal2json_columns(j, old_row, 0);
        pgcdc__json_char(j, ']');
    } else if (c->op == PGCDC_OP_UPDATE && new_row != NULL) {
        /*
         * Key unchanged, so the server sent no old key: wal2json takes the
         * replica identity columns from the new row.  Without an identity
         * index but with a primary key it writes the whole new row.
         */
        if (has_ident_columns(c->rel)) {
            pgcdc__json_lit(j, ",\"identity\":[");
            wal2json_columns(j, new_row, 1);
            pgcdc__json_char(j, ']');
        } else if (c->rel->nkeys > 0) {
            pgcdc__json_lit(j, ",\"identity\":[");
            wal2json_columns(j, new_row, 0);
            pgcdc__json_char(j, ']');
        }
    }
    pgcdc__json_lit(j, "}\n");
}

/* ---- entry points ---- */

int pgcdc_formatter_begin(pgcdc_formatter *f, const pgcdc_txn *txn, const char **out, size_t *len)
{
    if (f == NULL || txn == NULL || out == NULL || len == NULL)
        return PGCDC_ERR_INVALID;
    pgcdc__json_reset(&f->out);
    if (f->format == PGCDC_FORMAT_WAL2JSON)
        pgcdc__json_lit(&f->out, "{\"action\":\"B\"}\n");
    return finish(f, out, len);
}

int pgcdc_formatter_change(pgcdc_formatter *f, const pgcdc_change *c, const char **out, size_t *len)
{
    if (f == NULL || c == NULL || out == NULL || len == NULL)
        return PGCDC_ERR_INVALID;
    pgcdc__json_reset(&f->out);
    switch (f->format) {
    case PGCDC_FORMAT_JSON:
        native_change(f, c);
        break;
    case PGCDC_FORMAT_DEBEZIUM:
        debezium_change(&f->out, c, f->dbname);
        break;
    case PGCDC_FORMAT_WAL2JSON:
        wal2json_change(&f->out, c);
        break;
    }
    return finish(f, out, len);
}

int pgcdc_formatter_commit(pgcdc_formatter *f, const pgcdc_txn *txn, const char **out, size_t *len)
{
    if (f == NULL || txn == NULL || out == NULL || len == NULL)
        return PGCDC_ERR_INVALID;
    pgcdc__json_reset(&f->out);
    if (f->format == PGCDC_FORMAT_WAL2JSON)
        pgcdc__json_lit(&f->out, "{\"action\":\"C\"}\n");
    return finish(f, out, len);
}
