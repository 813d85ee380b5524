/*
 * The RabbitMQ (AMQP 0-9-1) sink: each change a persistent message published
 * to an exchange with a routing key from a template and the message_id
 * <commit_lsn>:<seq>, on a channel in confirm mode.  Frames are encoded here
 * into one buffer and written in batches on the worker's thread; a
 * transaction is acknowledged once the broker confirmed every message before
 * its commit.  What was not confirmed is published again after a lost
 * connection or a nack: delivery is at least once.
 */
#include <ctype.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <amqp.h>
#include <amqp_framing.h>
#include <amqp_tcp_socket.h>

#include "base/clock.h"
#include "sink/amqp.h"
#include "sink/amqp_int.h"
#include "sink/sink.h"
#include "sink/template.h"

#define NOTHING_LOST "nothing after the last confirmed position is lost"
#define DEFAULT_TEMPLATE "${prefix}.${schema}.${table}"
#define CHANNEL PGCDC__AMQP_CHANNEL
/* Bytes queued before they are written even when the flush interval has not passed. */
#define SEND_BATCH (64 * 1024)
#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 2000
/* try_connect's results besides PGCDC_OK. */
#define RETRY PGCDC__AMQP_RETRY
#define REFUSED PGCDC__AMQP_REFUSED
/* A lost connection, from the functions that read or write it. */
#define LOST 1

static const pgcdc_property amqp_properties[] = {
    {"vhost", PGCDC_PROP_STRING, "/", 0, 0, NULL, "the virtual host to log in to"},
    {"routing_key", PGCDC_PROP_STRING, DEFAULT_TEMPLATE, 0, 0, NULL,
     "routing key template (placeholders ${prefix}, ${schema}, ${table})"},
    {"key_prefix", PGCDC_PROP_STRING, "pgcdc", 0, 0, NULL, "${prefix} in the routing key template"},
    {"mandatory", PGCDC_PROP_BOOL, "true", 0, 0, NULL,
     "publish with the mandatory flag: a message no queue takes is published again until "
     "max_elapsed, then a failure (error policy); false: the broker drops it"},
    {"max_inflight", PGCDC_PROP_SIZE, "16MB", 1024, 1LL << 40, NULL,
     "messages published and not yet confirmed (kept to publish again after a lost "
     "connection); reading the stream waits beyond it"},
    {"flush_interval", PGCDC_PROP_DURATION, "100ms", 0, 60000, NULL,
     "how long messages wait to be written while the stream keeps the worker busy"},
    {"timeout", PGCDC_PROP_DURATION, "10s", 100, 600000, NULL,
     "connecting, and waiting for a confirm; past it the connection counts as lost"},
    {"max_elapsed", PGCDC_PROP_DURATION, "5m", 1000, 86400000, NULL,
     "how long a lost connection is retried before the sink fails"},
    {"heartbeat", PGCDC_PROP_DURATION, "60s", 0, 3600000, NULL,
     "AMQP heartbeat interval asked for (whole seconds; 0: the broker's)"},
};

#define NPROPERTIES (int)(sizeof(amqp_properties) / sizeof(amqp_properties[0]))

/* A message waiting for its confirm, or a commit waiting for the confirms before it. */
typedef struct amsg {
    uint64_t token; /* a commit's; 0 for a message */
    size_t start;   /* its frames' bytes in frames (a commit: where the next would start) */
    uint64_t tag;   /* its delivery tag on the current channel, once written */
    int acked;
} amsg;

typedef struct pgcdc__amqp {
    pgcdc_sink *sink;
    pgcdc__amqp_uri uri;
    amqp_connection_state_t conn; /* NULL: not connected */
    int fd;
    char *vhost;
    char *key_tmpl;
    char *prefix;
    int mandatory;
    long long max_inflight;
    long long flush_ms;
    long long timeout_ms;
    long long max_elapsed_ms;
    long long heartbeat_ms;
    int dead_letter;
    pgcdc__buf frames; /* the pending messages' frames, as written */
    amsg *q;
    size_t nq;
    size_t capq;
    size_t sent; /* entries before it were written on this connection */
    size_t done; /* entries before it were confirmed (and commits acknowledged) */
    uint64_t next_tag;
    int64_t oldest_us;     /* when the first entry not written was queued */
    int64_t last_io_us;    /* the connection's last write or read */
    int64_t trouble_us;    /* since when nothing was confirmed after a loss (0: no trouble) */
    int return_backoff_ms; /* the wait before publishing a returned message again */
    int was_returned;      /* the last loss was a returned message's (its policy decides) */
    pgcdc__buf key;        /* scratch: the expanded routing key */
    uint64_t snap_lsn;
    uint64_t snap_next;
    int down;   /* a lost connection was logged */
    int failed; /* sticky: a refusal for good */
    char lost_why[256];
    char failure[PGCDC__MSG_SIZE];
} pgcdc__amqp;

/* ---- the connection ---- */

static void disconnect(pgcdc__amqp *as)
{
    if (as->conn != NULL)
        amqp_destroy_connection(as->conn);
    as->conn = NULL;
    /* What was written and not confirmed goes again on the next connection. */
    for (size_t i = as->done; i < as->sent; i++)
        as->q[i].acked = 0;
    as->sent = as->done;
}

static struct timeval tv_ms(long long ms)
{
    struct timeval tv;

    tv.tv_sec = (time_t)(ms / 1000);
    tv.tv_usec = (suseconds_t)(ms % 1000 * 1000);
    return tv;
}

/* Logs in, opens the channel in confirm mode, checks the exchange: see rpc_why for the result. */
static int hello(pgcdc__amqp *as, amqp_connection_state_t conn, char *why, size_t size)
{
    int heartbeat = (int)(as->heartbeat_ms / 1000);
    int r = pgcdc__amqp_rpc_why(amqp_login(conn, as->vhost, 0, 131072, heartbeat,
                                           AMQP_SASL_METHOD_PLAIN, as->uri.user, as->uri.password),
                                "login", why, size);

    if (r != PGCDC_OK)
        return r;
    amqp_channel_open(conn, CHANNEL);
    r = pgcdc__amqp_rpc_why(amqp_get_rpc_reply(conn), "channel.open", why, size);
    if (r != PGCDC_OK)
        return r;
    /* The default exchange ("") always exists and cannot be declared. */
    if (as->uri.exchange[0] != '\0') {
        amqp_exchange_declare(conn, CHANNEL, amqp_cstring_bytes(as->uri.exchange),
                              amqp_cstring_bytes("topic"), 1, 0, 0, 0, amqp_empty_table);
        r = pgcdc__amqp_rpc_why(amqp_get_rpc_reply(conn), "exchange", why, size);
        if (r != PGCDC_OK)
            return r;
    }
    amqp_confirm_select(conn, CHANNEL);
    return pgcdc__amqp_rpc_why(amqp_get_rpc_reply(conn), "confirm.select", why, size);
}

/* A connection ready to publish: PGCDC_OK, RETRY or REFUSED with why. */
static int try_connect(pgcdc__amqp *as, char *why, size_t size)
{
    amqp_connection_state_t conn = amqp_new_connection();
    amqp_socket_t *sock = conn != NULL ? amqp_tcp_socket_new(conn) : NULL;
    struct timeval tv = tv_ms(as->timeout_ms);
    int r;

    if (sock == NULL) {
        snprintf(why, size, "out of memory");
        if (conn != NULL)
            amqp_destroy_connection(conn);
        return RETRY;
    }
    amqp_set_handshake_timeout(conn, &tv);
    amqp_set_rpc_timeout(conn, &tv);
    r = amqp_socket_open_noblock(sock, as->uri.host, as->uri.port, &tv);
    if (r != AMQP_STATUS_OK) {
        snprintf(why, size, "could not connect to \"%s:%d\": %s", as->uri.host, as->uri.port,
                 amqp_error_string2(r));
        amqp_destroy_connection(conn);
        return RETRY;
    }
    r = hello(as, conn, why, size);
    if (r != PGCDC_OK) {
        amqp_destroy_connection(conn);
        return r;
    }
    as->conn = conn;
    as->fd = amqp_socket_get_sockfd(sock);
    as->next_tag = 1;
    as->last_io_us = pgcdc__now_us();
    return PGCDC_OK;
}

static int refused(pgcdc__amqp *as, const char *why)
{
    char line[PGCDC__MSG_SIZE];

    snprintf(line, sizeof(line), "sink \"%s\": %s", as->sink->shown, why);
    pgcdc__one_line(as->failure, sizeof(as->failure), line);
    as->failed = 1;
    return pgcdc_sink_fail(as->sink, PGCDC_ERR_SINK, "%s", as->failure);
}

static int stopped(pgcdc__amqp *as)
{
    return pgcdc_sink_fail(as->sink, PGCDC_ERR_STOPPED,
                           "stopped while sink \"%s\" was reconnecting", as->sink->shown);
}

/*
 * Connects, retrying with backoff until max_elapsed after the trouble began:
 * PGCDC_OK, a failure, or PGCDC_ERR_STOPPED when the worker is asked to stop.
 */
static int connect_retrying(pgcdc__amqp *as)
{
    int backoff = BACKOFF_MIN_MS;
    char why[512];
    int r;

    if (as->trouble_us == 0)
        as->trouble_us = pgcdc__now_us();
    for (;;) {
        r = try_connect(as, why, sizeof(why));
        if (r == PGCDC_OK)
            break;
        if (r == REFUSED)
            return refused(as, why);
        pgcdc__sink_count_error(as->sink);
        if (!as->down) {
            pgcdc_sink_log(as->sink, PGCDC_LOG_WARNING, "sink \"%s\": %s (retrying)",
                           as->sink->shown, why);
            as->down = 1;
        }
        if ((pgcdc__now_us() - as->trouble_us) / 1000 >= as->max_elapsed_ms)
            return pgcdc_sink_fail(as->sink, PGCDC_ERR_SINK,
                                   "could not publish to amqp at \"%s:%d\" for %lld ms: %s "
                                   "(" NOTHING_LOST ")",
                                   as->uri.host, as->uri.port, as->max_elapsed_ms, why);
        if (pgcdc__sink_pause(as->sink, backoff))
            return stopped(as);
        backoff = backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : backoff * 2;
    }
    if (as->down) {
        pgcdc_sink_log(as->sink, PGCDC_LOG_INFO, "sink \"%s\": delivering again", as->sink->shown);
        as->down = 0;
    }
    return PGCDC_OK;
}

/* A connection lost: said once until delivering again. */
static int lost(pgcdc__amqp *as, const char *why)
{
    pgcdc__sink_count_error(as->sink);
    snprintf(as->lost_why, sizeof(as->lost_why), "%s", why);
    if (!as->down)
        pgcdc_sink_log(as->sink, PGCDC_LOG_WARNING, "sink \"%s\": connection lost: %s (retrying)",
                       as->sink->shown, why);
    as->down = 1;
    if (as->trouble_us == 0)
        as->trouble_us = pgcdc__now_us();
    disconnect(as);
    return LOST;
}

/* ---- confirms ---- */

/* Acknowledges the commits whose messages were all confirmed. */
static void advance(pgcdc__amqp *as)
{
    size_t from = as->done;

    while (as->done < as->sent && (as->q[as->done].token != 0 || as->q[as->done].acked)) {
        if (as->q[as->done].token != 0)
            pgcdc_sink_ack(as->sink, as->q[as->done].token);
        as->done++;
    }
    if (as->done > from) {
        as->trouble_us = 0;
        as->return_backoff_ms = 0;
    }
}

/* basic.ack: the messages of that tag (and before it, with multiple) are in the broker. */
static void confirmed(pgcdc__amqp *as, uint64_t tag, int multiple)
{
    for (size_t i = as->done; i < as->sent; i++) {
        amsg *m = &as->q[i];

        if (m->token != 0)
            continue;
        if (m->tag > tag)
            break;
        if (multiple || m->tag == tag)
            m->acked = 1;
    }
    advance(as);
}

/*
 * basic.return (mandatory messages no queue took): the message and the
 * reason, to the error policy.  The broker confirms it after.
 */
static int returned(pgcdc__amqp *as, const amqp_basic_return_t *ret)
{
    amqp_message_t msg;
    amqp_rpc_reply_t reply = amqp_read_message(as->conn, CHANNEL, &msg, 0);
    char why[PGCDC__MSG_SIZE];
    const amqp_bytes_t *id = &msg.properties.message_id;
    int r;

    if (reply.reply_type != AMQP_RESPONSE_NORMAL)
        return lost(as, "could not read a returned message");
    snprintf(why, sizeof(why),
             "message %.*s was returned by exchange \"%.*s\" (routing key \"%.*s\"): %u %.*s",
             (msg.properties._flags & AMQP_BASIC_MESSAGE_ID_FLAG) ? (int)id->len : 0,
             (const char *)id->bytes, (int)ret->exchange.len, (const char *)ret->exchange.bytes,
             (int)ret->routing_key.len, (const char *)ret->routing_key.bytes, ret->reply_code,
             (int)ret->reply_text.len, (const char *)ret->reply_text.bytes);
    if (as->trouble_us == 0 || (pgcdc__now_us() - as->trouble_us) / 1000 < as->max_elapsed_ms) {
        /* No queue took it: a binding missing for now (a broker recovering after a restart)
         * or for good.  Published again, then the error policy after max_elapsed. */
        amqp_destroy_message(&msg);
        if (!as->down)
            pgcdc_sink_log(as->sink, PGCDC_LOG_WARNING, "sink \"%s\": %s (publishing it again)",
                           as->sink->shown, why);
        as->down = 1;
        r = lost(as, why);
        as->was_returned = 1;
        as->return_backoff_ms = as->return_backoff_ms == 0 ? BACKOFF_MIN_MS
                                : as->return_backoff_ms * 2 > BACKOFF_MAX_MS
                                    ? BACKOFF_MAX_MS
                                    : as->return_backoff_ms * 2;
        return pgcdc__sink_pause(as->sink, as->return_backoff_ms) ? stopped(as) : r;
    }
    pgcdc__sink_count_error(as->sink);
    if (as->dead_letter)
        r = pgcdc__sink_dead_letter(as->sink, msg.body.bytes, msg.body.len, why);
    else {
        pgcdc__one_line(as->failure, sizeof(as->failure) - sizeof(" (" NOTHING_LOST ")"), why);
        strcat(as->failure, " (" NOTHING_LOST ")");
        as->failed = 1;
        r = pgcdc_sink_fail(as->sink, PGCDC_ERR_SINK, "%s", as->failure);
    }
    amqp_destroy_message(&msg);
    return r;
}

/* One frame from the broker: PGCDC_OK, LOST or a failure. */
static int take_frame(pgcdc__amqp *as, const amqp_frame_t *f)
{
    char why[512];

    if (f->frame_type != AMQP_FRAME_METHOD)
        return PGCDC_OK;
    switch (f->payload.method.id) {
    case AMQP_BASIC_ACK_METHOD: {
        const amqp_basic_ack_t *ack = f->payload.method.decoded;

        confirmed(as, ack->delivery_tag, ack->multiple);
        return PGCDC_OK;
    }
    case AMQP_BASIC_NACK_METHOD:
        /* The broker could not take them: published again on a new channel. */
        return lost(as, "the broker refused messages (basic.nack)");
    case AMQP_BASIC_RETURN_METHOD:
        return returned(as, f->payload.method.decoded);
    case AMQP_CHANNEL_CLOSE_METHOD: {
        const amqp_channel_close_t *cc = f->payload.method.decoded;

        snprintf(why, sizeof(why), "the broker closed the channel: %u %.*s", cc->reply_code,
                 (int)cc->reply_text.len, (const char *)cc->reply_text.bytes);
        /* 403 and 404 (no such exchange) do not pass by publishing again. */
        if (cc->reply_code == 403 || cc->reply_code == 404) {
            disconnect(as);
            return refused(as, why);
        }
        return lost(as, why);
    }
    case AMQP_CONNECTION_CLOSE_METHOD: {
        const amqp_connection_close_t *cc = f->payload.method.decoded;

        snprintf(why, sizeof(why), "the broker closed the connection: %u %.*s", cc->reply_code,
                 (int)cc->reply_text.len, (const char *)cc->reply_text.bytes);
        return lost(as, why);
    }
    default:
        return PGCDC_OK;
    }
}

/*
 * Reads what the broker sent, waiting up to wait_ms for the first frame (0:
 * not at all): PGCDC_OK (AMQP_STATUS_TIMEOUT in *idle when nothing came),
 * LOST or a failure.
 */
static int read_frames(pgcdc__amqp *as, long long wait_ms, int *idle)
{
    struct timeval tv = tv_ms(wait_ms);
    amqp_frame_t f;
    int r;

    *idle = 0;
    for (int n = 0;; n++) {
        r = amqp_simple_wait_frame_noblock(as->conn, &f, n == 0 ? &tv : &(struct timeval){0, 0});
        if (r == AMQP_STATUS_TIMEOUT) {
            *idle = n == 0;
            break;
        }
        if (r != AMQP_STATUS_OK)
            return lost(as, amqp_error_string2(r));
        as->last_io_us = pgcdc__now_us();
        r = take_frame(as, &f);
        if (r != PGCDC_OK)
            return r;
    }
    amqp_maybe_release_buffers(as->conn);
    return PGCDC_OK;
}

/* ---- writing ---- */

/* Writes the bytes of frames from at, reading confirms whenever the socket would block. */
static int write_bytes(pgcdc__amqp *as, size_t at)
{
    int idle;
    int r;

    while (at < as->frames.len) {
        ssize_t n = send(as->fd, as->frames.data + at, as->frames.len - at, MSG_NOSIGNAL);
        struct pollfd pfd = {as->fd, POLLOUT | POLLIN, 0};

        if (n > 0) {
            at += (size_t)n;
            continue;
        }
        if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
            return lost(as, strerror(errno));
        if (poll(&pfd, 1, (int)as->timeout_ms) <= 0)
            return lost(as, "timed out writing to the broker");
        if (pfd.revents & (POLLIN | POLLERR | POLLHUP)) {
            r = read_frames(as, 0, &idle);
            if (r != PGCDC_OK)
                return r;
        }
    }
    as->last_io_us = pgcdc__now_us();
    return PGCDC_OK;
}

/* Writes every queued message not written yet, giving each its delivery tag; then reads. */
static int send_queued(pgcdc__amqp *as)
{
    size_t at;
    int idle;
    int r;

    if (as->conn != NULL && as->sent == as->done &&
        pgcdc__now_us() - as->last_io_us >
            (as->heartbeat_ms > 0 ? as->heartbeat_ms : 30000) * 1000) {
        /* Idle longer than a heartbeat: the broker may have closed it; start afresh. */
        disconnect(as);
    }
    if (as->conn == NULL) {
        r = connect_retrying(as);
        if (r != PGCDC_OK)
            return r;
    }
    if (as->sent == as->nq)
        return PGCDC_OK;
    at = as->q[as->sent].start;
    for (; as->sent < as->nq; as->sent++) {
        if (as->q[as->sent].token == 0)
            as->q[as->sent].tag = as->next_tag++;
    }
    r = write_bytes(as, at);
    if (r == PGCDC_OK)
        r = read_frames(as, 0, &idle);
    return r;
}

/* Everything queued is confirmed: the memory is used again. */
static void reset_queue(pgcdc__amqp *as)
{
    as->nq = 0;
    as->sent = 0;
    as->done = 0;
    pgcdc__buf_reset(&as->frames);
    pgcdc__sink_show_inflight(as->sink, 0);
}

/*
 * Writes every queued message and waits until every one was confirmed,
 * acknowledging commits on the way; a lost connection is made again and
 * what it had not confirmed is published again.  PGCDC_OK or a failure.
 */
static int drain(pgcdc__amqp *as)
{
    int idle;
    int r;

    while (as->done < as->nq) {
        as->was_returned = 0;
        r = send_queued(as);
        while (r == PGCDC_OK && as->done < as->nq) {
            r = read_frames(as, as->timeout_ms, &idle);
            if (r == PGCDC_OK && idle && pgcdc__sink_stopping(as->sink))
                return pgcdc_sink_fail(as->sink, PGCDC_ERR_STOPPED,
                                       "stopped while sink \"%s\" waited for confirms",
                                       as->sink->shown);
            if (r == PGCDC_OK && idle)
                r = lost(as, "no confirm from the broker within the timeout");
        }
        if (r < 0)
            return r;
        /* Connections made and lost again (nacks, say) with no confirm: bounded too. */
        if (r == LOST && !as->was_returned &&
            (pgcdc__now_us() - as->trouble_us) / 1000 >= as->max_elapsed_ms)
            return pgcdc_sink_fail(as->sink, PGCDC_ERR_SINK,
                                   "could not publish to amqp at \"%s:%d\" for %lld ms: %s "
                                   "(" NOTHING_LOST ")",
                                   as->uri.host, as->uri.port, as->max_elapsed_ms, as->lost_why);
    }
    reset_queue(as);
    return PGCDC_OK;
}

/* ---- the worker's side ---- */

static amsg *queue_slot(pgcdc__amqp *as)
{
    if (as->nq == as->capq) {
        size_t cap = as->capq > 0 ? as->capq * 2 : 256;
        amsg *q = realloc(as->q, cap * sizeof(*q));

        if (q == NULL)
            return NULL;
        as->q = q;
        as->capq = cap;
    }
    if (as->sent == as->nq)
        as->oldest_us = pgcdc__now_us();
    memset(&as->q[as->nq], 0, sizeof(as->q[as->nq]));
    as->q[as->nq].start = as->frames.len;
    return &as->q[as->nq];
}

/*
 * The seq of a message's ID.  The READ rows of an initial snapshot are
 * transactions of one chunk each, all at the slot's consistent point with
 * ordinals from 0: they are numbered on across chunks instead, so that every
 * ID stays unique.
 */
static uint64_t message_seq(pgcdc__amqp *as, const pgcdc_change *c)
{
    const pgcdc_txn *txn = pgcdc_change_txn(c);

    if (pgcdc_txn_snapshot(txn) == PGCDC_SNAPSHOT_NONE)
        return pgcdc_change_seq(c);
    if (pgcdc_txn_commit_lsn(txn) != as->snap_lsn) {
        as->snap_lsn = pgcdc_txn_commit_lsn(txn);
        as->snap_next = 0;
    }
    return as->snap_next++;
}

/* A routing key past 255 bytes cannot be sent: the event goes to the error policy. */
static int key_too_long(pgcdc__amqp *as, const char *data, size_t len)
{
    char why[PGCDC__MSG_SIZE];

    pgcdc__sink_count_error(as->sink);
    snprintf(why, sizeof(why), "routing key \"%.64s...\" is longer than 255 bytes",
             (const char *)as->key.data);
    if (as->dead_letter) {
        int r = pgcdc__sink_dead_letter(as->sink, data, len, why);

        return r == PGCDC_OK ? PGCDC_HANDLED : r;
    }
    return pgcdc_sink_fail(as->sink, PGCDC_ERR_SINK, "sink \"%s\": %s", as->sink->shown, why);
}

static int queue_change(pgcdc__amqp *as, const pgcdc_sink_event *ev)
{
    const pgcdc_change *c = pgcdc_sink_event_change(ev);
    const char *data;
    size_t len;
    char id[64];
    size_t idlen;
    amsg *m;
    int r = pgcdc_sink_event_data(ev, &data, &len);

    if (r != PGCDC_OK)
        return pgcdc_sink_fail(as->sink, r, "out of memory");
    while (len > 0 && data[len - 1] == '\n')
        len--;
    if (len == 0)
        return PGCDC_HANDLED;
    if (pgcdc__template_expand(&as->key, ev->topic != NULL ? ev->topic : as->key_tmpl,
                               pgcdc_change_schema(c), pgcdc_change_table(c), as->prefix,
                               NULL) != PGCDC_OK)
        return pgcdc_sink_fail(as->sink, PGCDC_ERR_NOMEM, "out of memory");
    if (as->key.len > 255)
        return key_too_long(as, data, len);
    pgcdc_lsn_format(pgcdc_change_commit_lsn(c), id, sizeof(id));
    idlen = strlen(id);
    /* A schema change has the seq of the change after it: its ID must not be that one's. */
    idlen += (size_t)snprintf(id + idlen, sizeof(id) - idlen, ":%llu%s",
                              (unsigned long long)message_seq(as, c),
                              pgcdc_change_op(c) == PGCDC_OP_SCHEMA ? ":schema" : "");
    m = queue_slot(as);
    if (m == NULL)
        return pgcdc_sink_fail(as->sink, PGCDC_ERR_NOMEM, "out of memory");
    pgcdc__amqp_put_publish(&as->frames, as->uri.exchange, (const char *)as->key.data, as->key.len,
                            as->mandatory, id, idlen, data, len);
    if (as->frames.oom) {
        as->frames.len = m->start;
        as->frames.oom = 0;
        return pgcdc_sink_fail(as->sink, PGCDC_ERR_NOMEM, "out of memory");
    }
    as->nq++;
    pgcdc__sink_show_inflight(as->sink, as->frames.len);
    return PGCDC_HANDLED;
}

/* A commit: acknowledged once every message queued before it was confirmed. */
static int queue_commit(pgcdc__amqp *as, const pgcdc_sink_event *ev)
{
    amsg *m;

    if (as->nq == as->done)
        return PGCDC_HANDLED;
    m = queue_slot(as);
    if (m == NULL)
        return pgcdc_sink_fail(as->sink, PGCDC_ERR_NOMEM, "out of memory");
    m->token = pgcdc_sink_event_token(ev);
    as->nq++;
    return PGCDC_DEFER;
}

static int amqp_write(pgcdc_sink *sink, const pgcdc_sink_event *ev)
{
    pgcdc__amqp *as = pgcdc_sink_state(sink);
    size_t unsent;
    int r;

    if (as->failed)
        return pgcdc_sink_fail(sink, PGCDC_ERR_SINK, "%s", as->failure);
    switch (pgcdc_sink_event_kind(ev)) {
    case PGCDC_EVENT_CHANGE:
        r = queue_change(as, ev);
        break;
    case PGCDC_EVENT_COMMIT:
        r = queue_commit(as, ev);
        break;
    default:
        return PGCDC_HANDLED;
    }
    if (r < 0)
        return r;
    /* Full: wait for every confirm, so that the memory is used again. */
    if (as->frames.len >= (size_t)as->max_inflight) {
        int d = drain(as);

        return d != PGCDC_OK ? d : r;
    }
    unsent = as->sent < as->nq ? as->frames.len - as->q[as->sent].start : 0;
    if (unsent >= SEND_BATCH ||
        (r == PGCDC_DEFER && pgcdc__now_us() - as->oldest_us >= as->flush_ms * 1000)) {
        /* A lost connection is made again by the next drain. */
        int s = send_queued(as);

        if (s < 0)
            return s;
    }
    return r;
}

static int amqp_flush(pgcdc_sink *sink)
{
    pgcdc__amqp *as = pgcdc_sink_state(sink);

    if (as->failed)
        return pgcdc_sink_fail(sink, PGCDC_ERR_SINK, "%s", as->failure);
    return as->nq > 0 ? drain(as) : PGCDC_OK;
}

/* ---- open and close ---- */

static int routing_key_char(int ch)
{
    return ch >= 0x20 && ch != 0x7f;
}

static int read_properties(pgcdc__amqp *as, char *why, size_t size)
{
    pgcdc_sink *sink = as->sink;
    long long mandatory = 1;

    as->vhost = strdup(pgcdc_sink_property(sink, "vhost"));
    as->key_tmpl = strdup(pgcdc_sink_property(sink, "routing_key"));
    as->prefix = strdup(pgcdc_sink_property(sink, "key_prefix"));
    if (as->vhost == NULL || as->key_tmpl == NULL || as->prefix == NULL) {
        snprintf(why, size, "out of memory");
        return PGCDC_ERR_NOMEM;
    }
    if (pgcdc__template_check(as->key_tmpl, "routing key", routing_key_char,
                              "in the routing key (no control characters)", NULL, why,
                              size) != PGCDC_OK)
        return PGCDC_ERR_INVALID;
    /* The property table checked the values. */
    pgcdc__sink_prop_num(sink, "mandatory", &mandatory);
    as->mandatory = (int)mandatory;
    pgcdc__sink_prop_num(sink, "max_inflight", &as->max_inflight);
    pgcdc__sink_prop_num(sink, "flush_interval", &as->flush_ms);
    pgcdc__sink_prop_num(sink, "timeout", &as->timeout_ms);
    pgcdc__sink_prop_num(sink, "max_elapsed", &as->max_elapsed_ms);
    pgcdc__sink_prop_num(sink, "heartbeat", &as->heartbeat_ms);
    as->dead_letter = pgcdc__sink_can_dead_letter(sink);
    return PGCDC_OK;
}

static int amqp_open(pgcdc_sink *sink, const char *uri)
{
    pgcdc__amqp *as = calloc(1, sizeof(*as));
    char why[512];
    int r;

    if (as == NULL)
        return pgcdc_sink_fail(sink, PGCDC_ERR_NOMEM, "out of memory");
    pgcdc_sink_set_state(sink, as);
    as->sink = sink;
    pgcdc__buf_init(&as->frames);
    pgcdc__buf_init(&as->key);
    r = pgcdc__amqp_parse_uri(uri, &as->uri, why, sizeof(why));
    if (r == PGCDC_OK)
        r = read_properties(as, why, sizeof(why));
    if (r != PGCDC_OK)
        return pgcdc_sink_fail(sink, r, "sink \"%s\": %s", sink->shown, why);
    /* Refused now (credentials, vhost, exchange) is said at once; unreachable is retried later. */
    r = try_connect(as, why, sizeof(why));
    if (r == REFUSED)
        return refused(as, why);
    if (r != PGCDC_OK) {
        pgcdc__sink_count_error(sink);
        pgcdc_sink_log(sink, PGCDC_LOG_WARNING, "sink \"%s\": %s (retrying)", sink->shown, why);
        as->down = 1;
    }
    return PGCDC_OK;
}

static void amqp_close(pgcdc_sink *sink)
{
    pgcdc__amqp *as = pgcdc_sink_state(sink);

    if (as == NULL)
        return;
    /* What is still queued was never acknowledged: a later run publishes it again. */
    if (as->conn != NULL) {
        amqp_channel_close(as->conn, CHANNEL, AMQP_REPLY_SUCCESS);
        amqp_connection_close(as->conn, AMQP_REPLY_SUCCESS);
        amqp_destroy_connection(as->conn);
    }
    pgcdc__buf_free(&as->frames);
    pgcdc__buf_free(&as->key);
    free(as->q);
    pgcdc__amqp_free_uri(&as->uri);
    free(as->vhost);
    free(as->key_tmpl);
    free(as->prefix);
    free(as);
}

const pgcdc_sink_ops pgcdc__amqp_sink = {
    .abi = PGCDC_SINK_ABI,
    .kind = "amqp",
    .open = amqp_open,
    .write = amqp_write,
    .flush = amqp_flush,
    .close = amqp_close,
    .properties = amqp_properties,
    .nproperties = NPROPERTIES,
    .check_uri = pgcdc__amqp_check_uri,
};
