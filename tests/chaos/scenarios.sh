# The chaos suite's fault scenarios, sourced by tests/chaos/run (which holds
# the helpers they use).  Each one starts its own server and leaves none behind.
# shellcheck shell=bash
# shellcheck disable=SC2153 # TOOK, DIR, ... are set by run's helpers

# 1. kill -9 of pgcdc at random moments during the mixed workload.
scenario_kill() {
    begin_scenario kill
    start_server
    prepare_db
    start_sampler
    start_workload
    start_pgcdc
    local i delay down
    for i in $(seq 1 "$KILLS"); do
        # A quarter of the kills come early: during start-up or the first catch-up.
        if [ $((RANDOM % 4)) = 0 ]; then delay=$(rand_s 50 500); else delay=$(rand_s 1500 7000); fi
        sleep "$delay"
        if kill -9 "$PGCDC_PID" 2>/dev/null; then
            wait_pgcdc
        else
            wait_pgcdc
            check_failed "pgcdc had exited with $PGCDC_RC before kill $i (see $DIR/pgcdc.log)"
        fi
        wait_slot_inactive
        record_restart kill
        # Sometimes it stays down while the workload goes on.
        down=$(rand_s 0 2000)
        log "kill $i after ${delay}s, down ${down}s: $(tail -1 "$DIR/restarts")"
        sleep "$down"
        start_pgcdc
    done
    sleep 3
    stop_workload
    drain
    dump_oracle
    no_new_slot
    verify_run
    add_row "1. kill -9 of pgcdc" "$KILLS kills"
    NOTES+=("Kills: unconfirmed window per kill $(grep -o '"kind":"kill","window":[0-9]*' "$DIR/verify.json" | sed 's/.*://' | paste -sd, | sed 's/,/, /g') events; $(field duplicates_unexplained) duplicates outside a restart's window.")
    end_scenario
}

# 2. PostgreSQL stopped with -m immediate and started again under a running pgcdc.
scenario_restart() {
    begin_scenario restart
    start_server
    prepare_db
    start_sampler
    start_workload
    start_pgcdc
    local i n t0 took slowest=0
    for i in $(seq 1 "$RESTARTS"); do
        sleep "$(rand_s 3000 8000)"
        n=$(reconnects)
        t0=$(now)
        as_pg "$PGCDC_PGBIN/pg_ctl" -D "$PGCDC_PGDATA" -m immediate -w -t 60 stop >/dev/null
        sleep "$(rand_s 200 3000)"
        as_pg "$PGCDC_PGBIN/pg_ctl" -D "$PGCDC_PGDATA" -l "$PGCDC_PGLOG" -w -t 120 start >/dev/null
        wait_reconnect "$n" "$t0" 120 || break
        took=$TOOK
        log "restart $i: pgcdc streaming again ${took}s after the crash"
        slowest=$(awk -v a="$slowest" -v b="$took" 'BEGIN { print (b > a) ? b : a }')
    done
    sleep 3
    stop_workload
    if [ "$PGCDC_RUNS" != 1 ] || ! kill -0 "$PGCDC_PID" 2>/dev/null; then
        check_failed "pgcdc did not keep running through the restarts"
    fi
    drain
    dump_oracle
    no_new_slot
    verify_run
    [ "$(field duplicates)" = 0 ] || check_failed "duplicates within one pgcdc process"
    add_row "2. PostgreSQL stop -m immediate + start" "$RESTARTS restarts"
    NOTES+=("Restarts: pgcdc (one process throughout) streamed again at most ${slowest} s after each crash (server down 0.2-3 s); $(reconnects) reconnects.")
    end_scenario
}

# A command to netproxy.  Never blocks: a FIFO without its reader would.  A
# proxy gone clears PROXY_OK, and the scenario stops injecting.
proxy_cmd() {
    # shellcheck disable=SC2016 # expanded by the inner shell
    if ! kill -0 "$PROXY_PID" 2>/dev/null ||
        ! timeout 5 bash -c 'echo "$1" >"$2"' _ "$1" "$DIR/proxy.ctl"; then
        [ "$PROXY_OK" = 0 ] || check_failed "netproxy is gone: could not send \"$1\" (see $DIR/proxy.log)"
        PROXY_OK=0
    fi
}

start_proxy() {
    mkfifo "$DIR/proxy.ctl"
    "$NETPROXY" --target "$PGPORT" --control "$DIR/proxy.ctl" >"$DIR/proxy.port" 2>"$DIR/proxy.log" &
    PROXY_PID=$!
    PROXY_OK=1
    track $PROXY_PID
    for _ in $(seq 1 50); do [ -s "$DIR/proxy.port" ] && break; sleep 0.1; done
    [ -s "$DIR/proxy.port" ] || die "netproxy did not start (see $DIR/proxy.log)"
    CONN="host=127.0.0.1 port=$(cat "$DIR/proxy.port") dbname=chaos user=postgres"
}

# Seconds pgcdc kept its holed connection before giving up on it, from the proxy's log.
holed_close_time() {
    local before=$1 t0=$2 line
    while :; do
        line=$(grep 'client closed its holed connection' "$DIR/proxy.log" | sed -n "$((before + 1))p")
        if [ -n "$line" ]; then
            line=${line##* after }
            echo "${line% s}"
            return 0
        fi
        if [ "$(elapsed "$t0" | cut -d. -f1)" -ge 60 ]; then
            echo never
            return 0
        fi
        sleep 0.2
    done
}

# 3. The link cut in a proxy between pgcdc and PostgreSQL.  Each round: a 30 s
# blackhole (odd rounds: the old connection stays a black hole, so pgcdc must
# notice by itself; even rounds: then a reset while new connections still go
# into the hole for 12 s, so connection attempts hang), and later a reset of
# pgcdc's side only, leaving the walsender holding the slot until its timeout.
scenario_netcut() {
    begin_scenario netcut
    start_server
    start_proxy
    prepare_db
    start_sampler
    start_workload
    start_pgcdc
    local i n t0 took closed detect=() slowest=0 rounds=0
    for i in $(seq 1 "$NETCUTS"); do
        [ "$PROXY_OK" = 1 ] || break
        rounds=$i
        sleep "$(rand_s 2000 5000)"
        n=$(reconnects)
        closed=$(grep -c 'client closed its holed connection' "$DIR/proxy.log" || true)
        t0=$(now)
        proxy_cmd blackhole
        sleep "$BLACKHOLE_S"
        if [ $((i % 2)) = 1 ]; then
            proxy_cmd pass
            took=$(holed_close_time "$closed" "$t0")
            detect+=("$took")
            if [ "$took" = never ] ||
                awk -v t="$took" -v l="$BLACKHOLE_S" 'BEGIN { exit !(t > l + 1) }'; then
                check_failed "netcut $i: pgcdc noticed the dead link after $took s (limit $BLACKHOLE_S s)"
            fi
        else
            proxy_cmd reset
            sleep 12
            proxy_cmd pass
        fi
        wait_reconnect "$n" "$t0" 180 || break
        took=$TOOK
        log "netcut $i: blackhole $BLACKHOLE_S s, streaming again ${took}s after it began"
        slowest=$(awk -v a="$slowest" -v b="$took" 'BEGIN { print (b > a) ? b : a }')
        sleep "$(rand_s 3000 6000)"
        n=$(reconnects)
        t0=$(now)
        proxy_cmd reset-client
        wait_reconnect "$n" "$t0" 120 || break
        took=$TOOK
        log "netcut $i: client reset, streaming again ${took}s later"
    done
    sleep 3
    stop_workload
    if [ "$PGCDC_RUNS" != 1 ] || ! kill -0 "$PGCDC_PID" 2>/dev/null; then
        check_failed "pgcdc did not keep running through the cuts"
    fi
    drain
    dump_oracle
    no_new_slot
    verify_run
    [ "$(field duplicates)" = 0 ] || check_failed "duplicates within one pgcdc process"
    local active
    active=$(grep -c 'is active for PID' "$DIR/pgcdc.log" || true)
    [ "$active" -gt 0 ] || check_failed "no \"slot is active for PID\" retry was seen"
    add_row "3. network cut (proxy)" "$rounds blackholes of ${BLACKHOLE_S} s + $rounds resets"
    NOTES+=("Network cuts: dead link noticed after ${detect[*]} s (blackhole start to pgcdc closing the dead connection; limit $BLACKHOLE_S s); streaming again at most ${slowest} s after a blackhole began; \"slot is active for PID\" retried $active times; $(reconnects) reconnects; no slot created.")
    kill_pid "$PROXY_PID"
    untrack "$PROXY_PID"
    end_scenario
}

# 4. Protocol 2 (in-progress transactions streamed, logical_decoding_work_mem
# 64kB so the workload's large transactions stream): connection resets while
# pgcdc works through a backlog (so also inside a streamed block), and crashes.
scenario_stream() {
    begin_scenario stream
    start_server --set logical_decoding_work_mem=64kB
    start_proxy
    prepare_db
    start_sampler
    # More large transactions, fewer small ones: cuts land inside streamed blocks.
    start_workload 100 -f "$WL/big.pgbench@11"
    start_pgcdc --protocol=2
    local i n t0 cuts=0 crashes=0
    for i in $(seq 1 "$STREAM_CUTS"); do
        [ "$PROXY_OK" = 1 ] || break
        sleep "$(rand_s 1000 4000)"
        kill -0 "$PGCDC_PID" 2>/dev/null || break
        n=$(reconnects)
        t0=$(now)
        cuts=$((cuts + 1))
        if [ $((i % 5)) = 0 ]; then
            crashes=$((crashes + 1))
            as_pg "$PGCDC_PGBIN/pg_ctl" -D "$PGCDC_PGDATA" -m immediate -w -t 60 stop >/dev/null
            sleep "$(rand_s 200 2000)"
            as_pg "$PGCDC_PGBIN/pg_ctl" -D "$PGCDC_PGDATA" -l "$PGCDC_PGLOG" -w -t 120 start >/dev/null
        else
            # A backlog first (pgcdc paused), so the reset finds it in mid-stream.
            kill -STOP "$PGCDC_PID"
            sleep "$(rand_s 1000 3000)"
            kill -CONT "$PGCDC_PID"
            sleep "$(rand_s 20 300)"
            proxy_cmd reset
        fi
        wait_reconnect "$n" "$t0" 120 || break
    done
    sleep 3
    stop_workload
    if [ "$PGCDC_RUNS" != 1 ] || ! kill -0 "$PGCDC_PID" 2>/dev/null; then
        check_failed "pgcdc did not keep running through the cuts: $(grep 'error:' "$DIR/pgcdc.log" | tail -1 | cut -d' ' -f2-)"
    fi
    if ! kill -0 "$PGCDC_PID" 2>/dev/null; then
        # Let the drain run a fresh process; the exit counts as a restart.
        wait_pgcdc
        wait_slot_inactive
        record_restart exit
        start_pgcdc --protocol=2
    fi
    drain
    dump_oracle
    no_new_slot
    verify_run
    add_row "4. protocol 2: resets and crashes" "$cuts cuts ($crashes server crashes)"
    kill_pid "$PROXY_PID"
    untrack "$PROXY_PID"
    end_scenario
}

# Generates WAL and checkpoints until the slot is invalidated ("lost").
invalidate_slot() {
    for _ in $(seq 1 20); do
        psql_q -c "INSERT INTO chaos_b (qty, note) SELECT g, repeat('w', 1000) FROM generate_series(1, 4000) g" \
            -c "SELECT pg_switch_wal()" -c "CHECKPOINT" >/dev/null
        [ "$(slot_value wal_status)" = lost ] && return 0
    done
    check_failed "the slot was not invalidated"
    return 1
}

# pgcdc started (or running) against a slot it cannot use: exit 3, the slot named.
expect_slot_exit() {
    local what=$1 t0
    t0=$(now)
    while kill -0 "$PGCDC_PID" 2>/dev/null && [ "$(elapsed "$t0" | cut -d. -f1)" -lt 90 ]; do
        sleep 0.2
    done
    if kill -0 "$PGCDC_PID" 2>/dev/null; then
        check_failed "$what: pgcdc still running 90 s later"
        kill -TERM "$PGCDC_PID"
    fi
    wait_pgcdc
    local msg
    msg=$(grep 'error:' "$DIR/pgcdc.log" | tail -1 | cut -d' ' -f2-)
    [ "$PGCDC_RC" = 3 ] || check_failed "$what: exit $PGCDC_RC, expected 3"
    case $msg in *"\"$SLOT\""*) ;; *) check_failed "$what: the message does not name the slot: $msg" ;; esac
    SLOT_RESULTS+=("| $what | $PGCDC_RC | $(elapsed "$t0") s | \`${msg#pgcdc: }\` |")
    log "$what: exit $PGCDC_RC: $msg"
}

no_slot_created() {
    local what=$1 expect=$2 n
    n=$(grep -c 'created replication slot' "$DIR/pgcdc.log" || true)
    [ "$n" = 0 ] || check_failed "$what: pgcdc created a slot"
    n=$(psql -qAtX -d "$DIRECT" -c "SELECT count(*) FROM pg_replication_slots")
    [ "$n" = "$expect" ] || check_failed "$what: $n slots, expected $expect"
}

fresh_slot() {
    psql_q -c "SELECT pg_drop_replication_slot('$SLOT') FROM pg_replication_slots WHERE slot_name = '$SLOT'" >/dev/null
    "$PGCDC" --dbname "$CONN" --slot "$SLOT" --publication "$PUB" "${TABLE_ARGS[@]}" --create-slot \
        2>>"$DIR/create.log"
}

# 5. The slot invalidated (while pgcdc is stopped, and under a stuck running
# pgcdc) and dropped under a running pgcdc: exit 3, the slot named, no new slot.
scenario_slot() {
    begin_scenario slot
    SLOT_RESULTS=()
    start_server --set max_slot_wal_keep_size=1MB --set wal_keep_size=0 --set max_wal_size=32MB \
        --set min_wal_size=32MB
    psql_q -f "$WL/schema.sql" >/dev/null
    fresh_slot
    start_sampler

    # a. Invalidated while pgcdc is stopped.
    local end
    psql_q -c "INSERT INTO chaos_a (k, v) SELECT g, 'before' FROM generate_series(1, 100) g" >/dev/null
    end=$(psql_q -c "SELECT pg_current_wal_insert_lsn()")
    start_pgcdc --endpos "$end"
    wait_pgcdc
    [ "$PGCDC_RC" = 0 ] || check_failed "the first run exited with $PGCDC_RC"
    if invalidate_slot; then
        start_pgcdc
        expect_slot_exit "a. invalidated while pgcdc was stopped"
        no_slot_created "a" 1
        [ "$(slot_value wal_status)" = lost ] || check_failed "a: the invalidated slot was replaced"
    fi

    # b. Invalidated under a running but stuck pgcdc (SIGSTOP): the checkpointer ends its walsender.
    fresh_slot
    mv "$DIR/pgcdc.log" "$DIR/pgcdc.a.log"
    start_pgcdc
    sleep 2
    kill -STOP "$PGCDC_PID"
    # PostgreSQL 15's checkpointer waits for the walsender it ends, and a walsender
    # blocked on a full socket stays blocked sending its last message to a client that
    # does not read: the checkpoint can only finish once pgcdc runs again.  So pgcdc
    # is resumed 10 s after the invalidation began, finished or not.
    invalidate_slot &
    local inv=$! t0
    t0=$(now)
    while kill -0 "$inv" 2>/dev/null && [ "$(elapsed "$t0" | cut -d. -f1)" -lt 10 ]; do
        sleep 0.2
    done
    kill -CONT "$PGCDC_PID"
    wait "$inv" || true
    if [ "$(slot_value wal_status)" = lost ]; then
        expect_slot_exit "b. invalidated under a stuck running pgcdc"
        no_slot_created "b" 1
    else
        check_failed "b: the slot was not invalidated"
        kill -TERM "$PGCDC_PID"
        wait_pgcdc
    fi

    # c. Dropped under a running pgcdc, between two connections.
    fresh_slot
    mv "$DIR/pgcdc.log" "$DIR/pgcdc.b.log"
    start_pgcdc
    sleep 2
    local v=0
    for _ in $(seq 1 200); do
        psql_q -c "SELECT pg_terminate_backend(active_pid, 5000) FROM pg_replication_slots
                   WHERE slot_name = '$SLOT' AND active_pid IS NOT NULL" >/dev/null
        v=$(psql_q -c "SELECT count(*) FROM (SELECT pg_drop_replication_slot(slot_name)
                       FROM pg_replication_slots WHERE slot_name = '$SLOT' AND active_pid IS NULL) x" \
            2>/dev/null || echo 0)
        [ "$v" = 1 ] && break
    done
    [ "$v" = 1 ] || check_failed "c: could not drop the slot under pgcdc"
    expect_slot_exit "c. dropped under a running pgcdc"
    no_slot_created "c" 0

    # d. Missing at start with --no-create.
    mv "$DIR/pgcdc.log" "$DIR/pgcdc.c.log"
    start_pgcdc --no-create
    expect_slot_exit "d. missing at start with --no-create"
    no_slot_created "d" 0
    end_scenario
}

write_results() {
    local rev dirty=""
    rev=$(git -C "$SRC" rev-parse --short HEAD 2>/dev/null || echo unknown)
    git -C "$SRC" diff --quiet HEAD -- src tools include 2>/dev/null || dirty=" plus local changes"
    cat <<EOF
# Chaos suite results

\`tests/chaos/run --$MODE --seed $SEED\` ($(date -u +%Y-%m-%d), pgcdc $rev$dirty,
PostgreSQL $(psql --version | awk '{print $3}'), $(nproc) cores, ${TOTAL_S} s).

Every change checked is one the server's own test_decoding slot (created before the
workload) recorded for the published tables, found in pgcdc's output file with the same
operation, table and column values.  Lost must be 0.  Duplicates are events delivered again
after a restart of pgcdc; the unconfirmed window is, summed over the restarts, the number of
events the file held past the slot's confirmed position when pgcdc died: duplicates may not
exceed it, and within one running process there must be none.  Confirm samples: the slot's
confirmed_flush_lsn read every 100 ms, each checked against what the file held right after
(a transaction whose commit LSN is below it must already be written).

EOF
    if [ ${#ROWS[@]} -gt 0 ]; then
        echo "| fault | injected | changes checked | transactions | lost | duplicates | unconfirmed window | order violations | incomplete txns | unexpected | confirm samples | confirm violations |"
        echo "|---|---|---|---|---|---|---|---|---|---|---|---|"
        printf '%s\n' "${ROWS[@]}"
    fi
    if [ ${#SLOT_RESULTS[@]} -gt 0 ]; then
        cat <<'EOF'

5. Slot invalidated or dropped (max_slot_wal_keep_size = 1MB, WAL generated and
checkpointed until wal_status is "lost"):

| case | exit | exited after | message |
|---|---|---|---|
EOF
        printf '%s\n' "${SLOT_RESULTS[@]}"
    fi
    if [ ${#NOTES[@]} -gt 0 ]; then
        echo
        printf -- '- %s\n' "${NOTES[@]}"
    fi
    if [ ${#DURATIONS[@]} -gt 0 ]; then
        echo
        echo "Durations: ${DURATIONS[*]}."
    fi
    echo
    if [ ${#FAILURES[@]} -gt 0 ]; then
        echo "Failed checks:"
        echo
        printf -- '- %s\n' "${FAILURES[@]}"
    else
        echo "All checks passed."
    fi
}

# 6. kill -9 of pgcdc during an incremental snapshot, under the mixed workload: the
#    stream's changes checked against the oracle as in 1, and the READ rows and the
#    changes, replayed by primary key, equal to the tables' final contents.
scenario_snapshot() {
    begin_scenario snapshot
    start_server
    # Rows from before the slots, only the snapshot can deliver; enough of them, in small
    # chunks, for the snapshot to outlast the kills.
    PREPARE_SQL="INSERT INTO chaos_a (k, v) SELECT g, md5(g::text) FROM generate_series(1, $SNAP_ROWS) g;
        INSERT INTO chaos_b (qty, note) SELECT g, md5(g::text) FROM generate_series(1, $SNAP_ROWS) g"
    prepare_db
    PREPARE_SQL=
    start_sampler
    start_workload
    local snap=(--snapshot incremental -X snapshot.chunk_rows=50 -X "snapshot.state_file=$DIR/snapshot.state")
    local i delay kills=0 t0
    start_pgcdc "${snap[@]}"
    for i in $(seq 1 "$SNAP_KILLS"); do
        delay=$(rand_s 1000 4000)
        sleep "$delay"
        [ -e "$DIR/snapshot.state" ] || break
        if ! kill -9 "$PGCDC_PID" 2>/dev/null; then
            wait_pgcdc
            check_failed "pgcdc had exited with $PGCDC_RC before kill $i (see $DIR/pgcdc.log)"
            break
        fi
        wait_pgcdc
        wait_slot_inactive
        record_restart kill
        kills=$((kills + 1))
        log "kill $i during the snapshot after ${delay}s"
        start_pgcdc "${snap[@]}"
    done
    t0=$(now)
    while [ -e "$DIR/snapshot.state" ] && [ "$(elapsed "$t0" | cut -d. -f1)" -lt 300 ]; do
        sleep 0.5
    done
    [ ! -e "$DIR/snapshot.state" ] || check_failed "the snapshot did not end within 300 s of the kills"
    [ "$kills" -gt 0 ] || check_failed "the snapshot ended before the first kill (make it longer)"
    sleep 2
    stop_workload
    drain
    dump_oracle
    no_new_slot
    verify_run
    psql_q -F "$(printf '\t')" -c "SELECT 'public.chaos_a', id, row_to_json(t) FROM chaos_a t" \
        -c "SELECT 'public.chaos_b', id, row_to_json(t) FROM chaos_b t" \
        -c "SELECT 'public.chaos_trunc', id, row_to_json(t) FROM chaos_trunc t" >"$DIR/tables.tsv"
    if ! "$REPLAY" --output "$OUT" --dump "$DIR/tables.tsv" \
        --tables public.chaos_a,public.chaos_b,public.chaos_trunc --skip ts \
        >"$DIR/replay.json" 2>"$DIR/replay.log"; then
        sed 's/^/    /' "$DIR/replay.log" >&2
        check_failed "the replay of READ rows and changes differs from the tables"
    fi
    log "replay: $(cat "$DIR/replay.json")"
    add_row "6. kill -9 during an incremental snapshot" "$kills kills"
    NOTES+=("Snapshot: $(sed 's/.*"reads":\([0-9]*\).*"rows":\([0-9]*\).*/\1 READ rows (chunks re-read after kills included); \2 table rows replayed equal/' "$DIR/replay.json") (chaos_a, chaos_b, chaos_trunc; chaos_toast is read but its unchanged TOAST values are not replayed).")
    end_scenario
}
