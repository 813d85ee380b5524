/*
 * The four operations on several tables, end to end through a real server:
 * values, old rows under DEFAULT and FULL replica identity, transaction
 * boundaries, (commit_lsn, seq) and the slot's confirmed position.
 */
#include <stdlib.h>
#include <string.h>

#include "testlib.h"

static void test_four_operations(void **state)
{
    const char *db = tl_fresh_db("t_basic");
    pgcdc_config *cfg;
    tl_log log = {0};
    uint64_t end;

    (void)state;
    tl_sql(db, "CREATE TABLE orders (id int PRIMARY KEY, status text, total numeric(10,2));"
               "CREATE TABLE items (id int PRIMARY KEY, order_id int, qty int);"
               "CREATE TABLE other (id int PRIMARY KEY)");
    cfg = tl_config(db, "s_basic", "p_basic", "orders,public.items");
    /* First start creates publication and slot; nothing to stream yet. */
    assert_int_equal(tl_run_until(cfg, tl_current_lsn(db), &log), PGCDC_OK);
    assert_int_equal(log.n, 0);

    tl_sql(db, "INSERT INTO orders VALUES (1, 'pending', 99.99), (2, NULL, 5)");
    tl_sql(db, "BEGIN; UPDATE orders SET status = 'paid' WHERE id = 1;"
               "INSERT INTO items VALUES (10, 1, 2); INSERT INTO other VALUES (1); COMMIT");
    tl_sql(db, "UPDATE orders SET id = 3 WHERE id = 2");
    tl_sql(db, "DELETE FROM items WHERE id = 10");
    tl_sql(db, "ALTER TABLE orders REPLICA IDENTITY FULL");
    tl_sql(db, "UPDATE orders SET status = 'shipped' WHERE id = 1");
    tl_sql(db, "DELETE FROM orders WHERE id = 3");
    tl_sql(db, "TRUNCATE items");
    end = tl_current_lsn(db);
    assert_int_equal(tl_run_until(cfg, end, &log), PGCDC_OK);

    assert_int_equal(log.n, 10);
    tl_expect_change(&log.items[0], "INSERT", "public.orders", NULL,
                     "id='1' status='pending' total='99.99'");
    tl_expect_change(&log.items[1], "INSERT", "public.orders", NULL,
                     "id='2' status=NULL total='5.00'");
    assert_int_equal(log.items[0].commit_lsn, log.items[1].commit_lsn);
    assert_int_equal(log.items[0].seq, 0);
    assert_int_equal(log.items[1].seq, 1);
    /* DEFAULT identity, key unchanged: no old row. */
    tl_expect_change(&log.items[2], "UPDATE", "public.orders", NULL,
                     "id='1' status='paid' total='99.99'");
    tl_expect_change(&log.items[3], "INSERT", "public.items", NULL, "id='10' order_id='1' qty='2'");
    assert_int_equal(log.items[3].seq, 1); /* "other" is not in the set */
    assert_true(log.items[2].commit_lsn > log.items[1].commit_lsn);
    /* Key changed: the old key only; other columns are absent, not NULL. */
    tl_expect_change(&log.items[4], "UPDATE", "public.orders",
                     "id='2' status=<absent> total=<absent>", "id='3' status=NULL total='5.00'");
    tl_expect_change(&log.items[5], "DELETE", "public.items",
                     "id='10' order_id=<absent> qty=<absent>", NULL);
    /* The identity changed what old rows carry: the table's new shape comes first. */
    tl_expect_change(&log.items[6], "SCHEMA_CHANGE", "public.orders",
                     "id=<absent> status=<absent> total=<absent>",
                     "id=<absent> status=<absent> total=<absent>");
    assert_int_equal(log.items[6].seq, log.items[7].seq);
    assert_int_equal(log.items[6].commit_lsn, log.items[7].commit_lsn);
    /* FULL identity: whole old rows. */
    tl_expect_change(&log.items[7], "UPDATE", "public.orders", "id='1' status='paid' total='99.99'",
                     "id='1' status='shipped' total='99.99'");
    tl_expect_change(&log.items[8], "DELETE", "public.orders", "id='3' status=NULL total='5.00'",
                     NULL);
    tl_expect_change(&log.items[9], "TRUNCATE", "public.items", NULL, NULL);
    assert_true(log.items[0].commit_time > 1700000000000000LL);
    assert_true(log.items[0].xid > 0);
    assert_int_equal(log.begins, log.commits);
    /*
     * Before PostgreSQL 15 pgoutput also sends the transactions that changed no
     * published table (here the one that only altered the replica identity).
     */
    if (tl_server_version(db) >= 150000)
        assert_int_equal(log.commits, 7);
    else
        assert_int_equal(log.commits, 8);
    /* Everything handled is confirmed, and nothing past the end position. */
    assert_true(tl_slot_confirmed(db, "s_basic") >= log.items[8].commit_lsn);
    assert_true(tl_slot_confirmed(db, "s_basic") <= end);

    /* A second run from the slot sees nothing again. */
    tl_log_free(&log);
    assert_int_equal(tl_run_until(cfg, tl_current_lsn(db), &log), PGCDC_OK);
    assert_int_equal(log.n, 0);
    tl_log_free(&log);
    pgcdc_config_free(cfg);
}

static void test_typed_accessors_pull(void **state)
{
    const char *db = tl_fresh_db("t_pull");
    pgcdc_config *cfg;
    pgcdc_worker *w;
    const pgcdc_change *c;
    const pgcdc_row *row;
    int64_t i64;
    double d;
    int b;
    const char *s;
    uint8_t bytes[8];
    size_t blen;
    char msg[512];
    uint64_t commit_lsn;

    (void)state;
    tl_sql(db, "CREATE TABLE t (id bigint PRIMARY KEY, f float8, ok bool, n numeric, "
               "ts timestamptz, dt date, bin bytea, j jsonb, note text)");
    cfg = tl_config(db, "s_pull", "p_pull", "t");
    assert_int_equal(tl_start_only(cfg, msg, sizeof(msg)), PGCDC_OK);
    tl_sql(db, "INSERT INTO t VALUES (9223372036854775807, 1.5, true, 12345678901234567890.123,"
               " '2026-11-24 22:00:00.123456+00', '2026-11-24', '\\x00ff10', '{\"a\": [1, 2]}',"
               " NULL)");
    pgcdc_config_set_endpos(cfg, tl_current_lsn(db));
    w = pgcdc_worker_new(cfg);
    assert_int_equal(pgcdc_worker_start(w), PGCDC_OK);
    assert_int_equal(pgcdc_worker_next(w, &c, 10000), PGCDC_OK);
    assert_non_null(c);
    assert_int_equal(pgcdc_change_op(c), PGCDC_OP_INSERT);
    assert_int_equal(pgcdc_change_nkeys(c), 1);
    assert_string_equal(pgcdc_change_key(c, 0), "id");
    assert_null(pgcdc_change_old(c));
    row = pgcdc_change_new(c);
    assert_int_equal(pgcdc_row_int64(row, "id", &i64), PGCDC_OK);
    assert_true(i64 == INT64_MAX);
    assert_int_equal(pgcdc_row_double(row, "f", &d), PGCDC_OK);
    assert_true(d == 1.5);
    assert_int_equal(pgcdc_row_get_bool(row, pgcdc_row_find(row, "ok"), &b), PGCDC_OK);
    assert_int_equal(b, 1);
    assert_int_equal(pgcdc_row_get_numeric(row, pgcdc_row_find(row, "n"), &s), PGCDC_OK);
    assert_string_equal(s, "12345678901234567890.123");
    assert_int_equal(pgcdc_row_get_timestamp(row, pgcdc_row_find(row, "ts"), &i64), PGCDC_OK);
    assert_true(i64 == 1795557600123456LL);
    assert_int_equal(pgcdc_row_get_timestamp(row, pgcdc_row_find(row, "dt"), &i64), PGCDC_OK);
    assert_true(i64 == 1795478400000000LL);
    assert_int_equal(
        pgcdc_row_get_bytea(row, pgcdc_row_find(row, "bin"), bytes, sizeof(bytes), &blen),
        PGCDC_OK);
    assert_int_equal(blen, 3);
    assert_memory_equal(bytes, "\x00\xff\x10", 3);
    assert_int_equal(pgcdc_row_get_json(row, pgcdc_row_find(row, "j"), &s), PGCDC_OK);
    assert_string_equal(s, "{\"a\": [1, 2]}");
    assert_int_equal(pgcdc_row_text(row, "note", &s), PGCDC_ERR_NULL_VALUE);
    assert_int_equal(pgcdc_row_text(row, "nope", &s), PGCDC_ERR_NOT_FOUND);
    assert_int_equal(pgcdc_row_int64(row, "note", &i64), PGCDC_ERR_NULL_VALUE);
    assert_int_equal(pgcdc_row_int64(row, "j", &i64), PGCDC_ERR_TYPE);
    assert_int_equal(pgcdc_row_get_json(row, pgcdc_row_find(row, "note"), &s),
                     PGCDC_ERR_NULL_VALUE);
    /* Then the end position: stopped, and the slot confirmed past the insert. */
    commit_lsn = pgcdc_change_commit_lsn(c);
    assert_int_equal(pgcdc_worker_next(w, &c, 10000), PGCDC_ERR_STOPPED);
    assert_null(c);
    assert_true(pgcdc_worker_confirmed_lsn(w) > 0);
    pgcdc_worker_free(w);
    assert_true(tl_slot_confirmed(db, "s_pull") > commit_lsn);
    pgcdc_config_free(cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_four_operations),
        cmocka_unit_test(test_typed_accessors_pull),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
