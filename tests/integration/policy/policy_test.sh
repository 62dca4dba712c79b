#!/usr/bin/env bash
# The policy end to end: vigil-policy validates the demo policy and names the key of a broken
# one; vigil-sensor replays the demo capture to a real vigil-correlator that runs with
# deploy/config/policy.yaml; the stored alerts carry the policy's tenant, the TLP and the level of
# the assets they touch, with reasons; SIGHUP reloads the policy (audited, logged).
# With the classification detectors on, the capture's stamped report and personal data become
# classification alerts at top-secret and confidential.
#   policy_test.sh SENSOR CORRELATOR KEYGEN SAMPLE_PCAP_TOOL VIGIL_POLICY RULES POLICY_YAML PACK
set -euo pipefail
sensor=$1 correlator=$2 keygen=$3 make_pcap=$4 vpolicy=$5 rules=$6 policy=$7 pack=$8
work=$(mktemp -d)
[[ -n ${KEEP:-} ]] && echo "work dir: $work"
cpid=""
trap 'if [[ -n $cpid ]]; then kill "$cpid" 2>/dev/null || true; fi; if [[ -z ${KEEP:-} ]]; then rm -rf "$work"; fi' EXIT
cd "$work"
fail() { echo "FAIL: $*"; exit 1; }

# 1. vigil-policy check: the demo policy passes, a broken copy names file and key.
"$vpolicy" check "$policy" > check.out || fail "vigil-policy check $policy: $(cat check.out)"
grep -q ": OK (3 tenants" check.out || fail "unexpected summary: $(head -1 check.out)"
sed '0,/clearance: confidential/s//clearance: confidentail/' "$policy" > broken.yaml
if "$vpolicy" check broken.yaml > broken.out 2>&1; then fail "a broken policy passed"; fi
grep -q "broken.yaml: users\[0\].clearance: unknown level 'confidentail'" broken.out || fail "error does not name the key: $(cat broken.out)"

# 2. A correlator with the policy, fed by the sensor.
mkdir keys
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' > tenant.key
"$keygen" correlator --out keys >/dev/null
"$keygen" sensor-a --out keys >/dev/null
"$make_pcap" sample.pcap >/dev/null
cp "$policy" policy.yaml
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
policy: policy.yaml
rules: []
YAML
"$correlator" check -c correlator.yaml > ccheck.out 2>&1 || fail "vigil-correlator check: $(cat ccheck.out)"
grep -q "policy.yaml: OK (3 tenants, 5 assets, 6 users)" ccheck.out || fail "check does not validate the policy: $(cat ccheck.out)"
"$correlator" -c correlator.yaml >correlator.log 2>&1 &
cpid=$!
for _ in $(seq 100); do grep -q "listening" correlator.log && break; sleep 0.1; done
grep -q "policy.load .*policy.yaml: 3 tenants, 5 assets, 6 users" correlator.log || fail "policy load not logged: $(cat correlator.log)"

"$sensor" -r sample.pcap -S "$rules" -l out --workers 1 --correlator "tcp://127.0.0.1:$port" \
  --set correlator.sensor-id=sensor-a --set correlator.key-file=keys/sensor-a.key \
  --set correlator.server-public-key-file=keys/correlator.pub \
  --set classification.enabled=yes --set "classification.pack=$pack" --set "classification.key-file=$work/tenant.key" \
  >out.log 2>&1 || fail "sensor: $(tail -5 out.log)"

# 3. SIGHUP: a changed policy is reloaded; a broken one is refused and the running one kept.
sed -i 's/display_name: Demo analyst/display_name: Demo analyst (reloaded)/' policy.yaml
kill -HUP "$cpid"
for _ in $(seq 100); do grep -q "policy.reload" correlator.log && break; sleep 0.1; done
grep -q "policy.reload .*policy.yaml: 3 tenants" correlator.log || fail "SIGHUP did not reload the policy"
cp broken.yaml policy.yaml
kill -HUP "$cpid"
for _ in $(seq 100); do grep -q "policy reload failed" correlator.log && break; sleep 0.1; done
grep -q "policy reload failed, keeping the current policy: .*users\[0\].clearance" correlator.log || fail "a broken reload is not refused by key"
kill "$cpid"; wait "$cpid" 2>/dev/null || true
cpid=""

# 4. The stored alerts: tenant, TLP and level from the policy, with reasons.
"$correlator" query -c correlator.yaml alerts > alerts.jsonl 2>query.err || fail "query: $(cat query.err)"
python3 - alerts.jsonl <<'PY' || exit 1
import json, sys
alerts = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
if len(alerts) < 5:
    print(f"FAIL: only {len(alerts)} alerts stored"); sys.exit(1)
order = ["public", "internal", "confidential", "secret", "top-secret"]
at_least = lambda a, l: order.index(a["level"]) >= order.index(l)
bad = []
portal = workstations = 0
cls = [a for a in alerts if a["rule"] == "classification"]
secret = [a for a in cls if a["level"] == "top-secret" and "secrecy suspected-state-secret -> top-secret" in a["level_reasons"]]
personal = [a for a in cls if a["signature"].startswith("Sensitive personal data") and at_least(a, "confidential")]
if not secret: bad.append(f"no top-secret classification alert: {[(a['signature'], a['level']) for a in cls]}")
if not personal: bad.append(f"no confidential personal-data alert: {[(a['signature'], a['level']) for a in cls]}")
for a in alerts:
    if a["rule"] == "classification": continue
    ends = {a["flow"]["src_ip"], a["flow"]["dest_ip"]}
    reasons = a.get("level_reasons", [])
    if a["tenant"] != "bo-tai-chinh": bad.append(f"tenant {a['tenant']}: {a['signature']}")
    if a.get("labels", {}).get("tlp") != "amber": bad.append(f"tlp {a.get('labels')}: {a['signature']}")
    if not reasons: bad.append(f"no level reasons: {a['signature']}")
    if "10.20.10.10" in ends:
        portal += 1
        if not at_least(a, "confidential") or not any(r.startswith("asset mof-portal (10.20.10.10) sys_level 3") for r in reasons):
            bad.append(f"portal alert level {a['level']} {reasons}")
    elif any(e.startswith("10.20.1.") for e in ends):
        workstations += 1
        if not any("asset mof-workstations" in r for r in reasons):
            bad.append(f"workstation alert level {a['level']} {reasons}")
if portal == 0 or workstations == 0:
    bad.append(f"expected alerts on the portal and on workstations, got {portal} and {workstations}")
if bad:
    print("FAIL:\n  " + "\n  ".join(bad)); sys.exit(1)
print(f"ok: {len(alerts)} alerts: {portal} on the portal (>= confidential), {workstations} on workstations, "
      f"{len(secret)} top-secret and {len(personal)} personal-data classification alerts, all bo-tai-chinh TLP:AMBER")
PY
echo "ok: policy checked, loaded, reloaded on SIGHUP, broken reload refused"
