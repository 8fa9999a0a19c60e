package temporal

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"time"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/flowrun/flowrun/trigger"
)

// Names of the delivery workflow and its sink activity.
const (
	DeliveryWorkflowName = "flowrun.delivery"
	SinkActivityName     = "flowrun.sink"
)

// Ingress is the trigger host's ingress on Temporal (flowrun serve --engine
// temporal): each event of a verified webhook delivery starts a delivery
// workflow whose id is DeliveryID, with a reject-duplicate id policy and an
// error when it is already started, which is taken as a no-op: a delivery
// the sender sends again is not delivered twice.
type Ingress struct {
	Client    client.Client
	TaskQueue string
}

var _ trigger.Ingress = (*Ingress)(nil)

// maxKeyInID bounds a dedupe key in a workflow id; longer keys are hashed.
const maxKeyInID = 200

// DeliveryID is a delivery's workflow id: "hook/<trigger>/<dedupe key>";
// without a dedupe key (or with one over 200 bytes) the key is
// "sha256:<hex>" of the key or of the event's JSON, so that the same event
// sent again is the same delivery.
func DeliveryID(d trigger.Delivery) string {
	key := d.Key
	if key == "" || len(key) > maxKeyInID {
		b := []byte(key)
		if key == "" {
			b, _ = json.Marshal(d.Event) // maps marshal with sorted keys
		}
		sum := sha256.Sum256(b)
		key = "sha256:" + hex.EncodeToString(sum[:])
	}
	return "hook/" + d.Trigger + "/" + key
}

// StartDeliveries starts one delivery workflow per event; it returns once
// each start is accepted, with the number that were not started before.
func (in *Ingress) StartDeliveries(ctx context.Context, ds []trigger.Delivery) (int, error) {
	n := 0
	for _, d := range ds {
		_, err := in.Client.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: DeliveryID(d), TaskQueue: in.TaskQueue,
			WorkflowIDReusePolicy:                    enums.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
			WorkflowExecutionErrorWhenAlreadyStarted: true}, DeliveryWorkflowName, d)
		var started *serviceerror.WorkflowExecutionAlreadyStarted
		switch {
		case errors.As(err, &started):
			// sent before: the first start delivers it
		case err != nil:
			return n, err
		default:
			n++
		}
	}
	return n, nil
}

// DeliveryWorkflow hands one event to the worker's sink, in an activity
// that Temporal retries (backoff from 1s up to 1m) until the sink takes it
// or a day has passed.
func (e *Engine) DeliveryWorkflow(ctx workflow.Context, d trigger.Delivery) error {
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout:    e.activityTimeout(),
		ScheduleToCloseTimeout: 24 * time.Hour,
		RetryPolicy:            &temporal.RetryPolicy{InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: time.Minute},
	})
	return workflow.ExecuteActivity(actx, SinkActivityName, d).Get(ctx, nil)
}

// Deliver is the sink activity.
func (e *Engine) Deliver(ctx context.Context, d trigger.Delivery) error {
	if e.Sink == nil {
		return temporal.NewNonRetryableApplicationError("this worker has no sink (flowrun worker --sink)", "config", nil)
	}
	return e.Sink.Deliver(ctx, []trigger.Delivery{d})
}
