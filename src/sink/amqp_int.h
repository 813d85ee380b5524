/*
 * Inside the RabbitMQ (AMQP 0-9-1) sink: see src/sink/amqp.c; its URI is split by
 * src/sink/amqp_uri.c and its frames made by src/sink/amqp_frames.c.
 */
#ifndef PGCDC_SINK_AMQP_INT_H
#define PGCDC_SINK_AMQP_INT_H

#include <stddef.h>

#include <amqp.h>

#include "base/buf.h"
#include "pgcdc.h"

/* The channel the sink publishes on. */
#define PGCDC__AMQP_CHANNEL 1

/* A URI's parts, percent-decoded (user and password "guest" when it has none). */
typedef struct pgcdc__amqp_uri {
    char *user;
    char *password;
    char *host;
    int port;       /* 5672 when it has none */
    char *exchange; /* "": the default exchange */
} pgcdc__amqp_uri;

/*
 * Splits a URI into *u (free it with pgcdc__amqp_free_uri, also after a
 * failure): PGCDC_OK, or PGCDC_ERR_INVALID / PGCDC_ERR_NOMEM with a one-line
 * reason in err that never shows the user or password.
 */
int pgcdc__amqp_parse_uri(const char *uri, pgcdc__amqp_uri *u, char *err, size_t errlen);
void pgcdc__amqp_free_uri(pgcdc__amqp_uri *u);
/* The sink's check_uri. */
int pgcdc__amqp_check_uri(const char *uri, char *err, size_t errlen);

/*
 * Appends to b the frames of one persistent message (content type
 * application/json, message_id id) published to exchange with routing key
 * key (at most 255 bytes each), mandatory or not.  b's oom flag says when
 * memory ran out.
 */
void pgcdc__amqp_put_publish(pgcdc__buf *b, const char *exchange, const char *key, size_t keylen,
                             int mandatory, const char *id, size_t idlen, const char *data,
                             size_t len);

/* The failures of pgcdc__amqp_rpc_why(): one that retrying will not mend, one it may. */
#define PGCDC__AMQP_REFUSED -2
#define PGCDC__AMQP_RETRY -1

/*
 * Why an RPC failed, in why: PGCDC_OK when it did not, PGCDC__AMQP_REFUSED
 * for a refusal that will not pass by retrying (credentials, vhost,
 * exchange), PGCDC__AMQP_RETRY otherwise.
 */
int pgcdc__amqp_rpc_why(amqp_rpc_reply_t reply, const char *what, char *why, size_t size);
#endif /* PGCDC_SINK_AMQP_INT_H */
