#!/usr/bin/env bash
# Sensor -> correlator reliability tests with real processes (see CMakeLists.txt here).
#   transport_test.sh TEST CORRELATOR REPLAY KEYGEN     TEST: crash_restart, outage_spool, bad_messages
# Every wait polls with a deadline; every process started here is stopped by its pid on exit.
set -euo pipefail
test_name=$1 correlator=$2 replay=$3 keygen=$4
work=$(mktemp -d "${TMPDIR:-/tmp}/vigil-it-XXXXXX")
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL ($test_name): $*" >&2; exit 1; }
log() { echo "[$test_name] $*"; }

"$keygen" correlator --out "$work/keys" >/dev/null
"$keygen" sensor-1 --out "$work/keys" >/dev/null

cat > "$work/rules.yaml" <<'YAML'
filters:
  scan: {kind: alert, category: "Attempted Information Leak"}
  exploit: {kind: alert, category: "Attempted Administrator Privilege Gain"}
  c2: {kind: alert, signature_id: [2100003]}
correlations:
  - id: scan-then-exploit
    title: Scan followed by an exploit attempt
    type: temporal_ordered
    rules: [scan, exploit]
    group-by: [src_ip]
    timespan: 10s
    severity: 1
    escalate: true
  - id: c2-burst
    title: Repeated C2 beacons
    type: event_count
    rules: [c2]
    group-by: [src_ip]
    timespan: 5s
    condition: {gte: 5}
  - id: fan-out
    title: One source, many destinations
    type: value_count
    rules: [scan]
    group-by: [src_ip]
    timespan: 30s
    condition: {field: dest_ip, gte: 3}
YAML

# make_config NAME: a correlator config with its own socket, data dir and stats file.
make_config() {
  local name=$1
  cat > "$work/$name.yaml" <<YAML
listen: ipc://$work/$name.sock
data_dir: $work/$name-data
server_key_file: keys/correlator.key
stats_file: $work/$name-stats.json
log_level: warn
sensors:
  - id: sensor-1
    public_key_file: keys/sensor-1.pub
    tenant: moh
tenants:
  - name: mof
    networks: [192.168.10.4/30]
rules: [rules.yaml]
aggregation:
  window: 2s
YAML
}

start_correlator() {  # NAME -> sets cpid
  local name=$1
  rm -f "$work/$name-stats.json"
  "$correlator" -c "$work/$name.yaml" 2>>"$work/$name.log" &
  cpid=$!
  pids+=("$cpid")
  wait_for "correlator $name up" 20 test -s "$work/$name-stats.json"
}

stat() {  # NAME KEY
  python3 -c 'import json,sys; print(json.load(open(sys.argv[1])).get(sys.argv[2], 0))' "$work/$1-stats.json" "$2" 2>/dev/null || echo 0
}

wait_for() {  # WHAT SECONDS COMMAND...
  local what=$1 secs=$2; shift 2
  local deadline=$((SECONDS + secs))
  until "$@"; do
    ((SECONDS < deadline)) || fail "timed out after ${secs}s waiting for: $what"
    sleep 0.05
  done
}

stat_at_least() { (( $(stat "$1" "$2") >= $3 )); }

replay() {  # NAME SPOOL ARGS... (foreground)
  local name=$1 spool=$2; shift 2
  "$replay" --endpoint "ipc://$work/$name.sock" --server-key "$work/keys/correlator.pub" \
    --keys "$work/keys/sensor-1.key" --sensor-id sensor-1 --spool "$work/$spool" "$@"
}

query_alerts() {  # NAME -> JSON lines, sorted
  "$correlator" -c "$work/$1.yaml" query alerts --limit 1000000 | sort
}

count_events() {  # NAME
  local n=0 k
  for k in alert flow dns; do
    n=$((n + $("$correlator" -c "$work/$1.yaml" query events --kind "$k" --limit 100000000 | wc -l)))
  done
  echo "$n"
}

stop_correlator() {
  kill -TERM "$cpid"
  wait "$cpid" || true
}

clean_run() {  # N -> alerts in $work/clean.jsonl
  make_config clean
  start_correlator clean
  replay clean spool-clean --events "$1" --batch 200 --drain-timeout 120 > "$work/clean-replay.json" || fail "clean replay did not drain"
  stop_correlator
  query_alerts clean > "$work/clean.jsonl"
  [[ -s "$work/clean.jsonl" ]] || fail "clean run stored no alerts"
  log "clean run: $(wc -l < "$work/clean.jsonl") alerts from $1 events"
}

case "$test_name" in
crash_restart)
  N=20000
  clean_run $N
  make_config crash
  start_correlator crash
  replay crash spool-crash --events $N --rate 4000 --batch 200 --drain-timeout 120 --ack-timeout-ms 500 \
    > "$work/crash-replay.json" &
  rpid=$!
  pids+=("$rpid")
  # Kill while the sender is still sending: after some progress, or skip if it already finished.
  progress_or_done() { stat_at_least crash events_stored $((N / 10)) || ! kill -0 "$rpid" 2>/dev/null; }
  kills=0
  for round in 1 2; do
    wait_for "events stored before kill $round" 60 progress_or_done
    kill -0 "$rpid" 2>/dev/null || break
    kills=$((kills + 1))
    kill -9 "$cpid"
    wait "$cpid" 2>/dev/null || true
    log "killed the correlator with SIGKILL (round $round), restarting"
    start_correlator crash
  done
  ((kills >= 1)) || fail "the sender finished before the correlator could be killed"
  wait "$rpid" || fail "replay did not drain after the restarts: $(cat "$work/crash-replay.json")"
  stop_correlator
  query_alerts crash > "$work/crash.jsonl"
  if ! diff -q "$work/clean.jsonl" "$work/crash.jsonl" >/dev/null; then
    diff "$work/clean.jsonl" "$work/crash.jsonl" | head -5 >&2
    fail "alerts after kill -9 and restart differ from the clean run"
  fi
  events=$(count_events crash)
  [[ "$events" == "$N" ]] || fail "expected $N stored events, found $events"
  log "OK ($kills kills): $(wc -l < "$work/crash.jsonl") alerts identical to the clean run, $events events, replay: $(cat "$work/crash-replay.json")"
  ;;
outage_spool)
  N=8000
  make_config outage
  start_correlator outage
  replay outage spool-outage --events $N --rate 2000 --batch 100 --drain-timeout 120 --ack-timeout-ms 500 \
    > "$work/outage-replay.json" &
  rpid=$!
  pids+=("$rpid")
  wait_for "first events stored" 30 stat_at_least outage events_stored 1000
  stop_correlator
  log "correlator stopped; the sensor must spool"
  spool_bytes() { cat "$work"/spool-outage/seg-*.spool 2>/dev/null | wc -c; }
  before=$(spool_bytes)
  grows() { (( $(spool_bytes) > before + 20000 )); }
  wait_for "spool to grow while the correlator is down" 30 grows
  log "spool grew from $before to $(spool_bytes) bytes while the correlator was down"
  kill -0 "$rpid" || fail "sender exited while the correlator was down"
  start_correlator outage
  wait "$rpid" || fail "spool did not drain: $(cat "$work/outage-replay.json")"
  stop_correlator
  events=$(count_events outage)
  [[ "$events" == "$N" ]] || fail "expected $N stored events after the outage, found $events"
  python3 - "$work/outage-replay.json" <<'PY' || fail "replay stats"
import json, sys
s = json.load(open(sys.argv[1]))
assert s["drained"] and s["spool_depth"] == 0, s
PY
  [[ -z "$(ls "$work"/spool-outage/seg-*.spool 2>/dev/null || true)" ]] || true
  log "OK: $events events stored after the outage; replay: $(cat "$work/outage-replay.json")"
  ;;
bad_messages)
  make_config bad
  start_correlator bad
  replay bad spool-bad --events 500 --batch 50 --drain-timeout 60 >/dev/null || fail "first replay"
  wait_for "stats after first replay" 10 stat_at_least bad events_stored 500
  query_alerts bad > "$work/before.jsonl"
  expect() {  # MODE ACK
    local out
    out=$(replay bad spool-unused --raw "$1" --ack-timeout-ms 1500)
    [[ "$out" == *"\"ack\":\"$2\""* ]] || fail "raw $1: expected ack $2, got $out"
    log "raw $1 -> $2"
  }
  expect garbage rejected
  expect truncated rejected
  expect mismatch rejected
  expect replay duplicate
  expect unknown-key none
  expect plain none
  wait_for "malformed counted" 10 stat_at_least bad batches_malformed 2
  wait_for "mismatch counted" 10 stat_at_least bad batches_sensor_mismatch 1
  wait_for "duplicate counted" 10 stat_at_least bad batches_duplicate 1
  wait_for "unknown key refused and counted" 10 stat_at_least bad auth_refused 1
  wait_for "plain connection counted" 10 stat_at_least bad handshake_failed 1
  query_alerts bad > "$work/after.jsonl"
  diff -q "$work/before.jsonl" "$work/after.jsonl" >/dev/null || fail "bad messages changed the stored alerts"
  # Nothing lost: the sensor carries on where it was.
  replay bad spool-bad --start 500 --events 500 --batch 50 --drain-timeout 60 >/dev/null || fail "second replay"
  stop_correlator
  events=$(count_events bad)
  [[ "$events" == 1000 ]] || fail "expected 1000 stored events, found $events"
  log "OK: bad messages refused and counted ($(cat "$work/bad-stats.json")); 1000 events stored"
  ;;
*)
  fail "unknown test"
  ;;
esac
