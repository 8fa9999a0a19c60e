package trigger

import (
	"context"
	"errors"
	"fmt"

	"github.com/flowrun/flowrun/run"
)

// A trigger may have its own memory budget (Trigger.MaxMemory, set by
// `flowrun trigger on --max-memory` or `flowrun trigger set`): every run of
// that trigger (its deliveries, polls, replays, register and deregister
// steps) gets it instead of the host Runner's Limits.MaxMemory (`flowrun
// serve --max-memory`). A run over its budget fails alone, naming the step;
// the other triggers go on.

// migrationMaxMemory (schema version 4) adds the per-trigger memory budget;
// 0, the default of existing rows, means the host's budget.
const migrationMaxMemory = `
ALTER TABLE triggers ADD COLUMN max_memory INTEGER NOT NULL DEFAULT 0; -- bytes; 0: the host's budget
`

// TriggerOptions are the settings a trigger is turned on with beside its
// input.
type TriggerOptions struct {
	// MaxMemory is the memory budget of each of the trigger's runs, in
	// bytes; 0 means the host Runner's (Limits.MaxMemory).
	MaxMemory int64
}

// errNegativeBudget is the store's answer to a negative MaxMemory.
var errNegativeBudget = errors.New("the memory budget must not be negative (0 means the host's)")

// budget returns ctx with the trigger's memory budget for the runs started
// with it, when the trigger has one.
func (h *Host) budget(ctx context.Context, t *Trigger) context.Context {
	if t == nil || t.MaxMemory <= 0 {
		return ctx
	}
	return run.WithMaxMemory(ctx, t.MaxMemory, fmt.Sprintf("flowrun trigger set %s --max-memory SIZE", t.ID))
}

// SetMaxMemory sets a trigger's memory budget in bytes; 0 returns it to the
// host's. A running `flowrun serve` uses it from the next run on. A missing
// trigger is ErrNotFound.
func (s *Store) SetMaxMemory(ctx context.Context, id string, n int64) error {
	if n < 0 {
		return fmt.Errorf("set the memory budget of %s: %w", id, errNegativeBudget)
	}
	res, err := s.w.ExecContext(ctx, `UPDATE triggers SET max_memory = ? WHERE id = ?`, n, id)
	if err != nil {
		return fmt.Errorf("set the memory budget of %s: %w", id, err)
	}
	if k, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("set the memory budget of %s: %w", id, err)
	} else if k == 0 {
		return fmt.Errorf("trigger %s: %w", id, ErrNotFound)
	}
	return nil
}
