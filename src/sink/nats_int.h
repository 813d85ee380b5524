/*
 * Inside the NATS JetStream sink: see src/sink/nats.c (delivery) and
 * src/sink/nats_conn.c (URI, connection, stream, libnats's callbacks).
 */
#ifndef PGCDC_SINK_NATS_INT_H
#define PGCDC_SINK_NATS_INT_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include <nats/nats.h>

#include "base/buf.h"
#include "base/log.h"
#include "pgcdc.h"

/* ---- shared by nats.c and nats_conn.c ---- */

/* Where a message stands; the ack handler moves SENT to ACKED, RETRY or REFUSED. */
enum { NM_UNSENT, NM_SENT, NM_ACKED, NM_RETRY, NM_REFUSED };

/* A message, or a commit waiting for the PubAcks of the messages before it. */
typedef struct nmsg {
    uint64_t token; /* a commit's; 0 for a message */
    size_t off;     /* subject, NUL, id, NUL, data in bytes */
    size_t sublen;
    size_t idlen;
    size_t len;
    int state;
    natsMsg *msg; /* while libnats has it: how its PubAck finds it */
    char *why;    /* a refusal's reason */
} nmsg;

typedef struct pgcdc__nats pgcdc__nats;
struct pgcdc__nats {
    pgcdc_sink *sink;
    pgcdc__nats *next_live; /* in the list of open sinks libnats may call back */
    natsOptions *opts;
    natsConnection *nc;
    jsCtx *js;
    char *host;
    int port;
    char *tmpl; /* with ${prefix} put in */
    char *prefix;
    char *stream;
    int create_stream;
    long long dup_window_ms;
    long long max_inflight;
    long long timeout_ms;
    long long max_elapsed_ms;
    int dead_letter;
    pthread_mutex_t mu;
    pthread_cond_t cond;
    /* Under mu (the worker alone adds, removes and moves them). */
    nmsg *q;
    size_t nq;
    size_t capq;
    size_t done; /* messages before it were acknowledged */
    size_t hint; /* where the next PubAck's message likely is */
    pgcdc__buf bytes;
    size_t inflight;     /* bytes of the messages from done */
    int lost;            /* something must be sent again (or was never sent) */
    uint64_t duplicates; /* PubAcks saying the stream had the message */
    char why[512];       /* the last cause of a retry */
    /* The worker's. */
    int down; /* a failure was logged */
    int64_t down_since;
    int backoff;
    int stream_ready;
    uint64_t snap_lsn;
    uint64_t snap_next;
    pgcdc__buf subj;
    int failed;
    char failure[PGCDC__MSG_SIZE];
};

/* The URI checked: PGCDC_OK, or PGCDC_ERR_INVALID with a reason in err. */
int pgcdc__nats_check_uri(const char *uri, char *err, size_t errlen);
/* Host, port and template of a checked URI, the prefix and stream properties checked. */
int pgcdc__nats_split_uri(pgcdc__nats *ns, const char *uri);
/* Characters of a schema or table name kept in a subject (others become '_'). */
int pgcdc__nats_name_char(int ch);
/* The calling thread's last libnats error (without its source position), else s's text. */
const char *pgcdc__nats_last_error(natsStatus s);
/* The connection's options (credentials, reconnecting for ever, callbacks). */
int pgcdc__nats_setup_options(pgcdc__nats *ns, const char *user, const char *password,
                              const char *token);
/* Connects (or lets libnats keep trying when nobody answers yet); puts ns on the live list. */
int pgcdc__nats_connect(pgcdc__nats *ns);
/* The stream, made when asked and missing: PGCDC_OK, 1 to try again (why set), or a failure. */
int pgcdc__nats_ensure_stream(pgcdc__nats *ns);
/* Off the live list: libnats's callbacks for it do nothing from now on. */
void pgcdc__nats_unlist(pgcdc__nats *ns);

#endif /* PGCDC_SINK_NATS_INT_H */
