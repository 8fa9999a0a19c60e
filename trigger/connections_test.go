package trigger

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"testing"
)

// TestConnectionsMigrationFromV3: a state.db of schema version 3 upgrades
// in place: its triggers keep their registrations, cursors, dedupe keys,
// holds and runs (foreign keys intact), get the connection "", and the
// same flow and input may then be on once per connection.
func TestConnectionsMigrationFromV3(t *testing.T) {
	dir := t.TempDir()
	db, err := sql.Open("sqlite", filepath.Join(dir, StateFile)+"?_pragma=foreign_keys(1)")
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range migrations[:3] {
		if _, err := db.Exec(m); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.Exec(`PRAGMA user_version = 3;
		INSERT INTO triggers (id, project, flow, kind, input, created_at) VALUES ('p-1', 'acme', 'poll', 'poll', '{}', 1);
		INSERT INTO triggers (id, project, flow, kind, input, secret, created_at) VALUES ('h-1', 'acme', 'hook', 'webhook', '{}', 'sec', 2);
		INSERT INTO registrations (trigger_id, data, updated_at) VALUES ('h-1', '{"id":7}', 1);
		INSERT INTO cursors (trigger_id, cursor, updated_at) VALUES ('p-1', '{"since":3}', 1);
		INSERT INTO dedupe_keys (trigger_id, key) VALUES ('p-1', 'k1');
		INSERT INTO holds (trigger_id, code, since) VALUES ('p-1', 'auth_expired', 1);
		INSERT INTO runs (trigger_id, project, flow, started_at, duration_ns, events, status) VALUES ('p-1', 'acme', 'poll', 5, 7, 3, 'ok');`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	st, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	p, err := st.GetTrigger(ctx, "p-1")
	if err != nil || string(p.Cursor) != `{"since":3}` || p.Connection != "" {
		t.Fatalf("%+v %v", p, err)
	}
	h, err := st.GetTrigger(ctx, "h-1")
	if err != nil || string(h.Registration) != `{"id":7}` || h.Secret != "sec" {
		t.Fatalf("%+v %v", h, err)
	}
	if seen, err := st.SeenKeys(ctx, "p-1", []string{"k1"}); err != nil || !seen["k1"] {
		t.Fatalf("dedupe keys: %v %v", seen, err)
	}
	if hd, ok, err := st.GetHold(ctx, "p-1"); err != nil || !ok || hd.Code != "auth_expired" {
		t.Fatalf("hold: %+v %v %v", hd, ok, err)
	}
	if runs, err := st.ListRuns(ctx, RunFilter{}); err != nil || len(runs) != 1 || runs[0].Events != 3 || runs[0].Connection != "" {
		t.Fatalf("runs: %+v %v", runs, err)
	}
	// foreign keys are on again, and still cascade
	if err := st.DeleteTrigger(ctx, "p-1"); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := st.GetHold(ctx, "p-1"); ok {
		t.Fatal("the hold outlived its trigger")
	}
	if seen, _ := st.SeenKeys(ctx, "p-1", []string{"k1"}); seen["k1"] {
		t.Fatal("the dedupe key outlived its trigger")
	}
	a := &Trigger{Project: "acme", Connection: "alpha", Flow: "hook", Kind: "webhook"}
	b := &Trigger{Project: "acme", Connection: "beta", Flow: "hook", Kind: "webhook"}
	for _, tr := range []*Trigger{a, b} {
		if err := st.CreateTrigger(ctx, tr); err != nil {
			t.Fatalf("%s: %v", tr.Connection, err)
		}
	}
	dup := &Trigger{Project: "acme", Connection: "beta", Flow: "hook", Kind: "webhook"}
	if err := st.CreateTrigger(ctx, dup); !errors.Is(err, ErrExists) {
		t.Fatalf("same connection again: %v", err)
	}
	if err := st.Commit(ctx, b.ID, RunCommit{Source: "webhook", Events: 2}); err != nil {
		t.Fatal(err)
	}
	runs, err := st.ListRuns(ctx, RunFilter{TriggerID: b.ID})
	if err != nil || len(runs) != 1 || runs[0].Connection != "beta" {
		t.Fatalf("runs of beta: %+v %v", runs, err)
	}
}
