-- The step cache and resume.
-- cache_key: sha256 of what determines a step's outputs (see
-- pipeline::cache); set on a step when it succeeds. cached_from: the run a
-- cached step's outputs were taken from.
ALTER TABLE step_runs ADD COLUMN cache_key TEXT;
ALTER TABLE step_runs ADD COLUMN cached_from TEXT;
CREATE INDEX step_runs_by_cache_key ON step_runs (cache_key);

-- Where the pipeline file was (absolute), and the plugin directories the
-- run searched, so `sluice resume` and `sluice verify` can plan it again.
ALTER TABLE runs ADD COLUMN pipeline_path TEXT;
ALTER TABLE runs ADD COLUMN plugin_dirs_json TEXT;
