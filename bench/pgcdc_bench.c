/*
 * pgcdc_bench: the benchmark's consumer on the pgcdc library.  "noop" reads
 * every column of every change through the typed accessor for its type and
 * counts; "latency" also records commit-to-handler latency per change.  Prints
 * one JSON line with the counts, the latency percentiles and, for the largest
 * transaction, the time from its commit to its first and last event.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "pgcdc.h"

/* Built-in type OIDs (pg_type.dat), to pick the accessor for a column. */
enum {
    OID_BOOL = 16,
    OID_BYTEA = 17,
    OID_INT8 = 20,
    OID_INT2 = 21,
    OID_INT4 = 23,
    OID_OID = 26,
    OID_JSON = 114,
    OID_FLOAT4 = 700,
    OID_FLOAT8 = 701,
    OID_DATE = 1082,
    OID_TIMESTAMP = 1114,
    OID_TIMESTAMPTZ = 1184,
    OID_NUMERIC = 1700,
    OID_JSONB = 3802
};

/*
 * Latency histogram: exact microseconds below 2048 us, then 1024 linear
 * sub-buckets per power of two (better than 0.1 %), up to 2^41 us.
 */
#define HIST_EXACT 2048
#define HIST_SUB 1024
#define HIST_SHIFTS 31
#define HIST_BUCKETS (HIST_EXACT + HIST_SHIFTS * HIST_SUB)

typedef struct hist {
    uint64_t counts[HIST_BUCKETS];
    uint64_t n;
    uint64_t negative; /* handler clock before commit time: counted as 0 */
    int64_t min;
    int64_t max;
    double sum;
} hist;

typedef enum mode { MODE_NOOP, MODE_LATENCY } mode;

typedef struct bench {
    pgcdc_worker *w;
    mode mode;
    uint64_t expect;
    uint64_t events;
    uint64_t txns;
    uint64_t values;
    uint64_t nulls;
    uint64_t unchanged;
    uint64_t type_errors;
    uint64_t checksum; /* keeps the reads from being optimized away */
    uint8_t *bytea;
    size_t bytea_cap;
    int64_t first_event_us; /* CLOCK_REALTIME */
    int64_t last_event_us;
    /* The transaction in progress, and the largest one so far. */
    uint32_t txn_changes;
    int64_t txn_commit_time;
    int64_t txn_first_us;
    int64_t txn_last_us;
    uint32_t big_changes;
    int64_t big_commit_time;
    int64_t big_first_us;
    int64_t big_last_us;
    hist *lat;
} bench;

typedef struct options {
    mode mode;
    const char *conninfo;
    const char *slot;
    const char *publication;
    const char *ready_path;
    const char *hist_path;
    uint64_t endpos;
    uint64_t expect;
    int timeout_s;
    int protocol;
    int binary; /* -1 text values, 1 binary, 0 the library's default (binary) */
    int sinks;  /* --sink given: the result has commit-to-confirmation latency */
} options;

static pgcdc_worker *signal_worker;
static volatile sig_atomic_t got_signal;
static volatile sig_atomic_t got_timeout;

static int64_t now_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int hist_index(int64_t v)
{
    int msb;
    int shift;
    int idx;

    if (v < HIST_EXACT)
        return (int)v;
    msb = 63 - __builtin_clzll((unsigned long long)v);
    shift = msb - 10;
    idx = HIST_EXACT + (shift - 1) * HIST_SUB + (int)((v >> shift) - HIST_SUB);
    return idx < HIST_BUCKETS ? idx : HIST_BUCKETS - 1;
}

/* The highest value that falls in bucket idx. */
static int64_t hist_value(int idx)
{
    int shift;
    int64_t sub;

    if (idx < HIST_EXACT)
        return idx;
    shift = (idx - HIST_EXACT) / HIST_SUB + 1;
    sub = (idx - HIST_EXACT) % HIST_SUB + HIST_SUB;
    return ((sub + 1) << shift) - 1;
}

static void hist_add(hist *h, int64_t v)
{
    if (v < 0) {
        h->negative++;
        v = 0;
    }
    h->counts[hist_index(v)]++;
    if (h->n == 0 || v < h->min)
        h->min = v;
    if (v > h->max)
        h->max = v;
    h->n++;
    h->sum += (double)v;
}

/* The smallest recorded value with at least q of all values at or below it. */
static int64_t hist_quantile(const hist *h, double q)
{
    uint64_t rank = (uint64_t)(q * (double)h->n + 0.999999);
    uint64_t seen = 0;

    if (h->n == 0)
        return 0;
    if (rank < 1)
        rank = 1;
    for (int i = 0; i < HIST_BUCKETS; i++) {
        seen += h->counts[i];
        if (seen >= rank) {
            int64_t v = hist_value(i);

            return v < h->max ? v : h->max;
        }
    }
    return h->max;
}

/* One line per non-empty bucket: upper value in us, count, cumulative fraction. */
static int hist_write(const hist *h, const char *path)
{
    FILE *f = fopen(path, "w");
    uint64_t seen = 0;

    if (f == NULL) {
        fprintf(stderr, "pgcdc_bench: could not open \"%s\": %s\n", path, strerror(errno));
        return -1;
    }
    fprintf(f, "# latency_us count cumulative_fraction\n");
    for (int i = 0; i < HIST_BUCKETS; i++) {
        int64_t v;

        if (h->counts[i] == 0)
            continue;
        seen += h->counts[i];
        v = hist_value(i);
        fprintf(f, "%lld %llu %.9f\n", (long long)(v < h->max ? v : h->max),
                (unsigned long long)h->counts[i], (double)seen / (double)h->n);
    }
    if (fclose(f) != 0) {
        fprintf(stderr, "pgcdc_bench: could not write \"%s\": %s\n", path, strerror(errno));
        return -1;
    }
    return 0;
}

static void read_bytea(bench *b, const pgcdc_row *row, int col)
{
    size_t len = 0;
    int r = pgcdc_row_get_bytea(row, col, b->bytea, b->bytea_cap, &len);

    if (r == PGCDC_ERR_RANGE && len > b->bytea_cap) {
        uint8_t *grown = realloc(b->bytea, len);

        if (grown == NULL) {
            b->type_errors++;
            return;
        }
        b->bytea = grown;
        b->bytea_cap = len;
        r = pgcdc_row_get_bytea(row, col, b->bytea, b->bytea_cap, &len);
    }
    if (r == PGCDC_OK)
        b->checksum += len;
    else
        b->type_errors++;
}

/* Reads one present value with the accessor that fits its type. */
static int read_value(bench *b, const pgcdc_row *row, int col)
{
    const char *s;
    size_t len;
    int64_t i64;
    double d;
    int flag;
    int r;

    switch (pgcdc_row_type(row, col)) {
    case OID_INT2:
    case OID_INT4:
    case OID_INT8:
    case OID_OID:
        r = pgcdc_row_get_int64(row, col, &i64);
        b->checksum += (uint64_t)i64;
        return r;
    case OID_FLOAT4:
    case OID_FLOAT8:
        r = pgcdc_row_get_double(row, col, &d);
        b->checksum += d > 0;
        return r;
    case OID_BOOL:
        r = pgcdc_row_get_bool(row, col, &flag);
        b->checksum += (uint64_t)flag;
        return r;
    case OID_DATE:
    case OID_TIMESTAMP:
    case OID_TIMESTAMPTZ:
        r = pgcdc_row_get_timestamp(row, col, &i64);
        b->checksum += (uint64_t)i64;
        return r;
    case OID_NUMERIC:
        r = pgcdc_row_get_numeric(row, col, &s);
        b->checksum += r == PGCDC_OK ? (uint64_t)(unsigned char)s[0] : 0;
        return r;
    case OID_JSON:
    case OID_JSONB:
        r = pgcdc_row_get_json(row, col, &s);
        b->checksum += r == PGCDC_OK ? (uint64_t)(unsigned char)s[0] : 0;
        return r;
    case OID_BYTEA:
        read_bytea(b, row, col);
        return PGCDC_OK;
    default:
        r = pgcdc_row_get_text(row, col, &s, &len);
        b->checksum += len;
        return r;
    }
}

static void read_row(bench *b, const pgcdc_row *row)
{
    int ncols;

    if (row == NULL)
        return;
    ncols = pgcdc_row_ncols(row);
    for (int col = 0; col < ncols; col++) {
        switch (pgcdc_row_state(row, col)) {
        case PGCDC_VALUE_PRESENT:
            b->values++;
            if (read_value(b, row, col) != PGCDC_OK)
                b->type_errors++;
            break;
        case PGCDC_VALUE_NULL:
            b->nulls++;
            break;
        case PGCDC_VALUE_UNCHANGED:
            b->unchanged++;
            break;
        case PGCDC_VALUE_ABSENT:
            break;
        }
    }
}

/* Keeps the figures of the largest transaction (also one cut short by --expect). */
static void end_txn(bench *b)
{
    if (b->txn_changes > b->big_changes) {
        b->big_changes = b->txn_changes;
        b->big_commit_time = b->txn_commit_time;
        b->big_first_us = b->txn_first_us;
        b->big_last_us = b->txn_last_us;
    }
    b->txn_changes = 0;
}

static int on_begin(pgcdc_worker *w, const pgcdc_txn *txn, void *opaque)
{
    bench *b = opaque;

    (void)w;
    (void)txn;
    b->txn_changes = 0;
    return PGCDC_HANDLED;
}

static int on_change(pgcdc_worker *w, const pgcdc_change *change, void *opaque)
{
    bench *b = opaque;

    read_row(b, pgcdc_change_old(change));
    read_row(b, pgcdc_change_new(change));
    /*
     * The clock is read per change only to measure latency; a no-op handler
     * reads it at a transaction's first change and at its commit.
     */
    if (b->mode == MODE_LATENCY || b->txn_changes == 0) {
        int64_t t = now_us();

        if (b->mode == MODE_LATENCY)
            hist_add(b->lat, t - pgcdc_change_commit_time(change));
        if (b->events == 0)
            b->first_event_us = t;
        if (b->txn_changes == 0) {
            b->txn_first_us = t;
            b->txn_commit_time = pgcdc_change_commit_time(change);
        }
        b->last_event_us = t;
        b->txn_last_us = t;
    }
    b->txn_changes++;
    b->events++;
    if (b->expect > 0 && b->events >= b->expect)
        pgcdc_worker_stop(w);
    return PGCDC_HANDLED;
}

static int on_commit(pgcdc_worker *w, const pgcdc_txn *txn, void *opaque)
{
    bench *b = opaque;

    (void)w;
    (void)txn;
    if (b->mode != MODE_LATENCY && b->txn_changes > 0) {
        b->last_event_us = now_us();
        b->txn_last_us = b->last_event_us;
    }
    b->txns++;
    end_txn(b);
    return PGCDC_HANDLED;
}

static void on_signal(int sig)
{
    if (sig == SIGALRM)
        got_timeout = 1;
    else
        got_signal = 1;
    if (signal_worker != NULL)
        pgcdc_worker_stop(signal_worker);
}

static void usage(FILE *f)
{
    fprintf(f, "pgcdc_bench consumes a replication slot with the pgcdc library and reports\n"
               "throughput and commit-to-handler latency as one JSON line.\n\n"
               "Usage:\n"
               "  pgcdc_bench --dbname CONNINFO --slot NAME --publication NAME [OPTION]...\n\n"
               "  -m, --mode=noop|latency   read every value (noop, default); also record latency\n"
               "  -d, --dbname=CONNINFO     connection string or URI (PG* variables apply)\n"
               "  -S, --slot=NAME           existing replication slot (never created)\n"
               "  -P, --publication=NAME    existing publication (never created)\n"
               "  -t, --table=SCHEMA.TABLE  a table to check and describe (repeatable)\n"
               "  -E, --endpos=LSN          stop once everything up to LSN is handled\n"
               "  -n, --expect=N            stop after N change events\n"
               "      --timeout=SECONDS     stop after SECONDS whatever happened\n"
               "      --ready=FILE          create FILE once streaming has started\n"
               "      --hist=FILE           write the latency histogram to FILE\n"
               "      --protocol=1|2        pgoutput protocol version (default 1)\n"
               "      --binary              pgoutput binary mode (the library's default)\n"
               "      --no-binary           text values\n"
               "      --sink=URI            also deliver every event to this sink (repeatable);\n"
               "                            the result then has commit-to-confirmation latency\n"
               "  -X KEY=VALUE              any property (pgcdc --help-config)\n"
               "  -h, --help                print this help and exit\n\n"
               "SIGINT and SIGTERM stop it; the result is printed all the same.\n"
               "Exit status: 0 done, 1 runtime error, 2 bad usage.\n");
}

static int parse_args(int argc, char **argv, pgcdc_config *cfg, options *o)
{
    enum {
        OPT_TIMEOUT = 256,
        OPT_READY,
        OPT_HIST,
        OPT_PROTOCOL,
        OPT_BINARY,
        OPT_NO_BINARY,
        OPT_SINK
    };
    static const struct option longopts[] = {
        {"mode", required_argument, NULL, 'm'},
        {"dbname", required_argument, NULL, 'd'},
        {"slot", required_argument, NULL, 'S'},
        {"publication", required_argument, NULL, 'P'},
        {"table", required_argument, NULL, 't'},
        {"endpos", required_argument, NULL, 'E'},
        {"expect", required_argument, NULL, 'n'},
        {"timeout", required_argument, NULL, OPT_TIMEOUT},
        {"ready", required_argument, NULL, OPT_READY},
        {"hist", required_argument, NULL, OPT_HIST},
        {"protocol", required_argument, NULL, OPT_PROTOCOL},
        {"binary", no_argument, NULL, OPT_BINARY},
        {"no-binary", no_argument, NULL, OPT_NO_BINARY},
        {"sink", required_argument, NULL, OPT_SINK},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int opt;

    while ((opt = getopt_long(argc, argv, "m:d:S:P:t:E:n:X:h", longopts, NULL)) != -1) {
        switch (opt) {
        case 'm':
            if (strcmp(optarg, "noop") == 0) {
                o->mode = MODE_NOOP;
            } else if (strcmp(optarg, "latency") == 0) {
                o->mode = MODE_LATENCY;
            } else {
                fprintf(stderr, "pgcdc_bench: unknown mode \"%s\" (use noop or latency)\n", optarg);
                return 2;
            }
            break;
        case 'd':
            o->conninfo = optarg;
            break;
        case 'S':
            o->slot = optarg;
            break;
        case 'P':
            o->publication = optarg;
            break;
        case 't':
            if (pgcdc_config_add_table(cfg, optarg) != PGCDC_OK) {
                fprintf(stderr, "pgcdc_bench: %s\n", pgcdc_config_errmsg(cfg));
                return 2;
            }
            break;
        case 'E':
            if (pgcdc_lsn_parse(optarg, &o->endpos) != PGCDC_OK) {
                fprintf(stderr, "pgcdc_bench: invalid end position \"%s\"\n", optarg);
                return 2;
            }
            break;
        case 'n':
            o->expect = strtoull(optarg, NULL, 10);
            break;
        case OPT_TIMEOUT:
            o->timeout_s = atoi(optarg);
            break;
        case OPT_READY:
            o->ready_path = optarg;
            break;
        case OPT_HIST:
            o->hist_path = optarg;
            break;
        case OPT_PROTOCOL:
            o->protocol = atoi(optarg);
            break;
        case OPT_NO_BINARY:
            o->binary = -1;
            break;
        case OPT_BINARY:
            o->binary = 1;
            break;
        case OPT_SINK:
            if (pgcdc_config_add_sink(cfg, optarg) != PGCDC_OK) {
                fprintf(stderr, "pgcdc_bench: %s\n", pgcdc_config_errmsg(cfg));
                return 2;
            }
            o->sinks++;
            break;
        case 'X': {
            char *eq = strchr(optarg, '=');

            if (eq == NULL) {
                fprintf(stderr, "pgcdc_bench: -X needs KEY=VALUE, not \"%s\"\n", optarg);
                return 2;
            }
            *eq = '\0';
            if (pgcdc_config_set(cfg, optarg, eq + 1, NULL, 0) != PGCDC_OK) {
                fprintf(stderr, "pgcdc_bench: %s\n", pgcdc_config_errmsg(cfg));
                return 2;
            }
            break;
        }
        case 'h':
            usage(stdout);
            return -1;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "pgcdc_bench: unexpected argument \"%s\"\n", argv[optind]);
        return 2;
    }
    if (o->slot == NULL || o->publication == NULL) {
        fprintf(stderr, "pgcdc_bench: --slot and --publication are required\n");
        return 2;
    }
    return 0;
}

/* Applies the options to cfg; 0 or an exit status. */
static int configure(pgcdc_config *cfg, const options *o, bench *b)
{
    if (pgcdc_config_set_conninfo(cfg, o->conninfo != NULL ? o->conninfo : "") != PGCDC_OK ||
        pgcdc_config_set_slot(cfg, o->slot) != PGCDC_OK ||
        pgcdc_config_set_publication(cfg, o->publication) != PGCDC_OK ||
        (o->protocol != 0 && pgcdc_config_set_proto_version(cfg, o->protocol) != PGCDC_OK)) {
        fprintf(stderr, "pgcdc_bench: %s\n", pgcdc_config_errmsg(cfg));
        return 2;
    }
    if (o->binary != 0) {
        if (pgcdc_config_set_binary(cfg, o->binary > 0) != PGCDC_OK) {
            fprintf(stderr, "pgcdc_bench: %s\n", pgcdc_config_errmsg(cfg));
            return 2;
        }
    }
    pgcdc_config_set_create_slot(cfg, 0);
    pgcdc_config_set_create_publication(cfg, 0);
    pgcdc_config_set_endpos(cfg, o->endpos);
    pgcdc_config_set_log_level(cfg, PGCDC_LOG_WARNING);
    pgcdc_config_set_change_cb(cfg, on_change, b);
    pgcdc_config_set_begin_cb(cfg, on_begin, b);
    pgcdc_config_set_commit_cb(cfg, on_commit, b);
    return 0;
}

/* Where the time went: start (connect, checks, START_REPLICATION), to the first event, streaming,
 * after the last. */
static void print_result(const bench *b, const options *o, const char *status, int64_t start_us,
                         int64_t started_us, int64_t end_us)
{
    double wall_s = (double)(end_us - start_us) / 1e6;
    double stream_s = b->events > 1 ? (double)(b->last_event_us - b->first_event_us) / 1e6 : 0.0;
    double start_s = (double)(started_us - start_us) / 1e6;
    double first_s = b->events > 0 ? (double)(b->first_event_us - start_us) / 1e6 : 0.0;
    double tail_s = b->events > 0 ? (double)(end_us - b->last_event_us) / 1e6 : 0.0;

    printf("{\"tool\":\"pgcdc_bench\",\"mode\":\"%s\",\"status\":\"%s\",\"events\":%llu,"
           "\"txns\":%llu,\"values\":%llu,\"nulls\":%llu,\"unchanged\":%llu,"
           "\"type_errors\":%llu,\"checksum\":%llu,\"wall_s\":%.6f,\"stream_s\":%.6f,"
           "\"events_per_s\":%.1f,\"start_s\":%.6f,\"first_event_s\":%.6f,\"tail_s\":%.6f",
           o->mode == MODE_LATENCY ? "latency" : "noop", status, (unsigned long long)b->events,
           (unsigned long long)b->txns, (unsigned long long)b->values, (unsigned long long)b->nulls,
           (unsigned long long)b->unchanged, (unsigned long long)b->type_errors,
           (unsigned long long)b->checksum, wall_s, stream_s,
           wall_s > 0 ? (double)b->events / wall_s : 0.0, start_s, first_s, tail_s);
    if (b->big_changes > 0)
        printf(",\"big_txn_changes\":%u,\"commit_to_first_us\":%lld,\"commit_to_last_us\":%lld",
               b->big_changes, (long long)(b->big_first_us - b->big_commit_time),
               (long long)(b->big_last_us - b->big_commit_time));
    if (b->mode == MODE_LATENCY) {
        const hist *h = b->lat;

        printf(",\"lat_count\":%llu,\"lat_negative\":%llu,\"lat_min_us\":%lld,"
               "\"lat_mean_us\":%.1f,\"lat_p50_us\":%lld,\"lat_p99_us\":%lld,"
               "\"lat_p999_us\":%lld,\"lat_max_us\":%lld",
               (unsigned long long)h->n, (unsigned long long)h->negative, (long long)h->min,
               h->n > 0 ? h->sum / (double)h->n : 0.0, (long long)hist_quantile(h, 0.50),
               (long long)hist_quantile(h, 0.99), (long long)hist_quantile(h, 0.999),
               (long long)h->max);
    }
    if (o->sinks > 0) {
        pgcdc_stats st;

        pgcdc_worker_stats(b->w, &st);
        printf(",\"sinks\":%d,\"confirmed_txns\":%llu,\"confirm_p50_us\":%llu,"
               "\"confirm_p99_us\":%llu,\"confirm_max_us\":%llu",
               o->sinks, (unsigned long long)st.confirmed_transactions,
               (unsigned long long)st.confirm_latency_p50_us,
               (unsigned long long)st.confirm_latency_p99_us,
               (unsigned long long)st.confirm_latency_max_us);
    }
    printf("}\n");
    fflush(stdout);
}

static int touch(const char *path)
{
    FILE *f = fopen(path, "w");

    if (f == NULL || fclose(f) != 0) {
        fprintf(stderr, "pgcdc_bench: could not create \"%s\": %s\n", path, strerror(errno));
        return -1;
    }
    return 0;
}

static void install_signals(void)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGALRM, &sa, NULL);
}

int main(int argc, char **argv)
{
    pgcdc_config *cfg = pgcdc_config_new();
    options o = {.protocol = 1}; /* as pg_recvlogical in bench/run */
    bench b = {0};
    const char *status;
    int64_t start_us;
    int64_t started_us;
    int r;

    if (cfg == NULL)
        return 1;
    r = parse_args(argc, argv, cfg, &o);
    if (r == 0)
        r = configure(cfg, &o, &b);
    if (r != 0) {
        pgcdc_config_free(cfg);
        return r < 0 ? 0 : r;
    }
    b.mode = o.mode;
    b.expect = o.expect;
    if (b.mode == MODE_LATENCY) {
        b.lat = calloc(1, sizeof(*b.lat));
        if (b.lat == NULL) {
            pgcdc_config_free(cfg);
            fprintf(stderr, "pgcdc_bench: out of memory\n");
            return 1;
        }
    }
    b.w = pgcdc_worker_new(cfg);
    pgcdc_config_free(cfg);
    if (b.w == NULL) {
        free(b.lat);
        fprintf(stderr, "pgcdc_bench: out of memory\n");
        return 1;
    }
    signal_worker = b.w;
    install_signals();
    if (o.timeout_s > 0)
        alarm((unsigned)o.timeout_s);
    start_us = now_us();
    r = pgcdc_worker_start(b.w);
    started_us = now_us();
    if (r == PGCDC_OK && o.ready_path != NULL && touch(o.ready_path) != 0)
        r = PGCDC_ERR_IO;
    if (r == PGCDC_OK)
        r = pgcdc_worker_run(b.w);
    alarm(0);
    signal_worker = NULL;
    if (r != PGCDC_OK) {
        fprintf(stderr, "pgcdc_bench: %s\n", pgcdc_worker_errmsg(b.w));
        status = "error";
    } else if (got_timeout) {
        status = "timeout";
    } else if (got_signal) {
        status = "signal";
    } else if (b.expect > 0 && b.events >= b.expect) {
        status = "expected";
    } else {
        status = "endpos";
    }
    end_txn(&b);
    print_result(&b, &o, status, start_us, started_us, now_us());
    if (b.lat != NULL && o.hist_path != NULL && hist_write(b.lat, o.hist_path) != 0 &&
        r == PGCDC_OK)
        r = PGCDC_ERR_IO;
    pgcdc_worker_free(b.w);
    free(b.lat);
    free(b.bytea);
    return r == PGCDC_OK ? 0 : 1;
}
