/*
 * What the Kafka sink's tests share: a mock cluster in the test's own
 * process, and topics read back with a real consumer.
 */
#ifndef PGCDC_TEST_KAFKA_READ_H
#define PGCDC_TEST_KAFKA_READ_H

#include <stddef.h>
#include <stdint.h>

typedef struct rd_kafka_s rd_kafka_t;
typedef struct rd_kafka_mock_cluster_s rd_kafka_mock_cluster_t;

typedef struct kt_mock {
    rd_kafka_t *rk;
    rd_kafka_mock_cluster_t *mc;
    char bootstrap[512];
    int nbrokers;
} kt_mock;

/* A cluster of n brokers; fails the test if it cannot be made. */
void kt_mock_start(kt_mock *m, int n);
void kt_mock_stop(kt_mock *m);
/* Every broker down (1) or up (0). */
void kt_mock_all(kt_mock *m, int down);

/* One message as read back. */
typedef struct kt_msg {
    int partition;
    int64_t offset;
    char *key;   /* NULL: a null key */
    char *value; /* NULL: a tombstone */
    char commit_lsn[32];
    long seq; /* -1 without the header */
    long xid;
    char batch[96];
} kt_msg;

typedef struct kt_read {
    kt_msg *m;
    size_t n;
    size_t cap;
} kt_read;

/*
 * Reads every partition of topic from the beginning until each is at its end
 * and at least want messages came (or a generous deadline passed: then with
 * what came).  committed: isolation.level=read_committed.
 */
void kt_read_topic(const char *bootstrap, const char *topic, size_t want, int committed,
                   kt_read *out);
void kt_read_free(kt_read *out);
/* The first message with this key (and from index from), or NULL. */
const kt_msg *kt_find_key(const kt_read *rd, const char *key, size_t from);

#endif /* PGCDC_TEST_KAFKA_READ_H */
