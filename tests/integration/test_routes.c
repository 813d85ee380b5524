/*
 * Routing tables to sinks: a routed sink takes its tables' changes and
 * snapshot rows only, an unrouted one everything; routes that name no
 * listed table, or come before any sink, are refused.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "testlib.h"

/* "op schema.table id" of each line of path, in order, joined by "|". */
static void events_of(const char *path, char *out, size_t size)
{
    FILE *f = fopen(path, "r");
    char line[4096];
    size_t n = 0;

    assert_non_null(f);
    out[0] = '\0';
    while (fgets(line, sizeof(line), f) != NULL) {
        json_error_t e;
        json_t *o = json_loads(line, 0, &e);
        json_t *row;

        if (o == NULL)
            fail_msg("not JSON: %s", line);
        row = json_object_get(o, "new");
        n += (size_t)snprintf(out + n, size - n, "%s%s %s.%s %d", n > 0 ? "|" : "",
                              json_string_value(json_object_get(o, "op")),
                              json_string_value(json_object_get(o, "schema")),
                              json_string_value(json_object_get(o, "table")),
                              (int)json_integer_value(json_object_get(row, "id")));
        json_decref(o);
        assert_true(n < size);
    }
    fclose(f);
}

static void temp_path(char *path)
{
    int fd = mkstemp(path);

    assert_true(fd >= 0);
    close(fd);
}

static void add_file_sink(pgcdc_config *cfg, const char *path)
{
    char uri[128];

    snprintf(uri, sizeof(uri), "file:%s", path);
    assert_int_equal(pgcdc_config_add_sink(cfg, uri), PGCDC_OK);
}

static void test_routed_sinks(void **state)
{
    const char *db = tl_fresh_db("t_routes");
    char only_a[] = "/tmp/pgcdc-route-a-XXXXXX";
    char only_s2[] = "/tmp/pgcdc-route-s-XXXXXX";
    char all[] = "/tmp/pgcdc-route-all-XXXXXX";
    char got[2048];
    pgcdc_config *cfg;
    tl_runner run;

    (void)state;
    temp_path(only_a);
    temp_path(only_s2);
    temp_path(all);
    tl_sql(db, "CREATE SCHEMA s2");
    tl_sql(db, "CREATE TABLE a (id int PRIMARY KEY); CREATE TABLE b (id int PRIMARY KEY); "
               "CREATE TABLE s2.c (id int PRIMARY KEY)");
    tl_sql(db, "INSERT INTO a VALUES (1); INSERT INTO b VALUES (2); INSERT INTO s2.c VALUES (3)");
    cfg = tl_config(db, "s_routes", "p_routes", "a,b,s2.c");
    /* Snapshot rows are routed as changes are. */
    assert_int_equal(pgcdc_config_set_snapshot(cfg, PGCDC_SNAPSHOT_MODE_INITIAL), PGCDC_OK);
    add_file_sink(cfg, only_a);
    assert_int_equal(pgcdc_config_route_sink(cfg, "public.a"), PGCDC_OK);
    add_file_sink(cfg, only_s2);
    assert_int_equal(pgcdc_config_route_sink(cfg, "s2.*"), PGCDC_OK);
    assert_int_equal(pgcdc_config_route_sink(cfg, "b"), PGCDC_OK);
    add_file_sink(cfg, all);
    assert_int_equal(pgcdc_config_check(cfg), PGCDC_OK);
    tl_runner_start(&run, cfg);
    pgcdc_config_free(cfg);
    tl_wait_slots_active(db, "'s_routes'", 1);
    tl_sql(db, "BEGIN; INSERT INTO a VALUES (10); INSERT INTO b VALUES (20); "
               "INSERT INTO s2.c VALUES (30); COMMIT");
    for (int i = 0; i < 3000 && tl_count_lines(all) < 6; i++)
        usleep(10000);
    pgcdc_worker_stop(run.w);
    assert_int_equal(tl_runner_join(&run), PGCDC_OK);
    pgcdc_worker_free(run.w);

    events_of(only_a, got, sizeof(got));
    tl_assert_str(got, "READ public.a 1|INSERT public.a 10");
    events_of(only_s2, got, sizeof(got));
    tl_assert_str(got, "READ public.b 2|READ s2.c 3|INSERT public.b 20|INSERT s2.c 30");
    events_of(all, got, sizeof(got));
    tl_assert_str(got, "READ public.a 1|READ public.b 2|READ s2.c 3|INSERT public.a 10|"
                       "INSERT public.b 20|INSERT s2.c 30");
    unlink(only_a);
    unlink(only_s2);
    unlink(all);
}

static void test_bad_routes(void **state)
{
    pgcdc_config *cfg = pgcdc_config_new();
    char err[512];

    (void)state;
    assert_int_equal(pgcdc_config_route_sink(cfg, "a"), PGCDC_ERR_INVALID);
    assert_non_null(strstr(pgcdc_config_errmsg(cfg), "add the sink first"));
    assert_int_equal(pgcdc_config_add_table(cfg, "public.orders"), PGCDC_OK);
    assert_int_equal(pgcdc_config_add_sink(cfg, "-"), PGCDC_OK);
    assert_int_equal(pgcdc_config_route_sink(cfg, "public.a.b"), PGCDC_ERR_INVALID);
    assert_int_equal(pgcdc_config_route_sink(cfg, "orders"), PGCDC_OK);
    assert_int_equal(pgcdc_config_check(cfg), PGCDC_OK);
    assert_int_equal(pgcdc_config_route_sink(cfg, "public.ordrs"), PGCDC_OK);
    assert_int_equal(pgcdc_config_check(cfg), PGCDC_ERR_INVALID);
    snprintf(err, sizeof(err), "%s", pgcdc_config_errmsg(cfg));
    assert_non_null(
        strstr(err, "sink \"-\" is routed public.ordrs, which is not among the tables"));
    {
        /* The worker's start refuses it too, before connecting. */
        pgcdc_worker *w = pgcdc_worker_new(cfg);

        assert_int_equal(pgcdc_worker_start(w), PGCDC_ERR_INVALID);
        assert_non_null(strstr(pgcdc_worker_errmsg(w), "public.ordrs"));
        pgcdc_worker_free(w);
    }
    pgcdc_config_free(cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_routed_sinks),
        cmocka_unit_test(test_bad_routes),
    };

    tl_env();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
