package trigger

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/flowrun/flowrun/connection"
	"github.com/flowrun/flowrun/run"
)

// TestConnectionsMigrationFromV4: a state.db of schema version 4 upgrades
// in place: its triggers keep their registrations, cursors, dedupe keys,
// holds, memory budgets and runs (foreign keys intact), get the connection
// "", and the same flow and input may then be on once per connection.
func TestConnectionsMigrationFromV4(t *testing.T) {
	dir := t.TempDir()
	db, err := sql.Open("sqlite", filepath.Join(dir, StateFile)+"?_pragma=foreign_keys(1)")
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range migrations[:4] {
		if _, err := db.Exec(m); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.Exec(`PRAGMA user_version = 4;
		INSERT INTO triggers (id, project, flow, kind, input, created_at, max_memory) VALUES ('p-1', 'acme', 'poll', 'poll', '{}', 1, 65536);
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
	if err != nil || string(p.Cursor) != `{"since":3}` || p.Connection != "" || p.MaxMemory != 65536 {
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

// TestPeersOwnBudgetsAndRouting: two hosts of one project, each with its
// own named connection, share a store. A service that says alpha's rate
// limit is used up (remaining 0, reset in an hour) fails alpha's next poll
// with code throttled at once (max_wait 1s), while beta's poll, with its
// own budget, goes on. Serve on alpha's host routes a delivery for beta's
// trigger to beta's host, which runs it with beta's connection.
func TestPeersOwnBudgetsAndRouting(t *testing.T) {
	ctx := context.Background()
	var mu sync.Mutex
	seenTokens := map[string]int{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
		mu.Lock()
		seenTokens[r.URL.Path+" "+tok]++
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		switch {
		case r.URL.Path == "/hooks":
			w.WriteHeader(201)
			io.WriteString(w, `{"id": 1}`)
		case r.URL.Path == "/events":
			if tok == "tok-alpha-1234" {
				w.Header().Set("X-Rate-Limit-Remaining", "0")
				w.Header().Set("X-Rate-Limit-Reset", "3600")
			}
			io.WriteString(w, `{"events": [{"id": 1, "title": "one"}]}`)
		default:
			w.WriteHeader(404)
		}
	}))
	defer srv.Close()
	connector := hostConnector + `http:
  rate_limit:
    remaining_header: x-rate-limit-remaining
    reset_header: x-rate-limit-reset
    max_wait: 1s
`
	sink := &memSink{}
	alpha, _ := newHostWith(t, &service{srv: srv}, sink, map[string]string{"connector.yaml": connector, "flows/hook.yaml": hookFlow, "flows/poll.yaml": pollFlow})
	named := func(h *Host, name string) {
		c := &connection.Connection{Params: map[string]any{"base_url": srv.URL, "token": "tok-" + name + "-1234"}}
		c.AddSecret("tok-" + name + "-1234")
		h.Runner = &run.Runner{Project: h.Runner.Project, Connection: c}
		h.Named, h.ConnectionName = name, name
	}
	named(alpha, "alpha")
	beta := &Host{Store: alpha.Store, Sink: sink, PublicURL: alpha.PublicURL, Runner: alpha.Runner}
	named(beta, "beta")
	alpha.Peers = []*Host{beta}

	pa, err := alpha.On(ctx, "new_events", nil)
	if err != nil {
		t.Fatal(err)
	}
	pb, err := beta.On(ctx, "new_events", nil) // same flow and input, another connection
	if err != nil {
		t.Fatal(err)
	}
	if pa.Connection != "alpha" || pb.Connection != "beta" {
		t.Fatalf("connections %q %q", pa.Connection, pb.Connection)
	}
	if _, err := alpha.PollOnce(ctx, pa); err != nil {
		t.Fatal(err)
	}
	_, err = alpha.PollOnce(ctx, pa)
	if run.ErrorCode(err) != "throttled" {
		t.Fatalf("alpha's second poll: %v, want code throttled", err)
	}
	for i := 0; i < 2; i++ {
		if _, err := beta.PollOnce(ctx, pb); err != nil {
			t.Fatalf("beta's poll %d: %v", i, err)
		}
	}
	if _, err := alpha.PollOnce(ctx, pb); err == nil {
		t.Fatal("alpha's host ran beta's trigger")
	}
	mu.Lock()
	if seenTokens["/events tok-alpha-1234"] != 1 || seenTokens["/events tok-beta-1234"] != 2 {
		t.Fatalf("requests by token: %v", seenTokens)
	}
	mu.Unlock()

	// a delivery for beta's webhook trigger, received by alpha's host
	hb, err := beta.On(ctx, "issue_events", nil)
	if err != nil {
		t.Fatal(err)
	}
	body := []byte(`{"action":"opened","issue":{"number":9}}`)
	req := httptest.NewRequest("POST", HookPath(hb.ID), bytes.NewReader(body))
	req.Header.Set("X-Hub-Signature-256", sign(hb.Secret, body))
	req.Header.Set("X-GitHub-Delivery", "d-1")
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	alpha.ServeHTTP(rec, req)
	if rec.Code != 200 {
		t.Fatalf("delivery for beta via alpha: %d %s", rec.Code, rec.Body)
	}
	runs, err := alpha.Store.ListRuns(ctx, RunFilter{TriggerID: hb.ID})
	if err != nil || len(runs) != 1 || runs[0].Connection != "beta" || runs[0].Status != "ok" {
		t.Fatalf("beta's delivery run: %+v %v", runs, err)
	}
	// a trigger of no host's connection is not found
	other := &Trigger{Project: "acme", Connection: "gamma", Flow: "issue_events", Kind: "webhook", Secret: "x"}
	if err := alpha.Store.CreateTrigger(ctx, other); err != nil {
		t.Fatal(err)
	}
	rec = httptest.NewRecorder()
	alpha.ServeHTTP(rec, httptest.NewRequest("POST", HookPath(other.ID), bytes.NewReader(body)))
	if rec.Code != 404 {
		t.Fatalf("delivery for an unserved connection: %d", rec.Code)
	}
}

// TestReplayGoesToThePeer: a host asked to replay a failed run of a peer's
// trigger hands it to that peer, which runs it with its own connection;
// a host with no peer for it refuses rather than use its own connection.
func TestReplayGoesToThePeer(t *testing.T) {
	ctx := context.Background()
	var mu sync.Mutex
	fail := true
	tokens := map[string]int{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		tokens[r.Header.Get("Authorization")]++
		if fail {
			w.WriteHeader(500)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"events": [{"id": 1, "title": "one"}]}`)
	}))
	defer srv.Close()
	sink := &memSink{}
	alpha, _ := newHostWith(t, &service{srv: srv}, sink, map[string]string{"connector.yaml": hostConnector, "flows/poll.yaml": pollFlow})
	mk := func(name string) *Host {
		c := &connection.Connection{Params: map[string]any{"base_url": srv.URL, "token": "tok-" + name + "-1234"}}
		return &Host{Store: alpha.Store, Sink: sink, Runner: &run.Runner{Project: alpha.Runner.Project, Connection: c}, Named: name, ConnectionName: name}
	}
	alpha = mk("alpha")
	beta := mk("beta")
	pb, err := beta.On(ctx, "new_events", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := beta.PollOnce(ctx, pb); err == nil {
		t.Fatal("the poll did not fail")
	}
	runs, err := alpha.Store.ListRuns(ctx, RunFilter{TriggerID: pb.ID, Failed: true})
	if err != nil || len(runs) != 1 {
		t.Fatalf("%+v %v", runs, err)
	}
	mu.Lock()
	fail = false
	mu.Unlock()
	if _, _, err := alpha.Replay(ctx, runs[0].ID); err == nil || !strings.Contains(err.Error(), `runs with connection "beta"`) {
		t.Fatalf("replay by a host without the peer: %v", err)
	}
	alpha.Peers = []*Host{beta}
	if _, n, err := alpha.Replay(ctx, runs[0].ID); err != nil || n != 1 {
		t.Fatalf("replay through the peer: %d %v", n, err)
	}
	mu.Lock()
	defer mu.Unlock()
	if tokens["Bearer tok-alpha-1234"] != 0 || tokens["Bearer tok-beta-1234"] != 2 {
		t.Fatalf("requests by token: %v", tokens)
	}
}

// TestPauseReachesPeer: a pause or resume made through the first host (the
// console under serve --connections) reaches the scheduler of the peer
// that runs the trigger at once, not at its next refresh of the holds.
func TestPauseReachesPeer(t *testing.T) {
	ctx := context.Background()
	srv := httptest.NewServer(http.NotFoundHandler()) // no request is made
	defer srv.Close()
	first, _ := newHostWith(t, &service{srv: srv}, &memSink{}, map[string]string{"connector.yaml": hostConnector, "flows/poll.yaml": pollFlow})
	mk := func(name string) *Host {
		c := &connection.Connection{Params: map[string]any{"token": "tok-" + name + "-1234"}}
		return &Host{Store: first.Store, Runner: &run.Runner{Project: first.Runner.Project, Connection: c}, Named: name, ConnectionName: name}
	}
	first = mk("alpha")
	beta := mk("beta")
	first.Peers = []*Host{beta}
	tr := &Trigger{Project: first.Runner.Project.Connector.Name, Connection: "beta", Flow: "new_events", Kind: "poll"}
	if err := first.Store.CreateTrigger(ctx, tr); err != nil {
		t.Fatal(err)
	}
	if err := first.Pause(ctx, tr.ID, "maintenance"); err != nil {
		t.Fatal(err)
	}
	if _, due := beta.due(tr.ID, time.Now()); due {
		t.Error("the peer's scheduler still polls a trigger paused through the first host")
	}
	if had, err := first.Resume(ctx, tr.ID); err != nil || !had {
		t.Fatalf("resume: %v %v", had, err)
	}
	if _, due := beta.due(tr.ID, time.Now()); !due {
		t.Error("the peer's scheduler does not poll a trigger resumed through the first host")
	}
	if err := first.Pause(ctx, "nope", ""); !errors.Is(err, ErrNotFound) {
		t.Errorf("pausing an unknown trigger: %v", err)
	}
}
