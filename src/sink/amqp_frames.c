/*
 * The frames of a basic.publish as AMQP 0-9-1 puts them on the wire, made
 * here so that the sink writes a batch of messages with one system call.
 */
#include <stdio.h>
#include <string.h>

#include <amqp.h>
#include <amqp_framing.h>

#include "sink/amqp.h"
#include "sink/amqp_int.h"

/* Bodies go in frames of at most this much: fits the smallest frame_max a broker may set. */
#define BODY_CHUNK (4096 - 8)

static void put_shortstr(pgcdc__buf *b, const void *s, size_t n)
{
    pgcdc__buf_u8(b, (uint8_t)n);
    pgcdc__buf_put(b, s, n);
}

static void frame_start(pgcdc__buf *b, uint8_t type, size_t size)
{
    pgcdc__buf_u8(b, type);
    pgcdc__buf_u16(b, PGCDC__AMQP_CHANNEL);
    pgcdc__buf_u32(b, (uint32_t)size);
}

void pgcdc__amqp_put_publish(pgcdc__buf *b, const char *exchange, const char *key, size_t keylen,
                             int mandatory, const char *id, size_t idlen, const char *data,
                             size_t len)
{
    static const char ctype[] = "application/json";
    size_t exlen = strlen(exchange);

    frame_start(b, AMQP_FRAME_METHOD, 4 + 2 + 1 + exlen + 1 + keylen + 1);
    pgcdc__buf_u32(b, AMQP_BASIC_PUBLISH_METHOD);
    pgcdc__buf_u16(b, 0); /* ticket */
    put_shortstr(b, exchange, exlen);
    put_shortstr(b, key, keylen);
    pgcdc__buf_u8(b, mandatory ? 1 : 0); /* mandatory, not immediate */
    pgcdc__buf_u8(b, AMQP_FRAME_END);
    frame_start(b, AMQP_FRAME_HEADER, 2 + 2 + 8 + 2 + 1 + sizeof(ctype) - 1 + 1 + 1 + idlen);
    pgcdc__buf_u16(b, AMQP_BASIC_CLASS);
    pgcdc__buf_u16(b, 0); /* weight */
    pgcdc__buf_u64(b, len);
    pgcdc__buf_u16(b, AMQP_BASIC_CONTENT_TYPE_FLAG | AMQP_BASIC_DELIVERY_MODE_FLAG |
                          AMQP_BASIC_MESSAGE_ID_FLAG);
    put_shortstr(b, ctype, sizeof(ctype) - 1);
    pgcdc__buf_u8(b, AMQP_DELIVERY_PERSISTENT);
    put_shortstr(b, id, idlen);
    pgcdc__buf_u8(b, AMQP_FRAME_END);
    for (size_t off = 0; off < len; off += BODY_CHUNK) {
        size_t n = len - off < BODY_CHUNK ? len - off : BODY_CHUNK;

        frame_start(b, AMQP_FRAME_BODY, n);
        pgcdc__buf_put(b, data + off, n);
        pgcdc__buf_u8(b, AMQP_FRAME_END);
    }
}

/*
 * Why an RPC failed, in why: PGCDC_OK when it did not, PGCDC__AMQP_REFUSED for a
 * refusal that will not pass by retrying (credentials, vhost, exchange),
 * PGCDC__AMQP_RETRY otherwise.
 */
int pgcdc__amqp_rpc_why(amqp_rpc_reply_t reply, const char *what, char *why, size_t size)
{
    const amqp_connection_close_t *cc;
    const amqp_channel_close_t *ch;

    switch (reply.reply_type) {
    case AMQP_RESPONSE_NORMAL:
        return PGCDC_OK;
    case AMQP_RESPONSE_LIBRARY_EXCEPTION:
        snprintf(why, size, "%s: %s", what, amqp_error_string2(reply.library_error));
        return PGCDC__AMQP_RETRY;
    case AMQP_RESPONSE_SERVER_EXCEPTION:
        if (reply.reply.id == AMQP_CONNECTION_CLOSE_METHOD) {
            cc = reply.reply.decoded;
            snprintf(why, size, "%s: %.*s", what, (int)cc->reply_text.len,
                     (const char *)cc->reply_text.bytes);
            /* 403 ACCESS_PGCDC__AMQP_REFUSED, 530 NOT_ALLOWED (no such vhost) */
            return cc->reply_code == 403 || cc->reply_code == 530 ? PGCDC__AMQP_REFUSED
                                                                  : PGCDC__AMQP_RETRY;
        }
        if (reply.reply.id == AMQP_CHANNEL_CLOSE_METHOD) {
            ch = reply.reply.decoded;
            snprintf(why, size, "%s: %.*s", what, (int)ch->reply_text.len,
                     (const char *)ch->reply_text.bytes);
            return ch->reply_code == 403 || ch->reply_code == 404 ? PGCDC__AMQP_REFUSED
                                                                  : PGCDC__AMQP_RETRY;
        }
        snprintf(why, size, "%s: unexpected method 0x%08x", what, (unsigned)reply.reply.id);
        return PGCDC__AMQP_RETRY;
    default:
        snprintf(why, size, "%s: no reply", what);
        return PGCDC__AMQP_RETRY;
    }
}
