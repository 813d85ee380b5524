/*
 * Unit tests for the Debezium format: the envelope and source block of each
 * change (its own LSN, sequence, txId, times), the transaction metadata, the
 * encoding of each type against values worked out by hand, the decimal,
 * binary, interval and hstore modes, unchanged TOAST, the schema block, the
 * options, and the transaction assembly fields the format reads, from
 * pgoutput bytes.
 */
#include <jansson.h>
#include <time.h>

#include "txn_harness.h"

#include "format/format.h"
#include "../json_check.h"
#include "column_values.h"

#define S(lit) ((char *)(lit))
#define REL(relid_, schema_, name_, ncols_, cols_, nkeys_, keys_)                                  \
    {                                                                                              \
        .relid = (relid_), .schema = (schema_), .name = (name_), .replident = 'd',                 \
        .ncols = (ncols_), .cols = (cols_), .nkeys = (nkeys_), .keys = (keys_), .npk = -1,         \
        .wanted = 1                                                                                \
    }
/* A column: name, format_type() name, type, modifier, NOT NULL (1, 0, -1 unknown), key. */
#define COL(name_, type_name_, oid_, typmod_, not_null_, key_)                                     \
    {                                                                                              \
        .name = (name_), .type_name = (type_name_), .type_oid = (oid_), .sent_oid = (oid_),        \
        .typmod = (typmod_), .not_null = (not_null_), .is_key = (key_), .is_ident = (key_)         \
    }
/* A numeric modifier: ((precision << 16) | scale) + VARHDRSZ. */
#define NUMERIC_MOD(p, s) (((p) << 16 | (s)) + 4)

#define PLACEHOLDER "__debezium_unavailable_value"

static pgcdc_txn txn = {
    .xid = 771,
    .commit_lsn = 0x1A2B3C8,
    .end_lsn = 0x1A2B400,
    .commit_time = INT64_C(1795557600123456), /* 2026-11-24 22:00:00.123456 UTC */
    .nchanges = 3,
    .token = 1,
    .prev_end_lsn = 0x1A2B000,
    .begin_lsn = 0x1A2B080,
};

/* ---- fixtures ---- */

static int id_key[] = {0};

static pgcdc__relcol_info a_cols[] = {
    COL(S("id"), S("integer"), PGCDC_OID_INT4, -1, 1, 1),
    COL(S("v"), S("text"), PGCDC_OID_TEXT, -1, 0, 0),
};
static pgcdc__relation a_rel = REL(2001, S("public"), S("a"), 2, a_cols, 1, id_key);
static pgcdc__relcol_info b_cols[] = {
    COL(S("id"), S("integer"), PGCDC_OID_INT4, -1, 1, 1),
};
static pgcdc__relation b_rel = REL(2002, S("public"), S("b"), 1, b_cols, 1, id_key);

enum { MOOD_OID = 16390, HSTORE_OID = 16500, OID_BIT = 1560, OID_MONEY = 790 };

static pgcdc__relcol_info t_cols[] = {
    COL(S("id"), S("integer"), PGCDC_OID_INT4, -1, 1, 1),
    COL(S("n"), S("numeric(10,2)"), PGCDC_OID_NUMERIC, NUMERIC_MOD(10, 2), 0, 0),
    COL(S("nv"), S("numeric"), PGCDC_OID_NUMERIC, -1, 0, 0),
    COL(S("nb"), S("numeric(30,0)"), PGCDC_OID_NUMERIC, NUMERIC_MOD(30, 0), 0, 0),
    COL(S("m"), S("money"), OID_MONEY, -1, 0, 0),
    COL(S("bin"), S("bytea"), PGCDC_OID_BYTEA, -1, 0, 0),
    COL(S("d"), S("date"), PGCDC_OID_DATE, -1, 0, 0),
    COL(S("dbc"), S("date"), PGCDC_OID_DATE, -1, 0, 0),
    COL(S("t"), S("time without time zone"), PGCDC_OID_TIME, -1, 0, 0),
    COL(S("t3"), S("time(3) without time zone"), PGCDC_OID_TIME, 3, 0, 0),
    COL(S("tz"), S("time with time zone"), PGCDC_OID_TIMETZ, -1, 0, 0),
    COL(S("ts"), S("timestamp without time zone"), PGCDC_OID_TIMESTAMP, -1, 0, 0),
    COL(S("ts3"), S("timestamp(3) without time zone"), PGCDC_OID_TIMESTAMP, 3, 0, 0),
    COL(S("tstz"), S("timestamp with time zone"), PGCDC_OID_TIMESTAMPTZ, -1, 1, 0),
    COL(S("tstz0"), S("timestamp(0) with time zone"), PGCDC_OID_TIMESTAMPTZ, 0, 0, 0),
    COL(S("iv"), S("interval"), PGCDC_OID_INTERVAL, -1, 0, 0),
    COL(S("bit1"), S("bit(1)"), OID_BIT, 1, 0, 0),
    COL(S("bits"), S("bit(11)"), OID_BIT, 11, 0, 0),
    COL(S("hs"), S("hstore"), HSTORE_OID, -1, 0, 0),
    COL(S("ia"), S("integer[]"), 1007, -1, 0, 0),
    COL(S("ta"), S("text[]"), 1009, -1, 0, 0),
    COL(S("na"), S("numeric(5,2)[]"), 1231, NUMERIC_MOD(5, 2), 0, 0),
    COL(S("da"), S("date[]"), 1182, -1, 0, 0),
    COL(S("j"), S("json"), PGCDC_OID_JSON, -1, 0, 0),
    COL(S("u"), S("uuid"), PGCDC_OID_UUID, -1, 0, 0),
    COL(S("e"), S("mood"), MOOD_OID, -1, 0, 0),
    COL(S("f8"), S("double precision"), PGCDC_OID_FLOAT8, -1, 0, 0),
    COL(S("b"), S("boolean"), PGCDC_OID_BOOL, -1, 0, 0),
    COL(S("nul"), S("text"), PGCDC_OID_TEXT, -1, -1, 0),
};
enum { NT = sizeof(t_cols) / sizeof(t_cols[0]) };
static pgcdc__relation t_rel = REL(2003, S("public"), S("types"), NT, t_cols, 1, id_key);
static const pgcdc__col t_row[NT] = {
    TXT("1"),
    TXT("-1234.50"),
    TXT("12.3400"),
    TXT("123456789012345678901234567890"),
    TXT("-$1,234.56"),
    TXT("\\x0001ff00"),
    TXT("2026-11-24"),
    TXT("0044-03-15 BC"),
    TXT("12:34:56.789012"),
    TXT("12:34:56.789"),
    TXT("12:34:56.5+02"),
    TXT("2026-11-24 22:00:00.123456"),
    TXT("2026-11-24 22:00:00.123"),
    TXT("2026-11-24 22:00:00.1+00"),
    TXT("2026-11-24 23:00:00+01"),
    TXT("1 year 2 mons 3 days 04:05:06.5"),
    TXT("1"),
    TXT("10000000101"),
    TXT("\"a\"=>\"1\", \"b c\"=>NULL, \"q\\\"\"=>\"x\\\\y\""),
    TXT("{1,NULL,3}"),
    TXT("{a,\"b c\",NULL,\"q\\\"x\"}"),
    TXT("{1.50,-2.00}"),
    TXT("{2026-11-24,infinity}"),
    TXT("{\"a\": [1, 2]}"),
    TXT("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"),
    TXT("happy"),
    TXT("NaN"),
    TXT("t"),
    NUL,
};

static pgcdc__relation *const all_rels[] = {&a_rel, &b_rel, &t_rel};

static pgcdc_change make_change(pgcdc_op op, const pgcdc__relation *rel, const pgcdc__col *old_cols,
                                int key_only, const pgcdc__col *new_cols, uint64_t lsn,
                                uint32_t seq)
{
    pgcdc_change c;

    memset(&c, 0, sizeof(c));
    c.op = op;
    c.rel = rel;
    c.txn = &txn;
    c.lsn = lsn;
    c.seq = seq;
    if (old_cols != NULL) {
        c.has_old = 1;
        c.old_row.rel = rel;
        c.old_row.cols = (pgcdc__col *)old_cols;
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

/* A Debezium formatter with options: name, value, ..., NULL. */
static pgcdc_formatter *fmt_new(const char *const *opts)
{
    pgcdc_formatter *f = pgcdc_formatter_new(PGCDC_FORMAT_DEBEZIUM, "shop");

    assert_non_null(f);
    for (size_t i = 0; opts != NULL && opts[i] != NULL; i += 2) {
        if (pgcdc_formatter_set(f, opts[i], opts[i + 1]) != PGCDC_OK)
            fail_msg("option %s=%s refused", opts[i], opts[i + 1]);
    }
    return f;
}

/* One change formatted: its line parsed. */
static json_t *format_doc(pgcdc_formatter *f, const pgcdc_change *c)
{
    const char *out;
    size_t len;

    assert_int_equal(pgcdc_formatter_change(f, c, &out, &len), PGCDC_OK);
    return json_line(out, len);
}

/*
 * One change's line (newline stripped), the processing times replaced by
 * NOW once checked: ts_ms, ts_us and ts_ns of the same instant, near now.
 */
static const char *format_text(pgcdc_formatter *f, const pgcdc_change *c)
{
    static char result[16384];
    static const char *const keys[3] = {"\"ts_ms\":", "\"ts_us\":", "\"ts_ns\":"};
    const char *out;
    size_t len;
    char *p;
    long long v[3];

    assert_int_equal(pgcdc_formatter_change(f, c, &out, &len), PGCDC_OK);
    json_decref(json_line(out, len));
    assert_true(len < sizeof(result));
    memcpy(result, out, len - 1);
    result[len - 1] = '\0';
    p = strstr(result, ",\"op\":\"");
    assert_non_null(p);
    for (int k = 0; k < 3; k++) {
        char *digits;
        size_t n;

        p = strstr(p, keys[k]);
        assert_non_null(p);
        digits = p + strlen(keys[k]);
        n = strspn(digits, "0123456789");
        assert_true(n >= 13);
        v[k] = strtoll(digits, NULL, 10);
        memmove(digits + 3, digits + n, strlen(digits + n) + 1);
        memcpy(digits, "NOW", 3);
    }
    assert_true(v[1] / 1000 == v[0]);
    assert_true(v[2] / 1000 == v[1]);
    assert_true(llabs(v[0] / 1000 - (long long)time(NULL)) < 600);
    return result;
}

static json_t *path(json_t *doc, const char *a, const char *b)
{
    json_t *v = json_object_get(doc, a);

    return b != NULL ? json_object_get(v, b) : v;
}

/* ---- the envelope and the source block ---- */

static void test_envelope(void **state)
{
    static const pgcdc__col row[] = {TXT("1"), TXT("x")};
    static const pgcdc__col key[] = {TXT("1"), NUL};
    pgcdc_formatter *f = fmt_new(NULL);
    pgcdc_change ins = make_change(PGCDC_OP_INSERT, &a_rel, NULL, 0, row, 0x1A2B100, 0);
    pgcdc_change del = make_change(PGCDC_OP_DELETE, &a_rel, key, 1, NULL, 0x1A2B200, 1);
    pgcdc_change tru = make_change(PGCDC_OP_TRUNCATE, &a_rel, NULL, 0, NULL, 0x1A2B300, 2);

    (void)state;
    /* Debezium's field order; the change's own LSN; the last commit's end LSN in the sequence. */
    assert_string_equal(
        format_text(f, &ins),
        "{\"before\":null,\"after\":{\"id\":1,\"v\":\"x\"},\"source\":{\"version\":"
        "\"" PGCDC_VERSION_STRING
        "\",\"connector\":\"postgresql\",\"name\":\"pgcdc\",\"ts_ms\":1795557600123,"
        "\"snapshot\":\"false\",\"db\":\"shop\",\"sequence\":\"[\\\"27439104\\\",\\\"27439360\\\"]"
        "\","
        "\"ts_us\":1795557600123456,\"ts_ns\":1795557600123456000,\"schema\":\"public\","
        "\"table\":\"a\",\"txId\":771,\"lsn\":27439360,\"xmin\":null,\"origin\":null,"
        "\"origin_lsn\":null},\"transaction\":null,\"op\":\"c\",\"ts_ms\":NOW,\"ts_us\":NOW,"
        "\"ts_ns\":NOW}");
    /* An old key: every column, the absent ones null. */
    assert_non_null(strstr(format_text(f, &del),
                           "{\"before\":{\"id\":1,\"v\":null},\"after\":null,\"source\":{"));
    assert_non_null(strstr(format_text(f, &del), "\"lsn\":27439616,"));
    assert_non_null(strstr(format_text(f, &tru), "{\"before\":null,\"after\":null,\"source\":{"));
    assert_non_null(strstr(format_text(f, &tru), ",\"op\":\"t\","));
    pgcdc_formatter_free(f);
}

/* Within one transaction each change has its own lsn and sequence; txId and ts_ms are shared. */
static void test_sequence_per_change(void **state)
{
    static const pgcdc__col row[] = {TXT("1"), TXT("x")};
    static const pgcdc__col brow[] = {TXT("7")};
    pgcdc_formatter *f = fmt_new(NULL);
    pgcdc_change c[3] = {
        make_change(PGCDC_OP_INSERT, &a_rel, NULL, 0, row, 0x1A2B100, 0),
        make_change(PGCDC_OP_INSERT, &b_rel, NULL, 0, brow, 0x1A2B180, 1),
        make_change(PGCDC_OP_UPDATE, &a_rel, NULL, 0, row, 0x1A2B200, 2),
    };
    static const char *const seqs[3] = {"[\"27439104\",\"27439360\"]",
                                        "[\"27439104\",\"27439488\"]",
                                        "[\"27439104\",\"27439616\"]"};
    static const double lsns[3] = {27439360, 27439488, 27439616};
    pgcdc_txn saved = txn;

    (void)state;
    for (int i = 0; i < 3; i++) {
        json_t *doc = format_doc(f, &c[i]);
        json_t *src = json_object_get(doc, "source");

        assert_string_equal(json_string_value(json_object_get(src, "sequence")), seqs[i]);
        assert_true(json_number_value(json_object_get(src, "lsn")) == lsns[i]);
        assert_true(json_number_value(json_object_get(src, "txId")) == 771);
        assert_true(json_number_value(json_object_get(src, "ts_ms")) == 1795557600123.0);
        assert_string_equal(json_string_value(json_object_get(src, "snapshot")), "false");
        assert_json(json_object_get(doc, "transaction"), "null");
        json_decref(doc);
    }
    /* No commit received before (the first transaction after the start): null. */
    txn.prev_end_lsn = 0;
    txn.token = 2;
    {
        json_t *doc = format_doc(f, &c[0]);

        assert_string_equal(json_string_value(path(doc, "source", "sequence")),
                            "[null,\"27439360\"]");
        json_decref(doc);
    }
    txn = saved;
    pgcdc_formatter_free(f);
}

/* Commit times in ms round down, like Instant.toEpochMilli; LSNs and xids to their ends. */
static void test_commit_times_and_extremes(void **state)
{
    static const struct {
        int64_t us;
        const char *want;
    } cases[] = {
        {0, "\"ts_ms\":0,\"snapshot\""},
        {-1, "\"ts_ms\":-1,\"snapshot\""},
        {INT64_C(951868799999999), "\"ts_ms\":951868799999,\"snapshot\""},
        {INT64_C(-62135596800000001), "\"ts_ms\":-62135596800001,\"snapshot\""},
    };
    static const pgcdc__col row[] = {TXT("1"), TXT("x")};
    pgcdc_formatter *f = fmt_new(NULL);
    pgcdc_change c = make_change(PGCDC_OP_INSERT, &a_rel, NULL, 0, row, 0x1A2B100, 0);
    pgcdc_txn saved = txn;
    const char *out;
    size_t len;

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char want[64];

        txn.commit_time = cases[i].us;
        txn.token++;
        assert_int_equal(pgcdc_formatter_change(f, &c, &out, &len), PGCDC_OK);
        assert_non_null(strstr(out, cases[i].want));
        snprintf(want, sizeof(want), "\"ts_us\":%lld,", (long long)cases[i].us);
        assert_non_null(strstr(out, want));
    }
    txn.xid = UINT32_MAX;
    txn.prev_end_lsn = UINT64_C(0xFFFFFFFF00000000);
    txn.token++;
    c.lsn = UINT64_C(0xFFFFFFFF00000001);
    assert_int_equal(pgcdc_formatter_change(f, &c, &out, &len), PGCDC_OK);
    assert_non_null(strstr(out, "\"sequence\":\"[\\\"18446744069414584320\\\","
                                "\\\"18446744069414584321\\\"]\""));
    assert_non_null(strstr(out, "\"txId\":4294967295,\"lsn\":18446744069414584321,"));
    txn = saved;
    pgcdc_formatter_free(f);
}

/* ---- transaction metadata ---- */

static void test_transaction_metadata(void **state)
{
    static const char *const on[] = {"provide.transaction.metadata", "true", NULL};
    static const pgcdc__col row[] = {TXT("1"), TXT("x")};
    static const pgcdc__col brow[] = {TXT("7")};
    pgcdc_formatter *f = fmt_new(on);
    pgcdc_formatter *off = fmt_new(NULL);
    pgcdc_change c[3] = {
        make_change(PGCDC_OP_INSERT, &a_rel, NULL, 0, row, 0x1A2B100, 0),
        make_change(PGCDC_OP_INSERT, &b_rel, NULL, 0, brow, 0x1A2B180, 1),
        make_change(PGCDC_OP_UPDATE, &a_rel, NULL, 0, row, 0x1A2B200, 2),
    };
    static const char *const blocks[3] = {
        "{\"id\":\"771:27439360\",\"total_order\":1,\"data_collection_order\":1}",
        "{\"id\":\"771:27439488\",\"total_order\":2,\"data_collection_order\":1}",
        "{\"id\":\"771:27439616\",\"total_order\":3,\"data_collection_order\":2}"};
    const char *out;
    size_t len;
    json_t *doc;
    pgcdc_txn saved = txn;

    (void)state;
    assert_int_equal(pgcdc_formatter_begin(f, &txn, &out, &len), PGCDC_OK);
    assert_string_equal(out, "{\"status\":\"BEGIN\",\"id\":\"771:27439232\",\"event_count\":null,"
                             "\"data_collections\":null,\"ts_ms\":1795557600123}\n");
    for (int i = 0; i < 3; i++) {
        doc = format_doc(f, &c[i]);
        assert_json(json_object_get(doc, "transaction"), blocks[i]);
        json_decref(doc);
    }
    /* The same change formatted again keeps its place. */
    doc = format_doc(f, &c[2]);
    assert_json(json_object_get(doc, "transaction"), blocks[2]);
    json_decref(doc);
    assert_int_equal(pgcdc_formatter_commit(f, &txn, &out, &len), PGCDC_OK);
    assert_string_equal(out, "{\"status\":\"END\",\"id\":\"771:27440128\",\"event_count\":3,"
                             "\"data_collections\":[{\"data_collection\":\"public.a\","
                             "\"event_count\":2},{\"data_collection\":\"public.b\","
                             "\"event_count\":1}],\"ts_ms\":1795557600123}\n");
    /* The next transaction counts from 1 again. */
    txn.commit_lsn += 0x1000;
    txn.xid++;
    txn.token++;
    doc = format_doc(f, &c[2]);
    assert_json(json_object_get(doc, "transaction"),
                "{\"id\":\"772:27439616\",\"total_order\":3,\"data_collection_order\":1}");
    json_decref(doc);
    txn = saved;

    /* Without the option: no BEGIN or END, and a null block. */
    assert_int_equal(pgcdc_formatter_begin(off, &txn, &out, &len), PGCDC_OK);
    assert_int_equal(len, 0);
    assert_int_equal(pgcdc_formatter_commit(off, &txn, &out, &len), PGCDC_OK);
    assert_int_equal(len, 0);
    doc = format_doc(off, &c[1]);
    assert_json(json_object_get(doc, "transaction"), "null");
    json_decref(doc);
    pgcdc_formatter_free(f);
    pgcdc_formatter_free(off);
}

/* ---- values ---- */

/* The after row of the types fixture, with these options. */
static json_t *types_after(const char *const *opts, const pgcdc__col *row)
{
    pgcdc_formatter *f = fmt_new(opts);
    pgcdc_change c = make_change(PGCDC_OP_INSERT, &t_rel, NULL, 0, row, 0x1A2B100, 0);
    json_t *doc = format_doc(f, &c);
    json_t *after = json_incref(json_object_get(doc, "after"));

    json_decref(doc);
    pgcdc_formatter_free(f);
    assert_non_null(after);
    return after;
}

static void test_types(void **state)
{
    json_t *a = types_after(NULL, t_row);

    (void)state;
    assert_int_equal(json_object_size(a), NT);
    assert_json(json_object_get(a, "id"), "1");
    /* Decimal: base64 of the unscaled value's two's complement, -123450 = fe 1d c6. */
    assert_json(json_object_get(a, "n"), "\"/h3G\"");
    /* No declared scale: trailing zeros dropped, 1234 at scale 2. */
    assert_json(json_object_get(a, "nv"), "{\"scale\":2,\"value\":\"BNI=\"}");
    assert_json(json_object_get(a, "nb"), "\"AY7pD/bDc+DuTj8K0g==\"");
    /* money: -123456 at scale 2. */
    assert_json(json_object_get(a, "m"), "\"/h3A\"");
    assert_json(json_object_get(a, "bin"), "\"AAH/AA==\"");
    /* Days since 1970-01-01 (2026-11-24; 44 BC is year -43). */
    assert_json(json_object_get(a, "d"), "20781");
    assert_json(json_object_get(a, "dbc"), "-735160");
    /* Past midnight: µs by default, ms for precision 3. */
    assert_json(json_object_get(a, "t"), "45296789012");
    assert_json(json_object_get(a, "t3"), "45296789");
    assert_json(json_object_get(a, "tz"), "\"10:34:56.5Z\"");
    /* Since the epoch: µs, and ms for precision 3. */
    assert_json(json_object_get(a, "ts"), "1795557600123456");
    assert_json(json_object_get(a, "ts3"), "1795557600123");
    /* In UTC with the column's digits (6 without a modifier). */
    assert_json(json_object_get(a, "tstz"), "\"2026-11-24T22:00:00.100000Z\"");
    assert_json(json_object_get(a, "tstz0"), "\"2026-11-24T22:00:00Z\"");
    /* ((14 * 30.4375 + 3) days, 4 h 5 min 6.5 s) in µs. */
    assert_json(json_object_get(a, "iv"), "37091106500000");
    assert_json(json_object_get(a, "bit1"), "true");
    /* 0b10000000101 = 0x405, little-endian: 05 04. */
    assert_json(json_object_get(a, "bits"), "\"BQQ=\"");
    assert_json(json_object_get(a, "hs"), "\"{\\\"a\\\":\\\"1\\\",\\\"b c\\\":null,"
                                          "\\\"q\\\\\\\"\\\":\\\"x\\\\\\\\y\\\"}\"");
    assert_json(json_object_get(a, "ia"), "[1,null,3]");
    assert_json(json_object_get(a, "ta"), "[\"a\",\"b c\",null,\"q\\\"x\"]");
    assert_json(json_object_get(a, "na"), "[\"AJY=\",\"/zg=\"]");
    assert_json(json_object_get(a, "da"), "[20781,-2147472692]");
    assert_json(json_object_get(a, "j"), "\"{\\\"a\\\": [1, 2]}\"");
    assert_json(json_object_get(a, "u"), "\"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11\"");
    assert_json(json_object_get(a, "e"), "\"happy\"");
    assert_json(json_object_get(a, "f8"), "\"NaN\"");
    assert_json(json_object_get(a, "b"), "true");
    assert_json(json_object_get(a, "nul"), "null");
    json_decref(a);
}

static void test_special_values(void **state)
{
    pgcdc__col row[NT];
    json_t *a;

    (void)state;
    memcpy(row, t_row, sizeof(row));
    row[1] = (pgcdc__col)TXT("0.00");
    row[2] = (pgcdc__col)TXT("-100");
    row[3] = (pgcdc__col)TXT("-128");
    row[6] = (pgcdc__col)TXT("infinity");
    row[7] = (pgcdc__col)TXT("-infinity");
    row[8] = (pgcdc__col)TXT("24:00:00");
    row[10] = (pgcdc__col)TXT("01:00:00-03:30");
    row[11] = (pgcdc__col)TXT("infinity");
    row[12] = (pgcdc__col)TXT("-infinity");
    row[13] = (pgcdc__col)TXT("-infinity");
    row[14] = (pgcdc__col)TXT("10000-01-01 00:00:00+00");
    row[15] = (pgcdc__col)TXT("-1 years -2 mons +3 days -04:05:06.25");
    row[16] = (pgcdc__col)TXT("0");
    row[17] = (pgcdc__col)TXT("00000000000");
    row[19] = (pgcdc__col)TXT("[0:1]={{1,2},{3,4}}");
    a = types_after(NULL, row);
    assert_json(json_object_get(a, "n"), "\"AA==\"");
    assert_json(json_object_get(a, "nv"), "{\"scale\":0,\"value\":\"nA==\"}");
    assert_json(json_object_get(a, "nb"), "\"gA==\"");
    /* The infinities as the connector's Java types turn them. */
    assert_json(json_object_get(a, "d"), "-2147472692");
    assert_json(json_object_get(a, "dbc"), "-2147472691");
    assert_json(json_object_get(a, "t"), "86400000000");
    assert_json(json_object_get(a, "tz"), "\"04:30:00Z\"");
    assert_json(json_object_get(a, "ts"), "9223372036825200000");
    assert_json(json_object_get(a, "ts3"), "-9223372036832400");
    assert_json(json_object_get(a, "tstz"), "\"-infinity\"");
    assert_json(json_object_get(a, "tstz0"), "\"+10000-01-01T00:00:00Z\"");
    /* (-14 * 30.4375 + 3) days, -4 h -5 min -6.25 s. */
    assert_json(json_object_get(a, "iv"), "-36572706250000");
    assert_json(json_object_get(a, "bit1"), "false");
    assert_json(json_object_get(a, "bits"), "\"\"");
    assert_json(json_object_get(a, "ia"), "[[1,2],[3,4]]");
    json_decref(a);
}

static void test_decimal_modes(void **state)
{
    static const char *const as_string[] = {"decimal.handling.mode", "string", NULL};
    static const char *const as_double[] = {"decimal.handling.mode", "DOUBLE", NULL};
    pgcdc__col special[NT];
    json_t *a;

    (void)state;
    a = types_after(as_string, t_row);
    assert_json(json_object_get(a, "n"), "\"-1234.50\"");
    assert_json(json_object_get(a, "nv"), "\"12.3400\"");
    assert_json(json_object_get(a, "nb"), "\"123456789012345678901234567890\"");
    assert_json(json_object_get(a, "m"), "\"-1234.56\"");
    assert_json(json_object_get(a, "na"), "[\"1.50\",\"-2.00\"]");
    json_decref(a);
    a = types_after(as_double, t_row);
    assert_json(json_object_get(a, "n"), "-1234.5");
    assert_json(json_object_get(a, "nv"), "12.34");
    assert_json(json_object_get(a, "nb"), "1.2345678901234568e+29");
    assert_json(json_object_get(a, "m"), "-1234.56");
    assert_json(json_object_get(a, "na"), "[1.5,-2]");
    json_decref(a);
    /* NaN and the infinities: SpecialValueDecimal's names as strings, Jackson's as doubles. */
    memcpy(special, t_row, sizeof(special));
    special[1] = (pgcdc__col)TXT("NaN");
    special[2] = (pgcdc__col)TXT("Infinity");
    special[3] = (pgcdc__col)TXT("-Infinity");
    a = types_after(as_string, special);
    assert_json(json_object_get(a, "n"), "\"NAN\"");
    assert_json(json_object_get(a, "nv"), "\"POSITIVE_INFINITY\"");
    assert_json(json_object_get(a, "nb"), "\"NEGATIVE_INFINITY\"");
    json_decref(a);
    a = types_after(as_double, special);
    assert_json(json_object_get(a, "n"), "\"NaN\"");
    assert_json(json_object_get(a, "nv"), "\"Infinity\"");
    assert_json(json_object_get(a, "nb"), "\"-Infinity\"");
    json_decref(a);
    /* Precise cannot carry them (Debezium stops): the server's spelling. */
    a = types_after(NULL, special);
    assert_json(json_object_get(a, "n"), "\"NaN\"");
    json_decref(a);
}

static void test_other_modes(void **state)
{
    static const char *const b64[] = {"binary.handling.mode", "base64", NULL};
    static const char *const url[] = {"binary.handling.mode", "base64-url-safe", NULL};
    static const char *const hex[] = {"binary.handling.mode", "hex", NULL};
    static const char *const iso[] = {"interval.handling.mode", "string", NULL};
    static const char *const map[] = {"hstore.handling.mode", "map", NULL};
    pgcdc__col row[NT];
    json_t *a;

    (void)state;
    a = types_after(b64, t_row);
    assert_json(json_object_get(a, "bin"), "\"AAH/AA==\"");
    json_decref(a);
    a = types_after(url, t_row);
    assert_json(json_object_get(a, "bin"), "\"AAH_AA==\"");
    json_decref(a);
    a = types_after(hex, t_row);
    assert_json(json_object_get(a, "bin"), "\"0001ff00\"");
    json_decref(a);
    a = types_after(iso, t_row);
    assert_json(json_object_get(a, "iv"), "\"P1Y2M3DT4H5M6.5S\"");
    json_decref(a);
    memcpy(row, t_row, sizeof(row));
    row[15] = (pgcdc__col)TXT("-1 years -2 mons +3 days -04:05:06.25");
    a = types_after(iso, row);
    assert_json(json_object_get(a, "iv"), "\"P-1Y-2M3DT-4H-5M-6.25S\"");
    json_decref(a);
    row[15] = (pgcdc__col)TXT("00:00:00");
    a = types_after(iso, row);
    assert_json(json_object_get(a, "iv"), "\"P0Y0M0DT0H0M0S\"");
    json_decref(a);
    a = types_after(map, t_row);
    assert_json(json_object_get(a, "hs"), "{\"a\":\"1\",\"b c\":null,\"q\\\"\":\"x\\\\y\"}");
    json_decref(a);
}

/* Dates and timestamps in binary (days and µs since 2000-01-01) read as their text reads. */
static void test_binary_values(void **state)
{
    static const uint8_t date[4] = {0x00, 0x00, 0x27, 0x10};              /* 10000 days */
    static const uint8_t noend[4] = {0x7f, 0xff, 0xff, 0xff};             /* infinity */
    static const uint8_t ts[8] = {0, 0, 0, 0x02, 0x54, 0x0b, 0xe4, 0x00}; /* 10000 s */
    static const uint8_t tsneg[8] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}; /* -1 µs */
    static const uint8_t tsinf[8] = {0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    /* 294276-12-31 23:59:59.999999, PostgreSQL's last: past what Unix µs in an int64 hold. */
    static const uint8_t tslast[8] = {0x7f, 0xff, 0xff, 0x5b, 0xb3, 0xb2, 0x9f, 0xff};
    pgcdc_formatter *f = fmt_new(NULL);
    pgcdc__col row[NT];
    pgcdc__buf texts;
    pgcdc_change c;
    json_t *a, *doc;

    (void)state;
    memcpy(row, t_row, sizeof(row));
    row[6] = (pgcdc__col){(const char *)date, 4, PGCDC_COL_BINARY};
    row[7] = (pgcdc__col){(const char *)noend, 4, PGCDC_COL_BINARY};
    row[11] = (pgcdc__col){(const char *)ts, 8, PGCDC_COL_BINARY};
    row[12] = (pgcdc__col){(const char *)tsneg, 8, PGCDC_COL_BINARY};
    row[13] = (pgcdc__col){(const char *)tsneg, 8, PGCDC_COL_BINARY};
    row[14] = (pgcdc__col){(const char *)tsinf, 8, PGCDC_COL_BINARY};
    a = types_after(NULL, row);
    assert_json(json_object_get(a, "d"), "20957");
    assert_json(json_object_get(a, "dbc"), "-2147472692");
    assert_json(json_object_get(a, "ts"), "946694800000000");
    /* ms round down: 1999-12-31 23:59:59.999999. */
    assert_json(json_object_get(a, "ts3"), "946684799999");
    assert_json(json_object_get(a, "tstz"), "\"1999-12-31T23:59:59.999999Z\"");
    assert_json(json_object_get(a, "tstz0"), "\"infinity\"");
    json_decref(a);
    /* As the text of the same timestamp reads (the change's text arena holds it). */
    row[11] = (pgcdc__col){(const char *)tslast, 8, PGCDC_COL_BINARY};
    pgcdc__buf_init(&texts);
    pgcdc__buf_reserve(&texts, 1024);
    c = make_change(PGCDC_OP_INSERT, &t_rel, NULL, 0, row, 0x1A2B100, 0);
    c.new_row.texts = &texts;
    doc = format_doc(f, &c);
    assert_json(json_object_get(json_object_get(doc, "after"), "ts"),
                "\"294276-12-31 23:59:59.999999\"");
    json_decref(doc);
    row[11] = (pgcdc__col)TXT("294276-12-31 23:59:59.999999");
    a = types_after(NULL, row);
    assert_json(json_object_get(a, "ts"), "\"294276-12-31 23:59:59.999999\"");
    json_decref(a);
    pgcdc__buf_free(&texts);
    pgcdc_formatter_free(f);
}

static void test_unchanged_toast(void **state)
{
    static const char *const hex[] = {"binary.handling.mode", "hex", NULL};
    static const char *const map[] = {"hstore.handling.mode", "map", NULL};
    static pgcdc__relcol_info cols[] = {
        COL(S("id"), S("integer"), PGCDC_OID_INT4, -1, 1, 1),
        COL(S("t"), S("text"), PGCDC_OID_TEXT, -1, 0, 0),
        COL(S("bin"), S("bytea"), PGCDC_OID_BYTEA, -1, 0, 0),
        COL(S("ta"), S("character varying(5)[]"), 1015, 9, 0, 0),
        COL(S("ia"), S("bigint[]"), 1016, -1, 0, 0),
        COL(S("ua"), S("uuid[]"), 2951, -1, 0, 0),
        COL(S("hs"), S("hstore"), HSTORE_OID, -1, 0, 0),
        COL(S("jb"), S("jsonb"), PGCDC_OID_JSONB, -1, 0, 0),
        COL(S("n"), S("numeric"), PGCDC_OID_NUMERIC, -1, 0, 0),
        COL(S("sa"), S("smallint[]"), 1005, -1, 0, 0),
    };
    static pgcdc__relation rel = REL(2010, S("public"), S("toasty"), 10, cols, 1, id_key);
    static const pgcdc__col row[] = {TXT("1"), UNCH, UNCH, UNCH, UNCH,
                                     UNCH,     UNCH, UNCH, UNCH, UNCH};
    pgcdc_change c = make_change(PGCDC_OP_UPDATE, &rel, NULL, 0, row, 0x1A2B100, 0);
    pgcdc_formatter *f = fmt_new(NULL);
    json_t *doc = format_doc(f, &c);
    json_t *a = json_object_get(doc, "after");

    (void)state;
    assert_json(json_object_get(a, "t"), "\"" PLACEHOLDER "\"");
    /* As bytes: base64 of the placeholder. */
    assert_json(json_object_get(a, "bin"), "\"X19kZWJleml1bV91bmF2YWlsYWJsZV92YWx1ZQ==\"");
    assert_json(json_object_get(a, "ta"), "[\"" PLACEHOLDER "\"]");
    /* Integer arrays: the placeholder's bytes. */
    assert_json(json_object_get(a, "ia"), "[95,95,100,101,98,101,122,105,117,109,95,117,110,97,"
                                          "118,97,105,108,97,98,108,101,95,118,97,108,117,101]");
    /* UUID.nameUUIDFromBytes of the placeholder: MD5, version 3. */
    assert_json(json_object_get(a, "ua"), "[\"b68a35a7-17ad-35b3-af2a-ae46edb4545a\"]");
    assert_json(json_object_get(a, "hs"), "\"{\\\"" PLACEHOLDER "\\\":\\\"" PLACEHOLDER "\\\"}\"");
    assert_json(json_object_get(a, "jb"), "\"" PLACEHOLDER "\"");
    assert_json(json_object_get(a, "n"), "\"" PLACEHOLDER "\"");
    assert_json(json_object_get(a, "sa"), "\"" PLACEHOLDER "\"");
    json_decref(doc);
    pgcdc_formatter_free(f);

    f = fmt_new(hex);
    doc = format_doc(f, &c);
    assert_json(path(doc, "after", "bin"), "\"" PLACEHOLDER "\"");
    json_decref(doc);
    pgcdc_formatter_free(f);
    f = fmt_new(map);
    doc = format_doc(f, &c);
    assert_json(path(doc, "after", "hs"), "{\"" PLACEHOLDER "\":\"" PLACEHOLDER "\"}");
    json_decref(doc);
    pgcdc_formatter_free(f);
    free(rel.fmt_cache);
    free(rel.fmt_extra);
}

/* Text no server would send still makes valid JSON, in every column's encoding and mode. */
static void test_garbage_stays_json(void **state)
{
    static const char alphabet[] = "{}\",\\NUL0123456789:.-+ =>$(PTYMDHSaeinfty[]";
    static const char *const modes[][3] = {{NULL},
                                           {"decimal.handling.mode", "string", NULL},
                                           {"decimal.handling.mode", "double", NULL},
                                           {"interval.handling.mode", "string", NULL},
                                           {"hstore.handling.mode", "map", NULL}};
    pgcdc_formatter *f[5];
    pgcdc__col row[NT];
    char text[NT][40];
    uint64_t x = 0x9E3779B97F4A7C15u;

    (void)state;
    for (int m = 0; m < 5; m++)
        f[m] = fmt_new(modes[m]);
    for (int round = 0; round < 4000; round++) {
        pgcdc_change c = make_change(PGCDC_OP_INSERT, &t_rel, NULL, 0, row, 0x1A2B100, 0);

        for (int i = 0; i < NT; i++) {
            size_t len;

            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            len = (size_t)(x % 32);
            for (size_t k = 0; k < len; k++) {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                text[i][k] = alphabet[x % (sizeof(alphabet) - 1)];
            }
            text[i][len] = '\0';
            row[i] = (pgcdc__col){text[i], (uint32_t)len, PGCDC_COL_TEXT};
        }
        /* The key and the natives stay what the server prints for them. */
        row[0] = (pgcdc__col)TXT("1");
        row[26] = (pgcdc__col)TXT("1.5");
        row[27] = (pgcdc__col)TXT("f");
        json_decref(format_doc(f[round % 5], &c));
    }
    for (int m = 0; m < 5; m++)
        pgcdc_formatter_free(f[m]);
}

/* ---- the schema block ---- */

/* The field of a struct schema by name. */
static json_t *field_of(json_t *schema, const char *name)
{
    size_t i;
    json_t *fld;

    json_array_foreach(json_object_get(schema, "fields"), i, fld)
    {
        if (strcmp(json_string_value(json_object_get(fld, "field")), name) == 0)
            return fld;
    }
    fail_msg("no field \"%s\"", name);
    return NULL;
}

static void test_schema_block(void **state)
{
    static const char *const on[] = {"schemas.enable", "on", "topic.prefix", "srv", NULL};
    static const char *const txn_on[] = {"schemas.enable", "true", "provide.transaction.metadata",
                                         "true", NULL};
    pgcdc_formatter *f = fmt_new(on);
    pgcdc_formatter *plain = fmt_new(NULL);
    pgcdc_change c = make_change(PGCDC_OP_INSERT, &t_rel, NULL, 0, t_row, 0x1A2B100, 0);
    json_t *doc = format_doc(f, &c);
    json_t *ref = format_doc(plain, &c);
    json_t *schema = json_object_get(doc, "schema");
    json_t *payload = json_object_get(doc, "payload");
    json_t *value = field_of(schema, "before");
    static const char *const envelope[] = {"before", "after", "source", "transaction",
                                           "op",     "ts_ms", "ts_us",  "ts_ns"};
    const char *out;
    size_t len;

    (void)state;
    assert_int_equal(json_object_size(doc), 2);
    /* The key needs the primary key; the schema block, NOT NULL too. */
    assert_int_equal(f->ops->needs(f), PGCDC__REL_NOT_NULL | PGCDC__REL_PK);
    assert_int_equal(plain->ops->needs(plain), PGCDC__REL_PK);
    assert_string_equal(json_string_value(json_object_get(schema, "name")),
                        "srv.public.types.Envelope");
    assert_json(json_object_get(schema, "version"), "2");
    assert_json(json_object_get(schema, "optional"), "false");
    for (size_t i = 0; i < 8; i++)
        assert_string_equal(json_string_value(json_object_get(
                                json_array_get(json_object_get(schema, "fields"), i), "field")),
                            envelope[i]);
    assert_string_equal(json_string_value(json_object_get(value, "name")),
                        "srv.public.types.Value");
    assert_json(json_object_get(value, "optional"), "true");
    assert_true(json_equal(json_object_get(field_of(schema, "after"), "fields"),
                           json_object_get(value, "fields")));
    /* Each column: its Connect type, Debezium's name, NOT NULL as optional false. */
    assert_json(field_of(value, "id"), "{\"type\":\"int32\",\"optional\":false,\"field\":\"id\"}");
    assert_json(field_of(value, "n"),
                "{\"type\":\"bytes\",\"optional\":true,\"name\":\"org.apache.kafka.connect.data."
                "Decimal\",\"version\":1,\"parameters\":{\"scale\":\"2\","
                "\"connect.decimal.precision\":\"10\"},\"field\":\"n\"}");
    assert_json(field_of(value, "nv"),
                "{\"type\":\"struct\",\"fields\":[{\"type\":\"int32\",\"optional\":false,"
                "\"field\":\"scale\"},{\"type\":\"bytes\",\"optional\":false,\"field\":\"value\"}],"
                "\"optional\":true,\"name\":\"io.debezium.data.VariableScaleDecimal\","
                "\"version\":1,\"doc\":\"Variable scaled decimal\",\"field\":\"nv\"}");
    assert_json(field_of(value, "m"),
                "{\"type\":\"bytes\",\"optional\":true,\"name\":\"org.apache.kafka.connect.data."
                "Decimal\",\"version\":1,\"parameters\":{\"scale\":\"2\"},\"field\":\"m\"}");
    assert_json(field_of(value, "bin"), "{\"type\":\"bytes\",\"optional\":true,\"field\":\"bin\"}");
    assert_json(field_of(value, "d"), "{\"type\":\"int32\",\"optional\":true,"
                                      "\"name\":\"io.debezium.time.Date\",\"version\":1,"
                                      "\"field\":\"d\"}");
    assert_json(field_of(value, "t"), "{\"type\":\"int64\",\"optional\":true,"
                                      "\"name\":\"io.debezium.time.MicroTime\",\"version\":1,"
                                      "\"field\":\"t\"}");
    assert_json(field_of(value, "t3"), "{\"type\":\"int32\",\"optional\":true,"
                                       "\"name\":\"io.debezium.time.Time\",\"version\":1,"
                                       "\"field\":\"t3\"}");
    assert_json(field_of(value, "tz"), "{\"type\":\"string\",\"optional\":true,"
                                       "\"name\":\"io.debezium.time.ZonedTime\",\"version\":1,"
                                       "\"field\":\"tz\"}");
    assert_json(field_of(value, "ts"), "{\"type\":\"int64\",\"optional\":true,"
                                       "\"name\":\"io.debezium.time.MicroTimestamp\","
                                       "\"version\":1,\"field\":\"ts\"}");
    assert_json(field_of(value, "ts3"), "{\"type\":\"int64\",\"optional\":true,"
                                        "\"name\":\"io.debezium.time.Timestamp\",\"version\":1,"
                                        "\"field\":\"ts3\"}");
    assert_json(field_of(value, "tstz"), "{\"type\":\"string\",\"optional\":false,"
                                         "\"name\":\"io.debezium.time.ZonedTimestamp\","
                                         "\"version\":1,\"field\":\"tstz\"}");
    assert_json(field_of(value, "iv"), "{\"type\":\"int64\",\"optional\":true,"
                                       "\"name\":\"io.debezium.time.MicroDuration\","
                                       "\"version\":1,\"field\":\"iv\"}");
    assert_json(field_of(value, "bit1"),
                "{\"type\":\"boolean\",\"optional\":true,\"field\":\"bit1\"}");
    assert_json(field_of(value, "bits"), "{\"type\":\"bytes\",\"optional\":true,"
                                         "\"name\":\"io.debezium.data.Bits\",\"version\":1,"
                                         "\"parameters\":{\"length\":\"11\"},\"field\":\"bits\"}");
    assert_json(field_of(value, "hs"), "{\"type\":\"string\",\"optional\":true,"
                                       "\"name\":\"io.debezium.data.Json\",\"version\":1,"
                                       "\"field\":\"hs\"}");
    assert_json(field_of(value, "ia"), "{\"type\":\"array\",\"items\":{\"type\":\"int32\","
                                       "\"optional\":true},\"optional\":true,\"field\":\"ia\"}");
    assert_json(field_of(value, "na"),
                "{\"type\":\"array\",\"items\":{\"type\":\"bytes\",\"optional\":true,"
                "\"name\":\"org.apache.kafka.connect.data.Decimal\",\"version\":1,"
                "\"parameters\":{\"scale\":\"2\",\"connect.decimal.precision\":\"5\"}},"
                "\"optional\":true,\"field\":\"na\"}");
    assert_json(field_of(value, "u"), "{\"type\":\"string\",\"optional\":true,"
                                      "\"name\":\"io.debezium.data.Uuid\",\"version\":1,"
                                      "\"field\":\"u\"}");
    assert_json(field_of(value, "j"), "{\"type\":\"string\",\"optional\":true,"
                                      "\"name\":\"io.debezium.data.Json\",\"version\":1,"
                                      "\"field\":\"j\"}");
    assert_json(field_of(value, "f8"), "{\"type\":\"double\",\"optional\":true,\"field\":\"f8\"}");
    /* NOT NULL unknown: nullable unless a key column. */
    assert_json(field_of(value, "nul"),
                "{\"type\":\"string\",\"optional\":true,\"field\":\"nul\"}");
    assert_json(json_object_get(field_of(field_of(schema, "source"), "snapshot"), "default"),
                "\"false\"");
    assert_string_equal(json_string_value(json_object_get(field_of(schema, "source"), "name")),
                        "io.debezium.connector.postgresql.Source");
    assert_string_equal(json_string_value(json_object_get(field_of(schema, "transaction"), "name")),
                        "event.block");
    /* The payload is the event without schemas (its times aside), source.name the prefix. */
    assert_string_equal(json_string_value(path(payload, "source", "name")), "srv");
    json_object_set_new(json_object_get(payload, "source"), "name", json_string("pgcdc"));
    json_object_del(payload, "ts_ms");
    json_object_del(payload, "ts_us");
    json_object_del(payload, "ts_ns");
    json_object_del(ref, "ts_ms");
    json_object_del(ref, "ts_us");
    json_object_del(ref, "ts_ns");
    assert_true(json_equal(payload, ref));
    json_decref(doc);
    json_decref(ref);

    /* Another option set: the relation's schema follows it. */
    pgcdc_formatter_free(f);
    f = fmt_new(txn_on);
    doc = format_doc(f, &c);
    assert_string_equal(json_string_value(json_object_get(json_object_get(doc, "schema"), "name")),
                        "pgcdc.public.types.Envelope");
    assert_non_null(json_object_get(json_object_get(doc, "payload"), "transaction"));
    json_decref(doc);
    assert_int_equal(pgcdc_formatter_begin(f, &txn, &out, &len), PGCDC_OK);
    doc = json_line(out, len);
    assert_string_equal(json_string_value(json_object_get(json_object_get(doc, "schema"), "name")),
                        "io.debezium.connector.common.TransactionMetadataValue");
    assert_string_equal(json_string_value(path(doc, "payload", "status")), "BEGIN");
    json_decref(doc);
    pgcdc_formatter_free(f);
    pgcdc_formatter_free(plain);
}

/* ---- options ---- */

static void test_options(void **state)
{
    pgcdc_formatter *f = fmt_new(NULL);
    pgcdc_config *cfg = pgcdc_config_new();
    char err[256];
    const char *prefix;
    int found = 0;

    (void)state;
    assert_int_equal(pgcdc_formatter_set(f, "decimal.handling.mode", "exact"), PGCDC_ERR_INVALID);
    assert_int_equal(pgcdc_formatter_set(f, "binary.handling.mode", "base64_url_safe"), PGCDC_OK);
    assert_int_equal(pgcdc_formatter_set(f, "provide.transaction.metadata", "maybe"),
                     PGCDC_ERR_INVALID);
    assert_int_equal(pgcdc_formatter_set(f, "provide.transaction.metadata", "yes"), PGCDC_OK);
    assert_int_equal(pgcdc_formatter_set(f, "topic.prefix", ""), PGCDC_ERR_INVALID);
    assert_int_equal(pgcdc_formatter_set(f, "time.precision.mode", "connect"), PGCDC_ERR_INVALID);
    pgcdc_formatter_free(f);

    /* Through the configuration: debezium.<option>, choices in any case. */
    assert_non_null(cfg);
    assert_int_equal(
        pgcdc_config_set(cfg, "debezium.decimal.handling.mode", "STRING", err, sizeof(err)),
        PGCDC_OK);
    assert_int_equal(pgcdc_config_set(cfg, "debezium.schemas.enable", "true", err, sizeof(err)),
                     PGCDC_OK);
    assert_int_equal(pgcdc_config_set(cfg, "debezium.topic.prefix", "inventory", err, sizeof(err)),
                     PGCDC_OK);
    assert_int_equal(
        pgcdc_config_set(cfg, "debezium.interval.handling.mode", "iso", err, sizeof(err)),
        PGCDC_ERR_INVALID);
    assert_non_null(strstr(err, "numeric|string"));
    pgcdc_config_free(cfg);
    for (int i = 0; pgcdc_property_at(i, &prefix) != NULL; i++) {
        if (prefix != NULL && strcmp(prefix, "debezium") == 0)
            found++;
    }
    assert_int_equal(found, 7);
}

/* ---- what the assembly hands the format ---- */

/* Wraps the message built in h->msg in XLogData at lsn, feeds it, formats the events. */
static void feed_at(harness *h, uint64_t lsn, pgcdc_formatter *f, pgcdc__buf *lines)
{
    pgcdc__event ev;
    const char *out;
    size_t len;
    int r;

    h_feed_at(h, h->msg.data, h->msg.len, lsn);
    pgcdc__buf_reset(&h->msg);
    while ((r = pgcdc__assembly_next(h->ta, &ev)) == 1) {
        if (ev.type == PGCDC__EV_BEGIN)
            assert_int_equal(pgcdc_formatter_begin(f, ev.txn, &out, &len), PGCDC_OK);
        else if (ev.type == PGCDC__EV_CHANGE)
            assert_int_equal(pgcdc_formatter_change(f, ev.change, &out, &len), PGCDC_OK);
        else if (ev.type == PGCDC__EV_COMMIT)
            assert_int_equal(pgcdc_formatter_commit(f, ev.txn, &out, &len), PGCDC_OK);
        else
            continue;
        pgcdc__buf_put(lines, out, len);
    }
    assert_int_equal(r, 0);
}

/* One transaction of inserts into relation 1: Begin, an Insert per LSN, Commit. */
static void one_txn(harness *h, pgcdc_formatter *f, pgcdc__buf *lines, uint32_t xid, uint64_t begin,
                    const uint64_t *at, int n, uint64_t commit, uint64_t end, const char *origin)
{
    static const char *const values[] = {"1"};

    pgcdc__wr_begin(&h->msg, commit, 0, xid);
    feed_at(h, begin, f, lines);
    if (origin != NULL) {
        pgcdc__wr_origin(&h->msg, 0x5000, origin);
        feed_at(h, begin, f, lines);
    }
    for (int i = 0; i < n; i++) {
        wr_insert(&h->msg, -1, 1, "t", values, NULL);
        feed_at(h, at[i], f, lines);
    }
    pgcdc__wr_commit(&h->msg, 0, commit, end, 0);
    feed_at(h, end, f, lines);
}

/* The lines' "<key>" values (in source, or in the line), joined by spaces. */
static const char *values_of(const pgcdc__buf *lines, const char *obj, const char *key)
{
    static char joined[1024];
    const char *p = (const char *)lines->data;
    const char *end = p + lines->len;

    joined[0] = '\0';
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        json_t *doc = json_line(p, (size_t)(nl - p) + 1);
        json_t *v = obj != NULL ? path(doc, obj, key) : json_object_get(doc, key);
        char *text = v != NULL ? json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT) : NULL;

        snprintf(joined + strlen(joined), sizeof(joined) - strlen(joined), "%s%s",
                 joined[0] != '\0' ? " " : "", text != NULL ? text : "-");
        free(text);
        json_decref(doc);
        p = nl + 1;
    }
    return joined;
}

static void test_assembly_fields(void **state)
{
    static const pgcdc__relcol rcols[] = {{"id", PGCDC_OID_INT4, -1, 1}};
    static const uint64_t at1[] = {0x3000100, 0x3000200};
    static const uint64_t at2[] = {0x3001100};
    static const uint64_t at3[] = {0x3002100};
    pgcdc_formatter *f = fmt_new((const char *const[]){"provide.transaction.metadata", "1", NULL});
    pgcdc__buf lines;
    harness h;

    (void)state;
    pgcdc__buf_init(&lines);
    h_open(&h, 0, 0, NULL);
    pgcdc__wr_relation(&h.msg, -1, 1, "public", "r", 'd', 1, rcols);
    feed_at(&h, 0x3000000, f, &lines);
    one_txn(&h, f, &lines, 900, 0x3000080, at1, 2, 0x3000300, 0x3000400, NULL);
    one_txn(&h, f, &lines, 901, 0x3001080, at2, 1, 0x3001300, 0x3001400, "node1");
    /* The first transaction after the start has no commit before it. */
    assert_string_equal(values_of(&lines, "source", "sequence"),
                        "- \"[null,\\\"50331904\\\"]\" \"[null,\\\"50332160\\\"]\" - - "
                        "\"[\\\"50332672\\\",\\\"50336000\\\"]\" -");
    assert_string_equal(values_of(&lines, "source", "lsn"), "- 50331904 50332160 - - 50336000 -");
    assert_string_equal(values_of(&lines, NULL, "id"),
                        "\"900:50331776\" - - \"900:50332672\" \"901:50335872\" - "
                        "\"901:50336768\"");
    assert_string_equal(values_of(&lines, "source", "origin"), "- null null - - \"node1\" -");
    assert_string_equal(values_of(&lines, "source", "origin_lsn"), "- null null - - 20480 -");

    /* A lost connection: what comes again is skipped, and still counts as the commit before. */
    pgcdc__buf_reset(&lines);
    pgcdc__assembly_cut(h.ta);
    pgcdc__wr_relation(&h.msg, -1, 1, "public", "r", 'd', 1, rcols);
    feed_at(&h, 0x3000000, f, &lines);
    one_txn(&h, f, &lines, 900, 0x3000080, at1, 2, 0x3000300, 0x3000400, NULL);
    one_txn(&h, f, &lines, 901, 0x3001080, at2, 1, 0x3001300, 0x3001400, NULL);
    assert_int_equal(lines.len, 0);
    one_txn(&h, f, &lines, 902, 0x3002080, at3, 1, 0x3002300, 0x3002400, NULL);
    assert_string_equal(values_of(&lines, "source", "sequence"),
                        "- \"[\\\"50336768\\\",\\\"50340096\\\"]\" -");
    h_close(&h);
    pgcdc__buf_free(&lines);
    pgcdc_formatter_free(f);
}

/* The formats' blocks on the fixtures' relations (the relation cache frees them otherwise). */
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

static int setup_types(void **state)
{
    (void)state;
    for (size_t r = 0; r < sizeof(all_rels) / sizeof(all_rels[0]); r++) {
        for (int i = 0; i < all_rels[r]->ncols; i++)
            pgcdc__relcol_set_type(&all_rels[r]->cols[i], all_rels[r]->cols[i].type_oid);
    }
    return txn_group_setup(state);
}

static int teardown(void **state)
{
    free_caches(state);
    return txn_group_teardown(state);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_envelope),
        cmocka_unit_test(test_sequence_per_change),
        cmocka_unit_test(test_commit_times_and_extremes),
        cmocka_unit_test(test_transaction_metadata),
        cmocka_unit_test(test_types),
        cmocka_unit_test(test_special_values),
        cmocka_unit_test(test_decimal_modes),
        cmocka_unit_test(test_other_modes),
        cmocka_unit_test(test_binary_values),
        cmocka_unit_test(test_unchanged_toast),
        cmocka_unit_test(test_garbage_stays_json),
        cmocka_unit_test(test_schema_block),
        cmocka_unit_test(test_options),
        cmocka_unit_test(test_assembly_fields),
    };

    return cmocka_run_group_tests(tests, setup_types, teardown);
}
