package trigger

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/flowrun/flowrun/connection"
	"github.com/flowrun/flowrun/load"
	"github.com/flowrun/flowrun/run"
)

// service is a fake SaaS API: it records calls, registers hooks and serves
// numbered events after a cursor.
type service struct {
	mu         sync.Mutex
	calls      []string
	events     int  // events 1..events exist
	downDelete bool // DELETE answers 500
	srv        *httptest.Server
}

func newService(t *testing.T) *service {
	s := &service{}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		s.mu.Lock()
		s.calls = append(s.calls, r.Method+" "+r.URL.Path+" "+string(body))
		n, down := s.events, s.downDelete
		s.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		switch {
		case r.Method == "POST" && r.URL.Path == "/hooks":
			w.WriteHeader(201)
			io.WriteString(w, `{"id": 42}`)
		case r.Method == "DELETE" && down:
			w.WriteHeader(500)
			io.WriteString(w, `{"message": "try later"}`)
		case r.Method == "DELETE":
			w.WriteHeader(204)
		case r.URL.Path == "/events":
			after, _ := strconv.Atoi(r.URL.Query().Get("after"))
			var evs []map[string]any
			for i := after + 1; i <= n; i++ {
				evs = append(evs, map[string]any{"id": i, "title": fmt.Sprintf("event %d", i)})
			}
			json.NewEncoder(w).Encode(map[string]any{"events": evs})
		default:
			w.WriteHeader(404)
		}
	}))
	t.Cleanup(s.srv.Close)
	return s
}

func (s *service) seen(prefix string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, c := range s.calls {
		if strings.HasPrefix(c, prefix) {
			n++
		}
	}
	return n
}

const hostConnector = `flowrun: 1
name: acme
base_url: ${ connection.base_url }
connection:
  params:
    base_url: {type: string, required: true}
    token: {type: string, required: true, secret: true}
  auth:
    type: bearer
    bearer: {token: "${ connection.token }"}
`

const hookFlow = `flowrun: 1
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
deregister:
  steps:
    - http:
        method: DELETE
        path: /hooks/${ registration.id }
event:
  steps:
    - if: ${ request.method == "GET" && request.headers["x-okta-verification-challenge"] != nil }
      then:
        - return:
            events: []
            response:
              body:
                verification: ${ request.headers["x-okta-verification-challenge"] }
    - if: ${ request.headers["x-github-event"] == "ping" }
      then:
        - return:
            events: []
            response: {status: 200, body: pong}
    - return:
        events:
          - action: ${ request.body.action }
            number: ${ request.body.issue.number }
`

const pollFlow = `flowrun: 1
name: new_events
type: poll
schedule: 1m
dedupe: ${ string(event.id) }
outputs:
  id: integer
  title: string
steps:
  - id: list
    http:
      path: /events
      query:
        after: ${ cursor ?? 0 }
  - return:
      events: ${ steps.list.body.events ?? [] }
      cursor: '${ len(steps.list.body.events ?? []) == 0 ? (cursor ?? 0) : last(steps.list.body.events).id }'
`

// memSink collects deliveries; fail makes Deliver fail.
type memSink struct {
	mu   sync.Mutex
	got  []Delivery
	fail bool
}

func (s *memSink) Deliver(ctx context.Context, ds []Delivery) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail {
		return errors.New("sink down")
	}
	s.got = append(s.got, ds...)
	return nil
}

func (s *memSink) Close() error { return nil }

func (s *memSink) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.got)
}

func newHost(t *testing.T, svc *service, sink Sink) *Host {
	h, _ := newHostWith(t, svc, sink, map[string]string{"connector.yaml": hostConnector, "flows/hook.yaml": hookFlow, "flows/poll.yaml": pollFlow})
	return h
}

// newHostWith is newHost for a project of the given files; it returns the
// project's directory too.
func newHostWith(t *testing.T, svc *service, sink Sink, files map[string]string) (*Host, string) {
	dir := t.TempDir()
	for name, body := range files {
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
	st, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	conn := &connection.Connection{Params: map[string]any{"base_url": svc.srv.URL, "token": "tok-secret-123"}}
	conn.AddSecret("tok-secret-123")
	return &Host{Runner: &run.Runner{Project: proj, Connection: conn}, Store: st, Sink: sink, PublicURL: "https://hooks.example.com"}, dir
}

func sign(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

func realPayload(t *testing.T, name string) []byte {
	b, err := os.ReadFile(filepath.Join("..", "testdata", "realdata", name))
	if err != nil {
		t.Fatalf("fixture missing: %v", err)
	}
	return b
}

func deliver(t *testing.T, url string, headers map[string]string, body []byte, method string) (int, string) {
	req, _ := http.NewRequest(method, url, bytes.NewReader(body))
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestWebhookLifecycle(t *testing.T) {
	svc := newService(t)
	sink := &memSink{}
	h := newHost(t, svc, sink)
	ctx := context.Background()

	tr, err := h.On(ctx, "issue_events", nil)
	if err != nil {
		t.Fatal(err)
	}
	if svc.seen("POST /hooks") != 1 || !strings.Contains(svc.calls[0], `"url":"https://hooks.example.com/hooks/`+tr.ID) || !strings.Contains(svc.calls[0], tr.Secret) {
		t.Fatalf("register call = %v", svc.calls)
	}
	if string(tr.Registration) != `{"id":42}` {
		t.Fatalf("registration = %s", tr.Registration)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	url := srv.URL + HookPath(tr.ID)
	body := realPayload(t, "github-webhook-issues-opened.json")
	good := map[string]string{"Content-Type": "application/json", "X-GitHub-Event": "issues", "X-GitHub-Delivery": "d-1", "X-Hub-Signature-256": sign(tr.Secret, body)}

	// a good delivery: one event
	if code, resp := deliver(t, url, good, body, "POST"); code != 200 {
		t.Fatalf("delivery: %d %s", code, resp)
	}
	if sink.count() != 1 || sink.got[0].Event.(map[string]any)["action"] != "opened" {
		t.Fatalf("sink got %+v", sink.got)
	}
	// the same delivery again (the sender retried): dropped by dedupe
	if code, _ := deliver(t, url, good, body, "POST"); code != 200 || sink.count() != 1 {
		t.Fatalf("replayed delivery: code %d, %d events", code, sink.count())
	}
	// tampered body: 401 and nothing runs
	calls := len(svc.calls)
	tampered := bytes.Replace(body, []byte(`"opened"`), []byte(`"closed"`), 1)
	bad := map[string]string{"Content-Type": "application/json", "X-GitHub-Delivery": "d-2", "X-Hub-Signature-256": sign(tr.Secret, body)}
	if code, _ := deliver(t, url, bad, tampered, "POST"); code != 401 {
		t.Fatalf("tampered delivery: %d, want 401", code)
	}
	// no signature at all
	if code, _ := deliver(t, url, map[string]string{"Content-Type": "application/json"}, body, "POST"); code != 401 {
		t.Fatalf("unsigned delivery: %d, want 401", code)
	}
	if sink.count() != 1 || len(svc.calls) != calls {
		t.Fatalf("a rejected delivery ran steps: %d events, calls %v", sink.count(), svc.calls)
	}
	// GitHub's ping is answered by the flow's response
	ping := realPayload(t, "github-webhook-ping.json")
	if code, resp := deliver(t, url, map[string]string{"Content-Type": "application/json", "X-GitHub-Event": "ping", "X-GitHub-Delivery": "d-3", "X-Hub-Signature-256": sign(tr.Secret, ping)}, ping, "POST"); code != 200 || resp != "pong" {
		t.Fatalf("ping: %d %q", code, resp)
	}
	// a body over the limit: 413
	h.MaxBody = 100
	if code, _ := deliver(t, url, good, body, "POST"); code != 413 {
		t.Fatalf("big body: %d, want 413", code)
	}
	h.MaxBody = 0
	// unknown trigger
	if code, _ := deliver(t, srv.URL+HookPath("nope"), good, body, "POST"); code != 404 {
		t.Fatalf("unknown trigger: %d", code)
	}
	// off: deregister runs, the trigger is forgotten
	if err := h.Off(ctx, tr.ID); err != nil {
		t.Fatal(err)
	}
	if svc.seen("DELETE /hooks/42") != 1 {
		t.Fatalf("deregister not called: %v", svc.calls)
	}
	if _, err := h.Store.GetTrigger(ctx, tr.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("trigger still there: %v", err)
	}
}

func TestOktaChallenge(t *testing.T) {
	svc := newService(t)
	h := newHost(t, svc, &memSink{})
	// Okta's verification GET carries no signature; the flow here verifies
	// every request, so a challenge without one is refused...
	tr, err := h.On(context.Background(), "issue_events", map[string]any{})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	url := srv.URL + HookPath(tr.ID)
	if code, _ := deliver(t, url, map[string]string{"X-Okta-Verification-Challenge": "abc"}, nil, "GET"); code != 401 {
		t.Fatalf("unsigned challenge: %d", code)
	}
	// ...and a signed one is answered by the flow's response.
	code, resp := deliver(t, url, map[string]string{"X-Okta-Verification-Challenge": "abc", "X-Hub-Signature-256": sign(tr.Secret, nil)}, nil, "GET")
	if code != 200 || strings.TrimSpace(resp) != `{"verification":"abc"}` {
		t.Fatalf("challenge: %d %s", code, resp)
	}
}

func TestWebhookNeedsPublicURL(t *testing.T) {
	svc := newService(t)
	h := newHost(t, svc, &memSink{})
	h.PublicURL = ""
	_, err := h.On(context.Background(), "issue_events", nil)
	var ue *run.RequestError
	if !errors.As(err, &ue) || svc.seen("POST") != 0 {
		t.Fatalf("err = %v, calls %v", err, svc.calls)
	}
}

func TestPollCommitsAfterDelivery(t *testing.T) {
	svc := newService(t)
	svc.events = 3
	sink := &memSink{}
	h := newHost(t, svc, sink)
	ctx := context.Background()
	tr, err := h.On(ctx, "new_events", nil)
	if err != nil {
		t.Fatal(err)
	}
	get := func() *Trigger {
		t.Helper()
		x, err := h.Store.GetTrigger(ctx, tr.ID)
		if err != nil {
			t.Fatal(err)
		}
		return x
	}
	// first run: 3 events, cursor 3
	if n, err := h.PollOnce(ctx, get()); err != nil || n != 3 {
		t.Fatalf("first poll: %d, %v", n, err)
	}
	if c := string(get().Cursor); c != "3" {
		t.Fatalf("cursor = %s", c)
	}
	// the sink fails: nothing committed, the cursor stays
	svc.events = 5
	sink.fail = true
	if _, err := h.PollOnce(ctx, get()); err == nil {
		t.Fatal("poll with a failing sink succeeded")
	}
	if c := string(get().Cursor); c != "3" {
		t.Fatalf("cursor moved although delivery failed: %s", c)
	}
	if get().LastError == "" {
		t.Fatal("the failed run was not recorded")
	}
	// the sink is back: the two events come (again), once
	sink.fail = false
	if n, err := h.PollOnce(ctx, get()); err != nil || n != 2 {
		t.Fatalf("poll after recovery: %d, %v", n, err)
	}
	// a crash after delivery but before commit repeats events: dedupe drops them
	if err := h.Store.Commit(ctx, tr.ID, RunCommit{Cursor: json.RawMessage("0")}); err != nil {
		t.Fatal(err)
	}
	if n, err := h.PollOnce(ctx, get()); err != nil || n != 0 {
		t.Fatalf("repeated events were not deduplicated: %d, %v", n, err)
	}
	if sink.count() != 5 {
		t.Fatalf("sink has %d events, want 5", sink.count())
	}
	ids := map[any]int{}
	for _, d := range sink.got {
		ids[d.Event.(map[string]any)["id"]]++
	}
	for id, n := range ids {
		if n != 1 {
			t.Errorf("event %v delivered %d times", id, n)
		}
	}
}

func TestPollCursorTooLarge(t *testing.T) {
	svc := newService(t)
	sink := &memSink{}
	h := newHost(t, svc, sink)
	dir := h.Runner.Project.Dir
	big := strings.Replace(pollFlow, "cursor: '${", "cursor: '${ repeat(\"x\", 11000) + string(", 1)
	big = strings.Replace(big, "last(steps.list.body.events).id }'", "last(steps.list.body.events).id) }'", 1)
	os.WriteFile(filepath.Join(dir, "flows/poll.yaml"), []byte(big), 0o644)
	proj, err := load.Project(dir)
	if err != nil {
		t.Fatal(err)
	}
	h.Runner = &run.Runner{Project: proj, Connection: h.Runner.Connection}
	svc.events = 1
	tr, err := h.On(context.Background(), "new_events", nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = h.PollOnce(context.Background(), tr)
	if err == nil || !strings.Contains(err.Error(), `flow "new_events"`) || !strings.Contains(err.Error(), "10 KiB") {
		t.Fatalf("err = %v", err)
	}
	if sink.count() != 0 {
		t.Fatal("events were delivered with an oversized cursor")
	}
}

func TestFileSink(t *testing.T) {
	p := filepath.Join(t.TempDir(), "events.jsonl")
	s, err := OpenSink("file:"+p, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ds := []Delivery{{Trigger: "t", Flow: "f", Event: map[string]any{"a": 1}}, {Trigger: "t", Flow: "f", Event: "x<y"}}
	if err := s.Deliver(context.Background(), ds); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(p)
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) != 2 || !strings.Contains(lines[1], `"event":"x<y"`) {
		t.Fatalf("file = %s", b)
	}
	if _, err := OpenSink("ftp://x", nil); err == nil {
		t.Fatal("unknown sink accepted")
	}
}

func TestHTTPSinkRetries(t *testing.T) {
	var mu sync.Mutex
	attempts := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		attempts++
		if attempts < 3 {
			w.WriteHeader(503)
		}
	}))
	defer srv.Close()
	s, err := OpenSink(srv.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	s.(*httpSink).backoff = 0
	if err := s.Deliver(context.Background(), []Delivery{{Event: 1}}); err != nil || attempts != 3 {
		t.Fatalf("err %v after %d attempts", err, attempts)
	}
}

func TestOnChecksInputs(t *testing.T) {
	svc := newService(t)
	h := newHost(t, svc, &memSink{})
	_, err := h.On(context.Background(), "new_events", map[string]any{"nope": 1})
	var ue *run.RequestError
	if !errors.As(err, &ue) || !strings.Contains(err.Error(), `"nope" is not declared`) {
		t.Fatalf("err = %v", err)
	}
	if ts, _ := h.Store.ListTriggers(context.Background()); len(ts) != 0 {
		t.Fatalf("a trigger was stored: %v", ts)
	}
}

func TestOffKeepsTriggerWhenDeregisterFails(t *testing.T) {
	svc := newService(t)
	h := newHost(t, svc, &memSink{})
	ctx := context.Background()
	tr, err := h.On(ctx, "issue_events", nil)
	if err != nil {
		t.Fatal(err)
	}
	svc.mu.Lock()
	svc.downDelete = true
	svc.mu.Unlock()
	err = h.Off(ctx, tr.ID)
	if err == nil || !strings.Contains(err.Error(), "stays on") {
		t.Fatalf("err = %v", err)
	}
	if strings.Contains(err.Error(), tr.Secret) {
		t.Fatalf("the error shows the webhook secret: %v", err)
	}
	if _, err := h.Store.GetTrigger(ctx, tr.ID); err != nil {
		t.Fatalf("the trigger was forgotten although deregister failed: %v", err)
	}
	svc.mu.Lock()
	svc.downDelete = false
	svc.mu.Unlock()
	if err := h.Off(ctx, tr.ID); err != nil {
		t.Fatal(err)
	}
	if svc.seen("DELETE /hooks/42") != 2 {
		t.Fatalf("calls %v", svc.calls)
	}
}

// TestServeSchedulesPollsAndDrains runs Serve in-process with a short Every:
// polls run on their own, /healthz answers, and canceling the context
// returns nil.
func TestServeSchedulesPollsAndDrains(t *testing.T) {
	svc := newService(t)
	svc.events = 2
	sink := &memSink{}
	h := newHost(t, svc, sink)
	h.Every = 50 * time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if _, err := h.On(ctx, "new_events", nil); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- h.Serve(ctx, ln, 5*time.Second) }()
	if code, body := deliver(t, "http://"+ln.Addr().String()+"/healthz", nil, nil, "GET"); code != 200 || body != "ok\n" {
		t.Fatalf("healthz: %d %q", code, body)
	}
	deadline := time.Now().Add(10 * time.Second)
	for sink.count() < 2 || svc.seen("GET /events") < 3 {
		if time.Now().After(deadline) {
			t.Fatalf("polls did not run: %d events, calls %v", sink.count(), svc.calls)
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Serve: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return after cancel")
	}
	if sink.count() != 2 {
		t.Fatalf("sink got %d events, want 2 (no repeats)", sink.count())
	}
}

// gateSink holds the first Deliver until released.
type gateSink struct {
	memSink
	entered chan struct{}
	release chan struct{}
	once    sync.Once
}

func (s *gateSink) Deliver(ctx context.Context, ds []Delivery) error {
	first := false
	s.once.Do(func() { first = true })
	if first {
		close(s.entered)
		<-s.release
	}
	return s.memSink.Deliver(ctx, ds)
}

// TestConcurrentDuplicateDelivery sends the same delivery again while the
// first is still at the sink (as Okta does after 3s): only one event comes out.
func TestConcurrentDuplicateDelivery(t *testing.T) {
	svc := newService(t)
	sink := &gateSink{entered: make(chan struct{}), release: make(chan struct{})}
	h := newHost(t, svc, sink)
	tr, err := h.On(context.Background(), "issue_events", nil)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	body := realPayload(t, "github-webhook-issues-opened.json")
	hdr := map[string]string{"Content-Type": "application/json", "X-GitHub-Event": "issues", "X-GitHub-Delivery": "same", "X-Hub-Signature-256": sign(tr.Secret, body)}
	codes := make(chan int, 2)
	post := func() {
		req, _ := http.NewRequest("POST", srv.URL+HookPath(tr.ID), bytes.NewReader(body))
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			codes <- 0
			return
		}
		resp.Body.Close()
		codes <- resp.StatusCode
	}
	go post()
	select {
	case <-sink.entered:
	case <-time.After(10 * time.Second):
		t.Fatal("the first delivery did not reach the sink")
	}
	go post()
	time.Sleep(200 * time.Millisecond) // the retry is now waiting behind the first
	close(sink.release)
	for range 2 {
		select {
		case c := <-codes:
			if c != 200 {
				t.Fatalf("delivery answered %d", c)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("no answer")
		}
	}
	if n := sink.count(); n != 1 {
		t.Fatalf("sink got %d events, want 1", n)
	}
}

// TestOtherProjectsTriggers: a state directory shared by two projects; each
// host serves, polls and turns off only its own triggers.
func TestOtherProjectsTriggers(t *testing.T) {
	svc := newService(t)
	svc.events = 1
	sink := &memSink{}
	h := newHost(t, svc, sink)
	ctx := context.Background()
	hook, err := h.On(ctx, "issue_events", nil)
	if err != nil {
		t.Fatal(err)
	}
	poll, err := h.On(ctx, "new_events", nil)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	files := map[string]string{"connector.yaml": strings.Replace(hostConnector, "name: acme", "name: other", 1), "flows/hook.yaml": hookFlow, "flows/poll.yaml": pollFlow}
	for name, body := range files {
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
	other := &Host{Runner: &run.Runner{Project: proj, Connection: h.Runner.Connection}, Store: h.Store, Sink: sink, PublicURL: h.PublicURL}
	srv := httptest.NewServer(other)
	defer srv.Close()
	body := realPayload(t, "github-webhook-issues-opened.json")
	hdr := map[string]string{"Content-Type": "application/json", "X-GitHub-Delivery": "x", "X-Hub-Signature-256": sign(hook.Secret, body)}
	if code, _ := deliver(t, srv.URL+HookPath(hook.ID), hdr, body, "POST"); code != 404 {
		t.Fatalf("another project's webhook: %d, want 404", code)
	}
	if _, err := other.PollOnce(ctx, poll); err == nil {
		t.Fatal("another project's poll ran")
	}
	var ue *run.RequestError
	if err := other.Off(ctx, hook.ID); !errors.As(err, &ue) || svc.seen("DELETE") != 0 {
		t.Fatalf("Off of another project's trigger: %v, calls %v", err, svc.calls)
	}
	if sink.count() != 0 || svc.seen("GET /events") != 0 {
		t.Fatalf("steps ran: %d events, calls %v", sink.count(), svc.calls)
	}
}

// TestHandshakeDuringRegister: a service that checks the new hook while
// registering it (Okta's lifecycle/verify) reaches a pending trigger.
func TestHandshakeDuringRegister(t *testing.T) {
	var hookSrv *httptest.Server
	var challengeStatus int
	var challengeBody string
	svc := newService(t)
	// replace the service's handler: answer POST /hooks only after calling the hook
	inner := svc.srv.Config.Handler
	svc.srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == "POST" && r.URL.Path == "/hooks" {
			body, _ := io.ReadAll(r.Body)
			var reg struct{ URL, Secret string }
			json.Unmarshal(body, &reg)
			req, _ := http.NewRequest("GET", reg.URL, nil)
			req.Header.Set("X-Okta-Verification-Challenge", "xyz")
			req.Header.Set("X-Hub-Signature-256", sign(reg.Secret, nil))
			if resp, err := http.DefaultClient.Do(req); err == nil {
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				challengeStatus, challengeBody = resp.StatusCode, strings.TrimSpace(string(b))
			}
			r.Body = io.NopCloser(bytes.NewReader(body))
		}
		inner.ServeHTTP(w, r)
	})
	h := newHost(t, svc, &memSink{})
	hookSrv = httptest.NewServer(h)
	defer hookSrv.Close()
	h.PublicURL = hookSrv.URL
	if _, err := h.On(context.Background(), "issue_events", nil); err != nil {
		t.Fatal(err)
	}
	if challengeStatus != 200 || challengeBody != `{"verification":"xyz"}` {
		t.Fatalf("challenge during register: %d %q", challengeStatus, challengeBody)
	}
}
