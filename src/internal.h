/*
 * Internal types shared by the worker layers: configuration, relation cache,
 * change and row views, the LSN ledger.  Not installed.
 */
#ifndef PGCDC_INTERNAL_H
#define PGCDC_INTERNAL_H

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>

#include "pgcdc.h"
#include "decoder.h"

#define PGCDC__ERRMSG_SIZE 1024

/* ---- configuration ---- */

typedef struct pgcdc__table_name {
    char *schema; /* NULL: resolve through search_path */
    char *name;
} pgcdc__table_name;

struct pgcdc_config {
    char *conninfo;
    pgcdc__table_name *tables;
    int ntables;
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
    int handler_retries;
    int error_policy;
    char *dead_letter_path;
    int handler_delay_ms;
    int reconnect_max_ms;
    int reconnect_attempts;
    pgcdc_change_cb change_cb;
    void *change_opaque;
    pgcdc_begin_cb begin_cb;
    void *begin_opaque;
    pgcdc_commit_cb commit_cb;
    void *commit_opaque;
    pgcdc_idle_cb idle_cb;
    void *idle_opaque;
    pgcdc_log_cb log_cb;
    void *log_opaque;
    pgcdc_log_level log_level;
    char errmsg[PGCDC__ERRMSG_SIZE];
};

int pgcdc__config_copy(pgcdc_config *dst, const pgcdc_config *src);
void pgcdc__config_clear(pgcdc_config *cfg);
int pgcdc__valid_slot_name(const char *name);

/* ---- relation cache ---- */

typedef struct pgcdc__relcol_info {
    char *name;
    char *type_name; /* format_type() from the catalog, NULL if unknown */
    uint32_t type_oid;
    int32_t typmod;
    int is_key;   /* primary key (or, without one, replica identity key) column */
    int is_ident; /* part of the replica identity: present in an old key tuple */
    /* How a binary value of the type is read: set with the type (pgcdc__relcol_set_type). */
    uint8_t bin_fixed; /* its fixed size, read as it is (pgcdc__binary_fixed_size), or 0 */
    uint8_t bin_class; /* PGCDC__BIN_* */
} pgcdc__relcol_info;

enum {
    PGCDC__BIN_CONVERT = 0, /* printed as text when the change arrives */
    PGCDC__BIN_FIXED,       /* fixed size: read as it is, printed on first use */
    PGCDC__BIN_TEXT,        /* the bytes are the text (text, varchar, bpchar, name, json) */
    PGCDC__BIN_JSONB        /* a version byte (1), then the text */
};

void pgcdc__relcol_set_type(pgcdc__relcol_info *col, uint32_t type_oid);

typedef struct pgcdc__relation {
    uint32_t relid;
    char *schema;
    char *name;
    char replident;
    int ncols;
    pgcdc__relcol_info *cols;
    int nkeys;
    int *keys;  /* column indexes of the key */
    int wanted; /* one of the configured tables */
    /* JSON fragments built once per Relation message, for the formatters (NULL if not built). */
    char **json_keys; /* "name": for each column */
    uint32_t *json_key_lens;
    char *json_head; /* "schema":"...","table":"..." */
    char *json_pk;   /* ["id",...] */
} pgcdc__relation;

typedef struct pgcdc__relcache pgcdc__relcache;

pgcdc__relcache *pgcdc__relcache_new(void);
void pgcdc__relcache_free(pgcdc__relcache *rc);
void pgcdc__relcache_clear(pgcdc__relcache *rc);
/* Replaces the entry for msg's relid; returns it, or NULL on out of memory. */
pgcdc__relation *pgcdc__relcache_update(pgcdc__relcache *rc, const pgcdc__msg *msg);
pgcdc__relation *pgcdc__relcache_get(pgcdc__relcache *rc, uint32_t relid);
/* Sets the key columns by name (the primary key found at preflight); unknown names are skipped. */
int pgcdc__relation_set_keys(pgcdc__relation *rel, char *const *names, int n);
/*
 * Sets column type names by column name, and reads a domain column as its
 * base type (oids -> base_oids); returns PGCDC_ERR_NOMEM on failure.
 */
int pgcdc__relation_set_types(pgcdc__relation *rel, char *const *names, char *const *types,
                              const uint32_t *oids, const uint32_t *base_oids, int n);

/* ---- rows, changes, transactions ---- */

struct pgcdc_row {
    const pgcdc__relation *rel;
    pgcdc__col *cols;  /* rel->ncols entries, in the worker's decoder */
    int key_only;      /* old key tuple: non-key columns are absent */
    pgcdc__buf *texts; /* binary mode: where fixed-size values get their text */
};

/*
 * The column as text, for an index known to be in range with a value
 * present: a fixed-size binary value is printed on first use.
 */
const pgcdc__col *pgcdc__row_text_col(const pgcdc_row *row, int col);

struct pgcdc_txn {
    uint32_t xid;
    uint64_t commit_lsn;
    uint64_t end_lsn;    /* 0 until the commit arrives */
    int64_t commit_time; /* Unix microseconds */
    uint32_t nchanges;
    uint64_t token;
    const char *origin;
};

struct pgcdc_change {
    pgcdc_op op;
    const pgcdc__relation *rel;
    const pgcdc_txn *txn;
    uint32_t seq;
    int truncate_flags;
    int has_old;
    int has_new;
    pgcdc_row old_row;
    pgcdc_row new_row;
};

/* pgcdc_row_state() for an index known to be in range, inline for the formatters. */
static inline pgcdc_value_state pgcdc__row_state(const pgcdc_row *row, int col)
{
    if (row->key_only && !row->rel->cols[col].is_ident)
        return PGCDC_VALUE_ABSENT;
    switch (row->cols[col].kind) {
    case PGCDC_COL_NULL:
        return PGCDC_VALUE_NULL;
    case PGCDC_COL_UNCHANGED:
        return PGCDC_VALUE_UNCHANGED;
    default:
        return PGCDC_VALUE_PRESENT;
    }
}

/* Microseconds between 1970-01-01 and 2000-01-01 (the PostgreSQL epoch). */
#define PGCDC__EPOCH_DIFF_US INT64_C(946684800000000)

/* ---- the LSN ledger ---- */

/*
 * Transactions in commit order with the count of changes not yet
 * acknowledged; confirms the end LSN of the longest fully acknowledged,
 * committed prefix.  All functions lock; acks may come from any thread.
 */
typedef struct pgcdc__ledger_entry {
    uint64_t token;
    uint64_t end_lsn; /* 0 while the transaction is open */
    uint32_t pending;
} pgcdc__ledger_entry;

typedef struct pgcdc__ledger {
    pthread_mutex_t mu;
    pgcdc__ledger_entry *ring;
    size_t cap;  /* power of two */
    size_t head; /* index of the oldest entry */
    size_t count;
    uint64_t next_token;
    uint64_t confirmed; /* highest end LSN fully acknowledged */
} pgcdc__ledger;

int pgcdc__ledger_init(pgcdc__ledger *l);
void pgcdc__ledger_destroy(pgcdc__ledger *l);
/* Opens a transaction; returns its token, 0 on out of memory. */
uint64_t pgcdc__ledger_begin(pgcdc__ledger *l);
/* One more unacknowledged item (change or commit) in the transaction. */
void pgcdc__ledger_hold(pgcdc__ledger *l, uint64_t token);
/* Acknowledges one item; returns PGCDC_ERR_INVALID for an unknown token. */
int pgcdc__ledger_ack(pgcdc__ledger *l, uint64_t token);
/* Marks the transaction committed at end_lsn. */
void pgcdc__ledger_commit(pgcdc__ledger *l, uint64_t token, uint64_t end_lsn);
/* Drops the open (uncommitted) transaction at the tail, if any (connection lost). */
void pgcdc__ledger_abort_open(pgcdc__ledger *l);
/* Number of transactions not yet confirmed (open or waiting for acks). */
size_t pgcdc__ledger_count(pgcdc__ledger *l);
uint64_t pgcdc__ledger_confirmed(pgcdc__ledger *l);
/* Raises the confirmed LSN to lsn when nothing is outstanding (idle keepalive). */
void pgcdc__ledger_idle_advance(pgcdc__ledger *l, uint64_t lsn);

/* ---- connections and the SQL side (conn.c, catalog.c) ---- */

typedef struct pg_conn PGconn;

/*
 * Connects with the configured conninfo; replication=1 opens a logical
 * replication connection with the session settings the decoder relies on.
 * client_encoding: "UTF8" (the server converts), or "SQL_ASCII" for a
 * SQL_ASCII database, whose bytes cannot be converted (NULL means UTF8).
 * On failure returns NULL with the worker's error set (password-free).
 */
PGconn *pgcdc__connect(pgcdc_worker *w, const char *conninfo, int replication,
                       const char *client_encoding, int *err);
/* One line from a libpq message: newlines and tabs folded, trailing space cut. */
void pgcdc__one_line(char *dst, size_t size, const char *msg);

typedef struct pgcdc__table_info {
    uint32_t oid;
    char *schema;
    char *name;
    char replident;
    int npk;
    char **pk; /* primary-key column names, in key order */
    int ncols;
    char **col_names; /* ncols column names, their format_type() and type OIDs */
    char **col_types;
    uint32_t *col_oids;
    uint32_t *col_base_oids; /* the base type of a domain, else the type */
} pgcdc__table_info;

typedef struct pgcdc__catalog {
    pgcdc__table_info *tables;
    int ntables;
    int server_version;
    char *database;
    char *encoding;
    uint64_t slot_lsn;         /* confirmed_flush_lsn (or creation LSN) at start */
    int slot_created;          /* this start created the slot */
    int wal_sender_timeout_ms; /* the server's; 0 when disabled */
} pgcdc__catalog;

/* Preflight checks, then creates what is missing (publication, slot), all or nothing. */
int pgcdc__catalog_prepare(pgcdc_worker *w, const pgcdc_config *cfg, pgcdc__catalog *cat);
/* Checks that the slot still exists and is usable, on any connection (replication too). */
int pgcdc__catalog_check_slot(pgcdc_worker *w, PGconn *conn, const char *slot);
void pgcdc__catalog_clear(pgcdc__catalog *cat);
int pgcdc__catalog_drop_slot(pgcdc_worker *w, const pgcdc_config *cfg);
const pgcdc__table_info *pgcdc__catalog_table(const pgcdc__catalog *cat, uint32_t oid);
/* 1 if every column of every listed table can be read in binary. */
int pgcdc__catalog_binary_ok(const pgcdc__catalog *cat);

/* ---- logging and errors ---- */

void pgcdc__log(pgcdc_worker *w, pgcdc_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Sets the worker's error message; returns err. */
int pgcdc__fail(pgcdc_worker *w, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif /* PGCDC_INTERNAL_H */
