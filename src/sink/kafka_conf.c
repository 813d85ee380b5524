/*
 * The kafka sink's names: its URI (kafka://HOST:PORT[,HOST:PORT]/TOPIC,
 * checked before anything connects), the topic template, and librdkafka
 * properties passed through, checked by librdkafka itself.
 */
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <librdkafka/rdkafka.h>

#include "sink/kafka_int.h"
#include "sink/template.h"

/* ---- the URI: kafka://HOST:PORT[,HOST:PORT]/TOPIC ---- */

static int topic_char(int ch)
{
    return isalnum(ch) || ch == '.' || ch == '_' || ch == '-';
}

/* The template: placeholders, Kafka's characters and its length.  PGCDC_OK or a reason. */
static int check_template(const char *t, char *err, size_t errlen)
{
    size_t literal = 0;

    if (pgcdc__template_check(t, "topic", topic_char,
                              "in a Kafka topic name (use letters, digits, '.', '_' and '-')",
                              &literal, err, errlen) != PGCDC_OK)
        return PGCDC_ERR_INVALID;
    if (literal > 249) {
        snprintf(err, errlen, "the topic is longer than Kafka's 249 characters");
        return PGCDC_ERR_INVALID;
    }
    return PGCDC_OK;
}

/* One HOST:PORT of n bytes: PGCDC_OK or a reason. */
static int check_broker(const char *b, size_t n, char *err, size_t errlen)
{
    const char *colon = NULL;
    long port = 0;

    for (size_t i = 0; i < n; i++) {
        if (b[i] == ':')
            colon = b + i;
    }
    if (n == 0 || colon == b) {
        snprintf(err, errlen, "no broker host (use kafka://HOST:PORT/TOPIC)");
        return PGCDC_ERR_INVALID;
    }
    if (colon == NULL || colon + 1 == b + n) {
        snprintf(err, errlen, "broker \"%.*s\" has no port (use HOST:PORT, e.g. localhost:9092)",
                 (int)n, b);
        return PGCDC_ERR_INVALID;
    }
    for (const char *p = colon + 1; p < b + n; p++) {
        if (!isdigit((unsigned char)*p) || port > 65535) {
            port = -1;
            break;
        }
        port = port * 10 + (*p - '0');
    }
    if (port < 1 || port > 65535) {
        snprintf(err, errlen, "broker \"%.*s\" has a bad port (use a number from 1 to 65535)",
                 (int)n, b);
        return PGCDC_ERR_INVALID;
    }
    for (const char *p = b; p < colon; p++) {
        if (!(isalnum((unsigned char)*p) || strchr(".-_[]:", *p) != NULL)) {
            snprintf(err, errlen, "broker \"%.*s\" has a bad host name", (int)n, b);
            return PGCDC_ERR_INVALID;
        }
    }
    return PGCDC_OK;
}

int pgcdc__kafka_check_uri(const char *uri, char *err, size_t errlen)
{
    const char *hosts;
    const char *slash;

    if (strncmp(uri, "kafka://", 8) != 0) {
        snprintf(err, errlen, "not a kafka URI (use kafka://HOST:PORT[,HOST:PORT]/TOPIC)");
        return PGCDC_ERR_INVALID;
    }
    hosts = uri + 8;
    slash = strchr(hosts, '/');
    if (slash == NULL)
        slash = hosts + strlen(hosts);
    for (const char *b = hosts; b <= slash;) {
        const char *comma = memchr(b, ',', (size_t)(slash - b));
        const char *end = comma != NULL ? comma : slash;

        if (check_broker(b, (size_t)(end - b), err, errlen) != PGCDC_OK)
            return PGCDC_ERR_INVALID;
        b = end + 1;
    }
    return *slash == '/' ? check_template(slash + 1, err, errlen) : PGCDC_OK;
}

/* Splits a checked URI: the brokers and the topic template (owned by ks). */
int pgcdc__kafka_split_uri(pgcdc__kafka *ks, const char *uri)
{
    const char *hosts = uri + 8;
    const char *slash = strchr(hosts, '/');
    size_t n = slash != NULL ? (size_t)(slash - hosts) : strlen(hosts);
    const char *t = slash != NULL && slash[1] != '\0' ? slash + 1 : "${prefix}.${schema}.${table}";

    ks->brokers = strndup(hosts, n);
    ks->topic_tmpl = strdup(t);
    return ks->brokers != NULL && ks->topic_tmpl != NULL ? PGCDC_OK : PGCDC_ERR_NOMEM;
}

/* Characters Kafka refuses in a name become '_', as Debezium does. */
const char *pgcdc__kafka_topic(pgcdc__kafka *ks, const char *tmpl, const char *schema,
                               const char *table)
{
    if (pgcdc__template_expand(&ks->topic, tmpl != NULL ? tmpl : ks->topic_tmpl, schema, table,
                               ks->prefix, topic_char) != PGCDC_OK)
        return NULL;
    return pgcdc__buf_cstr(&ks->topic);
}

/* ---- topic handles, one per topic name ---- */

struct pgcdc__ktopic {
    char *name; /* NULL: a free slot */
    uint64_t hash;
    rd_kafka_topic_t *rkt;
};

static uint64_t name_hash(const char *s)
{
    uint64_t h = 14695981039346656037ULL;

    for (; *s != '\0'; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

/* Open addressing, at most half full. */
static struct pgcdc__ktopic *topic_slot(struct pgcdc__ktopic *tab, size_t cap, const char *name,
                                        uint64_t h)
{
    size_t i = (size_t)h & (cap - 1);

    while (tab[i].name != NULL && (tab[i].hash != h || strcmp(tab[i].name, name) != 0))
        i = (i + 1) & (cap - 1);
    return &tab[i];
}

static int topics_grow(pgcdc__kafka *ks)
{
    size_t cap = ks->topics_cap > 0 ? ks->topics_cap * 2 : 16;
    struct pgcdc__ktopic *tab = calloc(cap, sizeof(*tab));

    if (tab == NULL)
        return PGCDC_ERR_NOMEM;
    for (size_t i = 0; i < ks->topics_cap; i++) {
        if (ks->topics[i].name != NULL)
            *topic_slot(tab, cap, ks->topics[i].name, ks->topics[i].hash) = ks->topics[i];
    }
    free(ks->topics);
    ks->topics = tab;
    ks->topics_cap = cap;
    return PGCDC_OK;
}

/*
 * Made once per name: a handle spares librdkafka a lookup per message, and
 * making it asks for the topic's partitions at once (producing by name to a
 * topic the client has not seen waits for a timer, up to a second, in the
 * librdkafka versions before 2.10.1).
 */
rd_kafka_topic_t *pgcdc__kafka_topic_handle(pgcdc__kafka *ks, const char *name)
{
    uint64_t h = name_hash(name);
    struct pgcdc__ktopic *e;

    if (ks->topics_cap > 0) {
        e = topic_slot(ks->topics, ks->topics_cap, name, h);
        if (e->name != NULL)
            return e->rkt;
    }
    if ((ks->ntopics + 1) * 2 > ks->topics_cap && topics_grow(ks) != PGCDC_OK)
        return NULL;
    e = topic_slot(ks->topics, ks->topics_cap, name, h);
    e->name = strdup(name);
    if (e->name == NULL)
        return NULL;
    e->rkt = rd_kafka_topic_new(ks->rk, name, NULL);
    if (e->rkt == NULL) {
        free(e->name);
        e->name = NULL;
        return NULL;
    }
    e->hash = h;
    ks->ntopics++;
    return e->rkt;
}

void pgcdc__kafka_topics_free(pgcdc__kafka *ks)
{
    for (size_t i = 0; i < ks->topics_cap; i++) {
        if (ks->topics[i].name != NULL) {
            rd_kafka_topic_destroy(ks->topics[i].rkt);
            free(ks->topics[i].name);
        }
    }
    free(ks->topics);
    ks->topics = NULL;
    ks->topics_cap = 0;
    ks->ntopics = 0;
}

/* A librdkafka property the table does not have: librdkafka's own verdict. */
int pgcdc__kafka_check_property(const char *name, const char *value, char *err, size_t errlen)
{
    rd_kafka_conf_t *conf;
    rd_kafka_conf_res_t res;
    char why[512] = "";

    if (strcmp(name, "bootstrap.servers") == 0 || strcmp(name, "metadata.broker.list") == 0 ||
        strcmp(name, "transactional.id") == 0) {
        snprintf(err, errlen,
                 "set by pgcdc (the brokers are the URI's; use "
                 "sink.kafka.transactional_id with exactly_once)");
        return PGCDC_ERR_INVALID;
    }
    conf = rd_kafka_conf_new();
    if (conf == NULL) {
        snprintf(err, errlen, "out of memory");
        return PGCDC_ERR_NOMEM;
    }
    res = rd_kafka_conf_set(conf, name, value, why, sizeof(why));
    rd_kafka_conf_destroy(conf);
    if (res == RD_KAFKA_CONF_OK)
        return PGCDC_OK;
    snprintf(err, errlen, "%s", why[0] ? why : "not a librdkafka property");
    return PGCDC_ERR_INVALID;
}
