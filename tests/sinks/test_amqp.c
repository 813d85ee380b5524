/*
 * The amqp sink against one real rabbitmq-server the test starts for its
 * whole run (it starts slowly), its queues read back with basic.get: bodies,
 * message IDs, persistence, routing keys, the default exchange; refusals
 * (wrong password, no such exchange or vhost, unroutable with mandatory)
 * halting or going to the dead-letter file; initial snapshot rows numbered
 * uniquely; the node killed -9 and restarted during a load (every change
 * there at least once, its message ID telling duplicates apart); giving up
 * after max_elapsed; URIs refused before anything connects; the command line.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "amqp_srv.h"
#include "testlib.h"
#include "tool.h"

/* How long a test waits for something that must happen (it never asserts a duration). */
#define WAIT_MS (180 * 1000)

static rq_server srv;

/* Log lines of the sink's kinds, counted. */
typedef struct logs {
    pthread_mutex_t mu;
    int retrying;
    int again;
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

/* A worker to the end position with the sink and properties ("k=v" pairs, NULL-ended). */
static int run_to_end(const char *db, const char *slot, const char *pub, const char *uri,
                      uint64_t end, const char *const *props, char *msg, size_t size)
{
    pgcdc_config *cfg = tl_config(db, slot, pub, "t,u");
    pgcdc_worker *w;
    int r;

    set(cfg, "sink", uri);
    for (; props != NULL && *props != NULL; props += 2)
        set(cfg, props[0], props[1]);
    pgcdc_config_set_endpos(cfg, end);
    w = pgcdc_worker_new(cfg);
    r = pgcdc_worker_start(w);
    if (r == PGCDC_OK)
        r = pgcdc_worker_run(w);
    snprintf(msg, size, "%s", pgcdc_worker_errmsg(w));
    pgcdc_worker_free(w);
    pgcdc_config_free(cfg);
    return r;
}

static void run_ok(const char *db, const char *slot, const char *pub, const char *uri, uint64_t end,
                   const char *const *props)
{
    char msg[1024];

    if (run_to_end(db, slot, pub, uri, end, props, msg, sizeof(msg)) != PGCDC_OK)
        fail_msg("run: %s", msg);
}

static const char *jstr(json_t *doc, const char *name)
{
    const char *s = json_string_value(json_object_get(doc, name));

    return s != NULL ? s : "";
}

/* The row id of an event (new row, else old row). */
static long event_id(json_t *doc)
{
    json_t *row = json_object_get(doc, "new");

    if (!json_is_object(row))
        row = json_object_get(doc, "old");
    return (long)json_integer_value(json_object_get(row, "id"));
}

/* A message as the sink publishes it: persistent JSON, its ID the event's commit_lsn:seq. */
static json_t *check_msg(const rq_msg *m)
{
    json_t *doc = tt_parse(m->body);
    char id[64];

    snprintf(id, sizeof(id), "%s:%lld", jstr(doc, "commit_lsn"),
             (long long)json_integer_value(json_object_get(doc, "seq")));
    assert_non_null(m->message_id);
    tl_assert_str(m->message_id, id);
    assert_int_equal(m->delivery_mode, 2);
    assert_non_null(m->content_type);
    tl_assert_str(m->content_type, "application/json");
    return doc;
}

/* Every kind of change through a topic exchange; a routing key template on the default one. */
static void test_messages(void **state)
{
    const char *db = tl_fresh_db("a_msgs");
    static const char *const ops[] = {"INSERT", "INSERT", "UPDATE", "DELETE", "TRUNCATE"};
    static const char *const props[] = {"sink.amqp.routing_key", "q_${table}", NULL};
    char uri[256];
    rq_msgs t;
    rq_msgs all;
    json_t *doc;

    (void)state;
    rq_queue(&srv, "cdc", "all_changes", "pgcdc.public.*");
    rq_queue(&srv, "", "q_t", "");
    snprintf(uri, sizeof(uri), "%s/cdc", srv.uri);
    tl_sql(db, "CREATE TABLE t (id int PRIMARY KEY, v text)");
    tl_sql(db, "CREATE TABLE u (id int PRIMARY KEY)");
    make_slot(db, "s_a_msgs", "p_a_msgs", "t,u");
    tl_sql(db, "BEGIN; INSERT INTO t VALUES (1, 'a'), (2, 'b'); INSERT INTO u VALUES (7); COMMIT");
    tl_sql(db, "UPDATE t SET v = 'c' WHERE id = 1");
    tl_sql(db, "DELETE FROM t WHERE id = 2");
    tl_sql(db, "TRUNCATE t");
    run_ok(db, "s_a_msgs", "p_a_msgs", uri, tl_current_lsn(db), NULL);

    rq_read(&srv, "all_changes", &all);
    assert_int_equal(all.n, 6);
    for (size_t i = 0, k = 0; i < all.n; i++) {
        const char *table;

        doc = check_msg(&all.m[i]);
        table = jstr(doc, "table");
        tl_assert_str(all.m[i].exchange, "cdc");
        if (strcmp(table, "u") == 0) {
            /* The first transaction's third change. */
            tl_assert_str(all.m[i].routing_key, "pgcdc.public.u");
            assert_int_equal(json_integer_value(json_object_get(doc, "seq")), 2);
        } else {
            tl_assert_str(all.m[i].routing_key, "pgcdc.public.t");
            tl_assert_str(jstr(doc, "op"), ops[k]);
            if (k < 2)
                assert_int_equal(event_id(doc), (long)k + 1);
            k++;
        }
        json_decref(doc);
    }
    rq_msgs_free(&all);

    /* The same changes again through a second slot, on the default exchange: queue q_t. */
    tl_sql(db, "INSERT INTO t VALUES (3, 'd')");
    make_slot(db, "s_a_msgs2", "p_a_msgs", "t,u");
    tl_sql(db, "INSERT INTO t VALUES (4, 'e')");
    run_ok(db, "s_a_msgs2", "p_a_msgs", srv.uri, tl_current_lsn(db), props);
    rq_read(&srv, "q_t", &t);
    assert_int_equal(t.n, 1);
    doc = check_msg(&t.m[0]);
    tl_assert_str(t.m[0].exchange, "");
    tl_assert_str(t.m[0].routing_key, "q_t");
    assert_int_equal(event_id(doc), 4);
    json_decref(doc);
    rq_msgs_free(&t);
}

/*
 * Refused by the broker for good: a wrong password, a vhost or an exchange
 * that does not exist: the run fails at once with one line, nothing shown
 * of the password, nothing confirmed.
 */
static void test_refusals(void **state)
{
    const char *db = tl_fresh_db("a_refuse");
    static const char *const vhost[] = {"sink.amqp.vhost", "nope", NULL};
    char uri[256];
    char msg[1024];
    uint64_t end;

    (void)state;
    tl_sql(db, "CREATE TABLE t (id int PRIMARY KEY)");
    tl_sql(db, "CREATE TABLE u (id int PRIMARY KEY)");
    make_slot(db, "s_a_refuse", "p_a_refuse", "t,u");
    tl_sql(db, "INSERT INTO t VALUES (1)");
    end = tl_current_lsn(db);

    snprintf(uri, sizeof(uri), "amqp://guest:s3cr3t-wrong@127.0.0.1:%d/amq.topic", srv.port);
    assert_int_equal(run_to_end(db, "s_a_refuse", "p_a_refuse", uri, end, NULL, msg, sizeof(msg)),
                     PGCDC_ERR_SINK);
    print_message("wrong password: %s\n", msg);
    assert_non_null(strstr(msg, "ACCESS_REFUSED"));
    assert_null(strstr(msg, "s3cr3t"));
    assert_null(strchr(msg, '\n'));

    snprintf(uri, sizeof(uri), "%s/no_such_exchange", srv.uri);
    assert_int_equal(run_to_end(db, "s_a_refuse", "p_a_refuse", uri, end, NULL, msg, sizeof(msg)),
                     PGCDC_ERR_SINK);
    print_message("no exchange: %s\n", msg);
    assert_non_null(strstr(msg, "NOT_FOUND"));
    assert_non_null(strstr(msg, "no_such_exchange"));
    assert_null(strchr(msg, '\n'));

    assert_int_equal(
        run_to_end(db, "s_a_refuse", "p_a_refuse", srv.uri, end, vhost, msg, sizeof(msg)),
        PGCDC_ERR_SINK);
    print_message("no vhost: %s\n", msg);
    assert_non_null(strstr(msg, "nope"));
    assert_null(strchr(msg, '\n'));
    assert_true(tl_slot_confirmed(db, "s_a_refuse") < end);
}

/*
 * An exchange no queue is bound to: with mandatory (the default) the message
 * is published again until max_elapsed, then halts the run (nothing
 * confirmed) or goes to the dead-letter file; without it the broker drops the
 * message and the run goes on.
 */
static void test_unroutable(void **state)
{
    const char *db = tl_fresh_db("a_unroutable");
    static const char *const mandatory[] = {"sink.amqp.max_elapsed", "1s", NULL};
    static const char *const dropped[] = {"sink.amqp.mandatory", "false", NULL};
    char dlq[] = "/tmp/pgcdc-amqp-dlq-XXXXXX";
    const char *const dead[] = {"sink.amqp.max_elapsed", "1s", "on_error", "dead_letter",
                                "dead_letter",           dlq,  NULL};
    char uri[256];
    char msg[1024];
    uint64_t before;
    uint64_t end;
    json_t *lines;
    int fd = mkstemp(dlq);

    (void)state;
    assert_true(fd >= 0);
    close(fd);
    unlink(dlq);
    rq_exchange(&srv, "nowhere");
    snprintf(uri, sizeof(uri), "%s/nowhere", srv.uri);
    tl_sql(db, "CREATE TABLE t (id int PRIMARY KEY)");
    tl_sql(db, "CREATE TABLE u (id int PRIMARY KEY)");
    make_slot(db, "s_a_unr", "p_a_unr", "t,u");
    make_slot(db, "s_a_unr2", "p_a_unr", "t,u");
    before = tl_current_lsn(db);
    tl_sql(db, "INSERT INTO t VALUES (1)");
    end = tl_current_lsn(db);

    assert_int_equal(run_to_end(db, "s_a_unr", "p_a_unr", uri, end, mandatory, msg, sizeof(msg)),
                     PGCDC_ERR_SINK);
    print_message("unroutable: %s\n", msg);
    assert_non_null(strstr(msg, "NO_ROUTE"));
    assert_non_null(strstr(msg, "pgcdc.public.t"));
    assert_non_null(strstr(msg, "nothing after the last confirmed position"));
    assert_null(strchr(msg, '\n'));
    assert_true(tl_slot_confirmed(db, "s_a_unr") < end);

    run_ok(db, "s_a_unr", "p_a_unr", uri, end, dead);
    assert_true(tl_slot_confirmed(db, "s_a_unr") > before);
    lines = tt_parse_lines(dlq);
    assert_int_equal(json_array_size(lines), 1);
    {
        json_t *l = json_array_get(lines, 0);
        json_t *doc = tt_parse(jstr(l, "payload"));

        assert_non_null(strstr(jstr(json_object_get(l, "dead_letter"), "error"), "NO_ROUTE"));
        assert_int_equal(event_id(doc), 1);
        json_decref(doc);
    }
    json_decref(lines);
    unlink(dlq);

    /* Not mandatory: dropped by the broker, as RabbitMQ does, and confirmed. */
    run_ok(db, "s_a_unr2", "p_a_unr", uri, end, dropped);
    assert_true(tl_slot_confirmed(db, "s_a_unr2") > before);
}

/* An initial snapshot in chunks: READ rows get message IDs numbered on across chunks. */
static void test_snapshot_rows(void **state)
{
    enum { ROWS = 500 };
    const char *db = tl_fresh_db("a_snap");
    char statefile[] = "/tmp/pgcdc-amqp-snap-XXXXXX";
    pgcdc_config *cfg;
    tl_runner run;
    rq_msgs st;
    char uri[256];
    uint64_t end = 0;
    char *seen;
    int fd = mkstemp(statefile);

    (void)state;
    assert_true(fd >= 0);
    close(fd);
    unlink(statefile);
    rq_queue(&srv, "snap", "snap_q", "#");
    tl_sql(db, "CREATE TABLE t (id int PRIMARY KEY, v text)");
    tl_sql(db, "CREATE TABLE u (id int PRIMARY KEY)");
    tl_sql(db, "INSERT INTO t SELECT g, 'r' FROM generate_series(1, %d) g", ROWS);
    snprintf(uri, sizeof(uri), "%s/snap", srv.uri);
    cfg = tl_config(db, "s_a_snap", "p_a_snap", "t");
    set(cfg, "sink", uri);
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
    if (pgcdc_worker_confirmed_lsn(run.w) < end)
        rq_print_log(&srv);
    assert_true(pgcdc_worker_confirmed_lsn(run.w) >= end);
    pgcdc_worker_stop(run.w);
    assert_int_equal(tl_runner_join(&run), PGCDC_OK);
    pgcdc_worker_free(run.w);

    rq_read(&srv, "snap_q", &st);
    assert_int_equal(st.n, ROWS + 5);
    seen = calloc(ROWS + 6, 1);
    assert_non_null(seen);
    for (size_t i = 0; i < st.n; i++) {
        json_t *doc = tt_parse(st.m[i].body);
        long id = event_id(doc);
        char want[64];

        assert_true(id >= 1 && id <= ROWS + 5 && !seen[id]);
        seen[id] = 1;
        if (i < ROWS) {
            /* READ rows: one position, numbered 0 to ROWS - 1 across the chunks. */
            tl_assert_str(jstr(doc, "op"), "READ");
            snprintf(want, sizeof(want), "%s:%zu", jstr(doc, "commit_lsn"), i);
            tl_assert_str(st.m[i].message_id, want);
        } else {
            json_decref(check_msg(&st.m[i]));
        }
        json_decref(doc);
    }
    free(seen);
    rq_msgs_free(&st);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * kill -9 of the node during a load, started again on its data: the sink
 * reconnects and publishes again what was not confirmed; nothing past it is
 * confirmed meanwhile; at the end the durable queue holds every row at
 * least once, and as many distinct message IDs as changes.
 */
static void test_killed_during_load(void **state)
{
    const char *db = tl_fresh_db("a_kill");
    tl_loader ld = {.db = db, .rows = 3};
    pgcdc_config *cfg;
    tl_runner run;
    rq_msgs q;
    logs lg;
    uint64_t end;
    long rows;
    char uri[256];
    char *seen;
    char **ids;
    size_t distinct = 0;

    (void)state;
    memset(&lg, 0, sizeof(lg));
    pthread_mutex_init(&lg.mu, NULL);
    atomic_init(&ld.done, 0);
    atomic_init(&ld.stop, 0);
    rq_queue(&srv, "kill", "kill_q", "#");
    snprintf(uri, sizeof(uri), "%s/kill", srv.uri);
    tl_sql(db, "CREATE TABLE t (id int PRIMARY KEY, v text)");
    make_slot(db, "s_a_kill", "p_a_kill", "t");
    cfg = tl_config(db, "s_a_kill", "p_a_kill", "t");
    set(cfg, "sink", uri);
    /* Small batches: many round trips, so that the kill finds messages unconfirmed. */
    set(cfg, "sink.amqp.max_inflight", "16kB");
    set(cfg, "sink.amqp.timeout", "3s");
    pgcdc_config_set_log_cb(cfg, on_log, &lg);
    tl_runner_start(&run, cfg);
    pgcdc_config_free(cfg);
    assert_int_equal(pthread_create(&ld.thread, NULL, tl_load_main, &ld), 0);
    tl_wait_loaded(&ld, 500);
    rq_kill(&srv);
    tl_sleep_ms(1000);
    end = tl_current_lsn(db);
    tl_sleep_ms(500);
    /* Down: what committed meanwhile is not confirmed. */
    assert_true(pgcdc_worker_confirmed_lsn(run.w) < end);
    rq_restart(&srv);
    rq_wait_queue(&srv, "kill", "kill_q", "#");
    for (int i = 0; i < WAIT_MS / 10 && again(&lg) < 1; i++)
        tl_sleep_ms(10);
    assert_int_equal(again(&lg), 1);
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
    assert_true(tl_slot_confirmed(db, "s_a_kill") >= end);

    rows = (long)atomic_load(&ld.done) * ld.rows;
    rq_read(&srv, "kill_q", &q);
    seen = calloc((size_t)rows + 1, 1);
    ids = calloc(q.n + 1, sizeof(*ids));
    assert_true(seen != NULL && ids != NULL);
    for (size_t i = 0; i < q.n; i++) {
        json_t *doc = check_msg(&q.m[i]);
        long id = event_id(doc);

        assert_true(id >= 1 && id <= rows);
        seen[id] = 1;
        ids[i] = q.m[i].message_id;
        json_decref(doc);
    }
    for (long id = 1; id <= rows; id++) {
        if (!seen[id])
            fail_msg("row %ld is missing from the queue", id);
    }
    qsort(ids, q.n, sizeof(*ids), cmp_str);
    for (size_t i = 0; i < q.n; i++)
        distinct += i == 0 || strcmp(ids[i], ids[i - 1]) != 0;
    print_message("%ld rows, %zu messages, %zu distinct message IDs\n", rows, q.n, distinct);
    assert_int_equal(distinct, (size_t)rows);
    assert_int_equal(lg.retrying, 1);
    free(ids);
    free(seen);
    rq_msgs_free(&q);
    pthread_mutex_destroy(&lg.mu);
}

/* Nobody on the port for longer than max_elapsed: the run fails, saying so. */
static void test_give_up(void **state)
{
    const char *db = tl_fresh_db("a_down");
    static const char *const props[] = {"sink.amqp.max_elapsed", "1s", NULL};
    char uri[128];
    char msg[1024];
    uint64_t end;

    (void)state;
    tl_sql(db, "CREATE TABLE t (id int PRIMARY KEY)");
    tl_sql(db, "CREATE TABLE u (id int PRIMARY KEY)");
    make_slot(db, "s_a_down", "p_a_down", "t,u");
    tl_sql(db, "INSERT INTO t VALUES (1)");
    end = tl_current_lsn(db);
    snprintf(uri, sizeof(uri), "amqp://user:pw@127.0.0.1:%d", tl_free_port());
    assert_int_equal(run_to_end(db, "s_a_down", "p_a_down", uri, end, props, msg, sizeof(msg)),
                     PGCDC_ERR_SINK);
    print_message("down: %s\n", msg);
    assert_non_null(strstr(msg, "could not publish to amqp at"));
    assert_null(strstr(msg, "pw"));
    assert_null(strchr(msg, '\n'));
    assert_true(tl_slot_confirmed(db, "s_a_down") < end);
}

/* URIs and properties refused with a one-line reason before anything connects. */
static void test_refused_before_connecting(void **state)
{
    static const char *const bad[][2] = {
        {"amqp://", "no host"},
        {"amqp://:5672/x", "no host"},
        {"amqp://u:p@/x", "no host"},
        {"amqp://localhost:0/x", "bad port"},
        {"amqp://localhost:99999", "bad port"},
        {"amqp://localhost:x", "bad port"},
        {"amqp://a b", "bad host name"},
        {"amqp://localhost/ex/tra", "bad exchange name"},
        {"amqp://localhost/a%zz", "bad exchange name"},
        {"amqp://localhost/a?heartbeat=5", "no query"},
        {"amqp://u:%zzsecret@localhost/x", "percent-encoding"},
    };
    static const char *const good[] = {
        "amqp://localhost",
        "amqp://localhost:5672/",
        "amqp://user:p%40ss@127.0.0.1:1/amq.topic",
        "amqp://u@h/cdc.events:v1",
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
        assert_null(strstr(msg, "secret"));
    }
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        if (pgcdc_config_add_sink(cfg, good[i]) != PGCDC_OK)
            fail_msg("%s: %s", good[i], pgcdc_config_errmsg(cfg));
    }
    assert_int_equal(pgcdc_config_set(cfg, "sink.amqp.mandatory", "maybe", err, sizeof(err)),
                     PGCDC_ERR_INVALID);
    assert_int_equal(pgcdc_config_set(cfg, "sink.amqp.max_inflight", "12", err, sizeof(err)),
                     PGCDC_ERR_INVALID);
    assert_int_equal(pgcdc_config_set(cfg, "sink.amqp.nope", "1", err, sizeof(err)),
                     PGCDC_ERR_INVALID);
    assert_int_equal(pgcdc_config_set(cfg, "sink.amqp.heartbeat", "30s", err, sizeof(err)),
                     PGCDC_OK);
    pgcdc_config_free(cfg);
}

/* A bad routing key template is refused when the sink opens, before it connects. */
static void test_bad_template(void **state)
{
    const char *db = tl_fresh_db("a_tmpl");
    static const char *const props[] = {"sink.amqp.routing_key", "${nope}.x", NULL};
    char msg[1024];
    char uri[128];

    (void)state;
    tl_sql(db, "CREATE TABLE t (id int PRIMARY KEY)");
    tl_sql(db, "CREATE TABLE u (id int PRIMARY KEY)");
    make_slot(db, "s_a_tmpl", "p_a_tmpl", "t,u");
    tl_sql(db, "INSERT INTO t VALUES (1)");
    snprintf(uri, sizeof(uri), "amqp://127.0.0.1:%d", tl_free_port());
    assert_int_not_equal(
        run_to_end(db, "s_a_tmpl", "p_a_tmpl", uri, tl_current_lsn(db), props, msg, sizeof(msg)),
        PGCDC_OK);
    assert_non_null(strstr(msg, "unknown placeholder \"${nope}\""));
    assert_null(strchr(msg, '\n'));
}

/* The command line: --sink amqp://..., a routing key template of its own; a large body. */
static void test_cli(void **state)
{
    const char *db = tl_fresh_db("a_cli");
    const char *tool = tt_tool();
    char endpos[32];
    char uri[256];
    rq_msgs q;

    (void)state;
    rq_queue(&srv, "cli", "cli_q", "cli.#");
    snprintf(uri, sizeof(uri), "%s/cli", srv.uri);
    tl_sql(db, "CREATE TABLE t (id int PRIMARY KEY, v text)");
    make_slot(db, "s_a_cli", "p_a_cli", "t");
    for (int i = 0; i < 29; i++)
        tl_sql(db, "INSERT INTO t VALUES (%d, 'c')", i + 1);
    /* A body of several frames. */
    tl_sql(db, "INSERT INTO t VALUES (30, repeat('x', 20000))");
    pgcdc_lsn_format(tl_current_lsn(db), endpos, sizeof(endpos));
    assert_int_equal(
        tt_run((const char *[]){tool, "-d", "dbname=a_cli", "-S", "s_a_cli", "-P", "p_a_cli", "-t",
                                "t", "-E", endpos, "-q", "--sink", uri, "-X",
                                "sink.amqp.routing_key=cli.${table}", NULL}),
        0);
    tt_cleanup();
    rq_read(&srv, "cli_q", &q);
    assert_int_equal(q.n, 30);
    for (size_t i = 0; i < q.n; i++) {
        json_t *doc = check_msg(&q.m[i]);

        tl_assert_str(q.m[i].routing_key, "cli.t");
        assert_int_equal(event_id(doc), (long)i + 1);
        assert_int_equal(
            strlen(json_string_value(json_object_get(json_object_get(doc, "new"), "v"))),
            i == 29 ? 20000 : 1);
        json_decref(doc);
    }
    rq_msgs_free(&q);
}

static int start_server(void **state)
{
    (void)state;
    rq_start(&srv);
    return 0;
}

static int stop_server(void **state)
{
    (void)state;
    rq_stop(&srv);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_refused_before_connecting),
        cmocka_unit_test(test_bad_template),
        cmocka_unit_test(test_messages),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_unroutable),
        cmocka_unit_test(test_snapshot_rows),
        cmocka_unit_test(test_cli),
        cmocka_unit_test(test_give_up),
        cmocka_unit_test(test_killed_during_load),
    };

    /* PGCDC_TEST_FILTER=test_name runs that test alone. */
    if (getenv("PGCDC_TEST_FILTER") != NULL)
        cmocka_set_test_filter(getenv("PGCDC_TEST_FILTER"));
    return cmocka_run_group_tests(tests, start_server, stop_server);
}
