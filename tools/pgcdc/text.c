/*
 * The admin server's growing strings.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "text.h"

void pgcdc_tool_text_put(pgcdc_tool_text *t, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (t->oom)
        return;
    for (;;) {
        size_t room = t->cap - t->len;
        size_t cap;
        char *s;

        va_start(ap, fmt);
        n = vsnprintf(t->s != NULL ? t->s + t->len : NULL, room, fmt, ap);
        va_end(ap);
        if (n < 0) {
            t->oom = 1;
            return;
        }
        if ((size_t)n < room)
            break;
        cap = t->cap > 0 ? t->cap * 2 : 8192;
        while (cap - t->len <= (size_t)n)
            cap *= 2;
        s = realloc(t->s, cap);
        if (s == NULL) {
            t->oom = 1;
            return;
        }
        t->s = s;
        t->cap = cap;
    }
    t->len += (size_t)n;
}
