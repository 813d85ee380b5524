/*
 * Unit tests for snapshot rows (READ changes) in every format: native JSON's
 * "READ", wal2json's insert, and Debezium's op "r" with source.snapshot
 * true, last, incremental, or false in the stream, and no transaction
 * metadata around a snapshot.  Changes are built from the internal structs.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <jansson.h>

#include "core/row.h"
#include "format/format.h"
#include "wire/types.h"
#include "../json_check.h"
#include "column_values.h"

#define S(lit) ((char *)(lit))
#define COL(name_, type_name_, oid_, key_)                                                         \
    {                                                                                              \
        .name = (name_), .type_name = (type_name_), .type_oid = (oid_), .sent_oid = (oid_),        \
        .typmod = -1, .not_null = -1, .is_key = (key_), .is_ident = (key_)                         \
    }

/* A chunk of an initial snapshot: xid 0, the slot's consistent point, the time it was read. */
static pgcdc_txn snap = {
    .xid = 0,
    .commit_lsn = 0x1A2B3C8,
    .commit_time = INT64_C(1795557600123456), /* 2026-11-24 22:00:00.123456 UTC */
    .nchanges = 2,
    .token = 1,
    .snapshot = PGCDC_SNAPSHOT_INITIAL,
};

/* A transaction of the stream after it. */
static pgcdc_txn stream = {
    .xid = 771,
    .commit_lsn = 0x1A2C3C8,
    .end_lsn = 0x1A2C400,
    .commit_time = INT64_C(1795557601000000),
    .nchanges = 1,
    .token = 2,
    .prev_end_lsn = 0x1A2B000,
    .begin_lsn = 0x1A2C080,
};

static pgcdc__relcol_info a_cols[] = {
    COL(S("id"), S("integer"), PGCDC_OID_INT4, 1),
    COL(S("v"), S("text"), PGCDC_OID_TEXT, 0),
};
static int id_key[] = {0};
static pgcdc__relation a_rel = {
    .relid = 3001,
    .schema = S("public"),
    .name = S("a"),
    .replident = 'd',
    .ncols = 2,
    .cols = a_cols,
    .nkeys = 1,
    .keys = id_key,
    .npk = -1,
    .wanted = 1,
};
static const pgcdc__col row1[] = {TXT("1"), TXT("x")};
static const pgcdc__col row2[] = {TXT("2"), NUL};

/* A change with a new row only, as a READ and an INSERT are. */
static pgcdc_change make_change(pgcdc_op op, const pgcdc_txn *txn, const pgcdc__col *cols,
                                uint64_t lsn, uint32_t seq)
{
    pgcdc_change c;

    memset(&c, 0, sizeof(c));
    c.op = op;
    c.rel = &a_rel;
    c.txn = txn;
    c.lsn = lsn;
    c.seq = seq;
    c.has_new = 1;
    c.new_row.rel = &a_rel;
    c.new_row.cols = (pgcdc__col *)cols;
    return c;
}

/* ---- helpers ---- */

static pgcdc_formatter *fmt_new(pgcdc_format format, const char *const *opts)
{
    pgcdc_formatter *f = pgcdc_formatter_new(format, "shop");

    assert_non_null(f);
    for (size_t i = 0; opts != NULL && opts[i] != NULL; i += 2) {
        if (pgcdc_formatter_set(f, opts[i], opts[i + 1]) != PGCDC_OK)
            fail_msg("option %s=%s refused", opts[i], opts[i + 1]);
    }
    return f;
}

/* A line (newline included) that must be one JSON object. */
static void check_json(const char *out, size_t len)
{
    json_t *doc = json_line(out, len);

    assert_true(json_is_object(doc));
    json_decref(doc);
}

/*
 * One change's line, newline stripped, in a static buffer.  Debezium's
 * processing times (after "op") become NOW once checked to be near now.
 */
static const char *line_of(pgcdc_formatter *f, const pgcdc_change *c)
{
    static char result[4096];
    static const char *const keys[3] = {"\"ts_ms\":", "\"ts_us\":", "\"ts_ns\":"};
    const char *out;
    size_t len;
    char *p;

    assert_int_equal(pgcdc_formatter_change(f, c, &out, &len), PGCDC_OK);
    check_json(out, len);
    assert_true(len < sizeof(result));
    memcpy(result, out, len - 1);
    result[len - 1] = '\0';
    p = strstr(result, ",\"op\":\"");
    for (int k = 0; p != NULL && k < 3; k++) {
        char *digits;
        size_t n;

        p = strstr(p, keys[k]);
        assert_non_null(p);
        digits = p + strlen(keys[k]);
        n = strspn(digits, "0123456789");
        assert_true(n >= 13);
        if (k == 0)
            assert_true(llabs(strtoll(digits, NULL, 10) / 1000 - (long long)time(NULL)) < 600);
        memmove(digits + 3, digits + n, strlen(digits + n) + 1);
        memcpy(digits, "NOW", 3);
    }
    return result;
}

/* The begin (or commit) line of txn, "" for none. */
static const char *txn_line(pgcdc_formatter *f, const pgcdc_txn *txn, int commit)
{
    const char *out;
    size_t len;

    if (commit)
        assert_int_equal(pgcdc_formatter_commit(f, txn, &out, &len), PGCDC_OK);
    else
        assert_int_equal(pgcdc_formatter_begin(f, txn, &out, &len), PGCDC_OK);
    assert_int_equal(strlen(out), len);
    if (len > 0)
        check_json(out, len);
    return out;
}

/* The message key sinks get for the change in f's format. */
static const char *key_of(pgcdc_formatter *f, const pgcdc_change *c)
{
    static char result[256];
    pgcdc__buf b;

    pgcdc__buf_init(&b);
    if (f->ops->key != NULL)
        f->ops->key(f, c, &b);
    else
        pgcdc__fmt_key(&b, c);
    assert_false(b.oom);
    assert_true(b.len < sizeof(result));
    if (b.len > 0)
        memcpy(result, b.data, b.len);
    result[b.len] = '\0';
    pgcdc__buf_free(&b);
    return result;
}

/* ---- native JSON ---- */

static void test_native_read(void **state)
{
    pgcdc_formatter *f = fmt_new(PGCDC_FORMAT_JSON, NULL);
    pgcdc_change r1 = make_change(PGCDC_OP_READ, &snap, row1, 0, 0);
    pgcdc_change r2 = make_change(PGCDC_OP_READ, &snap, row2, 0, 1);

    (void)state;
    r2.snapshot_last = 1;
    assert_string_equal(txn_line(f, &snap, 0), "");
    assert_string_equal(line_of(f, &r1),
                        "{\"op\":\"READ\",\"schema\":\"public\",\"table\":\"a\",\"xid\":0,"
                        "\"commit_lsn\":\"0/1A2B3C8\",\"seq\":0,"
                        "\"commit_time\":\"2026-11-24T22:00:00.123456Z\",\"pk\":[\"id\"],"
                        "\"old\":null,\"new\":{\"id\":1,\"v\":\"x\"}}");
    /* The last row looks like any other. */
    assert_string_equal(line_of(f, &r2),
                        "{\"op\":\"READ\",\"schema\":\"public\",\"table\":\"a\",\"xid\":0,"
                        "\"commit_lsn\":\"0/1A2B3C8\",\"seq\":1,"
                        "\"commit_time\":\"2026-11-24T22:00:00.123456Z\",\"pk\":[\"id\"],"
                        "\"old\":null,\"new\":{\"id\":2,\"v\":null}}");
    assert_string_equal(txn_line(f, &snap, 1), "");
    assert_string_equal(key_of(f, &r1), "{\"id\":1}");
    pgcdc_formatter_free(f);
}

/* ---- wal2json ---- */

static void test_wal2json_read(void **state)
{
    static const char *const opts[] = {"include-xids", "true", NULL};
    pgcdc_formatter *f = fmt_new(PGCDC_FORMAT_WAL2JSON, NULL);
    pgcdc_formatter *xf = fmt_new(PGCDC_FORMAT_WAL2JSON, opts);
    pgcdc_change r1 = make_change(PGCDC_OP_READ, &snap, row1, 0, 0);
    pgcdc_change r2 = make_change(PGCDC_OP_READ, &snap, row2, 0, 1);
    pgcdc_change ins = make_change(PGCDC_OP_INSERT, &snap, row1, 0, 0);
    char as_insert[4096];

    (void)state;
    r2.snapshot_last = 1;
    /* wal2json has no snapshot: a READ is an insert, in B and C lines of its own. */
    assert_string_equal(txn_line(f, &snap, 0), "{\"action\":\"B\"}\n");
    assert_string_equal(line_of(f, &r1),
                        "{\"action\":\"I\",\"schema\":\"public\",\"table\":\"a\",\"columns\":["
                        "{\"name\":\"id\",\"type\":\"integer\",\"value\":1},"
                        "{\"name\":\"v\",\"type\":\"text\",\"value\":\"x\"}]}");
    assert_string_equal(line_of(f, &r2),
                        "{\"action\":\"I\",\"schema\":\"public\",\"table\":\"a\",\"columns\":["
                        "{\"name\":\"id\",\"type\":\"integer\",\"value\":2},"
                        "{\"name\":\"v\",\"type\":\"text\",\"value\":null}]}");
    assert_string_equal(txn_line(f, &snap, 1), "{\"action\":\"C\"}\n");
    snprintf(as_insert, sizeof(as_insert), "%s", line_of(f, &ins));
    assert_string_equal(line_of(f, &r1), as_insert);
    /* The snapshot's transaction id is 0. */
    assert_string_equal(txn_line(xf, &snap, 0), "{\"action\":\"B\",\"xid\":0}\n");
    assert_string_equal(line_of(xf, &r1),
                        "{\"action\":\"I\",\"xid\":0,\"schema\":\"public\",\"table\":\"a\","
                        "\"columns\":[{\"name\":\"id\",\"type\":\"integer\",\"value\":1},"
                        "{\"name\":\"v\",\"type\":\"text\",\"value\":\"x\"}]}");
    assert_string_equal(txn_line(xf, &snap, 1), "{\"action\":\"C\",\"xid\":0}\n");
    assert_string_equal(key_of(f, &r1), "{\"id\":1}");
    pgcdc_formatter_free(f);
    pgcdc_formatter_free(xf);
}

/* ---- Debezium ---- */

/* A Debezium line of table a, from after the row to before the processing times. */
#define DBZ(after, ms, us, snapshot, seq, txid, lsn, tx, op)                                       \
    "{\"before\":null,\"after\":" after ",\"source\":{\"version\":\"" PGCDC_VERSION_STRING         \
    "\",\"connector\":\"postgresql\",\"name\":\"pgcdc\",\"ts_ms\":" ms ",\"snapshot\":\"" snapshot \
    "\",\"db\":\"shop\",\"sequence\":\"" seq "\",\"ts_us\":" us ",\"ts_ns\":" us                   \
    "000,\"schema\":\"public\",\"table\":\"a\",\"txId\":" txid ",\"lsn\":" lsn                     \
    ",\"xmin\":null,\"origin\":null,\"origin_lsn\":null},\"transaction\":" tx ",\"op\":\"" op      \
    "\",\"ts_ms\":NOW,\"ts_us\":NOW,\"ts_ns\":NOW}"
/* A row of the initial snapshot: at the consistent point 0/1A2B3C8 (27440072). */
#define SNAP_ROW(after, snapshot)                                                                  \
    DBZ(after, "1795557600123", "1795557600123456", snapshot, "[null,\\\"27440072\\\"]", "null",   \
        "27440072", "null", "r")
#define ROW1 "{\"id\":1,\"v\":\"x\"}"
#define ROW2 "{\"id\":2,\"v\":null}"

static void test_debezium_read(void **state)
{
    pgcdc_formatter *f = fmt_new(PGCDC_FORMAT_DEBEZIUM, NULL);
    /* A READ's own LSN is not used: its rows carry the snapshot's position. */
    pgcdc_change r1 = make_change(PGCDC_OP_READ, &snap, row1, 0, 0);
    pgcdc_change r2 = make_change(PGCDC_OP_READ, &snap, row2, 0, 1);
    pgcdc_change ins = make_change(PGCDC_OP_INSERT, &stream, row1, 0x1A2C100, 0);

    (void)state;
    r2.snapshot_last = 1;
    assert_string_equal(line_of(f, &r1), SNAP_ROW(ROW1, "true"));
    assert_string_equal(line_of(f, &r2), SNAP_ROW(ROW2, "last"));
    /* The value is the change's, not the cached transaction's. */
    assert_string_equal(line_of(f, &r1), SNAP_ROW(ROW1, "true"));
    assert_string_equal(line_of(f, &r2), SNAP_ROW(ROW2, "last"));
    /* The stream after it. */
    assert_string_equal(line_of(f, &ins),
                        DBZ(ROW1, "1795557601000", "1795557601000000", "false",
                            "[\\\"27439104\\\",\\\"27443456\\\"]", "771", "27443456", "null", "c"));
    /* The key, as an insert's (the Kafka sink's tombstones follow DELETEs only). */
    assert_string_equal(key_of(f, &r1), "{\"id\":1}");
    assert_string_equal(key_of(f, &r2), "{\"id\":2}");
    pgcdc_formatter_free(f);
}

static void test_debezium_incremental(void **state)
{
    pgcdc_formatter *f = fmt_new(PGCDC_FORMAT_DEBEZIUM, NULL);
    pgcdc_txn chunk = snap;
    pgcdc_change r1 = make_change(PGCDC_OP_READ, &chunk, row1, 0x1A2D000, 0);
    pgcdc_change r2 = make_change(PGCDC_OP_READ, &chunk, row2, 0x1A2D000, 1);

    (void)state;
    /* A chunk read while streaming, closed by its watermark at 0/1A2D3C8 (27448264). */
    chunk.snapshot = PGCDC_SNAPSHOT_INCREMENTAL;
    chunk.commit_lsn = 0x1A2D3C8;
    chunk.prev_end_lsn = 0x1A2C400;
    chunk.token = 7;
    r2.snapshot_last = 1;
    assert_string_equal(line_of(f, &r1), DBZ(ROW1, "1795557600123", "1795557600123456",
                                             "incremental", "[\\\"27444224\\\",\\\"27448264\\\"]",
                                             "null", "27448264", "null", "r"));
    /* The connector marks no row of an incremental snapshot last. */
    assert_string_equal(line_of(f, &r2), DBZ(ROW2, "1795557600123", "1795557600123456",
                                             "incremental", "[\\\"27444224\\\",\\\"27448264\\\"]",
                                             "null", "27448264", "null", "r"));
    pgcdc_formatter_free(f);
}

/* Snapshot events have no transaction block and no BEGIN or END, as in the connector. */
static void test_debezium_read_metadata(void **state)
{
    static const char *const on[] = {"provide.transaction.metadata", "true", NULL};
    pgcdc_formatter *f = fmt_new(PGCDC_FORMAT_DEBEZIUM, on);
    pgcdc_change r1 = make_change(PGCDC_OP_READ, &snap, row1, 0, 0);
    pgcdc_change r2 = make_change(PGCDC_OP_READ, &snap, row2, 0, 1);
    pgcdc_change ins = make_change(PGCDC_OP_INSERT, &stream, row1, 0x1A2C100, 0);

    (void)state;
    r2.snapshot_last = 1;
    assert_string_equal(txn_line(f, &snap, 0), "");
    assert_string_equal(line_of(f, &r1), SNAP_ROW(ROW1, "true"));
    assert_string_equal(line_of(f, &r2), SNAP_ROW(ROW2, "last"));
    assert_string_equal(txn_line(f, &snap, 1), "");
    /* The stream's transactions have theirs, counted from 1. */
    assert_string_equal(txn_line(f, &stream, 0),
                        "{\"status\":\"BEGIN\",\"id\":\"771:27443328\",\"event_count\":null,"
                        "\"data_collections\":null,\"ts_ms\":1795557601000}\n");
    assert_string_equal(line_of(f, &ins),
                        DBZ(ROW1, "1795557601000", "1795557601000000", "false",
                            "[\\\"27439104\\\",\\\"27443456\\\"]", "771", "27443456",
                            "{\"id\":\"771:27443456\",\"total_order\":1,"
                            "\"data_collection_order\":1}",
                            "c"));
    assert_string_equal(txn_line(f, &stream, 1),
                        "{\"status\":\"END\",\"id\":\"771:27444224\",\"event_count\":1,"
                        "\"data_collections\":[{\"data_collection\":\"public.a\","
                        "\"event_count\":1}],\"ts_ms\":1795557601000}\n");
    pgcdc_formatter_free(f);
}

/* With schemas enabled the payload is the same, and snapshot's enum allows every value. */
static void test_debezium_read_schema(void **state)
{
    static const char *const on[] = {"schemas.enable", "true", NULL};
    pgcdc_formatter *f = fmt_new(PGCDC_FORMAT_DEBEZIUM, on);
    pgcdc_change r2 = make_change(PGCDC_OP_READ, &snap, row2, 0, 1);
    const char *out;
    size_t len;
    json_t *doc;

    (void)state;
    r2.snapshot_last = 1;
    assert_int_equal(pgcdc_formatter_change(f, &r2, &out, &len), PGCDC_OK);
    check_json(out, len);
    doc = json_loadb(out, len - 1, 0, NULL);
    assert_non_null(doc);
    assert_string_equal(json_string_value(json_object_get(json_object_get(doc, "payload"), "op")),
                        "r");
    assert_string_equal(
        json_string_value(json_object_get(
            json_object_get(json_object_get(doc, "payload"), "source"), "snapshot")),
        "last");
    assert_non_null(strstr(out, "\"allowed\":\"true,first,first_in_data_collection,"
                                "last_in_data_collection,last,false,incremental\""));
    json_decref(doc);
    pgcdc_formatter_free(f);
}

static int setup_types(void **state)
{
    (void)state;
    for (int i = 0; i < a_rel.ncols; i++)
        pgcdc__relcol_set_type(&a_rel.cols[i], a_rel.cols[i].type_oid);
    return 0;
}

/* The formats' blocks on the fixture's relation (the relation cache frees them otherwise). */
static int free_caches(void **state)
{
    (void)state;
    free(a_rel.fmt_cache);
    free(a_rel.fmt_extra);
    a_rel.fmt_cache = NULL;
    a_rel.fmt_extra = NULL;
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_native_read),
        cmocka_unit_test(test_wal2json_read),
        cmocka_unit_test(test_debezium_read),
        cmocka_unit_test(test_debezium_incremental),
        cmocka_unit_test(test_debezium_read_metadata),
        cmocka_unit_test(test_debezium_read_schema),
    };

    return cmocka_run_group_tests(tests, setup_types, free_caches);
}
