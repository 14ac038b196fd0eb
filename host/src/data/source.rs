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

use std::fs::File;
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

/// Kernel interfaces, never data: their files say they are regular files.
const KERNEL_DIRS: [&str; 3] = ["/proc", "/sys", "/dev"];

/// A dataset file, open.
#[derive(Debug)]
pub struct DataFile {
    pub file: File,
    /// Where the opened file really is (symlinks resolved).
    pub real_path: PathBuf,
    /// Its size in bytes when opened.
    pub size: u64,
}

/// Why a path cannot be a dataset file; the message names the path.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SourceError {
    #[error("file {} does not exist", path.display())]
    Missing { path: PathBuf },
    #[error("{} is a {what}, not a regular file", path.display())]
    NotAFile { path: PathBuf, what: &'static str },
    #[error("{} leads to {}, a kernel interface (/proc, /sys, /dev), not a data file", path.display(), real.display())]
    KernelInterface { path: PathBuf, real: PathBuf },
    #[error("cannot open {}: {message}", path.display())]
    Open { path: PathBuf, message: String },
}

/// Open `path` as a dataset file, or say why it is not one.
pub fn open_data_file(path: &Path) -> Result<DataFile, SourceError> {
    let open_error = |e: std::io::Error| match e.kind() {
        std::io::ErrorKind::NotFound => SourceError::Missing {
            path: path.to_owned(),
        },
        _ => SourceError::Open {
            path: path.to_owned(),
            message: e.to_string(),
        },
    };
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
        file,
        real_path,
        size: meta.len(),
    })
}

impl DataFile {
    /// Every byte of the file, read from the opened descriptor.
    pub fn read_all(mut self) -> std::io::Result<Vec<u8>> {
        let mut bytes = Vec::with_capacity(usize::try_from(self.size).unwrap_or(0));
        std::io::Read::read_to_end(&mut self.file, &mut bytes)?;
        Ok(bytes)
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
        assert_eq!(f.read_all().unwrap(), b"a\n1\n");
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
