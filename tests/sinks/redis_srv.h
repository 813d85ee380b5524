/*
 * A redis-server of the test's own (a free port, its AOF in a directory of
 * its own, fsynced at every write), and its streams read back with XRANGE.
 */
#ifndef PGCDC_TEST_REDIS_SRV_H
#define PGCDC_TEST_REDIS_SRV_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

typedef struct rs_server {
    pid_t pid; /* 0: not running */
    int port;
    char dir[64];
    char uri[128]; /* redis://127.0.0.1:PORT */
} rs_server;

/* Starts a server on a free port in a new directory; waits until it answers. */
void rs_start(rs_server *s);
/* Starts it again on the same port and directory (its AOF loaded); waits until it answers. */
void rs_restart(rs_server *s);
/* kill -9, and waits for it to be gone. */
void rs_kill(rs_server *s);
/* Stops it (if running) and removes its directory. */
void rs_stop(rs_server *s);
/* Runs a command (printf-style, as hiredis takes it) and checks it succeeded. */
void rs_command(rs_server *s, const char *fmt, ...);

typedef struct rs_entry {
    uint64_t ms; /* the ID's two halves */
    uint64_t seq;
    char *event;         /* the field "event" */
    char *schema_change; /* the field "schema_change" */
    int nfields;         /* field-value pairs */
} rs_entry;

typedef struct rs_stream {
    rs_entry *e;
    size_t n;
} rs_stream;

/* Every entry of the stream at key, in order (none when the key does not exist). */
void rs_read(rs_server *s, const char *key, rs_stream *out);
void rs_stream_free(rs_stream *st);

#endif /* PGCDC_TEST_REDIS_SRV_H */
