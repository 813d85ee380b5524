/*
 * The command line and the --config file, into configurations (see args.h).
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "admin.h"
#include "args.h"
#include "help.h"
#include "scrub.h"

enum {
    OPT_CREATE_SLOT = 256,
    OPT_DROP_SLOT,
    OPT_IF_NOT_EXISTS,
    OPT_START,
    OPT_NO_CREATE,
    OPT_RI_FULL,
    OPT_PROTOCOL,
    OPT_TWO_PHASE,
    OPT_BINARY,
    OPT_NO_BINARY,
    OPT_SINK,
    OPT_HELP_CONFIG,
    OPT_DROP_PUBLICATION,
    OPT_STANDBY,
    OPT_SNAPSHOT,
    OPT_REQUEST_SNAPSHOT,
    OPT_WHERE,
    OPT_CONFIG,
    OPT_CHECK,
    OPT_LOG_FORMAT,
    OPT_SUMMARY_INTERVAL,
    OPT_METRICS_ADDR,
    OPT_ROUTE,
    OPT_EXEC,
    OPT_PLUGIN,
    OPT_LUA,
    OPT_EXCLUDE_TABLE,
    OPT_FAILOVER,
    OPT_NO_FAILOVER,
    OPT_INSTALL_DDL,
    OPT_REMOVE_DDL
};

static const struct option longopts[] = {
    {"dbname", required_argument, NULL, 'd'},
    {"slot", required_argument, NULL, 'S'},
    {"publication", required_argument, NULL, 'P'},
    {"table", required_argument, NULL, 't'},
    {"exclude-table", required_argument, NULL, OPT_EXCLUDE_TABLE},
    {"endpos", required_argument, NULL, 'E'},
    {"format", required_argument, NULL, 'F'},
    {"output", required_argument, NULL, 'o'},
    {"sink", required_argument, NULL, OPT_SINK},
    {"route", required_argument, NULL, OPT_ROUTE},
    {"exec", required_argument, NULL, OPT_EXEC},
    {"plugin", required_argument, NULL, OPT_PLUGIN},
    {"lua", required_argument, NULL, OPT_LUA},
    {"status-interval", required_argument, NULL, 's'},
    {"create-slot", no_argument, NULL, OPT_CREATE_SLOT},
    {"drop-slot", no_argument, NULL, OPT_DROP_SLOT},
    {"drop-publication", no_argument, NULL, OPT_DROP_PUBLICATION},
    {"install-ddl-capture", no_argument, NULL, OPT_INSTALL_DDL},
    {"remove-ddl-capture", no_argument, NULL, OPT_REMOVE_DDL},
    {"standby", no_argument, NULL, OPT_STANDBY},
    {"failover", no_argument, NULL, OPT_FAILOVER},
    {"no-failover", no_argument, NULL, OPT_NO_FAILOVER},
    {"snapshot", required_argument, NULL, OPT_SNAPSHOT},
    {"request-snapshot", required_argument, NULL, OPT_REQUEST_SNAPSHOT},
    {"where", required_argument, NULL, OPT_WHERE},
    {"if-not-exists", no_argument, NULL, OPT_IF_NOT_EXISTS},
    {"start", no_argument, NULL, OPT_START},
    {"no-create", no_argument, NULL, OPT_NO_CREATE},
    {"replica-identity-full", no_argument, NULL, OPT_RI_FULL},
    {"protocol", required_argument, NULL, OPT_PROTOCOL},
    {"two-phase", no_argument, NULL, OPT_TWO_PHASE},
    {"binary", no_argument, NULL, OPT_BINARY},
    {"no-binary", no_argument, NULL, OPT_NO_BINARY},
    {"config", required_argument, NULL, OPT_CONFIG},
    {"check", no_argument, NULL, OPT_CHECK},
    {"log-format", required_argument, NULL, OPT_LOG_FORMAT},
    {"summary-interval", required_argument, NULL, OPT_SUMMARY_INTERVAL},
    {"metrics-addr", required_argument, NULL, OPT_METRICS_ADDR},
    {"verbose", no_argument, NULL, 'v'},
    {"quiet", no_argument, NULL, 'q'},
    {"version", no_argument, NULL, 'V'},
    {"help", no_argument, NULL, 'h'},
    {"help-config", no_argument, NULL, OPT_HELP_CONFIG},
    {NULL, 0, NULL, 0},
};

int pgcdc_tool_usage_error(const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "pgcdc: ");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, " (see pgcdc --help)\n");
    return EXIT_USAGE;
}

static int nomem(void)
{
    fprintf(stderr, "pgcdc: error: out of memory\n");
    return EXIT_RUNTIME;
}

static int keep(pgcdc_tool_args *a, int opt, const char *value)
{
    pgcdc_tool_arg *grown = realloc(a->v, sizeof(*grown) * (size_t)(a->n + 1));

    if (grown == NULL)
        return nomem();
    a->v = grown;
    a->v[a->n].opt = opt;
    a->v[a->n].value = value != NULL ? strdup(value) : NULL;
    if (value != NULL && a->v[a->n].value == NULL)
        return nomem();
    a->n++;
    return 0;
}

int pgcdc_tool_args_read(int argc, char **argv, pgcdc_tool_args *a)
{
    int opt;

    memset(a, 0, sizeof(*a));
    opterr = 0;
    while ((opt = getopt_long(argc, argv, "d:S:P:t:E:F:o:s:X:vqVh", longopts, NULL)) != -1) {
        int r = 0;

        switch (opt) {
        case 'V':
            printf("pgcdc %s\n", pgcdc_version());
            return -1;
        case 'h':
            pgcdc_tool_usage();
            return -1;
        case OPT_HELP_CONFIG:
            pgcdc_tool_help_config();
            return -1;
        case '?':
            if (strcmp(argv[optind - 1], "-?") == 0) {
                pgcdc_tool_usage();
                return -1;
            }
            if (optopt != 0)
                return pgcdc_tool_usage_error("option \"%s\" needs a value or is unknown",
                                              argv[optind - 1]);
            return pgcdc_tool_usage_error("unknown option \"%s\"", argv[optind - 1]);
        case OPT_CONFIG:
            a->config = optarg;
            break;
        case OPT_CHECK:
            a->check = 1;
            break;
        default:
            if (opt == OPT_ROUTE && !a->sinks)
                return pgcdc_tool_usage_error("--route goes after the --sink, --exec or --output "
                                              "it routes (--sink URI --route "
                                              "TABLE,...)");
            r = keep(a, opt, optarg);
            if (r != 0)
                return r;
            a->tables |= opt == 't';
            a->sinks |= opt == 'o' || opt == OPT_SINK || opt == OPT_EXEC ||
                        (opt == 'X' && (strncmp(optarg, "sink=", 5) == 0));
            /* The copies are kept: the secrets out of sight of ps. */
            if (opt == 'd')
                pgcdc_tool_scrub_password(optarg);
            if (opt == OPT_SINK)
                pgcdc_tool_scrub_userinfo(optarg);
            if (opt == 'X' && strncmp(optarg, "dbname=", 7) == 0)
                pgcdc_tool_scrub_password(optarg + 7);
            if (opt == 'X')
                pgcdc_tool_scrub_secret(optarg);
            break;
        }
    }
    /* The one command word: status. */
    if (optind < argc && strcmp(argv[optind], "status") == 0) {
        a->status = 1;
        optind++;
    }
    if (optind < argc)
        return pgcdc_tool_usage_error("unexpected argument \"%s\"", argv[optind]);
    if (a->check && a->config == NULL)
        return pgcdc_tool_usage_error("--check goes with --config FILE (it checks the file)");
    return 0;
}

void pgcdc_tool_args_free(pgcdc_tool_args *a)
{
    for (int i = 0; i < a->n; i++)
        free(a->v[i].value);
    free(a->v);
    memset(a, 0, sizeof(*a));
}

int pgcdc_tool_args_for_pipelines(const pgcdc_tool_args *a, int npipelines)
{
    for (int i = 0; i < a->n; i++) {
        const char *what = NULL;

        switch (a->v[i].opt) {
        case 'S':
            what = "--slot";
            break;
        case 'P':
            what = "--publication";
            break;
        case 't':
            what = "--table";
            break;
        case OPT_EXCLUDE_TABLE:
            what = "--exclude-table";
            break;
        case 'E':
            what = "--endpos";
            break;
        case OPT_CREATE_SLOT:
            what = "--create-slot";
            break;
        case OPT_DROP_SLOT:
            what = "--drop-slot";
            break;
        case OPT_DROP_PUBLICATION:
            what = "--drop-publication";
            break;
        case OPT_REQUEST_SNAPSHOT:
            what = "--request-snapshot";
            break;
        case OPT_INSTALL_DDL:
            what = "--install-ddl-capture";
            break;
        case OPT_REMOVE_DDL:
            what = "--remove-ddl-capture";
            break;
        default:
            break;
        }
        if (what != NULL)
            return pgcdc_tool_usage_error("%s names one pipeline, and the file has %d (set it in "
                                          "the file's pipelines)",
                                          what, npipelines);
    }
    return 0;
}

/* -X KEY=VALUE. */
static int set_property(pgcdc_config *cfg, pgcdc_tool_options *o, const char *arg)
{
    const char *eq = strchr(arg, '=');
    char *key;
    char err[512];
    int r;

    if (eq == NULL || eq == arg)
        return pgcdc_tool_usage_error("-X needs KEY=VALUE, not \"%s\"", arg);
    key = strndup(arg, (size_t)(eq - arg));
    if (key == NULL)
        return nomem();
    r = pgcdc_config_set(cfg, key, eq + 1, err, sizeof(err));
    if (r == PGCDC_OK) {
        o->nsinks += pgcdc_tool_key_is(key, "sink");
        o->log_level_set |= pgcdc_tool_key_is(key, "log_level");
    }
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

/* Routes "a, s.b, \"My,T\"" to the sink added last: a comma outside quotes parts them. */
static int add_routes(pgcdc_config *cfg, const char *list)
{
    char one[512];
    size_t n = 0;
    int quoted = 0;

    for (const char *p = list;; p++) {
        if (*p == '"')
            quoted = !quoted;
        if (*p == '\0' || (*p == ',' && !quoted)) {
            while (n > 0 && one[n - 1] == ' ')
                n--;
            one[n] = '\0';
            if (pgcdc_config_route_sink(cfg, one) != PGCDC_OK)
                return -1;
            if (*p == '\0')
                return 0;
            n = 0;
            continue;
        }
        if ((*p == ' ' && n == 0) || n + 1 >= sizeof(one))
            continue;
        one[n++] = *p;
    }
}

static int add_sink(pgcdc_config *cfg, pgcdc_tool_options *o, const char *uri)
{
    if (pgcdc_config_add_sink(cfg, uri) != PGCDC_OK)
        return pgcdc_tool_usage_error("%s", pgcdc_config_errmsg(cfg));
    o->nsinks++;
    return 0;
}

/* The sink of -o FILE: "-" is stdout, as with pg_recvlogical. */
static void output_uri(const char *path, char *uri, size_t size)
{
    if (strcmp(path, "-") == 0)
        snprintf(uri, size, "-");
    else
        snprintf(uri, size, "file:%s", path);
}

static int add_output(pgcdc_config *cfg, pgcdc_tool_options *o, const char *path)
{
    char uri[4200];

    output_uri(path, uri, sizeof(uri));
    return add_sink(cfg, o, uri);
}

/* text or json: 0 or 1, -1 for anything else. */
static int log_format(const char *v)
{
    return strcmp(v, "text") == 0 ? 0 : strcmp(v, "json") == 0 ? 1 : -1;
}

/* Whole seconds from 0 to a day: the number, -1 for anything else. */
static int seconds(const char *v)
{
    char *end;
    long n;

    errno = 0;
    n = strtol(v, &end, 10);
    return errno != 0 || end == v || *end != '\0' || n < 0 || n > 86400 ? -1 : (int)n;
}

/* The plugin of -X plugin=FILE (or plugins=), else NULL. */
static const char *x_plugin(const char *arg)
{
    const char *eq = strchr(arg, '=');
    char key[16];

    if (eq == NULL || (size_t)(eq - arg) >= sizeof(key))
        return NULL;
    memcpy(key, arg, (size_t)(eq - arg));
    key[eq - arg] = '\0';
    return pgcdc_tool_key_is(key, "plugin") || pgcdc_tool_key_is(key, "plugins") ? eq + 1 : NULL;
}

static int load_plugin(pgcdc_config *cfg, pgcdc_tool_options *o, const char *path)
{
    int r = pgcdc_config_load_plugin(cfg, path);

    if (r == PGCDC_OK) {
        o->plugins++;
        return 0;
    }
    fprintf(stderr, "pgcdc: %s\n", pgcdc_config_errmsg(cfg));
    return r == PGCDC_ERR_NOMEM ? EXIT_RUNTIME : EXIT_USAGE;
}

/* One option of the command line. */
static int apply(pgcdc_config *cfg, pgcdc_tool_options *o, int opt, const char *val)
{
    pgcdc_format format;
    uint64_t lsn;
    char *end;
    double secs;

    switch (opt) {
    case 'd':
        o->have_dbname = 1;
        if (pgcdc_config_set_conninfo(cfg, val) != PGCDC_OK)
            return pgcdc_tool_usage_error("%s", pgcdc_config_errmsg(cfg));
        return 0;
    case 'S':
        o->have_slot = 1;
        snprintf(o->slot, sizeof(o->slot), "%s", val);
        if (pgcdc_config_set_slot(cfg, val) != PGCDC_OK)
            return pgcdc_tool_usage_error("%s", pgcdc_config_errmsg(cfg));
        return 0;
    case 'P':
        o->have_publication = 1;
        if (pgcdc_config_set_publication(cfg, val) != PGCDC_OK)
            return pgcdc_tool_usage_error("%s", pgcdc_config_errmsg(cfg));
        return 0;
    case 't':
        if (pgcdc_config_add_table(cfg, val) != PGCDC_OK)
            return pgcdc_tool_usage_error("%s", pgcdc_config_errmsg(cfg));
        return 0;
    case OPT_EXCLUDE_TABLE:
        if (pgcdc_config_set(cfg, "exclude_table", val, NULL, 0) != PGCDC_OK)
            return pgcdc_tool_usage_error("%s", pgcdc_config_errmsg(cfg));
        return 0;
    case 'E':
        if (pgcdc_lsn_parse(val, &lsn) != PGCDC_OK)
            return pgcdc_tool_usage_error(
                "invalid end position \"%s\" (use an LSN such as 0/1A2B3C8)", val);
        if (lsn == 0)
            return pgcdc_tool_usage_error(
                "end position 0/0 would end before anything (give the LSN to stop at, e.g. "
                "from SELECT pg_current_wal_lsn())");
        pgcdc_config_set_endpos(cfg, lsn);
        o->endpos = 1;
        return 0;
    case 'F':
        if (pgcdc_format_parse(val, &format) != PGCDC_OK)
            return pgcdc_tool_usage_error("unknown format \"%s\" (use json, debezium or wal2json)",
                                          val);
        pgcdc_config_set_format(cfg, format);
        return 0;
    case 'o':
        return add_output(cfg, o, val);
    case OPT_SINK:
        return add_sink(cfg, o, val);
    case OPT_EXEC: {
        /* A handler: the exec sink's command (docs/HANDLERS.md). */
        char *uri = malloc(strlen(val) + 6);
        int r;

        if (uri == NULL)
            return nomem();
        snprintf(uri, strlen(val) + 6, "exec:%s", val);
        r = add_sink(cfg, o, uri);
        free(uri);
        return r;
    }
    case OPT_PLUGIN:
        return 0; /* loaded first (load_plugins) */
    case OPT_LUA:
        if (pgcdc_config_set_lua(cfg, val) != PGCDC_OK)
            return pgcdc_tool_usage_error("%s", pgcdc_config_errmsg(cfg));
        return 0;
    case OPT_ROUTE:
        if (add_routes(cfg, val) != 0)
            return pgcdc_tool_usage_error("--route %s: %s", val, pgcdc_config_errmsg(cfg));
        return 0;
    case 'X':
        return x_plugin(val) != NULL ? 0 : set_property(cfg, o, val);
    case 's':
        errno = 0;
        secs = strtod(val, &end);
        if (errno != 0 || *end != '\0' || end == val || secs < 0.1 || secs > 10 ||
            pgcdc_config_set_status_interval(cfg, (int)(secs * 1000 + 0.5)) != PGCDC_OK)
            return pgcdc_tool_usage_error("invalid status interval \"%s\" (use 0.1 to 10 seconds)",
                                          val);
        return 0;
    case OPT_CREATE_SLOT:
        o->create_slot = 1;
        return 0;
    case OPT_DROP_SLOT:
        o->drop_slot = 1;
        return 0;
    case OPT_DROP_PUBLICATION:
        o->drop_publication = 1;
        return 0;
    case OPT_INSTALL_DDL:
        o->install_ddl = 1;
        return 0;
    case OPT_REMOVE_DDL:
        o->remove_ddl = 1;
        return 0;
    case OPT_REQUEST_SNAPSHOT:
        o->request = val;
        return 0;
    case OPT_WHERE:
        o->where = val;
        return 0;
    case OPT_SNAPSHOT: {
        char kv[64];

        snprintf(kv, sizeof(kv), "snapshot=%s", val);
        return set_property(cfg, o, kv);
    }
    case OPT_STANDBY:
        pgcdc_config_set_standby(cfg, 1);
        return 0;
    case OPT_FAILOVER:
    case OPT_NO_FAILOVER:
        pgcdc_config_set_failover(cfg,
                                  opt == OPT_FAILOVER ? PGCDC_FAILOVER_ON : PGCDC_FAILOVER_OFF);
        return 0;
    case OPT_IF_NOT_EXISTS:
        o->if_not_exists = 1;
        return 0;
    case OPT_START:
        o->start = 1;
        return 0;
    case OPT_NO_CREATE:
        pgcdc_config_set_create_slot(cfg, 0);
        pgcdc_config_set_create_publication(cfg, 0);
        return 0;
    case OPT_RI_FULL:
        pgcdc_config_set_replica_identity_full(cfg, 1);
        return 0;
    case OPT_BINARY:
        pgcdc_config_set_binary(cfg, 1);
        return 0;
    case OPT_NO_BINARY:
        pgcdc_config_set_binary(cfg, 0);
        return 0;
    case OPT_PROTOCOL:
        if ((strcmp(val, "1") != 0 && strcmp(val, "2") != 0 && strcmp(val, "3") != 0 &&
             strcmp(val, "auto") != 0) ||
            pgcdc_config_set_proto_version(cfg, strcmp(val, "auto") == 0 ? 0 : atoi(val)) !=
                PGCDC_OK)
            return pgcdc_tool_usage_error("invalid protocol \"%s\" (use 1, 2, 3 or auto)", val);
        return 0;
    case OPT_TWO_PHASE:
        pgcdc_config_set_two_phase(cfg, 1);
        return 0;
    case OPT_LOG_FORMAT:
        if ((o->log_json = log_format(val)) < 0)
            return pgcdc_tool_usage_error("invalid log format \"%s\" (use text or json)", val);
        return 0;
    case OPT_SUMMARY_INTERVAL:
        if ((o->summary_s = seconds(val)) < 0)
            return pgcdc_tool_usage_error(
                "invalid summary interval \"%s\" (use 0 to 86400 seconds; 0: none)", val);
        return 0;
    case OPT_METRICS_ADDR: {
        char err[512];

        if (pgcdc_tool_admin_check_addr(val, err, sizeof(err)) != 0)
            return pgcdc_tool_usage_error("%s", err);
        o->metrics_addr = val;
        return 0;
    }
    case 'v':
        o->verbosity++;
        return 0;
    case 'q':
        o->verbosity = -1;
        return 0;
    default:
        return pgcdc_tool_usage_error("unknown option");
    }
}

/* A boolean as the properties spell it: 1 true, 0 false, -1 neither. */
static int boolean(const char *v)
{
    static const char *const yes[] = {"true", "on", "yes", "1"};
    static const char *const no[] = {"false", "off", "no", "0"};

    for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
        if (strcasecmp(v, yes[i]) == 0)
            return 1;
        if (strcasecmp(v, no[i]) == 0)
            return 0;
    }
    return -1;
}

/* One setting of the file; errors say where it stands. */
static int apply_setting(pgcdc_config *cfg, pgcdc_tool_options *o, const pgcdc_tool_args *a,
                         const pgcdc_tool_setting *st)
{
    const char *key = st->key;
    char err[512];
    int r;

    if (pgcdc_tool_key_is(key, "plugin") || pgcdc_tool_key_is(key, "plugins"))
        return 0; /* loaded first (load_plugins) */
    if (pgcdc_tool_key_is(key, "tables"))
        key = "table";
    else if (pgcdc_tool_key_is(key, "sinks"))
        key = "sink";
    /* A list on the command line replaces the file's. */
    if ((a->tables && pgcdc_tool_key_is(key, "table")) ||
        (a->sinks && (pgcdc_tool_key_is(key, "sink") || pgcdc_tool_key_is(key, "output") ||
                      pgcdc_tool_key_is(key, "route"))))
        return 0;
    if (pgcdc_tool_key_is(key, "route")) {
        r = add_routes(cfg, st->value) == 0 ? PGCDC_OK : PGCDC_ERR_INVALID;
        snprintf(err, sizeof(err), "%s", pgcdc_config_errmsg(cfg));
    } else if (pgcdc_tool_key_is(key, "output")) {
        char uri[4200];

        output_uri(st->value, uri, sizeof(uri));
        r = pgcdc_config_add_sink(cfg, uri);
        snprintf(err, sizeof(err), "%s", pgcdc_config_errmsg(cfg));
        o->nsinks += r == PGCDC_OK;
    } else if (pgcdc_tool_key_is(key, "log_format")) {
        r = (o->log_json = log_format(st->value)) < 0 ? PGCDC_ERR_INVALID : PGCDC_OK;
        snprintf(err, sizeof(err), "invalid value \"%s\" for log_format (use text or json)",
                 st->value);
    } else if (pgcdc_tool_key_is(key, "summary_interval")) {
        r = (o->summary_s = seconds(st->value)) < 0 ? PGCDC_ERR_INVALID : PGCDC_OK;
        snprintf(err, sizeof(err),
                 "invalid value \"%s\" for summary_interval (use 0 to 86400 seconds; 0: none)",
                 st->value);
    } else if (pgcdc_tool_key_is(key, "metrics_addr")) {
        r = pgcdc_tool_admin_check_addr(st->value, err, sizeof(err)) != 0 ? PGCDC_ERR_INVALID
                                                                          : PGCDC_OK;
        o->metrics_addr = st->value;
    } else if (pgcdc_tool_key_is(key, "no_create")) {
        int b = boolean(st->value);

        r = b < 0 ? PGCDC_ERR_INVALID : PGCDC_OK;
        snprintf(err, sizeof(err), "invalid value \"%s\" for no_create (use true or false)",
                 st->value);
        if (b == 1)
            apply(cfg, o, OPT_NO_CREATE, NULL);
    } else {
        r = pgcdc_config_set(cfg, key, st->value, err, sizeof(err));
        if (r == PGCDC_OK) {
            o->have_dbname |= pgcdc_tool_key_is(key, "dbname");
            o->have_publication |= pgcdc_tool_key_is(key, "publication");
            o->nsinks += pgcdc_tool_key_is(key, "sink");
            o->log_level_set |= pgcdc_tool_key_is(key, "log_level");
            if (pgcdc_tool_key_is(key, "slot")) {
                o->have_slot = 1;
                snprintf(o->slot, sizeof(o->slot), "%s", st->value);
            }
        }
    }
    if (r == PGCDC_OK)
        return 0;
    if (r == PGCDC_ERR_NOMEM)
        return nomem();
    fprintf(stderr, "pgcdc: %s:%d:%d: %s%s\n", a->config, st->line, st->column, err,
            strstr(err, "--help-config") != NULL || strstr(err, "(use") != NULL
                ? ""
                : " (pgcdc --help-config lists every property)");
    return EXIT_USAGE;
}

/* What a run needs, given everything. */
static int complete(pgcdc_config *cfg, pgcdc_tool_options *o)
{
    if (!o->have_dbname && getenv("PGDATABASE") == NULL && getenv("PGSERVICE") == NULL)
        return pgcdc_tool_usage_error("no database given (use --dbname)");
    if (!o->have_dbname)
        pgcdc_config_set_conninfo(cfg, "");
    if (o->where != NULL && o->request == NULL)
        return pgcdc_tool_usage_error("--where only goes with --request-snapshot");
    if (o->install_ddl && o->remove_ddl)
        return pgcdc_tool_usage_error(
            "--install-ddl-capture and --remove-ddl-capture cannot be combined");
    if ((o->install_ddl || o->remove_ddl) &&
        (o->request != NULL || o->create_slot || o->drop_slot || o->drop_publication))
        return pgcdc_tool_usage_error(
            "--%s-ddl-capture goes alone (not with --create-slot, --drop-slot, "
            "--drop-publication or --request-snapshot)",
            o->install_ddl ? "install" : "remove");
    if (o->install_ddl || o->remove_ddl)
        return 0; /* the database's event trigger: no slot or publication needed */
    if (o->request != NULL)
        return 0; /* a message to the running pgcdc: no slot or publication needed */
    if (o->create_slot && (o->drop_slot || o->drop_publication))
        return pgcdc_tool_usage_error("--create-slot and --drop-%s cannot be combined",
                                      o->drop_slot ? "slot" : "publication");
    if (o->if_not_exists && !o->create_slot)
        return pgcdc_tool_usage_error(
            "--if-not-exists only goes with --create-slot (a slot is created when missing "
            "anyway, unless --no-create)");
    if (o->start && !o->create_slot)
        return pgcdc_tool_usage_error(
            "--start only goes with --create-slot (streaming is the default)");
    if (!o->have_slot && !(o->drop_publication && !o->drop_slot))
        return pgcdc_tool_usage_error("no slot given (use --slot)");
    if (!o->have_publication && (o->drop_publication || !o->drop_slot))
        return pgcdc_tool_usage_error("no publication given (use --publication)");
    /* With a plugin, its handler may be where events go: JSON on stdout only when asked. */
    if (o->nsinks == 0 && o->plugins == 0 && add_sink(cfg, o, "-") != 0)
        return EXIT_USAGE;
    if (pgcdc_config_check(cfg) != PGCDC_OK)
        return pgcdc_tool_usage_error("%s", pgcdc_config_errmsg(cfg));
    return 0;
}

/*
 * The plugins of the file (its shared settings, then the pipeline's) and of
 * the command line, before anything else: a sink of a plugin's kind, or a
 * property of it, may then stand anywhere.  0 or an exit code.
 */
static int load_plugins(pgcdc_config *cfg, pgcdc_tool_options *o, const pgcdc_tool_args *a,
                        const pgcdc_tool_config_file *f, int p)
{
    int r = 0;

    for (int pass = 0; pass < 2 && f != NULL; pass++) {
        for (int i = 0; i < f->nsettings && r == 0; i++) {
            const pgcdc_tool_setting *st = &f->settings[i];

            if (st->pipeline != (pass == 0 ? -1 : p) || (pass == 1 && p < 0) ||
                !(pgcdc_tool_key_is(st->key, "plugin") || pgcdc_tool_key_is(st->key, "plugins")))
                continue;
            if (pgcdc_config_load_plugin(cfg, st->value) == PGCDC_OK) {
                o->plugins++;
                continue;
            }
            fprintf(stderr, "pgcdc: %s:%d:%d: %s\n", a->config, st->line, st->column,
                    pgcdc_config_errmsg(cfg));
            r = EXIT_USAGE;
        }
    }
    for (int i = 0; i < a->n && r == 0; i++) {
        if (a->v[i].opt == OPT_PLUGIN)
            r = load_plugin(cfg, o, a->v[i].value);
        else if (a->v[i].opt == 'X' && x_plugin(a->v[i].value) != NULL)
            r = load_plugin(cfg, o, x_plugin(a->v[i].value));
    }
    return r;
}

int pgcdc_tool_configure(pgcdc_config *cfg, pgcdc_tool_options *o, const pgcdc_tool_args *a,
                         const pgcdc_tool_config_file *f, int p)
{
    int r;

    memset(o, 0, sizeof(*o));
    o->summary_s = 60;
    r = load_plugins(cfg, o, a, f, p);
    if (r != 0)
        return r;
    /* --check tells every bad setting of the file, not only the first. */
    for (int pass = 0; pass < 2 && f != NULL; pass++) {
        for (int i = 0; i < f->nsettings && (r == 0 || a->check); i++) {
            if (f->settings[i].pipeline == (pass == 0 ? -1 : p) && (pass == 0 || p >= 0)) {
                int e = apply_setting(cfg, o, a, &f->settings[i]);

                r = r != 0 ? r : e;
            }
        }
    }
    for (int i = 0; i < a->n && r == 0; i++)
        r = apply(cfg, o, a->v[i].opt, a->v[i].value);
    return r == 0 ? complete(cfg, o) : r;
}
