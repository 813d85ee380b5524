/*
 * The replication stream: an opaque object that owns its libpq replication
 * connection, its receive buffers and gather tuning, and the keeper thread
 * that sends status updates while the worker is busy.  It calls no user
 * code and never logs from the keeper; what it has to say goes into the
 * context, on the thread that calls it.
 */
#ifndef PGCDC_PG_STREAM_H
#define PGCDC_PG_STREAM_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "base/log.h"
#include "base/stop.h"
#include "core/ledger.h"

typedef struct pgcdc__stream_opts {
    const char *conninfo;
    const char *slot;        /* validated to [a-z0-9_] */
    const char *publication; /* validated to [a-z0-9_] */
    int proto_version;
    int two_phase; /* pgoutput's two_phase (protocol 3) */
    int binary;
    int sql_ascii;          /* the database is SQL_ASCII: take its bytes as they are */
    int messages;           /* logical decoding messages too (PostgreSQL 14 and later) */
    int status_interval_ms; /* regular status updates */
    int link_timeout_ms;    /* silence while waiting on the server after which the link is dead */
} pgcdc__stream_opts;

typedef struct pgcdc__stream pgcdc__stream;

/*
 * The flush position of every status update is what the ledger confirmed.
 * A stop request wakes a wait in pgcdc__stream_receive.  While *busy is set
 * (the caller is in user code, and reads nothing), the keeper thread keeps
 * the status updates flowing.  NULL on out of memory.
 */
pgcdc__stream *pgcdc__stream_new(pgcdc__ctx *ctx, pgcdc__ledger *ledger, pgcdc__stop *stop,
                                 const atomic_int *busy);
/* Closes the connection (not gracefully) and stops the keeper; NULL is a no-op. */
void pgcdc__stream_free(pgcdc__stream *s);

/*
 * Connects and starts streaming from the slot's confirmed position.
 * Returns PGCDC_OK, or PGCDC_ERR_SLOT_BUSY (another walsender holds the
 * slot), PGCDC_ERR_SLOT_MISSING, PGCDC_ERR_SLOT_INVALID, or a connection
 * error (PGCDC_ERR_CONNECT, AUTH, PRIVILEGE, INVALID, NOMEM).
 */
int pgcdc__stream_open(pgcdc__stream *s, const pgcdc__stream_opts *opts);
/*
 * Closes the connection.  Gracefully: a last status update, then the
 * server's end of the stream is awaited (up to 5 s), so that it has read
 * what was confirmed.
 */
void pgcdc__stream_close(pgcdc__stream *s, int graceful);

/*
 * Waits up to timeout_ms (-1: forever) for the next CopyData message.
 * Returns 1 with *buf and *len set (writable with a spare byte past len,
 * valid until the next receive or close); 0 when nothing came: the timeout
 * passed, a stop request woke it, or, with timeout 0, everything received
 * has been handed out; or an error: PGCDC_ERR_CONNECT when the connection
 * was lost (reconnecting may mend it), PGCDC_ERR_PUBLICATION when the
 * server cannot decode on for a publication it lacks (no reconnect can).
 */
int pgcdc__stream_receive(pgcdc__stream *s, int timeout_ms, uint8_t **buf, size_t *len);
/* Sends a status update now (also from the keeper's lock; never blocks on the worker). */
void pgcdc__stream_send_status(pgcdc__stream *s, int reply_requested);

/* Any thread: the highest WAL position received, bytes received, the last flush sent. */
uint64_t pgcdc__stream_received_lsn(const pgcdc__stream *s);
uint64_t pgcdc__stream_bytes(const pgcdc__stream *s);
uint64_t pgcdc__stream_sent_flush(const pgcdc__stream *s);
/* The server process of the last stream opened (its walsender); 0 before any. */
int pgcdc__stream_backend_pid(const pgcdc__stream *s);

#endif /* PGCDC_PG_STREAM_H */
