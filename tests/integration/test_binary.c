/*
 * Binary mode: the same changes streamed with text values and with binary
 * values must give byte-identical JSON and typed reads; a table with a type pgcdc reads only
 * as text keeps the stream in text mode.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testlib.h"

typedef struct lines {
    pgcdc_formatter *fmt;
    char *text;
    size_t len;
    size_t cap;
    size_t n;
} lines;

static void append(lines *l, const char *out, size_t n)
{
    if (l->len + n + 1 > l->cap) {
        l->cap = (l->len + n + 1) * 2;
        l->text = realloc(l->text, l->cap);
        assert_non_null(l->text);
    }
    memcpy(l->text + l->len, out, n);
    l->len += n;
    l->text[l->len] = '\0';
}

/*
 * Every typed getter on every column, with its status: binary values are
 * read without text where pgcdc can, and must give what the text gives.  The
 * getter for the column's own type goes first, while the value is still
 * binary (any getter that needs the text prints it).
 */
static void append_typed(lines *l, const pgcdc_row *row)
{
    char line[512];

    for (int col = 0; row != NULL && col < pgcdc_row_ncols(row); col++) {
        int64_t i = 0;
        int64_t ts = 0;
        double d = 0;
        int b = 0;
        const char *num = "";
        const char *js = "";
        int ri = 99;
        int rd = 99;
        int rb = 99;
        int rt = 99;
        int rn;
        int rj;

        switch (pgcdc_row_type(row, col)) {
        case 16: /* bool */
            rb = pgcdc_row_get_bool(row, col, &b);
            break;
        case 20: /* int8, int2, int4, oid */
        case 21:
        case 23:
        case 26:
            ri = pgcdc_row_get_int64(row, col, &i);
            break;
        case 701: /* float8 */
            rd = pgcdc_row_get_double(row, col, &d);
            break;
        case 1082: /* date, timestamp, timestamptz */
        case 1114:
        case 1184:
            rt = pgcdc_row_get_timestamp(row, col, &ts);
            break;
        }
        if (ri == 99)
            ri = pgcdc_row_get_int64(row, col, &i);
        if (rd == 99)
            rd = pgcdc_row_get_double(row, col, &d);
        if (rb == 99)
            rb = pgcdc_row_get_bool(row, col, &b);
        if (rt == 99)
            rt = pgcdc_row_get_timestamp(row, col, &ts);
        rn = pgcdc_row_get_numeric(row, col, &num);
        rj = pgcdc_row_get_json(row, col, &js);
        snprintf(line, sizeof(line), "%d: i%d %lld d%d %.17g b%d %d t%d %lld n%d %.40s j%d %.20s\n",
                 col, ri, (long long)i, rd, d, rb, b, rt, (long long)ts, rn, rn == 0 ? num : "", rj,
                 rj == 0 ? js : "");
        append(l, line, strlen(line));
    }
}

static int collect(pgcdc_worker *w, const pgcdc_change *c, void *opaque)
{
    lines *l = opaque;
    const char *out;
    size_t n;

    const pgcdc_row *row = pgcdc_change_new(c) ? pgcdc_change_new(c) : pgcdc_change_old(c);
    const char *texts[32];
    int ncols = pgcdc_row_ncols(row);

    (void)w;
    assert_true(ncols <= 32);
    /* Before the JSON (binary values untouched), and after it (printed). */
    append_typed(l, pgcdc_change_old(c));
    append_typed(l, pgcdc_change_new(c));
    /* Texts stay valid while others are printed after them (checked under ASan). */
    for (int col = 0; col < ncols; col++) {
        if (pgcdc_row_get_text(row, col, &texts[col], NULL) != PGCDC_OK)
            texts[col] = "-";
    }
    assert_int_equal(pgcdc_formatter_change(l->fmt, c, &out, &n), PGCDC_OK);
    append(l, out, n);
    append_typed(l, pgcdc_change_old(c));
    append_typed(l, pgcdc_change_new(c));
    for (int col = 0; col < ncols; col++) {
        append(l, texts[col], strlen(texts[col]));
        append(l, "|", 1);
    }
    l->n++;
    return PGCDC_HANDLED;
}

static char log_text[8192];

static void keep_log(pgcdc_worker *w, pgcdc_log_level level, const char *msg, void *opaque)
{
    (void)w;
    (void)level;
    (void)opaque;
    strncat(log_text, msg, sizeof(log_text) - strlen(log_text) - 2);
    strcat(log_text, "\n");
}

static void drain(const char *db, const char *slot, const char *tables, int binary, uint64_t endpos,
                  lines *l)
{
    pgcdc_config *cfg = tl_config(db, slot, "p_bin", tables);
    pgcdc_worker *w;

    pgcdc_config_set_binary(cfg, binary);
    pgcdc_config_set_endpos(cfg, endpos);
    pgcdc_config_set_change_cb(cfg, collect, l);
    pgcdc_config_set_log_cb(cfg, keep_log, NULL);
    pgcdc_config_set_log_level(cfg, PGCDC_LOG_INFO);
    l->fmt = pgcdc_formatter_new(PGCDC_FORMAT_JSON, "t_bin");
    w = pgcdc_worker_new(cfg);
    assert_int_equal(pgcdc_worker_start(w), PGCDC_OK);
    if (pgcdc_worker_run(w) != PGCDC_OK)
        fail_msg("run: %s", pgcdc_worker_errmsg(w));
    pgcdc_worker_free(w);
    pgcdc_formatter_free(l->fmt);
    pgcdc_config_free(cfg);
}

static void create_slot(const char *db, const char *slot, const char *tables)
{
    pgcdc_config *cfg = tl_config(db, slot, "p_bin", tables);
    char msg[512];

    assert_int_equal(tl_start_only(cfg, msg, sizeof(msg)), PGCDC_OK);
    pgcdc_config_free(cfg);
}

static void test_binary_equals_text(void **state)
{
    const char *db = tl_fresh_db("t_bin");
    lines text = {0};
    lines bin = {0};
    uint64_t end;

    (void)state;
    /* Numeric infinities came with PostgreSQL 14: a float8 column takes them before. */
    tl_sql(db,
           "CREATE TABLE v (id serial PRIMARY KEY, b bool, i2 int2, i4 int4, i8 int8, "
           "o oid, f4 float4, f8 float8, n %s, n2 numeric(12,4), t text, vc varchar(20),"
           " bc char(5), nm name, by bytea, d date, ts timestamp, tz timestamptz, u uuid, "
           "j json, jb jsonb)",
           tl_server_version(db) >= 140000 ? "numeric" : "float8");
    create_slot(db, "s_bin_text", "v");
    create_slot(db, "s_bin_bin", "v");
    tl_sql(db,
           "INSERT INTO v (b, i2, i4, i8, o, f4, f8, n, n2, t, vc, bc, nm, by, d, ts, tz, u, j, jb)"
           " VALUES (true, -32768, 2147483647, -9223372036854775808, 4294967295, 1.5, 0.1,"
           " 0, 0, '', 'x', 'ab', 'nm', '', '2000-01-01', '2000-01-01', '2000-01-01', "
           " '00000000-0000-0000-0000-000000000000', 'null', '{}'),"
           " (false, 0, 0, 0, 0, 'NaN', 'Infinity', 'NaN', -1.5, 'caf\xc3\xa9 \"q\" \\ \n',"
           " 'y', 'abcde', '', '\\x00ff', '0044-03-15 BC', '1999-12-31 23:59:59.5', "
           " '1970-01-01 00:00:00.000001+00', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', "
           " '{\"a\": [1, 2.50]}', '{\"b\": {\"c\": null}}'),"
           " (NULL, NULL, NULL, NULL, NULL, '-Infinity', '-0', 'Infinity', 99999999.9999, NULL,"
           " NULL, NULL, NULL, NULL, 'infinity', '-infinity', 'infinity', NULL, NULL, NULL),"
           " (true, 1, 1, 1, 1, 3.4028235e38, 1.7976931348623157e308, '-Infinity', 0.0001,"
           " 'z', 'z', 'z', 'z', '\\x01', '294276-12-31', '0001-01-01 00:00:00 BC',"
           " '2026-11-24 22:00:00.123456+00', NULL, '[]', '[1, \"x\", true]')");
    /* Numerics of every shape, and doubles that test shortest round-trip output. */
    tl_sql(db, "INSERT INTO v (n, f8, f4) SELECT (random() * 10 ^ (random() * 40 - 20))::numeric"
               " * (CASE WHEN g %% 2 = 0 THEN -1 ELSE 1 END), random() * 10 ^ (random() * 600 -"
               " 300), (random() * 10 ^ (random() * 70 - 35))::float4 FROM generate_series(1, 500)"
               " g");
    tl_sql(db, "INSERT INTO v (f8, f4, n) SELECT power(2::float8, k), power(2::float8, k / 8)"
               "::float4, round(power(10::numeric, k %% 30), k %% 7) FROM generate_series(-1074,"
               " 1023) k");
    tl_sql(db, "INSERT INTO v (f8, n, ts, d) SELECT 1::float8 / k, 1::numeric / k, "
               "'2000-01-01'::timestamp + k * interval '1 day 1.000123 second', "
               "'0001-01-01'::date - k * 1000 FROM generate_series(1, 300) k");
    tl_sql(db, "UPDATE v SET t = 'updated' WHERE id <= 3; DELETE FROM v WHERE id = 4");
    end = tl_current_lsn(db);
    drain(db, "s_bin_text", "v", 0, end, &text);
    assert_non_null(strstr(log_text, "text values"));
    log_text[0] = '\0';
    drain(db, "s_bin_bin", "v", 1, end, &bin);
    assert_non_null(strstr(log_text, "binary values"));
    assert_true(text.n > 2900);
    assert_int_equal(text.n, bin.n);
    if (strcmp(text.text, bin.text) != 0) {
        /* Show the first line that differs. */
        char *a = text.text;
        char *b = bin.text;

        while (*a == *b) {
            a++;
            b++;
        }
        while (a > text.text && a[-1] != '\n') {
            a--;
            b--;
        }
        fail_msg("text and binary differ:\ntext:   %.*s\nbinary: %.*s", (int)strcspn(a, "\n"), a,
                 (int)strcspn(b, "\n"), b);
    }
    free(text.text);
    free(bin.text);
}

static void test_text_only_type_keeps_text(void **state)
{
    const char *db = tl_fresh_db("t_bin2");
    lines l = {0};
    uint64_t end;

    (void)state;
    tl_sql(db, "CREATE TABLE a (id int PRIMARY KEY, tags int[])");
    create_slot(db, "s_bin2", "a");
    tl_sql(db, "INSERT INTO a VALUES (1, '{1,2}')");
    end = tl_current_lsn(db);
    log_text[0] = '\0';
    drain(db, "s_bin2", "a", 1, end, &l);
    assert_int_equal(l.n, 1);
    assert_non_null(strstr(l.text, "\"tags\":\"{1,2}\""));
    assert_non_null(strstr(log_text, "binary values not used"));
    free(l.text);
}

static void test_switch_to_text_after_ddl(void **state)
{
    const char *db = tl_fresh_db("t_bin3");
    pgcdc_config *cfg;
    pgcdc_worker *w;
    pgcdc_formatter *fmt = pgcdc_formatter_new(PGCDC_FORMAT_JSON, "t_bin3");
    const pgcdc_change *c = NULL;
    const char *out;
    size_t n;

    (void)state;
    tl_sql(db, "CREATE TABLE a (id int PRIMARY KEY, v text)");
    create_slot(db, "s_bin3", "a");
    tl_sql(db, "INSERT INTO a VALUES (1, 'one')");
    cfg = tl_config(db, "s_bin3", "p_bin", "a");
    pgcdc_config_set_binary(cfg, 1);
    pgcdc_config_set_log_cb(cfg, keep_log, NULL);
    pgcdc_config_set_log_level(cfg, PGCDC_LOG_INFO);
    log_text[0] = '\0';
    w = pgcdc_worker_new(cfg);
    assert_int_equal(pgcdc_worker_start(w), PGCDC_OK);
    if (tl_server_version(db) < 140000) {
        /* No binary option before PostgreSQL 14: text values from the start, said once. */
        assert_non_null(strstr(log_text, "binary needs 14 or later"));
        assert_non_null(strstr(log_text, "text values)"));
        pgcdc_worker_free(w);
        pgcdc_config_free(cfg);
        pgcdc_formatter_free(fmt);
        return;
    }
    assert_non_null(strstr(log_text, "binary values)"));
    assert_int_equal(pgcdc_worker_next(w, &c, 10000), PGCDC_OK);
    assert_non_null(c);
    assert_int_equal(pgcdc_formatter_change(fmt, c, &out, &n), PGCDC_OK);
    assert_non_null(strstr(out, "\"v\":\"one\""));
    /* While streaming in binary, the table gains a column read only as text. */
    tl_sql(db, "ALTER TABLE a ADD COLUMN tags text[]");
    tl_sql(db, "INSERT INTO a VALUES (2, 'two', '{x,y}')");
    /* The new shape first, then the row read in text mode. */
    assert_int_equal(pgcdc_worker_next(w, &c, 20000), PGCDC_OK);
    assert_non_null(c);
    assert_int_equal(pgcdc_change_op(c), PGCDC_OP_SCHEMA);
    assert_int_equal(pgcdc_formatter_change(fmt, c, &out, &n), PGCDC_OK);
    assert_non_null(strstr(out, "{\"name\":\"tags\",\"type\":\"text[]\",\"key\":false}]"));
    assert_int_equal(pgcdc_worker_next(w, &c, 20000), PGCDC_OK);
    assert_non_null(c);
    assert_int_equal(pgcdc_formatter_change(fmt, c, &out, &n), PGCDC_OK);
    assert_non_null(strstr(out, "\"tags\":\"{x,y}\""));
    assert_non_null(strstr(log_text, "switching to text values"));
    pgcdc_worker_free(w);
    pgcdc_formatter_free(fmt);
    pgcdc_config_free(cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_binary_equals_text),
        cmocka_unit_test(test_text_only_type_keeps_text),
        cmocka_unit_test(test_switch_to_text_after_ddl),
    };

    tl_env();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
