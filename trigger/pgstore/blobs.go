package pgstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// PutBlob keeps data under key (the claim check's SHA-256 of the payload).
// Writing a key again replaces its data and renews its time, so a payload
// written again (a retried task, the same content in a later run) outlives
// the retention counted from its last write.
func (s *Store) PutBlob(ctx context.Context, key string, data []byte) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO payload_blobs (key, data) VALUES ($1, $2)
		ON CONFLICT (key) DO UPDATE SET data = EXCLUDED.data, created_at = now()`, key, data)
	if err != nil {
		return fmt.Errorf("state database: put blob %s: %w", key, err)
	}
	return nil
}

// GetBlob returns the data kept under key; found is false when there is none.
func (s *Store) GetBlob(ctx context.Context, key string) (data []byte, found bool, err error) {
	err = s.pool.QueryRow(ctx, `SELECT data FROM payload_blobs WHERE key = $1`, key).Scan(&data)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("state database: get blob %s: %w", key, err)
	}
	return data, true, nil
}

// DeleteBlobsBefore deletes the blobs last written before t and returns how
// many it deleted.
func (s *Store) DeleteBlobsBefore(ctx context.Context, t time.Time) (int64, error) {
	tag, err := s.pool.Exec(ctx, `DELETE FROM payload_blobs WHERE created_at < $1`, t)
	if err != nil {
		return 0, fmt.Errorf("state database: delete blobs: %w", err)
	}
	return tag.RowsAffected(), nil
}
