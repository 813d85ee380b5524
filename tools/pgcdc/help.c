/*
 * pgcdc --help and --help-config: the usage text, and the property table
 * as docs/CONFIGURATION.md holds it.
 */
#include <stdio.h>

#include "help.h"
#include "pgcdc.h"

void pgcdc_tool_usage(void)
{
    printf(
        "pgcdc streams PostgreSQL row changes (INSERT, UPDATE, DELETE, TRUNCATE) from a\n"
        "logical replication slot as JSON lines.\n\n"
        "Usage:\n"
        "  pgcdc --dbname CONNINFO --slot NAME --publication NAME [OPTION]...\n"
        "  pgcdc [--config FILE | -d ... -S ... -P ...] status\n"
        "                             each pipeline's slot (who streams from it, its\n"
        "                             confirmed position, the WAL it holds back) and\n"
        "                             publication, without streaming\n\n"
        "Connection and objects:\n"
        "  -d, --dbname=CONNINFO      connection string or URI (PG* variables apply)\n"
        "  -S, --slot=NAME            replication slot ([a-z0-9_], created if missing)\n"
        "  -P, --publication=NAME     publication ([a-z0-9_], created if missing)\n"
        "  -t, --table=SCHEMA.TABLE   table to publish (repeatable; 'public.\"MyTable\"'\n"
        "                             in SQL spelling; a partitioned table with its\n"
        "                             partitions; * and ? make a pattern: 'public.order*')\n"
        "      --exclude-table=PATTERN  leave out tables the list or its patterns name\n"
        "                             (repeatable)\n"
        "      --replica-identity-full  set REPLICA IDENTITY FULL on the tables\n"
        "      --no-create            never create the slot or the publication\n\n"
        "Actions (default: stream):\n"
        "      --create-slot          create the slot (and publication), then exit\n"
        "      --if-not-exists        with --create-slot: an existing slot is fine\n"
        "      --start                with --create-slot: stream afterwards\n"
        "      --drop-slot            drop the slot, then exit\n"
        "      --drop-publication     drop the publication, then exit (with --drop-slot:\n"
        "                             both, removing the pipeline)\n"
        "      --install-ddl-capture  install the event trigger that sends each DDL\n"
        "                             statement with its table's next SCHEMA_CHANGE\n"
        "                             event, then exit (superuser, PostgreSQL 14+)\n"
        "      --remove-ddl-capture   remove it, then exit\n"
        "      --snapshot MODE        rows already in the tables as READ events: initial\n"
        "                             (when the slot is created), initial_only, incremental\n"
        "                             or never (see -X snapshot.*)\n"
        "      --request-snapshot TABLES  ask the pgcdc streaming from this database for an\n"
        "                             incremental snapshot of TABLES (schema.table,...)\n"
        "      --where COND           ... of the rows matching COND only\n"
        "      --standby              when another process streams from the slot, wait\n"
        "                             and take over once it is free (default: fail)\n"
        "      --failover, --no-failover  make the slot a failover slot (PostgreSQL 17),\n"
        "                             kept on standbys for a switch to one (default: a\n"
        "                             slot created on a primary of 17 or later is one)\n\n"
        "Streaming:\n"
        "  -E, --endpos=LSN           exit once everything up to LSN is written and "
        "confirmed\n"
        "  -F, --format=FORMAT        json (default), debezium or wal2json\n"
        "  -o, --output=FILE          append to FILE (created 0600), fsynced before\n"
        "                             confirming; - is stdout; SIGHUP reopens it\n"
        "      --sink=URI             where events go: - (stdout, the default), file:PATH,\n"
        "                             kafka://HOST:PORT[,HOST:PORT]/TOPIC, http(s)://URL,\n"
        "                             redis://HOST:PORT/KEY, nats://HOST:PORT/SUBJECT,\n"
        "                             amqp://HOST:PORT/EXCHANGE, postgresql://URI or\n"
        "                             exec:COMMAND (repeatable)\n"
        "      --exec=COMMAND         a handler in any language: events on its stdin, the\n"
        "                             count of lines handled on its stdout (docs/HANDLERS.md)\n"
        "      --route=TABLES         the --sink, --exec or -o before it gets only these tables'\n"
        "                             changes (table, schema.table or schema.*, comma-separated)\n"
        "      --plugin=FILE.so       load a plugin, which may set a handler and add sink\n"
        "                             kinds (KIND:... in --sink), before anything else;\n"
        "                             with one, no JSON on stdout unless --sink -\n"
        "                             (repeatable)\n"
        "      --lua=FILE             a Lua 5.4 script: filter(event), transform(event) and\n"
        "                             route(event) on each change, each optional\n"
        "                             (docs/LUA.md)\n"
        "  -s, --status-interval=SECS  status updates to the server (default 10)\n"
        "      --protocol=1|2|3|auto  pgoutput protocol; 2 streams large transactions\n"
        "                             (default auto: 2 from PostgreSQL 14, else 1)\n"
        "      --two-phase            prepared transactions at PREPARE TRANSACTION, then\n"
        "                             COMMIT/ROLLBACK PREPARED events (PostgreSQL 15+)\n"
        "      --no-binary            text column values from the server (default: binary\n"
        "                             where every column's type allows; same output)\n"
        "      --config=FILE          settings from a YAML file (keys: these options' long\n"
        "                             names and the properties; ${VAR} and ${VAR:-default}\n"
        "                             from the environment; a pipelines list runs several);\n"
        "                             flags given here override it; SIGHUP reads it again\n"
        "      --check                with --config: check the file, connect to nothing\n"
        "  -X KEY=VALUE               any property (see --help-config), e.g.\n"
        "                             -X handler.retries=3 -X sink.file.flush_interval=50ms\n"
        "  -v, --verbose              debug log lines too (default: info: startup, a\n"
        "                             summary every minute, warnings; nothing per event)\n"
        "  -q, --quiet                errors only (and no status line)\n"
        "      --log-format=FORMAT    text (default: time, level, message) or json (an\n"
        "                             object per line)\n"
        "      --summary-interval=SECS  a summary log line this often (default 60; 0 none)\n"
        "      --metrics-addr=HOST:PORT  serve the status page /, /metrics (Prometheus),\n"
        "                             /healthz and /readyz there, e.g. 127.0.0.1:9187\n"
        "  -V, --version              print the version and exit\n"
        "  -?, --help                 print this help and exit\n"
        "      --help-config          print every property (Markdown) and exit\n\n"
        "Exit status: 0 done (also after SIGINT or SIGTERM while streaming), 1 error,\n"
        "2 bad usage, 3 slot missing or invalidated, 4 slot in use by another process,\n"
        "5 slot not a pgoutput slot of this database, 6 no replication slot left,\n"
        "7 the slot held more WAL than slot.max_retained_wal (with its _exit on),\n"
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
void pgcdc_tool_help_config(void)
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
