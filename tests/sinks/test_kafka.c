/*
 * The kafka sink against a real server and librdkafka's mock cluster, read
 * back with a real consumer: topics, values, keys, headers and tombstones;
 * transaction metadata; the slot held while the brokers are down; errors and
 * a broker down during a load; backpressure; the dead-letter policy; URIs
 * and properties refused before anything connects.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include "kafka_read.h"
#include "testlib.h"
#include "tool.h"

/* How long a test waits for something that must happen (it never asserts a duration). */
#define WAIT_US (180LL * 1000 * 1000)

/* Log lines the worker gave, and whether any came on another thread. */
typedef struct logs {
    pthread_mutex_t mu;
    tl_runner *runner; /* whose thread the lines must come from */
    int foreign;
    int down;  /* "(retrying)" warnings */
    int again; /* "delivering again" */
} logs;

static void on_log(pgcdc_worker *w, pgcdc_log_level level, const char *msg, void *opaque)
{
    logs *lg = opaque;

    (void)w;
    (void)level;
    pthread_mutex_lock(&lg->mu);
    /* Lines before the run (from the start, on the test's thread) are not the question. */
    if (lg->runner != NULL && atomic_load(&lg->runner->running) &&
        !pthread_equal(pthread_self(), lg->runner->run_thread))
        lg->foreign++;
    if (strstr(msg, "(retrying)") != NULL)
        lg->down++;
    if (strstr(msg, "delivering again") != NULL)
        lg->again++;
    pthread_mutex_unlock(&lg->mu);
}

/* A runner whose log lines are counted, and checked to come from its thread only. */
typedef struct runner {
    tl_runner t;
    pgcdc_worker *w;
} runner;

static void start_runner(runner *r, pgcdc_config *cfg, logs *lg)
{
    if (lg != NULL) {
        lg->runner = &r->t;
        pgcdc_config_set_log_cb(cfg, on_log, lg);
    }
    tl_runner_start(&r->t, cfg);
    r->w = r->t.w;
}

static int join_runner(runner *r)
{
    return tl_runner_join(&r->t);
}

static pgcdc_stats stats(const runner *r)
{
    pgcdc_stats st;

    assert_int_equal(pgcdc_worker_stats(r->w, &st), PGCDC_OK);
    return st;
}

/* Waits until the worker handed out n changes. */
static void wait_changes(const runner *r, uint64_t n)
{
    for (long long waited = 0; waited < WAIT_US; waited += 20000) {
        if (stats(r).changes >= n)
            return;
        usleep(20000);
    }
    fail_msg("the worker never handed out %llu changes", (unsigned long long)n);
}

static void wait_confirmed(const runner *r, uint64_t lsn)
{
    for (long long waited = 0; waited < WAIT_US; waited += 20000) {
        if (stats(r).confirmed_lsn >= lsn)
            return;
        usleep(20000);
    }
    fail_msg("the confirmed position never reached what was delivered");
}

static void set(pgcdc_config *cfg, const char *key, const char *value)
{
    char err[512];

    if (pgcdc_config_set(cfg, key, value, err, sizeof(err)) != PGCDC_OK)
        fail_msg("%s=%s: %s", key, value, err);
}

/* In a database made already: t (id, v), and a slot created before any change. */
static pgcdc_config *setup_in(const char *db, const char *name, const char *tables, const char *uri)
{
    char slot[64];
    char pub[64];
    char err[256];
    pgcdc_config *cfg;

    snprintf(slot, sizeof(slot), "s_%s", name);
    snprintf(pub, sizeof(pub), "p_%s", name);
    tl_sql(db, "CREATE TABLE t (id int PRIMARY KEY, v text)");
    cfg = tl_config(db, slot, pub, tables);
    assert_int_equal(tl_start_only(cfg, err, sizeof(err)), PGCDC_OK);
    set(cfg, "sink", uri);
    return cfg;
}

/* A fresh database with t (id, v), and a slot created before any change. */
static pgcdc_config *setup(const char *name, const char *tables, const char *uri)
{
    char db[128];

    snprintf(db, sizeof(db), "%s", tl_fresh_db(name));
    return setup_in(db, name, tables, uri);
}

static const char *jstr(json_t *doc, const char *name)
{
    const char *s = json_string_value(json_object_get(doc, name));

    return s != NULL ? s : "";
}

/* Every message of a transaction carries its commit LSN and xid; seq counts from 0. */
static void check_headers(const kt_read *rd)
{
    for (size_t i = 0; i < rd->n; i++) {
        uint64_t lsn;

        assert_int_equal(pgcdc_lsn_parse(rd->m[i].commit_lsn, &lsn), PGCDC_OK);
        assert_true(lsn > 0);
        assert_true(rd->m[i].xid > 0);
        assert_true(rd->m[i].seq >= 0);
    }
}

/* Default topics, json values, keys, headers, a tombstone after the DELETE, a null key (TRUNCATE).
 */
static void test_topics_values_keys(void **state)
{
    kt_mock m;
    char uri[600];
    pgcdc_config *cfg;
    kt_read rd;
    const kt_msg *k1;
    const kt_msg *k2;
    const char *db = "dbname=k_topics";
    uint64_t end;
    json_t *doc;
    size_t truncates = 0;
    char in_part[64] = {0};

    (void)state;
    kt_mock_start(&m, 3);
    snprintf(uri, sizeof(uri), "kafka://%s", m.bootstrap);
    cfg = setup("k_topics", "t", uri);
    tl_sql(db, "BEGIN; INSERT INTO t VALUES (1, 'a'), (2, 'b'); COMMIT");
    tl_sql(db, "UPDATE t SET v = 'c' WHERE id = 1");
    tl_sql(db, "DELETE FROM t WHERE id = 2");
    tl_sql(db, "TRUNCATE t");
    end = tl_current_lsn(db);
    tl_run_to_end(cfg, end);

    /*
     * ${prefix}.${schema}.${table}: two inserts, an update, a delete, its
     * tombstone, a truncate in each partition.
     */
    kt_read_topic(m.bootstrap, "pgcdc.public.t", 7, 0, &rd);
    check_headers(&rd);
    k1 = kt_find_key(&rd, "{\"id\":1}", 0);
    assert_non_null(k1);
    doc = tt_parse(k1->value);
    assert_string_equal(jstr(doc, "op"), "INSERT");
    assert_int_equal(k1->seq, 0);
    json_decref(doc);
    k2 = kt_find_key(&rd, "{\"id\":2}", 0);
    assert_non_null(k2);
    assert_int_equal(k2->seq, 1);
    assert_string_equal(k2->commit_lsn, k1->commit_lsn);
    assert_int_equal(k2->xid, k1->xid);
    /* Per key, in order: id 1 inserted then updated; id 2 inserted, deleted, tombstoned. */
    k1 = kt_find_key(&rd, "{\"id\":1}", (size_t)(k1 - rd.m) + 1);
    assert_non_null(k1);
    doc = tt_parse(k1->value);
    assert_string_equal(jstr(doc, "op"), "UPDATE");
    json_decref(doc);
    k2 = kt_find_key(&rd, "{\"id\":2}", (size_t)(k2 - rd.m) + 1);
    assert_non_null(k2);
    doc = tt_parse(k2->value);
    assert_string_equal(jstr(doc, "op"), "DELETE");
    json_decref(doc);
    k2 = kt_find_key(&rd, "{\"id\":2}", (size_t)(k2 - rd.m) + 1);
    assert_non_null(k2);
    assert_null(k2->value);
    assert_int_equal(k2->partition, kt_find_key(&rd, "{\"id\":2}", 0)->partition);
    /* A TRUNCATE has no key: a null key, one in each partition, after the rows there. */
    for (size_t i = 0; i < rd.n; i++) {
        if (rd.m[i].key != NULL)
            continue;
        doc = tt_parse(rd.m[i].value);
        assert_string_equal(jstr(doc, "op"), "TRUNCATE");
        json_decref(doc);
        assert_true(truncates < 64);
        assert_false(in_part[rd.m[i].partition & 63]);
        in_part[rd.m[i].partition & 63] = 1;
        truncates++;
        for (size_t j = 0; j < rd.n; j++)
            assert_false(rd.m[j].key != NULL && rd.m[j].partition == rd.m[i].partition &&
                         rd.m[j].offset > rd.m[i].offset);
    }
    assert_true(truncates > 1);
    assert_int_equal(rd.n, 5 + truncates);
    kt_read_free(&rd);
    kt_mock_stop(&m);
}

/*
 * A schema change goes to every partition of the table's topic, each copy
 * before the rows of the new shape there; the rows keep their keys'
 * partitions.
 */
static void test_schema_change_everywhere(void **state)
{
    kt_mock m;
    char uri[600];
    pgcdc_config *cfg;
    kt_read rd;
    const char *db = "dbname=k_schema";
    int copies = 0;
    int first_at[64];

    (void)state;
    kt_mock_start(&m, 3);
    snprintf(uri, sizeof(uri), "kafka://%s", m.bootstrap);
    cfg = setup("k_schema", "t", uri);
    tl_sql(db, "INSERT INTO t VALUES (1, 'a')");
    tl_sql(db, "ALTER TABLE t ADD COLUMN w int");
    tl_sql(db, "INSERT INTO t SELECT g, 'b', g FROM generate_series(2, 17) g");
    tl_run_to_end(cfg, tl_current_lsn(db));

    kt_read_topic(m.bootstrap, "pgcdc.public.t", 18, 0, &rd);
    for (int p = 0; p < 64; p++)
        first_at[p] = -1;
    for (size_t i = 0; i < rd.n; i++) {
        json_t *doc = tt_parse(rd.m[i].value);
        int p = rd.m[i].partition;

        assert_in_range(p, 0, 63);
        if (strcmp(jstr(doc, "op"), "SCHEMA_CHANGE") == 0) {
            /* One copy per partition, with the seq of the first row after it. */
            assert_int_equal(first_at[p], -1);
            assert_null(rd.m[i].key);
            assert_int_equal(rd.m[i].seq, 0);
            first_at[p] = (int)rd.m[i].offset;
            copies++;
        } else if (json_integer_value(json_object_get(json_object_get(doc, "new"), "id")) > 1) {
            /* A row of the new shape: its partition's copy came before it. */
            assert_true(first_at[p] >= 0 && first_at[p] < (int)rd.m[i].offset);
        }
        json_decref(doc);
    }
    /* The mock cluster's topics have several partitions: the copies are several. */
    assert_true(copies > 1);
    assert_int_equal(rd.n, 17 + (size_t)copies);
    kt_read_free(&rd);
    kt_mock_stop(&m);
}

/* Many tables, a topic each (the producer's topic handles grow past their first table). */
static void test_many_topics(void **state)
{
    enum { NTABLES = 20 };
    const char *db = "dbname=k_many";
    char tables[NTABLES * 8];
    kt_mock m;
    char uri[600];
    pgcdc_config *cfg;
    char err[256];
    size_t len = 0;

    (void)state;
    kt_mock_start(&m, 1);
    snprintf(uri, sizeof(uri), "kafka://%s", m.bootstrap);
    tl_fresh_db("k_many");
    for (int i = 0; i < NTABLES; i++) {
        tl_sql(db, "CREATE TABLE m%d (id int PRIMARY KEY, v text)", i);
        len += (size_t)snprintf(tables + len, sizeof(tables) - len, "%sm%d", i > 0 ? "," : "", i);
    }
    cfg = tl_config(db, "s_k_many", "p_k_many", tables);
    assert_int_equal(tl_start_only(cfg, err, sizeof(err)), PGCDC_OK);
    set(cfg, "sink", uri);
    /* Two transactions, each touching every table: per topic, id 1 then id 2. */
    for (int round = 1; round <= 2; round++) {
        char txn[NTABLES * 48];

        len = (size_t)snprintf(txn, sizeof(txn), "BEGIN;");
        for (int i = 0; i < NTABLES; i++)
            len += (size_t)snprintf(txn + len, sizeof(txn) - len,
                                    " INSERT INTO m%d VALUES (%d, 'r%d');", i, round, round);
        snprintf(txn + len, sizeof(txn) - len, " COMMIT");
        tl_sql(db, "%s", txn);
    }
    tl_run_to_end(cfg, tl_current_lsn(db));
    for (int i = 0; i < NTABLES; i++) {
        char topic[64];
        kt_read rd;
        const kt_msg *a;
        const kt_msg *b;

        snprintf(topic, sizeof(topic), "pgcdc.public.m%d", i);
        kt_read_topic(m.bootstrap, topic, 2, 0, &rd);
        assert_int_equal(rd.n, 2);
        a = kt_find_key(&rd, "{\"id\":1}", 0);
        b = kt_find_key(&rd, "{\"id\":2}", 0);
        assert_non_null(a);
        assert_non_null(b);
        assert_true(strstr(a->value, "\"r1\"") != NULL);
        assert_true(strstr(b->value, "\"r2\"") != NULL);
        kt_read_free(&rd);
    }
    kt_mock_stop(&m);
}

/* A template, the Debezium format (values and keys), no tombstones, the transaction topic. */
static void test_debezium_template_txn_topic(void **state)
{
    const char *db = "dbname=k_dbz";
    kt_mock m;
    char uri[600];
    pgcdc_config *cfg;
    kt_read rd;
    kt_read tx;
    const kt_msg *k;
    int begins = 0;
    int ends = 0;
    json_t *doc;

    (void)state;
    kt_mock_start(&m, 1);
    snprintf(uri, sizeof(uri), "kafka://%s/cdc.${schema}_${table}", m.bootstrap);
    tl_fresh_db("k_dbz");
    tl_sql(db, "CREATE TABLE \"Odd Tab\" (id int PRIMARY KEY)");
    cfg = setup_in(db, "k_dbz", "t,public.\"Odd Tab\"", uri);
    set(cfg, "format", "debezium");
    set(cfg, "sink.kafka.tombstones", "false");
    set(cfg, "sink.kafka.transaction_topic", "cdc.txn");
    set(cfg, "debezium.provide.transaction.metadata", "true");
    set(cfg, "sink.kafka.linger.ms", "1");
    tl_sql(db, "BEGIN; INSERT INTO t VALUES (1, 'a'), (2, 'b'); COMMIT");
    tl_sql(db, "UPDATE t SET v = 'c' WHERE id = 1");
    tl_sql(db, "DELETE FROM t WHERE id = 2");
    tl_sql(db, "INSERT INTO \"Odd Tab\" VALUES (9)");
    tl_run_to_end(cfg, tl_current_lsn(db));

    kt_read_topic(m.bootstrap, "cdc.public_t", 4, 0, &rd);
    assert_int_equal(rd.n, 4); /* no tombstone */
    check_headers(&rd);
    k = kt_find_key(&rd, "{\"id\":1}", 0);
    assert_non_null(k);
    doc = tt_parse(k->value);
    assert_string_equal(jstr(doc, "op"), "c");
    assert_int_equal(json_integer_value(json_object_get(json_object_get(doc, "after"), "id")), 1);
    json_decref(doc);
    k = kt_find_key(&rd, "{\"id\":1}", (size_t)(k - rd.m) + 1);
    assert_non_null(k);
    doc = tt_parse(k->value);
    assert_string_equal(jstr(doc, "op"), "u");
    json_decref(doc);
    k = kt_find_key(&rd, "{\"id\":2}", 0);
    assert_non_null(k);
    k = kt_find_key(&rd, "{\"id\":2}", (size_t)(k - rd.m) + 1);
    assert_non_null(k);
    doc = tt_parse(k->value);
    assert_string_equal(jstr(doc, "op"), "d");
    assert_int_equal(json_integer_value(json_object_get(json_object_get(doc, "before"), "id")), 2);
    json_decref(doc);
    kt_read_free(&rd);

    /* Characters Kafka refuses in a name become '_' in the topic. */
    kt_read_topic(m.bootstrap, "cdc.public_Odd_Tab", 1, 0, &rd);
    assert_int_equal(rd.n, 1);
    assert_string_equal(rd.m[0].key, "{\"id\":9}");
    kt_read_free(&rd);

    /* Four transactions: a BEGIN and an END record each. */
    kt_read_topic(m.bootstrap, "cdc.txn", 8, 0, &tx);
    assert_int_equal(tx.n, 8);
    for (size_t i = 0; i < tx.n; i++) {
        doc = tt_parse(tx.m[i].value);
        if (strcmp(jstr(doc, "status"), "BEGIN") == 0)
            begins++;
        if (strcmp(jstr(doc, "status"), "END") == 0) {
            ends++;
            assert_true(json_integer_value(json_object_get(doc, "event_count")) >= 1);
        }
        json_decref(doc);
    }
    assert_int_equal(begins, 4);
    assert_int_equal(ends, 4);
    kt_read_free(&tx);
    kt_mock_stop(&m);
}

/* Every id from 1 to n is in the topic (read back). */
static void expect_ids(const kt_read *rd, int n)
{
    char *seen = calloc((size_t)n + 1, 1);

    assert_non_null(seen);
    for (size_t i = 0; i < rd->n; i++) {
        json_t *doc;
        long id;

        if (rd->m[i].value == NULL)
            continue;
        doc = tt_parse(rd->m[i].value);
        id = (long)json_integer_value(json_object_get(json_object_get(doc, "new"), "id"));
        json_decref(doc);
        if (id >= 1 && id <= n)
            seen[id] = 1;
    }
    for (int id = 1; id <= n; id++) {
        if (!seen[id])
            fail_msg("id %d is missing from the topic", id);
    }
    free(seen);
}

static void logs_init(logs *lg)
{
    memset(lg, 0, sizeof(*lg));
    pthread_mutex_init(&lg->mu, NULL);
}

/* The brokers down: nothing past the undelivered is confirmed; back up: all of it. */
static void test_slot_waits_for_brokers(void **state)
{
    const char *db = "dbname=k_down";
    kt_mock m;
    char uri[600];
    pgcdc_config *cfg;
    runner run;
    logs lg;
    uint64_t after;
    kt_read rd;

    (void)state;
    logs_init(&lg);
    kt_mock_start(&m, 3);
    snprintf(uri, sizeof(uri), "kafka://%s", m.bootstrap);
    cfg = setup("k_down", "t", uri);
    start_runner(&run, cfg, &lg);
    pgcdc_config_free(cfg);
    tl_sql(db, "INSERT INTO t VALUES (1, 'a')");
    wait_confirmed(&run, tl_current_lsn(db));

    kt_mock_all(&m, 1);
    for (int i = 0; i < 5; i++)
        tl_sql(db, "INSERT INTO t SELECT g, 'x' FROM generate_series(%d, %d) g", 2 + i * 10,
               11 + i * 10);
    after = tl_current_lsn(db);
    wait_changes(&run, 51);
    /* Time for a wrong confirmation to show (the test asserts no duration). */
    sleep(3);
    assert_true(stats(&run).confirmed_lsn < after);
    assert_true(tl_slot_confirmed(db, "s_k_down") < after);

    kt_mock_all(&m, 0);
    wait_confirmed(&run, after);
    pgcdc_worker_stop(run.w);
    assert_int_equal(join_runner(&run), PGCDC_OK);
    pgcdc_worker_free(run.w);
    kt_read_topic(m.bootstrap, "pgcdc.public.t", 51, 0, &rd);
    assert_true(rd.n >= 51);
    expect_ids(&rd, 51);
    kt_read_free(&rd);
    kt_mock_stop(&m);
    /* Told once per change of state, and only on the worker's thread. */
    assert_int_equal(lg.foreign, 0);
    assert_true(lg.down >= 1);
    assert_true(lg.again >= 1);
    assert_true(lg.down <= 3);
    pthread_mutex_destroy(&lg.mu);
}

/* Errors and a broker down during a load: nothing lost, each key's versions in order. */
static void test_load_with_broker_errors(void **state)
{
    const char *db = "dbname=k_load";
    enum { KEYS = 40, ROUNDS = 75 };
    rd_kafka_resp_err_t errs[] = {RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION,
                                  RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT,
                                  RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS,
                                  RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE,
                                  RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND,
                                  RD_KAFKA_RESP_ERR__TRANSPORT};
    int last[KEYS + 1];
    unsigned char seen[KEYS + 1][ROUNDS];
    kt_mock m;
    char uri[600];
    pgcdc_config *cfg;
    runner run;
    logs lg;
    kt_read rd;
    size_t repeats = 0;
    int r;

    (void)state;
    logs_init(&lg);
    kt_mock_start(&m, 3);
    snprintf(uri, sizeof(uri), "kafka://%s", m.bootstrap);
    cfg = setup("k_load", "t", uri);
    /*
     * librdkafka 2.0.2's mock checks no sequence numbers for a producer
     * without a transactional id: a request after a failed one is appended
     * where a real broker would refuse it (out of order), and a request whose
     * answer was lost (its broker went down) is appended again when retried,
     * where a real broker drops the duplicate.  One request in flight keeps
     * the order on the mock; the check below skips repeats.
     */
    set(cfg, "sink.kafka.max.in.flight.requests.per.connection", "1");
    tl_sql(db, "INSERT INTO t SELECT g, '0' FROM generate_series(1, %d) g", KEYS);
    for (int i = 1; i < ROUNDS; i++)
        tl_sql(db, "UPDATE t SET v = '%d'", i);
    pgcdc_config_set_endpos(cfg, tl_current_lsn(db));
    start_runner(&run, cfg, &lg);
    pgcdc_config_free(cfg);
    wait_changes(&run, 200);
    rd_kafka_mock_push_request_errors_array(m.mc, 0 /* Produce */, 6, errs);
    wait_changes(&run, 1000);
    rd_kafka_mock_broker_set_down(m.mc, 2);
    wait_changes(&run, 1800);
    usleep(500000);
    rd_kafka_mock_broker_set_up(m.mc, 2);
    rd_kafka_mock_push_request_errors_array(m.mc, 0, 4, errs);
    r = join_runner(&run);
    if (r != PGCDC_OK)
        fail_msg("run: %s", pgcdc_worker_errmsg(run.w));
    pgcdc_worker_free(run.w);

    kt_read_topic(m.bootstrap, "pgcdc.public.t", KEYS * ROUNDS, 0, &rd);
    assert_true(rd.n >= KEYS * ROUNDS);
    memset(seen, 0, sizeof(seen));
    for (int k = 0; k <= KEYS; k++)
        last[k] = -1;
    /* One key is one partition, read in order: its versions, repeats aside, never go back. */
    for (size_t i = 0; i < rd.n; i++) {
        json_t *doc = tt_parse(rd.m[i].value);
        json_t *row = json_object_get(doc, "new");
        int id = (int)json_integer_value(json_object_get(row, "id"));
        int ver = atoi(json_string_value(json_object_get(row, "v")));

        json_decref(doc);
        assert_true(id >= 1 && id <= KEYS && ver >= 0 && ver < ROUNDS);
        if (seen[id][ver]) {
            repeats++;
            continue;
        }
        if (ver < last[id])
            fail_msg("id %d: version %d after %d", id, ver, last[id]);
        last[id] = ver;
        seen[id][ver] = 1;
    }
    for (int id = 1; id <= KEYS; id++) {
        for (int v = 0; v < ROUNDS; v++) {
            if (!seen[id][v])
                fail_msg("id %d version %d is missing", id, v);
        }
    }
    if (repeats > 0)
        print_message("%zu repeated messages (retries the mock did not deduplicate)\n", repeats);
    kt_read_free(&rd);
    kt_mock_stop(&m);
    assert_int_equal(lg.foreign, 0);
    pthread_mutex_destroy(&lg.mu);
}

/* A small bound with the cluster down: the stream stops well short; then nothing is lost. */
static void test_backpressure(void **state)
{
    const char *db = "dbname=k_bp";
    kt_mock m;
    char uri[600];
    pgcdc_config *cfg;
    runner run;
    uint64_t end;
    uint64_t prev = 0;
    pgcdc_stats st;
    kt_read rd;

    (void)state;
    kt_mock_start(&m, 1);
    snprintf(uri, sizeof(uri), "kafka://%s", m.bootstrap);
    cfg = setup("k_bp", "t", uri);
    set(cfg, "sink.kafka.max_inflight", "16kB");
    kt_mock_all(&m, 1);
    for (int i = 0; i < 30; i++)
        tl_sql(db, "INSERT INTO t SELECT g, repeat('x', 100) FROM generate_series(%d, %d) g",
               1 + i * 100, 100 + i * 100);
    end = tl_current_lsn(db);
    pgcdc_config_set_endpos(cfg, end);
    start_runner(&run, cfg, NULL);
    pgcdc_config_free(cfg);
    wait_changes(&run, 1);
    /* Until the worker stops taking changes (bounded). */
    for (int i = 0; i < 60; i++) {
        sleep(1);
        st = stats(&run);
        if (st.changes == prev)
            break;
        prev = st.changes;
    }
    st = stats(&run);
    assert_true(st.changes < 1500);
    assert_true(st.received_lsn < end);
    assert_true(st.confirmed_lsn < end);

    kt_mock_all(&m, 0);
    if (join_runner(&run) != PGCDC_OK)
        fail_msg("run: %s", pgcdc_worker_errmsg(run.w));
    assert_int_equal(stats(&run).changes, 3000);
    pgcdc_worker_free(run.w);
    kt_read_topic(m.bootstrap, "pgcdc.public.t", 3000, 0, &rd);
    assert_true(rd.n >= 3000);
    expect_ids(&rd, 3000);
    kt_read_free(&rd);
    kt_mock_stop(&m);
}

/*
 * Messages the cluster refuses for good: with the dead-letter policy they go
 * to the file (one refused when produced, one in its delivery report) and
 * the run goes on past them; with the halt policy the run stops, nothing
 * confirmed past them.
 */
static void test_dead_letter_and_halt(void **state)
{
    const char *db = "dbname=k_dlq";
    char dlq[] = "/tmp/pgcdc-kafka-dlq-XXXXXX";
    kt_mock m;
    char uri[600];
    pgcdc_config *cfg;
    pgcdc_worker *w;
    pgcdc_stats st;
    kt_read rd;
    json_t *lines;
    int events = 0; /* refused when produced */
    int payloads = 0;
    uint64_t end;
    int fd = mkstemp(dlq);
    int r;

    (void)state;
    close(fd);
    unlink(dlq);
    kt_mock_start(&m, 1);
    snprintf(uri, sizeof(uri), "kafka://%s", m.bootstrap);
    cfg = setup("k_dlq", "t", uri);
    set(cfg, "on_error", "dead_letter");
    set(cfg, "dead_letter", dlq);
    set(cfg, "sink.kafka.message.max.bytes", "2000");
    pgcdc_config_set_handler_retries(cfg, 1, 1);
    tl_sql(db, "INSERT INTO t VALUES (1, 'small')");
    tl_sql(db, "INSERT INTO t VALUES (2, repeat('y', 5000))");
    tl_sql(db, "INSERT INTO t VALUES (3, 'small')");
    end = tl_current_lsn(db);
    pgcdc_config_set_endpos(cfg, end);
    /* The first produce request is refused for good (MESSAGE_TOO_LARGE). */
    rd_kafka_mock_push_request_errors(m.mc, 0 /* Produce */, 1,
                                      RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE);
    w = pgcdc_worker_new(cfg);
    assert_int_equal(pgcdc_worker_start(w), PGCDC_OK);
    r = pgcdc_worker_run(w);
    if (r != PGCDC_OK)
        fail_msg("run: %d %s", r, pgcdc_worker_errmsg(w));
    assert_int_equal(pgcdc_worker_stats(w, &st), PGCDC_OK);
    assert_true(st.dead_letters >= 2);
    pgcdc_worker_free(w);
    pgcdc_config_free(cfg);
    assert_true(tl_slot_confirmed(db, "s_k_dlq") > 0);

    /* Every row is in the topic or in the file; the large one in the file. */
    lines = tt_parse_lines(dlq);
    for (size_t i = 0; i < json_array_size(lines); i++) {
        json_t *l = json_array_get(lines, i);
        const char *why = jstr(json_object_get(l, "dead_letter"), "error");
        json_t *doc = tt_parse(jstr(l, "payload"));
        long id = (long)json_integer_value(json_object_get(json_object_get(doc, "new"), "id"));

        json_decref(doc);
        payloads++;
        if (strstr(why, "could not produce to topic \"pgcdc.public.t\"") != NULL) {
            /* Refused when produced: larger than message.max.bytes. */
            events++;
            assert_int_equal(id, 2);
        } else {
            /* Refused by the cluster, in the delivery report. */
            assert_non_null(strstr(why, "could not deliver to topic \"pgcdc.public.t\""));
            assert_true(id == 1 || id == 3);
        }
    }
    assert_int_equal(events, 1);
    assert_true(payloads >= 2);
    kt_read_topic(m.bootstrap, "pgcdc.public.t", 3 - (size_t)payloads, 0, &rd);
    assert_int_equal(rd.n + (size_t)payloads, 3);
    kt_read_free(&rd);
    json_decref(lines);
    unlink(dlq);

    /* The halt policy: the run stops on it, nothing confirmed past it. */
    tl_sql(db, "INSERT INTO t VALUES (4, 'halt')");
    end = tl_current_lsn(db);
    cfg = tl_config(db, "s_k_dlq", "p_k_dlq", "t");
    set(cfg, "sink", uri);
    pgcdc_config_set_handler_retries(cfg, 1, 1);
    pgcdc_config_set_endpos(cfg, end);
    rd_kafka_mock_push_request_errors(m.mc, 0, 1, RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE);
    w = pgcdc_worker_new(cfg);
    assert_int_equal(pgcdc_worker_start(w), PGCDC_OK);
    assert_int_equal(pgcdc_worker_run(w), PGCDC_ERR_SINK);
    assert_non_null(
        strstr(pgcdc_worker_errmsg(w), "could not deliver to topic \"pgcdc.public.t\""));
    assert_non_null(strstr(pgcdc_worker_errmsg(w), "nothing after the last confirmed position"));
    assert_null(strchr(pgcdc_worker_errmsg(w), '\n'));
    assert_int_equal(pgcdc_worker_stats(w, &st), PGCDC_OK);
    assert_int_equal(st.state, PGCDC_STATE_FAILED);
    assert_true(st.confirmed_lsn < end);
    pgcdc_worker_free(w);
    pgcdc_config_free(cfg);
    assert_true(tl_slot_confirmed(db, "s_k_dlq") < end);
    kt_mock_stop(&m);
}

/* URIs and properties refused with a one-line reason before anything connects. */
static void test_refused_before_connecting(void **state)
{
    static const char *const bad[][2] = {
        {"kafka://", "no broker host"},
        {"kafka:///topic", "no broker host"},
        {"kafka://localhost/t", "has no port"},
        {"kafka://localhost:0/t", "bad port"},
        {"kafka://localhost:99999/t", "bad port"},
        {"kafka://localhost:x1/t", "bad port"},
        {"kafka://localhost:9092,/t", "no broker host"},
        {"kafka://localhost:9092/${nope}", "unknown placeholder \"${nope}\""},
        {"kafka://localhost:9092/${schema", "unclosed"},
        {"kafka://localhost:9092/a b", "not allowed in a Kafka topic name"},
        {"kafka://localhost:9092/a/b", "not allowed in a Kafka topic name"},
    };
    static const char *const good[] = {
        "kafka://localhost:9092",
        "kafka://localhost:9092/",
        "kafka://a:1,b.example:65535/x.${prefix}.${schema}-${table}_1",
    };
    pgcdc_config *cfg = pgcdc_config_new();
    char err[512];

    (void)state;
    tl_assert_sink_uris(cfg, bad, sizeof(bad) / sizeof(bad[0]), good,
                        sizeof(good) / sizeof(good[0]));
    /* librdkafka's own properties pass through, checked by librdkafka. */
    assert_int_equal(pgcdc_config_set(cfg, "sink.kafka.linger.ms", "20", err, sizeof(err)),
                     PGCDC_OK);
    assert_int_equal(pgcdc_config_set(cfg, "sink.kafka.compression.codec", "lz4", err, sizeof(err)),
                     PGCDC_OK);
    assert_int_equal(pgcdc_config_set(cfg, "sink.kafka.no.such.thing", "1", err, sizeof(err)),
                     PGCDC_ERR_INVALID);
    assert_non_null(strstr(err, "No such configuration property"));
    assert_null(strchr(err, '\n'));
    assert_int_equal(pgcdc_config_set(cfg, "sink.kafka.acks", "banana", err, sizeof(err)),
                     PGCDC_ERR_INVALID);
    assert_non_null(strstr(err, "acks"));
    assert_int_equal(pgcdc_config_set(cfg, "sink.kafka.bootstrap.servers", "x:1", err, sizeof(err)),
                     PGCDC_ERR_INVALID);
    assert_int_equal(pgcdc_config_set(cfg, "sink.kafka.tombstones", "maybe", err, sizeof(err)),
                     PGCDC_ERR_INVALID);
    assert_int_equal(pgcdc_config_set(cfg, "sink.kafka.max_inflight", "12", err, sizeof(err)),
                     PGCDC_ERR_INVALID);
    assert_int_equal(pgcdc_config_set(cfg, "sink.kafka.exactly_once", "on", err, sizeof(err)),
                     PGCDC_OK);
    pgcdc_config_free(cfg);
}

static int teardown_all(void **state)
{
    (void)state;
    /* Every handle of librdkafka's is gone (its threads too). */
    return rd_kafka_wait_destroyed(10000) == 0 ? 0 : -1;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_refused_before_connecting),
        cmocka_unit_test(test_topics_values_keys),
        cmocka_unit_test(test_schema_change_everywhere),
        cmocka_unit_test(test_many_topics),
        cmocka_unit_test(test_debezium_template_txn_topic),
        cmocka_unit_test(test_slot_waits_for_brokers),
        cmocka_unit_test(test_dead_letter_and_halt),
        cmocka_unit_test(test_backpressure),
        cmocka_unit_test(test_load_with_broker_errors),
    };

    return cmocka_run_group_tests(tests, NULL, teardown_all);
}
