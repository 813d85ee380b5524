/*
 * Golden files for the unit tests (tests/data/golden, written by
 * scripts/capture-golden): reading them, their hex message lines, and the
 * line-by-line comparison that names the first difference.  Include after
 * cmocka.h.
 */
#ifndef PGCDC_TEST_GOLDEN_H
#define PGCDC_TEST_GOLDEN_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A whole file as a NUL-terminated string; *len (may be NULL) its size. */
static inline char *golden_read_file(const char *path, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    char *data;
    long size;

    if (fp == NULL)
        fail_msg("could not open \"%s\"", path);
    assert_int_equal(fseek(fp, 0, SEEK_END), 0);
    size = ftell(fp);
    assert_true(size >= 0);
    rewind(fp);
    data = malloc((size_t)size + 1);
    assert_non_null(data);
    assert_int_equal(fread(data, 1, (size_t)size, fp), (size_t)size);
    data[size] = '\0';
    fclose(fp);
    if (len != NULL)
        *len = (size_t)size;
    return data;
}

/* $PGCDC_TEST_DATA/golden/<name>.<ext>. */
static inline void golden_path(char *path, size_t size, const char *name, const char *ext)
{
    const char *data = getenv("PGCDC_TEST_DATA");

    snprintf(path, size, "%s/golden/%s.%s", data != NULL ? data : "tests/data", name, ext);
}

static inline int golden_hexval(char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

/* One .hex line of n characters as bytes, with the decoder's spare byte after *len. */
static inline uint8_t *golden_unhex(const char *line, size_t n, size_t *len)
{
    uint8_t *bytes = malloc(n / 2 + 1);

    assert_non_null(bytes);
    assert_int_equal(n % 2, 0);
    for (size_t i = 0; i < n / 2; i++) {
        int hi = golden_hexval(line[2 * i]);
        int lo = golden_hexval(line[2 * i + 1]);

        assert_true(hi >= 0 && lo >= 0);
        bytes[i] = (uint8_t)(hi << 4 | lo);
    }
    *len = n / 2;
    return bytes;
}

/* Compares text with the expected text line by line, naming the first difference. */
static inline void golden_compare(const char *what, const char *got, const char *want)
{
    for (int lineno = 1; *got != '\0' || *want != '\0'; lineno++) {
        size_t ng = strcspn(got, "\n");
        size_t nw = strcspn(want, "\n");

        if (ng != nw || memcmp(got, want, ng) != 0)
            fail_msg("%s:%d: mismatch\nexpected: %.*s\n     got: %.*s", what, lineno, (int)nw, want,
                     (int)ng, got);
        got += ng + (got[ng] == '\n');
        want += nw + (want[nw] == '\n');
    }
}

#endif /* PGCDC_TEST_GOLDEN_H */
