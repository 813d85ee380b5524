/*
 * pgcdc_http_receiver: the benchmark's webhook target.  Accepts HTTP/1.1
 * POSTs on 127.0.0.1 (keep-alive, Content-Length bodies, "Expect:
 * 100-continue"), answers each at once with 200, and counts the events in
 * the bodies (the elements of a JSON array, or the objects of NDJSON).  A
 * request whose webhook-id came before on the same path (a retry after a
 * timeout: the first one arrived, its answer did not) counts as duplicate
 * events.
 * Prints one JSON line when stopped (SIGINT, SIGTERM) or once --expect
 * events arrived.
 */
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_CONNS 64
#define HEAD_MAX 16384

typedef struct conn {
    int fd;
    char head[HEAD_MAX]; /* the request's head, gathered until its blank line */
    size_t head_len;
    size_t body_left; /* bytes of the body still to read */
    int in_body;
    char id[256]; /* the request's path and webhook-id, "" when it has no id */
    unsigned long long body_events;
    /* The event counter's state within the body. */
    int depth;
    int in_string;
    int escaped;
} conn;

typedef struct totals {
    unsigned long long requests, events, bytes, duplicate_events;
    double first_s, last_s;
} totals;

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The webhook-ids of the requests answered: an open-addressing set. */
static char **ids;
static size_t ids_cap;
static size_t ids_n;

/* 1 when id was seen before; else remembers it.  Requests without an id are never repeats. */
static int id_seen(const char *id)
{
    size_t h = 5381;

    if (id[0] == '\0')
        return 0;
    if ((ids_n + 1) * 2 > ids_cap) {
        size_t cap = ids_cap > 0 ? ids_cap * 2 : 1024;
        char **tab = calloc(cap, sizeof(*tab));

        if (tab == NULL) {
            perror("pgcdc_http_receiver");
            exit(1);
        }
        for (size_t i = 0; i < ids_cap; i++) {
            size_t g = 5381;

            if (ids[i] == NULL)
                continue;
            for (const char *q = ids[i]; *q != '\0'; q++)
                g = g * 33 + (unsigned char)*q;
            while (tab[g & (cap - 1)] != NULL)
                g++;
            tab[g & (cap - 1)] = ids[i];
        }
        free(ids);
        ids = tab;
        ids_cap = cap;
    }
    for (const char *q = id; *q != '\0'; q++)
        h = h * 33 + (unsigned char)*q;
    for (;; h++) {
        char **e = &ids[h & (ids_cap - 1)];

        if (*e == NULL) {
            *e = strdup(id);
            ids_n++;
            return 0;
        }
        if (strcmp(*e, id) == 0)
            return 1;
    }
}

/* A whole request arrived: its events count, or count as duplicates. */
static void request_done(conn *c, totals *t)
{
    if (id_seen(c->id))
        t->duplicate_events += c->body_events;
    else
        t->events += c->body_events;
    c->body_events = 0;
    t->requests++;
}

/* Counts the objects that open at the top level of an array body or of NDJSON. */
static void count_events(conn *c, const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char ch = p[i];

        if (c->in_string) {
            if (c->escaped)
                c->escaped = 0;
            else if (ch == '\\')
                c->escaped = 1;
            else if (ch == '"')
                c->in_string = 0;
            continue;
        }
        if (ch == '"') {
            c->in_string = 1;
        } else if (ch == '{' || ch == '[') {
            /* An object directly inside the top-level array, or at the top of NDJSON. */
            if (ch == '{' && (c->depth == 1 || c->depth == 0))
                c->body_events++;
            c->depth++;
        } else if (ch == '}' || ch == ']') {
            c->depth--;
        }
    }
}

/* The Content-Length of a complete head, and whether it asks for 100-continue. */
static long parse_head(const char *head, int *expect_continue, char *id, size_t idlen)
{
    const char *p = head;
    long len = -1;

    *expect_continue = 0;
    id[0] = '\0';
    while ((p = strstr(p, "\r\n")) != NULL) {
        p += 2;
        if (strncasecmp(p, "Content-Length:", 15) == 0)
            len = strtol(p + 15, NULL, 10);
        else if (strncasecmp(p, "webhook-id:", 11) == 0) {
            const char *v = p + 11;
            size_t n;

            while (*v == ' ')
                v++;
            const char *path = strchr(head, ' ');
            size_t plen = path != NULL ? strcspn(path + 1, " \r\n") : 0;

            n = strcspn(v, "\r\n");
            /* Per path: every consumer of a run has its own. */
            snprintf(id, idlen, "%.*s %.*s", (int)plen, path != NULL ? path + 1 : "", (int)n, v);
        } else if (strncasecmp(p, "Expect:", 7) == 0 && strstr(p, "100-continue") != NULL)
            *expect_continue = 1;
    }
    return len;
}

static int send_all(int fd, const char *s)
{
    size_t n = strlen(s);

    while (n > 0) {
        ssize_t w = write(fd, s, n);

        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        s += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Reads what the connection has; 0 to keep it, -1 to close it. */
static int on_readable(conn *c, totals *t)
{
    char buf[65536];
    ssize_t n = read(c->fd, buf, sizeof(buf));
    size_t pos = 0;

    if (n <= 0)
        return n < 0 && (errno == EINTR || errno == EAGAIN) ? 0 : -1;
    t->bytes += (unsigned long long)n;
    while (pos < (size_t)n) {
        if (c->in_body) {
            size_t take = (size_t)n - pos < c->body_left ? (size_t)n - pos : c->body_left;

            count_events(c, buf + pos, take);
            pos += take;
            c->body_left -= take;
            if (c->body_left == 0) {
                c->in_body = 0;
                c->head_len = 0;
                request_done(c, t);
                t->last_s = now_s();
                if (send_all(c->fd, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n") != 0)
                    return -1;
            }
            continue;
        }
        /* The head, byte by byte up to its blank line. */
        while (pos < (size_t)n && !c->in_body) {
            int cont;
            long len;

            if (c->head_len + 1 >= sizeof(c->head))
                return -1;
            c->head[c->head_len++] = buf[pos++];
            c->head[c->head_len] = '\0';
            if (c->head_len < 4 || memcmp(c->head + c->head_len - 4, "\r\n\r\n", 4) != 0)
                continue;
            len = parse_head(c->head, &cont, c->id, sizeof(c->id));
            if (len < 0) {
                send_all(c->fd, "HTTP/1.1 411 Length Required\r\nContent-Length: 0\r\n\r\n");
                return -1;
            }
            if (t->requests == 0 && t->first_s == 0)
                t->first_s = now_s();
            if (cont && send_all(c->fd, "HTTP/1.1 100 Continue\r\n\r\n") != 0)
                return -1;
            c->in_body = 1;
            c->body_left = (size_t)len;
            c->depth = c->in_string = c->escaped = 0;
            c->body_events = 0;
            if (len == 0) {
                c->in_body = 0;
                c->head_len = 0;
                request_done(c, t);
                if (send_all(c->fd, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n") != 0)
                    return -1;
            }
        }
    }
    return 0;
}

static int listen_local(const char *port_file)
{
    struct sockaddr_in addr;
    socklen_t alen = sizeof(addr);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    FILE *f;

    if (fd < 0)
        return -1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    memset(&addr, 0, sizeof(addr));
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) != 0 || listen(fd, 64) != 0 ||
        getsockname(fd, (struct sockaddr *)&addr, &alen) != 0) {
        close(fd);
        return -1;
    }
    /* Written whole, then renamed: a reader never sees half a port. */
    {
        char tmp[4096];

        snprintf(tmp, sizeof(tmp), "%s.tmp", port_file);
        f = fopen(tmp, "w");
        if (f == NULL || fprintf(f, "%u\n", ntohs(addr.sin_port)) < 0 || fclose(f) != 0 ||
            rename(tmp, port_file) != 0) {
            close(fd);
            return -1;
        }
    }
    return fd;
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"port-file", required_argument, NULL, 'p'},
        {"expect", required_argument, NULL, 'n'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    static conn conns[MAX_CONNS];
    struct pollfd pfd[MAX_CONNS + 1];
    const char *port_file = NULL;
    unsigned long long expect = 0;
    totals t = {0};
    struct sigaction sa;
    int lfd;
    int opt;

    while ((opt = getopt_long(argc, argv, "p:n:h", longopts, NULL)) != -1) {
        switch (opt) {
        case 'p':
            port_file = optarg;
            break;
        case 'n':
            expect = strtoull(optarg, NULL, 10);
            break;
        default:
            fprintf(opt == 'h' ? stdout : stderr,
                    "Usage: pgcdc_http_receiver --port-file FILE [--expect N]\n"
                    "Answers webhook POSTs on 127.0.0.1 with 200 and counts their events;\n"
                    "prints one JSON line when stopped or after N events.\n");
            return opt == 'h' ? 0 : 2;
        }
    }
    if (port_file == NULL) {
        fprintf(stderr, "pgcdc_http_receiver: --port-file is required\n");
        return 2;
    }
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    lfd = listen_local(port_file);
    if (lfd < 0) {
        fprintf(stderr, "pgcdc_http_receiver: cannot listen: %s\n", strerror(errno));
        return 1;
    }
    for (int i = 0; i < MAX_CONNS; i++)
        conns[i].fd = -1;
    while (!stop && (expect == 0 || t.events < expect)) {
        int n = 0;

        pfd[n++] = (struct pollfd){.fd = lfd, .events = POLLIN};
        for (int i = 0; i < MAX_CONNS; i++)
            pfd[n++] = (struct pollfd){.fd = conns[i].fd, .events = POLLIN};
        if (poll(pfd, (nfds_t)n, 200) < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        if (pfd[0].revents & POLLIN) {
            int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);

            for (int i = 0; fd >= 0 && i < MAX_CONNS; i++) {
                if (conns[i].fd < 0) {
                    memset(&conns[i], 0, sizeof(conns[i]));
                    conns[i].fd = fd;
                    fd = -1;
                }
            }
            if (fd >= 0)
                close(fd);
        }
        for (int i = 0; i < MAX_CONNS; i++) {
            if (conns[i].fd >= 0 && (pfd[i + 1].revents & (POLLIN | POLLHUP | POLLERR)) &&
                on_readable(&conns[i], &t) != 0) {
                close(conns[i].fd);
                conns[i].fd = -1;
            }
        }
    }
    printf("{\"tool\":\"pgcdc_http_receiver\",\"requests\":%llu,\"events\":%llu,"
           "\"duplicate_events\":%llu,\"bytes\":%llu,\"first_s\":%.6f,\"last_s\":%.6f}\n",
           t.requests, t.events, t.duplicate_events, t.bytes, t.first_s, t.last_s);
    for (int i = 0; i < MAX_CONNS; i++) {
        if (conns[i].fd >= 0)
            close(conns[i].fd);
    }
    close(lfd);
    return 0;
}
