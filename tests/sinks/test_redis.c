/*
 * The redis sink against a real redis-server the test starts, its streams
 * read back with XRANGE: entries, IDs and keys; a replay refused by Redis
 * (no duplicates); initial snapshot rows numbered uniquely; the server
 * killed -9 and restarted from its AOF during a load (every event once, in
 * order); a stop while it is down, and giving up after max_elapsed;
 * refusals halting or going to the dead-letter file; URIs refused before
 * anything connects; the command line.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "redis_srv.h"
#include "testlib.h"
#include "tool.h"

/* How long a test waits for something that must happen (it never asserts a duration). */
#define WAIT_MS (180 * 1000)

/* Log lines of the sink's kinds, counted. */
typedef struct logs {
    pthread_mutex_t mu;
    int retrying;
    int again;
    int replayed;
} logs;

static void on_log(pgcdc_worker *w, pgcdc_log_level level, const char *msg, void *opaque)
{
    logs *lg = opaque;

    (void)w;
    if (level <= PGCDC_LOG_WARNING || getenv("PGCDC_TEST_VERBOSE") != NULL)
        fprintf(stderr, "[worker] %s\n", msg);
    pthread_mutex_lock(&lg->mu);
    if (strstr(msg, "(retrying)") != NULL)
        lg->retrying++;
    if (strstr(msg, "delivering again") != NULL)
        lg->again++;
    if (strstr(msg, "in their streams already") != NULL)
        lg->replayed++;
    pthread_mutex_unlock(&lg->mu);
}

static int again(logs *lg)
{
    int n;

    pthread_mutex_lock(&lg->mu);
    n = lg->again;
    pthread_mutex_unlock(&lg->mu);
    return n;
}

static void logs_init(logs *lg)
{
    memset(lg, 0, sizeof(*lg));
    pthread_mutex_init(&lg->mu, NULL);
}

static void set(pgcdc_config *cfg, const char *key, const char *value)
{
    char err[512];

    if (pgcdc_config_set(cfg, key, value, err, sizeof(err)) != PGCDC_OK)
        fail_msg("%s=%s: %s", key, value, err);
}

/* A slot (and the publication) made now, before the changes the test makes. */
static void make_slot(const char *db, const char *slot, const char *pub, const char *tables)
{
    char err[256];
    pgcdc_config *cfg = tl_config(db, slot, pub, tables);

    assert_int_equal(tl_start_only(cfg, err, sizeof(err)), PGCDC_OK);
    pgcdc_config_free(cfg);
}

/* Runs a worker with the sink to the end position; the run must succeed. */
static void run_to_end(const char *db, const char *slot, const char *pub, const char *tables,
                       const char *uri, uint64_t end, logs *lg)
{
    pgcdc_config *cfg = tl_config(db, slot, pub, tables);

    set(cfg, "sink", uri);
    if (lg != NULL)
        pgcdc_config_set_log_cb(cfg, on_log, lg);
    tl_run_to_end(cfg, end);
}

static const char *jstr(json_t *doc, const char *name)
{
    const char *s = json_string_value(json_object_get(doc, name));

    return s != NULL ? s : "";
}

/* The entry's ID is its event's commit LSN and seq; its one field is the event. */
static json_t *check_entry(const rs_entry *e)
{
    json_t *doc = tt_parse(e->event);
    uint64_t lsn = 0;

    assert_int_equal(e->nfields, 1);
    assert_int_equal(pgcdc_lsn_parse(jstr(doc, "commit_lsn"), &lsn), PGCDC_OK);
    assert_int_equal(e->ms, lsn);
    assert_int_equal(e->seq, json_integer_value(json_object_get(doc, "seq")));
    return doc;
}

/* The row id of an event (new row, else old row). */
static long event_id(json_t *doc)
{
    json_t *row = json_object_get(doc, "new");

    if (!json_is_object(row))
        row = json_object_get(doc, "old");
    return (long)json_integer_value(json_object_get(row, "id"));
}

/* Entries, IDs, a stream per table from a template, every kind of change. */
static void test_entries(void **state)
{
    const char *db = tl_fresh_db("r_entries");
    static const char *const ops[] = {"INSERT", "INSERT", "UPDATE", "DELETE", "TRUNCATE"};
    rs_server srv;
    rs_stream t;
    rs_stream u;
    char uri[256];
    json_t *doc;
    json_t *first;

    (void)state;
    rs_start(&srv);
    snprintf(uri, sizeof(uri), "%s/cdc:${schema}:${table}", srv.uri);
    tl_sql(db, "CREATE TABLE t (id int PRIMARY KEY, v text)");
    tl_sql(db, "CREATE TABLE u (id int PRIMARY KEY)");
    make_slot(db, "s_r_entries", "p_r_entries", "t,u");
    tl_sql(db, "BEGIN; INSERT INTO t VALUES (1, 'a'), (2, 'b'); INSERT INTO u VALUES (7); COMMIT");
    tl_sql(db, "UPDATE t SET v = 'c' WHERE id = 1");
    tl_sql(db, "DELETE FROM t WHERE id = 2");
    tl_sql(db, "TRUNCATE t");
    run_to_end(db, "s_r_entries", "p_r_entries", "t,u", uri, tl_current_lsn(db), NULL);

    rs_read(&srv, "cdc:public:t", &t);
    assert_int_equal(t.n, 5);
    for (size_t i = 0; i < t.n; i++) {
        doc = check_entry(&t.e[i]);
        tl_assert_str(jstr(doc, "op"), ops[i]);
        tl_assert_str(jstr(doc, "table"), "t");
        json_decref(doc);
    }
    /* The first transaction's two rows: one commit LSN, seq 0 and 1. */
    assert_int_equal(t.e[0].ms, t.e[1].ms);
    assert_int_equal(t.e[0].seq, 0);
    assert_int_equal(t.e[1].seq, 1);
    assert_true(t.e[2].ms > t.e[1].ms);
    first = tt_parse(t.e[0].event);
    assert_int_equal(event_id(first), 1);
    json_decref(first);
    /* The other table's stream: the same transaction, its third change. */
    rs_read(&srv, "cdc:public:u", &u);
    assert_int_equal(u.n, 1);
    doc = check_entry(&u.e[0]);
    assert_int_equal(u.e[0].ms, t.e[0].ms);
    assert_int_equal(u.e[0].seq, 2);
    json_decref(doc);
    rs_stream_free(&t);
    rs_stream_free(&u);
    rs_stop(&srv);
}

/*
 * Schema changes: one takes the seq of the change after it, so it goes in
 * that change's entry as its schema_change field; alone, with that ID, when
 * the change is filtered out.
 */
static void test_schema_change(void **state)
{
    const char *db = tl_fresh_db("r_schema");
    rs_server srv;
    rs_stream t;
    json_t *doc;
    pgcdc_config *cfg;

    (void)state;
    rs_start(&srv);
    tl_sql(db, "CREATE TABLE t (id int PRIMARY KEY, v text)");
    make_slot(db, "s_r_schema", "p_r_schema", "t");
    tl_sql(db, "INSERT INTO t VALUES (1, 'a')");
    tl_sql(db, "ALTER TABLE t ADD COLUMN w int");
    tl_sql(db, "INSERT INTO t VALUES (2, 'b', 5)");
    tl_sql(db, "ALTER TABLE t ADD COLUMN x int");
    tl_sql(db, "INSERT INTO t VALUES (3, 'c', 6, 7)");
    cfg = tl_config(db, "s_r_schema", "p_r_schema", "t");
    set(cfg, "sink", srv.uri);
    set(cfg, "filter.where.t", "id <> 3");
    set(cfg, "filter.push_down", "false");
    tl_run_to_end(cfg, tl_current_lsn(db));

    rs_read(&srv, "pgcdc.public.t", &t);
    assert_int_equal(t.n, 3);
    doc = check_entry(&t.e[0]);
    assert_null(t.e[0].schema_change);
    json_decref(doc);
    /* The second: both fields, the schema change first; each its own event's position. */
    assert_int_equal(t.e[1].nfields, 2);
    assert_non_null(t.e[1].event);
    assert_non_null(t.e[1].schema_change);
    doc = tt_parse(t.e[1].event);
    tl_assert_str(jstr(doc, "op"), "INSERT");
    assert_int_equal(event_id(doc), 2);
    json_decref(doc);
    doc = tt_parse(t.e[1].schema_change);
    tl_assert_str(jstr(doc, "op"), "SCHEMA_CHANGE");
    assert_int_equal(json_array_size(json_object_get(doc, "old_columns")), 2);
    assert_int_equal(json_array_size(json_object_get(doc, "new_columns")), 3);
    assert_int_equal(t.e[1].seq, json_integer_value(json_object_get(doc, "seq")));
    json_decref(doc);
    /* The third: the row was filtered out, its schema change alone. */
    assert_int_equal(t.e[2].nfields, 1);
    assert_null(t.e[2].event);
    doc = tt_parse(t.e[2].schema_change);
    tl_assert_str(jstr(doc, "op"), "SCHEMA_CHANGE");
    assert_int_equal(json_array_size(json_object_get(doc, "new_columns")), 4);
    assert_int_equal(t.e[2].seq, 0);
    assert_true(t.e[2].ms > t.e[1].ms);
    json_decref(doc);
    rs_stream_free(&t);
    rs_stop(&srv);
}

/* The stream holds each id of [1, n] once, in order, each entry its event's position. */
static void expect_once_in_order(rs_server *srv, const char *key, long n)
{
    rs_stream st;

    rs_read(srv, key, &st);
    if ((long)st.n != n)
        fail_msg("%s has %zu entries, not %ld", key, st.n, n);
    for (size_t i = 0; i < st.n; i++) {
        json_t *doc = check_entry(&st.e[i]);

        if (event_id(doc) != (long)i + 1)
            fail_msg("%s: entry %zu is id %ld, not %zu", key, i, event_id(doc), i + 1);
        json_decref(doc);
    }
    rs_stream_free(&st);
}

/*
 * The same changes twice, through two slots made at the same point: the
 * second run's entries are all refused by Redis as there already, and count
 * as delivered (its slot advances); what is new after is added once.
 */
static void test_replay_is_refused(void **state)
{
    const char *db = tl_fresh_db("r_replay");
    rs_server srv;
    logs lg;
    uint64_t before_last = 0;
    uint64_t end;

    (void)state;
    logs_init(&lg);
    rs_start(&srv);
    tl_sql(db, "CREATE TABLE t (id int PRIMARY KEY, v text)");
    make_slot(db, "s_r_replay_a", "p_r_replay", "t");
    make_slot(db, "s_r_replay_b", "p_r_replay", "t");
    for (int i = 0; i < 40; i++) {
        /* The last transaction ends past this: a run to the end confirms past it. */
        if (i == 39)
            before_last = tl_current_lsn(db);
        tl_sql(db, "INSERT INTO t VALUES (%d, 'x'), (%d, 'y')", 2 * i + 1, 2 * i + 2);
    }
    end = tl_current_lsn(db);
    run_to_end(db, "s_r_replay_a", "p_r_replay", "t", srv.uri, end, &lg);
    expect_once_in_order(&srv, "pgcdc.public.t", 80);
    assert_int_equal(lg.replayed, 0);

    run_to_end(db, "s_r_replay_b", "p_r_replay", "t", srv.uri, end, &lg);
    expect_once_in_order(&srv, "pgcdc.public.t", 80);
    assert_true(lg.replayed >= 1);
    assert_true(tl_slot_confirmed(db, "s_r_replay_b") > before_last);

    /* Later changes: the slot ahead adds them, the one behind finds them there. */
    tl_sql(db, "INSERT INTO t SELECT g, 'z' FROM generate_series(81, 100) g");
    end = tl_current_lsn(db);
    run_to_end(db, "s_r_replay_b", "p_r_replay", "t", srv.uri, end, NULL);
    run_to_end(db, "s_r_replay_a", "p_r_replay", "t", srv.uri, end, NULL);
    expect_once_in_order(&srv, "pgcdc.public.t", 100);
    rs_stop(&srv);
    pthread_mutex_destroy(&lg.mu);
}

/*
 * An initial snapshot in chunks (all at the slot's consistent point, each
 * numbered from 0): the rows get IDs numbered on across chunks, unique and
 * below the stream's that follow.
 */
static void test_snapshot_rows(void **state)
{
    enum { ROWS = 1000 };
    const char *db = tl_fresh_db("r_snap");
    char statefile[] = "/tmp/pgcdc-redis-snap-XXXXXX";
    rs_server srv;
    rs_stream st;
    pgcdc_config *cfg;
    tl_runner run;
    uint64_t end = 0;
    uint64_t at = 0;
    char *seen;
    int fd = mkstemp(statefile);

    (void)state;
    assert_true(fd >= 0);
    close(fd);
    unlink(statefile);
    rs_start(&srv);
    tl_sql(db, "CREATE TABLE t (id int PRIMARY KEY, v text)");
    tl_sql(db, "INSERT INTO t SELECT g, 'r' FROM generate_series(1, %d) g", ROWS);
    cfg = tl_config(db, "s_r_snap", "p_r_snap", "t");
    set(cfg, "sink", srv.uri);
    set(cfg, "snapshot", "initial");
    set(cfg, "snapshot.state_file", statefile);
    set(cfg, "snapshot.chunk_rows", "100");
    set(cfg, "snapshot.parallel", "2");
    tl_runner_start(&run, cfg);
    pgcdc_config_free(cfg);
    /* Once the snapshot is over (its state file gone), changes of the stream. */
    for (int i = 0; i < WAIT_MS / 10 && end == 0; i++) {
        pgcdc_stats ws;

        assert_int_equal(pgcdc_worker_stats(run.w, &ws), PGCDC_OK);
        if (ws.changes >= ROWS && access(statefile, F_OK) != 0) {
            tl_sql(db, "INSERT INTO t SELECT g, 's' FROM generate_series(%d, %d) g", ROWS + 1,
                   ROWS + 5);
            end = tl_current_lsn(db);
        }
        tl_sleep_ms(10);
    }
    assert_true(end != 0);
    for (int i = 0; i < WAIT_MS / 10 && pgcdc_worker_confirmed_lsn(run.w) < end; i++)
        tl_sleep_ms(10);
    assert_true(pgcdc_worker_confirmed_lsn(run.w) >= end);
    pgcdc_worker_stop(run.w);
    assert_int_equal(tl_runner_join(&run), PGCDC_OK);
    pgcdc_worker_free(run.w);

    rs_read(&srv, "pgcdc.public.t", &st);
    assert_int_equal(st.n, ROWS + 5);
    seen = calloc(ROWS + 6, 1);
    assert_non_null(seen);
    for (size_t i = 0; i < st.n; i++) {
        json_t *doc = tt_parse(st.e[i].event);
        long id = event_id(doc);
        uint64_t lsn = 0;

        assert_int_equal(pgcdc_lsn_parse(jstr(doc, "commit_lsn"), &lsn), PGCDC_OK);
        assert_int_equal(st.e[i].ms, lsn);
        assert_true(id >= 1 && id <= ROWS + 5 && !seen[id]);
        seen[id] = 1;
        if (i < ROWS) {
            /* READ rows: one position, numbered 0 to ROWS - 1 across the chunks. */
            tl_assert_str(jstr(doc, "op"), "READ");
            if (i == 0)
                at = st.e[i].ms;
            assert_int_equal(st.e[i].ms, at);
            assert_int_equal(st.e[i].seq, i);
        } else {
            tl_assert_str(jstr(doc, "op"), "INSERT");
            assert_true(st.e[i].ms > at);
            assert_int_equal(st.e[i].seq, json_integer_value(json_object_get(doc, "seq")));
        }
        json_decref(doc);
    }
    free(seen);
    rs_stream_free(&st);
    rs_stop(&srv);
}

/*
 * kill -9 of redis-server twice during a load, each time started again on
 * its AOF a second later: the sink reconnects and sends again what was not
 * answered; nothing past the undelivered is confirmed meanwhile; at the end
 * the stream holds every event once, in commit order.
 */
static void test_killed_during_load(void **state)
{
    const char *db = tl_fresh_db("r_kill");
    tl_loader ld = {.db = db, .rows = 3};
    rs_server srv;
    pgcdc_config *cfg;
    tl_runner run;
    logs lg;
    uint64_t end;

    (void)state;
    logs_init(&lg);
    atomic_init(&ld.done, 0);
    atomic_init(&ld.stop, 0);
    rs_start(&srv);
    tl_sql(db, "CREATE TABLE t (id int PRIMARY KEY, v text)");
    make_slot(db, "s_r_kill", "p_r_kill", "t");
    cfg = tl_config(db, "s_r_kill", "p_r_kill", "t");
    set(cfg, "sink", srv.uri);
    /* Small batches: many round trips, so that a kill finds commands unanswered. */
    set(cfg, "sink.redis.max_inflight", "8kB");
    set(cfg, "sink.redis.timeout", "2s");
    pgcdc_config_set_log_cb(cfg, on_log, &lg);
    tl_runner_start(&run, cfg);
    pgcdc_config_free(cfg);
    assert_int_equal(pthread_create(&ld.thread, NULL, tl_load_main, &ld), 0);
    for (int k = 0; k < 2; k++) {
        /* The load goes on through the outage. */
        tl_wait_loaded(&ld, atomic_load(&ld.done) + 300);
        rs_kill(&srv);
        tl_sleep_ms(1000);
        end = tl_current_lsn(db);
        tl_sleep_ms(500);
        /* Down: what committed meanwhile is not confirmed. */
        assert_true(pgcdc_worker_confirmed_lsn(run.w) < end);
        rs_restart(&srv);
        /* Until the sink is back (its backoff may outlast the outage). */
        for (int i = 0; i < WAIT_MS / 10 && again(&lg) <= k; i++)
            tl_sleep_ms(10);
        assert_int_equal(again(&lg), k + 1);
    }
    tl_wait_loaded(&ld, atomic_load(&ld.done) + 300);
    atomic_store(&ld.stop, 1);
    pthread_join(ld.thread, NULL);
    end = tl_current_lsn(db);
    for (int i = 0; i < WAIT_MS / 10 && pgcdc_worker_confirmed_lsn(run.w) < end; i++)
        tl_sleep_ms(10);
    assert_true(pgcdc_worker_confirmed_lsn(run.w) >= end);
    pgcdc_worker_stop(run.w);
    assert_int_equal(tl_runner_join(&run), PGCDC_OK);
    pgcdc_worker_free(run.w);
    expect_once_in_order(&srv, "pgcdc.public.t", (long)atomic_load(&ld.done) * ld.rows);
    print_message("%d drains found entries there already\n", lg.replayed);
    /* Both outages were seen, once each. */
    assert_int_equal(lg.retrying, 2);
    rs_stop(&srv);
    pthread_mutex_destroy(&lg.mu);
}

/*
 * Redis down: a stop ends the run at once, nothing confirmed past what it
 * has; the next run delivers the rest, once.  Down for longer than
 * max_elapsed: the run fails, saying so.
 */
static void test_down_stop_and_give_up(void **state)
{
    const char *db = tl_fresh_db("r_down");
    rs_server srv;
    pgcdc_config *cfg;
    pgcdc_worker *w;
    pgcdc_stats st;
    tl_runner run;
    uint64_t end;
    char uri[128];

    (void)state;
    rs_start(&srv);
    tl_sql(db, "CREATE TABLE t (id int PRIMARY KEY, v text)");
    make_slot(db, "s_r_down", "p_r_down", "t");
    tl_sql(db, "INSERT INTO t VALUES (1, 'a')");
    cfg = tl_config(db, "s_r_down", "p_r_down", "t");
    set(cfg, "sink", srv.uri);
    tl_runner_start(&run, cfg);
    pgcdc_config_free(cfg);
    end = tl_current_lsn(db);
    for (int i = 0; i < WAIT_MS / 10 && pgcdc_worker_confirmed_lsn(run.w) < end; i++)
        tl_sleep_ms(10);
    assert_true(pgcdc_worker_confirmed_lsn(run.w) >= end);
    rs_kill(&srv);
    tl_sql(db, "INSERT INTO t VALUES (2, 'b')");
    tl_sql(db, "INSERT INTO t VALUES (3, 'c')");
    end = tl_current_lsn(db);
    for (int i = 0; i < WAIT_MS / 10; i++) {
        assert_int_equal(pgcdc_worker_stats(run.w, &st), PGCDC_OK);
        if (st.changes >= 2)
            break;
        tl_sleep_ms(10);
    }
    /* The worker waits on the sink (it reads no further meanwhile). */
    assert_true(st.changes >= 2);
    tl_sleep_ms(1000);
    pgcdc_worker_stop(run.w);
    assert_int_equal(tl_runner_join(&run), PGCDC_OK);
    assert_true(pgcdc_worker_confirmed_lsn(run.w) < end);
    pgcdc_worker_free(run.w);
    assert_true(tl_slot_confirmed(db, "s_r_down") < end);

    rs_restart(&srv);
    run_to_end(db, "s_r_down", "p_r_down", "t", srv.uri, end, NULL);
    expect_once_in_order(&srv, "pgcdc.public.t", 3);

    /* Nobody on the port, for longer than max_elapsed. */
    tl_sql(db, "INSERT INTO t VALUES (4, 'd')");
    end = tl_current_lsn(db);
    snprintf(uri, sizeof(uri), "redis://127.0.0.1:%d", tl_free_port());
    cfg = tl_config(db, "s_r_down", "p_r_down", "t");
    set(cfg, "sink", uri);
    set(cfg, "sink.redis.max_elapsed", "1s");
    pgcdc_config_set_endpos(cfg, end);
    w = pgcdc_worker_new(cfg);
    assert_int_equal(pgcdc_worker_start(w), PGCDC_OK);
    assert_int_equal(pgcdc_worker_run(w), PGCDC_ERR_SINK);
    assert_non_null(strstr(pgcdc_worker_errmsg(w), "could not reach redis at"));
    assert_null(strchr(pgcdc_worker_errmsg(w), '\n'));
    pgcdc_worker_free(w);
    pgcdc_config_free(cfg);
    assert_true(tl_slot_confirmed(db, "s_r_down") < end);
    rs_stop(&srv);
}

/*
 * A refusal other than "there already" (the key holds a string: WRONGTYPE):
 * the halt policy stops the run, nothing confirmed past it; the dead-letter
 * policy writes the event and the error to the file and goes on.
 */
static void test_refusal_halts_or_dead_letters(void **state)
{
    const char *db = tl_fresh_db("r_refuse");
    char dlq[] = "/tmp/pgcdc-redis-dlq-XXXXXX";
    rs_server srv;
    pgcdc_config *cfg;
    pgcdc_worker *w;
    json_t *lines;
    uint64_t before;
    uint64_t end;
    int fd = mkstemp(dlq);

    (void)state;
    assert_true(fd >= 0);
    close(fd);
    unlink(dlq);
    rs_start(&srv);
    rs_command(&srv, "SET pgcdc.public.t not-a-stream");
    tl_sql(db, "CREATE TABLE t (id int PRIMARY KEY, v text)");
    make_slot(db, "s_r_refuse", "p_r_refuse", "t");
    before = tl_current_lsn(db);
    tl_sql(db, "INSERT INTO t VALUES (1, 'a')");
    end = tl_current_lsn(db);

    cfg = tl_config(db, "s_r_refuse", "p_r_refuse", "t");
    set(cfg, "sink", srv.uri);
    pgcdc_config_set_handler_retries(cfg, 1, 1);
    pgcdc_config_set_endpos(cfg, end);
    w = pgcdc_worker_new(cfg);
    assert_int_equal(pgcdc_worker_start(w), PGCDC_OK);
    assert_int_equal(pgcdc_worker_run(w), PGCDC_ERR_SINK);
    assert_non_null(strstr(pgcdc_worker_errmsg(w), "could not add to stream \"pgcdc.public.t\""));
    assert_non_null(strstr(pgcdc_worker_errmsg(w), "WRONGTYPE"));
    assert_non_null(strstr(pgcdc_worker_errmsg(w), "nothing after the last confirmed position"));
    assert_null(strchr(pgcdc_worker_errmsg(w), '\n'));
    pgcdc_worker_free(w);
    pgcdc_config_free(cfg);
    assert_true(tl_slot_confirmed(db, "s_r_refuse") < end);

    cfg = tl_config(db, "s_r_refuse", "p_r_refuse", "t");
    set(cfg, "sink", srv.uri);
    set(cfg, "on_error", "dead_letter");
    set(cfg, "dead_letter", dlq);
    pgcdc_config_set_endpos(cfg, end);
    w = pgcdc_worker_new(cfg);
    assert_int_equal(pgcdc_worker_start(w), PGCDC_OK);
    if (pgcdc_worker_run(w) != PGCDC_OK)
        fail_msg("run: %s", pgcdc_worker_errmsg(w));
    pgcdc_worker_free(w);
    pgcdc_config_free(cfg);
    /* The transaction, dead-lettered, is confirmed: its end is past before. */
    assert_true(tl_slot_confirmed(db, "s_r_refuse") > before);
    lines = tt_parse_lines(dlq);
    assert_int_equal(json_array_size(lines), 1);
    {
        json_t *l = json_array_get(lines, 0);
        json_t *doc = tt_parse(jstr(l, "payload"));

        assert_non_null(strstr(jstr(json_object_get(l, "dead_letter"), "error"), "WRONGTYPE"));
        assert_int_equal(event_id(doc), 1);
        json_decref(doc);
    }
    json_decref(lines);
    unlink(dlq);
    rs_stop(&srv);
}

/* URIs and properties refused with a one-line reason before anything connects. */
static void test_refused_before_connecting(void **state)
{
    static const char *const bad[][2] = {
        {"redis://", "no host"},
        {"redis://:6379/k", "no host"},
        {"redis://localhost:0/k", "bad port"},
        {"redis://localhost:99999/k", "bad port"},
        {"redis://localhost:x/k", "bad port"},
        {"redis://localhost:/k", "bad port"},
        {"redis://a@b:6379/k", "bad host name"},
        {"redis://localhost:6379/${nope}", "unknown placeholder \"${nope}\""},
        {"redis://localhost:6379/${table", "unclosed"},
        {"redis://localhost:6379/a b", "not allowed in the stream key"},
        {"redis://localhost:6379/a?b", "not allowed in the stream key"},
    };
    static const char *const good[] = {
        "redis://localhost",
        "redis://localhost:6379/",
        "redis://127.0.0.1:1/cdc:${prefix}:${schema}/${table}",
    };
    pgcdc_config *cfg = pgcdc_config_new();
    char err[512];

    (void)state;
    tl_assert_sink_uris(cfg, bad, sizeof(bad) / sizeof(bad[0]), good,
                        sizeof(good) / sizeof(good[0]));
    assert_int_equal(pgcdc_config_set(cfg, "sink.redis.maxlen", "-1", err, sizeof(err)),
                     PGCDC_ERR_INVALID);
    assert_int_equal(pgcdc_config_set(cfg, "sink.redis.max_inflight", "12", err, sizeof(err)),
                     PGCDC_ERR_INVALID);
    assert_int_equal(pgcdc_config_set(cfg, "sink.redis.nope", "1", err, sizeof(err)),
                     PGCDC_ERR_INVALID);
    assert_int_equal(pgcdc_config_set(cfg, "sink.redis.maxlen", "1000", err, sizeof(err)),
                     PGCDC_OK);
    pgcdc_config_free(cfg);
}

/* The command line: --sink redis://..., trimmed with MAXLEN ~ (Redis keeps at least that many). */
static void test_cli(void **state)
{
    const char *db = tl_fresh_db("r_cli");
    const char *tool = tt_tool();
    char endpos[32];
    char uri[256];
    rs_server srv;
    rs_stream st;

    (void)state;
    rs_start(&srv);
    snprintf(uri, sizeof(uri), "%s/cli.${table}", srv.uri);
    tl_sql(db, "CREATE TABLE t (id int PRIMARY KEY, v text)");
    make_slot(db, "s_r_cli", "p_r_cli", "t");
    for (int i = 0; i < 30; i++)
        tl_sql(db, "INSERT INTO t VALUES (%d, 'c')", i + 1);
    pgcdc_lsn_format(tl_current_lsn(db), endpos, sizeof(endpos));
    assert_int_equal(tt_run((const char *[]){tool, "-d", "dbname=r_cli", "-S", "s_r_cli", "-P",
                                             "p_r_cli", "-t", "t", "-E", endpos, "-q", "--sink",
                                             uri, "-X", "sink.redis.maxlen=10", NULL}),
                     0);
    tt_cleanup();
    rs_read(&srv, "cli.t", &st);
    assert_true(st.n >= 10 && st.n <= 30);
    /* The newest are kept: the last entry is the last row. */
    {
        json_t *doc = tt_parse(st.e[st.n - 1].event);

        assert_int_equal(event_id(doc), 30);
        json_decref(doc);
    }
    rs_stream_free(&st);
    rs_stop(&srv);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_refused_before_connecting),
        cmocka_unit_test(test_entries),
        cmocka_unit_test(test_replay_is_refused),
        cmocka_unit_test(test_schema_change),
        cmocka_unit_test(test_snapshot_rows),
        cmocka_unit_test(test_refusal_halts_or_dead_letters),
        cmocka_unit_test(test_cli),
        cmocka_unit_test(test_down_stop_and_give_up),
        cmocka_unit_test(test_killed_during_load),
    };

    /* PGCDC_TEST_FILTER=test_name runs that test alone. */
    if (getenv("PGCDC_TEST_FILTER") != NULL)
        cmocka_set_test_filter(getenv("PGCDC_TEST_FILTER"));
    return cmocka_run_group_tests(tests, NULL, NULL);
}
