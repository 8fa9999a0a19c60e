-- Claim check (engine/temporal/claimcheck.go): payloads larger than the
-- workers' --large-payload are kept here instead of in Temporal's history,
-- by the SHA-256 of their content, so a retried encode writes the same row.
-- created_at is renewed by every write; blobs older than the history that
-- refers to them are deleted by `flowrun worker --blob-retention`.
CREATE TABLE payload_blobs (
	key TEXT PRIMARY KEY,
	data BYTEA NOT NULL,
	created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX payload_blobs_created_at ON payload_blobs (created_at);
