/*
 * Out of memory in the configuration, for real: this test's malloc family is
 * wrapped at link time (-Wl,--wrap=..., see tests/CMakeLists.txt), so that the
 * n-th allocation fails.  Each setter must then return PGCDC_ERR_NOMEM with
 * "out of memory", leave the config as it was and freeable, and leak nothing
 * (ASan and valgrind builds check the last part).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "worker.h"

/* ---- the wrapped allocator ---- */

void *__real_malloc(size_t size);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t size);
char *__real_strdup(const char *s);
char *__real_strndup(const char *s, size_t n);
void *__wrap_malloc(size_t size);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_realloc(void *p, size_t size);
char *__wrap_strdup(const char *s);
char *__wrap_strndup(const char *s, size_t n);

static int fail_at;   /* the allocation that fails, counting from 1 once armed; 0: none */
static int fail_rest; /* and every one after it */
static int nallocs;   /* allocations since armed */
static int nfailed;   /* of which failed */
static int wrapped;   /* allocations seen at all: proves the wrapping is in effect */

static int should_fail(void)
{
    wrapped++;
    if (fail_at == 0)
        return 0;
    nallocs++;
    if (nallocs == fail_at || (fail_rest && nallocs > fail_at)) {
        nfailed++;
        errno = ENOMEM;
        return 1;
    }
    return 0;
}

void *__wrap_malloc(size_t size)
{
    return should_fail() ? NULL : __real_malloc(size);
}

void *__wrap_calloc(size_t n, size_t size)
{
    return should_fail() ? NULL : __real_calloc(n, size);
}

/* A failed realloc leaves the block alone, as the real one does. */
void *__wrap_realloc(void *p, size_t size)
{
    return should_fail() ? NULL : __real_realloc(p, size);
}

char *__wrap_strdup(const char *s)
{
    return should_fail() ? NULL : __real_strdup(s);
}

char *__wrap_strndup(const char *s, size_t n)
{
    return should_fail() ? NULL : __real_strndup(s, n);
}

static void arm(int n, int rest)
{
    nallocs = 0;
    nfailed = 0;
    fail_rest = rest;
    fail_at = n;
}

static void disarm(void)
{
    fail_at = 0;
}

/* ---- the configuration as text ---- */

/* Every field a setter can change, as one string ("nothing changed" is this staying equal). */
static void describe(const pgcdc_config *cfg, char *buf, size_t n)
{
    size_t used;

#define S(s) ((s) != NULL ? (s) : "(null)")
    used = (size_t)snprintf(buf, n,
                            "conninfo=%s slot=%s publication=%s spool_dir=%s dead_letter=%s "
                            "on_error=%d format=%d status=%d\n",
                            S(cfg->conninfo), S(cfg->slot), S(cfg->publication), S(cfg->spool_dir),
                            S(cfg->dead_letter_path), cfg->error_policy, (int)cfg->format,
                            cfg->status_interval_ms);
    for (int i = 0; i < cfg->ntables && used < n; i++)
        used += (size_t)snprintf(buf + used, n - used, "table %s.%s\n", S(cfg->tables[i].schema),
                                 S(cfg->tables[i].name));
    for (int i = 0; i < cfg->nsinks && used < n; i++)
        used += (size_t)snprintf(buf + used, n - used, "sink %s %s %p\n", cfg->sinks[i].ops->kind,
                                 S(cfg->sinks[i].uri), cfg->sinks[i].opaque);
    for (int i = 0; i < cfg->nprops && used < n; i++)
        used += (size_t)snprintf(buf + used, n - used, "prop %s=%s\n", S(cfg->props[i].key),
                                 S(cfg->props[i].value));
#undef S
    assert_true(used < n);
}

/* A config with something in every field, so that setters replace and append, not only fill. */
static pgcdc_config *populated(void)
{
    pgcdc_config *cfg = pgcdc_config_new();

    assert_non_null(cfg);
    assert_int_equal(pgcdc_config_set_conninfo(cfg, "host=old"), PGCDC_OK);
    assert_int_equal(pgcdc_config_set_slot(cfg, "old_slot"), PGCDC_OK);
    assert_int_equal(pgcdc_config_set_publication(cfg, "old_pub"), PGCDC_OK);
    assert_int_equal(pgcdc_config_set_spool_dir(cfg, "/old"), PGCDC_OK);
    assert_int_equal(pgcdc_config_set_error_policy(cfg, PGCDC_ON_ERROR_DEAD_LETTER, "/old/dl"),
                     PGCDC_OK);
    assert_int_equal(pgcdc_config_add_table(cfg, "old.t"), PGCDC_OK);
    assert_int_equal(pgcdc_config_add_sink(cfg, "-"), PGCDC_OK);
    assert_int_equal(pgcdc_config_set(cfg, "sink.file.flush_interval", "1s", NULL, 0), PGCDC_OK);
    return cfg;
}

/* ---- the setters under test ---- */

/* pgcdc_config_set's message also goes here. */
static char errbuf[256];

static int op_conninfo(pgcdc_config *cfg)
{
    return pgcdc_config_set_conninfo(cfg, "host=new dbname=d");
}

static int op_slot(pgcdc_config *cfg)
{
    return pgcdc_config_set_slot(cfg, "new_slot");
}

static int op_publication(pgcdc_config *cfg)
{
    return pgcdc_config_set_publication(cfg, "new_pub");
}

static int op_add_table(pgcdc_config *cfg)
{
    return pgcdc_config_add_table(cfg, "orders");
}

static int op_add_table_qualified(pgcdc_config *cfg)
{
    return pgcdc_config_add_table(cfg, "public.orders");
}

static int op_add_sink(pgcdc_config *cfg)
{
    return pgcdc_config_add_sink(cfg, "file:/tmp/new.jsonl");
}

static int op_add_sink_stdout(pgcdc_config *cfg)
{
    return pgcdc_config_add_sink(cfg, "-");
}

static int mq_write(pgcdc_sink *sink, const pgcdc_sink_event *ev)
{
    (void)sink;
    (void)ev;
    return PGCDC_HANDLED;
}

static const pgcdc_sink_ops mq_ops = {.abi = PGCDC_SINK_ABI, .kind = "mq", .write = mq_write};
static int mq_opaque;

static int op_add_sink_ops(pgcdc_config *cfg)
{
    return pgcdc_config_add_sink_ops(cfg, &mq_ops, "mq:topic", &mq_opaque);
}

static int op_error_policy(pgcdc_config *cfg)
{
    return pgcdc_config_set_error_policy(cfg, PGCDC_ON_ERROR_DEAD_LETTER, "/new/dl");
}

static int op_spool_dir(pgcdc_config *cfg)
{
    return pgcdc_config_set_spool_dir(cfg, "/new/spool");
}

static int op_set_slot(pgcdc_config *cfg)
{
    return pgcdc_config_set(cfg, "slot", "set_slot", errbuf, sizeof(errbuf));
}

static int op_set_dbname(pgcdc_config *cfg)
{
    return pgcdc_config_set(cfg, "dbname", "host=set", errbuf, sizeof(errbuf));
}

static int op_set_spool_dir(pgcdc_config *cfg)
{
    return pgcdc_config_set(cfg, "spool-dir", "/set/spool", errbuf, sizeof(errbuf));
}

static int op_set_dead_letter(pgcdc_config *cfg)
{
    return pgcdc_config_set(cfg, "dead_letter", "/set/dl", errbuf, sizeof(errbuf));
}

static int op_set_table(pgcdc_config *cfg)
{
    return pgcdc_config_set(cfg, "table", "s.set", errbuf, sizeof(errbuf));
}

static int op_set_sink(pgcdc_config *cfg)
{
    return pgcdc_config_set(cfg, "sink", "file:/tmp/set.jsonl", errbuf, sizeof(errbuf));
}

static int op_set_sink_property(pgcdc_config *cfg)
{
    return pgcdc_config_set(cfg, "sink.file.flush_interval", "5ms", errbuf, sizeof(errbuf));
}

static int op_set_sink_property_dash(pgcdc_config *cfg)
{
    return pgcdc_config_set(cfg, "sink.file.flush-bytes", "64kB", errbuf, sizeof(errbuf));
}

typedef struct setter {
    const char *name;
    int (*op)(pgcdc_config *cfg);
    int by_name; /* through pgcdc_config_set: errbuf gets the message too */
} setter;

static const setter setters[] = {
    {"set_conninfo", op_conninfo, 0},
    {"set_slot", op_slot, 0},
    {"set_publication", op_publication, 0},
    {"add_table", op_add_table, 0},
    {"add_table schema.table", op_add_table_qualified, 0},
    {"add_sink file:", op_add_sink, 0},
    {"add_sink -", op_add_sink_stdout, 0},
    {"add_sink_ops", op_add_sink_ops, 0},
    {"set_error_policy", op_error_policy, 0},
    {"set_spool_dir", op_spool_dir, 0},
    {"set slot", op_set_slot, 1},
    {"set dbname", op_set_dbname, 1},
    {"set spool-dir", op_set_spool_dir, 1},
    {"set dead_letter", op_set_dead_letter, 1},
    {"set table", op_set_table, 1},
    {"set sink", op_set_sink, 1},
    {"set sink.file.flush_interval", op_set_sink_property, 1},
    {"set sink.file.flush-bytes", op_set_sink_property_dash, 1},
};

/* The most allocations any one setter makes, with room to spare. */
#define MAX_ALLOCS 20

/*
 * Fails the n-th allocation (and, with rest, every later one) for n = 1, 2,
 * ... until the setter gets through: up to then each call must fail with
 * PGCDC_ERR_NOMEM and change nothing; the first that succeeds must have had
 * no allocation fail (a failure swallowed is a bug too) and must apply.
 */
static int check_setter(const setter *s, int rest)
{
    static char before[8192];
    static char after[8192];
    int nomem = 0;

    for (int n = 1; n <= MAX_ALLOCS; n++) {
        pgcdc_config *cfg = populated();
        int r;

        describe(cfg, before, sizeof(before));
        memset(errbuf, 0, sizeof(errbuf));
        arm(n, rest);
        r = s->op(cfg);
        disarm();
        describe(cfg, after, sizeof(after));
        if (r == PGCDC_OK) {
            if (nfailed > 0)
                fail_msg("%s: allocation %d failed, yet PGCDC_OK", s->name, n);
            if (strcmp(before, after) == 0)
                fail_msg("%s: PGCDC_OK, but nothing changed", s->name);
            pgcdc_config_free(cfg);
            /* Every one of these setters copies something. */
            if (nomem == 0)
                fail_msg("%s: allocated nothing (is the wrapping in effect?)", s->name);
            return nomem;
        }
        if (r != PGCDC_ERR_NOMEM)
            fail_msg("%s, allocation %d failed: %s, want NOMEM", s->name, n, pgcdc_err_name(r));
        assert_int_not_equal(nfailed, 0);
        if (strstr(pgcdc_config_errmsg(cfg), "out of memory") == NULL)
            fail_msg("%s, allocation %d failed: message \"%s\"", s->name, n,
                     pgcdc_config_errmsg(cfg));
        if (s->by_name)
            assert_string_equal(errbuf, pgcdc_config_errmsg(cfg));
        if (strcmp(before, after) != 0)
            fail_msg("%s, allocation %d failed: the config changed\nbefore:\n%safter:\n%s", s->name,
                     n, before, after);
        /* Still usable: the next setter works, and freeing it frees everything. */
        assert_int_equal(pgcdc_config_set_slot(cfg, "after_oom"), PGCDC_OK);
        pgcdc_config_free(cfg);
        nomem++;
    }
    fail_msg("%s: still failing after %d allocations", s->name, MAX_ALLOCS);
    return nomem;
}

static void test_wrapping_in_effect(void **state)
{
    pgcdc_config *cfg;
    int seen;

    (void)state;
    seen = wrapped;
    cfg = pgcdc_config_new();
    assert_non_null(cfg);
    assert_true(wrapped > seen);
    seen = wrapped;
    assert_int_equal(pgcdc_config_set_slot(cfg, "s"), PGCDC_OK);
    assert_true(wrapped > seen);
    pgcdc_config_free(cfg);
}

static void test_setters_nth_fails(void **state)
{
    int total = 0;

    (void)state;
    for (size_t i = 0; i < sizeof(setters) / sizeof(setters[0]); i++)
        total += check_setter(&setters[i], 0);
    fprintf(stderr, "  %zu setters, %d calls failed for want of memory\n",
            sizeof(setters) / sizeof(setters[0]), total);
}

static void test_setters_nth_and_later_fail(void **state)
{
    int total = 0;

    (void)state;
    for (size_t i = 0; i < sizeof(setters) / sizeof(setters[0]); i++)
        total += check_setter(&setters[i], 1);
    fprintf(stderr, "  %zu setters, %d calls failed for want of memory\n",
            sizeof(setters) / sizeof(setters[0]), total);
}

static void test_config_new(void **state)
{
    pgcdc_config *cfg;

    (void)state;
    arm(1, 0);
    cfg = pgcdc_config_new();
    disarm();
    assert_null(cfg);
    assert_int_equal(nfailed, 1);
}

/* The worker's copy of the config: all or nothing. */
static void test_config_copy(void **state)
{
    pgcdc_config *src = populated();
    static char want[8192];
    static char got[8192];
    int nomem = 0;

    (void)state;
    assert_int_equal(pgcdc_config_add_table(src, "t2"), PGCDC_OK);
    assert_int_equal(pgcdc_config_add_sink(src, "file:/tmp/x"), PGCDC_OK);
    describe(src, want, sizeof(want));
    for (int rest = 0; rest <= 1; rest++) {
        for (int n = 1; n <= 2 * MAX_ALLOCS; n++) {
            pgcdc_config dst;
            int r;

            memset(&dst, 0x5a, sizeof(dst));
            arm(n, rest);
            r = pgcdc__config_copy(&dst, src);
            disarm();
            if (r == PGCDC_OK) {
                assert_int_equal(nfailed, 0);
                describe(&dst, got, sizeof(got));
                assert_string_equal(got, want);
                pgcdc__config_clear(&dst);
                break;
            }
            assert_int_equal(r, PGCDC_ERR_NOMEM);
            /* Nothing left to free: cleared. */
            assert_null(dst.conninfo);
            assert_null(dst.tables);
            assert_null(dst.sinks);
            assert_null(dst.props);
            assert_int_equal(dst.ntables + dst.nsinks + dst.nprops, 0);
            nomem++;
            assert_true(n < 2 * MAX_ALLOCS);
        }
    }
    assert_true(nomem > 0);
    describe(src, got, sizeof(got));
    assert_string_equal(got, want);
    pgcdc_config_free(src);
}

static int closed;

static void on_close(pgcdc_worker *w, void *opaque)
{
    (void)w;
    (void)opaque;
    closed++;
}

/* pgcdc_worker_new: NULL when out of memory, nothing leaked. */
static void test_worker_new(void **state)
{
    pgcdc_config *cfg = populated();
    pgcdc_handler h = {PGCDC_HANDLER_ABI, NULL, NULL, NULL, NULL, on_close, NULL};
    int nomem = 0;

    (void)state;
    assert_int_equal(pgcdc_config_set_handler(cfg, &h), PGCDC_OK);
    for (int rest = 0; rest <= 1; rest++) {
        for (int n = 1; n <= 10 * MAX_ALLOCS; n++) {
            pgcdc_worker *w;

            closed = 0;
            arm(n, rest);
            w = pgcdc_worker_new(cfg);
            disarm();
            if (w != NULL) {
                assert_int_equal(nfailed, 0);
                pgcdc_worker_free(w);
                assert_int_equal(closed, 1);
                break;
            }
            nomem++;
            assert_true(n < 10 * MAX_ALLOCS);
        }
    }
    assert_true(nomem > 0);
    pgcdc_config_free(cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_wrapping_in_effect),
        cmocka_unit_test(test_setters_nth_fails),
        cmocka_unit_test(test_setters_nth_and_later_fail),
        cmocka_unit_test(test_config_new),
        cmocka_unit_test(test_config_copy),
        cmocka_unit_test(test_worker_new),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
