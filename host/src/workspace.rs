//! The composition root: a home directory (metadata database, compile
//! cache, local artifacts), the tenant to act as and the artifact store,
//! from which the runtime, the metadata store and the artifact store are
//! opened. The `sluice` command builds one from its flags; a server, a
//! worker or a test builds one the same way.
//!
//! Nothing is opened until it is asked for, and each thing is opened the
//! way every command opens it: the home is created on first use, a
//! metadata store is remembered so that [`Workspace::close`] closes it
//! (which checkpoints and removes SQLite's write-ahead log).

use crate::artifacts::{ArtifactError, ArtifactStore, RetryPolicy, StoreLocation};
use crate::meta::{MetaError, MetaStore};
use crate::runtime::{Compiler, Runtime, RuntimeError, RuntimeOptions};
use crate::tenants::{DEFAULT_TENANT, Tenant, check_name, tenant_store};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Why a workspace could not open something.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WorkspaceError {
    // Not `source`: the message already says it.
    /// The home directory could not be created.
    #[error("cannot create sluice home {}: {error}", path.display())]
    CreateHome {
        /// The home directory.
        path: PathBuf,
        /// The I/O error.
        error: std::io::Error,
    },
    /// The tenant to act as has a name sluice cannot use.
    #[error("tenant '{tenant}': {message}")]
    TenantName {
        /// The name given.
        tenant: String,
        /// The rule it breaks.
        message: String,
    },
    /// The metadata store could not be opened.
    #[error(transparent)]
    Meta(#[from] MetaError),
    /// The artifact store could not be opened.
    #[error(transparent)]
    Artifacts(#[from] ArtifactError),
    /// The runtime could not be created.
    #[error(transparent)]
    Runtime(#[from] RuntimeError),
}

/// What a [`Workspace`] is made from.
#[derive(Debug, Clone)]
pub struct WorkspaceSettings {
    /// The home directory: `sluice.db`, `cache/compiled` and, unless
    /// [`store`](Self::store) says otherwise, `artifacts/`.
    pub home: PathBuf,
    /// The tenant to act as ([`DEFAULT_TENANT`] by default).
    pub tenant: String,
    /// Where artifacts live: `s3://BUCKET/PREFIX` (settings from the AWS_*
    /// environment variables) or a directory; `None` is HOME/artifacts.
    pub store: Option<String>,
    /// Where plugins are compiled: in this process by default; the
    /// `sluice` command compiles in a bounded child of itself
    /// ([`Compiler::this_executable`]).
    pub compiler: Compiler,
    /// The command only reads: a home that is not there is not created.
    /// Its metadata store is then an empty one in memory (no runs, no
    /// models, the default tenant with its default caps), its artifact
    /// store, where the home directory itself is missing, reads nothing,
    /// and plugins then compile without a cache.
    pub read_only: bool,
}

impl WorkspaceSettings {
    /// The defaults for `home`: the default tenant, artifacts in
    /// HOME/artifacts, compiling in this process.
    pub fn new(home: impl Into<PathBuf>) -> Self {
        WorkspaceSettings {
            home: home.into(),
            tenant: DEFAULT_TENANT.to_string(),
            store: None,
            compiler: Compiler::InProcess,
            read_only: false,
        }
    }

    /// Act as `tenant`.
    pub fn tenant(mut self, tenant: impl Into<String>) -> Self {
        self.tenant = tenant.into();
        self
    }

    /// Keep artifacts at `store` (a URL or a directory) instead of
    /// HOME/artifacts.
    pub fn store(mut self, store: impl Into<String>) -> Self {
        self.store = Some(store.into());
        self
    }

    /// Compile plugins with `compiler`.
    pub fn compiler(mut self, compiler: Compiler) -> Self {
        self.compiler = compiler;
        self
    }

    /// Only read: create nothing (see [`read_only`](Self::read_only)).
    pub fn read_only(mut self, read_only: bool) -> Self {
        self.read_only = read_only;
        self
    }

    /// The workspace, after checking the tenant's name (whether the tenant
    /// exists is checked when the metadata store is opened for it).
    pub fn open(self) -> Result<Workspace, WorkspaceError> {
        check_name(&self.tenant).map_err(|message| WorkspaceError::TenantName {
            tenant: self.tenant.clone(),
            message,
        })?;
        Ok(Workspace {
            settings: self,
            opened: Mutex::default(),
        })
    }
}

/// A home directory, a tenant and an artifact store, and what is opened
/// from them: see the [module](self) docs.
pub struct Workspace {
    settings: WorkspaceSettings,
    /// The metadata stores opened, closed by [`close`](Self::close).
    opened: Mutex<Vec<MetaStore>>,
}

impl Workspace {
    /// The workspace of `home` with the defaults of
    /// [`WorkspaceSettings::new`].
    pub fn new(home: impl Into<PathBuf>) -> Self {
        Workspace {
            settings: WorkspaceSettings::new(home),
            opened: Mutex::default(),
        }
    }

    /// Settings to change before [`WorkspaceSettings::open`].
    pub fn builder(home: impl Into<PathBuf>) -> WorkspaceSettings {
        WorkspaceSettings::new(home)
    }

    /// What the workspace was made from.
    pub fn settings(&self) -> &WorkspaceSettings {
        &self.settings
    }

    /// The home directory.
    pub fn home(&self) -> &Path {
        &self.settings.home
    }

    /// The tenant the workspace acts as.
    pub fn tenant_name(&self) -> &str {
        &self.settings.tenant
    }

    /// The metadata database, HOME/sluice.db.
    pub fn db_path(&self) -> PathBuf {
        self.settings.home.join("sluice.db")
    }

    /// The compile cache, HOME/cache/compiled.
    pub fn compile_cache(&self) -> PathBuf {
        self.settings.home.join("cache").join("compiled")
    }

    /// Whether the workspace only reads and its home holds no metadata
    /// database: then nothing was ever recorded there, and nothing is
    /// created.
    pub fn is_absent(&self) -> bool {
        self.settings.read_only && !self.db_path().exists()
    }

    /// Whether the workspace only reads and its home directory is not
    /// there: its artifacts and compiled code are then not looked for
    /// there, and nothing is made. (A directory that is there keeps them,
    /// database or not.)
    fn is_missing(&self) -> bool {
        self.settings.read_only && !self.settings.home.is_dir()
    }

    /// Create the home directory if it is not there.
    pub fn ensure(&self) -> Result<(), WorkspaceError> {
        std::fs::create_dir_all(&self.settings.home).map_err(|error| WorkspaceError::CreateHome {
            path: self.settings.home.clone(),
            error,
        })
    }

    /// The metadata store (created and migrated if new), closed by
    /// [`close`](Self::close).
    pub async fn meta(&self) -> Result<MetaStore, WorkspaceError> {
        let meta = if self.is_absent() {
            MetaStore::open_empty().await?
        } else {
            self.ensure()?;
            MetaStore::open_path(&self.db_path()).await?
        };
        self.opened
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(meta.clone());
        Ok(meta)
    }

    /// The metadata store and the tenant the workspace acts as (an error
    /// if no such tenant exists).
    pub async fn tenant_meta(&self) -> Result<(MetaStore, Tenant), WorkspaceError> {
        let meta = self.meta().await?;
        let tenant = meta.tenant(&self.settings.tenant).await?;
        Ok((meta, tenant))
    }

    /// Close every metadata store this workspace opened.
    pub async fn close(&self) {
        let opened = std::mem::take(&mut *self.opened.lock().unwrap_or_else(|e| e.into_inner()));
        for meta in opened {
            meta.close().await;
        }
    }

    /// The root of the artifact store, every tenant's objects below it
    /// (what an [`Executor`](crate::Executor) takes).
    pub fn store_root(&self) -> Result<ArtifactStore, WorkspaceError> {
        match &self.settings.store {
            Some(url) => Ok(StoreLocation::parse(url)?.open(&RetryPolicy::from_env()?)?),
            // A home never made has no artifacts, and reading it makes
            // no directory.
            None if self.is_missing() => Ok(ArtifactStore::named(
                std::sync::Arc::new(object_store::memory::InMemory::new()),
                "artifacts",
                self.settings.home.display().to_string(),
            )),
            None => {
                self.ensure()?;
                Ok(ArtifactStore::local(&self.settings.home)?)
            }
        }
    }

    /// The artifact store of the tenant the workspace acts as.
    pub fn artifacts(&self) -> Result<ArtifactStore, WorkspaceError> {
        Ok(tenant_store(&self.store_root()?, &self.settings.tenant))
    }

    /// The runtime of the tenant the workspace acts as (its caps bound
    /// what its plugins may compile).
    pub async fn runtime(&self) -> Result<Runtime, WorkspaceError> {
        let (_, tenant) = self.tenant_meta().await?;
        self.runtime_for(&tenant)
    }

    /// The runtime of `tenant`: the compile cache in the home, compiling
    /// with the workspace's compiler under the tenant's caps.
    pub fn runtime_for(&self, tenant: &Tenant) -> Result<Runtime, WorkspaceError> {
        Ok(Runtime::with_options(RuntimeOptions {
            // A read-only command keeps its compiled code in a home
            // directory that is there, and makes none.
            cache_dir: (!self.is_missing()).then(|| self.compile_cache()),
            compiler: self.settings.compiler.clone(),
            compile_limits: tenant.caps.compile_limits(),
            nan_canonicalization: tenant.caps.nan_bits.is_canonical(),
            ..RuntimeOptions::default()
        })?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bad_tenant_name_is_refused_before_anything_opens() {
        let home = tempfile::tempdir().unwrap();
        let err = Workspace::builder(home.path().join("h"))
            .tenant("Not A Name")
            .open()
            .err()
            .expect("refused");
        assert!(matches!(err, WorkspaceError::TenantName { .. }), "{err}");
        assert!(err.to_string().contains("Not A Name"), "{err}");
        assert!(!home.path().join("h").exists(), "the home was created");
    }

    #[tokio::test]
    async fn the_home_holds_the_database_cache_and_artifacts_unless_told_otherwise() {
        let dir = tempfile::tempdir().unwrap();
        let home = dir.path().join("home");
        let workspace = Workspace::new(&home);
        assert!(!home.exists(), "nothing opens until asked for");
        let (_meta, tenant) = workspace.tenant_meta().await.unwrap();
        assert_eq!(tenant.name, DEFAULT_TENANT);
        assert!(workspace.db_path().is_file());
        let digest = workspace
            .artifacts()
            .unwrap()
            .put(bytes::Bytes::from_static(b"x"))
            .await
            .unwrap();
        assert!(home.join("artifacts").is_dir());
        assert_eq!(
            workspace.compile_cache(),
            home.join("cache").join("compiled")
        );
        workspace.close().await;

        // Artifacts elsewhere; the tenant's objects are not the default's.
        let store = dir.path().join("store");
        let other = Workspace::builder(&home)
            .tenant("alpha")
            .store(store.display().to_string())
            .open()
            .unwrap();
        assert_eq!(other.tenant_name(), "alpha");
        let theirs = other.artifacts().unwrap();
        assert!(
            theirs.get(&digest).await.is_err(),
            "another tenant's object"
        );
        theirs.put(bytes::Bytes::from_static(b"y")).await.unwrap();
        assert!(store.is_dir());
        // A tenant that does not exist is an error of the metadata store.
        let err = other.tenant_meta().await.expect_err("no tenant alpha");
        assert!(matches!(err, WorkspaceError::Meta(_)), "{err}");
        other.close().await;
    }
}
