#!/usr/bin/env bash
# TAXII client check (issue 6): seed a real store with confirmed alerts of two tenants, build the
# feed records (vigil-feeds sync), serve them (vigil-feeds serve, real HTTP on loopback), then as
# two agencies fetch discovery, API root, collections, objects (paged with limit/next and
# added_after) and the manifest with curl, upload a STIX bundle and read its status, and validate
# every STIX object with validate_stix.py. Also: 401 without a token, 406 on a wrong Accept, 415 on
# a wrong Content-Type, 404 for another agency's collection, the MISP export.
#   taxii_client_test.sh VIGIL_FEEDS VIGIL_FEEDS_SEED VALIDATE_STIX_PY
set -euo pipefail
FEEDS=$1 SEED=$2 VALIDATE=$3
WORK=$(mktemp -d /tmp/vigil-feeds-it.XXXXXX)
SERVER_PID=
cleanup() {
  if [[ -n $SERVER_PID ]]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; [[ -f $WORK/server.log ]] && tail -20 "$WORK/server.log" >&2; exit 1; }

MOF_TOKEN=mof-token-$RANDOM$RANDOM HANOI_TOKEN=hanoi-token-$RANDOM$RANDOM
sha() { printf '%s' "$1" | sha256sum | cut -d' ' -f1; }
cat > "$WORK/policy.yaml" <<YAML
version: 1
tenants:
  - name: soc
  - name: bo-tai-chinh
    networks: [10.20.0.0/16]
    default_tlp: amber
  - name: tinh-hanoi
    networks: [10.10.0.0/16, 198.51.100.0/24]
    default_tlp: amber
users:
  - name: agency-mof
    tenant: bo-tai-chinh
    scope: [bo-tai-chinh]
    role: agency
    api_tokens: ["$(sha "$MOF_TOKEN")"]
  - name: agency-hanoi
    tenant: tinh-hanoi
    scope: [tinh-hanoi]
    role: agency
    api_tokens: ["$(sha "$HANOI_TOKEN")"]
YAML
cat > "$WORK/feeds.yaml" <<YAML
soc_name: Vigil national SOC
taxii:
  api_root: feeds
  page_default: 50
submissions:
  intel_dir: $WORK/intel
YAML

"$SEED" --data-dir "$WORK/data" >/dev/null
"$FEEDS" sync --data-dir "$WORK/data" --config "$WORK/feeds.yaml" --policy "$WORK/policy.yaml"
"$FEEDS" serve --data-dir "$WORK/data" --config "$WORK/feeds.yaml" --policy "$WORK/policy.yaml" \
  --listen 127.0.0.1:0 --port-file "$WORK/port" >"$WORK/server.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 1 100); do [[ -s $WORK/port ]] && break; sleep 0.1; done
[[ -s $WORK/port ]] || fail "server did not start"
BASE=http://127.0.0.1:$(cat "$WORK/port")
TAXII='application/taxii+json;version=2.1'

# fetch TOKEN PATH OUT [extra curl args] -> prints the HTTP status; headers in OUT.h
fetch() {
  local token=$1 path=$2 out=$3; shift 3
  curl -sS -o "$out" -D "$out.h" -w '%{http_code}' -H "Accept: $TAXII" ${token:+-H "Authorization: Bearer $token"} "$@" "$BASE$path"
}
jq_py() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print($2)" "$1"; }

[[ $(fetch "$MOF_TOKEN" /taxii2/ "$WORK/disc.json") == 200 ]] || fail "discovery"
grep -qi "^content-type: application/taxii+json;version=2.1" "$WORK/disc.json.h" || fail "discovery media type"
[[ $(jq_py "$WORK/disc.json" 'd["api_roots"][0]') == /feeds/ ]] || fail "api_roots"
[[ $(fetch "$MOF_TOKEN" /feeds/ "$WORK/root.json") == 200 ]] || fail "api root"
[[ $(fetch "" /taxii2/ "$WORK/noauth.json") == 401 ]] || fail "no token must be 401"
[[ $(jq_py "$WORK/noauth.json" 'd["http_status"]') == 401 ]] || fail "error object"
[[ $(curl -sS -o /dev/null -w '%{http_code}' -H 'Accept: text/html' -H "Authorization: Bearer $MOF_TOKEN" "$BASE/taxii2/") == 406 ]] || fail "406"

[[ $(fetch "$MOF_TOKEN" /feeds/collections/ "$WORK/mof-cols.json") == 200 ]] || fail "collections"
[[ $(fetch "$HANOI_TOKEN" /feeds/collections/ "$WORK/hanoi-cols.json") == 200 ]] || fail "collections (hanoi)"
col() { jq_py "$1" "[c['id'] for c in d['collections'] if c['title'].startswith('$2')][0]"; }
GREEN=$(col "$WORK/mof-cols.json" TLP:GREEN)
MOF_AMBER=$(col "$WORK/mof-cols.json" TLP:AMBER+STRICT)
MOF_SUB=$(col "$WORK/mof-cols.json" "Indicators submitted")
HANOI_AMBER=$(col "$WORK/hanoi-cols.json" TLP:AMBER+STRICT)
[[ $(col "$WORK/hanoi-cols.json" TLP:GREEN) == "$GREEN" ]] || fail "GREEN is shared"
[[ $MOF_AMBER != "$HANOI_AMBER" ]] || fail "AMBER+STRICT collections are per agency"
[[ $(jq_py "$WORK/mof-cols.json" "[c['can_write'] for c in d['collections'] if c['id']=='$MOF_SUB'][0]") == True ]] || fail "can_write"

# GREEN, paged two at a time with next, then checked whole.
page=0 next= ids=()
while :; do
  q="limit=2"; [[ -n $next ]] && q="$q&next=$next"
  [[ $(fetch "$MOF_TOKEN" "/feeds/collections/$GREEN/objects/?$q" "$WORK/g$page.json") == 200 ]] || fail "objects page $page"
  grep -qi '^X-TAXII-Date-Added-First:' "$WORK/g$page.json.h" || fail "X-TAXII-Date-Added-First"
  grep -qi '^X-TAXII-Date-Added-Last:' "$WORK/g$page.json.h" || fail "X-TAXII-Date-Added-Last"
  [[ $(jq_py "$WORK/g$page.json" 'len(d["objects"])') -le 2 ]] || fail "limit"
  next=$(jq_py "$WORK/g$page.json" 'd.get("next","")')
  page=$((page + 1))
  [[ -z $next ]] && break
  [[ $page -lt 50 ]] || fail "paging does not end"
done
[[ $page -ge 3 ]] || fail "expected several pages, got $page"
[[ $(fetch "$MOF_TOKEN" "/feeds/collections/$GREEN/objects/" "$WORK/green.json") == 200 ]] || fail "objects"
ALL=$(jq_py "$WORK/green.json" 'len(d["objects"])')
PAGED=$(python3 -c "import json,sys; print(sum(len(json.load(open(f))['objects']) for f in sys.argv[1:]))" "$WORK"/g[0-9]*.json)
[[ $ALL == "$PAGED" ]] || fail "paged $PAGED objects, whole collection has $ALL"
# added_after the 2nd page's last date -> exactly what the later pages held.
AFTER=$(grep -i '^X-TAXII-Date-Added-Last:' "$WORK/g1.json.h" | cut -d' ' -f2 | tr -d '\r')
[[ $(fetch "$MOF_TOKEN" "/feeds/collections/$GREEN/objects/?added_after=$AFTER" "$WORK/after.json") == 200 ]] || fail "added_after"
[[ $(jq_py "$WORK/after.json" 'len(d["objects"])') == $((ALL - 4)) ]] || fail "added_after count"
[[ $(fetch "$MOF_TOKEN" "/feeds/collections/$GREEN/manifest/" "$WORK/manifest.json") == 200 ]] || fail "manifest"
[[ $(jq_py "$WORK/manifest.json" 'len(d["objects"])') == "$ALL" ]] || fail "manifest size"
[[ $(jq_py "$WORK/manifest.json" 'd["objects"][0]["media_type"]') == 'application/stix+json;version=2.1' ]] || fail "manifest media_type"
IND=$(jq_py "$WORK/green.json" '[o["id"] for o in d["objects"] if o["type"]=="indicator"][0]')
[[ $(fetch "$MOF_TOKEN" "/feeds/collections/$GREEN/objects/$IND/" "$WORK/one.json") == 200 ]] || fail "object by id"

# Attacker indicators of both tenants in GREEN: 203.0.113.5/.6/.77 (mof), 198.51.100.200 is
# hanoi's own network (a victim, never an indicator), 2001:db8:66::1; the secret one is withheld.
PATTERNS=$(jq_py "$WORK/green.json" '" ".join(sorted(o["pattern"] for o in d["objects"] if o["type"]=="indicator"))')
for want in 203.0.113.5 203.0.113.6 203.0.113.77 2001:db8:66::1; do
  [[ $PATTERNS == *"'$want'"* ]] || fail "GREEN lacks $want: $PATTERNS"
done
[[ $PATTERNS != *203.0.113.66* ]] || fail "a secret alert's indicator went out"
[[ $PATTERNS != *198.51.100.200* ]] || fail "a tenant address went out as an indicator"

# Each agency's AMBER+STRICT: its own sightings only.
[[ $(fetch "$MOF_TOKEN" "/feeds/collections/$MOF_AMBER/objects/" "$WORK/mof-amber.json") == 200 ]] || fail "mof amber"
[[ $(fetch "$HANOI_TOKEN" "/feeds/collections/$HANOI_AMBER/objects/" "$WORK/hanoi-amber.json") == 200 ]] || fail "hanoi amber"
[[ $(jq_py "$WORK/mof-amber.json" 'sum(1 for o in d["objects"] if o["type"]=="sighting")') == 3 ]] || fail "mof sightings"
[[ $(fetch "$HANOI_TOKEN" "/feeds/collections/$MOF_AMBER/objects/" "$WORK/x.json") == 404 ]] || fail "hanoi reads mof's collection"
[[ $(fetch "$HANOI_TOKEN" "/feeds/collections/$MOF_AMBER/manifest/" "$WORK/x.json") == 404 ]] || fail "hanoi reads mof's manifest"

python3 "$VALIDATE" --forbid 10.20.1.5 --forbid 10.20.1.6 --forbid 10.10.5.9 --forbid bo-tai-chinh --forbid tinh-hanoi \
  --expect-tlp indicator=green "$WORK/green.json" || fail "GREEN STIX"
python3 "$VALIDATE" --forbid tinh-hanoi --forbid 10.20.1.5 --expect-tlp sighting=amber+strict "$WORK/mof-amber.json" || fail "mof AMBER+STRICT STIX"
python3 "$VALIDATE" --forbid bo-tai-chinh --forbid 10.10.5.9 "$WORK/hanoi-amber.json" || fail "hanoi AMBER+STRICT STIX"

# Upload: one good indicator, one with an unsupported pattern.
cat > "$WORK/bundle.json" <<'JSON'
{"type":"bundle","id":"bundle--5d0092c5-5f74-4287-9642-33f4c354e56d","objects":[
 {"type":"indicator","spec_version":"2.1","id":"indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
  "created":"2026-11-01T00:00:00.000Z","modified":"2026-11-01T00:00:00.000Z","name":"phishing",
  "pattern":"[domain-name:value = 'login-update.example']","pattern_type":"stix","valid_from":"2026-11-01T00:00:00Z"},
 {"type":"indicator","spec_version":"2.1","id":"indicator--9e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
  "created":"2026-11-01T00:00:00.000Z","modified":"2026-11-01T00:00:00.000Z",
  "pattern":"[x-custom:value = 'a']","pattern_type":"stix","valid_from":"2026-11-01T00:00:00Z"}]}
JSON
[[ $(fetch "$MOF_TOKEN" "/feeds/collections/$MOF_SUB/objects/" "$WORK/st.json" -X POST -H 'Content-Type: text/plain' --data-binary @"$WORK/bundle.json") == 415 ]] || fail "415"
[[ $(fetch "$MOF_TOKEN" "/feeds/collections/$MOF_SUB/objects/" "$WORK/st.json" -X POST -H "Content-Type: $TAXII" --data-binary @"$WORK/bundle.json") == 202 ]] || fail "upload"
[[ $(jq_py "$WORK/st.json" 'd["success_count"], d["failure_count"]') == "1 1" ]] || fail "upload status counts"
SID=$(jq_py "$WORK/st.json" 'd["id"]')
[[ $(fetch "$MOF_TOKEN" "/feeds/status/$SID/" "$WORK/st2.json") == 200 ]] || fail "status resource"
[[ $(fetch "$HANOI_TOKEN" "/feeds/status/$SID/" "$WORK/x.json") == 404 ]] || fail "another agency's status"
[[ $(fetch "$HANOI_TOKEN" "/feeds/collections/$GREEN/objects/" "$WORK/x.json" -X POST -H "Content-Type: $TAXII" --data-binary @"$WORK/bundle.json") == 403 ]] || fail "GREEN is read-only"
[[ $(fetch "$MOF_TOKEN" "/feeds/collections/$MOF_SUB/objects/" "$WORK/sub.json") == 200 ]] || fail "submissions"
python3 "$VALIDATE" "$WORK/sub.json" || fail "submitted STIX"
grep -q '^login-update.example$' "$WORK/intel/agency-bo-tai-chinh.domain" || fail "intel list for the correlator"

# MISP over HTTP and as files.
[[ $(curl -sS -o "$WORK/misp-manifest.json" -w '%{http_code}' -H "Authorization: Bearer $MOF_TOKEN" "$BASE/misp/$GREEN/manifest.json") == 200 ]] || fail "MISP manifest over HTTP"
EV=$(jq_py "$WORK/misp-manifest.json" 'list(d)[0]')
[[ $(curl -sS -o "$WORK/ev.json" -w '%{http_code}' -H "Authorization: Bearer $MOF_TOKEN" "$BASE/misp/$GREEN/$EV.json") == 200 ]] || fail "MISP event"
[[ $(jq_py "$WORK/ev.json" 'd["Event"]["Tag"][0]["name"]') == tlp:green ]] || fail "MISP tlp tag"
"$FEEDS" misp-export --data-dir "$WORK/data" --out "$WORK/misp" >/dev/null
[[ -s $WORK/misp/manifest.json && -s $WORK/misp/hashes.csv && -s $WORK/misp/$EV.json ]] || fail "misp-export files"

echo "PASS: TAXII client check ($ALL objects in GREEN over $page pages, all STIX valid)"
