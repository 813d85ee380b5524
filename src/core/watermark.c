/*
 * The chunk of an incremental snapshot and its key index (see watermark.h).
 */
#include <stdlib.h>
#include <string.h>

#include "core/row.h"
#include "core/watermark.h"
#include "wire/copy.h"

void pgcdc__chunk_init(pgcdc__chunk *c, int ncols, int nkey, const int *key_cols)
{
    memset(c, 0, sizeof(*c));
    pgcdc__buf_init(&c->data);
    pgcdc__buf_init(&c->keys);
    pgcdc__buf_init(&c->scratch);
    c->ncols = ncols;
    c->nkey = nkey;
    c->key_cols = key_cols;
}

void pgcdc__chunk_free(pgcdc__chunk *c)
{
    pgcdc__buf_free(&c->data);
    pgcdc__buf_free(&c->keys);
    pgcdc__buf_free(&c->scratch);
    free(c->off);
    free(c->dropped);
    free(c->key_off);
    free(c->slots);
    memset(c, 0, sizeof(*c));
}

/* A key as one string: each value's length (4 bytes) and bytes. */
static void key_put(pgcdc__buf *b, const char *v, uint32_t len)
{
    pgcdc__buf_put(b, &len, sizeof(len));
    pgcdc__buf_put(b, v, len);
}

static uint64_t hash(const void *p, size_t n)
{
    const uint8_t *s = p;
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */

    for (size_t i = 0; i < n; i++) {
        h ^= (uint8_t)s[i];
        h *= 1099511628211ULL;
    }
    return h ^ (h >> 29);
}

static size_t key_len(const pgcdc__chunk *c, uint32_t i)
{
    size_t end = i + 1 < c->nrows ? c->key_off[i + 1] : c->keys.len;

    return end - c->key_off[i];
}

int pgcdc__chunk_add(pgcdc__chunk *c, const char *line, size_t len)
{
    pgcdc__col cols[1600];
    char *copy;

    if (c->nrows == c->cap) {
        uint32_t cap = c->cap != 0 ? c->cap * 2 : 1024;
        uint32_t *off = realloc(c->off, cap * sizeof(*off));
        uint32_t *koff;

        if (off == NULL)
            return PGCDC_ERR_NOMEM;
        c->off = off;
        koff = realloc(c->key_off, cap * sizeof(*koff));
        if (koff == NULL)
            return PGCDC_ERR_NOMEM;
        c->key_off = koff;
        c->cap = cap;
    }
    if (c->ncols > (int)(sizeof(cols) / sizeof(cols[0])) || c->data.len + len > UINT32_MAX)
        return PGCDC_ERR_NOMEM;
    c->off[c->nrows] = (uint32_t)c->data.len;
    pgcdc__buf_put(&c->data, line, len);
    /* The key, from a copy: the row itself stays as COPY wrote it. */
    pgcdc__buf_reset(&c->scratch);
    pgcdc__buf_put(&c->scratch, line, len + 1);
    if (c->data.oom || c->scratch.oom)
        return PGCDC_ERR_NOMEM;
    copy = (char *)c->scratch.data;
    if (len > 0 && copy[len - 1] == '\n')
        len--;
    if (pgcdc__copy_split(copy, len, cols, c->ncols) != 0) {
        c->data.len = c->off[c->nrows]; /* not kept */
        return PGCDC_ERR_PROTOCOL;
    }
    c->key_off[c->nrows] = (uint32_t)c->keys.len;
    for (int k = 0; k < c->nkey; k++) {
        const pgcdc__col *col = &cols[c->key_cols[k]];

        key_put(&c->keys, col->data != NULL ? col->data : "", col->len);
    }
    c->nrows++;
    return c->keys.oom ? PGCDC_ERR_NOMEM : PGCDC_OK;
}

int pgcdc__chunk_index(pgcdc__chunk *c)
{
    size_t n = 16;

    while (n < (size_t)c->nrows * 2)
        n *= 2;
    free(c->slots);
    free(c->dropped);
    c->slots = calloc(n, sizeof(*c->slots));
    c->dropped = calloc((size_t)c->nrows + 1, 1);
    if (c->slots == NULL || c->dropped == NULL)
        return PGCDC_ERR_NOMEM;
    c->nslots = n;
    for (uint32_t i = 0; i < c->nrows; i++) {
        size_t s = hash(c->keys.data + c->key_off[i], key_len(c, i)) & (n - 1);

        while (c->slots[s] != 0)
            s = (s + 1) & (n - 1);
        c->slots[s] = i + 1;
    }
    return PGCDC_OK;
}

int pgcdc__chunk_drop(pgcdc__chunk *c, const pgcdc_row *row)
{
    size_t s;
    size_t n;

    if (c->nslots == 0 || row == NULL)
        return 0;
    pgcdc__buf_reset(&c->scratch);
    for (int k = 0; k < c->nkey; k++) {
        const pgcdc__col *col;

        if (c->key_cols[k] >= row->rel->ncols ||
            pgcdc__row_state(row, c->key_cols[k]) != PGCDC_VALUE_PRESENT)
            return 0;
        col = pgcdc__row_text_col(row, c->key_cols[k]);
        if (col == NULL)
            return 0;
        key_put(&c->scratch, col->data, col->len);
    }
    if (c->scratch.oom)
        return 0;
    n = c->scratch.len;
    s = hash(c->scratch.data, n) & (c->nslots - 1);
    while (c->slots[s] != 0) {
        uint32_t i = c->slots[s] - 1;

        if (key_len(c, i) == n && memcmp(c->keys.data + c->key_off[i], c->scratch.data, n) == 0) {
            if (c->dropped[i])
                return 0;
            c->dropped[i] = 1;
            c->ndropped++;
            return 1;
        }
        s = (s + 1) & (c->nslots - 1);
    }
    return 0;
}

void pgcdc__chunk_drop_all(pgcdc__chunk *c)
{
    if (c->dropped != NULL)
        memset(c->dropped, 1, c->nrows);
    c->ndropped = c->nrows;
}

char *pgcdc__chunk_row(pgcdc__chunk *c, uint32_t i, size_t *len)
{
    size_t end = i + 1 < c->nrows ? c->off[i + 1] : c->data.len;
    char *line = (char *)c->data.data + c->off[i];

    *len = end - c->off[i];
    if (*len > 0 && line[*len - 1] == '\n')
        (*len)--;
    return line;
}
