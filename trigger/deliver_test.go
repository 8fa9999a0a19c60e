package trigger

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/flowrun/flowrun/flowtest"
	"github.com/flowrun/flowrun/lang"
	"github.com/flowrun/flowrun/load"
	"github.com/flowrun/flowrun/load/loadtest"
	"github.com/flowrun/flowrun/webhook"
)

// logs collects a host's log lines.
type logs struct {
	mu    sync.Mutex
	lines []string
}

func (l *logs) logf(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, fmt.Sprintf(format, args...))
}

func (l *logs) take() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := l.lines
	l.lines = nil
	return out
}

// hookHost is newHost with its log captured and its clock pinned.
func hookHost(t *testing.T, sink Sink) (*Host, *Trigger, string, *logs) {
	t.Helper()
	h := newHost(t, newService(t), sink)
	l := &logs{}
	h.Logf = l.logf
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	h.Now = func() time.Time { return now }
	tr, err := h.On(context.Background(), "issue_events", nil)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return h, tr, srv.URL + HookPath(tr.ID), l
}

// TestMalformedBodiesAnswer400: a correctly signed body that does not parse
// is the sender's mistake, answered 400 (not 500, so it stops retrying)
// and recorded in the run history; no step runs.
func TestMalformedBodiesAnswer400(t *testing.T) {
	sink := &memSink{}
	h, tr, url, _ := hookHost(t, sink)
	deep := strings.Repeat("[", 200_000) + strings.Repeat("]", 200_000)
	for name, c := range map[string]struct {
		method, body, why string
	}{
		"bad JSON":          {"POST", `{"action": "opened",`, "the body is not valid JSON"},
		"empty":             {"POST", "", "the body is empty, but Content-Type application/json says JSON"},
		"200k-deep nesting": {"POST", deep, "the body is not valid JSON"},
		"two values":        {"POST", `{} {}`, "the body is not valid JSON"},
	} {
		hdr := map[string]string{"Content-Type": "application/json", "X-GitHub-Event": "issues", "X-GitHub-Delivery": name, "X-Hub-Signature-256": sign(tr.Secret, []byte(c.body))}
		code, resp := deliver(t, url, hdr, []byte(c.body), c.method)
		if code != 400 || resp != `{"error":"malformed body"}` {
			t.Errorf("%s: %d %s", name, code, resp)
		}
		runs, err := h.Store.History(context.Background(), tr.ID, 1)
		if err != nil || len(runs) != 1 || runs[0].Status != "error" || !strings.Contains(runs[0].Error, "delivery answered 400: malformed body: "+c.why) {
			t.Errorf("%s: history %+v %v", name, runs, err)
		}
	}
	if sink.count() != 0 {
		t.Fatalf("events from malformed bodies: %+v", sink.got)
	}
}

// TestStoreErrorAnswers503: a trigger lookup that fails for another reason
// than "not found" answers 503, so the sender retries, rather than 404.
func TestStoreErrorAnswers503(t *testing.T) {
	h, tr, url, l := hookHost(t, &memSink{})
	body := realPayload(t, "github-webhook-issues-opened.json")
	h.Store.Close()
	code, resp := deliver(t, url, map[string]string{"Content-Type": "application/json", "X-Hub-Signature-256": sign(tr.Secret, body)}, body, "POST")
	if code != 503 || resp != `{"error":"retry later"}` {
		t.Fatalf("%d %s", code, resp)
	}
	if lines := l.take(); len(lines) != 1 || !strings.HasPrefix(lines[0], "trigger "+tr.ID+": reading the trigger: ") {
		t.Fatalf("log: %q", lines)
	}
}

// TestRejectionsAreSummedUp: a flood of refused deliveries logs the first
// in full and the rest as one summary line per interval, by reason.
func TestRejectionsAreSummedUp(t *testing.T) {
	h, tr, url, l := hookHost(t, &memSink{})
	now := h.Now()
	h.Now = func() time.Time { return now }
	body := realPayload(t, "github-webhook-issues-opened.json")
	bad := map[string]string{"Content-Type": "application/json", "X-Hub-Signature-256": sign("wrong", body)}
	for range 5 {
		if code, _ := deliver(t, url, bad, body, "POST"); code != 401 {
			t.Fatalf("forged: %d", code)
		}
	}
	for range 3 {
		if code, _ := deliver(t, url, map[string]string{"Content-Type": "application/json"}, body, "POST"); code != 401 {
			t.Fatalf("unsigned: %d", code)
		}
	}
	h.MaxBody = 10
	if code, _ := deliver(t, url, bad, body, "POST"); code != 413 {
		t.Fatalf("big: %d", code)
	}
	h.MaxBody = 0
	want := []string{"trigger " + tr.ID + ": delivery answered 401: signature verification failed: signature does not match (more refusals within 1m0s are counted and summed up)"}
	if got := l.take(); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("log after 9 refusals:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// the interval is over: the next refusal logs the summary, then itself
	now = now.Add(61 * time.Second)
	deliver(t, url, bad, body, "POST")
	want = []string{
		"trigger " + tr.ID + ": 8 more deliveries refused in 1m1s: bad_signature 4, missing_header 3, body_too_large 1",
		want[0],
	}
	if got := l.take(); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("log:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// a flush (Serve runs one every interval, and one when it stops)
	deliver(t, url, bad, body, "POST")
	h.rejects().flush(now, true)
	if got := l.take(); len(got) != 1 || got[0] != "trigger "+tr.ID+": 1 more deliveries refused in 0s: bad_signature 1" {
		t.Fatalf("flush: %q", got)
	}
}

// TestReplayedBodyIsDropped: GitHub signs no timestamp, so a captured
// delivery verifies for ever; the host remembers the digest of each
// accepted body, and a replay, even under a new X-GitHub-Delivery (which
// is not signed), answers 200 without running a step.
func TestReplayedBodyIsDropped(t *testing.T) {
	sink := &memSink{}
	h, tr, url, _ := hookHost(t, sink)
	body := realPayload(t, "github-webhook-issues-opened.json")
	hdr := map[string]string{"Content-Type": "application/json", "X-GitHub-Event": "issues", "X-GitHub-Delivery": "d-1", "X-Hub-Signature-256": sign(tr.Secret, body)}
	if code, resp := deliver(t, url, hdr, body, "POST"); code != 200 || sink.count() != 1 {
		t.Fatalf("first: %d %s, %d events", code, resp, sink.count())
	}
	hdr["X-GitHub-Delivery"] = "d-replayed"
	if code, resp := deliver(t, url, hdr, body, "POST"); code != 200 || resp != `{"ok":true}` || sink.count() != 1 {
		t.Fatalf("replay: %d %s, %d events", code, resp, sink.count())
	}
	runs, _ := h.Store.History(context.Background(), tr.ID, 0)
	if len(runs) != 1 {
		t.Fatalf("runs: %+v", runs)
	}
	// another body is another delivery
	other := []byte(strings.Replace(string(body), `"opened"`, `"closed"`, 1))
	hdr["X-Hub-Signature-256"] = sign(tr.Secret, other)
	if code, _ := deliver(t, url, hdr, other, "POST"); code != 200 || sink.count() != 2 {
		t.Fatalf("other body: %d, %d events", code, sink.count())
	}
}

// TestSameMessageInTestAndServe: the same mistake gives the same message
// in `flowrun test` (a case's failure) and in `flowrun serve` (the log).
func TestSameMessageInTestAndServe(t *testing.T) {
	body := realPayload(t, "github-webhook-issues-opened.json")
	for _, c := range []struct {
		name, flow string
		body       string
		signWith   string // "" the trigger's secret
		contentTyp string
	}{
		{"forged signature", hookFlow, string(body), "not-the-secret", "application/json"},
		{"malformed JSON", hookFlow, `{"action":`, "", "application/json"},
	} {
		t.Run(c.name, func(t *testing.T) {
			svc := newService(t)
			h, dir := newHostWith(t, svc, &memSink{}, map[string]string{"connector.yaml": hostConnector, "flows/hook.yaml": c.flow})
			l := &logs{}
			h.Logf = l.logf
			tr, err := h.On(context.Background(), "issue_events", nil)
			if err != nil {
				t.Fatal(err)
			}
			secret := tr.Secret
			if c.signWith != "" {
				secret = c.signWith
			}
			srv := httptest.NewServer(h)
			defer srv.Close()
			sig := sign(secret, []byte(c.body))
			deliver(t, srv.URL+HookPath(tr.ID), map[string]string{"Content-Type": c.contentTyp, "X-Hub-Signature-256": sig}, []byte(c.body), "POST")
			served := l.take()
			if len(served) != 1 {
				t.Fatalf("serve logged %q", served)
			}
			servedMsg := strings.TrimSuffix(strings.TrimPrefix(served[0], "trigger "+tr.ID+": "), " (more refusals within 1m0s are counted and summed up)")

			// the same request as a test case
			suite := fmt.Sprintf("flowrun: 1\ntests:\n  - name: %s\n    flow: issue_events\n    connection: {params: {base_url: %q, token: t}}\n    secret: %q\n    registration: {id: 42}\n    request:\n      headers: {content-type: %s, x-hub-signature-256: %q}\n      raw: %q\n    events: []\n",
				c.name, svc.srv.URL, tr.Secret, c.contentTyp, sig, c.body)
			os.MkdirAll(filepath.Join(dir, "tests"), 0o755)
			os.WriteFile(filepath.Join(dir, "tests", "same.yaml"), []byte(suite), 0o644)
			proj, err := load.Project(dir)
			if err != nil {
				t.Fatal(err)
			}
			rep, err := flowtest.Run(context.Background(), proj, flowtest.Options{Out: &strings.Builder{}})
			if err != nil {
				t.Fatal(err)
			}
			if len(rep.Cases) != 1 || len(rep.Cases[0].Failures) != 1 {
				t.Fatalf("test report: %+v", rep.Cases)
			}
			tested := strings.TrimPrefix(rep.Cases[0].Failures[0].Summary, "flow failed: ")
			if tested != servedMsg {
				t.Fatalf("the same mistake, two messages:\nserve: %s\ntest:  %s", servedMsg, tested)
			}
			t.Log(tested)
		})
	}
}

// TestShippedVerifyBlocksCheck: every webhook flow the repository ships (the
// connectors and the fixture projects) passes webhook.Check, which
// `flowrun validate` applies.
func TestShippedVerifyBlocksCheck(t *testing.T) {
	dirs, _ := filepath.Glob(filepath.Join("..", "connectors", "*"))
	dirs = append(dirs, filepath.Join("..", "testdata", "valid"), filepath.Join("..", "testdata", "flowtest", "acme"), filepath.Join("..", "testdata", "trigger", "acme"))
	verified := 0
	for _, dir := range dirs {
		proj, err := load.Project(dir)
		if err != nil {
			t.Fatalf("%s: %v", dir, err)
		}
		for _, name := range proj.Order {
			f := proj.Flow(name)
			if f.Type != lang.Webhook || f.Verify == nil {
				continue
			}
			verified++
			if ps := webhook.Check(f.Verify.Spec); len(ps) > 0 {
				t.Errorf("%s: flow %s: %v", dir, name, ps)
			}
		}
	}
	if verified < 8 {
		t.Fatalf("only %d verify blocks found", verified)
	}
}

// TestBadVerifyFormatIsAValidateError: a mistake in verify settings never
// reaches a delivery: loading the project (validate, test and serve alike)
// reports it with webhook.Check's message.
func TestBadVerifyFormatIsAValidateError(t *testing.T) {
	badFormat := strings.Replace(hookFlow, `format: "sha256={hex}"`, `format: "sha256={hx}"`, 1)
	dir := t.TempDir()
	loadtest.Write(t, dir, map[string]string{"connector.yaml": hostConnector, "flows/hook.yaml": badFormat})
	_, err := load.Project(dir)
	if err == nil || !strings.Contains(err.Error(), "verify.format: unknown placeholder {hx}") {
		t.Fatalf("load: %v", err)
	}
}
