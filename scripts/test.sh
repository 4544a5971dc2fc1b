#!/usr/bin/env bash
# Installs what is needed, then builds and runs every test twice: a normal
# build and an AddressSanitizer + UndefinedBehaviorSanitizer build.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh
JOBS=$(nproc)

run_suite() {
  local dir=$1
  shift
  echo "=== building in $dir ($*)"
  # Called as `run_suite ... || status=1`, where bash ignores `set -e`: a
  # failed build must stop here, not leave ctest to report every test as
  # not built.
  cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >/dev/null || return 1
  cmake --build "$dir" -j"$JOBS" || { echo "=== build in $dir FAILED"; return 1; }
  echo "=== testing in $dir"
  (cd "$dir" && ctest -j"$JOBS" --output-on-failure --timeout 180)
}

status=0
run_suite build || status=1
# -O1 -g1 halves the instrumented build's compile time against -O2 -g and
# keeps function names and line numbers in the sanitizers' reports.
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  run_suite build-asan -DHERALD_SANITIZE=ON -DHERALD_BUILD_BENCH=OFF \
  "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -g1 -DNDEBUG" "-DCMAKE_C_FLAGS_RELWITHDEBINFO=-O1 -g1 -DNDEBUG" || status=1

if [[ $status -ne 0 ]]; then
  echo "=== FAILED: see the ctest summaries above"
fi
exit $status
