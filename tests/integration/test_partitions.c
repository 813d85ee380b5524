/*
 * A partitioned table listed by name: it starts again and again whether the
 * publication publishes via the partition root or not, and the changes of
 * every partition arrive, those of partitions created or attached while the
 * worker streams included (under the partition's name without
 * publish_via_partition_root, under the root's with it, which the property
 * of that name puts in a publication pgcdc creates).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testlib.h"

static void create_tree(const char *db)
{
    tl_sql(db, "CREATE TABLE parent (id int PRIMARY KEY, v text) PARTITION BY RANGE (id);"
               "CREATE TABLE p1 PARTITION OF parent FOR VALUES FROM (0) TO (100);"
               "CREATE TABLE p2 PARTITION OF parent FOR VALUES FROM (100) TO (200) "
               "PARTITION BY RANGE (id);"
               "CREATE TABLE p2a PARTITION OF p2 FOR VALUES FROM (100) TO (150);"
               "CREATE TABLE other (id int PRIMARY KEY)");
}

/* The partitions found while streaming, as the debug log names them. */
static void note_late(pgcdc_worker *w, pgcdc_log_level level, const char *msg, void *opaque)
{
    char *found = opaque;

    (void)w;
    if (level <= PGCDC_LOG_WARNING)
        fprintf(stderr, "[worker] %s\n", msg);
    if (strstr(msg, "is a partition of") != NULL)
        snprintf(found + strlen(found), 256 - strlen(found), "%.*s;", (int)strcspn(msg + 1, "\""),
                 msg + 1);
}

/*
 * Starts a worker (its preflight reads the partitions there are now), then
 * creates one partition and attaches another, writes to every partition and
 * pulls the changes up to a last insert; stops.  Only the two new
 * partitions are looked up while streaming.
 */
static void stream_with_late_partitions(const char *db, pgcdc_config *cfg, tl_log *log)
{
    char late[256] = "";
    pgcdc_worker *w;
    const pgcdc_change *c = NULL;

    pgcdc_config_set_log_cb(cfg, note_late, late);
    w = pgcdc_worker_new(cfg);
    assert_non_null(w);
    assert_int_equal(pgcdc_worker_start(w), PGCDC_OK);
    tl_sql(db, "CREATE TABLE p3 PARTITION OF parent FOR VALUES FROM (200) TO (300);"
               "CREATE TABLE p4 (id int NOT NULL, v text);"
               "ALTER TABLE parent ATTACH PARTITION p4 FOR VALUES FROM (300) TO (400)");
    tl_sql(db, "INSERT INTO parent VALUES (1, 'a'), (120, 'b')");
    tl_sql(db, "INSERT INTO parent VALUES (250, 'c'), (350, 'd'); INSERT INTO other VALUES (1)");
    tl_sql(db, "UPDATE parent SET v = 'e' WHERE id = 1; DELETE FROM parent WHERE id = 120");
    tl_sql(db, "INSERT INTO p2a VALUES (149, 'last')");
    while (log->n < 20) {
        assert_int_equal(pgcdc_worker_next(w, &c, 30000), PGCDC_OK);
        if (c == NULL)
            fail_msg("no change within 30 s after %zu changes", log->n);
        tl_log_add(log, c);
        if (strstr(log->items[log->n - 1].new_row ? log->items[log->n - 1].new_row : "", "last"))
            break;
    }
    pgcdc_worker_stop(w);
    while (pgcdc_worker_next(w, &c, 10000) == PGCDC_OK && c != NULL)
        ;
    pgcdc_worker_free(w);
    assert_string_equal(late, "public.p3;public.p4;");
}

static void expect(const tl_change *c, const char *op, const char *table, const char *new_row)
{
    assert_string_equal(c->op, op);
    assert_string_equal(c->table, table);
    if (new_row == NULL)
        assert_null(c->new_row);
    else
        assert_string_equal(c->new_row, new_row);
}

static void start_again(pgcdc_config *cfg)
{
    char msg[1024];

    assert_int_equal(tl_start_only(cfg, msg, sizeof(msg)), PGCDC_OK);
}

/* publish_via_partition_root = false (pgcdc's own publication): the partitions' names. */
static void test_partitions_by_leaf(void **state)
{
    const char *db = tl_fresh_db("t_part_leaf");
    pgcdc_config *cfg;
    tl_log log = {0};
    char *v;

    (void)state;
    create_tree(db);
    cfg = tl_config(db, "s_part_leaf", "p_part_leaf", "public.parent");
    /* The first start creates the publication FOR TABLE parent, the second must accept it. */
    start_again(cfg);
    v = tl_sql_value(db, "SELECT pubviaroot FROM pg_publication WHERE pubname = 'p_part_leaf'");
    assert_string_equal(v, "f");
    free(v);
    start_again(cfg);
    stream_with_late_partitions(db, cfg, &log);
    assert_int_equal(log.n, 7);
    expect(&log.items[0], "INSERT", "public.p1", "id='1' v='a'");
    expect(&log.items[1], "INSERT", "public.p2a", "id='120' v='b'");
    expect(&log.items[2], "INSERT", "public.p3", "id='250' v='c'");
    expect(&log.items[3], "INSERT", "public.p4", "id='350' v='d'");
    expect(&log.items[4], "UPDATE", "public.p1", "id='1' v='e'");
    expect(&log.items[5], "DELETE", "public.p2a", NULL);
    assert_string_equal(log.items[5].old_row, "id='120' v=<absent>");
    expect(&log.items[6], "INSERT", "public.p2a", "id='149' v='last'");
    /* And once more, now with the partitions attached since. */
    start_again(cfg);
    pgcdc_config_free(cfg);
    tl_log_free(&log);
}

/* publish_via_partition_root = true: every change under the root's name. */
static void test_partitions_by_root(void **state)
{
    const char *db = tl_fresh_db("t_part_root");
    pgcdc_config *cfg;
    tl_log log = {0};

    (void)state;
    create_tree(db);
    tl_sql(db, "CREATE PUBLICATION p_part_root FOR TABLE parent "
               "WITH (publish_via_partition_root = true)");
    cfg = tl_config(db, "s_part_root", "p_part_root", "parent");
    start_again(cfg);
    start_again(cfg);
    stream_with_late_partitions(db, cfg, &log);
    assert_int_equal(log.n, 7);
    expect(&log.items[0], "INSERT", "public.parent", "id='1' v='a'");
    expect(&log.items[1], "INSERT", "public.parent", "id='120' v='b'");
    expect(&log.items[2], "INSERT", "public.parent", "id='250' v='c'");
    expect(&log.items[3], "INSERT", "public.parent", "id='350' v='d'");
    expect(&log.items[4], "UPDATE", "public.parent", "id='1' v='e'");
    expect(&log.items[5], "DELETE", "public.parent", NULL);
    expect(&log.items[6], "INSERT", "public.parent", "id='149' v='last'");
    start_again(cfg);
    pgcdc_config_free(cfg);
    tl_log_free(&log);
}

/*
 * publish_via_partition_root=true: the publication pgcdc creates says so, and
 * a row filter on the root (client-side without it) applies to every partition.
 */
static void test_partitions_via_root_property(void **state)
{
    const char *db = tl_fresh_db("t_part_prop");
    pgcdc_config *cfg;
    tl_log log = {0};
    char err[256];

    (void)state;
    create_tree(db);
    cfg = tl_config(db, "s_part_prop", "p_part_prop", "parent");
    assert_int_equal(pgcdc_config_set(cfg, "publish_via_partition_root", "on", err, sizeof(err)),
                     PGCDC_OK);
    assert_int_equal(pgcdc_config_set(cfg, "filter.where.parent", "id <> 120", err, sizeof(err)),
                     PGCDC_OK);
    start_again(cfg);
    tl_sql_expect(db, "t", "SELECT pubviaroot FROM pg_publication WHERE pubname = 'p_part_prop'");
    /* Before PostgreSQL 15 (no row filters in publications) pgcdc applies it. */
    if (tl_server_version(db) >= 150000)
        tl_sql_expect(db, "(id <> 120)",
                      "SELECT pg_get_expr(prqual, prrelid) FROM pg_publication_rel");
    stream_with_late_partitions(db, cfg, &log);
    /* Row 120's INSERT and DELETE (its old key fails the filter too) stay on the server. */
    assert_int_equal(log.n, 5);
    expect(&log.items[0], "INSERT", "public.parent", "id='1' v='a'");
    expect(&log.items[1], "INSERT", "public.parent", "id='250' v='c'");
    expect(&log.items[2], "INSERT", "public.parent", "id='350' v='d'");
    expect(&log.items[3], "UPDATE", "public.parent", "id='1' v='e'");
    expect(&log.items[4], "INSERT", "public.parent", "id='149' v='last'");
    pgcdc_config_free(cfg);
    tl_log_free(&log);
}

/* Publications of some partitions: the table is accepted when all its partitions are in. */
static void test_partitions_listed_one_by_one(void **state)
{
    const char *db = tl_fresh_db("t_part_list");
    pgcdc_config *cfg;
    char msg[1024];

    (void)state;
    create_tree(db);
    tl_sql(db, "CREATE PUBLICATION p_some FOR TABLE p1;"
               "CREATE PUBLICATION p_all_leaves FOR TABLE p1, p2a");
    cfg = tl_config(db, "s_part_list", "p_some", "parent");
    assert_int_equal(tl_start_only(cfg, msg, sizeof(msg)), PGCDC_ERR_PUBLICATION);
    assert_non_null(strstr(msg, "ALTER PUBLICATION p_some ADD TABLE public.parent"));
    pgcdc_config_free(cfg);
    cfg = tl_config(db, "s_part_list", "p_all_leaves", "parent");
    start_again(cfg);
    pgcdc_config_free(cfg);
}

/* The server checks the replica identity of the partition a row is in. */
static void test_partition_identity(void **state)
{
    const char *db = tl_fresh_db("t_part_ident");
    pgcdc_config *cfg;
    char msg[1024];
    char *v;

    (void)state;
    tl_sql(db, "CREATE TABLE nokey (a int, b text) PARTITION BY LIST (a);"
               "CREATE TABLE nokey1 PARTITION OF nokey FOR VALUES IN (1);"
               "ALTER TABLE nokey REPLICA IDENTITY FULL");
    cfg = tl_config(db, "s_part_ident", "p_part_ident", "nokey");
    assert_int_equal(tl_start_only(cfg, msg, sizeof(msg)), PGCDC_ERR_TABLE);
    assert_non_null(strstr(msg, "public.nokey1"));
    pgcdc_config_set_replica_identity_full(cfg, 1);
    start_again(cfg);
    v = tl_sql_value(db, "SELECT relreplident FROM pg_class WHERE relname = 'nokey1'");
    assert_string_equal(v, "f");
    free(v);
    pgcdc_config_free(cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_partitions_by_leaf),
        cmocka_unit_test(test_partitions_by_root),
        cmocka_unit_test(test_partitions_via_root_property),
        cmocka_unit_test(test_partitions_listed_one_by_one),
        cmocka_unit_test(test_partition_identity),
    };

    tl_env();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
