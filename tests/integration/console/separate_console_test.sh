#!/usr/bin/env bash
# vigil-console as its own process with writes (issue 6): a real vigil-correlator with `control:`
# (CURVE ROUTER, one listed console key) and `policy:`, events replayed into it by
# vigil-replay-events, and a separate vigil-console reading the store as a RocksDB secondary and
# sending its changes over the control socket. Over HTTP with curl:
#   - log in as the demo analyst; acknowledge, assign, close an alert and escalate one to an
#     incident; each change is visible at once through the console (read-your-write), is in the
#     store (vigil-correlator query, vigil-audit export) with an audit entry naming the actor and
#     the console (the ZAP id console-1), and the auditor sees it through the console;
#   - the live queue (SSE) of the separate console receives alerts ingested after it connected,
#     and changes made in the console inside vigil-correlator (and that one gets the separate
#     console's changes);
#   - a console whose key is not listed is refused (its changes and logins answer 503) and the
#     refusal is counted and logged by the correlator;
#   - with the correlator stopped a change answers 503 "correlator unavailable" and reads still
#     work; after a restart changes work again.
#   separate_console_test.sh VIGIL_CORRELATOR VIGIL_CONSOLE VIGIL_REPLAY VIGIL_KEYGEN VIGIL_AUDIT POLICY_YAML
set -euo pipefail
CORR=$1 CONSOLE=$2 REPLAY=$3 KEYGEN=$4 AUDIT=$5 POLICY=$6
WORK=$(mktemp -d /tmp/vigil-separate-console-it.XXXXXX)
CPID= C1PID= C2PID= SSEPID=
stop_pid() { if [[ -n ${1:-} ]]; then kill "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; fi; }
cleanup() {
  stop_pid "$SSEPID"; stop_pid "$C2PID"; stop_pid "$C1PID"; stop_pid "$CPID"
  rm -rf "$WORK"
}
trap cleanup EXIT
fail() {
  echo "FAIL: $*" >&2
  for f in correlator.log console1.log console2.log; do
    [[ -f $WORK/$f ]] && { echo "--- $f" >&2; tail -15 "$WORK/$f" >&2; }
  done
  exit 1
}
log() { echo "[separate-console] $*"; }
py() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print($2)" "$1"; }

cp "$POLICY" "$WORK/policy.yaml"
for k in correlator sensor-1 console-1 console-2; do "$KEYGEN" "$k" --out "$WORK/keys" >/dev/null; done

cat > "$WORK/correlator.yaml" <<YAML
listen: ipc://$WORK/ingest.sock
data_dir: $WORK/data
server_key_file: keys/correlator.key
policy: policy.yaml
console: inproc.yaml
control:
  listen: ipc://$WORK/control.sock
  clients:
    - id: console-1
      public_key_file: keys/console-1.pub
sensors:
  - id: sensor-1
    public_key_file: keys/sensor-1.pub
    tenant: bo-tai-chinh
commit:
  sync: false
YAML
cat > "$WORK/inproc.yaml" <<YAML
listen: 127.0.0.1:0
policy: policy.yaml
YAML
console_yaml() {  # NAME KEY
  cat > "$WORK/$1.yaml" <<YAML
listen: 127.0.0.1:0
policy: policy.yaml
control:
  endpoint: ipc://$WORK/control.sock
  server_public_key_file: keys/correlator.pub
  key_file: keys/$2.key
  store: data/db
  secondary_dir: $WORK/$1-secondary
  timeout: 3s
YAML
}
console_yaml console1 console-1
console_yaml console2 console-2

start_correlator() {
  "$CORR" -c "$WORK/correlator.yaml" >>"$WORK/correlator.log" 2>&1 &
  CPID=$!
  for _ in $(seq 1 100); do
    kill -0 "$CPID" 2>/dev/null || fail "vigil-correlator exited"
    [[ $(grep -c 'control: listening on' "$WORK/correlator.log") -ge $1 ]] && return 0
    sleep 0.1
  done
  fail "the control interface did not start"
}
replay() {  # START COUNT
  "$REPLAY" --endpoint "ipc://$WORK/ingest.sock" --server-key "$WORK/keys/correlator.pub" --keys "$WORK/keys/sensor-1.key" \
    --sensor-id sensor-1 --spool "$WORK/spool" --start "$1" --events "$2" --batch 50 --drain-timeout 60 >>"$WORK/replay.log" \
    || fail "replay did not drain"
}
start_console() {  # NAME -> sets URL_<NAME>
  "$CONSOLE" -c "$WORK/$1.yaml" >"$WORK/$1.log" 2>&1 &
  local pid=$! url=
  for _ in $(seq 1 100); do
    kill -0 "$pid" 2>/dev/null || fail "vigil-console $1 exited"
    url=$(grep -o 'console: http://[0-9.:]*/' "$WORK/$1.log" | head -1 | sed 's/console: //') || true
    [[ -n $url ]] && break
    sleep 0.1
  done
  [[ -n $url ]] || fail "vigil-console $1 did not start"
  if [[ $1 == console1 ]]; then C1PID=$pid URL=$url; else C2PID=$pid URL2=$url; fi
}
# http METHOD URL JAR OUT [BODY] -> prints the status
http() {
  local method=$1 url=$2 jar=$3 out=$4 body=${5:-}
  if [[ $method == GET ]]; then
    curl -sS -o "$out" -w '%{http_code}' -b "$jar" "$url"
  else
    curl -sS -o "$out" -w '%{http_code}' -b "$jar" -c "$jar" -H 'Content-Type: application/json' -H 'X-Vigil-Request: 1' \
      -d "$body" "$url"
  fi
}
login() {  # BASE_URL JAR USER PASSWORD -> status
  curl -sS -o "$WORK/login.json" -w '%{http_code}' -c "$2" -H 'Content-Type: application/json' \
    -d "{\"user\":\"$3\",\"password\":\"$4\"}" "$1api/v1/login"
}

# --- strict config: errors name the key ------------------------------------------------------
expect_config_error() {  # BIN FILE KEY
  local out
  if out=$("$1" check -c "$2" 2>&1); then fail "$(basename "$2") was accepted: $out"; fi
  grep -q "$3" <<<"$out" || fail "$(basename "$2"): the error does not name $3: $out"
}
sed 's/^    - id: console-1$/    - id: ""/' "$WORK/correlator.yaml" > "$WORK/bad-id.yaml"
expect_config_error "$CORR" "$WORK/bad-id.yaml" "control.clients\[0\]: key 'id'"
sed 's/^  listen: ipc.*control.sock$/  lisen: x/' "$WORK/correlator.yaml" > "$WORK/bad-listen.yaml"
expect_config_error "$CORR" "$WORK/bad-listen.yaml" "control.lisen"
grep -v '^policy:' "$WORK/correlator.yaml" > "$WORK/no-policy.yaml"
expect_config_error "$CORR" "$WORK/no-policy.yaml" "key 'control'"
grep -v 'key_file: keys/console-1.key' "$WORK/console1.yaml" > "$WORK/bad-console.yaml"
expect_config_error "$CONSOLE" "$WORK/bad-console.yaml" "control.key_file"
{ cat "$WORK/console1.yaml"; echo "feeds: feeds.yaml"; } > "$WORK/feeds-console.yaml"
expect_config_error "$CONSOLE" "$WORK/feeds-console.yaml" "key 'feeds'"
"$CONSOLE" check -c "$WORK/console1.yaml" >/dev/null || fail "console1.yaml does not check"
log "config errors name their keys"

start_correlator 1
replay 0 600
log "correlator up, 600 events replayed"
start_console console1 console-1
log "separate console at $URL"
INURL=$(grep -o 'console listening on http://[0-9.:]*' "$WORK/correlator.log" | tail -1 | sed 's/console listening on //')/
[[ $INURL == http* ]] || fail "the in-process console did not start"

# --- log in (audited through the control socket) and triage -------------------------------
[[ $(login "$URL" "$WORK/analyst.jar" analyst vigil-demo) == 200 ]] || fail "analyst login: $(cat "$WORK/login.json")"
[[ $(login "$URL" "$WORK/lead.jar" lead vigil-demo) == 200 ]] || fail "lead login: $(cat "$WORK/login.json")"
[[ $(login "$URL" "$WORK/auditor.jar" auditor vigil-demo) == 200 ]] || fail "auditor login: $(cat "$WORK/login.json")"
[[ $(http GET "${URL}api/v1/alerts?status=new&limit=10" "$WORK/analyst.jar" "$WORK/new.json") == 200 ]] || fail "alert list"
n=$(py "$WORK/new.json" 'len(d["alerts"])')
[[ $n -ge 4 ]] || fail "expected at least 4 new alerts through the separate console, got $n"
A=$(py "$WORK/new.json" 'd["alerts"][0]["id"]')
B=$(py "$WORK/new.json" 'd["alerts"][1]["id"]')
C=$(py "$WORK/new.json" 'd["alerts"][2]["id"]')
act() {  # JAR BODY -> status, reply in act.json
  http POST "${URL}api/v1/alerts/actions" "$1" "$WORK/act.json" "$2"
}
# The console inside the correlator hears of changes made through the separate one (live queue).
[[ $(login "$INURL" "$WORK/in.jar" analyst vigil-demo) == 200 ]] || fail "in-process login: $(cat "$WORK/login.json")"
curl -sS -N -b "$WORK/in.jar" "${INURL}api/v1/alerts/stream" > "$WORK/in-sse.txt" 2>/dev/null &
SSEPID=$!
for _ in $(seq 1 50); do grep -q 'event: hello' "$WORK/in-sse.txt" && break; sleep 0.1; done
[[ $(act "$WORK/analyst.jar" "{\"ids\":[\"$A\"],\"action\":\"acknowledge\"}") == 200 ]] || fail "acknowledge: $(cat "$WORK/act.json")"
[[ $(py "$WORK/act.json" 'd["updated"]') == "['$A']" ]] || fail "acknowledge reply: $(cat "$WORK/act.json")"
# Read-your-write: the secondary caught up right after the reply.
http GET "${URL}api/v1/alerts/$A" "$WORK/analyst.jar" "$WORK/a.json" >/dev/null
[[ $(py "$WORK/a.json" 'd["alert"]["status"]') == acknowledged ]] || fail "the acknowledged alert reads $(py "$WORK/a.json" 'd["alert"]["status"]')"
[[ $(act "$WORK/analyst.jar" "{\"ids\":[\"$A\"],\"action\":\"assign\",\"assignee\":\"lead\"}") == 200 ]] || fail "assign"
http GET "${URL}api/v1/alerts/$A" "$WORK/analyst.jar" "$WORK/a.json" >/dev/null
[[ $(py "$WORK/a.json" 'd["alert"]["assignee"]') == lead ]] || fail "assignee not visible"
[[ $(act "$WORK/analyst.jar" "{\"ids\":[\"$B\"],\"action\":\"close\",\"verdict\":\"false-positive\"}") == 200 ]] || fail "close"
http GET "${URL}api/v1/alerts/$B" "$WORK/analyst.jar" "$WORK/b.json" >/dev/null
[[ $(py "$WORK/b.json" 'd["alert"]["status"]') == closed ]] || fail "closed alert not visible"
[[ $(act "$WORK/lead.jar" "{\"ids\":[\"$A\",\"$C\"],\"action\":\"escalate\",\"title\":\"Separate console case\"}") == 200 ]] \
  || fail "escalate: $(cat "$WORK/act.json")"
INC=$(py "$WORK/act.json" 'd["incident"]')
[[ $INC =~ ^[0-9a-f]{32}$ ]] || fail "escalate gave no incident id: $(cat "$WORK/act.json")"
[[ $(http GET "${URL}api/v1/incidents/$INC" "$WORK/lead.jar" "$WORK/inc.json") == 200 ]] || fail "incident not readable"
[[ $(py "$WORK/inc.json" 'sorted(a["id"] for a in d["alerts"]) == sorted(["'$A'","'$C'"])') == True ]] || fail "incident alerts"
[[ $(http POST "${URL}api/v1/incidents/$INC/actions" "$WORK/lead.jar" "$WORK/ia.json" '{"action":"note","note":"seen from console-1"}') == 200 ]] \
  || fail "incident note: $(cat "$WORK/ia.json")"
# The agency may not change: the correlator decides (denied, audited).
[[ $(login "$URL" "$WORK/mof.jar" agency-mof vigil-demo) == 200 ]] || fail "agency login"
act "$WORK/mof.jar" "{\"ids\":[\"$B\"],\"action\":\"reopen\"}" >/dev/null
[[ $(py "$WORK/act.json" 'len(d["updated"])') == 0 ]] || fail "the agency changed an alert: $(cat "$WORK/act.json")"
for _ in $(seq 1 50); do grep -q "\"id\":\"$A\"" "$WORK/in-sse.txt" && break; sleep 0.1; done
grep -q "\"id\":\"$A\"" "$WORK/in-sse.txt" || fail "the in-process console's live queue did not get the separate console's change"
stop_pid "$SSEPID"; SSEPID=
log "acknowledge, assign, close, escalate, incident note through the separate console: ok (in-process live queue too)"

# --- in the store, with the audit trail -----------------------------------------------------
"$CORR" query alert "$A" -c "$WORK/correlator.yaml" > "$WORK/qa.jsonl" || fail "query alert"
python3 - "$WORK/qa.jsonl" "$INC" <<'PY' || fail "stored alert A is not what the console changed"
import json, sys
a = json.loads(open(sys.argv[1]).readline())
a = a.get("alert", a)
assert a["status"] == "in-progress" and a["assignee"] == "lead" and a["incident"] == sys.argv[2], a
assert a["acknowledged_usec"] > 0, a
PY
"$CORR" query alert "$B" -c "$WORK/correlator.yaml" | python3 -c '
import json, sys
a = json.loads(sys.stdin.readline()); a = a.get("alert", a)
assert a["status"] == "closed" and a["verdict"] == "false-positive", a' || fail "stored alert B is not closed"
"$AUDIT" export --data-dir "$WORK/data/db" --object "$A" -o "$WORK/audit-a.jsonl" || fail "vigil-audit export"
python3 - "$WORK/audit-a.jsonl" <<'PY' || fail "audit entries of alert A"
import json, sys
entries = [json.loads(l) for l in open(sys.argv[1])]
entries = [e.get("entry", e) for e in entries if "action" in e.get("entry", e)]
acts = {(e["action"], e["actor"]) for e in entries}
for want in [("alert.acknowledge", "analyst"), ("alert.assign", "analyst"), ("alert.escalate", "lead")]:
    assert want in acts, (want, acts)
for e in entries:
    assert e["source"].startswith("console-1 console "), e["source"]
    assert e["decision"] == "allow" and e["actor_role"] in ("analyst", "lead"), e
PY
http GET "${URL}api/v1/audit?object=$A" "$WORK/auditor.jar" "$WORK/audit-api.json" >/dev/null
grep -q '"alert.acknowledge"' "$WORK/audit-api.json" || fail "the auditor does not see the entry through the console: $(head -c 300 "$WORK/audit-api.json")"
log "changes in the store, audited with actor and console-1 as source: ok"

# --- the live queue: an alert ingested now reaches the separate console's SSE stream ---------
curl -sS -N -b "$WORK/analyst.jar" "${URL}api/v1/alerts/stream" > "$WORK/sse.txt" 2>/dev/null &
SSEPID=$!
for _ in $(seq 1 50); do grep -q 'event: hello' "$WORK/sse.txt" && break; sleep 0.1; done
grep -q 'event: hello' "$WORK/sse.txt" || fail "the live queue did not open"
replay 600 300
for _ in $(seq 1 100); do grep -q 'event: alert' "$WORK/sse.txt" && break; sleep 0.1; done
grep -q 'event: alert' "$WORK/sse.txt" || fail "the separate console's live queue got no alert after ingest"
log "live queue: $(grep -c 'event: alert' "$WORK/sse.txt") alert messages after the second replay"
# A change made in the in-process console reaches the separate console's live queue.
D=$(py "$WORK/new.json" 'd["alerts"][3]["id"]')
[[ $(http POST "${INURL}api/v1/alerts/actions" "$WORK/in.jar" "$WORK/in-act.json" "{\"ids\":[\"$D\"],\"action\":\"note\",\"note\":\"in-process\"}") == 200 ]] \
  || fail "in-process change: $(cat "$WORK/in-act.json")"
for _ in $(seq 1 50); do grep -q "in-process" "$WORK/sse.txt" && break; sleep 0.1; done
grep -q "in-process" "$WORK/sse.txt" || fail "the separate console's live queue did not get the in-process console's change"
stop_pid "$SSEPID"; SSEPID=

# --- a console whose key is not listed ---------------------------------------------------------
start_console console2 console-2
s=$(login "$URL2" "$WORK/c2.jar" analyst vigil-demo)
[[ $s == 503 ]] || fail "a login through the unlisted console answered $s (expected 503: it cannot record the login)"
grep -q 'correlator unavailable' "$WORK/login.json" || fail "503 without the reason: $(cat "$WORK/login.json")"
[[ $(http GET "${URL2}api/v1/alerts" "$WORK/c2.jar" "$WORK/c2.json") == 401 ]] || fail "the unlisted console served a list"
for _ in $(seq 1 30); do grep -q 'refused unknown console key' "$WORK/correlator.log" && break; sleep 0.1; done
grep -q 'refused unknown console key' "$WORK/correlator.log" || fail "the correlator did not log the refusal"
stop_pid "$C2PID"; C2PID=
log "unlisted console refused: ok"

# --- correlator down: changes 503, reads work; back up: changes work --------------------------
stop_pid "$CPID"; CPID=
grep -Eq 'control: [0-9]+ requests \([0-9]+ failed\), [0-9]+ malformed, [0-9]+ consoles admitted, [1-9][0-9]* refused' \
  "$WORK/correlator.log" || fail "the correlator did not count the refusal"
s=$(act "$WORK/analyst.jar" "{\"ids\":[\"$B\"],\"action\":\"note\",\"note\":\"while down\"}")
[[ $s == 503 ]] || fail "a change with the correlator down answered $s"
grep -q "correlator unavailable at ipc://$WORK/control.sock" "$WORK/act.json" || fail "503 body: $(cat "$WORK/act.json")"
[[ $(http GET "${URL}api/v1/alerts?limit=5" "$WORK/analyst.jar" "$WORK/down.json") == 200 ]] || fail "reads stopped with the correlator"
[[ $(http GET "${URL}api/v1/alerts/$A" "$WORK/analyst.jar" "$WORK/down-a.json") == 200 ]] || fail "alert detail stopped"
log "correlator down: change 503, reads 200"
start_correlator 2
ok=
for _ in $(seq 1 50); do
  s=$(act "$WORK/analyst.jar" "{\"ids\":[\"$B\"],\"action\":\"note\",\"note\":\"after restart\"}")
  [[ $s == 200 ]] && { ok=1; break; }
  sleep 0.2
done
[[ -n $ok ]] || fail "changes did not resume after the restart (last: $s $(cat "$WORK/act.json"))"
http GET "${URL}api/v1/alerts/$B" "$WORK/analyst.jar" "$WORK/b2.json" >/dev/null
python3 - "$WORK/b2.json" <<'PY' || fail "the note after the restart is not visible"
import json, sys
notes = [n["text"] for n in json.load(open(sys.argv[1]))["alert"].get("notes", [])]
assert "after restart" in notes and "while down" not in notes, notes
PY
log "correlator back: changes work again; the refused change was not applied later"
echo "OK"
