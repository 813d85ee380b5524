/*
 * A snapshot's SQL: the slot created with an exported snapshot, the
 * connections that read under it, each table's relation and key as the
 * snapshot reads them, its cut into segments, the chunks (COPY of a key or
 * page range) and the watermarks written into the WAL.
 */
#ifndef PGCDC_PG_SNAPSHOT_H
#define PGCDC_PG_SNAPSHOT_H

#include <libpq-fe.h>
#include <stdint.h>

#include "base/log.h"
#include "core/relcache.h"
#include "core/snapshot.h"
#include "core/tables.h"

/* The prefixes of pgcdc's logical messages. */
#define PGCDC__WATERMARK_PREFIX "pgcdc.watermark"
#define PGCDC__SIGNAL_PREFIX "pgcdc.signal"

/*
 * Creates the slot on a replication connection with an exported snapshot:
 * *lsn is its consistent point, name the snapshot's name (64 bytes).  The
 * snapshot can be imported only while *hold is open and idle: close it
 * (PQfinish) once the readers have it.  A failover slot when failover is
 * set (PostgreSQL 17).  A stop request cancels it.
 */
int pgcdc__snap_export(pgcdc__ctx *ctx, const char *conninfo, const char *slot, int failover,
                       uint64_t *lsn, char name[64], PGconn **hold);

/*
 * A connection for reading: the session settings value text relies on, and
 * with snapshot (may be NULL) a REPEATABLE READ, READ ONLY transaction that
 * imports it.  NULL with *err set on failure.
 */
PGconn *pgcdc__snap_connect(pgcdc__ctx *ctx, const char *conninfo, const char *snapshot, int *err);

/*
 * Fills t (plan table) for the catalog's table ti: the relation as pgoutput
 * would describe it (cached in rc, completed from ts), its primary key, the
 * select list and the estimates.  PGCDC_OK or an error.
 */
int pgcdc__snap_describe(pgcdc__ctx *ctx, PGconn *conn, pgcdc__relcache *rc,
                         const pgcdc__tableset *ts, const pgcdc__table_info *ti,
                         pgcdc__snap_table *t);

/*
 * Cuts table ti of the plan into up to n segments (key quantiles of a
 * sample, or equal page ranges) and adds them.  PGCDC_OK or an error.
 */
int pgcdc__snap_split(pgcdc__ctx *ctx, PGconn *conn, pgcdc__snap_plan *p, int ti, int n);

/* Called with each row of a chunk: one line of COPY text, with its newline. */
typedef int (*pgcdc__snap_row_fn)(void *opaque, const char *line, int len);

/*
 * Reads the chunk of segment s after key `after` (NULL: from the segment's
 * start), up to limit rows (page ranges: limit pages, from page `after`;
 * limit 0: the whole range in one scan), by COPY: fn gets each row.  *rows is how many came, *next
 * (for a page range) the page to go on from.  PGCDC_OK, an error of fn's, or PGCDC_ERR_SQL /
 * PGCDC_ERR_CONNECT with the context set.
 */
int pgcdc__snap_read(pgcdc__ctx *ctx, PGconn *conn, const pgcdc__snap_plan *p,
                     const pgcdc__snap_seg *s, char *const *after, long limit,
                     pgcdc__snap_row_fn fn, void *opaque, long *rows, uint64_t *next);

/*
 * An incremental chunk's read is a REPEATABLE READ transaction: begin it
 * and learn the transactions running when its snapshot was taken (*xip,
 * malloc'd, and every one from *xmax on: their changes are not in the
 * chunk, wherever the stream puts their commits), then end it after the read.
 */
int pgcdc__snap_begin_read(pgcdc__ctx *ctx, PGconn *conn, uint32_t **xip, int *nxip,
                           uint32_t *xmax);
int pgcdc__snap_end_read(pgcdc__ctx *ctx, PGconn *conn);

/* Writes a snapshot signal (a transactional logical message) with its JSON content. */
int pgcdc__snap_signal(pgcdc__ctx *ctx, const char *conninfo, const char *content, uint64_t *lsn);

/*
 * The page of the row of t (read by pages) whose key is key, as conn's
 * snapshot sees it: *page, or UINT64_MAX when there is no such row.
 */
int pgcdc__snap_locate(pgcdc__ctx *ctx, PGconn *conn, const pgcdc__snap_table *t, char *const *key,
                       uint64_t *page);

/* Closes a connection of these; NULL is a no-op. */
void pgcdc__snap_disconnect(PGconn *conn);

/* Writes a logical message (a watermark: not transactional); *lsn is where it lies. */
int pgcdc__snap_emit(pgcdc__ctx *ctx, PGconn *conn, int transactional, const char *prefix,
                     const char *content, uint64_t *lsn);

#endif /* PGCDC_PG_SNAPSHOT_H */
