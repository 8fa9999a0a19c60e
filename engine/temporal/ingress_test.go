package temporal

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/testsuite"

	"github.com/flowrun/flowrun/trigger"
)

// flakySink fails its first fail deliveries, then keeps them.
type flakySink struct {
	mu   sync.Mutex
	fail int
	got  []trigger.Delivery
}

func (s *flakySink) Deliver(_ context.Context, ds []trigger.Delivery) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail > 0 {
		s.fail--
		return errors.New("sink down")
	}
	s.got = append(s.got, ds...)
	return nil
}

func (s *flakySink) Close() error { return nil }

// The delivery workflow hands its event to the worker's sink, retrying
// while the sink fails.
func TestDeliveryWorkflow(t *testing.T) {
	sink := &flakySink{fail: 2}
	e := &Engine{Sink: sink}
	var ts testsuite.WorkflowTestSuite
	env := ts.NewTestWorkflowEnvironment()
	e.Register(env)
	d := trigger.Delivery{Trigger: "hook-1", Project: "shop", Flow: "orders", Key: "d-1", Time: time.Unix(0, 0).UTC(), Event: map[string]any{"id": "o-1"}}
	env.ExecuteWorkflow(DeliveryWorkflowName, d)
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	if len(sink.got) != 1 || sink.got[0].Key != "d-1" || sink.got[0].Event.(map[string]any)["id"] != "o-1" {
		t.Fatalf("sink got %+v", sink.got)
	}
}

func TestDeliveryID(t *testing.T) {
	d := trigger.Delivery{Trigger: "orders-1a2b", Key: "evt_42", Event: map[string]any{"b": 1, "a": 2}}
	if got := DeliveryID(d); got != "hook/orders-1a2b/evt_42" {
		t.Fatalf("id %q", got)
	}
	d.Key = ""
	a := DeliveryID(d)
	d.Event = map[string]any{"a": 2, "b": 1}
	if b := DeliveryID(d); a != b || !strings.HasPrefix(a, "hook/orders-1a2b/sha256:") {
		t.Fatalf("ids %q and %q: want one hash of the event", a, b)
	}
	d.Key = strings.Repeat("k", 300)
	if got := DeliveryID(d); len(got) > 100 || !strings.Contains(got, "sha256:") {
		t.Fatalf("long key id %q", got)
	}
}
