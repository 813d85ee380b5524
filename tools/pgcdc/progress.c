/*
 * The snapshot progress display (see progress.h).
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "progress.h"

#define MAX_TABLES 32
#define BAR 20

struct pgcdc_tool_progress {
    pgcdc_worker *w;
    pthread_t thread;
    atomic_int stop;
    int drawn; /* lines on the screen */
    uint64_t last_rows[MAX_TABLES];
    double rate[MAX_TABLES];
};

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* 1234567 as "1.2M", 12345 as "12.3k". */
static void human(char *buf, size_t size, double v)
{
    if (v >= 1e9)
        snprintf(buf, size, "%.1fG", v / 1e9);
    else if (v >= 1e6)
        snprintf(buf, size, "%.1fM", v / 1e6);
    else if (v >= 1e4)
        snprintf(buf, size, "%.1fk", v / 1e3);
    else
        snprintf(buf, size, "%.0f", v);
}

void pgcdc_tool_progress_line(char *buf, size_t size, const pgcdc_snapshot_table *t, double rate)
{
    char bar[BAR + 1];
    char done[16];
    char est[16];
    char rt[16];
    char eta[32] = "";
    double frac = 0;
    int fill;

    if (t->done)
        frac = 1;
    else if (t->rows_estimate > 0)
        frac = (double)t->rows / (double)t->rows_estimate;
    if (frac > 0.99 && !t->done)
        frac = 0.99; /* an estimate, not a promise */
    fill = (int)(frac * BAR);
    for (int i = 0; i < BAR; i++)
        bar[i] = i < fill ? '#' : '.';
    bar[BAR] = '\0';
    human(done, sizeof(done), (double)t->rows);
    human(est, sizeof(est), (double)t->rows_estimate);
    human(rt, sizeof(rt), rate);
    if (t->done) {
        snprintf(eta, sizeof(eta), "done");
    } else if (rate > 0 && t->rows_estimate > t->rows) {
        long s = (long)((double)(t->rows_estimate - t->rows) / rate);

        snprintf(eta, sizeof(eta), "ETA %ld:%02ld:%02ld", s / 3600, s / 60 % 60, s % 60);
    }
    snprintf(buf, size, "%-32.32s [%s] %6s/~%-6s rows %3d%%  %6s rows/s  %s", t->table, bar, done,
             est, (int)(frac * 100), rt, eta);
}

/* Redraws every table's line over the last drawing. */
static void draw(struct pgcdc_tool_progress *p, double dt)
{
    pgcdc_snapshot_table t;
    char line[256];
    int n = 0;

    if (p->drawn > 0)
        fprintf(stderr, "\033[%dA", p->drawn);
    for (int i = 0; i < MAX_TABLES && pgcdc_worker_snapshot_table(p->w, i, &t) == PGCDC_OK; i++) {
        double inst = dt > 0 ? (double)(t.rows - p->last_rows[i]) / dt : 0;

        /* Smoothed over about five seconds. */
        p->rate[i] = p->last_rows[i] == 0 && p->rate[i] == 0 ? inst : 0.9 * p->rate[i] + 0.1 * inst;
        p->last_rows[i] = t.rows;
        pgcdc_tool_progress_line(line, sizeof(line), &t, p->rate[i]);
        fprintf(stderr, "\r%s\033[K\n", line);
        n++;
    }
    /* Fewer lines than before (the snapshot ended): clear the rest. */
    for (int i = n; i < p->drawn; i++)
        fprintf(stderr, "\r\033[K\n");
    if (p->drawn > n)
        fprintf(stderr, "\033[%dA", p->drawn - n);
    p->drawn = n;
    fflush(stderr);
}

static void *run(void *arg)
{
    struct pgcdc_tool_progress *p = arg;
    double last = now_s();

    while (!atomic_load(&p->stop)) {
        struct timespec ts = {0, 500000000L};
        double t;

        nanosleep(&ts, NULL);
        t = now_s();
        draw(p, t - last);
        last = t;
    }
    return NULL;
}

pgcdc_tool_progress *pgcdc_tool_progress_start(pgcdc_worker *w)
{
    struct pgcdc_tool_progress *p;

    if (!isatty(STDERR_FILENO))
        return NULL;
    p = calloc(1, sizeof(*p));
    if (p == NULL)
        return NULL;
    p->w = w;
    if (pthread_create(&p->thread, NULL, run, p) != 0) {
        free(p);
        return NULL;
    }
    return p;
}

void pgcdc_tool_progress_stop(pgcdc_tool_progress *p)
{
    if (p == NULL)
        return;
    atomic_store(&p->stop, 1);
    pthread_join(p->thread, NULL);
    free(p);
}
