//! Whether the stored artifacts are what the records say they are.
//!
//! An artifact's name is the sha256 of its bytes, but a disk, a bucket or
//! a person can still change the bytes under the name. Nothing vouches for
//! an artifact without reading it back: `sluice verify` re-hashes a run's
//! stored outputs ([`check_run_outputs`]) before it re-executes the run.

use std::collections::HashMap;

use serde::Serialize;

use crate::artifacts::{ArtifactDigest, ArtifactError, ArtifactStore, Integrity};
use crate::meta::RunRecord;

/// One recorded output of a run and what its stored object holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OutputCheck {
    pub step: String,
    pub output: String,
    pub digest: ArtifactDigest,
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
