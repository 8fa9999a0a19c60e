package temporal

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/flowrun/flowrun/lang"
	"github.com/flowrun/flowrun/load"
)

// gate is a stock service that holds each request until want requests
// have been in flight together (or 2s have passed), and records the most
// that were: a loop that sends one request at a time is held each time and
// shows 1. The item "bad" is answered 422 at once.
type gate struct {
	want int
	mu   sync.Mutex
	cond *sync.Cond
	in   int
	most int
	open bool // want were in flight together: hold no more
	seen []string
}

func newGate(want int) *gate {
	g := &gate{want: want}
	g.cond = sync.NewCond(&g.mu)
	return g
}

func (g *gate) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	sku := strings.TrimPrefix(r.URL.Path, "/stock/")
	g.mu.Lock()
	g.seen = append(g.seen, sku)
	if sku == "bad" {
		g.mu.Unlock()
		w.WriteHeader(http.StatusUnprocessableEntity)
		return
	}
	g.in++
	g.most = max(g.most, g.in)
	if g.in >= g.want {
		g.open = true
		g.cond.Broadcast()
	}
	deadline := time.Now().Add(2 * time.Second)
	for !g.open && time.Now().Before(deadline) {
		t := time.AfterFunc(50*time.Millisecond, g.cond.Broadcast)
		g.cond.Wait()
		t.Stop()
	}
	g.in--
	g.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{"sku": sku})
}

// TestWorkflowForEachConcurrency: reserve's loop (concurrency: 3) runs as
// three workflow coroutines: three HTTP activities are in flight at once,
// never more, and the SKUs come back in input order.
func TestWorkflowForEachConcurrency(t *testing.T) {
	g := newGate(3)
	srv := httptest.NewServer(g)
	defer srv.Close()
	e := newEngine(t, srv.URL)
	var ts testsuite.WorkflowTestSuite
	env := ts.NewTestWorkflowEnvironment()
	e.Register(env)
	items := []any{"a", "b", "c", "d", "e", "f"}
	env.ExecuteWorkflow(WorkflowName, FlowInput{Project: "shop", Flow: "reserve", ConnectionID: "acme", Inputs: map[string]any{"items": items}})
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	var out map[string]any
	if err := env.GetWorkflowResult(&out); err != nil {
		t.Fatal(err)
	}
	got, _ := json.Marshal(out["skus"])
	want, _ := json.Marshal(items)
	if string(got) != string(want) {
		t.Fatalf("skus %s, want %s (input order)", got, want)
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.most != 3 || len(g.seen) != len(items) {
		t.Fatalf("%d requests in flight at most (want 3), %d sent: %v", g.most, len(g.seen), g.seen)
	}
}

// TestWorkflowForEachConcurrencyFirstError: the item that fails fails the
// run with its own error, and the workers take no item after it (the two
// in flight with it finish).
func TestWorkflowForEachConcurrencyFirstError(t *testing.T) {
	g := newGate(3)
	srv := httptest.NewServer(g)
	defer srv.Close()
	e := newEngine(t, srv.URL)
	var ts testsuite.WorkflowTestSuite
	env := ts.NewTestWorkflowEnvironment()
	e.Register(env)
	items := []any{"a", "bad", "c", "d", "e", "f", "g", "h", "i"}
	env.ExecuteWorkflow(WorkflowName, FlowInput{Project: "shop", Flow: "reserve", ConnectionID: "acme", Inputs: map[string]any{"items": items}})
	err := env.GetWorkflowError()
	if err == nil || !strings.Contains(err.Error(), "/stock/bad") || !strings.Contains(err.Error(), "422") {
		t.Fatalf("error %v, want the bad item's 422", err)
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(g.seen) > 3 {
		t.Fatalf("%d items sent after the failure: %v", len(g.seen)-3, g.seen)
	}
}

// TestReplayReserveParallel replays a recorded run of reserve whose loop
// ran in three coroutines (marker parallel-for-each, version 1; recorded by
// TestE2EReplayReserve with FLOWRUN_RECORD_RESERVE): a change to how the
// loop's activities are scheduled fails it.
func TestReplayReserveParallel(t *testing.T) {
	r := worker.NewWorkflowReplayer()
	e := &Engine{Projects: map[string]*lang.Project{"shop": loadShop(t)}}
	r.RegisterWorkflowWithOptions(e.Workflow, workflow.RegisterOptions{Name: WorkflowName})
	if err := r.ReplayWorkflowHistoryFromJSONFile(nil, "testdata/histories/reserve_parallel.json"); err != nil {
		t.Fatal(err)
	}
}

// TestE2EReplayReserve runs reserve (a loop with concurrency 3) on a worker
// in this process against the dev server of scripts/e2e-temporal.sh, then
// replays its history; FLOWRUN_RECORD_RESERVE writes the history for
// TestReplayReserveParallel.
func TestE2EReplayReserve(t *testing.T) {
	addr := os.Getenv("FLOWRUN_E2E_TEMPORAL")
	if addr == "" {
		t.Skip("FLOWRUN_E2E_TEMPORAL is not set: run scripts/e2e-temporal.sh")
	}
	g := newGate(3)
	srv := httptest.NewServer(g)
	defer srv.Close()
	e := newEngine(t, srv.URL)
	c, queue := startWorker(t, addr, e, "e2e-reserve")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	items := []any{"a", "b", "c", "d", "e", "f", "g"}
	h, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: queue, TaskQueue: queue}, WorkflowName,
		FlowInput{Project: "shop", Flow: "reserve", ConnectionID: "acme", Inputs: map[string]any{"items": items}})
	if err != nil {
		t.Fatal(err)
	}
	var out map[string]any
	if err := h.Get(ctx, &out); err != nil {
		t.Fatal(err)
	}
	got, _ := json.Marshal(out["skus"])
	if want, _ := json.Marshal(items); string(got) != string(want) {
		t.Fatalf("skus %s, want %s", got, want)
	}
	g.mu.Lock()
	most := g.most
	g.mu.Unlock()
	if most != 3 {
		t.Fatalf("%d requests in flight at most, want 3", most)
	}
	path := os.Getenv("FLOWRUN_RECORD_RESERVE")
	if path == "" {
		path = filepath.Join(t.TempDir(), "reserve.json")
	}
	recordHistory(t, c, h, path)
	r := worker.NewWorkflowReplayer()
	r.RegisterWorkflowWithOptions(e.Workflow, workflow.RegisterOptions{Name: WorkflowName})
	if err := r.ReplayWorkflowHistoryFromJSONFile(nil, path); err != nil {
		t.Fatal(err)
	}
}

// TestUsesOAuth2: a project whose http steps bring their own OAuth 2.0
// auth keeps its loops sequential in workflows (a token refresh in workflow
// code holds a lock across its request); the connector's OAuth 2.0 is the
// HTTP activity's since oauth-in-activity, so it does not.
func TestUsesOAuth2(t *testing.T) {
	if c, s := usesOAuth2(loadShop(t)); c || s {
		t.Fatal("shop uses a bearer token, not OAuth 2.0")
	}
	p, err := load.Project("../../testdata/trigger/oauth")
	if err != nil {
		t.Fatal(err)
	}
	if c, s := usesOAuth2(p); !c || s {
		t.Fatalf("testdata/trigger/oauth uses OAuth 2.0 in its connector only: connector %v, step %v", c, s)
	}
}

// TestWorkflowUUIDInCoroutines: uuid() (a side effect) drawn in the
// coroutines of a loop with concurrency: each item's own value, sent and
// collected.
func TestWorkflowUUIDInCoroutines(t *testing.T) {
	srv := httptest.NewServer(&shop{})
	defer srv.Close()
	e := newEngine(t, srv.URL)
	var ts testsuite.WorkflowTestSuite
	env := ts.NewTestWorkflowEnvironment()
	e.Register(env)
	env.ExecuteWorkflow(WorkflowName, FlowInput{Project: "shop", Flow: "tokens", ConnectionID: "acme"})
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	var out struct{ Sent [][2]string }
	if err := env.GetWorkflowResult(&out); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, p := range out.Sent {
		if p[0] != p[1] || len(p[0]) != 36 || seen[p[0]] {
			t.Fatalf("sent %v", out.Sent)
		}
		seen[p[0]] = true
	}
	if len(seen) != 4 {
		t.Fatalf("sent %v", out.Sent)
	}
}
