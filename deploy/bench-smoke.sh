#!/usr/bin/env bash
# Benchmark smoke run for CI: checks that vigil-bench-sensor runs end to end on a tiny input
# (the generated demo capture and demo rules, one repeat). It measures nothing worth reading;
# real numbers come from the full run described in docs/benchmarks.md.
#
#   deploy/bench-smoke.sh [BUILD_DIR]
#
# Exit 0 when the report was printed, or when there is no sensor binary yet (skipped, with a
# message). Bounded well under a minute.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
build_dir="$(cd "${1:-$root/build}" 2>/dev/null && pwd)" || { echo "bench-smoke: build dir ${1:-$root/build} does not exist" >&2; exit 1; }

sensor="${VIGIL_SENSOR:-$build_dir/sensor/vigil-sensor}"
bench="$build_dir/bench/vigil-bench-sensor"
make_pcap="$build_dir/deploy/vigil-sample-pcap"
rules="$here/sample/demo.rules"

if [[ ! -x "$sensor" ]]; then
  echo "bench-smoke: skipped: no sensor binary at $sensor"
  exit 0
fi
if [[ ! -x "$bench" ]]; then
  if grep -q '^VIGIL_BUILD_BENCH:BOOL=OFF' "$build_dir/CMakeCache.txt" 2>/dev/null; then
    echo "bench-smoke: skipped: built with VIGIL_BUILD_BENCH=OFF"
    exit 0
  fi
  echo "bench-smoke: $bench is missing: build it (cmake --build $build_dir --target vigil-bench-sensor)" >&2
  exit 1
fi
[[ -x "$make_pcap" ]] || { echo "bench-smoke: $make_pcap is missing: build it first" >&2; exit 1; }

work="$(mktemp -d "${TMPDIR:-/tmp}/vigil-bench-smoke-XXXXXX")"
trap 'rm -rf "$work"' EXIT
"$make_pcap" "$work/sample.pcap" >/dev/null

status=0
timeout 50 "$bench" --sensor "$sensor" --pcap "$work/sample.pcap" --rules "$rules" --repeat 1 \
  --out "$work/out" >"$work/report.txt" 2>&1 || status=$?
cat "$work/report.txt"
if [[ $status -ne 0 ]]; then
  [[ $status -eq 124 ]] && echo "bench-smoke: FAILED: timed out after 50 s" >&2 \
                        || echo "bench-smoke: FAILED: vigil-bench-sensor exited with status $status" >&2
  [[ -f "$work/out/eve/sensor.log" ]] && { echo "--- sensor log:" >&2; tail -n 20 "$work/out/eve/sensor.log" >&2; }
  exit 1
fi
if ! grep -q '^report complete$' "$work/report.txt"; then
  echo "bench-smoke: FAILED: the benchmark printed no complete report" >&2
  exit 1
fi
echo "bench-smoke: ok"
