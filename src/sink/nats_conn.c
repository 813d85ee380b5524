/*
 * The nats sink's URI, and NATS's text protocol spoken on a socket of the
 * sink's own, on the worker's thread: INFO and CONNECT, PING and PONG, HPUB
 * out, the replies to the sink's inbox (PubAcks, JetStream API answers) in.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/clock.h"
#include "sink/nats.h"
#include "sink/nats_int.h"
#include "sink/sink.h"
#include "sink/template.h"

#define DEFAULT_TEMPLATE "${prefix}.${schema}.${table}"
#define RETRY PGCDC__NATS_RETRY
#define REFUSED PGCDC__NATS_REFUSED
/* fill's result when bytes came (besides 0 and RETRY). */
#define GOT 3
/* What one read takes at most. */
#define READ_CHUNK (64 * 1024)

/* ---- the URI: nats://HOST[:PORT][/SUBJECT_TEMPLATE] ---- */

/* Characters of a subject's template: visible, no wildcard, nothing that ends a URI's path. */
static int subject_char(int ch)
{
    return isgraph(ch) && ch != '*' && ch != '>' && ch != '?' && ch != '#';
}

/* Characters of a schema or table name kept in a subject ('.', spaces, wildcards become '_'). */
int pgcdc__nats_name_char(int ch)
{
    return ch >= 0x80 || (isgraph(ch) && ch != '.' && ch != '*' && ch != '>');
}

/* A subject's tokens are separated by '.' and none is empty. */
static int tokens_ok(const char *s)
{
    return s[0] != '.' && s[0] != '\0' && s[strlen(s) - 1] != '.' && strstr(s, "..") == NULL;
}

int pgcdc__nats_check_uri(const char *uri, char *err, size_t errlen)
{
    const char *host;
    const char *end;
    long port = 4222;

    if (strncmp(uri, "nats://", 7) != 0) {
        snprintf(err, errlen, "not a nats URI (use nats://HOST:PORT/SUBJECT_TEMPLATE)");
        return PGCDC_ERR_INVALID;
    }
    host = uri + 7;
    end = host + strcspn(host, "/");
    /* The authority is not shown back: it may hold a password. */
    if (memchr(host, '@', (size_t)(end - host)) != NULL) {
        snprintf(err, errlen,
                 "no credentials in the URI (use sink.nats.user and sink.nats.password, or "
                 "sink.nats.token)");
        return PGCDC_ERR_INVALID;
    }
    if (pgcdc__sink_host_port(host, end, "(use nats://HOST:PORT/SUBJECT_TEMPLATE)", &port, NULL,
                              err, errlen) != PGCDC_OK)
        return PGCDC_ERR_INVALID;
    if (*end == '/' && end[1] != '\0') {
        pgcdc__buf b;
        int ok;

        if (pgcdc__template_check(end + 1, "subject", subject_char,
                                  "in a NATS subject (no spaces, '*', '>', '?' or '#')", NULL, err,
                                  errlen) != PGCDC_OK)
            return PGCDC_ERR_INVALID;
        pgcdc__buf_init(&b);
        if (pgcdc__template_expand(&b, end + 1, "s", "t", "p", NULL) != PGCDC_OK) {
            pgcdc__buf_free(&b);
            snprintf(err, errlen, "out of memory");
            return PGCDC_ERR_NOMEM;
        }
        ok = tokens_ok((const char *)b.data);
        pgcdc__buf_free(&b);
        if (!ok) {
            snprintf(err, errlen,
                     "empty token in the subject \"%s\" (its '.'-separated parts may not be "
                     "empty)",
                     end + 1);
            return PGCDC_ERR_INVALID;
        }
    }
    return PGCDC_OK;
}

/* The template with the prefix put in (the prefix's dots stay separators), malloc'd. */
static char *with_prefix(const char *t, const char *prefix)
{
    pgcdc__buf b;

    pgcdc__buf_init(&b);
    while (*t != '\0') {
        if (strncmp(t, "${prefix}", 9) == 0) {
            pgcdc__buf_put(&b, prefix, strlen(prefix));
            t += 9;
        } else {
            pgcdc__buf_u8(&b, (uint8_t)*t++);
        }
    }
    return pgcdc__buf_take(&b);
}

/* Host, port, template; the prefix checked.  PGCDC_OK or a failure. */
int pgcdc__nats_split_uri(pgcdc__nats *ns, const char *uri)
{
    const char *host = uri + 7;
    const char *end = host + strcspn(host, "/");
    const char *colon = memchr(host, ':', (size_t)(end - host));
    const char *t = *end == '/' && end[1] != '\0' ? end + 1 : DEFAULT_TEMPLATE;

    for (const char *p = ns->prefix; *p != '\0'; p++) {
        if (!subject_char((unsigned char)*p) || *p == '$')
            return pgcdc_sink_fail(ns->sink, PGCDC_ERR_INVALID,
                                   "sink.nats.subject_prefix: character '%c' is not allowed "
                                   "(no spaces, '*', '>', '$', '?' or '#')",
                                   *p);
    }
    if (!tokens_ok(ns->prefix))
        return pgcdc_sink_fail(ns->sink, PGCDC_ERR_INVALID,
                               "sink.nats.subject_prefix \"%s\" has an empty token (its "
                               "'.'-separated parts may not be empty)",
                               ns->prefix);
    if (ns->create_stream && strncmp(t, "${prefix}.", 10) != 0)
        return pgcdc_sink_fail(ns->sink, PGCDC_ERR_INVALID,
                               "sink.nats.create_stream makes a stream of subjects ${prefix}.>: "
                               "the subject template must start with \"${prefix}.\"");
    if (ns->create_stream && ns->stream[0] == '\0')
        return pgcdc_sink_fail(ns->sink, PGCDC_ERR_INVALID,
                               "sink.nats.create_stream needs sink.nats.stream (its name)");
    ns->host = strndup(host, (size_t)((colon != NULL ? colon : end) - host));
    ns->port = colon != NULL ? atoi(colon + 1) : 4222;
    ns->tmpl = with_prefix(t, ns->prefix);
    return ns->host != NULL && ns->tmpl != NULL
               ? PGCDC_OK
               : pgcdc_sink_fail(ns->sink, PGCDC_ERR_NOMEM, "out of memory");
}

/* ---- JSON of the server's INFO and of JetStream's answers (flat lookups suffice) ---- */

/* Past `"name":` and spaces in json, or NULL. */
static const char *member(const char *json, size_t len, const char *name)
{
    char key[64];
    int n = snprintf(key, sizeof(key), "\"%s\":", name);
    const char *end = json + len;
    const char *at = memmem(json, len, key, (size_t)n);

    if (at == NULL)
        return NULL;
    for (at += n; at < end && (*at == ' ' || *at == '\t'); at++)
        ;
    return at < end ? at : NULL;
}

static long long member_num(const char *json, size_t len, const char *name)
{
    const char *at = member(json, len, name);

    return at != NULL && (isdigit((unsigned char)*at) || *at == '-') ? strtoll(at, NULL, 10) : 0;
}

static int member_true(const char *json, size_t len, const char *name)
{
    const char *at = member(json, len, name);

    return at != NULL && (size_t)(json + len - at) >= 4 && memcmp(at, "true", 4) == 0;
}

/* A string member's text (its escapes taken as the character after them), "" when absent. */
static void member_str(const char *json, size_t len, const char *name, char *out, size_t size)
{
    const char *at = member(json, len, name);
    const char *end = json + len;
    size_t n = 0;

    if (at != NULL && *at == '"') {
        for (at++; at < end && *at != '"' && n + 1 < size; at++) {
            if (*at == '\\' && at + 1 < end)
                at++;
            out[n++] = (char)((unsigned char)*at < 0x20 ? ' ' : *at);
        }
    }
    out[n] = '\0';
}

int pgcdc__nats_puback(const char *json, size_t len, int *dup, int *code, char *why, size_t size)
{
    const char *err = member(json, len, "error");

    *dup = 0;
    *code = 0;
    why[0] = '\0';
    if (err == NULL) {
        *dup = member_true(json, len, "duplicate");
        /* A PubAck names its stream; anything else is no PubAck. */
        if (member(json, len, "stream") != NULL)
            return 1;
        snprintf(why, size, "not a PubAck: %.*s", (int)(len > 200 ? 200 : len), json);
        return 0;
    }
    len -= (size_t)(err - json);
    *code = (int)member_num(err, len, "code");
    member_str(err, len, "description", why, size);
    if (why[0] == '\0')
        snprintf(why, size, "error %d", *code);
    return 0;
}

/* s with '"' and '\' escaped, for JSON. */
static void put_json_str(pgcdc__buf *b, const char *s)
{
    pgcdc__buf_u8(b, '"');
    for (; *s != '\0'; s++) {
        if (*s == '"' || *s == '\\')
            pgcdc__buf_u8(b, '\\');
        pgcdc__buf_u8(b, (uint8_t)*s);
    }
    pgcdc__buf_u8(b, '"');
}

/* ---- the socket ---- */

/* What was read and not taken yet ("" before anything was). */
static const char *unread(const pgcdc__nats *ns)
{
    return ns->in.data != NULL ? (const char *)ns->in.data + ns->in_off : "";
}

void pgcdc__nats_disconnect(pgcdc__nats *ns)
{
    if (ns->fd >= 0)
        close(ns->fd);
    ns->fd = -1;
    pgcdc__buf_reset(&ns->in);
    ns->in_off = 0;
    ns->req_wait = 0;
    /* What was written and not answered goes again on the next connection. */
    for (size_t i = ns->done; i < ns->sent; i++) {
        if (ns->q[i].token == 0 && ns->q[i].state == NM_SENT) {
            ns->q[i].state = NM_RETRY;
            ns->retry = 1;
        }
    }
    ns->nsent = 0;
}

/* A TCP connection within the timeout: its descriptor (non-blocking), or -1 with why set. */
static int dial(pgcdc__nats *ns, char *why, size_t size)
{
    struct addrinfo hints;
    struct addrinfo *res = NULL;
    char port[16];
    int fd = -1;
    int e;

    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    snprintf(port, sizeof(port), "%d", ns->port);
    e = getaddrinfo(ns->host, port, &hints, &res);
    if (e != 0) {
        snprintf(why, size, "could not resolve \"%s\": %s", ns->host, gai_strerror(e));
        return -1;
    }
    for (struct addrinfo *ai = res; ai != NULL; ai = ai->ai_next) {
        int err = 0;

        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, ai->ai_protocol);
        if (fd < 0) {
            err = errno;
        } else if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
            struct pollfd p = {fd, POLLOUT, 0};
            socklen_t l = sizeof(err);

            err = errno;
            if (err == EINPROGRESS) {
                err = ETIMEDOUT;
                if (poll(&p, 1, (int)ns->timeout_ms) == 1 &&
                    getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &l) != 0)
                    err = errno;
            }
        }
        if (fd >= 0 && err == 0)
            break;
        snprintf(why, size, "could not connect to %s:%d: %s", ns->host, ns->port, strerror(err));
        if (fd >= 0)
            close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    if (fd >= 0) {
        int one = 1;

        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    }
    return fd;
}

static int write_out(pgcdc__nats *ns, const char *data, size_t len, int take_replies);

/* Writes all of len bytes without taking replies (a PONG, the handshake): PGCDC_OK or RETRY. */
static int send_all(pgcdc__nats *ns, const char *data, size_t len)
{
    return write_out(ns, data, len, 0);
}

/*
 * Reads what is there, waiting up to wait_ms for it: GOT when bytes came, 0
 * when none did (or the worker is asked to stop), RETRY with why.
 */
static int fill(pgcdc__nats *ns, long long wait_ms)
{
    for (;;) {
        char *at;
        ssize_t n;
        struct pollfd p[2] = {{ns->fd, POLLIN, 0}, {-1, POLLIN, 0}};

        if (ns->in_off == ns->in.len) {
            pgcdc__buf_reset(&ns->in);
            ns->in_off = 0;
        } else if (ns->in_off > READ_CHUNK) {
            memmove(ns->in.data, ns->in.data + ns->in_off, ns->in.len - ns->in_off);
            ns->in.len -= ns->in_off;
            ns->in_off = 0;
        }
        at = pgcdc__buf_reserve(&ns->in, READ_CHUNK);
        if (at == NULL) {
            snprintf(ns->why, sizeof(ns->why), "out of memory");
            return RETRY;
        }
        n = recv(ns->fd, at, READ_CHUNK, 0);
        if (n > 0) {
            ns->in.len += (size_t)n;
            return GOT;
        }
        if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
            snprintf(ns->why, sizeof(ns->why), "connection lost: %s",
                     n == 0 ? "the server closed it" : strerror(errno));
            return RETRY;
        }
        if (wait_ms <= 0)
            return 0;
        if (ns->sink->env.stop != NULL)
            p[1].fd = pgcdc__stop_fd(ns->sink->env.stop);
        if (poll(p, 2, (int)wait_ms) <= 0 || pgcdc__sink_stopping(ns->sink))
            return 0;
        wait_ms = 0;
        if (!(p[0].revents & (POLLIN | POLLERR | POLLHUP)))
            return 0;
    }
}

/* A line read within the timeout (its CRLF taken off) into line: PGCDC_OK or RETRY with why. */
static int read_line(pgcdc__nats *ns, char *line, size_t size)
{
    int64_t deadline = pgcdc__now_us() + ns->timeout_ms * 1000;

    for (;;) {
        const char *p = unread(ns);
        size_t avail = ns->in.len - ns->in_off;
        const char *crlf = memmem(p, avail, "\r\n", 2);
        int64_t left = (deadline - pgcdc__now_us()) / 1000;
        int r;

        if (crlf != NULL) {
            size_t n = (size_t)(crlf - p);

            snprintf(line, size, "%.*s", (int)(n < size ? n : size - 1), p);
            ns->in_off += n + 2;
            return PGCDC_OK;
        }
        if (left <= 0 || (r = fill(ns, left)) == 0) {
            snprintf(ns->why, sizeof(ns->why), "no answer from the server within %lld ms",
                     ns->timeout_ms);
            return RETRY;
        }
        if (r != GOT)
            return r;
    }
}

/* The server's -ERR line's text, without its quotes. */
static void err_text(const char *line, char *out, size_t size)
{
    const char *s = line + 4;
    size_t n;

    while (*s == ' ' || *s == '\'')
        s++;
    n = strlen(s);
    while (n > 0 && (s[n - 1] == '\'' || s[n - 1] == ' '))
        n--;
    snprintf(out, size, "%.*s", (int)n, s);
}

/* CONNECT with the credentials, and PING: the PONG says the server took them. */
static int hello(pgcdc__nats *ns, char *why, size_t size)
{
    char line[2048];
    char text[512];
    pgcdc__buf b;
    int r = read_line(ns, line, sizeof(line));

    if (r != PGCDC_OK) {
        snprintf(why, size, "%s", ns->why);
        return r;
    }
    if (strncmp(line, "INFO ", 5) != 0) {
        snprintf(why, size, "not a NATS server at %s:%d (it said \"%.60s\")", ns->host, ns->port,
                 line);
        return REFUSED;
    }
    if (member_true(line, strlen(line), "tls_required")) {
        snprintf(why, size, "the server at %s:%d requires TLS, which the nats sink does not speak",
                 ns->host, ns->port);
        return REFUSED;
    }
    if (!member_true(line, strlen(line), "headers")) {
        snprintf(why, size, "the server at %s:%d takes no headers (NATS 2.2 or later is needed)",
                 ns->host, ns->port);
        return REFUSED;
    }
    ns->max_payload = member_num(line, strlen(line), "max_payload");
    if (ns->max_payload <= 0)
        ns->max_payload = 1024 * 1024;
    pgcdc__buf_init(&b);
    pgcdc__buf_lit(
        &b,
        "CONNECT {\"verbose\":false,\"pedantic\":false,\"headers\":true,"
        "\"no_responders\":true,\"protocol\":1,\"lang\":\"c\",\"version\":\"" PGCDC_VERSION_STRING
        "\",\"name\":\"pgcdc\"");
    if (ns->user[0] != '\0') {
        pgcdc__buf_lit(&b, ",\"user\":");
        put_json_str(&b, ns->user);
        pgcdc__buf_lit(&b, ",\"pass\":");
        put_json_str(&b, ns->password);
    }
    if (ns->token[0] != '\0') {
        pgcdc__buf_lit(&b, ",\"auth_token\":");
        put_json_str(&b, ns->token);
    }
    pgcdc__buf_lit(&b, "}\r\nPING\r\nSUB ");
    pgcdc__buf_lit(&b, ns->inbox);
    pgcdc__buf_lit(&b, ".* 1\r\n");
    r = b.oom ? RETRY : send_all(ns, (const char *)b.data, b.len);
    pgcdc__buf_free(&b);
    for (; r == PGCDC_OK; r = read_line(ns, line, sizeof(line))) {
        if (strcmp(line, "PONG") == 0)
            return PGCDC_OK;
        if (strncmp(line, "-ERR", 4) == 0) {
            err_text(line, text, sizeof(text));
            snprintf(why, size,
                     "could not connect to nats at \"%s:%d\": %s (check sink.nats.user, "
                     "sink.nats.password or sink.nats.token)",
                     ns->host, ns->port, text);
            return REFUSED;
        }
    }
    snprintf(why, size, "%s", ns->why);
    return r;
}

int pgcdc__nats_try_connect(pgcdc__nats *ns, char *why, size_t size)
{
    int r;

    pgcdc__nats_disconnect(ns);
    ns->fd = dial(ns, why, size);
    if (ns->fd < 0)
        return RETRY;
    r = hello(ns, why, size);
    if (r != PGCDC_OK) {
        pgcdc__nats_disconnect(ns);
        return r;
    }
    ns->sent = ns->done;
    return PGCDC_OK;
}

/* ---- reading ---- */

/* A message on the inbox: its subject's last token is a message's index, or "r" (a request). */
static void take_reply(pgcdc__nats *ns, const char *subj, size_t sublen, const char *hdr,
                       size_t hdrlen, const char *body, size_t len)
{
    size_t il = strlen(ns->inbox);
    int status = 0;
    uint64_t index = 0;

    if (sublen <= il + 1 || memcmp(subj, ns->inbox, il) != 0 || subj[il] != '.')
        return;
    /* "NATS/1.0 503" when nobody (no stream) took the message. */
    if (hdrlen > 9 && memcmp(hdr, "NATS/1.0 ", 9) == 0)
        status = atoi(hdr + 9);
    subj += il + 1;
    sublen -= il + 1;
    if (sublen == 1 && subj[0] == 'r') {
        if (ns->req_wait) {
            pgcdc__buf_reset(&ns->reply);
            pgcdc__buf_put(&ns->reply, body, len);
            ns->reply_503 = status == 503;
            ns->req_wait = 0;
        }
        return;
    }
    for (size_t i = 0; i < sublen; i++) {
        if (!isdigit((unsigned char)subj[i]))
            return;
        index = index * 10 + (uint64_t)(subj[i] - '0');
    }
    pgcdc__nats_answer(ns, index, status, body, len);
}

/*
 * One MSG or HMSG at line (its arguments up to crlf, its bytes after):
 * the bytes it takes in all, 0 when they are not all read yet.
 */
static size_t take_msg(pgcdc__nats *ns, const char *line, const char *crlf, size_t avail)
{
    const char *tok[6];
    size_t toklen[6];
    int n = 0;
    int h = line[0] == 'H';
    size_t hdrlen = 0;
    size_t total;
    size_t need;

    for (const char *p = line + (h ? 5 : 4); p < crlf && n < 6;) {
        while (p < crlf && *p == ' ')
            p++;
        if (p == crlf)
            break;
        tok[n] = p;
        while (p < crlf && *p != ' ')
            p++;
        toklen[n] = (size_t)(p - tok[n]);
        n++;
    }
    /* MSG subject sid [reply] size; HMSG subject sid [reply] hdr_size total_size. */
    if (n < (h ? 4 : 3))
        return (size_t)(crlf - line) + 2;
    total = strtoull(tok[n - 1], NULL, 10);
    if (h)
        hdrlen = strtoull(tok[n - 2], NULL, 10);
    need = (size_t)(crlf - line) + 2 + total + 2;
    if (avail < need)
        return 0;
    if (hdrlen > total)
        hdrlen = total;
    /* Delivered on the sink's inbox: the subject names what it answers. */
    take_reply(ns, tok[0], toklen[0], crlf + 2, hdrlen, crlf + 2 + hdrlen, total - hdrlen);
    return need;
}

/* Takes every whole item read: PGCDC_OK, or RETRY (an -ERR; why set). */
static int take(pgcdc__nats *ns)
{
    for (;;) {
        const char *p = unread(ns);
        size_t avail = ns->in.len - ns->in_off;
        const char *crlf = memmem(p, avail, "\r\n", 2);
        size_t used = crlf != NULL ? (size_t)(crlf - p) + 2 : 0;

        if (crlf == NULL)
            return PGCDC_OK;
        if (strncmp(p, "MSG ", 4) == 0 || strncmp(p, "HMSG ", 5) == 0) {
            used = take_msg(ns, p, crlf, avail);
            if (used == 0)
                return PGCDC_OK;
        } else if (strncmp(p, "PING", 4) == 0) {
            int r = send_all(ns, "PONG\r\n", 6);

            if (r != PGCDC_OK)
                return r;
        } else if (strncmp(p, "-ERR", 4) == 0) {
            char line[512];
            char text[400];

            snprintf(line, sizeof(line), "%.*s", (int)(crlf - p), p);
            err_text(line, text, sizeof(text));
            snprintf(ns->why, sizeof(ns->why), "the server said: %s", text);
            ns->in_off += used;
            return RETRY;
        }
        ns->in_off += used;
    }
}

int pgcdc__nats_read(pgcdc__nats *ns, long long wait_ms, int *idle)
{
    int got = 0;
    int r;

    *idle = 0;
    for (;;) {
        r = take(ns);
        if (r != PGCDC_OK)
            return r;
        r = fill(ns, got ? 0 : wait_ms);
        if (r == 0)
            break;
        if (r != GOT)
            return r;
        got = 1;
    }
    *idle = !got;
    return PGCDC_OK;
}

/*
 * Writes all of len bytes; with take_replies, reads the server's answers
 * whenever the socket would block (the server answers as it reads, and would
 * otherwise wait on us).  PGCDC_OK, RETRY with why, or a failure.
 */
static int write_out(pgcdc__nats *ns, const char *data, size_t len, int take_replies)
{
    int idle;
    int r;

    while (len > 0) {
        ssize_t n = send(ns->fd, data, len, MSG_NOSIGNAL);
        struct pollfd pfd = {ns->fd, (short)(POLLOUT | (take_replies ? POLLIN : 0)), 0};

        if (n > 0) {
            data += n;
            len -= (size_t)n;
            continue;
        }
        if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
            snprintf(ns->why, sizeof(ns->why), "connection lost: %s", strerror(errno));
            return RETRY;
        }
        if (poll(&pfd, 1, (int)ns->timeout_ms) <= 0) {
            snprintf(ns->why, sizeof(ns->why), "timed out writing to the server");
            return RETRY;
        }
        if (take_replies && (pfd.revents & (POLLIN | POLLERR | POLLHUP))) {
            r = pgcdc__nats_read(ns, 0, &idle);
            if (r != PGCDC_OK)
                return r;
        }
    }
    return PGCDC_OK;
}

int pgcdc__nats_write(pgcdc__nats *ns, const void *data, size_t len)
{
    return write_out(ns, data, len, 1);
}

/* ---- the stream ---- */

/* A JetStream API request and its answer in ns->reply: PGCDC_OK, or RETRY with why. */
static int request(pgcdc__nats *ns, const char *subject, const char *payload)
{
    int64_t deadline = pgcdc__now_us() + ns->timeout_ms * 1000;
    char head[512];
    int idle;
    int n =
        snprintf(head, sizeof(head), "PUB %s %s.r %zu\r\n", subject, ns->inbox, strlen(payload));
    int r;

    ns->req_wait = 1;
    r = pgcdc__nats_write(ns, head, (size_t)n);
    if (r == PGCDC_OK)
        r = pgcdc__nats_write(ns, payload, strlen(payload));
    if (r == PGCDC_OK)
        r = pgcdc__nats_write(ns, "\r\n", 2);
    while (r == PGCDC_OK && ns->req_wait) {
        if (pgcdc__now_us() >= deadline || pgcdc__sink_stopping(ns->sink)) {
            snprintf(ns->why, sizeof(ns->why), "no answer from JetStream within %lld ms",
                     ns->timeout_ms);
            r = RETRY;
        } else {
            r = pgcdc__nats_read(ns, 50, &idle);
        }
    }
    ns->req_wait = 0;
    if (r == PGCDC_OK && ns->reply_503) {
        snprintf(ns->why, sizeof(ns->why),
                 "JetStream does not answer (is the server started with -js?)");
        r = RETRY;
    }
    return r;
}

int pgcdc__nats_ensure_stream(pgcdc__nats *ns)
{
    char subject[300];
    char why[400];
    int dup;
    int code;
    pgcdc__buf cfg;
    int r;

    if (ns->stream_ready || !ns->create_stream)
        return PGCDC_OK;
    snprintf(subject, sizeof(subject), "$JS.API.STREAM.INFO.%s", ns->stream);
    r = request(ns, subject, "");
    if (r != PGCDC_OK)
        return r;
    if (pgcdc__nats_puback((const char *)ns->reply.data, ns->reply.len, &dup, &code, why,
                           sizeof(why)) ||
        code != 404) {
        /* There (an INFO names its config, which a PubAck parse takes as not one). */
        if (code != 0)
            return pgcdc_sink_fail(ns->sink, PGCDC_ERR_SINK, "could not look up stream \"%s\": %s",
                                   ns->stream, why);
        ns->stream_ready = 1;
        return PGCDC_OK;
    }
    pgcdc__buf_init(&cfg);
    pgcdc__buf_lit(&cfg, "{\"name\":");
    put_json_str(&cfg, ns->stream);
    pgcdc__buf_lit(&cfg, ",\"subjects\":[");
    snprintf(subject, sizeof(subject), "%s.>", ns->prefix);
    put_json_str(&cfg, subject);
    snprintf(why, sizeof(why),
             "],\"storage\":\"file\",\"retention\":\"limits\",\"num_replicas\":1,"
             "\"duplicate_window\":%lld}",
             ns->dup_window_ms * 1000000LL);
    pgcdc__buf_lit(&cfg, why);
    snprintf(subject, sizeof(subject), "$JS.API.STREAM.CREATE.%s", ns->stream);
    r = cfg.oom ? pgcdc_sink_fail(ns->sink, PGCDC_ERR_NOMEM, "out of memory")
                : request(ns, subject, pgcdc__buf_cstr(&cfg));
    pgcdc__buf_free(&cfg);
    if (r != PGCDC_OK)
        return r;
    pgcdc__nats_puback((const char *)ns->reply.data, ns->reply.len, &dup, &code, why, sizeof(why));
    if (code != 0)
        return pgcdc_sink_fail(ns->sink, PGCDC_ERR_SINK,
                               "could not create stream \"%s\": %s (error %d)", ns->stream, why,
                               code);
    pgcdc_sink_log(ns->sink, PGCDC_LOG_INFO, "sink \"%s\": created stream \"%s\" (subjects %s.>)",
                   ns->sink->shown, ns->stream, ns->prefix);
    ns->stream_ready = 1;
    return PGCDC_OK;
}
