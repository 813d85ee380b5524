/*
 * pgcdc --metrics-addr: /metrics in the Prometheus text format (events by
 * table and operation counted exactly, per sink series equal to what the
 * file sink wrote, errors of a webhook nobody answers, and promtool content
 * with the page), /healthz, /readyz (503 with the reason over a WAL budget),
 * 404 elsewhere, and the one-line errors for a bad or busy address.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sys/stat.h>
#include <sys/wait.h>

#include <cmocka.h>
#include <curl/curl.h>

#include "testlib.h"
#include "tool.h"

static const char *tool;

static void nap_10ms(void)
{
    struct timespec ts = {0, 10000000};

    nanosleep(&ts, NULL);
}

/* The value of the sample whose name and labels are exactly series, or -1 when absent. */
static double sample_of(const char *page, const char *series)
{
    size_t n = strlen(series);

    for (const char *p = page; p != NULL && *p != '\0';) {
        if (strncmp(p, series, n) == 0 && p[n] == ' ')
            return strtod(p + n + 1, NULL);
        p = strchr(p, '\n');
        p = p != NULL ? p + 1 : NULL;
    }
    return -1;
}

/* Waits up to 30 s for series to reach want; returns the last page (malloc'd). */
static char *wait_sample(int port, const char *series, double want)
{
    char *page = NULL;

    for (int i = 0; i < 3000; i++) {
        free(page);
        if (tl_http_get(port, "/metrics", &page, NULL, 0) == 200 && sample_of(page, series) == want)
            break;
        nap_10ms();
    }
    return page;
}

/* Waits up to 30 s for series to exceed floor; returns the last page (malloc'd). */
static char *wait_above(int port, const char *series, double floor)
{
    char *page = NULL;

    for (int i = 0; i < 3000; i++) {
        free(page);
        if (tl_http_get(port, "/metrics", &page, NULL, 0) == 200 && sample_of(page, series) > floor)
            break;
        nap_10ms();
    }
    return page;
}

/* promtool check metrics on the page: its exit status, what it said echoed on failure. */
static int promtool(const char *page)
{
    char path[] = "/tmp/pgcdc-metrics-XXXXXX";
    char cmd[256];
    int fd = mkstemp(path);
    int r;

    assert_true(fd >= 0);
    assert_int_equal(write(fd, page, strlen(page)), (ssize_t)strlen(page));
    close(fd);
    snprintf(cmd, sizeof(cmd), "/usr/bin/promtool check metrics < %s 2>&1", path);
    r = system(cmd);
    unlink(path);
    return WIFEXITED(r) ? WEXITSTATUS(r) : -1;
}

static pid_t spawn(const char *db, const char *slot, const char *pub, const char *addr,
                   const char *extra)
{
    const char *args[] = {tool,        "-d",
                          db,          "-S",
                          slot,        "-P",
                          pub,         "-t",
                          "o",         "-o",
                          "/dev/null", "--metrics-addr",
                          addr,        extra != NULL ? "-X" : NULL,
                          extra,       NULL};
    pid_t pid = tt_spawn(args, "/dev/null");

    assert_true(tt_wait_stderr("streaming from slot"));
    return pid;
}

static void test_metrics_page(void **state)
{
    const char *db = tl_fresh_db("t_mx_page");
    int port = tl_free_port();
    char addr[64];
    char *page = NULL;
    pid_t pid;

    (void)state;
    snprintf(addr, sizeof(addr), "127.0.0.1:%d", port);
    tl_sql(db, "CREATE TABLE o (id int PRIMARY KEY, v text)");
    tl_sql(db, "INSERT INTO o SELECT g, 'r' FROM generate_series(101, 104) g");
    pid = spawn(db, "s_mx_page", "p_mx_page", addr, "snapshot=initial");
    tl_sql(db, "INSERT INTO o SELECT g, 'x' FROM generate_series(1, 7) g");
    tl_sql(db, "UPDATE o SET v = 'y' WHERE id <= 3");
    tl_sql(db, "DELETE FROM o WHERE id = 7");
    page = wait_sample(port,
                       "pgcdc_table_events_total{pipeline=\"s_mx_page\",schema=\"public\","
                       "table=\"o\",op=\"DELETE\"}",
                       1);
    assert_non_null(page);
    assert_true(sample_of(page, "pgcdc_table_events_total{pipeline=\"s_mx_page\",schema=\"public\","
                                "table=\"o\",op=\"INSERT\"}") == 7);
    assert_true(sample_of(page, "pgcdc_table_events_total{pipeline=\"s_mx_page\",schema=\"public\","
                                "table=\"o\",op=\"UPDATE\"}") == 3);
    assert_true(sample_of(page, "pgcdc_table_events_total{pipeline=\"s_mx_page\",schema=\"public\","
                                "table=\"o\",op=\"TRUNCATE\"}") == 0);
    assert_true(sample_of(page, "pgcdc_table_events_total{pipeline=\"s_mx_page\",schema=\"public\","
                                "table=\"o\",op=\"READ\"}") == 4);
    assert_true(sample_of(page, "pgcdc_events_total{pipeline=\"s_mx_page\"}") == 15);
    assert_true(sample_of(page, "pgcdc_transactions_total{pipeline=\"s_mx_page\"}") >= 3);
    assert_true(sample_of(page, "pgcdc_state{pipeline=\"s_mx_page\",state=\"streaming\"}") == 1);
    assert_true(sample_of(page, "pgcdc_received_bytes_total{pipeline=\"s_mx_page\"}") > 0);
    assert_true(sample_of(page, "pgcdc_received_lsn{pipeline=\"s_mx_page\"}") > 0);
    assert_non_null(strstr(page, "# TYPE pgcdc_confirm_latency_seconds summary\n"));
    if (promtool(page) != 0)
        fail_msg("promtool check metrics failed on:\n%s", page);
    free(page);

    assert_int_equal(tl_http_get(port, "/healthz", &page, NULL, 0), 200);
    assert_string_equal(page, "ok\n");
    free(page);
    assert_int_equal(tl_http_get(port, "/readyz", &page, NULL, 0), 200);
    assert_string_equal(page, "ok\n");
    free(page);
    assert_int_equal(tl_http_get(port, "/nothing", &page, NULL, 0), 404);
    free(page);
    tl_sql(db, "TRUNCATE o");
    page = wait_sample(port,
                       "pgcdc_table_events_total{pipeline=\"s_mx_page\",schema=\"public\","
                       "table=\"o\",op=\"TRUNCATE\"}",
                       1);
    assert_true(sample_of(page, "pgcdc_table_events_total{pipeline=\"s_mx_page\",schema=\"public\","
                                "table=\"o\",op=\"TRUNCATE\"}") == 1);
    free(page);

    kill(pid, SIGTERM);
    assert_int_equal(tt_wait(pid), 0);
    /* The server stopped with the tool. */
    assert_int_equal(tl_http_get(port, "/healthz", &page, NULL, 0), 0);
    free(page);
}

/* `name{pipeline="PIPELINE",sink="SINK"}` into buf. */
static const char *sink_series(char *buf, size_t size, const char *name, const char *pipeline,
                               const char *sink)
{
    snprintf(buf, size, "%s{pipeline=\"%s\",sink=\"%s\"}", name, pipeline, sink);
    return buf;
}

/* The file sink's series: its events and bytes are what it wrote, every commit acknowledged. */
static void test_sink_series(void **state)
{
    const char *db = tl_fresh_db("t_mx_sink");
    char out[] = "/tmp/pgcdc-mxsink-XXXXXX";
    char sink[64];
    char addr[64];
    char s[256];
    char *page;
    int port = tl_free_port();
    struct stat sb;
    double txns;
    pid_t pid;

    (void)state;
    close(mkstemp(out));
    snprintf(sink, sizeof(sink), "file:%s", out);
    snprintf(addr, sizeof(addr), "127.0.0.1:%d", port);
    tl_sql(db, "CREATE TABLE o (id int PRIMARY KEY, v text)");
    pid = tt_spawn((const char *[]){tool, "-d", db, "-S", "s_mx_sink", "-P", "p_mx_sink", "-t", "o",
                                    "-o", out, "--metrics-addr", addr, NULL},
                   "/dev/null");
    assert_true(tt_wait_stderr("streaming from slot"));
    tl_sql(db, "INSERT INTO o SELECT g, 'x' FROM generate_series(1, 5) g");
    tl_sql(db, "INSERT INTO o VALUES (6, 'y')");
    tl_sql(db, "UPDATE o SET v = 'z' WHERE id = 6");
    tl_sql(db, "DELETE FROM o WHERE id = 1");
    page = wait_sample(
        port, sink_series(s, sizeof(s), "pgcdc_sink_ack_latency_seconds_count", "s_mx_sink", sink),
        4);
    txns = sample_of(page, "pgcdc_transactions_total{pipeline=\"s_mx_sink\"}");
    assert_true(txns == 4);
    assert_true(sample_of(page, sink_series(s, sizeof(s), "pgcdc_sink_ack_latency_seconds_count",
                                            "s_mx_sink", sink)) == txns);
    assert_true(sample_of(page, sink_series(s, sizeof(s), "pgcdc_sink_events_total", "s_mx_sink",
                                            sink)) == 8 + 2 * txns);
    assert_int_equal(stat(out, &sb), 0);
    assert_true(sb.st_size > 0);
    assert_true(sample_of(page, sink_series(s, sizeof(s), "pgcdc_sink_bytes_total", "s_mx_sink",
                                            sink)) == (double)sb.st_size);
    assert_true(sample_of(page, sink_series(s, sizeof(s), "pgcdc_sink_errors_total", "s_mx_sink",
                                            sink)) == 0);
    assert_true(sample_of(page, sink_series(s, sizeof(s), "pgcdc_sink_inflight_bytes", "s_mx_sink",
                                            sink)) == 0);
    snprintf(s, sizeof(s),
             "pgcdc_sink_ack_latency_seconds_bucket{pipeline=\"s_mx_sink\",sink=\"%s\","
             "le=\"+Inf\"}",
             sink);
    assert_true(sample_of(page, s) == txns);
    snprintf(s, sizeof(s),
             "pgcdc_sink_ack_latency_seconds_bucket{pipeline=\"s_mx_sink\",sink=\"%s\","
             "le=\"30\"}",
             sink);
    assert_true(sample_of(page, s) == txns);
    assert_non_null(strstr(page, "# TYPE pgcdc_sink_ack_latency_seconds histogram\n"));
    if (promtool(page) != 0)
        fail_msg("promtool check metrics failed on:\n%s", page);
    free(page);
    kill(pid, SIGTERM);
    assert_int_equal(tt_wait(pid), 0);
    unlink(out);
}

/*
 * A webhook at a port nobody listens on, next to the file sink: its errors
 * grow while it retries, its bytes wait in flight; the file sink's stay at 0.
 */
static void test_sink_errors(void **state)
{
    const char *db = tl_fresh_db("t_mx_sinkerr");
    char url[64];
    char addr[64];
    char s[256];
    char *page;
    int port = tl_free_port();
    pid_t pid;

    (void)state;
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/hook", tl_free_port());
    snprintf(addr, sizeof(addr), "127.0.0.1:%d", port);
    tl_sql(db, "CREATE TABLE o (id int PRIMARY KEY)");
    pid = tt_spawn((const char *[]){tool,
                                    "-d",
                                    db,
                                    "-S",
                                    "s_mx_sinkerr",
                                    "-P",
                                    "p_mx_sinkerr",
                                    "-t",
                                    "o",
                                    "-o",
                                    "/dev/null",
                                    "--sink",
                                    url,
                                    "-X",
                                    "sink.http.retry_initial=10ms",
                                    "-X",
                                    "sink.http.retry_max=50ms",
                                    "--metrics-addr",
                                    addr,
                                    NULL},
                   "/dev/null");
    assert_true(tt_wait_stderr("streaming from slot"));
    tl_sql(db, "INSERT INTO o SELECT generate_series(1, 10)");
    page = wait_above(port,
                      sink_series(s, sizeof(s), "pgcdc_sink_errors_total", "s_mx_sinkerr", url), 2);
    assert_true(sample_of(page, s) > 2);
    assert_true(sample_of(page, sink_series(s, sizeof(s), "pgcdc_sink_inflight_bytes",
                                            "s_mx_sinkerr", url)) > 0);
    assert_true(sample_of(page, sink_series(s, sizeof(s), "pgcdc_sink_ack_latency_seconds_count",
                                            "s_mx_sinkerr", url)) == 0);
    assert_true(sample_of(page, sink_series(s, sizeof(s), "pgcdc_sink_errors_total", "s_mx_sinkerr",
                                            "file:/dev/null")) == 0);
    assert_true(sample_of(page, sink_series(s, sizeof(s), "pgcdc_sink_events_total", "s_mx_sinkerr",
                                            "file:/dev/null")) == 12);
    if (promtool(page) != 0)
        fail_msg("promtool check metrics failed on:\n%s", page);
    free(page);
    /* It stops with the webhook still failing: whatever it says, it does not crash. */
    kill(pid, SIGTERM);
    tt_wait(pid);
}

/* A WAL budget of one byte: the first reading of the slot is over it, so not ready. */
static void test_readyz_over_budget(void **state)
{
    const char *db = tl_fresh_db("t_mx_budget");
    int port = tl_free_port();
    char addr[64];
    char *page = NULL;
    long status = 0;
    pid_t pid;

    (void)state;
    snprintf(addr, sizeof(addr), "127.0.0.1:%d", port);
    tl_sql(db, "CREATE TABLE o (id int PRIMARY KEY)");
    pid = spawn(db, "s_mx_budget", "p_mx_budget", addr, "slot.max_retained_wal=1");
    tl_sql(db, "INSERT INTO o SELECT generate_series(1, 100)");
    for (int i = 0; i < 3000; i++) {
        free(page);
        status = tl_http_get(port, "/readyz", &page, NULL, 0);
        if (status == 503)
            break;
        nap_10ms();
    }
    assert_int_equal(status, 503);
    assert_non_null(strstr(page, "s_mx_budget: over its WAL budget"));
    free(page);
    page = wait_sample(port, "pgcdc_slot_over_budget{pipeline=\"s_mx_budget\"}", 1);
    assert_true(sample_of(page, "pgcdc_slot_over_budget{pipeline=\"s_mx_budget\"}") == 1);
    assert_true(sample_of(page, "pgcdc_slot_retained_wal_bytes{pipeline=\"s_mx_budget\"}") > 1);
    free(page);
    assert_int_equal(tl_http_get(port, "/healthz", &page, NULL, 0), 200);
    free(page);
    kill(pid, SIGTERM);
    assert_int_equal(tt_wait(pid), 0);
}

/* Two pipelines of a --config file (metrics_addr in it): one scrape, a pipeline label each. */
static void test_pipelines(void **state)
{
    const char *db = tl_fresh_db("t_mx_pipes");
    char cfg[] = "/tmp/pgcdc-mxcfg-XXXXXX";
    char text[1024];
    char *page = NULL;
    int port = tl_free_port();
    FILE *f;
    pid_t pid;

    (void)state;
    close(mkstemp(cfg));
    tl_sql(db, "CREATE TABLE a (id int PRIMARY KEY)");
    tl_sql(db, "CREATE TABLE b (id int PRIMARY KEY)");
    snprintf(text, sizeof(text),
             "dbname: dbname=t_mx_pipes\n"
             "metrics_addr: 127.0.0.1:%d\n"
             "output: /dev/null\n"
             "pipelines:\n"
             "  - slot: s_mx_pa\n"
             "    publication: p_mx_pa\n"
             "    table: a\n"
             "  - slot: s_mx_pb\n"
             "    publication: p_mx_pb\n"
             "    table: b\n",
             port);
    f = fopen(cfg, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    pid = tt_spawn((const char *[]){tool, "--config", cfg, NULL}, "/dev/null");
    for (int i = 0; i < 3000 && tt_count_stderr("streaming from slot") < 2; i++)
        nap_10ms();
    assert_int_equal(tt_count_stderr("streaming from slot"), 2);
    tl_sql(db, "INSERT INTO a VALUES (1), (2); INSERT INTO b VALUES (3)");
    page = wait_sample(port, "pgcdc_events_total{pipeline=\"s_mx_pb\"}", 1);
    assert_true(sample_of(page, "pgcdc_events_total{pipeline=\"s_mx_pb\"}") == 1);
    free(page);
    page = wait_sample(port, "pgcdc_events_total{pipeline=\"s_mx_pa\"}", 2);
    assert_true(sample_of(page, "pgcdc_table_events_total{pipeline=\"s_mx_pa\",schema=\"public\","
                                "table=\"a\",op=\"INSERT\"}") == 2);
    assert_true(sample_of(page, "pgcdc_table_events_total{pipeline=\"s_mx_pb\",schema=\"public\","
                                "table=\"b\",op=\"INSERT\"}") == 1);
    if (promtool(page) != 0)
        fail_msg("promtool check metrics failed on:\n%s", page);
    free(page);
    assert_int_equal(tl_http_get(port, "/readyz", &page, NULL, 0), 200);
    free(page);
    kill(pid, SIGTERM);
    assert_int_equal(tt_wait(pid), 0);
    unlink(cfg);
}

static void test_bad_address(void **state)
{
    const char *db = "dbname=t_mx_none";
    char addr[64];
    int port;
    int fd;

    (void)state;
    assert_int_equal(tt_run((const char *[]){tool, "-d", db, "-S", "s_mx_none", "-P", "p_mx_none",
                                             "--metrics-addr", "9187", NULL}),
                     2);
    tt_assert_stderr_one_line("invalid metrics address \"9187\" (use HOST:PORT");
    assert_int_equal(tt_run((const char *[]){tool, "-d", db, "-S", "s_mx_none", "-P", "p_mx_none",
                                             "--metrics-addr", "127.0.0.1:99999", NULL}),
                     2);
    tt_assert_stderr_one_line("invalid metrics address \"127.0.0.1:99999\"");
    /* Taken by another socket: nothing is started, exit 1. */
    fd = tl_bound_socket(&port, 1);
    snprintf(addr, sizeof(addr), "127.0.0.1:%d", port);
    assert_int_equal(tt_run((const char *[]){tool, "-d", db, "-S", "s_mx_none", "-P", "p_mx_none",
                                             "--metrics-addr", addr, NULL}),
                     1);
    tt_assert_stderr_one_line("could not listen on metrics address");
    tt_assert_stderr_one_line("Address already in use (choose a free port with --metrics-addr)");
    close(fd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bad_address),        cmocka_unit_test(test_metrics_page),
        cmocka_unit_test(test_sink_series),        cmocka_unit_test(test_sink_errors),
        cmocka_unit_test(test_readyz_over_budget), cmocka_unit_test(test_pipelines),
    };
    int r;

    tl_env();
    tool = tt_tool();
    curl_global_init(CURL_GLOBAL_DEFAULT);
    r = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    tt_cleanup();
    return r;
}
