-- The audit history gains `judge`: a challenger judged against the
-- champion by the model's gates (champion/challenger after a triggered
-- retraining), the verdict and the gates' numbers in `detail`. SQLite
-- cannot alter a CHECK constraint: the table is rebuilt, rows kept as
-- they were, ids included.
DROP TRIGGER model_audit_no_update;
DROP TRIGGER model_audit_no_delete;
DROP INDEX model_audit_by_name;
ALTER TABLE model_audit RENAME TO model_audit_before_judge;

CREATE TABLE model_audit (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    name         TEXT NOT NULL,
    at           TEXT NOT NULL,
    actor        TEXT NOT NULL,
    action       TEXT NOT NULL CHECK (action IN ('register', 'promote', 'rollback', 'route', 'judge')),
    alias        TEXT,
    from_version INTEGER,
    to_version   INTEGER,
    forced       INTEGER NOT NULL DEFAULT 0,
    reason       TEXT NOT NULL DEFAULT '',
    detail       TEXT NOT NULL DEFAULT ''
);

INSERT INTO model_audit (id, name, at, actor, action, alias, from_version, to_version, forced, reason, detail)
SELECT id, name, at, actor, action, alias, from_version, to_version, forced, reason, detail
FROM model_audit_before_judge;

DROP TABLE model_audit_before_judge;

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
