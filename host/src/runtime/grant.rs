//! The directories a step is granted: planned by path, opened once by
//! descriptor, and shown to the guest under a path of its own.

use std::path::PathBuf;
use std::sync::Arc;

/// A read-only directory granted to a step.
///
/// A plan names the directory by path; before a step may see it, the
/// directory is opened once ([`Grant::open`], at the run's admission) and
/// the sandbox is handed that descriptor, never the path again: swapping
/// the directory for a symlink after admission changes nothing the step
/// sees.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Grant {
    /// The grant's name: the step sees it at `/grants/NAME`.
    pub name: String,
    /// The directory as the pipeline named it (canonical at planning), or
    /// once opened, where the opened directory really is.
    pub path: PathBuf,
    /// The directory opened at admission; `None` in a plan.
    #[serde(skip)]
    pub opened: Option<OpenedDir>,
}

/// A directory opened by descriptor ([`Grant::open`]).
#[derive(Debug, Clone)]
pub struct OpenedDir(Arc<std::fs::File>);

impl PartialEq for OpenedDir {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for OpenedDir {}

impl OpenedDir {
    /// A path that names the opened directory itself, whatever happened
    /// to its path since: its descriptor under `/proc/self/fd`.
    fn fd_path(&self) -> PathBuf {
        use std::os::fd::AsRawFd;
        PathBuf::from(format!("/proc/self/fd/{}", self.0.as_raw_fd()))
    }
}

impl Grant {
    /// A grant of `path` to a plan's step (not opened yet).
    pub fn planned(name: impl Into<String>, path: impl Into<PathBuf>) -> Self {
        Grant {
            name: name.into(),
            path: path.into(),
            opened: None,
        }
    }

    /// Open the directory now, by descriptor; the grant's `path` becomes
    /// where the opened directory really is (read back from the
    /// descriptor), which is what a tenant's `allowed_dirs` must contain.
    pub fn open(&self) -> Result<Grant, String> {
        let cannot = |e: std::io::Error| {
            format!(
                "grant '{}': cannot open {}: {e}",
                self.name,
                self.path.display()
            )
        };
        let file = std::fs::File::open(&self.path).map_err(cannot)?;
        if !file.metadata().map_err(cannot)?.is_dir() {
            return Err(format!(
                "grant '{}': {} is not a directory",
                self.name,
                self.path.display()
            ));
        }
        let opened = OpenedDir(Arc::new(file));
        let real = std::fs::read_link(opened.fd_path()).map_err(cannot)?;
        Ok(Grant {
            name: self.name.clone(),
            path: real,
            opened: Some(opened),
        })
    }

    /// Where the plugin sees the directory.
    pub fn guest_path(&self) -> String {
        format!("/grants/{}", self.name)
    }

    /// The host path the sandbox preopens: the opened directory's
    /// descriptor. A grant that was never opened is refused.
    pub(crate) fn host_path(&self) -> Result<PathBuf, String> {
        self.opened.as_ref().map(OpenedDir::fd_path).ok_or_else(|| {
            format!(
                "grant '{}' ({}) was not opened when the run was admitted",
                self.name,
                self.path.display()
            )
        })
    }
}
