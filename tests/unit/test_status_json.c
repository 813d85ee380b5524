/*
 * The status page's data without HTTP: /status.json parsed back with a real
 * JSON parser (figures, names escaped and kept UTF-8, the snapshot and the
 * WAL fields, the history as aligned series), and the history's ring
 * (priming, rates, wrapping) and sampler thread.
 */
#include <math.h>
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

#include "history.h"
#include "status_json.h"

/* 2026-12-03T10:55:01.123456Z */
#define T0 1796295301123456LL

/* The document for n pipelines parsed (its length checked), or the test fails. */
static json_t *document(const pgcdc_tool_metrics_pipeline *p, int n, pgcdc_tool_history *h,
                        int64_t now_us)
{
    size_t len = 0;
    char *s = pgcdc_tool_status_json(p, n, h, now_us, &len);
    json_error_t err;
    json_t *doc;

    assert_non_null(s);
    assert_int_equal(strlen(s), len);
    doc = json_loadb(s, len, JSON_REJECT_DUPLICATES, &err);
    if (doc == NULL)
        fail_msg("not JSON (%s at %d): %s", err.text, err.position, s);
    free(s);
    return doc;
}

static double num(json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);

    if (!json_is_number(v))
        fail_msg("\"%s\" is not a number", key);
    return json_number_value(v);
}

static const char *str(json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);

    if (!json_is_string(v))
        fail_msg("\"%s\" is not a string", key);
    return json_string_value(v);
}

static pgcdc_sink_stats sinks[2];

static void two_pipelines(pgcdc_tool_metrics_pipeline p[2], pgcdc_table_stats *t)
{
    memset(p, 0, 2 * sizeof(*p));
    memset(sinks, 0, sizeof(sinks));
    snprintf(sinks[0].uri, sizeof(sinks[0].uri), "file:/var/lib/pgcdc/\"o\".jsonl");
    snprintf(sinks[0].kind, sizeof(sinks[0].kind), "file");
    sinks[0].events = 30;
    sinks[0].bytes = 4096;
    sinks[0].acks = 4;
    sinks[0].ack_latency_sum_us = 10000;
    snprintf(sinks[1].uri, sizeof(sinks[1].uri), "kafka://broker:9092/orders");
    snprintf(sinks[1].kind, sizeof(sinks[1].kind), "kafka");
    sinks[1].inflight_bytes = 512;
    sinks[1].errors = 2;
    memset(t, 0, sizeof(*t));
    snprintf(t->schema, sizeof(t->schema), "public");
    snprintf(t->table, sizeof(t->table), "we\"ird\\name\n");
    t->inserts = 7;
    t->updates = 3;
    t->deletes = 2;
    t->reads = 4;
    p[0].name = "s_a";
    p[0].st.state = PGCDC_STATE_STREAMING;
    p[0].st.changes = 16;
    p[0].st.transactions = 5;
    p[0].st.received_lsn = 0x1A2B3C8;
    p[0].st.confirmed_lsn = 0x1A2B000;
    p[0].st.last_commit_time = T0 - 2500000; /* 2.5 s before now */
    p[0].st.confirm_latency_p50_us = 1500;
    p[0].st.confirm_latency_p99_us = 250000;
    p[0].st.slot_retained_wal = 65536;
    p[0].st.slot_safe_wal_size = -1;
    p[0].st.slot_wal_status = PGCDC_WAL_STATUS_RESERVED;
    p[0].st.snapshot_rows = 40;
    p[0].st.snapshot_rows_estimate = 100;
    p[0].st.snapshot_tables = 3;
    p[0].st.snapshot_tables_done = 1;
    p[0].tables = t;
    p[0].ntables = 1;
    p[0].sinks = sinks;
    p[0].nsinks = 2;
    /* Not UTF-8 (0xff), a control character, and a valid two-byte character. */
    p[1].name = "s_\xff\x01\xc3\xa9";
    p[1].st.state = PGCDC_STATE_RECONNECTING;
    p[1].st.slot_safe_wal_size = 4096;
    p[1].st.slot_over_budget = 1;
    p[1].st.slot_retained_wal = 123456;
    p[1].st.slot_wal_status = PGCDC_WAL_STATUS_UNRESERVED;
    p[1].st.reconnects = 2;
}

static void test_figures(void **state)
{
    pgcdc_tool_metrics_pipeline p[2];
    pgcdc_table_stats t;
    json_t *doc;
    json_t *a;
    json_t *b;
    json_t *tab;
    json_t *sink;

    (void)state;
    two_pipelines(p, &t);
    doc = document(p, 2, NULL, T0);
    assert_true(num(doc, "now") > 1796295301.1 && num(doc, "now") < 1796295301.2);
    assert_int_equal(json_array_size(json_object_get(doc, "pipelines")), 2);
    a = json_array_get(json_object_get(doc, "pipelines"), 0);
    b = json_array_get(json_object_get(doc, "pipelines"), 1);

    assert_string_equal(str(a, "name"), "s_a");
    assert_string_equal(str(a, "state"), "streaming");
    assert_true(num(a, "events") == 16);
    assert_true(num(a, "transactions") == 5);
    assert_true(num(a, "rate") == 0); /* no history */
    assert_true(num(a, "lag_s") == 2.5);
    assert_true(num(a, "lag_bytes") == 0x3C8);
    assert_string_equal(str(a, "received_lsn"), "0/1A2B3C8");
    assert_string_equal(str(a, "confirmed_lsn"), "0/1A2B000");
    assert_true(num(a, "last_commit") > 1796295298.6 && num(a, "last_commit") < 1796295298.7);
    assert_true(num(a, "retained_wal") == 65536);
    assert_true(json_is_null(json_object_get(a, "safe_wal_size")));
    assert_string_equal(str(a, "wal_status"), "reserved");
    assert_true(json_is_false(json_object_get(a, "over_budget")));
    assert_true(num(a, "confirm_latency_p50_s") == 0.0015);
    assert_true(num(a, "confirm_latency_p99_s") == 0.25);
    assert_true(num(json_object_get(a, "snapshot"), "rows") == 40);
    assert_true(num(json_object_get(a, "snapshot"), "rows_estimate") == 100);
    assert_true(num(json_object_get(a, "snapshot"), "tables") == 3);
    assert_true(num(json_object_get(a, "snapshot"), "tables_done") == 1);
    assert_int_equal(json_array_size(json_object_get(a, "tables")), 1);
    tab = json_array_get(json_object_get(a, "tables"), 0);
    assert_string_equal(str(tab, "table"), "we\"ird\\name\n");
    assert_true(num(tab, "insert") == 7 && num(tab, "update") == 3 && num(tab, "delete") == 2);
    assert_true(num(tab, "truncate") == 0 && num(tab, "read") == 4);
    assert_int_equal(json_array_size(json_object_get(a, "sinks")), 2);
    sink = json_array_get(json_object_get(a, "sinks"), 0);
    assert_string_equal(str(sink, "uri"), "file:/var/lib/pgcdc/\"o\".jsonl");
    assert_string_equal(str(sink, "kind"), "file");
    assert_true(num(sink, "events") == 30 && num(sink, "bytes") == 4096);
    assert_true(num(sink, "inflight_bytes") == 0 && num(sink, "errors") == 0);
    assert_true(num(sink, "acks") == 4 && num(sink, "ack_mean_s") == 0.0025);
    sink = json_array_get(json_object_get(a, "sinks"), 1);
    assert_string_equal(str(sink, "uri"), "kafka://broker:9092/orders");
    assert_string_equal(str(sink, "kind"), "kafka");
    assert_true(num(sink, "inflight_bytes") == 512 && num(sink, "errors") == 2);
    assert_true(num(sink, "acks") == 0 && num(sink, "ack_mean_s") == 0);
    assert_int_equal(json_array_size(json_object_get(json_object_get(a, "history"), "t")), 0);

    /* The bad byte is U+FFFD, the control character escaped, é kept. */
    assert_string_equal(str(b, "name"), "s_\xef\xbf\xbd\x01\xc3\xa9");
    assert_string_equal(str(b, "state"), "reconnecting");
    assert_true(num(b, "lag_s") == 0);
    assert_true(json_is_null(json_object_get(b, "last_commit")));
    assert_true(json_is_null(json_object_get(b, "snapshot")));
    assert_true(num(b, "safe_wal_size") == 4096);
    assert_string_equal(str(b, "wal_status"), "unreserved");
    assert_true(json_is_true(json_object_get(b, "over_budget")));
    assert_true(num(b, "reconnects") == 2);
    assert_int_equal(json_array_size(json_object_get(b, "tables")), 0);
    assert_int_equal(json_array_size(json_object_get(b, "sinks")), 0);
    json_decref(doc);
}

static void test_history_series(void **state)
{
    pgcdc_tool_history *h = pgcdc_tool_history_new(2, 4);
    pgcdc_tool_metrics_pipeline p[2];
    pgcdc_table_stats t;
    pgcdc_stats st;
    json_t *doc;
    json_t *hist;

    (void)state;
    assert_non_null(h);
    two_pipelines(p, &t);
    st = p[0].st;
    st.changes = 0;
    pgcdc_tool_history_add(h, 0, &st, T0); /* primes: no point */
    /* Six points into a ring of four: 10/s, 20/s, then 30, 40, 50, 60 kept. */
    for (int k = 1; k <= 6; k++) {
        st.changes += (uint64_t)k * 20;
        st.slot_retained_wal = (uint64_t)k * 1000;
        pgcdc_tool_history_add(h, 0, &st, T0 + (int64_t)k * 2000000);
    }
    pgcdc_tool_history_add(h, 5, &st, T0); /* out of range: ignored */
    doc = document(p, 2, h, T0 + 12000000);
    hist = json_object_get(json_array_get(json_object_get(doc, "pipelines"), 0), "history");
    assert_int_equal(json_array_size(json_object_get(hist, "t")), 4);
    for (int k = 0; k < 4; k++) {
        double want = (double)(T0 + (k + 3) * 2000000LL) / 1e6;

        assert_true(fabs(json_number_value(json_array_get(json_object_get(hist, "t"), k)) - want) <
                    0.001);
        assert_true(json_number_value(json_array_get(json_object_get(hist, "rate"), k)) ==
                    (k + 3) * 10);
        assert_true(json_number_value(json_array_get(json_object_get(hist, "retained_wal"), k)) ==
                    (k + 3) * 1000);
        assert_true(json_number_value(json_array_get(json_object_get(hist, "lag_bytes"), k)) ==
                    0x3C8);
        assert_non_null(json_array_get(json_object_get(hist, "lag_s"), k));
    }
    /* The current rate is the last point's. */
    assert_true(num(json_array_get(json_object_get(doc, "pipelines"), 0), "rate") == 60);
    hist = json_object_get(json_array_get(json_object_get(doc, "pipelines"), 1), "history");
    assert_int_equal(json_array_size(json_object_get(hist, "rate")), 0);
    json_decref(doc);
    pgcdc_tool_history_free(h);
}

static void test_history_ring(void **state)
{
    pgcdc_tool_history *h = pgcdc_tool_history_new(1, 3);
    pgcdc_tool_history_point pts[8];
    pgcdc_stats st;

    (void)state;
    assert_non_null(h);
    assert_int_equal(pgcdc_tool_history_capacity(h), 3);
    assert_int_equal(pgcdc_tool_history_interval_ms(h), 0);
    memset(&st, 0, sizeof(st));
    assert_int_equal(pgcdc_tool_history_read(h, 0, pts, 8), 0);
    pgcdc_tool_history_add(h, 0, &st, T0);
    assert_int_equal(pgcdc_tool_history_read(h, 0, pts, 8), 0);
    st.changes = 5;
    pgcdc_tool_history_add(h, 0, &st, T0 + 500000);
    assert_int_equal(pgcdc_tool_history_read(h, 0, pts, 8), 1);
    assert_true(pts[0].rate == 10);
    assert_int_equal(pts[0].events, 5);
    assert_true(pts[0].t_us == T0 + 500000);
    /* The same instant again: no division by zero. */
    pgcdc_tool_history_add(h, 0, &st, T0 + 500000);
    assert_int_equal(pgcdc_tool_history_read(h, 0, pts, 8), 2);
    assert_true(pts[1].rate == 0);
    /* A smaller max: the newest points. */
    st.changes = 8;
    pgcdc_tool_history_add(h, 0, &st, T0 + 1500000);
    st.changes = 9;
    pgcdc_tool_history_add(h, 0, &st, T0 + 2500000);
    assert_int_equal(pgcdc_tool_history_read(h, 0, pts, 8), 3);
    assert_true(pts[0].rate == 0 && pts[1].rate == 3 && pts[2].rate == 1);
    assert_true(pts[0].events == 0 && pts[1].events == 3 && pts[2].events == 1);
    assert_int_equal(pgcdc_tool_history_read(h, 0, pts, 2), 2);
    assert_true(pts[0].rate == 3 && pts[1].rate == 1);
    assert_int_equal(pgcdc_tool_history_read(h, 1, pts, 8), 0);
    assert_int_equal(pgcdc_tool_history_read(NULL, 0, pts, 8), 0);
    assert_null(pgcdc_tool_history_new(1, 0));
    pgcdc_tool_history_free(h);
    pgcdc_tool_history_free(NULL);
}

/* The sampler on a worker that never starts: points every 10 ms, and a prompt stop. */
static void test_history_sampler(void **state)
{
    pgcdc_config *cfg = pgcdc_config_new();
    pgcdc_tool_history *h = pgcdc_tool_history_new(1, 100);
    pgcdc_tool_history_point pts[100];
    struct timespec nap = {0, 100000000};
    pgcdc_worker *w;
    int got;

    (void)state;
    assert_non_null(cfg);
    assert_non_null(h);
    pgcdc_config_set_conninfo(cfg, "dbname=none");
    pgcdc_config_set_slot(cfg, "s_none");
    pgcdc_config_set_publication(cfg, "p_none");
    pgcdc_config_add_table(cfg, "t");
    pgcdc_config_add_sink(cfg, "file:/dev/null");
    w = pgcdc_worker_new(cfg);
    pgcdc_config_free(cfg);
    assert_non_null(w);
    assert_int_equal(pgcdc_tool_history_start(h, &w, 10), 0);
    assert_int_equal(pgcdc_tool_history_start(h, &w, 10), -1); /* once */
    assert_int_equal(pgcdc_tool_history_interval_ms(h), 10);
    nanosleep(&nap, NULL);
    got = pgcdc_tool_history_read(h, 0, pts, 100);
    assert_true(got >= 2);
    assert_true(pts[got - 1].t_us > pts[0].t_us);
    assert_true(pts[0].rate == 0);
    pgcdc_tool_history_free(h);
    pgcdc_worker_free(w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_figures),
        cmocka_unit_test(test_history_series),
        cmocka_unit_test(test_history_ring),
        cmocka_unit_test(test_history_sampler),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
