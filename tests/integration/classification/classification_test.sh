#!/usr/bin/env bash
# Classification detectors end to end (see CMakeLists.txt here).
#   classification_test.sh SENSOR SAMPLE_PCAP_TOOL PACK [CORRELATOR KEYGEN]
# Replays the demo capture with the shipped pack and checks eve.json: one classification record
# per flow that carries personal data or a stamp (and none for the flow of near misses), masks
# and HMAC-SHA256(key, value) recomputed here, labels on the alerts of those flows, a metadata
# stub for the stamped flow, masked URLs in http records, the same records for 1 and 2 workers,
# nothing when classification is off, and no clear identifier anywhere in eve.json. With a
# correlator and vigil-keygen: the records travel as classification events over CURVE, are stored
# once with their labels, and the store holds no clear identifier either.
# Hermetic: everything under a mktemp -d directory. Exit 77 = skipped.
set -euo pipefail
sensor=$1 make_pcap=$2 pack=$3 correlator=${4:-} keygen=${5:-}
work=$(mktemp -d "${TMPDIR:-/tmp}/vigil-classify-it-XXXXXX")
cpid=""
trap 'if [[ -n $cpid ]]; then kill "$cpid" 2>/dev/null || true; fi; if [[ -z ${KEEP:-} ]]; then rm -rf "$work"; else echo "kept $work"; fi' EXIT
fail() { echo "FAIL (classification): $*" >&2; exit 1; }
python=$(command -v /usr/bin/python3 || command -v python3 || true)
[[ -n $python ]] || { echo "SKIP: python3 not found"; exit 77; }
cd "$work"

"$make_pcap" sample.pcap >/dev/null
od -An -tx1 -N32 /dev/urandom | tr -d ' \n' >tenant.key
# Rules that alert on the flows with findings, on the response (after the detectors saw the
# data): the alerts must carry the flow's labels.
cat >test.rules <<'RULES'
alert http any any -> any any (msg:"registration stored"; flow:established,to_client; http.stat_code; content:"201"; sid:1; rev:1;)
alert http any any -> any any (msg:"report downloaded"; flow:established,to_client; file.data; content:"17/BC"; sid:2; rev:1;)
alert http any any -> any any (msg:"export downloaded"; flow:established,to_client; http.content_type; content:"text/csv"; sid:3; rev:1;)
RULES

run() {  # run OUTDIR WORKERS [extra sensor args]
  local out=$1 workers=$2
  shift 2
  timeout -s KILL 60 "$sensor" -r sample.pcap -S test.rules -l "$out" --workers "$workers" "$@" \
    >"$out.log" 2>&1 || { cat "$out.log" >&2; fail "sensor exited $? ($out)"; }
}
on=(--set classification.enabled=yes --set "classification.pack=$pack" --set "classification.key-file=$work/tenant.key")
mkdir -p w1 w2 off
run w1 1 "${on[@]}"
run w2 2 "${on[@]}"
run off 1

"$python" - "$work" <<'PY'
import hashlib, hmac, json, re, sys
work = sys.argv[1]
key = bytes.fromhex(open(f"{work}/tenant.key").read().strip())
def records(d):
    return [json.loads(l) for l in open(f"{work}/{d}/eve.json")]
def fail(msg):
    print("FAIL (classification):", msg, file=sys.stderr)
    sys.exit(1)
def h(v):
    return hmac.new(key, v.encode(), hashlib.sha256).hexdigest()

w1 = records("w1")
cls = {r["src_port"]: r["classification"] for r in w1 if r["event_type"] == "classification"}
# The demo's classification flows by client port: 51001 form POST, 51002 lookup in the URL,
# 52002 bulk export, 51003 stamped report; 51004 carries only near misses.
if sorted(cls) != [51001, 51002, 51003, 52002]:
    fail(f"classification records for client ports {sorted(cls)}, expected 51001 51002 51003 52002")
def det(c, i):
    for d in c["detectors"]:
        if d["id"] == i:
            return d
    fail(f"no detector {i} in {json.dumps(c)}")
form, lookup, export, report = cls[51001], cls[51002], cls[52002], cls[51003]
want = {(51001, "vn.personal-id"): 1, (51001, "vn.mobile"): 1, (51001, "vn.tax-code"): 1,
        (51002, "vn.personal-id"): 1, (51002, "vn.mobile"): 1,
        (52002, "vn.personal-id"): 12, (52002, "vn.mobile"): 12, (52002, "vn.payment-card"): 4,
        (51003, "vn.stamp.toi-mat"): 1}
for (port, i), n in want.items():
    got = det(cls[port], i)["count"]
    if got != n:
        fail(f"port {port} {i}: count {got}, expected {n}")
for port, c in cls.items():
    n = sum(1 for (p, _) in want if p == port)
    if len(c["detectors"]) != n:
        fail(f"port {port}: detectors {[d['id'] for d in c['detectors']]}")
if (form["pii"], form["secrecy"]) != ("basic", "none"): fail(f"form labels {form['pii']} {form['secrecy']}")
if export["pii"] != "sensitive" or not export["bulk"] or "pii-bulk" not in export["tags"]:
    fail(f"export: pii {export['pii']} bulk {export['bulk']}")
if (report["pii"], report["secrecy"]) != ("none", "suspected-state-secret"): fail("report labels")
# Masks and keyed hashes, recomputed with the tenant key over the normalised value.
for c in (form, lookup, export):
    for d in c["detectors"]:
        for v in d["values"]:
            if "***" not in v["masked"] or not re.fullmatch(r"[0-9a-f]{64}", v["hmac_sha256"]):
                fail(f"bad value entry {v}")
def hashes(c, i):
    return {v["hmac_sha256"]: v["masked"] for v in det(c, i)["values"]}
if hashes(form, "vn.mobile") != {h("0912345678"): "0912***678"}:  # sent as "+84 912 345 678"
    fail(f"form phone {hashes(form, 'vn.mobile')}")
if h("0912345678") not in hashes(export, "vn.mobile"):
    fail("the same phone number in two flows must have the same hash")
if hashes(form, "vn.tax-code") != {h("0100109106"): "0100***106"}: fail("tax code hash")
if h("9704123456789015") not in hashes(export, "vn.payment-card"): fail("card hash (spaces removed)")

# Alerts: labels of their flow; the stamped flow's alert is a stub without the http object.
alerts = {r["alert"]["signature_id"]: r for r in w1 if r["event_type"] == "alert"}
if sorted(alerts) != [1, 2, 3]: fail(f"alerts {sorted(alerts)}")
if alerts[1].get("labels", {}).get("pii") != "basic": fail(f"alert 1 labels {alerts[1].get('labels')}")
if alerts[3].get("labels", {}).get("pii") != "sensitive": fail(f"alert 3 labels {alerts[3].get('labels')}")
if alerts[2].get("labels", {}).get("secrecy") != "suspected-state-secret": fail("alert 2 labels")
if "http" in alerts[2]: fail("the stamped flow's alert carries its http object")
if "http" not in alerts[1]: fail("alert 1 lost its http object")
# The http record of the lookup shows the URL masked.
urls = [r["http"].get("url", "") for r in w1 if r["event_type"] == "http" and r["src_port"] == 51002]
if urls != ["/api/citizens?cccd=0792***321&sdt=0987***321"]: fail(f"lookup url {urls}")
stats = w1[-1]["stats"]["classification"]
if stats["records"] != 4 or stats["redacted"] < 2 or stats["flows_state_secret"] != 1:
    fail(f"stats {stats}")

# Two workers: the same records.
w2 = {r["src_port"]: r["classification"] for r in records("w2") if r["event_type"] == "classification"}
if w2 != cls: fail("classification records differ between 1 and 2 workers")
# Off: no record, no labels.
off = records("off")
if any(r["event_type"] == "classification" or "labels" in r for r in off): fail("classification output while off")
if "classification" in off[-1]["stats"]: fail("classification stats while off")

# No clear value anywhere, in any spelling the capture used.
clear = ["001095012345", "079201004321", "048098765432", "031187001122", "092300555666", "001085123987",
         "079099321654", "056190246810", "036201135791", "027096864209", "001195777888", "038203454545",
         "0912345678", "912 345 678", "0987654321", "0356789012", "0708123456", "0823456789", "0903111222",
         "0934567123", "0398765432", "0775432198", "0867123456", "0945678901", "0889012345",
         "0100109106", "9704 1234 5678 9015", "9704123456789015", "9704-2200-1234-5678", "9704220012345678",
         "9704000000000018", "4111 1111 1111 1111", "4111111111111111"]
for d in ("w1", "w2"):
    text = open(f"{work}/{d}/eve.json").read()
    for v in clear:
        if v in text:
            fail(f"clear value {v} in {d}/eve.json")
print(f"ok: 4 classification records, {sum(want.values())} findings, masks and HMACs only; "
      f"alerts labelled; no clear value in eve.json")
PY

[[ -n $correlator && -n $keygen ]] || exit 0
# Shipping: the classification records go to a real correlator as events and are stored.
mkdir keys
"$keygen" correlator --out keys >/dev/null
"$keygen" sensor-c --out keys >/dev/null
port=$((20000 + RANDOM % 20000))
cat >correlator.yaml <<YAML
listen: tcp://127.0.0.1:$port
data_dir: $work/data
server_key_file: keys/correlator.key
log_level: info
sensors:
  - id: sensor-c
    public_key_file: keys/sensor-c.pub
    tenant: demo
tenants:
  - name: demo
    networks: [10.20.0.0/16]
rules: []
YAML
"$correlator" -c correlator.yaml >correlator.log 2>&1 &
cpid=$!
mkdir -p shipped
run shipped 1 "${on[@]}" --correlator "tcp://127.0.0.1:$port" --set correlator.sensor-id=sensor-c \
  --set correlator.key-file=keys/sensor-c.key --set correlator.server-public-key-file=keys/correlator.pub
kill "$cpid"
wait "$cpid" 2>/dev/null || true
cpid=""
"$correlator" query -c correlator.yaml events --kind classification >stored.jsonl 2>query.log ||
  { cat query.log >&2; fail "vigil-correlator query events --kind classification failed"; }
"$python" - "$work" <<'PY'
import json, sys
work = sys.argv[1]
def fail(msg):
    print("FAIL (classification, shipped):", msg, file=sys.stderr)
    sys.exit(1)
stats = [json.loads(l) for l in open(f"{work}/shipped/eve.json")][-1]["stats"]
sh = stats.get("shipper", {})
if sh.get("batches_rejected", 0) or sh.get("spool_depth", 1) or not sh.get("batches_acked"):
    fail(f"shipper {sh}")
text = open(f"{work}/stored.jsonl").read()
n = text.count('"vn.')
if text.count("suspected-state-secret") < 1 or text.count("sensitive") < 1:
    fail(f"stored classification events lack their labels: {text[:400]}")
for v in ["001095012345", "079201004321", "0912345678", "0987654321", "0100109106", "9704123456789015"]:
    if v in text:
        fail(f"clear value {v} in the correlator's store")
lines = [l for l in text.splitlines() if l.strip()]
if len(lines) != 4:
    fail(f"{len(lines)} classification events stored, expected 4")
print("ok: 4 classification events shipped and stored with labels, masks and hashes only")
PY
