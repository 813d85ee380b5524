/*
 * Handler faults and odd databases: a poison row under the halt and the
 * dead-letter policies, a handler slower than wal_sender_timeout, and a
 * LATIN1 database whose text must come out as UTF-8.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "testlib.h"

typedef struct poison {
    int calls_on_poison;
    int delivered;
    int64_t max_id;
    int sleep_on; /* id whose handler sleeps past wal_sender_timeout */
} poison;

static int poison_handler(pgcdc_worker *w, const pgcdc_change *c, void *opaque)
{
    poison *p = opaque;
    int64_t id;

    (void)w;
    assert_int_equal(pgcdc_row_int64(pgcdc_change_new(c), "id", &id), PGCDC_OK);
    if (id == 13) {
        p->calls_on_poison++;
        return -42;
    }
    if (id == p->sleep_on) {
        struct timespec ts = {25, 0};

        nanosleep(&ts, NULL);
    }
    p->delivered++;
    if (id > p->max_id)
        p->max_id = id;
    return PGCDC_HANDLED;
}

static int run_poison(const char *db, const char *slot, int policy, const char *dlq,
                      uint64_t endpos, poison *p, char *err, size_t errsize)
{
    pgcdc_config *cfg = tl_config(db, slot, "p_fault", "t");
    pgcdc_worker *w;
    int r;

    pgcdc_config_set_handler_retries(cfg, 2, 10);
    pgcdc_config_set_change_cb(cfg, poison_handler, p);
    pgcdc_config_set_endpos(cfg, endpos);
    if (policy == PGCDC_ON_ERROR_DEAD_LETTER)
        assert_int_equal(pgcdc_config_set_error_policy(cfg, policy, dlq), PGCDC_OK);
    w = pgcdc_worker_new(cfg);
    assert_int_equal(pgcdc_worker_start(w), PGCDC_OK);
    r = pgcdc_worker_run(w);
    snprintf(err, errsize, "%s", pgcdc_worker_errmsg(w));
    pgcdc_worker_free(w);
    pgcdc_config_free(cfg);
    return r;
}

static void test_poison_row(void **state)
{
    const char *db = tl_fresh_db("t_poison");
    char dlq[] = "/tmp/pgcdc-dlq-XXXXXX";
    char msg[1024];
    pgcdc_config *cfg;
    poison p = {0, 0, 0, 0};
    uint64_t end;
    uint64_t before;
    uint64_t commit13;
    json_t *line;
    json_error_t jerr;
    FILE *f;
    char buf[8192];
    int fd = mkstemp(dlq);

    (void)state;
    close(fd);
    tl_sql(db, "CREATE TABLE t (id int PRIMARY KEY, v text)");
    cfg = tl_config(db, "s_poison", "p_fault", "t");
    assert_int_equal(tl_start_only(cfg, msg, sizeof(msg)), PGCDC_OK);
    pgcdc_config_free(cfg);
    for (int i = 1; i <= 20; i++)
        tl_sql(db, "INSERT INTO t VALUES (%d, 'row %d')", i, i);
    end = tl_current_lsn(db);

    /* halt: retried, then stopped; nothing from the poison transaction on is confirmed. */
    assert_int_equal(
        run_poison(db, "s_poison", PGCDC_ON_ERROR_HALT, NULL, end, &p, msg, sizeof(msg)),
        PGCDC_ERR_HANDLER);
    assert_int_equal(p.calls_on_poison, 3);
    assert_int_equal(p.delivered, 12);
    assert_non_null(strstr(msg, "failed with -42 after 3 attempts"));
    before = tl_slot_confirmed(db, "s_poison");
    /* A second run meets the same row: nothing was skipped. */
    p.calls_on_poison = 0;
    p.delivered = 0;
    assert_int_equal(
        run_poison(db, "s_poison", PGCDC_ON_ERROR_HALT, NULL, end, &p, msg, sizeof(msg)),
        PGCDC_ERR_HANDLER);
    assert_int_equal(p.calls_on_poison, 3);
    assert_int_equal(tl_slot_confirmed(db, "s_poison"), before);

    /* dead-letter: the event and its error go to the file, then everything else. */
    p.calls_on_poison = 0;
    p.delivered = 0;
    assert_int_equal(
        run_poison(db, "s_poison", PGCDC_ON_ERROR_DEAD_LETTER, dlq, end, &p, msg, sizeof(msg)),
        PGCDC_OK);
    assert_int_equal(p.calls_on_poison, 3);
    assert_int_equal(p.delivered, 7);
    assert_int_equal(p.max_id, 20);
    assert_true(tl_slot_confirmed(db, "s_poison") > before);
    f = fopen(dlq, "r");
    assert_non_null(f);
    assert_non_null(fgets(buf, sizeof(buf), f));
    assert_null(fgets(buf + strlen(buf), (int)(sizeof(buf) - strlen(buf)), f));
    fclose(f);
    line = json_loads(buf, JSON_REJECT_DUPLICATES, &jerr);
    if (line == NULL)
        fail_msg("dead-letter line is not JSON: %s", buf);
    assert_non_null(
        strstr(json_string_value(json_object_get(json_object_get(line, "dead_letter"), "error")),
               "failed with -42"));
    assert_int_equal(json_integer_value(json_object_get(
                         json_object_get(json_object_get(line, "event"), "new"), "id")),
                     13);
    assert_int_equal(pgcdc_lsn_parse(json_string_value(json_object_get(
                                         json_object_get(line, "event"), "commit_lsn")),
                                     &commit13),
                     PGCDC_OK);
    assert_true(commit13 >= before);
    json_decref(line);
    unlink(dlq);
}

static void test_slow_handler(void **state)
{
    char conninfo[1024];
    char db[1200];
    char cmd[2048];
    const char *log;
    pgcdc_config *cfg;
    pgcdc_worker *w;
    poison p = {0, 0, 0, 3};
    char msg[512];
    uint64_t end;

    (void)state;
    log = tl_server_start("slow", "--set wal_sender_timeout=10s", conninfo, sizeof(conninfo));
    tl_sql(conninfo, "CREATE DATABASE slow");
    snprintf(db, sizeof(db), "%s", conninfo);
    memcpy(strstr(db, "dbname=postgres"), "dbname=slow    ", 15);
    tl_sql(db, "CREATE TABLE t (id int PRIMARY KEY)");
    cfg = tl_config(db, "s_slow", "p_fault", "t");
    /* The default interval: pgcdc must keep the server happy on its own. */
    pgcdc_config_set_status_interval(cfg, 10000);
    assert_int_equal(tl_start_only(cfg, msg, sizeof(msg)), PGCDC_OK);
    for (int i = 1; i <= 5; i++)
        tl_sql(db, "INSERT INTO t VALUES (%d)", i);
    end = tl_current_lsn(db);
    pgcdc_config_set_change_cb(cfg, poison_handler, &p);
    pgcdc_config_set_endpos(cfg, end);
    w = pgcdc_worker_new(cfg);
    assert_int_equal(pgcdc_worker_start(w), PGCDC_OK);
    assert_int_equal(pgcdc_worker_run(w), PGCDC_OK);
    pgcdc_worker_free(w);
    pgcdc_config_free(cfg);
    assert_int_equal(p.delivered, 5);
    /* The handler slept 25 s, past the 10 s timeout, and the server never gave up on us. */
    snprintf(cmd, sizeof(cmd), "grep -q 'replication timeout' %s", log);
    assert_int_not_equal(system(cmd), 0);
    tl_server_stop("slow");
}

static int keep_json(pgcdc_worker *w, const pgcdc_change *c, void *opaque)
{
    pgcdc_formatter *f = pgcdc_formatter_new(PGCDC_FORMAT_JSON, NULL);
    const char *out;
    size_t n;

    (void)w;
    assert_int_equal(pgcdc_formatter_change(f, c, &out, &n), PGCDC_OK);
    strncat(opaque, out, 4000);
    pgcdc_formatter_free(f);
    return PGCDC_HANDLED;
}

static void test_latin1_database(void **state)
{
    const char *db = "dbname=t_latin1 client_encoding=UTF8";
    char out[8192] = "";
    pgcdc_config *cfg;
    pgcdc_worker *w;
    char msg[512];
    const char *text;

    (void)state;
    tl_env();
    tl_sql("dbname=postgres", "SELECT pg_drop_replication_slot(slot_name) FROM "
                              "pg_replication_slots WHERE slot_name = 's_latin1'");
    tl_sql("dbname=postgres", "DROP DATABASE IF EXISTS t_latin1");
    tl_sql("dbname=postgres", "CREATE DATABASE t_latin1 ENCODING 'LATIN1' LC_COLLATE 'C' "
                              "LC_CTYPE 'C' TEMPLATE template0");
    tl_sql(db, "CREATE TABLE \"caf\xc3\xa9\" (id int PRIMARY KEY, \"r\xc3\xa9sum\xc3\xa9\" text)");
    cfg = tl_config(db, "s_latin1", "p_fault", "caf\xc3\xa9");
    assert_int_equal(tl_start_only(cfg, msg, sizeof(msg)), PGCDC_OK);
    tl_sql(db, "INSERT INTO \"caf\xc3\xa9\" VALUES (1, 'cr\xc3\xa8me br\xc3\xbbl\xc3\xa9"
               "e \xc2\xa9')");
    pgcdc_config_set_endpos(cfg, tl_current_lsn(db));
    pgcdc_config_set_change_cb(cfg, keep_json, out);
    w = pgcdc_worker_new(cfg);
    assert_int_equal(pgcdc_worker_start(w), PGCDC_OK);
    assert_int_equal(pgcdc_worker_run(w), PGCDC_OK);
    pgcdc_worker_free(w);
    pgcdc_config_free(cfg);
    text = "\"table\":\"caf\xc3\xa9\"";
    if (strstr(out, text) == NULL)
        fail_msg("no %s in %s", text, out);
    text = "\"r\xc3\xa9sum\xc3\xa9\":\"cr\xc3\xa8me br\xc3\xbbl\xc3\xa9"
           "e \xc2\xa9\"";
    if (strstr(out, text) == NULL)
        fail_msg("no %s in %s", text, out);
    assert_non_null(strstr(out, "\"pk\":[\"id\"]"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_poison_row),
        cmocka_unit_test(test_latin1_database),
        cmocka_unit_test(test_slow_handler),
    };

    tl_env();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
