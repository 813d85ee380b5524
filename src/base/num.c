/*
 * Decimal, hex and date writers, and the proleptic Gregorian calendar as a
 * day count: shared by the JSON writer, the binary value printer and the
 * text value reader.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/num.h"

const uint64_t pgcdc__pow10_u64[20] = {UINT64_C(1),
                                       UINT64_C(10),
                                       UINT64_C(100),
                                       UINT64_C(1000),
                                       UINT64_C(10000),
                                       UINT64_C(100000),
                                       UINT64_C(1000000),
                                       UINT64_C(10000000),
                                       UINT64_C(100000000),
                                       UINT64_C(1000000000),
                                       UINT64_C(10000000000),
                                       UINT64_C(100000000000),
                                       UINT64_C(1000000000000),
                                       UINT64_C(10000000000000),
                                       UINT64_C(100000000000000),
                                       UINT64_C(1000000000000000),
                                       UINT64_C(10000000000000000),
                                       UINT64_C(100000000000000000),
                                       UINT64_C(1000000000000000000),
                                       UINT64_C(10000000000000000000)};

const char pgcdc__digit_pairs[201] =
    "00010203040506070809101112131415161718192021222324252627282930"
    "31323334353637383940414243444546474849505152535455565758596061"
    "62636465666768697071727374757677787980818283848586878889909192"
    "93949596979899";
#define pairs pgcdc__digit_pairs

char *pgcdc__put_u64(char *p, uint64_t u)
{
    /*
     * The digit count from the bit count: t = floor(bits x log10(2)) is the
     * count or one less (1233 / 4096 is log10(2) from below).  u | 1 makes 0
     * one digit and moves no value across a power of ten.
     */
    int t = (64 - __builtin_clzll(u | 1)) * 1233 >> 12;
    char *end = p + t + ((u | 1) >= pgcdc__pow10_u64[t]);
    char *q;

    /* Two digits at a time, from the end. */
    for (q = end; u >= 100; u /= 100) {
        q -= 2;
        memcpy(q, pairs + 2 * (u % 100), 2);
    }
    if (u >= 10)
        memcpy(q - 2, pairs + 2 * u, 2);
    else
        q[-1] = (char)('0' + u);
    return end;
}

char *pgcdc__put_i64(char *p, int64_t v)
{
    if (v >= 0)
        return pgcdc__put_u64(p, (uint64_t)v);
    /* Negated in unsigned arithmetic, so that INT64_MIN works too. */
    *p = '-';
    return pgcdc__put_u64(p + 1, (uint64_t)0 - (uint64_t)v);
}

char *pgcdc__put_digits(char *p, unsigned v, int width)
{
    char *q = p + width;

    /* Two digits at a time, from the end. */
    for (; q - p >= 2; v /= 100) {
        q -= 2;
        memcpy(q, pairs + 2 * (v % 100), 2);
    }
    if (q > p)
        q[-1] = (char)('0' + v % 10);
    return p + width;
}

char *pgcdc__put_hex(char *p, const void *bytes, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    const uint8_t *b = bytes;

    for (size_t i = 0; i < n; i++) {
        *p++ = hex[b[i] >> 4];
        *p++ = hex[b[i] & 15];
    }
    return p;
}

/*
 * Howard Hinnant's civil_from_days.  Expects |days| below about 10^15
 * (beyond that the arithmetic overflows int64).
 */
void pgcdc__civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    int64_t era;
    int64_t doe;
    int64_t yoe;
    int64_t doy;
    int64_t mp;

    z += 719468;
    era = (z >= 0 ? z : z - 146096) / 146097;
    doe = z - era * 146097;
    yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    mp = (5 * doy + 2) / 153;
    *d = (unsigned)(doy - (153 * mp + 2) / 5 + 1);
    *m = (unsigned)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

/*
 * Howard Hinnant's days_from_civil.  Expects 1 <= m <= 12, 1 <= d <= 31 and
 * |y| below about 10^15 (beyond that the day count overflows int64).
 */
int64_t pgcdc__days_from_civil(int64_t y, unsigned m, unsigned d)
{
    /*
     * Start the year on March 1 so that February 29, when there is one, is the
     * last day of its year; January and February belong to the previous year.
     */
    int64_t yr = m <= 2 ? y - 1 : y;
    /* 400-year cycles of 146097 days each; round toward minus infinity. */
    int64_t cycle = (yr >= 0 ? yr : yr - 399) / 400;
    int64_t year_of_cycle = yr - cycle * 400;
    /* Months from March: 31 30 31 30 31 31 30 31 30 31 31 28/29, a linear fit. */
    int64_t month_from_march = m > 2 ? (int64_t)m - 3 : (int64_t)m + 9;
    int64_t day_of_year = (153 * month_from_march + 2) / 5 + (int64_t)d - 1;
    int64_t day_of_cycle =
        year_of_cycle * 365 + year_of_cycle / 4 - year_of_cycle / 100 + day_of_year;

    /* 0000-03-01 is 719468 days before 1970-01-01. */
    return cycle * 146097 + day_of_cycle - 719468;
}

char *pgcdc__put_date(char *p, int64_t y, unsigned m, unsigned d)
{
    if (y >= 0 && y <= 9999) {
        p = pgcdc__put2(p, (unsigned)y / 100);
        p = pgcdc__put2(p, (unsigned)y % 100);
    } else {
        p = pgcdc__put_i64(p, y);
    }
    *p++ = '-';
    p = pgcdc__put2(p, m);
    *p++ = '-';
    return pgcdc__put2(p, d);
}

char *pgcdc__put_hms(char *p, unsigned secs)
{
    p = pgcdc__put2(p, secs / 3600);
    *p++ = ':';
    p = pgcdc__put2(p, secs / 60 % 60);
    *p++ = ':';
    return pgcdc__put2(p, secs % 60);
}

/* A decimal number, then a unit from units (each with its factor): 0 or -1. */
static int parse_scaled(const char *text, const char *const *units, const long long *factors,
                        long long *out)
{
    char *end;
    long long v;

    if (text == NULL || *text < '0' || *text > '9')
        return -1;
    errno = 0;
    v = strtoll(text, &end, 10);
    if (errno != 0)
        return -1;
    for (int i = 0; units[i] != NULL; i++) {
        if (strcmp(end, units[i]) != 0)
            continue;
        if (v > LLONG_MAX / factors[i])
            return -1;
        *out = v * factors[i];
        return 0;
    }
    return -1;
}

int pgcdc__parse_duration_ms(const char *text, long long *ms)
{
    static const char *const units[] = {"", "ms", "s", "m", "min", "h", "d", NULL};
    static const long long factors[] = {1, 1, 1000, 60000, 60000, 3600000, 86400000};

    return parse_scaled(text, units, factors, ms);
}

int pgcdc__parse_flag(const char *text, int *on)
{
    static const char *const yes[] = {"true", "on", "yes", "1"};
    static const char *const no[] = {"false", "off", "no", "0"};

    for (int i = 0; i < 4; i++) {
        if (strcasecmp(text, yes[i]) == 0 || strcasecmp(text, no[i]) == 0) {
            *on = strcasecmp(text, yes[i]) == 0;
            return 0;
        }
    }
    return -1;
}

int pgcdc__parse_size(const char *text, long long *bytes)
{
    static const char *const units[] = {"", "B", "kB", "KB", "MB", "GB", NULL};
    static const long long factors[] = {1, 1, 1024, 1024, 1024 * 1024, 1024 * 1024 * 1024};

    return parse_scaled(text, units, factors, bytes);
}
