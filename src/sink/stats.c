/*
 * A sink's counters (see stats.h).  Acknowledgements mostly come in the
 * order of the writes, so the wait an acknowledgement looks for is nearly
 * always the oldest: the ring is searched from there.
 */
#include <stdlib.h>
#include <string.h>

#include "sink/stats.h"

/* The most waits kept: past it the oldest goes untimed (its acknowledgement finds nothing). */
#define MAX_WAITS (1u << 16)

/* The buckets' upper bounds, in microseconds. */
static const int64_t bounds_us[PGCDC_SINK_ACK_BUCKETS] = {
    1000,   2500,   5000,    10000,   25000,   50000,    100000,
    250000, 500000, 1000000, 2500000, 5000000, 10000000, 30000000,
};

double pgcdc_sink_ack_bucket_bound(int i)
{
    if (i < 0 || i >= PGCDC_SINK_ACK_BUCKETS)
        return 0;
    return (double)bounds_us[i] / 1e6;
}

void pgcdc__sink_counters_init(pgcdc__sink_counters *c)
{
    memset(c, 0, sizeof(*c));
    atomic_init(&c->events, 0);
    atomic_init(&c->bytes, 0);
    atomic_init(&c->inflight, 0);
    atomic_init(&c->errors, 0);
    pthread_mutex_init(&c->mu, NULL);
}

void pgcdc__sink_counters_destroy(pgcdc__sink_counters *c)
{
    pthread_mutex_destroy(&c->mu);
    free(c->waits);
    c->waits = NULL;
}

/* A counter only the worker's thread writes: no read-modify-write needed. */
static void bump(_Atomic uint64_t *counter, uint64_t n)
{
    atomic_store_explicit(counter, atomic_load_explicit(counter, memory_order_relaxed) + n,
                          memory_order_relaxed);
}

void pgcdc__sink_counters_wrote(pgcdc__sink_counters *c, size_t bytes)
{
    bump(&c->events, 1);
    if (bytes > 0)
        bump(&c->bytes, bytes);
}

void pgcdc__sink_counters_error(pgcdc__sink_counters *c)
{
    atomic_fetch_add_explicit(&c->errors, 1, memory_order_relaxed);
}

/* One acknowledgement that took us (under mu). */
static void record(pgcdc__sink_counters *c, int64_t us)
{
    if (us < 0)
        us = 0;
    c->acks++;
    c->ack_sum_us += (uint64_t)us;
    for (int i = 0; i < PGCDC_SINK_ACK_BUCKETS; i++) {
        if (us <= bounds_us[i]) {
            c->buckets[i]++;
            break;
        }
    }
}

static pgcdc__ack_wait *at(pgcdc__sink_counters *c, uint64_t seq)
{
    return &c->waits[seq & (c->cap - 1)];
}

/* Drops the acknowledged waits at the ring's start (under mu). */
static void trim(pgcdc__sink_counters *c)
{
    while (c->head < c->tail && at(c, c->head)->since_us < 0)
        c->head++;
}

/* Room for one more wait (under mu): 0, or -1 when out of memory. */
static int make_room(pgcdc__sink_counters *c)
{
    pgcdc__ack_wait *grown;
    size_t cap;

    if (c->tail - c->head < c->cap)
        return 0;
    if (c->cap >= MAX_WAITS) {
        c->head++;
        trim(c);
        return 0;
    }
    cap = c->cap > 0 ? c->cap * 2 : 64;
    grown = malloc(cap * sizeof(*grown));
    if (grown == NULL)
        return -1;
    for (uint64_t seq = c->head; seq < c->tail; seq++)
        grown[seq & (cap - 1)] = *at(c, seq);
    free(c->waits);
    c->waits = grown;
    c->cap = cap;
    return 0;
}

/* A wait for token from since_us (under mu): its handle, or UINT64_MAX when none was kept. */
static uint64_t add_wait(pgcdc__sink_counters *c, uint64_t token, int64_t since_us)
{
    pgcdc__ack_wait *e;

    if (make_room(c) != 0)
        return UINT64_MAX;
    e = at(c, c->tail);
    e->token = token;
    e->since_us = since_us;
    return c->tail++;
}

uint64_t pgcdc__sink_counters_expect(pgcdc__sink_counters *c, uint64_t token, int64_t since_us)
{
    uint64_t wait;

    pthread_mutex_lock(&c->mu);
    wait = add_wait(c, token, since_us);
    pthread_mutex_unlock(&c->mu);
    return wait;
}

void pgcdc__sink_counters_settle(pgcdc__sink_counters *c, uint64_t wait, int64_t since_us,
                                 int result, int64_t now_us)
{
    pgcdc__ack_wait *e;

    if (result == PGCDC_DEFER || wait == UINT64_MAX)
        return;
    pthread_mutex_lock(&c->mu);
    /* Still waiting: no acknowledgement came during the write, nor was it pushed out. */
    if (wait >= c->head && wait < c->tail && at(c, wait)->since_us >= 0) {
        e = at(c, wait);
        e->since_us = -1;
        if (result == PGCDC_HANDLED)
            record(c, now_us - since_us);
        trim(c);
    }
    pthread_mutex_unlock(&c->mu);
}

void pgcdc__sink_counters_deferred(pgcdc__sink_counters *c, uint64_t token, int64_t now_us)
{
    pthread_mutex_lock(&c->mu);
    if (c->early > 0 && c->early_token == token) {
        /* Acknowledged within its write. */
        c->early--;
        record(c, 0);
    } else {
        add_wait(c, token, now_us);
    }
    pthread_mutex_unlock(&c->mu);
}

void pgcdc__sink_counters_ack(pgcdc__sink_counters *c, uint64_t token, int64_t now)
{
    pthread_mutex_lock(&c->mu);
    for (uint64_t seq = c->head; seq < c->tail; seq++) {
        pgcdc__ack_wait *e = at(c, seq);

        if (e->since_us >= 0 && e->token == token) {
            record(c, now - e->since_us);
            e->since_us = -1;
            trim(c);
            pthread_mutex_unlock(&c->mu);
            return;
        }
    }
    /* Before its wait was started: the write that deferred it has not returned yet. */
    if (c->early > 0 && c->early_token == token) {
        c->early++;
    } else {
        c->early_token = token;
        c->early = 1;
    }
    pthread_mutex_unlock(&c->mu);
}

void pgcdc__sink_counters_read(pgcdc__sink_counters *c, pgcdc_sink_stats *st)
{
    uint64_t n = 0;

    st->events = atomic_load_explicit(&c->events, memory_order_relaxed);
    st->bytes = atomic_load_explicit(&c->bytes, memory_order_relaxed);
    st->inflight_bytes = atomic_load_explicit(&c->inflight, memory_order_relaxed);
    st->errors = atomic_load_explicit(&c->errors, memory_order_relaxed);
    pthread_mutex_lock(&c->mu);
    st->acks = c->acks;
    st->ack_latency_sum_us = c->ack_sum_us;
    for (int i = 0; i < PGCDC_SINK_ACK_BUCKETS; i++) {
        n += c->buckets[i];
        st->ack_latency_buckets[i] = n;
    }
    pthread_mutex_unlock(&c->mu);
}
