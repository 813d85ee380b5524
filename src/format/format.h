/*
 * The formatters' shared parts: the formatter object, one set of functions
 * per format (native.c, debezium.c, wal2json.c), and the writers of values,
 * rows and keys they all use.
 */
#ifndef PGCDC_FORMAT_FORMAT_H
#define PGCDC_FORMAT_FORMAT_H

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "core/row.h"
#include "pgcdc.h"

typedef struct pgcdc__format_ops {
    const char *name;
    /* Each appends the event's lines (perhaps none) to f->out. */
    void (*begin)(pgcdc_formatter *f, const pgcdc_txn *txn);
    void (*change)(pgcdc_formatter *f, const pgcdc_change *c);
    void (*commit)(pgcdc_formatter *f, const pgcdc_txn *txn);
    /* The format's options (properties <name>.<option>), and how one is set from text. */
    const pgcdc_property *properties;
    int nproperties;
    int (*set)(pgcdc_formatter *f, const pgcdc_property *p, const char *value);
    /* What the formatter, as its options stand, needs of the catalog (PGCDC__REL_*), or NULL. */
    int (*needs)(const pgcdc_formatter *f);
    /* Frees f->state, or NULL. */
    void (*free_state)(pgcdc_formatter *f);
    /*
     * Appends the change's message key in the format (nothing when it has
     * none), or NULL for pgcdc__fmt_key's object of the key columns.
     */
    void (*key)(pgcdc_formatter *f, const pgcdc_change *c, pgcdc__buf *out);
} pgcdc__format_ops;

/* The format of that name ("wal2json"), or NULL. */
const pgcdc__format_ops *pgcdc__format_named(const char *name);
/* The i-th format (from 0), NULL past the last. */
const pgcdc__format_ops *pgcdc__format_at(int i);
/* A format's option of that name ('-' and '_' alike), or NULL. */
const pgcdc_property *pgcdc__format_property(const pgcdc__format_ops *ops, const char *name);

extern const pgcdc__format_ops pgcdc__native_format;
extern const pgcdc__format_ops pgcdc__debezium_format;
extern const pgcdc__format_ops pgcdc__wal2json_format;

struct pgcdc_formatter {
    const pgcdc__format_ops *ops;
    char *dbname; /* Debezium's source.db; "" when unknown */
    pgcdc__buf out;
    /* The transaction's fields, formatted once: ,"xid":..,"commit_lsn":"..". */
    const pgcdc_txn *txn_of;
    uint64_t txn_token;
    char txn_text[96];
    size_t txn_len;
    char time_text[48]; /* "...Z" with quotes */
    size_t time_len;
    unsigned options; /* the format's own boolean options, a bit each (wal2json.c) */
    void *state;      /* the format's own state, made by it (debezium.c); NULL until then */
};

/*
 * A relation's names as JSON, built once per relation (in its fmt_cache):
 * "schema":"..","table":"..", the key list ["id",...], and each column's
 * "name": prefix.  NULL when out of memory (the writers then escape anew).
 */
typedef struct pgcdc__rel_text {
    uint32_t head_off, head_len;
    uint32_t pk_off, pk_len;
    uint32_t ncols;
    struct {
        uint32_t off, len;
    } names[];
    /* then the text */
} pgcdc__rel_text;

const pgcdc__rel_text *pgcdc__rel_text_build(const pgcdc__relation *rel);
static inline const pgcdc__rel_text *pgcdc__rel_text_of(const pgcdc__relation *rel)
{
    if (rel->fmt_cache != NULL)
        return rel->fmt_cache;
    return pgcdc__rel_text_build(rel);
}
static inline const char *pgcdc__rel_text_at(const pgcdc__rel_text *rt, uint32_t off)
{
    return (const char *)&rt->names[rt->ncols] + off;
}

/* "schema":"..","table":"..": from the relation's text when built (rt), else escaped anew. */
void pgcdc__fmt_rel_head(pgcdc__buf *j, const pgcdc__relation *rel, const pgcdc__rel_text *rt);
/* A present column's value; in wal2json's way (NaN as null, json quoted) with wal2json. */
void pgcdc__fmt_column(pgcdc__buf *j, const pgcdc_row *row, int col, int wal2json);
/*
 * A row as an object keyed by column name, or null for no row.  Absent
 * columns are left out; unchanged TOAST values are left out too, or written
 * as placeholder when one is given.  Returns how many unchanged TOAST values
 * the row holds.
 */
int pgcdc__fmt_row(pgcdc__buf *j, const pgcdc_row *row, const char *placeholder);
void pgcdc__fmt_bool(pgcdc__buf *j, int on);
/* A begin or commit a format prints nothing for. */
void pgcdc__fmt_no_line(pgcdc_formatter *f, const pgcdc_txn *txn);
/* The key columns' values as an object ({"id":1}); nothing for a change without a key. */
void pgcdc__fmt_key(pgcdc__buf *j, const pgcdc_change *c);

#endif /* PGCDC_FORMAT_FORMAT_H */
