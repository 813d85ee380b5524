/*
 * Delivery under faults: a worker killed with SIGKILL mid-stream and
 * restarted loses no committed change; the walsender terminated under a
 * running worker is survived by reconnecting; asynchronous acks hold the
 * confirmed position back until given; a dropped slot stops the worker with
 * its own code and no slot is created in its place.
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "testlib.h"

#define ROWS 20000

/* ---- kill -9 and restart ---- */

static int append_change(pgcdc_worker *w, const pgcdc_change *c, void *opaque)
{
    FILE *f = opaque;
    int64_t id;
    char lsn[32];

    (void)w;
    if (pgcdc_row_int64(pgcdc_change_new(c), "id", &id) != PGCDC_OK)
        return -1;
    fprintf(f, "%s %u %lld\n", pgcdc_lsn_format(pgcdc_change_commit_lsn(c), lsn, sizeof(lsn)),
            pgcdc_change_seq(c), (long long)id);
    return PGCDC_HANDLED;
}

/* Durable at commit: only then may the worker confirm the transaction. */
static int sync_commit(pgcdc_worker *w, const pgcdc_txn *txn, void *opaque)
{
    FILE *f = opaque;

    (void)w;
    (void)txn;
    if (fflush(f) != 0 || fsync(fileno(f)) != 0)
        return -1;
    return PGCDC_HANDLED;
}

static void child_stream(const char *path, uint64_t endpos)
{
    FILE *f = fopen(path, "a");
    pgcdc_config *cfg = tl_config("dbname=t_kill", "s_kill", "p_kill", "k");
    pgcdc_worker *w;
    int r;

    pgcdc_config_set_endpos(cfg, endpos);
    pgcdc_config_set_change_cb(cfg, append_change, f);
    pgcdc_config_set_commit_cb(cfg, sync_commit, f);
    w = pgcdc_worker_new(cfg);
    r = pgcdc_worker_start(w);
    if (r == PGCDC_OK)
        r = pgcdc_worker_run(w);
    if (r != PGCDC_OK)
        fprintf(stderr, "child: %s\n", pgcdc_worker_errmsg(w));
    pgcdc_worker_free(w);
    pgcdc_config_free(cfg);
    fclose(f);
    _exit(r == PGCDC_OK ? 0 : 1);
}

static void test_kill_and_restart(void **state)
{
    const char *db = tl_fresh_db("t_kill");
    char path[] = "/tmp/pgcdc-kill-XXXXXX";
    char msg[512];
    pgcdc_config *cfg;
    uint64_t endpos;
    pid_t pid;
    int status;
    char *seen;
    long dups = 0;
    long lines;
    FILE *f;
    char lsn[32];
    unsigned seq;
    long long id;
    int fd = mkstemp(path);

    (void)state;
    assert_true(fd >= 0);
    close(fd);
    tl_sql(db, "CREATE TABLE k (id int PRIMARY KEY, pad text)");
    cfg = tl_config(db, "s_kill", "p_kill", "k");
    assert_int_equal(tl_start_only(cfg, msg, sizeof(msg)), PGCDC_OK);
    pgcdc_config_free(cfg);
    /* 200 transactions of 100 rows. */
    tl_sql(db, "DO $$ BEGIN FOR t IN 0..199 LOOP "
               "INSERT INTO k SELECT t * 100 + i, repeat('p', 20) FROM generate_series(1, 100) i;"
               "COMMIT; END LOOP; END $$");
    endpos = tl_current_lsn(db);

    /* Kill the worker three times at different points, then let it finish. */
    for (int round = 0; round < 4; round++) {
        long target = (round + 1) * ROWS / 5;

        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0)
            child_stream(path, endpos);
        if (round < 3) {
            for (int i = 0; i < 3000 && tl_count_lines(path) < target; i++)
                tl_sleep_ms(2);
            kill(pid, SIGKILL);
        }
        assert_int_equal(waitpid(pid, &status, 0), pid);
        /* The kill may cut a line the FILE's buffer was writing out. */
        tl_trim_torn(path);
        if (round == 3)
            assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }

    /* Every row arrived; repeats are whole transactions keyed by (commit_lsn, seq). */
    seen = calloc(ROWS + 1, 1);
    f = fopen(path, "r");
    assert_non_null(f);
    lines = 0;
    while (fscanf(f, "%31s %u %lld", lsn, &seq, &id) == 3) {
        assert_true(id >= 1 && id <= ROWS);
        assert_int_equal(seq, (unsigned)((id - 1) % 100));
        if (seen[id])
            dups++;
        seen[id] = 1;
        lines++;
    }
    fclose(f);
    for (int i = 1; i <= ROWS; i++) {
        if (!seen[i])
            fail_msg("row %d lost", i);
    }
    fprintf(stderr, "  %ld lines, %ld duplicates after 3 kills\n", lines, dups);
    assert_true(tl_slot_confirmed(db, "s_kill") <= endpos);
    free(seen);
    unlink(path);
}

/* ---- walsender terminated: reconnect ---- */

typedef struct shared {
    pthread_mutex_t mu;
    char *seen;
    long n;
    long dups;
    int deferred;
    uint64_t tokens[4096];
    int ntokens;
} shared;

static int record_id(pgcdc_worker *w, const pgcdc_change *c, void *opaque)
{
    shared *s = opaque;
    int64_t id;

    (void)w;
    if (pgcdc_row_int64(pgcdc_change_new(c), "id", &id) != PGCDC_OK)
        return -1;
    pthread_mutex_lock(&s->mu);
    if (s->seen[id])
        s->dups++;
    s->seen[id] = 1;
    s->n++;
    if (s->deferred && s->ntokens < 4096)
        s->tokens[s->ntokens++] = pgcdc_change_token(c);
    pthread_mutex_unlock(&s->mu);
    return s->deferred ? PGCDC_DEFER : PGCDC_HANDLED;
}

static void *run_thread(void *arg)
{
    pgcdc_worker *w = arg;
    static int result;

    result = pgcdc_worker_run(w);
    if (result != PGCDC_OK)
        fprintf(stderr, "run: %s\n", pgcdc_worker_errmsg(w));
    return &result;
}

static long seen_count(shared *s)
{
    long n;

    pthread_mutex_lock(&s->mu);
    n = s->n;
    pthread_mutex_unlock(&s->mu);
    return n;
}

static void test_walsender_terminated(void **state)
{
    const char *db = tl_fresh_db("t_reconn");
    pgcdc_config *cfg;
    pgcdc_worker *w;
    pthread_t th;
    shared s = {PTHREAD_MUTEX_INITIALIZER, calloc(ROWS + 1, 1), 0, 0, 0, {0}, 0};
    void *ret;

    (void)state;
    tl_sql(db, "CREATE TABLE r (id int PRIMARY KEY)");
    cfg = tl_config(db, "s_reconn", "p_reconn", "r");
    pgcdc_config_set_change_cb(cfg, record_id, &s);
    pgcdc_config_set_reconnect(cfg, 500, 0);
    w = pgcdc_worker_new(cfg);
    assert_int_equal(pgcdc_worker_start(w), PGCDC_OK);
    assert_int_equal(pthread_create(&th, NULL, run_thread, w), 0);
    for (int part = 0; part < 4; part++) {
        tl_sql(db,
               "DO $$ BEGIN FOR t IN 0..49 LOOP "
               "INSERT INTO r SELECT %d + t * 100 + i FROM generate_series(1, 100) i;"
               "COMMIT; END LOOP; END $$",
               part * 5000);
        /* Cut the stream, wherever it is. */
        tl_sql(db, "SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots "
                   "WHERE slot_name = 's_reconn' AND active_pid IS NOT NULL");
    }
    for (int i = 0; i < 3000 && seen_count(&s) < ROWS; i++)
        tl_sleep_ms(10);
    pgcdc_worker_stop(w);
    pthread_join(th, &ret);
    assert_int_equal(*(int *)ret, PGCDC_OK);
    for (int i = 1; i <= ROWS; i++) {
        if (!s.seen[i])
            fail_msg("row %d lost", i);
    }
    /* Within one process, what was delivered before a reconnect is not delivered again. */
    assert_int_equal(s.dups, 0);
    assert_int_equal(s.n, ROWS);
    pgcdc_worker_free(w);
    pgcdc_config_free(cfg);
    free(s.seen);
}

/* ---- asynchronous acknowledgement ---- */

static void test_async_ack(void **state)
{
    const char *db = tl_fresh_db("t_ack");
    pgcdc_config *cfg;
    pgcdc_worker *w;
    pthread_t th;
    shared s = {PTHREAD_MUTEX_INITIALIZER, calloc(ROWS + 1, 1), 0, 0, 1, {0}, 0};
    uint64_t before;
    uint64_t end;
    void *ret;
    char msg[512];

    (void)state;
    tl_sql(db, "CREATE TABLE a (id int PRIMARY KEY)");
    cfg = tl_config(db, "s_ack", "p_ack", "a");
    assert_int_equal(tl_start_only(cfg, msg, sizeof(msg)), PGCDC_OK);
    before = tl_slot_confirmed(db, "s_ack");
    for (int t = 0; t < 10; t++)
        tl_sql(db, "INSERT INTO a SELECT %d + i FROM generate_series(1, 10) i", t * 10);
    end = tl_current_lsn(db);
    pgcdc_config_set_change_cb(cfg, record_id, &s);
    pgcdc_config_set_endpos(cfg, end);
    w = pgcdc_worker_new(cfg);
    assert_int_equal(pgcdc_worker_start(w), PGCDC_OK);
    assert_int_equal(pthread_create(&th, NULL, run_thread, w), 0);
    for (int i = 0; i < 3000 && seen_count(&s) < 100; i++)
        tl_sleep_ms(10);
    assert_int_equal(seen_count(&s), 100);
    /* Nothing acknowledged: nothing past the start may be confirmed. */
    tl_sleep_ms(300);
    assert_true(pgcdc_worker_confirmed_lsn(w) <= before);
    /* Ack the first transaction's changes only: it alone becomes confirmable. */
    pthread_mutex_lock(&s.mu);
    for (int i = 0; i < 10; i++)
        assert_int_equal(pgcdc_worker_ack(w, s.tokens[i]), PGCDC_OK);
    pthread_mutex_unlock(&s.mu);
    assert_true(pgcdc_worker_confirmed_lsn(w) > before);
    assert_true(pgcdc_worker_confirmed_lsn(w) < end);
    /* An extra ack is refused. */
    assert_int_equal(pgcdc_worker_ack(w, s.tokens[0]), PGCDC_ERR_INVALID);
    /* Ack the rest from this thread: the run reaches the end position and returns. */
    pthread_mutex_lock(&s.mu);
    for (int i = 10; i < s.ntokens; i++)
        assert_int_equal(pgcdc_worker_ack(w, s.tokens[i]), PGCDC_OK);
    pthread_mutex_unlock(&s.mu);
    pthread_join(th, &ret);
    assert_int_equal(*(int *)ret, PGCDC_OK);
    assert_true(tl_slot_confirmed(db, "s_ack") >= pgcdc_worker_confirmed_lsn(w));
    assert_true(pgcdc_worker_confirmed_lsn(w) <= end);
    pgcdc_worker_free(w);
    pgcdc_config_free(cfg);
    free(s.seen);
}

/* ---- slot dropped underneath ---- */

static void test_slot_dropped(void **state)
{
    const char *db = tl_fresh_db("t_drop");
    pgcdc_config *cfg;
    pgcdc_worker *w;
    pthread_t th;
    shared s = {PTHREAD_MUTEX_INITIALIZER, calloc(ROWS + 1, 1), 0, 0, 0, {0}, 0};
    void *ret;
    char *v = NULL;

    (void)state;
    tl_sql(db, "CREATE TABLE d (id int PRIMARY KEY)");
    cfg = tl_config(db, "s_drop", "p_drop", "d");
    pgcdc_config_set_change_cb(cfg, record_id, &s);
    w = pgcdc_worker_new(cfg);
    assert_int_equal(pgcdc_worker_start(w), PGCDC_OK);
    assert_int_equal(pthread_create(&th, NULL, run_thread, w), 0);
    /* Terminate the walsender and drop the slot before the worker is back. */
    for (int i = 0; i < 200; i++) {
        free(v);
        tl_terminate_slot_holder(db, "s_drop");
        v = tl_sql_value(db, "SELECT count(*) FROM (SELECT pg_drop_replication_slot(slot_name) "
                             "FROM pg_replication_slots WHERE slot_name = 's_drop' "
                             "AND active_pid IS NULL) x");
        if (v != NULL && strcmp(v, "1") == 0)
            break;
    }
    free(v);
    pthread_join(th, &ret);
    assert_int_equal(*(int *)ret, PGCDC_ERR_SLOT_MISSING);
    assert_non_null(strstr(pgcdc_worker_errmsg(w), "\"s_drop\""));
    /* No slot was created in its place. */
    v = tl_sql_value(db, "SELECT count(*) FROM pg_replication_slots WHERE slot_name = 's_drop'");
    assert_string_equal(v, "0");
    free(v);
    pgcdc_worker_free(w);
    pgcdc_config_free(cfg);
    free(s.seen);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kill_and_restart),
        cmocka_unit_test(test_walsender_terminated),
        cmocka_unit_test(test_async_ack),
        cmocka_unit_test(test_slot_dropped),
    };

    tl_env();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
