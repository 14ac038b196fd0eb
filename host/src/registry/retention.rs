//! Which runs `sluice runs prune` deletes: a rule per pipeline (given on
//! the command line, or the `[retention]` table of the definition its
//! newest run recorded), then what the registry keeps anyway
//! ([`Registry::keepers`]).

use super::{Registry, Result};
use crate::meta::{RunRecord, RunStatus};
use crate::pipeline::definition::{PipelineFile, Retention};
use std::collections::{BTreeMap, BTreeSet};

/// What a prune deletes of one pipeline's runs: those no part of the rule
/// keeps.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PruneRule {
    /// Keep the newest this many runs of the pipeline.
    pub keep_last: Option<u32>,
    /// Keep the runs started less than this long ago.
    pub keep_for: Option<chrono::Duration>,
    /// Delete only failed runs (and interrupted ones no process runs).
    pub failed_only: bool,
}

impl PruneRule {
    /// The rule of a pipeline's `[retention]` table.
    pub fn of(retention: Retention) -> Self {
        PruneRule {
            keep_last: retention.keep_runs,
            keep_for: retention
                .keep_days
                .map(|d| chrono::Duration::days(i64::from(d))),
            failed_only: false,
        }
    }

    /// Whether the rule says anything (an empty one would delete every
    /// run).
    pub fn is_empty(&self) -> bool {
        self.keep_last.is_none() && self.keep_for.is_none() && !self.failed_only
    }
}

/// A run a prune keeps although its rule would delete it, and why.
#[derive(Debug, Clone)]
pub struct KeptRun {
    /// The run.
    pub run: RunRecord,
    /// Why it is kept, in words (`model version churn:3 was registered
    /// from it`, ...).
    pub reason: String,
}

/// What a prune deletes and keeps.
#[derive(Debug, Clone, Default)]
pub struct PrunePlan {
    /// The runs to delete, newest first.
    pub delete: Vec<RunRecord>,
    /// The runs the rule would delete that are kept, each with why.
    pub kept: Vec<KeptRun>,
    /// Pipelines left alone: no rule given and no `[retention]` in the
    /// definition of their newest run.
    pub without_rule: Vec<String>,
}

impl Registry {
    /// The runs of the tenant a prune deletes: by `rule` when given,
    /// else by each pipeline's `[retention]`; only `pipeline`'s runs when
    /// given. `now` is when "ago" is counted from.
    pub async fn plan_prune(
        &self,
        rule: Option<PruneRule>,
        pipeline: Option<&str>,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<PrunePlan> {
        let mut by_pipeline: BTreeMap<String, Vec<RunRecord>> = BTreeMap::new();
        // Newest first.
        for run in self.meta.list_runs_in(Some(&self.tenant), -1).await? {
            if pipeline.is_none_or(|p| p == run.pipeline_name) {
                by_pipeline
                    .entry(run.pipeline_name.clone())
                    .or_default()
                    .push(run);
            }
        }
        let mut plan = PrunePlan::default();
        let mut candidates = Vec::new();
        for (name, runs) in by_pipeline {
            let rule = match rule {
                Some(rule) => rule,
                None => match self.retention_of(&runs[0]).await? {
                    Some(retention) => PruneRule::of(retention),
                    None => {
                        plan.without_rule.push(name);
                        continue;
                    }
                },
            };
            if rule.is_empty() {
                plan.without_rule.push(name);
                continue;
            }
            for (newer, run) in runs.into_iter().enumerate() {
                let young = rule.keep_for.is_some_and(|d| {
                    chrono::DateTime::parse_from_rfc3339(&run.started_at)
                        .is_ok_and(|t| now.signed_duration_since(t) < d)
                });
                let among_last = rule
                    .keep_last
                    .is_some_and(|n| newer < usize::try_from(n).unwrap_or(usize::MAX));
                let wanted = !rule.failed_only || run.status != RunStatus::Succeeded;
                if young || among_last || !wanted {
                    continue;
                }
                if run.status == RunStatus::Running && self.meta.lock_run(&run.id)?.is_none() {
                    plan.kept.push(KeptRun {
                        run,
                        reason: "in progress: a live process is executing it".into(),
                    });
                    continue;
                }
                candidates.push(run);
            }
        }
        let deleting: BTreeSet<String> = candidates.iter().map(|r| r.id.clone()).collect();
        let mut keepers = self.keepers(&deleting).await?;
        for run in candidates {
            match keepers.remove(&run.id) {
                Some(reason) => plan.kept.push(KeptRun { run, reason }),
                None => plan.delete.push(run),
            }
        }
        Ok(plan)
    }

    /// The `[retention]` of the definition `run` recorded, if any (a
    /// definition that no longer parses has none).
    async fn retention_of(&self, run: &RunRecord) -> Result<Option<Retention>> {
        let definition = self.meta.definition_by_sha256(&run.pipeline_sha256).await?;
        Ok(definition
            .and_then(|text| PipelineFile::parse(&text).ok())
            .and_then(|file| file.retention))
    }
}
