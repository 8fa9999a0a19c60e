package trigger

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/flowrun/flowrun/lang"
	"github.com/flowrun/flowrun/webhook"
)

// Ingress takes over a webhook delivery's events once its event steps have
// run: with Host.Ingress set, the host still verifies the signature, runs
// the event steps and answers the sender itself (so handshakes stay
// synchronous), but hands the events to the ingress instead of the sink,
// and answers once the ingress has accepted them. engine/temporal starts
// one delivery workflow per event, whose id carries the dedupe key: the
// engine, not this host's state, keeps a delivery from running twice.
// Polls are not run by a host with an ingress.
type Ingress interface {
	// StartDeliveries starts the delivery of each event (ds[i].Key is its
	// dedupe key, "" when the flow has none). It returns once every start is
	// accepted, with how many were new: a delivery started before is a
	// no-op, not an error.
	StartDeliveries(ctx context.Context, ds []Delivery) (started int, err error)
}

// acceptIngress is accept for a host with an Ingress: each event with its
// dedupe key goes to the ingress; the run is recorded (events started) in
// the state, without dedupe keys.
func (h *Host) acceptIngress(ctx context.Context, t *Trigger, f *lang.Flow, in map[string]any, a webhook.Accepted, start time.Time) error {
	keys, err := h.dedupeKeys(f, a.Events, in, a.Request)
	if err != nil {
		return &webhook.Error{Status: http.StatusInternalServerError, Reason: "dedupe_failed", Public: "dedupe failed", Err: err}
	}
	now := time.Now().UTC()
	ds := make([]Delivery, len(a.Events))
	for i, e := range a.Events {
		ds[i] = Delivery{Trigger: t.ID, Project: t.Project, Flow: t.Flow, Key: keys[i], Time: now, Event: e}
	}
	n, err := h.Ingress.StartDeliveries(ctx, ds)
	if err != nil {
		return fmt.Errorf("starting the deliveries: %w", err) // the sender retries
	}
	c := RunCommit{Events: n, Started: start, Duration: time.Since(start), Status: "ok", Source: "webhook"}
	if _, err := h.commit(context.WithoutCancel(ctx), t.ID, c); err != nil {
		h.logf("trigger %s: deliveries started but not recorded: %v", t.ID, err)
	}
	h.runDone(t, "webhook", 0, time.Since(start), n, nil)
	return nil
}
