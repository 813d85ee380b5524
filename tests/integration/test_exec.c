/*
 * Handlers in any language (--exec, docs/HANDLERS.md), run by the pgcdc
 * command with tests/handlers/handler.py: every change reaches the
 * handler and the slot is confirmed past what it acknowledged; its stderr
 * is pgcdc's; a handler that crashes is started again and given what it
 * had not acknowledged; one that writes garbage or nothing meets the error
 * policy (halt: nothing confirmed past it, a later run gives everything;
 * dead_letter: the line it fails on, alone, goes to the dead-letter file);
 * and the examples (Python and Node) print the seed's output.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "testlib.h"
#include "tool.h"

static const char *tool;
static char handler[1100]; /* tests/handlers/handler.py */
static char source[1024];

static void temp_path(char *path)
{
    int fd = mkstemp(path);

    assert_true(fd >= 0);
    close(fd);
}

/* The handler's command: python3 handler.py MODE OUT [ARG]. */
static const char *command(const char *mode, const char *out, const char *arg)
{
    static char cmd[4096];

    snprintf(cmd, sizeof(cmd), "python3 %s %s %s%s%s", handler, mode, out, arg ? " " : "",
             arg ? arg : "");
    return cmd;
}

/* The slot of a database's tests: s_DBNAME. */
static const char *slot_of(const char *name)
{
    static char slot[128];

    snprintf(slot, sizeof(slot), "s_%s", name);
    return slot;
}

/* A database with table t and the slot s_DBNAME made (nothing to stream yet). */
static const char *exec_db(const char *name)
{
    const char *db = tl_fresh_db(name);
    char endpos[32];
    char dbname[128];

    snprintf(dbname, sizeof(dbname), "dbname=%s", name);
    tl_sql(db, "CREATE TABLE t (id int PRIMARY KEY, v text)");
    pgcdc_lsn_format(tl_current_lsn(db), endpos, sizeof(endpos));
    assert_int_equal(
        tt_run((const char *[]){tool, "-d", dbname, "-S", slot_of(name), "-P", "p_exec", "-t", "t",
                                "-E", endpos, "--sink", "file:/dev/null", NULL}),
        0);
    return db;
}

/* How many of the events have a new row with id == want. */
static int count_id(json_t *lines, int want)
{
    size_t i;
    json_t *o;
    int n = 0;

    json_array_foreach(lines, i, o)
    {
        json_t *row = json_object_get(o, "new");

        if (row != NULL && json_integer_value(json_object_get(row, "id")) == want)
            n++;
    }
    return n;
}

/* Runs pgcdc to the database's current end with extra arguments; its exit status. */
static int run_exec(const char *name, const char *const extra[])
{
    const char *argv[32];
    char dbname[128];
    static char endpos[32];
    int n = 0;

    snprintf(dbname, sizeof(dbname), "dbname=%s", name);
    argv[n++] = tool;
    argv[n++] = "-d";
    argv[n++] = dbname;
    argv[n++] = "-S";
    argv[n++] = slot_of(name);
    argv[n++] = "-P";
    argv[n++] = "p_exec";
    argv[n++] = "-t";
    argv[n++] = "t";
    argv[n++] = "-E";
    argv[n++] = endpos;
    for (int i = 0; extra[i] != NULL; i++)
        argv[n++] = extra[i];
    argv[n] = NULL;
    {
        char conninfo[256];

        snprintf(conninfo, sizeof(conninfo), "dbname=%s", name);
        pgcdc_lsn_format(tl_current_lsn(conninfo), endpos, sizeof(endpos));
    }
    return tt_run(argv);
}

static char *stderr_text(void)
{
    return tt_slurp(tt_err());
}

/* Every change reaches the handler, in the format named, and the slot goes past them all. */
static void test_every_change_acknowledged(void **state)
{
    const char *db = exec_db("t_exec");
    char out[] = "/tmp/pgcdc-exec-out-XXXXXX";
    json_t *lines;
    char *text;
    char *err;
    uint64_t end;

    (void)state;
    temp_path(out);
    tl_sql(db, "INSERT INTO t SELECT g, repeat('x', g %% 50) FROM generate_series(1, 2000) g");
    for (int i = 2001; i <= 2010; i++)
        tl_sql(db, "INSERT INTO t VALUES (%d, 'one by one')", i);
    end = tl_current_lsn(db);
    assert_int_equal(
        run_exec("t_exec", (const char *[]){"--exec", command("env", out, NULL), NULL}), 0);
    text = tt_slurp(out);
    assert_int_equal(strncmp(text, "PGCDC_HANDLER_PROTOCOL=1\nPGCDC_FORMAT=json\n", 43), 0);
    {
        /* The events after the two variables' lines. */
        char path[] = "/tmp/pgcdc-exec-ev-XXXXXX";
        FILE *f;

        temp_path(path);
        f = fopen(path, "w");
        assert_non_null(f);
        fputs(text + 43, f);
        fclose(f);
        lines = tt_parse_lines(path);
        unlink(path);
    }
    assert_int_equal(json_array_size(lines), 2010);
    for (int id = 1; id <= 2010; id++)
        assert_int_equal(count_id(lines, id), 1);
    json_decref(lines);
    free(text);
    assert_true(tl_slot_confirmed(db, slot_of("t_exec")) >= end);
    /* The handler's stderr is pgcdc's: its start, and its end once its input closed. */
    err = stderr_text();
    assert_non_null(strstr(err, "handler env started\n"));
    assert_non_null(strstr(err, "handler env read 2010 lines\n"));
    free(err);

    /* Another format: the handler is told which. */
    tl_sql(db, "INSERT INTO t VALUES (3000, 'debezium')");
    unlink(out);
    assert_int_equal(run_exec("t_exec", (const char *[]){"--exec", command("env", out, NULL), "-F",
                                                         "debezium", NULL}),
                     0);
    text = tt_slurp(out);
    assert_int_equal(strncmp(text, "PGCDC_HANDLER_PROTOCOL=1\nPGCDC_FORMAT=debezium\n", 47), 0);
    assert_non_null(strstr(text, "\"op\":\"c\""));
    free(text);
    unlink(out);
}

/* A handler that exits is started again and given what it had not acknowledged. */
static void test_crash_gives_again(void **state)
{
    const char *db = exec_db("t_exec_crash");
    char out[] = "/tmp/pgcdc-exec-out-XXXXXX";
    char mark[] = "/tmp/pgcdc-exec-mark-XXXXXX";
    json_t *lines;
    char *err;
    uint64_t end;

    (void)state;
    temp_path(out);
    temp_path(mark);
    unlink(mark);
    for (int i = 1; i <= 20; i++)
        tl_sql(db, "INSERT INTO t VALUES (%d, 'crash')", i);
    end = tl_current_lsn(db);
    assert_int_equal(
        run_exec("t_exec_crash", (const char *[]){"--exec", command("crash", out, mark), NULL}), 0);
    assert_int_equal(access(mark, F_OK), 0);
    lines = tt_parse_lines(out);
    /* At least once each; the five it had not acknowledged may come twice. */
    assert_true(json_array_size(lines) >= 20);
    for (int id = 1; id <= 20; id++)
        assert_true(count_id(lines, id) >= 1);
    json_decref(lines);
    assert_true(tl_slot_confirmed(db, slot_of("t_exec_crash")) >= end);
    err = stderr_text();
    assert_non_null(strstr(err, "closed its standard output and exited with status 3"));
    assert_non_null(strstr(err, "given again to a new one"));
    assert_int_equal(tt_count_stderr("handler crash started\n"), 2);
    free(err);
    unlink(out);
    unlink(mark);
}

/* Garbage on the handler's stdout or silence: the error policy, halt by default. */
static void test_protocol_broken_halts(void **state)
{
    const char *db = exec_db("t_exec_bad");
    char out[] = "/tmp/pgcdc-exec-out-XXXXXX";
    json_t *lines;
    char *err;
    uint64_t before;
    uint64_t end;

    (void)state;
    temp_path(out);
    before = tl_slot_confirmed(db, slot_of("t_exec_bad"));
    for (int i = 1; i <= 5; i++)
        tl_sql(db, "INSERT INTO t VALUES (%d, 'bad')", i);
    end = tl_current_lsn(db);
    assert_int_equal(
        run_exec("t_exec_bad", (const char *[]){"--exec", command("garbage", out, NULL), "-X",
                                                "sink.exec.retries=1", NULL}),
        1);
    err = stderr_text();
    assert_non_null(strstr(err, "wrote \"hello\" on its standard output, where only "
                                "acknowledgements go (the number of lines handled so far; logs "
                                "go to standard error)"));
    assert_non_null(strstr(err, "(2 failures in a row); nothing after the last confirmed "
                                "position is lost"));
    free(err);
    assert_true(tl_slot_confirmed(db, slot_of("t_exec_bad")) < end);

    assert_int_equal(run_exec("t_exec_bad", (const char *[]){"--exec", command("silent", out, NULL),
                                                             "-X", "sink.exec.retries=0", "-X",
                                                             "sink.exec.timeout=300ms", NULL}),
                     1);
    err = stderr_text();
    assert_non_null(strstr(err, "acknowledged nothing for 300 ms"));
    free(err);
    assert_true(tl_slot_confirmed(db, slot_of("t_exec_bad")) < end);
    assert_true(tl_slot_confirmed(db, slot_of("t_exec_bad")) >= before);

    /* A command the shell cannot run. */
    assert_int_equal(run_exec("t_exec_bad", (const char *[]){"--exec", "no-such-handler-cmd", "-X",
                                                             "sink.exec.retries=0", NULL}),
                     1);
    assert_true(tt_wait_stderr("exited with status 127 (the shell could not run the command)"));

    /* Nothing was lost: a handler that works gets every change. */
    unlink(out);
    assert_int_equal(
        run_exec("t_exec_bad", (const char *[]){"--exec", command("copy", out, NULL), NULL}), 0);
    lines = tt_parse_lines(out);
    assert_int_equal(json_array_size(lines), 5);
    for (int id = 1; id <= 5; id++)
        assert_int_equal(count_id(lines, id), 1);
    json_decref(lines);
    assert_true(tl_slot_confirmed(db, slot_of("t_exec_bad")) >= end);
    unlink(out);
}

/* on_error=dead_letter: the line the handler fails on, and only it, goes to the file. */
static void test_poison_dead_letter(void **state)
{
    const char *db = exec_db("t_exec_poison");
    char out[] = "/tmp/pgcdc-exec-out-XXXXXX";
    char dead[] = "/tmp/pgcdc-exec-dead-XXXXXX";
    char deadopt[128];
    json_t *lines;
    char *text;
    uint64_t end;

    (void)state;
    temp_path(out);
    temp_path(dead);
    snprintf(deadopt, sizeof(deadopt), "dead_letter=%s", dead);
    tl_sql(db, "INSERT INTO t SELECT g, CASE WHEN g = 4 THEN 'poison' ELSE 'fine' END "
               "FROM generate_series(1, 10) g");
    end = tl_current_lsn(db);
    assert_int_equal(
        run_exec("t_exec_poison", (const char *[]){"--exec", command("poison", out, NULL), "-X",
                                                   "on_error=dead_letter", "-X", deadopt, "-X",
                                                   "sink.exec.retries=1", NULL}),
        0);
    lines = tt_parse_lines(out);
    for (int id = 1; id <= 10; id++)
        assert_int_equal(count_id(lines, id) >= 1, id != 4);
    json_decref(lines);
    text = tt_slurp(dead);
    assert_non_null(strstr(text, "poison"));
    assert_null(strstr(text, "fine"));
    assert_non_null(strstr(text, "exited with status 4"));
    free(text);
    assert_true(tl_slot_confirmed(db, slot_of("t_exec_poison")) >= end);
    unlink(out);
    unlink(dead);
}

/* The command's one-line refusals. */
static void test_cli_refusals(void **state)
{
    (void)state;
    assert_int_equal(tt_run((const char *[]){tool, "-d", "dbname=x", "-S", "s", "-P", "p", "-t",
                                             "t", "--exec", " ", NULL}),
                     2);
    tt_assert_stderr_one_line("no command to run (use exec:COMMAND, or --exec COMMAND)");
    assert_int_equal(
        tt_run((const char *[]){tool, "-d", "dbname=x", "-S", "s", "-P", "p", "-t", "t", "--exec",
                                "cat", "-X", "sink.exec.timeout=0", NULL}),
        2);
    tt_assert_stderr_one_line("sink.exec.timeout");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_change_acknowledged),
        cmocka_unit_test(test_crash_gives_again),
        cmocka_unit_test(test_protocol_broken_halts),
        cmocka_unit_test(test_poison_dead_letter),
        cmocka_unit_test(test_cli_refusals),
    };
    const char *src = getenv("PGCDC_SOURCE_DIR");
    int r;

    tl_env();
    tool = tt_tool();
    assert_non_null(src);
    snprintf(source, sizeof(source), "%s", src);
    snprintf(handler, sizeof(handler), "%s/tests/handlers/handler.py", source);
    r = cmocka_run_group_tests(tests, NULL, NULL);
    tt_cleanup();
    return r;
}
