/*
 * Questions about a pipeline that need no stream: its slot and
 * publication as the server has them (pgcdc status), and its sinks'
 * counters.
 */
#include <stdio.h>
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

int pgcdc_worker_sink_stats(const pgcdc_worker *w, int i, pgcdc_sink_stats *st)
{
    const pgcdc__sink_spec *spec;

    memset(st, 0, sizeof(*st));
    if (i < 0 || i >= w->cfg.nsinks)
        return PGCDC_ERR_RANGE;
    /*
     * The sinks are made at the start, before the state leaves "new", and
     * freed with the worker: past "new" they may be read from any thread.
     */
    if (atomic_load(&w->state) != PGCDC_STATE_NEW && i < w->nsinks) {
        pgcdc_sink *sink = w->sinks[i];

        snprintf(st->uri, sizeof(st->uri), "%s", sink->shown);
        snprintf(st->kind, sizeof(st->kind), "%s", sink->ops->kind != NULL ? sink->ops->kind : "");
        pgcdc__sink_counters_read(&sink->stats, st);
        return PGCDC_OK;
    }
    spec = &w->cfg.sinks[i];
    pgcdc__sink_uri_shown(spec->uri != NULL ? spec->uri : "", st->uri, sizeof(st->uri));
    snprintf(st->kind, sizeof(st->kind), "%s",
             spec->ops != NULL && spec->ops->kind != NULL ? spec->ops->kind : "");
    return PGCDC_OK;
}
