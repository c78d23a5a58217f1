#!/usr/bin/env bash
# Rebuilds the playground's vendored assets in web/assets/ from the npm registry.
#
# The built files are committed, so `go run .` and `go build` need no Node. Run this only to
# change a version: edit the pins below, run `bash web/build.sh`, check the page (bash
# clients/run.sh opens it in Chromium), commit. `npm pack` checks each tarball against the
# registry's integrity hash. The files are copied byte for byte; the server serves them under
# content-hashed names (web/web.go), so a changed file gets a new URL.
set -euo pipefail

GRAPHIQL=4.1.2  # graphiql.min.js/.css: the UMD build (React and ReactDOM as globals)
REACT=18.2.0    # react/umd/react.production.min.js
REACT_DOM=18.2.0 # react-dom/umd/react-dom.production.min.js (createRoot included)
QRCODE=2.0.4    # qrcode-generator/dist/qrcode.js: the Security panel's TOTP QR code (a global qrcode)

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
out="$here/assets"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

cd "$tmp"
npm pack --silent "graphiql@$GRAPHIQL" "react@$REACT" "react-dom@$REACT_DOM" "qrcode-generator@$QRCODE" >/dev/null
for pkg in "graphiql-$GRAPHIQL" "react-$REACT" "react-dom-$REACT_DOM" "qrcode-generator-$QRCODE"; do
	mkdir "${pkg%-*}"
	tar -xzf "$pkg.tgz" -C "${pkg%-*}" --strip-components=1
done

install -m 0644 graphiql/graphiql.min.js "$out/graphiql.min.js"
install -m 0644 graphiql/graphiql.min.css "$out/graphiql.min.css"
install -m 0644 react/umd/react.production.min.js "$out/react.production.min.js"
install -m 0644 react-dom/umd/react-dom.production.min.js "$out/react-dom.production.min.js"
install -m 0644 qrcode-generator/dist/qrcode.js "$out/qrcode.js"

{
	echo "Third-party code in web/assets/ (rebuilt by web/build.sh)."
	echo
	for pkg in graphiql react react-dom qrcode-generator; do
		ver="$(node -p "require('./$pkg/package.json').version")"
		echo "==== $pkg@$ver ($(node -p "require('./$pkg/package.json').license")) ===="
		if [ -f "$pkg/LICENSE" ]; then
			cat "$pkg/LICENSE"
		else # qrcode-generator has no LICENSE file: its notice is the header comment (16 lines)
			sed -n '1,16p' "$pkg/dist/qrcode.js"
		fi
		echo
	done
} >"$here/THIRD_PARTY_LICENSES.txt"

cd "$out"
sha256sum graphiql.min.js graphiql.min.css react.production.min.js react-dom.production.min.js qrcode.js
