/*
 * The http sink (webhooks) over libcurl: the URI and properties, and the
 * sink's own thread, which runs every request on one curl multi handle:
 * one batch in flight per lane, a 2xx acknowledging it, 429, 5xx, timeouts
 * and lost connections retried with backoff (Retry-After honoured), any
 * other answer handed to the error policy.  Nothing here logs: the thread
 * leaves notes that the worker's thread logs (http_batch.c).
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "base/clock.h"
#include "sink/http.h"

/* The longest close waits for requests in flight. */
#define CLOSE_WAIT_US (5 * INT64_C(1000000))
/* The consequence of halting, as every sink says it. */
#define NOTHING_LOST                                                                               \
    "nothing after the last confirmed position is lost (fix it and start again, or set "           \
    "on_error=dead_letter)"

static const pgcdc_property http_properties[] = {
    {"batch_size", PGCDC_PROP_INT, "500", 1, 1000000, NULL, "the most events in one request"},
    {"batch_bytes", PGCDC_PROP_SIZE, "1MB", 1024, 1LL << 30, NULL,
     "the largest request body (a larger event goes alone)"},
    {"batch_linger", PGCDC_PROP_DURATION, "50ms", 0, 60000, NULL,
     "how long a batch waits for more events while the worker is busy"},
    {"encoding", PGCDC_PROP_ENUM, "json", 0, 0, "json|ndjson",
     "request body: a JSON array of the events, or their lines as they come"},
    {"lanes", PGCDC_PROP_INT, "1", 1, 64, NULL,
     "batches in flight at once, events hashed by key (order kept per key); 1: commit order"},
    {"secret", PGCDC_PROP_STRING, NULL, 0, 0, NULL,
     "Standard Webhooks signing secret (whsec_ and base64); none: unsigned"},
    {"header", PGCDC_PROP_LIST, NULL, 0, 0, NULL,
     "a header sent with every request, \"Name: value\" (repeatable)"},
    {"ca_file", PGCDC_PROP_STRING, NULL, 0, 0, NULL,
     "the CA certificates that https endpoints are verified with (default: the system's)"},
    {"timeout", PGCDC_PROP_DURATION, "30s", 100, 3600000, NULL, "the longest one request may take"},
    {"retry_initial", PGCDC_PROP_DURATION, "100ms", 1, 3600000, NULL,
     "the first wait before a failed request is sent again (doubled each time, with jitter)"},
    {"retry_max", PGCDC_PROP_DURATION, "30s", 1, 86400000, NULL,
     "the longest wait between attempts (a Retry-After answer may ask for longer)"},
    {"max_elapsed", PGCDC_PROP_DURATION, "5m", 0, 7 * 86400000LL, NULL,
     "how long a batch is retried before the error policy applies"},
    {"max_inflight", PGCDC_PROP_SIZE, "64MB", 1024, 1LL << 36, NULL,
     "the most event bytes gathered or in flight; reading the stream waits beyond it"},
};

/* Per lane: its transfer. */
typedef struct xfer {
    CURL *easy;
    struct curl_slist *hdrs;
    pgcdc__hbatch *batch;
    char status[128]; /* the status line of the last answer */
    char reply[160];  /* the start of its body */
    size_t nreply;
    char errbuf[CURL_ERROR_SIZE];
} xfer;

typedef struct io {
    CURLM *multi;
    xfer *xfers;
    struct curl_slist *custom; /* the header property's */
    int custom_type;           /* it sets Content-Type */
    pthread_t thread;
    int started;
    int global; /* holds libcurl's global state */
} io;

/* ---- libcurl's global state, set up once for every sink of the process ---- */

static pthread_mutex_t global_mu = PTHREAD_MUTEX_INITIALIZER;
static int global_users;

static int global_acquire(void)
{
    int r = 0;

    pthread_mutex_lock(&global_mu);
    if (global_users == 0 && curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        r = -1;
    else
        global_users++;
    pthread_mutex_unlock(&global_mu);
    return r;
}

static void global_release(void)
{
    pthread_mutex_lock(&global_mu);
    if (--global_users == 0)
        curl_global_cleanup();
    pthread_mutex_unlock(&global_mu);
}

/* ---- the URI ---- */

static int http_check_uri(const char *uri, char *err, size_t errlen)
{
    CURLU *u = curl_url();
    char *scheme = NULL;
    char *host = NULL;
    char *fragment = NULL;
    CURLUcode rc;
    int r = PGCDC_ERR_INVALID;

    if (u == NULL) {
        snprintf(err, errlen, "out of memory");
        return PGCDC_ERR_NOMEM;
    }
    rc = curl_url_set(u, CURLUPART_URL, uri, 0);
    if (rc != CURLUE_OK)
        snprintf(err, errlen, "not a valid URL: %s (use http://host[:port]/path or https://...)",
                 curl_url_strerror(rc));
    else if (strncasecmp(uri, "http://", 7) != 0 && strncasecmp(uri, "https://", 8) != 0)
        snprintf(err, errlen, "not a valid URL (use http://host[:port]/path or https://...)");
    else if (curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
             (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0))
        snprintf(err, errlen, "the URL's scheme must be http or https");
    else if (curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK || host[0] == '\0')
        snprintf(err, errlen, "the URL names no host (use http://host[:port]/path)");
    else if (curl_url_get(u, CURLUPART_FRAGMENT, &fragment, 0) == CURLUE_OK)
        snprintf(err, errlen, "the URL has a #fragment, which is never sent (remove it)");
    else
        r = PGCDC_OK;
    curl_free(scheme);
    curl_free(host);
    curl_free(fragment);
    curl_url_cleanup(u);
    return r;
}

/* The URL for messages: without user, password or query, which may hold secrets. */
static char *shown_url(const char *uri)
{
    CURLU *u = curl_url();
    char *text = NULL;
    char *copy = NULL;
    int query = 0;

    if (u != NULL && curl_url_set(u, CURLUPART_URL, uri, 0) == CURLUE_OK) {
        char *q = NULL;

        query = curl_url_get(u, CURLUPART_QUERY, &q, 0) == CURLUE_OK;
        curl_free(q);
        curl_url_set(u, CURLUPART_USER, NULL, 0);
        curl_url_set(u, CURLUPART_PASSWORD, NULL, 0);
        curl_url_set(u, CURLUPART_OPTIONS, NULL, 0);
        curl_url_set(u, CURLUPART_QUERY, NULL, 0);
        curl_url_get(u, CURLUPART_URL, &text, 0);
    }
    if (text != NULL && asprintf(&copy, "%s%s", text, query ? "?..." : "") < 0)
        copy = NULL;
    curl_free(text);
    curl_url_cleanup(u);
    return copy;
}

/* ---- settings ---- */

/* "Name: value" with a token for a name; the signature's headers are the sink's own. */
static int check_header(const char *h, int *is_type)
{
    size_t n = 0;

    while (h[n] != '\0' && h[n] != ':' &&
           (isalnum((unsigned char)h[n]) || strchr("!#$%&'*+-.^_`|~", h[n]) != NULL))
        n++;
    if (n == 0 || h[n] != ':' || strpbrk(h, "\r\n") != NULL)
        return -1;
    if (strncasecmp(h, "webhook-", 8) == 0 || (n == 14 && strncasecmp(h, "content-length", n) == 0))
        return -1;
    *is_type = n == 12 && strncasecmp(h, "content-type", n) == 0;
    return 0;
}

static int read_settings(pgcdc_sink *sink, pgcdc__http *hs, io *o)
{
    const char *name;
    const char *value;
    long long v[8];
    static const char *const nums[] = {"batch_size", "batch_bytes", "batch_linger", "retry_initial",
                                       "retry_max",  "max_elapsed", "timeout",      "lanes"};
    const char *secret = pgcdc_sink_property(sink, "secret");
    const char *ca = pgcdc_sink_property(sink, "ca_file");

    for (int i = 0; i < 8; i++) {
        if (pgcdc__sink_prop_num(sink, nums[i], &v[i]) != PGCDC_OK)
            return PGCDC_ERR_INVALID;
    }
    hs->batch_size = (size_t)v[0];
    hs->batch_bytes = (size_t)v[1];
    hs->linger_us = v[2] * 1000;
    hs->retry_initial_us = v[3] * 1000;
    hs->retry_max_us = v[4] * 1000;
    hs->max_elapsed_us = v[5] * 1000;
    hs->timeout_ms = (long)v[6];
    hs->nlanes = (int)v[7];
    hs->ndjson = strcmp(pgcdc_sink_property(sink, "encoding"), "ndjson") == 0;
    if (secret != NULL) {
        int n = pgcdc__http_secret(secret, hs->key, sizeof(hs->key));

        if (n <= 0)
            return pgcdc_sink_fail(sink, PGCDC_ERR_INVALID,
                                   "sink.http.secret is not a Standard Webhooks secret (use "
                                   "whsec_ followed by the base64 of 24 to 64 random bytes)");
        hs->keylen = (size_t)n;
        hs->sign = 1;
    }
    if (ca != NULL) {
        if (access(ca, R_OK) != 0)
            return pgcdc_sink_fail(sink, PGCDC_ERR_INVALID,
                                   "cannot read sink.http.ca_file \"%s\" (give a PEM file of CA "
                                   "certificates)",
                                   ca);
        hs->ca_file = strdup(ca);
        if (hs->ca_file == NULL)
            return pgcdc_sink_fail(sink, PGCDC_ERR_NOMEM, "out of memory");
    }
    for (int i = 0; pgcdc__sink_prop_at(sink, i, &name, &value); i++) {
        struct curl_slist *grown;
        int is_type = 0;

        if (strcmp(name, "header") != 0)
            continue;
        if (check_header(value, &is_type) != 0)
            return pgcdc_sink_fail(sink, PGCDC_ERR_INVALID,
                                   "invalid sink.http.header \"%s\" (use \"Name: value\"; the "
                                   "webhook-* headers are the sink's own)",
                                   value);
        grown = curl_slist_append(o->custom, value);
        if (grown == NULL)
            return pgcdc_sink_fail(sink, PGCDC_ERR_NOMEM, "out of memory");
        o->custom = grown;
        o->custom_type |= is_type;
    }
    return PGCDC_OK;
}

/* ---- one request ---- */

static size_t on_header(char *data, size_t size, size_t n, void *arg)
{
    xfer *x = arg;
    size_t len = size * n;

    /* A new answer (after a 100 Continue, say) starts over. */
    if (len > 5 && strncmp(data, "HTTP/", 5) == 0) {
        size_t k = len < sizeof(x->status) ? len : sizeof(x->status) - 1;

        memcpy(x->status, data, k);
        while (k > 0 && (x->status[k - 1] == '\r' || x->status[k - 1] == '\n'))
            k--;
        x->status[k] = '\0';
        x->nreply = 0;
    }
    return len;
}

static size_t on_body(char *data, size_t size, size_t n, void *arg)
{
    xfer *x = arg;
    size_t len = size * n;
    size_t k = sizeof(x->reply) - 1 - x->nreply;

    if (k > len)
        k = len;
    memcpy(x->reply + x->nreply, data, k);
    x->nreply += k;
    return len;
}

/* Headers and options of a request for x->batch; the easy handle keeps the rest. */
static int prepare(pgcdc__http *hs, io *o, xfer *x)
{
    pgcdc__hbatch *b = x->batch;
    struct curl_slist *h = NULL;
    char line[160];
    char ts[24];
    char sig[96];
    int ok = 1;

    for (const struct curl_slist *c = o->custom; c != NULL && ok; c = c->next)
        ok = (h = curl_slist_append(h, c->data)) != NULL;
    snprintf(line, sizeof(line), "Content-Type: %s",
             hs->ndjson ? "application/x-ndjson" : "application/json");
    if (ok && !o->custom_type)
        ok = (h = curl_slist_append(h, line)) != NULL;
    /* No 100-continue round trip before the body. */
    if (ok)
        ok = (h = curl_slist_append(h, "Expect:")) != NULL;
    if (ok && hs->sign) {
        /* Signed anew at each attempt: the timestamp is the attempt's. */
        snprintf(ts, sizeof(ts), "%lld", (long long)time(NULL));
        ok = pgcdc__http_sign(hs->key, hs->keylen, b->id, ts, b->body.data, b->body.len, sig,
                              sizeof(sig)) == 0;
        snprintf(line, sizeof(line), "webhook-id: %s", b->id);
        ok = ok && (h = curl_slist_append(h, line)) != NULL;
        snprintf(line, sizeof(line), "webhook-timestamp: %s", ts);
        ok = ok && (h = curl_slist_append(h, line)) != NULL;
        snprintf(line, sizeof(line), "webhook-signature: %s", sig);
        ok = ok && (h = curl_slist_append(h, line)) != NULL;
    } else if (ok) {
        snprintf(line, sizeof(line), "webhook-id: %s", b->id);
        ok = (h = curl_slist_append(h, line)) != NULL;
    }
    curl_slist_free_all(x->hdrs);
    x->hdrs = h;
    if (!ok)
        return -1;
    x->status[0] = '\0';
    x->nreply = 0;
    x->errbuf[0] = '\0';
    curl_easy_setopt(x->easy, CURLOPT_HTTPHEADER, x->hdrs);
    curl_easy_setopt(x->easy, CURLOPT_POSTFIELDS, b->body.data);
    curl_easy_setopt(x->easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)b->body.len);
    return 0;
}

static int setup_easy(pgcdc__http *hs, xfer *x)
{
    CURL *e = curl_easy_init();

    x->easy = e;
    if (e == NULL)
        return -1;
    curl_easy_setopt(e, CURLOPT_URL, hs->url);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, hs->timeout_ms);
    curl_easy_setopt(e, CURLOPT_USERAGENT, "pgcdc/" PGCDC_VERSION_STRING);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, x);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, x);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, x->errbuf);
    curl_easy_setopt(e, CURLOPT_PRIVATE, x);
    if (hs->ca_file != NULL)
        curl_easy_setopt(e, CURLOPT_CAINFO, hs->ca_file);
    return 0;
}

/* ---- an answer ---- */

/* Seconds asked for by Retry-After (a number or an HTTP date), or -1 when absent. */
static int64_t retry_after_us(CURL *e)
{
    struct curl_header *h = NULL;
    const char *v;
    char *end;
    long long secs;

    if (curl_easy_header(e, "Retry-After", 0, CURLH_HEADER, -1, &h) != CURLHE_OK)
        return -1;
    v = h->value;
    secs = strtoll(v, &end, 10);
    if (end == v || *end != '\0') {
        time_t at = curl_getdate(v, NULL);

        if (at < 0)
            return -1;
        secs = (long long)(at - time(NULL));
    }
    return secs < 0 ? 0 : secs * 1000000;
}

/* Failures that trying again may mend: 408, 429, 5xx, and the network's. */
static int retryable(CURLcode rc, long status)
{
    if (rc == CURLE_OK)
        return status == 408 || status == 429 || status >= 500;
    switch (rc) {
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_URL_MALFORMAT:
    case CURLE_OUT_OF_MEMORY:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_CRL_BADFILE:
        return 0;
    default:
        return 1;
    }
}

/* "503 Service Unavailable: <the body's start>", or curl's reason. */
static void describe(const xfer *x, CURLcode rc, long status, char *out, size_t size)
{
    char reply[sizeof(x->reply)];
    const char *reason = x->status;
    size_t n = 0;

    if (rc != CURLE_OK) {
        snprintf(out, size, "%s", x->errbuf[0] ? x->errbuf : curl_easy_strerror(rc));
        return;
    }
    /* "HTTP/1.1 503 Service Unavailable": the reason after the code, if any. */
    for (int spaces = 0; *reason != '\0' && spaces < 2; reason++)
        spaces += *reason == ' ';
    for (size_t i = 0; i < x->nreply && n + 1 < sizeof(reply); i++)
        reply[n++] = isprint((unsigned char)x->reply[i]) ? x->reply[i] : ' ';
    while (n > 0 && reply[n - 1] == ' ')
        n--;
    reply[n] = '\0';
    snprintf(out, size, "%ld%s%s%s%s", status, *reason ? " " : "", reason, n ? ": " : "", reply);
}

/* Gives up on the head of lane l (under mu): the error policy. */
static void give_up(pgcdc__http *hs, int l, const char *what)
{
    pgcdc__hlane *lane = &hs->lanes[l];
    pgcdc__hbatch *b = lane->head;
    size_t bytes;

    if (!hs->dead_letter) {
        hs->failed = 1;
        pthread_mutex_unlock(&hs->mu);
        atomic_store(&hs->news, 1);
        pgcdc__inflight_fail(
            &hs->inflight, PGCDC_ERR_SINK,
            "webhook %s failed for a batch of %zu events (webhook-id %s): %s; " NOTHING_LOST,
            hs->shown, b->nevents, b->id, what);
        pthread_mutex_lock(&hs->mu);
        return;
    }
    /* Counted here: the worker dead-letters it without a failure of the sink. */
    pgcdc__sink_count_error(hs->sink);
    snprintf(lane->why, sizeof(lane->why),
             "webhook %s failed for a batch of %zu events (webhook-id %s): %s", hs->shown,
             b->nevents, b->id, what);
    lane->dead = 1;
    atomic_store(&hs->news, 1);
    /* The worker may be the one waiting for room: it must get to the batch. */
    bytes = b->reserved;
    b->reserved = 0;
    pthread_mutex_unlock(&hs->mu);
    pgcdc__inflight_release(&hs->inflight, bytes);
    pgcdc__sink_wake(hs->sink);
    pthread_mutex_lock(&hs->mu);
}

/* A request of lane l ended with rc (and status when rc is CURLE_OK). */
static void finished(pgcdc__http *hs, int l, xfer *x, CURLcode rc)
{
    pgcdc__hlane *lane = &hs->lanes[l];
    long status = 0;
    int64_t now = pgcdc__now_us();
    int64_t delay;
    int64_t asked = -1;
    char what[320];

    if (rc == CURLE_OK)
        curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &status);
    if (rc == CURLE_OK && status >= 200 && status < 300) {
        size_t bytes;

        pthread_mutex_lock(&hs->mu);
        if (lane->attempts > 0 && --hs->nfailing == 0)
            pgcdc__http_note(hs, PGCDC_LOG_INFO, "webhook %s recovered after %d attempts",
                             hs->shown, lane->attempts + 1);
        bytes = pgcdc__http_done(hs, l);
        pthread_mutex_unlock(&hs->mu);
        pgcdc__inflight_release(&hs->inflight, bytes);
        return;
    }
    describe(x, rc, status, what, sizeof(what));
    if (rc == CURLE_OK && retryable(rc, status))
        asked = retry_after_us(x->easy);
    pthread_mutex_lock(&hs->mu);
    lane->busy = 0;
    if (lane->attempts++ == 0) {
        lane->first_fail_us = now;
        /* Once per change of state, not once per retry. */
        if (hs->nfailing++ == 0 && retryable(rc, status))
            pgcdc__http_note(hs, PGCDC_LOG_WARNING, "webhook %s failing: %s, retrying", hs->shown,
                             what);
    }
    if (!retryable(rc, status)) {
        if (--hs->nfailing < 0)
            hs->nfailing = 0;
        give_up(hs, l, what);
    } else {
        int shift = lane->attempts - 1 < 30 ? lane->attempts - 1 : 30;
        int64_t deadline = lane->first_fail_us + hs->max_elapsed_us;

        delay = hs->retry_initial_us << shift;
        if (delay > hs->retry_max_us || delay <= 0)
            delay = hs->retry_max_us;
        /* Equal jitter: half the wait fixed, half random. */
        hs->rng ^= hs->rng << 13;
        hs->rng ^= hs->rng >> 7;
        hs->rng ^= hs->rng << 17;
        delay = delay / 2 + (int64_t)(hs->rng % (uint64_t)(delay / 2 + 1));
        if (asked >= 0)
            delay = asked;
        if (now >= deadline || (asked >= 0 && now + asked > deadline)) {
            char why[sizeof(what) + 96];

            snprintf(why, sizeof(why), "still failing after %d attempts: %s", lane->attempts, what);
            hs->nfailing--;
            give_up(hs, l, why); /* which counts the failure */
        } else {
            pgcdc__sink_count_error(hs->sink); /* each retried failure */
            lane->retry_at_us = now + delay < deadline ? now + delay : deadline;
        }
    }
    pthread_mutex_unlock(&hs->mu);
}

/* ---- the sink's thread ---- */

/* Starts what the lanes have to send (under mu); 1 for each lane started in start[]. */
static int pick(pgcdc__http *hs, io *o, int64_t now, int64_t *wait_us, char *start)
{
    int running = 0;

    for (int l = 0; l < hs->nlanes; l++) {
        pgcdc__hlane *lane = &hs->lanes[l];
        pgcdc__hbatch *b;

        start[l] = 0;
        if (lane->busy) {
            running++;
            continue;
        }
        if (hs->failed || hs->closing || lane->dead)
            continue;
        if (lane->retry_at_us > now) {
            if (lane->retry_at_us - now < *wait_us)
                *wait_us = lane->retry_at_us - now;
            continue;
        }
        b = pgcdc__http_next(hs, l, now, wait_us);
        if (b == NULL)
            continue;
        lane->busy = 1;
        o->xfers[l].batch = b;
        start[l] = 1;
        running++;
    }
    return running;
}

static void *run(void *arg)
{
    pgcdc__http *hs = arg;
    io *o = hs->io;
    char start[64];

    for (;;) {
        int64_t now = pgcdc__now_us();
        int64_t wait_us = 1000000;
        int running;
        int quit;
        int ended = 0;
        CURLMsg *msg;
        int left;

        pthread_mutex_lock(&hs->mu);
        running = pick(hs, o, now, &wait_us, start);
        quit = hs->closing && (running == 0 || now >= hs->close_by);
        if (hs->closing && hs->close_by - now < wait_us)
            wait_us = hs->close_by - now;
        pthread_mutex_unlock(&hs->mu);
        if (quit)
            break;
        for (int l = 0; l < hs->nlanes; l++) {
            if (!start[l])
                continue;
            if (prepare(hs, o, &o->xfers[l]) != 0 ||
                curl_multi_add_handle(o->multi, o->xfers[l].easy) != CURLM_OK) {
                pthread_mutex_lock(&hs->mu);
                hs->failed = 1;
                hs->lanes[l].busy = 0;
                pthread_mutex_unlock(&hs->mu);
                atomic_store(&hs->news, 1);
                pgcdc__inflight_fail(&hs->inflight, PGCDC_ERR_NOMEM,
                                     "out of memory sending to webhook %s", hs->shown);
            }
        }
        curl_multi_perform(o->multi, &left);
        while ((msg = curl_multi_info_read(o->multi, &left)) != NULL) {
            xfer *x = NULL;

            if (msg->msg != CURLMSG_DONE)
                continue;
            curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&x);
            curl_multi_remove_handle(o->multi, msg->easy_handle);
            finished(hs, (int)(x - o->xfers), x, msg->data.result);
            ended = 1;
        }
        if (ended)
            continue;
        curl_multi_poll(o->multi, NULL, 0, wait_us > 0 ? (int)((wait_us + 999) / 1000) : 0, NULL);
    }
    return NULL;
}

void pgcdc__http_wakeup(pgcdc__http *hs)
{
    io *o = hs->io;

    if (o != NULL && o->multi != NULL)
        curl_multi_wakeup(o->multi);
}

/* ---- the sink ---- */

static int http_open(pgcdc_sink *sink, const char *uri)
{
    pgcdc__http *hs = calloc(1, sizeof(*hs));
    io *o;
    long long bound;
    int r;

    if (hs == NULL)
        return pgcdc_sink_fail(sink, PGCDC_ERR_NOMEM, "out of memory");
    pgcdc_sink_set_state(sink, hs);
    hs->sink = sink;
    hs->io = o = calloc(1, sizeof(*o));
    hs->url = strdup(uri);
    hs->shown = shown_url(uri);
    if (o == NULL || hs->url == NULL || hs->shown == NULL)
        return pgcdc_sink_fail(sink, PGCDC_ERR_NOMEM, "out of memory");
    r = read_settings(sink, hs, o);
    if (r != PGCDC_OK)
        return r;
    if (pgcdc__sink_prop_num(sink, "max_inflight", &bound) != PGCDC_OK)
        return PGCDC_ERR_INVALID;
    hs->dead_letter = pgcdc__sink_can_dead_letter(sink);
    hs->rng = (uint64_t)pgcdc__now_us() | 1;
    pgcdc__inflight_init(&hs->inflight, sink, (size_t)bound);
    hs->inflight_ready = 1;
    pthread_mutex_init(&hs->mu, NULL);
    hs->mu_ready = 1;
    hs->lanes = calloc((size_t)hs->nlanes, sizeof(*hs->lanes));
    o->xfers = calloc((size_t)hs->nlanes, sizeof(*o->xfers));
    if (hs->lanes == NULL || o->xfers == NULL)
        return pgcdc_sink_fail(sink, PGCDC_ERR_NOMEM, "out of memory");
    if (global_acquire() != 0)
        return pgcdc_sink_fail(sink, PGCDC_ERR_SINK, "could not set up libcurl");
    o->global = 1;
    o->multi = curl_multi_init();
    for (int l = 0; o->multi != NULL && l < hs->nlanes; l++) {
        if (setup_easy(hs, &o->xfers[l]) != 0)
            return pgcdc_sink_fail(sink, PGCDC_ERR_NOMEM, "out of memory");
    }
    if (o->multi == NULL || pthread_create(&o->thread, NULL, run, hs) != 0)
        return pgcdc_sink_fail(sink, PGCDC_ERR_NOMEM, "could not start the webhook thread");
    o->started = 1;
    return PGCDC_OK;
}

static void http_close(pgcdc_sink *sink)
{
    pgcdc__http *hs = pgcdc_sink_state(sink);
    io *o;
    size_t lost;

    if (hs == NULL)
        return;
    o = hs->io;
    if (o != NULL && o->started) {
        pthread_mutex_lock(&hs->mu);
        hs->closing = 1;
        hs->close_by = pgcdc__now_us() + CLOSE_WAIT_US;
        pthread_mutex_unlock(&hs->mu);
        curl_multi_wakeup(o->multi);
        pthread_join(o->thread, NULL);
    }
    if (hs->mu_ready)
        pgcdc__http_log_notes(hs);
    if (o != NULL && o->xfers != NULL) {
        for (int l = 0; l < hs->nlanes; l++) {
            if (o->xfers[l].easy == NULL)
                continue;
            if (o->multi != NULL)
                curl_multi_remove_handle(o->multi, o->xfers[l].easy);
            curl_easy_cleanup(o->xfers[l].easy);
            curl_slist_free_all(o->xfers[l].hdrs);
        }
    }
    if (o != NULL && o->multi != NULL)
        curl_multi_cleanup(o->multi);
    if (o != NULL && o->global)
        global_release();
    lost = pgcdc__http_free_batches(hs);
    if (lost > 0 && !hs->failed)
        pgcdc_sink_log(sink, PGCDC_LOG_INFO,
                       "webhook %s: %zu events were not delivered before the end (nor "
                       "confirmed: the next start sends them)",
                       hs->shown, lost);
    if (o != NULL) {
        curl_slist_free_all(o->custom);
        free(o->xfers);
        free(o);
    }
    if (hs->inflight_ready)
        pgcdc__inflight_destroy(&hs->inflight);
    if (hs->mu_ready)
        pthread_mutex_destroy(&hs->mu);
    free(hs->ca_file);
    free(hs->url);
    free(hs->shown);
    free(hs);
}

const pgcdc_sink_ops pgcdc__http_sink = {
    .abi = PGCDC_SINK_ABI,
    .kind = "http",
    .open = http_open,
    .write = pgcdc__http_write,
    .flush = pgcdc__http_flush,
    .close = http_close,
    .properties = http_properties,
    .nproperties = (int)(sizeof(http_properties) / sizeof(http_properties[0])),
    .check_uri = http_check_uri,
};
