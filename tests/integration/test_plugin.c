/*
 * Plugins: the loader's refusals, each one line (missing file, not a shared
 * object, no pgcdc plugin, built for another version, no entry point, a
 * failing init); a plugin's sink kind and its properties; the object kept
 * loaded by a worker whose config was freed; and the e-commerce example
 * plugin run by the pgcdc command, its output the seed's and its sink's
 * lines read back.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "plugin.h"
#include "testlib.h"
#include "tool.h"

static const char *tool;
static const char *outpath;
static const char *errpath;
static char example[1024]; /* examples/plugin/ecommerce.so */
static char cases[1024];   /* the directory of tests/plugins' builds */
static char source[1024];  /* the source tree */

static const char *case_path(const char *name)
{
    static char path[1200];

    snprintf(path, sizeof(path), "%s/%s.so", cases, name);
    return path;
}

/* The plugin at path is refused with exactly want, and the config stays usable. */
static void assert_refused(const char *path, const char *want)
{
    pgcdc_config *cfg = pgcdc_config_new();

    assert_int_equal(pgcdc_config_load_plugin(cfg, path), PGCDC_ERR_INVALID);
    assert_string_equal(pgcdc_config_errmsg(cfg), want);
    assert_int_equal(pgcdc_config_set_slot(cfg, "s_ok"), PGCDC_OK);
    pgcdc_config_free(cfg);
}

static void test_refusals(void **state)
{
    char want[2048];
    char readme[1100];

    (void)state;
    assert_refused("/nonexistent/shop.so",
                   "could not load plugin \"/nonexistent/shop.so\": no such "
                   "file");
    /* A name without a slash is a file of the working directory, not a library to search. */
    assert_refused("libc.so.6", "could not load plugin \"libc.so.6\": no such file");
    snprintf(readme, sizeof(readme), "%s/README.md", source);
    snprintf(want, sizeof(want), "could not load plugin \"%s\": not a shared object", readme);
    assert_refused(readme, want);
    snprintf(want, sizeof(want),
             "could not load plugin \"%s\": it has no pgcdc_plugin_version (not a pgcdc plugin? "
             "define its entry point with PGCDC_PLUGIN_INIT)",
             case_path("no_version"));
    assert_refused(case_path("no_version"), want);
    /* Refused before any of it runs: its init would trap. */
    snprintf(want, sizeof(want),
             "plugin \"%s\" was built for pgcdc 1.2.3, which this pgcdc " PGCDC_VERSION_STRING
             " cannot run: rebuild the plugin against this pgcdc",
             case_path("newer"));
    assert_refused(case_path("newer"), want);
    snprintf(want, sizeof(want),
             "could not load plugin \"%s\": it has no function pgcdc_plugin_init (define it with "
             "PGCDC_PLUGIN_INIT)",
             case_path("no_init"));
    assert_refused(case_path("no_init"), want);
    snprintf(want, sizeof(want),
             "plugin \"%s\" failed to initialize: no licence key in $SHOP_LICENCE",
             case_path("fails"));
    assert_refused(case_path("fails"), want);
    assert_refused("", "a plugin needs the path of its file");
}

/* Same major, for 0.x the same minor, and not newer than the library. */
static void test_version_rule(void **state)
{
    (void)state;
    assert_true(pgcdc__plugin_compatible(100, 100));
    assert_true(pgcdc__plugin_compatible(100, 105));
    assert_false(pgcdc__plugin_compatible(101, 100)); /* newer patch */
    assert_false(pgcdc__plugin_compatible(99, 100));  /* 0.0.99: another minor */
    assert_true(pgcdc__plugin_compatible(200, 205));
    assert_false(pgcdc__plugin_compatible(205, 200));
    assert_false(pgcdc__plugin_compatible(10000, 100));
    assert_true(pgcdc__plugin_compatible(10000, 10203));
    assert_true(pgcdc__plugin_compatible(10203, 10203));
    assert_false(pgcdc__plugin_compatible(10204, 10203));
    assert_false(pgcdc__plugin_compatible(20000, 10203));
    assert_false(pgcdc__plugin_compatible(10203, 20000));
    assert_false(pgcdc__plugin_compatible(0, 100));
    assert_false(pgcdc__plugin_compatible(-1, 100));
    assert_true(pgcdc__plugin_compatible(PGCDC_VERSION_NUM, pgcdc_version_num()));
}

static int no_write(pgcdc_sink *sink, const pgcdc_sink_event *ev)
{
    (void)sink;
    (void)ev;
    return PGCDC_HANDLED;
}

/* The example's changelog kind: its URI and property checked as a built-in kind's are. */
static void test_sink_kind(void **state)
{
    pgcdc_config *cfg = pgcdc_config_new();
    pgcdc_sink_ops ops = {.abi = PGCDC_SINK_ABI, .write = no_write};
    char err[512];
    char want[4096];

    (void)state;
    /* Before the plugin: no such kind, nor its properties. */
    assert_int_equal(pgcdc_config_add_sink(cfg, "changelog:/tmp/x"), PGCDC_ERR_INVALID);
    assert_non_null(strstr(pgcdc_config_errmsg(cfg), "unknown sink \"changelog:/tmp/x\""));
    assert_int_equal(pgcdc_config_set(cfg, "sink.changelog.commits", "true", err, sizeof(err)),
                     PGCDC_ERR_INVALID);
    assert_string_equal(err, "unknown sink kind \"sink.changelog.commits\" (pgcdc --help-config "
                             "lists every property)");

    assert_int_equal(pgcdc_config_load_plugin(cfg, example), PGCDC_OK);
    assert_int_equal(pgcdc_config_set(cfg, "sink.changelog.commits", "on", err, sizeof(err)),
                     PGCDC_OK);
    assert_int_equal(pgcdc_config_set(cfg, "sink.changelog.commits", "maybe", err, sizeof(err)),
                     PGCDC_ERR_INVALID);
    assert_string_equal(err, "invalid value \"maybe\" for sink.changelog.commits (use true or "
                             "false)");
    assert_int_equal(pgcdc_config_set(cfg, "sink.changelog.format", "wal2json", err, sizeof(err)),
                     PGCDC_OK);
    assert_int_equal(pgcdc_config_set(cfg, "sink.changelog.colour", "red", err, sizeof(err)),
                     PGCDC_ERR_INVALID);
    assert_non_null(strstr(err, "unknown property of that sink \"sink.changelog.colour\""));
    assert_int_equal(pgcdc_config_add_sink(cfg, "changelog:"), PGCDC_ERR_INVALID);
    assert_string_equal(pgcdc_config_errmsg(cfg), "sink \"changelog:\": use changelog:PATH");
    assert_int_equal(pgcdc_config_add_sink(cfg, "changelog:/tmp/x"), PGCDC_OK);

    /* Twice into one config; and kinds that would clash or could not be named. */
    snprintf(want, sizeof(want), "plugin \"%s\" is loaded already (as \"%s\")", example, example);
    assert_int_equal(pgcdc_config_load_plugin(cfg, example), PGCDC_ERR_INVALID);
    assert_string_equal(pgcdc_config_errmsg(cfg), want);
    ops.kind = "changelog";
    assert_int_equal(pgcdc_config_register_sink_kind(cfg, &ops, NULL), PGCDC_ERR_INVALID);
    assert_string_equal(pgcdc_config_errmsg(cfg), "sink kind \"changelog\" exists already");
    ops.kind = "https";
    assert_int_equal(pgcdc_config_register_sink_kind(cfg, &ops, NULL), PGCDC_ERR_INVALID);
    assert_string_equal(pgcdc_config_errmsg(cfg), "sink kind \"https\" exists already");
    ops.kind = "My.Kind";
    assert_int_equal(pgcdc_config_register_sink_kind(cfg, &ops, NULL), PGCDC_ERR_INVALID);
    assert_non_null(strstr(pgcdc_config_errmsg(cfg), "invalid sink kind \"My.Kind\""));
    ops.kind = "audit";
    ops.write = NULL;
    assert_int_equal(pgcdc_config_register_sink_kind(cfg, &ops, NULL), PGCDC_ERR_INVALID);
    ops.write = no_write;
    assert_int_equal(pgcdc_config_register_sink_kind(cfg, &ops, &ops), PGCDC_OK);
    assert_int_equal(pgcdc_config_add_sink(cfg, "audit:anything"), PGCDC_OK);
    pgcdc_config_free(cfg);
}

/* Lines of a file, each without its newline, NULL-terminated; *n their count. */
static char **lines_of(const char *path, size_t *n)
{
    char *text = tt_slurp(path);
    char **v = calloc(strlen(text) + 2, sizeof(*v));
    size_t k = 0;

    assert_non_null(v);
    for (char *p = strtok(text, "\n"); p != NULL; p = strtok(NULL, "\n"))
        v[k++] = strdup(p);
    free(text);
    *n = k;
    return v;
}

static void free_lines(char **v)
{
    for (size_t i = 0; v[i] != NULL; i++)
        free(v[i]);
    free(v);
}

/* The changelog's lines of the example's changes.sql, each transaction's COMMIT after it. */
static void assert_changelog(const char *path)
{
    static const char *const want[] = {
        "UPDATE public.orders {\"id\":1}",
        "UPDATE public.orders {\"id\":1}",
        "UPDATE public.inventory {\"product_id\":1}",
        "INSERT public.orders {\"id\":2}",
        "INSERT public.order_items {\"id\":2}",
        "DELETE public.order_items {\"id\":2}",
        "DELETE public.orders {\"id\":2}",
    };
    size_t n;
    char **got = lines_of(path, &n);

    assert_int_equal(n, 2 * (sizeof(want) / sizeof(want[0])));
    for (size_t i = 0; i < n / 2; i++) {
        assert_string_equal(got[2 * i], want[i]);
        assert_int_equal(strncmp(got[2 * i + 1], "COMMIT ", 7), 0);
    }
    free_lines(got);
}

/* A database with the example's schema and data; returns its conninfo. */
static const char *shop_db(const char *name)
{
    const char *db = tl_fresh_db(name);
    char path[1100];
    char *sql;

    snprintf(path, sizeof(path), "%s/examples/ecommerce/schema.sql", source);
    sql = tt_slurp(path);
    tl_sql(db, "%s", sql);
    free(sql);
    snprintf(path, sizeof(path), "%s/examples/ecommerce/data.sql", source);
    sql = tt_slurp(path);
    tl_sql(db, "%s", sql);
    free(sql);
    return db;
}

/* changes.sql, each statement its own transaction, as psql runs it. */
static void shop_changes(const char *db)
{
    char path[1100];
    char *sql;

    snprintf(path, sizeof(path), "%s/examples/ecommerce/changes.sql", source);
    sql = tt_slurp(path);
    for (char *line = strtok(sql, "\n"); line != NULL; line = strtok(NULL, "\n")) {
        if (strncmp(line, "--", 2) != 0 && strchr(line, ';') != NULL)
            tl_sql(db, "%s", line);
    }
    free(sql);
}

/*
 * In the library: the plugin's sink kind end to end, by a worker made from
 * a config that is freed before the worker runs; the plugin stays loaded
 * until the worker is freed.
 */
static void test_worker_keeps_plugin(void **state)
{
    const char *db = shop_db("t_plugin_lib");
    const pgcdc_handler quiet = {.abi = PGCDC_HANDLER_ABI};
    char path[] = "/tmp/pgcdc-changelog-XXXXXX";
    char uri[64];
    pgcdc_config *cfg;
    pgcdc_worker *w;
    uint64_t endpos;
    int fd = mkstemp(path);

    (void)state;
    assert_true(fd >= 0);
    close(fd);
    cfg = tl_config(db, "s_plugin_lib", "p_plugin_lib", "orders,order_items,inventory");
    /* The sink before its plugin is refused; after it, taken. */
    snprintf(uri, sizeof(uri), "changelog:%s", path);
    assert_int_equal(pgcdc_config_add_sink(cfg, uri), PGCDC_ERR_INVALID);
    assert_int_equal(pgcdc_config_set(cfg, "plugin", example, NULL, 0), PGCDC_OK);
    assert_int_equal(pgcdc_config_add_sink(cfg, uri), PGCDC_OK);
    assert_int_equal(pgcdc_config_set(cfg, "sink.changelog.commits", "yes", NULL, 0), PGCDC_OK);
    /* The example's handler prints; this test reads its sink only. */
    assert_int_equal(pgcdc_config_set_handler(cfg, &quiet), PGCDC_OK);
    pgcdc_config_set_create_slot(cfg, 1);
    w = pgcdc_worker_new(cfg);
    assert_non_null(w);
    assert_int_equal(pgcdc_worker_prepare(w, NULL), PGCDC_OK);
    pgcdc_config_free(cfg);
    shop_changes(db);
    endpos = tl_current_lsn(db);
    pgcdc_worker_free(w);

    cfg = tl_config(db, "s_plugin_lib", "p_plugin_lib", "orders,order_items,inventory");
    assert_int_equal(pgcdc_config_load_plugin(cfg, example), PGCDC_OK);
    assert_int_equal(pgcdc_config_add_sink(cfg, uri), PGCDC_OK);
    assert_int_equal(pgcdc_config_set(cfg, "sink.changelog.commits", "yes", NULL, 0), PGCDC_OK);
    assert_int_equal(pgcdc_config_set_handler(cfg, &quiet), PGCDC_OK);
    pgcdc_config_set_endpos(cfg, endpos);
    w = pgcdc_worker_new(cfg);
    assert_non_null(w);
    pgcdc_config_free(cfg);
    assert_int_equal(pgcdc_worker_start(w), PGCDC_OK);
    assert_int_equal(pgcdc_worker_run(w), PGCDC_OK);
    pgcdc_worker_free(w);
    assert_changelog(path);
    unlink(path);
}

/* stderr is exactly want. */
static void assert_stderr(const char *want)
{
    char *err = tt_slurp(errpath);

    assert_string_equal(err, want);
    free(err);
}

/* The command's one-line refusals, exit status 2. */
static void test_cli_refusals(void **state)
{
    char want[2048];

    (void)state;
    assert_int_equal(tt_run((const char *[]){tool, "-d", "dbname=x", "-S", "s", "-P", "p",
                                             "--plugin", "/nonexistent/shop.so", NULL}),
                     2);
    assert_stderr("pgcdc: could not load plugin \"/nonexistent/shop.so\": no such file\n");
    snprintf(
        want, sizeof(want),
        "pgcdc: plugin \"%s\" was built for pgcdc 1.2.3, which this pgcdc " PGCDC_VERSION_STRING
        " cannot run: rebuild the plugin against this pgcdc\n",
        case_path("newer"));
    assert_int_equal(tt_run((const char *[]){tool, "-d", "dbname=x", "-S", "s", "-P", "p",
                                             "--plugin", case_path("newer"), NULL}),
                     2);
    assert_stderr(want);
    assert_int_equal(tt_run((const char *[]){tool, "-d", "dbname=x", "-S", "s", "-P", "p", "-X",
                                             "plugin=" PGCDC_VERSION_STRING, NULL}),
                     2);
    assert_stderr("pgcdc: could not load plugin \"" PGCDC_VERSION_STRING "\": no such file\n");
    assert_int_equal(tt_run((const char *[]){tool, "-d", "dbname=x", "-S", "s", "-P", "p",
                                             "--plugin", case_path("no_init"), NULL}),
                     2);
    tt_assert_stderr_one_line("it has no function pgcdc_plugin_init");
    assert_int_equal(tt_run((const char *[]){tool, "-d", "dbname=x", "-S", "s", "-P", "p",
                                             "--plugin", case_path("fails"), NULL}),
                     2);
    tt_assert_stderr_one_line("failed to initialize: no licence key in $SHOP_LICENCE");
    /* The plugin's kind's property, before the plugin on the command line. */
    assert_int_equal(
        tt_run((const char *[]){tool, "-d", "dbname=x", "-S", "s", "-P", "p", "-X",
                                "sink.changelog.commits=maybe", "--plugin", example, NULL}),
        2);
    tt_assert_stderr_one_line(
        "pgcdc: invalid value \"maybe\" for sink.changelog.commits (use true or false)");
}

/*
 * The example plugin run by the pgcdc command: the seed's lines on stdout,
 * as examples/ecommerce/expected-output.txt has them, and its changelog.
 */
static void test_cli_example(void **state)
{
    const char *db = shop_db("t_plugin_cli");
    char path[] = "/tmp/pgcdc-changelog-XXXXXX";
    char want_path[1100];
    char sink[64];
    char endpos[32];
    char **want;
    char **got;
    size_t nwant;
    size_t ngot;
    int fd = mkstemp(path);

    (void)state;
    assert_true(fd >= 0);
    close(fd);
    /* The plugin asks for REPLICA IDENTITY FULL, which the slot's creation sets. */
    assert_int_equal(
        tt_run((const char *[]){tool, "--plugin", example, "-d", "dbname=t_plugin_cli", "-S",
                                "ecommerce_cdc_slot", "-P", "ecommerce_publication", "-t", "orders",
                                "-t", "order_items", "-t", "inventory", "--create-slot", NULL}),
        0);
    shop_changes(db);
    pgcdc_lsn_format(tl_current_lsn(db), endpos, sizeof(endpos));
    /* The sink of the plugin's kind and its property come before the plugin. */
    snprintf(sink, sizeof(sink), "changelog:%s", path);
    assert_int_equal(tt_run((const char *[]){tool,
                                             "-d",
                                             "dbname=t_plugin_cli",
                                             "-S",
                                             "ecommerce_cdc_slot",
                                             "-P",
                                             "ecommerce_publication",
                                             "-t",
                                             "orders",
                                             "-t",
                                             "order_items",
                                             "-t",
                                             "inventory",
                                             "-E",
                                             endpos,
                                             "--sink",
                                             sink,
                                             "-X",
                                             "sink.changelog.commits=true",
                                             "--plugin",
                                             example,
                                             NULL}),
                     0);
    snprintf(want_path, sizeof(want_path), "%s/examples/ecommerce/expected-output.txt", source);
    want = lines_of(want_path, &nwant);
    got = lines_of(outpath, &ngot);
    /* The seed's lines first (strtok drops the empty one), then the rest of the changes. */
    assert_int_equal(ngot, nwant + 5);
    for (size_t i = 0; i < nwant; i++)
        assert_string_equal(got[i], want[i]);
    assert_string_equal(got[nwant], "✅ Processed INSERT on orders: {'action': "
                                    "'new_order_processed', 'order_id': 2, 'customer_email': "
                                    "'second@example.com', 'total_amount': Decimal('24.50')}");
    assert_string_equal(got[nwant + 1], "✅ Processed INSERT on order_items: {'action': "
                                        "'item_added', 'order_id': 2, 'product_id': 3, "
                                        "'quantity': 1}");
    assert_string_equal(got[nwant + 2], "✅ Processed DELETE on order_items: None");
    assert_string_equal(got[nwant + 3],
                        "✅ Processed DELETE on orders: {'action': 'order_deleted', 'order_id': 2}");
    assert_string_equal(got[nwant + 4], "👋 CDC Worker stopped");
    free_lines(want);
    free_lines(got);
    assert_int_equal(tt_count_stderr("warning: Low stock alert: Product 1, Stock: 3"), 1);
    assert_changelog(path);
    unlink(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_refusals),     cmocka_unit_test(test_version_rule),
        cmocka_unit_test(test_sink_kind),    cmocka_unit_test(test_worker_keeps_plugin),
        cmocka_unit_test(test_cli_refusals), cmocka_unit_test(test_cli_example),
    };
    const char *bin = getenv("PGCDC_BINARY_DIR");
    const char *src = getenv("PGCDC_SOURCE_DIR");
    int r;

    tl_env();
    assert_non_null(bin);
    assert_non_null(src);
    snprintf(example, sizeof(example), "%s/examples/plugin/ecommerce.so", bin);
    snprintf(cases, sizeof(cases), "%s/tests/plugins", bin);
    snprintf(source, sizeof(source), "%s", src);
    tool = tt_tool();
    outpath = tt_out();
    errpath = tt_err();
    r = cmocka_run_group_tests(tests, NULL, NULL);
    tt_cleanup();
    return r;
}
