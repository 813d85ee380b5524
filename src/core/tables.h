/*
 * The tables a worker streams: the names the user listed, and what the
 * catalog found for each (OID, key, column types), by which Relation
 * messages are completed and filtered.  The partitions of a listed
 * partitioned table count as listed: the server sends their changes under
 * their own names unless the publication publishes via the partition root.
 */
#ifndef PGCDC_CORE_TABLES_H
#define PGCDC_CORE_TABLES_H

#include <stdint.h>

typedef struct pgcdc__table_name {
    char *schema; /* NULL: resolve through search_path */
    char *name;
    int glob; /* 1: schema (when given) or name is a pattern (* and ? in an unquoted part) */
} pgcdc__table_name;

typedef struct pgcdc__table_info {
    uint32_t oid;
    char *schema;
    char *name;
    char replident;
    int npk;
    char **pk; /* primary-key column names, in key order */
    int ncols;
    char **col_names; /* ncols column names, their format_type() and type OIDs */
    char **col_types;
    uint32_t *col_oids;
    uint32_t *col_base_oids; /* the base type of a domain, else the type */
    char *quoted;            /* schema.name as SQL spells it (quote_ident of each) */
    int partitioned;         /* a partitioned table: its partitions count as listed */
    int where_pushed;        /* its row filter is the publication's (PostgreSQL 15) */
} pgcdc__table_info;

/* A partition (at any depth) of a listed partitioned table. */
typedef struct pgcdc__table_part {
    uint32_t oid;
    int root;        /* index in tables of the listed table it belongs to */
    char *quoted;    /* schema.name as SQL spells it; NULL when not known */
    int no_identity; /* a leaf whose UPDATE and DELETE would fail once published */
} pgcdc__table_part;

typedef struct pgcdc__tableset {
    pgcdc__table_info *tables;
    int ntables;
    pgcdc__table_part *parts;
    int nparts;
    int cap_parts;
} pgcdc__tableset;

/* 1 when schema.name is what tn names (a pattern matching, or the name itself). */
int pgcdc__table_name_match(const pgcdc__table_name *tn, const char *schema, const char *name);

void pgcdc__tableset_clear(pgcdc__tableset *ts);
/* The listed table with this OID, or the one a known partition with this OID belongs to; NULL. */
const pgcdc__table_info *pgcdc__tableset_find(const pgcdc__tableset *ts, uint32_t oid);
/* 1 if a listed table is partitioned (its partitions may come and go while streaming). */
int pgcdc__tableset_has_partitioned(const pgcdc__tableset *ts);
/*
 * Records oid as a partition of tables[root] (quoted may be NULL; it is
 * copied).  Returns the entry (the existing one for a known OID), or NULL
 * on out of memory.
 */
pgcdc__table_part *pgcdc__tableset_add_part(pgcdc__tableset *ts, uint32_t oid, int root,
                                            const char *quoted);
/* 1 if there are tables and every column of every one can be read in binary. */
int pgcdc__tableset_binary_ok(const pgcdc__tableset *ts);

#endif /* PGCDC_CORE_TABLES_H */
