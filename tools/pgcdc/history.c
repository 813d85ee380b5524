/*
 * The status page's history (see history.h): a ring per pipeline in one
 * block, and a sampler thread that sleeps on a condition variable so that
 * stopping it does not wait for the rest of an interval.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "history.h"
#include "status.h"

typedef struct ring {
    pgcdc_tool_history_point *pts; /* cap of them */
    int head;                      /* where the next point goes */
    int count;
    int primed; /* last_changes and last_us hold a first reading */
    uint64_t last_changes;
    int64_t last_us;
} ring;

struct pgcdc_tool_history {
    pthread_mutex_t mu; /* the rings, and stop */
    pthread_cond_t wake;
    int stop;
    int started;
    pthread_t thread;
    pgcdc_worker **w;
    int n;
    int cap;
    int interval_ms;
    ring *rings;
    pgcdc_tool_history_point *block;
};

static int64_t wall_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

pgcdc_tool_history *pgcdc_tool_history_new(int n, int cap)
{
    pgcdc_tool_history *h;
    pthread_condattr_t attr;

    if (n < 0 || cap < 1)
        return NULL;
    h = calloc(1, sizeof(*h));
    if (h == NULL)
        return NULL;
    h->n = n;
    h->cap = cap;
    h->rings = calloc((size_t)(n > 0 ? n : 1), sizeof(*h->rings));
    h->block = calloc((size_t)(n > 0 ? n : 1) * (size_t)cap, sizeof(*h->block));
    if (h->rings == NULL || h->block == NULL)
        goto fail;
    for (int i = 0; i < n; i++)
        h->rings[i].pts = h->block + (size_t)i * (size_t)cap;
    /* The sampler's naps are measured on the monotonic clock: a clock step does not stretch them.
     */
    if (pthread_condattr_init(&attr) != 0)
        goto fail;
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    if (pthread_cond_init(&h->wake, &attr) != 0) {
        pthread_condattr_destroy(&attr);
        goto fail;
    }
    pthread_condattr_destroy(&attr);
    if (pthread_mutex_init(&h->mu, NULL) != 0) {
        pthread_cond_destroy(&h->wake);
        goto fail;
    }
    return h;
fail:
    free(h->rings);
    free(h->block);
    free(h);
    return NULL;
}

void pgcdc_tool_history_free(pgcdc_tool_history *h)
{
    if (h == NULL)
        return;
    if (h->started) {
        pthread_mutex_lock(&h->mu);
        h->stop = 1;
        pthread_cond_signal(&h->wake);
        pthread_mutex_unlock(&h->mu);
        pthread_join(h->thread, NULL);
    }
    pthread_cond_destroy(&h->wake);
    pthread_mutex_destroy(&h->mu);
    free(h->w);
    free(h->rings);
    free(h->block);
    free(h);
}

/* Adds a point to r; the caller holds the mutex. */
static void add_locked(ring *r, int cap, const pgcdc_stats *st, int64_t now_us)
{
    pgcdc_tool_history_point *pt;
    double dt;

    if (!r->primed) {
        r->primed = 1;
        r->last_changes = st->changes;
        r->last_us = now_us;
        return;
    }
    pt = &r->pts[r->head];
    dt = (double)(now_us - r->last_us) / 1e6;
    pt->t_us = now_us;
    pt->events = st->changes >= r->last_changes ? st->changes - r->last_changes : 0;
    pt->rate = dt > 0 ? (double)pt->events / dt : 0;
    pt->lag_s = pgcdc_tool_status_lag(st, now_us);
    pt->lag_bytes = st->received_lsn > st->confirmed_lsn ? st->received_lsn - st->confirmed_lsn : 0;
    pt->retained_wal = st->slot_retained_wal;
    r->head = (r->head + 1) % cap;
    if (r->count < cap)
        r->count++;
    r->last_changes = st->changes;
    r->last_us = now_us;
}

void pgcdc_tool_history_add(pgcdc_tool_history *h, int i, const pgcdc_stats *st, int64_t now_us)
{
    if (h == NULL || i < 0 || i >= h->n)
        return;
    pthread_mutex_lock(&h->mu);
    add_locked(&h->rings[i], h->cap, st, now_us);
    pthread_mutex_unlock(&h->mu);
}

int pgcdc_tool_history_read(pgcdc_tool_history *h, int i, pgcdc_tool_history_point *out, int max)
{
    int got = 0;

    if (h == NULL || i < 0 || i >= h->n || max <= 0)
        return 0;
    pthread_mutex_lock(&h->mu);
    {
        const ring *r = &h->rings[i];
        int count = r->count < max ? r->count : max;
        /* The newest count points, oldest first. */
        int from = (r->head - count + h->cap) % h->cap;

        for (; got < count; got++)
            out[got] = r->pts[(from + got) % h->cap];
    }
    pthread_mutex_unlock(&h->mu);
    return got;
}

int pgcdc_tool_history_capacity(const pgcdc_tool_history *h)
{
    return h != NULL ? h->cap : 0;
}

int pgcdc_tool_history_interval_ms(const pgcdc_tool_history *h)
{
    return h != NULL ? h->interval_ms : 0;
}

static void *run(void *arg)
{
    pgcdc_tool_history *h = arg;
    struct timespec due;

    clock_gettime(CLOCK_MONOTONIC, &due);
    pthread_mutex_lock(&h->mu);
    while (!h->stop) {
        int64_t now;

        /* The workers' stats are read without the mutex: a page request never waits on them. */
        pthread_mutex_unlock(&h->mu);
        now = wall_us();
        for (int i = 0; i < h->n; i++) {
            pgcdc_stats st;

            pgcdc_worker_stats(h->w[i], &st);
            pgcdc_tool_history_add(h, i, &st, now);
        }
        due.tv_sec += h->interval_ms / 1000;
        due.tv_nsec += (long)(h->interval_ms % 1000) * 1000000L;
        if (due.tv_nsec >= 1000000000L) {
            due.tv_sec++;
            due.tv_nsec -= 1000000000L;
        }
        pthread_mutex_lock(&h->mu);
        while (!h->stop && pthread_cond_timedwait(&h->wake, &h->mu, &due) == 0)
            ;
    }
    pthread_mutex_unlock(&h->mu);
    return NULL;
}

int pgcdc_tool_history_start(pgcdc_tool_history *h, pgcdc_worker *const *w, int interval_ms)
{
    if (h == NULL || h->started || interval_ms < 1)
        return -1;
    h->w = calloc((size_t)(h->n > 0 ? h->n : 1), sizeof(*h->w));
    if (h->w == NULL)
        return -1;
    if (h->n > 0)
        memcpy(h->w, w, sizeof(*h->w) * (size_t)h->n);
    h->interval_ms = interval_ms;
    if (pthread_create(&h->thread, NULL, run, h) != 0) {
        free(h->w);
        h->w = NULL;
        h->interval_ms = 0;
        return -1;
    }
    h->started = 1;
    return 0;
}
