package temporal

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
)

// MemoConnection is the memo key naming the connection a workflow runs
// with, "<project>/<connection id>" (ConnectionKey): flowrun start and the
// poll Schedules set it, and RevokeConnection finds a connection's running
// workflows by it. A memo needs no setup on the Temporal server (a search
// attribute would have to be registered first).
const MemoConnection = "flowrun_connection"

// ConnectionKey is the value of MemoConnection for a project's connection.
func ConnectionKey(project, connectionID string) string { return project + "/" + connectionID }

// ConnectionMemo is the memo of a workflow run with a project's connection.
func ConnectionMemo(project, connectionID string) map[string]any {
	return map[string]any{MemoConnection: ConnectionKey(project, connectionID)}
}

// RevokeReport says what RevokeConnection did.
type RevokeReport struct {
	Schedules []string // ids of the poll Schedules deleted
	Workflows []string // ids of the workflows whose cancellation was requested
}

// String is "deleted 2 schedules, cancelled 3 workflows".
func (r RevokeReport) String() string {
	return fmt.Sprintf("deleted %s, cancelled %s", plural(len(r.Schedules), "schedule"), plural(len(r.Workflows), "workflow"))
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

// RevokeConnection stops what runs on Temporal with a project's revoked
// connection: it deletes the poll Schedules (poll/<trigger>) whose polls
// run with it, cancels their running polls, and cancels the connection's
// running flow workflows. triggerIDs are poll triggers known to run with
// it (from the state; may be nil): their Schedules are looked at even when
// Temporal's list of schedules, which is eventually consistent, does not
// show them yet. A Schedule or workflow already gone, or already asked to
// cancel, is not counted, so that a second call reports nothing to do.
//
// Flow workflows are found by their memo (MemoConnection); a running
// flowrun.flow workflow without it (started by another Temporal client) is
// matched by the input it was started with. dc reads Schedules' arguments,
// memos and start inputs: the client's data converter, with its payload
// codecs (--payload-key seals them); nil is Temporal's default.
func RevokeConnection(ctx context.Context, c client.Client, dc converter.DataConverter, project, connectionID string, triggerIDs []string) (RevokeReport, error) {
	if dc == nil {
		dc = converter.GetDefaultDataConverter()
	}
	var rep RevokeReport
	ids := map[string]bool{}
	for _, id := range triggerIDs {
		ids[PollScheduleID(id)] = true
	}
	it, err := c.ScheduleClient().List(ctx, client.ScheduleListOptions{PageSize: 1000})
	if err != nil {
		return rep, fmt.Errorf("listing schedules: %w", err)
	}
	for it.HasNext() {
		s, err := it.Next()
		if err != nil {
			return rep, fmt.Errorf("listing schedules: %w", err)
		}
		if strings.HasPrefix(s.ID, pollScheduleIDPrefix) {
			ids[s.ID] = true
		}
	}
	var cancel []client.ScheduleWorkflowExecution
	for _, id := range sortedKeys(ids) {
		h := c.ScheduleClient().GetHandle(ctx, id)
		d, err := h.Describe(ctx)
		var nf *serviceerror.NotFound
		if errors.As(err, &nf) {
			continue
		}
		if err != nil {
			return rep, fmt.Errorf("schedule %s: %w", id, err)
		}
		a, ok := d.Schedule.Action.(*client.ScheduleWorkflowAction)
		if !ok || len(a.Args) != 1 {
			continue
		}
		p, ok := a.Args[0].(*commonpb.Payload)
		var in PollInput
		if !ok || dc.FromPayload(p, &in) != nil || in.Project != project || in.ConnectionID != connectionID {
			continue
		}
		if err := h.Delete(ctx); err != nil && !errors.As(err, &nf) {
			return rep, fmt.Errorf("schedule %s: %w", id, err)
		} else if err == nil {
			rep.Schedules = append(rep.Schedules, id)
		}
		cancel = append(cancel, d.Info.RunningWorkflows...)
	}
	key := ConnectionKey(project, connectionID)
	var token []byte
	for {
		resp, err := c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{PageSize: 1000, NextPageToken: token,
			Query: fmt.Sprintf("ExecutionStatus = 'Running' AND WorkflowType = '%s'", WorkflowName)})
		if err != nil {
			return rep, fmt.Errorf("listing workflows: %w", err)
		}
		for _, x := range resp.Executions {
			ex := client.ScheduleWorkflowExecution{WorkflowID: x.GetExecution().GetWorkflowId(), FirstExecutionRunID: x.GetExecution().GetRunId()}
			if p := x.GetMemo().GetFields()[MemoConnection]; p != nil {
				var k string
				if dc.FromPayload(p, &k) == nil && k == key {
					cancel = append(cancel, ex)
				}
				continue
			}
			in, err := startInput(ctx, c, dc, ex.WorkflowID, ex.FirstExecutionRunID)
			if err != nil {
				return rep, err
			}
			if in.Project == project && in.ConnectionID == connectionID {
				cancel = append(cancel, ex)
			}
		}
		if token = resp.NextPageToken; len(token) == 0 {
			break
		}
	}
	for _, ex := range cancel {
		err := c.CancelWorkflow(ctx, ex.WorkflowID, ex.FirstExecutionRunID)
		var nf *serviceerror.NotFound
		var again *serviceerror.CancellationAlreadyRequested
		switch {
		case err == nil:
			rep.Workflows = append(rep.Workflows, ex.WorkflowID)
		case errors.As(err, &nf), errors.As(err, &again), isCompleted(err):
			// gone, or asked before: nothing to do
		default:
			return rep, fmt.Errorf("cancelling workflow %s: %w", ex.WorkflowID, err)
		}
	}
	return rep, nil
}

// isCompleted reports whether err says the workflow has completed.
func isCompleted(err error) bool {
	var fp *serviceerror.FailedPrecondition
	return errors.As(err, &fp) && strings.Contains(err.Error(), "completed")
}

// startInput reads the input a flow workflow was started with from the
// first event of its history.
func startInput(ctx context.Context, c client.Client, dc converter.DataConverter, id, runID string) (FlowInput, error) {
	var in FlowInput
	it := c.GetWorkflowHistory(ctx, id, runID, false, 0)
	if !it.HasNext() {
		return in, nil
	}
	ev, err := it.Next()
	if err != nil {
		return in, fmt.Errorf("workflow %s: %w", id, err)
	}
	ps := ev.GetWorkflowExecutionStartedEventAttributes().GetInput().GetPayloads()
	if len(ps) == 1 {
		_ = dc.FromPayload(ps[0], &in)
	}
	return in, nil
}

func sortedKeys(m map[string]bool) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}
