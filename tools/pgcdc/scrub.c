/*
 * Passwords out of the process arguments: what ps shows of pgcdc is its
 * argv, which the library no longer needs once it copied the string.
 */
#include <ctype.h>
#include <string.h>

#include "scrub.h"

/* Removes s[from, to), and NULs the bytes the shortened string gave up. */
static void cut(char *s, size_t from, size_t to)
{
    size_t len = strlen(s);

    memmove(s + from, s + to, len - to + 1);
    memset(s + len - (to - from), '\0', to - from);
}

/* The end of a value that starts at p: quoted with '...' or up to white space; \ escapes. */
static size_t value_end(const char *s, size_t p)
{
    int quoted = s[p] == '\'';

    if (quoted)
        p++;
    while (s[p] != '\0') {
        if (s[p] == '\\' && s[p + 1] != '\0') {
            p += 2;
            continue;
        }
        if (quoted ? s[p] == '\'' : isspace((unsigned char)s[p]))
            break;
        p++;
    }
    return quoted && s[p] == '\'' ? p + 1 : p;
}

static int scrub_keyword_value(char *s)
{
    size_t p = 0;
    int removed = 0;

    for (;;) {
        size_t key;
        size_t keylen;
        size_t end;

        while (isspace((unsigned char)s[p]))
            p++;
        if (s[p] == '\0')
            return removed;
        key = p;
        while (s[p] != '\0' && s[p] != '=' && !isspace((unsigned char)s[p]))
            p++;
        keylen = p - key;
        while (isspace((unsigned char)s[p]))
            p++;
        if (s[p] != '=')
            return removed; /* malformed: libpq said so already */
        p++;
        while (isspace((unsigned char)s[p]))
            p++;
        end = value_end(s, p);
        if (keylen == 8 && strncmp(s + key, "password", 8) == 0) {
            while (isspace((unsigned char)s[end]))
                end++;
            cut(s, key, end);
            removed = 1;
            p = key;
        } else {
            p = end;
        }
    }
}

static int scrub_uri(char *s, size_t scheme_end)
{
    size_t hosts = scheme_end;
    size_t at;
    size_t q;
    int removed = 0;

    /* user:password@ in the authority, before the first '/', '?' or '#'. */
    at = hosts + strcspn(s + hosts, "@/?#");
    if (s[at] == '@') {
        size_t colon = hosts + strcspn(s + hosts, ":@");

        if (colon < at) {
            cut(s, colon, at);
            removed = 1;
        }
    }
    q = strcspn(s, "?");
    if (s[q] != '?')
        return removed;
    for (size_t p = q + 1; s[p] != '\0';) {
        size_t len = strcspn(s + p, "&");

        if (strncmp(s + p, "password=", 9) == 0) {
            /* With the '&' after it, or else the one (or the '?') before. */
            if (s[p + len] == '&')
                cut(s, p, p + len + 1);
            else
                cut(s, p - 1, p + len);
            removed = 1;
            continue;
        }
        p += len + (s[p + len] == '&');
    }
    return removed;
}

int pgcdc_tool_scrub_password(char *conninfo)
{
    static const char *const schemes[] = {"postgresql://", "postgres://"};

    for (size_t i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++) {
        size_t n = strlen(schemes[i]);

        if (strncmp(conninfo, schemes[i], n) == 0)
            return scrub_uri(conninfo, n);
    }
    return scrub_keyword_value(conninfo);
}

/* Whether the len bytes at name end in suffix. */
static int ends_with(const char *name, size_t len, const char *suffix)
{
    size_t n = strlen(suffix);

    return len >= n && strncmp(name + len - n, suffix, n) == 0;
}

int pgcdc_tool_scrub_secret(char *property)
{
    char *eq = strchr(property, '=');
    size_t n;

    if (eq == NULL || eq[1] == '\0')
        return 0;
    n = (size_t)(eq - property);
    if (!ends_with(property, n, "secret") && !ends_with(property, n, "password"))
        return 0;
    cut(property, n + 1, strlen(property));
    return 1;
}

int pgcdc_tool_scrub_userinfo(char *uri)
{
    char *auth = strstr(uri, "://");
    size_t end;
    size_t at = 0;

    if (auth == NULL)
        return 0;
    auth += 3;
    end = strcspn(auth, "/?#");
    for (size_t i = 0; i < end; i++) {
        if (auth[i] == '@')
            at = i + 1;
    }
    if (at == 0)
        return 0;
    cut(uri, (size_t)(auth - uri), (size_t)(auth - uri) + at);
    return 1;
}
