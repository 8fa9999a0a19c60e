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
// one delivery workflow per event, whose id carries the dedupe key, and
// this host's state keeps the keys too (acceptIngress), so a delivery runs
// once even after the engine has forgotten it.
// Polls are not run by a host with an ingress.
type Ingress interface {
	// StartDeliveries starts the delivery of each event (ds[i].Key is its
	// dedupe key, "" when the flow has none). It returns once every start is
	// accepted, with how many were new: a delivery started before is a
	// no-op, not an error.
	StartDeliveries(ctx context.Context, ds []Delivery) (started int, err error)
}

// acceptIngress is accept for a host with an Ingress: events whose dedupe
// key the state has seen are dropped, the others go to the ingress with
// their keys, and the run is recorded (events started) with the keys, once
// the starts are accepted. The keys kept in the state (Postgres, shared by
// every ingress) extend the engine's own dedupe, which lasts only as long
// as it keeps a closed delivery workflow (Temporal's retention): a sender
// retrying a day later is not delivered again while its key is among the
// trigger's last dedupe keys.
func (h *Host) acceptIngress(ctx context.Context, t *Trigger, f *lang.Flow, in map[string]any, a webhook.Accepted, start time.Time) error {
	keys, err := h.dedupeKeys(f, a.Events, in, a.Request)
	if err != nil {
		return &webhook.Error{Status: http.StatusInternalServerError, Reason: "dedupe_failed", Public: "dedupe failed", Err: err}
	}
	ds, kept, _, err := h.dedupeWith(ctx, t, f, a.Events, keys, "")
	if err != nil {
		return &webhook.Error{Status: http.StatusInternalServerError, Reason: "dedupe_failed", Public: "dedupe failed", Err: err}
	}
	n := 0
	if len(ds) > 0 {
		if n, err = h.Ingress.StartDeliveries(ctx, ds); err != nil {
			return fmt.Errorf("starting the deliveries: %w", err) // the sender retries
		}
	}
	c := RunCommit{Keys: kept, Events: n, Started: start, Duration: time.Since(start), Status: "ok", Source: "webhook"}
	if _, err := h.commit(context.WithoutCancel(ctx), t.ID, c); err != nil {
		h.logf("trigger %s: deliveries started but not recorded: %v", t.ID, err)
	}
	h.runDone(t, "webhook", 0, time.Since(start), n, nil)
	return nil
}
