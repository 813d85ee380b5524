/*
 * pgcdc: the command-line program.  Streams row changes from a replication
 * slot as JSON lines to stdout or a file, and confirms a transaction only
 * once its lines are written (and, for a file, fsynced).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "pgcdc.h"

#define EXIT_RUNTIME 1
#define EXIT_USAGE 2
#define EXIT_SLOT 3

/* Write out at this size even inside a transaction; flush at least this often. */
#define FLUSH_BYTES (1 << 20)
#define FLUSH_MS 100

typedef struct cli {
    pgcdc_worker *w;
    pgcdc_formatter *fmt;
    int fd;
    int is_file;
    const char *path;
    char *buf;
    size_t len;
    size_t cap;
    uint64_t *tokens; /* commits written but not yet durable */
    size_t ntokens;
    size_t captokens;
    int64_t last_flush_ms;
    int failed;
    int verbosity;
} cli;

static pgcdc_worker *signal_worker;

static void on_signal(int sig)
{
    (void)sig;
    if (signal_worker != NULL)
        pgcdc_worker_stop(signal_worker);
}

static int64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void usage(void)
{
    printf("pgcdc streams PostgreSQL row changes (INSERT, UPDATE, DELETE, TRUNCATE) from a\n"
           "logical replication slot as JSON lines.\n\n"
           "Usage:\n"
           "  pgcdc --dbname CONNINFO --slot NAME --publication NAME [OPTION]...\n\n"
           "Connection and objects:\n"
           "  -d, --dbname=CONNINFO      connection string or URI (PG* variables apply)\n"
           "  -S, --slot=NAME            replication slot ([a-z0-9_], created if missing)\n"
           "  -P, --publication=NAME     publication ([a-z0-9_], created if missing)\n"
           "  -t, --table=SCHEMA.TABLE   table to publish (repeatable)\n"
           "      --replica-identity-full  set REPLICA IDENTITY FULL on the tables\n"
           "      --no-create            never create the slot or the publication\n\n"
           "Actions (default: stream):\n"
           "      --create-slot          create the slot (and publication), then exit\n"
           "      --if-not-exists        with --create-slot: an existing slot is fine\n"
           "      --start                with --create-slot: stream afterwards\n"
           "      --drop-slot            drop the slot, then exit\n\n"
           "Streaming:\n"
           "  -E, --endpos=LSN           exit once everything up to LSN is written and "
           "confirmed\n"
           "  -F, --format=FORMAT        json (default), debezium or wal2json\n"
           "  -o, --output=FILE          append to FILE, fsynced before confirming "
           "(default: stdout)\n"
           "  -s, --status-interval=SECS  status updates to the server (default 10)\n"
           "      --protocol=1|2         pgoutput protocol; 2 streams large transactions\n"
           "      --no-binary            text column values from the server (default: binary\n"
           "                             where every column's type allows; same output)\n"
           "  -v, --verbose              more log output on stderr (repeat for debug)\n"
           "  -q, --quiet                errors only\n"
           "  -V, --version              print the version and exit\n"
           "  -?, --help                 print this help and exit\n\n"
           "Exit status: 0 done, 1 runtime error, 2 bad usage, 3 slot missing or "
           "invalidated.\n");
}

static void log_line(pgcdc_worker *w, pgcdc_log_level level, const char *msg, void *opaque)
{
    static const char *const names[] = {"error", "warning", "info", "debug"};

    (void)w;
    (void)opaque;
    fprintf(stderr, "pgcdc: %s: %s\n", names[level], msg);
}

__attribute__((format(printf, 1, 2))) static int usage_error(const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "pgcdc: ");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, " (see pgcdc --help)\n");
    return EXIT_USAGE;
}

static int write_all(cli *c)
{
    size_t off = 0;

    while (off < c->len) {
        ssize_t n = write(c->fd, c->buf + off, c->len - off);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            fprintf(stderr,
                    "pgcdc: error: could not write to \"%s\": %s (nothing after the last "
                    "confirmed position is lost: fix it and start again)\n",
                    c->path, strerror(errno));
            return -1;
        }
        off += (size_t)n;
    }
    c->len = 0;
    return 0;
}

/* Writes the buffer, makes it durable, then acknowledges the commits it holds. */
static int flush_out(cli *c)
{
    if (c->failed)
        return -1;
    if (write_all(c) != 0)
        goto fail;
    if (c->ntokens > 0 && c->is_file && fdatasync(c->fd) != 0) {
        fprintf(stderr,
                "pgcdc: error: could not fsync \"%s\": %s (nothing after the last confirmed "
                "position is lost: fix it and start again)\n",
                c->path, strerror(errno));
        goto fail;
    }
    for (size_t i = 0; i < c->ntokens; i++)
        pgcdc_worker_ack(c->w, c->tokens[i]);
    c->ntokens = 0;
    c->last_flush_ms = now_ms();
    return 0;
fail:
    c->failed = 1;
    pgcdc_worker_stop(c->w);
    return -1;
}

static int append(cli *c, const char *s, size_t n)
{
    if (n == 0)
        return 0;
    if (c->len + n > c->cap) {
        size_t cap = c->cap ? c->cap : 1 << 16;
        char *grown;

        while (cap < c->len + n)
            cap *= 2;
        grown = realloc(c->buf, cap);
        if (grown == NULL)
            return -1;
        c->buf = grown;
        c->cap = cap;
    }
    memcpy(c->buf + c->len, s, n);
    c->len += n;
    return 0;
}

static int on_begin(pgcdc_worker *w, const pgcdc_txn *txn, void *opaque)
{
    cli *c = opaque;
    const char *out;
    size_t n;

    (void)w;
    if (pgcdc_formatter_begin(c->fmt, txn, &out, &n) != PGCDC_OK || append(c, out, n) != 0)
        return PGCDC_ERR_NOMEM;
    return PGCDC_HANDLED;
}

static int on_change(pgcdc_worker *w, const pgcdc_change *change, void *opaque)
{
    cli *c = opaque;
    const char *out;
    size_t n;

    (void)w;
    if (c->failed)
        return PGCDC_DEFER; /* never acknowledged: the worker is stopping */
    if (pgcdc_formatter_change(c->fmt, change, &out, &n) != PGCDC_OK || append(c, out, n) != 0)
        return PGCDC_ERR_NOMEM;
    /* The commit holds the transaction back until it is durable; a large one streams out. */
    if (c->len >= FLUSH_BYTES && write_all(c) != 0) {
        c->failed = 1;
        pgcdc_worker_stop(c->w);
    }
    return PGCDC_HANDLED;
}

static int on_commit(pgcdc_worker *w, const pgcdc_txn *txn, void *opaque)
{
    cli *c = opaque;
    const char *out;
    size_t n;

    (void)w;
    if (c->failed)
        return PGCDC_DEFER;
    if (pgcdc_formatter_commit(c->fmt, txn, &out, &n) != PGCDC_OK || append(c, out, n) != 0)
        return PGCDC_ERR_NOMEM;
    if (c->ntokens == c->captokens) {
        size_t cap = c->captokens ? c->captokens * 2 : 256;
        uint64_t *grown = realloc(c->tokens, cap * sizeof(*grown));

        if (grown == NULL)
            return PGCDC_ERR_NOMEM;
        c->tokens = grown;
        c->captokens = cap;
    }
    c->tokens[c->ntokens++] = pgcdc_txn_token(txn);
    /* Group commit: one write (and fsync) for many transactions. */
    if (c->len >= FLUSH_BYTES || now_ms() - c->last_flush_ms >= FLUSH_MS)
        flush_out(c);
    return PGCDC_DEFER;
}

static void on_idle(pgcdc_worker *w, void *opaque)
{
    cli *c = opaque;

    (void)w;
    if (c->ntokens > 0 || c->len > 0)
        flush_out(c);
}

/* A line cut by a crash would corrupt the next one: drop it (it was not confirmed). */
static int trim_partial_line(cli *c)
{
    off_t size = lseek(c->fd, 0, SEEK_END);
    off_t pos = size;
    char ch;

    while (pos > 0) {
        if (pread(c->fd, &ch, 1, pos - 1) != 1)
            return -1;
        if (ch == '\n')
            break;
        pos--;
    }
    if (pos == size)
        return 0;
    fprintf(stderr, "pgcdc: warning: dropping an incomplete last line of \"%s\" (%lld bytes)\n",
            c->path, (long long)(size - pos));
    return ftruncate(c->fd, pos);
}

static int open_output(cli *c, const char *path)
{
    struct stat st;

    c->path = path != NULL ? path : "stdout";
    if (path == NULL) {
        c->fd = STDOUT_FILENO;
    } else {
        c->fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
        if (c->fd < 0) {
            fprintf(stderr, "pgcdc: error: could not open \"%s\": %s\n", path, strerror(errno));
            return -1;
        }
    }
    c->is_file = fstat(c->fd, &st) == 0 && S_ISREG(st.st_mode);
    if (path != NULL && c->is_file && trim_partial_line(c) != 0) {
        fprintf(stderr, "pgcdc: error: could not repair \"%s\": %s\n", path, strerror(errno));
        return -1;
    }
    return 0;
}

static int exit_code(int r)
{
    if (r == PGCDC_OK)
        return 0;
    if (r == PGCDC_ERR_SLOT_MISSING || r == PGCDC_ERR_SLOT_INVALID)
        return EXIT_SLOT;
    return EXIT_RUNTIME;
}

static int fail_with(pgcdc_worker *w, int r)
{
    fprintf(stderr, "pgcdc: error: %s\n", pgcdc_worker_errmsg(w));
    return exit_code(r);
}

enum {
    OPT_CREATE_SLOT = 256,
    OPT_DROP_SLOT,
    OPT_IF_NOT_EXISTS,
    OPT_START,
    OPT_NO_CREATE,
    OPT_RI_FULL,
    OPT_PROTOCOL,
    OPT_BINARY,
    OPT_NO_BINARY
};

typedef struct options {
    int create_slot;
    int drop_slot;
    int if_not_exists;
    int start;
    const char *output;
    pgcdc_format format;
    int verbosity;
} options;

static int parse_args(int argc, char **argv, pgcdc_config *cfg, options *o)
{
    static const struct option longopts[] = {
        {"dbname", required_argument, NULL, 'd'},
        {"slot", required_argument, NULL, 'S'},
        {"publication", required_argument, NULL, 'P'},
        {"table", required_argument, NULL, 't'},
        {"endpos", required_argument, NULL, 'E'},
        {"format", required_argument, NULL, 'F'},
        {"output", required_argument, NULL, 'o'},
        {"status-interval", required_argument, NULL, 's'},
        {"create-slot", no_argument, NULL, OPT_CREATE_SLOT},
        {"drop-slot", no_argument, NULL, OPT_DROP_SLOT},
        {"if-not-exists", no_argument, NULL, OPT_IF_NOT_EXISTS},
        {"start", no_argument, NULL, OPT_START},
        {"no-create", no_argument, NULL, OPT_NO_CREATE},
        {"replica-identity-full", no_argument, NULL, OPT_RI_FULL},
        {"protocol", required_argument, NULL, OPT_PROTOCOL},
        {"binary", no_argument, NULL, OPT_BINARY},
        {"no-binary", no_argument, NULL, OPT_NO_BINARY},
        {"verbose", no_argument, NULL, 'v'},
        {"quiet", no_argument, NULL, 'q'},
        {"version", no_argument, NULL, 'V'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int have_dbname = 0;
    int have_slot = 0;
    int have_publication = 0;
    int opt;

    opterr = 0;
    for (;;) {
        uint64_t lsn;
        char *end;
        double secs;

        opt = getopt_long(argc, argv, "d:S:P:t:E:F:o:s:vqVh", longopts, NULL);
        if (opt == -1)
            break;
        switch (opt) {
        case 'd':
            have_dbname = 1;
            if (pgcdc_config_set_conninfo(cfg, optarg) != PGCDC_OK)
                return usage_error("%s", pgcdc_config_errmsg(cfg));
            break;
        case 'S':
            have_slot = 1;
            if (pgcdc_config_set_slot(cfg, optarg) != PGCDC_OK)
                return usage_error("%s", pgcdc_config_errmsg(cfg));
            break;
        case 'P':
            have_publication = 1;
            if (pgcdc_config_set_publication(cfg, optarg) != PGCDC_OK)
                return usage_error("%s", pgcdc_config_errmsg(cfg));
            break;
        case 't':
            if (pgcdc_config_add_table(cfg, optarg) != PGCDC_OK)
                return usage_error("%s", pgcdc_config_errmsg(cfg));
            break;
        case 'E':
            if (pgcdc_lsn_parse(optarg, &lsn) != PGCDC_OK)
                return usage_error("invalid end position \"%s\" (use an LSN such as 0/1A2B3C8)",
                                   optarg);
            pgcdc_config_set_endpos(cfg, lsn);
            break;
        case 'F':
            if (pgcdc_format_parse(optarg, &o->format) != PGCDC_OK)
                return usage_error("unknown format \"%s\" (use json, debezium or wal2json)",
                                   optarg);
            break;
        case 'o':
            o->output = optarg;
            break;
        case 's':
            errno = 0;
            secs = strtod(optarg, &end);
            if (errno != 0 || *end != '\0' || end == optarg || secs < 0.1 || secs > 10 ||
                pgcdc_config_set_status_interval(cfg, (int)(secs * 1000 + 0.5)) != PGCDC_OK)
                return usage_error("invalid status interval \"%s\" (use 0.1 to 10 seconds)",
                                   optarg);
            break;
        case OPT_CREATE_SLOT:
            o->create_slot = 1;
            break;
        case OPT_DROP_SLOT:
            o->drop_slot = 1;
            break;
        case OPT_IF_NOT_EXISTS:
            o->if_not_exists = 1;
            break;
        case OPT_START:
            o->start = 1;
            break;
        case OPT_NO_CREATE:
            pgcdc_config_set_create_slot(cfg, 0);
            pgcdc_config_set_create_publication(cfg, 0);
            break;
        case OPT_RI_FULL:
            pgcdc_config_set_replica_identity_full(cfg, 1);
            break;
        case OPT_BINARY:
            pgcdc_config_set_binary(cfg, 1);
            break;
        case OPT_NO_BINARY:
            pgcdc_config_set_binary(cfg, 0);
            break;
        case OPT_PROTOCOL:
            if ((strcmp(optarg, "1") != 0 && strcmp(optarg, "2") != 0) ||
                pgcdc_config_set_proto_version(cfg, atoi(optarg)) != PGCDC_OK)
                return usage_error("invalid protocol \"%s\" (use 1 or 2)", optarg);
            break;
        case 'v':
            o->verbosity++;
            break;
        case 'q':
            o->verbosity = -1;
            break;
        case 'V':
            printf("pgcdc %s\n", pgcdc_version());
            return -1;
        case 'h':
            usage();
            return -1;
        case '?':
            if (strcmp(argv[optind - 1], "-?") == 0) {
                usage();
                return -1;
            }
            if (optopt != 0)
                return usage_error("option \"%s\" needs a value or is unknown", argv[optind - 1]);
            return usage_error("unknown option \"%s\"", argv[optind - 1]);
        default:
            return usage_error("unknown option \"%s\"", argv[optind - 1]);
        }
    }
    if (optind < argc)
        return usage_error("unexpected argument \"%s\"", argv[optind]);
    if (!have_dbname && getenv("PGDATABASE") == NULL && getenv("PGSERVICE") == NULL)
        return usage_error("no database given (use --dbname)");
    if (!have_dbname)
        pgcdc_config_set_conninfo(cfg, "");
    if (o->create_slot && o->drop_slot)
        return usage_error("--create-slot and --drop-slot cannot be combined");
    if (!have_slot)
        return usage_error("no slot given (use --slot)");
    if (!have_publication && !o->drop_slot)
        return usage_error("no publication given (use --publication)");
    return 0;
}

static int run_stream(cli *c, const options *o, pgcdc_worker *w)
{
    struct sigaction sa;
    int r;

    if (open_output(c, o->output) != 0)
        return EXIT_RUNTIME;
    c->w = w;
    c->last_flush_ms = now_ms();
    /* Before start: a stop during startup ends the run cleanly once streaming begins. */
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    signal_worker = w;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    r = pgcdc_worker_start(w);
    if (r != PGCDC_OK) {
        signal_worker = NULL;
        return r == PGCDC_ERR_STOPPED ? 0 : fail_with(w, r);
    }
    c->fmt = pgcdc_formatter_new(o->format, pgcdc_worker_database(w));
    if (c->fmt == NULL) {
        signal_worker = NULL;
        fprintf(stderr, "pgcdc: error: out of memory\n");
        return EXIT_RUNTIME;
    }
    r = pgcdc_worker_run(w);
    signal_worker = NULL;
    if (r != PGCDC_OK)
        return fail_with(w, r);
    return c->failed ? EXIT_RUNTIME : 0;
}

static int create_slot(pgcdc_worker *w, const options *o)
{
    int created = 0;
    int r = pgcdc_worker_prepare(w, &created);

    if (r != PGCDC_OK)
        return fail_with(w, r);
    if (!created && !o->if_not_exists) {
        fprintf(stderr, "pgcdc: error: replication slot already exists (use --if-not-exists "
                        "to accept it)\n");
        return EXIT_RUNTIME;
    }
    return 0;
}

int main(int argc, char **argv)
{
    pgcdc_config *cfg = pgcdc_config_new();
    options o = {0};
    pgcdc_worker *w;
    cli c = {0};
    int r;

    if (cfg == NULL)
        return EXIT_RUNTIME;
    c.fd = -1;
    r = parse_args(argc, argv, cfg, &o);
    if (r != 0) {
        pgcdc_config_free(cfg);
        return r < 0 ? 0 : r;
    }
    if (o.verbosity < 0)
        pgcdc_config_set_log_level(cfg, PGCDC_LOG_ERROR);
    else
        pgcdc_config_set_log_level(cfg, o.verbosity >= 2   ? PGCDC_LOG_DEBUG
                                        : o.verbosity == 1 ? PGCDC_LOG_INFO
                                                           : PGCDC_LOG_WARNING);
    pgcdc_config_set_log_cb(cfg, log_line, NULL);
    pgcdc_config_set_change_cb(cfg, on_change, &c);
    pgcdc_config_set_begin_cb(cfg, on_begin, &c);
    pgcdc_config_set_commit_cb(cfg, on_commit, &c);
    pgcdc_config_set_idle_cb(cfg, on_idle, &c);
    w = pgcdc_worker_new(cfg);
    pgcdc_config_free(cfg);
    if (w == NULL) {
        fprintf(stderr, "pgcdc: error: out of memory\n");
        return EXIT_RUNTIME;
    }
    if (o.drop_slot) {
        r = pgcdc_worker_drop_slot(w);
        r = r == PGCDC_OK ? 0 : fail_with(w, r);
    } else if (o.create_slot && !o.start) {
        r = create_slot(w, &o);
    } else {
        r = o.create_slot ? create_slot(w, &o) : 0;
        if (r == 0)
            r = run_stream(&c, &o, w);
    }
    pgcdc_worker_free(w);
    pgcdc_formatter_free(c.fmt);
    free(c.buf);
    free(c.tokens);
    if (o.output != NULL && c.fd >= 0)
        close(c.fd);
    return r;
}
