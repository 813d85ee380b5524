/*
 * Events per table and operation (see tabstats.h): a list of entries that
 * only grows, under a mutex; the counters themselves are atomics outside it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/tabstats.h"

void pgcdc__tabstats_init(pgcdc__tabstats *ts)
{
    memset(ts, 0, sizeof(*ts));
    /* Default attributes: glibc's init cannot fail. */
    pthread_mutex_init(&ts->mu, NULL);
}

void pgcdc__tabstats_destroy(pgcdc__tabstats *ts)
{
    for (int i = 0; i < ts->n; i++) {
        free(ts->v[i]->schema);
        free(ts->v[i]->name);
        free(ts->v[i]);
    }
    free(ts->v);
    pthread_mutex_destroy(&ts->mu);
    ts->v = NULL;
    ts->n = 0;
    ts->cap = 0;
}

static pgcdc__tabstat *entry_new(const char *schema, const char *name)
{
    pgcdc__tabstat *t = calloc(1, sizeof(*t));

    if (t == NULL)
        return NULL;
    t->schema = strdup(schema != NULL ? schema : "");
    t->name = strdup(name != NULL ? name : "");
    if (t->schema == NULL || t->name == NULL) {
        free(t->schema);
        free(t->name);
        free(t);
        return NULL;
    }
    return t;
}

/* Called once per relation and connection, so a walk of the list is cheap enough. */
pgcdc__tabstat *pgcdc__tabstats_get(pgcdc__tabstats *ts, const char *schema, const char *name)
{
    pgcdc__tabstat *t = NULL;

    pthread_mutex_lock(&ts->mu);
    for (int i = 0; i < ts->n; i++) {
        if (strcmp(ts->v[i]->schema, schema != NULL ? schema : "") == 0 &&
            strcmp(ts->v[i]->name, name != NULL ? name : "") == 0) {
            t = ts->v[i];
            goto done;
        }
    }
    if (ts->n == ts->cap) {
        int cap = ts->cap > 0 ? ts->cap * 2 : 16;
        pgcdc__tabstat **v = realloc(ts->v, (size_t)cap * sizeof(*v));

        if (v == NULL)
            goto done;
        ts->v = v;
        ts->cap = cap;
    }
    t = entry_new(schema, name);
    if (t != NULL)
        ts->v[ts->n++] = t;
done:
    pthread_mutex_unlock(&ts->mu);
    return t;
}

int pgcdc__tabstats_read(pgcdc__tabstats *ts, int i, pgcdc_table_stats *out)
{
    const pgcdc__tabstat *t;

    memset(out, 0, sizeof(*out));
    pthread_mutex_lock(&ts->mu);
    if (i < 0 || i >= ts->n) {
        pthread_mutex_unlock(&ts->mu);
        return PGCDC_ERR_RANGE;
    }
    t = ts->v[i];
    snprintf(out->schema, sizeof(out->schema), "%s", t->schema);
    snprintf(out->table, sizeof(out->table), "%s", t->name);
    out->inserts = atomic_load_explicit(&t->n[0], memory_order_relaxed);
    out->updates = atomic_load_explicit(&t->n[1], memory_order_relaxed);
    out->deletes = atomic_load_explicit(&t->n[2], memory_order_relaxed);
    out->truncates = atomic_load_explicit(&t->n[3], memory_order_relaxed);
    out->reads = atomic_load_explicit(&t->n[4], memory_order_relaxed);
    pthread_mutex_unlock(&ts->mu);
    return PGCDC_OK;
}
