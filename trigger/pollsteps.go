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
	in, err := decodeInput(t.Input)
	if err != nil {
		return PollBatch{}, fmt.Errorf("trigger %s: stored input: %w", t.ID, err)
	}
	var cursor any
	if len(t.Cursor) > 0 {
		if cursor, err = value.DecodeJSON(t.Cursor); err != nil {
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
