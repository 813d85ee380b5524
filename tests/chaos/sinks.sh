# The chaos suite's sink scenarios, sourced by tests/chaos/run: pgcdc delivers into
# a webhook receiver (NDJSON batches, stored as they are acknowledged) or into Kafka
# (librdkafka's mock cluster, at-least-once and exactly-once), under kill -9 of pgcdc
# and a failing target.  The target is read back into a JSON-lines file that verify
# checks as it checks pgcdc's output file: lost = 0, duplicates only in a restart's
# unconfirmed window (none at all in exactly-once mode).
# shellcheck shell=bash
# shellcheck disable=SC2153 # DIR, OUT, ... are set by run's helpers

# The webhook receiver, storing every request it answers.
start_webhook() {
    python3 "$SRC/tests/sinks/webhook_receiver.py" --store "$DIR/webhook.jsonl" \
        >"$DIR/webhook.out" 2>"$DIR/webhook.log" &
    WEBHOOK_PID=$!
    track $WEBHOOK_PID
    for _ in $(seq 1 100); do
        WEBHOOK_PORT=$(head -1 "$DIR/webhook.out" 2>/dev/null)
        [ -n "$WEBHOOK_PORT" ] && break
        sleep 0.05
    done
    [ -n "$WEBHOOK_PORT" ] || die "the webhook receiver did not start (see $DIR/webhook.log)"
}

webhook_control() {
    curl -s -o /dev/null -X POST --data "$1" "http://127.0.0.1:$WEBHOOK_PORT/_control" ||
        log "webhook control failed: $1"
}

stop_webhook() {
    kill_pid "$WEBHOOK_PID"
    wait "$WEBHOOK_PID" 2>/dev/null || true
    untrack "$WEBHOOK_PID"
}

# The events of the acknowledged requests, in the order they were answered, into $OUT.
read_webhook() {
    python3 -c '
import json, sys
with open(sys.argv[1], encoding="utf-8") as f, open(sys.argv[2] + ".tmp", "w", encoding="utf-8") as out:
    for line in f:
        r = json.loads(line)
        if str(r.get("status")).startswith("2"):
            for ev in r["body"].splitlines():
                if ev.strip():
                    out.write(ev + "\n")
' "$DIR/webhook.jsonl" "$OUT"
    mv "$OUT.tmp" "$OUT"
}

# The target read back, then the slot's confirmed position with how far it goes.
record_sink_restart() {
    "$READ_TARGET"
    record_restart "$1"
}

# Waits until pgcdc has logged RECOVER_SEEN more than n times (it delivers again): the
# seconds it took into TOOK, or "never" (a failed check) after 60 s.
wait_recovered() {
    local n=$1 t0
    t0=$(now)
    TOOK=never
    while [ "$(grep -cF "$RECOVER_SEEN" "$DIR/pgcdc.log" || true)" -le "$n" ]; do
        if ! kill -0 "$PGCDC_PID" 2>/dev/null || [ "$(elapsed "$t0" | cut -d. -f1)" -ge 60 ]; then
            check_failed "pgcdc did not deliver again within 60 s of the target's return"
            return 1
        fi
        sleep 0.1
    done
    TOOK=$(elapsed "$t0")
}

# kill -9 of pgcdc and the target failing, during the workload; then the checks.  With
# RECOVER_SEEN set, pgcdc must say that it delivers again before it is killed.
#   sink_scenario NAME TITLE [ROUNDS]
sink_scenario() {
    local name=$1 title=$2 rounds=${3:-$SINK_ROUNDS} i delay n took=()
    begin_scenario "$name"
    start_server
    prepare_db
    : >"$DIR/samples"
    SAMPLER_PID=""
    start_workload
    start_pgcdc
    for i in $(seq 1 "$rounds"); do
        # The target fails for a while under the running pgcdc...
        sleep "$(rand_s 1500 4000)"
        n=$(grep -cF "${RECOVER_SEEN:-(none)}" "$DIR/pgcdc.log" || true)
        echo "$EPOCHREALTIME fail $i" >>"$DIR/faults"
        "$FAIL_TARGET" on
        sleep "$(rand_s 1000 4000)"
        "$FAIL_TARGET" off
        echo "$EPOCHREALTIME back $i" >>"$DIR/faults"
        kill -0 "$PGCDC_PID" 2>/dev/null ||
            check_failed "pgcdc exited while the target was failing (see $DIR/pgcdc.log)"
        if [ -n "${RECOVER_SEEN:-}" ]; then
            wait_recovered "$n" || true
            took+=("$TOOK")
        fi
        # ...and pgcdc is killed.
        delay=$(rand_s 500 3000)
        sleep "$delay"
        kill -9 "$PGCDC_PID" 2>/dev/null || check_failed "pgcdc had exited before kill $i"
        wait_pgcdc
        wait_slot_inactive
        record_sink_restart kill
        log "round $i: target failed, pgcdc killed ${delay}s later: $(tail -1 "$DIR/restarts")"
        sleep "$(rand_s 0 1000)"
        start_pgcdc
    done
    sleep 3
    stop_workload
    drain
    "$READ_TARGET"
    dump_oracle
    no_new_slot
    verify_run
    # The failures reached pgcdc: it said so, once per failure, not once per retry.
    n=$(grep -cF "${FAIL_SEEN:-(none)}" "$DIR/pgcdc.log" || true)
    if [ -n "${FAIL_SEEN:-}" ] && [ "$n" -lt "$rounds" ]; then
        check_failed "pgcdc logged fewer than $rounds target failures (\"$FAIL_SEEN\")"
    fi
    add_row "$title" "$rounds kills, $rounds target failures"
    [ ${#took[@]} = 0 ] ||
        NOTES+=("$name: \"$RECOVER_SEEN\" logged ${took[*]} s after the target's return")
}

webhook_fail() {
    if [ "$1" = on ]; then
        # Answers of 503, with and without Retry-After, and a dropped connection.
        webhook_control '{"rules":[{"status":503,"retry_after":"1"},{"drop":true},{"status":503},{"status":503},{"status":500},{"drop":true},{"status":429,"retry_after":"1"}]}'
    fi
}

scenario_webhook() {
    READ_TARGET=read_webhook FAIL_TARGET=webhook_fail FAIL_SEEN="failing: 503"
    DIR=$WORK/webhook
    mkdir -p "$DIR"
    start_webhook
    OUT_ARGS=(--sink "http://127.0.0.1:$WEBHOOK_PORT/chaos" -X sink.http.encoding=ndjson
        -X sink.http.retry_max=1s)
    sink_scenario webhook "8. webhook: kill -9 of pgcdc and failing answers"
    stop_webhook
    OUT_ARGS=()
    end_scenario
}

# ---- Kafka: librdkafka's mock cluster (pgcdc-kafka-mock), one topic of one partition
# for all tables, so that the topic's order is pgcdc's delivery order. ----

KAFKA_PID="" KAFKA_FD="" KAFKA_BOOT="" TAIL_PID="" KAFKA_COMMITTED=""
KAFKA_TOPIC=chaos
KAFKA_PROGRESS=pgcdc.progress # the exactly-once mode's default progress topic

kafka_ctl() { printf '%s\n' "$*" >&"$KAFKA_FD"; }

# Three brokers; the control stays open on KAFKA_FD (a FIFO); both topics made first.
start_kafka() {
    local fifo=$DIR/kafka.ctl
    rm -f "$fifo"
    mkfifo "$fifo"
    "$KAFKA_MOCK" 3 <"$fifo" >"$DIR/kafka.out" 2>"$DIR/kafka.err" &
    KAFKA_PID=$!
    track $KAFKA_PID
    exec {KAFKA_FD}>"$fifo"
    for _ in $(seq 1 100); do
        KAFKA_BOOT=$(head -1 "$DIR/kafka.out" 2>/dev/null)
        [ -n "$KAFKA_BOOT" ] && break
        sleep 0.05
    done
    [ -n "$KAFKA_BOOT" ] || die "the Kafka mock cluster did not start (see $DIR/kafka.err)"
    kafka_ctl "topic $KAFKA_TOPIC 1"
    kafka_ctl "topic $KAFKA_PROGRESS 1"
    for _ in $(seq 1 100); do
        [ "$(wc -l <"$DIR/kafka.out")" -ge 3 ] && break
        sleep 0.05
    done
    [ "$(grep -c '^ok' "$DIR/kafka.out")" = 2 ] || die "the mock cluster made no topics: $(cat "$DIR/kafka.out")"
    # The reader follows both topics from now on: the mock keeps only 5 MB of a partition.
    "$KAFKATAIL" follow --bootstrap "$KAFKA_BOOT" --topic $KAFKA_TOPIC --progress $KAFKA_PROGRESS \
        --raw "$DIR/kafka.raw" 2>"$DIR/kafkatail.log" &
    TAIL_PID=$!
    track $TAIL_PID
}

# (Processes started meanwhile hold the control's write end too: stopped by signal.)
stop_kafka() {
    kill_pid "$TAIL_PID"
    wait "$TAIL_PID" 2>/dev/null || true
    untrack "$TAIL_PID"
    eval "exec $KAFKA_FD>&-"
    kill_pid "$KAFKA_PID"
    wait "$KAFKA_PID" 2>/dev/null || true
    untrack "$KAFKA_PID"
    if grep -q '^error' "$DIR/kafka.out"; then
        check_failed "the mock cluster refused a command: $(grep '^error' "$DIR/kafka.out" | head -1)"
    fi
}

# Everything in the topic now (the reader at its end offsets) into $OUT: the values in
# the topic's order, tombstones left out; in exactly-once mode only the messages of
# committed batches (the mock writes no transaction markers, so a consumer sees the
# messages of aborted Kafka transactions).  A batch is committed when a progress
# record names it: pgcdc writes that record into the Kafka transaction after its
# messages and just before committing it, and a restart resumes after it.
read_kafka() {
    "$KAFKATAIL" wait --bootstrap "$KAFKA_BOOT" --topic $KAFKA_TOPIC --progress $KAFKA_PROGRESS \
        --raw "$DIR/kafka.raw" --timeout 120 >>"$DIR/kafka.ends" 2>>"$DIR/kafkatail.log" ||
        check_failed "the reader did not reach the topic's end (see $DIR/kafkatail.log)"
    "$KAFKATAIL" filter --raw "$DIR/kafka.raw" ${KAFKA_COMMITTED:+--committed} >"$OUT.tmp" \
        2>>"$DIR/kafkatail.log" ||
        check_failed "the reader missed messages (see $DIR/kafkatail.log)"
    mv "$OUT.tmp" "$OUT"
}

# The brokers go down, and the first produce requests after they are back fail with
# NOT_LEADER_FOR_PARTITION or REQUEST_TIMED_OUT.
kafka_fail() {
    if [ "$1" = on ]; then
        kafka_ctl "errors 0 $((3 + RANDOM % 10)) 6 7"
        kafka_ctl "down all"
    else
        kafka_ctl "up all"
    fi
}

#   kafka_scenario NAME TITLE [-X PROPERTY...]
kafka_scenario() {
    local name=$1 title=$2
    shift 2
    READ_TARGET=read_kafka FAIL_TARGET=kafka_fail FAIL_SEEN="(retrying)" RECOVER_SEEN="delivering again"
    DIR=$WORK/$name
    mkdir -p "$DIR"
    start_kafka
    # The mock answers a fetch with one message set (one produce request's) and keeps only
    # 5 MB of a partition: a producer with more than one request in flight outruns any
    # consumer once pgcdc has a backlog, and the oldest messages are gone before they are
    # read.  So one request in flight, of at most 256 kB, compressed (the 5 MB then hold
    # about 30 s of the workload).
    OUT_ARGS=(--sink "kafka://$KAFKA_BOOT/$KAFKA_TOPIC"
        -X sink.kafka.max.in.flight.requests.per.connection=1 -X sink.kafka.batch.size=262144
        -X sink.kafka.compression.type=lz4 "$@")
    sink_scenario "$name" "$title" "$KAFKA_ROUNDS"
    stop_kafka
    NOTES+=("$name: $(tail -1 "$DIR/kafkatail.log" | sed 's/^kafkatail: //'); unconfirmed window per kill: $(sed -n 's/.*"windows":\[\(.*\)\]}/\1/p' "$DIR/verify.json" | grep -o '"window":[0-9]*' | cut -d: -f2 | paste -sd' ')")
    OUT_ARGS=() VERIFY_ARGS=() KAFKA_COMMITTED="" RECOVER_SEEN=""
    end_scenario
}

scenario_kafka() {
    kafka_scenario kafka "9. kafka: kill -9 of pgcdc and brokers down, produce errors"
}

# Exactly-once: no duplicates at all, even after kill -9.  (An outage that begins and
# ends while the worker waits in a Kafka transaction's commit is logged all the same.)
scenario_kafka_eos() {
    KAFKA_COMMITTED=1 VERIFY_ARGS=(--no-duplicates)
    kafka_scenario kafka_eos "10. kafka exactly-once: kill -9 of pgcdc and brokers down, produce errors" \
        -X sink.kafka.exactly_once=true
}
