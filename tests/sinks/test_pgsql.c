/*
 * The postgresql sink against real targets: databases of the test server
 * itself, and for the fault test a second server the test starts, stops in
 * immediate mode during a load and starts again.  What the target holds is
 * read back: the audit table's rows (each change once, its position
 * unique, old and new as JSON), the apply mode's tables (equal to the
 * source's, unchanged TOAST values kept), the skipped replay after a
 * restart from the slot, a missing target table, URIs and modes refused
 * before anything connects.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testlib.h"

/* How long a test waits for something that must happen (it never asserts a duration). */
#define WAIT_MS (180 * 1000)

typedef struct logs {
    pthread_mutex_t mu;
    int retrying;
    int again;
    int skipped;
} logs;

static void on_log(pgcdc_worker *w, pgcdc_log_level level, const char *msg, void *opaque)
{
    logs *lg = opaque;

    (void)w;
    if (level <= PGCDC_LOG_WARNING || getenv("PGCDC_TEST_VERBOSE") != NULL)
        fprintf(stderr, "[worker] %s\n", msg);
    pthread_mutex_lock(&lg->mu);
    lg->retrying += strstr(msg, "(retrying)") != NULL;
    lg->again += strstr(msg, "delivering again") != NULL;
    lg->skipped += strstr(msg, "in the target already") != NULL;
    pthread_mutex_unlock(&lg->mu);
}

static void logs_init(logs *lg)
{
    memset(lg, 0, sizeof(*lg));
    pthread_mutex_init(&lg->mu, NULL);
}

static int count_of(logs *lg, int *field)
{
    int n;

    pthread_mutex_lock(&lg->mu);
    n = *field;
    pthread_mutex_unlock(&lg->mu);
    return n;
}

static void set(pgcdc_config *cfg, const char *key, const char *value)
{
    char err[512];

    if (pgcdc_config_set(cfg, key, value, err, sizeof(err)) != PGCDC_OK)
        fail_msg("%s=%s: %s", key, value, err);
}

/* A fresh database's conninfo, kept (tl_fresh_db's buffer is reused). */
static char *fresh(const char *name)
{
    char *db = strdup(tl_fresh_db(name));

    assert_non_null(db);
    return db;
}

static void make_slot(const char *db, const char *slot, const char *pub, const char *tables)
{
    char err[256];
    pgcdc_config *cfg = tl_config(db, slot, pub, tables);

    assert_int_equal(tl_start_only(cfg, err, sizeof(err)), PGCDC_OK);
    pgcdc_config_free(cfg);
}

/*
 * Runs a worker with the sink (and properties "k=v", NULL-terminated) to
 * the end position: its result, the message in msg.
 */
static int run_to_end(const char *db, const char *slot, const char *pub, const char *tables,
                      const char *uri, const char *const *props, uint64_t end, logs *lg, char *msg,
                      size_t size)
{
    pgcdc_config *cfg = tl_config(db, slot, pub, tables);
    pgcdc_worker *w;
    int r;

    set(cfg, "sink", uri);
    for (int i = 0; props != NULL && props[i] != NULL; i += 2)
        set(cfg, props[i], props[i + 1]);
    if (lg != NULL)
        pgcdc_config_set_log_cb(cfg, on_log, lg);
    pgcdc_config_set_handler_retries(cfg, 1, 1);
    pgcdc_config_set_endpos(cfg, end);
    w = pgcdc_worker_new(cfg);
    /* A sink refused at once fails the start. */
    r = pgcdc_worker_start(w);
    if (r == PGCDC_OK)
        r = pgcdc_worker_run(w);
    if (msg != NULL)
        snprintf(msg, size, "%s", pgcdc_worker_errmsg(w));
    pgcdc_worker_free(w);
    pgcdc_config_free(cfg);
    return r;
}

static void run_ok(const char *db, const char *slot, const char *pub, const char *tables,
                   const char *uri, const char *const *props, uint64_t end, logs *lg)
{
    char msg[1024];

    if (run_to_end(db, slot, pub, tables, uri, props, end, lg, msg, sizeof(msg)) != PGCDC_OK)
        fail_msg("run: %s", msg);
}

static void expect(const char *db, const char *want, const char *sql)
{
    char *got = tl_sql_value(db, "%s", sql);

    if (got == NULL || strcmp(got, want) != 0)
        fail_msg("%s: got \"%s\", want \"%s\"", sql, got != NULL ? got : "(null)", want);
    free(got);
}

/* A table's rows in key order, as one text (to compare two databases). */
static char *table_text(const char *db, const char *table)
{
    char *v = tl_sql_value(db,
                           "SELECT coalesce(string_agg(md5(x::text), ',' ORDER BY x.id), '') "
                           "FROM %s x",
                           table);

    assert_non_null(v);
    return v;
}

static void expect_same_table(const char *src, const char *dst, const char *table)
{
    char *a = table_text(src, table);
    char *b = table_text(dst, table);

    if (strcmp(a, b) != 0)
        fail_msg("%s differs between source and target", table);
    free(a);
    free(b);
}

/* URIs and modes refused with a one-line reason before anything connects. */
static void test_refused_before_connecting(void **state)
{
    static const char *const bad[][2] = {
        {"postgresql:host=x dbname=y", "not a postgresql URI"},
        {"postgresql://h/db?nosuch=1", "bad postgresql URI"},
        {"postgresql://h:5432/db?sslmode", "bad postgresql URI"},
        {"postgres://[::1/db", "bad postgresql URI"},
    };
    static const char *const good[] = {
        "postgresql://localhost/db",
        "postgres://u@h:5433/db?sslmode=require",
        "postgresql:///db",
    };
    pgcdc_config *cfg = pgcdc_config_new();
    char err[512];

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        const char *msg;

        assert_int_equal(pgcdc_config_add_sink(cfg, bad[i][0]), PGCDC_ERR_INVALID);
        msg = pgcdc_config_errmsg(cfg);
        if (strstr(msg, bad[i][1]) == NULL)
            fail_msg("%s: \"%s\" lacks \"%s\"", bad[i][0], msg, bad[i][1]);
        assert_null(strchr(msg, '\n'));
    }
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        if (pgcdc_config_add_sink(cfg, good[i]) != PGCDC_OK)
            fail_msg("%s: %s", good[i], pgcdc_config_errmsg(cfg));
    }
    assert_int_equal(pgcdc_config_set(cfg, "sink.postgresql.mode", "merge", err, sizeof(err)),
                     PGCDC_ERR_INVALID);
    assert_null(strchr(err, '\n'));
    assert_int_equal(pgcdc_config_set(cfg, "sink.postgresql.nope", "1", err, sizeof(err)),
                     PGCDC_ERR_INVALID);
    assert_int_equal(pgcdc_config_set(cfg, "sink.postgresql.max_inflight", "12", err, sizeof(err)),
                     PGCDC_ERR_INVALID);
    assert_int_equal(pgcdc_config_set(cfg, "sink.postgresql.mode", "apply", err, sizeof(err)),
                     PGCDC_OK);
    pgcdc_config_free(cfg);
}

/*
 * audit: every kind of change a row, at its position, old and new as JSON
 * typed as the native format types them; then a restart from an earlier
 * slot position (the run stopped before confirming): everything skipped
 * thanks to the stored position, nothing twice; later changes added once.
 */
static void test_audit_and_replay(void **state)
{
    char *src = fresh("pa_src");
    char *dst = fresh("pa_dst");
    const char *uri = "postgresql:///pa_dst";
    static const char *const small[] = {"sink.postgresql.max_inflight", "1kB", NULL};
    logs lg;
    uint64_t end;

    (void)state;
    logs_init(&lg);
    tl_sql(src, "CREATE TABLE t (id int PRIMARY KEY, v text, n numeric, j jsonb, f bool)");
    make_slot(src, "s_pa_a", "p_pa", "t");
    make_slot(src, "s_pa_b", "p_pa", "t");
    tl_sql(src, "BEGIN; INSERT INTO t VALUES (1, 'a\tb\\c\n', 1.50, '{\"k\": [1]}', true); "
                "INSERT INTO t VALUES (2, NULL, NULL, NULL, false); COMMIT");
    tl_sql(src, "UPDATE t SET v = 'é' WHERE id = 1");
    tl_sql(src, "DELETE FROM t WHERE id = 2");
    tl_sql(src, "TRUNCATE t");
    for (int i = 0; i < 20; i++)
        tl_sql(src, "INSERT INTO t VALUES (%d, 'x', %d, NULL, NULL)", 10 + i, i);
    end = tl_current_lsn(src);
    run_ok(src, "s_pa_a", "p_pa", "t", uri, NULL, end, &lg);

    expect(dst, "25", "SELECT count(*) FROM pgcdc_audit");
    expect(dst, "25", "SELECT count(DISTINCT (commit_lsn, seq)) FROM pgcdc_audit");
    expect(dst, "INSERT,INSERT,UPDATE,DELETE,TRUNCATE",
           "SELECT string_agg(op, ',' ORDER BY commit_lsn, seq) FROM (SELECT * FROM pgcdc_audit "
           "ORDER BY commit_lsn, seq LIMIT 5) a");
    /* The first transaction: one commit position, seq 0 and 1. */
    expect(dst, "1",
           "SELECT count(DISTINCT commit_lsn) FROM pgcdc_audit WHERE new->>'id' IN "
           "('1', '2') AND op = 'INSERT'");
    expect(dst, "0,1",
           "SELECT string_agg(seq::text, ',' ORDER BY seq) FROM pgcdc_audit WHERE "
           "new->>'id' IN ('1', '2') AND op = 'INSERT'");
    /* Values typed as JSON: numbers, booleans, embedded json, nulls; text kept byte for byte. */
    expect(dst,
           "{\"f\": true, \"j\": {\"k\": [1]}, \"n\": 1.50, \"v\": \"a\\tb\\\\c\\n\", \"id\": 1}",
           "SELECT new::text FROM pgcdc_audit WHERE op = 'INSERT' AND new->>'id' = '1'");
    expect(dst, "number", "SELECT jsonb_typeof(new->'n') FROM pgcdc_audit WHERE new->>'id' = '1'");
    expect(dst, "null", "SELECT jsonb_typeof(new->'v') FROM pgcdc_audit WHERE new->>'id' = '2'");
    expect(dst, "é", "SELECT new->>'v' FROM pgcdc_audit WHERE op = 'UPDATE'");
    expect(dst, "2", "SELECT old->>'id' FROM pgcdc_audit WHERE op = 'DELETE'");
    expect(dst, "public|t|true|true",
           "SELECT schema_name || '|' || table_name || '|' || "
           "(xid > 0)::text || '|' || (commit_time > now() - interval '1 "
           "hour')::text FROM pgcdc_audit WHERE op = 'DELETE'");
    /* The position: the last commit written. */
    expect(dst, "t",
           "SELECT lsn = (SELECT max(commit_lsn) FROM pgcdc_audit) FROM "
           "pgcdc_sink_position WHERE slot = 's_pa_a'");

    /*
     * The same changes again from a slot behind (as after a stop before the
     * slot was confirmed), with the position the first run stored.
     */
    tl_sql(dst, "INSERT INTO pgcdc_sink_position SELECT 's_pa_b', lsn FROM pgcdc_sink_position "
                "WHERE slot = 's_pa_a'");
    run_ok(src, "s_pa_b", "p_pa", "t", uri, NULL, end, &lg);
    expect(dst, "25", "SELECT count(*) FROM pgcdc_audit");
    assert_true(tl_slot_confirmed(src, "s_pa_b") >= end);

    /*
     * Later changes, one transaction larger than max_inflight (written in
     * parts in one target transaction): added once.
     */
    tl_sql(src, "INSERT INTO t SELECT g, 'z', g, NULL, NULL FROM generate_series(100, 149) g");
    end = tl_current_lsn(src);
    run_ok(src, "s_pa_b", "p_pa", "t", uri, small, end, &lg);
    expect(dst, "75", "SELECT count(*) FROM pgcdc_audit");
    expect(dst, "75", "SELECT count(DISTINCT (commit_lsn, seq)) FROM pgcdc_audit");
    pthread_mutex_destroy(&lg.mu);
    free(src);
    free(dst);
}

/*
 * apply: inserts, updates (an unchanged TOAST value kept), NULLs, a key
 * change, deletes and a truncate made on the target's table; the target
 * equals the source after each run.  A table missing in the target: the
 * run fails, naming it.
 */
static void test_apply(void **state)
{
    char *src = fresh("pp_src");
    char *dst = fresh("pp_dst");
    static const char *const props[] = {"sink.postgresql.mode", "apply", NULL};
    static const char *const small[] = {"sink.postgresql.mode", "apply",
                                        "sink.postgresql.max_inflight", "1kB", NULL};
    const char *uri = "postgres:///pp_dst";
    const char *ddl = "CREATE TABLE t (id int PRIMARY KEY, v text, big text, n int, d date)";
    char msg[1024];
    uint64_t end;

    (void)state;
    tl_sql(src, "%s", ddl);
    tl_sql(dst, "%s", ddl);
    tl_sql(src, "CREATE TABLE u (id int PRIMARY KEY)");
    make_slot(src, "s_pp", "p_pp", "t");
    /* A big value stored out of line (random, so that it does not compress inline). */
    tl_sql(src, "INSERT INTO t SELECT g, 'v' || g, (SELECT string_agg(md5(random()::text), '') "
                "FROM generate_series(1, 4000)), g, '2024-01-02' FROM generate_series(1, 5) g");
    tl_sql(src, "INSERT INTO t VALUES (6, NULL, NULL, NULL, NULL)");
    tl_sql(src, "UPDATE t SET v = 'changed', n = NULL WHERE id IN (1, 2)");
    tl_sql(src, "UPDATE t SET v = 'set' WHERE id = 6");
    tl_sql(src, "UPDATE t SET id = 50, v = 'moved' WHERE id = 3");
    tl_sql(src, "DELETE FROM t WHERE id = 4");
    end = tl_current_lsn(src);
    run_ok(src, "s_pp", "p_pp", "t", uri, props, end, NULL);
    expect_same_table(src, dst, "t");
    expect(dst, "128000", "SELECT length(big) FROM t WHERE id = 1");
    expect(dst, "128000", "SELECT length(big) FROM t WHERE id = 50");

    /* A truncate, then rows after it in a transaction larger than max_inflight. */
    tl_sql(src, "TRUNCATE t");
    tl_sql(src, "INSERT INTO t SELECT g, 'after', NULL, g, NULL FROM generate_series(7, 206) g");
    end = tl_current_lsn(src);
    run_ok(src, "s_pp", "p_pp", "t", uri, small, end, NULL);
    expect_same_table(src, dst, "t");
    expect(dst, "200", "SELECT count(*) FROM t");

    /* u is not in the target. */
    tl_sql(src, "ALTER PUBLICATION p_pp ADD TABLE u");
    tl_sql(src, "INSERT INTO u VALUES (1)");
    end = tl_current_lsn(src);
    assert_int_equal(
        run_to_end(src, "s_pp", "p_pp", "t,u", uri, props, end, NULL, msg, sizeof(msg)),
        PGCDC_ERR_SINK);
    if (strstr(msg, "target table \"public.u\" does not exist") == NULL)
        fail_msg("message: %s", msg);
    assert_null(strchr(msg, '\n'));
    assert_true(tl_slot_confirmed(src, "s_pp") < end);
    /* A schema that is not there: refused at once, naming why. */
    {
        static const char *const noschema[] = {"sink.postgresql.mode", "apply",
                                               "sink.postgresql.schema", "nosuch", NULL};

        assert_int_equal(
            run_to_end(src, "s_pp", "p_pp", "t,u", uri, noschema, end, NULL, msg, sizeof(msg)),
            PGCDC_ERR_SINK);
        if (strstr(msg, "could not set up the sink's tables") == NULL ||
            strstr(msg, "nosuch") == NULL)
            fail_msg("message: %s", msg);
        assert_null(strchr(msg, '\n'));
    }
    /* Made: the run goes on from there. */
    tl_sql(dst, "CREATE TABLE u (id int PRIMARY KEY)");
    run_ok(src, "s_pp", "p_pp", "t,u", uri, props, end, NULL);
    expect_same_table(src, dst, "u");
    free(src);
    free(dst);
}

/*
 * A statement the target refuses (a check constraint of its own): the halt
 * policy stops the run with a line naming the table, nothing confirmed past
 * it; the dead-letter policy writes the change and why to the file and
 * applies the others.
 */
static void test_refused_statement(void **state)
{
    char *src = fresh("pr_src");
    char *dst = fresh("pr_dst");
    char dlq[] = "/tmp/pgcdc-pgsql-dlq-XXXXXX";
    static const char *const props[] = {"sink.postgresql.mode", "apply", NULL};
    const char *uri = "postgresql:///pr_dst";
    char msg[1024];
    char line[4096];
    uint64_t end;
    FILE *f;
    int fd = mkstemp(dlq);

    (void)state;
    assert_true(fd >= 0);
    close(fd);
    unlink(dlq);
    tl_sql(src, "CREATE TABLE t (id int PRIMARY KEY, v text)");
    tl_sql(dst, "CREATE TABLE t (id int PRIMARY KEY, v text CHECK (v <> 'bad'))");
    make_slot(src, "s_pr", "p_pr", "t");
    tl_sql(src, "INSERT INTO t VALUES (1, 'ok')");
    tl_sql(src, "INSERT INTO t VALUES (2, 'bad')");
    tl_sql(src, "INSERT INTO t VALUES (3, 'ok')");
    end = tl_current_lsn(src);
    assert_int_equal(run_to_end(src, "s_pr", "p_pr", "t", uri, props, end, NULL, msg, sizeof(msg)),
                     PGCDC_ERR_SINK);
    if (strstr(msg, "could not apply INSERT to \"public.t\"") == NULL ||
        strstr(msg, "check constraint") == NULL || strstr(msg, "nothing after") == NULL)
        fail_msg("message: %s", msg);
    assert_null(strchr(msg, '\n'));
    assert_true(tl_slot_confirmed(src, "s_pr") < end);

    {
        pgcdc_config *cfg = tl_config(src, "s_pr", "p_pr", "t");
        pgcdc_worker *w;

        set(cfg, "sink", uri);
        set(cfg, "sink.postgresql.mode", "apply");
        set(cfg, "on_error", "dead_letter");
        set(cfg, "dead_letter", dlq);
        pgcdc_config_set_endpos(cfg, end);
        w = pgcdc_worker_new(cfg);
        assert_int_equal(pgcdc_worker_start(w), PGCDC_OK);
        if (pgcdc_worker_run(w) != PGCDC_OK)
            fail_msg("run: %s", pgcdc_worker_errmsg(w));
        pgcdc_worker_free(w);
        pgcdc_config_free(cfg);
    }
    expect(dst, "1,3", "SELECT string_agg(id::text, ',' ORDER BY id) FROM t");
    assert_true(tl_slot_confirmed(src, "s_pr") >= end);
    f = fopen(dlq, "r");
    assert_non_null(f);
    assert_non_null(fgets(line, sizeof(line), f));
    /* The payload, a JSON string in the line: the change's op, table and values. */
    if (strstr(line, "table\\\":\\\"t\\\"") == NULL || strstr(line, "id\\\":\\\"2\\\"") == NULL ||
        strstr(line, "check constraint") == NULL)
        fail_msg("dead letter: %s", line);
    assert_null(fgets(line, sizeof(line), f));
    fclose(f);
    unlink(dlq);
    free(src);
    free(dst);
}

/* The load's transactions: rows inserted, and the first one updated. */
static void load_statement(char *sql, size_t size, int first, int last)
{
    snprintf(sql, size,
             "INSERT INTO t SELECT g, 'v', g FROM generate_series(%d, %d) g; "
             "UPDATE t SET n = n + 1 WHERE id = %d",
             first, last, first);
}

/* pg_ctl on the test's own server: "stop -m immediate" or "start". */
static void pg_ctl(const char *name, const char *what)
{
    char path[1024];
    char line[1024];
    char data[1024] = "";
    char log[1024] = "";
    char bin[1024] = "/usr/lib/postgresql/15/bin";
    char cmd[4096];
    FILE *f;

    snprintf(path, sizeof(path), "%s/pgtest-%s/env", getenv("PGCDC_BINARY_DIR"), name);
    f = fopen(path, "r");
    assert_non_null(f);
    while (fgets(line, sizeof(line), f) != NULL) {
        line[strcspn(line, "\n")] = '\0';
        if (strncmp(line, "PGCDC_PGDATA=", 13) == 0)
            snprintf(data, sizeof(data), "%s", line + 13);
        if (strncmp(line, "PGCDC_PGLOG=", 12) == 0)
            snprintf(log, sizeof(log), "%s", line + 12);
        if (strncmp(line, "PGCDC_PGBIN=", 12) == 0)
            snprintf(bin, sizeof(bin), "%s", line + 12);
    }
    fclose(f);
    snprintf(cmd, sizeof(cmd), "%s %s/pg_ctl -D %s -l %s -w -t 60 %s >/dev/null",
             getuid() == 0 ? "runuser -u postgres --" : "", bin, data, log, what);
    assert_int_equal(system(cmd), 0);
}

/* Runs until the worker confirmed end. */
static void wait_confirmed(tl_runner *run, uint64_t end)
{
    for (int i = 0; i < WAIT_MS / 10 && pgcdc_worker_confirmed_lsn(run->w) < end; i++)
        tl_sleep_ms(10);
    assert_true(pgcdc_worker_confirmed_lsn(run->w) >= end);
}

static void start_sink(tl_runner *run, const char *db, const char *slot, const char *uri,
                       const char *mode, logs *lg)
{
    pgcdc_config *cfg = tl_config(db, slot, "p_pf", "t");

    set(cfg, "sink", uri);
    set(cfg, "sink.postgresql.mode", mode);
    /* Small batches: many target transactions, so that a stop finds one under way. */
    set(cfg, "sink.postgresql.max_inflight", "4kB");
    set(cfg, "sink.postgresql.flush_interval", "10ms");
    pgcdc_config_set_log_cb(cfg, on_log, lg);
    tl_runner_start(run, cfg);
    pgcdc_config_free(cfg);
}

/*
 * The target server stopped in immediate mode twice during a load and
 * started again a second later: both sinks reconnect and write again what
 * was not committed; at the end the audit table holds every change once
 * and the applied table equals the source's.
 */
static void test_target_restarted_during_load(void **state)
{
    char *src = fresh("pf_src");
    tl_loader ld = {.db = src, .rows = 3, .statement = load_statement};
    char conninfo[1024];
    char host[512] = "";
    char port[32] = "";
    char uri[1024];
    char total[32];
    tl_runner audit;
    tl_runner apply;
    logs lg;
    uint64_t end;

    (void)state;
    logs_init(&lg);
    atomic_init(&ld.done, 0);
    atomic_init(&ld.stop, 0);
    tl_server_start("pgsql_fault", "", conninfo, sizeof(conninfo));
    assert_int_equal(sscanf(conninfo, "host=%511s port=%31s", host, port), 2);
    snprintf(uri, sizeof(uri), "postgresql://postgres@/postgres?host=%s&port=%s", host, port);
    tl_sql(conninfo, "CREATE TABLE t (id int PRIMARY KEY, v text, n int)");
    tl_sql(src, "CREATE TABLE t (id int PRIMARY KEY, v text, n int)");
    make_slot(src, "s_pf_audit", "p_pf", "t");
    make_slot(src, "s_pf_apply", "p_pf", "t");
    start_sink(&audit, src, "s_pf_audit", uri, "audit", &lg);
    start_sink(&apply, src, "s_pf_apply", uri, "apply", &lg);
    assert_int_equal(pthread_create(&ld.thread, NULL, tl_load_main, &ld), 0);
    for (int k = 0; k < 2; k++) {
        tl_wait_loaded(&ld, atomic_load(&ld.done) + 300);
        pg_ctl("pgsql_fault", "-m immediate stop");
        tl_sleep_ms(1000);
        end = tl_current_lsn(src);
        tl_sleep_ms(500);
        /* Down: what committed meanwhile is not confirmed. */
        assert_true(pgcdc_worker_confirmed_lsn(audit.w) < end);
        assert_true(pgcdc_worker_confirmed_lsn(apply.w) < end);
        pg_ctl("pgsql_fault", "start");
        for (int i = 0; i < WAIT_MS / 10 && count_of(&lg, &lg.again) < 2 * (k + 1); i++)
            tl_sleep_ms(10);
        assert_int_equal(count_of(&lg, &lg.again), 2 * (k + 1));
    }
    tl_wait_loaded(&ld, atomic_load(&ld.done) + 300);
    atomic_store(&ld.stop, 1);
    pthread_join(ld.thread, NULL);
    end = tl_current_lsn(src);
    wait_confirmed(&audit, end);
    wait_confirmed(&apply, end);
    pgcdc_worker_stop(audit.w);
    pgcdc_worker_stop(apply.w);
    assert_int_equal(tl_runner_join(&audit), PGCDC_OK);
    assert_int_equal(tl_runner_join(&apply), PGCDC_OK);
    pgcdc_worker_free(audit.w);
    pgcdc_worker_free(apply.w);

    /* Each transaction: its rows inserted, then one updated. */
    snprintf(total, sizeof(total), "%d", atomic_load(&ld.done) * (ld.rows + 1));
    expect(conninfo, total, "SELECT count(*) FROM pgcdc_audit");
    expect(conninfo, total, "SELECT count(DISTINCT (commit_lsn, seq)) FROM pgcdc_audit");
    snprintf(total, sizeof(total), "%d", atomic_load(&ld.done) * ld.rows);
    expect(conninfo, total, "SELECT count(DISTINCT new->>'id') FROM pgcdc_audit");
    expect_same_table(src, conninfo, "t");
    print_message("%d changes, %d lost connections seen, %d drains skipped some\n",
                  atomic_load(&ld.done) * (ld.rows + 1), count_of(&lg, &lg.retrying),
                  count_of(&lg, &lg.skipped));
    tl_server_stop("pgsql_fault");
    pthread_mutex_destroy(&lg.mu);
    free(src);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_refused_before_connecting),
        cmocka_unit_test(test_audit_and_replay),
        cmocka_unit_test(test_apply),
        cmocka_unit_test(test_refused_statement),
        cmocka_unit_test(test_target_restarted_during_load),
    };

    /* PGCDC_TEST_FILTER=test_name runs that test alone. */
    if (getenv("PGCDC_TEST_FILTER") != NULL)
        cmocka_set_test_filter(getenv("PGCDC_TEST_FILTER"));
    return cmocka_run_group_tests(tests, NULL, NULL);
}
