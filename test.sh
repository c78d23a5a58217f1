#!/usr/bin/env bash
# Runs every test: the Go suites with the race detector (unit, fuzz seed corpora, the store
# conformance suite on SQLite and PostgreSQL, Redis, end-to-end through the real server), then
# the real-client tests in clients/ (Apollo Client, graphql-ws, graphql-http audit, Chromium).
#
# PostgreSQL (127.0.0.1:5432, database test; TEST_DATABASE_URL overrides) and Redis
# (127.0.0.1:6379; TEST_REDIS_URL overrides) are used when present; their tests skip when absent,
# unless REQUIRE_INTEGRATION=1 (CI sets it), which turns a skip into a failure.
set -euo pipefail
cd "$(dirname "$0")"

go test -race -count=1 -timeout 30m ./...

# The timing and heap-size tests skip (or check less) under -race, which makes bcrypt about 15
# times slower and changes what allocations cost; they run here once more without it.
go test -count=1 -timeout 30m -run '^(TestNoEnumerationAfterCostRaise|TestMFANoEnumerationByTiming|TestLoginInFlightRacingAccountChange|TestMemoryLimiterSizeBound)$' ./e2e/ ./auth/

if [ -f clients/run.sh ]; then
  bash clients/run.sh
fi
