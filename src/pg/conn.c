/*
 * Opening connections: the user's conninfo (string or URI, PG* variables
 * apply) plus the settings pgcdc needs, and failures mapped to one-line,
 * password-free messages that name the cause and the fix.  The server's
 * SQLSTATE decides the code; libpq hands it over for a failed connection
 * only inside a verbose message, so connections are made with verbose
 * errors and the code is read from there.
 */
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pg/conn.h"
#include "pgcdc.h"

/* Session settings the decoder relies on for value text. */
#define PGCDC__SESSION_OPTIONS                                                                     \
    "-c datestyle=ISO -c intervalstyle=postgres -c timezone=UTC -c bytea_output=hex "              \
    "-c extra_float_digits=1"

#define DEFAULT_CONNECT_TIMEOUT "10"
/* How often a wait on the server looks at the stop request. */
#define PGCDC__STOP_CHECK_MS 100

/*
 * A malformed connection string: libpq's message quotes fragments of it,
 * which may be a password given in it.  The spans that may hold one: from
 * the word "password" (in any case) to the end; in a URI, the user info when
 * it has a ':', and the query when it has a '%' (its keys may be
 * percent-encoded).
 */
static int secret_spans(const char *ci, size_t spans[3][2])
{
    size_t len = strlen(ci);
    int n = 0;

    for (size_t i = 0; i + 8 <= len; i++) {
        size_t k = 0;

        while (k < 8 && (ci[i + k] | 0x20) == "password"[k])
            k++;
        if (k == 8) {
            spans[n][0] = i;
            spans[n++][1] = len;
            break;
        }
    }
    if (strncmp(ci, "postgresql://", 13) == 0 || strncmp(ci, "postgres://", 11) == 0) {
        size_t from = (size_t)(strstr(ci, "://") - ci) + 3;
        const char *at = strrchr(ci, '@');
        const char *query = strchr(ci, '?');

        if (at != NULL && memchr(ci + from, ':', (size_t)(at - ci) - from) != NULL) {
            spans[n][0] = from;
            spans[n++][1] = (size_t)(at - ci);
        }
        if (query != NULL && strchr(query, '%') != NULL) {
            spans[n][0] = (size_t)(query - ci);
            spans[n++][1] = len;
        }
    }
    return n;
}

/* Whether a quoted fragment of libpq's message may be (part of) a password. */
static int secret_fragment(const char *ci, size_t spans[3][2], int nspans, const char *frag,
                           size_t len)
{
    int found = 0;

    /* Nothing to tell, or libpq's own words (missing "=" after ...). */
    if (nspans == 0 || len == 0 || (len == 1 && strchr("=]:/", frag[0]) != NULL))
        return 0;
    for (const char *p = ci; (p = strchr(p, frag[0])) != NULL; p++) {
        size_t at = (size_t)(p - ci);

        if (strncmp(p, frag, len) != 0)
            continue;
        found = 1;
        for (int i = 0; i < nspans; i++) {
            if (at < spans[i][1] && at + len > spans[i][0])
                return 1;
        }
    }
    /* Not in the string as written (decoded, say): it cannot be told apart. */
    return !found;
}

/*
 * Copies libpq's message about the malformed conninfo ci, each quoted
 * fragment that may hold a password replaced by "...".  A '"' in such a
 * span would make the fragments ambiguous: then the message is withheld.
 */
static void redact_parse_error(char *dst, size_t size, const char *msg, const char *ci)
{
    size_t spans[3][2];
    int nspans = secret_spans(ci, spans);
    size_t n = 0;

    for (int i = 0; i < nspans; i++) {
        if (memchr(ci + spans[i][0], '"', spans[i][1] - spans[i][0]) != NULL) {
            snprintf(dst, size, "libpq's message left out, as it could show the password");
            return;
        }
    }
    for (const char *p = msg; *p != '\0' && n + 5 < size;) {
        const char *end;
        size_t len;

        if (*p != '"') {
            dst[n++] = *p++;
            continue;
        }
        end = strchr(p + 1, '"');
        len = end != NULL ? (size_t)(end - p - 1) : strlen(p + 1);
        dst[n++] = '"';
        if (secret_fragment(ci, spans, nspans, p + 1, len)) {
            memcpy(dst + n, "...", 3);
            n += 3;
        } else {
            for (size_t k = 0; k < len && n + 2 < size; k++)
                dst[n++] = p[1 + k];
        }
        if (end == NULL)
            break;
        if (n + 1 < size)
            dst[n++] = '"';
        p = end + 1;
    }
    dst[n] = '\0';
}

static int is_sqlstate_char(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z');
}

/* At ":  XXXXX: ", the severity's colon followed by a SQLSTATE. */
static int code_at(const char *p)
{
    if (p[0] != ':' || p[1] != ' ' || p[2] != ' ')
        return 0;
    for (int i = 3; i < 8; i++) {
        if (!is_sqlstate_char(p[i]))
            return 0;
    }
    return p[8] == ':' && p[9] == ' ';
}

/*
 * A verbose libpq message reads "SEVERITY:  XXXXX: text", then a
 * "LOCATION:  ..." line.  Takes the last SQLSTATE out into state (the
 * attempt that failed last, when several hosts were tried) and writes the
 * message as the default verbosity would show it, as one line.
 */
static void split_verbose(const char *msg, char state[6], char *dst, size_t size)
{
    char plain[PGCDC__MSG_SIZE];
    size_t n = 0;
    const char *p = msg;

    state[0] = '\0';
    while (*p != '\0' && n + 1 < sizeof(plain)) {
        if (code_at(p)) {
            memcpy(state, p + 3, 5);
            state[5] = '\0';
            for (int i = 0; i < 3 && n + 1 < sizeof(plain); i++)
                plain[n++] = p[i];
            p += 10;
            continue;
        }
        if ((p == msg || p[-1] == '\n') && strncmp(p, "LOCATION:", 9) == 0) {
            const char *eol = strchr(p, '\n');

            p = eol != NULL ? eol + 1 : p + strlen(p);
            continue;
        }
        plain[n++] = *p++;
    }
    plain[n] = '\0';
    pgcdc__one_line(dst, size, plain);
}

/*
 * The hint for a TLS failure by libpq's words (and OpenSSL's it quotes),
 * the first match counting; NULL when the message is not about TLS.
 */
static const char *tls_hint(const char *msg)
{
    static const char *const hints[][2] = {
        {"does not match host name",
         "connect with a host name the server's certificate names, or fix the certificate"},
        {"server does not support SSL",
         "the server does not accept TLS connections: turn ssl on in its postgresql.conf, or "
         "lower sslmode if an unencrypted connection will do"},
        {"SSL not in use", "channel_binding=require needs TLS: set sslmode=require or stronger"},
        {"host name must be specified", "sslmode=verify-full needs a host name: set host"},
        {"SSL protocol version",
         "client and server share no TLS version: check ssl_min_protocol_version and "
         "ssl_max_protocol_version, and the server's settings of the same names"},
        {"root certificate",
         "check sslrootcert: the file of the CA that signed the server's certificate"},
        {"private key", "check sslcert and sslkey: the client's certificate and its key, the key "
                        "readable by this user only (chmod 0600)"},
        {"certificate file", "check sslcert and sslkey: the client's certificate and its key"},
        {"alert certificate required",
         "the server asks for a client certificate: give sslcert and sslkey"},
        {"alert unknown ca", "the server does not trust the client's certificate: have it signed "
                             "by a CA of the server's ssl_ca_file"},
        {"certificate",
         "check sslmode and sslrootcert: the server's certificate must be signed by that CA"},
        {"SSL negotiation", "the answer to the TLS request was not PostgreSQL's: check that host "
                            "and port lead to a PostgreSQL server"},
        {"SSL SYSCALL", "the connection broke during the TLS handshake: check that host and port "
                        "lead to the server, and its log"},
        {"SSL connection has been closed",
         "the server closed the connection during the TLS handshake: see its log"},
        {"SSL", "the TLS handshake failed: check sslmode and the other ssl options, and the "
                "server's ssl settings"},
    };

    for (size_t i = 0; i < sizeof(hints) / sizeof(hints[0]); i++) {
        if (strstr(msg, hints[i][0]) != NULL)
            return hints[i][1];
    }
    return NULL;
}

/* The code and the hint for a failed connection. */
static int classify(PGconn *conn, const char *state, const char *msg, const char **hint)
{
    if (PQconnectionNeedsPassword(conn)) {
        *hint = "give a password in the connection string, PGPASSWORD or ~/.pgpass";
        return PGCDC_ERR_AUTH;
    }
    if (strcmp(state, "28P01") == 0) {
        *hint = "check the user name and password in the connection string";
        return PGCDC_ERR_AUTH;
    }
    if (strncmp(state, "28", 2) == 0) {
        *hint = "the server refused the login: add a matching line to its pg_hba.conf "
                "(replication connections need one for the database too) and reload, and check "
                "that the role exists and may log in (ALTER ROLE <user> LOGIN)";
        return PGCDC_ERR_AUTH;
    }
    if (strcmp(state, PGCDC__SQLSTATE_INSUFFICIENT_PRIVILEGE) == 0) {
        *hint = "grant it: ALTER ROLE <user> REPLICATION";
        return PGCDC_ERR_PRIVILEGE;
    }
    if (strcmp(state, "3D000") == 0) {
        *hint = "check the database name in the connection string";
        return PGCDC_ERR_DATABASE;
    }
    if (strcmp(state, "53300") == 0) {
        *hint = "the server has no connection or WAL sender left: close some, or raise "
                "max_connections or max_wal_senders";
        return PGCDC_ERR_CONNECT;
    }
    if (strcmp(state, "57P03") == 0) {
        *hint = "the server is starting up or shutting down: try again shortly";
        return PGCDC_ERR_CONNECT;
    }
    if (state[0] != '\0') {
        *hint = "see the server's message";
        return PGCDC_ERR_CONNECT;
    }
    /* No SQLSTATE: libpq's own failure, in libpq's words (this process sets no locale). */
    *hint = tls_hint(msg);
    if (*hint == NULL)
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

/*
 * Connects with verbose errors, polling as libpq's own blocking connect
 * would.  A wait longer than timeout_s (0: none) ends the attempt: then the
 * blocking connect takes over, which moves on to the next host as
 * connect_timeout says (at the price of the SQLSTATE, for that rare case).
 * A stop request on the context ends the attempt (*stopped set, NULL).
 */
static PGconn *connect_verbose(pgcdc__ctx *ctx, const char *const *keys, const char *const *vals,
                               int timeout_s, int *stopped)
{
    PostgresPollingStatusType st = PGRES_POLLING_WRITING;
    PGconn *conn = PQconnectStartParams(keys, vals, 0);
    int64_t waited_ms = 0;

    *stopped = 0;
    if (conn == NULL || PQstatus(conn) == CONNECTION_BAD)
        return conn;
    PQsetErrorVerbosity(conn, PQERRORS_VERBOSE);
    while (st != PGRES_POLLING_OK && st != PGRES_POLLING_FAILED) {
        struct pollfd pfd;
        int n;

        if (pgcdc__ctx_stopping(ctx)) {
            PQfinish(conn);
            *stopped = 1;
            return NULL;
        }
        pfd.fd = PQsocket(conn);
        pfd.events = st == PGRES_POLLING_READING ? POLLIN : POLLOUT;
        pfd.revents = 0;
        /* In slices, to see a stop request. */
        n = poll(&pfd, 1, PGCDC__STOP_CHECK_MS);
        if (n < 0 && errno == EINTR)
            continue;
        if (n == 0) {
            waited_ms += PGCDC__STOP_CHECK_MS;
            if (timeout_s > 0 && waited_ms >= (int64_t)timeout_s * 1000) {
                PQfinish(conn);
                return PQconnectdbParams(keys, vals, 0);
            }
            continue;
        }
        waited_ms = 0;
        st = PQconnectPoll(conn);
    }
    if (st == PGRES_POLLING_OK)
        PQsetErrorVerbosity(conn, PQERRORS_DEFAULT);
    return conn;
}

PGconn *pgcdc__connect(pgcdc__ctx *ctx, const char *conninfo, int replication,
                       const char *client_encoding, int *err)
{
    PQconninfoOption *opts;
    char *parse_err = NULL;
    const char *keys[64];
    const char *vals[64];
    char options[512];
    const char *user_options;
    const char *timeout;
    int n = 0;
    PGconn *conn;
    char line[PGCDC__MSG_SIZE / 2];
    char state[6];
    const char *hint = "";
    int stopped;

    opts = PQconninfoParse(conninfo != NULL ? conninfo : "", &parse_err);
    if (opts == NULL) {
        if (parse_err != NULL) {
            char raw[sizeof(line)];

            pgcdc__one_line(raw, sizeof(raw), parse_err);
            redact_parse_error(line, sizeof(line), raw, conninfo != NULL ? conninfo : "");
            PQfreemem(parse_err);
        } else {
            snprintf(line, sizeof(line), "out of memory");
        }
        *err = pgcdc__fail(ctx, PGCDC_ERR_INVALID,
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
    } else if (user_options != NULL) {
        keys[n] = "options";
        vals[n++] = user_options;
    }
    /*
     * The walsender converts text and names to the client encoding: ask for
     * UTF-8 whatever the database's encoding (SQL_ASCII stays as is).
     * Catalog names come in UTF-8 too, like the names of relations.
     */
    keys[n] = "client_encoding";
    vals[n++] = client_encoding != NULL ? client_encoding : "UTF8";
    if (find_option(opts, "application_name") == NULL) {
        keys[n] = "fallback_application_name";
        vals[n++] = "pgcdc";
    }
    timeout = find_option(opts, "connect_timeout");
    if (timeout == NULL) {
        keys[n] = "connect_timeout";
        vals[n++] = timeout = DEFAULT_CONNECT_TIMEOUT;
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
    /* libpq waits at least 2 s per host; so does the poll. */
    conn =
        connect_verbose(ctx, keys, vals,
                        atoi(timeout) <= 0 ? 0 : (atoi(timeout) < 2 ? 2 : atoi(timeout)), &stopped);
    PQconninfoFree(opts);
    if (stopped) {
        *err = pgcdc__interrupted(ctx, PGCDC_ERR_STOPPED, "connect");
        return NULL;
    }
    if (conn == NULL) {
        *err = pgcdc__fail(ctx, PGCDC_ERR_NOMEM, "out of memory while connecting");
        return NULL;
    }
    if (PQstatus(conn) != CONNECTION_OK) {
        int code;

        split_verbose(PQerrorMessage(conn), state, line, sizeof(line));
        code = classify(conn, state, line, &hint);
        *err = pgcdc__fail(ctx, code, "could not connect: %s (%s)", line, hint);
        PQfinish(conn);
        return NULL;
    }
    *err = PGCDC_OK;
    return conn;
}

const char *pgcdc__sqlstate(const PGresult *res)
{
    const char *state = res != NULL ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;

    return state != NULL ? state : "";
}

int pgcdc__sqlstate_is(const PGresult *res, const char *state)
{
    return strcmp(pgcdc__sqlstate(res), state) == 0;
}

void pgcdc__result_line(char *dst, size_t size, PGconn *conn, const PGresult *res)
{
    const char *primary = res != NULL ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;

    pgcdc__one_line(dst, size, primary != NULL ? primary : PQerrorMessage(conn));
}

/* Asks the server to cancel the command running on conn. */
static void cancel(PGconn *conn)
{
    PGcancel *c = PQgetCancel(conn);
    char err[256];

    if (c != NULL) {
        PQcancel(c, err, sizeof(err));
        PQfreeCancel(c);
    }
}

/*
 * PQexec's work, waiting in poll() so that a stop request cancels the
 * command on the server at once (*cancelled set).  Returns the first
 * failed result, else the last; NULL when the command could not be sent.
 */
static PGresult *execute(pgcdc__ctx *ctx, PGconn *conn, const char *sql, int nparams,
                         const char *const *params, int *cancelled)
{
    PGresult *kept = NULL;
    PGresult *res;

    *cancelled = 0;
    if (!(nparams == 0 ? PQsendQuery(conn, sql)
                       : PQsendQueryParams(conn, sql, nparams, NULL, params, NULL, NULL, 0)))
        return NULL;
    for (;;) {
        while (PQisBusy(conn)) {
            struct pollfd pfd;
            int n;

            if (!*cancelled && pgcdc__ctx_stopping(ctx)) {
                cancel(conn);
                *cancelled = 1;
            }
            pfd.fd = PQsocket(conn);
            pfd.events = POLLIN;
            pfd.revents = 0;
            n = poll(&pfd, 1, PGCDC__STOP_CHECK_MS);
            if (n > 0 && !PQconsumeInput(conn))
                break;
            if (n < 0 && errno != EINTR)
                break;
        }
        res = PQgetResult(conn);
        if (res == NULL)
            break;
        if (kept != NULL && PQresultStatus(kept) == PGRES_FATAL_ERROR) {
            PQclear(res);
            continue;
        }
        PQclear(kept);
        kept = res;
        /* A COPY or a broken connection: no more results will come. */
        if (PQresultStatus(res) == PGRES_COPY_IN || PQresultStatus(res) == PGRES_COPY_OUT ||
            PQresultStatus(res) == PGRES_COPY_BOTH || PQstatus(conn) == CONNECTION_BAD)
            break;
    }
    return kept;
}

PGresult *pgcdc__query(pgcdc__ctx *ctx, PGconn *conn, const char *what, const char *sql,
                       int nparams, const char *const *params, char sqlstate[6])
{
    int cancelled;
    PGresult *res = execute(ctx, conn, sql, nparams, params, &cancelled);
    ExecStatusType st = PQresultStatus(res);
    char line[512];

    if (sqlstate != NULL)
        snprintf(sqlstate, 6, "%s", pgcdc__sqlstate(res));
    /* A command the cancel came too late for took effect: its result stands. */
    if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK)
        return res;
    if (cancelled) {
        pgcdc__interrupted(ctx, PGCDC_ERR_STOPPED, what);
    } else {
        pgcdc__result_line(line, sizeof(line), conn, res);
        pgcdc__fail(ctx, PGCDC_ERR_SQL, "could not %s: %s", what, line);
    }
    PQclear(res);
    return NULL;
}

int pgcdc__exec(pgcdc__ctx *ctx, PGconn *conn, const char *what, const char *sql, char sqlstate[6])
{
    PGresult *res = pgcdc__query(ctx, conn, what, sql, 0, NULL, sqlstate);

    if (res == NULL)
        return PGCDC_ERR_SQL;
    PQclear(res);
    return PGCDC_OK;
}
