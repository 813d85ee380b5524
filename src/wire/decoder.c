/*
 * pgoutput decoder: one fed replication CopyData message in, one pgcdc__msg out.
 * Every read goes through a bounds-checked cursor; views point into the fed
 * buffer; the first error sticks until pgcdc__decoder_reset.
 */
#include "wire/decoder.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define INITIAL_COLS 16

struct pgcdc__decoder {
    uint8_t *buf; /* fed buffer, one writable byte past len */
    size_t len;
    int raw;
    int pending; /* a fed message waits to be pulled */
    int in_stream;
    uint32_t stream_xid;
    int failed;
    pgcdc__col *oldcols;
    uint32_t oldcap;
    pgcdc__col *newcols;
    uint32_t newcap;
    pgcdc__relcol *relcols;
    uint32_t relcap;
    char err[160];
};

/* Read position in the fed buffer; what names the message for error messages. */
typedef struct cursor {
    pgcdc__decoder *dec;
    const uint8_t *p;
    size_t len;
    size_t off;
    const char *what;
} cursor;

static int fail(pgcdc__decoder *dec, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* Sets the sticky error (the first one wins); always returns -1. */
static int fail(pgcdc__decoder *dec, const char *fmt, ...)
{
    va_list ap;

    if (dec->failed) {
        return -1;
    }
    dec->failed = 1;
    va_start(ap, fmt);
    vsnprintf(dec->err, sizeof(dec->err), fmt, ap);
    va_end(ap);
    return -1;
}

__attribute__((noinline, cold)) static int truncated(cursor *c)
{
    return fail(c->dec, "truncated %s message at offset %zu", c->what, c->off);
}

static inline int need(cursor *c, size_t n)
{
    if (c->len - c->off < n) {
        return truncated(c);
    }
    return 0;
}

static inline int rd_u8(cursor *c, uint8_t *v)
{
    if (need(c, 1) < 0) {
        return -1;
    }
    *v = c->p[c->off];
    c->off += 1;
    return 0;
}

static inline int rd_u16(cursor *c, uint16_t *v)
{
    if (need(c, 2) < 0) {
        return -1;
    }
    *v = pgcdc__be16(c->p + c->off);
    c->off += 2;
    return 0;
}

static inline int rd_u32(cursor *c, uint32_t *v)
{
    if (need(c, 4) < 0) {
        return -1;
    }
    *v = pgcdc__be32(c->p + c->off);
    c->off += 4;
    return 0;
}

static inline int rd_u64(cursor *c, uint64_t *v)
{
    if (need(c, 8) < 0) {
        return -1;
    }
    *v = pgcdc__be64(c->p + c->off);
    c->off += 8;
    return 0;
}

static int rd_i32(cursor *c, int32_t *v)
{
    uint32_t u;

    if (rd_u32(c, &u) < 0) {
        return -1;
    }
    memcpy(v, &u, sizeof(*v));
    return 0;
}

static int rd_i64(cursor *c, int64_t *v)
{
    uint64_t u;

    if (rd_u64(c, &u) < 0) {
        return -1;
    }
    memcpy(v, &u, sizeof(*v));
    return 0;
}

/* A NUL-terminated string that must end inside the message. */
static int rd_str(cursor *c, const char **s)
{
    const uint8_t *start = c->p + c->off;
    const uint8_t *nul = memchr(start, 0, c->len - c->off);

    if (nul == NULL) {
        return fail(c->dec, "unterminated string in %s message at offset %zu", c->what, c->off);
    }
    *s = (const char *)start;
    c->off += (size_t)(nul - start) + 1;
    return 0;
}

static int rd_bytes(cursor *c, size_t n, const uint8_t **p)
{
    if (need(c, n) < 0) {
        return -1;
    }
    *p = c->p + c->off;
    c->off += n;
    return 0;
}

static int rd_end(cursor *c)
{
    if (c->off != c->len) {
        return fail(c->dec, "%zu trailing bytes after %s message at offset %zu", c->len - c->off,
                    c->what, c->off);
    }
    return 0;
}

/* Returns arr grown to hold want elements (arrays only grow), or NULL when out of memory. */
static void *reserve(void *arr, uint32_t *cap, uint32_t want, size_t elsize)
{
    uint32_t ncap;
    void *p;

    if (want <= *cap) {
        return arr;
    }
    ncap = *cap;
    while (ncap < want) {
        ncap *= 2;
    }
    p = realloc(arr, (size_t)ncap * elsize);
    if (p == NULL) {
        return NULL;
    }
    *cap = ncap;
    return p;
}

static const char *msg_name(uint8_t type)
{
    switch (type) {
    case PGCDC_MSG_BEGIN:
        return "Begin";
    case PGCDC_MSG_COMMIT:
        return "Commit";
    case PGCDC_MSG_ORIGIN:
        return "Origin";
    case PGCDC_MSG_RELATION:
        return "Relation";
    case PGCDC_MSG_TYPE:
        return "Type";
    case PGCDC_MSG_INSERT:
        return "Insert";
    case PGCDC_MSG_UPDATE:
        return "Update";
    case PGCDC_MSG_DELETE:
        return "Delete";
    case PGCDC_MSG_TRUNCATE:
        return "Truncate";
    case PGCDC_MSG_MESSAGE:
        return "Message";
    case PGCDC_MSG_STREAM_START:
        return "Stream Start";
    case PGCDC_MSG_STREAM_STOP:
        return "Stream Stop";
    case PGCDC_MSG_STREAM_COMMIT:
        return "Stream Commit";
    case PGCDC_MSG_STREAM_ABORT:
        return "Stream Abort";
    case PGCDC_MSG_BEGIN_PREPARE:
        return "Begin Prepare";
    case PGCDC_MSG_PREPARE:
        return "Prepare";
    case PGCDC_MSG_COMMIT_PREPARED:
        return "Commit Prepared";
    case PGCDC_MSG_ROLLBACK_PREPARED:
        return "Rollback Prepared";
    case PGCDC_MSG_STREAM_PREPARE:
        return "Stream Prepare";
    default:
        return NULL;
    }
}

/* Messages that carry the transaction's xid when sent between Stream Start and Stop. */
static int streamable(uint8_t type)
{
    return type == PGCDC_MSG_RELATION || type == PGCDC_MSG_TYPE || type == PGCDC_MSG_INSERT ||
           type == PGCDC_MSG_UPDATE || type == PGCDC_MSG_DELETE || type == PGCDC_MSG_TRUNCATE ||
           type == PGCDC_MSG_MESSAGE;
}

/* Messages that only make sense outside a Stream Start/Stop block. */
static int outside_stream_only(uint8_t type)
{
    return type == PGCDC_MSG_BEGIN || type == PGCDC_MSG_COMMIT || type == PGCDC_MSG_STREAM_START ||
           type == PGCDC_MSG_STREAM_COMMIT || type == PGCDC_MSG_STREAM_ABORT ||
           type == PGCDC_MSG_BEGIN_PREPARE || type == PGCDC_MSG_PREPARE ||
           type == PGCDC_MSG_COMMIT_PREPARED || type == PGCDC_MSG_ROLLBACK_PREPARED ||
           type == PGCDC_MSG_STREAM_PREPARE;
}

static int rd_tuple(cursor *c, pgcdc__col **cols, uint32_t *cap, pgcdc__tuple *t)
{
    unsigned binary = 0;
    uint16_t ncols;
    pgcdc__col *arr;
    uint8_t *p;
    const uint8_t *end;

    if (rd_u16(c, &ncols) < 0) {
        return -1;
    }
    /* Each column takes at least its kind byte: refuse before growing the array. */
    if (ncols > c->len - c->off) {
        c->off = c->len;
        return truncated(c);
    }
    arr = reserve(*cols, cap, ncols, sizeof(pgcdc__col));
    if (arr == NULL) {
        return fail(c->dec, "out of memory");
    }
    *cols = arr;
    /*
     * The hot loop: one pointer, one bound, every read checked against it.
     * A text or binary value is NUL-terminated in place where the next
     * column's kind byte was, once that is read; the last value's terminator
     * is the byte after the tuple, written when the whole message is parsed
     * (terminate_last).  The cursor reads the fed buffer, which is writable.
     */
    p = c->dec->buf + c->off;
    end = c->p + c->len;
    for (uint16_t i = 0; i < ncols; i++) {
        pgcdc__col *col = &arr[i];
        uint8_t kind;
        uint32_t len;

        if (p == end) {
            goto short_read;
        }
        kind = *p;
        if (i > 0 && arr[i - 1].data != NULL) {
            *p = 0;
        }
        p++;
        col->kind = (char)kind;
        if (kind == PGCDC_COL_TEXT || kind == PGCDC_COL_BINARY) {
            if (end - p < 4) {
                goto short_read;
            }
            len = pgcdc__be32(p);
            if ((size_t)(end - p - 4) < len) {
                p += 4;
                goto short_read;
            }
            col->data = (const char *)p + 4;
            col->len = len;
            p += 4 + (size_t)len;
            binary |= kind;
        } else if (kind == PGCDC_COL_NULL || kind == PGCDC_COL_UNCHANGED) {
            col->data = NULL;
            col->len = 0;
        } else {
            return fail(c->dec, "invalid column kind 0x%02x in %s message at offset %zu", kind,
                        c->what, (size_t)(p - 1 - c->p));
        }
    }
    c->off = (size_t)(p - c->p);
    t->cols = arr;
    t->ncols = ncols;
    /* 't' is 0x74 and 'b' 0x62: only a binary value sets bit 1 of the kinds' union. */
    t->binary = (binary & 0x02) != 0;
    return 0;
short_read:
    /* Where the read that ran out began, as the cursor reports it. */
    c->off = (size_t)(p - c->p);
    return truncated(c);
}

static inline int marker_in(const char *allowed, uint8_t m)
{
    for (; *allowed != '\0'; allowed++) {
        if ((uint8_t)*allowed == m) {
            return 1;
        }
    }
    return 0;
}

/* The byte announcing a tuple: 'N' new, 'K' key, 'O' old row. */
static int rd_marker(cursor *c, const char *allowed, uint8_t *marker)
{
    size_t at = c->off;

    if (rd_u8(c, marker) < 0) {
        return -1;
    }
    if (!marker_in(allowed, *marker)) {
        return fail(c->dec, "invalid tuple marker 0x%02x in %s message at offset %zu", *marker,
                    c->what, at);
    }
    return 0;
}

static int rd_change(pgcdc__decoder *dec, cursor *c, uint8_t type, pgcdc__msg *msg)
{
    uint8_t marker;

    msg->u.change.old.cols = dec->oldcols;
    msg->u.change.new_.cols = dec->newcols;
    if (rd_u32(c, &msg->u.change.relid) < 0) {
        return -1;
    }
    if (type == PGCDC_MSG_INSERT) {
        if (rd_marker(c, "N", &marker) < 0) {
            return -1;
        }
        return rd_tuple(c, &dec->newcols, &dec->newcap, &msg->u.change.new_);
    }
    if (rd_marker(c, type == PGCDC_MSG_UPDATE ? "KON" : "KO", &marker) < 0) {
        return -1;
    }
    if (marker != 'N') {
        msg->u.change.old_kind = (char)marker;
        if (rd_tuple(c, &dec->oldcols, &dec->oldcap, &msg->u.change.old) < 0) {
            return -1;
        }
        if (type == PGCDC_MSG_DELETE) {
            return 0;
        }
        if (rd_marker(c, "N", &marker) < 0) {
            return -1;
        }
    }
    if (rd_tuple(c, &dec->newcols, &dec->newcap, &msg->u.change.new_) < 0) {
        return -1;
    }
    if (msg->u.change.old_kind != 0 && msg->u.change.old.ncols != msg->u.change.new_.ncols) {
        return fail(dec, "old tuple has %u columns but new tuple %u in Update message",
                    (unsigned)msg->u.change.old.ncols, (unsigned)msg->u.change.new_.ncols);
    }
    return 0;
}

static int rd_relation(pgcdc__decoder *dec, cursor *c, pgcdc__msg *msg)
{
    uint8_t replident;
    uint16_t ncols;
    size_t at;
    pgcdc__relcol *arr;

    if (rd_u32(c, &msg->u.relation.relid) < 0 || rd_str(c, &msg->u.relation.nspname) < 0 ||
        rd_str(c, &msg->u.relation.relname) < 0) {
        return -1;
    }
    at = c->off;
    if (rd_u8(c, &replident) < 0) {
        return -1;
    }
    if (replident == 0 || strchr("dnfi", replident) == NULL) {
        return fail(dec, "invalid replica identity 0x%02x in Relation message at offset %zu",
                    replident, at);
    }
    msg->u.relation.replident = (char)replident;
    if (rd_u16(c, &ncols) < 0) {
        return -1;
    }
    /* A column takes at least 10 bytes: refuse before growing the array. */
    if (ncols > (c->len - c->off) / 10) {
        c->off = c->len;
        return truncated(c);
    }
    arr = reserve(dec->relcols, &dec->relcap, ncols, sizeof(pgcdc__relcol));
    if (arr == NULL) {
        return fail(dec, "out of memory");
    }
    dec->relcols = arr;
    for (uint16_t i = 0; i < ncols; i++) {
        if (rd_u8(c, &arr[i].flags) < 0 || rd_str(c, &arr[i].name) < 0 ||
            rd_u32(c, &arr[i].type_oid) < 0 || rd_i32(c, &arr[i].typmod) < 0) {
            return -1;
        }
    }
    msg->u.relation.ncols = ncols;
    msg->u.relation.cols = arr;
    return 0;
}

static int rd_truncate(cursor *c, pgcdc__msg *msg)
{
    uint32_t nrels;

    if (rd_u32(c, &nrels) < 0 || rd_u8(c, &msg->u.truncate.options) < 0) {
        return -1;
    }
    if (nrels > (c->len - c->off) / 4) {
        c->off = c->len;
        return truncated(c);
    }
    msg->u.truncate.nrels = nrels;
    return rd_bytes(c, (size_t)nrels * 4, &msg->u.truncate.relids);
}

static int rd_message(cursor *c, pgcdc__msg *msg)
{
    uint32_t len;
    const uint8_t *content;

    if (rd_u8(c, &msg->u.message.flags) < 0 || rd_u64(c, &msg->u.message.lsn) < 0 ||
        rd_str(c, &msg->u.message.prefix) < 0 || rd_u32(c, &len) < 0 ||
        rd_bytes(c, len, &content) < 0) {
        return -1;
    }
    msg->u.message.content = (const char *)content;
    msg->u.message.len = len;
    return 0;
}

static int rd_commit(cursor *c, pgcdc__msg *msg)
{
    if (rd_u8(c, &msg->u.commit.flags) < 0 || rd_u64(c, &msg->u.commit.commit_lsn) < 0 ||
        rd_u64(c, &msg->u.commit.end_lsn) < 0 || rd_i64(c, &msg->u.commit.commit_time) < 0) {
        return -1;
    }
    return 0;
}

/* The two-phase messages: [flags] lsn end_lsn time [rollback time] xid gid. */
static int rd_twophase(cursor *c, uint8_t type, pgcdc__msg *msg)
{
    if (type != PGCDC_MSG_BEGIN_PREPARE && rd_u8(c, &msg->u.twophase.flags) < 0) {
        return -1;
    }
    if (rd_u64(c, &msg->u.twophase.lsn) < 0 || rd_u64(c, &msg->u.twophase.end_lsn) < 0 ||
        rd_i64(c, &msg->u.twophase.time) < 0) {
        return -1;
    }
    if (type == PGCDC_MSG_ROLLBACK_PREPARED && rd_i64(c, &msg->u.twophase.rollback_time) < 0) {
        return -1;
    }
    if (rd_u32(c, &msg->xid) < 0) {
        return -1;
    }
    return rd_str(c, &msg->u.twophase.gid);
}

static int rd_body(pgcdc__decoder *dec, cursor *c, uint8_t type, pgcdc__msg *msg)
{
    switch (type) {
    case PGCDC_MSG_BEGIN:
        if (rd_u64(c, &msg->u.begin.final_lsn) < 0 || rd_i64(c, &msg->u.begin.commit_time) < 0) {
            return -1;
        }
        return rd_u32(c, &msg->xid);
    case PGCDC_MSG_COMMIT:
        return rd_commit(c, msg);
    case PGCDC_MSG_ORIGIN:
        if (rd_u64(c, &msg->u.origin.commit_lsn) < 0) {
            return -1;
        }
        return rd_str(c, &msg->u.origin.name);
    case PGCDC_MSG_RELATION:
        return rd_relation(dec, c, msg);
    case PGCDC_MSG_TYPE:
        if (rd_u32(c, &msg->u.type.oid) < 0 || rd_str(c, &msg->u.type.nspname) < 0) {
            return -1;
        }
        return rd_str(c, &msg->u.type.typname);
    case PGCDC_MSG_INSERT:
    case PGCDC_MSG_UPDATE:
    case PGCDC_MSG_DELETE:
        return rd_change(dec, c, type, msg);
    case PGCDC_MSG_TRUNCATE:
        return rd_truncate(c, msg);
    case PGCDC_MSG_MESSAGE:
        return rd_message(c, msg);
    case PGCDC_MSG_STREAM_START:
        if (rd_u32(c, &msg->xid) < 0) {
            return -1;
        }
        return rd_u8(c, &msg->u.stream_start.first_segment);
    case PGCDC_MSG_STREAM_STOP:
        msg->xid = dec->stream_xid;
        return 0;
    case PGCDC_MSG_STREAM_COMMIT:
        if (rd_u32(c, &msg->xid) < 0) {
            return -1;
        }
        return rd_commit(c, msg);
    case PGCDC_MSG_STREAM_ABORT:
        if (rd_u32(c, &msg->xid) < 0) {
            return -1;
        }
        return rd_u32(c, &msg->u.stream_abort.subxid);
    case PGCDC_MSG_BEGIN_PREPARE:
    case PGCDC_MSG_PREPARE:
    case PGCDC_MSG_COMMIT_PREPARED:
    case PGCDC_MSG_ROLLBACK_PREPARED:
    case PGCDC_MSG_STREAM_PREPARE:
        return rd_twophase(c, type, msg);
    default:
        return fail(dec, "unknown message type 0x%02x", type);
    }
}

/*
 * NUL-terminates a tuple's last value in place (rd_tuple did the others).
 * Only done once the whole message is parsed: the byte after it is the next
 * field's first byte, or the spare byte after the message.
 */
static void terminate_last(pgcdc__decoder *dec, const pgcdc__tuple *t)
{
    const pgcdc__col *col;

    if (t->ncols == 0) {
        return;
    }
    col = &t->cols[t->ncols - 1];
    if (col->kind == PGCDC_COL_TEXT || col->kind == PGCDC_COL_BINARY) {
        dec->buf[(size_t)((const uint8_t *)col->data - dec->buf) + col->len] = 0;
    }
}

static int rd_pgoutput(pgcdc__decoder *dec, cursor *c, pgcdc__msg *msg)
{
    uint8_t type;
    size_t at = c->off;

    if (rd_u8(c, &type) < 0) {
        return -1;
    }
    c->what = msg_name(type);
    if (c->what == NULL) {
        return fail(dec, "unknown message type 0x%02x at offset %zu", type, at);
    }
    if (dec->in_stream && outside_stream_only(type)) {
        return fail(dec, "unexpected %s message inside a stream", c->what);
    }
    if (!dec->in_stream && type == PGCDC_MSG_STREAM_STOP) {
        return fail(dec, "unexpected Stream Stop message outside a stream");
    }
    msg->type = (char)type;
    if (dec->in_stream && streamable(type)) {
        msg->streamed = 1;
        if (rd_u32(c, &msg->xid) < 0) {
            return -1;
        }
    }
    if (rd_body(dec, c, type, msg) < 0 || rd_end(c) < 0) {
        return -1;
    }
    if (type == PGCDC_MSG_INSERT || type == PGCDC_MSG_UPDATE || type == PGCDC_MSG_DELETE) {
        terminate_last(dec, &msg->u.change.old);
        terminate_last(dec, &msg->u.change.new_);
    } else if (type == PGCDC_MSG_MESSAGE) {
        /* The content ends the message: its terminator is the spare byte. */
        dec->buf[dec->len] = 0;
    } else if (type == PGCDC_MSG_STREAM_START) {
        dec->in_stream = 1;
        dec->stream_xid = msg->xid;
    } else if (type == PGCDC_MSG_STREAM_STOP) {
        dec->in_stream = 0;
    }
    return 0;
}

static int rd_wrapped(pgcdc__decoder *dec, cursor *c, pgcdc__msg *msg)
{
    uint8_t kind;
    uint8_t reply;

    if (rd_u8(c, &kind) < 0) {
        return -1;
    }
    if (kind == PGCDC_MSG_KEEPALIVE) {
        c->what = "keepalive";
        if (rd_u64(c, &msg->wal_end) < 0 || rd_i64(c, &msg->send_time) < 0 ||
            rd_u8(c, &reply) < 0 || rd_end(c) < 0) {
            return -1;
        }
        msg->type = PGCDC_MSG_KEEPALIVE;
        msg->u.keepalive.reply_requested = reply != 0;
        return 0;
    }
    if (kind != 'w') {
        return fail(dec, "unknown replication message type 0x%02x", kind);
    }
    c->what = "XLogData";
    if (rd_u64(c, &msg->wal_start) < 0 || rd_u64(c, &msg->wal_end) < 0 ||
        rd_i64(c, &msg->send_time) < 0) {
        return -1;
    }
    return rd_pgoutput(dec, c, msg);
}

pgcdc__decoder *pgcdc__decoder_new(void)
{
    pgcdc__decoder *dec = calloc(1, sizeof(*dec));

    if (dec == NULL) {
        return NULL;
    }
    dec->oldcols = malloc(INITIAL_COLS * sizeof(pgcdc__col));
    dec->newcols = malloc(INITIAL_COLS * sizeof(pgcdc__col));
    dec->relcols = malloc(INITIAL_COLS * sizeof(pgcdc__relcol));
    if (dec->oldcols == NULL || dec->newcols == NULL || dec->relcols == NULL) {
        goto fail;
    }
    dec->oldcap = INITIAL_COLS;
    dec->newcap = INITIAL_COLS;
    dec->relcap = INITIAL_COLS;
    return dec;

fail:
    pgcdc__decoder_free(dec);
    return NULL;
}

void pgcdc__decoder_free(pgcdc__decoder *dec)
{
    if (dec == NULL) {
        return;
    }
    free(dec->oldcols);
    free(dec->newcols);
    free(dec->relcols);
    free(dec);
}

void pgcdc__decoder_reset(pgcdc__decoder *dec)
{
    dec->buf = NULL;
    dec->len = 0;
    dec->pending = 0;
    dec->in_stream = 0;
    dec->stream_xid = 0;
    dec->failed = 0;
    dec->err[0] = '\0';
}

void pgcdc__decoder_feed(pgcdc__decoder *dec, uint8_t *buf, size_t len, int raw)
{
    dec->buf = buf;
    dec->len = len;
    dec->raw = raw;
    dec->pending = 1;
}

int pgcdc__decoder_next(pgcdc__decoder *dec, pgcdc__msg *msg)
{
    cursor c;
    int rc;

    if (dec->failed) {
        return -1;
    }
    if (!dec->pending) {
        return 0;
    }
    dec->pending = 0;
    memset(msg, 0, sizeof(*msg));
    c.dec = dec;
    c.p = dec->buf;
    c.len = dec->len;
    c.off = 0;
    c.what = dec->raw ? "pgoutput" : "replication";
    if (dec->raw) {
        rc = rd_pgoutput(dec, &c, msg);
    } else {
        rc = rd_wrapped(dec, &c, msg);
    }
    if (rc < 0) {
        return -1;
    }
    return 1;
}

int pgcdc__decoder_take_streamed(pgcdc__decoder *dec, uint32_t *xid, uint32_t *subxid,
                                 uint64_t *lsn, uint8_t **body, size_t *len)
{
    /* The 'w' wrapper: kind, walStart, walEnd, sendTime. */
    size_t at = dec->raw ? 0 : 25;
    uint8_t *p;

    if (!dec->pending || dec->failed || !dec->in_stream || dec->len < at + 5 ||
        (!dec->raw && dec->buf[0] != 'w')) {
        return 0;
    }
    p = dec->buf + at;
    /*
     * Relation and Type messages wait with the changes, as PostgreSQL's own
     * apply worker keeps them: they describe the relation as that transaction
     * sees it, which other transactions must not see before its commit (nor
     * ever, if it aborts).
     */
    if (!streamable(p[0])) {
        return 0;
    }
    dec->pending = 0;
    *lsn = dec->raw ? 0 : pgcdc__be64(dec->buf + 1); /* walStart */
    *xid = dec->stream_xid;
    *subxid = pgcdc__be32(p + 1);
    /* Keep the type byte, drop the xid: the kept message reads as a plain one. */
    p[4] = p[0];
    *body = p + 4;
    *len = dec->len - at - 4;
    return 1;
}

const char *pgcdc__decoder_error(const pgcdc__decoder *dec)
{
    return dec->err;
}

uint32_t pgcdc__truncate_relid(const pgcdc__msg *msg, uint32_t i)
{
    const uint8_t *p;

    if (msg->type != PGCDC_MSG_TRUNCATE || i >= msg->u.truncate.nrels) {
        return 0;
    }
    p = msg->u.truncate.relids + (size_t)i * 4;
    return pgcdc__be32(p);
}
