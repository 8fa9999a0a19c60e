#!/usr/bin/env bash
# End to end on a real Temporal dev server and a real Postgres: the Postgres
# store's tests, then two `flowrun worker`s running many place_order runs
# while one of them is SIGKILLed; every run must complete with each effect
# applied exactly once (engine/temporal/e2e_test.go); a flow that branches
# on uuid() and now() replayed from its history; and the webhook ingress
# (flowrun serve --engine temporal, state in Postgres): signed deliveries
# posted twice each reach the worker's sink exactly once
# (engine/temporal/e2e_ingress_test.go); a poll trigger as a Temporal
# Schedule keeps its cursor across a worker's loss, and trigger off deletes
# the Schedule (engine/temporal/e2e_schedule_test.go); a 3 MB document
# through start and a worker with --payload-key and the claim check
# (engine/temporal/e2e_large_test.go); connection revoke deletes a
# connection's Schedules and cancels its running workflows
# (engine/temporal/e2e_revoke_test.go). Installs what is
# missing: PostgreSQL from Debian, the Temporal CLI (its dev server) built
# from the Go module proxy.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/usr/local/go/bin:$HOME/go/bin:$PATH"
source scripts/lib-postgres.sh

TEMPORAL_CLI_VERSION=v1.5.1
TPORT="${FLOWRUN_E2E_TEMPORAL_PORT:-57233}"
PPORT="${FLOWRUN_E2E_PG_PORT:-55433}"
start=$(date +%s)
WORK="$(mktemp -d /tmp/flowrun-e2e.XXXXXX)"
TPID=
cleanup() {
	if [ -n "$TPID" ]; then kill "$TPID" 2>/dev/null || true; wait "$TPID" 2>/dev/null || true; fi
	pg_stop
	rm -rf "$WORK"
}
trap cleanup EXIT

if ! command -v temporal >/dev/null; then
	echo "e2e-temporal: building the Temporal CLI $TEMPORAL_CLI_VERSION (first time: several minutes)"
	go install "github.com/temporalio/cli/cmd/temporal@$TEMPORAL_CLI_VERSION"
fi
pg_start "$PPORT"

temporal server start-dev --headless --port "$TPORT" --ip 127.0.0.1 --log-level error >"$WORK/temporal.log" 2>&1 &
TPID=$!
for _ in $(seq 1 120); do
	if temporal operator cluster health --address "127.0.0.1:$TPORT" >/dev/null 2>&1; then break; fi
	sleep 0.5
done
temporal operator cluster health --address "127.0.0.1:$TPORT"

go build -tags temporal -o "$WORK/flowrun" ./cmd/flowrun
export FLOWRUN_E2E_TEMPORAL="127.0.0.1:$TPORT" FLOWRUN_E2E_BIN="$WORK/flowrun"
set +e
# FLOWRUN_E2E_RUN=REGEXP runs only the matching tests (go test -run).
go test -count=1 -v ${FLOWRUN_E2E_RUN:+-run "$FLOWRUN_E2E_RUN"} ./trigger/pgstore/ ./engine/temporal/ >"$WORK/test.log" 2>&1
rc=$?
set -e
grep -vE '^=== (RUN|PAUSE|CONT)' "$WORK/test.log"
if [ "$rc" != 0 ]; then echo "e2e-temporal: FAILED"; exit "$rc"; fi
echo "e2e-temporal: passed in $(( $(date +%s) - start ))s"
