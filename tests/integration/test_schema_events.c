/*
 * Schema changes on a real server: columns added, dropped, renamed and
 * retyped each give one SCHEMA_CHANGE just before the table's next change,
 * with that change's commit LSN and seq and the columns before and after;
 * a change of shape made while the stream was down (after a reconnect) is
 * one too; schema_changes off gives none.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "testlib.h"

/* The native JSON of every change, one line each. */
typedef struct capture {
    pgcdc_formatter *f;
    char *text;
    size_t len;
    size_t cap;
    /* test_reconnect: the walsender to terminate, and what to write after, at the first change. */
    const char *db;
    const char *kill_slot;
    int killed;
    uint64_t last_end; /* end LSN of the last commit handled */
} capture;

static int on_commit(pgcdc_worker *w, const pgcdc_txn *txn, void *opaque)
{
    capture *cap = opaque;

    (void)w;
    cap->last_end = pgcdc_txn_end_lsn(txn);
    return PGCDC_HANDLED;
}

static int on_change(pgcdc_worker *w, const pgcdc_change *c, void *opaque)
{
    capture *cap = opaque;
    const char *out;
    size_t n;

    assert_int_equal(pgcdc_formatter_change(cap->f, c, &out, &n), PGCDC_OK);
    if (cap->len + n + 1 > cap->cap) {
        cap->cap = (cap->len + n + 1) * 2;
        cap->text = realloc(cap->text, cap->cap);
        assert_non_null(cap->text);
    }
    memcpy(cap->text + cap->len, out, n);
    cap->len += n;
    cap->text[cap->len] = '\0';
    if (cap->killed && pgcdc_change_op(c) == PGCDC_OP_INSERT) {
        int64_t id = 0;

        assert_int_equal(pgcdc_row_get_int64(pgcdc_change_new(c), 0, &id), PGCDC_OK);
        if (id == 2)
            pgcdc_worker_stop(w);
    }
    if (cap->kill_slot != NULL && !cap->killed && strcmp(pgcdc_change_table(c), "u") == 0) {
        /*
         * t's last change is confirmed (not sent again), then the stream is
         * cut before t changes: its new shape comes only on the next
         * connection, to be compared with the one seen on this one.
         */
        cap->killed = 1;
        for (int i = 0; i < 1200 && tl_slot_confirmed(cap->db, cap->kill_slot) < cap->last_end; i++)
            tl_sleep_ms(50);
        assert_true(tl_slot_confirmed(cap->db, cap->kill_slot) >= cap->last_end);
        tl_terminate_slot_holder(cap->db, cap->kill_slot);
        tl_sql(cap->db, "ALTER TABLE t ADD COLUMN extra int");
        tl_sql(cap->db, "INSERT INTO t VALUES (2, 'two', 7)");
    }
    return PGCDC_HANDLED;
}

/* Runs a worker on t until endpos; the events as parsed JSON objects. */
static json_t *run(const char *db, const char *slot, uint64_t endpos, int schema_changes,
                   capture *cap)
{
    pgcdc_config *cfg = tl_config(db, slot, "p_schema", "t,u");
    json_t *events = json_array();
    pgcdc_worker *w;
    char *line;
    char *save = NULL;
    int r;

    cap->f = pgcdc_formatter_new(PGCDC_FORMAT_JSON, "schema");
    pgcdc_config_set_schema_changes(cfg, schema_changes);
    pgcdc_config_set_endpos(cfg, endpos);
    pgcdc_config_set_change_cb(cfg, on_change, cap);
    pgcdc_config_set_commit_cb(cfg, on_commit, cap);
    /* Confirmed soon after handled (test_reconnect waits for it). */
    pgcdc_config_set_status_interval(cfg, 100);
    w = pgcdc_worker_new(cfg);
    assert_non_null(w);
    r = pgcdc_worker_start(w);
    if (r != PGCDC_OK)
        fail_msg("start: %s", pgcdc_worker_errmsg(w));
    r = pgcdc_worker_run(w);
    if (r != PGCDC_OK)
        fail_msg("run: %s", pgcdc_worker_errmsg(w));
    pgcdc_worker_free(w);
    pgcdc_config_free(cfg);
    pgcdc_formatter_free(cap->f);
    for (line = cap->text != NULL ? strtok_r(cap->text, "\n", &save) : NULL; line != NULL;
         line = strtok_r(NULL, "\n", &save)) {
        json_error_t err;
        json_t *ev = json_loads(line, 0, &err);

        if (ev == NULL)
            fail_msg("not JSON (%s): %s", err.text, line);
        json_array_append_new(events, ev);
    }
    free(cap->text);
    cap->text = NULL;
    cap->len = cap->cap = 0;
    return events;
}

static const char *op_of(json_t *events, size_t i)
{
    return json_string_value(json_object_get(json_array_get(events, i), "op"));
}

/* A column list as "name:type*" (key marked), comma-separated. */
static void columns(json_t *list, char *buf, size_t size)
{
    size_t at = 0;
    size_t i;
    json_t *col;

    buf[0] = '\0';
    json_array_foreach(list, i, col)
    {
        at += (size_t)snprintf(buf + at, size - at, "%s%s:%s%s", i > 0 ? "," : "",
                               json_string_value(json_object_get(col, "name")),
                               json_string_value(json_object_get(col, "type")),
                               json_is_true(json_object_get(col, "key")) ? "*" : "");
        assert_true(at < size);
    }
}

/* Event i is a schema change from old_cols to new_cols, keyed as the change after it. */
static void expect_schema(json_t *events, size_t i, const char *old_cols, const char *new_cols)
{
    json_t *ev = json_array_get(events, i);
    json_t *next = json_array_get(events, i + 1);
    char buf[512];

    assert_non_null(ev);
    assert_non_null(next);
    tl_assert_str(op_of(events, i), "SCHEMA_CHANGE");
    tl_assert_str(json_string_value(json_object_get(ev, "table")), "t");
    tl_assert_str(json_string_value(json_object_get(ev, "schema")), "public");
    columns(json_object_get(ev, "old_columns"), buf, sizeof(buf));
    tl_assert_str(buf, old_cols);
    columns(json_object_get(ev, "new_columns"), buf, sizeof(buf));
    tl_assert_str(buf, new_cols);
    assert_true(json_is_null(json_object_get(ev, "ddl")));
    /* The change it precedes has its commit LSN and seq. */
    assert_string_not_equal(op_of(events, i + 1), "SCHEMA_CHANGE");
    tl_assert_str(json_string_value(json_object_get(ev, "commit_lsn")),
                  json_string_value(json_object_get(next, "commit_lsn")));
    assert_int_equal(json_integer_value(json_object_get(ev, "seq")),
                     json_integer_value(json_object_get(next, "seq")));
}

/* Added, dropped, renamed, retyped, in transactions of their own and inside one. */
static void test_alter_kinds(void **state)
{
    const char *db = tl_fresh_db("schema_kinds");
    capture cap = {0};
    uint64_t end;
    json_t *ev;

    (void)state;
    tl_sql(db, "CREATE TABLE t (id int PRIMARY KEY, a text); CREATE TABLE u (id int PRIMARY KEY)");
    json_decref(run(db, "s_schema_kinds", tl_current_lsn(db), 1, &cap));
    tl_sql(db, "INSERT INTO t VALUES (1, 'x')");
    tl_sql(db, "ALTER TABLE t ADD COLUMN b int");
    tl_sql(db, "INSERT INTO t VALUES (2, 'y', 3)");
    tl_sql(db, "ALTER TABLE t DROP COLUMN a");
    tl_sql(db, "INSERT INTO t VALUES (3, 4)");
    tl_sql(db, "ALTER TABLE t RENAME COLUMN b TO c");
    tl_sql(db, "UPDATE t SET c = 5 WHERE id = 3");
    /* Inside one transaction: a change before and after the ALTER. */
    tl_sql(db, "BEGIN; UPDATE t SET c = 6 WHERE id = 3;"
               "ALTER TABLE t ALTER COLUMN c TYPE numeric(10,2);"
               "DELETE FROM t WHERE id = 1; COMMIT");
    /* An ALTER that changes no column: no event. */
    tl_sql(db, "ALTER TABLE t ADD CONSTRAINT c_positive CHECK (c > 0)");
    tl_sql(db, "INSERT INTO t VALUES (4, 7)");
    end = tl_current_lsn(db);
    ev = run(db, "s_schema_kinds", end, 1, &cap);
    assert_int_equal(json_array_size(ev), 11);
    tl_assert_str(op_of(ev, 0), "INSERT");
    expect_schema(ev, 1, "id:integer*,a:text", "id:integer*,a:text,b:integer");
    tl_assert_str(op_of(ev, 2), "INSERT");
    expect_schema(ev, 3, "id:integer*,a:text,b:integer", "id:integer*,b:integer");
    tl_assert_str(op_of(ev, 4), "INSERT");
    expect_schema(ev, 5, "id:integer*,b:integer", "id:integer*,c:integer");
    tl_assert_str(op_of(ev, 6), "UPDATE");
    tl_assert_str(op_of(ev, 7), "UPDATE");
    expect_schema(ev, 8, "id:integer*,c:integer", "id:integer*,c:numeric(10,2)");
    assert_int_equal(json_integer_value(json_object_get(json_array_get(ev, 8), "seq")), 1);
    tl_assert_str(op_of(ev, 9), "DELETE");
    tl_assert_str(op_of(ev, 10), "INSERT");
    json_decref(ev);

    /* Off: the same changes, none of the schema changes. */
    json_decref(run(db, "s_schema_off", tl_current_lsn(db), 0, &cap));
    tl_sql(db, "ALTER TABLE t ADD COLUMN d text");
    tl_sql(db, "INSERT INTO t VALUES (5, 8, 'z')");
    ev = run(db, "s_schema_off", tl_current_lsn(db), 0, &cap);
    assert_int_equal(json_array_size(ev), 1);
    tl_assert_str(op_of(ev, 0), "INSERT");
    json_decref(ev);
    tl_sql(db, "SELECT pg_drop_replication_slot('s_schema_off')");
    tl_sql(db, "SELECT pg_drop_replication_slot('s_schema_kinds')");
}

/* The connection is lost, then the table changes: the new stream's first shape is compared. */
static void test_reconnect(void **state)
{
    const char *db = tl_fresh_db("schema_reconnect");
    capture cap = {0};
    json_t *ev;

    (void)state;
    tl_sql(db, "CREATE TABLE t (id int PRIMARY KEY, v text); CREATE TABLE u (id int PRIMARY KEY)");
    json_decref(run(db, "s_schema_rc", tl_current_lsn(db), 1, &cap));
    tl_sql(db, "INSERT INTO t VALUES (1, 'one')");
    tl_sql(db, "INSERT INTO u VALUES (1)");
    /* Until the change callback stops it, at the row written after the cut (id 2). */
    cap.db = db;
    cap.kill_slot = "s_schema_rc";
    ev = run(db, "s_schema_rc", 0, 1, &cap);
    assert_int_equal(cap.killed, 1);
    /* t's first shape was seen before the cut only: its new one is a schema change. */
    assert_int_equal(json_array_size(ev), 4);
    tl_assert_str(op_of(ev, 0), "INSERT");
    tl_assert_str(op_of(ev, 1), "INSERT");
    expect_schema(ev, 2, "id:integer*,v:text", "id:integer*,v:text,extra:integer");
    tl_assert_str(op_of(ev, 3), "INSERT");
    json_decref(ev);
    tl_sql(db, "SELECT pg_drop_replication_slot('s_schema_rc')");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_alter_kinds),
        cmocka_unit_test(test_reconnect),
    };

    tl_env();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
