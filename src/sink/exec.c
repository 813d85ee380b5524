/*
 * The exec sink: a handler in any language, run as a child process
 * (docs/HANDLERS.md is the protocol).  Events go to its standard input as
 * lines, in the sink's format; it answers on its standard output with the
 * number of lines it has handled so far, as often as it likes.  A
 * transaction is acknowledged once every line before its commit is.
 *
 * A handler that exits, stops answering for `timeout`, or writes anything
 * else is ended and started again with backoff, and given again every line
 * it had not acknowledged (its count starts again from 0).  After `retries`
 * such failures in a row without progress, the error policy takes over: the
 * first line not acknowledged goes to the dead-letter file and the rest go
 * on, or the sink fails and the worker halts with nothing confirmed past it.
 *
 * Lines are written in batches from the worker's thread and acknowledgements
 * read whenever the socket has them; the worker waits for the outstanding
 * ones only when it is idle (flush) or holds max_inflight bytes of them.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/clock.h"
#include "sink/exec.h"
#include "sink/exec_int.h"
#include "sink/sink.h"

#define NOTHING_LOST "nothing after the last confirmed position is lost"
#define BATCH_BYTES (64 * 1024)
#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 5000
#define STOP_GRACE_MS 5000

static const pgcdc_property exec_properties[] = {
    {"timeout", PGCDC_PROP_DURATION, "30s", 100, 86400000, NULL,
     "how long the handler may hold lines without acknowledging any before it is restarted"},
    {"retries", PGCDC_PROP_INT, "5", 0, 1000, NULL,
     "restarts in a row without progress before the error policy applies to the first line "
     "not acknowledged"},
    {"max_inflight", PGCDC_PROP_SIZE, "16MB", 1024, 1LL << 40, NULL,
     "bytes given to the handler and not yet acknowledged (kept to give again after a "
     "restart); reading the stream waits beyond it"},
    {"flush_interval", PGCDC_PROP_DURATION, "100ms", 0, 60000, NULL,
     "how long lines wait to be written while the stream keeps the worker busy"},
    {"stop_timeout", PGCDC_PROP_DURATION, "5s", 0, 600000, NULL,
     "at the end, how long the handler has to exit once its input is closed (then SIGTERM, "
     "then SIGKILL)"},
};

#define NPROPERTIES (int)(sizeof(exec_properties) / sizeof(exec_properties[0]))

/* A line given (or to give) to the handler, or a commit waiting for the lines before it. */
typedef struct xent {
    uint64_t token; /* a commit's; 0 for a line */
    uint64_t start; /* the line's bytes, as offsets in the stream of lines queued */
    uint64_t end;
} xent;

typedef struct pgcdc__exec {
    pgcdc_sink *sink;
    char *cmd;
    pgcdc__child child;
    pgcdc__waker waker;
    pgcdc__buf lines; /* the bytes of q[0] on; lines.data[0] is at offset base */
    uint64_t base;
    uint64_t wpos;        /* bytes before it were written to the running handler */
    uint64_t careful_end; /* what a handler that failed had been given: given again line by line */
    xent *q;
    size_t nq;
    size_t capq;
    size_t done;      /* entries before it are acknowledged */
    size_t wq;        /* entries before it were written to the running handler */
    uint64_t given;   /* lines written to the running handler */
    uint64_t handled; /* lines it acknowledged */
    char ack[64];     /* an acknowledgement line read in part */
    size_t acklen;
    int64_t progress_us; /* the last acknowledgement, or when waiting for one began */
    int64_t oldest_us;   /* when the oldest line not written was queued */
    int fails;           /* failures in a row without progress */
    long long timeout_ms;
    long long retries;
    long long max_inflight;
    long long flush_ms;
    long long stop_ms;
    int dead_letter;
    int failed; /* sticky */
    char failure[PGCDC__MSG_SIZE];
} pgcdc__exec;

static int exec_check_uri(const char *uri, char *err, size_t errlen)
{
    if (strncmp(uri, "exec:", 5) != 0 || uri[5 + strspn(uri + 5, " \t")] == '\0') {
        snprintf(err, errlen, "no command to run (use exec:COMMAND, or --exec COMMAND)");
        return PGCDC_ERR_INVALID;
    }
    return PGCDC_OK;
}

static const char *at(const pgcdc__exec *xs, uint64_t off)
{
    return (const char *)xs->lines.data + (off - xs->base);
}

static uint64_t queued_end(const pgcdc__exec *xs)
{
    return xs->base + xs->lines.len;
}

/* ---- acknowledgements ---- */

/* Entries acknowledged are dropped from the front once they are the larger part. */
static void compact(pgcdc__exec *xs)
{
    uint64_t keep;

    /* A commit just queued may be acknowledged before a write went past it. */
    if (xs->wq < xs->done)
        xs->wq = xs->done;
    if (xs->done == xs->nq) {
        xs->base = queued_end(xs);
        pgcdc__buf_reset(&xs->lines);
        xs->nq = xs->done = xs->wq = 0;
        return;
    }
    if (xs->done < 1024 || xs->done * 2 < xs->nq)
        return;
    keep = xs->q[xs->done].start;
    memmove(xs->lines.data, xs->lines.data + (keep - xs->base), (size_t)(queued_end(xs) - keep));
    xs->lines.len = (size_t)(queued_end(xs) - keep);
    xs->base = keep;
    memmove(xs->q, xs->q + xs->done, (xs->nq - xs->done) * sizeof(*xs->q));
    xs->nq -= xs->done;
    xs->wq -= xs->done;
    xs->done = 0;
}

/* Takes the handler's count n: every line up to it is done, and the commits they close. */
static void take_count(pgcdc__exec *xs, uint64_t n)
{
    if (n > xs->handled) {
        xs->fails = 0;
        xs->progress_us = pgcdc__now_us();
    }
    while (xs->done < xs->nq) {
        const xent *e = &xs->q[xs->done];

        if (e->token != 0)
            pgcdc_sink_ack(xs->sink, e->token);
        else if (xs->handled < n)
            xs->handled++;
        else
            break;
        xs->done++;
    }
    compact(xs);
    pgcdc__sink_show_inflight(xs->sink, (size_t)(queued_end(xs) - xs->base));
}

/* One line of the handler's output: PGCDC_OK, or 1 with why (it broke the protocol). */
static int take_line(pgcdc__exec *xs, const char *s, size_t n, char *why, size_t size)
{
    uint64_t v = 0;
    size_t i = 0;

    if (n > 0 && s[n - 1] == '\r')
        n--;
    while (i < n && s[i] >= '0' && s[i] <= '9' && v < UINT64_MAX / 10)
        v = v * 10 + (uint64_t)(s[i++] - '0');
    if (n == 0 || i != n) {
        char shown[64];
        size_t k = 0;

        for (i = 0; i < n && k + 1 < sizeof(shown); i++)
            shown[k++] = s[i] >= 0x20 && s[i] < 0x7f ? s[i] : '?';
        shown[k] = '\0';
        snprintf(why, size,
                 "wrote \"%s%s\" on its standard output, where only acknowledgements go (the "
                 "number of lines handled so far; logs go to standard error)",
                 shown, i < n ? "..." : "");
        return 1;
    }
    if (v > xs->given || v < xs->handled) {
        snprintf(why, size,
                 "acknowledged %llu lines, but was given %llu and had acknowledged %llu (the "
                 "count is of every line read since the handler started)",
                 (unsigned long long)v, (unsigned long long)xs->given,
                 (unsigned long long)xs->handled);
        return 1;
    }
    take_count(xs, v);
    return PGCDC_OK;
}

/* Reads what the handler wrote: PGCDC_OK, or 1 with why (it ended or broke the protocol). */
static int read_acks(pgcdc__exec *xs, char *why, size_t size)
{
    char buf[16384];

    for (;;) {
        ssize_t n = recv(xs->child.out, buf, sizeof(buf), MSG_DONTWAIT);
        size_t from = 0;

        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
            return PGCDC_OK;
        if (n <= 0) {
            snprintf(why, size, "closed its standard output");
            return 1;
        }
        for (size_t i = 0; i < (size_t)n; i++) {
            if (buf[i] != '\n')
                continue;
            if (xs->acklen > 0) {
                size_t part = i - from;

                if (xs->acklen + part > sizeof(xs->ack))
                    part = sizeof(xs->ack) - xs->acklen;
                memcpy(xs->ack + xs->acklen, buf + from, part);
                if (take_line(xs, xs->ack, xs->acklen + part, why, size) != PGCDC_OK)
                    return 1;
                xs->acklen = 0;
            } else if (take_line(xs, buf + from, i - from, why, size) != PGCDC_OK) {
                return 1;
            }
            from = i + 1;
        }
        /* A line in part waits for its end (a long one is shown cut). */
        if (from < (size_t)n) {
            size_t part = (size_t)n - from;

            if (xs->acklen + part > sizeof(xs->ack))
                part = sizeof(xs->ack) - xs->acklen;
            memcpy(xs->ack + xs->acklen, buf + from, part);
            xs->acklen += part;
        }
    }
}

/* ---- giving lines ---- */

/*
 * How far writing may go now: everything queued; but what a handler that
 * failed had been given goes again one line at a time, each once the one
 * before is acknowledged, so that the line it fails on is the first one not
 * acknowledged, and that line alone meets the error policy.
 */
static uint64_t write_limit(const pgcdc__exec *xs)
{
    if (xs->wpos >= xs->careful_end)
        return queued_end(xs);
    if (xs->given > xs->handled)
        return xs->wpos;
    for (size_t i = xs->wq; i < xs->nq; i++) {
        if (xs->q[i].token == 0)
            return xs->q[i].end;
    }
    return queued_end(xs);
}

/* Writes what the socket takes now: PGCDC_OK, or 1 with why (the handler is gone). */
static int write_some(pgcdc__exec *xs, char *why, size_t size)
{
    uint64_t limit;

    while (xs->wpos < (limit = write_limit(xs))) {
        ssize_t n = send(xs->child.in, at(xs, xs->wpos), (size_t)(limit - xs->wpos),
                         MSG_NOSIGNAL | MSG_DONTWAIT);

        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            snprintf(why, size, "stopped reading its standard input (%s)",
                     n < 0 ? strerror(errno) : "closed");
            return 1;
        }
        xs->wpos += (uint64_t)n;
        for (; xs->wq < xs->nq && xs->q[xs->wq].end <= xs->wpos; xs->wq++)
            xs->given += xs->q[xs->wq].token == 0;
    }
    return PGCDC_OK;
}

/* Lines waiting for the handler: written and not acknowledged, or not written. */
static int outstanding(const pgcdc__exec *xs)
{
    return xs->done < xs->nq;
}

/* Lines wait and the handler acknowledged none of them for the timeout: 1 with why. */
static int timed_out(const pgcdc__exec *xs, char *why, size_t size)
{
    if (!outstanding(xs) || pgcdc__now_us() - xs->progress_us < xs->timeout_ms * 1000)
        return 0;
    snprintf(why, size, "acknowledged nothing for %lld ms", xs->timeout_ms);
    return 1;
}

/*
 * One round: writes what it can, reads what came back, waiting up to
 * wait_ms for either.  PGCDC_OK, or 1 with why (the handler failed).
 */
static int pump(pgcdc__exec *xs, int wait_ms, char *why, size_t size)
{
    struct pollfd pf[2];
    int nfds = 1;

    /* Written again after the reading: what came back may let more lines go (one by one). */
    if (write_some(xs, why, size) != PGCDC_OK || read_acks(xs, why, size) != PGCDC_OK ||
        write_some(xs, why, size) != PGCDC_OK || timed_out(xs, why, size))
        return 1;
    if (wait_ms <= 0)
        return PGCDC_OK;
    pf[0].fd = xs->child.out;
    pf[0].events = POLLIN;
    if (xs->wpos < write_limit(xs)) {
        pf[1].fd = xs->child.in;
        pf[1].events = POLLOUT;
        nfds = 2;
    }
    if (poll(pf, (nfds_t)nfds, wait_ms) < 0 && errno != EINTR) {
        snprintf(why, size, "could not wait for it: %s", strerror(errno));
        return 1;
    }
    if (write_some(xs, why, size) != PGCDC_OK || read_acks(xs, why, size) != PGCDC_OK ||
        timed_out(xs, why, size))
        return 1;
    return PGCDC_OK;
}

/* ---- failures ---- */

static int fail_for_good(pgcdc__exec *xs, const char *what)
{
    char line[PGCDC__MSG_SIZE];

    snprintf(line, sizeof(line), "handler \"%s\" %s (%d failure%s in a row)", xs->cmd, what,
             xs->fails, xs->fails == 1 ? "" : "s");
    pgcdc__one_line(xs->failure, sizeof(xs->failure) - sizeof("; " NOTHING_LOST), line);
    strcat(xs->failure, "; " NOTHING_LOST);
    xs->failed = 1;
    return pgcdc_sink_fail(xs->sink, PGCDC_ERR_SINK, "%s", xs->failure);
}

/* Starts the handler, to be given every line not acknowledged. */
static int start(pgcdc__exec *xs)
{
    char why[512];

    if (pgcdc__child_start(&xs->child, xs->cmd, pgcdc_sink_format(xs->sink), why, sizeof(why)) !=
        PGCDC_OK)
        return pgcdc_sink_fail(xs->sink, PGCDC_ERR_SINK, "sink \"%s\": %s", xs->sink->shown, why);
    xs->given = xs->handled = 0;
    xs->acklen = 0;
    xs->wq = xs->done;
    xs->wpos = xs->done < xs->nq ? xs->q[xs->done].start : queued_end(xs);
    xs->progress_us = pgcdc__now_us();
    return PGCDC_OK;
}

/* The first line not acknowledged goes to the dead-letter file: PGCDC_OK or a failure. */
static int dead_letter_first(pgcdc__exec *xs, const char *what)
{
    char reason[PGCDC__MSG_SIZE];

    while (xs->done < xs->nq && xs->q[xs->done].token != 0)
        pgcdc_sink_ack(xs->sink, xs->q[xs->done++].token);
    if (xs->done < xs->nq) {
        const xent *e = &xs->q[xs->done];
        int r;

        snprintf(reason, sizeof(reason), "handler \"%s\" %s (%d failure%s in a row)", xs->cmd, what,
                 xs->fails, xs->fails == 1 ? "" : "s");
        r = pgcdc__sink_dead_letter(xs->sink, at(xs, e->start), (size_t)(e->end - e->start),
                                    reason);
        if (r != PGCDC_OK)
            return r;
        xs->done++;
    }
    while (xs->done < xs->nq && xs->q[xs->done].token != 0)
        pgcdc_sink_ack(xs->sink, xs->q[xs->done++].token);
    compact(xs);
    xs->fails = 0;
    return PGCDC_OK;
}

/*
 * The handler failed (why): it is ended, and started again after a backoff
 * to be given what it had not acknowledged, unless the failures in a row
 * are past retries (the error policy) or the worker is stopping.
 */
static int recover(pgcdc__exec *xs, const char *why)
{
    char how[256];
    char what[800];
    int backoff;
    int r;

    if (xs->wpos > xs->careful_end)
        xs->careful_end = xs->wpos;
    pgcdc__child_end(&xs->child, 0, 0, how, sizeof(how));
    snprintf(what, sizeof(what), "%s and %s", why, how);
    pgcdc__sink_count_error(xs->sink);
    xs->fails++;
    pgcdc_sink_log(xs->sink, PGCDC_LOG_WARNING,
                   "sink \"%s\": the handler %s (%llu lines not acknowledged are given again "
                   "to a new one)",
                   xs->sink->shown, what,
                   (unsigned long long)(xs->given > xs->handled ? xs->given - xs->handled : 0));
    if (xs->fails > xs->retries) {
        if (!xs->dead_letter)
            return fail_for_good(xs, what);
        r = dead_letter_first(xs, what);
        if (r != PGCDC_OK)
            return r;
    }
    backoff = BACKOFF_MIN_MS << (xs->fails > 7 ? 6 : xs->fails > 0 ? xs->fails - 1 : 0);
    if (backoff > BACKOFF_MAX_MS)
        backoff = BACKOFF_MAX_MS;
    if (pgcdc__sink_pause(xs->sink, backoff))
        return pgcdc_sink_fail(xs->sink, PGCDC_ERR_STOPPED,
                               "stopped while sink \"%s\" was restarting its handler (" NOTHING_LOST
                               ")",
                               xs->sink->shown);
    return start(xs);
}

/*
 * Pumps until done() holds, restarting the handler as it fails.  PGCDC_OK or a
 * failure.  A stop gives up after STOP_GRACE_MS: what is outstanding is
 * given again on the next start.
 */
static int pump_until(pgcdc__exec *xs, int (*done)(const pgcdc__exec *xs))
{
    int64_t stop_seen = 0;
    char why[512];

    while (!done(xs)) {
        if (pump(xs, 100, why, sizeof(why)) != PGCDC_OK) {
            int r = recover(xs, why);

            if (r != PGCDC_OK)
                return r;
            continue;
        }
        if (pgcdc__sink_stopping(xs->sink)) {
            if (stop_seen == 0)
                stop_seen = pgcdc__now_us();
            else if (pgcdc__now_us() - stop_seen >= STOP_GRACE_MS * 1000LL)
                return pgcdc_sink_fail(xs->sink, PGCDC_ERR_STOPPED,
                                       "stopped while handler \"%s\" had lines not acknowledged "
                                       "(given again on the next start)",
                                       xs->cmd);
        }
    }
    return PGCDC_OK;
}

static int under_limit(const pgcdc__exec *xs)
{
    return !outstanding(xs) || queued_end(xs) - xs->q[xs->done].start < (uint64_t)xs->max_inflight;
}

/* ---- the worker's side ---- */

static xent *queue_slot(pgcdc__exec *xs)
{
    if (xs->nq == xs->capq) {
        size_t cap = xs->capq > 0 ? xs->capq * 2 : 256;
        xent *q = realloc(xs->q, cap * sizeof(*q));

        if (q == NULL)
            return NULL;
        xs->q = q;
        xs->capq = cap;
    }
    if (xs->done == xs->nq)
        xs->progress_us = pgcdc__now_us();
    if (xs->wpos == queued_end(xs))
        xs->oldest_us = pgcdc__now_us();
    return &xs->q[xs->nq];
}

/* The event's lines, one entry each. */
static int queue_lines(pgcdc__exec *xs, const pgcdc_sink_event *ev)
{
    const char *data;
    size_t len;
    int r = pgcdc_sink_event_data(ev, &data, &len);

    if (r != PGCDC_OK)
        return pgcdc_sink_fail(xs->sink, r, "out of memory");
    while (len > 0) {
        const char *nl = memchr(data, '\n', len);
        size_t n = nl != NULL ? (size_t)(nl - data) + 1 : len;
        xent *e = queue_slot(xs);

        if (e == NULL)
            return pgcdc_sink_fail(xs->sink, PGCDC_ERR_NOMEM, "out of memory");
        e->token = 0;
        e->start = queued_end(xs);
        pgcdc__buf_put(&xs->lines, data, n);
        if (nl == NULL)
            pgcdc__buf_u8(&xs->lines, '\n');
        if (xs->lines.oom) {
            xs->lines.len = (size_t)(e->start - xs->base);
            xs->lines.oom = 0;
            return pgcdc_sink_fail(xs->sink, PGCDC_ERR_NOMEM, "out of memory");
        }
        e->end = queued_end(xs);
        xs->nq++;
        data += n;
        len -= n;
    }
    return PGCDC_HANDLED;
}

/* A commit: acknowledged once every line queued before it was. */
static int queue_commit(pgcdc__exec *xs, const pgcdc_sink_event *ev)
{
    xent *e;

    if (!outstanding(xs))
        return PGCDC_HANDLED;
    e = queue_slot(xs);
    if (e == NULL)
        return pgcdc_sink_fail(xs->sink, PGCDC_ERR_NOMEM, "out of memory");
    e->token = pgcdc_sink_event_token(ev);
    e->start = e->end = queued_end(xs);
    xs->nq++;
    return PGCDC_DEFER;
}

static int exec_write(pgcdc_sink *sink, const pgcdc_sink_event *ev)
{
    pgcdc__exec *xs = pgcdc_sink_state(sink);
    int r;
    char why[512];

    if (xs->failed)
        return pgcdc_sink_fail(sink, PGCDC_ERR_SINK, "%s", xs->failure);
    r = queue_lines(xs, ev);
    if (r == PGCDC_HANDLED && pgcdc_sink_event_kind(ev) == PGCDC_EVENT_COMMIT)
        r = queue_commit(xs, ev);
    if (r < 0)
        return r;
    /* A batch is full, or waited long enough: out it goes, and what came back is read. */
    if (queued_end(xs) - xs->wpos >= BATCH_BYTES ||
        (r == PGCDC_DEFER && pgcdc__now_us() - xs->oldest_us >= xs->flush_ms * 1000)) {
        if (pump(xs, 0, why, sizeof(why)) != PGCDC_OK) {
            int f = recover(xs, why);

            if (f != PGCDC_OK)
                return f;
        }
    }
    if (!under_limit(xs)) {
        int f = pump_until(xs, under_limit);

        if (f != PGCDC_OK)
            return f;
    }
    return r;
}

/*
 * Out goes what is queued, in comes what the handler acknowledged; the
 * worker does not wait for the rest (it reads the stream meanwhile): the
 * waker wakes it when more comes back, or when the timeout would pass.
 */
static int exec_flush(pgcdc_sink *sink)
{
    pgcdc__exec *xs = pgcdc_sink_state(sink);
    char why[512];

    if (xs->failed)
        return pgcdc_sink_fail(sink, PGCDC_ERR_SINK, "%s", xs->failure);
    if (pump(xs, 0, why, sizeof(why)) != PGCDC_OK) {
        int r = recover(xs, why);

        if (r != PGCDC_OK)
            return r;
    }
    if (outstanding(xs))
        pgcdc__waker_arm(&xs->waker, xs->child.out, xs->progress_us + xs->timeout_ms * 1000);
    else
        pgcdc__waker_arm(&xs->waker, -1, 0);
    return PGCDC_OK;
}

/* ---- open and close ---- */

static int exec_open(pgcdc_sink *sink, const char *uri)
{
    pgcdc__exec *xs = calloc(1, sizeof(*xs));
    char why[512];

    if (xs == NULL)
        return pgcdc_sink_fail(sink, PGCDC_ERR_NOMEM, "out of memory");
    pgcdc_sink_set_state(sink, xs);
    xs->sink = sink;
    xs->child.in = xs->child.out = -1;
    pgcdc__buf_init(&xs->lines);
    if (exec_check_uri(uri, why, sizeof(why)) != PGCDC_OK)
        return pgcdc_sink_fail(sink, PGCDC_ERR_INVALID, "sink \"%s\": %s", sink->shown, why);
    xs->cmd = strdup(uri + 5 + strspn(uri + 5, " \t"));
    if (xs->cmd == NULL)
        return pgcdc_sink_fail(sink, PGCDC_ERR_NOMEM, "out of memory");
    /* The property table checked the values. */
    pgcdc__sink_prop_num(sink, "timeout", &xs->timeout_ms);
    pgcdc__sink_prop_num(sink, "retries", &xs->retries);
    pgcdc__sink_prop_num(sink, "max_inflight", &xs->max_inflight);
    pgcdc__sink_prop_num(sink, "flush_interval", &xs->flush_ms);
    pgcdc__sink_prop_num(sink, "stop_timeout", &xs->stop_ms);
    xs->dead_letter = pgcdc__sink_can_dead_letter(sink);
    if (pgcdc__waker_start(&xs->waker, sink) != PGCDC_OK)
        return pgcdc_sink_fail(sink, PGCDC_ERR_NOMEM, "could not start a thread");
    return start(xs);
}

static void exec_close(pgcdc_sink *sink)
{
    pgcdc__exec *xs = pgcdc_sink_state(sink);
    char how[256];

    if (xs == NULL)
        return;
    pgcdc__waker_stop(&xs->waker);
    /* What is not acknowledged was never confirmed: a later run gives it again. */
    if (xs->child.pid > 0) {
        pgcdc__child_end(&xs->child, 1, (int)xs->stop_ms, how, sizeof(how));
        pgcdc_sink_log(sink, PGCDC_LOG_DEBUG, "sink \"%s\": the handler %s", sink->shown, how);
    }
    pgcdc__buf_free(&xs->lines);
    free(xs->q);
    free(xs->cmd);
    free(xs);
}

const pgcdc_sink_ops pgcdc__exec_sink = {
    .abi = PGCDC_SINK_ABI,
    .kind = "exec",
    .open = exec_open,
    .write = exec_write,
    .flush = exec_flush,
    .close = exec_close,
    .properties = exec_properties,
    .nproperties = NPROPERTIES,
    .check_uri = exec_check_uri,
};
