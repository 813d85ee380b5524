/*
 * Routing tables to sinks: a sink given routes takes the changes and
 * snapshot rows of those tables only; begin and commit events still reach
 * every sink.  A route is "table" (in any schema), "schema.table" or
 * "schema.*".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

int pgcdc_config_route_sink(pgcdc_config *cfg, const char *table)
{
    pgcdc__sink_spec *s;
    pgcdc__route *grown;
    const char *why = NULL;
    char *schema;
    char *name;

    if (cfg->nsinks == 0)
        return pgcdc__config_fail(cfg, PGCDC_ERR_INVALID,
                                  "a route goes with a sink (add the sink first)");
    if (table == NULL)
        return pgcdc__config_fail(cfg, PGCDC_ERR_INVALID, "table name is NULL");
    if (pgcdc__config_parse_table(table, 1, &schema, &name, &why) < 0) {
        if (why == NULL)
            return pgcdc__config_fail(cfg, PGCDC_ERR_NOMEM, "out of memory");
        return pgcdc__config_fail(cfg, PGCDC_ERR_INVALID, "%s (or schema.* for all its tables)",
                                  why);
    }
    s = &cfg->sinks[cfg->nsinks - 1];
    grown = realloc(s->routes, (size_t)(s->nroutes + 1) * sizeof(*grown));
    if (grown == NULL) {
        free(schema);
        free(name);
        return pgcdc__config_fail(cfg, PGCDC_ERR_NOMEM, "out of memory");
    }
    s->routes = grown;
    s->routes[s->nroutes].schema = schema;
    s->routes[s->nroutes].name = name;
    s->nroutes++;
    return PGCDC_OK;
}

void pgcdc__routes_free(pgcdc__sink_spec *s)
{
    for (int i = 0; i < s->nroutes; i++) {
        free(s->routes[i].schema);
        free(s->routes[i].name);
    }
    free(s->routes);
    s->routes = NULL;
    s->nroutes = 0;
}

static int dup_part(const char *src, char **dst)
{
    *dst = NULL;
    if (src == NULL)
        return 0;
    *dst = strdup(src);
    return *dst != NULL ? 0 : -1;
}

int pgcdc__routes_copy(pgcdc__sink_spec *dst, const pgcdc__sink_spec *src)
{
    dst->routes = NULL;
    dst->nroutes = 0;
    if (src->nroutes == 0)
        return 0;
    dst->routes = calloc((size_t)src->nroutes, sizeof(*dst->routes));
    if (dst->routes == NULL)
        return -1;
    dst->nroutes = src->nroutes;
    for (int i = 0; i < src->nroutes; i++) {
        if (dup_part(src->routes[i].schema, &dst->routes[i].schema) != 0 ||
            dup_part(src->routes[i].name, &dst->routes[i].name) != 0)
            return -1;
    }
    return 0;
}

int pgcdc__route_match(const pgcdc__sink_spec *s, const char *schema, const char *name)
{
    if (s->nroutes == 0)
        return 1;
    for (int i = 0; i < s->nroutes; i++) {
        const pgcdc__route *r = &s->routes[i];

        if ((r->schema == NULL || strcmp(r->schema, schema) == 0) &&
            (r->name == NULL || strcmp(r->name, name) == 0))
            return 1;
    }
    return 0;
}

/* A route could match a table of the list (an unqualified part matches any schema). */
static int route_listed(const pgcdc_config *cfg, const pgcdc__route *r)
{
    for (int i = 0; i < cfg->ntables; i++) {
        const pgcdc__table_name *t = &cfg->tables[i];

        /* A pattern is resolved against the catalog at the start: any route may be among it. */
        if (t->glob)
            return 1;
        if ((r->schema == NULL || t->schema == NULL || strcmp(r->schema, t->schema) == 0) &&
            (r->name == NULL || strcmp(r->name, t->name) == 0))
            return 1;
    }
    return 0;
}

int pgcdc__routes_check(const pgcdc_config *cfg, char *msg, size_t size)
{
    if (cfg->ntables == 0)
        return PGCDC_OK; /* the publication's tables are known only once connected */
    for (int i = 0; i < cfg->nsinks; i++) {
        const pgcdc__sink_spec *s = &cfg->sinks[i];

        for (int k = 0; k < s->nroutes; k++) {
            const pgcdc__route *r = &s->routes[k];
            char shown[512];

            if (route_listed(cfg, r))
                continue;
            pgcdc__sink_uri_shown(s->uri, shown, sizeof(shown));
            snprintf(msg, size,
                     "sink \"%s\" is routed %s%s%s, which is not among the tables streamed "
                     "(add it to the tables, or mend the route)",
                     shown, r->schema != NULL ? r->schema : "", r->schema != NULL ? "." : "",
                     r->name != NULL ? r->name : "*");
            return PGCDC_ERR_INVALID;
        }
    }
    return PGCDC_OK;
}

int pgcdc_config_check(pgcdc_config *cfg)
{
    char msg[PGCDC__MSG_SIZE];

    if (cfg->error_policy == PGCDC_ON_ERROR_DEAD_LETTER && cfg->dead_letter_path == NULL)
        return pgcdc__config_fail(cfg, PGCDC_ERR_INVALID,
                                  "the dead-letter policy needs a file (set dead_letter)");
    if (pgcdc__routes_check(cfg, msg, sizeof(msg)) != PGCDC_OK)
        return pgcdc__config_fail(cfg, PGCDC_ERR_INVALID, "%s", msg);
    return PGCDC_OK;
}
