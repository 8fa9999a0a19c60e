package trigger

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/flowrun/flowrun/lang"
	"github.com/flowrun/flowrun/value"
)

// PollBatch is one poll's outcome before delivery: the events not seen
// before, and the cursor and dedupe keys to commit once they are delivered.
type PollBatch struct {
	Deliveries []Delivery      `json:"deliveries,omitempty"`
	Cursor     json.RawMessage `json:"cursor,omitempty"`
	Keys       []string        `json:"keys,omitempty"`
}

// PollEvents runs a poll trigger's flow once from its saved cursor and drops
// the events seen before. It delivers and commits nothing: the caller
// delivers the batch, then commits it with CommitPoll, each step apart
// (engine/temporal runs them as activities of a scheduled workflow).
// PollOnce does all three in one.
func (h *Host) PollEvents(ctx context.Context, t *Trigger) (PollBatch, error) {
	f := h.project().Flow(t.Flow)
	if f == nil || f.Type != lang.Poll || t.Project != h.project().Connector.Name {
		return PollBatch{}, fmt.Errorf("trigger %s: flow %q is not a poll flow of this project", t.ID, t.Flow)
	}
	return h.pollEvents(ctx, t, f, t.Cursor)
}

// pollEvents runs a poll flow once from the stored cursor and drops the
// events seen before (PollEvents, and Host.pollOnce before it delivers and
// commits).
func (h *Host) pollEvents(ctx context.Context, t *Trigger, f *lang.Flow, stored json.RawMessage) (PollBatch, error) {
	in, err := decodeInput(t.Input)
	if err != nil {
		return PollBatch{}, fmt.Errorf("trigger %s: stored input: %w", t.ID, err)
	}
	var cursor any
	if len(stored) > 0 {
		if cursor, err = value.DecodeJSON(stored); err != nil {
			return PollBatch{}, fmt.Errorf("trigger %s: stored cursor: %w", t.ID, err)
		}
	}
	events, next, err := h.Runner.Poll(ctx, f.Name, in, cursor)
	if err != nil {
		return PollBatch{}, err
	}
	nextJSON, err := json.Marshal(next)
	if err != nil {
		return PollBatch{}, fmt.Errorf("flow %q: cursor cannot be stored as JSON: %w", f.Name, err)
	}
	if len(nextJSON) > MaxCursorBytes {
		return PollBatch{}, fmt.Errorf("flow %q: cursor is %d bytes, over the 10 KiB limit; keep only what the next poll needs", f.Name, len(nextJSON))
	}
	ds, keys, err := h.dedupe(ctx, t, f, events, in, nil)
	if err != nil {
		return PollBatch{}, err
	}
	return PollBatch{Deliveries: ds, Cursor: nextJSON, Keys: keys}, nil
}

// CommitPoll commits a delivered batch: the cursor, the dedupe keys and the
// trigger's counters in one transaction.
func (h *Host) CommitPoll(ctx context.Context, triggerID string, b PollBatch, started time.Time) error {
	_, err := h.commit(ctx, triggerID, RunCommit{Cursor: b.Cursor, Keys: b.Keys, Events: len(b.Deliveries),
		Started: started, Duration: time.Since(started), Status: "ok", Source: "poll"})
	return err
}

// PollHeld reports the hold that keeps a poll trigger from polling now: a
// pause (auth_expired, config) until it is resumed, or a delay (throttled,
// transient) until its time. A scheduled poll is skipped while held.
func (h *Host) PollHeld(ctx context.Context, t *Trigger) (Hold, bool) {
	hd, ok, err := h.state().GetHold(ctx, t.ID)
	if err != nil || !ok {
		return Hold{}, false
	}
	return hd, hd.Paused() || time.Now().Before(hd.Until)
}

// AfterPoll records a poll's outcome in the trigger's holds, as serve does:
// an auth_expired or config error pauses the trigger, a throttled or
// transient one delays its next poll, a success lifts any hold.
func (h *Host) AfterPoll(ctx context.Context, t *Trigger, err error) {
	var f *lang.Flow
	if err != nil {
		f = h.project().Flow(t.Flow)
	}
	h.afterRun(ctx, t, f, err)
}
