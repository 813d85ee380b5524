/*
 * The readers of an initial snapshot (see snapshot_read.h).
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "pg/conn.h"
#include "pg/snapshot.h"
#include "pg/snapshot_read.h"
#include "pgcdc.h"

/* A block is handed on once it holds this much (a single wider row makes a bigger one). */
#define BLOCK_BYTES (256 * 1024)
/* Blocks a reader may have waiting: its memory is bounded by about (QUEUE + 1) blocks. */
#define QUEUE 4

typedef struct reader {
    struct pgcdc__snap_readers *all;
    int index;
    PGconn *conn;
    PGcancel *cancel;
    pthread_t thread;
    int started;
    int finished;
    pgcdc__snap_block *queue[QUEUE]; /* FIFO */
    int qhead;
    int qlen;
    pgcdc__snap_block *cur; /* being filled */
    pgcdc__buf last;        /* the last row of the chunk so far */
    int seg;
    int cur_first;
    const pgcdc__snap_table *scan; /* the table read by one scan, cut into chunks here */
    long in_chunk;                 /* rows of the scan's chunk so far */
    pgcdc__ctx ctx;
} reader;

struct pgcdc__snap_readers {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    const pgcdc__snap_plan *plan;
    long chunk_rows;
    reader *readers;
    int n;
    int *claimed; /* per segment */
    int stop;
    int failed;
    char err[PGCDC__MSG_SIZE];
    int err_code;
    _Atomic uint64_t rows;
    int rr; /* round-robin start for reader -1 */
};

static pgcdc__snap_block *block_new(int index, int seg)
{
    pgcdc__snap_block *b = calloc(1, sizeof(*b));

    if (b == NULL)
        return NULL;
    b->reader = index;
    b->seg = seg;
    pgcdc__buf_init(&b->data);
    return b;
}

static void block_free(pgcdc__snap_block *b, const pgcdc__snap_table *t)
{
    if (b == NULL)
        return;
    pgcdc__snap_keys_free(b->key, pgcdc__snap_width(t));
    pgcdc__snap_keys_free(b->bound, t->nkey);
    pgcdc__buf_free(&b->data);
    free(b);
}

/* Queues the reader's current block, waiting for room; -1 when told to stop. */
static int push(reader *rd)
{
    struct pgcdc__snap_readers *r = rd->all;
    int ok;

    pthread_mutex_lock(&r->mu);
    while (!r->stop && rd->qlen == QUEUE)
        pthread_cond_wait(&r->cv, &r->mu);
    ok = !r->stop;
    if (ok) {
        rd->queue[(rd->qhead + rd->qlen) % QUEUE] = rd->cur;
        rd->qlen++;
        rd->cur = NULL;
        pthread_cond_broadcast(&r->cv);
    }
    pthread_mutex_unlock(&r->mu);
    return ok ? 0 : -1;
}

/* The start of the last line of a block's data. */
static size_t last_line_at(const pgcdc__buf *b)
{
    size_t i = b->len > 0 ? b->len - 1 : 0;

    while (i > 0 && b->data[i - 1] != '\n')
        i--;
    return i;
}

/* The block being filled, made when there is none (a chunk's first when a chunk begins). */
static pgcdc__snap_block *filling(reader *rd)
{
    if (rd->cur == NULL) {
        rd->cur = block_new(rd->index, rd->seg);
        if (rd->cur == NULL) {
            pgcdc__fail(&rd->ctx, PGCDC_ERR_NOMEM, "out of memory");
            return NULL;
        }
        rd->cur->first = rd->cur_first;
        rd->cur_first = 0;
    }
    return rd->cur;
}

/* The key of the last row read (in the block being filled, or kept when a block went on). */
static char **last_row_key(reader *rd, const pgcdc__snap_table *t)
{
    char **key;

    if (rd->cur != NULL && rd->cur->rows > 0) {
        size_t at = last_line_at(&rd->cur->data);

        key = pgcdc__snap_row_key(t, (const char *)rd->cur->data.data + at, rd->cur->data.len - at);
    } else {
        key = pgcdc__snap_row_key(t, (const char *)rd->last.data, rd->last.len);
    }
    if (key == NULL)
        pgcdc__fail(&rd->ctx, PGCDC_ERR_PROTOCOL,
                    "could not read the key of the last row of a chunk of %s", t->quoted);
    return key;
}

/*
 * Ends the scan's chunk before a row that follows it (so a scan's last
 * chunk is never empty, and its last row is known for the last one): the
 * segment stands where the chunk's last row lies.
 */
static int cut(reader *rd)
{
    /* An empty block ends a chunk whose rows all went on in full blocks. */
    if (filling(rd) == NULL)
        return PGCDC_ERR_NOMEM;
    if (rd->cur->data.oom)
        return pgcdc__fail(&rd->ctx, PGCDC_ERR_NOMEM, "out of memory");
    if (rd->scan->nkey > 0 && (rd->cur->bound = last_row_key(rd, rd->scan)) == NULL)
        return PGCDC_ERR_PROTOCOL;
    rd->cur->last = 1;
    rd->in_chunk = 0;
    rd->cur_first = 1;
    return push(rd) == 0 ? PGCDC_OK : PGCDC_ERR_STOPPED;
}

static int on_row(void *opaque, const char *line, int len)
{
    reader *rd = opaque;

    if (rd->scan != NULL && rd->in_chunk >= rd->all->chunk_rows) {
        int r = cut(rd);

        if (r != PGCDC_OK)
            return r;
    }
    if (filling(rd) == NULL)
        return PGCDC_ERR_NOMEM;
    pgcdc__buf_put(&rd->cur->data, line, (size_t)len);
    rd->cur->rows++;
    rd->in_chunk++;
    atomic_fetch_add_explicit(&rd->all->rows, 1, memory_order_relaxed);
    if (rd->cur->data.len < BLOCK_BYTES)
        return PGCDC_OK;
    /* Handed on: keep its last row, whose key the chunk may end at. */
    pgcdc__buf_reset(&rd->last);
    pgcdc__buf_put(&rd->last, line, (size_t)len);
    if (rd->cur->data.oom || rd->last.oom)
        return pgcdc__fail(&rd->ctx, PGCDC_ERR_NOMEM, "out of memory");
    return push(rd) == 0 ? PGCDC_OK : PGCDC_ERR_STOPPED;
}

/* Reads one chunk after key `after`; *key where the segment stands after it, *end at its end. */
static int read_chunk(reader *rd, const pgcdc__snap_seg *s, char **after, char ***key, int *end)
{
    const pgcdc__snap_table *t = &rd->all->plan->tables[s->table];
    long limit = rd->all->chunk_rows;
    uint64_t next = 0;
    long rows = 0;
    int r;

    rd->cur_first = 1;
    pgcdc__buf_reset(&rd->last);
    r = pgcdc__snap_read(&rd->ctx, rd->conn, rd->all->plan, s, after, limit, on_row, rd, &rows,
                         &next);
    if (r != PGCDC_OK)
        return r;
    *key = NULL;
    *end = rows < limit;
    if (rows > 0 && (*key = last_row_key(rd, t)) == NULL)
        return PGCDC_ERR_PROTOCOL;
    if (filling(rd) == NULL)
        return PGCDC_ERR_NOMEM;
    rd->cur->last = 1;
    rd->cur->seg_end = *end;
    rd->cur->key = *key != NULL ? pgcdc__snap_keys_dup(*key, t->nkey) : NULL;
    if (*key != NULL && rd->cur->key == NULL)
        return pgcdc__fail(&rd->ctx, PGCDC_ERR_NOMEM, "out of memory");
    return push(rd) == 0 ? PGCDC_OK : PGCDC_ERR_STOPPED;
}

/* Reads segment s of a table read by pages in one scan, cut into chunks as its rows come. */
static int read_scan(reader *rd, const pgcdc__snap_seg *s)
{
    uint64_t next = 0;
    long rows = 0;
    int r;

    rd->scan = &rd->all->plan->tables[s->table];
    rd->in_chunk = 0;
    rd->cur_first = 1;
    r = pgcdc__snap_read(&rd->ctx, rd->conn, rd->all->plan, s, NULL, 0, on_row, rd, &rows, &next);
    rd->scan = NULL;
    if (r != PGCDC_OK)
        return r;
    if (filling(rd) == NULL)
        return PGCDC_ERR_NOMEM;
    rd->cur->last = 1;
    rd->cur->seg_end = 1;
    return push(rd) == 0 ? PGCDC_OK : PGCDC_ERR_STOPPED;
}

/* Claims the next segment nobody reads and that is not done; -1 when none is left. */
static int claim(struct pgcdc__snap_readers *r)
{
    int seg = -1;

    pthread_mutex_lock(&r->mu);
    for (int i = 0; i < r->plan->nsegs && !r->stop; i++) {
        if (!r->claimed[i] && !r->plan->segs[i].done) {
            r->claimed[i] = 1;
            seg = i;
            break;
        }
    }
    pthread_mutex_unlock(&r->mu);
    return seg;
}

static void *run(void *arg)
{
    reader *rd = arg;
    struct pgcdc__snap_readers *r = rd->all;
    int rc = PGCDC_OK;
    int seg;

    while (rc == PGCDC_OK && (seg = claim(r)) >= 0) {
        const pgcdc__snap_seg *s = &r->plan->segs[seg];
        int width = pgcdc__snap_width(&r->plan->tables[s->table]);
        char **after = pgcdc__snap_keys_dup(s->acked, width);
        int end = 0;

        rd->seg = seg;
        if (s->acked != NULL && after == NULL)
            rc = pgcdc__fail(&rd->ctx, PGCDC_ERR_NOMEM, "out of memory");
        if (rc == PGCDC_OK && r->plan->tables[s->table].by_pages) {
            /* An initial snapshot's: never resumed by these readers, so from its start. */
            rc = read_scan(rd, s);
            end = 1;
        }
        while (rc == PGCDC_OK && !end) {
            char **key = NULL;

            rc = read_chunk(rd, s, after, &key, &end);
            if (key != NULL) {
                pgcdc__snap_keys_free(after, width);
                after = key;
            }
        }
        pgcdc__snap_keys_free(after, width);
    }
    pthread_mutex_lock(&r->mu);
    if (r->stop)
        rc = PGCDC_ERR_STOPPED; /* a cancelled query says so in its own words */
    if (rc != PGCDC_OK && rc != PGCDC_ERR_STOPPED && !r->failed) {
        r->failed = 1;
        r->err_code = rc;
        snprintf(r->err, sizeof(r->err), "%s", rd->ctx.msg);
    }
    rd->finished = 1;
    pthread_cond_broadcast(&r->cv);
    pthread_mutex_unlock(&r->mu);
    return NULL;
}

pgcdc__snap_readers *pgcdc__snap_readers_start(pgcdc__ctx *ctx, const char *conninfo,
                                               const char *snapshot, const pgcdc__snap_plan *plan,
                                               int n, long chunk_rows, int *err)
{
    struct pgcdc__snap_readers *r = calloc(1, sizeof(*r));

    *err = PGCDC_ERR_NOMEM;
    if (r == NULL || (r->readers = calloc((size_t)n, sizeof(*r->readers))) == NULL ||
        (r->claimed = calloc((size_t)plan->nsegs + 1, sizeof(*r->claimed))) == NULL) {
        if (r != NULL)
            free(r->readers);
        free(r);
        pgcdc__fail(ctx, PGCDC_ERR_NOMEM, "out of memory");
        return NULL;
    }
    pthread_mutex_init(&r->mu, NULL);
    pthread_cond_init(&r->cv, NULL);
    r->plan = plan;
    r->chunk_rows = chunk_rows;
    r->n = n;
    /* Every connection imports the snapshot before any thread starts. */
    for (int i = 0; i < n; i++) {
        reader *rd = &r->readers[i];

        rd->all = r;
        rd->index = i;
        pgcdc__buf_init(&rd->last);
        pgcdc__ctx_init(&rd->ctx, NULL, NULL, PGCDC_LOG_ERROR);
        rd->conn = pgcdc__snap_connect(ctx, conninfo, snapshot, err);
        if (rd->conn == NULL) {
            pgcdc__snap_readers_free(r);
            return NULL;
        }
        rd->cancel = PQgetCancel(rd->conn);
    }
    for (int i = 0; i < n; i++) {
        if (pthread_create(&r->readers[i].thread, NULL, run, &r->readers[i]) != 0) {
            pgcdc__fail(ctx, PGCDC_ERR_NOMEM, "could not start a snapshot reader thread");
            *err = PGCDC_ERR_NOMEM;
            pgcdc__snap_readers_free(r);
            return NULL;
        }
        r->readers[i].started = 1;
    }
    *err = PGCDC_OK;
    return r;
}

int pgcdc__snap_readers_next(pgcdc__snap_readers *r, int which, pgcdc__snap_block **out,
                             int timeout_ms)
{
    int64_t deadline = pgcdc__now_us() + (int64_t)timeout_ms * 1000;
    int rc = 0;

    *out = NULL;
    pthread_mutex_lock(&r->mu);
    for (;;) {
        int all_done = 1;

        for (int k = 0; k < r->n; k++) {
            int i = which >= 0 ? which : (r->rr + k) % r->n;
            reader *rd = &r->readers[i];

            if (rd->qlen > 0) {
                *out = rd->queue[rd->qhead];
                rd->qhead = (rd->qhead + 1) % QUEUE;
                rd->qlen--;
                r->rr = (i + 1) % r->n;
                pthread_cond_broadcast(&r->cv);
                rc = 1;
                goto done;
            }
            if (!rd->finished)
                all_done = 0;
            if (which >= 0)
                break;
        }
        if (r->failed) {
            rc = r->err_code;
            goto done;
        }
        if (which < 0 && all_done) {
            rc = 2;
            goto done;
        }
        if (which >= 0 && r->readers[which].finished) {
            /* Its chunk was cut short by its failure: reported above, or a stop. */
            rc = r->failed ? r->err_code : 2;
            goto done;
        }
        if (pgcdc__now_us() >= deadline)
            goto done;
        {
            struct timespec ts;
            int64_t at = pgcdc__wall_us() + (deadline - pgcdc__now_us());

            ts.tv_sec = at / 1000000;
            ts.tv_nsec = (at % 1000000) * 1000;
            pthread_cond_timedwait(&r->cv, &r->mu, &ts);
        }
    }
done:
    pthread_mutex_unlock(&r->mu);
    return rc;
}

void pgcdc__snap_readers_wait(pgcdc__snap_readers *r, int which, int timeout_ms)
{
    int64_t deadline = pgcdc__now_us() + (int64_t)timeout_ms * 1000;

    pthread_mutex_lock(&r->mu);
    while (!r->failed && pgcdc__now_us() < deadline) {
        int ready = 0;
        int all_done = 1;

        for (int i = 0; i < r->n; i++) {
            if (which >= 0 && i != which)
                continue;
            ready |= r->readers[i].qlen > 0;
            all_done &= r->readers[i].finished;
        }
        if (ready || all_done)
            break;
        {
            struct timespec ts;
            int64_t at = pgcdc__wall_us() + (deadline - pgcdc__now_us());

            ts.tv_sec = at / 1000000;
            ts.tv_nsec = (at % 1000000) * 1000;
            pthread_cond_timedwait(&r->cv, &r->mu, &ts);
        }
    }
    pthread_mutex_unlock(&r->mu);
}

void pgcdc__snap_readers_release(pgcdc__snap_readers *r, pgcdc__snap_block *b)
{
    if (b != NULL)
        block_free(b, &r->plan->tables[r->plan->segs[b->seg].table]);
}

const char *pgcdc__snap_readers_error(pgcdc__snap_readers *r)
{
    const char *e;

    pthread_mutex_lock(&r->mu);
    e = r->err;
    pthread_mutex_unlock(&r->mu);
    return e;
}

uint64_t pgcdc__snap_readers_rows(pgcdc__snap_readers *r)
{
    return atomic_load_explicit(&r->rows, memory_order_relaxed);
}

void pgcdc__snap_readers_free(pgcdc__snap_readers *r)
{
    if (r == NULL)
        return;
    pthread_mutex_lock(&r->mu);
    r->stop = 1;
    pthread_cond_broadcast(&r->cv);
    pthread_mutex_unlock(&r->mu);
    for (int i = 0; i < r->n; i++) {
        reader *rd = &r->readers[i];
        char buf[256];

        if (rd->started && !rd->finished && rd->cancel != NULL)
            PQcancel(rd->cancel, buf, sizeof(buf));
        if (rd->started)
            pthread_join(rd->thread, NULL);
    }
    for (int i = 0; i < r->n; i++) {
        reader *rd = &r->readers[i];

        while (rd->qlen > 0) {
            pgcdc__snap_readers_release(r, rd->queue[rd->qhead]);
            rd->qhead = (rd->qhead + 1) % QUEUE;
            rd->qlen--;
        }
        if (rd->cur != NULL)
            pgcdc__snap_readers_release(r, rd->cur);
        if (rd->cancel != NULL)
            PQfreeCancel(rd->cancel);
        if (rd->conn != NULL)
            PQfinish(rd->conn);
        pgcdc__buf_free(&rd->last);
    }
    pthread_mutex_destroy(&r->mu);
    pthread_cond_destroy(&r->cv);
    free(r->claimed);
    free(r->readers);
    free(r);
}
