/*
 * Unit tests for src/ledger.c: the confirmed LSN only moves over the longest
 * committed, fully acknowledged prefix.  Hand-written cases, a randomized run
 * checked against a simple model (growth and wrap-around), and concurrent acks.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <pthread.h>
#include <stdatomic.h>

#include "base/clock.h"
#include "core/ledger.h"
#include "pgcdc.h"

static int setup(void **state)
{
    pgcdc__ledger *l = calloc(1, sizeof(*l));

    if (l == NULL)
        return -1;
    if (pgcdc__ledger_init(l) != PGCDC_OK) {
        free(l);
        return -1;
    }
    *state = l;
    return 0;
}

static int teardown(void **state)
{
    pgcdc__ledger *l = *state;

    pgcdc__ledger_destroy(l);
    free(l);
    return 0;
}

/* A committed transaction with n held items, none acknowledged yet. */
static uint64_t committed_with_holds(pgcdc__ledger *l, int n, uint64_t end_lsn)
{
    uint64_t token = pgcdc__ledger_begin(l);

    assert_int_not_equal(token, 0);
    for (int i = 0; i < n; i++)
        pgcdc__ledger_hold(l, token);
    pgcdc__ledger_commit(l, token, end_lsn, 0);
    return token;
}

static void test_init_empty(void **state)
{
    pgcdc__ledger *l = *state;

    assert_int_equal(pgcdc__ledger_count(l), 0);
    assert_int_equal(pgcdc__ledger_confirmed(l), 0);
    assert_int_equal(pgcdc__ledger_ack(l, 0), PGCDC_ERR_INVALID);
    assert_int_equal(pgcdc__ledger_ack(l, 1), PGCDC_ERR_INVALID);
    /* Nothing open: a no-op. */
    pgcdc__ledger_abort_open(l);
    assert_int_equal(pgcdc__ledger_count(l), 0);
}

/* A second destroy is harmless (the worker's cleanup path may call it on a fresh ledger). */
static void test_destroy_twice(void **state)
{
    pgcdc__ledger l;

    (void)state;
    assert_int_equal(pgcdc__ledger_init(&l), PGCDC_OK);
    pgcdc__ledger_destroy(&l);
    pgcdc__ledger_destroy(&l);
}

static void test_commit_without_holds(void **state)
{
    pgcdc__ledger *l = *state;
    uint64_t t1 = pgcdc__ledger_begin(l);
    uint64_t t2;

    assert_int_not_equal(t1, 0);
    assert_int_equal(pgcdc__ledger_count(l), 1);
    assert_int_equal(pgcdc__ledger_confirmed(l), 0);
    pgcdc__ledger_commit(l, t1, 0x100, 0);
    assert_int_equal(pgcdc__ledger_confirmed(l), 0x100);
    assert_int_equal(pgcdc__ledger_count(l), 0);

    t2 = pgcdc__ledger_begin(l);
    assert_true(t2 > t1);
    pgcdc__ledger_commit(l, t2, 0x200, 0);
    assert_int_equal(pgcdc__ledger_confirmed(l), 0x200);
    assert_int_equal(pgcdc__ledger_count(l), 0);
    /* The token of a confirmed transaction is gone. */
    assert_int_equal(pgcdc__ledger_ack(l, t2), PGCDC_ERR_INVALID);
}

static void test_holds_block_until_acked(void **state)
{
    pgcdc__ledger *l = *state;
    uint64_t t = committed_with_holds(l, 3, 0x500);

    assert_int_equal(pgcdc__ledger_confirmed(l), 0);
    assert_int_equal(pgcdc__ledger_count(l), 1);
    assert_int_equal(pgcdc__ledger_ack(l, t), PGCDC_OK);
    assert_int_equal(pgcdc__ledger_confirmed(l), 0);
    assert_int_equal(pgcdc__ledger_ack(l, t), PGCDC_OK);
    assert_int_equal(pgcdc__ledger_confirmed(l), 0);
    assert_int_equal(pgcdc__ledger_count(l), 1);
    assert_int_equal(pgcdc__ledger_ack(l, t), PGCDC_OK);
    assert_int_equal(pgcdc__ledger_confirmed(l), 0x500);
    assert_int_equal(pgcdc__ledger_count(l), 0);
    /* One ack too many. */
    assert_int_equal(pgcdc__ledger_ack(l, t), PGCDC_ERR_INVALID);
    assert_int_equal(pgcdc__ledger_confirmed(l), 0x500);
}

/* Acks may come before the commit: the transaction waits for its commit. */
static void test_acked_before_commit(void **state)
{
    pgcdc__ledger *l = *state;
    uint64_t t = pgcdc__ledger_begin(l);

    pgcdc__ledger_hold(l, t);
    pgcdc__ledger_hold(l, t);
    assert_int_equal(pgcdc__ledger_ack(l, t), PGCDC_OK);
    assert_int_equal(pgcdc__ledger_ack(l, t), PGCDC_OK);
    assert_int_equal(pgcdc__ledger_confirmed(l), 0);
    assert_int_equal(pgcdc__ledger_count(l), 1);
    /* Nothing pending any more: an extra ack is refused and changes nothing. */
    assert_int_equal(pgcdc__ledger_ack(l, t), PGCDC_ERR_INVALID);
    pgcdc__ledger_hold(l, t);
    assert_int_equal(pgcdc__ledger_ack(l, t), PGCDC_OK);
    assert_int_equal(pgcdc__ledger_count(l), 1);
    pgcdc__ledger_commit(l, t, 0x40, 0);
    assert_int_equal(pgcdc__ledger_confirmed(l), 0x40);
    assert_int_equal(pgcdc__ledger_count(l), 0);
}

static void test_out_of_order_acks(void **state)
{
    pgcdc__ledger *l = *state;
    uint64_t t1 = committed_with_holds(l, 1, 0x100);
    uint64_t t2 = committed_with_holds(l, 1, 0x200);
    uint64_t t3 = committed_with_holds(l, 2, 0x300);

    assert_int_equal(pgcdc__ledger_ack(l, t2), PGCDC_OK);
    assert_int_equal(pgcdc__ledger_confirmed(l), 0);
    assert_int_equal(pgcdc__ledger_count(l), 3);
    assert_int_equal(pgcdc__ledger_ack(l, t3), PGCDC_OK);
    assert_int_equal(pgcdc__ledger_confirmed(l), 0);
    /* t1 releases t2 as well, t3 still has one item held. */
    assert_int_equal(pgcdc__ledger_ack(l, t1), PGCDC_OK);
    assert_int_equal(pgcdc__ledger_confirmed(l), 0x200);
    assert_int_equal(pgcdc__ledger_count(l), 1);
    assert_int_equal(pgcdc__ledger_ack(l, t2), PGCDC_ERR_INVALID);
    assert_int_equal(pgcdc__ledger_ack(l, t3), PGCDC_OK);
    assert_int_equal(pgcdc__ledger_confirmed(l), 0x300);
    assert_int_equal(pgcdc__ledger_count(l), 0);
}

/*
 * Transactions open in order, so only the tail can be open.  An open tail
 * is never confirmed, even with nothing held, and does not hold back the
 * committed ones before it.
 */
static void test_open_tail(void **state)
{
    pgcdc__ledger *l = *state;
    uint64_t t1 = committed_with_holds(l, 1, 0x100);
    uint64_t t2 = pgcdc__ledger_begin(l);

    assert_int_equal(pgcdc__ledger_count(l), 2);
    assert_int_equal(pgcdc__ledger_confirmed(l), 0);
    assert_int_equal(pgcdc__ledger_ack(l, t1), PGCDC_OK);
    assert_int_equal(pgcdc__ledger_confirmed(l), 0x100);
    assert_int_equal(pgcdc__ledger_count(l), 1);

    /* Open, nothing held: still not confirmed. */
    pgcdc__ledger_hold(l, t2);
    assert_int_equal(pgcdc__ledger_ack(l, t2), PGCDC_OK);
    assert_int_equal(pgcdc__ledger_confirmed(l), 0x100);
    assert_int_equal(pgcdc__ledger_count(l), 1);
    pgcdc__ledger_commit(l, t2, 0x180, 0);
    assert_int_equal(pgcdc__ledger_confirmed(l), 0x180);
    assert_int_equal(pgcdc__ledger_count(l), 0);
}

/* The ledger itself does not forbid two open transactions: the first blocks the second. */
static void test_open_head_blocks_later(void **state)
{
    pgcdc__ledger *l = *state;
    uint64_t t1 = pgcdc__ledger_begin(l);
    uint64_t t2 = pgcdc__ledger_begin(l);

    pgcdc__ledger_commit(l, t2, 0x200, 0);
    assert_int_equal(pgcdc__ledger_confirmed(l), 0);
    assert_int_equal(pgcdc__ledger_count(l), 2);
    pgcdc__ledger_commit(l, t1, 0x100, 0);
    assert_int_equal(pgcdc__ledger_confirmed(l), 0x200);
    assert_int_equal(pgcdc__ledger_count(l), 0);
}

static void test_abort_open(void **state)
{
    pgcdc__ledger *l = *state;
    uint64_t t1 = committed_with_holds(l, 1, 0x100);
    uint64_t t2 = pgcdc__ledger_begin(l);
    uint64_t t3;

    pgcdc__ledger_hold(l, t2);
    pgcdc__ledger_hold(l, t2);
    assert_int_equal(pgcdc__ledger_ack(l, t2), PGCDC_OK);
    assert_int_equal(pgcdc__ledger_count(l), 2);

    pgcdc__ledger_abort_open(l);
    assert_int_equal(pgcdc__ledger_count(l), 1);
    /* A late ack for the dropped transaction is refused and disturbs nothing. */
    assert_int_equal(pgcdc__ledger_ack(l, t2), PGCDC_ERR_INVALID);
    assert_int_equal(pgcdc__ledger_count(l), 1);
    assert_int_equal(pgcdc__ledger_confirmed(l), 0);
    /* Neither does a late hold or commit. */
    pgcdc__ledger_hold(l, t2);
    pgcdc__ledger_commit(l, t2, 0x900, 0);
    assert_int_equal(pgcdc__ledger_count(l), 1);
    assert_int_equal(pgcdc__ledger_confirmed(l), 0);

    /* The committed head is not open: abort_open leaves it alone. */
    pgcdc__ledger_abort_open(l);
    assert_int_equal(pgcdc__ledger_count(l), 1);

    /* The server sends the dropped transaction again: a new token. */
    t3 = committed_with_holds(l, 1, 0x200);
    assert_true(t3 > t2);
    assert_int_equal(pgcdc__ledger_ack(l, t3), PGCDC_OK);
    assert_int_equal(pgcdc__ledger_confirmed(l), 0);
    assert_int_equal(pgcdc__ledger_ack(l, t1), PGCDC_OK);
    assert_int_equal(pgcdc__ledger_confirmed(l), 0x200);
    assert_int_equal(pgcdc__ledger_count(l), 0);
    assert_int_equal(pgcdc__ledger_ack(l, t2), PGCDC_ERR_INVALID);
}

/* abort_open only ever drops the one open tail. */
static void test_abort_open_only_tail(void **state)
{
    pgcdc__ledger *l = *state;
    uint64_t t1 = committed_with_holds(l, 1, 0x100);
    uint64_t t2 = committed_with_holds(l, 1, 0x200);

    pgcdc__ledger_abort_open(l);
    pgcdc__ledger_abort_open(l);
    assert_int_equal(pgcdc__ledger_count(l), 2);
    assert_int_equal(pgcdc__ledger_ack(l, t1), PGCDC_OK);
    assert_int_equal(pgcdc__ledger_ack(l, t2), PGCDC_OK);
    assert_int_equal(pgcdc__ledger_confirmed(l), 0x200);
}

static void test_tokens_never_reused(void **state)
{
    pgcdc__ledger *l = *state;
    uint64_t last = 0;

    for (int i = 0; i < 200; i++) {
        uint64_t t = pgcdc__ledger_begin(l);

        assert_true(t > last);
        last = t;
        pgcdc__ledger_hold(l, t);
        if (i % 3 == 0) {
            pgcdc__ledger_abort_open(l);
            assert_int_equal(pgcdc__ledger_ack(l, t), PGCDC_ERR_INVALID);
        } else {
            pgcdc__ledger_commit(l, t, (uint64_t)(i + 1) * 0x10, 0);
            assert_int_equal(pgcdc__ledger_ack(l, t), PGCDC_OK);
            assert_int_equal(pgcdc__ledger_confirmed(l), (uint64_t)(i + 1) * 0x10);
        }
        assert_int_equal(pgcdc__ledger_count(l), 0);
    }
}

static void test_ack_unknown(void **state)
{
    pgcdc__ledger *l = *state;
    uint64_t t1 = committed_with_holds(l, 1, 0x100);
    uint64_t t2 = committed_with_holds(l, 1, 0x200);

    assert_int_equal(pgcdc__ledger_ack(l, 0), PGCDC_ERR_INVALID);
    assert_int_equal(pgcdc__ledger_ack(l, t2 + 1), PGCDC_ERR_INVALID);
    assert_int_equal(pgcdc__ledger_ack(l, UINT64_MAX), PGCDC_ERR_INVALID);
    assert_int_equal(pgcdc__ledger_count(l), 2);
    assert_int_equal(pgcdc__ledger_ack(l, t2), PGCDC_OK);
    assert_int_equal(pgcdc__ledger_ack(l, t2), PGCDC_ERR_INVALID);
    assert_int_equal(pgcdc__ledger_count(l), 2);
    assert_int_equal(pgcdc__ledger_confirmed(l), 0);
    assert_int_equal(pgcdc__ledger_ack(l, t1), PGCDC_OK);
    assert_int_equal(pgcdc__ledger_confirmed(l), 0x200);
    assert_int_equal(pgcdc__ledger_ack(l, t1), PGCDC_ERR_INVALID);
}

/* Many outstanding transactions: the ring grows well past its first size. */
static void test_growth(void **state)
{
    pgcdc__ledger *l = *state;
    enum { N = 5000 };
    uint64_t *tokens = calloc(N, sizeof(*tokens));

    assert_non_null(tokens);
    for (int i = 0; i < N; i++)
        tokens[i] = committed_with_holds(l, 1, (uint64_t)(i + 1) * 0x10);
    assert_int_equal(pgcdc__ledger_count(l), N);
    /* Everything but the first, newest first. */
    for (int i = N - 1; i >= 1; i--) {
        assert_int_equal(pgcdc__ledger_ack(l, tokens[i]), PGCDC_OK);
        assert_int_equal(pgcdc__ledger_confirmed(l), 0);
    }
    assert_int_equal(pgcdc__ledger_count(l), N);
    assert_int_equal(pgcdc__ledger_ack(l, tokens[0]), PGCDC_OK);
    assert_int_equal(pgcdc__ledger_confirmed(l), (uint64_t)N * 0x10);
    assert_int_equal(pgcdc__ledger_count(l), 0);
    free(tokens);
}

/*
 * Wrap-around: push some, pop some (the head moves into the ring), push more
 * so the live entries wrap past the end, then grow while wrapped.
 */
static void test_wrap_and_grow(void **state)
{
    pgcdc__ledger *l = *state;
    enum { N = 3000 };
    uint64_t *tokens = calloc(N, sizeof(*tokens));
    uint64_t lsn = 0;
    int first = 0; /* oldest not yet confirmed */
    int next = 0;

    assert_non_null(tokens);
    for (int round = 0; round < 6; round++) {
        int push = 40 + round * 150;
        int pop = 30 + round * 100;

        for (int i = 0; i < push; i++) {
            lsn += 0x28;
            tokens[next++] = committed_with_holds(l, 2, lsn);
        }
        /* Ack everything of the next `pop` transactions, oldest last. */
        for (int i = first + pop - 1; i >= first; i--) {
            assert_int_equal(pgcdc__ledger_ack(l, tokens[i]), PGCDC_OK);
            assert_int_equal(pgcdc__ledger_ack(l, tokens[i]), PGCDC_OK);
        }
        first += pop;
        assert_int_equal(pgcdc__ledger_confirmed(l), (uint64_t)first * 0x28);
        assert_int_equal(pgcdc__ledger_count(l), (size_t)(next - first));
        /* Tokens still outstanding are all found after the moves. */
        for (int i = first; i < next; i++)
            pgcdc__ledger_hold(l, tokens[i]);
        for (int i = first; i < next; i++)
            assert_int_equal(pgcdc__ledger_ack(l, tokens[i]), PGCDC_OK);
        assert_int_equal(pgcdc__ledger_count(l), (size_t)(next - first));
    }
    assert_true(next <= N);
    for (int i = first; i < next; i++) {
        assert_int_equal(pgcdc__ledger_ack(l, tokens[i]), PGCDC_OK);
        assert_int_equal(pgcdc__ledger_ack(l, tokens[i]), PGCDC_OK);
    }
    assert_int_equal(pgcdc__ledger_confirmed(l), lsn);
    assert_int_equal(pgcdc__ledger_count(l), 0);
    free(tokens);
}

static void test_idle_advance(void **state)
{
    pgcdc__ledger *l = *state;
    uint64_t t;

    pgcdc__ledger_idle_advance(l, 0x500);
    assert_int_equal(pgcdc__ledger_confirmed(l), 0x500);
    /* Never backward. */
    pgcdc__ledger_idle_advance(l, 0x300);
    assert_int_equal(pgcdc__ledger_confirmed(l), 0x500);
    pgcdc__ledger_idle_advance(l, 0);
    assert_int_equal(pgcdc__ledger_confirmed(l), 0x500);

    /* An open transaction: no move. */
    t = pgcdc__ledger_begin(l);
    pgcdc__ledger_idle_advance(l, 0x800);
    assert_int_equal(pgcdc__ledger_confirmed(l), 0x500);
    /* Committed but held: not yet; once it is acknowledged, the idle position. */
    pgcdc__ledger_hold(l, t);
    pgcdc__ledger_commit(l, t, 0x600, 0);
    pgcdc__ledger_idle_advance(l, 0x800);
    assert_int_equal(pgcdc__ledger_confirmed(l), 0x500);
    assert_int_equal(pgcdc__ledger_ack(l, t), PGCDC_OK);
    assert_int_equal(pgcdc__ledger_confirmed(l), 0x800);
    pgcdc__ledger_idle_advance(l, 0x900);
    assert_int_equal(pgcdc__ledger_confirmed(l), 0x900);

    /* Waiting behind two: only when both are acknowledged, and never behind an open one. */
    t = pgcdc__ledger_begin(l);
    pgcdc__ledger_hold(l, t);
    pgcdc__ledger_commit(l, t, 0xa00, 0);
    {
        uint64_t t2 = pgcdc__ledger_begin(l);

        pgcdc__ledger_hold(l, t2);
        pgcdc__ledger_commit(l, t2, 0xb00, 0);
        pgcdc__ledger_idle_advance(l, 0xc00);
        t2 = pgcdc__ledger_begin(l); /* open: the next keepalive's position may not wait */
        pgcdc__ledger_idle_advance(l, 0xd00);
        assert_int_equal(pgcdc__ledger_ack(l, t), PGCDC_OK);
        assert_int_equal(pgcdc__ledger_confirmed(l), 0xa00);
        assert_int_equal(pgcdc__ledger_ack(l, t + 1), PGCDC_OK);
        assert_int_equal(pgcdc__ledger_confirmed(l), 0xb00);
        pgcdc__ledger_hold(l, t2);
        pgcdc__ledger_commit(l, t2, 0xc80, 0);
        assert_int_equal(pgcdc__ledger_ack(l, t2), PGCDC_OK);
        assert_int_equal(pgcdc__ledger_confirmed(l), 0xc80);
    }
}

/* A transaction ending below the confirmed LSN does not pull it back. */
static void test_confirmed_never_backward(void **state)
{
    pgcdc__ledger *l = *state;
    uint64_t t2;

    pgcdc__ledger_idle_advance(l, 0x1000);
    committed_with_holds(l, 0, 0x900);
    assert_int_equal(pgcdc__ledger_confirmed(l), 0x1000);
    assert_int_equal(pgcdc__ledger_count(l), 0);
    t2 = committed_with_holds(l, 1, 0x800);
    assert_int_equal(pgcdc__ledger_ack(l, t2), PGCDC_OK);
    assert_int_equal(pgcdc__ledger_confirmed(l), 0x1000);
    assert_int_equal(pgcdc__ledger_count(l), 0);
    committed_with_holds(l, 0, 0x1001);
    assert_int_equal(pgcdc__ledger_confirmed(l), 0x1001);
}

/* ---- randomized run against a model ---- */

typedef struct model_txn {
    uint64_t token;
    uint64_t end_lsn; /* 0: open */
    uint32_t pending;
} model_txn;

typedef struct model {
    model_txn *txns; /* oldest first; txns[first..n) are live */
    size_t first;
    size_t n;
    size_t cap;
    uint64_t confirmed;
    uint64_t lsn;
} model;

static uint64_t rng_next(uint64_t *s)
{
    uint64_t x = *s;

    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return x * UINT64_C(2685821657736338717);
}

static void model_advance(model *m)
{
    while (m->first < m->n) {
        model_txn *t = &m->txns[m->first];

        if (t->end_lsn == 0 || t->pending > 0)
            break;
        if (t->end_lsn > m->confirmed)
            m->confirmed = t->end_lsn;
        m->first++;
    }
}

static int model_open_tail(const model *m)
{
    return m->n > m->first && m->txns[m->n - 1].end_lsn == 0;
}

/* One random step applied to both the ledger and the model; grow biases toward begins. */
static void random_step(pgcdc__ledger *l, model *m, uint64_t *seed, int grow)
{
    uint64_t r = rng_next(seed) % 100;
    size_t live = m->n - m->first;

    if (model_open_tail(m)) {
        model_txn *t = &m->txns[m->n - 1];

        if (r < 50) {
            pgcdc__ledger_hold(l, t->token);
            t->pending++;
        } else if (r < 95) {
            m->lsn += 1 + rng_next(seed) % 0x100;
            pgcdc__ledger_commit(l, t->token, m->lsn, 0);
            t->end_lsn = m->lsn;
            model_advance(m);
        } else {
            pgcdc__ledger_abort_open(l);
            assert_int_equal(pgcdc__ledger_ack(l, t->token), PGCDC_ERR_INVALID);
            m->n--;
        }
        return;
    }
    if (live == 0 || r < (uint64_t)(grow ? 60 : 15)) {
        uint64_t token = pgcdc__ledger_begin(l);

        assert_int_not_equal(token, 0);
        if (m->n > m->first)
            assert_true(token > m->txns[m->n - 1].token);
        assert_true(m->n < m->cap);
        m->txns[m->n].token = token;
        m->txns[m->n].end_lsn = 0;
        m->txns[m->n].pending = 0;
        m->n++;
        return;
    }
    /* Ack one item of a random live transaction, or an ack that must be refused. */
    {
        model_txn *t = &m->txns[m->first + rng_next(seed) % live];
        int expect = t->pending > 0 ? PGCDC_OK : PGCDC_ERR_INVALID;

        assert_int_equal(pgcdc__ledger_ack(l, t->token), expect);
        if (expect == PGCDC_OK) {
            t->pending--;
            model_advance(m);
        }
    }
}

static void test_random_against_model(void **state)
{
    pgcdc__ledger *l = *state;
    model m = {0};
    uint64_t seed = UINT64_C(0x9E3779B97F4A7C15);
    uint64_t prev = 0;
    size_t peak = 0;

    m.cap = 200000;
    m.txns = calloc(m.cap, sizeof(*m.txns));
    assert_non_null(m.txns);
    for (int phase = 0; phase < 8; phase++) {
        int grow = phase % 2 == 0;

        for (int i = 0; i < 20000; i++) {
            random_step(l, &m, &seed, grow);
            assert_int_equal(pgcdc__ledger_count(l), m.n - m.first);
            assert_int_equal(pgcdc__ledger_confirmed(l), m.confirmed);
            assert_true(m.confirmed >= prev);
            prev = m.confirmed;
            if (m.n - m.first > peak)
                peak = m.n - m.first;
        }
    }
    /* The run must really have gone past the initial ring size. */
    assert_true(peak > 1000);
    free(m.txns);
}

/* ---- concurrent acks ---- */

enum { NTHREADS = 4, NTXNS = 3000, HOLDS_PER_TXN = 5 };

typedef struct ackq {
    pgcdc__ledger *l;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    uint64_t *items; /* tokens, one per held item */
    size_t pushed;
    size_t popped;
    int done;
    atomic_int failures;
    atomic_size_t acked;
} ackq;

static void *acker(void *arg)
{
    ackq *q = arg;

    for (;;) {
        uint64_t token;

        pthread_mutex_lock(&q->mu);
        while (q->popped == q->pushed && !q->done)
            pthread_cond_wait(&q->cv, &q->mu);
        if (q->popped == q->pushed) {
            pthread_mutex_unlock(&q->mu);
            return NULL;
        }
        token = q->items[q->popped++];
        pthread_mutex_unlock(&q->mu);
        if (pgcdc__ledger_ack(q->l, token) != PGCDC_OK)
            atomic_fetch_add(&q->failures, 1);
        atomic_fetch_add(&q->acked, 1);
    }
}

static void push_item(ackq *q, uint64_t token)
{
    pthread_mutex_lock(&q->mu);
    q->items[q->pushed++] = token;
    pthread_cond_signal(&q->cv);
    pthread_mutex_unlock(&q->mu);
}

static void test_concurrent_acks(void **state)
{
    pgcdc__ledger *l = *state;
    ackq q;
    pthread_t th[NTHREADS];
    uint64_t last_end = 0;
    uint64_t prev = 0;

    memset(&q, 0, sizeof(q));
    q.l = l;
    q.items = calloc((size_t)NTXNS * HOLDS_PER_TXN, sizeof(*q.items));
    assert_non_null(q.items);
    atomic_init(&q.failures, 0);
    atomic_init(&q.acked, 0);
    pthread_mutex_init(&q.mu, NULL);
    pthread_cond_init(&q.cv, NULL);
    for (int i = 0; i < NTHREADS; i++)
        assert_int_equal(pthread_create(&th[i], NULL, acker, &q), 0);

    for (int i = 0; i < NTXNS; i++) {
        uint64_t token = pgcdc__ledger_begin(l);
        uint64_t now;

        assert_int_not_equal(token, 0);
        /* Hold before handing the item over, as the worker does before a callback. */
        for (int k = 0; k < HOLDS_PER_TXN; k++) {
            pgcdc__ledger_hold(l, token);
            push_item(&q, token);
        }
        last_end = (uint64_t)(i + 1) * 0x30;
        pgcdc__ledger_commit(l, token, last_end, 0);
        now = pgcdc__ledger_confirmed(l);
        assert_true(now >= prev);
        assert_true(now <= last_end);
        prev = now;
    }

    pthread_mutex_lock(&q.mu);
    q.done = 1;
    pthread_cond_broadcast(&q.cv);
    pthread_mutex_unlock(&q.mu);
    for (int i = 0; i < NTHREADS; i++)
        assert_int_equal(pthread_join(th[i], NULL), 0);

    assert_int_equal(atomic_load(&q.failures), 0);
    assert_int_equal(atomic_load(&q.acked), (size_t)NTXNS * HOLDS_PER_TXN);
    assert_int_equal(pgcdc__ledger_confirmed(l), last_end);
    assert_int_equal(pgcdc__ledger_count(l), 0);
    pthread_cond_destroy(&q.cv);
    pthread_mutex_destroy(&q.mu);
    free(q.items);
}

/* The latency histogram: exact small values, quantiles within a bucket's width. */
static void test_histogram(void **state)
{
    pgcdc__hist h;

    (void)state;
    memset(&h, 0, sizeof(h));
    assert_int_equal(pgcdc__hist_quantile(&h, 0.99), 0);
    for (uint64_t v = 1; v <= 10; v++)
        pgcdc__hist_add(&h, v);
    assert_int_equal(h.count, 10);
    assert_int_equal(pgcdc__hist_quantile(&h, 0.5), 5);
    assert_int_equal(pgcdc__hist_quantile(&h, 1.0), 10);
    /* 990 values of 1000 us and 10 of 50 000: p99 is 1000 within 12.5 %, the max exact. */
    memset(&h, 0, sizeof(h));
    for (int i = 0; i < 990; i++)
        pgcdc__hist_add(&h, 1000);
    for (int i = 0; i < 10; i++)
        pgcdc__hist_add(&h, 50000);
    assert_in_range(pgcdc__hist_quantile(&h, 0.99), 1000, 1125);
    assert_in_range(pgcdc__hist_quantile(&h, 0.999), 50000, 50000);
    assert_int_equal(h.max, 50000);
    /* Past the last bucket: counted there, the max still exact. */
    pgcdc__hist_add(&h, UINT64_MAX / 2);
    assert_int_equal(pgcdc__hist_quantile(&h, 1.0), UINT64_MAX / 2);
}

/*
 * Each confirmed transaction with a commit time adds its commit-to-
 * confirmation latency; one without adds nothing.
 */
static void test_latency_recorded(void **state)
{
    pgcdc__ledger *l = *state;
    pgcdc__hist h;
    uint64_t t1 = pgcdc__ledger_begin(l);
    uint64_t t2 = pgcdc__ledger_begin(l);

    pgcdc__ledger_hold(l, t1);
    /* Committed on the server 5 s ago: at least that much when confirmed. */
    pgcdc__ledger_commit(l, t1, 0x100, pgcdc__wall_us() - 5000000);
    pgcdc__ledger_commit(l, t2, 0x200, 0);
    pgcdc__ledger_latency(l, &h);
    assert_int_equal(h.count, 0);
    assert_int_equal(pgcdc__ledger_ack(l, t1), PGCDC_OK);
    pgcdc__ledger_latency(l, &h);
    assert_int_equal(h.count, 1);
    assert_true(h.max >= 5000000);
    assert_int_equal(pgcdc__ledger_confirmed(l), 0x200);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_init_empty, setup, teardown),
        cmocka_unit_test(test_destroy_twice),
        cmocka_unit_test_setup_teardown(test_commit_without_holds, setup, teardown),
        cmocka_unit_test_setup_teardown(test_holds_block_until_acked, setup, teardown),
        cmocka_unit_test_setup_teardown(test_acked_before_commit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_out_of_order_acks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_open_tail, setup, teardown),
        cmocka_unit_test_setup_teardown(test_open_head_blocks_later, setup, teardown),
        cmocka_unit_test_setup_teardown(test_abort_open, setup, teardown),
        cmocka_unit_test_setup_teardown(test_abort_open_only_tail, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tokens_never_reused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ack_unknown, setup, teardown),
        cmocka_unit_test_setup_teardown(test_growth, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wrap_and_grow, setup, teardown),
        cmocka_unit_test_setup_teardown(test_idle_advance, setup, teardown),
        cmocka_unit_test_setup_teardown(test_confirmed_never_backward, setup, teardown),
        cmocka_unit_test_setup_teardown(test_random_against_model, setup, teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_acks, setup, teardown),
        cmocka_unit_test(test_histogram),
        cmocka_unit_test_setup_teardown(test_latency_recorded, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
