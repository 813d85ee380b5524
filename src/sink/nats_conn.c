/*
 * The nats sink's URI, connection and stream, and the callbacks libnats
 * makes from its own threads (PubAcks, a connection lost or back).
 */
#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nats/nats.h>

#include "base/clock.h"
#include "sink/nats.h"
#include "sink/nats_int.h"
#include "sink/sink.h"
#include "sink/template.h"

#define DEFAULT_TEMPLATE "${prefix}.${schema}.${table}"

/*
 * Open sinks: a callback of libnats for a sink being closed (its threads
 * may still deliver one) finds it gone from here and does nothing.
 */
static pthread_mutex_t live_mu = PTHREAD_MUTEX_INITIALIZER;
static pgcdc__nats *live;

/* ---- the URI: nats://HOST[:PORT][/SUBJECT_TEMPLATE] ---- */

/* Characters of a subject's template: visible, no wildcard, nothing that ends a URI's path. */
static int subject_char(int ch)
{
    return isgraph(ch) && ch != '*' && ch != '>' && ch != '?' && ch != '#';
}

/* Characters of a schema or table name kept in a subject ('.', spaces, wildcards become '_'). */
int pgcdc__nats_name_char(int ch)
{
    return ch >= 0x80 || (isgraph(ch) && ch != '.' && ch != '*' && ch != '>');
}

/* A subject's tokens are separated by '.' and none is empty. */
static int tokens_ok(const char *s)
{
    return s[0] != '.' && s[0] != '\0' && s[strlen(s) - 1] != '.' && strstr(s, "..") == NULL;
}

int pgcdc__nats_check_uri(const char *uri, char *err, size_t errlen)
{
    const char *host;
    const char *end;
    long port = 4222;

    if (strncmp(uri, "nats://", 7) != 0) {
        snprintf(err, errlen, "not a nats URI (use nats://HOST:PORT/SUBJECT_TEMPLATE)");
        return PGCDC_ERR_INVALID;
    }
    host = uri + 7;
    end = host + strcspn(host, "/");
    /* The authority is not shown back: it may hold a password. */
    if (memchr(host, '@', (size_t)(end - host)) != NULL) {
        snprintf(err, errlen,
                 "no credentials in the URI (use sink.nats.user and sink.nats.password, or "
                 "sink.nats.token)");
        return PGCDC_ERR_INVALID;
    }
    if (pgcdc__sink_host_port(host, end, "(use nats://HOST:PORT/SUBJECT_TEMPLATE)", &port, NULL,
                              err, errlen) != PGCDC_OK)
        return PGCDC_ERR_INVALID;
    if (*end == '/' && end[1] != '\0') {
        pgcdc__buf b;
        int ok;

        if (pgcdc__template_check(end + 1, "subject", subject_char,
                                  "in a NATS subject (no spaces, '*', '>', '?' or '#')", NULL, err,
                                  errlen) != PGCDC_OK)
            return PGCDC_ERR_INVALID;
        pgcdc__buf_init(&b);
        if (pgcdc__template_expand(&b, end + 1, "s", "t", "p", NULL) != PGCDC_OK) {
            pgcdc__buf_free(&b);
            snprintf(err, errlen, "out of memory");
            return PGCDC_ERR_NOMEM;
        }
        ok = tokens_ok((const char *)b.data);
        pgcdc__buf_free(&b);
        if (!ok) {
            snprintf(err, errlen,
                     "empty token in the subject \"%s\" (its '.'-separated parts may not be "
                     "empty)",
                     end + 1);
            return PGCDC_ERR_INVALID;
        }
    }
    return PGCDC_OK;
}

/* The template with the prefix put in (the prefix's dots stay separators), malloc'd. */
static char *with_prefix(const char *t, const char *prefix)
{
    pgcdc__buf b;

    pgcdc__buf_init(&b);
    while (*t != '\0') {
        if (strncmp(t, "${prefix}", 9) == 0) {
            pgcdc__buf_put(&b, prefix, strlen(prefix));
            t += 9;
        } else {
            pgcdc__buf_u8(&b, (uint8_t)*t++);
        }
    }
    return pgcdc__buf_take(&b);
}

/* Host, port, template; the prefix checked.  PGCDC_OK or a failure. */
int pgcdc__nats_split_uri(pgcdc__nats *ns, const char *uri)
{
    const char *host = uri + 7;
    const char *end = host + strcspn(host, "/");
    const char *colon = memchr(host, ':', (size_t)(end - host));
    const char *t = *end == '/' && end[1] != '\0' ? end + 1 : DEFAULT_TEMPLATE;

    for (const char *p = ns->prefix; *p != '\0'; p++) {
        if (!subject_char((unsigned char)*p) || *p == '$')
            return pgcdc_sink_fail(ns->sink, PGCDC_ERR_INVALID,
                                   "sink.nats.subject_prefix: character '%c' is not allowed "
                                   "(no spaces, '*', '>', '$', '?' or '#')",
                                   *p);
    }
    if (!tokens_ok(ns->prefix))
        return pgcdc_sink_fail(ns->sink, PGCDC_ERR_INVALID,
                               "sink.nats.subject_prefix \"%s\" has an empty token (its "
                               "'.'-separated parts may not be empty)",
                               ns->prefix);
    if (ns->create_stream && strncmp(t, "${prefix}.", 10) != 0)
        return pgcdc_sink_fail(ns->sink, PGCDC_ERR_INVALID,
                               "sink.nats.create_stream makes a stream of subjects ${prefix}.>: "
                               "the subject template must start with \"${prefix}.\"");
    if (ns->create_stream && ns->stream[0] == '\0')
        return pgcdc_sink_fail(ns->sink, PGCDC_ERR_INVALID,
                               "sink.nats.create_stream needs sink.nats.stream (its name)");
    ns->host = strndup(host, (size_t)((colon != NULL ? colon : end) - host));
    ns->port = colon != NULL ? atoi(colon + 1) : 4222;
    ns->tmpl = with_prefix(t, ns->prefix);
    return ns->host != NULL && ns->tmpl != NULL
               ? PGCDC_OK
               : pgcdc_sink_fail(ns->sink, PGCDC_ERR_NOMEM, "out of memory");
}

/* ---- libnats' threads ---- */

static pgcdc__nats *lock_live(void *closure)
{
    pgcdc__nats *ns;

    pthread_mutex_lock(&live_mu);
    for (ns = live; ns != NULL && ns != closure; ns = ns->next_live)
        ;
    if (ns == NULL)
        pthread_mutex_unlock(&live_mu);
    return ns;
}

/* A PubAck, an error back from the server, or a timeout: the message's new state. */
static void on_ack(jsCtx *js, natsMsg *msg, jsPubAck *pa, jsPubAckErr *pae, void *closure)
{
    pgcdc__nats *ns = lock_live(closure);
    nmsg *e = NULL;
    int wake;

    (void)js;
    if (ns == NULL) {
        natsMsg_Destroy(msg);
        return;
    }
    pthread_mutex_lock(&ns->mu);
    for (size_t i = ns->hint; i < ns->nq && e == NULL; i++)
        e = ns->q[i].msg == msg ? &ns->q[i] : NULL;
    for (size_t i = ns->done; i < ns->hint && i < ns->nq && e == NULL; i++)
        e = ns->q[i].msg == msg ? &ns->q[i] : NULL;
    if (e != NULL) {
        ns->hint = (size_t)(e - ns->q) + 1;
        e->msg = NULL;
        if (pa != NULL) {
            e->state = NM_ACKED;
            ns->duplicates += pa->Duplicate;
        } else if (pae->ErrCode != 0 && pae->Err != NATS_NO_RESPONDERS &&
                   pae->Err != NATS_TIMEOUT) {
            /* The stream refused it (a limit, an expectation): sending it again would not do. */
            e->state = NM_REFUSED;
            e->why = strdup(pae->ErrText != NULL ? pae->ErrText : natsStatus_GetText(pae->Err));
        } else {
            e->state = NM_RETRY;
            ns->lost = 1;
            if (pae->Err == NATS_NO_RESPONDERS)
                snprintf(ns->why, sizeof(ns->why),
                         "no stream takes subject \"%s\" (create one, or set "
                         "sink.nats.create_stream=true)",
                         natsMsg_GetSubject(msg));
            else if (pae->Err == NATS_TIMEOUT)
                snprintf(ns->why, sizeof(ns->why), "no PubAck within %lld ms", ns->timeout_ms);
            else
                snprintf(ns->why, sizeof(ns->why), "%s",
                         pae->ErrText != NULL ? pae->ErrText : natsStatus_GetText(pae->Err));
        }
    }
    /* The worker takes every PubAck back at once: it needs waking for the first only. */
    wake = e == NULL || e->state != NM_ACKED || (size_t)(e - ns->q) == ns->done;
    pthread_cond_broadcast(&ns->cond);
    pthread_mutex_unlock(&ns->mu);
    if (wake)
        pgcdc__sink_wake(ns->sink);
    pthread_mutex_unlock(&live_mu);
    /* The handler's to destroy (what is sent again is made anew from the sink's copy). */
    natsMsg_Destroy(msg);
}

/* Lost, or back: the worker looks (what was in flight is sent again once it timed out). */
static void on_conn(natsConnection *nc, void *closure)
{
    pgcdc__nats *ns = lock_live(closure);

    (void)nc;
    if (ns == NULL)
        return;
    pthread_mutex_lock(&ns->mu);
    if (natsConnection_Status(nc) != NATS_CONN_STATUS_CONNECTED) {
        ns->lost = 1;
        snprintf(ns->why, sizeof(ns->why), "connection lost");
    }
    pthread_cond_broadcast(&ns->cond);
    pthread_mutex_unlock(&ns->mu);
    pgcdc__sink_wake(ns->sink);
    pthread_mutex_unlock(&live_mu);
}

/* ---- the connection ---- */

/* The calling thread's last libnats error (without its "(file.c:123): "), else s's text. */
const char *pgcdc__nats_last_error(natsStatus s)
{
    const char *text = nats_GetLastError(NULL);
    const char *at = text != NULL && text[0] == '(' ? strstr(text, "): ") : NULL;

    if (at != NULL)
        text = at + 3;
    return text != NULL && text[0] != '\0' ? text : natsStatus_GetText(s);
}

int pgcdc__nats_setup_options(pgcdc__nats *ns, const char *user, const char *password,
                              const char *token)
{
    char url[300];
    natsStatus s;

    snprintf(url, sizeof(url), "nats://%s:%d", ns->host, ns->port);
    s = natsOptions_Create(&ns->opts);
    if (s == NATS_OK)
        s = natsOptions_SetURL(ns->opts, url);
    if (s == NATS_OK && user[0] != '\0')
        s = natsOptions_SetUserInfo(ns->opts, user, password);
    if (s == NATS_OK && token[0] != '\0')
        s = natsOptions_SetToken(ns->opts, token);
    if (s == NATS_OK)
        s = natsOptions_SetTimeout(ns->opts, ns->timeout_ms);
    /* Reconnect for ever (max_elapsed is the sink's limit), and soon. */
    if (s == NATS_OK)
        s = natsOptions_SetMaxReconnect(ns->opts, -1);
    if (s == NATS_OK)
        s = natsOptions_SetReconnectWait(ns->opts, 250);
    /*
     * No publishing while reconnecting: a message buffered then would reach
     * the stream before the ones lost in flight that are sent again.
     */
    if (s == NATS_OK)
        s = natsOptions_SetReconnectBufSize(ns->opts, 1);
    if (s == NATS_OK)
        s = natsOptions_SetDisconnectedCB(ns->opts, on_conn, ns);
    if (s == NATS_OK)
        s = natsOptions_SetReconnectedCB(ns->opts, on_conn, ns);
    return s == NATS_OK ? PGCDC_OK
                        : pgcdc_sink_fail(ns->sink, PGCDC_ERR_NOMEM, "nats options: %s",
                                          natsStatus_GetText(s));
}

int pgcdc__nats_connect(pgcdc__nats *ns)
{
    jsOptions jo;
    natsStatus s;

    pthread_mutex_lock(&live_mu);
    ns->next_live = live;
    live = ns;
    pthread_mutex_unlock(&live_mu);
    s = natsConnection_Connect(&ns->nc, ns->opts);

    /* Nobody there yet: libnats keeps trying in the background. */
    if (s == NATS_NO_SERVER || s == NATS_TIMEOUT || s == NATS_IO_ERROR) {
        s = natsOptions_SetRetryOnFailedConnect(ns->opts, true, on_conn, ns);
        if (s == NATS_OK)
            s = natsConnection_Connect(&ns->nc, ns->opts);
    }
    /* Anything else (a refused authorization, say) would not pass by waiting. */
    if (s != NATS_OK && s != NATS_NOT_YET_CONNECTED)
        return pgcdc_sink_fail(ns->sink, PGCDC_ERR_SINK,
                               "could not connect to nats at \"%s:%d\": %s (check "
                               "sink.nats.user, sink.nats.password or sink.nats.token)",
                               ns->host, ns->port, pgcdc__nats_last_error(s));
    jsOptions_Init(&jo);
    jo.Wait = ns->timeout_ms;
    jo.PublishAsync.AckHandler = on_ack;
    jo.PublishAsync.AckHandlerClosure = ns;
    if (natsConnection_JetStream(&ns->js, ns->nc, &jo) != NATS_OK)
        return pgcdc_sink_fail(ns->sink, PGCDC_ERR_SINK, "sink \"%s\": JetStream: %s",
                               ns->sink->shown, pgcdc__nats_last_error(NATS_ERR));
    if (s == NATS_NOT_YET_CONNECTED) {
        /* Unreachable now is said at once; the first messages wait, as after a lost connection. */
        snprintf(ns->why, sizeof(ns->why), "could not connect to %s:%d", ns->host, ns->port);
        pgcdc__sink_count_error(ns->sink);
        pgcdc_sink_log(ns->sink, PGCDC_LOG_WARNING, "sink \"%s\": %s (retrying)", ns->sink->shown,
                       ns->why);
        ns->down = 1;
        ns->down_since = pgcdc__now_us();
        ns->lost = 1;
    }
    return PGCDC_OK;
}

/*
 * The stream, made when asked and missing: PGCDC_OK, 1 to try again
 * (unreachable; why set), or a failure.
 */
int pgcdc__nats_ensure_stream(pgcdc__nats *ns)
{
    jsStreamInfo *si = NULL;
    jsStreamConfig cfg;
    jsErrCode jerr = 0;
    char subjects[300];
    const char *list[1] = {subjects};
    natsStatus s;

    if (ns->stream_ready || !ns->create_stream)
        return PGCDC_OK;
    s = js_GetStreamInfo(&si, ns->js, ns->stream, NULL, &jerr);
    if (s == NATS_NOT_FOUND) {
        snprintf(subjects, sizeof(subjects), "%s.>", ns->prefix);
        jsStreamConfig_Init(&cfg);
        cfg.Name = ns->stream;
        cfg.Subjects = list;
        cfg.SubjectsLen = 1;
        cfg.Storage = js_FileStorage;
        cfg.Duplicates = ns->dup_window_ms * 1000000LL;
        s = js_AddStream(&si, ns->js, &cfg, NULL, &jerr);
        if (s == NATS_OK)
            pgcdc_sink_log(ns->sink, PGCDC_LOG_INFO,
                           "sink \"%s\": created stream \"%s\" (subjects %s)", ns->sink->shown,
                           ns->stream, subjects);
        else if (jerr != 0)
            return pgcdc_sink_fail(ns->sink, PGCDC_ERR_SINK,
                                   "could not create stream \"%s\": %s (error %d)", ns->stream,
                                   pgcdc__nats_last_error(s), (int)jerr);
    }
    jsStreamInfo_Destroy(si);
    if (s != NATS_OK) {
        pthread_mutex_lock(&ns->mu);
        snprintf(ns->why, sizeof(ns->why), "stream \"%s\": %s", ns->stream,
                 pgcdc__nats_last_error(s));
        pthread_mutex_unlock(&ns->mu);
        return 1;
    }
    ns->stream_ready = 1;
    return PGCDC_OK;
}

void pgcdc__nats_unlist(pgcdc__nats *ns)
{
    pthread_mutex_lock(&live_mu);
    for (pgcdc__nats **p = &live; *p != NULL; p = &(*p)->next_live) {
        if (*p == ns) {
            *p = ns->next_live;
            break;
        }
    }
    pthread_mutex_unlock(&live_mu);
}
