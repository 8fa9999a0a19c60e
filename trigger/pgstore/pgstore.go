// Package pgstore keeps the trigger host's state (trigger.StateStore) in
// Postgres, for several machines sharing it: `flowrun worker --state-dsn` and
// `flowrun serve` through trigger.Host.State. The schema is created and
// upgraded by the SQL files in migrations/, applied in order inside one
// transaction under an advisory lock, so workers starting together migrate
// once. The SQLite store (trigger.Store) stays the one-machine default.
package pgstore

import (
	"bytes"
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"sort"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/flowrun/flowrun/trigger"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// migrateLock is the advisory lock key held while migrating.
const migrateLock = 0x666c6f7772756e // "flowrun"

// Store is a trigger.StateStore on a Postgres connection pool. It is safe
// for concurrent use by goroutines and by several processes.
type Store struct {
	// MaxDedupeKeys bounds the dedupe keys kept per trigger (0:
	// trigger.DefaultMaxDedupeKeys); MaxRuns the run-history rows (0:
	// trigger.DefaultMaxRuns). Set them before sharing the Store.
	MaxDedupeKeys int
	MaxRuns       int

	pool *pgxpool.Pool
}

var _ trigger.StateStore = (*Store)(nil)

// Open connects to the database at dsn (postgres://user@host/db) and
// applies the migrations it has not seen.
func Open(ctx context.Context, dsn string) (*Store, error) {
	pool, err := pgxpool.New(ctx, dsn)
	if err != nil {
		return nil, fmt.Errorf("state database: %w", err)
	}
	s := &Store{pool: pool}
	if err := s.migrate(ctx); err != nil {
		pool.Close()
		return nil, err
	}
	return s, nil
}

// Close closes the pool.
func (s *Store) Close() error { s.pool.Close(); return nil }

// Migrations lists the embedded migration files in the order they apply.
func Migrations() []string {
	names, _ := fs.Glob(migrationFS, "migrations/*.sql")
	sort.Strings(names)
	return names
}

func (s *Store) migrate(ctx context.Context) error {
	fail := func(err error) error { return fmt.Errorf("state database: migrate: %w", err) }
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return fail(err)
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(migrateLock)); err != nil {
		return fail(err)
	}
	if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS flowrun_migrations (name TEXT PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())`); err != nil {
		return fail(err)
	}
	applied := map[string]bool{}
	rows, err := tx.Query(ctx, `SELECT name FROM flowrun_migrations`)
	if err != nil {
		return fail(err)
	}
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			rows.Close()
			return fail(err)
		}
		applied[n] = true
	}
	rows.Close()
	known := map[string]bool{}
	for _, name := range Migrations() {
		base := strings.TrimPrefix(name, "migrations/")
		known[base] = true
		if applied[base] {
			continue
		}
		sql, err := migrationFS.ReadFile(name)
		if err != nil {
			return fail(err)
		}
		if _, err := tx.Exec(ctx, string(sql)); err != nil {
			return fail(fmt.Errorf("%s: %w", base, err))
		}
		if _, err := tx.Exec(ctx, `INSERT INTO flowrun_migrations (name) VALUES ($1)`, base); err != nil {
			return fail(err)
		}
	}
	for n := range applied {
		if !known[n] {
			return fmt.Errorf("state database: migration %s was applied by a newer flowrun; upgrade this one", n)
		}
	}
	return tx.Commit(ctx)
}

// CreateTrigger implements trigger.StateStore.
func (s *Store) CreateTrigger(ctx context.Context, t *trigger.Trigger) error {
	if t.Project == "" || t.Flow == "" {
		return errors.New("create trigger: project and flow are required")
	}
	if t.Kind != "webhook" && t.Kind != "poll" {
		return fmt.Errorf("create trigger: kind %q is not webhook or poll", t.Kind)
	}
	input, err := trigger.CanonicalInput(t.Input)
	if err != nil {
		return fmt.Errorf("create trigger: input: %w", err)
	}
	if input[0] != '{' {
		return errors.New("create trigger: input must be a JSON object")
	}
	if t.Registration != nil && !json.Valid(t.Registration) {
		return errors.New("create trigger: registration is not valid JSON")
	}
	if t.Cursor != nil && !json.Valid(t.Cursor) {
		return errors.New("create trigger: cursor is not valid JSON")
	}
	if len(t.Cursor) > trigger.MaxCursorBytes {
		return &trigger.CursorTooLargeError{Size: len(t.Cursor)}
	}
	if t.MaxMemory < 0 {
		return errors.New("create trigger: the memory budget must not be negative (0 means the host's)")
	}
	id := t.ID
	if id == "" {
		id = trigger.NewTriggerID(t.Flow)
	} else if !trigger.ValidTriggerID(id) {
		return fmt.Errorf("create trigger: id %q may hold only letters, digits, '-', '_' and '.'", id)
	}
	created := t.CreatedAt
	if created.IsZero() {
		created = time.Now()
	}
	created = created.UTC().Truncate(time.Microsecond) // Postgres keeps microseconds
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("create trigger: %w", err)
	}
	defer tx.Rollback(ctx)
	var other string
	err = tx.QueryRow(ctx, `SELECT id FROM triggers WHERE id = $1 OR (project = $2 AND connection = $3 AND flow = $4 AND input = $5) LIMIT 1`,
		id, t.Project, t.Connection, t.Flow, input).Scan(&other)
	switch {
	case err == nil && other == id:
		return fmt.Errorf("create trigger: id %s: %w", id, trigger.ErrExists)
	case err == nil:
		return fmt.Errorf("create trigger: %s/%s with the same input is already on as %s: %w", t.Project, t.Flow, other, trigger.ErrExists)
	case !errors.Is(err, pgx.ErrNoRows):
		return fmt.Errorf("create trigger: %w", err)
	}
	var lastRun *time.Time
	if !t.LastRunAt.IsZero() {
		lastRun = &t.LastRunAt
	}
	if _, err := tx.Exec(ctx, `INSERT INTO triggers (id, project, connection, flow, kind, input, secret, created_at, last_run_at, delivered, last_error, max_memory)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
		id, t.Project, t.Connection, t.Flow, t.Kind, input, t.Secret, created, lastRun, t.Delivered, t.LastError, t.MaxMemory); err != nil {
		if isUnique(err) {
			return fmt.Errorf("create trigger: %s/%s: %w", t.Project, t.Flow, trigger.ErrExists)
		}
		return fmt.Errorf("create trigger: %w", err)
	}
	now := time.Now()
	if t.Registration != nil {
		if _, err := tx.Exec(ctx, `INSERT INTO registrations (trigger_id, data, updated_at) VALUES ($1, $2, $3)`,
			id, string(t.Registration), now); err != nil {
			return fmt.Errorf("create trigger: %w", err)
		}
	}
	if t.Cursor != nil && strings.TrimSpace(string(t.Cursor)) != "null" {
		if _, err := tx.Exec(ctx, `INSERT INTO cursors (trigger_id, cursor, updated_at) VALUES ($1, $2, $3)`,
			id, string(t.Cursor), now); err != nil {
			return fmt.Errorf("create trigger: %w", err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		if isUnique(err) {
			return fmt.Errorf("create trigger: %s/%s: %w", t.Project, t.Flow, trigger.ErrExists)
		}
		return fmt.Errorf("create trigger: %w", err)
	}
	t.ID, t.CreatedAt, t.Input = id, created, json.RawMessage(input)
	return nil
}

func isUnique(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23505"
}

const selectTrigger = `SELECT t.id, t.project, t.connection, t.flow, t.kind, t.input, r.data, t.secret, c.cursor,
	t.created_at, t.last_run_at, t.delivered, t.last_error, t.max_memory
	FROM triggers t
	LEFT JOIN registrations r ON r.trigger_id = t.id
	LEFT JOIN cursors c ON c.trigger_id = t.id`

// GetTrigger implements trigger.StateStore.
func (s *Store) GetTrigger(ctx context.Context, id string) (*trigger.Trigger, error) {
	ts, err := s.queryTriggers(ctx, selectTrigger+` WHERE t.id = $1`, id)
	if err != nil {
		return nil, err
	}
	if len(ts) == 0 {
		return nil, fmt.Errorf("trigger %s: %w", id, trigger.ErrNotFound)
	}
	return ts[0], nil
}

// FindTrigger implements trigger.StateStore.
func (s *Store) FindTrigger(ctx context.Context, project, flow string) ([]*trigger.Trigger, error) {
	return s.queryTriggers(ctx, selectTrigger+` WHERE t.project = $1 AND t.flow = $2 ORDER BY t.created_at, t.id`, project, flow)
}

// ListTriggers implements trigger.StateStore.
func (s *Store) ListTriggers(ctx context.Context) ([]*trigger.Trigger, error) {
	return s.queryTriggers(ctx, selectTrigger+` ORDER BY t.created_at, t.id`)
}

func (s *Store) queryTriggers(ctx context.Context, query string, args ...any) ([]*trigger.Trigger, error) {
	rows, err := s.pool.Query(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("read triggers: %w", err)
	}
	defer rows.Close()
	out := []*trigger.Trigger{}
	for rows.Next() {
		var (
			t        trigger.Trigger
			input    string
			reg, cur *string
			lastRun  *time.Time
		)
		if err := rows.Scan(&t.ID, &t.Project, &t.Connection, &t.Flow, &t.Kind, &input, &reg, &t.Secret, &cur,
			&t.CreatedAt, &lastRun, &t.Delivered, &t.LastError, &t.MaxMemory); err != nil {
			return nil, fmt.Errorf("read triggers: %w", err)
		}
		t.Input = json.RawMessage(input)
		if reg != nil {
			t.Registration = json.RawMessage(*reg)
		}
		if cur != nil {
			t.Cursor = json.RawMessage(*cur)
		}
		t.CreatedAt = t.CreatedAt.UTC()
		if lastRun != nil {
			t.LastRunAt = lastRun.UTC()
		}
		out = append(out, &t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read triggers: %w", err)
	}
	return out, nil
}

// DeleteTrigger implements trigger.StateStore; the run history is kept.
func (s *Store) DeleteTrigger(ctx context.Context, id string) error {
	tag, err := s.pool.Exec(ctx, `DELETE FROM triggers WHERE id = $1`, id)
	if err != nil {
		return fmt.Errorf("delete trigger %s: %w", id, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("trigger %s: %w", id, trigger.ErrNotFound)
	}
	return nil
}

// SetMaxMemory implements trigger.StateStore.
func (s *Store) SetMaxMemory(ctx context.Context, id string, n int64) error {
	if n < 0 {
		return fmt.Errorf("set the memory budget of %s: the memory budget must not be negative (0 means the host's)", id)
	}
	tag, err := s.pool.Exec(ctx, `UPDATE triggers SET max_memory = $1 WHERE id = $2`, n, id)
	if err != nil {
		return fmt.Errorf("set the memory budget of %s: %w", id, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("trigger %s: %w", id, trigger.ErrNotFound)
	}
	return nil
}

// SetRegistration implements trigger.StateStore; nil removes it.
func (s *Store) SetRegistration(ctx context.Context, id string, reg json.RawMessage) error {
	if reg != nil && !json.Valid(reg) {
		return fmt.Errorf("set registration of %s: not valid JSON", id)
	}
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("set registration of %s: %w", id, err)
	}
	defer tx.Rollback(ctx)
	if err := triggerExists(ctx, tx, id, false); err != nil {
		return err
	}
	if reg == nil {
		_, err = tx.Exec(ctx, `DELETE FROM registrations WHERE trigger_id = $1`, id)
	} else {
		_, err = tx.Exec(ctx, `INSERT INTO registrations (trigger_id, data, updated_at) VALUES ($1, $2, now())
			ON CONFLICT (trigger_id) DO UPDATE SET data = excluded.data, updated_at = excluded.updated_at`, id, string(reg))
	}
	if err != nil {
		return fmt.Errorf("set registration of %s: %w", id, err)
	}
	return tx.Commit(ctx)
}

// triggerExists checks the trigger is on; lock takes its row lock, which
// serialises concurrent commits of one trigger.
func triggerExists(ctx context.Context, tx pgx.Tx, id string, lock bool) error {
	q := `SELECT 1 FROM triggers WHERE id = $1`
	if lock {
		q += ` FOR UPDATE`
	}
	var one int
	err := tx.QueryRow(ctx, q, id).Scan(&one)
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("trigger %s: %w", id, trigger.ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("trigger %s: %w", id, err)
	}
	return nil
}

// SeenKeys implements trigger.StateStore.
func (s *Store) SeenKeys(ctx context.Context, triggerID string, keys []string) (map[string]bool, error) {
	seen := map[string]bool{}
	if len(keys) == 0 {
		return seen, nil
	}
	rows, err := s.pool.Query(ctx, `SELECT key FROM dedupe_keys WHERE trigger_id = $1 AND key = ANY($2)`, triggerID, keys)
	if err != nil {
		return nil, fmt.Errorf("read dedupe keys of %s: %w", triggerID, err)
	}
	defer rows.Close()
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			return nil, fmt.Errorf("read dedupe keys of %s: %w", triggerID, err)
		}
		seen[k] = true
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read dedupe keys of %s: %w", triggerID, err)
	}
	return seen, nil
}

// Commit implements trigger.StateStore: cursor, dedupe keys (oldest beyond
// MaxDedupeKeys pruned), counters and a run-history row in one transaction
// that holds the trigger's row lock.
func (s *Store) Commit(ctx context.Context, triggerID string, c trigger.RunCommit) error {
	status := c.Status
	if status == "" {
		status = "ok"
		if c.Error != "" {
			status = "error"
		}
	}
	if status != "ok" && status != "error" {
		return fmt.Errorf("commit run of %s: status %q is not ok or error", triggerID, c.Status)
	}
	if len(c.Cursor) > trigger.MaxCursorBytes {
		return &trigger.CursorTooLargeError{Size: len(c.Cursor)}
	}
	if len(c.Cursor) > 0 && !json.Valid(c.Cursor) {
		return fmt.Errorf("commit run of %s: cursor is not valid JSON", triggerID)
	}
	if c.Events < 0 {
		return fmt.Errorf("commit run of %s: negative event count %d", triggerID, c.Events)
	}
	started := c.Started
	if started.IsZero() {
		started = time.Now()
	}
	maxKeys := s.MaxDedupeKeys
	if maxKeys <= 0 {
		maxKeys = trigger.DefaultMaxDedupeKeys
	}
	maxRuns := s.MaxRuns
	if maxRuns <= 0 {
		maxRuns = trigger.DefaultMaxRuns
	}
	fail := func(err error) error { return fmt.Errorf("commit run of %s: %w", triggerID, err) }
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return fail(err)
	}
	defer tx.Rollback(ctx)
	var project, conn, flow string
	err = tx.QueryRow(ctx, `SELECT project, connection, flow FROM triggers WHERE id = $1 FOR UPDATE`, triggerID).Scan(&project, &conn, &flow)
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("trigger %s: %w", triggerID, trigger.ErrNotFound)
	} else if err != nil {
		return fail(err)
	}
	switch {
	case len(c.Cursor) == 0:
	case strings.TrimSpace(string(c.Cursor)) == "null":
		if _, err := tx.Exec(ctx, `DELETE FROM cursors WHERE trigger_id = $1`, triggerID); err != nil {
			return fail(err)
		}
	default:
		if _, err := tx.Exec(ctx, `INSERT INTO cursors (trigger_id, cursor, updated_at) VALUES ($1, $2, now())
			ON CONFLICT (trigger_id) DO UPDATE SET cursor = excluded.cursor, updated_at = excluded.updated_at`,
			triggerID, string(c.Cursor)); err != nil {
			return fail(err)
		}
	}
	var keys []string
	for _, k := range c.Keys {
		if k != "" {
			keys = append(keys, k)
		}
	}
	if len(keys) > 0 {
		// A key seen again is moved to the end, so it counts as recent.
		if _, err := tx.Exec(ctx, `DELETE FROM dedupe_keys WHERE trigger_id = $1 AND key = ANY($2)`, triggerID, keys); err != nil {
			return fail(err)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO dedupe_keys (trigger_id, key)
			SELECT $1, k FROM unnest($2::text[]) WITH ORDINALITY AS u(k, n) ORDER BY n
			ON CONFLICT (trigger_id, key) DO NOTHING`, triggerID, keys); err != nil {
			return fail(err)
		}
		if _, err := tx.Exec(ctx, `DELETE FROM dedupe_keys WHERE trigger_id = $1 AND id <=
			(SELECT id FROM dedupe_keys WHERE trigger_id = $1 ORDER BY id DESC LIMIT 1 OFFSET $2)`, triggerID, maxKeys); err != nil {
			return fail(err)
		}
	}
	if _, err := tx.Exec(ctx, `UPDATE triggers SET delivered = delivered + $1, last_run_at = $2, last_error = $3 WHERE id = $4`,
		c.Events, started, c.Error, triggerID); err != nil {
		return fail(err)
	}
	if _, err := tx.Exec(ctx, `INSERT INTO runs (trigger_id, project, connection, flow, started_at, duration_ns, events, status, error)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
		triggerID, project, conn, flow, started, int64(c.Duration), c.Events, status, c.Error); err != nil {
		return fail(err)
	}
	if _, err := tx.Exec(ctx, `DELETE FROM runs WHERE trigger_id = $1 AND id <=
		(SELECT id FROM runs WHERE trigger_id = $1 ORDER BY id DESC LIMIT 1 OFFSET $2)`, triggerID, maxRuns); err != nil {
		return fail(err)
	}
	if err := tx.Commit(ctx); err != nil {
		return fail(err)
	}
	return nil
}

// History returns a trigger's runs, newest first, at most limit (<= 0: all).
func (s *Store) History(ctx context.Context, triggerID string, limit int) ([]trigger.Run, error) {
	q := `SELECT id, trigger_id, project, flow, started_at, duration_ns, events, status, error
		FROM runs WHERE trigger_id = $1 ORDER BY id DESC`
	args := []any{triggerID}
	if limit > 0 {
		q += ` LIMIT $2`
		args = append(args, limit)
	}
	rows, err := s.pool.Query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("read history of %s: %w", triggerID, err)
	}
	defer rows.Close()
	out := []trigger.Run{}
	for rows.Next() {
		var r trigger.Run
		var d int64
		if err := rows.Scan(&r.ID, &r.TriggerID, &r.Project, &r.Flow, &r.Started, &d, &r.Events, &r.Status, &r.Error); err != nil {
			return nil, fmt.Errorf("read history of %s: %w", triggerID, err)
		}
		r.Started, r.Duration = r.Started.UTC(), time.Duration(d)
		out = append(out, r)
	}
	return out, rows.Err()
}

// SetHold implements trigger.StateStore.
func (s *Store) SetHold(ctx context.Context, h trigger.Hold) error {
	var until *time.Time
	if !h.Until.IsZero() {
		until = &h.Until
	}
	since := h.Since
	if since.IsZero() {
		since = time.Now()
	}
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("hold trigger %s: %w", h.TriggerID, err)
	}
	defer tx.Rollback(ctx)
	if err := triggerExists(ctx, tx, h.TriggerID, false); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `INSERT INTO holds (trigger_id, code, reason, since, until, failures, connection)
		VALUES ($1, $2, $3, $4, $5, $6, $7)
		ON CONFLICT (trigger_id) DO UPDATE SET code = excluded.code, reason = excluded.reason, since = excluded.since,
			until = excluded.until, failures = excluded.failures, connection = excluded.connection`,
		h.TriggerID, h.Code, h.Reason, since, until, h.Failures, h.Connection); err != nil {
		return fmt.Errorf("hold trigger %s: %w", h.TriggerID, err)
	}
	return tx.Commit(ctx)
}

// ClearHold implements trigger.StateStore.
func (s *Store) ClearHold(ctx context.Context, id string) (bool, error) {
	tag, err := s.pool.Exec(ctx, `DELETE FROM holds WHERE trigger_id = $1`, id)
	if err != nil {
		return false, fmt.Errorf("clear hold of %s: %w", id, err)
	}
	return tag.RowsAffected() > 0, nil
}

// GetHold implements trigger.StateStore.
func (s *Store) GetHold(ctx context.Context, id string) (trigger.Hold, bool, error) {
	hs, err := s.queryHolds(ctx, `WHERE trigger_id = $1`, id)
	if err != nil || len(hs) == 0 {
		return trigger.Hold{}, false, err
	}
	return hs[0], true, nil
}

// Holds implements trigger.StateStore.
func (s *Store) Holds(ctx context.Context) (map[string]trigger.Hold, error) {
	hs, err := s.queryHolds(ctx, ``)
	if err != nil {
		return nil, err
	}
	m := make(map[string]trigger.Hold, len(hs))
	for _, h := range hs {
		m[h.TriggerID] = h
	}
	return m, nil
}

func (s *Store) queryHolds(ctx context.Context, where string, args ...any) ([]trigger.Hold, error) {
	rows, err := s.pool.Query(ctx, `SELECT trigger_id, code, reason, since, until, failures, connection FROM holds `+where, args...)
	if err != nil {
		return nil, fmt.Errorf("read holds: %w", err)
	}
	defer rows.Close()
	var out []trigger.Hold
	for rows.Next() {
		var h trigger.Hold
		var until *time.Time
		if err := rows.Scan(&h.TriggerID, &h.Code, &h.Reason, &h.Since, &until, &h.Failures, &h.Connection); err != nil {
			return nil, fmt.Errorf("read holds: %w", err)
		}
		h.Since = h.Since.UTC()
		if until != nil {
			h.Until = until.UTC()
		}
		out = append(out, h)
	}
	return out, rows.Err()
}

// ResetTrigger implements trigger.StateStore: the poll restarts from cursor
// (nil or null: none) and, with forgetDedupe, forgets its dedupe keys. It
// takes the trigger's row lock, so it lands between two polls' commits.
func (s *Store) ResetTrigger(ctx context.Context, id string, cursor json.RawMessage, forgetDedupe bool) error {
	if len(cursor) > trigger.MaxCursorBytes {
		return &trigger.CursorTooLargeError{Size: len(cursor)}
	}
	null := len(cursor) == 0 || string(bytes.TrimSpace(cursor)) == "null"
	if !null && !json.Valid(cursor) {
		return fmt.Errorf("reset %s: the cursor is not valid JSON", id)
	}
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("reset %s: %w", id, err)
	}
	defer tx.Rollback(ctx)
	if err := triggerExists(ctx, tx, id, true); err != nil {
		return err
	}
	if null {
		_, err = tx.Exec(ctx, `DELETE FROM cursors WHERE trigger_id = $1`, id)
	} else {
		_, err = tx.Exec(ctx, `INSERT INTO cursors (trigger_id, cursor, updated_at) VALUES ($1, $2, now())
			ON CONFLICT (trigger_id) DO UPDATE SET cursor = excluded.cursor, updated_at = excluded.updated_at`, id, string(cursor))
	}
	if err != nil {
		return fmt.Errorf("reset %s: %w", id, err)
	}
	if forgetDedupe {
		if _, err := tx.Exec(ctx, `DELETE FROM dedupe_keys WHERE trigger_id = $1`, id); err != nil {
			return fmt.Errorf("reset %s: %w", id, err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("reset %s: %w", id, err)
	}
	return nil
}
