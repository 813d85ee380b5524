/*
 * A Kafka cluster for tests, chaos and the benchmark: librdkafka's built-in
 * mock with N brokers.  Prints its bootstrap servers on the first line of
 * stdout, then takes one command a line on stdin and answers "ok" or
 * "error: ..." for each; runs until stdin closes or SIGTERM/SIGINT.
 *
 *   kafka_mock [BROKERS]      (default 3)
 *
 * Commands:
 *   down ID|all               a broker stops answering (connections closed)
 *   up ID|all                 it answers again
 *   rtt ID|all MS             its round-trip time
 *   errors API COUNT ERR...   the next COUNT requests of API (a number:
 *                             0 Produce, 1 Fetch, 22 InitProducerId, 26
 *                             EndTxn...) fail with the error codes given
 *                             (cycled), e.g. "errors 0 3 6" (NOT_LEADER)
 *   topic NAME PARTITIONS     creates a topic
 *   leader TOPIC PART ID      moves a partition's leader
 *   coordinator txn|group KEY ID   sets a coordinator
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

static volatile sig_atomic_t quit;

static void on_signal(int sig)
{
    (void)sig;
    quit = 1;
}

static void quiet(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    (void)rk;
    (void)level;
    (void)fac;
    (void)buf;
}

/* Applies fn to broker id, or to each of 1..n for "all". */
static int each_broker(rd_kafka_mock_cluster_t *mc, int n, const char *id,
                       rd_kafka_resp_err_t (*fn)(rd_kafka_mock_cluster_t *, int32_t))
{
    if (strcmp(id, "all") == 0) {
        for (int i = 1; i <= n; i++)
            fn(mc, i);
        return 0;
    }
    return fn(mc, atoi(id)) == RD_KAFKA_RESP_ERR_NO_ERROR ? 0 : -1;
}

static int command(rd_kafka_mock_cluster_t *mc, int n, char *line)
{
    char *argv[64];
    int argc = 0;

    for (char *tok = strtok(line, " \t\r\n"); tok != NULL && argc < 64;
         tok = strtok(NULL, " \t\r\n"))
        argv[argc++] = tok;
    if (argc == 0)
        return 0;
    if (strcmp(argv[0], "down") == 0 && argc == 2)
        return each_broker(mc, n, argv[1], rd_kafka_mock_broker_set_down);
    if (strcmp(argv[0], "up") == 0 && argc == 2)
        return each_broker(mc, n, argv[1], rd_kafka_mock_broker_set_up);
    if (strcmp(argv[0], "rtt") == 0 && argc == 3) {
        int from = strcmp(argv[1], "all") == 0 ? 1 : atoi(argv[1]);
        int to = strcmp(argv[1], "all") == 0 ? n : from;

        for (int i = from; i <= to; i++)
            rd_kafka_mock_broker_set_rtt(mc, i, atoi(argv[2]));
        return 0;
    }
    if (strcmp(argv[0], "errors") == 0 && argc >= 4) {
        size_t cnt = (size_t)atol(argv[2]);
        rd_kafka_resp_err_t *errs = calloc(cnt > 0 ? cnt : 1, sizeof(*errs));

        if (errs == NULL)
            return -1;
        for (size_t i = 0; i < cnt; i++)
            errs[i] = (rd_kafka_resp_err_t)atoi(argv[3 + (int)(i % (size_t)(argc - 3))]);
        rd_kafka_mock_push_request_errors_array(mc, (int16_t)atoi(argv[1]), cnt, errs);
        free(errs);
        return 0;
    }
    if (strcmp(argv[0], "topic") == 0 && argc == 3)
        return rd_kafka_mock_topic_create(mc, argv[1], atoi(argv[2]), n < 3 ? n : 3) ==
                       RD_KAFKA_RESP_ERR_NO_ERROR
                   ? 0
                   : -1;
    if (strcmp(argv[0], "leader") == 0 && argc == 4)
        return rd_kafka_mock_partition_set_leader(mc, argv[1], atoi(argv[2]), atoi(argv[3])) ==
                       RD_KAFKA_RESP_ERR_NO_ERROR
                   ? 0
                   : -1;
    if (strcmp(argv[0], "coordinator") == 0 && argc == 4)
        return rd_kafka_mock_coordinator_set(mc, argv[1], argv[2], atoi(argv[3])) ==
                       RD_KAFKA_RESP_ERR_NO_ERROR
                   ? 0
                   : -1;
    return -1;
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 3;
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_mock_cluster_t *mc;
    struct sigaction sa;
    char errstr[256];
    char line[1024];
    rd_kafka_t *rk;

    if (n < 1 || n > 16) {
        fprintf(stderr, "usage: kafka_mock [BROKERS 1..16]\n");
        return 2;
    }
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal; /* no SA_RESTART: a blocked read returns */
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    rd_kafka_conf_set_log_cb(conf, quiet);
    rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
    if (rk == NULL) {
        fprintf(stderr, "kafka_mock: %s\n", errstr);
        return 1;
    }
    mc = rd_kafka_mock_cluster_new(rk, n);
    if (mc == NULL) {
        fprintf(stderr, "kafka_mock: could not create the cluster\n");
        rd_kafka_destroy(rk);
        return 1;
    }
    printf("%s\n", rd_kafka_mock_cluster_bootstraps(mc));
    fflush(stdout);
    while (!quit && fgets(line, sizeof(line), stdin) != NULL) {
        int r = command(mc, n, line);

        printf(r == 0 ? "ok\n" : "error: bad command\n");
        fflush(stdout);
    }
    rd_kafka_mock_cluster_destroy(mc);
    rd_kafka_destroy(rk);
    return 0;
}
