#!/usr/bin/env bash
# Instructions per operation of one Go benchmark, counted by valgrind's callgrind: unlike
# seconds, the count repeats from run to run whatever else the machine is doing, so a change of
# a few per cent shows on a shared machine. The benchmark runs twice, N1 and N2 iterations, and
# the difference divided by N2-N1 leaves out the set-up (opening the database, building the
# server).
#
# Usage: scripts/instructions.sh PACKAGE BENCHMARK [N1 N2]      (default 3000 20000)
#   e.g. scripts/instructions.sh ./e2e/ BenchmarkTypename
#
# GODEBUG=asyncpreemptoff=1: callgrind aborts on the runtime's preemption signals. The count
# includes the process's user-space work only: system calls (a WAL write, a socket write) are
# one instruction each, whatever the kernel does for them.
set -euo pipefail
[ $# -ge 2 ] || { sed -n '2,13p' "$0"; exit 2; }
pkg=$1 bench=$2 n1=${3:-3000} n2=${4:-20000}
command -v valgrind >/dev/null || { echo "valgrind is not installed (apt-get install valgrind)" >&2; exit 1; }
bin=$(mktemp -d)/bench.test
trap 'rm -rf "$(dirname "$bin")"' EXIT
go test -c -o "$bin" "$pkg"

count() { # iterations -> instructions of the whole run (callgrind's Collected line)
  local n=$1 out
  for _ in 1 2 3; do # callgrind very occasionally aborts on a signal all the same: retry
    out=$(GODEBUG=asyncpreemptoff=1 valgrind --tool=callgrind --callgrind-out-file=/dev/null \
      "$bin" -test.run '^$' -test.bench "^${bench}\$" -test.benchtime "${n}x" -test.cpu 1 2>&1 |
      awk '/Collected/ {print $4}')
    [ -n "$out" ] && { echo "$out"; return; }
  done
  echo "callgrind failed three times for $bench" >&2; exit 1
}
a=$(count "$n1")
b=$(count "$n2")
echo "$bench instructions/op $(((b - a) / (n2 - n1)))"
