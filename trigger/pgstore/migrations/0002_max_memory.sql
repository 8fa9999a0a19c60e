-- the per-trigger memory budget (trigger/budget.go); 0 means the host's.
ALTER TABLE triggers ADD COLUMN max_memory BIGINT NOT NULL DEFAULT 0;
