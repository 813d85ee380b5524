/*
 * pgcdc: PostgreSQL change data capture over logical replication (pgoutput).
 *
 * The one public header.  A worker streams committed row changes from a
 * replication slot into a handler (callbacks, or a pull-style loop) and into
 * sinks (a file, stdout, or your own), and confirms to the server only what
 * the handler and every sink have acknowledged.
 *
 * Borrowing rule: every pointer handed to a callback, or returned by an
 * accessor on a change, row or sink event, is borrowed and valid only until
 * the callback returns (or, in pull mode, until the next call to
 * pgcdc_worker_next()).  Copy what you need to keep.
 *
 * Threads: a worker is driven from one thread, the one that calls
 * pgcdc_worker_start() and pgcdc_worker_run() or pgcdc_worker_next().  Every
 * callback (handler, sink, log) runs on that thread, never while pgcdc holds
 * a lock.  From any thread you may call only pgcdc_worker_stop(),
 * pgcdc_worker_reopen(), pgcdc_worker_ack(), pgcdc_sink_ack() and
 * pgcdc_worker_stats().
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
/* major * 10000 + minor * 100 + patch: what plugins compare against at load time. */
#define PGCDC_VERSION_NUM 100

/* Returns the library's version string, e.g. "0.1.0". */
const char *pgcdc_version(void);
/* Returns the PGCDC_VERSION_NUM the library was built with (compare it with the header's). */
int pgcdc_version_num(void);

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
    X(STOPPED, -22, "worker stopped")                                                              \
    X(SLOT_BUSY, -23, "replication slot is in use by another process")                             \
    X(SLOT_MISMATCH, -24, "replication slot is not a pgoutput slot of this database")              \
    X(SLOT_LIMIT, -25, "no replication slot left on the server")                                   \
    X(DATABASE, -26, "database does not exist")                                                    \
    X(SINK, -27, "a sink could not deliver")                                                       \
    X(WAL_BUDGET, -28, "the replication slot holds more WAL than slot.max_retained_wal")

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
    PGCDC_OP_TRUNCATE = 'T',
    PGCDC_OP_READ = 'R', /* a row as a snapshot read it (its new row only) */
    /*
     * The table's columns changed (added, dropped, renamed, retyped, key or
     * replica identity changed): it comes just before the first change with
     * the new shape, with that change's seq (it takes none of its own).  Its
     * old and new rows hold no values, only the columns before and after,
     * with their types (pgcdc_config_set_schema_changes).
     */
    PGCDC_OP_SCHEMA = 'S'
} pgcdc_op;

/*
 * Returns "INSERT", "UPDATE", "DELETE", "TRUNCATE", "READ" or
 * "SCHEMA_CHANGE" ("UNKNOWN" otherwise).
 */
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
 * Return values of the change and commit callbacks and of a sink's write.
 * Any negative value is a failure (a pgcdc_err or your own negative code):
 * the call is retried with backoff, then the error policy applies (halt, by
 * default, without confirming past it).
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

/*
 * A handler: the callbacks above in one versioned struct (new members are
 * appended, and abi tells which the struct has).  NULL members are not
 * called.  close is called once, when the worker is freed.
 */
#define PGCDC_HANDLER_ABI 1
typedef struct pgcdc_handler {
    int abi; /* PGCDC_HANDLER_ABI */
    pgcdc_begin_cb begin;
    pgcdc_change_cb change;
    pgcdc_commit_cb commit;
    pgcdc_idle_cb idle;
    void (*close)(pgcdc_worker *w, void *opaque);
    void *opaque; /* passed to every callback */
} pgcdc_handler;

typedef enum pgcdc_format {
    PGCDC_FORMAT_JSON = 0,     /* pgcdc's native event, one object per change */
    PGCDC_FORMAT_DEBEZIUM = 1, /* Debezium's change-event envelope (payload, no schema) */
    PGCDC_FORMAT_WAL2JSON = 2  /* wal2json format-version 2 (B, I/U/D/T, C lines) */
} pgcdc_format;

/* ---- sinks: where events go besides (or instead of) the handler ---- */

typedef struct pgcdc_sink pgcdc_sink;
typedef struct pgcdc_sink_event pgcdc_sink_event;

typedef enum pgcdc_event_kind {
    PGCDC_EVENT_BEGIN = 'B',
    PGCDC_EVENT_CHANGE = 'X',
    PGCDC_EVENT_COMMIT = 'C'
} pgcdc_event_kind;

/* The type of a property: how its text value is read. */
typedef enum pgcdc_prop_type {
    PGCDC_PROP_STRING = 0,
    PGCDC_PROP_BOOL,     /* true/false, on/off, yes/no, 1/0 */
    PGCDC_PROP_INT,      /* a decimal integer in [min, max] */
    PGCDC_PROP_DURATION, /* "250ms", "10s", "5m", "1h" (a bare number is in ms), in ms */
    PGCDC_PROP_SIZE,     /* "512", "64kB", "1MB", "1GB", in bytes */
    PGCDC_PROP_ENUM,     /* one of choices */
    PGCDC_PROP_LSN,      /* "X/X" */
    PGCDC_PROP_LIST      /* each set adds one item */
} pgcdc_prop_type;

/* One configuration property, as pgcdc_config_set takes it. */
typedef struct pgcdc_property {
    const char *name; /* "slot", "handler.retries"; a sink's own: "flush_interval" */
    pgcdc_prop_type type;
    const char *default_value; /* as text; NULL when there is none */
    long long min, max;        /* INT, DURATION (ms) and SIZE (bytes) */
    const char *choices;       /* ENUM: "halt|dead_letter" */
    const char *description;   /* one line */
} pgcdc_property;

/*
 * A sink: a versioned struct of functions (new members are appended, abi
 * tells which the struct has).  Every function runs on the worker's thread.
 */
#define PGCDC_SINK_ABI 3
typedef struct pgcdc_sink_ops {
    int abi;          /* PGCDC_SINK_ABI */
    const char *kind; /* "file": its URI scheme and its properties' prefix, sink.<kind>. */
    /* Opens the sink for uri (as configured); keep state with pgcdc_sink_set_state(). */
    int (*open)(pgcdc_sink *sink, const char *uri);
    /*
     * One event, in commit order: PGCDC_HANDLED (acknowledged now),
     * PGCDC_DEFER (pgcdc_sink_ack() with the event's token later, from any
     * thread), or an error: retried with backoff, then the error policy.
     * PGCDC_ERR_IO means a write was lost for good (a failed fsync): the
     * worker halts at once.
     */
    int (*write)(pgcdc_sink *sink, const pgcdc_sink_event *ev);
    /*
     * Everything received so far has been written and the worker is about to
     * wait: push batches out, acknowledge what is durable.  PGCDC_OK, or an
     * error, which halts the worker.  May be NULL.
     */
    int (*flush)(pgcdc_sink *sink);
    /*
     * Frees the sink's state; called once, after its last write or flush,
     * also when open failed (to free what it made).  May be NULL.
     */
    void (*close)(pgcdc_sink *sink);
    /* The sink's properties (sink.<kind>.<name>), and how many. */
    const pgcdc_property *properties;
    int nproperties;
    /*
     * abi 2: let go of the destination and take it up again by its name (a
     * file renamed away by log rotation is created anew), after everything
     * before was flushed and acknowledged.  PGCDC_OK or an error, which
     * halts the worker.  May be NULL (nothing to reopen).
     */
    int (*reopen)(pgcdc_sink *sink);
    /*
     * abi 3: checks a URI of this kind before anything connects (called by
     * pgcdc_config_add_sink()): PGCDC_OK, or PGCDC_ERR_INVALID with a
     * one-line reason in err (errlen bytes).  May be NULL (any URI).
     */
    int (*check_uri)(const char *uri, char *err, size_t errlen);
    /*
     * abi 3: checks a property sink.<kind>.<name> that is not in the table
     * (a client library's own, passed through): PGCDC_OK to keep it (read
     * with pgcdc_sink_property()), or PGCDC_ERR_INVALID with a reason.  May
     * be NULL (the table's properties only).
     */
    int (*check_property)(const char *name, const char *value, char *err, size_t errlen);
} pgcdc_sink_ops;

/* The sink's own state and the opaque pointer given with its ops. */
void *pgcdc_sink_state(const pgcdc_sink *sink);
void pgcdc_sink_set_state(pgcdc_sink *sink, void *state);
void *pgcdc_sink_opaque(const pgcdc_sink *sink);
/* Property sink.<kind>.<key> as text: the value set, else its default, else NULL. */
const char *pgcdc_sink_property(const pgcdc_sink *sink, const char *key);
/* The format the sink's events are given in. */
pgcdc_format pgcdc_sink_format(const pgcdc_sink *sink);
/* Acknowledges an event the sink deferred, by its token.  Safe from any thread. */
int pgcdc_sink_ack(pgcdc_sink *sink, uint64_t token);
/* Sets the worker's error message (from open, write or flush); returns err. */
int pgcdc_sink_fail(pgcdc_sink *sink, int err, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
/* Logs through the worker's log hook. */
void pgcdc_sink_log(pgcdc_sink *sink, pgcdc_log_level level, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

pgcdc_event_kind pgcdc_sink_event_kind(const pgcdc_sink_event *ev);
/*
 * The event in the sink's format: zero or more lines, each ending in a
 * newline (empty when the format prints nothing for it).  PGCDC_OK or
 * PGCDC_ERR_NOMEM.
 */
int pgcdc_sink_event_data(const pgcdc_sink_event *ev, const char **data, size_t *len);
/*
 * The key of a change in the sink's format: a JSON object of its
 * primary-key (or replica identity) columns, from the new row or, for a
 * DELETE, the old one ({"id":1}); for the Debezium format, the connector's
 * key struct (the primary key's columns encoded as the values are, with its
 * schema when schemas are enabled).  Empty for a TRUNCATE, a schema change,
 * a table without a key, and begin and commit events.  PGCDC_OK or PGCDC_ERR_NOMEM.
 */
int pgcdc_sink_event_key(const pgcdc_sink_event *ev, const char **data, size_t *len);
/* The name the event is routed by ("schema.table"); NULL for begin and commit events. */
const char *pgcdc_sink_event_route(const pgcdc_sink_event *ev);
/*
 * The topic a Lua script's route(event) chose for this change (docs/LUA.md),
 * to use in place of the sink's own topic, subject or key template (its
 * ${schema}, ${table} and ${prefix} not expanded); NULL when it chose none.
 */
const char *pgcdc_sink_event_topic(const pgcdc_sink_event *ev);
/* The token for pgcdc_sink_ack() (the transaction's). */
uint64_t pgcdc_sink_event_token(const pgcdc_sink_event *ev);
const pgcdc_txn *pgcdc_sink_event_txn(const pgcdc_sink_event *ev);
/* The change of a change event; NULL for begin and commit events. */
const pgcdc_change *pgcdc_sink_event_change(const pgcdc_sink_event *ev);

/* ---- configuration ---- */

/* Creates an empty configuration with defaults; NULL on out of memory. */
pgcdc_config *pgcdc_config_new(void);
/* Frees a configuration; NULL is a no-op. */
void pgcdc_config_free(pgcdc_config *cfg);

/*
 * Setters copy their arguments.  They return PGCDC_OK, PGCDC_ERR_INVALID
 * (with nothing changed) for a value that can never be valid, or
 * PGCDC_ERR_NOMEM; the message is then available from pgcdc_config_errmsg().
 * Every setter has a string-keyed twin (pgcdc_config_set()).
 */
/* libpq conninfo ("host=... dbname=...") or URI ("postgresql://..."); PG* variables apply. */
int pgcdc_config_set_conninfo(pgcdc_config *cfg, const char *conninfo);
/*
 * "table" (resolved through search_path) or "schema.table"; call once per
 * table.  Names are matched exactly, case included; a part may be quoted as
 * in SQL (schema."My.Table", a "" inside for a quote), and must be when it
 * holds a dot or begins with a quote.  A partitioned table brings its
 * partitions, those attached later included.
 */
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
 * pgoutput protocol version: 1, 2 or 3, or 0 (the default) to choose for the
 * server: 2 from PostgreSQL 14, else 1.  Version 2 streams large in-progress
 * transactions; pgcdc spools them to a temporary file until their commit, so
 * memory stays bounded.  Version 3 adds two-phase transactions, used only
 * with pgcdc_config_set_two_phase (without it, 3 behaves as 2; with it, 3 is
 * used whatever is set here).  Version 2 needs PostgreSQL 14, version 3
 * PostgreSQL 15.
 */
int pgcdc_config_set_proto_version(pgcdc_config *cfg, int version);
/*
 * Decode prepared transactions at PREPARE TRANSACTION (pgoutput's two_phase,
 * PostgreSQL 15 and later; default 0).  On, streaming uses protocol 3 at
 * least, the slot gets two-phase decoding, and COMMIT PREPARED and ROLLBACK
 * PREPARED come as transactions of their own (pgcdc_txn_two_phase).  The
 * start fails on an older server.
 */
int pgcdc_config_set_two_phase(pgcdc_config *cfg, int on);
/*
 * Hand out a PGCDC_OP_SCHEMA change when a table's columns differ from what
 * this process saw of it before (default 1).  The comparison spans
 * reconnects but not restarts: the first shape a process sees of a table
 * is taken as it is.  With DDL capture installed
 * (pgcdc_worker_install_ddl_capture), the statement that changed the table
 * comes with it (pgcdc_change_ddl).
 */
int pgcdc_config_set_schema_changes(pgcdc_config *cfg, int on);
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
/*
 * A Lua 5.4 script whose functions filter(event), transform(event) and
 * route(event), each optional, run on every change after the declarative
 * filters (docs/LUA.md).  The file is compiled here: one that does not is
 * refused with PGCDC_ERR_INVALID and "FILE:LINE: what" in the message.
 * NULL or "" removes the script.
 */
int pgcdc_config_set_lua(pgcdc_config *cfg, const char *path);
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
/*
 * How long reconnecting may go on before the run ends with the last error
 * (default 0: as long as it takes).  Errors that retrying cannot mend end
 * the run at once whatever this says: the database gone or renamed, the
 * login or the REPLICATION attribute refused, the publication or the slot
 * gone or unusable.
 */
int pgcdc_config_set_reconnect_max_elapsed(pgcdc_config *cfg, int64_t max_elapsed_ms);
/*
 * How long the server may stay silent, pinged meanwhile, while pgcdc waits
 * on it before the link counts as dead and is reopened (default 25000 ms).
 * Only time spent waiting on the server counts, not time spent delivering.
 */
int pgcdc_config_set_link_timeout(pgcdc_config *cfg, int timeout_ms);
/*
 * When another process streams from the slot: 0 (default) fails the start
 * with PGCDC_ERR_SLOT_BUSY naming its PID; 1 waits and takes the slot over
 * when it frees (a warm standby).
 */
int pgcdc_config_set_standby(pgcdc_config *cfg, int standby);

/*
 * Whether the slot is a failover slot (PostgreSQL 17): one that standbys
 * with sync_replication_slots = on keep a copy of, so that pgcdc goes on from
 * a promoted standby with nothing lost (README, "Switching to a promoted
 * standby").  AUTO (default): a slot pgcdc creates is one on a primary of 17
 * or later; an existing slot is left as it is.  ON: the same, an existing
 * slot is altered to one, and a server before 17 or a standby (whose slots
 * cannot be) is refused.  OFF: never.
 */
typedef enum pgcdc_failover {
    PGCDC_FAILOVER_AUTO = 0,
    PGCDC_FAILOVER_ON = 1,
    PGCDC_FAILOVER_OFF = 2
} pgcdc_failover;
int pgcdc_config_set_failover(pgcdc_config *cfg, pgcdc_failover mode);

/*
 * Snapshots: the rows already in the tables, as READ changes.
 * INITIAL: when this start creates the slot, its exported snapshot is read
 * (by snapshot.parallel connections) before the stream, which goes on from
 * the slot's consistent point: nothing missed, nothing twice.  INITIAL_ONLY:
 * the same, then the run ends.  INCREMENTAL: the tables are read while
 * streaming, chunk by chunk between two watermarks.  NEVER (the default):
 * none, unless one is asked for while streaming (a pgcdc.signal message).
 * Progress is kept in snapshot.state_file, so a snapshot stopped by a crash
 * goes on after its last acknowledged chunk.
 */
typedef enum pgcdc_snapshot_mode {
    PGCDC_SNAPSHOT_NEVER = 0,
    PGCDC_SNAPSHOT_MODE_INITIAL = 1,
    PGCDC_SNAPSHOT_MODE_INITIAL_ONLY = 2,
    PGCDC_SNAPSHOT_MODE_INCREMENTAL = 3
} pgcdc_snapshot_mode;
int pgcdc_config_set_snapshot(pgcdc_config *cfg, pgcdc_snapshot_mode mode);

int pgcdc_config_set_change_cb(pgcdc_config *cfg, pgcdc_change_cb cb, void *opaque);
int pgcdc_config_set_begin_cb(pgcdc_config *cfg, pgcdc_begin_cb cb, void *opaque);
int pgcdc_config_set_commit_cb(pgcdc_config *cfg, pgcdc_commit_cb cb, void *opaque);
int pgcdc_config_set_idle_cb(pgcdc_config *cfg, pgcdc_idle_cb cb, void *opaque);
/* Log hook; without one, messages at or below the level go to stderr (default INFO). */
int pgcdc_config_set_log_cb(pgcdc_config *cfg, pgcdc_log_cb cb, void *opaque);
int pgcdc_config_set_log_level(pgcdc_config *cfg, pgcdc_log_level level);

/*
 * Sets the callbacks of a handler at once (replacing those set one by one);
 * h is copied.  PGCDC_ERR_INVALID for an abi this library does not know.
 */
int pgcdc_config_set_handler(pgcdc_config *cfg, const pgcdc_handler *h);

/*
 * Checks the settings against each other, without connecting: routes
 * against the listed tables, the dead-letter policy against its file.
 * PGCDC_OK, or PGCDC_ERR_INVALID with the reason (pgcdc_config_errmsg()).
 */
int pgcdc_config_check(pgcdc_config *cfg);
/*
 * Adds a sink by URI: "-" (stdout) or "file:PATH" (appended to, fsynced
 * before confirming, a torn last line repaired at open).  Every sink gets
 * every event; the slot is confirmed only past what all of them (and the
 * handler) acknowledged.
 */
int pgcdc_config_add_sink(pgcdc_config *cfg, const char *uri);
/* Adds a sink of your own (ops and opaque are kept, not copied). */
int pgcdc_config_add_sink_ops(pgcdc_config *cfg, const pgcdc_sink_ops *ops, const char *uri,
                              void *opaque);
/*
 * Makes a sink kind known to cfg and to the workers made from it, as the
 * built-in ones are: afterwards pgcdc_config_add_sink(cfg, "KIND:...") adds
 * a sink of that kind (pgcdc_sink_opaque() gives it opaque), and
 * sink.KIND.<name> properties are checked against ops->properties (and its
 * check_property).  ops->kind is a lower-case letter followed by up to 30
 * lower-case letters, digits or underscores, and neither a built-in kind nor
 * one registered already.  ops and opaque are kept, not copied: they must
 * outlive cfg and its workers.  PGCDC_OK, PGCDC_ERR_INVALID or
 * PGCDC_ERR_NOMEM (the message in pgcdc_config_errmsg()).
 */
int pgcdc_config_register_sink_kind(pgcdc_config *cfg, const pgcdc_sink_ops *ops, void *opaque);
/*
 * Routes a table to the sink added last: once given a route, a sink takes
 * the changes and snapshot rows of its routed tables only (begin and commit
 * events still reach it).  table: "table" (in any schema), "schema.table"
 * (quoted parts as in pgcdc_config_add_table()) or "schema.*"; call once
 * per route.  When tables are listed, each route must name one of them
 * (pgcdc_config_check(), and the worker's start, refuse it otherwise).
 */
int pgcdc_config_route_sink(pgcdc_config *cfg, const char *table);
/* The format of sink events (default PGCDC_FORMAT_JSON). */
int pgcdc_config_set_format(pgcdc_config *cfg, pgcdc_format format);

/*
 * Sets any property by name from text: every setter above has one (see
 * pgcdc_property_at()), and sinks have theirs under sink.<kind>.<key>.  '-'
 * and '_' are the same in names.  On failure the one-line message goes to
 * errbuf (errlen bytes; may be NULL) and to pgcdc_config_errmsg().
 */
int pgcdc_config_set(pgcdc_config *cfg, const char *key, const char *value, char *errbuf,
                     size_t errlen);
/*
 * The i-th property pgcdc_config_set() takes (from 0); NULL past the last.
 * The formats' options come after the worker's own, then the built-in
 * sinks': for those *prefix (may be NULL) is set to "wal2json",
 * "sink.file"..., and the full name is <prefix>.<name>; else to NULL.
 */
const pgcdc_property *pgcdc_property_at(int i, const char **prefix);

/* The message of the last failed setter; never NULL. */
const char *pgcdc_config_errmsg(const pgcdc_config *cfg);

/* ---- plugins: shared objects that register handlers and sink kinds ---- */

/*
 * A plugin is a shared object whose entry point is written with
 * PGCDC_PLUGIN_INIT (docs/PLUGINS.md):
 *
 *     PGCDC_PLUGIN_INIT(cfg, version, err, errlen)
 *     {
 *         static const pgcdc_handler h = {.abi = PGCDC_HANDLER_ABI, .change = on_change};
 *
 *         (void)version;
 *         if (pgcdc_config_set_handler(cfg, &h) != PGCDC_OK) {
 *             snprintf(err, errlen, "%s", pgcdc_config_errmsg(cfg));
 *             return PGCDC_ERR_INVALID;
 *         }
 *         return pgcdc_config_register_sink_kind(cfg, &my_sink_ops, NULL);
 *     }
 *
 * The macro defines, exported from the object, the constant
 * pgcdc_plugin_version (the PGCDC_VERSION_NUM of the header the plugin was
 * compiled with) and the function pgcdc_plugin_init().  The loader reads the
 * constant before it calls anything of the plugin's, and refuses a plugin
 * built for a version this library cannot serve.  A plugin built against
 * version P loads into library version L when P and L have the same major
 * version (and, while the major is 0, the same minor) and P is not newer than
 * L: structs only grow, by their abi members, so an older plugin's calls
 * still mean what they meant, while a newer one may call what L lacks.
 *
 * pgcdc_plugin_init runs on the thread that loads it, once for each
 * configuration the plugin is loaded into.  version is the library's
 * pgcdc_version_num(), for a plugin that uses newer calls when they exist.
 * It registers what it brings on cfg (pgcdc_config_set_handler(),
 * pgcdc_config_register_sink_kind(), any setter or pgcdc_config_set()) and
 * returns PGCDC_OK, or a negative error with a one-line reason in err
 * (errlen bytes).
 */
#define PGCDC_PLUGIN_ENTRY "pgcdc_plugin_init"
#define PGCDC_PLUGIN_VERSION_SYMBOL "pgcdc_plugin_version"
typedef int (*pgcdc_plugin_init_fn)(pgcdc_config *cfg, int version, char *err, size_t errlen);

/* C linkage, default visibility: declared, then defined, whatever the plugin's flags. */
#ifdef __cplusplus
#define PGCDC__PLUGIN_DECL extern "C"
#define PGCDC__PLUGIN_DEF extern "C"
#else
#define PGCDC__PLUGIN_DECL extern
#define PGCDC__PLUGIN_DEF
#endif
#if defined(__GNUC__)
#define PGCDC__PLUGIN_EXPORT __attribute__((visibility("default")))
#else
#define PGCDC__PLUGIN_EXPORT
#endif
#define PGCDC_PLUGIN_INIT(cfg, version, err, errlen)                                               \
    PGCDC__PLUGIN_DECL PGCDC__PLUGIN_EXPORT const int pgcdc_plugin_version;                        \
    PGCDC__PLUGIN_DEF PGCDC__PLUGIN_EXPORT const int pgcdc_plugin_version = PGCDC_VERSION_NUM;     \
    PGCDC__PLUGIN_DECL PGCDC__PLUGIN_EXPORT int pgcdc_plugin_init(pgcdc_config *cfg, int version,  \
                                                                  char *err, size_t errlen);       \
    PGCDC__PLUGIN_DEF PGCDC__PLUGIN_EXPORT int pgcdc_plugin_init(pgcdc_config *cfg, int version,   \
                                                                 char *err, size_t errlen)

/*
 * Loads the plugin at path (a name without a slash is taken in the current
 * directory, not searched for) and runs its pgcdc_plugin_init on cfg, which
 * keeps the object loaded for as long as cfg, or a worker made from it,
 * exists.  The program must export pgcdc's functions to the plugin (the
 * pgcdc command does; a program of yours links libpgcdc as a shared library,
 * or statically with its symbols exported: docs/PLUGINS.md).  PGCDC_OK, or
 * PGCDC_ERR_INVALID with a one-line message (pgcdc_config_errmsg()) when the
 * file is missing, is no shared object, is no pgcdc plugin, was built for an
 * incompatible version (nothing of it was run), or its init failed (with its
 * own reason; what it registered before failing stays in cfg, which is best
 * freed), or PGCDC_ERR_NOMEM.  The property "plugin" does the same.
 */
int pgcdc_config_load_plugin(pgcdc_config *cfg, const char *path);

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
 * that another process streams from fails the start with
 * PGCDC_ERR_SLOT_BUSY naming it (after a grace of a few seconds, for the
 * walsender of a consumer that just exited), or with the standby setting is
 * waited for.  pgcdc_worker_stop() from another thread or a signal handler
 * cancels whatever the server is doing for the start (creating the slot
 * waits for running transactions) and returns PGCDC_ERR_STOPPED, with
 * nothing created.  With an end position at or before the slot's confirmed
 * position there is nothing to stream: PGCDC_OK, and the run ends at once.
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
 * Removes a pipeline's server objects: PGCDC_DROP_SLOT, PGCDC_DROP_PUBLICATION
 * or both.  A slot in use is not dropped (PGCDC_ERR_SLOT_BUSY); a slot that
 * was gone already is reported (PGCDC_ERR_SLOT_MISSING) after the
 * publication was dropped all the same.
 */
#define PGCDC_DROP_SLOT 1
#define PGCDC_DROP_PUBLICATION 2
int pgcdc_worker_drop(pgcdc_worker *w, int what);
/*
 * Installs (on = 1) or removes (on = 0) DDL capture in the configured
 * database: an event trigger that writes each DDL statement touching a table
 * as a logical message, which the stream attaches to the table's next
 * PGCDC_OP_SCHEMA change.  Needs a superuser and PostgreSQL 14 or later
 * (pgoutput sends logical messages from 14).  Idempotent.  What it makes:
 * the schema pgcdc, the function pgcdc.capture_ddl() and the event trigger
 * pgcdc_capture_ddl (removal leaves the schema when something else is in
 * it).  Refused with PGCDC_ERR_PRIVILEGE for a role that is no superuser,
 * PGCDC_ERR_INVALID on a server before 14 (install only) or a standby.
 */
int pgcdc_worker_install_ddl_capture(pgcdc_worker *w, int on);

/*
 * Streams changes into the handler and the sinks until pgcdc_worker_stop(),
 * the end position, or a fatal error.  Reconnects after connection loss.
 * Returns PGCDC_OK after a requested stop or on reaching the end position.
 * Needs a change handler or a sink.
 */
int pgcdc_worker_run(pgcdc_worker *w);

/*
 * Pull style: waits up to timeout_ms (-1: forever) for the next change.
 * Calling it again acknowledges the previous change.  Returns PGCDC_OK with
 * *change set, PGCDC_OK with *change NULL on timeout, PGCDC_ERR_STOPPED after
 * a stop or at the end position, or an error.
 *
 * The begin and commit callbacks and the sinks are called as in push mode,
 * with the same retries and error policy.  The change callback is not
 * called: the change is handed to you instead, and nothing retries it.  A
 * change you cannot handle is never confirmed if you stop the worker
 * (pgcdc_worker_stop(), then pgcdc_worker_next() until it returns) without
 * calling pgcdc_worker_next() for the following one.
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

/*
 * Asks the worker to reopen its sinks' destinations (an output file after
 * log rotation, as SIGHUP does for the command line), on its own thread at
 * the next chance.  Async-signal-safe and thread-safe.
 */
void pgcdc_worker_reopen(pgcdc_worker *w);

typedef enum pgcdc_state {
    PGCDC_STATE_NEW = 0,      /* created, not started */
    PGCDC_STATE_STARTING,     /* preflight, waiting for the slot */
    PGCDC_STATE_STREAMING,    /* receiving changes */
    PGCDC_STATE_RECONNECTING, /* the connection was lost: backing off */
    PGCDC_STATE_STOPPED,      /* run or next returned after a stop or the end position */
    PGCDC_STATE_FAILED        /* stopped on an error */
} pgcdc_state;

/* Returns "new", "starting", "streaming", "reconnecting", "stopped" or "failed". */
const char *pgcdc_state_name(pgcdc_state state);

/* A snapshot of the worker's counters; reserved space keeps room to grow. */
typedef struct pgcdc_stats {
    pgcdc_state state;
    uint64_t received_lsn;    /* the highest WAL position received */
    uint64_t confirmed_lsn;   /* the slot's position as far as pgcdc confirmed it */
    int64_t last_commit_time; /* Unix microseconds: the last transaction handed out; 0 before */
    uint64_t transactions;    /* transactions handed out */
    uint64_t changes;         /* changes handed out */
    uint64_t bytes;           /* replication bytes received */
    uint64_t reconnects;      /* streams opened again after a lost connection */
    uint64_t retries;         /* handler and sink calls retried */
    uint64_t dead_letters;    /* changes written to the dead-letter file */
    /*
     * From each transaction's commit on the server to its confirmation
     * (every handler and sink acknowledged it), over the transactions
     * confirmed so far: median, 99th percentile (within 12.5 %) and maximum,
     * in microseconds, and how many transactions count.
     */
    uint64_t confirm_latency_p50_us;
    uint64_t confirm_latency_p99_us;
    uint64_t confirm_latency_max_us;
    uint64_t confirmed_transactions;
    /* The snapshot under way (zeros when none): READ rows handed out, of about how many. */
    uint64_t snapshot_rows;
    uint64_t snapshot_rows_estimate;
    uint64_t snapshot_tables;      /* tables it reads */
    uint64_t snapshot_tables_done; /* of them, read and acknowledged to the end */
    /*
     * The slot as the server sees it (pg_replication_slots), read at the
     * start and every 5 s on a connection of its own: the WAL it holds back
     * (the server's WAL position minus the slot's restart_lsn, in bytes; 0
     * before the first reading), the bytes that may still be written before
     * the slot is in danger of being invalidated (safe_wal_size, under
     * max_slot_wal_keep_size; -1 when there is no such limit, or unknown),
     * its wal_status (a pgcdc_wal_status), and 1 while slot_retained_wal is
     * over slot.max_retained_wal.
     */
    uint64_t slot_retained_wal;
    int64_t slot_safe_wal_size;
    int32_t slot_wal_status;
    int32_t slot_over_budget;
    /* Heartbeats written (heartbeat.interval), and the WAL position of the last one (0: none). */
    uint64_t heartbeats;
    uint64_t heartbeat_lsn;
    /* The sum of the confirm latencies counted (microseconds), for a mean or a summary. */
    uint64_t confirm_latency_sum_us;
    /* slot.max_retained_wal in bytes (0: no budget). */
    int64_t slot_wal_budget;
    uint64_t reserved[7]; /* zero */
} pgcdc_stats;

/* A slot's wal_status (pg_replication_slots, PostgreSQL 13 and later). */
typedef enum pgcdc_wal_status {
    PGCDC_WAL_STATUS_UNKNOWN = 0, /* not read yet, or a server before PostgreSQL 13 */
    PGCDC_WAL_STATUS_RESERVED,    /* the WAL it needs is within max_wal_size */
    PGCDC_WAL_STATUS_EXTENDED,    /* beyond max_wal_size, still kept for it */
    PGCDC_WAL_STATUS_UNRESERVED,  /* beyond max_slot_wal_keep_size: removed at the next
                                   * checkpoint unless the slot catches up first */
    PGCDC_WAL_STATUS_LOST         /* WAL it needs was removed: the slot is unusable */
} pgcdc_wal_status;

/* Fills st; safe from any thread (each counter is read atomically).  PGCDC_OK. */
int pgcdc_worker_stats(const pgcdc_worker *w, pgcdc_stats *st);

/* Events handed out for one table, by operation (snapshot rows are READ). */
typedef struct pgcdc_table_stats {
    char schema[128];
    char table[128];
    uint64_t inserts;
    uint64_t updates;
    uint64_t deletes;
    uint64_t truncates;
    uint64_t reads;
    uint64_t reserved[3]; /* zero */
} pgcdc_table_stats;
/*
 * The i-th table (from 0, in the order of their first event) that the
 * worker handed out events of since it was made: PGCDC_OK, or
 * PGCDC_ERR_RANGE past the last.  Tables are never dropped from the list
 * (counters only grow); safe from any thread.
 */
int pgcdc_worker_table_stats(const pgcdc_worker *w, int i, pgcdc_table_stats *out);

/*
 * Acknowledgement latency buckets of pgcdc_sink_stats: their upper bounds in
 * seconds are 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1,
 * 2.5, 5, 10 and 30 (pgcdc_sink_ack_bucket_bound).
 */
#define PGCDC_SINK_ACK_BUCKETS 14

/*
 * One sink's counters since the worker started.  An acknowledgement is a
 * pgcdc_sink_ack() for an event the sink deferred, timed from the call to
 * its write (the file sink and the built-in network sinks defer each
 * transaction's commit: so from the commit handed to the sink until it is
 * fsynced, delivered to Kafka or accepted by the webhook), or a commit event
 * the sink took synchronously (PGCDC_HANDLED), timed as its write call.
 */
typedef struct pgcdc_sink_stats {
    char uri[256];           /* as messages show it: without user, password or query */
    char kind[32];           /* "file", "http", "kafka", or a custom sink's kind */
    uint64_t events;         /* events written to it (begin, change, commit as it took them) */
    uint64_t bytes;          /* bytes of events it asked for (pgcdc_sink_event_data) */
    uint64_t inflight_bytes; /* handed to its own thread, not yet delivered (0: synchronous) */
    uint64_t errors; /* failed opens, writes, flushes and deliveries, each retried failure too */
    uint64_t acks;   /* acknowledgements timed (the histogram's count) */
    uint64_t ack_latency_sum_us;
    /* Cumulative: acknowledgements of at most pgcdc_sink_ack_bucket_bound(i) seconds. */
    uint64_t ack_latency_buckets[PGCDC_SINK_ACK_BUCKETS];
    uint64_t reserved[8]; /* zero */
} pgcdc_sink_stats;
/*
 * The i-th sink (from 0, in the order they were added): PGCDC_OK, or
 * PGCDC_ERR_RANGE past the last.  Before the start its counters are zero;
 * they stay readable after the worker stopped, until pgcdc_worker_free().
 * Safe from any thread.
 */
int pgcdc_worker_sink_stats(const pgcdc_worker *w, int i, pgcdc_sink_stats *st);
/* The upper bound in seconds of acknowledgement latency bucket i, or 0 when i is out of range. */
double pgcdc_sink_ack_bucket_bound(int i);

/* One table of the snapshot under way, for a progress display. */
typedef struct pgcdc_snapshot_table {
    char table[256];        /* "schema.name" */
    uint64_t rows;          /* READ rows handed out */
    uint64_t rows_estimate; /* the catalog's estimate of its rows (0: unknown) */
    int done;               /* read and acknowledged to the end */
} pgcdc_snapshot_table;
/*
 * The i-th table (from 0) of the snapshot under way: PGCDC_OK, or
 * PGCDC_ERR_RANGE past the last (or when none is under way).  Safe from
 * any thread.
 */
int pgcdc_worker_snapshot_table(const pgcdc_worker *w, int i, pgcdc_snapshot_table *out);

/*
 * Asks every pgcdc streaming from the worker's database for an incremental
 * snapshot of tables (comma-separated, "schema.table" or "table"), of the
 * rows matching where (an SQL condition; NULL: all), by writing a
 * pgcdc.signal logical message, the same as
 * pg_logical_emit_message(true, 'pgcdc.signal', '{"snapshot":[...],"where":"..."}').
 * A pipeline that does not stream a named table logs that and goes on.
 * Needs no start; the role needs EXECUTE on pg_logical_emit_message.
 */
int pgcdc_worker_request_snapshot(pgcdc_worker *w, const char *tables, const char *where);

/* The slot and the publication as the server has them (pgcdc status), without streaming. */
typedef struct pgcdc_slot_status {
    int slot_exists;        /* 0: there is no such slot (yet) */
    int active;             /* a process streams from it */
    int active_pid;         /* that process (0: none) */
    char database[64];      /* the slot's database */
    char plugin[64];        /* its output plugin ("pgoutput") */
    uint64_t restart_lsn;   /* the WAL the server keeps for it starts here */
    uint64_t confirmed_lsn; /* confirmed_flush_lsn: where the next stream begins */
    uint64_t retained_wal;  /* bytes: the server's WAL position minus restart_lsn */
    int64_t safe_wal_size;  /* bytes before max_slot_wal_keep_size; -1: no limit or unknown */
    int32_t wal_status;     /* a pgcdc_wal_status */
    int publication_exists;
    int ntables;       /* tables of the publication */
    char tables[2048]; /* "schema.table, ..." (cut short with "..." past the buffer) */
} pgcdc_slot_status;

/*
 * Reads the worker's slot and publication on a normal connection, without
 * streaming and without creating or changing anything.  PGCDC_OK (a
 * missing slot or publication is said in out), or a connection or SQL
 * error with the message set.
 */
int pgcdc_worker_slot_status(pgcdc_worker *w, pgcdc_slot_status *out);

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

/*
 * Two-phase transactions (pgcdc_config_set_two_phase).  A prepared
 * transaction's changes come at PREPARE TRANSACTION, in a transaction whose
 * kind is PGCDC_TWO_PHASE_PREPARED: not committed yet.  COMMIT PREPARED and
 * ROLLBACK PREPARED then come each as a transaction of its own, with no
 * changes, its begin and commit callbacks (and sink events) carrying the
 * same GID: its commit LSN, end LSN and commit time are the COMMIT PREPARED
 * record's, or for a rollback, whose record's start the server does not
 * send, the byte before the rollback record's end, its end, and the
 * rollback's time.  pgcdc_worker_next() hands out changes only: the
 * outcome reaches the commit callback and the sinks.
 */
typedef enum pgcdc_two_phase {
    PGCDC_TWO_PHASE_NONE = 0,       /* an ordinary transaction */
    PGCDC_TWO_PHASE_PREPARED = 'P', /* the changes of a prepared transaction */
    PGCDC_TWO_PHASE_COMMIT = 'K',   /* COMMIT PREPARED of the GID (no changes) */
    PGCDC_TWO_PHASE_ROLLBACK = 'r'  /* ROLLBACK PREPARED of the GID (no changes) */
} pgcdc_two_phase;
pgcdc_two_phase pgcdc_txn_two_phase(const pgcdc_txn *txn);
/* The prepared transaction's GID, valid as long as txn; NULL for an ordinary transaction. */
const char *pgcdc_txn_gid(const pgcdc_txn *txn);

/*
 * Snapshots deliver the rows already in a table as READ changes, in
 * transactions of their own (one per chunk of rows, xid 0).  Such a
 * transaction's commit LSN is where the snapshot stands in the stream: the
 * slot's consistent point for an initial snapshot, the closing watermark of
 * the chunk for an incremental one.
 */
typedef enum pgcdc_snapshot_kind {
    PGCDC_SNAPSHOT_NONE = 0,       /* a transaction of the stream */
    PGCDC_SNAPSHOT_INITIAL = 1,    /* rows of the slot's exported snapshot, before the stream */
    PGCDC_SNAPSHOT_INCREMENTAL = 2 /* rows read while streaming, between two watermarks */
} pgcdc_snapshot_kind;
pgcdc_snapshot_kind pgcdc_txn_snapshot(const pgcdc_txn *txn);

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
/*
 * LSN of the change's own WAL record (0 when not known).  Not unique: the
 * tables of one TRUNCATE share it, and it says nothing of commit order; key
 * on (commit LSN, seq) instead.
 */
uint64_t pgcdc_change_lsn(const pgcdc_change *c);
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
/* 1 for the last READ of a snapshot (of its last table), else 0. */
int pgcdc_change_snapshot_last(const pgcdc_change *c);
/*
 * PGCDC_OP_SCHEMA: the statement (or statements, one per line) that changed
 * the table, as the client sent it, when DDL capture is installed and saw
 * it; else NULL.  NULL for other changes.
 */
const char *pgcdc_change_ddl(const pgcdc_change *c);

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
 * Sets one of the format's options from text, by the name it has after the
 * format's in pgcdc_property_at() ("include_xids" for wal2json.include_xids).
 * PGCDC_OK, or PGCDC_ERR_INVALID for an option the format lacks or a value it
 * cannot take.
 */
int pgcdc_formatter_set(pgcdc_formatter *f, const char *name, const char *value);
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
