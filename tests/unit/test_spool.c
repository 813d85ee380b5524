/*
 * Unit tests for src/spool.c: append/replay round trips across the 256 KiB
 * write buffer, interleaved transactions, subtransaction and whole aborts,
 * reset, and the spool directory (files unlinked at once, errors reported).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/spool.h"
#include "pgcdc.h"

/* Where the spools report failures (one thread). */
static pgcdc__ctx ctx;

/* The spool's write and read buffer size (SPOOL_BUF_SIZE in spool.c). */
#define BUF (256 * 1024)

typedef struct fixture {
    char dir[4096];
    pgcdc__spool *sp;
} fixture;

/* One expected message: regenerated from its seed and length. */
typedef struct expect {
    uint32_t seed;
    size_t len;
} expect;

static void make_tmpdir(char *dir, size_t size)
{
    const char *tmp = getenv("TMPDIR");

    if (tmp == NULL || *tmp == '\0')
        tmp = "/tmp";
    snprintf(dir, size, "%s/pgcdc-test-spool-XXXXXX", tmp);
    assert_non_null(mkdtemp(dir));
}

static int setup(void **state)
{
    fixture *fx = calloc(1, sizeof(*fx));

    if (fx == NULL)
        return -1;
    make_tmpdir(fx->dir, sizeof(fx->dir));
    fx->sp = pgcdc__spool_new(&ctx, fx->dir);
    if (fx->sp == NULL) {
        rmdir(fx->dir);
        free(fx);
        return -1;
    }
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    fixture *fx = *state;
    int r;

    pgcdc__spool_free(fx->sp);
    /* Fails when the spool left a file behind. */
    r = rmdir(fx->dir);
    free(fx);
    return r;
}

/* Message bytes: a change type byte, then a pattern that differs per seed and position. */
static void fill(uint8_t *buf, uint32_t seed, size_t len)
{
    static const char types[] = "IUDTM";

    if (len > 0)
        buf[0] = (uint8_t)types[seed % 5];
    for (size_t i = 1; i < len; i++)
        buf[i] = (uint8_t)(seed * 131u + (uint32_t)i * 7u + (uint32_t)(i >> 9));
}

/* The WAL position a message of this seed came at: all 64 bits vary. */
static uint64_t lsn_of(uint32_t seed)
{
    return (uint64_t)seed * UINT64_C(0x9E3779B97F4A7C15);
}

static void append_msg(pgcdc__spool *sp, uint32_t xid, uint32_t subxid, uint32_t seed, size_t len)
{
    uint8_t *buf = malloc(len > 0 ? len : 1);
    int r;

    assert_non_null(buf);
    fill(buf, seed, len);
    r = pgcdc__spool_append(sp, xid, subxid, lsn_of(seed), buf, len);
    free(buf);
    if (r != 0)
        fail_msg("append of %zu bytes to xid %u failed: %s", len, xid, pgcdc__errmsg(&ctx));
}

/* Appends the messages e[0..n) to xid, all by subxid. */
static void append_all(pgcdc__spool *sp, uint32_t xid, uint32_t subxid, const expect *e, size_t n)
{
    for (size_t i = 0; i < n; i++)
        append_msg(sp, xid, subxid, e[i].seed, e[i].len);
}

/* Replays xid, checks it reads exactly e[0..n), then ends the replay. */
static void check_replay(pgcdc__spool *sp, uint32_t xid, const expect *e, size_t n)
{
    size_t cap = 1;
    uint8_t *want;
    uint8_t *msg;
    size_t len;
    uint64_t lsn;

    for (size_t i = 0; i < n; i++) {
        if (e[i].len + 1 > cap)
            cap = e[i].len + 1;
    }
    want = malloc(cap);
    assert_non_null(want);
    assert_int_equal(pgcdc__spool_replay_begin(sp, xid), 0);
    for (size_t i = 0; i < n; i++) {
        int r = pgcdc__spool_replay_next(sp, &msg, &len, &lsn);

        if (r != 1)
            fail_msg("xid %u: message %zu of %zu: replay_next gave %d (%s)", xid, i, n, r,
                     pgcdc__errmsg(&ctx));
        if (len != e[i].len)
            fail_msg("xid %u: message %zu: length %zu, want %zu", xid, i, len, e[i].len);
        assert_true(lsn == lsn_of(e[i].seed));
        fill(want, e[i].seed, len);
        if (len > 0 && memcmp(msg, want, len) != 0)
            fail_msg("xid %u: message %zu (seed %u, %zu bytes) differs", xid, i, e[i].seed, len);
        assert_int_equal(msg[len], 0);
        /* The buffer is the caller's to write to, spare byte included. */
        memset(msg, 0xAB, len + 1);
    }
    assert_int_equal(pgcdc__spool_replay_next(sp, &msg, &len, &lsn), 0);
    /* The end stays the end. */
    assert_int_equal(pgcdc__spool_replay_next(sp, &msg, &len, &lsn), 0);
    pgcdc__spool_replay_end(sp);
    free(want);
}

/* Names in dir other than . and .. */
static int dir_entries(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    int n = 0;

    assert_non_null(d);
    for (;;) {
        de = readdir(d);
        if (de == NULL)
            break;
        if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
            n++;
    }
    closedir(d);
    return n;
}

/* Open descriptors of this process on (deleted) spool files in dir. */
static int spool_fds_in(const char *dir)
{
    DIR *d = opendir("/proc/self/fd");
    struct dirent *de;
    char prefix[4200];
    int n = 0;

    assert_non_null(d);
    snprintf(prefix, sizeof(prefix), "%s/pgcdc-spool-", dir);
    for (;;) {
        char path[300];
        char target[4200];
        ssize_t k;

        de = readdir(d);
        if (de == NULL)
            break;
        if (de->d_name[0] == '.')
            continue;
        snprintf(path, sizeof(path), "/proc/self/fd/%s", de->d_name);
        k = readlink(path, target, sizeof(target) - 1);
        if (k < 0)
            continue;
        target[k] = '\0';
        if (strncmp(target, prefix, strlen(prefix)) == 0)
            n++;
    }
    closedir(d);
    return n;
}

static void test_free_null(void **state)
{
    (void)state;
    pgcdc__spool_free(NULL);
}

static void test_fresh(void **state)
{
    fixture *fx = *state;

    assert_int_equal(pgcdc__spool_count(fx->sp), 0);
    assert_non_null(pgcdc__errmsg(&ctx));
    /* Nothing to replay: the end at once. */
    {
        uint8_t *msg = NULL;
        size_t len = 0;
        uint64_t lsn;

        assert_int_equal(pgcdc__spool_replay_next(fx->sp, &msg, &len, &lsn), 0);
    }
    pgcdc__spool_replay_end(fx->sp);
    pgcdc__spool_reset(fx->sp);
    assert_int_equal(pgcdc__spool_count(fx->sp), 0);
}

static void test_round_trip(void **state)
{
    fixture *fx = *state;
    static const size_t fixed[] = {
        0,       1, 2,   3,       5, 100, 4095,         1,    BUF - 5, BUF - 4,
        BUF - 3, 1, BUF, BUF + 1, 0, 1,   3 * BUF + 17, 1000, BUF - 4};
    enum { NFIXED = sizeof(fixed) / sizeof(fixed[0]), NRAND = 400 };
    expect e[NFIXED + NRAND];
    uint32_t x = 12345;
    size_t n = 0;

    for (size_t i = 0; i < NFIXED; i++) {
        e[n].seed = (uint32_t)n;
        e[n].len = fixed[i];
        n++;
    }
    for (int i = 0; i < NRAND; i++) {
        x = x * 1103515245u + 12345u;
        e[n].seed = (uint32_t)n;
        /* Mostly small, every tenth up to 64 KiB. */
        e[n].len = i % 10 == 0 ? (x >> 8) % 65536 : (x >> 8) % 600;
        n++;
    }
    append_all(fx->sp, 700, 700, e, n);
    assert_int_equal(pgcdc__spool_count(fx->sp), 1);
    check_replay(fx->sp, 700, e, n);
    assert_int_equal(pgcdc__spool_count(fx->sp), 0);
    assert_int_equal(dir_entries(fx->dir), 0);
}

/* Messages that exactly fill the write buffer, overflow it by one byte, or bypass it. */
static void test_buffer_boundaries(void **state)
{
    fixture *fx = *state;
    const expect e[] = {
        {1, 1000},
        {2, BUF - 4 - (1000 + 4)},  /* wlen + 4 + len == BUF: still buffered */
        {3, 1},                     /* needs a flush first */
        {4, BUF - 4 - (1 + 4) + 1}, /* one byte too many for what is buffered */
        {5, BUF - 3},               /* never fits: written directly */
        {6, 0},
        {7, BUF - 4}, /* fits an empty buffer exactly */
        {8, 0},
    };
    const size_t n = sizeof(e) / sizeof(e[0]);

    append_all(fx->sp, 5, 5, e, n);
    check_replay(fx->sp, 5, e, n);
}

static void test_interleaved(void **state)
{
    fixture *fx = *state;
    enum { N = 300 };
    expect a[N];
    expect b[N];
    uint32_t x = 99;

    for (int i = 0; i < N; i++) {
        x = x * 1103515245u + 12345u;
        a[i].seed = (uint32_t)(2 * i);
        a[i].len = i % 50 == 7 ? BUF + (x >> 20) : (x >> 8) % 3000;
        x = x * 1103515245u + 12345u;
        b[i].seed = (uint32_t)(2 * i + 1);
        b[i].len = i % 60 == 11 ? 2 * BUF : (x >> 8) % 2000;
    }
    for (int i = 0; i < N; i++) {
        append_msg(fx->sp, 0xA, 0xA, a[i].seed, a[i].len);
        append_msg(fx->sp, 0xB, 0xB, b[i].seed, b[i].len);
    }
    assert_int_equal(pgcdc__spool_count(fx->sp), 2);
    /* B owns the write buffer now; replay A first, then B. */
    check_replay(fx->sp, 0xA, a, N);
    assert_int_equal(pgcdc__spool_count(fx->sp), 1);
    check_replay(fx->sp, 0xB, b, N);
    assert_int_equal(pgcdc__spool_count(fx->sp), 0);
}

/* A transaction appended in small pieces stays in the buffer: replay must flush it. */
static void test_replay_flushes_buffer(void **state)
{
    fixture *fx = *state;
    const expect a[] = {{1, 10}, {2, 20}};
    const expect b[] = {{3, 30}};

    append_all(fx->sp, 1, 1, a, 2);
    append_all(fx->sp, 2, 2, b, 1);
    check_replay(fx->sp, 2, b, 1);
    check_replay(fx->sp, 1, a, 2);
}

/* Runs the subtransaction scenario with message sizes scaled by `big`. */
static void subxact_scenario(fixture *fx, size_t big)
{
    const uint32_t xid = 10;
    const expect before[] = {{0, 10 + big}, {1, 20}};
    const expect sub11[] = {{2, 30 + big}, {3, 40}};
    const expect sub12[] = {{4, 50 + 2 * big}};
    const expect after[] = {{5, 60}, {6, 70 + big}};
    expect want[4];

    append_all(fx->sp, xid, xid, before, 2);
    append_all(fx->sp, xid, 11, sub11, 2);
    append_all(fx->sp, xid, 12, sub12, 1);
    assert_int_equal(pgcdc__spool_abort(fx->sp, xid, 11), 0);
    assert_int_equal(pgcdc__spool_count(fx->sp), 1);
    /* Aborting it again, or its child, finds nothing more to cut. */
    assert_int_equal(pgcdc__spool_abort(fx->sp, xid, 11), 0);
    assert_int_equal(pgcdc__spool_abort(fx->sp, xid, 12), 0);
    append_msg(fx->sp, xid, xid, after[0].seed, after[0].len);
    append_msg(fx->sp, xid, 13, after[1].seed, after[1].len);
    want[0] = before[0];
    want[1] = before[1];
    want[2] = after[0];
    want[3] = after[1];
    check_replay(fx->sp, xid, want, 4);
    assert_int_equal(pgcdc__spool_count(fx->sp), 0);
}

static void test_subxact_abort_buffered(void **state)
{
    subxact_scenario(*state, 0);
}

/* The same with data already on disk, and subtransactions starting with a direct write. */
static void test_subxact_abort_on_disk(void **state)
{
    subxact_scenario(*state, BUF);
}

static void test_subxact_abort_mid_buffer(void **state)
{
    subxact_scenario(*state, BUF / 3);
}

/* The inner subtransaction aborts, its parent goes on, then the parent aborts too. */
static void test_subxact_abort_nested(void **state)
{
    fixture *fx = *state;
    const expect e[] = {{0, 100}, {1, 200}, {2, 300}, {3, 400}, {4, 500}};
    const expect want[] = {e[0], e[4]};

    append_msg(fx->sp, 30, 30, e[0].seed, e[0].len);
    append_msg(fx->sp, 30, 31, e[1].seed, e[1].len);
    append_msg(fx->sp, 30, 32, e[2].seed, e[2].len);
    assert_int_equal(pgcdc__spool_abort(fx->sp, 30, 32), 0);
    append_msg(fx->sp, 30, 31, e[3].seed, e[3].len);
    assert_int_equal(pgcdc__spool_abort(fx->sp, 30, 31), 0);
    append_msg(fx->sp, 30, 30, e[4].seed, e[4].len);
    check_replay(fx->sp, 30, want, 2);
}

/* Only the inner subtransaction aborts: its parent's changes and later siblings stay. */
static void test_subxact_abort_inner_only(void **state)
{
    fixture *fx = *state;
    const expect e[] = {{0, 100}, {1, 200}, {2, 300}, {3, 400}, {4, 500}};
    const expect want[] = {e[0], e[1], e[2], {10, 33}, {11, 44}};

    append_msg(fx->sp, 30, 30, e[0].seed, e[0].len);
    append_msg(fx->sp, 30, 31, e[1].seed, e[1].len);
    append_msg(fx->sp, 30, 31, e[2].seed, e[2].len);
    append_msg(fx->sp, 30, 32, e[3].seed, e[3].len);
    append_msg(fx->sp, 30, 32, e[4].seed, e[4].len);
    assert_int_equal(pgcdc__spool_abort(fx->sp, 30, 32), 0);
    append_msg(fx->sp, 30, 33, 10, 33);
    append_msg(fx->sp, 30, 31, 11, 44);
    check_replay(fx->sp, 30, want, 5);
}

/* A subtransaction that made the transaction's first change: everything goes. */
static void test_subxact_abort_from_start(void **state)
{
    fixture *fx = *state;
    const expect e[] = {{7, 70}, {8, 80}};

    append_msg(fx->sp, 20, 21, 1, 10);
    append_msg(fx->sp, 20, 21, 2, BUF + 10);
    append_msg(fx->sp, 20, 20, 3, 10);
    assert_int_equal(pgcdc__spool_abort(fx->sp, 20, 21), 0);
    assert_int_equal(pgcdc__spool_count(fx->sp), 1);
    append_all(fx->sp, 20, 20, e, 2);
    check_replay(fx->sp, 20, e, 2);
}

/* Aborting a subtransaction of A while B owns the write buffer keeps B whole. */
static void test_subxact_abort_other_owner(void **state)
{
    fixture *fx = *state;
    const expect a_keep[] = {{1, 111}, {4, 444}};
    const expect b[] = {{10, 1000}, {11, 1100}, {12, 1200}};

    append_msg(fx->sp, 1, 1, a_keep[0].seed, a_keep[0].len);
    append_msg(fx->sp, 2, 2, b[0].seed, b[0].len);
    append_msg(fx->sp, 1, 5, 2, 222);
    append_msg(fx->sp, 2, 2, b[1].seed, b[1].len);
    append_msg(fx->sp, 1, 5, 3, 333);
    append_msg(fx->sp, 2, 2, b[2].seed, b[2].len);
    assert_int_equal(pgcdc__spool_abort(fx->sp, 1, 5), 0);
    append_msg(fx->sp, 1, 1, a_keep[1].seed, a_keep[1].len);
    check_replay(fx->sp, 2, b, 3);
    check_replay(fx->sp, 1, a_keep, 2);
}

static void test_whole_abort(void **state)
{
    fixture *fx = *state;
    const expect again[] = {{50, 5}, {51, 6}};
    const expect b[] = {{60, 7}};

    append_msg(fx->sp, 40, 40, 1, 100);
    append_msg(fx->sp, 40, 41, 2, BUF + 1);
    append_msg(fx->sp, 41, 41, b[0].seed, b[0].len);
    /* Buffered bytes of 40 as well. */
    append_msg(fx->sp, 40, 40, 3, 300);
    assert_int_equal(pgcdc__spool_count(fx->sp), 2);
    assert_int_equal(pgcdc__spool_abort(fx->sp, 40, 40), 0);
    assert_int_equal(pgcdc__spool_count(fx->sp), 1);
    /* The same xid again starts from nothing: no bytes of the aborted one. */
    append_all(fx->sp, 40, 40, again, 2);
    assert_int_equal(pgcdc__spool_count(fx->sp), 2);
    check_replay(fx->sp, 40, again, 2);
    check_replay(fx->sp, 41, b, 1);
    assert_int_equal(pgcdc__spool_count(fx->sp), 0);
    assert_int_equal(dir_entries(fx->dir), 0);
}

static void test_whole_abort_then_replay_empty(void **state)
{
    fixture *fx = *state;

    append_msg(fx->sp, 40, 40, 1, 100);
    assert_int_equal(pgcdc__spool_abort(fx->sp, 40, 40), 0);
    assert_int_equal(pgcdc__spool_count(fx->sp), 0);
    check_replay(fx->sp, 40, NULL, 0);
    assert_int_equal(pgcdc__spool_count(fx->sp), 0);
}

static void test_abort_unknown(void **state)
{
    fixture *fx = *state;
    const expect e[] = {{1, 10}, {2, 20}};

    append_msg(fx->sp, 50, 50, e[0].seed, e[0].len);
    append_msg(fx->sp, 50, 51, e[1].seed, e[1].len);
    assert_int_equal(pgcdc__spool_abort(fx->sp, 50, 999), 0);
    assert_int_equal(pgcdc__spool_abort(fx->sp, 77, 78), 0);
    assert_int_equal(pgcdc__spool_abort(fx->sp, 77, 77), 0);
    assert_int_equal(pgcdc__spool_abort(fx->sp, 51, 51), 0);
    assert_int_equal(pgcdc__spool_count(fx->sp), 1);
    check_replay(fx->sp, 50, e, 2);
}

static void test_replay_unknown(void **state)
{
    fixture *fx = *state;
    const expect e[] = {{1, 10}};

    check_replay(fx->sp, 123, NULL, 0);
    assert_int_equal(pgcdc__spool_count(fx->sp), 0);
    append_all(fx->sp, 50, 50, e, 1);
    check_replay(fx->sp, 124, NULL, 0);
    assert_int_equal(pgcdc__spool_count(fx->sp), 1);
    check_replay(fx->sp, 50, e, 1);
    assert_int_equal(pgcdc__spool_count(fx->sp), 0);
    assert_int_equal(dir_entries(fx->dir), 0);
}

static void test_replay_end_forgets(void **state)
{
    fixture *fx = *state;
    const expect a[] = {{1, 10}, {2, BUF * 2}, {3, 30}};
    const expect b[] = {{4, 40}};
    uint8_t *msg;
    size_t len;
    uint64_t lsn;

    append_all(fx->sp, 1, 1, a, 3);
    append_all(fx->sp, 2, 2, b, 1);
    assert_int_equal(pgcdc__spool_count(fx->sp), 2);
    /* Read only part of it, then end: forgotten all the same. */
    assert_int_equal(pgcdc__spool_replay_begin(fx->sp, 1), 0);
    assert_int_equal(pgcdc__spool_replay_next(fx->sp, &msg, &len, &lsn), 1);
    assert_int_equal(len, 10);
    assert_int_equal(pgcdc__spool_count(fx->sp), 2);
    pgcdc__spool_replay_end(fx->sp);
    assert_int_equal(pgcdc__spool_count(fx->sp), 1);
    /* A second end does nothing. */
    pgcdc__spool_replay_end(fx->sp);
    assert_int_equal(pgcdc__spool_count(fx->sp), 1);
    check_replay(fx->sp, 1, NULL, 0);
    assert_int_equal(pgcdc__spool_count(fx->sp), 1);
    check_replay(fx->sp, 2, b, 1);
    assert_int_equal(pgcdc__spool_count(fx->sp), 0);
}

static void test_reset(void **state)
{
    fixture *fx = *state;
    const expect e[] = {{9, 90}, {10, BUF + 100}};
    uint8_t *msg;
    size_t len;
    uint64_t lsn;

    append_msg(fx->sp, 1, 1, 1, BUF + 5);
    append_msg(fx->sp, 2, 2, 2, 20);
    append_msg(fx->sp, 3, 3, 3, 30);
    assert_int_equal(pgcdc__spool_count(fx->sp), 3);
    assert_int_equal(spool_fds_in(fx->dir), 3);
    pgcdc__spool_reset(fx->sp);
    assert_int_equal(pgcdc__spool_count(fx->sp), 0);
    assert_int_equal(spool_fds_in(fx->dir), 0);
    assert_int_equal(dir_entries(fx->dir), 0);
    check_replay(fx->sp, 1, NULL, 0);
    check_replay(fx->sp, 3, NULL, 0);

    /* Usable afterwards. */
    append_all(fx->sp, 3, 3, e, 2);
    append_msg(fx->sp, 4, 4, 4, 40);
    /* A reset in the middle of a replay ends it. */
    assert_int_equal(pgcdc__spool_replay_begin(fx->sp, 3), 0);
    assert_int_equal(pgcdc__spool_replay_next(fx->sp, &msg, &len, &lsn), 1);
    pgcdc__spool_reset(fx->sp);
    assert_int_equal(pgcdc__spool_replay_next(fx->sp, &msg, &len, &lsn), 0);
    pgcdc__spool_replay_end(fx->sp);
    assert_int_equal(pgcdc__spool_count(fx->sp), 0);
    append_all(fx->sp, 3, 3, e, 2);
    check_replay(fx->sp, 3, e, 2);
}

/* Many transactions at once, replayed and aborted in a scrambled order. */
static void test_many_txns(void **state)
{
    fixture *fx = *state;
    enum { NT = 40, PER = 12 };
    expect e[NT][PER];
    int order[NT];
    uint32_t x = 7;

    for (int t = 0; t < NT; t++) {
        for (int i = 0; i < PER; i++) {
            x = x * 1103515245u + 12345u;
            e[t][i].seed = (uint32_t)(t * 1000 + i);
            e[t][i].len = (x >> 8) % (i == 5 ? 40000 : 900);
        }
    }
    for (int i = 0; i < PER; i++) {
        for (int t = 0; t < NT; t++)
            append_msg(fx->sp, (uint32_t)(1000 + t), (uint32_t)(1000 + t), e[t][i].seed,
                       e[t][i].len);
    }
    assert_int_equal(pgcdc__spool_count(fx->sp), NT);
    assert_int_equal(spool_fds_in(fx->dir), NT);
    for (int t = 0; t < NT; t++)
        order[t] = (t * 17 + 5) % NT;
    for (int k = 0; k < NT; k++) {
        int t = order[k];

        if (t % 4 == 3)
            assert_int_equal(pgcdc__spool_abort(fx->sp, (uint32_t)(1000 + t), (uint32_t)(1000 + t)),
                             0);
        else
            check_replay(fx->sp, (uint32_t)(1000 + t), e[t], PER);
        assert_int_equal(pgcdc__spool_count(fx->sp), NT - k - 1);
    }
    assert_int_equal(spool_fds_in(fx->dir), 0);
    assert_int_equal(dir_entries(fx->dir), 0);
}

/* The files live in the given directory and are unlinked at once. */
static void test_spool_dir_honoured(void **state)
{
    fixture *fx = *state;
    const expect e[] = {{1, 10}, {2, BUF + 10}};

    assert_int_equal(spool_fds_in(fx->dir), 0);
    append_all(fx->sp, 1, 1, e, 2);
    assert_int_equal(spool_fds_in(fx->dir), 1);
    assert_int_equal(dir_entries(fx->dir), 0);
    append_all(fx->sp, 2, 2, e, 1);
    assert_int_equal(spool_fds_in(fx->dir), 2);
    assert_int_equal(dir_entries(fx->dir), 0);
    check_replay(fx->sp, 1, e, 2);
    assert_int_equal(spool_fds_in(fx->dir), 1);
    check_replay(fx->sp, 2, e, 1);
    assert_int_equal(spool_fds_in(fx->dir), 0);
    assert_int_equal(dir_entries(fx->dir), 0);
}

/* Without a directory: $TMPDIR. */
static void test_default_dir_is_tmpdir(void **state)
{
    fixture *fx = *state;
    const char *old = getenv("TMPDIR");
    char *saved = old != NULL ? strdup(old) : NULL;
    pgcdc__spool *sp;

    assert_int_equal(setenv("TMPDIR", fx->dir, 1), 0);
    sp = pgcdc__spool_new(&ctx, NULL);
    if (saved != NULL)
        setenv("TMPDIR", saved, 1);
    else
        unsetenv("TMPDIR");
    free(saved);
    assert_non_null(sp);
    append_msg(sp, 1, 1, 1, 10);
    assert_int_equal(spool_fds_in(fx->dir), 1);
    assert_int_equal(dir_entries(fx->dir), 0);
    pgcdc__spool_free(sp);
    assert_int_equal(spool_fds_in(fx->dir), 0);
}

static void check_unusable_dir(const char *dir)
{
    pgcdc__spool *sp = pgcdc__spool_new(&ctx, dir);
    const uint8_t msg[] = {'I', 1, 2, 3};
    const char *err;

    assert_non_null(sp);
    ctx.msg[0] = '\0';
    assert_int_equal(pgcdc__spool_append(sp, 1, 1, 0, msg, sizeof(msg)), PGCDC_ERR_IO);
    err = pgcdc__errmsg(&ctx);
    assert_non_null(err);
    assert_true(strlen(err) > 0);
    assert_non_null(strstr(err, "could not create spool file"));
    assert_int_equal(pgcdc__spool_count(sp), 0);
    /* An unknown xid needs a file too. */
    ctx.msg[0] = '\0';
    assert_int_equal(pgcdc__spool_replay_begin(sp, 2), PGCDC_ERR_IO);
    assert_true(strlen(pgcdc__errmsg(&ctx)) > 0);
    assert_int_equal(pgcdc__spool_abort(sp, 1, 1), 0);
    pgcdc__spool_free(sp);
}

static void test_unwritable_dir(void **state)
{
    fixture *fx = *state;
    char path[4200];
    int fd;

    /* Missing. */
    snprintf(path, sizeof(path), "%s/missing", fx->dir);
    check_unusable_dir(path);
    /* Not a directory. */
    snprintf(path, sizeof(path), "%s/file", fx->dir);
    fd = open(path, O_CREAT | O_WRONLY | O_EXCL, 0600);
    assert_true(fd >= 0);
    close(fd);
    check_unusable_dir(path);
    assert_int_equal(unlink(path), 0);
    /* Read-only (root writes anyway, so only checked for other users). */
    if (geteuid() != 0) {
        snprintf(path, sizeof(path), "%s/ro", fx->dir);
        assert_int_equal(mkdir(path, 0500), 0);
        check_unusable_dir(path);
        assert_int_equal(rmdir(path), 0);
    }
    assert_int_equal(dir_entries(fx->dir), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_free_null),
        cmocka_unit_test_setup_teardown(test_fresh, setup, teardown),
        cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_buffer_boundaries, setup, teardown),
        cmocka_unit_test_setup_teardown(test_interleaved, setup, teardown),
        cmocka_unit_test_setup_teardown(test_replay_flushes_buffer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_subxact_abort_buffered, setup, teardown),
        cmocka_unit_test_setup_teardown(test_subxact_abort_on_disk, setup, teardown),
        cmocka_unit_test_setup_teardown(test_subxact_abort_mid_buffer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_subxact_abort_nested, setup, teardown),
        cmocka_unit_test_setup_teardown(test_subxact_abort_inner_only, setup, teardown),
        cmocka_unit_test_setup_teardown(test_subxact_abort_from_start, setup, teardown),
        cmocka_unit_test_setup_teardown(test_subxact_abort_other_owner, setup, teardown),
        cmocka_unit_test_setup_teardown(test_whole_abort, setup, teardown),
        cmocka_unit_test_setup_teardown(test_whole_abort_then_replay_empty, setup, teardown),
        cmocka_unit_test_setup_teardown(test_abort_unknown, setup, teardown),
        cmocka_unit_test_setup_teardown(test_replay_unknown, setup, teardown),
        cmocka_unit_test_setup_teardown(test_replay_end_forgets, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reset, setup, teardown),
        cmocka_unit_test_setup_teardown(test_many_txns, setup, teardown),
        cmocka_unit_test_setup_teardown(test_spool_dir_honoured, setup, teardown),
        cmocka_unit_test_setup_teardown(test_default_dir_is_tmpdir, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unwritable_dir, setup, teardown),
    };

    pgcdc__ctx_init(&ctx, NULL, NULL, 0);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
