/*
 * The oracle's lines: COPY text unescaping, then test_decoding's output
 * ("BEGIN 733", "table public.t: UPDATE: old-key: id[bigint]:1 new-tuple:
 * ...", "COMMIT 733") cut into columns, parsed in place.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tdparse.h"

int td_lsn_parse(const char *s, uint64_t *lsn)
{
    unsigned long hi;
    unsigned long lo;
    char *end;

    hi = strtoul(s, &end, 16);
    if (end == s || *end != '/')
        return -1;
    s = end + 1;
    lo = strtoul(s, &end, 16);
    if (end == s || hi > 0xffffffffUL || lo > 0xffffffffUL)
        return -1;
    *lsn = (uint64_t)hi << 32 | (uint64_t)lo;
    return 0;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* COPY text format: backslash escapes, in place. */
static void copy_unescape(char *s)
{
    char *w = s;

    for (char *r = s; *r != '\0'; r++) {
        if (*r != '\\' || r[1] == '\0') {
            *w++ = *r;
            continue;
        }
        r++;
        switch (*r) {
        case 'n':
            *w++ = '\n';
            break;
        case 't':
            *w++ = '\t';
            break;
        case 'r':
            *w++ = '\r';
            break;
        case 'b':
            *w++ = '\b';
            break;
        case 'f':
            *w++ = '\f';
            break;
        case 'v':
            *w++ = '\v';
            break;
        case 'x':
            if (hexval(r[1]) >= 0) {
                int v = hexval(*++r);

                if (hexval(r[1]) >= 0)
                    v = v * 16 + hexval(*++r);
                *w++ = (char)v;
            } else {
                *w++ = 'x';
            }
            break;
        default:
            if (*r >= '0' && *r <= '7') {
                int v = *r - '0';

                for (int k = 0; k < 2 && r[1] >= '0' && r[1] <= '7'; k++)
                    v = v * 8 + (*++r - '0');
                *w++ = (char)v;
            } else {
                *w++ = *r;
            }
        }
    }
    *w = '\0';
}

/* A column name: plain, or a quoted identifier ("" for a quote). */
static char *parse_name(char **pp)
{
    char *p = *pp;
    char *name = p;

    if (*p == '"') {
        char *w = p;

        name = w;
        for (p++; *p != '\0'; p++) {
            if (*p == '"' && p[1] == '"') {
                *w++ = '"';
                p++;
            } else if (*p == '"') {
                p++;
                break;
            } else {
                *w++ = *p;
            }
        }
        if (*p != '[')
            return NULL;
        *w = '\0';
    } else {
        while (*p != '\0' && *p != '[')
            p++;
        if (*p != '[')
            return NULL;
    }
    *p = '\0';
    *pp = p + 1;
    return name;
}

/* One " name[type]:value" after another, up to the end or " new-tuple:". */
static int parse_tuple(char **pp, td_tuple *t, char *err, size_t errsize)
{
    char *p = *pp;

    t->present = 1;
    t->ncols = 0;
    if (strncmp(p, " (no-tuple-data)", 16) == 0) {
        t->present = 0;
        *pp = p + 16;
        return 0;
    }
    while (*p == ' ' && strncmp(p, " new-tuple:", 11) != 0) {
        td_col *c;
        char *end;

        if (t->ncols == TD_MAX_COLS) {
            snprintf(err, errsize, "more than %d columns", TD_MAX_COLS);
            return -1;
        }
        c = &t->cols[t->ncols++];
        p++;
        c->name = parse_name(&p);
        if (c->name == NULL) {
            snprintf(err, errsize, "column %d: no name", t->ncols);
            return -1;
        }
        /* Types may hold brackets ("integer[]"), never "]:". */
        end = strstr(p, "]:");
        if (end == NULL) {
            snprintf(err, errsize, "column \"%s\": no type", c->name);
            return -1;
        }
        *end = '\0';
        c->type = p;
        p = end + 2;
        if (*p == '\'') {
            char *w = p + 1;

            c->kind = TD_QUOTED;
            c->value = w;
            for (p++;; p++) {
                if (*p == '\0') {
                    snprintf(err, errsize, "column \"%s\": unterminated value", c->name);
                    return -1;
                }
                if (*p == '\'' && p[1] == '\'') {
                    *w++ = '\'';
                    p++;
                } else if (*p == '\'') {
                    p++;
                    break;
                } else {
                    *w++ = *p;
                }
            }
            /* The closing quote is followed by a space or the end: cut there. */
            if (*p != ' ' && *p != '\0') {
                snprintf(err, errsize, "column \"%s\": junk after the value", c->name);
                return -1;
            }
            *w = '\0';
            continue;
        }
        /* Unquoted values are short (numbers, booleans): copied, the separator stays. */
        end = p;
        while (*end != ' ' && *end != '\0')
            end++;
        if ((size_t)(end - p) >= sizeof(c->plain)) {
            snprintf(err, errsize, "column \"%s\": unquoted value too long", c->name);
            return -1;
        }
        memcpy(c->plain, p, (size_t)(end - p));
        c->plain[end - p] = '\0';
        c->value = c->plain;
        p = end;
        if (strcmp(c->value, "null") == 0) {
            c->kind = TD_NULL;
            c->value = NULL;
        } else if (strcmp(c->value, "unchanged-toast-datum") == 0) {
            c->kind = TD_UNCHANGED;
            c->value = NULL;
        } else {
            c->kind = TD_PLAIN;
        }
    }
    *pp = p;
    return 0;
}

static int parse_change(char *p, td_line *out, char *err, size_t errsize)
{
    char *colon = strstr(p, ": ");
    char *rel = p;

    if (colon == NULL) {
        snprintf(err, errsize, "no \": \" after the table");
        return -1;
    }
    *colon = '\0';
    p = colon + 2;
    /* Several relations only for TRUNCATE: "public.a, public.b". */
    for (;;) {
        char *comma = strstr(rel, ", ");

        if (out->nrels == TD_MAX_RELS) {
            snprintf(err, errsize, "more than %d relations", TD_MAX_RELS);
            return -1;
        }
        out->rels[out->nrels++] = rel;
        if (comma == NULL)
            break;
        *comma = '\0';
        rel = comma + 2;
    }
    if (strncmp(p, "INSERT:", 7) == 0) {
        out->op = 'I';
        p += 7;
        return parse_tuple(&p, &out->new_tuple, err, errsize);
    }
    if (strncmp(p, "DELETE:", 7) == 0) {
        out->op = 'D';
        p += 7;
        return parse_tuple(&p, &out->old_tuple, err, errsize);
    }
    if (strncmp(p, "TRUNCATE:", 9) == 0) {
        out->op = 'T';
        return 0;
    }
    if (strncmp(p, "UPDATE:", 7) != 0) {
        snprintf(err, errsize, "unknown change \"%.20s\"", p);
        return -1;
    }
    out->op = 'U';
    p += 7;
    if (strncmp(p, " old-key:", 9) == 0) {
        p += 9;
        if (parse_tuple(&p, &out->old_tuple, err, errsize) != 0)
            return -1;
        if (strncmp(p, " new-tuple:", 11) != 0) {
            snprintf(err, errsize, "old-key without new-tuple");
            return -1;
        }
        p += 11;
    }
    return parse_tuple(&p, &out->new_tuple, err, errsize);
}

int td_parse(char *line, td_line *out, char *err, size_t errsize)
{
    char *f[3];
    char *p = line;
    size_t n = strlen(line);
    char *end;

    memset(out, 0, offsetof(td_line, old_tuple));
    out->old_tuple.present = 0;
    out->old_tuple.ncols = 0;
    out->new_tuple.present = 0;
    out->new_tuple.ncols = 0;
    out->type = TD_OTHER;
    out->preview[0] = '\0';
    if (n > 0 && line[n - 1] == '\n')
        line[--n] = '\0';
    for (int i = 0; i < 3; i++) {
        f[i] = p;
        p = i < 2 ? strchr(p, '\t') : NULL;
        if (i < 2 && p == NULL) {
            snprintf(err, errsize, "expected 3 tab-separated fields");
            return -1;
        }
        if (p != NULL)
            *p++ = '\0';
    }
    copy_unescape(f[2]);
    snprintf(out->preview, sizeof(out->preview), "%s", f[2]);
    if (td_lsn_parse(f[0], &out->lsn) != 0) {
        snprintf(err, errsize, "bad lsn \"%s\"", f[0]);
        return -1;
    }
    out->xid = (uint32_t)strtoul(f[1], &end, 10);
    if (end == f[1] || *end != '\0') {
        snprintf(err, errsize, "bad xid \"%s\"", f[1]);
        return -1;
    }
    p = f[2];
    if (strncmp(p, "BEGIN", 5) == 0) {
        out->type = TD_BEGIN;
        return 0;
    }
    if (strncmp(p, "COMMIT", 6) == 0) {
        out->type = TD_COMMIT;
        return 0;
    }
    if (strncmp(p, "table ", 6) != 0)
        return 0;
    out->type = TD_CHANGE;
    return parse_change(p + 6, out, err, errsize);
}

const td_col *td_find(const td_tuple *t, const char *name)
{
    for (int i = 0; i < t->ncols; i++) {
        if (strcmp(t->cols[i].name, name) == 0)
            return &t->cols[i];
    }
    return NULL;
}
