/*
 * Integration test helpers: the test server's environment, fresh databases,
 * SQL shortcuts, and a worker run that records every change as text.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "testlib.h"

static char env_vars[32][2][1024];
static int env_count;

void tl_env(void)
{
    const char *path = getenv("PGCDC_TEST_ENV");
    char line[1024];
    FILE *f;

    if (env_count > 0)
        return;
    if (path == NULL)
        fail_msg("PGCDC_TEST_ENV is not set (run the tests through ctest)");
    f = fopen(path, "r");
    if (f == NULL)
        fail_msg("cannot read %s: is the test server running?", path);
    while (fgets(line, sizeof(line), f) != NULL && env_count < 32) {
        char *eq = strchr(line, '=');

        if (eq == NULL)
            continue;
        line[strcspn(line, "\n")] = '\0';
        *eq = '\0';
        snprintf(env_vars[env_count][0], sizeof(env_vars[0][0]), "%s", line);
        snprintf(env_vars[env_count][1], sizeof(env_vars[0][1]), "%s", eq + 1);
        setenv(line, eq + 1, 1);
        env_count++;
    }
    fclose(f);
}

const char *tl_envvar(const char *name)
{
    tl_env();
    for (int i = 0; i < env_count; i++) {
        if (strcmp(env_vars[i][0], name) == 0)
            return env_vars[i][1];
    }
    return NULL;
}

PGconn *tl_connect(const char *conninfo)
{
    PGconn *conn = PQconnectdb(conninfo);

    if (PQstatus(conn) != CONNECTION_OK)
        fail_msg("connect \"%s\": %s", conninfo, PQerrorMessage(conn));
    return conn;
}

__attribute__((format(printf, 2, 0))) static PGresult *vexec(const char *conninfo, const char *fmt,
                                                             va_list ap, PGconn **out)
{
    char *sql = NULL;
    PGconn *conn;
    PGresult *res;
    ExecStatusType st;

    if (vasprintf(&sql, fmt, ap) < 0)
        fail_msg("out of memory");
    conn = tl_connect(conninfo);
    res = PQexec(conn, sql);
    st = PQresultStatus(res);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
        fail_msg("SQL failed: %s\n%s", sql, PQerrorMessage(conn));
    free(sql);
    *out = conn;
    return res;
}

void tl_sql(const char *conninfo, const char *fmt, ...)
{
    va_list ap;
    PGconn *conn;
    PGresult *res;

    va_start(ap, fmt);
    res = vexec(conninfo, fmt, ap, &conn);
    va_end(ap);
    PQclear(res);
    PQfinish(conn);
}

char *tl_sql_value(const char *conninfo, const char *fmt, ...)
{
    va_list ap;
    PGconn *conn;
    PGresult *res;
    char *v = NULL;

    va_start(ap, fmt);
    res = vexec(conninfo, fmt, ap, &conn);
    va_end(ap);
    if (PQntuples(res) > 0 && !PQgetisnull(res, 0, 0))
        v = strdup(PQgetvalue(res, 0, 0));
    PQclear(res);
    PQfinish(conn);
    return v;
}

void tl_sql_expect(const char *conninfo, const char *want, const char *fmt, ...)
{
    va_list ap;
    PGconn *conn;
    PGresult *res;
    const char *got = NULL;

    va_start(ap, fmt);
    res = vexec(conninfo, fmt, ap, &conn);
    va_end(ap);
    if (PQntuples(res) > 0 && !PQgetisnull(res, 0, 0))
        got = PQgetvalue(res, 0, 0);
    if (want == NULL ? got != NULL : got == NULL || strcmp(got, want) != 0) {
        char msg[512];

        snprintf(msg, sizeof(msg), "%s gave %s, not %s", fmt, got ? got : "nothing",
                 want ? want : "nothing");
        PQclear(res);
        PQfinish(conn);
        fail_msg("%s", msg);
    }
    PQclear(res);
    PQfinish(conn);
}

const char *tl_fresh_db(const char *name)
{
    static char conninfo[256];

    tl_env();
    tl_sql("dbname=postgres",
           "SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots "
           "WHERE database = '%s' AND active_pid IS NOT NULL",
           name);
    tl_sql("dbname=postgres",
           "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots "
           "WHERE database = '%s'",
           name);
    tl_sql("dbname=postgres", "DROP DATABASE IF EXISTS %s WITH (FORCE)", name);
    tl_sql("dbname=postgres", "CREATE DATABASE %s", name);
    snprintf(conninfo, sizeof(conninfo), "dbname=%s", name);
    return conninfo;
}

int tl_server_version(const char *conninfo)
{
    char *v = tl_sql_value(conninfo, "SELECT current_setting('server_version_num')");
    int num;

    assert_non_null(v);
    num = atoi(v);
    free(v);
    return num;
}

int tl_have_wal2json(const char *conninfo, const char *test)
{
    PGconn *conn = tl_connect(conninfo);
    /* A temporary slot, gone with the connection. */
    PGresult *res = PQexec(conn, "SELECT pg_create_logical_replication_slot('tl_wal2json_probe', "
                                 "'wal2json', true)");
    int have = PQresultStatus(res) == PGRES_TUPLES_OK;

    PQclear(res);
    PQfinish(conn);
    if (!have)
        printf("SKIPPED: %s: the server (PostgreSQL %d) has no wal2json plugin to compare with\n",
               test, tl_server_version(conninfo) / 10000);
    return have;
}

void tl_terminate_slot_holder(const char *conninfo, const char *slot)
{
    /* pg_terminate_backend's timeout came with PostgreSQL 14. */
    char *v = tl_server_version(conninfo) >= 140000
                  ? tl_sql_value(conninfo,
                                 "SELECT pg_terminate_backend(active_pid, 5000) FROM "
                                 "pg_replication_slots WHERE slot_name = '%s'",
                                 slot)
                  : tl_sql_value(conninfo,
                                 "SELECT pg_terminate_backend(active_pid) FROM "
                                 "pg_replication_slots WHERE slot_name = '%s'",
                                 slot);

    free(v);
}

uint64_t tl_current_lsn(const char *conninfo)
{
    char *v = tl_sql_value(conninfo, "SELECT pg_current_wal_insert_lsn()");
    uint64_t lsn = 0;

    assert_non_null(v);
    assert_int_equal(pgcdc_lsn_parse(v, &lsn), PGCDC_OK);
    free(v);
    return lsn;
}

uint64_t tl_slot_confirmed(const char *conninfo, const char *slot)
{
    char *v = tl_sql_value(conninfo,
                           "SELECT confirmed_flush_lsn FROM pg_replication_slots "
                           "WHERE slot_name = '%s'",
                           slot);
    uint64_t lsn = 0;

    if (v != NULL)
        pgcdc_lsn_parse(v, &lsn);
    free(v);
    return lsn;
}

static void append(char **buf, size_t *len, size_t *cap, const char *s)
{
    size_t n = strlen(s);

    if (*len + n + 1 > *cap) {
        *cap = (*len + n + 1) * 2;
        *buf = realloc(*buf, *cap);
        assert_non_null(*buf);
    }
    memcpy(*buf + *len, s, n + 1);
    *len += n;
}

char *tl_row_string(const pgcdc_row *row)
{
    char *buf = NULL;
    size_t len = 0;
    size_t cap = 0;

    append(&buf, &len, &cap, "");
    for (int i = 0; i < pgcdc_row_ncols(row); i++) {
        const char *text;

        if (i > 0)
            append(&buf, &len, &cap, " ");
        append(&buf, &len, &cap, pgcdc_row_name(row, i));
        append(&buf, &len, &cap, "=");
        switch (pgcdc_row_state(row, i)) {
        case PGCDC_VALUE_NULL:
            append(&buf, &len, &cap, "NULL");
            break;
        case PGCDC_VALUE_UNCHANGED:
            append(&buf, &len, &cap, "<unchanged>");
            break;
        case PGCDC_VALUE_ABSENT:
            append(&buf, &len, &cap, "<absent>");
            break;
        case PGCDC_VALUE_PRESENT:
            assert_int_equal(pgcdc_row_get_text(row, i, &text, NULL), PGCDC_OK);
            if (strlen(text) > 40) {
                char shortened[64];

                snprintf(shortened, sizeof(shortened), "'<%zu bytes>'", strlen(text));
                append(&buf, &len, &cap, shortened);
            } else {
                append(&buf, &len, &cap, "'");
                append(&buf, &len, &cap, text);
                append(&buf, &len, &cap, "'");
            }
            break;
        }
    }
    return buf;
}

void tl_log_add(tl_log *log, const pgcdc_change *c)
{
    tl_change *t;

    if (log->n == log->cap) {
        log->cap = log->cap ? log->cap * 2 : 64;
        log->items = realloc(log->items, log->cap * sizeof(*log->items));
        assert_non_null(log->items);
    }
    t = &log->items[log->n++];
    memset(t, 0, sizeof(*t));
    snprintf(t->op, sizeof(t->op), "%s", pgcdc_op_name(pgcdc_change_op(c)));
    snprintf(t->table, sizeof(t->table), "%s.%s", pgcdc_change_schema(c), pgcdc_change_table(c));
    if (pgcdc_change_old(c) != NULL)
        t->old_row = tl_row_string(pgcdc_change_old(c));
    if (pgcdc_change_new(c) != NULL)
        t->new_row = tl_row_string(pgcdc_change_new(c));
    t->commit_lsn = pgcdc_change_commit_lsn(c);
    t->seq = pgcdc_change_seq(c);
    t->xid = pgcdc_change_xid(c);
    t->commit_time = pgcdc_change_commit_time(c);
}

void tl_log_free(tl_log *log)
{
    for (size_t i = 0; i < log->n; i++) {
        free(log->items[i].old_row);
        free(log->items[i].new_row);
    }
    free(log->items);
    memset(log, 0, sizeof(*log));
}

static void quiet_log(pgcdc_worker *w, pgcdc_log_level level, const char *msg, void *opaque)
{
    (void)w;
    (void)opaque;
    if (level <= PGCDC_LOG_WARNING || getenv("PGCDC_TEST_VERBOSE") != NULL)
        fprintf(stderr, "[worker] %s\n", msg);
}

pgcdc_config *tl_config(const char *conninfo, const char *slot, const char *pub, const char *tables)
{
    pgcdc_config *cfg = pgcdc_config_new();
    char *list;
    char *save = NULL;

    assert_non_null(cfg);
    assert_int_equal(pgcdc_config_set_conninfo(cfg, conninfo), PGCDC_OK);
    assert_int_equal(pgcdc_config_set_slot(cfg, slot), PGCDC_OK);
    assert_int_equal(pgcdc_config_set_publication(cfg, pub), PGCDC_OK);
    list = strdup(tables);
    for (char *t = strtok_r(list, ",", &save); t != NULL; t = strtok_r(NULL, ",", &save))
        assert_int_equal(pgcdc_config_add_table(cfg, t), PGCDC_OK);
    free(list);
    pgcdc_config_set_log_cb(cfg, quiet_log, NULL);
    pgcdc_config_set_log_level(cfg, PGCDC_LOG_DEBUG);
    pgcdc_config_set_status_interval(cfg, 1000);
    return cfg;
}

static int record_change(pgcdc_worker *w, const pgcdc_change *c, void *opaque)
{
    (void)w;
    tl_log_add(opaque, c);
    return PGCDC_HANDLED;
}

static int count_begin(pgcdc_worker *w, const pgcdc_txn *txn, void *opaque)
{
    (void)w;
    (void)txn;
    ((tl_log *)opaque)->begins++;
    return PGCDC_HANDLED;
}

static int count_commit(pgcdc_worker *w, const pgcdc_txn *txn, void *opaque)
{
    (void)w;
    (void)txn;
    ((tl_log *)opaque)->commits++;
    return PGCDC_HANDLED;
}

int tl_run_until(pgcdc_config *cfg, uint64_t endpos, tl_log *log)
{
    pgcdc_worker *w;
    int r;

    pgcdc_config_set_endpos(cfg, endpos);
    pgcdc_config_set_change_cb(cfg, record_change, log);
    pgcdc_config_set_begin_cb(cfg, count_begin, log);
    pgcdc_config_set_commit_cb(cfg, count_commit, log);
    w = pgcdc_worker_new(cfg);
    assert_non_null(w);
    r = pgcdc_worker_start(w);
    if (r != PGCDC_OK) {
        fprintf(stderr, "start failed: %s\n", pgcdc_worker_errmsg(w));
        pgcdc_worker_free(w);
        return r;
    }
    r = pgcdc_worker_run(w);
    if (r != PGCDC_OK)
        fprintf(stderr, "run failed: %s\n", pgcdc_worker_errmsg(w));
    pgcdc_worker_free(w);
    return r;
}

void tl_run_to_end(pgcdc_config *cfg, uint64_t endpos)
{
    pgcdc_worker *w;
    int r;

    pgcdc_config_set_endpos(cfg, endpos);
    w = pgcdc_worker_new(cfg);
    assert_int_equal(pgcdc_worker_start(w), PGCDC_OK);
    r = pgcdc_worker_run(w);
    if (r != PGCDC_OK)
        fail_msg("run: %d %s", r, pgcdc_worker_errmsg(w));
    pgcdc_worker_free(w);
    pgcdc_config_free(cfg);
}

int tl_start_only(pgcdc_config *cfg, char *msg, size_t size)
{
    pgcdc_worker *w = pgcdc_worker_new(cfg);
    int r;

    assert_non_null(w);
    r = pgcdc_worker_start(w);
    snprintf(msg, size, "%s", pgcdc_worker_errmsg(w));
    pgcdc_worker_free(w);
    return r;
}

const char *tl_server_start(const char *name, const char *args, char *conninfo, size_t size)
{
    static char log_path[1024];
    char cmd[2048];
    char line[1024];
    char host[1024] = "";
    char port[1024] = "";
    FILE *f;
    const char *src = getenv("PGCDC_SOURCE_DIR");
    const char *bin = getenv("PGCDC_BINARY_DIR");

    assert_non_null(src);
    assert_non_null(bin);
    snprintf(cmd, sizeof(cmd), "%s/scripts/pg-test-server start %s/pgtest-%s %s >&2", src, bin,
             name, args);
    assert_int_equal(system(cmd), 0);
    snprintf(cmd, sizeof(cmd), "%s/pgtest-%s/env", bin, name);
    f = fopen(cmd, "r");
    assert_non_null(f);
    while (fgets(line, sizeof(line), f) != NULL) {
        line[strcspn(line, "\n")] = '\0';
        if (strncmp(line, "PGHOST=", 7) == 0)
            snprintf(host, sizeof(host), "%s", line + 7);
        if (strncmp(line, "PGPORT=", 7) == 0)
            snprintf(port, sizeof(port), "%s", line + 7);
        if (strncmp(line, "PGCDC_PGLOG=", 12) == 0)
            snprintf(log_path, sizeof(log_path), "%s", line + 12);
    }
    fclose(f);
    snprintf(conninfo, size, "host=%s port=%s dbname=postgres user=postgres", host, port);
    return log_path;
}

void tl_server_stop(const char *name)
{
    char cmd[2048];

    snprintf(cmd, sizeof(cmd), "%s/scripts/pg-test-server stop %s/pgtest-%s",
             getenv("PGCDC_SOURCE_DIR"), getenv("PGCDC_BINARY_DIR"), name);
    assert_int_equal(system(cmd), 0);
}

void tl_wait_slots_active(const char *conninfo, const char *slots, int n)
{
    struct timespec ts = {0, 10000000};
    char *v = NULL;

    for (int i = 0; i < 3000; i++) {
        free(v);
        v = tl_sql_value(conninfo,
                         "SELECT count(*) FROM pg_replication_slots "
                         "WHERE slot_name IN (%s) AND active "
                         "AND confirmed_flush_lsn IS NOT NULL",
                         slots);
        if (atoi(v) == n)
            break;
        nanosleep(&ts, NULL);
    }
    if (atoi(v) != n)
        fail_msg("%s of the slots %s are active, not %d", v, slots, n);
    free(v);
}

int tl_bound_socket(int *port, int listen_too)
{
    struct sockaddr_in sa;
    socklen_t len = sizeof(sa);
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    assert_true(fd >= 0);
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
    if (listen_too)
        assert_int_equal(listen(fd, 1), 0);
    *port = ntohs(sa.sin_port);
    return fd;
}

int tl_free_port(void)
{
    int port;

    close(tl_bound_socket(&port, 0));
    return port;
}

typedef struct http_body {
    char *s;
    size_t len;
} http_body;

static size_t on_http_data(char *p, size_t size, size_t n, void *opaque)
{
    http_body *b = opaque;
    char *s = realloc(b->s, b->len + size * n + 1);

    assert_non_null(s);
    memcpy(s + b->len, p, size * n);
    b->s = s;
    b->len += size * n;
    b->s[b->len] = '\0';
    return size * n;
}

long tl_http_get(int port, const char *path, char **out, char *type, size_t tsize)
{
    CURL *c = curl_easy_init();
    http_body b = {calloc(1, 1), 0};
    char url[128];
    long status = 0;
    char *ct = NULL;

    assert_non_null(c);
    snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", port, path);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_http_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
    curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
    if (curl_easy_perform(c) == CURLE_OK) {
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
        curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &ct);
    }
    if (type != NULL)
        snprintf(type, tsize, "%s", ct != NULL ? ct : "");
    curl_easy_cleanup(c);
    *out = b.s;
    return status;
}

void tl_sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

    nanosleep(&ts, NULL);
}

void *tl_load_main(void *arg)
{
    tl_loader *ld = arg;
    PGconn *conn = tl_connect(ld->db);

    for (int i = 0; !atomic_load(&ld->stop); i++) {
        int first = i * ld->rows + 1;
        char sql[256];
        PGresult *res;

        if (ld->statement != NULL)
            ld->statement(sql, sizeof(sql), first, first + ld->rows - 1);
        else
            snprintf(sql, sizeof(sql), "INSERT INTO t SELECT g, 'v' FROM generate_series(%d, %d) g",
                     first, first + ld->rows - 1);
        res = PQexec(conn, sql);
        if (PQresultStatus(res) != PGRES_COMMAND_OK) {
            fprintf(stderr, "load: %s", PQerrorMessage(conn));
            PQclear(res);
            break;
        }
        PQclear(res);
        atomic_store(&ld->done, i + 1);
    }
    PQfinish(conn);
    return NULL;
}

void tl_wait_loaded(tl_loader *ld, int n)
{
    for (int i = 0; i < 180 * 100 && atomic_load(&ld->done) < n; i++)
        tl_sleep_ms(10);
    assert_true(atomic_load(&ld->done) >= n);
}

void tl_assert_sink_uris(pgcdc_config *cfg, const char *const (*bad)[2], size_t nbad,
                         const char *const *good, size_t ngood)
{
    for (size_t i = 0; i < nbad; i++) {
        const char *msg;

        if (pgcdc_config_add_sink(cfg, bad[i][0]) != PGCDC_ERR_INVALID)
            fail_msg("%s: taken", bad[i][0]);
        msg = pgcdc_config_errmsg(cfg);
        if (strstr(msg, bad[i][1]) == NULL)
            fail_msg("%s: \"%s\" lacks \"%s\"", bad[i][0], msg, bad[i][1]);
        assert_null(strchr(msg, '\n'));
    }
    for (size_t i = 0; i < ngood; i++) {
        if (pgcdc_config_add_sink(cfg, good[i]) != PGCDC_OK)
            fail_msg("%s: %s", good[i], pgcdc_config_errmsg(cfg));
    }
}

pid_t tl_daemon_start(const char *const argv[])
{
    pid_t pid = fork();

    assert_true(pid >= 0);
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        execvp(argv[0], (char *const *)argv);
        _exit(127);
    }
    return pid;
}

void tl_daemon_stop(pid_t *pid, int sig)
{
    if (*pid == 0)
        return;
    kill(*pid, sig);
    waitpid(*pid, NULL, 0);
    *pid = 0;
}

int tl_daemon_exited(pid_t *pid)
{
    if (*pid == 0 || waitpid(*pid, NULL, WNOHANG) != *pid)
        return 0;
    *pid = 0;
    return 1;
}

void tl_trim_torn(const char *path)
{
    FILE *f = fopen(path, "r");
    long keep = 0;
    long at = 0;
    int ch;

    assert_non_null(f);
    while ((ch = fgetc(f)) != EOF) {
        at++;
        if (ch == '\n')
            keep = at;
    }
    fclose(f);
    assert_int_equal(truncate(path, keep), 0);
}

long tl_count_lines(const char *path)
{
    FILE *f = fopen(path, "r");
    long n = 0;
    int ch;

    if (f == NULL)
        return 0;
    while ((ch = fgetc(f)) != EOF)
        n += ch == '\n';
    fclose(f);
    return n;
}

static void *runner_main(void *arg)
{
    tl_runner *r = arg;

    r->run_thread = pthread_self();
    atomic_store(&r->running, 1);
    r->result = pgcdc_worker_run(r->w);
    return NULL;
}

void tl_runner_start(tl_runner *r, pgcdc_config *cfg)
{
    memset(r, 0, sizeof(*r));
    r->w = pgcdc_worker_new(cfg);
    assert_non_null(r->w);
    if (pgcdc_worker_start(r->w) != PGCDC_OK)
        fail_msg("start: %s", pgcdc_worker_errmsg(r->w));
    assert_int_equal(pthread_create(&r->thread, NULL, runner_main, r), 0);
}

int tl_runner_join(tl_runner *r)
{
    pthread_join(r->thread, NULL);
    return r->result;
}

void tl_expect_change(const tl_change *c, const char *op, const char *table, const char *old_row,
                      const char *new_row)
{
    assert_string_equal(c->op, op);
    if (table != NULL)
        assert_string_equal(c->table, table);
    if (old_row == NULL)
        assert_null(c->old_row);
    else
        assert_string_equal(c->old_row, old_row);
    if (new_row == NULL)
        assert_null(c->new_row);
    else
        assert_string_equal(c->new_row, new_row);
}
