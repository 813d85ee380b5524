/*
 * A rabbitmq-server of the test's own (free ports, its own epmd, its data in
 * a directory of its own), its queues made and read back with librabbitmq.
 */
#ifndef PGCDC_TEST_AMQP_SRV_H
#define PGCDC_TEST_AMQP_SRV_H

#include <stddef.h>
#include <sys/types.h>

typedef struct rq_server {
    pid_t pid;  /* the node (beam.smp); 0: not running */
    pid_t epmd; /* its own epmd, on a port of its own */
    int port;
    int dist_port;
    int epmd_port;
    char dir[64];
    char uri[128]; /* amqp://127.0.0.1:PORT */
} rq_server;

/* Starts a node on free ports in a new directory; waits until it takes logins. */
void rq_start(rq_server *s);
/* Starts it again on the same ports and data (durable queues and persistent messages kept). */
void rq_restart(rq_server *s);
/* kill -9 of the node, and waits for it to be gone. */
void rq_kill(rq_server *s);
/* Stops the node (if running) and its epmd, and removes its directory. */
void rq_stop(rq_server *s);

/*
 * Declares a topic exchange (durable; "" is the default exchange, which
 * needs none) and a durable queue bound to it with binding (none on the
 * default exchange), emptied.
 */
void rq_queue(rq_server *s, const char *exchange, const char *queue, const char *binding);
/*
 * Waits until the durable queue takes a passive declare (after a restart, a
 * node recovers its queues; one that failed to fails the test with the
 * node's log), and binds it to exchange again: a node killed under load has
 * been seen to come back with the queue but without its binding, returning
 * every message as unroutable.
 */
void rq_wait_queue(rq_server *s, const char *exchange, const char *queue, const char *binding);
/* The tail of the node's log, on stderr. */
void rq_print_log(const rq_server *s);
/* Declares a durable topic exchange with no queue bound. */
void rq_exchange(rq_server *s, const char *exchange);

typedef struct rq_msg {
    char *body;
    char *message_id;
    char *content_type;
    char *routing_key;
    char *exchange;
    int delivery_mode;
} rq_msg;

typedef struct rq_msgs {
    rq_msg *m;
    size_t n;
} rq_msgs;

/* Takes every message off the queue (basic.get), in order. */
void rq_read(rq_server *s, const char *queue, rq_msgs *out);
void rq_msgs_free(rq_msgs *msgs);

#endif /* PGCDC_TEST_AMQP_SRV_H */
