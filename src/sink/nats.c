/*
 * The nats sink: each change a message on a JetStream subject named by a
 * template, published with the header Nats-Msg-Id "<commit_lsn>:<seq>" (the
 * LSN as X/X text, as in the events), so that the stream's duplicate window
 * drops a message sent again.  The HPUBs are encoded here into one buffer
 * and written in batches on the worker's thread, each with a reply subject
 * of the sink's inbox naming the message, so that its PubAck finds it.  A
 * transaction is acknowledged once every PubAck of its messages came back
 * (a duplicate one too: the stream has it).  After a lost connection, a
 * missing PubAck or no stream taking a message, every message not
 * acknowledged is sent again in order, the first one alone until its
 * PubAck: the stream keeps commit order and the duplicate window drops what
 * it had.
 */
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/num.h"
#include "sink/nats.h"
#include "sink/nats_int.h"
#include "sink/sink.h"
#include "sink/template.h"

#define NOTHING_LOST "nothing after the last confirmed position is lost"
#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 2000
/* Bytes queued before they are written even when the flush interval has not passed. */
#define SEND_BATCH (64 * 1024)
#define RETRY PGCDC__NATS_RETRY
#define REFUSED PGCDC__NATS_REFUSED

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
    {"flush_interval", PGCDC_PROP_DURATION, "100ms", 0, 60000, NULL,
     "how long messages wait to be written while the stream keeps the worker busy"},
    {"timeout", PGCDC_PROP_DURATION, "10s", 100, 600000, NULL,
     "connecting, and waiting for a PubAck; past it the connection counts as lost"},
    {"max_elapsed", PGCDC_PROP_DURATION, "5m", 1000, 86400000, NULL,
     "how long delivery is retried without progress before the sink fails"},
    {"user", PGCDC_PROP_STRING, "", 0, 0, NULL, "user name to connect with (empty: none)"},
    {"password", PGCDC_PROP_STRING, "", 0, 0, NULL, "password of the user (never shown)"},
    {"token", PGCDC_PROP_STRING, "", 0, 0, NULL,
     "authentication token to connect with (never shown; empty: none)"},
};

#define NPROPERTIES (int)(sizeof(nats_properties) / sizeof(nats_properties[0]))

/* ---- trouble ---- */

static int stopped(pgcdc__nats *ns)
{
    return pgcdc_sink_fail(ns->sink, PGCDC_ERR_STOPPED,
                           "stopped while sink \"%s\" was waiting for nats", ns->sink->shown);
}

/* Trouble (ns->why): said once until delivering again; the clock of max_elapsed starts. */
static void trouble(pgcdc__nats *ns)
{
    pgcdc__sink_count_error(ns->sink);
    if (!ns->down)
        pgcdc_sink_log(ns->sink, PGCDC_LOG_WARNING, "sink \"%s\": %s (retrying)", ns->sink->shown,
                       ns->why);
    ns->down = 1;
    if (ns->trouble_us == 0)
        ns->trouble_us = pgcdc__now_us();
}

/* The connection lost (ns->why): what it had not answered goes again on the next one. */
static int lost(pgcdc__nats *ns)
{
    trouble(ns);
    pgcdc__nats_disconnect(ns);
    return RETRY;
}

/* Trouble for longer than max_elapsed: a failure, else PGCDC_OK. */
static int past_max_elapsed(pgcdc__nats *ns)
{
    if (ns->trouble_us == 0 || (pgcdc__now_us() - ns->trouble_us) / 1000 < ns->max_elapsed_ms)
        return PGCDC_OK;
    return pgcdc_sink_fail(ns->sink, PGCDC_ERR_SINK,
                           "could not deliver to nats at \"%s:%d\" for %lld ms: %s (" NOTHING_LOST
                           ")",
                           ns->host, ns->port, ns->max_elapsed_ms, ns->why);
}

/* The sink failed for good: every later write or flush says so. */
static int fail_for_good(pgcdc__nats *ns, const char *line)
{
    pgcdc__one_line(ns->failure, sizeof(ns->failure) - sizeof(" (" NOTHING_LOST ")"), line);
    strcat(ns->failure, " (" NOTHING_LOST ")");
    ns->failed = 1;
    return pgcdc_sink_fail(ns->sink, PGCDC_ERR_SINK, "%s", ns->failure);
}

/* A connection and the stream: PGCDC_OK, RETRY (why set), or a failure. */
static int connect_once(pgcdc__nats *ns)
{
    char why[sizeof(ns->why)];
    char line[PGCDC__MSG_SIZE];
    int r = pgcdc__nats_try_connect(ns, why, sizeof(why));

    if (r == REFUSED) {
        snprintf(line, sizeof(line), "sink \"%s\": %s", ns->sink->shown, why);
        pgcdc__one_line(ns->failure, sizeof(ns->failure), line);
        ns->failed = 1;
        return pgcdc_sink_fail(ns->sink, PGCDC_ERR_SINK, "%s", ns->failure);
    }
    if (r != PGCDC_OK) {
        snprintf(ns->why, sizeof(ns->why), "%s", why);
        return r;
    }
    r = pgcdc__nats_ensure_stream(ns);
    if (r == RETRY)
        pgcdc__nats_disconnect(ns);
    return r;
}

/* Connects, retrying with backoff until max_elapsed: PGCDC_OK or a failure. */
static int connect_retrying(pgcdc__nats *ns)
{
    int backoff = BACKOFF_MIN_MS;
    int r;

    for (;;) {
        r = connect_once(ns);
        if (r != RETRY)
            break;
        trouble(ns);
        if ((r = past_max_elapsed(ns)) != PGCDC_OK)
            return r;
        if (pgcdc__sink_pause(ns->sink, backoff))
            return stopped(ns);
        backoff = backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : backoff * 2;
    }
    /* After trouble, the first message alone (see send_from). */
    if (r == PGCDC_OK && ns->trouble_us != 0)
        ns->probe = 1;
    return r;
}

/* ---- answers ---- */

void pgcdc__nats_answer(pgcdc__nats *ns, uint64_t index, int status, const char *json, size_t len)
{
    nmsg *e;
    char why[400];
    int dup;
    int code;

    if (index < ns->base + ns->done || index >= ns->base + ns->nq)
        return;
    e = &ns->q[index - ns->base];
    if (e->token != 0 || e->state != NM_SENT)
        return;
    ns->nsent--;
    if (status == 503) {
        /* Nobody took it: no stream (yet: one recovering after a restart, say). */
        e->state = NM_RETRY;
        ns->retry = 1;
        snprintf(ns->why, sizeof(ns->why),
                 "no stream takes subject \"%.*s\" (create one, or set "
                 "sink.nats.create_stream=true)",
                 (int)e->sublen, (const char *)ns->out.data + e->start + 5);
    } else if (pgcdc__nats_puback(json, len, &dup, &code, why, sizeof(why))) {
        e->state = NM_ACKED;
        ns->duplicates += (uint64_t)dup;
    } else {
        /* The stream refused it (a limit, an expectation): sending it again would not do. */
        e->state = NM_REFUSED;
        free(e->why);
        e->why = strdup(why);
    }
}

/* A refused message: to the dead-letter file, or the end of the sink. */
static int refused(pgcdc__nats *ns, const nmsg *e)
{
    const char *out = (const char *)ns->out.data;
    char why[PGCDC__MSG_SIZE];

    pgcdc__sink_count_error(ns->sink);
    snprintf(why, sizeof(why), "could not publish to subject \"%.*s\": %s", (int)e->sublen,
             out + e->start + 5, e->why != NULL ? e->why : "out of memory");
    if (!ns->dead_letter)
        return fail_for_good(ns, why);
    return pgcdc__sink_dead_letter(ns->sink, out + e->data, e->len, why);
}

/* Takes the answered entries from the front, acknowledging commits: PGCDC_OK or a failure. */
static int advance(pgcdc__nats *ns)
{
    size_t from = ns->done;
    int r = PGCDC_OK;

    while (ns->done < ns->sent && r == PGCDC_OK) {
        nmsg *e = &ns->q[ns->done];

        if (e->token != 0)
            pgcdc_sink_ack(ns->sink, e->token);
        else if (e->state == NM_REFUSED)
            r = refused(ns, e);
        else if (e->state != NM_ACKED)
            break;
        if (r == PGCDC_OK) {
            free(e->why);
            e->why = NULL;
            ns->done++;
        }
    }
    if (ns->done == from)
        return r;
    if (ns->duplicates > 0) {
        pgcdc_sink_log(ns->sink, PGCDC_LOG_INFO,
                       "sink \"%s\": %llu messages were in the stream already (sent again)",
                       ns->sink->shown, (unsigned long long)ns->duplicates);
        ns->duplicates = 0;
    }
    if (ns->down) {
        pgcdc_sink_log(ns->sink, PGCDC_LOG_INFO, "sink \"%s\": delivering again", ns->sink->shown);
        ns->down = 0;
    }
    ns->trouble_us = 0;
    ns->backoff_ms = 0;
    ns->probe = 0;
    return r;
}

/* ---- writing ---- */

/*
 * Writes the messages from entry from on that are to be sent (each one, or
 * after trouble the first alone): PGCDC_OK, RETRY or a failure.
 */
static int send_from(pgcdc__nats *ns, size_t from)
{
    size_t range = 0;
    size_t range_end = 0;
    int r = PGCDC_OK;
    int once = ns->probe;
    size_t i;

    for (i = from; i < ns->nq && r == PGCDC_OK; i++) {
        nmsg *e = &ns->q[i];
        size_t end = i + 1 < ns->nq ? ns->q[i + 1].start : ns->out.len;

        /* A commit has no bytes: the messages around it stay one write. */
        if (e->token != 0)
            continue;
        if (e->state != NM_UNSENT && e->state != NM_RETRY) {
            if (range_end > range)
                r = pgcdc__nats_write(ns, ns->out.data + range, range_end - range);
            range = range_end = 0;
            continue;
        }
        e->state = NM_SENT;
        ns->nsent++;
        if (i + 1 > ns->sent)
            ns->sent = i + 1;
        if (range_end != e->start)
            range = e->start;
        range_end = end;
        if (once) {
            i++;
            break;
        }
    }
    /* Commits right after the last one written wait for its answer too. */
    while (i < ns->nq && ns->q[i].token != 0)
        i++;
    if (i > ns->sent)
        ns->sent = i;
    if (r == PGCDC_OK && range_end > range)
        r = pgcdc__nats_write(ns, ns->out.data + range, range_end - range);
    if (r == PGCDC_OK && !once)
        ns->retry = 0;
    return r;
}

/* Writes what waits, connecting first when need be: PGCDC_OK, RETRY or a failure. */
static int send_queued(pgcdc__nats *ns)
{
    int r = PGCDC_OK;

    if (ns->fd < 0)
        r = connect_retrying(ns);
    if (r == PGCDC_OK)
        r = send_from(ns, ns->retry ? ns->done : ns->sent);
    return r == RETRY ? lost(ns) : r;
}

/* Everything queued is acknowledged: the memory is used again. */
static void reset_queue(pgcdc__nats *ns)
{
    ns->base += ns->nq;
    ns->nq = ns->sent = ns->done = 0;
    pgcdc__buf_reset(&ns->out);
    pgcdc__sink_show_inflight(ns->sink, 0);
}

/*
 * Writes every queued message and waits until every one was answered,
 * acknowledging commits on the way; what must be is sent again (after a
 * pause when nothing moved) until max_elapsed.  PGCDC_OK or a failure.
 */
static int drain(pgcdc__nats *ns)
{
    int idle;
    int r;

    while (ns->done < ns->nq) {
        size_t before = ns->done;

        r = send_queued(ns);
        while (r == PGCDC_OK && ns->nsent > 0) {
            r = pgcdc__nats_read(ns, ns->timeout_ms, &idle);
            if (r == PGCDC_OK && idle && pgcdc__sink_stopping(ns->sink))
                return stopped(ns);
            if (r == PGCDC_OK && idle)
                snprintf(ns->why, sizeof(ns->why), "no PubAck within %lld ms", ns->timeout_ms);
            if (r == RETRY || (r == PGCDC_OK && idle))
                r = lost(ns);
        }
        if (r < 0)
            return r;
        if ((r = advance(ns)) != PGCDC_OK)
            return r;
        /* A round that moved nothing: a pause, then the first one alone. */
        if (ns->done < ns->nq && ns->retry && ns->done == before) {
            trouble(ns);
            if ((r = past_max_elapsed(ns)) != PGCDC_OK)
                return r;
            ns->backoff_ms = ns->backoff_ms == 0                   ? BACKOFF_MIN_MS
                             : ns->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS
                                                                   : ns->backoff_ms * 2;
            if (pgcdc__sink_pause(ns->sink, ns->backoff_ms))
                return stopped(ns);
            ns->probe = 1;
        }
    }
    reset_queue(ns);
    return PGCDC_OK;
}

/* ---- the worker's side ---- */

static nmsg *queue_slot(pgcdc__nats *ns)
{
    if (ns->nq == ns->capq) {
        size_t cap = ns->capq > 0 ? ns->capq * 2 : 256;
        nmsg *q = realloc(ns->q, cap * sizeof(*q));

        if (q == NULL)
            return NULL;
        ns->q = q;
        ns->capq = cap;
    }
    if (ns->sent == ns->nq)
        ns->oldest_us = pgcdc__now_us();
    memset(&ns->q[ns->nq], 0, sizeof(ns->q[0]));
    ns->q[ns->nq].start = ns->out.len;
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

/* A message larger than the server takes: the event goes to the error policy. */
static int too_large(pgcdc__nats *ns, const char *data, size_t len, size_t size)
{
    char why[PGCDC__MSG_SIZE];

    pgcdc__sink_count_error(ns->sink);
    snprintf(why, sizeof(why),
             "could not publish to subject \"%s\": the message of %zu bytes is larger than the "
             "server's max_payload (%lld)",
             (const char *)ns->subj.data, size, ns->max_payload);
    if (ns->dead_letter) {
        int r = pgcdc__sink_dead_letter(ns->sink, data, len, why);

        return r == PGCDC_OK ? PGCDC_HANDLED : r;
    }
    return fail_for_good(ns, why);
}

/* HPUB subject <inbox>.<index> hdr_len total_len, the headers, the event. */
static void put_hpub(pgcdc__nats *ns, nmsg *m, const char *id, size_t idlen, const char *data,
                     size_t len)
{
    char num[32];
    size_t hdr = sizeof("NATS/1.0\r\nNats-Msg-Id: \r\n\r\n") - 1 + idlen;

    if (ns->stream[0] != '\0')
        hdr += sizeof("Nats-Expected-Stream: \r\n") - 1 + strlen(ns->stream);
    pgcdc__buf_lit(&ns->out, "HPUB ");
    pgcdc__buf_put(&ns->out, ns->subj.data, ns->subj.len);
    pgcdc__buf_u8(&ns->out, ' ');
    pgcdc__buf_lit(&ns->out, ns->inbox);
    pgcdc__buf_u8(&ns->out, '.');
    pgcdc__buf_put(&ns->out, num, (size_t)(pgcdc__put_u64(num, ns->base + ns->nq) - num));
    pgcdc__buf_u8(&ns->out, ' ');
    pgcdc__buf_put(&ns->out, num, (size_t)(pgcdc__put_u64(num, hdr) - num));
    pgcdc__buf_u8(&ns->out, ' ');
    pgcdc__buf_put(&ns->out, num, (size_t)(pgcdc__put_u64(num, hdr + len) - num));
    pgcdc__buf_lit(&ns->out, "\r\nNATS/1.0\r\nNats-Msg-Id: ");
    pgcdc__buf_put(&ns->out, id, idlen);
    if (ns->stream[0] != '\0') {
        pgcdc__buf_lit(&ns->out, "\r\nNats-Expected-Stream: ");
        pgcdc__buf_lit(&ns->out, ns->stream);
    }
    pgcdc__buf_lit(&ns->out, "\r\n\r\n");
    m->data = ns->out.len;
    m->len = len;
    pgcdc__buf_put(&ns->out, data, len);
    pgcdc__buf_lit(&ns->out, "\r\n");
}

static int queue_change(pgcdc__nats *ns, const pgcdc_sink_event *ev)
{
    const pgcdc_change *c = pgcdc_sink_event_change(ev);
    const char *data;
    size_t len;
    char id[64];
    size_t idlen;
    nmsg *m;
    int r = pgcdc_sink_event_data(ev, &data, &len);

    if (r != PGCDC_OK)
        return pgcdc_sink_fail(ns->sink, r, "out of memory");
    while (len > 0 && data[len - 1] == '\n')
        len--;
    if (len == 0)
        return PGCDC_HANDLED;
    if (pgcdc__template_expand(&ns->subj, ev->topic != NULL ? ev->topic : ns->tmpl,
                               pgcdc_change_schema(c), pgcdc_change_table(c), ns->prefix,
                               pgcdc__nats_name_char) != PGCDC_OK)
        return pgcdc_sink_fail(ns->sink, PGCDC_ERR_NOMEM, "out of memory");
    pgcdc_lsn_format(pgcdc_change_commit_lsn(c), id, sizeof(id) - 24);
    idlen = strlen(id);
    id[idlen++] = ':';
    idlen = (size_t)(pgcdc__put_u64(id + idlen, msg_seq(ns, c)) - id);
    /* A schema change has the seq of the change after it: its ID must not be that one's. */
    if (pgcdc_change_op(c) == PGCDC_OP_SCHEMA) {
        memcpy(id + idlen, ":schema", 7);
        idlen += 7;
    }
    if ((long long)(len + idlen + 64) > ns->max_payload)
        return too_large(ns, data, len, len + idlen + 64);
    m = queue_slot(ns);
    if (m == NULL)
        return pgcdc_sink_fail(ns->sink, PGCDC_ERR_NOMEM, "out of memory");
    m->sublen = ns->subj.len;
    put_hpub(ns, m, id, idlen, data, len);
    if (ns->out.oom) {
        ns->out.len = m->start;
        ns->out.oom = 0;
        return pgcdc_sink_fail(ns->sink, PGCDC_ERR_NOMEM, "out of memory");
    }
    ns->nq++;
    pgcdc__sink_show_inflight(ns->sink, ns->out.len);
    return PGCDC_HANDLED;
}

/* A commit: acknowledged once every message queued before it was. */
static int queue_commit(pgcdc__nats *ns, const pgcdc_sink_event *ev)
{
    nmsg *m;

    if (ns->nq == ns->done)
        return PGCDC_HANDLED;
    m = queue_slot(ns);
    if (m == NULL)
        return pgcdc_sink_fail(ns->sink, PGCDC_ERR_NOMEM, "out of memory");
    m->token = pgcdc_sink_event_token(ev);
    m->state = NM_ACKED;
    ns->nq++;
    return PGCDC_DEFER;
}

static int nats_write(pgcdc_sink *sink, const pgcdc_sink_event *ev)
{
    pgcdc__nats *ns = pgcdc_sink_state(sink);
    size_t unsent;
    int idle;
    int r;

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
    /* Full: wait for every PubAck, so that the memory is used again. */
    if (ns->out.len >= (size_t)ns->max_inflight) {
        int d = drain(ns);

        return d != PGCDC_OK ? d : r;
    }
    /* Not connected, or trouble: the next drain sees to it. */
    if (ns->fd < 0 || ns->retry)
        return r;
    unsent = ns->sent < ns->nq ? ns->out.len - ns->q[ns->sent].start : 0;
    if (unsent >= SEND_BATCH ||
        (r == PGCDC_DEFER && pgcdc__now_us() - ns->oldest_us >= ns->flush_ms * 1000)) {
        int s = send_from(ns, ns->sent);

        if (s == PGCDC_OK)
            s = pgcdc__nats_read(ns, 0, &idle);
        if (s == RETRY)
            s = lost(ns);
        else if (s == PGCDC_OK)
            s = advance(ns);
        if (s < 0)
            return s;
    }
    return r;
}

static int nats_flush(pgcdc_sink *sink)
{
    pgcdc__nats *ns = pgcdc_sink_state(sink);

    if (ns->failed)
        return pgcdc_sink_fail(sink, PGCDC_ERR_SINK, "%s", ns->failure);
    return ns->nq > 0 ? drain(ns) : PGCDC_OK;
}

/* ---- open and close ---- */

/* A stream's name: no spaces, '.', '*', '>', path separators or quotes. */
static int check_stream_name(pgcdc__nats *ns)
{
    for (const char *p = ns->stream; *p != '\0'; p++) {
        if (!isgraph((unsigned char)*p) || strchr(".*>/\\\"", *p) != NULL)
            return pgcdc_sink_fail(ns->sink, PGCDC_ERR_INVALID,
                                   "sink.nats.stream: character '%c' is not allowed in a "
                                   "stream's name (no spaces, '.', '*', '>', '/', '\\' or '\"')",
                                   *p);
    }
    return PGCDC_OK;
}

static int read_properties(pgcdc__nats *ns)
{
    pgcdc_sink *sink = ns->sink;
    long long create = 0;

    ns->prefix = strdup(pgcdc_sink_property(sink, "subject_prefix"));
    ns->stream = strdup(pgcdc_sink_property(sink, "stream"));
    ns->user = strdup(pgcdc_sink_property(sink, "user"));
    ns->password = strdup(pgcdc_sink_property(sink, "password"));
    ns->token = strdup(pgcdc_sink_property(sink, "token"));
    if (ns->prefix == NULL || ns->stream == NULL || ns->user == NULL || ns->password == NULL ||
        ns->token == NULL)
        return pgcdc_sink_fail(sink, PGCDC_ERR_NOMEM, "out of memory");
    /* The property table checked the values. */
    pgcdc__sink_prop_num(sink, "create_stream", &create);
    pgcdc__sink_prop_num(sink, "duplicate_window", &ns->dup_window_ms);
    pgcdc__sink_prop_num(sink, "max_inflight", &ns->max_inflight);
    pgcdc__sink_prop_num(sink, "flush_interval", &ns->flush_ms);
    pgcdc__sink_prop_num(sink, "timeout", &ns->timeout_ms);
    pgcdc__sink_prop_num(sink, "max_elapsed", &ns->max_elapsed_ms);
    ns->create_stream = create != 0;
    ns->dead_letter = pgcdc__sink_can_dead_letter(sink);
    if (ns->password[0] != '\0' && ns->user[0] == '\0')
        return pgcdc_sink_fail(sink, PGCDC_ERR_INVALID,
                               "sink.nats.password needs sink.nats.user (or use sink.nats.token)");
    return check_stream_name(ns);
}

/* The sink's inbox: _INBOX. and 16 random hex digits (another client's replies never reach it). */
static void make_inbox(pgcdc__nats *ns)
{
    uint64_t r = (uint64_t)pgcdc__wall_us() ^ ((uint64_t)getpid() << 32) ^ (uint64_t)(uintptr_t)ns;
    FILE *f = fopen("/dev/urandom", "rb");

    if (f != NULL) {
        if (fread(&r, sizeof(r), 1, f) != 1)
            r ^= (uint64_t)pgcdc__now_us();
        fclose(f);
    }
    snprintf(ns->inbox, sizeof(ns->inbox), "_INBOX.%016llx", (unsigned long long)r);
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
    ns->fd = -1;
    ns->max_payload = 1024 * 1024;
    pgcdc__buf_init(&ns->out);
    pgcdc__buf_init(&ns->in);
    pgcdc__buf_init(&ns->reply);
    pgcdc__buf_init(&ns->subj);
    if (pgcdc__nats_check_uri(uri, why, sizeof(why)) != PGCDC_OK)
        return pgcdc_sink_fail(sink, PGCDC_ERR_INVALID, "sink \"%s\": %s", sink->shown, why);
    r = read_properties(ns);
    if (r == PGCDC_OK)
        r = pgcdc__nats_split_uri(ns, uri);
    if (r != PGCDC_OK)
        return r;
    make_inbox(ns);
    /* Refused now (credentials, the stream) is said at once; unreachable is retried later. */
    r = connect_once(ns);
    if (r == RETRY) {
        trouble(ns);
        r = PGCDC_OK;
    }
    return r;
}

static void nats_close(pgcdc_sink *sink)
{
    pgcdc__nats *ns = pgcdc_sink_state(sink);

    if (ns == NULL)
        return;
    /* What is still queued was never acknowledged: a later run publishes it again. */
    pgcdc__nats_disconnect(ns);
    for (size_t i = 0; i < ns->nq; i++)
        free(ns->q[i].why);
    free(ns->q);
    pgcdc__buf_free(&ns->out);
    pgcdc__buf_free(&ns->in);
    pgcdc__buf_free(&ns->reply);
    pgcdc__buf_free(&ns->subj);
    free(ns->host);
    free(ns->tmpl);
    free(ns->prefix);
    free(ns->stream);
    free(ns->user);
    free(ns->password);
    free(ns->token);
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
