/*
 * Value conversion: PostgreSQL text output of a column into C values.
 * Pure functions over (text, len); the row accessors call these.
 * Inputs are the server's output with DateStyle=ISO, TimeZone=UTC, bytea_output=hex.
 */
#ifndef PGCDC_WIRE_VALUE_H
#define PGCDC_WIRE_VALUE_H

#include <stddef.h>
#include <stdint.h>

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
/* The value of a hex digit (either case), or -1. */
int pgcdc__hex_value(char c);
/* 1 if the numeric/float text is a finite number (JSON-safe as is), 0 for NaN/Infinity. */
int pgcdc__number_is_finite(const char *s, size_t len);

#endif /* PGCDC_WIRE_VALUE_H */
