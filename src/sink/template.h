/*
 * Name templates of the sinks that write each table somewhere of its own (a
 * Kafka topic, a Redis stream): "${prefix}.${schema}.${table}".
 */
#ifndef PGCDC_SINK_TEMPLATE_H
#define PGCDC_SINK_TEMPLATE_H

#include <stddef.h>

#include "base/buf.h"

/* Which characters a name may hold: nonzero when ch may stand in it. */
typedef int (*pgcdc__name_char_fn)(int ch);

/*
 * Checks a template: its placeholders are ${schema}, ${table} and
 * ${prefix}; every other character must pass ok.  what names the result in
 * messages ("topic"), rule says which characters are allowed ("in a Kafka
 * topic name (use ...)").  PGCDC_OK with the literal characters counted in
 * *literal (may be NULL), or PGCDC_ERR_INVALID with a reason in err.
 */
int pgcdc__template_check(const char *t, const char *what, pgcdc__name_char_fn ok, const char *rule,
                          size_t *literal, char *err, size_t errlen);

/*
 * Expands a checked template into out (reset first).  ok NULL: the names go
 * in as they are; else characters ok refuses become '_'.  PGCDC_OK or
 * PGCDC_ERR_NOMEM.
 */
int pgcdc__template_expand(pgcdc__buf *out, const char *t, const char *schema, const char *table,
                           const char *prefix, pgcdc__name_char_fn ok);

#endif /* PGCDC_SINK_TEMPLATE_H */
