/*
 * The monitor's SQL, on a normal connection of its own to the slot's
 * database: heartbeats (a logical message that gives an idle slot something
 * to confirm) and the slot's row of pg_replication_slots.
 */
#ifndef PGCDC_PG_MONITOR_H
#define PGCDC_PG_MONITOR_H

#include <stdint.h>

#include "base/log.h"

/* The prefix of heartbeat messages. */
#define PGCDC__HEARTBEAT_PREFIX "pgcdc.heartbeat"

typedef struct pgcdc__monconn pgcdc__monconn;

/* What pg_replication_slots says of the slot. */
typedef struct pgcdc__slot_row {
    int64_t retained;      /* the server's WAL position minus restart_lsn; -1 when unknown */
    int64_t safe_wal_size; /* -1 when NULL (no max_slot_wal_keep_size, or lost) */
    char wal_status[16];   /* "reserved", "extended", "unreserved", "lost"; "" when NULL */
} pgcdc__slot_row;

/* NULL on out of memory; connects on first use, and again after a failure. */
pgcdc__monconn *pgcdc__monconn_new(pgcdc__ctx *ctx, const char *conninfo);
/* Closes the connection; NULL is a no-op. */
void pgcdc__monconn_free(pgcdc__monconn *mc);
/*
 * Writes a heartbeat (pg_logical_emit_message, not transactional) and its
 * LSN into *lsn.  PGCDC_OK or an error with the context's message (the
 * connection is closed then, and opened anew next time).
 */
int pgcdc__monconn_heartbeat(pgcdc__monconn *mc, uint64_t *lsn);
/*
 * Reads the slot's row.  PGCDC_OK, PGCDC_ERR_SLOT_MISSING when there is no
 * such slot, or an error with the context's message.
 */
int pgcdc__monconn_slot(pgcdc__monconn *mc, const char *slot, pgcdc__slot_row *row);

#endif /* PGCDC_PG_MONITOR_H */
