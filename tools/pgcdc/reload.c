/*
 * SIGHUP, answered on a thread of its own: the signal handler only posts a
 * semaphore, and the file is read, checked and compared here.
 */
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "reload.h"

#define MAX_WORKERS 64

struct pgcdc_tool_reload {
    const pgcdc_tool_args *a;
    const pgcdc_tool_config_file *f;
    pgcdc_worker *w[MAX_WORKERS];
    int n;
    sem_t wake;
    atomic_int quit;
    pthread_t thread;
    atomic_int restart;          /* the workers were stopped for next */
    pgcdc_tool_config_file next; /* the changed file, checked */
};

static int same_settings(const pgcdc_tool_config_file *x, const pgcdc_tool_config_file *y)
{
    if (x->nsettings != y->nsettings || x->npipelines != y->npipelines)
        return 0;
    for (int i = 0; i < x->nsettings; i++) {
        const pgcdc_tool_setting *p = &x->settings[i];
        const pgcdc_tool_setting *q = &y->settings[i];

        if (strcmp(p->key, q->key) != 0 || strcmp(p->value, q->value) != 0 ||
            p->pipeline != q->pipeline)
            return 0;
    }
    return 1;
}

/* Every pipeline of f configures with the command line: 0, or an exit code (told on stderr). */
static int check(const pgcdc_tool_args *a, const pgcdc_tool_config_file *f)
{
    int n = f->npipelines > 0 ? f->npipelines : 1;
    int r = f->npipelines > 1 ? pgcdc_tool_args_for_pipelines(a, f->npipelines) : 0;

    if (r == 0 && n > MAX_WORKERS)
        r = pgcdc_tool_usage_error("%d pipelines in one file; at most %d", n, MAX_WORKERS);
    for (int i = 0; i < n && r == 0; i++) {
        pgcdc_config *cfg = pgcdc_config_new();
        pgcdc_tool_options o;

        if (cfg == NULL)
            return EXIT_RUNTIME;
        r = pgcdc_tool_configure(cfg, &o, a, f, f->npipelines > 0 ? i : -1);
        pgcdc_config_free(cfg);
    }
    return r;
}

/* "reload: PATH what". */
static void say(pgcdc_log_level level, const char *path, const char *what)
{
    char msg[1200];

    snprintf(msg, sizeof(msg), "reload: %s %s", path, what);
    pgcdc_tool_log(level, NULL, msg);
}

/* One SIGHUP. */
static void answer(pgcdc_tool_reload *r)
{
    pgcdc_tool_config_file next;
    char err[1024];

    for (int i = 0; i < r->n; i++)
        pgcdc_worker_reopen(r->w[i]);
    if (r->a->config == NULL || atomic_load(&r->restart)) {
        pgcdc_tool_log(PGCDC_LOG_INFO, NULL, "SIGHUP: output files reopened");
        return;
    }
    if (pgcdc_tool_config_file_read(r->a->config, &next, err, sizeof(err)) != 0) {
        char msg[1200];

        snprintf(msg, sizeof(msg), "reload: %s; still running as before", err);
        pgcdc_tool_log(PGCDC_LOG_ERROR, NULL, msg);
        pgcdc_tool_config_file_free(&next);
        return;
    }
    if (same_settings(&next, r->f)) {
        say(PGCDC_LOG_INFO, r->a->config, "unchanged; output files reopened");
        pgcdc_tool_config_file_free(&next);
        return;
    }
    if (check(r->a, &next) != 0) {
        say(PGCDC_LOG_ERROR, r->a->config, "has the error above; still running as before");
        pgcdc_tool_config_file_free(&next);
        return;
    }
    say(PGCDC_LOG_INFO, r->a->config, "changed; the pipelines stop and start again with it");
    r->next = next;
    atomic_store(&r->restart, 1);
    for (int i = 0; i < r->n; i++)
        pgcdc_worker_stop(r->w[i]);
}

static void *loop(void *arg)
{
    pgcdc_tool_reload *r = arg;

    for (;;) {
        while (sem_wait(&r->wake) != 0 && errno == EINTR)
            ;
        if (atomic_load(&r->quit))
            return NULL;
        answer(r);
    }
}

pgcdc_tool_reload *pgcdc_tool_reload_start(const pgcdc_tool_args *a,
                                           const pgcdc_tool_config_file *f, pgcdc_worker *const *w,
                                           int n)
{
    pgcdc_tool_reload *r = calloc(1, sizeof(*r));

    if (r == NULL)
        return NULL;
    r->a = a;
    r->f = f;
    r->n = n < MAX_WORKERS ? n : MAX_WORKERS;
    for (int i = 0; i < r->n; i++)
        r->w[i] = w[i];
    if (sem_init(&r->wake, 0, 0) != 0) {
        free(r);
        return NULL;
    }
    if (pthread_create(&r->thread, NULL, loop, r) != 0) {
        sem_destroy(&r->wake);
        free(r);
        return NULL;
    }
    return r;
}

int pgcdc_tool_reload_restarting(pgcdc_tool_reload *r)
{
    return r != NULL && atomic_load(&r->restart);
}

void pgcdc_tool_reload_signal(pgcdc_tool_reload *r)
{
    if (r != NULL)
        sem_post(&r->wake);
}

int pgcdc_tool_reload_stop(pgcdc_tool_reload *r, pgcdc_tool_config_file *next)
{
    int restart;

    if (r == NULL)
        return 0;
    atomic_store(&r->quit, 1);
    sem_post(&r->wake);
    pthread_join(r->thread, NULL);
    sem_destroy(&r->wake);
    restart = atomic_load(&r->restart);
    if (restart)
        *next = r->next;
    free(r);
    return restart;
}
