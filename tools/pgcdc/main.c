/*
 * pgcdc: the command-line program.  Flags become a configuration; the
 * library's sinks write the events (stdout or a file, fsynced before a
 * transaction is confirmed).
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pgcdc.h"
#include "progress.h"
#include "scrub.h"

/* Exit codes (README: Exit codes); a start interrupted by a signal exits 128 + its number. */
#define EXIT_RUNTIME 1
#define EXIT_USAGE 2
#define EXIT_SLOT 3          /* the slot is missing or invalidated */
#define EXIT_SLOT_BUSY 4     /* another process streams from the slot */
#define EXIT_SLOT_MISMATCH 5 /* physical, another plugin's, another database's */
#define EXIT_SLOT_LIMIT 6    /* no replication slot left on the server */

static pgcdc_worker *signal_worker;
static volatile sig_atomic_t stop_signal;
/* What an interrupted start leaves behind, for its message. */
static const char *interrupt_note = "; nothing was created";

/* SIGINT and SIGTERM stop (gracefully once streaming); SIGHUP reopens the output files. */
static void on_signal(int sig)
{
    if (signal_worker == NULL)
        return;
    if (sig == SIGHUP) {
        pgcdc_worker_reopen(signal_worker);
        return;
    }
    if (stop_signal == 0)
        stop_signal = sig;
    pgcdc_worker_stop(signal_worker);
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
           "  -t, --table=SCHEMA.TABLE   table to publish (repeatable; 'public.\"MyTable\"'\n"
           "                             in SQL spelling; a partitioned table with its\n"
           "                             partitions)\n"
           "      --replica-identity-full  set REPLICA IDENTITY FULL on the tables\n"
           "      --no-create            never create the slot or the publication\n\n"
           "Actions (default: stream):\n"
           "      --create-slot          create the slot (and publication), then exit\n"
           "      --if-not-exists        with --create-slot: an existing slot is fine\n"
           "      --start                with --create-slot: stream afterwards\n"
           "      --drop-slot            drop the slot, then exit\n"
           "      --drop-publication     drop the publication, then exit (with --drop-slot:\n"
           "                             both, removing the pipeline)\n"
           "      --snapshot MODE        rows already in the tables as READ events: initial\n"
           "                             (when the slot is created), initial_only, incremental\n"
           "                             or never (see -X snapshot.*)\n"
           "      --request-snapshot TABLES  ask the pgcdc streaming from this database for an\n"
           "                             incremental snapshot of TABLES (schema.table,...)\n"
           "      --where COND           ... of the rows matching COND only\n"
           "      --standby              when another process streams from the slot, wait\n"
           "                             and take over once it is free (default: fail)\n\n"
           "Streaming:\n"
           "  -E, --endpos=LSN           exit once everything up to LSN is written and "
           "confirmed\n"
           "  -F, --format=FORMAT        json (default), debezium or wal2json\n"
           "  -o, --output=FILE          append to FILE (created 0600), fsynced before\n"
           "                             confirming; - is stdout; SIGHUP reopens it\n"
           "      --sink=URI             where events go: - (stdout, the default), file:PATH,\n"
           "                             kafka://HOST:PORT[,HOST:PORT]/TOPIC or http(s)://URL\n"
           "                             (repeatable: every sink gets every event)\n"
           "  -s, --status-interval=SECS  status updates to the server (default 10)\n"
           "      --protocol=1|2         pgoutput protocol; 2 streams large transactions\n"
           "      --no-binary            text column values from the server (default: binary\n"
           "                             where every column's type allows; same output)\n"
           "  -X KEY=VALUE               any property (see --help-config), e.g.\n"
           "                             -X handler.retries=3 -X sink.file.flush_interval=50ms\n"
           "  -v, --verbose              more log output on stderr (repeat for debug)\n"
           "  -q, --quiet                errors only\n"
           "  -V, --version              print the version and exit\n"
           "  -?, --help                 print this help and exit\n"
           "      --help-config          print every property (Markdown) and exit\n\n"
           "Exit status: 0 done (also after SIGINT or SIGTERM while streaming), 1 error,\n"
           "2 bad usage, 3 slot missing or invalidated, 4 slot in use by another process,\n"
           "5 slot not a pgoutput slot of this database, 6 no replication slot left,\n"
           "128+N interrupted by signal N before streaming began (nothing was created).\n");
}

static const char *type_name(pgcdc_prop_type type)
{
    static const char *const names[] = {"string", "boolean", "integer", "duration",
                                        "size",   "choice",  "LSN",     "list"};

    return (unsigned)type < sizeof(names) / sizeof(names[0]) ? names[type] : "?";
}

/* Text for a table cell: a '|' would end the cell, even inside backquotes. */
static void put_cell(const char *s)
{
    for (; *s != '\0'; s++) {
        if (*s == '|')
            fputs("\\|", stdout);
        else
            putchar(*s);
    }
}

/*
 * A duration (ms) or a size (bytes) in the largest unit that keeps it whole,
 * written as -X takes it: 60000 is `1min`, 1073741824 is `1GB`.
 */
static void put_quantity(pgcdc_prop_type type, long long v)
{
    static const char *const dunits[] = {"d", "h", "min", "s", "ms"};
    static const long long dfactors[] = {86400000, 3600000, 60000, 1000, 1};
    static const char *const sunits[] = {"GB", "MB", "kB", "B"};
    static const long long sfactors[] = {1024LL * 1024 * 1024, 1024 * 1024, 1024, 1};
    const char *const *units = type == PGCDC_PROP_DURATION ? dunits : sunits;
    const long long *factors = type == PGCDC_PROP_DURATION ? dfactors : sfactors;
    int i = 0;

    while (factors[i] > 1 && (v == 0 || v % factors[i] != 0))
        i++;
    printf("`%lld%s`", v / factors[i], units[i]);
}

/* The range column: the choices of an enum, the bounds of a number (both included). */
static void print_range(const pgcdc_property *p)
{
    if (p->type == PGCDC_PROP_ENUM) {
        fputs("`", stdout);
        for (const char *c = p->choices; *c != '\0'; c++) {
            if (*c == '|')
                fputs("`, `", stdout);
            else
                putchar(*c);
        }
        fputs("`", stdout);
        return;
    }
    if (p->type == PGCDC_PROP_INT) {
        printf("`%lld` to `%lld`", p->min, p->max);
    } else if (p->type == PGCDC_PROP_DURATION || p->type == PGCDC_PROP_SIZE) {
        put_quantity(p->type, p->min);
        fputs(" to ", stdout);
        put_quantity(p->type, p->max);
    }
}

/* The property table as docs/CONFIGURATION.md holds it. */
static void help_config(void)
{
    const char *prefix;
    const pgcdc_property *p;

    printf("# Configuration\n\n"
           "Every setting of pgcdc has a name, whether it is given on the command line\n"
           "(`-X name=value`), through `pgcdc_config_set()` in C, or by its typed setter. `-`\n"
           "and `_` are the same in names. Sinks have their own under `sink.<kind>.`.\n"
           "Durations take `ms`, `s`, `min` (or `m`), `h` or `d` (a bare number is in\n"
           "milliseconds), sizes `B`, `kB`, `MB` or `GB` (1 kB is 1024 bytes; a bare number is\n"
           "in bytes), booleans `true`/`false`, `on`/`off`, `yes`/`no` or `1`/`0`. A range\n"
           "includes both of its ends.\n\n"
           "This page is made by `pgcdc --help-config` from the library's property table;\n"
           "the test suite checks that it is current.\n\n"
           "| name | type | default | range | description |\n"
           "|---|---|---|---|---|\n");
    for (int i = 0; (p = pgcdc_property_at(i, &prefix)) != NULL; i++) {
        if (prefix != NULL)
            printf("| `%s.%s` ", prefix, p->name);
        else
            printf("| `%s` ", p->name);
        printf("| %s | ", type_name(p->type));
        if (p->default_value != NULL) {
            fputs("`", stdout);
            put_cell(p->default_value);
            fputs("`", stdout);
        }
        fputs(" | ", stdout);
        print_range(p);
        fputs(" | ", stdout);
        put_cell(p->description);
        fputs(" |\n", stdout);
    }
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

static int exit_code(int r)
{
    switch (r) {
    case PGCDC_OK:
        return 0;
    case PGCDC_ERR_SLOT_MISSING:
    case PGCDC_ERR_SLOT_INVALID:
        return EXIT_SLOT;
    case PGCDC_ERR_SLOT_BUSY:
        return EXIT_SLOT_BUSY;
    case PGCDC_ERR_SLOT_MISMATCH:
        return EXIT_SLOT_MISMATCH;
    case PGCDC_ERR_SLOT_LIMIT:
        return EXIT_SLOT_LIMIT;
    default:
        return EXIT_RUNTIME;
    }
}

static int fail_with(pgcdc_worker *w, int r)
{
    /* A signal before streaming began: what it cut short, and nothing was made. */
    if (r == PGCDC_ERR_STOPPED) {
        int sig = stop_signal != 0 ? stop_signal : SIGTERM;

        fprintf(stderr, "pgcdc: %s (%s)%s\n", pgcdc_worker_errmsg(w),
                sig == SIGINT ? "SIGINT" : "SIGTERM", interrupt_note);
        return 128 + sig;
    }
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
    OPT_NO_BINARY,
    OPT_SINK,
    OPT_HELP_CONFIG,
    OPT_DROP_PUBLICATION,
    OPT_STANDBY,
    OPT_SNAPSHOT,
    OPT_REQUEST_SNAPSHOT,
    OPT_WHERE
};

typedef struct options {
    int create_slot;
    int drop_slot;
    int drop_publication;
    int if_not_exists;
    int start;
    int nsinks;
    int verbosity;
    int log_level_set;   /* by -X log_level=..., which -v and -q then leave alone */
    const char *request; /* --request-snapshot: the tables */
    const char *where;   /* --where */
} options;

/* -X KEY=VALUE. */
static int set_property(pgcdc_config *cfg, const char *arg)
{
    const char *eq = strchr(arg, '=');
    char *key;
    char err[512];
    int r;

    if (eq == NULL || eq == arg)
        return usage_error("-X needs KEY=VALUE, not \"%s\"", arg);
    key = strndup(arg, (size_t)(eq - arg));
    if (key == NULL) {
        fprintf(stderr, "pgcdc: error: out of memory\n");
        return EXIT_RUNTIME;
    }
    r = pgcdc_config_set(cfg, key, eq + 1, err, sizeof(err));
    free(key);
    if (r == PGCDC_OK)
        return 0;
    if (r == PGCDC_ERR_NOMEM) {
        fprintf(stderr, "pgcdc: error: %s\n", err);
        return EXIT_RUNTIME;
    }
    /* The property table, not --help, is what tells the names, types and ranges. */
    fprintf(stderr, "pgcdc: %s%s\n", err,
            strstr(err, "--help-config") != NULL ? "" : " (see pgcdc --help-config)");
    return EXIT_USAGE;
}

static int add_sink(pgcdc_config *cfg, options *o, const char *uri)
{
    if (pgcdc_config_add_sink(cfg, uri) != PGCDC_OK)
        return usage_error("%s", pgcdc_config_errmsg(cfg));
    o->nsinks++;
    return 0;
}

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
        {"sink", required_argument, NULL, OPT_SINK},
        {"status-interval", required_argument, NULL, 's'},
        {"create-slot", no_argument, NULL, OPT_CREATE_SLOT},
        {"drop-slot", no_argument, NULL, OPT_DROP_SLOT},
        {"drop-publication", no_argument, NULL, OPT_DROP_PUBLICATION},
        {"standby", no_argument, NULL, OPT_STANDBY},
        {"snapshot", required_argument, NULL, OPT_SNAPSHOT},
        {"request-snapshot", required_argument, NULL, OPT_REQUEST_SNAPSHOT},
        {"where", required_argument, NULL, OPT_WHERE},
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
        {"help-config", no_argument, NULL, OPT_HELP_CONFIG},
        {NULL, 0, NULL, 0},
    };
    int have_dbname = 0;
    int have_slot = 0;
    int have_publication = 0;
    char uri[4200];
    pgcdc_format format;
    int opt;
    int r;

    opterr = 0;
    for (;;) {
        uint64_t lsn;
        char *end;
        double secs;

        opt = getopt_long(argc, argv, "d:S:P:t:E:F:o:s:X:vqVh", longopts, NULL);
        if (opt == -1)
            break;
        r = 0;
        switch (opt) {
        case 'd':
            have_dbname = 1;
            if (pgcdc_config_set_conninfo(cfg, optarg) != PGCDC_OK)
                return usage_error("%s", pgcdc_config_errmsg(cfg));
            /* The library has its copy: out of sight of ps. */
            pgcdc_tool_scrub_password(optarg);
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
            if (lsn == 0)
                return usage_error("end position 0/0 would end before anything (give the LSN to "
                                   "stop at, e.g. from SELECT pg_current_wal_lsn())");
            pgcdc_config_set_endpos(cfg, lsn);
            break;
        case 'F':
            if (pgcdc_format_parse(optarg, &format) != PGCDC_OK)
                return usage_error("unknown format \"%s\" (use json, debezium or wal2json)",
                                   optarg);
            pgcdc_config_set_format(cfg, format);
            break;
        case 'o':
            /* "-" is stdout, as with pg_recvlogical. */
            if (strcmp(optarg, "-") == 0)
                snprintf(uri, sizeof(uri), "-");
            else
                snprintf(uri, sizeof(uri), "file:%s", optarg);
            r = add_sink(cfg, o, uri);
            break;
        case OPT_SINK:
            r = add_sink(cfg, o, optarg);
            /* Kept by the library: credentials in the URI out of sight of ps. */
            if (r == 0)
                pgcdc_tool_scrub_userinfo(optarg);
            break;
        case 'X':
            r = set_property(cfg, optarg);
            if (r == 0 && strncmp(optarg, "dbname=", 7) == 0)
                pgcdc_tool_scrub_password(optarg + 7);
            if (r == 0)
                pgcdc_tool_scrub_secret(optarg);
            if (r == 0 && strncmp(optarg, "sink=", 5) == 0)
                o->nsinks++;
            if (r == 0 &&
                (strncmp(optarg, "log_level=", 10) == 0 || strncmp(optarg, "log-level=", 10) == 0))
                o->log_level_set = 1;
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
        case OPT_DROP_PUBLICATION:
            o->drop_publication = 1;
            break;
        case OPT_REQUEST_SNAPSHOT:
            o->request = optarg;
            break;
        case OPT_WHERE:
            o->where = optarg;
            break;
        case OPT_SNAPSHOT: {
            char kv[64];

            snprintf(kv, sizeof(kv), "snapshot=%s", optarg);
            r = set_property(cfg, kv);
            break;
        }
        case OPT_STANDBY:
            pgcdc_config_set_standby(cfg, 1);
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
        case OPT_HELP_CONFIG:
            help_config();
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
        if (r != 0)
            return r;
    }
    if (optind < argc)
        return usage_error("unexpected argument \"%s\"", argv[optind]);
    if (!have_dbname && getenv("PGDATABASE") == NULL && getenv("PGSERVICE") == NULL)
        return usage_error("no database given (use --dbname)");
    if (!have_dbname)
        pgcdc_config_set_conninfo(cfg, "");
    if (o->where != NULL && o->request == NULL)
        return usage_error("--where only goes with --request-snapshot");
    if (o->request != NULL)
        return 0; /* a message to the running pgcdc: no slot or publication needed */
    if (o->create_slot && (o->drop_slot || o->drop_publication))
        return usage_error("--create-slot and --drop-%s cannot be combined",
                           o->drop_slot ? "slot" : "publication");
    if (o->if_not_exists && !o->create_slot)
        return usage_error("--if-not-exists only goes with --create-slot (a slot is created "
                           "when missing anyway, unless --no-create)");
    if (o->start && !o->create_slot)
        return usage_error("--start only goes with --create-slot (streaming is the default)");
    if (!have_slot && !(o->drop_publication && !o->drop_slot))
        return usage_error("no slot given (use --slot)");
    if (!have_publication && (o->drop_publication || !o->drop_slot))
        return usage_error("no publication given (use --publication)");
    if (o->nsinks == 0)
        return add_sink(cfg, o, "-");
    return 0;
}

/* Signals reach the worker from here on: every startup step gives way to them. */
static void catch_signals(pgcdc_worker *w)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    signal_worker = w;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}

static int run_stream(pgcdc_worker *w)
{
    int r = pgcdc_worker_start(w);

    if (r == PGCDC_OK) {
        /* A snapshot's progress on a terminal (its lines stay blank without one). */
        pgcdc_tool_progress *p = pgcdc_tool_progress_start(w);

        r = pgcdc_worker_run(w);
        pgcdc_tool_progress_stop(p);
    }
    return r == PGCDC_OK ? 0 : fail_with(w, r);
}

static int create_slot(pgcdc_worker *w, const options *o)
{
    int created = 0;
    int r = pgcdc_worker_prepare(w, &created);

    if (r != PGCDC_OK)
        return fail_with(w, r);
    if (created)
        interrupt_note = "; the slot created before stays";
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
    int r;

    if (cfg == NULL)
        return EXIT_RUNTIME;
    r = parse_args(argc, argv, cfg, &o);
    if (r != 0) {
        pgcdc_config_free(cfg);
        return r < 0 ? 0 : r;
    }
    if (o.verbosity < 0)
        pgcdc_config_set_log_level(cfg, PGCDC_LOG_ERROR);
    else if (!o.log_level_set || o.verbosity > 0)
        pgcdc_config_set_log_level(cfg, o.verbosity >= 2   ? PGCDC_LOG_DEBUG
                                        : o.verbosity == 1 ? PGCDC_LOG_INFO
                                                           : PGCDC_LOG_WARNING);
    pgcdc_config_set_log_cb(cfg, log_line, NULL);
    w = pgcdc_worker_new(cfg);
    pgcdc_config_free(cfg);
    if (w == NULL) {
        fprintf(stderr, "pgcdc: error: out of memory\n");
        return EXIT_RUNTIME;
    }
    catch_signals(w);
    if (o.request != NULL) {
        r = pgcdc_worker_request_snapshot(w, o.request, o.where);
        r = r == PGCDC_OK ? 0 : fail_with(w, r);
    } else if (o.drop_slot || o.drop_publication) {
        interrupt_note = "";
        r = pgcdc_worker_drop(w, (o.drop_slot ? PGCDC_DROP_SLOT : 0) |
                                     (o.drop_publication ? PGCDC_DROP_PUBLICATION : 0));
        r = r == PGCDC_OK ? 0 : fail_with(w, r);
    } else if (o.create_slot && !o.start) {
        r = create_slot(w, &o);
    } else {
        r = o.create_slot ? create_slot(w, &o) : 0;
        if (r == 0)
            r = run_stream(w);
    }
    signal_worker = NULL;
    pgcdc_worker_free(w);
    return r;
}
