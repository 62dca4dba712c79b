#!/usr/bin/env bash
# Fuzz smoke run for CI: builds the libFuzzer targets of tests/fuzz with clang (ASan + UBSan) in
# its own build directory and runs each for a bounded time on its corpus.
#
# Usage: deploy/fuzz-smoke.sh [BUILD_DIR] [SECONDS]
#   BUILD_DIR  clang build directory (default: build-fuzz at the repository root)
#   SECONDS    time per target (default 20)
# Env: VIGIL_FUZZ_TARGETS="http dns ..." to run a subset; VIGIL_FUZZ_JOBS (default: nproc).
#
# New inputs libFuzzer finds go to a temporary directory, never into the repository. Exit 0 when
# no target crashed (or clang-14 is missing: the run is skipped with a message), 1 on a crash,
# 2 on a build failure. See docs/fuzzing.md.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD_DIR="${1:-$ROOT/build-fuzz}"
SECONDS_PER_TARGET="${2:-20}"
TARGETS="${VIGIL_FUZZ_TARGETS:-http dns tls rules decode}"
JOBS="${VIGIL_FUZZ_JOBS:-$(nproc)}"

if ! command -v clang++-14 >/dev/null 2>&1 || ! command -v clang-14 >/dev/null 2>&1; then
  echo "fuzz-smoke: clang-14 not found; skipping the fuzz smoke run (apt-get install clang-14 libclang-rt-14-dev)"
  exit 0
fi

FLAGS="-fsanitize=address,undefined,fuzzer-no-link -fno-sanitize-recover=undefined -fno-omit-frame-pointer -g -O1"
start=$(date +%s)
mkdir -p "$BUILD_DIR"
echo "fuzz-smoke: configuring $BUILD_DIR"
if ! cmake -S "$ROOT" -B "$BUILD_DIR" -DVIGIL_FUZZ=ON -DVIGIL_BUILD_TESTS=OFF -DVIGIL_BUILD_BENCH=OFF \
    -DCMAKE_BUILD_TYPE=Debug -DCMAKE_C_COMPILER=clang-14 -DCMAKE_CXX_COMPILER=clang++-14 \
    "-DCMAKE_C_FLAGS=$FLAGS" "-DCMAKE_CXX_FLAGS=$FLAGS" >"$BUILD_DIR/fuzz-smoke-configure.log" 2>&1; then
  cat "$BUILD_DIR/fuzz-smoke-configure.log"
  echo "fuzz-smoke: configure failed"
  exit 2
fi
exes=()
for t in $TARGETS; do exes+=("fuzz_$t"); done
echo "fuzz-smoke: building ${exes[*]}"
if ! cmake --build "$BUILD_DIR" -j"$JOBS" --target "${exes[@]}" >"$BUILD_DIR/fuzz-smoke-build.log" 2>&1; then
  tail -n 60 "$BUILD_DIR/fuzz-smoke-build.log"
  echo "fuzz-smoke: build failed (full log: $BUILD_DIR/fuzz-smoke-build.log)"
  exit 2
fi
echo "fuzz-smoke: built in $(( $(date +%s) - start )) s"

work="$(mktemp -d -t vigil-fuzz.XXXXXX)"
failed=()
for t in $TARGETS; do
  exe="$BUILD_DIR/tests/fuzz/fuzz_$t"
  seeds="$ROOT/tests/fuzz/corpus/$t"
  newdir="$work/corpus-$t"
  artifacts="$work/artifacts-$t/"
  mkdir -p "$newdir" "$artifacts"
  echo "fuzz-smoke: fuzz_$t for ${SECONDS_PER_TARGET}s (corpus $seeds, new inputs in $newdir)"
  # The first corpus directory receives new inputs: the temp one, so the repository stays clean.
  set +e
  ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:${ASAN_OPTIONS:-}" \
  UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:${UBSAN_OPTIONS:-}" \
    "$exe" -max_total_time="$SECONDS_PER_TARGET" -timeout=25 -rss_limit_mb=2048 -max_len=8192 \
      -print_final_stats=1 -artifact_prefix="$artifacts" "$newdir" "$seeds" \
      >"$work/fuzz_$t.log" 2>&1
  rc=$?
  set -e
  grep -E '^(stat::number_of_executed_units|stat::new_units_added|Done )' "$work/fuzz_$t.log" | tr '\n' ' ' || true
  echo
  if [ "$rc" -ne 0 ]; then
    failed+=("$t")
    echo "fuzz-smoke: fuzz_$t FAILED (exit $rc); last lines of $work/fuzz_$t.log:"
    tail -n 60 "$work/fuzz_$t.log"
    for f in "$artifacts"*; do
      [ -e "$f" ] || continue
      echo "fuzz-smoke: reproducer: $f"
      echo "  replay:   $exe $f"
      echo "  keep it:  cp $f $ROOT/tests/fuzz/crashes/$t/   (until fixed; then move it to"
      echo "            tests/fuzz/corpus/$t/ so fuzz_replay_$t keeps it as a regression test)"
    done
  fi
done

echo "fuzz-smoke: total $(( $(date +%s) - start )) s"
if [ "${#failed[@]}" -ne 0 ]; then
  echo "fuzz-smoke: crashes in: ${failed[*]} (logs and reproducers kept in $work)"
  exit 1
fi
rm -rf "$work"
echo "fuzz-smoke: no crashes"
