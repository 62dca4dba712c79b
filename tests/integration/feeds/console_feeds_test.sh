#!/usr/bin/env bash
# The agency feeds mounted on the console in standalone mode (issue: wire vigil_feeds into the
# console): a store seeded with confirmed alerts, vigil-correlator serving the console in-process
# with `feeds:` in console.yaml (the real policy deploy/config/policy.yaml plus an API token for
# agency-mof), then with curl on the console's own port: /taxii2/ discovery, the API root and the
# collections with the TAXII media type, objects of the GREEN collection (the console's start-up
# sync turned the seeded confirmed alerts into feed records), as agency-mof with its API token
# and with a console login (session token as bearer); 401 without auth; an analyst closing the
# seeded open alert true-positive through the console makes its attacker an indicator at once;
# the console's own API still answers on the same server.
#   console_feeds_test.sh VIGIL_CORRELATOR VIGIL_KEYGEN VIGIL_FEEDS_SEED POLICY_YAML
set -euo pipefail
CORR=$1 KEYGEN=$2 SEED=$3 POLICY=$4
WORK=$(mktemp -d /tmp/vigil-console-feeds-it.XXXXXX)
PID=
cleanup() {
  if [[ -n $PID ]]; then kill "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; [[ -f $WORK/correlator.log ]] && tail -20 "$WORK/correlator.log" >&2; exit 1; }

TOKEN=mof-token-$RANDOM$RANDOM
sha() { printf '%s' "$1" | sha256sum | cut -d' ' -f1; }
python3 - "$POLICY" "$WORK/policy.yaml" "$(sha "$TOKEN")" <<'PY'
import sys
src, dst, h = sys.argv[1:]
out, in_mof = [], False
for line in open(src):
    s = line.strip()
    if s.startswith("- name:"):
        in_mof = s == "- name: agency-mof"
    if in_mof and s.startswith("api_tokens:"):
        continue
    out.append(line)
    if in_mof and s.startswith("password_hash:"):
        out.append(line[: len(line) - len(line.lstrip())] + 'api_tokens: ["%s"]\n' % h)
open(dst, "w").writelines(out)
PY
grep -q "$(sha "$TOKEN")" "$WORK/policy.yaml" || fail "could not add the API token to the policy"

"$SEED" --data-dir "$WORK/data" --open >/dev/null
"$KEYGEN" correlator --out "$WORK/keys" >/dev/null
"$KEYGEN" sensor-1 --out "$WORK/keys" >/dev/null
cat > "$WORK/feeds.yaml" <<YAML
soc_name: Vigil national SOC
submissions:
  intel_dir: $WORK/intel
sync_interval_sec: 3600
YAML
cat > "$WORK/console.yaml" <<YAML
listen: 127.0.0.1:0
policy: policy.yaml
feeds: feeds.yaml
YAML
cat > "$WORK/correlator.yaml" <<YAML
listen: tcp://127.0.0.1:$((20000 + RANDOM % 20000))
data_dir: $WORK/data
server_key_file: keys/correlator.key
stats_file: $WORK/stats.json
policy: policy.yaml
console: console.yaml
sensors:
  - id: sensor-1
    public_key_file: keys/sensor-1.pub
    tenant: bo-tai-chinh
commit:
  sync: false
YAML
"$CORR" -c "$WORK/correlator.yaml" >"$WORK/correlator.log" 2>&1 &
PID=$!
URL=
for _ in $(seq 1 100); do
  kill -0 "$PID" 2>/dev/null || fail "vigil-correlator exited"
  URL=$(grep -o 'console listening on http://[0-9.:]*' "$WORK/correlator.log" | head -1 | sed 's/console listening on //') || true
  [[ -n $URL ]] && break
  sleep 0.1
done
[[ -n $URL ]] || fail "the console did not start"
TAXII='application/taxii+json;version=2.1'
# fetch AUTH PATH OUT -> prints the HTTP status; headers in OUT.h
fetch() {
  local token=$1 path=$2 out=$3
  curl -sS -o "$out" -D "$out.h" -w '%{http_code}' -H "Accept: $TAXII" ${token:+-H "Authorization: Bearer $token"} "$URL$path"
}
py() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print($2)" "$1"; }
media() { grep -qi "^content-type: application/taxii+json;version=2.1" "$1.h" || fail "$2: not the TAXII media type"; }

[[ $(fetch "" /taxii2/ "$WORK/noauth.json") == 401 ]] || fail "/taxii2/ without auth must be 401"
[[ $(fetch "wrong-token" /taxii2/ "$WORK/bad.json") == 401 ]] || fail "/taxii2/ with an unknown token must be 401"
[[ $(fetch "" /feeds/collections/ "$WORK/noauth2.json") == 401 ]] || fail "collections without auth must be 401"

# agency-mof with its API token
[[ $(fetch "$TOKEN" /taxii2/ "$WORK/disc.json") == 200 ]] || fail "discovery (token)"
media "$WORK/disc.json" discovery
[[ $(py "$WORK/disc.json" 'd["api_roots"][0]') == /feeds/ ]] || fail "api_roots"
[[ $(fetch "$TOKEN" /feeds/ "$WORK/root.json") == 200 ]] || fail "api root"
media "$WORK/root.json" "api root"
[[ $(fetch "$TOKEN" /feeds/collections/ "$WORK/cols.json") == 200 ]] || fail "collections (token)"
media "$WORK/cols.json" collections
GREEN=$(py "$WORK/cols.json" "[c['id'] for c in d['collections'] if c['title'].startswith('TLP:GREEN')][0]")
# The start-up sync (on the console's feed thread, through Correlator::write) made the records.
n=0
for _ in $(seq 1 50); do
  [[ $(fetch "$TOKEN" "/feeds/collections/$GREEN/objects/" "$WORK/green.json") == 200 ]] || fail "objects"
  n=$(py "$WORK/green.json" 'len([o for o in d.get("objects", []) if o["type"] == "indicator"])')
  [[ $n -gt 0 ]] && break
  sleep 0.2
done
[[ $n -gt 0 ]] || fail "no indicators in the GREEN collection (the sync did not run)"
grep -qi "^content-type: application/stix+json;version=2.1\|^content-type: application/taxii+json;version=2.1" "$WORK/green.json.h" \
  || fail "objects media type"

# An analyst closes the open alert true-positive through the console: its attacker becomes an
# indicator at once (the console's change wakes the sync; the interval here is an hour).
patterns() { py "$1" '" ".join(sorted(o["pattern"] for o in d.get("objects", []) if o["type"] == "indicator"))'; }
patterns "$WORK/green.json" | grep -q 203.0.113.88 && fail "the open alert is already an indicator"
curl -sS -c "$WORK/ajar" -o /dev/null -H 'Content-Type: application/json' \
  -d '{"user":"analyst","password":"vigil-demo"}' "$URL/api/v1/login"
OPEN=$(curl -sS -b "$WORK/ajar" "$URL/api/v1/alerts?status=new&limit=50" |
  python3 -c "import json,sys; print([a['id'] for a in json.load(sys.stdin)['alerts'] if a['flow']['dest_ip'] == '203.0.113.88'][0])") ||
  fail "the analyst does not see the open alert"
code=$(curl -sS -o "$WORK/close.json" -w '%{http_code}' -b "$WORK/ajar" -H 'X-Vigil-Request: 1' -H 'Content-Type: application/json' \
  -d "{\"action\":\"close\",\"verdict\":\"true-positive\",\"ids\":[\"$OPEN\"]}" "$URL/api/v1/alerts/actions")
[[ $code == 200 ]] || fail "closing the alert answered $code: $(cat "$WORK/close.json")"
found=
for _ in $(seq 1 50); do
  fetch "$TOKEN" "/feeds/collections/$GREEN/objects/" "$WORK/green2.json" >/dev/null
  if patterns "$WORK/green2.json" | grep -q 203.0.113.88; then found=1; break; fi
  sleep 0.2
done
[[ -n $found ]] || fail "203.0.113.88 did not become an indicator after the console closed its alert true-positive"

# agency-mof with a console login: the session token as a bearer token
curl -sS -c "$WORK/jar" -o "$WORK/login.json" -H 'Content-Type: application/json' \
  -d '{"user":"agency-mof","password":"vigil-demo"}' "$URL/api/v1/login"
SESSION=$(awk '$6 == "vigil_session" { print $7 }' "$WORK/jar")
[[ -n $SESSION ]] || fail "login as agency-mof gave no session"
[[ $(fetch "$SESSION" /taxii2/ "$WORK/disc2.json") == 200 ]] || fail "discovery (login)"
media "$WORK/disc2.json" "discovery (login)"
[[ $(fetch "$SESSION" /feeds/collections/ "$WORK/cols2.json") == 200 ]] || fail "collections (login)"
media "$WORK/cols2.json" "collections (login)"
[[ $(py "$WORK/cols2.json" 'len(d["collections"])') == $(py "$WORK/cols.json" 'len(d["collections"])') ]] || fail "same collections"
code=$(curl -sS -o "$WORK/logout.json" -w '%{http_code}' -H "Authorization: Bearer $SESSION" -d '{}' "$URL/api/v1/logout")
[[ $code == 200 ]] || fail "logout answered $code: $(cat "$WORK/logout.json")"
[[ $(fetch "$SESSION" /taxii2/ "$WORK/disc3.json") == 401 ]] || fail "a logged-out session must be 401"

# The console's own API on the same server
[[ $(curl -sS -o /dev/null -w '%{http_code}' "$URL/api/v1/me") == 401 ]] || fail "console API"
[[ $(curl -sS -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $TOKEN" "$URL/api/v1/me") == 200 ]] || fail "console API (token)"
echo "ok: TAXII on the console at $URL ($n indicators in TLP:GREEN)"
