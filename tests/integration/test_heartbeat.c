/*
 * Keeping the server safe: an idle slot while another database writes a lot
 * of WAL (with and without heartbeats), heartbeats confirmed past, and the
 * WAL budget (stats, warnings, the exit).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "testlib.h"

/* What the worker logged at warning level, for the tests to look into. */
static pthread_mutex_t log_mu = PTHREAD_MUTEX_INITIALIZER;
static char warnings[16384];

#define MB (1024LL * 1024LL)

static void keep_warnings(pgcdc_worker *w, pgcdc_log_level level, const char *msg, void *opaque)
{
    size_t n;

    (void)w;
    (void)opaque;
    if (level > PGCDC_LOG_WARNING)
        return;
    fprintf(stderr, "[worker] %s\n", msg);
    pthread_mutex_lock(&log_mu);
    n = strlen(warnings);
    snprintf(warnings + n, sizeof(warnings) - n, "%s\n", msg);
    pthread_mutex_unlock(&log_mu);
}

static int warned(const char *part)
{
    int found;

    pthread_mutex_lock(&log_mu);
    found = strstr(warnings, part) != NULL;
    pthread_mutex_unlock(&log_mu);
    return found;
}

static void clear_warnings(void)
{
    pthread_mutex_lock(&log_mu);
    warnings[0] = '\0';
    pthread_mutex_unlock(&log_mu);
}

static void stats_of(tl_runner *run, pgcdc_stats *st)
{
    assert_int_equal(pgcdc_worker_stats(run->w, st), PGCDC_OK);
}

/* The WAL the slot holds back, by the server's own reckoning (-1: no such slot). */
static long long retained(const char *slot)
{
    char *v = tl_sql_value("dbname=postgres",
                           "SELECT pg_current_wal_lsn() - restart_lsn FROM pg_replication_slots "
                           "WHERE slot_name = '%s'",
                           slot);
    long long n = v != NULL ? atoll(v) : -1;

    free(v);
    return n;
}

static int ignore_change(pgcdc_worker *w, const pgcdc_change *c, void *opaque)
{
    (void)w;
    (void)c;
    (void)opaque;
    return PGCDC_HANDLED;
}

/* About mb megabytes of WAL in the busy database, in transactions of 8 MB. */
static void write_wal(const char *busy, int mb)
{
    for (int i = 0; i < mb / 8; i++)
        tl_sql(busy, "INSERT INTO w SELECT repeat('x', 1000) FROM generate_series(1, 8000)");
    tl_sql(busy, "DELETE FROM w");
}

/*
 * An idle slot (nothing written in its database) while another database
 * writes mb of WAL, then a checkpoint (which logs the running transactions
 * that the slot's restart point moves on): the most the slot holds back
 * once the worker had a few status intervals to confirm.
 */
static long long idle_retention(const char *slot, const char *heartbeat, int mb)
{
    char idle[64];
    char busy[64];
    pgcdc_config *cfg;
    tl_runner run;
    long long before;
    long long held = -1;

    snprintf(idle, sizeof(idle), "%s", tl_fresh_db("t_hb_idle"));
    snprintf(busy, sizeof(busy), "%s", tl_fresh_db("t_hb_busy"));
    tl_sql(idle, "CREATE TABLE quiet (id int PRIMARY KEY)");
    tl_sql(busy, "CREATE TABLE w (pad text)");
    cfg = tl_config(idle, slot, "p_hb", "quiet");
    pgcdc_config_set_change_cb(cfg, ignore_change, NULL);
    if (heartbeat != NULL)
        assert_int_equal(pgcdc_config_set(cfg, "heartbeat.interval", heartbeat, NULL, 0), PGCDC_OK);
    tl_runner_start(&run, cfg);
    pgcdc_config_free(cfg);
    write_wal(busy, mb);
    before = retained(slot);
    tl_sql(busy, "CHECKPOINT");
    for (int i = 0; i < 300; i++) {
        held = retained(slot);
        if (held < 4 * MB)
            break;
        tl_sleep_ms(100);
    }
    fprintf(stderr,
            "heartbeat %s: %d MB written elsewhere; the slot held %lld bytes right after, "
            "%lld after the checkpoint\n",
            heartbeat != NULL ? heartbeat : "off", mb, before, held);
    pgcdc_worker_stop(run.w);
    assert_int_equal(tl_runner_join(&run), PGCDC_OK);
    pgcdc_worker_free(run.w);
    return held;
}

/*
 * Without heartbeats an idle slot holds no WAL either: with nothing in
 * flight pgcdc confirms the position of the server's keepalives, which
 * follows the WAL the walsender decoded (of every database).
 */
static void test_idle_without_heartbeat(void **state)
{
    (void)state;
    assert_true(idle_retention("s_hb_off", NULL, 64) < 4 * MB);
}

static void test_idle_with_heartbeat(void **state)
{
    (void)state;
    assert_true(idle_retention("s_hb_on", "200ms", 64) < 4 * MB);
}

/* Heartbeats are written while the tables are idle, and the slot is confirmed past them. */
static void test_heartbeat_confirmed(void **state)
{
    const char *db = tl_fresh_db("t_hb");
    pgcdc_config *cfg;
    pgcdc_stats st;
    tl_runner run;
    uint64_t beat = 0;
    uint64_t confirmed = 0;
    uint64_t first;

    (void)state;
    tl_sql(db, "CREATE TABLE quiet (id int PRIMARY KEY)");
    cfg = tl_config(db, "s_hb", "p_hb", "quiet");
    pgcdc_config_set_change_cb(cfg, ignore_change, NULL);
    assert_int_equal(pgcdc_config_set(cfg, "heartbeat.interval", "200ms", NULL, 0), PGCDC_OK);
    tl_runner_start(&run, cfg);
    pgcdc_config_free(cfg);
    for (int i = 0; i < 300; i++) {
        stats_of(&run, &st);
        if (st.heartbeats >= 2)
            break;
        tl_sleep_ms(100);
    }
    assert_true(st.heartbeats >= 2);
    first = st.heartbeat_lsn;
    assert_true(first != 0);
    /* The slot moves past a heartbeat written after the start, with nothing else written. */
    for (int i = 0; i < 300; i++) {
        stats_of(&run, &st);
        beat = st.heartbeat_lsn;
        confirmed = tl_slot_confirmed(db, "s_hb");
        if (beat > first && confirmed > first)
            break;
        tl_sleep_ms(100);
    }
    assert_true(beat > first);
    assert_true(confirmed > first);
    assert_true(st.confirmed_lsn > first);
    assert_int_equal(st.changes, 0);
    pgcdc_worker_stop(run.w);
    assert_int_equal(tl_runner_join(&run), PGCDC_OK);
    pgcdc_worker_free(run.w);
}

/* A heartbeat connection lost is a warning, and the heartbeats go on: the stream does not stop. */
static void test_heartbeat_connection_lost(void **state)
{
    const char *db = tl_fresh_db("t_hb_lost");
    pgcdc_config *cfg;
    pgcdc_stats st;
    tl_runner run;
    uint64_t before;

    (void)state;
    clear_warnings();
    tl_sql(db, "CREATE TABLE quiet (id int PRIMARY KEY)");
    cfg = tl_config(db, "s_hb_lost", "p_hb", "quiet");
    pgcdc_config_set_change_cb(cfg, ignore_change, NULL);
    pgcdc_config_set_log_cb(cfg, keep_warnings, NULL);
    assert_int_equal(pgcdc_config_set(cfg, "heartbeat.interval", "200ms", NULL, 0), PGCDC_OK);
    tl_runner_start(&run, cfg);
    pgcdc_config_free(cfg);
    for (int i = 0; i < 300; i++) {
        stats_of(&run, &st);
        if (st.heartbeats >= 1)
            break;
        tl_sleep_ms(100);
    }
    /* Every normal connection to the database but ours: the monitor's. */
    tl_sql(db, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = "
               "current_database() AND backend_type = 'client backend' AND pid <> "
               "pg_backend_pid()");
    stats_of(&run, &st);
    before = st.heartbeats;
    for (int i = 0; i < 300; i++) {
        stats_of(&run, &st);
        if (st.heartbeats >= before + 3 && warned("(retried: the stream goes on)"))
            break;
        tl_sleep_ms(100);
    }
    assert_true(st.heartbeats >= before + 3);
    assert_true(warned("(retried: the stream goes on)"));
    assert_int_equal(st.state, PGCDC_STATE_STREAMING);
    assert_int_equal(st.reconnects, 0);
    pgcdc_worker_stop(run.w);
    assert_int_equal(tl_runner_join(&run), PGCDC_OK);
    pgcdc_worker_free(run.w);
}

static void test_heartbeat_interval_checked(void **state)
{
    pgcdc_config *cfg = pgcdc_config_new();
    char err[256];

    (void)state;
    assert_int_equal(pgcdc_config_set(cfg, "heartbeat.interval", "50ms", err, sizeof(err)),
                     PGCDC_ERR_INVALID);
    assert_non_null(strstr(err, "at least 100ms"));
    assert_int_equal(pgcdc_config_set(cfg, "heartbeat.interval", "0", err, sizeof(err)), PGCDC_OK);
    assert_int_equal(pgcdc_config_set(cfg, "slot.max_retained_wal", "2GB", err, sizeof(err)),
                     PGCDC_OK);
    assert_int_equal(pgcdc_config_set(cfg, "slot.max_retained_wal", "0", err, sizeof(err)),
                     PGCDC_ERR_INVALID);
    pgcdc_config_free(cfg);
}

/* ---- the WAL budget ---- */

static _Atomic uint64_t held_token;

/* Keeps the first change unacknowledged: the slot's position stays behind it. */
static int hold_change(pgcdc_worker *w, const pgcdc_change *c, void *opaque)
{
    (void)w;
    (void)opaque;
    if (atomic_load(&held_token) != 0)
        return PGCDC_HANDLED;
    atomic_store(&held_token, pgcdc_change_token(c));
    return PGCDC_DEFER;
}

/* A worker whose slot is held behind a deferred change while 16 MB are written after it. */
static void start_held(tl_runner *run, const char *db, const char *slot, int exit_on_budget)
{
    pgcdc_config *cfg;

    atomic_store(&held_token, 0);
    clear_warnings();
    tl_sql(db, "CREATE TABLE kept (id int PRIMARY KEY)");
    tl_sql(db, "CREATE TABLE w (pad text)");
    cfg = tl_config(db, slot, "p_budget", "kept");
    pgcdc_config_set_change_cb(cfg, hold_change, NULL);
    pgcdc_config_set_log_cb(cfg, keep_warnings, NULL);
    assert_int_equal(pgcdc_config_set(cfg, "slot.max_retained_wal", "4MB", NULL, 0), PGCDC_OK);
    if (exit_on_budget)
        assert_int_equal(pgcdc_config_set(cfg, "slot.max_retained_wal_exit", "true", NULL, 0),
                         PGCDC_OK);
    tl_runner_start(run, cfg);
    pgcdc_config_free(cfg);
    tl_sql(db, "INSERT INTO kept VALUES (1)");
    for (int i = 0; i < 300 && atomic_load(&held_token) == 0; i++)
        tl_sleep_ms(50);
    assert_true(atomic_load(&held_token) != 0);
    write_wal(db, 16);
}

static void test_budget_flag(void **state)
{
    const char *db = tl_fresh_db("t_budget");
    tl_runner run;
    pgcdc_stats st;
    long long server;

    (void)state;
    start_held(&run, db, "s_budget", 0);
    for (int i = 0; i < 300; i++) {
        stats_of(&run, &st);
        if (st.slot_over_budget && warned("over slot.max_retained_wal"))
            break;
        tl_sleep_ms(100);
    }
    assert_int_equal(st.slot_over_budget, 1);
    assert_true(warned("holds") && warned("over slot.max_retained_wal (4194304 bytes)"));
    /* The server's own figure, read after ours: at least as much, and little more. */
    server = retained("s_budget");
    fprintf(stderr, "retained: stats %llu, server %lld\n", (unsigned long long)st.slot_retained_wal,
            server);
    assert_true(st.slot_retained_wal > 16 * MB);
    assert_true(server >= (long long)st.slot_retained_wal);
    assert_true(server - (long long)st.slot_retained_wal < 2 * MB);
    assert_int_equal(st.slot_wal_status, PGCDC_WAL_STATUS_RESERVED);
    assert_int_equal(st.slot_safe_wal_size, -1); /* no max_slot_wal_keep_size */
    assert_int_equal(st.state, PGCDC_STATE_STREAMING);

    /* Acknowledged: the slot catches up, the flag goes, and that is said too. */
    assert_int_equal(pgcdc_worker_ack(run.w, atomic_load(&held_token)), PGCDC_OK);
    tl_sql(db, "CHECKPOINT");
    for (int i = 0; i < 400; i++) {
        stats_of(&run, &st);
        if (!st.slot_over_budget && warned("back within slot.max_retained_wal"))
            break;
        tl_sleep_ms(100);
    }
    assert_int_equal(st.slot_over_budget, 0);
    assert_true(warned("back within slot.max_retained_wal"));
    pgcdc_worker_stop(run.w);
    assert_int_equal(tl_runner_join(&run), PGCDC_OK);
    pgcdc_worker_free(run.w);
}

static void test_budget_exit(void **state)
{
    const char *db = tl_fresh_db("t_budget_exit");
    tl_runner run;
    int r;

    (void)state;
    start_held(&run, db, "s_budget_exit", 1);
    r = tl_runner_join(&run);
    assert_int_equal(r, PGCDC_ERR_WAL_BUDGET);
    assert_non_null(strstr(pgcdc_worker_errmsg(run.w), "slot.max_retained_wal_exit"));
    assert_string_equal(pgcdc_strerror(r),
                        "the replication slot holds more WAL than slot.max_retained_wal");
    /* Nothing past the held change was confirmed: it comes again next time. */
    assert_true(tl_slot_confirmed(db, "s_budget_exit") < tl_current_lsn(db));
    pgcdc_worker_free(run.w);
}

/*
 * Under max_slot_wal_keep_size, a slot held back past it: wal_status
 * unreserved is said (and in the stats) while the slot can still catch up;
 * once a checkpoint removes its WAL the slot is lost, and the worker stops
 * with that, distinctly, rather than streaming from a gap.
 */
static void test_unreserved_then_lost(void **state)
{
    char conninfo[256];
    tl_runner run;
    pgcdc_stats st;
    int r;

    (void)state;
    tl_server_start("keep", "--set max_slot_wal_keep_size=16MB --set checkpoint_timeout=1h",
                    conninfo, sizeof(conninfo));
    start_held(&run, conninfo, "s_unreserved", 0);
    write_wal(conninfo, 48);
    for (int i = 0; i < 300; i++) {
        stats_of(&run, &st);
        if (st.slot_wal_status == PGCDC_WAL_STATUS_UNRESERVED && warned("is unreserved"))
            break;
        tl_sleep_ms(100);
    }
    assert_int_equal(st.slot_wal_status, PGCDC_WAL_STATUS_UNRESERVED);
    assert_true(warned("replication slot \"s_unreserved\" is unreserved"));
    assert_true(warned("raise max_slot_wal_keep_size"));
    tl_sql(conninfo, "CHECKPOINT");
    r = tl_runner_join(&run);
    assert_int_equal(r, PGCDC_ERR_SLOT_INVALID);
    fprintf(stderr, "lost: %s\n", pgcdc_worker_errmsg(run.w));
    pgcdc_worker_free(run.w);
    tl_server_stop("keep");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_heartbeat_interval_checked),
        cmocka_unit_test(test_idle_without_heartbeat),
        cmocka_unit_test(test_idle_with_heartbeat),
        cmocka_unit_test(test_heartbeat_confirmed),
        cmocka_unit_test(test_heartbeat_connection_lost),
        cmocka_unit_test(test_budget_flag),
        cmocka_unit_test(test_budget_exit),
        cmocka_unit_test(test_unreserved_then_lost),
    };

    tl_env();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
