/*
 * The sink registry (the built-in kinds, and those a configuration
 * registered) and the public face of sinks: handles, properties,
 * acknowledgements, and events formatted on first request.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/num.h"
#include "core/row.h"
#include "format/format.h"
#include "sink/amqp.h"
#include "sink/exec.h"
#include "sink/file.h"
#include "sink/http.h"
#include "sink/kafka.h"
#include "sink/nats.h"
#include "sink/pgsql.h"
#include "sink/redis.h"
#include "sink/sink.h"

static const struct {
    const pgcdc_sink_ops *ops;
    const char *prefix; /* of its properties */
    const char *alias;  /* another URI scheme of the kind, or NULL */
} kinds[] = {
    {&pgcdc__file_sink, "sink.file", NULL},
    {&pgcdc__kafka_sink, "sink.kafka", NULL},
    {&pgcdc__http_sink, "sink.http", "https"},
    {&pgcdc__redis_sink, "sink.redis", NULL},
    {&pgcdc__nats_sink, "sink.nats", NULL},
    {&pgcdc__amqp_sink, "sink.amqp", NULL},
    {&pgcdc__pgsql_sink, "sink.postgresql", "postgres"},
    {&pgcdc__exec_sink, "sink.exec", NULL},
};

const pgcdc_sink_ops *pgcdc__sink_kind_at(int i, const char **prefix)
{
    if (i < 0 || (size_t)i >= sizeof(kinds) / sizeof(kinds[0]))
        return NULL;
    if (prefix != NULL)
        *prefix = kinds[i].prefix;
    return kinds[i].ops;
}

const pgcdc_sink_ops *pgcdc__sink_kind(const pgcdc__sink_kind_reg *own, int nown, const char *kind,
                                       void **opaque)
{
    if (opaque != NULL)
        *opaque = NULL;
    for (int i = 0; pgcdc__sink_kind_at(i, NULL) != NULL; i++) {
        if (strcmp(kinds[i].ops->kind, kind) == 0)
            return kinds[i].ops;
    }
    for (int i = 0; i < nown; i++) {
        if (strcmp(own[i].ops->kind, kind) == 0) {
            if (opaque != NULL)
                *opaque = own[i].opaque;
            return own[i].ops;
        }
    }
    return NULL;
}

int pgcdc__sink_kind_builtin(const char *name)
{
    for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
        if (strcmp(kinds[i].ops->kind, name) == 0 ||
            (kinds[i].alias != NULL && strcmp(kinds[i].alias, name) == 0))
            return 1;
    }
    return 0;
}

const pgcdc_sink_ops *pgcdc__sink_kind_for_uri(const pgcdc__sink_kind_reg *own, int nown,
                                               const char *uri, void **opaque)
{
    const char *colon;
    char scheme[32];

    if (opaque != NULL)
        *opaque = NULL;
    if (uri == NULL)
        return NULL;
    /* "-" is stdout, the file sink's. */
    if (strcmp(uri, "-") == 0)
        return &pgcdc__file_sink;
    colon = strchr(uri, ':');
    if (colon == NULL || (size_t)(colon - uri) >= sizeof(scheme))
        return NULL;
    memcpy(scheme, uri, (size_t)(colon - uri));
    scheme[colon - uri] = '\0';
    for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
        if (kinds[i].alias != NULL && strcmp(kinds[i].alias, scheme) == 0)
            return kinds[i].ops;
    }
    return pgcdc__sink_kind(own, nown, scheme, opaque);
}

/* Property names are equal when they differ only in '-' against '_'. */
static int names_equal(const char *a, const char *b)
{
    for (; *a != '\0' && *b != '\0'; a++, b++) {
        if (*a != *b && !((*a == '-' || *a == '_') && (*b == '-' || *b == '_')))
            return 0;
    }
    return *a == *b;
}

const pgcdc_property *pgcdc__sink_property(const pgcdc_sink_ops *ops, const char *name)
{
    for (int i = 0; i < ops->nproperties; i++) {
        if (names_equal(ops->properties[i].name, name))
            return &ops->properties[i];
    }
    return NULL;
}

pgcdc_sink *pgcdc__sink_new(const pgcdc_sink_ops *ops, const char *uri, void *opaque,
                            pgcdc_format format, const pgcdc__sink_env *env)
{
    pgcdc_sink *sink = calloc(1, sizeof(*sink));
    const char *own;

    if (sink == NULL)
        return NULL;
    sink->uri = strdup(uri != NULL ? uri : "");
    sink->shown = malloc(strlen(sink->uri != NULL ? sink->uri : "") + 8);
    if (sink->shown != NULL)
        pgcdc__sink_uri_shown(sink->uri != NULL ? sink->uri : "", sink->shown,
                              strlen(sink->uri != NULL ? sink->uri : "") + 8);
    if (sink->uri == NULL || sink->shown == NULL) {
        free(sink->uri);
        free(sink->shown);
        free(sink);
        return NULL;
    }
    pgcdc__sink_counters_init(&sink->stats);
    sink->ops = ops;
    sink->opaque = opaque;
    sink->env = *env;
    sink->ctx = env->ctx;
    sink->ledger = env->ledger;
    sink->props = env->props;
    sink->nprops = env->nprops;
    sink->format = format;
    /* Checked when set: one of the formats' names. */
    own = pgcdc_sink_property(sink, "format");
    if (own != NULL)
        pgcdc_format_parse(own, &sink->format);
    return sink;
}

void pgcdc__sink_uri_shown(const char *uri, char *out, size_t size)
{
    const char *auth = strstr(uri, "://");
    const char *at = NULL;
    const char *end;
    const char *query;
    size_t n = 0;

    if (size == 0)
        return;
    out[0] = '\0';
    if (auth != NULL) {
        auth += 3;
        end = auth + strcspn(auth, "/?#");
        for (const char *p = auth; p < end; p++) {
            if (*p == '@')
                at = p;
        }
    }
    query = strchr(auth != NULL ? auth : uri, '?');
    for (const char *p = uri; *p != '\0' && n + 1 < size; p++) {
        /* The user and password: up to the authority's last '@'. */
        if (at != NULL && p >= auth && p <= at)
            continue;
        if (p == query) {
            snprintf(out + n, size - n, "?...");
            return;
        }
        out[n++] = *p;
    }
    out[n] = '\0';
}

/*
 * The message a sink left, or a plain one when it left none.  Counted as a
 * failure unless it is a stop, or one its own thread found and counted.
 */
static int sink_failed(pgcdc_sink *sink, const char *what, int r)
{
    if (r != PGCDC_ERR_STOPPED && !sink->relayed)
        pgcdc__sink_counters_error(&sink->stats);
    sink->relayed = 0;
    if (pgcdc__errmsg(sink->ctx)[0] == '\0')
        pgcdc__fail(sink->ctx, r, "sink \"%s\" failed to %s: %s", sink->shown, what,
                    pgcdc_strerror(r));
    return r;
}

int pgcdc__sink_open(pgcdc_sink *sink)
{
    int r;

    sink->ctx->msg[0] = '\0';
    sink->relayed = 0;
    sink->opened = 1;
    r = sink->ops->open != NULL ? sink->ops->open(sink, sink->uri) : PGCDC_OK;
    return r < 0 ? sink_failed(sink, "open", r) : PGCDC_OK;
}

int pgcdc__sink_write(pgcdc_sink *sink, pgcdc_sink_event *ev)
{
    int commit = ev->kind == PGCDC_EVENT_COMMIT;
    int64_t since = 0;
    uint64_t wait = 0;
    int r;

    sink->ctx->msg[0] = '\0';
    sink->relayed = 0;
    ev->format = sink->format;
    ev->asking = 1;
    ev->asked = 0;
    /* A commit's acknowledgement may come before its write returns: the wait starts first. */
    if (commit) {
        since = pgcdc__now_us();
        wait = pgcdc__sink_counters_expect(&sink->stats, ev->txn->token, since);
    }
    r = sink->ops->write(sink, ev);
    ev->asking = 0;
    if (commit)
        pgcdc__sink_counters_settle(&sink->stats, wait, since, r, pgcdc__now_us());
    else if (r == PGCDC_DEFER)
        pgcdc__sink_counters_deferred(&sink->stats, ev->txn->token, pgcdc__now_us());
    if (r < 0)
        return sink_failed(sink, "write", r);
    pgcdc__sink_counters_wrote(&sink->stats, ev->asked);
    return r;
}

int pgcdc__sink_flush(pgcdc_sink *sink)
{
    int r;

    if (sink->ops->flush == NULL)
        return PGCDC_OK;
    sink->ctx->msg[0] = '\0';
    sink->relayed = 0;
    r = sink->ops->flush(sink);
    return r < 0 ? sink_failed(sink, "flush", r) : PGCDC_OK;
}

int pgcdc__sink_reopen(pgcdc_sink *sink)
{
    int r;

    /* The member exists from abi 2 on. */
    if (sink->ops->abi < 2 || sink->ops->reopen == NULL)
        return PGCDC_OK;
    sink->ctx->msg[0] = '\0';
    sink->relayed = 0;
    r = sink->ops->reopen(sink);
    return r < 0 ? sink_failed(sink, "reopen", r) : PGCDC_OK;
}

void pgcdc__sink_free(pgcdc_sink *sink)
{
    if (sink == NULL)
        return;
    /* Once open was called, close frees whatever it made, even after a failed open. */
    if (sink->opened && sink->ops->close != NULL)
        sink->ops->close(sink);
    pgcdc__sink_counters_destroy(&sink->stats);
    free(sink->uri);
    free(sink->shown);
    free(sink);
}

void *pgcdc_sink_state(const pgcdc_sink *sink)
{
    return sink->state;
}

void pgcdc_sink_set_state(pgcdc_sink *sink, void *state)
{
    sink->state = state;
}

void *pgcdc_sink_opaque(const pgcdc_sink *sink)
{
    return sink->opaque;
}

pgcdc_format pgcdc_sink_format(const pgcdc_sink *sink)
{
    return sink->format;
}

const char *pgcdc_sink_property(const pgcdc_sink *sink, const char *key)
{
    size_t klen = strlen(sink->ops->kind);
    const pgcdc_property *p;

    /* Set values are kept by their full names: sink.<kind>.<key>. */
    for (int i = sink->nprops - 1; i >= 0; i--) {
        const char *k = sink->props[i].key;

        if (strncmp(k, "sink.", 5) == 0 && strncmp(k + 5, sink->ops->kind, klen) == 0 &&
            k[5 + klen] == '.' && names_equal(k + 6 + klen, key))
            return sink->props[i].value;
    }
    p = pgcdc__sink_property(sink->ops, key);
    return p != NULL ? p->default_value : NULL;
}

void pgcdc__sink_wake(const pgcdc_sink *sink)
{
    if (sink->env.poke != NULL)
        atomic_store(sink->env.poke, 1);
    if (sink->env.stop != NULL)
        pgcdc__stop_wake(sink->env.stop);
}

const char *pgcdc__sink_slot(const pgcdc_sink *sink)
{
    return sink->env.slot != NULL ? sink->env.slot : "";
}

const char *pgcdc__sink_database(const pgcdc_sink *sink)
{
    return sink->env.database != NULL && *sink->env.database != NULL ? *sink->env.database : "";
}

void pgcdc__sink_count_error(pgcdc_sink *sink)
{
    pgcdc__sink_counters_error(&sink->stats);
}

void pgcdc__sink_show_inflight(pgcdc_sink *sink, size_t bytes)
{
    atomic_store_explicit(&sink->stats.inflight, (uint64_t)bytes, memory_order_relaxed);
}

int pgcdc__sink_stopping(const pgcdc_sink *sink)
{
    return sink->env.stop != NULL && pgcdc__stop_requested(sink->env.stop);
}

int pgcdc__sink_pause(const pgcdc_sink *sink, int ms)
{
    if (sink->env.stop == NULL) {
        pgcdc__sleep_us(ms * 1000LL);
        return 0;
    }
    return pgcdc__stop_sleep(sink->env.stop, ms) || pgcdc__stop_requested(sink->env.stop);
}

int pgcdc__sink_can_dead_letter(const pgcdc_sink *sink)
{
    return sink->env.dead_letter != NULL;
}

int pgcdc__sink_dead_letter(pgcdc_sink *sink, const char *data, size_t len, const char *why)
{
    if (sink->env.dead_letter == NULL)
        return pgcdc__fail(sink->ctx, PGCDC_ERR_SINK, "%s", why);
    return sink->env.dead_letter(sink->env.dead_letter_arg, sink->shown, data, len, why);
}

int pgcdc__sink_prop_at(const pgcdc_sink *sink, int i, const char **name, const char **value)
{
    size_t klen = strlen(sink->ops->kind);
    int seen = 0;

    for (int j = 0; j < sink->nprops; j++) {
        const char *k = sink->props[j].key;

        if (strncmp(k, "sink.", 5) != 0 || strncmp(k + 5, sink->ops->kind, klen) != 0 ||
            k[5 + klen] != '.')
            continue;
        if (seen++ == i) {
            *name = k + 6 + klen;
            *value = sink->props[j].value;
            return 1;
        }
    }
    return 0;
}

int pgcdc__sink_prop_num(pgcdc_sink *sink, const char *key, long long *out)
{
    const pgcdc_property *p = pgcdc__sink_property(sink->ops, key);
    const char *text = pgcdc_sink_property(sink, key);
    int on;

    if (p == NULL || text == NULL)
        return pgcdc__fail(sink->ctx, PGCDC_ERR_INVALID, "sink.%s.%s is not set", sink->ops->kind,
                           key);
    switch (p->type) {
    case PGCDC_PROP_DURATION:
        if (pgcdc__parse_duration_ms(text, out) == 0)
            return PGCDC_OK;
        break;
    case PGCDC_PROP_SIZE:
        if (pgcdc__parse_size(text, out) == 0)
            return PGCDC_OK;
        break;
    case PGCDC_PROP_BOOL:
        if (pgcdc__parse_flag(text, &on) == 0) {
            *out = on;
            return PGCDC_OK;
        }
        break;
    default: {
        char *end;

        *out = strtoll(text, &end, 10);
        if (end != text && *end == '\0')
            return PGCDC_OK;
    }
    }
    return pgcdc__fail(sink->ctx, PGCDC_ERR_INVALID, "invalid value \"%s\" for sink.%s.%s", text,
                       sink->ops->kind, key);
}

int pgcdc_sink_ack(pgcdc_sink *sink, uint64_t token)
{
    pgcdc__sink_counters_ack(&sink->stats, token, pgcdc__now_us());
    return pgcdc__ledger_ack(sink->ledger, token);
}

int pgcdc_sink_fail(pgcdc_sink *sink, int err, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    pgcdc__vfail(sink->ctx, err, fmt, ap);
    va_end(ap);
    return err;
}

void pgcdc_sink_log(pgcdc_sink *sink, pgcdc_log_level level, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    pgcdc__vlog(sink->ctx, (int)level, fmt, ap);
    va_end(ap);
}

/* ---- events ---- */

void pgcdc__formats_init(pgcdc__formats *fs)
{
    memset(fs, 0, sizeof(*fs));
    for (int i = 0; i < PGCDC__NFORMATS; i++)
        pgcdc__buf_init(&fs->key[i]);
}

void pgcdc__formats_set_options(pgcdc__formats *fs, const pgcdc__prop_value *props, int nprops)
{
    fs->props = props;
    fs->nprops = nprops;
}

pgcdc_formatter *pgcdc__formats_get(pgcdc__formats *fs, pgcdc_format format)
{
    pgcdc_formatter *f = fs->f[format];
    const char *name;
    size_t n;

    if (f != NULL)
        return f;
    f = pgcdc_formatter_new(format, fs->dbname);
    if (f == NULL)
        return NULL;
    /* Its options, in the order they were set (a later one wins). */
    name = f->ops->name;
    n = strlen(name);
    for (int i = 0; i < fs->nprops; i++) {
        const char *key = fs->props[i].key;

        if (strncmp(key, name, n) == 0 && key[n] == '.')
            pgcdc_formatter_set(f, key + n + 1, fs->props[i].value);
    }
    fs->f[format] = f;
    return f;
}

int pgcdc__formats_needs(pgcdc__formats *fs, pgcdc_format format)
{
    pgcdc_formatter *f = pgcdc__formats_get(fs, format);

    return f != NULL && f->ops->needs != NULL ? f->ops->needs(f) : 0;
}

int pgcdc__formats_set_dbname(pgcdc__formats *fs, const char *dbname)
{
    char *copy = strdup(dbname != NULL ? dbname : "");

    if (copy == NULL)
        return PGCDC_ERR_NOMEM;
    free(fs->dbname);
    fs->dbname = copy;
    return PGCDC_OK;
}

void pgcdc__formats_clear(pgcdc__formats *fs)
{
    for (int i = 0; i < PGCDC__NFORMATS; i++)
        pgcdc_formatter_free(fs->f[i]);
    for (int i = 0; i < PGCDC__NFORMATS; i++)
        pgcdc__buf_free(&fs->key[i]);
    free(fs->dbname);
    pgcdc__formats_init(fs);
}

void pgcdc__sink_event_init(pgcdc_sink_event *ev, pgcdc_event_kind kind, const pgcdc_txn *txn,
                            const pgcdc_change *change, pgcdc__formats *formats)
{
    ev->kind = kind;
    ev->txn = txn;
    ev->change = change;
    ev->topic = NULL;
    ev->formats = formats;
    ev->formatted = 0;
    ev->keyed = 0;
    ev->format = PGCDC_FORMAT_JSON;
    ev->asking = 0;
    ev->asked = 0;
}

pgcdc_event_kind pgcdc_sink_event_kind(const pgcdc_sink_event *ev)
{
    return ev->kind;
}

int pgcdc_sink_event_data(const pgcdc_sink_event *ev, const char **data, size_t *len)
{
    pgcdc_sink_event *mut = (pgcdc_sink_event *)ev;
    pgcdc__formats *fs = ev->formats;
    int i = (int)ev->format;

    if (!(ev->formatted & (1u << i))) {
        pgcdc_formatter *f = pgcdc__formats_get(fs, ev->format);

        if (f == NULL)
            return PGCDC_ERR_NOMEM;
        pgcdc__buf_reset(&f->out);
        if (ev->kind == PGCDC_EVENT_BEGIN)
            f->ops->begin(f, ev->txn);
        else if (ev->kind == PGCDC_EVENT_COMMIT)
            f->ops->commit(f, ev->txn);
        else
            f->ops->change(f, ev->change);
        mut->data[i] = pgcdc__buf_cstr(&f->out);
        if (mut->data[i] == NULL) {
            pgcdc__buf_reset(&f->out);
            return PGCDC_ERR_NOMEM;
        }
        mut->len[i] = f->out.len;
        mut->formatted |= 1u << i;
    }
    *data = ev->data[i];
    *len = ev->len[i];
    if (ev->asking) {
        mut->asking = 0;
        mut->asked = ev->len[i];
    }
    return PGCDC_OK;
}

int pgcdc_sink_event_key(const pgcdc_sink_event *ev, const char **data, size_t *len)
{
    pgcdc_sink_event *mut = (pgcdc_sink_event *)ev;
    int i = (int)ev->format;
    pgcdc__buf *key = &ev->formats->key[i];
    const char *text;

    if (!(ev->keyed & (1u << i))) {
        pgcdc__buf_reset(key);
        /* A TRUNCATE and a schema change are of the whole table: no row's key. */
        if (ev->change != NULL && ev->change->op != PGCDC_OP_TRUNCATE &&
            ev->change->op != PGCDC_OP_SCHEMA) {
            pgcdc_formatter *f = pgcdc__formats_get(ev->formats, ev->format);

            if (f == NULL)
                return PGCDC_ERR_NOMEM;
            if (f->ops->key != NULL)
                f->ops->key(f, ev->change, key);
            else
                pgcdc__fmt_key(key, ev->change);
        }
        mut->keyed |= 1u << i;
    }
    text = pgcdc__buf_cstr(key);
    if (text == NULL)
        return PGCDC_ERR_NOMEM;
    *data = text;
    *len = key->len;
    return PGCDC_OK;
}

const char *pgcdc_sink_event_route(const pgcdc_sink_event *ev)
{
    return ev->change != NULL ? ev->change->rel->route : NULL;
}

const char *pgcdc_sink_event_topic(const pgcdc_sink_event *ev)
{
    return ev->change != NULL ? ev->topic : NULL;
}

uint64_t pgcdc_sink_event_token(const pgcdc_sink_event *ev)
{
    return ev->txn->token;
}

const pgcdc_txn *pgcdc_sink_event_txn(const pgcdc_sink_event *ev)
{
    return ev->txn;
}

const pgcdc_change *pgcdc_sink_event_change(const pgcdc_sink_event *ev)
{
    return ev->change;
}
