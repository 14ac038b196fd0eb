-- What the alerting version was doing when its window was judged:
-- `production` (it held production and no rollout of the model ran),
-- `rollout` (a rollout of the model ran during the window: the alert is
-- the rollout's to judge) or `other` (an A/B arm, a shadow, an old
-- version). Only `production` alerts fire `on_alert` triggers.
ALTER TABLE monitor_alerts ADD COLUMN role TEXT NOT NULL DEFAULT 'production';
