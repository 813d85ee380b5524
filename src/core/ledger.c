/*
 * The LSN ledger: transactions in commit order, each with a count of items
 * (changes, commit) not yet acknowledged.  The confirmed LSN only moves over
 * a committed transaction once everything in it and before it is acknowledged.
 */
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "core/ledger.h"
#include "pgcdc.h"

int pgcdc__ledger_init(pgcdc__ledger *l)
{
    l->cap = 64;
    l->ring = calloc(l->cap, sizeof(*l->ring));
    if (l->ring == NULL)
        return PGCDC_ERR_NOMEM;
    l->head = 0;
    l->count = 0;
    l->next_token = 1;
    l->confirmed = 0;
    l->idle = 0;
    memset(&l->latency, 0, sizeof(l->latency));
    pthread_mutex_init(&l->mu, NULL);
    return PGCDC_OK;
}

void pgcdc__ledger_destroy(pgcdc__ledger *l)
{
    if (l->ring == NULL)
        return;
    pthread_mutex_destroy(&l->mu);
    free(l->ring);
    l->ring = NULL;
}

static pgcdc__ledger_entry *at(pgcdc__ledger *l, size_t i)
{
    return &l->ring[(l->head + i) & (l->cap - 1)];
}

/*
 * Entry of a token, or NULL.  Tokens increase along the ring but may have
 * gaps (an open transaction dropped after a lost connection), so search.
 */
static pgcdc__ledger_entry *find(pgcdc__ledger *l, uint64_t token)
{
    size_t lo = 0;
    size_t hi = l->count;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        pgcdc__ledger_entry *e = at(l, mid);

        if (e->token == token)
            return e;
        if (e->token < token)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

static void advance(pgcdc__ledger *l)
{
    int64_t now = 0;

    while (l->count > 0) {
        pgcdc__ledger_entry *e = at(l, 0);

        if (e->end_lsn == 0 || e->pending > 0)
            break;
        if (e->end_lsn > l->confirmed)
            l->confirmed = e->end_lsn;
        if (e->commit_us > 0) {
            if (now == 0)
                now = pgcdc__wall_us();
            pgcdc__hist_add(&l->latency, now > e->commit_us ? (uint64_t)(now - e->commit_us) : 0);
        }
        l->head = (l->head + 1) & (l->cap - 1);
        l->count--;
    }
    if (l->count == 0 && l->idle > l->confirmed)
        l->confirmed = l->idle;
}

static int grow(pgcdc__ledger *l)
{
    size_t cap = l->cap * 2;
    pgcdc__ledger_entry *ring = calloc(cap, sizeof(*ring));

    if (ring == NULL)
        return -1;
    for (size_t i = 0; i < l->count; i++)
        ring[i] = *at(l, i);
    free(l->ring);
    l->ring = ring;
    l->cap = cap;
    l->head = 0;
    return 0;
}

uint64_t pgcdc__ledger_begin(pgcdc__ledger *l)
{
    uint64_t token = 0;

    pthread_mutex_lock(&l->mu);
    if (l->count < l->cap || grow(l) == 0) {
        pgcdc__ledger_entry *e = at(l, l->count);

        token = l->next_token++;
        e->token = token;
        e->end_lsn = 0;
        e->commit_us = 0;
        e->pending = 0;
        l->count++;
    }
    pthread_mutex_unlock(&l->mu);
    return token;
}

void pgcdc__ledger_hold(pgcdc__ledger *l, uint64_t token)
{
    pgcdc__ledger_entry *e;

    pthread_mutex_lock(&l->mu);
    e = find(l, token);
    if (e != NULL)
        e->pending++;
    pthread_mutex_unlock(&l->mu);
}

int pgcdc__ledger_ack(pgcdc__ledger *l, uint64_t token)
{
    pgcdc__ledger_entry *e;
    int r = PGCDC_ERR_INVALID;

    pthread_mutex_lock(&l->mu);
    e = find(l, token);
    if (e != NULL && e->pending > 0) {
        e->pending--;
        advance(l);
        r = PGCDC_OK;
    }
    pthread_mutex_unlock(&l->mu);
    return r;
}

void pgcdc__ledger_commit(pgcdc__ledger *l, uint64_t token, uint64_t end_lsn, int64_t commit_us)
{
    pgcdc__ledger_entry *e;

    pthread_mutex_lock(&l->mu);
    e = find(l, token);
    if (e != NULL) {
        e->end_lsn = end_lsn;
        e->commit_us = commit_us;
        advance(l);
    }
    pthread_mutex_unlock(&l->mu);
}

void pgcdc__ledger_abort_open(pgcdc__ledger *l)
{
    pthread_mutex_lock(&l->mu);
    if (l->count > 0 && at(l, l->count - 1)->end_lsn == 0)
        l->count--;
    pthread_mutex_unlock(&l->mu);
}

size_t pgcdc__ledger_count(pgcdc__ledger *l)
{
    size_t n;

    pthread_mutex_lock(&l->mu);
    n = l->count;
    pthread_mutex_unlock(&l->mu);
    return n;
}

uint64_t pgcdc__ledger_confirmed(pgcdc__ledger *l)
{
    uint64_t lsn;

    pthread_mutex_lock(&l->mu);
    lsn = l->confirmed;
    pthread_mutex_unlock(&l->mu);
    return lsn;
}

void pgcdc__ledger_idle_advance(pgcdc__ledger *l, uint64_t lsn)
{
    pthread_mutex_lock(&l->mu);
    /*
     * An open transaction at the tail is not before lsn's keepalive in a way
     * this can know: only a committed tail lets the position wait.
     */
    if (l->count == 0 && lsn > l->confirmed)
        l->confirmed = lsn;
    else if (l->count > 0 && at(l, l->count - 1)->end_lsn != 0 && lsn > l->idle)
        l->idle = lsn;
    pthread_mutex_unlock(&l->mu);
}

void pgcdc__ledger_latency(pgcdc__ledger *l, pgcdc__hist *out)
{
    pthread_mutex_lock(&l->mu);
    *out = l->latency;
    pthread_mutex_unlock(&l->mu);
}

uint32_t pgcdc__ledger_pending(pgcdc__ledger *l, uint64_t token)
{
    pgcdc__ledger_entry *e;
    uint32_t n;

    pthread_mutex_lock(&l->mu);
    e = find(l, token);
    n = e != NULL ? e->pending : 0;
    pthread_mutex_unlock(&l->mu);
    return n;
}
