/*
 * The pure parts of snapshots: COPY text lines split into columns, the
 * state file written and read back, and an incremental chunk's key index
 * dropping the rows the stream changed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/row.h"
#include "core/snapshot.h"
#include "core/watermark.h"
#include "wire/copy.h"

static void test_copy_split(void **state)
{
    char line[] = "42\t\\N\ta\\tb\\nc\\\\d\t\t\\x41\\101z";
    pgcdc__col cols[5];
    char bad1[] = "1\t2";
    char bad2[] = "1\\";
    char out[64];
    size_t n;

    (void)state;
    assert_int_equal(pgcdc__copy_split(line, strlen(line), cols, 5), 0);
    assert_int_equal(cols[0].kind, PGCDC_COL_TEXT);
    assert_string_equal(cols[0].data, "42");
    assert_int_equal(cols[1].kind, PGCDC_COL_NULL);
    assert_int_equal(cols[2].kind, PGCDC_COL_TEXT);
    assert_int_equal(cols[2].len, 7);
    assert_string_equal(cols[2].data, "a\tb\nc\\d");
    /* An empty string is not NULL. */
    assert_int_equal(cols[3].kind, PGCDC_COL_TEXT);
    assert_int_equal(cols[3].len, 0);
    assert_string_equal(cols[4].data, "AAz");
    /* Too few or too many columns, or a lone backslash at the end. */
    assert_int_equal(pgcdc__copy_split(bad1, strlen(bad1), cols, 3), -1);
    strcpy(bad1, "1\t2");
    assert_int_equal(pgcdc__copy_split(bad1, strlen(bad1), cols, 1), -1);
    assert_int_equal(pgcdc__copy_split(bad2, strlen(bad2), cols, 1), -1);
    /* The escape is the inverse. */
    n = pgcdc__copy_escape("x\ty\\\n", 5, out);
    out[n] = '\0';
    assert_string_equal(out, "x\\ty\\\\\\n");
}

static char **keys(const char *a, const char *b)
{
    char *v[2] = {(char *)a, (char *)b};

    return pgcdc__snap_keys_dup(v, b != NULL ? 2 : 1);
}

static void test_state_round_trip(void **state)
{
    char path[] = "/tmp/pgcdc-snapstate-XXXXXX";
    pgcdc__snap_plan p;
    pgcdc__snap_plan q;
    pgcdc__snap_table t;
    int fd = mkstemp(path);
    FILE *f;

    (void)state;
    assert_true(fd >= 0);
    close(fd);
    memset(&p, 0, sizeof(p));
    p.kind = PGCDC_SNAPSHOT_INITIAL;
    p.lsn = 0x16B3748;
    p.signal_lsn = 0x2000;
    memset(&t, 0, sizeof(t));
    t.quoted = (char *)"public.\"Odd\ttable\"";
    t.where = (char *)"note <> 'a\\b'";
    t.nkey = 2;
    t.rows_done = 1234;
    assert_int_equal(pgcdc__snap_add_table(&p, &t), 0);
    memset(&t, 0, sizeof(t));
    t.quoted = (char *)"public.nokey";
    t.nkey = 0;
    t.done = 1;
    assert_int_equal(pgcdc__snap_add_table(&p, &t), 1);
    /* A table with a key read by pages: its ranges and progress are pages. */
    memset(&t, 0, sizeof(t));
    t.quoted = (char *)"public.big";
    t.nkey = 3;
    t.by_pages = 1;
    assert_int_equal(pgcdc__snap_add_table(&p, &t), 2);
    assert_int_equal(pgcdc__snap_add_seg(&p, 0, NULL, keys("5", "tab\there")), 0);
    assert_int_equal(pgcdc__snap_add_seg(&p, 0, keys("5", "tab\there"), NULL), 1);
    p.segs[1].acked = keys("9", "new\nline\\");
    assert_int_equal(pgcdc__snap_add_seg(&p, 1, keys("0", NULL), NULL), 2);
    p.segs[2].done = 1;
    assert_int_equal(pgcdc__snap_add_seg(&p, 2, keys("100", NULL), NULL), 3);
    p.segs[3].acked = keys("117", NULL);
    /* Loaded tables have no key arrays: the width stands in for them until the catalog fills. */
    p.tables[0].nkey = 2;
    assert_int_equal(pgcdc__snap_save(NULL, &p, path), PGCDC_OK);
    assert_int_equal(pgcdc__snap_load(NULL, &q, path), 1);
    assert_int_equal(q.kind, PGCDC_SNAPSHOT_INITIAL);
    assert_int_equal(q.lsn, 0x16B3748);
    assert_int_equal(q.signal_lsn, 0x2000);
    assert_int_equal(q.ntables, 3);
    assert_string_equal(q.tables[0].quoted, "public.\"Odd\ttable\"");
    assert_string_equal(q.tables[0].where, "note <> 'a\\b'");
    assert_int_equal(q.tables[0].nkey, 2);
    assert_int_equal(q.tables[0].rows_done, 1234);
    assert_null(q.tables[1].where);
    assert_int_equal(q.tables[1].nkey, 1);
    assert_int_equal(q.tables[1].done, 1);
    assert_int_equal(q.tables[0].by_pages, 0);
    assert_int_equal(q.tables[2].by_pages, 1);
    assert_int_equal(pgcdc__snap_width(&q.tables[2]), 1);
    assert_int_equal(q.nsegs, 4);
    assert_string_equal(q.segs[3].lo[0], "100");
    assert_null(q.segs[3].hi);
    assert_string_equal(q.segs[3].acked[0], "117");
    assert_null(q.segs[0].lo);
    assert_string_equal(q.segs[0].hi[1], "tab\there");
    assert_string_equal(q.segs[1].lo[0], "5");
    assert_null(q.segs[1].hi);
    assert_string_equal(q.segs[1].acked[1], "new\nline\\");
    assert_int_equal(q.segs[2].table, 1);
    assert_int_equal(q.segs[2].done, 1);
    assert_int_equal(pgcdc__snap_done(&q), 0);
    pgcdc__snap_plan_clear(&q);
    p.tables[0].nkey = 0; /* no key arrays were given: nothing of them to free */
    pgcdc__snap_keys_free(p.segs[0].hi, 2);
    p.segs[0].hi = NULL;
    pgcdc__snap_keys_free(p.segs[1].lo, 2);
    p.segs[1].lo = NULL;
    pgcdc__snap_keys_free(p.segs[1].acked, 2);
    p.segs[1].acked = NULL;
    pgcdc__snap_plan_clear(&p);

    /* Not a state file: refused with the fix; no file: nothing to resume. */
    f = fopen(path, "w");
    fputs("something else\n", f);
    fclose(f);
    assert_int_equal(pgcdc__snap_load(NULL, &q, path), PGCDC_ERR_INVALID);
    pgcdc__snap_forget(path);
    assert_int_equal(pgcdc__snap_load(NULL, &q, path), 0);
}

/* A row's key out of its COPY line, and the pages a chunk of rows takes. */
static void test_row_key(void **state)
{
    pgcdc__relation rel;
    pgcdc__snap_table t;
    int key_cols[2] = {2, 0};
    const char line[] = "7\tignored\ta\\tb\n";
    char **k;

    (void)state;
    memset(&rel, 0, sizeof(rel));
    rel.ncols = 3;
    memset(&t, 0, sizeof(t));
    t.rel = &rel;
    t.nkey = 2;
    t.key_cols = key_cols;
    k = pgcdc__snap_row_key(&t, line, strlen(line));
    assert_non_null(k);
    assert_string_equal(k[0], "a\tb");
    assert_string_equal(k[1], "7");
    pgcdc__snap_keys_free(k, 2);
    /* Not the table's columns: no key. */
    assert_null(pgcdc__snap_row_key(&t, "7\tx\n", 4));
    t.nkey = 0;
    assert_null(pgcdc__snap_row_key(&t, line, strlen(line)));

    t.rows_estimate = 10000;
    t.pages = 100;
    assert_int_equal(pgcdc__snap_chunk_pages(&t, 1000), 10);
    assert_int_equal(pgcdc__snap_chunk_pages(&t, 10), 1);
    t.pages = 0; /* unknown: 50 rows a page */
    assert_int_equal(pgcdc__snap_chunk_pages(&t, 1000), 20);
}

static void test_chunk_drop(void **state)
{
    static const int key_cols[2] = {0, 2};
    pgcdc__relcol_info rcols[3];
    pgcdc__relation rel;
    pgcdc__chunk c;
    pgcdc__col vals[3];
    pgcdc_row row;
    size_t len;

    (void)state;
    memset(rcols, 0, sizeof(rcols));
    memset(&rel, 0, sizeof(rel));
    rel.ncols = 3;
    rel.cols = rcols;
    pgcdc__chunk_init(&c, 3, 2, key_cols);
    assert_int_equal(pgcdc__chunk_add(&c, "1\tx\ta\n", 6), PGCDC_OK);
    assert_int_equal(pgcdc__chunk_add(&c, "1\ty\tb\n", 6), PGCDC_OK);
    assert_int_equal(pgcdc__chunk_add(&c, "2\tz\ta\\tb\n", 9), PGCDC_OK);
    assert_int_equal(pgcdc__chunk_add(&c, "2\tz\n", 4), PGCDC_ERR_PROTOCOL);
    assert_int_equal(c.nrows, 3); /* the malformed row is not kept */
    assert_int_equal(pgcdc__chunk_index(&c), PGCDC_OK);
    memset(&row, 0, sizeof(row));
    row.rel = &rel;
    row.cols = vals;
    /* The key (2, "a\tb"): its row goes; another key drops nothing; a row goes once. */
    vals[0] = (pgcdc__col){"2", 1, PGCDC_COL_TEXT};
    vals[1] = (pgcdc__col){NULL, 0, PGCDC_COL_NULL};
    vals[2] = (pgcdc__col){"a\tb", 3, PGCDC_COL_TEXT};
    assert_int_equal(pgcdc__chunk_drop(&c, &row), 1);
    assert_int_equal(pgcdc__chunk_drop(&c, &row), 0);
    vals[0] = (pgcdc__col){"3", 1, PGCDC_COL_TEXT};
    assert_int_equal(pgcdc__chunk_drop(&c, &row), 0);
    vals[0] = (pgcdc__col){"1", 1, PGCDC_COL_TEXT};
    vals[2] = (pgcdc__col){"b", 1, PGCDC_COL_TEXT};
    assert_int_equal(pgcdc__chunk_drop(&c, &row), 1);
    assert_int_equal(c.ndropped, 2);
    assert_false(c.dropped[0]);
    assert_true(c.dropped[1]);
    assert_true(c.dropped[2]);
    assert_memory_equal(pgcdc__chunk_row(&c, 0, &len), "1\tx\ta", 5);
    assert_int_equal(len, 5);
    /* A key column absent from the change's row: nothing is dropped on a guess. */
    vals[2] = (pgcdc__col){NULL, 0, PGCDC_COL_UNCHANGED};
    assert_int_equal(pgcdc__chunk_drop(&c, &row), 0);
    pgcdc__chunk_drop_all(&c);
    assert_true(c.dropped[0]);
    pgcdc__chunk_free(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_copy_split),
        cmocka_unit_test(test_state_round_trip),
        cmocka_unit_test(test_row_key),
        cmocka_unit_test(test_chunk_drop),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
