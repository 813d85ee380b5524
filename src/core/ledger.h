/*
 * The LSN ledger: transactions in commit order with the count of items
 * (changes, commits, sink writes) handed out and not yet acknowledged;
 * confirms the end LSN of the longest fully acknowledged, committed prefix.
 * Every function locks; acknowledgements may come from any thread.
 */
#ifndef PGCDC_CORE_LEDGER_H
#define PGCDC_CORE_LEDGER_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "base/hist.h"

typedef struct pgcdc__ledger_entry {
    uint64_t token;
    uint64_t end_lsn;  /* 0 while the transaction is open */
    int64_t commit_us; /* its commit time (Unix microseconds), 0 when unknown */
    uint32_t pending;
} pgcdc__ledger_entry;

typedef struct pgcdc__ledger {
    pthread_mutex_t mu;
    pgcdc__ledger_entry *ring;
    size_t cap;  /* power of two */
    size_t head; /* index of the oldest entry */
    size_t count;
    uint64_t next_token;
    uint64_t confirmed;  /* highest end LSN fully acknowledged */
    uint64_t idle;       /* an idle position waiting for the committed entries to drain */
    pgcdc__hist latency; /* from each transaction's commit to its confirmation, in us */
} pgcdc__ledger;

int pgcdc__ledger_init(pgcdc__ledger *l);
void pgcdc__ledger_destroy(pgcdc__ledger *l);
/* Opens a transaction; returns its token, 0 on out of memory. */
uint64_t pgcdc__ledger_begin(pgcdc__ledger *l);
/* One more unacknowledged item in the transaction. */
void pgcdc__ledger_hold(pgcdc__ledger *l, uint64_t token);
/* Acknowledges one item; returns PGCDC_ERR_INVALID for an unknown token. */
int pgcdc__ledger_ack(pgcdc__ledger *l, uint64_t token);
/*
 * Marks the transaction committed at end_lsn; commit_us (its commit time,
 * Unix microseconds, or 0) starts its commit-to-confirmation latency.
 */
void pgcdc__ledger_commit(pgcdc__ledger *l, uint64_t token, uint64_t end_lsn, int64_t commit_us);
/* Drops the open (uncommitted) transaction at the tail, if any (connection lost). */
void pgcdc__ledger_abort_open(pgcdc__ledger *l);
/* Number of transactions not yet confirmed (open or waiting for acks). */
size_t pgcdc__ledger_count(pgcdc__ledger *l);
uint64_t pgcdc__ledger_confirmed(pgcdc__ledger *l);
/* A copy of the commit-to-confirmation latency histogram. */
void pgcdc__ledger_latency(pgcdc__ledger *l, pgcdc__hist *out);
/* Items of the transaction not yet acknowledged; 0 once it is confirmed (or unknown). */
uint32_t pgcdc__ledger_pending(pgcdc__ledger *l, uint64_t token);
/*
 * Raises the confirmed LSN to lsn, a position with every transaction before
 * it handed out (an idle keepalive): at once when nothing is outstanding,
 * else when the committed transactions now outstanding are acknowledged.
 */
void pgcdc__ledger_idle_advance(pgcdc__ledger *l, uint64_t lsn);

#endif /* PGCDC_CORE_LEDGER_H */
