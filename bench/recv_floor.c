/*
 * pgcdc_recv_floor: the benchmark's receive-only consumer.  It starts a
 * pgoutput stream like any client, then only reads the socket: poll(), a
 * fixed pause so that one wakeup takes many messages, then recv() into a
 * buffer of 256 kB (more for a larger message) until the socket is empty.
 * It parses the CopyData framing and nothing else, to stop at the end
 * position the way pg_recvlogical does.  Its CPU time is what the kernel
 * charges any client for receiving the stream on this transport: the floor
 * under every consumer's figure.
 *
 * The START_REPLICATION query and everything after it go over the socket
 * directly (libpq only connects), so only unencrypted connections work.
 * Prints one JSON line: messages, bytes, recv() calls and wakeups.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "wire/writer.h"
#include "pgcdc.h"

#define BUF_SIZE (256 * 1024)
/* The protocol's limit for one message, and the reader's. */
#define MAX_MESSAGE (1024u * 1024 * 1024)
/* No byte for this long: the stream is stuck or the end position is wrong. */
#define IDLE_LIMIT_MS 30000
/* Seconds from the Unix epoch to the PostgreSQL epoch (2000-01-01). */
#define PG_EPOCH_OFFSET_S 946684800LL

typedef struct floor_opts {
    const char *dbname;
    const char *slot;
    const char *publication;
    uint64_t endpos;
    int binary;
    int gather_us;
} floor_opts;

typedef struct floor_state {
    int fd;
    uint64_t received; /* highest WAL position seen */
    uint64_t messages; /* CopyData messages up to the end position */
    uint64_t bytes;
    uint64_t recvs;
    uint64_t wakeups;
} floor_state;

static int send_all(int fd, const unsigned char *p, size_t n)
{
    while (n > 0) {
        ssize_t k = send(fd, p, n, MSG_NOSIGNAL);

        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            struct pollfd p1 = {.fd = fd, .events = POLLOUT};

            poll(&p1, 1, 1000);
            continue;
        }
        if (k <= 0) {
            fprintf(stderr, "pgcdc_recv_floor: send failed: %s\n", strerror(errno));
            return -1;
        }
        p += k;
        n -= (size_t)k;
    }
    return 0;
}

/* One frontend message: its type byte and length, then the body. */
static int send_message(int fd, char type, const pgcdc__buf *body)
{
    pgcdc__buf m;
    int r = -1;

    pgcdc__buf_init(&m);
    pgcdc__buf_u8(&m, (uint8_t)type);
    pgcdc__buf_u32(&m, (uint32_t)(body->len + 4));
    pgcdc__buf_put(&m, body->data, body->len);
    if (!m.oom && !body->oom)
        r = send_all(fd, m.data, m.len);
    pgcdc__buf_free(&m);
    return r;
}

/* A standby status update confirming nothing, so that the server does not time us out. */
static int send_status(floor_state *s)
{
    pgcdc__buf b;
    struct timeval tv;
    int r;

    gettimeofday(&tv, NULL);
    pgcdc__buf_init(&b);
    pgcdc__wr_status(&b, s->received, 0, 0,
                     ((int64_t)tv.tv_sec - PG_EPOCH_OFFSET_S) * 1000000 + tv.tv_usec, 0);
    r = send_message(s->fd, 'd', &b);
    pgcdc__buf_free(&b);
    return r;
}

static void server_error(const unsigned char *p, size_t n)
{
    const char *msg = "(no message)";

    /* Fields: a code byte and a string each; 'M' is the message. */
    for (size_t i = 0; i < n && p[i] != 0;) {
        size_t len = strnlen((const char *)p + i + 1, n - i - 1);

        if (p[i] == 'M') {
            msg = (const char *)p + i + 1;
            break;
        }
        i += len + 2;
    }
    fprintf(stderr, "pgcdc_recv_floor: server error: %s\n", msg);
}

/*
 * One backend message.  0 to go on, 1 at the end position, -1 on error.
 * The end rules are pg_recvlogical's: stop before a record past the end
 * position, after the record at it, or at a keepalive that reaches it.
 */
static int on_message(floor_state *s, const floor_opts *o, unsigned char type,
                      const unsigned char *p, size_t n)
{
    uint64_t lsn;

    switch (type) {
    case 'W': /* CopyBothResponse */
        return 0;
    case 'E':
        server_error(p, n);
        return -1;
    case 'c': /* CopyDone */
        return 1;
    case 'd':
        break;
    default:
        return 0; /* notices, parameter status */
    }
    if (n >= 1 + 8 + 8 + 8 && p[0] == 'w') {
        lsn = pgcdc__be64(p + 1);
        if (o->endpos != 0 && lsn > o->endpos)
            return 1;
        s->messages++;
        if (lsn > s->received)
            s->received = lsn;
        return o->endpos != 0 && lsn == o->endpos;
    }
    if (n >= 1 + 8 + 8 + 1 && p[0] == 'k') {
        lsn = pgcdc__be64(p + 1);
        if (lsn > s->received)
            s->received = lsn;
        if (o->endpos != 0 && lsn >= o->endpos)
            return 1;
        if (p[17] != 0 && send_status(s) != 0)
            return -1;
        return 0;
    }
    fprintf(stderr, "pgcdc_recv_floor: unexpected CopyData message\n");
    return -1;
}

static int start(floor_state *s, const floor_opts *o)
{
    char q[1024];
    pgcdc__buf b;
    int r;

    snprintf(q, sizeof(q),
             "START_REPLICATION SLOT \"%s\" LOGICAL 0/0 (proto_version '1', "
             "publication_names '%s'%s)",
             o->slot, o->publication, o->binary ? ", binary 'true'" : "");
    pgcdc__buf_init(&b);
    pgcdc__buf_str(&b, q);
    r = send_message(s->fd, 'Q', &b);
    pgcdc__buf_free(&b);
    return r;
}

/*
 * Parses the whole messages in buf[0, *have) and keeps the rest at the
 * start.  Returns 0 to go on, 1 at the end position, -1 on error; *need is
 * the size the buffer needs for the incomplete message that is left.
 */
static int parse(floor_state *s, const floor_opts *o, unsigned char *buf, size_t *have,
                 size_t *need)
{
    size_t at = 0;
    int r = 0;

    *need = 0;
    while (r == 0 && *have - at >= 5) {
        uint32_t len = pgcdc__be32(buf + at + 1);

        if (len < 4 || len > MAX_MESSAGE) {
            fprintf(stderr, "pgcdc_recv_floor: message of %" PRIu32 " bytes\n", len);
            return -1;
        }
        if (*have - at < (size_t)len + 1) {
            *need = (size_t)len + 1;
            break;
        }
        r = on_message(s, o, buf[at], buf + at + 5, len - 4);
        at += (size_t)len + 1;
    }
    memmove(buf, buf + at, *have - at);
    *have -= at;
    return r;
}

/* Reads until the end position: 0 there, -1 on error. */
static int stream(floor_state *s, const floor_opts *o)
{
    struct timespec pause = {.tv_sec = 0, .tv_nsec = (long)o->gather_us * 1000};
    size_t cap = BUF_SIZE;
    size_t have = 0;
    unsigned char *buf = malloc(cap);
    int r = 0;

    if (buf == NULL)
        return -1;
    while (r == 0) {
        struct pollfd p1 = {.fd = s->fd, .events = POLLIN};
        int n = poll(&p1, 1, IDLE_LIMIT_MS);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            fprintf(stderr, "pgcdc_recv_floor: %s\n",
                    n == 0 ? "no data for 30 s: is the end position past the slot's WAL?"
                           : strerror(errno));
            r = -1;
            break;
        }
        s->wakeups++;
        if (o->gather_us > 0)
            nanosleep(&pause, NULL);
        while (r == 0) {
            size_t room = cap - have;
            size_t need;
            ssize_t k = recv(s->fd, buf + have, room, MSG_DONTWAIT);

            s->recvs++;
            if (k < 0 && errno == EINTR)
                continue;
            if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
                break;
            if (k <= 0) {
                fprintf(stderr, "pgcdc_recv_floor: connection lost: %s\n",
                        k == 0 ? "closed by the server" : strerror(errno));
                r = -1;
                break;
            }
            s->bytes += (uint64_t)k;
            have += (size_t)k;
            r = parse(s, o, buf, &have, &need);
            if (r == 0 && need > cap) {
                unsigned char *grown = realloc(buf, need);

                if (grown == NULL) {
                    r = -1;
                    break;
                }
                buf = grown;
                cap = need;
            }
            /* A short read emptied the socket. */
            if ((size_t)k < room)
                break;
        }
    }
    free(buf);
    return r < 0 ? -1 : 0;
}

static void usage(FILE *f)
{
    fprintf(f, "pgcdc_recv_floor receives a pgoutput stream without decoding it and reports\n"
               "what it read as one JSON line.\n\n"
               "Usage:\n"
               "  pgcdc_recv_floor --slot NAME --publication NAME --endpos LSN [OPTION]...\n\n"
               "  -d, --dbname=CONNINFO   connection string or URI (PG* variables apply)\n"
               "  -S, --slot=NAME         existing replication slot\n"
               "  -P, --publication=NAME  existing publication\n"
               "  -E, --endpos=LSN        stop there\n"
               "      --binary            pgoutput binary mode (default: text values)\n"
               "      --gather-us=N       pause after a wakeup before reading (default 1000)\n"
               "  -h, --help              print this help and exit\n\n"
               "Only unencrypted connections: the stream is read from the socket directly.\n"
               "Exit status: 0 done, 1 runtime error, 2 bad usage.\n");
}

static int parse_args(int argc, char **argv, floor_opts *o)
{
    static const struct option longopts[] = {{"dbname", required_argument, NULL, 'd'},
                                             {"slot", required_argument, NULL, 'S'},
                                             {"publication", required_argument, NULL, 'P'},
                                             {"endpos", required_argument, NULL, 'E'},
                                             {"binary", no_argument, NULL, 'b'},
                                             {"gather-us", required_argument, NULL, 'g'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    int c;

    o->gather_us = 1000;
    while ((c = getopt_long(argc, argv, "d:S:P:E:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'd':
            o->dbname = optarg;
            break;
        case 'S':
            o->slot = optarg;
            break;
        case 'P':
            o->publication = optarg;
            break;
        case 'E':
            if (pgcdc_lsn_parse(optarg, &o->endpos) != PGCDC_OK || o->endpos == 0) {
                fprintf(stderr, "pgcdc_recv_floor: bad end position \"%s\" (use X/X)\n", optarg);
                return 2;
            }
            break;
        case 'b':
            o->binary = 1;
            break;
        case 'g':
            o->gather_us = atoi(optarg);
            if (o->gather_us < 0 || o->gather_us > 999999) {
                fprintf(stderr, "pgcdc_recv_floor: --gather-us must be 0 to 999999\n");
                return 2;
            }
            break;
        case 'h':
            usage(stdout);
            exit(0);
        default:
            usage(stderr);
            return 2;
        }
    }
    if (o->slot == NULL || o->publication == NULL || o->endpos == 0 || optind < argc) {
        fprintf(stderr, "pgcdc_recv_floor: --slot, --publication and --endpos are required\n");
        return 2;
    }
    if (strpbrk(o->slot, "\"") != NULL || strpbrk(o->publication, "'\\") != NULL) {
        fprintf(stderr, "pgcdc_recv_floor: quotes in the slot or publication name\n");
        return 2;
    }
    return 0;
}

int main(int argc, char **argv)
{
    floor_opts o = {0};
    floor_state s = {0};
    /* The connection string first: the keywords after it override it. */
    const char *keys[] = {"dbname", "replication", "sslmode", "gssencmode", NULL};
    const char *vals[] = {NULL, "database", "disable", "disable", NULL};
    PGconn *conn;
    int r = parse_args(argc, argv, &o);

    if (r != 0)
        return r;
    vals[0] = o.dbname; /* NULL: PGDATABASE and the defaults */
    conn = PQconnectdbParams(keys, vals, 1);
    if (PQstatus(conn) != CONNECTION_OK) {
        fprintf(stderr, "pgcdc_recv_floor: %s", PQerrorMessage(conn));
        PQfinish(conn);
        return 1;
    }
    s.fd = PQsocket(conn);
    r = start(&s, &o) != 0 || stream(&s, &o) != 0;
    printf("{\"tool\":\"pgcdc_recv_floor\",\"status\":\"%s\",\"messages\":%" PRIu64
           ",\"bytes\":%" PRIu64 ",\"recvs\":%" PRIu64 ",\"wakeups\":%" PRIu64 "}\n",
           r ? "error" : "endpos", s.messages, s.bytes, s.recvs, s.wakeups);
    PQfinish(conn);
    return r;
}
