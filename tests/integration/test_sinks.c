/*
 * The public extension points against a real server: sinks of the user's own
 * (deferred acknowledgement from another thread, several at once, retries, the
 * error policy, events' data, key and route), the file sink, the handler
 * struct, stats from another thread, and on which thread callbacks run.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "testlib.h"

/* How long a test waits for something that must happen (it never asserts a duration). */
#define WAIT_US (60 * 1000 * 1000)

/* A sink of the test's: records what it gets, defers commits or fails as told. */
typedef struct rec_sink {
    pthread_mutex_t mu;
    int defer_commits;  /* keep commit tokens for the test to acknowledge */
    int fail_first;     /* fail this many writes with -5 before succeeding */
    int fail_always;    /* fail every change write with this code (0: never) */
    int opened, closed; /* open and close calls */
    int begins, changes, commits, flushes;
    uint64_t tokens[64]; /* deferred commit tokens */
    uint64_t ends[64];   /* the deferred transactions' end positions */
    int ntokens;
    char lines[8][1024]; /* the first change events' data */
    char keys[8][256];
    char routes[8][128];
    int nlines;
    pthread_t writer_thread;
} rec_sink;

static void rec_init(rec_sink *s)
{
    memset(s, 0, sizeof(*s));
    pthread_mutex_init(&s->mu, NULL);
}

static int rec_open(pgcdc_sink *sink, const char *uri)
{
    rec_sink *s = pgcdc_sink_opaque(sink);

    assert_string_equal(uri, "rec:one");
    pgcdc_sink_set_state(sink, s);
    s->opened++;
    return PGCDC_OK;
}

static int rec_write(pgcdc_sink *sink, const pgcdc_sink_event *ev)
{
    rec_sink *s = pgcdc_sink_state(sink);
    const char *data;
    const char *key;
    size_t len;
    size_t klen;
    int r = PGCDC_HANDLED;

    s->writer_thread = pthread_self();
    assert_int_equal(pgcdc_sink_event_data(ev, &data, &len), PGCDC_OK);
    assert_int_equal(strlen(data), len);
    assert_non_null(pgcdc_sink_event_txn(ev));
    assert_int_equal(pgcdc_sink_event_token(ev), pgcdc_txn_token(pgcdc_sink_event_txn(ev)));
    pthread_mutex_lock(&s->mu);
    switch (pgcdc_sink_event_kind(ev)) {
    case PGCDC_EVENT_BEGIN:
        assert_null(pgcdc_sink_event_change(ev));
        assert_null(pgcdc_sink_event_route(ev));
        s->begins++;
        break;
    case PGCDC_EVENT_CHANGE:
        assert_non_null(pgcdc_sink_event_change(ev));
        if (s->fail_always != 0) {
            r = pgcdc_sink_fail(sink, s->fail_always, "the test's sink refuses id %d", s->changes);
            break;
        }
        if (s->fail_first > 0) {
            s->fail_first--;
            r = -5;
            break;
        }
        assert_int_equal(pgcdc_sink_event_key(ev, &key, &klen), PGCDC_OK);
        if (s->nlines < 8) {
            snprintf(s->lines[s->nlines], sizeof(s->lines[0]), "%.*s", (int)len, data);
            snprintf(s->keys[s->nlines], sizeof(s->keys[0]), "%.*s", (int)klen, key);
            snprintf(s->routes[s->nlines], sizeof(s->routes[0]), "%s", pgcdc_sink_event_route(ev));
            s->nlines++;
        }
        s->changes++;
        break;
    case PGCDC_EVENT_COMMIT:
        s->commits++;
        if (s->defer_commits && s->ntokens < 64) {
            s->ends[s->ntokens] = pgcdc_txn_end_lsn(pgcdc_sink_event_txn(ev));
            s->tokens[s->ntokens++] = pgcdc_sink_event_token(ev);
            r = PGCDC_DEFER;
        }
        break;
    }
    pthread_mutex_unlock(&s->mu);
    return r;
}

static int rec_flush(pgcdc_sink *sink)
{
    rec_sink *s = pgcdc_sink_state(sink);

    s->flushes++;
    return PGCDC_OK;
}

static void rec_close(pgcdc_sink *sink)
{
    rec_sink *s = pgcdc_sink_opaque(sink);

    s->closed++;
}

/* ABI 1, which has no reopen: a sink built for it keeps working. */
static const pgcdc_sink_ops rec_ops = {
    .abi = 1,
    .kind = "rec",
    .open = rec_open,
    .write = rec_write,
    .flush = rec_flush,
    .close = rec_close,
};

/* Waits until *counter reaches n (under the sink's lock); fails after WAIT_US. */
static void wait_count(rec_sink *s, const int *counter, int n)
{
    for (long waited = 0; waited < WAIT_US; waited += 10000) {
        int now;

        pthread_mutex_lock(&s->mu);
        now = *counter;
        pthread_mutex_unlock(&s->mu);
        if (now >= n)
            return;
        usleep(10000);
    }
    fail_msg("waited in vain for %d (have %d)", n, *counter);
}

static void wait_confirmed(pgcdc_worker *w, uint64_t lsn)
{
    for (long waited = 0; waited < WAIT_US; waited += 10000) {
        pgcdc_stats st;

        assert_int_equal(pgcdc_worker_stats(w, &st), PGCDC_OK);
        if (st.confirmed_lsn >= lsn)
            return;
        usleep(10000);
    }
    fail_msg("the confirmed position never reached the acknowledged commit");
}

/* The server's insert position: past every transaction committed so far. */
static uint64_t lsn_now(const char *db)
{
    return tl_current_lsn(db);
}

/*
 * Two sinks: the file sink, which acknowledges once its lines are durable,
 * and one that defers commits until the test acknowledges them from its own
 * thread.  The slot moves only past what both acknowledged.
 */
static void test_confirm_waits_for_every_sink(void **state)
{
    const char *db = tl_fresh_db("t_sinks");
    char path[] = "/tmp/pgcdc-sink-XXXXXX";
    char err[256];
    pgcdc_config *cfg;
    rec_sink rec;
    tl_runner run;
    uint64_t start;
    uint64_t after1;
    uint64_t after2;
    pgcdc_stats st;
    char uri[128];
    int fd = mkstemp(path);

    (void)state;
    close(fd);
    rec_init(&rec);
    rec.defer_commits = 1;
    tl_sql(db, "CREATE TABLE t (id int PRIMARY KEY, v text)");
    cfg = tl_config(db, "s_sinks", "p_sinks", "t");
    /* Create the slot first, so that the transactions below are after its start. */
    assert_int_equal(tl_start_only(cfg, err, sizeof(err)), PGCDC_OK);
    start = tl_slot_confirmed(db, "s_sinks");
    snprintf(uri, sizeof(uri), "file:%s", path);
    assert_int_equal(pgcdc_config_set(cfg, "sink", uri, err, sizeof(err)), PGCDC_OK);
    assert_int_equal(pgcdc_config_set(cfg, "sink.file.flush-interval", "0", err, sizeof(err)),
                     PGCDC_OK);
    assert_int_equal(pgcdc_config_add_sink_ops(cfg, &rec_ops, "rec:one", &rec), PGCDC_OK);
    assert_int_equal(pgcdc_config_set(cfg, "format", "debezium", err, sizeof(err)), PGCDC_OK);
    tl_sql(db, "INSERT INTO t VALUES (1, 'a'), (2, 'b')");
    after1 = lsn_now(db);
    tl_sql(db, "INSERT INTO t VALUES (3, 'c')");
    after2 = lsn_now(db);
    pgcdc_config_set_endpos(cfg, after2);
    tl_runner_start(&run, cfg);
    pgcdc_config_free(cfg);

    /* Both transactions are in both sinks; neither is confirmed: one sink holds them. */
    wait_count(&rec, &rec.commits, 2);
    assert_int_equal(pgcdc_worker_stats(run.w, &st), PGCDC_OK);
    assert_true(st.confirmed_lsn < after1);
    assert_true(st.received_lsn >= after1);
    assert_int_equal(st.state, PGCDC_STATE_STREAMING);
    assert_true(tl_slot_confirmed(db, "s_sinks") < after1);
    assert_int_equal(tl_count_lines(path), 3);

    /* The first acknowledged (from this thread): the slot moves past it, not past the second. */
    pthread_mutex_lock(&rec.mu);
    assert_int_equal(rec.ntokens, 2);
    pthread_mutex_unlock(&rec.mu);
    /*
     * Other tests write WAL meanwhile, so the server's position after a commit
     * may be past its end: the transactions' own end positions are what counts.
     */
    assert_true(rec.ends[0] <= after1 && after1 < rec.ends[1]);
    assert_int_equal(pgcdc_worker_ack(run.w, rec.tokens[0]), PGCDC_OK);
    wait_confirmed(run.w, rec.ends[0]);
    assert_int_equal(pgcdc_worker_stats(run.w, &st), PGCDC_OK);
    assert_true(st.confirmed_lsn < rec.ends[1]);

    /* The second: the end position is reached, the run ends. */
    assert_int_equal(pgcdc_worker_ack(run.w, rec.tokens[1]), PGCDC_OK);
    assert_int_equal(tl_runner_join(&run), PGCDC_OK);
    assert_int_equal(pgcdc_worker_stats(run.w, &st), PGCDC_OK);
    assert_int_equal(st.state, PGCDC_STATE_STOPPED);
    assert_int_equal(st.transactions, 2);
    assert_int_equal(st.changes, 3);
    assert_true(st.bytes > 0);
    assert_true(st.confirmed_lsn >= rec.ends[0] && st.confirmed_lsn > start);
    assert_true(st.last_commit_time > 0);
    /* Callbacks ran on the thread that runs the worker. */
    assert_true(pthread_equal(rec.writer_thread, run.run_thread));
    pgcdc_worker_free(run.w);
    assert_int_equal(rec.opened, 1);
    assert_int_equal(rec.closed, 1);
    assert_true(rec.flushes > 0);

    /* The events as the sink saw them: Debezium envelopes, keys, routes. */
    assert_int_equal(rec.nlines, 3);
    for (int i = 0; i < 3; i++) {
        json_error_t jerr;
        json_t *doc = json_loads(rec.lines[i], 0, &jerr);
        char want_key[32];

        if (doc == NULL)
            fail_msg("not JSON: %s", rec.lines[i]);
        assert_string_equal(json_string_value(json_object_get(doc, "op")), "c");
        assert_int_equal(json_integer_value(json_object_get(json_object_get(doc, "after"), "id")),
                         i + 1);
        json_decref(doc);
        snprintf(want_key, sizeof(want_key), "{\"id\":%d}", i + 1);
        assert_string_equal(rec.keys[i], want_key);
        assert_string_equal(rec.routes[i], "public.t");
    }
    /* The file sink wrote the same three events, in the same format. */
    assert_int_equal(tl_count_lines(path), 3);
    unlink(path);
}

/* A sink's failure is retried, then the policy: halt, or the dead-letter file. */
static void test_sink_retries_and_policy(void **state)
{
    const char *db = tl_fresh_db("t_sinkfail");
    char dlq[] = "/tmp/pgcdc-sinkdlq-XXXXXX";
    char err[256];
    pgcdc_config *cfg;
    pgcdc_worker *w;
    pgcdc_stats st;
    rec_sink rec;
    uint64_t end;
    int fd = mkstemp(dlq);

    (void)state;
    close(fd);
    unlink(dlq);
    tl_sql(db, "CREATE TABLE t (id int PRIMARY KEY)");
    cfg = tl_config(db, "s_sinkfail", "p_sinkfail", "t");
    pgcdc_config_set_handler_retries(cfg, 3, 1);
    assert_int_equal(tl_start_only(cfg, err, sizeof(err)), PGCDC_OK);
    tl_sql(db, "INSERT INTO t VALUES (1), (2)");
    end = lsn_now(db);
    pgcdc_config_set_endpos(cfg, end);

    /* Two failures, then success: delivered, and the retries counted. */
    rec_init(&rec);
    rec.fail_first = 2;
    assert_int_equal(pgcdc_config_add_sink_ops(cfg, &rec_ops, "rec:one", &rec), PGCDC_OK);
    w = pgcdc_worker_new(cfg);
    assert_int_equal(pgcdc_worker_start(w), PGCDC_OK);
    assert_int_equal(pgcdc_worker_run(w), PGCDC_OK);
    assert_int_equal(pgcdc_worker_stats(w, &st), PGCDC_OK);
    assert_int_equal(st.retries, 2);
    assert_int_equal(rec.changes, 2);
    pgcdc_worker_free(w);
    pgcdc_config_free(cfg);

    /* Failing for good: the run halts with the sink's message, nothing confirmed past it. */
    tl_sql(db, "INSERT INTO t VALUES (3), (4)");
    end = lsn_now(db);
    cfg = tl_config(db, "s_sinkfail", "p_sinkfail", "t");
    pgcdc_config_set_handler_retries(cfg, 1, 1);
    pgcdc_config_set_endpos(cfg, end);
    rec_init(&rec);
    rec.fail_always = -7;
    assert_int_equal(pgcdc_config_add_sink_ops(cfg, &rec_ops, "rec:one", &rec), PGCDC_OK);
    w = pgcdc_worker_new(cfg);
    assert_int_equal(pgcdc_worker_start(w), PGCDC_OK);
    assert_int_equal(pgcdc_worker_run(w), -7);
    assert_non_null(strstr(pgcdc_worker_errmsg(w), "the test's sink refuses"));
    assert_non_null(strstr(pgcdc_worker_errmsg(w), "sink \"rec:one\""));
    assert_int_equal(pgcdc_worker_stats(w, &st), PGCDC_OK);
    assert_int_equal(st.state, PGCDC_STATE_FAILED);
    assert_true(st.confirmed_lsn < end);
    pgcdc_worker_free(w);

    /* An I/O failure is not retried. */
    rec_init(&rec);
    rec.fail_always = PGCDC_ERR_IO;
    w = pgcdc_worker_new(cfg);
    assert_int_equal(pgcdc_worker_start(w), PGCDC_OK);
    assert_int_equal(pgcdc_worker_run(w), PGCDC_ERR_IO);
    assert_int_equal(pgcdc_worker_stats(w, &st), PGCDC_OK);
    assert_int_equal(st.retries, 0);
    pgcdc_worker_free(w);

    /* With the dead-letter policy: both changes go to the file, and the run goes on. */
    rec_init(&rec);
    rec.fail_always = -7;
    assert_int_equal(pgcdc_config_set(cfg, "on_error", "dead_letter", err, sizeof(err)), PGCDC_OK);
    assert_int_equal(pgcdc_config_set(cfg, "dead-letter", dlq, err, sizeof(err)), PGCDC_OK);
    w = pgcdc_worker_new(cfg);
    assert_int_equal(pgcdc_worker_start(w), PGCDC_OK);
    assert_int_equal(pgcdc_worker_run(w), PGCDC_OK);
    assert_int_equal(pgcdc_worker_stats(w, &st), PGCDC_OK);
    assert_int_equal(st.dead_letters, 2);
    assert_true(st.confirmed_lsn >= end);
    pgcdc_worker_free(w);
    pgcdc_config_free(cfg);
    assert_int_equal(tl_count_lines(dlq), 2);
    {
        json_error_t jerr;
        json_t *lines = json_load_file(dlq, JSON_DISABLE_EOF_CHECK, &jerr);
        json_t *dl;

        assert_non_null(lines);
        dl = json_object_get(lines, "dead_letter");
        assert_non_null(strstr(json_string_value(json_object_get(dl, "error")), "refuses"));
        assert_non_null(json_string_value(json_object_get(dl, "at")));
        assert_int_equal(json_integer_value(json_object_get(
                             json_object_get(json_object_get(lines, "event"), "new"), "id")),
                         3);
        json_decref(lines);
    }
    unlink(dlq);
}

/* The handler struct, stats before and after, and the log hook's thread and locks. */
typedef struct hcount {
    int begins, changes, closes;
    atomic_int commits, idles; /* read by the thread that stops the worker */
    pthread_t thread;
    int logs;
    int foreign_thread_logs;
    pgcdc_worker *w;
} hcount;

static int h_begin(pgcdc_worker *w, const pgcdc_txn *txn, void *opaque)
{
    (void)w;
    (void)txn;
    ((hcount *)opaque)->begins++;
    return PGCDC_HANDLED;
}

static int h_change(pgcdc_worker *w, const pgcdc_change *c, void *opaque)
{
    (void)w;
    (void)c;
    ((hcount *)opaque)->changes++;
    return PGCDC_HANDLED;
}

static int h_commit(pgcdc_worker *w, const pgcdc_txn *txn, void *opaque)
{
    (void)w;
    (void)txn;
    atomic_fetch_add(&((hcount *)opaque)->commits, 1);
    return PGCDC_HANDLED;
}

static void h_idle(pgcdc_worker *w, void *opaque)
{
    (void)w;
    atomic_fetch_add(&((hcount *)opaque)->idles, 1);
}

/*
 * Stops the worker from another thread once both transactions are handled
 * and the worker went idle: it is idle, caught up, before it waits for more.
 */
static void *stop_when_idle(void *arg)
{
    hcount *h = arg;

    for (long waited = 0; waited < WAIT_US; waited += 10000) {
        if (atomic_load(&h->commits) >= 2 && atomic_load(&h->idles) > 0)
            break;
        usleep(10000);
    }
    pgcdc_worker_stop(h->w);
    return NULL;
}

static void h_close(pgcdc_worker *w, void *opaque)
{
    assert_non_null(w);
    ((hcount *)opaque)->closes++;
}

/*
 * Every log line: on the thread that drives the worker, and with no lock of
 * the worker's held (stats and acks lock the ledger: they would deadlock).
 */
static void h_log(pgcdc_worker *w, pgcdc_log_level level, const char *msg, void *opaque)
{
    hcount *h = opaque;
    pgcdc_stats st;

    (void)level;
    (void)msg;
    h->logs++;
    if (!pthread_equal(pthread_self(), h->thread))
        h->foreign_thread_logs++;
    assert_int_equal(pgcdc_worker_stats(w, &st), PGCDC_OK);
    pgcdc_worker_ack(w, UINT64_C(123456789));
}

static void test_handler_struct_and_stats(void **state)
{
    const char *db = tl_fresh_db("t_handler");
    char err[256];
    pgcdc_config *cfg;
    pgcdc_worker *w;
    pgcdc_stats st;
    hcount h;
    pgcdc_handler handler = {PGCDC_HANDLER_ABI, h_begin, h_change, h_commit, h_idle, h_close, &h};
    pthread_t stopper;

    (void)state;
    memset(&h, 0, sizeof(h));
    h.thread = pthread_self();
    tl_sql(db, "CREATE TABLE t (id int PRIMARY KEY)");
    cfg = tl_config(db, "s_handler", "p_handler", "t");
    assert_int_equal(tl_start_only(cfg, err, sizeof(err)), PGCDC_OK);
    tl_sql(db, "INSERT INTO t VALUES (1)");
    tl_sql(db, "INSERT INTO t VALUES (2), (3)");
    assert_int_equal(pgcdc_config_set_handler(cfg, &handler), PGCDC_OK);
    pgcdc_config_set_log_cb(cfg, h_log, &h);
    pgcdc_config_set_log_level(cfg, PGCDC_LOG_DEBUG);
    w = pgcdc_worker_new(cfg);
    pgcdc_config_free(cfg);
    assert_int_equal(pgcdc_worker_stats(w, &st), PGCDC_OK);
    assert_int_equal(st.state, PGCDC_STATE_NEW);
    assert_int_equal(st.transactions, 0);
    assert_string_equal(pgcdc_state_name(st.state), "new");
    assert_int_equal(pgcdc_worker_start(w), PGCDC_OK);
    /* No end position: it runs until the other thread stops it. */
    h.w = w;
    assert_int_equal(pthread_create(&stopper, NULL, stop_when_idle, &h), 0);
    assert_int_equal(pgcdc_worker_run(w), PGCDC_OK);
    pthread_join(stopper, NULL);
    assert_int_equal(pgcdc_worker_stats(w, &st), PGCDC_OK);
    assert_string_equal(pgcdc_state_name(st.state), "stopped");
    assert_int_equal(st.transactions, 2);
    assert_int_equal(st.changes, 3);
    assert_int_equal(st.reconnects, 0);
    assert_int_equal(h.begins, 2);
    assert_int_equal(h.changes, 3);
    assert_int_equal(atomic_load(&h.commits), 2);
    assert_true(atomic_load(&h.idles) > 0);
    assert_int_equal(h.closes, 0);
    pgcdc_worker_free(w);
    assert_int_equal(h.closes, 1);
    assert_true(h.logs > 0);
    assert_int_equal(h.foreign_thread_logs, 0);
}

/* Pull mode hands changes to the caller and to the sinks alike. */
static void test_pull_mode_with_sink(void **state)
{
    const char *db = tl_fresh_db("t_pullsink");
    char err[256];
    pgcdc_config *cfg;
    pgcdc_worker *w;
    const pgcdc_change *c;
    rec_sink rec;
    int pulled = 0;
    int r;

    (void)state;
    rec_init(&rec);
    tl_sql(db, "CREATE TABLE t (id int PRIMARY KEY)");
    cfg = tl_config(db, "s_pullsink", "p_pullsink", "t");
    assert_int_equal(tl_start_only(cfg, err, sizeof(err)), PGCDC_OK);
    tl_sql(db, "INSERT INTO t VALUES (1), (2), (3)");
    pgcdc_config_set_endpos(cfg, lsn_now(db));
    assert_int_equal(pgcdc_config_add_sink_ops(cfg, &rec_ops, "rec:one", &rec), PGCDC_OK);
    w = pgcdc_worker_new(cfg);
    pgcdc_config_free(cfg);
    assert_int_equal(pgcdc_worker_start(w), PGCDC_OK);
    while ((r = pgcdc_worker_next(w, &c, 5000)) == PGCDC_OK) {
        if (c != NULL)
            pulled++;
    }
    assert_int_equal(r, PGCDC_ERR_STOPPED);
    assert_int_equal(pulled, 3);
    assert_int_equal(rec.changes, 3);
    assert_int_equal(rec.commits, 1);
    pgcdc_worker_free(w);
}

/* The library's file sink: a torn last line is repaired at open; sink properties apply. */
static void test_file_sink(void **state)
{
    const char *db = tl_fresh_db("t_filesink");
    char path[] = "/tmp/pgcdc-filesink-XXXXXX";
    char uri[128];
    char err[256];
    pgcdc_config *cfg;
    json_t *doc;
    json_error_t jerr;
    FILE *f;
    char line[4096];
    int fd = mkstemp(path);
    int n = 0;

    (void)state;
    assert_true(write(fd, "{\"earlier\":true}\n{\"torn", 23) == 23);
    close(fd);
    tl_sql(db, "CREATE TABLE t (id int PRIMARY KEY)");
    cfg = tl_config(db, "s_filesink", "p_filesink", "t");
    assert_int_equal(tl_start_only(cfg, err, sizeof(err)), PGCDC_OK);
    tl_sql(db, "INSERT INTO t VALUES (1), (2)");
    pgcdc_config_set_endpos(cfg, lsn_now(db));
    snprintf(uri, sizeof(uri), "file:%s", path);
    assert_int_equal(pgcdc_config_add_sink(cfg, uri), PGCDC_OK);
    assert_int_equal(pgcdc_config_set(cfg, "sink.file.flush_bytes", "4kB", err, sizeof(err)),
                     PGCDC_OK);
    assert_int_equal(pgcdc_config_set(cfg, "format", "wal2json", err, sizeof(err)), PGCDC_OK);
    {
        pgcdc_worker *w = pgcdc_worker_new(cfg);

        assert_int_equal(pgcdc_worker_start(w), PGCDC_OK);
        assert_int_equal(pgcdc_worker_run(w), PGCDC_OK);
        pgcdc_worker_free(w);
    }
    pgcdc_config_free(cfg);
    f = fopen(path, "r");
    assert_non_null(f);
    while (fgets(line, sizeof(line), f) != NULL) {
        doc = json_loads(line, 0, &jerr);
        if (doc == NULL)
            fail_msg("line %d is not JSON: %s", n + 1, line);
        json_decref(doc);
        n++;
    }
    fclose(f);
    /* The line kept, then wal2json's B, two I lines, C. */
    assert_int_equal(n, 5);
    unlink(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_confirm_waits_for_every_sink),
        cmocka_unit_test(test_sink_retries_and_policy),
        cmocka_unit_test(test_handler_struct_and_stats),
        cmocka_unit_test(test_pull_mode_with_sink),
        cmocka_unit_test(test_file_sink),
    };

    tl_env();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
