/*
 * Relation cache: what the server told us about each relation (Relation
 * messages), by OID.  A new stream sends every relation again: a reconnect
 * marks the entries stale, kept only to compare what comes with them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/filter.h"
#include "core/relcache.h"
#include "pgcdc.h"
#include "wire/types.h"

struct pgcdc__relcache {
    pgcdc__relation **slots; /* open addressing, linear probing */
    size_t cap;              /* power of two */
    size_t count;
};

void pgcdc__relation_free(pgcdc__relation *rel)
{
    if (rel == NULL)
        return;
    pgcdc__relation_free(rel->before);
    pgcdc__relview_free(rel->view);
    for (int i = 0; i < rel->ncols; i++) {
        free(rel->cols[i].name);
        free(rel->cols[i].type_name);
    }
    free(rel->cols);
    free(rel->pk);
    free(rel->fmt_cache);
    free(rel->fmt_extra);
    free(rel->route);
    free(rel->keys);
    free(rel->schema);
    free(rel->name);
    free(rel);
}

pgcdc__relation *pgcdc__relation_derive(const pgcdc__relation *src, size_t ncols, size_t nkeys,
                                        size_t npk)
{
    pgcdc__relation *rel = calloc(1, sizeof(*rel));

    if (rel == NULL)
        return NULL;
    rel->relid = src->relid;
    rel->replident = src->replident;
    rel->wanted = src->wanted;
    rel->schema = strdup(src->schema);
    rel->name = strdup(src->name);
    rel->route = src->route != NULL ? strdup(src->route) : NULL;
    rel->cols = calloc(ncols + 1, sizeof(*rel->cols));
    rel->keys = calloc(nkeys + 1, sizeof(*rel->keys));
    rel->pk = calloc(npk + 1, sizeof(*rel->pk));
    if (rel->schema == NULL || rel->name == NULL || (src->route != NULL && rel->route == NULL) ||
        rel->cols == NULL || rel->keys == NULL || rel->pk == NULL) {
        pgcdc__relation_free(rel);
        return NULL;
    }
    return rel;
}

pgcdc__relcache *pgcdc__relcache_new(void)
{
    pgcdc__relcache *rc = calloc(1, sizeof(*rc));

    if (rc == NULL)
        return NULL;
    rc->cap = 64;
    rc->slots = calloc(rc->cap, sizeof(*rc->slots));
    if (rc->slots == NULL) {
        free(rc);
        return NULL;
    }
    return rc;
}

static void relcache_clear(pgcdc__relcache *rc)
{
    for (size_t i = 0; i < rc->cap; i++) {
        pgcdc__relation_free(rc->slots[i]);
        rc->slots[i] = NULL;
    }
    rc->count = 0;
}

void pgcdc__relcache_free(pgcdc__relcache *rc)
{
    if (rc == NULL)
        return;
    relcache_clear(rc);
    free(rc->slots);
    free(rc);
}

static size_t slot_of(const pgcdc__relcache *rc, uint32_t relid)
{
    size_t i = (size_t)(relid * 2654435761u) & (rc->cap - 1);

    while (rc->slots[i] != NULL && rc->slots[i]->relid != relid)
        i = (i + 1) & (rc->cap - 1);
    return i;
}

pgcdc__relation *pgcdc__relcache_get(pgcdc__relcache *rc, uint32_t relid)
{
    pgcdc__relation *rel = rc->slots[slot_of(rc, relid)];

    return rel != NULL && !rel->stale ? rel : NULL;
}

void pgcdc__relcache_cut(pgcdc__relcache *rc)
{
    for (size_t i = 0; i < rc->cap; i++) {
        if (rc->slots[i] != NULL)
            rc->slots[i]->stale = 1;
    }
}

static int same_text(const char *a, const char *b)
{
    return strcmp(a, b) == 0;
}

int pgcdc__relation_same(const pgcdc__relation *a, const pgcdc__relation *b)
{
    if (a->ncols != b->ncols || a->replident != b->replident || !same_text(a->schema, b->schema) ||
        !same_text(a->name, b->name))
        return 0;
    for (int i = 0; i < a->ncols; i++) {
        const pgcdc__relcol_info *x = &a->cols[i];
        const pgcdc__relcol_info *y = &b->cols[i];

        if (x->sent_oid != y->sent_oid || x->typmod != y->typmod || x->is_ident != y->is_ident ||
            !same_text(x->name, y->name))
            return 0;
    }
    return 1;
}

/* What the new entry rel keeps of old (the entry it replaces, or NULL): see relcache.h. */
static int keep_before(pgcdc__relation *rel, pgcdc__relation *old, int keep)
{
    pgcdc__relation *base = old;

    if (old != NULL && old->before != NULL) {
        base = old->before;
        old->before = NULL;
    }
    if (keep == PGCDC__KEEP_ALWAYS && base == NULL) {
        rel->before = pgcdc__relation_derive(rel, 0, 0, 0);
        return rel->before != NULL ? 0 : -1;
    }
    if (base != NULL && (keep == PGCDC__KEEP_ALWAYS ||
                         (keep == PGCDC__KEEP_CHANGED && !pgcdc__relation_same(rel, base)))) {
        rel->before = base;
        base->stale = 0;
        if (base != old)
            pgcdc__relation_free(old);
        return 0;
    }
    if (base != old)
        pgcdc__relation_free(base);
    pgcdc__relation_free(old);
    return 0;
}

static int grow(pgcdc__relcache *rc)
{
    pgcdc__relcache bigger = {calloc(rc->cap * 2, sizeof(*rc->slots)), rc->cap * 2, 0};

    if (bigger.slots == NULL)
        return -1;
    for (size_t i = 0; i < rc->cap; i++) {
        if (rc->slots[i] != NULL)
            bigger.slots[slot_of(&bigger, rc->slots[i]->relid)] = rc->slots[i];
    }
    free(rc->slots);
    rc->slots = bigger.slots;
    rc->cap = bigger.cap;
    return 0;
}

static pgcdc__relation *relation_from_msg(const pgcdc__msg *msg)
{
    pgcdc__relation *rel = calloc(1, sizeof(*rel));
    int n = msg->u.relation.ncols;

    if (rel == NULL)
        return NULL;
    rel->relid = msg->u.relation.relid;
    rel->replident = msg->u.relation.replident;
    rel->schema = strdup(msg->u.relation.nspname);
    rel->name = strdup(msg->u.relation.relname);
    rel->cols = calloc((size_t)n + 1, sizeof(*rel->cols));
    rel->keys = calloc((size_t)n + 1, sizeof(*rel->keys));
    rel->pk = calloc((size_t)n + 1, sizeof(*rel->pk));
    rel->npk = -1;
    if (rel->schema == NULL || rel->name == NULL || rel->cols == NULL || rel->keys == NULL ||
        rel->pk == NULL)
        goto fail;
    for (int i = 0; i < n; i++) {
        const pgcdc__relcol *src = &msg->u.relation.cols[i];

        rel->cols[i].name = strdup(src->name);
        if (rel->cols[i].name == NULL)
            goto fail;
        rel->ncols++;
        pgcdc__relcol_set_type(&rel->cols[i], src->type_oid);
        rel->cols[i].sent_oid = src->type_oid;
        rel->cols[i].typmod = src->typmod;
        rel->cols[i].not_null = -1;
        rel->cols[i].is_ident = (src->flags & 1) != 0;
        rel->cols[i].is_key = rel->cols[i].is_ident;
        if (rel->cols[i].is_key)
            rel->keys[rel->nkeys++] = i;
    }
    if (asprintf(&rel->route, "%s.%s", rel->schema, rel->name) < 0) {
        rel->route = NULL;
        goto fail;
    }
    return rel;
fail:
    pgcdc__relation_free(rel);
    return NULL;
}

void pgcdc__relcol_set_type(pgcdc__relcol_info *col, uint32_t type_oid)
{
    const pgcdc__type *t = pgcdc__type_of(type_oid);

    col->type_oid = type_oid;
    col->bin_fixed = t->fixed_size;
    col->bin_class = t->bin_class;
    col->json = t->json;
}

pgcdc__relation *pgcdc__relcache_update(pgcdc__relcache *rc, const pgcdc__msg *msg, int keep)
{
    pgcdc__relation *rel = relation_from_msg(msg);
    pgcdc__relation *old;
    size_t i;

    if (rel == NULL)
        return NULL;
    if ((rc->count + 1) * 2 > rc->cap && grow(rc) != 0) {
        pgcdc__relation_free(rel);
        return NULL;
    }
    i = slot_of(rc, rel->relid);
    old = rc->slots[i];
    if (old == NULL)
        rc->count++;
    rc->slots[i] = rel;
    if (keep_before(rel, old, keep) != 0)
        return NULL; /* rel stays cached, with no before */
    return rel;
}

int pgcdc__relation_set_keys(pgcdc__relation *rel, char *const *names, int n)
{
    rel->nkeys = 0;
    for (int i = 0; i < rel->ncols; i++)
        rel->cols[i].is_key = 0;
    for (int k = 0; k < n; k++) {
        for (int i = 0; i < rel->ncols; i++) {
            if (strcmp(rel->cols[i].name, names[k]) == 0) {
                rel->cols[i].is_key = 1;
                rel->keys[rel->nkeys++] = i;
                break;
            }
        }
    }
    return rel->nkeys;
}

int pgcdc__relation_set_types(pgcdc__relation *rel, char *const *names, char *const *types,
                              const uint32_t *oids, const uint32_t *base_oids, int n)
{
    for (int i = 0; i < rel->ncols; i++) {
        for (int k = 0; k < n; k++) {
            if (strcmp(rel->cols[i].name, names[k]) != 0)
                continue;
            /* A column whose type changed since the catalog was read keeps no name. */
            if (rel->cols[i].sent_oid != oids[k])
                break;
            pgcdc__relcol_set_type(&rel->cols[i], base_oids[k]);
            free(rel->cols[i].type_name);
            rel->cols[i].type_name = strdup(types[k]);
            if (rel->cols[i].type_name == NULL)
                return PGCDC_ERR_NOMEM;
            break;
        }
    }
    return PGCDC_OK;
}

int pgcdc__relation_name_types(pgcdc__relation *rel)
{
    int missing = 0;

    for (int i = 0; i < rel->ncols; i++) {
        pgcdc__relcol_info *col = &rel->cols[i];
        char name[128];

        if (pgcdc__type_name(col->sent_oid, col->typmod, name, sizeof(name))) {
            char *copy = strdup(name);

            if (copy == NULL)
                return PGCDC_ERR_NOMEM;
            free(col->type_name);
            col->type_name = copy;
        }
        missing += col->type_name == NULL;
    }
    return missing;
}

int pgcdc__relation_complete(pgcdc__relation *rel, const pgcdc__tableset *ts)
{
    const pgcdc__table_info *t = pgcdc__tableset_find(ts, rel->relid);

    rel->wanted = ts->ntables == 0 || t != NULL;
    if (t != NULL && t->npk > 0 && pgcdc__relation_set_keys(rel, t->pk, t->npk) < 0)
        return PGCDC_ERR_NOMEM;
    if (t != NULL && pgcdc__relation_set_types(rel, t->col_names, t->col_types, t->col_oids,
                                               t->col_base_oids, t->ncols) != 0)
        return PGCDC_ERR_NOMEM;
    if (pgcdc__relation_name_types(rel) < 0)
        return PGCDC_ERR_NOMEM;
    return PGCDC_OK;
}
