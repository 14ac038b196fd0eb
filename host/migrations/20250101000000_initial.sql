-- The metadata store: pipeline versions, runs, the steps of each run, the
-- artifacts they read and wrote (lineage), and their metrics.
-- Timestamps are RFC3339 UTC strings with milliseconds, so text order is
-- time order.

CREATE TABLE pipeline_versions (
    name              TEXT NOT NULL,
    version           TEXT NOT NULL,
    definition_sha256 TEXT NOT NULL,
    definition        TEXT NOT NULL,
    created_at        TEXT NOT NULL,
    PRIMARY KEY (name, version, definition_sha256)
);

CREATE TABLE runs (
    id               TEXT PRIMARY KEY NOT NULL,
    pipeline_name    TEXT NOT NULL,
    pipeline_version TEXT NOT NULL,
    pipeline_sha256  TEXT NOT NULL,
    status           TEXT NOT NULL CHECK (status IN ('running', 'succeeded', 'failed')),
    -- The u64 seed's bits, stored as a signed 64-bit integer.
    seed             INTEGER NOT NULL,
    started_at       TEXT NOT NULL,
    finished_at      TEXT,
    error            TEXT
);

CREATE INDEX runs_by_start ON runs (started_at);

CREATE TABLE step_runs (
    run_id         TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    step_id        TEXT NOT NULL,
    position       INTEGER NOT NULL,
    kind           TEXT NOT NULL,
    plugin_name    TEXT NOT NULL,
    plugin_version TEXT NOT NULL,
    plugin_sha256  TEXT NOT NULL,
    params_json    TEXT NOT NULL,
    status         TEXT NOT NULL
                   CHECK (status IN ('running', 'succeeded', 'failed', 'skipped')),
    started_at     TEXT NOT NULL,
    finished_at    TEXT,
    duration_ms    INTEGER,
    log            TEXT NOT NULL DEFAULT '',
    error          TEXT,
    cached         INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (run_id, step_id)
);

CREATE TABLE artifacts (
    digest     TEXT PRIMARY KEY NOT NULL,
    size       INTEGER NOT NULL,
    media_type TEXT NOT NULL,
    created_at TEXT NOT NULL
);

-- Lineage: which artifact a step read ('in') or wrote ('out') under which
-- name. Not a foreign key to `artifacts`: an input may come from a store
-- this database has never recorded.
CREATE TABLE step_io (
    run_id    TEXT NOT NULL,
    step_id   TEXT NOT NULL,
    direction TEXT NOT NULL CHECK (direction IN ('in', 'out')),
    name      TEXT NOT NULL,
    digest    TEXT NOT NULL,
    PRIMARY KEY (run_id, step_id, direction, name),
    FOREIGN KEY (run_id, step_id) REFERENCES step_runs (run_id, step_id) ON DELETE CASCADE
);

CREATE INDEX step_io_by_digest ON step_io (digest, direction);

CREATE TABLE metrics (
    run_id  TEXT NOT NULL,
    step_id TEXT NOT NULL,
    name    TEXT NOT NULL,
    -- NULL stands for NaN, which SQLite cannot store.
    value   REAL,
    PRIMARY KEY (run_id, step_id, name),
    FOREIGN KEY (run_id, step_id) REFERENCES step_runs (run_id, step_id) ON DELETE CASCADE
);
