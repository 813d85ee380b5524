/*
 * netproxy: a small TCP proxy on the loopback interface for the chaos suite.
 * One thread, poll(), many connections.  Commands read from a control FIFO
 * cut the link the way networks fail: blackhole, reset, client-side reset.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>

#define MAX_CONNS 128
#define BUF_SIZE (64 * 1024)

/*
 * A holed connection has lost its flow: whatever either side sends is read
 * and dropped, nothing is forwarded, nothing is closed towards the other
 * side.  Its peers only learn of it from their own timeouts.
 */
typedef struct half {
    int fd;
    char buf[BUF_SIZE]; /* read from this side, waiting to go to the other */
    size_t len;
    size_t off;
    int eof; /* this side closed its sending direction */
} half;

typedef struct conn {
    int used;
    int id;
    int holed;
    double holed_at;
    half side[2]; /* 0 client, 1 server */
} conn;

typedef struct proxy {
    int listen_fd;
    int ctl_fd;
    int target_port;
    int blackhole; /* new connections are holed too */
    conn conns[MAX_CONNS];
    int next_id;
    char ctl[256];
    size_t ctl_len;
} proxy;

static volatile sig_atomic_t stop_requested;

static void on_term(int sig)
{
    (void)sig;
    stop_requested = 1;
}

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

__attribute__((format(printf, 1, 2))) static void logf_(const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "%.3f netproxy: ", now_s());
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    fflush(stderr);
}

static void close_fd(int *fd, int rst)
{
    if (*fd < 0)
        return;
    if (rst) {
        struct linger lg = {1, 0};

        setsockopt(*fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
    }
    close(*fd);
    *fd = -1;
}

static void conn_free(conn *c, int rst)
{
    close_fd(&c->side[0].fd, rst);
    close_fd(&c->side[1].fd, rst);
    c->used = 0;
}

static void conn_hole(conn *c, double t)
{
    if (c->holed)
        return;
    c->holed = 1;
    c->holed_at = t;
    for (int s = 0; s < 2; s++) {
        c->side[s].len = 0;
        c->side[s].off = 0;
    }
}

static int set_nonblock(int fd)
{
    int fl = fcntl(fd, F_GETFL);

    return fl < 0 ? -1 : fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

static int listen_on(int port, int *bound)
{
    struct sockaddr_in a;
    socklen_t alen = sizeof(a);
    int one = 1;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    if (fd < 0)
        return -1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(fd, 64) != 0 ||
        getsockname(fd, (struct sockaddr *)&a, &alen) != 0 || set_nonblock(fd) != 0) {
        close(fd);
        return -1;
    }
    *bound = ntohs(a.sin_port);
    return fd;
}

/* Loopback connects complete or fail at once: a blocking connect is bounded. */
static int connect_target(int port)
{
    struct sockaddr_in a;
    int one = 1;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    if (fd < 0)
        return -1;
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0 || set_nonblock(fd) != 0) {
        close(fd);
        return -1;
    }
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    return fd;
}

static void accept_one(proxy *p)
{
    int fd = accept4(p->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
    conn *c = NULL;
    int one = 1;

    if (fd < 0)
        return;
    for (int i = 0; i < MAX_CONNS && c == NULL; i++) {
        if (!p->conns[i].used)
            c = &p->conns[i];
    }
    if (c == NULL) {
        logf_("too many connections: refusing one");
        close_fd(&fd, 1);
        return;
    }
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    memset(c, 0, sizeof(*c));
    c->used = 1;
    c->id = ++p->next_id;
    c->side[0].fd = fd;
    c->side[1].fd = -1;
    if (p->blackhole) {
        /* The client's handshake went through; nothing after it will. */
        conn_hole(c, now_s());
        logf_("conn %d accepted into the blackhole", c->id);
        return;
    }
    c->side[1].fd = connect_target(p->target_port);
    if (c->side[1].fd < 0) {
        logf_("conn %d: could not connect to port %d: %s", c->id, p->target_port, strerror(errno));
        conn_free(c, 1);
        return;
    }
    logf_("conn %d open", c->id);
}

static void command(proxy *p, const char *cmd)
{
    double t = now_s();
    int n = 0;

    if (strcmp(cmd, "blackhole") == 0) {
        p->blackhole = 1;
        for (int i = 0; i < MAX_CONNS; i++) {
            if (p->conns[i].used && !p->conns[i].holed) {
                conn_hole(&p->conns[i], t);
                n++;
            }
        }
        logf_("blackhole: %d connections holed", n);
    } else if (strcmp(cmd, "pass") == 0) {
        p->blackhole = 0;
        logf_("pass: new connections are forwarded");
    } else if (strcmp(cmd, "reset") == 0 || strcmp(cmd, "reset-client") == 0) {
        int client_only = strcmp(cmd, "reset-client") == 0;

        for (int i = 0; i < MAX_CONNS; i++) {
            conn *c = &p->conns[i];

            if (!c->used)
                continue;
            n++;
            if (!client_only) {
                conn_free(c, 1);
                continue;
            }
            /* The server keeps a half-dead connection until its own timeout. */
            close_fd(&c->side[0].fd, 1);
            conn_hole(c, t);
            if (c->side[1].fd < 0)
                conn_free(c, 0);
        }
        logf_("%s: %d connections reset", cmd, n);
    } else if (cmd[0] != '\0') {
        logf_("unknown command \"%s\" (use blackhole, pass, reset or reset-client)", cmd);
    }
}

static void read_control(proxy *p)
{
    for (;;) {
        ssize_t n = read(p->ctl_fd, p->ctl + p->ctl_len, sizeof(p->ctl) - 1 - p->ctl_len);
        char *nl;

        if (n <= 0)
            return;
        p->ctl_len += (size_t)n;
        p->ctl[p->ctl_len] = '\0';
        while ((nl = strchr(p->ctl, '\n')) != NULL) {
            *nl = '\0';
            command(p, p->ctl);
            p->ctl_len -= (size_t)(nl + 1 - p->ctl);
            memmove(p->ctl, nl + 1, p->ctl_len + 1);
        }
        if (p->ctl_len == sizeof(p->ctl) - 1)
            p->ctl_len = 0; /* an overlong line: drop it */
    }
}

/* Reads from side s; 0 when the connection must go away. */
static int pump_in(conn *c, int s)
{
    half *h = &c->side[s];
    char junk[BUF_SIZE];
    ssize_t n;

    if (c->holed) {
        n = read(h->fd, junk, sizeof(junk));
    } else {
        if (h->len == BUF_SIZE)
            return 1;
        n = read(h->fd, h->buf + h->len, BUF_SIZE - h->len);
    }
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return 1;
    if (n > 0) {
        if (!c->holed)
            h->len += (size_t)n;
        return 1;
    }
    if (c->holed) {
        if (s == 0)
            logf_("conn %d: client closed its holed connection after %.3f s", c->id,
                  now_s() - c->holed_at);
        else
            logf_("conn %d: server closed its holed connection after %.3f s", c->id,
                  now_s() - c->holed_at);
        close_fd(&h->fd, 0);
        /* The hole swallows the close too; once both sides are gone, forget it. */
        if (c->side[1 - s].fd < 0)
            c->used = 0;
        return 1;
    }
    if (n < 0) {
        logf_("conn %d: %s side failed: %s", c->id, s == 0 ? "client" : "server", strerror(errno));
        return 0;
    }
    h->eof = 1;
    if (h->len == 0 && c->side[1 - s].fd >= 0)
        shutdown(c->side[1 - s].fd, SHUT_WR);
    return 1;
}

/* Writes what side s read to the other side; 0 when the connection must go away. */
static int pump_out(conn *c, int s)
{
    half *h = &c->side[s];
    int to = c->side[1 - s].fd;
    ssize_t n;

    if (c->holed || h->len == h->off)
        return 1;
    n = write(to, h->buf + h->off, h->len - h->off);
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return 1;
    if (n < 0) {
        logf_("conn %d: writing to the %s failed: %s", c->id, s == 0 ? "server" : "client",
              strerror(errno));
        return 0;
    }
    h->off += (size_t)n;
    if (h->off == h->len) {
        h->off = 0;
        h->len = 0;
        if (h->eof)
            shutdown(to, SHUT_WR);
    }
    return 1;
}

static void serve(proxy *p)
{
    struct pollfd pfd[2 + 2 * MAX_CONNS];
    int owner[2 + 2 * MAX_CONNS];

    while (!stop_requested) {
        int n = 0;

        pfd[n].fd = p->listen_fd;
        pfd[n++].events = POLLIN;
        pfd[n].fd = p->ctl_fd;
        pfd[n++].events = POLLIN;
        for (int i = 0; i < MAX_CONNS; i++) {
            conn *c = &p->conns[i];

            if (!c->used)
                continue;
            for (int s = 0; s < 2; s++) {
                half *in = &c->side[s];
                half *back = &c->side[1 - s];

                if (in->fd < 0)
                    continue;
                pfd[n].fd = in->fd;
                pfd[n].events = 0;
                if (c->holed || (!in->eof && in->len < BUF_SIZE))
                    pfd[n].events |= POLLIN;
                if (!c->holed && back->len > back->off)
                    pfd[n].events |= POLLOUT;
                owner[n++] = i * 2 + s;
            }
        }
        if (poll(pfd, (nfds_t)n, 200) < 0) {
            if (errno == EINTR)
                continue;
            logf_("poll failed: %s", strerror(errno));
            return;
        }
        if (pfd[1].revents & POLLIN)
            read_control(p);
        for (int k = 2; k < n; k++) {
            conn *c = &p->conns[owner[k] / 2];
            int s = owner[k] % 2;
            int ok = 1;

            if (!c->used || c->side[s].fd != pfd[k].fd || pfd[k].revents == 0)
                continue;
            if (!c->holed && c->side[s].eof && (pfd[k].revents & (POLLHUP | POLLERR))) {
                /* Both directions of this side are gone: nothing more can flow. */
                logf_("conn %d closed", c->id);
                conn_free(c, 0);
                continue;
            }
            if (pfd[k].revents & (POLLIN | POLLHUP | POLLERR))
                ok = pump_in(c, s);
            if (ok && c->used && (pfd[k].revents & POLLOUT))
                ok = pump_out(c, 1 - s);
            if (ok && c->used && !c->holed && c->side[0].eof && c->side[1].eof &&
                c->side[0].len == 0 && c->side[1].len == 0) {
                logf_("conn %d closed", c->id);
                conn_free(c, 0);
            } else if (!ok && c->used) {
                logf_("conn %d reset", c->id);
                conn_free(c, 1);
            }
        }
        if (pfd[0].revents & POLLIN)
            accept_one(p);
    }
}

static void usage(void)
{
    fprintf(stderr, "usage: netproxy --target PORT --control FIFO [--listen PORT]\n"
                    "Forwards 127.0.0.1:LISTEN (0: any free port, printed on stdout) to\n"
                    "127.0.0.1:TARGET.  Lines written to FIFO: blackhole, pass, reset,\n"
                    "reset-client.  Stops on SIGTERM or SIGINT.\n");
}

int main(int argc, char **argv)
{
    static proxy p;
    const char *ctl_path = NULL;
    struct sigaction sa;
    int listen_port = 0;
    int bound = 0;

    p.target_port = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--target") == 0 && i + 1 < argc) {
            p.target_port = atoi(argv[++i]);
        } else if (strcmp(argv[i], "--listen") == 0 && i + 1 < argc) {
            listen_port = atoi(argv[++i]);
        } else if (strcmp(argv[i], "--control") == 0 && i + 1 < argc) {
            ctl_path = argv[++i];
        } else {
            usage();
            return 2;
        }
    }
    if (p.target_port <= 0 || p.target_port > 65535 || ctl_path == NULL || listen_port < 0 ||
        listen_port > 65535) {
        usage();
        return 2;
    }
    if (mkfifo(ctl_path, 0600) != 0 && errno != EEXIST) {
        fprintf(stderr, "netproxy: could not create \"%s\": %s\n", ctl_path, strerror(errno));
        return 1;
    }
    /* Read-write: the FIFO never reports end-of-file between writers. */
    p.ctl_fd = open(ctl_path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
    p.listen_fd = listen_on(listen_port, &bound);
    if (p.ctl_fd < 0 || p.listen_fd < 0) {
        fprintf(stderr, "netproxy: could not set up: %s\n", strerror(errno));
        return 1;
    }
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_term;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    printf("%d\n", bound);
    fflush(stdout);
    logf_("listening on 127.0.0.1:%d, forwarding to 127.0.0.1:%d", bound, p.target_port);
    serve(&p);
    for (int i = 0; i < MAX_CONNS; i++) {
        if (p.conns[i].used)
            conn_free(&p.conns[i], 0);
    }
    close(p.listen_fd);
    close(p.ctl_fd);
    logf_("stopped");
    return 0;
}
