/*
 * Name templates: ${schema}, ${table} and ${prefix}, checked once before
 * anything connects and expanded for each change.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "pgcdc.h"
#include "sink/template.h"

#define PLACEHOLDERS "use ${schema}, ${table} or ${prefix}"

int pgcdc__template_check(const char *t, const char *what, pgcdc__name_char_fn ok, const char *rule,
                          size_t *literal, char *err, size_t errlen)
{
    size_t n = 0;

    while (*t != '\0') {
        if (t[0] == '$' && t[1] == '{') {
            const char *end = strchr(t, '}');
            size_t len = end != NULL ? (size_t)(end - t - 2) : 0;

            if (end == NULL) {
                snprintf(err, errlen, "unclosed \"${\" in the %s (" PLACEHOLDERS ")", what);
                return PGCDC_ERR_INVALID;
            }
            if (!((len == 6 && strncmp(t + 2, "schema", 6) == 0) ||
                  (len == 5 && strncmp(t + 2, "table", 5) == 0) ||
                  (len == 6 && strncmp(t + 2, "prefix", 6) == 0))) {
                snprintf(err, errlen, "unknown placeholder \"%.*s\" in the %s (" PLACEHOLDERS ")",
                         (int)(end - t + 1), t, what);
                return PGCDC_ERR_INVALID;
            }
            t = end + 1;
            continue;
        }
        if (!ok((unsigned char)*t)) {
            snprintf(err, errlen, "character '%c' is not allowed %s", *t, rule);
            return PGCDC_ERR_INVALID;
        }
        n++;
        t++;
    }
    if (literal != NULL)
        *literal = n;
    return PGCDC_OK;
}

static void put_name(pgcdc__buf *b, const char *name, pgcdc__name_char_fn ok)
{
    if (ok == NULL) {
        pgcdc__buf_put(b, name, strlen(name));
        return;
    }
    for (; *name != '\0'; name++)
        pgcdc__buf_u8(b, ok((unsigned char)*name) ? (uint8_t)*name : '_');
}

int pgcdc__template_expand(pgcdc__buf *out, const char *t, const char *schema, const char *table,
                           const char *prefix, pgcdc__name_char_fn ok)
{
    pgcdc__buf_reset(out);
    while (*t != '\0') {
        if (strncmp(t, "${schema}", 9) == 0) {
            put_name(out, schema, ok);
            t += 9;
        } else if (strncmp(t, "${table}", 8) == 0) {
            put_name(out, table, ok);
            t += 8;
        } else if (strncmp(t, "${prefix}", 9) == 0) {
            put_name(out, prefix, ok);
            t += 9;
        } else {
            pgcdc__buf_u8(out, (uint8_t)*t++);
        }
    }
    return pgcdc__buf_cstr(out) != NULL ? PGCDC_OK : PGCDC_ERR_NOMEM;
}
