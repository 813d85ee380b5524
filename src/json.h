/*
 * A small streaming JSON writer: appends JSON text straight into a growable
 * buffer that is reused from one document to the next.  No tree, no
 * allocation once the buffer is large enough; output is always valid UTF-8.
 */
#ifndef PGCDC_JSON_H
#define PGCDC_JSON_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef struct pgcdc__json {
    char *data;
    size_t len;
    size_t cap;
    int oom; /* sticky: a write failed to grow the buffer (the text is then incomplete) */
} pgcdc__json;

void pgcdc__json_init(pgcdc__json *j);
void pgcdc__json_free(pgcdc__json *j);
/* Empties the buffer (keeps its memory) and clears the out-of-memory flag. */
void pgcdc__json_reset(pgcdc__json *j);

/*
 * NUL-terminates the text (the NUL is not counted in len) and returns it;
 * "" when the buffer is still empty.  NULL after an out-of-memory failure.
 */
const char *pgcdc__json_finish(pgcdc__json *j);

/* The slow paths of the inline writers below: grow the buffer, then append. */
void pgcdc__json_raw_slow(pgcdc__json *j, const char *s, size_t n);
char *pgcdc__json_reserve_slow(pgcdc__json *j, size_t n);

/*
 * Room for n more bytes: where to write them (then add what was written to
 * len), or NULL when out of memory.
 */
static inline char *pgcdc__json_reserve(pgcdc__json *j, size_t n)
{
    if (__builtin_expect(!j->oom && j->cap - j->len >= n, 1))
        return j->data + j->len;
    return pgcdc__json_reserve_slow(j, n);
}

/* Verbatim bytes: the caller guarantees they are valid JSON text and UTF-8. */
static inline void pgcdc__json_raw(pgcdc__json *j, const char *s, size_t n)
{
    if (__builtin_expect(n != 0 && !j->oom && j->cap - j->len >= n, 1)) {
        memcpy(j->data + j->len, s, n);
        j->len += n;
        return;
    }
    if (n != 0)
        pgcdc__json_raw_slow(j, s, n);
}

/* NUL-terminated raw text (a literal's length is known at compile time). */
static inline void pgcdc__json_lit(pgcdc__json *j, const char *s)
{
    pgcdc__json_raw(j, s, strlen(s));
}

static inline void pgcdc__json_char(pgcdc__json *j, char c)
{
    if (__builtin_expect(!j->oom && j->cap > j->len, 1)) {
        j->data[j->len++] = c;
        return;
    }
    pgcdc__json_raw_slow(j, &c, 1);
}
void pgcdc__json_u64(pgcdc__json *j, uint64_t v);
void pgcdc__json_i64(pgcdc__json *j, int64_t v);

/*
 * A quoted JSON string of n bytes: '"', '\\' and control characters are
 * escaped; invalid UTF-8 is replaced by U+FFFD, one per maximal ill-formed
 * subsequence (as the Unicode standard recommends).
 */
void pgcdc__json_string(pgcdc__json *j, const char *s, size_t n);
/* The same for a NUL-terminated string; NULL writes null. */
void pgcdc__json_cstring(pgcdc__json *j, const char *s);
/* The body of a JSON string (no quotes), escaped as above. */
void pgcdc__json_string_body(pgcdc__json *j, const char *s, size_t n);
/* A JSON string of the lowercase hex digits of n bytes. */
void pgcdc__json_hex_string(pgcdc__json *j, const void *p, size_t n);

/*
 * Embeds text that already is one JSON value (json/jsonb output): invalid
 * UTF-8 is replaced by U+FFFD and control characters (which valid JSON only
 * holds as whitespace between tokens) become spaces, so the value stays on
 * one line.
 */
void pgcdc__json_embed(pgcdc__json *j, const char *s, size_t n);

/* Unix microseconds as "YYYY-MM-DDTHH:MM:SS.ffffffZ", quoted. */
void pgcdc__json_utc_time(pgcdc__json *j, int64_t unix_us);

#endif /* PGCDC_JSON_H */
