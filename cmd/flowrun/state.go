package main

import (
	"context"
	"strings"

	"github.com/flowrun/flowrun/trigger"
	"github.com/flowrun/flowrun/trigger/pgstore"
)

// isPostgres reports whether --state names a Postgres database rather than
// a directory.
func isPostgres(state string) bool {
	return strings.HasPrefix(state, "postgres://") || strings.HasPrefix(state, "postgresql://")
}

// openStateStore opens --state: a Postgres database (opened and migrated)
// or a state directory (SQLite). sqlite is nil for Postgres.
func openStateStore(ctx context.Context, state string) (st trigger.StateStore, sqlite *trigger.Store, closeFn func(), err error) {
	if state == "" {
		return nil, nil, nil, usageErr("--state DIR (or postgres://...) is required")
	}
	if isPostgres(state) {
		pg, err := pgstore.Open(ctx, state)
		if err != nil {
			return nil, nil, nil, &exitError{code: exitFailed, msg: err.Error()}
		}
		return pg, nil, func() { pg.Close() }, nil
	}
	s, err := trigger.Open(state)
	if err != nil {
		return nil, nil, nil, &exitError{code: exitUsage, msg: err.Error()}
	}
	return s, s, func() { s.Close() }, nil
}
