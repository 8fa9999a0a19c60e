#!/usr/bin/env bash
# The whole test suite, as README.md gives it: the main Go suite first (unit,
# golden CLI scripts, end-to-end trigger tests, the shipped connectors' suites,
# the docs' examples), then the heavy end-to-end suites as steps of their own,
# each of which installs and starts what it needs.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/usr/local/go/bin:$HOME/go/bin:$PATH"

step() { printf '\n== %s\n' "$*"; }

step "go test -race ./..."
go test -race ./...

step "the build with the Temporal engine (-tags temporal): vet, and the CLI's golden scripts"
go vet -tags temporal ./cmd/flowrun/
go test -tags temporal -run 'TestTemporal|TestScripts' ./cmd/flowrun/

step "cross-builds: the files for other systems compile (macOS, Windows)"
for os in darwin windows; do CGO_ENABLED=0 GOOS=$os GOARCH=amd64 go build -o /dev/null ./cmd/flowrun; done

step "bench module: vet and its tests (the benchmark harness must keep building)"
(cd bench && go vet ./... && go test ./...)

step "console in a real browser (scripts/e2e-console.sh: chromium + playwright-core, mermaid's parser)"
bash scripts/e2e-console.sh

step "end to end on Temporal and Postgres: two workers, one SIGKILLed mid-run (scripts/e2e-temporal.sh)"
bash scripts/e2e-temporal.sh
