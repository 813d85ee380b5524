/*
 * The YAML configuration file (see config_file.h), read with libyaml's
 * document API, whose nodes keep their place in the file.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "config_file.h"

typedef struct reader {
    const char *path;
    yaml_document_t doc;
    pgcdc_tool_config_file *f;
    char *err;
    size_t errlen;
} reader;

__attribute__((format(printf, 3, 4))) static int fail(reader *r, const yaml_mark_t *m,
                                                      const char *fmt, ...)
{
    va_list ap;
    int n = snprintf(r->err, r->errlen, "%s:%zu:%zu: ", r->path, m->line + 1, m->column + 1);

    if (n < 0 || (size_t)n >= r->errlen)
        return -1;
    va_start(ap, fmt);
    vsnprintf(r->err + n, r->errlen - (size_t)n, fmt, ap);
    va_end(ap);
    return -1;
}

static int oom(reader *r)
{
    snprintf(r->err, r->errlen, "%s: out of memory", r->path);
    return -1;
}

int pgcdc_tool_key_is(const char *key, const char *name)
{
    for (; *key != '\0' && *name != '\0'; key++, name++) {
        char a = *key == '-' ? '_' : *key;
        char b = *name == '-' ? '_' : *name;

        if (a != b)
            return 0;
    }
    return *key == '\0' && *name == '\0';
}

/* Appends n bytes to a growing string. */
static int put(char **s, size_t *len, size_t *cap, const char *p, size_t n)
{
    if (*len + n + 1 > *cap) {
        size_t want = (*len + n + 1) * 2;
        char *grown = realloc(*s, want);

        if (grown == NULL)
            return -1;
        *s = grown;
        *cap = want;
    }
    memcpy(*s + *len, p, n);
    *len += n;
    (*s)[*len] = '\0';
    return 0;
}

/* ${VAR}, ${VAR:-default} and $$ in a value. */
static int substitute(reader *r, const yaml_node_t *node, char **out)
{
    const char *in = (const char *)node->data.scalar.value;
    size_t len = 0;
    size_t cap = 0;
    char *s = NULL;

    if (put(&s, &len, &cap, "", 0) != 0)
        return oom(r);
    while (*in != '\0') {
        const char *dollar = strchr(in, '$');
        const char *name;
        const char *end;
        const char *value;
        size_t nlen;
        char var[256];

        if (dollar == NULL)
            dollar = in + strlen(in);
        if (put(&s, &len, &cap, in, (size_t)(dollar - in)) != 0)
            goto nomem;
        in = dollar;
        if (*in == '\0')
            break;
        if (in[1] == '$' || in[1] != '{') {
            /* $$ is one dollar; a dollar before anything else is itself. */
            if (put(&s, &len, &cap, "$", 1) != 0)
                goto nomem;
            in += in[1] == '$' ? 2 : 1;
            continue;
        }
        name = in + 2;
        end = strchr(name, '}');
        if (end == NULL) {
            free(s);
            return fail(r, &node->start_mark, "\"${\" without its \"}\" (write $$ for a dollar)");
        }
        nlen = strcspn(name, ":}");
        if (nlen == 0 || nlen >= sizeof(var) ||
            !(isalpha((unsigned char)name[0]) || name[0] == '_')) {
            free(s);
            return fail(r, &node->start_mark,
                        "\"%.*s\" is not an environment variable's name (use letters, digits and "
                        "_, as in ${PGPASSWORD})",
                        (int)(end - name), name);
        }
        for (size_t i = 0; i < nlen; i++) {
            if (!isalnum((unsigned char)name[i]) && name[i] != '_') {
                free(s);
                return fail(r, &node->start_mark,
                            "\"%.*s\" is not an environment variable's name (use letters, digits "
                            "and _, as in ${PGPASSWORD})",
                            (int)nlen, name);
            }
        }
        memcpy(var, name, nlen);
        var[nlen] = '\0';
        value = getenv(var);
        if (name[nlen] == ':') {
            if (name[nlen + 1] != '-') {
                free(s);
                return fail(r, &node->start_mark,
                            "\"${%s:\" must go on with \"-\" and a default: ${%s:-default}", var,
                            var);
            }
            if (value == NULL || value[0] == '\0')
                value = NULL;
            if (value == NULL &&
                put(&s, &len, &cap, name + nlen + 2, (size_t)(end - (name + nlen + 2))) != 0)
                goto nomem;
        } else if (value == NULL) {
            free(s);
            return fail(r, &node->start_mark,
                        "environment variable %s is not set (set it, or give a default: "
                        "${%s:-default})",
                        var, var);
        }
        if (value != NULL && put(&s, &len, &cap, value, strlen(value)) != 0)
            goto nomem;
        in = end + 1;
    }
    *out = s;
    return 0;
nomem:
    free(s);
    return oom(r);
}

static int add(reader *r, const char *key, const yaml_node_t *value, int pipeline)
{
    pgcdc_tool_config_file *f = r->f;
    pgcdc_tool_setting *st;
    char *v;

    if (substitute(r, value, &v) != 0)
        return -1;
    if (f->nsettings % 32 == 0) {
        pgcdc_tool_setting *grown =
            realloc(f->settings, sizeof(*grown) * (size_t)(f->nsettings + 32));

        if (grown == NULL) {
            free(v);
            return oom(r);
        }
        f->settings = grown;
    }
    st = &f->settings[f->nsettings];
    st->key = strdup(key);
    if (st->key == NULL) {
        free(v);
        return oom(r);
    }
    st->value = v;
    st->line = (int)value->start_mark.line + 1;
    st->column = (int)value->start_mark.column + 1;
    st->pipeline = pipeline;
    f->nsettings++;
    return 0;
}

static int walk_map(reader *r, yaml_node_t *map, const char *prefix, int pipeline);

/* The value of key in map, or NULL. */
static yaml_node_t *map_get(reader *r, yaml_node_t *map, const char *key)
{
    for (yaml_node_pair_t *pr = map->data.mapping.pairs.start; pr < map->data.mapping.pairs.top;
         pr++) {
        yaml_node_t *k = yaml_document_get_node(&r->doc, pr->key);

        if (k != NULL && k->type == YAML_SCALAR_NODE &&
            pgcdc_tool_key_is((const char *)k->data.scalar.value, key))
            return yaml_document_get_node(&r->doc, pr->value);
    }
    return NULL;
}

/*
 * A sink of the sinks list given as a map, - uri: URI with tables: [a, b]:
 * the sink, then a route setting per table (the routes follow their sink).
 */
static int routed_sink(reader *r, yaml_node_t *map, int pipeline)
{
    yaml_node_t *uri = map_get(r, map, "uri");
    yaml_node_t *tables = map_get(r, map, "tables");

    for (yaml_node_pair_t *pr = map->data.mapping.pairs.start; pr < map->data.mapping.pairs.top;
         pr++) {
        yaml_node_t *k = yaml_document_get_node(&r->doc, pr->key);

        if (k == NULL || k->type != YAML_SCALAR_NODE ||
            (!pgcdc_tool_key_is((const char *)k->data.scalar.value, "uri") &&
             !pgcdc_tool_key_is((const char *)k->data.scalar.value, "tables")))
            return fail(r, k != NULL ? &k->start_mark : &map->start_mark,
                        "a sink in a list is a URI, or a map of uri and tables (- uri: URI)");
    }
    if (uri == NULL || uri->type != YAML_SCALAR_NODE)
        return fail(r, &map->start_mark, "this sink has no uri (- uri: URI, tables: [...])");
    if (add(r, "sink", uri, pipeline) != 0)
        return -1;
    if (tables == NULL)
        return 0;
    if (tables->type == YAML_SCALAR_NODE)
        return add(r, "route", tables, pipeline);
    if (tables->type != YAML_SEQUENCE_NODE)
        return fail(r, &tables->start_mark, "a sink's tables are a list of table names");
    for (yaml_node_item_t *it = tables->data.sequence.items.start;
         it < tables->data.sequence.items.top; it++) {
        yaml_node_t *t = yaml_document_get_node(&r->doc, *it);

        if (t == NULL || t->type != YAML_SCALAR_NODE)
            return fail(r, t != NULL ? &t->start_mark : &tables->start_mark,
                        "a sink's tables are a list of table names");
        if (add(r, "route", t, pipeline) != 0)
            return -1;
    }
    return 0;
}

/* One key's value: a scalar, a list of them (or of pipelines), or a map to flatten. */
static int walk_value(reader *r, const char *key, yaml_node_t *v, int pipeline, int top)
{
    if (v->type == YAML_SCALAR_NODE) {
        if (v->data.scalar.length == 0 && v->data.scalar.style == YAML_PLAIN_SCALAR_STYLE)
            return fail(r, &v->start_mark, "%s has no value (give one, or leave the key out)", key);
        if (pgcdc_tool_key_is(key, "pipelines"))
            return fail(r, &v->start_mark,
                        "pipelines is a list of maps, one per pipeline (- slot: ...)");
        return add(r, key, v, pipeline);
    }
    if (v->type == YAML_MAPPING_NODE) {
        if (pgcdc_tool_key_is(key, "pipelines"))
            return fail(r, &v->start_mark,
                        "pipelines is a list of maps, one per pipeline (- slot: ...)");
        return walk_map(r, v, key, pipeline);
    }
    if (v->type != YAML_SEQUENCE_NODE)
        return fail(r, &v->start_mark, "%s has no value", key);
    if (pgcdc_tool_key_is(key, "pipelines")) {
        int i = 0;

        if (!top || pipeline >= 0)
            return fail(r, &v->start_mark,
                        "pipelines go at the top of the file, not inside another map");
        for (yaml_node_item_t *it = v->data.sequence.items.start; it < v->data.sequence.items.top;
             it++, i++) {
            yaml_node_t *p = yaml_document_get_node(&r->doc, *it);

            if (p == NULL || p->type != YAML_MAPPING_NODE)
                return fail(r, p != NULL ? &p->start_mark : &v->start_mark,
                            "each pipeline is a map of its settings (- slot: ...)");
            if (walk_map(r, p, NULL, i) != 0)
                return -1;
        }
        if (i == 0)
            return fail(r, &v->start_mark,
                        "pipelines is empty (give at least one, or leave it out)");
        r->f->npipelines = i;
        return 0;
    }
    for (yaml_node_item_t *it = v->data.sequence.items.start; it < v->data.sequence.items.top;
         it++) {
        yaml_node_t *item = yaml_document_get_node(&r->doc, *it);

        if (item != NULL && item->type == YAML_MAPPING_NODE &&
            (pgcdc_tool_key_is(key, "sinks") || pgcdc_tool_key_is(key, "sink"))) {
            if (routed_sink(r, item, pipeline) != 0)
                return -1;
            continue;
        }
        if (item == NULL || item->type != YAML_SCALAR_NODE)
            return fail(r, item != NULL ? &item->start_mark : &v->start_mark,
                        "the items of %s must be values, not lists or maps", key);
        if (add(r, key, item, pipeline) != 0)
            return -1;
    }
    return 0;
}

static int walk_map(reader *r, yaml_node_t *map, const char *prefix, int pipeline)
{
    for (yaml_node_pair_t *pr = map->data.mapping.pairs.start; pr < map->data.mapping.pairs.top;
         pr++) {
        yaml_node_t *k = yaml_document_get_node(&r->doc, pr->key);
        yaml_node_t *v = yaml_document_get_node(&r->doc, pr->value);
        char key[256];

        if (k == NULL || v == NULL || k->type != YAML_SCALAR_NODE || k->data.scalar.length == 0)
            return fail(r, k != NULL ? &k->start_mark : &map->start_mark,
                        "a key must be a name (key: value)");
        if (snprintf(key, sizeof(key), "%s%s%s", prefix != NULL ? prefix : "",
                     prefix != NULL ? "." : "",
                     (const char *)k->data.scalar.value) >= (int)sizeof(key))
            return fail(r, &k->start_mark, "key too long");
        /* The same key twice in a map: the second would silently win. */
        for (yaml_node_pair_t *q = map->data.mapping.pairs.start; q < pr; q++) {
            yaml_node_t *qk = yaml_document_get_node(&r->doc, q->key);

            if (qk != NULL && qk->type == YAML_SCALAR_NODE &&
                pgcdc_tool_key_is((const char *)qk->data.scalar.value,
                                  (const char *)k->data.scalar.value))
                return fail(r, &k->start_mark,
                            "%s is given twice (also on line %zu; keep one, or make a list)", key,
                            qk->start_mark.line + 1);
        }
        if (walk_value(r, key, v, pipeline, prefix == NULL) != 0)
            return -1;
    }
    return 0;
}

int pgcdc_tool_config_file_read(const char *path, pgcdc_tool_config_file *f, char *err,
                                size_t errlen)
{
    yaml_parser_t parser;
    reader r;
    yaml_node_t *root;
    FILE *fp;
    int rc = 0;

    memset(f, 0, sizeof(*f));
    memset(&r, 0, sizeof(r));
    r.path = path;
    r.f = f;
    r.err = err;
    r.errlen = errlen;
    fp = fopen(path, "rb");
    if (fp == NULL) {
        snprintf(err, errlen, "%s: cannot read it: %s", path, strerror(errno));
        return -1;
    }
    if (!yaml_parser_initialize(&parser)) {
        fclose(fp);
        return oom(&r);
    }
    yaml_parser_set_input_file(&parser, fp);
    if (!yaml_parser_load(&parser, &r.doc)) {
        const char *ctx = parser.context;

        rc = fail(&r, &parser.problem_mark, "not valid YAML: %s%s%s",
                  parser.problem != NULL ? parser.problem : "unreadable", ctx != NULL ? " " : "",
                  ctx != NULL ? ctx : "");
        yaml_parser_delete(&parser);
        fclose(fp);
        return rc;
    }
    root = yaml_document_get_root_node(&r.doc);
    if (root != NULL && root->type != YAML_MAPPING_NODE)
        rc = fail(&r, &root->start_mark, "the file must be a map of settings (key: value)");
    else if (root != NULL)
        rc = walk_map(&r, root, NULL, -1);
    yaml_document_delete(&r.doc);
    yaml_parser_delete(&parser);
    fclose(fp);
    if (rc != 0)
        pgcdc_tool_config_file_free(f);
    return rc;
}

void pgcdc_tool_config_file_free(pgcdc_tool_config_file *f)
{
    for (int i = 0; i < f->nsettings; i++) {
        free(f->settings[i].key);
        free(f->settings[i].value);
    }
    free(f->settings);
    memset(f, 0, sizeof(*f));
}
