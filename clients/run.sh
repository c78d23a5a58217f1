#!/usr/bin/env bash
# Runs the end-to-end tests with real clients (Apollo Client, graphql-ws, the graphql-http
# audit, GraphiQL in headless Chromium) against the real binary:
#
#   bash clients/run.sh
#
# It builds the binary, installs Chromium and sqlite3 (apt) if they are missing, installs the
# npm packages from package-lock.json if node_modules is missing, and runs `node --test`. Each
# test file starts its own servers (lib/server.js: free port, fresh DATA_DIR and JWT_SECRET,
# BCRYPT_COST=10); whatever is still running at the end is killed. Exits non-zero on any failure.
# Screenshots and the audit report go to clients/out/.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
tmp="$(mktemp -d)"
export GQLAUTH_PID_DIR="$tmp/pids"
mkdir -p "$GQLAUTH_PID_DIR"

cleanup() {
	local f
	for f in "$GQLAUTH_PID_DIR"/*; do
		[ -e "$f" ] || continue
		kill -KILL "$(cat "$f")" 2>/dev/null || true
	done
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

step() { printf '\n==> %s\n' "$*"; }

# Chromium drives the pages; sqlite3 lets the mail page test age a token in the database.
missing=()
if [ ! -x /usr/bin/chromium ] && [ -z "${CHROMIUM:-}" ]; then missing+=(chromium); fi
if ! command -v sqlite3 >/dev/null; then missing+=(sqlite3); fi
if [ ${#missing[@]} -gt 0 ]; then
	step "installing ${missing[*]} (apt)"
	sudo=""
	if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
	$sudo apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

step "go build"
(cd "$root" && go build -o "$tmp/gqlauth" .)
export GQLAUTH_BIN="$tmp/gqlauth"

cd "$here"
if [ ! -d node_modules ]; then
	step "npm ci"
	npm ci --no-audit --no-fund
fi

step "node --test"
node --test --test-timeout=120000 test/
