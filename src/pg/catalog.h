/*
 * The SQL side of a worker: preflight checks (wal_level, privileges, tables,
 * replica identity, publication, slot), then creation of what is missing,
 * all or nothing; and dropping the slot and the publication.
 */
#ifndef PGCDC_PG_CATALOG_H
#define PGCDC_PG_CATALOG_H

#include <libpq-fe.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/log.h"
#include "core/filter.h"
#include "core/tables.h"

typedef struct pgcdc__catalog_opts {
    const char *conninfo;
    const char *slot;
    const char *publication;
    const pgcdc__table_name *tables; /* exact names and patterns (resolved here) */
    int ntables;
    const pgcdc__table_name *excludes; /* left out of what tables names */
    int nexcludes;
    const pgcdc__filterset *filters; /* checked against the tables; NULL: none */
    int push_down;                   /* a created publication carries the filters it can */
    int via_root;                    /* ... and publish_via_partition_root */
    int create_slot;
    int create_publication;
    int replica_identity_full;
    int export_snapshot; /* create a missing slot with an exported snapshot (kept open) */
    int failover;        /* pgcdc_failover */
    const char *writes;  /* what the stream will write into the WAL (refused on a standby) */
    int two_phase;       /* two-phase decoding asked for: count what it will decode late */
    /*
     * A feature asked for that needs a server of at least need_version
     * (0: none): refused, as "<need_what> needs PostgreSQL N or later ...
     * (<need_fix>)", before anything is created.
     */
    int need_version;
    const char *need_what;
    const char *need_fix;
} pgcdc__catalog_opts;

typedef struct pgcdc__catalog {
    pgcdc__tableset ts; /* the listed tables as the catalog describes them */
    int server_version;
    char *database;
    char *encoding;
    uint64_t slot_lsn;         /* confirmed_flush_lsn (or creation LSN) at start */
    int slot_created;          /* this start created the slot */
    int slot_active_pid;       /* the server process holding the slot at start; 0 if none */
    int wal_sender_timeout_ms; /* the server's; 0 when disabled */
    int in_recovery;           /* the server is a standby */
    int standby_feedback;      /* hot_standby_feedback is on */
    int create_failover;       /* a slot created next is a failover slot (pg/ha.c) */
    int late_prepared;         /* with two_phase: pgcdc__slot_late_prepared at start */
    /* export_snapshot and the slot was created: the connection that holds its snapshot. */
    PGconn *export_conn;
    char snapshot_name[64];
} pgcdc__catalog;

/* Preflight checks, then creates what is missing (publication, slot), all or nothing. */
int pgcdc__catalog_prepare(pgcdc__ctx *ctx, const pgcdc__catalog_opts *opts, pgcdc__catalog *cat);
void pgcdc__catalog_clear(pgcdc__catalog *cat);
/*
 * Drops the slot, the publication, or both (the publication also when the
 * slot was gone already; that is still reported, as SLOT_MISSING).
 */
int pgcdc__catalog_drop(pgcdc__ctx *ctx, const pgcdc__catalog_opts *opts, int slot,
                        int publication);

/*
 * publication.c: CREATE PUBLICATION for the tables of cat, with what the
 * options push to the server (publish, publish_via_partition_root, and on
 * PostgreSQL 15 column lists and row filters), into out; marks the tables
 * whose row filter it carries (where_pushed).  PGCDC_OK or PGCDC_ERR_NOMEM.
 */
int pgcdc__publication_sql(pgcdc__ctx *ctx, PGconn *conn, const pgcdc__catalog_opts *opts,
                           pgcdc__catalog *cat, pgcdc__buf *out);
/* The glob as a LIKE pattern (* and ? as % and _, the rest escaped) into out (2n+1 bytes). */
void pgcdc__like_pattern(const char *glob, int is_glob, char *out);

#endif /* PGCDC_PG_CATALOG_H */
