/*
 * The kafka sink's exactly-once mode: whole PostgreSQL transactions in one
 * Kafka transaction with a record of the last end LSN in a progress topic;
 * at start the producer fences its previous incarnation and skips what the
 * progress topic says was written.  A batch is acknowledged once committed.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>

#include "base/clock.h"
#include "sink/kafka_int.h"

#define NOTHING_LOST "nothing after the last confirmed position is lost"
/* How long reading the progress topic may take before the start fails. */
#define PROGRESS_READ_MS 60000
/* How long creating the progress topic may take (a cluster may not answer: the mock). */
#define CREATE_TIMEOUT_MS 5000
/* How long a batch may still take to be delivered once the worker is asked to stop. */
#define STOP_GRACE_US (5 * 1000 * 1000)

struct pgcdc__kafka_eos {
    char *tid; /* transactional id: the progress record's key */
    char *progress_topic;
    long long batch_size;
    long long linger_ms;
    uint64_t done_lsn; /* transactions that commit before it are in Kafka */
    uint64_t last_end; /* end of the last transaction in the batch */
    int skipping;      /* the current transaction is written already */
    int in_pg_txn;     /* between a begin and its commit */
    int in_txn;        /* a Kafka transaction is open */
    int broken;        /* it must not commit */
    long long events;
    int64_t started_us;
    uint64_t *tokens; /* the batch's deferred commits */
    size_t ntokens;
    size_t captokens;
    char incarnation[32];
    unsigned long batch_no;
    char batch[64];
};

int pgcdc__kafka_eos_new(pgcdc__kafka *ks)
{
    pgcdc__kafka_eos *e = calloc(1, sizeof(*e));
    const char *tid = pgcdc_sink_property(ks->sink, "transactional_id");

    if (e == NULL)
        return pgcdc_sink_fail(ks->sink, PGCDC_ERR_NOMEM, "out of memory");
    ks->eos = e;
    e->progress_topic = strdup(pgcdc_sink_property(ks->sink, "progress_topic"));
    if (tid != NULL && tid[0] != '\0')
        e->tid = strdup(tid);
    if (e->progress_topic == NULL || (tid != NULL && tid[0] != '\0' && e->tid == NULL))
        return pgcdc_sink_fail(ks->sink, PGCDC_ERR_NOMEM, "out of memory");
    pgcdc__sink_prop_num(ks->sink, "batch_size", &e->batch_size);
    pgcdc__sink_prop_num(ks->sink, "batch_linger", &e->linger_ms);
    /* Tells this incarnation's batches apart from an earlier one's (a header on each message). */
    snprintf(e->incarnation, sizeof(e->incarnation), "%" PRIx64 "-%ld", (uint64_t)pgcdc__wall_us(),
             (long)getpid());
    return PGCDC_OK;
}

int pgcdc__kafka_eos_conf(pgcdc__kafka *ks, void *arg)
{
    pgcdc__kafka_eos *e = ks->eos;
    rd_kafka_conf_t *conf = arg;
    char why[512];
    char num[32];

    if (e->tid == NULL) {
        size_t n = strlen(pgcdc__sink_database(ks->sink)) + strlen(pgcdc__sink_slot(ks->sink)) + 8;

        e->tid = malloc(n);
        if (e->tid == NULL)
            return pgcdc_sink_fail(ks->sink, PGCDC_ERR_NOMEM, "out of memory");
        snprintf(e->tid, n, "pgcdc.%s.%s", pgcdc__sink_database(ks->sink),
                 pgcdc__sink_slot(ks->sink));
    }
    snprintf(num, sizeof(num), "%lld", ks->max_elapsed_ms);
    if (rd_kafka_conf_set(conf, "transactional.id", e->tid, why, sizeof(why)) != RD_KAFKA_CONF_OK ||
        rd_kafka_conf_set(conf, "transaction.timeout.ms", num, why, sizeof(why)) !=
            RD_KAFKA_CONF_OK)
        return pgcdc_sink_fail(ks->sink, PGCDC_ERR_INVALID, "sink \"%s\": %s", ks->sink->shown,
                               why);
    return PGCDC_OK;
}

/* Takes a librdkafka error object: its text into the sink's context, with what failed. */
static int fail_with(pgcdc__kafka *ks, rd_kafka_error_t *error, const char *what)
{
    int r = pgcdc_sink_fail(ks->sink, PGCDC_ERR_IO, "sink \"%s\": %s: %s (" NOTHING_LOST ")",
                            ks->sink->shown, what, rd_kafka_error_string(error));

    rd_kafka_error_destroy(error);
    return r;
}

/* The end LSN in a progress record's value ({"end_lsn":"X/X",...}), or 0. */
static uint64_t progress_lsn(const char *value, size_t len)
{
    static const char field[] = "\"end_lsn\":\"";
    char text[32];
    const char *at;
    const char *end;
    uint64_t lsn = 0;
    char *copy = strndup(value, len);

    if (copy == NULL)
        return 0;
    at = strstr(copy, field);
    if (at != NULL) {
        at += sizeof(field) - 1;
        end = strchr(at, '"');
        if (end != NULL && (size_t)(end - at) < sizeof(text)) {
            memcpy(text, at, (size_t)(end - at));
            text[end - at] = '\0';
            if (pgcdc_lsn_parse(text, &lsn) != PGCDC_OK)
                lsn = 0;
        }
    }
    free(copy);
    return lsn;
}

/*
 * The progress topic, compacted so that the last record of each key stays;
 * one that exists already is fine.  A cluster that cannot create it (or a
 * user who may not) gets it auto-created, with a warning to make it
 * compacted: under a delete policy the position would expire.
 */
static void create_progress_topic(pgcdc__kafka *ks)
{
    pgcdc__kafka_eos *e = ks->eos;
    char why[512] = "";
    rd_kafka_NewTopic_t *nt = rd_kafka_NewTopic_new(e->progress_topic, 1, -1, why, sizeof(why));
    rd_kafka_queue_t *q = rd_kafka_queue_new(ks->rk);
    rd_kafka_AdminOptions_t *opt =
        rd_kafka_AdminOptions_new(ks->rk, RD_KAFKA_ADMIN_OP_CREATETOPICS);
    rd_kafka_event_t *ev = NULL;
    rd_kafka_resp_err_t err = RD_KAFKA_RESP_ERR__FAIL;

    if (nt != NULL && q != NULL && opt != NULL &&
        rd_kafka_NewTopic_set_config(nt, "cleanup.policy", "compact") == 0 &&
        rd_kafka_AdminOptions_set_request_timeout(opt, CREATE_TIMEOUT_MS, why, sizeof(why)) == 0) {
        rd_kafka_CreateTopics(ks->rk, &nt, 1, opt, q);
        ev = rd_kafka_queue_poll(q, CREATE_TIMEOUT_MS + 1000);
    }
    if (ev != NULL) {
        const rd_kafka_CreateTopics_result_t *res = rd_kafka_event_CreateTopics_result(ev);
        size_t n = 0;
        const rd_kafka_topic_result_t **tr =
            res != NULL ? rd_kafka_CreateTopics_result_topics(res, &n) : NULL;

        err = rd_kafka_event_error(ev);
        snprintf(why, sizeof(why), "%s", rd_kafka_err2str(err));
        if (err == RD_KAFKA_RESP_ERR_NO_ERROR && n == 1) {
            err = rd_kafka_topic_result_error(tr[0]);
            snprintf(why, sizeof(why), "%s",
                     rd_kafka_topic_result_error_string(tr[0]) != NULL
                         ? rd_kafka_topic_result_error_string(tr[0])
                         : rd_kafka_err2str(err));
        }
        rd_kafka_event_destroy(ev);
    }
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR && err != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS)
        pgcdc_sink_log(ks->sink, PGCDC_LOG_WARNING,
                       "sink \"%s\": could not create \"%s\" (%s): create it with "
                       "cleanup.policy=compact, or the position it keeps may expire",
                       ks->sink->shown, e->progress_topic, why[0] ? why : "no answer");
    if (nt != NULL)
        rd_kafka_NewTopic_destroy(nt);
    if (q != NULL)
        rd_kafka_queue_destroy(q);
    if (opt != NULL)
        rd_kafka_AdminOptions_destroy(opt);
}

/* A consumer of committed records for the progress topic. */
static rd_kafka_t *progress_consumer(pgcdc__kafka *ks, char *why, size_t size)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    const char *name;
    const char *value;
    char ignored[256];
    rd_kafka_t *rk;

    if (conf == NULL)
        return NULL;
    /* The user's settings (security, say) first; those only a producer knows do no harm. */
    for (int i = 0; pgcdc__sink_prop_at(ks->sink, i, &name, &value); i++) {
        if (pgcdc__sink_property(ks->sink->ops, name) == NULL && strcmp(name, "format") != 0)
            rd_kafka_conf_set(conf, name, value, ignored, sizeof(ignored));
    }
    rd_kafka_conf_set(conf, "bootstrap.servers", ks->brokers, ignored, sizeof(ignored));
    rd_kafka_conf_set(conf, "group.id", ks->eos->tid, ignored, sizeof(ignored));
    rd_kafka_conf_set(conf, "isolation.level", "read_committed", ignored, sizeof(ignored));
    rd_kafka_conf_set(conf, "enable.partition.eof", "true", ignored, sizeof(ignored));
    rd_kafka_conf_set(conf, "enable.auto.commit", "false", ignored, sizeof(ignored));
    rd_kafka_conf_set(conf, "log_level", "0", ignored, sizeof(ignored));
    rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, why, size);
    if (rk == NULL)
        rd_kafka_conf_destroy(conf);
    return rk;
}

/* The partitions of the progress topic from the beginning: how many, or -1 (why says). */
static int assign_progress(pgcdc__kafka *ks, rd_kafka_t *rk, char *why, size_t size)
{
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, ks->eos->progress_topic, NULL);
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_topic_partition_list_t *parts;
    rd_kafka_resp_err_t err;
    int n = 0;

    if (rkt == NULL) {
        snprintf(why, size, "%s", rd_kafka_err2str(rd_kafka_last_error()));
        return -1;
    }
    err = rd_kafka_metadata(rk, 0, rkt, &md, 30000);
    rd_kafka_topic_destroy(rkt);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        snprintf(why, size, "%s", rd_kafka_err2str(err));
        return -1;
    }
    /* A topic that does not exist yet holds no position. */
    if (md->topic_cnt != 1 || md->topics[0].err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        rd_kafka_metadata_destroy(md);
        return 0;
    }
    parts = rd_kafka_topic_partition_list_new(md->topics[0].partition_cnt);
    for (int i = 0; i < md->topics[0].partition_cnt; i++)
        rd_kafka_topic_partition_list_add(parts, ks->eos->progress_topic,
                                          md->topics[0].partitions[i].id)
            ->offset = RD_KAFKA_OFFSET_BEGINNING;
    n = md->topics[0].partition_cnt;
    rd_kafka_metadata_destroy(md);
    err = rd_kafka_assign(rk, parts);
    rd_kafka_topic_partition_list_destroy(parts);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        snprintf(why, size, "%s", rd_kafka_err2str(err));
        return -1;
    }
    return n;
}

/* The last position written for our transactional id, read to the end of every partition. */
static int read_progress(pgcdc__kafka *ks)
{
    pgcdc__kafka_eos *e = ks->eos;
    char why[512] = "";
    int64_t until = pgcdc__now_us() + (int64_t)PROGRESS_READ_MS * 1000;
    size_t klen = strlen(e->tid);
    rd_kafka_t *rk = progress_consumer(ks, why, sizeof(why));
    int left;

    if (rk == NULL)
        return pgcdc_sink_fail(ks->sink, PGCDC_ERR_IO, "sink \"%s\": could not read \"%s\": %s",
                               ks->sink->shown, e->progress_topic, why);
    left = assign_progress(ks, rk, why, sizeof(why));
    if (left == 0)
        create_progress_topic(ks);
    while (left > 0 && pgcdc__now_us() < until && !pgcdc__sink_stopping(ks->sink)) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);

        if (m == NULL)
            continue;
        if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF)
            left--;
        else if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR && m->key_len == klen &&
                 memcmp(m->key, e->tid, klen) == 0 && m->payload != NULL)
            e->done_lsn = progress_lsn(m->payload, m->len);
        rd_kafka_message_destroy(m);
    }
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    if (left != 0)
        return pgcdc_sink_fail(ks->sink, PGCDC_ERR_IO, "sink \"%s\": could not read \"%s\": %s",
                               ks->sink->shown, e->progress_topic,
                               left < 0 ? why : "no end of the topic in time");
    if (e->done_lsn != 0) {
        char lsn[32];

        pgcdc_sink_log(ks->sink, PGCDC_LOG_INFO,
                       "sink \"%s\": transactions up to %s are in Kafka already (\"%s\")",
                       ks->sink->shown, pgcdc_lsn_format(e->done_lsn, lsn, sizeof(lsn)),
                       e->progress_topic);
    }
    return PGCDC_OK;
}

int pgcdc__kafka_eos_start(pgcdc__kafka *ks)
{
    int64_t until = pgcdc__now_us() + ks->max_elapsed_ms * 1000;

    /* Fences a previous incarnation and aborts what it left open. */
    for (;;) {
        rd_kafka_error_t *error = rd_kafka_init_transactions(ks->rk, 30000);

        if (error == NULL)
            break;
        if (!rd_kafka_error_is_retriable(error) || pgcdc__now_us() >= until ||
            pgcdc__sink_stopping(ks->sink))
            return fail_with(ks, error, "could not start transactions");
        rd_kafka_error_destroy(error);
    }
    return read_progress(ks);
}

int pgcdc__kafka_eos_begin(pgcdc__kafka *ks, const pgcdc_sink_event *ev, const char **batch)
{
    pgcdc__kafka_eos *e = ks->eos;
    const pgcdc_txn *txn = pgcdc_sink_event_txn(ev);
    rd_kafka_error_t *error;

    if (e->broken)
        return pgcdc__kafka_eos_broken(ks);
    if (pgcdc_sink_event_kind(ev) == PGCDC_EVENT_BEGIN) {
        /* Committed before the last end written (or in this batch already): skipped. */
        e->skipping =
            pgcdc_txn_commit_lsn(txn) < e->done_lsn || pgcdc_txn_commit_lsn(txn) < e->last_end;
        e->in_pg_txn = 1;
    }
    if (e->skipping) {
        if (pgcdc_sink_event_kind(ev) == PGCDC_EVENT_COMMIT) {
            e->skipping = 0;
            e->in_pg_txn = 0;
        }
        return 1;
    }
    if (!e->in_txn) {
        error = rd_kafka_begin_transaction(ks->rk);
        if (error != NULL) {
            e->broken = 1;
            return fail_with(ks, error, "could not begin a transaction");
        }
        e->in_txn = 1;
        e->events = 0;
        e->started_us = pgcdc__now_us();
        snprintf(e->batch, sizeof(e->batch), "%s-%lu", e->incarnation, ++e->batch_no);
    }
    *batch = e->batch;
    return PGCDC_OK;
}

/*
 * Commits the batch: its messages delivered first, then the progress record
 * (so that a progress record, once seen, is never ahead of the data, even on
 * a cluster that shows uncommitted records), then the commit; then every
 * commit it holds is acknowledged.
 */
static int commit_batch(pgcdc__kafka *ks, uint64_t own_token)
{
    pgcdc__kafka_eos *e = ks->eos;
    char value[160];
    char lsn[32];
    rd_kafka_error_t *error;
    int r;

    /* In slices: once the worker is asked to stop, it waits a few seconds more at most. */
    for (int64_t until = pgcdc__now_us() + ks->max_elapsed_ms * 1000;
         rd_kafka_outq_len(ks->rk) > 0 && pgcdc__now_us() < until;) {
        if (pgcdc__sink_stopping(ks->sink) && until > pgcdc__now_us() + STOP_GRACE_US)
            until = pgcdc__now_us() + STOP_GRACE_US;
        rd_kafka_flush(ks->rk, 500);
        /* An outage lived through here is told too, not only its end. */
        pgcdc__kafka_log_state(ks);
    }
    r = pgcdc__inflight_check(&ks->inflight);
    if (r != PGCDC_OK || rd_kafka_outq_len(ks->rk) > 0) {
        pgcdc__kafka_eos_broken(ks);
        return r != PGCDC_OK
                   ? r
                   : pgcdc_sink_fail(ks->sink, PGCDC_ERR_IO,
                                     "sink \"%s\": the batch was not delivered within %lld ms "
                                     "(or a stop's grace) (" NOTHING_LOST ")",
                                     ks->sink->shown, ks->max_elapsed_ms);
    }
    snprintf(value, sizeof(value), "{\"end_lsn\":\"%s\",\"batch\":\"%s\"}",
             pgcdc_lsn_format(e->last_end, lsn, sizeof(lsn)), e->batch);
    r = pgcdc__kafka_produce(ks, e->progress_topic, RD_KAFKA_PARTITION_UA, e->tid, strlen(e->tid),
                             value, strlen(value), NULL, -1, e->batch, NULL);
    if (r != PGCDC_OK)
        return pgcdc__kafka_eos_broken(ks);
    for (;;) {
        error = rd_kafka_commit_transaction(ks->rk, (int)ks->max_elapsed_ms);
        if (error == NULL)
            break;
        if (!rd_kafka_error_is_retriable(error) || pgcdc__sink_stopping(ks->sink)) {
            e->broken = 1;
            if (rd_kafka_error_txn_requires_abort(error)) {
                rd_kafka_error_t *aerr = rd_kafka_abort_transaction(ks->rk, 30000);

                if (aerr != NULL)
                    rd_kafka_error_destroy(aerr);
                e->in_txn = 0;
            }
            return fail_with(ks, error, "could not commit a transaction");
        }
        rd_kafka_error_destroy(error);
    }
    e->in_txn = 0;
    e->done_lsn = e->last_end;
    for (size_t i = 0; i < e->ntokens; i++) {
        if (e->tokens[i] != own_token)
            pgcdc_sink_ack(ks->sink, e->tokens[i]);
    }
    e->ntokens = 0;
    return PGCDC_OK;
}

int pgcdc__kafka_eos_commit(pgcdc__kafka *ks, const pgcdc_sink_event *ev)
{
    pgcdc__kafka_eos *e = ks->eos;
    uint64_t token = pgcdc_sink_event_token(ev);
    int r;

    e->in_pg_txn = 0;
    e->events += pgcdc_txn_nchanges(pgcdc_sink_event_txn(ev)) + 1;
    e->last_end = pgcdc_txn_end_lsn(pgcdc_sink_event_txn(ev));
    if (e->ntokens == e->captokens) {
        size_t cap = e->captokens ? e->captokens * 2 : 64;
        uint64_t *grown = realloc(e->tokens, cap * sizeof(*grown));

        if (grown == NULL) {
            pgcdc__kafka_eos_broken(ks);
            return pgcdc_sink_fail(ks->sink, PGCDC_ERR_IO, "out of memory");
        }
        e->tokens = grown;
        e->captokens = cap;
    }
    e->tokens[e->ntokens++] = token;
    if (e->events < e->batch_size && pgcdc__now_us() - e->started_us < e->linger_ms * 1000)
        return PGCDC_DEFER;
    r = commit_batch(ks, token);
    return r != PGCDC_OK ? r : PGCDC_HANDLED;
}

int pgcdc__kafka_eos_flush(pgcdc__kafka *ks)
{
    pgcdc__kafka_eos *e = ks->eos;

    if (e->broken)
        return pgcdc__kafka_eos_broken(ks);
    /* Only whole PostgreSQL transactions go in a Kafka transaction. */
    if (!e->in_txn || e->in_pg_txn || e->ntokens == 0)
        return PGCDC_OK;
    return commit_batch(ks, 0);
}

int pgcdc__kafka_eos_broken(pgcdc__kafka *ks)
{
    pgcdc__kafka_eos *e = ks->eos;

    e->broken = 1;
    if (e->in_txn) {
        rd_kafka_error_t *error = rd_kafka_abort_transaction(ks->rk, 30000);

        if (error != NULL)
            rd_kafka_error_destroy(error);
        e->in_txn = 0;
    }
    /* Halts the worker whatever the error policy: a restart picks up from the progress topic. */
    if (pgcdc__inflight_check(&ks->inflight) == PGCDC_OK && ks->sink->ctx->msg[0] == '\0')
        pgcdc_sink_fail(ks->sink, PGCDC_ERR_IO,
                        "sink \"%s\": the Kafka transaction was aborted (" NOTHING_LOST ")",
                        ks->sink->shown);
    return PGCDC_ERR_IO;
}

void pgcdc__kafka_eos_close(pgcdc__kafka *ks)
{
    pgcdc__kafka_eos *e = ks->eos;

    if (ks->rk != NULL && e->in_txn) {
        rd_kafka_error_t *error = rd_kafka_abort_transaction(ks->rk, 5000);

        if (error != NULL)
            rd_kafka_error_destroy(error);
    }
    free(e->tokens);
    free(e->tid);
    free(e->progress_topic);
    free(e);
    ks->eos = NULL;
}

void pgcdc__kafka_eos_failed(pgcdc__kafka *ks, const char *topic, const char *reason)
{
    pgcdc__inflight_fail(&ks->inflight, PGCDC_ERR_IO,
                         "could not deliver to topic \"%s\": %s (" NOTHING_LOST ")", topic, reason);
}
