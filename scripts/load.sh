#!/usr/bin/env bash
# The service's own load figures: builds and starts the server as the benchmarks do (see
# scripts/server.sh), then drives it with scripts/load, one scenario after the other, each with
# the connections the comparison with other implementations used:
#
#   me 32, public 32, login 8, refresh 16
#
# Usage: scripts/load.sh [scenario ...]        (default: me public login refresh)
#   DURATION  measured time per scenario (default 10s)
#   WARMUP    unmeasured load before each (default 3s)
#   PORT      the server's port (default 18100)
# At the end it prints the server's peak resident memory (VmHWM). It exits 3 when a scenario got
# wrong answers (its figures are then not comparable), 1 when something failed to start.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/server.sh

duration=${DURATION:-10s}
warmup=${WARMUP:-3s}
declare -A conns=([me]=32 [public]=32 [login]=8 [refresh]=16)
scenarios=("$@")
[ ${#scenarios[@]} -gt 0 ] || scenarios=(me public login refresh)
for s in "${scenarios[@]}"; do
  [ -n "${conns[$s]:-}" ] || { echo "unknown scenario $s (me, public, login, refresh)" >&2; exit 2; }
done

start_server 18100
status=0
for s in "${scenarios[@]}"; do
  "$load" -url "$url" -c "${conns[$s]}" -d "$duration" -warmup "$warmup" "$s" || status=$?
done
server_peak_rss
exit "$status"
