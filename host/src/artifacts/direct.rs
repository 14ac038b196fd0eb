//! Writing a local artifact file around the page cache (`O_DIRECT`).
//!
//! A run writes hundreds of MB of artifacts it will not read back (the next
//! step gets its input from memory). Written through the page cache, every
//! 4 KiB of them takes a fresh page-cache page, and on a VM that hands
//! freed memory back to its hypervisor (free page reporting) a fresh page
//! costs a fault in the hypervisor: writing through the page cache ran
//! several times slower than writing around it, and the copy into those
//! pages was a large share of the end-to-end benchmark's CPU time
//! (docs/benchmarks.md; benches/results/2026-11-27-e2e-2-page-faults.md).
//! `O_DIRECT` writes go from one reused, aligned buffer to the device, and
//! leave the page cache to what is read.
//!
//! The file is written under a staging name beside its destination and
//! renamed into place, as `object_store`'s local store does, so a failure
//! never leaves a partial file under the artifact's name. Where the file
//! system refuses `O_DIRECT` (tmpfs, some network file systems), the same
//! bytes are written the ordinary way.

use std::alloc::{Layout, alloc_zeroed, dealloc};
use std::fs::{File, OpenOptions};
use std::io::{self, ErrorKind, Write};
use std::path::{Path, PathBuf};

use bytes::Bytes;

/// Alignment of the buffer, the file offsets and the lengths of direct
/// writes: the largest logical block size of common devices.
const ALIGN: usize = 4096;

/// Bytes per direct write.
pub(crate) const CHUNK: usize = 4 << 20;

/// Writes `pieces`, in order, to the file `dest` (its directory created if
/// missing): staged beside it, then renamed into place.
pub(crate) fn write_file(dest: &Path, pieces: &[Bytes]) -> io::Result<()> {
    let len: usize = pieces.iter().map(Bytes::len).sum();
    write_file_from(dest, len, || pieces.iter().cloned().map(Ok))
}

/// [`write_file`] of the pieces `pieces()` yields, `len` bytes in all
/// (known beforehand, to choose how to write): a piece that is an error
/// stops the write and leaves no file. `pieces` is called again (from the
/// start) when the file system refuses direct writes, before anything was
/// written.
pub(crate) fn write_file_from<I: Iterator<Item = io::Result<Bytes>>>(
    dest: &Path,
    len: usize,
    pieces: impl Fn() -> I,
) -> io::Result<()> {
    // Under one block nothing could go directly: the ordinary way.
    let (file, staging, direct) = open_staged(dest, len >= ALIGN)?;
    let written =
        write_pieces(file, pieces, len, direct).and_then(|()| std::fs::rename(&staging, dest));
    if written.is_err() {
        let _ = std::fs::remove_file(&staging);
    }
    written
}

/// A new staging file `<dest>#<n>` (the suffix `object_store` uses for its
/// own staging files, which listings skip), opened for direct writes when
/// the file system allows them (and `direct` asks for them); the bool says
/// whether it did.
fn open_staged(dest: &Path, direct: bool) -> io::Result<(File, PathBuf, bool)> {
    // O_DIRECT as Linux has it; elsewhere, ordinary writes.
    let mut direct = direct && cfg!(target_os = "linux");
    let mut n: u64 = 1;
    let mut made_dir = false;
    loop {
        let mut staging = dest.as_os_str().to_owned();
        staging.push(format!("#{n}"));
        let staging = PathBuf::from(staging);
        let mut options = OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(target_os = "linux")]
        if direct {
            use std::os::unix::fs::OpenOptionsExt;
            options.custom_flags(libc::O_DIRECT);
        }
        match options.open(&staging) {
            Ok(file) => return Ok((file, staging, direct)),
            Err(e) if e.kind() == ErrorKind::AlreadyExists => n += 1,
            // The fan-out directory is missing: make it (another writer
            // may be making it at the same moment; create_dir_all takes
            // that as done) and try once more.
            Err(e) if e.kind() == ErrorKind::NotFound && !made_dir => match dest.parent() {
                Some(dir) => {
                    std::fs::create_dir_all(dir)?;
                    made_dir = true;
                }
                None => return Err(e),
            },
            Err(e) if direct && e.raw_os_error() == Some(libc::EINVAL) => direct = false,
            Err(e) => return Err(e),
        }
    }
}

/// Writes the pieces: directly when the file was opened so and the file
/// system takes the first direct write, the ordinary way otherwise.
fn write_pieces<I: Iterator<Item = io::Result<Bytes>>>(
    mut file: File,
    pieces: impl Fn() -> I,
    len: usize,
    direct: bool,
) -> io::Result<()> {
    if direct {
        if write_direct(&mut file, pieces(), len)? {
            return Ok(());
        }
        stop_direct(&file)?;
    }
    pieces().try_for_each(|p| file.write_all(&p?))
}

/// Writes the `len` bytes of `pieces` through an aligned buffer: whole
/// chunks and the aligned part of the last one directly, the unaligned tail
/// the ordinary way. False when the file system refused the first direct
/// write (then nothing was written).
fn write_direct(
    file: &mut File,
    pieces: impl Iterator<Item = io::Result<Bytes>>,
    len: usize,
) -> io::Result<bool> {
    let mut buffer = AlignedBuffer::new(len.next_multiple_of(ALIGN).min(CHUNK));
    let capacity = buffer.bytes().len();
    let mut filled = 0;
    let mut first = true;
    let mut write = |file: &mut File, bytes: &[u8]| match file.write_all(bytes) {
        Ok(()) => {
            first = false;
            Ok(true)
        }
        Err(e) if first && e.raw_os_error() == Some(libc::EINVAL) => Ok(false),
        Err(e) => Err(e),
    };
    for piece in pieces {
        let piece = piece?;
        let mut rest: &[u8] = &piece;
        while !rest.is_empty() {
            let take = rest.len().min(capacity - filled);
            buffer.bytes_mut()[filled..filled + take].copy_from_slice(&rest[..take]);
            filled += take;
            rest = &rest[take..];
            if filled == capacity {
                if !write(file, buffer.bytes())? {
                    return Ok(false);
                }
                filled = 0;
            }
        }
    }
    let aligned = filled / ALIGN * ALIGN;
    if aligned > 0 && !write(file, &buffer.bytes()[..aligned])? {
        return Ok(false);
    }
    if aligned < filled {
        stop_direct(file)?;
        file.write_all(&buffer.bytes()[aligned..filled])?;
    }
    Ok(true)
}

/// Turns direct writes off for the rest of `file`.
#[cfg(not(target_os = "linux"))]
fn stop_direct(_file: &File) -> io::Result<()> {
    Ok(())
}

/// Turns direct writes off for the rest of `file`.
#[cfg(target_os = "linux")]
fn stop_direct(file: &File) -> io::Result<()> {
    use std::os::fd::AsRawFd;
    let fd = file.as_raw_fd();
    // SAFETY: fcntl with F_GETFL/F_SETFL on a descriptor borrowed for the
    // call only reads and sets the descriptor's status flags.
    let failed = unsafe {
        let flags = libc::fcntl(fd, libc::F_GETFL);
        flags == -1 || libc::fcntl(fd, libc::F_SETFL, flags & !libc::O_DIRECT) == -1
    };
    if failed {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Zeroed bytes aligned to ALIGN, for direct writes: at most CHUNK, no
/// more than the file needs (a small artifact does not zero 4 MiB).
struct AlignedBuffer {
    ptr: *mut u8,
    layout: Layout,
}

impl AlignedBuffer {
    /// `len` bytes: a non-zero multiple of ALIGN.
    fn new(len: usize) -> Self {
        let layout = Layout::from_size_align(len.max(ALIGN), ALIGN)
            .expect("a buffer of at most CHUNK bytes makes a layout");
        // SAFETY: the layout has a non-zero size.
        let ptr = unsafe { alloc_zeroed(layout) };
        if ptr.is_null() {
            std::alloc::handle_alloc_error(layout);
        }
        Self { ptr, layout }
    }

    fn bytes(&self) -> &[u8] {
        // SAFETY: `layout.size()` initialized (zeroed) bytes this value owns.
        unsafe { std::slice::from_raw_parts(self.ptr, self.layout.size()) }
    }

    fn bytes_mut(&mut self) -> &mut [u8] {
        // SAFETY: as in `bytes`, borrowed mutably through `self`.
        unsafe { std::slice::from_raw_parts_mut(self.ptr, self.layout.size()) }
    }
}

impl Drop for AlignedBuffer {
    fn drop(&mut self) {
        // SAFETY: allocated in `new` with this layout.
        unsafe { dealloc(self.ptr, self.layout) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Writers racing into one missing fan-out directory all succeed: the
    /// one that finds the directory made by another between its failed
    /// open and its check used to fail with "No such file or directory".
    #[test]
    fn writers_racing_to_make_one_directory_all_succeed() {
        let root = tempfile::tempdir().unwrap();
        for round in 0..50 {
            let dir = root.path().join(format!("{round:02}"));
            let start = std::sync::Barrier::new(8);
            std::thread::scope(|s| {
                for i in 0..8 {
                    let (dir, start) = (&dir, &start);
                    s.spawn(move || {
                        start.wait();
                        let dest = dir.join(format!("object{i}"));
                        write_file(&dest, &[Bytes::from(vec![i as u8; 100])])
                            .unwrap_or_else(|e| panic!("round {round}, writer {i}: {e}"));
                    });
                }
            });
            assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 8);
        }
    }

    /// `len` bytes of a pattern that differs at every offset of a chunk.
    fn data(len: usize) -> Vec<u8> {
        (0..len)
            .map(|i| (i % 251) as u8 ^ (i / 4096) as u8)
            .collect()
    }

    fn pieces(bytes: &[u8], piece: usize) -> Vec<Bytes> {
        bytes
            .chunks(piece.max(1))
            .map(Bytes::copy_from_slice)
            .collect()
    }

    fn staging_files(dir: &Path) -> Vec<String> {
        std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|name| name.contains('#'))
            .collect()
    }

    #[test]
    fn every_length_round_trips_and_nothing_is_left_staged() {
        let dir = tempfile::tempdir().unwrap();
        let lengths = [
            0,
            1,
            ALIGN - 1,
            ALIGN,
            ALIGN + 1,
            CHUNK - 1,
            CHUNK,
            CHUNK + ALIGN + 7,
            2 * CHUNK + 1,
        ];
        for (i, len) in lengths.into_iter().enumerate() {
            let bytes = data(len);
            // Pieces that never line up with the chunks, and one piece.
            for piece in [1_000_003, len] {
                let dest = dir.path().join(format!("a{i}-{piece}"));
                write_file(&dest, &pieces(&bytes, piece)).unwrap();
                assert_eq!(std::fs::read(&dest).unwrap(), bytes, "length {len}");
            }
        }
        assert_eq!(staging_files(dir.path()), Vec::<String>::new());
    }

    #[test]
    fn the_ordinary_path_writes_the_same_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let bytes = data(CHUNK + 12_345);
        let path = dir.path().join("plain");
        let file = File::create(&path).unwrap();
        let pieces = pieces(&bytes, 70_001);
        write_pieces(file, || pieces.iter().cloned().map(Ok), bytes.len(), false).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), bytes);
    }

    #[test]
    fn missing_directories_are_created_and_stale_staging_files_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("sha256/ab/abcd");
        write_file(&dest, &[Bytes::from_static(b"first")]).unwrap();
        let stale = dir.path().join("sha256/ab/abcd#1");
        std::fs::write(&stale, b"left by a crash").unwrap();
        write_file(&dest, &[Bytes::from_static(b"second")]).unwrap();
        assert_eq!(std::fs::read(&dest).unwrap(), b"second");
        assert_eq!(std::fs::read(&stale).unwrap(), b"left by a crash");
    }

    /// A piece that is an error (a file that changed as it was copied)
    /// stops the write, direct or not, and leaves no file.
    #[test]
    fn a_piece_that_fails_leaves_no_file() {
        let dir = tempfile::tempdir().unwrap();
        let bytes = data(2 * CHUNK + 5);
        for (i, fail_at) in [0, 1, 2].into_iter().enumerate() {
            let dest = dir.path().join(format!("object{i}"));
            let pieces = || {
                pieces(&bytes, CHUNK)
                    .into_iter()
                    .enumerate()
                    .map(move |(n, p)| {
                        if n == fail_at {
                            Err(io::Error::other("changed"))
                        } else {
                            Ok(p)
                        }
                    })
            };
            let err = write_file_from(&dest, bytes.len(), pieces).unwrap_err();
            assert_eq!(err.to_string(), "changed");
            assert!(!dest.exists());
        }
        assert_eq!(staging_files(dir.path()), Vec::<String>::new());
    }

    #[test]
    fn a_failed_write_leaves_no_file() {
        let dir = tempfile::tempdir().unwrap();
        // The destination is a directory: the rename fails after the data
        // was written to the staging file.
        let dest = dir.path().join("taken");
        std::fs::create_dir(&dest).unwrap();
        std::fs::write(dest.join("inside"), b"x").unwrap();
        let err = write_file(&dest, &pieces(&data(CHUNK + 1), CHUNK)).unwrap_err();
        assert!(err.raw_os_error().is_some(), "{err}");
        assert_eq!(staging_files(dir.path()), Vec::<String>::new());
        assert!(dest.is_dir());
    }
}
