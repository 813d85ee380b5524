/*
 * Value conversion: reads PostgreSQL's text output of a column (DateStyle=ISO,
 * bytea_output=hex) into C values.  Every reader is strict (the whole text must
 * match), locale independent, and never looks past s + len.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* newlocale, strtod_l */
#endif

#include "base/num.h"
#include "wire/value.h"

#include <float.h>
#include <limits.h>
#include <locale.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define USECS_PER_SEC INT64_C(1000000)
#define SECS_PER_DAY INT64_C(86400)

/*
 * A decimal mantissa longer than this many significant digits is cut to this
 * many plus one sticky nonzero digit.  Every double and every midpoint between
 * two doubles has at most 767 significant digits, so the cut never changes
 * how the value rounds, and the text handed to strtod_l fits on the stack.
 */
#define MAX_SIG_DIGITS 800
/* Beyond this decimal exponent an 801-digit mantissa is surely 0 or infinite. */
#define MAX_NORM_EXP 100000
/* Exponents are saturated here while reading; far beyond any string length. */
#define EXP_SATURATE INT64_C(1000000000000000)
/* Years are saturated here while reading; any such year is out of range anyway. */
#define YEAR_SATURATE INT64_C(100000000)

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static char ascii_lower(char c)
{
    if (c >= 'A' && c <= 'Z')
        return (char)(c - 'A' + 'a');
    return c;
}

/* ASCII case-insensitive comparison of the whole text with a lowercase keyword. */
static int keyword_eq(const char *s, size_t len, const char *kw)
{
    size_t i;

    for (i = 0; i < len; i++) {
        if (kw[i] == '\0' || ascii_lower(s[i]) != kw[i])
            return 0;
    }
    return kw[len] == '\0';
}

int pgcdc__parse_int64(const char *s, size_t len, int64_t *out)
{
    size_t pos = 0;
    int neg = 0;
    int overflow = 0;
    uint64_t mag = 0;
    uint64_t limit;

    if (s == NULL || len == 0)
        return -1;
    if (s[0] == '-' || s[0] == '+') {
        neg = s[0] == '-';
        pos = 1;
    }
    if (pos == len)
        return -1;
    /* Up to 18 digits cannot overflow: no check per digit. */
    if (len - pos <= 18) {
        for (; pos < len; pos++) {
            unsigned dig = (unsigned)(unsigned char)s[pos] - '0';

            if (dig > 9)
                return -1;
            mag = mag * 10 + dig;
        }
        *out = neg ? -(int64_t)mag : (int64_t)mag;
        return 0;
    }
    limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    /* Keep scanning after an overflow: trailing junk makes it a syntax error. */
    for (; pos < len; pos++) {
        unsigned dig;

        if (!is_digit(s[pos]))
            return -1;
        dig = (unsigned)(s[pos] - '0');
        if (mag > (limit - dig) / 10)
            overflow = 1;
        else
            mag = mag * 10 + dig;
    }
    if (overflow)
        return -2;
    if (!neg)
        *out = (int64_t)mag;
    else if (mag == (uint64_t)INT64_MAX + 1)
        *out = INT64_MIN;
    else
        *out = -(int64_t)mag;
    return 0;
}

/* A decimal number split into its parts, pointing into the caller's text. */
struct decimal {
    int neg;
    const char *ip; /* integer digits */
    size_t ni;
    const char *fp; /* fraction digits */
    size_t nf;
    int64_t exp; /* saturated at +-EXP_SATURATE */
};

/* [+-](D+[.D*] | .D+)[(e|E)[+-]D+], nothing else. */
static int scan_decimal(const char *s, size_t len, struct decimal *dec)
{
    size_t pos = 0;

    dec->neg = 0;
    dec->ni = 0;
    dec->nf = 0;
    dec->exp = 0;
    if (pos < len && (s[pos] == '-' || s[pos] == '+')) {
        dec->neg = s[pos] == '-';
        pos++;
    }
    dec->ip = s + pos;
    while (pos < len && is_digit(s[pos])) {
        pos++;
        dec->ni++;
    }
    dec->fp = s + pos;
    if (pos < len && s[pos] == '.') {
        pos++;
        dec->fp = s + pos;
        while (pos < len && is_digit(s[pos])) {
            pos++;
            dec->nf++;
        }
    }
    if (dec->ni == 0 && dec->nf == 0)
        return -1;
    if (pos < len && (s[pos] == 'e' || s[pos] == 'E')) {
        int eneg = 0;
        size_t start;

        pos++;
        if (pos < len && (s[pos] == '-' || s[pos] == '+')) {
            eneg = s[pos] == '-';
            pos++;
        }
        start = pos;
        while (pos < len && is_digit(s[pos])) {
            if (dec->exp < EXP_SATURATE)
                dec->exp = dec->exp * 10 + (s[pos] - '0');
            pos++;
        }
        if (pos == start)
            return -1;
        if (dec->exp > EXP_SATURATE)
            dec->exp = EXP_SATURATE;
        if (eneg)
            dec->exp = -dec->exp;
    }
    return pos == len ? 0 : -1;
}

static char decimal_digit(const struct decimal *dec, size_t i)
{
    return i < dec->ni ? dec->ip[i] : dec->fp[i - dec->ni];
}

static pthread_once_t c_locale_once = PTHREAD_ONCE_INIT;
static locale_t c_locale;

static void c_locale_init(void)
{
    c_locale = newlocale(LC_ALL_MASK, "C", (locale_t)0);
}

/* 2^e as a double, for the normal range (|e| < 1023): exact. */
static double pow2(int e)
{
    uint64_t bits = (uint64_t)(1023 + e) << 52;
    double v;

    memcpy(&v, &bits, sizeof(v));
    return v;
}

/*
 * m x 10^e10 correctly rounded, exactly, for m < 2^64 and |e10| <= 27 (5^27
 * < 2^63): a 128-bit product or quotient by 5^|e10| rounded once to a double,
 * then an exact scaling by a power of two.  This covers what PostgreSQL
 * prints for float8 (17 significant digits at most); strtod takes the rest.
 */
static double exact_decimal(uint64_t m, int e10)
{
    static const uint64_t pow5[28] = {
        UINT64_C(1),
        UINT64_C(5),
        UINT64_C(25),
        UINT64_C(125),
        UINT64_C(625),
        UINT64_C(3125),
        UINT64_C(15625),
        UINT64_C(78125),
        UINT64_C(390625),
        UINT64_C(1953125),
        UINT64_C(9765625),
        UINT64_C(48828125),
        UINT64_C(244140625),
        UINT64_C(1220703125),
        UINT64_C(6103515625),
        UINT64_C(30517578125),
        UINT64_C(152587890625),
        UINT64_C(762939453125),
        UINT64_C(3814697265625),
        UINT64_C(19073486328125),
        UINT64_C(95367431640625),
        UINT64_C(476837158203125),
        UINT64_C(2384185791015625),
        UINT64_C(11920928955078125),
        UINT64_C(59604644775390625),
        UINT64_C(298023223876953125),
        UINT64_C(1490116119384765625),
        UINT64_C(7450580596923828125),
    };
    uint64_t p5 = pow5[e10 < 0 ? -e10 : e10];
    unsigned __int128 n, q;
    int sh;

    /* The product or quotient is rounded once; scaling by 2^k is exact (normal range). */
    if (e10 >= 0)
        return (double)((unsigned __int128)m * p5) * pow2(e10);
    /* Shift m up to bit 127, divide: 64 or more quotient bits, and a sticky bit. */
    sh = 64 + __builtin_clzll(m);
    n = (unsigned __int128)m << sh;
    q = n / p5;
    if (n % p5 != 0)
        q |= 1;
    return (double)q * pow2(e10 - sh);
}

/*
 * The number becomes "[-]DIGITSe[-]EXP" with no decimal point, leading or
 * trailing zeros, and at most MAX_SIG_DIGITS + 1 digits; strtod_l in the C
 * locale then does the correctly rounded conversion.
 */
static int decimal_to_double(const struct decimal *dec, double *out)
{
    char buf[MAX_SIG_DIGITS + 32];
    char *p = buf;
    char *end;
    size_t n = dec->ni + dec->nf;
    size_t first = 0;
    size_t last;
    size_t count;
    size_t i;
    int64_t e10;
    double v;

    while (first < n && decimal_digit(dec, first) == '0')
        first++;
    if (first == n) {
        *out = dec->neg ? -0.0 : 0.0;
        return 0;
    }
    last = n - 1;
    while (decimal_digit(dec, last) == '0')
        last--;
    count = last - first + 1;
    /* value = digits[first..last] * 10^e10 */
    e10 = dec->exp - (int64_t)dec->nf + (int64_t)(n - 1 - last);
    if (count <= 19 && e10 >= -27 && e10 <= 27) {
        uint64_t m = 0;

        for (i = first; i <= last; i++)
            m = m * 10 + (uint64_t)(decimal_digit(dec, i) - '0');
        v = exact_decimal(m, (int)e10);
        *out = dec->neg ? -v : v;
        return 0;
    }
    if (dec->neg)
        *p++ = '-';
    if (count > MAX_SIG_DIGITS) {
        for (i = 0; i < MAX_SIG_DIGITS; i++)
            *p++ = decimal_digit(dec, first + i);
        /* digits[last] is nonzero, so the dropped tail is too. */
        *p++ = '1';
        e10 += (int64_t)(count - MAX_SIG_DIGITS - 1);
    } else {
        for (i = first; i <= last; i++)
            *p++ = decimal_digit(dec, i);
    }
    if (e10 > MAX_NORM_EXP)
        e10 = MAX_NORM_EXP;
    if (e10 < -MAX_NORM_EXP)
        e10 = -MAX_NORM_EXP;
    *p++ = 'e';
    p = pgcdc__put_i64(p, e10);
    *p = '\0';

    pthread_once(&c_locale_once, c_locale_init);
    /* newlocale("C") does not fail in practice (glibc returns a static object). */
    if (c_locale == (locale_t)0)
        return -1;
    v = strtod_l(buf, &end, c_locale);
    if (end != p)
        return -1;
    /* A nonzero number that became 0 or infinite: out of range like float8in says. */
    if (v == 0.0 || isinf(v))
        return -2;
    *out = v;
    return 0;
}

/*
 * What PostgreSQL prints most, in one pass: [-]D*[.D*] with a digit, at most
 * 19 significant digits and no exponent.  0 when done, 1 for the general
 * path (which reads everything this one does the same way, only slower).
 */
static int parse_decimal_fast(const char *s, size_t len, double *out)
{
    static const double pow10[23] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                     1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                     1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
    size_t pos = s[0] == '-';
    uint64_t m = 0;
    int sig = 0;
    int frac = -1; /* digits after the point, once there is one */
    int digits = 0;
    double v;

    for (; pos < len; pos++) {
        unsigned d = (unsigned)(unsigned char)s[pos] - '0';

        if (d > 9) {
            if (s[pos] != '.' || frac >= 0)
                break;
            frac = 0;
            continue;
        }
        digits++;
        frac += frac >= 0;
        if ((m != 0 || d != 0) && ++sig > 19)
            return 1;
        m = m * 10 + d;
    }
    if (frac < 0)
        frac = 0;
    if (pos != len || digits == 0 || frac > 27)
        return 1;
    if (m == 0) {
        v = 0.0;
    } else if (m <= (UINT64_C(1) << 53) && frac <= 22 && FLT_EVAL_METHOD == 0) {
        /* Both exact doubles: one correctly rounded division. */
        v = (double)m / pow10[frac];
    } else {
        v = exact_decimal(m, -frac);
    }
    *out = s[0] == '-' ? -v : v;
    return 0;
}

/*
 * NaN and the infinities are accepted in the spellings float8in and numeric_in
 * accept, ignoring ASCII case ("NaN", "Infinity", "inf", with a sign for the
 * infinities); PostgreSQL itself prints only "NaN", "Infinity", "-Infinity".
 */
int pgcdc__parse_double(const char *s, size_t len, double *out)
{
    struct decimal dec;
    size_t skip = 0;

    if (s == NULL || len == 0)
        return -1;
    if (parse_decimal_fast(s, len, out) == 0)
        return 0;
    if (keyword_eq(s, len, "nan")) {
        *out = NAN;
        return 0;
    }
    if (s[0] == '-' || s[0] == '+')
        skip = 1;
    if (keyword_eq(s + skip, len - skip, "infinity") || keyword_eq(s + skip, len - skip, "inf")) {
        *out = s[0] == '-' ? -HUGE_VAL : HUGE_VAL;
        return 0;
    }
    if (scan_decimal(s, len, &dec) != 0)
        return -1;
    return decimal_to_double(&dec, out);
}

/* Only the spellings boolout and the header promise, ignoring ASCII case. */
int pgcdc__parse_bool(const char *s, size_t len, int *out)
{
    if (s == NULL)
        return -1;
    if (keyword_eq(s, len, "t") || keyword_eq(s, len, "true")) {
        *out = 1;
        return 0;
    }
    if (keyword_eq(s, len, "f") || keyword_eq(s, len, "false")) {
        *out = 0;
        return 0;
    }
    return -1;
}

static int is_leap(int64_t y)
{
    return y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
}

static int days_in_month(int64_t y, int m)
{
    static const int mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

    if (m == 2 && is_leap(y))
        return 29;
    return mdays[m - 1];
}

/* The fields of a finite timestamp text, checked for syntax only. */
struct ts_fields {
    int64_t year; /* as written, saturated at YEAR_SATURATE */
    int bc;
    int month;
    int day;
    int hour;
    int min;
    int sec;
    int64_t usec;
    int tz_sign; /* 0 when no offset is given */
    int tz_hour;
    int tz_min;
    int tz_sec;
};

/* Exactly n digits at *pos. */
static int read_digits(const char *s, size_t len, size_t *pos, size_t n, int *out)
{
    int v = 0;
    size_t i;

    if (len - *pos < n)
        return -1;
    for (i = 0; i < n; i++) {
        if (!is_digit(s[*pos + i]))
            return -1;
        v = v * 10 + (s[*pos + i] - '0');
    }
    *pos += n;
    *out = v;
    return 0;
}

/* ":" and two digits at *pos. */
static int read_colon_field(const char *s, size_t len, size_t *pos, int *out)
{
    if (*pos >= len || s[*pos] != ':')
        return -1;
    (*pos)++;
    return read_digits(s, len, pos, 2, out);
}

/* After HH:MM:SS: [.f{1,6}][(+|-)HH[:MM[:SS]]]. */
static int scan_time_tail(const char *s, size_t len, size_t *pos, struct ts_fields *f)
{
    if (*pos < len && s[*pos] == '.') {
        size_t ndig = 0;

        (*pos)++;
        while (*pos < len && is_digit(s[*pos]) && ndig < 6) {
            f->usec = f->usec * 10 + (s[*pos] - '0');
            (*pos)++;
            ndig++;
        }
        /* No digits, or a seventh digit, is not what timestamp_out writes. */
        if (ndig == 0 || (*pos < len && is_digit(s[*pos])))
            return -1;
        for (; ndig < 6; ndig++)
            f->usec *= 10;
    }
    if (*pos < len && (s[*pos] == '+' || s[*pos] == '-')) {
        f->tz_sign = s[*pos] == '-' ? -1 : 1;
        (*pos)++;
        if (read_digits(s, len, pos, 2, &f->tz_hour) != 0)
            return -1;
        if (*pos < len && s[*pos] == ':') {
            if (read_colon_field(s, len, pos, &f->tz_min) != 0)
                return -1;
            if (*pos < len && s[*pos] == ':' && read_colon_field(s, len, pos, &f->tz_sec) != 0)
                return -1;
        }
    }
    return 0;
}

static int scan_time(const char *s, size_t len, size_t *pos, struct ts_fields *f)
{
    if (read_digits(s, len, pos, 2, &f->hour) != 0 || read_colon_field(s, len, pos, &f->min) != 0 ||
        read_colon_field(s, len, pos, &f->sec) != 0)
        return -1;
    return scan_time_tail(s, len, pos, f);
}

/* Two digits at p, or -1. */
static int two_digits(const char *p)
{
    unsigned a = (unsigned)(unsigned char)p[0] - '0';
    unsigned b = (unsigned)(unsigned char)p[1] - '0';

    return a <= 9 && b <= 9 ? (int)(a * 10 + b) : -1;
}

/*
 * What timestamp_out and date_out print for years 1000 to 9999 AD, at fixed
 * places: "YYYY-MM-DD" and "YYYY-MM-DD HH:MM:SS" with the usual tail.  0 when
 * read (the same fields as scan_timestamp), -1 for scan_timestamp to judge.
 */
static int scan_timestamp_fast(const char *s, size_t len, struct ts_fields *f)
{
    int hi;
    int lo;
    size_t pos;

    if (len < 10 || s[4] != '-' || s[7] != '-' || (hi = two_digits(s)) < 10 ||
        (lo = two_digits(s + 2)) < 0 || (f->month = two_digits(s + 5)) < 0 ||
        (f->day = two_digits(s + 8)) < 0)
        return -1;
    f->year = hi * 100 + lo;
    f->bc = 0;
    f->hour = f->min = f->sec = 0;
    f->usec = 0;
    f->tz_sign = f->tz_hour = f->tz_min = f->tz_sec = 0;
    if (len == 10)
        return 0;
    if (len < 19 || s[10] != ' ' || s[13] != ':' || s[16] != ':' ||
        (f->hour = two_digits(s + 11)) < 0 || (f->min = two_digits(s + 14)) < 0 ||
        (f->sec = two_digits(s + 17)) < 0)
        return -1;
    pos = 19;
    return scan_time_tail(s, len, &pos, f) == 0 && pos == len ? 0 : -1;
}

static int scan_timestamp(const char *s, size_t len, struct ts_fields *f)
{
    size_t pos = 0;

    memset(f, 0, sizeof(*f));
    while (pos < len && is_digit(s[pos])) {
        if (f->year < YEAR_SATURATE)
            f->year = f->year * 10 + (s[pos] - '0');
        pos++;
    }
    /* date_out pads the year to at least four digits. */
    if (pos < 4)
        return -1;
    if (pos >= len || s[pos] != '-')
        return -1;
    pos++;
    if (read_digits(s, len, &pos, 2, &f->month) != 0)
        return -1;
    if (pos >= len || s[pos] != '-')
        return -1;
    pos++;
    if (read_digits(s, len, &pos, 2, &f->day) != 0)
        return -1;
    if (len - pos >= 2 && s[pos] == ' ' && is_digit(s[pos + 1])) {
        pos++;
        if (scan_time(s, len, &pos, f) != 0)
            return -1;
    }
    if (len - pos == 3 && s[pos] == ' ' && keyword_eq(s + pos + 1, 2, "bc")) {
        f->bc = 1;
        pos += 3;
    }
    return pos == len ? 0 : -1;
}

/* Field ranges: hours 0-23, no leap second, offsets within PostgreSQL's +-15:59:59. */
static int check_fields(const struct ts_fields *f, int64_t astro_year)
{
    if (f->year == 0 || f->month < 1 || f->month > 12)
        return -1;
    if (f->day < 1 || f->day > days_in_month(astro_year, f->month))
        return -1;
    if (f->hour > 23 || f->min > 59 || f->sec > 59)
        return -1;
    if (f->tz_hour > 15 || f->tz_min > 59 || f->tz_sec > 59)
        return -1;
    return 0;
}

/*
 * INT64_MAX and INT64_MIN stand for the infinities, so a finite timestamp that
 * lands on either is out of range too.
 */
int pgcdc__parse_timestamp(const char *s, size_t len, int64_t *out)
{
    struct ts_fields f;
    int64_t astro_year;
    int64_t secs;
    int64_t usec;
    int64_t usecs;

    if (s == NULL || len == 0)
        return -1;
    if (!is_digit(s[0])) {
        if (keyword_eq(s, len, "infinity") || keyword_eq(s, len, "+infinity")) {
            *out = INT64_MAX;
            return 0;
        }
        if (keyword_eq(s, len, "-infinity")) {
            *out = INT64_MIN;
            return 0;
        }
    }
    if (scan_timestamp_fast(s, len, &f) != 0 && scan_timestamp(s, len, &f) != 0)
        return -1;
    /* Year N BC is astronomical year 1 - N: there is no year 0 in between. */
    astro_year = f.bc ? 1 - f.year : f.year;
    if (check_fields(&f, astro_year) != 0)
        return -1;
    /* |astro_year| <= YEAR_SATURATE keeps everything below far from overflow. */
    secs = pgcdc__days_from_civil(astro_year, (unsigned)f.month, (unsigned)f.day) * SECS_PER_DAY;
    secs += (int64_t)f.hour * 3600 + f.min * 60 + f.sec;
    secs -= (int64_t)f.tz_sign * (f.tz_hour * 3600 + f.tz_min * 60 + f.tz_sec);
    /* Borrow a second when negative so that both parts share the sign of the sum. */
    usec = f.usec;
    if (secs < 0 && usec > 0) {
        secs++;
        usec -= USECS_PER_SEC;
    }
    if (secs > INT64_MAX / USECS_PER_SEC || secs < INT64_MIN / USECS_PER_SEC)
        return -2;
    usecs = secs * USECS_PER_SEC;
    if (usec > 0 && usecs > INT64_MAX - usec)
        return -2;
    if (usec < 0 && usecs < INT64_MIN - usec)
        return -2;
    usecs += usec;
    if (usecs == INT64_MAX || usecs == INT64_MIN)
        return -2;
    *out = usecs;
    return 0;
}

int pgcdc__hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* byteaout writes a lowercase "\x"; hex digits are read in either case like byteain. */
static int bytea_prefix_ok(const char *s, size_t len)
{
    return s != NULL && len >= 2 && s[0] == '\\' && s[1] == 'x' && (len - 2) % 2 == 0;
}

long pgcdc__bytea_hex_size(const char *s, size_t len)
{
    size_t i;

    if (!bytea_prefix_ok(s, len) || (len - 2) / 2 > (size_t)LONG_MAX)
        return -1;
    for (i = 2; i < len; i++) {
        if (pgcdc__hex_value(s[i]) < 0)
            return -1;
    }
    return (long)((len - 2) / 2);
}

/*
 * One pass: the first cap bytes are written while the rest is still checked,
 * so on -2 buf holds a prefix and *outlen the full size; on -1 buf may hold
 * garbage and *outlen is 0.  buf may be NULL when cap is 0.
 */
int pgcdc__parse_bytea_hex(const char *s, size_t len, uint8_t *buf, size_t cap, size_t *outlen)
{
    size_t size;
    size_t i;

    *outlen = 0;
    if (!bytea_prefix_ok(s, len))
        return -1;
    size = (len - 2) / 2;
    for (i = 0; i < size; i++) {
        int hi = pgcdc__hex_value(s[2 + 2 * i]);
        int lo = pgcdc__hex_value(s[3 + 2 * i]);

        if (hi < 0 || lo < 0)
            return -1;
        if (i < cap)
            buf[i] = (uint8_t)(hi << 4 | lo);
    }
    *outlen = size;
    return size > cap ? -2 : 0;
}

/*
 * 1 only if the text is a JSON number, so the caller may copy it as is: -?(0|
 * [1-9]D*)(.D+)?([eE][+-]?D+)?.  float8out and numeric_out always print that
 * for finite values; NaN, the infinities and anything malformed give 0, which
 * makes the caller quote the text as a string and keeps the output valid.
 */
int pgcdc__number_is_finite(const char *s, size_t len)
{
    size_t pos = 0;
    size_t start;

    if (s == NULL || len == 0)
        return 0;
    if (s[pos] == '-')
        pos++;
    if (pos < len && s[pos] == '0') {
        pos++;
    } else {
        start = pos;
        while (pos < len && is_digit(s[pos]))
            pos++;
        if (pos == start)
            return 0;
    }
    if (pos < len && s[pos] == '.') {
        pos++;
        start = pos;
        while (pos < len && is_digit(s[pos]))
            pos++;
        if (pos == start)
            return 0;
    }
    if (pos < len && (s[pos] == 'e' || s[pos] == 'E')) {
        pos++;
        if (pos < len && (s[pos] == '+' || s[pos] == '-'))
            pos++;
        start = pos;
        while (pos < len && is_digit(s[pos]))
            pos++;
        if (pos == start)
            return 0;
    }
    return pos == len;
}
