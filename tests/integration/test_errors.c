/*
 * Bad input: each gives a distinct code and a one-line message naming cause
 * and fix, never shows the password, and leaves nothing half-created.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testlib.h"

#define CANARY "Canary-Pw-7f3a9"

static void assert_one_line(const char *msg)
{
    assert_null(strchr(msg, '\n'));
    assert_true(strlen(msg) > 20);
    assert_null(strstr(msg, CANARY));
}

static int count(const char *db, const char *sql)
{
    char *v = tl_sql_value(db, "%s", sql);
    int n = atoi(v);

    free(v);
    return n;
}

static void assert_nothing_created(const char *db)
{
    assert_int_equal(count(db, "SELECT count(*) FROM pg_replication_slots "
                               "WHERE database = current_database()"),
                     0);
    assert_int_equal(count(db, "SELECT count(*) FROM pg_publication"), 0);
}

/* Slot names are cluster-wide: each test uses its own. */
static const char *slot = "s_err";

static int start(const char *conninfo, const char *tables, char *msg, size_t size)
{
    pgcdc_config *cfg = tl_config(conninfo, slot, "p_err", tables);
    int r = tl_start_only(cfg, msg, size);

    pgcdc_config_free(cfg);
    fprintf(stderr, "  -> %s: %s\n", pgcdc_err_name(r), msg);
    return r;
}

static void test_auth_and_privileges(void **state)
{
    const char *db = tl_fresh_db("t_err");
    char conninfo[512];
    char msg[1024];

    (void)state;
    tl_sql(db, "CREATE TABLE t (id int PRIMARY KEY)");
    tl_sql(db, "DROP ROLE IF EXISTS pw_user; DROP ROLE IF EXISTS norepl;"
               "CREATE ROLE pw_user LOGIN REPLICATION PASSWORD '" CANARY "' IN ROLE pwauth;"
               "CREATE ROLE norepl LOGIN");
    /* Wrong password. */
    snprintf(conninfo, sizeof(conninfo), "dbname=t_err user=pw_user password=wrong-" CANARY);
    assert_int_equal(start(conninfo, "t", msg, sizeof(msg)), PGCDC_ERR_AUTH);
    assert_one_line(msg);
    assert_non_null(strstr(msg, "password authentication failed"));
    /* The same as a URI. */
    snprintf(conninfo, sizeof(conninfo), "postgresql://pw_user:bad-" CANARY "@/t_err?host=%s",
             getenv("PGHOST"));
    assert_int_equal(start(conninfo, "t", msg, sizeof(msg)), PGCDC_ERR_AUTH);
    assert_one_line(msg);
    /* No password at all. */
    assert_int_equal(start("dbname=t_err user=pw_user", "t", msg, sizeof(msg)), PGCDC_ERR_AUTH);
    assert_one_line(msg);
    /* Malformed connection string that contains the password. */
    assert_int_equal(start("dbname=t_err password=" CANARY " bogus", "t", msg, sizeof(msg)),
                     PGCDC_ERR_INVALID);
    assert_one_line(msg);
    /* Role without REPLICATION. */
    assert_int_equal(start("dbname=t_err user=norepl", "t", msg, sizeof(msg)), PGCDC_ERR_PRIVILEGE);
    assert_one_line(msg);
    assert_non_null(strstr(msg, "ALTER ROLE norepl REPLICATION"));
    /* Unreachable server. */
    assert_int_equal(
        start("host=127.0.0.1 port=1 dbname=x connect_timeout=2", "t", msg, sizeof(msg)),
        PGCDC_ERR_CONNECT);
    assert_one_line(msg);
    assert_int_equal(start("host=/nonexistent dbname=x", "t", msg, sizeof(msg)), PGCDC_ERR_CONNECT);
    assert_one_line(msg);
    assert_nothing_created(db);
    /* The right password works, and the password appears nowhere. */
    snprintf(conninfo, sizeof(conninfo), "dbname=t_err user=pw_user password=" CANARY);
    tl_sql(db, "ALTER TABLE t OWNER TO pw_user; GRANT CREATE ON DATABASE t_err TO pw_user");
    assert_int_equal(start(conninfo, "t", msg, sizeof(msg)), PGCDC_OK);
    tl_sql(db, "SELECT pg_drop_replication_slot('s_err'); DROP PUBLICATION p_err;"
               "ALTER TABLE t OWNER TO postgres");
}

static void test_tables_and_identity(void **state)
{
    const char *db = tl_fresh_db("t_err2");
    char msg[1024];
    pgcdc_config *cfg;
    char *ident;

    (void)state;
    slot = "s_err2";
    tl_sql(db, "CREATE TABLE ok (id int PRIMARY KEY); CREATE TABLE nokey (a int, b text);"
               "CREATE VIEW v AS SELECT 1 AS x; CREATE SCHEMA \"Odd \"\"S\"\"\";"
               "CREATE TABLE \"Odd \"\"S\"\"\".\"we;ird\" (id int PRIMARY KEY)");
    assert_int_equal(start("dbname=t_err2", "ok,missing", msg, sizeof(msg)), PGCDC_ERR_TABLE);
    assert_one_line(msg);
    assert_non_null(strstr(msg, "\"missing\" does not exist"));
    assert_int_equal(start("dbname=t_err2", "ok,nosuch.ok", msg, sizeof(msg)), PGCDC_ERR_TABLE);
    assert_int_equal(start("dbname=t_err2", "v", msg, sizeof(msg)), PGCDC_ERR_TABLE);
    assert_one_line(msg);
    /* No primary key or replica identity: refused, with the fix named. */
    assert_int_equal(start("dbname=t_err2", "ok,nokey", msg, sizeof(msg)), PGCDC_ERR_TABLE);
    assert_one_line(msg);
    assert_non_null(strstr(msg, "public.nokey"));
    assert_non_null(strstr(msg, "REPLICA IDENTITY FULL"));
    assert_nothing_created(db);
    /* Tables whose names need quoting are quoted, not injected. */
    assert_int_equal(start("dbname=t_err2", "Odd \"S\".we;ird", msg, sizeof(msg)), PGCDC_OK);
    tl_sql(db, "SELECT pg_drop_replication_slot('s_err2'); DROP PUBLICATION p_err");
    /* The option sets FULL on the listed tables, then it works. */
    cfg = tl_config("dbname=t_err2", "s_err2", "p_err", "ok,nokey");
    pgcdc_config_set_replica_identity_full(cfg, 1);
    assert_int_equal(tl_start_only(cfg, msg, sizeof(msg)), PGCDC_OK);
    ident = tl_sql_value(db, "SELECT string_agg(relreplident::text, '' ORDER BY relname) "
                             "FROM pg_class WHERE relname IN ('ok', 'nokey')");
    assert_string_equal(ident, "ff");
    free(ident);
    pgcdc_config_free(cfg);
}

static void test_publication_and_slot(void **state)
{
    const char *db = tl_fresh_db("t_err3");
    char msg[1024];
    pgcdc_config *cfg;

    (void)state;
    slot = "s_err3";
    tl_sql(db, "CREATE TABLE a (id int PRIMARY KEY); CREATE TABLE b (id int PRIMARY KEY);"
               "CREATE PUBLICATION p_err FOR TABLE a");
    /* Existing publication without a listed table. */
    assert_int_equal(start("dbname=t_err3", "a,b", msg, sizeof(msg)), PGCDC_ERR_PUBLICATION);
    assert_one_line(msg);
    assert_non_null(strstr(msg, "ALTER PUBLICATION p_err ADD TABLE public.b"));
    assert_int_equal(count(db, "SELECT count(*) FROM pg_replication_slots "
                               "WHERE database = current_database()"),
                     0);
    /* Missing slot with creation turned off. */
    cfg = tl_config("dbname=t_err3", "s_err3", "p_err", "a");
    pgcdc_config_set_create_slot(cfg, 0);
    assert_int_equal(tl_start_only(cfg, msg, sizeof(msg)), PGCDC_ERR_SLOT_MISSING);
    assert_one_line(msg);
    pgcdc_config_free(cfg);
    /* A slot of another plugin under that name. */
    tl_sql(db, "SELECT pg_create_logical_replication_slot('s_err3', 'test_decoding')");
    assert_int_equal(start("dbname=t_err3", "a", msg, sizeof(msg)), PGCDC_ERR_SLOT_MISMATCH);
    assert_one_line(msg);
    tl_sql(db, "SELECT pg_drop_replication_slot('s_err3')");
    /* Missing publication with creation turned off. */
    tl_sql(db, "DROP PUBLICATION p_err");
    cfg = tl_config("dbname=t_err3", "s_err3", "p_err", "a");
    pgcdc_config_set_create_publication(cfg, 0);
    assert_int_equal(tl_start_only(cfg, msg, sizeof(msg)), PGCDC_ERR_PUBLICATION);
    assert_one_line(msg);
    pgcdc_config_free(cfg);
    assert_nothing_created(db);
}

/*
 * A publication dropped and created again: the server reads publications as
 * of the position it decodes, so changes made in between fail every retry.
 * pgcdc stops with a clear error instead of retrying forever, and confirms
 * nothing past the last change it delivered.
 */
static void test_publication_dropped_under_slot(void **state)
{
    const char *db = tl_fresh_db("t_err6");
    pgcdc_config *cfg;
    tl_log log = {0};
    pgcdc_worker *w;
    uint64_t before;

    (void)state;
    tl_sql(db, "CREATE TABLE a (id int PRIMARY KEY)");
    cfg = tl_config("dbname=t_err6", "s_err6", "p_err6", "a");
    assert_int_equal(tl_run_until(cfg, tl_current_lsn(db), &log), PGCDC_OK);
    tl_sql(db, "INSERT INTO a VALUES (1)");
    tl_sql(db, "DROP PUBLICATION p_err6");
    tl_sql(db, "INSERT INTO a VALUES (2)");
    tl_sql(db, "CREATE PUBLICATION p_err6 FOR TABLE a");
    tl_sql(db, "INSERT INTO a VALUES (3)");
    before = tl_slot_confirmed(db, "s_err6");
    pgcdc_config_set_create_publication(cfg, 0);
    pgcdc_config_set_endpos(cfg, tl_current_lsn(db));
    w = pgcdc_worker_new(cfg);
    assert_non_null(w);
    assert_int_equal(pgcdc_worker_start(w), PGCDC_OK);
    /* From PostgreSQL 18 the server would skip the gap with a warning: pgcdc stops all the same. */
    assert_int_equal(pgcdc_worker_run(w), PGCDC_ERR_PUBLICATION);
    fprintf(stderr, "  -> %s\n", pgcdc_worker_errmsg(w));
    assert_one_line(pgcdc_worker_errmsg(w));
    assert_non_null(strstr(pgcdc_worker_errmsg(w), "p_err6"));
    /* Row 1, decoded before the drop, was delivered; nothing after the gap was. */
    assert_int_equal(log.n, 1);
    assert_string_equal(log.items[0].new_row, "id='1'");
    pgcdc_worker_free(w);
    assert_true(tl_slot_confirmed(db, "s_err6") >= before);
    assert_true(tl_slot_confirmed(db, "s_err6") < tl_current_lsn(db));
    pgcdc_config_free(cfg);
    tl_log_free(&log);
}

static void test_invalid_names(void **state)
{
    pgcdc_config *cfg = pgcdc_config_new();
    const char *bad[] = {
        "",          "Upper",
        "has space", "semi;colon",
        "quo\"te",   "new\nline",
        "slöt",      "a123456789012345678901234567890123456789012345678901234567890123"};

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(pgcdc_config_set_slot(cfg, bad[i]), PGCDC_ERR_INVALID);
        assert_int_equal(pgcdc_config_set_publication(cfg, bad[i]), PGCDC_ERR_INVALID);
        assert_one_line(pgcdc_config_errmsg(cfg));
    }
    assert_int_equal(pgcdc_config_add_table(cfg, "a\nb"), PGCDC_ERR_INVALID);
    assert_int_equal(pgcdc_config_add_table(cfg, ".t"), PGCDC_ERR_INVALID);
    pgcdc_config_free(cfg);
}

static void test_wal_level(void **state)
{
    char conninfo[1024];
    char msg[1024];

    (void)state;
    slot = "s_err4";
    tl_server_start("replica", "--set wal_level=replica", conninfo, sizeof(conninfo));
    tl_sql(conninfo, "CREATE TABLE t (id int PRIMARY KEY)");
    assert_int_equal(start(conninfo, "t", msg, sizeof(msg)), PGCDC_ERR_WAL_LEVEL);
    assert_one_line(msg);
    assert_non_null(strstr(msg, "wal_level = logical"));
    assert_nothing_created(conninfo);
    tl_server_stop("replica");
}

/*
 * A malformed connection string: libpq's own words, fragments included,
 * except those that may be the password.
 */
static void test_malformed_conninfo(void **state)
{
    static const struct {
        const char *conninfo;
        const char *shown; /* in the message */
    } cases[] = {
        /* No password: libpq's message as it is. */
        {"host=localhost port 5432", "missing \"=\" after \"port\" in connection info string"},
        {"hots=localhost", "invalid connection option \"hots\""},
        {"postgresql://cdc@[::1:5432/db",
         "matching \"]\" in IPv6 host address in URI: \"postgresql://cdc@[::1:5432/db\""},
        /* Before the password: shown; after it, maybe a part of it (unquoted, with a space). */
        {"dbname=x port 5432 password=" CANARY, "missing \"=\" after \"port\""},
        {"dbname=x password=" CANARY " bogus", "missing \"=\" after \"...\""},
        {"dbname=x password=" CANARY "-Part two", "missing \"=\" after \"...\""},
        {"postgresql://cdc:" CANARY "@[::1:5432/db", "in IPv6 host address in URI: \"...\""},
        {"postgresql://cdc@h/db?password=" CANARY "&x", "URI query parameter: \"...\""},
        /* A quote in the password: fragments cannot be told apart, none is shown. */
        {"dbname=x password=a\"" CANARY " b\"c d", "could show the password"},
    };
    char msg[1024];

    (void)state;
    slot = "s_err5";
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        assert_int_equal(start(cases[i].conninfo, "t", msg, sizeof(msg)), PGCDC_ERR_INVALID);
        assert_one_line(msg);
        assert_null(strstr(msg, "Part"));
        if (strstr(msg, cases[i].shown) == NULL)
            fail_msg("case %zu: \"%s\" not in \"%s\"", i, cases[i].shown, msg);
    }
}

/*
 * Hints that fit the failure: a server without TLS is no certificate
 * problem (the certificate failures are in test_security.c).
 */
static void test_connection_hints(void **state)
{
    char conninfo[1024];
    char conn[1200];
    char msg[1024];
    const char *port;

    (void)state;
    slot = "s_err7";
    tl_server_start("notls", "--tcp", conninfo, sizeof(conninfo));
    port = strstr(conninfo, "port=");
    assert_non_null(port);
    snprintf(conn, sizeof(conn), "host=127.0.0.1 %.*s dbname=postgres sslmode=require",
             (int)strcspn(port, " "), port);
    assert_int_equal(start(conn, "t", msg, sizeof(msg)), PGCDC_ERR_CONNECT);
    assert_one_line(msg);
    assert_non_null(strstr(msg, "server does not support SSL, but SSL was required"));
    assert_non_null(strstr(msg, "turn ssl on"));
    assert_null(strstr(msg, "sslrootcert"));
    assert_null(strstr(msg, "certificate"));
    tl_server_stop("notls");
}

/* The preflight and what it creates, without streaming: no walsender stays on the slot. */
static int prepare(pgcdc_config *cfg, pgcdc_failover failover, char *msg, size_t size)
{
    pgcdc_worker *w;
    int r;

    pgcdc_config_set_failover(cfg, failover);
    w = pgcdc_worker_new(cfg);
    assert_non_null(w);
    r = pgcdc_worker_prepare(w, NULL);
    snprintf(msg, size, "%s", pgcdc_worker_errmsg(w));
    pgcdc_worker_free(w);
    fprintf(stderr, "  -> %s: %s\n", pgcdc_err_name(r), msg);
    return r;
}

/*
 * slot.failover: on is refused before PostgreSQL 17, creating nothing; from
 * 17 a slot created by default is a failover slot, off makes an ordinary one
 * and on makes an existing one a failover slot.
 */
static void test_failover_setting(void **state)
{
    const char *db = tl_fresh_db("t_err8");
    const char *failover = "SELECT failover FROM pg_replication_slots WHERE slot_name = 's_err8'";
    char msg[1024];
    pgcdc_config *cfg;

    (void)state;
    slot = "s_err8";
    tl_sql(db, "CREATE TABLE a (id int PRIMARY KEY)");
    cfg = tl_config("dbname=t_err8", slot, "p_err", "a");
    if (tl_server_version(db) < 170000) {
        assert_int_equal(prepare(cfg, PGCDC_FAILOVER_ON, msg, sizeof(msg)), PGCDC_ERR_INVALID);
        assert_one_line(msg);
        assert_non_null(strstr(msg, "failover slots need PostgreSQL 17"));
        assert_nothing_created(db);
        assert_int_equal(prepare(cfg, PGCDC_FAILOVER_AUTO, msg, sizeof(msg)), PGCDC_OK);
        printf("SKIPPED: test_errors: failover slots need PostgreSQL 17; the server is %d\n",
               tl_server_version(db) / 10000);
    } else {
        assert_int_equal(prepare(cfg, PGCDC_FAILOVER_AUTO, msg, sizeof(msg)), PGCDC_OK);
        tl_sql_expect(db, "t", "%s", failover);
        tl_sql(db, "SELECT pg_drop_replication_slot('s_err8')");
        assert_int_equal(prepare(cfg, PGCDC_FAILOVER_OFF, msg, sizeof(msg)), PGCDC_OK);
        tl_sql_expect(db, "f", "%s", failover);
        assert_int_equal(prepare(cfg, PGCDC_FAILOVER_AUTO, msg, sizeof(msg)), PGCDC_OK);
        tl_sql_expect(db, "f", "%s", failover);
        assert_int_equal(prepare(cfg, PGCDC_FAILOVER_ON, msg, sizeof(msg)), PGCDC_OK);
        tl_sql_expect(db, "t", "%s", failover);
    }
    tl_sql(db, "SELECT pg_drop_replication_slot('s_err8')");
    pgcdc_config_free(cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_auth_and_privileges),
        cmocka_unit_test(test_tables_and_identity),
        cmocka_unit_test(test_publication_and_slot),
        cmocka_unit_test(test_publication_dropped_under_slot),
        cmocka_unit_test(test_invalid_names),
        cmocka_unit_test(test_wal_level),
        cmocka_unit_test(test_malformed_conninfo),
        cmocka_unit_test(test_connection_hints),
        cmocka_unit_test(test_failover_setting),
    };

    tl_env();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
