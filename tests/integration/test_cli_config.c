/*
 * pgcdc --config FILE: a pipeline streamed from a YAML file, with ${ENV}
 * and flags overriding the file; --check finding bad settings with their
 * line and column; several pipelines in one process, each with its own
 * slot, tables and output; log lines with their time and level, as text
 * or JSON, and a summary every interval; pgcdc status; systemd's
 * notifications.
 */
#include <signal.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "testlib.h"
#include "tool.h"

static const char *tool;
static const char *outpath;

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");

    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

/* The "new" ids of a file's events, and that each event's table is table. */
static int ids_of(const char *path, const char *table, int *ids, int max)
{
    json_t *lines = tt_parse_lines(path);
    int n = 0;

    for (size_t i = 0; i < json_array_size(lines) && n < max; i++) {
        json_t *o = json_array_get(lines, i);

        assert_string_equal(json_string_value(json_object_get(o, "table")), table);
        ids[n++] = (int)json_integer_value(json_object_get(json_object_get(o, "new"), "id"));
    }
    json_decref(lines);
    return n;
}

static void test_file_and_flags(void **state)
{
    const char *db = tl_fresh_db("t_cfg");
    char cfg[] = "/tmp/pgcdc-cfg-XXXXXX";
    char out[] = "/tmp/pgcdc-cfgout-XXXXXX";
    char text[1024];
    char endpos[32];
    json_t *lines;
    int fd;

    (void)state;
    close(mkstemp(cfg));
    fd = mkstemp(out);
    close(fd);
    tl_sql(db, "CREATE TABLE a (id int PRIMARY KEY, v text)");
    tl_sql(db, "CREATE TABLE b (id int PRIMARY KEY, v text)");
    setenv("PGCDC_T_DB", "t_cfg", 1);
    snprintf(text, sizeof(text),
             "# one pipeline\n"
             "dbname: dbname=${PGCDC_T_DB}\n"
             "slot: s_yml\n"
             "publication: p_cfg\n"
             "tables: [a, b]\n"
             "output: %s\n"
             "format: debezium\n"
             "handler:\n"
             "  retries: 2\n",
             out);
    write_file(cfg, text);
    assert_int_equal(tt_run((const char *[]){tool, "--config", cfg, "--check", NULL}), 0);
    {
        char *said = tt_slurp(outpath);

        assert_non_null(strstr(said, "ok (1 pipeline: s_yml)"));
        free(said);
    }
    /* The first run makes the slot; then rows of both tables, in native JSON by flag. */
    pgcdc_lsn_format(tl_current_lsn(db), endpos, sizeof(endpos));
    assert_int_equal(tt_run((const char *[]){tool, "--config", cfg, "-E", endpos, NULL}), 0);
    tl_sql(db, "INSERT INTO a VALUES (1, 'x'); INSERT INTO b VALUES (2, 'y')");
    pgcdc_lsn_format(tl_current_lsn(db), endpos, sizeof(endpos));
    assert_int_equal(
        tt_run((const char *[]){tool, "--config", cfg, "-E", endpos, "-F", "json", NULL}), 0);
    lines = tt_parse_lines(out);
    assert_int_equal(json_array_size(lines), 2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(lines, 0), "op")),
                        "INSERT");
    assert_string_equal(json_string_value(json_object_get(json_array_get(lines, 1), "table")), "b");
    json_decref(lines);
    /* Without the flag, the file's format. */
    tl_sql(db, "INSERT INTO a VALUES (3, 'z')");
    pgcdc_lsn_format(tl_current_lsn(db), endpos, sizeof(endpos));
    assert_int_equal(tt_run((const char *[]){tool, "--config", cfg, "-E", endpos, NULL}), 0);
    lines = tt_parse_lines(out);
    assert_int_equal(json_array_size(lines), 3);
    assert_string_equal(json_string_value(json_object_get(json_array_get(lines, 2), "op")), "c");
    json_decref(lines);
    /* A flag's output replaces the file's. */
    tl_sql(db, "INSERT INTO a VALUES (4, 'w')");
    pgcdc_lsn_format(tl_current_lsn(db), endpos, sizeof(endpos));
    assert_int_equal(tt_run((const char *[]){tool, "--config", cfg, "-E", endpos, "-o", "-", NULL}),
                     0);
    lines = tt_parse_lines(outpath);
    assert_int_equal(json_array_size(lines), 1);
    json_decref(lines);
    lines = tt_parse_lines(out);
    assert_int_equal(json_array_size(lines), 3);
    json_decref(lines);
    unlink(cfg);
    unlink(out);
}

static void test_check_reports_positions(void **state)
{
    char cfg[] = "/tmp/pgcdc-cfg-XXXXXX";
    char *err;

    (void)state;
    close(mkstemp(cfg));
    write_file(cfg, "dbname: x\n"
                    "slot: s\n"
                    "publication: p\n"
                    "handler:\n"
                    "  retries: lots\n"
                    "format: xml\n"
                    "frobnicate: 1\n");
    assert_int_equal(tt_run((const char *[]){tool, "--config", cfg, "--check", NULL}), 2);
    err = tt_slurp(tt_err());
    /* Every bad setting, each on its line with its place and what would do. */
    assert_non_null(strstr(err, ":5:12: invalid value \"lots\" for handler.retries (use an "
                                "integer)\n"));
    assert_non_null(
        strstr(err, ":6:9: invalid value \"xml\" for format (use one of: json|debezium|wal2json)"));
    assert_non_null(strstr(err, ":7:13: unknown property \"frobnicate\""));
    free(err);
    write_file(cfg, "slot: s\n  publication: [\n");
    assert_int_equal(tt_run((const char *[]){tool, "--config", cfg, "--check", NULL}), 2);
    tt_assert_stderr_one_line("not valid YAML");
    write_file(cfg, "dbname: x\nslot: s\n");
    assert_int_equal(tt_run((const char *[]){tool, "--config", cfg, "--check", NULL}), 2);
    tt_assert_stderr_one_line("no publication given");
    assert_int_equal(tt_run((const char *[]){tool, "--check", NULL}), 2);
    tt_assert_stderr_one_line("--check goes with --config FILE");
    assert_int_equal(tt_run((const char *[]){tool, "--config", "/nonexistent.yaml", NULL}), 2);
    tt_assert_stderr_one_line("cannot read it");
    unlink(cfg);
}

static void test_pipelines(void **state)
{
    const char *db = tl_fresh_db("t_cfg_pipes");
    char cfg[] = "/tmp/pgcdc-cfg-XXXXXX";
    char out_a[] = "/tmp/pgcdc-cfga-XXXXXX";
    char out_b[] = "/tmp/pgcdc-cfgb-XXXXXX";
    char text[1024];
    int ids[16];
    pid_t pid;

    (void)state;
    close(mkstemp(cfg));
    close(mkstemp(out_a));
    close(mkstemp(out_b));
    tl_sql(db, "CREATE TABLE a (id int PRIMARY KEY, v text)");
    tl_sql(db, "CREATE TABLE b (id int PRIMARY KEY, v text)");
    snprintf(text, sizeof(text),
             "dbname: dbname=t_cfg_pipes\n"
             "pipelines:\n"
             "  - slot: s_yml_a\n"
             "    publication: p_cfg_a\n"
             "    table: a\n"
             "    output: %s\n"
             "  - slot: s_yml_b\n"
             "    publication: p_cfg_b\n"
             "    table: b\n"
             "    output: %s\n",
             out_a, out_b);
    write_file(cfg, text);
    /* A flag naming one pipeline is refused. */
    assert_int_equal(tt_run((const char *[]){tool, "--config", cfg, "-S", "x", NULL}), 2);
    tt_assert_stderr_one_line("--slot names one pipeline, and the file has 2");
    pid = tt_spawn((const char *[]){tool, "--config", cfg, NULL}, "/dev/null");
    /* Each pipeline streaming (a slot shows active while it is still being created). */
    assert_true(tt_wait_stderr("streaming from slot \"s_yml_a\""));
    assert_true(tt_wait_stderr("streaming from slot \"s_yml_b\""));
    tl_sql(db, "INSERT INTO a VALUES (1, 'x'), (2, 'y'); INSERT INTO b VALUES (7, 'z')");
    for (int i = 0; i < 3000 && (tl_count_lines(out_a) < 2 || tl_count_lines(out_b) < 1); i++)
        tl_sleep_ms(10);
    kill(pid, SIGTERM);
    assert_int_equal(tt_wait(pid), 0);
    /* Each pipeline's rows in its own output, and only those. */
    assert_int_equal(ids_of(out_a, "a", ids, 16), 2);
    assert_int_equal(ids[0], 1);
    assert_int_equal(ids[1], 2);
    assert_int_equal(ids_of(out_b, "b", ids, 16), 1);
    assert_int_equal(ids[0], 7);
    unlink(cfg);
    unlink(out_a);
    unlink(out_b);
}

/* Waits until path has n lines (a test's bound, not a timing assertion). */
static void wait_lines(const char *path, long n)
{
    for (int i = 0; i < 3000 && tl_count_lines(path) < n; i++)
        tl_sleep_ms(10);
    assert_int_equal(tl_count_lines(path), n);
}

/* "a1 b2" for the events of path: their tables and ids. */
static void events_of(const char *path, char *buf, size_t size)
{
    json_t *lines = tt_parse_lines(path);
    size_t n = 0;

    buf[0] = '\0';
    for (size_t i = 0; i < json_array_size(lines); i++) {
        json_t *o = json_array_get(lines, i);

        n += (size_t)snprintf(
            buf + n, size - n, "%s%s%d", n > 0 ? " " : "",
            json_string_value(json_object_get(o, "table")),
            (int)json_integer_value(json_object_get(json_object_get(o, "new"), "id")));
    }
    json_decref(lines);
}

static void write_routed(const char *cfg, const char *out_a, const char *routed, const char *all)
{
    char text[1024];

    snprintf(text, sizeof(text),
             "dbname: dbname=t_cfg_route\n"
             "slot: s_yml_route\n"
             "publication: p_cfg_route\n"
             "tables: [a, b]\n"
             "sinks:\n"
             "  - uri: file:%s\n"
             "    tables: [%s]\n"
             "  - file:%s\n",
             out_a, routed, all);
    write_file(cfg, text);
}

/*
 * Sinks routed tables in the file; SIGHUP with a bad file keeps the
 * pipeline as it was, with a changed file starts it again with the new
 * routes, and with the same file changes nothing.
 */
static void test_routes_and_reload(void **state)
{
    const char *db = tl_fresh_db("t_cfg_route");
    char cfg[] = "/tmp/pgcdc-cfg-XXXXXX";
    char out_a[] = "/tmp/pgcdc-cfgr-XXXXXX";
    char all[] = "/tmp/pgcdc-cfgall-XXXXXX";
    char got[256];
    char *err;
    pid_t pid;

    (void)state;
    close(mkstemp(cfg));
    close(mkstemp(out_a));
    close(mkstemp(all));
    tl_sql(db, "CREATE TABLE a (id int PRIMARY KEY); CREATE TABLE b (id int PRIMARY KEY)");
    /* A route to a table not streamed is found by --check. */
    write_routed(cfg, out_a, "c", all);
    assert_int_equal(tt_run((const char *[]){tool, "--config", cfg, "--check", NULL}), 2);
    tt_assert_stderr_one_line("is routed c, which is not among the tables streamed");
    assert_int_equal(tt_run((const char *[]){tool, "-d", "x", "--route", "a", NULL}), 2);
    tt_assert_stderr_one_line("--route goes after the --sink, --exec or --output it routes");

    write_routed(cfg, out_a, "a", all);
    pid = tt_spawn((const char *[]){tool, "--config", cfg, NULL}, "/dev/null");
    assert_true(tt_wait_stderr("streaming from slot \"s_yml_route\""));
    err = tt_slurp(tt_err());
    assert_non_null(strstr(err, "(publication \"p_cfg_route\": public.a, public.b;"));
    free(err);
    tl_sql(db, "INSERT INTO a VALUES (1); INSERT INTO b VALUES (2)");
    wait_lines(all, 2);

    /* A bad file: said, and the pipeline goes on as it was. */
    write_file(cfg, "slot: [\n");
    kill(pid, SIGHUP);
    assert_true(tt_wait_stderr("still running as before"));
    tl_sql(db, "INSERT INTO a VALUES (3)");
    wait_lines(all, 3);

    /* Routed to b now: stopped, and started again with it. */
    write_routed(cfg, out_a, "public.b", all);
    kill(pid, SIGHUP);
    assert_true(tt_wait_stderr("changed; the pipelines stop and start again with it"));
    for (int i = 0; i < 3000 && tt_count_stderr("streaming from slot") < 2; i++)
        tl_sleep_ms(10);
    assert_int_equal(tt_count_stderr("streaming from slot"), 2);
    tl_sql(db, "INSERT INTO a VALUES (4); INSERT INTO b VALUES (5)");
    wait_lines(all, 5);
    kill(pid, SIGHUP);
    assert_true(tt_wait_stderr("unchanged; output files reopened"));
    kill(pid, SIGTERM);
    assert_int_equal(tt_wait(pid), 0);
    assert_int_equal(tt_count_stderr("streaming from slot"), 2);

    events_of(out_a, got, sizeof(got));
    tl_assert_str(got, "a1 a3 b5");
    events_of(all, got, sizeof(got));
    tl_assert_str(got, "a1 b2 a3 a4 b5");

    /* Sinks on the command line replace the file's, routes and all. */
    pid =
        tt_spawn((const char *[]){tool, "--config", cfg, "--sink", "-", "--route", "a", NULL}, all);
    assert_true(tt_wait_stderr("streaming from slot \"s_yml_route\""));
    tl_sql(db, "INSERT INTO b VALUES (6); INSERT INTO a VALUES (7)");
    wait_lines(all, 1);
    kill(pid, SIGTERM);
    assert_int_equal(tt_wait(pid), 0);
    events_of(all, got, sizeof(got));
    tl_assert_str(got, "a7");
    unlink(cfg);
    unlink(out_a);
    unlink(all);
}

/* Streaming for a while: a line when it starts, then summaries, each a JSON object. */
static void test_log_lines(void **state)
{
    const char *db = tl_fresh_db("t_cfg_log");
    const char *args[] = {tool,
                          "-d",
                          "dbname=t_cfg_log",
                          "-S",
                          "s_yml_log",
                          "-P",
                          "p_yml_log",
                          "-t",
                          "l",
                          "-o",
                          "/dev/null",
                          "--log-format",
                          "json",
                          "--summary-interval",
                          "1",
                          NULL};
    char *err;
    char *line;
    char *save = NULL;
    int starts = 0;
    int summaries = 0;
    pid_t pid;

    (void)state;
    tl_sql(db, "CREATE TABLE l (id int PRIMARY KEY)");
    pid = tt_spawn(args, "/dev/null");
    assert_true(tt_wait_stderr("\"msg\":\"streaming from slot"));
    tl_sql(db, "INSERT INTO l SELECT generate_series(1, 5)");
    assert_true(tt_wait_stderr("\"msg\":\"streaming: 5 events"));
    kill(pid, SIGTERM);
    assert_int_equal(tt_wait(pid), 0);
    err = tt_slurp(tt_err());
    for (line = strtok_r(err, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
        json_error_t e;
        json_t *o = json_loads(line, 0, &e);
        const char *msg;
        const char *when;

        if (o == NULL)
            fail_msg("not a JSON line: %s", line);
        msg = json_string_value(json_object_get(o, "msg"));
        when = json_string_value(json_object_get(o, "time"));
        assert_non_null(msg);
        /* 2026-12-03T10:55:01.123Z */
        assert_non_null(when);
        assert_int_equal(strlen(when), 24);
        assert_true(when[10] == 'T' && when[23] == 'Z');
        assert_string_equal(json_string_value(json_object_get(o, "level")), "info");
        starts += strncmp(msg, "streaming from slot \"s_yml_log\"", 31) == 0;
        summaries += strncmp(msg, "streaming: ", 11) == 0;
        json_decref(o);
    }
    free(err);
    assert_int_equal(starts, 1);
    assert_true(summaries >= 1);
}

/* pgcdc status: the slot and the publication, without streaming. */
static void test_status(void **state)
{
    const char *db = tl_fresh_db("t_cfg_st");
    const char *base[] = {tool, "-d", "dbname=t_cfg_st", "-S", "s_yml_st", "-P", "p_yml_st",
                          "-t", "st", "status",          NULL};
    const char *make[] = {tool, "-d", "dbname=t_cfg_st", "-S", "s_yml_st", "-P", "p_yml_st",
                          "-t", "st", "--create-slot",   NULL};
    const char *stream[] = {tool, "-d", "dbname=t_cfg_st", "-S", "s_yml_st", "-P", "p_yml_st", "-t",
                            "st", "-o", "/dev/null",       NULL};
    char want[64];
    char *out;
    char *v = NULL;
    pid_t pid;

    (void)state;
    tl_sql(db, "CREATE TABLE st (id int PRIMARY KEY)");
    /* Nothing made yet: said, exit 3, and nothing created by asking. */
    assert_int_equal(tt_run(base), 3);
    out = tt_slurp(outpath);
    assert_string_equal(out, "s_yml_st\n  slot: missing (created at the first start)\n"
                             "  publication: missing (created at the first start)\n");
    free(out);
    v = tl_sql_value(db, "SELECT count(*) FROM pg_replication_slots WHERE slot_name = 's_yml_st'");
    assert_string_equal(v, "0");
    free(v);
    assert_int_equal(tt_run(make), 0);
    assert_int_equal(tt_run(base), 0);
    out = tt_slurp(outpath);
    assert_non_null(strstr(out, "  slot: inactive, database t_cfg_st, plugin pgoutput\n"));
    assert_non_null(strstr(out, "wal_status reserved"));
    assert_non_null(strstr(out, "  publication: 1 table: public.st\n"));
    free(out);
    /* While a pgcdc streams from it: active, and its pid. */
    pid = tt_spawn(stream, "/dev/null");
    tl_wait_slots_active(db, "'s_yml_st'", 1);
    assert_int_equal(tt_run(base), 0);
    out = tt_slurp(outpath);
    snprintf(want, sizeof(want), "  slot: active, pid ");
    assert_non_null(strstr(out, want));
    free(out);
    kill(pid, SIGTERM);
    assert_int_equal(tt_wait(pid), 0);
}

/* Run by systemd (Type=notify, WatchdogSec): READY=1 once streaming, the watchdog fed, STOPPING=1.
 */
static void test_systemd_notify(void **state)
{
    const char *db = tl_fresh_db("t_cfg_sd");
    const char *args[] = {tool, "-d", "dbname=t_cfg_sd", "-S", "s_yml_sd", "-P", "p_yml_sd", "-t",
                          "sd", "-o", "/dev/null",       NULL};
    char sock[] = "/tmp/pgcdc-notify-XXXXXX";
    struct sockaddr_un addr;
    struct timeval tv = {0, 200000};
    int ready = 0, watchdog = 0, status = 0, stopping = 0;
    int fd;
    pid_t pid;

    (void)state;
    tl_sql(db, "CREATE TABLE sd (id int PRIMARY KEY)");
    close(mkstemp(sock));
    unlink(sock);
    fd = socket(AF_UNIX, SOCK_DGRAM, 0);
    assert_true(fd >= 0);
    memset(&addr, 0, sizeof(addr));
    addr.sun_family = AF_UNIX;
    snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", sock);
    assert_int_equal(bind(fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
    assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
    setenv("NOTIFY_SOCKET", sock, 1);
    setenv("WATCHDOG_USEC", "1000000", 1);
    pid = tt_spawn(args, "/dev/null");
    unsetenv("NOTIFY_SOCKET");
    unsetenv("WATCHDOG_USEC");
    for (int i = 0; i < 300 && !(ready && watchdog >= 2 && status); i++) {
        char msg[512];
        ssize_t n = recv(fd, msg, sizeof(msg) - 1, 0);

        if (n <= 0)
            continue;
        msg[n] = '\0';
        ready += strcmp(msg, "READY=1") == 0;
        watchdog += strcmp(msg, "WATCHDOG=1") == 0;
        status += strncmp(msg, "STATUS=streaming ", 17) == 0;
        /* Ready only once, and before anything says streaming. */
        assert_true(ready <= 1);
    }
    assert_int_equal(ready, 1);
    assert_true(watchdog >= 2);
    assert_true(status >= 1);
    kill(pid, SIGTERM);
    assert_int_equal(tt_wait(pid), 0);
    for (int i = 0; i < 20 && !stopping; i++) {
        char msg[512];
        ssize_t n = recv(fd, msg, sizeof(msg) - 1, 0);

        if (n > 0) {
            msg[n] = '\0';
            stopping += strcmp(msg, "STOPPING=1") == 0;
        }
    }
    assert_int_equal(stopping, 1);
    close(fd);
    unlink(sock);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_file_and_flags),
        cmocka_unit_test(test_check_reports_positions),
        cmocka_unit_test(test_pipelines),
        cmocka_unit_test(test_log_lines),
        cmocka_unit_test(test_status),
        cmocka_unit_test(test_systemd_notify),
        cmocka_unit_test(test_routes_and_reload),
    };
    int r;

    tl_env();
    tool = tt_tool();
    outpath = tt_out();
    r = cmocka_run_group_tests(tests, NULL, NULL);
    tt_cleanup();
    return r;
}
