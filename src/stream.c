/*
 * The replication stream: START_REPLICATION on a libpq replication
 * connection, a poll() loop that also wakes for stop requests, standby status
 * updates (flush = what the ledger confirmed), and the keeper thread that
 * keeps the status flowing while a handler is slow.
 */
#include <errno.h>
#include <poll.h>
#include <sys/socket.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "worker.h"

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
/* With nothing received for this long despite pings, the link is dead. */
#define PGCDC__DEAD_AFTER_MS 25000
/* How long a graceful close waits for the server to end the stream. */
#define PGCDC__CLOSE_WAIT_MS 5000

int64_t pgcdc__now_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Wall clock in the server's epoch (microseconds since 2000-01-01). */
static int64_t pg_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000 - PGCDC__EPOCH_DIFF_US;
}

/* Caller holds io_mu. */
static void send_status_locked(pgcdc_worker *w, int reply_requested)
{
    uint64_t flush = pgcdc__ledger_confirmed(&w->ledger);
    uint64_t written = w->received_lsn > flush ? w->received_lsn : flush;

    if (w->conn == NULL || w->conn_broken)
        return;
    pgcdc__buf_reset(&w->out);
    pgcdc__wr_status(&w->out, written, flush, flush, pg_now(), reply_requested);
    if (w->out.oom || PQputCopyData(w->conn, (const char *)w->out.data, (int)w->out.len) != 1 ||
        PQflush(w->conn) != 0) {
        w->conn_broken = 1;
        return;
    }
    w->last_status_us = pgcdc__now_us();
    if (flush != w->sent_flush) {
        char buf[32];

        pgcdc__log(w, PGCDC_LOG_DEBUG, "confirmed %s", pgcdc_lsn_format(flush, buf, sizeof(buf)));
    }
    w->sent_flush = flush;
}

void pgcdc__stream_send_status(pgcdc_worker *w, int reply_requested)
{
    pthread_mutex_lock(&w->io_mu);
    send_status_locked(w, reply_requested);
    pthread_mutex_unlock(&w->io_mu);
}

/* Caller holds io_mu. */
static void status_if_due_locked(pgcdc_worker *w)
{
    int64_t now = pgcdc__now_us();
    int64_t since = now - w->last_status_us;
    int64_t quiet = now - w->last_recv_us;
    int64_t interval = (int64_t)w->cfg.status_interval_ms * 1000;
    int ping = quiet > PGCDC__PING_AFTER_MS * 1000;

    /* Regular status; sooner when the confirmed position moved or the line is quiet. */
    if (since >= interval ||
        (since >= 1000000 && pgcdc__ledger_confirmed(&w->ledger) != w->sent_flush) ||
        (ping && since >= PGCDC__PING_AFTER_MS * 1000))
        send_status_locked(w, ping);
}

void pgcdc__stream_status_if_due(pgcdc_worker *w)
{
    pthread_mutex_lock(&w->io_mu);
    status_if_due_locked(w);
    pthread_mutex_unlock(&w->io_mu);
}

static void drain_wake(pgcdc_worker *w)
{
    char junk[64];

    while (read(w->wake[0], junk, sizeof(junk)) > 0)
        ;
}

int pgcdc__wait_interruptible(pgcdc_worker *w, int ms)
{
    int64_t until = pgcdc__now_us() + (int64_t)ms * 1000;

    for (;;) {
        struct pollfd pfd = {w->wake[0], POLLIN, 0};
        int64_t left = until - pgcdc__now_us();

        if (atomic_load(&w->stop_requested))
            return 1;
        if (left <= 0)
            return 0;
        if (poll(&pfd, 1, (int)((left + 999) / 1000)) > 0)
            drain_wake(w);
    }
}

static int classify_start_error(const char *msg)
{
    if (strstr(msg, "does not exist") != NULL && strstr(msg, "slot") != NULL)
        return PGCDC_ERR_SLOT_MISSING;
    if (strstr(msg, "invalidated") != NULL || strstr(msg, "can no longer get changes") != NULL)
        return PGCDC_ERR_SLOT_INVALID;
    return PGCDC_ERR_CONNECT;
}

/*
 * The server's send buffer, for the gather's aim: on a Unix socket taken to
 * be ours (PostgreSQL leaves both at the system's default); over TCP, where
 * ours tells nothing of the server's, the default.
 */
static void note_transport(pgcdc_worker *w, int fd)
{
    struct sockaddr_storage addr;
    socklen_t alen = sizeof(addr);
    int sndbuf = 0;
    socklen_t slen = sizeof(sndbuf);

    if (fd < 0 || getsockname(fd, (struct sockaddr *)&addr, &alen) != 0 ||
        addr.ss_family != AF_UNIX || getsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, &slen) != 0 ||
        sndbuf <= 0)
        sndbuf = PGCDC__GATHER_SNDBUF;
    w->sock_sndbuf = sndbuf;
}

int pgcdc__stream_open(pgcdc_worker *w)
{
    char cmd[512];
    PGresult *res;
    PGconn *conn;
    int r;

    w->slot_busy = 0;
    /* A SQL_ASCII database holds bytes in no encoding: take them as they are. */
    conn = pgcdc__connect(
        w, w->cfg.conninfo, 1,
        w->cat.encoding != NULL && strcmp(w->cat.encoding, "SQL_ASCII") == 0 ? "SQL_ASCII" : "UTF8",
        &r);
    if (conn == NULL)
        return r;
    pthread_mutex_lock(&w->io_mu);
    w->conn = conn;
    w->conn_broken = 0;
    pthread_mutex_unlock(&w->io_mu);
    r = pgcdc__catalog_check_slot(w, conn, w->cfg.slot);
    if (r != PGCDC_OK)
        goto fail;
    /* Slot and publication names are validated to [a-z0-9_]: no quoting needed. */
    snprintf(cmd, sizeof(cmd),
             "START_REPLICATION SLOT %s LOGICAL 0/0 (proto_version '%d', publication_names "
             "'%s'%s%s)",
             w->cfg.slot, w->cfg.proto_version, w->cfg.publication,
             w->cfg.proto_version >= 2 ? ", streaming 'on'" : "",
             w->binary ? ", binary 'true'" : "");
    res = PQexec(conn, cmd);
    if (PQresultStatus(res) != PGRES_COPY_BOTH) {
        char line[512];

        pgcdc__one_line(line, sizeof(line), PQerrorMessage(conn));
        /* object_in_use: another walsender still holds the slot. */
        w->slot_busy = res != NULL && PQresultErrorField(res, PG_DIAG_SQLSTATE) != NULL &&
                       strcmp(PQresultErrorField(res, PG_DIAG_SQLSTATE), "55006") == 0;
        PQclear(res);
        r = classify_start_error(line);
        pgcdc__fail(w, r, "could not start streaming from slot \"%s\": %s", w->cfg.slot, line);
        goto fail;
    }
    PQclear(res);
    note_transport(w, PQsocket(conn));
    pthread_mutex_lock(&w->io_mu);
    w->last_recv_us = pgcdc__now_us();
    w->last_status_us = 0;
    pthread_mutex_unlock(&w->io_mu);
    return PGCDC_OK;
fail:
    pgcdc__stream_close(w, 0);
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

void pgcdc__stream_close(pgcdc_worker *w, int graceful)
{
    PGconn *conn;
    int finish = 0;

    pthread_mutex_lock(&w->io_mu);
    conn = w->conn;
    if (conn != NULL && graceful && !w->conn_broken) {
        send_status_locked(w, 0);
        finish = !w->conn_broken && PQputCopyEnd(conn, NULL) == 1 && PQflush(conn) == 0;
    }
    w->conn = NULL;
    w->conn_broken = 0;
    pthread_mutex_unlock(&w->io_mu);
    if (conn != NULL) {
        if (finish)
            finish_copy(conn);
        PQfinish(conn);
    }
}

/*
 * Reads what the socket holds.  Called with io_mu held, releases it; 0 (after
 * reporting it) if the connection failed.
 */
static int consume_unlock(pgcdc_worker *w)
{
    char line[512];

    w->read_bytes = 0;
    if (PQconsumeInput(w->conn) != 0) {
        pthread_mutex_unlock(&w->io_mu);
        return 1;
    }
    pgcdc__one_line(line, sizeof(line), PQerrorMessage(w->conn));
    w->conn_broken = 1;
    pthread_mutex_unlock(&w->io_mu);
    pgcdc__fail(w, PGCDC_ERR_CONNECT, "connection lost: %s", line);
    return 0;
}

/*
 * After a wakeup that followed a gather: the next gather is scaled by how far
 * this one's haul (messages, bytes) was from the aim, at most halved or
 * doubled at a time.  A sender held up by a full socket shows as a haul at
 * the socket's limit, above the aim, so the gather shrinks.
 */
static void adapt_gather(pgcdc_worker *w)
{
    int64_t haul = w->busy_bytes > 0 ? w->busy_bytes : 1;
    int64_t avg = haul / w->busy_streak;
    /* In bytes of messages: the share of the sender's buffer their size allows. */
    int64_t aim = (int64_t)w->sock_sndbuf * PGCDC__GATHER_FILL_PCT / 100 * avg /
                  (avg + PGCDC__GATHER_SKB_OVERHEAD);
    int64_t next = (int64_t)w->gather_us * aim / haul;

    if (next > (int64_t)w->gather_us * 2)
        next = (int64_t)w->gather_us * 2;
    if (next < w->gather_us / 2)
        next = w->gather_us / 2;
    if (next < PGCDC__GATHER_MIN_US)
        next = PGCDC__GATHER_MIN_US;
    if (next > PGCDC__GATHER_MAX_US)
        next = PGCDC__GATHER_MAX_US;
    w->gather_us = (int)next;
}

/*
 * At a wakeup's end (nothing left to read): 1 to let a bulk stream gather
 * for w->gather_us before reading again, 0 to wait for the next message.
 */
static int bulk_stream(pgcdc_worker *w, int64_t now)
{
    int bulk;

    if (w->gathered) {
        bulk = w->busy_streak >= PGCDC__THIN_MESSAGES;
        if (bulk)
            adapt_gather(w);
    } else {
        if (now - w->window_start_us > PGCDC__BULK_WINDOW_US) {
            w->window_start_us = now;
            w->window_msgs = 0;
        }
        w->window_msgs += w->busy_streak;
        bulk = w->window_msgs >= PGCDC__BUSY_MESSAGES;
        if (bulk && w->gather_us == 0)
            w->gather_us = PGCDC__GATHER_START_US;
    }
    if (w->gathered && !bulk) {
        w->window_start_us = now;
        w->window_msgs = 0;
    }
    w->gathered = bulk;
    w->busy_streak = 0;
    w->busy_bytes = 0;
    return bulk;
}

int pgcdc__stream_receive(pgcdc_worker *w, int timeout_ms, int *len)
{
    int64_t start = 0; /* read when the buffer first runs dry: not per message */
    int idle_called = 0;

    for (;;) {
        char *buf = NULL;
        int n;
        int64_t waited_ms;
        int64_t now;
        int wait_ms;
        struct pollfd pfd[2];

        if (pgcdc__stopping(w))
            return 0;
        pthread_mutex_lock(&w->io_mu);
        if (w->conn_broken) {
            pthread_mutex_unlock(&w->io_mu);
            return -1;
        }
        n = PQgetCopyData(w->conn, &buf, 1);
        if (n > 0) {
            w->recv_since_check = 1; /* the clock is read once the buffer runs dry */
            w->read_ahead = 0;
            w->read_bytes += n;
            pthread_mutex_unlock(&w->io_mu);
            w->busy_streak++;
            w->busy_bytes += n;
            w->rbuf = buf;
            *len = n;
            return 1;
        }
        if (n < 0) {
            char line[512];
            PGresult *res;

            /* -1: the server ended the stream; -2: the connection failed. */
            res = PQgetResult(w->conn);
            pgcdc__one_line(line, sizeof(line),
                            res != NULL && PQresultErrorMessage(res)[0] != '\0'
                                ? PQresultErrorMessage(res)
                                : PQerrorMessage(w->conn));
            PQclear(res);
            w->conn_broken = 1;
            pthread_mutex_unlock(&w->io_mu);
            if (strstr(line, "publication \"") != NULL && strstr(line, "does not exist") != NULL) {
                /*
                 * The walsender reads publications as of the position it
                 * decodes: one dropped there (even if created again since)
                 * fails every retry the same way.
                 */
                w->stream_fatal = PGCDC_ERR_PUBLICATION;
                pgcdc__fail(w, PGCDC_ERR_PUBLICATION,
                            "publication \"%s\" did not exist at a position the server must "
                            "decode (dropped, perhaps created again since): no retry can get "
                            "past it, so pgcdc stops; nothing after the last confirmed position "
                            "is lost (skip the gap with pg_replication_slot_advance(), or "
                            "recreate the slot and resynchronise) (server: %s)",
                            w->cfg.publication, line);
                return -1;
            }
            pgcdc__fail(w, PGCDC_ERR_CONNECT, "replication stream ended: %s",
                        line[0] ? line : "connection closed");
            return -1;
        }
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
        if ((w->gathered || w->busy_streak > 1) && (w->read_bytes >= PGCDC__SHORT_READ_BYTES ||
                                                    (w->read_bytes == 0 && w->read_ahead < 2))) {
            w->read_ahead++;
            if (!consume_unlock(w))
                return -1;
            continue;
        }
        now = pgcdc__now_us();
        if (start == 0)
            start = now;
        if (w->recv_since_check) {
            w->last_recv_us = now;
            w->recv_since_check = 0;
        }
        if (now - w->last_recv_us > (int64_t)PGCDC__DEAD_AFTER_MS * 1000) {
            w->conn_broken = 1;
            pthread_mutex_unlock(&w->io_mu);
            pgcdc__fail(w, PGCDC_ERR_CONNECT,
                        "nothing received from the server for %d s: the link looks dead",
                        PGCDC__DEAD_AFTER_MS / 1000);
            return -1;
        }
        status_if_due_locked(w);
        pfd[0].fd = PQsocket(w->conn);
        pthread_mutex_unlock(&w->io_mu);
        /* Caught up: let handlers flush their batches before we wait. */
        if (w->cfg.idle_cb != NULL && !idle_called) {
            idle_called = 1;
            atomic_store(&w->in_callback, 1);
            w->cfg.idle_cb(w, w->cfg.idle_opaque);
            atomic_store(&w->in_callback, 0);
            continue;
        }
        pfd[0].events = POLLIN;
        pfd[1].fd = w->wake[0];
        pfd[1].events = POLLIN;
        waited_ms = (pgcdc__now_us() - start) / 1000;
        if (timeout_ms >= 0 && waited_ms >= timeout_ms)
            return 0;
        /* Wake at least every 100 ms for status updates and liveness checks. */
        wait_ms = 100;
        if (timeout_ms >= 0 && timeout_ms - waited_ms < wait_ms)
            wait_ms = (int)(timeout_ms - waited_ms);
        /*
         * In a bulk stream the data trickles in message by message: waking
         * for each costs a poll() and a recv() apiece.  Let it gather, then
         * read it without a poll().
         */
        if (wait_ms > 0 && bulk_stream(w, now)) {
            struct timespec ts = {0, (long)w->gather_us * 1000};

            nanosleep(&ts, NULL);
            w->read_ahead = 0;
            w->read_bytes = 0; /* read what gathered */
            continue;
        }
        n = poll(pfd, 2, wait_ms);
        if (n < 0 && errno != EINTR) {
            pgcdc__fail(w, PGCDC_ERR_IO, "poll failed: %s", strerror(errno));
            pthread_mutex_lock(&w->io_mu);
            w->conn_broken = 1;
            pthread_mutex_unlock(&w->io_mu);
            return -1;
        }
        if (n > 0 && (pfd[1].revents & POLLIN))
            drain_wake(w);
        if (n > 0 && pfd[0].revents != 0) {
            pthread_mutex_lock(&w->io_mu);
            if (!consume_unlock(w))
                return -1;
        }
    }
}

/*
 * The keeper sends status updates while the main thread is busy in a
 * callback, so a slow handler never makes the server time us out.
 */
static void *keeper_main(void *arg)
{
    pgcdc_worker *w = arg;

    pthread_mutex_lock(&w->keeper_mu);
    while (!w->keeper_quit) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        ts.tv_nsec += 200 * 1000 * 1000;
        if (ts.tv_nsec >= 1000000000) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000;
        }
        pthread_cond_timedwait(&w->keeper_cv, &w->keeper_mu, &ts);
        if (w->keeper_quit || !atomic_load(&w->in_callback))
            continue;
        pthread_mutex_unlock(&w->keeper_mu);
        /*
         * Every second while a callback runs: the server's keepalives asking
         * for a reply go unread meanwhile, whatever its wal_sender_timeout.
         */
        pthread_mutex_lock(&w->io_mu);
        if (w->conn != NULL && !w->conn_broken && pgcdc__now_us() - w->last_status_us >= 1000000)
            send_status_locked(w, 0);
        pthread_mutex_unlock(&w->io_mu);
        pthread_mutex_lock(&w->keeper_mu);
    }
    pthread_mutex_unlock(&w->keeper_mu);
    return NULL;
}

int pgcdc__keeper_init(pgcdc_worker *w)
{
    pthread_condattr_t attr;
    int r;

    if (pthread_condattr_init(&attr) != 0)
        return -1;
    r = pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    if (r == 0)
        r = pthread_cond_init(&w->keeper_cv, &attr);
    pthread_condattr_destroy(&attr);
    if (r != 0)
        return -1;
    if (pthread_mutex_init(&w->keeper_mu, NULL) != 0) {
        pthread_cond_destroy(&w->keeper_cv);
        return -1;
    }
    return 0;
}

void pgcdc__keeper_destroy(pgcdc_worker *w)
{
    pthread_cond_destroy(&w->keeper_cv);
    pthread_mutex_destroy(&w->keeper_mu);
}

int pgcdc__keeper_start(pgcdc_worker *w)
{
    if (w->keeper_started)
        return PGCDC_OK;
    w->keeper_quit = 0;
    if (pthread_create(&w->keeper, NULL, keeper_main, w) != 0)
        return pgcdc__fail(w, PGCDC_ERR_NOMEM, "could not start the keeper thread");
    w->keeper_started = 1;
    return PGCDC_OK;
}

/* Wakes the keeper and waits for it: at once, not at its next tick. */
void pgcdc__keeper_stop(pgcdc_worker *w)
{
    if (!w->keeper_started)
        return;
    pthread_mutex_lock(&w->keeper_mu);
    w->keeper_quit = 1;
    pthread_cond_signal(&w->keeper_cv);
    pthread_mutex_unlock(&w->keeper_mu);
    pthread_join(w->keeper, NULL);
    w->keeper_started = 0;
}
