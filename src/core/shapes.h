/*
 * Schema changes: what the transaction assembly needs to hand out a
 * SCHEMA_CHANGE before a table's first change with a new shape.  The
 * relation cache keeps the replaced shape on the new one (its before);
 * this keeps the DDL statements captured for tables (pgcdc.ddl messages)
 * until their next Relation message, and the change handed out with the
 * shape it replaced.  No I/O.
 */
#ifndef PGCDC_CORE_SHAPES_H
#define PGCDC_CORE_SHAPES_H

#include <stddef.h>
#include <stdint.h>

#include "core/row.h"

typedef struct pgcdc__ddl_note pgcdc__ddl_note;

typedef struct pgcdc__shapes {
    int on;
    pgcdc__ddl_note *notes; /* in the order they came; at most PGCDC__DDL_KEPT */
    size_t nnotes;
    /* The schema change handed out last: its old shape and statement are its to free. */
    pgcdc_change change;
    pgcdc__relation *shown;
    char *shown_ddl;
} pgcdc__shapes;

/* DDL statements waiting for their table's next Relation message, at most. */
#define PGCDC__DDL_KEPT 256

void pgcdc__shapes_init(pgcdc__shapes *sh, int on);
void pgcdc__shapes_free(pgcdc__shapes *sh);
/*
 * What the relation cache keeps of a relid's shape when its Relation message
 * comes (PGCDC__KEEP_*): nothing when off, the old shape when it differs,
 * and always when a statement was captured for it.
 */
int pgcdc__shapes_keep(const pgcdc__shapes *sh, uint32_t relid);
/*
 * A pgcdc.ddl message: "<relid> <relid> ...\n<statement>", kept for each
 * table.  A statement that came for a table just before (one query of
 * several commands fires the trigger once per command) is kept once.  0, or
 * PGCDC_ERR_NOMEM.
 */
int pgcdc__shapes_note(pgcdc__shapes *sh, const char *content, size_t len);
/*
 * A change of rel that is not handed out (sent again, skipped, of a table
 * not listed): neither is the schema change before it, nor its statement.
 * Returns 0.
 */
int pgcdc__shapes_seen(pgcdc__shapes *sh, pgcdc__relation *rel);
/*
 * The schema change before rel's next change: rel's shape and its before
 * (taken from rel), no values, the seq the change will take (it takes
 * none: a transaction sent again resumes by its changes' seq, and a shape
 * seen on an earlier connection may come between), the statements captured
 * for it.  Valid until the next call.
 */
const pgcdc_change *pgcdc__shapes_change(pgcdc__shapes *sh, pgcdc__relation *rel,
                                         const pgcdc_txn *txn, uint64_t lsn);

#endif /* PGCDC_CORE_SHAPES_H */
