package temporal

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
	"google.golang.org/protobuf/encoding/protojson"
)

// idemShop is the e2e's order service: it applies each effect (an order, a
// reservation, a charge) once per Idempotency-Key, as a real payment API
// does, and counts effects and attempts.
type idemShop struct {
	mu       sync.Mutex
	replies  map[string][]byte // by idempotency key
	effects  map[string]int    // by "path order": applied effects
	attempts int
}

func (s *idemShop) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	var in map[string]any
	_ = json.Unmarshal(body, &in)
	key := r.Header.Get("Idempotency-Key")
	if r.Header.Get("Authorization") != "Bearer "+testKey || key == "" {
		w.WriteHeader(400)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.attempts++
	w.Header().Set("Content-Type", "application/json")
	if b, ok := s.replies[key]; ok {
		w.Write(b)
		return
	}
	var out any
	var order string
	switch {
	case r.URL.Path == "/orders":
		order = fmt.Sprint(in["id"])
		out = map[string]any{"id": order}
	case strings.HasPrefix(r.URL.Path, "/stock/"):
		order = fmt.Sprint(in["order"])
		out = map[string]any{"sku": strings.TrimPrefix(r.URL.Path, "/stock/")}
	case r.URL.Path == "/payments":
		order = fmt.Sprint(in["order"])
		out = map[string]any{"charge": "ch_" + order}
	default:
		w.WriteHeader(404)
		return
	}
	s.effects[r.URL.Path+" "+order]++
	b, _ := json.Marshal(out)
	s.replies[key] = b
	w.Write(b)
}

func (s *idemShop) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.effects)
}

// TestE2EKillWorker runs when scripts/e2e-temporal.sh sets
// FLOWRUN_E2E_TEMPORAL (a Temporal frontend) and FLOWRUN_E2E_BIN (a built
// flowrun): two workers, many runs, one worker SIGKILLed in the middle;
// every run must complete with each effect applied exactly once.
func TestE2EKillWorker(t *testing.T) {
	addr, bin := os.Getenv("FLOWRUN_E2E_TEMPORAL"), os.Getenv("FLOWRUN_E2E_BIN")
	if addr == "" || bin == "" {
		t.Skip("FLOWRUN_E2E_TEMPORAL and FLOWRUN_E2E_BIN are not set: run scripts/e2e-temporal.sh")
	}
	runs := 200
	if n := os.Getenv("FLOWRUN_E2E_RUNS"); n != "" {
		fmt.Sscan(n, &runs)
	}
	svc := &idemShop{replies: map[string][]byte{}, effects: map[string]int{}}
	srv := httptest.NewServer(svc)
	defer srv.Close()
	dir := t.TempDir()
	conn := "params:\n  base_url: " + srv.URL + "\n  api_key: " + testKey + "\n"
	if err := os.WriteFile(filepath.Join(dir, "acme.yaml"), []byte(conn), 0o600); err != nil {
		t.Fatal(err)
	}
	queue := fmt.Sprintf("e2e-%d", time.Now().UnixNano())
	startWorker := func(name string) *exec.Cmd {
		args := []string{"worker", "testdata/shop", "--temporal", addr, "--task-queue", queue,
			"--connections", dir, "--activity-timeout", "3s"}
		if dsn := os.Getenv("FLOWRUN_PG_DSN"); dsn != "" {
			args = append(args, "--state-dsn", dsn)
		}
		cmd := exec.Command(bin, args...)
		logf, _ := os.Create(filepath.Join(t.TempDir(), name+".log"))
		cmd.Stdout, cmd.Stderr = logf, logf
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
		return cmd
	}
	w1 := startWorker("w1")
	startWorker("w2")

	c, err := client.Dial(client.Options{HostPort: addr})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	begin := time.Now()
	items := []any{"apple", "pear", "plum"}
	handles := make([]client.WorkflowRun, runs)
	opts := func(i int) client.StartWorkflowOptions {
		return client.StartWorkflowOptions{ID: fmt.Sprintf("%s/order-%d", queue, i), TaskQueue: queue,
			WorkflowIDReusePolicy:                    enums.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
			WorkflowExecutionErrorWhenAlreadyStarted: true}
	}
	for i := range runs {
		in := FlowInput{Project: "shop", Flow: "place_order", ConnectionID: "acme",
			Inputs: map[string]any{"order_id": fmt.Sprintf("o-%d", i), "items": items}}
		if handles[i], err = c.ExecuteWorkflow(ctx, opts(i), WorkflowName, in); err != nil {
			t.Fatal(err)
		}
	}
	// A delivery started twice is one run.
	var dup *serviceerror.WorkflowExecutionAlreadyStarted
	if _, err := c.ExecuteWorkflow(ctx, opts(0), WorkflowName, FlowInput{}); !errors.As(err, &dup) {
		t.Fatalf("second start of one id: %v, want already started", err)
	}
	// Kill worker 1 once a third of the effects are in.
	total := runs * (2 + len(items))
	for svc.count() < total/3 {
		if ctx.Err() != nil {
			t.Fatal("no progress before the kill")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := w1.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	killedAt := svc.count()
	for i, h := range handles {
		var out map[string]any
		if err := h.Get(ctx, &out); err != nil {
			t.Fatalf("run %d: %v", i, err)
		}
		if out["charge"] != fmt.Sprintf("ch_o-%d", i) {
			t.Fatalf("run %d: outputs %v", i, out)
		}
	}
	took := time.Since(begin)
	svc.mu.Lock()
	lost, twice := 0, 0
	for i := range runs {
		o := fmt.Sprintf("o-%d", i)
		for _, p := range []string{"/orders", "/stock/apple", "/stock/pear", "/stock/plum", "/payments"} {
			switch n := svc.effects[p+" "+o]; {
			case n == 0:
				lost++
			case n > 1:
				twice++
			}
		}
	}
	attempts := svc.attempts
	svc.mu.Unlock()
	t.Logf("%d runs, %d effects (%d when worker 1 was killed), %d requests sent, %v (%.1f runs/s); lost %d, applied twice %d",
		runs, total, killedAt, attempts, took.Round(time.Millisecond), float64(runs)/took.Seconds(), lost, twice)
	if lost != 0 || twice != 0 {
		t.Fatalf("lost %d effects, applied %d twice", lost, twice)
	}
	if path := os.Getenv("FLOWRUN_RECORD_HISTORY"); path != "" {
		recordHistory(t, c, handles[0], path)
	}
}

// recordHistory writes a workflow's history as JSON, for the replay test
// (FLOWRUN_RECORD_HISTORY=engine/temporal/testdata/histories/place_order.json).
func recordHistory(t *testing.T, c client.Client, h client.WorkflowRun, path string) {
	it := c.GetWorkflowHistory(context.Background(), h.GetID(), h.GetRunID(), false, enums.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	var hist historypb.History
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			t.Fatal(err)
		}
		hist.Events = append(hist.Events, ev)
	}
	b, err := protojson.MarshalOptions{Indent: "  "}.Marshal(&hist)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestE2EReplayStamp runs the stamp flow (steps chosen by uuid() and now())
// on a worker in this process against the dev server of
// scripts/e2e-temporal.sh, then replays the recorded history against the
// same code; FLOWRUN_RECORD_STAMP writes the history for TestReplayStamp.
func TestE2EReplayStamp(t *testing.T) {
	addr := os.Getenv("FLOWRUN_E2E_TEMPORAL")
	if addr == "" {
		t.Skip("FLOWRUN_E2E_TEMPORAL is not set: run scripts/e2e-temporal.sh")
	}
	srv := httptest.NewServer(&shop{})
	defer srv.Close()
	e := newEngine(t, srv.URL)
	c, queue := startWorker(t, addr, e, "e2e-stamp")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	until := time.Now().Add(time.Minute).UTC().Format(time.RFC3339)
	h, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: queue, TaskQueue: queue}, WorkflowName,
		FlowInput{Project: "shop", Flow: "stamp", ConnectionID: "acme", Inputs: map[string]any{"until": until}})
	if err != nil {
		t.Fatal(err)
	}
	var out map[string]any
	if err := h.Get(ctx, &out); err != nil {
		t.Fatal(err)
	}
	if out["early"] != true {
		t.Fatalf("outputs %v", out)
	}
	path := os.Getenv("FLOWRUN_RECORD_STAMP")
	if path == "" {
		path = filepath.Join(t.TempDir(), "stamp.json")
	}
	recordHistory(t, c, h, path)
	r := worker.NewWorkflowReplayer()
	r.RegisterWorkflowWithOptions(e.Workflow, workflow.RegisterOptions{Name: WorkflowName})
	if err := r.ReplayWorkflowHistoryFromJSONFile(nil, path); err != nil {
		t.Fatal(err)
	}
}

// startWorker dials the Temporal at addr and runs e in an in-process worker
// on a new task queue named prefix-<time>, both stopped when the test ends;
// it returns the client and the queue.
func startWorker(t *testing.T, addr string, e *Engine, prefix string) (client.Client, string) {
	t.Helper()
	c, err := client.Dial(client.Options{HostPort: addr})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	queue := fmt.Sprintf("%s-%d", prefix, time.Now().UnixNano())
	w := worker.New(c, queue, worker.Options{})
	e.Register(w)
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Stop)
	return c, queue
}
