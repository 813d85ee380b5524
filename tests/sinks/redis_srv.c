/*
 * The test's own redis-server and its streams read back (see redis_srv.h).
 */
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <hiredis/hiredis.h>

#include "redis_srv.h"
#include "testlib.h"

static redisContext *connect_to(const rs_server *s)
{
    struct timeval tv = {5, 0};
    redisContext *c = redisConnectWithTimeout("127.0.0.1", s->port, tv);

    if (c != NULL && c->err != 0) {
        redisFree(c);
        return NULL;
    }
    return c;
}

/* Waits up to 60 s until the server answers PING (not while it loads its AOF). */
static void wait_ready(rs_server *s)
{
    for (int i = 0; i < 600; i++) {
        redisContext *c = connect_to(s);
        redisReply *reply = c != NULL ? redisCommand(c, "PING") : NULL;
        int ok = reply != NULL && reply->type == REDIS_REPLY_STATUS;

        if (reply != NULL)
            freeReplyObject(reply);
        if (c != NULL)
            redisFree(c);
        if (ok)
            return;
        if (tl_daemon_exited(&s->pid))
            fail_msg("redis-server on port %d exited (see %s/redis.log)", s->port, s->dir);
        tl_sleep_ms(100);
    }
    fail_msg("redis-server on port %d never answered", s->port);
}

static void spawn(rs_server *s)
{
    char port[16];
    char log[128];
    const char *argv[] = {"redis-server",
                          "--port",
                          port,
                          "--bind",
                          "127.0.0.1",
                          "--appendonly",
                          "yes",
                          "--appendfsync",
                          "always",
                          "--dir",
                          s->dir,
                          "--save",
                          "",
                          "--daemonize",
                          "no",
                          "--logfile",
                          log,
                          NULL};

    snprintf(port, sizeof(port), "%d", s->port);
    snprintf(log, sizeof(log), "%s/redis.log", s->dir);
    s->pid = tl_daemon_start(argv);
    wait_ready(s);
}

void rs_start(rs_server *s)
{
    memset(s, 0, sizeof(*s));
    snprintf(s->dir, sizeof(s->dir), "/tmp/pgcdc-redis-XXXXXX");
    assert_non_null(mkdtemp(s->dir));
    s->port = tl_free_port();
    snprintf(s->uri, sizeof(s->uri), "redis://127.0.0.1:%d", s->port);
    spawn(s);
}

void rs_restart(rs_server *s)
{
    assert_int_equal(s->pid, 0);
    spawn(s);
}

void rs_kill(rs_server *s)
{
    tl_daemon_stop(&s->pid, SIGKILL);
}

void rs_stop(rs_server *s)
{
    char cmd[128];

    tl_daemon_stop(&s->pid, SIGTERM);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", s->dir);
    assert_int_equal(system(cmd), 0);
}

void rs_command(rs_server *s, const char *fmt, ...)
{
    redisContext *c = connect_to(s);
    redisReply *reply;
    va_list ap;

    assert_non_null(c);
    va_start(ap, fmt);
    reply = redisvCommand(c, fmt, ap);
    va_end(ap);
    if (reply == NULL || reply->type == REDIS_REPLY_ERROR)
        fail_msg("%s: %s", fmt, reply != NULL ? reply->str : c->errstr);
    freeReplyObject(reply);
    redisFree(c);
}

void rs_read(rs_server *s, const char *key, rs_stream *out)
{
    redisContext *c = connect_to(s);
    redisReply *reply;

    memset(out, 0, sizeof(*out));
    assert_non_null(c);
    reply = redisCommand(c, "XRANGE %s - +", key);
    if (reply == NULL || reply->type != REDIS_REPLY_ARRAY)
        fail_msg("XRANGE %s: %s", key,
                 reply == NULL                      ? c->errstr
                 : reply->type == REDIS_REPLY_ERROR ? reply->str
                                                    : "?");
    out->e = calloc(reply->elements + 1, sizeof(*out->e));
    assert_non_null(out->e);
    for (size_t i = 0; i < reply->elements; i++) {
        redisReply *entry = reply->element[i];
        redisReply *fields = entry->element[1];
        rs_entry *e = &out->e[out->n++];

        assert_int_equal(sscanf(entry->element[0]->str, "%" SCNu64 "-%" SCNu64, &e->ms, &e->seq),
                         2);
        e->nfields = (int)(fields->elements / 2);
        for (size_t f = 0; f + 1 < fields->elements; f += 2) {
            if (strcmp(fields->element[f]->str, "event") == 0)
                e->event = strdup(fields->element[f + 1]->str);
            if (strcmp(fields->element[f]->str, "schema_change") == 0)
                e->schema_change = strdup(fields->element[f + 1]->str);
        }
    }
    freeReplyObject(reply);
    redisFree(c);
}

void rs_stream_free(rs_stream *st)
{
    for (size_t i = 0; i < st->n; i++) {
        free(st->e[i].event);
        free(st->e[i].schema_change);
    }
    free(st->e);
    memset(st, 0, sizeof(*st));
}
