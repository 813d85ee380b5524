/*
 * Declarative filters: which operations, rows and columns of the listed
 * tables are handed out, and which values are masked.  Built once at the
 * start from the configuration; applied to each change before the handler,
 * the formats and the sinks see it, so that every one of them sees the same
 * filtered, masked change.  Pure logic: no I/O, no allocation per change
 * once the buffers have grown to the widest table.
 */
#ifndef PGCDC_CORE_FILTER_H
#define PGCDC_CORE_FILTER_H

#include <stdint.h>

#include "base/buf.h"
#include "core/filter_expr.h"
#include "core/relcache.h"
#include "core/row.h"
#include "core/tables.h"

/* Operations (filter.ops), as bits. */
#define PGCDC__FOP_INSERT 1
#define PGCDC__FOP_UPDATE 2
#define PGCDC__FOP_DELETE 4
#define PGCDC__FOP_TRUNCATE 8
#define PGCDC__FOP_ALL 15

/* How a column is masked. */
#define PGCDC__MASK_HASH 1
#define PGCDC__MASK_REDACT 2

/* What a redacted value becomes. */
#define PGCDC__REDACTED "***"

/* The filters of one table (by name, as the configuration gave it). */
typedef struct pgcdc__tfilter {
    char *schema; /* NULL: the table of that name in any schema */
    char *name;
    char **cols; /* filter.columns (include) or filter.exclude_columns */
    int ncols;
    int exclude;
    char *where_text;
    pgcdc__fexpr *where;
    char **mask_cols;
    uint8_t *mask_kinds; /* PGCDC__MASK_* */
    int nmasks;
} pgcdc__tfilter;

typedef struct pgcdc__filterset {
    int ops; /* PGCDC__FOP_* bits handed out */
    pgcdc__tfilter *tables;
    int ntables;
    char *salt; /* mask.salt: hashed before each value (NULL: none) */
    /* The change handed out in place of a filtered one, and its storage. */
    pgcdc_change change;
    pgcdc__col *cols; /* the old row's columns, then the new row's */
    int cap_cols;
    pgcdc__buf masks; /* hashed values of that change */
} pgcdc__filterset;

/* An empty set (every operation, no table filter). */
void pgcdc__filterset_init(pgcdc__filterset *fs);
void pgcdc__filterset_clear(pgcdc__filterset *fs);
/* 1 when it filters or masks anything at all. */
int pgcdc__filterset_active(const pgcdc__filterset *fs);
/*
 * The table's filters, made on first use: schema may be NULL (any schema).
 * NULL on out of memory.
 */
pgcdc__tfilter *pgcdc__filterset_add(pgcdc__filterset *fs, const char *schema, const char *name);
/* The filters of schema.name (an exact entry first, then one without schema); NULL: none. */
const pgcdc__tfilter *pgcdc__filterset_find(const pgcdc__filterset *fs, const char *schema,
                                            const char *name);
/*
 * Parses "insert,update" into PGCDC__FOP_* bits: 0 and *ops, or -1 with
 * the word that is not an operation in bad (size n).
 */
int pgcdc__filter_parse_ops(const char *text, int *ops, char *bad, size_t n);
/* Operations as the publication option publish takes them ("insert, update"). */
void pgcdc__filter_ops_text(int ops, char *buf, size_t n);
/* Splits "a, b,c" into malloc'd trimmed words; 0, -1 when a word is empty, -2 out of memory. */
int pgcdc__filter_split(const char *text, char ***out, int *n);
void pgcdc__filter_free_words(char **words, int n);

/*
 * Whether the table t of the catalog keeps column col (key: a primary-key
 * or replica identity column, always kept) under tf's column lists.
 */
int pgcdc__tfilter_keeps(const pgcdc__tfilter *tf, const char *col, int key);
/*
 * Checks every table filter against the tables the catalog found (when
 * tables are listed): it names one of them, its columns exist, no key
 * column is excluded, its row filter's columns exist and its literals suit
 * their types.  0, or -1 with a one-line message in msg.
 */
int pgcdc__filterset_check(const pgcdc__filterset *fs, const pgcdc__tableset *ts, char *msg,
                           size_t size);

/*
 * Applies the filters to change c of the tables ts: 0 when it is filtered
 * out; 1 with *out the change to hand out (c itself, or the set's own copy
 * with columns left out and values masked, valid until the next call);
 * PGCDC_ERR_NOMEM.  Operations outside filter.ops, and rows the row filter
 * cannot match, are filtered out; READ rows pass the operation filter.
 */
int pgcdc__filter_change(pgcdc__filterset *fs, const pgcdc__tableset *ts, const pgcdc_change *c,
                         const pgcdc_change **out);

/* Frees the per-relation state the filters keep on a relation (relcache.c). */
void pgcdc__relview_free(struct pgcdc__relview *v);

/* 1 when the glob (* any run, ? one character) matches text. */
int pgcdc__glob_match(const char *glob, const char *text);

#endif /* PGCDC_CORE_FILTER_H */
