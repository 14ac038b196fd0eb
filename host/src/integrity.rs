//! Whether the stored artifacts are what the records say they are.
//!
//! An artifact's name is the sha256 of its bytes, but a disk, a bucket or
//! a person can still change the bytes under the name. Nothing vouches for
//! an artifact without reading it back: `sluice verify` re-hashes a run's
//! stored outputs ([`crate::pipeline::executor::check_run_outputs`])
//! before it re-executes the run, and `sluice store check` re-hashes every
//! object of a tenant's store and
//! names the runs and model versions that a damaged object affects
//! ([`check_store`]), removing corrupt objects on request
//! ([`remove_corrupt`]) so the step cache recomputes them. Promotion checks
//! a version's own artifacts ([`crate::registry::Registry::promote`]).

use std::collections::{BTreeMap, BTreeSet};

use futures::{StreamExt, TryStreamExt};
use serde::Serialize;

use crate::artifacts::{ArtifactDigest, ArtifactError, ArtifactStore, Integrity};
use crate::meta::{MetaError, MetaStore, ModelVersionUse, StepUse};

/// Objects re-hashed at once: enough to hide an S3 round trip, few enough
/// to bound the memory of large objects held at once.
const CONCURRENT_CHECKS: usize = 4;

/// What went wrong checking the store (not what the check found).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IntegrityError {
    /// The artifact store failed while listing or reading objects.
    #[error(transparent)]
    Artifacts(#[from] ArtifactError),
    /// The metadata database failed.
    #[error(transparent)]
    Meta(#[from] MetaError),
}

/// What [`check_store`] found.
#[derive(Debug, Clone, Serialize)]
pub struct StoreCheck {
    /// Where the tenant's objects are.
    pub store: String,
    /// Objects re-hashed, and their bytes.
    pub checked: usize,
    /// The bytes of the objects re-hashed.
    pub bytes: u64,
    /// Corrupt objects, and objects the records refer to that are missing.
    pub damaged: Vec<DamagedArtifact>,
    /// The pipelines to run again to write the damaged artifacts back.
    pub reruns: Vec<Rerun>,
}

impl StoreCheck {
    /// Whether something is damaged and was not removed for recomputing.
    pub fn unrepaired(&self) -> usize {
        self.damaged.iter().filter(|d| !d.removed).count()
    }
}

/// A damaged artifact and what it affects.
#[derive(Debug, Clone, Serialize)]
pub struct DamagedArtifact {
    /// The artifact.
    pub digest: ArtifactDigest,
    /// Missing or corrupt.
    pub integrity: Integrity,
    /// Bytes stored under the digest (none when missing).
    pub size: Option<u64>,
    /// The step runs that wrote, read or ran it.
    pub steps: Vec<StepUse>,
    /// The model versions that hold it.
    pub models: Vec<ModelVersionUse>,
    /// [`remove_corrupt`] deleted it, so the next run recomputes it.
    pub removed: bool,
}

/// A pipeline whose runs used damaged artifacts: running it again writes
/// them back (the step cache reruns exactly the steps whose artifacts are
/// gone).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rerun {
    /// The pipeline's `name`.
    pub pipeline_name: String,
    /// The pipeline's `version`.
    pub pipeline_version: String,
    /// The pipeline file the runs recorded (none for runs that predate
    /// recording it).
    pub pipeline_path: Option<String>,
    /// The runs that made damaged artifacts, by id.
    pub runs: Vec<String>,
}

/// Told how a store check is going, for a progress display.
pub trait CheckProgress: Sync {
    /// The store lists `objects` objects of `bytes` in all.
    fn listed(&self, objects: usize, bytes: u64);
    /// One object of `size` bytes was re-hashed.
    fn checked(&self, size: u64);
}

/// No progress display.
impl CheckProgress for () {
    fn listed(&self, _: usize, _: u64) {}
    fn checked(&self, _: u64) {}
}

/// Re-hashes every object of `tenant`'s `store`, finds the artifacts its
/// runs recorded that are not stored, and names the step runs and model
/// versions each damaged artifact affects.
pub async fn check_store(
    store: &ArtifactStore,
    meta: &MetaStore,
    tenant: &str,
    progress: &dyn CheckProgress,
) -> Result<StoreCheck, IntegrityError> {
    let stored = store.list_stored().await?;
    let bytes = stored.iter().map(|a| a.size).sum();
    progress.listed(stored.len(), bytes);
    let found: Vec<_> = futures::stream::iter(stored.iter())
        .map(|a| async move {
            let integrity = store.check(&a.digest).await;
            progress.checked(a.size);
            integrity.map(|i| (a, i))
        })
        .buffered(CONCURRENT_CHECKS)
        .try_collect()
        .await?;
    let mut damaged: BTreeMap<ArtifactDigest, (Integrity, Option<u64>)> = found
        .into_iter()
        .filter(|(_, integrity)| !integrity.is_intact())
        .map(|(a, integrity)| (a.digest.clone(), (integrity, Some(a.size))))
        .collect();
    // Read after listing: an artifact written and recorded in between is
    // then referenced and stored, not missing.
    let referenced = meta.run_artifacts(Some(tenant)).await?;
    let listed: BTreeSet<&ArtifactDigest> = stored.iter().map(|a| &a.digest).collect();
    for d in referenced.iter().filter(|d| !listed.contains(d)) {
        // Written since the listing (a run in progress)?
        let integrity = store.check(d).await?;
        if !integrity.is_intact() {
            damaged.insert(d.clone(), (integrity, None));
        }
    }

    let digests: BTreeSet<ArtifactDigest> = damaged.keys().cloned().collect();
    let mut models = meta.model_version_uses(tenant, &digests).await?;
    let mut report = Vec::new();
    for (digest, (integrity, size)) in damaged {
        let (mine, others) = models.into_iter().partition(|m| m.digest == digest);
        models = others;
        report.push(DamagedArtifact {
            steps: meta.step_uses(tenant, &digest).await?,
            models: mine,
            digest,
            integrity,
            size,
            removed: false,
        });
    }
    Ok(StoreCheck {
        store: store.describe(),
        checked: stored.len(),
        bytes,
        reruns: reruns(meta, &report).await?,
        damaged: report,
    })
}

/// The pipelines whose runs used the damaged artifacts, or registered a
/// model version holding one, by pipeline file.
async fn reruns(meta: &MetaStore, damaged: &[DamagedArtifact]) -> Result<Vec<Rerun>, MetaError> {
    let mut runs: BTreeMap<String, (String, String)> = BTreeMap::new();
    for d in damaged {
        for s in &d.steps {
            runs.entry(s.run_id.clone())
                .or_insert_with(|| (s.pipeline_name.clone(), s.pipeline_version.clone()));
        }
        for m in &d.models {
            if !runs.contains_key(&m.run_id) {
                let run = meta.get_run(&m.run_id).await?;
                runs.insert(m.run_id.clone(), (run.pipeline_name, run.pipeline_version));
            }
        }
    }
    let mut by_file: BTreeMap<(Option<String>, String, String), Vec<String>> = BTreeMap::new();
    for (run, (name, version)) in runs {
        let (path, _) = meta.run_source(&run).await?;
        by_file.entry((path, name, version)).or_default().push(run);
    }
    Ok(by_file
        .into_iter()
        .map(
            |((pipeline_path, pipeline_name, pipeline_version), runs)| Rerun {
                pipeline_name,
                pipeline_version,
                pipeline_path,
                runs,
            },
        )
        .collect())
}

/// Deletes the corrupt objects of `check` (each re-checked first: a run
/// may have written the good bytes back since), so nothing serves them and
/// the step cache recomputes them on the next run; forgets them in the
/// tenant's storage account. Missing objects stay reported.
pub async fn remove_corrupt(
    store: &ArtifactStore,
    meta: &MetaStore,
    tenant: &str,
    check: &mut StoreCheck,
) -> Result<(), IntegrityError> {
    let mut removed = Vec::new();
    let mut repaired = BTreeSet::new();
    for d in &mut check.damaged {
        if !matches!(d.integrity, Integrity::Corrupt { .. }) {
            continue;
        }
        match store.check(&d.digest).await? {
            Integrity::Corrupt { .. } => {
                store.delete(&d.digest).await?;
                removed.push(d.digest.clone());
                d.removed = true;
            }
            Integrity::Missing => d.removed = true,
            Integrity::Intact => {
                repaired.insert(d.digest.clone());
            }
        }
    }
    check.damaged.retain(|d| !repaired.contains(&d.digest));
    meta.forget_artifacts(tenant, &removed).await?;
    Ok(())
}
