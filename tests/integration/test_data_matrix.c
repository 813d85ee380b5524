/*
 * The data matrix: replica identity DEFAULT, FULL, USING INDEX and NOTHING
 * with TOASTed columns, special values (NaN, infinities, bytea with zero
 * bytes), enums, domains, arrays, ranges, composites and jsonb, in text and
 * binary mode, through all three formats: every line parses as JSON and no
 * unchanged TOAST value comes out as null.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "testlib.h"

#define BIG "(SELECT string_agg(md5(i::text), '') FROM generate_series(1, 700) i)"

typedef struct sink {
    pgcdc_formatter *fmt[3];
    json_t *lines[3];
} sink;

static void add_lines(json_t *arr, const char *out, size_t n)
{
    char *copy = strndup(out, n);
    char *save = NULL;

    for (char *l = strtok_r(copy, "\n", &save); l != NULL; l = strtok_r(NULL, "\n", &save)) {
        json_error_t err;
        json_t *o = json_loads(l, JSON_REJECT_DUPLICATES | JSON_DECODE_INT_AS_REAL, &err);

        if (o == NULL)
            fail_msg("not JSON (%s): %s", err.text, l);
        json_array_append_new(arr, o);
    }
    free(copy);
}

static int on_change(pgcdc_worker *w, const pgcdc_change *c, void *opaque)
{
    sink *s = opaque;
    const char *out;
    size_t n;

    (void)w;
    for (int f = 0; f < 3; f++) {
        assert_int_equal(pgcdc_formatter_change(s->fmt[f], c, &out, &n), PGCDC_OK);
        add_lines(s->lines[f], out, n);
    }
    return PGCDC_HANDLED;
}

static void stream(const char *db, const char *slot, int binary, uint64_t end, sink *s)
{
    pgcdc_config *cfg = tl_config(db, slot, "p_matrix", "d,f,ix,types");
    pgcdc_worker *w;

    pgcdc_config_set_binary(cfg, binary);
    pgcdc_config_set_endpos(cfg, end);
    pgcdc_config_set_change_cb(cfg, on_change, s);
    for (int f = 0; f < 3; f++) {
        s->fmt[f] = pgcdc_formatter_new((pgcdc_format)f, "t_matrix");
        s->lines[f] = json_array();
    }
    w = pgcdc_worker_new(cfg);
    assert_int_equal(pgcdc_worker_start(w), PGCDC_OK);
    if (pgcdc_worker_run(w) != PGCDC_OK)
        fail_msg("run: %s", pgcdc_worker_errmsg(w));
    pgcdc_worker_free(w);
    pgcdc_config_free(cfg);
    for (int f = 0; f < 3; f++)
        pgcdc_formatter_free(s->fmt[f]);
}

/* No object in the event holds a null where the row had an unchanged TOAST value. */
static void check_native(json_t *lines)
{
    size_t i;
    json_t *o;
    int unchanged_seen = 0;

    json_array_foreach(lines, i, o)
    {
        json_t *list = json_object_get(o, "unchanged_toast");
        json_t *newrow = json_object_get(o, "new");
        const char *table = json_string_value(json_object_get(o, "table"));
        size_t k;
        json_t *name;

        json_array_foreach(list, k, name)
        {
            unchanged_seen++;
            /* Left out of the row, not null. */
            assert_null(json_object_get(newrow, json_string_value(name)));
        }
        if (json_is_object(newrow) && json_object_get(newrow, "big") != NULL)
            assert_true(json_is_string(json_object_get(newrow, "big")));
        if (strcmp(table, "d") == 0 &&
            strcmp(json_string_value(json_object_get(o, "op")), "UPDATE") == 0)
            assert_non_null(list); /* DEFAULT: the server did not send it */
        if (strcmp(table, "f") == 0)
            assert_null(list); /* FULL: filled from the old row */
    }
    assert_true(unchanged_seen >= 2);
}

static void check_debezium(json_t *lines)
{
    size_t i;
    json_t *o;

    json_array_foreach(lines, i, o)
    {
        json_t *after = json_object_get(o, "after");

        if (json_is_object(after) && json_object_get(after, "big") != NULL)
            assert_true(json_is_string(json_object_get(after, "big")));
    }
}

static void check_wal2json(json_t *lines)
{
    size_t i;
    json_t *o;

    json_array_foreach(lines, i, o)
    {
        size_t k;
        json_t *col;

        json_array_foreach(json_object_get(o, "columns"), k, col)
        {
            if (strcmp(json_string_value(json_object_get(col, "name")), "big") == 0)
                assert_true(json_is_string(json_object_get(col, "value")));
        }
    }
}

static void test_matrix(void **state)
{
    const char *db = tl_fresh_db("t_matrix");
    sink text = {{NULL}, {NULL}};
    sink bin = {{NULL}, {NULL}};
    char msg[512];
    uint64_t end;
    pgcdc_config *cfg;

    (void)state;
    /* Numeric infinities came with PostgreSQL 14: a float8 column takes them before. */
    tl_sql(db,
           "CREATE TYPE mood AS ENUM ('sad', 'happy');"
           "CREATE DOMAIN posint AS int CHECK (VALUE > 0);"
           "CREATE TYPE pair AS (a int, b text);"
           "CREATE TABLE d (id int PRIMARY KEY, n int, big text);"
           "CREATE TABLE f (id int PRIMARY KEY, n int, big text);"
           "ALTER TABLE f REPLICA IDENTITY FULL;"
           "CREATE TABLE ix (id int NOT NULL, code text NOT NULL, n int, big text);"
           "CREATE UNIQUE INDEX ix_code ON ix (code);"
           "ALTER TABLE ix REPLICA IDENTITY USING INDEX ix_code;"
           "CREATE TABLE nothing (id int PRIMARY KEY, n int);"
           "ALTER TABLE nothing REPLICA IDENTITY NOTHING;"
           "CREATE TABLE types (id int PRIMARY KEY, nu %s, f8 float8, f4 float4, "
           "ts timestamp, tz timestamptz, d date, b bytea, m mood, p posint, a int[], "
           "t text[], r int4range, tr tstzrange, c pair, j jsonb, js json, u uuid, iv interval)",
           tl_server_version(db) >= 140000 ? "numeric" : "float8");
    /* NOTHING: refused before anything is created (its UPDATE and DELETE would fail). */
    cfg = tl_config(db, "s_matrix_x", "p_matrix_x", "nothing");
    assert_int_equal(tl_start_only(cfg, msg, sizeof(msg)), PGCDC_ERR_TABLE);
    pgcdc_config_free(cfg);
    cfg = tl_config(db, "s_matrix_text", "p_matrix", "d,f,ix,types");
    assert_int_equal(tl_start_only(cfg, msg, sizeof(msg)), PGCDC_OK);
    pgcdc_config_free(cfg);
    cfg = tl_config(db, "s_matrix_bin", "p_matrix", "d,f,ix,types");
    assert_int_equal(tl_start_only(cfg, msg, sizeof(msg)), PGCDC_OK);
    pgcdc_config_free(cfg);

    tl_sql(db, "INSERT INTO d VALUES (1, 0, " BIG "); INSERT INTO f VALUES (1, 0, " BIG ");"
               "INSERT INTO ix VALUES (1, 'a', 0, " BIG ")");
    tl_sql(db, "UPDATE d SET n = 1; UPDATE f SET n = 1; UPDATE ix SET n = 1");
    tl_sql(db, "UPDATE ix SET code = 'b', n = 2");
    tl_sql(db, "DELETE FROM d; DELETE FROM f; DELETE FROM ix");
    tl_sql(db, "INSERT INTO types VALUES "
               "(1, 'NaN', 'NaN', 'NaN', 'infinity', '-infinity', 'infinity', '\\x00000100',"
               " 'happy', 7, '{1,NULL,3}', '{\"a b\",\"c,d\",NULL}', '[1,10)', "
               " '[2026-01-01 00:00+00,)', '(1,\"x y\")', '{\"k\": [null, 1.5e300]}', "
               " '{ \"raw\" : true }', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '1 day 02:00'),"
               "(2, 'Infinity', 'Infinity', '-Infinity', '-infinity', 'infinity', '-infinity',"
               " '\\x', 'sad', 1, '{}', '{}', 'empty', NULL, '(,)', '[]', 'null', NULL, NULL),"
               "(3, '-Infinity', '-0', '1e-45', '0044-03-15 BC', '2000-01-01 00:00+00', "
               " '4713-11-24 BC', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, "
               " NULL, NULL)");
    tl_sql(db, "UPDATE types SET p = p + 1 WHERE id = 1; DELETE FROM types WHERE id = 2");
    end = tl_current_lsn(db);

    stream(db, "s_matrix_text", 0, end, &text);
    stream(db, "s_matrix_bin", 1, end, &bin);
    check_native(text.lines[0]);
    /* A domain over int is an integer; bytea keeps its zero bytes as hex. */
    {
        size_t i;
        json_t *o;
        int seen = 0;

        json_array_foreach(text.lines[0], i, o)
        {
            json_t *row = json_object_get(o, "new");

            if (strcmp(json_string_value(json_object_get(o, "table")), "types") != 0 || seen)
                continue;
            seen = 1;
            assert_true(json_is_number(json_object_get(row, "p")));
            assert_true(json_number_value(json_object_get(row, "p")) == 7);
            assert_string_equal(json_string_value(json_object_get(row, "b")), "00000100");
            assert_string_equal(json_string_value(json_object_get(row, "nu")), "NaN");
            assert_string_equal(json_string_value(json_object_get(row, "ts")), "infinity");
            assert_true(json_is_object(json_object_get(row, "j")));
        }
        assert_true(seen);
    }
    check_debezium(text.lines[1]);
    check_wal2json(text.lines[2]);
    /* Binary mode falls back to text here (enum, arrays...): the same events either way. */
    for (int f = 0; f < 3; f++) {
        size_t i;
        json_t *o;

        assert_int_equal(json_array_size(text.lines[f]), json_array_size(bin.lines[f]));
        json_array_foreach(text.lines[f], i, o)
        {
            json_t *other = json_array_get(bin.lines[f], i);

            if (f == 1) {
                /* Debezium's ts_ms, ts_us and ts_ns are the time of formatting. */
                json_object_del(o, "ts_ms");
                json_object_del(other, "ts_ms");
                json_object_del(o, "ts_us");
                json_object_del(other, "ts_us");
                json_object_del(o, "ts_ns");
                json_object_del(other, "ts_ns");
            }
            assert_true(json_equal(o, other));
        }
        json_decref(text.lines[f]);
        json_decref(bin.lines[f]);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_matrix),
    };

    tl_env();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
