-- Hyperparameter search: one row per trial of a trainer step's search.
-- params_json: the searched params of the trial (the others are the step's).
-- score: the mean of fold_scores_json (NULL for a failed trial, or NaN).
-- metrics_json: the trainer's own metrics, averaged over the folds.
-- best: 1 on the trial whose params the step's model was trained with.
CREATE TABLE step_trials (
    run_id           TEXT NOT NULL,
    step_id          TEXT NOT NULL,
    trial            INTEGER NOT NULL,
    params_json      TEXT NOT NULL,
    status           TEXT NOT NULL CHECK (status IN ('succeeded', 'failed')),
    metric           TEXT NOT NULL,
    score            REAL,
    fold_scores_json TEXT NOT NULL,
    metrics_json     TEXT NOT NULL,
    error            TEXT,
    duration_ms      INTEGER NOT NULL,
    best             INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (run_id, step_id, trial),
    FOREIGN KEY (run_id, step_id) REFERENCES step_runs (run_id, step_id) ON DELETE CASCADE
);
