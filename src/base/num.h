/*
 * Numbers, dates and bytes as text, and big-endian reads: the one decimal
 * writer, the one date writer and the one hex writer of the library.  Pure
 * functions that write at a pointer with room enough and return the end.
 */
#ifndef PGCDC_BASE_NUM_H
#define PGCDC_BASE_NUM_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* Big-endian reads, as the protocol sends integers; a load and a byte swap each. */
static inline uint16_t pgcdc__be16(const void *p)
{
    const uint8_t *b = (const uint8_t *)p;

    return (uint16_t)((unsigned)b[0] << 8 | b[1]);
}

static inline uint32_t pgcdc__be32(const void *p)
{
    const uint8_t *b = (const uint8_t *)p;

    return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

static inline uint64_t pgcdc__be64(const void *p)
{
    return (uint64_t)pgcdc__be32(p) << 32 | pgcdc__be32((const uint8_t *)p + 4);
}

/* 10^k for k <= 19. */
extern const uint64_t pgcdc__pow10_u64[20];

/* u, and v, in decimal at p (room for 20 characters; no NUL): the end. */
char *pgcdc__put_u64(char *p, uint64_t u);
char *pgcdc__put_i64(char *p, int64_t v);
/* "00" to "99": the two digits of n at pgcdc__digit_pairs + 2n. */
extern const char pgcdc__digit_pairs[201];

/* v as exactly two digits (v < 100): the end. */
static inline char *pgcdc__put2(char *p, unsigned v)
{
    memcpy(p, pgcdc__digit_pairs + 2 * v, 2);
    return p + 2;
}

/* v as exactly width digits, zero-padded (v < 10^width): the end. */
char *pgcdc__put_digits(char *p, unsigned v, int width);
/* The lowercase hex digits of n bytes (2n characters): the end. */
char *pgcdc__put_hex(char *p, const void *bytes, size_t n);

/* Days from 1970-01-01 to the given proleptic Gregorian date (year may be <= 0). */
int64_t pgcdc__days_from_civil(int64_t y, unsigned m, unsigned d);
/* The inverse: year, month and day of a count of days from 1970-01-01. */
void pgcdc__civil_from_days(int64_t days, int64_t *y, unsigned *m, unsigned *d);
/*
 * "YYYY-MM-DD": four digits for years 0 to 9999, the year as it is
 * otherwise ("10000-01-01", "-1-01-01").  Room for 28 characters: the end.
 */
char *pgcdc__put_date(char *p, int64_t y, unsigned m, unsigned d);
/* "HH:MM:SS" for a second of the day (0 to 86399): the end. */
char *pgcdc__put_hms(char *p, unsigned secs);

/*
 * Durations and sizes as people write them: "250ms", "10s", "5m", "1h", "2d"
 * (a bare number is in milliseconds) and "512", "64kB", "16MB", "1GB" (a
 * bare number is in bytes; 1 kB is 1024 bytes).  0, or -1 for anything else.
 */
int pgcdc__parse_duration_ms(const char *text, long long *ms);
int pgcdc__parse_size(const char *text, long long *bytes);
/* A yes or no as people write it: true/false, on/off, yes/no, 1/0, any case.  0, or -1. */
int pgcdc__parse_flag(const char *text, int *on);

#endif /* PGCDC_BASE_NUM_H */
