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

