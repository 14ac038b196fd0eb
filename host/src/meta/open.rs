//! Opening the metadata store: creating the SQLite file whole, taking
//! turns with other processes to migrate it, and the read-only fallback
//! for a database this process cannot write.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

use super::MetaError;
use super::store::{MetaStore, db};

type Result<T, E = MetaError> = std::result::Result<T, E>;

/// An exclusive lock on `<database>.open-lock` (created if missing), held
/// while one process opens and migrates the database; released when
/// dropped (the file descriptor closes).
async fn open_lock(database: &Path) -> Result<std::fs::File> {
    let path = beside(database, ".open-lock");
    let lock_error = |source| MetaError::Lock {
        path: path.clone(),
        source,
    };
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(lock_error)?;
    tokio::task::spawn_blocking(move || {
        use std::os::fd::AsRawFd;
        // SAFETY: flock on a descriptor this closure owns; no memory is
        // shared with the call.
        match unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) } {
            0 => Ok(file),
            _ => Err(std::io::Error::last_os_error()),
        }
    })
    .await
    .map_err(|e| lock_error(std::io::Error::other(e)))?
    .map_err(lock_error)
}

/// Create the database at `path` whole or not at all: made and migrated
/// under a temporary name (with a rollback journal, so every commit is in
/// the file itself), closed, then renamed into place. A process killed meanwhile leaves only
/// the temporary file, removed by the next attempt, so a `sluice.db` of 0
/// bytes is never one of sluice's own making. Called with the open lock
/// held.
async fn create_database(url: &str, path: &Path, options: &SqliteConnectOptions) -> Result<()> {
    let named = |suffix: &str| beside(path, suffix);
    let creating = named(".creating");
    let io = |source: std::io::Error| MetaError::Create {
        path: path.to_owned(),
        source,
    };
    for leftover in [
        creating.clone(),
        named(".creating-wal"),
        named(".creating-shm"),
        named(".creating-journal"),
    ] {
        match std::fs::remove_file(&leftover) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(io(e)),
        }
    }
    let options = options
        .clone()
        .filename(&creating)
        .create_if_missing(true)
        // Every commit lands in the file itself, not in a log beside it
        // that the rename would leave behind; the normal open switches it
        // to WAL.
        .journal_mode(SqliteJournalMode::Delete);
    let pool = connect_and_migrate(url, options, 1).await?;
    pool.close().await;
    std::fs::rename(&creating, path).map_err(io)
}

/// A pool of `connections` over `options`, with every migration applied.
async fn connect_and_migrate(
    url: &str,
    options: SqliteConnectOptions,
    connections: u32,
) -> Result<SqlitePool> {
    let pool = connect(url, options, connections).await?;
    migrate(url, &pool).await?;
    Ok(pool)
}

/// Applies the pending migrations to the database of `pool`.
async fn migrate(url: &str, pool: &SqlitePool) -> Result<()> {
    sqlx::migrate!("./migrations")
        .run(pool)
        .await
        .map_err(|source| MetaError::Migrate {
            url: url.to_owned(),
            source,
        })
}

/// A pool of `connections` over `options`.
async fn connect(url: &str, options: SqliteConnectOptions, connections: u32) -> Result<SqlitePool> {
    SqlitePoolOptions::new()
        .max_connections(connections)
        .connect_with(options)
        .await
        .map_err(|source| MetaError::Open {
            url: url.to_owned(),
            source,
        })
}

/// The file beside the database `path` named `<path><suffix>`.
pub(super) fn beside(path: &Path, suffix: &str) -> std::path::PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    std::path::PathBuf::from(name)
}

/// Whether `path` is an existing file of 0 bytes with no write-ahead log
/// beside it: what SQLite would silently take for a new, empty database.
fn is_empty_file(path: &Path) -> bool {
    let empty = |p: &Path| std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.len() == 0);
    let wal = beside(path, "-wal");
    empty(path) && (!wal.exists() || empty(&wal))
}

/// Whether this process may write the database file `path` and create
/// files beside it (the write-ahead log, the locks).
fn writable(path: &Path) -> bool {
    use std::os::unix::ffi::OsStrExt;
    let can_write = |p: &Path| {
        let Ok(c) = std::ffi::CString::new(p.as_os_str().as_bytes()) else {
            return false;
        };
        // SAFETY: access() reads the NUL-terminated path and nothing else.
        unsafe { libc::access(c.as_ptr(), libc::W_OK) == 0 }
    };
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    can_write(path) && can_write(dir)
}

impl MetaStore {
    /// Opens (creating if missing) the store at `url`: `sqlite:///path/db`,
    /// `sqlite:relative/db`, `sqlite::memory:` or a plain file path, and
    /// applies any pending migrations. The database runs in WAL mode with
    /// foreign keys enforced.
    pub async fn open(url: &str) -> Result<Self> {
        let options = if url.starts_with("sqlite:") {
            SqliteConnectOptions::from_str(url).map_err(|source| MetaError::Open {
                url: url.to_owned(),
                source,
            })?
        } else if url.contains("://") {
            return Err(MetaError::UnsupportedUrl {
                url: url.to_owned(),
            });
        } else {
            SqliteConnectOptions::new().filename(url)
        };
        let filename = options.get_filename();
        let database = (url != "sqlite::memory:" && !filename.as_os_str().is_empty())
            .then(|| filename.to_owned());
        if url != "sqlite::memory:"
            && let Some(dir) = filename.parent().filter(|d| !d.as_os_str().is_empty())
        {
            std::fs::create_dir_all(dir).map_err(|source| MetaError::CreateDir {
                path: dir.to_owned(),
                source,
            })?;
        }
        if let Some(path) = &database
            && path.is_file()
            && !writable(path)
        {
            return Self::open_read_only(url, path, options.clone()).await;
        }
        // Processes opening one database at once take turns: creating it,
        // switching it to WAL and migrating it are not safe to race (9 of
        // 10 concurrent first runs on a fresh home failed).
        let _turn = match url != "sqlite::memory:" && !filename.as_os_str().is_empty() {
            true => Some(open_lock(filename).await?),
            false => None,
        };
        if url != "sqlite::memory:" && !filename.as_os_str().is_empty() {
            if is_empty_file(filename) {
                return Err(MetaError::EmptyDatabase {
                    path: filename.to_owned(),
                });
            }
            if !filename.exists() {
                create_database(url, filename, &options).await?;
            }
        }
        let options = options
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10));
        let pool = connect_and_migrate(url, options, 4).await?;
        Ok(Self {
            pool,
            leases: std::sync::Arc::new(super::leases::Leases::new(database.as_deref())),
        })
    }

    /// Opens an existing database that this process cannot write (a
    /// read-only home or file system) for reading: commands that only read
    /// (`runs list`, `runs show`, `lineage`, ...) work; writes fail with
    /// SQLite's "attempt to write a readonly database". Nothing is created
    /// beside it: without a write-ahead log to read, the file is opened as
    /// immutable. A database that needs migrating cannot be read this way.
    async fn open_read_only(url: &str, path: &Path, options: SqliteConnectOptions) -> Result<Self> {
        let has_log = beside(path, "-wal").is_file() && beside(path, "-shm").is_file();
        let options = options
            .read_only(true)
            .immutable(!has_log)
            .busy_timeout(Duration::from_secs(10));
        let pool = connect(url, options, 4).await?;
        let applied: Vec<i64> = sqlx::query_scalar(
            "SELECT version FROM _sqlx_migrations WHERE success ORDER BY version",
        )
        .fetch_all(&pool)
        .await
        .map_err(db(format!("read the migrations of `{url}`")))?;
        let expected: Vec<i64> = sqlx::migrate!("./migrations")
            .iter()
            .map(|m| m.version)
            .collect();
        if applied != expected {
            return Err(MetaError::ReadOnlyOutdated {
                path: path.to_owned(),
            });
        }
        Ok(Self {
            pool,
            leases: std::sync::Arc::new(super::leases::Leases::new(Some(path))),
        })
    }

    /// An empty store in memory, migrated (the default tenant and
    /// nothing else), gone when closed: what a read-only command sees of a
    /// home that was never made. One connection, so every query sees the
    /// one database.
    pub async fn open_empty() -> Result<Self> {
        let url = "sqlite::memory:";
        let options = SqliteConnectOptions::from_str(url)
            .map_err(|source| MetaError::Open {
                url: url.to_owned(),
                source,
            })?
            .foreign_keys(true);
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
            .connect_with(options)
            .await
            .map_err(|source| MetaError::Open {
                url: url.to_owned(),
                source,
            })?;
        migrate(url, &pool).await?;
        Ok(Self {
            pool,
            leases: std::sync::Arc::new(super::leases::Leases::new(None)),
        })
    }

    /// Opens the SQLite file at `path`; see [`open`](Self::open).
    pub async fn open_path(path: &Path) -> Result<Self> {
        let url = path.to_str().ok_or_else(|| MetaError::UnsupportedUrl {
            url: path.display().to_string(),
        })?;
        Self::open(url).await
    }

    /// Closes every connection, waiting for queries in flight.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}
