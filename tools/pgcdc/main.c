/*
 * pgcdc: the command-line program.  Flags and a --config file become a
 * configuration per pipeline (args.c); the library's sinks write the
 * events.  Several pipelines run in one process, a worker and a thread
 * each.
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "admin.h"
#include "args.h"
#include "config_file.h"
#include "log.h"
#include "pgcdc.h"
#include "progress.h"
#include "reload.h"
#include "status.h"
#include "status_cmd.h"

#define MAX_PIPELINES 64

static pgcdc_worker *signal_workers[MAX_PIPELINES];
static volatile sig_atomic_t nsignal_workers;
static volatile sig_atomic_t stop_signal;
/* What answers SIGHUP while pipelines stream (NULL: the files are reopened here). */
static pgcdc_tool_reload *volatile signal_reload;
/* What an interrupted start leaves behind, for its message. */
static const char *interrupt_note = "; nothing was created";

/*
 * SIGINT and SIGTERM stop (gracefully once streaming); SIGHUP reopens the
 * output files and reads the --config file again (reload.h).
 */
static void on_signal(int sig)
{
    if (sig == SIGHUP && signal_reload != NULL) {
        pgcdc_tool_reload_signal(signal_reload);
        return;
    }
    if (sig != SIGHUP && stop_signal == 0)
        stop_signal = sig;
    for (int i = 0; i < nsignal_workers; i++) {
        if (sig == SIGHUP)
            pgcdc_worker_reopen(signal_workers[i]);
        else
            pgcdc_worker_stop(signal_workers[i]);
    }
}

/* A stop for a reload is no failure. */
static int stopped_to_reload(int r)
{
    return r == PGCDC_ERR_STOPPED && pgcdc_tool_reload_restarting(signal_reload);
}

static int exit_code(int r)
{
    switch (r) {
    case PGCDC_OK:
        return 0;
    case PGCDC_ERR_SLOT_MISSING:
    case PGCDC_ERR_SLOT_INVALID:
        return EXIT_SLOT;
    case PGCDC_ERR_SLOT_BUSY:
        return EXIT_SLOT_BUSY;
    case PGCDC_ERR_SLOT_MISMATCH:
        return EXIT_SLOT_MISMATCH;
    case PGCDC_ERR_SLOT_LIMIT:
        return EXIT_SLOT_LIMIT;
    case PGCDC_ERR_WAL_BUDGET:
        return EXIT_WAL_BUDGET;
    default:
        return EXIT_RUNTIME;
    }
}

/* tag: the pipeline's slot when there are several, or NULL. */
static int fail_with(pgcdc_worker *w, int r, const char *tag)
{
    char who[96];
    char msg[1200];
    int code = exit_code(r);

    snprintf(who, sizeof(who), tag != NULL ? "pgcdc[%s]" : "pgcdc", tag);
    /* A signal before streaming began: what it cut short, and nothing was made. */
    if (r == PGCDC_ERR_STOPPED) {
        int sig = stop_signal != 0 ? stop_signal : SIGTERM;

        snprintf(msg, sizeof(msg), "%s (%s)%s", pgcdc_worker_errmsg(w),
                 sig == SIGINT ? "SIGINT" : "SIGTERM", interrupt_note);
        code = 128 + sig;
    } else {
        snprintf(msg, sizeof(msg), "%s", pgcdc_worker_errmsg(w));
    }
    /* The last word: JSON when the log is, else one plain line. */
    if (pgcdc_tool_log_get_format() == PGCDC_TOOL_LOG_JSON)
        pgcdc_tool_log(PGCDC_LOG_ERROR, tag, msg);
    else if (r == PGCDC_ERR_STOPPED)
        fprintf(stderr, "%s: %s\n", who, msg);
    else
        fprintf(stderr, "%s: error: %s\n", who, msg);
    return code;
}

/* Signals reach the workers from here on: every startup step gives way to them. */
static void catch_signals(pgcdc_worker *const *w, int n)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    for (int i = 0; i < n; i++)
        signal_workers[i] = w[i];
    nsignal_workers = n;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}

/* The status line and summaries of n workers while they run; NULL when there are none. */
static pgcdc_tool_status *watch(pgcdc_worker *const *w, char *const *tags, int n,
                                const pgcdc_tool_options *o)
{
    int line = o->verbosity >= 0 && !o->log_json && isatty(STDERR_FILENO);

    return pgcdc_tool_status_start(w, tags, n, line, o->verbosity >= 0 ? o->summary_s : 0);
}

static int run_stream(pgcdc_worker *w, const pgcdc_tool_options *o)
{
    int r = pgcdc_worker_start(w);

    if (r == PGCDC_OK) {
        /* A snapshot's progress on a terminal (its lines stay blank without one). */
        pgcdc_tool_progress *p = pgcdc_tool_progress_start(w);
        pgcdc_tool_status *st = watch(&w, NULL, 1, o);

        r = pgcdc_worker_run(w);
        pgcdc_tool_status_stop(st);
        pgcdc_tool_progress_stop(p);
    }
    return r == PGCDC_OK || stopped_to_reload(r) ? 0 : fail_with(w, r, NULL);
}

static int create_slot(pgcdc_worker *w, const pgcdc_tool_options *o)
{
    int created = 0;
    int r = pgcdc_worker_prepare(w, &created);

    if (r != PGCDC_OK)
        return fail_with(w, r, NULL);
    if (created)
        interrupt_note = "; the slot created before stays";
    if (!created && !o->if_not_exists) {
        fprintf(stderr, "pgcdc: error: replication slot already exists (use --if-not-exists "
                        "to accept it)\n");
        return EXIT_RUNTIME;
    }
    return 0;
}

/* The configuration streams (rather than asking, dropping or only creating). */
static int streams(const pgcdc_tool_options *o)
{
    return o->request == NULL && !o->drop_slot && !o->drop_publication && !o->install_ddl &&
           !o->remove_ddl && (!o->create_slot || o->start);
}

/* What one pipeline's configuration asks for. */
static int run_one(pgcdc_worker *w, const pgcdc_tool_options *o)
{
    int r;

    if (o->request != NULL) {
        r = pgcdc_worker_request_snapshot(w, o->request, o->where);
        return r == PGCDC_OK ? 0 : fail_with(w, r, NULL);
    }
    if (o->install_ddl || o->remove_ddl) {
        interrupt_note = "";
        r = pgcdc_worker_install_ddl_capture(w, o->install_ddl);
        return r == PGCDC_OK ? 0 : fail_with(w, r, NULL);
    }
    if (o->drop_slot || o->drop_publication) {
        interrupt_note = "";
        r = pgcdc_worker_drop(w, (o->drop_slot ? PGCDC_DROP_SLOT : 0) |
                                     (o->drop_publication ? PGCDC_DROP_PUBLICATION : 0));
        return r == PGCDC_OK ? 0 : fail_with(w, r, NULL);
    }
    if (o->create_slot && !o->start)
        return create_slot(w, o);
    r = o->create_slot ? create_slot(w, o) : 0;
    return r == 0 ? run_stream(w, o) : r;
}

typedef struct pipeline {
    pgcdc_worker *w;
    pgcdc_tool_options o;
    pthread_t thread;
    int started;
    int rc;
} pipeline;

static pipeline *pipes;
static int npipes;

/* One pipeline's thread: it streams until stopped; a failure stops the others too. */
static void *run_pipeline(void *arg)
{
    pipeline *p = arg;

    p->rc = pgcdc_worker_start(p->w);
    if (p->rc == PGCDC_OK)
        p->rc = pgcdc_worker_run(p->w);
    if (p->rc != PGCDC_OK && p->rc != PGCDC_ERR_STOPPED) {
        char msg[1100];

        snprintf(msg, sizeof(msg), "%s (stopping the other pipelines)", pgcdc_worker_errmsg(p->w));
        pgcdc_tool_log(PGCDC_LOG_ERROR, p->o.slot, msg);
        for (int i = 0; i < npipes; i++)
            pgcdc_worker_stop(pipes[i].w);
    }
    return NULL;
}

/* Several pipelines at once; the exit code of the first that failed. */
static int run_pipelines(void)
{
    pgcdc_worker *w[MAX_PIPELINES];
    char *tags[MAX_PIPELINES];
    pgcdc_tool_status *st;
    int r = 0;

    for (int i = 0; i < npipes; i++) {
        w[i] = pipes[i].w;
        tags[i] = pipes[i].o.slot;
    }
    st = watch(w, tags, npipes, &pipes[0].o);

    for (int i = 0; i < npipes; i++) {
        if (pthread_create(&pipes[i].thread, NULL, run_pipeline, &pipes[i]) != 0) {
            fprintf(stderr, "pgcdc: error: could not start a thread for pipeline %s\n",
                    pipes[i].o.slot);
            for (int k = 0; k < npipes; k++)
                pgcdc_worker_stop(pipes[k].w);
            r = EXIT_RUNTIME;
            break;
        }
        pipes[i].started = 1;
    }
    for (int i = 0; i < npipes; i++) {
        if (!pipes[i].started)
            continue;
        pthread_join(pipes[i].thread, NULL);
        if (r == 0 && pipes[i].rc != PGCDC_OK && pipes[i].rc != PGCDC_ERR_STOPPED)
            r = exit_code(pipes[i].rc);
    }
    pgcdc_tool_status_stop(st);
    for (int i = 0; r == 0 && i < npipes; i++)
        if (pipes[i].rc == PGCDC_ERR_STOPPED && !stopped_to_reload(pipes[i].rc))
            r = fail_with(pipes[i].w, pipes[i].rc, pipes[i].o.slot);
    return r;
}

/* Builds every pipeline's worker; 0 or an exit code. */
static int build(const pgcdc_tool_args *a, const pgcdc_tool_config_file *f)
{
    int several = f->npipelines > 1;

    npipes = f->npipelines > 0 ? f->npipelines : 1;
    if (npipes > MAX_PIPELINES)
        return pgcdc_tool_usage_error("%d pipelines in one file; at most %d", npipes,
                                      MAX_PIPELINES);
    pipes = calloc((size_t)npipes, sizeof(*pipes));
    if (pipes == NULL)
        return EXIT_RUNTIME;
    for (int i = 0; i < npipes; i++) {
        pipeline *p = &pipes[i];
        pgcdc_config *cfg = pgcdc_config_new();
        int r;

        if (cfg == NULL)
            return EXIT_RUNTIME;
        r = pgcdc_tool_configure(cfg, &p->o, a, f, f->npipelines > 0 ? i : -1);
        if (r == 0) {
            for (int k = 0; k < i && several; k++) {
                if (strcmp(pipes[k].o.slot, p->o.slot) == 0) {
                    r = pgcdc_tool_usage_error("two pipelines of the file use slot \"%s\" (give "
                                               "each its own)",
                                               p->o.slot);
                    break;
                }
            }
        }
        if (r != 0) {
            pgcdc_config_free(cfg);
            return r;
        }
        if (p->o.verbosity < 0)
            pgcdc_config_set_log_level(cfg, PGCDC_LOG_ERROR);
        else if (!p->o.log_level_set || p->o.verbosity > 0)
            pgcdc_config_set_log_level(cfg, p->o.verbosity >= 1 ? PGCDC_LOG_DEBUG : PGCDC_LOG_INFO);
        pgcdc_config_set_log_cb(cfg, pgcdc_tool_log_hook, several ? p->o.slot : NULL);
        if (i == 0)
            pgcdc_tool_log_set_format(p->o.log_json ? PGCDC_TOOL_LOG_JSON : PGCDC_TOOL_LOG_TEXT);
        p->w = pgcdc_worker_new(cfg);
        pgcdc_config_free(cfg);
        if (p->w == NULL) {
            fprintf(stderr, "pgcdc: error: out of memory\n");
            return EXIT_RUNTIME;
        }
    }
    return 0;
}

static int status_cmd(void)
{
    pgcdc_worker *w[MAX_PIPELINES];
    char *slots[MAX_PIPELINES];

    for (int i = 0; i < npipes; i++) {
        w[i] = pipes[i].w;
        slots[i] = pipes[i].o.slot;
    }
    return pgcdc_tool_status_cmd(stdout, w, slots, npipes);
}

static void check_ok(const char *path)
{
    printf("%s: ok (%d pipeline%s:", path, npipes, npipes == 1 ? "" : "s");
    for (int i = 0; i < npipes; i++)
        printf(" %s", pipes[i].o.slot[0] != '\0' ? pipes[i].o.slot : "-");
    printf(")\n");
}

/*
 * Runs what the pipelines were built for, the admin server and SIGHUP's
 * thread alongside; its exit code in *code.  1 when it stopped to start
 * again with the changed file, then in *next.
 */
static int serve(const pgcdc_tool_args *a, const pgcdc_tool_config_file *f, int *code,
                 pgcdc_tool_config_file *next)
{
    pgcdc_worker *w[MAX_PIPELINES];
    char *tags[MAX_PIPELINES];
    pgcdc_tool_admin *adm;
    int again;
    int r = 0;

    for (int i = 0; i < npipes; i++) {
        w[i] = pipes[i].w;
        tags[i] = pipes[i].o.slot;
    }
    if (streams(&pipes[0].o))
        signal_reload = pgcdc_tool_reload_start(a, f, w, npipes);
    catch_signals(w, npipes);
    /* The admin server from before the start (a busy address fails at once) to the end. */
    adm = pgcdc_tool_admin_start(streams(&pipes[0].o) ? pipes[0].o.metrics_addr : NULL, w, tags,
                                 npipes, pipes[0].o.verbosity < 0, &r);
    if (r == 0)
        r = npipes == 1 ? run_one(pipes[0].w, &pipes[0].o) : run_pipelines();
    pgcdc_tool_admin_stop(adm);
    nsignal_workers = 0;
    {
        pgcdc_tool_reload *rl = signal_reload;

        signal_reload = NULL;
        again = pgcdc_tool_reload_stop(rl, next);
    }
    *code = r;
    return again;
}

int main(int argc, char **argv)
{
    pgcdc_tool_config_file file = {0};
    pgcdc_tool_args a;
    int r = pgcdc_tool_args_read(argc, argv, &a);

    if (r == 0 && a.config != NULL) {
        char err[1024];

        if (pgcdc_tool_config_file_read(a.config, &file, err, sizeof(err)) != 0) {
            fprintf(stderr, "pgcdc: %s\n", err);
            r = EXIT_USAGE;
        }
    }
    /* Once, or again after each SIGHUP that brought a changed --config file. */
    for (int again = 1; again;) {
        pgcdc_tool_config_file next;

        again = 0;
        if (r == 0 && file.npipelines > 1)
            r = pgcdc_tool_args_for_pipelines(&a, file.npipelines);
        if (r == 0)
            r = build(&a, &file);
        if (r == 0 && a.status)
            r = status_cmd();
        else if (r == 0 && a.check)
            check_ok(a.config);
        else if (r == 0 && serve(&a, &file, &r, &next)) {
            pgcdc_tool_config_file_free(&file);
            file = next;
            /* A SIGINT or SIGTERM meanwhile ends it there. */
            again = r == 0 && stop_signal == 0;
        }
        for (int i = 0; pipes != NULL && i < npipes; i++)
            pgcdc_worker_free(pipes[i].w);
        free(pipes);
        pipes = NULL;
        npipes = 0;
    }
    pgcdc_tool_config_file_free(&file);
    pgcdc_tool_args_free(&a);
    return r < 0 ? 0 : r;
}
