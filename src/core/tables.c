/*
 * The listed tables and what the catalog found for them.
 */
#include <stdlib.h>
#include <string.h>

#include "core/tables.h"
#include "wire/types.h"

void pgcdc__tableset_clear(pgcdc__tableset *ts)
{
    for (int i = 0; i < ts->ntables; i++) {
        pgcdc__table_info *t = &ts->tables[i];

        free(t->schema);
        free(t->name);
        for (int k = 0; k < t->npk; k++)
            free(t->pk[k]);
        free(t->pk);
        for (int k = 0; k < t->ncols; k++) {
            free(t->col_names[k]);
            free(t->col_types[k]);
        }
        free(t->col_names);
        free(t->col_types);
        free(t->col_oids);
        free(t->col_base_oids);
    }
    free(ts->tables);
    memset(ts, 0, sizeof(*ts));
}

const pgcdc__table_info *pgcdc__tableset_find(const pgcdc__tableset *ts, uint32_t oid)
{
    for (int i = 0; i < ts->ntables; i++) {
        if (ts->tables[i].oid == oid)
            return &ts->tables[i];
    }
    return NULL;
}

int pgcdc__tableset_binary_ok(const pgcdc__tableset *ts)
{
    if (ts->ntables == 0)
        return 0;
    for (int i = 0; i < ts->ntables; i++) {
        for (int k = 0; k < ts->tables[i].ncols; k++) {
            if (pgcdc__type_of(ts->tables[i].col_base_oids[k])->bin_class == PGCDC__BIN_NONE)
                return 0;
        }
    }
    return 1;
}
