/*
 * The error and log context: one-line messages built in place, and log
 * lines handed to the hook or written to stderr.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "base/log.h"

static const char *const level_names[] = {"error", "warning", "info", "debug"};

void pgcdc__ctx_init(pgcdc__ctx *ctx, pgcdc__log_fn log, void *opaque, int level)
{
    ctx->log = log;
    ctx->opaque = opaque;
    ctx->level = level;
    ctx->msg[0] = '\0';
    ctx->stop = NULL;
    ctx->interrupted = 0;
}

void pgcdc__ctx_set_stop(pgcdc__ctx *ctx, pgcdc__stop *s)
{
    ctx->stop = s;
}

int pgcdc__ctx_stopping(const pgcdc__ctx *ctx)
{
    return ctx != NULL && ctx->stop != NULL && pgcdc__stop_requested(ctx->stop);
}

int pgcdc__interrupted(pgcdc__ctx *ctx, int err, const char *what)
{
    if (ctx == NULL || ctx->interrupted)
        return err;
    snprintf(ctx->msg, sizeof(ctx->msg), "interrupted while trying to %s", what);
    ctx->interrupted = 1;
    return err;
}

int pgcdc__vfail(pgcdc__ctx *ctx, int err, const char *fmt, va_list ap)
{
    if (ctx != NULL && !ctx->interrupted)
        vsnprintf(ctx->msg, sizeof(ctx->msg), fmt, ap);
    return err;
}

int pgcdc__fail(pgcdc__ctx *ctx, int err, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    pgcdc__vfail(ctx, err, fmt, ap);
    va_end(ap);
    return err;
}

int pgcdc__wrap(pgcdc__ctx *ctx, int err, const char *fmt, ...)
{
    char cause[PGCDC__MSG_SIZE];
    va_list ap;
    int n;

    if (ctx == NULL || ctx->interrupted)
        return err;
    memcpy(cause, ctx->msg, sizeof(cause));
    va_start(ap, fmt);
    n = vsnprintf(ctx->msg, sizeof(ctx->msg), fmt, ap);
    va_end(ap);
    if (n >= 0 && (size_t)n + 2 < sizeof(ctx->msg) && cause[0] != '\0') {
        size_t room = sizeof(ctx->msg) - (size_t)n - 2;
        size_t len = strnlen(cause, room - 1);

        memcpy(ctx->msg + n, ": ", 2);
        memcpy(ctx->msg + n + 2, cause, len);
        ctx->msg[(size_t)n + 2 + len] = '\0';
    }
    return err;
}

int pgcdc__append(pgcdc__ctx *ctx, int err, const char *fmt, ...)
{
    size_t n;
    va_list ap;

    if (ctx == NULL || ctx->interrupted)
        return err;
    n = strlen(ctx->msg);
    va_start(ap, fmt);
    vsnprintf(ctx->msg + n, sizeof(ctx->msg) - n, fmt, ap);
    va_end(ap);
    return err;
}

const char *pgcdc__errmsg(const pgcdc__ctx *ctx)
{
    return ctx != NULL ? ctx->msg : "";
}

void pgcdc__log(pgcdc__ctx *ctx, int level, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    pgcdc__vlog(ctx, level, fmt, ap);
    va_end(ap);
}

void pgcdc__vlog(pgcdc__ctx *ctx, int level, const char *fmt, va_list ap)
{
    char line[PGCDC__MSG_SIZE + 64];

    if (ctx == NULL || level > ctx->level || level < 0)
        return;
    vsnprintf(line, sizeof(line), fmt, ap);
    if (ctx->log != NULL)
        ctx->log(ctx->opaque, level, line);
    else
        fprintf(stderr, "pgcdc: %s: %s\n", level_names[level > 3 ? 3 : level], line);
}

void pgcdc__one_line(char *dst, size_t size, const char *msg)
{
    size_t n = 0;
    int space = 0;

    if (size == 0)
        return;
    for (const char *p = msg; *p != '\0' && n + 1 < size; p++) {
        if (*p == '\n' || *p == '\t' || *p == '\r') {
            space = 1;
            continue;
        }
        if (space && n > 0)
            dst[n++] = ' ';
        space = 0;
        if (n + 1 < size)
            dst[n++] = *p;
    }
    while (n > 0 && dst[n - 1] == ' ')
        n--;
    dst[n] = '\0';
}
