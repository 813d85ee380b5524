/*
 * Binary (send-format) column values, as pgoutput's binary mode sends them,
 * turned into exactly the text PostgreSQL's output functions would have
 * produced (DateStyle ISO, TimeZone UTC, extra_float_digits 1).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/num.h"
#include "wire/binval.h"
#include "wire/types.h"
#include "wire/value.h"

/* 10^k for k <= 21 (over 64 bits from k = 20). */
static unsigned __int128 pow10_u128(int k)
{
    if (k < 20)
        return pgcdc__pow10_u64[k];
    return (unsigned __int128)pgcdc__pow10_u64[19] * (k == 20 ? 10 : 100);
}

static void put_int(pgcdc__buf *out, int64_t v)
{
    char tmp[24];

    pgcdc__buf_put(out, tmp, (size_t)(pgcdc__put_i64(tmp, v) - tmp));
}

/* A short literal at p; returns the end. */
static char *at_str(char *p, const char *s)
{
    size_t n = strlen(s);

    memcpy(p, s, n);
    return p + n;
}

/*
 * Is D.DDD x 10^exp10 (n digits, magnitude only) exactly halfway between |v|
 * and a neighbour?  Integers only: both sides reduce to odd x 2^k.
 */
static int is_halfway(const char *digits, int n, int exp10, double v, int is_float4)
{
    uint64_t m = 0;
    int e = exp10 - (n - 1);
    int twos = 0;
    int bits = is_float4 ? 24 : 53;
    int min_exp = is_float4 ? -149 : -1074;
    int ea;
    uint64_t ma;
    double frac = frexp(fabs(v), &ea);

    for (int i = 0; i < n; i++)
        m = m * 10 + (uint64_t)(digits[i] - '0');
    while (m % 2 == 0 && m > 0) {
        m /= 2;
        twos++;
    }
    for (; e < 0; e++) {
        if (m % 5 != 0)
            return 0; /* not a dyadic number, so no midpoint */
        m /= 5;
        twos--;
    }
    for (; e > 0; e--) {
        if (m > (UINT64_C(1) << 56) / 5)
            return 0; /* too many significant bits for a midpoint */
        m *= 5;
        twos++;
    }
    /* |v| = ma x 2^ea with ma the integer significand; one ulp is 2^ea. */
    ma = (uint64_t)ldexp(frac, bits);
    ea -= bits;
    if (ea < min_exp) {
        ma >>= min_exp - ea;
        ea = min_exp;
    }
    if (m == 2 * ma + 1 && twos == ea - 1)
        return 1;
    /* Below a power of two the neighbour is half an ulp away. */
    if (ma == UINT64_C(1) << (bits - 1) && ea > min_exp)
        return m == 4 * ma - 1 && twos == ea - 2;
    return m == 2 * ma - 1 && twos == ea - 1;
}

/* Does D.DDD x 10^exp10 (n digits) read back as v?  Like PostgreSQL's Ryu, halfway never counts. */
static int round_trips(const char *digits, int n, int exp10, double v, int is_float4)
{
    char text[48];
    double back;
    size_t len;

    if (n == 1)
        len = (size_t)snprintf(text, sizeof(text), "%ce%d", digits[0], exp10);
    else
        len =
            (size_t)snprintf(text, sizeof(text), "%c.%.*se%d", digits[0], n - 1, digits + 1, exp10);
    if (pgcdc__parse_double(text, len, &back) != 0)
        return 0;
    if (is_float4 ? (float)back != (float)fabs(v) : back != fabs(v))
        return 0;
    return !is_halfway(digits, n, exp10, v, is_float4);
}

/* Adds delta (+1 or -1) to the n-digit decimal string; returns 0 if it over/underflowed. */
static int bump(char *digits, int n, int delta)
{
    for (int i = n - 1; i >= 0; i--) {
        int d = digits[i] - '0' + delta;

        if (d >= 0 && d <= 9) {
            digits[i] = (char)('0' + d);
            return digits[0] != '0';
        }
        digits[i] = delta > 0 ? '0' : '9';
    }
    return 0;
}

/*
 * Shortest decimal digits that read back as the same value (as Ryu, which
 * PostgreSQL uses), laid out as PostgreSQL does: fixed notation when the
 * decimal point falls within (-4, limit], else d.ddde+XX.
 */
/* The p-digit candidate for v that reads back as v, if any (1, digits set), else 0. */
static int candidate(double v, int is_float4, int p, char *digits, int *exp10)
{
    char e[64];
    char cand[24];
    int n = 0;

    snprintf(e, sizeof(e), "%.*e", p - 1, v);
    for (const char *c = e; *c != 'e' && *c != 'E' && *c != '\0'; c++) {
        if (*c >= '0' && *c <= '9')
            digits[n++] = *c;
    }
    digits[n] = '\0';
    *exp10 = atoi(strpbrk(e, "eE") + 1);
    if (round_trips(digits, n, *exp10, v, is_float4))
        return 1;
    /*
     * At a power of two the interval that reads back as v is lopsided: the
     * nearest n-digit number may miss it while its neighbour hits it.
     */
    for (int delta = 1; delta >= -1; delta -= 2) {
        memcpy(cand, digits, (size_t)n + 1);
        if (bump(cand, n, delta) && round_trips(cand, n, *exp10, v, is_float4)) {
            memcpy(digits, cand, (size_t)n + 1);
            return 1;
        }
    }
    return 0;
}

/*
 * Shortest decimal digits that read back as the same value (as Ryu, which
 * PostgreSQL uses).  Reading back only gets easier with more digits, so a
 * binary search over the length finds the shortest in a few trials.
 */
static int shortest_digits(double v, int is_float4, char *digits, int *exp10)
{
    int lo = 1;
    int hi = is_float4 ? 9 : 17;
    char best[24];
    int best_exp = 0;

    candidate(v, is_float4, hi, best, &best_exp);
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        char d[24];
        int e;

        if (candidate(v, is_float4, mid, d, &e)) {
            hi = mid;
            memcpy(best, d, sizeof(d));
            best_exp = e;
        } else {
            lo = mid + 1;
        }
    }
    if (strlen(best) != (size_t)hi)
        candidate(v, is_float4, hi, best, &best_exp);
    memcpy(digits, best, strlen(best) + 1);
    *exp10 = best_exp;
    return (int)strlen(digits);
}

/*
 * The common case, fast: v is M / 10^k exactly, for an integer M of at most
 * 15 digits (float4: 6).  No shorter decimal reads back as v then, so M's
 * digits are the shortest; no trial conversions needed.  0 if not so.
 */
static int short_exact_digits(double v, int is_float4, char *digits, int *exp10)
{
    static const double pow10[] = {1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8};
    double a = fabs(v);
    double limit = is_float4 ? 1e6 : 1e15;

    for (int k = 0; k <= 8; k++) {
        double x = a * pow10[k];
        uint64_t m;
        char tmp[24];
        int n = 0;

        if (x >= limit)
            return 0;
        if (x != floor(x))
            continue;
        m = (uint64_t)x;
        if (is_float4 ? (float)((double)m / pow10[k]) != (float)a : (double)m / pow10[k] != a)
            continue;
        if (m == 0)
            return 0;
        while (m > 0) {
            tmp[n++] = (char)('0' + m % 10);
            m /= 10;
        }
        for (int i = 0; i < n; i++)
            digits[i] = tmp[n - 1 - i];
        digits[n] = '\0';
        *exp10 = n - 1 - k;
        return n;
    }
    return 0;
}

/*
 * Shortest digits by exact integer arithmetic, the way Ryu reasons but with
 * 128-bit products instead of tables: the value and the bounds of the
 * interval that reads back as it (exclusive, as in PostgreSQL), scaled by
 * 10^k so the interval spans at least 30 units; then decimal digits are
 * dropped while the interval still holds a shorter number, and the last one
 * rounded half to even.  Covers 2^-12 <= |v| < 2^127 (float4: its whole
 * normal range above 2^-12); 0 outside, for the slow path.
 */
int pgcdc__float_digits_fast(double v, int is_float4, char *digits, int *exp10)
{
    int mbits = is_float4 ? 23 : 52;
    int bias = is_float4 ? 127 : 1023;
    uint64_t frac;
    int ieee_exp;
    uint64_t m2;
    int e2;
    unsigned __int128 mv, mp, mm, scale = 1;
    uint64_t vr, vp, vm;
    int k = 0;
    int s;
    int removed = 0;
    int last = 0;
    int vr_zeros;
    uint64_t out;
    int n;

    if (is_float4) {
        float f = (float)fabs(v);
        uint32_t bits;

        memcpy(&bits, &f, sizeof(bits));
        frac = bits & ((UINT32_C(1) << 23) - 1);
        ieee_exp = (int)(bits >> 23);
    } else {
        double d = fabs(v);
        uint64_t bits;

        memcpy(&bits, &d, sizeof(bits));
        frac = bits & ((UINT64_C(1) << 52) - 1);
        ieee_exp = (int)(bits >> 52);
    }
    if (ieee_exp == 0 || ieee_exp == (is_float4 ? 0xff : 0x7ff))
        return 0; /* zero, subnormal, infinite or NaN */
    m2 = (UINT64_C(1) << mbits) | frac;
    e2 = ieee_exp - bias - mbits - 2;
    /* value = mv x 2^e2; bounds mm and mp; below a power of two the gap is half. */
    mv = (unsigned __int128)(4 * m2);
    mp = mv + 2;
    mm = mv - 1 - (frac != 0 || ieee_exp <= 1);
    if (e2 >= 0) {
        if (e2 > 70)
            return 0;
        mv <<= e2;
        mp <<= e2;
        mm <<= e2;
        s = 0;
    } else {
        s = -e2;
        if (s > 70)
            return 0;
        /*
         * 10^k >= 10 x 2^s, so the interval (3 x 2^e2 wide at least) spans
         * 30 units: k from log10(2) ~ 1233 / 4096, then checked.
         */
        k = 1 + (s * 1233 >> 12);
        while (k <= 21 && pow10_u128(k) < ((unsigned __int128)10 << s))
            k++;
        if (k > 21)
            return 0;
        scale = pow10_u128(k);
        mv *= scale;
        mp *= scale;
        mm *= scale;
    }
    if ((mp >> s) > UINT64_MAX) {
        /* Only large integers get here: drop digits in 128 bits first. */
        unsigned __int128 wr = mv >> s, wp = (mp - 1) >> s, wm = mm >> s;

        vr_zeros = 1;
        while (wp > UINT64_MAX && wp / 10 > wm / 10) {
            vr_zeros &= last == 0;
            last = (int)(wr % 10);
            wr /= 10;
            wp /= 10;
            wm /= 10;
            removed++;
        }
        if (wp > UINT64_MAX)
            return 0;
        vr = (uint64_t)wr;
        vp = (uint64_t)wp;
        vm = (uint64_t)wm;
    } else {
        vr = (uint64_t)(mv >> s);
        vp = (uint64_t)((mp - 1) >> s); /* the upper bound is exclusive */
        vm = (uint64_t)(mm >> s);
        vr_zeros = s == 0 || (mv & (((unsigned __int128)1 << s) - 1)) == 0;
    }
    while (vp / 10 > vm / 10) {
        vr_zeros &= last == 0;
        last = (int)(vr % 10);
        vr /= 10;
        vp /= 10;
        vm /= 10;
        removed++;
    }
    /* Exactly half way: round to even. */
    if (vr_zeros && last == 5 && vr % 2 == 0)
        last = 4;
    out = vr + (vr == vm || last >= 5);
    n = (int)(pgcdc__put_u64(digits, out) - digits);
    digits[n] = '\0';
    *exp10 = n - 1 + removed - k;
    return n;
}

int pgcdc__float_digits_slow(double v, int is_float4, char *digits, int *exp10)
{
    int n = short_exact_digits(v, is_float4, digits, exp10);

    return n != 0 ? n : shortest_digits(v, is_float4, digits, exp10);
}

/* float4/float8 as float4out/float8out print them, at p; returns the end. */
static char *at_float(char *p, double v, int is_float4)
{
    char digits[24];
    int exp10 = 0;
    int ndig;
    int nexp;
    int limit = is_float4 ? 6 : 15;
    char *tmp = p;
    size_t n = 0;

    if (isnan(v))
        return at_str(p, "NaN");
    if (isinf(v))
        return at_str(p, v > 0 ? "Infinity" : "-Infinity");
    if (v == 0)
        return at_str(p, signbit(v) ? "-0" : "0");
    ndig = pgcdc__float_digits_fast(v, is_float4, digits, &exp10);
    if (ndig == 0)
        ndig = pgcdc__float_digits_slow(v, is_float4, digits, &exp10);
    while (ndig > 1 && digits[ndig - 1] == '0')
        ndig--;
    digits[ndig] = '\0';
    nexp = exp10 + 1; /* value = 0.DIGITS x 10^nexp */
    if (v < 0)
        tmp[n++] = '-';
    if (nexp > -4 && nexp <= limit) {
        if (nexp <= 0) {
            tmp[n++] = '0';
            tmp[n++] = '.';
            for (int i = 0; i < -nexp; i++)
                tmp[n++] = '0';
            memcpy(tmp + n, digits, (size_t)ndig);
            n += (size_t)ndig;
        } else if (nexp >= ndig) {
            memcpy(tmp + n, digits, (size_t)ndig);
            n += (size_t)ndig;
            for (int i = ndig; i < nexp; i++)
                tmp[n++] = '0';
        } else {
            memcpy(tmp + n, digits, (size_t)nexp);
            n += (size_t)nexp;
            tmp[n++] = '.';
            memcpy(tmp + n, digits + nexp, (size_t)(ndig - nexp));
            n += (size_t)(ndig - nexp);
        }
    } else {
        tmp[n++] = digits[0];
        if (ndig > 1) {
            tmp[n++] = '.';
            memcpy(tmp + n, digits + 1, (size_t)(ndig - 1));
            n += (size_t)(ndig - 1);
        }
        tmp[n++] = 'e';
        tmp[n++] = exp10 < 0 ? '-' : '+';
        if (abs(exp10) >= 100)
            tmp[n++] = (char)('0' + abs(exp10) / 100);
        tmp[n++] = (char)('0' + abs(exp10) / 10 % 10);
        tmp[n++] = (char)('0' + abs(exp10) % 10);
    }
    return p + n;
}

/* numeric send format: ndigits, weight, sign, dscale, then base-10000 digits. */
static int put_numeric(pgcdc__buf *out, const uint8_t *p, size_t len)
{
    int ndigits;
    int weight;
    int sign;
    int dscale;
    char group[8];

    if (len < 8)
        return -1;
    ndigits = (int)pgcdc__be16(p);
    weight = (int16_t)pgcdc__be16(p + 2);
    sign = (int)pgcdc__be16(p + 4);
    dscale = (int)pgcdc__be16(p + 6);
    if (len != 8 + (size_t)ndigits * 2)
        return -1;
    if (sign == 0xC000) {
        pgcdc__buf_lit(out, "NaN");
        return 0;
    }
    if (sign == 0xD000 || sign == 0xF000) {
        pgcdc__buf_lit(out, sign == 0xD000 ? "Infinity" : "-Infinity");
        return 0;
    }
    if (sign != 0 && sign != 0x4000)
        return -1;
    if (sign == 0x4000)
        pgcdc__buf_lit(out, "-");
    /* Integer part: groups 0..weight. */
    if (weight < 0) {
        pgcdc__buf_lit(out, "0");
    } else {
        for (int d = 0; d <= weight; d++) {
            int dig = d < ndigits ? (int)pgcdc__be16(p + 8 + d * 2) : 0;

            if (dig > 9999)
                return -1;
            if (d == 0) {
                put_int(out, dig);
            } else {
                pgcdc__put_digits(group, (unsigned)dig, 4);
                pgcdc__buf_put(out, group, 4);
            }
        }
    }
    if (dscale > 0) {
        int written = 0;

        pgcdc__buf_lit(out, ".");
        for (int d = weight + 1; written < dscale; d++) {
            int dig = d >= 0 && d < ndigits ? (int)pgcdc__be16(p + 8 + d * 2) : 0;
            int take = dscale - written < 4 ? dscale - written : 4;

            if (dig > 9999)
                return -1;
            pgcdc__put_digits(group, (unsigned)dig, 4);
            pgcdc__buf_put(out, group, (size_t)take);
            written += take;
        }
    }
    return 0;
}

/* "YYYY-MM-DD" for days since 2000-01-01 at p; *bc set for years before 1; returns the end. */
static char *at_date(char *p, int64_t days2000, int *bc)
{
    int64_t y;
    unsigned m;
    unsigned d;

    pgcdc__civil_from_days(days2000 + 10957, &y, &m, &d);
    *bc = y <= 0;
    return pgcdc__put_date(p, y <= 0 ? 1 - y : y, m, d);
}

/* timestamp_out in UTC (with "+00" for timestamptz) at p; returns the end. */
static char *at_timestamp(char *p, int64_t us, int with_tz)
{
    int64_t days;
    int64_t rem;
    int bc;

    if (us == INT64_MAX || us == INT64_MIN)
        return at_str(p, us == INT64_MAX ? "infinity" : "-infinity");
    days = us / 86400000000LL;
    rem = us % 86400000000LL;
    if (rem < 0) {
        rem += 86400000000LL;
        days--;
    }
    p = at_date(p, days, &bc);
    *p++ = ' ';
    p = pgcdc__put_hms(p, (unsigned)(rem / 1000000));
    if (rem % 1000000 != 0) {
        int frac = (int)(rem % 1000000);
        int width = 6;

        while (frac % 10 == 0) {
            frac /= 10;
            width--;
        }
        *p++ = '.';
        p = pgcdc__put_digits(p, (unsigned)frac, width);
    }
    if (with_tz)
        p = at_str(p, "+00");
    if (bc)
        p = at_str(p, " BC");
    return p;
}

int pgcdc__fixed_to_text(uint32_t oid, const uint8_t *p, size_t len, char *out)
{
    char *end;
    int bc;

    if (len != pgcdc__type_of(oid)->fixed_size || len == 0)
        return -1;
    switch (oid) {
    case PGCDC_OID_BOOL:
        out[0] = p[0] ? 't' : 'f';
        return 1;
    case PGCDC_OID_INT2:
        end = pgcdc__put_i64(out, (int16_t)pgcdc__be16(p));
        break;
    case PGCDC_OID_INT4:
        end = pgcdc__put_i64(out, (int32_t)pgcdc__be32(p));
        break;
    case PGCDC_OID_OID:
        end = pgcdc__put_i64(out, (int64_t)pgcdc__be32(p));
        break;
    case PGCDC_OID_INT8:
        end = pgcdc__put_i64(out, (int64_t)pgcdc__be64(p));
        break;
    case PGCDC_OID_FLOAT4: {
        uint32_t bits = (uint32_t)pgcdc__be32(p);
        float f;

        memcpy(&f, &bits, 4);
        end = at_float(out, f, 1);
        break;
    }
    case PGCDC_OID_FLOAT8: {
        uint64_t bits = pgcdc__be64(p);
        double d;

        memcpy(&d, &bits, 8);
        end = at_float(out, d, 0);
        break;
    }
    case PGCDC_OID_DATE: {
        int32_t days = (int32_t)pgcdc__be32(p);

        if (days == INT32_MAX || days == INT32_MIN) {
            end = at_str(out, days == INT32_MAX ? "infinity" : "-infinity");
            break;
        }
        end = at_date(out, days, &bc);
        if (bc)
            end = at_str(end, " BC");
        break;
    }
    case PGCDC_OID_TIMESTAMP:
    case PGCDC_OID_TIMESTAMPTZ:
        end = at_timestamp(out, (int64_t)pgcdc__be64(p), oid == PGCDC_OID_TIMESTAMPTZ);
        break;
    default:
        return -1;
    }
    return (int)(end - out);
}

static void put_hex(pgcdc__buf *out, const uint8_t *p, size_t len)
{
    char *at;

    if (len > SIZE_MAX / 2 - 1)
        out->oom = 1;
    at = pgcdc__buf_reserve(out, 2 * len);
    if (at != NULL)
        out->len += (size_t)(pgcdc__put_hex(at, p, len) - at);
}

int pgcdc__binary_to_text(uint32_t oid, const uint8_t *p, size_t len, pgcdc__buf *out)
{
    if (pgcdc__type_of(oid)->fixed_size > 0) {
        char *at = pgcdc__buf_reserve(out, PGCDC__FIXED_TEXT_MAX);
        int n;

        if (at == NULL)
            return 0; /* out of memory: the buffer's sticky flag tells */
        n = pgcdc__fixed_to_text(oid, p, len, at);
        if (n < 0)
            return -1;
        out->len += (size_t)n;
        return 0;
    }
    switch (oid) {
    case PGCDC_OID_NUMERIC:
        return put_numeric(out, p, len);
    case PGCDC_OID_TEXT:
    case PGCDC_OID_VARCHAR:
    case PGCDC_OID_BPCHAR:
    case PGCDC_OID_NAME:
    case PGCDC_OID_JSON:
        pgcdc__buf_put(out, p, len);
        return 0;
    case PGCDC_OID_JSONB:
        if (len < 1 || p[0] != 1)
            return -1;
        pgcdc__buf_put(out, p + 1, len - 1);
        return 0;
    case PGCDC_OID_BYTEA:
        pgcdc__buf_lit(out, "\\x");
        put_hex(out, p, len);
        return 0;
    case PGCDC_OID_UUID:
        if (len != 16)
            return -1;
        for (int i = 0; i < 16; i++) {
            if (i == 4 || i == 6 || i == 8 || i == 10)
                pgcdc__buf_lit(out, "-");
            put_hex(out, p + i, 1);
        }
        return 0;
    }
    return -2;
}
