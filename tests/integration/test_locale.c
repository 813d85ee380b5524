/*
 * Errors are classified by SQLSTATE, not by the server's language: each failure gives the
 * same code (and the CLI the same exit status) from a German server (lc_messages) as from an
 * English one, in one line that carries the server's own words and never the password.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "testlib.h"

#define CANARY "Canary-Loc-9b2e"

/* Two dedicated servers that differ only in lc_messages. */
typedef struct server {
    const char *name; /* for tl_server_start */
    const char *args;
    const char *lang;
    char host[512];
    char port[32];
    char db[1024]; /* the test database, as postgres */
    int started;
} server;

enum { EN, DE, NSERVERS };

static server servers[NSERVERS] = {
    {"locale_en", "--set lc_messages=C", "en", "", "", "", 0},
    {"locale_de", "--set lc_messages=de_DE.UTF-8", "de", "", "", "", 0},
};

static char tool[1024];
/* The server was built without message translations: no German to compare. */
static int no_german;
static char errpath[64] = "/tmp/pgcdc-locale-err-XXXXXX";

/* A conninfo for a database of the server, with extra keywords (user, password...). */
static void conninfo(char *dst, size_t size, const server *s, const char *dbname, const char *extra)
{
    snprintf(dst, size, "host=%s port=%s dbname=%s %s", s->host, s->port, dbname, extra);
}

static int setup(void **state)
{
    char conn[1024];
    int fd;

    (void)state;
    /* The password cases must not find one in the environment. */
    unsetenv("PGPASSWORD");
    snprintf(tool, sizeof(tool), "%s/tools/pgcdc/pgcdc", getenv("PGCDC_BINARY_DIR"));
    fd = mkstemp(errpath);
    if (fd < 0)
        return -1;
    close(fd);
    for (int i = 0; i < NSERVERS; i++) {
        server *s = &servers[i];

        /* Marked first: the teardown stops a server whose start failed halfway. */
        s->started = 1;
        tl_server_start(s->name, s->args, conn, sizeof(conn));
        if (sscanf(conn, "host=%511s port=%31s", s->host, s->port) != 2)
            return -1;
        conninfo(s->db, sizeof(s->db), s, "loc", "user=postgres");
        tl_sql(conn, "CREATE DATABASE loc");
        tl_sql(conn, "CREATE ROLE loc_pw LOGIN REPLICATION PASSWORD '" CANARY "' IN ROLE pwauth;"
                     "CREATE ROLE loc_rev LOGIN REPLICATION PASSWORD '" CANARY "' IN ROLE pwauth;"
                     "CREATE ROLE loc_own LOGIN REPLICATION PASSWORD '" CANARY "' IN ROLE pwauth;"
                     "CREATE ROLE loc_norepl LOGIN;"
                     "GRANT CREATE ON DATABASE loc TO loc_own");
    }
    {
        PGconn *de = tl_connect(servers[DE].db);
        PGresult *res = PQexec(de, "SELECT * FROM loc_nope");
        const char *primary = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);

        no_german = primary != NULL && strstr(primary, "does not exist") != NULL;
        if (no_german)
            printf("SKIPPED: test_locale: the server (PostgreSQL %d) was built without message "
                   "translations (lc_messages=de_DE answers in English)\n",
                   tl_server_version(servers[DE].db) / 10000);
        PQclear(res);
        PQfinish(de);
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    for (int i = 0; i < NSERVERS; i++) {
        if (servers[i].started)
            tl_server_stop(servers[i].name);
        servers[i].started = 0;
    }
    unlink(errpath);
    return 0;
}

/* ---- the servers really speak their languages ---- */

static void test_servers_speak_their_language(void **state)
{
    (void)state;
    if (no_german)
        skip();
    for (int i = 0; i < NSERVERS; i++) {
        PGconn *conn = tl_connect(servers[i].db);
        PGresult *res = PQexec(conn, "SELECT * FROM loc_nope");
        const char *primary = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);

        assert_int_equal(PQresultStatus(res), PGRES_FATAL_ERROR);
        assert_non_null(primary);
        fprintf(stderr, "  [%s] %s\n", servers[i].lang, primary);
        assert_string_equal(PQresultErrorField(res, PG_DIAG_SQLSTATE), "42P01");
        if (i == DE) {
            /* Otherwise the cases below would compare English with English. */
            assert_null(strstr(primary, "does not exist"));
            assert_non_null(strstr(primary, "existiert nicht"));
            assert_string_equal(PQresultErrorField(res, PG_DIAG_SEVERITY), "FEHLER");
        } else {
            assert_non_null(strstr(primary, "does not exist"));
        }
        PQclear(res);
        PQfinish(conn);
    }
}

/* ---- running a case on both servers ---- */

static void assert_one_line(const char *msg)
{
    assert_null(strchr(msg, '\n'));
    assert_true(strlen(msg) > 20);
    if (strstr(msg, CANARY) != NULL)
        fail_msg("the password appears in: %s", msg);
}

/* One case: what it runs on a server, giving a code (or the command's exit status). */
typedef struct lcase {
    const char *what;
    int expected;
    int (*fn)(server *s, char *msg, size_t size);
    /*
     * The server's words for the failure in English and in German, when the
     * message carries them: each must come through from its server (and the
     * English ones not from the German server), proof that the code was not
     * read from them.
     */
    const char *en_text;
    const char *de_text;
} lcase;

/* A library code by name; the command's cases (expecting a status, not a code) by status. */
static const char *code_name(const lcase *c, int code, char *buf, size_t size)
{
    if (c->expected < 0)
        return pgcdc_err_name(code);
    snprintf(buf, size, "exit %d", code);
    return buf;
}

/* Runs a case on both servers: the same code, the expected one, each time. */
static void test_case(void **state)
{
    if (no_german)
        skip();
    const lcase *c = *state;
    char msg[NSERVERS][1024];
    char names[3][32];
    int code[NSERVERS];

    for (int i = 0; i < NSERVERS; i++) {
        code[i] = c->fn(&servers[i], msg[i], sizeof(msg[i]));
        fprintf(stderr, "  %s [%s]: %s: %s\n", c->what, servers[i].lang,
                code_name(c, code[i], names[i], sizeof(names[i])), msg[i]);
        assert_one_line(msg[i]);
    }
    if (code[EN] != c->expected || code[DE] != c->expected)
        fail_msg("%s: expected %s, English server gave %s, German server %s", c->what,
                 code_name(c, c->expected, names[2], sizeof(names[2])),
                 code_name(c, code[EN], names[EN], sizeof(names[EN])),
                 code_name(c, code[DE], names[DE], sizeof(names[DE])));
    if (c->en_text != NULL) {
        if (strstr(msg[EN], c->en_text) == NULL)
            fail_msg("\"%s\" missing from: %s", c->en_text, msg[EN]);
        if (strstr(msg[DE], c->de_text) == NULL || strstr(msg[DE], c->en_text) != NULL)
            fail_msg("not the German server's words (\"%s\"): %s", c->de_text, msg[DE]);
    }
}

static int count_change(pgcdc_worker *w, const pgcdc_change *c, void *opaque)
{
    (void)w;
    (void)c;
    (*(int *)opaque)++;
    return PGCDC_HANDLED;
}

/* Starts a worker (preflight and stream) with the given login; returns the code. */
static int start_in(server *s, const char *dbname, const char *login, const char *slot,
                    const char *pub, const char *table, char *msg, size_t size)
{
    char conn[1024];
    pgcdc_config *cfg;
    int r;

    conninfo(conn, sizeof(conn), s, dbname, login);
    cfg = tl_config(conn, slot, pub, table);
    r = tl_start_only(cfg, msg, size);
    pgcdc_config_free(cfg);
    return r;
}

static int start_as(server *s, const char *login, const char *slot, const char *pub,
                    const char *table, char *msg, size_t size)
{
    return start_in(s, "loc", login, slot, pub, table, msg, size);
}

static int count(const server *s, const char *sql)
{
    char *v = tl_sql_value(s->db, "%s", sql);
    int n = atoi(v);

    free(v);
    return n;
}

/* ---- connecting ---- */

static int wrong_password(server *s, char *msg, size_t size)
{
    return start_as(s, "user=loc_pw password=wrong-" CANARY, "s_loc", "p_loc", "t", msg, size);
}

static int no_password(server *s, char *msg, size_t size)
{
    return start_as(s, "user=loc_pw", "s_loc", "p_loc", "t", msg, size);
}

static int no_such_role(server *s, char *msg, size_t size)
{
    return start_as(s, "user=loc_nosuch password=" CANARY, "s_loc", "p_loc", "t", msg, size);
}

static int no_such_database(server *s, char *msg, size_t size)
{
    return start_in(s, "loc_nosuch", "user=loc_pw password=" CANARY, "s_loc", "p_loc", "t", msg,
                    size);
}

/* The preflight reads rolreplication itself, before any replication connection. */
static int no_replication_attribute(server *s, char *msg, size_t size)
{
    int r;

    tl_sql(s->db, "CREATE TABLE IF NOT EXISTS t (id int PRIMARY KEY)");
    r = start_as(s, "user=loc_norepl", "s_loc", "p_loc", "t", msg, size);
    if (strstr(msg, "ALTER ROLE loc_norepl REPLICATION") == NULL)
        fail_msg("the fix is not named: %s", msg);
    return r;
}

/* ---- a worker running in a thread, stopped by what the server does ---- */

typedef struct running {
    pgcdc_worker *w;
    pthread_t th;
    atomic_int done;
    int result;
    int changes;
} running;

static void *run_main(void *arg)
{
    running *r = arg;

    r->result = pgcdc_worker_run(r->w);
    atomic_store(&r->done, 1);
    return NULL;
}

/* Starts the worker and runs it in a thread; asserts that it streams. */
static void run_start(running *r, pgcdc_config *cfg)
{
    memset(r, 0, sizeof(*r));
    pgcdc_config_set_change_cb(cfg, count_change, &r->changes);
    r->w = pgcdc_worker_new(cfg);
    assert_non_null(r->w);
    if (pgcdc_worker_start(r->w) != PGCDC_OK)
        fail_msg("start failed: %s", pgcdc_worker_errmsg(r->w));
    assert_int_equal(pthread_create(&r->th, NULL, run_main, r), 0);
}

/*
 * Waits up to a minute for the run to end by itself (a worker that would
 * retry forever is stopped, and then returns PGCDC_OK), copies its message
 * and frees it.
 */
static int run_finish(running *r, char *msg, size_t size)
{
    struct timespec ts = {0, 20000000};

    for (int i = 0; i < 3000 && !atomic_load(&r->done); i++)
        nanosleep(&ts, NULL);
    if (!atomic_load(&r->done))
        pgcdc_worker_stop(r->w);
    pthread_join(r->th, NULL);
    snprintf(msg, size, "%s", pgcdc_worker_errmsg(r->w));
    pgcdc_worker_free(r->w);
    return r->result;
}

/* Terminates the slot's walsender (waiting for it to exit); the worker then reconnects. */
static void terminate_walsender(const server *s, const char *slot)
{
    tl_terminate_slot_holder(s->db, slot);
}

/*
 * The replication connection's own refusal (42501 from the walsender's
 * start): the role loses REPLICATION while the worker streams, and its
 * reconnects are refused.
 */
static int replication_refused(server *s, char *msg, size_t size)
{
    char conn[1024];
    pgcdc_config *cfg;
    running run;
    int r;

    tl_sql(s->db, "CREATE TABLE rv (id int PRIMARY KEY); CREATE PUBLICATION p_rv FOR TABLE rv");
    /* Apart: a slot cannot be created in a transaction that wrote. */
    tl_sql(s->db, "SELECT pg_create_logical_replication_slot('s_rv', 'pgoutput')");
    conninfo(conn, sizeof(conn), s, "loc", "user=loc_rev password=" CANARY);
    cfg = tl_config(conn, "s_rv", "p_rv", "rv");
    pgcdc_config_set_reconnect(cfg, 100, 2);
    run_start(&run, cfg);
    tl_sql(s->db, "ALTER ROLE loc_rev NOREPLICATION");
    terminate_walsender(s, "s_rv");
    r = run_finish(&run, msg, size);
    pgcdc_config_free(cfg);
    return r;
}

/* Holds the slot on a replication connection of its own, as a walsender left behind. */
static PGconn *hold_slot(const server *s, const char *slot, const char *pub)
{
    char conn[1024];
    char cmd[256];
    PGconn *c;
    PGresult *res;

    conninfo(conn, sizeof(conn), s, "loc", "user=postgres replication=database");
    c = tl_connect(conn);
    snprintf(cmd, sizeof(cmd),
             "START_REPLICATION SLOT %s LOGICAL 0/0 (proto_version '1', publication_names '%s')",
             slot, pub);
    res = PQexec(c, cmd);
    if (PQresultStatus(res) != PGRES_COPY_BOTH)
        fail_msg("could not hold slot %s: %s", slot, PQerrorMessage(c));
    PQclear(res);
    return c;
}

static int slot_busy(server *s, char *msg, size_t size)
{
    char conn[1024];
    pgcdc_config *cfg;
    PGconn *holder;
    int r;

    tl_sql(s->db, "CREATE TABLE bz (id int PRIMARY KEY); CREATE PUBLICATION p_bz FOR TABLE bz");
    /* Apart: a slot cannot be created in a transaction that wrote. */
    tl_sql(s->db, "SELECT pg_create_logical_replication_slot('s_bz', 'pgoutput')");
    holder = hold_slot(s, "s_bz", "p_bz");
    conninfo(conn, sizeof(conn), s, "loc", "user=loc_pw password=" CANARY);
    cfg = tl_config(conn, "s_bz", "p_bz", "bz");
    /* Held by another process: the start fails after its grace, naming the holder. */
    r = tl_start_only(cfg, msg, size);
    pgcdc_config_free(cfg);
    PQfinish(holder);
    return r;
}

static int slot_missing(server *s, char *msg, size_t size)
{
    char conn[1024];
    pgcdc_config *cfg;
    int r;

    tl_sql(s->db, "CREATE TABLE ms (id int PRIMARY KEY); CREATE PUBLICATION p_ms FOR TABLE ms");
    conninfo(conn, sizeof(conn), s, "loc", "user=loc_pw password=" CANARY);
    cfg = tl_config(conn, "s_ms", "p_ms", "ms");
    pgcdc_config_set_create_slot(cfg, 0);
    r = tl_start_only(cfg, msg, size);
    pgcdc_config_free(cfg);
    return r;
}

static int slot_dropped(server *s, char *msg, size_t size)
{
    pgcdc_config *cfg;
    running run;
    char *v = NULL;
    int r;

    tl_sql(s->db, "CREATE TABLE sd (id int PRIMARY KEY)");
    cfg = tl_config(s->db, "s_sd", "p_sd", "sd");
    run_start(&run, cfg);
    /* Terminate the walsender and drop the slot before the worker is back. */
    for (int i = 0; i < 200; i++) {
        terminate_walsender(s, "s_sd");
        free(v);
        v = tl_sql_value(s->db, "SELECT count(*) FROM (SELECT pg_drop_replication_slot(slot_name) "
                                "FROM pg_replication_slots WHERE slot_name = 's_sd' "
                                "AND active_pid IS NULL) x");
        if (v != NULL && strcmp(v, "1") == 0)
            break;
    }
    free(v);
    r = run_finish(&run, msg, size);
    pgcdc_config_free(cfg);
    /* The worker did not create a slot in its place. */
    assert_int_equal(count(s, "SELECT count(*) FROM pg_replication_slots "
                              "WHERE slot_name = 's_sd'"),
                     0);
    return r;
}

/*
 * The publication dropped under the stream, with a change in between, and
 * created again: the walsender fails (42704) on that change, and so would
 * every retry.
 */
static int publication_dropped(server *s, char *msg, size_t size)
{
    pgcdc_config *cfg;
    running run;
    int r;

    tl_sql(s->db, "CREATE TABLE pd (id int PRIMARY KEY)");
    cfg = tl_config(s->db, "s_pd", "p_pd", "pd");
    run_start(&run, cfg);
    /*
     * Dropped, a row, created again: three transactions in one round trip, so the
     * publication is back before pgcdc can check it again (else its own words, not
     * the server's, would name the missing publication).
     */
    tl_sql(s->db, "DO $$ BEGIN DROP PUBLICATION p_pd; COMMIT; INSERT INTO pd VALUES (1); COMMIT; "
                  "CREATE PUBLICATION p_pd FOR TABLE pd; COMMIT; END $$");
    tl_sql(s->db, "INSERT INTO pd VALUES (2)");
    r = run_finish(&run, msg, size);
    pgcdc_config_free(cfg);
    assert_int_equal(run.changes, 0);
    return r;
}

/* CREATE PUBLICATION on a table the role does not own (42501). */
static int publication_not_owner(server *s, char *msg, size_t size)
{
    int r;

    tl_sql(s->db, "CREATE TABLE no (id int PRIMARY KEY)");
    r = start_as(s, "user=loc_own password=" CANARY, "s_no", "p_no", "no", msg, size);
    /* All or nothing: neither was created. */
    assert_int_equal(count(s, "SELECT count(*) FROM pg_publication WHERE pubname = 'p_no'"), 0);
    assert_int_equal(count(s, "SELECT count(*) FROM pg_replication_slots "
                              "WHERE slot_name = 's_no'"),
                     0);
    return r;
}

/* ---- the command ---- */

/* Runs the tool; its exit status, stderr (one line) in msg. */
static int run_tool(const char *const argv[], char *msg, size_t size)
{
    FILE *f;
    size_t n;
    pid_t pid;
    int status;

    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        if (freopen("/dev/null", "w", stdout) == NULL || freopen(errpath, "w", stderr) == NULL)
            _exit(127);
        execv(tool, (char *const *)argv);
        _exit(127);
    }
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    f = fopen(errpath, "r");
    assert_non_null(f);
    n = fread(msg, 1, size - 1, f);
    fclose(f);
    msg[n] = '\0';
    /* One line: a single newline, at the end. */
    if (n == 0 || strchr(msg, '\n') != msg + n - 1)
        fail_msg("not one line on stderr: %s", msg);
    msg[n - 1] = '\0';
    return WEXITSTATUS(status);
}

static int cli(server *s, const char *login, const char *extra, char *msg, size_t size)
{
    char conn[1024];
    const char *argv[] = {tool,        "-d", conn, "-S",  "s_loc_cli", "-P",
                          "p_loc_cli", "-t", "cl", extra, NULL};

    conninfo(conn, sizeof(conn), s, "loc", login);
    return run_tool(argv, msg, size);
}

static int cli_slot_missing(server *s, char *msg, size_t size)
{
    tl_sql(s->db,
           "CREATE TABLE cl (id int PRIMARY KEY); CREATE PUBLICATION p_loc_cli FOR TABLE cl");
    return cli(s, "user=loc_pw password=" CANARY, "--no-create", msg, size);
}

static int cli_drop_missing_slot(server *s, char *msg, size_t size)
{
    return cli(s, "user=loc_pw password=" CANARY, "--drop-slot", msg, size);
}

static int cli_wrong_password(server *s, char *msg, size_t size)
{
    return cli(s, "user=loc_pw password=wrong-" CANARY, NULL, msg, size);
}

static lcase cases[] = {
    {"wrong password", PGCDC_ERR_AUTH, wrong_password, "password authentication failed",
     "Passwort-Authentifizierung"},
    /* libpq's own failure: no server words to compare. */
    {"no password", PGCDC_ERR_AUTH, no_password, NULL, NULL},
    {"no such role", PGCDC_ERR_AUTH, no_such_role, "role \"loc_nosuch\" does not exist",
     "Rolle \xc2\xbbloc_nosuch\xc2\xab existiert nicht"},
    {"no such database", PGCDC_ERR_DATABASE, no_such_database,
     "database \"loc_nosuch\" does not exist",
     "Datenbank \xc2\xbbloc_nosuch\xc2\xab existiert nicht"},
    {"role without REPLICATION", PGCDC_ERR_PRIVILEGE, no_replication_attribute, NULL, NULL},
    /* Told as a start would tell it: pgcdc's own words (the preflight's), in either language. */
    {"replication connection refused", PGCDC_ERR_PRIVILEGE, replication_refused, NULL, NULL},
    {"slot busy", PGCDC_ERR_SLOT_BUSY, slot_busy, NULL, NULL},
    {"slot missing", PGCDC_ERR_SLOT_MISSING, slot_missing, NULL, NULL},
    {"slot dropped while streaming", PGCDC_ERR_SLOT_MISSING, slot_dropped, NULL, NULL},
    {"publication dropped while streaming", PGCDC_ERR_PUBLICATION, publication_dropped,
     "publication \"p_pd\" does not exist", "Publikation \xc2\xbbp_pd\xc2\xab existiert nicht"},
    {"publication on a table not owned", PGCDC_ERR_PRIVILEGE, publication_not_owner,
     "must be owner of table no", "Eigent\xc3\xbcmer der Tabelle no"},
    {"pgcdc: slot missing", 3, cli_slot_missing, NULL, NULL},
    {"pgcdc --drop-slot: slot missing", 3, cli_drop_missing_slot, NULL, NULL},
    {"pgcdc: wrong password", 1, cli_wrong_password, "password authentication failed",
     "Passwort-Authentifizierung"},
};

#define NCASES (sizeof(cases) / sizeof(cases[0]))

int main(void)
{
    struct CMUnitTest tests[1 + NCASES];

    /* First, so that the rest cannot pass without a German server. */
    tests[0] = (struct CMUnitTest)cmocka_unit_test(test_servers_speak_their_language);
    for (size_t i = 0; i < NCASES; i++)
        tests[1 + i] = (struct CMUnitTest){cases[i].what, test_case, NULL, NULL, &cases[i]};
    return cmocka_run_group_tests(tests, setup, teardown);
}
