package trigger

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"time"

	"github.com/flowrun/flowrun/lang"
	"github.com/flowrun/flowrun/webhook"
)

// A webhook trigger whose connection is revoked, or whose token cannot be
// refreshed (any run of the host failing auth_expired: the token endpoint
// refused, or a token rejected after a refresh), is paused like a poll
// (hold code auth_expired, with the connection file), and so are the
// host's other webhook triggers: they share the connection. While a
// webhook trigger is paused for its connection (auth_expired or config), a
// delivery that passes verification is kept in the run history with its
// request (status error, "trigger paused ...") so `flowrun runs replay`
// can run it once the connection is fixed, and the sender is answered 503
// with Retry-After, so it retries too (dedupe and the replay key drop
// whichever arrives second). `flowrun connection login --state` (or the
// console's login) lifts the pause; a manual pause is lifted only by
// resume, and its deliveries are answered 503 without being kept, as
// before.

// pauseConnection pauses every webhook trigger h runs that is not already
// paused (a manual pause stays as it is) with code and reason, and returns
// their ids.
func (h *Host) pauseConnection(ctx context.Context, code, reason string) []string {
	ctx = context.WithoutCancel(ctx)
	ts, err := h.state().ListTriggers(ctx)
	if err != nil {
		h.logf("pausing the webhook triggers of the connection: %v", err)
		return nil
	}
	file := ""
	if f := h.Runner.Connection.File; f != "" {
		file, _ = filepath.Abs(f)
	}
	var ids []string
	for _, t := range ts {
		if t.Kind != "webhook" || !h.owns(t) {
			continue
		}
		if prev, had, _ := h.state().GetHold(ctx, t.ID); had && prev.Paused() {
			continue
		}
		hd := Hold{TriggerID: t.ID, Code: code, Reason: reason, Since: time.Now(), Connection: file}
		if err := h.state().SetHold(ctx, hd); err != nil {
			h.logf("trigger %s: recording why it is held: %v", t.ID, err)
			continue
		}
		h.setHoldCache(t.ID, &hd)
		ids = append(ids, t.ID)
	}
	if len(ids) > 0 {
		h.logf("connection%s: %s: webhook trigger(s) %v paused (%s); their deliveries are kept for `flowrun runs replay` until `flowrun connection login --state` or `flowrun trigger resume`",
			onConnection(h.ConnectionName), reason, ids, code)
	}
	return ids
}

// revokedReason is why h's webhook triggers pause when its connection is
// marked revoked ("" when it is not).
func (h *Host) revokedReason() string {
	c := h.Runner.Connection
	if c == nil || !c.Revoked {
		return ""
	}
	name := h.ConnectionName
	if name == "" {
		name = filepath.Base(c.File)
	}
	return fmt.Sprintf("connection %s was revoked: log in again (flowrun connection login --state)", name)
}

// heldError is what a kept delivery's event steps "fail" with: they do not
// run while the trigger is paused.
type heldError struct{ hold Hold }

func (e *heldError) Error() string {
	return fmt.Sprintf("trigger paused (%s): %s", e.hold.Code, e.hold.Reason)
}

// heldFlow is a webhook flow that verifies (its secrets are the flow's) but
// whose event steps do not run.
type heldFlow struct {
	webhook.Flow
	err *heldError
}

func (f heldFlow) Event(context.Context, map[string]any) ([]any, map[string]any, error) {
	return nil, nil, f.err
}

// keepsDeliveries reports whether deliveries to a trigger with this hold
// are kept for replay: a pause for the connection (or the project's
// configuration), not one made by hand.
func keepsDeliveries(hd Hold) bool { return pauses(hd.Code) }

// holdDelivery answers a delivery to a trigger paused for its connection:
// it is verified as usual (a refused one is answered as always and not
// kept), then kept in the run history with its request for `flowrun runs
// replay`, and answered 503 with Retry-After.
func (h *Host) holdDelivery(ctx context.Context, t *Trigger, f *lang.Flow, r *http.Request, hd Hold) webhook.Result {
	start := time.Now()
	herr := &heldError{hold: hd}
	res := h.deliverOnceWith(ctx, t, f, r, nil, func(fl webhook.Flow) webhook.Flow { return heldFlow{Flow: fl, err: herr} })
	var he *heldError
	if res.Err == nil || !errors.As(res.Err.Err, &he) {
		if res.Replayed {
			h.metrics().delivery(t, "replayed")
			return res
		}
		// refused before the steps (verification, body): as always
		if e := res.Err; e != nil {
			msg := h.Runner.Connection.Redact(e.Error())
			if e.Status < 500 {
				h.rejects().note(h.now(), t.ID, e.Reason, msg)
			} else {
				h.logf("trigger %s: %s", t.ID, msg)
			}
			h.metrics().delivery(t, "rejected")
		}
		return res
	}
	msg := h.Runner.Connection.Redact(herr.Error())
	c := RunCommit{Started: start, Duration: time.Since(start), Status: "error", Error: msg, Source: "webhook"}
	if res.Request != nil {
		c.Payload = &Payload{Request: redactedJSON(h.Runner.Connection, res.Request)}
	}
	id, cerr := h.commit(context.WithoutCancel(ctx), t.ID, c)
	h.metrics().delivery(t, "held")
	public := fmt.Sprintf("trigger paused (%s): the delivery is kept as run %d for replay", hd.Code, id)
	if cerr != nil {
		h.logf("trigger %s: keeping a delivery while paused: %v", t.ID, cerr)
		public = fmt.Sprintf("trigger paused (%s)", hd.Code)
	} else {
		h.runDone(t, "webhook", id, time.Since(start), 0, herr)
	}
	out := webhook.Result{Status: http.StatusServiceUnavailable, Header: http.Header{}, Request: res.Request,
		Err: &webhook.Error{Status: http.StatusServiceUnavailable, Reason: "paused", Public: public, Err: herr}}
	out.Header.Set("Content-Type", "application/json")
	out.Header.Set("Retry-After", "300")
	out.Body, _ = json.Marshal(map[string]any{"error": public, "run": id})
	return out
}
