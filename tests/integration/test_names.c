/*
 * Table names as SQL spells them: a mixed-case name and names with dots,
 * quoted, are found, published (quoted in the DDL) and streamed under their
 * real names; an unquoted name means exactly what it says.  A publication
 * FOR ALL TABLES with a table list says at start that the rest is skipped.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testlib.h"

static void test_quoted_names(void **state)
{
    const char *db = tl_fresh_db("t_names");
    pgcdc_config *cfg;
    tl_log log = {0};
    char *v;

    (void)state;
    tl_sql(db, "CREATE TABLE \"MyTable\" (id int PRIMARY KEY, v text);"
               "CREATE TABLE mytable (id int PRIMARY KEY, v text);"
               "CREATE SCHEMA \"Sch.X\"; CREATE TABLE \"Sch.X\".\"a.\"\"b\" (id int PRIMARY KEY);"
               "CREATE TABLE \"Lower\" (id int PRIMARY KEY)");
    cfg = tl_config(db, "s_names", "p_names", "public.\"MyTable\"");
    assert_int_equal(pgcdc_config_add_table(cfg, "\"Sch.X\".\"a.\"\"b\""), PGCDC_OK);
    /* Unquoted: exactly as written, no folding to lower case. */
    assert_int_equal(pgcdc_config_add_table(cfg, "Lower"), PGCDC_OK);
    assert_int_equal(tl_run_until(cfg, tl_current_lsn(db), &log), PGCDC_OK);
    v = tl_sql_value(db, "SELECT string_agg(schemaname || '|' || tablename, ',' "
                         "ORDER BY schemaname, tablename) "
                         "FROM pg_publication_tables WHERE pubname = 'p_names'");
    assert_string_equal(v, "Sch.X|a.\"b,public|Lower,public|MyTable");
    free(v);
    tl_sql(db, "INSERT INTO \"MyTable\" VALUES (1, 'mixed'); INSERT INTO mytable VALUES (2, 'low');"
               "INSERT INTO \"Sch.X\".\"a.\"\"b\" VALUES (3); INSERT INTO \"Lower\" VALUES (4)");
    assert_int_equal(tl_run_until(cfg, tl_current_lsn(db), &log), PGCDC_OK);
    assert_int_equal(log.n, 3);
    assert_string_equal(log.items[0].table, "public.MyTable");
    assert_string_equal(log.items[0].new_row, "id='1' v='mixed'");
    assert_string_equal(log.items[1].table, "Sch.X.a.\"b");
    assert_string_equal(log.items[1].new_row, "id='3'");
    assert_string_equal(log.items[2].table, "public.Lower");
    tl_log_free(&log);
    pgcdc_config_free(cfg);
}

typedef struct captured {
    char text[4096];
    int warnings;
} captured;

static void capture_log(pgcdc_worker *w, pgcdc_log_level level, const char *msg, void *opaque)
{
    captured *cap = opaque;
    size_t used = strlen(cap->text);

    (void)w;
    if (level != PGCDC_LOG_WARNING)
        return;
    cap->warnings++;
    snprintf(cap->text + used, sizeof(cap->text) - used, "%s\n", msg);
}

static void test_all_tables_warning(void **state)
{
    const char *db = tl_fresh_db("t_names_all");
    pgcdc_config *cfg;
    captured cap = {"", 0};
    char msg[1024];

    (void)state;
    tl_sql(db, "CREATE TABLE \"MyTable\" (id int PRIMARY KEY); CREATE PUBLICATION p_all FOR ALL "
               "TABLES");
    /* The whole database: nothing to warn about. */
    cfg = tl_config(db, "s_names_all", "p_all", "");
    pgcdc_config_set_log_cb(cfg, capture_log, &cap);
    assert_int_equal(tl_start_only(cfg, msg, sizeof(msg)), PGCDC_OK);
    assert_int_equal(cap.warnings, 0);
    pgcdc_config_free(cfg);
    /* A table list: the others' changes are skipped, and the default level shows it. */
    cfg = tl_config(db, "s_names_all", "p_all", "\"MyTable\"");
    pgcdc_config_set_log_cb(cfg, capture_log, &cap);
    assert_int_equal(tl_start_only(cfg, msg, sizeof(msg)), PGCDC_OK);
    fprintf(stderr, "  -> %s", cap.text);
    assert_int_equal(cap.warnings, 1);
    assert_non_null(strstr(cap.text, "publication \"p_all\" publishes all tables"));
    assert_non_null(strstr(cap.text, "skips them"));
    pgcdc_config_free(cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_quoted_names),
        cmocka_unit_test(test_all_tables_warning),
    };

    tl_env();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
