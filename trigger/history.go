package trigger

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/flowrun/flowrun/connection"
	"github.com/flowrun/flowrun/run"
)

// Run history: every webhook delivery, poll and recorded action run is a row
// of the runs table, with the steps it executed (redacted, size-capped) in
// run_steps and, for a failed run, what it takes to replay it in
// run_payloads. This is the API the web console reads: ListRuns, GetRun and
// RunPayload are kept stable.

// History caps: what one run may add to the store.
const (
	// MaxStepValueBytes caps each step's input and output, as JSON; a larger
	// value is kept as a JSON string holding its first bytes and a note.
	MaxStepValueBytes = 4 << 10
	// MaxStepsPerRun caps the steps kept per run; the rest are counted in
	// RunRecord.StepsDropped.
	MaxStepsPerRun = 200
)

// ErrRunNotFound is returned (wrapped) by GetRun and RunPayload for an
// unknown run id.
var ErrRunNotFound = errors.New("run not found")

// migrationHistory (schema version 3) adds step records and replay payloads
// to the runs table of version 1. Existing rows keep their values; the new
// columns have defaults, so an existing state.db upgrades in place.
const migrationHistory = `
ALTER TABLE runs ADD COLUMN source TEXT NOT NULL DEFAULT '';       -- webhook, poll, run, replay
ALTER TABLE runs ADD COLUMN replay_of INTEGER NOT NULL DEFAULT 0;   -- the run this one replayed
ALTER TABLE runs ADD COLUMN steps_dropped INTEGER NOT NULL DEFAULT 0;
CREATE INDEX runs_by_start ON runs (started_at);
CREATE INDEX runs_by_status ON runs (status, id);
CREATE TABLE run_steps (
	run_id      INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
	seq         INTEGER NOT NULL,
	data        TEXT NOT NULL,                  -- a StepRecord as JSON, redacted
	PRIMARY KEY (run_id, seq)
);
CREATE TABLE run_payloads (
	run_id      INTEGER PRIMARY KEY REFERENCES runs (id) ON DELETE CASCADE,
	data        TEXT NOT NULL                   -- a Payload as JSON, redacted
);
`

// RunRecord is one run of the history.
type RunRecord struct {
	ID        int64  `json:"id"` // increasing with time
	TriggerID string `json:"trigger_id,omitempty"`
	Project   string `json:"project"`
	// Connection is the named connection the run used ("" for a trigger
	// turned on with --connection FILE, and for action runs).
	Connection string `json:"connection,omitempty"`
	Flow       string `json:"flow"`
	// Source is what started the run: "webhook" (a delivery), "poll", "run"
	// (flowrun run --state) or "replay"; "" for runs recorded before
	// flowrun kept it.
	Source   string        `json:"source"`
	Started  time.Time     `json:"started"`
	Duration time.Duration `json:"duration_ns"`
	Events   int           `json:"events"`
	Status   string        `json:"status"` // "ok" or "error"
	Error    string        `json:"error,omitempty"`
	ReplayOf int64         `json:"replay_of,omitempty"`
	// Steps are filled in by GetRun only, in execution order (a block's
	// steps before the block's own record).
	Steps        []StepRecord `json:"steps,omitempty"`
	StepsDropped int          `json:"steps_dropped,omitempty"` // steps over MaxStepsPerRun
	Replayable   bool         `json:"replayable,omitempty"`    // a Payload is kept
}

// StepRecord is one executed step of a run, redacted; Input and Output are
// JSON of at most MaxStepValueBytes each.
type StepRecord struct {
	Flow     string          `json:"flow"`
	Step     string          `json:"step"`
	Kind     string          `json:"kind"`
	Pos      string          `json:"pos,omitempty"`
	Depth    int             `json:"depth,omitempty"`
	Nest     int             `json:"nest,omitempty"`
	Started  time.Time       `json:"started"`
	Duration time.Duration   `json:"duration_ns"`
	Method   string          `json:"method,omitempty"`
	URL      string          `json:"url,omitempty"`
	Status   int             `json:"status,omitempty"`
	Message  string          `json:"message,omitempty"`
	Error    string          `json:"error,omitempty"`
	Input    json.RawMessage `json:"input,omitempty"`
	Output   json.RawMessage `json:"output,omitempty"`
}

// Payload is what a failed run needs to be replayed, redacted: a webhook
// delivery's request object as its steps saw it (never the signature
// secret), a poll's cursor, an action run's inputs.
type Payload struct {
	Request json.RawMessage `json:"request,omitempty"`
	Cursor  json.RawMessage `json:"cursor,omitempty"`
	Input   json.RawMessage `json:"input,omitempty"`
}

// RunFilter selects runs for ListRuns. Zero fields select everything.
type RunFilter struct {
	TriggerID  string
	Connection string // only runs of this named connection
	Flow       string
	Failed     bool  // only runs whose status is "error"
	Before     int64 // only runs with an id below this (paging); 0: no bound
	Limit      int   // at most this many, newest first; <= 0: 100
}

// RecordRun adds a run that is not a trigger's commit (flowrun run --state,
// action runs) to the history, with its steps and payload, and returns its
// id. rec.ID is set too.
func (s *Store) RecordRun(ctx context.Context, rec *RunRecord, p *Payload) (int64, error) {
	if rec.Status == "" {
		rec.Status = "ok"
		if rec.Error != "" {
			rec.Status = "error"
		}
	}
	if rec.Started.IsZero() {
		rec.Started = time.Now()
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("record run: %w", err)
	}
	defer tx.Rollback()
	stx := s.cachedTx(tx)
	id, err := insertRun(ctx, stx, rec, p)
	if err != nil {
		return 0, fmt.Errorf("record run: %w", err)
	}
	if err := pruneRuns(ctx, stx, rec.TriggerID, s.maxRuns()); err != nil {
		return 0, fmt.Errorf("record run: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("record run: %w", err)
	}
	rec.ID = id
	return id, nil
}

func (s *Store) maxRuns() int {
	if s.MaxRuns <= 0 {
		return DefaultMaxRuns
	}
	return s.MaxRuns
}

// insertRun writes a run row with its steps and payload inside tx; the
// caller prunes the trigger's oldest runs (pruneRuns) before committing.
func insertRun(ctx context.Context, tx cachedTx, rec *RunRecord, p *Payload) (int64, error) {
	if rec.Status != "ok" && rec.Status != "error" {
		return 0, fmt.Errorf("status %q is not ok or error", rec.Status)
	}
	steps := rec.Steps
	dropped := rec.StepsDropped
	if len(steps) > MaxStepsPerRun {
		dropped += len(steps) - MaxStepsPerRun
		steps = steps[:MaxStepsPerRun]
	}
	res, err := tx.ExecContext(ctx, `INSERT INTO runs (trigger_id, project, connection, flow, started_at, duration_ns, events, status, error, source, replay_of, steps_dropped)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		rec.TriggerID, rec.Project, rec.Connection, rec.Flow, rec.Started.UnixNano(), int64(rec.Duration), rec.Events, rec.Status, rec.Error,
		rec.Source, rec.ReplayOf, dropped)
	if err != nil {
		return 0, err
	}
	id, err := res.LastInsertId()
	if err != nil {
		return 0, err
	}
	if len(steps) > 0 {
		ins, err := tx.PrepareContext(ctx, `INSERT INTO run_steps (run_id, seq, data) VALUES (?, ?, ?)`)
		if err != nil {
			return 0, err
		}
		defer ins.Close()
		for i, st := range steps {
			b, err := json.Marshal(st)
			if err != nil {
				return 0, err
			}
			if _, err := ins.ExecContext(ctx, id, i, string(b)); err != nil {
				return 0, err
			}
		}
	}
	if p != nil {
		b, err := json.Marshal(p)
		if err != nil {
			return 0, err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO run_payloads (run_id, data) VALUES (?, ?)`, id, string(b)); err != nil {
			return 0, err
		}
	}
	return id, nil
}

// pruneRuns deletes trigger id's runs beyond the newest maxRuns, inside tx.
// It walks up to maxRuns index entries, so a batch prunes each trigger once,
// after all its runs are in (the same rows survive as pruning after each).
func pruneRuns(ctx context.Context, tx cachedTx, triggerID string, maxRuns int) error {
	_, err := tx.ExecContext(ctx, `DELETE FROM runs WHERE trigger_id = ?1 AND id <=
		(SELECT id FROM runs WHERE trigger_id = ?1 ORDER BY id DESC LIMIT 1 OFFSET ?2)`,
		triggerID, maxRuns)
	return err
}

const selectRun = `SELECT r.id, r.trigger_id, r.project, r.connection, r.flow, r.source, r.started_at, r.duration_ns, r.events,
	r.status, r.error, r.replay_of, r.steps_dropped, p.run_id IS NOT NULL
	FROM runs r LEFT JOIN run_payloads p ON p.run_id = r.id`

// ListRuns returns the runs that f selects, newest first, without their
// steps.
func (s *Store) ListRuns(ctx context.Context, f RunFilter) ([]RunRecord, error) {
	var where []string
	var args []any
	if f.TriggerID != "" {
		where = append(where, "r.trigger_id = ?")
		args = append(args, f.TriggerID)
	}
	if f.Connection != "" {
		where = append(where, "r.connection = ?")
		args = append(args, f.Connection)
	}
	if f.Flow != "" {
		where = append(where, "r.flow = ?")
		args = append(args, f.Flow)
	}
	if f.Failed {
		where = append(where, "r.status = 'error'")
	}
	if f.Before > 0 {
		where = append(where, "r.id < ?")
		args = append(args, f.Before)
	}
	q := selectRun
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	q += " ORDER BY r.id DESC LIMIT ?"
	args = append(args, limit)
	rows, err := s.r.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("read runs: %w", err)
	}
	defer rows.Close()
	out := []RunRecord{}
	for rows.Next() {
		var (
			r                 RunRecord
			started, duration int64
		)
		if err := rows.Scan(&r.ID, &r.TriggerID, &r.Project, &r.Connection, &r.Flow, &r.Source, &started, &duration, &r.Events,
			&r.Status, &r.Error, &r.ReplayOf, &r.StepsDropped, &r.Replayable); err != nil {
			return nil, fmt.Errorf("read runs: %w", err)
		}
		r.Started = time.Unix(0, started).UTC()
		r.Duration = time.Duration(duration)
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read runs: %w", err)
	}
	return out, nil
}

// GetRun returns one run with its steps, or an error wrapping
// ErrRunNotFound.
func (s *Store) GetRun(ctx context.Context, id int64) (*RunRecord, error) {
	var (
		r                 RunRecord
		started, duration int64
	)
	err := s.r.QueryRowContext(ctx, selectRun+` WHERE r.id = ?`, id).Scan(&r.ID, &r.TriggerID, &r.Project, &r.Connection, &r.Flow, &r.Source,
		&started, &duration, &r.Events, &r.Status, &r.Error, &r.ReplayOf, &r.StepsDropped, &r.Replayable)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("run %d: %w", id, ErrRunNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("read run %d: %w", id, err)
	}
	r.Started = time.Unix(0, started).UTC()
	r.Duration = time.Duration(duration)
	rows, err := s.r.QueryContext(ctx, `SELECT data FROM run_steps WHERE run_id = ? ORDER BY seq`, id)
	if err != nil {
		return nil, fmt.Errorf("read run %d: %w", id, err)
	}
	defer rows.Close()
	for rows.Next() {
		var data string
		if err := rows.Scan(&data); err != nil {
			return nil, fmt.Errorf("read run %d: %w", id, err)
		}
		var st StepRecord
		if err := json.Unmarshal([]byte(data), &st); err != nil {
			return nil, fmt.Errorf("read run %d: step: %w", id, err)
		}
		r.Steps = append(r.Steps, st)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read run %d: %w", id, err)
	}
	return &r, nil
}

// RunPayload returns what a failed run kept for replay: an error wrapping
// ErrRunNotFound when the run is unknown or kept nothing.
func (s *Store) RunPayload(ctx context.Context, id int64) (*Payload, error) {
	var data string
	err := s.r.QueryRowContext(ctx, `SELECT data FROM run_payloads WHERE run_id = ?`, id).Scan(&data)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("run %d kept no payload to replay (only failed deliveries, polls and runs do): %w", id, ErrRunNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("read run %d: %w", id, err)
	}
	var p Payload
	if err := json.Unmarshal([]byte(data), &p); err != nil {
		return nil, fmt.Errorf("read run %d: payload: %w", id, err)
	}
	return &p, nil
}

// PruneRuns deletes runs (with their steps and payloads) started before
// olderThan (zero: no age bound) and, per trigger, all but the newest keep
// (<= 0: no count bound). It returns how many runs it deleted.
func (s *Store) PruneRuns(ctx context.Context, keep int, olderThan time.Time) (int64, error) {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("prune runs: %w", err)
	}
	defer tx.Rollback()
	var n int64
	if !olderThan.IsZero() {
		res, err := tx.ExecContext(ctx, `DELETE FROM runs WHERE started_at < ?`, olderThan.UnixNano())
		if err != nil {
			return 0, fmt.Errorf("prune runs: %w", err)
		}
		k, _ := res.RowsAffected()
		n += k
	}
	if keep > 0 {
		res, err := tx.ExecContext(ctx, `DELETE FROM runs WHERE id IN (
			SELECT id FROM (SELECT id, row_number() OVER (PARTITION BY trigger_id ORDER BY id DESC) AS rn FROM runs) WHERE rn > ?)`, keep)
		if err != nil {
			return 0, fmt.Errorf("prune runs: %w", err)
		}
		k, _ := res.RowsAffected()
		n += k
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("prune runs: %w", err)
	}
	return n, nil
}

// StepRecorder collects the steps of one run from its trace events (see
// run.WithTrace), redacted with the run's connection and capped. It is safe
// for concurrent use (parallel for_each steps).
type StepRecorder struct {
	conn *connection.Connection
	// OnLog, when set, is called with every log step's message, redacted.
	OnLog func(flow, step, msg string)

	mu      sync.Mutex
	recs    []StepRecord
	dropped int
}

// NewStepRecorder returns a recorder that redacts with conn.
func NewStepRecorder(conn *connection.Connection) *StepRecorder {
	return &StepRecorder{conn: conn}
}

// Context returns ctx with the recorder installed as the run's trace.
func (sr *StepRecorder) Context(ctx context.Context) context.Context {
	return run.WithTrace(ctx, sr.Add)
}

// Add records one trace event.
func (sr *StepRecorder) Add(ev run.TraceEvent) {
	ev = run.RedactEvent(sr.conn, ev)
	if ev.Kind == "log" && sr.OnLog != nil {
		sr.OnLog(ev.Flow, ev.Step, ev.Message)
	}
	sr.mu.Lock()
	defer sr.mu.Unlock()
	if len(sr.recs) >= MaxStepsPerRun {
		sr.dropped++
		return
	}
	sr.recs = append(sr.recs, StepRecord{Flow: ev.Flow, Step: ev.Step, Kind: ev.Kind, Pos: ev.Pos, Depth: ev.Depth, Nest: ev.Nest,
		Started: ev.Start.UTC(), Duration: ev.Duration, Method: ev.Method, URL: ev.URL, Status: ev.Status,
		Message: capString(ev.Message), Error: capString(ev.Error),
		Input: capJSON(sr.conn, ev.Input), Output: capJSON(sr.conn, ev.Output)})
}

// Fill copies what was recorded into rec.
func (sr *StepRecorder) Fill(rec *RunRecord) {
	if sr == nil {
		return
	}
	sr.mu.Lock()
	defer sr.mu.Unlock()
	rec.Steps = append([]StepRecord(nil), sr.recs...)
	rec.StepsDropped = sr.dropped
}

// capJSON encodes v (already redacted) as JSON of at most
// MaxStepValueBytes; a larger value becomes a string of its first bytes
// followed by a note of its size.
func capJSON(conn *connection.Connection, v any) json.RawMessage {
	if v == nil {
		return nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		b, _ = json.Marshal(fmt.Sprintf("(not JSON: %v)", err))
	}
	b = []byte(conn.Redact(string(b)))
	if len(b) <= MaxStepValueBytes {
		return b
	}
	head := truncUTF8(string(b), MaxStepValueBytes-64)
	out, _ := json.Marshal(fmt.Sprintf("%s… (truncated: %d bytes)", head, len(b)))
	return out
}

func capString(s string) string {
	if len(s) <= MaxStepValueBytes {
		return s
	}
	return truncUTF8(s, MaxStepValueBytes) + "…"
}

func truncUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// redactedJSON is v as JSON with conn's secrets removed; nil for nil.
func redactedJSON(conn *connection.Connection, v any) json.RawMessage {
	if v == nil {
		return nil
	}
	b, err := json.Marshal(conn.RedactValue(v))
	if err != nil {
		return nil
	}
	return json.RawMessage(conn.Redact(string(b)))
}

// Ping checks that the database can be read.
func (s *Store) Ping(ctx context.Context) error {
	var one int
	return s.r.QueryRowContext(ctx, "SELECT 1").Scan(&one)
}
