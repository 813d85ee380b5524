/*
 * The filters' settings: filter.ops, filter.columns.<table>,
 * filter.exclude_columns.<table>, filter.where.<table> and
 * mask.<table>.<column>, each checked when set (a row filter is parsed
 * then, and a parse error names its position), kept as text in the
 * configuration, and made into the worker's filter set at its creation.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "core/filter.h"

/* The dynamic keys, by prefix, and the name the property table lists each under. */
static const struct {
    const char *prefix;
    const char *listed;
} templates[] = {
    {"filter.columns.", "filter.columns.<table>"},
    {"filter.exclude_columns.", "filter.exclude_columns.<table>"},
    {"filter.where.", "filter.where.<table>"},
    {"mask.", "mask.<table>.<column>"},
};

#define NTEMPLATES ((int)(sizeof(templates) / sizeof(templates[0])))

const char *pgcdc__filter_template(const char *norm, size_t *prefix_len)
{
    for (int i = 0; i < NTEMPLATES; i++) {
        size_t n = strlen(templates[i].prefix);

        if (strncmp(norm, templates[i].prefix, n) == 0 && norm[n] != '\0') {
            *prefix_len = n;
            return templates[i].listed;
        }
    }
    return NULL;
}

int pgcdc__config_set_ops(pgcdc_config *cfg, const char *text)
{
    char bad[64];
    int ops = 0;
    int r = pgcdc__filter_parse_ops(text, &ops, bad, sizeof(bad));

    if (r == -2)
        return pgcdc__config_fail(cfg, PGCDC_ERR_NOMEM, "out of memory");
    if (r < 0)
        return pgcdc__config_fail(
            cfg, PGCDC_ERR_INVALID,
            "invalid value \"%s\" for filter.ops (use some of insert, update, "
            "delete, truncate, comma-separated)",
            text);
    cfg->filter_ops = ops;
    return PGCDC_OK;
}

/* The table of a key (its part after prefix, up to cut when cut is not NULL). */
static int key_table(pgcdc_config *cfg, const char *key, const char *part, const char *cut,
                     char **schema, char **name)
{
    const char *why = NULL;
    char *text = cut != NULL ? strndup(part, (size_t)(cut - part)) : strdup(part);
    int r;

    if (text == NULL)
        return pgcdc__config_fail(cfg, PGCDC_ERR_NOMEM, "out of memory");
    r = pgcdc__config_parse_table(text, 0, schema, name, &why);
    free(text);
    if (r < 0)
        return why == NULL ? pgcdc__config_fail(cfg, PGCDC_ERR_NOMEM, "out of memory")
                           : pgcdc__config_fail(cfg, PGCDC_ERR_INVALID, "%s: %s", key, why);
    return PGCDC_OK;
}

/* Checks one setting (key as given); with fs, adds it there too. */
static int apply(pgcdc_config *cfg, pgcdc__filterset *fs, const char *key, const char *value)
{
    const char *tmpl = NULL;
    const char *part = NULL;
    const char *cut = NULL;
    char *schema = NULL;
    char *name = NULL;
    pgcdc__tfilter *tf;
    int r;

    for (int i = 0; i < NTEMPLATES && tmpl == NULL; i++) {
        size_t n = strlen(templates[i].prefix);

        if (strncmp(key, templates[i].prefix, n) == 0) {
            tmpl = templates[i].prefix;
            part = key + n;
        }
    }
    if (tmpl == NULL)
        return pgcdc__config_fail(cfg, PGCDC_ERR_INVALID, "unknown property \"%s\"", key);
    if (strcmp(tmpl, "mask.") == 0) {
        cut = strrchr(part, '.');
        if (cut == NULL || cut == part || cut[1] == '\0')
            return pgcdc__config_fail(cfg, PGCDC_ERR_INVALID,
                                      "%s: name a table and a column (mask.schema.table.column)",
                                      key);
    }
    r = key_table(cfg, key, part, cut, &schema, &name);
    if (r != PGCDC_OK)
        return r;
    tf = NULL;
    if (fs != NULL) {
        tf = pgcdc__filterset_add(fs, schema, name);
        if (tf == NULL) {
            r = pgcdc__config_fail(cfg, PGCDC_ERR_NOMEM, "out of memory");
            goto done;
        }
    }
    if (strcmp(tmpl, "filter.where.") == 0) {
        pgcdc__fexpr *e;
        char err[256];

        r = pgcdc__fexpr_parse(value, &e, err, sizeof(err));
        if (r == -2) {
            r = pgcdc__config_fail(cfg, PGCDC_ERR_NOMEM, "out of memory");
            goto done;
        }
        if (r < 0) {
            r = pgcdc__config_fail(cfg, PGCDC_ERR_INVALID, "%s: %s", key, err);
            goto done;
        }
        if (tf == NULL) {
            pgcdc__fexpr_free(e);
        } else {
            pgcdc__fexpr_free(tf->where);
            free(tf->where_text);
            tf->where = e;
            tf->where_text = strdup(value);
        }
    } else if (strcmp(tmpl, "mask.") == 0) {
        if (tf != NULL) {
            char **cols = realloc(tf->mask_cols, (size_t)(tf->nmasks + 1) * sizeof(*cols));
            uint8_t *kinds;

            if (cols != NULL)
                tf->mask_cols = cols;
            kinds = cols != NULL ? realloc(tf->mask_kinds, (size_t)tf->nmasks + 1) : NULL;
            if (kinds != NULL)
                tf->mask_kinds = kinds;
            if (kinds == NULL || (cols[tf->nmasks] = strdup(cut + 1)) == NULL) {
                r = pgcdc__config_fail(cfg, PGCDC_ERR_NOMEM, "out of memory");
                goto done;
            }
            kinds[tf->nmasks++] =
                strcmp(value, "hash") == 0 ? PGCDC__MASK_HASH : PGCDC__MASK_REDACT;
        }
    } else {
        char **words;
        int n;

        r = pgcdc__filter_split(value, &words, &n);
        if (r == -2) {
            r = pgcdc__config_fail(cfg, PGCDC_ERR_NOMEM, "out of memory");
            goto done;
        }
        if (r < 0) {
            r = pgcdc__config_fail(cfg, PGCDC_ERR_INVALID,
                                   "%s: list the columns, comma-separated (one is empty)", key);
            goto done;
        }
        if (tf == NULL) {
            pgcdc__filter_free_words(words, n);
        } else {
            pgcdc__filter_free_words(tf->cols, tf->ncols);
            tf->cols = words;
            tf->ncols = n;
            tf->exclude = strcmp(tmpl, "filter.exclude_columns.") == 0;
        }
    }
    r = PGCDC_OK;
done:
    free(schema);
    free(name);
    return r;
}

int pgcdc__config_add_filter(pgcdc_config *cfg, const char *key, const char *value)
{
    pgcdc__prop_value *grown;
    int r = apply(cfg, NULL, key, value);

    if (r != PGCDC_OK)
        return r;
    grown = realloc(cfg->filters, (size_t)(cfg->nfilters + 1) * sizeof(*grown));
    if (grown == NULL)
        return pgcdc__config_fail(cfg, PGCDC_ERR_NOMEM, "out of memory");
    cfg->filters = grown;
    grown[cfg->nfilters].key = strdup(key);
    grown[cfg->nfilters].value = strdup(value);
    if (grown[cfg->nfilters].key == NULL || grown[cfg->nfilters].value == NULL) {
        free(grown[cfg->nfilters].key);
        free(grown[cfg->nfilters].value);
        return pgcdc__config_fail(cfg, PGCDC_ERR_NOMEM, "out of memory");
    }
    cfg->nfilters++;
    return PGCDC_OK;
}

int pgcdc__filters_build(const pgcdc_config *cfg, pgcdc__filterset *fs)
{
    pgcdc_config scratch;

    pgcdc__filterset_init(fs);
    fs->ops = cfg->filter_ops;
    if (cfg->mask_salt != NULL) {
        fs->salt = strdup(cfg->mask_salt);
        if (fs->salt == NULL)
            return PGCDC_ERR_NOMEM;
    }
    /* Each setting was checked when set: only memory can fail here. */
    memset(&scratch, 0, sizeof(scratch));
    for (int i = 0; i < cfg->nfilters; i++) {
        if (apply(&scratch, fs, cfg->filters[i].key, cfg->filters[i].value) != PGCDC_OK) {
            pgcdc__filterset_clear(fs);
            return PGCDC_ERR_NOMEM;
        }
    }
    return PGCDC_OK;
}
