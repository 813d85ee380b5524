/*
 * The one growable byte buffer: protocol messages, JSON text, output
 * batches.  It always keeps one spare byte past len, so its text can be
 * NUL-terminated and its bytes fed to the decoder as they are.  A failed
 * growth sets a sticky flag instead of failing every call.
 */
#ifndef PGCDC_BASE_BUF_H
#define PGCDC_BASE_BUF_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef struct pgcdc__buf {
    uint8_t *data;
    size_t len;
    size_t cap;
    int oom; /* sticky: an append failed (the contents are then incomplete) */
} pgcdc__buf;

void pgcdc__buf_init(pgcdc__buf *b);
void pgcdc__buf_free(pgcdc__buf *b);
/* Empties the buffer (keeps its memory) and clears the out-of-memory flag. */
void pgcdc__buf_reset(pgcdc__buf *b);

/* The slow path of pgcdc__buf_reserve: grows the buffer. */
char *pgcdc__buf_grow(pgcdc__buf *b, size_t n);

/*
 * Room for n more bytes (and the spare one): where to write them (then add
 * what was written to len), or NULL when out of memory.
 */
static inline char *pgcdc__buf_reserve(pgcdc__buf *b, size_t n)
{
    if (__builtin_expect(!b->oom && b->cap - b->len > n, 1))
        return (char *)b->data + b->len;
    return pgcdc__buf_grow(b, n);
}

static inline void pgcdc__buf_put(pgcdc__buf *b, const void *p, size_t n)
{
    char *at;

    if (n == 0)
        return;
    at = pgcdc__buf_reserve(b, n);
    if (at == NULL)
        return;
    memcpy(at, p, n);
    b->len += n;
}

static inline void pgcdc__buf_u8(pgcdc__buf *b, uint8_t v)
{
    char *at = pgcdc__buf_reserve(b, 1);

    if (at == NULL)
        return;
    *at = (char)v;
    b->len++;
}

/* NUL-terminated bytes without the NUL (a literal's length is known at compile time). */
static inline void pgcdc__buf_lit(pgcdc__buf *b, const char *s)
{
    pgcdc__buf_put(b, s, strlen(s));
}

/* Big-endian integers, as the replication protocol sends them. */
void pgcdc__buf_u16(pgcdc__buf *b, uint16_t v);
void pgcdc__buf_u32(pgcdc__buf *b, uint32_t v);
void pgcdc__buf_u64(pgcdc__buf *b, uint64_t v);
/* A string with its NUL (NULL: the empty string). */
void pgcdc__buf_str(pgcdc__buf *b, const char *s);

/*
 * NUL-terminates the contents in the spare byte (the NUL is not counted in
 * len) and returns them as text: "" for a buffer never written, NULL after
 * an out-of-memory failure.
 */
const char *pgcdc__buf_cstr(pgcdc__buf *b);
/*
 * Hands the contents over as a malloc'd NUL-terminated string (NULL after an
 * out-of-memory failure); the buffer is empty and without memory after.
 */
char *pgcdc__buf_take(pgcdc__buf *b);

#endif /* PGCDC_BASE_BUF_H */
