/*
 * The admin server's status page (/): a self-contained HTML document that
 * draws /status.json in the browser.
 */
#ifndef PGCDC_TOOL_PAGE_H
#define PGCDC_TOOL_PAGE_H

#include <stddef.h>

/* The page, static and NUL-terminated; its length in *len. */
const char *pgcdc_tool_status_page(size_t *len);

#endif /* PGCDC_TOOL_PAGE_H */
