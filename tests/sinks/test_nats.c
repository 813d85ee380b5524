/*
 * The nats sink against a real nats-server -js the test starts, its
 * streams read back with libnats: subjects, Nats-Msg-Id headers and events;
 * a replay dropped by the stream's duplicate window; initial snapshot rows
 * numbered uniquely; the server killed -9 and restarted on its store during
 * a load (every row once); a stop while it is down, and giving up after
 * max_elapsed; refusals halting or going to the dead-letter file; token
 * authentication (never shown); URIs refused before anything connects; the
 * command line.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "nats_srv.h"
#include "testlib.h"
#include "tool.h"

/* How long a test waits for something that must happen (it never asserts a duration). */
#define WAIT_MS (180 * 1000)

/* Log lines of the sink's kinds, counted. */
typedef struct logs {
    pthread_mutex_t mu;
    int retrying;
    int again;
    int duplicates;
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
    if (strstr(msg, "in the stream already") != NULL)
        lg->duplicates++;
    pthread_mutex_unlock(&lg->mu);
}

static int count_of(logs *lg, const int *field)
{
    int n;

    pthread_mutex_lock(&lg->mu);
    n = *field;
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

/* A config streaming to uri (stream "CDC" taking its subjects), logging to lg unless NULL. */
static pgcdc_config *sink_config(const char *db, const char *slot, const char *pub,
                                 const char *tables, const char *uri, logs *lg)
{
    pgcdc_config *cfg = tl_config(db, slot, pub, tables);

    set(cfg, "sink", uri);
    if (lg != NULL)
        pgcdc_config_set_log_cb(cfg, on_log, lg);
    return cfg;
}

static const char *jstr(json_t *doc, const char *name)
{
    const char *s = json_string_value(json_object_get(doc, name));

    return s != NULL ? s : "";
}

/* The message's Nats-Msg-Id is its event's "<commit_lsn>:<seq>". */
static json_t *check_msg(const ns_msg *m)
{
    json_t *doc = tt_parse(m->data);
    char want[64];

    assert_non_null(m->msg_id);
    snprintf(want, sizeof(want), "%s:%lld", jstr(doc, "commit_lsn"),
             (long long)json_integer_value(json_object_get(doc, "seq")));
    tl_assert_str(m->msg_id, want);
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

/*
 * Every kind of change, a subject per table from a template, the stream
 * made by the sink; a table name with a '.' and a space ends up as one
 * token.
 */
static void test_messages(void **state)
{
    const char *db = tl_fresh_db("n_msgs");
    static const char *const ops[] = {"INSERT", "INSERT", "UPDATE", "DELETE", "TRUNCATE"};
    ns_server srv;
    ns_stream st;
    pgcdc_config *cfg;
    char uri[256];
    size_t nt = 0;

    (void)state;
    ns_start(&srv, NULL);
    snprintf(uri, sizeof(uri), "%s/${prefix}.${schema}.${table}.v1", srv.uri);
    tl_sql(db, "CREATE TABLE t (id int PRIMARY KEY, v text)");
    tl_sql(db, "CREATE TABLE \"we.ird t\" (id int PRIMARY KEY)");
    make_slot(db, "s_n_msgs", "p_n_msgs", "t,\"we.ird t\"");
    tl_sql(db, "BEGIN; INSERT INTO t VALUES (1, 'a'), (2, 'b'); INSERT INTO \"we.ird t\" "
               "VALUES (7); COMMIT");
    tl_sql(db, "UPDATE t SET v = 'c' WHERE id = 1");
    tl_sql(db, "DELETE FROM t WHERE id = 2");
    tl_sql(db, "TRUNCATE t");
    cfg = sink_config(db, "s_n_msgs", "p_n_msgs", "t,\"we.ird t\"", uri, NULL);
    set(cfg, "sink.nats.subject_prefix", "cdc.prod");
    set(cfg, "sink.nats.stream", "CDC");
    set(cfg, "sink.nats.create_stream", "true");
    tl_run_to_end(cfg, tl_current_lsn(db));

    ns_read(&srv, "CDC", &st);
    assert_int_equal(st.n, 6);
    for (size_t i = 0; i < st.n; i++) {
        json_t *doc = check_msg(&st.m[i]);

        if (strcmp(jstr(doc, "table"), "t") == 0) {
            tl_assert_str(st.m[i].subject, "cdc.prod.public.t.v1");
            tl_assert_str(jstr(doc, "op"), ops[nt++]);
        } else {
            /* The third change of the first transaction. */
            tl_assert_str(st.m[i].subject, "cdc.prod.public.we_ird_t.v1");
            assert_int_equal(i, 2);
            assert_int_equal(json_integer_value(json_object_get(doc, "seq")), 2);
            assert_int_equal(event_id(doc), 7);
        }
        if (i == 0)
            assert_int_equal(event_id(doc), 1);
        json_decref(doc);
    }
    assert_int_equal(nt, 5);
    /* The first transaction's two rows: one commit LSN, seq 0 and 1. */
    assert_non_null(strstr(st.m[0].msg_id, ":0"));
    assert_non_null(strstr(st.m[1].msg_id, ":1"));
    ns_stream_free(&st);
    ns_stop(&srv);
}

/* The stream holds each id of [1, n] once, in order. */
static void expect_once_in_order(ns_server *srv, const char *stream, long n)
{
    ns_stream st;

    ns_read(srv, stream, &st);
    if ((long)st.n != n)
        fail_msg("%s has %zu messages, not %ld", stream, st.n, n);
    for (size_t i = 0; i < st.n; i++) {
        json_t *doc = check_msg(&st.m[i]);

        if (event_id(doc) != (long)i + 1)
            fail_msg("%s: message %zu is id %ld, not %zu", stream, i, event_id(doc), i + 1);
        json_decref(doc);
    }
    ns_stream_free(&st);
}

/* Each id of [1, n] once, in any order (after a kill -9, within the duplicate window). */
static void expect_once(ns_server *srv, const char *stream, long n)
{
    ns_stream st;
    char *seen = calloc((size_t)n + 1, 1);
    long out_of_order = 0;

    assert_non_null(seen);
    ns_read(srv, stream, &st);
    for (size_t i = 0; i < st.n; i++) {
        json_t *doc = check_msg(&st.m[i]);
        long id = event_id(doc);

        if (id < 1 || id > n || seen[id])
            fail_msg("%s: message %zu is id %ld (%s)", stream, i, id,
                     id >= 1 && id <= n ? "twice" : "unknown");
        seen[id] = 1;
        out_of_order += id != (long)i + 1;
        json_decref(doc);
    }
    if ((long)st.n != n)
        fail_msg("%s has %zu messages, not %ld", stream, st.n, n);
    print_message("%ld of %ld messages out of place\n", out_of_order, n);
    ns_stream_free(&st);
    free(seen);
}

/*
 * The same changes twice, through two slots made at the same point: the
 * second run's messages are dropped by the stream (its count unchanged) and
 * count as delivered (its slot advances); what is new after is added once.
 */
static void test_replay_is_dropped(void **state)
{
    const char *db = tl_fresh_db("n_replay");
    ns_server srv;
    logs lg;
    uint64_t before_last = 0;
    uint64_t end;

    (void)state;
    logs_init(&lg);
    ns_start(&srv, NULL);
    ns_add_stream(&srv, "CDC", "pgcdc.>", 120000, 0);
    tl_sql(db, "CREATE TABLE t (id int PRIMARY KEY, v text)");
    make_slot(db, "s_n_replay_a", "p_n_replay", "t");
    make_slot(db, "s_n_replay_b", "p_n_replay", "t");
    for (int i = 0; i < 40; i++) {
        if (i == 39)
            before_last = tl_current_lsn(db);
        tl_sql(db, "INSERT INTO t VALUES (%d, 'x'), (%d, 'y')", 2 * i + 1, 2 * i + 2);
    }
    end = tl_current_lsn(db);
    tl_run_to_end(sink_config(db, "s_n_replay_a", "p_n_replay", "t", srv.uri, &lg), end);
    expect_once_in_order(&srv, "CDC", 80);
    assert_int_equal(lg.duplicates, 0);

    tl_run_to_end(sink_config(db, "s_n_replay_b", "p_n_replay", "t", srv.uri, &lg), end);
    assert_int_equal(ns_count(&srv, "CDC"), 80);
    expect_once_in_order(&srv, "CDC", 80);
    assert_true(lg.duplicates >= 1);
    assert_true(tl_slot_confirmed(db, "s_n_replay_b") > before_last);

    tl_sql(db, "INSERT INTO t SELECT g, 'z' FROM generate_series(81, 100) g");
    end = tl_current_lsn(db);
    tl_run_to_end(sink_config(db, "s_n_replay_b", "p_n_replay", "t", srv.uri, NULL), end);
    tl_run_to_end(sink_config(db, "s_n_replay_a", "p_n_replay", "t", srv.uri, NULL), end);
    expect_once_in_order(&srv, "CDC", 100);
    ns_stop(&srv);
    pthread_mutex_destroy(&lg.mu);
}

/*
 * A schema change has the seq of the change after it and a Msg-Id of its
 * own (":schema"): JetStream keeps both; sent again through another slot,
 * both are dropped as duplicates.
 */
static void test_schema_change(void **state)
{
    const char *db = tl_fresh_db("n_schema");
    ns_server srv;
    ns_stream st;
    logs lg;
    json_t *doc;
    char want[96];
    uint64_t end;

    (void)state;
    logs_init(&lg);
    ns_start(&srv, NULL);
    ns_add_stream(&srv, "CDC", "pgcdc.>", 120000, 0);
    tl_sql(db, "CREATE TABLE t (id int PRIMARY KEY, v text)");
    make_slot(db, "s_n_schema_a", "p_n_schema", "t");
    make_slot(db, "s_n_schema_b", "p_n_schema", "t");
    tl_sql(db, "INSERT INTO t VALUES (1, 'x')");
    tl_sql(db, "ALTER TABLE t ADD COLUMN w int");
    tl_sql(db, "INSERT INTO t VALUES (2, 'y', 3)");
    end = tl_current_lsn(db);
    tl_run_to_end(sink_config(db, "s_n_schema_a", "p_n_schema", "t", srv.uri, &lg), end);
    ns_read(&srv, "CDC", &st);
    assert_int_equal(st.n, 3);
    json_decref(check_msg(&st.m[0]));
    doc = tt_parse(st.m[1].data);
    tl_assert_str(jstr(doc, "op"), "SCHEMA_CHANGE");
    snprintf(want, sizeof(want), "%s:%lld:schema", jstr(doc, "commit_lsn"),
             (long long)json_integer_value(json_object_get(doc, "seq")));
    tl_assert_str(st.m[1].msg_id, want);
    json_decref(doc);
    doc = check_msg(&st.m[2]);
    tl_assert_str(jstr(doc, "op"), "INSERT");
    assert_int_equal(event_id(doc), 2);
    /* The same position as the schema change's, another ID. */
    assert_int_equal(strncmp(st.m[2].msg_id, want, strlen(st.m[2].msg_id)), 0);
    json_decref(doc);
    ns_stream_free(&st);
    assert_int_equal(lg.duplicates, 0);

    tl_run_to_end(sink_config(db, "s_n_schema_b", "p_n_schema", "t", srv.uri, &lg), end);
    assert_int_equal(ns_count(&srv, "CDC"), 3);
    assert_true(lg.duplicates >= 1);
    ns_stop(&srv);
    pthread_mutex_destroy(&lg.mu);
}

/*
 * An initial snapshot in chunks (all at the slot's consistent point, each
 * numbered from 0): the rows get ids numbered on across chunks, so none is
 * dropped as a duplicate of another.
 */
static void test_snapshot_rows(void **state)
{
    enum { ROWS = 1000 };
    const char *db = tl_fresh_db("n_snap");
    char statefile[] = "/tmp/pgcdc-nats-snap-XXXXXX";
    ns_server srv;
    ns_stream st;
    pgcdc_config *cfg;
    tl_runner run;
    uint64_t end = 0;
    char *seen;
    int fd = mkstemp(statefile);

    (void)state;
    assert_true(fd >= 0);
    close(fd);
    unlink(statefile);
    ns_start(&srv, NULL);
    ns_add_stream(&srv, "CDC", "pgcdc.>", 120000, 0);
    tl_sql(db, "CREATE TABLE t (id int PRIMARY KEY, v text)");
    tl_sql(db, "INSERT INTO t SELECT g, 'r' FROM generate_series(1, %d) g", ROWS);
    cfg = sink_config(db, "s_n_snap", "p_n_snap", "t", srv.uri, NULL);
    set(cfg, "snapshot", "initial");
    set(cfg, "snapshot.state_file", statefile);
    set(cfg, "snapshot.chunk_rows", "100");
    set(cfg, "snapshot.parallel", "2");
    tl_runner_start(&run, cfg);
    pgcdc_config_free(cfg);
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

    ns_read(&srv, "CDC", &st);
    assert_int_equal(st.n, ROWS + 5);
    seen = calloc(ROWS + 6, 1);
    assert_non_null(seen);
    for (size_t i = 0; i < st.n; i++) {
        json_t *doc = tt_parse(st.m[i].data);
        long id = event_id(doc);
        char want[64];

        assert_true(id >= 1 && id <= ROWS + 5 && !seen[id]);
        seen[id] = 1;
        if (i < ROWS) {
            /* READ rows: one position, numbered 0 to ROWS - 1 across the chunks. */
            tl_assert_str(jstr(doc, "op"), "READ");
            snprintf(want, sizeof(want), "%s:%zu", jstr(doc, "commit_lsn"), i);
            tl_assert_str(st.m[i].msg_id, want);
        } else {
            tl_assert_str(jstr(doc, "op"), "INSERT");
            json_decref(check_msg(&st.m[i]));
        }
        json_decref(doc);
    }
    free(seen);
    ns_stream_free(&st);
    ns_stop(&srv);
}

/*
 * kill -9 of nats-server twice during a load, each time started again on
 * its store a second later: libnats reconnects, the PubAcks lost time out
 * and their messages are sent again (the duplicate window drops those the
 * stream had); nothing past the undelivered is confirmed meanwhile; at the
 * end the stream holds every row once and the slot is confirmed.
 */
static void test_killed_during_load(void **state)
{
    const char *db = tl_fresh_db("n_kill");
    tl_loader ld = {.db = db, .rows = 3};
    ns_server srv;
    pgcdc_config *cfg;
    tl_runner run;
    logs lg;
    uint64_t end;

    (void)state;
    logs_init(&lg);
    atomic_init(&ld.done, 0);
    atomic_init(&ld.stop, 0);
    ns_start(&srv, NULL);
    ns_add_stream(&srv, "CDC", "pgcdc.>", 120000, 0);
    tl_sql(db, "CREATE TABLE t (id int PRIMARY KEY, v text)");
    make_slot(db, "s_n_kill", "p_n_kill", "t");
    cfg = sink_config(db, "s_n_kill", "p_n_kill", "t", srv.uri, &lg);
    set(cfg, "sink.nats.max_inflight", "8kB");
    set(cfg, "sink.nats.timeout", "2s");
    tl_runner_start(&run, cfg);
    pgcdc_config_free(cfg);
    assert_int_equal(pthread_create(&ld.thread, NULL, tl_load_main, &ld), 0);
    for (int k = 0; k < 2; k++) {
        tl_wait_loaded(&ld, atomic_load(&ld.done) + 300);
        ns_kill(&srv);
        tl_sleep_ms(1000);
        end = tl_current_lsn(db);
        tl_sleep_ms(500);
        /* Down: what committed meanwhile is not confirmed. */
        assert_true(pgcdc_worker_confirmed_lsn(run.w) < end);
        ns_restart(&srv);
        for (int i = 0; i < WAIT_MS / 10 && count_of(&lg, &lg.again) <= k; i++)
            tl_sleep_ms(10);
        assert_int_equal(count_of(&lg, &lg.again), k + 1);
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
    assert_true(tl_slot_confirmed(db, "s_n_kill") >= end);
    expect_once(&srv, "CDC", (long)atomic_load(&ld.done) * ld.rows);
    print_message("%d drains found messages in the stream already\n", lg.duplicates);
    /*
     * Both outages were seen, each logged once rather than per message; on a
     * loaded machine a PubAck may also take longer than the 2 s timeout, a
     * failure (and a line) of its own.
     */
    if (lg.retrying < 2 || lg.retrying > 4)
        fail_msg("%d lines say \"retrying\": want one per outage (2), and at most 2 more",
                 lg.retrying);
    ns_stop(&srv);
    pthread_mutex_destroy(&lg.mu);
}

/*
 * nats-server down: a stop ends the run, nothing confirmed past what it
 * has; the next run delivers the rest, once.  Nobody there from the start,
 * for longer than max_elapsed: the run fails, saying so.
 */
static void test_down_stop_and_give_up(void **state)
{
    const char *db = tl_fresh_db("n_down");
    ns_server srv;
    pgcdc_config *cfg;
    pgcdc_worker *w;
    pgcdc_stats st;
    tl_runner run;
    uint64_t end;
    char uri[128];

    (void)state;
    ns_start(&srv, NULL);
    ns_add_stream(&srv, "CDC", "pgcdc.>", 120000, 0);
    tl_sql(db, "CREATE TABLE t (id int PRIMARY KEY, v text)");
    make_slot(db, "s_n_down", "p_n_down", "t");
    tl_sql(db, "INSERT INTO t VALUES (1, 'a')");
    cfg = sink_config(db, "s_n_down", "p_n_down", "t", srv.uri, NULL);
    tl_runner_start(&run, cfg);
    pgcdc_config_free(cfg);
    end = tl_current_lsn(db);
    for (int i = 0; i < WAIT_MS / 10 && pgcdc_worker_confirmed_lsn(run.w) < end; i++)
        tl_sleep_ms(10);
    assert_true(pgcdc_worker_confirmed_lsn(run.w) >= end);
    ns_kill(&srv);
    tl_sql(db, "INSERT INTO t VALUES (2, 'b')");
    tl_sql(db, "INSERT INTO t VALUES (3, 'c')");
    end = tl_current_lsn(db);
    for (int i = 0; i < WAIT_MS / 10; i++) {
        assert_int_equal(pgcdc_worker_stats(run.w, &st), PGCDC_OK);
        if (st.changes >= 2)
            break;
        tl_sleep_ms(10);
    }
    assert_true(st.changes >= 2);
    tl_sleep_ms(1000);
    pgcdc_worker_stop(run.w);
    assert_int_equal(tl_runner_join(&run), PGCDC_OK);
    assert_true(pgcdc_worker_confirmed_lsn(run.w) < end);
    pgcdc_worker_free(run.w);
    assert_true(tl_slot_confirmed(db, "s_n_down") < end);

    ns_restart(&srv);
    tl_run_to_end(sink_config(db, "s_n_down", "p_n_down", "t", srv.uri, NULL), end);
    expect_once_in_order(&srv, "CDC", 3);

    /* Nobody on the port, for longer than max_elapsed. */
    tl_sql(db, "INSERT INTO t VALUES (4, 'd')");
    end = tl_current_lsn(db);
    snprintf(uri, sizeof(uri), "nats://127.0.0.1:%d", tl_free_port());
    cfg = sink_config(db, "s_n_down", "p_n_down", "t", uri, NULL);
    set(cfg, "sink.nats.max_elapsed", "1s");
    pgcdc_config_set_endpos(cfg, end);
    w = pgcdc_worker_new(cfg);
    assert_int_equal(pgcdc_worker_start(w), PGCDC_OK);
    assert_int_equal(pgcdc_worker_run(w), PGCDC_ERR_SINK);
    assert_non_null(strstr(pgcdc_worker_errmsg(w), "could not deliver to nats at"));
    assert_null(strchr(pgcdc_worker_errmsg(w), '\n'));
    pgcdc_worker_free(w);
    pgcdc_config_free(cfg);
    assert_true(tl_slot_confirmed(db, "s_n_down") < end);
    ns_stop(&srv);
}

/*
 * A refusal by the stream (full, discarding new messages): the halt policy
 * stops the run, nothing confirmed past it; the dead-letter policy writes
 * the event and the error to the file and goes on.  No stream taking the
 * subject: retried, then a failure saying so.
 */
static void test_refusal_halts_or_dead_letters(void **state)
{
    const char *db = tl_fresh_db("n_refuse");
    char dlq[] = "/tmp/pgcdc-nats-dlq-XXXXXX";
    ns_server srv;
    pgcdc_config *cfg;
    pgcdc_worker *w;
    json_t *lines;
    uint64_t before;
    uint64_t end;
    char uri[256];
    int fd = mkstemp(dlq);

    (void)state;
    assert_true(fd >= 0);
    close(fd);
    unlink(dlq);
    ns_start(&srv, NULL);
    ns_add_stream(&srv, "CDC", "pgcdc.>", 120000, 1);
    tl_sql(db, "CREATE TABLE t (id int PRIMARY KEY, v text)");
    make_slot(db, "s_n_refuse", "p_n_refuse", "t");
    tl_sql(db, "INSERT INTO t VALUES (1, 'a')");
    before = tl_current_lsn(db);
    tl_sql(db, "INSERT INTO t VALUES (2, 'b')");
    end = tl_current_lsn(db);

    cfg = sink_config(db, "s_n_refuse", "p_n_refuse", "t", srv.uri, NULL);
    pgcdc_config_set_handler_retries(cfg, 1, 1);
    pgcdc_config_set_endpos(cfg, end);
    w = pgcdc_worker_new(cfg);
    assert_int_equal(pgcdc_worker_start(w), PGCDC_OK);
    assert_int_equal(pgcdc_worker_run(w), PGCDC_ERR_SINK);
    assert_non_null(
        strstr(pgcdc_worker_errmsg(w), "could not publish to subject \"pgcdc.public.t\""));
    assert_non_null(strstr(pgcdc_worker_errmsg(w), "maximum messages"));
    assert_non_null(strstr(pgcdc_worker_errmsg(w), "nothing after the last confirmed position"));
    assert_null(strchr(pgcdc_worker_errmsg(w), '\n'));
    pgcdc_worker_free(w);
    pgcdc_config_free(cfg);
    assert_true(tl_slot_confirmed(db, "s_n_refuse") < end);
    assert_int_equal(ns_count(&srv, "CDC"), 1);

    cfg = sink_config(db, "s_n_refuse", "p_n_refuse", "t", srv.uri, NULL);
    set(cfg, "on_error", "dead_letter");
    set(cfg, "dead_letter", dlq);
    tl_run_to_end(cfg, end);
    assert_true(tl_slot_confirmed(db, "s_n_refuse") > before);
    lines = tt_parse_lines(dlq);
    assert_int_equal(json_array_size(lines), 1);
    {
        json_t *l = json_array_get(lines, 0);
        json_t *doc = tt_parse(jstr(l, "payload"));

        assert_non_null(strstr(jstr(json_object_get(l, "dead_letter"), "error"), "maximum"));
        assert_int_equal(event_id(doc), 2);
        json_decref(doc);
    }
    json_decref(lines);
    unlink(dlq);

    /* No stream takes the subject: retried for max_elapsed, then said. */
    tl_sql(db, "INSERT INTO t VALUES (3, 'c')");
    end = tl_current_lsn(db);
    snprintf(uri, sizeof(uri), "%s/other.${table}", srv.uri);
    cfg = sink_config(db, "s_n_refuse", "p_n_refuse", "t", uri, NULL);
    set(cfg, "sink.nats.max_elapsed", "1s");
    pgcdc_config_set_endpos(cfg, end);
    w = pgcdc_worker_new(cfg);
    assert_int_equal(pgcdc_worker_start(w), PGCDC_OK);
    assert_int_equal(pgcdc_worker_run(w), PGCDC_ERR_SINK);
    assert_non_null(strstr(pgcdc_worker_errmsg(w), "no stream takes subject \"other.t\""));
    pgcdc_worker_free(w);
    pgcdc_config_free(cfg);
    ns_stop(&srv);
}

/* A server that wants a token: the right one delivers; a wrong one fails, never shown. */
static void test_token(void **state)
{
    const char *db = tl_fresh_db("n_token");
    ns_server srv;
    pgcdc_config *cfg;
    pgcdc_worker *w;
    uint64_t end;
    int r;

    (void)state;
    ns_start(&srv, "s3cret-t0ken");
    ns_add_stream(&srv, "CDC", "pgcdc.>", 120000, 0);
    tl_sql(db, "CREATE TABLE t (id int PRIMARY KEY, v text)");
    make_slot(db, "s_n_token", "p_n_token", "t");
    tl_sql(db, "INSERT INTO t VALUES (1, 'a')");
    end = tl_current_lsn(db);
    cfg = sink_config(db, "s_n_token", "p_n_token", "t", srv.uri, NULL);
    set(cfg, "sink.nats.token", "s3cret-t0ken");
    tl_run_to_end(cfg, end);
    expect_once_in_order(&srv, "CDC", 1);

    tl_sql(db, "INSERT INTO t VALUES (2, 'b')");
    end = tl_current_lsn(db);
    cfg = sink_config(db, "s_n_token", "p_n_token", "t", srv.uri, NULL);
    set(cfg, "sink.nats.token", "wr0ng-t0ken");
    pgcdc_config_set_endpos(cfg, end);
    w = pgcdc_worker_new(cfg);
    r = pgcdc_worker_start(w);
    if (r == PGCDC_OK)
        r = pgcdc_worker_run(w);
    assert_int_equal(r, PGCDC_ERR_SINK);
    assert_non_null(strstr(pgcdc_worker_errmsg(w), "Authorization Violation"));
    assert_null(strstr(pgcdc_worker_errmsg(w), "wr0ng"));
    assert_null(strchr(pgcdc_worker_errmsg(w), '\n'));
    print_message("wrong token: %s\n", pgcdc_worker_errmsg(w));
    pgcdc_worker_free(w);
    pgcdc_config_free(cfg);
    assert_true(tl_slot_confirmed(db, "s_n_token") < end);
    ns_stop(&srv);
}

/* URIs and properties refused with a one-line reason before anything connects. */
static void test_refused_before_connecting(void **state)
{
    static const char *const bad[][2] = {
        {"nats://", "no host"},
        {"nats://:4222/k", "no host"},
        {"nats://localhost:0/k", "bad port"},
        {"nats://localhost:99999/k", "bad port"},
        {"nats://localhost:x/k", "bad port"},
        {"nats://u:p@localhost:4222/k", "no credentials in the URI"},
        {"nats://u@localhost/k", "no credentials in the URI"},
        {"nats://local$host/k", "bad host name"},
        {"nats://localhost:4222/${nope}", "unknown placeholder \"${nope}\""},
        {"nats://localhost:4222/${table", "unclosed"},
        {"nats://localhost:4222/a b", "not allowed in a NATS subject"},
        {"nats://localhost:4222/a.*", "not allowed in a NATS subject"},
        {"nats://localhost:4222/a.>", "not allowed in a NATS subject"},
        {"nats://localhost:4222/a..${table}", "empty token"},
        {"nats://localhost:4222/.${table}", "empty token"},
        {"nats://localhost:4222/${table}.", "empty token"},
    };
    static const char *const good[] = {
        "nats://localhost",
        "nats://localhost:4222/",
        "nats://127.0.0.1:1/cdc.${prefix}.${schema}-${table}",
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
        assert_null(strstr(msg, "u:p"));
    }
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        if (pgcdc_config_add_sink(cfg, good[i]) != PGCDC_OK)
            fail_msg("%s: %s", good[i], pgcdc_config_errmsg(cfg));
    }
    assert_int_equal(pgcdc_config_set(cfg, "sink.nats.max_inflight", "12", err, sizeof(err)),
                     PGCDC_ERR_INVALID);
    assert_int_equal(pgcdc_config_set(cfg, "sink.nats.create_stream", "maybe", err, sizeof(err)),
                     PGCDC_ERR_INVALID);
    assert_int_equal(pgcdc_config_set(cfg, "sink.nats.timeout", "1ms", err, sizeof(err)),
                     PGCDC_ERR_INVALID);
    assert_int_equal(pgcdc_config_set(cfg, "sink.nats.nope", "1", err, sizeof(err)),
                     PGCDC_ERR_INVALID);
    assert_int_equal(pgcdc_config_set(cfg, "sink.nats.duplicate_window", "10m", err, sizeof(err)),
                     PGCDC_OK);
    pgcdc_config_free(cfg);
}

/* Properties that only open can judge: refused there, before connecting (nobody listens). */
static void test_refused_at_open(void **state)
{
    static const char *const cases[][4] = {
        {"subject_prefix", "a b", "", "subject_prefix: character ' '"},
        {"subject_prefix", "a..b", "", "empty token"},
        {"subject_prefix", "a.*", "", "subject_prefix: character '*'"},
        {"password", "s3cret", "", "needs sink.nats.user"},
        {"create_stream", "true", "", "needs sink.nats.stream"},
        {"create_stream", "true", "/x.${table}", "must start with \"${prefix}.\""},
    };
    const char *db = tl_fresh_db("n_open");

    (void)state;
    tl_sql(db, "CREATE TABLE t (id int PRIMARY KEY)");
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char uri[128];
        char key[64];
        char err[512];
        pgcdc_config *cfg;

        snprintf(uri, sizeof(uri), "nats://127.0.0.1:%d%s", tl_free_port(), cases[i][2]);
        snprintf(key, sizeof(key), "sink.nats.%s", cases[i][0]);
        cfg = sink_config(db, "s_n_open", "p_n_open", "t", uri, NULL);
        set(cfg, key, cases[i][1]);
        if (strstr(cases[i][3], "${prefix}") != NULL)
            set(cfg, "sink.nats.stream", "CDC");
        assert_int_not_equal(tl_start_only(cfg, err, sizeof(err)), PGCDC_OK);
        if (strstr(err, cases[i][3]) == NULL)
            fail_msg("%s=%s: \"%s\" lacks \"%s\"", key, cases[i][1], err, cases[i][3]);
        assert_null(strchr(err, '\n'));
        assert_null(strstr(err, "s3cret"));
        pgcdc_config_free(cfg);
    }
}

/* The command line: --sink nats://..., the stream made by the sink. */
static void test_cli(void **state)
{
    const char *db = tl_fresh_db("n_cli");
    const char *tool = tt_tool();
    char endpos[32];
    char uri[256];
    ns_server srv;
    ns_stream st;

    (void)state;
    ns_start(&srv, NULL);
    snprintf(uri, sizeof(uri), "%s/${prefix}.cli.${table}", srv.uri);
    tl_sql(db, "CREATE TABLE t (id int PRIMARY KEY, v text)");
    make_slot(db, "s_n_cli", "p_n_cli", "t");
    for (int i = 0; i < 30; i++)
        tl_sql(db, "INSERT INTO t VALUES (%d, 'c')", i + 1);
    pgcdc_lsn_format(tl_current_lsn(db), endpos, sizeof(endpos));
    assert_int_equal(tt_run((const char *[]){tool, "-d", "dbname=n_cli", "-S", "s_n_cli", "-P",
                                             "p_n_cli", "-t", "t", "-E", endpos, "-q", "--sink",
                                             uri, "-X", "sink.nats.stream=CLI", "-X",
                                             "sink.nats.create_stream=true", NULL}),
                     0);
    tt_cleanup();
    ns_read(&srv, "CLI", &st);
    assert_int_equal(st.n, 30);
    for (size_t i = 0; i < st.n; i++) {
        json_t *doc = check_msg(&st.m[i]);

        tl_assert_str(st.m[i].subject, "pgcdc.cli.t");
        assert_int_equal(event_id(doc), (long)i + 1);
        json_decref(doc);
    }
    ns_stream_free(&st);
    ns_stop(&srv);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_refused_before_connecting),
        cmocka_unit_test(test_refused_at_open),
        cmocka_unit_test(test_messages),
        cmocka_unit_test(test_replay_is_dropped),
        cmocka_unit_test(test_schema_change),
        cmocka_unit_test(test_snapshot_rows),
        cmocka_unit_test(test_refusal_halts_or_dead_letters),
        cmocka_unit_test(test_token),
        cmocka_unit_test(test_cli),
        cmocka_unit_test(test_down_stop_and_give_up),
        cmocka_unit_test(test_killed_during_load),
    };

    /* PGCDC_TEST_FILTER=test_name runs that test alone. */
    if (getenv("PGCDC_TEST_FILTER") != NULL)
        cmocka_set_test_filter(getenv("PGCDC_TEST_FILTER"));
    return cmocka_run_group_tests(tests, NULL, NULL);
}
