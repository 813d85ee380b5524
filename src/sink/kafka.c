/*
 * The kafka sink: each change a message (value the event's line, key the
 * row's key, headers commit_lsn, seq and xid) to a topic named by a
 * template, through librdkafka's idempotent producer.  A transaction is
 * acknowledged when the delivery report of its last message comes; the
 * bytes in flight are bounded; the reports come on the sink's own poll
 * thread, which never logs.  The exactly-once mode is in kafka_eos.c.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <librdkafka/rdkafka.h>

#include "base/num.h"
#include "sink/kafka.h"
#include "sink/kafka_int.h"

#define NOTHING_LOST "nothing after the last confirmed position is lost"
/* How long close waits for messages still in flight. */
#define CLOSE_FLUSH_MS 5000

static const pgcdc_property kafka_properties[] = {
    {"topic_prefix", PGCDC_PROP_STRING, "pgcdc", 0, 0, NULL,
     "${prefix} in the topic template (the default topic is ${prefix}.${schema}.${table})"},
    {"tombstones", PGCDC_PROP_BOOL, "true", 0, 0, NULL,
     "after a DELETE, a message with the same key and a null value (for log compaction)"},
    {"transaction_topic", PGCDC_PROP_STRING, "", 0, 0, NULL,
     "topic for the begin and commit events (transaction metadata); empty: none"},
    {"exactly_once", PGCDC_PROP_BOOL, "false", 0, 0, NULL,
     "Kafka transactions with the position in a progress topic: no duplicates after a restart"},
    {"progress_topic", PGCDC_PROP_STRING, "pgcdc.progress", 0, 0, NULL,
     "exactly-once: compacted topic holding the last position written, per transactional id"},
    {"transactional_id", PGCDC_PROP_STRING, "", 0, 0, NULL,
     "exactly-once: the producer's transactional.id (empty: pgcdc.DATABASE.SLOT)"},
    {"batch_size", PGCDC_PROP_INT, "1000", 1, 1000000, NULL,
     "exactly-once: events in one Kafka transaction (whole PostgreSQL transactions)"},
    {"batch_linger", PGCDC_PROP_DURATION, "100ms", 0, 600000, NULL,
     "exactly-once: a Kafka transaction is committed when its first event is this old"},
    {"max_inflight", PGCDC_PROP_SIZE, "64MB", 1024, 1LL << 40, NULL,
     "memory of messages produced and not yet delivered (value, key and librdkafka's ~500 bytes "
     "each); reading the stream waits beyond it"},
    {"max_elapsed", PGCDC_PROP_DURATION, "5m", 1000, 86400000, NULL,
     "how long a message is retried before it fails (message.timeout.ms, transaction.timeout.ms)"},
};

#define NPROPERTIES (int)(sizeof(kafka_properties) / sizeof(kafka_properties[0]))

static int start_producer(pgcdc__kafka *ks);

/* ---- delivery reports (the poll thread) ---- */

/* Drops a reference: the last one acknowledges the transaction (if it may) and frees it. */
static void txn_drop(pgcdc__kafka *ks, pgcdc__ktxn *t)
{
    if (atomic_fetch_sub(&t->refs, 1) != 1)
        return;
    if (t->deferred && !atomic_load(&t->failed) && !atomic_load(&ks->closing))
        pgcdc_sink_ack(ks->sink, t->token);
    free(t);
}

/* The cluster's state changed: the worker logs it once, from its flush. */
static void set_state(pgcdc__kafka *ks, int down, const char *msg)
{
    int changed;

    pthread_mutex_lock(&ks->mu);
    /* Down or up is news; another broker's error while down is not. */
    changed = atomic_load(&ks->down) != down;
    if (changed) {
        atomic_store(&ks->down, down);
        if (down)
            snprintf(ks->state_msg, sizeof(ks->state_msg), "%s", msg);
        ks->state_seq++;
        atomic_store_explicit(&ks->news, 1, memory_order_release);
    }
    pthread_mutex_unlock(&ks->mu);
    if (changed)
        pgcdc__sink_wake(ks->sink);
}

/* Keeps what the dead-letter file needs of a refused message, for the worker. */
static void queue_dead(pgcdc__kafka *ks, const rd_kafka_message_t *m, pgcdc__ktxn *t)
{
    pgcdc__kdead *d = calloc(1, sizeof(*d));
    const void *p = m->payload != NULL ? m->payload : m->key;
    size_t n = m->payload != NULL ? m->len : m->key_len;

    if (d != NULL)
        d->payload = malloc(n + 1);
    if (d == NULL || d->payload == NULL) {
        free(d);
        atomic_store(&t->failed, 1);
        pgcdc__inflight_fail(&ks->inflight, PGCDC_ERR_NOMEM,
                             "out of memory keeping a message "
                             "for the dead-letter file");
        txn_drop(ks, t);
        return;
    }
    if (n > 0)
        memcpy(d->payload, p, n);
    d->payload[n] = '\0';
    d->len = n;
    d->t = t;
    snprintf(d->why, sizeof(d->why), "could not deliver to topic \"%s\": %s",
             rd_kafka_topic_name(m->rkt), rd_kafka_err2str(m->err));
    pthread_mutex_lock(&ks->mu);
    *ks->dead_tail = d;
    ks->dead_tail = &d->next;
    atomic_store_explicit(&ks->news, 1, memory_order_release);
    pthread_mutex_unlock(&ks->mu);
    pgcdc__sink_wake(ks->sink);
}

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    pgcdc__kafka *ks = opaque;
    pgcdc__ktxn *t = m->_private;
    size_t size = m->len + m->key_len + PGCDC__KAFKA_OVERHEAD;

    (void)rk;
    if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
        if (atomic_load(&ks->down))
            set_state(ks, 0, "");
    } else if (!atomic_load(&ks->closing) && ks->eos == NULL && ks->dead_letter && t != NULL) {
        /* The worker writes it to the dead-letter file, then counts it delivered. */
        pgcdc__sink_count_error(ks->sink);
        queue_dead(ks, m, t);
        pgcdc__inflight_release(&ks->inflight, size);
        return;
    } else {
        /* Never acknowledged: purged at close, or failed for good. */
        if (t != NULL)
            atomic_store(&t->failed, 1);
        if (!atomic_load(&ks->closing) && ks->eos != NULL)
            pgcdc__kafka_eos_failed(ks, rd_kafka_topic_name(m->rkt), rd_kafka_err2str(m->err));
        else if (!atomic_load(&ks->closing))
            pgcdc__inflight_fail(&ks->inflight, PGCDC_ERR_SINK,
                                 "could not deliver to topic \"%s\": %s (" NOTHING_LOST ")",
                                 rd_kafka_topic_name(m->rkt), rd_kafka_err2str(m->err));
    }
    if (t != NULL)
        txn_drop(ks, t);
    pgcdc__inflight_release(&ks->inflight, size);
}

static void on_error(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
    pgcdc__kafka *ks = opaque;
    char fatal[512];

    if (err == RD_KAFKA_RESP_ERR__FATAL) {
        rd_kafka_fatal_error(rk, fatal, sizeof(fatal));
        /* The producer is unusable: halt whatever the policy (nothing is confirmed past it). */
        pgcdc__inflight_fail(&ks->inflight, PGCDC_ERR_IO,
                             "kafka producer failed: %s (" NOTHING_LOST ")", fatal);
        return;
    }
    /* The cluster's own errors (a broker down): librdkafka retries, each one counts. */
    pgcdc__sink_count_error(ks->sink);
    set_state(ks, 1, reason);
}

/* librdkafka's own log lines come on its threads, where the user's hook may not run. */
static void on_log(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    (void)rk;
    (void)level;
    (void)fac;
    (void)buf;
}

static void *poll_main(void *arg)
{
    pgcdc__kafka *ks = arg;

    while (!atomic_load(&ks->quit))
        rd_kafka_poll(ks->rk, 100);
    return NULL;
}

/* ---- the worker's side ---- */

/*
 * A message librdkafka refused when produced (too large, say): trying again
 * cannot help.  With the dead-letter policy it goes to the file and counts
 * as delivered; else the sink gives up (the worker halts, nothing confirmed
 * past it).
 */
static int refused(pgcdc__kafka *ks, const char *topic, rd_kafka_resp_err_t err, const char *data,
                   size_t len)
{
    char why[256];

    if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL)
        return pgcdc_sink_fail(ks->sink, PGCDC_ERR_STOPPED, "stopped while sink \"%s\" was full",
                               ks->sink->shown);
    snprintf(why, sizeof(why), "could not produce to topic \"%s\": %s", topic,
             rd_kafka_err2str(err));
    if (ks->dead_letter && ks->eos == NULL)
        return pgcdc__sink_dead_letter(ks->sink, data != NULL ? data : "", len, why);
    return pgcdc_sink_fail(ks->sink, PGCDC_ERR_SINK, "%s (" NOTHING_LOST ")", why);
}

/* The commit_lsn and xid headers' text, made once per transaction. */
static void txn_headers(pgcdc__kafka *ks, const pgcdc_txn *txn)
{
    uint64_t lsn = pgcdc_txn_commit_lsn(txn);
    uint32_t xid = pgcdc_txn_xid(txn);

    if (ks->hdr_set && ks->hdr_lsn == lsn && ks->hdr_xid == xid)
        return;
    pgcdc_lsn_format(lsn, ks->lsn_text, sizeof(ks->lsn_text));
    ks->lsn_len = strlen(ks->lsn_text);
    ks->xid_len = (size_t)(pgcdc__put_u64(ks->xid_text, xid) - ks->xid_text);
    ks->hdr_lsn = lsn;
    ks->hdr_xid = xid;
    ks->hdr_set = 1;
}

int pgcdc__kafka_produce(pgcdc__kafka *ks, const char *topic, int32_t partition, const char *key,
                         size_t klen, const char *value, size_t vlen, const pgcdc_txn *txn,
                         long seq, const char *batch, void *opaque)
{
    size_t size = vlen + klen + PGCDC__KAFKA_OVERHEAD;
    pgcdc__ktxn *t = opaque;
    rd_kafka_topic_t *rkt = pgcdc__kafka_topic_handle(ks, topic);
    rd_kafka_headers_t *hdrs;
    rd_kafka_resp_err_t err;
    char text[32];
    int r;

    if (rkt == NULL)
        return pgcdc_sink_fail(ks->sink, PGCDC_ERR_NOMEM, "out of memory");
    r = pgcdc__inflight_reserve(&ks->inflight, size);
    if (r != PGCDC_OK)
        return r;
    hdrs = rd_kafka_headers_new(4);
    if (txn != NULL) {
        txn_headers(ks, txn);
        rd_kafka_header_add(hdrs, "commit_lsn", 10, ks->lsn_text, (ssize_t)ks->lsn_len);
        rd_kafka_header_add(hdrs, "xid", 3, ks->xid_text, (ssize_t)ks->xid_len);
    }
    if (seq >= 0)
        rd_kafka_header_add(hdrs, "seq", 3, text, pgcdc__put_u64(text, (uint64_t)seq) - text);
    if (batch != NULL)
        rd_kafka_header_add(hdrs, "batch", 5, batch, -1);
    if (t != NULL)
        atomic_fetch_add_explicit(&t->refs, 1, memory_order_relaxed);
    for (;;) {
        err = rd_kafka_producev(ks->rk, RD_KAFKA_V_RKT(rkt), RD_KAFKA_V_PARTITION(partition),
                                RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                RD_KAFKA_V_VALUE((void *)value, vlen), RD_KAFKA_V_KEY(key, klen),
                                RD_KAFKA_V_HEADERS(hdrs), RD_KAFKA_V_OPAQUE(t), RD_KAFKA_V_END);
        /* Our bound is below librdkafka's queue; should it fill all the same, take reports. */
        if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL || pgcdc__sink_stopping(ks->sink))
            break;
        rd_kafka_poll(ks->rk, 10);
    }
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR)
        return PGCDC_OK;
    /* Refused: the headers are still ours. */
    rd_kafka_headers_destroy(hdrs);
    if (t != NULL)
        atomic_fetch_sub(&t->refs, 1); /* the worker's own reference remains */
    pgcdc__inflight_release(&ks->inflight, size);
    return refused(ks, topic, err, value != NULL ? value : key, value != NULL ? vlen : klen);
}

void pgcdc__kafka_log_state(pgcdc__kafka *ks)
{
    unsigned seq;
    int down;
    char msg[256];

    pthread_mutex_lock(&ks->mu);
    seq = ks->state_seq;
    down = atomic_load(&ks->down);
    snprintf(msg, sizeof(msg), "%s", ks->state_msg);
    pthread_mutex_unlock(&ks->mu);
    if (seq == ks->logged_seq)
        return;
    /*
     * Down and up alternate: two changes or more since the last line, or down
     * now, mean an outage to tell, even one that ended while the worker was
     * busy elsewhere (in a Kafka transaction's commit, say).
     */
    if ((down || seq - ks->logged_seq >= 2) && !ks->logged_down) {
        pgcdc_sink_log(ks->sink, PGCDC_LOG_WARNING, "sink \"%s\": %s (retrying)", ks->sink->shown,
                       msg);
        ks->logged_down = 1;
    }
    if (!down && ks->logged_down) {
        pgcdc_sink_log(ks->sink, PGCDC_LOG_INFO, "sink \"%s\": delivering again", ks->sink->shown);
        ks->logged_down = 0;
    }
    ks->logged_seq = seq;
}

/* What the poll thread found: failures, refused messages, the cluster's state. */
static int chores(pgcdc__kafka *ks)
{
    pgcdc__kdead *d;
    int r;

    /* (Checked unlocked first: this runs for every event.) */
    if (atomic_load_explicit(&ks->news, memory_order_acquire) == 0)
        return pgcdc__inflight_check(&ks->inflight);
    atomic_store(&ks->news, 0);
    pgcdc__kafka_log_state(ks);
    for (;;) {
        pthread_mutex_lock(&ks->mu);
        d = ks->dead;
        if (d != NULL) {
            ks->dead = d->next;
            if (ks->dead == NULL)
                ks->dead_tail = &ks->dead;
        }
        pthread_mutex_unlock(&ks->mu);
        if (d == NULL)
            break;
        r = pgcdc__sink_dead_letter(ks->sink, d->payload, d->len, d->why);
        if (r != PGCDC_OK)
            atomic_store(&d->t->failed, 1);
        txn_drop(ks, d->t);
        free(d->payload);
        free(d);
        if (r != PGCDC_OK)
            return r;
    }
    return pgcdc__inflight_check(&ks->inflight);
}

/*
 * Lets go of the transaction being written: HANDLED when all of it is
 * delivered, DEFER (acknowledged by the last delivery report), or the
 * failure of one of its messages.
 */
static int end_txn(pgcdc__kafka *ks, int commit)
{
    pgcdc__ktxn *t = ks->cur;
    int r;

    if (t == NULL)
        return PGCDC_HANDLED;
    ks->cur = NULL;
    t->deferred = commit;
    if (atomic_fetch_sub(&t->refs, 1) != 1)
        return commit ? PGCDC_DEFER : PGCDC_HANDLED;
    /* Every message was reported already. */
    r = PGCDC_HANDLED;
    if (atomic_load(&t->failed)) {
        r = pgcdc__inflight_check(&ks->inflight);
        if (r == PGCDC_OK)
            r = pgcdc_sink_fail(ks->sink, PGCDC_ERR_SINK,
                                "a message of the transaction was not delivered (" NOTHING_LOST
                                ")");
    }
    free(t);
    return r;
}

/* Transaction metadata: the begin or commit event's data, when the format has some. */
static int produce_txn_event(pgcdc__kafka *ks, const pgcdc_sink_event *ev, void *opaque,
                             const char *batch)
{
    const pgcdc_txn *txn = pgcdc_sink_event_txn(ev);
    const char *data;
    size_t len;
    char key[16];
    int r;

    if (ks->txn_topic == NULL)
        return PGCDC_OK;
    r = pgcdc_sink_event_data(ev, &data, &len);
    if (r != PGCDC_OK)
        return r;
    snprintf(key, sizeof(key), "%" PRIu32, pgcdc_txn_xid(txn));
    while (len > 0) {
        const char *nl = memchr(data, '\n', len);
        size_t n = nl != NULL ? (size_t)(nl - data) : len;

        if (n > 0) {
            r = pgcdc__kafka_produce(ks, ks->txn_topic, RD_KAFKA_PARTITION_UA, key, strlen(key),
                                     data, n, txn, -1, batch, opaque);
            if (r != PGCDC_OK)
                return r;
        }
        data += n + (nl != NULL);
        len -= n + (nl != NULL);
    }
    return PGCDC_OK;
}

/* How long a schema change waits for the topic's partitions (else it goes to one). */
#define METADATA_WAIT_MS 10000

/*
 * How many partitions topic has, from the cluster's metadata (which creates
 * it when the cluster creates topics on demand); 0 when not known.
 */
static int32_t partitions_of(pgcdc__kafka *ks, const char *topic)
{
    rd_kafka_topic_t *rkt = pgcdc__kafka_topic_handle(ks, topic);
    const struct rd_kafka_metadata *md = NULL;
    int32_t n = 0;

    if (rkt == NULL ||
        rd_kafka_metadata(ks->rk, 0, rkt, &md, METADATA_WAIT_MS) != RD_KAFKA_RESP_ERR_NO_ERROR)
        return 0;
    if (md->topic_cnt == 1 && md->topics[0].err == RD_KAFKA_RESP_ERR_NO_ERROR)
        n = md->topics[0].partition_cnt;
    rd_kafka_metadata_destroy(md);
    return n;
}

/* A change: one message per line of its data, then a tombstone after a DELETE. */
static int produce_change(pgcdc__kafka *ks, const pgcdc_sink_event *ev, void *opaque,
                          const char *batch)
{
    const pgcdc_change *c = pgcdc_sink_event_change(ev);
    const char *data;
    const char *key;
    const char *topic;
    size_t len;
    size_t klen;
    int32_t partition = RD_KAFKA_PARTITION_UA;
    int32_t nparts = 1;
    int r = pgcdc_sink_event_data(ev, &data, &len);

    if (r == PGCDC_OK)
        r = pgcdc_sink_event_key(ev, &key, &klen);
    if (r != PGCDC_OK)
        return pgcdc_sink_fail(ks->sink, r, "out of memory");
    topic = pgcdc__kafka_topic(ks, ev->topic, pgcdc_change_schema(c), pgcdc_change_table(c));
    if (topic == NULL)
        return pgcdc_sink_fail(ks->sink, PGCDC_ERR_NOMEM, "out of memory");
    if (klen == 0)
        key = NULL;
    /*
     * A schema change and a TRUNCATE are news for the consumers of every
     * partition (of the table's rows there): one copy in each, in order
     * with the rows around it.
     */
    if (pgcdc_change_op(c) == PGCDC_OP_SCHEMA || pgcdc_change_op(c) == PGCDC_OP_TRUNCATE) {
        nparts = partitions_of(ks, topic);
        if (nparts < 1)
            nparts = 1;
    }
    while (len > 0) {
        const char *nl = memchr(data, '\n', len);
        size_t n = nl != NULL ? (size_t)(nl - data) : len;

        if (n > 0) {
            for (int32_t p = 0; p < nparts; p++) {
                r = pgcdc__kafka_produce(ks, topic, nparts > 1 ? p : partition, key, klen, data, n,
                                         pgcdc_change_txn(c), (long)pgcdc_change_seq(c), batch,
                                         opaque);
                if (r != PGCDC_OK)
                    return r;
            }
        }
        data += n + (nl != NULL);
        len -= n + (nl != NULL);
    }
    if (ks->tombstones && key != NULL && pgcdc_change_op(c) == PGCDC_OP_DELETE)
        return pgcdc__kafka_produce(ks, topic, partition, key, klen, NULL, 0, pgcdc_change_txn(c),
                                    (long)pgcdc_change_seq(c), batch, opaque);
    return PGCDC_OK;
}

/* The transaction being written, made at its first event (a resumed one keeps its own). */
static pgcdc__ktxn *txn_for(pgcdc__kafka *ks, const pgcdc_sink_event *ev)
{
    uint64_t token = pgcdc_sink_event_token(ev);

    if (ks->cur != NULL && ks->cur->token == token)
        return ks->cur;
    /* One cut off by a lost connection is never acknowledged. */
    end_txn(ks, 0);
    ks->cur = calloc(1, sizeof(*ks->cur));
    if (ks->cur != NULL) {
        ks->cur->token = token;
        atomic_init(&ks->cur->refs, 1);
        atomic_init(&ks->cur->failed, 0);
    }
    return ks->cur;
}

/* Exactly-once: whole PostgreSQL transactions in Kafka transactions, skipping those written. */
static int eos_write(pgcdc__kafka *ks, const pgcdc_sink_event *ev)
{
    const char *batch = NULL;
    int r = pgcdc__kafka_eos_begin(ks, ev, &batch);

    if (r != PGCDC_OK)
        return r > 0 ? PGCDC_HANDLED : r;
    switch (pgcdc_sink_event_kind(ev)) {
    case PGCDC_EVENT_BEGIN:
        r = produce_txn_event(ks, ev, NULL, batch);
        break;
    case PGCDC_EVENT_CHANGE:
        r = produce_change(ks, ev, NULL, batch);
        break;
    default:
        r = produce_txn_event(ks, ev, NULL, batch);
        if (r == PGCDC_OK)
            return pgcdc__kafka_eos_commit(ks, ev);
    }
    /* A message of the Kafka transaction is missing: it must never commit. */
    return r == PGCDC_OK ? PGCDC_HANDLED : pgcdc__kafka_eos_broken(ks);
}

static int kafka_write(pgcdc_sink *sink, const pgcdc_sink_event *ev)
{
    pgcdc__kafka *ks = pgcdc_sink_state(sink);
    pgcdc__ktxn *t;
    int r = ks->rk == NULL ? start_producer(ks) : PGCDC_OK;

    if (r == PGCDC_OK)
        r = chores(ks);
    if (r != PGCDC_OK)
        return r;
    if (ks->eos != NULL)
        return eos_write(ks, ev);
    t = txn_for(ks, ev);
    if (t == NULL)
        return pgcdc_sink_fail(sink, PGCDC_ERR_NOMEM, "out of memory");
    switch (pgcdc_sink_event_kind(ev)) {
    case PGCDC_EVENT_BEGIN:
        return produce_txn_event(ks, ev, t, NULL);
    case PGCDC_EVENT_CHANGE:
        return produce_change(ks, ev, t, NULL);
    default:
        r = produce_txn_event(ks, ev, t, NULL);
        return r != PGCDC_OK ? r : end_txn(ks, 1);
    }
}

static int kafka_flush(pgcdc_sink *sink)
{
    pgcdc__kafka *ks = pgcdc_sink_state(sink);
    int r = ks->rk == NULL ? start_producer(ks) : PGCDC_OK;

    if (r == PGCDC_OK)
        r = chores(ks);
    if (r == PGCDC_OK && ks->eos != NULL)
        r = pgcdc__kafka_eos_flush(ks);
    return r;
}

/* ---- open and close ---- */

static int conf_set(pgcdc__kafka *ks, rd_kafka_conf_t *conf, const char *name, const char *value)
{
    char why[512];

    if (rd_kafka_conf_set(conf, name, value, why, sizeof(why)) == RD_KAFKA_CONF_OK)
        return PGCDC_OK;
    return pgcdc_sink_fail(ks->sink, PGCDC_ERR_INVALID, "sink \"%s\": %s: %s", ks->sink->shown,
                           name, why);
}

/* The producer's settings: pgcdc's defaults, then the user's librdkafka properties. */
static int make_conf(pgcdc__kafka *ks, rd_kafka_conf_t *conf)
{
    long long kb = ks->max_inflight / 1024 * 2 + 1024;
    char num[32];
    const char *name;
    const char *value;
    int r;

    snprintf(num, sizeof(num), "%lld", ks->max_elapsed_ms);
    r = conf_set(ks, conf, "bootstrap.servers", ks->brokers);
    if (r == PGCDC_OK)
        r = conf_set(ks, conf, "client.id", "pgcdc");
    if (r == PGCDC_OK)
        r = conf_set(ks, conf, "enable.idempotence", "true");
    if (r == PGCDC_OK)
        r = conf_set(ks, conf, "acks", "all");
    /* The Java client's key-to-partition mapping. */
    if (r == PGCDC_OK)
        r = conf_set(ks, conf, "partitioner", "murmur2_random");
    if (r == PGCDC_OK)
        r = conf_set(ks, conf, "linger.ms", "5");
    /* Back within a second of the brokers (librdkafka's default waits up to 10 s). */
    if (r == PGCDC_OK)
        r = conf_set(ks, conf, "reconnect.backoff.max.ms", "1000");
    if (r == PGCDC_OK)
        r = conf_set(ks, conf, "batch.num.messages", "10000");
    if (r == PGCDC_OK)
        r = conf_set(ks, conf, "message.timeout.ms", num);
    /* librdkafka's queue never refuses before our bound on bytes in flight does. */
    snprintf(num, sizeof(num), "%lld", kb > 2097151 ? 2097151 : kb);
    if (r == PGCDC_OK)
        r = conf_set(ks, conf, "queue.buffering.max.kbytes", num);
    if (r == PGCDC_OK)
        r = conf_set(ks, conf, "queue.buffering.max.messages", "10000000");
    if (r == PGCDC_OK && ks->eos != NULL)
        r = pgcdc__kafka_eos_conf(ks, conf);
    for (int i = 0; r == PGCDC_OK && pgcdc__sink_prop_at(ks->sink, i, &name, &value); i++) {
        if (pgcdc__sink_property(ks->sink->ops, name) == NULL && strcmp(name, "format") != 0)
            r = conf_set(ks, conf, name, value);
    }
    return r;
}

/* The producer and its poll thread; in exactly-once mode also its transactions' start. */
static int start_producer(pgcdc__kafka *ks)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    char why[512];
    int r;

    if (conf == NULL)
        return pgcdc_sink_fail(ks->sink, PGCDC_ERR_NOMEM, "out of memory");
    rd_kafka_conf_set_opaque(conf, ks);
    rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
    rd_kafka_conf_set_error_cb(conf, on_error);
    rd_kafka_conf_set_log_cb(conf, on_log);
    r = make_conf(ks, conf);
    if (r != PGCDC_OK) {
        rd_kafka_conf_destroy(conf);
        return r;
    }
    ks->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, why, sizeof(why));
    if (ks->rk == NULL) {
        rd_kafka_conf_destroy(conf);
        return pgcdc_sink_fail(ks->sink, PGCDC_ERR_INVALID, "sink \"%s\": %s", ks->sink->shown,
                               why);
    }
    if (pthread_create(&ks->poller, NULL, poll_main, ks) != 0)
        return pgcdc_sink_fail(ks->sink, PGCDC_ERR_NOMEM, "could not start a thread");
    ks->poller_started = 1;
    return ks->eos != NULL ? pgcdc__kafka_eos_start(ks) : PGCDC_OK;
}

static int kafka_open(pgcdc_sink *sink, const char *uri)
{
    pgcdc__kafka *ks = calloc(1, sizeof(*ks));
    char why[512];
    long long v = 0;
    const char *tt;

    if (ks == NULL)
        return pgcdc_sink_fail(sink, PGCDC_ERR_NOMEM, "out of memory");
    pgcdc_sink_set_state(sink, ks);
    ks->sink = sink;
    pthread_mutex_init(&ks->mu, NULL);
    pgcdc__buf_init(&ks->topic);
    ks->dead_tail = &ks->dead;
    pgcdc__inflight_init(&ks->inflight, sink, 1);
    if (pgcdc__kafka_check_uri(uri, why, sizeof(why)) != PGCDC_OK)
        return pgcdc_sink_fail(sink, PGCDC_ERR_INVALID, "sink \"%s\": %s", sink->shown, why);
    tt = pgcdc_sink_property(sink, "transaction_topic");
    ks->prefix = strdup(pgcdc_sink_property(sink, "topic_prefix"));
    if (tt != NULL && tt[0] != '\0')
        ks->txn_topic = strdup(tt);
    if (pgcdc__kafka_split_uri(ks, uri) != PGCDC_OK || ks->prefix == NULL ||
        (tt != NULL && tt[0] != '\0' && ks->txn_topic == NULL))
        return pgcdc_sink_fail(sink, PGCDC_ERR_NOMEM, "out of memory");
    /* The property table checked the values. */
    pgcdc__sink_prop_num(sink, "tombstones", &v);
    ks->tombstones = (int)v;
    pgcdc__sink_prop_num(sink, "max_inflight", &ks->max_inflight);
    pgcdc__sink_prop_num(sink, "max_elapsed", &ks->max_elapsed_ms);
    ks->inflight.bound = (size_t)ks->max_inflight;
    ks->dead_letter = pgcdc__sink_can_dead_letter(sink);
    v = 0;
    pgcdc__sink_prop_num(sink, "exactly_once", &v);
    /*
     * The transactional id names the database, known only once the worker
     * started: that producer starts with the first write.
     */
    if (v)
        return pgcdc__kafka_eos_new(ks);
    return start_producer(ks);
}

static void kafka_close(pgcdc_sink *sink)
{
    pgcdc__kafka *ks = pgcdc_sink_state(sink);
    pgcdc__kdead *d;

    if (ks == NULL)
        return;
    if (ks->eos != NULL) {
        /* An open Kafka transaction is aborted (its reports are no failures); acks come from
         * commits only. */
        atomic_store(&ks->closing, 1);
        pgcdc__kafka_eos_close(ks);
    }
    if (ks->poller_started) {
        rd_kafka_queue_t *mainq = rd_kafka_queue_get_main(ks->rk);

        /* The poller returns from its wait at once, not at its next timeout. */
        atomic_store(&ks->quit, 1);
        rd_kafka_queue_yield(mainq);
        rd_kafka_queue_destroy(mainq);
        pthread_join(ks->poller, NULL);
    }
    if (ks->rk != NULL) {
        rd_kafka_flush(ks->rk, CLOSE_FLUSH_MS);
        /* What is left is not acknowledged: purge it and take its reports. */
        atomic_store(&ks->closing, 1);
        rd_kafka_purge(ks->rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
        for (int i = 0; i < 500 && rd_kafka_outq_len(ks->rk) > 0; i++)
            rd_kafka_poll(ks->rk, 10);
        pgcdc__kafka_topics_free(ks);
        rd_kafka_destroy(ks->rk);
    }
    while ((d = ks->dead) != NULL) {
        ks->dead = d->next;
        atomic_store(&d->t->failed, 1);
        txn_drop(ks, d->t);
        free(d->payload);
        free(d);
    }
    end_txn(ks, 0);
    pgcdc__inflight_destroy(&ks->inflight);
    pthread_mutex_destroy(&ks->mu);
    pgcdc__buf_free(&ks->topic);
    free(ks->brokers);
    free(ks->topic_tmpl);
    free(ks->prefix);
    free(ks->txn_topic);
    free(ks);
}

const pgcdc_sink_ops pgcdc__kafka_sink = {
    .abi = PGCDC_SINK_ABI,
    .kind = "kafka",
    .open = kafka_open,
    .write = kafka_write,
    .flush = kafka_flush,
    .close = kafka_close,
    .properties = kafka_properties,
    .nproperties = NPROPERTIES,
    .check_uri = pgcdc__kafka_check_uri,
    .check_property = pgcdc__kafka_check_property,
};
