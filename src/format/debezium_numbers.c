/*
 * Debezium's numbers: numeric and money as decimal.handling.mode says
 * (Kafka Connect Decimal bytes, VariableScaleDecimal, plain strings or
 * doubles), from numeric_out's and cash_out's text.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "format/debezium.h"
#include "format/json.h"
#include "wire/binval.h"
#include "wire/types.h"
#include "wire/value.h"

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static int text_eq(const char *s, size_t n, const char *lit)
{
    return strlen(lit) == n && memcmp(s, lit, n) == 0;
}

typedef struct decimal {
    int neg;
    const char *ip; /* integer digits */
    size_t ni;
    const char *fp; /* fraction digits */
    size_t nf;
} decimal;

/* numeric_out's text: [-]digits[.digits]; 0, or -1 for anything else. */
static int decimal_parse(const char *s, size_t n, decimal *d)
{
    size_t i = 0;

    d->neg = n > 0 && s[0] == '-';
    i = d->neg;
    d->ip = s + i;
    while (i < n && is_digit(s[i]))
        i++;
    d->ni = (size_t)(s + i - d->ip);
    d->fp = s + i;
    d->nf = 0;
    if (i < n && s[i] == '.') {
        d->fp = s + ++i;
        while (i < n && is_digit(s[i]))
            i++;
        d->nf = (size_t)(s + i - d->fp);
    }
    return i == n && d->ni + d->nf > 0 ? 0 : -1;
}

/*
 * The unscaled value at the given scale (digits, leading zeros dropped) in
 * x->digits; a scale of INT32_MIN strips the fraction's trailing zeros
 * instead, like BigDecimal.stripTrailingZeros (never below scale 0).
 * Returns the scale.
 */
static int32_t unscaled(pgcdc__dbz *x, const decimal *d, int32_t scale)
{
    pgcdc__buf *b = &x->digits;
    size_t keep;

    pgcdc__buf_reset(b);
    if (scale == INT32_MIN) {
        size_t nf = d->nf;

        while (nf > 0 && d->fp[nf - 1] == '0')
            nf--;
        scale = (int32_t)nf;
    }
    if (scale >= 0) {
        pgcdc__buf_put(b, d->ip, d->ni);
        pgcdc__buf_put(b, d->fp, d->nf < (size_t)scale ? d->nf : (size_t)scale);
        for (size_t k = d->nf; k < (size_t)scale; k++)
            pgcdc__buf_u8(b, '0');
    } else {
        /* A negative scale (numeric(p,-s)): its last digits are zeros. */
        keep = d->ni > (size_t) - (int64_t)scale ? d->ni - (size_t) - (int64_t)scale : 0;
        pgcdc__buf_put(b, d->ip, keep);
    }
    return scale;
}

/*
 * x->digits' value (negated with neg) as BigInteger.toByteArray writes it:
 * big-endian two's complement in the fewest bytes, in x->bytes.
 */
static int twos_complement(pgcdc__dbz *x, int neg)
{
    static const uint32_t pow10[10] = {1,      10,      100,      1000,      10000,
                                       100000, 1000000, 10000000, 100000000, 1000000000};
    const char *d = (const char *)x->digits.data;
    size_t nd = x->digits.len;
    size_t nl = 0;
    uint8_t *out;
    size_t len = 0;

    while (nd > 0 && *d == '0') {
        d++;
        nd--;
    }
    if (nd / 9 + 2 > x->cap_limbs) {
        size_t cap = nd / 9 + 2;
        uint32_t *grown = realloc(x->limbs, cap * sizeof(*grown));

        if (grown == NULL)
            return -1;
        x->limbs = grown;
        x->cap_limbs = cap;
    }
    /* Nine decimal digits at a time into 32-bit limbs, least significant first. */
    for (size_t i = 0; i < nd;) {
        size_t k = i == 0 && nd % 9 != 0 ? nd % 9 : 9;
        uint64_t carry = 0;

        for (size_t e = i + k; i < e; i++)
            carry = carry * 10 + (uint64_t)(d[i] - '0');
        for (size_t l = 0; l < nl; l++) {
            uint64_t t = (uint64_t)x->limbs[l] * pow10[k] + carry;

            x->limbs[l] = (uint32_t)t;
            carry = t >> 32;
        }
        if (carry != 0)
            x->limbs[nl++] = (uint32_t)carry;
    }
    pgcdc__buf_reset(&x->bytes);
    out = (uint8_t *)pgcdc__buf_reserve(&x->bytes, nl * 4 + 2);
    if (out == NULL)
        return -1;
    /* The magnitude from out + 1, leaving room for a sign byte in front. */
    for (size_t l = nl; l-- > 0;) {
        for (int s = 24; s >= 0; s -= 8) {
            uint8_t byte = (uint8_t)(x->limbs[l] >> s);

            if (len == 0 && byte == 0)
                continue;
            out[1 + len++] = byte;
        }
    }
    if (len == 0) {
        out[0] = 0;
        x->bytes.len = 1;
        return 0;
    }
    if (neg) {
        unsigned carry = 1;

        for (size_t i = len; i-- > 0;) {
            unsigned v = (uint8_t)~out[1 + i] + carry;

            out[1 + i] = (uint8_t)v;
            carry = v >> 8;
        }
    }
    /* A sign byte when the first one's top bit says otherwise. */
    if (((out[1] & 0x80) != 0) != (neg != 0)) {
        out[0] = neg ? 0xff : 0x00;
        memmove(out, out, len + 1);
        x->bytes.len = len + 1;
        return 0;
    }
    memmove(out, out + 1, len);
    x->bytes.len = len;
    return 0;
}

/* The double nearest the decimal text, as Jackson writes it (NaN and infinities quoted). */
static void put_double(pgcdc__buf *j, const char *s, size_t n)
{
    double v = 0;
    int r = pgcdc__parse_double(s, n, &v);
    uint64_t bits;
    uint8_t be[8];
    char text[PGCDC__FIXED_TEXT_MAX];
    int len;

    if (r == -2) {
        decimal d;
        size_t lead = 0;

        /* Out of a double's range: infinite if large, zero if tiny. */
        if (decimal_parse(s, n, &d) != 0) {
            pgcdc__json_string(j, s, n);
            return;
        }
        while (lead < d.ni && d.ip[lead] == '0')
            lead++;
        if (d.ni - lead > 300) {
            pgcdc__buf_lit(j, d.neg ? "\"-Infinity\"" : "\"Infinity\"");
            return;
        }
        v = d.neg ? -0.0 : 0.0;
    } else if (r != 0) {
        pgcdc__json_string(j, s, n);
        return;
    }
    memcpy(&bits, &v, sizeof(bits));
    for (int i = 0; i < 8; i++)
        be[i] = (uint8_t)(bits >> (56 - 8 * i));
    len = pgcdc__fixed_to_text(PGCDC_OID_FLOAT8, be, sizeof(be), text);
    if (len > 0 && is_digit(text[len - 1]))
        pgcdc__buf_put(j, text, (size_t)len);
    else if (len > 0)
        pgcdc__json_string(j, text, (size_t)len);
    else
        pgcdc__buf_lit(j, "null");
}

/* A Kafka Connect Decimal: base64 of the unscaled value's bytes. */
static void put_decimal_bytes(pgcdc__dbz *x, pgcdc__buf *j, int neg)
{
    if (twos_complement(x, neg) != 0) {
        j->oom = 1;
        return;
    }
    pgcdc__dbz_base64(j, x->bytes.data, x->bytes.len, 0);
}

void pgcdc__dbz_numeric(pgcdc__dbz *x, pgcdc__buf *j, const pgcdc__dbz_col *dc, const char *s,
                        size_t n)
{
    static const char *const special[3][3] = {
        /* NaN, Infinity, -Infinity as the server, SpecialValueDecimal and Jackson spell them */
        {"\"NaN\"", "\"Infinity\"", "\"-Infinity\""},
        {"\"NAN\"", "\"POSITIVE_INFINITY\"", "\"NEGATIVE_INFINITY\""},
        {"\"NaN\"", "\"Infinity\"", "\"-Infinity\""}};
    int sp = text_eq(s, n, "NaN")         ? 0
             : text_eq(s, n, "Infinity")  ? 1
             : text_eq(s, n, "-Infinity") ? 2
                                          : -1;
    decimal d;
    int32_t scale;

    if (sp >= 0) {
        /* Precise cannot carry them (Debezium stops there): the server's spelling. */
        pgcdc__buf_lit(j, special[x->decimal][sp]);
        return;
    }
    if (x->decimal == PGCDC__DBZ_STRING || decimal_parse(s, n, &d) != 0) {
        /* numeric_out already writes the column's scale, in plain notation. */
        pgcdc__json_string(j, s, n);
        return;
    }
    if (x->decimal == PGCDC__DBZ_DOUBLE) {
        put_double(j, s, n);
        return;
    }
    scale = unscaled(x, &d, dc->scale);
    if (dc->scale != INT32_MIN) {
        put_decimal_bytes(x, j, d.neg);
        return;
    }
    /* io.debezium.data.VariableScaleDecimal */
    pgcdc__buf_lit(j, "{\"scale\":");
    pgcdc__json_i64(j, scale);
    pgcdc__buf_lit(j, ",\"value\":");
    put_decimal_bytes(x, j, d.neg);
    pgcdc__buf_u8(j, '}');
}

/*
 * money's text ("-$1,234.56" in the C locale) read like PostgresMoney:
 * the sign, then digits and the point, currency signs and separators
 * dropped; money.fraction.digits is 2.
 */
void pgcdc__dbz_money(pgcdc__dbz *x, pgcdc__buf *j, const char *s, size_t n)
{
    pgcdc__buf *b = &x->digits;
    int neg = n > 0 && (s[0] == '-' || s[0] == '(');
    size_t point = SIZE_MAX;
    size_t start = 0;
    int nonzero = 0;
    decimal d;
    char plain[64];
    size_t len = 0;

    pgcdc__buf_reset(b);
    for (size_t i = 0; i < n; i++) {
        if (is_digit(s[i])) {
            nonzero |= s[i] != '0';
            pgcdc__buf_u8(b, (uint8_t)s[i]);
        } else if (s[i] == '.' && point == SIZE_MAX) {
            point = b->len;
        }
    }
    if (point == SIZE_MAX)
        point = b->len;
    /* [-]int[.frac], leading zeros dropped (BigDecimal.toPlainString). */
    while (start + 1 < point && b->data[start] == '0')
        start++;
    if (b->len == 0 || b->len - start + 3 > sizeof(plain)) {
        pgcdc__json_string(j, s, n);
        return;
    }
    if (neg && nonzero)
        plain[len++] = '-';
    if (point == 0)
        plain[len++] = '0';
    memcpy(plain + len, b->data + start, point - start);
    len += point - start;
    if (point < b->len) {
        plain[len++] = '.';
        memcpy(plain + len, b->data + point, b->len - point);
        len += b->len - point;
    }
    if (x->decimal == PGCDC__DBZ_STRING) {
        pgcdc__json_string(j, plain, len);
        return;
    }
    if (x->decimal == PGCDC__DBZ_DOUBLE || decimal_parse(plain, len, &d) != 0) {
        put_double(j, plain, len);
        return;
    }
    /* setScale(2, HALF_UP): round the third fraction digit away, half up. */
    unscaled(x, &d, d.nf < 2 ? 2 : (int32_t)d.nf);
    if (d.nf > 2) {
        int up = x->digits.data[x->digits.len - d.nf + 2] >= '5';

        x->digits.len -= d.nf - 2;
        for (size_t i = x->digits.len; up && i-- > 0;) {
            up = x->digits.data[i] == '9';
            x->digits.data[i] = up ? '0' : (uint8_t)(x->digits.data[i] + 1);
        }
        if (up) {
            pgcdc__buf_u8(&x->digits, '0');
            x->digits.data[0] = '1';
        }
    }
    put_decimal_bytes(x, j, d.neg && nonzero);
}
