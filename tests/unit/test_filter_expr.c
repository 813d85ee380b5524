/*
 * Unit tests for the declarative filters (src/core/filter*.c): the row
 * filter's parser (errors with their position), its evaluation on rows
 * (numbers, text, booleans, NULL, values a row lacks), the SQL written for
 * a publication, SHA-256, and columns left out and masked on a change.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/sha256.h"
#include "config.h"
#include "core/filter.h"
#include "wire/types.h"

/* A table (id int4 key, status text, amount numeric, active bool, email text). */
static pgcdc__relcol_info cols[5];
static pgcdc__relation rel;
static int keys[1] = {0};
static int pk[1] = {0};

static char s_id[] = "id", s_status[] = "status", s_amount[] = "amount", s_active[] = "active",
            s_email[] = "email", s_public[] = "public", s_orders[] = "orders",
            s_route[] = "public.orders";

static void setup_rel(void)
{
    static char *names[5] = {s_id, s_status, s_amount, s_active, s_email};
    static const uint32_t oids[5] = {PGCDC_OID_INT4, PGCDC_OID_TEXT, PGCDC_OID_NUMERIC,
                                     PGCDC_OID_BOOL, PGCDC_OID_TEXT};

    memset(&rel, 0, sizeof(rel));
    memset(cols, 0, sizeof(cols));
    for (int i = 0; i < 5; i++) {
        cols[i].name = names[i];
        pgcdc__relcol_set_type(&cols[i], oids[i]);
        cols[i].sent_oid = oids[i];
        cols[i].not_null = -1;
    }
    cols[0].is_key = cols[0].is_ident = 1;
    rel.relid = 42;
    rel.schema = s_public;
    rel.name = s_orders;
    rel.replident = 'd';
    rel.ncols = 5;
    rel.cols = cols;
    rel.nkeys = 1;
    rel.keys = keys;
    rel.npk = 1;
    rel.pk = pk;
    rel.wanted = 1;
    rel.route = s_route;
}

static void set_col(pgcdc__col *c, const char *text)
{
    if (text == NULL) {
        c->data = NULL;
        c->len = 0;
        c->kind = PGCDC_COL_NULL;
    } else if (strcmp(text, "(unchanged)") == 0) {
        c->data = NULL;
        c->len = 0;
        c->kind = PGCDC_COL_UNCHANGED;
    } else {
        c->data = text;
        c->len = (uint32_t)strlen(text);
        c->kind = PGCDC_COL_TEXT;
    }
}

/* The outcomes of expr on the row (id, status, amount, active, email). */
static int eval_on(const char *expr, const char *v0, const char *v1, const char *v2, const char *v3,
                   const char *v4, int key_only)
{
    pgcdc__col row_cols[5];
    pgcdc_row row = {&rel, row_cols, key_only, NULL};
    pgcdc__fexpr *e;
    char err[256];
    int map[8];
    int out;

    set_col(&row_cols[0], v0);
    set_col(&row_cols[1], v1);
    set_col(&row_cols[2], v2);
    set_col(&row_cols[3], v3);
    set_col(&row_cols[4], v4);
    if (pgcdc__fexpr_parse(expr, &e, err, sizeof(err)) != 0)
        fail_msg("%s: %s", expr, err);
    for (int i = 0; i < pgcdc__fexpr_ncols(e); i++) {
        map[i] = -1;
        for (int c = 0; c < rel.ncols; c++) {
            if (strcmp(rel.cols[c].name, pgcdc__fexpr_col(e, i)) == 0)
                map[i] = c;
        }
    }
    out = pgcdc__fexpr_eval(e, &row, map);
    pgcdc__fexpr_free(e);
    return out;
}

#define T PGCDC__FX_TRUE
#define F PGCDC__FX_FALSE
#define N PGCDC__FX_NULL

static int ev(const char *expr)
{
    return eval_on(expr, "7", "paid", "10.50", "t", "a@b.c", 0);
}

static void test_eval(void **state)
{
    (void)state;
    setup_rel();
    assert_int_equal(ev("status = 'paid'"), T);
    assert_int_equal(ev("STATUS <> 'paid'"), F);
    assert_int_equal(ev("status != 'open'"), T);
    assert_int_equal(ev("status < 'pb'"), T);
    assert_int_equal(ev("\"status\" >= 'paid'"), T);
    /* Numbers compare as numbers, exactly. */
    assert_int_equal(ev("amount > 9"), T);
    assert_int_equal(ev("amount = 10.5"), T);
    assert_int_equal(ev("amount = '10.500'"), T);
    assert_int_equal(ev("amount < 10.49999999999999999999"), F);
    assert_int_equal(ev("amount > -1e3"), T);
    assert_int_equal(ev("id <= 7 AND id >= 7"), T);
    assert_int_equal(ev("id > 10"), F);
    assert_int_equal(ev("id IN (1, 2, 7)"), T);
    assert_int_equal(ev("id NOT IN (1, 2, 7)"), F);
    assert_int_equal(ev("id not in (1, 2)"), T);
    assert_int_equal(ev("active = true"), T);
    assert_int_equal(ev("active = 'f'"), F);
    assert_int_equal(ev("NOT (active = false) AND (status = 'x' OR id = 7)"), T);
    assert_int_equal(ev("email IS NOT NULL"), T);
    assert_int_equal(ev("email is null"), F);
    /* NULL: unknown, which does not match; IS NULL tells it. */
    assert_int_equal(eval_on("email = 'a'", "7", "paid", "1", "t", NULL, 0), N);
    assert_int_equal(eval_on("email IS NULL", "7", "paid", "1", "t", NULL, 0), T);
    assert_int_equal(eval_on("email = 'a' OR id = 7", "7", "paid", "1", "t", NULL, 0), T);
    assert_int_equal(eval_on("email = 'a' AND id = 7", "7", "paid", "1", "t", NULL, 0), N);
    assert_int_equal(eval_on("NOT email = 'a'", "7", "paid", "1", "t", NULL, 0), N);
    assert_int_equal(eval_on("id IN (1, NULL)", "7", "paid", "1", "t", NULL, 0), N);
    assert_int_equal(ev("status = NULL"), N);
    /* A value the row lacks (an old key row, unchanged TOAST) may be anything. */
    assert_int_equal(eval_on("status = 'paid'", "7", NULL, NULL, NULL, NULL, 1), T | F | N);
    assert_int_equal(eval_on("status = 'paid' AND id = 8", "7", NULL, NULL, NULL, NULL, 1), F);
    assert_int_equal(eval_on("status IS NULL", "7", NULL, NULL, NULL, NULL, 1), T | F);
    assert_int_equal(eval_on("email = 'x'", "7", "a", "1", "t", "(unchanged)", 0), T | F | N);
    /* A column the relation lacks likewise. */
    assert_int_equal(ev("nosuch = 1 OR id = 7"), T);
    assert_true(ev("nosuch = 1") & T);
}

static void assert_parse_error(const char *expr, const char *want)
{
    pgcdc__fexpr *e = NULL;
    char err[256] = "";

    assert_int_equal(pgcdc__fexpr_parse(expr, &e, err, sizeof(err)), -1);
    assert_null(e);
    if (strstr(err, want) == NULL)
        fail_msg("%s: got \"%s\", want \"%s\"", expr, err, want);
    assert_null(strchr(err, '\n'));
}

static void test_parse_errors(void **state)
{
    (void)state;
    assert_parse_error("", "at character 1: the filter is empty");
    assert_parse_error("status = ", "at character 10: expected a literal");
    assert_parse_error("status = 'paid", "at character 10: a text literal has no closing quote");
    assert_parse_error("status == 'x'", "at character 9: expected a literal");
    assert_parse_error("status 'x'", "at character 8: expected an operator");
    assert_parse_error("(id = 1", "at character 8: expected )");
    assert_parse_error("id = 1 status = 'x'", "at character 8: expected AND, OR");
    assert_parse_error("id IN 1", "at character 7: expected ( after IN");
    assert_parse_error("id IN (1 2)", "at character 10: expected , or )");
    assert_parse_error("id IS 1", "at character 7: expected NULL");
    assert_parse_error("id = 1; DROP TABLE x", "at character 7: unexpected character");
    assert_parse_error("and = 1", "at character 1: expected a column name");
    assert_parse_error("id = 1abc", "at character 6: not a number");
    assert_parse_error("id NOT = 1", "at character 8: expected IN after NOT");
}

static void test_sql(void **state)
{
    pgcdc__fexpr *e;
    pgcdc__buf b;
    char err[256];

    (void)state;
    pgcdc__buf_init(&b);
    assert_int_equal(pgcdc__fexpr_parse("Status = 'it''s' and (id in (1, 2) or not \"My Col\" "
                                        "is null) OR flag = TRUE OR x <> null",
                                        &e, err, sizeof(err)),
                     0);
    pgcdc__fexpr_sql(e, &b);
    assert_string_equal(pgcdc__buf_cstr(&b),
                        "((((\"status\" = 'it''s') AND ((\"id\" IN ('1', '2')) OR (NOT (\"My Col\" "
                        "IS NULL)))) OR (\"flag\" = true)) OR (\"x\" <> NULL))");
    assert_int_equal(pgcdc__fexpr_ncols(e), 5);
    assert_string_equal(pgcdc__fexpr_col(e, 0), "status");
    assert_string_equal(pgcdc__fexpr_col(e, 2), "My Col");
    /* Literals that do not suit a column's type. */
    assert_null(pgcdc__fexpr_misfit(e, 1, PGCDC_OID_INT4));
    assert_string_equal(pgcdc__fexpr_misfit(e, 0, PGCDC_OID_INT4), "it's");
    assert_null(pgcdc__fexpr_misfit(e, 0, PGCDC_OID_TEXT));
    assert_null(pgcdc__fexpr_misfit(e, 3, PGCDC_OID_BOOL));
    pgcdc__fexpr_free(e);
    pgcdc__fexpr_free(NULL);
    pgcdc__buf_free(&b);
}

static void test_sha256(void **state)
{
    char hex[65];
    char big[1000];

    (void)state;
    pgcdc__sha256_hex(NULL, 0, "", 0, hex);
    assert_string_equal(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    pgcdc__sha256_hex(NULL, 0, "abc", 3, hex);
    assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    /* The salt goes first: the same as hashing salt and value in one. */
    pgcdc__sha256_hex("a", 1, "bc", 2, hex);
    assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    memset(big, 'a', sizeof(big));
    pgcdc__sha256_hex(NULL, 0, "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 56, hex);
    assert_string_equal(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    pgcdc__sha256_hex(NULL, 0, big, sizeof(big), hex);
    assert_string_equal(hex, "41edece42d63e8d9bf515a9ba6932e1c20cbc9f5a5d134645adb5db1b9737ea3");
}

static void test_ops_and_glob(void **state)
{
    char bad[32];
    char text[64];
    int ops = 0;

    (void)state;
    assert_int_equal(pgcdc__filter_parse_ops("insert, UPDATE", &ops, bad, sizeof(bad)), 0);
    assert_int_equal(ops, PGCDC__FOP_INSERT | PGCDC__FOP_UPDATE);
    pgcdc__filter_ops_text(ops, text, sizeof(text));
    assert_string_equal(text, "insert, update");
    assert_int_equal(pgcdc__filter_parse_ops("insert,upsert", &ops, bad, sizeof(bad)), -1);
    assert_string_equal(bad, "upsert");
    assert_int_equal(pgcdc__filter_parse_ops("insert,,delete", &ops, bad, sizeof(bad)), -1);
    assert_true(pgcdc__glob_match("order*", "orders"));
    assert_true(pgcdc__glob_match("order*", "order"));
    assert_true(pgcdc__glob_match("*_log", "audit_log"));
    assert_true(pgcdc__glob_match("o?der", "order"));
    assert_true(pgcdc__glob_match("*a*b*", "xxaxxbxx"));
    assert_false(pgcdc__glob_match("order*", "my_orders"));
    assert_false(pgcdc__glob_match("o?der", "oder"));
    assert_false(pgcdc__glob_match("orders", "orders2"));
}

/* A change of the table through the filters: columns left out, values masked. */
static void test_filter_change(void **state)
{
    pgcdc__filterset fs;
    pgcdc__tableset ts = {0};
    pgcdc__tfilter *tf;
    pgcdc__relation *r = calloc(1, sizeof(*r));
    pgcdc__col oldc[5], newc[5];
    pgcdc_txn txn = {0};
    pgcdc_change c = {0};
    const pgcdc_change *out;
    const char *v;
    char hex[65];

    (void)state;
    setup_rel();
    /* A relation of its own (the filters keep their view on it and it is freed with it). */
    *r = rel;
    r->cols = calloc(5, sizeof(*r->cols));
    r->keys = calloc(1, sizeof(int));
    r->pk = calloc(1, sizeof(int));
    r->schema = strdup("public");
    r->name = strdup("orders");
    r->route = strdup("public.orders");
    for (int i = 0; i < 5; i++) {
        r->cols[i] = cols[i];
        r->cols[i].name = strdup(cols[i].name);
    }
    pgcdc__filterset_init(&fs);
    fs.salt = strdup("pepper");
    tf = pgcdc__filterset_add(&fs, "public", "orders");
    assert_non_null(tf);
    assert_int_equal(pgcdc__filter_split("amount, id", &tf->cols, &tf->ncols), 0);
    tf->exclude = 1; /* the key stays all the same */
    tf->mask_cols = calloc(2, sizeof(char *));
    tf->mask_kinds = calloc(2, 1);
    tf->mask_cols[0] = strdup("email");
    tf->mask_kinds[0] = PGCDC__MASK_HASH;
    tf->mask_cols[1] = strdup("status");
    tf->mask_kinds[1] = PGCDC__MASK_REDACT;
    tf->nmasks = 2;
    assert_int_equal(pgcdc__fexpr_parse("active = true", &tf->where, hex, sizeof(hex)), 0);
    assert_true(pgcdc__filterset_active(&fs));

    set_col(&oldc[0], "7");
    for (int i = 1; i < 5; i++)
        set_col(&oldc[i], NULL);
    set_col(&newc[0], "7");
    set_col(&newc[1], "paid");
    set_col(&newc[2], "10.50");
    set_col(&newc[3], "t");
    set_col(&newc[4], "a@b.c");
    c.op = PGCDC_OP_UPDATE;
    c.rel = r;
    c.txn = &txn;
    c.has_old = 1;
    c.has_new = 1;
    c.old_row = (pgcdc_row){r, oldc, 1, NULL};
    c.new_row = (pgcdc_row){r, newc, 0, NULL};
    assert_int_equal(pgcdc__filter_change(&fs, &ts, &c, &out), 1);
    assert_ptr_not_equal(out, &c);
    assert_int_equal(pgcdc_row_ncols(pgcdc_change_new(out)), 4);
    assert_string_equal(pgcdc_row_name(pgcdc_change_new(out), 2), "active");
    assert_int_equal(pgcdc_row_find(pgcdc_change_new(out), "amount"), PGCDC_ERR_NOT_FOUND);
    assert_int_equal(pgcdc_row_text(pgcdc_change_new(out), "status", &v), PGCDC_OK);
    assert_string_equal(v, "***");
    pgcdc__sha256_hex("pepper", 6, "a@b.c", 5, hex);
    assert_int_equal(pgcdc_row_text(pgcdc_change_new(out), "email", &v), PGCDC_OK);
    assert_string_equal(v, hex);
    assert_int_equal(pgcdc_row_type(pgcdc_change_new(out), 3), PGCDC_OID_TEXT);
    assert_int_equal(pgcdc_row_int64(pgcdc_change_old(out), "id", &(int64_t){0}), PGCDC_OK);
    assert_int_equal(pgcdc_row_state(pgcdc_change_old(out), 3), PGCDC_VALUE_ABSENT);
    assert_int_equal(pgcdc_change_nkeys(out), 1);
    assert_string_equal(pgcdc_change_key(out, 0), "id");
    /* NULL stays NULL. */
    set_col(&newc[4], NULL);
    assert_int_equal(pgcdc__filter_change(&fs, &ts, &c, &out), 1);
    assert_int_equal(pgcdc_row_state(pgcdc_change_new(out), 3), PGCDC_VALUE_NULL);
    /* The row filter: neither row may match (the old key row lacks active: it may). */
    set_col(&newc[3], "f");
    assert_int_equal(pgcdc__filter_change(&fs, &ts, &c, &out), 1);
    c.has_old = 0;
    assert_int_equal(pgcdc__filter_change(&fs, &ts, &c, &out), 0);
    /* Operations. */
    c.op = PGCDC_OP_INSERT;
    set_col(&newc[3], "t");
    assert_int_equal(pgcdc__filter_change(&fs, &ts, &c, &out), 1);
    fs.ops = PGCDC__FOP_UPDATE;
    assert_int_equal(pgcdc__filter_change(&fs, &ts, &c, &out), 0);
    c.op = PGCDC_OP_READ;
    assert_int_equal(pgcdc__filter_change(&fs, &ts, &c, &out), 1);
    pgcdc__relation_free(r);
    pgcdc__filterset_clear(&fs);
    pgcdc__filterset_clear(&fs);
}

static void assert_refused(pgcdc_config *cfg, const char *key, const char *value, const char *want)
{
    char err[512] = "";

    assert_int_equal(pgcdc_config_set(cfg, key, value, err, sizeof(err)), PGCDC_ERR_INVALID);
    if (strstr(err, want) == NULL)
        fail_msg("%s=%s: got \"%s\", want \"%s\"", key, value, err, want);
    assert_null(strchr(err, '\n'));
}

/* The settings by name: checked when set, then made into the worker's filter set. */
static void test_settings(void **state)
{
    pgcdc_config *cfg = pgcdc_config_new();
    pgcdc__filterset fs;
    const pgcdc__tfilter *tf;
    char err[512];

    (void)state;
    assert_refused(cfg, "filter.where.public.orders",
                   "status = ", "filter.where.public.orders: at character 10: expected a literal");
    assert_refused(cfg, "filter.ops", "insert,upsert",
                   "invalid value \"insert,upsert\" for "
                   "filter.ops");
    assert_refused(cfg, "mask.orders", "hash", "name a table and a column");
    assert_refused(cfg, "mask.public.users.email", "scramble", "use one of: hash|redact");
    assert_refused(cfg, "filter.columns.public.users", "id,,name", "one is empty");
    assert_refused(cfg, "filter.columns.a.b.c", "id", "invalid table name");
    assert_int_equal(cfg->nfilters, 0);
    assert_int_equal(
        pgcdc_config_set(cfg, "filter.where.public.my-table", "id > 3", err, sizeof(err)),
        PGCDC_OK);
    assert_string_equal(cfg->filters[0].key, "filter.where.public.my-table");
    assert_int_equal(
        pgcdc_config_set(cfg, "filter.exclude_columns.users", "password, pin", err, sizeof(err)),
        PGCDC_OK);
    assert_int_equal(pgcdc_config_set(cfg, "mask.public.users.email", "REDACT", err, sizeof(err)),
                     PGCDC_OK);
    assert_int_equal(pgcdc_config_set(cfg, "mask.public.users.email", "hash", err, sizeof(err)),
                     PGCDC_OK);
    assert_int_equal(pgcdc_config_set(cfg, "filter.ops", "insert", err, sizeof(err)), PGCDC_OK);
    assert_int_equal(pgcdc_config_set(cfg, "exclude_table", "public.tmp_*", err, sizeof(err)),
                     PGCDC_OK);
    assert_int_equal(cfg->excludes[0].glob, 2);
    assert_int_equal(pgcdc_config_set(cfg, "table", "\"odd*\".orders?", err, sizeof(err)),
                     PGCDC_OK);
    assert_int_equal(cfg->tables[0].glob, 2);
    assert_string_equal(cfg->tables[0].schema, "odd*");
    assert_int_equal(pgcdc_config_set(cfg, "table", "public.orders", err, sizeof(err)), PGCDC_OK);
    assert_int_equal(cfg->tables[1].glob, 0);

    assert_int_equal(pgcdc__filters_build(cfg, &fs), PGCDC_OK);
    assert_int_equal(fs.ops, PGCDC__FOP_INSERT);
    assert_int_equal(fs.ntables, 3);
    tf = pgcdc__filterset_find(&fs, "public", "my-table");
    assert_non_null(tf);
    assert_non_null(tf->where);
    tf = pgcdc__filterset_find(&fs, "other", "users");
    assert_non_null(tf);
    assert_int_equal(tf->exclude, 1);
    assert_int_equal(tf->ncols, 2);
    assert_string_equal(tf->cols[1], "pin");
    tf = pgcdc__filterset_find(&fs, "public", "users");
    assert_non_null(tf);
    assert_int_equal(tf->nmasks, 2);
    assert_int_equal(tf->mask_kinds[1], PGCDC__MASK_HASH);
    pgcdc__filterset_clear(&fs);
    pgcdc_config_free(cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_eval),         cmocka_unit_test(test_parse_errors),
        cmocka_unit_test(test_sql),          cmocka_unit_test(test_sha256),
        cmocka_unit_test(test_ops_and_glob), cmocka_unit_test(test_filter_change),
        cmocka_unit_test(test_settings),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
