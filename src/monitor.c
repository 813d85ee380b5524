/*
 * The monitor thread: heartbeats every heartbeat.interval and the slot's
 * row of pg_replication_slots at the start and every 5 s, on a connection
 * of its own, so that neither holds up the stream.  It never logs (a
 * context belongs to one thread): it keeps its findings for the worker's
 * thread, which logs them and acts on the WAL budget in pgcdc__monitor_poll.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "monitor.h"
#include "pg/monitor.h"
#include "worker.h"

/* How often the slot's state is read. */
#define PGCDC__SLOT_CHECK_MS 5000

_Static_assert(sizeof(pgcdc_stats) == 256, "pgcdc_stats must keep its size");

struct pgcdc__monitor {
    pthread_t thread;
    int running;
    pgcdc__stop stop; /* the thread's: a stop interrupts its sleep and its server commands */
    pgcdc__ctx ctx;   /* the thread's; it never logs */
    pgcdc__monconn *mc;
    pgcdc__stop *wake; /* the worker's: woken when there is news to log */
    char *slot;
    int heartbeat_ms;
    int64_t budget;

    /* Shared with the worker's thread. */
    pthread_mutex_t mu;
    char hb_error[PGCDC__MSG_SIZE];   /* the last heartbeat's failure, "" when it worked */
    char slot_error[PGCDC__MSG_SIZE]; /* the last reading's failure, "" when it worked */
    atomic_int *news;                 /* the worker's monitor_news */
    _Atomic uint64_t retained;
    _Atomic int64_t safe_wal_size;
    atomic_int wal_status;
    atomic_int over;
    _Atomic uint64_t heartbeats;
    _Atomic uint64_t heartbeat_lsn;

    /* The worker's thread only: what was logged last. */
    int logged_over;
    int logged_status;
    int hb_failing;
    int slot_failing;
};

static pgcdc_wal_status parse_status(const char *s)
{
    static const char *const names[] = {"reserved", "extended", "unreserved", "lost"};

    for (int i = 0; i < 4; i++) {
        if (strcmp(s, names[i]) == 0)
            return (pgcdc_wal_status)(i + 1);
    }
    return PGCDC_WAL_STATUS_UNKNOWN;
}

static void tell(struct pgcdc__monitor *m)
{
    atomic_store(m->news, 1);
    pgcdc__stop_wake(m->wake);
}

/* A failure (or a success after one, msg NULL) into the worker's view: news when it changed. */
static void set_error(struct pgcdc__monitor *m, char *dst, const char *msg)
{
    int changed;

    pthread_mutex_lock(&m->mu);
    changed = strcmp(dst, msg != NULL ? msg : "") != 0;
    snprintf(dst, PGCDC__MSG_SIZE, "%s", msg != NULL ? msg : "");
    pthread_mutex_unlock(&m->mu);
    if (changed)
        tell(m);
}

static void beat(struct pgcdc__monitor *m)
{
    uint64_t lsn = 0;

    if (pgcdc__monconn_heartbeat(m->mc, &lsn) != PGCDC_OK) {
        if (!pgcdc__stop_requested(&m->stop))
            set_error(m, m->hb_error, m->ctx.msg);
        return;
    }
    atomic_store(&m->heartbeat_lsn, lsn);
    atomic_fetch_add(&m->heartbeats, 1);
    set_error(m, m->hb_error, NULL);
}

static void check_slot(struct pgcdc__monitor *m)
{
    pgcdc__slot_row row;
    pgcdc_wal_status status;
    int over;

    if (pgcdc__monconn_slot(m->mc, m->slot, &row) != PGCDC_OK) {
        if (!pgcdc__stop_requested(&m->stop))
            set_error(m, m->slot_error, m->ctx.msg);
        return;
    }
    set_error(m, m->slot_error, NULL);
    status = parse_status(row.wal_status);
    /* safe_wal_size is negative past the limit: nothing is safe any more. */
    atomic_store(&m->safe_wal_size, row.safe_wal_size < -1 ? 0 : row.safe_wal_size);
    atomic_store(&m->retained, row.retained > 0 ? (uint64_t)row.retained : 0);
    over = m->budget > 0 && row.retained > m->budget;
    if (atomic_exchange(&m->wal_status, (int)status) != (int)status ||
        atomic_exchange(&m->over, over) != over)
        tell(m);
}

static void *monitor_main(void *arg)
{
    struct pgcdc__monitor *m = arg;
    int64_t now = pgcdc__now_us();
    int64_t next_beat = now + (int64_t)m->heartbeat_ms * 1000;
    int64_t next_check = now;

    while (!pgcdc__stop_requested(&m->stop)) {
        int64_t next;

        now = pgcdc__now_us();
        if (m->heartbeat_ms > 0 && now >= next_beat) {
            beat(m);
            next_beat = pgcdc__now_us() + (int64_t)m->heartbeat_ms * 1000;
        }
        if (now >= next_check) {
            check_slot(m);
            next_check = pgcdc__now_us() + (int64_t)PGCDC__SLOT_CHECK_MS * 1000;
        }
        next = m->heartbeat_ms > 0 && next_beat < next_check ? next_beat : next_check;
        now = pgcdc__now_us();
        if (next > now)
            pgcdc__stop_sleep(&m->stop, (int)((next - now + 999) / 1000));
    }
    return NULL;
}

static void monitor_free(struct pgcdc__monitor *m)
{
    pgcdc__monconn_free(m->mc);
    pgcdc__stop_destroy(&m->stop);
    pthread_mutex_destroy(&m->mu);
    free(m->slot);
    free(m);
}

int pgcdc__monitor_start(pgcdc_worker *w)
{
    struct pgcdc__monitor *m;

    if (atomic_load(&w->monitor) != NULL)
        return PGCDC_OK;
    m = calloc(1, sizeof(*m));
    if (m == NULL)
        return pgcdc__fail(&w->ctx, PGCDC_ERR_NOMEM, "out of memory");
    pthread_mutex_init(&m->mu, NULL);
    m->wake = &w->stop;
    m->news = &w->monitor_news;
    m->heartbeat_ms = w->cfg.heartbeat_ms;
    m->budget = w->cfg.max_retained_wal;
    m->slot = strdup(w->cfg.slot);
    pgcdc__ctx_init(&m->ctx, NULL, NULL, -1);
    if (m->slot == NULL || pgcdc__stop_init(&m->stop) != 0) {
        m->stop.wake[0] = m->stop.wake[1] = -1;
        monitor_free(m);
        return pgcdc__fail(&w->ctx, PGCDC_ERR_NOMEM, "out of memory");
    }
    pgcdc__ctx_set_stop(&m->ctx, &m->stop);
    atomic_store(&m->safe_wal_size, -1);
    m->mc = pgcdc__monconn_new(&m->ctx, w->cfg.conninfo);
    if (m->mc == NULL || pthread_create(&m->thread, NULL, monitor_main, m) != 0) {
        monitor_free(m);
        return pgcdc__fail(&w->ctx, PGCDC_ERR_NOMEM, "could not start the monitor thread");
    }
    m->running = 1;
    atomic_store(&w->monitor, m);
    return PGCDC_OK;
}

void pgcdc__monitor_stop(pgcdc_worker *w)
{
    struct pgcdc__monitor *m = atomic_load(&w->monitor);

    if (m == NULL || !m->running)
        return;
    pgcdc__stop_request(&m->stop);
    pthread_join(m->thread, NULL);
    m->running = 0;
    pgcdc__monconn_free(m->mc);
    m->mc = NULL;
}

void pgcdc__monitor_free(pgcdc_worker *w)
{
    struct pgcdc__monitor *m = atomic_load(&w->monitor);

    if (m == NULL)
        return;
    pgcdc__monitor_stop(w);
    atomic_store(&w->monitor, NULL);
    monitor_free(m);
}

/* A failure logged once when it begins (and when its message changes), and when it ends. */
static void log_failure(pgcdc_worker *w, const char *msg, int *failing, const char *what)
{
    if (msg[0] != '\0') {
        pgcdc__log(&w->ctx, PGCDC_LOG_WARNING, "%s (retried: the stream goes on)", msg);
        *failing = 1;
    } else if (*failing) {
        pgcdc__log(&w->ctx, PGCDC_LOG_INFO, "%s work again", what);
        *failing = 0;
    }
}

static void log_status(pgcdc_worker *w, pgcdc_wal_status status)
{
    if (status == PGCDC_WAL_STATUS_UNRESERVED)
        pgcdc__log(&w->ctx, PGCDC_LOG_WARNING,
                   "replication slot \"%s\" is unreserved: it holds back more WAL than "
                   "max_slot_wal_keep_size allows, and the server removes that WAL at its next "
                   "checkpoint unless the slot catches up first (then the slot is lost); "
                   "let pgcdc catch up (a slow handler or sink?) or raise "
                   "max_slot_wal_keep_size",
                   w->cfg.slot);
    else if (status == PGCDC_WAL_STATUS_LOST)
        pgcdc__log(&w->ctx, PGCDC_LOG_WARNING,
                   "replication slot \"%s\" is lost: WAL it needs was removed "
                   "(max_slot_wal_keep_size) and it cannot stream on; drop it and create it "
                   "again, then take a new snapshot of the tables (changes in between are "
                   "missed)",
                   w->cfg.slot);
}

/* What the monitor's thread found since the last poll: said, and acted on. */
static int take_news(pgcdc_worker *w, struct pgcdc__monitor *m)
{
    char hb_error[PGCDC__MSG_SIZE];
    char slot_error[PGCDC__MSG_SIZE];
    int status;
    int over;

    pthread_mutex_lock(&m->mu);
    memcpy(hb_error, m->hb_error, sizeof(hb_error));
    memcpy(slot_error, m->slot_error, sizeof(slot_error));
    pthread_mutex_unlock(&m->mu);
    log_failure(w, hb_error, &m->hb_failing, "heartbeats");
    log_failure(w, slot_error, &m->slot_failing, "readings of the slot's state");
    status = atomic_load(&m->wal_status);
    if (status != m->logged_status) {
        m->logged_status = status;
        log_status(w, (pgcdc_wal_status)status);
    }
    over = atomic_load(&m->over);
    if (over == m->logged_over)
        return PGCDC_OK;
    m->logged_over = over;
    if (!over) {
        pgcdc__log(&w->ctx, PGCDC_LOG_WARNING,
                   "replication slot \"%s\" is back within slot.max_retained_wal (%lld bytes): "
                   "it holds %llu bytes of WAL",
                   w->cfg.slot, (long long)m->budget,
                   (unsigned long long)atomic_load(&m->retained));
        return PGCDC_OK;
    }
    pgcdc__log(&w->ctx, PGCDC_LOG_WARNING,
               "replication slot \"%s\" holds %llu bytes of WAL, over slot.max_retained_wal "
               "(%lld bytes): pgcdc is behind (a slow handler or sink, or a deferred "
               "acknowledgement that never came) and the server keeps that WAL on disk",
               w->cfg.slot, (unsigned long long)atomic_load(&m->retained), (long long)m->budget);
    if (!w->cfg.max_retained_wal_exit)
        return PGCDC_OK;
    return pgcdc__fail(&w->ctx, PGCDC_ERR_WAL_BUDGET,
                       "replication slot \"%s\" holds %llu bytes of WAL, over "
                       "slot.max_retained_wal (%lld bytes): stopping "
                       "(slot.max_retained_wal_exit); nothing past the confirmed position is lost",
                       w->cfg.slot, (unsigned long long)atomic_load(&m->retained),
                       (long long)m->budget);
}

int pgcdc__monitor_poll(pgcdc_worker *w)
{
    struct pgcdc__monitor *m = atomic_load_explicit(&w->monitor, memory_order_relaxed);

    if (m == NULL || !atomic_exchange(&w->monitor_news, 0))
        return PGCDC_OK;
    return take_news(w, m);
}

void pgcdc__monitor_stats(const pgcdc_worker *w, pgcdc_stats *st)
{
    struct pgcdc__monitor *m = atomic_load(&((pgcdc_worker *)w)->monitor);

    st->slot_safe_wal_size = -1;
    st->slot_wal_budget = w->cfg.max_retained_wal;
    if (m == NULL)
        return;
    st->slot_retained_wal = atomic_load(&m->retained);
    st->slot_safe_wal_size = atomic_load(&m->safe_wal_size);
    st->slot_wal_status = atomic_load(&m->wal_status);
    st->slot_over_budget = atomic_load(&m->over);
    st->heartbeats = atomic_load(&m->heartbeats);
    st->heartbeat_lsn = atomic_load(&m->heartbeat_lsn);
}
