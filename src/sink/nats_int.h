/*
 * Inside the NATS JetStream sink: see src/sink/nats.c (delivery) and
 * src/sink/nats_conn.c (URI, NATS's text protocol on a socket of its own,
 * the stream).
 */
#ifndef PGCDC_SINK_NATS_INT_H
#define PGCDC_SINK_NATS_INT_H

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/log.h"
#include "pgcdc.h"

/* Where a message stands. */
enum { NM_UNSENT, NM_SENT, NM_ACKED, NM_RETRY, NM_REFUSED };

/* try_connect's and the readers' results besides PGCDC_OK and failures. */
#define PGCDC__NATS_RETRY 1   /* not there, or lost: try again */
#define PGCDC__NATS_REFUSED 2 /* refused: trying again would not do (why set) */

/* A message, or a commit waiting for the PubAcks of the messages before it. */
typedef struct nmsg {
    uint64_t token; /* a commit's; 0 for a message */
    size_t start;   /* its HPUB's bytes in out (a commit: where the next would start) */
    size_t sublen;  /* its subject at start + 5 */
    size_t data;    /* its event's bytes in out */
    size_t len;
    int state;
    char *why; /* a refusal's reason */
} nmsg;

typedef struct pgcdc__nats {
    pgcdc_sink *sink;
    char *host;
    int port;
    char *tmpl; /* with ${prefix} put in */
    char *prefix;
    char *stream;
    char *user;
    char *password;
    char *token;
    int create_stream;
    long long dup_window_ms;
    long long max_inflight;
    long long flush_ms;
    long long timeout_ms;
    long long max_elapsed_ms;
    int dead_letter;
    /* The connection. */
    int fd;         /* -1: not connected */
    char inbox[40]; /* the sink's reply subjects: <inbox>.<index>, <inbox>.r */
    long long max_payload;
    pgcdc__buf in; /* read from the server, not yet taken */
    size_t in_off;
    /* The messages from done on, their HPUBs in out. */
    pgcdc__buf out;
    nmsg *q;
    size_t nq;
    size_t capq;
    size_t sent;        /* entries before it were written once on this connection */
    size_t done;        /* entries before it were acknowledged */
    uint64_t base;      /* the index in reply subjects of q[0] */
    size_t nsent;       /* messages SENT: written, no answer yet */
    int retry;          /* a message is RETRY: a round is over when nothing is SENT */
    int probe;          /* after trouble, the first message goes alone */
    int64_t oldest_us;  /* when the first entry not written was queued */
    int64_t trouble_us; /* since when nothing was acknowledged after trouble (0: none) */
    int backoff_ms;
    uint64_t duplicates; /* PubAcks saying the stream had the message */
    /* A request to the JetStream API: its answer, once come. */
    int req_wait;
    pgcdc__buf reply;
    int reply_503;
    int stream_ready;
    uint64_t snap_lsn;
    uint64_t snap_next;
    pgcdc__buf subj;
    int down;      /* trouble was logged */
    int failed;    /* sticky: refused for good */
    char why[512]; /* the last cause of a retry */
    char failure[PGCDC__MSG_SIZE];
} pgcdc__nats;

/* The URI checked: PGCDC_OK, or PGCDC_ERR_INVALID with a reason in err. */
int pgcdc__nats_check_uri(const char *uri, char *err, size_t errlen);
/* Host, port and template of a checked URI, the prefix and stream properties checked. */
int pgcdc__nats_split_uri(pgcdc__nats *ns, const char *uri);
/* Characters of a schema or table name kept in a subject (others become '_'). */
int pgcdc__nats_name_char(int ch);
/* Connects, logs in, subscribes to the inbox: PGCDC_OK, RETRY or REFUSED (why set). */
int pgcdc__nats_try_connect(pgcdc__nats *ns, char *why, size_t size);
void pgcdc__nats_disconnect(pgcdc__nats *ns);
/*
 * Reads what the server sent, waiting up to wait_ms for something (0: not at
 * all), answering its PINGs and passing each reply to the sink's inbox to
 * pgcdc__nats_answer (or to a request's wait).  PGCDC_OK (*idle when nothing
 * came), RETRY (the connection lost; why set) or a failure.
 */
int pgcdc__nats_read(pgcdc__nats *ns, long long wait_ms, int *idle);
/* Writes len bytes, reading the server's answers whenever the socket would block. */
int pgcdc__nats_write(pgcdc__nats *ns, const void *data, size_t len);
/* A reply to message index (the PubAck's JSON, or status 503 when no stream took it). */
void pgcdc__nats_answer(pgcdc__nats *ns, uint64_t index, int status, const char *json, size_t len);
/* The stream, made when asked and missing: PGCDC_OK, RETRY (why set) or a failure. */
int pgcdc__nats_ensure_stream(pgcdc__nats *ns);
/*
 * A PubAck (or another JetStream answer): 1 when it says stored (*dup when
 * the stream had it), else 0 with its error code (0: not an answer at all)
 * and description in why.
 */
int pgcdc__nats_puback(const char *json, size_t len, int *dup, int *code, char *why, size_t size);

#endif /* PGCDC_SINK_NATS_INT_H */
