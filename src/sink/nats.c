/*
 * The nats sink: each change a message on a JetStream subject named by a
 * template, published asynchronously with the header Nats-Msg-Id
 * "<commit_lsn>:<seq>" (the LSN as X/X text, as in the events), so that the
 * stream's duplicate window drops a message sent again.  A transaction is
 * acknowledged once every PubAck of its messages came back (a duplicate
 * one too: the stream has it).  libnats reconnects by itself; a PubAck
 * lost with a connection times out, and then every message not
 * acknowledged is sent again, in order, from the first one (go-back-N):
 * the stream keeps commit order and the duplicate window drops what it had.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nats/nats.h>

#include "base/clock.h"
#include "base/num.h"
#include "sink/nats.h"
#include "sink/nats_int.h"
#include "sink/sink.h"
#include "sink/template.h"

#define NOTHING_LOST "nothing after the last confirmed position is lost"
#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 2000
#define WAIT_STEP_MS 50

static const pgcdc_property nats_properties[] = {
    {"subject_prefix", PGCDC_PROP_STRING, "pgcdc", 0, 0, NULL,
     "${prefix} in the subject template (the default subject is ${prefix}.${schema}.${table})"},
    {"stream", PGCDC_PROP_STRING, "", 0, 0, NULL,
     "the JetStream stream that must take the messages (empty: whichever takes the subject)"},
    {"create_stream", PGCDC_PROP_BOOL, "false", 0, 0, NULL,
     "create the stream (file storage, subjects ${prefix}.>) when it does not exist"},
    {"duplicate_window", PGCDC_PROP_DURATION, "2m", 1000, 7 * 86400000LL, NULL,
     "the duplicate window of a stream the sink creates (a message sent again after it is "
     "stored twice)"},
    {"max_inflight", PGCDC_PROP_SIZE, "16MB", 1024, 1LL << 40, NULL,
     "messages published and not yet acknowledged (kept to send again); reading the stream "
     "waits beyond it"},
    {"timeout", PGCDC_PROP_DURATION, "10s", 100, 600000, NULL,
     "connecting, and waiting for a PubAck; past it the message is sent again"},
    {"max_elapsed", PGCDC_PROP_DURATION, "5m", 1000, 86400000, NULL,
     "how long delivery is retried without progress before the sink fails"},
    {"user", PGCDC_PROP_STRING, "", 0, 0, NULL, "user name to connect with (empty: none)"},
    {"password", PGCDC_PROP_STRING, "", 0, 0, NULL, "password of the user (never shown)"},
    {"token", PGCDC_PROP_STRING, "", 0, 0, NULL,
     "authentication token to connect with (never shown; empty: none)"},
};

#define NPROPERTIES (int)(sizeof(nats_properties) / sizeof(nats_properties[0]))

/* ---- sending ---- */

static const char *msg_bytes(const pgcdc__nats *ns, const nmsg *e)
{
    return (const char *)ns->bytes.data + e->off;
}

/* Hands message i to libnats: 0, or -1 when it stays to be sent again (lost is set). */
static int publish(pgcdc__nats *ns, size_t i)
{
    const nmsg *e = &ns->q[i];
    const char *subject = msg_bytes(ns, e);
    const char *id = subject + e->sublen + 1;
    const char *data = id + e->idlen + 1;
    natsMsg *m = NULL;
    jsPubOptions po;
    natsStatus s = natsMsg_Create(&m, subject, NULL, data, (int)e->len);

    jsPubOptions_Init(&po);
    po.MsgId = id;
    po.MaxWait = ns->timeout_ms;
    if (ns->stream[0] != '\0')
        po.ExpectStream = ns->stream;
    pthread_mutex_lock(&ns->mu);
    /* Before it goes: its PubAck may come back before js_PublishMsgAsync returns. */
    ns->q[i].msg = m;
    ns->q[i].state = NM_SENT;
    pthread_mutex_unlock(&ns->mu);
    if (s == NATS_OK)
        s = js_PublishMsgAsync(ns->js, &m, &po);
    if (s != NATS_OK) {
        pthread_mutex_lock(&ns->mu);
        ns->q[i].msg = NULL;
        ns->q[i].state = NM_RETRY;
        ns->lost = 1;
        snprintf(ns->why, sizeof(ns->why), "could not publish: %s", pgcdc__nats_last_error(s));
        pthread_mutex_unlock(&ns->mu);
        natsMsg_Destroy(m);
        return -1;
    }
    return 0;
}

/* The sink failed for good: every later write or flush says so. */
static int fail_for_good(pgcdc__nats *ns, const char *subject, const char *msg)
{
    char line[PGCDC__MSG_SIZE];

    snprintf(line, sizeof(line), "could not publish to subject \"%s\": %s", subject, msg);
    pgcdc__one_line(ns->failure, sizeof(ns->failure) - sizeof(" (" NOTHING_LOST ")"), line);
    strcat(ns->failure, " (" NOTHING_LOST ")");
    ns->failed = 1;
    return pgcdc_sink_fail(ns->sink, PGCDC_ERR_SINK, "%s", ns->failure);
}

/* A refused message: to the dead-letter file, or the end of the sink. */
static int refused(pgcdc__nats *ns, const nmsg *e)
{
    const char *subject = msg_bytes(ns, e);
    char why[PGCDC__MSG_SIZE];

    pgcdc__sink_count_error(ns->sink);
    if (!ns->dead_letter)
        return fail_for_good(ns, subject, e->why != NULL ? e->why : "out of memory");
    snprintf(why, sizeof(why), "could not publish to subject \"%s\": %s", subject,
             e->why != NULL ? e->why : "out of memory");
    return pgcdc__sink_dead_letter(ns->sink, subject + e->sublen + e->idlen + 2, e->len, why);
}

/* Drops the acknowledged entries from the front (all of them, or when they are half). */
static void compact(pgcdc__nats *ns)
{
    size_t off;

    if (ns->done == ns->nq) {
        ns->nq = ns->done = ns->hint = 0;
        pgcdc__buf_reset(&ns->bytes);
        return;
    }
    if (ns->done < 1024 || ns->done * 2 < ns->nq)
        return;
    off = ns->q[ns->done].off;
    memmove(ns->bytes.data, ns->bytes.data + off, ns->bytes.len - off);
    ns->bytes.len -= off;
    memmove(ns->q, ns->q + ns->done, (ns->nq - ns->done) * sizeof(*ns->q));
    ns->nq -= ns->done;
    ns->hint = ns->hint > ns->done ? ns->hint - ns->done : 0;
    ns->done = 0;
    for (size_t i = 0; i < ns->nq; i++)
        ns->q[i].off -= off;
}

/*
 * Takes the answered entries from the front: acknowledges each commit all
 * of whose messages were acknowledged.  PGCDC_OK or a failure.
 */
static int reap(pgcdc__nats *ns)
{
    int progress = 0;
    int r = PGCDC_OK;

    pthread_mutex_lock(&ns->mu);
    while (ns->done < ns->nq && r == PGCDC_OK) {
        nmsg *e = &ns->q[ns->done];

        if (e->token != 0) {
            pgcdc_sink_ack(ns->sink, e->token);
        } else if (e->state == NM_REFUSED) {
            r = refused(ns, e);
            if (r != PGCDC_OK)
                break;
        } else if (e->state != NM_ACKED) {
            break;
        }
        if (e->token == 0) {
            progress = 1;
            ns->inflight -= e->sublen + e->idlen + e->len + 2;
            free(e->why);
            e->why = NULL;
        }
        ns->done++;
    }
    compact(ns);
    pgcdc__sink_show_inflight(ns->sink, ns->inflight);
    if (progress && ns->duplicates > 0) {
        pgcdc_sink_log(ns->sink, PGCDC_LOG_INFO,
                       "sink \"%s\": %llu messages were in the stream already (sent again)",
                       ns->sink->shown, (unsigned long long)ns->duplicates);
        ns->duplicates = 0;
    }
    pthread_mutex_unlock(&ns->mu);
    if (progress && ns->down) {
        pgcdc_sink_log(ns->sink, PGCDC_LOG_INFO, "sink \"%s\": delivering again", ns->sink->shown);
        ns->down = 0;
    }
    if (progress)
        ns->backoff = 0;
    return r;
}

/* Waits up to ms for news from libnats's threads; PGCDC_ERR_STOPPED when asked to stop. */
static int wait_news(pgcdc__nats *ns, int ms)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_nsec += (long)ms * 1000000L;
    ts.tv_sec += ts.tv_nsec / 1000000000L;
    ts.tv_nsec %= 1000000000L;
    pthread_mutex_lock(&ns->mu);
    pthread_cond_timedwait(&ns->cond, &ns->mu, &ts);
    pthread_mutex_unlock(&ns->mu);
    if (pgcdc__sink_stopping(ns->sink))
        return pgcdc_sink_fail(ns->sink, PGCDC_ERR_STOPPED,
                               "stopped while sink \"%s\" was waiting for nats", ns->sink->shown);
    return PGCDC_OK;
}

/* 1 while a message sent is neither acknowledged nor given up (a timeout ends each). */
static int any_sent(pgcdc__nats *ns)
{
    int n = 0;

    pthread_mutex_lock(&ns->mu);
    for (size_t i = ns->done; i < ns->nq && !n; i++)
        n = ns->q[i].token == 0 && ns->q[i].state == NM_SENT;
    pthread_mutex_unlock(&ns->mu);
    return n;
}

/* The sink gave up after max_elapsed without progress? Then a failure. */
static int past_max_elapsed(pgcdc__nats *ns)
{
    char why[sizeof(ns->why)];

    if ((pgcdc__now_us() - ns->down_since) / 1000 < ns->max_elapsed_ms)
        return PGCDC_OK;
    pthread_mutex_lock(&ns->mu);
    memcpy(why, ns->why, sizeof(why));
    pthread_mutex_unlock(&ns->mu);
    return pgcdc_sink_fail(ns->sink, PGCDC_ERR_SINK,
                           "could not deliver to nats at \"%s:%d\" for %lld ms: %s (" NOTHING_LOST
                           ")",
                           ns->host, ns->port, ns->max_elapsed_ms, why);
}

/* 1 when entry i is a message to send (again). */
static int to_send(pgcdc__nats *ns, size_t i)
{
    int state;

    pthread_mutex_lock(&ns->mu);
    state = ns->q[i].token == 0 ? ns->q[i].state : NM_ACKED;
    pthread_mutex_unlock(&ns->mu);
    return state == NM_UNSENT || state == NM_RETRY;
}

/* Waits for message i's answer: 1 when acknowledged, PGCDC_OK when not, or a failure. */
static int wait_answer(pgcdc__nats *ns, size_t i)
{
    int state;
    int r;

    for (;;) {
        pthread_mutex_lock(&ns->mu);
        state = ns->q[i].state;
        pthread_mutex_unlock(&ns->mu);
        if (state == NM_ACKED)
            return 1;
        if (state != NM_SENT) {
            /* The ones after it wait for the next round. */
            pthread_mutex_lock(&ns->mu);
            ns->lost = 1;
            pthread_mutex_unlock(&ns->mu);
            return PGCDC_OK;
        }
        if ((r = wait_news(ns, WAIT_STEP_MS)) != PGCDC_OK)
            return r;
    }
}

/*
 * Something was lost (a connection, a PubAck) or never sent: once every
 * message in flight is answered or timed out and the server is back, sends
 * again each one not acknowledged, in order.  PGCDC_OK or a failure.
 */
static int recover(pgcdc__nats *ns)
{
    int r;

    if (!ns->down) {
        char why[sizeof(ns->why)];

        pthread_mutex_lock(&ns->mu);
        memcpy(why, ns->why, sizeof(why));
        pthread_mutex_unlock(&ns->mu);
        pgcdc__sink_count_error(ns->sink);
        pgcdc_sink_log(ns->sink, PGCDC_LOG_WARNING, "sink \"%s\": %s (retrying)", ns->sink->shown,
                       why);
        ns->down = 1;
        ns->down_since = pgcdc__now_us();
    }
    while (any_sent(ns)) {
        if ((r = wait_news(ns, WAIT_STEP_MS)) != PGCDC_OK)
            return r;
    }
    /* Back off between rounds that made no progress (a stream not there yet answers at once). */
    for (int64_t until = pgcdc__now_us() + ns->backoff * 1000LL; pgcdc__now_us() < until;) {
        if ((r = wait_news(ns, WAIT_STEP_MS)) != PGCDC_OK)
            return r;
    }
    ns->backoff = ns->backoff == 0 ? BACKOFF_MIN_MS : ns->backoff * 2;
    if (ns->backoff > BACKOFF_MAX_MS)
        ns->backoff = BACKOFF_MAX_MS;
    for (;;) {
        if ((r = past_max_elapsed(ns)) != PGCDC_OK)
            return r;
        if (natsConnection_Status(ns->nc) == NATS_CONN_STATUS_CONNECTED) {
            r = pgcdc__nats_ensure_stream(ns);
            if (r < 0)
                return r;
            if (r == PGCDC_OK)
                break;
        } else {
            const char *text = NULL;

            natsConnection_GetLastError(ns->nc, &text);
            pthread_mutex_lock(&ns->mu);
            snprintf(ns->why, sizeof(ns->why), "not connected: %s",
                     text != NULL && text[0] != '\0' ? text : "no answer");
            pthread_mutex_unlock(&ns->mu);
        }
        if ((r = wait_news(ns, WAIT_STEP_MS * 4)) != PGCDC_OK)
            return r;
    }
    pthread_mutex_lock(&ns->mu);
    ns->lost = 0;
    pthread_mutex_unlock(&ns->mu);
    /*
     * The first one alone until its PubAck: a stream still recovering after
     * a restart answers "no responders" to some and takes the next ones,
     * which would then stand before them.
     */
    for (size_t i = ns->done, probe = 1; i < ns->nq; i++) {
        if (!to_send(ns, i))
            continue;
        if (publish(ns, i) != 0)
            break;
        if (probe && (r = wait_answer(ns, i)) != 1)
            return r;
        probe = 0;
    }
    return PGCDC_OK;
}

/*
 * Takes what was answered and, when resend is set, sends again what must
 * be (waiting for the server if need be: the worker reads no further).
 */
static int tend(pgcdc__nats *ns, int resend)
{
    int r = reap(ns);
    int lost;

    if (r != PGCDC_OK || !resend)
        return r;
    pthread_mutex_lock(&ns->mu);
    /* Lost with nothing unacknowledged: the next message waits for the server. */
    lost = ns->lost && ns->done < ns->nq;
    pthread_mutex_unlock(&ns->mu);
    return lost ? recover(ns) : PGCDC_OK;
}

/* ---- the worker's side ---- */

static nmsg *queue_slot(pgcdc__nats *ns)
{
    if (ns->nq == ns->capq) {
        size_t cap = ns->capq > 0 ? ns->capq * 2 : 256;
        nmsg *q;

        pthread_mutex_lock(&ns->mu);
        q = realloc(ns->q, cap * sizeof(*q));
        if (q != NULL) {
            ns->q = q;
            ns->capq = cap;
        }
        pthread_mutex_unlock(&ns->mu);
        if (q == NULL)
            return NULL;
    }
    memset(&ns->q[ns->nq], 0, sizeof(ns->q[0]));
    return &ns->q[ns->nq];
}

/*
 * The message's position: the commit LSN and the change's ordinal.  The
 * READ rows of an initial snapshot are transactions of one chunk each, all
 * at the slot's consistent point with ordinals from 0: they are numbered on
 * across chunks instead, so that every Nats-Msg-Id stays unique.
 */
static uint64_t msg_seq(pgcdc__nats *ns, const pgcdc_change *c)
{
    const pgcdc_txn *txn = pgcdc_change_txn(c);

    if (pgcdc_txn_snapshot(txn) == PGCDC_SNAPSHOT_NONE)
        return pgcdc_change_seq(c);
    if (pgcdc_txn_commit_lsn(txn) != ns->snap_lsn) {
        ns->snap_lsn = pgcdc_txn_commit_lsn(txn);
        ns->snap_next = 0;
    }
    return ns->snap_next++;
}

static int queue_change(pgcdc__nats *ns, const pgcdc_sink_event *ev)
{
    const pgcdc_change *c = pgcdc_sink_event_change(ev);
    const char *data;
    size_t len;
    char id[64];
    size_t idlen;
    nmsg *q;
    int lost;
    int r = pgcdc_sink_event_data(ev, &data, &len);

    if (r != PGCDC_OK)
        return pgcdc_sink_fail(ns->sink, r, "out of memory");
    while (len > 0 && data[len - 1] == '\n')
        len--;
    if (len == 0)
        return PGCDC_HANDLED;
    if (pgcdc__template_expand(&ns->subj, ns->tmpl, pgcdc_change_schema(c), pgcdc_change_table(c),
                               ns->prefix, pgcdc__nats_name_char) != PGCDC_OK)
        return pgcdc_sink_fail(ns->sink, PGCDC_ERR_NOMEM, "out of memory");
    pgcdc_lsn_format(pgcdc_change_commit_lsn(c), id, sizeof(id) - 24);
    idlen = strlen(id);
    id[idlen++] = ':';
    idlen = (size_t)(pgcdc__put_u64(id + idlen, msg_seq(ns, c)) - id);
    q = queue_slot(ns);
    if (q == NULL)
        return pgcdc_sink_fail(ns->sink, PGCDC_ERR_NOMEM, "out of memory");
    q->off = ns->bytes.len;
    q->sublen = ns->subj.len;
    q->idlen = idlen;
    q->len = len;
    pgcdc__buf_put(&ns->bytes, ns->subj.data, ns->subj.len);
    pgcdc__buf_u8(&ns->bytes, 0);
    pgcdc__buf_put(&ns->bytes, id, idlen);
    pgcdc__buf_u8(&ns->bytes, 0);
    pgcdc__buf_put(&ns->bytes, data, len);
    pgcdc__buf_u8(&ns->bytes, 0);
    if (ns->bytes.oom) {
        ns->bytes.len = q->off;
        ns->bytes.oom = 0;
        return pgcdc_sink_fail(ns->sink, PGCDC_ERR_NOMEM, "out of memory");
    }
    pthread_mutex_lock(&ns->mu);
    ns->nq++;
    ns->inflight += q->sublen + idlen + len + 2;
    lost = ns->lost;
    pthread_mutex_unlock(&ns->mu);
    /* While something waits to be sent again, this one waits behind it (commit order). */
    if (!lost && natsConnection_Status(ns->nc) == NATS_CONN_STATUS_CONNECTED)
        publish(ns, ns->nq - 1);
    else {
        pthread_mutex_lock(&ns->mu);
        if (!ns->lost)
            snprintf(ns->why, sizeof(ns->why), "connection lost");
        ns->lost = 1;
        pthread_mutex_unlock(&ns->mu);
    }
    return PGCDC_HANDLED;
}

/* A commit: acknowledged once every message queued before it was. */
static int queue_commit(pgcdc__nats *ns, const pgcdc_sink_event *ev)
{
    nmsg *q;

    if (ns->nq == ns->done)
        return PGCDC_HANDLED;
    q = queue_slot(ns);
    if (q == NULL)
        return pgcdc_sink_fail(ns->sink, PGCDC_ERR_NOMEM, "out of memory");
    q->token = pgcdc_sink_event_token(ev);
    q->off = ns->bytes.len;
    q->state = NM_ACKED;
    pthread_mutex_lock(&ns->mu);
    ns->nq++;
    pthread_mutex_unlock(&ns->mu);
    return PGCDC_DEFER;
}

static int nats_write(pgcdc_sink *sink, const pgcdc_sink_event *ev)
{
    pgcdc__nats *ns = pgcdc_sink_state(sink);
    int r = PGCDC_HANDLED;
    int d;

    if (ns->failed)
        return pgcdc_sink_fail(sink, PGCDC_ERR_SINK, "%s", ns->failure);
    switch (pgcdc_sink_event_kind(ev)) {
    case PGCDC_EVENT_CHANGE:
        r = queue_change(ns, ev);
        break;
    case PGCDC_EVENT_COMMIT:
        r = queue_commit(ns, ev);
        break;
    default:
        return PGCDC_HANDLED;
    }
    if (r < 0)
        return r;
    /*
     * Full: the worker waits for PubAcks, sending again what must be (below
     * it, that waits for the flush when the worker is idle).
     */
    for (d = tend(ns, 0); d == PGCDC_OK && ns->inflight >= (size_t)ns->max_inflight;) {
        d = tend(ns, 1);
        if (d == PGCDC_OK && ns->inflight >= (size_t)ns->max_inflight)
            d = wait_news(ns, WAIT_STEP_MS);
    }
    return d != PGCDC_OK ? d : r;
}

static int nats_flush(pgcdc_sink *sink)
{
    pgcdc__nats *ns = pgcdc_sink_state(sink);

    if (ns->failed)
        return pgcdc_sink_fail(sink, PGCDC_ERR_SINK, "%s", ns->failure);
    return tend(ns, 1);
}

/* ---- open and close ---- */

static int read_properties(pgcdc__nats *ns)
{
    pgcdc_sink *sink = ns->sink;
    long long create = 0;

    ns->prefix = strdup(pgcdc_sink_property(sink, "subject_prefix"));
    ns->stream = strdup(pgcdc_sink_property(sink, "stream"));
    if (ns->prefix == NULL || ns->stream == NULL)
        return pgcdc_sink_fail(sink, PGCDC_ERR_NOMEM, "out of memory");
    /* The property table checked the values. */
    pgcdc__sink_prop_num(sink, "create_stream", &create);
    pgcdc__sink_prop_num(sink, "duplicate_window", &ns->dup_window_ms);
    pgcdc__sink_prop_num(sink, "max_inflight", &ns->max_inflight);
    pgcdc__sink_prop_num(sink, "timeout", &ns->timeout_ms);
    pgcdc__sink_prop_num(sink, "max_elapsed", &ns->max_elapsed_ms);
    ns->create_stream = create != 0;
    ns->dead_letter = pgcdc__sink_can_dead_letter(sink);
    if (pgcdc_sink_property(sink, "password")[0] != '\0' &&
        pgcdc_sink_property(sink, "user")[0] == '\0')
        return pgcdc_sink_fail(sink, PGCDC_ERR_INVALID,
                               "sink.nats.password needs sink.nats.user (or use sink.nats.token)");
    return PGCDC_OK;
}

static int nats_open(pgcdc_sink *sink, const char *uri)
{
    pgcdc__nats *ns = calloc(1, sizeof(*ns));
    char why[512];
    int r;

    if (ns == NULL)
        return pgcdc_sink_fail(sink, PGCDC_ERR_NOMEM, "out of memory");
    pgcdc_sink_set_state(sink, ns);
    ns->sink = sink;
    pthread_mutex_init(&ns->mu, NULL);
    pthread_cond_init(&ns->cond, NULL);
    pgcdc__buf_init(&ns->bytes);
    pgcdc__buf_init(&ns->subj);
    if (pgcdc__nats_check_uri(uri, why, sizeof(why)) != PGCDC_OK)
        return pgcdc_sink_fail(sink, PGCDC_ERR_INVALID, "sink \"%s\": %s", sink->shown, why);
    r = read_properties(ns);
    if (r == PGCDC_OK)
        r = pgcdc__nats_split_uri(ns, uri);
    if (r == PGCDC_OK)
        r = pgcdc__nats_setup_options(ns, pgcdc_sink_property(sink, "user"),
                                      pgcdc_sink_property(sink, "password"),
                                      pgcdc_sink_property(sink, "token"));
    if (r != PGCDC_OK)
        return r;
    r = pgcdc__nats_connect(ns);
    /* A stream to make is made now when the server is there; a refusal is said at once. */
    if (r == PGCDC_OK && !ns->lost && pgcdc__nats_ensure_stream(ns) < 0)
        return PGCDC_ERR_SINK;
    return r;
}

static void nats_close(pgcdc_sink *sink)
{
    pgcdc__nats *ns = pgcdc_sink_state(sink);

    if (ns == NULL)
        return;
    /* From now on libnats's callbacks find nothing; what is unacknowledged a later run sends. */
    pgcdc__nats_unlist(ns);
    if (ns->nc != NULL)
        natsConnection_Close(ns->nc);
    jsCtx_Destroy(ns->js);
    natsConnection_Destroy(ns->nc);
    natsOptions_Destroy(ns->opts);
    for (size_t i = 0; i < ns->nq; i++)
        free(ns->q[i].why);
    free(ns->q);
    pgcdc__buf_free(&ns->bytes);
    pgcdc__buf_free(&ns->subj);
    pthread_mutex_destroy(&ns->mu);
    pthread_cond_destroy(&ns->cond);
    free(ns->host);
    free(ns->tmpl);
    free(ns->prefix);
    free(ns->stream);
    free(ns);
}

const pgcdc_sink_ops pgcdc__nats_sink = {
    .abi = PGCDC_SINK_ABI,
    .kind = "nats",
    .open = nats_open,
    .write = nats_write,
    .flush = nats_flush,
    .close = nats_close,
    .properties = nats_properties,
    .nproperties = NPROPERTIES,
    .check_uri = pgcdc__nats_check_uri,
};
