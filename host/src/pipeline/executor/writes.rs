//! Pending writes: outputs hashed at once and written to the store behind
//! the run (a step downstream reads them from memory meanwhile), within
//! the tenant's storage cap, recorded once stored. Not for tables: see
//! [`tables`](super::tables) for the Parquet outputs and their batches.

use super::error::{ExecError, StepAbort};
use super::{RunCtx, lock};
use crate::artifacts::ArtifactDigest;
use crate::meta::Admission;
use bytes::Bytes;
use std::sync::Arc;

/// An output being written to the store, then recorded.
pub(super) type Write = tokio::task::JoinHandle<Result<(), ExecError>>;

/// What [`put_behind`](RunCtx::put_behind) writes.
pub(super) enum Payload {
    /// Bytes in memory, one piece after the other.
    Pieces(Vec<Bytes>),
    /// The first `.1` bytes of a dataset file, read a piece at a time.
    File(Arc<std::fs::File>, u64),
}

impl RunCtx<'_> {
    /// Store an output of `step` under the tenant's prefix, within its
    /// storage cap: an output that would take the tenant over the cap fails
    /// the step and is not written.
    ///
    /// The bytes are hashed here and written behind: the step (and the
    /// ones after it) go on while the store takes them, reading them from
    /// memory ([`blob`](Self::blob)) until then. An artifact's records
    /// (`artifacts`, the tenant's usage) are made once its bytes are
    /// stored, and the run ends only when every write has (see
    /// [`flush_writes`](Self::flush_writes)); after a write that fails no
    /// more steps start, and the run stops with its error. A step recorded
    /// before its outputs landed is safe to resume: a step is only reused
    /// when all its outputs exist.
    pub(super) async fn put_blob(
        &self,
        step: &str,
        bytes: impl Into<Bytes>,
        media_type: &str,
    ) -> Result<ArtifactDigest, StepAbort> {
        let bytes = bytes.into();
        let digest = ArtifactDigest::of(&bytes);
        self.put_pieces(step, vec![bytes], digest, media_type).await
    }

    /// [`put_blob`](Self::put_blob) of an artifact whose bytes are `pieces`
    /// one after the other, which hash to `digest`.
    pub(super) async fn put_pieces(
        &self,
        step: &str,
        pieces: Vec<Bytes>,
        digest: ArtifactDigest,
        media_type: &str,
    ) -> Result<ArtifactDigest, StepAbort> {
        self.put_behind(step, Payload::Pieces(pieces), digest, media_type)
            .await
    }

    /// [`put_pieces`](Self::put_pieces) of a dataset file, which hashed to
    /// `digest`: copied into the store a piece at a time, never held whole
    /// (see [`ArtifactStore::put_file`](crate::artifacts::ArtifactStore)).
    pub(super) async fn put_file(
        &self,
        step: &str,
        file: &crate::data::DataFile,
        digest: ArtifactDigest,
    ) -> Result<ArtifactDigest, StepAbort> {
        let payload = Payload::File(file.file.clone(), file.size);
        self.put_behind(step, payload, digest, "application/octet-stream")
            .await
    }

    /// [`put_pieces`](Self::put_pieces) or [`put_file`](Self::put_file):
    /// checked against the tenant's storage cap, then written behind.
    pub(super) async fn put_behind(
        &self,
        step: &str,
        payload: Payload,
        digest: ArtifactDigest,
        media_type: &str,
    ) -> Result<ArtifactDigest, StepAbort> {
        let size = match &payload {
            Payload::Pieces(pieces) => pieces.iter().map(|p| p.len() as u64).sum::<u64>(),
            Payload::File(_, size) => *size,
        };
        let tenant = &self.tenant.name;
        let cap = self.tenant.caps.storage_bytes();
        let as_i64 = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
        let reservation = match self
            .meta
            .reserve_storage(tenant, &digest, as_i64(size), as_i64(cap))
            .await?
        {
            Admission::Reserved(id) => Some(id),
            Admission::AlreadyStored => None,
            Admission::OverCap { stored, reserved } => {
                return Err(StepAbort::Failed(format!(
                    "step '{step}': tenant '{tenant}' would exceed its storage cap of {} MiB \
                     (it stores {stored} bytes, {reserved} more are being written; this output \
                     is {size} bytes); nothing was written. Raise it with `sluice tenants set \
                     {tenant} storage_mib=N`",
                    self.tenant.caps.storage_mib
                )));
            }
        };
        if let Payload::Pieces(pieces) = &payload {
            lock(&self.state.unwritten).insert(digest.clone(), pieces.clone());
        }
        let (store, meta, unwritten, failed) = (
            self.artifacts.clone(),
            self.meta.clone(),
            self.state.unwritten.clone(),
            self.state.write_failed.clone(),
        );
        let (tenant, media_type, d) = (tenant.clone(), media_type.to_owned(), digest.clone());
        let task = tokio::spawn(async move {
            let stored = async {
                crate::crash::pause("storage-admitted").await;
                match payload {
                    Payload::Pieces(pieces) => {
                        store
                            .put_hashed(&d, object_store::PutPayload::from_iter(pieces))
                            .await?
                    }
                    Payload::File(file, len) => store.put_file(&d, file, len).await?,
                }
                meta.record_artifact(&d, size as i64, &media_type).await?;
                match reservation {
                    Some(id) => {
                        meta.commit_reservation(id, &tenant, &d, size as i64)
                            .await?
                    }
                    None => {
                        meta.record_tenant_artifact(&tenant, &d, size as i64)
                            .await?
                    }
                }
                Ok(())
            }
            .await;
            lock(&unwritten).remove(&d);
            if stored.is_err() {
                if let Some(id) = reservation {
                    // Best effort: a reservation left behind is released
                    // once this process is gone.
                    let _ = meta.release_reservation(id).await;
                }
                failed.store(true, std::sync::atomic::Ordering::Relaxed);
            }
            stored
        });
        lock(&self.state.writes).push((digest.clone(), task));
        Ok(digest)
    }

    /// Wait for every output written behind (see [`put_blob`](Self::put_blob));
    /// the first that failed is the error.
    pub(super) async fn flush_writes(&self) -> Result<(), ExecError> {
        let mut first = Ok(());
        loop {
            let tasks = std::mem::take(&mut *lock(&self.state.writes));
            if tasks.is_empty() {
                return first;
            }
            for (digest, task) in tasks {
                let result = task.await.unwrap_or_else(|source| {
                    Err(ExecError::Artifacts(
                        crate::artifacts::ArtifactError::Store {
                            store: self.artifacts.describe(),
                            action: format!("write artifact {digest}"),
                            object: self.artifacts.object_path(&digest).to_string(),
                            error: Box::new(object_store::Error::JoinError { source }),
                            gave_up: String::new(),
                        },
                    ))
                });
                if first.is_ok() {
                    first = result;
                }
            }
        }
    }

    pub(super) fn write_failed(&self) -> bool {
        self.state
            .write_failed
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// An artifact's bytes: from memory while its write is on its way,
    /// else from the store.
    pub(super) async fn blob(&self, digest: &ArtifactDigest) -> Result<Bytes, ExecError> {
        if let Some(pieces) = lock(&self.state.unwritten).get(digest) {
            return Ok(match pieces.as_slice() {
                [one] => one.clone(),
                many => Bytes::from(many.concat()),
            });
        }
        Ok(self.artifacts.get(digest).await?)
    }

    pub(super) async fn put_json(
        &self,
        step: &str,
        value: &serde_json::Value,
    ) -> Result<ArtifactDigest, StepAbort> {
        let bytes = serde_json::to_vec_pretty(value).expect("a JSON value serializes");
        self.put_blob(step, bytes, "application/json").await
    }
}
