#!/usr/bin/env bash
# Measures `me` latency alone and then during a flood of 64 concurrent logins: a login flood
# (bcrypt work) must not starve cheap requests. The server is built and started as the
# benchmarks do (scripts/server.sh); BCRYPT_CONCURRENCY and other variables in the environment
# reach it. The load comes from the repository's own driver, scripts/load.
#
# Usage: scripts/flood.sh [seconds]   (default 15; PORT overrides the port, default 18090)
#   FLOOD_NICE=N runs the flood's own client at nice N (default 0). On a real deployment the
#   flood comes from other machines; here its 64 connections' client shares the server's two
#   cores, and N=10 shows what the server does when the client does not take their CPU.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/server.sh
secs=${1:-15}

start_server 18090
echo "me alone:"
"$load" -url "$url" -c 8 -d "${secs}s" me
nice -n "${FLOOD_NICE:-0}" "$load" -url "$url" -c 64 -d "$((secs + 4))s" login >"$tmp/flood" &
flood=$!
sleep 2
echo "me during a flood of 64 concurrent logins:"
"$load" -url "$url" -c 8 -d "${secs}s" me
status=0
wait "$flood" || status=$?
echo "the flood:"
cat "$tmp/flood"
exit "$status"
