/*
 * kafkatail: the chaos suite's Kafka reader.  The mock cluster keeps only the
 * last 5 MB of a partition: the topic is followed during the whole scenario.
 *
 *   kafkatail follow --bootstrap B --topic T --progress P --raw FILE
 *       Follows partition 0 of T and of P from the beginning until SIGTERM,
 *       appending a line per message to FILE (fields separated by tabs):
 *         D OFFSET BATCH VALUE   a message (BATCH "-" without that header)
 *         N OFFSET BATCH         a null value (a tombstone)
 *         P OFFSET BATCH         a progress record (the "batch" of its value)
 *         G TOPIC EXPECTED GOT   offsets skipped: messages were missed
 *         E TOPIC TEXT           an offset reset: messages were missed
 *       and after each flush FILE.pos: "NEXT_T NEXT_P MISSED".
 *   kafkatail wait --bootstrap B --topic T --progress P --raw FILE [--timeout S]
 *       Waits until FILE.pos reaches the end offsets the cluster reports now.
 *   kafkatail filter --raw FILE [--committed]
 *       The values of the messages in order, a line each, on stdout.  With
 *       --committed only those of batches a progress record names: the
 *       exactly-once mode's committed Kafka transactions (the mock writes no
 *       transaction markers, so aborted ones' messages are visible too).
 *       Exit 1 if messages were missed.
 */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>

static volatile sig_atomic_t quit;

static void on_signal(int sig)
{
    (void)sig;
    quit = 1;
}

typedef struct opts {
    const char *bootstrap, *topic, *progress, *raw;
    int committed, timeout_s;
} opts;

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static rd_kafka_t *consumer(const opts *o)
{
    /* The mock answers a fetch with one message set and drops the oldest data
     * quickly: fetch often, much at a time, and reconnect at once. */
    char settings[] = "group.id=chaos.kafkatail enable.auto.commit=false "
                      "enable.partition.eof=true auto.offset.reset=error log_level=3 "
                      "isolation.level=read_uncommitted fetch.wait.max.ms=10 "
                      "fetch.error.backoff.ms=10 max.partition.fetch.bytes=16777216 "
                      "reconnect.backoff.ms=10 reconnect.backoff.max.ms=50";
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    char err[256], *save = NULL;
    rd_kafka_t *rk;
    int bad = rd_kafka_conf_set(conf, "bootstrap.servers", o->bootstrap, err, sizeof(err));

    for (char *kv = strtok_r(settings, " ", &save); !bad && kv != NULL;
         kv = strtok_r(NULL, " ", &save)) {
        *strchr(kv, '=') = '\0';
        bad = rd_kafka_conf_set(conf, kv, kv + strlen(kv) + 1, err, sizeof(err));
    }
    /* librdkafka's debug contexts, e.g. KAFKATAIL_DEBUG=fetch,topic */
    if (!bad && getenv("KAFKATAIL_DEBUG") != NULL)
        bad = rd_kafka_conf_set(conf, "debug", getenv("KAFKATAIL_DEBUG"), err, sizeof(err));
    rk = bad ? NULL : rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof(err));
    if (rk == NULL) {
        fprintf(stderr, "kafkatail: %s\n", err);
        exit(2);
    }
    return rk;
}

/* The message's batch: its header, or for a progress record the "batch" of its value. */
static void batch_of(const rd_kafka_message_t *m, int progress, char *buf, size_t size)
{
    rd_kafka_headers_t *hdrs = NULL;
    char value[512];
    const char *at;
    const void *hv;
    size_t n;

    snprintf(buf, size, "-");
    if (!progress && rd_kafka_message_headers(m, &hdrs) == 0 &&
        rd_kafka_header_get_last(hdrs, "batch", &hv, &n) == 0 && hv != NULL)
        snprintf(buf, size, "%.*s", (int)n, (const char *)hv);
    if (!progress || m->payload == NULL)
        return;
    snprintf(value, sizeof(value), "%.*s", (int)m->len, (const char *)m->payload);
    if ((at = strstr(value, "\"batch\":\"")) != NULL)
        snprintf(buf, size, "%.*s", (int)strcspn(at + 9, "\""), at + 9);
}

/* (wait takes a file it cannot read, empty say, for one not written yet.) */
static void write_pos(const opts *o, const int64_t next[2], int missed)
{
    char path[4096];
    FILE *f;

    snprintf(path, sizeof(path), "%s.pos", o->raw);
    if ((f = fopen(path, "w")) != NULL) {
        fprintf(f, "%lld %lld %d\n", (long long)next[0], (long long)next[1], missed);
        fclose(f);
    }
}

static int follow(const opts *o)
{
    rd_kafka_t *rk = consumer(o);
    rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(2);
    FILE *out = fopen(o->raw, "a");
    int64_t next[2] = {0, 0}; /* the next offset of the topic and of the progress topic */
    double flushed = now_s();
    int dirty = 1, missed = 0;
    char batch[128];

    rd_kafka_topic_partition_list_add(parts, o->topic, 0)->offset = RD_KAFKA_OFFSET_BEGINNING;
    rd_kafka_topic_partition_list_add(parts, o->progress, 0)->offset = RD_KAFKA_OFFSET_BEGINNING;
    if (out == NULL || rd_kafka_assign(rk, parts) != RD_KAFKA_RESP_ERR_NO_ERROR) {
        fprintf(stderr, "kafkatail: could not open %s or assign the partitions\n", o->raw);
        return 2;
    }
    rd_kafka_topic_partition_list_destroy(parts);
    while (!quit) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 50);
        int idle = m == NULL;

        if (m != NULL) {
            const char *tn = m->rkt != NULL ? rd_kafka_topic_name(m->rkt) : "";
            int k = strcmp(tn, o->topic) != 0;

            if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
                idle = 1;
            } else if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
                fprintf(stderr, "kafkatail: %s: %s\n", tn, rd_kafka_message_errstr(m));
                /* Offsets reset: messages were skipped, the check must fail. */
                if (m->err == RD_KAFKA_RESP_ERR__AUTO_OFFSET_RESET ||
                    m->err == RD_KAFKA_RESP_ERR_OFFSET_OUT_OF_RANGE) {
                    fprintf(out, "E\t%s\t%s\n", tn, rd_kafka_message_errstr(m));
                    missed = dirty = 1;
                }
            } else {
                if (m->offset != next[k]) {
                    fprintf(out, "G\t%s\t%lld\t%lld\n", tn, (long long)next[k],
                            (long long)m->offset);
                    missed = 1;
                }
                next[k] = m->offset + 1;
                batch_of(m, k, batch, sizeof(batch));
                if (k == 1)
                    fprintf(out, "P\t%lld\t%s\n", (long long)m->offset, batch);
                else if (m->payload == NULL)
                    fprintf(out, "N\t%lld\t%s\n", (long long)m->offset, batch);
                else
                    fprintf(out, "D\t%lld\t%s\t%.*s\n", (long long)m->offset, batch, (int)m->len,
                            (const char *)m->payload);
                dirty = 1;
            }
            rd_kafka_message_destroy(m);
        }
        if (dirty && (idle || now_s() - flushed > 0.1)) {
            fflush(out);
            write_pos(o, next, missed);
            flushed = now_s();
            dirty = 0;
        }
    }
    fclose(out);
    write_pos(o, next, missed);
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    return 0;
}

/* The end offset of partition 0 of a topic, asked until the cluster answers. */
static int64_t end_offset(rd_kafka_t *rk, const char *topic, double until)
{
    int64_t lo, hi;
    rd_kafka_resp_err_t err;

    while ((err = rd_kafka_query_watermark_offsets(rk, topic, 0, &lo, &hi, 5000)) != 0) {
        if (now_s() > until) {
            fprintf(stderr, "kafkatail: end offset of %s: %s\n", topic, rd_kafka_err2str(err));
            return -1;
        }
        usleep(200000);
    }
    return hi;
}

static int wait_end(const opts *o)
{
    double until = now_s() + o->timeout_s;
    rd_kafka_t *rk = consumer(o);
    long long want[2] = {end_offset(rk, o->topic, until), end_offset(rk, o->progress, until)};
    long long got[2] = {-1, -1};
    int missed = 0;
    char path[4096];

    rd_kafka_destroy(rk);
    if (want[0] < 0 || want[1] < 0)
        return 1;
    snprintf(path, sizeof(path), "%s.pos", o->raw);
    while (now_s() < until) {
        FILE *f = fopen(path, "r");

        if (f != NULL) {
            if (fscanf(f, "%lld %lld %d", &got[0], &got[1], &missed) != 3)
                got[0] = got[1] = -1;
            fclose(f);
        }
        if (missed) {
            fprintf(stderr, "kafkatail: the reader missed messages, it is at %lld\n", got[0]);
            return 1;
        }
        if (got[0] >= want[0] && got[1] >= want[1]) {
            printf("%lld %lld\n", want[0], want[1]);
            return 0;
        }
        usleep(50000);
    }
    fprintf(stderr, "kafkatail: read to %lld/%lld, the ends are %lld/%lld after %d s\n", got[0],
            got[1], want[0], want[1], o->timeout_s);
    return 1;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int filter(const opts *o)
{
    FILE *f = fopen(o->raw, "r");
    char *line = NULL, **batches = NULL;
    size_t cap = 0, n = 0, capb = 0;
    long shown = 0, tombstones = 0, dropped = 0, missed = 0;
    ssize_t len;

    if (f == NULL) {
        perror(o->raw);
        return 2;
    }
    /* The committed batches, sorted.  (A last line without its newline is being written.) */
    while (o->committed && (len = getline(&line, &cap, f)) > 0 && line[len - 1] == '\n') {
        if (line[0] != 'P')
            continue;
        line[len - 1] = '\0';
        if (n == capb && (batches = realloc(batches, (capb = capb ? capb * 2 : 1024) *
                                                         sizeof(*batches))) == NULL)
            return 2;
        batches[n++] = strdup(strrchr(line, '\t') + 1);
    }
    qsort(batches, n, sizeof(*batches), cmp_str);
    rewind(f);
    while ((len = getline(&line, &cap, f)) > 0 && line[len - 1] == '\n') {
        char *batch = line[0] == 'D' ? strchr(strchr(line, '\t') + 1, '\t') + 1 : NULL;
        char *value = batch != NULL ? strchr(batch, '\t') : NULL;

        if ((line[0] == 'G' || line[0] == 'E') && missed++ < 5)
            fprintf(stderr, "kafkatail: messages missed: %s", line);
        tombstones += line[0] == 'N';
        if (value == NULL)
            continue;
        *value = '\0';
        if (o->committed && bsearch(&batch, batches, n, sizeof(*batches), cmp_str) == NULL) {
            dropped++;
            continue;
        }
        fputs(value + 1, stdout);
        shown++;
    }
    fprintf(stderr,
            "kafkatail: %ld messages written, %ld tombstones, %ld of uncommitted batches, "
            "%zu batches committed, %ld gaps\n",
            shown, tombstones, dropped, n, missed);
    for (size_t i = 0; i < n; i++)
        free(batches[i]);
    free(batches);
    free(line);
    fclose(f);
    return missed > 0 || fflush(stdout) != 0 ? 1 : 0;
}

int main(int argc, char **argv)
{
    opts o = {.timeout_s = 120};
    const char *mode = argc > 1 ? argv[1] : "";
    struct sigaction sa;
    int ok = argc > 1;

    for (int i = 2; ok && i < argc; i++) {
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        const char **dst = strcmp(argv[i], "--bootstrap") == 0  ? &o.bootstrap
                           : strcmp(argv[i], "--topic") == 0    ? &o.topic
                           : strcmp(argv[i], "--progress") == 0 ? &o.progress
                           : strcmp(argv[i], "--raw") == 0      ? &o.raw
                                                                : NULL;

        if (strcmp(argv[i], "--committed") == 0)
            o.committed = 1;
        else if (v != NULL && strcmp(argv[i], "--timeout") == 0 && ++i)
            o.timeout_s = atoi(v);
        else if (v != NULL && dst != NULL && ++i)
            *dst = v;
        else
            ok = 0;
    }
    if (!ok || o.raw == NULL ||
        (strcmp(mode, "filter") != 0 && (!o.bootstrap || !o.topic || !o.progress))) {
        fprintf(stderr, "usage: kafkatail follow|wait|filter --raw FILE [--bootstrap B --topic T "
                        "--progress P] [--timeout S] [--committed]\n");
        return 2;
    }
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    if (strcmp(mode, "follow") == 0)
        return follow(&o);
    if (strcmp(mode, "wait") == 0)
        return wait_end(&o);
    if (strcmp(mode, "filter") == 0)
        return filter(&o);
    fprintf(stderr, "kafkatail: unknown mode \"%s\"\n", mode);
    return 2;
}
