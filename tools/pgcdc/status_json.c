/*
 * /status.json (see status_json.h), written by hand: the figures are
 * numbers and a few strings, and the tool links no JSON library.  Strings
 * are escaped and kept valid UTF-8; the history goes out as one array per
 * series, which is what the page's charts walk.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "status.h"
#include "status_json.h"
#include "text.h"

/* The page being written (text.h). */
typedef pgcdc_tool_text text;
#define put(t, ...) pgcdc_tool_text_put((t), __VA_ARGS__)

/* A JSON string (log.h's escaping: a bad byte as U+FFFD). */
static void put_str(text *t, const char *v)
{
    char buf[2048];

    pgcdc_tool_json_escape(buf, sizeof(buf), v != NULL ? v : "");
    put(t, "\"%s\"", buf);
}

/* A number with up to `digits` decimals; not finite (never expected) as 0. */
static void put_num(text *t, double v, int digits)
{
    if (!isfinite(v))
        v = 0;
    put(t, "%.*f", digits, v);
}

static void put_u64(text *t, uint64_t v)
{
    put(t, "%llu", (unsigned long long)v);
}

static void put_lsn(text *t, uint64_t lsn)
{
    char s[32];

    pgcdc_lsn_format(lsn, s, sizeof(s));
    put_str(t, s);
}

static const char *wal_status_name(int32_t s)
{
    static const char *const names[] = {"unknown", "reserved", "extended", "unreserved", "lost"};

    return s >= 0 && s < (int32_t)(sizeof(names) / sizeof(names[0])) ? names[s] : "unknown";
}

/* The snapshot under way, or null. */
static void put_snapshot(text *t, const pgcdc_stats *st)
{
    if (st->snapshot_tables == 0) {
        put(t, "null");
        return;
    }
    put(t, "{\"rows\":");
    put_u64(t, st->snapshot_rows);
    put(t, ",\"rows_estimate\":");
    put_u64(t, st->snapshot_rows_estimate);
    put(t, ",\"tables\":");
    put_u64(t, st->snapshot_tables);
    put(t, ",\"tables_done\":");
    put_u64(t, st->snapshot_tables_done);
    put(t, "}");
}

static void put_tables(text *t, const pgcdc_tool_metrics_pipeline *p)
{
    put(t, "[");
    for (int k = 0; k < p->ntables; k++) {
        const pgcdc_table_stats *ts = &p->tables[k];

        put(t, "%s{\"schema\":", k > 0 ? "," : "");
        put_str(t, ts->schema);
        put(t, ",\"table\":");
        put_str(t, ts->table);
        put(t, ",\"insert\":%llu,\"update\":%llu,\"delete\":%llu,\"truncate\":%llu,\"read\":%llu}",
            (unsigned long long)ts->inserts, (unsigned long long)ts->updates,
            (unsigned long long)ts->deletes, (unsigned long long)ts->truncates,
            (unsigned long long)ts->reads);
    }
    put(t, "]");
}

/* The pipeline's sinks in the order they were added, with the mean acknowledgement time. */
static void put_sinks(text *t, const pgcdc_tool_metrics_pipeline *p)
{
    put(t, "[");
    for (int k = 0; k < p->nsinks; k++) {
        const pgcdc_sink_stats *ss = &p->sinks[k];

        put(t, "%s{\"uri\":", k > 0 ? "," : "");
        put_str(t, ss->uri);
        put(t, ",\"kind\":");
        put_str(t, ss->kind);
        put(t, ",\"events\":%llu,\"bytes\":%llu,\"inflight_bytes\":%llu,\"errors\":%llu",
            (unsigned long long)ss->events, (unsigned long long)ss->bytes,
            (unsigned long long)ss->inflight_bytes, (unsigned long long)ss->errors);
        put(t, ",\"acks\":%llu,\"ack_mean_s\":", (unsigned long long)ss->acks);
        put_num(t, ss->acks > 0 ? (double)ss->ack_latency_sum_us / (double)ss->acks / 1e6 : 0, 6);
        put(t, "}");
    }
    put(t, "]");
}

/* The n points as series: {"t":[...],"rate":[...],...}, oldest first. */
static void put_history(text *t, const pgcdc_tool_history_point *pts, int n)
{
    put(t, "{\"t\":[");
    for (int k = 0; k < n; k++) {
        put(t, "%s", k > 0 ? "," : "");
        put_num(t, (double)pts[k].t_us / 1e6, 3);
    }
    put(t, "],\"rate\":[");
    for (int k = 0; k < n; k++) {
        put(t, "%s", k > 0 ? "," : "");
        put_num(t, pts[k].rate, 2);
    }
    put(t, "],\"events\":[");
    for (int k = 0; k < n; k++) {
        put(t, "%s", k > 0 ? "," : "");
        put_u64(t, pts[k].events);
    }
    put(t, "],\"lag_s\":[");
    for (int k = 0; k < n; k++) {
        put(t, "%s", k > 0 ? "," : "");
        put_num(t, pts[k].lag_s, 3);
    }
    put(t, "],\"lag_bytes\":[");
    for (int k = 0; k < n; k++) {
        put(t, "%s", k > 0 ? "," : "");
        put_u64(t, pts[k].lag_bytes);
    }
    put(t, "],\"retained_wal\":[");
    for (int k = 0; k < n; k++) {
        put(t, "%s", k > 0 ? "," : "");
        put_u64(t, pts[k].retained_wal);
    }
    put(t, "]}");
}

static void put_pipeline(text *t, const pgcdc_tool_metrics_pipeline *p, pgcdc_tool_history *h,
                         int i, pgcdc_tool_history_point *pts, int64_t now_us)
{
    const pgcdc_stats *st = &p->st;
    int last = pgcdc_tool_history_read(h, i, pts, pgcdc_tool_history_capacity(h));

    put(t, "{\"name\":");
    put_str(t, p->name);
    put(t, ",\"state\":");
    put_str(t, pgcdc_state_name(st->state));
    put(t, ",\"events\":");
    put_u64(t, st->changes);
    put(t, ",\"transactions\":");
    put_u64(t, st->transactions);
    /* The rate over the last sampling interval, the same figure as the chart's last point. */
    put(t, ",\"rate\":");
    put_num(t, last > 0 ? pts[last - 1].rate : 0, 2);
    put(t, ",\"lag_s\":");
    put_num(t, pgcdc_tool_status_lag(st, now_us), 3);
    put(t, ",\"lag_bytes\":");
    put_u64(t, st->received_lsn > st->confirmed_lsn ? st->received_lsn - st->confirmed_lsn : 0);
    put(t, ",\"received_lsn\":");
    put_lsn(t, st->received_lsn);
    put(t, ",\"confirmed_lsn\":");
    put_lsn(t, st->confirmed_lsn);
    put(t, ",\"last_commit\":");
    if (st->last_commit_time > 0)
        put_num(t, (double)st->last_commit_time / 1e6, 3);
    else
        put(t, "null");
    put(t, ",\"retained_wal\":");
    put_u64(t, st->slot_retained_wal);
    put(t, ",\"safe_wal_size\":");
    if (st->slot_safe_wal_size >= 0)
        put(t, "%lld", (long long)st->slot_safe_wal_size);
    else
        put(t, "null");
    put(t, ",\"wal_status\":");
    put_str(t, wal_status_name(st->slot_wal_status));
    put(t, ",\"over_budget\":%s", st->slot_over_budget ? "true" : "false");
    put(t, ",\"wal_budget\":");
    if (st->slot_wal_budget > 0)
        put(t, "%lld", (long long)st->slot_wal_budget);
    else
        put(t, "null");
    put(t, ",\"reconnects\":");
    put_u64(t, st->reconnects);
    put(t, ",\"retries\":");
    put_u64(t, st->retries);
    put(t, ",\"dead_letters\":");
    put_u64(t, st->dead_letters);
    put(t, ",\"confirm_latency_p50_s\":");
    put_num(t, (double)st->confirm_latency_p50_us / 1e6, 6);
    put(t, ",\"confirm_latency_p99_s\":");
    put_num(t, (double)st->confirm_latency_p99_us / 1e6, 6);
    put(t, ",\"snapshot\":");
    put_snapshot(t, st);
    put(t, ",\"tables\":");
    put_tables(t, p);
    put(t, ",\"sinks\":");
    put_sinks(t, p);
    put(t, ",\"history\":");
    put_history(t, pts, last);
    put(t, "}");
}

char *pgcdc_tool_status_json(const pgcdc_tool_metrics_pipeline *p, int n, pgcdc_tool_history *h,
                             int64_t now_us, size_t *len)
{
    int cap = pgcdc_tool_history_capacity(h);
    pgcdc_tool_history_point *pts = calloc((size_t)(cap > 0 ? cap : 1), sizeof(*pts));
    text t = {0};

    if (pts == NULL)
        return NULL;
    put(&t, "{\"now\":");
    put_num(&t, (double)now_us / 1e6, 3);
    put(&t, ",\"interval_s\":");
    put_num(&t, (double)pgcdc_tool_history_interval_ms(h) / 1e3, 3);
    put(&t, ",\"window_s\":");
    put_num(&t, (double)pgcdc_tool_history_interval_ms(h) * cap / 1e3, 3);
    put(&t, ",\"pipelines\":[");
    for (int i = 0; i < n; i++) {
        put(&t, "%s", i > 0 ? "," : "");
        put_pipeline(&t, &p[i], h, i, pts, now_us);
    }
    put(&t, "]}\n");
    free(pts);
    if (t.oom) {
        free(t.s);
        return NULL;
    }
    *len = t.len;
    return t.s;
}
