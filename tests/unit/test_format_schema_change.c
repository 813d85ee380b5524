/*
 * Unit tests for schema changes (PGCDC_OP_SCHEMA) in every format: the exact
 * native, wal2json and Debezium lines for a table whose columns changed and
 * for a new table, with and without the DDL text; Debezium's schema block
 * checked against its payload; no key; and the transaction metadata's
 * counts, which a schema change is not part of.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "core/row.h"
#include "format/format.h"
#include "wire/types.h"
#include "../json_check.h"
#include "column_values.h"

#define S(lit) ((char *)(lit))
#define REL(relid_, schema_, name_, ncols_, cols_, nkeys_, keys_)                                  \
    {                                                                                              \
        .relid = (relid_), .schema = (schema_), .name = (name_), .replident = 'd',                 \
        .ncols = (ncols_), .cols = (cols_), .nkeys = (nkeys_), .keys = (keys_), .npk = -1,         \
        .wanted = 1                                                                                \
    }
/* A column: name, format_type() name, type, modifier, NOT NULL (1, 0, -1 unknown), key. */
#define COL(name_, type_name_, oid_, typmod_, not_null_, key_)                                     \
    {                                                                                              \
        .name = (name_), .type_name = (type_name_), .type_oid = (oid_), .sent_oid = (oid_),        \
        .typmod = (typmod_), .not_null = (not_null_), .is_key = (key_), .is_ident = (key_)         \
    }
/* Modifiers: ((precision << 16) | scale) + VARHDRSZ, length + VARHDRSZ. */
#define NUMERIC_MOD(p, s) (((p) << 16 | (s)) + 4)
#define CHAR_MOD(n) ((n) + 4)

enum { MOOD_OID = 16390, TEXTARRAY_OID = 1009 };

static pgcdc_txn txn = {
    .xid = 771,
    .commit_lsn = 0x1A2B3C8,
    .end_lsn = 0x1A2B400,
    .commit_time = INT64_C(1795557600123456), /* 2026-11-24 22:00:00.123456 UTC */
    .nchanges = 2,
    .token = 1,
    .prev_end_lsn = 0x1A2B000,
    .begin_lsn = 0x1A2B080,
};

/* ---- fixtures: items before and after ALTER TABLE, and a new table ---- */

static int id_key[] = {0};

static pgcdc__relcol_info old_cols[] = {
    COL(S("id"), S("integer"), PGCDC_OID_INT4, -1, 1, 1),
    COL(S("name"), S("character varying(20)"), PGCDC_OID_VARCHAR, CHAR_MOD(20), -1, 0),
};
static pgcdc__relation old_rel = REL(3001, S("public"), S("items"), 2, old_cols, 1, id_key);

static pgcdc__relcol_info new_cols[] = {
    COL(S("id"), S("integer"), PGCDC_OID_INT4, -1, 1, 1),
    COL(S("name"), S("character varying(40)"), PGCDC_OID_VARCHAR, CHAR_MOD(40), 0, 0),
    COL(S("price"), S("numeric(10,2)"), PGCDC_OID_NUMERIC, NUMERIC_MOD(10, 2), 1, 0),
    COL(S("tags"), S("text[]"), TEXTARRAY_OID, -1, 0, 0),
    COL(S("at"), S("timestamp with time zone"), PGCDC_OID_TIMESTAMPTZ, -1, -1, 0),
    COL(S("ok"), S("boolean"), PGCDC_OID_BOOL, -1, 0, 0),
    COL(S("mood"), S("mood"), MOOD_OID, -1, 0, 0),
};
static pgcdc__relation new_rel = REL(3001, S("public"), S("items"), 7, new_cols, 1, id_key);

/* A table new to the cache: the shape before has no columns. */
static pgcdc__relation none_rel = REL(3002, S("public"), S("fresh"), 0, NULL, 0, NULL);
static pgcdc__relcol_info fresh_cols[] = {
    COL(S("k"), S("character(3)"), PGCDC_OID_BPCHAR, CHAR_MOD(3), 1, 1),
};
static pgcdc__relation fresh_rel = REL(3002, S("public"), S("fresh"), 1, fresh_cols, 1, id_key);

static pgcdc_change schema_change(const pgcdc__relation *before, const pgcdc__relation *after,
                                  const char *ddl, uint32_t seq)
{
    pgcdc_change c;

    memset(&c, 0, sizeof(c));
    c.op = PGCDC_OP_SCHEMA;
    c.rel = after;
    c.txn = &txn;
    c.lsn = 0x1A2B100;
    c.seq = seq;
    c.ddl = ddl;
    c.has_old = 1;
    c.has_new = 1;
    c.old_row.rel = before;
    c.new_row.rel = after;
    return c;
}

/* ---- helpers ---- */

static pgcdc_formatter *fmt_new(pgcdc_format format, const char *const *opts)
{
    pgcdc_formatter *f = pgcdc_formatter_new(format, "shop");

    assert_non_null(f);
    for (size_t i = 0; opts != NULL && opts[i] != NULL; i += 2) {
        if (pgcdc_formatter_set(f, opts[i], opts[i + 1]) != PGCDC_OK)
            fail_msg("option %s=%s refused", opts[i], opts[i + 1]);
    }
    return f;
}

/* The change's one line, checked to be JSON, without its newline. */
static const char *line_of(pgcdc_formatter *f, const pgcdc_change *c)
{
    static char result[16384];
    const char *out;
    size_t len;

    assert_int_equal(pgcdc_formatter_change(f, c, &out, &len), PGCDC_OK);
    json_decref(json_line(out, len));
    assert_true(len < sizeof(result));
    memcpy(result, out, len - 1);
    result[len - 1] = '\0';
    return result;
}

static json_t *doc_of(pgcdc_formatter *f, const pgcdc_change *c)
{
    const char *out;
    size_t len;

    assert_int_equal(pgcdc_formatter_change(f, c, &out, &len), PGCDC_OK);
    return json_line(out, len);
}

/* ---- native ---- */

static void test_native(void **state)
{
    pgcdc_formatter *f = fmt_new(PGCDC_FORMAT_JSON, NULL);
    pgcdc_change alter = schema_change(&old_rel, &new_rel, NULL, 4);
    pgcdc_change create = schema_change(&none_rel, &fresh_rel, "CREATE TABLE fresh (k char(3))", 0);

    (void)state;
    assert_string_equal(
        line_of(f, &alter),
        "{\"op\":\"SCHEMA_CHANGE\",\"schema\":\"public\",\"table\":\"items\",\"xid\":771,"
        "\"commit_lsn\":\"0/1A2B3C8\",\"seq\":4,\"commit_time\":\"2026-11-24T22:00:00.123456Z\","
        "\"old_columns\":[{\"name\":\"id\",\"type\":\"integer\",\"key\":true},"
        "{\"name\":\"name\",\"type\":\"character varying(20)\",\"key\":false}],"
        "\"new_columns\":[{\"name\":\"id\",\"type\":\"integer\",\"key\":true},"
        "{\"name\":\"name\",\"type\":\"character varying(40)\",\"key\":false},"
        "{\"name\":\"price\",\"type\":\"numeric(10,2)\",\"key\":false},"
        "{\"name\":\"tags\",\"type\":\"text[]\",\"key\":false},"
        "{\"name\":\"at\",\"type\":\"timestamp with time zone\",\"key\":false},"
        "{\"name\":\"ok\",\"type\":\"boolean\",\"key\":false},"
        "{\"name\":\"mood\",\"type\":\"mood\",\"key\":false}],\"ddl\":null}");
    assert_string_equal(
        line_of(f, &create),
        "{\"op\":\"SCHEMA_CHANGE\",\"schema\":\"public\",\"table\":\"fresh\",\"xid\":771,"
        "\"commit_lsn\":\"0/1A2B3C8\",\"seq\":0,\"commit_time\":\"2026-11-24T22:00:00.123456Z\","
        "\"old_columns\":[],\"new_columns\":[{\"name\":\"k\",\"type\":\"character(3)\","
        "\"key\":true}],\"ddl\":\"CREATE TABLE fresh (k char(3))\"}");
    pgcdc_formatter_free(f);
}

/* ---- wal2json ---- */

static void test_wal2json(void **state)
{
    static const char *const more[] = {
        "include_xids",     "1", "include_lsn", "1", "include_type_oids", "1",
        "include_not_null", "1", NULL};
    static const char *const fewer[] = {"include_types", "0", "include_schemas", "0", NULL};
    pgcdc_formatter *f = fmt_new(PGCDC_FORMAT_WAL2JSON, NULL);
    pgcdc_change alter = schema_change(&old_rel, &fresh_rel, "ALTER TABLE items ...", 4);
    pgcdc_change create = schema_change(&none_rel, &fresh_rel, NULL, 0);
    pgcdc_change full = schema_change(&old_rel, &new_rel, NULL, 1);
    int pk[] = {0};

    (void)state;
    assert_string_equal(line_of(f, &create),
                        "{\"action\":\"S\",\"schema\":\"public\",\"table\":\"fresh\","
                        "\"columns\":[{\"name\":\"k\",\"type\":\"character(3)\"}],"
                        "\"oldcolumns\":[],\"pk\":[{\"name\":\"k\",\"type\":\"character(3)\"}],"
                        "\"ddl\":null}");
    /* A table changed: its columns before too, and the statement. */
    assert_string_equal(line_of(f, &alter),
                        "{\"action\":\"S\",\"schema\":\"public\",\"table\":\"fresh\","
                        "\"columns\":[{\"name\":\"k\",\"type\":\"character(3)\"}],"
                        "\"oldcolumns\":[{\"name\":\"id\",\"type\":\"integer\"},"
                        "{\"name\":\"name\",\"type\":\"character varying(20)\"}],"
                        "\"pk\":[{\"name\":\"k\",\"type\":\"character(3)\"}],"
                        "\"ddl\":\"ALTER TABLE items ...\"}");
    pgcdc_formatter_free(f);

    /* The options that shape other lines shape this one: xid, lsn, typeoid, optional. */
    f = fmt_new(PGCDC_FORMAT_WAL2JSON, more);
    new_rel.npk = 1;
    new_rel.pk = pk;
    assert_string_equal(
        line_of(f, &full),
        "{\"action\":\"S\",\"xid\":771,\"lsn\":\"0/1A2B100\",\"schema\":\"public\","
        "\"table\":\"items\",\"columns\":["
        "{\"name\":\"id\",\"type\":\"integer\",\"typeoid\":23,\"optional\":false},"
        "{\"name\":\"name\",\"type\":\"character varying(40)\",\"typeoid\":1043,"
        "\"optional\":true},"
        "{\"name\":\"price\",\"type\":\"numeric(10,2)\",\"typeoid\":1700,\"optional\":false},"
        "{\"name\":\"tags\",\"type\":\"text[]\",\"typeoid\":1009,\"optional\":true},"
        "{\"name\":\"at\",\"type\":\"timestamp with time zone\",\"typeoid\":1184},"
        "{\"name\":\"ok\",\"type\":\"boolean\",\"typeoid\":16,\"optional\":true},"
        "{\"name\":\"mood\",\"type\":\"mood\",\"typeoid\":16390,\"optional\":true}],"
        "\"oldcolumns\":[{\"name\":\"id\",\"type\":\"integer\",\"typeoid\":23,"
        "\"optional\":false},"
        "{\"name\":\"name\",\"type\":\"character varying(20)\",\"typeoid\":1043}],"
        "\"pk\":[{\"name\":\"id\",\"type\":\"integer\",\"typeoid\":23}],\"ddl\":null}");
    new_rel.npk = -1;
    new_rel.pk = NULL;
    pgcdc_formatter_free(f);

    f = fmt_new(PGCDC_FORMAT_WAL2JSON, fewer);
    assert_string_equal(line_of(f, &create),
                        "{\"action\":\"S\",\"table\":\"fresh\",\"columns\":[{\"name\":\"k\"}],"
                        "\"oldcolumns\":[],\"pk\":[{\"name\":\"k\"}],\"ddl\":null}");
    pgcdc_formatter_free(f);
}

/* ---- Debezium ---- */

#define SOURCE(table)                                                                              \
    "\"source\":{\"version\":\"" PGCDC_VERSION_STRING "\",\"connector\":\"postgresql\","           \
    "\"name\":\"pgcdc\",\"ts_ms\":1795557600123,\"snapshot\":\"false\",\"db\":\"shop\","           \
    "\"sequence\":\"[\\\"27439104\\\",\\\"27439360\\\"]\",\"ts_us\":1795557600123456,"             \
    "\"ts_ns\":1795557600123456000,\"schema\":\"public\",\"table\":\"" table "\","                 \
    "\"txId\":771,\"lsn\":27439360,\"xmin\":null,\"origin\":null,\"origin_lsn\":null}"

#define COLUMN(name, jdbc, type, expr, length, scale, pos, optional)                               \
    "{\"name\":\"" name "\",\"jdbcType\":" #jdbc ",\"nativeType\":null,\"typeName\":\"" type       \
    "\",\"typeExpression\":\"" expr "\",\"charsetName\":null,\"length\":" length                   \
    ",\"scale\":" scale ",\"position\":" #pos ",\"optional\":" optional                            \
    ",\"autoIncremented\":false,\"generated\":false,\"comment\":null}"

#define ID_COL COLUMN("id", 4, "int4", "integer", "null", "null", 1, "false")
#define NAME20_COL COLUMN("name", 12, "varchar", "character varying(20)", "20", "null", 2, "true")
#define NAME40_COL COLUMN("name", 12, "varchar", "character varying(40)", "40", "null", 2, "true")
#define PRICE_COL COLUMN("price", 2, "numeric", "numeric(10,2)", "10", "2", 3, "false")
#define TAGS_COL COLUMN("tags", 2003, "_text", "text[]", "null", "null", 4, "true")
#define AT_COL                                                                                     \
    COLUMN("at", 2014, "timestamptz", "timestamp with time zone", "null", "null", 5, "true")
#define OK_COL COLUMN("ok", -7, "bool", "boolean", "null", "null", 6, "true")
#define MOOD_COL COLUMN("mood", 1111, "mood", "mood", "null", "null", 7, "true")
#define K_COL COLUMN("k", 1, "bpchar", "character(3)", "3", "null", 1, "false")
#define TABLE(key, cols)                                                                           \
    "{\"defaultCharsetName\":null,\"primaryKeyColumnNames\":[\"" key "\"],\"columns\":[" cols "]}"

static const char items_table[] = TABLE("id", ID_COL "," NAME40_COL "," PRICE_COL "," TAGS_COL
                                                     "," AT_COL "," OK_COL "," MOOD_COL);
static const char items_before[] = TABLE("id", ID_COL "," NAME20_COL);

static void test_debezium(void **state)
{
    pgcdc_formatter *f = fmt_new(PGCDC_FORMAT_DEBEZIUM, NULL);
    pgcdc_change alter =
        schema_change(&old_rel, &new_rel, "ALTER TABLE items ADD price numeric", 4);
    pgcdc_change create = schema_change(&none_rel, &fresh_rel, NULL, 0);
    char want[8192];

    (void)state;
    snprintf(want, sizeof(want),
             "{" SOURCE("items") ",\"ts_ms\":1795557600123,\"databaseName\":\"shop\","
                                 "\"schemaName\":\"public\",\"ddl\":\"ALTER TABLE items ADD "
                                 "price numeric\",\"tableChanges\":[{\"type\":\"ALTER\","
                                 "\"id\":\"\\\"shop\\\".\\\"public\\\".\\\"items\\\"\","
                                 "\"table\":%s,\"previousTable\":%s}]}",
             items_table, items_before);
    assert_string_equal(line_of(f, &alter), want);
    assert_string_equal(
        line_of(f, &create),
        "{" SOURCE("fresh") ",\"ts_ms\":1795557600123,\"databaseName\":\"shop\","
                            "\"schemaName\":\"public\",\"ddl\":null,\"tableChanges\":[{\"type\":"
                            "\"CREATE\",\"id\":\"\\\"shop\\\".\\\"public\\\".\\\"fresh\\\"\","
                            "\"table\":" TABLE("k", K_COL) ",\"previousTable\":null}]}");
    pgcdc_formatter_free(f);
}

/* A Connect schema's description of value: every field there and nothing else, each typed. */
static void check_connect(json_t *schema, json_t *value, const char *at)
{
    const char *type = json_string_value(json_object_get(schema, "type"));

    if (type == NULL)
        fail_msg("%s: no type", at);
    if (json_is_null(value)) {
        if (!json_is_true(json_object_get(schema, "optional")))
            fail_msg("%s: null but not optional", at);
        return;
    }
    if (strcmp(type, "struct") == 0) {
        json_t *fields = json_object_get(schema, "fields");
        size_t i;
        json_t *field;

        assert_true(json_is_object(value));
        if (json_array_size(fields) != json_object_size(value))
            fail_msg("%s: %zu fields, %zu members", at, json_array_size(fields),
                     json_object_size(value));
        json_array_foreach(fields, i, field)
        {
            const char *name = json_string_value(json_object_get(field, "field"));
            json_t *member = json_object_get(value, name);

            if (member == NULL)
                fail_msg("%s: no member %s", at, name);
            check_connect(field, member, name);
        }
    } else if (strcmp(type, "array") == 0) {
        size_t i;
        json_t *item;

        assert_true(json_is_array(value));
        json_array_foreach(value, i, item)
            check_connect(json_object_get(schema, "items"), item, at);
    } else if (strcmp(type, "string") == 0) {
        if (!json_is_string(value))
            fail_msg("%s: not a string", at);
    } else if (strcmp(type, "boolean") == 0) {
        if (!json_is_boolean(value))
            fail_msg("%s: not a boolean", at);
    } else if (strcmp(type, "int32") == 0 || strcmp(type, "int64") == 0) {
        if (!json_is_integer(value))
            fail_msg("%s: not an integer", at);
    } else {
        fail_msg("%s: type %s", at, type);
    }
}

static void test_debezium_schemas(void **state)
{
    static const char *const on[] = {"schemas.enable", "true", NULL};
    pgcdc_formatter *f = fmt_new(PGCDC_FORMAT_DEBEZIUM, on);
    pgcdc_formatter *plain = fmt_new(PGCDC_FORMAT_DEBEZIUM, NULL);
    pgcdc_change changes[2] = {
        schema_change(&old_rel, &new_rel, "ALTER TABLE items ADD price numeric", 4),
        schema_change(&none_rel, &fresh_rel, NULL, 0),
    };

    (void)state;
    for (int i = 0; i < 2; i++) {
        json_t *doc = doc_of(f, &changes[i]);
        json_t *bare = doc_of(plain, &changes[i]);
        json_t *schema = json_object_get(doc, "schema");

        /* {"schema":..,"payload":..}, the payload as without schemas. */
        assert_int_equal(json_object_size(doc), 2);
        assert_true(json_equal(json_object_get(doc, "payload"), bare));
        assert_string_equal(json_string_value(json_object_get(schema, "name")),
                            "io.debezium.connector.postgresql.SchemaChangeValue");
        check_connect(schema, json_object_get(doc, "payload"), "payload");
        json_decref(bare);
        json_decref(doc);
    }
    pgcdc_formatter_free(plain);
    pgcdc_formatter_free(f);
}

/* No key: it is of the whole table; and the key of a change after it is the row's. */
static void test_debezium_key(void **state)
{
    static const pgcdc__col row[] = {TXT("1"), TXT("x")};
    pgcdc_formatter *f = fmt_new(PGCDC_FORMAT_DEBEZIUM, NULL);
    pgcdc_change c = schema_change(&old_rel, &new_rel, NULL, 0);
    pgcdc_change ins;
    pgcdc__buf key;

    (void)state;
    pgcdc__buf_init(&key);
    pgcdc__debezium_format.key(f, &c, &key);
    assert_int_equal(key.len, 0);
    ins = c;
    ins.op = PGCDC_OP_INSERT;
    ins.rel = &old_rel;
    ins.has_old = 0;
    ins.new_row.rel = &old_rel;
    ins.new_row.cols = (pgcdc__col *)row;
    pgcdc__debezium_format.key(f, &ins, &key);
    assert_string_equal(pgcdc__buf_cstr(&key), "{\"id\":1}");
    pgcdc__buf_free(&key);
    pgcdc_formatter_free(f);
}

/*
 * With transaction metadata: the schema change has no transaction block, and
 * neither total_order, data_collection_order nor the END event counts it.
 */
static void test_debezium_counts(void **state)
{
    static const char *const on[] = {"provide.transaction.metadata", "true", NULL};
    static const pgcdc__col row[] = {TXT("1"), TXT("x")};
    pgcdc_formatter *f = fmt_new(PGCDC_FORMAT_DEBEZIUM, on);
    pgcdc_change other = schema_change(&none_rel, &fresh_rel, NULL, 0);
    pgcdc_change alter = schema_change(&none_rel, &old_rel, NULL, 0);
    pgcdc_change ins = alter;
    const char *out;
    size_t len;
    json_t *doc;

    (void)state;
    ins.op = PGCDC_OP_INSERT;
    ins.has_old = 0;
    ins.old_row.rel = NULL;
    ins.new_row.cols = (pgcdc__col *)row;
    txn.nchanges = 1;
    txn.token = 7;
    assert_int_equal(pgcdc_formatter_begin(f, &txn, &out, &len), PGCDC_OK);
    doc = doc_of(f, &other);
    assert_null(json_object_get(doc, "transaction"));
    assert_null(json_object_get(doc, "op"));
    json_decref(doc);
    json_decref(doc_of(f, &alter));
    doc = doc_of(f, &ins);
    assert_json(json_object_get(doc, "transaction"),
                "{\"id\":\"771:27439360\",\"total_order\":1,\"data_collection_order\":1}");
    json_decref(doc);
    assert_int_equal(pgcdc_formatter_commit(f, &txn, &out, &len), PGCDC_OK);
    doc = json_line(out, len);
    assert_int_equal(int_at(doc, "event_count"), 1);
    assert_json(json_object_get(doc, "data_collections"),
                "[{\"data_collection\":\"public.items\",\"event_count\":1}]");
    json_decref(doc);
    txn.nchanges = 2;
    txn.token = 1;
    pgcdc_formatter_free(f);
}

static pgcdc__relation *const all_rels[] = {&old_rel, &new_rel, &none_rel, &fresh_rel};

/* The fixtures' columns read as their types say (the relation cache's part). */
static int set_types(void **state)
{
    (void)state;
    for (size_t r = 0; r < sizeof(all_rels) / sizeof(all_rels[0]); r++) {
        for (int i = 0; i < all_rels[r]->ncols; i++)
            pgcdc__relcol_set_type(&all_rels[r]->cols[i], all_rels[r]->cols[i].type_oid);
    }
    return 0;
}

/* The text the formatters cached in the fixtures' relations. */
static int free_caches(void **state)
{
    (void)state;
    for (size_t r = 0; r < sizeof(all_rels) / sizeof(all_rels[0]); r++) {
        free(all_rels[r]->fmt_cache);
        free(all_rels[r]->fmt_extra);
        all_rels[r]->fmt_cache = NULL;
        all_rels[r]->fmt_extra = NULL;
    }
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_native),       cmocka_unit_test(test_wal2json),
        cmocka_unit_test(test_debezium),     cmocka_unit_test(test_debezium_schemas),
        cmocka_unit_test(test_debezium_key), cmocka_unit_test(test_debezium_counts),
    };

    return cmocka_run_group_tests(tests, set_types, free_caches);
}
