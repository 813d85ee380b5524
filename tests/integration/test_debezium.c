/*
 * Debezium events from a real server, through a sink of the debezium
 * format: each change's LSN, xid and commit time and the end LSN of the
 * commit before, against what test_decoding reports for the same
 * transactions; the transaction metadata; each type's encoding against
 * values PostgreSQL computes from the same rows; the decimal modes; the
 * unchanged-TOAST placeholder; the schema block with the catalog's NOT NULL.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "testlib.h"
#include "../json_check.h"

#define PLACEHOLDER "__debezium_unavailable_value"
/* ~9.6 kB, stored out of line (the columns' storage is EXTERNAL). */
#define BIG "(SELECT string_agg(md5(g::text), '') FROM generate_series(1, 300) g)"

/* The sink: every event's lines, parsed, and each change's key (null when it has none). */
typedef struct lines_sink {
    json_t *lines;
    json_t *keys;
} lines_sink;

static int lines_open(pgcdc_sink *sink, const char *uri)
{
    (void)uri;
    pgcdc_sink_set_state(sink, pgcdc_sink_opaque(sink));
    return PGCDC_OK;
}

static int lines_write(pgcdc_sink *sink, const pgcdc_sink_event *ev)
{
    lines_sink *s = pgcdc_sink_state(sink);
    const char *data;
    size_t len;
    size_t pos = 0;

    assert_int_equal(pgcdc_sink_format(sink), PGCDC_FORMAT_DEBEZIUM);
    if (pgcdc_sink_event_kind(ev) == PGCDC_EVENT_CHANGE) {
        const char *key;
        size_t klen;
        json_error_t err;
        json_t *doc = json_null();

        assert_int_equal(pgcdc_sink_event_key(ev, &key, &klen), PGCDC_OK);
        if (klen > 0 && (doc = json_loadb(key, klen, JSON_REJECT_DUPLICATES, &err)) == NULL)
            fail_msg("key not JSON (%s): %.*s", err.text, (int)klen, key);
        json_array_append_new(s->keys, doc);
    }
    assert_int_equal(pgcdc_sink_event_data(ev, &data, &len), PGCDC_OK);
    while (pos < len) {
        const char *nl = memchr(data + pos, '\n', len - pos);
        json_error_t err;
        json_t *doc;

        assert_non_null(nl);
        doc = json_loadb(data + pos, (size_t)(nl - data - pos), JSON_REJECT_DUPLICATES, &err);
        if (doc == NULL)
            fail_msg("not JSON (%s): %.*s", err.text, (int)(nl - data - pos), data + pos);
        json_array_append_new(s->lines, doc);
        pos = (size_t)(nl - data) + 1;
    }
    return PGCDC_HANDLED;
}

static const pgcdc_sink_ops lines_ops = {
    .abi = PGCDC_SINK_ABI,
    .kind = "lines",
    .open = lines_open,
    .write = lines_write,
};

/*
 * Runs a worker on slot up to end with the Debezium options given; returns
 * its lines, and the changes' keys in *keys (when not NULL).
 */
static json_t *run_keyed(const char *db, const char *slot, const char *tables, uint64_t end,
                         const char *const *opts, json_t **keys)
{
    pgcdc_config *cfg = tl_config(db, slot, "p_dbz", tables);
    lines_sink s = {json_array(), json_array()};
    char err[256];
    pgcdc_worker *w;

    assert_int_equal(pgcdc_config_set(cfg, "format", "debezium", err, sizeof(err)), PGCDC_OK);
    for (size_t i = 0; opts != NULL && opts[i] != NULL; i += 2) {
        if (pgcdc_config_set(cfg, opts[i], opts[i + 1], err, sizeof(err)) != PGCDC_OK)
            fail_msg("%s: %s", opts[i], err);
    }
    assert_int_equal(pgcdc_config_add_sink_ops(cfg, &lines_ops, "lines:", &s), PGCDC_OK);
    pgcdc_config_set_endpos(cfg, end);
    w = pgcdc_worker_new(cfg);
    assert_non_null(w);
    if (pgcdc_worker_start(w) != PGCDC_OK || pgcdc_worker_run(w) != PGCDC_OK)
        fail_msg("worker: %s", pgcdc_worker_errmsg(w));
    pgcdc_worker_free(w);
    pgcdc_config_free(cfg);
    if (keys != NULL)
        *keys = s.keys;
    else
        json_decref(s.keys);
    return s.lines;
}

static json_t *run(const char *db, const char *slot, const char *tables, uint64_t end,
                   const char *const *opts)
{
    return run_keyed(db, slot, tables, end, opts, NULL);
}

/* ---- small readers ---- */

static const char *str_at(json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);

    if (!json_is_string(v))
        fail_msg("\"%s\" is not a string", key);
    return json_string_value(v);
}

/* A value computed by the server, as JSON text. */
static void assert_sql(json_t *got, const char *db, const char *sql)
{
    char *want = tl_sql_value(db, "%s", sql);

    if (want == NULL)
        fail_msg("no value for %s", sql);
    assert_json(got, want);
    free(want);
}

/* The signed big-endian integer of a base64 string (at most 8 bytes). */
static long long base64_int(const char *text)
{
    static const char abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    unsigned char bytes[16] = {0};
    size_t n = 0;
    unsigned acc = 0;
    int bits = 0;
    long long v;

    for (const char *p = text; *p != '\0' && *p != '='; p++) {
        const char *at = strchr(abc, *p);

        assert_non_null(at);
        acc = (acc << 6) | (unsigned)(at - abc);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            assert_true(n < 8);
            bytes[n++] = (unsigned char)(acc >> bits);
        }
    }
    assert_true(n > 0);
    v = (signed char)bytes[0];
    for (size_t i = 1; i < n; i++)
        v = v * 256 + bytes[i];
    return v;
}

static long long sql_int(const char *db, const char *sql)
{
    char *text = tl_sql_value(db, "%s", sql);
    long long v;

    assert_non_null(text);
    v = strtoll(text, NULL, 10);
    free(text);
    return v;
}

/* ---- what test_decoding says of the same transactions ---- */

typedef struct td_txn {
    unsigned xid;
    unsigned long long begin_lsn, end_lsn;
    unsigned long long lsns[8];
    char tables[8][32];
    int n;
    char committed[64]; /* the commit time as the server printed it */
} td_txn;

static unsigned long long lsn_of(const char *text)
{
    uint64_t lsn = 0;

    assert_int_equal(pgcdc_lsn_parse(text, &lsn), PGCDC_OK);
    return lsn;
}

static int read_test_decoding(const char *db, td_txn *txns, int max)
{
    PGconn *conn = tl_connect(db);
    PGresult *res = PQexec(conn, "SELECT lsn, xid, data FROM pg_logical_slot_peek_changes("
                                 "'td_dbz', NULL, NULL, 'include-timestamp', '1', "
                                 "'skip-empty-xacts', '1')");
    int n = -1;

    assert_int_equal(PQresultStatus(res), PGRES_TUPLES_OK);
    for (int r = 0; r < PQntuples(res); r++) {
        const char *data = PQgetvalue(res, r, 2);

        if (strncmp(data, "BEGIN", 5) == 0) {
            assert_true(++n < max);
            memset(&txns[n], 0, sizeof(txns[n]));
            txns[n].xid = (unsigned)strtoul(PQgetvalue(res, r, 1), NULL, 10);
            txns[n].begin_lsn = lsn_of(PQgetvalue(res, r, 0));
        } else if (strncmp(data, "COMMIT", 6) == 0) {
            const char *at = strstr(data, "(at ");

            txns[n].end_lsn = lsn_of(PQgetvalue(res, r, 0));
            assert_non_null(at);
            snprintf(txns[n].committed, sizeof(txns[n].committed), "%.*s",
                     (int)(strlen(at + 4) - 1), at + 4);
        } else {
            /* "table public.dt: INSERT: ..." */
            assert_true(txns[n].n < 8);
            txns[n].lsns[txns[n].n] = lsn_of(PQgetvalue(res, r, 0));
            sscanf(data, "table %31[^:]", txns[n].tables[txns[n].n]);
            txns[n].n++;
        }
    }
    PQclear(res);
    PQfinish(conn);
    return n + 1;
}

/* ---- the workload ---- */

static const char *const schema_sql =
    "CREATE TABLE dt (id int PRIMARY KEY, n numeric(10,2) NOT NULL, nv numeric, m money,"
    " bin bytea, d date, t time, t3 time(3), tz timetz, ts timestamp, ts3 timestamp(3),"
    " tstz timestamptz, tstz0 timestamptz(0), iv interval, iv2 interval, b1 bit(1),"
    " b11 bit(11), vb varbit(20), ia int[], ta text[], da date[], j json, jb jsonb, u uuid,"
    " f8 float8, bo bool, big text, bbig bytea);"
    "ALTER TABLE dt ALTER COLUMN big SET STORAGE EXTERNAL;"
    "ALTER TABLE dt ALTER COLUMN bbig SET STORAGE EXTERNAL;"
    "CREATE TABLE other (id int PRIMARY KEY, v text)";

static void workload(const char *db, int hstore)
{
    tl_sql(db, "SET lc_monetary = 'C'; INSERT INTO dt VALUES (1, -1234.50, 12.3400, -1234.56,"
               " '\\x0001ff00', '2026-11-24', '12:34:56.789012', '12:34:56.789',"
               " '12:34:56.5+02', '2026-11-24 22:00:00.123456', '2026-11-24 22:00:00.123',"
               " '2026-11-24 22:00:00.1+00', '2026-11-24 23:00:00+01',"
               " '1 year 2 mons 3 days 04:05:06.789', '-1 years -2 mons +3 days -04:05:06.25',"
               " B'1', B'10000000101', B'00000000000100000000', '{1,NULL,3}',"
               " ARRAY['a', 'b c', NULL, 'q\"x'], '{2026-11-24,1999-12-31}',"
               " '{\"a\": [1, 2]}', '{\"k\": \"é\"}', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',"
               " 1.5, true, " BIG ", decode(" BIG ", 'hex'))");
    /* One transaction, two tables, interleaved: unchanged TOAST in the update. */
    tl_sql(db, "BEGIN; INSERT INTO other VALUES (1, 'a'); UPDATE dt SET f8 = 2.5 WHERE id = 1;"
               "INSERT INTO other VALUES (2, 'b'); INSERT INTO dt (id, n) VALUES (2, 0); COMMIT");
    tl_sql(db, "DELETE FROM dt WHERE id = 2");
    if (hstore)
        tl_sql(db, "INSERT INTO hs VALUES (1, 'a=>1, \"b c\"=>NULL, \"q\\\"x\"=>\"y\\\\z\"')");
}

/* Source blocks, sequences and the transaction metadata against test_decoding. */
static void check_positions(const char *db, json_t *lines, const td_txn *txns, int ntxns)
{
    size_t k = 0;
    unsigned long long prev = 0;

    for (int t = 0; t < ntxns; t++) {
        const td_txn *x = &txns[t];
        json_t *begin = json_array_get(lines, k++);
        json_t *end;
        char want[128];
        char sql[256];
        long long ms;
        int counts[8] = {0};

        snprintf(want, sizeof(want), "%u:%llu", x->xid, x->begin_lsn);
        assert_string_equal(str_at(begin, "status"), "BEGIN");
        if (tl_server_version(db) >= 150000) {
            assert_string_equal(str_at(begin, "id"), want);
        } else {
            /*
             * Before PostgreSQL 15 pgoutput sends BEGIN at the transaction's
             * first record, test_decoding (skipping empty ones) at its first change.
             */
            unsigned xid = 0;
            unsigned long long at = 0;

            assert_int_equal(sscanf(str_at(begin, "id"), "%u:%llu", &xid, &at), 2);
            assert_int_equal(xid, x->xid);
            assert_true(at <= x->begin_lsn);
        }
        snprintf(sql, sizeof(sql), "SELECT floor(extract(epoch FROM '%s'::timestamptz) * 1000)",
                 x->committed);
        ms = sql_int(db, sql);
        assert_int_equal(int_at(begin, "ts_ms"), ms);
        for (int i = 0; i < x->n; i++) {
            json_t *ev = json_array_get(lines, k++);
            json_t *src = json_object_get(ev, "source");
            json_t *block = json_object_get(ev, "transaction");
            int same = 0;

            assert_non_null(src);
            assert_int_equal(int_at(src, "lsn"), (long long)x->lsns[i]);
            assert_int_equal(int_at(src, "txId"), (long long)x->xid);
            assert_int_equal(int_at(src, "ts_ms"), ms);
            assert_true(int_at(src, "ts_us") / 1000 == ms);
            assert_string_equal(str_at(src, "snapshot"), "false");
            if (prev == 0)
                snprintf(want, sizeof(want), "[null,\"%llu\"]", x->lsns[i]);
            else
                snprintf(want, sizeof(want), "[\"%llu\",\"%llu\"]", prev, x->lsns[i]);
            assert_string_equal(str_at(src, "sequence"), want);
            snprintf(want, sizeof(want), "%s.%s", str_at(src, "schema"), str_at(src, "table"));
            assert_string_equal(want, x->tables[i]);
            /* Each table's own count within the transaction. */
            for (int p = 0; p <= i; p++)
                same += strcmp(x->tables[p], x->tables[i]) == 0;
            counts[i] = same;
            snprintf(want, sizeof(want), "%u:%llu", x->xid, x->lsns[i]);
            assert_string_equal(str_at(block, "id"), want);
            assert_int_equal(int_at(block, "total_order"), i + 1);
            assert_int_equal(int_at(block, "data_collection_order"), counts[i]);
        }
        end = json_array_get(lines, k++);
        snprintf(want, sizeof(want), "%u:%llu", x->xid, x->end_lsn);
        assert_string_equal(str_at(end, "status"), "END");
        assert_string_equal(str_at(end, "id"), want);
        assert_int_equal(int_at(end, "event_count"), x->n);
        prev = x->end_lsn;
    }
    assert_int_equal(k, json_array_size(lines));
}

/* Each column of the first insert against the server's own arithmetic on the row. */
static void check_values(const char *db, json_t *a)
{
    char *bbig;

    assert_int_equal(base64_int(str_at(a, "n")),
                     sql_int(db, "SELECT n * 100 FROM dt WHERE id = 1"));
    assert_int_equal(int_at(json_object_get(a, "nv"), "scale"),
                     sql_int(db, "SELECT scale(trim_scale(nv)) FROM dt WHERE id = 1"));
    assert_int_equal(base64_int(str_at(json_object_get(a, "nv"), "value")),
                     sql_int(db, "SELECT trim_scale(nv) * 10 ^ scale(trim_scale(nv)) FROM dt"
                                 " WHERE id = 1"));
    assert_int_equal(base64_int(str_at(a, "m")),
                     sql_int(db, "SELECT m::numeric * 100 FROM dt WHERE id = 1"));
    assert_sql(json_object_get(a, "bin"), db,
               "SELECT to_json(encode(bin, 'base64')) FROM dt WHERE id = 1");
    assert_sql(json_object_get(a, "d"), db, "SELECT d - date '1970-01-01' FROM dt WHERE id = 1");
    assert_sql(json_object_get(a, "t"), db,
               "SELECT (extract(epoch FROM t) * 1000000)::bigint FROM dt WHERE id = 1");
    assert_sql(json_object_get(a, "t3"), db,
               "SELECT (extract(epoch FROM t3) * 1000)::bigint FROM dt WHERE id = 1");
    assert_sql(json_object_get(a, "tz"), db,
               "SELECT to_json(regexp_replace((tz AT TIME ZONE 'UTC')::text, '\\+00$', 'Z'))"
               " FROM dt WHERE id = 1");
    assert_sql(json_object_get(a, "ts"), db,
               "SELECT (extract(epoch FROM ts) * 1000000)::bigint FROM dt WHERE id = 1");
    assert_sql(json_object_get(a, "ts3"), db,
               "SELECT (extract(epoch FROM ts3) * 1000)::bigint FROM dt WHERE id = 1");
    assert_sql(json_object_get(a, "tstz"), db,
               "SELECT to_json(to_char(tstz AT TIME ZONE 'UTC', "
               "'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')) FROM dt WHERE id = 1");
    assert_sql(json_object_get(a, "tstz0"), db,
               "SELECT to_json(to_char(tstz0 AT TIME ZONE 'UTC', "
               "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')) FROM dt WHERE id = 1");
    /* MicroDuration: months of 30.4375 days, in doubles, one operation at a time, truncated. */
    for (int k = 0; k < 2; k++) {
        char sql[1024];
        const char *c = k == 0 ? "iv" : "iv2";

        snprintf(sql, sizeof(sql),
                 "SELECT trunc((((((extract(year FROM %s) * 12 + extract(month FROM %s))::float8"
                 " * 30.4375::float8 + extract(day FROM %s)::float8) * 24::float8"
                 " + extract(hour FROM %s)::float8) * 60::float8 + extract(minute FROM %s)::float8)"
                 " * 60::float8 + extract(second FROM %s)::float8) * 1e6::float8)::bigint"
                 " FROM dt WHERE id = 1",
                 c, c, c, c, c, c);
        assert_sql(json_object_get(a, c), db, sql);
    }
    assert_json(json_object_get(a, "b1"), "true");
    /* Bits: the number, little-endian, in the bytes it needs. */
    assert_int_equal(sql_int(db, "SELECT b11::int FROM dt WHERE id = 1"), 0x405);
    assert_string_equal(str_at(a, "b11"), "BQQ=");
    assert_int_equal(sql_int(db, "SELECT vb::bit(20)::int FROM dt WHERE id = 1"), 0x100);
    assert_string_equal(str_at(a, "vb"), "AAE=");
    assert_sql(json_object_get(a, "ia"), db, "SELECT array_to_json(ia) FROM dt WHERE id = 1");
    assert_sql(json_object_get(a, "ta"), db, "SELECT array_to_json(ta) FROM dt WHERE id = 1");
    assert_sql(json_object_get(a, "da"), db,
               "SELECT json_agg(x - date '1970-01-01') FROM dt, unnest(da) x WHERE id = 1");
    assert_sql(json_object_get(a, "j"), db, "SELECT to_json(j::text) FROM dt WHERE id = 1");
    assert_sql(json_object_get(a, "jb"), db, "SELECT to_json(jb::text) FROM dt WHERE id = 1");
    assert_sql(json_object_get(a, "u"), db, "SELECT to_json(u::text) FROM dt WHERE id = 1");
    assert_json(json_object_get(a, "f8"), "1.5");
    assert_json(json_object_get(a, "bo"), "true");
    assert_sql(json_object_get(a, "big"), db, "SELECT to_json(big) FROM dt WHERE id = 1");
    bbig = tl_sql_value(db, "SELECT replace(encode(bbig, 'base64'), E'\\n', '') FROM dt");
    assert_non_null(bbig);
    assert_string_equal(str_at(a, "bbig"), bbig);
    free(bbig);
}

/* The change events alone (BEGIN and END dropped). */
static json_t *changes_of(json_t *lines)
{
    json_t *out = json_array();
    size_t i;
    json_t *o;

    json_array_foreach(lines, i, o)
    {
        if (json_object_get(o, "status") == NULL)
            json_array_append(out, o);
    }
    return out;
}

static json_t *field_of(json_t *schema, const char *name)
{
    size_t i;
    json_t *fld;

    json_array_foreach(json_object_get(schema, "fields"), i, fld)
    {
        if (strcmp(str_at(fld, "field"), name) == 0)
            return fld;
    }
    fail_msg("no field \"%s\"", name);
    return NULL;
}

static void test_debezium_events(void **state)
{
    static const char *const txn_opts[] = {"debezium.provide.transaction.metadata", "true", NULL};
    static const char *const as_string[] = {"debezium.decimal.handling.mode", "string", NULL};
    static const char *const as_double[] = {"debezium.decimal.handling.mode", "double", NULL};
    static const char *const schemas[] = {"debezium.schemas.enable", "true", NULL};
    static const char *const slots[] = {"s_dbz_a", "s_dbz_b", "s_dbz_c", "s_dbz_d"};
    const char *db = tl_fresh_db("t_debezium");
    char *avail = tl_sql_value(db, "SELECT count(*) FROM pg_available_extensions"
                                   " WHERE name = 'hstore'");
    int hstore = avail != NULL && strcmp(avail, "1") == 0;
    const char *tables = hstore ? "dt,other,hs" : "dt,other";
    td_txn txns[8];
    int ntxns;
    json_t *lines[4];
    json_t *ch[4];
    json_t *a;
    json_t *schema;
    json_t *value;
    uint64_t end;
    char msg[256];

    (void)state;
    free(avail);
    tl_sql(db, "%s", schema_sql);
    if (hstore)
        tl_sql(db, "CREATE EXTENSION hstore; CREATE TABLE hs (id int PRIMARY KEY, h hstore)");
    for (int i = 0; i < 4; i++) {
        pgcdc_config *cfg = tl_config(db, slots[i], "p_dbz", tables);

        if (tl_start_only(cfg, msg, sizeof(msg)) != PGCDC_OK)
            fail_msg("start: %s", msg);
        pgcdc_config_free(cfg);
    }
    tl_sql(db, "SELECT pg_create_logical_replication_slot('td_dbz', 'test_decoding')");
    workload(db, hstore);
    end = tl_current_lsn(db);
    lines[0] = run(db, slots[0], tables, end, txn_opts);
    lines[1] = run(db, slots[1], tables, end, as_string);
    lines[2] = run(db, slots[2], tables, end, as_double);
    lines[3] = run(db, slots[3], tables, end, schemas);
    ntxns = read_test_decoding(db, txns, 8);
    if (getenv("PGCDC_TEST_VERBOSE") != NULL) {
        for (int i = 0; i < 4; i++) {
            char *text = json_dumps(lines[i], JSON_COMPACT);

            fprintf(stderr, "--- run %d\n%s\n", i, text);
            free(text);
        }
    }

    /* Transactions 1 insert, 4 changes on two tables, 1 delete (and the hstore insert). */
    assert_int_equal(ntxns, hstore ? 4 : 3);
    assert_int_equal(txns[1].n, 4);
    check_positions(db, lines[0], txns, ntxns);
    for (int i = 0; i < 4; i++)
        ch[i] = changes_of(lines[i]);
    for (int i = 1; i < 4; i++) {
        assert_int_equal(json_array_size(ch[i]), json_array_size(ch[0]));
        assert_int_equal(json_array_size(lines[i]), json_array_size(ch[i]));
    }

    a = json_object_get(json_array_get(ch[0], 0), "after");
    check_values(db, a);
    /* The update left the TOASTed columns alone: placeholders, text and bytes. */
    a = json_object_get(json_array_get(ch[0], 2), "after");
    assert_json(json_object_get(json_array_get(ch[0], 2), "before"), "null");
    assert_string_equal(str_at(a, "big"), PLACEHOLDER);
    assert_string_equal(str_at(a, "bbig"), "X19kZWJleml1bV91bmF2YWlsYWJsZV92YWx1ZQ==");
    assert_json(json_object_get(a, "f8"), "2.5");
    /* The delete's old key: every column, the others null. */
    a = json_object_get(json_array_get(ch[0], 5), "before");
    assert_int_equal(json_object_size(a), 28);
    assert_json(json_object_get(a, "id"), "2");
    assert_json(json_object_get(a, "n"), "null");
    assert_json(json_object_get(json_array_get(ch[0], 5), "after"), "null");
    if (hstore) {
        /* hstore.handling.mode json: the object's text, in the server's order. */
        json_t *h =
            json_loads(str_at(json_object_get(json_array_get(ch[0], 6), "after"), "h"), 0, NULL);

        assert_sql(h, db, "SELECT hstore_to_json(h) FROM hs");
        json_decref(h);
    }

    /* decimal.handling.mode string and double. */
    a = json_object_get(json_array_get(ch[1], 0), "after");
    assert_sql(json_object_get(a, "n"), db, "SELECT to_json(n::text) FROM dt WHERE id = 1");
    assert_sql(json_object_get(a, "nv"), db, "SELECT to_json(nv::text) FROM dt WHERE id = 1");
    assert_sql(json_object_get(a, "m"), db,
               "SELECT to_json(m::numeric::text) FROM dt WHERE id = 1");
    a = json_object_get(json_array_get(ch[2], 0), "after");
    assert_sql(json_object_get(a, "n"), db, "SELECT n::float8 FROM dt WHERE id = 1");
    assert_sql(json_object_get(a, "nv"), db, "SELECT nv::float8 FROM dt WHERE id = 1");
    assert_sql(json_object_get(a, "m"), db, "SELECT m::numeric::float8 FROM dt WHERE id = 1");
    /* Without transaction metadata: no BEGIN or END, a null block. */
    assert_json(json_object_get(json_array_get(ch[1], 0), "transaction"), "null");

    /* schemas.enable: the envelope's schema, NOT NULL from the catalog; the same payload. */
    schema = json_object_get(json_array_get(ch[3], 0), "schema");
    assert_string_equal(str_at(schema, "name"), "pgcdc.public.dt.Envelope");
    value = field_of(schema, "after");
    assert_json(json_object_get(field_of(value, "id"), "optional"), "false");
    assert_json(json_object_get(field_of(value, "n"), "optional"), "false");
    assert_json(json_object_get(field_of(value, "nv"), "optional"), "true");
    assert_string_equal(str_at(field_of(value, "n"), "name"),
                        "org.apache.kafka.connect.data.Decimal");
    assert_string_equal(str_at(field_of(value, "nv"), "name"),
                        "io.debezium.data.VariableScaleDecimal");
    assert_string_equal(str_at(field_of(value, "d"), "name"), "io.debezium.time.Date");
    assert_string_equal(str_at(field_of(value, "ts3"), "name"), "io.debezium.time.Timestamp");
    assert_string_equal(str_at(field_of(value, "ts"), "name"), "io.debezium.time.MicroTimestamp");
    assert_string_equal(str_at(field_of(value, "tstz"), "name"), "io.debezium.time.ZonedTimestamp");
    assert_string_equal(str_at(field_of(value, "iv"), "name"), "io.debezium.time.MicroDuration");
    assert_string_equal(str_at(field_of(value, "j"), "name"), "io.debezium.data.Json");
    assert_string_equal(str_at(json_object_get(field_of(value, "ia"), "items"), "type"), "int32");
    for (size_t i = 0; i < json_array_size(ch[3]); i++) {
        json_t *payload = json_object_get(json_array_get(ch[3], i), "payload");
        json_t *other = json_array_get(ch[1], i);

        assert_non_null(payload);
        assert_true(json_equal(json_object_get(payload, "before"),
                               json_object_get(json_array_get(ch[0], i), "before")));
        assert_true(json_equal(json_object_get(payload, "after"),
                               json_object_get(json_array_get(ch[0], i), "after")));
        assert_true(
            json_equal(json_object_get(payload, "source"), json_object_get(other, "source")));
    }

    for (int i = 0; i < 4; i++) {
        json_decref(lines[i]);
        json_decref(ch[i]);
    }
    tl_sql(db, "SELECT pg_drop_replication_slot('td_dbz')");
}

/*
 * The message key as the connector makes it: the primary key's columns
 * (not the replica identity's), encoded as the values are, from the old row
 * of a DELETE; null for a table without a primary key; with schemas, a
 * struct named <prefix>.<schema>.<table>.Key.
 */
static void test_debezium_keys(void **state)
{
    static const char *const as_string[] = {"debezium.decimal.handling.mode", "string", NULL};
    static const char *const schemas[] = {"debezium.schemas.enable",
                                          "true",
                                          "debezium.topic.prefix",
                                          "srv",
                                          "debezium.decimal.handling.mode",
                                          "string",
                                          NULL};
    const char *db = tl_fresh_db("t_dbz_keys");
    json_t *keys;
    json_t *lines;
    json_t *k;
    json_t *fields;
    uint64_t end;
    char err[256];
    pgcdc_config *cfg = tl_config(db, "s_dbz_keys", "p_dbz", "k,nokey");

    (void)state;
    tl_sql(db, "CREATE TABLE k (a int, b numeric(6,2), c text UNIQUE NOT NULL, "
               "PRIMARY KEY (a, b))");
    /* The replica identity is another key: Debezium's key is still the primary key. */
    tl_sql(db, "ALTER TABLE k REPLICA IDENTITY USING INDEX k_c_key");
    tl_sql(db, "CREATE TABLE nokey (x int)");
    tl_sql(db, "ALTER TABLE nokey REPLICA IDENTITY FULL");
    assert_int_equal(tl_start_only(cfg, err, sizeof(err)), PGCDC_OK);
    pgcdc_config_free(cfg);
    tl_sql(db, "INSERT INTO k VALUES (1, 2.50, 'one'); INSERT INTO nokey VALUES (7)");
    tl_sql(db, "UPDATE k SET c = 'uno' WHERE a = 1");
    tl_sql(db, "DELETE FROM k WHERE a = 1");
    end = tl_current_lsn(db);

    lines = run_keyed(db, "s_dbz_keys", "k,nokey", end, as_string, &keys);
    assert_int_equal(json_array_size(keys), 4);
    assert_json(json_array_get(keys, 0), "{\"a\":1,\"b\":\"2.50\"}");
    assert_true(json_is_null(json_array_get(keys, 1)));
    assert_json(json_array_get(keys, 2), "{\"a\":1,\"b\":\"2.50\"}");
    /* The DELETE's old row under that identity holds c only: the key's columns are null. */
    assert_json(json_array_get(keys, 3), "{\"a\":null,\"b\":null}");
    json_decref(keys);
    json_decref(lines);

    tl_sql(db, "ALTER TABLE k REPLICA IDENTITY DEFAULT");
    tl_sql(db, "INSERT INTO k VALUES (2, 3.25, 'two')");
    tl_sql(db, "DELETE FROM k WHERE a = 2");
    end = tl_current_lsn(db);
    lines = run_keyed(db, "s_dbz_keys", "k,nokey", end, schemas, &keys);
    assert_int_equal(json_array_size(keys), 2);
    for (int i = 0; i < 2; i++) {
        k = json_array_get(keys, (size_t)i);
        assert_json(json_object_get(k, "payload"), "{\"a\":2,\"b\":\"3.25\"}");
        assert_string_equal(
            json_string_value(json_object_get(json_object_get(k, "schema"), "name")),
            "srv.public.k.Key");
        assert_true(json_is_false(json_object_get(json_object_get(k, "schema"), "optional")));
        fields = json_object_get(json_object_get(k, "schema"), "fields");
        assert_int_equal(json_array_size(fields), 2);
        assert_json(json_array_get(fields, 0), "{\"type\":\"int32\",\"optional\":false,"
                                               "\"field\":\"a\"}");
        assert_json(json_array_get(fields, 1), "{\"type\":\"string\",\"optional\":false,"
                                               "\"field\":\"b\"}");
    }
    json_decref(keys);
    json_decref(lines);
    tl_sql(db, "SELECT pg_drop_replication_slot('s_dbz_keys')");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_debezium_events),
        cmocka_unit_test(test_debezium_keys),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
