/*
 * The type table: one X-macro list gives both the entries and the switch
 * that finds them by OID.
 */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

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

/*
 * Types the table does not read but names, as format_type() does: OID, the
 * OID of its array type, name.  Names that are SQL keywords come quoted.
 */
#define NAMED(X)                                                                                   \
    X(18, 1002, "\"char\"")                                                                        \
    X(22, 1006, "int2vector")                                                                      \
    X(24, 1008, "regproc")                                                                         \
    X(27, 1010, "tid")                                                                             \
    X(28, 1011, "xid")                                                                             \
    X(29, 1012, "cid")                                                                             \
    X(30, 1013, "oidvector")                                                                       \
    X(142, 143, "xml")                                                                             \
    X(600, 1017, "point")                                                                          \
    X(601, 1018, "lseg")                                                                           \
    X(602, 1019, "path")                                                                           \
    X(603, 1020, "box")                                                                            \
    X(604, 1027, "polygon")                                                                        \
    X(628, 629, "line")                                                                            \
    X(650, 651, "cidr")                                                                            \
    X(718, 719, "circle")                                                                          \
    X(774, 775, "macaddr8")                                                                        \
    X(790, 791, "money")                                                                           \
    X(829, 1040, "macaddr")                                                                        \
    X(869, 1041, "inet")                                                                           \
    X(1033, 1034, "aclitem")                                                                       \
    X(1560, 1561, "bit")                                                                           \
    X(1562, 1563, "bit varying")                                                                   \
    X(1790, 2201, "refcursor")                                                                     \
    X(2202, 2207, "regprocedure")                                                                  \
    X(2203, 2208, "regoper")                                                                       \
    X(2204, 2209, "regoperator")                                                                   \
    X(2205, 2210, "regclass")                                                                      \
    X(2206, 2211, "regtype")                                                                       \
    X(2970, 2949, "txid_snapshot")                                                                 \
    X(3220, 3221, "pg_lsn")                                                                        \
    X(3614, 3643, "tsvector")                                                                      \
    X(3615, 3645, "tsquery")                                                                       \
    X(3734, 3735, "regconfig")                                                                     \
    X(3769, 3770, "regdictionary")                                                                 \
    X(3904, 3905, "int4range")                                                                     \
    X(3906, 3907, "numrange")                                                                      \
    X(3908, 3909, "tsrange")                                                                       \
    X(3910, 3911, "tstzrange")                                                                     \
    X(3912, 3913, "daterange")                                                                     \
    X(3926, 3927, "int8range")                                                                     \
    X(4072, 4073, "jsonpath")                                                                      \
    X(4089, 4090, "regnamespace")                                                                  \
    X(4096, 4097, "regrole")                                                                       \
    X(4191, 4192, "regcollation")                                                                  \
    X(4451, 6150, "int4multirange")                                                                \
    X(4532, 6151, "nummultirange")                                                                 \
    X(4533, 6152, "tsmultirange")                                                                  \
    X(4534, 6153, "tstzmultirange")                                                                \
    X(4535, 6155, "datemultirange")                                                                \
    X(4536, 6157, "int8multirange")                                                                \
    X(5038, 5039, "pg_snapshot")                                                                   \
    X(5069, 271, "xid8")

/* The arrays of the table's types: array OID, element. */
#define ARRAYS(X)                                                                                  \
    X(1000, BOOL)                                                                                  \
    X(1001, BYTEA)                                                                                 \
    X(1003, NAME)                                                                                  \
    X(1016, INT8)                                                                                  \
    X(1005, INT2)                                                                                  \
    X(1007, INT4)                                                                                  \
    X(1009, TEXT)                                                                                  \
    X(1028, OID)                                                                                   \
    X(199, JSON)                                                                                   \
    X(1021, FLOAT4)                                                                                \
    X(1022, FLOAT8)                                                                                \
    X(1014, BPCHAR)                                                                                \
    X(1015, VARCHAR)                                                                               \
    X(1182, DATE)                                                                                  \
    X(1183, TIME)                                                                                  \
    X(1115, TIMESTAMP)                                                                             \
    X(1185, TIMESTAMPTZ)                                                                           \
    X(1187, INTERVAL)                                                                              \
    X(1270, TIMETZ)                                                                                \
    X(1231, NUMERIC)                                                                               \
    X(2951, UUID)                                                                                  \
    X(3807, JSONB)

enum { OID_BIT = 1560, OID_VARBIT = 1562 };

/* format_type() of a type without its modifier, or NULL for a type not named here. */
static const char *plain_name(uint32_t oid)
{
    switch (oid) {
#define NAME_CASE(oid, array, name)                                                                \
    case oid:                                                                                      \
        return name;
        NAMED(NAME_CASE)
#undef NAME_CASE
    case PGCDC_OID_TIMETZ:
        return "time with time zone";
    }
    return pgcdc__type_of(oid)->name;
}

uint32_t pgcdc__type_array_element(uint32_t oid)
{
    switch (oid) {
#define ARRAY_CASE(oid, elem)                                                                      \
    case oid:                                                                                      \
        return PGCDC_OID_##elem;
        ARRAYS(ARRAY_CASE)
#undef ARRAY_CASE
#define NAMED_ARRAY_CASE(oid, array, name)                                                         \
    case array:                                                                                    \
        return oid;
        NAMED(NAMED_ARRAY_CASE)
#undef NAMED_ARRAY_CASE
    }
    return 0;
}

/* intervaltypmodout's words for the fields of an interval modifier, NULL for none it prints. */
static const char *interval_fields(int fields)
{
    /* INTERVAL_MASK of MONTH 1, YEAR 2, DAY 3, HOUR 10, MINUTE 11, SECOND 12. */
    enum { MO = 1 << 1, YE = 1 << 2, DA = 1 << 3, HO = 1 << 10, MI = 1 << 11, SE = 1 << 12 };

    switch (fields) {
    case YE:
        return " year";
    case MO:
        return " month";
    case DA:
        return " day";
    case HO:
        return " hour";
    case MI:
        return " minute";
    case SE:
        return " second";
    case YE | MO:
        return " year to month";
    case DA | HO:
        return " day to hour";
    case DA | HO | MI:
        return " day to minute";
    case DA | HO | MI | SE:
        return " day to second";
    case HO | MI:
        return " hour to minute";
    case HO | MI | SE:
        return " hour to second";
    case MI | SE:
        return " minute to second";
    case 0x7fff: /* INTERVAL_FULL_RANGE */
        return "";
    }
    return NULL;
}

/* A type that is not an array, with its modifier: the length written, or -1 to ask the catalog. */
static int name_scalar(uint32_t oid, int32_t typmod, char *buf, size_t size)
{
    const char *name = plain_name(oid);
    const char *fields;

    if (name == NULL)
        return -1;
    if (typmod < 0) {
        /*
         * A modifier of -1 given: bpchar and bit then keep their own names,
         * since "character" and "bit" alone would mean a length of 1.
         */
        if (oid == PGCDC_OID_BPCHAR)
            name = "bpchar";
        else if (oid == OID_BIT)
            name = "\"bit\"";
        return snprintf(buf, size, "%s", name);
    }
    switch (oid) {
    case PGCDC_OID_NUMERIC:
        if (typmod < VARHDRSZ)
            return -1;
        /* numeric_typmod_precision and _scale: the scale is 11 bits, signed. */
        return snprintf(buf, size, "numeric(%d,%d)", ((typmod - VARHDRSZ) >> 16) & 0xffff,
                        (((typmod - VARHDRSZ) & 0x7ff) ^ 1024) - 1024);
    case PGCDC_OID_VARCHAR:
    case PGCDC_OID_BPCHAR:
        if (typmod <= VARHDRSZ)
            return -1;
        return snprintf(buf, size, "%s(%d)", name, typmod - VARHDRSZ);
    case OID_BIT:
    case OID_VARBIT:
        return snprintf(buf, size, "%s(%d)", name, typmod);
    case PGCDC_OID_TIMESTAMP:
    case PGCDC_OID_TIMESTAMPTZ:
    case PGCDC_OID_TIME:
    case PGCDC_OID_TIMETZ:
        /* The precision goes after the first word: "timestamp(3) with time zone". */
        return snprintf(
            buf, size, "%s(%d)%s",
            oid == PGCDC_OID_TIME || oid == PGCDC_OID_TIMETZ ? "time" : "timestamp", typmod,
            oid == PGCDC_OID_TIMESTAMPTZ || oid == PGCDC_OID_TIMETZ ? " with time zone"
                                                                    : " without time zone");
    case PGCDC_OID_INTERVAL:
        fields = interval_fields((typmod >> 16) & 0x7fff);
        if (fields == NULL)
            return -1;
        if ((typmod & 0xffff) == 0xffff) /* INTERVAL_FULL_PRECISION */
            return snprintf(buf, size, "interval%s", fields);
        return snprintf(buf, size, "interval%s(%d)", fields, typmod & 0xffff);
    default:
        /* A modifier of a type that takes none: the catalog knows what to make of it. */
        return -1;
    }
}

int pgcdc__type_name(uint32_t oid, int32_t typmod, char *buf, size_t size)
{
    uint32_t elem = pgcdc__type_array_element(oid);
    int n;

    if (size == 0)
        return 0;
    /* An array is its element's name, with the same modifier, and "[]". */
    n = name_scalar(elem != 0 ? elem : oid, typmod, buf, size);
    if (n < 0 || (size_t)n >= size)
        return 0;
    if (elem != 0) {
        if ((size_t)n + 2 >= size)
            return 0;
        memcpy(buf + n, "[]", 3);
    }
    return 1;
}
