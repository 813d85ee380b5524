/*
 * Unit tests for properties set by name (src/props.c): the property table,
 * pgcdc_config_set() for every property and type, its refusals and their
 * messages, sink properties, sinks and handlers added to a configuration.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_fixture.h"
#include "worker.h"

/* ---- properties by name: pgcdc_config_set() and the table ---- */

/* A property's full name: <prefix>.<name> for a format's or a sink's own. */
static void full_name(const pgcdc_property *p, const char *prefix, char *buf, size_t n)
{
    if (prefix != NULL)
        snprintf(buf, n, "%s.%s", prefix, p->name);
    else
        snprintf(buf, n, "%s", p->name);
}

static void put_str(char *buf, size_t n, const char *s)
{
    snprintf(buf, n, "%s", s != NULL ? s : "(null)");
}

static void put_num(char *buf, size_t n, long long v)
{
    snprintf(buf, n, "%lld", v);
}

/*
 * The typed field a property sets, as text: strings as they are, numbers in
 * the field's unit (ms for durations), lists joined with commas, a sink's
 * property as the text kept for it.  0 for a name this test does not know,
 * so that a property added to the table without a test here fails.
 */
static int field_text(const pgcdc_config *cfg, const char *name, char *buf, size_t n)
{
    size_t used = 0;

    buf[0] = '\0';
    if (strcmp(name, "dbname") == 0)
        put_str(buf, n, cfg->conninfo);
    else if (strcmp(name, "slot") == 0)
        put_str(buf, n, cfg->slot);
    else if (strcmp(name, "publication") == 0)
        put_str(buf, n, cfg->publication);
    else if (strcmp(name, "spool_dir") == 0)
        put_str(buf, n, cfg->spool_dir);
    else if (strcmp(name, "dead_letter") == 0)
        put_str(buf, n, cfg->dead_letter_path);
    else if (strcmp(name, "lua") == 0)
        put_str(buf, n, cfg->lua_path);
    else if (strcmp(name, "create_slot") == 0)
        put_num(buf, n, cfg->create_slot);
    else if (strcmp(name, "create_publication") == 0)
        put_num(buf, n, cfg->create_publication);
    else if (strcmp(name, "replica_identity_full") == 0)
        put_num(buf, n, cfg->replica_identity_full);
    else if (strcmp(name, "two_phase") == 0)
        put_num(buf, n, cfg->two_phase);
    else if (strcmp(name, "schema_changes") == 0)
        put_num(buf, n, cfg->schema_changes);
    else if (strcmp(name, "binary") == 0)
        put_num(buf, n, cfg->binary);
    else if (strcmp(name, "status_interval") == 0)
        put_num(buf, n, cfg->status_interval_ms);
    else if (strcmp(name, "endpos") == 0)
        pgcdc_lsn_format(cfg->endpos, buf, n);
    else if (strcmp(name, "protocol") == 0)
        put_num(buf, n, cfg->proto_version);
    else if (strcmp(name, "handler.retries") == 0)
        put_num(buf, n, cfg->handler_retries);
    else if (strcmp(name, "handler.retry_delay") == 0)
        put_num(buf, n, cfg->handler_delay_ms);
    else if (strcmp(name, "on_error") == 0)
        put_num(buf, n, cfg->error_policy);
    else if (strcmp(name, "reconnect.max_backoff") == 0)
        put_num(buf, n, cfg->reconnect_max_ms);
    else if (strcmp(name, "reconnect.attempts") == 0)
        put_num(buf, n, cfg->reconnect_attempts);
    else if (strcmp(name, "reconnect.max_elapsed") == 0)
        put_num(buf, n, (long long)cfg->reconnect_max_elapsed_ms);
    else if (strcmp(name, "link_timeout") == 0)
        put_num(buf, n, cfg->link_timeout_ms);
    else if (strcmp(name, "standby") == 0)
        put_num(buf, n, cfg->standby);
    else if (strcmp(name, "slot.failover") == 0)
        put_num(buf, n, cfg->failover);
    else if (strcmp(name, "snapshot") == 0)
        put_num(buf, n, cfg->snapshot_mode);
    else if (strcmp(name, "snapshot.parallel") == 0)
        put_num(buf, n, cfg->snapshot_parallel);
    else if (strcmp(name, "snapshot.chunk_rows") == 0)
        put_num(buf, n, cfg->snapshot_chunk_rows);
    else if (strcmp(name, "snapshot.chunk_bytes") == 0)
        put_num(buf, n, (long long)cfg->snapshot_chunk_bytes);
    else if (strcmp(name, "snapshot.state_file") == 0)
        put_str(buf, n, cfg->snapshot_state);
    else if (strcmp(name, "heartbeat.interval") == 0)
        put_num(buf, n, cfg->heartbeat_ms);
    else if (strcmp(name, "slot.max_retained_wal") == 0)
        put_num(buf, n, (long long)cfg->max_retained_wal);
    else if (strcmp(name, "slot.max_retained_wal_exit") == 0)
        put_num(buf, n, cfg->max_retained_wal_exit);
    else if (strcmp(name, "log_level") == 0)
        put_num(buf, n, cfg->log_level);
    else if (strcmp(name, "format") == 0)
        put_num(buf, n, cfg->format);
    else if (strcmp(name, "publish_via_partition_root") == 0)
        put_num(buf, n, cfg->via_root);
    else if (strcmp(name, "filter.ops") == 0)
        put_num(buf, n, cfg->filter_ops);
    else if (strcmp(name, "filter.push_down") == 0)
        put_num(buf, n, cfg->filter_push_down);
    else if (strcmp(name, "mask.salt") == 0)
        put_str(buf, n, cfg->mask_salt);
    else if (strncmp(name, "filter.", 7) == 0 || strncmp(name, "mask.", 5) == 0) {
        /* filter.where.<table> and the like: every setting kept, in order. */
        for (int i = 0; i < cfg->nfilters && used < n; i++)
            used += (size_t)snprintf(buf + used, n - used, "%s%s=%s", i > 0 ? "," : "",
                                     cfg->filters[i].key, cfg->filters[i].value);
    } else if (strcmp(name, "exclude_table") == 0) {
        for (int i = 0; i < cfg->nexcludes && used < n; i++)
            used += (size_t)snprintf(buf + used, n - used, "%s%s%s%s", i > 0 ? "," : "",
                                     cfg->excludes[i].schema ? cfg->excludes[i].schema : "",
                                     cfg->excludes[i].schema ? "." : "", cfg->excludes[i].name);
    } else if (strcmp(name, "table") == 0) {
        for (int i = 0; i < cfg->ntables && used < n; i++)
            used += (size_t)snprintf(buf + used, n - used, "%s%s%s%s", i > 0 ? "," : "",
                                     cfg->tables[i].schema ? cfg->tables[i].schema : "",
                                     cfg->tables[i].schema ? "." : "", cfg->tables[i].name);
    } else if (strcmp(name, "sink") == 0) {
        for (int i = 0; i < cfg->nsinks && used < n; i++)
            used +=
                (size_t)snprintf(buf + used, n - used, "%s%s", i > 0 ? "," : "", cfg->sinks[i].uri);
    } else if (strcmp(name, "plugin") == 0) {
        for (int i = 0; i < cfg->nplugins && used < n; i++)
            used += (size_t)snprintf(buf + used, n - used, "%s%s", i > 0 ? "," : "",
                                     pgcdc__plugin_path(cfg->plugins[i]));
    } else if (strncmp(name, "sink.", 5) == 0 || strncmp(name, "wal2json.", 9) == 0 ||
               strncmp(name, "debezium.", 9) == 0) {
        /* The last value set wins, as pgcdc_sink_property reads it (and formats take it). */
        put_str(buf, n, "(unset)");
        for (int i = 0; i < cfg->nprops; i++) {
            if (strcmp(cfg->props[i].key, name) == 0)
                put_str(buf, n, cfg->props[i].value);
        }
    } else {
        return 0;
    }
    return 1;
}

/* Every field the table reaches, as one string: "nothing changed" is this staying equal. */
static void describe(const pgcdc_config *cfg, char *buf, size_t n)
{
    const pgcdc_property *p;
    const char *kind;
    size_t used = 0;

    buf[0] = '\0';
    for (int i = 0; (p = pgcdc_property_at(i, &kind)) != NULL && used < n; i++) {
        char name[128];
        char value[512];

        full_name(p, kind, name, sizeof(name));
        if (!field_text(cfg, name, value, sizeof(value)))
            fail_msg("no field known for property %s", name);
        used += (size_t)snprintf(buf + used, n - used, "%s=%s\n", name, value);
    }
}

static void assert_field(const pgcdc_config *cfg, const char *name, const char *want)
{
    char got[512];

    if (!field_text(cfg, name, got, sizeof(got)))
        fail_msg("no field known for property %s", name);
    if (strcmp(got, want) != 0)
        fail_msg("%s reads back as \"%s\", want \"%s\"", name, got, want);
}

static void assert_set(pgcdc_config *cfg, const char *key, const char *value)
{
    char err[256] = "";
    int r = pgcdc_config_set(cfg, key, value, err, sizeof(err));

    if (r != PGCDC_OK)
        fail_msg("%s=\"%s\" refused: %s (%s)", key, value, pgcdc_err_name(r), err);
}

/*
 * key=value is refused with PGCDC_ERR_INVALID, nothing changes, and the same
 * one-line message goes to errbuf and pgcdc_config_errmsg(), containing each
 * of the needles given (NULL ends them).
 */
static void assert_refused(pgcdc_config *cfg, const char *key, const char *value, ...)
{
    static char before[8192];
    static char after[8192];
    char err[PGCDC__MSG_SIZE];
    const char *needle;
    va_list ap;
    int r;

    describe(cfg, before, sizeof(before));
    memset(err, 'x', sizeof(err));
    r = pgcdc_config_set(cfg, key, value, err, sizeof(err));
    if (r != PGCDC_ERR_INVALID)
        fail_msg("%s=\"%s\": %s, want INVALID", key ? key : "(null)", value ? value : "(null)",
                 pgcdc_err_name(r));
    assert_string_equal(err, pgcdc_config_errmsg(cfg));
    assert_true(strlen(err) > 0);
    assert_null(strchr(err, '\n'));
    va_start(ap, value);
    while ((needle = va_arg(ap, const char *)) != NULL) {
        if (strstr(err, needle) == NULL) {
            va_end(ap);
            fail_msg("%s=\"%s\": message lacks \"%s\": %s", key ? key : "(null)",
                     value ? value : "(null)", needle, err);
        }
    }
    va_end(ap);
    describe(cfg, after, sizeof(after));
    assert_string_equal(after, before);
}

/* A valid value of each property that is not its default, and how its field reads after it. */
typedef struct prop_case {
    const char *name;
    const char *value;
    const char *want;
} prop_case;

static const prop_case prop_cases[] = {
    {"dbname", "host=h dbname=d", "host=h dbname=d"},
    {"slot", "s_1", "s_1"},
    {"publication", "p_1", "p_1"},
    {"table", "public.orders", "public.orders"},
    {"exclude_table", "public.audit_*", "public.audit_*"},
    {"publish_via_partition_root", "true", "1"},
    {"filter.ops", "insert,Delete", "5"},
    {"filter.push_down", "false", "0"},
    {"filter.columns.<table>", "id, name", "filter.columns.<table>=id, name"},
    {"filter.exclude_columns.<table>", "password", "filter.exclude_columns.<table>=password"},
    {"filter.where.<table>", "status = 'paid'", "filter.where.<table>=status = 'paid'"},
    {"mask.<table>.<column>", "Hash", "mask.<table>.<column>=hash"},
    {"mask.salt", "pepper", "pepper"},
    {"create_slot", "false", "0"},
    {"create_publication", "off", "0"},
    {"replica_identity_full", "yes", "1"},
    {"status_interval", "250ms", "250"},
    {"endpos", "16/B374D848", "16/B374D848"},
    {"protocol", "2", "2"},
    {"protocol", "auto", "0"},
    {"binary", "0", "0"},
    {"two_phase", "on", "1"},
    {"schema_changes", "off", "0"},
    {"spool_dir", "/var/tmp", "/var/tmp"},
    {"handler.retries", "3", "3"},
    {"handler.retry_delay", "2s", "2000"},
    {"on_error", "dead_letter", "1"},
    {"dead_letter", "/var/tmp/dead.jsonl", "/var/tmp/dead.jsonl"},
    {"lua", PGCDC_TEST_LUA, PGCDC_TEST_LUA},
    {"reconnect.max_backoff", "5m", "300000"},
    {"reconnect.attempts", "7", "7"},
    {"reconnect.max_elapsed", "2h", "7200000"},
    {"link_timeout", "90s", "90000"},
    {"standby", "on", "1"},
    {"slot.failover", "off", "2"},
    {"snapshot", "incremental", "3"},
    {"snapshot.parallel", "2", "2"},
    {"snapshot.chunk_rows", "5000", "5000"},
    {"snapshot.chunk_bytes", "1MB", "1048576"},
    {"snapshot.state_file", "/var/tmp/orders.snapshot", "/var/tmp/orders.snapshot"},
    {"heartbeat.interval", "10s", "10000"},
    {"slot.max_retained_wal", "2GB", "2147483648"},
    {"slot.max_retained_wal_exit", "true", "1"},
    {"log_level", "debug", "3"},
    {"format", "debezium", "1"},
    {"sink", "file:/tmp/events.jsonl", "file:/tmp/events.jsonl"},
    {"plugin", PGCDC_TEST_PLUGIN, PGCDC_TEST_PLUGIN},
    {"sink.file.flush_interval", "0", "0"},
    {"sink.file.flush_bytes", "64kB", "64kB"},
    {"sink.file.format", "wal2json", "wal2json"},
    {"sink.kafka.format", "Debezium", "debezium"},
    {"sink.kafka.topic_prefix", "inventory", "inventory"},
    {"sink.kafka.tombstones", "false", "false"},
    {"sink.kafka.transaction_topic", "inventory.transaction", "inventory.transaction"},
    {"sink.kafka.exactly_once", "on", "on"},
    {"sink.kafka.progress_topic", "cdc.progress", "cdc.progress"},
    {"sink.kafka.transactional_id", "orders-cdc", "orders-cdc"},
    {"sink.kafka.batch_size", "50", "50"},
    {"sink.kafka.batch_linger", "1s", "1s"},
    {"sink.kafka.max_inflight", "1MB", "1MB"},
    {"sink.kafka.max_elapsed", "1m", "1m"},
    {"sink.http.format", "json", "json"},
    {"sink.http.batch_size", "10", "10"},
    {"sink.http.batch_bytes", "64kB", "64kB"},
    {"sink.http.batch_linger", "0", "0"},
    {"sink.http.encoding", "NDJSON", "ndjson"},
    {"sink.http.lanes", "4", "4"},
    {"sink.http.secret", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
     "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"},
    {"sink.http.header", "X-Team: data", "X-Team: data"},
    {"sink.http.ca_file", "/etc/ssl/certs/ca-certificates.crt",
     "/etc/ssl/certs/ca-certificates.crt"},
    {"sink.http.timeout", "5s", "5s"},
    {"sink.http.retry_initial", "10ms", "10ms"},
    {"sink.http.retry_max", "1s", "1s"},
    {"sink.http.max_elapsed", "10m", "10m"},
    {"sink.http.max_inflight", "1MB", "1MB"},
    {"sink.redis.format", "debezium", "debezium"},
    {"sink.redis.key_prefix", "inventory", "inventory"},
    {"sink.redis.maxlen", "100000", "100000"},
    {"sink.redis.password", "hunter2", "hunter2"},
    {"sink.redis.max_inflight", "1MB", "1MB"},
    {"sink.redis.flush_interval", "10ms", "10ms"},
    {"sink.redis.timeout", "2s", "2s"},
    {"sink.redis.max_elapsed", "1m", "1m"},
    {"sink.nats.format", "debezium", "debezium"},
    {"sink.nats.subject_prefix", "cdc.prod", "cdc.prod"},
    {"sink.nats.stream", "CDC", "CDC"},
    {"sink.nats.create_stream", "true", "true"},
    {"sink.nats.duplicate_window", "10m", "10m"},
    {"sink.nats.max_inflight", "1MB", "1MB"},
    {"sink.nats.flush_interval", "20ms", "20ms"},
    {"sink.nats.timeout", "2s", "2s"},
    {"sink.nats.max_elapsed", "1m", "1m"},
    {"sink.nats.user", "cdc", "cdc"},
    {"sink.nats.password", "hunter2", "hunter2"},
    {"sink.nats.token", "s3cret", "s3cret"},
    {"sink.amqp.format", "wal2json", "wal2json"},
    {"sink.amqp.vhost", "/shop", "/shop"},
    {"sink.amqp.routing_key", "cdc.${table}", "cdc.${table}"},
    {"sink.amqp.key_prefix", "inventory", "inventory"},
    {"sink.amqp.mandatory", "false", "false"},
    {"sink.amqp.max_inflight", "1MB", "1MB"},
    {"sink.amqp.flush_interval", "10ms", "10ms"},
    {"sink.amqp.timeout", "2s", "2s"},
    {"sink.amqp.max_elapsed", "1m", "1m"},
    {"sink.amqp.heartbeat", "30s", "30s"},
    {"sink.postgresql.format", "json", "json"},
    {"sink.postgresql.mode", "apply", "apply"},
    {"sink.postgresql.schema", "replica", "replica"},
    {"sink.postgresql.table", "audit_log", "audit_log"},
    {"sink.postgresql.position_table", "positions", "positions"},
    {"sink.postgresql.max_inflight", "1MB", "1MB"},
    {"sink.postgresql.flush_interval", "10ms", "10ms"},
    {"sink.postgresql.timeout", "2s", "2s"},
    {"sink.postgresql.max_elapsed", "1m", "1m"},
    {"sink.exec.format", "debezium", "debezium"},
    {"sink.exec.timeout", "10s", "10s"},
    {"sink.exec.retries", "3", "3"},
    {"sink.exec.max_inflight", "4MB", "4MB"},
    {"sink.exec.flush_interval", "20ms", "20ms"},
    {"sink.exec.stop_timeout", "2s", "2s"},
    {"wal2json.include_transaction", "false", "false"},
    {"wal2json.include_xids", "true", "true"},
    {"wal2json.include_timestamp", "on", "on"},
    {"wal2json.include_lsn", "yes", "yes"},
    {"wal2json.include_schemas", "0", "0"},
    {"wal2json.include_types", "off", "off"},
    {"wal2json.include_type_oids", "1", "1"},
    {"wal2json.include_typmod", "no", "no"},
    {"wal2json.include_not_null", "TRUE", "TRUE"},
    {"wal2json.include_pk", "true", "true"},
    {"wal2json.numeric_data_types_as_string", "true", "true"},
    {"debezium.decimal.handling.mode", "String", "string"},
    {"debezium.binary.handling.mode", "base64-url-safe", "base64_url_safe"},
    {"debezium.interval.handling.mode", "string", "string"},
    {"debezium.hstore.handling.mode", "map", "map"},
    {"debezium.provide.transaction.metadata", "true", "true"},
    {"debezium.schemas.enable", "on", "on"},
    {"debezium.topic.prefix", "inventory", "inventory"},
};

#define NCASES (sizeof(prop_cases) / sizeof(prop_cases[0]))

static const prop_case *find_case(const char *name)
{
    for (size_t i = 0; i < NCASES; i++) {
        if (strcmp(prop_cases[i].name, name) == 0)
            return &prop_cases[i];
    }
    return NULL;
}

static int count_properties(void)
{
    int n = 0;

    while (pgcdc_property_at(n, NULL) != NULL)
        n++;
    return n;
}

static void test_property_table(void **state)
{
    const char *kind = "sentinel";
    const pgcdc_property *p;
    int n = count_properties();
    int nsink = 0;
    char names[256][128];

    (void)state;
    assert_true(n > 0 && n <= 256);
    assert_null(pgcdc_property_at(-1, &kind));
    assert_null(kind);
    kind = "sentinel";
    assert_null(pgcdc_property_at(INT_MIN, &kind));
    assert_null(kind);
    kind = "sentinel";
    assert_null(pgcdc_property_at(n, &kind));
    assert_null(kind);
    assert_null(pgcdc_property_at(n + 1, NULL));
    assert_null(pgcdc_property_at(INT_MAX, NULL));
    for (int i = 0; i < n; i++) {
        const char *k2 = "sentinel";

        kind = "sentinel";
        p = pgcdc_property_at(i, &kind);
        assert_non_null(p);
        /* prefix may be NULL, and the answer is the same without it. */
        assert_ptr_equal(pgcdc_property_at(i, NULL), p);
        assert_ptr_equal(pgcdc_property_at(i, &k2), p);
        assert_ptr_equal(k2, kind);
        full_name(p, kind, names[i], sizeof(names[i]));
        assert_non_null(p->name);
        assert_true(strlen(p->name) > 0);
        assert_null(strchr(p->name, '-'));
        assert_non_null(p->description);
        if (strlen(p->description) == 0 || strchr(p->description, '\n') != NULL)
            fail_msg("%s: the description must be one non-empty line", names[i]);
        assert_true(p->type >= PGCDC_PROP_STRING && p->type <= PGCDC_PROP_LIST);
        if (p->type == PGCDC_PROP_INT || p->type == PGCDC_PROP_DURATION ||
            p->type == PGCDC_PROP_SIZE)
            assert_true(p->min <= p->max);
        if (p->type == PGCDC_PROP_ENUM)
            assert_true(p->choices != NULL && strlen(p->choices) > 0);
        /* The formats' options, then the built-in sinks' last, each with its prefix. */
        if (kind != NULL && strncmp(kind, "sink.", 5) == 0) {
            assert_true(strcmp(kind, "sink.file") == 0 || strcmp(kind, "sink.kafka") == 0 ||
                        strcmp(kind, "sink.http") == 0 || strcmp(kind, "sink.redis") == 0 ||
                        strcmp(kind, "sink.nats") == 0 || strcmp(kind, "sink.amqp") == 0 ||
                        strcmp(kind, "sink.postgresql") == 0 || strcmp(kind, "sink.exec") == 0);
            nsink++;
        } else if (kind != NULL) {
            assert_true(strcmp(kind, "json") == 0 || strcmp(kind, "debezium") == 0 ||
                        strcmp(kind, "wal2json") == 0);
            assert_int_equal(nsink, 0);
        } else {
            assert_int_equal(nsink, 0);
        }
        for (int j = 0; j < i; j++) {
            if (strcmp(names[j], names[i]) == 0)
                fail_msg("property %s listed twice", names[i]);
        }
    }
    assert_true(nsink >= 2);
}

/*
 * Every property: its default (when it has one) is what a new config has
 * already, and a valid value sets its field.
 */
static void test_set_every_property(void **state)
{
    const pgcdc_property *p;
    const char *kind;

    (void)state;
    for (int i = 0; (p = pgcdc_property_at(i, &kind)) != NULL; i++) {
        pgcdc_config *cfg = pgcdc_config_new();
        char name[128];
        char before[512];
        const prop_case *c;

        assert_non_null(cfg);
        full_name(p, kind, name, sizeof(name));
        c = find_case(name);
        if (c == NULL)
            fail_msg("property %s has no case in this test", name);
        if (!field_text(cfg, name, before, sizeof(before)))
            fail_msg("no field known for property %s", name);
        if (p->default_value != NULL) {
            assert_set(cfg, name, p->default_value);
            /* The table's default is the config's own (a sink keeps the text). */
            assert_field(cfg, name, kind != NULL ? p->default_value : before);
        }
        assert_set(cfg, name, c->value);
        assert_field(cfg, name, c->want);
        if (strcmp(c->want, before) == 0)
            fail_msg("%s: the case's value is the default; pick another", name);
        pgcdc_config_free(cfg);
    }
    /* And no case for a property the table does not have. */
    for (size_t i = 0; i < NCASES; i++) {
        int found = 0;

        for (int j = 0; (p = pgcdc_property_at(j, &kind)) != NULL; j++) {
            char name[128];

            full_name(p, kind, name, sizeof(name));
            found |= strcmp(name, prop_cases[i].name) == 0;
        }
        if (!found)
            fail_msg("case %s names no property", prop_cases[i].name);
    }
}

static void test_set_dash_is_underscore(void **state)
{
    pgcdc_config *cfg = *state;

    assert_set(cfg, "status-interval", "1s");
    assert_field(cfg, "status_interval", "1000");
    assert_set(cfg, "handler.retry-delay", "250ms");
    assert_field(cfg, "handler.retry_delay", "250");
    assert_set(cfg, "reconnect.max-backoff", "1m");
    assert_field(cfg, "reconnect.max_backoff", "60000");
    assert_set(cfg, "replica-identity-full", "on");
    assert_field(cfg, "replica_identity_full", "1");
    assert_set(cfg, "create-slot", "off");
    assert_field(cfg, "create_slot", "0");
    assert_set(cfg, "log-level", "error");
    assert_field(cfg, "log_level", "0");
    assert_set(cfg, "spool-dir", "/spool");
    assert_field(cfg, "spool_dir", "/spool");
    /* A sink's property is kept under its name with underscores. */
    assert_set(cfg, "sink.file.flush-interval", "50ms");
    assert_int_equal(cfg->nprops, 1);
    assert_string_equal(cfg->props[0].key, "sink.file.flush_interval");
    assert_string_equal(cfg->props[0].value, "50ms");
    /* Only '-' and '_': other spellings are other names. */
    assert_refused(cfg, "status.interval", "1s", "unknown property", "status.interval", NULL);
    assert_refused(cfg, "Status_Interval", "1s", "unknown property", NULL);
    assert_refused(cfg, "statusinterval", "1s", "unknown property", NULL);
    assert_refused(cfg, "status_interval ", "1s", "unknown property", NULL);
}

/* Upper, lower and mixed case of a word. */
static void case_variant(const char *word, int how, char *out, size_t n)
{
    size_t i;

    for (i = 0; word[i] != '\0' && i + 1 < n; i++) {
        int up = how == 0 ? 0 : how == 1 ? 1 : how == 2 ? i == 0 : (int)(i % 2);

        out[i] = (char)(up ? toupper((unsigned char)word[i]) : word[i]);
    }
    out[i] = '\0';
}

static void test_set_bool(void **state)
{
    pgcdc_config *cfg = *state;
    static const char *const yes[] = {"true", "on", "yes", "1"};
    static const char *const no[] = {"false", "off", "no", "0"};
    static const char *const bad[] = {"",   "maybe", "2",      "-1",     "tru",   "yess", "y",
                                      "n",  "t",     "f",      " true",  "true ", "10",   "onn",
                                      "01", "0x1",   "true\n", "enable", "null",  "+1"};

    for (size_t w = 0; w < 4; w++) {
        for (int how = 0; how < 4; how++) {
            char text[16];

            case_variant(yes[w], how, text, sizeof(text));
            assert_set(cfg, "create_slot", "false");
            assert_set(cfg, "create_slot", text);
            assert_field(cfg, "create_slot", "1");
            case_variant(no[w], how, text, sizeof(text));
            assert_set(cfg, "create_slot", text);
            assert_field(cfg, "create_slot", "0");
        }
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_refused(cfg, "binary", bad[i], "binary", "true or false", NULL);
    assert_field(cfg, "binary", "1");
}

static void test_set_duration(void **state)
{
    pgcdc_config *cfg = *state;
    static const struct {
        const char *text;
        const char *ms;
    } good[] = {
        {"250ms", "250"}, {"10s", "10000"}, {"5m", "300000"},  {"1h", "3600000"},
        {"500", "500"},   {"10", "10"},     {"1min", "60000"}, {"3600000ms", "3600000"},
    };
    static const char *const bad[] = {
        "",
        "ms",
        "s",
        "10 s",
        " 10s",
        "10s ",
        "1.5s",
        "-5s",
        "+5s",
        "10S",
        "10sec",
        "10MS",
        "ten",
        "0x10",
        "5mm",
        "10us",
        "1e3",
        "10s\n",
        "99999999999999999999",
        "9223372036854775807h",
        "5 ",
    };

    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        assert_set(cfg, "reconnect.max_backoff", good[i].text);
        assert_field(cfg, "reconnect.max_backoff", good[i].ms);
    }
    /* 0h reads (as 0 ms), and 0 is below this property's range. */
    assert_refused(cfg, "reconnect.max_backoff", "0h", "reconnect.max_backoff",
                   "between 10 and 3600000", NULL);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_refused(cfg, "reconnect.max_backoff", bad[i], "reconnect.max_backoff",
                       "a duration such as", NULL);
    /* The edges in units: 100 ms to 10 s. */
    assert_set(cfg, "status_interval", "100ms");
    assert_field(cfg, "status_interval", "100");
    assert_set(cfg, "status_interval", "10s");
    assert_field(cfg, "status_interval", "10000");
    assert_refused(cfg, "status_interval", "99ms", "status_interval", "between 100 and 10000",
                   "99ms", NULL);
    assert_refused(cfg, "status_interval", "10001", "between 100 and 10000", NULL);
    assert_refused(cfg, "status_interval", "11s", "between 100 and 10000", NULL);
    assert_refused(cfg, "status_interval", "1m", "between 100 and 10000", NULL);
    assert_refused(cfg, "reconnect.max_backoff", "61m", "between 10 and 3600000", NULL);
    assert_refused(cfg, "reconnect.max_backoff", "1d", "between 10 and 3600000", NULL);
    assert_refused(cfg, "handler.retry_delay", "2m", "handler.retry_delay", "between 0 and 60000",
                   NULL);
    assert_set(cfg, "handler.retry_delay", "1m");
    assert_field(cfg, "handler.retry_delay", "60000");
    assert_set(cfg, "handler.retry_delay", "0ms");
    assert_field(cfg, "handler.retry_delay", "0");
}

static void test_set_size(void **state)
{
    pgcdc_config *cfg = *state;
    static const char *const good[] = {"64kB", "1MB",   "4kB",     "4KB",    "1GB",
                                       "4096", "4096B", "1048576", "1024MB", "512kB"};
    static const char *const bad[] = {"",
                                      "1 MB",
                                      "1mb",
                                      "1Mb",
                                      "1TB",
                                      "1.5MB",
                                      "-4096",
                                      "MB",
                                      "kB",
                                      "4096 ",
                                      " 4096",
                                      "1kb",
                                      "1G",
                                      "64k",
                                      "0x1000",
                                      "1e6",
                                      "99999999999999999999GB"};

    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        assert_set(cfg, "sink.file.flush_bytes", good[i]);
        assert_field(cfg, "sink.file.flush_bytes", good[i]);
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_refused(cfg, "sink.file.flush_bytes", bad[i], "sink.file.flush_bytes",
                       "a size such as", NULL);
    /* The edges, 4 kB and 1 GB, written in units. */
    assert_refused(cfg, "sink.file.flush_bytes", "4095", "sink.file.flush_bytes",
                   "between 4096 and 1073741824", NULL);
    assert_refused(cfg, "sink.file.flush_bytes", "3kB", "between 4096 and 1073741824", NULL);
    assert_refused(cfg, "sink.file.flush_bytes", "1073741825", "between 4096 and 1073741824", NULL);
    assert_refused(cfg, "sink.file.flush_bytes", "1025MB", "between 4096 and 1073741824", NULL);
    assert_refused(cfg, "sink.file.flush_bytes", "2GB", "between 4096 and 1073741824", NULL);
    assert_refused(cfg, "sink.file.flush_bytes", "0", "between 4096 and 1073741824", NULL);
    assert_field(cfg, "sink.file.flush_bytes", "512kB");
}

/* INT, DURATION and SIZE properties: both edges taken, one past each refused, naming the range. */
static void test_set_ranges(void **state)
{
    pgcdc_config *cfg = *state;
    const pgcdc_property *p;
    const char *kind;
    int checked = 0;

    for (int i = 0; (p = pgcdc_property_at(i, &kind)) != NULL; i++) {
        char name[128];
        char lo[32];
        char hi[32];
        char below[32];
        char above[32];
        char range[96];

        if (p->type != PGCDC_PROP_INT && p->type != PGCDC_PROP_DURATION &&
            p->type != PGCDC_PROP_SIZE)
            continue;
        checked++;
        full_name(p, kind, name, sizeof(name));
        /* Bare numbers: milliseconds for durations, bytes for sizes. */
        snprintf(lo, sizeof(lo), "%lld", p->min);
        snprintf(hi, sizeof(hi), "%lld", p->max);
        snprintf(below, sizeof(below), "%lld", p->min - 1);
        snprintf(above, sizeof(above), "%lld", p->max + 1);
        snprintf(range, sizeof(range), "between %lld and %lld", p->min, p->max);
        assert_set(cfg, name, lo);
        assert_field(cfg, name, lo);
        assert_set(cfg, name, hi);
        assert_field(cfg, name, hi);
        /* A duration or size has no sign: -1 does not read as one at all. */
        if (p->min - 1 < 0 && p->type != PGCDC_PROP_INT)
            assert_refused(cfg, name, below, name,
                           p->type == PGCDC_PROP_DURATION ? "a duration" : "a size", NULL);
        else
            assert_refused(cfg, name, below, name, range, below, NULL);
        assert_refused(cfg, name, above, name, range, above, NULL);
        assert_field(cfg, name, hi);
    }
    assert_true(checked >= 8);
}

static void test_set_int(void **state)
{
    pgcdc_config *cfg = *state;
    static const char *const bad[] = {"",
                                      "abc",
                                      "1.5",
                                      "5x",
                                      "0x10",
                                      "1e2",
                                      "5 ",
                                      "--1",
                                      "five",
                                      "3h",
                                      "99999999999999999999",
                                      "-99999999999999999999"};

    assert_set(cfg, "handler.retries", "0");
    assert_field(cfg, "handler.retries", "0");
    assert_set(cfg, "handler.retries", "100");
    assert_field(cfg, "handler.retries", "100");
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_refused(cfg, "handler.retries", bad[i], "handler.retries", "an integer", NULL);
    assert_refused(cfg, "handler.retries", "-1", "between 0 and 100", NULL);
    assert_refused(cfg, "handler.retries", "101", "between 0 and 100", NULL);
    /* handler.retries and handler.retry_delay set one half each of the same setter. */
    assert_set(cfg, "handler.retry_delay", "5s");
    assert_field(cfg, "handler.retries", "100");
    assert_set(cfg, "handler.retries", "2");
    assert_field(cfg, "handler.retry_delay", "5000");
    /* So do reconnect.max_backoff and reconnect.attempts. */
    assert_set(cfg, "reconnect.attempts", "9");
    assert_set(cfg, "reconnect.max_backoff", "2s");
    assert_field(cfg, "reconnect.attempts", "9");
    assert_field(cfg, "reconnect.max_backoff", "2000");
    assert_refused(cfg, "protocol", "0", "protocol", "auto|1|2|3", NULL);
    assert_refused(cfg, "protocol", "4", "protocol", "auto|1|2|3", NULL);
}

static void test_set_lsn(void **state)
{
    pgcdc_config *cfg = *state;
    static const char *const bad[] = {"",      "16", "G/0", "1/1/1",       "1 /1",        "-1/1",
                                      "0x1/1", "1/", "/1",  "123456789/1", "16/B374D848 "};

    assert_set(cfg, "endpos", "16/b374d848");
    assert_field(cfg, "endpos", "16/B374D848");
    assert_set(cfg, "endpos", "FFFFFFFF/FFFFFFFF");
    assert_true(cfg->endpos == UINT64_MAX);
    assert_set(cfg, "endpos", "0/0");
    assert_true(cfg->endpos == 0);
    assert_set(cfg, "endpos", "0/1A2B3C8");
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_refused(cfg, "endpos", bad[i], "endpos", "an LSN such as", NULL);
    assert_field(cfg, "endpos", "0/1A2B3C8");
}

static void test_set_enum(void **state)
{
    pgcdc_config *cfg = *state;
    static const char *const bad[] = {"",  "x",    "jso", "json ", " json", "json|debezium",
                                      "|", "jsonx"};
    static const char *const levels[] = {"error", "warning", "info", "debug"};

    assert_set(cfg, "format", "wal2json");
    assert_int_equal(cfg->format, PGCDC_FORMAT_WAL2JSON);
    assert_set(cfg, "format", "debezium");
    assert_int_equal(cfg->format, PGCDC_FORMAT_DEBEZIUM);
    assert_set(cfg, "format", "json");
    assert_int_equal(cfg->format, PGCDC_FORMAT_JSON);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_refused(cfg, "format", bad[i], "format", "json|debezium|wal2json", NULL);
    for (int i = 0; i < 4; i++) {
        assert_set(cfg, "log_level", levels[i]);
        assert_int_equal(cfg->log_level, i);
    }
    assert_refused(cfg, "log_level", "verbose", "log_level", "error|warning|info|debug", NULL);
    assert_refused(cfg, "log_level", "3", "log_level", "error|warning|info|debug", NULL);
    assert_set(cfg, "on_error", "dead_letter");
    assert_int_equal(cfg->error_policy, PGCDC_ON_ERROR_DEAD_LETTER);
    assert_set(cfg, "on_error", "halt");
    assert_int_equal(cfg->error_policy, PGCDC_ON_ERROR_HALT);
    assert_refused(cfg, "on_error", "stop", "on_error", "halt|dead_letter", NULL);
    assert_set(cfg, "slot.failover", "on");
    assert_int_equal(cfg->failover, PGCDC_FAILOVER_ON);
    assert_set(cfg, "slot.failover", "auto");
    assert_int_equal(cfg->failover, PGCDC_FAILOVER_AUTO);
    assert_refused(cfg, "slot.failover", "true", "slot.failover", "auto|on|off", NULL);
}

static void test_set_strings(void **state)
{
    pgcdc_config *cfg = *state;

    /* Strings go through the typed setters, which check them and say what is wrong. */
    assert_set(cfg, "slot", "keep");
    assert_refused(cfg, "slot", "Bad-Name", "invalid slot name", NULL);
    assert_refused(cfg, "slot", "", "invalid slot name", NULL);
    assert_refused(cfg, "publication", "a b", "invalid publication name", NULL);
    assert_refused(cfg, "spool_dir", "", "spool directory", NULL);
    assert_refused(cfg, "dead_letter", "", "dead-letter file path", NULL);
    /* A script is compiled when set: a missing file is refused with the fix. */
    assert_refused(cfg, "lua", "/nonexistent/x.lua", "lua: cannot open /nonexistent/x.lua",
                   "give --lua the path", NULL);
    assert_refused(cfg, "table", "", "invalid table name", NULL);
    assert_refused(cfg, "table", "a.b.c", "invalid table name", NULL);
    /* An empty connection string is valid: PG* variables only. */
    assert_set(cfg, "dbname", "");
    assert_field(cfg, "dbname", "");
    assert_set(cfg, "dbname", "postgresql://u@h/db");
    assert_field(cfg, "dbname", "postgresql://u@h/db");
    assert_set(cfg, "dead_letter", "dl.jsonl");
    assert_field(cfg, "dead_letter", "dl.jsonl");
    /* Only the policy picks dead-letter; the path alone changes nothing else. */
    assert_int_equal(cfg->error_policy, PGCDC_ON_ERROR_HALT);
    assert_field(cfg, "slot", "keep");
}

static void test_set_lists_append(void **state)
{
    pgcdc_config *cfg = *state;

    assert_set(cfg, "table", "a");
    assert_set(cfg, "table", "s.b");
    assert_set(cfg, "table", "a");
    assert_field(cfg, "table", "a,s.b,a");
    assert_set(cfg, "sink", "-");
    assert_set(cfg, "sink", "file:/tmp/one");
    assert_field(cfg, "sink", "-,file:/tmp/one");
    assert_ptr_equal(cfg->sinks[0].ops, cfg->sinks[1].ops);
    assert_refused(cfg, "sink", "mqtt:topic", "unknown sink \"mqtt:topic\"", NULL);
    assert_refused(cfg, "sink", "", "unknown sink", NULL);
    assert_int_equal(cfg->nsinks, 2);
    /* A sink's properties keep every value set, the last one counting. */
    assert_set(cfg, "sink.file.flush_interval", "1s");
    assert_set(cfg, "sink.file.flush_interval", "2s");
    assert_int_equal(cfg->nprops, 2);
    assert_field(cfg, "sink.file.flush_interval", "2s");
}

static void test_set_unknown(void **state)
{
    pgcdc_config *cfg = *state;
    char *longkey = repeat('k', 300);

    assert_refused(cfg, "nosuch", "1", "unknown property \"nosuch\"", "--help-config", NULL);
    assert_refused(cfg, "", "1", "unknown property", NULL);
    assert_refused(cfg, longkey, "1", "unknown property", NULL);
    assert_refused(cfg, "handler", "1", "unknown property \"handler\"", NULL);
    assert_refused(cfg, "handler.", "1", "unknown property", NULL);
    assert_refused(cfg, "sink.mqtt.brokers", "h:9092", "unknown sink kind", "sink.mqtt.brokers",
                   NULL);
    assert_refused(cfg, "sink.file", "1", "unknown sink kind", NULL);
    assert_refused(cfg, "sink.", "1", "unknown sink kind", NULL);
    assert_refused(cfg, "sink.file.nosuch", "1", "unknown property of that sink",
                   "sink.file.nosuch", NULL);
    assert_refused(cfg, "sink.file.", "1", "unknown property of that sink", NULL);
    /* A sink's property is not one of the worker's, nor the other way round. */
    assert_refused(cfg, "flush_interval", "1s", "unknown property", NULL);
    assert_refused(cfg, "sink.file.slot", "s", "unknown property of that sink", NULL);
    /* What a message quotes cannot break its line (nor reach a terminal as control codes). */
    assert_refused(cfg, "a\nb", "1", "unknown property \"a?b\"", NULL);
    assert_refused(cfg, "format", "json\r\n\x1b[2J", "\"json???[2J\"", NULL);
    assert_refused(cfg, "sink", "x\n:y", "unknown sink \"x?:y\"", NULL);
    assert_refused(cfg, NULL, "1", "name and a value", NULL);
    assert_refused(cfg, "slot", NULL, "name and a value", NULL);
    assert_int_equal(cfg->nprops, 0);
    free(longkey);
}

static void test_set_errbuf(void **state)
{
    pgcdc_config *cfg = *state;
    char small[8];
    char untouched[4] = "abc";
    char ok[32] = "left alone";

    /* No buffer, or one of no bytes: the message is still in pgcdc_config_errmsg. */
    assert_int_equal(pgcdc_config_set(cfg, "nosuch", "1", NULL, 0), PGCDC_ERR_INVALID);
    assert_non_null(strstr(pgcdc_config_errmsg(cfg), "nosuch"));
    assert_int_equal(pgcdc_config_set(cfg, "protocol", "9", NULL, 100), PGCDC_ERR_INVALID);
    assert_non_null(strstr(pgcdc_config_errmsg(cfg), "protocol"));
    assert_int_equal(pgcdc_config_set(cfg, "nosuch", "1", untouched, 0), PGCDC_ERR_INVALID);
    assert_string_equal(untouched, "abc");
    /* A short buffer gets the message's start, terminated. */
    assert_int_equal(pgcdc_config_set(cfg, "nosuch", "1", small, sizeof(small)), PGCDC_ERR_INVALID);
    assert_int_equal(strlen(small), sizeof(small) - 1);
    assert_memory_equal(small, pgcdc_config_errmsg(cfg), sizeof(small) - 1);
    /* Success leaves the buffer (and the last message) alone. */
    assert_int_equal(pgcdc_config_set(cfg, "protocol", "2", ok, sizeof(ok)), PGCDC_OK);
    assert_string_equal(ok, "left alone");
    assert_non_null(strstr(pgcdc_config_errmsg(cfg), "nosuch"));
}

static int mq_write(pgcdc_sink *sink, const pgcdc_sink_event *ev)
{
    (void)sink;
    (void)ev;
    return PGCDC_HANDLED;
}

static const pgcdc_property mq_properties[] = {
    {"topic", PGCDC_PROP_STRING, NULL, 0, 0, NULL, "the topic"},
    {"batch", PGCDC_PROP_INT, "10", 1, 1000, NULL, "events per batch"},
};

static const pgcdc_sink_ops mq_ops = {
    .abi = PGCDC_SINK_ABI,
    .kind = "mq",
    .write = mq_write,
    .properties = mq_properties,
    .nproperties = 2,
};

/* A sink of your own brings its properties once it is added. */
static void test_set_own_sink_property(void **state)
{
    pgcdc_config *cfg = *state;
    pgcdc_sink_ops bad = mq_ops;
    const pgcdc_property *p;

    assert_refused(cfg, "sink.mq.topic", "t", "unknown sink kind", NULL);
    assert_int_equal(pgcdc_config_add_sink_ops(cfg, &mq_ops, "mq:x", NULL), PGCDC_OK);
    assert_set(cfg, "sink.mq.topic", "orders");
    assert_set(cfg, "sink.mq.batch", "1000");
    assert_refused(cfg, "sink.mq.batch", "0", "sink.mq.batch", "between 1 and 1000", NULL);
    assert_refused(cfg, "sink.mq.partition", "1", "unknown property of that sink", NULL);
    assert_int_equal(cfg->nprops, 2);
    assert_string_equal(cfg->props[0].key, "sink.mq.topic");
    assert_string_equal(cfg->props[1].value, "1000");
    /* Not a built-in: the table does not list it. */
    for (int i = 0; (p = pgcdc_property_at(i, NULL)) != NULL; i++)
        assert_ptr_not_equal(p, &mq_properties[0]);
    /* Ops that cannot work are refused. */
    bad.abi = 0;
    assert_failed_with_message(cfg, pgcdc_config_add_sink_ops(cfg, &bad, "mq:x", NULL));
    bad.abi = PGCDC_SINK_ABI + 1;
    assert_failed_with_message(cfg, pgcdc_config_add_sink_ops(cfg, &bad, "mq:x", NULL));
    bad = mq_ops;
    bad.kind = NULL;
    assert_failed_with_message(cfg, pgcdc_config_add_sink_ops(cfg, &bad, "mq:x", NULL));
    bad = mq_ops;
    bad.write = NULL;
    assert_failed_with_message(cfg, pgcdc_config_add_sink_ops(cfg, &bad, "mq:x", NULL));
    assert_failed_with_message(cfg, pgcdc_config_add_sink_ops(cfg, NULL, "mq:x", NULL));
    assert_int_equal(cfg->nsinks, 1);
}

/* Messages show a sink's URI without credentials: no user or password, the query elided. */
static void test_uri_shown(void **state)
{
    static const char *const cases[][2] = {
        {"https://user:pw@hooks.example:8443/in?token=s3cr3t", "https://hooks.example:8443/in?..."},
        {"http://a@b@host/x", "http://host/x"},
        {"http://host/path@x", "http://host/path@x"},
        {"kafka://h1:9092,h2:9092/${schema}.${table}",
         "kafka://h1:9092,h2:9092/${schema}.${table}"},
        {"file:/tmp/a?b", "file:/tmp/a?..."},
        {"-", "-"},
        {"", ""},
    };
    char out[128];
    pgcdc_config *cfg = *state;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        pgcdc__sink_uri_shown(cases[i][0], out, sizeof(out));
        assert_string_equal(out, cases[i][1]);
    }
    /* Cut short, never overrun. */
    pgcdc__sink_uri_shown("https://u:p@host/abcdef", out, 12);
    assert_string_equal(out, "https://hos");
    /* A refused URI is named without its password either. */
    assert_int_equal(pgcdc_config_add_sink(cfg, "ftp://u:hunter2@h/x"), PGCDC_ERR_INVALID);
    assert_null(strstr(pgcdc_config_errmsg(cfg), "hunter2"));
    assert_int_equal(pgcdc_config_add_sink(cfg, "http://u:hunter2@/x"), PGCDC_ERR_INVALID);
    assert_null(strstr(pgcdc_config_errmsg(cfg), "hunter2"));
}

static void test_add_sink(void **state)
{
    pgcdc_config *cfg = *state;
    static const char *const bad[] = {"",       "file",      "mqtt:topic",  "ftp://h/x",
                                      "stdout", "--",        "FILE:/tmp/x", " file:/tmp/x",
                                      "-:",     "file/tmp/x"};
    int opaque;

    assert_int_equal(pgcdc_config_add_sink(cfg, "-"), PGCDC_OK);
    assert_int_equal(pgcdc_config_add_sink(cfg, "file:/tmp/a.jsonl"), PGCDC_OK);
    assert_int_equal(pgcdc_config_add_sink_ops(cfg, &mq_ops, NULL, &opaque), PGCDC_OK);
    assert_int_equal(cfg->nsinks, 3);
    assert_string_equal(cfg->sinks[0].uri, "-");
    assert_string_equal(cfg->sinks[1].uri, "file:/tmp/a.jsonl");
    assert_string_equal(cfg->sinks[0].ops->kind, "file");
    assert_ptr_equal(cfg->sinks[0].ops, cfg->sinks[1].ops);
    assert_ptr_equal(cfg->sinks[2].ops, &mq_ops);
    assert_ptr_equal(cfg->sinks[2].opaque, &opaque);
    assert_string_equal(cfg->sinks[2].uri, "");
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int r = pgcdc_config_add_sink(cfg, bad[i]);

        if (r != PGCDC_ERR_INVALID)
            fail_msg("sink \"%s\" accepted", bad[i]);
        assert_non_null(strstr(pgcdc_config_errmsg(cfg), "unknown sink"));
        assert_non_null(strstr(pgcdc_config_errmsg(cfg), bad[i]));
        assert_null(strchr(pgcdc_config_errmsg(cfg), '\n'));
    }
    assert_failed_with_message(cfg, pgcdc_config_add_sink(cfg, NULL));
    assert_int_equal(cfg->nsinks, 3);
}

static void close_cb(pgcdc_worker *w, void *opaque)
{
    (void)w;
    (void)opaque;
}

static void test_set_handler(void **state)
{
    pgcdc_config *cfg = *state;
    int opaque;
    pgcdc_handler h = {PGCDC_HANDLER_ABI, txn_cb, change_cb, txn_cb, idle_cb, close_cb, &opaque};
    pgcdc_handler other = {PGCDC_HANDLER_ABI, NULL, NULL, NULL, NULL, NULL, NULL};
    static const int bad_abi[] = {0, -1, PGCDC_HANDLER_ABI + 1, INT_MAX, INT_MIN};

    assert_int_equal(pgcdc_config_set_handler(cfg, &h), PGCDC_OK);
    assert_ptr_equal(cfg->begin_cb, txn_cb);
    assert_ptr_equal(cfg->change_cb, change_cb);
    assert_ptr_equal(cfg->commit_cb, txn_cb);
    assert_ptr_equal(cfg->idle_cb, idle_cb);
    assert_ptr_equal(cfg->close_cb, close_cb);
    assert_ptr_equal(cfg->begin_opaque, &opaque);
    assert_ptr_equal(cfg->change_opaque, &opaque);
    assert_ptr_equal(cfg->commit_opaque, &opaque);
    assert_ptr_equal(cfg->idle_opaque, &opaque);
    assert_ptr_equal(cfg->close_opaque, &opaque);
    /* Copied: changing the caller's struct afterwards changes nothing. */
    h.change = NULL;
    assert_ptr_equal(cfg->change_cb, change_cb);
    for (size_t i = 0; i < sizeof(bad_abi) / sizeof(bad_abi[0]); i++) {
        other.abi = bad_abi[i];
        assert_failed_with_message(cfg, pgcdc_config_set_handler(cfg, &other));
        assert_non_null(strstr(pgcdc_config_errmsg(cfg), "ABI"));
        /* Nothing replaced. */
        assert_ptr_equal(cfg->change_cb, change_cb);
        assert_ptr_equal(cfg->close_cb, close_cb);
    }
    assert_failed_with_message(cfg, pgcdc_config_set_handler(cfg, NULL));
    assert_ptr_equal(cfg->change_cb, change_cb);
    /* A handler replaces every callback, NULL ones too. */
    other.abi = PGCDC_HANDLER_ABI;
    assert_int_equal(pgcdc_config_set_handler(cfg, &other), PGCDC_OK);
    assert_null(cfg->change_cb);
    assert_null(cfg->begin_cb);
    assert_null(cfg->close_cb);
}

static void test_set_format(void **state)
{
    pgcdc_config *cfg = *state;
    static const int bad[] = {3, -1, 100, INT_MAX, INT_MIN};

    assert_int_equal(cfg->format, PGCDC_FORMAT_JSON);
    assert_int_equal(pgcdc_config_set_format(cfg, PGCDC_FORMAT_WAL2JSON), PGCDC_OK);
    assert_int_equal(cfg->format, PGCDC_FORMAT_WAL2JSON);
    assert_int_equal(pgcdc_config_set_format(cfg, PGCDC_FORMAT_DEBEZIUM), PGCDC_OK);
    assert_int_equal(cfg->format, PGCDC_FORMAT_DEBEZIUM);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_failed_with_message(cfg, pgcdc_config_set_format(cfg, (pgcdc_format)bad[i]));
        assert_non_null(strstr(pgcdc_config_errmsg(cfg), "format"));
        assert_int_equal(cfg->format, PGCDC_FORMAT_DEBEZIUM);
    }
    assert_int_equal(pgcdc_config_set_format(cfg, PGCDC_FORMAT_JSON), PGCDC_OK);
    assert_int_equal(cfg->format, PGCDC_FORMAT_JSON);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_property_table),
        cmocka_unit_test(test_set_every_property),
        cmocka_unit_test_setup_teardown(test_set_dash_is_underscore, setup, teardown),
        cmocka_unit_test_setup_teardown(test_set_bool, setup, teardown),
        cmocka_unit_test_setup_teardown(test_set_duration, setup, teardown),
        cmocka_unit_test_setup_teardown(test_set_size, setup, teardown),
        cmocka_unit_test_setup_teardown(test_set_ranges, setup, teardown),
        cmocka_unit_test_setup_teardown(test_set_int, setup, teardown),
        cmocka_unit_test_setup_teardown(test_set_lsn, setup, teardown),
        cmocka_unit_test_setup_teardown(test_set_enum, setup, teardown),
        cmocka_unit_test_setup_teardown(test_set_strings, setup, teardown),
        cmocka_unit_test_setup_teardown(test_set_lists_append, setup, teardown),
        cmocka_unit_test_setup_teardown(test_set_unknown, setup, teardown),
        cmocka_unit_test_setup_teardown(test_set_errbuf, setup, teardown),
        cmocka_unit_test_setup_teardown(test_set_own_sink_property, setup, teardown),
        cmocka_unit_test_setup_teardown(test_uri_shown, setup, teardown),
        cmocka_unit_test_setup_teardown(test_add_sink, setup, teardown),
        cmocka_unit_test_setup_teardown(test_set_handler, setup, teardown),
        cmocka_unit_test_setup_teardown(test_set_format, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
