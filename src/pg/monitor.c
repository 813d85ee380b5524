/*
 * The monitor's SQL: heartbeats and the slot's state, on a normal
 * connection opened on first use and dropped after any failure, so that the
 * next call starts afresh.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pg/conn.h"
#include "pg/monitor.h"
#include "pgcdc.h"

struct pgcdc__monconn {
    pgcdc__ctx *ctx;
    char *conninfo;
    PGconn *conn;
};

pgcdc__monconn *pgcdc__monconn_new(pgcdc__ctx *ctx, const char *conninfo)
{
    pgcdc__monconn *mc = calloc(1, sizeof(*mc));

    if (mc == NULL)
        return NULL;
    mc->ctx = ctx;
    mc->conninfo = strdup(conninfo != NULL ? conninfo : "");
    if (mc->conninfo == NULL) {
        free(mc);
        return NULL;
    }
    return mc;
}

void pgcdc__monconn_free(pgcdc__monconn *mc)
{
    if (mc == NULL)
        return;
    if (mc->conn != NULL)
        PQfinish(mc->conn);
    free(mc->conninfo);
    free(mc);
}

static int ensure_conn(pgcdc__monconn *mc)
{
    int err = PGCDC_OK;

    if (mc->conn != NULL && PQstatus(mc->conn) == CONNECTION_OK)
        return PGCDC_OK;
    if (mc->conn != NULL)
        PQfinish(mc->conn);
    mc->conn = pgcdc__connect(mc->ctx, mc->conninfo, 0, NULL, &err);
    return mc->conn != NULL ? PGCDC_OK : err;
}

/* After a failure the connection starts afresh next time. */
static int failed(pgcdc__monconn *mc, int r)
{
    if (mc->conn != NULL)
        PQfinish(mc->conn);
    mc->conn = NULL;
    return r;
}

int pgcdc__monconn_heartbeat(pgcdc__monconn *mc, uint64_t *lsn)
{
    PGresult *res;
    int r = ensure_conn(mc);

    *lsn = 0;
    if (r != PGCDC_OK)
        return failed(mc, r);
    res = pgcdc__query(mc->ctx, mc->conn, "write a heartbeat",
                       "SELECT pg_logical_emit_message(false, '" PGCDC__HEARTBEAT_PREFIX "', '')",
                       0, NULL, NULL);
    if (res == NULL)
        return failed(mc, PGCDC_ERR_SQL);
    if (PQntuples(res) == 1 && !PQgetisnull(res, 0, 0))
        r = pgcdc_lsn_parse(PQgetvalue(res, 0, 0), lsn);
    PQclear(res);
    return r;
}

int pgcdc__monconn_slot(pgcdc__monconn *mc, const char *slot, pgcdc__slot_row *row)
{
    const char *params[1] = {slot};
    PGresult *res;
    int r = ensure_conn(mc);

    row->retained = -1;
    row->safe_wal_size = -1;
    row->wal_status[0] = '\0';
    if (r != PGCDC_OK)
        return failed(mc, r);
    /* wal_status and safe_wal_size came with PostgreSQL 13: read by name, NULL before. */
    res = pgcdc__query(mc->ctx, mc->conn, "read the replication slot's state",
                       "SELECT CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() "
                       "ELSE pg_current_wal_lsn() END - s.restart_lsn, "
                       "to_jsonb(s)->>'safe_wal_size', to_jsonb(s)->>'wal_status' "
                       "FROM pg_replication_slots s WHERE s.slot_name = $1",
                       1, params, NULL);
    if (res == NULL)
        return failed(mc, PGCDC_ERR_SQL);
    if (PQntuples(res) != 1) {
        PQclear(res);
        return pgcdc__fail(mc->ctx, PGCDC_ERR_SLOT_MISSING,
                           "replication slot \"%s\" does not exist", slot);
    }
    if (!PQgetisnull(res, 0, 0))
        row->retained = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    if (!PQgetisnull(res, 0, 1))
        row->safe_wal_size = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
    if (!PQgetisnull(res, 0, 2))
        snprintf(row->wal_status, sizeof(row->wal_status), "%s", PQgetvalue(res, 0, 2));
    PQclear(res);
    return PGCDC_OK;
}
