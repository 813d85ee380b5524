/*
 * Spool of streamed transactions: one unlinked temporary file per open
 * transaction holding length-prefixed messages, buffered writes and reads,
 * truncation for aborted subtransactions.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/fileio.h"
#include "base/num.h"
#include "core/spool.h"
#include "pgcdc.h"

#define SPOOL_BUF_SIZE (256 * 1024)

typedef struct spool_sub {
    uint32_t subxid;
    uint64_t offset; /* where its first change starts */
} spool_sub;

typedef struct spool_txn {
    uint32_t xid;
    int fd;
    uint64_t size; /* bytes written, buffered ones included */
    spool_sub *subs;
    int nsubs;
    int capsubs;
} spool_txn;

struct pgcdc__spool {
    char *dir;
    spool_txn *txns;
    int ntxns;
    int captxns;
    /* Write buffer: belongs to one transaction at a time. */
    uint8_t *wbuf;
    size_t wlen;
    uint32_t wxid;
    int wowned;
    /* Replay. */
    int replay; /* index + 1 of the transaction being replayed, 0 if none */
    uint8_t *rbuf;
    size_t rlen;
    size_t rpos;
    uint64_t roff; /* file offset of the next read: replay never moves the write offset */
    uint8_t *msg;
    size_t msgcap;
    pgcdc__ctx *ctx;
};

pgcdc__spool *pgcdc__spool_new(pgcdc__ctx *ctx, const char *dir)
{
    pgcdc__spool *sp = calloc(1, sizeof(*sp));
    const char *tmp = getenv("TMPDIR");

    if (sp == NULL)
        return NULL;
    sp->ctx = ctx;
    if (dir == NULL)
        dir = tmp != NULL && *tmp != '\0' ? tmp : "/tmp";
    sp->dir = strdup(dir);
    if (sp->dir == NULL) {
        free(sp);
        return NULL;
    }
    return sp;
}

/* A failed system call: what was being done and errno's text. */
static int fail(pgcdc__spool *sp, const char *what)
{
    return pgcdc__fail(sp->ctx, PGCDC_ERR_IO, "%s in \"%s\": %s", what, sp->dir, strerror(errno));
}

static int oom(pgcdc__spool *sp)
{
    return pgcdc__fail(sp->ctx, PGCDC_ERR_NOMEM, "out of memory");
}

static int corrupt(pgcdc__spool *sp)
{
    return pgcdc__fail(sp->ctx, PGCDC_ERR_IO, "spool file ends inside a message");
}

static void drop_txn(pgcdc__spool *sp, int i)
{
    if (sp->wowned && sp->wxid == sp->txns[i].xid) {
        sp->wowned = 0;
        sp->wlen = 0;
    }
    close(sp->txns[i].fd);
    free(sp->txns[i].subs);
    /* The last entry moves into the hole: keep the replay pointing at its transaction. */
    if (sp->replay == i + 1)
        sp->replay = 0;
    else if (sp->replay == sp->ntxns)
        sp->replay = i + 1;
    sp->txns[i] = sp->txns[sp->ntxns - 1];
    sp->ntxns--;
}

void pgcdc__spool_reset(pgcdc__spool *sp)
{
    while (sp->ntxns > 0)
        drop_txn(sp, sp->ntxns - 1);
    sp->replay = 0;
    sp->wowned = 0;
    sp->wlen = 0;
}

void pgcdc__spool_free(pgcdc__spool *sp)
{
    if (sp == NULL)
        return;
    pgcdc__spool_reset(sp);
    free(sp->txns);
    free(sp->wbuf);
    free(sp->rbuf);
    free(sp->msg);
    free(sp->dir);
    free(sp);
}

int pgcdc__spool_count(const pgcdc__spool *sp)
{
    return sp->ntxns;
}

static int find(const pgcdc__spool *sp, uint32_t xid)
{
    for (int i = 0; i < sp->ntxns; i++) {
        if (sp->txns[i].xid == xid)
            return i;
    }
    return -1;
}

/* Writes out the buffered bytes of the transaction that owns the buffer. */
static int flush(pgcdc__spool *sp)
{
    int i;

    if (!sp->wowned || sp->wlen == 0)
        return 0;
    i = find(sp, sp->wxid);
    if (i >= 0 && pgcdc__write_all(sp->txns[i].fd, sp->wbuf, sp->wlen) != 0)
        return fail(sp, "could not write spool file");
    sp->wlen = 0;
    return 0;
}

static int add_txn(pgcdc__spool *sp, uint32_t xid)
{
    char path[4096];
    spool_txn *t;
    int fd;

    if (sp->ntxns == sp->captxns) {
        int cap = sp->captxns ? sp->captxns * 2 : 8;
        spool_txn *grown = realloc(sp->txns, (size_t)cap * sizeof(*grown));

        if (grown == NULL)
            return oom(sp);
        sp->txns = grown;
        sp->captxns = cap;
    }
    snprintf(path, sizeof(path), "%s/pgcdc-spool-XXXXXX", sp->dir);
    fd = mkstemp(path);
    if (fd < 0)
        return fail(sp, "could not create spool file");
    unlink(path);
    t = &sp->txns[sp->ntxns++];
    memset(t, 0, sizeof(*t));
    t->xid = xid;
    t->fd = fd;
    return sp->ntxns - 1;
}

static int note_sub(pgcdc__spool *sp, spool_txn *t, uint32_t subxid)
{
    if (subxid == t->xid)
        return 0;
    for (int k = t->nsubs - 1; k >= 0; k--) {
        if (t->subs[k].subxid == subxid)
            return 0;
    }
    if (t->nsubs == t->capsubs) {
        int cap = t->capsubs ? t->capsubs * 2 : 8;
        spool_sub *grown = realloc(t->subs, (size_t)cap * sizeof(*grown));

        if (grown == NULL)
            return oom(sp);
        t->subs = grown;
        t->capsubs = cap;
    }
    t->subs[t->nsubs].subxid = subxid;
    t->subs[t->nsubs].offset = t->size;
    t->nsubs++;
    return 0;
}

/* A record's header: the message's length, then the WAL position it came at. */
#define HDR 12

int pgcdc__spool_append(pgcdc__spool *sp, uint32_t xid, uint32_t subxid, uint64_t lsn,
                        const uint8_t *msg, size_t len)
{
    int i = find(sp, xid);
    spool_txn *t;
    uint8_t hdr[HDR] = {(uint8_t)(len >> 24), (uint8_t)(len >> 16), (uint8_t)(len >> 8),
                        (uint8_t)len};
    int r;

    for (int k = 0; k < 8; k++)
        hdr[4 + k] = (uint8_t)(lsn >> (56 - 8 * k));
    if (len > UINT32_MAX - 8)
        return pgcdc__fail(sp->ctx, PGCDC_ERR_PROTOCOL, "message too large to spool");
    if (i < 0)
        i = add_txn(sp, xid);
    if (i < 0)
        return i;
    t = &sp->txns[i];
    r = note_sub(sp, t, subxid);
    if (r != 0)
        return r;
    if (sp->wbuf == NULL) {
        sp->wbuf = malloc(SPOOL_BUF_SIZE);
        if (sp->wbuf == NULL)
            return oom(sp);
    }
    if (!sp->wowned || sp->wxid != xid) {
        r = flush(sp);
        if (r != 0)
            return r;
        sp->wowned = 1;
        sp->wxid = xid;
    }
    if (sp->wlen + HDR + len > SPOOL_BUF_SIZE) {
        r = flush(sp);
        if (r != 0)
            return r;
    }
    if (HDR + len > SPOOL_BUF_SIZE) {
        if (pgcdc__write_all(t->fd, hdr, HDR) != 0 || pgcdc__write_all(t->fd, msg, len) != 0)
            return fail(sp, "could not write spool file");
    } else {
        memcpy(sp->wbuf + sp->wlen, hdr, HDR);
        memcpy(sp->wbuf + sp->wlen + HDR, msg, len);
        sp->wlen += HDR + len;
    }
    t->size += HDR + len;
    return 0;
}

int pgcdc__spool_abort(pgcdc__spool *sp, uint32_t xid, uint32_t subxid)
{
    int i = find(sp, xid);
    spool_txn *t;

    if (i < 0)
        return 0;
    t = &sp->txns[i];
    if (subxid == xid) {
        drop_txn(sp, i);
        return 0;
    }
    /*
     * A subtransaction runs until it aborts, so everything spooled after its
     * first change belongs to it or to its children: cut the file there.
     */
    for (int k = 0; k < t->nsubs; k++) {
        if (t->subs[k].subxid != subxid)
            continue;
        int r = flush(sp);

        if (r != 0)
            return r;
        if (ftruncate(t->fd, (off_t)t->subs[k].offset) != 0 ||
            lseek(t->fd, (off_t)t->subs[k].offset, SEEK_SET) < 0)
            return fail(sp, "could not truncate spool file");
        t->size = t->subs[k].offset;
        t->nsubs = k;
        return 0;
    }
    return 0;
}

int pgcdc__spool_replay_begin(pgcdc__spool *sp, uint32_t xid)
{
    int i = find(sp, xid);
    int r;

    sp->rlen = 0;
    sp->rpos = 0;
    sp->replay = 0;
    if (i < 0) {
        /* A streamed transaction with no change for us: replays as empty. */
        i = add_txn(sp, xid);
        if (i < 0)
            return i;
    }
    r = flush(sp);
    if (r != 0)
        return r;
    sp->roff = 0;
    if (sp->rbuf == NULL) {
        sp->rbuf = malloc(SPOOL_BUF_SIZE);
        if (sp->rbuf == NULL)
            return oom(sp);
    }
    sp->replay = i + 1;
    return 0;
}

/* Copies n bytes of the replayed file into dst: 1 done, 0 clean end, -1 error. */
static int read_exact(pgcdc__spool *sp, uint8_t *dst, size_t n)
{
    int fd = sp->txns[sp->replay - 1].fd;
    size_t got = 0;

    while (got < n) {
        size_t take;

        if (sp->rpos == sp->rlen) {
            ssize_t k = pread(fd, sp->rbuf, SPOOL_BUF_SIZE, (off_t)sp->roff);

            if (k < 0 && errno == EINTR)
                continue;
            if (k < 0)
                return fail(sp, "could not read spool file");
            if (k == 0)
                return got == 0 ? 0 : corrupt(sp);
            sp->rlen = (size_t)k;
            sp->rpos = 0;
            sp->roff += (uint64_t)k;
        }
        take = sp->rlen - sp->rpos;
        if (take > n - got)
            take = n - got;
        memcpy(dst + got, sp->rbuf + sp->rpos, take);
        sp->rpos += take;
        got += take;
    }
    return 1;
}

int pgcdc__spool_replay_next(pgcdc__spool *sp, uint8_t **msg, size_t *len, uint64_t *lsn)
{
    uint8_t hdr[HDR];
    size_t n;
    int r;

    if (sp->replay == 0)
        return 0;
    r = read_exact(sp, hdr, HDR);
    if (r < 0)
        return r;
    if (r == 0)
        return 0;
    n = (size_t)hdr[0] << 24 | (size_t)hdr[1] << 16 | (size_t)hdr[2] << 8 | hdr[3];
    *lsn = pgcdc__be64(hdr + 4);
    if (n + 1 > sp->msgcap) {
        uint8_t *grown = realloc(sp->msg, n + 1);

        if (grown == NULL)
            return oom(sp);
        sp->msg = grown;
        sp->msgcap = n + 1;
    }
    r = read_exact(sp, sp->msg, n);
    if (r == 0 && n > 0)
        return corrupt(sp);
    if (r < 0)
        return r;
    sp->msg[n] = 0;
    *msg = sp->msg;
    *len = n;
    return 1;
}

void pgcdc__spool_replay_end(pgcdc__spool *sp)
{
    if (sp->replay == 0)
        return;
    drop_txn(sp, sp->replay - 1);
    sp->replay = 0;
}
