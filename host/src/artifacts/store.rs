//! The artifact store over any [`ObjectStore`].

use std::path::Path;
use std::sync::Arc;

use bytes::Bytes;
use futures::TryStreamExt;
use object_store::local::LocalFileSystem;
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, PutMode, PutOptions, PutPayload};

use super::{ArtifactDigest, ArtifactError};

/// Write-once, content-addressed storage of artifacts.
///
/// Objects live at `<prefix>/sha256/<first two hex chars>/<digest>`; the
/// fan-out directory keeps any one directory small on local disks.
#[derive(Debug, Clone)]
pub struct ArtifactStore {
    store: Arc<dyn ObjectStore>,
    prefix: ObjectPath,
}

impl ArtifactStore {
    /// A store over any object store (local, in-memory, S3, ...), keeping
    /// its objects under `prefix` (may be empty).
    pub fn new(store: Arc<dyn ObjectStore>, prefix: impl Into<ObjectPath>) -> Self {
        Self {
            store,
            prefix: prefix.into(),
        }
    }

    /// A store in the local directory `root` (created if missing), with
    /// objects under `root/artifacts/sha256/`. Writes go to a temporary file
    /// renamed into place, so a crash never leaves a half-written artifact.
    pub fn local(root: &Path) -> Result<Self, ArtifactError> {
        std::fs::create_dir_all(root).map_err(|source| ArtifactError::CreateRoot {
            path: root.to_owned(),
            source,
        })?;
        let store =
            LocalFileSystem::new_with_prefix(root).map_err(|source| ArtifactError::Store {
                action: format!("open the directory `{}`", root.display()),
                source,
            })?;
        Ok(Self::new(Arc::new(store), "artifacts"))
    }

    /// The same store with objects under `sub` (slash-separated) below
    /// this store's prefix: tenants use `tenants/NAME`.
    pub fn scoped(&self, sub: &str) -> Self {
        let prefix = sub
            .split('/')
            .filter(|p| !p.is_empty())
            .fold(self.prefix.clone(), |acc, part| acc.child(part));
        Self {
            store: self.store.clone(),
            prefix,
        }
    }

    fn sha256_dir(&self) -> ObjectPath {
        self.prefix.child("sha256")
    }

    fn location(&self, digest: &ArtifactDigest) -> ObjectPath {
        let hex = digest.to_hex();
        self.sha256_dir().child(&hex[..2]).child(hex)
    }

    /// Stores `bytes` and returns their digest. Storing bytes that are
    /// already there is cheap and leaves the existing object untouched.
    pub async fn put(&self, bytes: Bytes) -> Result<ArtifactDigest, ArtifactError> {
        let digest = ArtifactDigest::of(&bytes);
        if self.exists(&digest).await? {
            return Ok(digest);
        }
        let options = PutOptions {
            mode: PutMode::Create,
            ..PutOptions::default()
        };
        match self
            .store
            .put_opts(&self.location(&digest), PutPayload::from(bytes), options)
            .await
        {
            // Another writer stored the same bytes first: same content, done.
            Ok(_) | Err(object_store::Error::AlreadyExists { .. }) => Ok(digest),
            Err(source) => Err(ArtifactError::Store {
                action: format!("write artifact {digest}"),
                source,
            }),
        }
    }

    /// Fetches an artifact, verifying that its bytes hash to `digest`.
    pub async fn get(&self, digest: &ArtifactDigest) -> Result<Bytes, ArtifactError> {
        let store_error = |source| ArtifactError::Store {
            action: format!("read artifact {digest}"),
            source,
        };
        let bytes = match self.store.get(&self.location(digest)).await {
            Ok(result) => result.bytes().await.map_err(store_error)?,
            Err(object_store::Error::NotFound { .. }) => {
                return Err(ArtifactError::NotFound {
                    digest: digest.clone(),
                });
            }
            Err(source) => return Err(store_error(source)),
        };
        let actual = ArtifactDigest::of(&bytes);
        if actual != *digest {
            return Err(ArtifactError::Corrupt {
                digest: digest.clone(),
                actual,
            });
        }
        Ok(bytes)
    }

    /// Whether an artifact with this digest is stored (its bytes are not
    /// checked; [`get`](Self::get) does that).
    pub async fn exists(&self, digest: &ArtifactDigest) -> Result<bool, ArtifactError> {
        match self.store.head(&self.location(digest)).await {
            Ok(_) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(source) => Err(ArtifactError::Store {
                action: format!("look up artifact {digest}"),
                source,
            }),
        }
    }

    /// Every stored artifact, sorted by digest. Objects under the prefix
    /// whose names are not digests are ignored.
    pub async fn list(&self) -> Result<Vec<ArtifactDigest>, ArtifactError> {
        let objects: Vec<_> = self
            .store
            .list(Some(&self.sha256_dir()))
            .try_collect()
            .await
            .map_err(|source| ArtifactError::Store {
                action: "list artifacts".to_owned(),
                source,
            })?;
        let mut digests: Vec<_> = objects
            .iter()
            .filter_map(|meta| ArtifactDigest::parse(meta.location.filename()?).ok())
            .collect();
        digests.sort();
        Ok(digests)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use object_store::memory::InMemory;

    fn object_file(root: &Path, digest: &ArtifactDigest) -> std::path::PathBuf {
        let hex = digest.to_hex();
        root.join("artifacts/sha256").join(&hex[..2]).join(hex)
    }

    #[tokio::test]
    async fn put_get_round_trip_on_disk() {
        let dir = tempfile::tempdir().unwrap();
        let store = ArtifactStore::local(&dir.path().join("store")).unwrap();
        let digest = store.put(Bytes::from_static(b"model bytes")).await.unwrap();
        assert_eq!(digest, ArtifactDigest::of(b"model bytes"));
        assert!(object_file(&dir.path().join("store"), &digest).is_file());
        assert_eq!(store.get(&digest).await.unwrap(), &b"model bytes"[..]);
        assert!(store.exists(&digest).await.unwrap());
    }

    #[tokio::test]
    async fn put_is_idempotent_and_write_once() {
        let dir = tempfile::tempdir().unwrap();
        let store = ArtifactStore::local(dir.path()).unwrap();
        let first = store.put(Bytes::from_static(b"x")).await.unwrap();
        let file = object_file(dir.path(), &first);
        let modified = std::fs::metadata(&file).unwrap().modified().unwrap();
        std::thread::sleep(std::time::Duration::from_millis(20));
        let second = store.put(Bytes::from_static(b"x")).await.unwrap();
        assert_eq!(first, second);
        assert_eq!(
            std::fs::metadata(&file).unwrap().modified().unwrap(),
            modified,
            "an existing object is not rewritten"
        );
        let other = store.put(Bytes::from_static(b"y")).await.unwrap();
        let mut expected = vec![first.clone(), other];
        expected.sort();
        assert_eq!(store.list().await.unwrap(), expected);
    }

    #[tokio::test]
    async fn corruption_is_detected() {
        let dir = tempfile::tempdir().unwrap();
        let store = ArtifactStore::local(dir.path()).unwrap();
        let digest = store.put(Bytes::from_static(b"original")).await.unwrap();
        std::fs::write(object_file(dir.path(), &digest), b"tampered").unwrap();
        match store.get(&digest).await {
            Err(ArtifactError::Corrupt { digest: d, actual }) => {
                assert_eq!(d, digest);
                assert_eq!(actual, ArtifactDigest::of(b"tampered"));
            }
            other => panic!("expected Corrupt, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn missing_artifact_is_not_found() {
        let store = ArtifactStore::new(Arc::new(InMemory::new()), "");
        let digest = ArtifactDigest::of(b"never stored");
        assert!(!store.exists(&digest).await.unwrap());
        let err = store.get(&digest).await.unwrap_err();
        assert!(matches!(err, ArtifactError::NotFound { digest: ref d } if *d == digest));
        let text = err.to_string();
        assert!(text.contains(&digest.to_hex()) && text.contains("sluice runs show"));
        assert!(store.list().await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn in_memory_store_round_trips() {
        let store = ArtifactStore::new(Arc::new(InMemory::new()), "tenant-a");
        let digest = store.put(Bytes::from_static(b"abc")).await.unwrap();
        assert_eq!(store.get(&digest).await.unwrap(), &b"abc"[..]);
        assert_eq!(store.list().await.unwrap(), [digest]);
    }
}
