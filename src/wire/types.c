/*
 * The type table: one X-macro list gives both the entries and the switch
 * that finds them by OID.
 */
#include <stddef.h>
#include <stdio.h>

#include "wire/types.h"

/* The modifier's offset in varlena types (VARHDRSZ). */
#define VARHDRSZ 4

/* name in pg_type.h, format_type() name, binary class, fixed size, JSON kind */
#define TYPES(X)                                                                                   \
    X(BOOL, "boolean", FIXED, 1, BOOL)                                                             \
    X(BYTEA, "bytea", CONVERT, 0, BYTEA)                                                           \
    X(NAME, "name", TEXT, 0, STRING)                                                               \
    X(INT8, "bigint", FIXED, 8, INTEGER)                                                           \
    X(INT2, "smallint", FIXED, 2, INTEGER)                                                         \
    X(INT4, "integer", FIXED, 4, INTEGER)                                                          \
    X(TEXT, "text", TEXT, 0, STRING)                                                               \
    X(OID, "oid", FIXED, 4, INTEGER)                                                               \
    X(JSON, "json", TEXT, 0, JSON)                                                                 \
    X(FLOAT4, "real", FIXED, 4, NUMBER)                                                            \
    X(FLOAT8, "double precision", FIXED, 8, NUMBER)                                                \
    X(BPCHAR, "character", TEXT, 0, STRING)                                                        \
    X(VARCHAR, "character varying", TEXT, 0, STRING)                                               \
    X(DATE, "date", FIXED, 4, STRING)                                                              \
    X(TIME, "time without time zone", NONE, 0, STRING)                                             \
    X(TIMESTAMP, "timestamp without time zone", FIXED, 8, STRING)                                  \
    X(TIMESTAMPTZ, "timestamp with time zone", FIXED, 8, STRING)                                   \
    X(INTERVAL, "interval", NONE, 0, STRING)                                                       \
    X(NUMERIC, "numeric", CONVERT, 0, NUMBER)                                                      \
    X(UUID, "uuid", CONVERT, 0, STRING)                                                            \
    X(JSONB, "jsonb", JSONB, 0, JSON)

enum {
    T_UNKNOWN = 0,
#define INDEX(oid, name, bin, size, json) T_##oid,
    TYPES(INDEX)
#undef INDEX
};

static const pgcdc__type types[] = {{0, NULL, PGCDC__BIN_NONE, 0, PGCDC__JSON_STRING},
#define ENTRY(oid, name, bin, size, json)                                                          \
    {PGCDC_OID_##oid, name, PGCDC__BIN_##bin, size, PGCDC__JSON_##json},
                                    TYPES(ENTRY)
#undef ENTRY
};

const pgcdc__type *pgcdc__type_of(uint32_t oid)
{
    switch (oid) {
#define CASE(oid, name, bin, size, json)                                                           \
    case PGCDC_OID_##oid:                                                                          \
        return &types[T_##oid];
        TYPES(CASE)
#undef CASE
    }
    return &types[T_UNKNOWN];
}

int pgcdc__type_name(uint32_t oid, int32_t typmod, char *buf, size_t size)
{
    const pgcdc__type *t = pgcdc__type_of(oid);
    int n;

    if (t->name == NULL)
        return 0;
    if (typmod < 0) {
        n = snprintf(buf, size, "%s", t->name);
        return n >= 0 && (size_t)n < size;
    }
    switch (oid) {
    case PGCDC_OID_NUMERIC:
        if (typmod < VARHDRSZ)
            return 0;
        /* numeric_typmod_precision and _scale: the scale is 11 bits, signed. */
        n = snprintf(buf, size, "numeric(%d,%d)", ((typmod - VARHDRSZ) >> 16) & 0xffff,
                     (((typmod - VARHDRSZ) & 0x7ff) ^ 1024) - 1024);
        break;
    case PGCDC_OID_VARCHAR:
    case PGCDC_OID_BPCHAR:
        if (typmod <= VARHDRSZ)
            return 0;
        n = snprintf(buf, size, "%s(%d)", t->name, typmod - VARHDRSZ);
        break;
    case PGCDC_OID_TIMESTAMP:
    case PGCDC_OID_TIMESTAMPTZ:
    case PGCDC_OID_TIME:
        /* The precision goes after the first word: "timestamp(3) with time zone". */
        n = snprintf(buf, size, "%s(%d)%s", oid == PGCDC_OID_TIME ? "time" : "timestamp", typmod,
                     oid == PGCDC_OID_TIMESTAMPTZ ? " with time zone" : " without time zone");
        break;
    default:
        /* A modifier the table cannot print (interval fields...): the catalog's. */
        return 0;
    }
    return n >= 0 && (size_t)n < size;
}
