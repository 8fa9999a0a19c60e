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

	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/flowrun/flowrun/connection"
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
