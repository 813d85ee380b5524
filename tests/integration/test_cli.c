/*
 * The pgcdc command: help, version and bad usage; slot management; streaming
 * to an exact end position; output parsed back with a real JSON parser;
 * --output surviving a kill -9 with nothing lost; properties by -X, sinks by
 * --sink, and the property table by --help-config.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "testlib.h"
#include "tool.h"

static const char *tool;
static const char *outpath;
static const char *errpath;

static void test_help_version_usage(void **state)
{
    char *out;

    (void)state;
    assert_int_equal(tt_run((const char *[]){tool, "--help", NULL}), 0);
    out = tt_slurp(outpath);
    assert_non_null(strstr(out, "Usage:"));
    assert_non_null(strstr(out, "--endpos"));
    free(out);
    assert_int_equal(tt_run((const char *[]){tool, "--version", NULL}), 0);
    out = tt_slurp(outpath);
    assert_string_equal(out, "pgcdc " PGCDC_VERSION_STRING "\n");
    free(out);

    assert_int_equal(tt_run((const char *[]){tool, "--bogus", NULL}), 2);
    tt_assert_stderr_one_line("unknown option \"--bogus\"");
    assert_int_equal(tt_run((const char *[]){tool, "-d", "dbname=x", "--slot", NULL}), 2);
    tt_assert_stderr_one_line("--slot");
    assert_int_equal(tt_run((const char *[]){tool, "-d", "x", "-S", "Bad-Name", "-P", "p", NULL}),
                     2);
    tt_assert_stderr_one_line("invalid slot name");
    assert_int_equal(
        tt_run((const char *[]){tool, "-d", "x", "-S", "s", "-P", "p", "-F", "xml", NULL}), 2);
    tt_assert_stderr_one_line("unknown format \"xml\"");
    assert_int_equal(
        tt_run((const char *[]){tool, "-d", "x", "-S", "s", "-P", "p", "-E", "zz", NULL}), 2);
    tt_assert_stderr_one_line("invalid end position \"zz\"");
    assert_int_equal(
        tt_run((const char *[]){tool, "-d", "x", "-S", "s", "-P", "p", "-s", "0", NULL}), 2);
    tt_assert_stderr_one_line("invalid status interval");
    assert_int_equal(tt_run((const char *[]){tool, "-d", "x", "-P", "p", NULL}), 2);
    tt_assert_stderr_one_line("no slot given");
    assert_int_equal(tt_run((const char *[]){tool, "-d", "x", "-S", "s", NULL}), 2);
    tt_assert_stderr_one_line("no publication given");
    assert_int_equal(tt_run((const char *[]){tool, "-d", "x", "-S", "s", "-P", "p", "extra", NULL}),
                     2);
    tt_assert_stderr_one_line("unexpected argument \"extra\"");
    /* Runtime failure: a table that does not exist. */
    assert_int_equal(tt_run((const char *[]){tool, "-d", "dbname=postgres", "-S", "s_cli_x", "-P",
                                             "p_cli_x", "-t", "nope", NULL}),
                     1);
    tt_assert_stderr_one_line("table \"nope\" does not exist");
}

static void test_stream_to_endpos(void **state)
{
    const char *db = tl_fresh_db("t_cli");
    char endpos[32];
    json_t *lines;
    json_t *o;
    char *v;

    (void)state;
    /* Numeric infinities came with PostgreSQL 14: a float8 column takes them before. */
    tl_sql(db, "CREATE TABLE c (id int PRIMARY KEY, v text, n %s, f float8, b bool)",
           tl_server_version(db) >= 140000 ? "numeric" : "float8");
    /* Neither slot nor publication exists: the first run creates both. */
    pgcdc_lsn_format(tl_current_lsn(db), endpos, sizeof(endpos));
    assert_int_equal(tt_run((const char *[]){tool, "-d", "dbname=t_cli", "-S", "s_cli", "-P",
                                             "p_cli", "-t", "c", "-E", endpos, NULL}),
                     0);
    v = tl_sql_value(db, "SELECT count(*) FROM pg_replication_slots WHERE slot_name = 's_cli'");
    assert_string_equal(v, "1");
    free(v);
    assert_int_equal(tt_run((const char *[]){tool, "-d", "dbname=t_cli", "-S", "s_cli", "-P",
                                             "p_cli", "-t", "c", "--create-slot", NULL}),
                     1);
    tt_assert_stderr_one_line("already exists");
    assert_int_equal(
        tt_run((const char *[]){tool, "-d", "dbname=t_cli", "-S", "s_cli", "-P", "p_cli", "-t", "c",
                                "--create-slot", "--if-not-exists", NULL}),
        0);

    tl_sql(db, "INSERT INTO c VALUES (1, 'caf\xc3\xa9 \"q\"', 1.50, 'NaN', true),"
               "(2, NULL, 'Infinity', '-Infinity', false)");
    tl_sql(db, "UPDATE c SET v = 'x' WHERE id = 2; DELETE FROM c WHERE id = 1");
    pgcdc_lsn_format(tl_current_lsn(db), endpos, sizeof(endpos));
    /* Written after the end position: must not appear in this run. */
    tl_sql(db, "INSERT INTO c VALUES (3, 'later', 0, 0, true)");
    assert_int_equal(tt_run((const char *[]){tool, "-d", "dbname=t_cli", "-S", "s_cli", "-P",
                                             "p_cli", "-t", "c", "-E", endpos, NULL}),
                     0);
    lines = tt_parse_lines(outpath);
    assert_int_equal(json_array_size(lines), 4);
    o = json_array_get(lines, 0);
    assert_string_equal(json_string_value(json_object_get(o, "op")), "INSERT");
    assert_string_equal(json_string_value(json_object_get(o, "table")), "c");
    assert_int_equal(json_integer_value(json_object_get(json_object_get(o, "new"), "id")), 1);
    assert_string_equal(json_string_value(json_object_get(json_object_get(o, "new"), "v")),
                        "caf\xc3\xa9 \"q\"");
    assert_true(json_real_value(json_object_get(json_object_get(o, "new"), "n")) == 1.5);
    assert_string_equal(json_string_value(json_object_get(json_object_get(o, "new"), "f")), "NaN");
    assert_true(json_is_true(json_object_get(json_object_get(o, "new"), "b")));
    assert_int_equal(json_integer_value(json_object_get(o, "seq")), 0);
    o = json_array_get(lines, 1);
    assert_true(json_is_null(json_object_get(json_object_get(o, "new"), "v")));
    assert_string_equal(json_string_value(json_object_get(json_object_get(o, "new"), "n")),
                        "Infinity");
    assert_int_equal(json_integer_value(json_object_get(o, "seq")), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(lines, 2), "op")),
                        "UPDATE");
    assert_string_equal(json_string_value(json_object_get(json_array_get(lines, 3), "op")),
                        "DELETE");
    json_decref(lines);

    /* The next run starts after what was confirmed: only the later row. */
    pgcdc_lsn_format(tl_current_lsn(db), endpos, sizeof(endpos));
    assert_int_equal(
        tt_run((const char *[]){tool, "-d", "dbname=t_cli", "-S", "s_cli", "-P", "p_cli", "-t", "c",
                                "-E", endpos, "-F", "debezium", NULL}),
        0);
    lines = tt_parse_lines(outpath);
    assert_int_equal(json_array_size(lines), 1);
    o = json_array_get(lines, 0);
    assert_string_equal(json_string_value(json_object_get(o, "op")), "c");
    assert_int_equal(json_integer_value(json_object_get(json_object_get(o, "after"), "id")), 3);
    json_decref(lines);

    assert_int_equal(
        tt_run((const char *[]){tool, "-d", "dbname=t_cli", "-S", "s_cli", "--drop-slot", NULL}),
        0);
    assert_int_equal(
        tt_run((const char *[]){tool, "-d", "dbname=t_cli", "-S", "s_cli", "--drop-slot", NULL}),
        3);
    tt_assert_stderr_one_line("does not exist");
}

static void test_output_survives_kill(void **state)
{
    const char *db = tl_fresh_db("t_cli_out");
    char endpos[32];
    char file[] = "/tmp/pgcdc-out-XXXXXX";
    const char *args[] = {tool,        "-d",        "dbname=t_cli_out",
                          "-S",        "s_cli_out", "-P",
                          "p_cli_out", "-t",        "o",
                          "-o",        file,        "-E",
                          endpos,      NULL};
    int fd = mkstemp(file);
    json_t *lines;
    char *seen;
    size_t i;
    int status;

    (void)state;
    close(fd);
    tl_sql(db, "CREATE TABLE o (id int PRIMARY KEY, pad text)");
    pgcdc_lsn_format(tl_current_lsn(db), endpos, sizeof(endpos));
    assert_int_equal(tt_run(args), 0);
    tl_sql(db, "DO $$ BEGIN FOR t IN 0..99 LOOP "
               "INSERT INTO o SELECT t * 100 + i, repeat('p', 200) FROM generate_series(1, 100) i;"
               "COMMIT; END LOOP; END $$");
    pgcdc_lsn_format(tl_current_lsn(db), endpos, sizeof(endpos));
    for (int round = 0; round < 3; round++) {
        pid_t pid = tt_spawn(args, "/dev/null");
        struct timespec ts = {0, 2000000};

        for (int k = 0; k < 5000 && tl_count_lines(file) < (round + 1) * 2500; k++)
            nanosleep(&ts, NULL);
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
    }
    /* Append a torn line, as a crash in the middle of a write leaves. */
    fd = open(file, O_WRONLY | O_APPEND);
    assert_int_equal(write(fd, "{\"op\":\"INS", 10), 10);
    close(fd);
    assert_int_equal(tt_run(args), 0);
    lines = tt_parse_lines(file);
    seen = calloc(10001, 1);
    for (i = 0; i < json_array_size(lines); i++) {
        json_int_t id = json_integer_value(
            json_object_get(json_object_get(json_array_get(lines, i), "new"), "id"));

        assert_true(id >= 1 && id <= 10000);
        seen[id] = 1;
    }
    for (int k = 1; k <= 10000; k++) {
        if (!seen[k])
            fail_msg("row %d lost", k);
    }
    fprintf(stderr, "  %zu lines for 10000 rows after 3 kills\n", json_array_size(lines));
    free(seen);
    json_decref(lines);
    unlink(file);
}

/* --request-snapshot asks the pgcdc streaming from the database for a snapshot of some rows. */
static void test_request_snapshot(void **state)
{
    const char *db = tl_fresh_db("t_cli_req");
    char file[] = "/tmp/pgcdc-req-XXXXXX";
    const char *args[] = {
        tool, "-d", "dbname=t_cli_req", "-S",    "s_cli_req", "-P", "p_cli_req", "-t", "q",
        "-o", file, "--snapshot",       "never", NULL};
    int fd = mkstemp(file);
    json_t *lines;
    pid_t pid;

    (void)state;
    close(fd);
    tl_sql(db, "CREATE TABLE q (id int PRIMARY KEY, v text)");
    tl_sql(db, "INSERT INTO q SELECT g, 'v' || g FROM generate_series(1, 50) g");
    /* No table named: refused, saying what to give. */
    assert_int_not_equal(
        tt_run((const char *[]){tool, "-d", "dbname=t_cli_req", "--request-snapshot", ",", NULL}),
        0);
    tt_assert_stderr_one_line("no table to snapshot");
    if (tl_server_version(db) < 140000) {
        /* No logical messages from pgoutput before 14: the request is refused, saying so. */
        assert_int_not_equal(tt_run((const char *[]){tool, "-d", "dbname=t_cli_req",
                                                     "--request-snapshot", "public.q", NULL}),
                             0);
        tt_assert_stderr_one_line("snapshot requests need PostgreSQL 14 or later");
        unlink(file);
        return;
    }
    pid = tt_spawn(args, "/dev/null");
    tl_wait_slots_active(db, "'s_cli_req'", 1);
    assert_int_equal(
        tt_wait(tt_spawn((const char *[]){tool, "-d", "dbname=t_cli_req", "--request-snapshot",
                                          "public.q", "--where", "id > 40", NULL},
                         "/dev/null")),
        0);
    for (int i = 0; i < 3000 && tl_count_lines(file) < 10; i++)
        tl_sleep_ms(10);
    kill(pid, SIGTERM);
    assert_int_equal(tt_wait(pid), 0);
    /* The rows of the condition, once each, as READ events. */
    lines = tt_parse_lines(file);
    assert_int_equal(json_array_size(lines), 10);
    for (size_t i = 0; i < json_array_size(lines); i++) {
        json_t *o = json_array_get(lines, i);

        assert_string_equal(json_string_value(json_object_get(o, "op")), "READ");
        assert_int_equal(json_integer_value(json_object_get(json_object_get(o, "new"), "id")),
                         41 + (json_int_t)i);
    }
    json_decref(lines);
    unlink(file);
}

static void test_sigterm_confirms_handled(void **state)
{
    const char *db = tl_fresh_db("t_cli_sig");
    char endpos[32];
    char file[] = "/tmp/pgcdc-sig-XXXXXX";
    const char *args[] = {tool,        "-d",        "dbname=t_cli_sig",
                          "-S",        "s_cli_sig", "-P",
                          "p_cli_sig", "-t",        "g",
                          "-o",        file,        "-s",
                          "1",         NULL,        NULL,
                          NULL};
    int fd = mkstemp(file);
    struct timespec ts = {0, 10000000};
    json_t *lines;
    uint64_t last;
    pid_t pid;
    int status;

    (void)state;
    close(fd);
    tl_sql(db, "CREATE TABLE g (id int PRIMARY KEY)");
    pgcdc_lsn_format(tl_current_lsn(db), endpos, sizeof(endpos));
    args[13] = "-E";
    args[14] = endpos;
    assert_int_equal(tt_run(args), 0);
    args[13] = NULL;
    tl_sql(db, "DO $$ BEGIN FOR t IN 0..49 LOOP "
               "INSERT INTO g SELECT t * 100 + i FROM generate_series(1, 100) i;"
               "COMMIT; END LOOP; END $$");
    pid = tt_spawn(args, "/dev/null");
    for (int k = 0; k < 3000 && tl_count_lines(file) < 5000; k++)
        nanosleep(&ts, NULL);
    assert_int_equal(tl_count_lines(file), 5000);
    kill(pid, SIGTERM);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    /* Everything written was confirmed on the way out. */
    lines = tt_parse_lines(file);
    assert_int_equal(
        pgcdc_lsn_parse(
            json_string_value(json_object_get(json_array_get(lines, 4999), "commit_lsn")), &last),
        PGCDC_OK);
    assert_true(tl_slot_confirmed(db, "s_cli_sig") > last);
    json_decref(lines);
    /* So a restart repeats nothing. */
    pgcdc_lsn_format(tl_current_lsn(db), endpos, sizeof(endpos));
    args[13] = "-E";
    assert_int_equal(tt_run(args), 0);
    assert_int_equal(tl_count_lines(file), 5000);
    unlink(file);
}

static void test_sigterm_under_load(void **state)
{
    const char *db = tl_fresh_db("t_cli_load");
    char endpos[32];
    char file[] = "/tmp/pgcdc-load-XXXXXX";
    const char *args[] = {tool,         "-d",         "dbname=t_cli_load",
                          "-S",         "s_cli_load", "-P",
                          "p_cli_load", "-t",         "l",
                          "-o",         file,         "-v",
                          NULL,         NULL,         NULL};
    int fd = mkstemp(file);
    struct timespec ts = {0, 2000000};
    char *err;
    char *at;
    uint64_t said;
    json_t *lines;
    char *seen;
    pid_t pid;
    int status;

    (void)state;
    close(fd);
    tl_sql(db, "CREATE TABLE l (id int PRIMARY KEY, pad text)");
    pgcdc_lsn_format(tl_current_lsn(db), endpos, sizeof(endpos));
    args[12] = "-E";
    args[13] = endpos;
    assert_int_equal(tt_run(args), 0);
    args[12] = NULL;
    tl_sql(db, "DO $$ BEGIN FOR t IN 0..599 LOOP "
               "INSERT INTO l SELECT t * 100 + i, repeat('p', 300) FROM generate_series(1, 100) i;"
               "COMMIT; END LOOP; END $$");
    /* Stopped while the server still has most of the stream to send. */
    pid = tt_spawn(args, "/dev/null");
    for (int k = 0; k < 10000 && tl_count_lines(file) < 3000; k++)
        nanosleep(&ts, NULL);
    kill(pid, SIGTERM);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    /* The last confirm pgcdc reports reached the server. */
    err = tt_slurp(errpath);
    at = strstr(err, "confirmed up to ");
    if (at == NULL)
        fail_msg("no final confirm in the log: %s", err);
    *strchr(at, '\n') = '\0';
    assert_int_equal(pgcdc_lsn_parse(at + strlen("confirmed up to "), &said), PGCDC_OK);
    free(err);
    assert_true(said > 0);
    assert_true(tl_slot_confirmed(db, "s_cli_load") == said);
    /* A restart delivers the rest, every row exactly once. */
    pgcdc_lsn_format(tl_current_lsn(db), endpos, sizeof(endpos));
    args[12] = "-E";
    assert_int_equal(tt_run(args), 0);
    lines = tt_parse_lines(file);
    seen = calloc(60001, 1);
    for (size_t i = 0; i < json_array_size(lines); i++) {
        json_int_t id = json_integer_value(
            json_object_get(json_object_get(json_array_get(lines, i), "new"), "id"));

        assert_true(id >= 1 && id <= 60000);
        if (seen[id]++)
            fail_msg("row %d delivered twice", (int)id);
    }
    assert_int_equal(json_array_size(lines), 60000);
    free(seen);
    json_decref(lines);
    unlink(file);
}

static void test_output_faults(void **state)
{
    const char *db = tl_fresh_db("t_cli_disk");
    char endpos[32];
    char file[] = "/tmp/pgcdc-disk-XXXXXX";
    char shim[1200];
    const char *args[] = {
        tool, "-d", "dbname=t_cli_disk", "-S", "s_cli_disk", "-P", "p_cli_disk", "-t",
        "d",  "-o", "/dev/full",         "-E", endpos,       NULL};
    uint64_t before;
    json_t *lines;
    int fd = mkstemp(file);

    (void)state;
    close(fd);
    tl_sql(db, "CREATE TABLE d (id int PRIMARY KEY)");
    args[10] = file;
    pgcdc_lsn_format(tl_current_lsn(db), endpos, sizeof(endpos));
    assert_int_equal(tt_run(args), 0);
    before = tl_slot_confirmed(db, "s_cli_disk");
    tl_sql(db, "INSERT INTO d SELECT generate_series(1, 50)");
    pgcdc_lsn_format(tl_current_lsn(db), endpos, sizeof(endpos));

    /* A full disk: a clear error, and nothing confirmed. */
    args[10] = "/dev/full";
    assert_int_equal(tt_run(args), 1);
    tt_assert_stderr_one_line("No space left on device");
    assert_int_equal(tl_slot_confirmed(db, "s_cli_disk"), before);

    /* fsync failing: the same. */
    snprintf(shim, sizeof(shim), "%s/tests/libfailsync.so", getenv("PGCDC_BINARY_DIR"));
    setenv("LD_PRELOAD", shim, 1);
    setenv("PGCDC_FAIL_FSYNC_AFTER", "0", 1);
    setenv("ASAN_OPTIONS", "verify_asan_link_order=0:detect_leaks=0", 1);
    args[10] = file;
    assert_int_equal(tt_run(args), 1);
    unsetenv("LD_PRELOAD");
    unsetenv("PGCDC_FAIL_FSYNC_AFTER");
    unsetenv("ASAN_OPTIONS");
    tt_assert_stderr_one_line("could not fsync");
    assert_int_equal(tl_slot_confirmed(db, "s_cli_disk"), before);

    /* Once the disk is healthy again, nothing is lost. */
    assert_int_equal(tt_run(args), 0);
    lines = tt_parse_lines(file);
    assert_true(json_array_size(lines) >= 50);
    assert_int_equal(
        json_integer_value(json_object_get(
            json_object_get(json_array_get(lines, json_array_size(lines) - 1), "new"), "id")),
        50);
    assert_true(tl_slot_confirmed(db, "s_cli_disk") > before);
    json_decref(lines);
    unlink(file);
}

/* ---- properties: -X, --sink, --help-config ---- */

static void test_property_flags_refused(void **state)
{
    const char *base[] = {tool, "-d", "dbname=x", "-S", "s", "-P", "p", NULL, NULL, NULL};
    char longkey[300];

    (void)state;
    /* Refused while the flags are read: one line naming the key or value, exit 2. */
    base[7] = "-X";
    base[8] = "nosuch=1";
    assert_int_equal(tt_run(base), 2);
    tt_assert_stderr_one_line("unknown property \"nosuch\"");
    base[8] = "sink.mqtt.brokers=h:9092";
    assert_int_equal(tt_run(base), 2);
    tt_assert_stderr_one_line("unknown sink kind \"sink.mqtt.brokers\"");
    base[8] = "sink.file.nosuch=1";
    assert_int_equal(tt_run(base), 2);
    tt_assert_stderr_one_line("unknown property of that sink \"sink.file.nosuch\"");
    base[8] = "status_interval=fast";
    assert_int_equal(tt_run(base), 2);
    tt_assert_stderr_one_line("invalid value \"fast\" for status_interval");
    /* The table is where the valid values are. */
    tt_assert_stderr_one_line("(see pgcdc --help-config)");
    base[8] = "status-interval=1h";
    assert_int_equal(tt_run(base), 2);
    tt_assert_stderr_one_line("status_interval must be between 100 and 10000 ms");
    base[8] = "binary=maybe";
    assert_int_equal(tt_run(base), 2);
    tt_assert_stderr_one_line("invalid value \"maybe\" for binary (use true or false)");
    base[8] = "format=xml";
    assert_int_equal(tt_run(base), 2);
    tt_assert_stderr_one_line("json|debezium|wal2json");
    base[8] = "sink.file.flush_bytes=1TB";
    assert_int_equal(tt_run(base), 2);
    tt_assert_stderr_one_line("for sink.file.flush_bytes");
    /* A newline in the value cannot split the message. */
    base[8] = "binary=true\nfalse";
    assert_int_equal(tt_run(base), 2);
    tt_assert_stderr_one_line("\"true?false\"");
    /* No name is this long: refused as unknown, and cut short in the message. */
    memset(longkey, 'k', sizeof(longkey) - 3);
    memcpy(longkey + sizeof(longkey) - 3, "=1", 3);
    base[8] = longkey;
    assert_int_equal(tt_run(base), 2);
    tt_assert_stderr_one_line("unknown property \"kkkk");
    base[8] = "binary";
    assert_int_equal(tt_run(base), 2);
    tt_assert_stderr_one_line("-X needs KEY=VALUE, not \"binary\"");
    base[8] = "=1";
    assert_int_equal(tt_run(base), 2);
    tt_assert_stderr_one_line("-X needs KEY=VALUE");
    base[8] = NULL;
    assert_int_equal(tt_run(base), 2);
    tt_assert_stderr_one_line("\"-X\" needs a value");
    /* Sinks: an unknown scheme, by --sink or by -X sink=. */
    base[7] = "--sink";
    base[8] = "mqtt:topic";
    assert_int_equal(tt_run(base), 2);
    tt_assert_stderr_one_line("unknown sink \"mqtt:topic\"");
    base[8] = "stdout";
    assert_int_equal(tt_run(base), 2);
    tt_assert_stderr_one_line("unknown sink \"stdout\"");
    base[7] = "-X";
    base[8] = "sink=mqtt:topic";
    assert_int_equal(tt_run(base), 2);
    tt_assert_stderr_one_line("unknown sink \"mqtt:topic\"");
}

/* --help-config: the property table, a Markdown row for each property, five cells each. */
static void test_help_config(void **state)
{
    const pgcdc_property *p;
    const char *kind;
    char *out;
    int rows = 0;

    (void)state;
    assert_int_equal(tt_run((const char *[]){tool, "--help-config", NULL}), 0);
    out = tt_slurp(outpath);
    assert_true(strncmp(out, "# Configuration\n", 16) == 0);
    for (int i = 0; (p = pgcdc_property_at(i, &kind)) != NULL; i++) {
        char cell[160];

        if (kind != NULL)
            snprintf(cell, sizeof(cell), "| `%s.%s` |", kind, p->name);
        else
            snprintf(cell, sizeof(cell), "| `%s` |", p->name);
        if (strstr(out, cell) == NULL)
            fail_msg("--help-config lacks %s", cell);
        rows++;
    }
    /* Six bars a row: a '|' inside a cell (as in choices) must be escaped. */
    for (char *line = out; *line != '\0';) {
        char *nl = strchr(line, '\n');
        int bars = 0;

        assert_non_null(nl);
        if (line[0] == '|') {
            for (char *c = line; c < nl; c++)
                bars += *c == '|' && (c == line || c[-1] != '\\');
            if (bars != 6)
                fail_msg("a row with %d bars: %.*s", bars, (int)(nl - line), line);
            rows--;
        }
        line = nl + 1;
    }
    /* The header and its rule besides the properties. */
    assert_int_equal(rows, -2);
    /* The ranges in the units they are written in. */
    assert_non_null(strstr(out, "`100ms` to `10s`"));
    assert_non_null(strstr(out, "`4kB` to `1GB`"));
    assert_non_null(strstr(out, "`halt`, `dead_letter`"));
    free(out);
}

/* Properties on a real stream: four slots made before the same changes, one run on each. */
static void test_property_flags_stream(void **state)
{
    const char *db = tl_fresh_db("t_cli_cfg");
    char endpos[32];
    char file_a[] = "/tmp/pgcdc-cfg-a-XXXXXX";
    char file_c[] = "/tmp/pgcdc-cfg-c-XXXXXX";
    char file_d[] = "/tmp/pgcdc-cfg-d-XXXXXX";
    char sink_c[64];
    char sink_d[64];
    static const char *const slots[] = {"s_cfg_a", "s_cfg_b", "s_cfg_c", "s_cfg_d"};
    json_t *lines;
    json_t *o;
    char *a;
    char *b;

    (void)state;
    close(mkstemp(file_a));
    close(mkstemp(file_c));
    close(mkstemp(file_d));
    snprintf(sink_c, sizeof(sink_c), "file:%s", file_c);
    snprintf(sink_d, sizeof(sink_d), "sink=file:%s", file_d);
    tl_sql(db, "CREATE TABLE k (id int PRIMARY KEY, v text)");
    for (size_t i = 0; i < sizeof(slots) / sizeof(slots[0]); i++)
        assert_int_equal(tt_run((const char *[]){tool, "-d", "dbname=t_cli_cfg", "-S", slots[i],
                                                 "-P", "p_cfg", "-t", "k", "--create-slot", NULL}),
                         0);
    tl_sql(db, "INSERT INTO k VALUES (1, 'a'), (2, 'b'), (3, 'c')");
    tl_sql(db, "UPDATE k SET v = 'B' WHERE id = 2; DELETE FROM k WHERE id = 3");
    pgcdc_lsn_format(tl_current_lsn(db), endpos, sizeof(endpos));

    /* A file sink's property with --output: every change written, nothing on stdout. */
    assert_int_equal(
        tt_run((const char *[]){tool, "-d", "dbname=t_cli_cfg", "-S", "s_cfg_a", "-P", "p_cfg",
                                "-t", "k", "-E", endpos, "-X", "sink.file.flush_interval=0", "-X",
                                "sink.file.flush-bytes=4kB", "--output", file_a, NULL}),
        0);
    assert_int_equal(tl_count_lines(outpath), 0);
    lines = tt_parse_lines(file_a);
    assert_int_equal(json_array_size(lines), 5);
    o = json_array_get(lines, 0);
    assert_string_equal(json_string_value(json_object_get(o, "op")), "INSERT");
    assert_int_equal(json_integer_value(json_object_get(json_object_get(o, "new"), "id")), 1);
    o = json_array_get(lines, 3);
    assert_string_equal(json_string_value(json_object_get(o, "op")), "UPDATE");
    assert_string_equal(json_string_value(json_object_get(json_object_get(o, "new"), "v")), "B");
    assert_string_equal(json_string_value(json_object_get(json_array_get(lines, 4), "op")),
                        "DELETE");
    json_decref(lines);

    /* -X format=debezium: Debezium envelopes on stdout. */
    assert_int_equal(
        tt_run((const char *[]){tool, "-d", "dbname=t_cli_cfg", "-S", "s_cfg_b", "-P", "p_cfg",
                                "-t", "k", "-E", endpos, "-X", "format=debezium", NULL}),
        0);
    lines = tt_parse_lines(outpath);
    assert_int_equal(json_array_size(lines), 5);
    o = json_array_get(lines, 0);
    assert_string_equal(json_string_value(json_object_get(o, "op")), "c");
    assert_int_equal(json_integer_value(json_object_get(json_object_get(o, "after"), "id")), 1);
    assert_null(json_object_get(o, "new"));
    assert_string_equal(json_string_value(json_object_get(json_array_get(lines, 3), "op")), "u");
    assert_string_equal(json_string_value(json_object_get(json_array_get(lines, 4), "op")), "d");
    json_decref(lines);

    /* Two sinks, stdout and a file: each gets every event, the same bytes. */
    assert_int_equal(
        tt_run((const char *[]){tool, "-d", "dbname=t_cli_cfg", "-S", "s_cfg_c", "-P", "p_cfg",
                                "-t", "k", "-E", endpos, "--sink", "-", "--sink", sink_c, NULL}),
        0);
    a = tt_slurp(outpath);
    b = tt_slurp(file_c);
    assert_string_equal(a, b);
    free(a);
    free(b);
    lines = tt_parse_lines(file_c);
    assert_int_equal(json_array_size(lines), 5);
    json_decref(lines);

    /* -X sink= is a sink like --sink: the only one, so nothing goes to stdout. */
    assert_int_equal(tt_run((const char *[]){tool, "-d", "dbname=t_cli_cfg", "-S", "s_cfg_d", "-P",
                                             "p_cfg", "-t", "k", "-E", endpos, "-X", sink_d, NULL}),
                     0);
    assert_int_equal(tl_count_lines(outpath), 0);
    assert_int_equal(tl_count_lines(file_d), 5);
    unlink(file_a);
    unlink(file_c);
    unlink(file_d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_help_version_usage),
        cmocka_unit_test(test_stream_to_endpos),
        cmocka_unit_test(test_output_survives_kill),
        cmocka_unit_test(test_request_snapshot),
        cmocka_unit_test(test_sigterm_confirms_handled),
        cmocka_unit_test(test_sigterm_under_load),
        cmocka_unit_test(test_output_faults),
        cmocka_unit_test(test_property_flags_refused),
        cmocka_unit_test(test_help_config),
        cmocka_unit_test(test_property_flags_stream),
    };
    int r;

    tl_env();
    tool = tt_tool();
    outpath = tt_out();
    errpath = tt_err();
    r = cmocka_run_group_tests(tests, NULL, NULL);
    tt_cleanup();
    return r;
}
