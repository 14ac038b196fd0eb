//! Step seeds: each step's seed derives from the pipeline's seed and the
//! step's id, the same when planning a run and when serving a registered
//! model. A leaf every layer may use; not where seeds are used.

use sha2::{Digest, Sha256};

/// The seed of one step: the pipeline's seed mixed with the step id.
pub fn step_seed(pipeline_seed: u64, step_id: &str) -> u64 {
    let mut h = Sha256::new();
    h.update(pipeline_seed.to_le_bytes());
    h.update(step_id.as_bytes());
    let d = h.finalize();
    u64::from_le_bytes(d[..8].try_into().expect("8 bytes"))
}
