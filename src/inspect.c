/*
 * Questions about a pipeline that need no stream: its slot and
 * publication as the server has them (pgcdc status).
 */
#include <string.h>

#include "pg/conn.h"
#include "pg/slot.h"
#include "worker.h"

int pgcdc_worker_slot_status(pgcdc_worker *w, pgcdc_slot_status *out)
{
    PGconn *conn;
    int r;

    memset(out, 0, sizeof(*out));
    out->safe_wal_size = -1;
    if (w->cfg.conninfo == NULL || w->cfg.slot == NULL)
        return pgcdc__fail(&w->ctx, PGCDC_ERR_INVALID,
                           "no %s given (set it before asking for the slot's status)",
                           w->cfg.conninfo == NULL ? "connection string" : "slot");
    conn = pgcdc__connect(&w->ctx, w->cfg.conninfo, 0, NULL, &r);
    if (conn == NULL)
        return r;
    r = pgcdc__slot_status(&w->ctx, conn, w->cfg.slot, w->cfg.publication, out);
    PQfinish(conn);
    return r;
}
