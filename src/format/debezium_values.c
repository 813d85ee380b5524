/*
 * Column values in the encodings of Debezium's PostgreSQL connector and its
 * JSON converter, with the connector's defaults: each column's encoding
 * chosen once from its type, then values read from the server's text (or a
 * fixed-size binary value) and written straight into the event: base64 for
 * bytes, strings for json, JSON arrays for arrays, the placeholder for
 * unchanged TOAST.  Numbers and times are in debezium_numbers.c and
 * debezium_time.c.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/num.h"
#include "format/debezium.h"
#include "format/format.h"
#include "format/json.h"
#include "wire/binval.h"
#include "wire/types.h"
#include "wire/value.h"

/* Type OIDs the type table does not name (pg_type.dat). */
enum { OID_XML = 142, OID_BOX = 603, OID_BIT = 1560, OID_VARBIT = 1562, OID_TSVECTOR = 3614 };

/*
 * What an unchanged TOASTed value becomes, by column type
 * (UnchangedToastedPlaceholder): the placeholder as text, as bytes, as a
 * one-element list, as its bytes' values, or a one-entry map.
 */
enum {
    TOAST_STRING = 0,
    TOAST_BYTES,      /* bytea */
    TOAST_TEXT_LIST,  /* text[], varchar[], bpchar[], json[], jsonb[] */
    TOAST_BYTES_LIST, /* bytea[] */
    TOAST_INT_LIST,   /* integer[], bigint[], date[] */
    TOAST_UUID_LIST,  /* uuid[]: the placeholder's name-based UUID (version 3) */
    TOAST_HSTORE
};

/* base64 of the placeholder's bytes, and java.util.UUID.nameUUIDFromBytes of them. */
#define UNAVAILABLE_BASE64 "X19kZWJleml1bV91bmF2YWlsYWJsZV92YWx1ZQ=="
#define UNAVAILABLE_UUID "b68a35a7-17ad-35b3-af2a-ae46edb4545a"

#define US_PER_DAY INT64_C(86400000000)

/* ---- classification ---- */

/* The last part of a type name ("public.hstore", "hstore"), compared without case. */
static int type_named(const char *type_name, size_t n, const char *want)
{
    const char *base = type_name;
    size_t wn = strlen(want);

    for (size_t i = 0; i < n; i++) {
        if (type_name[i] == '.')
            base = type_name + i + 1;
    }
    n -= (size_t)(base - type_name);
    if (n != wn)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = base[i] >= 'A' && base[i] <= 'Z' ? (char)(base[i] + 32) : base[i];

        if (c != want[i])
            return 0;
    }
    return 1;
}

static void classify_scalar(uint32_t oid, int32_t typmod, const char *name, size_t name_len,
                            pgcdc__dbz_col *dc)
{
    dc->kind = PGCDC__DBZ_K_TEXT;
    dc->logical = PGCDC__DBZ_L_NONE;
    dc->oid = oid;
    dc->precision = -1;
    dc->scale = INT32_MIN;
    switch (oid) {
    case PGCDC_OID_BOOL:
    case PGCDC_OID_INT2:
    case PGCDC_OID_INT4:
    case PGCDC_OID_INT8:
    case PGCDC_OID_OID:
    case PGCDC_OID_FLOAT4:
    case PGCDC_OID_FLOAT8:
        dc->kind = PGCDC__DBZ_K_NATIVE;
        break;
    case PGCDC_OID_NUMERIC:
        dc->kind = PGCDC__DBZ_K_NUMERIC;
        if (typmod >= 4) {
            /* numeric_typmod_precision and _scale: the scale is 11 bits, signed. */
            dc->precision = ((typmod - 4) >> 16) & 0xffff;
            dc->scale = (((typmod - 4) & 0x7ff) ^ 1024) - 1024;
        }
        break;
    case PGCDC_OID_MONEY:
        dc->kind = PGCDC__DBZ_K_MONEY;
        break;
    case PGCDC_OID_BYTEA:
        dc->kind = PGCDC__DBZ_K_BYTEA;
        break;
    case PGCDC_OID_DATE:
        dc->kind = PGCDC__DBZ_K_DATE;
        break;
    case PGCDC_OID_TIME:
    case PGCDC_OID_TIMESTAMP:
    case PGCDC_OID_TIMESTAMPTZ:
        dc->kind = oid == PGCDC_OID_TIME        ? PGCDC__DBZ_K_TIME
                   : oid == PGCDC_OID_TIMESTAMP ? PGCDC__DBZ_K_TIMESTAMP
                                                : PGCDC__DBZ_K_TIMESTAMPTZ;
        /* Without a modifier the driver reports 6 digits. */
        dc->precision = typmod >= 0 ? typmod : 6;
        break;
    case PGCDC_OID_TIMETZ:
        dc->kind = PGCDC__DBZ_K_TIMETZ;
        break;
    case PGCDC_OID_INTERVAL:
        dc->kind = PGCDC__DBZ_K_INTERVAL;
        break;
    case OID_BIT:
    case OID_VARBIT:
        dc->kind = typmod == 1 ? PGCDC__DBZ_K_BIT : PGCDC__DBZ_K_BITS;
        dc->precision = typmod > 0 ? typmod : INT32_MAX;
        break;
    case PGCDC_OID_UUID:
        dc->logical = PGCDC__DBZ_L_UUID;
        break;
    case PGCDC_OID_JSON:
    case PGCDC_OID_JSONB:
        dc->logical = PGCDC__DBZ_L_JSON;
        break;
    case OID_XML:
        dc->logical = PGCDC__DBZ_L_XML;
        break;
    case OID_TSVECTOR:
        dc->logical = PGCDC__DBZ_L_TSVECTOR;
        break;
    default:
        /* Extension types have OIDs of their own: known by name. */
        if (name != NULL && type_named(name, name_len, "hstore"))
            dc->kind = PGCDC__DBZ_K_HSTORE;
        else if (name != NULL && type_named(name, name_len, "ltree"))
            dc->logical = PGCDC__DBZ_L_LTREE;
        break;
    }
}

static uint8_t toast_shape(const pgcdc__dbz_col *dc)
{
    if (dc->kind == PGCDC__DBZ_K_BYTEA)
        return TOAST_BYTES;
    if (dc->kind == PGCDC__DBZ_K_HSTORE)
        return TOAST_HSTORE;
    if (dc->kind != PGCDC__DBZ_K_ARRAY)
        return TOAST_STRING;
    switch (dc->oid) {
    case PGCDC_OID_TEXT:
    case PGCDC_OID_VARCHAR:
    case PGCDC_OID_BPCHAR:
    case PGCDC_OID_JSON:
    case PGCDC_OID_JSONB:
        return TOAST_TEXT_LIST;
    case PGCDC_OID_BYTEA:
        return TOAST_BYTES_LIST;
    case PGCDC_OID_INT4:
    case PGCDC_OID_INT8:
    case PGCDC_OID_DATE:
        return TOAST_INT_LIST;
    case PGCDC_OID_UUID:
        return TOAST_UUID_LIST;
    default:
        return TOAST_STRING;
    }
}

void pgcdc__dbz_classify(const pgcdc__relcol_info *col, pgcdc__dbz_col *out)
{
    const char *name = col->type_name;
    size_t name_len = name != NULL ? strlen(name) : 0;
    uint32_t elem = pgcdc__type_array_element(col->type_oid);
    int is_array = elem != 0;

    memset(out, 0, sizeof(*out));
    /*
     * Built-in arrays are known by their OID (the type table), even without a
     * name; arrays of enums, domains and extension types by the name.
     */
    if (!is_array && name_len > 2 && strcmp(name + name_len - 2, "[]") == 0)
        is_array = 1;
    if (is_array) {
        classify_scalar(elem, col->typmod, name, name_len > 2 ? name_len - 2 : 0, out);
        out->elem = out->kind;
        out->kind = PGCDC__DBZ_K_ARRAY;
    } else {
        classify_scalar(col->type_oid, col->typmod, name, name_len, out);
    }
    out->toast = toast_shape(out);
}

/* ---- bytes ---- */

void pgcdc__dbz_base64(pgcdc__buf *j, const uint8_t *p, size_t n, int url)
{
    static const char std_abc[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    static const char url_abc[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    const char *abc = url ? url_abc : std_abc;
    char *o = pgcdc__buf_reserve(j, (n + 2) / 3 * 4 + 2);
    char *start = o;
    size_t i = 0;

    if (o == NULL)
        return;
    *o++ = '"';
    for (; i + 3 <= n; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];

        o[0] = abc[v >> 18];
        o[1] = abc[(v >> 12) & 63];
        o[2] = abc[(v >> 6) & 63];
        o[3] = abc[v & 63];
        o += 4;
    }
    if (n - i == 1) {
        uint32_t v = (uint32_t)p[i] << 16;

        o[0] = abc[v >> 18];
        o[1] = abc[(v >> 12) & 63];
        o[2] = '=';
        o[3] = '=';
        o += 4;
    } else if (n - i == 2) {
        uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8;

        o[0] = abc[v >> 18];
        o[1] = abc[(v >> 12) & 63];
        o[2] = abc[(v >> 6) & 63];
        o[3] = '=';
        o += 4;
    }
    *o++ = '"';
    j->len += (size_t)(o - start);
}

/* bytea's "\x..." text: as binary.handling.mode says. */
static void put_bytea(pgcdc__dbz *x, pgcdc__buf *j, const char *s, size_t n)
{
    long size = pgcdc__bytea_hex_size(s, n);
    size_t got = 0;

    if (size < 0) {
        pgcdc__json_string(j, s, n);
        return;
    }
    if (x->binary == PGCDC__DBZ_HEX) {
        /* byteaout's digits are lowercase, as Debezium's HexConverter writes them. */
        pgcdc__json_string(j, s + 2, n - 2);
        return;
    }
    pgcdc__buf_reset(&x->bytes);
    if (pgcdc__buf_reserve(&x->bytes, (size_t)size) == NULL ||
        pgcdc__parse_bytea_hex(s, n, x->bytes.data, (size_t)size, &got) != 0) {
        pgcdc__json_string(j, s, n);
        return;
    }
    pgcdc__dbz_base64(j, x->bytes.data, got, x->binary == PGCDC__DBZ_BASE64_URL);
}

/* ---- bit strings ---- */

/* bit(n): io.debezium.data.Bits, the bits as a little-endian number in the bytes it needs. */
static void put_bits(pgcdc__dbz *x, pgcdc__buf *j, const pgcdc__dbz_col *dc, const char *s,
                     size_t n)
{
    size_t first = 0;
    size_t nbytes;
    uint8_t *b;

    for (size_t i = 0; i < n; i++) {
        if (s[i] != '0' && s[i] != '1') {
            pgcdc__json_string(j, s, n);
            return;
        }
    }
    while (first < n && s[first] == '0')
        first++;
    if (dc->kind == PGCDC__DBZ_K_BIT) {
        pgcdc__fmt_bool(j, first < n);
        return;
    }
    nbytes = (n - first + 7) / 8;
    pgcdc__buf_reset(&x->bytes);
    b = (uint8_t *)pgcdc__buf_reserve(&x->bytes, nbytes);
    if (b == NULL) {
        j->oom = 1;
        return;
    }
    memset(b, 0, nbytes);
    for (size_t i = first; i < n; i++) {
        size_t bit = n - 1 - i;

        if (s[i] == '1')
            b[bit / 8] |= (uint8_t)(1u << (bit % 8));
    }
    pgcdc__dbz_base64(j, b, nbytes, 0);
}

/* ---- hstore ---- */

/* A quoted hstore string from *pos (at its quote), unescaped into out. */
static int hstore_string(const char *s, size_t n, size_t *pos, pgcdc__buf *out)
{
    size_t i = *pos + 1;

    pgcdc__buf_reset(out);
    for (; i < n && s[i] != '"'; i++) {
        if (s[i] == '\\' && i + 1 < n)
            i++;
        pgcdc__buf_u8(out, (uint8_t)s[i]);
    }
    if (i >= n)
        return -1;
    *pos = i + 1;
    return 0;
}

/* hstore_out's "k"=>"v", "k2"=>NULL as a JSON object (map) or as its text (json). */
static void put_hstore(pgcdc__dbz *x, pgcdc__buf *j, const char *s, size_t n)
{
    pgcdc__buf *obj = x->hstore == PGCDC__DBZ_MAP ? j : &x->text;
    size_t start = j->len;
    size_t i = 0;
    int first = 1;

    if (obj == &x->text)
        pgcdc__buf_reset(obj);
    pgcdc__buf_u8(obj, '{');
    while (i < n) {
        while (i < n && (s[i] == ' ' || s[i] == ','))
            i++;
        if (i >= n)
            break;
        if (s[i] != '"' || hstore_string(s, n, &i, &x->bytes) != 0)
            goto bad;
        if (!first)
            pgcdc__buf_u8(obj, ',');
        first = 0;
        pgcdc__json_string(obj, (const char *)x->bytes.data, x->bytes.len);
        pgcdc__buf_u8(obj, ':');
        while (i < n && s[i] == ' ')
            i++;
        if (i + 2 > n || s[i] != '=' || s[i + 1] != '>')
            goto bad;
        i += 2;
        while (i < n && s[i] == ' ')
            i++;
        if (i + 4 <= n && memcmp(s + i, "NULL", 4) == 0) {
            pgcdc__buf_lit(obj, "null");
            i += 4;
        } else if (i < n && s[i] == '"' && hstore_string(s, n, &i, &x->bytes) == 0) {
            pgcdc__json_string(obj, (const char *)x->bytes.data, x->bytes.len);
        } else {
            goto bad;
        }
    }
    pgcdc__buf_u8(obj, '}');
    if (obj == &x->text)
        pgcdc__json_string(j, (const char *)x->text.data, x->text.len);
    return;
bad:
    j->len = start;
    pgcdc__json_string(j, s, n);
}

/* ---- dispatch ---- */

static void put_value(pgcdc__dbz *x, pgcdc__buf *j, const pgcdc__dbz_col *dc, int kind,
                      const char *s, size_t n);

/* A number, boolean or float from its text: what the native format writes. */
static void put_native_text(pgcdc__buf *j, uint32_t oid, const char *s, size_t n)
{
    if (oid == PGCDC_OID_BOOL && n == 1 && (s[0] == 't' || s[0] == 'f'))
        pgcdc__fmt_bool(j, s[0] == 't');
    else if (oid != PGCDC_OID_BOOL && pgcdc__number_is_finite(s, n))
        pgcdc__buf_put(j, s, n);
    else
        pgcdc__json_string(j, s, n);
}

/* One level of an array's text ({a,"b c",NULL,{...}}) from *pos, as a JSON array. */
static int put_array_level(pgcdc__dbz *x, pgcdc__buf *j, const pgcdc__dbz_col *dc, char delim,
                           const char *s, size_t n, size_t *pos, int depth)
{
    size_t i = *pos;

    if (depth > 6 || i >= n || s[i] != '{')
        return -1;
    pgcdc__buf_u8(j, '[');
    if (++i < n && s[i] == '}') {
        pgcdc__buf_u8(j, ']');
        *pos = i + 1;
        return 0;
    }
    for (;;) {
        if (i >= n)
            return -1;
        if (s[i] == '{') {
            if (put_array_level(x, j, dc, delim, s, n, &i, depth + 1) != 0)
                return -1;
        } else if (s[i] == '"') {
            pgcdc__buf_reset(&x->elem);
            for (i++; i < n && s[i] != '"'; i++) {
                if (s[i] == '\\' && i + 1 < n)
                    i++;
                pgcdc__buf_u8(&x->elem, (uint8_t)s[i]);
            }
            if (i++ >= n)
                return -1;
            /* The elements' encoders never use the element buffer themselves. */
            put_value(x, j, dc, dc->elem, (const char *)x->elem.data, x->elem.len);
        } else {
            size_t start = i;

            while (i < n && s[i] != delim && s[i] != '}')
                i++;
            if (i - start == 4 && (s[start] == 'N' || s[start] == 'n') &&
                (memcmp(s + start + 1, "ULL", 3) == 0 || memcmp(s + start + 1, "ull", 3) == 0))
                pgcdc__buf_lit(j, "null");
            else
                put_value(x, j, dc, dc->elem, s + start, i - start);
        }
        if (i >= n)
            return -1;
        if (s[i] == '}')
            break;
        if (s[i] != delim)
            return -1;
        pgcdc__buf_u8(j, ',');
        i++;
    }
    pgcdc__buf_u8(j, ']');
    *pos = i + 1;
    return 0;
}

static void put_array(pgcdc__dbz *x, pgcdc__buf *j, const pgcdc__dbz_col *dc, const char *s,
                      size_t n)
{
    size_t start = j->len;
    size_t pos = 0;

    /* Bounds other than 1 come first: "[0:1]={1,2}". */
    if (n > 0 && s[0] == '[') {
        const char *eq = memchr(s, '=', n);

        pos = eq != NULL ? (size_t)(eq - s) + 1 : n;
    }
    if (put_array_level(x, j, dc, dc->oid == OID_BOX ? ';' : ',', s, n, &pos, 1) != 0 || pos != n) {
        j->len = start;
        pgcdc__json_string(j, s, n);
    }
}

static void put_value(pgcdc__dbz *x, pgcdc__buf *j, const pgcdc__dbz_col *dc, int kind,
                      const char *s, size_t n)
{
    int64_t us = 0;

    switch (kind) {
    case PGCDC__DBZ_K_NATIVE:
        put_native_text(j, dc->oid, s, n);
        return;
    case PGCDC__DBZ_K_NUMERIC:
        pgcdc__dbz_numeric(x, j, dc, s, n);
        return;
    case PGCDC__DBZ_K_MONEY:
        pgcdc__dbz_money(x, j, s, n);
        return;
    case PGCDC__DBZ_K_BYTEA:
        put_bytea(x, j, s, n);
        return;
    case PGCDC__DBZ_K_DATE:
    case PGCDC__DBZ_K_TIMESTAMP:
    case PGCDC__DBZ_K_TIMESTAMPTZ:
        if (pgcdc__parse_timestamp(s, n, &us) != 0)
            break;
        if (kind == PGCDC__DBZ_K_DATE)
            pgcdc__dbz_days(j, us);
        else if (kind == PGCDC__DBZ_K_TIMESTAMP)
            pgcdc__dbz_timestamp(j, us, dc->precision);
        else
            pgcdc__dbz_zoned_timestamp(j, us, dc->precision);
        return;
    case PGCDC__DBZ_K_TIME:
        pgcdc__dbz_time(j, dc, s, n);
        return;
    case PGCDC__DBZ_K_TIMETZ:
        pgcdc__dbz_timetz(j, s, n);
        return;
    case PGCDC__DBZ_K_INTERVAL:
        pgcdc__dbz_interval(x, j, s, n);
        return;
    case PGCDC__DBZ_K_BIT:
    case PGCDC__DBZ_K_BITS: {
        pgcdc__dbz_col bits = *dc;

        bits.kind = (uint8_t)kind;
        put_bits(x, j, &bits, s, n);
        return;
    }
    case PGCDC__DBZ_K_HSTORE:
        put_hstore(x, j, s, n);
        return;
    case PGCDC__DBZ_K_ARRAY:
        put_array(x, j, dc, s, n);
        return;
    default:
        break;
    }
    pgcdc__json_string(j, s, n);
}

void pgcdc__dbz_column(pgcdc__dbz *x, pgcdc__buf *j, const pgcdc_row *row, int col,
                       const pgcdc__dbz_col *dc)
{
    const pgcdc__col *v = &row->cols[col];
    int64_t t;

    if (dc->kind == PGCDC__DBZ_K_NATIVE) {
        pgcdc__fmt_column(j, row, col, 0);
        return;
    }
    /* Dates and timestamps in binary: read as they are (the infinities are the extremes). */
    if (v->kind == PGCDC_COL_BINARY) {
        const uint8_t *p = (const uint8_t *)v->data;

        if (dc->kind == PGCDC__DBZ_K_DATE && v->len == 4) {
            int32_t days = (int32_t)pgcdc__be32(p);

            pgcdc__dbz_days(j, days == INT32_MAX   ? INT64_MAX
                               : days == INT32_MIN ? INT64_MIN
                                                   : ((int64_t)days + 10957) * US_PER_DAY);
            return;
        }
        /* (Past what Unix microseconds hold, the year 294247 on: as its text reads.) */
        if ((dc->kind == PGCDC__DBZ_K_TIMESTAMP || dc->kind == PGCDC__DBZ_K_TIMESTAMPTZ) &&
            v->len == 8 && pgcdc__unix_us_from_pg((int64_t)pgcdc__be64(p), &t) == 0) {
            if (dc->kind == PGCDC__DBZ_K_TIMESTAMP)
                pgcdc__dbz_timestamp(j, t, dc->precision);
            else
                pgcdc__dbz_zoned_timestamp(j, t, dc->precision);
            return;
        }
    }
    v = pgcdc__row_text_col(row, col);
    put_value(x, j, dc, dc->kind, v->data, v->len);
}

void pgcdc__dbz_unavailable(const pgcdc__dbz *x, pgcdc__buf *j, const pgcdc__dbz_col *dc)
{
    static const uint8_t bytes[] = PGCDC__DBZ_UNAVAILABLE;

    switch (dc->toast) {
    case TOAST_BYTES:
        /* As bytes (base64 in JSON); hex mode writes the placeholder itself. */
        if (x->binary == PGCDC__DBZ_HEX)
            break;
        pgcdc__buf_lit(j, "\"" UNAVAILABLE_BASE64 "\"");
        return;
    case TOAST_TEXT_LIST:
        pgcdc__buf_lit(j, "[\"" PGCDC__DBZ_UNAVAILABLE "\"]");
        return;
    case TOAST_BYTES_LIST:
        pgcdc__buf_lit(j, "[\"" UNAVAILABLE_BASE64 "\"]");
        return;
    case TOAST_INT_LIST:
        pgcdc__buf_u8(j, '[');
        for (size_t i = 0; i + 1 < sizeof(bytes); i++) {
            if (i > 0)
                pgcdc__buf_u8(j, ',');
            pgcdc__json_u64(j, bytes[i]);
        }
        pgcdc__buf_u8(j, ']');
        return;
    case TOAST_UUID_LIST:
        pgcdc__buf_lit(j, "[\"" UNAVAILABLE_UUID "\"]");
        return;
    case TOAST_HSTORE:
        if (x->hstore == PGCDC__DBZ_MAP)
            pgcdc__buf_lit(j, "{\"" PGCDC__DBZ_UNAVAILABLE "\":\"" PGCDC__DBZ_UNAVAILABLE "\"}");
        else
            pgcdc__buf_lit(j, "\"{\\\"" PGCDC__DBZ_UNAVAILABLE "\\\":\\\"" PGCDC__DBZ_UNAVAILABLE
                              "\\\"}\"");
        return;
    default:
        break;
    }
    pgcdc__buf_lit(j, "\"" PGCDC__DBZ_UNAVAILABLE "\"");
}
