/*
 * Unit tests for the configuration setters (src/config.c), the worker's
 * behaviour before it streams (no server needed), and the small public tables
 * in src/error.c: error codes, operation names, version and LSN text.  The
 * properties set by name are tested in test_props.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_fixture.h"
#include "worker.h"

#define PASSWORD "s3cretpw0rd"

/* ---- configuration ---- */

static void test_free_null(void **state)
{
    (void)state;
    pgcdc_config_free(NULL);
    pgcdc_worker_free(NULL);
    assert_null(pgcdc_worker_new(NULL));
    assert_string_equal(pgcdc_config_errmsg(NULL), "no configuration");
    assert_string_equal(pgcdc_worker_errmsg(NULL), "no worker");
}

static void test_defaults(void **state)
{
    pgcdc_config *cfg = *state;

    assert_null(cfg->conninfo);
    assert_null(cfg->slot);
    assert_null(cfg->publication);
    assert_null(cfg->spool_dir);
    assert_null(cfg->tables);
    assert_int_equal(cfg->ntables, 0);
    assert_int_equal(cfg->create_slot, 1);
    assert_int_equal(cfg->create_publication, 1);
    assert_int_equal(cfg->replica_identity_full, 0);
    assert_int_equal(cfg->status_interval_ms, 10000);
    assert_int_equal(cfg->endpos, 0);
    assert_int_equal(cfg->proto_version, 0); /* chosen for the server */
    assert_int_equal(cfg->handler_retries, 5);
    assert_int_equal(cfg->handler_delay_ms, 100);
    assert_int_equal(cfg->reconnect_max_ms, 30000);
    assert_int_equal(cfg->reconnect_attempts, 0);
    assert_null(cfg->change_cb);
    assert_null(cfg->begin_cb);
    assert_null(cfg->commit_cb);
    assert_null(cfg->idle_cb);
    assert_null(cfg->log_cb);
    assert_int_equal(cfg->log_level, PGCDC_LOG_INFO);
    /* No failure yet: an empty message, not NULL. */
    assert_string_equal(pgcdc_config_errmsg(cfg), "");
}

static void test_name_validator(void **state)
{
    char *s63 = repeat('a', 63);
    char *s64 = repeat('a', 64);

    (void)state;
    assert_true(pgcdc__valid_slot_name("a"));
    assert_true(pgcdc__valid_slot_name("_"));
    assert_true(pgcdc__valid_slot_name("0"));
    assert_true(pgcdc__valid_slot_name("abcdefghijklmnopqrstuvwxyz0123456789_"));
    assert_true(pgcdc__valid_slot_name(s63));
    assert_false(pgcdc__valid_slot_name(s64));
    assert_false(pgcdc__valid_slot_name(""));
    assert_false(pgcdc__valid_slot_name("A"));
    assert_false(pgcdc__valid_slot_name("a-b"));
    free(s63);
    free(s64);
}

/* Names no slot or publication may have. */
static const char *const bad_names[] = {
    "",
    "Slot",
    "SLOT",
    "slotA",
    "sl\"ot",
    "\"slot\"",
    "'slot'",
    "slot'",
    "slot;",
    ";",
    "a;DROP TABLE x",
    "slot name",
    " slot",
    "slot ",
    "slot\n",
    "slot\nx",
    "slot\t",
    "sl\x01ot",
    "sl\x7fot",
    "sl\xc3\xb6t", /* "slöt" in UTF-8 */
    "\xe2\x82\xac",
    "sl-ot",
    "sl.ot",
    "sl$ot",
    "sl\\ot",
    "sl%sot",
};

static const char *const good_names[] = {
    "a", "_", "0", "slot", "slot_1", "pgcdc_slot", "0abc", "abcdefghijklmnopqrstuvwxyz0123456789_",
};

typedef int (*name_setter)(pgcdc_config *cfg, const char *name);

static void check_name_setter(pgcdc_config *cfg, name_setter set, char **field, const char *word)
{
    char *s63 = repeat('x', 63);
    char *s64 = repeat('x', 64);
    char *s1000 = repeat('y', 1000);

    for (size_t i = 0; i < sizeof(good_names) / sizeof(good_names[0]); i++) {
        assert_int_equal(set(cfg, good_names[i]), PGCDC_OK);
        assert_non_null(*field);
        assert_string_equal(*field, good_names[i]);
        /* A copy, not the caller's pointer. */
        assert_ptr_not_equal(*field, good_names[i]);
    }
    assert_int_equal(set(cfg, s63), PGCDC_OK);
    assert_string_equal(*field, s63);
    assert_int_equal(set(cfg, "keep_me"), PGCDC_OK);
    for (size_t i = 0; i < sizeof(bad_names) / sizeof(bad_names[0]); i++) {
        int rc = set(cfg, bad_names[i]);

        if (rc != PGCDC_ERR_INVALID)
            fail_msg("%s \"%s\" accepted", word, bad_names[i]);
        assert_failed_with_message(cfg, rc);
        assert_non_null(strstr(pgcdc_config_errmsg(cfg), word));
        /* Nothing changed. */
        assert_string_equal(*field, "keep_me");
    }
    assert_failed_with_message(cfg, set(cfg, s64));
    assert_failed_with_message(cfg, set(cfg, s1000));
    assert_failed_with_message(cfg, set(cfg, NULL));
    assert_string_equal(*field, "keep_me");
    free(s63);
    free(s64);
    free(s1000);
}

static void test_slot(void **state)
{
    pgcdc_config *cfg = *state;

    check_name_setter(cfg, pgcdc_config_set_slot, &cfg->slot, "slot");
}

static void test_publication(void **state)
{
    pgcdc_config *cfg = *state;

    check_name_setter(cfg, pgcdc_config_set_publication, &cfg->publication, "publication");
}

static void assert_table(const pgcdc_config *cfg, int i, const char *schema, const char *name)
{
    assert_true(i < cfg->ntables);
    if (schema == NULL)
        assert_null(cfg->tables[i].schema);
    else
        assert_string_equal(cfg->tables[i].schema, schema);
    assert_string_equal(cfg->tables[i].name, name);
}

static void test_tables(void **state)
{
    pgcdc_config *cfg = *state;
    char *p63 = repeat('t', 63);
    char *p64 = repeat('t', 64);
    char buf[256];
    static const char *const bad[] = {
        "",        ".",   ".t",   "s.",      "t\n",   "\tt",     "s.t\x01",
        "s\x7f.t", "t\r", "s.\n", "\x1b[0m", "a\x1f", "s.t\x7f",
    };

    assert_int_equal(pgcdc_config_add_table(cfg, "t"), PGCDC_OK);
    assert_int_equal(pgcdc_config_add_table(cfg, "s.t"), PGCDC_OK);
    /* Not identifiers to check: the server resolves them; only control characters are out. */
    assert_int_equal(pgcdc_config_add_table(cfg, "Public.Order Items"), PGCDC_OK);
    assert_int_equal(pgcdc_config_add_table(cfg, "sch\xc3\xa9ma.t\xc3\xa4"), PGCDC_OK);
    assert_int_equal(pgcdc_config_add_table(cfg, p63), PGCDC_OK);
    snprintf(buf, sizeof(buf), "%s.%s", p63, p63);
    assert_int_equal(pgcdc_config_add_table(cfg, buf), PGCDC_OK);
    assert_int_equal(cfg->ntables, 6);
    assert_table(cfg, 0, NULL, "t");
    assert_table(cfg, 1, "s", "t");
    assert_table(cfg, 2, "Public", "Order Items");
    assert_table(cfg, 3, "sch\xc3\xa9ma", "t\xc3\xa4");
    assert_table(cfg, 4, NULL, p63);
    assert_table(cfg, 5, p63, p63);

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int rc = pgcdc_config_add_table(cfg, bad[i]);

        if (rc != PGCDC_ERR_INVALID)
            fail_msg("table name %zu accepted", i);
        assert_failed_with_message(cfg, rc);
        assert_int_equal(cfg->ntables, 6);
    }
    /* A 64-byte part, alone, as the schema or as the table. */
    assert_failed_with_message(cfg, pgcdc_config_add_table(cfg, p64));
    snprintf(buf, sizeof(buf), "%s.t", p64);
    assert_failed_with_message(cfg, pgcdc_config_add_table(cfg, buf));
    snprintf(buf, sizeof(buf), "s.%s", p64);
    assert_failed_with_message(cfg, pgcdc_config_add_table(cfg, buf));
    assert_failed_with_message(cfg, pgcdc_config_add_table(cfg, NULL));
    assert_int_equal(cfg->ntables, 6);
    assert_non_null(strstr(pgcdc_config_errmsg(cfg), "table"));
    free(p63);
    free(p64);
}

/* Quoted as in SQL: the quotes go, "" is one quote, a dot inside is part of the name. */
static void test_tables_quoted(void **state)
{
    pgcdc_config *cfg = *state;
    char *p63 = repeat('t', 63);
    char *p64 = repeat('t', 64);
    char buf[256];
    static const struct {
        const char *name;
        const char *why; /* in the message */
    } bad[] = {
        {"public.\"MyTable", "no closing quote"},
        {"\"MyTable", "no closing quote"},
        {"\"a\"\"", "no closing quote"},
        {"\"a\"b", "text after a closing quote"},
        {"\"a\".\"b\"c", "text after a closing quote"},
        {"\"a\" .t", "text after a closing quote"},
        {"\"\"", "invalid table name"},
        {"s.\"\"", "invalid table name"},
        {"\"a\".\"b\".c", "invalid table name"},
        {"\"a\".", "invalid table name"},
        {"\"new\nline\"", "invalid table name"},
    };

    assert_int_equal(pgcdc_config_add_table(cfg, "public.\"MyTable\""), PGCDC_OK);
    assert_int_equal(pgcdc_config_add_table(cfg, "\"MyTable\""), PGCDC_OK);
    assert_int_equal(pgcdc_config_add_table(cfg, "\"My.Schema\".\"a.b\""), PGCDC_OK);
    assert_int_equal(pgcdc_config_add_table(cfg, "\"q\"\"uote\".\"\"\"x\"\"\""), PGCDC_OK);
    assert_int_equal(pgcdc_config_add_table(cfg, "\"Odd \"\"S\"\"\".x"), PGCDC_OK);
    /* Unquoted parts keep their meaning: exact, case and any inner quote as written. */
    assert_int_equal(pgcdc_config_add_table(cfg, "Odd \"S\".we;ird"), PGCDC_OK);
    assert_int_equal(pgcdc_config_add_table(cfg, "s.q\"uote\""), PGCDC_OK);
    snprintf(buf, sizeof(buf), "\"%s\".\"%s\"", p63, p63);
    assert_int_equal(pgcdc_config_add_table(cfg, buf), PGCDC_OK);
    assert_int_equal(cfg->ntables, 8);
    assert_table(cfg, 0, "public", "MyTable");
    assert_table(cfg, 1, NULL, "MyTable");
    assert_table(cfg, 2, "My.Schema", "a.b");
    assert_table(cfg, 3, "q\"uote", "\"x\"");
    assert_table(cfg, 4, "Odd \"S\"", "x");
    assert_table(cfg, 5, "Odd \"S\"", "we;ird");
    assert_table(cfg, 6, "s", "q\"uote\"");
    assert_table(cfg, 7, p63, p63);

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int rc = pgcdc_config_add_table(cfg, bad[i].name);

        if (rc != PGCDC_ERR_INVALID)
            fail_msg("table name %zu accepted", i);
        assert_failed_with_message(cfg, rc);
        assert_null(strchr(pgcdc_config_errmsg(cfg), '\n'));
        if (strstr(pgcdc_config_errmsg(cfg), bad[i].why) == NULL)
            fail_msg("table name %zu: \"%s\"", i, pgcdc_config_errmsg(cfg));
    }
    /* 64 bytes once the quotes are gone: too long. */
    snprintf(buf, sizeof(buf), "s.\"%s\"", p64);
    assert_failed_with_message(cfg, pgcdc_config_add_table(cfg, buf));
    assert_int_equal(cfg->ntables, 8);
    free(p63);
    free(p64);
}

static void test_conninfo(void **state)
{
    pgcdc_config *cfg = *state;
    const char *ci = "host=localhost dbname=app";

    assert_int_equal(pgcdc_config_set_conninfo(cfg, ci), PGCDC_OK);
    assert_string_equal(cfg->conninfo, ci);
    assert_ptr_not_equal(cfg->conninfo, ci);
    /* Replacing frees the old copy (checked by the leak checkers). */
    assert_int_equal(pgcdc_config_set_conninfo(cfg, "postgresql://u@h/db"), PGCDC_OK);
    assert_string_equal(cfg->conninfo, "postgresql://u@h/db");
    assert_failed_with_message(cfg, pgcdc_config_set_conninfo(cfg, NULL));
    assert_string_equal(cfg->conninfo, "postgresql://u@h/db");
    /* An empty string means "PG* variables only". */
    assert_int_equal(pgcdc_config_set_conninfo(cfg, ""), PGCDC_OK);
    assert_string_equal(cfg->conninfo, "");
}

static void test_flags(void **state)
{
    pgcdc_config *cfg = *state;
    static const int values[] = {0, 1, 2, -1, INT_MAX, INT_MIN};

    for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
        int want = values[i] != 0;

        assert_int_equal(pgcdc_config_set_create_slot(cfg, values[i]), PGCDC_OK);
        assert_int_equal(cfg->create_slot, want);
        assert_int_equal(pgcdc_config_set_create_publication(cfg, values[i]), PGCDC_OK);
        assert_int_equal(cfg->create_publication, want);
        assert_int_equal(pgcdc_config_set_replica_identity_full(cfg, values[i]), PGCDC_OK);
        assert_int_equal(cfg->replica_identity_full, want);
    }
}

static void test_status_interval(void **state)
{
    pgcdc_config *cfg = *state;
    static const int good[] = {100, 101, 5000, 9999, 10000};
    static const int bad[] = {99, 0, -1, 10001, INT_MAX, INT_MIN};

    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        assert_int_equal(pgcdc_config_set_status_interval(cfg, good[i]), PGCDC_OK);
        assert_int_equal(cfg->status_interval_ms, good[i]);
    }
    assert_int_equal(pgcdc_config_set_status_interval(cfg, 1234), PGCDC_OK);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_failed_with_message(cfg, pgcdc_config_set_status_interval(cfg, bad[i]));
        assert_int_equal(cfg->status_interval_ms, 1234);
    }
}

static void test_endpos(void **state)
{
    pgcdc_config *cfg = *state;
    static const uint64_t values[] = {0, 1, UINT64_C(0x16B374D848), UINT64_MAX};

    for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
        assert_int_equal(pgcdc_config_set_endpos(cfg, values[i]), PGCDC_OK);
        assert_true(cfg->endpos == values[i]);
    }
}

static void test_proto_version(void **state)
{
    pgcdc_config *cfg = *state;
    static const int bad[] = {4, -1, INT_MAX, INT_MIN};

    assert_int_equal(pgcdc_config_set_proto_version(cfg, 0), PGCDC_OK);
    assert_int_equal(cfg->proto_version, 0);
    assert_int_equal(cfg->two_phase, 0);
    assert_int_equal(pgcdc_config_set_two_phase(cfg, 1), PGCDC_OK);
    assert_int_equal(cfg->two_phase, 1);
    assert_int_equal(pgcdc_config_set_two_phase(cfg, 0), PGCDC_OK);
    assert_int_equal(cfg->two_phase, 0);
    assert_int_equal(pgcdc_config_set_proto_version(cfg, 3), PGCDC_OK);
    assert_int_equal(cfg->proto_version, 3);
    assert_int_equal(pgcdc_config_set_proto_version(cfg, 2), PGCDC_OK);
    assert_int_equal(cfg->proto_version, 2);
    assert_int_equal(pgcdc_config_set_proto_version(cfg, 1), PGCDC_OK);
    assert_int_equal(cfg->proto_version, 1);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_failed_with_message(cfg, pgcdc_config_set_proto_version(cfg, bad[i]));
        assert_int_equal(cfg->proto_version, 1);
    }
}

static void test_spool_dir(void **state)
{
    pgcdc_config *cfg = *state;

    assert_int_equal(pgcdc_config_set_spool_dir(cfg, "/var/tmp"), PGCDC_OK);
    assert_string_equal(cfg->spool_dir, "/var/tmp");
    assert_int_equal(pgcdc_config_set_spool_dir(cfg, "."), PGCDC_OK);
    assert_string_equal(cfg->spool_dir, ".");
    assert_failed_with_message(cfg, pgcdc_config_set_spool_dir(cfg, ""));
    assert_failed_with_message(cfg, pgcdc_config_set_spool_dir(cfg, NULL));
    assert_string_equal(cfg->spool_dir, ".");
}

static void test_handler_retries(void **state)
{
    pgcdc_config *cfg = *state;
    static const int good[][2] = {{0, 0}, {100, 60000}, {5, 100}, {1, 1}};
    static const int bad[][2] = {{-1, 0},      {101, 0},     {0, -1},      {0, 60001},
                                 {INT_MIN, 0}, {0, INT_MAX}, {INT_MAX, 0}, {-1, -1}};

    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        assert_int_equal(pgcdc_config_set_handler_retries(cfg, good[i][0], good[i][1]), PGCDC_OK);
        assert_int_equal(cfg->handler_retries, good[i][0]);
        assert_int_equal(cfg->handler_delay_ms, good[i][1]);
    }
    assert_int_equal(pgcdc_config_set_handler_retries(cfg, 7, 250), PGCDC_OK);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_failed_with_message(cfg,
                                   pgcdc_config_set_handler_retries(cfg, bad[i][0], bad[i][1]));
        /* Neither half changed. */
        assert_int_equal(cfg->handler_retries, 7);
        assert_int_equal(cfg->handler_delay_ms, 250);
    }
}

static void test_reconnect(void **state)
{
    pgcdc_config *cfg = *state;
    static const int good[][2] = {{10, 0}, {3600000, 5}, {30000, INT_MAX}, {11, 1}};
    static const int bad[][2] = {{9, 0}, {3600001, 0}, {10, -1},     {-5, 0},
                                 {0, 0}, {INT_MAX, 0}, {INT_MIN, 0}, {100, INT_MIN}};

    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        assert_int_equal(pgcdc_config_set_reconnect(cfg, good[i][0], good[i][1]), PGCDC_OK);
        assert_int_equal(cfg->reconnect_max_ms, good[i][0]);
        assert_int_equal(cfg->reconnect_attempts, good[i][1]);
    }
    assert_int_equal(pgcdc_config_set_reconnect(cfg, 500, 3), PGCDC_OK);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_failed_with_message(cfg, pgcdc_config_set_reconnect(cfg, bad[i][0], bad[i][1]));
        assert_int_equal(cfg->reconnect_max_ms, 500);
        assert_int_equal(cfg->reconnect_attempts, 3);
    }
}

static void test_log_level(void **state)
{
    pgcdc_config *cfg = *state;

    for (int lv = PGCDC_LOG_ERROR; lv <= PGCDC_LOG_DEBUG; lv++) {
        assert_int_equal(pgcdc_config_set_log_level(cfg, (pgcdc_log_level)lv), PGCDC_OK);
        assert_int_equal(cfg->log_level, lv);
    }
    assert_failed_with_message(cfg, pgcdc_config_set_log_level(cfg, (pgcdc_log_level)-1));
    assert_failed_with_message(cfg, pgcdc_config_set_log_level(cfg, (pgcdc_log_level)4));
    assert_failed_with_message(cfg, pgcdc_config_set_log_level(cfg, (pgcdc_log_level)1000));
    assert_int_equal(cfg->log_level, PGCDC_LOG_DEBUG);
}

static void log_cb(pgcdc_worker *w, pgcdc_log_level level, const char *msg, void *opaque)
{
    (void)w;
    (void)level;
    (void)msg;
    (void)opaque;
}

static void test_callbacks(void **state)
{
    pgcdc_config *cfg = *state;
    int a;
    int b;
    int c;
    int d;
    int e;

    assert_int_equal(pgcdc_config_set_change_cb(cfg, change_cb, &a), PGCDC_OK);
    assert_int_equal(pgcdc_config_set_begin_cb(cfg, txn_cb, &b), PGCDC_OK);
    assert_int_equal(pgcdc_config_set_commit_cb(cfg, txn_cb, &c), PGCDC_OK);
    assert_int_equal(pgcdc_config_set_log_cb(cfg, log_cb, &d), PGCDC_OK);
    assert_int_equal(pgcdc_config_set_idle_cb(cfg, idle_cb, &e), PGCDC_OK);
    assert_ptr_equal(cfg->change_cb, change_cb);
    assert_ptr_equal(cfg->change_opaque, &a);
    assert_ptr_equal(cfg->begin_cb, txn_cb);
    assert_ptr_equal(cfg->begin_opaque, &b);
    assert_ptr_equal(cfg->commit_cb, txn_cb);
    assert_ptr_equal(cfg->commit_opaque, &c);
    assert_ptr_equal(cfg->log_cb, log_cb);
    assert_ptr_equal(cfg->log_opaque, &d);
    assert_ptr_equal(cfg->idle_cb, idle_cb);
    assert_ptr_equal(cfg->idle_opaque, &e);
    /* NULL clears a hook. */
    assert_int_equal(pgcdc_config_set_change_cb(cfg, NULL, NULL), PGCDC_OK);
    assert_int_equal(pgcdc_config_set_begin_cb(cfg, NULL, NULL), PGCDC_OK);
    assert_int_equal(pgcdc_config_set_commit_cb(cfg, NULL, NULL), PGCDC_OK);
    assert_int_equal(pgcdc_config_set_log_cb(cfg, NULL, NULL), PGCDC_OK);
    assert_int_equal(pgcdc_config_set_idle_cb(cfg, NULL, NULL), PGCDC_OK);
    assert_null(cfg->idle_cb);
    assert_null(cfg->change_cb);
    assert_null(cfg->begin_cb);
    assert_null(cfg->commit_cb);
    assert_null(cfg->log_cb);
}

/* The message is the last failure's, and a later success leaves it alone. */
static void test_errmsg(void **state)
{
    pgcdc_config *cfg = *state;
    char first[PGCDC__MSG_SIZE];

    assert_int_equal(pgcdc_config_set_slot(cfg, "BAD"), PGCDC_ERR_INVALID);
    snprintf(first, sizeof(first), "%s", pgcdc_config_errmsg(cfg));
    assert_non_null(strstr(first, "slot"));
    assert_int_equal(pgcdc_config_set_proto_version(cfg, 9), PGCDC_ERR_INVALID);
    assert_string_not_equal(pgcdc_config_errmsg(cfg), first);
    assert_non_null(strstr(pgcdc_config_errmsg(cfg), "protocol"));
    /* Messages: one line, lower case start, no final period. */
    {
        const char *m = pgcdc_config_errmsg(cfg);
        size_t n = strlen(m);

        assert_null(strchr(m, '\n'));
        assert_false(isupper((unsigned char)m[0]));
        assert_int_not_equal(m[n - 1], '.');
    }
}

/* ---- the worker before it streams ---- */

/* A config with every string and list set, so that the worker's copy is checked deeply. */
static pgcdc_config *full_config(const char *conninfo)
{
    pgcdc_config *cfg = pgcdc_config_new();

    assert_non_null(cfg);
    if (conninfo != NULL)
        assert_int_equal(pgcdc_config_set_conninfo(cfg, conninfo), PGCDC_OK);
    assert_int_equal(pgcdc_config_set_slot(cfg, "unit_slot"), PGCDC_OK);
    assert_int_equal(pgcdc_config_set_publication(cfg, "unit_pub"), PGCDC_OK);
    assert_int_equal(pgcdc_config_set_spool_dir(cfg, "/nonexistent-spool"), PGCDC_OK);
    assert_int_equal(pgcdc_config_add_table(cfg, "public.orders"), PGCDC_OK);
    assert_int_equal(pgcdc_config_add_table(cfg, "items"), PGCDC_OK);
    assert_int_equal(pgcdc_config_set_change_cb(cfg, change_cb, NULL), PGCDC_OK);
    assert_int_equal(pgcdc_config_set_log_cb(cfg, log_cb, NULL), PGCDC_OK);
    return cfg;
}

static void test_worker_copies_config(void **state)
{
    pgcdc_config *cfg = full_config(NULL);
    pgcdc_worker *w;

    (void)state;
    w = pgcdc_worker_new(cfg);
    assert_non_null(w);
    /* Scribble over the original before freeing it: the worker must not share it. */
    cfg->slot[0] = 'X';
    cfg->tables[0].name[0] = 'X';
    pgcdc_config_free(cfg);

    assert_string_equal(w->cfg.slot, "unit_slot");
    assert_string_equal(w->cfg.publication, "unit_pub");
    assert_string_equal(w->cfg.spool_dir, "/nonexistent-spool");
    assert_int_equal(w->cfg.ntables, 2);
    assert_string_equal(w->cfg.tables[0].schema, "public");
    assert_string_equal(w->cfg.tables[0].name, "orders");
    assert_null(w->cfg.tables[1].schema);
    assert_string_equal(w->cfg.tables[1].name, "items");
    assert_ptr_equal(w->cfg.change_cb, change_cb);

    assert_string_equal(pgcdc_worker_errmsg(w), "no error");
    assert_int_equal(pgcdc_worker_confirmed_lsn(w), 0);
    /* No connection string: refused with a message, nothing attempted. */
    assert_int_equal(pgcdc_worker_start(w), PGCDC_ERR_INVALID);
    assert_string_not_equal(pgcdc_worker_errmsg(w), "no error");
    assert_true(strlen(pgcdc_worker_errmsg(w)) > 0);
    assert_non_null(strstr(pgcdc_worker_errmsg(w), "connection string"));
    /* Still not started. */
    assert_int_equal(pgcdc_worker_run(w), PGCDC_ERR_STATE);
    pgcdc_worker_free(w);
}

static void test_worker_not_started(void **state)
{
    pgcdc_config *cfg = pgcdc_config_new();
    pgcdc_worker *w;
    static pgcdc_change dummy;
    const pgcdc_change *change = &dummy;

    (void)state;
    assert_non_null(cfg);
    w = pgcdc_worker_new(cfg);
    pgcdc_config_free(cfg);
    assert_non_null(w);

    assert_int_equal(pgcdc_worker_run(w), PGCDC_ERR_STATE);
    assert_non_null(strstr(pgcdc_worker_errmsg(w), "start"));
    assert_int_equal(pgcdc_worker_next(w, &change, 0), PGCDC_ERR_STATE);
    assert_null(change);
    assert_int_equal(pgcdc_worker_next(w, &change, 10), PGCDC_ERR_STATE);
    assert_true(strlen(pgcdc_worker_errmsg(w)) > 0);
    /* Nothing outstanding to acknowledge. */
    assert_int_equal(pgcdc_worker_ack(w, 0), PGCDC_ERR_INVALID);
    assert_int_equal(pgcdc_worker_ack(w, 1), PGCDC_ERR_INVALID);
    assert_int_equal(pgcdc_worker_confirmed_lsn(w), 0);
    assert_null(pgcdc_worker_database(w));
    /* Preflight alone needs a connection string too. */
    assert_int_equal(pgcdc_worker_prepare(w, NULL), PGCDC_ERR_INVALID);
    assert_non_null(strstr(pgcdc_worker_errmsg(w), "connection string"));
    /* A stop before start is harmless, and free still works after it. */
    pgcdc_worker_stop(w);
    pgcdc_worker_stop(w);
    assert_int_equal(pgcdc_worker_run(w), PGCDC_ERR_STATE);
    /* Still no connection string. */
    assert_int_equal(pgcdc_worker_start(w), PGCDC_ERR_INVALID);
    pgcdc_worker_free(w);
}

/* A start that fails leaves the worker failed: no second start, no run. */
static void test_worker_failed_start(void **state)
{
    pgcdc_config *cfg = pgcdc_config_new();
    pgcdc_worker *w;
    const pgcdc_change *change = NULL;

    (void)state;
    assert_non_null(cfg);
    assert_int_equal(pgcdc_config_set_conninfo(cfg, "host=/nonexistent-pgcdc-dir"), PGCDC_OK);
    w = pgcdc_worker_new(cfg);
    pgcdc_config_free(cfg);
    assert_non_null(w);
    /* No slot or publication: refused before connecting. */
    assert_int_equal(pgcdc_worker_start(w), PGCDC_ERR_INVALID);
    assert_non_null(strstr(pgcdc_worker_errmsg(w), "slot"));
    assert_int_equal(pgcdc_worker_start(w), PGCDC_ERR_STATE);
    assert_int_equal(pgcdc_worker_run(w), PGCDC_ERR_STATE);
    assert_int_equal(pgcdc_worker_next(w, &change, 0), PGCDC_ERR_STATE);
    pgcdc_worker_free(w);
}

/* Connection failures name no password, whatever form it was given in. */
static void check_start_hides_password(const char *conninfo, int want)
{
    pgcdc_config *cfg = full_config(conninfo);
    pgcdc_worker *w = pgcdc_worker_new(cfg);
    char msg[PGCDC__MSG_SIZE];
    int rc;

    pgcdc_config_free(cfg);
    assert_non_null(w);
    rc = pgcdc_worker_start(w);
    snprintf(msg, sizeof(msg), "%s", pgcdc_worker_errmsg(w));
    pgcdc_worker_free(w);
    if (rc != want)
        fail_msg("start with \"%s\": %s (%s), want %s", conninfo, pgcdc_err_name(rc), msg,
                 pgcdc_err_name(want));
    assert_true(strlen(msg) > 0);
    if (strstr(msg, PASSWORD) != NULL)
        fail_msg("password in message: %s", msg);
    assert_null(strchr(msg, '\n'));
}

static void test_worker_start_errors_hide_password(void **state)
{
    (void)state;
    /* Malformed: libpq's parse errors quote parts of the input. */
    check_start_hides_password("host=x password=" PASSWORD " bogus", PGCDC_ERR_INVALID);
    check_start_hides_password("password='" PASSWORD, PGCDC_ERR_INVALID);
    check_start_hides_password("password=" PASSWORD " nosuchkey=1", PGCDC_ERR_INVALID);
    check_start_hides_password("postgresql://alice:" PASSWORD "@h/db?x", PGCDC_ERR_INVALID);
    /* Well formed, nothing listening (a socket directory that does not exist). */
    check_start_hides_password(
        "host=/nonexistent-pgcdc-dir port=1 user=u dbname=d password=" PASSWORD, PGCDC_ERR_CONNECT);
    check_start_hides_password("postgresql://alice:" PASSWORD "@%2Fnonexistent-pgcdc-dir:1/d",
                               PGCDC_ERR_CONNECT);
}

/*
 * libpq messages with a short quoted fragment ("=", "]", "a") before or at
 * the end of the quoted input: the input must still be hidden, and the
 * message read within its bounds (valgrind checks the last case).
 */
static void test_worker_start_password_with_space(void **state)
{
    (void)state;
    /* An unquoted space in the password: libpq quotes the rest as a keyword. */
    check_start_hides_password("host=x password=abc " PASSWORD, PGCDC_ERR_INVALID);
}

static void test_worker_start_bad_ipv6_uri(void **state)
{
    (void)state;
    check_start_hides_password("postgresql://alice:" PASSWORD "@[::1/db", PGCDC_ERR_INVALID);
}

static void test_worker_start_short_option_name(void **state)
{
    (void)state;
    check_start_hides_password("a=1 password=" PASSWORD, PGCDC_ERR_INVALID);
}

/* ---- errors, names, version ---- */

typedef struct err_row {
    int code;
    const char *name;
    const char *text;
} err_row;

static const err_row err_rows[] = {
#define PGCDC__TEST_ROW(name, code, text) {PGCDC_ERR_##name, #name, text},
    PGCDC_ERRNO_MAP(PGCDC__TEST_ROW)
#undef PGCDC__TEST_ROW
};

#define NERRS (sizeof(err_rows) / sizeof(err_rows[0]))

static void test_errors_table(void **state)
{
    (void)state;
    assert_int_equal(PGCDC_OK, 0);
    assert_int_equal(err_rows[0].code, PGCDC_OK);
    for (size_t i = 0; i < NERRS; i++) {
        const err_row *e = &err_rows[i];

        assert_string_equal(pgcdc_strerror(e->code), e->text);
        assert_string_equal(pgcdc_err_name(e->code), e->name);
        assert_true(strlen(e->text) > 0);
        assert_int_not_equal(e->text[strlen(e->text) - 1], '.');
        /* Success is 0, failures negative. */
        if (i > 0)
            assert_true(e->code < 0);
        for (size_t j = 0; j < i; j++) {
            assert_int_not_equal(err_rows[j].code, e->code);
            assert_string_not_equal(err_rows[j].name, e->name);
            assert_string_not_equal(err_rows[j].text, e->text);
        }
    }
    assert_string_equal(pgcdc_err_name(PGCDC_ERR_SLOT_MISSING), "SLOT_MISSING");
    assert_string_equal(pgcdc_strerror(PGCDC_OK), "success");
    assert_string_equal(pgcdc_err_name(PGCDC_OK), "OK");
}

static void test_errors_unknown(void **state)
{
    int lowest = 0;
    int negative[] = {0, 0, -1000000, INT_MIN};
    static const int positive[] = {1, 2, 23, 1000, INT_MAX};

    (void)state;
    for (size_t i = 0; i < NERRS; i++) {
        if (err_rows[i].code < lowest)
            lowest = err_rows[i].code;
    }
    negative[0] = lowest - 1;
    negative[1] = lowest - 2;
    for (size_t i = 0; i < sizeof(negative) / sizeof(negative[0]); i++) {
        assert_string_equal(pgcdc_strerror(negative[i]), "unknown error");
        assert_string_equal(pgcdc_err_name(negative[i]), "UNKNOWN");
    }
    for (size_t i = 0; i < sizeof(positive) / sizeof(positive[0]); i++) {
        assert_non_null(pgcdc_strerror(positive[i]));
        assert_true(strlen(pgcdc_strerror(positive[i])) > 0);
        assert_string_equal(pgcdc_err_name(positive[i]), "UNKNOWN");
    }
}

static void test_op_name(void **state)
{
    (void)state;
    assert_string_equal(pgcdc_op_name(PGCDC_OP_INSERT), "INSERT");
    assert_string_equal(pgcdc_op_name(PGCDC_OP_UPDATE), "UPDATE");
    assert_string_equal(pgcdc_op_name(PGCDC_OP_DELETE), "DELETE");
    assert_string_equal(pgcdc_op_name(PGCDC_OP_TRUNCATE), "TRUNCATE");
    assert_int_equal(PGCDC_OP_INSERT, 'I');
    assert_int_equal(PGCDC_OP_UPDATE, 'U');
    assert_int_equal(PGCDC_OP_DELETE, 'D');
    assert_int_equal(PGCDC_OP_TRUNCATE, 'T');
    assert_string_equal(pgcdc_op_name((pgcdc_op)0), "UNKNOWN");
    assert_string_equal(pgcdc_op_name((pgcdc_op)'i'), "UNKNOWN");
    assert_string_equal(pgcdc_op_name((pgcdc_op)'B'), "UNKNOWN");
    assert_string_equal(pgcdc_op_name((pgcdc_op)-1), "UNKNOWN");
}

static void test_version(void **state)
{
    char want[32];

    (void)state;
    assert_string_equal(pgcdc_version(), PGCDC_VERSION_STRING);
    snprintf(want, sizeof(want), "%d.%d.%d", PGCDC_VERSION_MAJOR, PGCDC_VERSION_MINOR,
             PGCDC_VERSION_PATCH);
    assert_string_equal(pgcdc_version(), want);
    assert_int_equal(pgcdc_version_num(), PGCDC_VERSION_NUM);
    assert_int_equal(PGCDC_VERSION_NUM,
                     PGCDC_VERSION_MAJOR * 10000 + PGCDC_VERSION_MINOR * 100 + PGCDC_VERSION_PATCH);
}

/* ---- LSN text ---- */

static void test_lsn_format(void **state)
{
    char buf[18];
    char small[5];

    (void)state;
    assert_ptr_equal(pgcdc_lsn_format(0, buf, sizeof(buf)), buf);
    assert_string_equal(buf, "0/0");
    assert_string_equal(pgcdc_lsn_format(UINT64_MAX, buf, sizeof(buf)), "FFFFFFFF/FFFFFFFF");
    assert_string_equal(pgcdc_lsn_format(UINT64_C(0x16B374D848), buf, sizeof(buf)), "16/B374D848");
    assert_string_equal(pgcdc_lsn_format(UINT64_C(0x100000000), buf, sizeof(buf)), "1/0");
    assert_string_equal(pgcdc_lsn_format(UINT64_C(0xFFFFFFFF), buf, sizeof(buf)), "0/FFFFFFFF");
    /* Too small a buffer: cut, still terminated. */
    assert_string_equal(pgcdc_lsn_format(UINT64_MAX, small, sizeof(small)), "FFFF");
}

static void check_round_trip(uint64_t lsn)
{
    char buf[18];
    uint64_t back = ~lsn;

    pgcdc_lsn_format(lsn, buf, sizeof(buf));
    if (pgcdc_lsn_parse(buf, &back) != PGCDC_OK || back != lsn)
        fail_msg("\"%s\" did not read back", buf);
}

static void test_lsn_round_trip(void **state)
{
    uint64_t lsn;
    uint64_t x = UINT64_C(88172645463325252);

    (void)state;
    check_round_trip(0);
    check_round_trip(1);
    check_round_trip(UINT64_MAX);
    check_round_trip(UINT64_C(0x16B374D848));
    check_round_trip(UINT64_C(0xFFFFFFFF));
    check_round_trip(UINT64_C(0x100000000));
    for (int i = 0; i < 10000; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        check_round_trip(x >> (i % 64));
    }

    assert_int_equal(pgcdc_lsn_parse("0/0", &lsn), PGCDC_OK);
    assert_true(lsn == 0);
    assert_int_equal(pgcdc_lsn_parse("FFFFFFFF/FFFFFFFF", &lsn), PGCDC_OK);
    assert_true(lsn == UINT64_MAX);
    assert_int_equal(pgcdc_lsn_parse("16/B374D848", &lsn), PGCDC_OK);
    assert_true(lsn == UINT64_C(0x16B374D848));
    assert_int_equal(pgcdc_lsn_parse("16/b374d848", &lsn), PGCDC_OK);
    assert_true(lsn == UINT64_C(0x16B374D848));
    assert_int_equal(pgcdc_lsn_parse("00000016/0000000A", &lsn), PGCDC_OK);
    assert_true(lsn == UINT64_C(0x160000000A));
}

static void test_lsn_parse_rejects(void **state)
{
    static const char *const bad[] = {
        "",     "/",           "1/",          "/1",          "G/1",         "1/G",  "1/1x",
        "x1/1", "123456789/1", "1/123456789", "000000001/1", " 1/1",        "1/1 ", "1 /1",
        "1/ 1", "1//1",        "1/1/1",       "+1/1",        "-1/1",        "1/-1", "0x1/1",
        "1:1",  "1",           "11",          "1/1\n",       "FFFFFFFFF/0", "1.1",
    };
    const uint64_t sentinel = UINT64_C(0x1234567890ABCDEF);

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        uint64_t lsn = sentinel;

        if (pgcdc_lsn_parse(bad[i], &lsn) != PGCDC_ERR_INVALID)
            fail_msg("\"%s\" accepted", bad[i]);
        /* Untouched on failure. */
        assert_true(lsn == sentinel);
    }
    {
        uint64_t lsn = sentinel;

        assert_int_equal(pgcdc_lsn_parse(NULL, &lsn), PGCDC_ERR_INVALID);
        assert_true(lsn == sentinel);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_free_null),
        cmocka_unit_test_setup_teardown(test_defaults, setup, teardown),
        cmocka_unit_test(test_name_validator),
        cmocka_unit_test_setup_teardown(test_slot, setup, teardown),
        cmocka_unit_test_setup_teardown(test_publication, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tables, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tables_quoted, setup, teardown),
        cmocka_unit_test_setup_teardown(test_conninfo, setup, teardown),
        cmocka_unit_test_setup_teardown(test_flags, setup, teardown),
        cmocka_unit_test_setup_teardown(test_status_interval, setup, teardown),
        cmocka_unit_test_setup_teardown(test_endpos, setup, teardown),
        cmocka_unit_test_setup_teardown(test_proto_version, setup, teardown),
        cmocka_unit_test_setup_teardown(test_spool_dir, setup, teardown),
        cmocka_unit_test_setup_teardown(test_handler_retries, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reconnect, setup, teardown),
        cmocka_unit_test_setup_teardown(test_log_level, setup, teardown),
        cmocka_unit_test_setup_teardown(test_callbacks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_errmsg, setup, teardown),
        cmocka_unit_test(test_worker_copies_config),
        cmocka_unit_test(test_worker_not_started),
        cmocka_unit_test(test_worker_failed_start),
        cmocka_unit_test(test_worker_start_errors_hide_password),
        cmocka_unit_test(test_worker_start_password_with_space),
        cmocka_unit_test(test_worker_start_bad_ipv6_uri),
        cmocka_unit_test(test_worker_start_short_option_name),
        cmocka_unit_test(test_errors_table),
        cmocka_unit_test(test_errors_unknown),
        cmocka_unit_test(test_op_name),
        cmocka_unit_test(test_version),
        cmocka_unit_test(test_lsn_format),
        cmocka_unit_test(test_lsn_round_trip),
        cmocka_unit_test(test_lsn_parse_rejects),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
