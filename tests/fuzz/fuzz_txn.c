/*
 * libFuzzer entry point for transaction assembly: a sequence of messages fed
 * to a fresh assembly, every event pulled after each, and every field and
 * value of it read through the public accessors.
 *
 * Input: one byte of options (bit 0 binary values, bit 1 an end position in
 * the next 8 bytes, big-endian, bit 2 a list of tables instead of all), then
 * records: a 2-byte big-endian length and that many bytes, fed as a bare
 * pgoutput message, or with the top bit of the length set as a replication
 * CopyData message; the length 0xffff is a cut (a lost connection) instead.
 * scripts/make-txn-corpus writes the golden captures in this form.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/txn.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static volatile uint64_t sink;

static void touch_str(const char *s)
{
    if (s != NULL)
        sink += strlen(s);
}

static void touch_bytes(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        sink += (unsigned char)s[i];
    /* Accessors hand out NUL-terminated text. */
    if (s[len] != '\0')
        abort();
}

/* Every column: its metadata, its state, and every typed read of its value. */
static void touch_row(const pgcdc_row *row)
{
    int ncols = pgcdc_row_ncols(row);

    for (int i = -1; i <= ncols; i++) {
        pgcdc_value_state st = pgcdc_row_state(row, i);
        const char *text;
        size_t len;
        int64_t i64;
        double d;
        int b;
        uint8_t bytes[64];
        int r;

        touch_str(pgcdc_row_name(row, i));
        touch_str(pgcdc_row_type_name(row, i));
        sink += pgcdc_row_type(row, i) + (uint64_t)pgcdc_row_is_key(row, i) + st;
        if (i >= 0 && i < ncols && pgcdc_row_find(row, pgcdc_row_name(row, i)) > i)
            abort();
        r = pgcdc_row_get_text(row, i, &text, &len);
        if ((r == PGCDC_OK) != (st == PGCDC_VALUE_PRESENT && i >= 0 && i < ncols))
            abort();
        if (r == PGCDC_OK)
            touch_bytes(text, len);
        if (pgcdc_row_get_int64(row, i, &i64) == PGCDC_OK)
            sink += (uint64_t)i64;
        if (pgcdc_row_get_double(row, i, &d) == PGCDC_OK)
            sink += d == d;
        if (pgcdc_row_get_bool(row, i, &b) == PGCDC_OK)
            sink += (uint64_t)b;
        if (pgcdc_row_get_numeric(row, i, &text) == PGCDC_OK)
            touch_str(text);
        if (pgcdc_row_get_timestamp(row, i, &i64) == PGCDC_OK)
            sink += (uint64_t)i64;
        if (pgcdc_row_get_bytea(row, i, bytes, sizeof(bytes), &len) == PGCDC_OK) {
            if (len > sizeof(bytes))
                abort();
            for (size_t k = 0; k < len; k++)
                sink += bytes[k];
        }
        if (pgcdc_row_get_json(row, i, &text) == PGCDC_OK)
            touch_str(text);
    }
}

static void touch_txn(const pgcdc_txn *txn)
{
    sink += pgcdc_txn_xid(txn) + pgcdc_txn_commit_lsn(txn) + pgcdc_txn_end_lsn(txn) +
            (uint64_t)pgcdc_txn_commit_time(txn) + pgcdc_txn_nchanges(txn) + pgcdc_txn_token(txn) +
            (uint64_t)pgcdc_txn_two_phase(txn);
    if ((pgcdc_txn_gid(txn) != NULL) != (pgcdc_txn_two_phase(txn) != PGCDC_TWO_PHASE_NONE))
        abort();
    touch_str(pgcdc_txn_gid(txn));
    touch_str(txn->origin);
}

static void touch_change(const pgcdc_change *c, const pgcdc_txn *txn)
{
    if (pgcdc_change_txn(c) != txn || pgcdc_change_xid(c) != pgcdc_txn_xid(txn))
        abort();
    touch_str(pgcdc_op_name(pgcdc_change_op(c)));
    touch_str(pgcdc_change_schema(c));
    touch_str(pgcdc_change_table(c));
    sink += pgcdc_change_relid(c) + pgcdc_change_commit_lsn(c) +
            (uint64_t)pgcdc_change_commit_time(c) + pgcdc_change_seq(c) + pgcdc_change_token(c) +
            (uint64_t)pgcdc_change_truncate_flags(c);
    for (int k = -1; k <= pgcdc_change_nkeys(c); k++)
        touch_str(pgcdc_change_key(c, k));
    if (pgcdc_change_old(c) != NULL)
        touch_row(pgcdc_change_old(c));
    if (pgcdc_change_new(c) != NULL)
        touch_row(pgcdc_change_new(c));
}

/* What the events said so far, to check their order. */
typedef struct order {
    int in_txn;
    int any_change;
    uint32_t last_seq;
    int schema; /* the last event was a schema change: the next change has its seq */
    uint32_t schema_seq;
} order;

/* Pulls every event; on an error, cuts as the worker does before it reconnects. */
static void drain(pgcdc__assembly *ta, pgcdc__ctx *ctx, order *o)
{
    pgcdc__event ev;
    int r;

    while ((r = pgcdc__assembly_next(ta, &ev)) == 1) {
        switch (ev.type) {
        case PGCDC__EV_BEGIN:
            if (o->in_txn)
                abort();
            o->in_txn = 1;
            o->any_change = 0;
            o->schema = 0;
            touch_txn(ev.txn);
            break;
        case PGCDC__EV_CHANGE: {
            /*
             * Inside a transaction, in order, each change once; a schema
             * change right before the change whose seq it has.
             */
            uint32_t seq = pgcdc_change_seq(ev.change);
            int schema = pgcdc_change_op(ev.change) == PGCDC_OP_SCHEMA;

            if (!o->in_txn || (o->schema && (schema || seq != o->schema_seq)) ||
                (!o->schema && o->any_change && seq <= o->last_seq))
                abort();
            o->schema = schema;
            o->schema_seq = seq;
            if (pgcdc_change_ddl(ev.change) != NULL)
                sink += strlen(pgcdc_change_ddl(ev.change));
            if (!schema) {
                o->any_change = 1;
                o->last_seq = seq;
            }
            touch_txn(ev.txn);
            touch_change(ev.change, ev.txn);
            break;
        }
        case PGCDC__EV_COMMIT:
            if (!o->in_txn || o->schema)
                abort();
            o->in_txn = 0;
            touch_txn(ev.txn);
            break;
        case PGCDC__EV_KEEPALIVE:
            sink += ev.idle_lsn + (uint64_t)ev.reply;
            break;
        case PGCDC__EV_TEXT_MODE:
            break;
        case PGCDC__EV_MESSAGE:
            /* Prefix and content are read as the worker reads them (snapshot.c). */
            sink += strlen(ev.message->u.message.prefix) + ev.message->u.message.len;
            if (ev.message->u.message.len > 0)
                sink += (uint8_t)ev.message->u.message.content[ev.message->u.message.len - 1];
            break;
        case PGCDC__EV_RELATION:
            for (int i = 0; i < ev.relation->ncols; i++)
                sink += ev.relation->cols[i].type_name != NULL
                            ? (uint64_t)strlen(ev.relation->cols[i].type_name)
                            : 0;
            break;
        default:
            abort();
        }
        if (pgcdc__assembly_in_txn(ta) != o->in_txn)
            abort();
    }
    if (r < 0) {
        if (ctx->msg[0] == '\0')
            abort();
        pgcdc__assembly_cut(ta);
        o->in_txn = 0;
    }
    sink += (uint64_t)pgcdc__assembly_at_endpos(ta);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char s_public[] = "public", s_items[] = "items", s_big[] = "big", s_id[] = "id";
    static char s_c[] = "c", s_price[] = "price", s_int[] = "integer", s_color[] = "color";
    static char s_num[] = "numeric(10,2)";
    static char *pk[] = {s_id};
    static char *items_names[] = {s_id, s_price}, *items_types[] = {s_int, s_num};
    static uint32_t items_oids[] = {23, 1700};
    static char *big_names[] = {s_c}, *big_types[] = {s_color};
    /* The enum color listed with the base type text, as a domain is: read as its base type. */
    static uint32_t big_oids[] = {16464}, big_base[] = {25};
    static pgcdc__table_info listed[] = {
        {16393, s_public, s_items, 'd', 1, pk, 2, items_names, items_types, items_oids, items_oids,
         NULL, 0, 0},
        {16469, s_public, s_big, 'd', 1, pk, 1, big_names, big_types, big_oids, big_base, NULL, 0,
         0},
    };
    pgcdc__tableset all = {.tables = NULL};
    pgcdc__tableset some = {.tables = listed, .ntables = 2};
    pgcdc__assembly_opts opts;
    pgcdc__assembly *ta;
    pgcdc__ctx ctx;
    order o = {0, 0, 0, 0, 0};
    uint8_t *msg = NULL;
    size_t at = 1;

    if (size < 1)
        return 0;
    memset(&opts, 0, sizeof(opts));
    opts.binary = data[0] & 1;
    opts.tables = data[0] & 4 ? &some : &all;
    opts.schema_changes = !(data[0] & 8);
    if (data[0] & 2) {
        if (size < 9)
            return 0;
        for (int i = 1; i <= 8; i++)
            opts.endpos = opts.endpos << 8 | data[i];
        at = 9;
    }
    /* Silent: the warning of each cut transaction not sent again would flood the output. */
    pgcdc__ctx_init(&ctx, NULL, NULL, -1);
    ta = pgcdc__assembly_new(&ctx, &opts);
    if (ta == NULL)
        return 0;
    while (at + 2 <= size) {
        size_t len = (size_t)data[at] << 8 | data[at + 1];
        int raw = 1;

        at += 2;
        if (len == 0xffff) {
            pgcdc__assembly_cut(ta);
            o.in_txn = 0;
            continue;
        }
        if (len & 0x8000) {
            raw = 0;
            len &= 0x7fff;
        }
        if (len > size - at)
            len = size - at;
        /* The previous message is no longer read: its events were all pulled. */
        free(msg);
        msg = malloc(len + 1);
        if (msg == NULL)
            break;
        if (len > 0)
            memcpy(msg, data + at, len);
        at += len;
        pgcdc__assembly_feed(ta, msg, len, raw);
        /* Cleared, so that an error without a message of its own is seen. */
        ctx.msg[0] = '\0';
        drain(ta, &ctx, &o);
    }
    pgcdc__assembly_free(ta);
    free(msg);
    return 0;
}
