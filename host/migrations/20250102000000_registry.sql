-- The model registry: named models, their versions (everything needed to
-- predict from raw features), aliases, and an append-only audit history.

CREATE TABLE models (
    name       TEXT PRIMARY KEY NOT NULL,
    -- Promotion gates, as declared with the model (JSON list of strings).
    gates_json TEXT NOT NULL DEFAULT '[]',
    created_at TEXT NOT NULL
);

CREATE TABLE model_versions (
    name             TEXT NOT NULL REFERENCES models (name),
    version          INTEGER NOT NULL,
    run_id           TEXT NOT NULL,
    step_id          TEXT NOT NULL,
    pipeline_name    TEXT NOT NULL,
    pipeline_version TEXT NOT NULL,
    pipeline_sha256  TEXT NOT NULL,
    -- The whole version as JSON: trainer, chain of fitted transforms,
    -- input schema, target, metrics, data digests.
    body_json        TEXT NOT NULL,
    created_at       TEXT NOT NULL,
    PRIMARY KEY (name, version),
    UNIQUE (name, run_id, step_id)
);

CREATE TABLE model_aliases (
    name       TEXT NOT NULL REFERENCES models (name),
    alias      TEXT NOT NULL,
    version    INTEGER NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (name, alias),
    FOREIGN KEY (name, version) REFERENCES model_versions (name, version)
);

CREATE TABLE model_audit (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    name         TEXT NOT NULL,
    at           TEXT NOT NULL,
    actor        TEXT NOT NULL,
    action       TEXT NOT NULL CHECK (action IN ('register', 'promote', 'rollback')),
    alias        TEXT,
    from_version INTEGER,
    to_version   INTEGER,
    forced       INTEGER NOT NULL DEFAULT 0,
    reason       TEXT NOT NULL DEFAULT ''
);

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
