/*
 * The test's own nats-server, its streams read back, and a load to stream (see nats_srv.h).
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <nats/nats.h>

#include "nats_srv.h"
#include "testlib.h"

/* Debian installs it in /usr/sbin, which a user's PATH may lack. */
#define NATS_SERVER "/usr/sbin/nats-server"

/* A connection and its JetStream context, or 0 when the server does not answer. */
static int open_js(const ns_server *s, natsConnection **nc, jsCtx **js)
{
    natsOptions *opts = NULL;
    int ok = natsOptions_Create(&opts) == NATS_OK && natsOptions_SetURL(opts, s->uri) == NATS_OK &&
             natsOptions_SetTimeout(opts, 5000) == NATS_OK &&
             natsOptions_SetAllowReconnect(opts, false) == NATS_OK &&
             (s->token == NULL || natsOptions_SetToken(opts, s->token) == NATS_OK) &&
             natsConnection_Connect(nc, opts) == NATS_OK;

    natsOptions_Destroy(opts);
    if (ok && natsConnection_JetStream(js, *nc, NULL) == NATS_OK)
        return 1;
    if (ok)
        natsConnection_Destroy(*nc);
    *nc = NULL;
    *js = NULL;
    return 0;
}

static void close_js(natsConnection *nc, jsCtx *js)
{
    jsCtx_Destroy(js);
    natsConnection_Destroy(nc);
}

/* Waits up to 60 s until JetStream answers (it recovers its streams first after a restart). */
static void wait_ready(ns_server *s)
{
    for (int i = 0; i < 600; i++) {
        natsConnection *nc;
        jsCtx *js;
        jsAccountInfo *ai = NULL;

        if (open_js(s, &nc, &js)) {
            int ok = js_GetAccountInfo(&ai, js, NULL, NULL) == NATS_OK;

            jsAccountInfo_Destroy(ai);
            close_js(nc, js);
            if (ok)
                return;
        }
        if (tl_daemon_exited(&s->pid))
            fail_msg("nats-server on port %d exited (see %s/nats.log)", s->port, s->dir);
        tl_sleep_ms(100);
    }
    fail_msg("nats-server on port %d never answered", s->port);
}

static void spawn(ns_server *s)
{
    char port[16];
    char log[128];
    char store[96];
    const char *argv[] = {NATS_SERVER, "-js", "-a", "127.0.0.1", "-p", port, "-sd",
                          store,       "-l",  log,  NULL,        NULL, NULL};

    snprintf(port, sizeof(port), "%d", s->port);
    snprintf(log, sizeof(log), "%s/nats.log", s->dir);
    snprintf(store, sizeof(store), "%s/store", s->dir);
    if (s->token != NULL) {
        argv[10] = "--auth";
        argv[11] = s->token;
    }
    s->pid = tl_daemon_start(argv);
    wait_ready(s);
}

void ns_start(ns_server *s, const char *token)
{
    memset(s, 0, sizeof(*s));
    snprintf(s->dir, sizeof(s->dir), "/tmp/pgcdc-nats-XXXXXX");
    assert_non_null(mkdtemp(s->dir));
    s->port = tl_free_port();
    s->token = token;
    snprintf(s->uri, sizeof(s->uri), "nats://127.0.0.1:%d", s->port);
    spawn(s);
}

void ns_restart(ns_server *s)
{
    assert_int_equal(s->pid, 0);
    spawn(s);
}

void ns_kill(ns_server *s)
{
    tl_daemon_stop(&s->pid, SIGKILL);
}

void ns_stop(ns_server *s)
{
    char cmd[128];

    tl_daemon_stop(&s->pid, SIGTERM);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", s->dir);
    assert_int_equal(system(cmd), 0);
}

void ns_add_stream(ns_server *s, const char *name, const char *subject, int64_t dup_window_ms,
                   int64_t max_msgs)
{
    natsConnection *nc;
    jsCtx *js;
    jsStreamConfig cfg;
    jsStreamInfo *si = NULL;
    jsErrCode jerr = 0;
    const char *subjects[1] = {subject};

    assert_true(open_js(s, &nc, &js));
    jsStreamConfig_Init(&cfg);
    cfg.Name = name;
    cfg.Subjects = subjects;
    cfg.SubjectsLen = 1;
    cfg.Storage = js_FileStorage;
    cfg.Duplicates = dup_window_ms * 1000000LL;
    if (max_msgs > 0) {
        cfg.MaxMsgs = max_msgs;
        cfg.Discard = js_DiscardNew;
    }
    if (js_AddStream(&si, js, &cfg, NULL, &jerr) != NATS_OK)
        fail_msg("add stream %s: %s (%d)", name, nats_GetLastError(NULL), (int)jerr);
    jsStreamInfo_Destroy(si);
    close_js(nc, js);
}

static char *dup_or_null(const char *p, int len)
{
    return p != NULL ? strndup(p, (size_t)len) : NULL;
}

void ns_read(ns_server *s, const char *stream, ns_stream *out)
{
    natsConnection *nc;
    jsCtx *js;
    jsStreamInfo *si = NULL;
    jsErrCode jerr = 0;

    memset(out, 0, sizeof(*out));
    assert_true(open_js(s, &nc, &js));
    if (js_GetStreamInfo(&si, js, stream, NULL, &jerr) != NATS_OK)
        fail_msg("stream %s: %s", stream, nats_GetLastError(NULL));
    out->m = calloc(si->State.Msgs + 1, sizeof(*out->m));
    assert_non_null(out->m);
    for (uint64_t seq = si->State.FirstSeq; out->n < si->State.Msgs && seq <= si->State.LastSeq;
         seq++) {
        natsMsg *msg = NULL;
        const char *id = NULL;
        ns_msg *m = &out->m[out->n];

        if (js_GetMsg(&msg, js, stream, seq, NULL, &jerr) != NATS_OK)
            fail_msg("stream %s, message %llu: %s", stream, (unsigned long long)seq,
                     nats_GetLastError(NULL));
        m->seq = seq;
        m->subject = strdup(natsMsg_GetSubject(msg));
        m->data = dup_or_null(natsMsg_GetData(msg), natsMsg_GetDataLength(msg));
        if (natsMsgHeader_Get(msg, "Nats-Msg-Id", &id) == NATS_OK)
            m->msg_id = strdup(id);
        natsMsg_Destroy(msg);
        out->n++;
    }
    jsStreamInfo_Destroy(si);
    close_js(nc, js);
}

void ns_stream_free(ns_stream *st)
{
    for (size_t i = 0; i < st->n; i++) {
        free(st->m[i].subject);
        free(st->m[i].data);
        free(st->m[i].msg_id);
    }
    free(st->m);
    memset(st, 0, sizeof(*st));
}

long ns_count(ns_server *s, const char *stream)
{
    natsConnection *nc;
    jsCtx *js;
    jsStreamInfo *si = NULL;
    long n = -1;

    assert_true(open_js(s, &nc, &js));
    if (js_GetStreamInfo(&si, js, stream, NULL, NULL) == NATS_OK)
        n = (long)si->State.Msgs;
    jsStreamInfo_Destroy(si);
    close_js(nc, js);
    return n;
}
