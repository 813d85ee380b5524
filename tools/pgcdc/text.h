/*
 * A string that grows as it is printed into, for the admin server's pages;
 * out of memory sticks once it happens (the page is then not served).
 */
#ifndef PGCDC_TOOL_TEXT_H
#define PGCDC_TOOL_TEXT_H

#include <stddef.h>

typedef struct pgcdc_tool_text {
    char *s; /* malloc'd, NUL-terminated once anything was put; the caller frees it */
    size_t len;
    size_t cap;
    int oom;
} pgcdc_tool_text;

/* Appends what printf would print. */
__attribute__((format(printf, 2, 3))) void pgcdc_tool_text_put(pgcdc_tool_text *t, const char *fmt,
                                                               ...);

#endif /* PGCDC_TOOL_TEXT_H */
