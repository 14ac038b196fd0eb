-- Traffic policies of served models (`[models.NAME.serving]`, `sluice
-- models route`), and their changes in the audit history.

-- The policy in force (JSON), NULL for none: requests for the bare name go
-- to the `production` alias.
ALTER TABLE models ADD COLUMN serving_json TEXT;
-- The policy a pipeline file last declared (JSON): a registration applies
-- a declaration only when it differs from this, so a route changed with
-- `sluice models route` survives runs of an unchanged file.
ALTER TABLE models ADD COLUMN serving_declared_json TEXT;

-- The audit history gains `route` and a detail (the new policy). SQLite
-- cannot alter a CHECK constraint: the table is rebuilt, rows kept as
-- they were, ids included.
DROP TRIGGER model_audit_no_update;
DROP TRIGGER model_audit_no_delete;
DROP INDEX model_audit_by_name;
ALTER TABLE model_audit RENAME TO model_audit_before_routes;

CREATE TABLE model_audit (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    name         TEXT NOT NULL,
    at           TEXT NOT NULL,
    actor        TEXT NOT NULL,
    action       TEXT NOT NULL CHECK (action IN ('register', 'promote', 'rollback', 'route')),
    alias        TEXT,
    from_version INTEGER,
    to_version   INTEGER,
    forced       INTEGER NOT NULL DEFAULT 0,
    reason       TEXT NOT NULL DEFAULT '',
    detail       TEXT NOT NULL DEFAULT ''
);

INSERT INTO model_audit (id, name, at, actor, action, alias, from_version, to_version, forced, reason)
SELECT id, name, at, actor, action, alias, from_version, to_version, forced, reason
FROM model_audit_before_routes;

DROP TABLE model_audit_before_routes;

CREATE INDEX model_audit_by_name ON model_audit (name, id);

-- Append-only: history is never rewritten.
CREATE TRIGGER model_audit_no_update BEFORE UPDATE ON model_audit
BEGIN
    SELECT RAISE(ABORT, 'model_audit is append-only');
END;

CREATE TRIGGER model_audit_no_delete BEFORE DELETE ON model_audit
BEGIN
    SELECT RAISE(ABORT, 'model_audit is append-only');
END;
