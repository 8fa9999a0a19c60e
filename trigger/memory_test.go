package trigger

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
)

// hungryFlow builds a string from the delivery: a hostile sender can ask for
// far more than the run's memory budget.
const hungryFlow = `flowrun: 1
name: issue_events
type: webhook
outputs:
  action: string
  number: integer
dedupe: ${ request.headers["x-github-delivery"] }
verify:
  scheme: hmac_sha256
  header: X-Hub-Signature-256
  format: "sha256={hex}"
  secret: ${ webhook.secret }
register:
  steps:
    - id: hook
      http:
        method: POST
        path: /hooks
        json:
          url: ${ webhook.url }
          secret: ${ webhook.secret }
    - return:
        id: ${ steps.hook.body.id }
event:
  steps:
    - set:
        padded: ${ join(map(1..request.body.n, request.body.s), "") }
    - return:
        events:
          - action: ${ request.body.s }
            number: ${ len(vars.padded) }
`

// TestServeMemoryBudget: a delivery whose run would exceed the memory
// budget fails that run (recorded with the budget in the history), and the
// host goes on serving the next delivery.
func TestServeMemoryBudget(t *testing.T) {
	sink := &memSink{}
	h, _ := newHostWith(t, newService(t), sink, map[string]string{"connector.yaml": hostConnector, "flows/hook.yaml": hungryFlow})
	h.Runner.Limits.MaxMemory = 4 << 20
	ctx := context.Background()
	tr, err := h.On(ctx, "issue_events", nil)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	url := srv.URL + HookPath(tr.ID)
	send := func(id string, n int) int {
		body, _ := json.Marshal(map[string]any{"s": strings.Repeat("x", 1000), "n": n})
		code, _ := deliver(t, url, map[string]string{"Content-Type": "application/json", "X-GitHub-Delivery": id,
			"X-Hub-Signature-256": sign(tr.Secret, body)}, body, "POST")
		return code
	}
	if code := send("hostile", 200_000); code < 400 { // 200 MB asked for
		t.Fatalf("hostile delivery answered %d", code)
	}
	runs, err := h.Store.History(ctx, tr.ID, 1)
	if err != nil || len(runs) != 1 || runs[0].Status != "error" || !strings.Contains(runs[0].Error, "memory budget of 4 MiB is exceeded") {
		t.Fatalf("history %+v %v", runs, err)
	}
	for i, n := range []int{10, 1000, 2_000_000, 5} {
		code := send("d"+strings.Repeat("i", i), n)
		if ok := n <= 1000; ok != (code == 200) {
			t.Fatalf("delivery %d (n=%d): %d", i, n, code)
		}
	}
	if sink.count() != 3 {
		t.Fatalf("want 3 events, got %+v", sink.got)
	}
}

// growPoll builds a string of 100 x inputs.n bytes.
var growPoll = `flowrun: 1
name: grow
type: poll
schedule: 5m
inputs:
  n: {type: integer, required: true}
outputs:
  size: integer
steps:
  - set:
      big: ${ join(map(1..inputs.n, "` + strings.Repeat("0123456789", 10) + `"), "") }
  - return:
      events: [{size: "${ len(vars.big) }"}]
      cursor: ${ inputs.n }
`

// TestTriggerMemoryBudget: a trigger's own budget (OnWith, SetMaxMemory)
// replaces the host's for its deliveries and polls, smaller or larger; a
// run over it fails that run alone, naming the step, the budget and how to
// raise it, and the other triggers go on.
func TestTriggerMemoryBudget(t *testing.T) {
	sink := &memSink{}
	other := strings.Replace(hungryFlow, "name: issue_events", "name: other_events", 1)
	h, _ := newHostWith(t, newService(t), sink, map[string]string{"connector.yaml": hostConnector,
		"flows/hook.yaml": hungryFlow, "flows/other.yaml": other, "flows/grow.yaml": growPoll})
	h.Runner.Limits.MaxMemory = 16 << 20 // serve --max-memory
	ctx := context.Background()
	small, err := h.OnWith(ctx, "issue_events", nil, TriggerOptions{MaxMemory: 4 << 20})
	if err != nil {
		t.Fatal(err)
	}
	plain, err := h.On(ctx, "other_events", nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := h.Store.GetTrigger(ctx, small.ID); err != nil || got.MaxMemory != 4<<20 {
		t.Fatalf("stored trigger %+v %v", got, err)
	}
	if _, err := h.OnWith(ctx, "grow", map[string]any{"n": 1}, TriggerOptions{MaxMemory: -1}); err == nil {
		t.Fatal("a negative budget was accepted")
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	sent := 0
	send := func(tr *Trigger, n int) int {
		sent++
		// a body unlike the others: the same body again is a replay, answered without a run
		body, _ := json.Marshal(map[string]any{"s": strings.Repeat("x", 1000), "n": n, "i": sent})
		code, _ := deliver(t, srv.URL+HookPath(tr.ID), map[string]string{"Content-Type": "application/json",
			"X-GitHub-Delivery": fmt.Sprint("d", sent), "X-Hub-Signature-256": sign(tr.Secret, body)}, body, "POST")
		return code
	}
	lastError := func(tr *Trigger) string {
		t.Helper()
		runs, err := h.Store.History(ctx, tr.ID, 1)
		if err != nil || len(runs) != 1 {
			t.Fatalf("history of %s: %+v %v", tr.ID, runs, err)
		}
		if runs[0].Status == "ok" {
			return ""
		}
		return runs[0].Error
	}

	// 10 MB: over the trigger's 4 MiB, within the host's 16 MiB
	if code := send(small, 10_000); code != 500 {
		t.Fatalf("10 MB under a 4 MiB trigger budget answered %d", code)
	}
	msg := lastError(small)
	for _, want := range []string{`flows/hook.yaml:`, `step "set"`, "memory budget of 4 MiB is exceeded",
		"raise it with flowrun trigger set " + small.ID + " --max-memory SIZE"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q does not say %q", msg, want)
		}
	}
	if code := send(plain, 10_000); code != 200 {
		t.Fatalf("the other trigger, under the host's budget: %d (%s)", code, lastError(plain))
	}
	if code := send(small, 10); code != 200 {
		t.Fatalf("a small delivery to the trigger that failed: %d", code)
	}

	// a budget above the host's: 20 MB fits the trigger's 64 MiB, not the host's 16
	if err := h.Store.SetMaxMemory(ctx, small.ID, 64<<20); err != nil {
		t.Fatal(err)
	}
	if code := send(small, 20_000); code != 200 {
		t.Fatalf("20 MB under a 64 MiB trigger budget: %d (%s)", code, lastError(small))
	}
	if code := send(plain, 20_000); code < 400 {
		t.Fatalf("20 MB under the host's 16 MiB answered %d", code)
	}
	if msg := lastError(plain); !strings.Contains(msg, "memory budget of 16 MiB is exceeded") || !strings.Contains(msg, "raise it with --max-memory") {
		t.Fatalf("the host's budget: %q", msg)
	}
	// back to the host's
	if err := h.Store.SetMaxMemory(ctx, small.ID, 0); err != nil {
		t.Fatal(err)
	}
	if code := send(small, 20_000); code < 400 {
		t.Fatalf("20 MB after the trigger's budget was cleared answered %d", code)
	}
	if err := h.Store.SetMaxMemory(ctx, "nope-1", 1); !errors.Is(err, ErrNotFound) {
		t.Fatalf("SetMaxMemory of an unknown trigger: %v", err)
	}
	if sink.count() != 3 {
		t.Fatalf("want 3 events, got %d", sink.count())
	}

	// polls: the same flow, one trigger with its own budget, one without
	big, err := h.OnWith(ctx, "grow", map[string]any{"n": 200_000}, TriggerOptions{MaxMemory: 64 << 20})
	if err != nil {
		t.Fatal(err)
	}
	hostOnly, err := h.On(ctx, "grow", map[string]any{"n": 200_001})
	if err != nil {
		t.Fatal(err)
	}
	for _, tr := range []*Trigger{big, hostOnly} {
		cur, err := h.Store.GetTrigger(ctx, tr.ID)
		if err != nil {
			t.Fatal(err)
		}
		n, err := h.PollOnce(ctx, cur)
		switch {
		case tr == big && (err != nil || n != 1):
			t.Fatalf("poll under its own 64 MiB: %d %v", n, err)
		case tr == hostOnly && (err == nil || !strings.Contains(err.Error(), "memory budget of 16 MiB is exceeded") || !strings.Contains(err.Error(), `step "set"`)):
			t.Fatalf("poll under the host's 16 MiB: %d %v", n, err)
		}
	}
}

// TestMaxMemoryMigrationFromV3: a state.db of schema version 3 upgrades in
// place; its triggers run with the host's budget (0).
func TestMaxMemoryMigrationFromV3(t *testing.T) {
	dir := t.TempDir()
	db, err := sql.Open("sqlite", filepath.Join(dir, StateFile))
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range migrations[:3] {
		if _, err := db.Exec(m); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.Exec(`PRAGMA user_version = 3;
		INSERT INTO triggers (id, project, flow, kind, input, created_at) VALUES ('p-1', 'acme', 'poll', 'poll', '{}', 1);`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	st, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	tr, err := st.GetTrigger(ctx, "p-1")
	if err != nil || tr.MaxMemory != 0 {
		t.Fatalf("%+v %v", tr, err)
	}
	if err := st.SetMaxMemory(ctx, "p-1", 1<<30); err != nil {
		t.Fatal(err)
	}
	if tr, err = st.GetTrigger(ctx, "p-1"); err != nil || tr.MaxMemory != 1<<30 {
		t.Fatalf("%+v %v", tr, err)
	}
	if err := st.SetMaxMemory(ctx, "p-1", -1); err == nil {
		t.Fatal("a negative budget was stored")
	}
}
