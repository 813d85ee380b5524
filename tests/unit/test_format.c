/*
 * Unit tests for the formatters (src/format.c, src/json.c): changes built
 * directly from the internal structs, exact output for the native and
 * wal2json formats (Debezium's: test_debezium_format.c; snapshot rows in
 * every format: test_format_snapshot.c), and every line parsed back with
 * jansson.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "core/row.h"
#include "format/json.h"
#include "wire/types.h"
#include "column_values.h"

/* Relation fields are char *; the fixtures point them at literals they never change. */
#define S(lit) ((char *)(lit))
/* A relation: the Relation message's fields, its columns and key; every one wanted. */
#define REL(relid_, schema_, name_, ident_, ncols_, cols_, nkeys_, keys_)                          \
    {                                                                                              \
        .relid = (relid_), .schema = (schema_), .name = (name_), .replident = (ident_),            \
        .ncols = (ncols_), .cols = (cols_), .nkeys = (nkeys_), .keys = (keys_), .npk = -1,         \
        .wanted = 1                                                                                \
    }
/* A column: its name, format_type() name (or NULL), type, key and replica identity flags. */
#define COL(name_, type_name_, oid_, key_, ident_)                                                 \
    {                                                                                              \
        .name = (name_), .type_name = (type_name_), .type_oid = (oid_), .sent_oid = (oid_),        \
        .typmod = -1, .not_null = -1, .is_key = (key_), .is_ident = (ident_)                       \
    }

#define FFFD "\xEF\xBF\xBD"

static pgcdc_txn txn = {
    .xid = 771,
    .commit_lsn = 0x1A2B3C8,
    .end_lsn = 0x1A2B400,
    .commit_time = INT64_C(1795557600123456), /* 2026-11-24 22:00:00.123456 UTC */
    .nchanges = 1,
    .token = 1,
};

/* ---- fixtures ---- */

enum { MOOD_OID = 16390, INT4ARRAY_OID = 1007 };

static pgcdc__relcol_info types_cols[] = {
    COL(S("id"), NULL, PGCDC_OID_INT4, 1, 1),
    COL(S("i2"), NULL, PGCDC_OID_INT2, 0, 0),
    COL(S("i8"), NULL, PGCDC_OID_INT8, 0, 0),
    COL(S("o"), NULL, PGCDC_OID_OID, 0, 0),
    COL(S("f4"), NULL, PGCDC_OID_FLOAT4, 0, 0),
    COL(S("f8"), NULL, PGCDC_OID_FLOAT8, 0, 0),
    COL(S("n"), S("numeric(30,9)"), PGCDC_OID_NUMERIC, 0, 0),
    COL(S("b"), NULL, PGCDC_OID_BOOL, 0, 0),
    COL(S("b2"), NULL, PGCDC_OID_BOOL, 0, 0),
    COL(S("t"), NULL, PGCDC_OID_TEXT, 0, 0),
    COL(S("vc"), S("character varying(10)"), PGCDC_OID_VARCHAR, 0, 0),
    COL(S("bin"), NULL, PGCDC_OID_BYTEA, 0, 0),
    COL(S("j"), NULL, PGCDC_OID_JSON, 0, 0),
    COL(S("jb"), NULL, PGCDC_OID_JSONB, 0, 0),
    COL(S("arr"), S("integer[]"), INT4ARRAY_OID, 0, 0),
    COL(S("ts"), NULL, PGCDC_OID_TIMESTAMPTZ, 0, 0),
    COL(S("d"), NULL, PGCDC_OID_DATE, 0, 0),
    COL(S("u"), NULL, PGCDC_OID_UUID, 0, 0),
    COL(S("e"), S("mood"), MOOD_OID, 0, 0),
    COL(S("nul"), NULL, PGCDC_OID_TEXT, 0, 0),
};
static int id_key[] = {0};
static pgcdc__relation types_rel =
    REL(1001, S("public"), S("types"), 'd', 20, types_cols, 1, id_key);
static const pgcdc__col types_row[] = {
    TXT("1"),
    TXT("-32768"),
    TXT("9223372036854775807"),
    TXT("4294967295"),
    TXT("1.5"),
    TXT("-0"),
    TXT("12345678901234567890.123456789"),
    TXT("t"),
    TXT("f"),
    TXT("héllo 😀 \"q\" \\ \n\t"),
    TXT("abc"),
    TXT("\\x00ff10"),
    TXT("{\"a\": [1, 2.5, {\"b\": null}],\n \"c\": \"x\"}"),
    TXT("{\"k\": \"é\", \"n\": [true, false]}"),
    TXT("{1,2,NULL}"),
    TXT("2026-11-24 22:00:00.123456+00"),
    TXT("infinity"),
    TXT("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"),
    TXT("happy"),
    NUL,
};

static pgcdc__relcol_info nums_cols[] = {
    COL(S("id"), NULL, PGCDC_OID_INT4, 1, 1),
    COL(S("f4"), NULL, PGCDC_OID_FLOAT4, 0, 0),
    COL(S("f8"), NULL, PGCDC_OID_FLOAT8, 0, 0),
    COL(S("n"), NULL, PGCDC_OID_NUMERIC, 0, 0),
};
static pgcdc__relation nums_rel = REL(1002, S("public"), S("nums"), 'd', 4, nums_cols, 1, id_key);

/* A table with TOASTable columns, REPLICA IDENTITY DEFAULT. */
static pgcdc__relcol_info docs_cols[] = {
    COL(S("id"), NULL, PGCDC_OID_INT4, 1, 1),
    COL(S("title"), NULL, PGCDC_OID_TEXT, 0, 0),
    COL(S("big"), NULL, PGCDC_OID_TEXT, 0, 0),
    COL(S("meta"), NULL, PGCDC_OID_JSONB, 0, 0),
};
static pgcdc__relation docs_rel = REL(1003, S("public"), S("docs"), 'd', 4, docs_cols, 1, id_key);

/* REPLICA IDENTITY FULL: every column is part of the identity. */
static pgcdc__relcol_info full_cols[] = {
    COL(S("id"), NULL, PGCDC_OID_INT4, 1, 1),
    COL(S("v"), NULL, PGCDC_OID_TEXT, 0, 1),
    COL(S("x"), NULL, PGCDC_OID_FLOAT8, 0, 1),
};
static pgcdc__relation full_rel = REL(1004, S("public"), S("full_t"), 'f', 3, full_cols, 1, id_key);

/* Text values, and names that need escaping. */
static pgcdc__relcol_info str_cols[] = {
    COL(S("id"), NULL, PGCDC_OID_INT4, 1, 1),
    COL(S("v"), NULL, PGCDC_OID_TEXT, 0, 0),
};
static pgcdc__relation str_rel = REL(1005, S("public"), S("s"), 'd', 2, str_cols, 1, id_key);

static pgcdc__relcol_info odd_cols[] = {
    COL(S("k\"1"), S("\"Mood\""), MOOD_OID, 1, 1),
    COL(S("k2"), S("\"My Schema\".t"), 16400, 1, 1),
    COL(S("c\n"), S("\"Mood\"[]"), 16401, 0, 0),
    COL(S("raw"), NULL, 16402, 0, 0),
};
static int odd_keys[] = {1, 0};
static pgcdc__relation odd_rel =
    REL(1006, S("sch\\ema"), S("we\"ird"), 'd', 4, odd_cols, 2, odd_keys);

static pgcdc_change make_change(pgcdc_op op, const pgcdc__relation *rel, const pgcdc__col *old_cols,
                                int key_only, const pgcdc__col *new_cols)
{
    pgcdc_change c;

    memset(&c, 0, sizeof(c));
    c.op = op;
    c.rel = rel;
    c.txn = &txn;
    c.seq = 0;
    if (old_cols != NULL) {
        c.has_old = 1;
        c.old_row.rel = rel;
        c.old_row.cols = (pgcdc__col *)old_cols; /* text only: never written */
        c.old_row.key_only = key_only;
    }
    if (new_cols != NULL) {
        c.has_new = 1;
        c.new_row.rel = rel;
        c.new_row.cols = (pgcdc__col *)new_cols;
    }
    return c;
}

/* ---- helpers ---- */

/* Parses every line of out (each must end in a newline) as one JSON object. */
static void check_lines(const char *out, size_t len, size_t flags)
{
    size_t pos = 0;

    if (len > 0)
        assert_int_equal(out[len - 1], '\n');
    while (pos < len) {
        const char *nl = memchr(out + pos, '\n', len - pos);
        json_error_t err;
        json_t *doc;

        assert_non_null(nl);
        doc =
            json_loadb(out + pos, (size_t)(nl - (out + pos)), JSON_REJECT_DUPLICATES | flags, &err);
        if (doc == NULL)
            fail_msg("not JSON: %s\n%.*s", err.text, (int)(nl - (out + pos)), out + pos);
        assert_true(json_is_object(doc));
        json_decref(doc);
        pos = (size_t)(nl - out) + 1;
    }
}

/* Formats one change; returns the output (one line, newline stripped) in a static buffer. */
static const char *format_change_flags(pgcdc_format format, const pgcdc_change *c, size_t flags)
{
    static char result[16384];
    pgcdc_formatter *f = pgcdc_formatter_new(format, "shop");
    const char *out = NULL;
    size_t len = 0;

    assert_non_null(f);
    assert_int_equal(pgcdc_formatter_change(f, c, &out, &len), PGCDC_OK);
    assert_non_null(out);
    assert_true(len > 0 && len < sizeof(result));
    assert_int_equal(strlen(out), len);
    assert_null(memchr(out, '\n', len - 1));
    check_lines(out, len, flags);
    memcpy(result, out, len - 1);
    result[len - 1] = '\0';
    pgcdc_formatter_free(f);
    return result;
}

static const char *format_change(pgcdc_format format, const pgcdc_change *c)
{
    return format_change_flags(format, c, 0);
}

#define HEAD(op, table)                                                                            \
    "{\"op\":\"" op "\",\"schema\":\"public\",\"table\":\"" table "\",\"xid\":771,"                \
    "\"commit_lsn\":\"0/1A2B3C8\",\"seq\":0,\"commit_time\":\"2026-11-24T22:00:00.123456Z\","

/* ---- tests ---- */

static void test_parse_and_free(void **state)
{
    pgcdc_format fmt = PGCDC_FORMAT_JSON;

    (void)state;
    assert_int_equal(pgcdc_format_parse("json", &fmt), PGCDC_OK);
    assert_int_equal(fmt, PGCDC_FORMAT_JSON);
    assert_int_equal(pgcdc_format_parse("debezium", &fmt), PGCDC_OK);
    assert_int_equal(fmt, PGCDC_FORMAT_DEBEZIUM);
    assert_int_equal(pgcdc_format_parse("wal2json", &fmt), PGCDC_OK);
    assert_int_equal(fmt, PGCDC_FORMAT_WAL2JSON);
    assert_int_equal(pgcdc_format_parse("JSON", &fmt), PGCDC_ERR_INVALID);
    assert_int_equal(pgcdc_format_parse("", &fmt), PGCDC_ERR_INVALID);
    assert_int_equal(pgcdc_format_parse(NULL, &fmt), PGCDC_ERR_INVALID);
    assert_int_equal(pgcdc_format_parse("json", NULL), PGCDC_ERR_INVALID);
    assert_int_equal(fmt, PGCDC_FORMAT_WAL2JSON);
    assert_null(pgcdc_formatter_new((pgcdc_format)7, NULL));
    pgcdc_formatter_free(NULL);
}

static void test_begin_commit(void **state)
{
    static const pgcdc_format formats[] = {PGCDC_FORMAT_JSON, PGCDC_FORMAT_DEBEZIUM,
                                           PGCDC_FORMAT_WAL2JSON};

    (void)state;
    for (size_t i = 0; i < 3; i++) {
        pgcdc_formatter *f = pgcdc_formatter_new(formats[i], NULL);
        const char *out = NULL;
        size_t len = 99;
        int w2j = formats[i] == PGCDC_FORMAT_WAL2JSON;

        assert_non_null(f);
        assert_int_equal(pgcdc_formatter_begin(f, &txn, &out, &len), PGCDC_OK);
        assert_non_null(out);
        assert_string_equal(out, w2j ? "{\"action\":\"B\"}\n" : "");
        assert_int_equal(len, strlen(out));
        assert_int_equal(pgcdc_formatter_commit(f, &txn, &out, &len), PGCDC_OK);
        assert_string_equal(out, w2j ? "{\"action\":\"C\"}\n" : "");
        assert_int_equal(len, strlen(out));
        assert_int_equal(pgcdc_formatter_begin(NULL, &txn, &out, &len), PGCDC_ERR_INVALID);
        assert_int_equal(pgcdc_formatter_change(f, NULL, &out, &len), PGCDC_ERR_INVALID);
        pgcdc_formatter_free(f);
    }
}

#define TYPES_VALUES                                                                               \
    "{\"id\":1,\"i2\":-32768,\"i8\":9223372036854775807,\"o\":4294967295,\"f4\":1.5,\"f8\":-0,"    \
    "\"n\":12345678901234567890.123456789,\"b\":true,\"b2\":false,"                                \
    "\"t\":\"héllo 😀 \\\"q\\\" \\\\ \\n\\t\",\"vc\":\"abc\",\"bin\":\"00ff10\","               \
    "\"j\":{\"a\": [1, 2.5, {\"b\": null}],  \"c\": \"x\"},"                                       \
    "\"jb\":{\"k\": \"é\", \"n\": [true, false]},\"arr\":\"{1,2,NULL}\","                         \
    "\"ts\":\"2026-11-24 22:00:00.123456+00\",\"d\":\"infinity\","                                 \
    "\"u\":\"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11\",\"e\":\"happy\",\"nul\":null}"

static void test_native_types(void **state)
{
    pgcdc_change c = make_change(PGCDC_OP_INSERT, &types_rel, NULL, 0, types_row);

    (void)state;
    assert_string_equal(format_change(PGCDC_FORMAT_JSON, &c),
                        HEAD("INSERT", "types") "\"pk\":[\"id\"],\"old\":null,\"new\":" TYPES_VALUES
                                                "}");
}

static void test_wal2json_types(void **state)
{
    pgcdc_change c = make_change(PGCDC_OP_INSERT, &types_rel, NULL, 0, types_row);

    (void)state;
    assert_string_equal(
        format_change(PGCDC_FORMAT_WAL2JSON, &c),
        "{\"action\":\"I\",\"schema\":\"public\",\"table\":\"types\",\"columns\":["
        "{\"name\":\"id\",\"type\":\"integer\",\"value\":1},"
        "{\"name\":\"i2\",\"type\":\"smallint\",\"value\":-32768},"
        "{\"name\":\"i8\",\"type\":\"bigint\",\"value\":9223372036854775807},"
        "{\"name\":\"o\",\"type\":\"oid\",\"value\":4294967295},"
        "{\"name\":\"f4\",\"type\":\"real\",\"value\":1.5},"
        "{\"name\":\"f8\",\"type\":\"double precision\",\"value\":-0},"
        "{\"name\":\"n\",\"type\":\"numeric(30,9)\",\"value\":12345678901234567890.123456789},"
        "{\"name\":\"b\",\"type\":\"boolean\",\"value\":true},"
        "{\"name\":\"b2\",\"type\":\"boolean\",\"value\":false},"
        "{\"name\":\"t\",\"type\":\"text\",\"value\":\"héllo 😀 \\\"q\\\" \\\\ \\n\\t\"},"
        "{\"name\":\"vc\",\"type\":\"character varying(10)\",\"value\":\"abc\"},"
        "{\"name\":\"bin\",\"type\":\"bytea\",\"value\":\"00ff10\"},"
        "{\"name\":\"j\",\"type\":\"json\","
        "\"value\":\"{\\\"a\\\": [1, 2.5, {\\\"b\\\": null}],\\n \\\"c\\\": \\\"x\\\"}\"},"
        "{\"name\":\"jb\",\"type\":\"jsonb\","
        "\"value\":\"{\\\"k\\\": \\\"é\\\", \\\"n\\\": [true, false]}\"},"
        "{\"name\":\"arr\",\"type\":\"integer[]\",\"value\":\"{1,2,NULL}\"},"
        "{\"name\":\"ts\",\"type\":\"timestamp with time zone\","
        "\"value\":\"2026-11-24 22:00:00.123456+00\"},"
        "{\"name\":\"d\",\"type\":\"date\",\"value\":\"infinity\"},"
        "{\"name\":\"u\",\"type\":\"uuid\",\"value\":\"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11\"},"
        "{\"name\":\"e\",\"type\":\"mood\",\"value\":\"happy\"},"
        "{\"name\":\"nul\",\"type\":\"text\",\"value\":null}]}");
}

static void test_special_numbers(void **state)
{
    static const pgcdc__col row1[] = {TXT("1"), TXT("NaN"), TXT("Infinity"), TXT("NaN")};
    static const pgcdc__col row2[] = {TXT("2"), TXT("-Infinity"), TXT("1e+100"), TXT("Infinity")};
    static const pgcdc__col row3[] = {TXT("3"), TXT("-0"), TXT("1.5e-07"), TXT("-Infinity")};
    /* Not PostgreSQL output, but must never make invalid JSON. */
    static const pgcdc__col row4[] = {TXT("4"), TXT("+1"), TXT(".5"), TXT("01")};
    static const pgcdc__col row5[] = {
        TXT("5"), TXT("1E-5"), TXT("-1.25"),
        TXT("123456789012345678901234567890123456789.000000000000000000001")};
    pgcdc_change c1 = make_change(PGCDC_OP_INSERT, &nums_rel, NULL, 0, row1);
    pgcdc_change c2 = make_change(PGCDC_OP_INSERT, &nums_rel, NULL, 0, row2);
    pgcdc_change c3 = make_change(PGCDC_OP_INSERT, &nums_rel, NULL, 0, row3);
    pgcdc_change c4 = make_change(PGCDC_OP_INSERT, &nums_rel, NULL, 0, row4);
    pgcdc_change c5 = make_change(PGCDC_OP_INSERT, &nums_rel, NULL, 0, row5);

    (void)state;
    assert_string_equal(format_change(PGCDC_FORMAT_JSON, &c1),
                        HEAD("INSERT", "nums") "\"pk\":[\"id\"],\"old\":null,\"new\":"
                                               "{\"id\":1,\"f4\":\"NaN\",\"f8\":\"Infinity\","
                                               "\"n\":\"NaN\"}}");
    assert_string_equal(format_change(PGCDC_FORMAT_JSON, &c2),
                        HEAD("INSERT", "nums") "\"pk\":[\"id\"],\"old\":null,\"new\":"
                                               "{\"id\":2,\"f4\":\"-Infinity\",\"f8\":1e+100,"
                                               "\"n\":\"Infinity\"}}");
    assert_string_equal(format_change(PGCDC_FORMAT_JSON, &c3),
                        HEAD("INSERT", "nums") "\"pk\":[\"id\"],\"old\":null,\"new\":"
                                               "{\"id\":3,\"f4\":-0,\"f8\":1.5e-07,"
                                               "\"n\":\"-Infinity\"}}");
    assert_string_equal(format_change(PGCDC_FORMAT_JSON, &c4),
                        HEAD("INSERT", "nums") "\"pk\":[\"id\"],\"old\":null,\"new\":"
                                               "{\"id\":4,\"f4\":\"+1\",\"f8\":\".5\","
                                               "\"n\":\"01\"}}");
    assert_string_equal(format_change(PGCDC_FORMAT_JSON, &c5),
                        HEAD("INSERT", "nums") "\"pk\":[\"id\"],\"old\":null,\"new\":"
                                               "{\"id\":5,\"f4\":1E-5,\"f8\":-1.25,"
                                               "\"n\":123456789012345678901234567890123456789."
                                               "000000000000000000001}}");
    /* wal2json writes null for NaN and both infinities. */
    assert_string_equal(format_change(PGCDC_FORMAT_WAL2JSON, &c1),
                        "{\"action\":\"I\",\"schema\":\"public\",\"table\":\"nums\",\"columns\":["
                        "{\"name\":\"id\",\"type\":\"integer\",\"value\":1},"
                        "{\"name\":\"f4\",\"type\":\"real\",\"value\":null},"
                        "{\"name\":\"f8\",\"type\":\"double precision\",\"value\":null},"
                        "{\"name\":\"n\",\"type\":\"numeric\",\"value\":null}]}");
    assert_string_equal(format_change(PGCDC_FORMAT_WAL2JSON, &c2),
                        "{\"action\":\"I\",\"schema\":\"public\",\"table\":\"nums\",\"columns\":["
                        "{\"name\":\"id\",\"type\":\"integer\",\"value\":2},"
                        "{\"name\":\"f4\",\"type\":\"real\",\"value\":null},"
                        "{\"name\":\"f8\",\"type\":\"double precision\",\"value\":1e+100},"
                        "{\"name\":\"n\",\"type\":\"numeric\",\"value\":null}]}");
    assert_string_equal(format_change(PGCDC_FORMAT_WAL2JSON, &c3),
                        "{\"action\":\"I\",\"schema\":\"public\",\"table\":\"nums\",\"columns\":["
                        "{\"name\":\"id\",\"type\":\"integer\",\"value\":3},"
                        "{\"name\":\"f4\",\"type\":\"real\",\"value\":-0},"
                        "{\"name\":\"f8\",\"type\":\"double precision\",\"value\":1.5e-07},"
                        "{\"name\":\"n\",\"type\":\"numeric\",\"value\":null}]}");
    /* Huge integers overflow jansson's integers: parse those as reals. */
    assert_non_null(format_change_flags(PGCDC_FORMAT_WAL2JSON, &c5, JSON_DECODE_INT_AS_REAL));
}

/* The "v" value of a one-text-column insert in native JSON. */
static const char *native_text_flags(const char *text, size_t len, size_t flags)
{
    static char buf[4096];
    pgcdc__col row[2] = {TXT("1"), {text, (uint32_t)len, PGCDC_COL_TEXT}};
    pgcdc_change c = make_change(PGCDC_OP_INSERT, &str_rel, NULL, 0, row);
    const char *out = format_change_flags(PGCDC_FORMAT_JSON, &c, flags);
    const char *v = strstr(out, "\"new\":{\"id\":1,\"v\":");
    size_t n;

    assert_non_null(v);
    v += strlen("\"new\":{\"id\":1,\"v\":");
    n = strlen(v);
    assert_true(n >= 2 && strcmp(v + n - 2, "}}") == 0);
    memcpy(buf, v, n - 2);
    buf[n - 2] = '\0';
    return buf;
}

#define NATIVE_TEXT(lit) native_text_flags(lit, sizeof(lit) - 1, 0)

/* Parses a native line and returns new.v decoded by jansson (UTF-8), in a static buffer. */
static const char *decoded_text(const char *text, size_t len)
{
    static char buf[4096];
    pgcdc__col row[2] = {TXT("1"), {text, (uint32_t)len, PGCDC_COL_TEXT}};
    pgcdc_change c = make_change(PGCDC_OP_INSERT, &str_rel, NULL, 0, row);
    const char *out = format_change(PGCDC_FORMAT_JSON, &c);
    json_error_t err;
    json_t *doc = json_loads(out, JSON_REJECT_DUPLICATES, &err);
    json_t *v;

    assert_non_null(doc);
    v = json_object_get(json_object_get(doc, "new"), "v");
    assert_true(json_is_string(v));
    assert_true(json_string_length(v) < sizeof(buf));
    memcpy(buf, json_string_value(v), json_string_length(v) + 1);
    json_decref(doc);
    return buf;
}

static void test_strings(void **state)
{
    (void)state;
    assert_string_equal(NATIVE_TEXT(""), "\"\"");
    assert_string_equal(NATIVE_TEXT("plain"), "\"plain\"");
    assert_string_equal(NATIVE_TEXT("é😀 ü ∑"), "\"é😀 ü ∑\"");
    assert_string_equal(NATIVE_TEXT("a\nb\rc\td\be\ff\x01g\x1fh\"i\\j\x7fk/"),
                        "\"a\\nb\\rc\\td\\be\\ff\\u0001g\\u001fh\\\"i\\\\j\x7fk/\"");
    /* A NUL inside the length (never from PostgreSQL text, still valid JSON). */
    assert_string_equal(native_text_flags("a\0b", 3, JSON_ALLOW_NUL), "\"a\\u0000b\"");
    /* Boundaries of valid UTF-8 pass unchanged. */
    assert_string_equal(NATIVE_TEXT("\xc2\x80|\xdf\xbf|\xe0\xa0\x80|\xed\x9f\xbf|\xee\x80\x80|"
                                    "\xef\xbf\xbf|\xf0\x90\x80\x80|\xf4\x8f\xbf\xbf"),
                        "\"\xc2\x80|\xdf\xbf|\xe0\xa0\x80|\xed\x9f\xbf|\xee\x80\x80|"
                        "\xef\xbf\xbf|\xf0\x90\x80\x80|\xf4\x8f\xbf\xbf\"");
    /* Invalid UTF-8: one U+FFFD per maximal ill-formed subpart. */
    assert_string_equal(NATIVE_TEXT("\xff"), "\"" FFFD "\"");
    assert_string_equal(NATIVE_TEXT("a\xffz"), "\"a" FFFD "z\"");
    assert_string_equal(NATIVE_TEXT("\xc0\x80"), "\"" FFFD FFFD "\"");          /* overlong */
    assert_string_equal(NATIVE_TEXT("\xe0\x80\xaf"), "\"" FFFD FFFD FFFD "\""); /* overlong */
    assert_string_equal(NATIVE_TEXT("\xed\xa0\x80"), "\"" FFFD FFFD FFFD "\""); /* surrogate */
    assert_string_equal(NATIVE_TEXT("\xf4\x90\x80\x80"), "\"" FFFD FFFD FFFD FFFD "\"");
    assert_string_equal(NATIVE_TEXT("\xf5\x80"), "\"" FFFD FFFD "\"");
    assert_string_equal(NATIVE_TEXT("x\xe2\x82"), "\"x" FFFD "\""); /* truncated at the end */
    assert_string_equal(NATIVE_TEXT("\xe2\x82y"), "\"" FFFD "y\"");
    assert_string_equal(NATIVE_TEXT("\xf0\x9f\x98"), "\"" FFFD "\"");
    assert_string_equal(NATIVE_TEXT("\xf0\x9f\x98\""), "\"" FFFD "\\\"\"");
    assert_string_equal(NATIVE_TEXT("\x80\xbf"), "\"" FFFD FFFD "\""); /* lone continuations */
    assert_string_equal(NATIVE_TEXT("é\xc3"), "\"é" FFFD "\"");
    /* What a parser reads back. */
    assert_string_equal(decoded_text("a\nb\x01\"\\\x7f", 7), "a\nb\x01\"\\\x7f");
    assert_string_equal(decoded_text("\xed\xa0\x80!", 4), FFFD FFFD FFFD "!");
    assert_string_equal(decoded_text("😀", 4), "\xf0\x9f\x98\x80");
}

/*
 * Strings built from pieces whose escaped form is known on its own: plain
 * runs, quotes, backslashes, control bytes, valid UTF-8 and ill-formed
 * bytes that stay one ill-formed subpart whatever follows them.  Random
 * lengths and mixes put every piece at every offset of the eight-byte scan.
 */
typedef struct text_piece {
    const char *in;
    const char *string; /* escaped in a JSON string */
    const char *embed;  /* copied into embedded JSON */
} text_piece;

static const text_piece pieces[] = {
    {"a", "a", "a"},
    {"plain text, 0-9 ~ {}[]/", "plain text, 0-9 ~ {}[]/", "plain text, 0-9 ~ {}[]/"},
    {"\x7f", "\x7f", "\x7f"},
    {"\"", "\\\"", "\""},
    {"\\", "\\\\", "\\"},
    {"\n", "\\n", " "},
    {"\t", "\\t", " "},
    {"\x01", "\\u0001", " "},
    {"\x1f", "\\u001f", " "},
    {"\xc3\xa9", "\xc3\xa9", "\xc3\xa9"},
    {"\xe2\x82\xac", "\xe2\x82\xac", "\xe2\x82\xac"},
    {"\xf0\x9f\x98\x80", "\xf0\x9f\x98\x80", "\xf0\x9f\x98\x80"},
    {"\xff", FFFD, FFFD},
    {"\xc0", FFFD, FFFD},
    {"\xe2\x82", FFFD, FFFD},
    {"\xed\xa0", FFFD FFFD, FFFD FFFD},
};

static void test_string_runs(void **state)
{
    enum { NPIECES = sizeof(pieces) / sizeof(pieces[0]) };
    static char in[8192], want_string[32768], want_embed[32768];
    uint64_t x = 0x9E3779B97F4A7C15u;
    pgcdc__buf j;

    (void)state;
    pgcdc__buf_init(&j);
    for (int round = 0; round < 20000; round++) {
        size_t n = 0, ns = 0, ne = 0;
        int count;

        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        count = (int)(x % 64);
        for (int k = 0; k < count; k++) {
            const text_piece *p;
            int reps;

            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            /* Mostly plain bytes, so that long runs take the word-at-a-time path. */
            p = &pieces[x % 4 != 0 ? x % 2 : (x >> 8) % NPIECES];
            reps = p == &pieces[0] ? (int)((x >> 20) % 24) + 1 : 1;
            for (int rep = 0; rep < reps; rep++) {
                memcpy(in + n, p->in, strlen(p->in));
                n += strlen(p->in);
                memcpy(want_string + ns, p->string, strlen(p->string));
                ns += strlen(p->string);
                memcpy(want_embed + ne, p->embed, strlen(p->embed));
                ne += strlen(p->embed);
            }
        }
        pgcdc__buf_reset(&j);
        pgcdc__json_string_body(&j, in, n);
        assert_int_equal(j.len, ns);
        assert_memory_equal(j.data, want_string, ns);
        pgcdc__buf_reset(&j);
        pgcdc__json_embed(&j, in, n);
        assert_int_equal(j.len, ne);
        assert_memory_equal(j.data, want_embed, ne);
    }
    pgcdc__buf_free(&j);
}

static pgcdc__relcol_info js_cols[] = {
    COL(S("id"), NULL, PGCDC_OID_INT4, 1, 1),
    COL(S("j"), NULL, PGCDC_OID_JSON, 0, 0),
    COL(S("jb"), NULL, PGCDC_OID_JSONB, 0, 0),
};
static pgcdc__relation js_rel = REL(1007, S("public"), S("js"), 'd', 3, js_cols, 1, id_key);

static void test_json_embed(void **state)
{
    static const pgcdc__col row1[] = {TXT("1"),
                                      TXT("{\"k\": \"a\xff"
                                          "b\", \"arr\": [1,\r\n\t2]}"),
                                      TXT("[]")};
    static const pgcdc__col row2[] = {TXT("2"), TXT("  "), TXT("null")};
    static const pgcdc__col row3[] = {
        TXT("3"), TXT("\"str\""), TXT("{\"deep\": {\"x\": [[[{\"y\": \"\\u00e9\\n\\\"\"}]]]}}")};
    pgcdc_change c1 = make_change(PGCDC_OP_INSERT, &js_rel, NULL, 0, row1);
    pgcdc_change c2 = make_change(PGCDC_OP_INSERT, &js_rel, NULL, 0, row2);
    pgcdc_change c3 = make_change(PGCDC_OP_INSERT, &js_rel, NULL, 0, row3);
    json_t *doc;
    json_t *want;

    (void)state;
    assert_string_equal(format_change(PGCDC_FORMAT_JSON, &c1),
                        HEAD("INSERT", "js") "\"pk\":[\"id\"],\"old\":null,\"new\":{\"id\":1,"
                                             "\"j\":{\"k\": \"a" FFFD "b\", \"arr\": [1,   2]},"
                                             "\"jb\":[]}}");
    /* Whitespace only is not JSON: it stays a string.  JSON null is null. */
    assert_string_equal(format_change(PGCDC_FORMAT_JSON, &c2),
                        HEAD("INSERT", "js") "\"pk\":[\"id\"],\"old\":null,\"new\":{\"id\":2,"
                                             "\"j\":\"  \",\"jb\":null}}");
    assert_string_equal(
        format_change(PGCDC_FORMAT_JSON, &c3),
        HEAD("INSERT", "js") "\"pk\":[\"id\"],\"old\":null,\"new\":{\"id\":3,\"j\":\"str\","
                             "\"jb\":{\"deep\": {\"x\": [[[{\"y\": \"\\u00e9\\n\\\"\"}]]]}}}}");
    doc = json_loads(format_change(PGCDC_FORMAT_JSON, &c3), JSON_REJECT_DUPLICATES, NULL);
    want = json_loads("{\"deep\":{\"x\":[[[{\"y\":\"é\\n\\\"\"}]]]}}", 0, NULL);
    assert_non_null(doc);
    assert_non_null(want);
    assert_true(json_equal(json_object_get(json_object_get(doc, "new"), "jb"), want));
    json_decref(want);
    json_decref(doc);
    /* wal2json quotes json and jsonb. */
    assert_string_equal(format_change(PGCDC_FORMAT_WAL2JSON, &c1),
                        "{\"action\":\"I\",\"schema\":\"public\",\"table\":\"js\",\"columns\":["
                        "{\"name\":\"id\",\"type\":\"integer\",\"value\":1},"
                        "{\"name\":\"j\",\"type\":\"json\",\"value\":"
                        "\"{\\\"k\\\": \\\"a" FFFD "b\\\", \\\"arr\\\": [1,\\r\\n\\t2]}\"},"
                        "{\"name\":\"jb\",\"type\":\"jsonb\",\"value\":\"[]\"}]}");
}

static void test_unchanged_toast(void **state)
{
    static const pgcdc__col new1[] = {TXT("1"), TXT("new title"), UNCH, UNCH};
    static const pgcdc__col old2[] = {TXT("1"), TXT("x"), UNCH, NUL};
    static const pgcdc__col new2[] = {TXT("1"), TXT("y"), UNCH, UNCH};
    pgcdc_change c1 = make_change(PGCDC_OP_UPDATE, &docs_rel, NULL, 0, new1);
    pgcdc_change c2 = make_change(PGCDC_OP_UPDATE, &docs_rel, old2, 0, new2);

    (void)state;
    assert_string_equal(format_change(PGCDC_FORMAT_JSON, &c1),
                        HEAD("UPDATE", "docs") "\"pk\":[\"id\"],\"old\":null,"
                                               "\"new\":{\"id\":1,\"title\":\"new title\"},"
                                               "\"unchanged_toast\":[\"big\",\"meta\"]}");
    /* wal2json skips unchanged TOAST and takes the identity from the new key. */
    assert_string_equal(format_change(PGCDC_FORMAT_WAL2JSON, &c1),
                        "{\"action\":\"U\",\"schema\":\"public\",\"table\":\"docs\",\"columns\":["
                        "{\"name\":\"id\",\"type\":\"integer\",\"value\":1},"
                        "{\"name\":\"title\",\"type\":\"text\",\"value\":\"new title\"}],"
                        "\"identity\":[{\"name\":\"id\",\"type\":\"integer\",\"value\":1}]}");
    /* Unchanged in the old row too: listed once, never written as null. */
    assert_string_equal(format_change(PGCDC_FORMAT_JSON, &c2),
                        HEAD("UPDATE", "docs") "\"pk\":[\"id\"],"
                                               "\"old\":{\"id\":1,\"title\":\"x\",\"meta\":null},"
                                               "\"new\":{\"id\":1,\"title\":\"y\"},"
                                               "\"unchanged_toast\":[\"big\",\"meta\"]}");
    assert_string_equal(format_change(PGCDC_FORMAT_WAL2JSON, &c2),
                        "{\"action\":\"U\",\"schema\":\"public\",\"table\":\"docs\",\"columns\":["
                        "{\"name\":\"id\",\"type\":\"integer\",\"value\":1},"
                        "{\"name\":\"title\",\"type\":\"text\",\"value\":\"y\"}],"
                        "\"identity\":[{\"name\":\"id\",\"type\":\"integer\",\"value\":1},"
                        "{\"name\":\"title\",\"type\":\"text\",\"value\":\"x\"},"
                        "{\"name\":\"meta\",\"type\":\"jsonb\",\"value\":null}]}");
}

static void test_old_key_only(void **state)
{
    /* Non-key columns of a key tuple arrive as NULLs on the wire; they are absent. */
    static const pgcdc__col old_key[] = {TXT("1"), NUL, NUL, NUL};
    static const pgcdc__col new_row[] = {TXT("2"), TXT("t"), NUL, TXT("{}")};
    pgcdc_change del = make_change(PGCDC_OP_DELETE, &docs_rel, old_key, 1, NULL);
    pgcdc_change upd = make_change(PGCDC_OP_UPDATE, &docs_rel, old_key, 1, new_row);

    (void)state;
    assert_string_equal(format_change(PGCDC_FORMAT_JSON, &del),
                        HEAD("DELETE", "docs") "\"pk\":[\"id\"],\"old\":{\"id\":1},\"new\":null}");
    assert_string_equal(format_change(PGCDC_FORMAT_WAL2JSON, &del),
                        "{\"action\":\"D\",\"schema\":\"public\",\"table\":\"docs\","
                        "\"identity\":[{\"name\":\"id\",\"type\":\"integer\",\"value\":1}]}");
    /* The key changed: old key plus the new row. */
    assert_string_equal(format_change(PGCDC_FORMAT_JSON, &upd),
                        HEAD("UPDATE", "docs") "\"pk\":[\"id\"],\"old\":{\"id\":1},"
                                               "\"new\":{\"id\":2,\"title\":\"t\",\"big\":null,"
                                               "\"meta\":{}}}");
    assert_string_equal(format_change(PGCDC_FORMAT_WAL2JSON, &upd),
                        "{\"action\":\"U\",\"schema\":\"public\",\"table\":\"docs\",\"columns\":["
                        "{\"name\":\"id\",\"type\":\"integer\",\"value\":2},"
                        "{\"name\":\"title\",\"type\":\"text\",\"value\":\"t\"},"
                        "{\"name\":\"big\",\"type\":\"text\",\"value\":null},"
                        "{\"name\":\"meta\",\"type\":\"jsonb\",\"value\":\"{}\"}],"
                        "\"identity\":[{\"name\":\"id\",\"type\":\"integer\",\"value\":1}]}");
}

static void test_replica_identity_full(void **state)
{
    static const pgcdc__col old1[] = {TXT("1"), TXT("a"), NUL};
    static const pgcdc__col new1[] = {TXT("1"), TXT("b"), TXT("NaN")};
    static const pgcdc__col old2[] = {TXT("1"), TXT("b"), TXT("2.5")};
    pgcdc_change upd = make_change(PGCDC_OP_UPDATE, &full_rel, old1, 0, new1);
    pgcdc_change del = make_change(PGCDC_OP_DELETE, &full_rel, old2, 0, NULL);

    (void)state;
    assert_string_equal(format_change(PGCDC_FORMAT_JSON, &upd),
                        HEAD("UPDATE", "full_t") "\"pk\":[\"id\"],"
                                                 "\"old\":{\"id\":1,\"v\":\"a\",\"x\":null},"
                                                 "\"new\":{\"id\":1,\"v\":\"b\",\"x\":\"NaN\"}}");
    assert_string_equal(format_change(PGCDC_FORMAT_WAL2JSON, &upd),
                        "{\"action\":\"U\",\"schema\":\"public\",\"table\":\"full_t\",\"columns\":["
                        "{\"name\":\"id\",\"type\":\"integer\",\"value\":1},"
                        "{\"name\":\"v\",\"type\":\"text\",\"value\":\"b\"},"
                        "{\"name\":\"x\",\"type\":\"double precision\",\"value\":null}],"
                        "\"identity\":[{\"name\":\"id\",\"type\":\"integer\",\"value\":1},"
                        "{\"name\":\"v\",\"type\":\"text\",\"value\":\"a\"},"
                        "{\"name\":\"x\",\"type\":\"double precision\",\"value\":null}]}");
    assert_string_equal(format_change(PGCDC_FORMAT_WAL2JSON, &del),
                        "{\"action\":\"D\",\"schema\":\"public\",\"table\":\"full_t\","
                        "\"identity\":[{\"name\":\"id\",\"type\":\"integer\",\"value\":1},"
                        "{\"name\":\"v\",\"type\":\"text\",\"value\":\"b\"},"
                        "{\"name\":\"x\",\"type\":\"double precision\",\"value\":2.5}]}");
}

static void test_truncate(void **state)
{
    static const char *const flags[4][2] = {
        {"false", "false"}, {"true", "false"}, {"false", "true"}, {"true", "true"}};

    (void)state;
    for (int i = 0; i < 4; i++) {
        pgcdc_change c = make_change(PGCDC_OP_TRUNCATE, &docs_rel, NULL, 0, NULL);
        char want[512];

        c.truncate_flags = i;
        snprintf(want, sizeof(want),
                 HEAD("TRUNCATE", "docs") "\"pk\":[\"id\"],\"old\":null,\"new\":null,"
                                          "\"cascade\":%s,\"restart_identity\":%s}",
                 flags[i][0], flags[i][1]);
        assert_string_equal(format_change(PGCDC_FORMAT_JSON, &c), want);
        assert_string_equal(format_change(PGCDC_FORMAT_WAL2JSON, &c),
                            "{\"action\":\"T\",\"schema\":\"public\",\"table\":\"docs\"}");
    }
}

static void test_names_and_types(void **state)
{
    static const pgcdc__col row[] = {TXT("happy"), TXT("x"), TXT("{sad}"), TXT("r")};
    pgcdc_change ins = make_change(PGCDC_OP_INSERT, &odd_rel, NULL, 0, row);
    pgcdc_change upd = make_change(PGCDC_OP_UPDATE, &odd_rel, NULL, 0, row);

    (void)state;
    assert_string_equal(format_change(PGCDC_FORMAT_JSON, &ins),
                        "{\"op\":\"INSERT\",\"schema\":\"sch\\\\ema\",\"table\":\"we\\\"ird\","
                        "\"xid\":771,\"commit_lsn\":\"0/1A2B3C8\",\"seq\":0,"
                        "\"commit_time\":\"2026-11-24T22:00:00.123456Z\","
                        "\"pk\":[\"k2\",\"k\\\"1\"],\"old\":null,"
                        "\"new\":{\"k\\\"1\":\"happy\",\"k2\":\"x\",\"c\\n\":\"{sad}\","
                        "\"raw\":\"r\"}}");
    /*
     * format_type() quotes names; wal2json writes a quoted name as is, which
     * reads as the bare name.  A quoted schema or an array of a quoted type
     * stays an escaped string.  An unknown type is null.
     */
    assert_string_equal(format_change(PGCDC_FORMAT_WAL2JSON, &upd),
                        "{\"action\":\"U\",\"schema\":\"sch\\\\ema\",\"table\":\"we\\\"ird\","
                        "\"columns\":[{\"name\":\"k\\\"1\",\"type\":\"Mood\",\"value\":\"happy\"},"
                        "{\"name\":\"k2\",\"type\":\"\\\"My Schema\\\".t\",\"value\":\"x\"},"
                        "{\"name\":\"c\\n\",\"type\":\"\\\"Mood\\\"[]\",\"value\":\"{sad}\"},"
                        "{\"name\":\"raw\",\"type\":null,\"value\":\"r\"}],"
                        "\"identity\":[{\"name\":\"k\\\"1\",\"type\":\"Mood\",\"value\":\"happy\"},"
                        "{\"name\":\"k2\",\"type\":\"\\\"My Schema\\\".t\",\"value\":\"x\"}]}");
}

static void test_commit_time_and_lsn(void **state)
{
    static const struct {
        int64_t us;
        const char *iso;
    } cases[] = {
        {0, "1970-01-01T00:00:00.000000Z"},
        {-1, "1969-12-31T23:59:59.999999Z"},
        {INT64_C(951782400000000), "2000-02-29T00:00:00.000000Z"},
        {INT64_C(951868799999999), "2000-02-29T23:59:59.999999Z"},
        {INT64_C(-62135596800000000), "0001-01-01T00:00:00.000000Z"},
        {INT64_C(253402300799999999), "9999-12-31T23:59:59.999999Z"},
        {INT64_C(1795557600123456), "2026-11-24T22:00:00.123456Z"},
    };
    pgcdc_change c = make_change(PGCDC_OP_TRUNCATE, &docs_rel, NULL, 0, NULL);
    pgcdc_txn saved = txn;

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char want[64];

        txn.commit_time = cases[i].us;
        snprintf(want, sizeof(want), "\"commit_time\":\"%s\"", cases[i].iso);
        assert_non_null(strstr(format_change(PGCDC_FORMAT_JSON, &c), want));
    }
    txn.commit_lsn = 0;
    txn.xid = 0;
    assert_non_null(
        strstr(format_change(PGCDC_FORMAT_JSON, &c), "\"xid\":0,\"commit_lsn\":\"0/0\""));
    txn.commit_lsn = UINT64_C(0xFFFFFFFF00000001);
    txn.xid = UINT32_MAX;
    assert_non_null(strstr(format_change(PGCDC_FORMAT_JSON, &c),
                           "\"xid\":4294967295,\"commit_lsn\":\"FFFFFFFF/1\""));
    txn = saved;
}

/* A large value grows the buffer; after that the same buffer serves every change. */
static void test_buffer_reuse(void **state)
{
    static const pgcdc_format formats[] = {PGCDC_FORMAT_JSON, PGCDC_FORMAT_DEBEZIUM,
                                           PGCDC_FORMAT_WAL2JSON};
    size_t big_len = 1 << 20;
    char *big = malloc(big_len + 1);
    pgcdc__col big_row[4] = {TXT("1"), TXT("t"), {NULL, 0, PGCDC_COL_TEXT}, NUL};
    static const pgcdc__col nums_row[] = {TXT("1"), TXT("NaN"), TXT("1.5"), TXT("-0")};
    pgcdc_change warm;
    pgcdc_change many[3];

    (void)state;
    assert_non_null(big);
    for (size_t i = 0; i < big_len; i++)
        big[i] = "ab\n\"\xc3\xa9\xff"[i % 7];
    big[big_len] = '\0';
    big_row[2].data = big;
    big_row[2].len = (uint32_t)big_len;
    warm = make_change(PGCDC_OP_INSERT, &docs_rel, NULL, 0, big_row);
    many[0] = make_change(PGCDC_OP_INSERT, &types_rel, NULL, 0, types_row);
    many[1] = make_change(PGCDC_OP_INSERT, &nums_rel, NULL, 0, nums_row);
    many[2] = make_change(PGCDC_OP_TRUNCATE, &docs_rel, NULL, 0, NULL);
    for (size_t k = 0; k < 3; k++) {
        pgcdc_formatter *f = pgcdc_formatter_new(formats[k], "db");
        const char *out;
        const char *first;
        size_t len;

        assert_non_null(f);
        assert_int_equal(pgcdc_formatter_change(f, &warm, &out, &len), PGCDC_OK);
        check_lines(out, len, 0);
        assert_true(len > big_len);
        first = out;
        for (int n = 0; n < 3000; n++) {
            assert_int_equal(pgcdc_formatter_change(f, &many[n % 3], &out, &len), PGCDC_OK);
            assert_ptr_equal(out, first);
            assert_int_equal(pgcdc_formatter_begin(f, &txn, &out, &len), PGCDC_OK);
            assert_ptr_equal(out, first);
        }
        pgcdc_formatter_free(f);
    }
    free(big);
}

static pgcdc__relation *const all_rels[] = {&types_rel, &nums_rel, &docs_rel, &full_rel,
                                            &str_rel,   &odd_rel,  &js_rel};

/* The fixtures' columns get what the type table says of their types, as relcache gives them. */
static int setup_types(void **state)
{
    (void)state;
    for (size_t r = 0; r < sizeof(all_rels) / sizeof(all_rels[0]); r++) {
        for (int i = 0; i < all_rels[r]->ncols; i++)
            pgcdc__relcol_set_type(&all_rels[r]->cols[i], all_rels[r]->cols[i].type_oid);
    }
    return 0;
}

/* The names the formatters cached on the relations. */
static int free_caches(void **state)
{
    (void)state;
    for (size_t r = 0; r < sizeof(all_rels) / sizeof(all_rels[0]); r++) {
        free(all_rels[r]->fmt_cache);
        free(all_rels[r]->fmt_extra);
        all_rels[r]->fmt_cache = NULL;
        all_rels[r]->fmt_extra = NULL;
    }
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_and_free),        cmocka_unit_test(test_begin_commit),
        cmocka_unit_test(test_native_types),          cmocka_unit_test(test_wal2json_types),
        cmocka_unit_test(test_special_numbers),       cmocka_unit_test(test_strings),
        cmocka_unit_test(test_string_runs),           cmocka_unit_test(test_json_embed),
        cmocka_unit_test(test_unchanged_toast),       cmocka_unit_test(test_old_key_only),
        cmocka_unit_test(test_replica_identity_full), cmocka_unit_test(test_truncate),
        cmocka_unit_test(test_names_and_types),       cmocka_unit_test(test_commit_time_and_lsn),
        cmocka_unit_test(test_buffer_reuse),
    };

    return cmocka_run_group_tests(tests, setup_types, free_caches);
}
