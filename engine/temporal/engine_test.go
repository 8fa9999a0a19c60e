package temporal

import (
	"context"
	"encoding/base64"
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

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/flowrun/flowrun/lang"
	"github.com/flowrun/flowrun/load"
)

const testKey = "sk_live_abcdef123456"

// shop is a fake order service: it records every request and answers
// /orders, /stock/{sku} and /payments; /stock/flaky answers 503 once.
type shop struct {
	mu    sync.Mutex
	seen  []string // "METHOD PATH auth idempotency-key"
	flaky int
}

func (s *shop) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	s.seen = append(s.seen, r.Method+" "+r.URL.Path+" "+r.Header.Get("Authorization")+" "+r.Header.Get("Idempotency-Key"))
	flaky := r.URL.Path == "/stock/flaky" && s.flaky == 0
	if flaky {
		s.flaky++
	}
	s.mu.Unlock()
	if r.Header.Get("Authorization") != "Bearer "+testKey {
		w.WriteHeader(401)
		return
	}
	if flaky {
		w.WriteHeader(503)
		return
	}
	var in map[string]any
	_ = json.Unmarshal(body, &in)
	w.Header().Set("Content-Type", "application/json")
	switch {
	case r.URL.Path == "/orders":
		json.NewEncoder(w).Encode(map[string]any{"id": in["id"], "echo": r.Header.Get("Authorization")})
	case strings.HasPrefix(r.URL.Path, "/stock/"):
		json.NewEncoder(w).Encode(map[string]any{"sku": strings.TrimPrefix(r.URL.Path, "/stock/")})
	case r.URL.Path == "/payments":
		json.NewEncoder(w).Encode(map[string]any{"charge": "ch_" + in["order"].(string)})
	default:
		w.WriteHeader(404)
	}
}

func loadShop(t testing.TB) *lang.Project {
	t.Helper()
	p, err := load.Project("testdata/shop")
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// newEngine serves testdata/shop with connection "acme" pointing at url.
func newEngine(t testing.TB, url string) *Engine {
	t.Helper()
	dir := t.TempDir()
	conn := "params:\n  base_url: " + url + "\n  api_key: " + testKey + "\n"
	if err := os.WriteFile(filepath.Join(dir, "acme.yaml"), []byte(conn), 0o600); err != nil {
		t.Fatal(err)
	}
	return &Engine{Projects: map[string]*lang.Project{"shop": loadShop(t)}, Resolve: DirResolver(dir), IdempotencyHeader: "Idempotency-Key"}
}

func TestPlaceOrderWorkflow(t *testing.T) {
	svc := &shop{}
	srv := httptest.NewServer(svc)
	defer srv.Close()
	e := newEngine(t, srv.URL)

	var ts testsuite.WorkflowTestSuite
	env := ts.NewTestWorkflowEnvironment()
	e.Register(env)
	// Everything an activity gets or returns goes into history: no secret.
	history := recordActivities(env)
	env.ExecuteWorkflow(WorkflowName, FlowInput{Project: "shop", Flow: "place_order", ConnectionID: "acme",
		Inputs: map[string]any{"order_id": "o-1", "items": []any{"apple", "flaky", "pear"}}})
	if !env.IsWorkflowCompleted() {
		t.Fatal("workflow did not complete")
	}
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	var out map[string]any
	if err := env.GetWorkflowResult(&out); err != nil {
		t.Fatal(err)
	}
	got, _ := json.Marshal(out)
	if want := `{"charge":"ch_o-1","id":"o-1","reserved":["apple","flaky","pear"]}`; string(got) != want {
		t.Fatalf("outputs %s, want %s", got, want)
	}
	if strings.Contains(history.String(), testKey) {
		t.Fatalf("the secret reached workflow history:\n%s", history.String())
	}
	if !strings.Contains(history.String(), placeholder("api_key")) {
		t.Fatalf("no placeholder in the activities' inputs:\n%s", history.String())
	}
	if !strings.Contains(history.String(), `"echo":"Bearer `+placeholder("api_key")) {
		t.Fatalf("the echoed header is not in a response body, sealed:\n%s", history.String())
	}
	svc.mu.Lock()
	defer svc.mu.Unlock()
	// 1 order + 3 items (flaky twice: 503 then retried by the activity's
	// retry policy, from the connector's http.retry) + 1 payment
	if len(svc.seen) != 6 {
		t.Fatalf("requests:\n%s", strings.Join(svc.seen, "\n"))
	}
	keys := map[string]bool{}
	for _, s := range svc.seen {
		f := strings.Fields(s)
		if len(f) != 5 || f[2]+" "+f[3] != "Bearer "+testKey || !strings.HasPrefix(f[4], "default-test-workflow-id/") {
			t.Fatalf("request %q: want the real token and an idempotency key", s)
		}
		keys[f[4]] = true
	}
	if len(keys) != 5 {
		t.Fatalf("idempotency keys not one per request (its retries keep it): %v", keys)
	}
}

func TestFlowFailureIsTyped(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(500) }))
	defer srv.Close()
	e := newEngine(t, srv.URL)
	var ts testsuite.WorkflowTestSuite
	env := ts.NewTestWorkflowEnvironment()
	e.Register(env)
	env.ExecuteWorkflow(WorkflowName, FlowInput{Project: "shop", Flow: "place_order", ConnectionID: "acme",
		Inputs: map[string]any{"order_id": "o-2", "items": []any{}}})
	err := env.GetWorkflowError()
	if err == nil || !strings.Contains(err.Error(), `flow "place_order", step "order"`) || strings.Contains(err.Error(), testKey) {
		t.Fatalf("error %v", err)
	}
}

func TestUnknownConnection(t *testing.T) {
	e := newEngine(t, "http://127.0.0.1:1")
	var ts testsuite.WorkflowTestSuite
	env := ts.NewTestWorkflowEnvironment()
	e.Register(env)
	env.ExecuteWorkflow(WorkflowName, FlowInput{Project: "shop", Flow: "place_order", ConnectionID: "../etc/passwd"})
	if err := env.GetWorkflowError(); err == nil || !strings.Contains(err.Error(), "not a file name") {
		t.Fatalf("error %v", err)
	}
}

func TestUnsealBasic(t *testing.T) {
	sec := map[string]string{placeholder("pw"): "hunter22"}
	in := "Basic " + b64("bob:"+placeholder("pw"))
	if got := unseal(in, sec); got != "Basic "+b64("bob:hunter22") {
		t.Fatalf("unseal %q", got)
	}
	if got := reseal(`{"pw":"hunter22"}`, sec); got != `{"pw":"`+placeholder("pw")+`"}` {
		t.Fatalf("reseal %q", got)
	}
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

// recordActivities collects, as text, everything the activities of env get
// and return (what history keeps), with the HTTP activity's request and
// response bodies decoded (they are []byte, base64 in the payloads' JSON)
// and failures' messages and response details.
func recordActivities(env *testsuite.TestWorkflowEnvironment) *strings.Builder {
	var history strings.Builder
	dc := converter.GetDefaultDataConverter()
	env.SetOnActivityStartedListener(func(info *activity.Info, _ context.Context, args converter.EncodedValues) {
		p, _ := dc.ToPayloads(args)
		history.WriteString(p.String())
		var req HTTPRequest
		if info.ActivityType.Name == HTTPActivityName && args.Get(&req) == nil {
			fmt.Fprintf(&history, "%v %s %s", req.Header, req.URL, req.Body)
		}
	})
	env.SetOnActivityCompletedListener(func(info *activity.Info, result converter.EncodedValue, err error) {
		var out any
		if result != nil && result.HasValue() {
			_ = result.Get(&out)
			var resp HTTPResponse
			if info.ActivityType.Name == HTTPActivityName && result.Get(&resp) == nil {
				fmt.Fprintf(&history, "%v %s", resp.Header, resp.Body)
			}
		}
		b, _ := json.Marshal(out)
		history.Write(b)
		if err != nil {
			history.WriteString(err.Error())
			var ae *temporal.ApplicationError
			var resp HTTPResponse
			if errors.As(err, &ae) && ae.HasDetails() && ae.Details(&resp) == nil {
				fmt.Fprintf(&history, "%v %s", resp.Header, resp.Body)
			}
		}
	})
	return &history
}
