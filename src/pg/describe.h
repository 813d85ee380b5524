/*
 * Questions to the catalog while streaming, on a SQL connection of its own
 * opened on first use: who holds the slot, and to complete a relation: the names of the types the
 * type table cannot name (format_type() of the OID and modifier the Relation message gave), and on
 * request each column's NOT NULL and the table's primary key.
 */
#ifndef PGCDC_PG_DESCRIBE_H
#define PGCDC_PG_DESCRIBE_H

#include "base/log.h"
#include "core/relcache.h"
#include "core/tables.h"

typedef struct pgcdc__describer pgcdc__describer;

/* NULL on out of memory; connects only when first needed. */
pgcdc__describer *pgcdc__describer_new(pgcdc__ctx *ctx, const char *conninfo);
void pgcdc__describer_free(pgcdc__describer *d);

/*
 * Names rel's columns that have no type name yet, and reads what flags ask
 * for (PGCDC__REL_NOT_NULL, PGCDC__REL_PK).  The names follow the OIDs and
 * modifiers of the Relation message; NOT NULL and the key are the catalog's
 * now (which a later ALTER may have changed).  PGCDC_OK, or an error from
 * the connection or the queries (the caller may try again: the connection
 * is opened anew next time).
 */
int pgcdc__describe(pgcdc__describer *d, pgcdc__relation *rel, int flags);
/*
 * The server process holding the slot (0 when free) into *pid, on the same
 * connection: PGCDC_OK, or the slot's error (missing, unusable) or the
 * connection's.
 */
int pgcdc__describe_slot_holder(pgcdc__describer *d, const char *slot, int *pid);
/*
 * For a relation that is not listed, while a listed table is partitioned:
 * when one of its ancestors (as the catalog has them now) is listed, adds it
 * to ts as a partition of that table and marks rel wanted, completed with the
 * table's key and type names (a partition created or attached after the
 * start).  PGCDC_OK, or an error: PGCDC_ERR_CONNECT when the connection
 * broke (the next call opens another), else the query's.
 */
int pgcdc__describe_ancestors(pgcdc__describer *d, pgcdc__relation *rel, pgcdc__tableset *ts);

#endif /* PGCDC_PG_DESCRIBE_H */
