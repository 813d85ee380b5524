/*
 * Sinks inside the library: the registry of kinds, the open sink
 * behind the public pgcdc_sink handle, and events whose formatted bytes and
 * key are made on first request and shared by the sinks of one format.
 * Which sinks get an event, with what retries, is the worker's business.
 */
#ifndef PGCDC_SINK_SINK_H
#define PGCDC_SINK_SINK_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/log.h"
#include "core/ledger.h"
#include "pgcdc.h"
#include "sink/stats.h"

#define PGCDC__NFORMATS 3

/* A property set for some sink kind: "sink.file.flush_interval" = "50ms". */
typedef struct pgcdc__prop_value {
    char *key;
    char *value;
} pgcdc__prop_value;

/* Formatters shared by every sink of a worker, one per format, made when first needed. */
typedef struct pgcdc__formats {
    char *dbname;
    pgcdc_formatter *f[PGCDC__NFORMATS];
    pgcdc__buf key[PGCDC__NFORMATS];
    const pgcdc__prop_value *props; /* the formats' options: <format>.<name>, already checked */
    int nprops;
} pgcdc__formats;

struct pgcdc_sink_event {
    pgcdc_event_kind kind;
    const pgcdc_txn *txn;
    const pgcdc_change *change; /* CHANGE only */
    const char *topic;          /* a script's route: the topic, subject or stream key; or NULL */
    pgcdc__formats *formats;
    /* What was made for this event so far. */
    unsigned formatted; /* bit per format */
    const char *data[PGCDC__NFORMATS];
    size_t len[PGCDC__NFORMATS];
    unsigned keyed;      /* bit per format */
    pgcdc_format format; /* the format of the sink being given the event */
    /* The bytes that sink asked for, for its counters: the first time it asks only. */
    int asking;
    size_t asked;
};

/*
 * Writes a payload a sink could not deliver, with why, durably to the
 * dead-letter file; PGCDC_OK or an error (message in the worker's context).
 * Worker's thread only.
 */
typedef int (*pgcdc__dead_letter_fn)(void *arg, const char *sink_uri, const char *data, size_t len,
                                     const char *why);

/* What the worker lends every sink. */
typedef struct pgcdc__sink_env {
    pgcdc__ctx *ctx;
    pgcdc__ledger *ledger;
    pgcdc__stop *stop;              /* the worker's stop request (and its wake-up) */
    atomic_int *poke;               /* set to have the worker flush its sinks soon */
    const pgcdc__prop_value *props; /* the worker's, for pgcdc_sink_property */
    int nprops;
    pgcdc__dead_letter_fn dead_letter; /* NULL: the error policy is to halt */
    void *dead_letter_arg;
    const char *slot;      /* the worker's slot (a name for a sink's own ids) */
    char *const *database; /* its database's name, known once the worker started */
} pgcdc__sink_env;

struct pgcdc_sink {
    const pgcdc_sink_ops *ops;
    char *uri;
    char *shown; /* the URI for messages: no user, password or query */
    void *opaque;
    void *state;
    pgcdc_format format;
    int opened;
    pgcdc__ctx *ctx;
    pgcdc__ledger *ledger;
    const pgcdc__prop_value *props;
    int nprops;
    pgcdc__sink_env env;
    pgcdc__sink_counters stats;
    int relayed; /* the failure being returned was counted on the sink's thread */
};

/* A kind a configuration registered besides the built-in ones (pgcdc_config_register_sink_kind). */
typedef struct pgcdc__sink_kind_reg {
    const pgcdc_sink_ops *ops;
    void *opaque;
} pgcdc__sink_kind_reg;

/*
 * The kind for a URI ("-", "file:PATH", "KIND:..."): a built-in one, else
 * one of own (nown of them), else NULL.  *opaque (may be NULL) is set to
 * the registered kind's opaque (NULL for a built-in one).
 */
const pgcdc_sink_ops *pgcdc__sink_kind_for_uri(const pgcdc__sink_kind_reg *own, int nown,
                                               const char *uri, void **opaque);
/* The kind of that name ("file"), looked up as pgcdc__sink_kind_for_uri does. */
const pgcdc_sink_ops *pgcdc__sink_kind(const pgcdc__sink_kind_reg *own, int nown, const char *kind,
                                       void **opaque);
/* 1 when name is a built-in kind's name or another URI scheme of one ("https"), else 0. */
int pgcdc__sink_kind_builtin(const char *name);
/* The i-th built-in kind (from 0), NULL past the last; *prefix (may be NULL): "sink.<kind>". */
const pgcdc_sink_ops *pgcdc__sink_kind_at(int i, const char **prefix);
/* A kind's property of that name, or NULL. */
const pgcdc_property *pgcdc__sink_property(const pgcdc_sink_ops *ops, const char *name);

/*
 * A sink for ops at uri, in format unless sink.<kind>.format says another;
 * NULL on out of memory.  Not open yet.  env is copied.
 */
pgcdc_sink *pgcdc__sink_new(const pgcdc_sink_ops *ops, const char *uri, void *opaque,
                            pgcdc_format format, const pgcdc__sink_env *env);

/*
 * A URI as messages show it: without the user and password of its authority
 * and with its query as "?..." (either may hold credentials).
 */
void pgcdc__sink_uri_shown(const char *uri, char *out, size_t size);

/* ---- for the built-in sinks that deliver from threads of their own ---- */

/* Any thread: has the worker call the sink's flush soon (to pick up a failure, say). */
void pgcdc__sink_wake(const pgcdc_sink *sink);
/* The worker's slot and database names ("" when unknown: the database is, in open). */
const char *pgcdc__sink_slot(const pgcdc_sink *sink);
const char *pgcdc__sink_database(const pgcdc_sink *sink);
/* Any thread: one failure more in the sink's counters (one its own thread found). */
void pgcdc__sink_count_error(pgcdc_sink *sink);
/*
 * Checks the HOST[:PORT] in [host, end) of a URI: PGCDC_OK with *port set
 * when the URI has one (else left as it is) and *host_end (may be NULL) past
 * the name, or PGCDC_ERR_INVALID with a reason in err (form, "(use
 * redis://HOST:PORT/KEY)", follows "no host").
 */
int pgcdc__sink_host_port(const char *host, const char *end, const char *form, long *port,
                          const char **host_end, char *err, size_t errlen);
/* Any thread: the bytes the sink holds in flight now, for its counters. */
void pgcdc__sink_show_inflight(pgcdc_sink *sink, size_t bytes);
/* Any thread: 1 once the worker was asked to stop. */
int pgcdc__sink_stopping(const pgcdc_sink *sink);
/* Sleeps ms (a backoff) unless the worker is asked to stop: 1 when it was, before or during. */
int pgcdc__sink_pause(const pgcdc_sink *sink, int ms);
/* Worker's thread: 1 when the error policy is the dead-letter file, 0 when it is to halt. */
int pgcdc__sink_can_dead_letter(const pgcdc_sink *sink);
/* Worker's thread: writes data the sink gave up on, with why, durably to the dead-letter file. */
int pgcdc__sink_dead_letter(pgcdc_sink *sink, const char *data, size_t len, const char *why);
/*
 * The i-th property set for this sink's kind (from 0, in the order set, a
 * later one overriding an earlier one of the same name): 1 with *name (after
 * "sink.<kind>.") and *value, 0 past the last.
 */
int pgcdc__sink_prop_at(const pgcdc_sink *sink, int i, const char **name, const char **value);
/* A property as a number of its type (duration in ms, size in bytes): *out, or PGCDC_ERR_INVALID.
 */
int pgcdc__sink_prop_num(pgcdc_sink *sink, const char *key, long long *out);
/*
 * Open, write and flush: the sink's own result, with a message in the
 * context when it failed (its own, or one naming the sink).  Each counts
 * in the sink's counters (events, bytes, errors, acknowledgements).
 */
int pgcdc__sink_open(pgcdc_sink *sink);
/* PGCDC_HANDLED, PGCDC_DEFER or an error. */
int pgcdc__sink_write(pgcdc_sink *sink, pgcdc_sink_event *ev);
int pgcdc__sink_flush(pgcdc_sink *sink);
/* Flushes, then has the sink let go of its destination and take it up again. */
int pgcdc__sink_reopen(pgcdc_sink *sink);
/* Closes (once) and frees; NULL is a no-op. */
void pgcdc__sink_free(pgcdc_sink *sink);

void pgcdc__formats_init(pgcdc__formats *fs);
/* The options formatters get when made (the worker's, kept by it). */
void pgcdc__formats_set_options(pgcdc__formats *fs, const pgcdc__prop_value *props, int nprops);
/* The formatter of a format, made on first use with its options; NULL on out of memory. */
pgcdc_formatter *pgcdc__formats_get(pgcdc__formats *fs, pgcdc_format format);
/* What the formatter of a format needs of the catalog (PGCDC__REL_*); 0 when out of memory. */
int pgcdc__formats_needs(pgcdc__formats *fs, pgcdc_format format);
/* Takes a copy of the database name formats such as Debezium's name. */
int pgcdc__formats_set_dbname(pgcdc__formats *fs, const char *dbname);
void pgcdc__formats_clear(pgcdc__formats *fs);

/* Starts an event: nothing is formatted until a sink asks. */
void pgcdc__sink_event_init(pgcdc_sink_event *ev, pgcdc_event_kind kind, const pgcdc_txn *txn,
                            const pgcdc_change *change, pgcdc__formats *formats);

#endif /* PGCDC_SINK_SINK_H */
