package trigger

import (
	"context"
	"database/sql"
	"sync"
)

// The commit path runs the same few statements for every run (one run per
// webhook delivery or poll); parsing them again each time was a fifth of
// serve's CPU under load, all of it in the group committer's one
// goroutine. So the statements of commitTx and insertRun are prepared once
// on the writer connection and reused inside each transaction
// (sql.Tx.StmtContext reuses a statement prepared on the transaction's
// connection). A statement is prepared after the first transaction that
// ran it has ended: preparing on the single writer connection while a
// transaction holds it would wait forever.

// stmtCache holds a Store's prepared commit statements by their text.
type stmtCache struct {
	stmts  sync.Map // query -> *sql.Stmt
	mu     sync.Mutex
	wanted map[string]bool // run unprepared: prepared after the transaction
}

// cachedTx is a transaction whose ExecContext, QueryRowContext and
// PrepareContext use the Store's prepared statements; with a nil cache it
// is the plain transaction.
type cachedTx struct {
	*sql.Tx
	c *stmtCache
}

func (s *Store) cachedTx(tx *sql.Tx) cachedTx { return cachedTx{Tx: tx, c: &s.stmtCache} }

func (t cachedTx) stmt(ctx context.Context, query string) *sql.Stmt {
	if t.c == nil {
		return nil
	}
	if st, ok := t.c.stmts.Load(query); ok {
		return t.Tx.StmtContext(ctx, st.(*sql.Stmt))
	}
	t.c.mu.Lock()
	if t.c.wanted == nil {
		t.c.wanted = map[string]bool{}
	}
	t.c.wanted[query] = true
	t.c.mu.Unlock()
	return nil
}

func (t cachedTx) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if st := t.stmt(ctx, query); st != nil {
		return st.ExecContext(ctx, args...)
	}
	return t.Tx.ExecContext(ctx, query, args...)
}

func (t cachedTx) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if st := t.stmt(ctx, query); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return t.Tx.QueryRowContext(ctx, query, args...)
}

func (t cachedTx) PrepareContext(ctx context.Context, query string) (*sql.Stmt, error) {
	if st := t.stmt(ctx, query); st != nil {
		return st, nil
	}
	return t.Tx.PrepareContext(ctx, query)
}

// prepareWanted prepares the statements that ran unprepared; call it with
// no transaction open on this goroutine. A failure leaves them unprepared.
func (s *Store) prepareWanted(ctx context.Context) {
	c := &s.stmtCache
	c.mu.Lock()
	wanted := c.wanted
	c.wanted = nil
	c.mu.Unlock()
	for q := range wanted {
		if _, ok := c.stmts.Load(q); ok {
			continue
		}
		st, err := s.w.PrepareContext(ctx, q)
		if err != nil {
			continue
		}
		if _, loaded := c.stmts.LoadOrStore(q, st); loaded {
			st.Close()
		}
	}
}

// closeStmts closes the prepared statements (Store.Close).
func (s *Store) closeStmts() {
	s.stmtCache.stmts.Range(func(k, v any) bool {
		v.(*sql.Stmt).Close()
		s.stmtCache.stmts.Delete(k)
		return true
	})
}
