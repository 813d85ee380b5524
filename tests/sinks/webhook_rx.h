/*
 * The local webhook receiver the http sink's tests talk to
 * (webhook_receiver.py, started as a child process), and readers of what it
 * received.
 */
#ifndef PGCDC_TEST_WEBHOOK_RX_H
#define PGCDC_TEST_WEBHOOK_RX_H

#include <sys/types.h>

#include <jansson.h>

typedef struct rx {
    pid_t pid;
    int tls;
    char store[64];
    char url[128];
    char ca[320];
} rx;

/* Makes the self-signed certificate the TLS receiver uses (cmocka group setup/teardown). */
int rx_make_cert(void **state);
int rx_remove_cert(void **state);
/* Starts a receiver (checking signatures with secret, unless NULL; TLS with tls). */
void rx_start(rx *r, const char *secret, int tls);
void rx_stop(rx *r);
/* Posts a command to the receiver's control endpoint; its answer. */
json_t *rx_control(const rx *r, const char *cmd);
/* A number from the receiver's state: "requests", "held". */
long rx_stat(const rx *r, const char *what);
/* Every request the receiver stored, in arrival order. */
json_t *rx_requests(const rx *r);
/* A request's header (lower-case name), or NULL. */
const char *rx_header(json_t *req, const char *name);
/* The events of the accepted requests, a batch seen twice (a retry) counted once. */
json_t *rx_events(const rx *r, int ndjson);
/* Asserts the "new" ids of the events are from..to, in order. */
void rx_expect_ids(json_t *events, int from, int to);

#endif /* PGCDC_TEST_WEBHOOK_RX_H */
