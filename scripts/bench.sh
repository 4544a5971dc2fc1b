#!/usr/bin/env bash
# Runs every benchmark and writes the results to build/bench/results.md
# (docs/performance.md explains each figure):
#
#   bash scripts/bench.sh
#
# Installs what is needed (scripts/install-deps.sh --bench), builds the
# Release-with-debug-info configuration in build/ (-DHERALD_BUILD_BENCH=ON),
# then runs, on 127.0.0.1 only:
#   - end to end (build/bench/herald_bench_e2e): the libcurl multi ceiling,
#     syslog-ng, heraldd with synchronous=NORMAL and FULL, latency at a paced
#     rate, a backlog of a million waiting notifications, the catch-up after an
#     endpoint's outage;
#   - the micro benchmarks (rules, render, json, state).
# Every process it starts (nginx, syslog-ng, heraldd) is stopped at the end,
# also on failure or Ctrl-C; each phase has a time limit.
#
# Settings (environment):
#   BENCH_N=200000          events for the throughput runs
#   BENCH_BODY_BYTES=1024   body size
#   BENCH_RATE=1000         events per second for the latency run
#   BENCH_LATENCY_SECONDS=10
#   BENCH_BACKLOG=1000000   notifications waiting in the backlog run
#   BENCH_CONCURRENCY=8,16,32,64   connections tried for the ceiling (the best is reported)
#   BENCH_SYSLOG_NG_WORKERS=8
#   BENCH_ROUNDS=3          rounds of the throughput runs (each reported as its median round)
#   BENCH_SKIP=             phases to leave out: ceiling,syslog-ng,normal,full,latency,backlog,drain,micro
#   BENCH_JOBS=$(nproc)     build jobs
#   BENCH_BUILD_DIR=build
set -euo pipefail
cd "$(dirname "$0")/.."

BUILD=${BENCH_BUILD_DIR:-build}
OUT_DIR=$BUILD/bench
RESULTS=$OUT_DIR/results.md
SKIP=${BENCH_SKIP:-}

bash scripts/install-deps.sh --bench

launcher=()
if command -v ccache >/dev/null; then
  launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_C_COMPILER_LAUNCHER=ccache)
fi
echo "=== building in $BUILD (RelWithDebInfo)"
cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DHERALD_BUILD_BENCH=ON "${launcher[@]}" >/dev/null
cmake --build "$BUILD" -j"${BENCH_JOBS:-$(nproc)}" --target heraldd herald_plugin_rest herald_bench_e2e \
  herald_bench_ceiling herald_bench_rules herald_bench_render herald_bench_json herald_bench_state

mkdir -p "$OUT_DIR"
E2E=$OUT_DIR/e2e.md
rm -f "$E2E" "$RESULTS"

# The driver stops its children when it ends or gets SIGINT/SIGTERM; the
# outer timeout bounds the whole run (each phase has 10 minutes at most).
status=0
echo "=== end to end"
timeout -k 30 3900 "$OUT_DIR/herald_bench_e2e" \
  --n "${BENCH_N:-200000}" --body-bytes "${BENCH_BODY_BYTES:-1024}" \
  --rate "${BENCH_RATE:-1000}" --latency-seconds "${BENCH_LATENCY_SECONDS:-10}" \
  --backlog "${BENCH_BACKLOG:-1000000}" --concurrency "${BENCH_CONCURRENCY:-8,16,32,64}" \
  --syslog-ng-workers "${BENCH_SYSLOG_NG_WORKERS:-8}" --rounds "${BENCH_ROUNDS:-3}" --phase-timeout 600 \
  --skip "${SKIP:-none}" --out "$E2E" || status=1

{
  echo "# Herald benchmark results"
  echo
  echo "$(date -u '+%Y-%m-%d %H:%M UTC'), commit $(git rev-parse --short HEAD 2>/dev/null || echo '?'), \`bash scripts/bench.sh\`"
  echo
  echo "## End to end"
  echo
  if [[ -f $E2E ]]; then cat "$E2E"; else echo "(the end-to-end run failed; see its output above)"; fi
} >"$RESULTS"

if [[ ",$SKIP," != *",micro,"* ]]; then
  echo "=== micro benchmarks"
  {
    echo
    echo "## Micro benchmarks"
    for b in rules render json state; do
      echo
      echo "### herald_bench_$b"
      echo
      echo '```'
      timeout 600 "$OUT_DIR/herald_bench_$b" --benchmark_min_time=0.5 2>&1 || status=1
      echo '```'
    done
  } | tee -a "$RESULTS"
fi

echo "=== results in $RESULTS"
exit $status
