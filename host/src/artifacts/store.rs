//! The artifact store over any [`ObjectStore`].

use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use futures::TryStreamExt;
use object_store::local::LocalFileSystem;
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, PutPayload};
use serde::Serialize;

use super::retry::{Failed, RetryPolicy, Waiting};
use super::{ArtifactDigest, ArtifactError, FilePieces};

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
        actual: ArtifactDigest,
        object: String,
    },
}

impl Integrity {
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

/// What [`ArtifactStore::put_hashed`] found under the digest it writes.
enum Existing {
    Absent,
    Equal,
    /// Stored bytes that are not the ones being put (`size` of them).
    Different {
        size: u64,
    },
}

/// An object read back by [`ArtifactStore::compare_stored`]: its bytes
/// when it has the size of the ones being put, else only its size.
enum ReadBack {
    Absent,
    Bytes(Bytes),
    OtherSize(u64),
}

/// One stored artifact as [`ArtifactStore::list_stored`] sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredArtifact {
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

    /// Stores `bytes` and returns their digest. Storing bytes that are
    /// already there is cheap and leaves the existing object untouched,
    /// once it is read back and found equal to `bytes`: an object that was
    /// corrupted or truncated in place is written again (and a warning
    /// logged), so a rerun repairs what it reproduces. A write is one
    /// atomic PUT (S3) or a rename into place (local), so a failure never
    /// leaves a partial object under the digest.
    ///
    /// The write itself is a plain overwrite, not a conditional create:
    /// many S3-compatible servers (Garage among them) ignore or refuse
    /// `If-None-Match` on PUT, and two writers racing on one digest write
    /// the same bytes anyway.
    pub async fn put(&self, bytes: Bytes) -> Result<ArtifactDigest, ArtifactError> {
        let digest = ArtifactDigest::of(&bytes);
        self.put_hashed(&digest, bytes).await?;
        Ok(digest)
    }

    /// [`put`](Self::put) of bytes the caller has just hashed to `digest`
    /// (with [`ArtifactDigest::of`] or [`ArtifactDigest::of_parts`]),
    /// without hashing them again; `bytes` may be in pieces.
    pub(crate) async fn put_hashed(
        &self,
        digest: &ArtifactDigest,
        bytes: impl Into<PutPayload>,
    ) -> Result<(), ArtifactError> {
        let payload: PutPayload = bytes.into();
        let location = self.object_path(digest);
        let existing = self.compare_stored(digest, &location, &payload).await?;
        if !self.to_write(existing, digest, &location, payload.content_length() as u64) {
            return Ok(());
        }
        let (store, location, payload) = (&self.store, &location, &payload);
        self.retrying(
            &format!("write artifact {digest}"),
            location,
            || async move {
                match &self.local {
                    Some(local) => write_local(local, location, payload.clone()).await,
                    None => store.put(location, payload.clone()).await.map(drop),
                }
            },
        )
        .await
    }

    /// [`put_hashed`](Self::put_hashed) of the first `len` bytes of `file`,
    /// which the caller hashed to `digest`, read a piece at a time
    /// ([`FilePieces`]): neither the comparison with a stored object nor
    /// the write holds the file whole. The pieces are hashed again as they
    /// are read; if they no longer hash to `digest` (the file changed),
    /// that is the error, and no object is left under the digest. A retry
    /// (S3) reads the file again from its start.
    pub(crate) async fn put_file(
        &self,
        digest: &ArtifactDigest,
        file: Arc<std::fs::File>,
        len: u64,
    ) -> Result<(), ArtifactError> {
        let location = self.object_path(digest);
        let existing = self
            .compare_stored_file(digest, &location, &file, len)
            .await?;
        if !self.to_write(existing, digest, &location, len) {
            return Ok(());
        }
        let pieces = |piece| FilePieces::new(file.clone(), len, piece).expecting(digest.clone());
        let (location, file) = (&location, &file);
        self.retrying(
            &format!("write artifact {digest}"),
            location,
            || async move {
                let size = usize::try_from(len)
                    .map_err(|_| local_error(std::io::ErrorKind::FileTooLarge.into()))?;
                match &self.local {
                    Some(local) => {
                        let dest = local.path_to_filesystem(location)?;
                        let (file, digest) = (file.clone(), digest.clone());
                        tokio::task::spawn_blocking(move || {
                            super::direct::write_file_from(&dest, size, || {
                                FilePieces::new(file.clone(), len, super::direct::CHUNK)
                                    .expecting(digest.clone())
                            })
                        })
                        .await
                        .map_err(std::io::Error::other)
                        .and_then(|written| written)
                        .map_err(local_error)
                    }
                    None => self.upload(location, pieces(UPLOAD_PART), size).await,
                }
            },
        )
        .await
    }

    /// Writes `pieces` (`len` bytes) to `location` of a store that is not a
    /// local directory: one PUT when they are one piece, else a multipart
    /// upload, completed only once every piece was read (so the object
    /// appears whole or not at all) and aborted otherwise. An error reading
    /// the file is a local one ([`local_error`]), never retried.
    async fn upload(
        &self,
        location: &ObjectPath,
        pieces: FilePieces,
        len: usize,
    ) -> Result<(), object_store::Error> {
        let mut pieces = Some(pieces);
        if len <= UPLOAD_PART {
            // One piece, the last: its hash was checked.
            let piece = next_piece(&mut pieces).await.map_err(local_error)?;
            return self
                .store
                .put(location, PutPayload::from(piece.unwrap_or_default()))
                .await
                .map(drop);
        }
        let mut upload = self.store.put_multipart(location).await?;
        let sent = async {
            while let Some(piece) = next_piece(&mut pieces).await.map_err(local_error)? {
                upload.put_part(PutPayload::from(piece)).await?;
            }
            Ok(())
        }
        .await;
        match sent {
            Ok(()) => upload.complete().await.map(drop),
            Err(e) => {
                let _ = upload.abort().await;
                Err(e)
            }
        }
    }

    /// Whether to write `len` bytes under `digest`, given what is stored
    /// there: not over equal bytes; over damaged ones, with a warning.
    fn to_write(
        &self,
        existing: Existing,
        digest: &ArtifactDigest,
        location: &ObjectPath,
        len: u64,
    ) -> bool {
        match existing {
            Existing::Equal => false,
            Existing::Absent => true,
            Existing::Different { size } => {
                tracing::warn!(
                    %digest,
                    store = %self.describe(),
                    object = %location,
                    stored_bytes = size,
                    expected_bytes = len,
                    "a stored artifact did not match its digest (corrupt or truncated); \
                     writing the good bytes over it"
                );
                true
            }
        }
    }

    /// [`compare_stored`](Self::compare_stored) with the first `len` bytes
    /// of `file`, read a piece at a time alongside the stored object's. Equal
    /// only if the file's bytes also still hash to `digest`.
    async fn compare_stored_file(
        &self,
        digest: &ArtifactDigest,
        location: &ObjectPath,
        file: &Arc<std::fs::File>,
        len: u64,
    ) -> Result<Existing, ArtifactError> {
        let store = &self.store;
        self.retrying(
            &format!("read back artifact {digest}"),
            location,
            || async move {
                let found = match store.get(location).await {
                    Ok(found) => found,
                    Err(object_store::Error::NotFound { .. }) => return Ok(Existing::Absent),
                    Err(e) => return Err(e),
                };
                if found.meta.size != len {
                    return Ok(Existing::Different {
                        size: found.meta.size,
                    });
                }
                let pieces = FilePieces::new(file.clone(), len, super::direct::CHUNK)
                    .expecting(digest.clone());
                let equal = match found.payload {
                    object_store::GetResultPayload::File(stored, _) => {
                        compare_files(Arc::new(stored), len, pieces).await
                    }
                    object_store::GetResultPayload::Stream(stream) => {
                        compare_stream(stream, pieces).await
                    }
                };
                match equal {
                    Ok(true) => Ok(Existing::Equal),
                    Ok(false) => Ok(Existing::Different { size: len }),
                    // Deleted since it was opened: write it.
                    Err(object_store::Error::NotFound { .. }) => Ok(Existing::Absent),
                    Err(e) => Err(e),
                }
            },
        )
        .await
    }

    /// Reads back the object at `location`, if there is one, and compares
    /// it with `payload` (bytes that hash to `digest`). Equal bytes are the
    /// same check as re-hashing the object, and cheaper; a size that
    /// differs is found without reading the object at all.
    async fn compare_stored(
        &self,
        digest: &ArtifactDigest,
        location: &ObjectPath,
        payload: &PutPayload,
    ) -> Result<Existing, ArtifactError> {
        let (store, expected) = (&self.store, payload.content_length() as u64);
        let read_back = self
            .retrying(
                &format!("read back artifact {digest}"),
                location,
                || async move {
                    let found = match store.get(location).await {
                        Ok(found) => found,
                        Err(object_store::Error::NotFound { .. }) => return Ok(ReadBack::Absent),
                        Err(e) => return Err(e),
                    };
                    if found.meta.size != expected {
                        return Ok(ReadBack::OtherSize(found.meta.size));
                    }
                    match found.bytes().await {
                        Ok(stored) => Ok(ReadBack::Bytes(stored)),
                        // Deleted since it was opened: write it.
                        Err(object_store::Error::NotFound { .. }) => Ok(ReadBack::Absent),
                        Err(e) => Err(e),
                    }
                },
            )
            .await?;
        let stored = match read_back {
            ReadBack::Absent => return Ok(Existing::Absent),
            ReadBack::OtherSize(size) => return Ok(Existing::Different { size }),
            ReadBack::Bytes(stored) => stored,
        };
        let size = expected;
        let mut rest: &[u8] = &stored;
        for piece in payload.iter() {
            let Some((head, tail)) = rest.split_at_checked(piece.len()) else {
                return Ok(Existing::Different { size });
            };
            if head != &piece[..] {
                return Ok(Existing::Different { size });
            }
            rest = tail;
        }
        Ok(if rest.is_empty() {
            Existing::Equal
        } else {
            Existing::Different { size }
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

    /// Staging files (`<object>#<n>`, see [`direct`](super::direct)) last
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

/// Bytes per part of a multipart upload (S3 takes parts of 5 MiB and up,
/// but for the last).
const UPLOAD_PART: usize = 8 << 20;

/// An I/O error as the object store error the store's messages name.
fn local_error(e: std::io::Error) -> object_store::Error {
    object_store::Error::Generic {
        store: "LocalFileSystem",
        source: Box::new(e),
    }
}

/// The next of `pieces`, read on a blocking thread; `pieces` is put back
/// for the one after.
async fn next_piece(pieces: &mut Option<FilePieces>) -> std::io::Result<Option<Bytes>> {
    let Some(mut taken) = pieces.take() else {
        return Ok(None);
    };
    let (piece, taken) = tokio::task::spawn_blocking(move || (taken.next(), taken))
        .await
        .map_err(std::io::Error::other)?;
    *pieces = Some(taken);
    piece.transpose()
}

/// Whether the first `len` bytes of the local file `stored` are those of
/// `pieces`, and those hash as `pieces` expects: both read a piece at a
/// time, on a blocking thread.
async fn compare_files(
    stored: Arc<std::fs::File>,
    len: u64,
    mut pieces: FilePieces,
) -> object_store::Result<bool> {
    tokio::task::spawn_blocking(move || {
        for theirs in FilePieces::new(stored, len, super::direct::CHUNK) {
            let theirs = theirs.map_err(local_error)?;
            let Some(ours) = pieces.next() else {
                return Ok(false);
            };
            if ours.map_err(local_error)? != theirs {
                return Ok(false);
            }
        }
        Ok(true)
    })
    .await
    .map_err(|e| local_error(std::io::Error::other(e)))?
}

/// Whether `stream` yields the bytes of `pieces` (read as the stream's
/// chunks need them), and those hash as `pieces` expects.
async fn compare_stream(
    mut stream: futures::stream::BoxStream<'static, object_store::Result<Bytes>>,
    pieces: FilePieces,
) -> object_store::Result<bool> {
    use futures::StreamExt;
    let mut pieces = Some(pieces);
    let mut ours = Bytes::new();
    while let Some(chunk) = stream.next().await {
        let mut theirs = chunk?;
        while !theirs.is_empty() {
            if ours.is_empty() {
                match next_piece(&mut pieces).await.map_err(local_error)? {
                    Some(piece) => ours = piece,
                    None => return Ok(false),
                }
            }
            let n = ours.len().min(theirs.len());
            if ours.split_to(n) != theirs.split_to(n) {
                return Ok(false);
            }
        }
    }
    // Nothing of ours is left (the sizes are equal), but the last piece's
    // hash check may be.
    Ok(ours.is_empty()
        && next_piece(&mut pieces)
            .await
            .map_err(local_error)?
            .is_none())
}

/// Writes `payload` to the file of `location` in `local`, around the page
/// cache ([`super::direct`]) on a blocking thread.
async fn write_local(
    local: &LocalFileSystem,
    location: &ObjectPath,
    payload: PutPayload,
) -> Result<(), object_store::Error> {
    let file = local.path_to_filesystem(location)?;
    let local_error =
        |source: Box<dyn std::error::Error + Send + Sync>| object_store::Error::Generic {
            store: "LocalFileSystem",
            source,
        };
    tokio::task::spawn_blocking(move || {
        let pieces: Vec<Bytes> = payload.into_iter().collect();
        super::direct::write_file(&file, &pieces)
    })
    .await
    .map_err(|e| local_error(Box::new(e)))?
    .map_err(|e| local_error(Box::new(e)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use object_store::memory::InMemory;

    fn object_file(root: &Path, digest: &ArtifactDigest) -> std::path::PathBuf {
        let hex = digest.to_hex();
        root.join("artifacts/sha256").join(&hex[..2]).join(hex)
    }

    /// The shared conformance suite, on the local file system.
    #[tokio::test]
    async fn conformance_on_local_files() {
        let dir = tempfile::tempdir().unwrap();
        let store = ArtifactStore::local(dir.path()).unwrap();
        super::super::conformance::run_all(&store).await;
    }

    /// The shared conformance suite, in memory.
    #[tokio::test]
    async fn conformance_in_memory() {
        let store = ArtifactStore::new(Arc::new(InMemory::new()), "mem");
        super::super::conformance::run_all(&store).await;
    }

    #[tokio::test]
    async fn local_layout_is_home_artifacts_sha256() {
        let dir = tempfile::tempdir().unwrap();
        let store = ArtifactStore::local(&dir.path().join("store")).unwrap();
        let digest = store.put(Bytes::from_static(b"model bytes")).await.unwrap();
        assert_eq!(digest, ArtifactDigest::of(b"model bytes"));
        assert!(object_file(&dir.path().join("store"), &digest).is_file());
        assert_eq!(
            store.describe(),
            format!("{}/artifacts", dir.path().join("store").display())
        );
    }

    #[tokio::test]
    async fn an_existing_object_is_not_rewritten() {
        let dir = tempfile::tempdir().unwrap();
        let store = ArtifactStore::local(dir.path()).unwrap();
        let first = store.put(Bytes::from_static(b"x")).await.unwrap();
        let file = object_file(dir.path(), &first);
        let modified = std::fs::metadata(&file).unwrap().modified().unwrap();
        std::thread::sleep(std::time::Duration::from_millis(20));
        store.put(Bytes::from_static(b"x")).await.unwrap();
        assert_eq!(
            std::fs::metadata(&file).unwrap().modified().unwrap(),
            modified,
            "an existing object is not rewritten"
        );
    }

    #[tokio::test]
    async fn stray_files_are_not_artifacts() {
        let dir = tempfile::tempdir().unwrap();
        let store = ArtifactStore::local(dir.path()).unwrap();
        let digest = store.put(Bytes::from_static(b"kept")).await.unwrap();
        let hex = digest.to_hex();
        // A digest-named file in the wrong fan-out directory, and junk.
        let wrong = dir.path().join("artifacts/sha256/zz");
        std::fs::create_dir_all(&wrong).unwrap();
        std::fs::write(wrong.join(&hex), b"kept").unwrap();
        std::fs::write(wrong.join("notes.txt"), b"junk").unwrap();
        assert_eq!(store.list().await.unwrap(), [digest]);
    }
}
