package temporal

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/flowrun/flowrun/trigger"
	"github.com/flowrun/flowrun/trigger/pgstore"
	"github.com/flowrun/flowrun/trigger/pgstore/pgtest"
)

// TestE2EResetAndSetOnPostgres runs when scripts/e2e-temporal.sh has started
// Postgres: `trigger reset` and `trigger set` change a trigger kept in
// Postgres as they do one kept in a state directory, `runs list` and `runs
// show` read the run summaries kept there, and `runs replay` says it needs a
// state directory.
func TestE2EResetAndSetOnPostgres(t *testing.T) {
	bin, dsn := os.Getenv("FLOWRUN_E2E_BIN"), os.Getenv("FLOWRUN_PG_DSN")
	if bin == "" || dsn == "" {
		t.Skip("FLOWRUN_E2E_BIN and FLOWRUN_PG_DSN are not set: run scripts/e2e-temporal.sh")
	}
	// a schema of its own: the other e2e tests turn the same triggers on
	ctx := context.Background()
	dsn, _ = pgtest.Schema(t, dsn, "e2e_state")
	dir := t.TempDir()
	connFile := filepath.Join(dir, "acme.yaml")
	if err := os.WriteFile(connFile, []byte("params:\n  base_url: http://127.0.0.1:9\n  api_key: "+testKey+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	flowrun := func(wantCode int, args ...string) string {
		cmd := exec.Command(bin, args...)
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		if code != wantCode {
			t.Fatalf("flowrun %v: exit %d, want %d\n%s", args, code, wantCode, out)
		}
		return string(out)
	}
	shop, err := filepath.Abs("testdata/shop")
	if err != nil {
		t.Fatal(err)
	}
	out := flowrun(0, "trigger", "on", shop, "new_orders", "-c", connFile, "--state", dsn)
	m := regexp.MustCompile(`trigger (\S+) is on`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("trigger on said:\n%s", out)
	}
	id := m[1]
	st, err := pgstore.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()

	out = flowrun(0, "trigger", "reset", id, "--state", dsn, "--cursor", "7")
	if !strings.Contains(out, "next poll starts from cursor 7") {
		t.Fatalf("reset said:\n%s", out)
	}
	if tr, err := st.GetTrigger(ctx, id); err != nil || string(tr.Cursor) != "7" {
		t.Fatalf("after reset: %+v, %v", tr, err)
	}
	flowrun(0, "trigger", "reset", id, "--state", dsn, "--forget-dedupe")
	if tr, err := st.GetTrigger(ctx, id); err != nil || tr.Cursor != nil {
		t.Fatalf("after reset to none: %+v, %v", tr, err)
	}
	flowrun(2, "trigger", "reset", id, "--state", dsn, "--cursor", "{")
	flowrun(2, "trigger", "reset", "nope-00000000", "--state", dsn)

	flowrun(0, "trigger", "set", id, "--state", dsn, "--max-memory", "64MiB")
	if tr, err := st.GetTrigger(ctx, id); err != nil || tr.MaxMemory != 64<<20 {
		t.Fatalf("after set: %+v, %v", tr, err)
	}
	flowrun(0, "trigger", "set", id, "--state", dsn, "--max-memory", "default")
	if tr, err := st.GetTrigger(ctx, id); err != nil || tr.MaxMemory != 0 {
		t.Fatalf("after set default: %+v, %v", tr, err)
	}

	// a scheduled poll's commit keeps a run summary: runs list and show read it
	if err := st.Commit(ctx, id, trigger.RunCommit{Events: 3, Error: "GET /orders: 502"}); err != nil {
		t.Fatal(err)
	}
	out = flowrun(0, "runs", "list", "--state", dsn, "--trigger", id, "--failed")
	if !strings.Contains(out, id) || !strings.Contains(out, "poll") || !strings.Contains(out, "GET /orders: 502") {
		t.Fatalf("runs list on Postgres said:\n%s", out)
	}
	runID := regexp.MustCompile(`(?m)^(\d+)\s`).FindStringSubmatch(out)
	if runID == nil {
		t.Fatalf("no run id in:\n%s", out)
	}
	out = flowrun(0, "runs", "show", runID[1], "--state", dsn)
	if !strings.Contains(out, "run "+runID[1]+": poll") || !strings.Contains(out, "GET /orders: 502") {
		t.Fatalf("runs show on Postgres said:\n%s", out)
	}
	out = flowrun(2, "runs", "replay", shop, runID[1], "-c", connFile, "--state", dsn)
	if !strings.Contains(out, "state directory") {
		t.Fatalf("runs replay on Postgres said:\n%s", out)
	}
	if _, err := os.Stat(filepath.Join(dir, "postgres:")); !os.IsNotExist(err) {
		t.Fatalf("a command made a directory for the DSN: %v", err)
	}
	flowrun(0, "trigger", "off", shop, id, "-c", connFile, "--state", dsn)
}
