/*
 * The property table: every setting by name, type, default, range and a
 * one-line description.  pgcdc_config_set() reads text through it into the
 * typed setters, the command line's -X and docs/CONFIGURATION.md come from
 * it, and sinks add theirs under sink.<kind>.<key>.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/num.h"
#include "config.h"
#include "format/format.h"

typedef struct prop prop;
/* Sets the property from its text, already checked against type and range (num: its value). */
typedef int (*prop_set)(pgcdc_config *cfg, const char *text, long long num);

struct prop {
    pgcdc_property info;
    prop_set set;
};

static int set_dbname(pgcdc_config *cfg, const char *text, long long num)
{
    (void)num;
    return pgcdc_config_set_conninfo(cfg, text);
}

static int set_table(pgcdc_config *cfg, const char *text, long long num)
{
    (void)num;
    return pgcdc_config_add_table(cfg, text);
}

static int set_slot(pgcdc_config *cfg, const char *text, long long num)
{
    (void)num;
    return pgcdc_config_set_slot(cfg, text);
}

static int set_publication(pgcdc_config *cfg, const char *text, long long num)
{
    (void)num;
    return pgcdc_config_set_publication(cfg, text);
}

static int set_create_slot(pgcdc_config *cfg, const char *text, long long num)
{
    (void)text;
    return pgcdc_config_set_create_slot(cfg, (int)num);
}

static int set_create_publication(pgcdc_config *cfg, const char *text, long long num)
{
    (void)text;
    return pgcdc_config_set_create_publication(cfg, (int)num);
}

static int set_replica_identity_full(pgcdc_config *cfg, const char *text, long long num)
{
    (void)text;
    return pgcdc_config_set_replica_identity_full(cfg, (int)num);
}

static int set_status_interval(pgcdc_config *cfg, const char *text, long long num)
{
    (void)text;
    return pgcdc_config_set_status_interval(cfg, (int)num);
}

static int set_endpos(pgcdc_config *cfg, const char *text, long long num)
{
    uint64_t lsn = 0;

    (void)num;
    pgcdc_lsn_parse(text, &lsn);
    return pgcdc_config_set_endpos(cfg, lsn);
}

static int set_protocol(pgcdc_config *cfg, const char *text, long long num)
{
    (void)num;
    return pgcdc_config_set_proto_version(cfg, strcmp(text, "auto") == 0 ? 0 : atoi(text));
}

static int set_two_phase(pgcdc_config *cfg, const char *text, long long num)
{
    (void)text;
    return pgcdc_config_set_two_phase(cfg, (int)num);
}

static int set_schema_changes(pgcdc_config *cfg, const char *text, long long num)
{
    (void)text;
    return pgcdc_config_set_schema_changes(cfg, (int)num);
}

static int set_binary(pgcdc_config *cfg, const char *text, long long num)
{
    (void)text;
    return pgcdc_config_set_binary(cfg, (int)num);
}

static int set_lua(pgcdc_config *cfg, const char *text, long long num)
{
    (void)num;
    return pgcdc_config_set_lua(cfg, text);
}

static int set_spool_dir(pgcdc_config *cfg, const char *text, long long num)
{
    (void)num;
    return pgcdc_config_set_spool_dir(cfg, text);
}

static int set_retries(pgcdc_config *cfg, const char *text, long long num)
{
    (void)text;
    return pgcdc_config_set_handler_retries(cfg, (int)num, cfg->handler_delay_ms);
}

static int set_retry_delay(pgcdc_config *cfg, const char *text, long long num)
{
    (void)text;
    return pgcdc_config_set_handler_retries(cfg, cfg->handler_retries, (int)num);
}

/* on_error and dead_letter are set apart; the worker checks at start that they agree. */
static int set_on_error(pgcdc_config *cfg, const char *text, long long num)
{
    (void)num;
    cfg->error_policy =
        strcmp(text, "halt") == 0 ? PGCDC_ON_ERROR_HALT : PGCDC_ON_ERROR_DEAD_LETTER;
    return PGCDC_OK;
}

static int set_dead_letter(pgcdc_config *cfg, const char *text, long long num)
{
    char *copy;

    (void)num;
    if (*text == '\0')
        return pgcdc__config_fail(cfg, PGCDC_ERR_INVALID, "the dead-letter file path is empty");
    copy = strdup(text);
    if (copy == NULL)
        return pgcdc__config_fail(cfg, PGCDC_ERR_NOMEM, "out of memory");
    free(cfg->dead_letter_path);
    cfg->dead_letter_path = copy;
    return PGCDC_OK;
}

static int set_max_backoff(pgcdc_config *cfg, const char *text, long long num)
{
    (void)text;
    return pgcdc_config_set_reconnect(cfg, (int)num, cfg->reconnect_attempts);
}

static int set_attempts(pgcdc_config *cfg, const char *text, long long num)
{
    (void)text;
    return pgcdc_config_set_reconnect(cfg, cfg->reconnect_max_ms, (int)num);
}

static int set_max_elapsed(pgcdc_config *cfg, const char *text, long long num)
{
    (void)text;
    return pgcdc_config_set_reconnect_max_elapsed(cfg, (int64_t)num);
}

static int set_link_timeout(pgcdc_config *cfg, const char *text, long long num)
{
    (void)text;
    return pgcdc_config_set_link_timeout(cfg, (int)num);
}

static int set_standby(pgcdc_config *cfg, const char *text, long long num)
{
    (void)text;
    return pgcdc_config_set_standby(cfg, (int)num);
}

static int set_failover(pgcdc_config *cfg, const char *text, long long num)
{
    static const char *const modes[] = {"auto", "on", "off"};

    (void)num;
    for (int i = 0; i < 3; i++)
        if (strcmp(text, modes[i]) == 0)
            return pgcdc_config_set_failover(cfg, (pgcdc_failover)i);
    return pgcdc_config_set_failover(cfg, (pgcdc_failover)-1);
}

static int set_snapshot(pgcdc_config *cfg, const char *text, long long num)
{
    static const char *const modes[] = {"never", "initial", "initial_only", "incremental"};

    (void)num;
    for (int i = 0; i < 4; i++)
        if (strcmp(text, modes[i]) == 0)
            return pgcdc_config_set_snapshot(cfg, (pgcdc_snapshot_mode)i);
    return pgcdc_config_set_snapshot(cfg, (pgcdc_snapshot_mode)-1);
}

static int set_snapshot_parallel(pgcdc_config *cfg, const char *text, long long num)
{
    (void)text;
    cfg->snapshot_parallel = (int)num;
    return PGCDC_OK;
}

static int set_snapshot_chunk_rows(pgcdc_config *cfg, const char *text, long long num)
{
    (void)text;
    cfg->snapshot_chunk_rows = (long)num;
    return PGCDC_OK;
}

static int set_snapshot_chunk_bytes(pgcdc_config *cfg, const char *text, long long num)
{
    (void)text;
    cfg->snapshot_chunk_bytes = num;
    return PGCDC_OK;
}

static int set_snapshot_state(pgcdc_config *cfg, const char *text, long long num)
{
    (void)num;
    return pgcdc__config_set_snapshot_state(cfg, text);
}

static int set_heartbeat(pgcdc_config *cfg, const char *text, long long num)
{
    (void)text;
    if (num > 0 && num < 100)
        return pgcdc__config_fail(
            cfg, PGCDC_ERR_INVALID,
            "heartbeat.interval must be 0 (off) or at least 100ms, not %lldms", num);
    cfg->heartbeat_ms = (int)num;
    return PGCDC_OK;
}

static int set_max_retained_wal(pgcdc_config *cfg, const char *text, long long num)
{
    (void)text;
    cfg->max_retained_wal = num;
    return PGCDC_OK;
}

static int set_max_retained_wal_exit(pgcdc_config *cfg, const char *text, long long num)
{
    (void)text;
    cfg->max_retained_wal_exit = (int)num;
    return PGCDC_OK;
}

static int set_log_level(pgcdc_config *cfg, const char *text, long long num)
{
    static const char *const levels[] = {"error", "warning", "info", "debug"};

    (void)num;
    for (int i = 0; i < 4; i++) {
        if (strcmp(text, levels[i]) == 0)
            return pgcdc_config_set_log_level(cfg, (pgcdc_log_level)i);
    }
    return PGCDC_ERR_INVALID;
}

static int set_format(pgcdc_config *cfg, const char *text, long long num)
{
    pgcdc_format format = PGCDC_FORMAT_JSON;

    (void)num;
    pgcdc_format_parse(text, &format);
    return pgcdc_config_set_format(cfg, format);
}

static int set_sink(pgcdc_config *cfg, const char *text, long long num)
{
    (void)num;
    return pgcdc_config_add_sink(cfg, text);
}

static int set_plugin(pgcdc_config *cfg, const char *text, long long num)
{
    (void)num;
    return pgcdc_config_load_plugin(cfg, text);
}

static int set_exclude_table(pgcdc_config *cfg, const char *text, long long num)
{
    (void)num;
    return pgcdc__config_add_name(cfg, &cfg->excludes, &cfg->nexcludes, text);
}

static int set_via_root(pgcdc_config *cfg, const char *text, long long num)
{
    (void)text;
    cfg->via_root = (int)num;
    return PGCDC_OK;
}

static int set_ops(pgcdc_config *cfg, const char *text, long long num)
{
    (void)num;
    return pgcdc__config_set_ops(cfg, text);
}

static int set_push_down(pgcdc_config *cfg, const char *text, long long num)
{
    (void)text;
    cfg->filter_push_down = (int)num;
    return PGCDC_OK;
}

static int set_mask_salt(pgcdc_config *cfg, const char *text, long long num)
{
    char *copy = strdup(text);

    (void)num;
    if (copy == NULL)
        return pgcdc__config_fail(cfg, PGCDC_ERR_NOMEM, "out of memory");
    free(cfg->mask_salt);
    cfg->mask_salt = copy;
    return PGCDC_OK;
}

#define NONE 0, 0, NULL

static const prop props[] = {
    {{"dbname", PGCDC_PROP_STRING, NULL, NONE,
      "connection string or URI (libpq's; PG* environment variables apply)"},
     set_dbname},
    {{"slot", PGCDC_PROP_STRING, NULL, NONE,
      "replication slot: 1 to 63 of [a-z0-9_]; created when missing unless create_slot is off"},
     set_slot},
    {{"publication", PGCDC_PROP_STRING, NULL, NONE,
      "publication: 1 to 63 of [a-z0-9_]; created for the tables when missing"},
     set_publication},
    {{"table", PGCDC_PROP_LIST, NULL, NONE,
      "a table to stream, \"table\" or \"schema.table\" (each setting adds one); names match "
      "exactly, case included; quote a part as in SQL when it holds a dot or begins with a "
      "quote: schema.\"My.Table\"; a partitioned table brings its partitions; * and ? in an "
      "unquoted part make a pattern (public.order*), resolved at the start"},
     set_table},
    {{"exclude_table", PGCDC_PROP_LIST, NULL, NONE,
      "a table left out of those that table names (each setting adds one), named the same way, "
      "patterns included"},
     set_exclude_table},
    {{"create_slot", PGCDC_PROP_BOOL, "true", NONE, "create the slot when it does not exist"},
     set_create_slot},
    {{"create_publication", PGCDC_PROP_BOOL, "true", NONE,
      "create the publication when it does not exist"},
     set_create_publication},
    {{"publish_via_partition_root", PGCDC_PROP_BOOL, "false", NONE,
      "a publication pgcdc creates sends the changes of partitions as their partitioned "
      "table's (PostgreSQL 13 and later)"},
     set_via_root},
    {{"filter.ops", PGCDC_PROP_STRING, "insert,update,delete,truncate", NONE,
      "the operations handed out (snapshot rows always are); a publication pgcdc creates "
      "publishes only these"},
     set_ops},
    {{"filter.push_down", PGCDC_PROP_BOOL, "true", NONE,
      "a publication pgcdc creates carries filter.ops and, on PostgreSQL 15, the column lists and "
      "row filters it safely can; false: pgcdc alone applies them"},
     set_push_down},
    {{"filter.columns.<table>", PGCDC_PROP_STRING, NULL, NONE,
      "the table's columns handed out, comma-separated (its key columns always are)"},
     NULL},
    {{"filter.exclude_columns.<table>", PGCDC_PROP_STRING, NULL, NONE,
      "the table's columns left out, comma-separated (not a key column)"},
     NULL},
    {{"filter.where.<table>", PGCDC_PROP_STRING, NULL, NONE,
      "a row filter: a column compared with a literal (= <> < <= > >=), IS [NOT] NULL, [NOT] IN "
      "(...), AND, OR, NOT, parentheses"},
     NULL},
    {{"mask.<table>.<column>", PGCDC_PROP_ENUM, NULL, 0, 0, "hash|redact",
      "the column's values as the hex SHA-256 of mask.salt and their text (hash), or *** "
      "(redact); NULL stays NULL"},
     NULL},
    {{"mask.salt", PGCDC_PROP_STRING, NULL, NONE,
      "text hashed before each value that mask.<table>.<column>=hash masks"},
     set_mask_salt},
    {{"replica_identity_full", PGCDC_PROP_BOOL, "false", NONE,
      "set REPLICA IDENTITY FULL on the listed tables at start (whole old rows)"},
     set_replica_identity_full},
    {{"status_interval", PGCDC_PROP_DURATION, "10s", 100, 10000, NULL,
      "how often the confirmed position is reported to the server at least"},
     set_status_interval},
    {{"endpos", PGCDC_PROP_LSN, NULL, NONE,
      "stop once everything committed up to this LSN is confirmed"},
     set_endpos},
    {{"protocol", PGCDC_PROP_ENUM, "auto", 0, 0, "auto|1|2|3",
      "pgoutput protocol; 2 streams large transactions before their commit (spooled to "
      "disk); 3 also allows two_phase; auto: 2 from PostgreSQL 14, else 1"},
     set_protocol},
    {{"two_phase", PGCDC_PROP_BOOL, "false", NONE,
      "deliver prepared transactions at PREPARE TRANSACTION, then COMMIT/ROLLBACK PREPARED as "
      "events of their own (protocol 3, PostgreSQL 15+)"},
     set_two_phase},
    {{"schema_changes", PGCDC_PROP_BOOL, "true", NONE,
      "emit a SCHEMA_CHANGE event before a table's first change after its columns changed "
      "(with the DDL statement when DDL capture is installed)"},
     set_schema_changes},
    {{"binary", PGCDC_PROP_BOOL, "true", NONE,
      "ask for binary column values where every column's type allows (same output)"},
     set_binary},
    {{"spool_dir", PGCDC_PROP_STRING, NULL, NONE,
      "where streamed transactions wait for their commit (default $TMPDIR or /tmp)"},
     set_spool_dir},
    {{"handler.retries", PGCDC_PROP_INT, "5", 0, 100, NULL,
      "retries of a failing handler or sink call before the error policy applies"},
     set_retries},
    {{"handler.retry_delay", PGCDC_PROP_DURATION, "100ms", 0, 60000, NULL,
      "the first retry's delay; each retry doubles it, up to 30 s"},
     set_retry_delay},
    {{"lua", PGCDC_PROP_STRING, NULL, NONE,
      "a Lua 5.4 script whose filter, transform and route functions run on each change "
      "(docs/LUA.md)"},
     set_lua},
    {{"on_error", PGCDC_PROP_ENUM, "halt", 0, 0, "halt|dead_letter",
      "after the retries: halt (confirm nothing past it) or dead_letter (record it, go on)"},
     set_on_error},
    {{"dead_letter", PGCDC_PROP_STRING, NULL, NONE,
      "the file that on_error=dead_letter appends failed changes to (fsynced)"},
     set_dead_letter},
    {{"reconnect.max_backoff", PGCDC_PROP_DURATION, "30s", 10, 3600000, NULL,
      "the longest wait between reconnect attempts (from 100 ms, doubling, with jitter)"},
     set_max_backoff},
    {{"reconnect.attempts", PGCDC_PROP_INT, "0", 0, 1000000000, NULL,
      "failed reconnect attempts before giving up (0: never give up)"},
     set_attempts},
    {{"reconnect.max_elapsed", PGCDC_PROP_DURATION, "0ms", 0, 2592000000LL, NULL,
      "how long reconnecting may go on before the run ends (0: no limit; errors retrying "
      "cannot mend end it at once)"},
     set_max_elapsed},
    {{"link_timeout", PGCDC_PROP_DURATION, "25s", 1000, 3600000, NULL,
      "server silence while waiting on it (pinged meanwhile) after which the link is reopened"},
     set_link_timeout},
    {{"standby", PGCDC_PROP_BOOL, "false", NONE,
      "when another process holds the slot: wait and take over when it frees, instead of failing"},
     set_standby},
    {{"slot.failover", PGCDC_PROP_ENUM, "auto", 0, 0, "auto|on|off",
      "a failover slot (PostgreSQL 17), kept on standbys with sync_replication_slots: auto (a "
      "slot created on a primary of 17 or later), on (also alter an existing slot; refused "
      "before 17 and on a standby), off"},
     set_failover},
    {{"snapshot", PGCDC_PROP_ENUM, "never", 0, 0, "never|initial|initial_only|incremental",
      "rows already in the tables as READ events: initial (the new slot's snapshot, then the "
      "stream), initial_only (then exit), incremental (read while streaming), never"},
     set_snapshot},
    {{"snapshot.parallel", PGCDC_PROP_INT, "1", 1, 64, NULL,
      "connections that read an initial snapshot (each table cut into as many key ranges)"},
     set_snapshot_parallel},
    {{"snapshot.chunk_rows", PGCDC_PROP_INT, "20000", 1, 10000000, NULL,
      "rows of a chunk at most: the unit of progress kept, and of an incremental read"},
     set_snapshot_chunk_rows},
    {{"snapshot.chunk_bytes", PGCDC_PROP_SIZE, "16MB", 65536, 1073741824, NULL,
      "about the memory of an incremental chunk (rows held until its closing watermark)"},
     set_snapshot_chunk_bytes},
    {{"snapshot.state_file", PGCDC_PROP_STRING, NULL, NONE,
      "where a snapshot's progress is kept (fsynced before its chunks are confirmed); "
      "default pgcdc-<slot>.snapshot in the working directory"},
     set_snapshot_state},
    {{"heartbeat.interval", PGCDC_PROP_DURATION, "0ms", 0, 86400000, NULL,
      "while streaming, write a logical message (prefix pgcdc.heartbeat) in the slot's database "
      "this often, so that an idle slot always has a recent position to confirm (0: off)"},
     set_heartbeat},
    {{"slot.max_retained_wal", PGCDC_PROP_SIZE, NULL, 1, 4398046511104LL, NULL,
      "warn (and flag it in the stats) while the slot holds back more WAL than this, read every "
      "5 s (default: no budget)"},
     set_max_retained_wal},
    {{"slot.max_retained_wal_exit", PGCDC_PROP_BOOL, "false", NONE,
      "over slot.max_retained_wal: stop with PGCDC_ERR_WAL_BUDGET instead of only warning"},
     set_max_retained_wal_exit},
    {{"log_level", PGCDC_PROP_ENUM, "info", 0, 0, "error|warning|info|debug",
      "log lines at and above this level go to the log hook (or stderr)"},
     set_log_level},
    {{"format", PGCDC_PROP_ENUM, "json", 0, 0, "json|debezium|wal2json",
      "the format of sink events: native JSON, Debezium envelopes or wal2json format 2"},
     set_format},
    {{"sink", PGCDC_PROP_LIST, NULL, NONE,
      "where events go: - (stdout) or file:PATH (each setting adds one)"},
     set_sink},
    {{"plugin", PGCDC_PROP_LIST, NULL, NONE,
      "a shared object to load, whose pgcdc_plugin_init registers handlers and sink kinds (each "
      "setting loads one; load it before a sink of its kind)"},
     set_plugin},
};

#define NPROPS ((int)(sizeof(props) / sizeof(props[0])))

/* Every kind has it: its events' format, instead of the worker's. */
static const pgcdc_property sink_format_prop = {
    "format",
    PGCDC_PROP_ENUM,
    NULL,
    0,
    0,
    "json|debezium|wal2json",
    "this kind's sinks get events in this format instead of the worker's (format)"};

const pgcdc_property *pgcdc_property_at(int i, const char **prefix)
{
    const pgcdc__format_ops *format;
    const pgcdc_sink_ops *ops;
    const char *sink_prefix;

    if (prefix != NULL)
        *prefix = NULL;
    if (i < 0)
        return NULL;
    if (i < NPROPS)
        return &props[i].info;
    i -= NPROPS;
    for (int k = 0; (format = pgcdc__format_at(k)) != NULL; k++) {
        if (i < format->nproperties) {
            if (prefix != NULL)
                *prefix = format->name;
            return &format->properties[i];
        }
        i -= format->nproperties;
    }
    /* Each kind's own, then the format every kind has. */
    for (int k = 0; (ops = pgcdc__sink_kind_at(k, &sink_prefix)) != NULL; k++) {
        if (i <= ops->nproperties) {
            if (prefix != NULL)
                *prefix = sink_prefix;
            return i < ops->nproperties ? &ops->properties[i] : &sink_format_prop;
        }
        i -= ops->nproperties + 1;
    }
    return NULL;
}

/* A format's option: <format>.<name>. */
static const pgcdc_property *find_format_prop(const char *key, const char **why)
{
    const char *dot = strchr(key, '.');
    const pgcdc__format_ops *format;
    char name[32];

    if (dot == NULL || (size_t)(dot - key) >= sizeof(name))
        return NULL;
    memcpy(name, key, (size_t)(dot - key));
    name[dot - key] = '\0';
    format = pgcdc__format_named(name);
    if (format == NULL)
        return NULL;
    *why = "unknown option of that format";
    return pgcdc__format_property(format, dot + 1);
}

static int parse_bool(const char *text, long long *out)
{
    int on;

    if (pgcdc__parse_flag(text, &on) != 0)
        return -1;
    *out = on;
    return 0;
}

static int parse_int(const char *text, long long *out)
{
    char *end;

    /* strtoll would take leading space and '+'; a property value is the number alone. */
    if (!(text[0] == '-' || (text[0] >= '0' && text[0] <= '9')))
        return -1;
    errno = 0;
    *out = strtoll(text, &end, 10);
    return errno != 0 || end == text || *end != '\0' ? -1 : 0;
}

/* Whether text is one of the "a|b|c" choices. */
static int is_choice(const char *choices, const char *text)
{
    size_t n = strlen(text);

    for (const char *p = choices; *p != '\0';) {
        const char *bar = strchr(p, '|');
        size_t len = bar != NULL ? (size_t)(bar - p) : strlen(p);

        if (len == n && strncmp(p, text, n) == 0)
            return 1;
        p += len + (bar != NULL);
    }
    return 0;
}

static const char *type_words(pgcdc_prop_type type)
{
    switch (type) {
    case PGCDC_PROP_BOOL:
        return "true or false";
    case PGCDC_PROP_INT:
        return "an integer";
    case PGCDC_PROP_DURATION:
        return "a duration such as 500ms or 10s";
    case PGCDC_PROP_SIZE:
        return "a size such as 64kB or 1MB";
    case PGCDC_PROP_LSN:
        return "an LSN such as 0/1A2B3C8";
    default:
        return "text";
    }
}

/* Checks text against the property's type and range; the number it reads as in *num. */
static int check_value(pgcdc_config *cfg, const char *key, const pgcdc_property *p,
                       const char *text, long long *num)
{
    uint64_t lsn;
    int bad = 0;

    *num = 0;
    switch (p->type) {
    case PGCDC_PROP_BOOL:
        bad = parse_bool(text, num) != 0;
        break;
    case PGCDC_PROP_INT:
        bad = parse_int(text, num) != 0;
        break;
    case PGCDC_PROP_DURATION:
        bad = pgcdc__parse_duration_ms(text, num) != 0;
        break;
    case PGCDC_PROP_SIZE:
        bad = pgcdc__parse_size(text, num) != 0;
        break;
    case PGCDC_PROP_LSN:
        bad = pgcdc_lsn_parse(text, &lsn) != PGCDC_OK;
        break;
    default:
        return PGCDC_OK;
    }
    if (bad)
        return pgcdc__config_fail(cfg, PGCDC_ERR_INVALID, "invalid value \"%s\" for %s (use %s)",
                                  text, key, type_words(p->type));
    if ((p->type == PGCDC_PROP_INT || p->type == PGCDC_PROP_DURATION ||
         p->type == PGCDC_PROP_SIZE) &&
        (*num < p->min || *num > p->max))
        return pgcdc__config_fail(cfg, PGCDC_ERR_INVALID,
                                  "%s must be between %lld and %lld%s, not \"%s\"", key, p->min,
                                  p->max,
                                  p->type == PGCDC_PROP_DURATION ? " ms"
                                  : p->type == PGCDC_PROP_SIZE   ? " bytes"
                                                                 : "",
                                  text);
    return PGCDC_OK;
}

/* A property a kind passes through to its client library, once the kind has checked it. */
static const pgcdc_property sink_passthrough_prop = {
    "", PGCDC_PROP_STRING, NULL, 0, 0, NULL, "passed through to the sink's client library"};

/*
 * A sink property: sink.<kind>.<key> of a built-in kind, a registered one
 * or a sink added with its ops; one the kind does not list but lets through (its client
 * library's own) when its check_property accepts value.
 */
static const pgcdc_property *find_sink_prop(pgcdc_config *cfg, const char *key, const char *value,
                                            const char **why, int *failed)
{
    const char *kind = key + 5;
    const char *dot = strchr(kind, '.');
    const pgcdc_sink_ops *ops = NULL;
    const pgcdc_property *p;
    char name[32];
    char err[512] = "";

    *why = "unknown sink kind";
    if (dot == NULL || (size_t)(dot - kind) >= sizeof(name))
        return NULL;
    memcpy(name, kind, (size_t)(dot - kind));
    name[dot - kind] = '\0';
    ops = pgcdc__sink_kind(cfg->kinds, cfg->nkinds, name, NULL);
    for (int i = 0; ops == NULL && i < cfg->nsinks; i++) {
        if (strcmp(cfg->sinks[i].ops->kind, name) == 0)
            ops = cfg->sinks[i].ops;
    }
    if (ops == NULL)
        return NULL;
    *why = "unknown property of that sink";
    if (strcmp(dot + 1, "format") == 0)
        return &sink_format_prop;
    p = pgcdc__sink_property(ops, dot + 1);
    if (p != NULL || ops->abi < 3 || ops->check_property == NULL)
        return p;
    if (ops->check_property(dot + 1, value, err, sizeof(err)) != PGCDC_OK) {
        pgcdc__config_fail(cfg, PGCDC_ERR_INVALID, "%s: %s", key,
                           err[0] ? err : "unknown property of that sink");
        *failed = 1;
        return NULL;
    }
    return &sink_passthrough_prop;
}

int pgcdc_config_set(pgcdc_config *cfg, const char *key, const char *value, char *errbuf,
                     size_t errlen)
{
    char norm[128];
    char choice[64];
    char dyn[128] = "";
    const pgcdc_property *p = NULL;
    const prop *own = NULL;
    const char *why = "unknown property";
    const char *tmpl;
    long long num;
    size_t n;
    int r;

    if (key == NULL || value == NULL) {
        r = pgcdc__config_fail(cfg, PGCDC_ERR_INVALID, "a property needs a name and a value");
        goto out;
    }
    n = strlen(key);
    if (n >= sizeof(norm)) {
        r = pgcdc__config_fail(cfg, PGCDC_ERR_INVALID, "unknown property \"%.40s...\"", key);
        goto out;
    }
    for (size_t i = 0; i <= n; i++)
        norm[i] = key[i] == '-' ? '_' : key[i];
    for (int i = 0; i < NPROPS && p == NULL; i++) {
        if (props[i].set != NULL && strcmp(props[i].info.name, norm) == 0) {
            own = &props[i];
            p = &own->info;
        }
    }
    /* filter.where.<table> and the like: the prefix as listed, the table as written. */
    tmpl = p == NULL ? pgcdc__filter_template(norm, &n) : NULL;
    for (int i = 0; tmpl != NULL && i < NPROPS && p == NULL; i++) {
        if (strcmp(props[i].info.name, tmpl) == 0) {
            own = &props[i];
            p = &own->info;
            snprintf(dyn, sizeof(dyn), "%.*s%s", (int)n, norm, key + n);
        }
    }
    if (p == NULL && strncmp(norm, "sink.", 5) == 0) {
        int failed = 0;

        p = find_sink_prop(cfg, norm, value, &why, &failed);
        if (failed) {
            r = PGCDC_ERR_INVALID;
            goto out;
        }
        /* A passed-through name is kept as written ("sink.kafka.linger.ms"). */
        if (p == &sink_passthrough_prop) {
            r = pgcdc__config_keep_prop(cfg, key, value);
            goto out;
        }
    } else if (p == NULL) {
        p = find_format_prop(norm, &why);
    }
    if (p == NULL) {
        r = pgcdc__config_fail(cfg, PGCDC_ERR_INVALID,
                               "%s \"%s\" (pgcdc --help-config lists every property)", why, key);
        goto out;
    }
    /* Choices are words: any case, '-' or '_' ("dead-letter" is dead_letter). */
    if (p->type == PGCDC_PROP_ENUM) {
        size_t vn = strnlen(value, sizeof(choice));

        for (size_t i = 0; i < vn && i + 1 < sizeof(choice); i++)
            choice[i] = value[i] == '-' ? '_' : (char)tolower((unsigned char)value[i]);
        choice[vn < sizeof(choice) ? vn : 0] = '\0';
        if (vn == sizeof(choice) || !is_choice(p->choices, choice)) {
            r = pgcdc__config_fail(cfg, PGCDC_ERR_INVALID,
                                   "invalid value \"%s\" for %s (use one of: %s)", value, norm,
                                   p->choices);
            goto out;
        }
        value = choice;
    }
    r = check_value(cfg, norm, p, value, &num);
    if (r == PGCDC_OK)
        r = own == NULL        ? pgcdc__config_keep_prop(cfg, norm, value)
            : own->set != NULL ? own->set(cfg, value, num)
                               : pgcdc__config_add_filter(cfg, dyn, value);
out:
    if (r != PGCDC_OK && errbuf != NULL && errlen > 0)
        snprintf(errbuf, errlen, "%s", cfg->errmsg);
    return r;
}
