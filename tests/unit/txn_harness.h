/*
 * The transaction assembly tests' harness: golden captures read from their
 * .hex files, an assembly fed message by message, and its events dumped as
 * one text line each, the values read through the public accessors.
 */
#ifndef PGCDC_TEST_TXN_HARNESS_H
#define PGCDC_TEST_TXN_HARNESS_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "golden.h"

#include "base/clock.h"
#include "core/txn.h"
#include "wire/types.h"
#include "wire/writer.h"

/* Where the spools of one test program go (see txn_group_setup). */
static char spool_dir[4096];
/* Assemblies opened from now on hand out schema changes (test_schema_change.c). */
static int h_schema_changes;

/* ---- fixtures: the messages of a .hex file ---- */

typedef struct msgs {
    uint8_t **data;
    size_t *len;
    size_t n;
} msgs;

static inline void load(msgs *m, const char *name)
{
    char path[4096];
    char *text;
    char *line;

    golden_path(path, sizeof(path), name, "hex");
    text = golden_read_file(path, NULL);
    memset(m, 0, sizeof(*m));
    for (line = text; *line != '\0';) {
        size_t n = strcspn(line, "\n");

        m->data = realloc(m->data, (m->n + 1) * sizeof(*m->data));
        m->len = realloc(m->len, (m->n + 1) * sizeof(*m->len));
        assert_non_null(m->data);
        assert_non_null(m->len);
        m->data[m->n] = golden_unhex(line, n, &m->len[m->n]);
        m->n++;
        line += n + (line[n] == '\n');
    }
    free(text);
}

static inline void unload(msgs *m)
{
    for (size_t i = 0; i < m->n; i++)
        free(m->data[i]);
    free(m->data);
    free(m->len);
}

/* ---- the assembly under test, and its events as text ---- */

typedef struct harness {
    pgcdc__ctx ctx;
    pgcdc__tableset tables;
    pgcdc__assembly *ta;
    pgcdc__buf in;   /* a copy of the message fed: the decoder writes into it */
    pgcdc__buf msg;  /* a message being built */
    pgcdc__buf dump; /* one line per event */
    int relations;   /* dump RELATION events too (they repeat in every pass of a cut test) */
} harness;

static inline void h_open(harness *h, uint64_t endpos, int binary, const pgcdc__tableset *tables)
{
    pgcdc__assembly_opts opts;

    memset(h, 0, sizeof(*h));
    pgcdc__ctx_init(&h->ctx, NULL, NULL, 0);
    memset(&opts, 0, sizeof(opts));
    opts.tables = tables != NULL ? tables : &h->tables;
    opts.spool_dir = spool_dir;
    opts.endpos = endpos;
    opts.binary = binary;
    opts.schema_changes = h_schema_changes;
    h->ta = pgcdc__assembly_new(&h->ctx, &opts);
    assert_non_null(h->ta);
    pgcdc__buf_init(&h->in);
    pgcdc__buf_init(&h->msg);
    pgcdc__buf_init(&h->dump);
}

static inline void h_close(harness *h)
{
    assert_int_equal(h->dump.oom, 0);
    pgcdc__assembly_free(h->ta);
    pgcdc__buf_free(&h->in);
    pgcdc__buf_free(&h->msg);
    pgcdc__buf_free(&h->dump);
}

static inline void h_feed(harness *h, const uint8_t *p, size_t len, int raw)
{
    pgcdc__buf_reset(&h->in);
    pgcdc__buf_put(&h->in, p, len);
    assert_int_equal(h->in.oom, 0);
    pgcdc__assembly_feed(h->ta, h->in.data, h->in.len, raw);
}

/*
 * Feeds the i-th message of a fixture as the server sends it: in an XLogData
 * message whose WAL position is made up from i (0/1000000 + i*0x100; the
 * captures do not keep the server's), so each change's LSN is its message's.
 */
#define FIXTURE_LSN(i) (UINT64_C(0x1000000) + (uint64_t)(i)*0x100)
static inline void h_feed_at(harness *h, const uint8_t *p, size_t len, uint64_t lsn)
{
    uint8_t head[25];

    head[0] = 'w';
    for (int k = 0; k < 8; k++) {
        head[1 + k] = (uint8_t)(lsn >> (56 - 8 * k));
        head[9 + k] = (uint8_t)(lsn >> (56 - 8 * k));
        head[17 + k] = 0;
    }
    pgcdc__buf_reset(&h->in);
    pgcdc__buf_put(&h->in, head, sizeof(head));
    pgcdc__buf_put(&h->in, p, len);
    assert_int_equal(h->in.oom, 0);
    pgcdc__assembly_feed(h->ta, h->in.data, h->in.len, 0);
}

static inline void h_feed_msg(harness *h, const msgs *m, size_t i)
{
    h_feed_at(h, m->data[i], m->len[i], FIXTURE_LSN(i));
}

/* Feeds what a writer built, and empties it for the next message. */
static inline void h_feed_buf(harness *h, pgcdc__buf *b, int raw)
{
    h_feed(h, b->data, b->len, raw);
    pgcdc__buf_reset(b);
}

static inline void out(pgcdc__buf *b, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

static inline void out(pgcdc__buf *b, const char *fmt, ...)
{
    char tmp[512];
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    assert_true(n >= 0 && (size_t)n < sizeof(tmp));
    pgcdc__buf_put(b, tmp, (size_t)n);
}

static inline void out_lsn(pgcdc__buf *b, const char *name, uint64_t lsn)
{
    out(b, " %s=%X/%X", name, (unsigned)(lsn >> 32), (unsigned)lsn);
}

/* Quoted as the decoder's dumps quote it, so that the two read side by side. */
static inline void out_text(pgcdc__buf *b, const char *s, size_t len)
{
    size_t shown = len > 48 ? 32 : len;
    uint32_t hash = 2166136261u;

    pgcdc__buf_u8(b, '\'');
    for (size_t i = 0; i < shown; i++) {
        unsigned char ch = (unsigned char)s[i];

        if (ch == '\\' || ch == '\'')
            out(b, "\\%c", ch);
        else if (ch < 0x20 || ch >= 0x7f)
            out(b, "\\x%02x", ch);
        else
            pgcdc__buf_u8(b, ch);
    }
    pgcdc__buf_u8(b, '\'');
    if (shown < len) {
        for (size_t i = 0; i < len; i++)
            hash = (hash ^ (unsigned char)s[i]) * 16777619u;
        out(b, "...(len=%zu fnv=%08x)", len, hash);
    }
}

/* Every column through the public accessors: its state, and the text read agrees with it. */
static inline void out_row(pgcdc__buf *b, const char *what, const pgcdc_row *row)
{
    out(b, " %s=[", what);
    for (int i = 0; i < pgcdc_row_ncols(row); i++) {
        const char *text = NULL;
        size_t len = 0;
        int r = pgcdc_row_get_text(row, i, &text, &len);

        out(b, "%s%s:", i > 0 ? "," : "", pgcdc_row_name(row, i));
        switch (pgcdc_row_state(row, i)) {
        case PGCDC_VALUE_PRESENT:
            assert_int_equal(r, PGCDC_OK);
            assert_int_equal(text[len], '\0');
            out_text(b, text, len);
            break;
        case PGCDC_VALUE_NULL:
            assert_int_equal(r, PGCDC_ERR_NULL_VALUE);
            pgcdc__buf_lit(b, "null");
            break;
        case PGCDC_VALUE_UNCHANGED:
            assert_int_equal(r, PGCDC_ERR_UNCHANGED);
            pgcdc__buf_lit(b, "unchanged-toast");
            break;
        case PGCDC_VALUE_ABSENT:
            assert_int_equal(r, PGCDC_ERR_ABSENT);
            pgcdc__buf_lit(b, "absent");
            break;
        }
    }
    pgcdc__buf_u8(b, ']');
}

/* A schema change's shape: each column's name, type and key mark; no values. */
static inline void out_shape(pgcdc__buf *b, const char *what, const pgcdc_row *row)
{
    out(b, " %s=(", what);
    for (int i = 0; i < pgcdc_row_ncols(row); i++) {
        const char *text = NULL;
        size_t len = 0;

        assert_int_equal(pgcdc_row_state(row, i), PGCDC_VALUE_ABSENT);
        assert_int_equal(pgcdc_row_get_text(row, i, &text, &len), PGCDC_ERR_ABSENT);
        out(b, "%s%s:%s%s", i > 0 ? "," : "", pgcdc_row_name(row, i), pgcdc_row_type_name(row, i),
            pgcdc_row_is_key(row, i) ? "*" : "");
    }
    pgcdc__buf_u8(b, ')');
}

/* One line per event: its type letter, then its fields, rows read as a handler would. */
static inline void dump_event(pgcdc__buf *b, const pgcdc__event *ev, int relations)
{
    /* Logical messages are the worker's (snapshot watermarks): dumped with the relations. */
    if ((ev->type == PGCDC__EV_RELATION || ev->type == PGCDC__EV_MESSAGE) && !relations)
        return;
    const pgcdc_txn *txn = ev->txn;
    const pgcdc_change *c = ev->change;

    switch (ev->type) {
    case PGCDC__EV_BEGIN:
        out(b, "B xid=%u", pgcdc_txn_xid(txn));
        out_lsn(b, "lsn", pgcdc_txn_commit_lsn(txn));
        out_lsn(b, "end", pgcdc_txn_end_lsn(txn));
        out(b, " ts=%" PRId64 "%s%s", pgcdc_txn_commit_time(txn), ev->resumed ? " resumed" : "",
            ev->cut_lost ? " cut_lost" : "");
        if (pgcdc_txn_two_phase(txn) != PGCDC_TWO_PHASE_NONE)
            out(b, " 2pc=%c gid='%s'", (char)pgcdc_txn_two_phase(txn), pgcdc_txn_gid(txn));
        break;
    case PGCDC__EV_CHANGE:
        assert_ptr_equal(pgcdc_change_txn(c), txn);
        assert_int_equal(pgcdc_change_xid(c), pgcdc_txn_xid(txn));
        assert_int_equal(pgcdc_change_commit_lsn(c), pgcdc_txn_commit_lsn(txn));
        out(b, "X seq=%u", pgcdc_change_seq(c));
        out_lsn(b, "at", pgcdc_change_lsn(c));
        out(b, " %s %s.%s", pgcdc_op_name(pgcdc_change_op(c)), pgcdc_change_schema(c),
            pgcdc_change_table(c));
        if (pgcdc_change_op(c) == PGCDC_OP_TRUNCATE) {
            static const char *const flags[] = {"none", "cascade", "restart_identity",
                                                "cascade,restart_identity"};

            assert_in_range(pgcdc_change_truncate_flags(c), 0, 3);
            out(b, " flags=%s", flags[pgcdc_change_truncate_flags(c)]);
            assert_null(pgcdc_change_old(c));
            assert_null(pgcdc_change_new(c));
        }
        if (pgcdc_change_op(c) == PGCDC_OP_SCHEMA) {
            out_shape(b, "old", pgcdc_change_old(c));
            out_shape(b, "new", pgcdc_change_new(c));
            if (pgcdc_change_ddl(c) != NULL)
                out(b, " ddl='%s'", pgcdc_change_ddl(c));
            break;
        }
        assert_null(pgcdc_change_ddl(c));
        if (pgcdc_change_old(c) != NULL)
            out_row(b, "old", pgcdc_change_old(c));
        if (pgcdc_change_new(c) != NULL)
            out_row(b, "new", pgcdc_change_new(c));
        break;
    case PGCDC__EV_COMMIT:
        out(b, "C xid=%u", pgcdc_txn_xid(txn));
        out_lsn(b, "lsn", pgcdc_txn_commit_lsn(txn));
        out_lsn(b, "end", pgcdc_txn_end_lsn(txn));
        out(b, " ts=%" PRId64 " changes=%u", pgcdc_txn_commit_time(txn), pgcdc_txn_nchanges(txn));
        if (txn->origin != NULL)
            out(b, " origin='%s'", txn->origin);
        if (pgcdc_txn_two_phase(txn) != PGCDC_TWO_PHASE_NONE)
            out(b, " 2pc=%c gid='%s'", (char)pgcdc_txn_two_phase(txn), pgcdc_txn_gid(txn));
        break;
    case PGCDC__EV_KEEPALIVE:
        pgcdc__buf_u8(b, 'K');
        out_lsn(b, "idle", ev->idle_lsn);
        out(b, " reply=%d", ev->reply);
        break;
    case PGCDC__EV_TEXT_MODE:
        pgcdc__buf_lit(b, "T text_mode");
        break;
    case PGCDC__EV_MESSAGE:
        out(b, "M prefix=%s transactional=%d", ev->message->u.message.prefix,
            ev->message->u.message.flags & 1);
        out_lsn(b, "lsn", ev->message->u.message.lsn);
        out(b, " len=%u", ev->message->u.message.len);
        break;
    case PGCDC__EV_RELATION:
        /* Each column's type as named from the message alone ("?" for the catalog's to name). */
        out(b, "R %s.%s cols=[", ev->relation->schema, ev->relation->name);
        for (int i = 0; i < ev->relation->ncols; i++)
            out(b, "%s%s:%s", i > 0 ? "," : "", ev->relation->cols[i].name,
                ev->relation->cols[i].type_name != NULL ? ev->relation->cols[i].type_name : "?");
        pgcdc__buf_u8(b, ']');
        break;
    }
    pgcdc__buf_u8(b, '\n');
}

/* The next event, dumped: 1, 0 when the input is used up, or an error. */
static inline int h_next(harness *h, pgcdc__event *ev)
{
    int r = pgcdc__assembly_next(h->ta, ev);

    if (r == 1)
        dump_event(&h->dump, ev, h->relations);
    else if (r < 0)
        assert_string_not_equal(h->ctx.msg, "");
    return r;
}

static inline int h_drain(harness *h)
{
    pgcdc__event ev;
    int r;

    while ((r = h_next(h, &ev)) == 1)
        ;
    return r;
}

static inline void feed_all(harness *h, const msgs *m)
{
    for (size_t i = 0; i < m->n; i++) {
        h_feed_msg(h, m, i);
        assert_int_equal(h_drain(h), 0);
    }
}

static inline const char *text_of(pgcdc__buf *b)
{
    const char *text = pgcdc__buf_cstr(b);

    assert_non_null(text);
    return text;
}

/* Compares line by line, naming the first difference. */
/* The events of a whole fixture, fed without a cut; relations: with RELATION events. */
static inline char *reference(const msgs *m, int relations)
{
    harness h;
    char *text;

    h_open(&h, 0, 0, NULL);
    h.relations = relations;
    feed_all(&h, m);
    text = strdup(text_of(&h.dump));
    assert_non_null(text);
    h_close(&h);
    return text;
}

/* ---- hand-built messages ---- */

#define TS0 " ts=946684800000000" /* commit time 0 of the server's epoch, in Unix microseconds */

/*
 * Feeds the message built in h->msg and checks what comes of it: the
 * events' lines, or for a want of "!..." a protocol error whose message
 * holds the rest.
 */
static inline void step(harness *h, int raw, const char *want)
{
    size_t before = h->dump.len;
    pgcdc__event ev;

    h_feed_buf(h, &h->msg, raw);
    if (want[0] == '!') {
        assert_int_equal(pgcdc__assembly_next(h->ta, &ev), PGCDC_ERR_PROTOCOL);
        if (strstr(h->ctx.msg, want + 1) == NULL)
            fail_msg("\"%s\" does not say \"%s\"", h->ctx.msg, want + 1);
        return;
    }
    assert_int_equal(h_drain(h), 0);
    golden_compare("events", text_of(&h->dump) + before, want);
}

/* An Insert (xid -1: not streamed); lens NULL for text values. */
static inline void wr_insert(pgcdc__buf *b, int64_t xid, uint32_t relid, const char *kinds,
                             const char *const *values, const uint32_t *lens)
{
    uint32_t text_lens[8];

    assert_true(strlen(kinds) <= 8);
    for (size_t i = 0; lens == NULL && i < strlen(kinds); i++)
        text_lens[i] = values[i] != NULL ? (uint32_t)strlen(values[i]) : 0;
    pgcdc__wr_insert_header(b, xid, relid);
    pgcdc__buf_u8(b, 'N');
    pgcdc__wr_tuple(b, (uint16_t)strlen(kinds), kinds, values, lens != NULL ? lens : text_lens);
}

/* The spools' directory: every spool file is unlinked at once, so it ends empty. */
static inline int txn_group_setup(void **state)
{
    const char *tmp = getenv("TMPDIR");

    (void)state;
    snprintf(spool_dir, sizeof(spool_dir), "%s/pgcdc-test-txn-XXXXXX",
             tmp != NULL && *tmp != '\0' ? tmp : "/tmp");
    return mkdtemp(spool_dir) == NULL ? -1 : 0;
}

static inline int txn_group_teardown(void **state)
{
    (void)state;
    return rmdir(spool_dir);
}

#endif /* PGCDC_TEST_TXN_HARNESS_H */
