//! Content-addressed artifact storage.
//!
//! Every output of a step (a table as Parquet, a model, a transform's fitted
//! state, a report) is stored once under the sha256 of its bytes. The key
//! is the content, so an artifact can never change under its name:
//! [`ArtifactStore::put`] is write-once and [`ArtifactStore::get`] checks
//! the bytes against their digest before handing them out.
//!
//! The store sits on [`object_store`], so local files today and any
//! S3-compatible service later share one code path.

mod digest;
mod store;

pub use digest::ArtifactDigest;
pub use store::ArtifactStore;

/// What went wrong storing or fetching an artifact.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ArtifactError {
    /// The text is not a sha256 digest.
    #[error(
        "`{input}` is not an artifact digest: {reason}; \
         expected 64 lowercase hex characters, optionally prefixed by `sha256:`"
    )]
    InvalidDigest { input: String, reason: &'static str },

    /// No artifact with this digest is stored.
    #[error(
        "artifact {digest} is not in the store; `sluice runs show <run>` lists \
         the artifacts a run produced"
    )]
    NotFound { digest: ArtifactDigest },

    /// The stored bytes do not hash to their name.
    #[error(
        "artifact {digest} is corrupt: its stored bytes hash to {actual}; \
         delete the object and re-run the step that produced it"
    )]
    Corrupt {
        digest: ArtifactDigest,
        actual: ArtifactDigest,
    },

    /// The local store's directory could not be created.
    #[error("cannot create the artifact directory `{}`: {source}", path.display())]
    CreateRoot {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// The object store failed.
    #[error("artifact store could not {action}: {source}")]
    Store {
        /// What was being done, including the digest where there is one.
        action: String,
        #[source]
        source: object_store::Error,
    },
}
