# Sourced by scripts/load.sh and scripts/flood.sh: builds the server and the load driver
# (scripts/load) into a temporary folder and starts the server as the benchmarks do: a fresh
# DATA_DIR (so a new SQLite database), a random 48-byte JWT_SECRET, BCRYPT_COST=10,
# RATE_LIMITS=off (the load would trip the login limits), ACCESS_TOKEN_TTL=2h (one token outlives
# the run), JWT_AUDIENCE=bench-api. Any other variable in the environment reaches the server too
# (BCRYPT_CONCURRENCY=1, DATABASE_URL=postgres://…).
#
# start_server DEFAULT_PORT sets $url (the GraphQL endpoint), $load (the driver), $tmp and
# $server_pid; the server is stopped by its PID when the script exits. PORT overrides the port.

start_server() {
  local port=${PORT:-$1}
  tmp=$(mktemp -d)
  trap stop_server EXIT
  go build -o "$tmp/gqlauth" .
  go build -o "$tmp/load" ./scripts/load
  load="$tmp/load"
  url="http://127.0.0.1:$port/query"
  PORT=$port DATA_DIR="$tmp/data" JWT_SECRET="$(head -c 48 /dev/urandom | base64 | tr -d '\n')" \
    JWT_ISSUER="http://127.0.0.1:$port" JWT_AUDIENCE=bench-api BCRYPT_COST=10 RATE_LIMITS=off \
    ACCESS_TOKEN_TTL=2h "$tmp/gqlauth" 2>"$tmp/server.log" &
  server_pid=$!
  if ! "$load" -url "$url" -wait 30s; then
    echo "the server did not start; its log:" >&2
    tail -n 20 "$tmp/server.log" >&2
    exit 1
  fi
}

# server_peak_rss prints the server's peak and current resident memory (Linux).
server_peak_rss() {
  if [ -r "/proc/$server_pid/status" ]; then
    grep -E 'VmHWM|VmRSS' "/proc/$server_pid/status" | tr -s ' \t' ' '
  fi
}

stop_server() {
  if [ -n "${server_pid:-}" ]; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$tmp"
}
