/*
 * The Kafka sink's test helpers: librdkafka's mock cluster in-process, and
 * a consumer that reads a topic back (every partition, from the beginning).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include "kafka_read.h"
#include "testlib.h"

/* A read waits this long at most for the messages it wants. */
#define READ_WAIT_S 120

static void quiet(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    (void)rk;
    (void)level;
    (void)fac;
    (void)buf;
}

void kt_mock_start(kt_mock *m, int n)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    char err[256];

    memset(m, 0, sizeof(*m));
    rd_kafka_conf_set_log_cb(conf, quiet);
    m->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
    if (m->rk == NULL)
        fail_msg("mock handle: %s", err);
    m->mc = rd_kafka_mock_cluster_new(m->rk, n);
    assert_non_null(m->mc);
    snprintf(m->bootstrap, sizeof(m->bootstrap), "%s", rd_kafka_mock_cluster_bootstraps(m->mc));
    m->nbrokers = n;
}

void kt_mock_stop(kt_mock *m)
{
    if (m->mc != NULL)
        rd_kafka_mock_cluster_destroy(m->mc);
    if (m->rk != NULL)
        rd_kafka_destroy(m->rk);
    memset(m, 0, sizeof(*m));
}

void kt_mock_all(kt_mock *m, int down)
{
    for (int i = 1; i <= m->nbrokers; i++) {
        if (down)
            rd_kafka_mock_broker_set_down(m->mc, i);
        else
            rd_kafka_mock_broker_set_up(m->mc, i);
    }
}

static char *dup_n(const void *p, size_t n)
{
    char *s = malloc(n + 1);

    assert_non_null(s);
    if (n > 0)
        memcpy(s, p, n);
    s[n] = '\0';
    return s;
}

static void header(rd_kafka_headers_t *hdrs, const char *name, char *buf, size_t size)
{
    const void *v;
    size_t n;

    buf[0] = '\0';
    if (hdrs != NULL && rd_kafka_header_get_last(hdrs, name, &v, &n) == 0 && v != NULL)
        snprintf(buf, size, "%.*s", (int)n, (const char *)v);
}

static void add(kt_read *out, const rd_kafka_message_t *km)
{
    rd_kafka_headers_t *hdrs = NULL;
    char text[32];
    kt_msg *m;

    if (out->n == out->cap) {
        out->cap = out->cap ? out->cap * 2 : 256;
        out->m = realloc(out->m, out->cap * sizeof(*out->m));
        assert_non_null(out->m);
    }
    m = &out->m[out->n++];
    memset(m, 0, sizeof(*m));
    m->partition = km->partition;
    m->offset = km->offset;
    m->key = km->key != NULL ? dup_n(km->key, km->key_len) : NULL;
    m->value = km->payload != NULL ? dup_n(km->payload, km->len) : NULL;
    rd_kafka_message_headers(km, &hdrs);
    header(hdrs, "commit_lsn", m->commit_lsn, sizeof(m->commit_lsn));
    header(hdrs, "batch", m->batch, sizeof(m->batch));
    header(hdrs, "seq", text, sizeof(text));
    m->seq = text[0] ? atol(text) : -1;
    header(hdrs, "xid", text, sizeof(text));
    m->xid = text[0] ? atol(text) : -1;
}

/* The topic's partitions, assigned from the beginning: how many (0 while it does not exist). */
static int assign_all(rd_kafka_t *rk, const char *topic)
{
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_topic_partition_list_t *parts;
    int n = 0;

    if (rd_kafka_metadata(rk, 0, rkt, &md, 5000) != RD_KAFKA_RESP_ERR_NO_ERROR) {
        rd_kafka_topic_destroy(rkt);
        return 0;
    }
    rd_kafka_topic_destroy(rkt);
    if (md->topic_cnt == 1 && md->topics[0].err == 0)
        n = md->topics[0].partition_cnt;
    parts = rd_kafka_topic_partition_list_new(n > 0 ? n : 1);
    for (int i = 0; i < n; i++)
        rd_kafka_topic_partition_list_add(parts, topic, md->topics[0].partitions[i].id)->offset =
            RD_KAFKA_OFFSET_BEGINNING;
    rd_kafka_metadata_destroy(md);
    if (n > 0)
        assert_int_equal(rd_kafka_assign(rk, parts), 0);
    rd_kafka_topic_partition_list_destroy(parts);
    return n;
}

void kt_read_topic(const char *bootstrap, const char *topic, size_t want, int committed,
                   kt_read *out)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    time_t until = time(NULL) + READ_WAIT_S;
    char err[256];
    char group[64];
    int eof[64] = {0};
    int nparts = 0;
    rd_kafka_t *rk;

    memset(out, 0, sizeof(*out));
    snprintf(group, sizeof(group), "kt-%ld", (long)rand());
    rd_kafka_conf_set_log_cb(conf, quiet);
    rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap, err, sizeof(err));
    rd_kafka_conf_set(conf, "group.id", group, err, sizeof(err));
    rd_kafka_conf_set(conf, "enable.partition.eof", "true", err, sizeof(err));
    rd_kafka_conf_set(conf, "enable.auto.commit", "false", err, sizeof(err));
    rd_kafka_conf_set(conf, "isolation.level", committed ? "read_committed" : "read_uncommitted",
                      err, sizeof(err));
    rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof(err));
    if (rk == NULL)
        fail_msg("consumer: %s", err);
    while (time(NULL) < until) {
        rd_kafka_message_t *km;
        int all_eof = nparts > 0;

        if (nparts == 0) {
            nparts = assign_all(rk, topic);
            assert_true(nparts <= 64);
            if (nparts == 0) {
                struct timespec ts = {0, 100000000};

                nanosleep(&ts, NULL);
                continue;
            }
        }
        for (int i = 0; i < nparts; i++)
            all_eof = all_eof && eof[i];
        if (all_eof && out->n >= want)
            break;
        km = rd_kafka_consumer_poll(rk, 100);
        if (km == NULL)
            continue;
        if (km->err == RD_KAFKA_RESP_ERR__PARTITION_EOF && km->partition < 64)
            eof[km->partition] = 1;
        else if (km->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
            if (km->partition < 64)
                eof[km->partition] = 0;
            add(out, km);
        }
        rd_kafka_message_destroy(km);
    }
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
}

void kt_read_free(kt_read *out)
{
    for (size_t i = 0; i < out->n; i++) {
        free(out->m[i].key);
        free(out->m[i].value);
    }
    free(out->m);
    memset(out, 0, sizeof(*out));
}

const kt_msg *kt_find_key(const kt_read *rd, const char *key, size_t from)
{
    for (size_t i = from; i < rd->n; i++) {
        if (rd->m[i].key != NULL && strcmp(rd->m[i].key, key) == 0)
            return &rd->m[i];
    }
    return NULL;
}
