-- Housekeeping (`sluice models archive`, `sluice runs delete|prune`): a
-- version can be archived (hidden from listings, holding no alias, its
-- run no longer kept for it), and the audit history records archiving and
-- unarchiving. SQLite cannot alter a CHECK constraint: the audit table is
-- rebuilt, rows kept as they were, ids included.

-- When the version was archived (RFC 3339, UTC); NULL while it is live.
ALTER TABLE model_versions ADD COLUMN archived_at TEXT;

DROP TRIGGER model_audit_no_update;
DROP TRIGGER model_audit_no_delete;
DROP INDEX model_audit_by_name;
ALTER TABLE model_audit RENAME TO model_audit_before_archive;

CREATE TABLE model_audit (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    name         TEXT NOT NULL,
    at           TEXT NOT NULL,
    actor        TEXT NOT NULL,
    action       TEXT NOT NULL CHECK (action IN ('register', 'promote', 'rollback', 'route', 'judge',
                                                 'archive', 'unarchive')),
    alias        TEXT,
    from_version INTEGER,
    to_version   INTEGER,
    forced       INTEGER NOT NULL DEFAULT 0,
    reason       TEXT NOT NULL DEFAULT '',
    detail       TEXT NOT NULL DEFAULT ''
);

INSERT INTO model_audit (id, name, at, actor, action, alias, from_version, to_version, forced, reason, detail)
SELECT id, name, at, actor, action, alias, from_version, to_version, forced, reason, detail
FROM model_audit_before_archive;

DROP TABLE model_audit_before_archive;

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

-- Runs are deleted by id; their steps, io, metrics and trials go with
-- them (foreign keys). The cache and lineage look steps up by the run a
-- cached step was taken from.
CREATE INDEX IF NOT EXISTS step_runs_by_cached_from ON step_runs (cached_from);
CREATE INDEX IF NOT EXISTS model_versions_by_run ON model_versions (run_id);
