#!/usr/bin/env bash
# Browser end-to-end test of `flowrun console` (docs/console.md): Debian's
# chromium, driven by playwright-core from the npm registry (console/e2e,
# pinned by its package-lock.json), clicks through the pages of a console
# serving every shipped connector, runs an action from its form, follows a
# failed run to its step, checks that no page shows the connection's secret,
# parses every flow's Mermaid with mermaid's own parser, and saves
# screenshots into docs/img/.
#
# It installs chromium with apt-get when it is missing (as root); where the
# browser cannot be installed it says so and skips (exit 0).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/usr/local/go/bin:$HOME/go/bin:$PATH"
root=$(pwd)

chromium=${CHROMIUM:-/usr/bin/chromium}
if [ ! -x "$chromium" ]; then
	if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
		echo "e2e-console: installing Debian's chromium"
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
	fi
fi
if [ ! -x "$chromium" ]; then
	echo "e2e-console: SKIPPED: no chromium at $chromium and it cannot be installed here (apt-get as root)"
	exit 0
fi
if ! command -v npm >/dev/null; then
	echo "e2e-console: SKIPPED: npm is not installed"
	exit 0
fi
(cd console/e2e && npm ci --no-audit --no-fund --silent)

tmp=$(mktemp -d)
pid=
cleanup() {
	if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
	rm -rf "$tmp"
}
trap cleanup EXIT

go build -o "$tmp/flowrun" ./cmd/flowrun
secret="e2e-secret-$(date +%s)-$$"
# the example connector's connection: a secret key, and a base URL where
# nothing answers (the test button's authping fails, as it should)
cat >"$tmp/example.yaml" <<EOT
params:
  base_url: http://127.0.0.1:9
  api_key: $secret
EOT
FLOWRUN_CACHE=off "$tmp/flowrun" console connectors/example connectors/github connectors/okta connectors/slack connectors/stripe \
	--connection "$tmp/example.yaml" --listen 127.0.0.1:0 >"$tmp/out" 2>"$tmp/err" &
pid=$!
for _ in $(seq 1 100); do
	grep -q '^flowrun console on ' "$tmp/out" 2>/dev/null && break
	sleep 0.1
done
url=$(sed -n 's/^flowrun console on //p' "$tmp/out")
if [ -z "$url" ]; then
	echo "e2e-console: the console did not start:"; cat "$tmp/err"; exit 1
fi
echo "e2e-console: console at $url"
mkdir -p docs/img
CHROMIUM="$chromium" node console/e2e/e2e.mjs "$url" "$secret" "$root/docs/img"
kill "$pid"; wait "$pid" 2>/dev/null || true; pid=

# the same console under flowrun serve --console, over a state directory
# whose run history holds real runs recorded by flowrun run --state: one
# that succeeds and one that fails
FLOWRUN_CACHE=off "$tmp/flowrun" run connectors/example summarize --state "$tmp/state" --connection "$tmp/example.yaml" \
	--input '{"orders":[{"id":"a","amount":12,"status":"paid"}]}' >/dev/null
! FLOWRUN_CACHE=off "$tmp/flowrun" run connectors/example summarize --state "$tmp/state" --connection "$tmp/example.yaml" \
	--input '{"orders":[{"id":"a","amount":1}],"pause":"later"}' >/dev/null 2>&1
FLOWRUN_CACHE=off "$tmp/flowrun" serve connectors/example --state "$tmp/state" --connection "$tmp/example.yaml" \
	--listen 127.0.0.1:0 --console >"$tmp/out" 2>"$tmp/err" &
pid=$!
for _ in $(seq 1 100); do
	grep -q 'serving example on http://' "$tmp/err" 2>/dev/null && break
	sleep 0.1
done
url=$(sed -n 's/.*serving example on \(http:\/\/[^ ]*\).*/\1/p' "$tmp/err")
if [ -z "$url" ]; then
	echo "e2e-console: serve did not start:"; cat "$tmp/err"; exit 1
fi
echo "e2e-console: serve --console at $url/console/"
CHROMIUM="$chromium" node console/e2e/serve.mjs "$url/console/" "$secret" "$root/docs/img"
