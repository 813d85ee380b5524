/*
 * Streaming JSON writer: escaping, UTF-8 repair and number and time output
 * into one growable buffer, reused across documents by the formatters.
 */
#include <stdlib.h>
#include <string.h>

#include "base/num.h"
#include "format/json.h"

/* U+FFFD REPLACEMENT CHARACTER in UTF-8. */
static const char replacement[3] = {'\xEF', '\xBF', '\xBD'};

void pgcdc__json_u64(pgcdc__buf *j, uint64_t v)
{
    char *p = pgcdc__buf_reserve(j, 20);

    if (p != NULL)
        j->len += (size_t)(pgcdc__put_u64(p, v) - p);
}

void pgcdc__json_i64(pgcdc__buf *j, int64_t v)
{
    char *p = pgcdc__buf_reserve(j, 20);

    if (p != NULL)
        j->len += (size_t)(pgcdc__put_i64(p, v) - p);
}

/*
 * Checks the UTF-8 sequence at s (n > 0 bytes available).  Returns 1 for a
 * well-formed character and sets *skip to its length; returns 0 otherwise
 * and sets *skip to the length of the maximal ill-formed subpart (at least
 * 1), which the caller replaces by one U+FFFD.  Overlong forms, surrogates
 * and code points past U+10FFFF are ill-formed (Unicode table 3-7).
 */
static int utf8_check(const unsigned char *s, size_t n, size_t *skip)
{
    unsigned c = s[0];
    unsigned lo = 0x80;
    unsigned hi = 0xBF;
    size_t need;

    if (c >= 0xC2 && c <= 0xDF) {
        need = 1;
    } else if (c >= 0xE0 && c <= 0xEF) {
        need = 2;
        if (c == 0xE0)
            lo = 0xA0; /* overlong */
        else if (c == 0xED)
            hi = 0x9F; /* surrogates */
    } else if (c >= 0xF0 && c <= 0xF4) {
        need = 3;
        if (c == 0xF0)
            lo = 0x90; /* overlong */
        else if (c == 0xF4)
            hi = 0x8F; /* past U+10FFFF */
    } else {
        *skip = 1;
        return 0;
    }
    for (size_t k = 1; k <= need; k++) {
        if (k >= n || s[k] < lo || s[k] > hi) {
            *skip = k;
            return 0;
        }
        lo = 0x80;
        hi = 0xBF;
    }
    *skip = need + 1;
    return 1;
}

static void escape_char(pgcdc__buf *j, unsigned char c)
{
    char esc[6] = {'\\', 'u', '0', '0'};

    pgcdc__put_hex(esc + 4, &c, 1);
    switch (c) {
    case '"':
        pgcdc__buf_put(j, "\\\"", 2);
        return;
    case '\\':
        pgcdc__buf_put(j, "\\\\", 2);
        return;
    case '\b':
        pgcdc__buf_put(j, "\\b", 2);
        return;
    case '\f':
        pgcdc__buf_put(j, "\\f", 2);
        return;
    case '\n':
        pgcdc__buf_put(j, "\\n", 2);
        return;
    case '\r':
        pgcdc__buf_put(j, "\\r", 2);
        return;
    case '\t':
        pgcdc__buf_put(j, "\\t", 2);
        return;
    }
    pgcdc__buf_put(j, esc, sizeof(esc));
}

/* Bytes that pass unchanged into a JSON string: printable ASCII but '"' and '\\'. */
static const unsigned char plain[256] = {
    ['\x20'] = 1, ['\x21'] = 1, ['\x23'] = 1, ['\x24'] = 1, ['\x25'] = 1, ['\x26'] = 1,
    ['\x27'] = 1, ['\x28'] = 1, ['\x29'] = 1, ['\x2a'] = 1, ['\x2b'] = 1, ['\x2c'] = 1,
    ['\x2d'] = 1, ['\x2e'] = 1, ['\x2f'] = 1, ['0'] = 1,    ['1'] = 1,    ['2'] = 1,
    ['3'] = 1,    ['4'] = 1,    ['5'] = 1,    ['6'] = 1,    ['7'] = 1,    ['8'] = 1,
    ['9'] = 1,    [':'] = 1,    [';'] = 1,    ['<'] = 1,    ['='] = 1,    ['>'] = 1,
    ['?'] = 1,    ['@'] = 1,    ['A'] = 1,    ['B'] = 1,    ['C'] = 1,    ['D'] = 1,
    ['E'] = 1,    ['F'] = 1,    ['G'] = 1,    ['H'] = 1,    ['I'] = 1,    ['J'] = 1,
    ['K'] = 1,    ['L'] = 1,    ['M'] = 1,    ['N'] = 1,    ['O'] = 1,    ['P'] = 1,
    ['Q'] = 1,    ['R'] = 1,    ['S'] = 1,    ['T'] = 1,    ['U'] = 1,    ['V'] = 1,
    ['W'] = 1,    ['X'] = 1,    ['Y'] = 1,    ['Z'] = 1,    ['['] = 1,    [']'] = 1,
    ['^'] = 1,    ['_'] = 1,    ['`'] = 1,    ['a'] = 1,    ['b'] = 1,    ['c'] = 1,
    ['d'] = 1,    ['e'] = 1,    ['f'] = 1,    ['g'] = 1,    ['h'] = 1,    ['i'] = 1,
    ['j'] = 1,    ['k'] = 1,    ['l'] = 1,    ['m'] = 1,    ['n'] = 1,    ['o'] = 1,
    ['p'] = 1,    ['q'] = 1,    ['r'] = 1,    ['s'] = 1,    ['t'] = 1,    ['u'] = 1,
    ['v'] = 1,    ['w'] = 1,    ['x'] = 1,    ['y'] = 1,    ['z'] = 1,    ['{'] = 1,
    ['|'] = 1,    ['}'] = 1,    ['~'] = 1,    ['\x7f'] = 1,
};

#define BYTES_1 UINT64_C(0x0101010101010101)
#define BYTES_80 UINT64_C(0x8080808080808080)

/*
 * Nonzero when one of the eight bytes of w may need care: below 0x20, 0x80
 * and above, or (string mode) '"' or '\\'.  Each test is exact as to whether
 * such a byte exists; which byte it is, the byte loop finds.
 */
static inline uint64_t word_needs_care(uint64_t w, int embed)
{
    uint64_t r = ((w - BYTES_1 * 0x20) & ~w) | w;
    uint64_t q = w ^ (BYTES_1 * '"');
    uint64_t b = w ^ (BYTES_1 * '\\');

    if (!embed)
        r |= ((q - BYTES_1) & ~q) | ((b - BYTES_1) & ~b);
    return r & BYTES_80;
}

/*
 * Copies s to the buffer, in runs of bytes that pass unchanged, repairing
 * ill-formed UTF-8.  In string mode '"', '\\' and control characters are
 * escaped; in embed mode control characters become spaces.
 */
static void copy_text(pgcdc__buf *j, const char *s, size_t n, int embed)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t start = 0;
    size_t i = 0;

    while (i < n) {
        unsigned char c;
        size_t skip;

        /* Long plain runs eight bytes at a time, then byte by byte. */
        for (uint64_t w; i + 8 <= n; i += 8) {
            memcpy(&w, u + i, 8);
            if (word_needs_care(w, embed))
                break;
        }
        while (i < n && plain[u[i]])
            i++;
        if (i == n)
            break;
        c = u[i];
        if (c >= 0x80) {
            if (utf8_check(u + i, n - i, &skip)) {
                i += skip;
                continue;
            }
            pgcdc__buf_put(j, s + start, i - start);
            pgcdc__buf_put(j, replacement, sizeof(replacement));
            i += skip;
            start = i;
            continue;
        }
        if (embed && c >= 0x20) {
            i++; /* '"' and '\\' are part of the embedded JSON */
            continue;
        }
        pgcdc__buf_put(j, s + start, i - start);
        if (embed)
            pgcdc__buf_u8(j, ' ');
        else
            escape_char(j, c);
        i++;
        start = i;
    }
    pgcdc__buf_put(j, s + start, i - start);
}

void pgcdc__json_string_body(pgcdc__buf *j, const char *s, size_t n)
{
    copy_text(j, s, n, 0);
}

void pgcdc__json_string(pgcdc__buf *j, const char *s, size_t n)
{
    pgcdc__buf_u8(j, '"');
    copy_text(j, s, n, 0);
    pgcdc__buf_u8(j, '"');
}

void pgcdc__json_cstring(pgcdc__buf *j, const char *s)
{
    if (s == NULL) {
        pgcdc__buf_put(j, "null", 4);
        return;
    }
    pgcdc__json_string(j, s, strlen(s));
}

void pgcdc__json_hex_string(pgcdc__buf *j, const void *p, size_t n)
{
    char *out;

    if (n > (SIZE_MAX - 2) / 2) {
        j->oom = 1;
        return;
    }
    out = pgcdc__buf_reserve(j, 2 * n + 2);
    if (out == NULL)
        return;
    *out++ = '"';
    out = pgcdc__put_hex(out, p, n);
    *out = '"';
    j->len += 2 * n + 2;
}

void pgcdc__json_embed(pgcdc__buf *j, const char *s, size_t n)
{
    copy_text(j, s, n, 1);
}

void pgcdc__json_utc_time(pgcdc__buf *j, int64_t unix_us)
{
    int64_t secs = unix_us / 1000000;
    int64_t frac = unix_us % 1000000;
    int64_t days;
    int64_t rem;
    int64_t year;
    unsigned month;
    unsigned day;
    char *p;
    char *at;

    if (frac < 0) {
        frac += 1000000;
        secs--;
    }
    days = secs / 86400;
    rem = secs % 86400;
    if (rem < 0) {
        rem += 86400;
        days--;
    }
    pgcdc__civil_from_days(days, &year, &month, &day);
    /* "YYYY-MM-DDTHH:MM:SS.ffffffZ", quoted; ISO 8601 expanded years beyond 9999. */
    at = pgcdc__buf_reserve(j, 64);
    if (at == NULL)
        return;
    p = at;
    *p++ = '"';
    p = pgcdc__put_date(p, year, month, day);
    *p++ = 'T';
    p = pgcdc__put_hms(p, (unsigned)rem);
    *p++ = '.';
    p = pgcdc__put_digits(p, (unsigned)frac, 6);
    *p++ = 'Z';
    *p++ = '"';
    j->len += (size_t)(p - at);
}
