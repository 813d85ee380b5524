/*
 * The admin server's pages without HTTP: the Prometheus text exposition
 * (families grouped across pipelines, one HELP and TYPE each, units in
 * seconds and bytes, label values escaped) and /readyz's verdict.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "metrics.h"

/* 2026-12-03T10:55:01.123456Z */
#define T0 1796295301123456LL

/* How many times needle occurs in s. */
static int count(const char *s, const char *needle)
{
    int n = 0;

    for (const char *p = strstr(s, needle); p != NULL; p = strstr(p + 1, needle))
        n++;
    return n;
}

static void two_pipelines(pgcdc_tool_metrics_pipeline p[2], pgcdc_table_stats *t)
{
    memset(p, 0, 2 * sizeof(*p));
    memset(t, 0, sizeof(*t));
    snprintf(t->schema, sizeof(t->schema), "public");
    snprintf(t->table, sizeof(t->table), "we\"ird\\name\n");
    t->inserts = 7;
    t->deletes = 2;
    p[0].name = "s_a";
    p[0].st.state = PGCDC_STATE_STREAMING;
    p[0].st.changes = 9;
    p[0].st.received_lsn = 0x1A2B3C8;
    p[0].st.confirmed_lsn = 0x1A2B000;
    p[0].st.last_commit_time = T0 - 2500000; /* 2.5 s before now */
    p[0].st.confirm_latency_p50_us = 1500;
    p[0].st.confirm_latency_p99_us = 250000;
    p[0].st.confirm_latency_sum_us = 3000000;
    p[0].st.confirmed_transactions = 4;
    p[0].st.slot_safe_wal_size = -1;
    p[0].st.slot_wal_status = PGCDC_WAL_STATUS_RESERVED;
    p[0].tables = t;
    p[0].ntables = 1;
    p[1].name = "s_b";
    p[1].st.state = PGCDC_STATE_RECONNECTING;
    p[1].st.slot_safe_wal_size = 4096;
    p[1].st.slot_over_budget = 1;
    p[1].st.slot_retained_wal = 123456;
    p[1].st.slot_wal_status = PGCDC_WAL_STATUS_UNRESERVED;
}

static void test_text(void **state)
{
    pgcdc_tool_metrics_pipeline p[2];
    pgcdc_table_stats t;
    size_t len = 0;
    char *s;

    (void)state;
    two_pipelines(p, &t);
    s = pgcdc_tool_metrics_text(p, 2, T0, &len);
    assert_non_null(s);
    assert_int_equal(strlen(s), len);
    /* Each family once, its samples together. */
    assert_int_equal(count(s, "# TYPE pgcdc_events_total counter\n"), 1);
    assert_non_null(strstr(s, "# HELP pgcdc_events_total "));
    assert_non_null(strstr(s, "pgcdc_events_total{pipeline=\"s_a\"} 9\n"
                              "pgcdc_events_total{pipeline=\"s_b\"} 0\n"));
    assert_non_null(strstr(s, "pgcdc_state{pipeline=\"s_a\",state=\"streaming\"} 1\n"));
    assert_non_null(strstr(s, "pgcdc_state{pipeline=\"s_b\",state=\"streaming\"} 0\n"
                              "pgcdc_state{pipeline=\"s_b\",state=\"reconnecting\"} 1\n"));
    assert_non_null(strstr(s, "pgcdc_slot_wal_status{pipeline=\"s_b\",status=\"unreserved\"} 1\n"));
    /* Lag: something received is unconfirmed, so the age of the last commit; and bytes. */
    assert_non_null(strstr(s, "pgcdc_lag_seconds{pipeline=\"s_a\"} 2.500000\n"
                              "pgcdc_lag_seconds{pipeline=\"s_b\"} 0.000000\n"));
    assert_non_null(strstr(s, "pgcdc_lag_bytes{pipeline=\"s_a\"} 968\n"));
    assert_non_null(strstr(s, "pgcdc_received_lsn{pipeline=\"s_a\"} 27440072\n"));
    /* No limit: no sample. */
    assert_null(strstr(s, "pgcdc_slot_safe_wal_size_bytes{pipeline=\"s_a\"}"));
    assert_non_null(strstr(s, "pgcdc_slot_safe_wal_size_bytes{pipeline=\"s_b\"} 4096\n"));
    assert_non_null(strstr(s, "pgcdc_slot_over_budget{pipeline=\"s_b\"} 1\n"));
    /* The summary in seconds. */
    assert_non_null(strstr(s, "# TYPE pgcdc_confirm_latency_seconds summary\n"
                              "pgcdc_confirm_latency_seconds{pipeline=\"s_a\",quantile=\"0.5\"} "
                              "0.001500\n"
                              "pgcdc_confirm_latency_seconds{pipeline=\"s_a\",quantile=\"0.99\"} "
                              "0.250000\n"
                              "pgcdc_confirm_latency_seconds_sum{pipeline=\"s_a\"} 3.000000\n"
                              "pgcdc_confirm_latency_seconds_count{pipeline=\"s_a\"} 4\n"));
    /* Table events, the label value escaped. */
    assert_non_null(strstr(s, "pgcdc_table_events_total{pipeline=\"s_a\",schema=\"public\","
                              "table=\"we\\\"ird\\\\name\\n\",op=\"INSERT\"} 7\n"));
    assert_non_null(strstr(s, "op=\"DELETE\"} 2\n"));
    assert_int_equal(count(s, "pgcdc_table_events_total{"), 5);
    /* Every line a comment or a sample ending in a number. */
    for (char *line = s; *line != '\0';) {
        char *nl = strchr(line, '\n');

        assert_non_null(nl);
        assert_true(line[0] == '#' || strncmp(line, "pgcdc_", 6) == 0);
        line = nl + 1;
    }
    free(s);
}

/* Two sinks of one pipeline, the second showing the same URI as the first. */
static void test_sinks(void **state)
{
    pgcdc_tool_metrics_pipeline p[2];
    pgcdc_table_stats t;
    pgcdc_sink_stats sinks[2];
    size_t len = 0;
    char *s;

    (void)state;
    two_pipelines(p, &t);
    memset(sinks, 0, sizeof(sinks));
    snprintf(sinks[0].uri, sizeof(sinks[0].uri), "http://hooks.example/in?...");
    snprintf(sinks[0].kind, sizeof(sinks[0].kind), "http");
    sinks[0].events = 12;
    sinks[0].bytes = 3456;
    sinks[0].inflight_bytes = 789;
    sinks[0].errors = 3;
    sinks[0].acks = 5;
    sinks[0].ack_latency_sum_us = 42000000; /* one over the last bound */
    for (int b = 0; b < PGCDC_SINK_ACK_BUCKETS; b++)
        sinks[0].ack_latency_buckets[b] = b < 3 ? 1 : b < 9 ? 2 : 4;
    sinks[1] = sinks[0];
    sinks[1].events = 1;
    snprintf(sinks[1].uri, sizeof(sinks[1].uri), "file:/tmp/a \"b\"");
    p[1].sinks = sinks;
    p[1].nsinks = 2;
    s = pgcdc_tool_metrics_text(p, 2, T0, &len);
    assert_non_null(s);
    assert_int_equal(count(s, "# TYPE pgcdc_sink_events_total counter\n"), 1);
    assert_int_equal(count(s, "# TYPE pgcdc_sink_inflight_bytes gauge\n"), 1);
    assert_int_equal(count(s, "# TYPE pgcdc_sink_ack_latency_seconds histogram\n"), 1);
    assert_non_null(strstr(s, "pgcdc_sink_events_total{pipeline=\"s_b\","
                              "sink=\"http://hooks.example/in?...\"} 12\n"
                              "pgcdc_sink_events_total{pipeline=\"s_b\","
                              "sink=\"file:/tmp/a \\\"b\\\"\"} 1\n"));
    assert_non_null(strstr(s, "pgcdc_sink_bytes_total{pipeline=\"s_b\",sink=\"http://hooks."
                              "example/in?...\"} 3456\n"));
    assert_non_null(strstr(s, "pgcdc_sink_inflight_bytes{pipeline=\"s_b\",sink=\"http://hooks."
                              "example/in?...\"} 789\n"));
    assert_non_null(strstr(s, "pgcdc_sink_errors_total{pipeline=\"s_b\",sink=\"http://hooks."
                              "example/in?...\"} 3\n"));
    /* The histogram: cumulative buckets with le in seconds, +Inf equal to the count. */
    assert_non_null(strstr(s, "pgcdc_sink_ack_latency_seconds_bucket{pipeline=\"s_b\","
                              "sink=\"http://hooks.example/in?...\",le=\"0.001\"} 1\n"
                              "pgcdc_sink_ack_latency_seconds_bucket{pipeline=\"s_b\","
                              "sink=\"http://hooks.example/in?...\",le=\"0.0025\"} 1\n"));
    assert_non_null(strstr(s, "le=\"0.5\"} 2\n"));
    assert_non_null(strstr(s, "pgcdc_sink_ack_latency_seconds_bucket{pipeline=\"s_b\","
                              "sink=\"http://hooks.example/in?...\",le=\"30\"} 4\n"
                              "pgcdc_sink_ack_latency_seconds_bucket{pipeline=\"s_b\","
                              "sink=\"http://hooks.example/in?...\",le=\"+Inf\"} 5\n"
                              "pgcdc_sink_ack_latency_seconds_sum{pipeline=\"s_b\","
                              "sink=\"http://hooks.example/in?...\"} 42.000000\n"
                              "pgcdc_sink_ack_latency_seconds_count{pipeline=\"s_b\","
                              "sink=\"http://hooks.example/in?...\"} 5\n"));
    assert_int_equal(
        count(s, "pgcdc_sink_ack_latency_seconds_bucket{pipeline=\"s_b\",sink=\"file:"),
        PGCDC_SINK_ACK_BUCKETS + 1);
    /* The first pipeline has no sink: no sample of it. */
    assert_null(strstr(s, "pgcdc_sink_events_total{pipeline=\"s_a\""));
    free(s);
    /* Two sinks showing the same URI: the second one's label says so. */
    snprintf(sinks[1].uri, sizeof(sinks[1].uri), "%s", sinks[0].uri);
    s = pgcdc_tool_metrics_text(p, 2, T0, &len);
    assert_non_null(s);
    assert_non_null(strstr(s, "pgcdc_sink_events_total{pipeline=\"s_b\","
                              "sink=\"http://hooks.example/in?... (2)\"} 1\n"));
    free(s);
}

/* The buckets' bounds: increasing, in seconds, from 1 ms to 30 s; 0 out of range. */
static void test_ack_bounds(void **state)
{
    (void)state;
    assert_true(pgcdc_sink_ack_bucket_bound(0) == 0.001);
    assert_true(pgcdc_sink_ack_bucket_bound(PGCDC_SINK_ACK_BUCKETS - 1) == 30.0);
    for (int i = 1; i < PGCDC_SINK_ACK_BUCKETS; i++)
        assert_true(pgcdc_sink_ack_bucket_bound(i) > pgcdc_sink_ack_bucket_bound(i - 1));
    assert_true(pgcdc_sink_ack_bucket_bound(-1) == 0);
    assert_true(pgcdc_sink_ack_bucket_bound(PGCDC_SINK_ACK_BUCKETS) == 0);
}

static void test_none(void **state)
{
    size_t len = 1;
    char *s = pgcdc_tool_metrics_text(NULL, 0, T0, &len);

    (void)state;
    assert_non_null(s);
    assert_int_equal(len, 0);
    assert_string_equal(s, "");
    free(s);
}

static void test_ready(void **state)
{
    pgcdc_tool_metrics_pipeline p[2];
    pgcdc_table_stats t;
    char why[256];

    (void)state;
    two_pipelines(p, &t);
    assert_int_equal(pgcdc_tool_metrics_ready(p, 1, why, sizeof(why)), 1);
    assert_string_equal(why, "");
    assert_int_equal(pgcdc_tool_metrics_ready(p, 2, why, sizeof(why)), 0);
    assert_string_equal(why, "s_b: reconnecting\n");
    p[1].st.state = PGCDC_STATE_STREAMING;
    assert_int_equal(pgcdc_tool_metrics_ready(p, 2, why, sizeof(why)), 0);
    assert_non_null(strstr(why, "s_b: over its WAL budget (the slot holds 123456 bytes"));
    p[0].st.state = PGCDC_STATE_STARTING;
    assert_int_equal(pgcdc_tool_metrics_ready(p, 2, why, sizeof(why)), 0);
    assert_true(strncmp(why, "s_a: starting\ns_b: over", 23) == 0);
    /* A buffer too small is cut short, still terminated. */
    assert_int_equal(pgcdc_tool_metrics_ready(p, 2, why, 8), 0);
    assert_string_equal(why, "s_a: st");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_text),       cmocka_unit_test(test_sinks),
        cmocka_unit_test(test_ack_bounds), cmocka_unit_test(test_none),
        cmocka_unit_test(test_ready),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
