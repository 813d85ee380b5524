/*
 * The bound on bytes in flight and the failure a sink's own thread hands to
 * the worker.  Waits are in slices, so a stop request is seen promptly even
 * though nothing signals the condition for it.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "sink/async.h"

/* How long a wait sleeps before looking at the stop request again. */
#define SLICE_MS 100

void pgcdc__inflight_init(pgcdc__inflight *f, pgcdc_sink *sink, size_t bound)
{
    pthread_condattr_t attr;

    memset(f, 0, sizeof(*f));
    atomic_init(&f->failed, 0);
    pthread_mutex_init(&f->mu, NULL);
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&f->cv, &attr);
    pthread_condattr_destroy(&attr);
    f->sink = sink;
    f->bound = bound > 0 ? bound : 1;
}

void pgcdc__inflight_destroy(pgcdc__inflight *f)
{
    pthread_cond_destroy(&f->cv);
    pthread_mutex_destroy(&f->mu);
}

/* Waits one slice on the condition (the lock held). */
static void wait_slice(pgcdc__inflight *f)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_nsec += (long)SLICE_MS * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    pthread_cond_timedwait(&f->cv, &f->mu, &ts);
}

/* The failure as the worker reports it (the lock held): counted when it was recorded. */
static int report(pgcdc__inflight *f)
{
    f->sink->relayed = 1;
    return pgcdc_sink_fail(f->sink, f->err, "%s", f->msg);
}

/* The sink's in-flight gauge (the lock held). */
static void show_bytes(pgcdc__inflight *f)
{
    pgcdc__sink_show_inflight(f->sink, f->bytes);
}

int pgcdc__inflight_reserve(pgcdc__inflight *f, size_t n)
{
    int r = PGCDC_OK;

    pthread_mutex_lock(&f->mu);
    while (f->err == 0 && f->bytes > 0 && f->bytes + n > f->bound) {
        if (pgcdc__sink_stopping(f->sink)) {
            r = PGCDC_ERR_STOPPED;
            break;
        }
        f->waiting = 1;
        f->want = n;
        wait_slice(f);
    }
    f->waiting = 0;
    if (f->err != 0)
        r = report(f);
    else if (r == PGCDC_OK) {
        f->bytes += n;
        if (f->bytes > f->peak)
            f->peak = f->bytes;
        show_bytes(f);
    }
    pthread_mutex_unlock(&f->mu);
    if (r == PGCDC_ERR_STOPPED)
        pgcdc_sink_fail(f->sink, r, "stopped while waiting for sink \"%s\" to make room",
                        f->sink->shown);
    return r;
}

void pgcdc__inflight_release(pgcdc__inflight *f, size_t n)
{
    size_t room;

    pthread_mutex_lock(&f->mu);
    f->bytes = n > f->bytes ? 0 : f->bytes - n;
    show_bytes(f);
    /*
     * A waiting worker is woken once a quarter of the bound is free (or all
     * of it), not for every release: else it would wake for each message.
     */
    room = f->want > f->bound / 4 ? f->want : f->bound / 4;
    if (f->bytes == 0 || (f->waiting && f->bytes + room <= f->bound))
        pthread_cond_broadcast(&f->cv);
    pthread_mutex_unlock(&f->mu);
}

void pgcdc__inflight_fail(pgcdc__inflight *f, int err, const char *fmt, ...)
{
    va_list ap;

    pgcdc__sink_count_error(f->sink);
    pthread_mutex_lock(&f->mu);
    if (f->err == 0) {
        char line[PGCDC__MSG_SIZE];

        va_start(ap, fmt);
        vsnprintf(line, sizeof(line), fmt, ap);
        va_end(ap);
        pgcdc__one_line(f->msg, sizeof(f->msg), line);
        f->err = err < 0 ? err : PGCDC_ERR_SINK;
        atomic_store_explicit(&f->failed, 1, memory_order_release);
    }
    pthread_cond_broadcast(&f->cv);
    pthread_mutex_unlock(&f->mu);
    pgcdc__sink_wake(f->sink);
}

int pgcdc__inflight_check(pgcdc__inflight *f)
{
    int r = PGCDC_OK;

    /* (Unlocked first: sinks check for every event.) */
    if (!atomic_load_explicit(&f->failed, memory_order_acquire))
        return PGCDC_OK;
    pthread_mutex_lock(&f->mu);
    if (f->err != 0)
        r = report(f);
    pthread_mutex_unlock(&f->mu);
    return r;
}

int pgcdc__inflight_drain(pgcdc__inflight *f, int timeout_ms)
{
    struct timespec start;
    struct timespec now;
    int r = PGCDC_OK;

    clock_gettime(CLOCK_MONOTONIC, &start);
    pthread_mutex_lock(&f->mu);
    while (f->err == 0 && f->bytes > 0) {
        if (pgcdc__sink_stopping(f->sink)) {
            r = PGCDC_ERR_STOPPED;
            break;
        }
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (timeout_ms >= 0 &&
            (now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000 >=
                timeout_ms) {
            r = PGCDC_ERR_SINK;
            break;
        }
        wait_slice(f);
    }
    if (f->err != 0)
        r = report(f);
    else if (r == PGCDC_ERR_SINK)
        pgcdc_sink_fail(f->sink, r, "sink \"%s\" still had %zu bytes in flight after %d ms",
                        f->sink->shown, f->bytes, timeout_ms);
    pthread_mutex_unlock(&f->mu);
    return r;
}

size_t pgcdc__inflight_bytes(pgcdc__inflight *f)
{
    size_t n;

    pthread_mutex_lock(&f->mu);
    n = f->bytes;
    pthread_mutex_unlock(&f->mu);
    return n;
}
