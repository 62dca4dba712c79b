#!/usr/bin/env bash
# End to end: vigil-sensor replays the demo capture and ships its alerts over CURVE to a real
# vigil-correlator on loopback; the alerts must be in the correlator's RocksDB store, and a
# sensor with an unknown key must be refused.
#   sensor_to_correlator.sh SENSOR CORRELATOR KEYGEN SAMPLE_PCAP_TOOL RULES
set -euo pipefail
sensor=$1 correlator=$2 keygen=$3 make_pcap=$4 rules=$5
work=$(mktemp -d)
[[ -n ${KEEP:-} ]] && echo "work dir: $work"
cpid=""
trap 'if [[ -n $cpid ]]; then kill "$cpid" 2>/dev/null || true; fi; if [[ -z ${KEEP:-} ]]; then rm -rf "$work"; fi' EXIT
cd "$work"
mkdir keys
"$keygen" correlator --out keys >/dev/null
"$keygen" sensor-a --out keys >/dev/null
"$keygen" stranger --out keys >/dev/null
"$make_pcap" sample.pcap >/dev/null
port=$((20000 + RANDOM % 20000))
cat > correlator.yaml <<YAML
listen: tcp://127.0.0.1:$port
data_dir: $work/data
server_key_file: keys/correlator.key
log_level: info
sensors:
  - id: sensor-a
    public_key_file: keys/sensor-a.pub
    tenant: demo
tenants:
  - name: demo
    networks: [10.20.0.0/16]
rules: []
YAML
"$correlator" -c correlator.yaml >correlator.log 2>&1 &
cpid=$!

ship() {  # ship ID KEY OUTDIR
  "$sensor" -r sample.pcap -S "$rules" -l "$3" --workers 1 --correlator "tcp://127.0.0.1:$port" \
    --set correlator.sensor-id="$1" --set correlator.key-file="keys/$2.key" \
    --set correlator.server-public-key-file=keys/correlator.pub >"$3.log" 2>&1
}
stat_of() { tail -n 1 "$1/eve.json" | python3 -c "import json,sys; print(json.load(sys.stdin)['stats']$2)"; }

ship sensor-a sensor-a out-a
alerts=$(stat_of out-a "['detect']['alerts']")
acked=$(stat_of out-a "['shipper']['batches_acked']")
depth=$(stat_of out-a "['shipper']['spool_depth']")
[[ $alerts -gt 0 && $acked -ge 1 && $depth -eq 0 ]] || { echo "FAIL: alerts=$alerts acked=$acked spool_depth=$depth"; cat out-a.log; exit 1; }

# A key the correlator does not list: refused, nothing acknowledged, everything stays spooled.
timeout 60 "$sensor" -r sample.pcap -S "$rules" -l out-s --workers 1 --correlator "tcp://127.0.0.1:$port" \
  --set correlator.sensor-id=stranger --set correlator.key-file=keys/stranger.key \
  --set correlator.server-public-key-file=keys/correlator.pub --set correlator.drain-seconds=2 >out-s.log 2>&1 || true
sacked=$(stat_of out-s "['shipper']['batches_acked']")
sdepth=$(stat_of out-s "['shipper']['spool_depth']")
[[ $sacked -eq 0 && $sdepth -ge 1 ]] || { echo "FAIL: unknown key: acked=$sacked spool_depth=$sdepth"; exit 1; }

kill "$cpid"; wait "$cpid" 2>/dev/null || true
stored=$("$correlator" query -c correlator.yaml events --kind alert 2>/dev/null | grep -c '"signature_id"' || true)
[[ $stored -eq $alerts ]] || { echo "FAIL: sensor raised $alerts alerts, correlator stored $stored alert events"; exit 1; }
grep -q "refused\|unknown" correlator.log || { echo "FAIL: the refusal of the unknown key is not logged"; exit 1; }
echo "ok: $alerts alerts shipped and stored once; unknown sensor key refused"
