package temporal

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/flowrun/flowrun/run"
	"github.com/flowrun/flowrun/value"
)

// LoopWorkflowName is the workflow that runs a part of a long for_each.
const LoopWorkflowName = "flowrun.loop"

// DefaultLoopPart is the items of a for_each one child workflow runs. A
// workflow's history holds at most 51,200 events and 50 MB; an HTTP step
// takes about six events (its activity's three and a workflow task's
// three) and its response's size, so 200 items of a body of a few
// requests with responses of some tens of kB stay well within both.
const DefaultLoopPart = 200

func (e *Engine) loopPart() int {
	if e.LoopPart > 0 {
		return e.LoopPart
	}
	return DefaultLoopPart
}

// LoopInput is a part of a loop to run: the project and connection (by id)
// as in FlowInput, which loop (run.LoopPart's Flow and Loop), and the scope
// and items as JSON (decoded as responses are, so that values are typed
// the same way as in the parent).
type LoopInput struct {
	Project      string `json:"project"`
	ConnectionID string `json:"connection_id"`
	Flow         string `json:"flow"`
	Loop         string `json:"loop"`
	Scope        []byte `json:"scope"`
	Offset       int    `json:"offset"`
	Items        []byte `json:"items"`
}

// LoopOutput is what a part gave: the run.LoopPartResult as JSON, or the
// flow error that ended it (which the parent raises at the loop, as if the
// part had run in it).
type LoopOutput struct {
	Result []byte        `json:"result,omitempty"`
	Error  *run.RunError `json:"error,omitempty"`
}

type loopResult struct {
	Results  []any          `json:"results"`
	Vars     map[string]any `json:"vars"`
	Steps    map[string]any `json:"steps"`
	Returned bool           `json:"returned,omitempty"`
	Return   any            `json:"return,omitempty"`
}

// runPart is the Runner's RunPart in a workflow: each part is a child
// workflow (LoopWorkflow) on the same task queue, started when the one
// before has ended.
func (e *Engine) runPart(root workflow.Context, project, connectionID string) func(context.Context, run.LoopPart) (run.LoopPartResult, error) {
	return func(c context.Context, p run.LoopPart) (run.LoopPartResult, error) {
		var res run.LoopPartResult
		wctx := workflowContext(c, root)
		scope, err := json.Marshal(p.Scope)
		if err != nil {
			return res, fmt.Errorf("for_each in parts: the names in scope are not JSON: %v", err)
		}
		items, err := json.Marshal(p.Items)
		if err != nil {
			return res, fmt.Errorf("for_each in parts: the items are not JSON: %v", err)
		}
		in := LoopInput{Project: project, ConnectionID: connectionID, Flow: p.Flow, Loop: p.Loop, Scope: scope, Offset: p.Offset, Items: items}
		var out LoopOutput
		err = workflow.ExecuteChildWorkflow(workflow.WithChildOptions(wctx, workflow.ChildWorkflowOptions{}), LoopWorkflowName, in).Get(wctx, &out)
		if err != nil {
			if wctx.Err() != nil {
				return res, wctx.Err()
			}
			return res, fmt.Errorf("for_each items %d to %d: %w", p.Offset, p.Offset+len(p.Items)-1, err)
		}
		if out.Error != nil {
			return res, out.Error
		}
		v, err := value.DecodeJSON(out.Result)
		m, _ := v.(map[string]any)
		if err != nil || m == nil {
			return res, fmt.Errorf("for_each items %d to %d: a part's result is not a JSON object", p.Offset, p.Offset+len(p.Items)-1)
		}
		res.Results, _ = m["results"].([]any)
		res.Vars, _ = m["vars"].(map[string]any)
		res.Steps, _ = m["steps"].(map[string]any)
		res.Returned, _ = m["returned"].(bool)
		res.Return = m["return"]
		return res, nil
	}
}

// LoopWorkflow runs a part of a loop (run.Runner.RunLoopPart) with the
// interpreter of a flow's workflow. A flow error is its output, not its
// failure, so that the parent raises the very error.
func (e *Engine) LoopWorkflow(ctx workflow.Context, in LoopInput) (LoopOutput, error) {
	r, err := e.runner(ctx, in.Project, in.ConnectionID)
	if err != nil {
		return LoopOutput{}, err
	}
	scope, err := value.DecodeJSON(in.Scope)
	sm, _ := scope.(map[string]any)
	if err != nil || sm == nil {
		return LoopOutput{}, temporal.NewNonRetryableApplicationError("loop part: the scope is not a JSON object", "config", nil)
	}
	items, err := value.DecodeJSON(in.Items)
	il, _ := items.([]any)
	if err != nil || (il == nil && items != nil) {
		return LoopOutput{}, temporal.NewNonRetryableApplicationError("loop part: the items are not a JSON list", "config", nil)
	}
	res, err := r.RunLoopPart(context.Background(), run.LoopPart{Flow: in.Flow, Loop: in.Loop, Scope: sm, Offset: in.Offset, Items: il})
	if err != nil {
		if ctx.Err() != nil {
			return LoopOutput{}, ctx.Err()
		}
		var re *run.RunError
		if errors.As(err, &re) {
			return LoopOutput{Error: re}, nil
		}
		return LoopOutput{}, flowError(err)
	}
	b, err := json.Marshal(loopResult{Results: res.Results, Vars: res.Vars, Steps: res.Steps, Returned: res.Returned, Return: res.Return})
	if err != nil {
		return LoopOutput{}, flowError(fmt.Errorf("loop part: its result is not JSON: %v", err))
	}
	return LoopOutput{Result: b}, nil
}
