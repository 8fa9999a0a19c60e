package run

import (
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/flowrun/flowrun/connection"
	"github.com/flowrun/flowrun/lang"
	"github.com/flowrun/flowrun/load"
)

func TestSystemFlows(t *testing.T) {
	var hooks atomic.Int32
	srv := newRecorder(t, func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/api/v2/me" && r.Header.Get("Authorization") == "Bearer good-key-1":
			jsonReply(w, 200, `{"name": "Ada"}`)
		case r.URL.Path == "/api/v2/me":
			jsonReply(w, 401, `{}`)
		case r.URL.Path == "/api/v2/tickets":
			jsonReply(w, 200, `{"tickets": [{"id": "t1", "title": "one", "extra": 1}, {"id": "t2", "title": "two"}]}`)
		case r.URL.Path == "/api/v2/webhooks" && r.Method == "POST":
			hooks.Add(1)
			jsonReply(w, 201, `{"id": "h1"}`)
		case strings.HasPrefix(r.URL.Path, "/api/v2/webhooks/") && r.Method == "DELETE":
			hooks.Add(-1)
			w.WriteHeader(204)
		case r.URL.Path == "/api/v2/revoke":
			w.WriteHeader(200)
		default:
			w.WriteHeader(500)
		}
	})
	files := map[string]string{
		"connector.yaml": httpConnector("type: bearer\nbearer: {token: \"${ connection.api_key }\"}", ""),
		"flows/ping.yaml": `name: ping
type: authping
steps:
  - id: me
    http: {path: /me, expect: any}
  - if: ${ steps.me.status == 401 }
    then:
      - return: {working: false, message: bad key}
  - return: {label: "${ steps.me.body.name }"}
`,
		"flows/revoke.yaml": "name: revoke\ntype: revoke\nsteps:\n  - http: {method: POST, path: /revoke}\n",
		"flows/tickets.yaml": `name: tickets
type: poll
schedule: 5m
dedupe: ${ event.id }
outputs: {id: string, title: string}
steps:
  - id: page
    http:
      path: /tickets
      query: {since: "${ cursor ?? \"1970-01-01T00:00:00Z\" }"}
  - return:
      events: ${ steps.page.body.tickets }
      cursor: later
`,
		"flows/hook.yaml": `name: hook
type: webhook
outputs: {id: string}
register:
  steps:
    - id: hook
      http:
        method: POST
        path: /webhooks
        json: {url: "${ webhook.url }"}
    - return: {id: "${ steps.hook.body.id }", secret: "${ webhook.secret }"}
deregister:
  steps:
    - http: {method: DELETE, path: "/webhooks/${ registration.id }"}
event:
  steps:
    - if: ${ request.body.type == "challenge" }
      then:
        - return: {events: [], response: {status: 200, body: "${ request.body.challenge }"}}
    - return:
        events:
          - id: ${ request.body.user.id }
`,
	}
	p := loadProject(t, files)
	ctx := context.Background()
	t.Run("authping", func(t *testing.T) {
		r, _ := newTestRunner(p, map[string]any{"base_url": srv.URL, "api_key": "good-key-1"})
		working, label, msg, _, err := r.AuthPing(ctx)
		if err != nil || !working || label != "Ada" || msg != "" {
			t.Errorf("%v %q %q %v", working, label, msg, err)
		}
		r, _ = newTestRunner(p, map[string]any{"base_url": srv.URL, "api_key": "bad-key-1"})
		working, _, msg, _, err = r.AuthPing(ctx)
		if err != nil || working || msg != "bad key" {
			t.Errorf("%v %q %v", working, msg, err)
		}
		r, _ = newTestRunner(p, map[string]any{"base_url": "http://127.0.0.1:1", "api_key": "good-key-1"})
		working, _, msg, _, err = r.AuthPing(ctx)
		if err != nil || working || !strings.Contains(msg, "connection refused") {
			t.Errorf("a failing authping is not working: %v %q %v", working, msg, err)
		}
	})
	t.Run("poll", func(t *testing.T) {
		r, _ := newTestRunner(p, map[string]any{"base_url": srv.URL, "api_key": "good-key-1"})
		events, cursor, err := r.Poll(ctx, "tickets", nil, nil)
		if err != nil || toJSON(t, events) != `[{"extra":1,"id":"t1","title":"one"},{"id":"t2","title":"two"}]` || cursor != "later" {
			t.Errorf("%s %v %v", toJSON(t, events), cursor, err)
		}
		if q := srv.requests()[len(srv.requests())-1].Query; q != "since=1970-01-01T00%3A00%3A00Z" {
			t.Errorf("query %s", q)
		}
		key, err := r.EvalDedupe(p.Flow("tickets"), events[0], nil)
		if err != nil || key != "t1" {
			t.Errorf("dedupe %q %v", key, err)
		}
		if _, _, err := r.Poll(ctx, "ping", nil, nil); err == nil {
			t.Errorf("polled an authping flow")
		}
	})
	t.Run("webhook register, event, deregister", func(t *testing.T) {
		r, _ := newTestRunner(p, map[string]any{"base_url": srv.URL, "api_key": "good-key-1"})
		hook := map[string]any{"url": "https://example.test/h", "secret": "whsec"}
		reg, err := r.Register(ctx, "hook", nil, hook)
		if err != nil || toJSON(t, reg) != `{"id":"h1","secret":"whsec"}` || hooks.Load() != 1 {
			t.Fatalf("%v %v", reg, err)
		}
		events, resp, err := r.Event(ctx, "hook", nil, reg, hook, map[string]any{"body": map[string]any{"type": "challenge", "challenge": "c1"}})
		if err != nil || len(events) != 0 || toJSON(t, resp) != `{"body":"c1","status":200}` {
			t.Errorf("%v %v %v", events, resp, err)
		}
		events, resp, err = r.Event(ctx, "hook", nil, reg, hook, map[string]any{"body": map[string]any{"user": map[string]any{"id": "u9"}}})
		if err != nil || toJSON(t, events) != `[{"id":"u9"}]` || resp != nil {
			t.Errorf("%v %v %v", events, resp, err)
		}
		if err := r.Deregister(ctx, "hook", nil, reg, hook); err != nil || hooks.Load() != 0 {
			t.Errorf("%v %d", err, hooks.Load())
		}
		if _, err := r.Run(ctx, "hook", nil); err == nil {
			t.Errorf("ran a webhook flow as an action")
		}
	})
	t.Run("revoke marks the connection", func(t *testing.T) {
		cf := filepath.Join(t.TempDir(), "c.yaml")
		if err := os.WriteFile(cf, []byte("params:\n  base_url: "+srv.URL+"\n  api_key: good-key-1\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		conn, err := connection.Load(cf, p.Connector)
		if err != nil {
			t.Fatal(err)
		}
		r := &Runner{Project: p, Connection: conn}
		if err := r.Revoke(ctx); err != nil {
			t.Fatal(err)
		}
		if err := conn.MarkRevoked(time.Now()); err != nil {
			t.Fatal(err)
		}
		again, err := connection.Load(cf, p.Connector)
		if err != nil {
			t.Fatal(err)
		}
		_, err = (&Runner{Project: p, Connection: again}).Run(ctx, "tickets", nil)
		var ue *RequestError
		if !errors.As(err, &ue) || !strings.Contains(err.Error(), "was revoked") {
			t.Errorf("err = %v", err)
		}
	})
}

func TestRetryOnlyIdempotentAfterSend(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	srv := newRecorder(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	conn := httpConnector("", "retry: {attempts: 2, on: [503], backoff: 1ms}\n")
	for method, want := range map[string]int{"GET": 2, "PUT": 2, "POST": 1, "PATCH": 1} {
		before := len(srv.requests())
		_, err, _ := httpRun(t, conn, "steps:\n  - http: {method: "+method+", path: /slow, timeout: 300ms}\n", srv.URL, nil)
		if err == nil || !strings.Contains(err.Error(), "no response within 300ms") {
			t.Errorf("%s: err = %v", method, err)
		}
		if got := len(srv.requests()) - before; got != want {
			t.Errorf("%s after a timeout: %d attempts, want %d", method, got, want)
		}
	}
}

func TestFormBodyNesting(t *testing.T) {
	srv := newRecorder(t, func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(200) })
	_, err, _ := httpRun(t, httpConnector("", ""), `steps:
  - http:
      method: POST
      path: /f
      form:
        card: '${ {"number": "4242", "exp": {"month": 1}} }'
        items: ${ ["a", "b"] }
        skip: ${ nil }
`, srv.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := srv.requests()[0].Body; got != "card%5Bexp%5D%5Bmonth%5D=1&card%5Bnumber%5D=4242&items%5B0%5D=a&items%5B1%5D=b" {
		t.Errorf("body %s", got)
	}
}

// TestExampleRunsEveryStepKind runs the example connector's flows and checks
// that between them they execute every step kind of SPEC §4.
func TestExampleRunsEveryStepKind(t *testing.T) {
	p, err := load.Project(filepath.Join("..", "connectors", "example"))
	if err != nil {
		t.Fatal(err)
	}
	srv := newRecorder(t, func(w http.ResponseWriter, r *http.Request) {
		jsonReply(w, 200, `[{"id": "u1", "status": "ACTIVE", "profile": {"login": "a@example.com"}}]`)
	})
	seen := map[string]bool{}
	var mu = make(chan struct{}, 1)
	r, _ := newTestRunner(p, map[string]any{"base_url": srv.URL, "api_key": "k-123456"})
	r.Trace = func(ev TraceEvent) {
		mu <- struct{}{}
		seen[ev.Kind] = true
		<-mu
	}
	orders := []any{
		map[string]any{"id": "a", "amount": 120, "status": "paid"},
		map[string]any{"id": "b", "amount": -1},
		map[string]any{"id": "c", "amount": 5, "status": "refunded"},
		map[string]any{"id": "d", "amount": 0.5},
	}
	out, err := r.Run(context.Background(), "summarize", map[string]any{"orders": orders, "min_amount": 1, "pause": "10ms"})
	if err != nil {
		t.Fatal(err)
	}
	if toJSON(t, out["invalid"]) != `["order b has a negative amount"]` || out["total_paid"] != 120.0 || out["skipped"] != 1 {
		t.Errorf("summarize: %s", toJSON(t, out))
	}
	if _, err := r.Run(context.Background(), "list_users", nil); err != nil {
		t.Fatal(err)
	}
	for _, k := range lang.StepKinds {
		if !seen[string(k)] {
			t.Errorf("step kind %q never ran", k)
		}
	}
}
