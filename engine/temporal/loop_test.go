package temporal

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/flowrun/flowrun/connection"
	"github.com/flowrun/flowrun/lang"
	"github.com/flowrun/flowrun/run"
)

// TestWorkflowLoopParts runs tally (a loop that counts in a variable,
// collects, and may return from inside) with a loop part of 3 items: a
// loop of 8 items runs as 3 child workflows and gives exactly what the
// same flow gives run in process, as do a return from the second part and
// an error in the third.
func TestWorkflowLoopParts(t *testing.T) {
	svc := &shop{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/stock/bad" {
			w.WriteHeader(http.StatusUnprocessableEntity)
			return
		}
		svc.ServeHTTP(w, r)
	}))
	defer srv.Close()
	items := func(xs ...string) []any {
		out := make([]any, len(xs))
		for i, x := range xs {
			out[i] = x
		}
		return out
	}
	for _, tc := range []struct {
		name  string
		items []any
		parts int
	}{
		{"three parts", items("a", "b", "c", "d", "e", "f", "g", "h"), 3},
		{"return in the second part", items("a", "b", "c", "d", "stop", "f", "g", "h"), 2},
		{"error in the third part", items("a", "b", "c", "d", "e", "f", "bad", "h"), 3},
		{"one part", items("a", "b", "c"), 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEngine(t, srv.URL)
			e.LoopPart = 3
			inputs := map[string]any{"items": tc.items}

			p := e.Projects["shop"]
			dir := t.TempDir()
			conn, err := connection.Load(writeConn(t, dir, srv.URL), p.Connector)
			if err != nil {
				t.Fatal(err)
			}
			want, wantErr := (&run.Runner{Project: p, Connection: conn}).Run(context.Background(), "tally", inputs)

			var ts testsuite.WorkflowTestSuite
			env := ts.NewTestWorkflowEnvironment()
			e.Register(env)
			children := 0
			env.SetOnChildWorkflowStartedListener(func(*workflow.Info, workflow.Context, converter.EncodedValues) { children++ })
			env.ExecuteWorkflow(WorkflowName, FlowInput{Project: "shop", Flow: "tally", ConnectionID: "acme", Inputs: inputs})
			if !env.IsWorkflowCompleted() {
				t.Fatal("workflow did not complete")
			}
			if children != tc.parts {
				t.Errorf("%d child workflows, want %d", children, tc.parts)
			}
			if wantErr != nil {
				var ae *temporal.ApplicationError
				if err := env.GetWorkflowError(); !errors.As(err, &ae) || ae.Message() != wantErr.Error() {
					t.Fatalf("error %v\nwant %v", err, wantErr)
				}
				return
			}
			if err := env.GetWorkflowError(); err != nil {
				t.Fatal(err)
			}
			var got map[string]any
			if err := env.GetWorkflowResult(&got); err != nil {
				t.Fatal(err)
			}
			g, _ := json.Marshal(got)
			w, _ := json.Marshal(want)
			if string(g) != string(w) {
				t.Fatalf("outputs %s\nin process %s", g, w)
			}
		})
	}
}

func writeConn(t *testing.T, dir, url string) string {
	t.Helper()
	path := filepath.Join(dir, "acme.yaml")
	if err := os.WriteFile(path, []byte("params:\n  base_url: "+url+"\n  api_key: "+testKey+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestE2EReplayParts runs, on a worker in this process against the dev
// server of scripts/e2e-temporal.sh, tally over 8 items in parts of 3
// (three child workflows) and tokens (uuid() in a loop's coroutines), then
// replays both histories; FLOWRUN_RECORD_DIR writes them for
// TestReplayRecordedParts.
func TestE2EReplayParts(t *testing.T) {
	addr := os.Getenv("FLOWRUN_E2E_TEMPORAL")
	if addr == "" {
		t.Skip("FLOWRUN_E2E_TEMPORAL is not set: run scripts/e2e-temporal.sh")
	}
	srv := httptest.NewServer(&shop{})
	defer srv.Close()
	e := newEngine(t, srv.URL)
	e.LoopPart = 3
	c, queue := startWorker(t, addr, e, "e2e-parts")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dir := os.Getenv("FLOWRUN_RECORD_DIR")
	if dir == "" {
		dir = t.TempDir()
	}
	for _, run := range []struct {
		file, flow string
		inputs     map[string]any
	}{
		{"tally_parts.json", "tally", map[string]any{"items": []any{"a", "b", "c", "d", "e", "f", "g", "h"}}},
		{"tokens.json", "tokens", nil},
	} {
		h, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: queue + "/" + run.flow, TaskQueue: queue}, WorkflowName,
			FlowInput{Project: "shop", Flow: run.flow, ConnectionID: "acme", Inputs: run.inputs})
		if err != nil {
			t.Fatal(err)
		}
		var out map[string]any
		if err := h.Get(ctx, &out); err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(dir, run.file)
		recordHistory(t, c, h, path)
		r := worker.NewWorkflowReplayer()
		r.RegisterWorkflowWithOptions(e.Workflow, workflow.RegisterOptions{Name: WorkflowName})
		r.RegisterWorkflowWithOptions(e.LoopWorkflow, workflow.RegisterOptions{Name: LoopWorkflowName})
		if err := r.ReplayWorkflowHistoryFromJSONFile(nil, path); err != nil {
			t.Fatalf("%s: %v", run.flow, err)
		}
	}
}

// TestReplayRecordedParts replays recorded runs (TestE2EReplayParts): tally
// in three parts (marker loop-parts), and tokens (uuid() side effects in a
// loop's coroutines). A change to how loops are split or scheduled fails
// it.
func TestReplayRecordedParts(t *testing.T) {
	for _, file := range []string{"tally_parts.json", "tokens.json"} {
		r := worker.NewWorkflowReplayer()
		e := &Engine{Projects: map[string]*lang.Project{"shop": loadShop(t)}, LoopPart: 3}
		r.RegisterWorkflowWithOptions(e.Workflow, workflow.RegisterOptions{Name: WorkflowName})
		r.RegisterWorkflowWithOptions(e.LoopWorkflow, workflow.RegisterOptions{Name: LoopWorkflowName})
		if err := r.ReplayWorkflowHistoryFromJSONFile(nil, filepath.Join("testdata/histories", file)); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
	}
}
