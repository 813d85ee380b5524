# The chaos suite's standby scenario, sourced by tests/chaos/run: two pgcdc
# processes for one slot, the second with --standby; the active one is killed
# (kill -9) under the workload and the standby must take over, nothing lost and
# the duplicates within the unconfirmed window.  Then once the active side hangs
# (SIGSTOP) with its connection open, as a vanished host does: the server ends
# its walsender after wal_sender_timeout, and only then can the standby start.
# shellcheck shell=bash
# shellcheck disable=SC2153 # DIR, SLOT, ... are set by run's helpers

SB_PIDS=()   # instance number -> pid
SB_N=0       # instances started

# Starts instance n+1 with --standby, its own output file and log.
sb_start() {
    SB_N=$((SB_N + 1))
    "$PGCDC" --dbname "$CONN" --slot $SLOT --publication $PUB "${TABLE_ARGS[@]}" --standby \
        --output "$DIR/out.$SB_N" ${PGCDC_ARGS[@]+"${PGCDC_ARGS[@]}"} \
        2> >(stamp >"$DIR/pgcdc.$SB_N.log") &
    SB_PIDS[SB_N]=$!
    track "${SB_PIDS[SB_N]}"
    PGCDC_RUNS=$((PGCDC_RUNS + 1))
}

# Waits up to $2 s for instance $1's log to hold $3; its stamp (epoch seconds) in SB_AT.
sb_wait_log() {
    local n=$1 limit=$2 text=$3 t0
    t0=$(now)
    SB_AT=""
    while [ "$(elapsed "$t0" | cut -d. -f1)" -lt "$limit" ]; do
        SB_AT=$(grep -F -m1 -- "$text" "$DIR/pgcdc.$n.log" 2>/dev/null | cut -d' ' -f1 || true)
        [ -n "$SB_AT" ] && return 0
        kill -0 "${SB_PIDS[n]}" 2>/dev/null || break
        sleep 0.1
    done
    check_failed "instance $n did not log \"$text\" within $limit s (see $DIR/pgcdc.$n.log)"
    return 1
}

# The position instance $1 started streaming from.
sb_start_lsn() {
    sed -n 's/.*streaming from slot "[^"]*" at \([0-9A-F]*\/[0-9A-F]*\).*/\1/p' \
        "$DIR/pgcdc.$1.log" | head -1
}

# Instance $1 is gone: its file cut to complete lines (a kill may tear the last).
sb_trim() {
    python3 -c 'import sys; p = sys.argv[1]; d = open(p, "rb").read()
open(p, "wb").write(d[: d.rfind(b"\n") + 1])' "$DIR/out.$1"
}

# Bytes of instances 1..$1's files: where instance $1's part of the joined output ends.
sb_offset() {
    local i total=0
    for i in $(seq 1 "$1"); do total=$((total + $(wc -c <"$DIR/out.$i"))); done
    echo "$total"
}

# Instance $1 is dead and $2 streams: a restart for verify, at $2's start position.
sb_record() {
    echo "$3 $EPOCHREALTIME $(sb_start_lsn "$2") $(sb_offset "$1") -" >>"$DIR/restarts"
}

scenario_standby() {
    begin_scenario standby
    start_server
    prepare_db
    : >"$DIR/samples"
    SAMPLER_PID=""
    SB_N=0
    SB_PIDS=()
    start_workload
    local k active took takes=() hang_took=""
    sb_start
    sb_wait_log 1 30 "streaming from slot" || true
    sb_start
    sb_wait_log 2 30 "standing by" || true
    for k in $(seq 1 "$TAKEOVERS"); do
        sleep "$(rand_s 1500 5000)"
        active=$k
        kill -9 "${SB_PIDS[active]}" 2>/dev/null || check_failed "instance $active had exited"
        local t0=$EPOCHREALTIME
        wait "${SB_PIDS[active]}" 2>/dev/null || true
        untrack "${SB_PIDS[active]}"
        sb_trim "$active"
        if sb_wait_log $((active + 1)) 60 "streaming from slot"; then
            took=$(awk -v a="$t0" -v b="$SB_AT" 'BEGIN { printf "%.1f", b - a }')
            takes+=("$took")
            sb_record "$active" $((active + 1)) takeover
            log "takeover $k: instance $((active + 1)) streams ${took}s after the kill"
        fi
        sb_start
        sb_wait_log "$SB_N" 30 "standing by" || true
    done
    # The active side hangs with its connection open: the walsender goes after
    # wal_sender_timeout (10 s here), and the standby takes over then.
    sleep "$(rand_s 1500 3000)"
    active=$((TAKEOVERS + 1))
    kill -STOP "${SB_PIDS[active]}"
    local t0=$EPOCHREALTIME
    if sb_wait_log $((active + 1)) 90 "streaming from slot"; then
        hang_took=$(awk -v a="$t0" -v b="$SB_AT" 'BEGIN { printf "%.1f", b - a }')
        log "hang: instance $((active + 1)) streams ${hang_took}s after the active one stopped"
    fi
    kill -9 "${SB_PIDS[active]}" 2>/dev/null || true
    wait "${SB_PIDS[active]}" 2>/dev/null || true
    untrack "${SB_PIDS[active]}"
    sb_trim "$active"
    sb_record "$active" $((active + 1)) hang
    sleep 3
    stop_workload
    sb_drain $((active + 1))
    dump_oracle
    no_new_slot
    verify_run
    add_row "10. standby takeover" "$TAKEOVERS kill -9 of the active side, 1 hang"
    NOTES+=("Standby: the standby streamed $(printf '%s, ' "${takes[@]}" | sed 's/, $//') s after each kill -9 of the active side (it looks every second), and ${hang_took:-never} s after the active side hung with its connection open (wal_sender_timeout=10s); unconfirmed window per takeover $(grep -o '"kind":"\(takeover\|hang\)","window":[0-9]*' "$DIR/verify.json" | sed 's/.*://' | paste -sd, | sed 's/,/, /g') events.")
    end_scenario
}

# The workload is over: instance $1 (active) catches up and stops, the standby
# first; a run to the end position finishes; the files are joined in the order
# the instances were active, which is the order they were started in.
sb_drain() {
    local live=$1 end i
    end=$(psql_q -c "SELECT pg_current_wal_insert_lsn()")
    for i in $(seq 1 900); do
        [ "$(slot_value "confirmed_flush_lsn >= '$end'")" = t ] && break
        kill -0 "${SB_PIDS[live]}" 2>/dev/null || { check_failed "instance $live exited"; break; }
        sleep 0.2
    done
    [ "$i" -lt 900 ] || check_failed "instance $live did not confirm $end within 180 s"
    for i in $(seq $((live + 1)) "$SB_N") "$live"; do
        kill -TERM "${SB_PIDS[i]}" 2>/dev/null || true
        wait "${SB_PIDS[i]}" 2>/dev/null || check_failed "instance $i exited with $? on SIGTERM"
        untrack "${SB_PIDS[i]}"
    done
    wait_slot_inactive
    SB_N=$((SB_N + 1))
    "$PGCDC" --dbname "$CONN" --slot $SLOT --publication $PUB "${TABLE_ARGS[@]}" \
        --output "$DIR/out.$SB_N" --endpos "$end" 2> >(stamp >"$DIR/pgcdc.$SB_N.log") ||
        check_failed "pgcdc --endpos exited with $?"
    : >"$OUT"
    for i in $(seq 1 "$SB_N"); do
        [ -f "$DIR/out.$i" ] && cat "$DIR/out.$i" >>"$OUT"
    done
    cat "$DIR"/pgcdc.*.log >>"$DIR/pgcdc.log"
}
