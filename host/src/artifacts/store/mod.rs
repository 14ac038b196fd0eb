//! The artifact store over any [`ObjectStore`]: its handle, reading,
//! checking, listing and deleting artifacts. Writing them (and first
//! comparing with what is stored) is in `put.rs`.

mod put;
#[cfg(test)]
mod tests;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use futures::TryStreamExt;
use object_store::ObjectStore;
use object_store::local::LocalFileSystem;
use object_store::path::Path as ObjectPath;
use serde::Serialize;

use super::retry::{Failed, RetryPolicy, Waiting};
use super::{ArtifactDigest, ArtifactError};

/// Write-once, content-addressed storage of artifacts.
///
/// Objects live at `<prefix>/sha256/<first two hex chars>/<digest>`; the
/// fan-out directory keeps any one directory small on local disks. A
/// [`scoped`](Self::scoped) store keeps its objects under
/// `<prefix>/<sub>/sha256/...`, which no other scope lists or touches.
#[derive(Debug, Clone)]
pub struct ArtifactStore {
    store: Arc<dyn ObjectStore>,
    prefix: ObjectPath,
    /// Where the object store is (`s3://bucket`, a directory), for messages.
    base: Arc<str>,
    /// The same store when it is a local directory: artifacts are written
    /// to its files directly ([`direct`](super::direct)).
    local: Option<Arc<LocalFileSystem>>,
    /// How operations are retried (a remote store); `None`: tried once.
    retry: Option<RetryPolicy>,
    /// The retries under way, shared by every handle on the object store.
    waiting: Arc<Waiting>,
}

/// What re-reading a stored artifact found ([`ArtifactStore::check`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "lowercase")]
pub enum Integrity {
    /// Its bytes hash to its digest.
    Intact,
    /// No object is stored under its digest.
    Missing,
    /// The stored bytes hash to `actual` instead (changed or truncated in
    /// place); `object` is the object's key.
    Corrupt {
        /// The digest of the bytes it holds.
        actual: ArtifactDigest,
        /// The object's key in the store.
        object: String,
    },
}

impl Integrity {
    /// Whether the stored bytes hash to their digest.
    pub fn is_intact(&self) -> bool {
        matches!(self, Self::Intact)
    }
}

impl std::fmt::Display for Integrity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Intact => f.write_str("intact"),
            Self::Missing => f.write_str("missing from the artifact store"),
            Self::Corrupt { actual, object } => write!(
                f,
                "corrupt: the stored object `{object}` hashes to {actual}"
            ),
        }
    }
}

/// One stored artifact as [`ArtifactStore::list_stored`] sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredArtifact {
    /// The artifact.
    pub digest: ArtifactDigest,
    /// Bytes as stored.
    pub size: u64,
    /// When the object was written.
    pub last_modified: DateTime<Utc>,
}

impl ArtifactStore {
    /// A store over any object store (local, in-memory, S3, ...), keeping
    /// its objects under `prefix` (may be empty).
    pub fn new(store: Arc<dyn ObjectStore>, prefix: impl Into<ObjectPath>) -> Self {
        Self::named(store, prefix, "object-store:")
    }

    /// Like [`new`](Self::new), with `base` naming the object store in
    /// messages (`s3://bucket`, `/home/me/.sluice`).
    pub fn named(
        store: Arc<dyn ObjectStore>,
        prefix: impl Into<ObjectPath>,
        base: impl Into<String>,
    ) -> Self {
        Self {
            store,
            prefix: prefix.into(),
            base: Arc::from(base.into()),
            local: None,
            retry: None,
            waiting: Arc::default(),
        }
    }

    /// The same store, with its operations retried as `policy` says
    /// (stalled requests are timed out by the object store itself:
    /// [`StoreLocation::open`](super::StoreLocation::open)).
    pub fn with_retries(self, policy: RetryPolicy) -> Self {
        Self {
            retry: Some(policy),
            ..self
        }
    }

    /// A store in the local directory `root` (created if missing), with
    /// objects under `root/artifacts/sha256/`. Writes go to a temporary file
    /// renamed into place, so a crash never leaves a half-written artifact.
    pub fn local(root: &Path) -> Result<Self, ArtifactError> {
        Ok(Self::local_dir(root)?.scoped("artifacts"))
    }

    /// A store whose objects are directly under the local directory `dir`
    /// (`dir/sha256/...`), created if missing.
    pub fn local_dir(dir: &Path) -> Result<Self, ArtifactError> {
        std::fs::create_dir_all(dir).map_err(|source| ArtifactError::CreateRoot {
            path: dir.to_owned(),
            source,
        })?;
        let store =
            LocalFileSystem::new_with_prefix(dir).map_err(|error| ArtifactError::Store {
                store: dir.display().to_string(),
                action: "open the directory".to_owned(),
                object: "-".to_owned(),
                error: Box::new(error),
                gave_up: String::new(),
            })?;
        let store = Arc::new(store);
        Ok(Self {
            local: Some(store.clone()),
            ..Self::named(store, ObjectPath::default(), dir.display().to_string())
        })
    }

    /// The same object store with objects under `<prefix>/<sub>/` instead:
    /// tenants get `tenants/<name>`. Scopes never see each other's
    /// artifacts: listing, lookups and deletes only touch exact locations
    /// under their own prefix. `sub` is split on `/`; empty, `.` and `..`
    /// parts are escaped by [`ObjectPath`], never interpreted.
    pub fn scoped(&self, sub: &str) -> ArtifactStore {
        let sub = ObjectPath::from(sub);
        let prefix: ObjectPath = self.prefix.parts().chain(sub.parts()).collect();
        Self {
            store: self.store.clone(),
            prefix,
            base: self.base.clone(),
            local: self.local.clone(),
            retry: self.retry,
            waiting: self.waiting.clone(),
        }
    }

    /// Where this store keeps its objects: `s3://bucket/prefix`, or a
    /// directory.
    pub fn describe(&self) -> String {
        let base = self.base.trim_end_matches('/');
        if self.prefix.as_ref().is_empty() {
            base.to_owned()
        } else {
            format!("{base}/{}", self.prefix)
        }
    }

    /// The underlying object store (for tools and tests that need to look
    /// at raw objects).
    pub fn object_store(&self) -> &Arc<dyn ObjectStore> {
        &self.store
    }

    /// The object key of an artifact inside the object store.
    pub fn object_path(&self, digest: &ArtifactDigest) -> ObjectPath {
        let hex = digest.to_hex();
        self.sha256_dir().child(&hex[..2]).child(hex)
    }

    fn sha256_dir(&self) -> ObjectPath {
        self.prefix.child("sha256")
    }

    /// Does `attempt` (one operation on `object`), retried as the store's
    /// policy says; an error names the store, `action` and the object.
    async fn retrying<T, Fut>(
        &self,
        action: &str,
        object: &ObjectPath,
        attempt: impl FnMut() -> Fut,
    ) -> Result<T, ArtifactError>
    where
        Fut: Future<Output = Result<T, object_store::Error>>,
    {
        let mut attempt = attempt;
        let done = match &self.retry {
            Some(policy) => {
                policy
                    .run(&self.waiting, &self.describe(), action, attempt)
                    .await
            }
            None => attempt().await.map_err(Failed::at_once),
        };
        done.map_err(|Failed { error, gave_up }| ArtifactError::Store {
            store: self.describe(),
            action: action.to_owned(),
            object: object.to_string(),
            error: Box::new(error),
            gave_up,
        })
    }

    /// Re-reads the stored artifact `digest` and re-hashes its bytes: what
    /// `sluice verify`, `sluice store check` and promotion ask before
    /// vouching for an artifact.
    pub async fn check(&self, digest: &ArtifactDigest) -> Result<Integrity, ArtifactError> {
        match self.get(digest).await {
            Ok(_) => Ok(Integrity::Intact),
            Err(ArtifactError::NotFound { .. }) => Ok(Integrity::Missing),
            Err(ArtifactError::Corrupt { actual, object, .. }) => {
                Ok(Integrity::Corrupt { actual, object })
            }
            Err(e) => Err(e),
        }
    }

    /// Fetches an artifact, verifying that its bytes hash to `digest`.
    pub async fn get(&self, digest: &ArtifactDigest) -> Result<Bytes, ArtifactError> {
        let location = self.object_path(digest);
        let (store, at) = (&self.store, &location);
        let read = self
            .retrying(&format!("read artifact {digest}"), at, || async move {
                match store.get(at).await {
                    Ok(found) => found.bytes().await.map(Some),
                    Err(object_store::Error::NotFound { .. }) => Ok(None),
                    Err(e) => Err(e),
                }
            })
            .await?;
        let Some(bytes) = read else {
            return Err(ArtifactError::NotFound {
                digest: digest.clone(),
                store: self.describe(),
            });
        };
        let actual = ArtifactDigest::of(&bytes);
        if actual != *digest {
            return Err(ArtifactError::Corrupt {
                digest: digest.clone(),
                actual,
                store: self.describe(),
                object: location.to_string(),
            });
        }
        Ok(bytes)
    }

    /// Whether an artifact with this digest is stored (its bytes are not
    /// checked; [`get`](Self::get) does that).
    pub async fn exists(&self, digest: &ArtifactDigest) -> Result<bool, ArtifactError> {
        let location = self.object_path(digest);
        let (store, at) = (&self.store, &location);
        self.retrying(&format!("look up artifact {digest}"), at, || async move {
            match store.head(at).await {
                Ok(_) => Ok(true),
                Err(object_store::Error::NotFound { .. }) => Ok(false),
                Err(e) => Err(e),
            }
        })
        .await
    }

    /// Deletes an artifact. Deleting one that is not there is not an error
    /// (S3 cannot tell the two apart).
    pub async fn delete(&self, digest: &ArtifactDigest) -> Result<(), ArtifactError> {
        let location = self.object_path(digest);
        let (store, at) = (&self.store, &location);
        self.retrying(&format!("delete artifact {digest}"), at, || async move {
            match store.delete(at).await {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
                Err(e) => Err(e),
            }
        })
        .await
    }

    /// Every stored artifact, sorted by digest. Objects under the prefix
    /// that are not at an artifact's exact location (temporary files,
    /// other scopes) are ignored.
    pub async fn list(&self) -> Result<Vec<ArtifactDigest>, ArtifactError> {
        Ok(self
            .list_stored()
            .await?
            .into_iter()
            .map(|a| a.digest)
            .collect())
    }

    /// Like [`list`](Self::list), with each object's size and write time.
    pub async fn list_stored(&self) -> Result<Vec<StoredArtifact>, ArtifactError> {
        let dir = self.sha256_dir();
        let (store, at) = (&self.store, &dir);
        let objects: Vec<_> = self
            .retrying("list artifacts", at, || store.list(Some(at)).try_collect())
            .await?;
        let mut found: Vec<_> = objects
            .into_iter()
            .filter_map(|meta| {
                let digest = ArtifactDigest::parse(meta.location.filename()?).ok()?;
                (meta.location == self.object_path(&digest)).then_some(StoredArtifact {
                    digest,
                    size: meta.size,
                    last_modified: meta.last_modified,
                })
            })
            .collect();
        found.sort_by(|a, b| a.digest.cmp(&b.digest));
        Ok(found)
    }

    /// Staging files (`<object>#<n>`, see `store/direct.rs`) last
    /// modified at or before `cutoff`, with their sizes: what a write
    /// killed between writing and renaming left in a local store. Other
    /// stores stage nothing of sluice's.
    pub fn stale_staging(
        &self,
        cutoff: DateTime<Utc>,
    ) -> Result<Vec<(PathBuf, u64)>, ArtifactError> {
        let Some(local) = &self.local else {
            return Ok(Vec::new());
        };
        let dir = self.sha256_dir();
        let failed = |error: object_store::Error| ArtifactError::Store {
            store: self.describe(),
            action: "list staging files".to_owned(),
            object: dir.to_string(),
            error: Box::new(error),
            gave_up: String::new(),
        };
        let root = local.path_to_filesystem(&dir).map_err(failed)?;
        let io_error = |path: &Path, source: std::io::Error| {
            failed(object_store::Error::Generic {
                store: "LocalFileSystem",
                source: format!("{}: {source}", path.display()).into(),
            })
        };
        let mut found = Vec::new();
        let mut stack = vec![root];
        while let Some(d) = stack.pop() {
            let entries = match std::fs::read_dir(&d) {
                Ok(entries) => entries,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(io_error(&d, e)),
            };
            for entry in entries {
                let entry = entry.map_err(|e| io_error(&d, e))?;
                let meta = entry.metadata().map_err(|e| io_error(&entry.path(), e))?;
                if meta.is_dir() {
                    stack.push(entry.path());
                } else if entry.file_name().to_string_lossy().contains('#')
                    && meta
                        .modified()
                        .is_ok_and(|m| DateTime::<Utc>::from(m) <= cutoff)
                {
                    found.push((entry.path(), meta.len()));
                }
            }
        }
        found.sort();
        Ok(found)
    }
}
