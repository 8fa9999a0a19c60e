package trigger

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"time"

	"github.com/flowrun/flowrun/lang"
	"github.com/flowrun/flowrun/run"
)

// How the trigger host acts on the code of a failed run (SPEC §8.3):
// auth_expired and config pause the trigger until it is resumed (`flowrun
// trigger resume`, or a new `flowrun connection login --state`); throttled
// delays the next poll until the service's retry_after; transient retries a
// poll with backoff. What holds a trigger is kept in the store, so `flowrun
// trigger list` shows it and a restarted `flowrun serve` keeps to it.

// migrationHolds adds the holds table (schema version 2).
const migrationHolds = `
CREATE TABLE holds (
	trigger_id TEXT PRIMARY KEY REFERENCES triggers (id) ON DELETE CASCADE,
	code       TEXT NOT NULL,               -- the error code that holds the trigger
	reason     TEXT NOT NULL DEFAULT '',    -- the error, redacted
	since      INTEGER NOT NULL,            -- unix nanoseconds
	until      INTEGER,                     -- unix nanoseconds: the next poll not before; NULL while paused
	failures   INTEGER NOT NULL DEFAULT 0,  -- failed runs in a row
	connection TEXT NOT NULL DEFAULT ''     -- the connection file the trigger ran with
);
`

// HoldManual is the code of a pause made by hand (the console's Pause
// button): unlike auth_expired and config, the outcome of a run neither
// lifts nor replaces it, and a new login does not resume it.
const HoldManual = "manual"

// Hold is why a trigger does not run on its schedule: paused until it is
// resumed, or delayed until a time.
type Hold struct {
	TriggerID  string
	Code       string // auth_expired, config or manual: paused; throttled or transient: delayed
	Reason     string // the run's error, redacted
	Since      time.Time
	Until      time.Time // delayed: not before this; zero while paused
	Failures   int       // failed runs in a row
	Connection string    // the connection file the failing run used ("" when unknown)
}

// Paused reports a hold that lasts until the trigger is resumed.
func (h Hold) Paused() bool { return h.Code == HoldManual || pauses(h.Code) }

func pauses(code string) bool { return code == lang.CodeAuthExpired || code == lang.CodeConfig }

// String says what holds the trigger, for `flowrun trigger list`.
func (h Hold) String() string {
	if h.Paused() {
		return "paused (" + h.Code + ")"
	}
	return fmt.Sprintf("%s: next poll %s", h.Code, h.Until.UTC().Format(time.RFC3339))
}

// SetHold records what holds a trigger, replacing any earlier hold. A
// missing trigger is ErrNotFound.
func (s *Store) SetHold(ctx context.Context, h Hold) error {
	var until any
	if !h.Until.IsZero() {
		until = h.Until.UnixNano()
	}
	since := h.Since
	if since.IsZero() {
		since = time.Now()
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("hold trigger %s: %w", h.TriggerID, err)
	}
	defer tx.Rollback()
	if err := triggerExists(ctx, tx, h.TriggerID); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO holds (trigger_id, code, reason, since, until, failures, connection)
		VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (trigger_id) DO UPDATE SET code = excluded.code, reason = excluded.reason, since = excluded.since,
			until = excluded.until, failures = excluded.failures, connection = excluded.connection`,
		h.TriggerID, h.Code, h.Reason, since.UnixNano(), until, h.Failures, h.Connection); err != nil {
		return fmt.Errorf("hold trigger %s: %w", h.TriggerID, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("hold trigger %s: %w", h.TriggerID, err)
	}
	return nil
}

// Pause pauses a trigger by hand (code manual) until it is resumed, with
// the reason given (shown beside it); it replaces any other hold. A missing
// trigger is ErrNotFound.
func (s *Store) Pause(ctx context.Context, id, reason string, at time.Time) error {
	return s.SetHold(ctx, Hold{TriggerID: id, Code: HoldManual, Reason: reason, Since: at})
}

// ClearHold removes a trigger's hold, if any, and reports whether there
// was one.
func (s *Store) ClearHold(ctx context.Context, id string) (bool, error) {
	res, err := s.w.ExecContext(ctx, `DELETE FROM holds WHERE trigger_id = ?`, id)
	if err != nil {
		return false, fmt.Errorf("clear hold of %s: %w", id, err)
	}
	n, err := res.RowsAffected()
	return n > 0, err
}

// GetHold returns a trigger's hold; ok is false when nothing holds it.
func (s *Store) GetHold(ctx context.Context, id string) (h Hold, ok bool, err error) {
	hs, err := s.queryHolds(ctx, `WHERE trigger_id = ?`, id)
	if err != nil || len(hs) == 0 {
		return Hold{}, false, err
	}
	return hs[0], true, nil
}

// Holds returns every hold, by trigger id.
func (s *Store) Holds(ctx context.Context) (map[string]Hold, error) {
	hs, err := s.queryHolds(ctx, ``)
	if err != nil {
		return nil, err
	}
	m := make(map[string]Hold, len(hs))
	for _, h := range hs {
		m[h.TriggerID] = h
	}
	return m, nil
}

func (s *Store) queryHolds(ctx context.Context, where string, args ...any) ([]Hold, error) {
	// fixed texts only (readQuery keeps each prepared): GetHold runs for
	// every webhook delivery
	rows, err := s.readQuery(ctx, `SELECT trigger_id, code, reason, since, until, failures, connection FROM holds `+where, args...)
	if err != nil {
		return nil, fmt.Errorf("read holds: %w", err)
	}
	defer rows.Close()
	var out []Hold
	for rows.Next() {
		var (
			h     Hold
			since int64
			until sql.NullInt64
		)
		if err := rows.Scan(&h.TriggerID, &h.Code, &h.Reason, &since, &until, &h.Failures, &h.Connection); err != nil {
			return nil, fmt.Errorf("read holds: %w", err)
		}
		h.Since = time.Unix(0, since).UTC()
		if until.Valid {
			h.Until = time.Unix(0, until.Int64).UTC()
		}
		out = append(out, h)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read holds: %w", err)
	}
	return out, nil
}

// Resume lifts a trigger's pause (and any delay): the next poll runs on
// its schedule, deliveries are taken again. It reports whether the trigger
// was held; a missing trigger is ErrNotFound.
func (s *Store) Resume(ctx context.Context, id string) (bool, error) {
	if _, err := s.GetTrigger(ctx, id); err != nil {
		return false, err
	}
	return s.ClearHold(ctx, id)
}

// ResumeConnection lifts the pauses of a project's triggers that were
// paused while running with the given connection file (or with no file
// recorded), as a new login to that connection does. It returns their ids.
func (s *Store) ResumeConnection(ctx context.Context, project, connFile string) ([]string, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT h.trigger_id FROM holds h JOIN triggers t ON t.id = h.trigger_id
		WHERE t.project = ? AND h.code IN (?, ?) AND (h.connection = ? OR h.connection = '') ORDER BY t.created_at, t.id`,
		project, lang.CodeAuthExpired, lang.CodeConfig, connFile)
	if err != nil {
		return nil, fmt.Errorf("read holds: %w", err)
	}
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return nil, fmt.Errorf("read holds: %w", err)
		}
		ids = append(ids, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read holds: %w", err)
	}
	for _, id := range ids {
		if _, err := s.ClearHold(ctx, id); err != nil {
			return nil, err
		}
	}
	return ids, nil
}

// pollBackoff is the wait before the next poll after n failed runs in a
// row that did not say how long to wait: 15s doubled per failure (the
// schedule, when shorter, instead of 15s), at most the larger of the
// schedule and 30 minutes.
func pollBackoff(n int, every time.Duration) time.Duration {
	base := min(15*time.Second, every)
	limit := max(every, 30*time.Minute)
	d := base
	for i := 1; i < n && d < limit; i++ {
		d *= 2
	}
	return min(d, limit)
}

// afterRun records what the outcome of a trigger's run means for it: a
// success lifts a hold; auth_expired and config pause the trigger;
// throttled and transient delay its next poll. It returns the hold it set.
func (h *Host) afterRun(ctx context.Context, t *Trigger, f *lang.Flow, err error) (Hold, bool) {
	ctx = context.WithoutCancel(ctx)
	if err == nil {
		// most runs succeed with nothing to lift: read before writing
		if hd, had, _ := h.state().GetHold(ctx, t.ID); had && hd.Code != HoldManual {
			if _, cerr := h.state().ClearHold(ctx, t.ID); cerr != nil {
				h.logf("trigger %s: %v", t.ID, cerr)
			} else {
				h.setHoldCache(t.ID, nil)
			}
		}
		return Hold{}, false
	}
	code := run.ErrorCode(err)
	now := time.Now()
	hd := Hold{TriggerID: t.ID, Code: code, Reason: h.Runner.Connection.Redact(err.Error()), Since: now}
	if f := h.Runner.Connection.File; f != "" {
		hd.Connection, _ = filepath.Abs(f)
	}
	prev, had, _ := h.state().GetHold(ctx, t.ID)
	if had && prev.Code == HoldManual {
		return prev, true // paused by hand: it stays so, whatever the run says
	}
	switch {
	case pauses(code):
	case (code == lang.CodeThrottled || code == lang.CodeTransient) && t.Kind == "poll" && f != nil:
		hd.Failures = 1
		if had && !prev.Paused() {
			hd.Failures = prev.Failures + 1
		}
		every := f.Schedule
		if h.Every > 0 {
			every = h.Every
		}
		wait := run.RetryAfter(err)
		if wait <= 0 || code == lang.CodeTransient {
			wait = pollBackoff(hd.Failures, every)
		}
		hd.Until = now.Add(wait)
	default:
		// another failure: the schedule applies again (a delay from an
		// earlier failure must not make the poll due at every tick)
		if had && !prev.Paused() {
			if _, cerr := h.state().ClearHold(ctx, t.ID); cerr == nil {
				h.setHoldCache(t.ID, nil)
			}
		}
		return Hold{}, false
	}
	if serr := h.state().SetHold(ctx, hd); serr != nil {
		h.logf("trigger %s: recording why it is held: %v", t.ID, serr)
		return Hold{}, false
	}
	h.setHoldCache(t.ID, &hd)
	if hd.Paused() {
		h.logf("trigger %s (%s) is paused (%s): fix the connection, then `flowrun trigger resume %s` or `flowrun connection login --state`", t.ID, t.Flow, code, t.ID)
		// the connection itself is at fault (its token cannot be
		// refreshed, or it was revoked): its webhook triggers pause too,
		// and keep their deliveries (connpause.go)
		if why := h.revokedReason(); why != "" {
			h.pauseConnection(ctx, lang.CodeAuthExpired, why)
		} else if code == lang.CodeAuthExpired {
			h.pauseConnection(ctx, lang.CodeAuthExpired, hd.Reason)
		}
	}
	return hd, true
}

// Pause pauses a trigger by hand (Store.Pause) and takes it out of the
// scheduler at once (a pause written by another process shows up within
// the scheduler's 10-second refresh).
func (h *Host) Pause(ctx context.Context, id, reason string) error {
	hd := Hold{TriggerID: id, Code: HoldManual, Reason: reason, Since: time.Now()}
	if err := h.state().SetHold(ctx, hd); err != nil {
		return err
	}
	h.setHoldCacheAll(id, &hd)
	return nil
}

// Resume lifts a trigger's pause or delay (Store.Resume) at once, and
// reports whether it was held; a missing trigger is ErrNotFound.
func (h *Host) Resume(ctx context.Context, id string) (bool, error) {
	if _, err := h.state().GetTrigger(ctx, id); err != nil {
		return false, err
	}
	had, err := h.state().ClearHold(ctx, id)
	if err != nil {
		return false, err
	}
	h.setHoldCacheAll(id, nil)
	return had, nil
}

// setHoldCacheAll updates the scheduler's view of a hold in h and its
// peers (--connections: the trigger may be a peer's), so a pause or resume
// made through the first host reaches the scheduler that runs it at once.
func (h *Host) setHoldCacheAll(id string, hd *Hold) {
	h.setHoldCache(id, hd)
	for _, p := range h.peerList() {
		p.setHoldCache(id, hd)
	}
}

// setHoldCache updates the scheduler's view of a trigger's hold (nil: none).
func (h *Host) setHoldCache(id string, hd *Hold) {
	h.holdMu.Lock()
	defer h.holdMu.Unlock()
	if hd == nil {
		delete(h.holds, id)
		return
	}
	if h.holds == nil {
		h.holds = map[string]Hold{}
	}
	h.holds[id] = *hd
}

// refreshHolds reloads the scheduler's view of the holds from the store
// (a resume from another process shows up here).
func (h *Host) refreshHolds(ctx context.Context) {
	hs, err := h.state().Holds(ctx)
	if err != nil {
		h.logf("reading holds: %v", err)
		return
	}
	h.holdMu.Lock()
	h.holds = hs
	h.holdMu.Unlock()
	h.metrics().setPaused(len(hs))
}

// due adjusts when a poll trigger is due for its hold: never while paused,
// at the hold's time while delayed.
func (h *Host) due(id string, due time.Time) (time.Time, bool) {
	h.holdMu.Lock()
	hd, ok := h.holds[id]
	h.holdMu.Unlock()
	switch {
	case !ok:
		return due, true
	case hd.Paused():
		return time.Time{}, false
	}
	return hd.Until, true
}

// paused returns the hold of a paused trigger: a delivery for it is
// answered 503, so the sender tries again, and no step runs.
func (h *Host) paused(ctx context.Context, id string) (Hold, bool) {
	hd, ok, err := h.state().GetHold(ctx, id)
	if err != nil || !ok || !hd.Paused() {
		return Hold{}, false
	}
	return hd, true
}
