package trigger

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"modernc.org/sqlite" // registers the pure-Go "sqlite" database/sql driver
)

// MaxCursorBytes is the largest poll cursor, as JSON, that Commit accepts.
const MaxCursorBytes = 10 << 10

// DefaultMaxDedupeKeys is how many dedupe keys a Store keeps per trigger
// unless Store.MaxDedupeKeys says otherwise.
const DefaultMaxDedupeKeys = 10_000

// DefaultMaxRuns is how many run-history rows a Store keeps per trigger
// unless Store.MaxRuns says otherwise.
const DefaultMaxRuns = 1_000

// StateFile is the name of the database file Open uses inside its directory.
const StateFile = "state.db"

// schemaVersion is the PRAGMA user_version this code writes; see migrations.
const schemaVersion = 5

var (
	// ErrNotFound is returned (wrapped) when a trigger id is not in the store.
	ErrNotFound = errors.New("trigger not found")
	// ErrExists is returned (wrapped) by CreateTrigger when a trigger with the
	// same id, or the same project, flow and input, is already on.
	ErrExists = errors.New("trigger already exists")
	// ErrCursorTooLarge is matched (errors.Is) by a *CursorTooLargeError.
	ErrCursorTooLarge = errors.New("cursor over the 10 KiB limit")
)

// CursorTooLargeError is Commit's error for a cursor over MaxCursorBytes.
// Nothing is written when it is returned; the caller adds the flow name.
type CursorTooLargeError struct {
	Size int // the cursor's size in bytes
}

func (e *CursorTooLargeError) Error() string {
	return fmt.Sprintf("cursor is %d bytes, over the 10 KiB limit", e.Size)
}

// Is makes errors.Is(err, ErrCursorTooLarge) true.
func (e *CursorTooLargeError) Is(target error) bool { return target == ErrCursorTooLarge }

// Store is the trigger host's durable state: an SQLite database in WAL mode
// at DIR/state.db. It is safe for concurrent use by goroutines, and several
// processes may open the same directory: all writes go through one writer
// connection per process and begin with BEGIN IMMEDIATE under a busy timeout,
// so concurrent commits wait for each other instead of failing.
type Store struct {
	// MaxDedupeKeys bounds the dedupe keys kept per trigger; Commit prunes the
	// oldest beyond it in the same transaction (CommitBatch once 1/64 of it
	// has been added since the last prune, so a trigger keeps at most that
	// many more for a while). 0 means DefaultMaxDedupeKeys.
	// Set it before the Store is shared between goroutines.
	MaxDedupeKeys int
	// MaxRuns bounds the run-history rows kept per trigger, pruned like the
	// dedupe keys. 0 means DefaultMaxRuns. Set it before sharing the Store.
	MaxRuns int

	path string
	w    *sql.DB // exactly one connection: every write goes through it
	r    *sql.DB // read-only pool

	stmtCache stmtCache // the commit path's prepared statements (stmts.go)

	debtMu sync.Mutex
	debt   map[string][2]int // per trigger: keys and runs added since its last prune in a batch (commit.go)
}

// Trigger is one trigger that is on: a webhook or poll flow of a project,
// with the options (Input) it was turned on with and its saved state.
type Trigger struct {
	// ID is stable and unique, "<flow>-<8 random hex>" when CreateTrigger
	// makes it; it is also the webhook's URL path segment, so it holds only
	// letters, digits, '-', '_' and '.'.
	ID      string
	Project string // the connector (project) name
	// Connection names the connection the trigger runs with: a file name
	// (without extension) in serve's --connections directory. "" is a
	// trigger turned on with --connection FILE: it runs with the file serve
	// is given.
	Connection string
	Flow       string // the webhook or poll flow's name
	Kind       string // "webhook" or "poll"
	// Input is the trigger's options as a JSON object; stored in canonical
	// form (object keys sorted), and nil is stored as {}.
	Input json.RawMessage
	// Registration is what the webhook's register steps returned; nil for
	// polls and before registration.
	Registration json.RawMessage
	// Secret is the webhook secret generated for the trigger. It is stored
	// in the database (file mode 0600) and must never be printed; String
	// leaves it out.
	Secret string
	// Cursor is the poll cursor saved by the last Commit; nil = no cursor yet.
	Cursor    json.RawMessage
	CreatedAt time.Time
	LastRunAt time.Time // zero until the first Commit
	Delivered int64     // events delivered over all runs
	LastError string    // the last run's error; "" when it succeeded
	// MaxMemory is the memory budget of each of the trigger's runs, in
	// bytes; 0 means the host's (see budget.go).
	MaxMemory int64
}

// String describes the trigger without its secret, input or state, so that
// printing a Trigger (%v, %+v) cannot leak the secret.
func (t Trigger) String() string {
	return fmt.Sprintf("trigger %s (%s/%s, %s%s)", t.ID, t.Project, t.Flow, t.Kind, onConnection(t.Connection))
}

// RunCommit is the outcome of one run, saved by Commit.
type RunCommit struct {
	// Cursor is the new poll cursor: nil (or empty) leaves the saved cursor
	// unchanged, the JSON literal null clears it (the next run sees null).
	Cursor json.RawMessage
	// Keys are the dedupe keys of the delivered events; "" entries are ignored.
	Keys     []string
	Events   int // events delivered in this run
	Started  time.Time
	Duration time.Duration
	Status   string // "ok" or "error"; "" means "ok" when Error is "", else "error"
	Error    string
	// History: what started the run ("webhook", "poll", "replay"), its
	// steps (see StepRecorder), the run it replays, and for a failed run
	// what replaying it needs. All optional.
	Source       string
	Steps        []StepRecord
	StepsDropped int
	ReplayOf     int64
	Payload      *Payload
}

// Run is one row of a trigger's run history.
type Run struct {
	ID        int64 // increasing with time
	TriggerID string
	Project   string
	Flow      string
	Started   time.Time
	Duration  time.Duration
	Events    int
	Status    string // "ok" or "error"
	Error     string
}

// migrations[i] moves the schema from user_version i to i+1. Never edit a
// released entry; append a new one and bump schemaVersion.
var migrations = []string{
	`
CREATE TABLE triggers (
	id          TEXT PRIMARY KEY,
	project     TEXT NOT NULL,
	flow        TEXT NOT NULL,
	kind        TEXT NOT NULL CHECK (kind IN ('webhook', 'poll')),
	input       TEXT NOT NULL,               -- canonical JSON
	secret      TEXT NOT NULL DEFAULT '',
	created_at  INTEGER NOT NULL,            -- unix nanoseconds
	last_run_at INTEGER,                     -- unix nanoseconds; NULL before the first run
	delivered   INTEGER NOT NULL DEFAULT 0,
	last_error  TEXT NOT NULL DEFAULT '',
	UNIQUE (project, flow, input)
);
CREATE TABLE registrations (
	trigger_id TEXT PRIMARY KEY REFERENCES triggers (id) ON DELETE CASCADE,
	data       TEXT NOT NULL,                -- JSON
	updated_at INTEGER NOT NULL
);
CREATE TABLE cursors (
	trigger_id TEXT PRIMARY KEY REFERENCES triggers (id) ON DELETE CASCADE,
	cursor     TEXT NOT NULL,                -- JSON, at most 10 KiB
	updated_at INTEGER NOT NULL
);
CREATE TABLE dedupe_keys (
	id         INTEGER PRIMARY KEY AUTOINCREMENT, -- insertion order: lowest = oldest
	trigger_id TEXT NOT NULL REFERENCES triggers (id) ON DELETE CASCADE,
	key        TEXT NOT NULL,
	UNIQUE (trigger_id, key)
);
CREATE INDEX dedupe_keys_age ON dedupe_keys (trigger_id, id);
CREATE TABLE runs (                          -- no foreign key: history outlives its trigger
	id          INTEGER PRIMARY KEY AUTOINCREMENT,
	trigger_id  TEXT NOT NULL,
	project     TEXT NOT NULL,
	flow        TEXT NOT NULL,
	started_at  INTEGER NOT NULL,
	duration_ns INTEGER NOT NULL,
	events      INTEGER NOT NULL,
	status      TEXT NOT NULL CHECK (status IN ('ok', 'error')),
	error       TEXT NOT NULL DEFAULT ''
);
CREATE INDEX runs_by_trigger ON runs (trigger_id, id);
`,
	migrationHolds,       // version 2: see pause.go
	migrationHistory,     // version 3: see history.go
	migrationMaxMemory,   // version 4: see budget.go
	migrationConnections, // version 5: see connections.go
}

// SQLite primary result codes Open turns into a clearer message.
const (
	sqliteCorrupt = 11 // SQLITE_CORRUPT
	sqliteNotADB  = 26 // SQLITE_NOTADB
)

// Open opens (creating if needed) the state database DIR/state.db, creating
// DIR with mode 0700 and the file with mode 0600, and creates or migrates the
// schema. A file that is not a flowrun state database, or one written by a
// newer flowrun, is an error, never a panic.
func Open(dir string) (*Store, error) {
	if dir == "" {
		return nil, errors.New("open state database: no directory given")
	}
	path := filepath.Join(dir, StateFile)
	if strings.ContainsRune(path, '?') {
		return nil, fmt.Errorf("open state database %s: the path must not contain '?'", path)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("open state database: %w", err)
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open state database: %w", err)
	}
	f.Close()
	if fi, err := os.Stat(path); err == nil && fi.Mode().Perm()&0o077 != 0 {
		_ = os.Chmod(path, 0o600) // it holds webhook secrets; best effort
	}

	const common = "_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)"
	// temp_store(memory): the statement journal of CommitBatch's per-item
	// savepoints stays in memory instead of spilling to a temporary file
	// (a write syscall per page otherwise; it is not needed after a crash)
	w, err := sql.Open("sqlite", path+"?"+common+
		"&_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_pragma=temp_store(memory)&_txlock=immediate")
	if err != nil {
		return nil, openError(path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)

	s := &Store{path: path, w: w}
	if err := s.migrate(context.Background()); err != nil {
		w.Close()
		return nil, openError(path, err)
	}

	r, err := sql.Open("sqlite", path+"?"+common+"&_pragma=query_only(1)")
	if err != nil {
		w.Close()
		return nil, openError(path, err)
	}
	n := max(4, runtime.GOMAXPROCS(0))
	r.SetMaxOpenConns(n)
	r.SetMaxIdleConns(n)
	if err := r.Ping(); err != nil {
		w.Close()
		r.Close()
		return nil, openError(path, err)
	}
	s.r = r
	return s, nil
}

// openError words a failure to open or migrate the database for a user.
func openError(path string, err error) error {
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() & 0xff {
		case sqliteNotADB, sqliteCorrupt:
			return fmt.Errorf("state database %s is corrupt or not an SQLite database "+
				"(move it aside to start with empty state): %w", path, err)
		}
	}
	return fmt.Errorf("open state database %s: %w", path, err)
}

// migrate brings the schema to schemaVersion, one transaction per step.
// Foreign keys are off while it runs, so that a step may rebuild a table
// that others reference (SQLite's way to change a table's constraints);
// each step checks them before it commits.
func (s *Store) migrate(ctx context.Context) error {
	conn, err := s.w.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "PRAGMA foreign_keys = OFF"); err != nil {
		return err
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), "PRAGMA foreign_keys = ON")
	for {
		done, err := s.migrateOne(ctx, conn)
		if err != nil || done {
			return err
		}
	}
}

func (s *Store) migrateOne(ctx context.Context, conn *sql.Conn) (done bool, err error) {
	tx, err := conn.BeginTx(ctx, nil) // BEGIN IMMEDIATE: other processes wait
	if err != nil {
		return false, err
	}
	defer tx.Rollback()
	var v int
	if err := tx.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v); err != nil {
		return false, err
	}
	switch {
	case v == schemaVersion:
		return true, nil
	case v > schemaVersion || v < 0:
		return false, fmt.Errorf("schema version %d is newer than this flowrun supports (%d); upgrade flowrun", v, schemaVersion)
	}
	if v == 0 {
		// A database someone else made is not ours to add tables to.
		var n int
		if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM sqlite_schema").Scan(&n); err != nil {
			return false, err
		}
		if n != 0 {
			return false, errors.New("the database has tables but no flowrun schema version; it is not a flowrun state database")
		}
	}
	if _, err := tx.ExecContext(ctx, migrations[v]); err != nil {
		return false, fmt.Errorf("migrate schema to version %d: %w", v+1, err)
	}
	if err := foreignKeyCheck(ctx, tx); err != nil {
		return false, fmt.Errorf("migrate schema to version %d: %w", v+1, err)
	}
	if _, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", v+1)); err != nil {
		return false, err
	}
	return false, tx.Commit()
}

// Close closes the database. Committed state is durable whether or not
// Close is called.
func (s *Store) Close() error {
	s.closeStmts()
	return errors.Join(s.r.Close(), s.w.Close())
}

// Path is the database file's path.
func (s *Store) Path() string { return s.path }

// CreateTrigger saves a new trigger. An empty t.ID is filled in with
// "<flow>-<8 random hex>", a zero t.CreatedAt with now, and t.Input is
// replaced by its canonical form. It is an error (ErrExists) if the id is
// taken or a trigger of the same project and flow with the same input is on.
func (s *Store) CreateTrigger(ctx context.Context, t *Trigger) error {
	if t.Project == "" || t.Flow == "" {
		return errors.New("create trigger: project and flow are required")
	}
	if t.Kind != "webhook" && t.Kind != "poll" {
		return fmt.Errorf("create trigger: kind %q is not webhook or poll", t.Kind)
	}
	input, err := canonicalJSON(t.Input)
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
	if len(t.Cursor) > MaxCursorBytes {
		return &CursorTooLargeError{Size: len(t.Cursor)}
	}
	if t.MaxMemory < 0 {
		return fmt.Errorf("create trigger: %w", errNegativeBudget)
	}
	id := t.ID
	if id == "" {
		id = newID(t.Flow)
	} else if !validID(id) {
		return fmt.Errorf("create trigger: id %q may hold only letters, digits, '-', '_' and '.'", id)
	}
	created := t.CreatedAt
	if created.IsZero() {
		created = time.Now()
	}

	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("create trigger: %w", err)
	}
	defer tx.Rollback()
	var other string
	err = tx.QueryRowContext(ctx, `SELECT id FROM triggers WHERE id = ? OR (project = ? AND connection = ? AND flow = ? AND input = ?) LIMIT 1`,
		id, t.Project, t.Connection, t.Flow, input).Scan(&other)
	switch {
	case err == nil && other == id:
		return fmt.Errorf("create trigger: id %s: %w", id, ErrExists)
	case err == nil:
		return fmt.Errorf("create trigger: %s/%s%s with the same input is already on as %s: %w", t.Project, t.Flow, onConnection(t.Connection), other, ErrExists)
	case !errors.Is(err, sql.ErrNoRows):
		return fmt.Errorf("create trigger: %w", err)
	}
	var lastRun any
	if !t.LastRunAt.IsZero() {
		lastRun = t.LastRunAt.UnixNano()
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO triggers (id, project, connection, flow, kind, input, secret, created_at, last_run_at, delivered, last_error, max_memory)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		id, t.Project, t.Connection, t.Flow, t.Kind, input, t.Secret, created.UnixNano(), lastRun, t.Delivered, t.LastError, t.MaxMemory); err != nil {
		return fmt.Errorf("create trigger: %w", err)
	}
	now := time.Now().UnixNano()
	if t.Registration != nil {
		if _, err := tx.ExecContext(ctx, `INSERT INTO registrations (trigger_id, data, updated_at) VALUES (?, ?, ?)`,
			id, string(t.Registration), now); err != nil {
			return fmt.Errorf("create trigger: %w", err)
		}
	}
	if t.Cursor != nil && !isNull(t.Cursor) {
		if _, err := tx.ExecContext(ctx, `INSERT INTO cursors (trigger_id, cursor, updated_at) VALUES (?, ?, ?)`,
			id, string(t.Cursor), now); err != nil {
			return fmt.Errorf("create trigger: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("create trigger: %w", err)
	}
	t.ID, t.CreatedAt, t.Input = id, time.Unix(0, created.UnixNano()).UTC(), json.RawMessage(input)
	return nil
}

const selectTrigger = `SELECT t.id, t.project, t.connection, t.flow, t.kind, t.input, r.data, t.secret, c.cursor,
	t.created_at, t.last_run_at, t.delivered, t.last_error, t.max_memory
	FROM triggers t
	LEFT JOIN registrations r ON r.trigger_id = t.id
	LEFT JOIN cursors c ON c.trigger_id = t.id`

// GetTrigger returns the trigger with the given id, or an error wrapping
// ErrNotFound.
func (s *Store) GetTrigger(ctx context.Context, id string) (*Trigger, error) {
	ts, err := s.queryTriggers(ctx, selectTrigger+` WHERE t.id = ?`, id)
	if err != nil {
		return nil, err
	}
	if len(ts) == 0 {
		return nil, fmt.Errorf("trigger %s: %w", id, ErrNotFound)
	}
	return ts[0], nil
}

// FindTrigger returns the triggers of one flow of a project (any input),
// oldest first; none is an empty result, not an error.
func (s *Store) FindTrigger(ctx context.Context, project, flow string) ([]*Trigger, error) {
	return s.queryTriggers(ctx, selectTrigger+` WHERE t.project = ? AND t.flow = ? ORDER BY t.created_at, t.id`, project, flow)
}

// ListTriggers returns every trigger, oldest first.
func (s *Store) ListTriggers(ctx context.Context) ([]*Trigger, error) {
	return s.queryTriggers(ctx, selectTrigger+` ORDER BY t.created_at, t.id`)
}

func (s *Store) queryTriggers(ctx context.Context, query string, args ...any) ([]*Trigger, error) {
	rows, err := s.readQuery(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("read triggers: %w", err)
	}
	defer rows.Close()
	out := []*Trigger{}
	for rows.Next() {
		var (
			t        Trigger
			input    string
			reg, cur sql.NullString
			created  int64
			lastRun  sql.NullInt64
		)
		if err := rows.Scan(&t.ID, &t.Project, &t.Connection, &t.Flow, &t.Kind, &input, &reg, &t.Secret, &cur,
			&created, &lastRun, &t.Delivered, &t.LastError, &t.MaxMemory); err != nil {
			return nil, fmt.Errorf("read triggers: %w", err)
		}
		t.Input = json.RawMessage(input)
		if reg.Valid {
			t.Registration = json.RawMessage(reg.String)
		}
		if cur.Valid {
			t.Cursor = json.RawMessage(cur.String)
		}
		t.CreatedAt = time.Unix(0, created).UTC()
		if lastRun.Valid {
			t.LastRunAt = time.Unix(0, lastRun.Int64).UTC()
		}
		out = append(out, &t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read triggers: %w", err)
	}
	return out, nil
}

// DeleteTrigger removes a trigger with its registration, cursor and dedupe
// keys; its run history is kept. A missing id is ErrNotFound.
func (s *Store) DeleteTrigger(ctx context.Context, id string) error {
	res, err := s.w.ExecContext(ctx, `DELETE FROM triggers WHERE id = ?`, id) // cascades
	if err != nil {
		return fmt.Errorf("delete trigger %s: %w", id, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("delete trigger %s: %w", id, err)
	} else if n == 0 {
		return fmt.Errorf("trigger %s: %w", id, ErrNotFound)
	}
	return nil
}

// SetRegistration saves what a webhook's register steps returned; nil
// removes the saved registration. A missing id is ErrNotFound.
func (s *Store) SetRegistration(ctx context.Context, id string, reg json.RawMessage) error {
	if reg != nil && !json.Valid(reg) {
		return fmt.Errorf("set registration of %s: not valid JSON", id)
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("set registration of %s: %w", id, err)
	}
	defer tx.Rollback()
	if err := triggerExists(ctx, tx, id); err != nil {
		return err
	}
	if reg == nil {
		_, err = tx.ExecContext(ctx, `DELETE FROM registrations WHERE trigger_id = ?`, id)
	} else {
		_, err = tx.ExecContext(ctx, `INSERT INTO registrations (trigger_id, data, updated_at) VALUES (?, ?, ?)
			ON CONFLICT (trigger_id) DO UPDATE SET data = excluded.data, updated_at = excluded.updated_at`,
			id, string(reg), time.Now().UnixNano())
	}
	if err != nil {
		return fmt.Errorf("set registration of %s: %w", id, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("set registration of %s: %w", id, err)
	}
	return nil
}

func triggerExists(ctx context.Context, tx *sql.Tx, id string) error {
	var one int
	err := tx.QueryRowContext(ctx, `SELECT 1 FROM triggers WHERE id = ?`, id).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("trigger %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("trigger %s: %w", id, err)
	}
	return nil
}

// seenBatch keeps SeenKeys' IN lists well under SQLite's parameter limit.
const seenBatch = 500

// SeenKeys reports which of keys were already seen (saved by Commit) for the
// trigger, for dropping repeated events before delivery. The map holds only
// the keys that were seen, each mapped to true.
func (s *Store) SeenKeys(ctx context.Context, triggerID string, keys []string) (map[string]bool, error) {
	seen := map[string]bool{}
	for len(keys) > 0 {
		batch := keys[:min(len(keys), seenBatch)]
		keys = keys[len(batch):]
		args := make([]any, 0, len(batch)+1)
		args = append(args, triggerID)
		for _, k := range batch {
			args = append(args, k)
		}
		q := `SELECT key FROM dedupe_keys WHERE trigger_id = ? AND key IN (?` + strings.Repeat(", ?", len(batch)-1) + `)`
		query := s.r.QueryContext
		if len(batch) <= 8 { // the usual sizes (a delivery's keys) stay prepared
			query = s.readQuery
		}
		rows, err := query(ctx, q, args...)
		if err != nil {
			return nil, fmt.Errorf("read dedupe keys of %s: %w", triggerID, err)
		}
		for rows.Next() {
			var k string
			if err := rows.Scan(&k); err != nil {
				rows.Close()
				return nil, fmt.Errorf("read dedupe keys of %s: %w", triggerID, err)
			}
			seen[k] = true
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, fmt.Errorf("read dedupe keys of %s: %w", triggerID, err)
		}
	}
	return seen, nil
}

// Commit records the outcome of one run in one transaction: the new cursor
// (unless c.Cursor is nil), the dedupe keys of the delivered events (the
// oldest beyond MaxDedupeKeys pruned), the delivered-events counter, the last
// run time and error, and a run-history row. Call it only after the events
// were delivered. A cursor over MaxCursorBytes is a *CursorTooLargeError and,
// like every other error, leaves the store unchanged.
func (s *Store) Commit(ctx context.Context, triggerID string, c RunCommit) error {
	_, err := s.CommitRun(ctx, triggerID, c)
	return err
}

// CommitRun is Commit, returning the id of the run-history row it added.
func (s *Store) CommitRun(ctx context.Context, triggerID string, c RunCommit) (int64, error) {
	pc, err := s.prepareCommit(triggerID, c)
	if err != nil {
		return 0, err
	}
	fail := func(err error) error { return fmt.Errorf("commit run of %s: %w", triggerID, err) }

	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return 0, fail(err)
	}
	defer tx.Rollback()
	stx := s.cachedTx(tx)
	runID, err := commitTx(ctx, stx, triggerID, c, pc)
	if err != nil {
		return 0, err
	}
	if err := pruneTx(ctx, stx, triggerID, len(c.Keys) > 0, pc.maxKeys, pc.maxRuns); err != nil {
		return 0, err
	}
	if err := tx.Commit(); err != nil {
		return 0, fail(err)
	}
	s.prepareWanted(ctx)
	return runID, nil
}

// preparedCommit is a validated RunCommit's derived values.
type preparedCommit struct {
	status           string
	started          time.Time
	maxKeys, maxRuns int
}

// prepareCommit validates c (nothing is written) for Commit and CommitBatch.
func (s *Store) prepareCommit(triggerID string, c RunCommit) (preparedCommit, error) {
	status := c.Status
	if status == "" {
		status = "ok"
		if c.Error != "" {
			status = "error"
		}
	}
	if status != "ok" && status != "error" {
		return preparedCommit{}, fmt.Errorf("commit run of %s: status %q is not ok or error", triggerID, c.Status)
	}
	if len(c.Cursor) > MaxCursorBytes {
		return preparedCommit{}, &CursorTooLargeError{Size: len(c.Cursor)}
	}
	if len(c.Cursor) > 0 && !json.Valid(c.Cursor) {
		return preparedCommit{}, fmt.Errorf("commit run of %s: cursor is not valid JSON", triggerID)
	}
	if c.Events < 0 {
		return preparedCommit{}, fmt.Errorf("commit run of %s: negative event count %d", triggerID, c.Events)
	}
	started := c.Started
	if started.IsZero() {
		started = time.Now()
	}
	return preparedCommit{status, started, s.maxKeys(), s.maxRuns()}, nil
}

func (s *Store) maxKeys() int {
	if s.MaxDedupeKeys <= 0 {
		return DefaultMaxDedupeKeys
	}
	return s.MaxDedupeKeys
}

// commitTx is Commit's work inside tx, for a validated c, except pruning:
// the caller runs pruneTx for the trigger before committing.
func commitTx(ctx context.Context, tx cachedTx, triggerID string, c RunCommit, pc preparedCommit) (int64, error) {
	status, started := pc.status, pc.started
	fail := func(err error) error { return fmt.Errorf("commit run of %s: %w", triggerID, err) }
	var project, conn, flow string
	err := tx.QueryRowContext(ctx, `SELECT project, connection, flow FROM triggers WHERE id = ?`, triggerID).Scan(&project, &conn, &flow)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, fmt.Errorf("trigger %s: %w", triggerID, ErrNotFound)
	} else if err != nil {
		return 0, fail(err)
	}
	now := time.Now().UnixNano()

	switch {
	case len(c.Cursor) == 0:
	case isNull(c.Cursor):
		if _, err := tx.ExecContext(ctx, `DELETE FROM cursors WHERE trigger_id = ?`, triggerID); err != nil {
			return 0, fail(err)
		}
	default:
		if _, err := tx.ExecContext(ctx, `INSERT INTO cursors (trigger_id, cursor, updated_at) VALUES (?, ?, ?)
			ON CONFLICT (trigger_id) DO UPDATE SET cursor = excluded.cursor, updated_at = excluded.updated_at`,
			triggerID, string(c.Cursor), now); err != nil {
			return 0, fail(err)
		}
	}

	if len(c.Keys) > 0 {
		// REPLACE gives a key seen again a new id, so it counts as recent.
		ins, err := tx.PrepareContext(ctx, `INSERT OR REPLACE INTO dedupe_keys (trigger_id, key) VALUES (?, ?)`)
		if err != nil {
			return 0, fail(err)
		}
		defer ins.Close()
		for _, k := range c.Keys {
			if k == "" {
				continue
			}
			if _, err := ins.ExecContext(ctx, triggerID, k); err != nil {
				return 0, fail(err)
			}
		}
	}

	if _, err := tx.ExecContext(ctx, `UPDATE triggers SET delivered = delivered + ?, last_run_at = ?, last_error = ? WHERE id = ?`,
		c.Events, started.UnixNano(), c.Error, triggerID); err != nil {
		return 0, fail(err)
	}
	runID, err := insertRun(ctx, tx, &RunRecord{TriggerID: triggerID, Project: project, Connection: conn, Flow: flow, Source: c.Source,
		Started: started, Duration: c.Duration, Events: c.Events, Status: status, Error: c.Error,
		ReplayOf: c.ReplayOf, Steps: c.Steps, StepsDropped: c.StepsDropped}, c.Payload)
	if err != nil {
		return 0, fail(err)
	}
	return runID, nil
}

// History returns a trigger's runs, newest first, at most limit of them
// (limit <= 0: all that are kept). It works for deleted triggers too, and
// an unknown id has no history rather than an error.
func (s *Store) History(ctx context.Context, triggerID string, limit int) ([]Run, error) {
	if limit <= 0 {
		limit = -1 // SQLite: no limit
	}
	rows, err := s.r.QueryContext(ctx, `SELECT id, trigger_id, project, flow, started_at, duration_ns, events, status, error
		FROM runs WHERE trigger_id = ? ORDER BY id DESC LIMIT ?`, triggerID, limit)
	if err != nil {
		return nil, fmt.Errorf("read history of %s: %w", triggerID, err)
	}
	defer rows.Close()
	out := []Run{}
	for rows.Next() {
		var (
			r        Run
			started  int64
			duration int64
		)
		if err := rows.Scan(&r.ID, &r.TriggerID, &r.Project, &r.Flow, &started, &duration, &r.Events, &r.Status, &r.Error); err != nil {
			return nil, fmt.Errorf("read history of %s: %w", triggerID, err)
		}
		r.Started = time.Unix(0, started).UTC()
		r.Duration = time.Duration(duration)
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read history of %s: %w", triggerID, err)
	}
	return out, nil
}

// pruneTx bounds trigger id's dedupe keys (when keys were added) and run
// history inside tx. Each bound walks up to its limit of index entries
// (ORDER BY id DESC ... OFFSET limit), so CommitBatch prunes each trigger
// once per transaction rather than once per run: the newest keys and runs
// survive either way, since every run only adds newer ids.
func pruneTx(ctx context.Context, tx cachedTx, triggerID string, keys bool, maxKeys, maxRuns int) error {
	if keys {
		if _, err := tx.ExecContext(ctx, `DELETE FROM dedupe_keys WHERE trigger_id = ?1 AND id <=
			(SELECT id FROM dedupe_keys WHERE trigger_id = ?1 ORDER BY id DESC LIMIT 1 OFFSET ?2)`,
			triggerID, maxKeys); err != nil {
			return fmt.Errorf("commit run of %s: %w", triggerID, err)
		}
	}
	if err := pruneRuns(ctx, tx, triggerID, maxRuns); err != nil {
		return fmt.Errorf("commit run of %s: %w", triggerID, err)
	}
	return nil
}

// canonicalJSON returns raw re-encoded with object keys sorted and no
// insignificant space (numbers keep their literal form); empty raw is {}.
func canonicalJSON(raw json.RawMessage) (string, error) {
	if len(bytes.TrimSpace(raw)) == 0 {
		return "{}", nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return "", fmt.Errorf("not valid JSON: %w", err)
	}
	if dec.More() {
		return "", errors.New("not valid JSON: data after the value")
	}
	if v == nil {
		return "{}", nil
	}
	var out bytes.Buffer
	enc := json.NewEncoder(&out)
	enc.SetEscapeHTML(false) // keep "<", ">", "&" as they were
	if err := enc.Encode(v); err != nil {
		return "", err
	}
	return strings.TrimSuffix(out.String(), "\n"), nil
}

func isNull(raw json.RawMessage) bool {
	return string(bytes.TrimSpace(raw)) == "null"
}

// newID makes "<flow>-<8 random hex>", with the flow name reduced to the
// characters validID allows.
func newID(flow string) string {
	var b [4]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	name := strings.Map(func(r rune) rune {
		if idRune(r) {
			return r
		}
		return '_'
	}, flow)
	if len(name) > 64 {
		name = name[:64]
	}
	return name + "-" + hex.EncodeToString(b[:])
}

func idRune(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.'
}

// validID reports whether id is safe as a URL path segment.
func validID(id string) bool {
	if id == "" || id == "." || id == ".." || len(id) > 128 {
		return false
	}
	for _, r := range id {
		if !idRune(r) {
			return false
		}
	}
	return true
}
