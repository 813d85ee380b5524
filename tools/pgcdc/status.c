/*
 * The status line and the summaries (see status.h).
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "notify.h"
#include "status.h"

#define TICK_MS 500

struct pgcdc_tool_status {
    pgcdc_worker **w;
    char **tags;
    int n;
    int line;
    int summary_s;
    int notify;
    pthread_t thread;
    atomic_int stop;
};

static int64_t wall_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static const char *state_name(pgcdc_state s)
{
    static const char *const names[] = {"new",          "starting", "streaming",
                                        "reconnecting", "stopped",  "failed"};

    return (unsigned)s < sizeof(names) / sizeof(names[0]) ? names[s] : "?";
}

double pgcdc_tool_status_lag(const pgcdc_stats *st, int64_t now_us)
{
    if (st->received_lsn <= st->confirmed_lsn || st->last_commit_time == 0 ||
        now_us <= st->last_commit_time)
        return 0;
    return (double)(now_us - st->last_commit_time) / 1e6;
}

void pgcdc_tool_status_line(char *buf, size_t size, const pgcdc_stats *st, double rate,
                            int64_t now_us)
{
    char lsn[32];

    pgcdc_lsn_format(st->confirmed_lsn, lsn, sizeof(lsn));
    snprintf(buf, size, "%s  %.1f events/s  lag %.1f s  confirmed %s  %llu events",
             state_name(st->state), rate, pgcdc_tool_status_lag(st, now_us), lsn,
             (unsigned long long)st->changes);
}

void pgcdc_tool_status_line_several(char *buf, size_t size, int n, pgcdc_state state, double rate,
                                    double lag, uint64_t events)
{
    snprintf(buf, size, "%d pipelines %s  %.1f events/s  worst lag %.1f s  %llu events", n,
             state_name(state), rate, lag, (unsigned long long)events);
}

void pgcdc_tool_status_summary(char *buf, size_t size, const pgcdc_stats *st, uint64_t events,
                               double period_s, int64_t now_us)
{
    char lsn[32];
    uint64_t behind =
        st->received_lsn > st->confirmed_lsn ? st->received_lsn - st->confirmed_lsn : 0;

    pgcdc_lsn_format(st->confirmed_lsn, lsn, sizeof(lsn));
    snprintf(buf, size,
             "%s: %llu events in the last %.0f s (%.1f/s), %llu in all in %llu transactions; lag "
             "%.1f s, %llu bytes received and not confirmed; confirmed %s",
             state_name(st->state), (unsigned long long)events, period_s,
             period_s > 0 ? (double)events / period_s : 0, (unsigned long long)st->changes,
             (unsigned long long)st->transactions, pgcdc_tool_status_lag(st, now_us),
             (unsigned long long)behind, lsn);
}

static void *run(void *arg)
{
    pgcdc_tool_status *s = arg;
    uint64_t *last = calloc((size_t)s->n, sizeof(*last));     /* events at the last tick */
    uint64_t *period = calloc((size_t)s->n, sizeof(*period)); /* at the last summary */
    double rate = 0;
    int64_t summary_at = wall_us();
    int64_t tick_at = summary_at;
    int64_t watchdog_at = 0;
    int64_t told_at = 0;
    int ready = 0;

    if (last == NULL || period == NULL) {
        free(last);
        free(period);
        return NULL;
    }
    for (int i = 0; i < s->n; i++) {
        pgcdc_stats st;

        pgcdc_worker_stats(s->w[i], &st);
        last[i] = period[i] = st.changes;
    }
    while (!atomic_load(&s->stop)) {
        struct timespec nap = {0, TICK_MS * 1000000L};
        pgcdc_stats sum;
        uint64_t events = 0;
        double worst_lag = 0;
        pgcdc_state state = PGCDC_STATE_NEW;
        char line[256];
        int64_t now;
        int snapshot = 0;
        int streaming = 0;
        int all_streaming = 1;
        int alive = 1;

        nanosleep(&nap, NULL);
        now = wall_us();
        memset(&sum, 0, sizeof(sum));
        for (int i = 0; i < s->n; i++) {
            pgcdc_stats st;

            pgcdc_worker_stats(s->w[i], &st);
            events += st.changes - last[i];
            last[i] = st.changes;
            snapshot |= st.snapshot_tables > st.snapshot_tables_done;
            streaming |= st.state == PGCDC_STATE_STREAMING;
            all_streaming &= st.state == PGCDC_STATE_STREAMING;
            alive &= st.state != PGCDC_STATE_FAILED && st.state != PGCDC_STATE_STOPPED;
            if (s->summary_s > 0 && now - summary_at >= (int64_t)s->summary_s * 1000000 &&
                st.state == PGCDC_STATE_STREAMING) {
                char text[512];

                pgcdc_tool_status_summary(text, sizeof(text), &st, st.changes - period[i],
                                          (double)(now - summary_at) / 1e6, now);
                pgcdc_tool_log(PGCDC_LOG_INFO, s->tags != NULL ? s->tags[i] : NULL, text);
            }
            if (s->summary_s > 0 && now - summary_at >= (int64_t)s->summary_s * 1000000)
                period[i] = st.changes;
            /* The whole process on one line: the events, the worst lag, a state not streaming. */
            if (i == 0 || (sum.state == PGCDC_STATE_STREAMING && st.state != sum.state))
                state = st.state;
            if (i == 0)
                sum = st;
            else
                sum.changes += st.changes;
            if (pgcdc_tool_status_lag(&st, now) > worst_lag)
                worst_lag = pgcdc_tool_status_lag(&st, now);
        }
        sum.state = state;
        if (s->summary_s > 0 && now - summary_at >= (int64_t)s->summary_s * 1000000)
            summary_at = now;
        /* A smoothed rate: half the last tick, half before. */
        rate = rate / 2 + (double)events / ((double)(now - tick_at) / 1e6) / 2;
        tick_at = now;
        if (s->n > 1)
            pgcdc_tool_status_line_several(line, sizeof(line), s->n, sum.state, rate, worst_lag,
                                           sum.changes);
        else
            pgcdc_tool_status_line(line, sizeof(line), &sum, rate, now);
        if (s->notify) {
            char text[300];
            uint64_t wd = pgcdc_tool_notify_watchdog_us();

            /* Ready once every pipeline streams; the watchdog fed while none failed. */
            if (all_streaming && !ready) {
                ready = 1;
                pgcdc_tool_notify("READY=1");
            }
            if (wd > 0 && alive && now - watchdog_at >= (int64_t)wd / 2) {
                watchdog_at = now;
                pgcdc_tool_notify("WATCHDOG=1");
            }
            if (now - told_at >= 5000000) {
                told_at = now;
                snprintf(text, sizeof(text), "STATUS=%s", line);
                pgcdc_tool_notify(text);
            }
        }
        if (s->line && streaming && !snapshot) {
            pgcdc_tool_log_status(line);
        } else if (s->line) {
            pgcdc_tool_log_status(NULL);
        }
    }
    free(last);
    free(period);
    return NULL;
}

pgcdc_tool_status *pgcdc_tool_status_start(pgcdc_worker *const *w, char *const *tags, int n,
                                           int line, int summary_s)
{
    pgcdc_tool_status *s;
    int notify = pgcdc_tool_notify_init();

    if ((!line && summary_s <= 0 && !notify) || n <= 0)
        return NULL;
    s = calloc(1, sizeof(*s));
    if (s == NULL)
        return NULL;
    s->w = calloc((size_t)n, sizeof(*s->w));
    if (s->w == NULL) {
        free(s);
        return NULL;
    }
    memcpy(s->w, w, sizeof(*s->w) * (size_t)n);
    s->tags = n > 1 ? (char **)tags : NULL;
    s->n = n;
    s->line = line;
    s->summary_s = summary_s;
    s->notify = notify;
    if (pthread_create(&s->thread, NULL, run, s) != 0) {
        free(s->w);
        free(s);
        return NULL;
    }
    return s;
}

void pgcdc_tool_status_stop(pgcdc_tool_status *s)
{
    if (s == NULL)
        return;
    atomic_store(&s->stop, 1);
    pthread_join(s->thread, NULL);
    if (s->notify)
        pgcdc_tool_notify("STOPPING=1");
    if (s->line)
        pgcdc_tool_log_status(NULL);
    free(s->w);
    free(s);
}
