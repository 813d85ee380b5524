/*
 * libFuzzer entry point for the pgoutput decoder: each input is decoded as a
 * wrapped CopyData message, as a bare pgoutput message, and as a bare message
 * inside a stream; every view of every message is read.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wire/writer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static volatile uint32_t sink;

static void touch_str(const char *s)
{
    sink += (uint32_t)strlen(s);
}

static void touch_tuple(const pgcdc__tuple *t)
{
    for (uint16_t i = 0; i < t->ncols; i++) {
        const pgcdc__col *col = &t->cols[i];

        if (col->kind == PGCDC_COL_TEXT || col->kind == PGCDC_COL_BINARY) {
            for (uint32_t j = 0; j < col->len; j++) {
                sink += (unsigned char)col->data[j];
            }
            if (col->data[col->len] != '\0') {
                abort();
            }
        } else if (col->kind != PGCDC_COL_NULL && col->kind != PGCDC_COL_UNCHANGED) {
            abort();
        }
    }
}

static void touch(const pgcdc__msg *msg)
{
    sink += msg->xid + (uint32_t)msg->wal_end + (uint32_t)msg->streamed;
    switch (msg->type) {
    case PGCDC_MSG_ORIGIN:
        touch_str(msg->u.origin.name);
        break;
    case PGCDC_MSG_RELATION:
        touch_str(msg->u.relation.nspname);
        touch_str(msg->u.relation.relname);
        for (uint16_t i = 0; i < msg->u.relation.ncols; i++) {
            touch_str(msg->u.relation.cols[i].name);
            sink += msg->u.relation.cols[i].type_oid;
        }
        break;
    case PGCDC_MSG_TYPE:
        touch_str(msg->u.type.nspname);
        touch_str(msg->u.type.typname);
        break;
    case PGCDC_MSG_INSERT:
    case PGCDC_MSG_UPDATE:
    case PGCDC_MSG_DELETE:
        touch_tuple(&msg->u.change.old);
        touch_tuple(&msg->u.change.new_);
        break;
    case PGCDC_MSG_TRUNCATE:
        for (uint32_t i = 0; i < msg->u.truncate.nrels; i++) {
            sink += pgcdc__truncate_relid(msg, i);
        }
        break;
    case PGCDC_MSG_MESSAGE:
        touch_str(msg->u.message.prefix);
        for (uint32_t i = 0; i < msg->u.message.len; i++) {
            sink += (unsigned char)msg->u.message.content[i];
        }
        if (msg->u.message.content[msg->u.message.len] != '\0') {
            abort();
        }
        break;
    case PGCDC_MSG_BEGIN_PREPARE:
    case PGCDC_MSG_PREPARE:
    case PGCDC_MSG_COMMIT_PREPARED:
    case PGCDC_MSG_ROLLBACK_PREPARED:
    case PGCDC_MSG_STREAM_PREPARE:
        touch_str(msg->u.twophase.gid);
        sink += (uint32_t)msg->u.twophase.end_lsn + (uint32_t)msg->u.twophase.rollback_time;
        break;
    default:
        break;
    }
}

/* Decodes a private copy (with the spare byte) and pulls until nothing is left. */
static void run(pgcdc__decoder *dec, const uint8_t *data, size_t size, int raw)
{
    uint8_t *copy = malloc(size + 1);
    pgcdc__msg msg;
    int rc;
    int n = 0;

    if (copy == NULL) {
        return;
    }
    if (size > 0) {
        memcpy(copy, data, size);
    }
    pgcdc__decoder_feed(dec, copy, size, raw);
    for (rc = pgcdc__decoder_next(dec, &msg); rc == 1; rc = pgcdc__decoder_next(dec, &msg)) {
        touch(&msg);
        n++;
    }
    /* One fed buffer is one message; an error must come with a message. */
    if (n > 1 || (rc < 0 && pgcdc__decoder_error(dec)[0] == '\0')) {
        abort();
    }
    free(copy);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint8_t stream_start[] = {'S', 0, 0, 0, 42, 1, 0};
    pgcdc__decoder *dec = pgcdc__decoder_new();

    if (dec == NULL) {
        return 0;
    }
    run(dec, data, size, 0);
    pgcdc__decoder_reset(dec);
    run(dec, data, size, 1);
    pgcdc__decoder_reset(dec);
    run(dec, stream_start, 6, 1);
    run(dec, data, size, 1);
    pgcdc__decoder_free(dec);
    return 0;
}
