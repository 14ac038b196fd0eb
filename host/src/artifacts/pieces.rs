//! A file's bytes a piece at a time, hashed as they are read when the
//! hash is wanted.
//!
//! A dataset file is stored as an artifact without ever being held whole:
//! it is hashed ([`FilePieces::digest`]), compared with a stored object and
//! written a piece at a time. Between the hash and the write the file can
//! change; the pieces are hashed again as they are written, and
//! [`FilePieces::expecting`] turns the last piece into an error when the
//! bytes no longer hash to the digest, so the object is never completed.

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::sync::Arc;

use bytes::Bytes;
use sha2::{Digest, Sha256};

use super::ArtifactDigest;

/// The first `len` bytes of a file, in pieces of `piece` bytes (the last
/// shorter), read at their offsets (`pread`): the file's own offset is left
/// alone, for others reading the same descriptor.
pub struct FilePieces {
    file: Arc<File>,
    len: u64,
    at: u64,
    piece: usize,
    /// Only when the pieces' hash is wanted: by [`FilePieces::digest`] or
    /// [`FilePieces::expecting`].
    hasher: Option<Sha256>,
    expect: Option<ArtifactDigest>,
    failed: bool,
}

impl FilePieces {
    /// The first `len` bytes of `file`, in pieces of `piece` bytes.
    pub fn new(file: Arc<File>, len: u64, piece: usize) -> FilePieces {
        FilePieces {
            file,
            len,
            at: 0,
            piece: piece.max(1),
            hasher: None,
            expect: None,
            failed: false,
        }
    }

    /// The same pieces, but the last is an error unless all of them hash to
    /// `digest`.
    pub fn expecting(mut self, digest: ArtifactDigest) -> FilePieces {
        self.expect = Some(digest);
        self.hasher = Some(Sha256::new());
        self
    }

    /// The sha256 of the file's `len` bytes, read a piece at a time.
    pub fn digest(mut self) -> io::Result<ArtifactDigest> {
        self.hasher.get_or_insert_with(Sha256::new);
        for piece in self.by_ref() {
            piece?;
        }
        let hasher = self.hasher.take().expect("set above");
        Ok(ArtifactDigest::from_bytes(hasher.finalize().into()))
    }

    fn fail(&mut self, error: io::Error) -> Option<io::Result<Bytes>> {
        self.failed = true;
        Some(Err(error))
    }
}

impl Iterator for FilePieces {
    type Item = io::Result<Bytes>;

    fn next(&mut self) -> Option<io::Result<Bytes>> {
        if self.failed || self.at >= self.len {
            return None;
        }
        let n = usize::try_from(self.len - self.at).map_or(self.piece, |left| left.min(self.piece));
        let mut bytes = vec![0; n];
        if let Err(e) = self.file.read_exact_at(&mut bytes, self.at) {
            let e = match e.kind() {
                io::ErrorKind::UnexpectedEof => io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    format!(
                        "the file is shorter than the {} bytes it had: it changed while it was \
                         read",
                        self.len
                    ),
                ),
                _ => e,
            };
            return self.fail(e);
        }
        if let Some(hasher) = &mut self.hasher {
            hasher.update(&bytes);
        }
        self.at += n as u64;
        if self.at == self.len
            && let (Some(expect), Some(hasher)) = (&self.expect, &self.hasher)
        {
            let actual = ArtifactDigest::from_bytes(hasher.clone().finalize().into());
            if actual != *expect {
                return self.fail(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!(
                        "the file's bytes hash to {actual}, not to {expect} as they did before: \
                         it changed while it was read"
                    ),
                ));
            }
        }
        Some(Ok(Bytes::from(bytes)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file_of(bytes: &[u8]) -> (tempfile::NamedTempFile, Arc<File>) {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        std::io::Write::write_all(&mut f, bytes).unwrap();
        let file = Arc::new(File::open(f.path()).unwrap());
        (f, file)
    }

    #[test]
    fn pieces_cover_the_file_and_hash_it() {
        let bytes: Vec<u8> = (0..10_000u32).map(|i| (i * 7) as u8).collect();
        let (_keep, file) = file_of(&bytes);
        let pieces: Vec<Bytes> = FilePieces::new(file.clone(), 10_000, 3000)
            .collect::<io::Result<_>>()
            .unwrap();
        assert_eq!(
            pieces.iter().map(Bytes::len).collect::<Vec<_>>(),
            [3000, 3000, 3000, 1000]
        );
        assert_eq!(pieces.concat(), bytes);
        let digest = ArtifactDigest::of(&bytes);
        assert_eq!(
            FilePieces::new(file.clone(), 10_000, 3000)
                .digest()
                .unwrap(),
            digest
        );
        // Only the first `len` bytes.
        assert_eq!(
            FilePieces::new(file.clone(), 10, 4).digest().unwrap(),
            ArtifactDigest::of(&bytes[..10])
        );
        assert_eq!(
            FilePieces::new(file, 0, 4).digest().unwrap(),
            ArtifactDigest::of(b"")
        );
    }

    #[test]
    fn bytes_that_changed_are_an_error_in_place_of_the_last_piece() {
        let (_keep, file) = file_of(b"0123456789");
        let wrong = ArtifactDigest::of(b"0123456788");
        let got: Vec<_> = FilePieces::new(file.clone(), 10, 4)
            .expecting(wrong)
            .collect();
        assert_eq!(got.len(), 3);
        assert!(got[..2].iter().all(Result::is_ok));
        let err = got[2].as_ref().unwrap_err();
        assert!(
            err.to_string().contains("changed while it was read"),
            "{err}"
        );
        let right = ArtifactDigest::of(b"0123456789");
        let got: Vec<_> = FilePieces::new(file.clone(), 10, 4)
            .expecting(right)
            .collect::<io::Result<_>>()
            .unwrap();
        assert_eq!(got.concat(), b"0123456789");
        // Shorter than said.
        let err = FilePieces::new(file, 12, 4).digest().unwrap_err();
        assert!(
            err.to_string().contains("shorter than the 12 bytes"),
            "{err}"
        );
    }
}
