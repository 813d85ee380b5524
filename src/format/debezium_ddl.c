/*
 * A schema change's table description, as Debezium's connectors with a
 * schema change topic (MySQL, SQL Server, Db2) describe a table there
 * (io.debezium.connector.schema.Table): its key's column names and each
 * column's name, JDBC type, type name and expression, length, scale,
 * position and whether it takes NULL.  The shape before comes beside it as
 * previousTable, pgcdc's addition.
 */
#include <stdint.h>
#include <string.h>

#include "format/debezium.h"
#include "format/format.h"
#include "format/json.h"
#include "wire/types.h"

/* java.sql.Types codes. */
enum {
    JDBC_BIT = -7,
    JDBC_BIGINT = -5,
    JDBC_BINARY = -2,
    JDBC_CHAR = 1,
    JDBC_NUMERIC = 2,
    JDBC_INTEGER = 4,
    JDBC_SMALLINT = 5,
    JDBC_REAL = 7,
    JDBC_DOUBLE = 8,
    JDBC_VARCHAR = 12,
    JDBC_DATE = 91,
    JDBC_TIME = 92,
    JDBC_TIMESTAMP = 93,
    JDBC_OTHER = 1111,
    JDBC_ARRAY = 2003,
    JDBC_SQLXML = 2009,
    JDBC_TIME_WITH_TIMEZONE = 2013,
    JDBC_TIMESTAMP_WITH_TIMEZONE = 2014
};

/*
 * The built-in types by OID: pg_type's name for them and the JDBC type the
 * PostgreSQL driver reports (boolean as BIT, as the driver does).  Any other
 * type is OTHER, named by its format_type() text.
 */
static const struct {
    uint32_t oid;
    const char *name;
    int jdbc;
} known[] = {
    {PGCDC_OID_BOOL, "bool", JDBC_BIT},
    {PGCDC_OID_BYTEA, "bytea", JDBC_BINARY},
    {PGCDC_OID_CHAR, "char", JDBC_CHAR},
    {PGCDC_OID_NAME, "name", JDBC_VARCHAR},
    {PGCDC_OID_INT8, "int8", JDBC_BIGINT},
    {PGCDC_OID_INT2, "int2", JDBC_SMALLINT},
    {PGCDC_OID_INT4, "int4", JDBC_INTEGER},
    {PGCDC_OID_TEXT, "text", JDBC_VARCHAR},
    {PGCDC_OID_OID, "oid", JDBC_BIGINT},
    {PGCDC_OID_JSON, "json", JDBC_OTHER},
    {142, "xml", JDBC_SQLXML},
    {PGCDC_OID_FLOAT4, "float4", JDBC_REAL},
    {PGCDC_OID_FLOAT8, "float8", JDBC_DOUBLE},
    {PGCDC_OID_MONEY, "money", JDBC_DOUBLE},
    {PGCDC_OID_BPCHAR, "bpchar", JDBC_CHAR},
    {PGCDC_OID_VARCHAR, "varchar", JDBC_VARCHAR},
    {PGCDC_OID_DATE, "date", JDBC_DATE},
    {PGCDC_OID_TIME, "time", JDBC_TIME},
    {PGCDC_OID_TIMESTAMP, "timestamp", JDBC_TIMESTAMP},
    {PGCDC_OID_TIMESTAMPTZ, "timestamptz", JDBC_TIMESTAMP_WITH_TIMEZONE},
    {PGCDC_OID_INTERVAL, "interval", JDBC_OTHER},
    {PGCDC_OID_TIMETZ, "timetz", JDBC_TIME_WITH_TIMEZONE},
    {1560, "bit", JDBC_BIT},
    {1562, "varbit", JDBC_OTHER},
    {PGCDC_OID_NUMERIC, "numeric", JDBC_NUMERIC},
    {PGCDC_OID_UUID, "uuid", JDBC_OTHER},
    {PGCDC_OID_JSONB, "jsonb", JDBC_OTHER},
    {650, "cidr", JDBC_OTHER},
    {869, "inet", JDBC_OTHER},
    {829, "macaddr", JDBC_OTHER},
    {3614, "tsvector", JDBC_OTHER},
    {600, "point", JDBC_OTHER},
};

static int known_index(uint32_t oid)
{
    for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
        if (known[i].oid == oid)
            return (int)i;
    }
    return -1;
}

/* ,"typeName":..,"typeExpression":.. and ,"jdbcType":.. before them. */
static void put_types(pgcdc__buf *j, const pgcdc_row *shape, int col)
{
    uint32_t oid = pgcdc_row_type(shape, col);
    uint32_t elem = pgcdc__type_array_element(oid);
    const char *expr = pgcdc_row_type_name(shape, col);
    int k = known_index(elem != 0 ? elem : oid);

    pgcdc__buf_lit(j, ",\"jdbcType\":");
    pgcdc__json_i64(j, elem != 0 ? JDBC_ARRAY : k >= 0 ? known[k].jdbc : JDBC_OTHER);
    pgcdc__buf_lit(j, ",\"nativeType\":null,\"typeName\":");
    if (k >= 0) {
        /* An array type's name is its element's with an underscore before it. */
        pgcdc__buf_lit(j, elem != 0 ? "\"_" : "\"");
        pgcdc__buf_lit(j, known[k].name);
        pgcdc__buf_u8(j, '"');
    } else {
        pgcdc__json_cstring(j, expr != NULL ? expr : "unknown");
    }
    pgcdc__buf_lit(j, ",\"typeExpression\":");
    pgcdc__json_cstring(j, expr);
}

/* ,"length":..,"scale":..: from the modifier of a character or numeric type, else null. */
static void put_size(pgcdc__buf *j, uint32_t oid, int32_t typmod)
{
    int32_t mod = typmod - 4; /* the modifier's VARHDRSZ */

    if (typmod >= 4 && (oid == PGCDC_OID_VARCHAR || oid == PGCDC_OID_BPCHAR)) {
        pgcdc__buf_lit(j, ",\"length\":");
        pgcdc__json_i64(j, mod);
        pgcdc__buf_lit(j, ",\"scale\":null");
    } else if (typmod >= 4 && oid == PGCDC_OID_NUMERIC) {
        pgcdc__buf_lit(j, ",\"length\":");
        pgcdc__json_i64(j, (mod >> 16) & 0xffff);
        pgcdc__buf_lit(j, ",\"scale\":");
        pgcdc__json_i64(j, mod & 0xffff);
    } else {
        pgcdc__buf_lit(j, ",\"length\":null,\"scale\":null");
    }
}

/* A shape as io.debezium.connector.schema.Table. */
static void put_table(pgcdc__buf *j, const pgcdc_row *shape)
{
    const pgcdc__relation *rel = shape->rel;
    /* The catalog's primary key when asked for; else the key the stream knows. */
    const int *keys = rel->npk >= 0 ? rel->pk : rel->keys;
    int nkeys = rel->npk >= 0 ? rel->npk : rel->nkeys;

    pgcdc__buf_lit(j, "{\"defaultCharsetName\":null,\"primaryKeyColumnNames\":[");
    for (int k = 0; k < nkeys; k++) {
        if (k > 0)
            pgcdc__buf_u8(j, ',');
        pgcdc__json_cstring(j, pgcdc_row_name(shape, keys[k]));
    }
    pgcdc__buf_lit(j, "],\"columns\":[");
    for (int i = 0; i < pgcdc_row_ncols(shape); i++) {
        const pgcdc__relcol_info *col = &rel->cols[i];

        pgcdc__buf_lit(j, i > 0 ? ",{\"name\":" : "{\"name\":");
        pgcdc__json_cstring(j, col->name);
        put_types(j, shape, i);
        pgcdc__buf_lit(j, ",\"charsetName\":null");
        put_size(j, col->type_oid, col->typmod);
        pgcdc__buf_lit(j, ",\"position\":");
        pgcdc__json_i64(j, i + 1);
        /* Optional unless the catalog says NOT NULL (not asked: -1, optional). */
        pgcdc__buf_lit(j, ",\"optional\":");
        pgcdc__fmt_bool(j, col->not_null != 1);
        pgcdc__buf_lit(j, ",\"autoIncremented\":false,\"generated\":false,\"comment\":null}");
    }
    pgcdc__buf_lit(j, "]}");
}

void pgcdc__dbz_table_change(pgcdc__buf *j, const char *dbname, const pgcdc_change *c)
{
    const pgcdc_row *before = &c->old_row;
    int created = pgcdc_row_ncols(before) == 0;

    pgcdc__buf_lit(j, created ? "{\"type\":\"CREATE\",\"id\":\"" : "{\"type\":\"ALTER\",\"id\":\"");
    /* TableId's double-quoted form: "db"."schema"."table", as a JSON string. */
    pgcdc__buf_lit(j, "\\\"");
    pgcdc__json_string_body(j, dbname != NULL ? dbname : "", dbname != NULL ? strlen(dbname) : 0);
    pgcdc__buf_lit(j, "\\\".\\\"");
    pgcdc__json_string_body(j, c->rel->schema, strlen(c->rel->schema));
    pgcdc__buf_lit(j, "\\\".\\\"");
    pgcdc__json_string_body(j, c->rel->name, strlen(c->rel->name));
    pgcdc__buf_lit(j, "\\\"\",\"table\":");
    put_table(j, &c->new_row);
    pgcdc__buf_lit(j, ",\"previousTable\":");
    if (created)
        pgcdc__buf_lit(j, "null");
    else
        put_table(j, before);
    pgcdc__buf_u8(j, '}');
}
