/*
 * COPY text format: splitting a line into columns and decoding its escapes
 * in place (see copy.h).
 */
#include <string.h>

#include "wire/copy.h"
#include "wire/value.h"

static int octal(char c)
{
    return c >= '0' && c <= '7';
}

/* Decodes the escape after a backslash at s[*i] into *out; -1 for a lone trailing backslash. */
static int unescape(const char *s, size_t end, size_t *i, char *out)
{
    char c;

    if (*i >= end)
        return -1;
    c = s[(*i)++];
    switch (c) {
    case 'b':
        *out = '\b';
        return 0;
    case 'f':
        *out = '\f';
        return 0;
    case 'n':
        *out = '\n';
        return 0;
    case 'r':
        *out = '\r';
        return 0;
    case 't':
        *out = '\t';
        return 0;
    case 'v':
        *out = '\v';
        return 0;
    case 'x':
        if (*i < end && pgcdc__hex_value(s[*i]) >= 0) {
            int v = pgcdc__hex_value(s[(*i)++]);

            if (*i < end && pgcdc__hex_value(s[*i]) >= 0)
                v = v * 16 + pgcdc__hex_value(s[(*i)++]);
            *out = (char)v;
            return 0;
        }
        *out = 'x';
        return 0;
    default:
        if (octal(c)) {
            int v = c - '0';

            for (int k = 0; k < 2 && *i < end && octal(s[*i]); k++)
                v = v * 8 + (s[(*i)++] - '0');
            *out = (char)v;
            return 0;
        }
        *out = c; /* \\ and any other character stand for themselves */
        return 0;
    }
}

int pgcdc__copy_split(char *line, size_t len, pgcdc__col *cols, int ncols)
{
    size_t i = 0;
    int c = 0;

    for (;;) {
        size_t start = i;
        size_t w = i;
        int escaped = 0;

        if (c >= ncols)
            return -1;
        while (i < len && line[i] != '\t') {
            if (line[i] != '\\') {
                line[w++] = line[i++];
                continue;
            }
            i++;
            if (w == start && i < len && line[i] == 'N' && (i + 1 == len || line[i + 1] == '\t') &&
                !escaped) {
                i++;
                cols[c].kind = PGCDC_COL_NULL;
                cols[c].data = NULL;
                cols[c].len = 0;
                goto next;
            }
            escaped = 1;
            if (unescape(line, len, &i, &line[w]) != 0)
                return -1;
            w++;
        }
        cols[c].kind = PGCDC_COL_TEXT;
        cols[c].data = line + start;
        cols[c].len = (uint32_t)(w - start);
    next:
        c++;
        if (i >= len) {
            if (cols[c - 1].kind == PGCDC_COL_TEXT)
                line[w] = '\0';
            break;
        }
        line[w] = '\0'; /* over the tab, or over bytes the escapes freed */
        i++;
    }
    return c == ncols ? 0 : -1;
}

size_t pgcdc__copy_escape(const char *s, size_t n, char *out)
{
    size_t w = 0;

    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        char e = 0;

        switch (c) {
        case '\\':
            e = '\\';
            break;
        case '\t':
            e = 't';
            break;
        case '\n':
            e = 'n';
            break;
        case '\r':
            e = 'r';
            break;
        default:
            break;
        }
        if (e != 0) {
            out[w++] = '\\';
            out[w++] = e;
        } else {
            out[w++] = c;
        }
    }
    return w;
}
