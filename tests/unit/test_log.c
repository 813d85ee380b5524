/*
 * The command line's log lines (text and JSON, with their timestamps) and
 * the status line and summary figures.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "log.h"
#include "status.h"

/* 2026-12-03T10:55:01.123456Z */
#define T0 1796295301123456LL

static void test_text(void **state)
{
    char buf[512];

    (void)state;
    pgcdc_tool_log_format_line(buf, sizeof(buf), PGCDC_TOOL_LOG_TEXT, T0, PGCDC_LOG_INFO, NULL,
                               "streaming from slot \"s\"");
    assert_string_equal(buf, "2026-12-03T10:55:01.123Z pgcdc: info: streaming from slot \"s\"");
    pgcdc_tool_log_format_line(buf, sizeof(buf), PGCDC_TOOL_LOG_TEXT, T0, PGCDC_LOG_WARNING, "a",
                               "x");
    assert_string_equal(buf, "2026-12-03T10:55:01.123Z pgcdc[a]: warning: x");
}

static void test_json(void **state)
{
    char buf[512];
    json_error_t e;
    json_t *o;

    (void)state;
    pgcdc_tool_log_format_line(buf, sizeof(buf), PGCDC_TOOL_LOG_JSON, T0, PGCDC_LOG_ERROR, "p\"1",
                               "a \"quoted\" \\ line\nand\ta tab");
    o = json_loads(buf, 0, &e);
    assert_non_null(o);
    assert_string_equal(json_string_value(json_object_get(o, "time")), "2026-12-03T10:55:01.123Z");
    assert_string_equal(json_string_value(json_object_get(o, "level")), "error");
    assert_string_equal(json_string_value(json_object_get(o, "pipeline")), "p\"1");
    assert_string_equal(json_string_value(json_object_get(o, "msg")),
                        "a \"quoted\" \\ line\nand\ta tab");
    json_decref(o);
    pgcdc_tool_log_format_line(buf, sizeof(buf), PGCDC_TOOL_LOG_JSON, T0, PGCDC_LOG_DEBUG, NULL,
                               "d");
    assert_string_equal(
        buf, "{\"time\":\"2026-12-03T10:55:01.123Z\",\"level\":\"debug\",\"msg\":\"d\"}");
    /* Not UTF-8 (a server message in another encoding): still valid JSON. */
    pgcdc_tool_log_format_line(buf, sizeof(buf), PGCDC_TOOL_LOG_JSON, T0, PGCDC_LOG_INFO, NULL,
                               "caf\xe9 \xc3\xa9");
    o = json_loads(buf, 0, &e);
    assert_non_null(o);
    assert_string_equal(json_string_value(json_object_get(o, "msg")), "caf\xef\xbf\xbd \xc3\xa9");
    json_decref(o);
}

static void test_status(void **state)
{
    pgcdc_stats st;
    char buf[512];

    (void)state;
    memset(&st, 0, sizeof(st));
    st.state = PGCDC_STATE_STREAMING;
    st.changes = 1500;
    st.transactions = 30;
    st.confirmed_lsn = 0x1A2B3C8;
    st.received_lsn = 0x1A2B3C8;
    st.last_commit_time = T0 - 5000000;
    /* Everything received is confirmed: no lag, however old the last change. */
    assert_true(pgcdc_tool_status_lag(&st, T0) == 0);
    pgcdc_tool_status_line(buf, sizeof(buf), &st, 12.5, T0);
    assert_string_equal(buf,
                        "streaming  12.5 events/s  lag 0.0 s  confirmed 0/1A2B3C8  1500 events");
    pgcdc_tool_status_line_several(buf, sizeof(buf), 3, PGCDC_STATE_RECONNECTING, 40, 2.5, 9000);
    assert_string_equal(buf,
                        "3 pipelines reconnecting  40.0 events/s  worst lag 2.5 s  9000 events");
    /* Behind: the age of the last change handed out. */
    st.received_lsn = 0x1A2B3C8 + 4096;
    assert_true(pgcdc_tool_status_lag(&st, T0) == 5.0);
    pgcdc_tool_status_summary(buf, sizeof(buf), &st, 600, 60, T0);
    assert_string_equal(buf, "streaming: 600 events in the last 60 s (10.0/s), 1500 in all in 30 "
                             "transactions; lag 5.0 s, 4096 bytes received and not confirmed; "
                             "confirmed 0/1A2B3C8");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_text),
        cmocka_unit_test(test_json),
        cmocka_unit_test(test_status),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
