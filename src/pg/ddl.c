/*
 * DDL capture (see ddl.h).  The event trigger runs at ddl_command_end,
 * which covers ALTER TABLE with its RENAME forms; the function keeps to the
 * tables and partitioned tables among the command's objects (an index or a
 * sequence has no shape of its own in the stream; a temporary or unlogged
 * table is never replicated), and writes nothing when wal_level is not
 * logical, so that DDL never fails because of it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/txn.h"
#include "pg/conn.h"
#include "pg/ddl.h"
#include "pgcdc.h"

/* Who runs it, where: superuser, version, standby, the database's name. */
#define WHO_SQL                                                                                    \
    "SELECT current_setting('server_version_num')::int, "                                          \
    "coalesce((SELECT rolsuper FROM pg_roles WHERE rolname = current_user), false), "              \
    "pg_is_in_recovery(), current_database(), current_user"

/* One query, so one transaction: all of it or nothing. */
#define INSTALL_SQL                                                                                \
    "SET client_min_messages = warning; "                                                          \
    "CREATE SCHEMA IF NOT EXISTS pgcdc; "                                                          \
    "CREATE OR REPLACE FUNCTION pgcdc.capture_ddl() RETURNS event_trigger "                        \
    "LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog AS $pgcdc$\n"                  \
    "DECLARE\n"                                                                                    \
    "    relids text;\n"                                                                           \
    "BEGIN\n"                                                                                      \
    "    IF current_setting('wal_level') <> 'logical' THEN\n"                                      \
    "        RETURN;\n"                                                                            \
    "    END IF;\n"                                                                                \
    "    SELECT string_agg(DISTINCT d.objid::text, ' ') INTO relids\n"                             \
    "      FROM pg_event_trigger_ddl_commands() d\n"                                               \
    "      JOIN pg_class c ON c.oid = d.objid\n"                                                   \
    "     WHERE d.classid = 'pg_class'::regclass AND c.relkind IN ('r', 'p')\n"                    \
    "       AND c.relpersistence = 'p';\n"                                                         \
    "    IF relids IS NOT NULL THEN\n"                                                             \
    "        PERFORM pg_logical_emit_message(true, '" PGCDC__DDL_PREFIX "', "                      \
    "relids || E'\\n' || current_query());\n"                                                      \
    "    END IF;\n"                                                                                \
    "END\n"                                                                                        \
    "$pgcdc$; "                                                                                    \
    "COMMENT ON FUNCTION pgcdc.capture_ddl() IS 'pgcdc DDL capture: each DDL statement "           \
    "touching a table as a logical message (pgcdc --remove-ddl-capture drops it)'; "               \
    "DROP EVENT TRIGGER IF EXISTS pgcdc_capture_ddl; "                                             \
    "CREATE EVENT TRIGGER pgcdc_capture_ddl ON ddl_command_end "                                   \
    "EXECUTE FUNCTION pgcdc.capture_ddl()"

/* The schema goes too when nothing else is left in it. */
#define REMOVE_SQL                                                                                 \
    "SET client_min_messages = warning; "                                                          \
    "DROP EVENT TRIGGER IF EXISTS pgcdc_capture_ddl; "                                             \
    "DROP FUNCTION IF EXISTS pgcdc.capture_ddl(); "                                                \
    "DO $pgcdc$ BEGIN\n"                                                                           \
    "    IF EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = 'pgcdc') AND NOT EXISTS (\n"        \
    "        SELECT 1 FROM pg_depend WHERE refclassid = 'pg_namespace'::regclass\n"                \
    "        AND refobjid = (SELECT oid FROM pg_namespace WHERE nspname = 'pgcdc')) THEN\n"        \
    "        DROP SCHEMA pgcdc;\n"                                                                 \
    "    END IF;\n"                                                                                \
    "END $pgcdc$"

/* Refuses what cannot work, each with its cause and its way out. */
static int check_who(pgcdc__ctx *ctx, PGconn *conn, int on, char *db, size_t dbsize)
{
    const char *verb = on ? "install" : "remove";
    PGresult *res = pgcdc__query(ctx, conn, "read server settings", WHO_SQL, 0, NULL, NULL);
    int version;
    int r = PGCDC_OK;

    if (res == NULL)
        return PGCDC_ERR_SQL;
    version = atoi(PQgetvalue(res, 0, 0));
    snprintf(db, dbsize, "%s", PQgetvalue(res, 0, 3));
    if (on && version < 140000)
        r = pgcdc__fail(ctx, PGCDC_ERR_INVALID,
                        "DDL capture needs PostgreSQL 14 or later (pgoutput sends logical "
                        "messages from PostgreSQL 14); this server is %d.%d: upgrade it, or "
                        "stream without DDL capture",
                        version / 10000, version % 10000);
    else if (strcmp(PQgetvalue(res, 0, 2), "t") == 0)
        r = pgcdc__fail(ctx, PGCDC_ERR_INVALID,
                        "the server is a standby (in recovery), where DDL capture cannot be "
                        "%s: %s it on the primary (the standby follows)",
                        on ? "installed" : "removed", verb);
    else if (strcmp(PQgetvalue(res, 0, 1), "t") != 0)
        r = pgcdc__fail(ctx, PGCDC_ERR_PRIVILEGE,
                        "DDL capture needs a superuser (event triggers) and role \"%s\" is not "
                        "one: run --%s-ddl-capture as one",
                        PQgetvalue(res, 0, 4), verb);
    PQclear(res);
    return r;
}

int pgcdc__ddl_capture(pgcdc__ctx *ctx, const char *conninfo, int on)
{
    char db[256];
    PGconn *conn;
    int r = PGCDC_OK;

    conn = pgcdc__connect(ctx, conninfo, 0, NULL, &r);
    if (conn == NULL)
        return r;
    r = check_who(ctx, conn, on, db, sizeof(db));
    if (r == PGCDC_OK)
        r = pgcdc__exec(ctx, conn, on ? "install DDL capture" : "remove DDL capture",
                        on ? INSTALL_SQL : REMOVE_SQL, NULL);
    if (r == PGCDC_OK)
        pgcdc__log(ctx, PGCDC_LOG_INFO, "DDL capture %s database \"%s\"",
                   on ? "installed in" : "removed from", db);
    PQfinish(conn);
    return r;
}
