#!/usr/bin/env bash
# End to end: vigil-sensor replays the demo capture and ships its alerts over CURVE to a real
# vigil-correlator on loopback; the alerts must be in the correlator's RocksDB store, and a
# sensor with an unknown key must be refused. Protocol records (flow/http/dns/tls) are stored
# too, and an alert pivots to the records of its flow.
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

# Protocol records (correlator.records, default flow http dns tls): every one the sensor wrote to
# eve.json is stored once, and "query alert ID" pivots from an alert to the records of its flow.
for kind in flow http dns tls; do
  in_eve=$(grep -c "\"event_type\":\"$kind\"" out-a/eve.json || true)
  in_store=$("$correlator" query -c correlator.yaml events --kind "$kind" --limit 100000 2>/dev/null | grep -c "\"event_type\":\"$kind\"" || true)
  [[ $in_eve -eq $in_store ]] || { echo "FAIL: $kind: $in_eve records in eve.json, $in_store stored"; exit 1; }
  echo "$kind records: $in_store"
done
flows=$("$correlator" query -c correlator.yaml events --kind flow --limit 100000 | wc -l)
[[ $flows -gt 0 ]] || { echo "FAIL: no flow records stored"; exit 1; }
"$correlator" query -c correlator.yaml alerts --limit 100000 > alerts.jsonl
pivots=0
while read -r id; do
  "$correlator" query -c correlator.yaml alert "$id" > one.json
  n=$(python3 - one.json <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
flows = {(e.get("sensor"), e.get("flow_id")) for e in d["events"] if e.get("flow_id")}
recs = d["records"]
# every record belongs to a flow of the alert's events; count app-layer/flow records found
assert all((r.get("sensor"), r.get("flow_id")) in flows for r in recs), "record of another flow"
print(len(recs))
PY
)
  [[ $n -gt 0 ]] && pivots=$((pivots + 1))
done < <(python3 -c "import json,sys; [print(json.loads(l)['id']) for l in open('alerts.jsonl')]")
[[ $pivots -gt 0 ]] || { echo "FAIL: no alert pivots to protocol records of its flow"; exit 1; }
echo "ok: $alerts alerts shipped and stored once; protocol records stored once ($flows flows); $pivots alerts pivot to their flow's records; unknown sensor key refused"
