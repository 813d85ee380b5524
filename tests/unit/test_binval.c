/*
 * Binary send-format values turned into PostgreSQL's text output
 * (src/binval.c): hand-made encodings of each supported type, edges, and
 * malformed input.  test_binary (integration) compares with a real server.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "wire/binval.h"
#include "wire/types.h"

static void expect(uint32_t oid, const char *bytes, size_t len, const char *text)
{
    pgcdc__buf b;

    pgcdc__buf_init(&b);
    assert_int_equal(pgcdc__binary_to_text(oid, (const uint8_t *)bytes, len, &b), 0);
    pgcdc__buf_u8(&b, 0);
    assert_string_equal((const char *)b.data, text);
    pgcdc__buf_free(&b);
}

static void expect_fail(uint32_t oid, const char *bytes, size_t len, int code)
{
    pgcdc__buf b;

    pgcdc__buf_init(&b);
    assert_int_equal(pgcdc__binary_to_text(oid, (const uint8_t *)bytes, len, &b), code);
    pgcdc__buf_free(&b);
}

static void test_integers_and_bool(void **state)
{
    (void)state;
    expect(PGCDC_OID_BOOL, "\x01", 1, "t");
    expect(PGCDC_OID_BOOL, "\x00", 1, "f");
    expect(PGCDC_OID_INT2, "\x80\x00", 2, "-32768");
    expect(PGCDC_OID_INT4, "\x7f\xff\xff\xff", 4, "2147483647");
    expect(PGCDC_OID_INT8, "\x80\x00\x00\x00\x00\x00\x00\x00", 8, "-9223372036854775808");
    expect(PGCDC_OID_OID, "\xff\xff\xff\xff", 4, "4294967295");
    expect_fail(PGCDC_OID_INT4, "\x00\x00\x01", 3, -1);
    expect_fail(PGCDC_OID_BOOL, "", 0, -1);
}

static void test_floats(void **state)
{
    (void)state;
    expect(PGCDC_OID_FLOAT8, "\x3f\xf8\x00\x00\x00\x00\x00\x00", 8, "1.5");
    expect(PGCDC_OID_FLOAT8, "\x3f\xb9\x99\x99\x99\x99\x99\x9a", 8, "0.1");
    expect(PGCDC_OID_FLOAT8, "\x80\x00\x00\x00\x00\x00\x00\x00", 8, "-0");
    expect(PGCDC_OID_FLOAT8, "\x7f\xf8\x00\x00\x00\x00\x00\x00", 8, "NaN");
    expect(PGCDC_OID_FLOAT8, "\xff\xf0\x00\x00\x00\x00\x00\x00", 8, "-Infinity");
    expect(PGCDC_OID_FLOAT8, "\x54\xb2\x49\xad\x25\x94\xc3\x7d", 8, "1e+100");
    expect(PGCDC_OID_FLOAT8, "\x00\x00\x00\x00\x00\x00\x00\x01", 8, "5e-324");
    expect(PGCDC_OID_FLOAT8, "\x3f\x1a\x36\xe2\xeb\x1c\x43\x2d", 8, "0.0001");
    expect(PGCDC_OID_FLOAT8, "\x3e\xe4\xf8\xb5\x88\xe3\x68\xf1", 8, "1e-05");
    expect(PGCDC_OID_FLOAT8, "\x43\x0c\x6b\xf5\x26\x34\x00\x00", 8, "1e+15");
    expect(PGCDC_OID_FLOAT8, "\x43\x31\xc3\x79\x37\xe0\x80\x00", 8, "5e+15");
    expect(PGCDC_OID_FLOAT8, "\x42\xdc\x12\x21\x83\x77\xde\x40", 8, "123456789012345");
    expect(PGCDC_OID_FLOAT4, "\x3f\xc0\x00\x00", 4, "1.5");
    expect(PGCDC_OID_FLOAT4, "\x3d\xcc\xcc\xcd", 4, "0.1");
    expect(PGCDC_OID_FLOAT4, "\x49\x74\x24\x00", 4, "1e+06");
    expect(PGCDC_OID_FLOAT4, "\x48\xc3\x50\x00", 4, "400000");
    expect(PGCDC_OID_FLOAT4, "\x7f\x80\x00\x00", 4, "Infinity");
    /* Short values are refused before any byte is read (found by fuzzing). */
    expect_fail(PGCDC_OID_FLOAT4, "\x7f", 1, -1);
    expect_fail(PGCDC_OID_FLOAT8, "", 0, -1);
}

/* The fast path's digits must be the slow path's, digit for digit. */
static int check_digits(double v, int is_float4)
{
    char fast[32], slow[32];
    int fe = 0, se = 0;
    int fn = pgcdc__float_digits_fast(v, is_float4, fast, &fe);

    if (fn == 0)
        return 0;
    pgcdc__float_digits_slow(v, is_float4, slow, &se);
    /* The slow path may leave trailing zeros that printing drops. */
    for (int n = (int)strlen(slow); n > 1 && slow[n - 1] == '0'; n--)
        slow[n - 1] = '\0';
    for (int n = fn; n > 1 && fast[n - 1] == '0'; n--)
        fast[n - 1] = '\0';
    if (strcmp(fast, slow) != 0 || fe != se)
        fail_msg("%s %.17g: fast %se%d, slow %se%d", is_float4 ? "float4" : "float8", v, fast, fe,
                 slow, se);
    return 1;
}

static uint64_t rng_next(uint64_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    return *x;
}

static void test_float_fast_path(void **state)
{
    static const double decimals[] = {1, 10, 100, 1000, 1e4, 1e5, 1e6};
    uint64_t x = 0x9e3779b97f4a7c15u;
    int covered = 0;

    (void)state;
    /* Values as tables hold them: quotients, decimal fractions, powers of two. */
    for (int i = 1; i <= 4000; i++) {
        covered += check_digits(i / 7.0, 0);
        covered += check_digits(i / 3.0 * 1e9, 0);
        covered += check_digits((double)i / decimals[i % 7], 0);
        covered += check_digits((float)(i / 7.0), 1);
        covered += check_digits((float)i / (float)decimals[i % 7], 1);
    }
    for (int e = -12; e < 127; e++) {
        covered += check_digits(ldexp(1, e), 0);
        covered += check_digits(nextafter(ldexp(1, e), 0), 0);
        covered += check_digits(nextafter(ldexp(1, e), INFINITY), 0);
        covered += check_digits((float)ldexp(1, e), 1);
    }
    /* Random bit patterns across the covered exponents. */
    for (int i = 0; i < 20000; i++) {
        uint64_t bits = (rng_next(&x) & ((UINT64_C(1) << 52) - 1)) |
                        (uint64_t)(1011 + rng_next(&x) % 138) << 52;
        uint32_t fbits = (uint32_t)(rng_next(&x) & 0x7fffff) | (uint32_t)(115 + i % 138) << 23;
        double d;
        float f;

        memcpy(&d, &bits, sizeof(d));
        memcpy(&f, &fbits, sizeof(f));
        covered += check_digits(d, 0);
        covered += check_digits(f, 1);
    }
    /* Any exponent: where the fast path answers, it agrees. */
    for (int i = 0; i < 4000; i++) {
        uint64_t bits = rng_next(&x) & ~(UINT64_C(1) << 63);
        double d;

        memcpy(&d, &bits, sizeof(d));
        if (isfinite(d))
            check_digits(d, 0);
    }
    /* Outside the range the fast path declines; the slow path serves. */
    {
        char digits[32];
        int e;

        assert_int_equal(pgcdc__float_digits_fast(1e-5, 0, digits, &e), 0);
        assert_int_equal(pgcdc__float_digits_fast(5e-324, 0, digits, &e), 0);
        assert_int_equal(pgcdc__float_digits_fast(1e100, 0, digits, &e), 0);
        assert_int_equal(pgcdc__float_digits_fast(2.5332527210797875e-154, 0, digits, &e), 0);
        assert_int_equal(pgcdc__float_digits_fast(1e-30, 1, digits, &e), 0);
    }
    fprintf(stderr, "  %d values compared\n", covered);
    assert_true(covered > 50000);
}

static void test_numeric(void **state)
{
    (void)state;
    /* ndigits, weight, sign, dscale, digits (base 10000) */
    expect(PGCDC_OID_NUMERIC, "\x00\x00\x00\x00\x00\x00\x00\x00", 8, "0");
    expect(PGCDC_OID_NUMERIC, "\x00\x00\x00\x00\x00\x00\x00\x02", 8, "0.00");
    expect(PGCDC_OID_NUMERIC, "\x00\x02\x00\x00\x40\x00\x00\x01\x00\x01\x13\x88", 12, "-1.5");
    expect(PGCDC_OID_NUMERIC, "\x00\x02\x00\x00\x00\x00\x00\x04\x00\x7b\x11\x94", 12, "123.4500");
    expect(PGCDC_OID_NUMERIC, "\x00\x01\xff\xff\x00\x00\x00\x04\x00\x01", 10, "0.0001");
    expect(PGCDC_OID_NUMERIC, "\x00\x01\x00\x02\x00\x00\x00\x00\x00\x01", 10, "100000000");
    expect(PGCDC_OID_NUMERIC, "\x00\x00\x00\x00\xc0\x00\x00\x00", 8, "NaN");
    expect(PGCDC_OID_NUMERIC, "\x00\x00\x00\x00\xd0\x00\x00\x00", 8, "Infinity");
    expect(PGCDC_OID_NUMERIC, "\x00\x00\x00\x00\xf0\x00\x00\x00", 8, "-Infinity");
    expect_fail(PGCDC_OID_NUMERIC, "\x00\x02\x00\x00\x00\x00\x00\x00\x00\x01", 10, -1);
    expect_fail(PGCDC_OID_NUMERIC, "\x00\x01\x00\x00\x00\x00\x00\x00\x27\x10", 10, -1);
    expect_fail(PGCDC_OID_NUMERIC, "\x00\x00\x00\x00\x12\x34\x00\x00", 8, -1);
}

static void test_dates_and_times(void **state)
{
    (void)state;
    expect(PGCDC_OID_DATE, "\x00\x00\x00\x00", 4, "2000-01-01");
    expect(PGCDC_OID_DATE, "\xff\xff\xff\xff", 4, "1999-12-31");
    expect(PGCDC_OID_DATE, "\x7f\xff\xff\xff", 4, "infinity");
    expect(PGCDC_OID_DATE, "\x80\x00\x00\x00", 4, "-infinity");
    /* 0001-12-31 BC is 730120 days before 2000-01-01 */
    expect(PGCDC_OID_DATE, "\xff\xf4\xdb\xf8", 4, "0001-12-31 BC");
    expect(PGCDC_OID_TIMESTAMP, "\x00\x00\x00\x00\x00\x00\x00\x00", 8, "2000-01-01 00:00:00");
    expect(PGCDC_OID_TIMESTAMP, "\xff\xff\xff\xff\xff\xfe\x79\x60", 8, "1999-12-31 23:59:59.9");
    expect(PGCDC_OID_TIMESTAMPTZ, "\x00\x00\x00\x00\x00\x00\x00\x01", 8,
           "2000-01-01 00:00:00.000001+00");
    expect(PGCDC_OID_TIMESTAMPTZ, "\x7f\xff\xff\xff\xff\xff\xff\xff", 8, "infinity");
    expect(PGCDC_OID_TIMESTAMP, "\x80\x00\x00\x00\x00\x00\x00\x00", 8, "-infinity");
    expect_fail(PGCDC_OID_TIMESTAMP, "\x00", 1, -1);
}

static void test_text_like(void **state)
{
    (void)state;
    expect(PGCDC_OID_TEXT, "caf\xc3\xa9", 5, "caf\xc3\xa9");
    expect(PGCDC_OID_VARCHAR, "", 0, "");
    expect(PGCDC_OID_BYTEA, "\x00\xff\x10", 3, "\\x00ff10");
    expect(PGCDC_OID_BYTEA, "", 0, "\\x");
    expect(PGCDC_OID_JSONB, "\x01{\"a\": 1}", 9, "{\"a\": 1}");
    expect_fail(PGCDC_OID_JSONB, "\x02{}", 3, -1);
    expect(PGCDC_OID_JSON, "[1, 2]", 6, "[1, 2]");
    expect(PGCDC_OID_UUID, "\xa0\xee\xbc\x99\x9c\x0b\x4e\xf8\xbb\x6d\x6b\xb9\xbd\x38\x0a\x11", 16,
           "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11");
    expect_fail(PGCDC_OID_UUID, "\x00", 1, -1);
    /* Types pgcdc leaves to text mode. */
    assert_int_equal(pgcdc__type_of(1007)->bin_class, PGCDC__BIN_NONE); /* int4[] */
    assert_int_equal(pgcdc__type_of(PGCDC_OID_INTERVAL)->bin_class, PGCDC__BIN_NONE);
    expect_fail(PGCDC_OID_INTERVAL, "", 0, -2);
    assert_int_equal(pgcdc__type_of(PGCDC_OID_NUMERIC)->bin_class, PGCDC__BIN_CONVERT);
}

/*
 * The type table and the converters agree: every type the table reads in
 * binary converts (zero bytes of its fixed size, or a valid value), and no
 * other type does; unknown OIDs have no name and are text only.
 */
static void test_type_table(void **state)
{
    static const uint32_t oids[] = {
        PGCDC_OID_BOOL,   PGCDC_OID_BYTEA,     PGCDC_OID_CHAR,        PGCDC_OID_NAME,
        PGCDC_OID_INT8,   PGCDC_OID_INT2,      PGCDC_OID_INT4,        PGCDC_OID_TEXT,
        PGCDC_OID_OID,    PGCDC_OID_JSON,      PGCDC_OID_FLOAT4,      PGCDC_OID_FLOAT8,
        PGCDC_OID_MONEY,  PGCDC_OID_BPCHAR,    PGCDC_OID_VARCHAR,     PGCDC_OID_DATE,
        PGCDC_OID_TIME,   PGCDC_OID_TIMESTAMP, PGCDC_OID_TIMESTAMPTZ, PGCDC_OID_INTERVAL,
        PGCDC_OID_TIMETZ, PGCDC_OID_NUMERIC,   PGCDC_OID_UUID,        PGCDC_OID_JSONB};
    /* A valid binary value of each converted kind: numeric 0, a uuid, jsonb "1". */
    static const uint8_t zeros[16] = {0};
    static const uint8_t jsonb_one[] = {1, '1'};
    static const uint8_t numeric_zero[8] = {0, 0, 0, 0, 0, 0, 0, 0};

    (void)state;
    assert_null(pgcdc__type_of(1007)->name);
    assert_int_equal(pgcdc__type_of(1007)->json, PGCDC__JSON_STRING);
    for (size_t i = 0; i < sizeof(oids) / sizeof(oids[0]); i++) {
        const pgcdc__type *t = pgcdc__type_of(oids[i]);
        const uint8_t *v = zeros;
        size_t len = t->fixed_size;
        pgcdc__buf b;
        int r;

        assert_int_equal(t->oid == oids[i], t->name != NULL);
        assert_int_equal(t->bin_class == PGCDC__BIN_FIXED, t->fixed_size > 0);
        if (oids[i] == PGCDC_OID_UUID)
            len = 16;
        if (oids[i] == PGCDC_OID_JSONB) {
            v = jsonb_one;
            len = sizeof(jsonb_one);
        }
        if (oids[i] == PGCDC_OID_NUMERIC) {
            v = numeric_zero;
            len = sizeof(numeric_zero);
        }
        pgcdc__buf_init(&b);
        r = pgcdc__binary_to_text(oids[i], v, len, &b);
        pgcdc__buf_free(&b);
        if (t->bin_class == PGCDC__BIN_NONE)
            assert_int_equal(r, -2);
        else if (r != 0)
            fail_msg("type %u reads in binary but does not convert (%d)", oids[i], r);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_integers_and_bool), cmocka_unit_test(test_floats),
        cmocka_unit_test(test_float_fast_path),   cmocka_unit_test(test_numeric),
        cmocka_unit_test(test_dates_and_times),   cmocka_unit_test(test_text_like),
        cmocka_unit_test(test_type_table),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
