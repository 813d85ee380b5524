/*
 * The worker: its state, shared by worker.c (lifecycle, the receive loop,
 * reconnects, stop) and deliver.c (handler and sinks, retries, the error
 * policy).  Everything below it is reached through its layer's interface.
 */
#ifndef PGCDC_WORKER_H
#define PGCDC_WORKER_H

#include <stdatomic.h>
#include <stdint.h>

#include "base/log.h"
#include "base/stop.h"
#include "config.h"
#include "core/filter.h"
#include "core/ledger.h"
#include "core/tabstats.h"
#include "core/txn.h"
#include "pg/catalog.h"
#include "pg/describe.h"
#include "pg/stream.h"
#include "script.h"
#include "sink/file.h"
#include "sink/sink.h"

struct pgcdc_worker {
    pgcdc_config cfg;
    pgcdc__ctx ctx;
    atomic_int state; /* pgcdc_state */
    pgcdc__catalog cat;
    pgcdc__stop stop;
    pgcdc__ledger ledger;
    pgcdc__stream *stream;
    pgcdc__assembly *ta;
    pgcdc__describer *describer; /* names what the type table cannot; catalog facts formats need */
    struct pgcdc__snaprun *snap; /* snapshots (snapshot.c); NULL before the start */
    pgcdc__filterset filters;    /* filter.*, mask.* (core/filter.h) */
    int filtering;               /* the filters filter or mask anything */
    pgcdc__script *script;       /* --lua FILE (script.c); NULL: none */
    pgcdc__script_route route;   /* where the script sent the change being delivered */
    int binary;                  /* the stream asks for binary values */
    int proto;                   /* pgoutput protocol asked for: cfg's, or chosen for the server */
    atomic_int reopen;           /* pgcdc_worker_reopen() asked for the sinks to be reopened */
    atomic_int monitor_news;     /* the slot monitor has something to say (pgcdc__monitor_poll) */
    atomic_int sink_poke;        /* a sink's thread asked for the sinks to be flushed */
    atomic_int busy; /* in user code: the stream's keeper sends status updates meanwhile */

    /* Heartbeats and the slot's state (monitor.c); NULL until the stream begins. */
    struct pgcdc__monitor *_Atomic monitor;

    /* Sinks, and the formatters their events share. */
    pgcdc_sink **sinks;
    int nsinks;
    pgcdc__formats formats;

    uint64_t txn_token;       /* the token of the transaction being handed out */
    uint64_t resume_token;    /* the cut transaction's, until it comes again */
    int protocol_errors;      /* consecutive */
    int64_t stop_deadline_us; /* the transaction in flight may finish until then */
    uint64_t rng;
    int reconnect_delay_ms;
    int64_t stream_opened_us; /* monotonic: when the current stream started */
    uint64_t logged_flush;    /* the confirmed position last logged */

    /* The dead-letter file, opened on first use. */
    pgcdc__fileout dead;
    int dead_open;
    pgcdc_formatter *dead_fmt;

    /* Counters for pgcdc_worker_stats(), readable from any thread. */
    _Atomic uint64_t n_txns;
    _Atomic uint64_t n_changes;
    _Atomic uint64_t n_reconnects;
    _Atomic uint64_t n_retries;
    _Atomic uint64_t n_dead;
    _Atomic int64_t last_commit_time;
    pgcdc__tabstats tabstats; /* events per table and operation */
};

/* A counter only the worker's thread writes: a plain increment that other threads may read. */
static inline void pgcdc__count(_Atomic uint64_t *counter)
{
    atomic_store_explicit(counter, atomic_load_explicit(counter, memory_order_relaxed) + 1,
                          memory_order_relaxed);
}

/* worker.c: acts on one event (out: the change for a pull-mode caller; may be NULL). */
int pgcdc__handle(pgcdc_worker *w, const pgcdc__event *ev, const pgcdc_change **out, int pull);
/* worker.c: completes a relation from the catalog before its first change goes out. */
int pgcdc__describe_relation(pgcdc_worker *w, pgcdc__relation *rel);

/* session.c: opens the stream for the first time (waiting for or failing on a held slot). */
int pgcdc__stream_begin(pgcdc_worker *w);
/* session.c: the stream is lost (the context says why): open another, with backoff. */
int pgcdc__reconnect(pgcdc_worker *w);
/* 1 when retrying cannot mend r (then *r and the message are the start's own), else 0. */
int pgcdc__permanent(pgcdc_worker *w, int *r);

/* Marks the worker busy in user code, or back; a hint for the keeper, no fence needed. */
static inline void pgcdc__worker_busy(pgcdc_worker *w, int busy)
{
    atomic_store_explicit(&w->busy, busy, memory_order_relaxed);
}

/* deliver.c: each returns PGCDC_OK or the error that ends the run (context set). */
int pgcdc__deliver_open(pgcdc_worker *w);
void pgcdc__deliver_close(pgcdc_worker *w);
int pgcdc__deliver_begin(pgcdc_worker *w, const pgcdc_txn *txn);
/* to_handler: push mode (the change callback gets it too); pull mode hands it out instead. */
int pgcdc__deliver_change(pgcdc_worker *w, const pgcdc_change *c, int to_handler);
int pgcdc__deliver_commit(pgcdc_worker *w, const pgcdc_txn *txn);
/*
 * The error policy for change c that failed before delivery (a script's
 * error, in the context): PGCDC_OK once dead-lettered, else the error r.
 */
int pgcdc__deliver_failed(pgcdc_worker *w, const pgcdc_change *c, int r);
/* Caught up: the handler's idle callback, then every sink's flush. */
int pgcdc__deliver_idle(pgcdc_worker *w);
/* Every sink flushed and its destination reopened (pgcdc_worker_reopen). */
int pgcdc__deliver_reopen(pgcdc_worker *w);

#endif /* PGCDC_WORKER_H */
