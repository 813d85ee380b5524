/*
 * pgcdc's wal2json format line by line against the real wal2json plugin
 * (format-version 2) reading the same changes from its own slot: column
 * types however the tables were chosen (a table list, a publication FOR
 * TABLE, FOR ALL TABLES) and after ALTER TABLE, and each of the plugin's
 * options, on and off, given to both.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "testlib.h"
#include "wire/types.h"

/* ---- lines ---- */

typedef struct lines {
    char **v;
    size_t n;
} lines;

static void lines_add(lines *l, const char *s, size_t n)
{
    l->v = realloc(l->v, (l->n + 1) * sizeof(*l->v));
    assert_non_null(l->v);
    l->v[l->n] = strndup(s, n);
    assert_non_null(l->v[l->n]);
    l->n++;
}

static void lines_free(lines *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
    memset(l, 0, sizeof(*l));
}

/* Text split at newlines; each line must be one JSON object. */
static void lines_split(const char *buf, size_t len, lines *l)
{
    size_t pos = 0;

    memset(l, 0, sizeof(*l));
    while (pos < len) {
        const char *nl = memchr(buf + pos, '\n', len - pos);
        size_t n = nl != NULL ? (size_t)(nl - (buf + pos)) : len - pos;

        lines_add(l, buf + pos, n);
        pos += n + 1;
    }
}

/* "B", "C", "I"...; the table of a change in table ("" for B and C).  Lines must be JSON. */
static char action_of(const char *line, char *table, size_t size)
{
    json_error_t err;
    json_t *doc = json_loads(line, JSON_REJECT_DUPLICATES, &err);
    const char *a = json_string_value(json_object_get(doc, "action"));
    const char *t = json_string_value(json_object_get(doc, "table"));
    char c;

    if (doc == NULL || a == NULL)
        fail_msg("not a wal2json line (%s): %s", err.text, line);
    c = a[0];
    snprintf(table, size, "%s", t != NULL ? t : "");
    json_decref(doc);
    return c;
}

/* table is one of the names in "a,b,c". */
static int listed(const char *tables, const char *table)
{
    char all[256];
    char one[160];

    snprintf(all, sizeof(all), ",%s,", tables);
    snprintf(one, sizeof(one), ",%s,", table);
    return table[0] != '\0' && strstr(all, one) != NULL;
}

/*
 * The lines of the transactions that changed one of tables, B and C
 * included: pgoutput sends no transaction without a published change, while
 * wal2json prints B and C for every one.  Without B and C lines (the
 * include-transaction option off), the changes of those tables.
 */
static void keep(const lines *in, const char *tables, lines *out)
{
    size_t mark = SIZE_MAX;
    int any = 0;

    memset(out, 0, sizeof(*out));
    for (size_t i = 0; i < in->n; i++) {
        char table[128];
        char a = action_of(in->v[i], table, sizeof(table));

        if (a == 'B') {
            mark = out->n;
            any = 0;
        } else if (a == 'C') {
            assert_true(mark != SIZE_MAX);
            /* A transaction with nothing of these tables: its B line goes. */
            while (!any && out->n > mark)
                free(out->v[--out->n]);
            mark = SIZE_MAX;
            if (!any)
                continue;
        } else if (!listed(tables, table)) {
            continue;
        } else {
            any = 1;
        }
        lines_add(out, in->v[i], strlen(in->v[i]));
    }
    assert_true(mark == SIZE_MAX);
}

/*
 * Takes pgcdc's S lines (schema changes: wal2json has none) out of l; each
 * must come just before a change of its table.  Returns how many there were.
 */
static size_t drop_schema_lines(lines *l)
{
    size_t out = 0;
    size_t dropped = 0;

    for (size_t i = 0; i < l->n; i++) {
        char table[128];
        char next[128];

        if (action_of(l->v[i], table, sizeof(table)) != 'S') {
            l->v[out++] = l->v[i];
            continue;
        }
        assert_true(i + 1 < l->n);
        if (strchr("IUDT", action_of(l->v[i + 1], next, sizeof(next))) == NULL ||
            strcmp(table, next) != 0)
            fail_msg("schema change not before a change of its table: %s\nthen: %s", l->v[i],
                     l->v[i + 1]);
        free(l->v[i]);
        dropped++;
    }
    l->n = out;
    return dropped;
}

/* Removes ,"key":"..." from a line (a string value without escapes). */
static void drop_string_field(char *line, const char *key)
{
    char pat[64];
    char *at;
    char *end;

    snprintf(pat, sizeof(pat), ",\"%s\":\"", key);
    at = strstr(line, pat);
    if (at == NULL)
        return;
    end = strchr(at + strlen(pat), '"');
    assert_non_null(end);
    memmove(at, end + 1, strlen(end + 1) + 1);
}

/*
 * Same lines, byte for byte.  One difference is expected: pgoutput's Begin
 * does not carry the end of the commit record, so pgcdc's B line has no
 * "nextlsn" (its C line has).
 */
static void compare(const char *what, const lines *ours, const lines *real)
{
    size_t n = ours->n < real->n ? ours->n : real->n;

    for (size_t i = 0; i < n; i++) {
        char *want = strdup(real->v[i]);

        assert_non_null(want);
        if (strncmp(want, "{\"action\":\"B\"", 13) == 0)
            drop_string_field(want, "nextlsn");
        if (strcmp(ours->v[i], want) != 0) {
            size_t at = 0;

            /* Where they part, with some context (cmocka cuts long messages). */
            while (ours->v[i][at] == want[at])
                at++;
            at = at > 120 ? at - 120 : 0;
            fail_msg("%s: line %zu differs\npgcdc:    ...%.240s\nwal2json: ...%.240s", what, i,
                     ours->v[i] + at, want + at);
        }
        free(want);
    }
    if (ours->n != real->n)
        fail_msg("%s: %zu lines from pgcdc, %zu from wal2json; next: %s", what, ours->n, real->n,
                 ours->n > n ? ours->v[n] : real->v[n]);
}

/* The next name=value of "a=b,c=d" at *p into k and v (64 bytes each): 1, or 0 at the end. */
static int next_option(const char **p, char *k, char *v)
{
    size_t n = strcspn(*p, ",");
    const char *eq = memchr(*p, '=', n);

    if (n == 0)
        return 0;
    assert_non_null(eq);
    snprintf(k, 64, "%.*s", (int)(eq - *p), *p);
    snprintf(v, 64, "%.*s", (int)(n - (size_t)(eq - *p) - 1), eq + 1);
    *p += n + ((*p)[n] == ',');
    return 1;
}

/* ---- the real plugin ---- */

/*
 * wal2json's lines for the slot (peeked: the slot keeps them), with options
 * "name=value,..." passed on.  0, or -1 with the server's message in err.
 */
static int real_wal2json(const char *db, const char *slot, const char *options, lines *l, char *err,
                         size_t errlen)
{
    PGconn *conn = tl_connect(db);
    PGresult *res;
    char sql[2048];
    size_t len;
    char k[64];
    char v[64];

    memset(l, 0, sizeof(*l));
    /* Output functions (and the timestamps) run in this session: the worker's settings. */
    res = PQexec(conn, "SET timezone = 'UTC'; SET datestyle = 'ISO'; SET bytea_output = 'hex';"
                       "SET extra_float_digits = 1; SET intervalstyle = 'postgres'");
    assert_int_equal(PQresultStatus(res), PGRES_COMMAND_OK);
    PQclear(res);
    len = (size_t)snprintf(sql, sizeof(sql),
                           "SELECT data FROM pg_logical_slot_peek_changes('%s', NULL, NULL, "
                           "'format-version', '2'",
                           slot);
    while (next_option(&options, k, v)) {
        len += (size_t)snprintf(sql + len, sizeof(sql) - len, ", '%s', '%s'", k, v);
        assert_true(len < sizeof(sql));
    }
    snprintf(sql + len, sizeof(sql) - len, ")");
    res = PQexec(conn, sql);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        snprintf(err, errlen, "%s", PQerrorMessage(conn));
        PQclear(res);
        PQfinish(conn);
        return -1;
    }
    for (int i = 0; i < PQntuples(res); i++)
        lines_add(l, PQgetvalue(res, i, 0), (size_t)PQgetlength(res, i, 0));
    PQclear(res);
    PQfinish(conn);
    return 0;
}

/* ---- pgcdc ---- */

/*
 * Runs a worker to endpos with a file sink in the wal2json format, the
 * format's options given as properties ("name=value,..."); the file's lines.
 */
static void run_sink(pgcdc_config *cfg, uint64_t endpos, const char *options, lines *out)
{
    char path[] = "/tmp/pgcdc-w2j-XXXXXX";
    char uri[64];
    char err[256];
    char k[64];
    char v[64];
    int fd = mkstemp(path);
    pgcdc_worker *w;
    FILE *f;
    char *buf;
    size_t len;

    assert_true(fd >= 0);
    close(fd);
    while (next_option(&options, k, v)) {
        char key[96];

        snprintf(key, sizeof(key), "wal2json.%s", k);
        if (pgcdc_config_set(cfg, key, v, err, sizeof(err)) != PGCDC_OK)
            fail_msg("%s=%s: %s", key, v, err);
    }
    snprintf(uri, sizeof(uri), "file:%s", path);
    assert_int_equal(pgcdc_config_set(cfg, "format", "wal2json", err, sizeof(err)), PGCDC_OK);
    assert_int_equal(pgcdc_config_add_sink(cfg, uri), PGCDC_OK);
    pgcdc_config_set_endpos(cfg, endpos);
    w = pgcdc_worker_new(cfg);
    assert_non_null(w);
    if (pgcdc_worker_start(w) != PGCDC_OK || pgcdc_worker_run(w) != PGCDC_OK)
        fail_msg("worker: %s", pgcdc_worker_errmsg(w));
    pgcdc_worker_free(w);
    f = fopen(path, "r");
    assert_non_null(f);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    len = (size_t)ftell(f);
    rewind(f);
    buf = malloc(len + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, len, f), len);
    fclose(f);
    unlink(path);
    lines_split(buf, len, out);
    free(buf);
}

/* A worker for db with no callbacks of its own; tables "" means the publication's. */
static pgcdc_config *config(const char *db, const char *slot, const char *pub, const char *tables)
{
    pgcdc_config *cfg = tl_config(db, slot, pub, tables);
    tl_log log = {0};

    /* Creates the slot (and, for a table list, the publication). */
    assert_int_equal(tl_run_until(cfg, tl_current_lsn(db), &log), PGCDC_OK);
    tl_log_free(&log);
    pgcdc_config_set_change_cb(cfg, NULL, NULL);
    pgcdc_config_set_begin_cb(cfg, NULL, NULL);
    pgcdc_config_set_commit_cb(cfg, NULL, NULL);
    return cfg;
}

/* ---- item: type names ---- */

/*
 * pgcdc__type_name against format_type() for every type of pg_catalog (no
 * modifier) and the modifiers of a table's declared columns: whatever it
 * names, it names as the server does, and it names every built-in listed.
 */
static void test_type_names(void **state)
{
    const char *db = tl_fresh_db("t_w2j_names");
    PGconn *conn;
    PGresult *res;
    int named = 0;

    (void)state;
    /* A negative numeric scale came with PostgreSQL 15. */
    tl_sql(db,
           "CREATE TABLE mods (a numeric(5,3), b numeric(5,%s), c numeric(1000,999),"
           " d varchar(60), e char(10), f char, g bpchar, h bit(3), i bit varying(5),"
           " j varbit, k timestamp(3), l timestamptz(0), m time(2), n timetz(4),"
           " o interval(3), p interval day to second(2), q interval year to month,"
           " r interval hour, s interval minute to second, t interval second(3),"
           " u text[], v int4[], w varchar(20)[], x numeric(4,1)[], y \"char\"[],"
           " z bpchar[], aa char(10)[], ab bit(2)[], ac timestamptz(3)[], ad name[],"
           " ae tsvector[], af interval day[], ag interval day to second)",
           tl_server_version(db) >= 150000 ? "-2" : "2");
    conn = tl_connect(db);
    /* Every column of the table is a built-in (or an array of one): named without a query. */
    res = PQexec(conn, "SELECT oid, -1, format_type(oid, -1), false FROM pg_type "
                       "WHERE typnamespace = 'pg_catalog'::regnamespace "
                       "UNION ALL SELECT atttypid, atttypmod, format_type(atttypid, atttypmod), "
                       "true FROM pg_attribute WHERE attrelid = 'mods'::regclass AND attnum > 0");
    assert_int_equal(PQresultStatus(res), PGRES_TUPLES_OK);
    for (int i = 0; i < PQntuples(res); i++) {
        uint32_t oid = (uint32_t)strtoul(PQgetvalue(res, i, 0), NULL, 10);
        int32_t typmod = (int32_t)strtol(PQgetvalue(res, i, 1), NULL, 10);
        const char *want = PQgetvalue(res, i, 2);
        char name[128];

        if (!pgcdc__type_name(oid, typmod, name, sizeof(name))) {
            if (strcmp(PQgetvalue(res, i, 3), "t") == 0)
                fail_msg("%s: no name without the catalog", want);
            continue;
        }
        named++;
        if (strcmp(name, want) != 0)
            fail_msg("type %u (%d): \"%s\", format_type says \"%s\"", oid, typmod, name, want);
    }
    PQclear(res);
    PQfinish(conn);
    /* tsvector, name, "char", bit, the ranges, the arrays: well over a hundred. */
    assert_true(named > 150);
}

static const char *const types_schema =
    "CREATE SCHEMA s2;"
    "CREATE TYPE mood AS ENUM ('sad', 'happy');"
    "CREATE TYPE s2.\"Color\" AS ENUM ('red', 'green');"
    "CREATE DOMAIN posint AS int CHECK (VALUE > 0);"
    "CREATE DOMAIN cash2 AS numeric(6,2);"
    "CREATE DOMAIN flag AS bool;"
    "CREATE DOMAIN s2.label AS varchar(20);"
    "CREATE TYPE pair AS (a int, b text);"
    "CREATE TABLE wt (id int PRIMARY KEY, n53 numeric(5,3), n numeric, nneg numeric(5,-2),"
    " vc varchar(60), v varchar, c10 char(10), c char, bp bpchar, tsv tsvector, tsq tsquery,"
    " b3 bit(3), vb5 bit varying(5), vb varbit, nm name, ch \"char\", ta text[], ia int4[],"
    " vca varchar(20)[], na numeric(4,1)[], ba bool[], ca \"char\"[], c10a char(10)[],"
    " pi posint, c2 cash2, fl flag, lbl s2.label, md mood, mda mood[], col s2.\"Color\","
    " cola s2.\"Color\"[], pr pair, ts3 timestamp(3), tz0 timestamptz(0), ts timestamp,"
    " tz timestamptz, t2 time(2), ttz4 timetz(4), tt time, ttz timetz, iv interval,"
    " iv3 interval(3), ivds interval day to second(2), ivym interval year to month,"
    " ivh interval hour, d date, mo money, ip inet, net cidr, mac macaddr, mac8 macaddr8,"
    " u uuid, j json, jb jsonb, x xml, pt point, bx box, ln line, ls lseg, pth path,"
    " pg polygon, ci circle, r int4range, dr daterange, mr int4multirange, lsn pg_lsn,"
    " o oid, f4 float4, f8 float8, i2 int2, i8 int8, bo bool, by bytea, rc regclass,"
    " x8 xid8);"
    "CREATE TABLE s2.\"Odd Table\" (k text PRIMARY KEY, \"Weird Col\" s2.\"Color\","
    " lbl s2.label, arr s2.\"Color\"[], d posint);"
    "CREATE TABLE other (id int PRIMARY KEY, v varchar(5));"
    "CREATE TABLE bin_t (id int PRIMARY KEY, pi posint, c2 cash2, fl flag, n numeric(5,3));"
    "CREATE TABLE full_t (a int, b numeric(5,3), c posint, e mood);"
    "ALTER TABLE full_t REPLICA IDENTITY FULL;"
    "CREATE PUBLICATION p_all FOR ALL TABLES;"
    "CREATE PUBLICATION p_some FOR TABLE wt, s2.\"Odd Table\"";

static void types_workload(const char *db)
{
    tl_sql(db,
           "INSERT INTO wt VALUES (1, 12.345, 'NaN', 12300, 'varchar', 'v', 'char', 'c', 'bp',"
           " 'a fat:2 cat', 'fat & rat', B'101', B'11', B'1', 'nm', 'q', ARRAY['a', 'b c'],"
           " '{1,2,NULL}', '{x}', '{1.5}', '{t,f}', '{a}', '{ab}', 7, 12.5, true, 'lbl',"
           " 'happy', '{sad,happy}', 'red', '{green}', ROW(1, 'x'), '2026-11-24 22:00:00.12345',"
           " '2026-11-24 22:00:00.5+02', '2026-11-24 22:00:00', '2026-11-24 22:00:00+00',"
           " '10:11:12.345', '10:11:12.34567+03', '10:11', '10:11+01', '1 day 02:03:04.5',"
           " '3 sec', '1 day 2 hours', '1 year 2 months', '5 hours', '2026-11-24', 12.5,"
           " '10.0.0.1/8', '10.0.0.0/8', '08:00:2b:01:02:03', '08:00:2b:01:02:03:04:05',"
           " 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '{\"a\": 1}', '{\"b\": [2]}', '<x>1</x>',"
           " '(1,2)', '((0,0),(1,1))', '{1,2,3}', '((0,0),(1,1))', '((0,0),(1,1))',"
           " '((0,0),(1,1),(2,0))', '<(0,0),1>', '[1,5)', '[2026-01-01,2026-02-01)',"
           " '{[1,2), [5,6)}', '0/16B3748', 4294967295, 1.5, 'Infinity', -32768,"
           " 9223372036854775807, false, '\\x00ff', 'wt', '123')");
    tl_sql(db, "INSERT INTO wt (id) VALUES (2)");
    tl_sql(db, "UPDATE wt SET n53 = 1.5, pi = 9, fl = false WHERE id = 1");
    tl_sql(db, "UPDATE wt SET id = 3 WHERE id = 2");
    tl_sql(db, "DELETE FROM wt WHERE id = 3");
    tl_sql(db, "INSERT INTO s2.\"Odd Table\" VALUES ('k1', 'green', 'l', '{red,green}', 4)");
    tl_sql(db, "UPDATE s2.\"Odd Table\" SET d = 5 WHERE k = 'k1'");
    tl_sql(db, "BEGIN; INSERT INTO other VALUES (1, 'a'); INSERT INTO full_t VALUES (1, 1.25,"
               " 3, 'sad'); INSERT INTO wt (id, c2) VALUES (4, 1); COMMIT");
    tl_sql(db, "INSERT INTO bin_t VALUES (1, 2, 3.5, true, 1.25), (2, NULL, NULL, NULL, NULL)");
    tl_sql(db, "UPDATE full_t SET b = 2.5");
    tl_sql(db, "DELETE FROM full_t");
    /* New Relation messages: a modifier changed, a column of a domain and one of an enum array. */
    tl_sql(db, "ALTER TABLE wt ALTER COLUMN vc TYPE varchar(80), ALTER COLUMN n53 TYPE"
               " numeric(7,3), ADD COLUMN extra s2.label, ADD COLUMN moods mood[]");
    tl_sql(db, "INSERT INTO wt (id, vc, n53, extra, moods) VALUES (10, 'longer', 1234.5, 'e',"
               " '{happy}')");
    tl_sql(db, "ALTER TABLE s2.\"Odd Table\" ADD COLUMN c3 char(3)");
    tl_sql(db, "INSERT INTO s2.\"Odd Table\" (k, c3) VALUES ('k2', 'abc')");
    tl_sql(db, "DELETE FROM s2.\"Odd Table\" WHERE k = 'k1'");
    tl_sql(db, "TRUNCATE other, full_t");
}

/*
 * Item 1: the same changes through four configurations, each compared
 * with the plugin: a table list, a publication FOR TABLE, a publication FOR
 * ALL TABLES (these two with no table list: types come from the catalog),
 * and a table list whose values come in binary.
 */
static void test_types_however_chosen(void **state)
{
    static const struct {
        const char *slot, *pub, *tables, *kept;
        size_t altered; /* tables ALTERed after their first change: one S line each */
    } runs[] = {
        {"s_list", "p_list", "wt,full_t", "wt,full_t", 1},
        {"s_some", "p_some", "", "wt,Odd Table", 2},
        {"s_all", "p_all", "", "wt,Odd Table,other,full_t,bin_t", 2},
        /* Binary values: every column's type (a domain's base type) is read in binary. */
        {"s_bin", "p_bin", "bin_t", "bin_t", 0},
    };
    const char *db = tl_fresh_db("t_w2j_types");
    pgcdc_config *cfg[4];
    uint64_t endpos;
    lines real;
    char err[512];

    (void)state;
    if (!tl_have_wal2json(db, "test_types_however_chosen"))
        skip();
    tl_sql(db, "%s", types_schema);
    for (int k = 0; k < 4; k++)
        cfg[k] = config(db, runs[k].slot, runs[k].pub, runs[k].tables);
    tl_sql(db, "SELECT pg_create_logical_replication_slot('w_types', 'wal2json')");
    types_workload(db);
    endpos = tl_current_lsn(db);
    if (real_wal2json(db, "w_types", "", &real, err, sizeof(err)) != 0)
        fail_msg("wal2json: %s", err);
    for (int k = 0; k < 4; k++) {
        lines ours;
        lines kept_ours;
        lines kept_real;

        run_sink(cfg[k], endpos, "", &ours);
        if (getenv("PGCDC_TEST_VERBOSE") != NULL) {
            for (size_t i = 0; i < ours.n; i++)
                fprintf(stderr, "%s: %s\n", runs[k].slot, ours.v[i]);
        }
        /* pgcdc's addition, before the first change after each ALTER TABLE. */
        assert_int_equal(drop_schema_lines(&ours), runs[k].altered);
        keep(&ours, runs[k].kept, &kept_ours);
        keep(&real, runs[k].kept, &kept_real);
        /* Every line pgcdc wrote is of those tables. */
        assert_int_equal(kept_ours.n, ours.n);
        assert_true(ours.n >= 3);
        compare(runs[k].slot, &kept_ours, &kept_real);
        lines_free(&ours);
        lines_free(&kept_ours);
        lines_free(&kept_real);
        pgcdc_config_free(cfg[k]);
    }
    lines_free(&real);
    tl_sql(db, "SELECT pg_drop_replication_slot('w_types')");
}

/* ---- item: options ---- */

/* The options' names, types and defaults; values the plugin would not take are refused. */
static void test_option_values(void **state)
{
    static const char *const names[] = {
        "include_transaction", "include_xids",  "include_timestamp",           "include_lsn",
        "include_schemas",     "include_types", "include_type_oids",           "include_typmod",
        "include_not_null",    "include_pk",    "numeric_data_types_as_string"};
    static const char *const defaults[] = {"true",  "false", "false", "false", "true", "true",
                                           "false", "true",  "false", "false", "false"};
    pgcdc_formatter *f = pgcdc_formatter_new(PGCDC_FORMAT_WAL2JSON, "");
    pgcdc_config *cfg = pgcdc_config_new();
    const pgcdc_property *p;
    const char *prefix;
    size_t found = 0;

    (void)state;
    for (int i = 0; (p = pgcdc_property_at(i, &prefix)) != NULL; i++) {
        if (prefix == NULL || strcmp(prefix, "wal2json") != 0)
            continue;
        assert_true(found < sizeof(names) / sizeof(names[0]));
        assert_string_equal(p->name, names[found]);
        assert_int_equal(p->type, PGCDC_PROP_BOOL);
        assert_string_equal(p->default_value, defaults[found]);
        found++;
    }
    assert_int_equal(found, sizeof(names) / sizeof(names[0]));
    assert_int_equal(pgcdc_formatter_set(f, "include-xids", "true"), PGCDC_OK);
    assert_int_equal(pgcdc_formatter_set(f, "include_xids", "off"), PGCDC_OK);
    assert_int_equal(pgcdc_formatter_set(f, "numeric-data-types-as-string", "1"), PGCDC_OK);
    assert_int_equal(pgcdc_formatter_set(f, "include-xids", "maybe"), PGCDC_ERR_INVALID);
    assert_int_equal(pgcdc_formatter_set(f, "include-origin", "true"), PGCDC_ERR_INVALID);
    assert_int_equal(pgcdc_config_set(cfg, "wal2json.include-pk", "yes", NULL, 0), PGCDC_OK);
    assert_int_equal(pgcdc_config_set(cfg, "wal2json.include-pk", "2", NULL, 0), PGCDC_ERR_INVALID);
    assert_int_equal(pgcdc_config_set(cfg, "wal2json.write-in-chunks", "true", NULL, 0),
                     PGCDC_ERR_INVALID);
    pgcdc_config_free(cfg);
    pgcdc_formatter_free(f);
}

/* Each set is given to a formatter of pgcdc's and to the plugin, and the lines compared. */
static const char *const option_sets[] = {
    "include-transaction=true,include-xids=false,include-timestamp=false,include-lsn=false,"
    "include-schemas=true,include-types=true,include-type-oids=false,include-typmod=true,"
    "include-not-null=false,include-pk=false",
    "include-xids=true",
    "include-timestamp=true",
    "include-lsn=true",
    "include-type-oids=true",
    "include-typmod=false",
    "include-not-null=true",
    "include-pk=true",
    "include-transaction=false",
    "include-schemas=false",
    "include-types=false",
    "include-xids=1,include-timestamp=on,include-lsn=yes,include-type-oids=true,"
    "include-not-null=true,include-pk=true,include-typmod=false",
    "include-types=false,include-type-oids=true,include-pk=true,include-not-null=true,"
    "include-transaction=false",
    "numeric-data-types-as-string=true",
};
#define NSETS (sizeof(option_sets) / sizeof(option_sets[0]))
/* Given to the file sink as properties: the worker reads the catalog for these. */
#define SINK_OPTIONS "include-not-null=true,include-pk=on"

/* Each set's formatter and what it wrote, as the worker handed the events over. */
typedef struct outputs {
    pgcdc_formatter *f[NSETS];
    char *buf[NSETS];
    size_t len[NSETS];
} outputs;

static void put(outputs *o, size_t k, const char *text, size_t n)
{
    o->buf[k] = realloc(o->buf[k], o->len[k] + n + 1);
    assert_non_null(o->buf[k]);
    memcpy(o->buf[k] + o->len[k], text, n);
    o->len[k] += n;
}

/* One event to every set's formatter: a change, or the begin or the commit of txn. */
static int feed(outputs *o, const pgcdc_txn *txn, const pgcdc_change *c, int begin)
{
    for (size_t k = 0; k < NSETS; k++) {
        const char *text;
        size_t n;
        int r = c != NULL ? pgcdc_formatter_change(o->f[k], c, &text, &n)
                : begin   ? pgcdc_formatter_begin(o->f[k], txn, &text, &n)
                          : pgcdc_formatter_commit(o->f[k], txn, &text, &n);

        assert_int_equal(r, PGCDC_OK);
        put(o, k, text, n);
    }
    return PGCDC_HANDLED;
}

static int on_change(pgcdc_worker *w, const pgcdc_change *c, void *opaque)
{
    (void)w;
    return feed(opaque, NULL, c, 0);
}

static int on_begin(pgcdc_worker *w, const pgcdc_txn *txn, void *opaque)
{
    (void)w;
    return feed(opaque, txn, NULL, 1);
}

static int on_commit(pgcdc_worker *w, const pgcdc_txn *txn, void *opaque)
{
    (void)w;
    return feed(opaque, txn, NULL, 0);
}

static void set_options(pgcdc_formatter *f, const char *options)
{
    char k[64];
    char v[64];

    while (next_option(&options, k, v))
        assert_int_equal(pgcdc_formatter_set(f, k, v), PGCDC_OK);
}

static int numeric_type(const char *type, size_t n)
{
    static const char *const names[] = {"smallint", "integer", "bigint",          "oid",
                                        "real",     "numeric", "double precision"};

    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        size_t k = strlen(names[i]);

        if (n >= k && memcmp(type, names[i], k) == 0 && (n == k || type[k] == '('))
            return 1;
    }
    return 0;
}

/*
 * wal2json 2.6's numeric-data-types-as-string, for a plugin that predates
 * it: each number of a numeric type quoted as it is.  The plugin prints
 * NaN and the infinities as null without the option and as strings with it;
 * with fix_specials, such strings are turned back into null.
 */
static char *quote_numbers(const char *line, int fix_specials)
{
    char *out = malloc(strlen(line) * 2 + 1);
    const char *p = line;
    const char *t;
    size_t len = 0;

    assert_non_null(out);
    while ((t = strstr(p, "\"type\":\"")) != NULL) {
        const char *end = strchr(t + 8, '"');
        const char *v = strstr(end, ",\"value\":");
        size_t n;

        if (v == NULL || v > strchr(end, '}') || !numeric_type(t + 8, (size_t)(end - t - 8))) {
            memcpy(out + len, p, (size_t)(end - p));
            len += (size_t)(end - p);
            p = end;
            continue;
        }
        v += 9;
        n = strcspn(v, ",}");
        memcpy(out + len, p, (size_t)(v - p));
        len += (size_t)(v - p);
        if (fix_specials && (strncmp(v, "\"NaN\"", n) == 0 || strncmp(v, "\"Infinity\"", n) == 0 ||
                             strncmp(v, "\"-Infinity\"", n) == 0)) {
            memcpy(out + len, "null", 4);
            len += 4;
        } else if (!fix_specials && strncmp(v, "null", 4) != 0) {
            out[len++] = '"';
            memcpy(out + len, v, n);
            len += n;
            out[len++] = '"';
        } else {
            memcpy(out + len, v, n);
            len += n;
        }
        p = v + n;
    }
    strcpy(out + len, p);
    return out;
}

static void map_lines(lines *l, int fix_specials)
{
    for (size_t i = 0; i < l->n; i++) {
        char *m = quote_numbers(l->v[i], fix_specials);

        free(l->v[i]);
        l->v[i] = m;
    }
}

static const char *const options_schema =
    "CREATE DOMAIN posint AS int CHECK (VALUE > 0);"
    "CREATE TABLE ot (b int NOT NULL, a text NOT NULL, i2 int2, i4 int4 NOT NULL DEFAULT 0,"
    " i8 int8, o oid, f4 float4, f8 float8, n numeric, n2 numeric(10,2), pi posint, t text,"
    " big text, PRIMARY KEY (a, b));"
    "ALTER TABLE ot ALTER COLUMN big SET STORAGE EXTERNAL;"
    "CREATE TABLE nopk (x int, y text NOT NULL);"
    "ALTER TABLE nopk REPLICA IDENTITY FULL;"
    "CREATE TABLE ix (id int PRIMARY KEY, u int NOT NULL, v text);"
    "CREATE UNIQUE INDEX ix_u ON ix (u);"
    "ALTER TABLE ix REPLICA IDENTITY USING INDEX ix_u;"
    "CREATE PUBLICATION p_opts FOR ALL TABLES";

static void options_workload(const char *db)
{
    tl_sql(db,
           "BEGIN; INSERT INTO ot VALUES (1, 'a', -32768, 7, 9223372036854775807, 4294967295,"
           " 1.5, -0.25, 12345678901234567890.5, 99.99, 3, 'x', (SELECT string_agg(md5(g::text),"
           " '') FROM generate_series(1, 300) g)); INSERT INTO ot VALUES (2, 'b', NULL, 0,"
           " NULL, NULL, 'NaN', 'Infinity', 'NaN', -0.5, NULL, NULL, 'small'); COMMIT");
    /* Key unchanged, big an unchanged TOASTed value; then the key changed. */
    tl_sql(db, "UPDATE ot SET t = 'y' WHERE b = 1");
    tl_sql(db, "UPDATE ot SET b = 3 WHERE b = 2");
    tl_sql(db, "DELETE FROM ot WHERE b = 3");
    tl_sql(db, "BEGIN; INSERT INTO nopk VALUES (1, 'p'); UPDATE nopk SET x = 2; COMMIT");
    tl_sql(db, "DELETE FROM nopk");
    /* The identity is an index other than the primary key. */
    tl_sql(db, "INSERT INTO ix VALUES (1, 10, 'v')");
    tl_sql(db, "UPDATE ix SET v = 'w'");
    tl_sql(db, "UPDATE ix SET u = 11");
    tl_sql(db, "DELETE FROM ix");
    tl_sql(db, "TRUNCATE nopk, ix");
}

/*
 * Item 2: every option set through a formatter of its own in one run, and
 * include-not-null with include-pk through the sink's properties (which
 * make the worker read the catalog), each against the plugin.
 */
static void test_options_like_wal2json(void **state)
{
    const char *db = tl_fresh_db("t_w2j_opts");
    const char *tables = "ot,nopk,ix";
    pgcdc_config *cfg;
    outputs o;
    lines ours;
    lines real;
    lines a;
    lines b;
    char err[512];

    (void)state;
    if (!tl_have_wal2json(db, "test_options_like_wal2json"))
        skip();
    memset(&o, 0, sizeof(o));
    tl_sql(db, "%s", options_schema);
    cfg = config(db, "s_opts", "p_opts", "");
    tl_sql(db, "SELECT pg_create_logical_replication_slot('w_opts', 'wal2json')");
    options_workload(db);
    for (size_t k = 0; k < NSETS; k++) {
        o.f[k] = pgcdc_formatter_new(PGCDC_FORMAT_WAL2JSON, "t_w2j_opts");
        assert_non_null(o.f[k]);
        set_options(o.f[k], option_sets[k]);
    }
    pgcdc_config_set_change_cb(cfg, on_change, &o);
    pgcdc_config_set_begin_cb(cfg, on_begin, &o);
    pgcdc_config_set_commit_cb(cfg, on_commit, &o);
    run_sink(cfg, tl_current_lsn(db), SINK_OPTIONS, &ours);

    /* The sink's lines. */
    if (real_wal2json(db, "w_opts", SINK_OPTIONS, &real, err, sizeof(err)) != 0)
        fail_msg("wal2json: %s", err);
    keep(&ours, tables, &a);
    keep(&real, tables, &b);
    assert_int_equal(a.n, ours.n);
    compare("sink: " SINK_OPTIONS, &a, &b);
    assert_non_null(strstr(a.v[1], "\"optional\":false"));
    assert_non_null(strstr(a.v[1], "\"pk\":[{\"name\":\"b\",\"type\":\"integer\"},"
                                   "{\"name\":\"a\",\"type\":\"text\"}]"));
    lines_free(&a);
    lines_free(&b);
    lines_free(&ours);
    lines_free(&real);

    for (size_t k = 0; k < NSETS; k++) {
        const char *set = option_sets[k];
        int numstr = strstr(set, "numeric-data-types") != NULL;

        lines_split(o.buf[k], o.len[k], &ours);
        if (getenv("PGCDC_TEST_VERBOSE") != NULL) {
            for (size_t i = 0; i < ours.n; i++)
                fprintf(stderr, "%s: %s\n", set, ours.v[i]);
        }
        assert_true(ours.n >= 14);
        if (real_wal2json(db, "w_opts", set, &real, err, sizeof(err)) != 0) {
            /* wal2json before 2.6 lacks the option: its rule applied to the default lines. */
            if (!numstr || strstr(err, "numeric-data-types-as-string") == NULL)
                fail_msg("wal2json with %s: %s", set, err);
            assert_int_equal(real_wal2json(db, "w_opts", "", &real, err, sizeof(err)), 0);
            map_lines(&real, 0);
            assert_non_null(strstr(o.buf[k], "\"value\":\"NaN\""));
            assert_non_null(strstr(o.buf[k], "\"value\":\"Infinity\""));
            assert_non_null(strstr(o.buf[k], "\"value\":\"9223372036854775807\""));
            map_lines(&ours, 1);
        }
        keep(&ours, tables, &a);
        keep(&real, tables, &b);
        assert_int_equal(a.n, ours.n);
        compare(set, &a, &b);
        lines_free(&a);
        lines_free(&b);
        lines_free(&ours);
        lines_free(&real);
    }
    for (size_t k = 0; k < NSETS; k++) {
        pgcdc_formatter_free(o.f[k]);
        free(o.buf[k]);
    }
    pgcdc_config_free(cfg);
    tl_sql(db, "SELECT pg_drop_replication_slot('w_opts')");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_type_names),
        cmocka_unit_test(test_types_however_chosen),
        cmocka_unit_test(test_option_values),
        cmocka_unit_test(test_options_like_wal2json),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
