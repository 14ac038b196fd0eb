-- Monitoring (`[models.NAME.monitoring]`, `sluice monitor`): each check's
-- result for one model version in one window of its inference log, a time
-- series; and the alerts failing checks raised, with what was done.

CREATE TABLE monitor_results (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant          TEXT NOT NULL,
    model           TEXT NOT NULL,
    version         INTEGER NOT NULL,
    check_name      TEXT NOT NULL,
    kind            TEXT NOT NULL,
    window_start_ms INTEGER NOT NULL,
    window_end_ms   INTEGER NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('pass', 'fail', 'inconclusive', 'error')),
    rows            INTEGER NOT NULL,
    metrics_json    TEXT NOT NULL,
    detail          TEXT NOT NULL,
    at_ms           INTEGER NOT NULL,
    -- One result per check, version and window: a window evaluated again
    -- (a restarted server, `sluice monitor run` twice) replaces it.
    UNIQUE (tenant, model, version, check_name, window_start_ms, window_end_ms)
);
CREATE INDEX monitor_results_by_model ON monitor_results (tenant, model, window_end_ms);

CREATE TABLE monitor_alerts (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant        TEXT NOT NULL,
    model         TEXT NOT NULL,
    version       INTEGER NOT NULL,
    check_name    TEXT NOT NULL,
    window_end_ms INTEGER NOT NULL,
    at_ms         INTEGER NOT NULL,
    detail        TEXT NOT NULL,
    -- What was done: `log`, `rollback`, `rollback-refused: ...`,
    -- `command: ...`.
    action        TEXT NOT NULL,
    UNIQUE (tenant, model, version, check_name, window_end_ms)
);
CREATE INDEX monitor_alerts_by_model ON monitor_alerts (tenant, model, at_ms);


-- Rollouts (progressive delivery: `sluice models rollout`): a candidate
-- version takes a growing share of an alias's traffic, step by step, each
-- interval judged against the alias's version on the same window. The row
-- is the rollout's whole state, so a restarted server resumes it.
CREATE TABLE rollouts (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant              TEXT NOT NULL,
    model               TEXT NOT NULL,
    candidate           INTEGER NOT NULL,
    alias               TEXT NOT NULL,
    spec_json           TEXT NOT NULL,
    -- The traffic policy before the rollout (JSON, NULL for none): put
    -- back when it ends.
    route_before_json   TEXT,
    state               TEXT NOT NULL CHECK (state IN ('running', 'paused', 'promoted', 'failed', 'aborted')),
    step                INTEGER NOT NULL,
    -- The start of the interval being gathered (Unix milliseconds).
    window_start_ms     INTEGER NOT NULL,
    failures            INTEGER NOT NULL DEFAULT 0,
    inconclusive        INTEGER NOT NULL DEFAULT 0,
    -- The last interval's outcome, in words with its numbers.
    last                TEXT NOT NULL DEFAULT '',
    actor               TEXT NOT NULL,
    started_ms          INTEGER NOT NULL,
    updated_ms          INTEGER NOT NULL
);
-- At most one rollout of a model goes on at a time.
CREATE UNIQUE INDEX rollouts_one_active ON rollouts (tenant, model)
    WHERE state IN ('running', 'paused');
