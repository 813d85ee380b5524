/*
 * The Prometheus text exposition format 0.0.4 (see metrics.h): one family
 * at a time, its HELP and TYPE lines once before its first sample, a
 * pipeline label on every sample so that several pipelines are one scrape.
 * docs/OPERATIONS.md lists every family.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"
#include "status.h"
#include "text.h"

/* The page being written (text.h). */
typedef pgcdc_tool_text text;
#define put(t, ...) pgcdc_tool_text_put((t), __VA_ARGS__)

/* A label value: backslash, double quote and line feed escaped. */
static void put_label(text *t, const char *v)
{
    for (; *v != '\0'; v++) {
        if (*v == '\\')
            put(t, "\\\\");
        else if (*v == '"')
            put(t, "\\\"");
        else if (*v == '\n')
            put(t, "\\n");
        else
            put(t, "%c", *v);
    }
}

/* The family being written: its header goes out with its first sample. */
typedef struct family {
    const char *name;
    const char *type;
    const char *help;
    int started;
} family;

/* Starts a sample of f for pipeline p: `name{pipeline="p"` (the caller closes the braces). */
static void sample(text *t, family *f, const char *suffix, const char *pipeline)
{
    if (!f->started) {
        put(t, "# HELP %s %s\n# TYPE %s %s\n", f->name, f->help, f->name, f->type);
        f->started = 1;
    }
    put(t, "%s%s{pipeline=\"", f->name, suffix);
    put_label(t, pipeline);
    put(t, "\"");
}

/* Counters and gauges read straight from a uint64_t of pgcdc_stats. */
static const struct plain {
    const char *name;
    const char *type;
    size_t off;
    int seconds; /* the field is in microseconds */
    const char *help;
} plain[] = {
    {"pgcdc_events_total", "counter", offsetof(pgcdc_stats, changes), 0,
     "Changes handed out to the handler and sinks (snapshot rows included)."},
    {"pgcdc_transactions_total", "counter", offsetof(pgcdc_stats, transactions), 0,
     "Transactions handed out."},
    {"pgcdc_received_bytes_total", "counter", offsetof(pgcdc_stats, bytes), 0,
     "Replication bytes received."},
    {"pgcdc_received_lsn", "gauge", offsetof(pgcdc_stats, received_lsn), 0,
     "The highest WAL position received, as a number."},
    {"pgcdc_confirmed_lsn", "gauge", offsetof(pgcdc_stats, confirmed_lsn), 0,
     "The slot's position as far as pgcdc confirmed it, as a number."},
    {"pgcdc_reconnects_total", "counter", offsetof(pgcdc_stats, reconnects), 0,
     "Streams opened again after a lost connection."},
    {"pgcdc_retries_total", "counter", offsetof(pgcdc_stats, retries), 0,
     "Handler and sink calls retried."},
    {"pgcdc_dead_letters_total", "counter", offsetof(pgcdc_stats, dead_letters), 0,
     "Changes written to the dead-letter file."},
    {"pgcdc_confirm_latency_max_seconds", "gauge", offsetof(pgcdc_stats, confirm_latency_max_us), 1,
     "The longest time from a transaction's commit to its confirmation."},
    {"pgcdc_slot_retained_wal_bytes", "gauge", offsetof(pgcdc_stats, slot_retained_wal), 0,
     "WAL the slot holds back on the server (read every 5 s)."},
    {"pgcdc_slot_wal_budget_bytes", "gauge", offsetof(pgcdc_stats, slot_wal_budget), 0,
     "slot.max_retained_wal: the WAL the slot may hold back before it is over budget (0: none)."},
    {"pgcdc_heartbeats_total", "counter", offsetof(pgcdc_stats, heartbeats), 0,
     "Heartbeat messages written (heartbeat.interval)."},
    {"pgcdc_heartbeat_lsn", "gauge", offsetof(pgcdc_stats, heartbeat_lsn), 0,
     "The WAL position of the last heartbeat, as a number (0: none)."},
    {"pgcdc_snapshot_rows", "gauge", offsetof(pgcdc_stats, snapshot_rows), 0,
     "READ rows of the snapshot under way handed out (0: none under way)."},
    {"pgcdc_snapshot_rows_estimate", "gauge", offsetof(pgcdc_stats, snapshot_rows_estimate), 0,
     "The catalog's estimate of the rows the snapshot under way reads."},
    {"pgcdc_snapshot_tables", "gauge", offsetof(pgcdc_stats, snapshot_tables), 0,
     "Tables the snapshot under way reads."},
    {"pgcdc_snapshot_tables_done", "gauge", offsetof(pgcdc_stats, snapshot_tables_done), 0,
     "Tables of the snapshot under way read and acknowledged to the end."},
};

static void put_plain(text *t, const pgcdc_tool_metrics_pipeline *p, int n)
{
    for (size_t k = 0; k < sizeof(plain) / sizeof(plain[0]); k++) {
        family f = {plain[k].name, plain[k].type, plain[k].help, 0};

        for (int i = 0; i < n; i++) {
            uint64_t v;

            memcpy(&v, (const char *)&p[i].st + plain[k].off, sizeof(v));
            sample(t, &f, "", p[i].name);
            if (plain[k].seconds)
                put(t, "} %.6f\n", (double)v / 1e6);
            else
                put(t, "} %llu\n", (unsigned long long)v);
        }
    }
}

/* A gauge per state with 1 for the current one: pgcdc_state and pgcdc_slot_wal_status. */
static void put_states(text *t, const pgcdc_tool_metrics_pipeline *p, int n)
{
    static const char *const states[] = {"new",          "starting", "streaming",
                                         "reconnecting", "stopped",  "failed"};
    static const char *const wal[] = {"unknown", "reserved", "extended", "unreserved", "lost"};
    family fs = {"pgcdc_state", "gauge", "The worker's state: 1 for the current one.", 0};
    family fw = {"pgcdc_slot_wal_status", "gauge",
                 "The slot's wal_status in pg_replication_slots: 1 for the current one.", 0};

    for (int i = 0; i < n; i++) {
        for (int s = 0; s < (int)(sizeof(states) / sizeof(states[0])); s++) {
            sample(t, &fs, "", p[i].name);
            put(t, ",state=\"%s\"} %d\n", states[s], (int)p[i].st.state == s);
        }
    }
    for (int i = 0; i < n; i++) {
        for (int s = 0; s < (int)(sizeof(wal) / sizeof(wal[0])); s++) {
            sample(t, &fw, "", p[i].name);
            put(t, ",status=\"%s\"} %d\n", wal[s], (int)p[i].st.slot_wal_status == s);
        }
    }
}

/* The figures worked out from several fields. */
static void put_derived(text *t, const pgcdc_tool_metrics_pipeline *p, int n, int64_t now_us)
{
    family lag = {"pgcdc_lag_seconds", "gauge",
                  "Age of the last change handed out while something received is unconfirmed "
                  "(0: caught up).",
                  0};
    family behind = {"pgcdc_lag_bytes", "gauge", "WAL received and not confirmed yet.", 0};
    family commit = {"pgcdc_last_commit_timestamp_seconds", "gauge",
                     "Commit time of the last transaction handed out, Unix seconds (0: none).", 0};
    family safe = {"pgcdc_slot_safe_wal_size_bytes", "gauge",
                   "WAL that may still be written before the slot is in danger under "
                   "max_slot_wal_keep_size (absent: no limit).",
                   0};
    family over = {"pgcdc_slot_over_budget", "gauge",
                   "1 while the slot holds more WAL than slot.max_retained_wal.", 0};

    for (int i = 0; i < n; i++) {
        sample(t, &lag, "", p[i].name);
        put(t, "} %.6f\n", pgcdc_tool_status_lag(&p[i].st, now_us));
    }
    for (int i = 0; i < n; i++) {
        const pgcdc_stats *st = &p[i].st;

        sample(t, &behind, "", p[i].name);
        put(t, "} %llu\n",
            (unsigned long long)(st->received_lsn > st->confirmed_lsn
                                     ? st->received_lsn - st->confirmed_lsn
                                     : 0));
    }
    for (int i = 0; i < n; i++) {
        sample(t, &commit, "", p[i].name);
        put(t, "} %.6f\n", (double)p[i].st.last_commit_time / 1e6);
    }
    for (int i = 0; i < n; i++) {
        if (p[i].st.slot_safe_wal_size < 0)
            continue;
        sample(t, &safe, "", p[i].name);
        put(t, "} %lld\n", (long long)p[i].st.slot_safe_wal_size);
    }
    for (int i = 0; i < n; i++) {
        sample(t, &over, "", p[i].name);
        put(t, "} %d\n", p[i].st.slot_over_budget != 0);
    }
}

/* From a transaction's commit on the server to its confirmation: a summary. */
static void put_latency(text *t, const pgcdc_tool_metrics_pipeline *p, int n)
{
    family f = {"pgcdc_confirm_latency_seconds", "summary",
                "From a transaction's commit on the server to its confirmation (every handler "
                "and sink acknowledged it).",
                0};

    for (int i = 0; i < n; i++) {
        const pgcdc_stats *st = &p[i].st;

        sample(t, &f, "", p[i].name);
        put(t, ",quantile=\"0.5\"} %.6f\n", (double)st->confirm_latency_p50_us / 1e6);
        sample(t, &f, "", p[i].name);
        put(t, ",quantile=\"0.99\"} %.6f\n", (double)st->confirm_latency_p99_us / 1e6);
        sample(t, &f, "_sum", p[i].name);
        put(t, "} %.6f\n", (double)st->confirm_latency_sum_us / 1e6);
        sample(t, &f, "_count", p[i].name);
        put(t, "} %llu\n", (unsigned long long)st->confirmed_transactions);
    }
}

/* Events by table and operation. */
static void put_tables(text *t, const pgcdc_tool_metrics_pipeline *p, int n)
{
    family f = {"pgcdc_table_events_total", "counter",
                "Changes handed out by table and operation (op: INSERT, UPDATE, DELETE, "
                "TRUNCATE, READ).",
                0};

    for (int i = 0; i < n; i++) {
        for (int k = 0; k < p[i].ntables; k++) {
            const pgcdc_table_stats *ts = &p[i].tables[k];
            const struct {
                const char *op;
                uint64_t v;
            } ops[] = {{"INSERT", ts->inserts},
                       {"UPDATE", ts->updates},
                       {"DELETE", ts->deletes},
                       {"TRUNCATE", ts->truncates},
                       {"READ", ts->reads}};

            for (size_t o = 0; o < sizeof(ops) / sizeof(ops[0]); o++) {
                sample(t, &f, "", p[i].name);
                put(t, ",schema=\"");
                put_label(t, ts->schema);
                put(t, "\",table=\"");
                put_label(t, ts->table);
                put(t, "\",op=\"%s\"} %llu\n", ops[o].op, (unsigned long long)ops[o].v);
            }
        }
    }
}

/*
 * The sink label of sink k of p: its URI as shown, with " (2)" and so on
 * after a URI an earlier sink of the pipeline shows too (two webhooks that
 * differ in their query only), so that no two series are the same.
 */
static void put_sink_label(text *t, const pgcdc_tool_metrics_pipeline *p, int k)
{
    int same = 1;

    for (int j = 0; j < k; j++)
        same += strcmp(p->sinks[j].uri, p->sinks[k].uri) == 0;
    put(t, ",sink=\"");
    put_label(t, p->sinks[k].uri);
    if (same > 1)
        put(t, " (%d)", same);
    put(t, "\"");
}

/* Per sink: events, bytes, bytes in flight and errors, and the acknowledgement histogram. */
static void put_sinks(text *t, const pgcdc_tool_metrics_pipeline *p, int n)
{
    static const struct {
        const char *name;
        const char *type;
        size_t off;
        const char *help;
    } counts[] = {
        {"pgcdc_sink_events_total", "counter", offsetof(pgcdc_sink_stats, events),
         "Events written to the sink (begin, change and commit events as it takes them)."},
        {"pgcdc_sink_bytes_total", "counter", offsetof(pgcdc_sink_stats, bytes),
         "Bytes of events handed to the sink, in its format."},
        {"pgcdc_sink_inflight_bytes", "gauge", offsetof(pgcdc_sink_stats, inflight_bytes),
         "Bytes handed to the sink's own thread and not delivered yet (0 for the file sink)."},
        {"pgcdc_sink_errors_total", "counter", offsetof(pgcdc_sink_stats, errors),
         "Failed opens, writes, flushes and deliveries of the sink, each retried failure too."},
    };
    family h = {"pgcdc_sink_ack_latency_seconds", "histogram",
                "From an event handed to the sink (a transaction's commit for the built-in "
                "sinks) to its acknowledgement (fsynced, delivered, accepted).",
                0};

    for (size_t c = 0; c < sizeof(counts) / sizeof(counts[0]); c++) {
        family f = {counts[c].name, counts[c].type, counts[c].help, 0};

        for (int i = 0; i < n; i++) {
            for (int k = 0; k < p[i].nsinks; k++) {
                uint64_t v;

                memcpy(&v, (const char *)&p[i].sinks[k] + counts[c].off, sizeof(v));
                sample(t, &f, "", p[i].name);
                put_sink_label(t, &p[i], k);
                put(t, "} %llu\n", (unsigned long long)v);
            }
        }
    }
    for (int i = 0; i < n; i++) {
        for (int k = 0; k < p[i].nsinks; k++) {
            const pgcdc_sink_stats *ss = &p[i].sinks[k];

            for (int b = 0; b < PGCDC_SINK_ACK_BUCKETS; b++) {
                sample(t, &h, "_bucket", p[i].name);
                put_sink_label(t, &p[i], k);
                put(t, ",le=\"%g\"} %llu\n", pgcdc_sink_ack_bucket_bound(b),
                    (unsigned long long)ss->ack_latency_buckets[b]);
            }
            sample(t, &h, "_bucket", p[i].name);
            put_sink_label(t, &p[i], k);
            put(t, ",le=\"+Inf\"} %llu\n", (unsigned long long)ss->acks);
            sample(t, &h, "_sum", p[i].name);
            put_sink_label(t, &p[i], k);
            put(t, "} %.6f\n", (double)ss->ack_latency_sum_us / 1e6);
            sample(t, &h, "_count", p[i].name);
            put_sink_label(t, &p[i], k);
            put(t, "} %llu\n", (unsigned long long)ss->acks);
        }
    }
}

char *pgcdc_tool_metrics_text(const pgcdc_tool_metrics_pipeline *p, int n, int64_t now_us,
                              size_t *len)
{
    text t = {0};

    put(&t, "%s", "");
    put_states(&t, p, n);
    put_plain(&t, p, n);
    put_derived(&t, p, n, now_us);
    put_latency(&t, p, n);
    put_tables(&t, p, n);
    put_sinks(&t, p, n);
    if (t.oom) {
        free(t.s);
        return NULL;
    }
    *len = t.len;
    return t.s;
}

int pgcdc_tool_metrics_ready(const pgcdc_tool_metrics_pipeline *p, int n, char *buf, size_t size)
{
    size_t used = 0;
    int ready = 1;

    if (size > 0)
        buf[0] = '\0';
    for (int i = 0; i < n; i++) {
        const pgcdc_stats *st = &p[i].st;
        int k = 0;

        if (st->state != PGCDC_STATE_STREAMING) {
            k = snprintf(buf + used, size - used, "%s: %s\n", p[i].name,
                         pgcdc_state_name(st->state));
        } else if (st->slot_over_budget) {
            k = snprintf(buf + used, size - used,
                         "%s: over its WAL budget (the slot holds %llu bytes, more than "
                         "slot.max_retained_wal)\n",
                         p[i].name, (unsigned long long)st->slot_retained_wal);
        } else {
            continue;
        }
        ready = 0;
        if (k > 0)
            used = (size_t)k < size - used ? used + (size_t)k : size - 1;
    }
    return ready;
}
