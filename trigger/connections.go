package trigger

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/flowrun/flowrun/run"
)

// Named connections: `flowrun serve --connections DIR` hosts the triggers of
// several connections (one file per connection in DIR, named by the file's
// name) in one process. A trigger remembers the name of the connection it
// was turned on with (Trigger.Connection), and each connection is served by
// its own Host: its own Runner (so its own OAuth token source and
// rate-limit budget), its own poll scheduler, holds and key claims. The
// hosts share the listener, the state store, the group committer, the sink
// and the metrics (see Host.Peers).

// migrationConnections (schema version 5) records each trigger's named
// connection, and each run's. A trigger is unique per project, connection,
// flow and input (two accounts may poll the same flow with the same input),
// so the triggers table is rebuilt: SQLite cannot change a table's UNIQUE
// constraint in place. Foreign keys are off while migrations run (see
// migrate); the rows that reference triggers keep their ids.
const migrationConnections = `
CREATE TABLE triggers_v5 (
	id          TEXT PRIMARY KEY,
	project     TEXT NOT NULL,
	connection  TEXT NOT NULL DEFAULT '',    -- the named connection; '' for --connection FILE
	flow        TEXT NOT NULL,
	kind        TEXT NOT NULL CHECK (kind IN ('webhook', 'poll')),
	input       TEXT NOT NULL,               -- canonical JSON
	secret      TEXT NOT NULL DEFAULT '',
	created_at  INTEGER NOT NULL,            -- unix nanoseconds
	last_run_at INTEGER,                     -- unix nanoseconds; NULL before the first run
	delivered   INTEGER NOT NULL DEFAULT 0,
	last_error  TEXT NOT NULL DEFAULT '',
	max_memory  INTEGER NOT NULL DEFAULT 0,  -- bytes; 0: the host's budget (version 4, budget.go)
	UNIQUE (project, connection, flow, input)
);
INSERT INTO triggers_v5 (id, project, flow, kind, input, secret, created_at, last_run_at, delivered, last_error, max_memory)
	SELECT id, project, flow, kind, input, secret, created_at, last_run_at, delivered, last_error, max_memory FROM triggers;
DROP TABLE triggers;
ALTER TABLE triggers_v5 RENAME TO triggers;
ALTER TABLE runs ADD COLUMN connection TEXT NOT NULL DEFAULT '';
`

// foreignKeyCheck fails when a row references a missing parent (after a
// migration step that ran with foreign keys off).
func foreignKeyCheck(ctx context.Context, tx *sql.Tx) error {
	rows, err := tx.QueryContext(ctx, "PRAGMA foreign_key_check")
	if err != nil {
		return err
	}
	defer rows.Close()
	var bad []string
	for rows.Next() {
		var table, parent string
		var rowid sql.NullInt64
		var fkid int
		if err := rows.Scan(&table, &rowid, &parent, &fkid); err != nil {
			return err
		}
		bad = append(bad, fmt.Sprintf("%s row %d references a missing %s", table, rowid.Int64, parent))
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if len(bad) > 0 {
		return fmt.Errorf("foreign keys broken: %s", strings.Join(bad, "; "))
	}
	return nil
}

// onConnection is " on connection NAME" for messages, "" without a name.
func onConnection(name string) string {
	if name == "" {
		return ""
	}
	return " on connection " + name
}

// owns reports whether t is this host's to run: a trigger of its project
// turned on with its named connection (or, for the --connection FILE
// host, with none).
func (h *Host) owns(t *Trigger) bool {
	return t.Project == h.project().Connector.Name && t.Connection == h.Named && h.retired.Load() == nil
}

// ownsConnection refuses a trigger of the host's project that runs with
// another connection: its register and deregister steps ran with that
// connection's credentials, so must everything else.
func (h *Host) ownsConnection(t *Trigger) error {
	if t.Connection == h.Named {
		return nil
	}
	if t.Connection == "" {
		return &run.RequestError{Msg: fmt.Sprintf("trigger %s was turned on with --connection FILE, not a named connection: use --connection FILE without --connections", t.ID)}
	}
	return &run.RequestError{Msg: fmt.Sprintf("trigger %s runs with connection %q: use --connections DIR (its connection is picked from the trigger)", t.ID, t.Connection)}
}

// hostOf is the host among h and its peers that runs t, or nil.
func (h *Host) hostOf(t *Trigger) *Host {
	if h.owns(t) {
		return h
	}
	for _, p := range h.peerList() {
		if p.owns(t) {
			return p
		}
	}
	return nil
}

// setGroup shares the group committer with the peers (nil: none).
func (h *Host) setGroup(g *GroupCommitter) {
	h.group.Store(g)
	for _, p := range h.peerList() {
		p.group.Store(g)
	}
}

// schedulePeers runs each peer's poll scheduler until stop is done; each
// peer has its own, so a peer whose polls are slow or failing delays no
// other's. The schedulers share one listing of the triggers, so that many
// connections do not each read every trigger every 10 seconds.
func (h *Host) schedulePeers(stop, runCtx context.Context, wg *sync.WaitGroup) {
	peers := h.peerList()
	if len(peers) == 0 {
		return
	}
	l := &triggerListing{}
	h.listing = l
	for _, p := range peers {
		p.listing = l
	}
	for _, p := range peers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p.schedule(stop, runCtx, wg)
		}()
	}
}

// triggerListing is the trigger list the schedulers of a host and its
// peers share: read from the store at most once per listingTTL.
type triggerListing struct {
	mu sync.Mutex
	at time.Time
	ts []*Trigger // read only: the schedulers only look
}

const listingTTL = 2 * time.Second

// listTriggers is the store's trigger list for the scheduler: shared with
// the peers while Serve runs, else read each time. A failed read is not
// kept: the next scheduler to ask reads again.
func (h *Host) listTriggers(ctx context.Context) ([]*Trigger, error) {
	l := h.listing
	if l == nil {
		return h.state().ListTriggers(ctx)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.at.IsZero() && time.Since(l.at) < listingTTL {
		return l.ts, nil
	}
	ts, err := h.state().ListTriggers(ctx)
	if err != nil {
		return nil, err
	}
	l.ts, l.at = ts, time.Now()
	return ts, nil
}

// flushRejects writes the summaries of refused deliveries, the peers' too.
func (h *Host) flushRejects(final bool) {
	h.rejects().flush(h.now(), final)
	for _, p := range h.peerList() {
		p.rejects().flush(p.now(), final)
	}
}

// startEntering lets enter take deliveries, on the peers too.
func (h *Host) startEntering() {
	for _, x := range append([]*Host{h}, h.peerList()...) {
		x.wgMu.Lock()
		x.stopped = false
		x.wgMu.Unlock()
	}
}

// stopEntering makes enter refuse new deliveries, on the peers too.
func (h *Host) stopEntering() {
	for _, x := range append([]*Host{h}, h.peerList()...) {
		x.wgMu.Lock()
		x.stopped = true
		x.wgMu.Unlock()
	}
}

// waitHandlers waits for the deliveries in flight, the peers' too.
func (h *Host) waitHandlers() {
	h.wg.Wait()
	for _, p := range h.peerList() {
		p.wg.Wait()
	}
}
