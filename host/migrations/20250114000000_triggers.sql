-- Triggers (`[triggers.NAME]` of a pipeline file, armed when the file is
-- run): what fires a run of the pipeline, and where each stands. The
-- cursor is what was handled last (a schedule's last slot, the data digest
-- last fired for, the time of the last alert); `pending` a change seen
-- but not fired yet (debounce).
CREATE TABLE triggers (
    tenant           TEXT NOT NULL,
    pipeline         TEXT NOT NULL,
    name             TEXT NOT NULL,
    path             TEXT NOT NULL,
    spec_json        TEXT NOT NULL,
    armed_ms         INTEGER NOT NULL,
    cursor           TEXT NOT NULL DEFAULT '',
    pending          TEXT NOT NULL DEFAULT '',
    pending_since_ms INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant, pipeline, name)
);

-- Each firing of a trigger, keyed so that the same firing (the same
-- schedule slot, the same data, the same alert) is recorded, and run,
-- once, across restarts.
CREATE TABLE trigger_firings (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant       TEXT NOT NULL,
    pipeline     TEXT NOT NULL,
    trigger_name TEXT NOT NULL,
    firing_key   TEXT NOT NULL,
    reason       TEXT NOT NULL,
    state        TEXT NOT NULL CHECK (state IN ('pending', 'running', 'succeeded', 'failed', 'skipped')),
    run_id       TEXT,
    detail       TEXT NOT NULL DEFAULT '',
    fired_ms     INTEGER NOT NULL,
    updated_ms   INTEGER NOT NULL,
    UNIQUE (tenant, pipeline, trigger_name, firing_key)
);
CREATE INDEX trigger_firings_open ON trigger_firings (tenant, state);
