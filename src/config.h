/*
 * The worker's configuration: what the setters and pgcdc_config_set() fill,
 * and the one property table behind both.
 */
#ifndef PGCDC_CONFIG_H
#define PGCDC_CONFIG_H

#include <stdint.h>

#include "base/log.h"
#include "core/tables.h"
#include "pgcdc.h"
#include "plugin.h"
#include "sink/sink.h"

/* A table a sink is routed (pgcdc_config_route_sink()). */
typedef struct pgcdc__route {
    char *schema; /* NULL: any schema */
    char *name;   /* NULL: every table of the schema */
} pgcdc__route;

typedef struct pgcdc__sink_spec {
    const pgcdc_sink_ops *ops;
    char *uri;
    void *opaque;
    pgcdc__route *routes; /* none: every table */
    int nroutes;
} pgcdc__sink_spec;

struct pgcdc_config {
    char *conninfo;
    pgcdc__table_name *tables;
    int ntables;
    pgcdc__table_name *excludes; /* exclude_table */
    int nexcludes;
    int filter_ops;             /* filter.ops: PGCDC__FOP_* bits */
    int filter_push_down;       /* filter.push_down */
    int via_root;               /* publish_via_partition_root */
    char *mask_salt;            /* mask.salt */
    pgcdc__prop_value *filters; /* filter.columns/exclude_columns/where.<table>, mask.<t>.<c> */
    int nfilters;
    char *slot;
    char *publication;
    char *spool_dir;
    int create_slot;
    int create_publication;
    int replica_identity_full;
    int binary;
    int status_interval_ms;
    uint64_t endpos;
    int proto_version;
    int two_phase;      /* decode prepared transactions (protocol 3 at least) */
    int schema_changes; /* hand out PGCDC_OP_SCHEMA changes */
    int handler_retries;
    int handler_delay_ms;
    int error_policy;
    char *dead_letter_path;
    char *lua_path; /* --lua FILE (src/script.c); NULL: none */
    int reconnect_max_ms;
    int reconnect_attempts;
    int64_t reconnect_max_elapsed_ms; /* 0: no limit */
    int link_timeout_ms;
    int standby;
    int failover;                 /* pgcdc_failover */
    int snapshot_mode;            /* pgcdc_snapshot_mode */
    int snapshot_parallel;        /* readers of an initial snapshot */
    long snapshot_chunk_rows;     /* rows of a chunk at most */
    int64_t snapshot_chunk_bytes; /* an incremental chunk's memory, about */
    char *snapshot_state;         /* the state file; NULL: pgcdc-<slot>.snapshot */
    int heartbeat_ms;             /* a logical message this often while streaming; 0: off */
    int64_t max_retained_wal;     /* the slot's WAL budget in bytes; 0: none */
    int max_retained_wal_exit;    /* over the budget: stop with PGCDC_ERR_WAL_BUDGET */
    pgcdc_format format;
    pgcdc__sink_spec *sinks;
    int nsinks;
    pgcdc__prop_value *props; /* sink properties, by full name, in the order set */
    int nprops;
    pgcdc__sink_kind_reg *kinds; /* sink kinds registered (by plugins), in the order registered */
    int nkinds;
    pgcdc__plugin **plugins; /* loaded into this config: a reference each, dropped when cleared */
    int nplugins;
    pgcdc_change_cb change_cb;
    void *change_opaque;
    pgcdc_begin_cb begin_cb;
    void *begin_opaque;
    pgcdc_commit_cb commit_cb;
    void *commit_opaque;
    pgcdc_idle_cb idle_cb;
    void *idle_opaque;
    void (*close_cb)(pgcdc_worker *w, void *opaque);
    void *close_opaque;
    pgcdc_log_cb log_cb;
    void *log_opaque;
    pgcdc_log_level log_level;
    char errmsg[PGCDC__MSG_SIZE];
};

int pgcdc__config_copy(pgcdc_config *dst, const pgcdc_config *src);
void pgcdc__config_clear(pgcdc_config *cfg);
int pgcdc__valid_slot_name(const char *name);
/*
 * "table", "schema.table" (a part quoted as in SQL) and, with wildcard,
 * "schema.*" (*table NULL) into malloc'd parts (*schema NULL when not
 * given).  0, or -1 with *why the reason (NULL: out of memory).
 */
int pgcdc__config_parse_table(const char *name, int wildcard, char **schema, char **table,
                              const char **why);
/* As pgcdc__config_parse_table, and *glob: 1 the schema, 2 the name is a pattern (may be NULL). */
int pgcdc__config_parse_glob(const char *name, char **schema, char **table, int *glob,
                             const char **why);
/* Appends name (as table takes it, patterns allowed) to a list; PGCDC_OK or an error. */
int pgcdc__config_add_name(pgcdc_config *cfg, pgcdc__table_name **list, int *n, const char *name);

/* Filters (src/filter_config.c). */
struct pgcdc__filterset;
/*
 * The name in the property table of a dynamic key's template
 * ("filter.where.<table>"), and the length of its prefix; NULL for another key.
 */
const char *pgcdc__filter_template(const char *norm, size_t *prefix_len);
/*
 * Checks and keeps a filter.*.<table> or mask.<table>.<column> setting (its
 * prefix as the template spells it); PGCDC_OK or an error.
 */
int pgcdc__config_add_filter(pgcdc_config *cfg, const char *key, const char *value);
/* Sets filter.ops from its text; PGCDC_OK or PGCDC_ERR_INVALID. */
int pgcdc__config_set_ops(pgcdc_config *cfg, const char *text);
/* The worker's filters from its configuration: PGCDC_OK, or PGCDC_ERR_NOMEM. */
int pgcdc__filters_build(const pgcdc_config *cfg, struct pgcdc__filterset *fs);

/* Routes (src/route.c): a sink's own copy, freed; 0 or -1 when out of memory. */
int pgcdc__routes_copy(pgcdc__sink_spec *dst, const pgcdc__sink_spec *src);
void pgcdc__routes_free(pgcdc__sink_spec *s);
/* 1 when the sink takes the changes of schema.name (every sink without routes does). */
int pgcdc__route_match(const pgcdc__sink_spec *s, const char *schema, const char *name);
/*
 * Every route names a table of the configuration's list (when it has one):
 * PGCDC_OK, or PGCDC_ERR_INVALID with the message in msg.
 */
int pgcdc__routes_check(const pgcdc_config *cfg, char *msg, size_t size);

/* Sets the message of a failed setter; returns err. */
int pgcdc__config_fail(pgcdc_config *cfg, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Keeps a sink property's value (the key already checked); PGCDC_OK or PGCDC_ERR_NOMEM. */
int pgcdc__config_set_snapshot_state(pgcdc_config *cfg, const char *path);
int pgcdc__config_keep_prop(pgcdc_config *cfg, const char *key, const char *value);

#endif /* PGCDC_CONFIG_H */
