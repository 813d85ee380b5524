/*
 * The URI of the RabbitMQ sink, amqp://[USER:PASSWORD@]HOST[:PORT][/EXCHANGE]:
 * checked before anything connects, and split for the sink (see amqp.h).
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sink/amqp.h"
#include "sink/amqp_int.h"
#include "sink/sink.h"

#define URI_FORM "(use amqp://[USER:PASSWORD@]HOST[:PORT][/EXCHANGE])"

static int hex_value(int ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    ch = tolower(ch);
    return ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 : -1;
}

/* [s, end) percent-decoded into a new string in *out: PGCDC_OK, INVALID (a bad %XX) or NOMEM. */
static int decode(const char *s, const char *end, char **out)
{
    char *o = malloc((size_t)(end - s) + 1);

    *out = o;
    if (o == NULL)
        return PGCDC_ERR_NOMEM;
    for (; s < end; s++) {
        if (*s != '%') {
            *o++ = *s;
            continue;
        }
        if (end - s < 3 || hex_value(s[1]) < 0 || hex_value(s[2]) < 0)
            return PGCDC_ERR_INVALID;
        *o++ = (char)(hex_value(s[1]) * 16 + hex_value(s[2]));
        s += 2;
    }
    *o = '\0';
    return PGCDC_OK;
}

/* Characters RabbitMQ takes in an exchange name. */
static int exchange_char(int ch)
{
    return isalnum(ch) || ch == '-' || ch == '_' || ch == '.' || ch == ':';
}

void pgcdc__amqp_free_uri(pgcdc__amqp_uri *u)
{
    free(u->user);
    free(u->password);
    free(u->host);
    free(u->exchange);
    memset(u, 0, sizeof(*u));
}

/* The user and password (guest and guest when the URI has none). */
static int parse_userinfo(const char *s, const char *at, pgcdc__amqp_uri *u, char *err,
                          size_t errlen)
{
    const char *colon = s != NULL ? memchr(s, ':', (size_t)(at - s)) : NULL;
    int r;

    if (s == NULL) {
        u->user = strdup("guest");
        u->password = strdup("guest");
        return u->user != NULL && u->password != NULL ? PGCDC_OK : PGCDC_ERR_NOMEM;
    }
    r = decode(s, colon != NULL ? colon : at, &u->user);
    if (r == PGCDC_OK)
        r = colon != NULL ? decode(colon + 1, at, &u->password) : decode(at, at, &u->password);
    /* Never the text itself: it may be the password. */
    if (r == PGCDC_ERR_INVALID)
        snprintf(err, errlen, "bad percent-encoding in the user or password " URI_FORM);
    return r;
}

static int parse_hostport(const char *host, const char *end, pgcdc__amqp_uri *u, char *err,
                          size_t errlen)
{
    const char *name_end;
    long port = 5672;

    if (pgcdc__sink_host_port(host, end, URI_FORM, &port, &name_end, err, errlen) != PGCDC_OK)
        return PGCDC_ERR_INVALID;
    u->port = (int)port;
    u->host = strndup(host, (size_t)(name_end - host));
    return u->host != NULL ? PGCDC_OK : PGCDC_ERR_NOMEM;
}

static int parse_exchange(const char *path, pgcdc__amqp_uri *u, char *err, size_t errlen)
{
    int r = decode(path, path + strlen(path), &u->exchange);

    if (r == PGCDC_ERR_INVALID || (r == PGCDC_OK && strlen(u->exchange) > 255)) {
        snprintf(err, errlen, "bad exchange name \"%s\" (at most 255 characters)", path);
        return PGCDC_ERR_INVALID;
    }
    for (const char *p = u->exchange; r == PGCDC_OK && *p != '\0'; p++) {
        if (!exchange_char((unsigned char)*p)) {
            snprintf(err, errlen,
                     "bad exchange name \"%s\" (use letters, digits, '-', '_', '.' and ':')", path);
            return PGCDC_ERR_INVALID;
        }
    }
    return r;
}

int pgcdc__amqp_parse_uri(const char *uri, pgcdc__amqp_uri *u, char *err, size_t errlen)
{
    const char *rest = uri + 7;
    const char *end;
    const char *at = NULL;
    int r;

    memset(u, 0, sizeof(*u));
    if (strncmp(uri, "amqp://", 7) != 0) {
        snprintf(err, errlen, "not an amqp URI " URI_FORM);
        return PGCDC_ERR_INVALID;
    }
    end = rest + strcspn(rest, "/?#");
    if (strpbrk(rest, "?#") != NULL) {
        snprintf(err, errlen, "no query or fragment in an amqp URI (set sink.amqp.* properties)");
        return PGCDC_ERR_INVALID;
    }
    for (const char *p = rest; p < end; p++)
        at = *p == '@' ? p : at;
    r = parse_userinfo(at != NULL ? rest : NULL, at, u, err, errlen);
    if (r == PGCDC_OK)
        r = parse_hostport(at != NULL ? at + 1 : rest, end, u, err, errlen);
    if (r == PGCDC_OK)
        r = parse_exchange(*end == '/' ? end + 1 : end, u, err, errlen);
    if (r == PGCDC_ERR_NOMEM)
        snprintf(err, errlen, "out of memory");
    return r;
}

int pgcdc__amqp_check_uri(const char *uri, char *err, size_t errlen)
{
    pgcdc__amqp_uri u;
    int r = pgcdc__amqp_parse_uri(uri, &u, err, errlen);

    pgcdc__amqp_free_uri(&u);
    return r;
}
