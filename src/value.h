/*
 * Value conversion: PostgreSQL text output of a column into C values.
 * Pure functions over (text, len); the worker's row accessors call these.
 * Inputs are the server's output with DateStyle=ISO, TimeZone=UTC, bytea_output=hex.
 */
#ifndef PGCDC_VALUE_H
#define PGCDC_VALUE_H

#include <stddef.h>
#include <stdint.h>

#include "decoder.h"

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

/* All return 0 on success, -1 if the text does not read as the type, -2 if out of range. */

/* Whole text must be an optionally signed decimal integer fitting int64. */
int pgcdc__parse_int64(const char *s, size_t len, int64_t *out);
/* Decimal or exponent notation, "NaN", "Infinity", "-Infinity"; locale-independent. */
int pgcdc__parse_double(const char *s, size_t len, double *out);
/* "t"/"f" (also "true"/"false"). */
int pgcdc__parse_bool(const char *s, size_t len, int *out);
/*
 * "YYYY-MM-DD[ HH:MM:SS[.ffffff]][+HH[:MM[:SS]]| -HH...][ BC]", "infinity",
 * "-infinity".  Result: microseconds since 1970-01-01 00:00:00 UTC
 * (INT64_MAX / INT64_MIN for the infinities).
 */
int pgcdc__parse_timestamp(const char *s, size_t len, int64_t *out);
/* "\x" followed by hex digit pairs; writes up to cap bytes, *outlen = decoded size. */
int pgcdc__parse_bytea_hex(const char *s, size_t len, uint8_t *buf, size_t cap, size_t *outlen);
/* Decoded size of a "\x..." bytea text, or -1 if malformed. */
long pgcdc__bytea_hex_size(const char *s, size_t len);
/* 1 if the numeric/float text is a finite number (JSON-safe as is), 0 for NaN/Infinity. */
int pgcdc__number_is_finite(const char *s, size_t len);

/* 1 if pgcdc turns the type's binary send format into text itself (pgcdc__binary_to_text). */
int pgcdc__binary_supported(uint32_t type_oid);
/*
 * Size of the type's binary form when it is fixed and pgcdc reads it
 * without text (bool, int2/4/8, oid, float4/8, date, timestamp[tz]), else 0.
 * The text of such a value never exceeds PGCDC__FIXED_TEXT_MAX bytes with its
 * NUL ("-2.2250738585072014e-308", "294276-12-31 23:59:59.999999+00").
 */
int pgcdc__binary_fixed_size(uint32_t type_oid);
#define PGCDC__FIXED_TEXT_MAX 64
/*
 * The text of a fixed-size binary value (len must be the type's size) at out,
 * which has room for PGCDC__FIXED_TEXT_MAX bytes: its length (no NUL is
 * written), or -1 for another type or a wrong length.
 */
int pgcdc__fixed_to_text(uint32_t type_oid, const uint8_t *p, size_t len, char *out);
/*
 * Appends the text PostgreSQL's output function would print for a value in
 * binary send format.  0, -1 for malformed bytes, -2 for an unsupported type.
 */
int pgcdc__binary_to_text(uint32_t type_oid, const uint8_t *p, size_t len, pgcdc__buf *out);
/*
 * Shortest decimal digits of a float8 (or, with is_float4, a float4) that
 * read back as it, as PostgreSQL prints them: the digits without sign or
 * point, the decimal exponent of the first in *exp10; returns the count.
 * The fast one covers the common range and returns 0 outside it; the slow
 * one covers every finite non-zero value (and checks the fast one in tests).
 */
int pgcdc__float_digits_fast(double v, int is_float4, char *digits, int *exp10);
int pgcdc__float_digits_slow(double v, int is_float4, char *digits, int *exp10);

/* 10^k for k <= 19. */
extern const uint64_t pgcdc__pow10_u64[20];

/* u, and v, in decimal at p (room for 20 characters; no NUL): the end. */
char *pgcdc__put_u64(char *p, uint64_t u);
char *pgcdc__put_i64(char *p, int64_t v);

/* Days from 1970-01-01 to the given proleptic Gregorian date (year may be <= 0). */
int64_t pgcdc__days_from_civil(int64_t y, unsigned m, unsigned d);
/* The inverse: year, month and day of a count of days from 1970-01-01. */
void pgcdc__civil_from_days(int64_t days, int64_t *y, unsigned *m, unsigned *d);

#endif /* PGCDC_VALUE_H */
