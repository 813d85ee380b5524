/*
 * The tables a worker streams: the names the user listed, and what the
 * catalog found for each (OID, key, column types), by which Relation
 * messages are completed and filtered.
 */
#ifndef PGCDC_CORE_TABLES_H
#define PGCDC_CORE_TABLES_H

#include <stdint.h>

typedef struct pgcdc__table_name {
    char *schema; /* NULL: resolve through search_path */
    char *name;
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
} pgcdc__table_info;

typedef struct pgcdc__tableset {
    pgcdc__table_info *tables;
    int ntables;
} pgcdc__tableset;

void pgcdc__tableset_clear(pgcdc__tableset *ts);
/* The listed table with this OID, or NULL. */
const pgcdc__table_info *pgcdc__tableset_find(const pgcdc__tableset *ts, uint32_t oid);
/* 1 if there are tables and every column of every one can be read in binary. */
int pgcdc__tableset_binary_ok(const pgcdc__tableset *ts);

#endif /* PGCDC_CORE_TABLES_H */
