//! Content-addressed artifact storage.
//!
//! Every output of a step (a table as Parquet, a model, a transform's fitted
//! state, a report) is stored once under the sha256 of its bytes. The key
//! is the content, so an artifact can never change under its name:
//! [`ArtifactStore::put`] is write-once (it writes again only over an
//! object whose bytes went bad) and [`ArtifactStore::get`] and
//! [`ArtifactStore::check`] check the bytes against their digest.
//!
//! The store sits on [`object_store`]: a local directory by default, or any
//! S3-compatible service (`s3://bucket/prefix`, see [`StoreLocation`]), one
//! code path for both. Operations on S3 that fail in a way that may pass
//! are retried with exponential backoff for up to a minute, and stalled
//! requests are timed out ([`RetryPolicy`]); when the retries run out the
//! error names the store, the object and the cause.

#[doc(hidden)]
pub mod conformance;
mod digest;
mod direct;
mod location;
mod pieces;
mod retry;
mod store;
mod transient;

pub use digest::ArtifactDigest;
pub use location::StoreLocation;
pub(crate) use location::{S3_SETTINGS, s3_builder};
pub use pieces::FilePieces;
pub use retry::RetryPolicy;
pub(crate) use retry::Waiting;
pub use store::{ArtifactStore, Integrity, StoredArtifact};

/// What went wrong storing or fetching an artifact.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ArtifactError {
    /// The text is not a sha256 digest.
    #[error(
        "`{input}` is not an artifact digest: {reason}; \
         expected 64 lowercase hex characters, optionally prefixed by `sha256:`"
    )]
    InvalidDigest {
        /// The text given.
        input: String,
        /// What is wrong with it.
        reason: &'static str,
    },

    /// No artifact with this digest is stored.
    #[error(
        "artifact {digest} is not in the artifact store {store}; `sluice runs show <run>` \
         lists the artifacts a run produced (and `--store` / SLUICE_STORE picks the store)"
    )]
    NotFound {
        /// The digest asked for.
        digest: ArtifactDigest,
        /// The store, as its location.
        store: String,
    },

    /// The stored bytes do not hash to their name.
    #[error(
        "artifact {digest} in the artifact store {store} is corrupt: its stored bytes hash \
         to {actual}; delete the object `{object}` and re-run the step that produced it"
    )]
    Corrupt {
        /// The digest the object is stored under.
        digest: ArtifactDigest,
        /// The digest of the bytes it holds.
        actual: ArtifactDigest,
        /// The store, as its location.
        store: String,
        /// The object's key in the store.
        object: String,
    },

    /// The store's location (`--store`, SLUICE_STORE) or its settings are
    /// not usable.
    #[error("artifact store `{location}`: {reason}")]
    InvalidLocation {
        /// The location given.
        location: String,
        /// What is wrong with it.
        reason: String,
    },

    /// The local store's directory could not be created.
    #[error("cannot create the artifact directory `{}`: {source}", path.display())]
    CreateRoot {
        /// The directory.
        path: std::path::PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },

    /// The object store failed (after its retries, for S3).
    #[error(
        "artifact store {store} could not {action} (object `{object}`): {}{gave_up}",
        cause(error)
    )]
    Store {
        /// `s3://bucket/prefix` or a directory.
        store: String,
        /// What was being done, including the digest where there is one.
        action: String,
        /// The object's key inside the store (`-` when there is none).
        object: String,
        /// Not a `#[source]`: the message says it once, in `cause`.
        error: Box<object_store::Error>,
        /// How the retries ended (`; gave up after 3 retries in 2.1 s
        /// (..)`), or empty.
        gave_up: String,
    },
}

/// What went wrong in a store error: the failure that may pass, when the
/// retries ended on one (`cannot connect: Connection refused ..`), else object_store's
/// own message.
pub(crate) fn cause(error: &object_store::Error) -> String {
    match transient::find(error) {
        Some(transient) => transient.to_string(),
        None => error.to_string(),
    }
}
