/*
 * The command line's snapshot progress line: rows of the estimate, the bar,
 * the rate and the time left, as a terminal shows them.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "progress.h"

static void test_line(void **state)
{
    pgcdc_snapshot_table t;
    char line[256];

    (void)state;
    memset(&t, 0, sizeof(t));
    strcpy(t.table, "public.orders");
    t.rows = 2500000;
    t.rows_estimate = 10000000;
    pgcdc_tool_progress_line(line, sizeof(line), &t, 500000.0);
    assert_non_null(strstr(line, "public.orders"));
    assert_non_null(strstr(line, "[#####...............]"));
    assert_non_null(strstr(line, "2.5M/~10.0M"));
    assert_non_null(strstr(line, " 25%"));
    assert_non_null(strstr(line, "500.0k rows/s"));
    assert_non_null(strstr(line, "ETA 0:00:15"));
    /* Past the estimate: 99 % until it is done, and no time left is promised. */
    t.rows = 12000000;
    pgcdc_tool_progress_line(line, sizeof(line), &t, 1000.0);
    assert_non_null(strstr(line, " 99%"));
    assert_null(strstr(line, "ETA"));
    t.done = 1;
    pgcdc_tool_progress_line(line, sizeof(line), &t, 0);
    assert_non_null(strstr(line, "[####################]"));
    assert_non_null(strstr(line, "100%"));
    assert_non_null(strstr(line, "done"));
    /* No estimate (a table never analyzed): rows only. */
    memset(&t, 0, sizeof(t));
    strcpy(t.table, "public.new");
    t.rows = 42;
    pgcdc_tool_progress_line(line, sizeof(line), &t, 0);
    assert_non_null(strstr(line, "42/~0"));
    assert_non_null(strstr(line, "  0%"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_line),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
