package trigger

import (
	"context"
	"fmt"
	"slices"
	"sync"
)

// Group commit: deliveries and polls that finish together share one SQLite
// transaction (one fsync of the WAL) for their dedupe keys, cursors and
// history rows, instead of one each. Nothing is weakened: a caller of
// GroupCommitter.Commit gets its answer only after the transaction holding
// its commit is durable, so a 2xx still follows the commit.

// BatchItem is one run's commit in a CommitBatch.
type BatchItem struct {
	TriggerID string
	Commit    RunCommit
}

// CommitBatch commits several runs in one transaction. Each item is
// applied inside its own savepoint, so an item that fails (an unknown
// trigger, a cursor over the limit) is left out and reported in its error
// slot while the others commit. ids[i] is item i's run-history id.
func (s *Store) CommitBatch(ctx context.Context, items []BatchItem) (ids []int64, errs []error, err error) {
	ids = make([]int64, len(items))
	errs = make([]error, len(items))
	ptx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return nil, nil, fmt.Errorf("commit batch: %w", err)
	}
	defer ptx.Rollback()
	tx := s.cachedTx(ptx)
	// the triggers committed to, in order, with the keys and runs added:
	// each is pruned at most once, after its items (pruneTx), and only
	// once enough rows have been added since its last prune (pruneDue)
	type pruned struct {
		id         string
		keys, runs int
	}
	var prune []pruned
	for i, it := range items {
		pc, perr := s.prepareCommit(it.TriggerID, it.Commit)
		if perr != nil {
			errs[i] = perr
			continue
		}
		if _, err := tx.ExecContext(ctx, "SAVEPOINT item"); err != nil {
			return nil, nil, fmt.Errorf("commit batch: %w", err)
		}
		id, cerr := commitTx(ctx, tx, it.TriggerID, it.Commit, pc)
		if cerr != nil {
			errs[i] = cerr
			if _, err := tx.ExecContext(ctx, "ROLLBACK TO item"); err != nil {
				return nil, nil, fmt.Errorf("commit batch: %w", err)
			}
		} else {
			j := slices.IndexFunc(prune, func(p pruned) bool { return p.id == it.TriggerID })
			if j < 0 {
				prune = append(prune, pruned{id: it.TriggerID})
				j = len(prune) - 1
			}
			prune[j].keys += len(it.Commit.Keys)
			prune[j].runs++
		}
		if _, err := tx.ExecContext(ctx, "RELEASE item"); err != nil {
			return nil, nil, fmt.Errorf("commit batch: %w", err)
		}
		ids[i] = id
	}
	for _, p := range prune {
		keys, runs := s.pruneDue(p.id, p.keys, p.runs)
		if !keys && !runs {
			continue
		}
		if err := pruneTx(ctx, tx, p.id, keys, s.maxKeys(), s.maxRuns()); err != nil {
			return nil, nil, fmt.Errorf("commit batch: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return nil, nil, fmt.Errorf("commit batch: %w", err)
	}
	s.prepareWanted(ctx)
	return ids, errs, nil
}

// MaxBatch is the most commits a GroupCommitter puts in one transaction.
const MaxBatch = 256

// GroupCommitter batches concurrent Commit calls into CommitBatch
// transactions: while one transaction is being written, the commits that
// arrive queue up and go together in the next. A lone commit is not
// delayed. Start it with NewGroupCommitter; Close stops it.
type GroupCommitter struct {
	st     *Store
	reqs   chan *commitReq
	done   chan struct{}
	mu     sync.RWMutex
	closed bool

	// Batches and Commits count transactions and commits (for tests and
	// the benchmark); read them after Close.
	Batches, Commits int
}

type commitReq struct {
	ctx   context.Context
	item  BatchItem
	id    int64
	err   error
	ready chan struct{}
}

// NewGroupCommitter starts a committer for st.
func NewGroupCommitter(st *Store) *GroupCommitter {
	g := &GroupCommitter{st: st, reqs: make(chan *commitReq, MaxBatch), done: make(chan struct{})}
	go g.loop()
	return g
}

// Commit is Store.CommitRun through the group: it returns once the
// transaction that holds this commit is durable.
func (g *GroupCommitter) Commit(ctx context.Context, triggerID string, c RunCommit) (int64, error) {
	r := &commitReq{ctx: ctx, item: BatchItem{TriggerID: triggerID, Commit: c}, ready: make(chan struct{})}
	g.mu.RLock()
	if g.closed {
		g.mu.RUnlock()
		return g.st.CommitRun(ctx, triggerID, c)
	}
	g.reqs <- r
	g.mu.RUnlock()
	<-r.ready
	return r.id, r.err
}

// Close stops the committer after the queued commits are written.
func (g *GroupCommitter) Close() {
	g.mu.Lock()
	if !g.closed {
		g.closed = true
		close(g.reqs)
	}
	g.mu.Unlock()
	<-g.done
}

func (g *GroupCommitter) loop() {
	defer close(g.done)
	for first := range g.reqs {
		batch := []*commitReq{first}
	more:
		for len(batch) < MaxBatch {
			select {
			case r, ok := <-g.reqs:
				if !ok {
					break more
				}
				batch = append(batch, r)
			default:
				break more
			}
		}
		items := make([]BatchItem, len(batch))
		for i, r := range batch {
			items[i] = r.item
		}
		ids, errs, err := g.st.CommitBatch(context.WithoutCancel(first.ctx), items)
		g.Batches++
		g.Commits += len(batch)
		for i, r := range batch {
			if err != nil {
				r.err = err
			} else {
				r.id, r.err = ids[i], errs[i]
			}
			close(r.ready)
		}
	}
}

// commit saves a run's outcome: through the group committer while Serve
// runs with GroupCommit set, else directly.
func (h *Host) commit(ctx context.Context, triggerID string, c RunCommit) (int64, error) {
	if h.State != nil { // another StateStore (Postgres): no run history there yet
		return 0, h.State.Commit(ctx, triggerID, c)
	}
	if g := h.group.Load(); g != nil {
		return g.Commit(ctx, triggerID, c)
	}
	return h.Store.CommitRun(ctx, triggerID, c)
}

// keyClaims are the dedupe and replay keys of the deliveries in flight,
// per trigger: a delivery claims all its keys at once (so two deliveries
// cannot each hold a key the other waits for) and waits while any of them
// is held by another.
type keyClaims struct {
	mu   sync.Mutex
	cond *sync.Cond
	held map[string]bool // trigger id + "\x00" + key
}

// claim takes the keys of trigger id, waiting while any is held; the
// returned func gives them back.
func (c *keyClaims) claim(id string, keys []string) func() {
	if len(keys) == 0 {
		return func() {}
	}
	full := make([]string, len(keys))
	for i, k := range keys {
		full[i] = id + "\x00" + k
	}
	c.mu.Lock()
	if c.cond == nil {
		c.cond = sync.NewCond(&c.mu)
		c.held = map[string]bool{}
	}
	for c.anyHeld(full) {
		c.cond.Wait()
	}
	for _, k := range full {
		c.held[k] = true
	}
	c.mu.Unlock()
	return func() {
		c.mu.Lock()
		for _, k := range full {
			delete(c.held, k)
		}
		c.mu.Unlock()
		c.cond.Broadcast()
	}
}

func (c *keyClaims) anyHeld(keys []string) bool {
	for _, k := range keys {
		if c.held[k] {
			return true
		}
	}
	return false
}

// pruneSlack is how many rows over its bound (a trigger's dedupe keys or
// runs) a batch may leave before it prunes them: a 64th of the bound, at
// least 1. Each prune walks the bound's index entries, so pruning after
// every batch cost a quarter of serve's CPU at 32 deliveries at a time;
// keeping up to 1/64 more keys than asked only widens the dedupe window.
func pruneSlack(bound int) int { return max(1, bound/64) }

// pruneDue adds a batch's keys and runs to a trigger's count since its last
// prune and reports whether the keys (and so the runs too, which are pruned
// with them) are to be pruned now, resetting the count of what is.
func (s *Store) pruneDue(id string, keys, runs int) (pruneKeys, pruneRuns bool) {
	s.debtMu.Lock()
	defer s.debtMu.Unlock()
	if s.debt == nil {
		s.debt = map[string][2]int{}
	}
	d := s.debt[id]
	d[0] += keys
	d[1] += runs
	pruneKeys = d[0] > 0 && d[0] >= pruneSlack(s.maxKeys())
	pruneRuns = pruneKeys || d[1] >= pruneSlack(s.maxRuns())
	if pruneKeys {
		d[0] = 0
	}
	if pruneRuns {
		d[1] = 0
	}
	s.debt[id] = d
	return pruneKeys, pruneRuns
}
