/*
 * Transaction assembly tests on the golden captures, without a server: their
 * events, cuts at every point followed by the server's resend, and streamed
 * transactions (test_txn_msgs.c has the hand-built messages).
 */
#include "txn_harness.h"

/*
 * The golden event files ($PGCDC_TEST_DATA/golden/<name>.events) hold one
 * line per event of <name>.hex fed message by message (bare pgoutput, every
 * relation wanted, text values).  They were written by test_golden_events
 * with PGCDC_GOLDEN_UPDATE=1, then checked by hand against the decoder's
 * dumps (<name>.expected) and the SQL of scripts/capture-golden: every Insert,
 * Update and Delete of the dump appears once, in order, with its rows as the
 * accessors read them (a non-key column of an old key row absent, NULLs and
 * unchanged TOAST values told apart); the Update of docs_full (REPLICA
 * IDENTITY FULL) takes its unchanged body from the old row (same length and
 * hash), while the Update of docs keeps it unchanged; the three TRUNCATEs
 * give one change per table with CASCADE, RESTART IDENTITY and both; logical
 * messages give nothing; the origin of the last v1_basic transaction is
 * kept; and the streamed transaction of v2_stream arrives whole at its
 * Stream Commit: inserts 1..200, not the 266 rows of the rolled-back
 * savepoint (ids 201..466), then the two updates, the delete and the
 * truncate, seq 0..203.  Times are Unix microseconds (the dump's + 946684800
 * s).  Values longer than 48 bytes show their first 32, length and FNV-1a.
 */

#define UPDATE_ENV "PGCDC_GOLDEN_UPDATE"

static const char *const fixtures[] = {"v1_basic", "v1_toast", "v2_stream"};

/* With PGCDC_GOLDEN_UPDATE=1 the .events files are written instead of compared. */
static void test_golden_events(void **state)
{
    const char *update = getenv(UPDATE_ENV);

    (void)state;
    for (size_t f = 0; f < sizeof(fixtures) / sizeof(fixtures[0]); f++) {
        char path[4096];
        msgs m;
        char *got;

        load(&m, fixtures[f]);
        got = reference(&m, 1);
        golden_path(path, sizeof(path), fixtures[f], "events");
        if (update != NULL && strcmp(update, "1") == 0) {
            FILE *fp = fopen(path, "wb");

            assert_non_null(fp);
            assert_int_equal(fputs(got, fp) >= 0, 1);
            assert_int_equal(fclose(fp), 0);
        } else {
            char *want = golden_read_file(path, NULL);

            golden_compare(path, got, want);
            free(want);
        }
        free(got);
        unload(&m);
    }
}

/* ---- cuts ---- */

/* A cut: after the event-th event of its pass (from 1), or with event 0 after message msg. */
typedef struct cut_point {
    size_t event;
    size_t msg;
} cut_point;

/*
 * Feeds m from its start once per cut, cut there, then whole: as the server
 * resends from the confirmed position after each lost connection.  Records
 * the dump's length and the cut's result at each cut.
 */
static void run_cuts(harness *h, const msgs *m, const cut_point *cuts, int ncuts, size_t *pre,
                     int *result)
{
    for (int c = 0; c < ncuts; c++) {
        size_t events = 0;
        int cut = -1;

        for (size_t i = 0; i < m->n && cut < 0; i++) {
            pgcdc__event ev;

            h_feed_msg(h, m, i);
            while (cut < 0 && h_next(h, &ev) == 1) {
                if (++events == cuts[c].event)
                    cut = pgcdc__assembly_cut(h->ta);
            }
            if (cut < 0 && cuts[c].event == 0 && i == cuts[c].msg)
                cut = pgcdc__assembly_cut(h->ta);
        }
        assert_true(cut >= 0);
        assert_int_equal(pgcdc__assembly_in_txn(h->ta), 0);
        pre[c] = h->dump.len;
        result[c] = cut;
    }
    feed_all(h, m);
}

/* The last line of text that starts with 'B' if no 'C' line follows it, else NULL. */
static const char *open_begin(const char *text)
{
    const char *begin = NULL;

    for (const char *line = text; *line != '\0'; line += strcspn(line, "\n") + 1) {
        if (line[0] == 'B' || line[0] == 'C')
            begin = line[0] == 'B' ? line : NULL;
    }
    return begin;
}

/*
 * The events of all passes are the uncut stream exactly: each once, in
 * order, no change lost or repeated (seq goes on), and the first event after
 * a cut of an open transaction is its BEGIN again, marked resumed.  A cut
 * returns 1 when a transaction is open in what was handed out, unless its
 * resumed BEGIN has not come again since an earlier cut.
 */
static void check_cuts(const char *ref, harness *h, const size_t *pre, const int *result, int ncuts)
{
    const char *all = text_of(&h->dump);
    pgcdc__buf joined;
    size_t from = 0;
    int pending = 0;

    pgcdc__buf_init(&joined);
    for (int c = 0; c <= ncuts; c++) {
        const char *seg = all + from;
        const char *end = all + (c < ncuts ? pre[c] : h->dump.len);

        pending |= c > 0 && result[c - 1];
        if (pending && seg < end) {
            const char *begin = open_begin(text_of(&joined));
            size_t n = strcspn(begin, "\n");

            assert_memory_equal(seg, begin, n);
            assert_memory_equal(seg + n, " resumed\n", 9);
            seg += n + 9;
            pending = 0;
        }
        pgcdc__buf_put(&joined, seg, (size_t)(end - seg));
        if (c < ncuts)
            assert_int_equal(result[c], open_begin(text_of(&joined)) != NULL && !pending);
        from = (size_t)(end - all);
    }
    assert_int_equal(pending, 0);
    golden_compare("cut", text_of(&joined), ref);
    pgcdc__buf_free(&joined);
}

static void run_and_check(const msgs *m, const char *ref, const cut_point *cuts, int ncuts)
{
    harness h;
    size_t pre[2];
    int result[2];

    h_open(&h, 0, 0, NULL);
    run_cuts(&h, m, cuts, ncuts, pre, result);
    check_cuts(ref, &h, pre, result, ncuts);
    h_close(&h);
}

static size_t count_lines(const char *text)
{
    size_t n = 0;

    for (; *text != '\0'; text++)
        n += *text == '\n';
    return n;
}

/* Every fixture cut after each event and after each message: nothing lost, nothing twice. */
static void test_cut_everywhere(void **state)
{
    (void)state;
    for (size_t f = 0; f < sizeof(fixtures) / sizeof(fixtures[0]); f++) {
        msgs m;
        char *ref;
        size_t nevents;

        load(&m, fixtures[f]);
        ref = reference(&m, 0);
        nevents = count_lines(ref);
        for (size_t k = 0; k < nevents + m.n; k++) {
            cut_point cut = {k < nevents ? k + 1 : 0, k < nevents ? 0 : k - nevents};

            run_and_check(&m, ref, &cut, 1);
        }
        free(ref);
        unload(&m);
    }
}

/*
 * Cut again during the resend, wherever it is: before the cut transaction,
 * while its delivered changes are skipped, or after.  The resume point
 * survives, and the third pass still repeats nothing.
 */
static void test_cut_twice(void **state)
{
    msgs m;
    char *ref;
    size_t nevents;

    (void)state;
    load(&m, "v1_basic");
    ref = reference(&m, 0);
    nevents = count_lines(ref);
    for (size_t e = 1; e <= nevents; e++) {
        for (size_t i = 0; i < m.n; i++) {
            cut_point cuts[2] = {{e, 0}, {0, i}};

            run_and_check(&m, ref, cuts, 2);
        }
    }
    free(ref);
    unload(&m);
}

/* The next event but a relation's, feeding the messages of m from *i on while none is ready. */
static void next_fed(harness *h, const msgs *m, size_t *i, pgcdc__event *ev)
{
    int r;

    while ((r = pgcdc__assembly_next(h->ta, ev)) == 0 ||
           (r == 1 && ev->type == PGCDC__EV_RELATION)) {
        if (r == 1)
            continue;
        assert_true(*i < m->n);
        h_feed_msg(h, m, *i);
        (*i)++;
    }
    assert_int_equal(r, 1);
}

/*
 * (b) A cut with no transaction open returns 0: after the first commit, and
 * again when nothing is open.  (a) One in the middle of xid 742, after its
 * first insert, returns 1: when everything is sent again, the transactions
 * before it are silence and it resumes at seq 1.
 */
static void test_cut_in_and_out(void **state)
{
    harness h;
    msgs m;
    pgcdc__event ev;
    size_t i = 0;

    (void)state;
    load(&m, "v1_basic");
    h_open(&h, 0, 0, NULL);
    assert_int_equal(pgcdc__assembly_cut(h.ta), 0);
    do {
        next_fed(&h, &m, &i, &ev);
    } while (ev.type != PGCDC__EV_COMMIT);
    assert_int_equal(pgcdc__assembly_next(h.ta, &ev), 0);
    assert_int_equal(pgcdc__assembly_cut(h.ta), 0);
    assert_int_equal(pgcdc__assembly_cut(h.ta), 0);
    i = 0;
    do {
        next_fed(&h, &m, &i, &ev);
        assert_true(ev.type != PGCDC__EV_BEGIN || (!ev.resumed && pgcdc_txn_xid(ev.txn) != 738));
    } while (ev.type != PGCDC__EV_CHANGE || strcmp(pgcdc_change_table(ev.change), "full_t") != 0);
    assert_int_equal(pgcdc_txn_xid(ev.txn), 742);
    assert_int_equal(pgcdc_change_seq(ev.change), 0);
    assert_int_equal(pgcdc__assembly_in_txn(h.ta), 1);
    assert_int_equal(pgcdc__assembly_cut(h.ta), 1);
    assert_int_equal(pgcdc__assembly_in_txn(h.ta), 0);

    /* The server sends everything again: the transactions before are silence. */
    for (i = 0; i < 4; i++) {
        int r;

        h_feed_msg(&h, &m, i);
        while ((r = pgcdc__assembly_next(h.ta, &ev)) == 1)
            assert_int_equal(ev.type, PGCDC__EV_RELATION);
        assert_int_equal(r, 0);
        assert_int_equal(pgcdc__assembly_in_txn(h.ta), 0);
    }
    next_fed(&h, &m, &i, &ev);
    assert_int_equal(ev.type, PGCDC__EV_BEGIN);
    assert_int_equal(pgcdc_txn_xid(ev.txn), 742);
    assert_int_equal(ev.resumed, 1);
    assert_int_equal(ev.cut_lost, 0);
    next_fed(&h, &m, &i, &ev);
    assert_int_equal(ev.type, PGCDC__EV_CHANGE);
    assert_int_equal(pgcdc_change_seq(ev.change), 1);
    assert_int_equal(pgcdc_row_state(pgcdc_change_new(ev.change), 1), PGCDC_VALUE_NULL);
    next_fed(&h, &m, &i, &ev);
    assert_int_equal(ev.type, PGCDC__EV_COMMIT);
    assert_int_equal(pgcdc_txn_nchanges(ev.txn), 2);
    next_fed(&h, &m, &i, &ev);
    assert_int_equal(ev.type, PGCDC__EV_BEGIN);
    assert_int_equal(pgcdc_txn_xid(ev.txn), 743);
    assert_int_equal(ev.resumed, 0);
    h_close(&h);
    unload(&m);
}

/* ---- streamed transactions (protocol 2) ---- */

/* (c) Changes come out at Stream Commit only; a cut inside a stream block drops the spool. */
static void test_stream(void **state)
{
    harness h;
    msgs m;
    char *ref;

    (void)state;
    load(&m, "v2_stream");
    ref = reference(&m, 0);
    h_open(&h, 0, 0, NULL);
    for (size_t i = 0; i < m.n; i++) {
        size_t before = h.dump.len;

        h_feed_msg(&h, &m, i);
        assert_int_equal(h_drain(&h), 0);
        if (m.data[i][0] == 'c') {
            assert_non_null(strstr(text_of(&h.dump) + before, "B xid=771"));
        } else if (i > 3) {
            assert_int_equal(h.dump.len, before);
        }
    }
    golden_compare("v2_stream", text_of(&h.dump), ref);
    h_close(&h);

    /*
     * Cut inside the first stream block and inside the rolled-back
     * savepoint's: the spool is dropped, the resend replays it once.
     */
    for (size_t c = 0; c < 2; c++) {
        cut_point cut = {0, c == 0 ? 100 : 300};
        size_t pre;
        int result;
        const char *post;
        size_t seen = 0;

        assert_int_equal(m.data[cut.msg][0], 'I');
        h_open(&h, 0, 0, NULL);
        run_cuts(&h, &m, &cut, 1, &pre, &result);
        assert_int_equal(result, 0);
        post = text_of(&h.dump) + pre;
        assert_int_equal(strncmp(post, "B xid=771", 9), 0);
        for (const char *p = strstr(post, "\nX seq="); p != NULL; p = strstr(p + 1, "\nX seq=")) {
            assert_int_equal(strtoul(p + 7, NULL, 10), seen);
            seen++;
        }
        assert_int_equal(seen, 204);
        assert_null(strstr(post, "'g201'"));
        check_cuts(ref, &h, &pre, &result, 1);
        h_close(&h);
    }
    free(ref);
    unload(&m);
}

/* The same transaction sent whole (Begin ... Commit) gives the same events as streamed. */
static void test_stream_same_as_plain(void **state)
{
    harness h;
    msgs m;
    char *ref;
    pgcdc__buf plain[512];
    size_t nplain = 0;
    uint32_t subxid[512];
    size_t at[512]; /* the message each plain one came from */
    pgcdc__buf b;
    int in_stream = 0;

    (void)state;
    load(&m, "v2_stream");
    ref = reference(&m, 0);
    pgcdc__buf_init(&b);
    h_open(&h, 0, 0, NULL);
    for (size_t i = 0; i < m.n; i++) {
        const uint8_t *p = m.data[i];

        if (p[0] == 'S' || p[0] == 'E') {
            in_stream = p[0] == 'S';
        } else if (p[0] == 'A') {
            /* What the rolled-back subtransaction made is never sent in a plain transaction. */
            size_t kept = 0;

            for (size_t k = 0; k < nplain; k++) {
                if (subxid[k] == pgcdc__be32(p + 5)) {
                    pgcdc__buf_free(&plain[k]);
                } else {
                    subxid[kept] = subxid[k];
                    at[kept] = at[k];
                    plain[kept++] = plain[k];
                }
            }
            nplain = kept;
        } else if (p[0] == 'c') {
            uint32_t xid = pgcdc__be32(p + 1);
            uint64_t lsn = pgcdc__be64(p + 6);
            int64_t ts = (int64_t)pgcdc__be64(p + 22);

            pgcdc__wr_begin(&b, lsn, ts, xid);
            h_feed_buf(&h, &b, 1);
            assert_int_equal(h_drain(&h), 0);
            for (size_t k = 0; k < nplain; k++) {
                h_feed_at(&h, plain[k].data, plain[k].len, FIXTURE_LSN(at[k]));
                assert_int_equal(h_drain(&h), 0);
                pgcdc__buf_free(&plain[k]);
            }
            pgcdc__wr_commit(&b, p[5], lsn, pgcdc__be64(p + 14), ts);
            h_feed_buf(&h, &b, 1);
            assert_int_equal(h_drain(&h), 0);
        } else if (in_stream) {
            /* The message as if not streamed: its type byte, then what follows the xid. */
            assert_true(nplain < 512);
            subxid[nplain] = pgcdc__be32(p + 1);
            at[nplain] = i;
            pgcdc__buf_init(&plain[nplain]);
            pgcdc__buf_u8(&plain[nplain], p[0]);
            pgcdc__buf_put(&plain[nplain++], p + 5, m.len[i] - 5);
        } else {
            h_feed_msg(&h, &m, i);
            assert_int_equal(h_drain(&h), 0);
        }
    }
    golden_compare("plain v2_stream", text_of(&h.dump), ref);
    h_close(&h);
    pgcdc__buf_free(&b);
    free(ref);
    unload(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_golden_events),  cmocka_unit_test(test_cut_in_and_out),
        cmocka_unit_test(test_cut_everywhere), cmocka_unit_test(test_cut_twice),
        cmocka_unit_test(test_stream),         cmocka_unit_test(test_stream_same_as_plain),
    };

    return cmocka_run_group_tests(tests, txn_group_setup, txn_group_teardown);
}
