/*
 * pgcdc: PostgreSQL change data capture over logical replication (pgoutput).
 *
 * The one public header.  A worker streams committed row changes from a
 * replication slot into callbacks (or a pull-style loop) and confirms to the
 * server only what every handler has acknowledged.
 *
 * Borrowing rule: every pointer handed to a callback, or returned by an
 * accessor on a change or row, is borrowed and valid only until the callback
 * returns (or, in pull mode, until the next call to pgcdc_worker_next()).
 * Copy what you need to keep.
 */
#ifndef PGCDC_H
#define PGCDC_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define PGCDC_VERSION_MAJOR 0
#define PGCDC_VERSION_MINOR 1
#define PGCDC_VERSION_PATCH 0
#define PGCDC_VERSION_STRING "0.1.0"

/* Returns the library's version string, e.g. "0.1.0". */
const char *pgcdc_version(void);

/*
 * Error codes.  Every function that can fail returns one of these (0 is
 * success, failures are negative).  The handle keeps a detailed message,
 * read with pgcdc_worker_errmsg().
 */
#define PGCDC_ERRNO_MAP(X)                                                                         \
    X(OK, 0, "success")                                                                            \
    X(NOMEM, -1, "out of memory")                                                                  \
    X(INVALID, -2, "invalid argument or configuration")                                            \
    X(CONNECT, -3, "could not connect to the server")                                              \
    X(AUTH, -4, "authentication failed")                                                           \
    X(PRIVILEGE, -5, "insufficient privilege")                                                     \
    X(WAL_LEVEL, -6, "wal_level is not logical")                                                   \
    X(TABLE, -7, "table missing or unusable")                                                      \
    X(PUBLICATION, -8, "publication missing or does not match")                                    \
    X(SLOT_MISSING, -9, "replication slot does not exist")                                         \
    X(SLOT_INVALID, -10, "replication slot is invalidated or unusable")                            \
    X(PROTOCOL, -11, "replication protocol error")                                                 \
    X(SQL, -12, "SQL command failed")                                                              \
    X(HANDLER, -13, "handler failed")                                                              \
    X(IO, -14, "input/output error")                                                               \
    X(NULL_VALUE, -15, "value is NULL")                                                            \
    X(UNCHANGED, -16, "value is an unchanged TOASTed value")                                       \
    X(ABSENT, -17, "column is not present in this row")                                            \
    X(TYPE, -18, "value cannot be converted to the requested type")                                \
    X(RANGE, -19, "value out of range")                                                            \
    X(NOT_FOUND, -20, "no such column")                                                            \
    X(STATE, -21, "call not valid in the worker's current state")                                  \
    X(STOPPED, -22, "worker stopped")

typedef enum pgcdc_err {
#define PGCDC__ERR_ENUM(name, code, text) PGCDC_ERR_##name = code,
    PGCDC_ERRNO_MAP(PGCDC__ERR_ENUM)
#undef PGCDC__ERR_ENUM
} pgcdc_err;

#define PGCDC_OK PGCDC_ERR_OK

/* Returns a static description of an error code; never NULL. */
const char *pgcdc_strerror(int err);

/* Returns the code's name without prefix ("SLOT_MISSING"); never NULL. */
const char *pgcdc_err_name(int err);

typedef struct pgcdc_config pgcdc_config;
typedef struct pgcdc_worker pgcdc_worker;
typedef struct pgcdc_change pgcdc_change;
typedef struct pgcdc_row pgcdc_row;
typedef struct pgcdc_txn pgcdc_txn;

/* Operations.  The values are the pgoutput wire bytes. */
typedef enum pgcdc_op {
    PGCDC_OP_INSERT = 'I',
    PGCDC_OP_UPDATE = 'U',
    PGCDC_OP_DELETE = 'D',
    PGCDC_OP_TRUNCATE = 'T'
} pgcdc_op;

/* Returns "INSERT", "UPDATE", "DELETE" or "TRUNCATE" ("UNKNOWN" otherwise). */
const char *pgcdc_op_name(pgcdc_op op);

/* The state of one column in one row. */
typedef enum pgcdc_value_state {
    PGCDC_VALUE_PRESENT = 0,   /* a value is there */
    PGCDC_VALUE_NULL = 1,      /* SQL NULL */
    PGCDC_VALUE_UNCHANGED = 2, /* unchanged TOASTed value the server did not send */
    PGCDC_VALUE_ABSENT = 3     /* not part of this row (e.g. non-key column of an old key) */
} pgcdc_value_state;

typedef enum pgcdc_log_level {
    PGCDC_LOG_ERROR = 0,
    PGCDC_LOG_WARNING = 1,
    PGCDC_LOG_INFO = 2,
    PGCDC_LOG_DEBUG = 3
} pgcdc_log_level;

/*
 * Return values of the change and commit callbacks.  Any negative value is a
 * failure (a pgcdc_err or your own negative code): the change is retried with
 * backoff, then the worker halts without confirming past it.
 */
#define PGCDC_HANDLED 0 /* done: acknowledged now */
#define PGCDC_DEFER 1   /* accepted: pgcdc_worker_ack() with the change's token later */

/* Called once per change, in commit order, as the changes arrive. */
typedef int (*pgcdc_change_cb)(pgcdc_worker *w, const pgcdc_change *change, void *opaque);
/* Called at the start and end of each transaction; begin cannot defer. */
typedef int (*pgcdc_begin_cb)(pgcdc_worker *w, const pgcdc_txn *txn, void *opaque);
typedef int (*pgcdc_commit_cb)(pgcdc_worker *w, const pgcdc_txn *txn, void *opaque);
/*
 * Called when everything received so far has been handed to the callbacks
 * and the worker is about to wait for more (and while a stop waits for
 * outstanding acknowledgements): the moment to flush batched output and
 * acknowledge it.
 */
typedef void (*pgcdc_idle_cb)(pgcdc_worker *w, void *opaque);
/* Log lines: one line each, no trailing newline, never containing a password. */
typedef void (*pgcdc_log_cb)(pgcdc_worker *w, pgcdc_log_level level, const char *msg, void *opaque);

/* ---- configuration ---- */

/* Creates an empty configuration with defaults; NULL on out of memory. */
pgcdc_config *pgcdc_config_new(void);
/* Frees a configuration; NULL is a no-op. */
void pgcdc_config_free(pgcdc_config *cfg);

/*
 * Setters copy their arguments.  They return PGCDC_OK or PGCDC_ERR_INVALID
 * (with nothing changed) for a value that can never be valid; the message
 * is then available from pgcdc_config_errmsg().
 */
/* libpq conninfo ("host=... dbname=...") or URI ("postgresql://..."); PG* variables apply. */
int pgcdc_config_set_conninfo(pgcdc_config *cfg, const char *conninfo);
/* "table" (resolved through search_path) or "schema.table"; call once per table. */
int pgcdc_config_add_table(pgcdc_config *cfg, const char *name);
/* Slot name: [a-z0-9_]{1,63}. */
int pgcdc_config_set_slot(pgcdc_config *cfg, const char *slot);
/* Publication name: [a-z0-9_]{1,63}. */
int pgcdc_config_set_publication(pgcdc_config *cfg, const char *publication);
/* Create the slot / publication when missing (default 1 / 1). */
int pgcdc_config_set_create_slot(pgcdc_config *cfg, int on);
int pgcdc_config_set_create_publication(pgcdc_config *cfg, int on);
/* Set REPLICA IDENTITY FULL on the listed tables at start (default 0). */
int pgcdc_config_set_replica_identity_full(pgcdc_config *cfg, int on);
/* Status update interval in milliseconds, 100..10000 (default 10000). */
int pgcdc_config_set_status_interval(pgcdc_config *cfg, int ms);
/* Stop once every transaction committed at or before this LSN is confirmed (0: never). */
int pgcdc_config_set_endpos(pgcdc_config *cfg, uint64_t lsn);
/*
 * pgoutput protocol version: 1 (default) or 2.  Version 2 streams large
 * in-progress transactions; pgcdc spools them to a temporary file until their
 * commit, so memory stays bounded.
 */
int pgcdc_config_set_proto_version(pgcdc_config *cfg, int version);
/*
 * Ask the server for binary column values (pgoutput's binary option), which
 * spares it the text output functions.  pgcdc turns them into the same text
 * (so accessors and formats are unchanged).  Used only when every column of
 * the listed tables has a type pgcdc reads in binary; otherwise, and after
 * such a column appears, the stream is in text mode.  Default 1 (on); 0
 * asks for text values.
 */
int pgcdc_config_set_binary(pgcdc_config *cfg, int on);
/* Directory for spooled transactions (default: $TMPDIR or /tmp). */
int pgcdc_config_set_spool_dir(pgcdc_config *cfg, const char *dir);
/* Handler retries before the worker halts (default 5), first delay in ms (default 100). */
int pgcdc_config_set_handler_retries(pgcdc_config *cfg, int retries, int first_delay_ms);
/* What happens to a change whose handler still fails after its retries. */
typedef enum pgcdc_error_policy {
    PGCDC_ON_ERROR_HALT = 0,       /* stop; nothing past the previous transaction is confirmed */
    PGCDC_ON_ERROR_DEAD_LETTER = 1 /* append event and error to a file, fsync it, go on */
} pgcdc_error_policy;
/*
 * Sets the policy (default PGCDC_ON_ERROR_HALT).  With dead-letter, path is
 * the file that receives one JSON line per failed change: {"dead_letter":
 * {"error":...,"at":...},"event":{native event}}.  Begin and commit handler
 * failures always halt.
 */
int pgcdc_config_set_error_policy(pgcdc_config *cfg, pgcdc_error_policy policy,
                                  const char *dead_letter_path);
/* Longest reconnect backoff in ms (default 30000); attempts before giving up (0: forever). */
int pgcdc_config_set_reconnect(pgcdc_config *cfg, int max_backoff_ms, int max_attempts);

int pgcdc_config_set_change_cb(pgcdc_config *cfg, pgcdc_change_cb cb, void *opaque);
int pgcdc_config_set_begin_cb(pgcdc_config *cfg, pgcdc_begin_cb cb, void *opaque);
int pgcdc_config_set_commit_cb(pgcdc_config *cfg, pgcdc_commit_cb cb, void *opaque);
int pgcdc_config_set_idle_cb(pgcdc_config *cfg, pgcdc_idle_cb cb, void *opaque);
/* Log hook; without one, messages at or below the level go to stderr (default INFO). */
int pgcdc_config_set_log_cb(pgcdc_config *cfg, pgcdc_log_cb cb, void *opaque);
int pgcdc_config_set_log_level(pgcdc_config *cfg, pgcdc_log_level level);

/* The message of the last failed setter; never NULL. */
const char *pgcdc_config_errmsg(const pgcdc_config *cfg);

/* ---- worker ---- */

/*
 * Creates a worker from a copy of cfg (cfg may be freed afterwards).
 * Returns NULL on out of memory only; configuration errors are reported by
 * pgcdc_worker_start().
 */
pgcdc_worker *pgcdc_worker_new(const pgcdc_config *cfg);
/* Stops streaming if needed and frees the worker; NULL is a no-op. */
void pgcdc_worker_free(pgcdc_worker *w);

/*
 * Connects, runs the preflight checks, creates the publication and the slot
 * when missing (and allowed), and opens the replication stream at the slot's
 * confirmed position.  Nothing is created unless every check passed.  A slot
 * still held by another walsender ("is active for PID") is retried with the
 * reconnect backoff; pgcdc_worker_stop() then ends the wait with
 * PGCDC_ERR_STOPPED.
 */
int pgcdc_worker_start(pgcdc_worker *w);

/*
 * Runs the preflight checks and creates the publication and the slot when
 * missing (and allowed), without streaming.  *slot_created (may be NULL) is
 * set to 1 if this call created the slot.
 */
int pgcdc_worker_prepare(pgcdc_worker *w, int *slot_created);

/* Drops the configured slot (not the publication).  PGCDC_ERR_SLOT_MISSING if absent. */
int pgcdc_worker_drop_slot(pgcdc_worker *w);

/*
 * Streams changes into the callbacks until pgcdc_worker_stop(), the end
 * position, or a fatal error.  Reconnects after connection loss.  Returns
 * PGCDC_OK after a requested stop or on reaching the end position.
 */
int pgcdc_worker_run(pgcdc_worker *w);

/*
 * Pull style: waits up to timeout_ms (-1: forever) for the next change.
 * Calling it again acknowledges the previous change.  Returns PGCDC_OK with
 * *change set, PGCDC_OK with *change NULL on timeout, PGCDC_ERR_STOPPED after
 * a stop or at the end position, or an error.
 */
int pgcdc_worker_next(pgcdc_worker *w, const pgcdc_change **change, int timeout_ms);

/*
 * Acknowledges a change or transaction accepted with PGCDC_DEFER, by the
 * token of the change (or transaction).  Safe from any thread.
 */
int pgcdc_worker_ack(pgcdc_worker *w, uint64_t token);

/*
 * Asks the worker to stop: it delivers the rest of the transaction in flight
 * (for up to 5 s, so a restart repeats none of it), waits up to 5 s for
 * outstanding acknowledgements, confirms what is acknowledged and returns
 * from run/next.  Async-signal-safe and thread-safe.
 */
void pgcdc_worker_stop(pgcdc_worker *w);

/* Name of the database the worker streams from (known after prepare/start), or NULL. */
const char *pgcdc_worker_database(const pgcdc_worker *w);
/* Highest LSN confirmed to the server (the slot's position as far as we know). */
uint64_t pgcdc_worker_confirmed_lsn(const pgcdc_worker *w);
/* Detailed message of the last error, valid until the next call on w; never NULL. */
const char *pgcdc_worker_errmsg(const pgcdc_worker *w);
/* Logs through the worker's log hook (printf-style). */
void pgcdc_worker_log(pgcdc_worker *w, pgcdc_log_level level, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* ---- transactions ---- */

uint32_t pgcdc_txn_xid(const pgcdc_txn *txn);
/* LSN of the commit record: with the change's seq, a unique event key. */
uint64_t pgcdc_txn_commit_lsn(const pgcdc_txn *txn);
/* LSN just past the commit record: what is confirmed once the transaction is handled. */
uint64_t pgcdc_txn_end_lsn(const pgcdc_txn *txn);
/* Commit time, microseconds since the Unix epoch (UTC). */
int64_t pgcdc_txn_commit_time(const pgcdc_txn *txn);
/* Number of changes delivered so far (at commit: in the transaction). */
uint32_t pgcdc_txn_nchanges(const pgcdc_txn *txn);
/* Token for pgcdc_worker_ack() when the commit callback returned PGCDC_DEFER. */
uint64_t pgcdc_txn_token(const pgcdc_txn *txn);

/* ---- changes ---- */

pgcdc_op pgcdc_change_op(const pgcdc_change *c);
const char *pgcdc_change_schema(const pgcdc_change *c);
const char *pgcdc_change_table(const pgcdc_change *c);
/* The relation's OID on the server. */
uint32_t pgcdc_change_relid(const pgcdc_change *c);
uint32_t pgcdc_change_xid(const pgcdc_change *c);
uint64_t pgcdc_change_commit_lsn(const pgcdc_change *c);
int64_t pgcdc_change_commit_time(const pgcdc_change *c);
/* Ordinal of the change within its transaction, from 0. */
uint32_t pgcdc_change_seq(const pgcdc_change *c);
/* Token for pgcdc_worker_ack() when the change callback returned PGCDC_DEFER. */
uint64_t pgcdc_change_token(const pgcdc_change *c);
const pgcdc_txn *pgcdc_change_txn(const pgcdc_change *c);
/*
 * Old row: for UPDATE and DELETE when the server sent one (REPLICA IDENTITY
 * FULL: the whole row; otherwise the key columns, on DELETE and on an UPDATE
 * that changed the key).  NULL when absent.
 */
const pgcdc_row *pgcdc_change_old(const pgcdc_change *c);
/* New row: for INSERT and UPDATE; NULL otherwise. */
const pgcdc_row *pgcdc_change_new(const pgcdc_change *c);
/* Primary-key (or replica identity) columns of the table, by index. */
int pgcdc_change_nkeys(const pgcdc_change *c);
const char *pgcdc_change_key(const pgcdc_change *c, int k);
/* TRUNCATE options: bit 1 CASCADE, bit 2 RESTART IDENTITY. */
int pgcdc_change_truncate_flags(const pgcdc_change *c);

/* ---- rows: read by column index (0-based) or name ---- */

int pgcdc_row_ncols(const pgcdc_row *row);
/* Index of the named column, or PGCDC_ERR_NOT_FOUND. */
int pgcdc_row_find(const pgcdc_row *row, const char *name);
/* Column name / type OID / type name; NULL or 0 for an index out of range. */
const char *pgcdc_row_name(const pgcdc_row *row, int col);
uint32_t pgcdc_row_type(const pgcdc_row *row, int col);
/* The type as format_type() prints it ("numeric(10,2)", "character varying(255)"); may be NULL. */
const char *pgcdc_row_type_name(const pgcdc_row *row, int col);
int pgcdc_row_is_key(const pgcdc_row *row, int col);
/* PGCDC_VALUE_*; PGCDC_VALUE_ABSENT for an index out of range. */
pgcdc_value_state pgcdc_row_state(const pgcdc_row *row, int col);

/*
 * Typed reads.  Each returns PGCDC_OK and fills *out, or PGCDC_ERR_NULL_VALUE,
 * PGCDC_ERR_UNCHANGED, PGCDC_ERR_ABSENT, PGCDC_ERR_TYPE (the value does not
 * read as that type) or PGCDC_ERR_RANGE.  Strings are NUL-terminated and
 * borrowed.
 */
int pgcdc_row_get_text(const pgcdc_row *row, int col, const char **out, size_t *len);
int pgcdc_row_get_int64(const pgcdc_row *row, int col, int64_t *out);
int pgcdc_row_get_double(const pgcdc_row *row, int col, double *out);
int pgcdc_row_get_bool(const pgcdc_row *row, int col, int *out);
/* numeric (or any number) as PostgreSQL prints it: exact, no rounding. */
int pgcdc_row_get_numeric(const pgcdc_row *row, int col, const char **out);
/*
 * timestamp, timestamptz or date as microseconds since the Unix epoch (UTC;
 * a timestamp without time zone is read as UTC).  +/-infinity give
 * INT64_MAX / INT64_MIN.
 */
int pgcdc_row_get_timestamp(const pgcdc_row *row, int col, int64_t *out);
/*
 * bytea: decodes into buf (cap bytes) and sets *len to the decoded length.
 * With buf too small (or NULL) returns PGCDC_ERR_RANGE and sets *len to the
 * size needed.
 */
int pgcdc_row_get_bytea(const pgcdc_row *row, int col, uint8_t *buf, size_t cap, size_t *len);
/* json or jsonb as its JSON text. */
int pgcdc_row_get_json(const pgcdc_row *row, int col, const char **out);

/* By-name shorthands: as above, PGCDC_ERR_NOT_FOUND for an unknown column. */
int pgcdc_row_text(const pgcdc_row *row, const char *name, const char **out);
int pgcdc_row_int64(const pgcdc_row *row, const char *name, int64_t *out);
int pgcdc_row_double(const pgcdc_row *row, const char *name, double *out);

/* ---- formatting: changes as JSON lines ---- */

typedef enum pgcdc_format {
    PGCDC_FORMAT_JSON = 0,     /* pgcdc's native event, one object per change */
    PGCDC_FORMAT_DEBEZIUM = 1, /* Debezium's change-event envelope (payload, no schema) */
    PGCDC_FORMAT_WAL2JSON = 2  /* wal2json format-version 2 (B, I/U/D/T, C lines) */
} pgcdc_format;

typedef struct pgcdc_formatter pgcdc_formatter;

/* Parses "json", "debezium" or "wal2json"; PGCDC_ERR_INVALID otherwise. */
int pgcdc_format_parse(const char *name, pgcdc_format *format);
/*
 * Creates a formatter.  dbname (may be NULL) names the database in formats
 * that carry it (Debezium's source block).  NULL on out of memory.
 */
pgcdc_formatter *pgcdc_formatter_new(pgcdc_format format, const char *dbname);
/* Frees a formatter; NULL is a no-op. */
void pgcdc_formatter_free(pgcdc_formatter *f);
/*
 * Each call formats one event into the formatter's buffer and sets *out and
 * *len to it: zero or more complete lines, each ending in a newline (empty
 * when the format prints nothing for that event).  The text is valid UTF-8
 * JSON and stays valid until the next call on f.  Returns PGCDC_OK or
 * PGCDC_ERR_NOMEM.
 */
int pgcdc_formatter_begin(pgcdc_formatter *f, const pgcdc_txn *txn, const char **out, size_t *len);
int pgcdc_formatter_change(pgcdc_formatter *f, const pgcdc_change *c, const char **out,
                           size_t *len);
int pgcdc_formatter_commit(pgcdc_formatter *f, const pgcdc_txn *txn, const char **out, size_t *len);

/* Formats an LSN as "X/X" into buf (at least 18 bytes); returns buf. */
char *pgcdc_lsn_format(uint64_t lsn, char *buf, size_t size);
/* Parses "X/X"; returns PGCDC_OK or PGCDC_ERR_INVALID. */
int pgcdc_lsn_parse(const char *text, uint64_t *lsn);

#ifdef __cplusplus
}
#endif

#endif /* PGCDC_H */
