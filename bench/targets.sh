# The servers of S1's message-queue and database targets, sourced by bench/sinks.sh
# (and a handler run by --exec, which needs none):
# Redis twice (AOF fsynced every second, Redis's default, and at every write), NATS with JetStream (file storage), RabbitMQ
# (a durable queue, persistent messages, publisher confirms) and a PostgreSQL database
# on the benchmark's own server (audit and apply modes).  Each is started once for S1,
# every repetition writes to a stream, subject, queue or table of its own (so that a
# target's de-duplication of repeated positions does not drop a repetition), and every
# count is read back from the target.

REDIS_PID="" REDIS_PORT="" REDIS2_PID="" REDIS2_PORT="" NATS_PID="" NATS_PORT="" NATS_MON="" AMQP_PID="" AMQP_PORT=""
AMQP_DIR=""
TARGET_DRAINED=(pgcdc_cli_redis pgcdc_cli_redis_always pgcdc_cli_nats pgcdc_cli_amqp pgcdc_cli_pg_audit
    pgcdc_cli_pg_apply pgcdc_cli_exec)

# A port nothing listens on, below the ephemeral range.
target_port() {
    local p
    for _ in $(seq 1 100); do
        p=$((20000 + RANDOM % 10000))
        (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return 0; }
    done
    die "no free port found"
}

# Waits until something listens on port $2 ($1: what, for the message; $3: its pid).
target_wait() {
    for _ in $(seq 1 600); do
        (exec 3<>"/dev/tcp/127.0.0.1/$2") 2>/dev/null && return 0
        kill -0 "$3" 2>/dev/null || die "$1 exited at start (see $RAW)"
        sleep 0.1
    done
    die "$1 never listened on port $2"
}

targets_start() {
    local w=$1
    mkdir -p "$RAW/$w.redis" "$RAW/$w.nats"
    REDIS_PORT=$(target_port)
    redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --dir "$RAW/$w.redis" --save '' \
        --appendonly yes --appendfsync everysec --daemonize no \
        --logfile "$RAW/$w.redis/redis.log" &
    REDIS_PID=$!
    target_wait redis-server "$REDIS_PORT" "$REDIS_PID"
    # The same with every write fsynced before Redis answers it.
    mkdir -p "$RAW/$w.redis-always"
    REDIS2_PORT=$(target_port)
    redis-server --port "$REDIS2_PORT" --bind 127.0.0.1 --dir "$RAW/$w.redis-always" --save '' \
        --appendonly yes --appendfsync always --daemonize no \
        --logfile "$RAW/$w.redis-always/redis.log" &
    REDIS2_PID=$!
    target_wait redis-server "$REDIS2_PORT" "$REDIS2_PID"
    NATS_PORT=$(target_port)
    NATS_MON=$(target_port)
    /usr/sbin/nats-server -js -a 127.0.0.1 -p "$NATS_PORT" -m "$NATS_MON" -sd "$RAW/$w.nats" \
        >"$RAW/$w.nats/nats.log" 2>&1 &
    NATS_PID=$!
    target_wait nats-server "$NATS_PORT" "$NATS_PID"
    amqp_start "$w"
}

# RabbitMQ: a node of its own (its own Erlang port mapper too), in a directory of the run's;
# run as root from /usr/lib/rabbitmq/bin (the wrapper in /usr/sbin switches to the rabbitmq
# user, who cannot write there).  Its schedulers do not spin when idle (by default they
# busy-wait, which took CPU from the other consumers' drains).
amqp_start() {
    local w=$1 epmd
    AMQP_DIR=$RAW/$w.amqp
    mkdir -p "$AMQP_DIR"
    : >"$AMQP_DIR/enabled_plugins"
    AMQP_PORT=$(target_port)
    epmd=$(target_port)
    env HOME="$AMQP_DIR" ERL_EPMD_PORT="$epmd" RABBITMQ_NODENAME="bench-$AMQP_PORT@localhost" \
        RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 RABBITMQ_NODE_PORT="$AMQP_PORT" \
        RABBITMQ_DIST_PORT="$(target_port)" RABBITMQ_MNESIA_BASE="$AMQP_DIR/mnesia" \
        RABBITMQ_LOG_BASE="$AMQP_DIR/log" RABBITMQ_ENABLED_PLUGINS_FILE="$AMQP_DIR/enabled_plugins" \
        RABBITMQ_CONFIG_FILE="$AMQP_DIR/rabbitmq" \
        RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="+sbwt none +sbwtdcpu none +sbwtdio none" \
        /usr/lib/rabbitmq/bin/rabbitmq-server \
        >"$AMQP_DIR/server.out" 2>&1 &
    AMQP_PID=$!
    AMQP_EPMD=$epmd
    target_wait rabbitmq-server "$AMQP_PORT" "$AMQP_PID"
}

amqp_ctl() {
    env HOME="$AMQP_DIR" ERL_EPMD_PORT="$AMQP_EPMD" /usr/lib/rabbitmq/bin/rabbitmqctl \
        -n "bench-$AMQP_PORT@localhost" "$@"
}

# CPU seconds a target's server took so far (with its reaped children's): S1's drains into
# it are all it served.
target_cpu_s() {
    [ -n "$1" ] && [ -r "/proc/$1/stat" ] || { echo null; return 0; }
    sed 's/^.*) //' "/proc/$1/stat" |
        awk -v hz="$(getconf CLK_TCK)" '{ printf "%.2f\n", ($12 + $13 + $14 + $15) / hz }'
}

# The target servers' CPU as JSON fields, for the workload's info.
targets_cpu_info() {
    local beam="" p
    # The broker is the Erlang VM its script started (found by the port in its environment).
    for p in $(pgrep beam.smp || true); do
        tr '\0' '\n' <"/proc/$p/environ" 2>/dev/null | grep -qx "RABBITMQ_NODE_PORT=$AMQP_PORT" &&
            beam=$p
    done
    printf '"redis_server_cpu_s":%s,"redis_always_server_cpu_s":%s,"nats_server_cpu_s":%s,"rabbitmq_server_cpu_s":%s' \
        "$(target_cpu_s "$REDIS_PID")" "$(target_cpu_s "$REDIS2_PID")" "$(target_cpu_s "$NATS_PID")" \
        "$(target_cpu_s "$beam")"
}

targets_stop() {
    local pid
    if [ -n "$AMQP_PID" ]; then
        amqp_ctl stop >/dev/null 2>&1 || kill -TERM "$AMQP_PID" 2>/dev/null || true
        env ERL_EPMD_PORT="$AMQP_EPMD" epmd -kill >/dev/null 2>&1 || true
    fi
    for pid in $REDIS_PID $REDIS2_PID $NATS_PID $AMQP_PID; do
        kill -TERM "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    REDIS_PID="" REDIS2_PID="" NATS_PID="" AMQP_PID=""
    return 0
}

# The CLI's arguments into target $1 for slot $2.
target_args() {
    case $1 in
    pgcdc_cli_redis) TARGET_ARGS=(--sink "redis://127.0.0.1:$REDIS_PORT/bench:$2") ;;
    pgcdc_cli_redis_always) TARGET_ARGS=(--sink "redis://127.0.0.1:$REDIS2_PORT/bench:$2") ;;
    pgcdc_cli_nats)
        TARGET_ARGS=(--sink "nats://127.0.0.1:$NATS_PORT" -X sink.nats.subject_prefix="$2"
            -X sink.nats.stream="$2" -X sink.nats.create_stream=true) ;;
    pgcdc_cli_amqp) TARGET_ARGS=(--sink "amqp://127.0.0.1:$AMQP_PORT" -X sink.amqp.routing_key="$2") ;;
    pgcdc_cli_pg_audit)
        TARGET_ARGS=(--sink "postgresql:///bench_target?host=$PGHOST&port=$PGPORT"
            -X sink.postgresql.mode=audit -X sink.postgresql.table="audit_$2") ;;
    pgcdc_cli_pg_apply)
        TARGET_ARGS=(--sink "postgresql:///bench_target?host=$PGHOST&port=$PGPORT"
            -X sink.postgresql.mode=apply -X sink.postgresql.schema="$2") ;;
    # A handler (--exec) that acknowledges every read at once: the protocol's own cost.
    pgcdc_cli_exec) TARGET_ARGS=(--exec "python3 $BENCH/ack_handler.py $RAW/$2.exec-count") ;;
    esac
}

# Before the drains: what each repetition's target needs (queues, schemas).
targets_prepare() {
    local i
    sql -c "CREATE DATABASE bench_target" >/dev/null
    for i in $(seq 1 "$1"); do
        # A durable queue, which the default exchange routes to by its name.
        amqp-declare-queue -u "amqp://127.0.0.1:$AMQP_PORT" -d -q "s_pgcdc_cli_amqp_$i" >/dev/null
        PGDATABASE=bench_target sql -c "CREATE SCHEMA s_pgcdc_cli_pg_apply_$i" \
            -c "$(sed "s/CREATE TABLE w1/CREATE TABLE s_pgcdc_cli_pg_apply_$i.w1/" "$WL/w1.sql" |
                sed -n '/CREATE TABLE/,/);/p')" >/dev/null
    done
}

# Events held by target $1's repetition $2.
target_count() {
    local slot=s_$1_$2
    case $1 in
    pgcdc_cli_redis) redis-cli -p "$REDIS_PORT" XLEN "bench:$slot" ;;
    pgcdc_cli_redis_always) redis-cli -p "$REDIS2_PORT" XLEN "bench:$slot" ;;
    pgcdc_cli_nats)
        curl -s "http://127.0.0.1:$NATS_MON/jsz?streams=true" |
            python3 -c 'import json,sys; d=json.load(sys.stdin); print(sum(s["state"]["messages"] for a in d.get("account_details",[]) for s in a.get("stream_detail",[]) if s["name"]==sys.argv[1]))' "$slot" ;;
    pgcdc_cli_amqp) amqp_ctl list_queues -q name messages | awk -v q="$slot" '$1 == q { print $2 }' ;;
    pgcdc_cli_pg_audit) PGDATABASE=bench_target sql -c "SELECT count(*) FROM audit_$slot" ;;
    pgcdc_cli_pg_apply) PGDATABASE=bench_target sql -c "SELECT count(*) FROM $slot.w1" ;;
    pgcdc_cli_exec) cat "$RAW/$slot.exec-count" ;;
    esac
}
