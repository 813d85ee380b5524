/*
 * DDL capture (pgcdc_worker_install_ddl_capture, --install-ddl-capture):
 * installed twice, then each ALTER TABLE of a streamed table comes as the
 * statement on the table's next SCHEMA_CHANGE event (a column added, one
 * renamed, a constraint that leaves the columns as they were, the table
 * renamed); after removal, a schema change comes without it.  The command
 * line: install and remove, the schema kept when something else is in it,
 * a role that is no superuser refused in one line.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "testlib.h"
#include "tool.h"

static const char *tool;

/* The native JSON of each change, one line each. */
typedef struct capture {
    pgcdc_formatter *fmt;
    char *out;
    size_t len;
    size_t cap;
} capture;

static int on_change(pgcdc_worker *w, const pgcdc_change *c, void *opaque)
{
    capture *cap = opaque;
    const char *out;
    size_t n;

    (void)w;
    assert_int_equal(pgcdc_formatter_change(cap->fmt, c, &out, &n), PGCDC_OK);
    if (cap->len + n + 1 > cap->cap) {
        size_t size = cap->cap == 0 ? 4096 : cap->cap;
        char *grown;

        while (size < cap->len + n + 1)
            size *= 2;
        grown = realloc(cap->out, size);
        assert_non_null(grown);
        cap->out = grown;
        cap->cap = size;
    }
    memcpy(cap->out + cap->len, out, n);
    cap->len += n;
    cap->out[cap->len] = '\0';
    return PGCDC_HANDLED;
}

/* A worker for table t (renamed t2 later) of db on slot s_ddlcap, the capture its handler. */
static pgcdc_config *config(const char *db, capture *cap)
{
    pgcdc_config *cfg = tl_config(db, "s_ddlcap", "p_ddlcap", "t*");

    pgcdc_config_set_change_cb(cfg, on_change, cap);
    return cfg;
}

/* The captured lines, parsed. */
static json_t *lines_of(const capture *cap)
{
    json_t *all = json_array();
    const char *p = cap->out != NULL ? cap->out : "";

    while (*p != '\0') {
        const char *nl = strchr(p, '\n');
        size_t n = nl != NULL ? (size_t)(nl - p) : strlen(p);
        json_error_t err;
        json_t *doc = json_loadb(p, n, 0, &err);

        if (doc == NULL)
            fail_msg("not JSON (%s): %.*s", err.text, (int)n, p);
        json_array_append_new(all, doc);
        p += n + (nl != NULL);
    }
    return all;
}

static const char *str(json_t *doc, const char *key)
{
    json_t *v = json_object_get(doc, key);

    return json_is_string(v) ? json_string_value(v) : NULL;
}

/* The column names of a column list, comma-separated ("id,a,b"). */
static void names(json_t *cols, char *buf, size_t size)
{
    size_t n = 0;

    buf[0] = '\0';
    assert_true(json_is_array(cols));
    for (size_t i = 0; i < json_array_size(cols); i++)
        n += (size_t)snprintf(buf + n, size - n, "%s%s", i > 0 ? "," : "",
                              str(json_array_get(cols, i), "name"));
}

/* Line i is an INSERT of table (schema.table) with id. */
static void expect_insert(json_t *lines, size_t i, const char *table, int id)
{
    json_t *doc = json_array_get(lines, i);
    char want[64];

    assert_non_null(doc);
    assert_string_equal(str(doc, "op"), "INSERT");
    snprintf(want, sizeof(want), "public.%s", table);
    {
        char got[128];

        snprintf(got, sizeof(got), "%s.%s", str(doc, "schema"), str(doc, "table"));
        assert_string_equal(got, want);
    }
    assert_int_equal(json_integer_value(json_object_get(json_object_get(doc, "new"), "id")), id);
}

/*
 * Line i is a SCHEMA_CHANGE with these column names before and after, and
 * ddl as its statement (NULL: a null ddl).
 */
static void expect_schema(json_t *lines, size_t i, const char *old_cols, const char *new_cols,
                          const char *ddl)
{
    json_t *doc = json_array_get(lines, i);
    char got[256];

    assert_non_null(doc);
    assert_string_equal(str(doc, "op"), "SCHEMA_CHANGE");
    names(json_object_get(doc, "old_columns"), got, sizeof(got));
    assert_string_equal(got, old_cols);
    names(json_object_get(doc, "new_columns"), got, sizeof(got));
    assert_string_equal(got, new_cols);
    if (ddl == NULL) {
        assert_true(json_is_null(json_object_get(doc, "ddl")));
        return;
    }
    assert_non_null(str(doc, "ddl"));
    assert_string_equal(str(doc, "ddl"), ddl);
}

static void capture_ddl(const char *db, int on)
{
    pgcdc_config *cfg = pgcdc_config_new();
    pgcdc_worker *w;

    assert_non_null(cfg);
    assert_int_equal(pgcdc_config_set_conninfo(cfg, db), PGCDC_OK);
    w = pgcdc_worker_new(cfg);
    assert_non_null(w);
    if (pgcdc_worker_install_ddl_capture(w, on) != PGCDC_OK)
        fail_msg("%s: %s", on ? "install" : "remove", pgcdc_worker_errmsg(w));
    pgcdc_worker_free(w);
    pgcdc_config_free(cfg);
}

/* (a) to (d): the statements on the SCHEMA_CHANGE events of one stream. */
static void test_statements(void **state)
{
    const char *db = tl_fresh_db("t_ddlcap");
    capture cap;
    pgcdc_config *cfg;
    pgcdc_worker *w;
    json_t *lines;
    char msg[512];

    (void)state;
    if (tl_server_version(db) < 140000) {
        pgcdc_config *c = pgcdc_config_new();

        pgcdc_config_set_conninfo(c, db);
        w = pgcdc_worker_new(c);
        assert_int_equal(pgcdc_worker_install_ddl_capture(w, 1), PGCDC_ERR_INVALID);
        assert_non_null(strstr(pgcdc_worker_errmsg(w), "pgoutput sends logical messages from "
                                                       "PostgreSQL 14"));
        pgcdc_worker_free(w);
        pgcdc_config_free(c);
        return;
    }
    memset(&cap, 0, sizeof(cap));
    cap.fmt = pgcdc_formatter_new(PGCDC_FORMAT_JSON, "t_ddlcap");
    assert_non_null(cap.fmt);
    tl_sql(db, "CREATE TABLE t (id int PRIMARY KEY, a text)");
    cfg = config(db, &cap);
    if (tl_start_only(cfg, msg, sizeof(msg)) != PGCDC_OK)
        fail_msg("start: %s", msg);
    pgcdc_config_free(cfg);

    /* (a) Twice: the second finds it all there. */
    capture_ddl(db, 1);
    capture_ddl(db, 1);
    tl_sql_expect(db, "1",
                  "SELECT count(*) FROM pg_event_trigger WHERE evtname = "
                  "'pgcdc_capture_ddl' AND evtenabled = 'O'");
    tl_sql(db, "INSERT INTO t VALUES (1, 'x')");
    tl_sql(db, "ALTER TABLE t ADD COLUMN b int");
    tl_sql(db, "INSERT INTO t VALUES (2, 'y', 2)");
    /* (b) */
    tl_sql(db, "ALTER TABLE t RENAME COLUMN b TO c");
    tl_sql(db, "INSERT INTO t VALUES (3, 'z', 3)");
    /* (c) The columns stay as they were. */
    tl_sql(db, "ALTER TABLE t ADD CONSTRAINT t_a_set CHECK (a <> '')");
    tl_sql(db, "INSERT INTO t VALUES (4, 'w', 4)");
    /* DDL of something that is not a table (an index) brings nothing. */
    tl_sql(db, "CREATE INDEX t_a ON t (a)");
    tl_sql(db, "INSERT INTO t VALUES (5, 'v', 5)");
    /* Two commands in one query: the query's text, once. */
    tl_sql(db, "ALTER TABLE t ADD COLUMN e int; ALTER TABLE t DROP COLUMN e");
    tl_sql(db, "INSERT INTO t VALUES (8, 's', 8)");
    /* The table renamed: its name on the events changes, the columns do not. */
    tl_sql(db, "ALTER TABLE t RENAME TO t2");
    tl_sql(db, "INSERT INTO t2 VALUES (6, 'u', 6)");
    /* DDL of a table owner who is no superuser: the function writes it as its own owner. */
    tl_sql(db, "DROP ROLE IF EXISTS ddlcap_owner");
    tl_sql(db, "CREATE ROLE ddlcap_owner");
    tl_sql(db, "ALTER TABLE t2 OWNER TO ddlcap_owner");
    tl_sql(db, "SET ROLE ddlcap_owner; ALTER TABLE t2 ADD COLUMN f int");
    tl_sql(db, "INSERT INTO t2 VALUES (9, 'r', 9, 9)");
    /* (d) Removed: a schema change without a statement. */
    capture_ddl(db, 0);
    capture_ddl(db, 0);
    tl_sql_expect(db, NULL, "SELECT 1 FROM pg_event_trigger WHERE evtname = 'pgcdc_capture_ddl'");
    tl_sql_expect(db, NULL, "SELECT 1 FROM pg_namespace WHERE nspname = 'pgcdc'");
    tl_sql(db, "ALTER TABLE t2 ADD COLUMN d int");
    tl_sql(db, "INSERT INTO t2 VALUES (7, 't', 7, 7, 7)");

    cfg = config(db, &cap);
    pgcdc_config_set_endpos(cfg, tl_current_lsn(db));
    w = pgcdc_worker_new(cfg);
    assert_non_null(w);
    assert_int_equal(pgcdc_worker_start(w), PGCDC_OK);
    if (pgcdc_worker_run(w) != PGCDC_OK)
        fail_msg("run: %s", pgcdc_worker_errmsg(w));
    pgcdc_worker_free(w);
    pgcdc_config_free(cfg);

    lines = lines_of(&cap);
    expect_insert(lines, 0, "t", 1);
    expect_schema(lines, 1, "id,a", "id,a,b", "ALTER TABLE t ADD COLUMN b int");
    expect_insert(lines, 2, "t", 2);
    expect_schema(lines, 3, "id,a,b", "id,a,c", "ALTER TABLE t RENAME COLUMN b TO c");
    expect_insert(lines, 4, "t", 3);
    expect_schema(lines, 5, "id,a,c", "id,a,c",
                  "ALTER TABLE t ADD CONSTRAINT t_a_set CHECK (a <> '')");
    expect_insert(lines, 6, "t", 4);
    expect_insert(lines, 7, "t", 5);
    expect_schema(lines, 8, "id,a,c", "id,a,c",
                  "ALTER TABLE t ADD COLUMN e int; ALTER TABLE t DROP COLUMN e");
    expect_insert(lines, 9, "t", 8);
    expect_schema(lines, 10, "id,a,c", "id,a,c", "ALTER TABLE t RENAME TO t2");
    expect_insert(lines, 11, "t2", 6);
    expect_schema(lines, 12, "id,a,c", "id,a,c,f",
                  "ALTER TABLE t2 OWNER TO ddlcap_owner\n"
                  "SET ROLE ddlcap_owner; ALTER TABLE t2 ADD COLUMN f int");
    expect_insert(lines, 13, "t2", 9);
    expect_schema(lines, 14, "id,a,c,f", "id,a,c,f,d", NULL);
    expect_insert(lines, 15, "t2", 7);
    assert_int_equal(json_array_size(lines), 16);
    json_decref(lines);
    tl_sql(db, "DROP OWNED BY ddlcap_owner; DROP ROLE ddlcap_owner");
    pgcdc_formatter_free(cap.fmt);
    free(cap.out);
}

/* (e) The command line: install, remove, a schema with more in it kept, a plain role refused. */
static void test_cli(void **state)
{
    const char *db = tl_fresh_db("t_ddlcap_cli");
    const char *install[] = {tool, "-d", "dbname=t_ddlcap_cli", "--install-ddl-capture", NULL};
    const char *remove[] = {tool, "-d", "dbname=t_ddlcap_cli", "--remove-ddl-capture", NULL};
    const char *plain[] = {tool, "-d", "dbname=t_ddlcap_cli user=ddlcap_plain",
                           "--install-ddl-capture", NULL};
    char *err;

    (void)state;
    if (tl_server_version(db) < 140000) {
        /* Refused in one line (test_statements checks the library's refusal). */
        assert_int_equal(tt_run(install), 1);
        tt_assert_stderr_one_line("DDL capture needs PostgreSQL 14 or later");
        return;
    }
    assert_int_equal(tt_run(install), 0);
    tt_assert_stderr_one_line("DDL capture installed in database \"t_ddlcap_cli\"");
    assert_int_equal(tt_run(install), 0);
    tl_sql_expect(db, "1",
                  "SELECT count(*) FROM pg_event_trigger WHERE evtname = "
                  "'pgcdc_capture_ddl'");
    tl_sql_expect(db, "t",
                  "SELECT prosecdef FROM pg_proc WHERE oid = 'pgcdc.capture_ddl'::regproc");

    assert_int_equal(tt_run(remove), 0);
    tt_assert_stderr_one_line("DDL capture removed from database \"t_ddlcap_cli\"");
    tl_sql_expect(db, NULL, "SELECT 1 FROM pg_event_trigger WHERE evtname = 'pgcdc_capture_ddl'");
    tl_sql_expect(db, NULL, "SELECT 1 FROM pg_namespace WHERE nspname = 'pgcdc'");
    /* Removed again: nothing there, still fine. */
    assert_int_equal(tt_run(remove), 0);

    /* Something else in the schema: the schema stays. */
    assert_int_equal(tt_run(install), 0);
    tl_sql(db, "CREATE TABLE pgcdc.mine (id int)");
    assert_int_equal(tt_run(remove), 0);
    tl_sql_expect(db, NULL, "SELECT 1 FROM pg_proc WHERE proname = 'capture_ddl'");
    tl_sql_expect(db, "1", "SELECT 1 FROM pg_namespace WHERE nspname = 'pgcdc'");

    /* Alone: not with a pipeline's actions. */
    assert_int_equal(
        tt_run((const char *[]){tool, "-d", "dbname=t_ddlcap_cli", "-S", "s_ddlcap_cli",
                                "--drop-slot", "--install-ddl-capture", NULL}),
        2);
    tt_assert_stderr_one_line("--install-ddl-capture goes alone");

    /* A role that is no superuser: one line, and nothing made. */
    tl_sql(db, "DROP ROLE IF EXISTS ddlcap_plain");
    tl_sql(db, "CREATE ROLE ddlcap_plain LOGIN");
    assert_int_equal(tt_run(plain), 1);
    tt_assert_stderr_one_line("DDL capture needs a superuser (event triggers) and role "
                              "\"ddlcap_plain\" is not one: run --install-ddl-capture as one");
    err = tt_slurp(tt_err());
    assert_non_null(strstr(err, "pgcdc: error: "));
    free(err);
    tl_sql_expect(db, NULL, "SELECT 1 FROM pg_event_trigger WHERE evtname = 'pgcdc_capture_ddl'");
    tl_sql(db, "DROP ROLE ddlcap_plain");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_statements),
        cmocka_unit_test(test_cli),
    };
    int r;

    tl_env();
    tool = tt_tool();
    r = cmocka_run_group_tests(tests, NULL, NULL);
    tl_sql("dbname=postgres",
           "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots "
           "WHERE slot_name LIKE 's\\_ddlcap%%' AND NOT active");
    tt_cleanup();
    return r;
}
