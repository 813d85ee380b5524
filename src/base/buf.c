/*
 * The growable byte buffer: growth by doubling with a sticky out-of-memory
 * flag, and the big-endian appenders the protocol writer uses.
 */
#include <stdlib.h>

#include "base/buf.h"

#define BUF_MIN_CAP 256

void pgcdc__buf_init(pgcdc__buf *b)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->oom = 0;
}

void pgcdc__buf_free(pgcdc__buf *b)
{
    free(b->data);
    pgcdc__buf_init(b);
}

void pgcdc__buf_reset(pgcdc__buf *b)
{
    b->len = 0;
    b->oom = 0;
}

char *pgcdc__buf_grow(pgcdc__buf *b, size_t n)
{
    size_t want;
    size_t cap;
    uint8_t *p;

    if (b->oom)
        return NULL;
    if (n > SIZE_MAX - b->len - 1) {
        b->oom = 1;
        return NULL;
    }
    want = b->len + n + 1;
    if (want <= b->cap)
        return (char *)b->data + b->len;
    cap = b->cap < BUF_MIN_CAP ? BUF_MIN_CAP : b->cap;
    while (cap < want) {
        if (cap > SIZE_MAX / 2) {
            cap = want;
            break;
        }
        cap *= 2;
    }
    p = realloc(b->data, cap);
    if (p == NULL) {
        b->oom = 1;
        return NULL;
    }
    b->data = p;
    b->cap = cap;
    return (char *)b->data + b->len;
}

void pgcdc__buf_u16(pgcdc__buf *b, uint16_t v)
{
    uint8_t p[2] = {(uint8_t)(v >> 8), (uint8_t)v};

    pgcdc__buf_put(b, p, sizeof(p));
}

void pgcdc__buf_u32(pgcdc__buf *b, uint32_t v)
{
    uint8_t p[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};

    pgcdc__buf_put(b, p, sizeof(p));
}

void pgcdc__buf_u64(pgcdc__buf *b, uint64_t v)
{
    pgcdc__buf_u32(b, (uint32_t)(v >> 32));
    pgcdc__buf_u32(b, (uint32_t)v);
}

void pgcdc__buf_str(pgcdc__buf *b, const char *s)
{
    if (s == NULL)
        s = "";
    pgcdc__buf_put(b, s, strlen(s) + 1);
}

const char *pgcdc__buf_cstr(pgcdc__buf *b)
{
    if (b->oom)
        return NULL;
    if (b->data == NULL)
        return "";
    b->data[b->len] = 0;
    return (const char *)b->data;
}

char *pgcdc__buf_take(pgcdc__buf *b)
{
    char *s;

    if (b->oom) {
        pgcdc__buf_free(b);
        return NULL;
    }
    if (b->data == NULL)
        return strdup("");
    b->data[b->len] = 0;
    s = (char *)b->data;
    pgcdc__buf_init(b);
    return s;
}
