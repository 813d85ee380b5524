/*
 * Debezium's dates, times and intervals with time.precision.mode adaptive:
 * days, milliseconds or microseconds as numbers, the zoned types as ISO
 * strings in UTC, intervals in microseconds or ISO 8601, read from the
 * server's text (DateStyle ISO, IntervalStyle postgres) or as a number.
 */
#include <stdint.h>
#include <string.h>

#include "base/num.h"
#include "format/debezium.h"
#include "format/json.h"
#include "wire/value.h"

/* PostgreSQL's infinite dates and timestamps as the connector's Java types turn them. */
#define DATE_PLUS_INFINITY INT64_C(-2147472692) /* LocalDate -5877611-06-21 */
#define DATE_MINUS_INFINITY INT64_C(-2147472691)
#define TS_PLUS_INFINITY_US INT64_C(9223372036825200000) /* PGStatement.DATE_POSITIVE_INFINITY */
#define TS_MINUS_INFINITY_US INT64_C(-9223372036832400000)

#define US_PER_DAY INT64_C(86400000000)

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;

    if ((a % b != 0) && ((a < 0) != (b < 0)))
        q--;
    return q;
}

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* "HH:MM:SS[.ffffff]" from *pos: microseconds past midnight; 0 or -1. */
static int parse_clock(const char *s, size_t n, size_t *pos, int64_t *us)
{
    size_t i = *pos;
    int64_t h = 0;
    int64_t frac = 0;
    int digits = 0;

    if (i >= n || !is_digit(s[i]))
        return -1;
    while (i < n && is_digit(s[i]) && h < 1000)
        h = h * 10 + (s[i++] - '0');
    if (i + 6 > n || s[i] != ':' || !is_digit(s[i + 1]) || !is_digit(s[i + 2]) || s[i + 3] != ':' ||
        !is_digit(s[i + 4]) || !is_digit(s[i + 5]))
        return -1;
    *us = ((h * 60 + (s[i + 1] - '0') * 10 + (s[i + 2] - '0')) * 60 + (s[i + 4] - '0') * 10 +
           (s[i + 5] - '0')) *
          1000000;
    i += 6;
    if (i < n && s[i] == '.') {
        for (i++; i < n && is_digit(s[i]); i++) {
            if (digits < 6) {
                frac = frac * 10 + (s[i] - '0');
                digits++;
            }
        }
        while (digits++ < 6)
            frac *= 10;
        *us += frac;
    }
    *pos = i;
    return 0;
}

/* Java's ISO year: four digits at least, '+' past 9999, '-' before year 0. */
static char *put_year(char *p, int64_t y)
{
    if (y > 9999) {
        *p++ = '+';
        return pgcdc__put_i64(p, y);
    }
    if (y < 0) {
        *p++ = '-';
        y = -y;
    }
    if (y > 9999)
        return pgcdc__put_i64(p, y);
    return pgcdc__put_digits(p, (unsigned)y, 4);
}

/* A fraction of a second (us): width digits, or as few as it needs when width is 0. */
static char *put_fraction(char *p, int64_t frac_us, int width)
{
    char digits[9];
    int n = width;

    pgcdc__put_digits(digits, (unsigned)frac_us, 6);
    memset(digits + 6, '0', 3);
    if (width <= 0) {
        if (frac_us == 0)
            return p;
        n = 6;
        while (digits[n - 1] == '0')
            n--;
    }
    if (n > 9)
        n = 9;
    *p++ = '.';
    memcpy(p, digits, (size_t)n);
    return p + n;
}

/* io.debezium.time.ZonedTimestamp: ISO 8601 in UTC, width fraction digits (0: as needed). */
void pgcdc__dbz_zoned_timestamp(pgcdc__buf *j, int64_t us, int width)
{
    int64_t secs;
    int64_t days;
    int64_t y;
    unsigned m;
    unsigned d;
    char *p;
    char *start;

    if (us == INT64_MAX || us == INT64_MIN) {
        pgcdc__buf_lit(j, us == INT64_MAX ? "\"infinity\"" : "\"-infinity\"");
        return;
    }
    secs = floor_div(us, 1000000);
    days = floor_div(secs, 86400);
    pgcdc__civil_from_days(days, &y, &m, &d);
    start = p = pgcdc__buf_reserve(j, 64);
    if (p == NULL)
        return;
    *p++ = '"';
    p = put_year(p, y);
    *p++ = '-';
    p = pgcdc__put2(p, m);
    *p++ = '-';
    p = pgcdc__put2(p, d);
    *p++ = 'T';
    p = pgcdc__put_hms(p, (unsigned)(secs - days * 86400));
    p = put_fraction(p, us - secs * 1000000, width > 6 ? 9 : width);
    *p++ = 'Z';
    *p++ = '"';
    j->len += (size_t)(p - start);
}

/* io.debezium.time.Timestamp (ms) or MicroTimestamp (us), by the column's precision. */
void pgcdc__dbz_timestamp(pgcdc__buf *j, int64_t us, int precision)
{
    int ms = precision <= 3;

    if (us == INT64_MAX)
        pgcdc__json_i64(j, ms ? TS_PLUS_INFINITY_US / 1000 : TS_PLUS_INFINITY_US);
    else if (us == INT64_MIN)
        pgcdc__json_i64(j, ms ? TS_MINUS_INFINITY_US / 1000 : TS_MINUS_INFINITY_US);
    else
        pgcdc__json_i64(j, ms ? floor_div(us, 1000) : us);
}

/* io.debezium.time.Date: days since 1970-01-01. */
void pgcdc__dbz_days(pgcdc__buf *j, int64_t us)
{
    if (us == INT64_MAX)
        pgcdc__json_i64(j, DATE_PLUS_INFINITY);
    else if (us == INT64_MIN)
        pgcdc__json_i64(j, DATE_MINUS_INFINITY);
    else
        pgcdc__json_i64(j, floor_div(us, US_PER_DAY));
}

/* time: io.debezium.time.Time (ms, int32) or MicroTime (us). */
void pgcdc__dbz_time(pgcdc__buf *j, const pgcdc__dbz_col *dc, const char *s, size_t n)
{
    size_t pos = 0;
    int64_t us;

    if (parse_clock(s, n, &pos, &us) != 0 || pos != n) {
        pgcdc__json_string(j, s, n);
        return;
    }
    pgcdc__json_i64(j, dc->precision <= 3 ? us / 1000 : us);
}

/* timetz: io.debezium.time.ZonedTime, "HH:MM:SS[.f]Z" after shifting to UTC. */
void pgcdc__dbz_timetz(pgcdc__buf *j, const char *s, size_t n)
{
    size_t pos = 0;
    int64_t us;
    int64_t off = 0;
    int sign;
    int64_t part[3] = {0, 0, 0};
    char text[40];
    char *p = text;

    if (parse_clock(s, n, &pos, &us) != 0 || pos >= n || (s[pos] != '+' && s[pos] != '-'))
        goto bad;
    sign = s[pos++] == '-' ? -1 : 1;
    for (int k = 0; k < 3 && pos < n; k++) {
        if (k > 0 && s[pos++] != ':')
            goto bad;
        if (pos + 2 > n || !is_digit(s[pos]) || !is_digit(s[pos + 1]))
            goto bad;
        part[k] = (s[pos] - '0') * 10 + (s[pos + 1] - '0');
        pos += 2;
    }
    if (pos != n)
        goto bad;
    off = sign * (part[0] * 3600 + part[1] * 60 + part[2]) * INT64_C(1000000);
    /* 24:00:00 at UTC stays the end of the day (PostgresTimeBoundary). */
    if (!(us == US_PER_DAY && off == 0))
        us = ((us - off) % US_PER_DAY + US_PER_DAY) % US_PER_DAY;
    *p++ = '"';
    p = pgcdc__put2(p, (unsigned)(us / 3600000000));
    *p++ = ':';
    p = pgcdc__put2(p, (unsigned)(us / 60000000 % 60));
    *p++ = ':';
    p = pgcdc__put2(p, (unsigned)(us / 1000000 % 60));
    p = put_fraction(p, us % 1000000, 0);
    *p++ = 'Z';
    *p++ = '"';
    pgcdc__buf_put(j, text, (size_t)(p - text));
    return;
bad:
    pgcdc__json_string(j, s, n);
}

/* ---- intervals ---- */

/* An interval as the JDBC driver's PGInterval reads IntervalStyle postgres. */
typedef struct interval {
    int64_t years, months, days, hours, minutes;
    const char *sec; /* the seconds' digits, without sign */
    size_t nsec;
    int sec_neg;
} interval;

static int read_int(const char *s, size_t n, int64_t *out)
{
    size_t i = s[0] == '+' || s[0] == '-';
    int64_t v = 0;

    if (i >= n)
        return -1;
    for (; i < n; i++) {
        if (!is_digit(s[i]) || v > INT64_C(100000000000000))
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    *out = s[0] == '-' ? -v : v;
    return 0;
}

/* "[-]HH:MM[:SS[.f]]": a sign in front negates all three. */
static int read_clock(interval *iv, const char *s, size_t n)
{
    size_t i = s[0] == '+' || s[0] == '-';
    int neg = s[0] == '-';
    const char *colon = memchr(s + i, ':', n - i);
    const char *second;

    if (colon == NULL || read_int(s + i, (size_t)(colon - s - i), &iv->hours) != 0 ||
        (size_t)(colon - s) + 3 > n || read_int(colon + 1, 2, &iv->minutes) != 0)
        return -1;
    second = colon + 3;
    if ((size_t)(second - s) < n) {
        if (*second != ':' || (size_t)(second + 1 - s) >= n)
            return -1;
        iv->sec = second + 1;
        iv->nsec = n - (size_t)(second + 1 - s);
        for (size_t k = 0; k < iv->nsec; k++) {
            if (!is_digit(iv->sec[k]) && iv->sec[k] != '.')
                return -1;
        }
    }
    if (neg) {
        iv->hours = -iv->hours;
        iv->minutes = -iv->minutes;
        iv->sec_neg = 1;
    }
    return 0;
}

static int parse_interval(const char *s, size_t n, interval *iv)
{
    const char *number = NULL;
    size_t nnumber = 0;

    memset(iv, 0, sizeof(*iv));
    for (size_t i = 0; i < n;) {
        size_t start;
        size_t len;

        while (i < n && s[i] == ' ')
            i++;
        if (i >= n)
            break;
        start = i;
        while (i < n && s[i] != ' ')
            i++;
        len = i - start;
        if (number == NULL && memchr(s + start, ':', len) != NULL) {
            if (read_clock(iv, s + start, len) != 0)
                return -1;
        } else if (number == NULL) {
            number = s + start;
            nnumber = len;
        } else {
            int64_t v;
            int64_t *field = NULL;

            if (read_int(number, nnumber, &v) != 0)
                return -1;
            if (len >= 4 && memcmp(s + start, "year", 4) == 0)
                field = &iv->years;
            else if (len >= 3 && memcmp(s + start, "mon", 3) == 0)
                field = &iv->months;
            else if (len >= 3 && memcmp(s + start, "day", 3) == 0)
                field = &iv->days;
            if (field == NULL)
                return -1;
            *field = v;
            number = NULL;
        }
    }
    return number == NULL ? 0 : -1;
}

/*
 * MicroDuration.durationMicros: months at 365.25/12 days, in doubles, in
 * that order (one operation a statement, so that none is fused), truncated.
 */
static int64_t duration_micros(const interval *iv)
{
    double secs = 0;
    double days;
    double t;

    if (iv->nsec > 0 && pgcdc__parse_double(iv->sec, iv->nsec, &secs) != 0)
        secs = 0;
    if (iv->sec_neg)
        secs = -secs;
    days = (double)(iv->years * 12 + iv->months) * (365.25 / 12.0);
    days = days + (double)iv->days;
    t = days * 24;
    t = t + (double)iv->hours;
    t = t * 60;
    t = t + (double)iv->minutes;
    t = t * 60;
    t = t + secs;
    t = t * 1e6;
    if (t != t)
        return 0;
    if (t >= 9223372036854775807.0)
        return INT64_MAX;
    if (t <= -9223372036854775808.0)
        return INT64_MIN;
    return (int64_t)t;
}

/* io.debezium.time.Interval: "PnYnMnDTnHnMnS", the seconds without needless zeros. */
static void put_iso_interval(pgcdc__buf *j, const interval *iv)
{
    const int64_t fields[5] = {iv->years, iv->months, iv->days, iv->hours, iv->minutes};
    static const char units[5] = {'Y', 'M', 'D', 'H', 'M'};
    const char *d = iv->nsec > 0 ? iv->sec : "0";
    size_t n = iv->nsec > 0 ? iv->nsec : 1;
    const char *point = memchr(d, '.', n);
    size_t ni = point != NULL ? (size_t)(point - d) : n;
    size_t nf = point != NULL ? n - ni - 1 : 0;
    int nonzero = 0;
    char *p = pgcdc__buf_reserve(j, 5 * 22 + n + 8);
    char *start = p;

    if (p == NULL)
        return;
    *p++ = '"';
    *p++ = 'P';
    for (int k = 0; k < 5; k++) {
        if (k == 3)
            *p++ = 'T';
        p = pgcdc__put_i64(p, fields[k]);
        *p++ = units[k];
    }
    while (ni > 1 && d[0] == '0') {
        d++;
        ni--;
    }
    while (nf > 0 && point[nf] == '0')
        nf--;
    for (size_t k = 0; k < ni; k++)
        nonzero |= d[k] != '0';
    for (size_t k = 1; k <= nf; k++)
        nonzero |= point[k] != '0';
    if (iv->sec_neg && nonzero)
        *p++ = '-';
    if (ni == 0)
        *p++ = '0';
    memcpy(p, d, ni);
    p += ni;
    if (nf > 0) {
        memcpy(p, point, nf + 1);
        p += nf + 1;
    }
    *p++ = 'S';
    *p++ = '"';
    j->len += (size_t)(p - start);
}

void pgcdc__dbz_interval(pgcdc__dbz *x, pgcdc__buf *j, const char *s, size_t n)
{
    interval iv;

    if (parse_interval(s, n, &iv) != 0) {
        pgcdc__json_string(j, s, n);
        return;
    }
    if (x->interval == PGCDC__DBZ_ISO)
        put_iso_interval(j, &iv);
    else
        pgcdc__json_i64(j, duration_micros(&iv));
}
