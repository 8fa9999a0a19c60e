-- flowrun trigger state on Postgres: the same tables as the SQLite store
-- (trigger/store.go), with timestamps as timestamptz.
CREATE TABLE triggers (
	id          TEXT PRIMARY KEY,
	project     TEXT NOT NULL,
	flow        TEXT NOT NULL,
	kind        TEXT NOT NULL CHECK (kind IN ('webhook', 'poll')),
	input       TEXT NOT NULL,
	secret      TEXT NOT NULL DEFAULT '',
	created_at  TIMESTAMPTZ NOT NULL,
	last_run_at TIMESTAMPTZ,
	delivered   BIGINT NOT NULL DEFAULT 0,
	last_error  TEXT NOT NULL DEFAULT '',
	UNIQUE (project, flow, input)
);
CREATE TABLE registrations (
	trigger_id TEXT PRIMARY KEY REFERENCES triggers (id) ON DELETE CASCADE,
	data       TEXT NOT NULL,
	updated_at TIMESTAMPTZ NOT NULL
);
CREATE TABLE cursors (
	trigger_id TEXT PRIMARY KEY REFERENCES triggers (id) ON DELETE CASCADE,
	cursor     TEXT NOT NULL,
	updated_at TIMESTAMPTZ NOT NULL
);
CREATE TABLE dedupe_keys (
	id         BIGSERIAL PRIMARY KEY,
	trigger_id TEXT NOT NULL REFERENCES triggers (id) ON DELETE CASCADE,
	key        TEXT NOT NULL,
	UNIQUE (trigger_id, key)
);
CREATE INDEX dedupe_keys_age ON dedupe_keys (trigger_id, id);
CREATE TABLE runs (
	id          BIGSERIAL PRIMARY KEY,
	trigger_id  TEXT NOT NULL,
	project     TEXT NOT NULL,
	flow        TEXT NOT NULL,
	started_at  TIMESTAMPTZ NOT NULL,
	duration_ns BIGINT NOT NULL,
	events      INTEGER NOT NULL,
	status      TEXT NOT NULL CHECK (status IN ('ok', 'error')),
	error       TEXT NOT NULL DEFAULT ''
);
CREATE INDEX runs_by_trigger ON runs (trigger_id, id);
CREATE TABLE holds (
	trigger_id TEXT PRIMARY KEY REFERENCES triggers (id) ON DELETE CASCADE,
	code       TEXT NOT NULL,
	reason     TEXT NOT NULL DEFAULT '',
	since      TIMESTAMPTZ NOT NULL,
	until      TIMESTAMPTZ,
	failures   INTEGER NOT NULL DEFAULT 0,
	connection TEXT NOT NULL DEFAULT ''
);
