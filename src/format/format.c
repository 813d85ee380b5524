/*
 * Change formatters: the entry points of include/pgcdc.h, and the writers
 * of values, rows, keys and relation names that every format shares.  One
 * JSON line per event, written straight into a buffer the formatter reuses
 * (no allocation per change).  Formatters only read the change.
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "format/format.h"
#include "format/json.h"
#include "wire/binval.h"
#include "wire/types.h"
#include "wire/value.h"

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

static const pgcdc__format_ops *const formats[] = {
    [PGCDC_FORMAT_JSON] = &pgcdc__native_format,
    [PGCDC_FORMAT_DEBEZIUM] = &pgcdc__debezium_format,
    [PGCDC_FORMAT_WAL2JSON] = &pgcdc__wal2json_format,
};

const pgcdc__format_ops *pgcdc__format_at(int i)
{
    if (i < 0 || (size_t)i >= sizeof(formats) / sizeof(formats[0]))
        return NULL;
    return formats[i];
}

const pgcdc__format_ops *pgcdc__format_named(const char *name)
{
    for (int i = 0; pgcdc__format_at(i) != NULL; i++) {
        if (strcmp(formats[i]->name, name) == 0)
            return formats[i];
    }
    return NULL;
}

const pgcdc_property *pgcdc__format_property(const pgcdc__format_ops *ops, const char *name)
{
    for (int i = 0; i < ops->nproperties; i++) {
        const char *a = ops->properties[i].name;
        const char *b = name;

        while (*a != '\0' && (*a == *b || ((*a == '-' || *a == '_') && (*b == '-' || *b == '_')))) {
            a++;
            b++;
        }
        if (*a == '\0' && *b == '\0')
            return &ops->properties[i];
    }
    return NULL;
}

int pgcdc_formatter_set(pgcdc_formatter *f, const char *name, const char *value)
{
    const pgcdc_property *p;

    if (f == NULL || name == NULL || value == NULL)
        return PGCDC_ERR_INVALID;
    p = pgcdc__format_property(f->ops, name);
    if (p == NULL || f->ops->set == NULL)
        return PGCDC_ERR_INVALID;
    return f->ops->set(f, p, value);
}

pgcdc_formatter *pgcdc_formatter_new(pgcdc_format format, const char *dbname)
{
    pgcdc_formatter *f;

    if (pgcdc__format_at((int)format) == NULL)
        return NULL;
    f = calloc(1, sizeof(*f));
    if (f == NULL)
        return NULL;
    f->ops = formats[format];
    f->dbname = strdup(dbname != NULL ? dbname : "");
    if (f->dbname == NULL) {
        free(f);
        return NULL;
    }
    pgcdc__buf_init(&f->out);
    return f;
}

void pgcdc_formatter_free(pgcdc_formatter *f)
{
    if (f == NULL)
        return;
    if (f->ops->free_state != NULL)
        f->ops->free_state(f);
    pgcdc__buf_free(&f->out);
    free(f->dbname);
    free(f);
}

/* Hands the NUL-terminated text out, or reports that a write could not grow the buffer. */
static int finish(pgcdc_formatter *f, const char **out, size_t *len)
{
    const char *text = pgcdc__buf_cstr(&f->out);

    if (text == NULL) {
        pgcdc__buf_reset(&f->out);
        *out = "";
        *len = 0;
        return PGCDC_ERR_NOMEM;
    }
    *out = text;
    *len = f->out.len;
    return PGCDC_OK;
}

int pgcdc_formatter_begin(pgcdc_formatter *f, const pgcdc_txn *txn, const char **out, size_t *len)
{
    if (f == NULL || txn == NULL || out == NULL || len == NULL)
        return PGCDC_ERR_INVALID;
    pgcdc__buf_reset(&f->out);
    f->ops->begin(f, txn);
    return finish(f, out, len);
}

int pgcdc_formatter_change(pgcdc_formatter *f, const pgcdc_change *c, const char **out, size_t *len)
{
    if (f == NULL || c == NULL || out == NULL || len == NULL)
        return PGCDC_ERR_INVALID;
    pgcdc__buf_reset(&f->out);
    f->ops->change(f, c);
    return finish(f, out, len);
}

int pgcdc_formatter_commit(pgcdc_formatter *f, const pgcdc_txn *txn, const char **out, size_t *len)
{
    if (f == NULL || txn == NULL || out == NULL || len == NULL)
        return PGCDC_ERR_INVALID;
    pgcdc__buf_reset(&f->out);
    f->ops->commit(f, txn);
    return finish(f, out, len);
}

/* ---- relation names ---- */

/* Escapes names once per relation rather than for every change. */
static pgcdc__rel_text *build_rel_text(const pgcdc__relation *rel)
{
    size_t head = offsetof(pgcdc__rel_text, names) + (size_t)rel->ncols * sizeof(uint32_t[2]);
    pgcdc__rel_text *rt = malloc(head);
    pgcdc__rel_text *full = NULL;
    pgcdc__buf b;

    if (rt == NULL)
        return NULL;
    pgcdc__buf_init(&b);
    rt->ncols = (uint32_t)rel->ncols;
    for (int i = 0; i < rel->ncols; i++) {
        rt->names[i].off = (uint32_t)b.len;
        pgcdc__json_cstring(&b, rel->cols[i].name);
        pgcdc__buf_u8(&b, ':');
        rt->names[i].len = (uint32_t)b.len - rt->names[i].off;
    }
    rt->head_off = (uint32_t)b.len;
    pgcdc__buf_lit(&b, "\"schema\":");
    pgcdc__json_cstring(&b, rel->schema);
    pgcdc__buf_lit(&b, ",\"table\":");
    pgcdc__json_cstring(&b, rel->name);
    rt->head_len = (uint32_t)b.len - rt->head_off;
    rt->pk_off = (uint32_t)b.len;
    pgcdc__buf_u8(&b, '[');
    for (int k = 0; k < rel->nkeys; k++) {
        if (k > 0)
            pgcdc__buf_u8(&b, ',');
        pgcdc__json_cstring(&b, rel->cols[rel->keys[k]].name);
    }
    pgcdc__buf_u8(&b, ']');
    rt->pk_len = (uint32_t)b.len - rt->pk_off;
    if (!b.oom && b.len < UINT32_MAX)
        full = realloc(rt, head + b.len);
    if (full == NULL) {
        free(rt);
    } else {
        memcpy((char *)full + head, b.data, b.len);
    }
    pgcdc__buf_free(&b);
    return full;
}

void pgcdc__fmt_rel_head(pgcdc__buf *j, const pgcdc__relation *rel, const pgcdc__rel_text *rt)
{
    if (rt != NULL) {
        pgcdc__buf_put(j, pgcdc__rel_text_at(rt, rt->head_off), rt->head_len);
        return;
    }
    pgcdc__buf_lit(j, "\"schema\":");
    pgcdc__json_cstring(j, rel->schema);
    pgcdc__buf_lit(j, ",\"table\":");
    pgcdc__json_cstring(j, rel->name);
}

const pgcdc__rel_text *pgcdc__rel_text_build(const pgcdc__relation *rel)
{
    pgcdc__relation *mut = (pgcdc__relation *)rel;

    /* The formatters' own cache on the relation, freed with it. */
    mut->fmt_cache = build_rel_text(rel);
    return mut->fmt_cache;
}

/* "name": of a column, from the relation's text when there is one. */
static inline void write_name(pgcdc__buf *j, const pgcdc__rel_text *rt, const pgcdc__relation *rel,
                              int col)
{
    if (rt != NULL) {
        pgcdc__buf_put(j, pgcdc__rel_text_at(rt, rt->names[col].off), rt->names[col].len);
        return;
    }
    pgcdc__json_cstring(j, rel->cols[col].name);
    pgcdc__buf_u8(j, ':');
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

void pgcdc__fmt_no_line(pgcdc_formatter *f, const pgcdc_txn *txn)
{
    (void)f;
    (void)txn;
}

void pgcdc__fmt_bool(pgcdc__buf *j, int on)
{
    if (on)
        pgcdc__buf_put(j, "true", 4);
    else
        pgcdc__buf_put(j, "false", 5);
}

/*
 * One column value as text.  Shared rules: numbers as PostgreSQL printed
 * them when that is a finite JSON number, booleans as true/false, bytea as
 * its hex digits, everything else as a string.  NaN and the infinities are
 * strings except in wal2json, which writes null for them; json/jsonb is
 * embedded except in wal2json, which quotes it.
 */
static inline void write_value(pgcdc__buf *j, int kind, const pgcdc__col *v, int wal2json)
{
    if (v->kind == PGCDC_COL_BINARY) {
        /* Never requested by pgcdc; hex keeps arbitrary bytes valid JSON. */
        pgcdc__json_hex_string(j, v->data, v->len);
        return;
    }
    switch (kind) {
    case PGCDC__JSON_INTEGER:
        /* The server's integer output is always a JSON number. */
        if (v->len > 0) {
            pgcdc__buf_put(j, v->data, v->len);
            return;
        }
        break;
    case PGCDC__JSON_NUMBER:
        if (pgcdc__number_is_finite(v->data, v->len)) {
            pgcdc__buf_put(j, v->data, v->len);
            return;
        }
        if (wal2json && (text_is(v, "NaN") || text_is(v, "Infinity") || text_is(v, "-Infinity"))) {
            pgcdc__buf_put(j, "null", 4);
            return;
        }
        break;
    case PGCDC__JSON_BOOL:
        if (text_is(v, "t") || text_is(v, "f")) {
            pgcdc__fmt_bool(j, v->data[0] == 't');
            return;
        }
        break;
    case PGCDC__JSON_BYTEA:
        if (v->len >= 2 && v->data[0] == '\\' && v->data[1] == 'x') {
            pgcdc__json_string(j, v->data + 2, v->len - 2);
            return;
        }
        break;
    case PGCDC__JSON_JSON:
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
 * infinities; a wrong size, which transaction assembly refuses before).
 */
static int write_fixed(pgcdc__buf *j, const pgcdc__relcol_info *info, const pgcdc__col *v)
{
    const uint8_t *data = (const uint8_t *)v->data;
    char *p;
    int n;

    switch (info->json) {
    case PGCDC__JSON_BOOL:
        if (v->len != 1)
            return 0;
        pgcdc__fmt_bool(j, data[0] != 0);
        return 1;
    case PGCDC__JSON_INTEGER:
    case PGCDC__JSON_NUMBER:
        p = pgcdc__buf_reserve(j, PGCDC__FIXED_TEXT_MAX);
        if (p == NULL)
            return 1; /* out of memory: the buffer's sticky flag tells */
        n = pgcdc__fixed_to_text(info->type_oid, data, v->len, p);
        /* Numbers end in a digit; NaN and the infinities go the text way, spelled per format. */
        if (n <= 0 || p[n - 1] < '0' || p[n - 1] > '9')
            return 0;
        j->len += (size_t)n;
        return 1;
    default:
        /* Dates and timestamps: digits, '-', ':', '.', '+', ' ' and letters, nothing to escape. */
        p = pgcdc__buf_reserve(j, PGCDC__FIXED_TEXT_MAX + 2);
        if (p == NULL)
            return 1;
        n = pgcdc__fixed_to_text(info->type_oid, data, v->len, p + 1);
        if (n < 0)
            return 0;
        p[0] = '"';
        p[n + 1] = '"';
        j->len += (size_t)n + 2;
        return 1;
    }
}

/* A present column's value (pgcdc__fmt_column), inline for the row writer. */
static inline void write_column(pgcdc__buf *j, const pgcdc_row *row, int col, int wal2json)
{
    const pgcdc__relcol_info *info = &row->rel->cols[col];
    const pgcdc__col *v = &row->cols[col];

    if (v->kind == PGCDC_COL_BINARY && info->bin_fixed > 0 && row->texts != NULL) {
        char text[PGCDC__FIXED_TEXT_MAX];
        pgcdc__col t;
        int n;

        if (write_fixed(j, info, v))
            return;
        /* NaN and the infinities: their text, spelled the format's way. */
        n = pgcdc__fixed_to_text(info->type_oid, (const uint8_t *)v->data, v->len, text);
        if (n >= 0) {
            t.data = text;
            t.len = (uint32_t)n;
            t.kind = PGCDC_COL_TEXT;
            write_value(j, info->json, &t, wal2json);
            return;
        }
    }
    write_value(j, info->json, v, wal2json);
}

void pgcdc__fmt_column(pgcdc__buf *j, const pgcdc_row *row, int col, int wal2json)
{
    write_column(j, row, col, wal2json);
}

int pgcdc__fmt_row(pgcdc__buf *j, const pgcdc_row *row, const char *placeholder)
{
    const pgcdc__relation *rel;
    const pgcdc__rel_text *rt;
    int first = 1;
    int unchanged = 0;

    if (row == NULL) {
        pgcdc__buf_put(j, "null", 4);
        return 0;
    }
    rel = row->rel;
    rt = pgcdc__rel_text_of(rel);
    pgcdc__buf_u8(j, '{');
    for (int i = 0; i < rel->ncols; i++) {
        pgcdc_value_state st = pgcdc__row_state(row, i);

        unchanged += st == PGCDC_VALUE_UNCHANGED;
        if (st == PGCDC_VALUE_ABSENT || (st == PGCDC_VALUE_UNCHANGED && placeholder == NULL))
            continue;
        if (!first)
            pgcdc__buf_u8(j, ',');
        first = 0;
        write_name(j, rt, rel, i);
        if (st == PGCDC_VALUE_NULL)
            pgcdc__buf_put(j, "null", 4);
        else if (st == PGCDC_VALUE_UNCHANGED)
            pgcdc__json_cstring(j, placeholder);
        else
            write_column(j, row, i, 0);
    }
    pgcdc__buf_u8(j, '}');
    return unchanged;
}

void pgcdc__fmt_key(pgcdc__buf *j, const pgcdc_change *c)
{
    const pgcdc_row *row = c->has_new ? &c->new_row : c->has_old ? &c->old_row : NULL;
    const pgcdc__rel_text *rt;

    if (row == NULL || c->rel->nkeys == 0)
        return;
    rt = pgcdc__rel_text_of(c->rel);
    pgcdc__buf_u8(j, '{');
    for (int k = 0; k < c->rel->nkeys; k++) {
        int col = c->rel->keys[k];

        if (k > 0)
            pgcdc__buf_u8(j, ',');
        write_name(j, rt, c->rel, col);
        if (pgcdc__row_state(row, col) == PGCDC_VALUE_PRESENT)
            write_column(j, row, col, 0);
        else
            pgcdc__buf_put(j, "null", 4);
    }
    pgcdc__buf_u8(j, '}');
}
