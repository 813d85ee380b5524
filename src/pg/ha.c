/*
 * A standby as pgcdc's server, and failover slots: the preflight's checks
 * (see ha.h).  A standby decodes (PostgreSQL 16) but writes nothing, so what
 * the start would create there must exist on the primary already.
 */
#include <stdio.h>

#include "pg/ha.h"
#include "pgcdc.h"

static int check_standby(pgcdc__ctx *ctx, const pgcdc__catalog_opts *o, const pgcdc__catalog *cat,
                         int pub_exists, int slot_exists, const pgcdc__slot_info *slot)
{
    if (cat->server_version < 160000)
        return pgcdc__fail(ctx, PGCDC_ERR_INVALID,
                           "the server is a standby (in recovery) and PostgreSQL %d.%d cannot "
                           "decode there (16 or later can): connect to the primary",
                           cat->server_version / 10000, cat->server_version % 10000);
    if (!pub_exists)
        return pgcdc__fail(ctx, PGCDC_ERR_PUBLICATION,
                           "publication \"%s\" does not exist, and the server is a standby (in "
                           "recovery) where nothing can be created: create it on the primary "
                           "(CREATE PUBLICATION %s FOR TABLE ...), it reaches the standby",
                           o->publication, o->publication);
    if (o->replica_identity_full)
        return pgcdc__fail(ctx, PGCDC_ERR_INVALID,
                           "the server is a standby (in recovery), where REPLICA IDENTITY FULL "
                           "cannot be set: set it on the primary (ALTER TABLE ... REPLICA "
                           "IDENTITY FULL) and start without replica_identity_full");
    if (o->writes != NULL)
        return pgcdc__fail(ctx, PGCDC_ERR_INVALID,
                           "the server is a standby (in recovery), where %s cannot be written: "
                           "stream from the primary, or start without them",
                           o->writes);
    if (slot_exists && slot->synced)
        return pgcdc__fail(ctx, PGCDC_ERR_INVALID,
                           "replication slot \"%s\" on this standby is kept in sync from the "
                           "primary's failover slot and serves only once the standby is promoted: "
                           "stream from the primary, or choose another slot name to decode on "
                           "the standby",
                           o->slot);
    if (o->failover == PGCDC_FAILOVER_ON)
        return pgcdc__fail(ctx, PGCDC_ERR_INVALID,
                           "the server is a standby (in recovery), whose slots cannot be failover "
                           "slots: connect to the primary, or set slot.failover to auto or off");
    return PGCDC_OK;
}

int pgcdc__ha_check(pgcdc__ctx *ctx, const pgcdc__catalog_opts *o, pgcdc__catalog *cat,
                    int pub_exists, int slot_exists, const pgcdc__slot_info *slot)
{
    int r;

    cat->create_failover = 0;
    if (cat->in_recovery) {
        r = check_standby(ctx, o, cat, pub_exists, slot_exists, slot);
        if (r == PGCDC_OK && cat->standby_feedback)
            pgcdc__log(ctx, PGCDC_LOG_INFO, "the server is a standby: decoding there");
        else if (r == PGCDC_OK)
            /* Only a warning: the slot works until the primary removes what it needs. */
            pgcdc__log(ctx, PGCDC_LOG_WARNING,
                       "the server is a standby with hot_standby_feedback off: the primary may "
                       "remove catalog rows the slot still needs, and the slot is then "
                       "invalidated (set hot_standby_feedback = on on the standby)");
        return r;
    }
    if (o->failover == PGCDC_FAILOVER_OFF)
        return PGCDC_OK;
    if (cat->server_version < 170000) {
        if (o->failover == PGCDC_FAILOVER_ON)
            return pgcdc__fail(ctx, PGCDC_ERR_INVALID,
                               "failover slots need PostgreSQL 17 or later; this server is %d.%d "
                               "(set slot.failover to auto or off)",
                               cat->server_version / 10000, cat->server_version % 10000);
        return PGCDC_OK;
    }
    if (!slot_exists) {
        cat->create_failover = 1;
        return PGCDC_OK;
    }
    if (slot->failover)
        return PGCDC_OK;
    if (o->failover == PGCDC_FAILOVER_AUTO) {
        pgcdc__log(ctx, PGCDC_LOG_INFO,
                   "replication slot \"%s\" is not a failover slot: standbys do not keep it "
                   "(slot.failover=on makes it one)",
                   o->slot);
        return PGCDC_OK;
    }
    if (slot->active_pid != 0)
        return pgcdc__fail(ctx, PGCDC_ERR_SLOT_BUSY,
                           "replication slot \"%s\" is not a failover slot and the server process "
                           "with PID %d streams from it: it can be made one only while free (stop "
                           "that consumer first, or set slot.failover to auto)",
                           o->slot, slot->active_pid);
    return pgcdc__slot_set_failover(ctx, o->conninfo, o->slot);
}
