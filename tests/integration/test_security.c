/*
 * Security: TLS with verify-full against a test CA (and the clear failures of
 * a wrong CA or host name), streaming as a plain LOGIN REPLICATION role,
 * hostile identifiers quoted (the statement log shows no injected statement),
 * and a canary password that never appears in any message.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testlib.h"

#define CANARY "Canary-Tls-51d0"

static char dir[] = "/tmp/pgcdc-tls-XXXXXX";
static char conninfo[1024]; /* the dedicated server, as postgres over the socket */
static char port[32];
static const char *server_log;

static void run(const char *cmd)
{
    if (system(cmd) != 0)
        fail_msg("command failed: %s", cmd);
}

/* A CA, a server certificate for "localhost" signed by it, and an unrelated CA. */
static int setup(void **state)
{
    char cmd[4096];
    char args[2048];
    char *p;

    (void)state;
    tl_env();
    if (mkdtemp(dir) == NULL)
        return -1;
    snprintf(cmd, sizeof(cmd),
             "cd %s && openssl req -x509 -newkey rsa:2048 -nodes -days 2 "
             "-subj /CN=pgcdc-test-ca -keyout ca.key -out ca.crt 2>/dev/null && "
             "openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=other-ca "
             "-keyout other.key -out other.crt 2>/dev/null && "
             "openssl req -newkey rsa:2048 -nodes -subj /CN=localhost "
             "-keyout server.key -out server.csr 2>/dev/null && "
             "printf 'subjectAltName=DNS:localhost\\n' > ext.cnf && "
             "openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial "
             "-days 2 -extfile ext.cnf -out server.crt 2>/dev/null && "
             "chmod 755 . && chmod 600 server.key && "
             "if [ \"$(id -u)\" = 0 ]; then chown postgres server.key server.crt; fi",
             dir);
    run(cmd);
    snprintf(args, sizeof(args),
             "--tcp --set ssl=on --set \"ssl_cert_file='%s/server.crt'\" "
             "--set \"ssl_key_file='%s/server.key'\" --set log_statement=all",
             dir, dir);
    server_log = tl_server_start("tls", args, conninfo, sizeof(conninfo));
    p = strstr(conninfo, "port=");
    snprintf(port, sizeof(port), "%.*s", (int)strcspn(p + 5, " "), p + 5);
    tl_sql(conninfo, "CREATE DATABASE sec");
    tl_sql(conninfo, "CREATE ROLE cdc LOGIN REPLICATION PASSWORD '" CANARY "' IN ROLE pwauth");
    return 0;
}

static int teardown(void **state)
{
    char cmd[1200];

    (void)state;
    tl_server_stop("tls");
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static int start_with(const char *conn, const char *slot, const char *pub, const char *tables,
                      char *msg, size_t size)
{
    pgcdc_config *cfg = tl_config(conn, slot, pub, tables);
    int r = tl_start_only(cfg, msg, size);

    pgcdc_config_free(cfg);
    fprintf(stderr, "  -> %s: %s\n", pgcdc_err_name(r), msg);
    assert_null(strstr(msg, CANARY));
    assert_null(strchr(msg, '\n'));
    return r;
}

static void test_tls(void **state)
{
    char db[1024];
    char conn[2048];
    char msg[1024];

    (void)state;
    snprintf(db, sizeof(db), "%s", conninfo);
    memcpy(strstr(db, "dbname=postgres"), "dbname=sec     ", 15);
    tl_sql(db, "CREATE TABLE IF NOT EXISTS t (id int PRIMARY KEY); ALTER TABLE t OWNER TO cdc;"
               "GRANT CREATE ON DATABASE sec TO cdc");
    /* verify-full against the test CA: streams. */
    snprintf(conn, sizeof(conn),
             "host=localhost port=%s dbname=sec user=cdc password=" CANARY
             " sslmode=verify-full sslrootcert=%s/ca.crt",
             port, dir);
    assert_int_equal(start_with(conn, "s_tls", "p_tls", "t", msg, sizeof(msg)), PGCDC_OK);
    {
        char *ssl = tl_sql_value(conn, "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()");

        assert_string_equal(ssl, "t");
        free(ssl);
    }
    /* A CA that did not sign the server's certificate. */
    snprintf(conn, sizeof(conn),
             "host=localhost port=%s dbname=sec user=cdc password=" CANARY
             " sslmode=verify-full sslrootcert=%s/other.crt",
             port, dir);
    assert_int_equal(start_with(conn, "s_tls", "p_tls", "t", msg, sizeof(msg)), PGCDC_ERR_CONNECT);
    assert_non_null(strstr(msg, "certificate verify failed"));
    assert_non_null(strstr(msg, "check sslmode and sslrootcert"));
    /* No CA file at all. */
    snprintf(conn, sizeof(conn),
             "host=localhost port=%s dbname=sec user=cdc password=" CANARY
             " sslmode=verify-full sslrootcert=%s/missing.crt",
             port, dir);
    assert_int_equal(start_with(conn, "s_tls", "p_tls", "t", msg, sizeof(msg)), PGCDC_ERR_CONNECT);
    assert_non_null(strstr(msg, "root certificate file"));
    assert_non_null(strstr(msg, "check sslrootcert"));
    /* TLS, but no version both sides accept: not a certificate problem. */
    snprintf(conn, sizeof(conn),
             "host=localhost port=%s dbname=sec user=cdc password=" CANARY
             " sslmode=require ssl_min_protocol_version=TLSv1 ssl_max_protocol_version=TLSv1.1",
             port);
    assert_int_equal(start_with(conn, "s_tls", "p_tls", "t", msg, sizeof(msg)), PGCDC_ERR_CONNECT);
    assert_non_null(strstr(msg, "SSL"));
    assert_non_null(strstr(msg, "ssl_max_protocol_version"));
    assert_null(strstr(msg, "sslrootcert"));
    /* Channel binding asked for without TLS. */
    snprintf(conn, sizeof(conn),
             "host=localhost port=%s dbname=sec user=cdc password=" CANARY
             " sslmode=disable channel_binding=require",
             port);
    assert_int_equal(start_with(conn, "s_tls", "p_tls", "t", msg, sizeof(msg)), PGCDC_ERR_CONNECT);
    assert_non_null(strstr(msg, "SSL not in use"));
    assert_non_null(strstr(msg, "sslmode=require"));
    assert_null(strstr(msg, "sslrootcert"));
    /* A host name the certificate does not name. */
    snprintf(conn, sizeof(conn),
             "host=127.0.0.1 port=%s dbname=sec user=cdc password=" CANARY
             " sslmode=verify-full sslrootcert=%s/ca.crt",
             port, dir);
    assert_int_equal(start_with(conn, "s_tls", "p_tls", "t", msg, sizeof(msg)), PGCDC_ERR_CONNECT);
    assert_non_null(strstr(msg, "does not match host name"));
    /* A bad host, with the password in a URI. */
    snprintf(conn, sizeof(conn), "postgresql://cdc:" CANARY "@nonexistent.invalid:%s/sec", port);
    assert_int_equal(start_with(conn, "s_tls", "p_tls", "t", msg, sizeof(msg)), PGCDC_ERR_CONNECT);
}

static int count_changes(pgcdc_worker *w, const pgcdc_change *c, void *opaque)
{
    (void)w;
    (void)c;
    (*(int *)opaque)++;
    return PGCDC_HANDLED;
}

static void test_plain_replication_role(void **state)
{
    char db[1024];
    char conn[1100];
    char msg[1024];
    pgcdc_config *cfg;
    pgcdc_worker *w;
    int n = 0;

    (void)state;
    snprintf(db, sizeof(db), "%s", conninfo);
    memcpy(strstr(db, "dbname=postgres"), "dbname=sec     ", 15);
    /* Tables and publication belong to postgres; cdc only has LOGIN REPLICATION. */
    tl_sql(db, "CREATE TABLE owned (id int PRIMARY KEY); CREATE PUBLICATION p_owned FOR TABLE "
               "owned");
    snprintf(conn, sizeof(conn), "%s user=cdc password=" CANARY, db);
    cfg = tl_config(conn, "s_plain", "p_owned", "owned");
    assert_int_equal(tl_start_only(cfg, msg, sizeof(msg)), PGCDC_OK);
    tl_sql(db, "INSERT INTO owned VALUES (1), (2)");
    pgcdc_config_set_endpos(cfg, tl_current_lsn(db));
    pgcdc_config_set_change_cb(cfg, count_changes, &n);
    w = pgcdc_worker_new(cfg);
    assert_int_equal(pgcdc_worker_start(w), PGCDC_OK);
    assert_int_equal(pgcdc_worker_run(w), PGCDC_OK);
    pgcdc_worker_free(w);
    pgcdc_config_free(cfg);
    assert_int_equal(n, 2);
    /* Without the publication, and without the right to create one, the message says so. */
    tl_sql(db, "CREATE TABLE notmine (id int PRIMARY KEY)");
    assert_int_equal(start_with(conn, "s_plain2", "p_plain2", "notmine", msg, sizeof(msg)),
                     PGCDC_ERR_PRIVILEGE);
    assert_non_null(strstr(msg, "CREATE PUBLICATION"));
}

static void test_hostile_names(void **state)
{
    char db[1024];
    char msg[1024];
    char line[8192];
    int checked = 0;
    FILE *f;
    char *v;
    pgcdc_config *cfg = pgcdc_config_new();
    char long_name[80];

    (void)state;
    snprintf(db, sizeof(db), "%s", conninfo);
    memcpy(strstr(db, "dbname=postgres"), "dbname=sec     ", 15);
    tl_sql(db, "CREATE TABLE victim (id int PRIMARY KEY);"
               "CREATE TABLE \"x'); DROP TABLE victim; --\" (id int PRIMARY KEY);"
               "CREATE TABLE \"q\"\"uote\" (id int PRIMARY KEY);"
               "CREATE TABLE \"\xc3\xa9t\xc3\xa9\" (id int PRIMARY KEY)");
    assert_int_equal(start_with(db, "s_hostile", "p_hostile",
                                "x'); DROP TABLE victim; --,q\"uote,\xc3\xa9t\xc3\xa9", msg,
                                sizeof(msg)),
                     PGCDC_OK);
    v = tl_sql_value(db, "SELECT count(*) FROM pg_publication_tables WHERE pubname = 'p_hostile'");
    assert_string_equal(v, "3");
    free(v);
    v = tl_sql_value(db, "SELECT to_regclass('victim') IS NOT NULL");
    assert_string_equal(v, "t");
    free(v);
    /* Every logged statement naming victim holds it inside a quoted identifier or literal. */
    f = fopen(server_log, "r");
    assert_non_null(f);
    while (fgets(line, sizeof(line), f) != NULL) {
        if (strstr(line, "DROP TABLE victim") == NULL)
            continue;
        checked++;
        if (strstr(line, "\"x'); DROP TABLE victim; --\"") == NULL &&
            strstr(line, "'x''); DROP TABLE victim; --'") == NULL)
            fail_msg("unquoted statement in the server log: %s", line);
    }
    fclose(f);
    assert_true(checked > 0);
    /* Names that are refused before any SQL. */
    memset(long_name, 'a', 64);
    long_name[64] = '\0';
    assert_int_equal(pgcdc_config_add_table(cfg, long_name), PGCDC_ERR_INVALID);
    assert_int_equal(pgcdc_config_add_table(cfg, "new\nline"), PGCDC_ERR_INVALID);
    assert_int_equal(pgcdc_config_set_slot(cfg, "s; DROP"), PGCDC_ERR_INVALID);
    assert_int_equal(pgcdc_config_set_publication(cfg, "p'--"), PGCDC_ERR_INVALID);
    assert_int_equal(pgcdc_config_set_slot(cfg, long_name), PGCDC_ERR_INVALID);
    pgcdc_config_free(cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tls),
        cmocka_unit_test(test_plain_replication_role),
        cmocka_unit_test(test_hostile_names),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
