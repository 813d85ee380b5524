/*
 * Relation cache: what the server told us about each relation (Relation
 * messages), by OID.  Per connection: cleared on reconnect, because the
 * server sends every relation again on a new stream.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "json.h"
#include "value.h"

struct pgcdc__relcache {
    pgcdc__relation **slots; /* open addressing, linear probing */
    size_t cap;              /* power of two */
    size_t count;
};

static void relation_free(pgcdc__relation *rel)
{
    if (rel == NULL)
        return;
    for (int i = 0; i < rel->ncols; i++) {
        free(rel->cols[i].name);
        free(rel->cols[i].type_name);
        if (rel->json_keys != NULL)
            free(rel->json_keys[i]);
    }
    free(rel->cols);
    free(rel->json_keys);
    free(rel->json_key_lens);
    free(rel->json_head);
    free(rel->json_pk);
    free(rel->keys);
    free(rel->schema);
    free(rel->name);
    free(rel);
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

void pgcdc__relcache_clear(pgcdc__relcache *rc)
{
    for (size_t i = 0; i < rc->cap; i++) {
        relation_free(rc->slots[i]);
        rc->slots[i] = NULL;
    }
    rc->count = 0;
}

void pgcdc__relcache_free(pgcdc__relcache *rc)
{
    if (rc == NULL)
        return;
    pgcdc__relcache_clear(rc);
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
    return rc->slots[slot_of(rc, relid)];
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

/* The text of one JSON fragment, as a malloc'd string (NULL on out of memory). */
static char *take(pgcdc__json *j, uint32_t *len)
{
    const char *text = pgcdc__json_finish(j);
    char *copy = text != NULL ? strdup(text) : NULL;

    if (copy != NULL && len != NULL)
        *len = (uint32_t)j->len;
    pgcdc__json_reset(j);
    return copy;
}

/* Escapes names once here rather than for every change. */
static int build_json(pgcdc__relation *rel)
{
    pgcdc__json j;
    int ok = 1;

    rel->json_keys = calloc((size_t)rel->ncols + 1, sizeof(*rel->json_keys));
    rel->json_key_lens = calloc((size_t)rel->ncols + 1, sizeof(*rel->json_key_lens));
    if (rel->json_keys == NULL || rel->json_key_lens == NULL)
        return -1;
    pgcdc__json_init(&j);
    for (int i = 0; i < rel->ncols && ok; i++) {
        pgcdc__json_cstring(&j, rel->cols[i].name);
        pgcdc__json_char(&j, ':');
        rel->json_keys[i] = take(&j, &rel->json_key_lens[i]);
        ok = rel->json_keys[i] != NULL;
    }
    pgcdc__json_lit(&j, "\"schema\":");
    pgcdc__json_cstring(&j, rel->schema);
    pgcdc__json_lit(&j, ",\"table\":");
    pgcdc__json_cstring(&j, rel->name);
    rel->json_head = take(&j, NULL);
    pgcdc__json_free(&j);
    return ok && rel->json_head != NULL ? 0 : -1;
}

/* The key column list, rebuilt whenever the keys change. */
static int build_json_pk(pgcdc__relation *rel)
{
    pgcdc__json j;

    free(rel->json_pk);
    pgcdc__json_init(&j);
    pgcdc__json_char(&j, '[');
    for (int k = 0; k < rel->nkeys; k++) {
        if (k > 0)
            pgcdc__json_char(&j, ',');
        pgcdc__json_cstring(&j, rel->cols[rel->keys[k]].name);
    }
    pgcdc__json_char(&j, ']');
    rel->json_pk = take(&j, NULL);
    pgcdc__json_free(&j);
    return rel->json_pk != NULL ? 0 : -1;
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
    if (rel->schema == NULL || rel->name == NULL || rel->cols == NULL || rel->keys == NULL)
        goto fail;
    for (int i = 0; i < n; i++) {
        const pgcdc__relcol *src = &msg->u.relation.cols[i];

        rel->cols[i].name = strdup(src->name);
        if (rel->cols[i].name == NULL)
            goto fail;
        rel->ncols++;
        pgcdc__relcol_set_type(&rel->cols[i], src->type_oid);
        rel->cols[i].typmod = src->typmod;
        rel->cols[i].is_ident = (src->flags & 1) != 0;
        rel->cols[i].is_key = rel->cols[i].is_ident;
        if (rel->cols[i].is_key)
            rel->keys[rel->nkeys++] = i;
    }
    if (build_json(rel) != 0 || build_json_pk(rel) != 0)
        goto fail;
    return rel;
fail:
    relation_free(rel);
    return NULL;
}

void pgcdc__relcol_set_type(pgcdc__relcol_info *col, uint32_t type_oid)
{
    col->type_oid = type_oid;
    col->bin_fixed = (uint8_t)pgcdc__binary_fixed_size(type_oid);
    switch (type_oid) {
    case PGCDC_OID_TEXT:
    case PGCDC_OID_VARCHAR:
    case PGCDC_OID_BPCHAR:
    case PGCDC_OID_NAME:
    case PGCDC_OID_JSON:
        col->bin_class = PGCDC__BIN_TEXT;
        break;
    case PGCDC_OID_JSONB:
        col->bin_class = PGCDC__BIN_JSONB;
        break;
    default:
        col->bin_class = col->bin_fixed > 0 ? PGCDC__BIN_FIXED : PGCDC__BIN_CONVERT;
        break;
    }
}

pgcdc__relation *pgcdc__relcache_update(pgcdc__relcache *rc, const pgcdc__msg *msg)
{
    pgcdc__relation *rel = relation_from_msg(msg);
    size_t i;

    if (rel == NULL)
        return NULL;
    if ((rc->count + 1) * 2 > rc->cap && grow(rc) != 0) {
        relation_free(rel);
        return NULL;
    }
    i = slot_of(rc, rel->relid);
    if (rc->slots[i] != NULL)
        relation_free(rc->slots[i]);
    else
        rc->count++;
    rc->slots[i] = rel;
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
    if (build_json_pk(rel) != 0)
        return PGCDC_ERR_NOMEM;
    return rel->nkeys;
}

int pgcdc__relation_set_types(pgcdc__relation *rel, char *const *names, char *const *types,
                              const uint32_t *oids, const uint32_t *base_oids, int n)
{
    for (int i = 0; i < rel->ncols; i++) {
        for (int k = 0; k < n; k++) {
            if (strcmp(rel->cols[i].name, names[k]) != 0)
                continue;
            if (rel->cols[i].type_oid == oids[k])
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
