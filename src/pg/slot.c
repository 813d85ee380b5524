/*
 * The replication slot from SQL: read and checked, created, dropped, and
 * who holds it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pg/conn.h"
#include "pg/slot.h"
#include "pgcdc.h"

int pgcdc__slot_read(pgcdc__ctx *ctx, PGconn *conn, const char *slot, pgcdc__slot_info *info)
{
    char sql[512];
    char *lit = PQescapeLiteral(conn, slot, strlen(slot));
    PGresult *res;
    int r = 1;

    if (info != NULL)
        memset(info, 0, sizeof(*info));
    if (lit == NULL)
        return pgcdc__fail(ctx, PGCDC_ERR_NOMEM, "out of memory");
    /* A literal, not a parameter: replication connections take the simple protocol only. */
    snprintf(sql, sizeof(sql),
             "SELECT plugin, slot_type, database = current_database(), wal_status, "
             "confirmed_flush_lsn, coalesce(active_pid, 0), database, "
             "coalesce(to_jsonb(s)->>'failover', 'false'), "
             "coalesce((to_jsonb(s)->>'synced')::bool AND pg_is_in_recovery(), false) "
             "FROM pg_replication_slots s WHERE slot_name = %s",
             lit);
    PQfreemem(lit);
    res = pgcdc__query(ctx, conn, "read replication slot", sql, 0, NULL, NULL);
    if (res == NULL)
        return PGCDC_ERR_SQL;
    if (PQntuples(res) == 0) {
        r = 0;
    } else if (strcmp(PQgetvalue(res, 0, 1), "logical") != 0) {
        r = pgcdc__fail(ctx, PGCDC_ERR_SLOT_MISMATCH,
                        "replication slot \"%s\" is a physical slot, not a logical one (choose "
                        "another slot name: this one belongs to a standby or a backup tool)",
                        slot);
    } else if (strcmp(PQgetvalue(res, 0, 0), "pgoutput") != 0) {
        r = pgcdc__fail(ctx, PGCDC_ERR_SLOT_MISMATCH,
                        "replication slot \"%s\" decodes with the plugin \"%s\", not pgoutput "
                        "(choose another slot name: this one belongs to another consumer)",
                        slot, PQgetvalue(res, 0, 0));
    } else if (strcmp(PQgetvalue(res, 0, 2), "t") != 0) {
        r = pgcdc__fail(ctx, PGCDC_ERR_SLOT_MISMATCH,
                        "replication slot \"%s\" belongs to the database \"%s\" (connect to that "
                        "database, or choose another slot name)",
                        slot, PQgetvalue(res, 0, 6));
    } else if (strcmp(PQgetvalue(res, 0, 3), "lost") == 0) {
        r = pgcdc__fail(ctx, PGCDC_ERR_SLOT_INVALID,
                        "replication slot \"%s\" has been invalidated: the server removed WAL it "
                        "still needed, so changes since its last confirmed position are lost to "
                        "it (drop the slot, create a new one and resynchronise the consumers)",
                        slot);
    } else if (info != NULL) {
        if (!PQgetisnull(res, 0, 4))
            pgcdc_lsn_parse(PQgetvalue(res, 0, 4), &info->confirmed_lsn);
        info->active_pid = atoi(PQgetvalue(res, 0, 5));
        /* failover and synced came with PostgreSQL 17: read by name, false before. */
        info->failover = strcmp(PQgetvalue(res, 0, 7), "true") == 0;
        info->synced = strcmp(PQgetvalue(res, 0, 8), "t") == 0;
    }
    PQclear(res);
    return r;
}

int pgcdc__slot_check(pgcdc__ctx *ctx, PGconn *conn, const char *slot)
{
    pgcdc__slot_info info;
    int r = pgcdc__slot_read(ctx, conn, slot, &info);

    /* A reconnect that found a standby (a connection string naming several
     * servers): once it is promoted, the copy serves.  Retried meanwhile. */
    if (r == 1 && info.synced)
        return pgcdc__fail(ctx, PGCDC_ERR_CONNECT,
                           "replication slot \"%s\" on this server is a copy that the standby "
                           "keeps in sync from its primary, usable once the standby is promoted "
                           "(target_session_attrs=read-write in the connection string passes "
                           "standbys by)",
                           slot);
    if (r == 0)
        return pgcdc__fail(ctx, PGCDC_ERR_SLOT_MISSING,
                           "replication slot \"%s\" does not exist any more (it was dropped; "
                           "pgcdc will not create a new one in its place because changes since "
                           "its last position would be missed: create it deliberately and "
                           "resynchronise the consumers)",
                           slot);
    return r < 0 ? r : PGCDC_OK;
}

int pgcdc__slot_capacity(pgcdc__ctx *ctx, PGconn *conn)
{
    PGresult *res = pgcdc__query(ctx, conn, "count replication slots",
                                 "SELECT count(*) < current_setting('max_replication_slots')::int, "
                                 "current_setting('max_replication_slots') "
                                 "FROM pg_replication_slots",
                                 0, NULL, NULL);
    int r = PGCDC_OK;

    if (res == NULL)
        return PGCDC_ERR_SQL;
    if (strcmp(PQgetvalue(res, 0, 0), "t") != 0)
        r = pgcdc__fail(ctx, PGCDC_ERR_SLOT_LIMIT,
                        "all %s replication slots of the server are in use (drop an unused "
                        "slot, or raise max_replication_slots and restart the server)",
                        PQgetvalue(res, 0, 1));
    PQclear(res);
    return r;
}

int pgcdc__slot_create(pgcdc__ctx *ctx, PGconn *conn, const char *slot, int failover, uint64_t *lsn)
{
    const char *params[1] = {slot};
    char state[6] = "";
    PGresult *res;

    pgcdc__log(ctx, PGCDC_LOG_INFO,
               "creating %sreplication slot \"%s\" (waits for running transactions to finish)",
               failover ? "failover " : "", slot);
    /* By name: the arguments before failover (temporary, two_phase) keep their defaults. */
    res = pgcdc__query(ctx, conn, "create replication slot",
                       failover ? "SELECT lsn FROM pg_create_logical_replication_slot($1, "
                                  "'pgoutput', failover => true)"
                                : "SELECT lsn FROM pg_create_logical_replication_slot($1, "
                                  "'pgoutput')",
                       1, params, state);
    if (res == NULL) {
        /* Another session took the last free slot meanwhile. */
        if (strcmp(state, "53400") == 0)
            return pgcdc__slot_capacity(ctx, conn) == PGCDC_ERR_SLOT_LIMIT
                       ? PGCDC_ERR_SLOT_LIMIT
                       : pgcdc__fail(ctx, PGCDC_ERR_SLOT_LIMIT,
                                     "all replication slots of the server are in use (drop an "
                                     "unused slot, or raise max_replication_slots)");
        return ctx != NULL && ctx->interrupted ? PGCDC_ERR_STOPPED : PGCDC_ERR_SQL;
    }
    pgcdc_lsn_parse(PQgetvalue(res, 0, 0), lsn);
    pgcdc__log(ctx, PGCDC_LOG_INFO, "created replication slot \"%s\" at %s", slot,
               PQgetvalue(res, 0, 0));
    PQclear(res);
    return PGCDC_OK;
}

int pgcdc__slot_set_failover(pgcdc__ctx *ctx, const char *conninfo, const char *slot)
{
    char sql[160];
    PGconn *conn;
    int r;

    conn = pgcdc__connect(ctx, conninfo, 1, NULL, &r);
    if (conn == NULL)
        return r;
    /* The slot name is validated to [a-z0-9_] by the configuration. */
    snprintf(sql, sizeof(sql), "ALTER_REPLICATION_SLOT %s ( FAILOVER true )", slot);
    r = pgcdc__exec(ctx, conn, "make the replication slot a failover slot", sql, NULL);
    if (r == PGCDC_OK)
        pgcdc__log(ctx, PGCDC_LOG_INFO, "replication slot \"%s\" is now a failover slot", slot);
    PQfinish(conn);
    return r;
}

int pgcdc__slot_busy(pgcdc__ctx *ctx, const char *slot, int pid)
{
    if (pid <= 0)
        return pgcdc__fail(ctx, PGCDC_ERR_SLOT_BUSY,
                           "replication slot \"%s\" is in use by another process (stop the other "
                           "consumer, or start with --standby to take over when it stops)",
                           slot);
    return pgcdc__fail(ctx, PGCDC_ERR_SLOT_BUSY,
                       "replication slot \"%s\" is in use by the server process with PID %d "
                       "(another consumer streams from it: stop that one, or start with "
                       "--standby to take over when it stops)",
                       slot, pid);
}

int pgcdc__slot_drop(pgcdc__ctx *ctx, PGconn *conn, const char *slot)
{
    const char *params[1] = {slot};
    pgcdc__slot_info info;
    PGresult *res;
    int r = pgcdc__slot_read(ctx, conn, slot, &info);

    if (r == 0)
        return pgcdc__fail(ctx, PGCDC_ERR_SLOT_MISSING, "replication slot \"%s\" does not exist",
                           slot);
    if (r != 1 && r != PGCDC_ERR_SLOT_INVALID)
        return r;
    if (info.active_pid != 0)
        return pgcdc__slot_busy(ctx, slot, info.active_pid);
    res = pgcdc__query(ctx, conn, "drop replication slot", "SELECT pg_drop_replication_slot($1)", 1,
                       params, NULL);
    if (res == NULL)
        return PGCDC_ERR_SQL;
    PQclear(res);
    pgcdc__log(ctx, PGCDC_LOG_INFO, "dropped replication slot \"%s\"", slot);
    return PGCDC_OK;
}

static pgcdc_wal_status wal_status(const char *s)
{
    if (strcmp(s, "reserved") == 0)
        return PGCDC_WAL_STATUS_RESERVED;
    if (strcmp(s, "extended") == 0)
        return PGCDC_WAL_STATUS_EXTENDED;
    if (strcmp(s, "unreserved") == 0)
        return PGCDC_WAL_STATUS_UNRESERVED;
    if (strcmp(s, "lost") == 0)
        return PGCDC_WAL_STATUS_LOST;
    return PGCDC_WAL_STATUS_UNKNOWN;
}

int pgcdc__slot_status(pgcdc__ctx *ctx, PGconn *conn, const char *slot, const char *publication,
                       pgcdc_slot_status *out)
{
    const char *params[1] = {slot};
    PGresult *res;
    size_t used = 0;
    int cut = 0;

    memset(out, 0, sizeof(*out));
    out->safe_wal_size = -1;
    res = pgcdc__query(ctx, conn, "read the replication slot",
                       "SELECT active, coalesce(active_pid, 0), coalesce(database, ''), plugin, "
                       "coalesce(restart_lsn::text, ''), coalesce(confirmed_flush_lsn::text, ''), "
                       "coalesce((CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() "
                       "ELSE pg_current_wal_lsn() END - restart_lsn)::bigint, 0), "
                       "coalesce(safe_wal_size, -1), coalesce(wal_status, '') "
                       "FROM pg_replication_slots WHERE slot_name = $1",
                       1, params, NULL);
    if (res == NULL)
        return PGCDC_ERR_SQL;
    if (PQntuples(res) == 1) {
        out->slot_exists = 1;
        out->active = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
        out->active_pid = atoi(PQgetvalue(res, 0, 1));
        snprintf(out->database, sizeof(out->database), "%s", PQgetvalue(res, 0, 2));
        snprintf(out->plugin, sizeof(out->plugin), "%s", PQgetvalue(res, 0, 3));
        pgcdc_lsn_parse(PQgetvalue(res, 0, 4), &out->restart_lsn);
        pgcdc_lsn_parse(PQgetvalue(res, 0, 5), &out->confirmed_lsn);
        out->retained_wal = strtoull(PQgetvalue(res, 0, 6), NULL, 10);
        out->safe_wal_size = strtoll(PQgetvalue(res, 0, 7), NULL, 10);
        out->wal_status = (int32_t)wal_status(PQgetvalue(res, 0, 8));
    }
    PQclear(res);
    if (publication == NULL)
        return PGCDC_OK;
    params[0] = publication;
    res = pgcdc__query(ctx, conn, "read the publication",
                       "SELECT p.pubname IS NOT NULL, t.schemaname || '.' || t.tablename "
                       "FROM (SELECT $1::name AS name) n "
                       "LEFT JOIN pg_publication p ON p.pubname = n.name "
                       "LEFT JOIN pg_publication_tables t ON t.pubname = n.name "
                       "ORDER BY 2",
                       1, params, NULL);
    if (res == NULL)
        return PGCDC_ERR_SQL;
    for (int i = 0; i < PQntuples(res); i++) {
        size_t room = sizeof(out->tables) - used;
        int n;

        out->publication_exists = strcmp(PQgetvalue(res, i, 0), "t") == 0;
        if (PQgetisnull(res, i, 1))
            continue;
        out->ntables++;
        if (cut)
            continue;
        n = snprintf(out->tables + used, room, "%s%s", used > 0 ? ", " : "", PQgetvalue(res, i, 1));
        if (n < 0 || (size_t)n + 4 > room) {
            /* No room for this one and "...": cut the list where it was. */
            snprintf(out->tables + used, room, "%s", used > 0 ? ", ..." : "...");
            cut = 1;
        } else {
            used += (size_t)n;
        }
    }
    PQclear(res);
    return PGCDC_OK;
}

int pgcdc__slot_late_prepared(PGconn *conn, const char *slot)
{
    const char *params[1] = {slot};
    PGresult *res = pgcdc__query(NULL, conn, "count prepared transactions",
                                 "SELECT count(*) FROM pg_prepared_xacts p "
                                 "JOIN pg_replication_slots s ON s.database = p.database "
                                 "WHERE s.slot_name = $1 AND NOT s.two_phase",
                                 1, params, NULL);
    int n = 0;

    if (res != NULL && PQntuples(res) == 1)
        n = atoi(PQgetvalue(res, 0, 0));
    PQclear(res);
    return n;
}
