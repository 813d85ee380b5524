#!/usr/bin/env bash
# High availability against real servers: a primary and a hot standby made from a
# low-level backup (scripts/pg-test-server standby), the server from $PGBIN.
#  1. (PostgreSQL 16+) pgcdc decodes on the standby: rows committed on the primary
#     come out of a slot pgcdc creates there; what a standby cannot do is refused
#     in one line.
#  2. (PostgreSQL 17+) pgcdc streams from the primary through a failover slot (the
#     primary with synchronized_standby_slots, the standby with
#     sync_replication_slots); the primary dies (stop -m immediate) after a load,
#     the standby is promoted, and the same pgcdc, whose connection string names
#     both servers (target_session_attrs=read-write), goes on from the synced slot:
#     every row the new primary has is in the output, at least once, and no row it
#     lacks.  A second pgcdc, killed (-9) before the last rows of the primary, is
#     started again on the promoted standby alone and delivers those rows from its
#     synced slot.  A third names both servers without target_session_attrs: a
#     reconnect that finds the standby before its promotion tries again.
#   tests/ha/failover.sh PGCDC STATEDIR
# Exit 77 (skipped, the reason printed) before PostgreSQL 16.  The servers are
# stopped however the script ends.
set -euo pipefail

PGCDC=$1
STATE=$2
SRC=$(cd "$(dirname "$0")/../.." && pwd)
SERVER="$SRC/scripts/pg-test-server"
PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
export PGBIN
if [ -x "$PGBIN/psql" ]; then
    PSQL=$PGBIN/psql
elif [ -x /usr/lib/postgresql/15/bin/psql ]; then
    PSQL=/usr/lib/postgresql/15/bin/psql
else
    PSQL=psql
fi
MAJOR=$("$PGBIN/postgres" --version | sed 's/[^0-9]*\([0-9]*\).*/\1/')
if [ "$MAJOR" -lt 16 ]; then
    echo "SKIPPED: ha.failover: decoding on a standby needs PostgreSQL 16 and failover slots 17; the server is $MAJOR (build with PGCDC_TEST_PGBIN naming a 16 or later, or run make check-failover)"
    exit 77
fi

# Servers a run that was killed left behind go first.
"$SERVER" stop "$STATE/standby" || true
"$SERVER" stop "$STATE/primary" || true
rm -rf "$STATE"
mkdir -p "$STATE/out"
PIDS=()
failed() {
    echo "FAILED: $*" >&2
    exit 1
}
cleanup() {
    local rc=$? p
    for p in ${PIDS[@]+"${PIDS[@]}"}; do kill -9 "$p" 2>/dev/null || true; done
    if [ $rc != 0 ]; then
        for f in "$STATE"/out/*.log; do
            [ -f "$f" ] && { echo "--- $f"; tail -30 "$f"; }
        done
        for s in primary standby; do
            log=$(envvar "$STATE/$s" PGCDC_PGLOG 2>/dev/null || true)
            [ -n "$log" ] && [ -f "$log" ] && { echo "--- $s server log"; tail -30 "$log"; }
        done
    fi
    "$SERVER" stop "$STATE/standby" || true
    "$SERVER" stop "$STATE/primary" || true
    exit $rc
}
trap cleanup EXIT
trap 'exit 1' INT TERM

envvar() {
    sed -n "s/^$2=//p" "$1/env"
}
conninfo() {
    echo "host=$(envvar "$1" PGHOST) port=$(envvar "$1" PGPORT) user=postgres dbname=postgres"
}
q() {
    local c=$1
    shift
    "$PSQL" "$c" -qAtX -v ON_ERROR_STOP=1 "$@"
}
# Waits up to $1 s for the command that follows to succeed.
wait_for() {
    local limit=$1 i
    shift
    for i in $(seq 1 $((limit * 5))); do
        "$@" && return 0
        sleep 0.2
    done
    return 1
}
# Rows first..last inserted into table $2 on $1, in transactions of 50.
load() {
    local c=$1 table=$2 first=$3 last=$4 i
    for ((i = first; i <= last; i += 50)); do
        q "$c" -c "INSERT INTO $table SELECT g, 'row ' || g FROM generate_series($i, $((i + 49 < last ? i + 49 : last))) g"
    done
}
# The ids of table $2's INSERT events in pgcdc's output $1, one a line, in order
# (a last line without its newline is being written, or was cut by a kill: not yet).
ids_all() {
    [ -f "$1" ] || return 0
    python3 -c 'import json, sys
for line in open(sys.argv[1]):
    if not line.endswith("\n"):
        break
    e = json.loads(line)
    if e.get("op") == "INSERT" and e.get("table") == sys.argv[2]:
        print(e["new"]["id"])' "$1" "$2"
}
# The same, each id once, in numeric order.
ids_out() {
    ids_all "$1" "$2" | sort -n -u
}
has_ids() {
    [ "$(ids_out "$1" "$2" | wc -l)" -ge "$3" ]
}
logged() {
    grep -q -- "$2" "$1"
}

# --- the servers
"$SERVER" start "$STATE/primary"
P=$(conninfo "$STATE/primary")
q "$P" -c "SELECT pg_create_physical_replication_slot('ha_standby', true)" >/dev/null
q "$P" -c "CREATE TABLE dec_rows (id int PRIMARY KEY, v text);
           CREATE TABLE fo_rows (id int PRIMARY KEY, v text);
           CREATE PUBLICATION dec_pub FOR TABLE dec_rows"
SYNC=()
[ "$MAJOR" -ge 17 ] && SYNC=(--set sync_replication_slots=on)
"$SERVER" standby "$STATE/standby" "$STATE/primary" --slot ha_standby --name ha_standby \
    --set hot_standby_feedback=on ${SYNC[@]+"${SYNC[@]}"}
S=$(conninfo "$STATE/standby")
# Asks $1 the query $2 and compares the answer with $3 (for wait_for).
answers() {
    [ "$(q "$1" -c "$2" 2>/dev/null)" = "$3" ]
}
wait_for 60 answers "$S" "SELECT status FROM pg_stat_wal_receiver" streaming ||
    failed "the standby does not stream from the primary"
# Commits wait for the standby (so a committed row survives the primary), and from
# 17 a failover slot's changes go out only once the standby has their WAL.
q "$P" -c "ALTER SYSTEM SET synchronous_standby_names = 'ha_standby'"
[ "$MAJOR" -ge 17 ] && q "$P" -c "ALTER SYSTEM SET synchronized_standby_slots = 'ha_standby'"
q "$P" -c "SELECT pg_reload_conf()" >/dev/null

# --- 1. decoding on the standby
out=$STATE/out
"$PGCDC" -d "$S" -S dec_slot -P no_pub -t public.dec_rows -o "$out/x.jsonl" 2>"$out/refused.log" &&
    failed "pgcdc created a publication on a standby"
grep -q "create it on the primary" "$out/refused.log" || failed "no clear error for a publication to create on a standby: $(cat "$out/refused.log")"
"$PGCDC" -d "$S" -S dec_slot -P dec_pub -t public.dec_rows --failover -o "$out/x.jsonl" \
    2>"$out/refused.log" && failed "pgcdc made a failover slot on a standby"
grep -q "cannot be failover slots" "$out/refused.log" || failed "no clear error for --failover on a standby: $(cat "$out/refused.log")"
[ "$(q "$S" -c "SELECT count(*) FROM pg_replication_slots WHERE slot_type = 'logical'")" = 0 ] ||
    failed "a refused start left a slot on the standby"

"$PGCDC" -d "$S" -S dec_slot -P dec_pub -t public.dec_rows -o "$out/dec.jsonl" 2>"$out/dec.log" &
DEC=$!
PIDS+=("$DEC")
# Creating the slot on the standby waits for a running-transactions record from
# the primary: ask the primary for one now and then instead of waiting for its own.
standby_slot_ready() {
    q "$P" -c "SELECT pg_log_standby_snapshot()" >/dev/null
    logged "$out/dec.log" "streaming from slot"
}
wait_for 90 standby_slot_ready || failed "pgcdc did not start streaming on the standby"
logged "$out/dec.log" "the server is a standby" || failed "pgcdc did not say it decodes on a standby"
load "$P" dec_rows 1 500
wait_for 60 has_ids "$out/dec.jsonl" dec_rows 500 || failed "pgcdc on the standby delivered $(ids_out "$out/dec.jsonl" dec_rows | wc -l) of 500 rows"
kill -TERM "$DEC"
wait "$DEC" || failed "pgcdc on the standby exited with $? on SIGTERM"
[ "$(ids_out "$out/dec.jsonl" dec_rows | tr '\n' ' ')" = "$(seq 1 500 | tr '\n' ' ')" ] ||
    failed "pgcdc on the standby delivered other rows than 1..500"
q "$S" -c "SELECT pg_drop_replication_slot('dec_slot')" >/dev/null
echo "ha.failover: decoding on the standby: 500 of 500 rows committed on the primary"

if [ "$MAJOR" -lt 17 ]; then
    "$PGCDC" -d "$P" -S fo_slot -P dec_pub -t public.dec_rows --failover --create-slot \
        2>"$out/refused.log" && failed "pgcdc made a failover slot on PostgreSQL $MAJOR"
    grep -q "failover slots need PostgreSQL 17" "$out/refused.log" ||
        failed "no clear error for --failover on PostgreSQL $MAJOR: $(cat "$out/refused.log")"
    echo "SKIPPED: ha.failover: the switch to a promoted standby needs failover slots, PostgreSQL 17 or later; the server is $MAJOR"
    exit 0
fi

# --- 2. the switch to a promoted standby
# A slot made without failover becomes one with --failover.
"$PGCDC" -d "$P" -S fo_alter -P dec_pub -t public.dec_rows --no-failover --create-slot 2>"$out/alter.log"
[ "$(q "$P" -c "SELECT failover FROM pg_replication_slots WHERE slot_name = 'fo_alter'")" = f ] ||
    failed "--no-failover made a failover slot"
"$PGCDC" -d "$P" -S fo_alter -P dec_pub -t public.dec_rows --failover --create-slot --if-not-exists \
    2>>"$out/alter.log"
[ "$(q "$P" -c "SELECT failover FROM pg_replication_slots WHERE slot_name = 'fo_alter'")" = t ] ||
    failed "--failover did not make the existing slot a failover slot"
q "$P" -c "SELECT pg_drop_replication_slot('fo_alter')" >/dev/null
BOTH="host=$(envvar "$STATE/primary" PGHOST),$(envvar "$STATE/standby" PGHOST)"
BOTH="$BOTH port=$(envvar "$STATE/primary" PGPORT),$(envvar "$STATE/standby" PGPORT)"
BOTH="$BOTH user=postgres dbname=postgres target_session_attrs=read-write"
"$PGCDC" -d "$BOTH" -S fo_slot -P fo_pub -t public.fo_rows -o "$out/fo.jsonl" \
    -X reconnect.max_backoff=1s 2>"$out/fo.log" &
FO=$!
PIDS+=("$FO")
wait_for 60 logged "$out/fo.log" "streaming from slot" || failed "pgcdc did not start streaming on the primary"
# The third one: both servers, in any role.
"$PGCDC" -d "${BOTH% target_session_attrs=*}" -S fo_slot3 -P fo_pub -t public.fo_rows \
    -o "$out/fo3.jsonl" -X reconnect.max_backoff=1s 2>"$out/fo3.log" &
FO3=$!
PIDS+=("$FO3")
wait_for 60 logged "$out/fo3.log" "streaming from slot" || failed "the third pgcdc did not start streaming"
# The second one, on the primary alone.
"$PGCDC" -d "$P" -S fo_slot2 -P fo_pub -t public.fo_rows -o "$out/fo2.jsonl" 2>"$out/fo2.log" &
FO2=$!
PIDS+=("$FO2")
wait_for 60 logged "$out/fo2.log" "streaming from slot" || failed "the second pgcdc did not start streaming"
[ "$(q "$P" -c "SELECT failover FROM pg_replication_slots WHERE slot_name = 'fo_slot'")" = t ] ||
    failed "pgcdc did not create a failover slot on PostgreSQL $MAJOR"
load "$P" fo_rows 1 1000
wait_for 60 has_ids "$out/fo.jsonl" fo_rows 1000 || failed "pgcdc delivered $(ids_out "$out/fo.jsonl" fo_rows | wc -l) of the first 1000 rows"
wait_for 60 has_ids "$out/fo2.jsonl" fo_rows 1000 || failed "the second pgcdc delivered $(ids_out "$out/fo2.jsonl" fo_rows | wc -l) of the first 1000 rows"
# The standby's copies of the slots, made by its slot sync worker, last past a
# promotion once they are no longer temporary.
synced() {
    [ "$(q "$S" -c "SELECT count(*) FROM pg_replication_slots WHERE slot_name IN ('fo_slot', 'fo_slot2', 'fo_slot3') AND synced AND NOT temporary")" = 3 ]
}
wait_for 120 synced || failed "the standby did not synchronise the failover slots"
# The copy serves only after the promotion: pgcdc says so on the standby.
"$PGCDC" -d "$S" -S fo_slot -P fo_pub -t public.fo_rows -o "$out/x.jsonl" 2>"$out/refused.log" &&
    failed "pgcdc streamed from a synced slot on a standby"
grep -q "kept in sync from the primary" "$out/refused.log" ||
    failed "no clear error for a synced slot on a standby: $(cat "$out/refused.log")"
kill -9 "$FO2"
wait "$FO2" 2>/dev/null || true
load "$P" fo_rows 1001 2000
"$SERVER" crash "$STATE/primary"
echo "ha.failover: primary stopped (immediate) after 2000 rows; $(ids_out "$out/fo.jsonl" fo_rows | wc -l) delivered from it"
"$SERVER" promote "$STATE/standby"
wait_for 60 answers "$S" "SELECT pg_is_in_recovery()" f || failed "the standby was not promoted"
load "$S" fo_rows 2001 2500
# The second pgcdc again, on the new primary alone, appending to its file (it drops
# a line the kill cut): rows 1001 on are only in its synced slot.
before=$(wc -l <"$out/fo2.jsonl")
"$PGCDC" -d "$S" -S fo_slot2 -P fo_pub -t public.fo_rows -o "$out/fo2.jsonl" 2>"$out/fo2b.log" &
FO2=$!
PIDS+=("$FO2")
wait_for 120 has_ids "$out/fo.jsonl" fo_rows 2500 || failed "after the switch pgcdc delivered $(ids_out "$out/fo.jsonl" fo_rows | wc -l) of 2500 rows"
logged "$out/fo.log" "reconnected to slot" || failed "pgcdc did not say it reconnected"
kill -TERM "$FO"
wait "$FO" || failed "pgcdc exited with $? on SIGTERM after the switch"
wait_for 120 has_ids "$out/fo3.jsonl" fo_rows 2500 || failed "after the switch the third pgcdc delivered $(ids_out "$out/fo3.jsonl" fo_rows | wc -l) of 2500 rows"
kill -TERM "$FO3"
wait "$FO3" || failed "the third pgcdc exited with $? on SIGTERM after the switch"
echo "ha.failover: the third pgcdc found the standby before its promotion $(grep -c "a copy that the standby keeps" "$out/fo3.log" || true) times, and went on after it"
# Every row the new primary has, and nothing else (no row was ahead of the standby).
q "$S" -c "SELECT id FROM fo_rows ORDER BY id" >"$out/fo.table"
ids_out "$out/fo.jsonl" fo_rows >"$out/fo.ids"
ids_out "$out/fo3.jsonl" fo_rows >"$out/fo3.ids"
[ "$(wc -l <"$out/fo.table")" = 2500 ] || failed "the new primary has $(wc -l <"$out/fo.table") rows, not 2500"
diff -q "$out/fo.table" "$out/fo.ids" >/dev/null ||
    failed "the output's rows differ from the new primary's: $(diff "$out/fo.table" "$out/fo.ids" | sed -n 1,5p)"
diff -q "$out/fo.table" "$out/fo3.ids" >/dev/null ||
    failed "the third pgcdc's rows differ from the new primary's: $(diff "$out/fo.table" "$out/fo3.ids" | sed -n 1,5p)"
wait_for 120 has_ids "$out/fo2.jsonl" fo_rows 2500 || failed "the second pgcdc, started again on the new primary, has $(ids_out "$out/fo2.jsonl" fo_rows | wc -l) of 2500 rows"
kill -TERM "$FO2"
wait "$FO2" || failed "the second pgcdc exited with $? on SIGTERM"
ids_out "$out/fo2.jsonl" fo_rows >"$out/fo2.ids"
tail -n +$((before + 1)) "$out/fo2.jsonl" >"$out/fo2b.jsonl"
diff -q "$out/fo.table" "$out/fo2.ids" >/dev/null ||
    failed "the second pgcdc's rows differ from the new primary's: $(diff "$out/fo.table" "$out/fo2.ids" | sed -n 1,5p)"
first=$(ids_out "$out/fo2b.jsonl" fo_rows | sed -n 1p)
if [ -z "$first" ] || [ "$first" -gt 1001 ]; then
    failed "the second pgcdc's run on the new primary began after row 1001 (at ${first:-none})"
fi
echo "ha.failover: restarted on the new primary: rows $first to 2500 from the synced slot, 2500 of 2500 in all"
events=$(ids_all "$out/fo.jsonl" fo_rows | wc -l)
echo "ha.failover: after the switch: 2500 of 2500 rows, $((events - 2500)) delivered twice (sent again from the synced slot's position)"
