#!/usr/bin/env bash
# Measures `me` latency alone and during a flood of concurrent logins (issue: a login flood must
# not starve cheap requests). Needs wrk (Debian package) and ../shared/bench/drivers/req.lua.
# Usage: scripts/flood.sh [seconds]   (default 15)
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-15}
lua=${REQ_LUA:-../shared/bench/drivers/req.lua}
tmp=$(mktemp -d); trap 'kill $pid 2>/dev/null || true; rm -rf "$tmp"' EXIT
go build -o "$tmp/server" .
PORT=18090 DATA_DIR="$tmp/data" JWT_SECRET=flood-secret-0123456789abcdefghijklmnopqrstuvwxyz \
  BCRYPT_COST=10 RATE_LIMITS=off "$tmp/server" 2>"$tmp/log" & pid=$!
for _ in $(seq 1 100); do curl -sf localhost:18090/healthz >/dev/null && break; sleep 0.1; done
q='mutation { register(input:{email:\"flood@example.com\", password:\"correct horse battery\"}) { accessToken } }'
token=$(curl -s localhost:18090/query -H 'Content-Type: application/json' -d "{\"query\":\"$q\"}" | sed -E 's/.*"accessToken":"([^"]+)".*/\1/')
me() { BENCH_BODY='{"query":"{ me { id email roles } }"}' BENCH_TOKEN=$token BENCH_EXPECT=flood@example.com \
  wrk -t1 -c8 -d"${secs}s" --latency -s "$lua" http://127.0.0.1:18090/query | grep BENCH_RESULT; }
echo "me alone:";  me
login='{"query":"mutation { login(input:{email:\"flood@example.com\", password:\"correct horse battery\"}) { accessToken } }"}'
BENCH_BODY=$login wrk -t1 -c64 -d"$((secs + 4))s" -s "$lua" http://127.0.0.1:18090/query > "$tmp/flood" & fl=$!
sleep 2
echo "me during a flood of 64 concurrent logins:"; me
wait $fl; echo "the flood:"; grep BENCH_RESULT "$tmp/flood"
