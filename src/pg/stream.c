/*
 * The replication stream: START_REPLICATION on a libpq replication
 * connection, a receive loop that gathers bulk streams and wakes for stop
 * requests, standby status updates (flush = what the ledger confirmed), and
 * the keeper thread that keeps the status flowing while the worker is busy.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "base/buf.h"
#include "base/clock.h"
#include "base/num.h"
#include "pg/slot.h"
#include "pg/conn.h"
#include "pg/stream.h"
#include "pgcdc.h"
#include "wire/writer.h"

/* With nothing received for this long, ask the server for a keepalive. */
#define PGCDC__PING_AFTER_MS 1000
/*
 * A stream is "bulk" from this many messages within a millisecond, and again
 * an ordinary one when a gather brings fewer than PGCDC__THIN_MESSAGES.
 */
#define PGCDC__BUSY_MESSAGES 32
#define PGCDC__BULK_WINDOW_US 1000
#define PGCDC__THIN_MESSAGES 8
/*
 * How long a bulk stream is left to gather before it is read is adapted, so
 * that one wakeup finds as much as the server's side holds comfortably: a
 * wakeup costs far more than reading a message, but a full socket makes the
 * walsender wait.  Each message the walsender sends is a kernel buffer of
 * its own, with some 640 bytes of bookkeeping, charged to its socket until
 * we read it (Unix socket) or acknowledge it (TCP, whose acknowledgements
 * follow our reads on a fast link): its send buffer holds about 280 small
 * messages by default.  The aim is 60 % of that.
 */
#define PGCDC__GATHER_SKB_OVERHEAD 640
#define PGCDC__GATHER_FILL_PCT 60
#define PGCDC__GATHER_SNDBUF 212992 /* Linux's default (net.core.wmem_default) */
#define PGCDC__GATHER_START_US 250
#define PGCDC__GATHER_MIN_US 50
#define PGCDC__GATHER_MAX_US 2000
/*
 * libpq reads into at least 8 kB of free buffer.  A read whose messages come
 * to less than half that found the socket all but empty: reading again at
 * once would only pick up what trickled in meanwhile, a few messages a
 * recv(), so the wakeup ends there.
 */
#define PGCDC__SHORT_READ_BYTES 4096
/*
 * A wait on the server that comes this long after the last one: the time
 * between was spent delivering, not waiting, and does not count as silence.
 */
#define PGCDC__AWAY_US 500000
/* How long a graceful close waits for the server to end the stream. */
#define PGCDC__CLOSE_WAIT_MS 5000
/* The keeper's tick, and how often it sends while the worker is busy. */
#define PGCDC__KEEPER_TICK_MS 200
#define PGCDC__KEEPER_STATUS_MS 1000

struct pgcdc__stream {
    pgcdc__ctx *ctx;
    pgcdc__ledger *ledger;
    pgcdc__stop *stop;
    int status_interval_ms;
    int link_timeout_ms;
    int backend_pid;

    /* The connection; it and the status fields are guarded by io_mu. */
    pthread_mutex_t io_mu;
    PGconn *conn;
    int conn_broken;
    char broken_why[256]; /* why, when the keeper broke it: it may not touch the context */
    char publication[64]; /* the name, to know the server's warning about it */
    int pub_skipped;      /* the server skipped the publication at a position (from 18) */
    char pub_skipped_why[256];
    PQnoticeReceiver default_notice; /* libpq's, which takes no argument of its own */
    pgcdc__buf out;
    int64_t last_status_us; /* monotonic */
    _Atomic uint64_t sent_flush;
    int64_t last_recv_us;          /* monotonic */
    int recv_since_check;          /* received since last_recv_us was last set */
    int64_t last_dry_us;           /* monotonic: when the received data last ran out */
    int64_t read_bytes;            /* bytes of the messages libpq's last read completed */
    _Atomic uint64_t received_lsn; /* rx_lsn and rx_bytes as last published */
    _Atomic uint64_t bytes;
    uint64_t rx_lsn; /* the receiving thread's own counts */
    uint64_t rx_bytes;

    /* Receive tuning: the receiving thread's alone. */
    char *rbuf;              /* libpq's buffer holding the message handed out */
    int busy_streak;         /* messages received since the last wait */
    int64_t busy_bytes;      /* bytes of those messages */
    int read_ahead;          /* reads since libpq's buffer last gave a message */
    int gathered;            /* the last wait was a gather */
    int gather_us;           /* how long the next gather lasts */
    int sock_sndbuf;         /* the server's send buffer, as far as we can tell */
    int64_t window_start_us; /* messages received since then, by wakeup: is the stream bulk? */
    int window_msgs;

    /* The keeper thread. */
    pthread_t keeper;
    int keeper_started;
    pthread_mutex_t keeper_mu; /* guards keeper_quit; keeper_cv wakes the keeper to quit */
    pthread_cond_t keeper_cv;
    int keeper_quit;
    const atomic_int *busy; /* the caller's: it is in user code */
};

/* Caller holds io_mu. */
static void send_status_locked(pgcdc__stream *s, int reply_requested)
{
    uint64_t flush = pgcdc__ledger_confirmed(s->ledger);
    uint64_t received = atomic_load(&s->received_lsn);
    uint64_t written = received > flush ? received : flush;

    if (s->conn == NULL || s->conn_broken)
        return;
    pgcdc__buf_reset(&s->out);
    pgcdc__wr_status(&s->out, written, flush, flush, pgcdc__wall_us() - PGCDC__EPOCH_DIFF_US,
                     reply_requested);
    if (s->out.oom || PQputCopyData(s->conn, (const char *)s->out.data, (int)s->out.len) != 1 ||
        PQflush(s->conn) != 0) {
        char line[200];

        pgcdc__one_line(line, sizeof(line), s->out.oom ? "out of memory" : PQerrorMessage(s->conn));
        snprintf(s->broken_why, sizeof(s->broken_why),
                 "connection lost: could not send a status update: %s", line);
        s->conn_broken = 1;
        return;
    }
    s->last_status_us = pgcdc__now_us();
    atomic_store(&s->sent_flush, flush);
}

void pgcdc__stream_send_status(pgcdc__stream *s, int reply_requested)
{
    pthread_mutex_lock(&s->io_mu);
    send_status_locked(s, reply_requested);
    pthread_mutex_unlock(&s->io_mu);
}

/* Caller holds io_mu. */
static void status_if_due_locked(pgcdc__stream *s)
{
    int64_t now = pgcdc__now_us();
    int64_t since = now - s->last_status_us;
    int64_t quiet = now - s->last_recv_us;
    int64_t interval = (int64_t)s->status_interval_ms * 1000;
    int ping = quiet > PGCDC__PING_AFTER_MS * 1000;

    /* Regular status; sooner when the confirmed position moved or the line is quiet. */
    if (since >= interval ||
        (since >= 1000000 && pgcdc__ledger_confirmed(s->ledger) != atomic_load(&s->sent_flush)) ||
        (ping && since >= PGCDC__PING_AFTER_MS * 1000))
        send_status_locked(s, ping);
}

/*
 * The keeper sends status updates while the worker is busy in a callback,
 * so a slow handler never makes the server time us out.  It never logs.
 */
static void *keeper_main(void *arg)
{
    pgcdc__stream *s = arg;

    pthread_mutex_lock(&s->keeper_mu);
    while (!s->keeper_quit) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        ts.tv_nsec += PGCDC__KEEPER_TICK_MS * 1000 * 1000;
        if (ts.tv_nsec >= 1000000000) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000;
        }
        pthread_cond_timedwait(&s->keeper_cv, &s->keeper_mu, &ts);
        if (s->keeper_quit || !atomic_load_explicit(s->busy, memory_order_relaxed))
            continue;
        pthread_mutex_unlock(&s->keeper_mu);
        /*
         * Every second while the worker is busy: the server's keepalives
         * asking for a reply go unread meanwhile, whatever its
         * wal_sender_timeout.
         */
        pthread_mutex_lock(&s->io_mu);
        if (s->conn != NULL && !s->conn_broken &&
            pgcdc__now_us() - s->last_status_us >= PGCDC__KEEPER_STATUS_MS * 1000)
            send_status_locked(s, 0);
        pthread_mutex_unlock(&s->io_mu);
        pthread_mutex_lock(&s->keeper_mu);
    }
    pthread_mutex_unlock(&s->keeper_mu);
    return NULL;
}

/* Wakes the keeper and waits for it: at once, not at its next tick. */
static void keeper_stop(pgcdc__stream *s)
{
    if (!s->keeper_started)
        return;
    pthread_mutex_lock(&s->keeper_mu);
    s->keeper_quit = 1;
    pthread_cond_signal(&s->keeper_cv);
    pthread_mutex_unlock(&s->keeper_mu);
    pthread_join(s->keeper, NULL);
    s->keeper_started = 0;
}

static int keeper_start(pgcdc__stream *s)
{
    if (s->keeper_started)
        return PGCDC_OK;
    s->keeper_quit = 0;
    if (pthread_create(&s->keeper, NULL, keeper_main, s) != 0)
        return pgcdc__fail(s->ctx, PGCDC_ERR_NOMEM, "could not start the keeper thread");
    s->keeper_started = 1;
    return PGCDC_OK;
}

pgcdc__stream *pgcdc__stream_new(pgcdc__ctx *ctx, pgcdc__ledger *ledger, pgcdc__stop *stop,
                                 const atomic_int *busy)
{
    pgcdc__stream *s = calloc(1, sizeof(*s));
    pthread_condattr_t attr;
    int r;

    if (s == NULL)
        return NULL;
    s->ctx = ctx;
    s->ledger = ledger;
    s->stop = stop;
    s->busy = busy;
    pgcdc__buf_init(&s->out);
    if (pthread_condattr_init(&attr) != 0)
        goto fail_alloc;
    r = pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    if (r == 0)
        r = pthread_cond_init(&s->keeper_cv, &attr);
    pthread_condattr_destroy(&attr);
    if (r != 0)
        goto fail_alloc;
    if (pthread_mutex_init(&s->keeper_mu, NULL) != 0)
        goto fail_cv;
    if (pthread_mutex_init(&s->io_mu, NULL) != 0)
        goto fail_keeper_mu;
    return s;
fail_keeper_mu:
    pthread_mutex_destroy(&s->keeper_mu);
fail_cv:
    pthread_cond_destroy(&s->keeper_cv);
fail_alloc:
    free(s);
    return NULL;
}

void pgcdc__stream_free(pgcdc__stream *s)
{
    if (s == NULL)
        return;
    keeper_stop(s);
    pgcdc__stream_close(s, 0);
    pgcdc__buf_free(&s->out);
    pthread_mutex_destroy(&s->io_mu);
    pthread_mutex_destroy(&s->keeper_mu);
    pthread_cond_destroy(&s->keeper_cv);
    free(s);
}

uint64_t pgcdc__stream_received_lsn(const pgcdc__stream *s)
{
    return atomic_load(&((pgcdc__stream *)s)->received_lsn);
}

uint64_t pgcdc__stream_bytes(const pgcdc__stream *s)
{
    return atomic_load(&((pgcdc__stream *)s)->bytes);
}

int pgcdc__stream_backend_pid(const pgcdc__stream *s)
{
    return s->backend_pid;
}

uint64_t pgcdc__stream_sent_flush(const pgcdc__stream *s)
{
    return atomic_load(&((pgcdc__stream *)s)->sent_flush);
}

/* START_REPLICATION's failure, by SQLSTATE. */
static int classify_start_error(const PGresult *res)
{
    if (pgcdc__sqlstate_is(res, PGCDC__SQLSTATE_OBJECT_IN_USE))
        return PGCDC_ERR_SLOT_BUSY;
    if (pgcdc__sqlstate_is(res, PGCDC__SQLSTATE_UNDEFINED_OBJECT))
        return PGCDC_ERR_SLOT_MISSING;
    if (pgcdc__sqlstate_is(res, PGCDC__SQLSTATE_NOT_IN_PREREQUISITE_STATE))
        return PGCDC_ERR_SLOT_INVALID;
    return PGCDC_ERR_CONNECT;
}

/*
 * The server's send buffer, for the gather's aim: on a Unix socket taken to
 * be ours (PostgreSQL leaves both at the system's default); over TCP, where
 * ours tells nothing of the server's, the default.
 */
static void note_transport(pgcdc__stream *s, int fd)
{
    struct sockaddr_storage addr;
    socklen_t alen = sizeof(addr);
    int sndbuf = 0;
    socklen_t slen = sizeof(sndbuf);

    if (fd < 0 || getsockname(fd, (struct sockaddr *)&addr, &alen) != 0 ||
        addr.ss_family != AF_UNIX || getsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, &slen) != 0 ||
        sndbuf <= 0)
        sndbuf = PGCDC__GATHER_SNDBUF;
    s->sock_sndbuf = sndbuf;
}

/*
 * From PostgreSQL 18 a walsender that finds the publication missing at a
 * position warns ("skipped loading publication") and goes on without it,
 * where earlier versions failed: the changes there would be lost in silence.
 * The warning comes in the stream, before anything decoded without the
 * publication; it is noted here (io_mu held: libpq calls this while parsing)
 * and ends the stream as the error of earlier versions would.  Other notices
 * go where libpq sends them by default.
 */
static void on_notice(void *arg, const PGresult *res)
{
    pgcdc__stream *s = arg;
    const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
    const char *primary = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);

    if (state != NULL && strcmp(state, "55000") == 0 && primary != NULL &&
        s->publication[0] != '\0' && strstr(primary, s->publication) != NULL &&
        strstr(primary, "publication") != NULL) {
        s->pub_skipped = 1;
        pgcdc__one_line(s->pub_skipped_why, sizeof(s->pub_skipped_why), primary);
        return;
    }
    if (s->default_notice != NULL)
        s->default_notice(NULL, res);
}

int pgcdc__stream_open(pgcdc__stream *s, const pgcdc__stream_opts *o)
{
    char cmd[512];
    char line[512];
    PGresult *res;
    PGconn *conn;
    int r;

    s->status_interval_ms = o->status_interval_ms;
    s->link_timeout_ms = o->link_timeout_ms > 0 ? o->link_timeout_ms : 25000;
    conn = pgcdc__connect(s->ctx, o->conninfo, 1, o->sql_ascii ? "SQL_ASCII" : "UTF8", &r);
    if (conn == NULL)
        return r;
    pthread_mutex_lock(&s->io_mu);
    s->conn = conn;
    s->backend_pid = PQbackendPID(conn);
    s->conn_broken = 0;
    s->broken_why[0] = '\0';
    snprintf(s->publication, sizeof(s->publication), "%s", o->publication);
    s->pub_skipped = 0;
    s->default_notice = PQsetNoticeReceiver(conn, on_notice, s);
    pthread_mutex_unlock(&s->io_mu);
    r = pgcdc__slot_check(s->ctx, conn, o->slot);
    if (r != PGCDC_OK)
        goto fail;
    /* Slot and publication names are validated to [a-z0-9_]: no quoting needed. */
    snprintf(cmd, sizeof(cmd),
             "START_REPLICATION SLOT %s LOGICAL 0/0 (proto_version '%d', publication_names "
             "'%s'%s%s%s%s)",
             o->slot, o->proto_version, o->publication,
             o->proto_version >= 2 ? ", streaming 'on'" : "", o->binary ? ", binary 'true'" : "",
             o->messages ? ", messages 'true'" : "", o->two_phase ? ", two_phase 'on'" : "");
    res = PQexec(conn, cmd);
    if (PQresultStatus(res) != PGRES_COPY_BOTH) {
        pgcdc__one_line(line, sizeof(line), PQerrorMessage(conn));
        r = classify_start_error(res);
        PQclear(res);
        pgcdc__fail(s->ctx, r, "could not start streaming from slot \"%s\": %s", o->slot, line);
        goto fail;
    }
    PQclear(res);
    note_transport(s, PQsocket(conn));
    pthread_mutex_lock(&s->io_mu);
    s->last_recv_us = pgcdc__now_us();
    s->last_dry_us = s->last_recv_us;
    s->last_status_us = 0;
    pthread_mutex_unlock(&s->io_mu);
    r = keeper_start(s);
    if (r != PGCDC_OK)
        goto fail;
    return PGCDC_OK;
fail:
    pgcdc__stream_close(s, 0);
    return r;
}

/* Waits until the deadline for input and reads it; 0 on timeout or failure. */
static int await_input(PGconn *conn, int64_t until)
{
    struct pollfd pfd;
    int64_t left = until - pgcdc__now_us();

    pfd.fd = PQsocket(conn);
    pfd.events = POLLIN;
    pfd.revents = 0;
    return left > 0 && pfd.fd >= 0 && poll(&pfd, 1, (int)((left + 999) / 1000)) > 0 &&
           PQconsumeInput(conn);
}

/*
 * After CopyDone, read what the server still had in flight until it answers
 * with its own CopyDone and the command's result. Closing earlier can cut a
 * walsender that is blocked sending to us before it reads our last status
 * update, and the next run would repeat a range already confirmed here.
 */
static void finish_copy(PGconn *conn)
{
    int64_t until = pgcdc__now_us() + (int64_t)PGCDC__CLOSE_WAIT_MS * 1000;

    for (;;) {
        char *buf = NULL;
        int n = PQgetCopyData(conn, &buf, 1);

        if (n > 0)
            PQfreemem(buf);
        else if (n < 0)
            break;
        else if (!await_input(conn, until))
            return;
    }
    for (;;) {
        PGresult *res;

        if (PQisBusy(conn)) {
            if (!await_input(conn, until))
                return;
            continue;
        }
        res = PQgetResult(conn);
        if (res == NULL)
            return;
        PQclear(res);
    }
}

void pgcdc__stream_close(pgcdc__stream *s, int graceful)
{
    PGconn *conn;
    int finish = 0;

    if (s->rbuf != NULL) {
        PQfreemem(s->rbuf);
        s->rbuf = NULL;
    }
    pthread_mutex_lock(&s->io_mu);
    conn = s->conn;
    if (conn != NULL && graceful && !s->conn_broken) {
        send_status_locked(s, 0);
        finish = !s->conn_broken && PQputCopyEnd(conn, NULL) == 1 && PQflush(conn) == 0;
    }
    s->conn = NULL;
    s->conn_broken = 0;
    pthread_mutex_unlock(&s->io_mu);
    if (conn != NULL) {
        if (finish)
            finish_copy(conn);
        PQfinish(conn);
    }
}

/*
 * Reads what the socket holds.  Called with io_mu held, releases it; 0 (with
 * the context's message) if the connection failed.
 */
static int consume_unlock(pgcdc__stream *s)
{
    char line[512];

    s->read_bytes = 0;
    if (PQconsumeInput(s->conn) != 0) {
        pthread_mutex_unlock(&s->io_mu);
        return 1;
    }
    pgcdc__one_line(line, sizeof(line), PQerrorMessage(s->conn));
    s->conn_broken = 1;
    pthread_mutex_unlock(&s->io_mu);
    pgcdc__fail(s->ctx, PGCDC_ERR_CONNECT, "connection lost: %s", line);
    return 0;
}

/*
 * After a wakeup that followed a gather: the next gather is scaled by how far
 * this one's haul (messages, bytes) was from the aim, at most halved or
 * doubled at a time.  A sender held up by a full socket shows as a haul at
 * the socket's limit, above the aim, so the gather shrinks.
 */
static void adapt_gather(pgcdc__stream *s)
{
    int64_t haul = s->busy_bytes > 0 ? s->busy_bytes : 1;
    int64_t avg = haul / s->busy_streak;
    /* In bytes of messages: the share of the sender's buffer their size allows. */
    int64_t aim = (int64_t)s->sock_sndbuf * PGCDC__GATHER_FILL_PCT / 100 * avg /
                  (avg + PGCDC__GATHER_SKB_OVERHEAD);
    int64_t next = (int64_t)s->gather_us * aim / haul;

    if (next > (int64_t)s->gather_us * 2)
        next = (int64_t)s->gather_us * 2;
    if (next < s->gather_us / 2)
        next = s->gather_us / 2;
    if (next < PGCDC__GATHER_MIN_US)
        next = PGCDC__GATHER_MIN_US;
    if (next > PGCDC__GATHER_MAX_US)
        next = PGCDC__GATHER_MAX_US;
    s->gather_us = (int)next;
}

/*
 * At a wakeup's end (nothing left to read): 1 to let a bulk stream gather
 * for s->gather_us before reading again, 0 to wait for the next message.
 */
static int bulk_stream(pgcdc__stream *s, int64_t now)
{
    int bulk;

    if (s->gathered) {
        bulk = s->busy_streak >= PGCDC__THIN_MESSAGES;
        if (bulk)
            adapt_gather(s);
    } else {
        if (now - s->window_start_us > PGCDC__BULK_WINDOW_US) {
            s->window_start_us = now;
            s->window_msgs = 0;
        }
        s->window_msgs += s->busy_streak;
        bulk = s->window_msgs >= PGCDC__BUSY_MESSAGES;
        if (bulk && s->gather_us == 0)
            s->gather_us = PGCDC__GATHER_START_US;
    }
    if (s->gathered && !bulk) {
        s->window_start_us = now;
        s->window_msgs = 0;
    }
    s->gathered = bulk;
    s->busy_streak = 0;
    s->busy_bytes = 0;
    return bulk;
}

/* The stream ended or failed (PQgetCopyData returned n < 0); io_mu held, released here. */
static int stream_ended_unlock(pgcdc__stream *s)
{
    char line[512];
    PGresult *res = PQgetResult(s->conn);
    int fatal;

    /* -1: the server ended the stream; -2: the connection failed. */
    pgcdc__result_line(line, sizeof(line), s->conn, res);
    if (res != NULL && PQresultErrorMessage(res)[0] == '\0')
        pgcdc__one_line(line, sizeof(line), PQerrorMessage(s->conn));
    /*
     * While streaming, an undefined object is the publication: the walsender
     * reads publications as of the position it decodes, so one dropped there
     * (even if created again since) fails every retry the same way.
     */
    fatal = pgcdc__sqlstate_is(res, PGCDC__SQLSTATE_UNDEFINED_OBJECT);
    PQclear(res);
    s->conn_broken = 1;
    pthread_mutex_unlock(&s->io_mu);
    if (fatal)
        return pgcdc__fail(s->ctx, PGCDC_ERR_PUBLICATION,
                           "a publication did not exist at a position the server must decode "
                           "(dropped, perhaps created again since): no retry can get past it, so "
                           "pgcdc stops; nothing after the last confirmed position is lost (skip "
                           "the gap with pg_replication_slot_advance(), or recreate the slot and "
                           "resynchronise) (server: %s)",
                           line);
    return pgcdc__fail(s->ctx, PGCDC_ERR_CONNECT, "replication stream ended: %s",
                       line[0] ? line : "connection closed");
}

/* Notes a message handed out: its WAL position, from the wrapper ('w': walStart, 'k': walEnd). */
static void note_message(pgcdc__stream *s, const uint8_t *buf, int n)
{
    if (n >= 9 && (buf[0] == 'w' || buf[0] == 'k')) {
        uint64_t lsn = pgcdc__be64(buf + 1);

        if (lsn > s->rx_lsn)
            s->rx_lsn = lsn;
    }
    s->rx_bytes += (uint64_t)n;
    s->busy_streak++;
    s->busy_bytes += n;
}

/* Makes the receive counters visible to other threads: once a wakeup, not once a message. */
static void publish(pgcdc__stream *s)
{
    atomic_store_explicit(&s->received_lsn, s->rx_lsn, memory_order_relaxed);
    atomic_store_explicit(&s->bytes, s->rx_bytes, memory_order_relaxed);
}

int pgcdc__stream_receive(pgcdc__stream *s, int timeout_ms, uint8_t **out, size_t *len)
{
    int64_t start = 0; /* read when the buffer first runs dry: not per message */

    if (s->rbuf != NULL) {
        PQfreemem(s->rbuf);
        s->rbuf = NULL;
    }
    for (;;) {
        char *buf = NULL;
        int n;
        int64_t waited_ms;
        int64_t now;
        int wait_ms;
        struct pollfd pfd[2];

        pthread_mutex_lock(&s->io_mu);
        if (s->conn == NULL || s->conn_broken) {
            pgcdc__fail(s->ctx, PGCDC_ERR_CONNECT, "%s",
                        s->broken_why[0] != '\0' ? s->broken_why : "connection lost");
            pthread_mutex_unlock(&s->io_mu);
            return PGCDC_ERR_CONNECT;
        }
        n = PQgetCopyData(s->conn, &buf, 1);
        if (s->pub_skipped) {
            /* Nothing decoded without the publication is handed out. */
            if (n > 0)
                PQfreemem(buf);
            s->conn_broken = 1;
            pthread_mutex_unlock(&s->io_mu);
            return pgcdc__fail(s->ctx, PGCDC_ERR_PUBLICATION,
                               "a publication did not exist at a position the server must "
                               "decode (dropped, perhaps created again since), and the server "
                               "would go on without it: pgcdc stops; nothing after the last "
                               "confirmed position is lost (skip the gap with "
                               "pg_replication_slot_advance(), or recreate the slot and "
                               "resynchronise) (server: %s)",
                               s->pub_skipped_why);
        }
        if (n > 0) {
            s->recv_since_check = 1; /* the clock is read once the buffer runs dry */
            s->read_ahead = 0;
            s->read_bytes += n;
            pthread_mutex_unlock(&s->io_mu);
            note_message(s, (const uint8_t *)buf, n);
            s->rbuf = buf;
            *out = (uint8_t *)buf;
            *len = (size_t)n;
            return 1;
        }
        if (n < 0)
            return stream_ended_unlock(s);
        publish(s);
        /*
         * libpq's buffer ran dry, which is not to say the socket did: one
         * read takes at most its buffer's free space, and often ends inside
         * a message.  After a gather, or when this wakeup brought a batch,
         * read what the kernel already holds before deciding to wait: again
         * after a read that brought a buffer's worth, and up to twice in a
         * row after reads that brought no whole message (one may end inside
         * a message).  A short read ends the wakeup, and a trickle (a
         * message a wakeup) goes straight back to poll().
         */
        if ((s->gathered || s->busy_streak > 1) && (s->read_bytes >= PGCDC__SHORT_READ_BYTES ||
                                                    (s->read_bytes == 0 && s->read_ahead < 2))) {
            s->read_ahead++;
            if (!consume_unlock(s))
                return PGCDC_ERR_CONNECT;
            continue;
        }
        now = pgcdc__now_us();
        if (start == 0)
            start = now;
        if (s->recv_since_check) {
            s->last_recv_us = now;
            s->recv_since_check = 0;
        } else if (now - s->last_dry_us > PGCDC__AWAY_US) {
            /*
             * Back from delivering (a slow handler, a pipe nobody reads, a
             * long fsync): the server's silence is counted from here on,
             * not over the time this thread did not wait on it.
             */
            s->last_recv_us += now - s->last_dry_us;
            if (s->last_recv_us > now)
                s->last_recv_us = now;
        }
        s->last_dry_us = now;
        if (now - s->last_recv_us > (int64_t)s->link_timeout_ms * 1000) {
            s->conn_broken = 1;
            pthread_mutex_unlock(&s->io_mu);
            return pgcdc__fail(s->ctx, PGCDC_ERR_CONNECT,
                               "nothing received from the server for %d s while waiting on it: "
                               "the link looks dead",
                               s->link_timeout_ms / 1000);
        }
        status_if_due_locked(s);
        pfd[0].fd = PQsocket(s->conn);
        pthread_mutex_unlock(&s->io_mu);
        /* Caught up: the caller runs its idle work before asking again to wait. */
        waited_ms = (pgcdc__now_us() - start) / 1000;
        if (timeout_ms >= 0 && waited_ms >= timeout_ms)
            return 0;
        pfd[0].events = POLLIN;
        pfd[1].fd = pgcdc__stop_fd(s->stop);
        pfd[1].events = POLLIN;
        /* Wake at least every 100 ms for status updates and liveness checks. */
        wait_ms = 100;
        if (timeout_ms >= 0 && timeout_ms - waited_ms < wait_ms)
            wait_ms = (int)(timeout_ms - waited_ms);
        /*
         * In a bulk stream the data trickles in message by message: waking
         * for each costs a poll() and a recv() apiece.  Let it gather, then
         * read it without a poll().
         */
        if (wait_ms > 0 && bulk_stream(s, now)) {
            pgcdc__sleep_us(s->gather_us);
            s->read_ahead = 0;
            s->read_bytes = 0; /* read what gathered */
            continue;
        }
        n = poll(pfd, 2, wait_ms);
        if (n < 0 && errno != EINTR) {
            pthread_mutex_lock(&s->io_mu);
            s->conn_broken = 1;
            pthread_mutex_unlock(&s->io_mu);
            return pgcdc__fail(s->ctx, PGCDC_ERR_CONNECT, "poll failed: %s", strerror(errno));
        }
        /* A stop request: the caller decides whether to go on, at once and then every tick. */
        if (n > 0 && (pfd[1].revents & POLLIN)) {
            pgcdc__stop_drain(s->stop);
            return 0;
        }
        if (n == 0 && pgcdc__stop_requested(s->stop))
            return 0;
        if (n > 0 && pfd[0].revents != 0) {
            pthread_mutex_lock(&s->io_mu);
            if (!consume_unlock(s))
                return PGCDC_ERR_CONNECT;
        }
    }
}
