//! Before a run: steps that will likely not finish within their time
//! limit, judged from how long they took in the pipeline's earlier runs
//! and how much larger the data is now.
//!
//! A step's last real execution (not reused from the cache) in the
//! tenant's recent runs of the same pipeline gives its time; the ratio of
//! the datasets' file sizes now to their sizes then scales it (a step's
//! time grows at least with its data, so the ratio is a floor, not a
//! promise). A step that took, or would now take, more than
//! [`WARN_AT`] of the limit it will run under, or that failed at its limit
//! last time under a limit no higher, is named with the numbers, before
//! anything runs: the run still starts.

use super::Plan;
use crate::artifacts::ArtifactStore;
use crate::meta::{MetaStore, RunRecord, StepStatus};
use crate::tenants::Tenant;
use std::collections::BTreeMap;

/// The share of its time limit a step may be expected to take before it
/// is named.
pub const WARN_AT: f64 = 0.8;

/// How many of the tenant's latest runs are searched for the pipeline's.
const RUNS_SEARCHED: i64 = 50;

/// One step expected to run out of time.
#[derive(Debug, Clone, PartialEq)]
pub struct SlowStep {
    /// The step's id.
    pub step: String,
    /// The run it last really ran in.
    pub run_id: String,
    /// How long it took there, in milliseconds.
    pub took_ms: u64,
    /// Whether it failed there at its time limit.
    pub timed_out: bool,
    /// The data now over the data then (file sizes), when known and > 1.
    pub data_ratio: Option<f64>,
    /// The limit it will run under now, in milliseconds.
    pub limit_ms: u64,
}

impl std::fmt::Display for SlowStep {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let secs = |ms: u64| ms as f64 / 1000.0;
        let step = &self.step;
        if self.timed_out {
            write!(
                f,
                "step '{step}' ran out of time after {:.1} s in run {}",
                secs(self.took_ms),
                self.run_id
            )?;
        } else {
            write!(
                f,
                "step '{step}' took {:.1} s in run {}",
                secs(self.took_ms),
                self.run_id
            )?;
        }
        if let Some(ratio) = self.data_ratio {
            write!(
                f,
                "; the data is {ratio:.1}x as large now, so it may take {:.0} s or more",
                secs(self.took_ms) * ratio
            )?;
        }
        write!(
            f,
            "; its time limit is {:.1} s: raise `limits = {{ timeout_ms = ... }}` on the step \
             (within the tenant's cap, `sluice tenants show`) before it fails at the limit",
            secs(self.limit_ms)
        )
    }
}

/// The steps of `plan` expected to run out of time (see the module
/// docs), in plan order. Nothing when the pipeline has not run before.
pub async fn slow_steps(
    meta: &MetaStore,
    artifacts: &ArtifactStore,
    tenant: &Tenant,
    plan: &Plan,
) -> Vec<SlowStep> {
    let Ok(runs) = meta.list_runs_in(Some(&tenant.name), RUNS_SEARCHED).await else {
        return Vec::new();
    };
    let runs: Vec<&RunRecord> = runs
        .iter()
        .filter(|r| r.pipeline_name == plan.name)
        .collect();
    if runs.is_empty() {
        return Vec::new();
    }
    // Each step's last real execution, newest run first.
    let mut last: BTreeMap<&str, (String, u64, bool)> = BTreeMap::new();
    let mut data_then: Option<u64> = None;
    for run in runs {
        let Ok(full) = meta.get_run_in(Some(&tenant.name), &run.id).await else {
            continue;
        };
        for record in &full.steps {
            if record.cached {
                continue;
            }
            if let Some(step) = plan.steps.iter().find(|s| s.id == record.step_id)
                && !last.contains_key(step.id.as_str())
                && let Some(ms) = record.duration_ms
            {
                let timed_out = record.status == StepStatus::Failed
                    && record
                        .error
                        .as_deref()
                        .is_some_and(|e| e.contains("time limit"));
                if record.status == StepStatus::Succeeded || timed_out {
                    last.insert(
                        step.id.as_str(),
                        (full.id.clone(), ms.max(0) as u64, timed_out),
                    );
                }
            }
        }
        if data_then.is_none() {
            data_then = dataset_bytes_then(artifacts, &full).await;
        }
        if last.len() == plan.steps.len() {
            break;
        }
    }
    let ratio = match (dataset_bytes_now(plan), data_then) {
        (Some(now), Some(then)) if then > 0 && now > then => Some(now as f64 / then as f64),
        _ => None,
    };
    let mut slow = Vec::new();
    for step in &plan.steps {
        let Some((run_id, took_ms, timed_out)) = last.get(step.id.as_str()) else {
            continue;
        };
        let limits = tenant.caps.bound(
            &tenant.name,
            &step.id,
            &step.limits,
            &step.explicit_limits,
            &mut Vec::new(),
        );
        let candidate = SlowStep {
            step: step.id.clone(),
            run_id: run_id.clone(),
            took_ms: *took_ms,
            timed_out: *timed_out,
            data_ratio: ratio,
            limit_ms: limits.timeout_ms,
        };
        if candidate.is_slow() {
            slow.push(candidate);
        }
    }
    slow
}

impl SlowStep {
    /// Whether the step is expected to run out of time: it did last time
    /// under a limit no lower, or its time then, scaled by the data, is
    /// over [`WARN_AT`] of its limit.
    pub fn is_slow(&self) -> bool {
        let expected = self.took_ms as f64 * self.data_ratio.unwrap_or(1.0);
        (self.timed_out && self.limit_ms <= self.took_ms)
            || expected > WARN_AT * self.limit_ms as f64
    }
}

/// The bytes of the plan's local single-file datasets now; `None` when
/// one is a directory, in S3, or cannot be read.
fn dataset_bytes_now(plan: &Plan) -> Option<u64> {
    let mut total = 0;
    for ds in &plan.datasets {
        if ds.s3.is_some() || ds.files.is_some() {
            return None;
        }
        total += std::fs::metadata(&ds.path).ok()?.len();
    }
    Some(total)
}

/// The bytes of the dataset files a run read (each dataset step's
/// `source` in the store); `None` when one is missing.
async fn dataset_bytes_then(artifacts: &ArtifactStore, run: &RunRecord) -> Option<u64> {
    let mut total = 0;
    let mut any = false;
    for record in run.steps.iter().filter(|s| s.kind == "dataset") {
        let (_, digest) = record.inputs.iter().find(|(name, _)| name == "source")?;
        let head = artifacts
            .object_store()
            .head(&artifacts.object_path(digest))
            .await
            .ok()?;
        total += head.size;
        any = true;
    }
    any.then_some(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(took_ms: u64, timed_out: bool, data_ratio: Option<f64>, limit_ms: u64) -> SlowStep {
        SlowStep {
            step: "train".into(),
            run_id: "20261205-120000-abcdef".into(),
            took_ms,
            timed_out,
            data_ratio,
            limit_ms,
        }
    }

    #[test]
    fn a_step_is_named_when_its_time_scaled_by_the_data_nears_its_limit() {
        // 160 s last time under a 600 s limit: fine; with 4x the data, not.
        assert!(!step(160_000, false, None, 600_000).is_slow());
        assert!(step(160_000, false, Some(4.0), 600_000).is_slow());
        // Over 80% of the limit already.
        assert!(step(500_000, false, None, 600_000).is_slow());
        // Out of time at 60 s; the limit is still 60 s, or was raised.
        assert!(step(60_000, true, None, 60_000).is_slow());
        assert!(!step(60_000, true, None, 600_000).is_slow());

        let text = step(160_000, false, Some(4.0), 600_000).to_string();
        assert!(
            text.contains("step 'train' took 160.0 s in run 20261205-120000-abcdef")
                && text.contains("4.0x as large now, so it may take 640 s or more")
                && text.contains("its time limit is 600.0 s")
                && text.contains("timeout_ms"),
            "{text}"
        );
        let text = step(60_000, true, None, 60_000).to_string();
        assert!(text.contains("ran out of time after 60.0 s"), "{text}");
    }
}
