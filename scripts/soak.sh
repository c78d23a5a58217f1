#!/usr/bin/env bash
# A long run of mixed traffic (see scripts/load/soak.go): `me`, refresh, login and WebSocket
# subscriptions opening and closing, all at once, with one report line per interval (each
# kind's throughput and p99, the server's resident memory and goroutines from /metrics, the
# SQLite database's size) and a summary of the growth from the second interval to the last.
# The server is built and started as the benchmarks do (scripts/server.sh); DATABASE_URL and
# other variables in the environment reach it.
#
# Usage: scripts/soak.sh [duration] [interval]   (default 10m 1m; PORT overrides, default 18110)
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/server.sh

start_server 18110
"$load" -url "$url" -soak "${1:-10m}" -every "${2:-1m}" -data "$tmp/data"
