/*
 * pgoutput decoder: bytes of one replication CopyData message in, messages out.
 * Pure: no I/O, no allocation per message, views point into the fed buffer.
 */
#ifndef PGCDC_WIRE_DECODER_H
#define PGCDC_WIRE_DECODER_H

#include <stddef.h>
#include <stdint.h>

#include "base/num.h"

/* Replication wrapper ("Streaming Replication Protocol") and pgoutput message bytes. */
typedef enum pgcdc__msg_type {
    PGCDC_MSG_NONE = 0,
    PGCDC_MSG_KEEPALIVE = 'k', /* primary keepalive */
    PGCDC_MSG_BEGIN = 'B',
    PGCDC_MSG_COMMIT = 'C',
    PGCDC_MSG_ORIGIN = 'O',
    PGCDC_MSG_RELATION = 'R',
    PGCDC_MSG_TYPE = 'Y',
    PGCDC_MSG_INSERT = 'I',
    PGCDC_MSG_UPDATE = 'U',
    PGCDC_MSG_DELETE = 'D',
    PGCDC_MSG_TRUNCATE = 'T',
    PGCDC_MSG_MESSAGE = 'M',
    PGCDC_MSG_STREAM_START = 'S',
    PGCDC_MSG_STREAM_STOP = 'E',
    PGCDC_MSG_STREAM_COMMIT = 'c',
    PGCDC_MSG_STREAM_ABORT = 'A',
    /* Protocol 3, two-phase transactions (PostgreSQL 15 and later). */
    PGCDC_MSG_BEGIN_PREPARE = 'b',
    PGCDC_MSG_PREPARE = 'P',
    PGCDC_MSG_COMMIT_PREPARED = 'K',
    PGCDC_MSG_ROLLBACK_PREPARED = 'r',
    PGCDC_MSG_STREAM_PREPARE = 'p'
} pgcdc__msg_type;

/* Tuple column kinds, as on the wire. */
typedef enum pgcdc__col_kind {
    PGCDC_COL_NULL = 'n',
    PGCDC_COL_UNCHANGED = 'u',
    PGCDC_COL_TEXT = 't',
    PGCDC_COL_BINARY = 'b'
} pgcdc__col_kind;

/* One column of a tuple; data points into the fed buffer. */
typedef struct pgcdc__col {
    const char *data; /* NUL-terminated in place for 't' and 'b' (see pgcdc__decoder_feed) */
    uint32_t len;
    char kind; /* pgcdc__col_kind */
} pgcdc__col;

typedef struct pgcdc__tuple {
    pgcdc__col *cols; /* owned by the decoder, reused */
    uint16_t ncols;
    uint8_t binary; /* some value is in binary ('b') */
} pgcdc__tuple;

/* One column of a Relation message. */
typedef struct pgcdc__relcol {
    const char *name;
    uint32_t type_oid;
    int32_t typmod;
    uint8_t flags; /* 1: part of the key */
} pgcdc__relcol;

typedef struct pgcdc__msg {
    char type;          /* pgcdc__msg_type */
    int streamed;       /* change inside Stream Start/Stop: xid is set */
    uint32_t xid;       /* Begin, streamed changes, Stream *, two-phase messages; else 0 */
    uint64_t wal_start; /* from the 'w' wrapper (0 for keepalive) */
    uint64_t wal_end;   /* from the 'w' or 'k' wrapper */
    int64_t send_time;  /* from the wrapper, microseconds since 2000-01-01 */
    union {
        struct {
            int reply_requested;
        } keepalive;
        struct {
            uint64_t final_lsn;
            int64_t commit_time; /* microseconds since 2000-01-01 */
        } begin;
        struct {
            uint8_t flags;
            uint64_t commit_lsn;
            uint64_t end_lsn;
            int64_t commit_time;
        } commit; /* also Stream Commit */
        struct {
            uint64_t commit_lsn;
            const char *name;
        } origin;
        struct {
            uint32_t relid;
            const char *nspname;
            const char *relname;
            char replident; /* 'd', 'n', 'f', 'i' */
            uint16_t ncols;
            pgcdc__relcol *cols; /* owned by the decoder, reused */
        } relation;
        struct {
            uint32_t oid;
            const char *nspname;
            const char *typname;
        } type;
        struct {
            uint32_t relid;
            char old_kind;     /* 0, 'K' (key) or 'O' (old row) */
            pgcdc__tuple old;  /* ncols 0 when old_kind is 0 */
            pgcdc__tuple new_; /* ncols 0 for Delete */
        } change;              /* Insert, Update, Delete */
        struct {
            uint32_t nrels;
            uint8_t options;       /* 1 CASCADE, 2 RESTART IDENTITY */
            const uint8_t *relids; /* nrels big-endian uint32s: read with pgcdc__truncate_relid */
        } truncate;
        struct {
            uint8_t flags; /* 1: transactional */
            uint64_t lsn;
            const char *prefix;
            const char *content;
            uint32_t len;
        } message;
        struct {
            uint8_t first_segment;
        } stream_start;
        struct {
            uint32_t subxid;
        } stream_abort;
        /*
         * Begin Prepare, Prepare, Stream Prepare: the prepare's LSN, end and
         * time.  Commit Prepared: the commit's LSN, end and time.  Rollback
         * Prepared: the prepared transaction's end, the rollback's end, the
         * prepare time and the rollback time.  flags is 0 for Begin Prepare.
         */
        struct {
            uint8_t flags;
            uint64_t lsn;
            uint64_t end_lsn;
            int64_t time; /* microseconds since 2000-01-01 */
            int64_t rollback_time;
            const char *gid;
        } twophase;
    } u;
} pgcdc__msg;

typedef struct pgcdc__decoder pgcdc__decoder;

pgcdc__decoder *pgcdc__decoder_new(void);
void pgcdc__decoder_free(pgcdc__decoder *dec);
/* Forget streaming state (after a reconnect); clears a sticky error too. */
void pgcdc__decoder_reset(pgcdc__decoder *dec);

/*
 * Feeds one CopyData message ('w' XLogData or 'k' keepalive; pass raw=1 to
 * feed a bare pgoutput message without wrapper, as SQL functions return it).
 * buf must be writable and have one byte past len: the decoder writes NUL
 * terminators after text values in place.  The buffer must outlive the
 * message pulled from it.
 */
void pgcdc__decoder_feed(pgcdc__decoder *dec, uint8_t *buf, size_t len, int raw);
/*
 * Pulls the message: 1 and *msg filled, 0 when nothing is left, -1 on a
 * malformed message (sticky until reset; see pgcdc__decoder_error).
 */
int pgcdc__decoder_next(pgcdc__decoder *dec, pgcdc__msg *msg);
/*
 * Takes the fed message if it belongs to a streamed transaction (a Relation,
 * Type, Insert, Update, Delete, Truncate or Message between Stream Start and
 * Stream Stop), which is kept until the transaction's Stream Commit rather
 * than decoded now.  Returns 1 with the transaction's xid, the
 * (sub)transaction's xid that sent it, the WAL position it came at (0 for a
 * bare message), and *body and *len: the message as if
 * not streamed (type byte, then the fields after the xid), in the fed
 * buffer.  Returns 0, leaving the message to pgcdc__decoder_next, for any
 * other message.
 */
int pgcdc__decoder_take_streamed(pgcdc__decoder *dec, uint32_t *xid, uint32_t *subxid,
                                 uint64_t *lsn, uint8_t **body, size_t *len);
/* Message of the last error ("" if none). */
const char *pgcdc__decoder_error(const pgcdc__decoder *dec);

uint32_t pgcdc__truncate_relid(const pgcdc__msg *msg, uint32_t i);

#endif /* PGCDC_WIRE_DECODER_H */
