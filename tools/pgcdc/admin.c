/*
 * The admin HTTP server (see admin.h): the listening socket is bound here,
 * so that a busy address says why, then handed to libmicrohttpd, which
 * answers on its own polling thread.  Each request reads the workers'
 * stats afresh; metrics.c writes the answers.
 */
#include <errno.h>
#include <microhttpd.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "admin.h"
#include "args.h"
#include "log.h"
#include "metrics.h"
#include "page.h"
#include "status_json.h"

struct pgcdc_tool_admin {
    struct MHD_Daemon *d;
    pgcdc_worker *const *w;
    char (*names)[64];
    int n;
    pgcdc_tool_history *h; /* the status page's last minutes */
};

/* Splits addr into host (empty: any) and port; 0 or -1 with err set. */
static int split(const char *addr, char *host, size_t hsize, char *port, size_t psize, char *err,
                 size_t esize)
{
    const char *colon;
    const char *h = addr;
    size_t hlen;
    char *end;
    long n;

    if (addr[0] == '[') {
        const char *close = strchr(addr, ']');

        if (close == NULL || close[1] != ':')
            goto bad;
        h = addr + 1;
        hlen = (size_t)(close - h);
        colon = close + 1;
    } else {
        colon = strrchr(addr, ':');
        if (colon == NULL || memchr(addr, ':', (size_t)(colon - addr)) != NULL)
            goto bad;
        hlen = (size_t)(colon - addr);
    }
    if (hlen >= hsize || strlen(colon + 1) >= psize)
        goto bad;
    errno = 0;
    n = strtol(colon + 1, &end, 10);
    if (colon[1] < '0' || colon[1] > '9' || *end != '\0' || errno != 0 || n < 0 || n > 65535)
        goto bad;
    memcpy(host, h, hlen);
    host[hlen] = '\0';
    snprintf(port, psize, "%d", (int)n);
    return 0;
bad:
    snprintf(err, esize,
             "invalid metrics address \"%s\" (use HOST:PORT, e.g. 127.0.0.1:9187, or "
             "[::1]:9187)",
             addr);
    return -1;
}

int pgcdc_tool_admin_check_addr(const char *addr, char *err, size_t size)
{
    char host[256];
    char port[8];

    return split(addr, host, sizeof(host), port, sizeof(port), err, size);
}

/* A listening socket on addr, or -1 with the message written. */
static int listen_on(const char *addr, int *ipv6)
{
    struct addrinfo hints;
    struct addrinfo *res = NULL;
    char host[256];
    char port[8];
    char err[512];
    int e;
    int fd = -1;

    if (split(addr, host, sizeof(host), port, sizeof(port), err, sizeof(err)) != 0)
        return -1;
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    e = getaddrinfo(host[0] != '\0' ? host : NULL, port, &hints, &res);
    if (e != 0) {
        fprintf(stderr,
                "pgcdc: error: could not resolve metrics address \"%s\": %s (use an IP "
                "address or a known host name)\n",
                addr, gai_strerror(e));
        return -1;
    }
    e = 0;
    for (struct addrinfo *ai = res; ai != NULL && fd < 0; ai = ai->ai_next) {
        int one = 1;

        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd < 0) {
            e = errno;
            continue;
        }
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(fd, 64) != 0) {
            e = errno;
            close(fd);
            fd = -1;
            continue;
        }
        *ipv6 = ai->ai_family == AF_INET6;
    }
    freeaddrinfo(res);
    if (fd < 0)
        fprintf(stderr,
                "pgcdc: error: could not listen on metrics address \"%s\": %s (choose a free "
                "port with --metrics-addr)\n",
                addr, strerror(e));
    return fd;
}

static int64_t wall_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/*
 * Every pipeline's figures now, their sinks' in the same block after them
 * (freed with it); the tables in one malloc'd block (*tables).  NULL on no
 * memory.
 */
static pgcdc_tool_metrics_pipeline *read_all(pgcdc_tool_admin *a, pgcdc_table_stats **tables)
{
    size_t align = _Alignof(pgcdc_sink_stats);
    size_t head = ((size_t)a->n * sizeof(pgcdc_tool_metrics_pipeline) + align - 1) / align * align;
    pgcdc_tool_metrics_pipeline *p;
    pgcdc_sink_stats *sinks;
    pgcdc_sink_stats one;
    pgcdc_table_stats *v = NULL;
    int nsinks = 0;
    int nv = 0;
    int cap = 0;

    /* A worker's sinks are fixed when it is made: count them, then read them into place. */
    for (int i = 0; i < a->n; i++) {
        for (int k = 0; pgcdc_worker_sink_stats(a->w[i], k, &one) == PGCDC_OK; k++)
            nsinks++;
    }
    p = calloc(1, head + (size_t)nsinks * sizeof(*sinks) + 1);
    if (p == NULL)
        return NULL;
    sinks = (pgcdc_sink_stats *)(void *)((char *)p + head);
    for (int i = 0, at = 0; i < a->n; i++) {
        p[i].name = a->names[i];
        pgcdc_worker_stats(a->w[i], &p[i].st);
        p[i].sinks = sinks + at;
        while (at < nsinks &&
               pgcdc_worker_sink_stats(a->w[i], p[i].nsinks, &sinks[at]) == PGCDC_OK) {
            p[i].nsinks++;
            at++;
        }
        for (int k = 0;; k++) {
            if (nv == cap) {
                int c = cap > 0 ? cap * 2 : 16;
                pgcdc_table_stats *grown = realloc(v, (size_t)c * sizeof(*grown));

                if (grown == NULL) {
                    free(v);
                    free(p);
                    return NULL;
                }
                v = grown;
                cap = c;
            }
            if (pgcdc_worker_table_stats(a->w[i], k, &v[nv]) != PGCDC_OK)
                break;
            nv++;
            p[i].ntables++;
        }
    }
    /* The tables' places once v stops moving. */
    for (int i = 0, at = 0; i < a->n; i++) {
        p[i].tables = v + at;
        at += p[i].ntables;
    }
    *tables = v;
    return p;
}

static enum MHD_Result reply(struct MHD_Connection *c, unsigned status, const char *type,
                             char *body, size_t len, enum MHD_ResponseMemoryMode mode)
{
    struct MHD_Response *resp = MHD_create_response_from_buffer(len, body, mode);
    enum MHD_Result r;

    if (resp == NULL) {
        if (mode == MHD_RESPMEM_MUST_FREE)
            free(body);
        return MHD_NO;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    r = MHD_queue_response(c, status, resp);
    MHD_destroy_response(resp);
    return r;
}

static enum MHD_Result reply_text(struct MHD_Connection *c, unsigned status, const char *s)
{
    return reply(c, status, "text/plain; charset=utf-8", (char *)s, strlen(s),
                 MHD_RESPMEM_MUST_COPY);
}

static enum MHD_Result answer(pgcdc_tool_admin *a, struct MHD_Connection *c, const char *url)
{
    pgcdc_table_stats *tables = NULL;
    pgcdc_tool_metrics_pipeline *p;
    enum MHD_Result r;

    if (strcmp(url, "/healthz") == 0)
        return reply_text(c, MHD_HTTP_OK, "ok\n");
    if (strcmp(url, "/") == 0) {
        size_t len;
        const char *page = pgcdc_tool_status_page(&len);

        return reply(c, MHD_HTTP_OK, "text/html; charset=utf-8", (char *)page, len,
                     MHD_RESPMEM_PERSISTENT);
    }
    if (strcmp(url, "/metrics") != 0 && strcmp(url, "/readyz") != 0 &&
        strcmp(url, "/status.json") != 0)
        return reply_text(c, MHD_HTTP_NOT_FOUND,
                          "not found (try /, /status.json, /metrics, /healthz, /readyz)\n");
    p = read_all(a, &tables);
    if (p == NULL)
        return reply_text(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n");
    if (strcmp(url, "/metrics") == 0) {
        size_t len = 0;
        char *body = pgcdc_tool_metrics_text(p, a->n, wall_us(), &len);

        r = body == NULL ? reply_text(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n")
                         : reply(c, MHD_HTTP_OK, "text/plain; version=0.0.4; charset=utf-8", body,
                                 len, MHD_RESPMEM_MUST_FREE);
    } else if (strcmp(url, "/status.json") == 0) {
        size_t len = 0;
        char *body = pgcdc_tool_status_json(p, a->n, a->h, wall_us(), &len);

        r = body == NULL
                ? reply_text(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n")
                : reply(c, MHD_HTTP_OK, "application/json", body, len, MHD_RESPMEM_MUST_FREE);
    } else {
        char why[4096];

        if (pgcdc_tool_metrics_ready(p, a->n, why, sizeof(why)))
            r = reply_text(c, MHD_HTTP_OK, "ok\n");
        else
            r = reply_text(c, MHD_HTTP_SERVICE_UNAVAILABLE, why);
    }
    free(tables);
    free(p);
    return r;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **state)
{
    (void)version;
    (void)upload_data;
    (void)upload_data_size;
    (void)state;
    if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
        return reply_text(c, MHD_HTTP_METHOD_NOT_ALLOWED, "use GET\n");
    return answer(cls, c, url);
}

pgcdc_tool_admin *pgcdc_tool_admin_start(const char *addr, pgcdc_worker *const *w,
                                         char *const *names, int n, int quiet, int *code)
{
    pgcdc_tool_admin *a;
    char err[512];
    int ipv6 = 0;
    int fd;

    *code = 0;
    if (addr == NULL)
        return NULL;
    if (pgcdc_tool_admin_check_addr(addr, err, sizeof(err)) != 0) {
        *code = pgcdc_tool_usage_error("%s", err);
        return NULL;
    }
    *code = EXIT_RUNTIME;
    a = calloc(1, sizeof(*a));
    if (a == NULL || (a->names = calloc((size_t)n, sizeof(*a->names))) == NULL) {
        fprintf(stderr, "pgcdc: error: out of memory\n");
        free(a);
        return NULL;
    }
    a->w = w;
    a->n = n;
    for (int i = 0; i < n; i++)
        snprintf(a->names[i], sizeof(a->names[i]), "%s", names[i]);
    /* Ten minutes of history, a point every 2 s: a stats read per pipeline, nothing per event. */
    a->h = pgcdc_tool_history_new(n, 300);
    if (a->h == NULL || pgcdc_tool_history_start(a->h, w, 2000) != 0) {
        fprintf(stderr, "pgcdc: error: could not start the status page's sampler\n");
        goto fail;
    }
    fd = listen_on(addr, &ipv6);
    if (fd < 0)
        goto fail;
    /* One thread answers: a scrape is short, and the workers never wait for it. */
    a->d = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | (ipv6 ? MHD_USE_IPv6 : 0), 0, NULL, NULL,
        on_request, a, MHD_OPTION_LISTEN_SOCKET, fd, MHD_OPTION_CONNECTION_TIMEOUT, 10u,
        MHD_OPTION_CONNECTION_LIMIT, 64u, MHD_OPTION_END);
    if (a->d == NULL) {
        close(fd);
        fprintf(stderr, "pgcdc: error: could not start the metrics server on \"%s\"\n", addr);
        goto fail;
    }
    if (!quiet) {
        char msg[600];

        snprintf(msg, sizeof(msg),
                 "serving the status page /, /metrics, /healthz and /readyz on %s", addr);
        pgcdc_tool_log(PGCDC_LOG_INFO, NULL, msg);
    }
    *code = 0;
    return a;
fail:
    pgcdc_tool_history_free(a->h);
    free(a->names);
    free(a);
    return NULL;
}

void pgcdc_tool_admin_stop(pgcdc_tool_admin *a)
{
    if (a == NULL)
        return;
    MHD_stop_daemon(a->d);
    pgcdc_tool_history_free(a->h);
    free(a->names);
    free(a);
}
