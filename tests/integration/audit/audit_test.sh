#!/usr/bin/env bash
# The audit log end to end (see CMakeLists.txt here):
#   audit_test.sh VIGIL_AUDIT VIGIL_CORRELATOR VIGIL_KEYGEN VIGIL_SEED_ALERTS
# Analysts change alerts and escalate them with the real vigil-correlator CLI; vigil-audit then
# exports, proves and verifies offline; edited entries, a forged head, a wrong key, a truncated
# and a rewritten history must all fail, naming what failed. Every process started here is
# stopped by its pid on exit.
set -euo pipefail
audit=$1 correlator=$2 keygen=$3 seed=$4
work=$(mktemp -d "${TMPDIR:-/tmp}/vigil-audit-it-XXXXXX")
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL (audit): $*" >&2; exit 1; }
log() { echo "[audit] $*"; }

# expect_fail WHAT PATTERN COMMAND...: the command must exit 1 and print PATTERN.
expect_fail() {
  local what=$1 pattern=$2; shift 2
  local out rc=0
  out=$("$@" 2>&1) || rc=$?
  [[ $rc == 1 ]] || { echo "$out" >&2; fail "$what: expected exit 1, got $rc"; }
  grep -q -- "$pattern" <<<"$out" || { echo "$out" >&2; fail "$what: output does not name '$pattern'"; }
  log "detected as expected ($what): $(grep -m1 FAIL <<<"$out" || echo "$out" | head -1)"
}
expect_ok() {
  local what=$1; shift
  local out
  out=$("$@" 2>&1) || { echo "$out" >&2; fail "$what: failed"; }
  grep -q '^OK' <<<"$out" || { echo "$out" >&2; fail "$what: no OK line"; }
  log "$what: $(grep '^OK' <<<"$out")"
}
field() {  # FILE KEY: a top-level field of the first JSON line
  python3 -c 'import json,sys; print(json.loads(open(sys.argv[1]).readline())[sys.argv[2]])' "$1" "$2"
}

"$keygen" correlator --out "$work/keys" >/dev/null
"$keygen" sensor-1 --out "$work/keys" >/dev/null
make_config() {  # NAME
  cat > "$work/$1.yaml" <<YAML
listen: ipc://$work/$1.sock
data_dir: $work/$1-data
server_key_file: keys/correlator.key
stats_file: $work/$1-stats.json
log_level: warn
sensors:
  - id: sensor-1
    public_key_file: keys/sensor-1.pub
    tenant: moh
YAML
}
make_config a
db=$work/a-data/db
mapfile -t ids < <("$seed" "$db" 3)
((${#ids[@]} == 3)) || fail "seeding alerts"
pub=$db/audit.key.pub
[[ -s "$pub" ]] || fail "no public key file next to the store"
[[ $(stat -c %a "$db/audit.key") == 600 ]] || fail "secret key file is not mode 600"

"$audit" head --data-dir "$db" > "$work/head0.json"
[[ $(field "$work/head0.json" tree_size) == 0 ]] || fail "a fresh log must have an empty signed head"

cli() { "$correlator" -c "$work/a.yaml" "$@" >/dev/null || fail "vigil-correlator $*"; }
cli alert "${ids[0]}" --status acknowledged --actor alice
cli alert "${ids[0]}" --assignee bob --actor alice
cli alert "${ids[1]}" --note "looked at the payload" --actor bob
cli alert "${ids[1]}" --status closed --verdict false-positive --actor bob
"$audit" head --data-dir "$db" > "$work/head4.json"
[[ $(field "$work/head4.json" tree_size) == 4 ]] || fail "four changes must make four entries"
incident=$("$correlator" -c "$work/a.yaml" escalate "${ids[0]}" "${ids[2]}" --title "lateral movement" --actor carol)
"$audit" head --data-dir "$db" > "$work/head7.json"
[[ $(field "$work/head7.json" tree_size) == 7 ]] || fail "escalating two alerts must add three entries"

# Everything done to one alert; everything one actor did in a time range.
"$audit" export --data-dir "$db" --object "${ids[0]}" -o "$work/alert0.jsonl"
actions=$(python3 -c 'import json,sys; print(",".join(json.loads(l)["action"] for l in open(sys.argv[1]) if "\"entry\"" in l))' "$work/alert0.jsonl")
[[ $actions == "alert.status,alert.assign,alert.escalate" ]] || fail "history of ${ids[0]}: $actions"
expect_ok "verify the history of one alert" "$audit" verify --export "$work/alert0.jsonl" --public-key "$pub"
"$audit" export --data-dir "$db" --object "$incident" -o "$work/incident.jsonl"
grep -q '"action":"incident.create"' "$work/incident.jsonl" || fail "the incident's creation is not in its history"
now=$(date +%s)
"$audit" export --data-dir "$db" --actor alice --from $((now - 3600)) --to $((now + 3600)) -o "$work/alice.jsonl"
[[ $(grep -c '"type":"entry"' "$work/alice.jsonl") == 2 ]] || fail "alice made two changes"
"$audit" export --data-dir "$db" --actor alice --from $((now + 3600)) -o "$work/alice-later.jsonl"
[[ $(grep -c '"type":"entry"' "$work/alice-later.jsonl" || true) == 0 ]] || fail "time range not applied"
# The before/after hashes chain: the second change of alert 0 starts where the first ended.
python3 - "$work/alert0.jsonl" <<'PY' || fail "before/after hashes do not chain"
import json, sys
es = [json.loads(l) for l in open(sys.argv[1]) if '"entry"' in l]
assert all(e["before_hash"] and e["after_hash"] and e["before_hash"] != e["after_hash"] for e in es), es
assert es[0]["after_hash"] == es[1]["before_hash"], es
PY

# A full export with a consistency proof from the head the auditor kept at 4 entries.
"$audit" export --data-dir "$db" --since "$work/head4.json" -o "$work/all.jsonl"
out=$("$audit" verify --export "$work/all.jsonl" --public-key "$pub" --old-head "$work/head4.json")
grep -q "root recomputed from all entries matches" <<<"$out" || fail "full export: root not recomputed: $out"
grep -q "consistent with the old head of 4 entries" <<<"$out" || fail "full export: consistency not checked: $out"
log "full export: $(grep '^OK' <<<"$out")"
expect_ok "check every stored leaf" "$audit" check --data-dir "$db" --public-key "$pub"

# Tampering with an export: change who did entry 3.
sed 's/"actor":"bob","actor_role":"","actor_tenant":"","after_hash"/"actor":"eve","actor_role":"","actor_tenant":"","after_hash"/' \
  "$work/all.jsonl" > "$work/tampered.jsonl"
python3 - "$work/tampered.jsonl" <<'PY' || fail "sed did not change exactly entries 3 and 4"
import json, sys
es = [json.loads(l) for l in open(sys.argv[1]) if '"entry"' in l]
assert [e["seq"] for e in es if e["actor"] == "eve"] == [3, 4], es
PY
expect_fail "edited entries in an export" "entry 3" "$audit" verify --export "$work/tampered.jsonl" --public-key "$pub"
expect_fail "edited entries in an export" "entry 4" "$audit" verify --export "$work/tampered.jsonl" --public-key "$pub"
# A forged tree head (any field changed) no longer matches its signature.
python3 - "$work/all.jsonl" "$work/forged.jsonl" <<'PY'
import json, sys
out = open(sys.argv[2], "w")
for l in open(sys.argv[1]):
    j = json.loads(l)
    if j["type"] == "tree_head":
        j["timestamp"] += 1
    out.write(json.dumps(j, separators=(",", ":")) + "\n")
PY
expect_fail "a forged tree head" "signature does not verify" "$audit" verify --export "$work/forged.jsonl" --public-key "$pub"
"$keygen" other --out "$work/keys" >/dev/null
make_config other
"$seed" "$work/other-data/db" 1 >/dev/null
expect_fail "another key" "signature does not verify" \
  "$audit" verify --export "$work/all.jsonl" --public-key "$work/other-data/db/audit.key.pub"

# Single proofs, offline.
python3 - "$work/all.jsonl" "$work" <<'PY'
import json, sys
for l in open(sys.argv[1]):
    j = json.loads(l)
    if j["type"] == "entry" and j["seq"] == 5:
        open(sys.argv[2] + "/entry5.json", "w").write(l)
PY
"$audit" prove-inclusion --data-dir "$db" --seq 5 > "$work/proof5.json"
expect_ok "inclusion of entry 5" "$audit" verify-inclusion --head "$work/head7.json" --entry "$work/entry5.json" \
  --proof "$work/proof5.json" --public-key "$pub"
sed 's/"reason":"[^"]*"/"reason":"nothing happened"/' "$work/entry5.json" > "$work/entry5-edited.json"
expect_fail "an edited entry" "entry 5" "$audit" verify-inclusion --head "$work/head7.json" \
  --entry "$work/entry5-edited.json" --proof "$work/proof5.json" --public-key "$pub"

"$audit" prove-consistency --data-dir "$db" --old 4 > "$work/cons4-7.json"
expect_ok "head 7 extends head 4" "$audit" verify-consistency --old "$work/head4.json" --new "$work/head7.json" \
  --proof "$work/cons4-7.json" --public-key "$pub"
expect_fail "a truncated history" "history truncated" "$audit" verify-consistency --old "$work/head7.json" \
  --new "$work/head4.json" --proof "$work/cons4-7.json" --public-key "$pub"

# A rewritten history, signed with the real key (an attacker who has it): store b gets the same
# key, different entries, and grows past 7. The auditor's head of 7 exposes it.
make_config b
mkdir -p "$work/b-data/db"
cp "$db/audit.key" "$db/audit.key.pub" "$work/b-data/db/"
mapfile -t bids < <("$seed" "$work/b-data/db" 3)
for i in 1 2 3 4 5; do
  "$correlator" -c "$work/b.yaml" alert "${bids[0]}" --note "n$i" --actor mallory >/dev/null || fail "store b"
done
for i in 1 2 3 4; do
  "$correlator" -c "$work/b.yaml" alert "${bids[1]}" --note "m$i" --actor mallory >/dev/null || fail "store b"
done
"$audit" head --data-dir "$work/b-data/db" > "$work/b-head.json"
[[ $(field "$work/b-head.json" tree_size) == 9 ]] || fail "store b should hold 9 entries"
[[ $(field "$work/b-head.json" public_key) == $(cat "$pub") ]] || fail "store b should sign with a's key"
"$audit" prove-consistency --data-dir "$work/b-data/db" --old 7 > "$work/b-cons.json"
expect_fail "a rewritten history" "history was rewritten or truncated" "$audit" verify-consistency \
  --old "$work/head7.json" --new "$work/b-head.json" --proof "$work/b-cons.json" --public-key "$pub"
"$audit" export --data-dir "$work/b-data/db" --since "$work/head7.json" -o "$work/b-all.jsonl"
expect_fail "a rewritten history in an export" "history was rewritten or truncated" \
  "$audit" verify --export "$work/b-all.jsonl" --public-key "$pub" --old-head "$work/head7.json"
# Store b's own export still verifies on its own: only the auditor's earlier head exposes it.
expect_ok "store b's export alone" "$audit" verify --export "$work/b-all.jsonl" --public-key "$pub"

# Reading a live store: the correlator holds the database; vigil-audit reads it as a secondary.
rm -f "$work/a-stats.json"
"$correlator" -c "$work/a.yaml" 2>>"$work/a.log" &
cpid=$!
pids+=("$cpid")
deadline=$((SECONDS + 20))
until [[ -s "$work/a-stats.json" ]]; do
  ((SECONDS < deadline)) || { cat "$work/a.log" >&2; fail "correlator did not start"; }
  sleep 0.05
done
"$audit" head --data-dir "$db" > "$work/head-live.json" || fail "vigil-audit cannot read the store while the correlator runs"
[[ $(field "$work/head-live.json" tree_size) == 7 ]] || fail "live head: $(cat "$work/head-live.json")"
expect_ok "check while the correlator runs" "$audit" check --data-dir "$db" --public-key "$pub"
kill -TERM "$cpid"
wait "$cpid" || true
log "OK"
