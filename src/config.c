/*
 * Worker configuration: setters that validate and copy, and the copy the
 * worker takes at creation so the caller's config may be freed.  The
 * string-keyed twin of every setter is in props.c.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "core/filter.h"
#include "script.h"

pgcdc_config *pgcdc_config_new(void)
{
    pgcdc_config *cfg = calloc(1, sizeof(*cfg));

    if (cfg == NULL)
        return NULL;
    cfg->create_slot = 1;
    cfg->create_publication = 1;
    cfg->status_interval_ms = 10000;
    cfg->proto_version = 0; /* chosen for the server */
    cfg->binary = 1;
    cfg->schema_changes = 1;
    cfg->handler_retries = 5;
    cfg->handler_delay_ms = 100;
    cfg->reconnect_max_ms = 30000;
    cfg->link_timeout_ms = 25000;
    cfg->snapshot_parallel = 1;
    cfg->snapshot_chunk_rows = 20000;
    cfg->snapshot_chunk_bytes = 16 * 1024 * 1024;
    cfg->log_level = PGCDC_LOG_INFO;
    cfg->format = PGCDC_FORMAT_JSON;
    cfg->filter_ops = PGCDC__FOP_ALL;
    cfg->filter_push_down = 1;
    return cfg;
}

static void free_names(pgcdc__table_name *list, int n)
{
    for (int i = 0; i < n; i++) {
        free(list[i].schema);
        free(list[i].name);
    }
    free(list);
}

static void free_props(pgcdc__prop_value *props, int n)
{
    for (int i = 0; i < n; i++) {
        free(props[i].key);
        free(props[i].value);
    }
    free(props);
}

void pgcdc__config_clear(pgcdc_config *cfg)
{
    free(cfg->conninfo);
    free_names(cfg->tables, cfg->ntables);
    free_names(cfg->excludes, cfg->nexcludes);
    free_props(cfg->filters, cfg->nfilters);
    free(cfg->mask_salt);
    for (int i = 0; i < cfg->nsinks; i++) {
        free(cfg->sinks[i].uri);
        pgcdc__routes_free(&cfg->sinks[i]);
    }
    free(cfg->sinks);
    free_props(cfg->props, cfg->nprops);
    free(cfg->kinds);
    /* Last: what was registered above may point into a plugin. */
    for (int i = 0; i < cfg->nplugins; i++)
        pgcdc__plugin_unref(cfg->plugins[i]);
    free(cfg->plugins);
    free(cfg->slot);
    free(cfg->publication);
    free(cfg->spool_dir);
    free(cfg->dead_letter_path);
    free(cfg->lua_path);
    free(cfg->snapshot_state);
    memset(cfg, 0, sizeof(*cfg));
}

void pgcdc_config_free(pgcdc_config *cfg)
{
    if (cfg == NULL)
        return;
    pgcdc__config_clear(cfg);
    free(cfg);
}

int pgcdc__config_fail(pgcdc_config *cfg, int err, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(cfg->errmsg, sizeof(cfg->errmsg), fmt, ap);
    va_end(ap);
    /* Messages quote what they were given: a control character there must not break the line. */
    for (char *p = cfg->errmsg; *p != '\0'; p++) {
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            *p = '?';
    }
    return err;
}

static int oom(pgcdc_config *cfg)
{
    return pgcdc__config_fail(cfg, PGCDC_ERR_NOMEM, "out of memory");
}

const char *pgcdc_config_errmsg(const pgcdc_config *cfg)
{
    return cfg == NULL ? "no configuration" : cfg->errmsg;
}

static int set_string(pgcdc_config *cfg, char **slot, const char *value)
{
    char *copy = strdup(value);

    if (copy == NULL)
        return oom(cfg);
    free(*slot);
    *slot = copy;
    return PGCDC_OK;
}

int pgcdc_config_set_conninfo(pgcdc_config *cfg, const char *conninfo)
{
    if (conninfo == NULL)
        return pgcdc__config_fail(cfg, PGCDC_ERR_INVALID, "connection string is NULL");
    return set_string(cfg, &cfg->conninfo, conninfo);
}

int pgcdc__valid_slot_name(const char *name)
{
    size_t n = 0;

    for (const char *p = name; *p != '\0'; p++, n++) {
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_'))
            return 0;
    }
    return n >= 1 && n <= 63;
}

int pgcdc_config_set_slot(pgcdc_config *cfg, const char *slot)
{
    if (slot == NULL || !pgcdc__valid_slot_name(slot))
        return pgcdc__config_fail(
            cfg, PGCDC_ERR_INVALID,
            "invalid slot name (use 1 to 63 lower-case letters, digits or underscores)");
    return set_string(cfg, &cfg->slot, slot);
}

int pgcdc_config_set_publication(pgcdc_config *cfg, const char *publication)
{
    if (publication == NULL || !pgcdc__valid_slot_name(publication))
        return pgcdc__config_fail(
            cfg, PGCDC_ERR_INVALID,
            "invalid publication name (use 1 to 63 lower-case letters, digits or underscores)");
    return set_string(cfg, &cfg->publication, publication);
}

static int valid_table_part(const char *s, size_t n)
{
    if (n == 0 || n > 63)
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];

        if (c < 0x20 || c == 0x7f)
            return 0;
    }
    return 1;
}

#define BAD_TABLE_NAME                                                                             \
    "invalid table name (use \"table\" or \"schema.table\", each part 1 to 63 characters "         \
    "without control characters, or quoted as in SQL: schema.\"My.Table\")"

/*
 * One part of a table name at *p: quoted as in SQL ("" inside stands for
 * one ", and a dot is part of the name), or unquoted: everything up to the
 * next dot, exactly as written.  Sets *out to a malloc'd copy and moves *p
 * past the part: 0; or -1 with *why (NULL: out of memory).
 */
static int table_part(const char **p, char **out, const char **why)
{
    const char *s = *p;
    size_t n = 0;

    *why = BAD_TABLE_NAME;
    if (*s != '"') {
        n = strcspn(s, ".");
        if (!valid_table_part(s, n))
            return -1;
        *out = strndup(s, n);
        *p = s + n;
        *why = NULL;
        return *out != NULL ? 0 : -1;
    }
    *out = malloc(strlen(s));
    if (*out == NULL) {
        *why = NULL;
        return -1;
    }
    for (s++; *s != '"' || s[1] == '"'; s++) {
        if (*s == '\0') {
            *why = "invalid table name: a quoted part has no closing quote (end it with \", and "
                   "write a \" inside it as \"\")";
            goto bad;
        }
        if (*s == '"')
            s++;
        (*out)[n++] = *s;
    }
    (*out)[n] = '\0';
    s++;
    if (*s != '\0' && *s != '.') {
        *why = "invalid table name: text after a closing quote (quote the whole part, as in "
               "schema.\"My\"\"Table\", and put a dot between schema and table)";
        goto bad;
    }
    if (!valid_table_part(*out, n))
        goto bad;
    *p = s;
    *why = NULL;
    return 0;
bad:
    free(*out);
    *out = NULL;
    return -1;
}

/* An unquoted part with * or ? is a pattern. */
static int part_glob(const char *at, const char *part)
{
    return *at != '"' && strpbrk(part, "*?") != NULL;
}

int pgcdc__config_parse_glob(const char *name, char **schema, char **table, int *glob,
                             const char **why)
{
    const char *dot;
    int g1, g2 = 0;

    *glob = 0;
    if (pgcdc__config_parse_table(name, 0, schema, table, why) < 0)
        return -1;
    /* The parts begin at the name and just after the dot the parse stopped at. */
    g1 = part_glob(name, *schema != NULL ? *schema : *table);
    if (*schema != NULL) {
        dot = name;
        if (*dot == '"') {
            for (dot++; *dot != '"' || dot[1] == '"'; dot++)
                dot += *dot == '"';
            dot++;
        } else {
            dot += strcspn(dot, ".");
        }
        g2 = part_glob(dot + 1, *table);
        *glob = g1 | (g2 << 1);
    } else {
        *glob = g1 << 1;
    }
    return 0;
}

int pgcdc__config_parse_table(const char *name, int wildcard, char **schema, char **table,
                              const char **why)
{
    const char *p = name;
    char *first = NULL;
    char *second = NULL;

    *schema = *table = NULL;
    if (table_part(&p, &first, why) < 0)
        goto bad;
    if (*p == '.' && wildcard && strcmp(p, ".*") == 0) {
        /* schema.*: every table of the schema (table stays NULL). */
        *schema = first;
        return 0;
    }
    if (*p == '.') {
        p++;
        if (table_part(&p, &second, why) < 0)
            goto bad;
    }
    if (*p != '\0') {
        *why = BAD_TABLE_NAME;
        goto bad;
    }
    *schema = second != NULL ? first : NULL;
    *table = second != NULL ? second : first;
    return 0;
bad:
    free(first);
    free(second);
    return -1;
}

int pgcdc__config_add_name(pgcdc_config *cfg, pgcdc__table_name **list, int *n, const char *name)
{
    const char *why = NULL;
    char *schema;
    char *table;
    int glob;
    pgcdc__table_name *grown;

    if (name == NULL)
        return pgcdc__config_fail(cfg, PGCDC_ERR_INVALID, "table name is NULL");
    if (pgcdc__config_parse_glob(name, &schema, &table, &glob, &why) < 0)
        return why == NULL ? oom(cfg) : pgcdc__config_fail(cfg, PGCDC_ERR_INVALID, "%s", why);
    grown = realloc(*list, (size_t)(*n + 1) * sizeof(*grown));
    if (grown == NULL) {
        free(schema);
        free(table);
        return oom(cfg);
    }
    *list = grown;
    grown[*n].schema = schema;
    grown[*n].name = table;
    grown[*n].glob = glob;
    (*n)++;
    return PGCDC_OK;
}

int pgcdc_config_add_table(pgcdc_config *cfg, const char *name)
{
    return pgcdc__config_add_name(cfg, &cfg->tables, &cfg->ntables, name);
}

int pgcdc_config_set_create_slot(pgcdc_config *cfg, int on)
{
    cfg->create_slot = on != 0;
    return PGCDC_OK;
}

int pgcdc_config_set_create_publication(pgcdc_config *cfg, int on)
{
    cfg->create_publication = on != 0;
    return PGCDC_OK;
}

int pgcdc_config_set_replica_identity_full(pgcdc_config *cfg, int on)
{
    cfg->replica_identity_full = on != 0;
    return PGCDC_OK;
}

int pgcdc_config_set_binary(pgcdc_config *cfg, int on)
{
    cfg->binary = on != 0;
    return PGCDC_OK;
}

int pgcdc_config_set_status_interval(pgcdc_config *cfg, int ms)
{
    if (ms < 100 || ms > 10000)
        return pgcdc__config_fail(cfg, PGCDC_ERR_INVALID,
                                  "status interval must be between 100 and 10000 ms");
    cfg->status_interval_ms = ms;
    return PGCDC_OK;
}

int pgcdc_config_set_endpos(pgcdc_config *cfg, uint64_t lsn)
{
    cfg->endpos = lsn;
    return PGCDC_OK;
}

int pgcdc_config_set_proto_version(pgcdc_config *cfg, int version)
{
    if (version < 0 || version > 3)
        return pgcdc__config_fail(cfg, PGCDC_ERR_INVALID,
                                  "protocol version must be 1, 2 or 3 (0: chosen for the server)");
    cfg->proto_version = version;
    return PGCDC_OK;
}

int pgcdc_config_set_two_phase(pgcdc_config *cfg, int on)
{
    cfg->two_phase = on != 0;
    return PGCDC_OK;
}

int pgcdc_config_set_schema_changes(pgcdc_config *cfg, int on)
{
    cfg->schema_changes = on != 0;
    return PGCDC_OK;
}

int pgcdc_config_set_spool_dir(pgcdc_config *cfg, const char *dir)
{
    if (dir == NULL || *dir == '\0')
        return pgcdc__config_fail(cfg, PGCDC_ERR_INVALID, "spool directory is empty");
    return set_string(cfg, &cfg->spool_dir, dir);
}

int pgcdc_config_set_lua(pgcdc_config *cfg, const char *path)
{
    char msg[PGCDC__MSG_SIZE];

    if (path == NULL || *path == '\0') {
        free(cfg->lua_path);
        cfg->lua_path = NULL;
        return PGCDC_OK;
    }
    /* A script that does not compile is refused here, before anything connects. */
    if (pgcdc__script_check(path, msg, sizeof(msg)) != PGCDC_OK)
        return pgcdc__config_fail(cfg, PGCDC_ERR_INVALID, "lua: %s", msg);
    return set_string(cfg, &cfg->lua_path, path);
}

int pgcdc_config_set_handler_retries(pgcdc_config *cfg, int retries, int first_delay_ms)
{
    if (retries < 0 || retries > 100 || first_delay_ms < 0 || first_delay_ms > 60000)
        return pgcdc__config_fail(cfg, PGCDC_ERR_INVALID,
                                  "handler retries must be 0..100 and the delay 0..60000 ms");
    cfg->handler_retries = retries;
    cfg->handler_delay_ms = first_delay_ms;
    return PGCDC_OK;
}

int pgcdc_config_set_error_policy(pgcdc_config *cfg, pgcdc_error_policy policy,
                                  const char *dead_letter_path)
{
    int r;

    if (policy == PGCDC_ON_ERROR_HALT) {
        cfg->error_policy = policy;
        return PGCDC_OK;
    }
    if (policy != PGCDC_ON_ERROR_DEAD_LETTER)
        return pgcdc__config_fail(cfg, PGCDC_ERR_INVALID,
                                  "unknown error policy (use halt or dead-letter)");
    if (dead_letter_path == NULL || *dead_letter_path == '\0')
        return pgcdc__config_fail(cfg, PGCDC_ERR_INVALID,
                                  "the dead-letter policy needs a file path");
    r = set_string(cfg, &cfg->dead_letter_path, dead_letter_path);
    if (r != PGCDC_OK)
        return r;
    cfg->error_policy = policy;
    return PGCDC_OK;
}

int pgcdc_config_set_reconnect(pgcdc_config *cfg, int max_backoff_ms, int max_attempts)
{
    if (max_backoff_ms < 10 || max_backoff_ms > 3600000 || max_attempts < 0)
        return pgcdc__config_fail(cfg, PGCDC_ERR_INVALID,
                                  "reconnect backoff must be 10..3600000 ms and attempts >= 0");
    cfg->reconnect_max_ms = max_backoff_ms;
    cfg->reconnect_attempts = max_attempts;
    return PGCDC_OK;
}

int pgcdc_config_set_reconnect_max_elapsed(pgcdc_config *cfg, int64_t max_elapsed_ms)
{
    if (max_elapsed_ms < 0)
        return pgcdc__config_fail(cfg, PGCDC_ERR_INVALID,
                                  "the reconnect time limit must be 0 (none) or more");
    cfg->reconnect_max_elapsed_ms = max_elapsed_ms;
    return PGCDC_OK;
}

int pgcdc_config_set_link_timeout(pgcdc_config *cfg, int timeout_ms)
{
    if (timeout_ms < 1000 || timeout_ms > 3600000)
        return pgcdc__config_fail(cfg, PGCDC_ERR_INVALID,
                                  "the link timeout must be 1000..3600000 ms");
    cfg->link_timeout_ms = timeout_ms;
    return PGCDC_OK;
}

int pgcdc_config_set_standby(pgcdc_config *cfg, int standby)
{
    cfg->standby = standby != 0;
    return PGCDC_OK;
}

int pgcdc_config_set_failover(pgcdc_config *cfg, pgcdc_failover mode)
{
    if ((int)mode < PGCDC_FAILOVER_AUTO || mode > PGCDC_FAILOVER_OFF)
        return pgcdc__config_fail(cfg, PGCDC_ERR_INVALID, "slot.failover must be auto, on or off");
    cfg->failover = (int)mode;
    return PGCDC_OK;
}

int pgcdc_config_set_snapshot(pgcdc_config *cfg, pgcdc_snapshot_mode mode)
{
    if ((int)mode < PGCDC_SNAPSHOT_NEVER || mode > PGCDC_SNAPSHOT_MODE_INCREMENTAL)
        return pgcdc__config_fail(cfg, PGCDC_ERR_INVALID,
                                  "snapshot must be never, initial, initial_only or incremental");
    cfg->snapshot_mode = (int)mode;
    return PGCDC_OK;
}

int pgcdc__config_set_snapshot_state(pgcdc_config *cfg, const char *path)
{
    return set_string(cfg, &cfg->snapshot_state, path);
}

int pgcdc_config_set_change_cb(pgcdc_config *cfg, pgcdc_change_cb cb, void *opaque)
{
    cfg->change_cb = cb;
    cfg->change_opaque = opaque;
    return PGCDC_OK;
}

int pgcdc_config_set_begin_cb(pgcdc_config *cfg, pgcdc_begin_cb cb, void *opaque)
{
    cfg->begin_cb = cb;
    cfg->begin_opaque = opaque;
    return PGCDC_OK;
}

int pgcdc_config_set_commit_cb(pgcdc_config *cfg, pgcdc_commit_cb cb, void *opaque)
{
    cfg->commit_cb = cb;
    cfg->commit_opaque = opaque;
    return PGCDC_OK;
}

int pgcdc_config_set_idle_cb(pgcdc_config *cfg, pgcdc_idle_cb cb, void *opaque)
{
    cfg->idle_cb = cb;
    cfg->idle_opaque = opaque;
    return PGCDC_OK;
}

int pgcdc_config_set_handler(pgcdc_config *cfg, const pgcdc_handler *h)
{
    if (h == NULL || h->abi < 1 || h->abi > PGCDC_HANDLER_ABI)
        return pgcdc__config_fail(cfg, PGCDC_ERR_INVALID,
                                  "handler ABI %d is not one this library knows (1 to %d)",
                                  h != NULL ? h->abi : 0, PGCDC_HANDLER_ABI);
    pgcdc_config_set_begin_cb(cfg, h->begin, h->opaque);
    pgcdc_config_set_change_cb(cfg, h->change, h->opaque);
    pgcdc_config_set_commit_cb(cfg, h->commit, h->opaque);
    pgcdc_config_set_idle_cb(cfg, h->idle, h->opaque);
    cfg->close_cb = h->close;
    cfg->close_opaque = h->opaque;
    return PGCDC_OK;
}

int pgcdc_config_set_log_cb(pgcdc_config *cfg, pgcdc_log_cb cb, void *opaque)
{
    cfg->log_cb = cb;
    cfg->log_opaque = opaque;
    return PGCDC_OK;
}

int pgcdc_config_set_log_level(pgcdc_config *cfg, pgcdc_log_level level)
{
    if (level < PGCDC_LOG_ERROR || level > PGCDC_LOG_DEBUG)
        return pgcdc__config_fail(cfg, PGCDC_ERR_INVALID, "unknown log level");
    cfg->log_level = level;
    return PGCDC_OK;
}

int pgcdc_config_set_format(pgcdc_config *cfg, pgcdc_format format)
{
    if (format != PGCDC_FORMAT_JSON && format != PGCDC_FORMAT_DEBEZIUM &&
        format != PGCDC_FORMAT_WAL2JSON)
        return pgcdc__config_fail(cfg, PGCDC_ERR_INVALID,
                                  "unknown format (use json, debezium or wal2json)");
    cfg->format = format;
    return PGCDC_OK;
}

int pgcdc_config_add_sink_ops(pgcdc_config *cfg, const pgcdc_sink_ops *ops, const char *uri,
                              void *opaque)
{
    pgcdc__sink_spec *grown;
    char *copy;

    if (ops == NULL || ops->abi < 1 || ops->abi > PGCDC_SINK_ABI || ops->kind == NULL ||
        ops->write == NULL)
        return pgcdc__config_fail(cfg, PGCDC_ERR_INVALID,
                                  "a sink needs ABI 1 to %d, a kind and a write function",
                                  PGCDC_SINK_ABI);
    if (ops->abi >= 3 && ops->check_uri != NULL) {
        char why[512] = "";
        char shown[512];

        if (ops->check_uri(uri != NULL ? uri : "", why, sizeof(why)) != PGCDC_OK) {
            pgcdc__sink_uri_shown(uri != NULL ? uri : "", shown, sizeof(shown));
            return pgcdc__config_fail(cfg, PGCDC_ERR_INVALID, "sink \"%s\": %s", shown,
                                      why[0] ? why : "invalid URI");
        }
    }
    copy = strdup(uri != NULL ? uri : "");
    if (copy == NULL)
        return oom(cfg);
    grown = realloc(cfg->sinks, (size_t)(cfg->nsinks + 1) * sizeof(*grown));
    if (grown == NULL) {
        free(copy);
        return oom(cfg);
    }
    cfg->sinks = grown;
    cfg->sinks[cfg->nsinks].ops = ops;
    cfg->sinks[cfg->nsinks].uri = copy;
    cfg->sinks[cfg->nsinks].opaque = opaque;
    cfg->sinks[cfg->nsinks].routes = NULL;
    cfg->sinks[cfg->nsinks].nroutes = 0;
    cfg->nsinks++;
    return PGCDC_OK;
}

int pgcdc_config_add_sink(pgcdc_config *cfg, const char *uri)
{
    void *opaque;
    const pgcdc_sink_ops *ops = pgcdc__sink_kind_for_uri(cfg->kinds, cfg->nkinds, uri, &opaque);
    char shown[512];

    if (ops == NULL) {
        pgcdc__sink_uri_shown(uri != NULL ? uri : "(null)", shown, sizeof(shown));
        return pgcdc__config_fail(
            cfg, PGCDC_ERR_INVALID,
            "unknown sink \"%s\" (use - for stdout, file:PATH, "
            "kafka://HOST:PORT/TOPIC, http(s)://..., "
            "redis://HOST:PORT/KEY, nats://HOST:PORT/SUBJECT, "
            "amqp://HOST:PORT/EXCHANGE, postgresql://... or KIND:... of a kind "
            "a loaded plugin registered)",
            shown);
    }
    return pgcdc_config_add_sink_ops(cfg, ops, uri, opaque);
}

/* A kind's name: a URI scheme and a property prefix, so [a-z][a-z0-9_]*, at most 31 bytes. */
static int valid_kind_name(const char *kind)
{
    size_t n = 0;

    if (!(*kind >= 'a' && *kind <= 'z'))
        return 0;
    for (const char *p = kind; *p != '\0'; p++, n++) {
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_'))
            return 0;
    }
    return n <= 31;
}

int pgcdc_config_register_sink_kind(pgcdc_config *cfg, const pgcdc_sink_ops *ops, void *opaque)
{
    pgcdc__sink_kind_reg *grown;

    if (ops == NULL || ops->abi < 1 || ops->abi > PGCDC_SINK_ABI || ops->kind == NULL ||
        ops->write == NULL)
        return pgcdc__config_fail(cfg, PGCDC_ERR_INVALID,
                                  "a sink kind needs ABI 1 to %d, a kind and a write function",
                                  PGCDC_SINK_ABI);
    if (!valid_kind_name(ops->kind))
        return pgcdc__config_fail(cfg, PGCDC_ERR_INVALID,
                                  "invalid sink kind \"%s\" (use a lower-case letter, then up to "
                                  "30 lower-case letters, digits or underscores)",
                                  ops->kind);
    if (pgcdc__sink_kind_builtin(ops->kind) ||
        pgcdc__sink_kind(cfg->kinds, cfg->nkinds, ops->kind, NULL) != NULL)
        return pgcdc__config_fail(cfg, PGCDC_ERR_INVALID, "sink kind \"%s\" exists already",
                                  ops->kind);
    grown = realloc(cfg->kinds, (size_t)(cfg->nkinds + 1) * sizeof(*grown));
    if (grown == NULL)
        return oom(cfg);
    cfg->kinds = grown;
    cfg->kinds[cfg->nkinds].ops = ops;
    cfg->kinds[cfg->nkinds].opaque = opaque;
    cfg->nkinds++;
    return PGCDC_OK;
}

int pgcdc__config_keep_prop(pgcdc_config *cfg, const char *key, const char *value)
{
    pgcdc__prop_value *grown = realloc(cfg->props, (size_t)(cfg->nprops + 1) * sizeof(*grown));
    char *k;
    char *v;

    if (grown == NULL)
        return oom(cfg);
    cfg->props = grown;
    k = strdup(key);
    v = strdup(value);
    if (k == NULL || v == NULL) {
        free(k);
        free(v);
        return oom(cfg);
    }
    cfg->props[cfg->nprops].key = k;
    cfg->props[cfg->nprops].value = v;
    cfg->nprops++;
    return PGCDC_OK;
}

static char *dup_or_null(const char *s, int *failed)
{
    char *d;

    if (s == NULL)
        return NULL;
    d = strdup(s);
    if (d == NULL)
        *failed = 1;
    return d;
}

/* Arrays of n elements, copied whole (their strings are copied after). */
static void *dup_array(const void *src, int n, size_t size, int *failed)
{
    void *d;

    if (n == 0)
        return NULL;
    d = malloc((size_t)n * size);
    if (d == NULL) {
        *failed = 1;
        return NULL;
    }
    memcpy(d, src, (size_t)n * size);
    return d;
}

static pgcdc__table_name *dup_names(const pgcdc__table_name *src, int n, int *count, int *failed)
{
    pgcdc__table_name *d = dup_array(src, n, sizeof(*src), failed);

    *count = d != NULL ? n : 0;
    for (int i = 0; i < *count; i++) {
        d[i].schema = dup_or_null(src[i].schema, failed);
        d[i].name = dup_or_null(src[i].name, failed);
    }
    return d;
}

static pgcdc__prop_value *dup_props(const pgcdc__prop_value *src, int n, int *count, int *failed)
{
    pgcdc__prop_value *d = dup_array(src, n, sizeof(*src), failed);

    *count = d != NULL ? n : 0;
    for (int i = 0; i < *count; i++) {
        d[i].key = dup_or_null(src[i].key, failed);
        d[i].value = dup_or_null(src[i].value, failed);
    }
    return d;
}

int pgcdc__config_copy(pgcdc_config *dst, const pgcdc_config *src)
{
    int failed = 0;

    *dst = *src;
    dst->conninfo = dup_or_null(src->conninfo, &failed);
    dst->slot = dup_or_null(src->slot, &failed);
    dst->publication = dup_or_null(src->publication, &failed);
    dst->spool_dir = dup_or_null(src->spool_dir, &failed);
    dst->dead_letter_path = dup_or_null(src->dead_letter_path, &failed);
    dst->lua_path = dup_or_null(src->lua_path, &failed);
    dst->snapshot_state = dup_or_null(src->snapshot_state, &failed);
    dst->mask_salt = dup_or_null(src->mask_salt, &failed);
    dst->tables = dup_names(src->tables, src->ntables, &dst->ntables, &failed);
    dst->excludes = dup_names(src->excludes, src->nexcludes, &dst->nexcludes, &failed);
    dst->filters = dup_props(src->filters, src->nfilters, &dst->nfilters, &failed);
    dst->sinks = dup_array(src->sinks, src->nsinks, sizeof(*src->sinks), &failed);
    dst->nsinks = dst->sinks != NULL ? src->nsinks : 0;
    for (int i = 0; i < dst->nsinks; i++) {
        dst->sinks[i].uri = dup_or_null(src->sinks[i].uri, &failed);
        failed |= pgcdc__routes_copy(&dst->sinks[i], &src->sinks[i]) != 0;
    }
    dst->kinds = dup_array(src->kinds, src->nkinds, sizeof(*src->kinds), &failed);
    dst->nkinds = dst->kinds != NULL ? src->nkinds : 0;
    /* The copy holds the plugins too: a worker outlives the config it was made from. */
    dst->plugins = dup_array(src->plugins, src->nplugins, sizeof(*src->plugins), &failed);
    dst->nplugins = dst->plugins != NULL ? src->nplugins : 0;
    for (int i = 0; i < dst->nplugins; i++)
        pgcdc__plugin_ref(dst->plugins[i]);
    dst->props = dup_props(src->props, src->nprops, &dst->nprops, &failed);
    if (failed) {
        pgcdc__config_clear(dst);
        return PGCDC_ERR_NOMEM;
    }
    return PGCDC_OK;
}
