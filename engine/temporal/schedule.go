package temporal

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/flowrun/flowrun/run"
	"github.com/flowrun/flowrun/trigger"
)

// Names of the poll workflow and its activities.
const (
	PollWorkflowName        = "flowrun.poll"
	PollEventsActivityName  = "flowrun.poll.events"
	SinkBatchActivityName   = "flowrun.sink.batch"
	PollCommitActivityName  = "flowrun.poll.commit"
	pollScheduleIDPrefix    = "poll/"
	pollActivityMaxAttempts = 5
)

// PollInput is a scheduled poll: which trigger, of which project, polled
// with which connection (by id: the worker resolves it).
type PollInput struct {
	Project      string `json:"project"`
	Trigger      string `json:"trigger"`
	ConnectionID string `json:"connection_id"`
}

// PollScheduleID is the id of a poll trigger's Schedule: "poll/<trigger>".
func PollScheduleID(triggerID string) string { return pollScheduleIDPrefix + triggerID }

// PollWorkflow is one scheduled poll: poll and dedupe (an activity that
// runs the poll flow from the saved cursor), deliver the new events to the
// worker's sink, then commit the cursor and dedupe keys in one transaction
// (each its own activity, in that order: at least once, as in flowrun
// serve). It returns the number of events delivered.
func (e *Engine) PollWorkflow(ctx workflow.Context, in PollInput) (int, error) {
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: e.activityTimeout(),
		RetryPolicy:         &temporal.RetryPolicy{InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: time.Minute, MaximumAttempts: pollActivityMaxAttempts},
	})
	started := workflow.Now(ctx)
	var b trigger.PollBatch
	if err := workflow.ExecuteActivity(actx, PollEventsActivityName, in).Get(ctx, &b); err != nil {
		return 0, err
	}
	if b.Cursor == nil {
		return 0, nil // the trigger is paused or delayed: no poll
	}
	if len(b.Deliveries) > 0 {
		if err := workflow.ExecuteActivity(actx, SinkBatchActivityName, b.Deliveries).Get(ctx, nil); err != nil {
			return 0, err
		}
	}
	if err := workflow.ExecuteActivity(actx, PollCommitActivityName, in, b, started).Get(ctx, nil); err != nil {
		return 0, err
	}
	return len(b.Deliveries), nil
}

// pollHost is a trigger host for one poll activity: the project, the
// resolved connection and the worker's state.
func (e *Engine) pollHost(ctx context.Context, in PollInput) (*trigger.Host, *trigger.Trigger, error) {
	if e.State == nil {
		return nil, nil, temporal.NewNonRetryableApplicationError("this worker has no state (flowrun worker --state-dsn)", "config", nil)
	}
	p, c, err := e.connection(ctx, in.Project, in.ConnectionID)
	if err != nil {
		return nil, nil, err
	}
	t, err := e.State.GetTrigger(ctx, in.Trigger)
	if errors.Is(err, trigger.ErrNotFound) {
		return nil, nil, temporal.NewNonRetryableApplicationError(fmt.Sprintf("trigger %s is not on", in.Trigger), "config", nil)
	}
	if err != nil {
		return nil, nil, err
	}
	return &trigger.Host{Runner: &run.Runner{Project: p, Connection: c, Client: e.Client, Limits: e.Limits}, State: e.State}, t, nil
}

// PollEvents is the activity that polls and dedupes, unless the trigger is
// held (paused or delayed, as under flowrun serve): then it returns a batch
// without cursor. A failed poll holds the trigger by its error's code
// (auth_expired and config pause it until `flowrun trigger resume`) and
// fails the run without retry: the next scheduled run is the retry. Its
// error is redacted with the connection before it enters history.
func (e *Engine) PollEvents(ctx context.Context, in PollInput) (trigger.PollBatch, error) {
	h, t, err := e.pollHost(ctx, in)
	if err != nil {
		return trigger.PollBatch{}, err
	}
	if _, held := h.PollHeld(ctx, t); held {
		return trigger.PollBatch{}, nil
	}
	b, err := h.PollEvents(ctx, t)
	if err != nil {
		h.AfterPoll(ctx, t, err)
		code := run.ErrorCode(err)
		if code == "" {
			code = "poll_failed"
		}
		return trigger.PollBatch{}, temporal.NewNonRetryableApplicationError(h.Runner.Connection.Redact(err.Error()), code, nil)
	}
	return b, nil
}

// DeliverBatch is the activity that hands a poll's events to the sink.
func (e *Engine) DeliverBatch(ctx context.Context, ds []trigger.Delivery) error {
	if e.Sink == nil {
		return temporal.NewNonRetryableApplicationError("this worker has no sink (flowrun worker --sink)", "config", nil)
	}
	return e.Sink.Deliver(ctx, ds)
}

// CommitPoll is the activity that commits a delivered poll.
func (e *Engine) CommitPoll(ctx context.Context, in PollInput, b trigger.PollBatch, started time.Time) error {
	h, t, err := e.pollHost(ctx, in)
	if err != nil {
		return err
	}
	if err := h.CommitPoll(ctx, t.ID, b, started); err != nil {
		return err
	}
	h.AfterPoll(ctx, t, nil) // a success lifts a hold
	return nil
}

// SchedulePoll creates a poll trigger's Schedule (PollScheduleID): every
// interval, a PollWorkflow on the task queue; a run still going when the
// next is due makes it skipped (overlap skip). The Schedule and its runs
// carry the connection's memo (MemoConnection).
func SchedulePoll(ctx context.Context, c client.Client, taskQueue string, in PollInput, every time.Duration) error {
	_, err := c.ScheduleClient().Create(ctx, client.ScheduleOptions{
		ID:      PollScheduleID(in.Trigger),
		Spec:    client.ScheduleSpec{Intervals: []client.ScheduleIntervalSpec{{Every: every}}},
		Overlap: enums.SCHEDULE_OVERLAP_POLICY_SKIP,
		Memo:    ConnectionMemo(in.Project, in.ConnectionID),
		Action: &client.ScheduleWorkflowAction{ID: PollScheduleID(in.Trigger) + "/run", Workflow: PollWorkflowName,
			Args: []any{in}, TaskQueue: taskQueue, Memo: ConnectionMemo(in.Project, in.ConnectionID)},
	})
	return err
}

// DeletePollSchedule deletes a poll trigger's Schedule; one that does not
// exist is not an error.
func DeletePollSchedule(ctx context.Context, c client.Client, triggerID string) error {
	err := c.ScheduleClient().GetHandle(ctx, PollScheduleID(triggerID)).Delete(ctx)
	var nf *serviceerror.NotFound
	if errors.As(err, &nf) {
		return nil
	}
	return err
}

// PausePollSchedule pauses (pause true) or unpauses a poll trigger's
// Schedule, with a note saying why.
func PausePollSchedule(ctx context.Context, c client.Client, triggerID string, pause bool, note string) error {
	h := c.ScheduleClient().GetHandle(ctx, PollScheduleID(triggerID))
	if pause {
		return h.Pause(ctx, client.SchedulePauseOptions{Note: note})
	}
	return h.Unpause(ctx, client.ScheduleUnpauseOptions{Note: note})
}
