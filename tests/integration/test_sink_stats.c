/*
 * pgcdc_worker_sink_stats against a real server: the file sink's events and
 * bytes equal to what it wrote, a sink of the test's that fails, retries and
 * acknowledges from another thread (errors and latencies counted), the
 * counters before the start and after the stop, and an http sink at a port
 * nobody listens on, watched from another thread while it retries.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testlib.h"

/* How long a test waits for something that must happen (it never asserts a duration). */
#define WAIT_US (60 * 1000 * 1000)
/* How long the test's sink waits before it acknowledges a commit. */
#define ACK_DELAY_US 20000

/* A sink of the test's: fails its first writes, hands commits to a thread that acknowledges. */
typedef struct slow_sink {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int fail_first;
    uint64_t tokens[256];
    int head, tail;
    int quit;
    pthread_t acker;
    pgcdc_sink *sink;
} slow_sink;

static void *acker_main(void *arg)
{
    slow_sink *s = arg;

    pthread_mutex_lock(&s->mu);
    for (;;) {
        uint64_t token;

        while (s->head == s->tail && !s->quit)
            pthread_cond_wait(&s->cv, &s->mu);
        if (s->head == s->tail)
            break;
        token = s->tokens[s->head++ % 256];
        pthread_mutex_unlock(&s->mu);
        usleep(ACK_DELAY_US);
        pgcdc_sink_ack(s->sink, token);
        pthread_mutex_lock(&s->mu);
    }
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

static int slow_open(pgcdc_sink *sink, const char *uri)
{
    slow_sink *s = pgcdc_sink_opaque(sink);

    (void)uri;
    s->sink = sink;
    pgcdc_sink_set_state(sink, s);
    assert_int_equal(pthread_create(&s->acker, NULL, acker_main, s), 0);
    return PGCDC_OK;
}

static int slow_write(pgcdc_sink *sink, const pgcdc_sink_event *ev)
{
    slow_sink *s = pgcdc_sink_state(sink);
    const char *data;
    size_t len;

    assert_int_equal(pgcdc_sink_event_data(ev, &data, &len), PGCDC_OK);
    if (pgcdc_sink_event_kind(ev) == PGCDC_EVENT_CHANGE && s->fail_first > 0) {
        s->fail_first--;
        return pgcdc_sink_fail(sink, -5, "the test's sink fails for now");
    }
    if (pgcdc_sink_event_kind(ev) != PGCDC_EVENT_COMMIT)
        return PGCDC_HANDLED;
    pthread_mutex_lock(&s->mu);
    assert_true(s->tail - s->head < 256);
    s->tokens[s->tail++ % 256] = pgcdc_sink_event_token(ev);
    pthread_cond_signal(&s->cv);
    pthread_mutex_unlock(&s->mu);
    return PGCDC_DEFER;
}

static void slow_close(pgcdc_sink *sink)
{
    slow_sink *s = pgcdc_sink_opaque(sink);

    pthread_mutex_lock(&s->mu);
    s->quit = 1;
    pthread_cond_signal(&s->cv);
    pthread_mutex_unlock(&s->mu);
    pthread_join(s->acker, NULL);
}

static const pgcdc_sink_ops slow_ops = {
    .abi = PGCDC_SINK_ABI,
    .kind = "slow",
    .open = slow_open,
    .write = slow_write,
    .close = slow_close,
};

/* The cumulative buckets never go down, and none holds more than the count. */
static void assert_histogram(const pgcdc_sink_stats *st)
{
    for (int b = 0; b < PGCDC_SINK_ACK_BUCKETS; b++) {
        if (b > 0)
            assert_true(st->ack_latency_buckets[b] >= st->ack_latency_buckets[b - 1]);
        assert_true(st->ack_latency_buckets[b] <= st->acks);
    }
}

static void test_file_and_own_sink(void **state)
{
    const char *db = tl_fresh_db("t_sinkstats");
    char path[] = "/tmp/pgcdc-sinkstats-XXXXXX";
    char uri[128];
    char err[256];
    pgcdc_sink_stats fst;
    pgcdc_sink_stats sst;
    pgcdc_stats st;
    pgcdc_config *cfg;
    pgcdc_worker *w;
    slow_sink slow;
    struct stat sb;
    int fd = mkstemp(path);

    (void)state;
    close(fd);
    memset(&slow, 0, sizeof(slow));
    pthread_mutex_init(&slow.mu, NULL);
    pthread_cond_init(&slow.cv, NULL);
    slow.fail_first = 2;
    tl_sql(db, "CREATE TABLE t (id int PRIMARY KEY, v text)");
    cfg = tl_config(db, "s_sinkstats", "p_sinkstats", "t");
    assert_int_equal(tl_start_only(cfg, err, sizeof(err)), PGCDC_OK);
    tl_sql(db, "INSERT INTO t SELECT g, repeat('x', g) FROM generate_series(1, 5) g");
    tl_sql(db, "UPDATE t SET v = 'y' WHERE id <= 2");
    tl_sql(db, "DELETE FROM t WHERE id = 5");
    pgcdc_config_set_endpos(cfg, tl_current_lsn(db));
    pgcdc_config_set_handler_retries(cfg, 3, 1);
    snprintf(uri, sizeof(uri), "file:%s", path);
    assert_int_equal(pgcdc_config_add_sink(cfg, uri), PGCDC_OK);
    assert_int_equal(
        pgcdc_config_add_sink_ops(cfg, &slow_ops, "slow://user:secret@here/x?token=1", &slow),
        PGCDC_OK);
    w = pgcdc_worker_new(cfg);
    assert_non_null(w);
    pgcdc_config_free(cfg);

    /* Before the start: the sinks' names, no counts; past the last, none. */
    assert_int_equal(pgcdc_worker_sink_stats(w, 0, &fst), PGCDC_OK);
    assert_string_equal(fst.uri, uri);
    assert_string_equal(fst.kind, "file");
    assert_int_equal(fst.events, 0);
    assert_int_equal(pgcdc_worker_sink_stats(w, 1, &sst), PGCDC_OK);
    assert_string_equal(sst.uri, "slow://here/x?...");
    assert_string_equal(sst.kind, "slow");
    assert_int_equal(pgcdc_worker_sink_stats(w, 2, &sst), PGCDC_ERR_RANGE);
    assert_int_equal(pgcdc_worker_sink_stats(w, -1, &sst), PGCDC_ERR_RANGE);

    assert_int_equal(pgcdc_worker_start(w), PGCDC_OK);
    assert_int_equal(pgcdc_worker_run(w), PGCDC_OK);
    assert_int_equal(pgcdc_worker_stats(w, &st), PGCDC_OK);
    assert_int_equal(st.changes, 8);
    assert_int_equal(st.transactions, 3);

    /* Stopped: still readable.  The file sink got every event, and its bytes are the file's. */
    assert_int_equal(pgcdc_worker_sink_stats(w, 0, &fst), PGCDC_OK);
    assert_string_equal(fst.uri, uri);
    assert_int_equal(fst.events, st.changes + 2 * st.transactions);
    assert_int_equal(stat(path, &sb), 0);
    assert_int_equal(fst.bytes, (uint64_t)sb.st_size);
    assert_true(fst.bytes > 0);
    assert_int_equal(fst.errors, 0);
    assert_int_equal(fst.inflight_bytes, 0);
    /* Each commit acknowledged once durable. */
    assert_int_equal(fst.acks, st.transactions);
    assert_histogram(&fst);

    /* The test's sink: two failed writes retried, the same events and bytes as the file's. */
    assert_int_equal(pgcdc_worker_sink_stats(w, 1, &sst), PGCDC_OK);
    assert_int_equal(st.retries, 2);
    assert_int_equal(sst.errors, 2);
    assert_int_equal(sst.events, fst.events);
    assert_int_equal(sst.bytes, fst.bytes);
    assert_int_equal(sst.inflight_bytes, 0);
    /* Each commit acknowledged from the acker thread, no sooner than its delay. */
    assert_int_equal(sst.acks, st.transactions);
    assert_true(sst.ack_latency_sum_us >= sst.acks * ACK_DELAY_US);
    assert_int_equal(sst.ack_latency_buckets[2], 0); /* 5 ms: none is that quick */
    assert_histogram(&sst);
    pgcdc_worker_free(w);
    unlink(path);
}

/* Each refused connection is an error, counted while the sink retries; its bytes in flight. */
static void test_http_refused(void **state)
{
    const char *db = tl_fresh_db("t_sinkstats_http");
    char url[128];
    char err[256];
    pgcdc_sink_stats hst;
    pgcdc_config *cfg;
    tl_runner run;
    long waited = 0;

    (void)state;
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/hook", tl_free_port());
    tl_sql(db, "CREATE TABLE t (id int PRIMARY KEY)");
    cfg = tl_config(db, "s_sinkstats_http", "p_sinkstats_http", "t");
    assert_int_equal(tl_start_only(cfg, err, sizeof(err)), PGCDC_OK);
    assert_int_equal(pgcdc_config_add_sink(cfg, url), PGCDC_OK);
    assert_int_equal(pgcdc_config_set(cfg, "sink.http.retry_initial", "10ms", err, sizeof(err)),
                     PGCDC_OK);
    assert_int_equal(pgcdc_config_set(cfg, "sink.http.retry_max", "50ms", err, sizeof(err)),
                     PGCDC_OK);
    assert_int_equal(pgcdc_config_set(cfg, "sink.http.batch_linger", "0", err, sizeof(err)),
                     PGCDC_OK);
    tl_runner_start(&run, cfg);
    pgcdc_config_free(cfg);
    tl_sql(db, "INSERT INTO t SELECT generate_series(1, 10)");
    /* Read from this thread while the worker's and the sink's run. */
    for (; waited < WAIT_US; waited += 10000) {
        assert_int_equal(pgcdc_worker_sink_stats(run.w, 0, &hst), PGCDC_OK);
        if (hst.errors >= 3 && hst.inflight_bytes > 0)
            break;
        usleep(10000);
    }
    if (waited >= WAIT_US)
        fail_msg("errors %llu, in flight %llu", (unsigned long long)hst.errors,
                 (unsigned long long)hst.inflight_bytes);
    assert_string_equal(hst.kind, "http");
    assert_string_equal(hst.uri, url);
    assert_int_equal(hst.events, 12);
    assert_true(hst.bytes > 0);
    assert_int_equal(hst.acks, 0);
    pgcdc_worker_stop(run.w);
    tl_runner_join(&run);
    assert_int_equal(pgcdc_worker_sink_stats(run.w, 0, &hst), PGCDC_OK);
    assert_true(hst.errors >= 3);
    assert_int_equal(hst.acks, 0);
    pgcdc_worker_free(run.w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_file_and_own_sink),
        cmocka_unit_test(test_http_refused),
    };

    tl_env();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
