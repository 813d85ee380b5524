/*
 * Opening connections: the user's conninfo (string or URI, PG* variables
 * apply) plus the settings pgcdc needs, and failures mapped to one-line,
 * password-free messages that name the cause and the fix.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "internal.h"

/* Session settings the decoder relies on for value text. */
#define PGCDC__SESSION_OPTIONS                                                                     \
    "-c datestyle=ISO -c intervalstyle=postgres -c timezone=UTC -c bytea_output=hex "              \
    "-c extra_float_digits=1"

void pgcdc__one_line(char *dst, size_t size, const char *msg)
{
    size_t n = 0;
    int space = 0;

    if (size == 0)
        return;
    for (const char *p = msg; *p != '\0' && n + 1 < size; p++) {
        if (*p == '\n' || *p == '\t' || *p == '\r') {
            space = 1;
            continue;
        }
        if (space && n > 0)
            dst[n++] = ' ';
        space = 0;
        if (n + 1 < size)
            dst[n++] = *p;
    }
    while (n > 0 && dst[n - 1] == ' ')
        n--;
    dst[n] = '\0';
}

/* Copies msg with every quoted fragment replaced by "...": it may echo a password. */
static void strip_quoted(char *dst, size_t size, const char *msg)
{
    size_t n = 0;
    int quoted = 0;

    for (const char *p = msg; *p != '\0' && n + 5 < size; p++) {
        if (*p == '"') {
            quoted = !quoted;
            dst[n++] = '"';
            if (quoted) {
                memcpy(dst + n, "...", 3);
                n += 3;
            }
            continue;
        }
        if (!quoted)
            dst[n++] = *p;
    }
    dst[n] = '\0';
}

static int classify(PGconn *conn, const char *msg, const char **hint)
{
    if (PQconnectionNeedsPassword(conn)) {
        *hint = "give a password in the connection string, PGPASSWORD or ~/.pgpass";
        return PGCDC_ERR_AUTH;
    }
    if (strstr(msg, "authentication failed") != NULL) {
        *hint = "check the user name and password in the connection string";
        return PGCDC_ERR_AUTH;
    }
    if (strstr(msg, "no pg_hba.conf entry") != NULL) {
        *hint = "add a matching line to the server's pg_hba.conf (replication connections need "
                "one for the database too) and reload";
        return PGCDC_ERR_AUTH;
    }
    if (strstr(msg, "replication role") != NULL || strstr(msg, "REPLICATION attribute") != NULL ||
        strstr(msg, "permission denied to start WAL sender") != NULL) {
        *hint = "grant it: ALTER ROLE <user> REPLICATION";
        return PGCDC_ERR_PRIVILEGE;
    }
    if (strstr(msg, "not permitted to log in") != NULL) {
        *hint = "grant it: ALTER ROLE <user> LOGIN";
        return PGCDC_ERR_PRIVILEGE;
    }
    if (strstr(msg, "does not match host name") != NULL) {
        *hint = "connect with a host name the server's certificate names, or fix the certificate";
        return PGCDC_ERR_CONNECT;
    }
    if (strstr(msg, "certificate") != NULL || strstr(msg, "SSL") != NULL) {
        *hint = "check sslmode and sslrootcert: the server's certificate must be signed by that "
                "CA";
        return PGCDC_ERR_CONNECT;
    }
    if (strstr(msg, "does not exist") != NULL) {
        *hint = "check the database and user names in the connection string";
        return PGCDC_ERR_CONNECT;
    }
    *hint = "check host, port and that the server is running and reachable";
    return PGCDC_ERR_CONNECT;
}

static const char *find_option(PQconninfoOption *opts, const char *key)
{
    for (PQconninfoOption *o = opts; o->keyword != NULL; o++) {
        if (strcmp(o->keyword, key) == 0)
            return o->val;
    }
    return NULL;
}

PGconn *pgcdc__connect(pgcdc_worker *w, const char *conninfo, int replication,
                       const char *client_encoding, int *err)
{
    PQconninfoOption *opts;
    char *parse_err = NULL;
    const char *keys[64];
    const char *vals[64];
    char options[512];
    const char *user_options;
    int n = 0;
    PGconn *conn;
    char line[PGCDC__ERRMSG_SIZE / 2];
    const char *hint = "";

    opts = PQconninfoParse(conninfo != NULL ? conninfo : "", &parse_err);
    if (opts == NULL) {
        if (parse_err != NULL) {
            char raw[sizeof(line)];

            pgcdc__one_line(raw, sizeof(raw), parse_err);
            strip_quoted(line, sizeof(line), raw);
            PQfreemem(parse_err);
        } else {
            snprintf(line, sizeof(line), "out of memory");
        }
        *err = pgcdc__fail(w, PGCDC_ERR_INVALID,
                           "invalid connection string: %s (use key=value pairs or a "
                           "postgresql:// URI)",
                           line);
        return NULL;
    }
    /* Pass every explicitly given keyword through, then add ours. */
    for (PQconninfoOption *o = opts; o->keyword != NULL && n < 48; o++) {
        if (o->val == NULL || strcmp(o->keyword, "replication") == 0 ||
            strcmp(o->keyword, "options") == 0 || strcmp(o->keyword, "client_encoding") == 0)
            continue;
        keys[n] = o->keyword;
        vals[n] = o->val;
        n++;
    }
    user_options = find_option(opts, "options");
    if (replication) {
        snprintf(options, sizeof(options), "%s%s%s", user_options ? user_options : "",
                 user_options ? " " : "", PGCDC__SESSION_OPTIONS);
        keys[n] = "options";
        vals[n++] = options;
        keys[n] = "replication";
        vals[n++] = "database";
        /*
         * The walsender converts text and names to the client encoding: ask
         * for UTF-8 whatever the database's encoding (SQL_ASCII stays as is).
         */
        keys[n] = "client_encoding";
        vals[n++] = client_encoding != NULL ? client_encoding : "UTF8";
    } else {
        if (user_options != NULL) {
            keys[n] = "options";
            vals[n++] = user_options;
        }
        /* Catalog names in UTF-8, like the names of relations after conversion. */
        keys[n] = "client_encoding";
        vals[n++] = client_encoding != NULL ? client_encoding : "UTF8";
    }
    if (find_option(opts, "application_name") == NULL) {
        keys[n] = "fallback_application_name";
        vals[n++] = "pgcdc";
    }
    if (find_option(opts, "connect_timeout") == NULL) {
        keys[n] = "connect_timeout";
        vals[n++] = "10";
    }
    /* Notice a dead peer within about 30 s even when nothing is being sent. */
    if (find_option(opts, "keepalives_idle") == NULL) {
        keys[n] = "keepalives_idle";
        vals[n++] = "10";
        keys[n] = "keepalives_interval";
        vals[n++] = "5";
        keys[n] = "keepalives_count";
        vals[n++] = "3";
    }
    keys[n] = NULL;
    vals[n] = NULL;
    conn = PQconnectdbParams(keys, vals, 0);
    PQconninfoFree(opts);
    if (conn == NULL) {
        *err = pgcdc__fail(w, PGCDC_ERR_NOMEM, "out of memory while connecting");
        return NULL;
    }
    if (PQstatus(conn) != CONNECTION_OK) {
        int code;

        pgcdc__one_line(line, sizeof(line), PQerrorMessage(conn));
        code = classify(conn, line, &hint);
        *err = pgcdc__fail(w, code, "could not connect: %s (%s)", line, hint);
        PQfinish(conn);
        return NULL;
    }
    *err = PGCDC_OK;
    return conn;
}
