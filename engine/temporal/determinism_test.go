package temporal

import (
	"net/http/httptest"
	"regexp"
	"testing"
	"time"

	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/flowrun/flowrun/lang"
)

var uuidRe = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

// stamp runs the shop's stamp flow in the test environment, whose clock
// starts at start.
func stamp(t *testing.T, start time.Time, until string) map[string]any {
	t.Helper()
	srv := httptest.NewServer(&shop{})
	defer srv.Close()
	e := newEngine(t, srv.URL)
	var ts testsuite.WorkflowTestSuite
	env := ts.NewTestWorkflowEnvironment()
	env.SetStartTime(start)
	e.Register(env)
	env.ExecuteWorkflow(WorkflowName, FlowInput{Project: "shop", Flow: "stamp", ConnectionID: "acme", Inputs: map[string]any{"until": until}})
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	var out map[string]any
	if err := env.GetWorkflowResult(&out); err != nil {
		t.Fatal(err)
	}
	return out
}

// now() is the workflow's clock, not the machine's; uuid() gives fresh
// UUIDs (side effects); flow.run_id is the workflow's.
func TestNowAndUUIDInWorkflow(t *testing.T) {
	start := time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC)
	out := stamp(t, start, "2020-01-02T04:00:00Z")
	if out["early"] != true {
		t.Fatalf("now() before 2020-01-02T04:00Z on a clock started at %v: %v", start, out)
	}
	if out := stamp(t, start, "2020-01-02T03:00:00Z"); out["early"] != false {
		t.Fatalf("now() after 2020-01-02T03:00Z on a clock started at %v: %v", start, out)
	}
	picks, _ := out["picks"].([]any)
	seen := map[any]bool{}
	for _, p := range picks {
		if s, _ := p.(string); !uuidRe.MatchString(s) || seen[p] {
			t.Fatalf("picks %v: want 8 different UUIDs", picks)
		}
		seen[p] = true
	}
	if len(picks) != 8 || out["run"] != "default-test-workflow-id/default-test-run-id" {
		t.Fatalf("outputs %v", out)
	}
}

// TestReplayStamp replays a recorded run of stamp (scripts/e2e-temporal.sh
// with FLOWRUN_RECORD_HISTORY: a worker on a Temporal dev server), which
// took its steps by uuid() and now(): eight UUIDs decide between a request
// and a timer each, and now() against inputs.until decides the last one.
// It replays only because uuid() values come from the history's side-effect
// markers and now() from the workflow's clock; values drawn again would
// take other steps and fail the replay as nondeterministic.
func TestReplayStamp(t *testing.T) {
	r := worker.NewWorkflowReplayer()
	e := &Engine{Projects: map[string]*lang.Project{"shop": loadShop(t)}}
	r.RegisterWorkflowWithOptions(e.Workflow, workflow.RegisterOptions{Name: WorkflowName})
	if err := r.ReplayWorkflowHistoryFromJSONFile(nil, "testdata/histories/stamp.json"); err != nil {
		t.Fatal(err)
	}
}
