/*
 * DDL capture: an event trigger in the database that writes each DDL
 * statement touching a table as a transactional logical message (prefix
 * PGCDC__DDL_PREFIX), which the stream attaches to the table's next schema
 * change.  Installed and removed here.
 */
#ifndef PGCDC_PG_DDL_H
#define PGCDC_PG_DDL_H

#include "base/log.h"

/*
 * Installs (on = 1) or removes (on = 0) the schema pgcdc's function
 * capture_ddl() and the event trigger pgcdc_capture_ddl, in one
 * transaction; running it twice changes nothing.  Refused, with a one-line
 * message, for a role that is no superuser (PGCDC_ERR_PRIVILEGE), a server
 * before PostgreSQL 14 and a standby (PGCDC_ERR_INVALID).
 */
int pgcdc__ddl_capture(pgcdc__ctx *ctx, const char *conninfo, int on);

#endif /* PGCDC_PG_DDL_H */
