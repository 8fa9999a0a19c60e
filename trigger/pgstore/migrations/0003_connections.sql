-- Named connections (trigger/connections.go, SQLite schema version 5): each
-- trigger and run records the connection it runs with ('' for a trigger
-- turned on with --connection FILE), and a trigger is unique per project,
-- connection, flow and input.
ALTER TABLE triggers ADD COLUMN connection TEXT NOT NULL DEFAULT '';
ALTER TABLE triggers DROP CONSTRAINT triggers_project_flow_input_key;
ALTER TABLE triggers ADD CONSTRAINT triggers_project_connection_flow_input_key UNIQUE (project, connection, flow, input);
ALTER TABLE runs ADD COLUMN connection TEXT NOT NULL DEFAULT '';
