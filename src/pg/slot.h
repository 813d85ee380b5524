/*
 * The replication slot seen from SQL: whether it exists and can serve pgcdc
 * (a logical pgoutput slot of this database, not invalidated), who holds
 * it, creating it (cancellable while it waits for running transactions) and
 * dropping it.
 */
#ifndef PGCDC_PG_SLOT_H
#define PGCDC_PG_SLOT_H

#include <libpq-fe.h>
#include <stdint.h>

#include "base/log.h"
#include "pgcdc.h"

typedef struct pgcdc__slot_info {
    uint64_t confirmed_lsn; /* confirmed_flush_lsn; 0 when the server has none */
    int active_pid;         /* the walsender holding it; 0 when free */
    int failover;           /* a failover slot (PostgreSQL 17); 0 before */
    int synced;             /* a standby's copy of the primary's failover slot (17), unusable
                               until the standby is promoted */
} pgcdc__slot_info;

/*
 * 1 if the slot exists and can serve pgcdc (info filled when not NULL), 0 if
 * it does not exist, or an error: SLOT_MISMATCH (a physical slot, another
 * plugin's, another database's), SLOT_INVALID (invalidated), SQL.
 */
int pgcdc__slot_read(pgcdc__ctx *ctx, PGconn *conn, const char *slot, pgcdc__slot_info *info);
/*
 * Checks that the slot still exists and is usable, on any connection
 * (replication too): SLOT_MISSING, SLOT_MISMATCH, SLOT_INVALID, or CONNECT for
 * a standby's copy of a failover slot (usable once the standby is promoted).
 */
int pgcdc__slot_check(pgcdc__ctx *ctx, PGconn *conn, const char *slot);
/*
 * The transactions of the slot's database prepared while the slot has no
 * two-phase decoding (PostgreSQL 14 and later): those a first start with
 * two_phase decodes late, at their COMMIT PREPARED.  0 when the query fails.
 */
int pgcdc__slot_late_prepared(PGconn *conn, const char *slot);
/* SLOT_LIMIT when max_replication_slots are all taken. */
int pgcdc__slot_capacity(pgcdc__ctx *ctx, PGconn *conn);
/*
 * Creates the slot (a failover slot when failover is set: PostgreSQL 17); *lsn
 * is where it starts.  A stop request cancels it (PGCDC_ERR_STOPPED).
 */
int pgcdc__slot_create(pgcdc__ctx *ctx, PGconn *conn, const char *slot, int failover,
                       uint64_t *lsn);
/* Makes an existing slot a failover slot (PostgreSQL 17), on a replication connection of its own.
 */
int pgcdc__slot_set_failover(pgcdc__ctx *ctx, const char *conninfo, const char *slot);
/* SLOT_BUSY naming the PID that holds the slot, with what to do. */
int pgcdc__slot_busy(pgcdc__ctx *ctx, const char *slot, int pid);
/* Drops the slot: SLOT_MISSING when it does not exist, SLOT_BUSY when it is held. */
int pgcdc__slot_drop(pgcdc__ctx *ctx, PGconn *conn, const char *slot);

/*
 * The slot's row and the publication's tables (pgcdc_worker_slot_status)
 * on a normal connection.  PGCDC_OK or PGCDC_ERR_SQL.
 */
int pgcdc__slot_status(pgcdc__ctx *ctx, PGconn *conn, const char *slot, const char *publication,
                       pgcdc_slot_status *out);

#endif /* PGCDC_PG_SLOT_H */
