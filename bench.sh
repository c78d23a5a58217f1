#!/usr/bin/env bash
# Go benchmarks of the hot paths (see BENCHMARKS.md). Writes bench-<label>.txt; compare two runs
# with benchstat (go install golang.org/x/perf/cmd/benchstat@latest):
#
#   ./bench.sh old            # on the old code
#   ./bench.sh new            # on the new code
#   benchstat bench-old.txt bench-new.txt
#
# COUNT (default 6) repeats each benchmark; BENCH (a -bench regexp) narrows the set.
set -euo pipefail
cd "$(dirname "$0")"
label=${1:-run}
count=${COUNT:-6}
bench=${BENCH:-'^Benchmark(Me|Typename|Refresh|RefreshParallel)$'}
{
  go test -run '^$' -bench "$bench" -benchmem -count "$count" ./e2e/
  go test -run '^$' -bench '^BenchmarkRotate$' -benchmem -cpu 2,8 -count "$count" ./store/sqlite/
} | tee "bench-$label.txt"
