#!/usr/bin/env bash
# The service's figures on PostgreSQL with one or more instances sharing the database (and Redis
# when REDIS_URL is set): builds the server and the load driver (scripts/load), creates a fresh
# schema in the database DATABASE_URL names, starts N instances on consecutive ports with the same
# signing key, and runs each scenario against all instances at once (one driver per instance,
# the connections split between them). Prints each driver's line and the sum.
#
# Usage: DATABASE_URL=postgres://… [REDIS_URL=redis://…] scripts/instances.sh N [scenario ...]
#   scenarios as scripts/load.sh (default me login refresh), with its connection counts in all
#   DURATION (default 10s), WARMUP (3s), PORT (the first port, default 18120)
# The schema is dropped at exit. Needs psql for the schema.
set -euo pipefail
cd "$(dirname "$0")/.."
: "${DATABASE_URL:?set DATABASE_URL to a PostgreSQL URL}"
n=${1:?number of instances}
shift
scenarios=("$@")
[ ${#scenarios[@]} -gt 0 ] || scenarios=(me login refresh)
declare -A conns=([me]=32 [public]=32 [login]=8 [refresh]=16)
duration=${DURATION:-10s}
warmup=${WARMUP:-3s}
base=${PORT:-18120}

tmp=$(mktemp -d)
schema="bench_$$"
# psql refuses the pool's own parameters (pool_max_conns=…); it gets the URL without its query.
psql_url="${DATABASE_URL%%\?*}"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  psql "$psql_url" -qc "DROP SCHEMA IF EXISTS $schema CASCADE" >/dev/null 2>&1 || true
  rm -rf "$tmp"
}
trap cleanup EXIT
psql "$psql_url" -qc "CREATE SCHEMA $schema" >/dev/null
sep='?'; case "$DATABASE_URL" in *\?*) sep='&' ;; esac
db="$DATABASE_URL${sep}search_path=$schema"

go build -o "$tmp/gqlauth" .
go build -o "$tmp/load" ./scripts/load
secret=$(head -c 48 /dev/urandom | base64 | tr -d '\n')
for i in $(seq 0 $((n - 1))); do
  port=$((base + i))
  PORT=$port DATA_DIR="$tmp/data$i" DATABASE_URL="$db" JWT_SECRET="$secret" \
    JWT_ISSUER="http://127.0.0.1:$base" JWT_AUDIENCE=bench-api BCRYPT_COST=10 RATE_LIMITS=off \
    ACCESS_TOKEN_TTL=2h "$tmp/gqlauth" 2>"$tmp/server$i.log" &
  pids+=($!)
  # One at a time: the first applies the migrations.
  if ! "$tmp/load" -url "http://127.0.0.1:$port/query" -wait 30s; then
    echo "instance $i did not start; its log:" >&2; tail -n 20 "$tmp/server$i.log" >&2; exit 1
  fi
done

status=0
for s in "${scenarios[@]}"; do
  [ -n "${conns[$s]:-}" ] || { echo "unknown scenario $s" >&2; exit 2; }
  c=$(( (conns[$s] + n - 1) / n ))
  drivers=()
  for i in $(seq 0 $((n - 1))); do
    "$tmp/load" -url "http://127.0.0.1:$((base + i))/query" -c "$c" -d "$duration" -warmup "$warmup" "$s" >"$tmp/out$i" &
    drivers+=($!)
  done
  for d in "${drivers[@]}"; do wait "$d" || status=$?; done
  cat "$tmp"/out*
  awk -v s="$s" -v n="$n" '{ for (i = 1; i <= NF; i++) if ($i ~ /^rps=/) { sub("rps=", "", $i); t += $i } }
    END { printf "%-8s instances=%d total_rps=%.1f\n", s, n, t }' "$tmp"/out*
  rm -f "$tmp"/out*
done
exit "$status"
