/*
 * Transaction assembly tests on hand-built messages, without a server:
 * protocol errors, the end position, keepalives, binary values and text
 * mode, and a change that failed is not skipped after a cut.
 */
#include "txn_harness.h"

static const char *const one[] = {"1"};
static const pgcdc__relcol num_cols[] = {{"id", PGCDC_OID_INT4, -1, 1},
                                         {"amount", PGCDC_OID_NUMERIC, -1, 0},
                                         {"label", PGCDC_OID_TEXT, -1, 0}};

/* (d) Out of order or unknown input is PGCDC_ERR_PROTOCOL with a message; a cut recovers. */
static void test_protocol_errors(void **state)
{
    static const uint32_t relids[] = {99};
    harness h;
    pgcdc__event ev;

    (void)state;
    h_open(&h, 0, 0, NULL);
    pgcdc__wr_commit(&h.msg, 0, 0x100, 0x130, 0);
    step(&h, 1, "!commit without a transaction");
    wr_insert(&h.msg, -1, 99, "t", one, NULL);
    step(&h, 1, "!change outside a transaction");
    pgcdc__wr_truncate(&h.msg, -1, 0, 1, relids);
    step(&h, 1, "!truncate outside a transaction");
    pgcdc__wr_begin(&h.msg, 0x100, 0, 5);
    step(&h, 1, "B xid=5 lsn=0/100 end=0/0" TS0 "\n");
    pgcdc__wr_begin(&h.msg, 0x200, 0, 6);
    step(&h, 1, "!transaction started inside another");
    wr_insert(&h.msg, -1, 99, "t", one, NULL);
    step(&h, 1, "!change for unknown relation 99");
    pgcdc__wr_relation(&h.msg, -1, 99, "public", "nums", 'd', 3, num_cols);
    step(&h, 1, "");
    wr_insert(&h.msg, -1, 99, "t", one, NULL);
    step(&h, 1, "!column count does not match relation nums");
    pgcdc__buf_lit(&h.msg, "Z");
    step(&h, 1, "!unknown message type 0x5a");
    /* The decoder's error stays until the cut, which resumes the open transaction. */
    assert_int_equal(pgcdc__assembly_next(h.ta, &ev), PGCDC_ERR_PROTOCOL);
    assert_int_equal(pgcdc__assembly_cut(h.ta), 1);
    pgcdc__wr_begin(&h.msg, 0x100, 0, 5);
    step(&h, 1, "B xid=5 lsn=0/100 end=0/0" TS0 " resumed\n");
    pgcdc__wr_commit(&h.msg, 0, 0x100, 0x130, 0);
    step(&h, 1, "C xid=5 lsn=0/100 end=0/130" TS0 " changes=0\n");
    h_close(&h);
}

/* (e) Transactions committed past endpos give no events; at_endpos says when all is out. */
static void test_endpos(void **state)
{
    /* At the third transaction's end, then between its end and the fourth's commit. */
    static const uint64_t endpos[] = {0x151D2E0, 0x151D300};
    msgs m;
    char *ref;
    const char *third;

    (void)state;
    load(&m, "v1_basic");
    ref = reference(&m, 0);
    third = strchr(strstr(ref, "C xid=740"), '\n') + 1;
    for (size_t e = 0; e < 2; e++) {
        harness h;
        int inside = 0;

        h_open(&h, endpos[e], 0, NULL);
        for (size_t i = 0; i < m.n; i++) {
            h_feed_msg(&h, &m, i);
            assert_int_equal(h_drain(&h), 0);
            inside = m.data[i][0] == 'B' || (inside && m.data[i][0] != 'C');
            /* The transactions past it (from message 12) are read, but none is begun. */
            assert_int_equal(pgcdc__assembly_in_txn(h.ta), inside && i < 12);
            /* Reached at the third commit when endpos is its end, else past the fourth. */
            assert_int_equal(pgcdc__assembly_at_endpos(h.ta), i >= (e == 0 ? 11u : 14u) && !inside);
        }
        assert_int_equal(h.dump.len, (size_t)(third - ref));
        assert_memory_equal(h.dump.data, ref, h.dump.len);
        /* A keepalive beyond it confirms no further than endpos. */
        pgcdc__wr_keepalive(&h.msg, 0x2000000, 0, 0);
        step(&h, 0, e == 0 ? "K idle=0/151D2E0 reply=0\n" : "K idle=0/151D300 reply=0\n");
        h_close(&h);
    }
    free(ref);
    unload(&m);
}

/* (f) idle_lsn only when nothing is in flight: no transaction open, nothing spooled. */
static void test_keepalive(void **state)
{
    harness h;

    (void)state;
    h_open(&h, 0, 0, NULL);
    pgcdc__wr_keepalive(&h.msg, 0x1000, 0, 1);
    step(&h, 0, "K idle=0/1000 reply=1\n");
    pgcdc__wr_begin(&h.msg, 0x1100, 0, 5);
    step(&h, 1, "B xid=5 lsn=0/1100 end=0/0" TS0 "\n");
    pgcdc__wr_keepalive(&h.msg, 0x1200, 0, 0);
    step(&h, 0, "K idle=0/0 reply=0\n");
    pgcdc__wr_commit(&h.msg, 0, 0x1100, 0x1130, 0);
    step(&h, 1, "C xid=5 lsn=0/1100 end=0/1130" TS0 " changes=0\n");
    pgcdc__wr_keepalive(&h.msg, 0x1300, 0, 1);
    step(&h, 0, "K idle=0/1300 reply=1\n");
    /* A streamed transaction in the spool holds the position until it commits or aborts. */
    pgcdc__wr_stream_start(&h.msg, 9, 1);
    step(&h, 1, "");
    wr_insert(&h.msg, 9, 99, "t", one, NULL);
    step(&h, 1, "");
    pgcdc__wr_stream_stop(&h.msg);
    step(&h, 1, "");
    pgcdc__wr_keepalive(&h.msg, 0x1400, 0, 0);
    step(&h, 0, "K idle=0/0 reply=0\n");
    pgcdc__wr_stream_abort(&h.msg, 9, 9);
    step(&h, 1, "");
    pgcdc__wr_keepalive(&h.msg, 0x1500, 0, 0);
    step(&h, 0, "K idle=0/1500 reply=0\n");
    h_close(&h);
}

/* int4 42, numeric 1234.50 and -0.01 in send format, and text. */
#define INT4_42 "\x00\x00\x00\x2a"
#define NUM_1234_50 "\x00\x02\x00\x00\x00\x00\x00\x02\x04\xd2\x13\x88"
#define NUM_MINUS_0_01 "\x00\x01\xff\xff\x40\x00\x00\x02\x00\x64"
#define LABEL_DUMP "'h\\xc3\\xa9llo'"

/* A row of nums (id, amount, label) with the kinds given and amount's bytes. */
static void wr_nums_row(pgcdc__buf *b, const char *kinds, const char *amount, uint32_t amount_len)
{
    const char *values[] = {INT4_42, amount,
                            "h\xc3\xa9"
                            "llo"};
    const uint32_t lens[] = {4, amount_len, 6};

    pgcdc__wr_tuple(b, 3, kinds, values, lens);
}

/* (g) Binary values read as the server's text; an unchanged one is taken from the old row. */
static void test_binary(void **state)
{
    harness h;
    pgcdc__event ev;
    const pgcdc_row *row;
    int64_t id;
    const char *s;

    (void)state;
    h_open(&h, 0, 1, NULL);
    pgcdc__wr_begin(&h.msg, 0x1000, 0, 7);
    step(&h, 1, "B xid=7 lsn=0/1000 end=0/0" TS0 "\n");
    pgcdc__wr_relation(&h.msg, -1, 100, "public", "nums", 'f', 3, num_cols);
    step(&h, 1, "");
    pgcdc__wr_insert_header(&h.msg, -1, 100);
    pgcdc__buf_u8(&h.msg, 'N');
    wr_nums_row(&h.msg, "bbb", NUM_1234_50, 12);
    /* The typed getters first, before anything is printed as text. */
    h_feed_buf(&h, &h.msg, 1);
    assert_int_equal(pgcdc__assembly_next(h.ta, &ev), 1);
    row = pgcdc_change_new(ev.change);
    assert_int_equal(pgcdc_row_get_int64(row, 0, &id), PGCDC_OK);
    assert_int_equal(id, 42);
    assert_int_equal(pgcdc_row_get_numeric(row, 1, &s), PGCDC_OK);
    assert_string_equal(s, "1234.50");
    dump_event(&h.dump, &ev, 1);
    golden_compare(
        "binary", text_of(&h.dump),
        "B xid=7 lsn=0/1000 end=0/0" TS0 "\n"
        "X seq=0 at=0/0 INSERT public.nums new=[id:'42',amount:'1234.50',label:" LABEL_DUMP "]\n");
    assert_int_equal(pgcdc__assembly_next(h.ta, &ev), 0);
    pgcdc__wr_update_header(&h.msg, -1, 100);
    pgcdc__buf_u8(&h.msg, 'O');
    wr_nums_row(&h.msg, "bbb", NUM_1234_50, 12);
    pgcdc__buf_u8(&h.msg, 'N');
    wr_nums_row(&h.msg, "bbu", NUM_MINUS_0_01, 10);
    step(&h, 1,
         "X seq=1 at=0/0 UPDATE public.nums old=[id:'42',amount:'1234.50',label:" LABEL_DUMP "]"
         " new=[id:'42',amount:'-0.01',label:" LABEL_DUMP "]\n");
    pgcdc__wr_commit(&h.msg, 0, 0x1000, 0x1030, 0);
    step(&h, 1, "C xid=7 lsn=0/1000 end=0/1030" TS0 " changes=2\n");
    h_close(&h);
}

/* A listed table with a type binary values cannot carry asks for text mode; others do not. */
static void test_text_mode(void **state)
{
    static const pgcdc__relcol span_cols[] = {{"id", PGCDC_OID_INT4, -1, 1},
                                              {"d", PGCDC_OID_INTERVAL, -1, 0}};
    static const char *const span[] = {"1", "1 day"};
    static char schema[] = "public";
    static char name[] = "nums";
    pgcdc__table_info only_nums = {.oid = 100, .schema = schema, .name = name};
    pgcdc__tableset tables = {.tables = &only_nums, .ntables = 1};
    harness h;

    (void)state;
    h_open(&h, 0, 1, NULL);
    pgcdc__wr_relation(&h.msg, -1, 101, "public", "spans", 'd', 2, span_cols);
    step(&h, 1, "T text_mode\n");
    assert_non_null(strstr(h.ctx.msg, "column \"d\" of \"public.spans\""));
    /* The stream goes on in text mode (the worker reconnects asking for text). */
    pgcdc__wr_begin(&h.msg, 0x1000, 0, 7);
    step(&h, 1, "B xid=7 lsn=0/1000 end=0/0" TS0 "\n");
    wr_insert(&h.msg, -1, 101, "tt", span, NULL);
    step(&h, 1, "X seq=0 at=0/0 INSERT public.spans new=[id:'1',d:'1 day']\n");
    /* A binary value now is malformed input: unchecked, int4's reader would take 4 bytes. */
    wr_insert(&h.msg, -1, 101, "bn", (const char *const[]){"\x07", NULL}, NULL);
    step(&h, 1, "!binary value in a text-mode stream for relation spans");
    h_close(&h);

    /* Only nums is listed: spans is neither read nor a reason for text mode. */
    h_open(&h, 0, 1, &tables);
    pgcdc__wr_begin(&h.msg, 0x1000, 0, 7);
    step(&h, 1, "B xid=7 lsn=0/1000 end=0/0" TS0 "\n");
    pgcdc__wr_relation(&h.msg, -1, 101, "public", "spans", 'd', 2, span_cols);
    step(&h, 1, "");
    wr_insert(&h.msg, -1, 101, "tt", span, NULL);
    step(&h, 1, "");
    pgcdc__wr_commit(&h.msg, 0, 0x1000, 0x1030, 0);
    step(&h, 1, "C xid=7 lsn=0/1000 end=0/1030" TS0 " changes=0\n");
    h_close(&h);
}

/*
 * A change that failed (an unreadable binary value) was never handed out:
 * after the cut, the resend must hand it out or fail on it again, never
 * skip it as delivered.
 */
static void test_failed_change_not_skipped(void **state)
{
    harness h;

    (void)state;
    h_open(&h, 0, 1, NULL);
    for (int attempt = 0; attempt < 3; attempt++) {
        pgcdc__wr_begin(&h.msg, 0x1000, 0, 7);
        step(&h, 1,
             attempt == 0 ? "B xid=7 lsn=0/1000 end=0/0" TS0 "\n"
                          : "B xid=7 lsn=0/1000 end=0/0" TS0 " resumed\n");
        pgcdc__wr_relation(&h.msg, -1, 100, "public", "nums", 'd', 3, num_cols);
        step(&h, 1, "");
        pgcdc__wr_insert_header(&h.msg, -1, 100);
        pgcdc__buf_u8(&h.msg, 'N');
        wr_nums_row(&h.msg, "btt", "1", 1);
        step(&h, 1,
             attempt == 0
                 ? "X seq=0 at=0/0 INSERT public.nums new=[id:'42',amount:'1',label:" LABEL_DUMP
                   "]\n"
                 : "");
        pgcdc__wr_insert_header(&h.msg, -1, 100);
        pgcdc__buf_u8(&h.msg, 'N');
        /* Three bytes are no numeric: the same bytes fail again when sent again. */
        wr_nums_row(&h.msg, "bbt", attempt < 2 ? "\x00\x01\x00" : NUM_MINUS_0_01,
                    attempt < 2 ? 3 : 10);
        step(&h, 1,
             attempt < 2
                 ? "!unreadable binary value in column amount"
                 : "X seq=1 at=0/0 INSERT public.nums new=[id:'42',amount:'-0.01',label:" LABEL_DUMP
                   "]\n");
        if (attempt < 2)
            assert_int_equal(pgcdc__assembly_cut(h.ta), 1);
    }
    h_close(&h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_protocol_errors), cmocka_unit_test(test_endpos),
        cmocka_unit_test(test_keepalive),       cmocka_unit_test(test_binary),
        cmocka_unit_test(test_text_mode),       cmocka_unit_test(test_failed_change_not_skipped),
    };

    return cmocka_run_group_tests(tests, txn_group_setup, txn_group_teardown);
}
