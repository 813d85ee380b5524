/*
 * The redis sink: each change an entry (field "event", the event's line) of
 * a stream named by a template, added with XADD under the ID
 * <commit_lsn>-<seq>, so that Redis itself refuses an entry sent again after
 * a crash.  Commands are pipelined on the worker's thread; a transaction is
 * acknowledged once every reply before its commit came back.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "base/clock.h"
#include "base/num.h"
#include "sink/redis.h"
#include "sink/sink.h"
#include "sink/template.h"

#define NOTHING_LOST "nothing after the last confirmed position is lost"
#define DEFAULT_TEMPLATE "${prefix}.${schema}.${table}"
/* The reply of Redis to an ID not above the stream's last one: this entry is there already. */
#define ALREADY_THERE "equal or smaller than the target stream top item"
#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 2000

static const pgcdc_property redis_properties[] = {
    {"key_prefix", PGCDC_PROP_STRING, "pgcdc", 0, 0, NULL,
     "${prefix} in the key template (the default stream key is ${prefix}.${schema}.${table})"},
    {"maxlen", PGCDC_PROP_INT, "0", 0, 1000000000000LL, NULL,
     "trim each stream to about this many entries (XADD MAXLEN ~); 0: never trim"},
    {"password", PGCDC_PROP_STRING, "", 0, 0, NULL,
     "password sent with AUTH after connecting (empty: none)"},
    {"max_inflight", PGCDC_PROP_SIZE, "16MB", 1024, 1LL << 40, NULL,
     "commands sent and not yet answered (kept to send again after a lost connection); reading "
     "the stream waits beyond it"},
    {"flush_interval", PGCDC_PROP_DURATION, "100ms", 0, 60000, NULL,
     "how long commands wait to be sent while the stream keeps the worker busy"},
    {"timeout", PGCDC_PROP_DURATION, "10s", 100, 600000, NULL,
     "connecting, and waiting for a reply; past it the connection counts as lost"},
    {"max_elapsed", PGCDC_PROP_DURATION, "5m", 1000, 86400000, NULL,
     "how long a lost connection is retried before the sink fails"},
};

#define NPROPERTIES (int)(sizeof(redis_properties) / sizeof(redis_properties[0]))

/* A command waiting for its reply, or a commit waiting for the replies before it. */
typedef struct rcmd {
    uint64_t token; /* a commit's; 0 for an XADD */
    size_t start;   /* the XADD's bytes in cmds */
    size_t end;
    size_t ev; /* its event's bytes in cmds */
    size_t evlen;
} rcmd;

typedef struct pgcdc__redis {
    pgcdc_sink *sink;
    redisContext *ctx; /* NULL: not connected */
    char *host;
    int port;
    char *key_tmpl;
    char *prefix;
    char *password;
    long long maxlen;
    long long max_inflight;
    long long flush_ms;
    long long timeout_ms;
    long long max_elapsed_ms;
    int dead_letter;
    pgcdc__buf cmds; /* the pending commands' bytes, as sent */
    rcmd *q;
    size_t nq;
    size_t capq;
    size_t sent;       /* commands before it are in the connection's buffer */
    size_t done;       /* commands before it were answered */
    int64_t oldest_us; /* when the first command not sent was queued */
    pgcdc__buf key;    /* scratch: the expanded stream key */
    /* A schema change waiting for the entry of the change after it (queue_change). */
    int holding;
    pgcdc__buf held;
    pgcdc__buf held_key;
    char held_id[48];
    size_t held_idlen;
    /* READ rows of one snapshot position get increasing IDs of their own (see below). */
    uint64_t snap_lsn;
    uint64_t snap_next;
    uint64_t replayed; /* entries Redis had already, in this drain */
    int down;          /* a lost connection was logged */
    int failed;        /* sticky: a refusal that is not the duplicate one */
    char failure[PGCDC__MSG_SIZE];
} pgcdc__redis;

/* ---- the URI: redis://HOST[:PORT][/TEMPLATE] ---- */

/* Characters of a stream key's template: any visible one but those that end a URI's path. */
static int key_char(int ch)
{
    return isgraph(ch) && ch != '?' && ch != '#';
}

static int redis_check_uri(const char *uri, char *err, size_t errlen)
{
    const char *host;
    const char *end;
    long port = 6379;

    if (strncmp(uri, "redis://", 8) != 0) {
        snprintf(err, errlen, "not a redis URI (use redis://HOST:PORT/KEY_TEMPLATE)");
        return PGCDC_ERR_INVALID;
    }
    host = uri + 8;
    end = host + strcspn(host, "/");
    if (pgcdc__sink_host_port(host, end, "(use redis://HOST:PORT/KEY_TEMPLATE)", &port, NULL, err,
                              errlen) != PGCDC_OK)
        return PGCDC_ERR_INVALID;
    if (*end == '/')
        return pgcdc__template_check(end + 1, "stream key", key_char,
                                     "in the stream key (no spaces, '?' or '#')", NULL, err,
                                     errlen);
    return PGCDC_OK;
}

/* Splits a checked URI into host, port and key template. */
static int split_uri(pgcdc__redis *rs, const char *uri)
{
    const char *host = uri + 8;
    const char *end = host + strcspn(host, "/");
    const char *colon = memchr(host, ':', (size_t)(end - host));

    rs->host = strndup(host, (size_t)((colon != NULL ? colon : end) - host));
    rs->port = colon != NULL ? atoi(colon + 1) : 6379;
    rs->key_tmpl = strdup(*end == '/' && end[1] != '\0' ? end + 1 : DEFAULT_TEMPLATE);
    return rs->host != NULL && rs->key_tmpl != NULL ? PGCDC_OK : PGCDC_ERR_NOMEM;
}

/* ---- the connection ---- */

static void disconnect(pgcdc__redis *rs)
{
    if (rs->ctx != NULL)
        redisFree(rs->ctx);
    rs->ctx = NULL;
    /* What was sent and not answered goes again on the next connection. */
    rs->sent = rs->done;
}

static struct timeval tv_ms(long long ms)
{
    struct timeval tv;

    tv.tv_sec = (time_t)(ms / 1000);
    tv.tv_usec = (suseconds_t)(ms % 1000 * 1000);
    return tv;
}

/*
 * One command on a fresh connection: PGCDC_OK, 1 when Redis is not ready
 * yet (loading its data after a restart), or -1 (why in why).
 */
static int hello(redisContext *ctx, const char *cmd, const char *arg, char *why, size_t size)
{
    redisReply *reply =
        arg != NULL ? redisCommand(ctx, "%s %s", cmd, arg) : redisCommand(ctx, "%s", cmd);
    int r = PGCDC_OK;

    if (reply == NULL) {
        snprintf(why, size, "%s", ctx->errstr);
        return -1;
    }
    if (reply->type == REDIS_REPLY_ERROR) {
        r = strncmp(reply->str, "LOADING", 7) == 0 ? 1 : -1;
        snprintf(why, size, "%s: %s", cmd, reply->str);
    }
    freeReplyObject(reply);
    return r;
}

/* A connection Redis answers on, ready to take writes (not loading): PGCDC_OK or -1 with why. */
static int try_connect(pgcdc__redis *rs, char *why, size_t size)
{
    redisContext *ctx = redisConnectWithTimeout(rs->host, rs->port, tv_ms(rs->timeout_ms));
    int r;

    if (ctx == NULL) {
        snprintf(why, size, "out of memory");
        return -1;
    }
    if (ctx->err != 0) {
        snprintf(why, size, "%s", ctx->errstr);
        redisFree(ctx);
        return -1;
    }
    redisSetTimeout(ctx, tv_ms(rs->timeout_ms));
    redisEnableKeepAlive(ctx);
    r = rs->password[0] != '\0' ? hello(ctx, "AUTH", rs->password, why, size) : PGCDC_OK;
    /* PING is refused while Redis loads its data: writes then would be too. */
    if (r == PGCDC_OK)
        r = hello(ctx, "PING", NULL, why, size);
    if (r != PGCDC_OK) {
        redisFree(ctx);
        return -1;
    }
    rs->ctx = ctx;
    return PGCDC_OK;
}

/*
 * Connects, retrying with backoff for up to max_elapsed: PGCDC_OK, a
 * failure, or PGCDC_ERR_STOPPED when the worker is asked to stop meanwhile.
 */
static int connect_retrying(pgcdc__redis *rs)
{
    int64_t start = pgcdc__now_us();
    int backoff = BACKOFF_MIN_MS;
    char why[512];

    for (;;) {
        if (try_connect(rs, why, sizeof(why)) == PGCDC_OK)
            break;
        pgcdc__sink_count_error(rs->sink);
        if (!rs->down) {
            pgcdc_sink_log(rs->sink, PGCDC_LOG_WARNING, "sink \"%s\": %s (retrying)",
                           rs->sink->shown, why);
            rs->down = 1;
        }
        if ((pgcdc__now_us() - start) / 1000 >= rs->max_elapsed_ms)
            return pgcdc_sink_fail(rs->sink, PGCDC_ERR_SINK,
                                   "could not reach redis at \"%s:%d\" for %lld ms: %s "
                                   "(" NOTHING_LOST ")",
                                   rs->host, rs->port, rs->max_elapsed_ms, why);
        if (pgcdc__sink_pause(rs->sink, backoff))
            return pgcdc_sink_fail(rs->sink, PGCDC_ERR_STOPPED,
                                   "stopped while sink \"%s\" was reconnecting", rs->sink->shown);
        backoff = backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : backoff * 2;
    }
    if (rs->down) {
        pgcdc_sink_log(rs->sink, PGCDC_LOG_INFO, "sink \"%s\": delivering again", rs->sink->shown);
        rs->down = 0;
    }
    return PGCDC_OK;
}

/* ---- replies ---- */

/* The sink failed for good: every later write or flush says so. */
static int fail_for_good(pgcdc__redis *rs, const char *key, size_t klen, const char *msg)
{
    char line[PGCDC__MSG_SIZE];

    snprintf(line, sizeof(line), "could not add to stream \"%.*s\": %s", (int)klen, key, msg);
    pgcdc__one_line(rs->failure, sizeof(rs->failure) - sizeof(" (" NOTHING_LOST ")"), line);
    strcat(rs->failure, " (" NOTHING_LOST ")");
    rs->failed = 1;
    return pgcdc_sink_fail(rs->sink, PGCDC_ERR_SINK, "%s", rs->failure);
}

/*
 * A failure in the middle of the replies (a reply taken, the ones after it
 * not): the sink cannot go on from there, and says so from now on.
 */
static int broken(pgcdc__redis *rs, int r)
{
    pgcdc__one_line(rs->failure, sizeof(rs->failure), pgcdc__errmsg(rs->sink->ctx));
    rs->failed = 1;
    if (rs->ctx != NULL)
        redisFree(rs->ctx);
    rs->ctx = NULL;
    return r;
}

/* The stream key of a queued XADD (its third RESP element). */
static const char *cmd_key(const pgcdc__redis *rs, const rcmd *c, size_t *len)
{
    const char *p = (const char *)rs->cmds.data + c->start;

    /* "*N\r\n$4\r\nXADD\r\n$<len>\r\n<key>" */
    p = strstr(p, "XADD\r\n$") + 7;
    *len = (size_t)strtoul(p, NULL, 10);
    return strstr(p, "\r\n") + 2;
}

/*
 * The reply to a queued XADD: PGCDC_OK (added, or there already), 1 for a
 * refusal that may pass (the connection is dropped and the command sent
 * again), or a failure.
 */
static int take_reply(pgcdc__redis *rs, const rcmd *c, const redisReply *reply)
{
    const char *key;
    size_t klen;
    char why[PGCDC__MSG_SIZE];

    if (reply->type != REDIS_REPLY_ERROR)
        return PGCDC_OK;
    /* Sent again after a lost connection or a restart: Redis has it. */
    if (strstr(reply->str, ALREADY_THERE) != NULL) {
        rs->replayed++;
        return PGCDC_OK;
    }
    pgcdc__sink_count_error(rs->sink);
    if (strncmp(reply->str, "LOADING", 7) == 0 || strncmp(reply->str, "BUSY", 4) == 0 ||
        strncmp(reply->str, "TRYAGAIN", 8) == 0)
        return 1;
    key = cmd_key(rs, c, &klen);
    if (rs->dead_letter) {
        snprintf(why, sizeof(why), "could not add to stream \"%.*s\": %s", (int)klen, key,
                 reply->str);
        return pgcdc__sink_dead_letter(rs->sink, (const char *)rs->cmds.data + c->ev, c->evlen,
                                       why);
    }
    return fail_for_good(rs, key, klen, reply->str);
}

/* Everything queued is answered: the memory is used again. */
static void reset_queue(pgcdc__redis *rs)
{
    rs->nq = 0;
    rs->sent = 0;
    rs->done = 0;
    pgcdc__buf_reset(&rs->cmds);
    pgcdc__sink_show_inflight(rs->sink, 0);
}

/*
 * Sends every queued command and reads every reply, acknowledging each
 * commit whose commands were all answered; a lost connection is made again
 * and what it had not answered is sent again.  PGCDC_OK or a failure.
 */
static int drain(pgcdc__redis *rs)
{
    int r = PGCDC_OK;

    while (rs->done < rs->nq) {
        if (rs->ctx == NULL) {
            r = connect_retrying(rs);
            if (r != PGCDC_OK)
                return r;
        }
        for (; rs->sent < rs->nq; rs->sent++) {
            const rcmd *c = &rs->q[rs->sent];

            if (c->token == 0 &&
                redisAppendFormattedCommand(rs->ctx, (const char *)rs->cmds.data + c->start,
                                            c->end - c->start) != REDIS_OK)
                return broken(rs, pgcdc_sink_fail(rs->sink, PGCDC_ERR_NOMEM, "out of memory"));
        }
        while (rs->done < rs->nq) {
            const rcmd *c = &rs->q[rs->done];
            void *reply = NULL;

            if (c->token != 0) {
                pgcdc_sink_ack(rs->sink, c->token);
                rs->done++;
                continue;
            }
            if (redisGetReply(rs->ctx, &reply) != REDIS_OK) {
                pgcdc__sink_count_error(rs->sink);
                pgcdc_sink_log(rs->sink, PGCDC_LOG_WARNING,
                               "sink \"%s\": connection lost: %s (retrying)", rs->sink->shown,
                               rs->ctx->errstr);
                rs->down = 1;
                disconnect(rs);
                break;
            }
            r = take_reply(rs, c, reply);
            freeReplyObject(reply);
            if (r == 1) {
                rs->down = 1;
                disconnect(rs);
                break;
            }
            if (r != PGCDC_OK)
                return rs->failed ? r : broken(rs, r);
            rs->done++;
        }
    }
    if (rs->replayed > 0)
        pgcdc_sink_log(rs->sink, PGCDC_LOG_INFO,
                       "sink \"%s\": %llu entries were in their streams already (sent again)",
                       rs->sink->shown, (unsigned long long)rs->replayed);
    rs->replayed = 0;
    reset_queue(rs);
    return PGCDC_OK;
}

/* ---- the worker's side ---- */

static void put_bulk(pgcdc__buf *b, const char *s, size_t n)
{
    char num[24];

    pgcdc__buf_u8(b, '$');
    pgcdc__buf_put(b, num, (size_t)(pgcdc__put_u64(num, n) - num));
    pgcdc__buf_lit(b, "\r\n");
    pgcdc__buf_put(b, s, n);
    pgcdc__buf_lit(b, "\r\n");
}

static rcmd *queue_slot(pgcdc__redis *rs)
{
    if (rs->nq == rs->capq) {
        size_t cap = rs->capq > 0 ? rs->capq * 2 : 256;
        rcmd *q = realloc(rs->q, cap * sizeof(*q));

        if (q == NULL)
            return NULL;
        rs->q = q;
        rs->capq = cap;
    }
    if (rs->sent == rs->nq && rs->nq == rs->done)
        rs->oldest_us = pgcdc__now_us();
    return &rs->q[rs->nq];
}

/*
 * The entry's ID: the commit LSN and the change's ordinal.  The READ rows
 * of an initial snapshot are transactions of one chunk each, all at the
 * slot's consistent point with ordinals from 0: they are numbered on across
 * chunks instead, so that every ID stays unique and above the one before.
 */
static uint64_t entry_seq(pgcdc__redis *rs, const pgcdc_change *c)
{
    const pgcdc_txn *txn = pgcdc_change_txn(c);

    if (pgcdc_txn_snapshot(txn) == PGCDC_SNAPSHOT_NONE)
        return pgcdc_change_seq(c);
    if (pgcdc_txn_commit_lsn(txn) != rs->snap_lsn) {
        rs->snap_lsn = pgcdc_txn_commit_lsn(txn);
        rs->snap_next = 0;
    }
    return rs->snap_next++;
}

/*
 * XADD key [MAXLEN ~ n] id [schema_change <schema>] [event <data>]: one
 * entry, with either field or both.
 */
static int queue_xadd(pgcdc__redis *rs, const pgcdc__buf *key, const char *id, size_t idlen,
                      const char *schema, size_t slen, const char *data, size_t len)
{
    int nargs = 3 + (rs->maxlen > 0 ? 3 : 0) + (schema != NULL ? 2 : 0) + (data != NULL ? 2 : 0);
    char num[24];
    rcmd *q = queue_slot(rs);

    if (q == NULL)
        return pgcdc_sink_fail(rs->sink, PGCDC_ERR_NOMEM, "out of memory");
    q->token = 0;
    q->start = rs->cmds.len;
    pgcdc__buf_u8(&rs->cmds, '*');
    pgcdc__buf_put(&rs->cmds, num, (size_t)(pgcdc__put_u64(num, (uint64_t)nargs) - num));
    pgcdc__buf_lit(&rs->cmds, "\r\n$4\r\nXADD\r\n");
    put_bulk(&rs->cmds, (const char *)key->data, key->len);
    if (rs->maxlen > 0) {
        pgcdc__buf_lit(&rs->cmds, "$6\r\nMAXLEN\r\n$1\r\n~\r\n");
        put_bulk(&rs->cmds, num, (size_t)(pgcdc__put_u64(num, (uint64_t)rs->maxlen) - num));
    }
    put_bulk(&rs->cmds, id, idlen);
    if (schema != NULL) {
        pgcdc__buf_lit(&rs->cmds, "$13\r\nschema_change\r\n");
        put_bulk(&rs->cmds, schema, slen);
    }
    if (data != NULL) {
        pgcdc__buf_lit(&rs->cmds, "$5\r\nevent\r\n");
        put_bulk(&rs->cmds, data, len);
    }
    if (rs->cmds.oom) {
        rs->cmds.len = q->start;
        rs->cmds.oom = 0;
        return pgcdc_sink_fail(rs->sink, PGCDC_ERR_NOMEM, "out of memory");
    }
    q->end = rs->cmds.len;
    /* What goes to the dead letters should Redis refuse the entry: its last field. */
    q->evlen = data != NULL ? len : slen;
    q->ev = q->end - 2 - q->evlen;
    rs->nq++;
    pgcdc__sink_show_inflight(rs->sink, rs->cmds.len);
    return PGCDC_HANDLED;
}

/* A schema change held for the entry of the change after it goes alone, with its own ID. */
static int release_schema(pgcdc__redis *rs)
{
    if (!rs->holding)
        return PGCDC_HANDLED;
    rs->holding = 0;
    return queue_xadd(rs, &rs->held_key, rs->held_id, rs->held_idlen, (const char *)rs->held.data,
                      rs->held.len, NULL, 0);
}

/*
 * A change's entry, ID <commit_lsn>-<seq>.  A schema change has the seq of
 * the change after it, which Redis would refuse as a second entry of that
 * ID: it is held, and goes in that change's entry as its schema_change
 * field, or alone should another event come first (that change filtered
 * out: its ID is free).
 */
static int queue_change(pgcdc__redis *rs, const pgcdc_sink_event *ev)
{
    const pgcdc_change *c = pgcdc_sink_event_change(ev);
    const char *data;
    size_t len;
    char id[48];
    size_t idlen;
    int r = pgcdc_sink_event_data(ev, &data, &len);

    if (r != PGCDC_OK)
        return pgcdc_sink_fail(rs->sink, r, "out of memory");
    while (len > 0 && data[len - 1] == '\n')
        len--;
    if (len == 0)
        return PGCDC_HANDLED;
    if (pgcdc__template_expand(&rs->key, ev->topic != NULL ? ev->topic : rs->key_tmpl,
                               pgcdc_change_schema(c), pgcdc_change_table(c), rs->prefix,
                               NULL) != PGCDC_OK)
        return pgcdc_sink_fail(rs->sink, PGCDC_ERR_NOMEM, "out of memory");
    idlen = (size_t)(pgcdc__put_u64(id, pgcdc_change_commit_lsn(c)) - id);
    id[idlen++] = '-';
    idlen = (size_t)(pgcdc__put_u64(id + idlen, entry_seq(rs, c)) - id);
    if (rs->holding && (idlen != rs->held_idlen || memcmp(id, rs->held_id, idlen) != 0 ||
                        rs->key.len != rs->held_key.len ||
                        memcmp(rs->key.data, rs->held_key.data, rs->key.len) != 0)) {
        r = release_schema(rs);
        if (r < 0)
            return r;
    }
    if (pgcdc_change_op(c) == PGCDC_OP_SCHEMA) {
        pgcdc__buf_reset(&rs->held);
        pgcdc__buf_reset(&rs->held_key);
        pgcdc__buf_put(&rs->held, data, len);
        pgcdc__buf_put(&rs->held_key, rs->key.data, rs->key.len);
        if (rs->held.oom || rs->held_key.oom)
            return pgcdc_sink_fail(rs->sink, PGCDC_ERR_NOMEM, "out of memory");
        memcpy(rs->held_id, id, idlen);
        rs->held_idlen = idlen;
        rs->holding = 1;
        return PGCDC_HANDLED;
    }
    r = queue_xadd(rs, &rs->key, id, idlen, rs->holding ? (const char *)rs->held.data : NULL,
                   rs->held.len, data, len);
    rs->holding = 0;
    return r;
}

/* A commit: acknowledged once every command queued before it was answered. */
static int queue_commit(pgcdc__redis *rs, const pgcdc_sink_event *ev)
{
    rcmd *q;
    int r = release_schema(rs);

    if (r < 0)
        return r;
    if (rs->nq == rs->done)
        return PGCDC_HANDLED;
    q = queue_slot(rs);
    if (q == NULL)
        return pgcdc_sink_fail(rs->sink, PGCDC_ERR_NOMEM, "out of memory");
    memset(q, 0, sizeof(*q));
    q->token = pgcdc_sink_event_token(ev);
    rs->nq++;
    return PGCDC_DEFER;
}

static int redis_write(pgcdc_sink *sink, const pgcdc_sink_event *ev)
{
    pgcdc__redis *rs = pgcdc_sink_state(sink);
    int r = PGCDC_HANDLED;

    if (rs->failed)
        return pgcdc_sink_fail(sink, PGCDC_ERR_SINK, "%s", rs->failure);
    switch (pgcdc_sink_event_kind(ev)) {
    case PGCDC_EVENT_CHANGE:
        r = queue_change(rs, ev);
        break;
    case PGCDC_EVENT_COMMIT:
        r = queue_commit(rs, ev);
        break;
    default:
        return PGCDC_HANDLED;
    }
    if (r < 0)
        return r;
    /* Full, or the first command not sent waited long enough: send, and read the replies. */
    if (rs->cmds.len >= (size_t)rs->max_inflight ||
        (r == PGCDC_DEFER && pgcdc__now_us() - rs->oldest_us >= rs->flush_ms * 1000)) {
        int d = drain(rs);

        if (d != PGCDC_OK)
            return d;
    }
    return r;
}

static int redis_flush(pgcdc_sink *sink)
{
    pgcdc__redis *rs = pgcdc_sink_state(sink);

    if (rs->failed)
        return pgcdc_sink_fail(sink, PGCDC_ERR_SINK, "%s", rs->failure);
    return rs->nq > rs->done ? drain(rs) : PGCDC_OK;
}

/* ---- open and close ---- */

static int redis_open(pgcdc_sink *sink, const char *uri)
{
    pgcdc__redis *rs = calloc(1, sizeof(*rs));
    char why[512];

    if (rs == NULL)
        return pgcdc_sink_fail(sink, PGCDC_ERR_NOMEM, "out of memory");
    pgcdc_sink_set_state(sink, rs);
    rs->sink = sink;
    pgcdc__buf_init(&rs->cmds);
    pgcdc__buf_init(&rs->key);
    pgcdc__buf_init(&rs->held);
    pgcdc__buf_init(&rs->held_key);
    if (redis_check_uri(uri, why, sizeof(why)) != PGCDC_OK)
        return pgcdc_sink_fail(sink, PGCDC_ERR_INVALID, "sink \"%s\": %s", sink->shown, why);
    rs->prefix = strdup(pgcdc_sink_property(sink, "key_prefix"));
    rs->password = strdup(pgcdc_sink_property(sink, "password"));
    if (split_uri(rs, uri) != PGCDC_OK || rs->prefix == NULL || rs->password == NULL)
        return pgcdc_sink_fail(sink, PGCDC_ERR_NOMEM, "out of memory");
    /* The property table checked the values. */
    pgcdc__sink_prop_num(sink, "maxlen", &rs->maxlen);
    pgcdc__sink_prop_num(sink, "max_inflight", &rs->max_inflight);
    pgcdc__sink_prop_num(sink, "flush_interval", &rs->flush_ms);
    pgcdc__sink_prop_num(sink, "timeout", &rs->timeout_ms);
    pgcdc__sink_prop_num(sink, "max_elapsed", &rs->max_elapsed_ms);
    rs->dead_letter = pgcdc__sink_can_dead_letter(sink);
    /* Unreachable now is said at once; the first commands retry, as after a lost connection. */
    if (try_connect(rs, why, sizeof(why)) != PGCDC_OK) {
        pgcdc__sink_count_error(sink);
        pgcdc_sink_log(sink, PGCDC_LOG_WARNING, "sink \"%s\": %s (retrying)", sink->shown, why);
        rs->down = 1;
    }
    return PGCDC_OK;
}

static void redis_close(pgcdc_sink *sink)
{
    pgcdc__redis *rs = pgcdc_sink_state(sink);

    if (rs == NULL)
        return;
    /* What is still queued was never acknowledged: a later run sends it again. */
    if (rs->ctx != NULL)
        redisFree(rs->ctx);
    pgcdc__buf_free(&rs->cmds);
    pgcdc__buf_free(&rs->key);
    pgcdc__buf_free(&rs->held);
    pgcdc__buf_free(&rs->held_key);
    free(rs->q);
    free(rs->host);
    free(rs->key_tmpl);
    free(rs->prefix);
    free(rs->password);
    free(rs);
}

const pgcdc_sink_ops pgcdc__redis_sink = {
    .abi = PGCDC_SINK_ABI,
    .kind = "redis",
    .open = redis_open,
    .write = redis_write,
    .flush = redis_flush,
    .close = redis_close,
    .properties = redis_properties,
    .nproperties = NPROPERTIES,
    .check_uri = redis_check_uri,
};
