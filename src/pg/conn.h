/*
 * Connections and SQL: the user's conninfo plus the settings pgcdc needs,
 * failures classified by the server's SQLSTATE (never by its wording, which
 * lc_messages translates) into one-line, password-free messages.
 */
#ifndef PGCDC_PG_CONN_H
#define PGCDC_PG_CONN_H

#include <libpq-fe.h>

#include "base/log.h"

/* SQLSTATEs pgcdc acts on. */
#define PGCDC__SQLSTATE_UNDEFINED_OBJECT "42704"
#define PGCDC__SQLSTATE_INSUFFICIENT_PRIVILEGE "42501"
#define PGCDC__SQLSTATE_OBJECT_IN_USE "55006"
#define PGCDC__SQLSTATE_NOT_IN_PREREQUISITE_STATE "55000"

/*
 * Connects with the conninfo; replication=1 opens a logical replication
 * connection with the session settings the decoder relies on.
 * client_encoding: "UTF8" (the server converts), or "SQL_ASCII" for a
 * SQL_ASCII database, whose bytes cannot be converted (NULL means UTF8).
 * On failure returns NULL and sets *err (AUTH, PRIVILEGE, CONNECT, INVALID
 * or NOMEM) with the context's message.
 */
PGconn *pgcdc__connect(pgcdc__ctx *ctx, const char *conninfo, int replication,
                       const char *client_encoding, int *err);

/* The SQLSTATE of a result, "" when it has none. */
const char *pgcdc__sqlstate(const PGresult *res);
/* 1 if the result's SQLSTATE is state. */
int pgcdc__sqlstate_is(const PGresult *res, const char *state);
/* The server's message of a failed result (or the connection's), as one line. */
void pgcdc__result_line(char *dst, size_t size, PGconn *conn, const PGresult *res);

/*
 * Runs a query (the simple protocol without parameters: replication
 * connections take only that).  Returns the result, or NULL with the
 * context's message "could not <what>: <server message>" (PGCDC_ERR_SQL) and,
 * when sqlstate is given, the server's SQLSTATE copied there.
 */
PGresult *pgcdc__query(pgcdc__ctx *ctx, PGconn *conn, const char *what, const char *sql,
                       int nparams, const char *const *params, char sqlstate[6]);
/* pgcdc__query for a statement without rows: PGCDC_OK or PGCDC_ERR_SQL. */
int pgcdc__exec(pgcdc__ctx *ctx, PGconn *conn, const char *what, const char *sql, char sqlstate[6]);

#endif /* PGCDC_PG_CONN_H */
