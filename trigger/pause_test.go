package trigger

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/flowrun/flowrun/connection"
	"github.com/flowrun/flowrun/load"
	"github.com/flowrun/flowrun/run"
)

func TestHoldsInTheStore(t *testing.T) {
	ctx := context.Background()
	s := openTest(t, t.TempDir())
	a, b, c := newPoll(t, s, "a"), newPoll(t, s, "b"), newPoll(t, s, "c")
	until := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	for _, h := range []Hold{
		{TriggerID: a.ID, Code: "auth_expired", Reason: "401", Connection: "/conn/x.yaml"},
		{TriggerID: b.ID, Code: "throttled", Until: until, Failures: 2},
		{TriggerID: c.ID, Code: "config", Reason: "no base_url", Connection: "/conn/other.yaml"},
	} {
		if err := s.SetHold(ctx, h); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.SetHold(ctx, Hold{TriggerID: "nope", Code: "config"}); !errors.Is(err, ErrNotFound) {
		t.Errorf("hold of a missing trigger: %v", err)
	}
	hs, err := s.Holds(ctx)
	if err != nil || len(hs) != 3 {
		t.Fatalf("holds %v, %v", hs, err)
	}
	if h := hs[a.ID]; !h.Paused() || h.Reason != "401" || h.String() != "paused (auth_expired)" || !h.Until.IsZero() {
		t.Errorf("a: %+v", h)
	}
	if h := hs[b.ID]; h.Paused() || !h.Until.Equal(until) || h.Failures != 2 || h.String() != "throttled: next poll 2026-03-01T12:00:00Z" {
		t.Errorf("b: %+v %s", h, h)
	}
	// a login to /conn/x.yaml resumes a, not c (another connection) nor b (not paused)
	ids, err := s.ResumeConnection(ctx, "acme", "/conn/x.yaml")
	if err != nil || len(ids) != 1 || ids[0] != a.ID {
		t.Fatalf("resumed %v, %v", ids, err)
	}
	if _, ok, _ := s.GetHold(ctx, a.ID); ok {
		t.Error("a is still held")
	}
	if ids, _ := s.ResumeConnection(ctx, "other", "/conn/other.yaml"); len(ids) != 0 {
		t.Errorf("another project's login resumed %v", ids)
	}
	if was, err := s.Resume(ctx, c.ID); !was || err != nil {
		t.Errorf("resume c: %v %v", was, err)
	}
	if was, err := s.Resume(ctx, c.ID); was || err != nil {
		t.Errorf("resume c again: %v %v", was, err)
	}
	if _, err := s.Resume(ctx, "nope"); !errors.Is(err, ErrNotFound) {
		t.Errorf("resume a missing trigger: %v", err)
	}
	if err := s.DeleteTrigger(ctx, b.ID); err != nil {
		t.Fatal(err)
	}
	if hs, _ := s.Holds(ctx); len(hs) != 0 {
		t.Errorf("holds after delete: %v", hs)
	}
}

// TestMigrateVersion1 opens a state database written before holds existed.
func TestMigrateVersion1(t *testing.T) {
	dir := t.TempDir()
	db, err := sql.Open("sqlite", filepath.Join(dir, StateFile))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(migrations[0] + `PRAGMA user_version = 1;
		INSERT INTO triggers (id, project, flow, kind, input, created_at) VALUES ('p-1', 'acme', 'p', 'poll', '{}', 1);`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	s := openTest(t, dir)
	if err := s.SetHold(context.Background(), Hold{TriggerID: "p-1", Code: "config"}); err != nil {
		t.Fatalf("hold after migrating: %v", err)
	}
}

func TestPollBackoff(t *testing.T) {
	for _, c := range []struct {
		n     int
		every time.Duration
		want  time.Duration
	}{
		{1, 5 * time.Minute, 15 * time.Second},
		{2, 5 * time.Minute, 30 * time.Second},
		{5, 5 * time.Minute, 4 * time.Minute},
		{9, 5 * time.Minute, 30 * time.Minute},
		{100, 5 * time.Minute, 30 * time.Minute},
		{1, 200 * time.Millisecond, 200 * time.Millisecond},
		{3, 200 * time.Millisecond, 800 * time.Millisecond},
		{50, 2 * time.Hour, 2 * time.Hour},
	} {
		if got := pollBackoff(c.n, c.every); got != c.want {
			t.Errorf("pollBackoff(%d, %s) = %s, want %s", c.n, c.every, got, c.want)
		}
	}
}

// flaky is a service whose /events answers with the status set last.
type flaky struct {
	mu     sync.Mutex
	status int
	header http.Header
	srv    *httptest.Server
}

func newFlaky(t *testing.T) *flaky {
	f := &flaky{status: 200}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		f.mu.Lock()
		status, hdr := f.status, f.header
		f.mu.Unlock()
		for k, v := range hdr {
			w.Header()[k] = v
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		if status == 200 {
			io.WriteString(w, `{"events": [{"id": 1, "title": "one"}]}`)
		} else {
			io.WriteString(w, `{"message": "no"}`)
		}
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *flaky) answer(status int, hdr map[string]string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.status, f.header = status, http.Header{}
	for k, v := range hdr {
		f.header.Set(k, v)
	}
}

func flakyHost(t *testing.T, f *flaky) *Host {
	dir := t.TempDir()
	for name, body := range map[string]string{"connector.yaml": hostConnector, "flows/poll.yaml": pollFlow, "flows/hook.yaml": hookFlow} {
		p := filepath.Join(dir, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	proj, err := load.Project(dir)
	if err != nil {
		t.Fatal(err)
	}
	conn := &connection.Connection{File: "/conns/acme.yaml", Params: map[string]any{"base_url": f.srv.URL, "token": "tok-secret-123"}}
	conn.AddSecret("tok-secret-123")
	return &Host{Runner: &run.Runner{Project: proj, Connection: conn}, Store: openTest(t, t.TempDir()), Sink: &memSink{}, PublicURL: "https://hooks.example.com"}
}

func TestPollActsOnErrorCodes(t *testing.T) {
	ctx := context.Background()
	f := newFlaky(t)
	h := flakyHost(t, f)
	l := &logs{}
	h.Logf = l.logf
	tr, err := h.On(ctx, "new_events", nil)
	if err != nil {
		t.Fatal(err)
	}
	poll := func() (Hold, bool) {
		t.Helper()
		cur, err := h.Store.GetTrigger(ctx, tr.ID)
		if err != nil {
			t.Fatal(err)
		}
		h.PollOnce(ctx, cur)
		hd, ok, err := h.Store.GetHold(ctx, tr.ID)
		if err != nil {
			t.Fatal(err)
		}
		return hd, ok
	}
	within := func(got, want time.Time) bool { d := got.Sub(want); return d > -5*time.Second && d < 5*time.Second }

	f.answer(429, map[string]string{"Retry-After": "120"})
	hd, ok := poll()
	if !ok || hd.Code != "throttled" || hd.Paused() || !within(hd.Until, time.Now().Add(2*time.Minute)) {
		t.Fatalf("after a 429: %+v %v", hd, ok)
	}
	if due, ok := h.due(tr.ID, time.Now()); !ok || !due.Equal(hd.Until) {
		t.Errorf("throttled poll due %s (%v), want %s", due, ok, hd.Until)
	}

	f.answer(503, nil)
	hd, _ = poll()
	if hd.Code != "transient" || hd.Failures != 2 || !within(hd.Until, time.Now().Add(30*time.Second)) {
		t.Fatalf("after a 503: %+v", hd)
	}
	hd, _ = poll()
	if hd.Failures != 3 || !within(hd.Until, time.Now().Add(time.Minute)) {
		t.Fatalf("after another 503: %+v", hd)
	}

	f.answer(200, nil)
	if hd, ok = poll(); ok {
		t.Fatalf("a success keeps the hold %+v", hd)
	}
	if _, ok := h.due(tr.ID, time.Now()); !ok {
		t.Error("a poll that succeeded is not due")
	}

	f.answer(401, nil)
	hd, ok = poll()
	if !ok || !hd.Paused() || hd.Code != "auth_expired" || hd.Connection != "/conns/acme.yaml" || !strings.Contains(hd.Reason, "401 Unauthorized") {
		t.Fatalf("after a 401: %+v", hd)
	}
	if _, ok := h.due(tr.ID, time.Now()); ok {
		t.Error("a paused poll is due")
	}
	if got := strings.Join(l.take(), "\n"); !strings.Contains(got, "is paused (auth_expired)") || strings.Contains(got, "tok-secret-123") {
		t.Errorf("logs %q", got)
	}
	// a hold stays through other failures until resumed
	ids, err := h.Store.ResumeConnection(ctx, "acme", "/conns/acme.yaml")
	if err != nil || len(ids) != 1 {
		t.Fatalf("resume: %v %v", ids, err)
	}
	h.refreshHolds(ctx)
	if _, ok := h.due(tr.ID, time.Now()); !ok {
		t.Error("a resumed poll is not due")
	}
}

func TestPausedWebhookAnswers503(t *testing.T) {
	ctx := context.Background()
	f := newFlaky(t)
	h := flakyHost(t, f)
	tr, err := h.On(ctx, "issue_events", nil)
	if err != nil && !strings.Contains(err.Error(), "404") {
		t.Fatal(err)
	}
	if tr == nil {
		// the flaky service has no /hooks: store the trigger directly
		tr = &Trigger{Project: "acme", Flow: "issue_events", Kind: "webhook", Secret: "s3cret", Registration: []byte(`{"id": 1}`)}
		if err := h.Store.CreateTrigger(ctx, tr); err != nil {
			t.Fatal(err)
		}
	}
	if err := h.Store.SetHold(ctx, Hold{TriggerID: tr.ID, Code: "config", Reason: "x"}); err != nil {
		t.Fatal(err)
	}
	l := &logs{}
	h.Logf = l.logf
	srv := httptest.NewServer(h)
	defer srv.Close()
	body := []byte(`{"action": "opened", "issue": {"number": 1}}`)
	code, resp := deliver(t, srv.URL+HookPath(tr.ID), map[string]string{"Content-Type": "application/json", "X-GitHub-Event": "issues", "X-Hub-Signature-256": sign(tr.Secret, body)}, body, "POST")
	// paused for its connection or configuration: the delivery is kept for
	// replay (connpause.go) and the sender told to retry
	if code != 503 || resp != `{"error":"trigger paused (config): the delivery is kept as run 1 for replay","run":1}` || h.Sink.(*memSink).count() != 0 {
		t.Errorf("paused delivery: %d %s", code, resp)
	}
	if _, err := h.Store.Resume(ctx, tr.ID); err != nil {
		t.Fatal(err)
	}
	// the kept delivery replays once resumed; the sender's retry is then
	// a replay of an accepted body (GitHub's scheme: the replay key)
	if _, n, err := h.Replay(ctx, 1); err != nil || n != 1 || h.Sink.(*memSink).count() != 1 {
		t.Fatalf("replay of the kept delivery: %d events, %v", n, err)
	}
	body = []byte(`{"action": "opened", "issue": {"number": 3}}`)
	if code, resp := deliver(t, srv.URL+HookPath(tr.ID), map[string]string{"Content-Type": "application/json", "X-GitHub-Event": "issues", "X-Hub-Signature-256": sign(tr.Secret, body)}, body, "POST"); code != 200 {
		t.Errorf("resumed delivery: %d %s %q", code, resp, l.take())
	}
	// paused by hand (the console's Pause): refused the same way
	if err := h.Pause(ctx, tr.ID, "maintenance"); err != nil {
		t.Fatal(err)
	}
	body = []byte(`{"action": "opened", "issue": {"number": 2}}`)
	if code, resp := deliver(t, srv.URL+HookPath(tr.ID), map[string]string{"Content-Type": "application/json", "X-GitHub-Event": "issues", "X-Hub-Signature-256": sign(tr.Secret, body)}, body, "POST"); code != 503 || resp != `{"error":"trigger paused (manual)"}` {
		t.Errorf("delivery while paused by hand: %d %s", code, resp)
	}
}

// TestWebhookConnectionPause: a revoked connection pauses its webhook
// triggers (auth_expired) at the next delivery; while paused, a delivery
// that passes verification is kept for replay and answered 503 with
// Retry-After, one that fails it is refused as always and not kept; a poll
// of the same connection whose token is refused (auth_expired) pauses the
// webhook triggers too; a login (ResumeConnection) lifts both pauses, a
// manual pause stays.
func TestWebhookConnectionPause(t *testing.T) {
	ctx := context.Background()
	f := newFlaky(t)
	h := flakyHost(t, f)
	// three triggers of the webhook flow: it takes an input
	flow := strings.Replace(hookFlow, "outputs:\n", "inputs:\n  n: {type: integer}\noutputs:\n", 1)
	dir := t.TempDir()
	for name, body := range map[string]string{"connector.yaml": hostConnector, "flows/hook.yaml": flow, "flows/poll.yaml": pollFlow} {
		p := filepath.Join(dir, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		os.WriteFile(p, []byte(body), 0o644)
	}
	proj, err := load.Project(dir)
	if err != nil {
		t.Fatal(err)
	}
	h.Runner = &run.Runner{Project: proj, Connection: h.Runner.Connection}
	mk := func(in string) *Trigger {
		tr := &Trigger{Project: "acme", Flow: "issue_events", Kind: "webhook", Secret: "s3cret", Input: json.RawMessage(in), Registration: []byte(`{"id": 1}`)}
		if err := h.Store.CreateTrigger(ctx, tr); err != nil {
			t.Fatal(err)
		}
		return tr
	}
	a, b, manual := mk(`{"n":1}`), mk(`{"n":2}`), mk(`{"n":3}`)
	if err := h.Pause(ctx, manual.ID, "by hand"); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	send := func(tr *Trigger, n int, secret string) (int, string, http.Header) {
		t.Helper()
		body := fmt.Appendf(nil, `{"action": "opened", "issue": {"number": %d}}`, n)
		req, _ := http.NewRequest("POST", srv.URL+HookPath(tr.ID), bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-GitHub-Event", "issues")
		req.Header.Set("X-Hub-Signature-256", sign(secret, body))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		out, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(out), resp.Header
	}
	if code, resp, _ := send(a, 1, "s3cret"); code != 200 {
		t.Fatalf("before the revoke: %d %s", code, resp)
	}
	h.Runner.Connection.Revoked = true // as the console's Revoke does
	code, resp, hdr := send(a, 2, "s3cret")
	if code != 503 || !strings.Contains(resp, `"error":"trigger paused (auth_expired): the delivery is kept as run`) || hdr.Get("Retry-After") != "300" {
		t.Fatalf("after the revoke: %d %s %v", code, resp, hdr)
	}
	for _, tr := range []*Trigger{a, b} {
		hd, ok, _ := h.Store.GetHold(ctx, tr.ID)
		if !ok || hd.Code != "auth_expired" || hd.Connection != "/conns/acme.yaml" || !strings.Contains(hd.Reason, "acme.yaml was revoked") {
			t.Errorf("trigger %s after the revoke: %+v %v", tr.ID, hd, ok)
		}
	}
	if hd, _, _ := h.Store.GetHold(ctx, manual.ID); hd.Code != HoldManual {
		t.Errorf("the manual pause became %+v", hd)
	}
	// a bad signature is refused, not kept
	if code, _, _ := send(b, 3, "wrong"); code != 401 {
		t.Errorf("bad signature while paused: %d", code)
	}
	if code, resp, _ := send(b, 4, "s3cret"); code != 503 || !strings.Contains(resp, "kept as run") {
		t.Errorf("b while paused: %d %s", code, resp)
	}
	runs, err := h.Store.ListRuns(ctx, RunFilter{Failed: true})
	if err != nil || len(runs) != 2 || !runs[0].Replayable || !strings.Contains(runs[0].Error, "trigger paused (auth_expired)") {
		t.Fatalf("kept runs: %+v %v", runs, err)
	}
	if code, resp, _ := send(manual, 5, "s3cret"); code != 503 || resp != `{"error":"trigger paused (manual)"}` {
		t.Errorf("manual pause: %d %s", code, resp)
	}
	// a new login: the holds go, the connection is no longer revoked
	h.Runner.Connection.Revoked = false
	if ids, err := h.Store.ResumeConnection(ctx, "acme", "/conns/acme.yaml"); err != nil || len(ids) != 2 {
		t.Fatalf("resume: %v %v", ids, err)
	}
	if code, resp, _ := send(b, 6, "s3cret"); code != 200 {
		t.Errorf("after the login: %d %s", code, resp)
	}
	for _, r := range runs {
		if _, n, err := h.Replay(ctx, r.ID); err != nil || n != 1 {
			t.Errorf("replay of kept run %d: %d, %v", r.ID, n, err)
		}
	}
	if got := h.Sink.(*memSink).count(); got != 4 {
		t.Errorf("sink holds %d events, want 4 (two delivered, two replayed)", got)
	}

	// a poll of the same connection whose token is refused pauses the
	// webhook triggers too
	p, err := h.On(ctx, "new_events", nil)
	if err != nil {
		t.Fatal(err)
	}
	f.answer(401, nil)
	h.PollOnce(ctx, p)
	for _, tr := range []*Trigger{p, a, b} {
		if hd, ok, _ := h.Store.GetHold(ctx, tr.ID); !ok || hd.Code != "auth_expired" {
			t.Errorf("trigger %s after the poll's 401: %+v %v", tr.ID, hd, ok)
		}
	}
}

// TestWebhookEventAuthExpiredPauses: event steps whose request is refused
// (401) answer the sender 503 and pause the trigger.
func TestWebhookEventAuthExpiredPauses(t *testing.T) {
	ctx := context.Background()
	f := newFlaky(t)
	h := flakyHost(t, f)
	flow := strings.Replace(hookFlow, "event:\n  steps:\n", "event:\n  steps:\n    - http: {path: /events}\n", 1)
	dir := t.TempDir()
	for name, body := range map[string]string{"connector.yaml": hostConnector, "flows/hook.yaml": flow} {
		p := filepath.Join(dir, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		os.WriteFile(p, []byte(body), 0o644)
	}
	proj, err := load.Project(dir)
	if err != nil {
		t.Fatal(err)
	}
	h.Runner = &run.Runner{Project: proj, Connection: h.Runner.Connection}
	tr := &Trigger{Project: "acme", Flow: "issue_events", Kind: "webhook", Secret: "s3cret", Registration: []byte(`{"id": 1}`)}
	if err := h.Store.CreateTrigger(ctx, tr); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	body := []byte(`{"action": "opened", "issue": {"number": 1}}`)
	hdr := map[string]string{"Content-Type": "application/json", "X-GitHub-Event": "issues", "X-Hub-Signature-256": sign(tr.Secret, body)}
	f.answer(401, nil)
	if code, resp := deliver(t, srv.URL+HookPath(tr.ID), hdr, body, "POST"); code != 503 || resp != `{"error":"retry later"}` {
		t.Errorf("delivery: %d %s", code, resp)
	}
	hd, ok, _ := h.Store.GetHold(ctx, tr.ID)
	if !ok || hd.Code != "auth_expired" {
		t.Fatalf("hold %+v %v", hd, ok)
	}
	f.answer(200, nil)
	if code, _ := deliver(t, srv.URL+HookPath(tr.ID), hdr, body, "POST"); code != 503 {
		t.Errorf("delivery while paused: %d", code)
	}
}

// TestManualPause: a trigger paused by hand is not polled, its webhook
// deliveries are refused, a run's outcome neither lifts nor replaces the
// pause, a new login does not resume it, and Resume does.
func TestManualPause(t *testing.T) {
	ctx := context.Background()
	f := newFlaky(t)
	h := flakyHost(t, f)
	tr, err := h.On(ctx, "new_events", nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := h.Pause(ctx, tr.ID, "the service is moving"); err != nil {
		t.Fatal(err)
	}
	if err := h.Pause(ctx, "nope", ""); !errors.Is(err, ErrNotFound) {
		t.Errorf("pausing a missing trigger: %v", err)
	}
	hd, ok, err := h.Store.GetHold(ctx, tr.ID)
	if err != nil || !ok || !hd.Paused() || hd.Code != HoldManual || hd.Reason != "the service is moving" || hd.String() != "paused (manual)" {
		t.Fatalf("after Pause: %+v %v %v", hd, ok, err)
	}
	if _, ok := h.due(tr.ID, time.Now()); ok {
		t.Error("a poll paused by hand is due")
	}
	// a poll that runs anyway (started before the pause) changes nothing
	for _, status := range []int{200, 401} {
		f.answer(status, nil)
		cur, err := h.Store.GetTrigger(ctx, tr.ID)
		if err != nil {
			t.Fatal(err)
		}
		h.PollOnce(ctx, cur)
		if hd, ok, _ := h.Store.GetHold(ctx, tr.ID); !ok || hd.Code != HoldManual {
			t.Fatalf("after a poll answered %d: %+v %v", status, hd, ok)
		}
	}
	if ids, err := h.Store.ResumeConnection(ctx, "acme", "/conns/acme.yaml"); err != nil || len(ids) != 0 {
		t.Fatalf("a login resumed %v (%v)", ids, err)
	}
	if had, err := h.Resume(ctx, tr.ID); err != nil || !had {
		t.Fatalf("Resume: %v %v", had, err)
	}
	if _, ok := h.due(tr.ID, time.Now()); !ok {
		t.Error("a resumed poll is not due")
	}
	if _, ok, _ := h.Store.GetHold(ctx, tr.ID); ok {
		t.Error("still held after Resume")
	}
}
