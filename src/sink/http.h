/*
 * The http sink (webhooks): events POSTed in batches, one batch in flight per
 * lane, retried until a 2xx, signed as Standard Webhooks specifies.  http.c
 * holds the HTTP side (libcurl, on the sink's own thread); http_batch.c the
 * batches, lanes and acknowledgements; http_sign.c the signature.
 */
#ifndef PGCDC_SINK_HTTP_H
#define PGCDC_SINK_HTTP_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "pgcdc.h"
#include "sink/async.h"
#include "sink/sink.h"

extern const pgcdc_sink_ops pgcdc__http_sink;

/* One POST: events of one lane in order; its body is complete once sealed. */
typedef struct pgcdc__hbatch {
    struct pgcdc__hbatch *next;
    pgcdc__buf body;
    size_t nevents;
    size_t reserved;   /* bytes held in the in-flight bound */
    uint64_t seq;      /* the lane's ordinal of this batch, from 1 */
    int64_t opened_us; /* when its first event came */
    /*
     * webhook-id: "<commit_lsn>:<seq>-<commit_lsn>:<seq>" of its first and
     * last events once sealed (a batch sent again after a restart may hold
     * more events: then its id differs); the last event's in last.
     */
    char id[96];
    char last[48];
} pgcdc__hbatch;

/* A lane: its own ordered sequence of batches, one of them in flight at a time. */
typedef struct pgcdc__hlane {
    pgcdc__hbatch *open;        /* being filled by the worker */
    int ready;                  /* send the open batch as soon as the lane is free */
    pgcdc__hbatch *head, *tail; /* sealed, in order; the head is the one sent */
    uint64_t created;           /* batches begun: the newest one's seq */
    uint64_t done;              /* batches acknowledged or dead-lettered, in order */
    int busy;                   /* the head is being sent */
    int dead;                   /* the head was given up on: the worker dead-letters it */
    int attempts;               /* failed attempts at the head */
    int64_t first_fail_us;      /* when the head first failed */
    int64_t retry_at_us;        /* no attempt before then */
    char why[512];              /* why the head was given up on */
} pgcdc__hlane;

/* A line for the log, from the sink's thread, that the worker's thread logs. */
typedef struct pgcdc__hnote {
    int level;
    char text[384];
} pgcdc__hnote;

#define PGCDC__HTTP_NOTES 16

typedef struct pgcdc__http {
    pgcdc_sink *sink;
    char *url;   /* as given */
    char *shown; /* without user, password or query: for messages */
    /* Settings (the property table checked them). */
    size_t batch_size;
    size_t batch_bytes;
    int64_t linger_us;
    int ndjson;
    int64_t retry_initial_us;
    int64_t retry_max_us;
    int64_t max_elapsed_us;
    long timeout_ms;
    int nlanes;
    int dead_letter; /* the error policy is the dead-letter file */
    unsigned char key[256];
    size_t keylen;
    int sign;
    char *ca_file;
    pgcdc__inflight inflight;
    int inflight_ready;
    /* Under mu: lanes, transactions waiting, notes, state. */
    pthread_mutex_t mu;
    int mu_ready;
    pgcdc__hlane *lanes;
    uint64_t *tokens; /* transactions waiting for their batches, in commit order */
    uint64_t *needs;  /* per waiting transaction, per lane: the batch it waits for */
    size_t pcap, phead, pcount;
    pgcdc__hnote notes[PGCDC__HTTP_NOTES];
    int nnotes;
    int dropped_notes;
    int nfailing;     /* lanes whose head is failing */
    int failed;       /* halted: nothing more is sent */
    int closing;      /* close: nothing new is sent */
    int64_t close_by; /* close: when to give up on requests in flight */
    uint64_t rng;
    /* Set (any thread) when notes, a batch to dead-letter or a failure wait for the worker. */
    atomic_int news;
    /* http.c's: the transfer state and the thread. */
    void *io;
} pgcdc__http;

/* ---- http_batch.c (worker's thread unless said) ---- */
int pgcdc__http_write(pgcdc_sink *sink, const pgcdc_sink_event *ev);
int pgcdc__http_flush(pgcdc_sink *sink);
/* Logs the notes the sink's thread left (worker's thread: write, flush, close). */
void pgcdc__http_log_notes(pgcdc__http *hs);
/* Sink's thread, under mu: the batch lane l sends next, or NULL; *wait_us shortened to its linger.
 */
pgcdc__hbatch *pgcdc__http_next(pgcdc__http *hs, int l, int64_t now, int64_t *wait_us);
/* Any thread, under mu: the head of lane l was delivered (or given up on); returns its bytes. */
size_t pgcdc__http_done(pgcdc__http *hs, int l);
/* Any thread, under mu: a line for the worker to log (and news set). */
void pgcdc__http_note(pgcdc__http *hs, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Frees lanes, batches and waiting transactions; returns the events never delivered. */
size_t pgcdc__http_free_batches(pgcdc__http *hs);

/* ---- http.c ---- */
/* Any thread: has the sink's thread look at its lanes. */
void pgcdc__http_wakeup(pgcdc__http *hs);

/* ---- http_sign.c ---- */
/* The key of a "whsec_<base64>" secret: its length, or -1 when malformed. */
int pgcdc__http_secret(const char *text, unsigned char *key, size_t cap);
/*
 * "v1,<base64 of HMAC-SHA256(key, id.timestamp.body)>" into out (at least
 * 64 bytes): 0, or -1 when the crypto library fails.
 */
int pgcdc__http_sign(const unsigned char *key, size_t keylen, const char *id, const char *timestamp,
                     const void *body, size_t len, char *out, size_t size);

#endif /* PGCDC_SINK_HTTP_H */
