//! Whether a run reproduces: its stored outputs re-read and re-hashed,
//! then every step executed again without the cache (recorded as a new
//! run, registering no model) and every output compared, by digest, with
//! what the run recorded. The stored bytes are checked first: the
//! re-execution writes the good bytes over a damaged object it reproduces.

use super::{ExecError, Executor, RunObserver};
use crate::artifacts::{ArtifactDigest, ArtifactError, ArtifactStore, Integrity};
use crate::meta::{MetaError, RunRecord, RunStatus};
use crate::pipeline::plan::{RecordedPlanError, recorded_plan};
use crate::tenants::{Tenant, tenant_store};
use serde::Serialize;
use std::collections::HashMap;

/// Why a run could not be verified (not whether it reproduced: that is
/// the [`VerifyReport`]).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// A run still recorded as running.
    #[error(
        "run {run_id} never finished (status `running`): it is still going, or its process \
         was interrupted; there is nothing complete to verify. `sluice resume {run_id}` \
         finishes an interrupted run"
    )]
    NotFinished {
        /// The run.
        run_id: String,
    },
    /// The metadata database failed.
    #[error(transparent)]
    Meta(#[from] MetaError),
    /// The artifact store failed.
    #[error(transparent)]
    Artifacts(#[from] ArtifactError),
    /// The run's pipeline could not be planned again.
    #[error(transparent)]
    Plan(#[from] RecordedPlanError),
    /// The re-execution failed in the store or the database.
    #[error(transparent)]
    Exec(#[from] ExecError),
}

/// One recorded output of a run and what its stored object holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OutputCheck {
    /// The step's id.
    pub step: String,
    /// The output's name.
    pub output: String,
    /// The digest the run recorded.
    pub digest: ArtifactDigest,
    /// What the stored object holds.
    pub integrity: Integrity,
}

/// Re-reads and re-hashes every recorded output of `run` in `store`, in
/// step order (an object two steps share is read once).
pub async fn check_run_outputs(
    store: &ArtifactStore,
    run: &RunRecord,
) -> Result<Vec<OutputCheck>, ArtifactError> {
    let mut seen: HashMap<ArtifactDigest, Integrity> = HashMap::new();
    let mut checks = Vec::new();
    for step in &run.steps {
        for (output, digest) in &step.outputs {
            let integrity = match seen.get(digest) {
                Some(known) => known.clone(),
                None => {
                    let found = store.check(digest).await?;
                    seen.insert(digest.clone(), found.clone());
                    found
                }
            };
            checks.push(OutputCheck {
                step: step.step_id.clone(),
                output: output.clone(),
                digest: digest.clone(),
                integrity,
            });
        }
    }
    Ok(checks)
}

/// A stored output that was corrupt or missing before the re-execution.
#[derive(Debug, Clone, Serialize)]
pub struct DamagedOutput {
    /// The step's id.
    pub step: String,
    /// The output's name.
    pub output: String,
    /// The digest the run recorded.
    pub digest: ArtifactDigest,
    /// What the stored object held.
    pub stored: Integrity,
    /// The re-execution wrote the good bytes back.
    pub repaired: bool,
}

/// One output of the run: recorded, stored and made again.
#[derive(Debug, Clone, Serialize)]
pub struct OutputComparison {
    /// The step's id.
    pub step: String,
    /// The output's name.
    pub output: String,
    /// The digest the run recorded (`None`: the re-execution made an
    /// output the run did not).
    pub recorded: Option<String>,
    /// The digest the re-execution made (`None`: it made none).
    pub reproduced: Option<String>,
    /// Recorded and reproduced alike.
    pub same: bool,
    /// What the stored object of the recorded output held.
    pub stored: Option<Integrity>,
}

/// What [`Executor::verify`] found. Serialized as `sluice verify --json`
/// prints it (the `skip`ped fields are for printing a summary).
#[derive(Debug, Clone, Serialize)]
pub struct VerifyReport {
    /// The run verified.
    pub run: String,
    /// The run the re-execution was recorded as.
    pub verification_run: String,
    /// Every output stored intact and reproduced byte for byte, and the
    /// re-execution succeeded.
    pub reproduced: bool,
    /// No stored output was corrupt or missing.
    pub stored_intact: bool,
    /// The stored outputs found corrupt or missing before the re-execution.
    pub damaged: Vec<DamagedOutput>,
    /// Every output, recorded and reproduced.
    pub outputs: Vec<OutputComparison>,
    /// Why the re-execution failed, if it did.
    pub error: Option<String>,
    /// Every stored output checked, in step order.
    #[serde(skip)]
    pub stored: Vec<OutputCheck>,
    /// How the re-execution ended.
    #[serde(skip)]
    pub verification_status: RunStatus,
}

impl VerifyReport {
    /// The outputs whose recorded and reproduced digests differ.
    pub fn differing(&self) -> usize {
        self.outputs.iter().filter(|o| !o.same).count()
    }
}

impl Executor {
    /// Verify run `run_id` of `tenant`: re-read and re-hash every output
    /// it stored, then plan its pipeline file again (unchanged, with the
    /// plugin directories it recorded), execute every step without the
    /// cache as a new run that registers no model, and compare every
    /// output by digest with what the run recorded. `observer` follows the
    /// re-execution.
    pub async fn verify(
        &self,
        tenant: &Tenant,
        run_id: &str,
        observer: &dyn RunObserver,
    ) -> Result<VerifyReport, VerifyError> {
        let original = self.meta.get_run_in(Some(&tenant.name), run_id).await?;
        if original.status == RunStatus::Running {
            return Err(VerifyError::NotFinished {
                run_id: original.id,
            });
        }
        let store = tenant_store(&self.artifacts, &tenant.name);
        let stored = check_run_outputs(&store, &original).await?;
        let plan = recorded_plan(&self.meta, &original, &self.runtime).await?;
        let again = Executor {
            runtime: self.runtime.clone(),
            artifacts: self.artifacts.clone(),
            meta: self.meta.clone(),
            scheduler: self.scheduler.clone(),
            allow_changed_version: false,
            use_cache: false,
            registrar: None,
        }
        .run_as(tenant, &plan, observer)
        .await?;

        // The damaged outputs, and whether the re-execution wrote them back.
        let mut damaged = Vec::new();
        for c in stored.iter().filter(|c| !c.integrity.is_intact()) {
            let now = store.check(&c.digest).await?;
            damaged.push(DamagedOutput {
                step: c.step.clone(),
                output: c.output.clone(),
                digest: c.digest.clone(),
                stored: c.integrity.clone(),
                repaired: now.is_intact(),
            });
        }
        let mut outputs = Vec::new();
        for step in &original.steps {
            let new = again.steps.iter().find(|s| s.id == step.step_id);
            let mut names: Vec<&String> = step.outputs.iter().map(|(n, _)| n).collect();
            if let Some(new) = new {
                names.extend(
                    new.outputs
                        .keys()
                        .filter(|n| !names.contains(n))
                        .collect::<Vec<_>>(),
                );
            }
            for name in names {
                let recorded = step
                    .outputs
                    .iter()
                    .find(|(n, _)| n == name)
                    .map(|(_, d)| d.to_string());
                let reproduced = new.and_then(|s| s.outputs.get(name).cloned());
                let same = recorded.is_some() && recorded == reproduced;
                let stored = stored
                    .iter()
                    .find(|c| c.step == step.step_id && c.output == *name)
                    .map(|c| c.integrity.clone());
                outputs.push(OutputComparison {
                    step: step.step_id.clone(),
                    output: name.clone(),
                    recorded,
                    reproduced,
                    same,
                    stored,
                });
            }
        }
        let differ = outputs.iter().filter(|o| !o.same).count();
        let reproduced = differ == 0 && again.status == RunStatus::Succeeded && damaged.is_empty();
        Ok(VerifyReport {
            run: original.id,
            verification_run: again.run_id,
            reproduced,
            stored_intact: damaged.is_empty(),
            damaged,
            outputs,
            error: again.error,
            stored,
            verification_status: again.status,
        })
    }
}
