#!/usr/bin/env bash
# Browser end-to-end test of `flowrun console` (docs/console.md): Debian's
# chromium, driven by playwright-core from the npm registry (console/e2e,
# pinned by its package-lock.json), clicks through the pages of a console
# serving every shipped connector, runs an action from its form, follows a
# failed run to its step, checks that no page shows the connection's secret,
# parses every flow's Mermaid with mermaid's own parser, and saves
# screenshots into docs/img/. Then, under flowrun serve --console: stored
# runs; the github connector against a fake GitHub (console/e2e/
# fake-service.mjs): a failed delivery replayed, a trigger paused, resumed
# and reset, the connection revoked; and "Log in again" through a fake OAuth
# 2.0 authorization server.
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
fakepid=
cleanup() {
	if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
	if [ -n "$fakepid" ]; then kill "$fakepid" 2>/dev/null || true; wait "$fakepid" 2>/dev/null || true; fi
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
kill "$pid"; wait "$pid" 2>/dev/null || true; pid=

# flowrun serve connectors/github --console against a fake GitHub that also
# plays the sink (down at first) and an OAuth 2.0 authorization server
ghtoken="ghp_e2e$(date +%s)secret$$"
export FAKE_CLIENT_SECRET="e2e-client-secret-$$-$(date +%s)"
export FAKE_ACCESS_TOKEN="e2e-access-token-$$-$(date +%s)"
export FAKE_REFRESH_TOKEN="e2e-refresh-token-$$-$(date +%s)"
node console/e2e/fake-service.mjs "$ghtoken" >"$tmp/fake.out" 2>"$tmp/fake.err" &
fakepid=$!
for _ in $(seq 1 100); do
	grep -q '^fake service on ' "$tmp/fake.out" 2>/dev/null && break
	sleep 0.1
done
fake=$(sed -n 's/^fake service on //p' "$tmp/fake.out")
if [ -z "$fake" ]; then
	echo "e2e-console: the fake service did not start:"; cat "$tmp/fake.err"; exit 1
fi
cat >"$tmp/github.yaml" <<EOT
params:
  token: $ghtoken
  api_url: $fake
EOT
port=$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
ghurl="http://127.0.0.1:$port"
FLOWRUN_CACHE=off "$tmp/flowrun" trigger on connectors/github repository_events --state "$tmp/ghstate" --connection "$tmp/github.yaml" \
	--public-url "$ghurl" --input '{"owner":"octo","repo":"e2e"}' >/dev/null
FLOWRUN_CACHE=off "$tmp/flowrun" trigger on connectors/github new_issues --state "$tmp/ghstate" --connection "$tmp/github.yaml" \
	--input '{"owner":"octo","repo":"e2e"}' >/dev/null
FLOWRUN_CACHE=off "$tmp/flowrun" serve connectors/github --state "$tmp/ghstate" --connection "$tmp/github.yaml" \
	--listen "127.0.0.1:$port" --public-url "$ghurl" --sink "$fake/sink" --console >"$tmp/out" 2>"$tmp/err" &
pid=$!
for _ in $(seq 1 100); do
	grep -q 'serving github on http://' "$tmp/err" 2>/dev/null && break
	sleep 0.1
done
if ! grep -q 'serving github on http://' "$tmp/err"; then
	echo "e2e-console: serve connectors/github did not start:"; cat "$tmp/err"; exit 1
fi
echo "e2e-console: serve connectors/github --console at $ghurl/console/ (fake GitHub at $fake)"
CHROMIUM="$chromium" node console/e2e/github.mjs "$ghurl/console/" "$fake" "$ghtoken" "$root/docs/img"
kill "$pid"; wait "$pid" 2>/dev/null || true; pid=
if grep -qF -e "$ghtoken" "$tmp/err" "$tmp/out"; then
	echo "e2e-console: FAIL: the GitHub token is in serve's output"; exit 1
fi

# "Log in again": the console over the OAuth 2.0 fixture, whose
# authorization server is the fake service
cat >"$tmp/oauth.yaml" <<EOT
params:
  base_url: $fake/oauth
  client_id: e2e-client
  client_secret: $FAKE_CLIENT_SECRET
EOT
FLOWRUN_CACHE=off "$tmp/flowrun" console testdata/trigger/oauth --connection "$tmp/oauth.yaml" --listen 127.0.0.1:0 >"$tmp/out" 2>"$tmp/err" &
pid=$!
for _ in $(seq 1 100); do
	grep -q '^flowrun console on ' "$tmp/out" 2>/dev/null && break
	sleep 0.1
done
url=$(sed -n 's/^flowrun console on //p' "$tmp/out")
if [ -z "$url" ]; then
	echo "e2e-console: the console did not start:"; cat "$tmp/err"; exit 1
fi
CHROMIUM="$chromium" node console/e2e/oauth.mjs "$url" "$fake" "$tmp/oauth.yaml" "$root/docs/img"
kill "$pid"; wait "$pid" 2>/dev/null || true; pid=
for s in "$FAKE_CLIENT_SECRET" "$FAKE_ACCESS_TOKEN" "$FAKE_REFRESH_TOKEN"; do
	if grep -qF -e "$s" "$tmp/err" "$tmp/out"; then
		echo "e2e-console: FAIL: a secret of the login is in the console's output"; exit 1
	fi
done
echo "e2e-console: PASS"
