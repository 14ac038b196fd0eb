//! The file a dataset is read from: opened once, by descriptor, and only
//! if it is a regular data file.
//!
//! A pipeline names its datasets by path, and a path can lead anywhere: a
//! symlink to `/proc/self/environ` would turn the host's environment into
//! a stored column, a FIFO would block the read forever, a device would
//! read without end. So a dataset file is opened without waiting
//! (`O_NONBLOCK`, which regular files ignore), checked on the opened
//! descriptor (a regular file, not under `/proc`, `/sys` or `/dev`), and
//! read from that descriptor: where it really is ([`DataFile::real_path`],
//! read back from the descriptor) is what a tenant's `allowed_dirs` are
//! checked against, and renaming or swapping the path afterwards changes
//! nothing that is read.
//!
//! The file is never read whole: it is hashed a piece at a time
//! ([`DataFile::hash`]) and decoded through a [`FileRead`], which reads at
//! its own offset (so the hash, the decoding and the copy into the store can
//! read the one descriptor at once) and never past the size the file had
//! when it was opened, which the tenant's cap was checked against. A file
//! that changes while it is read is found out ([`DataFile::changed`]).

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::os::unix::fs::{FileExt, FileTypeExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;

use crate::artifacts::{ArtifactDigest, FilePieces};

/// Kernel interfaces, never data: their files say they are regular files.
pub(super) const KERNEL_DIRS: [&str; 3] = ["/proc", "/sys", "/dev"];

/// A dataset file, open.
#[derive(Debug)]
pub struct DataFile {
    /// The open file, shared by the readers of its pieces.
    pub file: Arc<File>,
    /// Where the opened file really is (symlinks resolved).
    pub real_path: PathBuf,
    /// Its size in bytes when opened: all that is ever read of it.
    pub size: u64,
    /// Its size and times when opened, to tell whether it changed.
    stamp: Stamp,
}

/// What `fstat` says changes when a file is written: its size, and the
/// times of its last change (`ctime` moves on any write, even one that
/// sets `mtime` back).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stamp {
    size: u64,
    mtime: (i64, i64),
    ctime: (i64, i64),
}

impl Stamp {
    fn of(meta: &std::fs::Metadata) -> Stamp {
        Stamp {
            size: meta.len(),
            mtime: (meta.mtime(), meta.mtime_nsec()),
            ctime: (meta.ctime(), meta.ctime_nsec()),
        }
    }
}

/// Why a path cannot be a dataset file; the message names the path.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SourceError {
    /// Nothing is at the path.
    #[error("file {} does not exist", path.display())]
    Missing {
        /// The path given.
        path: PathBuf,
    },
    /// The path is a directory, FIFO, socket or device.
    #[error("{} is a {what}, not a regular file", path.display())]
    NotAFile {
        /// The path given.
        path: PathBuf,
        /// What it is instead (`directory`, `FIFO`, ...).
        what: &'static str,
    },
    /// The path leads into `/proc`, `/sys` or `/dev`, whose files are not data.
    #[error("{} leads to {}, a kernel interface (/proc, /sys, /dev), not a data file", path.display(), real.display())]
    KernelInterface {
        /// The path given.
        path: PathBuf,
        /// Where it leads, symlinks resolved.
        real: PathBuf,
    },
    /// A dataset directory has no file its pattern matches.
    #[error("directory {} has no file matching {pattern:?} (hidden files and subdirectories are not read)", dir.display())]
    NoFiles {
        /// The directory.
        dir: PathBuf,
        /// The pattern (`files`, or the data formats' extensions).
        pattern: String,
    },
    /// A dataset directory has more files than one dataset may read.
    #[error(
        "directory {} has {count} files matching {pattern:?}, more than the {max} one dataset \
         may read; move older files out, or narrow `files`",
        dir.display(),
        max = super::files::MAX_DATASET_FILES
    )]
    TooManyFiles {
        /// The directory.
        dir: PathBuf,
        /// The pattern.
        pattern: String,
        /// How many files it matched.
        count: usize,
    },
    /// The file could not be opened (permissions, ...).
    #[error("cannot open {}: {message}", path.display())]
    Open {
        /// The path given.
        path: PathBuf,
        /// What the system said.
        message: String,
    },
}

impl SourceError {
    /// What opening or reading `path` failed with: missing, or not opened.
    pub(super) fn of_io(path: &Path, e: &io::Error) -> SourceError {
        match e.kind() {
            io::ErrorKind::NotFound => SourceError::Missing {
                path: path.to_owned(),
            },
            _ => SourceError::Open {
                path: path.to_owned(),
                message: e.to_string(),
            },
        }
    }
}

/// Open `path` as a dataset file, or say why it is not one.
pub fn open_data_file(path: &Path) -> Result<DataFile, SourceError> {
    let open_error = |e: std::io::Error| SourceError::of_io(path, &e);
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)
        .map_err(open_error)?;
    let meta = file.metadata().map_err(open_error)?;
    let kind = meta.file_type();
    let what = if kind.is_dir() {
        Some("directory")
    } else if kind.is_fifo() {
        Some("FIFO")
    } else if kind.is_char_device() || kind.is_block_device() {
        Some("device")
    } else if kind.is_socket() {
        Some("socket")
    } else if !kind.is_file() {
        Some("special file")
    } else {
        None
    };
    if let Some(what) = what {
        return Err(SourceError::NotAFile {
            path: path.to_owned(),
            what,
        });
    }
    use std::os::fd::AsRawFd;
    let real_path =
        std::fs::read_link(format!("/proc/self/fd/{}", file.as_raw_fd())).map_err(open_error)?;
    if KERNEL_DIRS.iter().any(|d| real_path.starts_with(d)) {
        return Err(SourceError::KernelInterface {
            path: path.to_owned(),
            real: real_path,
        });
    }
    Ok(DataFile {
        file: Arc::new(file),
        real_path,
        size: meta.len(),
        stamp: Stamp::of(&meta),
    })
}

/// Bytes read and hashed at a time by [`DataFile::hash`].
const HASH_PIECE: usize = 4 << 20;

impl DataFile {
    /// The file's bytes (its first [`size`](Self::size)), for decoding.
    pub fn reader(&self) -> FileRead {
        FileRead {
            file: self.file.clone(),
            pos: 0,
            end: self.size,
        }
    }

    /// The sha256 of the file's bytes, read 4 MiB (`HASH_PIECE`) at a time.
    pub fn hash(&self) -> io::Result<ArtifactDigest> {
        FilePieces::new(self.file.clone(), self.size, HASH_PIECE).digest()
    }

    /// The file's size now, if it (or its times) changed since it was
    /// opened; None if it did not.
    pub fn changed(&self) -> io::Result<Option<u64>> {
        let now = Stamp::of(&self.file.metadata()?);
        Ok((now != self.stamp).then_some(now.size))
    }
}

/// A reader of a dataset file's first `end` bytes at its own offset
/// (`pread`): clones read independently of each other. It serves CSV and
/// Arrow IPC as [`Read`] + [`Seek`] and Parquet as a
/// [`ChunkReader`](parquet::file::reader::ChunkReader).
#[derive(Debug, Clone)]
pub struct FileRead {
    file: Arc<File>,
    pos: u64,
    end: u64,
}

impl FileRead {
    /// All of `file` as it is now.
    pub fn new(file: File) -> io::Result<FileRead> {
        let end = file.metadata()?.len();
        Ok(FileRead {
            file: Arc::new(file),
            pos: 0,
            end,
        })
    }
}

impl Read for FileRead {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let left = usize::try_from(self.end.saturating_sub(self.pos)).unwrap_or(usize::MAX);
        let n = buf.len().min(left);
        if n == 0 {
            return Ok(0);
        }
        let read = self.file.read_at(&mut buf[..n], self.pos)?;
        self.pos += read as u64;
        Ok(read)
    }
}

impl Seek for FileRead {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        let pos = match to {
            SeekFrom::Start(p) => Some(p),
            SeekFrom::End(d) => self.end.checked_add_signed(d),
            SeekFrom::Current(d) => self.pos.checked_add_signed(d),
        };
        self.pos = pos.ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                "seek before the start of the file",
            )
        })?;
        Ok(self.pos)
    }
}

impl parquet::file::reader::Length for FileRead {
    fn len(&self) -> u64 {
        self.end
    }
}

impl parquet::file::reader::ChunkReader for FileRead {
    type T = io::BufReader<FileRead>;

    fn get_read(&self, start: u64) -> parquet::errors::Result<Self::T> {
        let mut from = self.clone();
        from.pos = start;
        Ok(io::BufReader::new(from))
    }

    fn get_bytes(&self, start: u64, length: usize) -> parquet::errors::Result<Bytes> {
        if start.saturating_add(length as u64) > self.end {
            return Err(parquet::errors::ParquetError::EOF(format!(
                "{length} bytes at {start} run past the end of the file ({} bytes)",
                self.end
            )));
        }
        let mut bytes = vec![0; length];
        self.file
            .read_exact_at(&mut bytes, start)
            .map_err(|e| parquet::errors::ParquetError::External(Box::new(e)))?;
        Ok(Bytes::from(bytes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_regular_file_opens_and_reads() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("d.csv");
        std::fs::write(&p, "a\n1\n").unwrap();
        let link = dir.path().join("link.csv");
        std::os::unix::fs::symlink(&p, &link).unwrap();
        let f = open_data_file(&link).unwrap();
        assert_eq!(f.real_path, p.canonicalize().unwrap());
        let mut text = String::new();
        f.reader().read_to_string(&mut text).unwrap();
        assert_eq!(text, "a\n1\n");
        assert_eq!(f.hash().unwrap(), ArtifactDigest::of(b"a\n1\n"));
        assert_eq!(f.changed().unwrap(), None);
    }

    /// Issue 18, point 13: a file that grows after it was opened (and its
    /// size checked against the tenant's cap) is read only as far as it
    /// was then: a terabyte appended is not read, and `changed` says how
    /// large the file is now, at once.
    #[test]
    fn a_file_is_read_only_as_far_as_it_was_when_opened() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("d.csv");
        let text = "a,b\n1,2\n".repeat(300_000);
        std::fs::write(&p, &text).unwrap();
        let f = open_data_file(&p).unwrap();
        let digest = f.hash().unwrap();
        assert_eq!(digest, ArtifactDigest::of(text.as_bytes()));
        // Sparse: a terabyte of zeros to read for a reader that would.
        std::fs::OpenOptions::new()
            .write(true)
            .open(&p)
            .unwrap()
            .set_len(1 << 40)
            .unwrap();
        let started = std::time::Instant::now();
        assert_eq!(f.hash().unwrap(), digest);
        let mut all = Vec::new();
        f.reader().read_to_end(&mut all).unwrap();
        assert_eq!(all, text.as_bytes());
        assert_eq!(f.changed().unwrap(), Some(1 << 40));
        assert!(started.elapsed() < std::time::Duration::from_secs(10));
    }

    #[test]
    fn a_file_read_serves_parquet_chunks_and_seeks() {
        use parquet::file::reader::{ChunkReader, Length};
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("d.bin");
        std::fs::write(&p, b"0123456789").unwrap();
        let r = FileRead::new(File::open(&p).unwrap()).unwrap();
        assert_eq!(r.len(), 10);
        assert_eq!(&r.get_bytes(3, 4).unwrap()[..], b"3456");
        assert!(r.get_bytes(8, 3).is_err());
        let mut rest = String::new();
        r.get_read(7).unwrap().read_to_string(&mut rest).unwrap();
        assert_eq!(rest, "789");
        let mut r = r;
        r.seek(SeekFrom::End(-2)).unwrap();
        let mut end = String::new();
        r.read_to_string(&mut end).unwrap();
        assert_eq!(end, "89");
        assert!(r.seek(SeekFrom::Current(-11)).is_err());
    }

    #[test]
    fn what_is_not_a_data_file_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("nope.csv");
        assert!(matches!(
            open_data_file(&missing),
            Err(SourceError::Missing { .. })
        ));
        assert!(matches!(
            open_data_file(dir.path()),
            Err(SourceError::NotAFile {
                what: "directory",
                ..
            })
        ));
        let fifo = dir.path().join("fifo.csv");
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(made.success());
        // Opening does not wait for a writer.
        assert!(matches!(
            open_data_file(&fifo),
            Err(SourceError::NotAFile { what: "FIFO", .. })
        ));
        assert!(matches!(
            open_data_file(Path::new("/dev/null")),
            Err(SourceError::NotAFile { what: "device", .. })
        ));
        let environ = dir.path().join("environ.csv");
        std::os::unix::fs::symlink("/proc/self/environ", &environ).unwrap();
        let e = open_data_file(&environ).unwrap_err();
        assert!(matches!(e, SourceError::KernelInterface { .. }), "{e}");
        assert!(e.to_string().contains("kernel interface"), "{e}");
    }
}
