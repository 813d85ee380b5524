/*
 * Fuzz target: the COPY text splitter.  Any line either fails or splits
 * into columns that, escaped and joined again, split into the same values.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wire/copy.h"

#define MAXCOLS 16

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    pgcdc__col cols[MAXCOLS];
    pgcdc__col again[MAXCOLS];
    int ncols;
    char *line;
    char *joined;
    size_t n = 0;

    if (size < 1)
        return 0;
    ncols = 1 + data[0] % MAXCOLS;
    line = malloc(size);
    memcpy(line, data + 1, size - 1);
    if (pgcdc__copy_split(line, size - 1, cols, ncols) != 0) {
        free(line);
        return 0;
    }
    joined = malloc(2 * size + 3 * MAXCOLS + 1);
    for (int c = 0; c < ncols; c++) {
        if (c > 0)
            joined[n++] = '\t';
        if (cols[c].kind == PGCDC_COL_NULL) {
            memcpy(joined + n, "\\N", 2);
            n += 2;
            continue;
        }
        /* Values are NUL-terminated in place. */
        if (cols[c].data[cols[c].len] != '\0')
            abort();
        n += pgcdc__copy_escape(cols[c].data, cols[c].len, joined + n);
    }
    if (pgcdc__copy_split(joined, n, again, ncols) != 0)
        abort();
    for (int c = 0; c < ncols; c++) {
        if (again[c].kind != cols[c].kind || again[c].len != cols[c].len ||
            (cols[c].kind == PGCDC_COL_TEXT && memcmp(again[c].data, cols[c].data, cols[c].len)))
            abort();
    }
    free(joined);
    free(line);
    return 0;
}
