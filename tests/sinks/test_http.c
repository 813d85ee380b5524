/*
 * The http sink against a real server and a local receiver
 * (webhook_receiver.py, which checks the Standard Webhooks signature on its
 * own): batches as JSON arrays and NDJSON, signatures and custom headers,
 * retries of 503/429/500, timeouts and dropped connections with nothing lost
 * or reordered, a refused batch halting or dead-lettered, lanes keeping
 * per-key order, HTTPS with the test's CA, bad configuration refused before
 * connecting, and backpressure when the receiver stops answering.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>

#include "testlib.h"
#include "tool.h"
#include "webhook_rx.h"

#define SECRET "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
#define OTHER_SECRET "whsec_c2VjcmV0LXRoYXQtdGhlLXJlY2VpdmVyLWRvZXMtbm90LWtub3c="
/* How long a test waits for something that must happen (it never asserts a duration). */
#define WAIT_US (60 * 1000 * 1000)

/* ---- the worker ---- */

static void set(pgcdc_config *cfg, const char *key, const char *value)
{
    char err[512];

    if (pgcdc_config_set(cfg, key, value, err, sizeof(err)) != PGCDC_OK)
        fail_msg("%s=%s: %s", key, value, err);
}

/* A table t, a slot made before anything is inserted, and a config with the sink. */
static pgcdc_config *setup(const char *db, const char *name, const char *url)
{
    char slot[64];
    char pub[64];
    char err[512];
    pgcdc_config *cfg;

    snprintf(slot, sizeof(slot), "s_%s", name);
    snprintf(pub, sizeof(pub), "p_%s", name);
    tl_sql(db, "CREATE TABLE t (id int PRIMARY KEY, v int NOT NULL DEFAULT 0, pad text)");
    cfg = tl_config(db, slot, pub, "t");
    assert_int_equal(tl_start_only(cfg, err, sizeof(err)), PGCDC_OK);
    pgcdc_config_set_handler_retries(cfg, 1, 1);
    if (pgcdc_config_add_sink(cfg, url) != PGCDC_OK)
        fail_msg("add sink: %s", pgcdc_config_errmsg(cfg));
    /* Quick retries: the tests wait for what happens, not for backoff. */
    set(cfg, "sink.http.retry_initial", "10ms");
    set(cfg, "sink.http.retry_max", "200ms");
    return cfg;
}

/* Log lines as they come, and whether any came from another thread than the worker's. */
typedef struct logs {
    pthread_mutex_t mu;
    char text[8192];
    pthread_t thread;
    int foreign;
} logs;

static void log_line(pgcdc_worker *w, pgcdc_log_level level, const char *msg, void *opaque)
{
    logs *l = opaque;
    size_t n;

    (void)w;
    (void)level;
    pthread_mutex_lock(&l->mu);
    if (!pthread_equal(pthread_self(), l->thread))
        l->foreign++;
    n = strlen(l->text);
    snprintf(l->text + n, sizeof(l->text) - n, "%s\n", msg);
    pthread_mutex_unlock(&l->mu);
}

static int count(const char *hay, const char *needle)
{
    int n = 0;

    for (const char *p = strstr(hay, needle); p != NULL; p = strstr(p + 1, needle))
        n++;
    return n;
}

/* Runs the worker to the end position: its result; the worker is left for the caller. */
static int run_to_end(pgcdc_config *cfg, uint64_t end, pgcdc_worker **out)
{
    pgcdc_worker *w;

    pgcdc_config_set_endpos(cfg, end);
    w = pgcdc_worker_new(cfg);
    assert_non_null(w);
    if (pgcdc_worker_start(w) != PGCDC_OK)
        fail_msg("start: %s", pgcdc_worker_errmsg(w));
    *out = w;
    return pgcdc_worker_run(w);
}

/*
 * The slot was confirmed past the last event delivered: past its commit LSN.
 * (Not past the server's position taken after the workload: other tests
 * write WAL meanwhile, so that may lie beyond the last transaction's end.)
 */
static void assert_confirmed_past(const pgcdc_stats *st, json_t *events)
{
    json_t *last = json_array_get(events, json_array_size(events) - 1);
    uint64_t lsn;

    assert_non_null(last);
    assert_int_equal(pgcdc_lsn_parse(json_string_value(json_object_get(last, "commit_lsn")), &lsn),
                     PGCDC_OK);
    assert_true(st->confirmed_lsn > lsn);
}

/* ---- tests ---- */

/* The target got exactly the ids first..last, in order; with st, the slot is confirmed past. */
static void expect_delivered(rx *r, const pgcdc_stats *st, int first, int last)
{
    json_t *events = rx_events(r, 0);

    rx_expect_ids(events, first, last);
    if (st != NULL)
        assert_confirmed_past(st, events);
    json_decref(events);
}

/* JSON arrays of at most batch_size events, in order, signed, with the custom headers. */
static void test_json_batches_signed(void **state)
{
    const char *db = tl_fresh_db("t_http_json");
    pgcdc_config *cfg;
    pgcdc_worker *w;
    pgcdc_stats st;
    json_t *reqs;
    json_t *req;
    size_t i;
    uint64_t end;
    rx r;

    (void)state;
    rx_start(&r, SECRET, 0);
    cfg = setup(db, "http_json", r.url);
    set(cfg, "sink.http.secret", SECRET);
    set(cfg, "sink.http.batch_size", "10");
    set(cfg, "sink.http.header", "X-Pgcdc-Test: one");
    set(cfg, "sink.http.header", "Authorization: Bearer t0ken");
    tl_sql(db, "INSERT INTO t (id) SELECT g FROM generate_series(1, 25) g");
    tl_sql(db, "INSERT INTO t (id) SELECT g FROM generate_series(26, 30) g");
    end = tl_current_lsn(db);
    assert_int_equal(run_to_end(cfg, end, &w), PGCDC_OK);
    assert_int_equal(pgcdc_worker_stats(w, &st), PGCDC_OK);
    pgcdc_worker_free(w);
    pgcdc_config_free(cfg);

    reqs = rx_requests(&r);
    assert_true(json_array_size(reqs) >= 3);
    json_array_foreach(reqs, i, req)
    {
        json_error_t jerr;
        json_t *batch = json_loads(json_string_value(json_object_get(req, "body")), 0, &jerr);
        json_t *first = json_array_get(batch, 0);
        json_t *last = json_array_get(batch, json_array_size(batch) - 1);
        char id[128];

        /* The receiver checked the signature itself. */
        assert_true(json_is_true(json_object_get(req, "verified")));
        assert_int_equal(json_integer_value(json_object_get(req, "status")), 200);
        assert_string_equal(rx_header(req, "content-type"), "application/json");
        assert_string_equal(rx_header(req, "x-pgcdc-test"), "one");
        assert_string_equal(rx_header(req, "authorization"), "Bearer t0ken");
        assert_true(strncmp(rx_header(req, "webhook-signature"), "v1,", 3) == 0);
        assert_true(json_array_size(batch) >= 1 && json_array_size(batch) <= 10);
        /* The id names the first and last events: <commit_lsn>:<seq>-<commit_lsn>:<seq>. */
        snprintf(id, sizeof(id), "%s:%lld-%s:%lld",
                 json_string_value(json_object_get(first, "commit_lsn")),
                 (long long)json_integer_value(json_object_get(first, "seq")),
                 json_string_value(json_object_get(last, "commit_lsn")),
                 (long long)json_integer_value(json_object_get(last, "seq")));
        assert_string_equal(rx_header(req, "webhook-id"), id);
        json_decref(batch);
    }
    json_decref(reqs);
    expect_delivered(&r, &st, 1, 30);
    rx_stop(&r);
}

/* NDJSON: the lines as they come, wal2json's B and C lines included; no secret, no signature. */
static void test_ndjson_unsigned(void **state)
{
    const char *db = tl_fresh_db("t_http_nd");
    pgcdc_config *cfg;
    pgcdc_worker *w;
    json_t *reqs;
    json_t *events;
    char actions[64] = "";
    size_t i;
    json_t *ev;
    rx r;

    (void)state;
    rx_start(&r, NULL, 0);
    cfg = setup(db, "http_nd", r.url);
    set(cfg, "sink.http.encoding", "ndjson");
    set(cfg, "sink.http.format", "wal2json");
    tl_sql(db, "INSERT INTO t (id) VALUES (1), (2), (3)");
    assert_int_equal(run_to_end(cfg, tl_current_lsn(db), &w), PGCDC_OK);
    pgcdc_worker_free(w);
    pgcdc_config_free(cfg);
    reqs = rx_requests(&r);
    json_array_foreach(reqs, i, ev)
    {
        assert_string_equal(rx_header(ev, "content-type"), "application/x-ndjson");
        assert_null(rx_header(ev, "webhook-signature"));
        assert_null(rx_header(ev, "webhook-timestamp"));
        assert_non_null(rx_header(ev, "webhook-id"));
    }
    json_decref(reqs);
    events = rx_events(&r, 1);
    json_array_foreach(events, i, ev)
        strncat(actions, json_string_value(json_object_get(ev, "action")), 1);
    assert_string_equal(actions, "BIIIC");
    json_decref(events);
    rx_stop(&r);
}

/*
 * 503 and 429 with Retry-After (seconds, an HTTP date), a 500, a dropped
 * connection and a timeout: all retried, nothing lost or reordered, the
 * failure logged once and the recovery once, on the worker's thread.
 */
static void test_retries_keep_order(void **state)
{
    const char *db = tl_fresh_db("t_http_retry");
    pgcdc_config *cfg;
    pgcdc_worker *w;
    pgcdc_stats st;
    json_t *reqs;
    json_t *req;
    char cmd[512];
    char date[64];
    char seen[256] = "";
    time_t soon = time(NULL) + 1;
    struct tm tm;
    uint64_t end;
    size_t i;
    logs l;
    rx r;

    (void)state;
    memset(&l, 0, sizeof(l));
    pthread_mutex_init(&l.mu, NULL);
    l.thread = pthread_self();
    gmtime_r(&soon, &tm);
    strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S GMT", &tm);
    rx_start(&r, SECRET, 0);
    snprintf(cmd, sizeof(cmd),
             "{\"rules\":[{\"status\":503,\"retry_after\":\"1\"},{\"status\":429,"
             "\"retry_after\":\"%s\"},{\"status\":500},{\"drop\":true},{\"delay_ms\":2500}]}",
             date);
    json_decref(rx_control(&r, cmd));
    cfg = setup(db, "http_retry", r.url);
    pgcdc_config_set_log_cb(cfg, log_line, &l);
    pgcdc_config_set_log_level(cfg, PGCDC_LOG_INFO);
    set(cfg, "sink.http.secret", SECRET);
    set(cfg, "sink.http.batch_size", "4");
    set(cfg, "sink.http.timeout", "1s");
    tl_sql(db, "INSERT INTO t (id) SELECT g FROM generate_series(1, 6) g");
    tl_sql(db, "INSERT INTO t (id) SELECT g FROM generate_series(7, 12) g");
    end = tl_current_lsn(db);
    assert_int_equal(run_to_end(cfg, end, &w), PGCDC_OK);
    assert_int_equal(pgcdc_worker_stats(w, &st), PGCDC_OK);
    pgcdc_worker_free(w);
    pgcdc_config_free(cfg);

    reqs = rx_requests(&r);
    json_array_foreach(reqs, i, req)
    {
        json_t *s = json_object_get(req, "status");
        size_t n = strlen(seen);

        snprintf(seen + n, sizeof(seen) - n, "%s%s", n ? " " : "",
                 json_is_string(s) ? json_string_value(s) : "");
        if (json_is_integer(s))
            snprintf(seen + strlen(seen), sizeof(seen) - strlen(seen), "%lld",
                     (long long)json_integer_value(s));
    }
    /* The same first batch each time until it got through. */
    assert_non_null(strstr(seen, "503 429 500 dropped 200"));
    json_decref(reqs);
    expect_delivered(&r, &st, 1, 12);
    /*
     * Once failing, once recovered (libcurl itself sends a request again
     * once when a reused connection turns out dead, so the count of
     * attempts is not asserted).
     */
    if (count(l.text, "failing: 503") != 1 || count(l.text, "failing") != 1 ||
        count(l.text, "recovered after ") != 1)
        fail_msg("requests: %s; log:\n%s", seen, l.text);
    assert_int_equal(l.foreign, 0);
    pthread_mutex_destroy(&l.mu);
    rx_stop(&r);
}

/* A 400 halts: one line, no credentials or secret in it, nothing confirmed past the batch. */
static void test_refused_batch_halts(void **state)
{
    const char *db = tl_fresh_db("t_http_halt");
    pgcdc_config *cfg;
    pgcdc_worker *w;
    pgcdc_stats st;
    char url[512];
    const char *msg;
    uint64_t before;
    uint64_t end;
    rx r;

    (void)state;
    rx_start(&r, NULL, 0);
    json_decref(rx_control(&r, "{\"rules\":[{\"status\":400}]}"));
    snprintf(url, sizeof(url), "http://user:hunter2@%s", r.url + 7);
    cfg = setup(db, "http_halt", url);
    set(cfg, "sink.http.secret", SECRET);
    before = tl_slot_confirmed(db, "s_http_halt");
    tl_sql(db, "INSERT INTO t (id) VALUES (1), (2)");
    end = tl_current_lsn(db);
    assert_int_equal(run_to_end(cfg, end, &w), PGCDC_ERR_SINK);
    msg = pgcdc_worker_errmsg(w);
    assert_null(strchr(msg, '\n'));
    assert_non_null(strstr(msg, r.url));
    assert_non_null(strstr(msg, "400 Bad Request"));
    assert_non_null(strstr(msg, "nothing after the last confirmed position is lost"));
    assert_null(strstr(msg, "hunter2"));
    assert_null(strstr(msg, &SECRET[6]));
    assert_int_equal(pgcdc_worker_stats(w, &st), PGCDC_OK);
    assert_int_equal(st.state, PGCDC_STATE_FAILED);
    assert_true(st.confirmed_lsn < end);
    pgcdc_worker_free(w);
    assert_int_equal(tl_slot_confirmed(db, "s_http_halt"), before);
    pgcdc_config_free(cfg);
    rx_stop(&r);
}

/* Failing past max_elapsed: the error policy (halt), the failure logged once, not per retry. */
static void test_max_elapsed_gives_up(void **state)
{
    const char *db = tl_fresh_db("t_http_elapsed");
    char rules[4096] = "{\"rules\":[";
    pgcdc_config *cfg;
    pgcdc_worker *w;
    json_t *reqs;
    logs l;
    rx r;

    (void)state;
    memset(&l, 0, sizeof(l));
    pthread_mutex_init(&l.mu, NULL);
    l.thread = pthread_self();
    for (int i = 0; i < 200; i++)
        strcat(rules, i ? ",{\"status\":503}" : "{\"status\":503}");
    strcat(rules, "]}");
    rx_start(&r, NULL, 0);
    json_decref(rx_control(&r, rules));
    cfg = setup(db, "http_elapsed", r.url);
    pgcdc_config_set_log_cb(cfg, log_line, &l);
    pgcdc_config_set_log_level(cfg, PGCDC_LOG_INFO);
    set(cfg, "sink.http.retry_max", "20ms");
    set(cfg, "sink.http.max_elapsed", "300ms");
    tl_sql(db, "INSERT INTO t (id) VALUES (1)");
    assert_int_equal(run_to_end(cfg, tl_current_lsn(db), &w), PGCDC_ERR_SINK);
    assert_non_null(strstr(pgcdc_worker_errmsg(w), "still failing after"));
    assert_non_null(strstr(pgcdc_worker_errmsg(w), "503 Service Unavailable"));
    pgcdc_worker_free(w);
    pgcdc_config_free(cfg);
    reqs = rx_requests(&r);
    /* Retried several times, and said so once. */
    assert_true(json_array_size(reqs) >= 3);
    json_decref(reqs);
    if (count(l.text, "failing") != 1 || count(l.text, "recovered") != 0)
        fail_msg("log:\n%s", l.text);
    assert_int_equal(l.foreign, 0);
    pthread_mutex_destroy(&l.mu);
    rx_stop(&r);
}

/* The receiver knows another secret: it answers 401, and the run halts. */
static void test_wrong_secret_detected(void **state)
{
    const char *db = tl_fresh_db("t_http_secret");
    pgcdc_config *cfg;
    pgcdc_worker *w;
    json_t *reqs;
    rx r;

    (void)state;
    rx_start(&r, SECRET, 0);
    cfg = setup(db, "http_secret", r.url);
    set(cfg, "sink.http.secret", OTHER_SECRET);
    tl_sql(db, "INSERT INTO t (id) VALUES (1)");
    assert_int_equal(run_to_end(cfg, tl_current_lsn(db), &w), PGCDC_ERR_SINK);
    assert_non_null(strstr(pgcdc_worker_errmsg(w), "401"));
    assert_null(strstr(pgcdc_worker_errmsg(w), &OTHER_SECRET[6]));
    pgcdc_worker_free(w);
    pgcdc_config_free(cfg);
    reqs = rx_requests(&r);
    assert_int_equal(json_array_size(reqs), 1);
    assert_true(json_is_false(json_object_get(json_array_get(reqs, 0), "verified")));
    json_decref(reqs);
    rx_stop(&r);
}

/* With the dead-letter policy the refused batch goes to the file and the run goes on. */
static void test_refused_batch_dead_lettered(void **state)
{
    const char *db = tl_fresh_db("t_http_dlq");
    char dlq[] = "/tmp/pgcdc-http-dlq-XXXXXX";
    pgcdc_config *cfg;
    pgcdc_worker *w;
    pgcdc_stats st;
    json_t *line;
    json_t *batch;
    json_error_t jerr;
    uint64_t end;
    int first;
    int fd = mkstemp(dlq);
    rx r;

    (void)state;
    close(fd);
    unlink(dlq);
    rx_start(&r, NULL, 0);
    json_decref(rx_control(&r, "{\"rules\":[{\"status\":422}]}"));
    cfg = setup(db, "http_dlq", r.url);
    set(cfg, "on_error", "dead_letter");
    set(cfg, "dead_letter", dlq);
    set(cfg, "sink.http.batch_size", "2");
    tl_sql(db, "INSERT INTO t (id) VALUES (1), (2)");
    tl_sql(db, "INSERT INTO t (id) VALUES (3), (4)");
    end = tl_current_lsn(db);
    assert_int_equal(run_to_end(cfg, end, &w), PGCDC_OK);
    assert_int_equal(pgcdc_worker_stats(w, &st), PGCDC_OK);
    assert_int_equal(st.dead_letters, 1);
    pgcdc_worker_free(w);
    pgcdc_config_free(cfg);

    assert_int_equal(tl_count_lines(dlq), 1);
    line = json_load_file(dlq, 0, &jerr);
    assert_non_null(line);
    assert_non_null(strstr(
        json_string_value(json_object_get(json_object_get(line, "dead_letter"), "error")), "422"));
    /* The first batch: ids 1 and 2, or 1 alone when the worker caught up in between. */
    batch = json_loads(json_string_value(json_object_get(line, "payload")), 0, &jerr);
    assert_non_null(batch);
    first = (int)json_array_size(batch);
    assert_true(first == 1 || first == 2);
    rx_expect_ids(batch, 1, first);
    json_decref(batch);
    json_decref(line);
    expect_delivered(&r, &st, first + 1, 4);
    unlink(dlq);
    rx_stop(&r);
}

/* Lanes: batches in flight at once, each key's changes still in order. */
static void test_lanes_keep_key_order(void **state)
{
    const char *db = tl_fresh_db("t_http_lanes");
    pgcdc_config *cfg;
    pgcdc_worker *w;
    json_t *events;
    json_t *ev;
    long last[9];
    int per[9];
    size_t i;
    uint64_t end;
    rx r;

    (void)state;
    memset(per, 0, sizeof(per));
    for (int k = 0; k < 9; k++)
        last[k] = -1;
    rx_start(&r, NULL, 0);
    cfg = setup(db, "http_lanes", r.url);
    set(cfg, "sink.http.lanes", "4");
    set(cfg, "sink.http.batch_size", "3");
    tl_sql(db, "INSERT INTO t (id) SELECT g FROM generate_series(1, 8) g");
    for (int round = 0; round < 4; round++)
        tl_sql(db, "BEGIN; UPDATE t SET v = v + 1; UPDATE t SET v = v + 1 WHERE id %% 2 = 0; "
                   "COMMIT");
    end = tl_current_lsn(db);
    assert_int_equal(run_to_end(cfg, end, &w), PGCDC_OK);
    pgcdc_worker_free(w);
    pgcdc_config_free(cfg);
    events = rx_events(&r, 0);
    assert_int_equal(json_array_size(events), 8 + 4 * (8 + 4));
    json_array_foreach(events, i, ev)
    {
        json_t *row = json_object_get(ev, "new");
        int id = (int)json_integer_value(json_object_get(row, "id"));
        long v = (long)json_integer_value(json_object_get(row, "v"));

        assert_true(id >= 1 && id <= 8);
        if (v <= last[id])
            fail_msg("id %d: v %ld came after %ld", id, v, last[id]);
        last[id] = v;
        per[id]++;
    }
    for (int id = 1; id <= 8; id++)
        assert_int_equal(per[id], 1 + 4 * (id % 2 == 0 ? 2 : 1));
    json_decref(events);
    rx_stop(&r);
}

/* HTTPS: verified with the test's CA; an untrusted certificate is refused, nothing sent. */
static void test_https(void **state)
{
    const char *db = tl_fresh_db("t_http_tls");
    pgcdc_config *cfg;
    pgcdc_worker *w;
    json_t *reqs;
    uint64_t end;
    size_t answered;
    rx r;

    (void)state;
    rx_start(&r, SECRET, 1);
    cfg = setup(db, "http_tls", r.url);
    set(cfg, "sink.http.secret", SECRET);
    set(cfg, "sink.http.ca_file", r.ca);
    tl_sql(db, "INSERT INTO t (id) VALUES (1), (2)");
    end = tl_current_lsn(db);
    assert_int_equal(run_to_end(cfg, end, &w), PGCDC_OK);
    pgcdc_worker_free(w);
    pgcdc_config_free(cfg);
    expect_delivered(&r, NULL, 1, 2);
    reqs = rx_requests(&r);
    answered = json_array_size(reqs);
    json_decref(reqs);

    /* Without the CA the certificate is not trusted: the run halts at once. */
    cfg = tl_config(db, "s_http_tls", "p_http_tls", "t");
    pgcdc_config_set_handler_retries(cfg, 1, 1);
    assert_int_equal(pgcdc_config_add_sink(cfg, r.url), PGCDC_OK);
    tl_sql(db, "INSERT INTO t (id) VALUES (3)");
    assert_int_equal(run_to_end(cfg, tl_current_lsn(db), &w), PGCDC_ERR_SINK);
    assert_non_null(strstr(pgcdc_worker_errmsg(w), "certificate"));
    pgcdc_worker_free(w);
    pgcdc_config_free(cfg);
    /* Nothing more reached the receiver. */
    reqs = rx_requests(&r);
    assert_int_equal(json_array_size(reqs), answered);
    json_decref(reqs);
    rx_stop(&r);
}

/* Bad URIs and properties are refused when set or at start, before anything connects. */
static void test_bad_configuration(void **state)
{
    const char *db = tl_fresh_db("t_http_bad");
    static const char *const bad_uris[] = {"http://", "http://exa mple.com/x", "https://[::1/x",
                                           "http://host/x#frag", "http:/x"};
    static const char *const bad_props[][2] = {
        {"sink.http.secret", "not-a-secret"},         {"sink.http.secret", "whsec_@@@"},
        {"sink.http.header", "no colon here"},        {"sink.http.header", "webhook-id: mine"},
        {"sink.http.ca_file", "/nonexistent/ca.pem"},
    };
    char err[512];
    pgcdc_config *cfg = pgcdc_config_new();
    const char *tool = tt_tool();

    (void)state;
    for (size_t i = 0; i < sizeof(bad_uris) / sizeof(bad_uris[0]); i++) {
        assert_int_equal(pgcdc_config_add_sink(cfg, bad_uris[i]), PGCDC_ERR_INVALID);
        assert_null(strchr(pgcdc_config_errmsg(cfg), '\n'));
    }
    assert_non_null(strstr(pgcdc_config_errmsg(cfg), "http"));
    assert_int_equal(pgcdc_config_set(cfg, "sink.http.nope", "1", err, sizeof(err)),
                     PGCDC_ERR_INVALID);
    assert_int_equal(pgcdc_config_set(cfg, "sink.http.lanes", "0", err, sizeof(err)),
                     PGCDC_ERR_INVALID);
    assert_int_equal(pgcdc_config_set(cfg, "sink.http.encoding", "xml", err, sizeof(err)),
                     PGCDC_ERR_INVALID);
    pgcdc_config_free(cfg);

    /* Values only the sink can judge: the start fails, and no slot is made. */
    for (size_t i = 0; i < sizeof(bad_props) / sizeof(bad_props[0]); i++) {
        pgcdc_worker *w;

        cfg = tl_config(db, "s_http_bad", "p_http_bad", "t");
        assert_int_equal(pgcdc_config_add_sink(cfg, "http://127.0.0.1:9/x"), PGCDC_OK);
        set(cfg, bad_props[i][0], bad_props[i][1]);
        w = pgcdc_worker_new(cfg);
        assert_int_equal(pgcdc_worker_start(w), PGCDC_ERR_INVALID);
        assert_non_null(strstr(pgcdc_worker_errmsg(w), bad_props[i][0]));
        if (strcmp(bad_props[i][0], "sink.http.secret") == 0)
            assert_null(strstr(pgcdc_worker_errmsg(w), bad_props[i][1]));
        pgcdc_worker_free(w);
        pgcdc_config_free(cfg);
    }
    tl_sql_expect(db, "0",
                  "SELECT count(*) FROM pg_replication_slots WHERE slot_name = "
                  "'s_http_bad'");

    /* The command line says the same, in one line. */
    assert_int_equal(tt_run((const char *[]){tool, "-d", "dbname=x", "-S", "s", "-P", "p", "--sink",
                                             "http://exa mple.com/x", NULL}),
                     2);
    tt_assert_stderr_one_line("not a valid URL");
    assert_int_equal(tt_run((const char *[]){tool, "-d", "dbname=x", "-S", "s", "-P", "p", "--sink",
                                             "https://h/x", "-X", "sink.http.bogus=1", NULL}),
                     2);
    tt_assert_stderr_one_line("sink.http.bogus");
    tt_cleanup();
}

/* The command line streams to the sink too (--sink and -X), signed. */
static void test_cli_sink(void **state)
{
    const char *db = tl_fresh_db("t_http_cli");
    const char *tool = tt_tool();
    char endpos[32];
    json_t *reqs;
    json_t *req;
    size_t i;
    rx r;

    (void)state;
    rx_start(&r, SECRET, 0);
    pgcdc_config_free(setup(db, "http_cli", r.url));
    tl_sql(db, "INSERT INTO t (id) VALUES (1), (2), (3)");
    pgcdc_lsn_format(tl_current_lsn(db), endpos, sizeof(endpos));
    assert_int_equal(
        tt_run((const char *[]){tool, "-d", "dbname=t_http_cli", "-S", "s_http_cli", "-P",
                                "p_http_cli", "-t", "t", "-E", endpos, "-q", "--sink", r.url, "-X",
                                "sink.http.batch_size=2", "-X", "sink.http.secret=" SECRET, NULL}),
        0);
    tt_cleanup();
    /* Three events in batches of at most two (a batch may close early on a busy machine). */
    reqs = rx_requests(&r);
    assert_true(json_array_size(reqs) >= 2);
    json_array_foreach(reqs, i, req)
    {
        json_error_t jerr;
        json_t *batch = json_loads(json_string_value(json_object_get(req, "body")), 0, &jerr);

        assert_true(json_is_true(json_object_get(req, "verified")));
        assert_non_null(batch);
        assert_true(json_array_size(batch) >= 1 && json_array_size(batch) <= 2);
        json_decref(batch);
    }
    json_decref(reqs);
    expect_delivered(&r, NULL, 1, 3);
    rx_stop(&r);
}

/* A worker in a thread of its own, so that the test can watch it. */
/*
 * Backpressure: with a small max_inflight and a receiver that holds its
 * answers, the worker stops reading well short of a large load; once the
 * receiver answers, everything arrives, in order.
 */
static void test_backpressure(void **state)
{
    const char *db = tl_fresh_db("t_http_bp");
    pgcdc_config *cfg;
    pgcdc_stats st;
    tl_runner rn;
    uint64_t end;
    uint64_t before;
    uint64_t received = 0;
    rx r;

    (void)state;
    rx_start(&r, NULL, 0);
    json_decref(rx_control(&r, "{\"hold\":true}"));
    cfg = setup(db, "http_bp", r.url);
    set(cfg, "sink.http.max_inflight", "16kB");
    set(cfg, "sink.http.batch_size", "5");
    set(cfg, "sink.http.timeout", "10m");
    before = tl_slot_confirmed(db, "s_http_bp");
    for (int k = 0; k < 8; k++)
        tl_sql(db,
               "INSERT INTO t (id, pad) SELECT g, repeat('x', 1500) FROM generate_series(%d, %d) g",
               k * 500 + 1, k * 500 + 500);
    end = tl_current_lsn(db);
    pgcdc_config_set_endpos(cfg, end);
    tl_runner_start(&rn, cfg);
    pgcdc_config_free(cfg);

    /* One request held (one batch in flight), then the worker's position settles. */
    for (long waited = 0; rx_stat(&r, "held") < 1; waited += 20000) {
        if (waited > WAIT_US)
            fail_msg("no request reached the receiver");
        usleep(20000);
    }
    for (long waited = 0; waited < WAIT_US; waited += 500000) {
        usleep(500000);
        assert_int_equal(pgcdc_worker_stats(rn.w, &st), PGCDC_OK);
        if (st.received_lsn == received)
            break;
        received = st.received_lsn;
    }
    assert_true(st.received_lsn < end);
    assert_true(end - st.received_lsn > (end - before) / 2);
    assert_true(st.confirmed_lsn < end);
    assert_int_equal(rx_stat(&r, "requests"), 1);
    assert_true(tl_slot_confirmed(db, "s_http_bp") < end);

    json_decref(rx_control(&r, "{\"hold\":false}"));
    assert_int_equal(tl_runner_join(&rn), PGCDC_OK);
    assert_int_equal(pgcdc_worker_stats(rn.w, &st), PGCDC_OK);
    pgcdc_worker_free(rn.w);
    expect_delivered(&r, &st, 1, 4000);
    rx_stop(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json_batches_signed),
        cmocka_unit_test(test_ndjson_unsigned),
        cmocka_unit_test(test_retries_keep_order),
        cmocka_unit_test(test_refused_batch_halts),
        cmocka_unit_test(test_max_elapsed_gives_up),
        cmocka_unit_test(test_wrong_secret_detected),
        cmocka_unit_test(test_refused_batch_dead_lettered),
        cmocka_unit_test(test_lanes_keep_key_order),
        cmocka_unit_test(test_https),
        cmocka_unit_test(test_bad_configuration),
        cmocka_unit_test(test_cli_sink),
        cmocka_unit_test(test_backpressure),
    };
    int r;

    tl_env();
    /* PGCDC_TEST_FILTER=test_https runs one test (while debugging). */
    if (getenv("PGCDC_TEST_FILTER") != NULL)
        cmocka_set_test_filter(getenv("PGCDC_TEST_FILTER"));
    curl_global_init(CURL_GLOBAL_DEFAULT);
    r = cmocka_run_group_tests(tests, rx_make_cert, rx_remove_cert);
    curl_global_cleanup();
    return r;
}
