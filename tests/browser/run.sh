#!/usr/bin/env bash
# Browser end-to-end test of the console: a real vigil-correlator with the console in-process and a
# real store in a temp dir; headless Chromium (Debian's /usr/bin/chromium, driven by npm's
# playwright-core) logs in, watches the queue fill live while vigil-sensor replays the sample
# capture, acknowledges and escalates alerts, opens the incident, checks the audit view.
# Screenshots go to ARTIFACTS.
#   run.sh CORRELATOR SENSOR KEYGEN MAKE_PCAP RULES ARTIFACTS
# Exits 77 (ctest: skipped) when chromium or node is missing.
set -euo pipefail
correlator=$1 sensor=$2 keygen=$3 make_pcap=$4 rules=$5 artifacts=$6
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
chromium="${CHROMIUM:-$(command -v chromium || command -v chromium-browser || true)}"
if [[ -z $chromium ]]; then echo "SKIP: chromium is not installed (deploy/setup.sh test installs it)"; exit 77; fi
if ! command -v node >/dev/null; then echo "SKIP: node is not installed (deploy/setup.sh test installs it)"; exit 77; fi
if [[ ! -d $here/node_modules/playwright-core ]]; then
  (cd "$here" && npm ci --no-audit --no-fund >/dev/null 2>&1 || npm install --no-audit --no-fund >/dev/null)
fi
work=$(mktemp -d)
cpid=""
trap 'if [[ -n $cpid ]]; then kill "$cpid" 2>/dev/null || true; wait "$cpid" 2>/dev/null || true; fi; if [[ -z ${KEEP:-} ]]; then rm -rf "$work"; else echo "work dir: $work"; fi' EXIT
mkdir -p "$artifacts" "$work/keys"
"$keygen" correlator --out "$work/keys" >/dev/null
"$keygen" sensor-b --out "$work/keys" >/dev/null
"$make_pcap" "$work/sample.pcap" >/dev/null
cport=$((20000 + RANDOM % 20000))
hport=$((cport + 1))
cat >"$work/console.yaml" <<YAML
listen: 127.0.0.1:$hport
policy: $root/deploy/config/policy.yaml
web_root: $root/console/web
rules: [$rules]
YAML
cat >"$work/correlator.yaml" <<YAML
listen: tcp://127.0.0.1:$cport
data_dir: $work/data
server_key_file: keys/correlator.key
policy: $root/deploy/config/policy.yaml
console: console.yaml
sensors:
  - id: sensor-b
    public_key_file: keys/sensor-b.pub
    tenant: bo-tai-chinh
rules: [$root/deploy/config/correlation/default.yaml]
YAML
"$correlator" -c "$work/correlator.yaml" >"$artifacts/correlator.log" 2>&1 &
cpid=$!
for _ in $(seq 1 100); do
  curl -s -o /dev/null "http://127.0.0.1:$hport/api/v1/me" && break
  kill -0 "$cpid" 2>/dev/null || { cat "$artifacts/correlator.log"; exit 1; }
  sleep 0.1
done
export VIGIL_URL="http://127.0.0.1:$hport/" VIGIL_ARTIFACTS="$artifacts" CHROMIUM="$chromium"
# The test starts the sensor itself once the browser shows the (empty) live queue.
export VIGIL_SENSOR_CMD="$sensor -r $work/sample.pcap -S $rules -l $work/sensor --workers 1 --correlator tcp://127.0.0.1:$cport --set correlator.sensor-id=sensor-b --set correlator.key-file=$work/keys/sensor-b.key --set correlator.server-public-key-file=$work/keys/correlator.pub"
mkdir -p "$work/sensor"
node "$here/console.test.mjs"
