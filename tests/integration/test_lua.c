/*
 * Lua scripts (--lua FILE) against PostgreSQL 15: examples/lua/ecommerce.lua
 * filters a table out, masks, removes, changes and adds columns, and routes
 * orders to a file and the rest to Kafka (an in-process mock) on a topic of
 * its own; a script that does not compile is refused naming its line, by the
 * library and by the command; a runtime error halts with the slot confirmed
 * before the failing transaction, or is dead-lettered and the run goes on.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "../sinks/kafka_read.h"
#include "testlib.h"
#include "tool.h"

static void set(pgcdc_config *cfg, const char *key, const char *value)
{
    char err[512];

    if (pgcdc_config_set(cfg, key, value, err, sizeof(err)) != PGCDC_OK)
        fail_msg("%s=%s: %s", key, value, err);
}

static void start_ok(pgcdc_config *cfg)
{
    char msg[1024];

    if (tl_start_only(cfg, msg, sizeof(msg)) != PGCDC_OK)
        fail_msg("start: %s", msg);
}

/* A script in a temporary file; path gets its name. */
static void write_script(char *path, size_t size, const char *name, const char *text)
{
    FILE *f;

    snprintf(path, size, "/tmp/pgcdc-test-%s-%d.lua", name, (int)getpid());
    f = fopen(path, "w");
    assert_non_null(f);
    assert_true(fputs(text, f) >= 0);
    fclose(f);
}

/* The lines of a file, each without its newline, joined by "|". */
static char *lines_of(const char *path)
{
    char *text = tt_slurp(path);
    size_t n = strlen(text);

    while (n > 0 && text[n - 1] == '\n')
        text[--n] = '\0';
    for (size_t i = 0; i < n; i++) {
        if (text[i] == '\n')
            text[i] = '|';
    }
    return text;
}

/* The "new" or "old" object of a JSON line is want (compact JSON, in the line's order). */
static void assert_row(const char *line, const char *which, const char *want)
{
    json_t *o = tt_parse(line);
    char *text =
        json_dumps(json_object_get(o, which), JSON_COMPACT | JSON_ENCODE_ANY | JSON_PRESERVE_ORDER);

    json_decref(o);
    assert_non_null(text);
    tl_assert_str(text, want);
    free(text);
}

static int record(pgcdc_worker *w, const pgcdc_change *c, void *opaque)
{
    (void)w;
    tl_log_add(opaque, c);
    return PGCDC_HANDLED;
}

static void test_example_script(void **state)
{
    const char *db = tl_fresh_db("t_lua_example");
    char script[1024];
    char orders[] = "/tmp/pgcdc-lua-orders-XXXXXX";
    char uri[600];
    pgcdc_config *cfg;
    tl_log log = {0};
    kt_mock m;
    kt_read rd;
    char *text;
    char *line;
    char *next;
    int fd;

    (void)state;
    snprintf(script, sizeof(script), "%s/examples/lua/ecommerce.lua", getenv("PGCDC_SOURCE_DIR"));
    fd = mkstemp(orders);
    assert_true(fd >= 0);
    close(fd);
    kt_mock_start(&m, 1);
    tl_sql(db, "CREATE TABLE orders (id int PRIMARY KEY, status text, amount numeric(10,2), "
               "email text, card_token text); CREATE TABLE audit_log (id int PRIMARY KEY, "
               "note text); CREATE TABLE inventory (sku text PRIMARY KEY, qty int)");
    cfg = tl_config(db, "s_lua_ex", "p_lua_ex", "orders,audit_log,inventory");
    start_ok(cfg);
    set(cfg, "lua", script);
    snprintf(uri, sizeof(uri), "file:%s", orders);
    set(cfg, "sink", uri);
    snprintf(uri, sizeof(uri), "kafka://%s", m.bootstrap);
    set(cfg, "sink", uri);
    tl_sql(db, "INSERT INTO orders VALUES (1, 'new', 10.50, 'a@x.org', 'tok-1')");
    tl_sql(db, "INSERT INTO audit_log VALUES (1, 'order 1 placed')");
    tl_sql(db, "INSERT INTO inventory VALUES ('sku-1', 5)");
    tl_sql(db, "UPDATE orders SET status = 'paid', email = NULL WHERE id = 1");
    tl_sql(db, "UPDATE inventory SET qty = 4 WHERE sku = 'sku-1'");
    tl_sql(db, "DELETE FROM orders WHERE id = 1");
    assert_int_equal(tl_run_until(cfg, tl_current_lsn(db), &log), PGCDC_OK);
    pgcdc_config_free(cfg);

    /* The handler sees what the sinks see: audit_log filtered out, orders transformed. */
    assert_int_equal(log.n, 5);
    tl_assert_str(log.items[0].new_row,
                  "id='1' status='NEW' amount='10.50' email='***@x.org' amount_cents='1050'");
    tl_assert_str(log.items[1].table, "public.inventory");
    tl_assert_str(log.items[2].new_row,
                  "id='1' status='PAID' amount='10.50' email=NULL amount_cents='1050'");
    tl_assert_str(log.items[4].op, "DELETE");

    /* Sink 1 has the orders only; the numeric keeps its exact text, cents is a number. */
    text = lines_of(orders);
    assert_null(strstr(text, "tok-1"));
    assert_null(strstr(text, "a@x.org"));
    assert_null(strstr(text, "inventory"));
    assert_non_null(strstr(text, "\"amount\":10.50,"));
    line = text;
    next = strchr(line, '|');
    assert_non_null(next);
    *next = '\0';
    assert_row(line, "new",
               "{\"id\":1,\"status\":\"NEW\",\"amount\":10.5,\"email\":"
               "\"***@x.org\",\"amount_cents\":1050}");
    line = next + 1;
    next = strchr(line, '|');
    assert_non_null(next);
    *next = '\0';
    assert_row(line, "new",
               "{\"id\":1,\"status\":\"PAID\",\"amount\":10.5,\"email\":"
               "null,\"amount_cents\":1050}");
    line = next + 1;
    assert_null(strchr(line, '|'));
    assert_row(line, "old", "{\"id\":1}");
    free(text);

    /* Sink 2 has the rest, on the topic route named. */
    kt_read_topic(m.bootstrap, "stock.inventory", 2, 0, &rd);
    assert_int_equal(rd.n, 2);
    assert_non_null(strstr(rd.m[0].value, "\"qty\":5"));
    assert_non_null(strstr(rd.m[1].value, "\"qty\":4"));
    kt_read_free(&rd);
    kt_read_topic(m.bootstrap, "pgcdc.public.orders", 0, 0, &rd);
    assert_int_equal(rd.n, 0);
    kt_read_free(&rd);
    kt_mock_stop(&m);
    unlink(orders);
    tl_log_free(&log);
}

/*
 * Types after transform: a changed value keeps its column's type when it fits it and
 * becomes text when not; added columns get the type of their value; what is left alone
 * keeps its exact text (numeric digits, a timestamp, jsonb) in every format.
 */
static void test_types(void **state)
{
    const char *db = tl_fresh_db("t_lua_types");
    char script[256];
    char out[] = "/tmp/pgcdc-lua-types-XXXXXX";
    char wal[] = "/tmp/pgcdc-lua-types-w-XXXXXX";
    char uri[128];
    pgcdc_config *cfg;
    pgcdc_config *cfg2;
    uint64_t end;
    char *text;
    int fd;

    (void)state;
    write_script(script, sizeof(script), "types",
                 "function transform(e)\n"
                 "  local r = e.new\n"
                 "  r.i = r.i + 1\n"
                 "  r.n2 = \"hidden\"\n"
                 "  r.b = not r.b\n"
                 "  r.f = r.f * 2\n"
                 "  r.flag = true\n"
                 "  r.nothing = pgcdc.null\n"
                 "  r.ratio = 0.25\n"
                 "  r.t = nil\n"
                 "end\n");
    fd = mkstemp(out);
    assert_true(fd >= 0);
    close(fd);
    fd = mkstemp(wal);
    assert_true(fd >= 0);
    close(fd);
    tl_sql(db, "CREATE TABLE ty (id int PRIMARY KEY, i int, n numeric, n2 numeric, b bool, "
               "f float8, ts timestamptz, j jsonb, t text)");
    /* Two slots, one per format (a sink kind has one format). */
    cfg = tl_config(db, "s_lua_ty", "p_lua_ty", "ty");
    start_ok(cfg);
    cfg2 = tl_config(db, "s_lua_ty2", "p_lua_ty", "ty");
    start_ok(cfg2);
    set(cfg, "lua", script);
    snprintf(uri, sizeof(uri), "file:%s", out);
    set(cfg, "sink", uri);
    set(cfg2, "lua", script);
    snprintf(uri, sizeof(uri), "file:%s", wal);
    set(cfg2, "sink", uri);
    set(cfg2, "sink.file.format", "wal2json");
    tl_sql(db, "INSERT INTO ty VALUES (1, 41, 12.3400, 5.5, true, 1.5, "
               "'2026-01-02 03:04:05.678+00', '{\"a\": [1, 2]}', 'gone')");
    end = tl_current_lsn(db);
    tl_run_to_end(cfg, end);
    tl_run_to_end(cfg2, end);
    text = tt_slurp(out);
    assert_non_null(strstr(text, "\"new\":{\"id\":1,\"i\":42,\"n\":12.3400,\"n2\":\"hidden\","
                                 "\"b\":false,\"f\":3,\"ts\":\"2026-01-02 03:04:05.678+00\","
                                 "\"j\":{\"a\": [1, 2]},\"flag\":true,\"nothing\":null,"
                                 "\"ratio\":0.25}"));
    free(text);
    text = tt_slurp(wal);
    assert_non_null(strstr(text, "{\"name\":\"n2\",\"type\":\"text\",\"value\":\"hidden\"}"));
    assert_non_null(strstr(text, "{\"name\":\"i\",\"type\":\"integer\",\"value\":42}"));
    assert_non_null(strstr(text, "{\"name\":\"flag\",\"type\":\"boolean\",\"value\":true}"));
    assert_non_null(strstr(text, "{\"name\":\"ratio\",\"type\":\"double precision\","
                                 "\"value\":0.25}"));
    assert_null(strstr(text, "gone"));
    free(text);
    unlink(out);
    unlink(wal);
    unlink(script);
}

/* A script that does not compile: refused at once, naming FILE:LINE, by the library and the CLI. */
static void test_syntax_error(void **state)
{
    char path[256];
    char want[512];
    char err[1024];
    pgcdc_config *cfg = pgcdc_config_new();

    (void)state;
    write_script(path, sizeof(path), "syntax",
                 "-- a filter with a mistake\nfunction filter(e)\n  return e.table ~=\nend\n");
    assert_int_equal(pgcdc_config_set(cfg, "lua", path, err, sizeof(err)), PGCDC_ERR_INVALID);
    snprintf(want, sizeof(want), "lua: %s:4: unexpected symbol near 'end'", path);
    assert_non_null(strstr(err, want));
    assert_non_null(strstr(err, "(fix the script"));
    assert_null(strchr(err, '\n'));
    pgcdc_config_free(cfg);
    {
        const char *argv[] = {tt_tool(), "-d", "dbname=nowhere", "-S", "s",
                              "-P",      "p",  "--lua",          path, NULL};

        assert_int_equal(tt_run(argv), 2);
        tt_assert_stderr_one_line(want);
    }
    unlink(path);
    tt_cleanup();
}

/* Three transactions, ids 1 to 3; the script fails on id 2.  *after1: the LSN after the first. */
static void write_three(const char *db, uint64_t *after1)
{
    tl_sql(db, "INSERT INTO t VALUES (1, 'one')");
    *after1 = tl_current_lsn(db);
    tl_sql(db, "INSERT INTO t VALUES (2, 'two')");
    tl_sql(db, "INSERT INTO t VALUES (3, 'three')");
}

static const char failing[] = "function transform(e)\n"
                              "  if e.new.id == 2 then\n"
                              "    error(\"no row 2, please\")\n"
                              "  end\n"
                              "  e.new.v = e.new.v .. \"!\"\n"
                              "end\n";

/* halt: the run stops naming the line, and the slot is not confirmed past the first transaction. */
static void test_runtime_error_halts(void **state)
{
    const char *db = tl_fresh_db("t_lua_halt");
    char path[256];
    char want[512];
    pgcdc_config *cfg;
    pgcdc_worker *w;
    tl_log log = {0};
    uint64_t after1;
    uint64_t end;
    int r;

    (void)state;
    write_script(path, sizeof(path), "halt", failing);
    tl_sql(db, "CREATE TABLE t (id int PRIMARY KEY, v text)");
    cfg = tl_config(db, "s_lua_halt", "p_lua_halt", "t");
    start_ok(cfg);
    set(cfg, "lua", path);
    write_three(db, &after1);
    end = tl_current_lsn(db);
    pgcdc_config_set_endpos(cfg, end);
    pgcdc_config_set_change_cb(cfg, record, &log);
    w = pgcdc_worker_new(cfg);
    pgcdc_config_free(cfg);
    assert_non_null(w);
    assert_int_equal(pgcdc_worker_start(w), PGCDC_OK);
    r = pgcdc_worker_run(w);
    assert_int_equal(r, PGCDC_ERR_HANDLER);
    snprintf(want, sizeof(want), "%s:3: no row 2, please", path);
    assert_non_null(strstr(pgcdc_worker_errmsg(w), want));
    assert_non_null(strstr(pgcdc_worker_errmsg(w), "lua: transform failed for INSERT on public.t"));
    pgcdc_worker_free(w);
    assert_int_equal(log.n, 1);
    tl_assert_str(log.items[0].new_row, "id='1' v='one!'");
    tl_log_free(&log);
    memset(&log, 0, sizeof(log));
    /* Confirmed: the first transaction at most, never the one that failed. */
    assert_true(tl_slot_confirmed(db, "s_lua_halt") <= after1);
    assert_true(tl_slot_confirmed(db, "s_lua_halt") > 0);
    /* The next run gets the failed transaction again (and fails on it again). */
    cfg = tl_config(db, "s_lua_halt", "p_lua_halt", "t");
    set(cfg, "lua", path);
    assert_int_equal(tl_run_until(cfg, end, &log), PGCDC_ERR_HANDLER);
    assert_int_equal(log.n, 0);
    pgcdc_config_free(cfg);
    tl_log_free(&log);
    unlink(path);
}

/* dead_letter: the failing change goes to the file with the script's line; the others go on. */
static void test_runtime_error_dead_letter(void **state)
{
    const char *db = tl_fresh_db("t_lua_dead");
    char path[256];
    char dead[256];
    char want[512];
    pgcdc_config *cfg;
    tl_log log = {0};
    uint64_t after1;
    uint64_t end;
    json_t *lines;
    json_t *o;

    (void)state;
    write_script(path, sizeof(path), "dead", failing);
    snprintf(dead, sizeof(dead), "/tmp/pgcdc-test-lua-dead-%d.jsonl", (int)getpid());
    unlink(dead);
    tl_sql(db, "CREATE TABLE t (id int PRIMARY KEY, v text)");
    cfg = tl_config(db, "s_lua_dead", "p_lua_dead", "t");
    start_ok(cfg);
    set(cfg, "lua", path);
    set(cfg, "on_error", "dead_letter");
    set(cfg, "dead_letter", dead);
    write_three(db, &after1);
    end = tl_current_lsn(db);
    assert_int_equal(tl_run_until(cfg, end, &log), PGCDC_OK);
    pgcdc_config_free(cfg);
    assert_int_equal(log.n, 2);
    tl_assert_str(log.items[0].new_row, "id='1' v='one!'");
    tl_assert_str(log.items[1].new_row, "id='3' v='three!'");
    assert_true(tl_slot_confirmed(db, "s_lua_dead") >= end);
    lines = tt_parse_lines(dead);
    assert_int_equal(json_array_size(lines), 1);
    o = json_array_get(lines, 0);
    snprintf(want, sizeof(want), "%s:3: no row 2, please", path);
    assert_non_null(strstr(
        json_string_value(json_object_get(json_object_get(o, "dead_letter"), "error")), want));
    /* The event as it came, before the script. */
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(json_object_get(o, "event"), "new"), "v")),
                        "two");
    json_decref(lines);
    tl_log_free(&log);
    unlink(dead);
    unlink(path);
}

/* route's mistakes are runtime errors too; a script's top level runs once, at the start. */
static void test_route_and_load_errors(void **state)
{
    const char *db = tl_fresh_db("t_lua_route");
    char path[256];
    char msg[1024];
    char want[512];
    pgcdc_config *cfg;
    pgcdc_worker *w;

    (void)state;
    tl_sql(db, "CREATE TABLE t (id int PRIMARY KEY, v text)");
    write_script(path, sizeof(path), "route", "function route(e)\n  return 7\nend\n");
    cfg = tl_config(db, "s_lua_route", "p_lua_route", "t");
    start_ok(cfg);
    set(cfg, "lua", path);
    set(cfg, "sink", "-");
    tl_sql(db, "INSERT INTO t VALUES (1, 'one')");
    pgcdc_config_set_endpos(cfg, tl_current_lsn(db));
    w = pgcdc_worker_new(cfg);
    pgcdc_config_free(cfg);
    assert_non_null(w);
    assert_int_equal(pgcdc_worker_start(w), PGCDC_OK);
    assert_int_equal(pgcdc_worker_run(w), PGCDC_ERR_HANDLER);
    /* The line where route starts, since the mistake is in what it returned. */
    snprintf(want, sizeof(want), "%s:1: it returned a sink that is not one of the sinks", path);
    assert_non_null(strstr(pgcdc_worker_errmsg(w), want));
    assert_non_null(strstr(pgcdc_worker_errmsg(w), "lua: route failed for INSERT on public.t"));
    pgcdc_worker_free(w);
    write_script(path, sizeof(path), "route", "local x = nil\nprint(x.y)\n");
    cfg = tl_config(db, "s_lua_route", "p_lua_route", "t");
    set(cfg, "lua", path);
    assert_int_equal(tl_start_only(cfg, msg, sizeof(msg)), PGCDC_ERR_INVALID);
    assert_non_null(strstr(msg, ":2: attempt to index a nil value"));
    assert_non_null(strstr(msg, "(while loading the script)"));
    pgcdc_config_free(cfg);
    unlink(path);
}

/* A sink kind of the test's own: records "id=TOPIC" per change, the topic as the sink gets it. */
static int rec_open(pgcdc_sink *sink, const char *uri)
{
    (void)sink;
    (void)uri;
    return PGCDC_OK;
}

static int rec_write(pgcdc_sink *sink, const pgcdc_sink_event *ev)
{
    char *got = pgcdc_sink_opaque(sink);
    const pgcdc_change *c = pgcdc_sink_event_change(ev);
    const char *topic = pgcdc_sink_event_topic(ev);
    size_t n = strlen(got);
    const char *id = "?";
    size_t len;

    if (c == NULL)
        return PGCDC_HANDLED;
    if (pgcdc_row_get_text(pgcdc_change_new(c), 0, &id, &len) != PGCDC_OK)
        id = "?";
    snprintf(got + n, 256 - n, "%s%s=%s", n > 0 ? " " : "", id, topic != NULL ? topic : "-");
    return PGCDC_HANDLED;
}

/* route's topic reaches a sink kind of a plugin's (pgcdc_sink_event_topic), unexpanded. */
static void test_topic_to_own_kind(void **state)
{
    static const pgcdc_sink_ops ops = {
        .abi = PGCDC_SINK_ABI, .kind = "rec", .open = rec_open, .write = rec_write};
    const char *db = tl_fresh_db("t_lua_topic");
    char path[256];
    char got[256] = "";
    pgcdc_config *cfg;

    (void)state;
    tl_sql(db, "CREATE TABLE t (id int PRIMARY KEY, v text)");
    write_script(path, sizeof(path), "topic",
                 "function route(e)\n"
                 "  if e.new.id % 2 == 1 then return {topic = \"odd.${table}\"} end\n"
                 "end\n");
    cfg = tl_config(db, "s_lua_topic", "p_lua_topic", "t");
    start_ok(cfg);
    set(cfg, "lua", path);
    assert_int_equal(pgcdc_config_register_sink_kind(cfg, &ops, got), PGCDC_OK);
    assert_int_equal(pgcdc_config_add_sink(cfg, "rec:x"), PGCDC_OK);
    tl_sql(db, "INSERT INTO t VALUES (1, 'a'), (2, 'b'), (3, 'c')");
    tl_run_to_end(cfg, tl_current_lsn(db));
    tl_assert_str(got, "1=odd.${table} 2=- 3=odd.${table}");
    unlink(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_example_script),
        cmocka_unit_test(test_types),
        cmocka_unit_test(test_syntax_error),
        cmocka_unit_test(test_runtime_error_halts),
        cmocka_unit_test(test_runtime_error_dead_letter),
        cmocka_unit_test(test_route_and_load_errors),
        cmocka_unit_test(test_topic_to_own_kind),
    };

    tl_env();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
