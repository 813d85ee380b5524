/*
 * The worker's snapshots (snapshot.c, snapshot_inc.c): planning at start,
 * READ rows handed out through the same delivery as the stream's changes,
 * progress kept durably before the slot is confirmed past a chunk, and
 * incremental chunks between watermarks while streaming.
 */
#ifndef PGCDC_SNAPSHOT_H
#define PGCDC_SNAPSHOT_H

#include "worker.h"

typedef struct pgcdc__snaprun pgcdc__snaprun;

/*
 * After the preflight: what the start does about snapshots (an initial
 * one of the slot just created with an exported snapshot, one to resume,
 * an incremental one asked for).  *defer_stream is set when the stream
 * opens only after the snapshot (pgcdc__snapshot_next returns 2 then).
 */
int pgcdc__snapshot_start(pgcdc_worker *w, int *defer_stream);
void pgcdc__snapshot_free(pgcdc_worker *w);
/* 1 when READ rows are to be handed out before the stream's next message. */
int pgcdc__snapshot_pending(const pgcdc_worker *w);
/*
 * Hands out the next snapshot event (through pgcdc__handle): PGCDC_OK, 1
 * when nothing is ready yet (wait with pgcdc__snapshot_wait), 2 when the
 * initial snapshot is over (and, for initial_only, acknowledged), or an
 * error.
 */
int pgcdc__snapshot_next(pgcdc_worker *w, const pgcdc_change **out, int pull);
void pgcdc__snapshot_wait(pgcdc_worker *w, int timeout_ms);
/*
 * Between events: keeps the progress of acknowledged chunks (durably, then
 * lets the ledger confirm past them; batched unless forced, as before a
 * wait), and outside a transaction starts the next incremental chunk.
 * PGCDC_OK or an error.
 */
int pgcdc__snapshot_poll(pgcdc_worker *w, int force);
/* A logical message from the stream: a watermark or a signal. */
int pgcdc__snapshot_message(pgcdc_worker *w, const pgcdc__msg *m);
/* A change from the stream: drops its rows from the chunk whose window is open. */
void pgcdc__snapshot_change(pgcdc_worker *w, const pgcdc_change *c);
/* 1 while a chunk's transaction is open (between its begin and commit). */
int pgcdc__snapshot_in_chunk(const pgcdc_worker *w);
/*
 * The stream was opened again: it goes on from the confirmed position, so
 * an open window waits for its low watermark again (changes from before it
 * must not drop rows of the chunk).
 */
void pgcdc__snapshot_reconnected(pgcdc_worker *w);
void pgcdc__snapshot_stats(const pgcdc_worker *w, pgcdc_stats *st);

#endif /* PGCDC_SNAPSHOT_H */
