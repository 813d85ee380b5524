/*
 * The three formatters on a real server: a table with many column types run
 * through a worker, every line parsed with jansson and checked against what
 * the SQL wrote; the wal2json format compared object by object with the real
 * wal2json plugin reading the same changes from its own slot.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "testlib.h"
#include "../json_check.h"

/* ~9.6 kB of hex, stored out of line (the column's storage is EXTERNAL). */
#define BIG "(SELECT string_agg(md5(g::text), '') FROM generate_series(1, 300) g)"
#define PLACEHOLDER "__debezium_unavailable_value"

enum { F_JSON, F_DEBEZIUM, F_WAL2JSON, NFORMATS };

/* Output of the three formatters, each line appended as the worker hands it over. */
typedef struct sink {
    pgcdc_formatter *f[NFORMATS];
    char *buf[NFORMATS];
    size_t len[NFORMATS];
    size_t cap[NFORMATS];
} sink;

static void sink_put(sink *s, int k, const char *p, size_t n)
{
    if (s->len[k] + n + 1 > s->cap[k]) {
        s->cap[k] = (s->len[k] + n + 1) * 2;
        s->buf[k] = realloc(s->buf[k], s->cap[k]);
        assert_non_null(s->buf[k]);
    }
    memcpy(s->buf[k] + s->len[k], p, n);
    s->len[k] += n;
    s->buf[k][s->len[k]] = '\0';
}

static int on_change(pgcdc_worker *w, const pgcdc_change *c, void *opaque)
{
    sink *s = opaque;

    (void)w;
    for (int k = 0; k < NFORMATS; k++) {
        const char *out;
        size_t len;

        assert_int_equal(pgcdc_formatter_change(s->f[k], c, &out, &len), PGCDC_OK);
        sink_put(s, k, out, len);
    }
    return PGCDC_HANDLED;
}

static int on_begin(pgcdc_worker *w, const pgcdc_txn *txn, void *opaque)
{
    sink *s = opaque;

    (void)w;
    for (int k = 0; k < NFORMATS; k++) {
        const char *out;
        size_t len;

        assert_int_equal(pgcdc_formatter_begin(s->f[k], txn, &out, &len), PGCDC_OK);
        sink_put(s, k, out, len);
    }
    return PGCDC_HANDLED;
}

static int on_commit(pgcdc_worker *w, const pgcdc_txn *txn, void *opaque)
{
    sink *s = opaque;

    (void)w;
    for (int k = 0; k < NFORMATS; k++) {
        const char *out;
        size_t len;

        assert_int_equal(pgcdc_formatter_commit(s->f[k], txn, &out, &len), PGCDC_OK);
        sink_put(s, k, out, len);
    }
    return PGCDC_HANDLED;
}

static void run_formats(pgcdc_config *cfg, const char *dbname, uint64_t endpos, sink *s)
{
    static const pgcdc_format formats[NFORMATS] = {PGCDC_FORMAT_JSON, PGCDC_FORMAT_DEBEZIUM,
                                                   PGCDC_FORMAT_WAL2JSON};
    pgcdc_worker *w;

    memset(s, 0, sizeof(*s));
    for (int k = 0; k < NFORMATS; k++) {
        s->f[k] = pgcdc_formatter_new(formats[k], dbname);
        assert_non_null(s->f[k]);
    }
    pgcdc_config_set_endpos(cfg, endpos);
    pgcdc_config_set_change_cb(cfg, on_change, s);
    pgcdc_config_set_begin_cb(cfg, on_begin, s);
    pgcdc_config_set_commit_cb(cfg, on_commit, s);
    w = pgcdc_worker_new(cfg);
    assert_non_null(w);
    if (pgcdc_worker_start(w) != PGCDC_OK || pgcdc_worker_run(w) != PGCDC_OK)
        fail_msg("worker: %s", pgcdc_worker_errmsg(w));
    pgcdc_worker_free(w);
}

static void sink_free(sink *s)
{
    for (int k = 0; k < NFORMATS; k++) {
        pgcdc_formatter_free(s->f[k]);
        free(s->buf[k]);
    }
    memset(s, 0, sizeof(*s));
}

/* ---- parsed lines ---- */

typedef struct docs {
    json_t **v;
    char **raw; /* each line's text, for checks of exact number spelling */
    size_t n;
} docs;

static void docs_add(docs *d, json_t *doc, const char *raw, size_t len)
{
    d->v = realloc(d->v, (d->n + 1) * sizeof(*d->v));
    d->raw = realloc(d->raw, (d->n + 1) * sizeof(*d->raw));
    assert_non_null(d->v);
    assert_non_null(d->raw);
    d->v[d->n] = doc;
    d->raw[d->n] = strndup(raw, len);
    assert_non_null(d->raw[d->n]);
    d->n++;
}

/* Every line must be one JSON object (duplicate keys rejected). */
static void parse_lines(const char *buf, size_t len, docs *d)
{
    size_t pos = 0;

    memset(d, 0, sizeof(*d));
    if (len > 0)
        assert_int_equal(buf[len - 1], '\n');
    while (pos < len) {
        const char *nl = memchr(buf + pos, '\n', len - pos);
        size_t n = (size_t)(nl - (buf + pos));
        json_error_t err;
        json_t *doc;

        assert_non_null(nl);
        doc = json_loadb(buf + pos, n, JSON_REJECT_DUPLICATES, &err);
        if (doc == NULL || !json_is_object(doc))
            fail_msg("not a JSON object (%s): %.*s", err.text, (int)n, buf + pos);
        docs_add(d, doc, buf + pos, n);
        pos += n + 1;
    }
}

static void docs_free(docs *d)
{
    for (size_t i = 0; i < d->n; i++) {
        json_decref(d->v[i]);
        free(d->raw[i]);
    }
    free(d->v);
    free(d->raw);
    memset(d, 0, sizeof(*d));
}

static const char *str_at(json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);

    if (!json_is_string(v))
        fail_msg("\"%s\" is not a string", key);
    return json_string_value(v);
}

/* The raw line holds "key":value exactly (numbers as PostgreSQL printed them). */
static void assert_raw(const docs *d, size_t i, const char *fragment)
{
    if (strstr(d->raw[i], fragment) == NULL)
        fail_msg("line %zu lacks %s:\n%s", i, fragment, d->raw[i]);
}

/* ---- the real wal2json ---- */

static void read_wal2json(const char *conninfo, const char *slot, docs *d)
{
    PGconn *conn = tl_connect(conninfo);
    PGresult *res;
    char sql[256];

    /* Output functions run in this session: give it the worker's settings. */
    res = PQexec(conn, "SET timezone = 'UTC'; SET datestyle = 'ISO'; SET bytea_output = 'hex';"
                       "SET extra_float_digits = 1; SET intervalstyle = 'postgres'");
    assert_int_equal(PQresultStatus(res), PGRES_COMMAND_OK);
    PQclear(res);
    snprintf(sql, sizeof(sql),
             "SELECT data FROM pg_logical_slot_get_changes('%s', NULL, NULL, "
             "'format-version', '2')",
             slot);
    res = PQexec(conn, sql);
    if (PQresultStatus(res) != PGRES_TUPLES_OK)
        fail_msg("wal2json: %s", PQerrorMessage(conn));
    memset(d, 0, sizeof(*d));
    for (int i = 0; i < PQntuples(res); i++) {
        const char *text = PQgetvalue(res, i, 0);
        json_error_t err;
        json_t *doc = json_loads(text, JSON_REJECT_DUPLICATES, &err);

        if (doc == NULL)
            fail_msg("wal2json line is not JSON (%s): %s", err.text, text);
        docs_add(d, doc, text, strlen(text));
    }
    PQclear(res);
    PQfinish(conn);
}

/*
 * Keeps the transactions (B ... C) that changed one of our tables, as
 * [[{"doc": change, "raw": its line}, ...], ...]: PostgreSQL 15's pgoutput
 * skips transactions with nothing published while wal2json prints B and C
 * for every one (catalog-only ones too).
 */
static json_t *transactions(const docs *d)
{
    json_t *all = json_array();
    json_t *cur = NULL;

    for (size_t i = 0; i < d->n; i++) {
        const char *action = str_at(d->v[i], "action");

        if (strcmp(action, "B") == 0) {
            assert_null(cur);
            cur = json_array();
        } else if (strcmp(action, "C") == 0) {
            assert_non_null(cur);
            if (json_array_size(cur) > 0)
                json_array_append(all, cur);
            json_decref(cur);
            cur = NULL;
        } else {
            const char *table = str_at(d->v[i], "table");

            assert_non_null(cur);
            if (strcmp(table, "ft") == 0 || strcmp(table, "ft_full") == 0)
                json_array_append_new(cur, json_pack("{sOss}", "doc", d->v[i], "raw", d->raw[i]));
        }
    }
    assert_null(cur);
    return all;
}

static void drop_key(json_t *columns, const char *name)
{
    for (size_t i = 0; i < json_array_size(columns); i++) {
        if (strcmp(str_at(json_array_get(columns, i), "name"), name) == 0) {
            json_array_remove(columns, i);
            return;
        }
    }
    fail_msg("no column \"%s\" to drop", name);
}

/* ---- the workload ---- */

static const char *const schema_sql =
    "CREATE TYPE mood AS ENUM ('sad', 'happy', 'très \"quoted\"');"
    "CREATE TABLE ft (id int PRIMARY KEY, i2 int2, i8 int8, f4 float4, f8 float8, n numeric,"
    " n2 numeric(10,2), b bool, t text, vc varchar(10), c char(5), bin bytea, j json, jb jsonb,"
    " ia int[], ta text[], ts timestamp, tstz timestamptz, d date, u uuid, m mood, o oid,"
    " big text);"
    "ALTER TABLE ft ALTER COLUMN big SET STORAGE EXTERNAL;"
    "CREATE TABLE ft_full (id int PRIMARY KEY, v text, x float8, big text);"
    "ALTER TABLE ft_full REPLICA IDENTITY FULL;"
    "ALTER TABLE ft_full ALTER COLUMN big SET STORAGE EXTERNAL";

static void workload(const char *db)
{
    tl_sql(db, "INSERT INTO ft VALUES (1, -32768, 9223372036854775807, 1.5, 3.141592653589793,"
               " 12345678901234567890123456789.123456789012345678901234567890, 99.99, true,"
               " E'héllo 😀 \"q\" \\\\ \\n\\t\\x01 end', 'varchar', 'ab', '\\x0001ff00',"
               " E'{\"a\": [1, 2.5, {\"b\": null}],\\n \"c\": \"x\\\\u00e9\"}',"
               " '{\"k\": \"é\", \"n\": [true, false], \"z\": {\"deep\": [[1]]}}',"
               " '{1,2,NULL}', ARRAY['a', 'b c', NULL, 'q\"x'],"
               " '2026-11-24 22:00:00.123456', '2026-11-24 22:00:00.123456+02', '2026-11-24',"
               " 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', 'happy', 4294967295, " BIG ")");
    tl_sql(db, "INSERT INTO ft (id, i2, f4, f8, n, ts, tstz, d, m) VALUES (2, 0, '-Infinity',"
               " 'NaN', 'Infinity', 'infinity', '-infinity', '-infinity', 'très \"quoted\"')");
    tl_sql(db, "INSERT INTO ft (id, f4, f8, n, n2, i8, bin, j, jb, ia) VALUES (3, '-0', 1e100,"
               " 'NaN', -0.5, -9223372036854775808, '\\x', '[]', '\"s\"', '{}')");
    /* DEFAULT identity, key unchanged: big is an unchanged TOASTed value. */
    tl_sql(db, "UPDATE ft SET t = 'changed' WHERE id = 1");
    tl_sql(db, "UPDATE ft SET id = 20 WHERE id = 2");
    tl_sql(db, "DELETE FROM ft WHERE id = 3");
    tl_sql(db, "BEGIN; INSERT INTO ft_full VALUES (1, 'a', 1.5, " BIG ");"
               "INSERT INTO ft_full VALUES (2, NULL, 'NaN', 'small'); COMMIT");
    tl_sql(db, "UPDATE ft_full SET v = 'b' WHERE id = 1");
    tl_sql(db, "DELETE FROM ft_full WHERE id = 2");
    tl_sql(db, "TRUNCATE ft_full RESTART IDENTITY");
    tl_sql(db, "BEGIN; INSERT INTO ft (id, t) VALUES (4, 'x'); UPDATE ft SET t = 'y' WHERE id = 4;"
               "DELETE FROM ft WHERE id = 4; COMMIT");
}

#define NCHANGES 14

/* Native JSON, field by field against the SQL above. */
static void check_native(const docs *d, const char *big)
{
    static const char *const ops[NCHANGES] = {"INSERT",   "INSERT", "INSERT", "UPDATE", "UPDATE",
                                              "DELETE",   "INSERT", "INSERT", "UPDATE", "DELETE",
                                              "TRUNCATE", "INSERT", "UPDATE", "DELETE"};
    json_t *n1;
    json_t *n;

    assert_int_equal(d->n, NCHANGES);
    for (size_t i = 0; i < d->n; i++) {
        uint64_t lsn;
        const char *when = str_at(d->v[i], "commit_time");

        assert_string_equal(str_at(d->v[i], "op"), ops[i]);
        assert_string_equal(str_at(d->v[i], "schema"), "public");
        assert_int_equal(pgcdc_lsn_parse(str_at(d->v[i], "commit_lsn"), &lsn), PGCDC_OK);
        assert_true(int_at(d->v[i], "xid") > 0);
        assert_int_equal(strlen(when), 27);
        assert_int_equal(when[26], 'Z');
        assert_int_equal(when[10], 'T');
        assert_json(json_object_get(d->v[i], "pk"), "[\"id\"]");
    }
    n1 = json_object_get(d->v[0], "new");
    assert_json(json_object_get(d->v[0], "old"), "null");
    assert_true(int_at(n1, "i8") == INT64_MAX);
    assert_int_equal(int_at(n1, "i2"), -32768);
    assert_true(json_real_value(json_object_get(n1, "f4")) == 1.5);
    assert_true(json_real_value(json_object_get(n1, "f8")) == 3.141592653589793);
    assert_raw(d, 0, "\"n\":12345678901234567890123456789.123456789012345678901234567890,");
    assert_raw(d, 0, "\"n2\":99.99,");
    assert_json(json_object_get(n1, "b"), "true");
    assert_string_equal(str_at(n1, "t"), "héllo 😀 \"q\" \\ \n\t\x01 end");
    assert_string_equal(str_at(n1, "vc"), "varchar");
    assert_string_equal(str_at(n1, "c"), "ab   ");
    assert_string_equal(str_at(n1, "bin"), "0001ff00");
    assert_json(json_object_get(n1, "j"), "{\"a\":[1,2.5,{\"b\":null}],\"c\":\"xé\"}");
    assert_json(json_object_get(n1, "jb"),
                "{\"k\":\"é\",\"n\":[true,false],\"z\":{\"deep\":[[1]]}}");
    assert_string_equal(str_at(n1, "ia"), "{1,2,NULL}");
    assert_string_equal(str_at(n1, "ta"), "{a,\"b c\",NULL,\"q\\\"x\"}");
    assert_string_equal(str_at(n1, "ts"), "2026-11-24 22:00:00.123456");
    assert_string_equal(str_at(n1, "tstz"), "2026-11-24 20:00:00.123456+00");
    assert_string_equal(str_at(n1, "d"), "2026-11-24");
    assert_string_equal(str_at(n1, "u"), "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11");
    assert_string_equal(str_at(n1, "m"), "happy");
    assert_int_equal(int_at(n1, "o"), 4294967295LL);
    assert_string_equal(str_at(n1, "big"), big);
    assert_null(json_object_get(d->v[0], "unchanged_toast"));

    n = json_object_get(d->v[1], "new");
    assert_string_equal(str_at(n, "f4"), "-Infinity");
    assert_string_equal(str_at(n, "f8"), "NaN");
    assert_string_equal(str_at(n, "n"), "Infinity");
    assert_string_equal(str_at(n, "ts"), "infinity");
    assert_string_equal(str_at(n, "tstz"), "-infinity");
    assert_string_equal(str_at(n, "d"), "-infinity");
    assert_string_equal(str_at(n, "m"), "très \"quoted\"");
    assert_json(json_object_get(n, "t"), "null");
    assert_json(json_object_get(n, "big"), "null");
    assert_int_equal(json_object_size(n), 23);

    assert_raw(d, 2, "\"f4\":-0,\"f8\":1e+100,\"n\":\"NaN\",\"n2\":-0.50,");
    n = json_object_get(d->v[2], "new");
    assert_true(int_at(n, "i8") == INT64_MIN);
    assert_string_equal(str_at(n, "bin"), "");
    assert_json(json_object_get(n, "j"), "[]");
    assert_json(json_object_get(n, "jb"), "\"s\"");
    assert_string_equal(str_at(n, "ia"), "{}");
    /* The three inserts share nothing but the table; each is its own transaction. */
    assert_int_equal(int_at(d->v[0], "seq"), 0);
    assert_true(int_at(d->v[1], "xid") != int_at(d->v[0], "xid"));

    /* Unchanged TOAST: left out of "new" and named. */
    assert_json(json_object_get(d->v[3], "old"), "null");
    n = json_object_get(d->v[3], "new");
    assert_string_equal(str_at(n, "t"), "changed");
    assert_null(json_object_get(n, "big"));
    assert_int_equal(json_object_size(n), 22);
    assert_json(json_object_get(d->v[3], "unchanged_toast"), "[\"big\"]");
    /* Key changed: the old key only. */
    assert_json(json_object_get(d->v[4], "old"), "{\"id\":2}");
    assert_int_equal(int_at(json_object_get(d->v[4], "new"), "id"), 20);
    assert_json(json_object_get(d->v[5], "old"), "{\"id\":3}");
    assert_json(json_object_get(d->v[5], "new"), "null");
    /* Two inserts in one transaction; FULL identity; truncate. */
    assert_string_equal(str_at(d->v[6], "table"), "ft_full");
    assert_int_equal(int_at(d->v[7], "seq"), 1);
    assert_string_equal(str_at(d->v[6], "commit_lsn"), str_at(d->v[7], "commit_lsn"));
    assert_json(json_object_get(d->v[7], "new"),
                "{\"id\":2,\"v\":null,\"x\":\"NaN\",\"big\":\"small\"}");
    assert_string_equal(str_at(json_object_get(d->v[8], "old"), "big"), big);
    assert_string_equal(str_at(json_object_get(d->v[8], "new"), "big"), big);
    assert_null(json_object_get(d->v[8], "unchanged_toast"));
    assert_json(json_object_get(d->v[9], "old"),
                "{\"id\":2,\"v\":null,\"x\":\"NaN\",\"big\":\"small\"}");
    assert_json(json_object_get(d->v[10], "old"), "null");
    assert_json(json_object_get(d->v[10], "new"), "null");
    assert_json(json_object_get(d->v[10], "cascade"), "false");
    assert_json(json_object_get(d->v[10], "restart_identity"), "true");
    for (int i = 11; i < 14; i++) {
        assert_int_equal(int_at(d->v[i], "seq"), i - 11);
        assert_string_equal(str_at(d->v[i], "commit_lsn"), str_at(d->v[11], "commit_lsn"));
    }
    assert_json(json_object_get(d->v[13], "old"), "{\"id\":4}");
}

/*
 * Debezium: every column in before and after, placeholders for unchanged
 * TOAST, a source block with each change's own LSN.  Values, sequences and
 * transaction metadata: test_debezium.c.
 */
static void check_debezium(const docs *native, const docs *dbz)
{
    assert_int_equal(dbz->n, native->n);
    for (size_t i = 0; i < dbz->n; i++) {
        json_t *nat = native->v[i];
        json_t *ev = dbz->v[i];
        json_t *src = json_object_get(ev, "source");
        json_t *unchanged = json_object_get(nat, "unchanged_toast");
        const char *op = str_at(nat, "op");
        size_t ncols = strcmp(str_at(nat, "table"), "ft") == 0 ? 23 : 4;
        uint64_t lsn;
        char seq[64];

        for (int side = 0; side < 2; side++) {
            json_t *row = json_object_get(nat, side ? "new" : "old");
            json_t *dr = json_object_get(ev, side ? "after" : "before");
            const char *key;
            json_t *v;

            if (json_is_null(row)) {
                assert_json(dr, "null");
                continue;
            }
            assert_int_equal(json_object_size(dr), ncols);
            json_object_foreach(row, key, v)
            {
                /* Numbers stay numbers, text stays text, null stays null. */
                assert_int_equal(json_is_null(json_object_get(dr, key)), json_is_null(v));
            }
            for (size_t k = 0; side && k < json_array_size(unchanged); k++)
                assert_string_equal(str_at(dr, json_string_value(json_array_get(unchanged, k))),
                                    PLACEHOLDER);
        }
        assert_string_equal(str_at(ev, "op"), strcmp(op, "INSERT") == 0   ? "c"
                                              : strcmp(op, "UPDATE") == 0 ? "u"
                                              : strcmp(op, "DELETE") == 0 ? "d"
                                                                          : "t");
        assert_json(json_object_get(ev, "transaction"), "null");
        assert_true(int_at(ev, "ts_ms") >= int_at(src, "ts_ms"));
        assert_string_equal(str_at(src, "version"), PGCDC_VERSION_STRING);
        assert_string_equal(str_at(src, "connector"), "postgresql");
        assert_string_equal(str_at(src, "name"), "pgcdc");
        assert_string_equal(str_at(src, "snapshot"), "false");
        assert_string_equal(str_at(src, "db"), "t_formats");
        assert_string_equal(str_at(src, "schema"), "public");
        assert_string_equal(str_at(src, "table"), str_at(nat, "table"));
        assert_int_equal(int_at(src, "txId"), int_at(nat, "xid"));
        /* The change's own LSN: before its commit's. */
        assert_int_equal(pgcdc_lsn_parse(str_at(nat, "commit_lsn"), &lsn), PGCDC_OK);
        assert_true((uint64_t)int_at(src, "lsn") > 0 && (uint64_t)int_at(src, "lsn") < lsn);
        snprintf(seq, sizeof(seq), ",\"%lld\"]", (long long)int_at(src, "lsn"));
        assert_non_null(strstr(str_at(src, "sequence"), seq));
        assert_json(json_object_get(src, "xmin"), "null");
        /* Commit time in ms: within a day of now. */
        assert_true(int_at(ev, "ts_ms") - int_at(src, "ts_ms") < 86400000);
        /* Changes of one transaction each have their own LSN (6-7, 11-13). */
        if (i == 7 || i == 12 || i == 13)
            assert_true(int_at(src, "lsn") >
                        int_at(json_object_get(dbz->v[i - 1], "source"), "lsn"));
    }
    assert_string_equal(str_at(json_object_get(dbz->v[3], "after"), "big"), PLACEHOLDER);
}

/*
 * pgcdc's wal2json format against the real plugin, transaction by
 * transaction, object by object and byte by byte.  One deviation is known:
 * under REPLICA IDENTITY FULL pgcdc fills an unchanged TOASTed value of the
 * new row from the old row, so its "columns" has the value where wal2json
 * (which sees only the TOAST pointer) leaves the column out.  It is undone
 * here before comparing the objects (and that line is not compared as text).
 */
static void check_wal2json(const docs *ours, const docs *real)
{
    json_t *a = transactions(ours);
    json_t *b = transactions(real);

    assert_int_equal(json_array_size(a), 11);
    assert_int_equal(json_array_size(b), json_array_size(a));
    /* Transaction 7: the FULL update. */
    drop_key(
        json_object_get(json_object_get(json_array_get(json_array_get(a, 7), 0), "doc"), "columns"),
        "big");
    for (size_t t = 0; t < json_array_size(a); t++) {
        json_t *ta = json_array_get(a, t);
        json_t *tb = json_array_get(b, t);

        assert_int_equal(json_array_size(ta), json_array_size(tb));
        for (size_t i = 0; i < json_array_size(ta); i++) {
            json_t *x = json_array_get(ta, i);
            json_t *y = json_array_get(tb, i);
            const char *rx = str_at(x, "raw");
            const char *ry = str_at(y, "raw");

            if (!json_equal(json_object_get(x, "doc"), json_object_get(y, "doc")))
                fail_msg("transaction %zu change %zu differs\npgcdc:    %s\nwal2json: %s", t, i, rx,
                         ry);
            if (t != 7 && strcmp(rx, ry) != 0)
                fail_msg("transaction %zu change %zu differs in text\npgcdc:    %s\n"
                         "wal2json: %s",
                         t, i, rx, ry);
        }
    }
    json_decref(a);
    json_decref(b);
}

static void test_formats_all_types(void **state)
{
    const char *db = tl_fresh_db("t_formats");
    pgcdc_config *cfg;
    tl_log log = {0};
    sink s;
    docs native;
    docs dbz;
    docs ours;
    docs real;
    char *big;

    (void)state;
    if (!tl_have_wal2json(db, "test_formats_all_types"))
        skip();
    tl_sql(db, "%s", schema_sql);
    cfg = tl_config(db, "s_formats", "p_formats", "ft,ft_full");
    /* Creates the publication and the slot. */
    assert_int_equal(tl_run_until(cfg, tl_current_lsn(db), &log), PGCDC_OK);
    tl_log_free(&log);
    tl_sql(db, "SELECT pg_create_logical_replication_slot('w_formats', 'wal2json')");
    workload(db);
    run_formats(cfg, "t_formats", tl_current_lsn(db), &s);

    big = tl_sql_value(db, "SELECT %s", BIG);
    assert_non_null(big);
    parse_lines(s.buf[F_JSON], s.len[F_JSON], &native);
    parse_lines(s.buf[F_DEBEZIUM], s.len[F_DEBEZIUM], &dbz);
    parse_lines(s.buf[F_WAL2JSON], s.len[F_WAL2JSON], &ours);
    read_wal2json(db, "w_formats", &real);
    if (getenv("PGCDC_TEST_VERBOSE") != NULL) {
        fprintf(stderr, "--- json\n%s--- debezium\n%s--- wal2json format\n%s--- wal2json\n",
                s.buf[F_JSON], s.buf[F_DEBEZIUM], s.buf[F_WAL2JSON]);
        for (size_t i = 0; i < real.n; i++)
            fprintf(stderr, "%s\n", real.raw[i]);
    }
    check_native(&native, big);
    check_debezium(&native, &dbz);
    /* 14 changes in 11 transactions (B and C each). */
    assert_int_equal(ours.n, NCHANGES + 2 * 11);
    check_wal2json(&ours, &real);

    docs_free(&native);
    docs_free(&dbz);
    docs_free(&ours);
    docs_free(&real);
    free(big);
    sink_free(&s);
    tl_sql(db, "SELECT pg_drop_replication_slot('w_formats')");
    pgcdc_config_free(cfg);
}

/*
 * A SQL_ASCII database stores bytes that are not UTF-8; the output is valid
 * UTF-8 all the same, with U+FFFD for each bad sequence.
 */
static void test_invalid_utf8(void **state)
{
    const char *db = tl_fresh_db("t_fmt_ascii");
    pgcdc_config *cfg;
    tl_log log = {0};
    sink s;
    docs d[NFORMATS];
    json_t *n;

    (void)state;
    tl_sql("dbname=postgres", "DROP DATABASE t_fmt_ascii");
    tl_sql("dbname=postgres", "CREATE DATABASE t_fmt_ascii ENCODING 'SQL_ASCII' LC_COLLATE 'C'"
                              " LC_CTYPE 'C' TEMPLATE template0");
    tl_sql(db, "CREATE TABLE a (id int PRIMARY KEY, v text, j json)");
    cfg = tl_config(db, "s_fmt_ascii", "p_fmt_ascii", "a");
    assert_int_equal(tl_run_until(cfg, tl_current_lsn(db), &log), PGCDC_OK);
    tl_log_free(&log);
    tl_sql(db, "INSERT INTO a VALUES (1, E'ok \\xff \\xc0\\x80 \\xed\\xa0\\x80 caf\\xc3\\xa9"
               " end \\xe2\\x82', E'{\"k\": \"a\\xffb\"}')");
    run_formats(cfg, "t_fmt_ascii", tl_current_lsn(db), &s);
    for (int k = 0; k < NFORMATS; k++)
        parse_lines(s.buf[k], s.len[k], &d[k]);
    assert_int_equal(d[F_JSON].n, 1);
    n = json_object_get(d[F_JSON].v[0], "new");
    assert_string_equal(str_at(n, "v"), "ok \xEF\xBF\xBD \xEF\xBF\xBD\xEF\xBF\xBD "
                                        "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD café end "
                                        "\xEF\xBF\xBD");
    assert_json(json_object_get(n, "j"), "{\"k\":\"a\xEF\xBF\xBD"
                                         "b\"}");
    assert_int_equal(d[F_DEBEZIUM].n, 1);
    assert_int_equal(d[F_WAL2JSON].n, 3);
    for (int k = 0; k < NFORMATS; k++)
        docs_free(&d[k]);
    sink_free(&s);
    pgcdc_config_free(cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_formats_all_types),
        cmocka_unit_test(test_invalid_utf8),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
