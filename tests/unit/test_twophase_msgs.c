/*
 * Two-phase messages (protocol 3) without a server: the decoder's round
 * trips, truncations and misplaced messages, then the assembly's events for
 * a prepared transaction, COMMIT PREPARED, ROLLBACK PREPARED, STREAM PREPARE
 * and a reconnect, and the formats' lines for them.
 */
#include "txn_harness.h"

static const char *const one[] = {"1"};
static const pgcdc__relcol cols[] = {{"id", PGCDC_OID_INT4, -1, 1}};

/* Decodes b (raw or in a 'w' wrapper): 1 with *msg, or -1. */
static int decode(pgcdc__decoder *dec, const pgcdc__buf *b, int wrapped, pgcdc__buf *wire,
                  pgcdc__msg *msg)
{
    pgcdc__buf_reset(wire);
    if (wrapped)
        pgcdc__wr_xlogdata_header(wire, 0x10, 0x20, 0);
    pgcdc__buf_put(wire, b->data, b->len);
    pgcdc__buf_u8(wire, 0); /* the spare byte */
    pgcdc__decoder_reset(dec);
    pgcdc__decoder_feed(dec, wire->data, wire->len - 1, !wrapped);
    return pgcdc__decoder_next(dec, msg);
}

static void test_decode_round_trips(void **state)
{
    static const char types[] = "bPKrp";
    pgcdc__decoder *dec = pgcdc__decoder_new();
    pgcdc__buf b;
    pgcdc__buf wire;
    pgcdc__msg msg;

    (void)state;
    assert_non_null(dec);
    pgcdc__buf_init(&b);
    pgcdc__buf_init(&wire);
    for (int wrapped = 0; wrapped <= 1; wrapped++) {
        for (const char *t = types; *t != '\0'; t++) {
            pgcdc__buf_reset(&b);
            pgcdc__wr_twophase(&b, *t, 0, UINT64_C(0x16B3A58), UINT64_C(0x16B3A88), INT64_C(-5),
                               INT64_MAX, 0xfffffff0u, "gid 'x'");
            assert_int_equal(decode(dec, &b, wrapped, &wire, &msg), 1);
            assert_int_equal(msg.type, *t);
            assert_int_equal(msg.xid, 0xfffffff0u);
            assert_int_equal(msg.u.twophase.flags, 0);
            assert_int_equal(msg.u.twophase.lsn, UINT64_C(0x16B3A58));
            assert_int_equal(msg.u.twophase.end_lsn, UINT64_C(0x16B3A88));
            assert_int_equal(msg.u.twophase.time, -5);
            assert_int_equal(msg.u.twophase.rollback_time, *t == 'r' ? INT64_MAX : 0);
            assert_string_equal(msg.u.twophase.gid, "gid 'x'");
            assert_int_equal(msg.wal_start, wrapped ? 0x10 : 0);
            /* Every shorter body is truncated; a byte more is trailing. */
            for (size_t cut = 1; cut < b.len; cut++) {
                pgcdc__buf short_b = b;

                short_b.len = cut;
                assert_int_equal(decode(dec, &short_b, wrapped, &wire, &msg), -1);
            }
            pgcdc__buf_u8(&b, 0);
            assert_int_equal(decode(dec, &b, wrapped, &wire, &msg), -1);
            assert_non_null(strstr(pgcdc__decoder_error(dec), "trailing bytes"));
        }
    }
    /* Two-phase messages come outside Stream Start/Stop only. */
    pgcdc__buf_reset(&b);
    pgcdc__wr_stream_start(&b, 9, 1);
    assert_int_equal(decode(dec, &b, 0, &wire, &msg), 1);
    pgcdc__buf_reset(&b);
    pgcdc__wr_twophase(&b, 'p', 0, 1, 2, 3, 0, 9, "g");
    pgcdc__buf_reset(&wire);
    pgcdc__buf_put(&wire, b.data, b.len);
    pgcdc__buf_u8(&wire, 0);
    pgcdc__decoder_feed(dec, wire.data, wire.len - 1, 1);
    assert_int_equal(pgcdc__decoder_next(dec, &msg), -1);
    assert_string_equal(pgcdc__decoder_error(dec),
                        "unexpected Stream Prepare message inside a stream");
    pgcdc__buf_free(&b);
    pgcdc__buf_free(&wire);
    pgcdc__decoder_free(dec);
}

/* Feeds h->msg and expects one change event, of a transaction marked prepared. */
static void expect_change(harness *h)
{
    size_t before = h->dump.len;

    h_feed_buf(h, &h->msg, 1);
    assert_int_equal(h_drain(h), 0);
    assert_non_null(strstr(text_of(&h->dump) + before, "X seq="));
    assert_non_null(strstr(text_of(&h->dump) + before, "INSERT public.t"));
}

static void test_assembly(void **state)
{
    harness h;

    (void)state;
    h_open(&h, 0, 0, NULL);
    pgcdc__wr_twophase(&h.msg, 'P', 0, 0x100, 0x180, 0, 0, 7, "g1");
    step(&h, 1, "!commit without a transaction");
    pgcdc__wr_relation(&h.msg, -1, 99, "public", "t", 'd', 1, cols);
    step(&h, 1, "");
    /* Changes at PREPARE: the transaction carries the GID and says it is prepared. */
    pgcdc__wr_twophase(&h.msg, 'b', 0, 0x100, 0x180, 0, 0, 7, "g1");
    step(&h, 1, "B xid=7 lsn=0/100 end=0/0" TS0 " 2pc=P gid='g1'\n");
    wr_insert(&h.msg, -1, 99, "t", one, NULL);
    expect_change(&h);
    pgcdc__wr_twophase(&h.msg, 'P', 0, 0x100, 0x180, 0, 0, 7, "g1");
    step(&h, 1, "C xid=7 lsn=0/100 end=0/180" TS0 " changes=1 2pc=P gid='g1'\n");
    /* COMMIT PREPARED: a transaction of its own, without changes. */
    pgcdc__wr_twophase(&h.msg, 'K', 0, 0x200, 0x230, 0, 0, 7, "g1");
    step(&h, 1,
         "B xid=7 lsn=0/200 end=0/0" TS0 " 2pc=K gid='g1'\n"
         "C xid=7 lsn=0/200 end=0/230" TS0 " changes=0 2pc=K gid='g1'\n");
    /* ROLLBACK PREPARED: its record's start unknown, the byte before its end stands for it. */
    pgcdc__wr_twophase(&h.msg, 'b', 0, 0x300, 0x380, 0, 0, 8, "g2");
    step(&h, 1, "B xid=8 lsn=0/300 end=0/0" TS0 " 2pc=P gid='g2'\n");
    pgcdc__wr_twophase(&h.msg, 'P', 0, 0x300, 0x380, 0, 0, 8, "g2");
    step(&h, 1, "C xid=8 lsn=0/300 end=0/380" TS0 " changes=0 2pc=P gid='g2'\n");
    pgcdc__wr_twophase(&h.msg, 'r', 0, 0x380, 0x400, 0, 0, 8, "g2");
    step(&h, 1,
         "B xid=8 lsn=0/3FF end=0/0" TS0 " 2pc=r gid='g2'\n"
         "C xid=8 lsn=0/3FF end=0/400" TS0 " changes=0 2pc=r gid='g2'\n");
    /* A Prepare must end a transaction begun as prepared. */
    pgcdc__wr_begin(&h.msg, 0x500, 0, 9);
    step(&h, 1, "B xid=9 lsn=0/500 end=0/0" TS0 "\n");
    pgcdc__wr_twophase(&h.msg, 'P', 0, 0x500, 0x580, 0, 0, 9, "g3");
    step(&h, 1, "!prepare of a transaction not begun as prepared");
    /* After a reconnect, what was handed out is not handed out again. */
    pgcdc__assembly_cut(h.ta);
    pgcdc__wr_twophase(&h.msg, 'K', 0, 0x200, 0x230, 0, 0, 7, "g1");
    step(&h, 1, "");
    pgcdc__wr_twophase(&h.msg, 'r', 0, 0x380, 0x400, 0, 0, 8, "g2");
    step(&h, 1, "");
    pgcdc__wr_twophase(&h.msg, 'b', 0, 0x100, 0x180, 0, 0, 7, "g1");
    step(&h, 1, "");
    pgcdc__wr_twophase(&h.msg, 'P', 0, 0x100, 0x180, 0, 0, 7, "g1");
    step(&h, 1, "");
    /*
     * Prepared before the slot had two-phase decoding: decoded whole at its
     * COMMIT PREPARED, with a prepare LSN below what was handed out since.
     */
    pgcdc__wr_twophase(&h.msg, 'b', 0, 0x50, 0x80, 0, 0, 6, "g0");
    step(&h, 1, "B xid=6 lsn=0/50 end=0/0" TS0 " cut_lost 2pc=P gid='g0'\n");
    pgcdc__wr_twophase(&h.msg, 'P', 0, 0x50, 0x80, 0, 0, 6, "g0");
    step(&h, 1, "C xid=6 lsn=0/50 end=0/80" TS0 " changes=0 2pc=P gid='g0'\n");
    pgcdc__wr_twophase(&h.msg, 'K', 0, 0x600, 0x630, 0, 0, 10, "g4");
    step(&h, 1,
         "B xid=10 lsn=0/600 end=0/0" TS0 " 2pc=K gid='g4'\n"
         "C xid=10 lsn=0/600 end=0/630" TS0 " changes=0 2pc=K gid='g4'\n");
    h_close(&h);
}

/* A streamed transaction ended by STREAM PREPARE: replayed as a prepared one. */
static void test_stream_prepare(void **state)
{
    harness h;

    (void)state;
    h_open(&h, 0, 0, NULL);
    pgcdc__wr_relation(&h.msg, -1, 99, "public", "t", 'd', 1, cols);
    step(&h, 1, "");
    pgcdc__wr_stream_start(&h.msg, 9, 1);
    step(&h, 1, "");
    wr_insert(&h.msg, 9, 99, "t", one, NULL);
    step(&h, 1, "");
    pgcdc__wr_stream_stop(&h.msg);
    step(&h, 1, "");
    pgcdc__wr_twophase(&h.msg, 'p', 0, 0x700, 0x780, 0, 0, 9, "g5");
    h_feed_buf(&h, &h.msg, 1);
    assert_int_equal(h_drain(&h), 0);
    assert_non_null(strstr(text_of(&h.dump), "B xid=9 lsn=0/700 end=0/0" TS0 " 2pc=P gid='g5'\n"
                                             "X seq=0"));
    assert_non_null(
        strstr(text_of(&h.dump), "C xid=9 lsn=0/700 end=0/780" TS0 " changes=1 2pc=P gid='g5'\n"));
    pgcdc__wr_twophase(&h.msg, 'K', 0, 0x800, 0x830, 0, 0, 9, "g5");
    h_feed_buf(&h, &h.msg, 1);
    assert_int_equal(h_drain(&h), 0);
    assert_non_null(
        strstr(text_of(&h.dump), "C xid=9 lsn=0/800 end=0/830" TS0 " changes=0 2pc=K gid='g5'\n"));
    h_close(&h);
}

/* Appends what each format writes at the commit event of what h was fed last. */
static void format_commit(harness *h, pgcdc_formatter *const *fmts, char **lines)
{
    pgcdc__event ev;
    int r;

    h_feed_buf(h, &h->msg, 1);
    while ((r = pgcdc__assembly_next(h->ta, &ev)) == 1) {
        if (ev.type != PGCDC__EV_COMMIT)
            continue;
        for (int i = 0; i < 4; i++) {
            const char *out;
            size_t n;

            assert_int_equal(pgcdc_formatter_commit(fmts[i], ev.txn, &out, &n), PGCDC_OK);
            lines[i] = strndup(out, n);
            assert_non_null(lines[i]);
        }
    }
    assert_int_equal(r, 0);
}

static void test_formats(void **state)
{
    pgcdc_formatter *fmts[4];
    char *k[4];
    char *r[4];
    char *p[4];
    harness h;

    (void)state;
    fmts[0] = pgcdc_formatter_new(PGCDC_FORMAT_JSON, "db");
    fmts[1] = pgcdc_formatter_new(PGCDC_FORMAT_WAL2JSON, "db");
    fmts[2] = pgcdc_formatter_new(PGCDC_FORMAT_DEBEZIUM, "db");
    fmts[3] = pgcdc_formatter_new(PGCDC_FORMAT_DEBEZIUM, "db");
    assert_int_equal(pgcdc_formatter_set(fmts[3], "provide.transaction.metadata", "true"),
                     PGCDC_OK);
    h_open(&h, 0, 0, NULL);
    pgcdc__wr_twophase(&h.msg, 'b', 0, 0x100, 0x180, 0, 0, 7, "g\"1");
    h_feed_buf(&h, &h.msg, 1);
    assert_int_equal(h_drain(&h), 0);
    pgcdc__wr_twophase(&h.msg, 'P', 0, 0x100, 0x180, 0, 0, 7, "g\"1");
    format_commit(&h, fmts, p);
    pgcdc__wr_twophase(&h.msg, 'K', 0, 0x200, 0x230, 0, 0, 7, "g\"1");
    format_commit(&h, fmts, k);
    pgcdc__wr_twophase(&h.msg, 'r', 0, 0x380, 0x400, 0, 0, 8, "g2");
    format_commit(&h, fmts, r);

    /* The prepare: no line in the native format, P in wal2json, none in Debezium by default. */
    assert_string_equal(p[0], "");
    assert_string_equal(p[1], "{\"action\":\"P\",\"gid\":\"g\\\"1\"}\n");
    assert_string_equal(p[2], "");
    /* COMMIT PREPARED and ROLLBACK PREPARED: a line in each. */
    assert_non_null(strstr(k[0], "{\"op\":\"COMMIT_PREPARED\",\"gid\":\"g\\\"1\",\"xid\":7,"
                                 "\"commit_lsn\":\"0/200\",\"end_lsn\":\"0/230\",\"seq\":0,"));
    assert_non_null(strstr(r[0], "{\"op\":\"ROLLBACK_PREPARED\",\"gid\":\"g2\",\"xid\":8,"
                                 "\"commit_lsn\":\"0/3FF\",\"end_lsn\":\"0/400\",\"seq\":0,"));
    /* wal2json's defaults leave out xids, times and LSNs: the GID names the transaction. */
    assert_string_equal(k[1], "{\"action\":\"K\",\"gid\":\"g\\\"1\"}\n");
    assert_string_equal(r[1], "{\"action\":\"r\",\"gid\":\"g2\"}\n");
    assert_non_null(strstr(k[2], "{\"status\":\"COMMIT_PREPARED\",\"id\":\"7:560\","));
    assert_non_null(strstr(k[2], "\"gid\":\"g\\\"1\"}"));
    assert_non_null(strstr(r[2], "{\"status\":\"ROLLBACK_PREPARED\",\"id\":\"8:1024\","));
    /* With transaction metadata, a prepared transaction ends in PREPARE, not END. */
    assert_non_null(strstr(p[3], "{\"status\":\"PREPARE\",\"id\":\"7:384\",\"event_count\":0,"));
    assert_non_null(strstr(p[3], "\"gid\":\"g\\\"1\"}"));
    assert_string_equal(k[3], k[2]);
    for (int i = 0; i < 4; i++) {
        free(p[i]);
        free(k[i]);
        free(r[i]);
        pgcdc_formatter_free(fmts[i]);
    }
    h_close(&h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_decode_round_trips),
        cmocka_unit_test(test_assembly),
        cmocka_unit_test(test_stream_prepare),
        cmocka_unit_test(test_formats),
    };

    return cmocka_run_group_tests(tests, txn_group_setup, txn_group_teardown);
}
