#!/usr/bin/env bash
# The agency feeds end to end through a running vigil-correlator (standalone mode: the console and
# `feeds:` in-process), fed by vigil-sensor replaying the demo capture over CURVE. Two modes:
#
#  push    agency-mof and agency-hanoi subscribe to the live push (vigil-feeds subscribe, their
#          CURVE keys listed in feeds.yaml push.subscribers); a stranger's key is refused (ZAP,
#          logged and counted). The analyst closes two alerts true-positive through the console
#          API: the ping sweep from 198.51.100.23 at a workstation (internal) and the sqlmap attack
#          from 203.0.113.66 on the portal (confidential, sys_level 3). Both agencies receive the
#          198.51.100.23 indicator on the push as a self-contained STIX 2.1 bundle (the TLP:GREEN
#          marking definition, the SOC identity as source, the indicator; validate_stix.py); the
#          confidential indicator and the AMBER+STRICT sighting that names the victim agency go out
#          on no push; the stranger receives nothing. Over TAXII: the sighting is in agency-mof's
#          AMBER+STRICT collection and that collection does not exist for agency-hanoi.
#  upload  agency-mof POSTs a STIX bundle that fails validation to its submissions collection:
#          422 naming the reasons, and nothing changes (intel lists byte-identical, no reload, no
#          record). Then a good bundle (198.51.100.80 and www.example.com, which the capture only
#          visits harmlessly): 202, the intel lists are rewritten and the running correlator
#          reloads them (same process, "reloaded ... 2 intel entries"). A second sensor replays
#          the capture again: the correlator raises alerts enriched with the agency's indicators,
#          tagged ip:agency-bo-tai-chinh / domain:agency-bo-tai-chinh — seen through the console
#          API and through `vigil-correlator query`.
#
#   live_feeds_test.sh MODE CORRELATOR SENSOR KEYGEN MAKE_PCAP VIGIL_FEEDS RULES POLICY VALIDATE_STIX
set -euo pipefail
MODE=$1
[[ $# == 9 ]] || { echo "usage: $0 MODE CORRELATOR SENSOR KEYGEN MAKE_PCAP VIGIL_FEEDS RULES POLICY VALIDATE_STIX" >&2; exit 2; }
mapfile -t ARGS < <(realpath -e "${@:2}")  # absolute: the test runs in its work dir
CORR=${ARGS[0]} SENSOR=${ARGS[1]} KEYGEN=${ARGS[2]} MAKE_PCAP=${ARGS[3]} FEEDS=${ARGS[4]} RULES=${ARGS[5]} POLICY=${ARGS[6]} VALIDATE=${ARGS[7]}
WORK=$(mktemp -d /tmp/vigil-live-feeds-it.XXXXXX)
PID=
SUBS=()
cleanup() {
  local p
  for p in "${SUBS[@]}"; do kill "$p" 2>/dev/null || true; done
  if [[ -n $PID ]]; then kill "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; fi
  if [[ -n ${KEEP:-} ]]; then echo "work dir: $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
fail() { echo "FAIL ($MODE): $*" >&2; [[ -f $WORK/correlator.log ]] && tail -20 "$WORK/correlator.log" >&2; exit 1; }
cd "$WORK"

# ---- the policy: the demo policy, API tokens for agency-mof, a second agency (Hanoi) ----------
MOF_TOKEN=mof-$RANDOM$RANDOM$RANDOM
HANOI_TOKEN=hanoi-$RANDOM$RANDOM$RANDOM
sha() { printf '%s' "$1" | sha256sum | cut -d' ' -f1; }
python3 - "$POLICY" policy.yaml "$(sha "$MOF_TOKEN")" "$(sha "$HANOI_TOKEN")" <<'PY'
import sys
src, dst, mof, hanoi = sys.argv[1:]
out, in_mof, mof_hash = [], False, None
for line in open(src):
    s = line.strip()
    if s.startswith("- name:"):
        in_mof = s == "- name: agency-mof"
    if in_mof and s.startswith("api_tokens:"):
        continue
    if s.startswith("retention:"):
        out.append("  - name: agency-hanoi\n    tenant: tinh-hanoi\n    scope: [tinh-hanoi]\n    role: agency\n"
                   "    clearance: confidential\n    password_hash: %s\n    api_tokens: [\"%s\"]\n\n" % (mof_hash, hanoi))
    out.append(line)
    if in_mof and s.startswith("password_hash:"):
        mof_hash = s.split(":", 1)[1].strip()
        out.append(line[: len(line) - len(line.lstrip())] + 'api_tokens: ["%s"]\n' % mof)
open(dst, "w").writelines(out)
PY
grep -q "$(sha "$HANOI_TOKEN")" policy.yaml && grep -q "$(sha "$MOF_TOKEN")" policy.yaml || fail "could not add the agencies' tokens"

# ---- keys, configs --------------------------------------------------------------------------
mkdir keys intel
for k in correlator sensor-1 sensor-2 feeds agency-mof agency-hanoi stranger; do "$KEYGEN" "$k" --out keys >/dev/null; done
pubkey() { sed -n 's/^public: //p' "keys/$1.pub"; }
for ext in ip domain hash; do echo "# agency-bo-tai-chinh submissions (none yet)" > "intel/agency-bo-tai-chinh.$ext"; done
"$MAKE_PCAP" sample.pcap >/dev/null
PORT=$((20000 + RANDOM % 20000))
PUSH_PORT=$((PORT + 1))
cat > feeds.yaml <<YAML
soc_name: Vigil national SOC
submissions:
  intel_dir: $WORK/intel
push:
  endpoint: tcp://127.0.0.1:$PUSH_PORT
  key_file: $WORK/keys/feeds.key
  subscribers:
    - {user: agency-mof, public_key: "$(pubkey agency-mof)"}
    - {user: agency-hanoi, public_key: "$(pubkey agency-hanoi)"}
tenant_names:
  bo-tai-chinh: Ministry of Finance
  tinh-hanoi: Hanoi People's Committee
sync_interval_sec: 3600
YAML
cat > console.yaml <<YAML
listen: 127.0.0.1:0
policy: policy.yaml
feeds: feeds.yaml
YAML
cat > correlator.yaml <<YAML
listen: tcp://127.0.0.1:$PORT
data_dir: $WORK/data
server_key_file: keys/correlator.key
stats_file: $WORK/stats.json
log_level: info
policy: policy.yaml
console: console.yaml
sensors:
  - {id: sensor-1, public_key_file: keys/sensor-1.pub, tenant: bo-tai-chinh}
  - {id: sensor-2, public_key_file: keys/sensor-2.pub, tenant: bo-tai-chinh}
intel:
  ip_files: [intel/agency-bo-tai-chinh.ip]
  domain_files: [intel/agency-bo-tai-chinh.domain]
  hash_files: [intel/agency-bo-tai-chinh.hash]
commit:
  sync: false
YAML

"$CORR" -c correlator.yaml >correlator.log 2>&1 &
PID=$!
URL=
for _ in $(seq 1 150); do
  kill -0 "$PID" 2>/dev/null || fail "vigil-correlator exited"
  URL=$(grep -o 'console listening on http://[0-9.:]*' correlator.log | head -1 | sed 's/console listening on //') || true
  [[ -n $URL ]] && break
  sleep 0.1
done
[[ -n $URL ]] || fail "the console did not start"
grep -q "feeds push on tcp://127.0.0.1:$PUSH_PORT" correlator.log || fail "the push feed is not bound"

TAXII='application/taxii+json;version=2.1'
# taxii TOKEN PATH OUT -> the HTTP status
taxii() { curl -sS -o "$3" -w '%{http_code}' -H "Accept: $TAXII" -H "Authorization: Bearer $1" "$URL$2"; }
# post TOKEN PATH BODYFILE OUT -> the HTTP status
post() { curl -sS -o "$4" -w '%{http_code}' -H "Accept: $TAXII" -H "Content-Type: $TAXII" -H "Authorization: Bearer $1" --data-binary "@$3" "$URL$2"; }
py() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print($2)" "$1"; }
collection() {  # TOKEN TITLE-PREFIX -> id
  taxii "$1" /feeds/collections/ cols.json >/dev/null
  py cols.json "[c['id'] for c in d['collections'] if c['title'].startswith('$2')][0]"
}
replay() {  # SENSOR-ID
  "$SENSOR" -r sample.pcap -S "$RULES" -l "out-$1" --workers 1 --correlator "tcp://127.0.0.1:$PORT" \
    --set correlator.sensor-id="$1" --set correlator.key-file="keys/$1.key" \
    --set correlator.server-public-key-file=keys/correlator.pub >"sensor-$1.log" 2>&1 || fail "sensor $1: $(tail -5 "sensor-$1.log")"
}
login() {  # USER JAR
  curl -sS -c "$2" -o /dev/null -H 'Content-Type: application/json' -d "{\"user\":\"$1\",\"password\":\"vigil-demo\"}" "$URL/api/v1/login"
}
wait_log() {  # [-F] PATTERN WHAT
  local f=()
  if [[ $1 == -F ]]; then f=(-F); shift; fi
  for _ in $(seq 1 100); do grep -q "${f[@]}" -- "$1" correlator.log && return 0; sleep 0.1; done
  fail "$2 (no '$1' in the log)"
}

replay sensor-1
login analyst analyst.jar
# The sensor exits once the correlator acknowledged every batch; the alerts follow on the
# pipeline thread: wait for the two this test works with (the ping sweep, the sqlmap attack).
for _ in $(seq 1 100); do
  curl -sS -b analyst.jar "$URL/api/v1/alerts?limit=500" > alerts1.json
  [[ $(py alerts1.json 'len([a for a in d["alerts"] if a["signature_id"] in (9000001, 9000005)])') == 2 ]] && break
  sleep 0.1
done
[[ $(py alerts1.json 'len([a for a in d["alerts"] if a["signature_id"] in (9000001, 9000005)])') == 2 ]] ||
  fail "the replay did not raise the ping-sweep and sqlmap alerts: $(py alerts1.json '[a["signature_id"] for a in d["alerts"]]')"

if [[ $MODE == push ]]; then
  # ---- subscribers: two listed agencies and a stranger ----------------------------------------
  for who in agency-mof agency-hanoi stranger; do
    "$FEEDS" subscribe --endpoint "tcp://127.0.0.1:$PUSH_PORT" --server-key keys/feeds.pub --key "keys/$who.key" \
      --timeout 60 > "push-$who.jsonl" 2> "push-$who.err" &
    SUBS+=($!)
  done
  wait_log "agency agency-mof authenticated" "agency-mof's key was not accepted"
  wait_log "agency agency-hanoi authenticated" "agency-hanoi's key was not accepted"
  wait_log -F "refused unknown agency key $(pubkey stranger)" "the stranger's key was not refused"
  wait_log "push feed: [0-9]* connections refused" "the refusal was not counted"
  # PUB/SUB: the subscription travels right after the handshake; give it a moment to land.
  sleep 0.5

  # ---- the analyst confirms two alerts --------------------------------------------------------
  ids=$(py alerts1.json '" ".join(a["id"] for a in d["alerts"] if (a["signature_id"] == 9000001 and a["flow"]["src_ip"] == "198.51.100.23") or (a["signature_id"] == 9000005 and a["flow"]["src_ip"] == "203.0.113.66"))')
  [[ $(wc -w <<<"$ids") == 2 ]] || fail "expected the ping-sweep and sqlmap alerts, found: $ids"
  py alerts1.json '"\n".join(a["signature_id"].__str__() + " " + a["level"] for a in d["alerts"] if a["signature_id"] in (9000001, 9000005))' > levels.txt
  grep -q '^9000001 internal$' levels.txt && grep -q '^9000005 confidential$' levels.txt || fail "unexpected alert levels: $(cat levels.txt)"
  idlist=$(printf '"%s",' $ids)
  code=$(curl -sS -o close.json -w '%{http_code}' -b analyst.jar -H 'X-Vigil-Request: 1' -H 'Content-Type: application/json' \
    -d "{\"action\":\"close\",\"verdict\":\"true-positive\",\"ids\":[${idlist%,}]}" "$URL/api/v1/alerts/actions")
  [[ $code == 200 ]] || fail "closing answered $code: $(cat close.json)"
  [[ $(py close.json 'len(d["updated"])') == 2 ]] || fail "not both closed: $(cat close.json)"

  # ---- what the push delivered ----------------------------------------------------------------
  for who in agency-mof agency-hanoi; do
    for _ in $(seq 1 100); do grep -q "198.51.100.23" "push-$who.jsonl" && break; sleep 0.1; done
    grep -q "198.51.100.23" "push-$who.jsonl" || fail "$who did not receive the 198.51.100.23 indicator on the push: $(cat "push-$who.err")"
  done
  sleep 1  # anything else published with it has arrived by now
  for p in "${SUBS[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  SUBS=()
  MOF_GREEN=$(collection "$MOF_TOKEN" TLP:GREEN)
  MOF_AMBER=$(collection "$MOF_TOKEN" TLP:AMBER+STRICT)
  for who in agency-mof agency-hanoi; do
    python3 - "push-$who.jsonl" "$MOF_GREEN" "$who" <<'PY' || fail "push content for $who"
import json, sys
path, green, who = sys.argv[1:]
lines = [json.loads(l) for l in open(path) if l.strip()]
bad = []
for i, l in enumerate(lines):
    if l["topic"] != green: bad.append(f"message {i} on topic {l['topic']}, not the TLP:GREEN collection")
    objs = l["bundle"]["objects"]
    types = sorted(o["type"] for o in objs)
    if [t for t in types if t != "marking-definition"] != ["identity", "indicator"]: bad.append(f"message {i}: objects {types}")
    ind = [o for o in objs if o["type"] == "indicator"][0]
    ident = [o for o in objs if o["type"] == "identity"][0]
    marks = {o["id"]: o for o in objs if o["type"] == "marking-definition"}
    m = [marks.get(r, {}).get("name") for r in ind["object_marking_refs"]]
    if m != ["TLP:GREEN"]: bad.append(f"message {i}: indicator marked {m}")
    if ind["created_by_ref"] != ident["id"] or ident["name"] != "Vigil national SOC": bad.append(f"message {i}: source {ident.get('name')}")
    # As a TAXII envelope for validate_stix.py: every reference must resolve inside the bundle.
    json.dump({"more": False, "objects": objs}, open(f"{path}.{i}.json", "w"))
text = open(path).read()
if "203.0.113.66" in text: bad.append("the confidential indicator 203.0.113.66 was pushed")
if "sighting" in text: bad.append("a sighting was pushed")
if not any("[ipv4-addr:value = '198.51.100.23']" in json.dumps(l) for l in lines): bad.append("no 198.51.100.23 pattern")
print(f"{who}: {len(lines)} push messages")
if bad:
    print("\n".join(bad)); sys.exit(1)
PY
    python3 "$VALIDATE" --expect-tlp indicator=green --forbid bo-tai-chinh --forbid 10.20.1.10 "push-$who.jsonl".*.json \
      || fail "the pushed STIX of $who does not validate"
  done
  [[ ! -s push-stranger.jsonl ]] || fail "the stranger received: $(head -c 300 push-stranger.jsonl)"

  # ---- the same over TAXII: GREEN for both, the sighting only in agency-mof's AMBER+STRICT -------
  [[ $(taxii "$HANOI_TOKEN" "/feeds/collections/$MOF_GREEN/objects/" hanoi-green.json) == 200 ]] || fail "hanoi GREEN"
  grep -q "198.51.100.23" hanoi-green.json || fail "198.51.100.23 not in GREEN over TAXII"
  grep -q "203.0.113.66" hanoi-green.json && fail "the confidential indicator is in GREEN"
  [[ $(taxii "$MOF_TOKEN" "/feeds/collections/$MOF_AMBER/objects/" mof-amber.json) == 200 ]] || fail "mof AMBER+STRICT"
  [[ $(py mof-amber.json 'len([o for o in d["objects"] if o["type"] == "sighting"])') -ge 1 ]] || fail "no sighting in agency-mof's AMBER+STRICT collection"
  [[ $(taxii "$HANOI_TOKEN" "/feeds/collections/$MOF_AMBER/objects/" hanoi-amber.json) == 404 ]] || fail "agency-hanoi reads agency-mof's AMBER+STRICT collection"
  refused=$(grep -o 'push feed: [0-9]* connections refused' correlator.log | tail -1 | grep -o '[0-9]*')
  echo "ok: push to 2 agencies (TLP:GREEN, self-contained STIX), confidential indicator and sighting withheld, stranger refused ($refused refusals counted)"
  exit 0
fi

# ---- upload ---------------------------------------------------------------------------------
[[ $MODE == upload ]] || fail "unknown mode $MODE"
curl -sS -b analyst.jar "$URL/api/v1/alerts?ip=198.51.100.80&limit=500" > before.json
[[ $(py before.json 'len(d["alerts"])') == 0 ]] || fail "198.51.100.80 already alerts before the upload"
SUB=$(collection "$MOF_TOKEN" "Indicators submitted")
MOF_GREEN=$(collection "$MOF_TOKEN" TLP:GREEN)
indicator() {  # UUID PATTERN
  printf '{"type":"indicator","spec_version":"2.1","id":"indicator--%s","created":"2026-11-20T08:00:00.000Z","modified":"2026-11-20T08:00:00.000Z","name":"MoF watch list","pattern":"%s","pattern_type":"stix","valid_from":"2026-11-20T08:00:00Z"}' "$1" "$2"
}
printf '{"type":"bundle","id":"bundle--0d8f6b0a-4a55-4c1e-9e43-3c1f3f6a2a01","objects":[%s,%s,%s]}' \
  "$(indicator 6f1c2e0a-7b1e-4c53-9a51-1a2b3c4d5e01 "[ipv4-addr:value = '198.51.100.80'] OR [ipv4-addr:value = '198.51.100.81']")" \
  "$(indicator 6f1c2e0a-7b1e-4c53-9a51-1a2b3c4d5e02 "[ipv4-addr:value = '198.51.100.300']")" \
  '{"type":"malware","spec_version":"2.1","id":"malware--6f1c2e0a-7b1e-4c53-9a51-1a2b3c4d5e03","created":"2026-11-20T08:00:00.000Z","modified":"2026-11-20T08:00:00.000Z"}' > bad.json
printf '{"type":"bundle","id":"bundle--0d8f6b0a-4a55-4c1e-9e43-3c1f3f6a2a02","objects":[%s,%s]}' \
  "$(indicator 6f1c2e0a-7b1e-4c53-9a51-1a2b3c4d5e11 "[ipv4-addr:value = '198.51.100.80']")" \
  "$(indicator 6f1c2e0a-7b1e-4c53-9a51-1a2b3c4d5e12 "[domain-name:value = 'www.example.com']")" > good.json

sha256sum intel/* > intel.before
reloads() { grep -c "reloaded .* intel entries" correlator.log || true; }
[[ $(reloads) == 0 ]] || fail "reloaded before any upload"

# Refusals: a bundle of which nothing validates; writing into GREEN; another agency's collection.
code=$(post "$MOF_TOKEN" "/feeds/collections/$SUB/objects/" bad.json bad.out)
[[ $code == 422 ]] || fail "the invalid bundle answered $code: $(cat bad.out)"
for why in "OR" "198.51.100.300" "only indicator objects are accepted"; do
  grep -qF "$why" bad.out || fail "the refusal does not name '$why': $(cat bad.out)"
done
[[ $(post "$MOF_TOKEN" "/feeds/collections/$MOF_GREEN/objects/" good.json green.out) == 403 ]] || fail "agency-mof wrote into TLP:GREEN"
[[ $(post "$HANOI_TOKEN" "/feeds/collections/$SUB/objects/" good.json hanoi.out) == 404 ]] || fail "agency-hanoi wrote into agency-mof's submissions"
sleep 1  # a reload, had one been asked for, would be logged by now
sha256sum -c --quiet intel.before || fail "a refused upload changed the intel lists"
[[ $(reloads) == 0 ]] || fail "a refused upload made the correlator reload"
[[ $(taxii "$MOF_TOKEN" "/feeds/collections/$SUB/objects/" sub0.json) == 200 ]] || fail "submissions collection"
[[ $(py sub0.json 'len([o for o in d.get("objects", []) if o["type"] == "indicator"])') == 0 ]] || fail "a refused upload stored indicators"

# The good bundle: stored, lists rewritten, the running correlator reloads them.
code=$(post "$MOF_TOKEN" "/feeds/collections/$SUB/objects/" good.json good.out)
[[ $code == 202 ]] || fail "the good bundle answered $code: $(cat good.out)"
[[ $(py good.out 'd["success_count"]') == 2 && $(py good.out 'd["failure_count"]') == 0 ]] || fail "status: $(cat good.out)"
STATUS=$(py good.out 'd["id"]')
[[ $(taxii "$MOF_TOKEN" "/feeds/status/$STATUS/" status.json) == 200 ]] || fail "status resource"
[[ $(taxii "$HANOI_TOKEN" "/feeds/status/$STATUS/" status2.json) == 404 ]] || fail "another agency reads the status"
grep -qx "198.51.100.80" intel/agency-bo-tai-chinh.ip || fail "the ip list: $(cat intel/agency-bo-tai-chinh.ip)"
grep -qx "www.example.com" intel/agency-bo-tai-chinh.domain || fail "the domain list: $(cat intel/agency-bo-tai-chinh.domain)"
wait_log "reloaded .* and 2 intel entries" "the correlator did not reload the uploaded lists"
kill -0 "$PID" 2>/dev/null || fail "the correlator is gone"
[[ $(grep -c 'console listening on' correlator.log) == 1 ]] || fail "the correlator restarted"
[[ $(taxii "$MOF_TOKEN" "/feeds/collections/$SUB/objects/" sub1.json) == 200 ]] || fail "submissions collection"
python3 - sub1.json <<'PY' || fail "the submissions collection"
import json, sys
d = json.load(open(sys.argv[1]))
ind = {o["id"]: o for o in d["objects"] if o["type"] == "indicator"}
ids = {"indicator--6f1c2e0a-7b1e-4c53-9a51-1a2b3c4d5e11", "indicator--6f1c2e0a-7b1e-4c53-9a51-1a2b3c4d5e12"}
assert set(ind) == ids, f"indicators {sorted(ind)}"
who = {o["id"]: o for o in d["objects"] if o["type"] == "identity"}
for o in ind.values():
    assert who[o["created_by_ref"]]["name"] == "Ministry of Finance", o["created_by_ref"]
PY

# Events replayed after the upload hit the agency's indicators.
replay sensor-2
enriched() {
  curl -sS -b analyst.jar "$URL/api/v1/alerts?ip=198.51.100.80&limit=500" > after.json
  curl -sS -b analyst.jar "$URL/api/v1/alerts?limit=500" > all.json
  python3 - after.json all.json <<'PY'
import json, sys
by_ip = json.load(open(sys.argv[1]))["alerts"]
every = json.load(open(sys.argv[2]))["alerts"]
ip = [a for a in by_ip if "ip:agency-bo-tai-chinh" in a.get("intel", [])]
dom = [a for a in every if "domain:agency-bo-tai-chinh" in a.get("intel", [])]
sys.exit(0 if ip and dom else 1)
PY
}
for _ in $(seq 1 100); do enriched && break; sleep 0.1; done
python3 - after.json all.json <<'PY' || fail "no enriched alerts through the console"
import json, sys
by_ip = json.load(open(sys.argv[1]))["alerts"]
every = json.load(open(sys.argv[2]))["alerts"]
ip = [a for a in by_ip if "ip:agency-bo-tai-chinh" in a.get("intel", [])]
dom = [a for a in every if "domain:agency-bo-tai-chinh" in a.get("intel", [])]
assert ip, f"no alert at 198.51.100.80 tagged ip:agency-bo-tai-chinh: {[(a['signature'], a.get('intel')) for a in by_ip]}"
assert dom, "no alert tagged domain:agency-bo-tai-chinh"
for a in ip + dom:
    print("  {}  {} -> {}  intel {}  tenant {}".format(a["signature"], a["flow"]["src_ip"], a["flow"]["dest_ip"], a["intel"], a["tenant"]))
PY
"$CORR" query alerts -c correlator.yaml --ip 198.51.100.80 > query.jsonl 2>query.err || fail "query: $(cat query.err)"
grep -q '"ip:agency-bo-tai-chinh"' query.jsonl || fail "vigil-correlator query shows no enriched alert: $(head -c 500 query.jsonl)"
echo "ok: refused upload changed nothing; accepted upload reloaded the running correlator; replayed events enriched with the agency's indicators"
