/*
 * The http sink's batches: events hashed by key into lanes, gathered into
 * batches the sink's thread sends one at a time per lane, and transactions
 * acknowledged once every lane has delivered its events of them.  What the
 * sink's thread has to say (a failure, a batch to dead-letter, a line for
 * the log) the worker's thread picks up here, in write and flush.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "sink/http.h"

void pgcdc__http_note(pgcdc__http *hs, int level, const char *fmt, ...)
{
    va_list ap;

    if (hs->nnotes == PGCDC__HTTP_NOTES) {
        hs->dropped_notes++;
        return;
    }
    va_start(ap, fmt);
    vsnprintf(hs->notes[hs->nnotes].text, sizeof(hs->notes[0].text), fmt, ap);
    va_end(ap);
    hs->notes[hs->nnotes++].level = level;
    atomic_store(&hs->news, 1);
}

void pgcdc__http_log_notes(pgcdc__http *hs)
{
    pgcdc__hnote notes[PGCDC__HTTP_NOTES];
    int n;
    int dropped;

    pthread_mutex_lock(&hs->mu);
    n = hs->nnotes;
    dropped = hs->dropped_notes;
    memcpy(notes, hs->notes, (size_t)n * sizeof(notes[0]));
    hs->nnotes = 0;
    hs->dropped_notes = 0;
    pthread_mutex_unlock(&hs->mu);
    /* The log hook runs here, on the worker's thread, with no lock held. */
    for (int i = 0; i < n; i++)
        pgcdc_sink_log(hs->sink, (pgcdc_log_level)notes[i].level, "%s", notes[i].text);
    if (dropped > 0)
        pgcdc_sink_log(hs->sink, PGCDC_LOG_WARNING, "webhook %s: %d more lines not logged",
                       hs->shown, dropped);
}

/* ---- transactions waiting for their batches (under mu) ---- */

static int pending_reserve(pgcdc__http *hs)
{
    size_t cap;
    uint64_t *tokens;
    uint64_t *needs;
    size_t nl = (size_t)hs->nlanes;

    if (hs->pcount < hs->pcap)
        return PGCDC_OK;
    cap = hs->pcap ? hs->pcap * 2 : 64;
    tokens = malloc(cap * sizeof(*tokens));
    needs = malloc(cap * nl * sizeof(*needs));
    if (tokens == NULL || needs == NULL) {
        free(tokens);
        free(needs);
        return PGCDC_ERR_NOMEM;
    }
    /* Unrolled from the ring, oldest first. */
    for (size_t i = 0; i < hs->pcount; i++) {
        size_t at = (hs->phead + i) % hs->pcap;

        tokens[i] = hs->tokens[at];
        memcpy(needs + i * nl, hs->needs + at * nl, nl * sizeof(*needs));
    }
    free(hs->tokens);
    free(hs->needs);
    hs->tokens = tokens;
    hs->needs = needs;
    hs->pcap = cap;
    hs->phead = 0;
    return PGCDC_OK;
}

/* Whether every lane delivered the batches a transaction waits for. */
static int satisfied(const pgcdc__http *hs, const uint64_t *need)
{
    for (int l = 0; l < hs->nlanes; l++) {
        if (hs->lanes[l].done < need[l])
            return 0;
    }
    return 1;
}

/* Acknowledges the waiting transactions whose batches were all delivered, in order. */
static void ack_ready(pgcdc__http *hs)
{
    size_t nl = (size_t)hs->nlanes;

    while (hs->pcount > 0 && satisfied(hs, hs->needs + hs->phead * nl)) {
        pgcdc_sink_ack(hs->sink, hs->tokens[hs->phead]);
        hs->phead = (hs->phead + 1) % hs->pcap;
        hs->pcount--;
    }
}

/* ---- batches ---- */

static void batch_free(pgcdc__hbatch *b)
{
    if (b == NULL)
        return;
    pgcdc__buf_free(&b->body);
    free(b);
}

/* The open batch joins the lane's sealed ones (under mu). */
static void seal(pgcdc__http *hs, pgcdc__hlane *lane)
{
    pgcdc__hbatch *b = lane->open;
    size_t n = strlen(b->id);

    if (!hs->ndjson)
        pgcdc__buf_u8(&b->body, ']');
    snprintf(b->id + n, sizeof(b->id) - n, "-%s", b->last);
    if (lane->tail != NULL)
        lane->tail->next = b;
    else
        lane->head = b;
    lane->tail = b;
    lane->open = NULL;
    lane->ready = 0;
}

pgcdc__hbatch *pgcdc__http_next(pgcdc__http *hs, int l, int64_t now, int64_t *wait_us)
{
    pgcdc__hlane *lane = &hs->lanes[l];
    pgcdc__hbatch *b = lane->open;

    if (lane->head != NULL)
        return lane->head;
    if (b == NULL || b->nevents == 0)
        return NULL;
    if (lane->ready || now >= b->opened_us + hs->linger_us) {
        seal(hs, lane);
        return lane->head;
    }
    if (b->opened_us + hs->linger_us - now < *wait_us)
        *wait_us = b->opened_us + hs->linger_us - now;
    return NULL;
}

size_t pgcdc__http_done(pgcdc__http *hs, int l)
{
    pgcdc__hlane *lane = &hs->lanes[l];
    pgcdc__hbatch *b = lane->head;
    size_t bytes = b->reserved;

    lane->head = b->next;
    if (lane->head == NULL)
        lane->tail = NULL;
    lane->done++;
    lane->busy = 0;
    lane->dead = 0;
    lane->attempts = 0;
    lane->first_fail_us = 0;
    lane->retry_at_us = 0;
    batch_free(b);
    ack_ready(hs);
    return bytes;
}

/* "<commit_lsn>:<seq>" of a change; begin and commit events have no seq of their own. */
static void event_id(const pgcdc_sink_event *ev, char *id, size_t size)
{
    const pgcdc_change *c = pgcdc_sink_event_change(ev);
    const pgcdc_txn *txn = pgcdc_sink_event_txn(ev);
    char lsn[32];

    pgcdc_lsn_format(pgcdc_txn_commit_lsn(txn), lsn, sizeof(lsn));
    if (c != NULL)
        snprintf(id, size, "%s:%u%s", lsn, pgcdc_change_seq(c),
                 pgcdc_change_op(c) == PGCDC_OP_SCHEMA ? ":schema" : "");
    else
        snprintf(id, size, "%s:%s", lsn,
                 pgcdc_sink_event_kind(ev) == PGCDC_EVENT_BEGIN ? "begin" : "commit");
}

/*
 * Adds an event's lines to the lane's open batch (under mu): 1 when a batch
 * became ready to send, 0 when not, or PGCDC_ERR_NOMEM.
 */
static int append(pgcdc__http *hs, int l, const pgcdc_sink_event *ev, const char *data, size_t len,
                  size_t reserved)
{
    pgcdc__hlane *lane = &hs->lanes[l];
    pgcdc__hbatch *b = lane->open;
    int wake = 0;

    if (b != NULL && b->nevents > 0 && b->body.len + len + 2 > hs->batch_bytes) {
        seal(hs, lane);
        b = NULL;
        wake = 1;
    }
    if (b == NULL) {
        b = calloc(1, sizeof(*b));
        if (b == NULL)
            return PGCDC_ERR_NOMEM;
        pgcdc__buf_init(&b->body);
        b->seq = ++lane->created;
        b->opened_us = pgcdc__now_us();
        event_id(ev, b->id, sizeof(b->id));
        if (!hs->ndjson)
            pgcdc__buf_u8(&b->body, '[');
        lane->open = b;
        wake = 1;
    }
    if (hs->ndjson) {
        pgcdc__buf_put(&b->body, data, len);
    } else {
        /* Each line an element of the array. */
        for (const char *p = data, *end = data + len; p < end;) {
            const char *nl = memchr(p, '\n', (size_t)(end - p));
            size_t n = nl != NULL ? (size_t)(nl - p) : (size_t)(end - p);

            if (n > 0) {
                if (b->body.len > 1)
                    pgcdc__buf_u8(&b->body, ',');
                pgcdc__buf_put(&b->body, p, n);
            }
            p += n + (nl != NULL);
        }
    }
    event_id(ev, b->last, sizeof(b->last));
    b->nevents++;
    b->reserved += reserved;
    if (b->body.oom)
        return PGCDC_ERR_NOMEM;
    if (b->nevents >= hs->batch_size || b->body.len + 1 >= hs->batch_bytes) {
        seal(hs, lane);
        wake = 1;
    }
    /* A lane in flight looks at its batches when its request ends. */
    return wake && !lane->busy;
}

/* 64-bit FNV-1a. */
static uint64_t hash_bytes(const char *p, size_t n)
{
    uint64_t h = UINT64_C(14695981039346656037);

    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)p[i];
        h *= UINT64_C(1099511628211);
    }
    return h;
}

/*
 * The lane of an event: its key's (a keyless change goes by its table, so
 * that a table's TRUNCATE stays in order with it); begin and commit lines
 * go to lane 0.
 */
static int lane_of(pgcdc__http *hs, const pgcdc_sink_event *ev, int *lane)
{
    const char *key;
    size_t klen;

    *lane = 0;
    if (hs->nlanes == 1 || pgcdc_sink_event_kind(ev) != PGCDC_EVENT_CHANGE)
        return PGCDC_OK;
    if (pgcdc_sink_event_key(ev, &key, &klen) != PGCDC_OK)
        return PGCDC_ERR_NOMEM;
    if (klen == 0) {
        key = pgcdc_sink_event_route(ev);
        klen = key != NULL ? strlen(key) : 0;
    }
    *lane = (int)(hash_bytes(key, klen) % (uint64_t)hs->nlanes);
    return PGCDC_OK;
}

/* Every open batch to be sent as soon as its lane is free; 1 if there was one. */
static int make_ready(pgcdc__http *hs)
{
    int any = 0;

    pthread_mutex_lock(&hs->mu);
    for (int l = 0; l < hs->nlanes; l++) {
        pgcdc__hlane *lane = &hs->lanes[l];

        if (lane->open != NULL && lane->open->nevents > 0 && !lane->ready) {
            lane->ready = 1;
            any = 1;
        }
    }
    pthread_mutex_unlock(&hs->mu);
    return any;
}

/*
 * Batches the sink's thread gave up on go to the dead-letter file, here on
 * the worker's thread, and count as delivered once they are durable there.
 */
static int dead_letters(pgcdc__http *hs)
{
    for (int l = 0; l < hs->nlanes; l++) {
        pgcdc__hlane *lane = &hs->lanes[l];
        const pgcdc__hbatch *b = NULL;
        char why[sizeof(lane->why)];
        int r;

        pthread_mutex_lock(&hs->mu);
        if (lane->dead) {
            b = lane->head;
            memcpy(why, lane->why, sizeof(why));
        }
        pthread_mutex_unlock(&hs->mu);
        if (b == NULL)
            continue;
        /* The batch stays put (its lane waits) until this returns. */
        r = pgcdc__sink_dead_letter(hs->sink, (const char *)b->body.data, b->body.len, why);
        if (r != PGCDC_OK)
            return r;
        pthread_mutex_lock(&hs->mu);
        pgcdc__http_done(hs, l);
        pthread_mutex_unlock(&hs->mu);
        pgcdc__http_wakeup(hs);
    }
    return PGCDC_OK;
}

/*
 * What the sink's thread left for the worker: lines to log, batches to
 * dead-letter, a failure (which stays: every later call returns it).
 */
static int pick_up(pgcdc__http *hs)
{
    int r;

    if (!atomic_load_explicit(&hs->news, memory_order_acquire))
        return PGCDC_OK;
    /* Cleared first: what comes meanwhile sets it again. */
    atomic_store(&hs->news, 0);
    pgcdc__http_log_notes(hs);
    r = pgcdc__inflight_check(&hs->inflight);
    if (r == PGCDC_OK && hs->dead_letter)
        r = dead_letters(hs);
    if (r != PGCDC_OK)
        atomic_store(&hs->news, 1);
    return r;
}

/* The commit: the transaction is acknowledged once the batches holding its events are. */
static int commit(pgcdc__http *hs, const pgcdc_sink_event *ev)
{
    size_t nl = (size_t)hs->nlanes;
    int r = PGCDC_DEFER;

    pthread_mutex_lock(&hs->mu);
    if (pending_reserve(hs) != PGCDC_OK) {
        pthread_mutex_unlock(&hs->mu);
        return pgcdc_sink_fail(hs->sink, PGCDC_ERR_NOMEM, "out of memory");
    }
    {
        size_t at = (hs->phead + hs->pcount) % hs->pcap;
        uint64_t *need = hs->needs + at * nl;

        for (size_t l = 0; l < nl; l++)
            need[l] = hs->lanes[l].created;
        if (hs->pcount == 0 && satisfied(hs, need)) {
            r = PGCDC_HANDLED;
        } else {
            hs->tokens[at] = pgcdc_sink_event_token(ev);
            hs->pcount++;
        }
    }
    pthread_mutex_unlock(&hs->mu);
    return r;
}

int pgcdc__http_write(pgcdc_sink *sink, const pgcdc_sink_event *ev)
{
    pgcdc__http *hs = pgcdc_sink_state(sink);
    const char *data;
    size_t len;
    int lane;
    int r = pick_up(hs);

    if (r != PGCDC_OK)
        return r;
    r = pgcdc_sink_event_data(ev, &data, &len);
    if (r != PGCDC_OK)
        return pgcdc_sink_fail(sink, r, "out of memory");
    if (len > 0) {
        r = lane_of(hs, ev, &lane);
        if (r != PGCDC_OK)
            return pgcdc_sink_fail(sink, r, "out of memory");
        /* Waiting for room while batches sit unsent would wait forever: send them first. */
        if (pgcdc__inflight_bytes(&hs->inflight) + len + 1 > hs->inflight.bound && make_ready(hs))
            pgcdc__http_wakeup(hs);
        r = pgcdc__inflight_reserve(&hs->inflight, len + 1);
        if (r != PGCDC_OK)
            return r;
        pthread_mutex_lock(&hs->mu);
        r = append(hs, lane, ev, data, len, len + 1);
        pthread_mutex_unlock(&hs->mu);
        if (r < 0) {
            /* A batch with a hole in it cannot be sent: stop here, nothing confirmed past it. */
            pthread_mutex_lock(&hs->mu);
            hs->failed = 1;
            pthread_mutex_unlock(&hs->mu);
            pgcdc__inflight_fail(&hs->inflight, PGCDC_ERR_NOMEM,
                                 "out of memory gathering a batch for webhook %s", hs->shown);
            atomic_store(&hs->news, 1);
            return pgcdc__inflight_check(&hs->inflight);
        }
        if (r > 0)
            pgcdc__http_wakeup(hs);
    }
    if (pgcdc_sink_event_kind(ev) == PGCDC_EVENT_COMMIT)
        return commit(hs, ev);
    return PGCDC_HANDLED;
}

int pgcdc__http_flush(pgcdc_sink *sink)
{
    pgcdc__http *hs = pgcdc_sink_state(sink);
    int r = pick_up(hs);

    if (r != PGCDC_OK)
        return r;
    /* Caught up: what is gathered goes now rather than after its linger. */
    if (make_ready(hs))
        pgcdc__http_wakeup(hs);
    return PGCDC_OK;
}

size_t pgcdc__http_free_batches(pgcdc__http *hs)
{
    size_t lost = 0;

    for (int l = 0; hs->lanes != NULL && l < hs->nlanes; l++) {
        pgcdc__hlane *lane = &hs->lanes[l];

        while (lane->head != NULL) {
            pgcdc__hbatch *b = lane->head;

            lane->head = b->next;
            lost += b->nevents;
            batch_free(b);
        }
        if (lane->open != NULL)
            lost += lane->open->nevents;
        batch_free(lane->open);
    }
    free(hs->lanes);
    hs->lanes = NULL;
    free(hs->tokens);
    free(hs->needs);
    hs->tokens = NULL;
    hs->needs = NULL;
    return lost;
}
