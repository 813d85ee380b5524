# Turns the benchmark's raw records into summary.json (one line), results.md and
# the chart's data files, all in the directory "out".
#   awk -v out=DIR -f report.awk meta.json workloads.tsv records.tsv
# records.tsv: workload consumer mode events counted exit wall_s cpu_s user_s sys_s
#              maxrss_kb detail runs switches server_cpu_s (the consumer's own JSON line,
#              or null; the wall times of every round, the median's figures being the
#              others; voluntary context switches, i.e. wakeups; the CPU time of the
#              server's walsender for the drain, empty for a live consumer) server_runs
#              (the same for every round, in the order of the wall times)
BEGIN {
    FS = "\t"
    names["pgcdc_lib"] = "pgcdc library, no-op handler, text values"
    names["pgcdc_cli"] = "pgcdc CLI, JSON to /dev/null, text values"
    names["recv_pgoutput"] = "pg_recvlogical, pgoutput (ceiling)"
    names["recv_floor"] = "receive only, no decoding (CPU floor)"
    names["recv_wal2json"] = "pg_recvlogical, wal2json v2"
    names["pgcdc_live"] = "pgcdc library, live (latency mode, binary values)"
    names["recv_pgoutput_bin"] = "pg_recvlogical, pgoutput binary"
    names["pgcdc_lib_bin"] = "pgcdc library, no-op handler, binary values (default)"
    names["pgcdc_cli_bin"] = "pgcdc CLI, JSON, binary values (default)"
    names["pgcdc_cli_kafka"] = "pgcdc CLI into Kafka (--sink kafka://)"
    names["pipe_kcat"] = "pgcdc CLI piped into kcat -P"
    names["pgcdc_cli_http"] = "pgcdc CLI into a webhook, batches of 500"
    names["pgcdc_cli_redis"] = "pgcdc CLI into Redis Streams (AOF, fsync every second)"
    names["pgcdc_cli_redis_always"] = "pgcdc CLI into Redis Streams (AOF, fsync always)"
    names["pgcdc_cli_nats"] = "pgcdc CLI into NATS JetStream (file storage)"
    names["pgcdc_cli_amqp"] = "pgcdc CLI into RabbitMQ (durable queue, confirms)"
    names["pgcdc_cli_pg_audit"] = "pgcdc CLI into PostgreSQL, audit table"
    names["pgcdc_cli_pg_apply"] = "pgcdc CLI into PostgreSQL, applied by primary key"
    names["pgcdc_cli_exec"] = "pgcdc CLI into a handler (--exec, Python, acknowledging each read)"
    names["pgcdc_cli_sink"] = "pgcdc CLI into a sink that is down for a while"
    names["pgcdc_live_kafka"] = "pgcdc library, live, delivering to Kafka"
    names["pgcdc_live_http"] = "pgcdc library, live, delivering to a webhook"
    ntargets = split("redis redis_always nats amqp pg_audit pg_apply exec", tkey, " ")
    split("Redis (fsync every second),Redis (fsync always),NATS JetStream,RabbitMQ,PostgreSQL audit,PostgreSQL apply,a handler (--exec; Python)", tname, ",")
    nchart = split("pgcdc_lib pgcdc_cli pgcdc_lib_bin pgcdc_cli_bin recv_pgoutput recv_pgoutput_bin recv_wal2json", chart, " ")
}

FNR == 1 { file++ }

file == 1 { meta = meta $0; next }

file == 2 && NF >= 3 {
    nw++
    wname[nw] = $1
    wtitle[$1] = $2
    winfo[$1] = $3
    next
}

file == 3 && NF >= 13 {
    w = $1
    k = ++nc[w]
    cname[w, k] = $2
    cmode[w, k] = $3
    cevents[w, k] = $4 + 0
    ccounted[w, k] = $5
    cexit[w, k] = $6 + 0
    cwall[w, k] = $7 + 0
    ccpu[w, k] = $8 + 0
    cuser[w, k] = $9 + 0
    csys[w, k] = $10 + 0
    crss[w, k] = $11 + 0
    cdetail[w, k] = $12
    cruns[w, k] = $13
    cvcsw[w, k] = NF >= 14 ? $14 : ""
    cserver[w, k] = NF >= 15 && $3 == "drain" ? $15 : ""
    cbusy[w, k] = NF >= 16 && $3 == "drain" ? median_busy($13, $16) : ""
    if (split($13, tmp, ",") > maxruns)
        maxruns = split($13, tmp, ",")
    if ($3 == "drain")
        hasdrain[w] = 1
    cbest[w, k] = best_of($13)
    if ($2 == "recv_pgoutput" && $3 == "drain" && $7 > 0) {
        ceiling[w] = $4 / $7
        ceiling_best[w] = cbest[w, k]
        if (cbusy[w, k] != "")
            ceiling_busy[w] = cbusy[w, k]
    }
    if ($2 == "recv_floor" && $3 == "drain" && $4 > 0)
        floor_us[w] = $8 * 1e6 / $4
    next
}

# The value of a numeric field in a one-line JSON object, or "" when absent.
function jfield(s, key) {
    if (!match(s, "\"" key "\":-?[0-9.eE+]+"))
        return ""
    return substr(s, RSTART + length(key) + 3, RLENGTH - length(key) - 3)
}

function jstring(s, key,    v) {
    if (!match(s, "\"" key "\":\"[^\"]*\""))
        return ""
    v = substr(s, RSTART + length(key) + 4, RLENGTH - length(key) - 5)
    return v
}

function num(x) { return x == "" ? "null" : x }

# The fastest of a comma-separated list of wall times.
function best_of(list,    n, i, t, b) {
    n = split(list, t, ",")
    b = ""
    for (i = 1; i <= n; i++)
        if (t[i] > 0 && (b == "" || t[i] + 0 < b))
            b = t[i] + 0
    return b
}

# events/s: a drain over its whole run; a live consumer from its first to its last event.
function eps(w, k,    s) {
    if (cmode[w, k] == "live") {
        s = jfield(cdetail[w, k], "stream_s")
        return s > 0 ? cevents[w, k] / s : ""
    }
    return cwall[w, k] > 0 ? cevents[w, k] / cwall[w, k] : ""
}

function ratio(w, k,    e) {
    e = eps(w, k)
    if (cmode[w, k] != "drain" || e == "" || !(w in ceiling) || ceiling[w] <= 0)
        return ""
    return e / ceiling[w]
}

# The same from each consumer's fastest round: interference from other load only ever
# slows a round down, so the fastest of several interleaved rounds is the least disturbed.
function best_ratio(w, k) {
    if (cmode[w, k] != "drain" || !(w in ceiling_best) || cbest[w, k] == "" || cbest[w, k] <= 0)
        return ""
    return ceiling_best[w] / cbest[w, k]
}

# events/s of the consumer named c in workload w, "" when it is not there.
function eps_of(w, c,    k) {
    for (k = 1; k <= nc[w]; k++)
        if (cname[w, k] == c)
            return eps(w, k)
    return ""
}

function rss_of(w, c,    k) {
    for (k = 1; k <= nc[w]; k++)
        if (cname[w, k] == c)
            return sprintf("%.1f", crss[w, k] / 1024)
    return "–"
}

function over(a, b) { return a == "" || b == "" || b <= 0 ? "" : a / b }

function fmt(f, x) { return x == "" ? "–" : sprintf(f, x) }

function jfmt(f, x) { return x == "" ? "null" : sprintf(f, x) }

# The share of a drain's wall time the server's walsender spent on a CPU: the median
# over the rounds of server CPU / wall.
function median_busy(walls, servers,    n, m, i, j, t, wl, sv, b) {
    n = split(walls, wl, ",")
    if (split(servers, sv, ",") != n)
        return ""
    m = 0
    for (i = 1; i <= n; i++) {
        if (wl[i] <= 0 || sv[i] == "")
            continue
        b[++m] = sv[i] / wl[i]
        for (j = m; j > 1 && b[j] < b[j - 1]; j--) {
            t = b[j]; b[j] = b[j - 1]; b[j - 1] = t
        }
    }
    return m == 0 ? "" : b[int((m + 1) / 2)]
}

# That share against the ceiling's: how well a consumer keeps the server going,
# whatever speed the machine gave the walsender in that round.
function busy_ratio(w, k,    b) {
    b = cbusy[w, k]
    if (b == "" || !(w in ceiling_busy) || ceiling_busy[w] <= 0)
        return ""
    return b / ceiling_busy[w]
}

function server_us(w, k) {
    if (cserver[w, k] == "" || cevents[w, k] <= 0)
        return ""
    return cserver[w, k] * 1e6 / cevents[w, k]
}

# CPU µs per event beyond the receive-only consumer's, in the same workload.
function above_floor(w, k) {
    if (cmode[w, k] != "drain" || cevents[w, k] <= 0 || !(w in floor_us))
        return ""
    return ccpu[w, k] * 1e6 / cevents[w, k] - floor_us[w]
}

# 1234567 -> "1 234 567"
function grouped(n,    s, r) {
    if (n == "")
        return "–"
    s = sprintf("%d", n)
    r = ""
    while (length(s) > 3) {
        r = " " substr(s, length(s) - 2) r
        s = substr(s, 1, length(s) - 3)
    }
    return s r
}

END {
    # ---- summary.json ----
    sub(/}[[:space:]]*$/, "", meta)
    js = meta ",\"workloads\":{"
    for (i = 1; i <= nw; i++) {
        w = wname[i]
        info = winfo[w]
        sub(/^{/, "", info)
        sub(/}$/, "", info)
        gsub(/\\/, "\\\\", wtitle[w])
        gsub(/"/, "\\\"", wtitle[w])
        js = js (i > 1 ? "," : "") "\"" w "\":{\"title\":\"" wtitle[w] "\"," info
        js = js ",\"ceiling_events_per_s\":" (w in ceiling ? sprintf("%.1f", ceiling[w]) : "null")
        js = js ",\"floor_cpu_us_per_event\":" (w in floor_us ? sprintf("%.3f", floor_us[w]) : "null")
        if (w == "S1") {
            js = js ",\"kafka_ratio_to_devnull\":" jfmt("%.3f", over(eps_of(w, "pgcdc_cli_kafka"), eps_of(w, "pgcdc_cli_bin")))
            js = js ",\"kafka_ratio_to_kcat\":" jfmt("%.3f", over(eps_of(w, "pgcdc_cli_kafka"), eps_of(w, "pipe_kcat")))
            js = js ",\"http_ratio_to_devnull\":" jfmt("%.3f", over(eps_of(w, "pgcdc_cli_http"), eps_of(w, "pgcdc_cli_bin")))
            for (t = 1; t <= ntargets; t++)
                js = js ",\"" tkey[t] "_ratio_to_devnull\":" jfmt("%.3f", over(eps_of(w, "pgcdc_cli_" tkey[t]), eps_of(w, "pgcdc_cli_bin")))
        }
        cs = ""
        for (k = 1; k <= nc[w]; k++) {
            e = eps(w, k)
            r = ratio(w, k)
            b = best_ratio(w, k)
            if (cname[w, k] ~ /^pgcdc_(lib|cli)/) {
                js = js ",\"" cname[w, k] "_ratio_to_ceiling\":" (r == "" ? "null" : sprintf("%.3f", r))
                js = js ",\"" cname[w, k] "_best_ratio_to_ceiling\":" (b == "" ? "null" : sprintf("%.3f", b))
            }
            cs = cs (k > 1 ? "," : "") "\"" cname[w, k] "\":{\"mode\":\"" cmode[w, k] "\""
            cs = cs ",\"events\":" cevents[w, k] ",\"events_counted\":" (ccounted[w, k] == 1 ? "true" : "false")
            cs = cs ",\"exit\":" cexit[w, k] ",\"wall_s\":" sprintf("%.3f", cwall[w, k])
            cs = cs ",\"runs\":" split(cruns[w, k], tmp, ",") ",\"wall_s_runs\":[" cruns[w, k] "]"
            cs = cs ",\"events_per_s\":" (e == "" ? "null" : sprintf("%.1f", e))
            cs = cs ",\"cpu_s\":" sprintf("%.3f", ccpu[w, k]) ",\"user_s\":" sprintf("%.3f", cuser[w, k])
            cs = cs ",\"sys_s\":" sprintf("%.3f", csys[w, k])
            cs = cs ",\"cpu_us_per_event\":" (cevents[w, k] > 0 ? sprintf("%.3f", ccpu[w, k] * 1e6 / cevents[w, k]) : "null")
            cs = cs ",\"user_us_per_event\":" (cevents[w, k] > 0 ? sprintf("%.3f", cuser[w, k] * 1e6 / cevents[w, k]) : "null")
            cs = cs ",\"sys_us_per_event\":" (cevents[w, k] > 0 ? sprintf("%.3f", csys[w, k] * 1e6 / cevents[w, k]) : "null")
            cs = cs ",\"voluntary_switches\":" num(cvcsw[w, k])
            a = above_floor(w, k)
            cs = cs ",\"cpu_us_per_event_above_floor\":" (a == "" ? "null" : sprintf("%.3f", a))
            cs = cs ",\"peak_rss_kb\":" crss[w, k]
            cs = cs ",\"ratio_to_ceiling\":" (r == "" ? "null" : sprintf("%.3f", r))
            cs = cs ",\"best_wall_s\":" (cbest[w, k] == "" ? "null" : sprintf("%.3f", cbest[w, k]))
            cs = cs ",\"best_ratio_to_ceiling\":" (b == "" ? "null" : sprintf("%.3f", b))
            cs = cs ",\"server_cpu_s\":" (cserver[w, k] == "" ? "null" : sprintf("%.3f", cserver[w, k]))
            cs = cs ",\"server_cpu_us_per_event\":" jfmt("%.3f", server_us(w, k))
            cs = cs ",\"server_busy\":" jfmt("%.3f", cbusy[w, k])
            cs = cs ",\"server_busy_ratio_to_ceiling\":" jfmt("%.3f", busy_ratio(w, k))
            if (cmode[w, k] == "live") {
                d = cdetail[w, k]
                cs = cs ",\"latency_us\":{\"p50\":" num(jfield(d, "lat_p50_us")) ",\"p99\":" num(jfield(d, "lat_p99_us"))
                cs = cs ",\"p99.9\":" num(jfield(d, "lat_p999_us")) ",\"max\":" num(jfield(d, "lat_max_us"))
                cs = cs ",\"mean\":" num(jfield(d, "lat_mean_us")) "}"
                cs = cs ",\"commit_to_first_event_us\":" num(jfield(d, "commit_to_first_us"))
                cs = cs ",\"commit_to_last_event_us\":" num(jfield(d, "commit_to_last_us"))
                if (jfield(d, "confirm_p99_us") != "")
                    cs = cs ",\"confirm_latency_us\":{\"p50\":" jfield(d, "confirm_p50_us") ",\"p99\":" jfield(d, "confirm_p99_us") ",\"max\":" jfield(d, "confirm_max_us") "}"
            }
            cs = cs ",\"detail\":" cdetail[w, k] "}"
        }
        js = js ",\"consumers\":{" cs "}}"
    }
    js = js "}}"
    print js > (out "/summary.json")

    # ---- results.md ----
    md = out "/results.md"
    printf "# pgcdc benchmark: %s run, %s\n\n", jstring(meta, "mode"), jstring(meta, "started") > md
    printf "%s, %s cores, %.0f GiB; %s; PostgreSQL %s (wal_level=%s, shared_buffers=%s, " \
        "synchronous_commit=%s, logical_decoding_work_mem=%s, fsync=%s, autovacuum=%s); " \
        "pgcdc %s (%s%s, %s, %s); wal2json %s.\n\n", \
        jstring(meta, "cpu_model"), jfield(meta, "cores"), jfield(meta, "mem_total_kb") / 1048576, \
        jstring(meta, "kernel"), jstring(meta, "server_version"), jstring(meta, "wal_level"), \
        jstring(meta, "shared_buffers"), jstring(meta, "synchronous_commit"), \
        jstring(meta, "logical_decoding_work_mem"), jstring(meta, "fsync"), \
        jstring(meta, "autovacuum"), jstring(meta, "pgcdc"), jstring(meta, "git"), \
        (meta ~ /"dirty":true/ ? "+changes" : ""), jstring(meta, "build_type"), \
        jstring(meta, "compiler"), jstring(meta, "wal2json") >> md
    print "## Throughput\n" >> md
    print "Each consumer drains its own slot (same changes) to the same end LSN, one at a time; " \
        "\"vs ceiling\" is events/s relative to pg_recvlogical with pgoutput. Live consumers " \
        "count events/s from their first to their last event." \
        (maxruns > 1 ? " Drains ran " maxruns " rounds, interleaved: the figures are those of the " \
         "median round, \"wall s\" shows min–max, and \"best vs ceiling\" compares each " \
         "consumer's fastest round with the ceiling's fastest (other load only ever slows a " \
         "round down)." : "") "\n" >> md
    print "| workload | consumer | events | wall s | events/s | vs ceiling | best vs ceiling | CPU s | CPU µs/event (user + sys) | wakeups per 1 000 events | peak RSS MiB |" >> md
    print "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|" >> md
    for (i = 1; i <= nw; i++) {
        w = wname[i]
        for (k = 1; k <= nc[w]; k++) {
            e = eps(w, k)
            nr = split(cruns[w, k], tmp, ",")
            wall = sprintf("%.2f", cwall[w, k])
            if (nr > 1)
                wall = wall sprintf(" (%.2f–%.2f)", tmp[1], tmp[nr])
            printf "| %s | %s%s | %s%s | %s | %s | %s | %s | %.2f | %s | %s | %.1f |\n", w, \
                names[cname[w, k]], (cexit[w, k] != 0 ? " **(failed: exit " cexit[w, k] ")**" : ""), \
                grouped(cevents[w, k]), (ccounted[w, k] == 1 ? "" : "¹"), wall, \
                (e == "" ? "–" : grouped(e)), fmt("%.2f×", ratio(w, k)), \
                (nr > 1 ? fmt("%.2f×", best_ratio(w, k)) : "–"), ccpu[w, k], \
                (cevents[w, k] > 0 ? sprintf("%.2f (%.2f + %.2f)", ccpu[w, k] * 1e6 / cevents[w, k], \
                    cuser[w, k] * 1e6 / cevents[w, k], csys[w, k] * 1e6 / cevents[w, k]) : "–"), \
                (cevents[w, k] > 0 && cvcsw[w, k] != "" ? sprintf("%.1f", cvcsw[w, k] * 1000 / cevents[w, k]) : "–"), \
                crss[w, k] / 1024 >> md
        }
    }
    print "\n¹ not decoded by this consumer: the library consumer's count over the same changes.\n" >> md

    nf = 0
    for (i = 1; i <= nw; i++)
        if (wname[i] in floor_us)
            nf++
    if (nf > 0) {
        print "## CPU above the receive floor\n" >> md
        print "The receive-only consumer reads the stream and parses its framing, nothing else: its " \
            "CPU per event is what the kernel charges any client for receiving the stream over " \
            "this transport. The other columns are each consumer's CPU per event minus that floor.\n" >> md
        nfc = split("pgcdc_lib pgcdc_lib_bin pgcdc_cli pgcdc_cli_bin recv_pgoutput recv_wal2json", fc, " ")
        line = "| workload | floor µs/event (user + sys) |"
        rule = "|---|--:|"
        for (j = 1; j <= nfc; j++) {
            line = line " " names[fc[j]] " |"
            rule = rule "--:|"
        }
        print line "\n" rule >> md
        for (i = 1; i <= nw; i++) {
            w = wname[i]
            if (!(w in floor_us))
                continue
            line = "| " w " |"
            for (k = 1; k <= nc[w]; k++)
                if (cname[w, k] == "recv_floor")
                    line = line sprintf(" %.2f (%.2f + %.2f) |", floor_us[w], \
                        cuser[w, k] * 1e6 / cevents[w, k], csys[w, k] * 1e6 / cevents[w, k])
            for (j = 1; j <= nfc; j++) {
                v = ""
                for (k = 1; k <= nc[w]; k++)
                    if (cname[w, k] == fc[j])
                        v = above_floor(w, k)
                line = line " " fmt("%+.2f", v) " |"
            }
            print line >> md
        }
        print "" >> md
    }

    ns = 0
    for (i = 1; i <= nw; i++)
        for (k = 1; k <= nc[wname[i]]; k++)
            if (cserver[wname[i], k] != "")
                ns++
    if (ns > 0) {
        print "## The server's side\n" >> md
        print "The CPU time of the server's processes that exited during each drain (the " \
            "walsender, and the consumer's short queries before it streamed), read from the " \
            "postmaster's accumulated child times. The walsender is the bottleneck of these " \
            "drains: \"busy\" is the share of the drain's wall time it spent on a CPU (the " \
            "median over the rounds), and \"busy vs ceiling\" that share against " \
            "pg_recvlogical's. It shows how well a " \
            "consumer keeps the server going whatever speed the machine gave the walsender in " \
            "that round; server µs per event shows what the consumer's options cost the " \
            "server (binary values spare it the text output functions).\n" >> md
        print "| workload | consumer | server CPU s | server µs/event | busy | busy vs ceiling |" >> md
        print "|---|---|--:|--:|--:|--:|" >> md
        for (i = 1; i <= nw; i++) {
            w = wname[i]
            for (k = 1; k <= nc[w]; k++) {
                if (cserver[w, k] == "")
                    continue
                printf "| %s | %s | %.2f | %s | %s | %s |\n", w, names[cname[w, k]], cserver[w, k], \
                    fmt("%.2f", server_us(w, k)), (cbusy[w, k] == "" ? "–" : sprintf("%.0f %%", cbusy[w, k] * 100)), \
                    fmt("%.2f×", busy_ratio(w, k)) >> md
            }
        }
        print "" >> md
    }

    nl = 0
    for (i = 1; i <= nw; i++)
        for (k = 1; k <= nc[wname[i]]; k++)
            if (cmode[wname[i], k] == "live")
                nl++
    if (nl > 0) {
        print "## Latency: commit timestamp to handler, pgcdc library\n" >> md
        print "| workload | events | p50 µs | p99 µs | p99.9 µs | max µs | largest txn: commit → first event ms | commit → last event ms |" >> md
        print "|---|--:|--:|--:|--:|--:|--:|--:|" >> md
        for (i = 1; i <= nw; i++) {
            w = wname[i]
            for (k = 1; k <= nc[w]; k++) {
                if (cmode[w, k] != "live")
                    continue
                d = cdetail[w, k]
                printf "| %s | %s | %s | %s | %s | %s | %s | %s |\n", w, grouped(cevents[w, k]), \
                    grouped(jfield(d, "lat_p50_us")), grouped(jfield(d, "lat_p99_us")), \
                    grouped(jfield(d, "lat_p999_us")), grouped(jfield(d, "lat_max_us")), \
                    fmt("%.1f", jfield(d, "commit_to_first_us") / 1000), \
                    fmt("%.1f", jfield(d, "commit_to_last_us") / 1000) >> md
            }
        }
        print "" >> md
    }

    nk = 0
    for (i = 1; i <= nw; i++)
        if (wname[i] ~ /^S/)
            nk++
    if (nk > 0) {
        print "## Sinks\n" >> md
        print "S1: the same W1 changes drained by the CLI to /dev/null, into Kafka (librdkafka's " \
            "mock cluster, one broker, idempotent producer, acks=all), piped into kcat -P (the same " \
            "cluster), into a webhook target in batches of 500, into Redis Streams (AOF fsynced every second, " \
            "Redis's default, and at every write), NATS JetStream (file storage), RabbitMQ (a durable queue, publisher confirms) and " \
            "PostgreSQL (audit table; apply by primary key); every target's count is checked. " \
            "S5: commit-to-confirmation latency at 1 000 transactions/s, from the commit on the " \
            "server until the sink acknowledged it (pgcdc's own histogram, within 12.5 %). SDOWN: " \
            "the target down while a backlog larger than the in-flight bound arrives.\n" >> md
        print "| workload | figure | value |" >> md
        print "|---|---|--:|" >> md
        for (i = 1; i <= nw; i++) {
            w = wname[i]
            if (w == "S1") {
                printf "| S1 | Kafka vs /dev/null | %s |\n", fmt("%.2f×", over(eps_of(w, "pgcdc_cli_kafka"), eps_of(w, "pgcdc_cli_bin"))) >> md
                printf "| S1 | Kafka vs pgcdc \\| kcat -P | %s |\n", fmt("%.2f×", over(eps_of(w, "pgcdc_cli_kafka"), eps_of(w, "pipe_kcat"))) >> md
                printf "| S1 | webhook vs /dev/null | %s |\n", fmt("%.2f×", over(eps_of(w, "pgcdc_cli_http"), eps_of(w, "pgcdc_cli_bin"))) >> md
                split("redis_server redis_always_server nats_server rabbitmq_server", srvkey, " ")
                split("Redis (fsync every second),Redis (fsync always),NATS JetStream,RabbitMQ", srvname, ",")
                split("pgcdc_cli_redis pgcdc_cli_redis_always pgcdc_cli_nats pgcdc_cli_amqp", srvuser, " ")
                for (t = 1; t <= 4; t++)
                    if (jfield(winfo[w], srvkey[t] "_cpu_s") != "" && eps_of(w, srvuser[t]) != "")
                        printf "| S1 | %s server's CPU µs per event (all rounds) | %.1f |\n", srvname[t], \
                            jfield(winfo[w], srvkey[t] "_cpu_s") * 1e6 / (jfield(winfo[w], "expected_events") * jfield(winfo[w], "repeat")) >> md
                for (t = 1; t <= ntargets; t++)
                    if (eps_of(w, "pgcdc_cli_" tkey[t]) != "")
                        printf "| S1 | %s vs /dev/null (peak RSS %s MiB) | %s |\n", tname[t], rss_of(w, "pgcdc_cli_" tkey[t]), fmt("%.2f×", over(eps_of(w, "pgcdc_cli_" tkey[t]), eps_of(w, "pgcdc_cli_bin"))) >> md
            }
            for (k = 1; k <= nc[w]; k++) {
                d = cdetail[w, k]
                if (w ~ /^S5/ && jfield(d, "confirm_p99_us") != "")
                    printf "| %s | commit to confirmation p50 / p99 / max ms | %.2f / %.2f / %.2f |\n", w, \
                        jfield(d, "confirm_p50_us") / 1000, jfield(d, "confirm_p99_us") / 1000, \
                        jfield(d, "confirm_max_us") / 1000 >> md
                if (w ~ /^SDOWN/)
                    printf "| %s | peak RSS MiB (bound %s) | %.1f |\n", w, jstring(winfo[w], "bound"), crss[w, k] / 1024 >> md
            }
        }
        print "" >> md
    }

    print "## Workloads\n" >> md
    print "| workload | what | generation s | WAL MiB | row changes |" >> md
    print "|---|---|--:|--:|--:|" >> md
    for (i = 1; i <= nw; i++) {
        w = wname[i]
        printf "| %s | %s | %.1f | %.1f | %s |\n", w, wtitle[w], jfield(winfo[w], "generate_s"), \
            jfield(winfo[w], "wal_bytes") / 1048576, grouped(jfield(winfo[w], "expected_events")) >> md
    }
    close(md)

    # ---- chart data: events/s per drained workload and consumer ----
    dat = out "/throughput.dat"
    line = "workload"
    for (j = 1; j <= nchart; j++)
        line = line " \"" names[chart[j]] "\""
    print line > dat
    for (i = 1; i <= nw; i++) {
        w = wname[i]
        if (!(w in hasdrain))
            continue
        line = w
        for (j = 1; j <= nchart; j++) {
            v = "-"
            for (k = 1; k <= nc[w]; k++)
                if (cname[w, k] == chart[j] && cmode[w, k] == "drain" && eps(w, k) != "")
                    v = sprintf("%.0f", eps(w, k))
            line = line " " v
        }
        print line > dat
    }
    close(dat)
}
