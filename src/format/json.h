/*
 * A streaming JSON writer: appends JSON text straight into a growable buffer
 * (base/buf.h) that is reused from one document to the next.  No tree, no
 * allocation once the buffer is large enough; output is always valid UTF-8.
 * Plain text goes in with pgcdc__buf_put, pgcdc__buf_lit and pgcdc__buf_u8.
 */
#ifndef PGCDC_FORMAT_JSON_H
#define PGCDC_FORMAT_JSON_H

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"

void pgcdc__json_u64(pgcdc__buf *j, uint64_t v);
void pgcdc__json_i64(pgcdc__buf *j, int64_t v);

/*
 * A quoted JSON string of n bytes: '"', '\\' and control characters are
 * escaped; invalid UTF-8 is replaced by U+FFFD, one per maximal ill-formed
 * subsequence (as the Unicode standard recommends).
 */
void pgcdc__json_string(pgcdc__buf *j, const char *s, size_t n);
/* The same for a NUL-terminated string; NULL writes null. */
void pgcdc__json_cstring(pgcdc__buf *j, const char *s);
/* The body of a JSON string (no quotes), escaped as above. */
void pgcdc__json_string_body(pgcdc__buf *j, const char *s, size_t n);
/* A JSON string of the lowercase hex digits of n bytes. */
void pgcdc__json_hex_string(pgcdc__buf *j, const void *p, size_t n);

/*
 * Embeds text that already is one JSON value (json/jsonb output): invalid
 * UTF-8 is replaced by U+FFFD and control characters (which valid JSON only
 * holds as whitespace between tokens) become spaces, so the value stays on
 * one line.
 */
void pgcdc__json_embed(pgcdc__buf *j, const char *s, size_t n);

/* Unix microseconds as "YYYY-MM-DDTHH:MM:SS.ffffffZ", quoted. */
void pgcdc__json_utc_time(pgcdc__buf *j, int64_t unix_us);

#endif /* PGCDC_FORMAT_JSON_H */
