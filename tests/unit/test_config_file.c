/*
 * The command line's --config file: YAML into settings with their places,
 * nested maps flattened, lists, ${ENV} substitution, pipelines, and errors
 * that name the line and column and the fix.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "config_file.h"

static char path[] = "/tmp/pgcdc-cfg-XXXXXX";

static void write_file(const char *text)
{
    FILE *f = fopen(path, "w");

    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

/* Reads text; returns the error (empty when read) into err. */
static int read_text(const char *text, pgcdc_tool_config_file *f, char *err, size_t n)
{
    write_file(text);
    err[0] = '\0';
    return pgcdc_tool_config_file_read(path, f, err, n);
}

static void assert_setting(const pgcdc_tool_config_file *f, int i, const char *key,
                           const char *value, int line, int column, int pipeline)
{
    assert_true(i < f->nsettings);
    assert_string_equal(f->settings[i].key, key);
    assert_string_equal(f->settings[i].value, value);
    assert_int_equal(f->settings[i].line, line);
    assert_int_equal(f->settings[i].column, column);
    assert_int_equal(f->settings[i].pipeline, pipeline);
}

static void test_settings(void **state)
{
    pgcdc_tool_config_file f;
    char err[512];

    (void)state;
    setenv("PGCDC_T_HOST", "db.example", 1);
    unsetenv("PGCDC_T_UNSET");
    assert_int_equal(read_text("# a pipeline\n"
                               "dbname: host=${PGCDC_T_HOST} port=${PGCDC_T_UNSET:-5433}\n"
                               "slot: orders\n"
                               "tables: [public.a, 'public.\"B\"']\n"
                               "heartbeat:\n"
                               "  interval: 10s\n"
                               "sink:\n"
                               "  kafka: {linger.ms: 5}\n"
                               "note: \"costs $$5 ${PGCDC_T_UNSET:-}\"\n",
                               &f, err, sizeof(err)),
                     0);
    assert_int_equal(f.npipelines, 0);
    assert_int_equal(f.nsettings, 7);
    assert_setting(&f, 0, "dbname", "host=db.example port=5433", 2, 9, -1);
    assert_setting(&f, 1, "slot", "orders", 3, 7, -1);
    assert_setting(&f, 2, "tables", "public.a", 4, 10, -1);
    assert_setting(&f, 3, "tables", "public.\"B\"", 4, 20, -1);
    assert_setting(&f, 4, "heartbeat.interval", "10s", 6, 13, -1);
    assert_setting(&f, 5, "sink.kafka.linger.ms", "5", 8, 22, -1);
    assert_setting(&f, 6, "note", "costs $5 ", 9, 7, -1);
    pgcdc_tool_config_file_free(&f);

    /* An empty file is no settings. */
    assert_int_equal(read_text("", &f, err, sizeof(err)), 0);
    assert_int_equal(f.nsettings, 0);
    pgcdc_tool_config_file_free(&f);
}

static void test_pipelines(void **state)
{
    pgcdc_tool_config_file f;
    char err[512];

    (void)state;
    assert_int_equal(read_text("dbname: x\n"
                               "pipelines:\n"
                               "  - slot: a\n"
                               "    table: t1\n"
                               "  - slot: b\n"
                               "    tables: [t2, t3]\n"
                               "format: debezium\n",
                               &f, err, sizeof(err)),
                     0);
    assert_int_equal(f.npipelines, 2);
    assert_setting(&f, 0, "dbname", "x", 1, 9, -1);
    assert_setting(&f, 1, "slot", "a", 3, 11, 0);
    assert_setting(&f, 2, "table", "t1", 4, 12, 0);
    assert_setting(&f, 3, "slot", "b", 5, 11, 1);
    assert_setting(&f, 5, "tables", "t3", 6, 18, 1);
    assert_setting(&f, 6, "format", "debezium", 7, 9, -1);
    pgcdc_tool_config_file_free(&f);
}

/* Each error: the file's name, the line and column, and what to do. */
static void expect_error(const char *text, const char *where, const char *what)
{
    pgcdc_tool_config_file f;
    char err[512];
    char want[64];

    assert_int_equal(read_text(text, &f, err, sizeof(err)), -1);
    snprintf(want, sizeof(want), "%s:%s: ", path, where);
    if (strncmp(err, want, strlen(want)) != 0 || strstr(err, what) == NULL)
        fail_msg("got \"%s\", want \"%s...%s\"", err, want, what);
    assert_int_equal(f.nsettings, 0);
}

static void test_errors(void **state)
{
    (void)state;
    unsetenv("PGCDC_T_UNSET");
    expect_error("slot: a\n  bad: [\n", "2:6", "not valid YAML");
    expect_error("slot: a\n\tpublication: p\n", "2:1", "not valid YAML");
    expect_error("dbname: ${PGCDC_T_UNSET}\n", "1:9",
                 "PGCDC_T_UNSET is not set (set it, or give a default");
    expect_error("dbname: ${PGCDC_T_UNSET\n", "1:9", "without its \"}\"");
    expect_error("dbname: ${9x}\n", "1:9", "not an environment variable's name");
    expect_error("dbname: ${X:default}\n", "1:9", "${X:-default}");
    expect_error("slot: a\nslot: b\n", "2:1", "slot is given twice (also on line 1");
    expect_error("slot:\n", "1:6", "slot has no value");
    expect_error("- a\n- b\n", "1:1", "must be a map of settings");
    expect_error("tables: [[a]]\n", "1:10", "the items of tables must be values");
    expect_error("pipelines: {slot: a}\n", "1:12", "pipelines is a list of maps");
    expect_error("pipelines: [a]\n", "1:13", "each pipeline is a map");
    expect_error("pipelines: []\n", "1:12", "pipelines is empty");
    expect_error("pipelines:\n  - slot: a\n    pipelines: [{slot: b}]\n", "3:16",
                 "pipelines go at the top");
    {
        pgcdc_tool_config_file f;
        char err[512];

        assert_int_equal(
            pgcdc_tool_config_file_read("/nonexistent/pgcdc.yaml", &f, err, sizeof(err)), -1);
        assert_string_equal(err, "/nonexistent/pgcdc.yaml: cannot read it: No such file or "
                                 "directory");
    }
}

static void test_key_is(void **state)
{
    (void)state;
    assert_true(pgcdc_tool_key_is("metrics-addr", "metrics_addr"));
    assert_true(pgcdc_tool_key_is("slot", "slot"));
    assert_false(pgcdc_tool_key_is("slots", "slot"));
    assert_false(pgcdc_tool_key_is("slot", "slots"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_settings),
        cmocka_unit_test(test_pipelines),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_key_is),
    };
    int fd = mkstemp(path);
    int r;

    if (fd < 0)
        return 1;
    close(fd);
    r = cmocka_run_group_tests(tests, NULL, NULL);
    unlink(path);
    return r;
}
