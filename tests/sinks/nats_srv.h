/*
 * A nats-server -js of the test's own (Debian's, file storage in a temp
 * directory) and its streams read back with libnats.
 */
#ifndef PGCDC_TEST_NATS_SRV_H
#define PGCDC_TEST_NATS_SRV_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

typedef struct ns_server {
    pid_t pid; /* 0: not running */
    int port;
    char dir[64];
    char uri[128];     /* nats://127.0.0.1:PORT */
    const char *token; /* NULL: no authentication */
} ns_server;

/* Starts a server on a free port in a new directory (token: required from clients, or NULL). */
void ns_start(ns_server *s, const char *token);
/* Starts it again on the same port and store; waits until JetStream answers. */
void ns_restart(ns_server *s);
/* kill -9, and waits for it to be gone. */
void ns_kill(ns_server *s);
/* Stops it (if running) and removes its directory. */
void ns_stop(ns_server *s);
/*
 * Creates a file-storage stream of these subjects ("a.>") with that
 * duplicate window; max_msgs > 0: it refuses messages past that many.
 */
void ns_add_stream(ns_server *s, const char *name, const char *subject, int64_t dup_window_ms,
                   int64_t max_msgs);

typedef struct ns_msg {
    uint64_t seq; /* the stream's */
    char *subject;
    char *data;
    char *msg_id; /* the Nats-Msg-Id header, or NULL */
} ns_msg;

typedef struct ns_stream {
    ns_msg *m;
    size_t n;
} ns_stream;

/* Every message of the stream, in order (fails the test if the stream is missing). */
void ns_read(ns_server *s, const char *stream, ns_stream *out);
void ns_stream_free(ns_stream *st);
/* The stream's message count (-1 when it does not exist). */
long ns_count(ns_server *s, const char *stream);

#endif /* PGCDC_TEST_NATS_SRV_H */
