/*
 * The kafka sink's exactly-once mode (a fenced producer in the library;
 * kill -9 at several points of a load with the command line, against the
 * stand-alone mock cluster of tools/kafka-mock/kafka_mock.c), and the command
 * line refusing URIs and properties before connecting.
 *
 * librdkafka 2.0.2's mock cluster keeps no transaction markers: a
 * read_committed consumer sees aborted and open transactions' records too.
 * Every message of the exactly-once mode carries its Kafka transaction's
 * label (header "batch") and so does the progress record committed with
 * it, so the check counts the records of committed batches only, which is
 * what read_committed shows on a real cluster.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include "kafka_read.h"
#include "testlib.h"
#include "tool.h"

/* The stand-alone mock: its process, its command pipe and its answers. */
typedef struct mockproc {
    pid_t pid;
    FILE *cmd;
    FILE *out;
    char bootstrap[512];
} mockproc;

static void mock_spawn(mockproc *mp, int brokers)
{
    int in[2];
    int out[2];
    char n[8];

    assert_int_equal(pipe(in), 0);
    assert_int_equal(pipe(out), 0);
    snprintf(n, sizeof(n), "%d", brokers);
    mp->pid = fork();
    assert_true(mp->pid >= 0);
    if (mp->pid == 0) {
        dup2(in[0], 0);
        dup2(out[1], 1);
        close(in[1]);
        close(out[0]);
        execl(PGCDC_KAFKA_MOCK, PGCDC_KAFKA_MOCK, n, (char *)NULL);
        _exit(127);
    }
    close(in[0]);
    close(out[1]);
    mp->cmd = fdopen(in[1], "w");
    mp->out = fdopen(out[0], "r");
    assert_non_null(fgets(mp->bootstrap, sizeof(mp->bootstrap), mp->out));
    mp->bootstrap[strcspn(mp->bootstrap, "\n")] = '\0';
}

static void mock_command(mockproc *mp, const char *line)
{
    char answer[128];

    fprintf(mp->cmd, "%s\n", line);
    fflush(mp->cmd);
    assert_non_null(fgets(answer, sizeof(answer), mp->out));
    assert_string_equal(answer, "ok\n");
}

static void mock_stop(mockproc *mp)
{
    int status;

    fclose(mp->cmd);
    fclose(mp->out);
    assert_int_equal(waitpid(mp->pid, &status, 0), mp->pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

static void set(pgcdc_config *cfg, const char *key, const char *value)
{
    char err[512];

    if (pgcdc_config_set(cfg, key, value, err, sizeof(err)) != PGCDC_OK)
        fail_msg("%s=%s: %s", key, value, err);
}

static const char *jstr(json_t *doc, const char *name)
{
    const char *s = json_string_value(json_object_get(doc, name));

    return s != NULL ? s : "";
}

/*
 * Exactly-once in the library: a commit the cluster refuses (the producer
 * fenced) halts the run with nothing confirmed past the committed batches;
 * the next run goes on from the progress topic.  The mock keeps no
 * transaction markers: records count when their batch's progress record is
 * there (what read_committed shows on a real cluster).
 */
static void test_exactly_once_fenced(void **state)
{
    const char *db = "dbname=k_eosl";
    enum { ROWS = 300 };
    kt_mock m;
    char uri[600];
    char err[256];
    pgcdc_config *cfg;
    pgcdc_worker *w;
    pgcdc_stats st;
    kt_read prog;
    kt_read rd;
    json_t *batches = json_object();
    char seen[ROWS + 1] = {0};
    uint64_t end;
    int r;

    (void)state;
    kt_mock_start(&m, 3);
    snprintf(uri, sizeof(uri), "kafka://%s/eos.${table}", m.bootstrap);
    tl_sql(tl_fresh_db("k_eosl"), "CREATE TABLE t (id int PRIMARY KEY, v text)");
    cfg = tl_config(db, "s_k_eosl", "p_k_eosl", "t");
    assert_int_equal(tl_start_only(cfg, err, sizeof(err)), PGCDC_OK);
    set(cfg, "sink", uri);
    set(cfg, "sink.kafka.exactly_once", "true");
    set(cfg, "sink.kafka.batch_size", "40");
    set(cfg, "sink.kafka.transactional_id", "eos-test");
    for (int i = 0; i < ROWS / 10; i++)
        tl_sql(db, "INSERT INTO t SELECT g, 'x' FROM generate_series(%d, %d) g", 1 + i * 10,
               10 + i * 10);
    end = tl_current_lsn(db);
    pgcdc_config_set_endpos(cfg, end);
    /* The third transaction commit is refused for good: the producer is fenced. */
    {
        rd_kafka_resp_err_t errs[] = {RD_KAFKA_RESP_ERR_NO_ERROR, RD_KAFKA_RESP_ERR_NO_ERROR,
                                      RD_KAFKA_RESP_ERR_INVALID_PRODUCER_EPOCH};

        rd_kafka_mock_push_request_errors_array(m.mc, 26 /* EndTxn */, 3, errs);
    }
    w = pgcdc_worker_new(cfg);
    assert_int_equal(pgcdc_worker_start(w), PGCDC_OK);
    r = pgcdc_worker_run(w);
    assert_true(r < 0);
    assert_non_null(strstr(pgcdc_worker_errmsg(w), "nothing after the last confirmed position"));
    assert_int_equal(pgcdc_worker_stats(w, &st), PGCDC_OK);
    assert_int_equal(st.state, PGCDC_STATE_FAILED);
    assert_true(st.confirmed_lsn < end);
    pgcdc_worker_free(w);

    /* Again: from the progress topic on, to the end. */
    w = pgcdc_worker_new(cfg);
    assert_int_equal(pgcdc_worker_start(w), PGCDC_OK);
    r = pgcdc_worker_run(w);
    if (r != PGCDC_OK)
        fail_msg("run: %s", pgcdc_worker_errmsg(w));
    pgcdc_worker_free(w);
    pgcdc_config_free(cfg);

    kt_read_topic(m.bootstrap, "pgcdc.progress", 2, 1, &prog);
    for (size_t i = 0; i < prog.n; i++) {
        json_t *doc = tt_parse(prog.m[i].value);

        assert_string_equal(prog.m[i].key, "eos-test");
        json_object_set_new(batches, jstr(doc, "batch"), json_true());
        json_decref(doc);
    }
    kt_read_topic(m.bootstrap, "eos.t", ROWS, 1, &rd);
    for (size_t i = 0; i < rd.n; i++) {
        json_t *doc;
        long id;

        if (json_object_get(batches, rd.m[i].batch) == NULL)
            continue;
        doc = tt_parse(rd.m[i].value);
        id = (long)json_integer_value(json_object_get(json_object_get(doc, "new"), "id"));
        json_decref(doc);
        assert_true(id >= 1 && id <= ROWS);
        if (seen[id])
            fail_msg("id %ld is in committed batches twice", id);
        seen[id] = 1;
    }
    for (int id = 1; id <= ROWS; id++) {
        if (!seen[id])
            fail_msg("id %d is missing", id);
    }
    kt_read_free(&rd);
    kt_read_free(&prog);
    json_decref(batches);
    kt_mock_stop(&m);
}

/* Bad URIs and properties: refused with one line on stderr, nothing connected. */
static void test_cli_refuses(void **state)
{
    const char *tool = tt_tool();

    (void)state;
    assert_true(tt_run((const char *[]){tool, "-d", "dbname=k_cli_none", "-S", "s", "-P", "p", "-t",
                                        "public.t", "--sink", "kafka://localhost/t", NULL}) != 0);
    tt_assert_stderr_one_line("has no port");
    assert_true(tt_run((const char *[]){tool, "-d", "dbname=k_cli_none", "-S", "s", "-P", "p", "-t",
                                        "public.t", "--sink", "kafka://h:1/${tabel}", NULL}) != 0);
    tt_assert_stderr_one_line("unknown placeholder \"${tabel}\"");
    assert_true(tt_run((const char *[]){tool, "-d", "dbname=k_cli_none", "-S", "s", "-P", "p", "-t",
                                        "public.t", "--sink", "kafka://h:1/t", "-X",
                                        "sink.kafka.no.such.thing=1", NULL}) != 0);
    tt_assert_stderr_one_line("No such configuration property");
    assert_true(tt_run((const char *[]){tool, "-d", "dbname=k_cli_none", "-S", "s", "-P", "p", "-t",
                                        "public.t", "--sink", "kafka://h:1/t", "-X",
                                        "sink.kafka.acks=banana", NULL}) != 0);
    tt_assert_stderr_one_line("acks");
}

/* Rows and versions of each: a backlog before the first start, more while running, a tail. */
enum { KEYS = 40, ROUNDS = 65, BACKLOG = 45, TAIL = 5 };

/* Waits for at least n progress records (committed batches); returns how many there are. */
static size_t wait_progress(const char *bootstrap, size_t n)
{
    kt_read rd;
    size_t have;

    kt_read_topic(bootstrap, "pgcdc.progress", n, 1, &rd);
    have = rd.n;
    kt_read_free(&rd);
    return have;
}

/* A batch label is committed when a progress record carries it. */
static int committed(json_t *batches, const char *batch)
{
    return batch[0] != '\0' && json_object_get(batches, batch) != NULL;
}

/*
 * Exactly-once: pgcdc killed with SIGKILL at several points of a load and
 * started again; in the end every change is in the topic exactly once.
 */
static void test_exactly_once_across_kill(void **state)
{
    const char *db = tl_fresh_db("k_eos");
    const char *tool = tt_tool();
    static unsigned char seen[KEYS + 1][ROUNDS];
    char uri[600];
    mockproc mp;
    kt_read prog;
    kt_read rd;
    json_t *batches = json_object();
    uint64_t end;
    size_t counted = 0;
    size_t dropped = 0;
    size_t progress = 0;
    pid_t pid;

    (void)state;
    tl_sql(db, "CREATE TABLE t (id int PRIMARY KEY, v int)");
    mock_spawn(&mp, 3);
    /* Slower round trips: the kills land inside batches. */
    mock_command(&mp, "rtt all 10");
    snprintf(uri, sizeof(uri), "kafka://%s", mp.bootstrap);
    const char *argv[] = {tool,
                          "-d",
                          db,
                          "-S",
                          "s_k_eos",
                          "-P",
                          "p_k_eos",
                          "-t",
                          "public.t",
                          "--sink",
                          uri,
                          "-X",
                          "sink.kafka.exactly_once=true",
                          "-X",
                          "sink.kafka.batch_size=50",
                          "-X",
                          "sink.kafka.batch_linger=20ms",
                          "-s",
                          "1",
                          NULL,
                          NULL,
                          NULL};
    const char **args = argv;

    assert_int_equal(tt_run((const char *[]){tool, "-d", db, "-S", "s_k_eos", "-P", "p_k_eos", "-t",
                                             "public.t", "--create-slot", NULL}),
                     0);
    tl_sql(db, "INSERT INTO t SELECT g, 0 FROM generate_series(1, %d) g", KEYS);
    for (int i = 1; i < BACKLOG; i++)
        tl_sql(db, "UPDATE t SET v = %d", i);

    /* Killed while starting, then soon after a batch committed, at several delays. */
    pid = tt_spawn(args, NULL);
    usleep(300000);
    kill(pid, SIGKILL);
    tt_wait(pid);
    for (int k = 0; k < 3; k++) {
        static const int delay_ms[] = {0, 60, 150};

        pid = tt_spawn(args, NULL);
        progress = wait_progress(mp.bootstrap, progress + 2);
        usleep((useconds_t)delay_ms[k] * 1000);
        kill(pid, SIGKILL);
        tt_wait(pid);
    }

    /* Killed while the load goes on. */
    pid = tt_spawn(args, NULL);
    for (int i = BACKLOG; i < ROUNDS - TAIL; i++) {
        tl_sql(db, "UPDATE t SET v = %d", i);
        if (i == BACKLOG + 5) {
            progress = wait_progress(mp.bootstrap, progress + 1);
            usleep(30000);
            kill(pid, SIGKILL);
            tt_wait(pid);
            pid = tt_spawn(args, NULL);
        }
    }
    progress = wait_progress(mp.bootstrap, progress + 1);
    kill(pid, SIGKILL);
    tt_wait(pid);

    /* Stopped gracefully (SIGTERM) with a batch under way: it commits, the exit is clean. */
    for (int i = ROUNDS - TAIL; i < ROUNDS; i++)
        tl_sql(db, "UPDATE t SET v = %d", i);
    progress = wait_progress(mp.bootstrap, 0);
    pid = tt_spawn(args, NULL);
    wait_progress(mp.bootstrap, progress + 1);
    kill(pid, SIGTERM);
    assert_int_equal(tt_wait(pid), 0);

    /* To the end. */
    end = tl_current_lsn(db);
    char endpos[32];
    pgcdc_lsn_format(end, endpos, sizeof(endpos));
    argv[19] = "-E";
    argv[20] = endpos;
    assert_int_equal(tt_run(args), 0);

    /* The committed batches, by the progress records. */
    kt_read_topic(mp.bootstrap, "pgcdc.progress", 1, 1, &prog);
    assert_true(prog.n >= 1);
    for (size_t i = 0; i < prog.n; i++) {
        json_error_t jerr;
        json_t *doc = json_loads(prog.m[i].value, 0, &jerr);

        assert_non_null(doc);
        assert_string_equal(prog.m[i].key, "pgcdc.k_eos.s_k_eos");
        json_object_set_new(batches, json_string_value(json_object_get(doc, "batch")), json_true());
        json_decref(doc);
    }
    kt_read_topic(mp.bootstrap, "pgcdc.public.t", KEYS * ROUNDS, 1, &rd);
    for (size_t i = 0; i < rd.n; i++) {
        json_error_t jerr;
        json_t *doc;
        json_t *row;
        int id;
        int v;

        if (!committed(batches, rd.m[i].batch)) {
            dropped++;
            continue;
        }
        doc = json_loads(rd.m[i].value, 0, &jerr);
        assert_non_null(doc);
        row = json_object_get(doc, "new");
        id = (int)json_integer_value(json_object_get(row, "id"));
        v = (int)json_integer_value(json_object_get(row, "v"));
        json_decref(doc);
        assert_true(id >= 1 && id <= KEYS && v >= 0 && v < ROUNDS);
        if (seen[id][v])
            fail_msg("id %d version %d is in a committed transaction twice", id, v);
        seen[id][v] = 1;
        counted++;
    }
    for (int id = 1; id <= KEYS; id++) {
        for (int v = 0; v < ROUNDS; v++) {
            if (!seen[id][v])
                fail_msg("id %d version %d is missing", id, v);
        }
    }
    assert_int_equal(counted, KEYS * ROUNDS);
    /* What the mock shows of aborted transactions (no markers): for the record, not asserted. */
    print_message("exactly-once: %zu records in %zu committed batches; %zu records of aborted "
                  "or cut transactions (visible on this mock only)\n",
                  counted, json_object_size(batches), dropped);
    kt_read_free(&rd);
    kt_read_free(&prog);
    json_decref(batches);
    mock_stop(&mp);
}

static int teardown_all(void **state)
{
    (void)state;
    tt_cleanup();
    return rd_kafka_wait_destroyed(10000) == 0 ? 0 : -1;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cli_refuses),
        cmocka_unit_test(test_exactly_once_fenced),
        cmocka_unit_test(test_exactly_once_across_kill),
    };

    return cmocka_run_group_tests(tests, NULL, teardown_all);
}
