# The chaos suite's sink scenarios, sourced by tests/chaos/run: pgcdc delivers into
# a webhook receiver (NDJSON batches, stored as they are acknowledged), under kill -9
# of pgcdc and a failing target.  The target is read back into a JSON-lines file that
# verify checks as it checks pgcdc's output file: lost = 0, duplicates only in a
# restart's unconfirmed window.
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

# kill -9 of pgcdc and the target failing, during the workload; then the checks.
#   sink_scenario NAME TITLE
sink_scenario() {
    local name=$1 title=$2 i delay
    begin_scenario "$name"
    start_server
    prepare_db
    : >"$DIR/samples"
    SAMPLER_PID=""
    start_workload
    start_pgcdc
    for i in $(seq 1 "$SINK_ROUNDS"); do
        # The target fails for a while under the running pgcdc...
        sleep "$(rand_s 1500 4000)"
        "$FAIL_TARGET" on
        sleep "$(rand_s 1000 4000)"
        "$FAIL_TARGET" off
        kill -0 "$PGCDC_PID" 2>/dev/null ||
            check_failed "pgcdc exited while the target was failing (see $DIR/pgcdc.log)"
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
    if [ -n "${FAIL_SEEN:-}" ] && [ "$(grep -c "$FAIL_SEEN" "$DIR/pgcdc.log" || true)" -lt "$SINK_ROUNDS" ]; then
        check_failed "pgcdc logged fewer than $SINK_ROUNDS target failures (\"$FAIL_SEEN\")"
    fi
    add_row "$title" "$SINK_ROUNDS kills, $SINK_ROUNDS target failures"
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
