/*
 * Helpers for integration tests against the throwaway server that
 * scripts/pg-test-server started (its env file is in $PGCDC_TEST_ENV).
 */
#ifndef PGCDC_TESTLIB_H
#define PGCDC_TESTLIB_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <cmocka.h>
#include <libpq-fe.h>
#include <pthread.h>
#include <stdatomic.h>

#include "pgcdc.h"

/* Loads the server's environment (PGHOST, PGPORT, ...); fails the test if missing. */
void tl_env(void);
/* Value of a variable from the env file ("PGCDC_PGLOG"...), or NULL. */
const char *tl_envvar(const char *name);
/* Creates a fresh database (dropping one left over, with its slots); returns its conninfo. */
const char *tl_fresh_db(const char *name);
/* Connection to a database; asserts success. */
PGconn *tl_connect(const char *conninfo);
/* Runs SQL (printf-style) on the database; asserts success. */
void tl_sql(const char *conninfo, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* First column of the first row, malloc'd; NULL for SQL NULL or no row. */
char *tl_sql_value(const char *conninfo, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Asserts that tl_sql_value() would give want (NULL: SQL NULL or no row). */
void tl_sql_expect(const char *conninfo, const char *want, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* pg_current_wal_insert_lsn(). */
uint64_t tl_current_lsn(const char *conninfo);
/* confirmed_flush_lsn of a slot (0 if missing). */
uint64_t tl_slot_confirmed(const char *conninfo, const char *slot);
/* The server's server_version_num (e.g. 130023). */
int tl_server_version(const char *conninfo);
/*
 * 1 when the server has wal2json (a comparison plugin); otherwise 0, after
 * printing that the named test is skipped and why.
 */
int tl_have_wal2json(const char *conninfo, const char *test);
/* Terminates the walsender holding slot (waits up to 5 s from PostgreSQL 14 on). */
void tl_terminate_slot_holder(const char *conninfo, const char *slot);

/* One recorded change: everything as text for easy asserts. */
typedef struct tl_change {
    char op[16];
    char table[128]; /* schema.table */
    char *old_row;   /* "id=1 status='paid' note=NULL big=<unchanged> x=<absent>" or NULL */
    char *new_row;
    uint64_t commit_lsn;
    uint32_t seq;
    uint32_t xid;
    int64_t commit_time;
} tl_change;
/* Asserts a change's operation, table (unless NULL) and rows as tl_row_string gives them. */
void tl_expect_change(const tl_change *c, const char *op, const char *table, const char *old_row,
                      const char *new_row);

typedef struct tl_log {
    tl_change *items;
    size_t n;
    size_t cap;
    size_t begins;
    size_t commits;
} tl_log;

/* Formats a row as "name=value ..." (text values quoted with ''). */
char *tl_row_string(const pgcdc_row *row);
void tl_log_add(tl_log *log, const pgcdc_change *c);
void tl_log_free(tl_log *log);

/* A config for the db with slot, publication and tables ("a,b,c"); quiet logs. */
pgcdc_config *tl_config(const char *conninfo, const char *slot, const char *pub,
                        const char *tables);
/*
 * Runs a worker with the config until endpos, recording every change in log
 * (begin/commit counted).  Returns the run's result.
 */
int tl_run_until(pgcdc_config *cfg, uint64_t endpos, tl_log *log);
/* Runs a worker with cfg (freed with it) to endpos; the run must succeed. */
void tl_run_to_end(pgcdc_config *cfg, uint64_t endpos);
/* Starts a worker only (preflight etc.); returns the code, copies the message into msg. */
int tl_start_only(pgcdc_config *cfg, char *msg, size_t size);

/*
 * Starts a dedicated server (scripts/pg-test-server start with extra
 * arguments, e.g. "--set wal_sender_timeout=10s"); writes a conninfo for its
 * postgres database into conninfo and returns the path of its log.
 */
const char *tl_server_start(const char *name, const char *args, char *conninfo, size_t size);
void tl_server_stop(const char *name);

/* Newlines in a file (0 if it cannot be read). */
long tl_count_lines(const char *path);
/*
 * Drops what follows the file's last newline: a line a kill -9 cut in half
 * (a FILE's buffer goes out when full, wherever a line stands; such a line
 * was never confirmed, as pgcdc's file sink drops one).
 */
void tl_trim_torn(const char *path);

/*
 * Waits up to 30 s until n of the slots (a list of SQL literals, "'a', 'b'")
 * are active and created (a slot being created shows active before its
 * consistent point, and a commit before that point is not in it); fails the
 * test if they are not.
 */
void tl_wait_slots_active(const char *conninfo, const char *slots, int n);
/*
 * A TCP socket bound to a free port of 127.0.0.1, listening when
 * listen_too; its port in *port.
 */
int tl_bound_socket(int *port, int listen_too);
/* A port of 127.0.0.1 free right now (a server binds it a moment later; a client finds nobody). */
int tl_free_port(void);
/*
 * GET http://127.0.0.1:port/path: the HTTP status (0: no connection), the
 * body malloc'd in *out, and its Content-Type in type unless that is NULL.
 */
long tl_http_get(int port, const char *path, char **out, char *type, size_t tsize);
/* Sleeps ms milliseconds (a poll's pause; tests never assert a duration). */
void tl_sleep_ms(int ms);
/*
 * A load of transactions of rows rows each, committed by a thread of its own
 * (pthread_create(&ld.thread, NULL, tl_load_main, &ld)) until stop is set:
 * each inserts rows first..last into t (id, v), or runs what statement
 * writes, when set.
 */
typedef struct tl_loader {
    const char *db;
    int rows;
    void (*statement)(char *sql, size_t size, int first, int last);
    atomic_int done; /* transactions committed */
    atomic_int stop;
    pthread_t thread;
} tl_loader;

void *tl_load_main(void *arg);
/* Waits (up to 3 minutes) until n transactions were committed; fails the test if not. */
void tl_wait_loaded(tl_loader *ld, int n);

/*
 * Sink URIs checked by pgcdc_config_add_sink(): each bad[i][0] refused with a
 * one-line message holding bad[i][1], each good one taken.
 */
void tl_assert_sink_uris(pgcdc_config *cfg, const char *const (*bad)[2], size_t nbad,
                         const char *const *good, size_t ngood);
/*
 * A server the test runs (redis-server, nats-server...): argv[0] looked up on
 * the PATH, killed with the test should the test die first.  Its pid.
 */
pid_t tl_daemon_start(const char *const argv[]);
/* Sends sig (SIGTERM, SIGKILL) to *pid unless it is 0, waits for it to be gone, sets *pid to 0. */
void tl_daemon_stop(pid_t *pid, int sig);
/* 1 when *pid has exited (then *pid is 0), else 0. */
int tl_daemon_exited(pid_t *pid);

#define tl_assert_str(a, b) assert_string_equal((a), (b))

/*
 * A worker running in a thread of its own, so that a test can watch it (and
 * acknowledge, stop or inspect it) meanwhile.
 */
typedef struct tl_runner {
    pgcdc_worker *w;
    pthread_t thread;
    pthread_t run_thread; /* the thread pgcdc_worker_run() runs on, once running is set */
    atomic_int running;
    int result;
} tl_runner;

/* Creates and starts a worker from cfg (which may be freed then), and runs it in a new thread. */
void tl_runner_start(tl_runner *r, pgcdc_config *cfg);
/* Waits for the run to end; its result. */
int tl_runner_join(tl_runner *r);

#endif /* PGCDC_TESTLIB_H */
