package pgstore

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/flowrun/flowrun/trigger"
)

// selectRun reads the summary Commit keeps of each run (a scheduled poll, a
// delivery workflow's commit); the source is the trigger's kind while the
// trigger is on. Steps are not kept here: they are in Temporal's workflow
// history.
const selectRun = `SELECT r.id, r.trigger_id, r.project, r.connection, r.flow, COALESCE(t.kind, ''), r.started_at,
	r.duration_ns, r.events, r.status, r.error
	FROM runs r LEFT JOIN triggers t ON t.id = r.trigger_id`

// ListRuns returns run summaries, newest first, as trigger.Store.ListRuns
// does for a state directory (flowrun runs list --state postgres://...).
func (s *Store) ListRuns(ctx context.Context, f trigger.RunFilter) ([]trigger.RunRecord, error) {
	var where []string
	var args []any
	add := func(cond string, v any) {
		args = append(args, v)
		where = append(where, fmt.Sprintf(cond, len(args)))
	}
	if f.TriggerID != "" {
		add("r.trigger_id = $%d", f.TriggerID)
	}
	if f.Connection != "" {
		add("r.connection = $%d", f.Connection)
	}
	if f.Flow != "" {
		add("r.flow = $%d", f.Flow)
	}
	if f.Failed {
		where = append(where, "r.status = 'error'")
	}
	if f.Before > 0 {
		add("r.id < $%d", f.Before)
	}
	q := selectRun
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	args = append(args, limit)
	q += fmt.Sprintf(" ORDER BY r.id DESC LIMIT $%d", len(args))
	rows, err := s.pool.Query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("read runs: %w", err)
	}
	defer rows.Close()
	out := []trigger.RunRecord{}
	for rows.Next() {
		r, err := scanRun(rows)
		if err != nil {
			return nil, fmt.Errorf("read runs: %w", err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read runs: %w", err)
	}
	return out, nil
}

// GetRun returns one run's summary (no steps), or an error wrapping
// trigger.ErrRunNotFound.
func (s *Store) GetRun(ctx context.Context, id int64) (*trigger.RunRecord, error) {
	r, err := scanRun(s.pool.QueryRow(ctx, selectRun+` WHERE r.id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("run %d: %w", id, trigger.ErrRunNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("read run %d: %w", id, err)
	}
	return &r, nil
}

func scanRun(row pgx.Row) (trigger.RunRecord, error) {
	var r trigger.RunRecord
	var d int64
	if err := row.Scan(&r.ID, &r.TriggerID, &r.Project, &r.Connection, &r.Flow, &r.Source, &r.Started, &d, &r.Events,
		&r.Status, &r.Error); err != nil {
		return r, err
	}
	r.Started, r.Duration = r.Started.UTC(), time.Duration(d)
	return r, nil
}
