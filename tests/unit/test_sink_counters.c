/*
 * A sink's counters without a sink: acknowledgements matched to their
 * writes by token (in order, out of order, before the write returned, a
 * synchronous commit), the histogram's buckets, and a ring that grows.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "sink/stats.h"

/* The clock the tests pass (monotonic microseconds): durations are exact, not measured. */
#define T0 1000000000000LL

static pgcdc__sink_counters c;

static int setup(void **state)
{
    (void)state;
    pgcdc__sink_counters_init(&c);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    pgcdc__sink_counters_destroy(&c);
    return 0;
}

static pgcdc_sink_stats read_now(void)
{
    pgcdc_sink_stats st;

    memset(&st, 0, sizeof(st));
    pgcdc__sink_counters_read(&c, &st);
    return st;
}

static void test_plain(void **state)
{
    pgcdc_sink_stats st;

    (void)state;
    pgcdc__sink_counters_wrote(&c, 100);
    pgcdc__sink_counters_wrote(&c, 0);
    pgcdc__sink_counters_error(&c);
    atomic_store(&c.inflight, 77);
    st = read_now();
    assert_int_equal(st.events, 2);
    assert_int_equal(st.bytes, 100);
    assert_int_equal(st.errors, 1);
    assert_int_equal(st.inflight_bytes, 77);
    assert_int_equal(st.acks, 0);
}

/* Commits deferred, acknowledged out of order; the durations land in their buckets. */
static void test_deferred_commits(void **state)
{
    int64_t now = T0;
    uint64_t w1;
    uint64_t w2;
    pgcdc_sink_stats st;

    (void)state;
    w1 = pgcdc__sink_counters_expect(&c, 1, now - 2000000); /* 2 s ago */
    pgcdc__sink_counters_settle(&c, w1, now - 2000000, PGCDC_DEFER, now);
    w2 = pgcdc__sink_counters_expect(&c, 2, now);
    pgcdc__sink_counters_settle(&c, w2, now, PGCDC_DEFER, now);
    pgcdc__sink_counters_ack(&c, 2, now);
    pgcdc__sink_counters_ack(&c, 1, now);
    st = read_now();
    assert_int_equal(st.acks, 2);
    assert_true(st.ack_latency_sum_us >= 2000000);
    /* Token 2 took no time, token 1 took 2 s: in (1 s, 2.5 s]. */
    assert_int_equal(st.ack_latency_buckets[8], 1);  /* 0.5 s */
    assert_int_equal(st.ack_latency_buckets[9], 1);  /* 1 s */
    assert_int_equal(st.ack_latency_buckets[10], 2); /* 2.5 s */
    assert_int_equal(st.ack_latency_buckets[PGCDC_SINK_ACK_BUCKETS - 1], 2);
    /* An acknowledgement of nothing waiting is not timed. */
    pgcdc__sink_counters_ack(&c, 99, now);
    assert_int_equal(read_now().acks, 2);
}

/* Acknowledged during the write (file sink group commit), or taken synchronously. */
static void test_within_write(void **state)
{
    int64_t now = T0;
    uint64_t w;
    pgcdc_sink_stats st;

    (void)state;
    w = pgcdc__sink_counters_expect(&c, 5, now);
    pgcdc__sink_counters_ack(&c, 5, now);
    pgcdc__sink_counters_settle(&c, w, now, PGCDC_DEFER, now);
    assert_int_equal(read_now().acks, 1);
    /* Handled: acknowledged by the write's return; an acknowledgement in it too counts once. */
    w = pgcdc__sink_counters_expect(&c, 6, now);
    pgcdc__sink_counters_settle(&c, w, now, PGCDC_HANDLED, now);
    w = pgcdc__sink_counters_expect(&c, 7, now);
    pgcdc__sink_counters_ack(&c, 7, now);
    pgcdc__sink_counters_settle(&c, w, now, PGCDC_HANDLED, now);
    /* A failed write is no acknowledgement. */
    w = pgcdc__sink_counters_expect(&c, 8, now);
    pgcdc__sink_counters_settle(&c, w, now, PGCDC_ERR_SINK, now);
    st = read_now();
    assert_int_equal(st.acks, 3);
    assert_int_equal(c.head, c.tail); /* nothing left waiting */
    /* A change event deferred and acknowledged before its write returned. */
    pgcdc__sink_counters_ack(&c, 9, now);
    pgcdc__sink_counters_deferred(&c, 9, now);
    pgcdc__sink_counters_deferred(&c, 9, now);
    pgcdc__sink_counters_ack(&c, 9, now);
    st = read_now();
    assert_int_equal(st.acks, 5);
    assert_int_equal(st.ack_latency_buckets[0], 5);
    assert_int_equal(c.head, c.tail);
}

/* More waits than the ring first holds, acknowledged in order and out of it. */
static void test_many(void **state)
{
    int64_t now = T0;
    pgcdc_sink_stats st;

    (void)state;
    for (uint64_t t = 1; t <= 1000; t++)
        pgcdc__sink_counters_settle(&c, pgcdc__sink_counters_expect(&c, t, now), now, PGCDC_DEFER,
                                    now);
    assert_true(c.cap >= 1000);
    for (uint64_t t = 1000; t > 500; t--)
        pgcdc__sink_counters_ack(&c, t, now);
    for (uint64_t t = 1; t <= 500; t++)
        pgcdc__sink_counters_ack(&c, t, now);
    st = read_now();
    assert_int_equal(st.acks, 1000);
    assert_int_equal(st.ack_latency_buckets[PGCDC_SINK_ACK_BUCKETS - 1], 1000);
    assert_int_equal(c.head, c.tail);
}

/* Over the last bound: counted, in no bucket (only +Inf). */
static void test_over(void **state)
{
    int64_t now = T0;
    int64_t long_ago = T0 - 40000000;
    pgcdc_sink_stats st;

    (void)state;
    pgcdc__sink_counters_settle(&c, pgcdc__sink_counters_expect(&c, 1, long_ago), long_ago,
                                PGCDC_HANDLED, now);
    st = read_now();
    assert_int_equal(st.acks, 1);
    assert_int_equal(st.ack_latency_buckets[PGCDC_SINK_ACK_BUCKETS - 1], 0);
    assert_true(st.ack_latency_sum_us >= 40000000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_plain, setup, teardown),
        cmocka_unit_test_setup_teardown(test_deferred_commits, setup, teardown),
        cmocka_unit_test_setup_teardown(test_within_write, setup, teardown),
        cmocka_unit_test_setup_teardown(test_many, setup, teardown),
        cmocka_unit_test_setup_teardown(test_over, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
