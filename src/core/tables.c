/*
 * The listed tables and what the catalog found for them.
 */
#include <stdlib.h>
#include <string.h>

#include "core/filter.h"
#include "core/tables.h"
#include "wire/types.h"

int pgcdc__table_name_match(const pgcdc__table_name *tn, const char *schema, const char *name)
{
    if (tn->schema != NULL &&
        !((tn->glob & 1) ? pgcdc__glob_match(tn->schema, schema) : strcmp(tn->schema, schema) == 0))
        return 0;
    return (tn->glob & 2) ? pgcdc__glob_match(tn->name, name) : strcmp(tn->name, name) == 0;
}

void pgcdc__tableset_clear(pgcdc__tableset *ts)
{
    for (int i = 0; i < ts->ntables; i++) {
        pgcdc__table_info *t = &ts->tables[i];

        free(t->schema);
        free(t->name);
        free(t->quoted);
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
    for (int i = 0; i < ts->nparts; i++)
        free(ts->parts[i].quoted);
    free(ts->parts);
    memset(ts, 0, sizeof(*ts));
}

const pgcdc__table_info *pgcdc__tableset_find(const pgcdc__tableset *ts, uint32_t oid)
{
    for (int i = 0; i < ts->ntables; i++) {
        if (ts->tables[i].oid == oid)
            return &ts->tables[i];
    }
    for (int i = 0; i < ts->nparts; i++) {
        if (ts->parts[i].oid == oid)
            return &ts->tables[ts->parts[i].root];
    }
    return NULL;
}

int pgcdc__tableset_has_partitioned(const pgcdc__tableset *ts)
{
    for (int i = 0; i < ts->ntables; i++) {
        if (ts->tables[i].partitioned)
            return 1;
    }
    return 0;
}

pgcdc__table_part *pgcdc__tableset_add_part(pgcdc__tableset *ts, uint32_t oid, int root,
                                            const char *quoted)
{
    pgcdc__table_part *part;

    for (int i = 0; i < ts->nparts; i++) {
        if (ts->parts[i].oid == oid)
            return &ts->parts[i];
    }
    if (ts->nparts == ts->cap_parts) {
        int cap = ts->cap_parts > 0 ? ts->cap_parts * 2 : 8;
        pgcdc__table_part *grown = realloc(ts->parts, (size_t)cap * sizeof(*grown));

        if (grown == NULL)
            return NULL;
        ts->parts = grown;
        ts->cap_parts = cap;
    }
    part = &ts->parts[ts->nparts];
    memset(part, 0, sizeof(*part));
    part->oid = oid;
    part->root = root;
    if (quoted != NULL) {
        part->quoted = strdup(quoted);
        if (part->quoted == NULL)
            return NULL;
    }
    ts->nparts++;
    return part;
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
