/*
 * COPY's text format, as `COPY ... TO STDOUT` writes it: one row per line,
 * columns separated by tabs, \N for NULL, backslash escapes for tab,
 * newline, carriage return, backslash and the rest.  Pure: no I/O.
 */
#ifndef PGCDC_WIRE_COPY_H
#define PGCDC_WIRE_COPY_H

#include <stddef.h>

#include "wire/decoder.h"

/*
 * Splits one line (len bytes, without its newline; line[len] must be
 * writable) into ncols columns, decoding escapes in place: each value is
 * NUL-terminated where it lies, as the decoder leaves tuple values, and
 * its column is PGCDC_COL_TEXT, or PGCDC_COL_NULL for \N.  Returns 0, or
 * -1 when the line does not hold exactly ncols columns or ends in a lone
 * backslash.
 */
int pgcdc__copy_split(char *line, size_t len, pgcdc__col *cols, int ncols);

/*
 * Appends the COPY text form of s (n bytes) to out, which has room for
 * 2 * n bytes: the inverse of one column of pgcdc__copy_split.  Returns
 * the bytes written.
 */
size_t pgcdc__copy_escape(const char *s, size_t n, char *out);

#endif /* PGCDC_WIRE_COPY_H */
