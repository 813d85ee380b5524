/*
 * Running pgcdc as an operator would: signals during startup cancel the
 * server's work and create nothing; a slot another process streams from
 * fails the start naming it, or is taken over with --standby; every exit
 * code; options that mean nothing refused; errors while streaming that no
 * retry mends end the run as the start would have; a stalled output is not
 * a dead link; SIGHUP reopens the output; no password in ps; output files
 * 0600; a pipeline removed with one command.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "testlib.h"
#include "tool.h"

static const char *tool;

static void pause_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

    nanosleep(&ts, NULL);
}

/* Waits up to 30 s for the query's value to be want ("" for NULL or no row). */
__attribute__((format(printf, 3, 4))) static void wait_value(const char *db, const char *want,
                                                             const char *fmt, ...)
{
    char *sql = NULL;
    va_list ap;

    va_start(ap, fmt);
    assert_true(vasprintf(&sql, fmt, ap) >= 0);
    va_end(ap);
    for (int k = 0; k < 1500; k++) {
        char *v = tl_sql_value(db, "%s", sql);
        int same = strcmp(v != NULL ? v : "", want) == 0;

        free(v);
        if (same) {
            free(sql);
            return;
        }
        pause_ms(20);
    }
    fail_msg("waited in vain for \"%s\" from: %s", want, sql);
}

/* Waits up to 30 s for the file to hold n lines. */
static void wait_lines(const char *path, long n)
{
    for (int k = 0; k < 1500 && tl_count_lines(path) < n; k++)
        pause_ms(20);
    assert_int_equal(tl_count_lines(path), n);
}

/* The walsender that streams from the slot, once there is one (not the backend creating it). */
#define WALSENDER_OF                                                                               \
    "FROM pg_replication_slots s JOIN pg_stat_activity a ON a.pid = s.active_pid "                 \
    "WHERE a.backend_type = 'walsender' AND s.slot_name = '%s'"
static int slot_holder(const char *db, const char *slot)
{
    char *v;
    int pid;

    wait_value(db, "1", "SELECT count(*) " WALSENDER_OF, slot);
    v = tl_sql_value(db, "SELECT s.active_pid " WALSENDER_OF, slot);
    pid = atoi(v);
    free(v);
    return pid;
}

/*
 * Sessions a test holds a transaction open in.  Creating a slot anywhere on
 * the server waits for such a transaction, so a failed test must not leave
 * one behind for the tests running beside it: the teardown ends them.
 */
static PGconn *held[2];

static int end_held(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(held) / sizeof(held[0]); i++) {
        PQfinish(held[i]);
        held[i] = NULL;
    }
    return 0;
}

/* A transaction with an xid, left open: creating a slot waits for it. */
static PGconn *open_transaction(const char *db)
{
    PGconn *conn = tl_connect(db);
    PGresult *res = PQexec(conn, "BEGIN; SELECT txid_current()");

    held[0] = conn;
    assert_int_equal(PQresultStatus(res), PGRES_TUPLES_OK);
    PQclear(res);
    return conn;
}

/*
 * (4) A signal while the start waits on the server cancels the command
 * there, at once (the transaction it waits for is still open), creates
 * nothing, and exits 128 + the signal.
 */
static void test_signal_during_startup(void **state)
{
    const char *db = tl_fresh_db("t_ops_int");
    const char *args[] = {tool, "-d", "dbname=t_ops_int", "-S", "s_int", "-P", "p_int", "-t", "a",
                          NULL, NULL};
    PGconn *blocker;
    PGconn *locker;
    PGresult *res;
    pid_t pid;

    (void)state;
    tl_sql(db, "CREATE TABLE a (id int PRIMARY KEY)");
    blocker = open_transaction(db);
    pid = tt_spawn(args, NULL);
    wait_value(db, "1",
               "SELECT count(*) FROM pg_stat_activity WHERE state = 'active' AND "
               "datname = current_database() AND "
               "query LIKE '%%pg_create_logical_replication_slot%%' AND pid <> pg_backend_pid()");
    kill(pid, SIGINT);
    assert_int_equal(tt_wait(pid), 128 + SIGINT);
    tt_assert_stderr_one_line("interrupted while trying to create replication slot (SIGINT); "
                              "nothing was created");
    /* Nothing created: neither the slot nor the publication made before it. */
    assert_null(tl_sql_value(db, "SELECT 1 FROM pg_replication_slots WHERE slot_name = 's_int'"));
    assert_null(tl_sql_value(db, "SELECT 1 FROM pg_publication WHERE pubname = 'p_int'"));
    res = PQexec(blocker, "COMMIT");
    PQclear(res);
    PQfinish(blocker);
    held[0] = NULL;

    /* Another step: setting REPLICA IDENTITY FULL waits for a lock on the table. */
    locker = tl_connect(db);
    held[1] = locker;
    res = PQexec(locker, "BEGIN; LOCK TABLE a IN ACCESS SHARE MODE");
    assert_int_equal(PQresultStatus(res), PGRES_COMMAND_OK);
    PQclear(res);
    args[9] = "--replica-identity-full";
    pid = tt_spawn(args, NULL);
    wait_value(db, "1",
               "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND "
               "datname = current_database() AND query LIKE 'ALTER TABLE%%'");
    kill(pid, SIGTERM);
    assert_int_equal(tt_wait(pid), 128 + SIGTERM);
    tt_assert_stderr_one_line("interrupted while trying to set REPLICA IDENTITY FULL (SIGTERM)");
    assert_null(tl_sql_value(db, "SELECT 1 FROM pg_publication WHERE pubname = 'p_int'"));
    tl_sql_expect(db, "d", "SELECT relreplident FROM pg_class WHERE relname = 'a'");
    PQfinish(locker);
    held[1] = NULL;
}

/*
 * (5) A slot another process streams from: by default a one-line error
 * naming its PID, exit 4, under -q too; with --standby a wait, logged once,
 * and the stream taken over when the slot is free.
 */
static void test_slot_in_use(void **state)
{
    const char *db = tl_fresh_db("t_ops_busy");
    char file_a[] = "/tmp/pgcdc-ops-a-XXXXXX";
    char file_c[] = "/tmp/pgcdc-ops-c-XXXXXX";
    char want[160];
    const char *a_args[] = {
        tool,   "-d", "dbname=t_ops_busy", "-S", "s_busy", "-P", "p_busy", "-t", "b", "-o",
        file_a, NULL};
    const char *b_args[] = {tool, "-q", "-d", "dbname=t_ops_busy", "-S", "s_busy", "-P", "p_busy",
                            "-t", "b",  NULL};
    const char *c_args[] = {
        tool, "-d",   "dbname=t_ops_busy", "-S", "s_busy", "-P", "p_busy", "-t", "b",
        "-o", file_c, "--standby",         NULL};
    json_t *lines;
    pid_t a;
    pid_t c;
    int holder;

    (void)state;
    close(mkstemp(file_a));
    close(mkstemp(file_c));
    tl_sql(db, "CREATE TABLE b (id int PRIMARY KEY)");
    a = tt_spawn(a_args, "/dev/null");
    holder = slot_holder(db, "s_busy");
    assert_int_equal(tt_run(b_args), 4);
    snprintf(want, sizeof(want),
             "replication slot \"s_busy\" is in use by the server process with PID %d", holder);
    tt_assert_stderr_one_line(want);
    tt_assert_stderr_one_line("--standby");

    c = tt_spawn(c_args, "/dev/null");
    assert_true(tt_wait_stderr("standing by to take over"));
    tl_sql(db, "INSERT INTO b VALUES (1)");
    wait_lines(file_a, 1);
    kill(a, SIGTERM);
    assert_int_equal(tt_wait(a), 0);
    assert_true(tt_wait_stderr("taking over"));
    tl_sql(db, "INSERT INTO b VALUES (2)");
    wait_lines(file_c, 1);
    lines = tt_parse_lines(file_c);
    assert_int_equal(
        json_integer_value(json_object_get(json_object_get(json_array_get(lines, 0), "new"), "id")),
        2);
    json_decref(lines);
    /* Logged once, however long it stood by. */
    assert_int_equal(tt_count_stderr("standing by"), 1);
    kill(c, SIGTERM);
    assert_int_equal(tt_wait(c), 0);
    unlink(file_a);
    unlink(file_c);
}

/* (6) Each kind of unusable slot: its own message and exit code. */
static void test_slot_exit_codes(void **state)
{
    char *db = strdup(tl_fresh_db("t_ops_codes"));
    const char *other = tl_fresh_db("t_ops_codes2");
    const char *args[] = {tool, "-d", "dbname=t_ops_codes", "-S", NULL, "-P", "p_codes", "-t", "c",
                          NULL, NULL};

    (void)state;
    tl_sql(db, "CREATE TABLE c (id int PRIMARY KEY)");
    tl_sql(db, "SELECT pg_create_logical_replication_slot('s_codes_w2j', 'test_decoding')");
    tl_sql(db, "SELECT pg_create_physical_replication_slot('s_codes_phys')");
    tl_sql(other, "SELECT pg_create_logical_replication_slot('s_codes_other', 'pgoutput')");

    args[4] = "s_codes_w2j";
    assert_int_equal(tt_run(args), 5);
    tt_assert_stderr_one_line("decodes with the plugin \"test_decoding\", not pgoutput");
    args[4] = "s_codes_phys";
    assert_int_equal(tt_run(args), 5);
    tt_assert_stderr_one_line("\"s_codes_phys\" is a physical slot");
    args[4] = "s_codes_other";
    assert_int_equal(tt_run(args), 5);
    tt_assert_stderr_one_line("belongs to the database \"t_ops_codes2\"");
    tl_sql(db, "CREATE PUBLICATION p_codes FOR TABLE c");
    args[4] = "s_codes_none";
    args[9] = "--no-create";
    assert_int_equal(tt_run(args), 3);
    tt_assert_stderr_one_line("replication slot \"s_codes_none\" does not exist");

    tl_sql(db, "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots "
               "WHERE slot_name LIKE 's_codes_%%'");
    free(db);
}

/*
 * (6) Every slot of the server taken: exit 6, nothing created.  On a server
 * of its own: filling the shared one would fail the tests running beside.
 */
static void test_slots_all_taken(void **state)
{
    char conninfo[512];
    const char *args[] = {tool, "-d",     conninfo, "-S", "s_ops_full",
                          "-P", "p_full", "-t",     "c",  NULL};

    (void)state;
    tl_server_start("slots", "--set max_replication_slots=2", conninfo, sizeof(conninfo));
    tl_sql(conninfo, "CREATE TABLE c (id int PRIMARY KEY)");
    /* Physical slots, which cost nothing. */
    tl_sql(conninfo, "SELECT pg_create_physical_replication_slot('s_fill_' || g) "
                     "FROM generate_series(1, 2) g");
    assert_int_equal(tt_run(args), 6);
    tt_assert_stderr_one_line("replication slots of the server are in use");
    assert_null(tl_sql_value(conninfo, "SELECT 1 FROM pg_publication WHERE pubname = 'p_full'"));
    tl_server_stop("slots");
}

/* (7) Options that mean nothing are refused; an end position behind the slot is nothing to do. */
static void test_meaningless_options(void **state)
{
    const char *db = tl_fresh_db("t_ops_ops_opts");
    char before[32];
    char *after;
    char *text;
    const char *base[] = {tool,         "-d",         "dbname=t_ops_ops_opts",
                          "-S",         "s_ops_opts", "-P",
                          "p_ops_opts", "-t",         "o",
                          NULL,         NULL,         NULL};
    char endpos[32];

    (void)state;
    tl_sql(db, "CREATE TABLE o (id int PRIMARY KEY)");
    base[9] = "--if-not-exists";
    assert_int_equal(tt_run(base), 2);
    tt_assert_stderr_one_line("--if-not-exists only goes with --create-slot");
    base[9] = "--start";
    assert_int_equal(tt_run(base), 2);
    tt_assert_stderr_one_line("--start only goes with --create-slot");
    base[9] = "-E";
    base[10] = "0/0";
    assert_int_equal(tt_run(base), 2);
    tt_assert_stderr_one_line("end position 0/0");
    assert_null(
        tl_sql_value(db, "SELECT 1 FROM pg_replication_slots WHERE slot_name = 's_ops_opts'"));

    /* Stream something so that the slot moves, then ask for an end behind it. */
    tl_sql(db, "INSERT INTO o VALUES (1)");
    pgcdc_lsn_format(tl_current_lsn(db), endpos, sizeof(endpos));
    base[10] = endpos;
    assert_int_equal(
        tt_run((const char *[]){tool, "-d", "dbname=t_ops_ops_opts", "-S", "s_ops_opts",
                                "--create-slot", "-P", "p_ops_opts", "-t", "o", NULL}),
        0);
    tl_sql(db, "INSERT INTO o VALUES (2)");
    pgcdc_lsn_format(tl_current_lsn(db), endpos, sizeof(endpos));
    assert_int_equal(tt_run(base), 0);
    assert_int_equal(tl_count_lines(tt_out()), 1);
    pgcdc_lsn_format(tl_slot_confirmed(db, "s_ops_opts"), before, sizeof(before));
    base[10] = "0/1";
    assert_int_equal(tt_run(base), 0);
    tt_assert_stderr_one_line("nothing to stream: the end position 0/1 is at or before the "
                              "slot's confirmed position");
    text = tt_slurp(tt_err());
    assert_null(strstr(text, "confirmed up to"));
    free(text);
    after = tl_sql_value(db, "SELECT confirmed_flush_lsn FROM pg_replication_slots "
                             "WHERE slot_name = 's_ops_opts'");
    assert_string_equal(after, before);
    free(after);

    /* -o - is stdout, as with pg_recvlogical: no file named "-". */
    tl_sql(db, "INSERT INTO o VALUES (3)");
    pgcdc_lsn_format(tl_current_lsn(db), endpos, sizeof(endpos));
    base[9] = "-o";
    base[10] = "-";
    assert_int_equal(
        tt_run((const char *[]){tool, "-d", "dbname=t_ops_ops_opts", "-S", "s_ops_opts", "-P",
                                "p_ops_opts", "-t", "o", "-o", "-", "-E", endpos, NULL}),
        0);
    assert_int_equal(tl_count_lines(tt_out()), 1);
    assert_int_equal(access("-", F_OK), -1);
}

/* A streaming pgcdc whose walsender the test can cut. */
static pid_t stream_in_background(const char *const args[], const char *db, const char *slot)
{
    pid_t pid = tt_spawn(args, "/dev/null");

    slot_holder(db, slot);
    return pid;
}

/*
 * (8) Errors while streaming that no retry mends end the run with exit 1
 * and the message a start would give; transient ones are retried within
 * reconnect.max_elapsed.
 */
static void test_permanent_errors(void **state)
{
    const char *db = tl_fresh_db("t_ops_perm");
    const char *run_args[] = {
        tool, "-d", "dbname=t_ops_perm",           "-S", "s_perm", "-P", "p_perm", "-t",
        "p",  "-X", "reconnect.max_backoff=200ms", NULL};
    const char *start_args[] = {tool, "-d", "dbname=t_ops_perm", "-S", "s_perm", "-P", "p_perm",
                                "-t", "p",  "--no-create",       NULL};
    const char *role_args[] = {
        tool, "-d", "dbname=t_ops_perm user=r_ops_perm", "-S", "s_perm2", "-P", "p_perm2", "-t",
        "p2", "-X", "reconnect.max_backoff=200ms",       NULL};
    char *at_start;
    char *streaming;
    pid_t pid;

    (void)state;
    tl_sql(db, "CREATE TABLE p (id int PRIMARY KEY)");

    /* The publication dropped under a running stream. */
    pid = stream_in_background(run_args, db, "s_perm");
    tl_sql(db, "DROP PUBLICATION p_perm");
    tl_sql(db, "INSERT INTO p VALUES (1)");
    assert_int_equal(tt_wait(pid), 1);
    streaming = tt_slurp(tt_err());
    assert_int_equal(tt_run(start_args), 1);
    at_start = tt_slurp(tt_err());
    assert_non_null(strstr(at_start, "publication \"p_perm\" does not exist"));
    assert_non_null(strstr(streaming, at_start));
    free(streaming);
    free(at_start);

    /* The REPLICATION attribute revoked, then the connection lost. */
    tl_sql(db, "DROP ROLE IF EXISTS r_ops_perm");
    tl_sql(db, "CREATE ROLE r_ops_perm LOGIN REPLICATION");
    tl_sql(db, "GRANT CREATE ON DATABASE t_ops_perm TO r_ops_perm");
    tl_sql(db, "CREATE TABLE p2 (id int PRIMARY KEY); ALTER TABLE p2 OWNER TO r_ops_perm");
    pid = stream_in_background(role_args, db, "s_perm2");
    tl_sql(db, "ALTER ROLE r_ops_perm NOREPLICATION");
    tl_sql(db, "SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots "
               "WHERE slot_name = 's_perm2'");
    assert_int_equal(tt_wait(pid), 1);
    streaming = tt_slurp(tt_err());
    role_args[4] = "s_perm3";
    assert_int_equal(tt_run(role_args), 1);
    at_start = tt_slurp(tt_err());
    assert_non_null(strstr(at_start, "role \"r_ops_perm\" lacks the REPLICATION attribute"));
    assert_non_null(strstr(streaming, at_start));
    free(streaming);
    free(at_start);
    tl_sql(db, "SELECT pg_drop_replication_slot('s_perm2')");
    tl_sql(db, "DROP OWNED BY r_ops_perm; DROP ROLE r_ops_perm");
}

/* (8) The database renamed under a running stream; a transient refusal bounded in time. */
static void test_database_renamed(void **state)
{
    const char *db = tl_fresh_db("t_ops_ren");
    const char *postgres = "dbname=postgres";
    const char *args[] = {tool,
                          "-d",
                          "dbname=t_ops_ren",
                          "-S",
                          "s_ren",
                          "-P",
                          "p_ren",
                          "-t",
                          "r",
                          "-X",
                          "reconnect.max_backoff=200ms",
                          NULL,
                          NULL};
    char *at_start;
    char *streaming;
    pid_t pid;

    (void)state;
    /* What a failed run may have left. */
    tl_sql(postgres, "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots "
                     "WHERE database = 't_ops_ren2'");
    tl_sql(postgres, "DROP DATABASE IF EXISTS t_ops_ren2");
    tl_sql(db, "CREATE TABLE r (id int PRIMARY KEY)");

    /* Refused for a while (no connections allowed): retried until reconnect.max_elapsed. */
    args[11] = "-Xreconnect.max_elapsed=2s";
    pid = stream_in_background(args, db, "s_ren");
    tl_sql(postgres, "ALTER DATABASE t_ops_ren ALLOW_CONNECTIONS false");
    tl_sql(postgres, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                     "WHERE datname = 't_ops_ren'");
    assert_int_equal(tt_wait(pid), 1);
    assert_int_equal(tt_count_stderr("error: gave up reconnecting after"), 1);
    assert_true(tt_count_stderr("is not currently accepting connections") >= 2);
    tl_sql(postgres, "ALTER DATABASE t_ops_ren ALLOW_CONNECTIONS true");

    /* Renamed: the reconnect finds no such database, and says it as a start would. */
    args[11] = NULL;
    pid = stream_in_background(args, db, "s_ren");
    tl_sql(postgres, "ALTER DATABASE t_ops_ren ALLOW_CONNECTIONS false");
    tl_sql(postgres, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                     "WHERE datname = 't_ops_ren'");
    wait_value(postgres, "0", "SELECT count(*) FROM pg_stat_activity WHERE datname = 't_ops_ren'");
    tl_sql(postgres, "ALTER DATABASE t_ops_ren RENAME TO t_ops_ren2");
    tl_sql(postgres, "ALTER DATABASE t_ops_ren2 ALLOW_CONNECTIONS true");
    assert_int_equal(tt_wait(pid), 1);
    streaming = tt_slurp(tt_err());
    assert_int_equal(tt_run(args), 1);
    at_start = tt_slurp(tt_err());
    assert_non_null(strstr(at_start, "database \"t_ops_ren\" does not exist"));
    assert_non_null(strstr(streaming, at_start));
    free(streaming);
    free(at_start);
    tl_sql(postgres, "SELECT pg_drop_replication_slot('s_ren')");
    tl_sql(postgres, "DROP DATABASE t_ops_ren2");
}

/*
 * (9) An output that stops reading for longer than the link timeout: the
 * server was never silent while pgcdc waited on it, so the link stays up.
 */
static void test_stalled_output(void **state)
{
    const char *db = tl_fresh_db("t_ops_stall");
    char fifo[] = "/tmp/pgcdc-ops-fifo-XXXXXX";
    const char *args[] = {
        tool, "-d", "dbname=t_ops_stall", "-S", "s_stall", "-P", "p_stall", "-t", "w", "-o",
        fifo, "-X", "link_timeout=1s",    NULL};
    char buf[65536];
    long lines = 0;
    FILE *in;
    pid_t pid;

    (void)state;
    close(mkstemp(fifo));
    unlink(fifo);
    assert_int_equal(mkfifo(fifo, 0600), 0);
    tl_sql(db, "CREATE TABLE w (id int PRIMARY KEY, pad text)");
    pid = tt_spawn(args, "/dev/null");
    in = fopen(fifo, "r");
    assert_non_null(in);
    slot_holder(db, "s_stall");
    /* Far more than a pipe holds, then nobody reads for three link timeouts. */
    tl_sql(db, "INSERT INTO w SELECT g, repeat('x', 500) FROM generate_series(1, 2000) g");
    pause_ms(3500);
    while (lines < 2000 && fgets(buf, sizeof(buf), in) != NULL)
        lines += buf[strlen(buf) - 1] == '\n';
    assert_int_equal(lines, 2000);
    kill(pid, SIGTERM);
    assert_int_equal(tt_wait(pid), 0);
    assert_int_equal(tt_count_stderr("link looks dead"), 0);
    assert_int_equal(tt_count_stderr("reconnect"), 0);
    fclose(in);
    unlink(fifo);
}

/* (13, 15) SIGHUP reopens the output after log rotation; output files are 0600. */
static void test_sighup_reopens_output(void **state)
{
    const char *db = tl_fresh_db("t_ops_hup");
    char dir[] = "/tmp/pgcdc-ops-hup-XXXXXX";
    char file[256];
    char rotated[256];
    const char *args[] = {
        tool, "-d", "dbname=t_ops_hup", "-S", "s_hup", "-P", "p_hup", "-t", "h", "-o", file, NULL};
    struct stat st;
    pid_t pid;

    (void)state;
    assert_non_null(mkdtemp(dir));
    snprintf(file, sizeof(file), "%s/out.jsonl", dir);
    snprintf(rotated, sizeof(rotated), "%s/out.jsonl.1", dir);
    tl_sql(db, "CREATE TABLE h (id int PRIMARY KEY)");
    pid = tt_spawn(args, "/dev/null");
    slot_holder(db, "s_hup");
    tl_sql(db, "INSERT INTO h SELECT generate_series(1, 3)");
    wait_lines(file, 3);
    assert_int_equal(stat(file, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(rename(file, rotated), 0);
    kill(pid, SIGHUP);
    /* Reopened: the file is there again (so what follows cannot go to the old one). */
    for (int k = 0; k < 1500 && access(file, F_OK) != 0; k++)
        pause_ms(20);
    tl_sql(db, "INSERT INTO h SELECT generate_series(4, 5)");
    wait_lines(file, 2);
    assert_int_equal(tl_count_lines(rotated), 3);
    assert_int_equal(stat(file, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    kill(pid, SIGTERM);
    assert_int_equal(tt_wait(pid), 0);
    unlink(file);
    unlink(rotated);
    rmdir(dir);
}

/* (14) The password given in --dbname is not in the process's arguments while it runs. */
static void test_password_not_in_ps(void **state)
{
    const char *db = tl_fresh_db("t_ops_pw");
    const char *args[] = {tool,
                          "-d",
                          "dbname=t_ops_pw password='s3cr3t pw' sslmode=disable",
                          "-S",
                          "s_pw",
                          "-P",
                          "p_pw",
                          "-t",
                          "k",
                          "-X",
                          "sink.http.secret=whsec_c2VjcmV0d2hzZWM=",
                          NULL};
    char path[64];
    char *cmdline;
    FILE *f;
    size_t n;
    pid_t pid;

    (void)state;
    tl_sql(db, "CREATE TABLE k (id int PRIMARY KEY)");
    pid = tt_spawn(args, "/dev/null");
    slot_holder(db, "s_pw");
    snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
    f = fopen(path, "r");
    assert_non_null(f);
    cmdline = calloc(8192, 1);
    n = fread(cmdline, 1, 8191, f);
    fclose(f);
    for (size_t i = 0; i < n; i++) {
        if (cmdline[i] == '\0')
            cmdline[i] = ' ';
    }
    assert_null(strstr(cmdline, "s3cr3t"));
    assert_null(strstr(cmdline, "password"));
    assert_non_null(strstr(cmdline, "dbname=t_ops_pw sslmode=disable"));
    /* Nor a sink's secret. */
    assert_null(strstr(cmdline, "c2VjcmV0"));
    assert_non_null(strstr(cmdline, "sink.http.secret="));
    free(cmdline);
    kill(pid, SIGTERM);
    assert_int_equal(tt_wait(pid), 0);
}

/* (18) A pipeline removed with one command: slot and publication. */
static void test_drop_pipeline(void **state)
{
    const char *db = tl_fresh_db("t_ops_drop");
    const char *create[] = {tool, "-d", "dbname=t_ops_drop", "-S", "s_ops_drop", "-P", "p_drop",
                            "-t", "d",  "--create-slot",     NULL};
    const char *drop[] = {tool,     "-d",          "dbname=t_ops_drop",  "-S", "s_ops_drop", "-P",
                          "p_drop", "--drop-slot", "--drop-publication", NULL};

    (void)state;
    tl_sql(db, "CREATE TABLE d (id int PRIMARY KEY)");
    assert_int_equal(tt_run(create), 0);
    tl_sql_expect(db, "1", "SELECT 1 FROM pg_publication WHERE pubname = 'p_drop'");
    assert_int_equal(tt_run(drop), 0);
    assert_null(
        tl_sql_value(db, "SELECT 1 FROM pg_replication_slots WHERE slot_name = 's_ops_drop'"));
    assert_null(tl_sql_value(db, "SELECT 1 FROM pg_publication WHERE pubname = 'p_drop'"));
    /* Again: both gone, and it says so (the slot's code). */
    assert_int_equal(tt_run(drop), 3);
    tt_assert_stderr_one_line("replication slot \"s_ops_drop\" does not exist");
    /* The publication alone. */
    assert_int_equal(tt_run(create), 0);
    assert_int_equal(tt_run((const char *[]){tool, "-d", "dbname=t_ops_drop", "-P", "p_drop",
                                             "--drop-publication", NULL}),
                     0);
    assert_null(tl_sql_value(db, "SELECT 1 FROM pg_publication WHERE pubname = 'p_drop'"));
    tl_sql_expect(db, "1", "SELECT 1 FROM pg_replication_slots WHERE slot_name = 's_ops_drop'");
    tl_sql(db, "SELECT pg_drop_replication_slot('s_ops_drop')");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_signal_during_startup, end_held),
        cmocka_unit_test(test_slot_in_use),
        cmocka_unit_test(test_slot_exit_codes),
        cmocka_unit_test(test_slots_all_taken),
        cmocka_unit_test(test_meaningless_options),
        cmocka_unit_test(test_permanent_errors),
        cmocka_unit_test(test_database_renamed),
        cmocka_unit_test(test_stalled_output),
        cmocka_unit_test(test_sighup_reopens_output),
        cmocka_unit_test(test_password_not_in_ps),
        cmocka_unit_test(test_drop_pipeline),
    };
    int r;

    tl_env();
    tool = tt_tool();
    r = cmocka_run_group_tests(tests, NULL, NULL);
    /* The server's slots are shared by every test: leave none behind. */
    tl_sql("dbname=postgres",
           "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots "
           "WHERE database LIKE 't_ops_%%' AND NOT active");
    tt_cleanup();
    return r;
}
