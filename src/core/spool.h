/*
 * Spool for streamed in-progress transactions (pgoutput protocol 2): their
 * changes go to an unlinked temporary file per transaction until Stream
 * Commit replays them, or Stream Abort discards them.  Memory stays bounded.
 */
#ifndef PGCDC_CORE_SPOOL_H
#define PGCDC_CORE_SPOOL_H

#include <stddef.h>
#include <stdint.h>

#include "base/log.h"

typedef struct pgcdc__spool pgcdc__spool;

/*
 * dir: where the files go (NULL: $TMPDIR or /tmp).  Failures are reported
 * through ctx: the functions below return 0 or a negative pgcdc_err.
 */
pgcdc__spool *pgcdc__spool_new(pgcdc__ctx *ctx, const char *dir);
void pgcdc__spool_free(pgcdc__spool *sp);
/* Discards every transaction (after a reconnect the server streams them again). */
void pgcdc__spool_reset(pgcdc__spool *sp);
/*
 * Appends one message of transaction xid (subxid: the subtransaction that
 * sent it), which came at WAL position lsn.  msg is the message as if not
 * streamed: type byte, then the fields after the xid.
 */
int pgcdc__spool_append(pgcdc__spool *sp, uint32_t xid, uint32_t subxid, uint64_t lsn,
                        const uint8_t *msg, size_t len);
/* Discards a subtransaction (and what followed it), or the whole transaction if subxid == xid. */
int pgcdc__spool_abort(pgcdc__spool *sp, uint32_t xid, uint32_t subxid);
/* Starts reading transaction xid back.  An unknown xid reads as empty. */
int pgcdc__spool_replay_begin(pgcdc__spool *sp, uint32_t xid);
/*
 * Next message of the replay: 1 with *msg and *len set (writable, one spare byte past
 * len, valid until the next call) and the position it came at in *lsn, 0 at the
 * end, or an error.
 */
int pgcdc__spool_replay_next(pgcdc__spool *sp, uint8_t **msg, size_t *len, uint64_t *lsn);
/* Ends the replay and forgets the transaction. */
void pgcdc__spool_replay_end(pgcdc__spool *sp);
/* Number of transactions spooled. */
int pgcdc__spool_count(const pgcdc__spool *sp);

#endif /* PGCDC_CORE_SPOOL_H */
