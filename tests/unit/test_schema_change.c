/*
 * Schema changes on hand-built messages, without a server: a Relation
 * message that differs from the shape seen before hands out a
 * SCHEMA_CHANGE before the table's next change, with that change's seq;
 * across reconnects and cut transactions exactly where the changes
 * themselves are handed out; with the statement of a pgcdc.ddl message.
 */
#include "txn_harness.h"

#define T 99
#define U 100

static const char *const one[] = {"1"};
static const char *const one_two[] = {"1", "2"};
static const pgcdc__relcol cols_a[] = {{"id", PGCDC_OID_INT4, -1, 1}};
static const pgcdc__relcol cols_b[] = {{"id", PGCDC_OID_INT4, -1, 1},
                                       {"note", PGCDC_OID_TEXT, -1, 0}};
static const pgcdc__relcol cols_retyped[] = {{"id", PGCDC_OID_INT8, -1, 1}};
static const pgcdc__relcol cols_renamed[] = {{"key", PGCDC_OID_INT4, -1, 1}};

#define SCHEMA_AB " SCHEMA_CHANGE public.t old=(id:integer*) new=(id:integer*,note:text)"

static void rel_a(harness *h, uint32_t relid)
{
    pgcdc__wr_relation(&h->msg, -1, relid, "public", relid == T ? "t" : "u", 'd', 1, cols_a);
    step(h, 1, "");
}

static void rel_b(harness *h)
{
    pgcdc__wr_relation(&h->msg, -1, T, "public", "t", 'd', 2, cols_b);
    step(h, 1, "");
}

static void insert_a(harness *h, uint32_t relid, const char *want)
{
    wr_insert(&h->msg, -1, relid, "t", one, NULL);
    step(h, 1, want);
}

static void insert_b(harness *h, const char *want)
{
    wr_insert(&h->msg, -1, T, "tt", one_two, NULL);
    step(h, 1, want);
}

static void begin(harness *h, uint64_t lsn, uint32_t xid, const char *want)
{
    pgcdc__wr_begin(&h->msg, lsn, 0, xid);
    step(h, 1, want);
}

static void commit(harness *h, uint64_t lsn, const char *want)
{
    pgcdc__wr_commit(&h->msg, 0, lsn, lsn + 0x30, 0);
    step(h, 1, want);
}

static void ddl(harness *h, const char *content)
{
    pgcdc__wr_message(&h->msg, -1, 1, 0x1f0, PGCDC__DDL_PREFIX, content, (uint32_t)strlen(content));
    assert_int_equal(h_drain(h), 0);
    h_feed_buf(h, &h->msg, 1);
    assert_int_equal(h_drain(h), 0);
}

static void open_schema(harness *h, int on)
{
    h_schema_changes = on;
    h_open(h, 0, 0, NULL);
    h_schema_changes = 0;
}

/* A column added, the same shape sent again, a retype and a rename; off: none of it. */
static void test_shapes(void **state)
{
    (void)state;
    for (int on = 0; on <= 1; on++) {
        harness h;

        open_schema(&h, on);
        begin(&h, 0x100, 5, "B xid=5 lsn=0/100 end=0/0" TS0 "\n");
        rel_a(&h, T);
        insert_a(&h, T, "X seq=0 at=0/0 INSERT public.t new=[id:'1']\n");
        /* The same shape again (an invalidation that changed nothing): no event. */
        rel_a(&h, T);
        insert_a(&h, T, "X seq=1 at=0/0 INSERT public.t new=[id:'1']\n");
        rel_b(&h);
        insert_b(&h, on ? "X seq=2 at=0/0" SCHEMA_AB "\n"
                          "X seq=2 at=0/0 INSERT public.t new=[id:'1',note:'2']\n"
                        : "X seq=2 at=0/0 INSERT public.t new=[id:'1',note:'2']\n");
        commit(&h, 0x100, "C xid=5 lsn=0/100 end=0/130" TS0 " changes=3\n");
        begin(&h, 0x200, 6, "B xid=6 lsn=0/200 end=0/0" TS0 "\n");
        pgcdc__wr_relation(&h.msg, -1, T, "public", "t", 'd', 1, cols_retyped);
        step(&h, 1, "");
        insert_a(&h, T,
                 on ? "X seq=0 at=0/0 SCHEMA_CHANGE public.t old=(id:integer*,note:text) "
                      "new=(id:bigint*)\n"
                      "X seq=0 at=0/0 INSERT public.t new=[id:'1']\n"
                    : "X seq=0 at=0/0 INSERT public.t new=[id:'1']\n");
        pgcdc__wr_relation(&h.msg, -1, T, "public", "t", 'd', 1, cols_renamed);
        step(&h, 1, "");
        insert_a(&h, T,
                 on ? "X seq=1 at=0/0 SCHEMA_CHANGE public.t old=(id:bigint*) "
                      "new=(key:integer*)\n"
                      "X seq=1 at=0/0 INSERT public.t new=[key:'1']\n"
                    : "X seq=1 at=0/0 INSERT public.t new=[key:'1']\n");
        /* Replica identity FULL: the shape a consumer reads changed too. */
        pgcdc__wr_relation(&h.msg, -1, T, "public", "t", 'f', 1, cols_renamed);
        step(&h, 1, "");
        insert_a(&h, T,
                 on ? "X seq=2 at=0/0 SCHEMA_CHANGE public.t old=(key:integer*) "
                      "new=(key:integer*)\n"
                      "X seq=2 at=0/0 INSERT public.t new=[key:'1']\n"
                    : "X seq=2 at=0/0 INSERT public.t new=[key:'1']\n");
        commit(&h, 0x200, "C xid=6 lsn=0/200 end=0/230" TS0 " changes=3\n");
        h_close(&h);
    }
}

/*
 * A transaction (A, ALTER, B) cut after each point: sent again, the
 * schema change comes again exactly when the change after it does.
 */
static void test_cut(void **state)
{
    static const char *const after[] = {/* cut after BEGIN: everything again */
                                        "X seq=0 at=0/0 INSERT public.t new=[id:'1']\n"
                                        "X seq=1 at=0/0" SCHEMA_AB "\n"
                                        "X seq=1 at=0/0 INSERT public.t new=[id:'1',note:'2']\n",
                                        /* after A */
                                        "X seq=1 at=0/0" SCHEMA_AB "\n"
                                        "X seq=1 at=0/0 INSERT public.t new=[id:'1',note:'2']\n",
                                        /* after the schema change, before B: both again */
                                        "X seq=1 at=0/0" SCHEMA_AB "\n"
                                        "X seq=1 at=0/0 INSERT public.t new=[id:'1',note:'2']\n",
                                        /* after B */
                                        ""};

    (void)state;
    for (int cut = 0; cut < 4; cut++) {
        harness h;
        pgcdc__event ev;

        open_schema(&h, 1);
        rel_a(&h, T);
        begin(&h, 0x100, 7, "B xid=7 lsn=0/100 end=0/0" TS0 "\n");
        if (cut >= 1)
            insert_a(&h, T, "X seq=0 at=0/0 INSERT public.t new=[id:'1']\n");
        if (cut >= 2) {
            rel_b(&h);
            wr_insert(&h.msg, -1, T, "tt", one_two, NULL);
            h_feed_buf(&h, &h.msg, 1);
            assert_int_equal(h_next(&h, &ev), 1);
            assert_int_equal(pgcdc_change_op(ev.change), PGCDC_OP_SCHEMA);
            if (cut == 3)
                assert_int_equal(h_drain(&h), 0);
        }
        assert_int_equal(pgcdc__assembly_cut(h.ta), 1);
        /* The new stream: every relation again, as the server had it at each point. */
        pgcdc__buf_reset(&h.dump);
        begin(&h, 0x100, 7, "B xid=7 lsn=0/100 end=0/0" TS0 " resumed\n");
        rel_a(&h, T);
        wr_insert(&h.msg, -1, T, "t", one, NULL);
        h_feed_buf(&h, &h.msg, 1);
        assert_int_equal(h_drain(&h), 0);
        rel_b(&h);
        wr_insert(&h.msg, -1, T, "tt", one_two, NULL);
        h_feed_buf(&h, &h.msg, 1);
        assert_int_equal(h_drain(&h), 0);
        pgcdc__wr_commit(&h.msg, 0, 0x100, 0x130, 0);
        h_feed_buf(&h, &h.msg, 1);
        assert_int_equal(h_drain(&h), 0);
        {
            char want[1024];

            snprintf(want, sizeof(want),
                     "B xid=7 lsn=0/100 end=0/0" TS0 " resumed\n%sC xid=7 lsn=0/100 end=0/130" TS0
                     " changes=2\n",
                     after[cut]);
            golden_compare("events", text_of(&h.dump), want);
        }
        h_close(&h);
    }
}

/*
 * Reconnects between transactions: the shape the new stream sends is
 * compared with the one seen before (a DDL while disconnected is a schema
 * change; the same shape is none), and a transaction sent again is not.
 */
static void test_reconnect(void **state)
{
    harness h;

    (void)state;
    open_schema(&h, 1);
    begin(&h, 0x100, 5, "B xid=5 lsn=0/100 end=0/0" TS0 "\n");
    rel_a(&h, T);
    rel_a(&h, U);
    insert_a(&h, T, "X seq=0 at=0/0 INSERT public.t new=[id:'1']\n");
    insert_a(&h, U, "X seq=1 at=0/0 INSERT public.u new=[id:'1']\n");
    commit(&h, 0x100, "C xid=5 lsn=0/100 end=0/130" TS0 " changes=2\n");
    assert_int_equal(pgcdc__assembly_cut(h.ta), 0);
    /* The relations are not known on the new stream until sent again. */
    begin(&h, 0x200, 6, "B xid=6 lsn=0/200 end=0/0" TS0 "\n");
    insert_a(&h, U, "!change for unknown relation 100");
    assert_int_equal(pgcdc__assembly_cut(h.ta), 1);
    /* Sent again: the first transaction is skipped; t changed shape after it. */
    begin(&h, 0x100, 5, "");
    rel_a(&h, T);
    insert_a(&h, T, "");
    commit(&h, 0x100, "");
    begin(&h, 0x200, 6, "B xid=6 lsn=0/200 end=0/0" TS0 " resumed\n");
    rel_a(&h, U);
    insert_a(&h, U, "X seq=0 at=0/0 INSERT public.u new=[id:'1']\n");
    rel_b(&h);
    insert_b(&h, "X seq=1 at=0/0" SCHEMA_AB "\n"
                 "X seq=1 at=0/0 INSERT public.t new=[id:'1',note:'2']\n");
    commit(&h, 0x200, "C xid=6 lsn=0/200 end=0/230" TS0 " changes=2\n");
    h_close(&h);
}

/* A TRUNCATE of two tables, one of them with a new shape: its schema change comes before it. */
static void test_truncate(void **state)
{
    static const uint32_t relids[] = {U, T};
    harness h;

    (void)state;
    open_schema(&h, 1);
    rel_a(&h, T);
    rel_a(&h, U);
    begin(&h, 0x100, 5, "B xid=5 lsn=0/100 end=0/0" TS0 "\n");
    rel_b(&h);
    pgcdc__wr_truncate(&h.msg, -1, 0, 2, relids);
    step(&h, 1,
         "X seq=0 at=0/0 TRUNCATE public.u flags=none\n"
         "X seq=1 at=0/0" SCHEMA_AB "\n"
         "X seq=1 at=0/0 TRUNCATE public.t flags=none\n");
    commit(&h, 0x100, "C xid=5 lsn=0/100 end=0/130" TS0 " changes=2\n");
    h_close(&h);
}

/* A table not listed hands out no schema change, and keeps none for later. */
static void test_not_listed(void **state)
{
    char schema[] = "public";
    char name[] = "u";
    pgcdc__table_info listed[] = {{.oid = U, .schema = schema, .name = name}};
    pgcdc__tableset ts = {.tables = listed, .ntables = 1};
    harness h;

    (void)state;
    h_schema_changes = 1;
    h_open(&h, 0, 0, &ts);
    h_schema_changes = 0;
    rel_a(&h, T);
    begin(&h, 0x100, 5, "B xid=5 lsn=0/100 end=0/0" TS0 "\n");
    rel_b(&h);
    insert_b(&h, "");
    commit(&h, 0x100, "C xid=5 lsn=0/100 end=0/130" TS0 " changes=0\n");
    h_close(&h);
}

/*
 * Captured DDL: the statement comes with the table's next schema change,
 * also when the shape did not change (a constraint) or the table is new;
 * a statement sent twice (one query, two commands) once; one of a
 * transaction sent again not at all.
 */
static void test_ddl(void **state)
{
    harness h;

    (void)state;
    open_schema(&h, 1);
    rel_a(&h, T);
    begin(&h, 0x100, 5, "B xid=5 lsn=0/100 end=0/0" TS0 "\n");
    ddl(&h, "99\nALTER TABLE t ADD CHECK (id > 0); ALTER TABLE t ADD note text");
    ddl(&h, "99\nALTER TABLE t ADD CHECK (id > 0); ALTER TABLE t ADD note text");
    ddl(&h, "99 100\nCREATE TABLE u (id int); ALTER TABLE t RENAME TO t");
    commit(&h, 0x100, "C xid=5 lsn=0/100 end=0/130" TS0 " changes=0\n");
    begin(&h, 0x200, 6, "B xid=6 lsn=0/200 end=0/0" TS0 "\n");
    rel_b(&h);
    insert_b(&h, "X seq=0 at=0/0" SCHEMA_AB
                 " ddl='ALTER TABLE t ADD CHECK (id > 0); ALTER TABLE t ADD note text\n"
                 "CREATE TABLE u (id int); ALTER TABLE t RENAME TO t'\n"
                 "X seq=0 at=0/0 INSERT public.t new=[id:'1',note:'2']\n");
    rel_a(&h, U);
    insert_a(&h, U,
             "X seq=1 at=0/0 SCHEMA_CHANGE public.u old=() new=(id:integer*) "
             "ddl='CREATE TABLE u (id int); ALTER TABLE t RENAME TO t'\n"
             "X seq=1 at=0/0 INSERT public.u new=[id:'1']\n");
    /* The same shape, with a statement: handed out all the same. */
    ddl(&h, "100\nALTER TABLE u ADD PRIMARY KEY (id)");
    rel_a(&h, U);
    insert_a(&h, U,
             "X seq=2 at=0/0 SCHEMA_CHANGE public.u old=(id:integer*) new=(id:integer*) "
             "ddl='ALTER TABLE u ADD PRIMARY KEY (id)'\n"
             "X seq=2 at=0/0 INSERT public.u new=[id:'1']\n");
    commit(&h, 0x200, "C xid=6 lsn=0/200 end=0/230" TS0 " changes=3\n");
    /* Sent again after a reconnect: the first transaction's statement is not kept twice. */
    assert_int_equal(pgcdc__assembly_cut(h.ta), 0);
    begin(&h, 0x100, 5, "");
    ddl(&h, "99\nALTER TABLE t ADD note text");
    commit(&h, 0x100, "");
    begin(&h, 0x300, 7, "B xid=7 lsn=0/300 end=0/0" TS0 "\n");
    rel_b(&h);
    insert_b(&h, "X seq=0 at=0/0 INSERT public.t new=[id:'1',note:'2']\n");
    commit(&h, 0x300, "C xid=7 lsn=0/300 end=0/330" TS0 " changes=1\n");
    h_close(&h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shapes),     cmocka_unit_test(test_cut),
        cmocka_unit_test(test_reconnect),  cmocka_unit_test(test_truncate),
        cmocka_unit_test(test_not_listed), cmocka_unit_test(test_ddl),
    };

    return cmocka_run_group_tests(tests, txn_group_setup, txn_group_teardown);
}
