/*
 * The schema block of Debezium's events as Kafka Connect's JSON converter
 * writes it with schemas enabled ({"schema":...,"payload":...}): the
 * envelope's struct with each column's Connect type and Debezium's named
 * types, the source block's and the transaction block's, built once per
 * relation and per option set; the schema change value's, the same for all.
 */
#include <stdint.h>
#include <string.h>

#include "format/debezium.h"
#include "format/json.h"
#include "wire/types.h"

/* io.debezium.connector.postgresql.Source (PostgresSourceInfoStructMaker). */
static const char source_schema[] =
    "{\"type\":\"struct\",\"fields\":[{\"type\":\"string\",\"optional\":false,\"field\":"
    "\"version\"},"
    "{\"type\":\"string\",\"optional\":false,\"field\":\"connector\"},"
    "{\"type\":\"string\",\"optional\":false,\"field\":\"name\"},"
    "{\"type\":\"int64\",\"optional\":false,\"field\":\"ts_ms\"},"
    "{\"type\":\"string\",\"optional\":true,\"name\":\"io.debezium.data.Enum\",\"version\":1,"
    "\"parameters\":{\"allowed\":\"true,first,first_in_data_collection,last_in_data_collection,"
    "last,false,incremental\"},"
    "\"default\":\"false\",\"field\":\"snapshot\"},"
    "{\"type\":\"string\",\"optional\":false,\"field\":\"db\"},"
    "{\"type\":\"string\",\"optional\":true,\"field\":\"sequence\"},"
    "{\"type\":\"int64\",\"optional\":true,\"field\":\"ts_us\"},"
    "{\"type\":\"int64\",\"optional\":true,\"field\":\"ts_ns\"},"
    "{\"type\":\"string\",\"optional\":false,\"field\":\"schema\"},"
    "{\"type\":\"string\",\"optional\":false,\"field\":\"table\"},"
    "{\"type\":\"int64\",\"optional\":true,\"field\":\"txId\"},"
    "{\"type\":\"int64\",\"optional\":true,\"field\":\"lsn\"},"
    "{\"type\":\"int64\",\"optional\":true,\"field\":\"xmin\"},"
    "{\"type\":\"string\",\"optional\":true,\"field\":\"origin\"},"
    "{\"type\":\"int64\",\"optional\":true,\"field\":\"origin_lsn\"}],\"optional\":false,\"name\":"
    "\"io.debezium.connector.postgresql.Source\",\"version\":1,\"field\":\"source\"}";

/* The transaction block (SchemaFactory.transactionBlockSchema), then the envelope's last fields. */
static const char envelope_tail[] =
    ",{\"type\":\"struct\",\"fields\":[{\"type\":\"string\",\"optional\":false,\"field\":\"id\"},"
    "{\"type\":\"int64\",\"optional\":false,\"field\":\"total_order\"},"
    "{\"type\":\"int64\",\"optional\":false,\"field\":\"data_collection_order\"}],\"optional\":"
    "true,\"name\":\"event.block\",\"version\":1,\"field\":\"transaction\"},"
    "{\"type\":\"string\",\"optional\":false,\"field\":\"op\"},"
    "{\"type\":\"int64\",\"optional\":true,\"field\":\"ts_ms\"},"
    "{\"type\":\"int64\",\"optional\":true,\"field\":\"ts_us\"},"
    "{\"type\":\"int64\",\"optional\":true,\"field\":\"ts_ns\"}]";

/* The BEGIN and END events' value (SchemaFactory.transactionValueSchema). */
static const char txn_schema[] =
    "{\"schema\":{\"type\":\"struct\",\"fields\":[{\"type\":\"string\",\"optional\":false,"
    "\"field\":\"status\"},"
    "{\"type\":\"string\",\"optional\":false,\"field\":\"id\"},"
    "{\"type\":\"int64\",\"optional\":true,\"field\":\"event_count\"},"
    "{\"type\":\"array\",\"items\":{\"type\":\"struct\",\"fields\":[{\"type\":\"string\","
    "\"optional\":false,\"field\":\"data_collection\"},"
    "{\"type\":\"int64\",\"optional\":false,\"field\":\"event_count\"}],\"optional\":true,\"name\":"
    "\"event.collection\",\"version\":1},"
    "\"optional\":true,\"field\":\"data_collections\"},"
    "{\"type\":\"int64\",\"optional\":false,\"field\":\"ts_ms\"}],\"optional\":false,\"name\":\"io."
    "debezium.connector.common.TransactionMetadataValue\",\"version\":1},"
    "\"payload\":";

void pgcdc__dbz_txn_schema(pgcdc__buf *b)
{
    pgcdc__buf_lit(b, txn_schema);
}

/* {"type":"<type>","optional":<optional> */
static void head(pgcdc__buf *b, const char *type, int optional)
{
    pgcdc__buf_lit(b, "{\"type\":\"");
    pgcdc__buf_lit(b, type);
    pgcdc__buf_lit(b, optional ? "\",\"optional\":true" : "\",\"optional\":false");
}

/* A named (logical) type: ,"name":"...","version":1 */
static void named(pgcdc__buf *b, const char *name)
{
    pgcdc__buf_lit(b, ",\"name\":\"");
    pgcdc__buf_lit(b, name);
    pgcdc__buf_lit(b, "\",\"version\":1");
}

static void decimal(pgcdc__buf *b, int optional, int32_t scale, int32_t precision)
{
    head(b, "bytes", optional);
    named(b, "org.apache.kafka.connect.data.Decimal");
    pgcdc__buf_lit(b, ",\"parameters\":{\"scale\":\"");
    pgcdc__json_i64(b, scale);
    if (precision >= 0) {
        pgcdc__buf_lit(b, "\",\"connect.decimal.precision\":\"");
        pgcdc__json_i64(b, precision);
    }
    pgcdc__buf_lit(b, "\"}");
}

static const char *native_type(uint32_t oid)
{
    switch (oid) {
    case PGCDC_OID_BOOL:
        return "boolean";
    case PGCDC_OID_INT2:
        return "int16";
    case PGCDC_OID_INT4:
        return "int32";
    case PGCDC_OID_FLOAT4:
        return "float";
    case PGCDC_OID_FLOAT8:
        return "double";
    default:
        return "int64"; /* int8, oid */
    }
}

static const char *const logical_names[] = {
    [PGCDC__DBZ_L_UUID] = "io.debezium.data.Uuid",
    [PGCDC__DBZ_L_JSON] = "io.debezium.data.Json",
    [PGCDC__DBZ_L_XML] = "io.debezium.data.Xml",
    [PGCDC__DBZ_L_LTREE] = "io.debezium.data.Ltree",
    [PGCDC__DBZ_L_TSVECTOR] = "io.debezium.data.Tsvector",
};

/* A value's schema as the connector describes the column (PostgresValueConverter), unclosed. */
static void value_schema(pgcdc__buf *b, const pgcdc__dbz *x, const pgcdc__dbz_col *dc, int kind,
                         int optional)
{
    switch (kind) {
    case PGCDC__DBZ_K_NATIVE:
        head(b, native_type(dc->oid), optional);
        return;
    case PGCDC__DBZ_K_NUMERIC:
    case PGCDC__DBZ_K_MONEY:
        if (x->decimal != PGCDC__DBZ_PRECISE) {
            head(b, x->decimal == PGCDC__DBZ_STRING ? "string" : "double", optional);
        } else if (kind == PGCDC__DBZ_K_MONEY) {
            decimal(b, optional, 2, -1);
        } else if (dc->scale != INT32_MIN) {
            decimal(b, optional, dc->scale, dc->precision);
        } else {
            pgcdc__buf_lit(b, "{\"type\":\"struct\",\"fields\":["
                              "{\"type\":\"int32\",\"optional\":false,\"field\":\"scale\"},"
                              "{\"type\":\"bytes\",\"optional\":false,\"field\":\"value\"}]");
            pgcdc__buf_lit(b, optional ? ",\"optional\":true" : ",\"optional\":false");
            named(b, "io.debezium.data.VariableScaleDecimal");
            pgcdc__buf_lit(b, ",\"doc\":\"Variable scaled decimal\"");
        }
        return;
    case PGCDC__DBZ_K_BYTEA:
        head(b, x->binary == PGCDC__DBZ_BYTES ? "bytes" : "string", optional);
        return;
    case PGCDC__DBZ_K_DATE:
        head(b, "int32", optional);
        named(b, "io.debezium.time.Date");
        return;
    case PGCDC__DBZ_K_TIME:
        head(b, dc->precision <= 3 ? "int32" : "int64", optional);
        named(b, dc->precision <= 3 ? "io.debezium.time.Time" : "io.debezium.time.MicroTime");
        return;
    case PGCDC__DBZ_K_TIMETZ:
        head(b, "string", optional);
        named(b, "io.debezium.time.ZonedTime");
        return;
    case PGCDC__DBZ_K_TIMESTAMP:
        head(b, "int64", optional);
        named(b, dc->precision <= 3 ? "io.debezium.time.Timestamp"
                                    : "io.debezium.time.MicroTimestamp");
        return;
    case PGCDC__DBZ_K_TIMESTAMPTZ:
        head(b, "string", optional);
        named(b, "io.debezium.time.ZonedTimestamp");
        return;
    case PGCDC__DBZ_K_INTERVAL:
        head(b, x->interval == PGCDC__DBZ_ISO ? "string" : "int64", optional);
        named(b, x->interval == PGCDC__DBZ_ISO ? "io.debezium.time.Interval"
                                               : "io.debezium.time.MicroDuration");
        return;
    case PGCDC__DBZ_K_BIT:
        head(b, "boolean", optional);
        return;
    case PGCDC__DBZ_K_BITS:
        head(b, "bytes", optional);
        named(b, "io.debezium.data.Bits");
        pgcdc__buf_lit(b, ",\"parameters\":{\"length\":\"");
        pgcdc__json_i64(b, dc->precision);
        pgcdc__buf_lit(b, "\"}");
        return;
    case PGCDC__DBZ_K_HSTORE:
        if (x->hstore == PGCDC__DBZ_MAP) {
            pgcdc__buf_lit(b, "{\"type\":\"map\",\"keys\":{\"type\":\"string\",\"optional\":false},"
                              "\"values\":{\"type\":\"string\",\"optional\":true}");
            pgcdc__buf_lit(b, optional ? ",\"optional\":true" : ",\"optional\":false");
        } else {
            head(b, "string", optional);
            named(b, "io.debezium.data.Json");
        }
        return;
    case PGCDC__DBZ_K_ARRAY:
        pgcdc__buf_lit(b, "{\"type\":\"array\",\"items\":");
        value_schema(b, x, dc, dc->elem, 1);
        pgcdc__buf_lit(b, optional ? "},\"optional\":true" : "},\"optional\":false");
        return;
    default:
        head(b, "string", optional);
        if (dc->logical != PGCDC__DBZ_L_NONE)
            named(b, logical_names[dc->logical]);
        return;
    }
}

/*
 * The topic name the names derive from, as DefaultTopicNamingStrategy
 * sanitizes it: prefix.schema.table, characters other than [A-Za-z0-9._-]
 * replaced by '_' (one per UTF-16 unit), at most 249 of them.
 */
static void topic_name(pgcdc__buf *b, const pgcdc__dbz *x, const pgcdc__relation *rel)
{
    const char *parts[3] = {x->prefix, rel->schema, rel->name};
    size_t n = 0;

    for (int k = 0; k < 3; k++) {
        const unsigned char *s = (const unsigned char *)parts[k];

        if (k > 0 && n++ < 249)
            pgcdc__buf_u8(b, '.');
        for (; *s != '\0'; s++) {
            unsigned c = *s;
            int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                     c == '.' || c == '_' || c == '-';

            /* A continuation byte is part of the character replaced already. */
            if ((c & 0xC0) == 0x80)
                continue;
            for (int u = 0; u < (c >= 0xF0 ? 2 : 1); u++) {
                if (n++ < 249)
                    pgcdc__buf_u8(b, ok ? (uint8_t)c : '_');
            }
        }
    }
}

void pgcdc__dbz_envelope_schema(const pgcdc__dbz *x, pgcdc__buf *b, const pgcdc__relation *rel,
                                const pgcdc__dbz_col *cols)
{
    size_t value_start;
    size_t value_len;

    pgcdc__buf_lit(b, "{\"schema\":{\"type\":\"struct\",\"fields\":[");
    value_start = b->len;
    pgcdc__buf_lit(b, "{\"type\":\"struct\",\"fields\":[");
    for (int i = 0; i < rel->ncols; i++) {
        const pgcdc__relcol_info *col = &rel->cols[i];
        /* NOT NULL from the catalog; a key column is never null. */
        int optional = col->not_null >= 0 ? !col->not_null : !col->is_key;

        if (i > 0)
            pgcdc__buf_u8(b, ',');
        value_schema(b, x, &cols[i], cols[i].kind, optional);
        pgcdc__buf_lit(b, ",\"field\":");
        pgcdc__json_cstring(b, col->name);
        pgcdc__buf_u8(b, '}');
    }
    pgcdc__buf_lit(b, "],\"optional\":true,\"name\":\"");
    topic_name(b, x, rel);
    pgcdc__buf_lit(b, ".Value\",\"field\":\"before\"}");
    /* after: the same struct. */
    value_len = b->len - value_start - strlen("\"before\"}");
    pgcdc__buf_u8(b, ',');
    if (!b->oom) {
        char *at = pgcdc__buf_reserve(b, value_len);

        if (at != NULL) {
            memcpy(at, b->data + value_start, value_len);
            b->len += value_len;
        }
    }
    pgcdc__buf_lit(b, "\"after\"},");
    pgcdc__buf_lit(b, source_schema);
    pgcdc__buf_lit(b, envelope_tail);
    pgcdc__buf_lit(b, ",\"optional\":false,\"name\":\"");
    topic_name(b, x, rel);
    pgcdc__buf_lit(b, ".Envelope\",\"version\":2},\"payload\":");
}

void pgcdc__dbz_key_schema(const pgcdc__dbz *x, pgcdc__buf *b, const pgcdc__relation *rel,
                           const pgcdc__dbz_col *cols, const int *keys, int nkeys)
{
    pgcdc__buf_lit(b, "{\"schema\":{\"type\":\"struct\",\"fields\":[");
    for (int k = 0; k < nkeys; k++) {
        int i = keys[k];

        if (k > 0)
            pgcdc__buf_u8(b, ',');
        /* A primary key column is never null. */
        value_schema(b, x, &cols[i], cols[i].kind, 0);
        pgcdc__buf_lit(b, ",\"field\":");
        pgcdc__json_cstring(b, rel->cols[i].name);
        pgcdc__buf_u8(b, '}');
    }
    pgcdc__buf_lit(b, "],\"optional\":false,\"name\":\"");
    topic_name(b, x, rel);
    pgcdc__buf_lit(b, ".Key\"},\"payload\":");
}

/* io.debezium.connector.schema.Column, as the others' schema change topics describe columns. */
static const char column_schema[] =
    "{\"type\":\"struct\",\"fields\":["
    "{\"type\":\"string\",\"optional\":false,\"field\":\"name\"},"
    "{\"type\":\"int32\",\"optional\":false,\"field\":\"jdbcType\"},"
    "{\"type\":\"int32\",\"optional\":true,\"field\":\"nativeType\"},"
    "{\"type\":\"string\",\"optional\":false,\"field\":\"typeName\"},"
    "{\"type\":\"string\",\"optional\":true,\"field\":\"typeExpression\"},"
    "{\"type\":\"string\",\"optional\":true,\"field\":\"charsetName\"},"
    "{\"type\":\"int32\",\"optional\":true,\"field\":\"length\"},"
    "{\"type\":\"int32\",\"optional\":true,\"field\":\"scale\"},"
    "{\"type\":\"int32\",\"optional\":false,\"field\":\"position\"},"
    "{\"type\":\"boolean\",\"optional\":true,\"field\":\"optional\"},"
    "{\"type\":\"boolean\",\"optional\":true,\"field\":\"autoIncremented\"},"
    "{\"type\":\"boolean\",\"optional\":true,\"field\":\"generated\"},"
    "{\"type\":\"string\",\"optional\":true,\"field\":\"comment\"}],"
    "\"optional\":false,\"name\":\"io.debezium.connector.schema.Column\",\"version\":1}";

/* io.debezium.connector.schema.Table, optional (previousTable is null for a new table), unclosed.
 */
static void table_schema(pgcdc__buf *b)
{
    pgcdc__buf_lit(b, "{\"type\":\"struct\",\"fields\":["
                      "{\"type\":\"string\",\"optional\":true,\"field\":\"defaultCharsetName\"},"
                      "{\"type\":\"array\",\"items\":{\"type\":\"string\",\"optional\":false},"
                      "\"optional\":true,\"field\":\"primaryKeyColumnNames\"},"
                      "{\"type\":\"array\",\"items\":");
    pgcdc__buf_lit(b, column_schema);
    pgcdc__buf_lit(b, ",\"optional\":false,\"field\":\"columns\"}],\"optional\":true,"
                      "\"name\":\"io.debezium.connector.schema.Table\",\"version\":1");
}

void pgcdc__dbz_schema_change_schema(pgcdc__buf *b)
{
    pgcdc__buf_lit(b, "{\"schema\":{\"type\":\"struct\",\"fields\":[");
    pgcdc__buf_lit(b, source_schema);
    pgcdc__buf_lit(b, ",{\"type\":\"int64\",\"optional\":false,\"field\":\"ts_ms\"},"
                      "{\"type\":\"string\",\"optional\":true,\"field\":\"databaseName\"},"
                      "{\"type\":\"string\",\"optional\":true,\"field\":\"schemaName\"},"
                      "{\"type\":\"string\",\"optional\":true,\"field\":\"ddl\"},"
                      "{\"type\":\"array\",\"items\":{\"type\":\"struct\",\"fields\":["
                      "{\"type\":\"string\",\"optional\":false,\"field\":\"type\"},"
                      "{\"type\":\"string\",\"optional\":false,\"field\":\"id\"},");
    table_schema(b);
    pgcdc__buf_lit(b, ",\"field\":\"table\"},");
    table_schema(b);
    pgcdc__buf_lit(b, ",\"field\":\"previousTable\"}],\"optional\":false,"
                      "\"name\":\"io.debezium.connector.schema.Change\",\"version\":1},"
                      "\"optional\":false,\"field\":\"tableChanges\"}],\"optional\":false,"
                      "\"name\":\"io.debezium.connector.postgresql.SchemaChangeValue\","
                      "\"version\":1},\"payload\":");
}
