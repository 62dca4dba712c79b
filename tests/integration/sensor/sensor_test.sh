#!/usr/bin/env bash
# End-to-end tests of vigil-sensor as a process (see CMakeLists.txt here).
#   sensor_test.sh TEST SENSOR SHARED_DIR
# TEST: workers_conformance, workers_bench, live_capture, live_sigterm_idle, bad_rules, bad_set,
#       bad_yaml, truncated_pcap, random_pcap.
# Hermetic: everything is written under a mktemp -d directory; every wait polls with a deadline;
# every process started here is stopped by its pid on exit. Exit 77 = skipped.
set -euo pipefail
test_name=$1 sensor=$2 shared=$3
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/vigil-sensor-it-XXXXXX")
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL ($test_name): $*" >&2; exit 1; }
skip() { echo "SKIP ($test_name): $*"; exit 77; }
log() { echo "[$test_name] $*"; }
# The system interpreter when there is one: a pyenv shim costs a second per call.
python=$(command -v /usr/bin/python3 || command -v python3 || true)
[[ -n $python ]] || skip "python3 not found"
eve_tool() { "$python" "$here/eve_tool.py" "$@"; }

# Runs the sensor with a deadline; sets $rc. Arguments are passed through.
run_sensor() {
  local secs=$1
  shift
  rc=0
  timeout -s KILL "$secs" "$sensor" "$@" >"$work/out.txt" 2>"$work/err.txt" || rc=$?
  [[ $rc -ne 137 ]] || fail "sensor killed after ${secs}s: $*"
  # A crash (signal) is never an acceptable way to fail.
  [[ $rc -lt 128 ]] || { cat "$work/err.txt" >&2; fail "sensor died with status $rc: $*"; }
}

# Same alerts for --workers 1, 2 and 4: run_workers NAME PCAP RULES ARGS...
run_workers() {
  local name=$1 pcap=$2 rules=$3
  shift 3
  local ref=""
  for w in 1 2 4; do
    local out="$work/$name.w$w"
    run_sensor 30 -r "$pcap" -S "$rules" -l "$out" --workers "$w" "$@"
    [[ $rc -eq 0 ]] || { cat "$work/err.txt" >&2; fail "$name --workers $w exited $rc"; }
    eve_tool alerts "$out/eve.json" "$rules" >"$out.alerts" ||
      fail "$name --workers $w: no stats record at the end of eve.json"
    if [[ -z $ref ]]; then
      ref="$out.alerts"
    elif ! diff -u "$ref" "$out.alerts" >"$work/diff.txt"; then
      head -40 "$work/diff.txt" >&2
      fail "$name: alerts with --workers $w differ from --workers 1"
    fi
  done
  nalerts=$(grep -c . "$ref" || true)
}

# ---------------------------------------------------------------------------------------------
workers_conformance() {
  local manifest="$shared/conformance/manifest.jsonl"
  [[ -f $manifest ]] || skip "no $manifest"
  # One entry per distinct pcap, the first 12 of them (about 15 s on 2 busy cores), and the
  # threshold tests whose by_src state is shared between workers.
  local seen="" n=0 total=0
  while IFS=$'\t' read -r -a f; do
    local name=${f[0]} pcap=${f[1]} rules=${f[2]}
    [[ " $seen " == *" $pcap "* ]] && continue
    seen="$seen $pcap"
    ((n < 12)) || [[ $name == threshold/* ]] || continue
    n=$((n + 1))
    run_workers "c$n" "$shared/conformance/$pcap" "$shared/conformance/$rules" "${f[@]:3}"
    total=$((total + nalerts))
  done < <(eve_tool manifest "$manifest")
  ((n >= 8)) || fail "only $n conformance entries were compared"
  ((total > 0)) || fail "no alert at all in $n conformance runs"
  log "$n pcaps, $total alert lines identical for 1, 2 and 4 workers"
}

workers_bench() {
  local pcap="$shared/pcaps/bench-mix.pcap" rules="$shared/rules/bench-pure.rules"
  [[ -f $pcap && -f $rules ]] || skip "bench-mix.pcap or bench-pure.rules absent"
  run_workers bench "$pcap" "$rules" --set vars.address-groups.HOME_NET=any \
    --set vars.address-groups.EXTERNAL_NET=any
  ((nalerts > 1000)) || fail "only $nalerts alerts on bench-mix (about 1,200 expected)"
  log "$nalerts alerts identical for 1, 2 and 4 workers"
}

# ---------------------------------------------------------------------------------------------
# Live capture on lo: needs root or CAP_NET_RAW.
live_prereq() {
  local capeff
  capeff=$(awk '/^CapEff:/ {print $2}' /proc/self/status)
  if [[ $(id -u) -ne 0 ]] && ! (((0x$capeff >> 13) & 1)); then skip "needs root or CAP_NET_RAW"; fi
  [[ -e /sys/class/net/lo ]] || skip "no loopback interface"
  port=$((20000 + RANDOM % 40000))
  printf 'alert udp any any -> 127.0.0.1 %s (msg:"live probe"; content:"vigil-live-probe"; sid:9100001; rev:1;)\n' \
    "$port" >"$work/live.rules"
  "$sensor" -i lo -S "$work/live.rules" -l "$work/live" --workers 1 -k none udp port "$port" \
    >"$work/live.out" 2>"$work/live.err" &
  spid=$!
  pids+=("$spid")
  local deadline=$((SECONDS + 20))
  until grep -q "reading lo" "$work/live.err"; do
    if ! kill -0 "$spid" 2>/dev/null; then
      wait "$spid" || true
      if grep -qiE "permission|not permitted|PERM" "$work/live.err"; then skip "capture not permitted: $(cat "$work/live.err")"; fi
      cat "$work/live.err" >&2
      fail "sensor exited before capturing"
    fi
    ((SECONDS < deadline)) || fail "sensor did not start capturing within 20 s"
    sleep 0.05
  done
}

send_probes() {
  for i in 1 2 3 4 5; do
    printf 'vigil-live-probe %s' "$i" >"/dev/udp/127.0.0.1/$port" || true
    sleep 0.02
  done
}

# Waits up to $1 seconds for the sensor to exit; sets $stopped.
wait_exit() {
  local deadline=$((SECONDS + $1))
  stopped=0
  while ((SECONDS < deadline)); do
    if ! kill -0 "$spid" 2>/dev/null; then
      stopped=1
      live_rc=0
      wait "$spid" || live_rc=$?
      return
    fi
    sleep 0.05
  done
}

live_capture() {
  live_prereq
  send_probes
  kill -TERM "$spid"
  wait_exit 3
  if ((stopped == 0)); then
    # Known bug (see live_sigterm_idle): an idle capture does not see SIGTERM until the next
    # packet arrives. Wake it up so that the rest of the behaviour is still checked.
    echo "note: sensor still running 3 s after SIGTERM; sending a wake-up datagram" >&2
    printf 'wake' >"/dev/udp/127.0.0.1/$port" || true
    wait_exit 10
    ((stopped == 1)) || fail "sensor did not stop after SIGTERM and a wake-up packet"
  fi
  [[ $live_rc -eq 0 ]] || { cat "$work/live.err" >&2; fail "sensor exited $live_rc after SIGTERM"; }
  eve_tool stats "$work/live/eve.json" || fail "no stats record after SIGTERM"
  local n
  n=$(eve_tool count "$work/live/eve.json" 9100001)
  ((n >= 1)) || { cat "$work/live.err" >&2; fail "no alert for the probe datagrams"; }
  ((n <= 5)) || fail "$n alerts for 5 probe datagrams"
  log "$n alerts for 5 datagrams, stats written"
}

# SIGTERM must stop a live capture that sees no traffic. Registered with WILL_FAIL: Sensor::stop()
# only sets a flag and nothing calls PacketSource::break_loop(), so the reader stays blocked in
# pcap_next_ex (libpcap 1.10 polls without a timeout) until a packet arrives.
live_sigterm_idle() {
  live_prereq
  send_probes
  sleep 0.3  # let the probes be read so that the capture is idle when the signal comes
  kill -TERM "$spid"
  wait_exit 3
  ((stopped == 1)) || fail "sensor still running 3 s after SIGTERM on an idle interface"
  eve_tool stats "$work/live/eve.json" || fail "no stats record after SIGTERM"
}

# ---------------------------------------------------------------------------------------------
pcap_flowbits="$shared/conformance/tests/detect-flowbits/input.pcap"  # one HTTP GET packet

bad_rules() {
  [[ -f $pcap_flowbits ]] || skip "no $pcap_flowbits"
  cat >"$work/mixed.rules" <<'EOF'
# one malformed rule, one good one
alert tcp any any -> any any (msg:"bad"; content:"GET "; nosuchkeyword; sid:9200001;)
alert tcp any any -> any any (msg:"good"; content:"GET "; sid:9200002;)
EOF
  run_sensor 30 -r "$pcap_flowbits" -S "$work/mixed.rules" -l "$work/o" -k none
  [[ $rc -eq 0 ]] || { cat "$work/err.txt" >&2; fail "exit $rc with one good rule left"; }
  grep -q "mixed.rules:2" "$work/err.txt" || { cat "$work/err.txt" >&2; fail "stderr does not name mixed.rules:2"; }
  grep -q "9200001" "$work/err.txt" || fail "stderr does not name sid 9200001"
  grep -q "nosuchkeyword" "$work/err.txt" || fail "stderr does not name the keyword"
  [[ $(eve_tool count "$work/o/eve.json" 9200002) -eq 1 ]] || fail "the good rule did not alert once"
  [[ $(eve_tool count "$work/o/eve.json" 9200001) -eq 0 ]] || fail "the bad rule alerted"
  eve_tool stats "$work/o/eve.json" || fail "no stats record"
  # Only bad rules: a clear error, no run.
  head -2 "$work/mixed.rules" >"$work/allbad.rules"
  run_sensor 30 -r "$pcap_flowbits" -S "$work/allbad.rules" -l "$work/o2" -k none
  [[ $rc -ne 0 ]] || fail "exit 0 with no usable rule"
  grep -q "no rule could be loaded" "$work/err.txt" || { cat "$work/err.txt" >&2; fail "no clear message without rules"; }
}

bad_set() {
  [[ -f $pcap_flowbits ]] || skip "no $pcap_flowbits"
  echo 'alert ip any any -> any any (sid:1;)' >"$work/r.rules"
  run_sensor 30 -r "$pcap_flowbits" -S "$work/r.rules" -l "$work/o" --set stream.midstrem=true
  [[ $rc -ne 0 ]] || fail "a mistyped --set key was accepted"
  grep -q "stream.midstrem" "$work/err.txt" || { cat "$work/err.txt" >&2; fail "message does not name the key"; }
  [[ ! -s "$work/o/eve.json" ]] || fail "eve.json written despite the config error"
  # The correct key works.
  run_sensor 30 -r "$pcap_flowbits" -S "$work/r.rules" -l "$work/o" --set stream.midstream=true
  [[ $rc -eq 0 ]] || { cat "$work/err.txt" >&2; fail "--set stream.midstream=true rejected"; }
}

bad_yaml() {
  [[ -f $pcap_flowbits ]] || skip "no $pcap_flowbits"
  echo 'alert ip any any -> any any (sid:1;)' >"$work/r.rules"
  printf 'stream:\n  midstream: [true\nworkers: 1\n' >"$work/broken.yaml"
  run_sensor 30 -r "$pcap_flowbits" -S "$work/r.rules" -l "$work/o" -c "$work/broken.yaml"
  [[ $rc -ne 0 ]] || fail "a YAML syntax error was accepted"
  grep -q "broken.yaml" "$work/err.txt" || { cat "$work/err.txt" >&2; fail "message does not name the file"; }
  # An unknown key in a well-formed file names the file and the key.
  printf 'stream:\n  midstrem: true\n' >"$work/typo.yaml"
  run_sensor 30 -r "$pcap_flowbits" -S "$work/r.rules" -l "$work/o" -c "$work/typo.yaml"
  [[ $rc -ne 0 ]] || fail "an unknown config key was accepted"
  grep -q "typo.yaml" "$work/err.txt" && grep -q "midstrem" "$work/err.txt" ||
    { cat "$work/err.txt" >&2; fail "message does not name typo.yaml and midstrem"; }
  # A missing file.
  run_sensor 30 -r "$pcap_flowbits" -S "$work/r.rules" -l "$work/o" -c "$work/none.yaml"
  [[ $rc -ne 0 ]] || fail "a missing config file was accepted"
  grep -q "none.yaml" "$work/err.txt" || { cat "$work/err.txt" >&2; fail "message does not name the missing file"; }
}

# A capture cut in the middle of a packet: the packets before the cut are processed, the run
# ends with exit status 1 and a message naming the file, and the stats record is written.
truncated_pcap() {
  local src="$shared/conformance/tests/bug-2769/issue_no_icmp.pcap"
  [[ -f $src ]] || skip "no $src"
  echo 'alert tcp any any -> any any (msg:"http"; content:"HTTP/1."; sid:9300001;)' >"$work/r.rules"
  local size
  size=$(stat -c %s "$src")
  head -c $((size / 2 + 7)) "$src" >"$work/cut.pcap"
  for w in 1 2; do
    run_sensor 30 -r "$work/cut.pcap" -S "$work/r.rules" -l "$work/o$w" -k none --workers "$w"
    [[ $rc -eq 1 ]] || { cat "$work/err.txt" >&2; fail "--workers $w: exit $rc, expected 1 for a truncated file"; }
    grep -q "cut.pcap" "$work/err.txt" && grep -qi "truncated" "$work/err.txt" ||
      { cat "$work/err.txt" >&2; fail "no message naming the truncated file"; }
    eve_tool stats "$work/o$w/eve.json" || fail "--workers $w: no stats record"
    local pk
    pk=$(eve_tool stat "$work/o$w/eve.json" capture.packets)
    ((pk > 0)) || fail "no packet processed before the cut"
  done
  # A header and no packet at all: a valid, empty capture.
  head -c 24 "$src" >"$work/empty.pcap"
  run_sensor 30 -r "$work/empty.pcap" -S "$work/r.rules" -l "$work/o3" -k none
  [[ $rc -eq 0 ]] || { cat "$work/err.txt" >&2; fail "exit $rc for a capture with no packet"; }
  eve_tool stats "$work/o3/eve.json" || fail "no stats record for an empty capture"
}

random_pcap() {
  echo 'alert ip any any -> any any (sid:1;)' >"$work/r.rules"
  # Pseudo-random but reproducible bytes (no /dev/urandom: a failure must be replayable).
  "$python" -c 'import random,sys; r=random.Random(20240601); sys.stdout.buffer.write(bytes(r.randrange(256) for _ in range(65536)))' >"$work/random.pcap"
  run_sensor 30 -r "$work/random.pcap" -S "$work/r.rules" -l "$work/o" -k none
  [[ $rc -ne 0 ]] || fail "random bytes accepted as a capture"
  grep -q "random.pcap" "$work/err.txt" || { cat "$work/err.txt" >&2; fail "message does not name the file"; }
  # A valid pcap header followed by random records: an error naming the file, no crash.
  local src="$shared/conformance/tests/detect-flowbits/input.pcap"
  if [[ -f $src ]]; then
    { head -c 24 "$src"; head -c 4096 "$work/random.pcap"; } >"$work/bodyrandom.pcap"
    for w in 1 2; do
      run_sensor 30 -r "$work/bodyrandom.pcap" -S "$work/r.rules" -l "$work/o$w" -k none --workers "$w"
      [[ $rc -eq 0 || $rc -eq 1 ]] || fail "--workers $w: exit $rc on random records"
      if [[ $rc -eq 1 ]]; then grep -q "bodyrandom.pcap" "$work/err.txt" || fail "error does not name the file"; fi
      eve_tool stats "$work/o$w/eve.json" || fail "--workers $w: no stats record"
    done
  fi
  # Not a file at all.
  run_sensor 30 -r "$work/missing.pcap" -S "$work/r.rules" -l "$work/o4"
  [[ $rc -ne 0 ]] || fail "a missing capture file was accepted"
  grep -q "missing.pcap" "$work/err.txt" || fail "message does not name the missing file"
}

case $test_name in
  workers_conformance | workers_bench | live_capture | live_sigterm_idle | bad_rules | bad_set | \
    bad_yaml | truncated_pcap | random_pcap) "$test_name" ;;
  *) fail "unknown test" ;;
esac
