/*
 * Declarative filters against PostgreSQL 15: table patterns and exclusions
 * resolved at the start; operations, column lists and row filters pushed
 * into the publication pgcdc creates (checked in pg_publication and
 * pg_publication_rel) or applied by pgcdc (filter.push_down=false, or a row
 * filter the server would not take); masked values in the handler's rows,
 * in the sinks' formats and in snapshot rows.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "testlib.h"
#include "tool.h"

static void set(pgcdc_config *cfg, const char *key, const char *value)
{
    char err[512];

    if (pgcdc_config_set(cfg, key, value, err, sizeof(err)) != PGCDC_OK)
        fail_msg("%s=%s: %s", key, value, err);
}

/* The hex SHA-256 of text, as PostgreSQL computes it. */
static char *sha256_of(const char *db, const char *text)
{
    return tl_sql_value(db, "SELECT encode(sha256(convert_to('%s', 'UTF8')), 'hex')", text);
}

/* The whole of a file the test's sink wrote, malloc'd. */
static char *read_file(const char *path)
{
    FILE *f = fopen(path, "r");
    char *text = calloc(1, 65536);

    assert_non_null(f);
    assert_true(fread(text, 1, 65535, f) > 0);
    fclose(f);
    return text;
}

static void make_orders(const char *db)
{
    tl_sql(db, "CREATE TABLE orders (id int PRIMARY KEY, status text, amount numeric, "
               "secret text, email text)");
}

static void start_ok(pgcdc_config *cfg)
{
    char msg[1024];

    if (tl_start_only(cfg, msg, sizeof(msg)) != PGCDC_OK)
        fail_msg("start: %s", msg);
}

/* Patterns and exclusions resolve against the catalog; mistakes are one line each. */
static void test_patterns(void **state)
{
    const char *db = tl_fresh_db("t_filt_pat");
    pgcdc_config *cfg;
    char msg[1024];

    (void)state;
    tl_sql(db, "CREATE SCHEMA shop; CREATE TABLE orders (id int PRIMARY KEY);"
               "CREATE TABLE order_items (id int PRIMARY KEY); CREATE TABLE order_log (id int "
               "PRIMARY KEY); CREATE TABLE customers (id int PRIMARY KEY);"
               "CREATE TABLE shop.orders (id int PRIMARY KEY); CREATE TABLE \"order*\" (id int "
               "PRIMARY KEY); CREATE TABLE parted (id int PRIMARY KEY) PARTITION BY RANGE (id);"
               "CREATE TABLE parted1 PARTITION OF parted FOR VALUES FROM (0) TO (10)");
    cfg = tl_config(db, "s_pat", "p_pat", "public.order*,part*");
    set(cfg, "exclude_table", "*_log");
    start_ok(cfg);
    /* Partitions come with their partitioned table, not as matches of their own. */
    tl_sql_expect(db, "\"order*\",order_items,orders,parted",
                  "SELECT string_agg(prrelid::regclass::text, ',' ORDER BY 1) FROM "
                  "pg_publication_rel r JOIN pg_publication p ON p.oid = r.prpubid "
                  "WHERE pubname = 'p_pat'");
    pgcdc_config_free(cfg);
    /* A quoted part is a name, not a pattern; a schema pattern goes through schemas. */
    cfg = tl_config(db, "s_pat2", "p_pat2", "public.\"order*\",s*.ord?rs");
    start_ok(cfg);
    tl_sql_expect(db, "\"order*\",shop.orders",
                  "SELECT string_agg(prrelid::regclass::text, ',' ORDER BY 1) FROM "
                  "pg_publication_rel r JOIN pg_publication p ON p.oid = r.prpubid "
                  "WHERE pubname = 'p_pat2'");
    pgcdc_config_free(cfg);
    cfg = tl_config(db, "s_pat3", "p_pat3", "public.nothing*");
    assert_int_equal(tl_start_only(cfg, msg, sizeof(msg)), PGCDC_ERR_TABLE);
    assert_string_equal(msg, "table pattern \"public.nothing*\" matches no table (check the "
                             "pattern, or create the table first)");
    pgcdc_config_free(cfg);
    cfg = tl_config(db, "s_pat3", "p_pat3", "order*,customers");
    set(cfg, "exclude_table", "public.*");
    assert_int_equal(tl_start_only(cfg, msg, sizeof(msg)), PGCDC_ERR_TABLE);
    assert_string_equal(msg, "exclude_table leaves none of the listed tables to stream (list "
                             "more tables, or exclude fewer)");
    pgcdc_config_free(cfg);
    /* A filter naming a table or column the start does not find. */
    cfg = tl_config(db, "s_pat3", "p_pat3", "orders");
    set(cfg, "filter.where.public.order_items", "id > 1");
    assert_int_equal(tl_start_only(cfg, msg, sizeof(msg)), PGCDC_ERR_INVALID);
    assert_non_null(strstr(msg, "names table public.order_items, which is not among the tables"));
    pgcdc_config_free(cfg);
    cfg = tl_config(db, "s_pat3", "p_pat3", "orders");
    set(cfg, "filter.exclude_columns.orders", "id");
    assert_int_equal(tl_start_only(cfg, msg, sizeof(msg)), PGCDC_ERR_INVALID);
    assert_non_null(strstr(msg, "leaves out key column \"id\""));
    pgcdc_config_free(cfg);
    cfg = tl_config(db, "s_pat3", "p_pat3", "orders");
    set(cfg, "filter.where.orders", "id = 'x'");
    assert_int_equal(tl_start_only(cfg, msg, sizeof(msg)), PGCDC_ERR_INVALID);
    assert_non_null(strstr(msg, "compares column \"id\" of type integer with \"x\""));
    pgcdc_config_free(cfg);
    /* Nothing of the failed starts stays behind. */
    tl_sql_expect(db, "0", "SELECT count(*) FROM pg_publication WHERE pubname = 'p_pat3'");
}

/* The changes every test below makes (after the start that creates the slot). */
static void write_orders(const char *db)
{
    tl_sql(db, "INSERT INTO orders VALUES (1, 'new', 5, 's1', 'a@x.org')");
    tl_sql(db, "INSERT INTO orders VALUES (2, 'paid', 10.50, 's2', 'b@x.org')");
    tl_sql(db, "UPDATE orders SET amount = 11 WHERE id = 2");
    tl_sql(db, "UPDATE orders SET status = 'paid', email = NULL WHERE id = 1");
    tl_sql(db, "DELETE FROM orders WHERE id = 2");
    tl_sql(db, "TRUNCATE orders");
}

/*
 * Pushed down: publish, the column list and a row filter on the key go into
 * the publication; what arrives is already filtered, and pgcdc masks.
 */
static void test_pushed_down(void **state)
{
    const char *db = tl_fresh_db("t_filt_push");
    char path[128];
    pgcdc_config *cfg;
    tl_log log = {0};
    char *hash;
    char *text;
    char want[512];

    (void)state;
    make_orders(db);
    snprintf(path, sizeof(path), "/tmp/pgcdc-test-filters-%d.jsonl", (int)getpid());
    unlink(path);
    cfg = tl_config(db, "s_push", "p_push", "orders");
    set(cfg, "filter.ops", "insert,update");
    set(cfg, "filter.where.public.orders", "id >= 2");
    set(cfg, "filter.exclude_columns.public.orders", "secret");
    set(cfg, "mask.public.orders.email", "hash");
    set(cfg, "mask.salt", "pepper");
    snprintf(want, sizeof(want), "file:%s", path);
    set(cfg, "sink", want);
    set(cfg, "sink.file.format", "wal2json");
    start_ok(cfg);
    tl_sql_expect(db, "t t f f",
                  "SELECT concat_ws(' ', pubinsert, pubupdate, pubdelete, pubtruncate)::text "
                  "FROM pg_publication WHERE pubname = 'p_push'");
    tl_sql_expect(db, "t f", "SELECT concat_ws(' ', pubinsert, pubdelete) FROM pg_publication");
    /* Row filters and column lists came with PostgreSQL 15: before, pgcdc applies them. */
    if (tl_server_version(db) >= 150000) {
        tl_sql_expect(db, "(id >= 2)|1 2 3 5",
                      "SELECT pg_get_expr(prqual, prrelid) || '|' || prattrs::text FROM "
                      "pg_publication_rel");
        tl_sql_expect(db, "{id,status,amount,email}",
                      "SELECT attnames::text FROM pg_publication_tables WHERE pubname = 'p_push'");
    }
    write_orders(db);
    assert_int_equal(tl_run_until(cfg, tl_current_lsn(db), &log), PGCDC_OK);
    /* Row 1 is left out by the server, the DELETE and the TRUNCATE are not published. */
    hash = tl_sql_value(db, "SELECT encode(sha256(convert_to('pepperb@x.org', 'UTF8')), 'hex')");
    assert_int_equal(log.n, 2);
    tl_expect_change(&log.items[0], "INSERT", NULL, NULL,
                     "id='2' status='paid' amount='10.50' email='<64 bytes>'");
    tl_expect_change(&log.items[1], "UPDATE", NULL, NULL,
                     "id='2' status='paid' amount='11' email='<64 bytes>'");
    pgcdc_config_free(cfg);
    /* The file sink's wal2json lines: the same columns, the masked value typed as text. */
    text = read_file(path);
    assert_null(strstr(text, "secret"));
    assert_null(strstr(text, "b@x.org"));
    snprintf(want, sizeof(want), "{\"name\":\"email\",\"type\":\"text\",\"value\":\"%s\"}", hash);
    assert_non_null(strstr(text, want));
    free(text);
    free(hash);
    unlink(path);
    tl_log_free(&log);
}

/*
 * Applied by pgcdc: with filter.push_down=false the publication carries
 * nothing, and a row filter on a column outside the replica identity is not
 * pushed even when allowed to be (PostgreSQL would fail the table's UPDATE).
 */
static void run_client_side(const char *name, int push_down)
{
    const char *db = tl_fresh_db(name);
    pgcdc_config *cfg;
    tl_log log = {0};
    char slot[64];

    make_orders(db);
    snprintf(slot, sizeof(slot), "s_%s", name + 2);
    cfg = tl_config(db, slot, "p_client", "orders");
    if (!push_down)
        set(cfg, "filter.push_down", "false");
    set(cfg, "filter.ops", "insert,update,delete");
    set(cfg, "filter.where.orders", "status IN ('paid', 'refunded') AND amount > 1");
    set(cfg, "filter.columns.orders", "status");
    set(cfg, "mask.orders.status", "redact");
    start_ok(cfg);
    tl_sql_expect(db, push_down ? "t t t f" : "t t t t",
                  "SELECT concat_ws(' ', pubinsert, pubupdate, pubdelete, pubtruncate)::text "
                  "FROM pg_publication WHERE pubname = 'p_client'");
    /* The column list is pushed when allowed (the key is kept); the row filter never. */
    if (tl_server_version(db) >= 150000)
        tl_sql_expect(db, push_down ? "-|1 2" : "-|-",
                      "SELECT coalesce(pg_get_expr(prqual, prrelid), '-') || '|' || "
                      "coalesce(prattrs::text, '-') FROM pg_publication_rel");
    write_orders(db);
    /* UPDATE and DELETE of the default identity still work on the server. */
    tl_sql(db, "INSERT INTO orders VALUES (3, 'refunded', 7, 's3', 'c@x.org')");
    tl_sql(db, "UPDATE orders SET status = 'open' WHERE id = 3");
    tl_sql(db, "DELETE FROM orders WHERE id = 3");
    assert_int_equal(tl_run_until(cfg, tl_current_lsn(db), &log), PGCDC_OK);
    /*
     * Row 1 enters the filter by an UPDATE (its new row matches); row 2's
     * changes match; the DELETEs carry only the key, so they may match and
     * are delivered; an UPDATE whose new row leaves the filter, without an
     * old row to tell, is not.
     */
    assert_int_equal(log.n, 6);
    tl_expect_change(&log.items[0], "INSERT", NULL, NULL, "id='2' status='***'");
    tl_expect_change(&log.items[1], "UPDATE", NULL, NULL, "id='2' status='***'");
    tl_expect_change(&log.items[2], "UPDATE", NULL, NULL, "id='1' status='***'");
    tl_expect_change(&log.items[3], "DELETE", NULL, "id='2' status=<absent>", NULL);
    tl_expect_change(&log.items[4], "INSERT", NULL, NULL, "id='3' status='***'");
    tl_expect_change(&log.items[5], "DELETE", NULL, "id='3' status=<absent>", NULL);
    pgcdc_config_free(cfg);
    tl_log_free(&log);
}

static void test_client_side(void **state)
{
    (void)state;
    run_client_side("t_filt_client", 0);
}

static void test_row_filter_not_pushable(void **state)
{
    (void)state;
    run_client_side("t_filt_nopush", 1);
}

/* REPLICA IDENTITY FULL: old rows are whole, so an UPDATE leaving the filter is seen. */
static void test_identity_full(void **state)
{
    const char *db = tl_fresh_db("t_filt_full");
    pgcdc_config *cfg;
    tl_log log = {0};

    (void)state;
    make_orders(db);
    tl_sql(db, "ALTER TABLE orders REPLICA IDENTITY FULL");
    cfg = tl_config(db, "s_full", "p_full", "orders");
    set(cfg, "filter.push_down", "false");
    set(cfg, "filter.where.orders", "status = 'paid'");
    set(cfg, "filter.exclude_columns.orders", "secret, amount");
    start_ok(cfg);
    tl_sql(db, "INSERT INTO orders VALUES (1, 'paid', 5, 's1', 'a@x.org'), "
               "(2, 'new', 5, 's2', 'b@x.org')");
    tl_sql(db, "UPDATE orders SET status = 'open' WHERE id = 1");
    tl_sql(db, "UPDATE orders SET email = 'c@x.org' WHERE id = 2");
    tl_sql(db, "DELETE FROM orders");
    assert_int_equal(tl_run_until(cfg, tl_current_lsn(db), &log), PGCDC_OK);
    assert_int_equal(log.n, 2);
    tl_expect_change(&log.items[0], "INSERT", NULL, NULL, "id='1' status='paid' email='a@x.org'");
    tl_expect_change(&log.items[1], "UPDATE", NULL, "id='1' status='paid' email='a@x.org'",
                     "id='1' status='open' email='a@x.org'");
    pgcdc_config_free(cfg);
    tl_log_free(&log);
}

/* Snapshot rows: filtered and masked like the stream's. */
static void test_snapshot_rows(void **state)
{
    const char *db = tl_fresh_db("t_filt_snap");
    pgcdc_config *cfg;
    tl_log log = {0};
    char path[128];
    char *hash;
    char *text;
    char want[256];

    (void)state;
    make_orders(db);
    tl_sql(db, "INSERT INTO orders VALUES (1, 'paid', 5, 's1', 'a@x.org'), "
               "(2, 'new', 5, 's2', 'b@x.org'), (3, 'paid', 1, 's3', NULL)");
    cfg = tl_config(db, "s_snap", "p_snap", "orders");
    set(cfg, "snapshot", "initial_only");
    set(cfg, "snapshot.state_file", "/tmp/pgcdc-test-filters.snapshot");
    set(cfg, "filter.where.orders", "status = 'paid'");
    set(cfg, "filter.columns.orders", "email");
    set(cfg, "mask.orders.email", "hash");
    snprintf(path, sizeof(path), "/tmp/pgcdc-test-filters-snap-%d.jsonl", (int)getpid());
    unlink(path);
    snprintf(want, sizeof(want), "file:%s", path);
    set(cfg, "sink", want);
    unlink("/tmp/pgcdc-test-filters.snapshot");
    /* initial_only ends after the rows, long before this end position. */
    assert_int_equal(tl_run_until(cfg, tl_current_lsn(db) + (UINT64_C(1) << 32), &log), PGCDC_OK);
    assert_int_equal(log.n, 2);
    tl_expect_change(&log.items[0], "READ", NULL, NULL, "id='1' email='<64 bytes>'");
    tl_expect_change(&log.items[1], "READ", NULL, NULL, "id='3' email=NULL");
    /* The native JSON lines of the file sink: the digest PostgreSQL computes too. */
    text = read_file(path);
    hash = sha256_of(db, "a@x.org");
    snprintf(want, sizeof(want), "\"new\":{\"id\":1,\"email\":\"%s\"}", hash);
    assert_non_null(strstr(text, want));
    assert_null(strstr(text, "s1"));
    assert_null(strstr(text, "b@x.org"));
    free(text);
    free(hash);
    unlink(path);
    unlink("/tmp/pgcdc-test-filters.snapshot");
    pgcdc_config_free(cfg);
    tl_log_free(&log);
}

/*
 * The command line: a bad filter is one line and exit 2 (while the flags are
 * read) or 1 (at the start); a pattern, an exclusion and a mask stream.
 */
static void test_cli(void **state)
{
    const char *db = tl_fresh_db("t_filt_cli");
    const char *tool = tt_tool();
    char endpos[32];
    json_t *lines;
    json_t *o;
    char *hash;

    (void)state;
    tl_sql(db, "CREATE TABLE users (id int PRIMARY KEY, name text, email text, password text);"
               "CREATE TABLE users_audit (id int PRIMARY KEY)");
    assert_int_equal(
        tt_run((const char *[]){tool, "-d", "dbname=t_filt_cli", "-S", "s_fcli", "-P", "p_fcli",
                                "-t", "users", "-X", "filter.where.users=name = 'x' AND", NULL}),
        2);
    tt_assert_stderr_one_line("filter.where.users: at character 15: expected a column name");
    assert_int_equal(
        tt_run((const char *[]){tool, "-d", "dbname=t_filt_cli", "-S", "s_fcli", "-P", "p_fcli",
                                "-t", "users", "-X", "filter.ops=insert,merge", NULL}),
        2);
    tt_assert_stderr_one_line("invalid value \"insert,merge\" for filter.ops");
    assert_int_equal(
        tt_run((const char *[]){tool, "-d", "dbname=t_filt_cli", "-S", "s_fcli", "-P", "p_fcli",
                                "-t", "users", "-X", "filter.exclude_columns.users=passwd", NULL}),
        1);
    tt_assert_stderr_one_line(
        "filter.exclude_columns.public.users names column \"passwd\", which public.users does "
        "not have");
    tl_sql_expect(db, "0",
                  "SELECT count(*) FROM pg_replication_slots WHERE database = 't_filt_cli'");

    pgcdc_lsn_format(tl_current_lsn(db), endpos, sizeof(endpos));
    assert_int_equal(tt_run((const char *[]){tool, "-d", "dbname=t_filt_cli", "-S", "s_fcli", "-P",
                                             "p_fcli", "-t", "user*", "--exclude-table", "*_audit",
                                             "-X", "filter.exclude_columns.users=password", "-X",
                                             "mask.users.email=hash", "-E", endpos, NULL}),
                     0);
    tl_sql(db, "INSERT INTO users VALUES (1, 'ann', 'ann@x.org', 'hunter2');"
               "INSERT INTO users_audit VALUES (1)");
    pgcdc_lsn_format(tl_current_lsn(db), endpos, sizeof(endpos));
    assert_int_equal(tt_run((const char *[]){tool, "-d", "dbname=t_filt_cli", "-S", "s_fcli", "-P",
                                             "p_fcli", "-t", "user*", "--exclude-table", "*_audit",
                                             "-X", "filter.exclude_columns.users=password", "-X",
                                             "mask.users.email=hash", "-E", endpos, NULL}),
                     0);
    lines = tt_parse_lines(tt_out());
    assert_int_equal(json_array_size(lines), 1);
    o = json_object_get(json_array_get(lines, 0), "new");
    hash = sha256_of(db, "ann@x.org");
    assert_string_equal(json_string_value(json_object_get(o, "email")), hash);
    assert_null(json_object_get(o, "password"));
    assert_string_equal(json_string_value(json_object_get(o, "name")), "ann");
    free(hash);
    json_decref(lines);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_patterns),      cmocka_unit_test(test_pushed_down),
        cmocka_unit_test(test_client_side),   cmocka_unit_test(test_row_filter_not_pushable),
        cmocka_unit_test(test_identity_full), cmocka_unit_test(test_snapshot_rows),
        cmocka_unit_test(test_cli),
    };
    int r;

    tl_env();
    r = cmocka_run_group_tests(tests, NULL, NULL);
    tt_cleanup();
    return r;
}
