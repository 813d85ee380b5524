/*
 * The chunk of an incremental snapshot between its two watermarks (the
 * DBLog method): the rows read, indexed by key, so that a row the stream
 * changed inside the chunk's window is dropped from it (the stream's event
 * is newer than the row read).  Its memory is the chunk's: the caller
 * bounds the chunk's rows and bytes.
 */
#ifndef PGCDC_CORE_WATERMARK_H
#define PGCDC_CORE_WATERMARK_H

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "pgcdc.h"

typedef struct pgcdc__chunk {
    pgcdc__buf data; /* the rows, lines of COPY text */
    uint32_t *off;   /* where each row starts */
    uint8_t *dropped;
    uint32_t nrows;
    uint32_t cap;
    pgcdc__buf keys; /* each row's key, as keytext() writes it */
    uint32_t *key_off;
    uint32_t *slots; /* open addressing: row index + 1, 0 empty */
    size_t nslots;
    uint32_t ndropped;
    int ncols;
    int nkey;
    const int *key_cols;
    pgcdc__buf scratch;
} pgcdc__chunk;

/* Starts an empty chunk of rows with ncols columns keyed by key_cols (kept, not copied). */
void pgcdc__chunk_init(pgcdc__chunk *c, int ncols, int nkey, const int *key_cols);
void pgcdc__chunk_free(pgcdc__chunk *c);
/* Adds a row (a line of COPY text with its newline).  PGCDC_OK, NOMEM or PROTOCOL. */
int pgcdc__chunk_add(pgcdc__chunk *c, const char *line, size_t len);
/* Indexes the rows by key, once all are added.  PGCDC_OK or PGCDC_ERR_NOMEM. */
int pgcdc__chunk_index(pgcdc__chunk *c);
/* Drops the row with the key of row (a change's, by the same column indexes); 1 if one was. */
int pgcdc__chunk_drop(pgcdc__chunk *c, const pgcdc_row *row);
/* Drops every row (the table was truncated inside the window). */
void pgcdc__chunk_drop_all(pgcdc__chunk *c);
/* Row i as a writable line without its newline (len set): split it with pgcdc__copy_split. */
char *pgcdc__chunk_row(pgcdc__chunk *c, uint32_t i, size_t *len);

#endif /* PGCDC_CORE_WATERMARK_H */
