//! Leases: what a live process holds, told apart from what a dead one left.
//!
//! A process that reserves storage takes a lease: a file
//! `<database>.leases/<token>.lock` on which it holds an exclusive `flock`
//! for as long as it lives. Its storage reservations name that token, so
//! another process can tell the reservations of a process that died
//! (killed, crashed: the kernel drops its locks) from those of one that is
//! still writing, and release them. A lease file appears under its name
//! already locked (it is locked under a temporary name, then renamed), so
//! a lease being taken never reads as dead.
//!
//! A run being executed is locked the same way, by
//! `<database>.leases/run-<id>.lock`, so a run cannot be resumed while a
//! process still runs it.
//!
//! An in-memory database has no leases: it belongs to one process, so every
//! holder it sees is alive, and its runs are not locked.

use std::fs::File;
use std::os::fd::AsRawFd;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use super::MetaError;

type Result<T, E = MetaError> = std::result::Result<T, E>;

/// The leases of one metadata store, as seen by this process.
#[derive(Debug)]
pub(crate) struct Leases {
    /// `<database>.leases`; `None` for an in-memory database.
    dir: Option<PathBuf>,
    /// This process's lease, taken at its first reservation.
    mine: tokio::sync::OnceCell<Lease>,
}

/// A lease file this process holds locked; removed when dropped.
#[derive(Debug)]
struct Lease {
    token: String,
    path: Option<PathBuf>,
    _file: Option<File>,
}

impl Drop for Lease {
    fn drop(&mut self) {
        if let Some(path) = &self.path {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// A run locked by this process (see `Leases::lock_run`); unlocked when
/// dropped.
#[derive(Debug)]
pub struct RunLock {
    path: Option<PathBuf>,
    _file: Option<File>,
}

impl Drop for RunLock {
    fn drop(&mut self) {
        // Removed while still locked: a process that opened the file before
        // sees, once it gets the lock, that the name no longer leads to it.
        if let Some(path) = &self.path {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// `flock(fd, operation)`; `Ok(false)` when a non-blocking lock is held
/// elsewhere.
fn flock(file: &File, operation: libc::c_int) -> std::io::Result<bool> {
    // SAFETY: flock on a descriptor `file` owns for the whole call; no
    // memory is shared with the call.
    match unsafe { libc::flock(file.as_raw_fd(), operation) } {
        0 => Ok(true),
        _ => {
            let e = std::io::Error::last_os_error();
            match e.raw_os_error() {
                Some(libc::EWOULDBLOCK) => Ok(false),
                _ => Err(e),
            }
        }
    }
}

impl Leases {
    /// The leases of the database at `database`, or of an in-memory one.
    pub(crate) fn new(database: Option<&Path>) -> Self {
        let dir = database.map(|d| super::open::beside(d, ".leases"));
        Self {
            dir,
            mine: tokio::sync::OnceCell::new(),
        }
    }

    fn io_error(&self, path: &Path) -> impl FnOnce(std::io::Error) -> MetaError {
        let path = path.to_owned();
        move |source| MetaError::Lease { path, source }
    }

    fn ensure_dir(&self, dir: &Path) -> Result<()> {
        std::fs::create_dir_all(dir).map_err(self.io_error(dir))
    }

    /// This process's lease token, taking the lease the first time.
    pub(crate) async fn token(&self) -> Result<&str> {
        let lease = self.mine.get_or_try_init(|| async { self.take() }).await?;
        Ok(&lease.token)
    }

    fn take(&self) -> Result<Lease> {
        let token = uuid::Uuid::new_v4().simple().to_string();
        let Some(dir) = &self.dir else {
            return Ok(Lease {
                token,
                path: None,
                _file: None,
            });
        };
        self.ensure_dir(dir)?;
        let path = dir.join(format!("{token}.lock"));
        let taking = dir.join(format!("{token}.taking"));
        let file = File::create_new(&taking).map_err(self.io_error(&taking))?;
        flock(&file, libc::LOCK_EX | libc::LOCK_NB).map_err(self.io_error(&taking))?;
        std::fs::rename(&taking, &path).map_err(self.io_error(&path))?;
        Ok(Lease {
            token,
            path: Some(path),
            _file: Some(file),
        })
    }

    /// Whether the process holding lease `token` is alive. A dead one's
    /// lease file is removed.
    pub(crate) fn alive(&self, token: &str) -> Result<bool> {
        if self.mine.get().is_some_and(|m| m.token == token) {
            return Ok(true);
        }
        let Some(dir) = &self.dir else {
            return Ok(true);
        };
        // A token is 32 hex digits; anything else names no lease file.
        if token.len() != 32 || !token.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Ok(false);
        }
        let path = dir.join(format!("{token}.lock"));
        let file = match File::open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
            Err(e) => return Err(self.io_error(&path)(e)),
        };
        let free = flock(&file, libc::LOCK_EX | libc::LOCK_NB).map_err(self.io_error(&path))?;
        if free {
            let _ = std::fs::remove_file(&path);
        }
        Ok(!free)
    }

    /// Lock run `run_id` for this process, or `None` if another process
    /// holds it (it is running the run).
    pub(crate) fn lock_run(&self, run_id: &str) -> Result<Option<RunLock>> {
        let Some(dir) = &self.dir else {
            return Ok(Some(RunLock {
                path: None,
                _file: None,
            }));
        };
        self.ensure_dir(dir)?;
        let path = dir.join(format!("run-{run_id}.lock"));
        loop {
            let file = std::fs::OpenOptions::new()
                .create(true)
                .truncate(false)
                .write(true)
                .open(&path)
                .map_err(self.io_error(&path))?;
            if !flock(&file, libc::LOCK_EX | libc::LOCK_NB).map_err(self.io_error(&path))? {
                return Ok(None);
            }
            // The holder before may have removed the file after this
            // process opened it: then the lock is on a file nobody else
            // will find, and the name is tried again.
            let held = file.metadata().map_err(self.io_error(&path))?;
            match std::fs::metadata(&path) {
                Ok(m) if m.dev() == held.dev() && m.ino() == held.ino() => {
                    return Ok(Some(RunLock {
                        path: Some(path),
                        _file: Some(file),
                    }));
                }
                Ok(_) => continue,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(self.io_error(&path)(e)),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_lease_is_alive_while_its_holder_is_and_dead_after() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("sluice.db");
        let holder = Leases::new(Some(&db));
        let other = Leases::new(Some(&db));
        let token = holder.token().await.unwrap().to_owned();
        assert!(other.alive(&token).unwrap(), "held by a live holder");
        drop(holder);
        assert!(!other.alive(&token).unwrap(), "its holder is gone");
        assert!(!other.alive("not-a-token").unwrap());
    }

    #[test]
    fn a_run_is_locked_by_one_holder_at_a_time() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("sluice.db");
        let (a, b) = (Leases::new(Some(&db)), Leases::new(Some(&db)));
        let held = a.lock_run("r1").unwrap().expect("free");
        assert!(b.lock_run("r1").unwrap().is_none(), "held by a");
        assert!(b.lock_run("r2").unwrap().is_some(), "another run is free");
        drop(held);
        assert!(b.lock_run("r1").unwrap().is_some(), "released");
    }
}
