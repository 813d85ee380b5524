/*
 * The one table of types pgcdc knows by OID: the name format_type() gives
 * it, whether and how its binary (send) form is read, and how it is written
 * as JSON.  Every other piece asks here instead of switching on OIDs.
 */
#ifndef PGCDC_WIRE_TYPES_H
#define PGCDC_WIRE_TYPES_H

#include <stdint.h>

/* Well-known type OIDs (pg_type.h). */
enum {
    PGCDC_OID_BOOL = 16,
    PGCDC_OID_BYTEA = 17,
    PGCDC_OID_CHAR = 18,
    PGCDC_OID_NAME = 19,
    PGCDC_OID_INT8 = 20,
    PGCDC_OID_INT2 = 21,
    PGCDC_OID_INT4 = 23,
    PGCDC_OID_TEXT = 25,
    PGCDC_OID_OID = 26,
    PGCDC_OID_JSON = 114,
    PGCDC_OID_FLOAT4 = 700,
    PGCDC_OID_FLOAT8 = 701,
    PGCDC_OID_MONEY = 790,
    PGCDC_OID_BPCHAR = 1042,
    PGCDC_OID_VARCHAR = 1043,
    PGCDC_OID_DATE = 1082,
    PGCDC_OID_TIME = 1083,
    PGCDC_OID_TIMESTAMP = 1114,
    PGCDC_OID_TIMESTAMPTZ = 1184,
    PGCDC_OID_INTERVAL = 1186,
    PGCDC_OID_TIMETZ = 1266,
    PGCDC_OID_NUMERIC = 1700,
    PGCDC_OID_UUID = 2950,
    PGCDC_OID_JSONB = 3802
};

/* How a binary value of the type is read. */
enum {
    PGCDC__BIN_NONE = 0, /* not at all: a stream with such a column asks for text */
    PGCDC__BIN_CONVERT,  /* printed as text when the change arrives (numeric, bytea, uuid) */
    PGCDC__BIN_FIXED,    /* fixed size: read as it is, printed on first use */
    PGCDC__BIN_TEXT,     /* the bytes are the text (text, varchar, bpchar, name, json) */
    PGCDC__BIN_JSONB     /* a version byte (1), then the text */
};

/* How a value of the type is written as JSON. */
enum {
    PGCDC__JSON_STRING = 0, /* a string */
    PGCDC__JSON_INTEGER,    /* the server's text is a JSON number */
    PGCDC__JSON_NUMBER,     /* float or numeric: a number when finite */
    PGCDC__JSON_BOOL,       /* true/false */
    PGCDC__JSON_BYTEA,      /* its hex digits, as a string */
    PGCDC__JSON_JSON        /* embedded as JSON */
};

typedef struct pgcdc__type {
    uint32_t oid;
    const char *name;   /* format_type() without a typmod; NULL for types not in the table */
    uint8_t bin_class;  /* PGCDC__BIN_* */
    uint8_t fixed_size; /* bytes of a PGCDC__BIN_FIXED value, else 0 */
    uint8_t json;       /* PGCDC__JSON_* */
} pgcdc__type;

/* The type's entry; for an OID not in the table, an entry with name NULL, text only. */
const pgcdc__type *pgcdc__type_of(uint32_t oid);

/*
 * The element type of a built-in array type (the arrays of the table's types
 * and of the other built-in types named here: 1017 point[] -> 600 point), or
 * 0 for an OID that is not one (a scalar, or an array type the catalog made).
 */
uint32_t pgcdc__type_array_element(uint32_t oid);

/*
 * The type's name with its modifier, as format_type(oid, typmod) prints it
 * ("numeric(5,3)", "character varying(60)", "timestamp(3) with time zone",
 * "bit varying(5)", "interval day to second(2)", "text[]", "bpchar" for a
 * modifier of -1), for the built-in types and their arrays: 1 with the name
 * in buf, or 0 when the catalog must be asked (a type or a modifier this
 * file does not know: domains, enums, anything user-defined).
 */
int pgcdc__type_name(uint32_t oid, int32_t typmod, char *buf, size_t size);

#endif /* PGCDC_WIRE_TYPES_H */
