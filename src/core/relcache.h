/*
 * Relation cache: what the server told us about each relation (Relation
 * messages), by OID, completed with the catalog's key and type names.  A
 * new stream sends every relation again: a reconnect marks the entries
 * stale (not found), and what the server sends then replaces them, compared
 * with them to tell a change of shape.
 */
#ifndef PGCDC_CORE_RELCACHE_H
#define PGCDC_CORE_RELCACHE_H

#include <stdint.h>

#include "core/tables.h"
#include "wire/decoder.h"

/* Catalog facts a format may need beyond the Relation message (pgcdc__describe reads them). */
#define PGCDC__REL_NOT_NULL 1
#define PGCDC__REL_PK 2

typedef struct pgcdc__relcol_info {
    char *name;
    char *type_name;   /* as format_type(sent_oid, typmod) prints it; NULL until known */
    uint32_t type_oid; /* the type the value is read as: a domain's base type */
    uint32_t sent_oid; /* the type the server named (the domain itself) */
    int32_t typmod;
    signed char not_null; /* from the catalog: 1, 0, or -1 when not asked */
    int is_key;           /* primary key (or, without one, replica identity key) column */
    int is_ident;         /* part of the replica identity: present in an old key tuple */
    /* From the type table, set with the type (pgcdc__relcol_set_type). */
    uint8_t bin_fixed; /* size of a fixed-size binary value, or 0 */
    uint8_t bin_class; /* PGCDC__BIN_* */
    uint8_t json;      /* PGCDC__JSON_* */
} pgcdc__relcol_info;

/* Reads a column of the type type_oid (a domain is read as its base type). */
void pgcdc__relcol_set_type(pgcdc__relcol_info *col, uint32_t type_oid);

typedef struct pgcdc__relation {
    uint32_t relid;
    char *schema;
    char *name;
    char replident;
    int ncols;
    pgcdc__relcol_info *cols;
    int nkeys;
    int *keys; /* column indexes of the key */
    int npk;   /* the catalog's primary key, by column index; npk is -1 until asked */
    int *pk;
    int wanted;  /* one of the listed tables (all, when none are listed) */
    char *route; /* "schema.table": the name events are routed by */
    /*
     * Text the formatters build once per relation, in one malloc'd block
     * (NULL until first used), freed with the relation.
     */
    void *fmt_cache;
    void *fmt_extra; /* a format's own block the same way (format/debezium.c) */
    /* The worker's counters of its events (core/tabstats.h); NULL until its first change. */
    struct pgcdc__tabstat *stats;
    /* What the filters (core/filter.h) keep for it, made at its first change; NULL until then. */
    struct pgcdc__relview *view;
    /*
     * The shape this one replaced, when they differ (or a DDL statement
     * names the table): a schema change not yet handed out (core/txn.c),
     * owned by this relation.  NULL otherwise; a relation with no columns
     * when the table was new to the cache.
     */
    struct pgcdc__relation *before;
    int stale; /* sent on an earlier connection: kept to compare, not found */
} pgcdc__relation;

typedef struct pgcdc__relcache pgcdc__relcache;

pgcdc__relcache *pgcdc__relcache_new(void);
void pgcdc__relcache_free(pgcdc__relcache *rc);
/* A new connection: every entry is stale (not found) until the server sends it again. */
void pgcdc__relcache_cut(pgcdc__relcache *rc);

/* What pgcdc__relcache_update keeps of the entry it replaces, as the new one's before. */
#define PGCDC__KEEP_NONE 0    /* nothing */
#define PGCDC__KEEP_CHANGED 1 /* the old shape when the shapes differ (pgcdc__relation_same) */
#define PGCDC__KEEP_ALWAYS 2  /* the old shape, or an empty one when there was none */
/*
 * Replaces the entry for msg's relid; returns it, or NULL on out of memory.
 * A before not yet handed out carries over: what is compared is the shape
 * the consumer saw last.
 */
pgcdc__relation *pgcdc__relcache_update(pgcdc__relcache *rc, const pgcdc__msg *msg, int keep);
pgcdc__relation *pgcdc__relcache_get(pgcdc__relcache *rc, uint32_t relid);
/*
 * Whether two shapes read the same: names, columns (name, type as sent,
 * typmod, part of the replica identity) and replica identity.
 */
int pgcdc__relation_same(const pgcdc__relation *a, const pgcdc__relation *b);
/*
 * A relation of src's identity (relid, names, route, replica identity,
 * wanted) with room for ncols columns, nkeys keys and npk primary key
 * columns, none set yet (the filters' and the scripts' views of it); NULL
 * on out of memory.
 */
pgcdc__relation *pgcdc__relation_derive(const pgcdc__relation *src, size_t ncols, size_t nkeys,
                                        size_t npk);
/* Frees a relation the cache does not hold (NULL is a no-op). */
void pgcdc__relation_free(pgcdc__relation *rel);
/* Sets the key columns by name (the primary key found at preflight); unknown names are skipped. */
int pgcdc__relation_set_keys(pgcdc__relation *rel, char *const *names, int n);
/*
 * Sets column type names by column name, and reads a domain column as its
 * base type (oids -> base_oids); returns PGCDC_ERR_NOMEM on failure.
 */
int pgcdc__relation_set_types(pgcdc__relation *rel, char *const *names, char *const *types,
                              const uint32_t *oids, const uint32_t *base_oids, int n);
/*
 * Names the types the type table knows from the Relation message itself
 * (pgcdc__type_name), over any name from the catalog.  Returns how many
 * columns are left without a name (the catalog's to give), or
 * PGCDC_ERR_NOMEM.
 */
int pgcdc__relation_name_types(pgcdc__relation *rel);

/*
 * Completes a relation just cached from what the catalog found at preflight
 * (ts): whether it is wanted, its primary key, its type names.  PGCDC_OK or
 * PGCDC_ERR_NOMEM.
 */
int pgcdc__relation_complete(pgcdc__relation *rel, const pgcdc__tableset *ts);

#endif /* PGCDC_CORE_RELCACHE_H */
