package trigger

import (
	"context"
	"encoding/json"
	"time"
)

// StateStore is the state the trigger host keeps between runs: the registry
// of triggers that are on, poll cursors, dedupe keys and holds. *Store (SQLite,
// one machine) implements it; trigger/pgstore implements it on Postgres for
// several machines (flowrun worker). Implementations keep Commit's protocol:
// the cursor, the dedupe keys and the trigger's counters change in one
// transaction, after delivery, so a crash repeats events (dedupe drops them)
// and never loses them.
type StateStore interface {
	// CreateTrigger stores a new trigger, filling t.ID (when empty) and
	// t.CreatedAt; ErrExists when the same project, flow and input is on.
	CreateTrigger(ctx context.Context, t *Trigger) error
	// GetTrigger returns a trigger with its cursor and registration;
	// ErrNotFound (wrapped) when it is not on.
	GetTrigger(ctx context.Context, id string) (*Trigger, error)
	// FindTrigger returns a project's triggers of one flow.
	FindTrigger(ctx context.Context, project, flow string) ([]*Trigger, error)
	// ListTriggers returns every trigger, oldest first.
	ListTriggers(ctx context.Context) ([]*Trigger, error)
	// DeleteTrigger removes a trigger and its state; ErrNotFound when absent.
	DeleteTrigger(ctx context.Context, id string) error
	// SetMaxMemory sets a trigger's memory budget in bytes (0: the host's);
	// ErrNotFound (wrapped) when it is not on.
	SetMaxMemory(ctx context.Context, id string, n int64) error
	// ResetTrigger restarts a poll from cursor (nil: none), forgetting its
	// dedupe keys when asked; ErrNotFound (wrapped) when it is not on, a
	// *CursorTooLargeError for a cursor over MaxCursorBytes.
	ResetTrigger(ctx context.Context, id string, cursor json.RawMessage, forgetDedupe bool) error
	// SetRegistration saves what a webhook's register steps returned.
	SetRegistration(ctx context.Context, id string, reg json.RawMessage) error
	// SeenKeys reports which of keys were committed for the trigger before.
	SeenKeys(ctx context.Context, triggerID string, keys []string) (map[string]bool, error)
	// Commit saves one run's outcome: cursor, dedupe keys and counters in one
	// transaction.
	Commit(ctx context.Context, triggerID string, c RunCommit) error

	// SetHold, ClearHold, GetHold and Holds keep what pauses or delays a
	// trigger (pause.go).
	SetHold(ctx context.Context, h Hold) error
	ClearHold(ctx context.Context, id string) (bool, error)
	GetHold(ctx context.Context, id string) (Hold, bool, error)
	Holds(ctx context.Context) (map[string]Hold, error)
}

var _ StateStore = (*Store)(nil)

// state is the store the host uses: State when set, else the SQLite Store.
func (h *Host) state() StateStore {
	if h.State != nil {
		return h.State
	}
	return h.Store
}

// CanonicalInput is a trigger's input as stores keep it: JSON with object
// keys sorted and no insignificant space; empty or null is {}. Other
// StateStore implementations use it so that "the same input" means the same
// thing everywhere.
func CanonicalInput(raw json.RawMessage) (string, error) { return canonicalJSON(raw) }

// NewTriggerID makes a trigger id "<flow>-<8 random hex>".
func NewTriggerID(flow string) string { return newID(flow) }

// ValidTriggerID reports whether id is usable as a trigger id (and URL path
// segment).
func ValidTriggerID(id string) bool { return validID(id) }

// StateStore is the host's state: State when set, else the SQLite Store.
func (h *Host) StateStore() StateStore { return h.state() }

// Resume lifts a trigger's pause or delay in any StateStore; false when it
// had none, ErrNotFound (wrapped) when the trigger is not on.
func Resume(ctx context.Context, st StateStore, id string) (bool, error) {
	if _, err := st.GetTrigger(ctx, id); err != nil {
		return false, err
	}
	return st.ClearHold(ctx, id)
}

// Pause pauses a trigger by hand (code manual, with the reason shown beside
// it) in any StateStore, replacing any other hold; ErrNotFound (wrapped)
// when the trigger is not on. A running flowrun serve reads it at its next
// refresh of the holds (within 10 seconds), as it does a Resume.
func Pause(ctx context.Context, st StateStore, id, reason string, at time.Time) error {
	if _, err := st.GetTrigger(ctx, id); err != nil {
		return err
	}
	return st.SetHold(ctx, Hold{TriggerID: id, Code: HoldManual, Reason: reason, Since: at})
}
