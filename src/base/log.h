/*
 * The error and log context: every layer below the worker fails and logs
 * through one, never through the worker.  A failure sets a one-line message
 * and returns its code; pgcdc__wrap puts what was being done in front of the
 * cause already there.  A context belongs to one thread (the worker's), so
 * the log hook is never called from another thread or with a lock held.
 */
#ifndef PGCDC_BASE_LOG_H
#define PGCDC_BASE_LOG_H

#include <stdarg.h>
#include <stddef.h>

#include "base/stop.h"

#define PGCDC__MSG_SIZE 1024

/* Levels: the values of pgcdc_log_level (error 0, warning 1, info 2, debug 3). */
typedef void (*pgcdc__log_fn)(void *opaque, int level, const char *msg);

typedef struct pgcdc__ctx {
    pgcdc__log_fn log; /* NULL: lines at or below level go to stderr */
    void *opaque;
    int level;
    char msg[PGCDC__MSG_SIZE]; /* the last failure's message, "" if none */
    /*
     * The stop request that server commands and connection attempts made
     * through this context give way to (NULL: none), and whether one did:
     * then the message says what was interrupted, and later failures on the
     * way out keep it.
     */
    pgcdc__stop *stop;
    int interrupted;
} pgcdc__ctx;

void pgcdc__ctx_init(pgcdc__ctx *ctx, pgcdc__log_fn log, void *opaque, int level);
/* Server commands through ctx give way to a stop requested on s. */
void pgcdc__ctx_set_stop(pgcdc__ctx *ctx, pgcdc__stop *s);
/* 1 when a stop was requested on the context's stop. */
int pgcdc__ctx_stopping(const pgcdc__ctx *ctx);
/* Records that what was being done gave way to a stop request ("interrupted while <what>"). */
int pgcdc__interrupted(pgcdc__ctx *ctx, int err, const char *what);

/*
 * Sets the message and returns err.  ctx may be NULL (a failure nobody
 * reports, such as a cleanup after an error): then only err is returned.
 */
int pgcdc__fail(pgcdc__ctx *ctx, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* "<fmt>: <the message already there>": what was being done, then its cause. */
int pgcdc__wrap(pgcdc__ctx *ctx, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* "<the message already there><fmt>": a consequence or a hint after the cause. */
int pgcdc__append(pgcdc__ctx *ctx, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The last failure's message, "" if none. */
const char *pgcdc__errmsg(const pgcdc__ctx *ctx);

void pgcdc__log(pgcdc__ctx *ctx, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The same with a va_list, for the public printf-style entry points. */
int pgcdc__vfail(pgcdc__ctx *ctx, int err, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));
void pgcdc__vlog(pgcdc__ctx *ctx, int level, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

/* Copies msg into dst as one line: newlines and tabs folded to a space, trailing space cut. */
void pgcdc__one_line(char *dst, size_t size, const char *msg);

#endif /* PGCDC_BASE_LOG_H */
