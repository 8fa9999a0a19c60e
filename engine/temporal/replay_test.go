package temporal

import (
	"testing"

	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/flowrun/flowrun/lang"
)

// TestReplayPlaceOrder replays a history recorded from a real run of
// place_order (two workers, Temporal dev server: scripts/e2e-temporal.sh with
// FLOWRUN_RECORD_HISTORY) against today's interpreter. A change that would
// make runs in flight take another path fails here: guard it with
// workflow.GetVersion, and keep this history.
func TestReplayPlaceOrder(t *testing.T) {
	r := worker.NewWorkflowReplayer()
	e := &Engine{Projects: map[string]*lang.Project{"shop": loadShop(t)}}
	r.RegisterWorkflowWithOptions(e.Workflow, workflow.RegisterOptions{Name: WorkflowName})
	if err := r.ReplayWorkflowHistoryFromJSONFile(nil, "testdata/histories/place_order.json"); err != nil {
		t.Fatal(err)
	}
}
