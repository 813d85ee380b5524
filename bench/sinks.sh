# The sinks' workloads, sourced by bench/run (which defines sql, generate, drain_all,
# live_start, record...).  Their targets run on this machine: Kafka is librdkafka's mock
# cluster (no broker exists in Debian), the webhook target pgcdc_http_receiver.
#
#   S1          W1's rows drained by the CLI to /dev/null (the baseline), the CLI into
#               Kafka, the CLI piped into kcat -P (the same mock cluster), and the CLI
#               into the webhook target in batches of 500; every message is counted
#               back from the targets.
#   S5_KAFKA    W5's load (1 000 transactions/s of one row) with a live library consumer
#   S5_HTTP     that also delivers to the sink: commit-to-confirmation latency, i.e.
#               from the commit on the server until the sink acknowledged it.
#   SDOWN_KAFKA the CLI streaming into a target that is down for SDOWN_SECONDS while a
#   SDOWN_HTTP  backlog far larger than the in-flight bound arrives: peak RSS, and
#               nothing lost once the target is back.

KAFKA_MOCK=$BUILD/tools/kafka-mock/pgcdc-kafka-mock
HTTP_RECEIVER=$BUILD/bench/pgcdc_http_receiver
KAFKA_PID="" KAFKA_FD="" HTTP_PID="" KAFKA_BOOT="" HTTP_PORT=""
# shellcheck source=bench/targets.sh
. "$BENCH/targets.sh"
[ -n "${BENCH_TARGETS:-}" ] && read -r -a TARGET_DRAINED <<<"$BENCH_TARGETS"
SINK_DRAINED=(pgcdc_cli_bin pgcdc_cli_kafka pipe_kcat pgcdc_cli_http "${TARGET_DRAINED[@]}")

# (Under set -e: a target already gone is no failure.)
sinks_cleanup() {
    if [ -n "$HTTP_PID" ]; then kill -TERM "$HTTP_PID" 2>/dev/null || true; fi
    if [ -n "$KAFKA_FD" ]; then eval "exec $KAFKA_FD>&-"; fi
    if [ -n "$KAFKA_PID" ]; then kill -TERM "$KAFKA_PID" 2>/dev/null || true; fi
    targets_stop
}

# The mock cluster, with one broker: its control stays open on KAFKA_FD.
kafka_start() {
    local w=$1 fifo=$RAW/$1.kafka.ctl
    rm -f "$fifo"
    mkfifo "$fifo"
    "$KAFKA_MOCK" 1 <"$fifo" >"$RAW/$w.kafka.out" 2>"$RAW/$w.kafka.err" &
    KAFKA_PID=$!
    exec {KAFKA_FD}>"$fifo"
    for _ in $(seq 1 100); do
        KAFKA_BOOT=$(head -1 "$RAW/$w.kafka.out" 2>/dev/null)
        [ -n "$KAFKA_BOOT" ] && return 0
        sleep 0.05
    done
    die "$w: the Kafka mock cluster did not start: $(cat "$RAW/$w.kafka.err")"
}

kafka_ctl() { printf '%s\n' "$*" >&"$KAFKA_FD"; }

# (Processes started meanwhile hold the control's write end too: stop it by signal.)
kafka_stop() {
    eval "exec $KAFKA_FD>&-"
    KAFKA_FD=""
    kill -TERM "$KAFKA_PID" 2>/dev/null || true
    wait "$KAFKA_PID" 2>/dev/null || true
    KAFKA_PID=""
}

# Messages appended to a topic: the sum of its partitions' end offsets.  (The mock
# cluster keeps only the last 5 MB of a partition, so reading the topic back from the
# beginning would not see them all.)
kafka_count() {
    local parts p last total=0
    parts=$(kcat -L -b "$KAFKA_BOOT" -t "$1" 2>/dev/null | sed -n 's/^ *partition \([0-9]*\),.*/\1/p' ||
        true)
    for p in $parts; do
        last=$(kcat -C -b "$KAFKA_BOOT" -t "$1" -p "$p" -o -1 -c 1 -e -q -f '%o\n' 2>/dev/null || true)
        [ -n "$last" ] && total=$((total + last + 1))
    done
    echo "$total"
}

# The webhook target on a free port.
http_start() {
    local w=$1
    rm -f "$RAW/$w.http.port"
    "$HTTP_RECEIVER" --port-file "$RAW/$w.http.port" >>"$RAW/$w.http.out" 2>>"$RAW/$w.http.err" &
    HTTP_PID=$!
    for _ in $(seq 1 100); do
        [ -s "$RAW/$w.http.port" ] && { HTTP_PORT=$(cat "$RAW/$w.http.port"); return 0; }
        sleep 0.05
    done
    die "$w: the webhook target did not start: $(cat "$RAW/$w.http.err")"
}

# Stops the webhook target; prints the events it counted (a batch sent again after a
# timeout, its webhook-id seen before, counts apart: duplicate_events).
http_stop() {
    kill -TERM "$HTTP_PID" 2>/dev/null || true
    wait "$HTTP_PID" 2>/dev/null || true
    HTTP_PID=""
    sed -n 's/.*"events":\([0-9]*\).*/\1/p' "$RAW/$1.http.out" | awk '{ s += $1 } END { print s + 0 }'
}

http_duplicates() {
    sed -n 's/.*"duplicate_events":\([0-9]*\).*/\1/p' "$RAW/$1.http.out" |
        awk '{ s += $1 } END { print s + 0 }'
}

# A count a target gave back against the workload's.
check_count() {
    local w=$1 what=$2 got=$3 want=$4
    if [ "$got" != "$want" ]; then
        log "$w: $what holds $got events, the workload made $want"
        [ "$CHECK" = 1 ] && FAILED=1
    fi
}

s1() {
    local w=S1 rows=$W1_ROWS expected kafka kcat_n http i c target_cpu
    log "$w: W1's rows through each sink: $rows rows in transactions of 100"
    start_server "$w"
    TABLES=(w1)
    sql -f "$WL/w1.sql"
    sql -c "CREATE PUBLICATION $PUB FOR TABLE w1"
    create_slots "$REPEAT" "${SINK_DRAINED[@]}"
    PGOPTIONS=$GEN_OPTIONS generate "$w" "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 \
        -c "CALL bench_w1($rows, 100)"
    expected=$(changed_rows w1)
    mark_end
    kafka_start "$w"
    http_start "$w"
    targets_start "$w"
    targets_prepare "$REPEAT"
    drain_all "$w" "$REPEAT" "${SINK_DRAINED[@]}"
    for c in "${TARGET_DRAINED[@]}"; do
        for i in $(seq 1 "$REPEAT"); do
            check_count "$w" "$c's target (round $i)" "$(target_count "$c" "$i")" "$expected"
        done
    done
    target_cpu=$(targets_cpu_info)
    targets_stop
    kafka=0
    kcat_n=0
    for i in $(seq 1 "$REPEAT"); do
        check_count "$w" "topic bench.s_pgcdc_cli_kafka_$i" \
            "$(kafka_count "bench.s_pgcdc_cli_kafka_$i")" "$expected"
        check_count "$w" "topic bench.kcat.s_pipe_kcat_$i" \
            "$(kafka_count "bench.kcat.s_pipe_kcat_$i")" "$expected"
    done
    kafka=$(kafka_count "bench.s_pgcdc_cli_kafka_1")
    kcat_n=$(kafka_count "bench.kcat.s_pipe_kcat_1")
    kafka_stop
    http=$(http_stop "$w")
    HTTP_PID=""
    check_count "$w" "the webhook target" "$http" "$((expected * REPEAT))"
    stop_server
    record "$w" drain "$expected" "${SINK_DRAINED[@]}"
    workload_info "$w" "W1's rows through each sink: $rows rows of 7 columns, 100 per transaction; Kafka: librdkafka's mock cluster, one broker; webhook: batches of 500 to a local target; Redis with AOF fsynced every second (its default) and at every write; NATS JetStream, file storage; RabbitMQ, a durable queue; PostgreSQL audit and apply into a database of the same server" \
        "{\"rows\":$rows,\"rows_per_txn\":100,\"repeat\":$REPEAT,\"expected_events\":$expected,\"kafka_messages\":$kafka,\"kcat_messages\":$kcat_n,\"webhook_events\":$http,$target_cpu,$(common_info)}"
}

# W5's load with a live consumer delivering to one sink ($2: kafka or http).
s5() {
    local w=$1 kind=$2 n=$((W5_RATE * W5_SECONDS)) per tps uri
    per=$((n / W5_CLIENTS))
    n=$((per * W5_CLIENTS))
    log "$w: commit-to-confirmation latency into $kind, $W5_RATE transactions/s for ${W5_SECONDS}s"
    start_server "$w"
    TABLES=(w5)
    sql -f "$WL/w5.sql"
    sql -c "CREATE PUBLICATION $PUB FOR TABLE w5"
    LIVE_C=pgcdc_live_$kind
    create_slots 1 "$LIVE_C"
    if [ "$kind" = kafka ]; then
        kafka_start "$w"
        uri=kafka://$KAFKA_BOOT/bench.live
    else
        http_start "$w"
        uri=http://127.0.0.1:$HTTP_PORT/live
    fi
    live_start "$w" --expect "$n" --sink "$uri"
    generate "$w" "$PGBIN/pgbench" -n -M prepared -c "$W5_CLIENTS" -j 2 -R "$W5_RATE" -t "$per" \
        -f "$WL/w5_insert.pgbench"
    live_wait "$w" 30
    LIVE_C=""
    if [ "$kind" = kafka ]; then
        check_count "$w" "topic bench.live" "$(kafka_count bench.live)" "$n"
        kafka_stop
    else
        check_count "$w" "the webhook target" "$(http_stop "$w")" "$n"
        HTTP_PID=""
    fi
    tps=$(sed -n 's/^tps = \([0-9.]*\).*/\1/p' "$RAW/$w.generate.out" | head -1)
    END_LSN=$(sql -c "SELECT pg_current_wal_insert_lsn()")
    WAL_BYTES=$(sql -c "SELECT pg_wal_lsn_diff('$END_LSN', '$START_LSN')")
    stop_server
    record "$w" live "$n" "pgcdc_live_$kind"
    workload_info "$w" "commit-to-confirmation latency into $kind: one row per transaction, $W5_RATE transactions/s (pgbench -R, $W5_CLIENTS clients, synchronous commit) for ${W5_SECONDS}s" \
        "{\"transactions\":$n,\"rate\":$W5_RATE,\"seconds\":$W5_SECONDS,\"pgbench_tps\":${tps:-null},\"expected_events\":$n,$(common_info)}"
}

# The CLI into a target that is down while a backlog past the in-flight bound arrives.
sdown() {
    local w=$1 kind=$2 rows=$SDOWN_ROWS expected uri c=pgcdc_cli_sink rc=0 t0 got dups
    log "$w: $kind down for ${SDOWN_SECONDS}s while $rows rows arrive (bound $SDOWN_BOUND)"
    start_server "$w"
    TABLES=(w1)
    sql -f "$WL/w1.sql"
    sql -c "CREATE PUBLICATION $PUB FOR TABLE w1"
    create_slots 1 "$c"
    if [ "$kind" = kafka ]; then
        kafka_start "$w"
        uri=kafka://$KAFKA_BOOT/bench.down
    else
        http_start "$w"
        uri=http://127.0.0.1:$HTTP_PORT/down
    fi
    # Streaming before the target goes down (the HTTP target stopped: it takes the
    # connections, never answers); the backlog comes while it is down.
    consumer_cmd "$c" "s_${c}_1" --sink "$uri" -X "sink.$kind.max_inflight=$SDOWN_BOUND" \
        -X "sink.$kind.max_elapsed=1h"
    # (In LIVE, not CHILD, which generate's run takes over; cleanup stops either.)
    "$MEASURE" -o "$RAW/$w.$c.measure.json" -l "$w/$c" -t "$CONSUMER_TIMEOUT" -- "${CMD[@]}" \
        >"$RAW/$w.$c.out" 2>"$RAW/$w.$c.err" &
    LIVE=$!
    sleep 2
    t0=$(date +%s)
    if [ "$kind" = kafka ]; then
        kafka_ctl down all
    else
        kill -STOP "$HTTP_PID"
    fi
    PGOPTIONS=$GEN_OPTIONS generate "$w" "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 \
        -c "CALL bench_w1($rows, 100)"
    expected=$(changed_rows w1)
    mark_end
    sleep $((SDOWN_SECONDS - ($(date +%s) - t0) > 0 ? SDOWN_SECONDS - ($(date +%s) - t0) : 0))
    if [ "$kind" = kafka ]; then
        kafka_ctl up all
    else
        kill -CONT "$HTTP_PID"
    fi
    # Back up: wait until the slot confirms the end, then stop the CLI.
    for _ in $(seq 1 $((CONSUMER_TIMEOUT * 10))); do
        [ "$(sql -c "SELECT confirmed_flush_lsn >= '$END_LSN' FROM pg_replication_slots
                     WHERE slot_name = 's_${c}_1'")" = t ] && break
        kill -0 "$LIVE" 2>/dev/null || break
        sleep 0.1
    done
    kill -TERM "$LIVE" 2>/dev/null || true
    wait "$LIVE" || rc=$?
    LIVE=""
    if [ "$rc" != 0 ]; then
        FAILED=1
        log "$w: $c failed (exit $rc):"
        tail -5 "$RAW/$w.$c.err" >&2 || true
    fi
    if [ "$kind" = kafka ]; then
        got=$(kafka_count bench.down)
        kafka_stop
    else
        got=$(http_stop "$w")
        HTTP_PID=""
    fi
    check_count "$w" "the $kind target" "$got" "$expected"
    dups=0
    [ "$kind" = http ] && dups=$(http_duplicates "$w")
    stop_server
    record "$w" live "$expected" "$c"
    workload_info "$w" "$kind down for ${SDOWN_SECONDS}s while $rows W1 rows arrive; in-flight bound $SDOWN_BOUND: peak RSS, nothing lost" \
        "{\"rows\":$rows,\"down_s\":$SDOWN_SECONDS,\"bound\":\"$SDOWN_BOUND\",\"expected_events\":$expected,\"delivered_events\":$got,\"duplicate_events\":$dups,$(common_info)}"
}
