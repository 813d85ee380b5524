/*
 * The kafka sink's state, shared by src/sink/kafka.c (the producer, delivery
 * reports, acknowledgement per transaction) and src/sink/kafka_eos.c (the
 * exactly-once mode: Kafka transactions and the progress topic), and
 * src/sink/kafka_conf.c (properties, topic handles, outage logging).  Only
 * those three files include librdkafka; this header names its types only.
 */
#ifndef PGCDC_SINK_KAFKA_INT_H
#define PGCDC_SINK_KAFKA_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "sink/async.h"
#include "sink/sink.h"

typedef struct rd_kafka_s rd_kafka_t;
typedef struct rd_kafka_topic_s rd_kafka_topic_t;
struct pgcdc__ktopic;

/*
 * A PostgreSQL transaction's messages not yet reported delivered.  refs
 * counts them, plus one while the worker still writes the transaction;
 * whoever drops the last reference acknowledges (when deferred and no
 * message failed) and frees it.
 */
typedef struct pgcdc__ktxn {
    uint64_t token;
    atomic_int refs;
    int deferred;      /* its commit returned PGCDC_DEFER (set before the worker's drop) */
    atomic_int failed; /* a message failed: never acknowledged */
} pgcdc__ktxn;

/* A message the cluster refused for good, for the dead-letter file (worker's thread). */
typedef struct pgcdc__kdead {
    struct pgcdc__kdead *next;
    pgcdc__ktxn *t;
    char *payload;
    size_t len;
    char why[256];
} pgcdc__kdead;

typedef struct pgcdc__kafka_eos pgcdc__kafka_eos;

typedef struct pgcdc__kafka {
    pgcdc_sink *sink;
    rd_kafka_t *rk;
    pgcdc__inflight inflight;
    pthread_t poller;
    int poller_started;
    atomic_int quit;
    pthread_mutex_t mu; /* guards the ktxns, the dead list and the state below */
    char *brokers;
    char *topic_tmpl;
    char *prefix;
    char *txn_topic; /* NULL: no transaction metadata */
    int tombstones;
    int dead_letter;    /* the error policy is the dead-letter file */
    atomic_int closing; /* reports now are of purged messages */
    long long max_inflight;
    long long max_elapsed_ms;
    pgcdc__ktxn *cur; /* the transaction being written */
    pgcdc__kdead *dead;
    pgcdc__kdead **dead_tail;
    /* The cluster's state as reports tell it, logged by the worker once per change. */
    atomic_int down; /* read unlocked by the threads that take reports */
    atomic_int news; /* the state changed or a message is refused: chores has work */
    unsigned state_seq;
    unsigned logged_seq;
    int logged_down; /* the last line logged said down */
    char state_msg[256];
    pgcdc__buf topic;             /* scratch: the expanded topic name */
    struct pgcdc__ktopic *topics; /* the topic handles by name (kafka_conf.c) */
    size_t ntopics;
    size_t topics_cap;
    pgcdc__kafka_eos *eos;
    /* The headers' text of the transaction being written. */
    uint64_t hdr_lsn;
    uint32_t hdr_xid;
    int hdr_set;
    char lsn_text[24];
    char xid_text[12];
    size_t lsn_len;
    size_t xid_len;
} pgcdc__kafka;

/*
 * What librdkafka keeps for a message besides its value and key (measured on
 * 2.0: the message, its headers and the allocator's own, about 500 bytes),
 * counted against the bound on bytes in flight so the bound is memory.
 */
#define PGCDC__KAFKA_OVERHEAD 512

/*
 * Produces one message (value may be NULL: a tombstone) to partition
 * (RD_KAFKA_PARTITION_UA: the partitioner's choice), reserving its bytes
 * first; opaque goes to the delivery report.  PGCDC_OK or an error (message
 * in the sink's context).  Worker's thread.
 */
int pgcdc__kafka_produce(pgcdc__kafka *ks, const char *topic, int32_t partition, const char *key,
                         size_t klen, const char *value, size_t vlen, const pgcdc_txn *txn,
                         long seq, const char *batch, void *opaque);
/* Logs the cluster's state (down, delivering again) once per change.  Worker's thread. */
void pgcdc__kafka_log_state(pgcdc__kafka *ks);
/* kafka://HOST:PORT[,HOST:PORT]/TOPIC: PGCDC_OK or PGCDC_ERR_INVALID with a reason in err. */
int pgcdc__kafka_check_uri(const char *uri, char *err, size_t errlen);
/* Splits a checked URI into ks->brokers and ks->topic_tmpl.  PGCDC_OK or PGCDC_ERR_NOMEM. */
int pgcdc__kafka_split_uri(pgcdc__kafka *ks, const char *uri);
/* A librdkafka property: PGCDC_OK when librdkafka takes it, else its reason in err. */
int pgcdc__kafka_check_property(const char *name, const char *value, char *err, size_t errlen);
/*
 * Expands the topic template for a change (tmpl: a script's route, NULL: the sink's own)
 * into ks->topic: the name, or NULL (out of memory).
 */
const char *pgcdc__kafka_topic(pgcdc__kafka *ks, const char *tmpl, const char *schema,
                               const char *table);

/*
 * The producer's handle for a topic, made at its first use (which asks the
 * cluster for its partitions at once).  NULL: out of memory.  Worker's thread.
 */
rd_kafka_topic_t *pgcdc__kafka_topic_handle(pgcdc__kafka *ks, const char *name);
/* Lets go of the topic handles (before the producer is destroyed). */
void pgcdc__kafka_topics_free(pgcdc__kafka *ks);

/* ---- exactly-once (kafka_eos.c) ---- */

/* Reads the mode's properties into a new ks->eos.  PGCDC_OK or an error. */
int pgcdc__kafka_eos_new(pgcdc__kafka *ks);
/* Sets the transactional producer's properties on conf (an rd_kafka_conf_t *). */
int pgcdc__kafka_eos_conf(pgcdc__kafka *ks, void *conf);
/* The producer was made: fences a previous one and reads the position written. */
int pgcdc__kafka_eos_start(pgcdc__kafka *ks);
/*
 * Before an event's messages: 1 when its transaction was written already
 * (skip it), PGCDC_OK with *batch (the Kafka transaction's label, for a
 * header) when it is to be produced, or an error.
 */
int pgcdc__kafka_eos_begin(pgcdc__kafka *ks, const pgcdc_sink_event *ev, const char **batch);
/* After a commit event's messages: PGCDC_HANDLED (the batch committed), DEFER or an error. */
int pgcdc__kafka_eos_commit(pgcdc__kafka *ks, const pgcdc_sink_event *ev);
/* A message could not be produced: the Kafka transaction is aborted, the sink fails. */
int pgcdc__kafka_eos_broken(pgcdc__kafka *ks);
/* Idle: commits the open batch (and acknowledges it).  PGCDC_OK or an error. */
int pgcdc__kafka_eos_flush(pgcdc__kafka *ks);
/* Aborts an open Kafka transaction (bounded) and frees the mode's state. */
void pgcdc__kafka_eos_close(pgcdc__kafka *ks);
/* A delivery report's failure in exactly-once mode (any thread). */
void pgcdc__kafka_eos_failed(pgcdc__kafka *ks, const char *topic, const char *reason);

#endif /* PGCDC_SINK_KAFKA_INT_H */
