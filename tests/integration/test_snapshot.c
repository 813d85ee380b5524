/*
 * Snapshots against a real server, under writers that insert, update,
 * delete (rows not read yet too) and change keys: the READ rows and the
 * stream's changes, replayed into a map keyed by the primary key, equal
 * the table's final contents row for row.  For an initial snapshot (two
 * readers) and for an incremental one killed with SIGKILL midway and
 * resumed from its state file.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "testlib.h"

#define ROWS 30000
#define MAXID 400000

/* ---- what the worker hands out, as lines "op id old_id v", durable at commit ---- */

static long long col(const pgcdc_row *row, const char *name)
{
    int64_t v = -1;

    if (row != NULL)
        pgcdc_row_int64(row, name, &v);
    return (long long)v;
}

/* READ rows marked as the snapshot's last. */
static atomic_int lasts;

static int append_change(pgcdc_worker *w, const pgcdc_change *c, void *opaque)
{
    FILE *f = opaque;
    const pgcdc_row *n = pgcdc_change_new(c);
    const pgcdc_row *o = pgcdc_change_old(c);

    (void)w;
    if (pgcdc_change_snapshot_last(c))
        atomic_fetch_add(&lasts, 1);
    fprintf(f, "%c %lld %lld %lld %llx\n", (char)pgcdc_change_op(c), col(n, "id"), col(o, "id"),
            col(n, "v"), (unsigned long long)pgcdc_change_commit_lsn(c));
    return PGCDC_HANDLED;
}

/* A child's commits take this long (ms): its snapshot lasts long enough to keep progress. */
static int commit_delay_ms;

static int sync_commit(pgcdc_worker *w, const pgcdc_txn *txn, void *opaque)
{
    FILE *f = opaque;

    (void)w;
    (void)txn;
    if (commit_delay_ms > 0)
        tl_sleep_ms(commit_delay_ms);
    return fflush(f) == 0 && fsync(fileno(f)) == 0 ? PGCDC_HANDLED : -1;
}

/* Replays the file into a map and compares it with the table, row for row. */
static void check_replay(const char *db, const char *path, long *reads)
{
    long long *val = malloc(sizeof(*val) * MAXID);
    char *present = calloc(MAXID, 1);
    FILE *f = fopen(path, "r");
    char op;
    long long id, old, v;
    long n = 0;
    char *count;
    char *sum;
    long long mine = 0;
    long long my_sum = 0;

    assert_non_null(f);
    *reads = 0;
    while (fscanf(f, " %c %lld %lld %lld %*x", &op, &id, &old, &v) == 4) {
        if (op == 'R')
            (*reads)++;
        if (op == 'D') {
            assert_true(old > 0 && old < MAXID);
            present[old] = 0;
            continue;
        }
        assert_true(id > 0 && id < MAXID);
        if (op == 'U' && old > 0 && old != id)
            present[old] = 0; /* a key change */
        present[id] = 1;
        val[id] = v;
        n++;
    }
    fclose(f);
    for (long i = 0; i < MAXID; i++) {
        if (present[i]) {
            mine++;
            my_sum += (i * 7 + val[i]) % 1000003;
        }
    }
    count = tl_sql_value(db, "SELECT count(*) FROM s");
    sum = tl_sql_value(db, "SELECT coalesce(sum((id::bigint * 7 + v) %% 1000003), 0) FROM s");
    assert_int_equal(mine, atoll(count));
    assert_int_equal(my_sum, atoll(sum));
    /* Row for row: every id of the table is in the map with its value. */
    for (long i = 1; i < MAXID; i += 997) {
        char *got = tl_sql_value(db, "SELECT coalesce((SELECT v FROM s WHERE id = %ld), -1)", i);

        assert_int_equal(present[i] ? val[i] : -1, atoll(got));
        free(got);
    }
    free(count);
    free(sum);
    free(val);
    free(present);
}

/* The rows of acknowledged chunks, as the snapshot state file keeps them (field 5 of "table"). */
static long state_rows_done(const char *state)
{
    FILE *f = fopen(state, "r");
    char line[512];
    long done = -1;

    assert_non_null(f);
    while (fgets(line, sizeof(line), f) != NULL)
        if (strncmp(line, "table\t", 6) == 0)
            assert_int_equal(sscanf(line, "table\t%*s\t%*s\t%*s\t%ld", &done), 1);
    fclose(f);
    return done;
}

/*
 * READ rows, after the first skip lines, of ids below below that the writers never
 * update (id % 97 >= 60): rows of pages read before a kill, read again.
 */
static long reads_again(const char *path, long skip, long below)
{
    FILE *f = fopen(path, "r");
    char op;
    long long id, old, v;
    long line = 0;
    long n = 0;

    assert_non_null(f);
    while (fscanf(f, " %c %lld %lld %lld %*x", &op, &id, &old, &v) == 4)
        if (line++ >= skip && op == 'R' && id < below && id % 97 >= 60)
            n++;
    fclose(f);
    return n;
}

/* ---- writers ---- */

typedef struct writer {
    const char *db;
    int rounds;
    pthread_t thread;
} writer;

static void *write_load(void *arg)
{
    writer *wr = arg;

    /* Each round: updates all over, deletes of high keys (not read yet), inserts, key changes. */
    for (int r = 0; r < wr->rounds; r++) {
        tl_sql(wr->db, "UPDATE s SET v = v + 1 WHERE id %% 97 = %d", r % 97);
        tl_sql(wr->db, "DELETE FROM s WHERE id BETWEEN %d AND %d", ROWS - 100 * (r + 1),
               ROWS - 100 * (r + 1) + 20);
        tl_sql(wr->db, "INSERT INTO s SELECT %d + g, g FROM generate_series(1, 50) g",
               100000 + r * 100);
        tl_sql(wr->db, "UPDATE s SET id = id + 200000 WHERE id BETWEEN %d AND %d", 1000 + r * 300,
               1000 + r * 300 + 4);
        tl_sleep_ms(5);
    }
    return NULL;
}

static void load_table(const char *db)
{
    tl_sql(db, "CREATE TABLE s (id int PRIMARY KEY, v int NOT NULL)");
    tl_sql(db, "INSERT INTO s SELECT g, g %% 1000 FROM generate_series(1, %d) g", ROWS);
    tl_sql(db, "ANALYZE s");
}

/* parallel: reader connections of an initial snapshot ("1": a whole-table sequential scan). */
static pgcdc_config *snap_config(const char *db, const char *state, FILE *f, const char *mode,
                                 const char *parallel)
{
    /* Slots are the server's: one per database, named after it. */
    const char *name = strchr(db, '=') + 1; /* "dbname=t_snap_..." */
    char slot[64];
    pgcdc_config *cfg;
    char err[256];

    snprintf(slot, sizeof(slot), "s%s", name + 1); /* t_snap_x -> s_snap_x */
    cfg = tl_config(db, slot, "p_snap", "s");
    assert_int_equal(pgcdc_config_set(cfg, "snapshot", mode, err, sizeof(err)), PGCDC_OK);
    assert_int_equal(pgcdc_config_set(cfg, "snapshot.state_file", state, err, sizeof(err)),
                     PGCDC_OK);
    assert_int_equal(pgcdc_config_set(cfg, "snapshot.chunk_rows", "1000", err, sizeof(err)),
                     PGCDC_OK);
    assert_int_equal(pgcdc_config_set(cfg, "snapshot.parallel", parallel, err, sizeof(err)),
                     PGCDC_OK);
    pgcdc_config_set_change_cb(cfg, append_change, f);
    pgcdc_config_set_commit_cb(cfg, sync_commit, f);
    return cfg;
}

/* Runs until the snapshot is over and everything up to now is confirmed, then stops. */
static void run_to_the_end(tl_runner *r, const char *db, const char *state)
{
    uint64_t end = 0;

    for (int i = 0; i < 6000; i++) {
        if (end == 0 && access(state, F_OK) != 0)
            end = tl_current_lsn(db);
        if (end != 0 && pgcdc_worker_confirmed_lsn(r->w) >= end)
            break;
        tl_sleep_ms(10);
    }
    assert_true(end != 0);
    assert_true(pgcdc_worker_confirmed_lsn(r->w) >= end);
    pgcdc_worker_stop(r->w);
    assert_int_equal(tl_runner_join(r), PGCDC_OK);
    pgcdc_worker_free(r->w);
}

static void temp_paths(char *out, char *state)
{
    int fd = mkstemp(out);

    assert_true(fd >= 0);
    close(fd);
    snprintf(state, 64, "%s.snapshot", out);
}

static void test_initial_under_writers(void **unused)
{
    const char *db = tl_fresh_db("t_snap_init");
    char out[] = "/tmp/pgcdc-snap-XXXXXX";
    char state[64];
    writer wr = {db, 40, 0};
    pgcdc_config *cfg;
    tl_runner r;
    FILE *f;
    long reads;

    (void)unused;
    temp_paths(out, state);
    load_table(db);
    f = fopen(out, "a");
    assert_int_equal(pthread_create(&wr.thread, NULL, write_load, &wr), 0);
    atomic_store(&lasts, 0);
    cfg = snap_config(db, state, f, "initial", "2");
    tl_runner_start(&r, cfg);
    pgcdc_config_free(cfg);
    pthread_join(wr.thread, NULL);
    run_to_the_end(&r, db, state);
    fclose(f);
    check_replay(db, out, &reads);
    /* One READ, the snapshot's last, says so (a scan's last chunk is never empty). */
    assert_int_equal(atomic_load(&lasts), 1);
    /* The exported snapshot: every row of the table as it was when the slot was made. */
    assert_true(reads >= ROWS - 40 * 21 && reads <= ROWS + 40 * 50);
    unlink(out);
}

static void child_run(const char *db, const char *out, const char *state, const char *mode,
                      const char *parallel)
{
    FILE *f = fopen(out, "a");
    pgcdc_worker *w = pgcdc_worker_new(snap_config(db, state, f, mode, parallel));

    if (pgcdc_worker_start(w) == PGCDC_OK)
        pgcdc_worker_run(w);
    _exit(1);
}

/*
 * Before PostgreSQL 14 pgoutput sends no logical messages, so no watermarks:
 * an incremental snapshot (and the resumption of an initial one, which is
 * incremental) is refused at the start, saying what it needs.  1 when so.
 */
static int incremental_refused(const char *db)
{
    char msg[512];
    char err[128];
    pgcdc_config *cfg;

    if (tl_server_version(db) >= 140000)
        return 0;
    tl_sql(db, "CREATE TABLE IF NOT EXISTS old13 (id int PRIMARY KEY)");
    cfg = tl_config(db, "s_snap_old13", "p_snap_old13", "old13");
    assert_int_equal(pgcdc_config_set(cfg, "snapshot", "incremental", err, sizeof(err)), PGCDC_OK);
    assert_int_equal(pgcdc_config_set(cfg, "snapshot.state_file", "/tmp/pgcdc-snap-old13.state",
                                      err, sizeof(err)),
                     PGCDC_OK);
    assert_int_equal(tl_start_only(cfg, msg, sizeof(msg)), PGCDC_ERR_INVALID);
    assert_non_null(strstr(msg, "incremental snapshots need PostgreSQL 14 or later"));
    pgcdc_config_free(cfg);
    unlink("/tmp/pgcdc-snap-old13.state");
    return 1;
}

static void test_incremental_killed_and_resumed(void **unused)
{
    const char *db = tl_fresh_db("t_snap_inc");
    char out[] = "/tmp/pgcdc-snap-XXXXXX";
    char state[64];
    writer wr = {db, 60, 0};
    char msg[512];
    pgcdc_config *cfg;
    tl_runner r;
    pid_t pid;
    FILE *f;
    long reads;
    int had_state;

    (void)unused;
    if (incremental_refused(db))
        return;
    temp_paths(out, state);
    load_table(db);
    /* The slot first, so that the snapshot is an incremental one while streaming. */
    cfg = tl_config(db, "s_snap_inc", "p_snap", "s"); /* as snap_config names it */
    assert_int_equal(tl_start_only(cfg, msg, sizeof(msg)), PGCDC_OK);
    pgcdc_config_free(cfg);
    assert_int_equal(pthread_create(&wr.thread, NULL, write_load, &wr), 0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        child_run(db, out, state, "incremental", "2");
    /* Killed midway: some chunks acknowledged, the rest not (bounds for valgrind's pace). */
    for (int i = 0; i < 12000 && tl_count_lines(out) < ROWS / 3; i++)
        tl_sleep_ms(10);
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    tl_trim_torn(out);
    had_state = access(state, F_OK) == 0;
    f = fopen(out, "a");
    cfg = snap_config(db, state, f, "incremental", "2");
    tl_runner_start(&r, cfg);
    pgcdc_config_free(cfg);
    pthread_join(wr.thread, NULL);
    assert_true(had_state);
    run_to_the_end(&r, db, state);
    fclose(f);
    check_replay(db, out, &reads);
    /* Resumed after its last acknowledged chunk, not from the start. */
    assert_true(reads < 2 * ROWS - 1000);
    unlink(out);
}

/*
 * An initial snapshot killed midway: the next start (the slot exists now) goes on after
 * its last acknowledged chunks, as an incremental snapshot from the consistent point.
 */
static void test_initial_killed_and_resumed(void **unused)
{
    const char *db = tl_fresh_db("t_snap_init2");
    char out[] = "/tmp/pgcdc-snap-XXXXXX";
    char state[64];
    writer wr = {db, 60, 0};
    pgcdc_config *cfg;
    tl_runner r;
    pid_t pid;
    FILE *f;
    long reads;
    long before;
    long kept;

    (void)unused;
    if (incremental_refused(db))
        return;
    temp_paths(out, state);
    load_table(db);
    commit_delay_ms = 100; /* the child's: 3 s for the table, and progress is kept each second */
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        child_run(db, out, state, "initial", "1");
    commit_delay_ms = 0;
    /* Killed once some progress is kept, before the end. */
    for (int i = 0; i < 12000 && tl_count_lines(out) < ROWS * 9 / 10; i++) {
        if (tl_count_lines(out) >= ROWS / 3 && state_rows_done(state) > 0)
            break;
        tl_sleep_ms(10);
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    tl_trim_torn(out);
    /* Killed before its end: progress kept, and the slot stays at its consistent point. */
    assert_true(access(state, F_OK) == 0);
    before = tl_count_lines(out);
    assert_true(before < ROWS);
    kept = state_rows_done(state);
    assert_true(kept > 0);
    assert_int_equal(pthread_create(&wr.thread, NULL, write_load, &wr), 0);
    f = fopen(out, "a");
    cfg = snap_config(db, state, f, "initial", "1");
    tl_runner_start(&r, cfg);
    pgcdc_config_free(cfg);
    pthread_join(wr.thread, NULL);
    run_to_the_end(&r, db, state);
    fclose(f);
    check_replay(db, out, &reads);
    /*
     * On from the page of its last acknowledged chunk's last row: the kept rows (ids 1 to
     * kept, in page order) are not read again, but for that page's (a page holds fewer than
     * 300 rows of this table) and rows the writers moved.
     */
    assert_int_equal(reads_again(out, before, kept - 300), 0);
    assert_true(reads - before <= ROWS - kept + 300 + 60 * 400);
    unlink(out);
}

/* ---- the window: rows changed while their chunk is read are dropped from it ---- */

typedef struct hammer {
    const char *db;
    atomic_int stop;
    pthread_t thread;
} hammer;

/* Single-row updates all over the table, as fast as they go. */
static void *hammer_rows(void *arg)
{
    hammer *h = arg;

    while (!atomic_load(&h->stop))
        tl_sql(h->db, "DO $$ BEGIN FOR i IN 1..20 LOOP UPDATE s SET v = v + 1 "
                      "WHERE id = 1 + (random() * 2999)::int; COMMIT; END LOOP; END $$");
    return NULL;
}

static void test_window_drops_changed_rows(void **unused)
{
    const char *db = tl_fresh_db("t_snap_win");
    char out[] = "/tmp/pgcdc-snap-XXXXXX";
    char state[64];
    char msg[512];
    pgcdc_config *cfg;
    hammer h;
    tl_runner r;
    FILE *f;
    long reads;

    (void)unused;
    if (incremental_refused(db))
        return;
    temp_paths(out, state);
    tl_sql(db, "CREATE TABLE s (id int PRIMARY KEY, v int NOT NULL)");
    tl_sql(db, "INSERT INTO s SELECT g, 0 FROM generate_series(1, 3000) g");
    cfg = tl_config(db, "s_snap_win", "p_snap", "s");
    assert_int_equal(tl_start_only(cfg, msg, sizeof(msg)), PGCDC_OK);
    pgcdc_config_free(cfg);
    f = fopen(out, "a");
    cfg = snap_config(db, state, f, "never", "2");
    tl_runner_start(&r, cfg);
    pgcdc_config_free(cfg);
    memset(&h, 0, sizeof(h));
    h.db = db;
    assert_int_equal(pthread_create(&h.thread, NULL, hammer_rows, &h), 0);
    tl_sleep_ms(300);
    /*
     * Asked for by a signal, with a condition that makes each chunk's read last about
     * 0.3 s: many updates commit between its watermarks, after its snapshot was taken.
     * The rows they change must be dropped from the chunk, or the stale row read would
     * come after the update and win.
     */
    assert_int_equal(pgcdc_worker_request_snapshot(r.w, "public.s", "pg_sleep(0.0003) IS NOT NULL"),
                     PGCDC_OK);
    for (int i = 0; i < 3000 && access(state, F_OK) != 0; i++)
        tl_sleep_ms(2);
    run_to_the_end(&r, db, state);
    atomic_store(&h.stop, 1);
    pthread_join(h.thread, NULL);
    fclose(f);
    /* The updates after the end are streamed by a last run to the current position. */
    f = fopen(out, "a");
    cfg = snap_config(db, state, f, "never", "2");
    pgcdc_config_set_endpos(cfg, tl_current_lsn(db));
    {
        pgcdc_worker *w = pgcdc_worker_new(cfg);

        assert_int_equal(pgcdc_worker_start(w), PGCDC_OK);
        assert_int_equal(pgcdc_worker_run(w), PGCDC_OK);
        pgcdc_worker_free(w);
    }
    pgcdc_config_free(cfg);
    fclose(f);
    check_replay(db, out, &reads);
    assert_true(reads > 0 && reads <= 3000);
    unlink(out);
}

/* A table an incremental snapshot cannot read: the start says which and why, and what to do. */
static void test_keyless_refused(void **unused)
{
    const char *db = tl_fresh_db("t_snap_nokey");
    char msg[512];
    char err[128];
    pgcdc_config *cfg;

    (void)unused;
    if (incremental_refused(db))
        return;
    tl_sql(db, "CREATE TABLE n (a int, b text)");
    tl_sql(db, "ALTER TABLE n REPLICA IDENTITY FULL");
    cfg = tl_config(db, "s_snap_nokey", "p_snap", "n");
    assert_int_equal(pgcdc_config_set(cfg, "snapshot", "incremental", err, sizeof(err)), PGCDC_OK);
    assert_int_equal(pgcdc_config_set(cfg, "snapshot.state_file", "/tmp/pgcdc-snap-nokey.state",
                                      err, sizeof(err)),
                     PGCDC_OK);
    assert_int_equal(tl_start_only(cfg, msg, sizeof(msg)), PGCDC_ERR_TABLE);
    assert_non_null(strstr(msg, "public.n has no primary key"));
    assert_non_null(strstr(msg, "add a primary key"));
    pgcdc_config_free(cfg);
    unlink("/tmp/pgcdc-snap-nokey.state");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_initial_under_writers),
        cmocka_unit_test(test_incremental_killed_and_resumed),
        cmocka_unit_test(test_initial_killed_and_resumed),
        cmocka_unit_test(test_window_drops_changed_rows),
        cmocka_unit_test(test_keyless_refused),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
