/*
 * Unchanged TOASTed values under DEFAULT and FULL replica identity, a
 * 100 000-row transaction, and protocol 2 streaming of large in-progress
 * transactions (spooled, with aborted subtransactions and transactions).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testlib.h"

/* ~20 kB of hex that compresses badly enough to be stored out of line. */
#define BIG "(SELECT string_agg(md5(i::text || 'x'), '') FROM generate_series(1, 640) i)"

static void test_unchanged_toast(void **state)
{
    const char *db = tl_fresh_db("t_toast");
    pgcdc_config *cfg;
    tl_log log = {0};

    (void)state;
    tl_sql(db, "CREATE TABLE d (id int PRIMARY KEY, n int, big text);"
               "CREATE TABLE f (id int PRIMARY KEY, n int, big text);"
               "ALTER TABLE f REPLICA IDENTITY FULL");
    cfg = tl_config(db, "s_toast", "p_toast", "d,f");
    assert_int_equal(tl_run_until(cfg, tl_current_lsn(db), &log), PGCDC_OK);
    tl_sql(db, "INSERT INTO d VALUES (1, 0, " BIG "); INSERT INTO f VALUES (1, 0, " BIG ")");
    tl_sql(db, "UPDATE d SET n = 1; UPDATE f SET n = 1");
    tl_sql(db, "DELETE FROM d; DELETE FROM f");
    assert_int_equal(tl_run_until(cfg, tl_current_lsn(db), &log), PGCDC_OK);
    assert_int_equal(log.n, 6);
    assert_string_equal(log.items[0].new_row, "id='1' n='0' big='<20480 bytes>'");
    /* DEFAULT: the server did not send it; it is marked, never NULL. */
    assert_string_equal(log.items[2].table, "public.d");
    assert_null(log.items[2].old_row);
    assert_string_equal(log.items[2].new_row, "id='1' n='1' big=<unchanged>");
    /* FULL: filled from the old row. */
    assert_string_equal(log.items[3].table, "public.f");
    assert_string_equal(log.items[3].old_row, "id='1' n='0' big='<20480 bytes>'");
    assert_string_equal(log.items[3].new_row, "id='1' n='1' big='<20480 bytes>'");
    assert_string_equal(log.items[4].old_row, "id='1' n=<absent> big=<absent>");
    assert_string_equal(log.items[5].old_row, "id='1' n='1' big='<20480 bytes>'");
    tl_log_free(&log);
    pgcdc_config_free(cfg);
}

typedef struct counter {
    uint64_t n;
    uint64_t sum;
    uint32_t next_seq;
    int bad;
} counter;

static int count_change(pgcdc_worker *w, const pgcdc_change *c, void *opaque)
{
    counter *k = opaque;
    int64_t id;

    (void)w;
    if (pgcdc_change_seq(c) != k->next_seq)
        k->bad++;
    k->next_seq++;
    if (pgcdc_row_int64(pgcdc_change_new(c), "id", &id) != PGCDC_OK)
        k->bad++;
    k->n++;
    k->sum += (uint64_t)id;
    return PGCDC_HANDLED;
}

static int reset_seq(pgcdc_worker *w, const pgcdc_txn *txn, void *opaque)
{
    (void)w;
    (void)txn;
    ((counter *)opaque)->next_seq = 0;
    return PGCDC_HANDLED;
}

static void run_counting(pgcdc_config *cfg, uint64_t endpos, counter *k)
{
    pgcdc_worker *w;

    pgcdc_config_set_endpos(cfg, endpos);
    pgcdc_config_set_change_cb(cfg, count_change, k);
    pgcdc_config_set_begin_cb(cfg, reset_seq, k);
    w = pgcdc_worker_new(cfg);
    assert_int_equal(pgcdc_worker_start(w), PGCDC_OK);
    if (pgcdc_worker_run(w) != PGCDC_OK)
        fail_msg("run: %s", pgcdc_worker_errmsg(w));
    pgcdc_worker_free(w);
}

static void test_large_transaction(void **state)
{
    const char *db = tl_fresh_db("t_large");
    pgcdc_config *cfg;
    counter k = {0};
    char msg[512];

    (void)state;
    tl_sql(db, "CREATE TABLE big (id int PRIMARY KEY, pad text)");
    cfg = tl_config(db, "s_large", "p_large", "big");
    assert_int_equal(tl_start_only(cfg, msg, sizeof(msg)), PGCDC_OK);
    tl_sql(db, "INSERT INTO big SELECT i, 'row ' || i FROM generate_series(1, 100000) i");
    run_counting(cfg, tl_current_lsn(db), &k);
    assert_int_equal(k.n, 100000);
    assert_int_equal(k.sum, 100000ULL * 100001ULL / 2);
    assert_int_equal(k.bad, 0);
    pgcdc_config_free(cfg);
}

static void test_streamed_transactions(void **state)
{
    const char *db = tl_fresh_db("t_stream");
    char conninfo[256];
    pgcdc_config *cfg;
    counter k = {0};
    char msg[512];

    (void)state;
    /* A tiny decoding memory makes the server stream in-progress transactions. */
    snprintf(conninfo, sizeof(conninfo), "%s options='-c logical_decoding_work_mem=64kB'", db);
    tl_sql(db, "CREATE TABLE s (id int PRIMARY KEY, pad text)");
    cfg = tl_config(conninfo, "s_stream", "p_stream", "s");
    assert_int_equal(pgcdc_config_set_proto_version(cfg, 2), PGCDC_OK);
    if (tl_server_version(db) < 140000) {
        /* Streaming in-progress transactions came with PostgreSQL 14: refused, saying so. */
        assert_int_equal(tl_start_only(cfg, msg, sizeof(msg)), PGCDC_ERR_INVALID);
        assert_non_null(strstr(msg, "protocol 2 needs PostgreSQL 14 or later; this server is 13."));
        /* Refused before anything was created. */
        tl_sql_expect(db, NULL, "SELECT 1 FROM pg_replication_slots WHERE slot_name = 's_stream'");
        tl_sql_expect(db, NULL, "SELECT 1 FROM pg_publication WHERE pubname = 'p_stream'");
        pgcdc_config_free(cfg);
        return;
    }
    assert_int_equal(tl_start_only(cfg, msg, sizeof(msg)), PGCDC_OK);
    /* Committed, with a rolled-back savepoint in the middle: 1..20000 and 30001..40000. */
    tl_sql(db, "BEGIN;"
               "INSERT INTO s SELECT i, repeat('x', 50) FROM generate_series(1, 20000) i;"
               "SAVEPOINT a;"
               "INSERT INTO s SELECT i, repeat('y', 50) FROM generate_series(20001, 30000) i;"
               "ROLLBACK TO SAVEPOINT a;"
               "INSERT INTO s SELECT i, repeat('z', 50) FROM generate_series(30001, 40000) i;"
               "COMMIT");
    /* Aborted entirely: nothing of it may appear. */
    tl_sql(db, "BEGIN; INSERT INTO s SELECT i, 'gone' FROM generate_series(50001, 80000) i;"
               "ROLLBACK");
    tl_sql(db, "INSERT INTO s VALUES (99999, 'small')");
    run_counting(cfg, tl_current_lsn(db), &k);
    assert_int_equal(k.bad, 0);
    assert_int_equal(k.n, 30001);
    assert_int_equal(k.sum, 20000ULL * 20001ULL / 2 + (30001ULL + 40000ULL) * 10000ULL / 2 + 99999);
    /* The server really streamed. */
    {
        char *streamed = tl_sql_value(db, "SELECT stream_txns FROM pg_stat_replication_slots "
                                          "WHERE slot_name = 's_stream'");

        assert_non_null(streamed);
        assert_true(atoi(streamed) >= 1);
        free(streamed);
    }
    pgcdc_config_free(cfg);
}

/* Unless told, pgcdc asks for protocol 2 where the server has it (14+), 1 before. */
static void test_protocol_chosen(void **state)
{
    const char *db = tl_fresh_db("t_proto_auto");
    char conninfo[256];
    pgcdc_config *cfg;
    counter k = {0};
    char msg[512];
    char *streamed;

    (void)state;
    snprintf(conninfo, sizeof(conninfo), "%s options='-c logical_decoding_work_mem=64kB'", db);
    tl_sql(db, "CREATE TABLE a (id int PRIMARY KEY, pad text)");
    cfg = tl_config(conninfo, "s_proto_auto", "p_proto_auto", "a");
    assert_int_equal(tl_start_only(cfg, msg, sizeof(msg)), PGCDC_OK);
    tl_sql(db, "INSERT INTO a SELECT i, repeat('x', 50) FROM generate_series(1, 20000) i");
    run_counting(cfg, tl_current_lsn(db), &k);
    assert_int_equal(k.bad, 0);
    assert_int_equal(k.n, 20000);
    assert_int_equal(k.sum, 20000ULL * 20001ULL / 2);
    if (tl_server_version(db) >= 140000) {
        /* Protocol 2: the server streamed the transaction while it ran. */
        streamed = tl_sql_value(db, "SELECT stream_txns FROM pg_stat_replication_slots "
                                    "WHERE slot_name = 's_proto_auto'");
        assert_non_null(streamed);
        assert_true(atoi(streamed) >= 1);
        free(streamed);
    }
    pgcdc_config_free(cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_unchanged_toast),
        cmocka_unit_test(test_large_transaction),
        cmocka_unit_test(test_streamed_transactions),
        cmocka_unit_test(test_protocol_chosen),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
