/*
 * Unit tests for src/value.c: tables of good and bad texts for every reader,
 * each fed through an exact-size heap copy so that ASan catches any read past
 * len.  Expected timestamps were computed by PostgreSQL 15 (extract(epoch ...)).
 */
#include <float.h>
#include <inttypes.h>
#include <locale.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "base/num.h"
#include "wire/value.h"

/* A string literal and its length, embedded NULs included. */
#define T(lit) lit, sizeof(lit) - 1

/* A copy of s[0..len) with nothing after it: no NUL, no slack for ASan to miss. */
static char *exact_copy(const char *s, size_t len)
{
    char *c = malloc(len > 0 ? len : 1);

    assert_non_null(c);
    memcpy(c, s, len);
    return c;
}

static int call_int64(const char *s, size_t len, int64_t *out)
{
    char *c = exact_copy(s, len);
    int rc = pgcdc__parse_int64(c, len, out);

    free(c);
    return rc;
}

static int call_double(const char *s, size_t len, double *out)
{
    char *c = exact_copy(s, len);
    int rc = pgcdc__parse_double(c, len, out);

    free(c);
    return rc;
}

static int call_bool(const char *s, size_t len, int *out)
{
    char *c = exact_copy(s, len);
    int rc = pgcdc__parse_bool(c, len, out);

    free(c);
    return rc;
}

static int call_timestamp(const char *s, size_t len, int64_t *out)
{
    char *c = exact_copy(s, len);
    int rc = pgcdc__parse_timestamp(c, len, out);

    free(c);
    return rc;
}

static int call_bytea(const char *s, size_t len, uint8_t *buf, size_t cap, size_t *outlen)
{
    char *c = exact_copy(s, len);
    int rc = pgcdc__parse_bytea_hex(c, len, buf, cap, outlen);

    free(c);
    return rc;
}

static long call_bytea_size(const char *s, size_t len)
{
    char *c = exact_copy(s, len);
    long n = pgcdc__bytea_hex_size(c, len);

    free(c);
    return n;
}

static int call_finite(const char *s, size_t len)
{
    char *c = exact_copy(s, len);
    int r = pgcdc__number_is_finite(c, len);

    free(c);
    return r;
}

static uint64_t bits_of(double d)
{
    uint64_t u;

    memcpy(&u, &d, sizeof(u));
    return u;
}

/* ---- int64 ---- */

struct int64_case {
    const char *s;
    size_t len;
    int rc;
    int64_t want;
};

static void check_int64_cases(const struct int64_case *cases, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        const struct int64_case *c = &cases[i];
        int64_t got = 42;
        int rc = call_int64(c->s, c->len, &got);

        if (rc != c->rc || (rc == 0 && got != c->want) || (rc != 0 && got != 42)) {
            print_error("parse_int64(\"%.*s\") = %d, %" PRId64 "; want %d, %" PRId64 "\n",
                        (int)c->len, c->s, rc, got, c->rc, c->want);
            fail();
        }
    }
}

static void test_int64_good(void **state)
{
    static const struct int64_case cases[] = {
        {T("0"), 0, 0},
        {T("-0"), 0, 0},
        {T("+0"), 0, 0},
        {T("1"), 0, 1},
        {T("-1"), 0, -1},
        {T("+42"), 0, 42},
        {T("007"), 0, 7},
        {T("2147483647"), 0, INT64_C(2147483647)},
        {T("2147483648"), 0, INT64_C(2147483648)},
        {T("-2147483649"), 0, INT64_C(-2147483649)},
        {T("4294967296"), 0, INT64_C(4294967296)},
        {T("9223372036854775806"), 0, INT64_MAX - 1},
        {T("9223372036854775807"), 0, INT64_MAX},
        {T("+9223372036854775807"), 0, INT64_MAX},
        {T("-9223372036854775807"), 0, -INT64_MAX},
        {T("-9223372036854775808"), 0, INT64_MIN},
        {T("-0000000000000000000000009223372036854775808"), 0, INT64_MIN},
        {T("00000000000000000000000000000000000000000001"), 0, 1},
    };

    (void)state;
    check_int64_cases(cases, sizeof(cases) / sizeof(cases[0]));
}

static void test_int64_range(void **state)
{
    static const struct int64_case cases[] = {
        {T("9223372036854775808"), -2, 0},
        {T("+9223372036854775808"), -2, 0},
        {T("-9223372036854775809"), -2, 0},
        {T("9223372036854775810"), -2, 0},
        {T("18446744073709551615"), -2, 0},
        {T("18446744073709551616"), -2, 0},
        {T("-18446744073709551616"), -2, 0},
        {T("92233720368547758070"), -2, 0},
        {T("99999999999999999999999999999999999999999999"), -2, 0},
    };

    (void)state;
    check_int64_cases(cases, sizeof(cases) / sizeof(cases[0]));
}

static void test_int64_bad(void **state)
{
    static const struct int64_case cases[] = {
        {T(""), -1, 0},
        {T("-"), -1, 0},
        {T("+"), -1, 0},
        {T(" 1"), -1, 0},
        {T("1 "), -1, 0},
        {T("\t1"), -1, 0},
        {T("1\n"), -1, 0},
        {T("1x"), -1, 0},
        {T("x1"), -1, 0},
        {T("1.0"), -1, 0},
        {T("1e3"), -1, 0},
        {T("--1"), -1, 0},
        {T("+-1"), -1, 0},
        {T("-+1"), -1, 0},
        {T("0x10"), -1, 0},
        {T("1,000"), -1, 0},
        {T("1_000"), -1, 0},
        {T("1\0"), -1, 0},
        {T("\0001"), -1, 0},
        {T("\xd9\xa1"), -1, 0}, /* ARABIC-INDIC DIGIT ONE */
        {T("NaN"), -1, 0},
        /* Syntax is checked before range: junk after too many digits is -1. */
        {T("99999999999999999999x"), -1, 0},
        {T("-99999999999999999999 "), -1, 0},
    };

    (void)state;
    check_int64_cases(cases, sizeof(cases) / sizeof(cases[0]));
}

static void test_int64_prefix(void **state)
{
    int64_t v = 0;
    const char *s = "1234567890";

    (void)state;
    assert_int_equal(call_int64(s, 3, &v), 0);
    assert_int_equal(v, 123);
    /* "9223372036854775807" followed by more digits: only len counts. */
    assert_int_equal(call_int64("92233720368547758079", 19, &v), 0);
    assert_int_equal(v, INT64_MAX);
    assert_int_equal(call_int64("-12", 1, &v), -1);
    assert_int_equal(pgcdc__parse_int64(NULL, 0, &v), -1);
    assert_int_equal(pgcdc__parse_int64("7", 0, &v), -1);
}

/* ---- double ---- */

struct double_case {
    const char *s;
    size_t len;
    int rc;
    double want;
};

static void check_double(const char *s, size_t len, int want_rc, double want)
{
    double got = 42.0;
    int rc = call_double(s, len, &got);
    int ok;

    if (rc != want_rc)
        ok = 0;
    else if (rc != 0)
        ok = bits_of(got) == bits_of(42.0);
    else if (isnan(want))
        ok = isnan(got);
    else
        ok = bits_of(got) == bits_of(want);
    if (!ok) {
        print_error("parse_double(\"%.*s\") = %d, %.17g (%016" PRIx64
                    "); want %d, %.17g (%016" PRIx64 ")\n",
                    len > 200 ? 200 : (int)len, s, rc, got, bits_of(got), want_rc, want,
                    bits_of(want));
        fail();
    }
}

static void check_double_cases(const struct double_case *cases, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        check_double(cases[i].s, cases[i].len, cases[i].rc, cases[i].want);
}

static void test_double_good(void **state)
{
    static const struct double_case cases[] = {
        /* What float8out and numeric_out print. */
        {T("0"), 0, 0.0},
        {T("-0"), 0, -0.0},
        {T("1.5"), 0, 1.5},
        {T("-1.5"), 0, -1.5},
        {T("0.1"), 0, 0.1},
        {T("100"), 0, 100.0},
        {T("1e+100"), 0, 1e100},
        {T("-1e+100"), 0, -1e100},
        {T("1e-05"), 0, 1e-5},
        {T("0.0001"), 0, 1e-4},
        {T("1e+15"), 0, 1e15},
        {T("1.2345678901234568e+17"), 0, 1.2345678901234568e17},
        {T("1.2345678901234567e-300"), 0, 1.2345678901234567e-300},
        {T("1.2345678901234568e-300"), 0, 1.2345678901234568e-300},
        {T("1.7976931348623157e+308"), 0, DBL_MAX},
        {T("-1.7976931348623157e+308"), 0, -DBL_MAX},
        {T("2.2250738585072014e-308"), 0, DBL_MIN},
        {T("2.225073858507201e-308"), 0, 2.225073858507201e-308}, /* largest denormal */
        {T("5e-324"), 0, DBL_TRUE_MIN},
        {T("4.9406564584124654e-324"), 0, DBL_TRUE_MIN},
        {T("-5e-324"), 0, -DBL_TRUE_MIN},
        {T("3.4028235e+38"), 0, 3.4028235e38},
        {T("123.4500"), 0, 123.45},
        {T("0.00000000000000000001"), 0, 1e-20},
        {T("9223372036854775807"), 0, 9223372036854775807.0},
        /* Other decimal spellings float8in accepts. */
        {T("+0"), 0, 0.0},
        {T("0.0"), 0, 0.0},
        {T("-0.000e10"), 0, -0.0},
        {T("+1.5"), 0, 1.5},
        {T(".5"), 0, 0.5},
        {T("-.5"), 0, -0.5},
        {T("5."), 0, 5.0},
        {T("00001.50000"), 0, 1.5},
        {T("1E100"), 0, 1e100},
        {T("1e100"), 0, 1e100},
        {T("1e0"), 0, 1.0},
        {T("1e-0"), 0, 1.0},
        {T("1e+0"), 0, 1.0},
        {T("1.e1"), 0, 10.0},
        {T(".5e1"), 0, 5.0},
        {T("1e000000000000000000000000000000000000001"), 0, 10.0},
        {T("0e99999999999999999999999"), 0, 0.0},
        {T("-0.0e-99999999999999999999"), 0, -0.0},
        {T("1e308"), 0, 1e308},
        {T("0.000005e-318"), 0, DBL_TRUE_MIN},
        /* Round half to even at 2^53. */
        {T("9007199254740993"), 0, 9007199254740992.0},
        {T("9007199254740995"), 0, 9007199254740996.0},
        {T("9007199254740993.0000000000000000000000000000001"), 0, 9007199254740994.0},
        /* Just below DBL_MAX + half an ulp still rounds to DBL_MAX. */
        {T("1.7976931348623158e+308"), 0, DBL_MAX},
        /* The special values, in float8in's spellings, ignoring case. */
        {T("NaN"), 0, NAN},
        {T("nan"), 0, NAN},
        {T("NAN"), 0, NAN},
        {T("Infinity"), 0, HUGE_VAL},
        {T("+Infinity"), 0, HUGE_VAL},
        {T("-Infinity"), 0, -HUGE_VAL},
        {T("infinity"), 0, HUGE_VAL},
        {T("INFINITY"), 0, HUGE_VAL},
        {T("inf"), 0, HUGE_VAL},
        {T("-inf"), 0, -HUGE_VAL},
        {T("+INF"), 0, HUGE_VAL},
    };

    (void)state;
    check_double_cases(cases, sizeof(cases) / sizeof(cases[0]));
}

static void test_double_range(void **state)
{
    static const struct double_case cases[] = {
        {T("1e400"), -2, 0},
        {T("-1e400"), -2, 0},
        {T("1e309"), -2, 0},
        {T("1.8e308"), -2, 0},
        {T("1.7976931348623159e+308"), -2, 0}, /* past DBL_MAX + half an ulp */
        {T("1e-400"), -2, 0},
        {T("-1e-400"), -2, 0},
        {T("2e-324"), -2, 0}, /* below half the smallest denormal: rounds to 0 */
        {T("0.000001e-318"), -2, 0},
        {T("1e99999999999999999999999999"), -2, 0},
        {T("1e-99999999999999999999999999"), -2, 0},
        {T("0.00000000000000000000000000001e-99999999999999999999999999"), -2, 0},
    };

    (void)state;
    check_double_cases(cases, sizeof(cases) / sizeof(cases[0]));
}

static void test_double_bad(void **state)
{
    static const struct double_case cases[] = {
        {T(""), -1, 0},
        {T(" 1"), -1, 0},
        {T("1 "), -1, 0},
        {T("\n1"), -1, 0},
        {T("1.5x"), -1, 0},
        {T("."), -1, 0},
        {T("-"), -1, 0},
        {T("+"), -1, 0},
        {T("-."), -1, 0},
        {T("e5"), -1, 0},
        {T(".e5"), -1, 0},
        {T("1e"), -1, 0},
        {T("1e+"), -1, 0},
        {T("1e-"), -1, 0},
        {T("1e5.5"), -1, 0},
        {T("1e5e5"), -1, 0},
        {T("1d5"), -1, 0},
        {T("1.2.3"), -1, 0},
        {T("1..2"), -1, 0},
        {T("--1"), -1, 0},
        {T("+-1"), -1, 0},
        {T("1,5"), -1, 0},
        {T("1_000"), -1, 0},
        {T("0x1p3"), -1, 0},
        {T("0x10"), -1, 0},
        {T("nan(123)"), -1, 0},
        {T("-nan"), -1, 0},
        {T("+NaN"), -1, 0},
        {T("na"), -1, 0},
        {T("in"), -1, 0},
        {T("infinit"), -1, 0},
        {T("infinityy"), -1, 0},
        {T("Infinity "), -1, 0},
        {T("--Infinity"), -1, 0},
        {T("1\0"), -1, 0},
        {T("\0"), -1, 0},
        {T("\xd9\xa1"), -1, 0},
        {T("\xe2\x88\x9e"), -1, 0}, /* INFINITY SIGN */
        /* Syntax is checked before range. */
        {T("1e400x"), -1, 0},
    };

    (void)state;
    check_double_cases(cases, sizeof(cases) / sizeof(cases[0]));
}

static void test_double_prefix(void **state)
{
    (void)state;
    check_double("1.5e10", 3, 0, 1.5);
    check_double("1e+1000", 4, 0, 10.0);
    check_double("infinity", 3, 0, HUGE_VAL);
    check_double("NaN", 2, -1, 0);
    check_double("-0.5", 1, -1, 0);
    check_double("1.5", 0, -1, 0);
}

/* ---- long mantissas: decimal big integers built here, independent of value.c ---- */

/* Decimal digits, most significant first, in a growing heap string. */
struct big {
    char *d;
    size_t n;
};

static void big_set(struct big *b, unsigned v)
{
    char tmp[16];

    b->n = (size_t)snprintf(tmp, sizeof(tmp), "%u", v);
    b->d = malloc(b->n + 1);
    assert_non_null(b->d);
    memcpy(b->d, tmp, b->n + 1);
}

static void big_mul(struct big *b, unsigned k)
{
    char *r = malloc(b->n + 12);
    size_t i;
    size_t n = 0;
    unsigned carry = 0;

    assert_non_null(r);
    /* Build the product least significant digit first, then reverse. */
    for (i = b->n; i > 0; i--) {
        unsigned v = (unsigned)(b->d[i - 1] - '0') * k + carry;

        r[n++] = (char)('0' + v % 10);
        carry = v / 10;
    }
    while (carry > 0) {
        r[n++] = (char)('0' + carry % 10);
        carry /= 10;
    }
    for (i = 0; i < n / 2; i++) {
        char t = r[i];

        r[i] = r[n - 1 - i];
        r[n - 1 - i] = t;
    }
    r[n] = '\0';
    free(b->d);
    b->d = r;
    b->n = n;
}

static void big_pow(struct big *b, unsigned base, unsigned exp)
{
    unsigned i;

    big_set(b, 1);
    for (i = 0; i < exp; i++)
        big_mul(b, base);
}

/* b += a; both positive. */
static void big_add(struct big *b, const struct big *a)
{
    size_t n = (a->n > b->n ? a->n : b->n) + 1;
    char *r = malloc(n + 1);
    size_t i;
    unsigned carry = 0;

    assert_non_null(r);
    for (i = 0; i < n; i++) {
        unsigned x = i < a->n ? (unsigned)(a->d[a->n - 1 - i] - '0') : 0;
        unsigned y = i < b->n ? (unsigned)(b->d[b->n - 1 - i] - '0') : 0;
        unsigned v = x + y + carry;

        r[n - 1 - i] = (char)('0' + v % 10);
        carry = v / 10;
    }
    r[n] = '\0';
    if (r[0] == '0') {
        memmove(r, r + 1, n);
        n--;
    }
    free(b->d);
    b->d = r;
    b->n = n;
}

/* b -= 1; b > 0. */
static void big_dec(struct big *b)
{
    size_t i = b->n;

    while (i > 0 && b->d[i - 1] == '0') {
        b->d[i - 1] = '9';
        i--;
    }
    b->d[i - 1]--;
}

/* A growing text assembled from pieces. */
struct text {
    char *s;
    size_t n;
};

static void text_add(struct text *t, const char *s, size_t n)
{
    t->s = realloc(t->s, t->n + n + 1);
    assert_non_null(t->s);
    memcpy(t->s + t->n, s, n);
    t->n += n;
    t->s[t->n] = '\0';
}

static void text_str(struct text *t, const char *s)
{
    text_add(t, s, strlen(s));
}

static void text_rep(struct text *t, char c, size_t n)
{
    t->s = realloc(t->s, t->n + n + 1);
    assert_non_null(t->s);
    memset(t->s + t->n, c, n);
    t->n += n;
    t->s[t->n] = '\0';
}

/* "0." then zeros so that digits end at the 10^-scale place, then the digits. */
static void text_fraction(struct text *t, const struct big *b, size_t scale)
{
    text_str(t, "0.");
    text_rep(t, '0', scale - b->n);
    text_add(t, b->d, b->n);
}

static void check_text_double(struct text *t, int want_rc, double want)
{
    check_double(t->s, t->n, want_rc, want);
    free(t->s);
    t->s = NULL;
    t->n = 0;
}

/*
 * Midpoints between doubles written out exactly need hundreds of digits; value.c
 * cuts mantissas past 800 digits, so these check that the cut keeps rounding right.
 */
static void test_double_long_midpoints(void **state)
{
    struct big h;
    struct big h3;
    struct text t = {NULL, 0};

    (void)state;
    /* h = 2^-1075 * 10^1075, i.e. half the smallest denormal written with 1075 decimals. */
    big_pow(&h, 5, 1075);
    assert_true(h.n > 700 && h.n < 800);

    /* Exactly half: ties to even gives 0, which is out of range. */
    text_fraction(&t, &h, 1075);
    check_text_double(&t, -2, 0);
    text_add(&t, h.d, h.n);
    text_str(&t, "e-1075");
    check_text_double(&t, -2, 0);
    /* A bit more than half, the difference 100 digits past the midpoint. */
    text_fraction(&t, &h, 1075);
    text_rep(&t, '0', 100);
    text_str(&t, "1");
    check_text_double(&t, 0, DBL_TRUE_MIN);
    text_str(&t, "-");
    text_fraction(&t, &h, 1075);
    text_rep(&t, '0', 1000);
    text_str(&t, "1");
    check_text_double(&t, 0, -DBL_TRUE_MIN);
    /* A bit less than half. */
    big_dec(&h);
    text_fraction(&t, &h, 1075);
    text_rep(&t, '9', 200);
    check_text_double(&t, -2, 0);

    /* 3h is halfway between one and two units: ties to even gives two. */
    free(h.d);
    big_pow(&h, 5, 1075);
    big_set(&h3, 0);
    big_add(&h3, &h);
    big_mul(&h3, 3);
    text_fraction(&t, &h3, 1075);
    check_text_double(&t, 0, 2 * DBL_TRUE_MIN);
    text_fraction(&t, &h3, 1075);
    text_rep(&t, '0', 300);
    text_str(&t, "1");
    check_text_double(&t, 0, 2 * DBL_TRUE_MIN);
    big_dec(&h3);
    text_fraction(&t, &h3, 1075);
    text_rep(&t, '9', 300);
    check_text_double(&t, 0, DBL_TRUE_MIN);
    free(h3.d);
    free(h.d);

    /*
     * 2^1000 + 2^947 is halfway between 2^1000 and the next double; written as
     * an integer of 302 digits followed by 600 zeros and a 1, then scaled back
     * down, the cut falls inside the integer part.
     */
    big_pow(&h, 2, 1000);
    big_pow(&h3, 2, 947);
    big_add(&h, &h3);
    text_add(&t, h.d, h.n);
    check_text_double(&t, 0, ldexp(1.0, 1000));
    text_add(&t, h.d, h.n);
    text_rep(&t, '0', 600);
    text_str(&t, "1e-601");
    check_text_double(&t, 0, ldexp(1.0, 1000) + ldexp(1.0, 948));
    text_add(&t, h.d, h.n);
    text_str(&t, ".");
    text_rep(&t, '0', 600);
    text_str(&t, "1");
    check_text_double(&t, 0, ldexp(1.0, 1000) + ldexp(1.0, 948));
    text_add(&t, h.d, h.n);
    text_str(&t, ".");
    text_rep(&t, '0', 2000);
    check_text_double(&t, 0, ldexp(1.0, 1000));
    free(h3.d);
    free(h.d);
}

static void test_double_long_numeric(void **state)
{
    struct text t = {NULL, 0};

    (void)state;
    /* numeric allows 131072 digits before the point and 16383 after. */
    text_rep(&t, '9', 131072);
    check_text_double(&t, -2, 0);
    text_str(&t, "0.");
    text_rep(&t, '0', 16382);
    text_str(&t, "1");
    check_text_double(&t, -2, 0);
    text_str(&t, "1");
    text_rep(&t, '0', 300);
    text_str(&t, ".");
    text_rep(&t, '0', 16383);
    check_text_double(&t, 0, 1e300);
    text_str(&t, "1");
    text_rep(&t, '0', 308);
    check_text_double(&t, 0, 1e308);
    text_str(&t, "1");
    text_rep(&t, '0', 309);
    check_text_double(&t, -2, 0);
    text_str(&t, "0.");
    text_rep(&t, '0', 300);
    text_str(&t, "1e+301");
    check_text_double(&t, 0, 1.0);
    /* Many leading zeros in the integer part, then a fraction. */
    text_rep(&t, '0', 5000);
    text_str(&t, "12.5");
    check_text_double(&t, 0, 12.5);
    text_str(&t, "-");
    text_rep(&t, '0', 5000);
    text_str(&t, ".");
    text_rep(&t, '0', 5000);
    check_text_double(&t, 0, -0.0);
}

static uint64_t rng_next(uint64_t *st)
{
    /* xorshift64: reproducible, good enough to spread digits and exponents. */
    *st ^= *st << 13;
    *st ^= *st >> 7;
    *st ^= *st << 17;
    return *st;
}

/* Random decimal texts against glibc strtod, which rounds correctly, in the C locale. */
static void test_double_against_strtod(void **state)
{
    uint64_t st = UINT64_C(0x9e3779b97f4a7c15);
    char buf[1400];
    int i;

    (void)state;
    for (i = 0; i < 100000; i++) {
        size_t n = 0;
        size_t ndig;
        size_t point;
        size_t k;
        int nonzero = 0;
        double ref;
        int want_rc;

        if (rng_next(&st) % 2)
            buf[n++] = '-';
        ndig = 1 + rng_next(&st) % (rng_next(&st) % 50 == 0 ? 1200 : 25);
        point = rng_next(&st) % (ndig + 2);
        for (k = 0; k < ndig; k++) {
            char c = (char)('0' + rng_next(&st) % 10);

            if (k == point)
                buf[n++] = '.';
            if (k == 0 && rng_next(&st) % 4 == 0)
                c = '0';
            nonzero |= c != '0';
            buf[n++] = c;
        }
        if (rng_next(&st) % 3 != 0)
            n +=
                (size_t)snprintf(buf + n, sizeof(buf) - n, "e%d", (int)(rng_next(&st) % 801) - 400);
        buf[n] = '\0';
        ref = strtod(buf, NULL);
        want_rc = (isinf(ref) || (ref == 0.0 && nonzero)) ? -2 : 0;
        check_double(buf, n, want_rc, ref);
    }
}

/* Up to 19 digits and exponents near zero: value.c's exact path, against strtod. */
static void test_double_short_exact(void **state)
{
    uint64_t st = UINT64_C(0x2545f4914f6cdd1d);
    char buf[64];

    (void)state;
    for (int i = 0; i < 200000; i++) {
        size_t n = 0;
        size_t ndig = 1 + rng_next(&st) % 19;
        size_t point = rng_next(&st) % (ndig + 1);

        if (rng_next(&st) % 2)
            buf[n++] = '-';
        for (size_t k = 0; k < ndig; k++) {
            if (k == point && k > 0)
                buf[n++] = '.';
            buf[n++] = (char)('0' + (k == 0 ? 1 + rng_next(&st) % 9 : rng_next(&st) % 10));
        }
        if (rng_next(&st) % 2)
            n += (size_t)snprintf(buf + n, sizeof(buf) - n, "e%d", (int)(rng_next(&st) % 61) - 30);
        buf[n] = '\0';
        check_double(buf, n, 0, strtod(buf, NULL));
    }
    /* What float8out prints for doubles: 17 digits read back exactly. */
    for (int i = 0; i < 100000; i++) {
        uint64_t bits = (rng_next(&st) & ((UINT64_C(1) << 52) - 1)) |
                        (uint64_t)(960 + rng_next(&st) % 140) << 52;
        double d;
        int n;

        memcpy(&d, &bits, sizeof(d));
        n = snprintf(buf, sizeof(buf), "%.17g", d);
        check_double(buf, (size_t)n, 0, d);
        n = snprintf(buf, sizeof(buf), "%.16g", d);
        check_double(buf, (size_t)n, 0, strtod(buf, NULL));
    }
    /* Ties: exactly half way between two doubles rounds to even. */
    check_double(T("9007199254740993"), 0, 9007199254740992.0);
    check_double(T("9007199254740995"), 0, 9007199254740996.0);
    check_double(T("900719925474099.3e1"), 0, 9007199254740992.0);
    check_double(T("4503599627370496.5"), 0, 4503599627370496.0);
    check_double(T("4503599627370497.5"), 0, 4503599627370498.0);
}

/*
 * The one-pass reader of plain decimals against the general one: the same
 * text with "e0" after it reads the same, through the general path only.
 * Digits, points and signs in random order and lengths, leading and trailing
 * zeros, over 19 significant digits, over 27 fraction digits.
 */
static void test_double_fast_path(void **state)
{
    static const char alphabet[] = "0123456789000.-";
    uint64_t st = UINT64_C(0x9e3779b97f4a7c15);
    char buf[96];

    (void)state;
    for (int i = 0; i < 300000; i++) {
        size_t n = 0;
        size_t len = 1 + rng_next(&st) % (rng_next(&st) % 8 == 0 ? 40 : 20);
        int shape = (int)(rng_next(&st) % 4);
        double fast = 42.0;
        double slow = 42.0;
        int rc_fast;
        int rc_slow;

        if (shape == 0) {
            /* Anything from the alphabet. */
            for (; n < len; n++)
                buf[n] = alphabet[rng_next(&st) % (sizeof(alphabet) - 1)];
        } else {
            /* [-]digits[.digits], zeros at either end now and then. */
            size_t point = rng_next(&st) % (len + 1);

            if (rng_next(&st) % 2)
                buf[n++] = '-';
            for (size_t k = 0; k < len; k++) {
                if (k == point)
                    buf[n++] = '.';
                buf[n++] =
                    shape == 1 && (k < 3 || k + 3 > len) ? '0' : (char)('0' + rng_next(&st) % 10);
            }
        }
        rc_fast = call_double(buf, n, &fast);
        memcpy(buf + n, "e0", 2);
        rc_slow = call_double(buf, n + 2, &slow);
        if (rc_fast != rc_slow || (rc_fast == 0 && bits_of(fast) != bits_of(slow))) {
            print_error("parse_double(\"%.*s\") = %d, %.17g; with e0: %d, %.17g\n", (int)n, buf,
                        rc_fast, fast, rc_slow, slow);
            fail();
        }
    }
}

/* In a locale whose decimal point is a comma, "1.5" still reads as 1.5. */
static void test_double_locale(void **state)
{
    static const char *const names[] = {"de_DE.UTF-8", "de_DE.utf8",  "fr_FR.UTF-8",
                                        "fr_FR.utf8",  "ru_RU.UTF-8", "nl_NL.UTF-8"};
    size_t i;
    const char *got = NULL;

    (void)state;
    for (i = 0; i < sizeof(names) / sizeof(names[0]) && got == NULL; i++)
        got = setlocale(LC_NUMERIC, names[i]);
    if (got == NULL) {
        print_message("no locale with a decimal comma installed, skipping\n");
        skip();
    }
    assert_string_equal(localeconv()->decimal_point, ",");
    check_double(T("1.5"), 0, 1.5);
    check_double(T("-1.2345678901234567e-300"), 0, -1.2345678901234567e-300);
    check_double(T("1,5"), -1, 0);
    assert_int_equal(call_finite(T("1.5")), 1);
    setlocale(LC_NUMERIC, "C");
}

/* ---- bool ---- */

static void test_bool(void **state)
{
    static const struct {
        const char *s;
        size_t len;
        int rc;
        int want;
    } cases[] = {
        {T("t"), 0, 1},     {T("f"), 0, 0},       {T("true"), 0, 1}, {T("false"), 0, 0},
        {T("T"), 0, 1},     {T("F"), 0, 0},       {T("TRUE"), 0, 1}, {T("False"), 0, 0},
        {T(""), -1, 0},     {T("tr"), -1, 0},     {T("tru"), -1, 0}, {T("truee"), -1, 0},
        {T("fals"), -1, 0}, {T("falsee"), -1, 0}, {T("yes"), -1, 0}, {T("no"), -1, 0},
        {T("on"), -1, 0},   {T("off"), -1, 0},    {T("1"), -1, 0},   {T("0"), -1, 0},
        {T(" t"), -1, 0},   {T("t "), -1, 0},     {T("t\0"), -1, 0}, {T("true\0"), -1, 0},
        {T("\0"), -1, 0},   {T("x"), -1, 0},      {T("tf"), -1, 0},  {T("y"), -1, 0},
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int got = 42;
        int rc = call_bool(cases[i].s, cases[i].len, &got);

        if (rc != cases[i].rc || (rc == 0 && got != cases[i].want) || (rc != 0 && got != 42)) {
            print_error("parse_bool(\"%.*s\") = %d, %d; want %d, %d\n", (int)cases[i].len,
                        cases[i].s, rc, got, cases[i].rc, cases[i].want);
            fail();
        }
    }
    {
        int b = 42;

        /* Only len counts. */
        assert_int_equal(call_bool("true", 1, &b), 0);
        assert_int_equal(b, 1);
        assert_int_equal(call_bool("false", 1, &b), 0);
        assert_int_equal(b, 0);
        assert_int_equal(call_bool("truex", 4, &b), 0);
        assert_int_equal(b, 1);
        assert_int_equal(call_bool("true", 2, &b), -1);
        assert_int_equal(pgcdc__parse_bool(NULL, 0, &b), -1);
    }
}

/* ---- days_from_civil ---- */

static void test_days_from_civil_table(void **state)
{
    static const struct {
        int64_t y;
        unsigned m;
        unsigned d;
        int64_t want;
    } cases[] = {
        {1970, 1, 1, 0},           {1969, 12, 31, -1},         {1970, 1, 2, 1},
        {2000, 1, 1, 10957},       {2000, 2, 29, 11016},       {2000, 3, 1, 11017},
        {1600, 2, 29, -135081},    {1582, 10, 15, -141427},    {2026, 11, 24, 20781},
        {2038, 1, 19, 24855},      {1, 1, 1, -719162},         {0, 12, 31, -719163},
        {0, 3, 1, -719468},        {0, 2, 29, -719469},        {0, 1, 1, -719528},
        {-1, 12, 31, -719529},     {-400, 1, 1, -865625},      {-4712, 11, 24, -2440222},
        {-4713, 11, 24, -2440588}, /* Julian day 0 */
        {9999, 12, 31, 2932896},   {294247, 1, 10, 106751991}, {-290308, 12, 21, -106751992},
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int64_t got = pgcdc__days_from_civil(cases[i].y, cases[i].m, cases[i].d);

        if (got != cases[i].want) {
            print_error("days_from_civil(%" PRId64 ", %u, %u) = %" PRId64 "; want %" PRId64 "\n",
                        cases[i].y, cases[i].m, cases[i].d, got, cases[i].want);
            fail();
        }
    }
}

static int test_is_leap(int64_t y)
{
    if (y % 400 == 0)
        return 1;
    if (y % 100 == 0)
        return 0;
    return y % 4 == 0;
}

static unsigned test_month_days(int64_t y, unsigned m)
{
    static const unsigned mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

    return m == 2 && test_is_leap(y) ? 29 : mdays[m - 1];
}

/* Fliegel and Van Flandern's Julian day number (CACM 1968), valid for y > -4800. */
static int64_t julian_day(int64_t y, int64_t m, int64_t d)
{
    int64_t a = (m - 14) / 12;

    return (1461 * (y + 4800 + a)) / 4 + (367 * (m - 2 - 12 * a)) / 12 -
           (3 * ((y + 4900 + a) / 100)) / 4 + d - 32075;
}

static void test_days_from_civil_sweep(void **state)
{
    int64_t y;
    unsigned m;
    unsigned d;
    int64_t expect;

    (void)state;
    /* Against an independent formula, every day from 4700 BC to AD 3000. */
    for (y = -4700; y <= 3000; y++) {
        for (m = 1; m <= 12; m++) {
            for (d = 1; d <= test_month_days(y, m); d++) {
                int64_t got = pgcdc__days_from_civil(y, m, d);

                expect = julian_day(y, m, d) - 2440588;
                if (got != expect) {
                    print_error("days_from_civil(%" PRId64 ", %u, %u) = %" PRId64 "; want %" PRId64
                                "\n",
                                y, m, d, got, expect);
                    fail();
                }
            }
        }
    }
    /* Consecutive days far outside that range, across many 400-year cycles. */
    expect = pgcdc__days_from_civil(-300000, 1, 1);
    for (y = -300000; y <= 300000; y += 997) {
        int64_t z;

        assert_int_equal(pgcdc__days_from_civil(y, 1, 1),
                         pgcdc__days_from_civil(y - 400, 1, 1) + 146097);
        for (z = y; z < y + 3; z++) {
            for (m = 1; m <= 12; m++) {
                for (d = 1; d <= test_month_days(z, m); d++) {
                    int64_t got = pgcdc__days_from_civil(z, m, d);

                    if (z == y && m == 1 && d == 1)
                        expect = got;
                    assert_int_equal(got, expect);
                    expect++;
                }
            }
        }
    }
}

/* ---- timestamp ---- */

struct ts_case {
    const char *s;
    size_t len;
    int rc;
    int64_t want;
};

static void check_ts_cases(const struct ts_case *cases, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        const struct ts_case *c = &cases[i];
        int64_t got = 42;
        int rc = call_timestamp(c->s, c->len, &got);

        if (rc != c->rc || (rc == 0 && got != c->want) || (rc != 0 && got != 42)) {
            print_error("parse_timestamp(\"%.*s\") = %d, %" PRId64 "; want %d, %" PRId64 "\n",
                        (int)c->len, c->s, rc, got, c->rc, c->want);
            fail();
        }
    }
}

static void test_timestamp_good(void **state)
{
    /* Expected values: PostgreSQL 15, extract(epoch from TEXT::timestamptz) * 10^6, UTC. */
    static const struct ts_case cases[] = {
        {T("1970-01-01"), 0, 0},
        {T("1970-01-01 00:00:00"), 0, 0},
        {T("1970-01-01 00:00:00.000001"), 0, 1},
        {T("1969-12-31 23:59:59.999999"), 0, -1},
        {T("2000-01-01 00:00:00"), 0, INT64_C(946684800000000)},
        {T("2000-01-01"), 0, INT64_C(946684800000000)},
        {T("1999-12-31 23:59:59.999999"), 0, INT64_C(946684799999999)},
        {T("2026-11-24 22:00:00.123456"), 0, INT64_C(1795557600123456)},
        {T("2026-11-24 22:00:00"), 0, INT64_C(1795557600000000)},
        {T("2026-11-24 22:00:00.1"), 0, INT64_C(1795557600100000)},
        {T("2026-11-24 22:00:00.000010"), 0, INT64_C(1795557600000010)},
        {T("2026-11-24"), 0, INT64_C(1795478400000000)},
        {T("2026-03-01 00:00:00"), 0, INT64_C(1772323200000000)},
        {T("2038-01-19 03:14:07"), 0, INT64_C(2147483647000000)},
        {T("2038-01-19 03:14:08"), 0, INT64_C(2147483648000000)},
        /* Leap years. */
        {T("2000-02-29"), 0, INT64_C(951782400000000)},
        {T("2024-02-29 12:00:00"), 0, INT64_C(1709208000000000)},
        {T("1600-02-29"), 0, INT64_C(-11670998400000000)},
        {T("1900-02-28 23:59:59"), 0, INT64_C(-2203891201000000)},
        /* Proleptic Gregorian across the 1582 reform. */
        {T("1582-10-15"), 0, INT64_C(-12219292800000000)},
        {T("1582-10-04"), 0, INT64_C(-12220243200000000)},
        {T("0001-01-01"), 0, INT64_C(-62135596800000000)},
        {T("9999-12-31 23:59:59.999999"), 0, INT64_C(253402300799999999)},
        {T("10000-01-01 00:00:00"), 0, INT64_C(253402300800000000)},
        /* timestamptz: UTC and other offsets, with minutes and seconds. */
        {T("2026-11-24 22:00:00.123456+00"), 0, INT64_C(1795557600123456)},
        {T("2026-11-24 22:00:00+05:30"), 0, INT64_C(1795537800000000)},
        {T("2026-11-24 22:00:00-03"), 0, INT64_C(1795568400000000)},
        {T("2026-11-24 22:00:00+05:30:15"), 0, INT64_C(1795537785000000)},
        {T("2026-11-24 22:00:00.5-09:30:59"), 0, INT64_C(1795591859500000)},
        {T("2026-11-24 00:00:00+15:59:59"), 0, INT64_C(1795420801000000)},
        {T("2026-11-24 00:00:00-15:59:59"), 0, INT64_C(1795535999000000)},
        {T("1970-01-01 00:00:00+14"), 0, INT64_C(-50400000000)},
        {T("2026-11-25 03:30:00.123456+05:30"), 0, INT64_C(1795557600123456)},
        {T("1900-01-01 12:19:32+00:19:32"), 0, INT64_C(-2208945600000000)},
        /* BC: year N BC is astronomical year 1 - N. */
        {T("0044-03-15 12:00:00 BC"), 0, INT64_C(-63517780800000000)},
        {T("0044-03-15 12:00:00+00 BC"), 0, INT64_C(-63517780800000000)},
        {T("0044-03-15 12:19:32+00:19:32 BC"), 0, INT64_C(-63517780800000000)},
        {T("0044-03-15 12:00:00 bc"), 0, INT64_C(-63517780800000000)},
        {T("4713-11-24 BC"), 0, INT64_C(-210835180800000000)},
        {T("4714-11-24 BC"), 0, INT64_C(-210866803200000000)},
        {T("4714-11-24 00:00:00 BC"), 0, INT64_C(-210866803200000000)},
        {T("0001-12-31 23:59:59.999999 BC"), 0, INT64_C(-62135596800000001)},
        {T("0001-02-29 BC"), 0, INT64_C(-62162121600000000)},
        {T("0005-02-29 BC"), 0, INT64_C(-62288352000000000)},
        /* The ends of int64 microseconds, one inside each. */
        {T("294247-01-10 04:00:54.775806"), 0, INT64_MAX - 1},
        {T("294247-01-10 04:00:55.775806+00:00:01"), 0, INT64_MAX - 1},
        {T("290309-12-21 19:59:05.224193 BC"), 0, INT64_MIN + 1},
        /* The infinities. */
        {T("infinity"), 0, INT64_MAX},
        {T("-infinity"), 0, INT64_MIN},
        {T("+infinity"), 0, INT64_MAX},
        {T("Infinity"), 0, INT64_MAX},
        {T("-INFINITY"), 0, INT64_MIN},
    };

    (void)state;
    check_ts_cases(cases, sizeof(cases) / sizeof(cases[0]));
}

static void test_timestamp_range(void **state)
{
    static const struct ts_case cases[] = {
        /* PostgreSQL's own maximum is beyond int64 microseconds since 1970. */
        {T("294276-12-31 23:59:59.999999"), -2, 0},
        {T("294247-01-10 04:00:54.775807"), -2, 0}, /* would be INT64_MAX: reserved */
        {T("294247-01-10 04:00:54.775808"), -2, 0},
        {T("294247-01-10 04:00:54.775806-00:00:01"), -2, 0},
        {T("294248-01-01"), -2, 0},
        {T("5874897-12-31"), -2, 0},
        {T("290309-12-21 19:59:05.224192 BC"), -2, 0}, /* would be INT64_MIN: reserved */
        {T("290309-12-21 19:59:05.224191 BC"), -2, 0},
        {T("290309-12-21 19:59:05.224193+00:00:01 BC"), -2, 0},
        {T("999999999-01-01"), -2, 0},
        {T("99999999999999999999999999-01-01"), -2, 0},
        {T("99999999999999999999999999-01-01 BC"), -2, 0},
    };

    (void)state;
    check_ts_cases(cases, sizeof(cases) / sizeof(cases[0]));
}

static void test_timestamp_bad(void **state)
{
    static const struct ts_case cases[] = {
        {T(""), -1, 0},
        {T(" 2026-11-24"), -1, 0},
        {T("2026-11-24 "), -1, 0},
        {T("2026-11-24T22:00:00"), -1, 0},
        {T("2026-11-24  22:00:00"), -1, 0},
        {T("2026-11-24 22:00"), -1, 0},
        {T("2026-11-24 22"), -1, 0},
        {T("2026-11-24 22:00:00."), -1, 0},
        {T("2026-11-24 22:00:00.1234567"), -1, 0},
        {T("2026-11-24 22:00:00.12a"), -1, 0},
        {T("2026-11-24 22:00:00.-1"), -1, 0},
        {T("2026-11-24 2:00:00"), -1, 0},
        {T("2026-11-24 22:0:00"), -1, 0},
        {T("2026-11-24 22:00:0"), -1, 0},
        {T("26-11-24"), -1, 0},
        {T("026-11-24"), -1, 0},
        {T("2026-1-24"), -1, 0},
        {T("2026-11-4"), -1, 0},
        {T("2026/11/24"), -1, 0},
        {T("20261124"), -1, 0},
        {T("-2026-11-24"), -1, 0},
        {T("+2026-11-24"), -1, 0},
        /* Fields out of their ranges. */
        {T("2026-13-01"), -1, 0},
        {T("2026-00-01"), -1, 0},
        {T("2026-11-00"), -1, 0},
        {T("2026-11-31"), -1, 0},
        {T("2026-12-32"), -1, 0},
        {T("2026-02-29"), -1, 0},
        {T("1900-02-29"), -1, 0},
        {T("2100-02-29"), -1, 0},
        {T("0004-02-29 BC"), -1, 0}, /* astronomical -3 is not a leap year */
        {T("0000-01-01"), -1, 0},
        {T("0000-01-01 BC"), -1, 0},
        {T("2026-11-24 24:00:00"), -1, 0},
        {T("2026-11-24 23:60:00"), -1, 0},
        {T("2026-11-24 23:59:60"), -1, 0},
        /* Offsets. */
        {T("2026-11-24 22:00:00+5"), -1, 0},
        {T("2026-11-24 22:00:00+05:3"), -1, 0},
        {T("2026-11-24 22:00:00+05:"), -1, 0},
        {T("2026-11-24 22:00:00+05:30:"), -1, 0},
        {T("2026-11-24 22:00:00+05:30:1"), -1, 0},
        {T("2026-11-24 22:00:00+05:30:15:00"), -1, 0},
        {T("2026-11-24 22:00:00+0530"), -1, 0},
        {T("2026-11-24 22:00:00+16"), -1, 0},
        {T("2026-11-24 22:00:00+05:60"), -1, 0},
        {T("2026-11-24 22:00:00+05:30:60"), -1, 0},
        {T("2026-11-24 22:00:00 +05"), -1, 0},
        {T("2026-11-24 22:00:00-"), -1, 0},
        {T("2026-11-24 22:00:00+"), -1, 0},
        {T("2026-11-24 22:00:00++05"), -1, 0},
        {T("2026-11-24 22:00:00Z"), -1, 0},
        {T("2026-11-24 22:00:00 UTC"), -1, 0},
        {T("2026-11-24+05"), -1, 0}, /* an offset needs a time */
        /* Era. */
        {T("2026-11-24 AD"), -1, 0},
        {T("2026-11-24 BCE"), -1, 0},
        {T("2026-11-24 B"), -1, 0},
        {T("2026-11-24BC"), -1, 0},
        {T("2026-11-24 BC "), -1, 0},
        {T("2026-11-24  BC"), -1, 0},
        {T("2026-11-24 BC BC"), -1, 0},
        {T("0044-03-15 BC 12:00:00"), -1, 0},
        /* Infinities and junk. */
        {T("infinit"), -1, 0},
        {T("infinityx"), -1, 0},
        {T("- infinity"), -1, 0},
        {T("--infinity"), -1, 0},
        {T("inf"), -1, 0},
        {T("now"), -1, 0},
        {T("epoch"), -1, 0},
        {T("2026-11-24\0"), -1, 0},
        {T("2026-11-24 22:00:00\0"), -1, 0},
        {T("2026-11-24 22:00:00.123456+00 BC\0"), -1, 0},
        /* Syntax is checked before range. */
        {T("294276-12-31 23:59:59.999999x"), -1, 0},
    };

    (void)state;
    check_ts_cases(cases, sizeof(cases) / sizeof(cases[0]));
}

static void test_timestamp_prefix(void **state)
{
    int64_t v = 0;
    const char *s = "2026-11-24 22:00:00.123456+05:30 BC";

    (void)state;
    assert_int_equal(call_timestamp(s, 10, &v), 0);
    assert_int_equal(v, INT64_C(1795478400000000));
    assert_int_equal(call_timestamp(s, 19, &v), 0);
    assert_int_equal(v, INT64_C(1795557600000000));
    assert_int_equal(call_timestamp(s, 26, &v), 0);
    assert_int_equal(v, INT64_C(1795557600123456));
    assert_int_equal(call_timestamp(s, 29, &v), 0);
    assert_int_equal(v, INT64_C(1795539600123456));
    assert_int_equal(call_timestamp(s, 20, &v), -1);
    assert_int_equal(call_timestamp(s, 30, &v), -1);
    assert_int_equal(call_timestamp(s, 33, &v), -1);
    assert_int_equal(call_timestamp(s, 34, &v), -1);
    assert_int_equal(call_timestamp("-infinity", 8, &v), -1);
    assert_int_equal(call_timestamp("infinity", 0, &v), -1);
    assert_int_equal(pgcdc__parse_timestamp(NULL, 0, &v), -1);
}

/* Every 13th day of years 1 to 9999 at various times of day, against glibc timegm. */
static void test_timestamp_against_timegm(void **state)
{
    int64_t day;
    int64_t first = pgcdc__days_from_civil(1, 1, 1);
    int64_t last = pgcdc__days_from_civil(9999, 12, 31);

    (void)state;
    for (day = first; day <= last; day += 13) {
        struct tm tm;
        int64_t tod = ((day * 7919) % 86400 + 86400) % 86400;
        int64_t frac = ((day * 104729) % 1000000 + 1000000) % 1000000;
        time_t t = (time_t)(day * 86400 + tod);
        char buf[64];
        int n;
        int64_t got;

        assert_non_null(gmtime_r(&t, &tm));
        n = snprintf(buf, sizeof(buf), "%04d-%02d-%02d %02d:%02d:%02d.%06d", tm.tm_year + 1900,
                     tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)frac);
        assert_int_equal(call_timestamp(buf, (size_t)n, &got), 0);
        tm.tm_isdst = 0;
        assert_int_equal(got, (int64_t)timegm(&tm) * 1000000 + frac);
    }
}

/*
 * The fixed-place reader of the usual timestamp shapes against the general
 * one: a 0 before a year of four digits or more reads the same, through the
 * general path only.  Valid texts of every shape, and texts with one
 * character replaced.
 */
static void test_timestamp_fast_path(void **state)
{
    static const char alphabet[] = "0123456789-+:. BCx";
    uint64_t st = UINT64_C(0x2545f4914f6cdd1d);
    char buf[80];

    (void)state;
    for (int i = 0; i < 300000; i++) {
        int n = snprintf(buf, sizeof(buf), "%04d-%02d-%02d", (int)(rng_next(&st) % 9500) + 500,
                         (int)(rng_next(&st) % 14), (int)(rng_next(&st) % 33));
        int64_t fast = 42;
        int64_t slow = 42;
        int rc_fast;
        int rc_slow;
        size_t year_digits = 0;
        char alt[82];

        if (rng_next(&st) % 4 != 0)
            n += snprintf(buf + n, sizeof(buf) - (size_t)n, " %02d:%02d:%02d",
                          (int)(rng_next(&st) % 25), (int)(rng_next(&st) % 61),
                          (int)(rng_next(&st) % 61));
        if (rng_next(&st) % 2)
            n += snprintf(buf + n, sizeof(buf) - (size_t)n, ".%.*d", 1 + (int)(rng_next(&st) % 7),
                          (int)(rng_next(&st) % 10000000));
        switch (rng_next(&st) % 5) {
        case 0:
            n += snprintf(buf + n, sizeof(buf) - (size_t)n, "+00");
            break;
        case 1:
            n += snprintf(buf + n, sizeof(buf) - (size_t)n, "-%02d:%02d", (int)(rng_next(&st) % 17),
                          (int)(rng_next(&st) % 61));
            break;
        case 2:
            n += snprintf(buf + n, sizeof(buf) - (size_t)n, "+05:30:%02d",
                          (int)(rng_next(&st) % 61));
            break;
        default:
            break;
        }
        if (rng_next(&st) % 8 == 0)
            n += snprintf(buf + n, sizeof(buf) - (size_t)n, " BC");
        if (rng_next(&st) % 3 == 0)
            buf[rng_next(&st) % (size_t)n] = alphabet[rng_next(&st) % (sizeof(alphabet) - 1)];
        while (year_digits < (size_t)n && buf[year_digits] >= '0' && buf[year_digits] <= '9')
            year_digits++;
        if (year_digits < 4)
            continue; /* the 0 would make such a year long enough */
        alt[0] = '0';
        memcpy(alt + 1, buf, (size_t)n);
        rc_fast = call_timestamp(buf, (size_t)n, &fast);
        rc_slow = call_timestamp(alt, (size_t)n + 1, &slow);
        if (rc_fast != rc_slow || (rc_fast == 0 && fast != slow)) {
            print_error("parse_timestamp(\"%.*s\") = %d, %" PRId64 "; with a 0: %d, %" PRId64 "\n",
                        n, buf, rc_fast, fast, rc_slow, slow);
            fail();
        }
    }
}

/* The decimal writers against printf, at the edges and on random values. */
static void test_put_decimal(void **state)
{
    static const int64_t edges[] = {
        0,  1,  9,   10,   99,        100,       101,           999,          1000,
        -1, -9, -10, -100, INT64_MAX, INT64_MIN, INT64_MAX - 1, INT64_MIN + 1};
    uint64_t st = UINT64_C(0x853c49e6748fea9b);
    char got[24];
    char want[24];

    (void)state;
    for (size_t i = 0; i < sizeof(edges) / sizeof(edges[0]) + 200000; i++) {
        int64_t v = i < sizeof(edges) / sizeof(edges[0])
                        ? edges[i]
                        : (int64_t)(rng_next(&st) >> (rng_next(&st) % 64));
        uint64_t u = (uint64_t)v;
        char *end = pgcdc__put_i64(got, v);

        *end = '\0';
        snprintf(want, sizeof(want), "%" PRId64, v);
        assert_string_equal(got, want);
        if (i % 2)
            u = rng_next(&st);
        end = pgcdc__put_u64(got, u);
        *end = '\0';
        snprintf(want, sizeof(want), "%" PRIu64, u);
        assert_string_equal(got, want);
    }
    *pgcdc__put_u64(got, UINT64_MAX) = '\0';
    assert_string_equal(got, "18446744073709551615");
}

/* ---- bytea ---- */

static void test_bytea_good(void **state)
{
    static const struct {
        const char *s;
        size_t len;
        const char *want;
        size_t want_len;
    } cases[] = {
        {T("\\x"), T("")},
        {T("\\x00"), T("\0")},
        {T("\\xff"), T("\xff")},
        {T("\\xdeadbeef"), T("\xde\xad\xbe\xef")},
        {T("\\xDEADBEEF"), T("\xde\xad\xbe\xef")},
        {T("\\xDeAdBeEf"), T("\xde\xad\xbe\xef")},
        {T("\\x0123456789abcdefABCDEF"), T("\x01\x23\x45\x67\x89\xab\xcd\xef\xab\xcd\xef")},
        {T("\\x5c78"), T("\\x")},
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        uint8_t buf[32];
        size_t outlen = 99;
        int rc;

        memset(buf, 0xa5, sizeof(buf));
        rc = call_bytea(cases[i].s, cases[i].len, buf, sizeof(buf), &outlen);
        if (rc != 0 || outlen != cases[i].want_len ||
            memcmp(buf, cases[i].want, cases[i].want_len) != 0) {
            print_error("parse_bytea_hex(\"%.*s\") = %d, %zu bytes\n", (int)cases[i].len,
                        cases[i].s, rc, outlen);
            fail();
        }
        assert_int_equal(buf[cases[i].want_len], 0xa5);
        assert_int_equal(call_bytea_size(cases[i].s, cases[i].len), (long)cases[i].want_len);
    }
}

static void test_bytea_bad(void **state)
{
    static const struct {
        const char *s;
        size_t len;
    } cases[] = {
        {T("")},        {T("\\")},       {T("x")},           {T("x00")},      {T("\\X00")},
        {T("0x00")},    {T("\\x0")},     {T("\\x000")},      {T("\\xg0")},    {T("\\x0g")},
        {T("\\x 00")},  {T("\\x00 ")},   {T(" \\x00")},      {T("\\x\\x00")}, {T("\\x00\n0")},
        {T("\\\\x00")}, {T("\\001")},    {T("\\x0\0")},      {T("\\x\0\0")},  {T("\\x-1")},
        {T("\\x+1")},   {T("\\xde ad")}, {T("\\xdeadbeeg")}, {T("abc")},
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        uint8_t buf[32];
        size_t outlen = 99;
        int rc = call_bytea(cases[i].s, cases[i].len, buf, sizeof(buf), &outlen);
        long size = call_bytea_size(cases[i].s, cases[i].len);

        if (rc != -1 || outlen != 0 || size != -1) {
            print_error("bytea \"%.*s\": parse = %d, %zu bytes, size = %ld; want -1, 0, -1\n",
                        (int)cases[i].len, cases[i].s, rc, outlen, size);
            fail();
        }
    }
    assert_int_equal(pgcdc__bytea_hex_size(NULL, 0), -1);
}

static void test_bytea_buffer(void **state)
{
    uint8_t buf[8];
    size_t outlen = 99;

    (void)state;
    /* Too small: the prefix that fits is written, *outlen tells the size. */
    memset(buf, 0xa5, sizeof(buf));
    assert_int_equal(call_bytea(T("\\xdeadbeef"), buf, 2, &outlen), -2);
    assert_int_equal(outlen, 4);
    assert_int_equal(buf[0], 0xde);
    assert_int_equal(buf[1], 0xad);
    assert_int_equal(buf[2], 0xa5);
    /* Size query without a buffer. */
    assert_int_equal(call_bytea(T("\\xdeadbeef"), NULL, 0, &outlen), -2);
    assert_int_equal(outlen, 4);
    assert_int_equal(call_bytea(T("\\x"), NULL, 0, &outlen), 0);
    assert_int_equal(outlen, 0);
    /* Exact fit. */
    memset(buf, 0xa5, sizeof(buf));
    assert_int_equal(call_bytea(T("\\xdeadbeef"), buf, 4, &outlen), 0);
    assert_int_equal(outlen, 4);
    assert_memory_equal(buf, "\xde\xad\xbe\xef\xa5", 5);
    /* Malformed past the part that fits is still malformed. */
    assert_int_equal(call_bytea(T("\\xdeadbeXX"), buf, 2, &outlen), -1);
    assert_int_equal(outlen, 0);
    assert_int_equal(call_bytea(T("\\xdeadbee"), buf, 2, &outlen), -1);
    /* Only len counts. */
    memset(buf, 0xa5, sizeof(buf));
    assert_int_equal(call_bytea("\\xdeadbeef", 6, buf, sizeof(buf), &outlen), 0);
    assert_int_equal(outlen, 2);
    assert_memory_equal(buf, "\xde\xad\xa5", 3);
    assert_int_equal(call_bytea_size("\\xdeadbeef", 6), 2);
    assert_int_equal(call_bytea_size("\\xdeadbeef", 5), -1);
    assert_int_equal(call_bytea_size("\\xdeadbeef", 1), -1);
}

static void test_bytea_large(void **state)
{
    size_t n = 1 << 20;
    char *text = malloc(2 + 2 * n);
    uint8_t *buf = malloc(n);
    size_t outlen = 0;
    size_t i;
    static const char hex[] = "0123456789abcdef";

    (void)state;
    assert_non_null(text);
    assert_non_null(buf);
    text[0] = '\\';
    text[1] = 'x';
    for (i = 0; i < n; i++) {
        text[2 + 2 * i] = hex[(i * 7) % 256 >> 4];
        text[3 + 2 * i] = hex[(i * 7) % 16];
    }
    assert_int_equal(call_bytea_size(text, 2 + 2 * n), (long)n);
    assert_int_equal(call_bytea(text, 2 + 2 * n, buf, n, &outlen), 0);
    assert_int_equal(outlen, n);
    for (i = 0; i < n; i++) {
        if (buf[i] != (uint8_t)((i * 7) % 256)) {
            print_error("byte %zu is %u\n", i, buf[i]);
            fail();
        }
    }
    free(buf);
    free(text);
}

/* ---- number_is_finite ---- */

static void test_number_is_finite(void **state)
{
    static const struct {
        const char *s;
        size_t len;
        int want;
    } cases[] = {
        /* float8out and numeric_out output for finite values. */
        {T("0"), 1},
        {T("-0"), 1},
        {T("1.5"), 1},
        {T("-1.5"), 1},
        {T("1e+100"), 1},
        {T("1e-05"), 1},
        {T("1.2345678901234568e-300"), 1},
        {T("-1.7976931348623157e+308"), 1},
        {T("5e-324"), 1},
        {T("123.4500"), 1},
        {T("0.00000000000000000001"), 1},
        {T("-9223372036854775808"), 1},
        {T("100000000000000000000000000000000000000000000000000000000000000000000000"), 1},
        {T("1E5"), 1},
        {T("1e5"), 1},
        {T("0.0"), 1},
        {T("0e0"), 1},
        /* Not finite. */
        {T("NaN"), 0},
        {T("Infinity"), 0},
        {T("-Infinity"), 0},
        {T("nan"), 0},
        {T("inf"), 0},
        {T("-inf"), 0},
        /* Not JSON numbers: the caller must not copy these as is. */
        {T(""), 0},
        {T("-"), 0},
        {T("+1"), 0},
        {T(".5"), 0},
        {T("-.5"), 0},
        {T("5."), 0},
        {T("1.e5"), 0},
        {T("01"), 0},
        {T("-01"), 0},
        {T("00"), 0},
        {T("1e"), 0},
        {T("1e+"), 0},
        {T("1e5.5"), 0},
        {T("1.5x"), 0},
        {T(" 1"), 0},
        {T("1 "), 0},
        {T("0x10"), 0},
        {T("--1"), 0},
        {T("1,5"), 0},
        {T("1\0"), 0},
        {T("\"1\""), 0},
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int got = call_finite(cases[i].s, cases[i].len);

        if (got != cases[i].want) {
            print_error("number_is_finite(\"%.*s\") = %d; want %d\n", (int)cases[i].len, cases[i].s,
                        got, cases[i].want);
            fail();
        }
        /* A finite number always reads as a double, or as out of range. */
        if (got == 1) {
            double d;

            assert_true(call_double(cases[i].s, cases[i].len, &d) == 0 ||
                        call_double(cases[i].s, cases[i].len, &d) == -2);
        }
    }
    assert_int_equal(call_finite("123abc", 3), 1);
    assert_int_equal(call_finite("1.5", 2), 0);
    assert_int_equal(call_finite("-1", 1), 0);
    assert_int_equal(pgcdc__number_is_finite(NULL, 0), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_int64_good),
        cmocka_unit_test(test_int64_range),
        cmocka_unit_test(test_int64_bad),
        cmocka_unit_test(test_int64_prefix),
        cmocka_unit_test(test_double_good),
        cmocka_unit_test(test_double_range),
        cmocka_unit_test(test_double_bad),
        cmocka_unit_test(test_double_prefix),
        cmocka_unit_test(test_double_long_midpoints),
        cmocka_unit_test(test_double_long_numeric),
        cmocka_unit_test(test_double_against_strtod),
        cmocka_unit_test(test_double_short_exact),
        cmocka_unit_test(test_double_fast_path),
        cmocka_unit_test(test_double_locale),
        cmocka_unit_test(test_bool),
        cmocka_unit_test(test_days_from_civil_table),
        cmocka_unit_test(test_days_from_civil_sweep),
        cmocka_unit_test(test_timestamp_good),
        cmocka_unit_test(test_timestamp_range),
        cmocka_unit_test(test_timestamp_bad),
        cmocka_unit_test(test_timestamp_prefix),
        cmocka_unit_test(test_timestamp_against_timegm),
        cmocka_unit_test(test_timestamp_fast_path),
        cmocka_unit_test(test_put_decimal),
        cmocka_unit_test(test_bytea_good),
        cmocka_unit_test(test_bytea_bad),
        cmocka_unit_test(test_bytea_buffer),
        cmocka_unit_test(test_bytea_large),
        cmocka_unit_test(test_number_is_finite),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
