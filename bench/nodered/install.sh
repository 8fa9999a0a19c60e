#!/bin/sh
# Installs node-red (pinned in package.json / package-lock.json) into
# bench/nodered/node_modules for `go run ./cmd/flowbench -nodered`.
set -e
cd "$(dirname "$0")"
if ! command -v npm >/dev/null 2>&1; then
	echo "npm is not on PATH: cannot install Node-RED" >&2
	exit 1
fi
if [ -f package-lock.json ]; then
	npm ci --no-audit --no-fund
else
	npm install --no-audit --no-fund
fi
