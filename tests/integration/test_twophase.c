/*
 * Two-phase transactions (protocol 3, two_phase): changes delivered at
 * PREPARE TRANSACTION with their GID, COMMIT PREPARED and ROLLBACK PREPARED as
 * events of their own in every format, a restart between PREPARE and COMMIT
 * PREPARED, a large prepared transaction streamed, and the refusal before 15.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "testlib.h"
#include "tool.h"

static char server[1024];   /* conninfo of the test's own server (max_prepared_transactions) */
static char warnings[4096]; /* the last run's warnings, one per line */

static void keep_warnings(pgcdc_worker *w, pgcdc_log_level level, const char *msg, void *opaque)
{
    size_t used = strlen(warnings);

    (void)w;
    (void)opaque;
    if (level <= PGCDC_LOG_WARNING)
        snprintf(warnings + used, sizeof(warnings) - used, "%s\n", msg);
}

/* What the wal2json and Debezium formatters made of the events, line after line. */
typedef struct capture {
    pgcdc_formatter *w2j;
    pgcdc_formatter *dbz;
    char *w2j_out;
    size_t w2j_len;
    char *dbz_out;
    size_t dbz_len;
} capture;

/* Lines of a file or a buffer, each malloc'd. */
typedef struct lines {
    char **line;
    size_t n;
} lines;

static size_t pow2_at_least(size_t n)
{
    size_t p = 64;

    while (p < n)
        p *= 2;
    return p;
}

/* The buffer's size is a power of two: it doubles (20 000 changes in a row, under ASan too). */
static void append(char **out, size_t *len, const char *data, size_t n)
{
    size_t need = *len + n + 1;

    if (*out == NULL || need > pow2_at_least(*len + 1)) {
        char *grown = realloc(*out, pow2_at_least(need));

        assert_non_null(grown);
        *out = grown;
    }
    memcpy(*out + *len, data, n);
    *len += n;
    (*out)[*len] = '\0';
}

static int on_begin(pgcdc_worker *w, const pgcdc_txn *txn, void *opaque)
{
    capture *cap = opaque;
    const char *out;
    size_t n;

    (void)w;
    assert_int_equal(pgcdc_formatter_begin(cap->w2j, txn, &out, &n), PGCDC_OK);
    append(&cap->w2j_out, &cap->w2j_len, out, n);
    assert_int_equal(pgcdc_formatter_begin(cap->dbz, txn, &out, &n), PGCDC_OK);
    append(&cap->dbz_out, &cap->dbz_len, out, n);
    return PGCDC_HANDLED;
}

static int on_change(pgcdc_worker *w, const pgcdc_change *c, void *opaque)
{
    capture *cap = opaque;
    const char *out;
    size_t n;

    (void)w;
    assert_int_equal(pgcdc_formatter_change(cap->w2j, c, &out, &n), PGCDC_OK);
    append(&cap->w2j_out, &cap->w2j_len, out, n);
    assert_int_equal(pgcdc_formatter_change(cap->dbz, c, &out, &n), PGCDC_OK);
    append(&cap->dbz_out, &cap->dbz_len, out, n);
    return PGCDC_HANDLED;
}

static int on_commit(pgcdc_worker *w, const pgcdc_txn *txn, void *opaque)
{
    capture *cap = opaque;
    const char *out;
    size_t n;

    (void)w;
    assert_int_equal(pgcdc_formatter_commit(cap->w2j, txn, &out, &n), PGCDC_OK);
    append(&cap->w2j_out, &cap->w2j_len, out, n);
    assert_int_equal(pgcdc_formatter_commit(cap->dbz, txn, &out, &n), PGCDC_OK);
    append(&cap->dbz_out, &cap->dbz_len, out, n);
    return PGCDC_HANDLED;
}

static void capture_init(capture *cap)
{
    memset(cap, 0, sizeof(*cap));
    cap->w2j = pgcdc_formatter_new(PGCDC_FORMAT_WAL2JSON, "postgres");
    cap->dbz = pgcdc_formatter_new(PGCDC_FORMAT_DEBEZIUM, "postgres");
    assert_non_null(cap->w2j);
    assert_non_null(cap->dbz);
}

static void capture_free(capture *cap)
{
    pgcdc_formatter_free(cap->w2j);
    pgcdc_formatter_free(cap->dbz);
    free(cap->w2j_out);
    free(cap->dbz_out);
}

static void split(lines *ls, const char *text)
{
    const char *p = text != NULL ? text : "";

    memset(ls, 0, sizeof(*ls));
    while (*p != '\0') {
        const char *nl = strchr(p, '\n');
        size_t n = nl != NULL ? (size_t)(nl - p) : strlen(p);

        ls->line = realloc(ls->line, (ls->n + 1) * sizeof(char *));
        assert_non_null(ls->line);
        ls->line[ls->n] = strndup(p, n);
        ls->n++;
        p += n + (nl != NULL);
    }
}

static void read_lines(lines *ls, const char *path)
{
    FILE *f = fopen(path, "r");
    char *text = NULL;
    size_t len = 0;
    char buf[4096];
    size_t n;

    assert_non_null(f);
    while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
        append(&text, &len, buf, n);
    fclose(f);
    split(ls, text);
    free(text);
}

static void lines_free(lines *ls)
{
    for (size_t i = 0; i < ls->n; i++)
        free(ls->line[i]);
    free(ls->line);
}

/* The line as JSON (asserted valid); json_decref it. */
static json_t *parse(const char *line)
{
    json_error_t err;
    json_t *doc = json_loads(line, 0, &err);

    if (doc == NULL)
        fail_msg("not JSON (%s): %s", err.text, line);
    return doc;
}

static const char *str(json_t *doc, const char *key)
{
    json_t *v = json_object_get(doc, key);

    return json_is_string(v) ? json_string_value(v) : NULL;
}

/* Asserts a native line's op, and its GID and prepared flag (gid NULL: none). */
static json_t *expect_native(const char *line, const char *op, const char *gid)
{
    json_t *doc = parse(line);

    assert_string_equal(str(doc, "op"), op);
    if (gid == NULL) {
        assert_null(json_object_get(doc, "gid"));
        return doc;
    }
    assert_string_equal(str(doc, "gid"), gid);
    if (strstr(op, "PREPARED") == NULL)
        assert_true(json_is_true(json_object_get(doc, "prepared")));
    return doc;
}

/*
 * Streams with two_phase until endpos: the native JSON to a file sink at
 * path (appended), the other formats into cap.
 */
static void run_with(const char *conninfo, const char *slot, const char *table, int proto,
                     const char *path, capture *cap, uint64_t endpos, const char *const *settings)
{
    pgcdc_config *cfg = tl_config(conninfo, slot, slot, table);
    pgcdc_worker *w;
    char uri[512];
    char err[256];

    for (int i = 0; settings != NULL && settings[i] != NULL; i += 2) {
        if (pgcdc_config_set(cfg, settings[i], settings[i + 1], err, sizeof(err)) != PGCDC_OK)
            fail_msg("%s: %s", settings[i], err);
    }

    assert_int_equal(pgcdc_config_set_two_phase(cfg, 1), PGCDC_OK);
    if (proto != 0)
        assert_int_equal(pgcdc_config_set_proto_version(cfg, proto), PGCDC_OK);
    pgcdc_config_set_endpos(cfg, endpos);
    snprintf(uri, sizeof(uri), "file:%s", path);
    assert_int_equal(pgcdc_config_add_sink(cfg, uri), PGCDC_OK);
    pgcdc_config_set_begin_cb(cfg, on_begin, cap);
    pgcdc_config_set_change_cb(cfg, on_change, cap);
    pgcdc_config_set_commit_cb(cfg, on_commit, cap);
    pgcdc_config_set_log_cb(cfg, keep_warnings, NULL);
    warnings[0] = '\0';
    w = pgcdc_worker_new(cfg);
    assert_non_null(w);
    assert_int_equal(pgcdc_worker_start(w), PGCDC_OK);
    if (pgcdc_worker_run(w) != PGCDC_OK)
        fail_msg("run: %s", pgcdc_worker_errmsg(w));
    pgcdc_worker_free(w);
    pgcdc_config_free(cfg);
}

static void run(const char *conninfo, const char *slot, const char *table, int proto,
                const char *path, capture *cap, uint64_t endpos)
{
    run_with(conninfo, slot, table, proto, path, cap, endpos, NULL);
}

/* Creates the slot (and publication) with two_phase asked for; before 15: refused. */
static int start_slot(const char *slot, const char *table)
{
    pgcdc_config *cfg = tl_config(server, slot, slot, table);
    char msg[512];
    int r;

    pgcdc_config_set_two_phase(cfg, 1);
    r = tl_start_only(cfg, msg, sizeof(msg));
    pgcdc_config_free(cfg);
    if (tl_server_version(server) < 150000) {
        assert_int_equal(r, PGCDC_ERR_INVALID);
        assert_non_null(strstr(msg, "two_phase needs PostgreSQL 15 or later; this server is "));
        assert_null(strchr(msg, '\n'));
        /* Refused before anything was created. */
        tl_sql_expect(server, NULL, "SELECT 1 FROM pg_replication_slots WHERE slot_name = '%s'",
                      slot);
        return 0;
    }
    if (r != PGCDC_OK)
        fail_msg("start: %s", msg);
    return 1;
}

static void temp_path(char *path, size_t size)
{
    int fd;

    snprintf(path, size, "%s/pgcdc-2pc-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
}

static void test_commit_and_rollback_prepared(void **state)
{
    char path[512];
    capture cap;
    lines nat;
    lines w2j;
    lines dbz;
    json_t *doc;
    json_int_t xid;
    char actions[32] = "";

    (void)state;
    tl_sql(server, "CREATE TABLE tp (id int PRIMARY KEY, v text)");
    if (!start_slot("s_2pc", "tp"))
        return;
    /* The slot pgcdc created without two_phase has it now: the server turned it on. */
    tl_sql_expect(server, "t",
                  "SELECT two_phase FROM pg_replication_slots WHERE slot_name = 's_2pc'");
    tl_sql(server, "INSERT INTO tp VALUES (1, 'a'), (2, 'b')");
    tl_sql(server, "BEGIN; INSERT INTO tp VALUES (3, 'c'); UPDATE tp SET v = 'A' WHERE id = 1;"
                   "DELETE FROM tp WHERE id = 2; PREPARE TRANSACTION 'gx1'");
    tl_sql(server, "COMMIT PREPARED 'gx1'");
    tl_sql(server, "BEGIN; INSERT INTO tp VALUES (10, 'x'); PREPARE TRANSACTION 'gx2'");
    tl_sql(server, "ROLLBACK PREPARED 'gx2'");
    temp_path(path, sizeof(path));
    capture_init(&cap);
    run(server, "s_2pc", "tp", 0, path, &cap, tl_current_lsn(server));

    /* Native JSON, from the file sink. */
    read_lines(&nat, path);
    assert_int_equal(nat.n, 8);
    json_decref(expect_native(nat.line[0], "INSERT", NULL));
    json_decref(expect_native(nat.line[1], "INSERT", NULL));
    doc = expect_native(nat.line[2], "INSERT", "gx1");
    xid = json_integer_value(json_object_get(doc, "xid"));
    json_decref(doc);
    json_decref(expect_native(nat.line[3], "UPDATE", "gx1"));
    json_decref(expect_native(nat.line[4], "DELETE", "gx1"));
    /* The commit names the prepared transaction: its GID and its xid. */
    doc = expect_native(nat.line[5], "COMMIT_PREPARED", "gx1");
    assert_int_equal(json_integer_value(json_object_get(doc, "xid")), xid);
    assert_non_null(str(doc, "commit_lsn"));
    assert_non_null(str(doc, "end_lsn"));
    assert_non_null(str(doc, "commit_time"));
    json_decref(doc);
    json_decref(expect_native(nat.line[6], "INSERT", "gx2"));
    json_decref(expect_native(nat.line[7], "ROLLBACK_PREPARED", "gx2"));

    /* wal2json: P ends a prepared transaction, K and r are lines of their own. */
    split(&w2j, cap.w2j_out);
    for (size_t i = 0; i < w2j.n && i + 1 < sizeof(actions); i++) {
        doc = parse(w2j.line[i]);
        actions[i] = str(doc, "action")[0];
        if (strchr("KrP", actions[i]) != NULL)
            assert_string_equal(str(doc, "gid"), i < 10 ? "gx1" : "gx2");
        json_decref(doc);
    }
    assert_string_equal(actions, "BIICBIUDPKBIPr");

    /* Debezium: the changes' source names the GID; the outcome is an event of its own. */
    split(&dbz, cap.dbz_out);
    assert_int_equal(dbz.n, 8);
    doc = parse(dbz.line[2]);
    assert_string_equal(str(json_object_get(doc, "source"), "gid"), "gx1");
    assert_string_equal(str(doc, "op"), "c");
    json_decref(doc);
    doc = parse(dbz.line[5]);
    assert_string_equal(str(doc, "status"), "COMMIT_PREPARED");
    assert_string_equal(str(doc, "gid"), "gx1");
    json_decref(doc);
    doc = parse(dbz.line[6]);
    assert_string_equal(str(json_object_get(doc, "source"), "gid"), "gx2");
    json_decref(doc);
    doc = parse(dbz.line[7]);
    assert_string_equal(str(doc, "status"), "ROLLBACK_PREPARED");
    assert_string_equal(str(doc, "gid"), "gx2");
    json_decref(doc);

    lines_free(&nat);
    lines_free(&w2j);
    lines_free(&dbz);
    capture_free(&cap);
    unlink(path);
}

/* pgcdc stops between PREPARE and COMMIT PREPARED: the commit comes at the next run. */
static void test_restart_between_prepare_and_commit(void **state)
{
    char path[512];
    capture cap;
    lines nat;
    json_t *doc;
    uint64_t prepared;

    (void)state;
    tl_sql(server, "CREATE TABLE tr (id int PRIMARY KEY)");
    if (!start_slot("s_2pc_restart", "tr"))
        return;
    tl_sql(server, "BEGIN; INSERT INTO tr VALUES (1), (2); PREPARE TRANSACTION 'gr1'");
    temp_path(path, sizeof(path));
    capture_init(&cap);
    prepared = tl_current_lsn(server);
    run(server, "s_2pc_restart", "tr", 0, path, &cap, prepared);
    read_lines(&nat, path);
    assert_int_equal(nat.n, 2);
    json_decref(expect_native(nat.line[0], "INSERT", "gr1"));
    json_decref(expect_native(nat.line[1], "INSERT", "gr1"));
    lines_free(&nat);
    /* The prepare is confirmed: the slot moved past it. */
    assert_true(tl_slot_confirmed(server, "s_2pc_restart") >= prepared);

    tl_sql(server, "COMMIT PREPARED 'gr1'");
    run(server, "s_2pc_restart", "tr", 0, path, &cap, tl_current_lsn(server));
    read_lines(&nat, path);
    assert_true(nat.n >= 3);
    /* At least once: whatever came again carries the GID; the commit comes last. */
    for (size_t i = 0; i + 1 < nat.n; i++)
        json_decref(expect_native(nat.line[i], "INSERT", "gr1"));
    doc = expect_native(nat.line[nat.n - 1], "COMMIT_PREPARED", "gr1");
    json_decref(doc);
    lines_free(&nat);
    capture_free(&cap);
    unlink(path);
}

/*
 * Prepared before the slot had two-phase decoding: the server decodes it
 * whole at COMMIT PREPARED, with a prepare LSN below the transactions
 * handed out since; it must come all the same.
 */
static void test_prepared_before_two_phase(void **state)
{
    pgcdc_config *cfg;
    char path[512];
    char msg[512];
    capture cap;
    lines nat;
    tl_log log = {0};

    (void)state;
    if (tl_server_version(server) < 150000)
        return;
    tl_sql(server, "CREATE TABLE tl (id int PRIMARY KEY)");
    cfg = tl_config(server, "s_2pc_late", "s_2pc_late", "tl");
    assert_int_equal(tl_start_only(cfg, msg, sizeof(msg)), PGCDC_OK);
    tl_sql(server, "BEGIN; INSERT INTO tl VALUES (1); PREPARE TRANSACTION 'gl'");
    tl_sql(server, "INSERT INTO tl VALUES (2)");
    /* Without two_phase: the slot's position moves past the prepare. */
    assert_int_equal(tl_run_until(cfg, tl_current_lsn(server), &log), PGCDC_OK);
    assert_int_equal(log.n, 1);
    tl_log_free(&log);
    pgcdc_config_free(cfg);
    tl_sql(server, "INSERT INTO tl VALUES (3)");
    /* The first start with two_phase, while 'gl' is prepared: it says what is coming. */
    cfg = tl_config(server, "s_2pc_late", "s_2pc_late", "tl");
    pgcdc_config_set_two_phase(cfg, 1);
    pgcdc_config_set_log_cb(cfg, keep_warnings, NULL);
    warnings[0] = '\0';
    assert_int_equal(tl_start_only(cfg, msg, sizeof(msg)), PGCDC_OK);
    assert_non_null(strstr(warnings, "1 transaction(s) prepared before slot \"s_2pc_late\" had "
                                     "two-phase decoding"));
    pgcdc_config_free(cfg);
    tl_sql(server, "COMMIT PREPARED 'gl'");
    tl_sql(server, "INSERT INTO tl VALUES (4)");
    temp_path(path, sizeof(path));
    capture_init(&cap);
    run(server, "s_2pc_late", "tl", 0, path, &cap, tl_current_lsn(server));
    assert_null(strstr(warnings, "prepared before"));
    read_lines(&nat, path);
    assert_int_equal(nat.n, 4);
    json_decref(expect_native(nat.line[0], "INSERT", NULL));
    json_decref(expect_native(nat.line[1], "INSERT", "gl"));
    json_decref(expect_native(nat.line[2], "COMMIT_PREPARED", "gl"));
    json_decref(expect_native(nat.line[3], "INSERT", NULL));
    lines_free(&nat);
    capture_free(&cap);
    unlink(path);
}

/* A prepared transaction larger than logical_decoding_work_mem: streamed, then Stream Prepare. */
static void test_streamed_prepared(void **state)
{
    char conninfo[1200];
    char path[512];
    capture cap;
    lines nat;
    size_t inserts = 0;
    char *streamed;

    (void)state;
    snprintf(conninfo, sizeof(conninfo), "%s options='-c logical_decoding_work_mem=64kB'", server);
    tl_sql(server, "CREATE TABLE ts (id int PRIMARY KEY, pad text)");
    if (!start_slot("s_2pc_stream", "ts"))
        return;
    tl_sql(server,
           "BEGIN; INSERT INTO ts SELECT i, repeat('x', 50) FROM generate_series(1, 20000) i;"
           "PREPARE TRANSACTION 'gbig'");
    tl_sql(server, "COMMIT PREPARED 'gbig'");
    temp_path(path, sizeof(path));
    capture_init(&cap);
    run(conninfo, "s_2pc_stream", "ts", 2, path, &cap, tl_current_lsn(server));
    read_lines(&nat, path);
    assert_int_equal(nat.n, 20001);
    for (size_t i = 0; i + 1 < nat.n; i++) {
        json_t *doc = expect_native(nat.line[i], "INSERT", "gbig");

        inserts++;
        json_decref(doc);
    }
    assert_int_equal(inserts, 20000);
    json_decref(expect_native(nat.line[nat.n - 1], "COMMIT_PREPARED", "gbig"));
    /* The server really streamed it. */
    streamed = tl_sql_value(server, "SELECT stream_txns FROM pg_stat_replication_slots "
                                    "WHERE slot_name = 's_2pc_stream'");
    assert_non_null(streamed);
    assert_true(atoi(streamed) >= 1);
    free(streamed);
    lines_free(&nat);
    capture_free(&cap);
    unlink(path);
}

/* Protocol 3 without two_phase: like 2 from 15 on, refused before with the fix named. */
static void test_protocol_3(void **state)
{
    pgcdc_config *cfg;
    char msg[512];
    int r;

    (void)state;
    tl_sql(server, "CREATE TABLE t3 (id int PRIMARY KEY)");
    cfg = tl_config(server, "s_2pc_p3", "p_2pc3", "t3");
    assert_int_equal(pgcdc_config_set_proto_version(cfg, 3), PGCDC_OK);
    assert_int_equal(pgcdc_config_set_proto_version(cfg, 4), PGCDC_ERR_INVALID);
    r = tl_start_only(cfg, msg, sizeof(msg));
    if (tl_server_version(server) < 150000) {
        assert_int_equal(r, PGCDC_ERR_INVALID);
        assert_non_null(strstr(msg, "protocol 3 needs PostgreSQL 15 or later"));
        assert_non_null(strstr(msg, "use protocol 1 or 2"));
    } else {
        assert_int_equal(r, PGCDC_OK);
        tl_sql(server, "INSERT INTO t3 VALUES (1)");
        {
            tl_log log = {0};

            assert_int_equal(tl_run_until(cfg, tl_current_lsn(server), &log), PGCDC_OK);
            assert_int_equal(log.n, 1);
            tl_log_free(&log);
        }
    }
    pgcdc_config_free(cfg);
}

/*
 * Filters, masks and a Lua script see prepared changes with their GID; the
 * COMMIT/ROLLBACK PREPARED events, which have no table, pass them by.
 */
static void test_filters_and_lua(void **state)
{
    static const char script[] = "function filter(e) return e.gid ~= nil end\n"
                                 "function transform(e) if e.new then e.new.seen = e.gid end end\n";
    const char *settings[] = {
        "filter.where.tf", "id < 100", "mask.tf.v", "redact", "lua", NULL, NULL};
    char lua[512];
    char path[512];
    capture cap;
    lines nat;
    json_t *doc;
    FILE *f;

    (void)state;
    tl_sql(server, "CREATE TABLE tf (id int PRIMARY KEY, v text)");
    if (!start_slot("s_2pc_filter", "tf"))
        return;
    temp_path(lua, sizeof(lua));
    f = fopen(lua, "w");
    assert_non_null(f);
    fputs(script, f);
    fclose(f);
    settings[5] = lua;
    tl_sql(server, "INSERT INTO tf VALUES (1, 'plain')");
    tl_sql(server, "BEGIN; INSERT INTO tf VALUES (2, 'secret'), (200, 'filtered');"
                   "PREPARE TRANSACTION 'gf1'");
    tl_sql(server, "COMMIT PREPARED 'gf1'");
    tl_sql(server, "BEGIN; DELETE FROM tf WHERE id = 1; PREPARE TRANSACTION 'gf2'");
    tl_sql(server, "ROLLBACK PREPARED 'gf2'");
    temp_path(path, sizeof(path));
    capture_init(&cap);
    run_with(server, "s_2pc_filter", "tf", 0, path, &cap, tl_current_lsn(server), settings);
    read_lines(&nat, path);
    assert_int_equal(nat.n, 4);
    doc = expect_native(nat.line[0], "INSERT", "gf1");
    assert_string_equal(str(json_object_get(doc, "new"), "v"), "***");
    assert_string_equal(str(json_object_get(doc, "new"), "seen"), "gf1");
    json_decref(doc);
    json_decref(expect_native(nat.line[1], "COMMIT_PREPARED", "gf1"));
    json_decref(expect_native(nat.line[2], "DELETE", "gf2"));
    json_decref(expect_native(nat.line[3], "ROLLBACK_PREPARED", "gf2"));
    lines_free(&nat);
    capture_free(&cap);
    unlink(path);
    unlink(lua);
}

/* The CLI: --two-phase, the native JSON on stdout. */
static void test_cli(void **state)
{
    const char *tool = tt_tool();
    char endpos[32];
    json_t *all;
    int r;

    (void)state;
    tl_sql(server, "CREATE TABLE tc (id int PRIMARY KEY)");
    pgcdc_lsn_format(tl_current_lsn(server), endpos, sizeof(endpos));
    r = tt_run((const char *[]){tool, "-d", server, "-S", "s_2pc_cli", "-P", "s_2pc_cli", "-t",
                                "tc", "--two-phase", "-E", endpos, NULL});
    if (tl_server_version(server) < 150000) {
        assert_int_not_equal(r, 0);
        tt_assert_stderr_one_line("two_phase needs PostgreSQL 15 or later");
        return;
    }
    assert_int_equal(r, 0);
    tl_sql(server, "BEGIN; INSERT INTO tc VALUES (1); PREPARE TRANSACTION 'gc'");
    tl_sql(server, "COMMIT PREPARED 'gc'");
    pgcdc_lsn_format(tl_current_lsn(server), endpos, sizeof(endpos));
    assert_int_equal(
        tt_run((const char *[]){tool, "-d", server, "-S", "s_2pc_cli", "-P", "s_2pc_cli", "-t",
                                "tc", "--two-phase", "-E", endpos, NULL}),
        0);
    all = tt_parse_lines(tt_out());
    assert_int_equal(json_array_size(all), 2);
    assert_string_equal(str(json_array_get(all, 0), "op"), "INSERT");
    assert_string_equal(str(json_array_get(all, 0), "gid"), "gc");
    assert_string_equal(str(json_array_get(all, 1), "op"), "COMMIT_PREPARED");
    assert_string_equal(str(json_array_get(all, 1), "gid"), "gc");
    json_decref(all);
}

static int setup(void **state)
{
    (void)state;
    tl_env();
    tl_server_start("twophase", "--set max_prepared_transactions=10", server, sizeof(server));
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    tl_server_stop("twophase");
    tt_cleanup();
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_commit_and_rollback_prepared),
        cmocka_unit_test(test_restart_between_prepare_and_commit),
        cmocka_unit_test(test_prepared_before_two_phase),
        cmocka_unit_test(test_streamed_prepared),
        cmocka_unit_test(test_protocol_3),
        cmocka_unit_test(test_filters_and_lua),
        cmocka_unit_test(test_cli),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
