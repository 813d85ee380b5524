/*
 * Binary (send-format) column values turned into exactly the text
 * PostgreSQL's output functions print (DateStyle ISO, TimeZone UTC,
 * extra_float_digits 1).  Which types are read so is the type table's
 * business (wire/types.h).
 */
#ifndef PGCDC_WIRE_BINVAL_H
#define PGCDC_WIRE_BINVAL_H

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"

/*
 * The text of a fixed-size value (bool, int2/4/8, oid, float4/8, date,
 * timestamp[tz]) never exceeds PGCDC__FIXED_TEXT_MAX bytes with its NUL
 * ("-2.2250738585072014e-308", "294276-12-31 23:59:59.999999+00").
 */
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

#endif /* PGCDC_WIRE_BINVAL_H */
