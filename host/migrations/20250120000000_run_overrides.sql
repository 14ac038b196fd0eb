-- Params set from the command line (`sluice run P -P STEP.PARAM=VALUE`),
-- a JSON list of those texts, recorded with the run so that `resume` and
-- `verify` plan it again as it ran. NULL: none.
ALTER TABLE runs ADD COLUMN overrides_json TEXT;
