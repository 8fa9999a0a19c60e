package trigger

import (
	"context"
	"encoding/json"
	"fmt"
	"time"
)

// ResetTrigger restarts a poll trigger from a chosen cursor: cursor nil (or
// JSON null) clears it, so the next poll starts as the first did; any other
// JSON value becomes the saved cursor. forgetDedupe also forgets the
// trigger's dedupe keys, so events seen before are delivered again. A
// missing id is ErrNotFound; a cursor over MaxCursorBytes is a
// *CursorTooLargeError.
func (s *Store) ResetTrigger(ctx context.Context, id string, cursor json.RawMessage, forgetDedupe bool) error {
	if len(cursor) > MaxCursorBytes {
		return &CursorTooLargeError{Size: len(cursor)}
	}
	if len(cursor) > 0 && !json.Valid(cursor) {
		return fmt.Errorf("reset %s: the cursor is not valid JSON", id)
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("reset %s: %w", id, err)
	}
	defer tx.Rollback()
	if err := triggerExists(ctx, tx, id); err != nil {
		return err
	}
	if len(cursor) == 0 || isNull(cursor) {
		_, err = tx.ExecContext(ctx, `DELETE FROM cursors WHERE trigger_id = ?`, id)
	} else {
		_, err = tx.ExecContext(ctx, `INSERT INTO cursors (trigger_id, cursor, updated_at) VALUES (?, ?, ?)
			ON CONFLICT (trigger_id) DO UPDATE SET cursor = excluded.cursor, updated_at = excluded.updated_at`,
			id, string(cursor), time.Now().UnixNano())
	}
	if err != nil {
		return fmt.Errorf("reset %s: %w", id, err)
	}
	if forgetDedupe {
		if _, err := tx.ExecContext(ctx, `DELETE FROM dedupe_keys WHERE trigger_id = ?`, id); err != nil {
			return fmt.Errorf("reset %s: %w", id, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("reset %s: %w", id, err)
	}
	return nil
}
