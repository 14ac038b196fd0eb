//! Writing artifacts: reading back what is stored under the digest first
//! (equal bytes are not written again, damaged ones are), then one PUT, a
//! multipart upload, or a local file written around the page cache.

use std::sync::Arc;

use bytes::Bytes;
use object_store::local::LocalFileSystem;
use object_store::path::Path as ObjectPath;
use object_store::{GetResult, ObjectStore, PutPayload};

use super::ArtifactStore;
use crate::artifacts::{ArtifactDigest, ArtifactError, FilePieces, direct};

/// What [`ArtifactStore::put_hashed`] found under the digest it writes.
enum Existing {
    Absent,
    Equal,
    /// Stored bytes that are not the ones being put (`size` of them).
    Different {
        size: u64,
    },
}

/// What reading back the object under a digest found: `Known` when no
/// byte of it needs comparing (it is absent, or of another size than the
/// bytes being put), else the object (`T`: as got, or its bytes).
enum ReadBack<T> {
    Known(Existing),
    Found(T),
}

/// The object at `location` of `store`, when it is there with `len`
/// bytes: the get, the NotFound and the size check that
/// [`ArtifactStore::compare_stored`] and
/// [`ArtifactStore::compare_stored_file`] both begin with.
async fn read_back(
    store: &Arc<dyn ObjectStore>,
    location: &ObjectPath,
    len: u64,
) -> Result<ReadBack<GetResult>, object_store::Error> {
    let found = match store.get(location).await {
        Ok(found) => found,
        Err(object_store::Error::NotFound { .. }) => {
            return Ok(ReadBack::Known(Existing::Absent));
        }
        Err(e) => return Err(e),
    };
    if found.meta.size != len {
        return Ok(ReadBack::Known(Existing::Different {
            size: found.meta.size,
        }));
    }
    Ok(ReadBack::Found(found))
}

impl ArtifactStore {
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
    /// (with [`ArtifactDigest::of`] or [`ArtifactDigest::of_pieces`]),
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
                            direct::write_file_from(&dest, size, || {
                                FilePieces::new(file.clone(), len, direct::CHUNK)
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
                let found = match read_back(store, location, len).await? {
                    ReadBack::Known(existing) => return Ok(existing),
                    ReadBack::Found(found) => found,
                };
                let pieces =
                    FilePieces::new(file.clone(), len, direct::CHUNK).expecting(digest.clone());
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
    /// it with `payload` (bytes that hash to `digest`) a piece at a time,
    /// never holding the object whole. Equal bytes are the same check as
    /// re-hashing the object, and cheaper; a size that differs is found
    /// without reading the object at all.
    async fn compare_stored(
        &self,
        digest: &ArtifactDigest,
        location: &ObjectPath,
        payload: &PutPayload,
    ) -> Result<Existing, ArtifactError> {
        let (store, expected) = (&self.store, payload.content_length() as u64);
        self.retrying(
            &format!("read back artifact {digest}"),
            location,
            || async move {
                let found = match read_back(store, location, expected).await? {
                    ReadBack::Known(existing) => return Ok(existing),
                    ReadBack::Found(found) => found,
                };
                let equal = match found.payload {
                    object_store::GetResultPayload::File(stored, _) => {
                        let (stored, payload) = (Arc::new(stored), payload.clone());
                        tokio::task::spawn_blocking(move || {
                            let mut ours = Matcher::new(&payload);
                            for theirs in FilePieces::new(stored, expected, direct::CHUNK) {
                                if !ours.next_equal(&theirs.map_err(local_error)?) {
                                    return Ok(false);
                                }
                            }
                            Ok(ours.done())
                        })
                        .await
                        .map_err(|e| local_error(std::io::Error::other(e)))?
                    }
                    object_store::GetResultPayload::Stream(mut stream) => {
                        use futures::StreamExt;
                        let mut ours = Matcher::new(payload);
                        let mut equal = Ok(true);
                        while let Some(theirs) = stream.next().await {
                            match theirs {
                                Ok(theirs) if ours.next_equal(&theirs) => {}
                                Ok(_) => {
                                    equal = Ok(false);
                                    break;
                                }
                                Err(e) => {
                                    equal = Err(e);
                                    break;
                                }
                            }
                        }
                        equal.map(|e| e && ours.done())
                    }
                };
                match equal {
                    Ok(true) => Ok(Existing::Equal),
                    Ok(false) => Ok(Existing::Different { size: expected }),
                    // Deleted since it was opened: write it.
                    Err(object_store::Error::NotFound { .. }) => Ok(Existing::Absent),
                    Err(e) => Err(e),
                }
            },
        )
        .await
    }
}

/// The bytes of a payload matched, in order, against the chunks of another
/// source, whatever the two sides' piece boundaries.
struct Matcher<'a> {
    pieces: Box<dyn Iterator<Item = &'a Bytes> + Send + 'a>,
    current: &'a [u8],
}

impl<'a> Matcher<'a> {
    fn new(payload: &'a PutPayload) -> Self {
        Matcher {
            pieces: Box::new(payload.iter()),
            current: &[],
        }
    }

    /// Whether `theirs` is what follows in the payload.
    fn next_equal(&mut self, mut theirs: &[u8]) -> bool {
        while !theirs.is_empty() {
            while self.current.is_empty() {
                match self.pieces.next() {
                    Some(piece) => self.current = piece,
                    None => return false,
                }
            }
            let n = self.current.len().min(theirs.len());
            if self.current[..n] != theirs[..n] {
                return false;
            }
            self.current = &self.current[n..];
            theirs = &theirs[n..];
        }
        true
    }

    /// Whether nothing of the payload is left unmatched.
    fn done(mut self) -> bool {
        self.current.is_empty() && self.pieces.all(|p| p.is_empty())
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
        for theirs in FilePieces::new(stored, len, direct::CHUNK) {
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
/// cache ([`direct`]) on a blocking thread.
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
        direct::write_file(&file, &pieces)
    })
    .await
    .map_err(|e| local_error(Box::new(e)))?
    .map_err(|e| local_error(Box::new(e)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matches(ours: &[&'static [u8]], theirs: &[&[u8]]) -> bool {
        let payload = PutPayload::from_iter(ours.iter().map(|p| Bytes::from_static(p)));
        let mut matcher = Matcher::new(&payload);
        theirs.iter().all(|t| matcher.next_equal(t)) && matcher.done()
    }

    #[test]
    fn a_payload_matches_chunks_whatever_their_boundaries() {
        let ours: &[&[u8]] = &[b"ab", b"", b"cde"];
        assert!(matches(ours, &[b"abcde"]));
        assert!(matches(ours, &[b"a", b"bcd", b"e"]));
        assert!(matches(ours, &[b"a", b"", b"bcde"]));
        assert!(!matches(ours, &[b"a", b"bcx", b"e"]), "a byte differs");
        assert!(!matches(ours, &[b"abcd"]), "theirs is shorter");
        assert!(!matches(ours, &[b"abcde", b"f"]), "theirs is longer");
        assert!(matches(&[], &[]));
        assert!(!matches(&[], &[b"a"]));
        assert!(!matches(&[b"a"], &[]));
    }
}
