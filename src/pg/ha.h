/*
 * High availability on the SQL side: what a standby (a server in recovery)
 * can and cannot do for pgcdc, and failover slots (PostgreSQL 17), checked
 * in the preflight before anything is created.
 */
#ifndef PGCDC_PG_HA_H
#define PGCDC_PG_HA_H

#include <libpq-fe.h>

#include "base/log.h"
#include "pg/catalog.h"
#include "pg/slot.h"

/*
 * The server's role and the failover setting against what the start needs:
 * a standby before 16, a publication or REPLICA IDENTITY FULL to make there,
 * a slot the standby only keeps in sync, a failover slot asked of a server
 * that cannot make one: a one-line error naming the fix.  Sets
 * cat->create_failover for a slot created next.  PGCDC_OK or an error.
 */
int pgcdc__ha_check(pgcdc__ctx *ctx, const pgcdc__catalog_opts *opts, pgcdc__catalog *cat,
                    int pub_exists, int slot_exists, const pgcdc__slot_info *slot);

#endif /* PGCDC_PG_HA_H */
