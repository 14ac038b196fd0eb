//! The on-disk cache of compiled components.
//!
//! Compiling a component with Cranelift takes from milliseconds (a small
//! Rust plugin) to seconds (a Python or JavaScript one). The compiled form
//! is cached under `<home>/cache/compiled/`, keyed by the component's sha256
//! and a hash of the engine's configuration, so a second process loads it
//! in milliseconds. Entries are written to a temporary file and renamed, so
//! a crash never leaves a half-written entry; an entry that fails to load is
//! recompiled and replaced. What is not in the cache is compiled by the
//! runtime's [`Compiler`], in a bounded child process when it has one.

use super::compile_limits::CompileLimits;
use super::compiler::{self, Compiler, EngineFlags};
use super::error::RuntimeError;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use wasmtime::Engine;
use wasmtime::component::Component;

/// Compiled components on disk, one file per component and engine (its name
/// holds the component's sha256 and a hash of the engine's settings).
pub struct CompileCache {
    dir: Option<PathBuf>,
    engine_key: String,
}

/// Where a component came from this time: compiled now, or from the cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompileSource {
    /// Compiled now (and stored in the cache, if there is one).
    Compiled,
    /// Loaded from the cache.
    Cached,
}

/// Names the patch of `vendor/wasmtime-internal-cranelift`: change it
/// with the patch, so compiled code of the old one is not reused.
const CODEGEN_PATCH: &str = "epoch-check-preserves-all-registers-1";

/// A hash of what an engine's compiled code depends on: in a cache
/// entry's name, and how a compiling child proves it has the host's engine.
pub(crate) fn engine_key(engine: &Engine, flags: EngineFlags) -> String {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    engine.precompile_compatibility_hash().hash(&mut hasher);
    // The code of the patched Cranelift glue (vendor/README.md) differs
    // from the registry's under the same wasmtime version.
    CODEGEN_PATCH.hash(&mut hasher);
    // Canonical NaNs are this pass's, not the engine's: its code differs.
    if flags.nan_canonicalization {
        super::nans::VERSION.hash(&mut hasher);
    }
    format!("{:016x}", hasher.finish())
}

/// How a cache compiles what it does not hold.
pub(crate) struct Compile<'a> {
    pub compiler: &'a Compiler,
    pub flags: EngineFlags,
    pub limits: &'a CompileLimits,
}

impl CompileCache {
    /// A cache in `dir` for code of `engine`; `None`: no cache, every load
    /// compiles.
    pub fn new(engine: &Engine, flags: EngineFlags, dir: Option<PathBuf>) -> Self {
        CompileCache {
            dir,
            engine_key: engine_key(engine, flags),
        }
    }

    fn entry(&self, sha256: &str) -> Option<PathBuf> {
        self.dir
            .as_ref()
            .map(|d| d.join(format!("{sha256}-{}.cwasm", self.engine_key)))
    }

    pub(crate) fn load_or_compile(
        &self,
        engine: &Engine,
        sha256: &str,
        bytes: &[u8],
        source_path: &Path,
        how: &Compile<'_>,
    ) -> Result<(Component, CompileSource), RuntimeError> {
        if let Some(entry) = self.entry(sha256)
            && entry.exists()
        {
            // SAFETY: the entry was written by `Component::serialize` of an
            // engine with the same compatibility hash (it is in the file
            // name), into a directory only sluice writes.
            match unsafe { Component::deserialize_file(engine, &entry) } {
                Ok(component) => return Ok((component, CompileSource::Cached)),
                Err(e) => {
                    tracing::warn!(entry = %entry.display(), error = %e, "compile cache entry unusable; recompiling")
                }
            }
        }
        let serialized = match how.compiler {
            Compiler::InProcess => None,
            Compiler::Process(program) => Some(compiler::compile_in_child(
                program,
                how.flags,
                &self.engine_key,
                bytes,
                how.limits,
                source_path,
            )?),
        };
        let component = match &serialized {
            // SAFETY: the bytes are what `Engine::precompile_component` of
            // an engine with this engine's compatibility hash (the child
            // checked it) returned, read from the child's pipe.
            Some(serialized) => {
                unsafe { Component::deserialize(engine, serialized) }.map_err(|e| {
                    RuntimeError::Compile {
                        path: source_path.to_path_buf(),
                        message: format!("cannot load what the compiler returned: {e:#}"),
                    }
                })?
            }
            None => {
                let not_a_component = |reason: String| RuntimeError::NotAComponent {
                    path: source_path.to_path_buf(),
                    reason,
                };
                let bytes = super::nans::prepare(how.flags, bytes).map_err(not_a_component)?;
                Component::new(engine, &bytes).map_err(|e| not_a_component(format!("{e:#}")))?
            }
        };
        if let Some(entry) = self.entry(sha256) {
            let serialized = match serialized {
                Some(s) => Ok(s),
                None => component
                    .serialize()
                    .map_err(|e| std::io::Error::other(e.to_string())),
            };
            if let Err(e) = serialized.and_then(|s| self.store(&entry, &s)) {
                // A cache that cannot be written costs the next load a
                // compile, nothing more: the component is good.
                tracing::warn!(entry = %entry.display(), error = %e, "compile cache not written");
            }
        }
        Ok((component, CompileSource::Compiled))
    }

    fn store(&self, entry: &Path, serialized: &[u8]) -> std::io::Result<()> {
        let dir = entry.parent().expect("cache entries live in a directory");
        std::fs::create_dir_all(dir)?;
        // Unique per process and per write: two threads compiling the same
        // component must not share (and rename away) one temporary file.
        static WRITES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let tmp = dir.join(format!(
            ".{}.{}.{}.tmp",
            entry.file_name().unwrap_or_default().to_string_lossy(),
            std::process::id(),
            WRITES.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        ));
        let written = std::fs::write(&tmp, serialized).and_then(|()| std::fs::rename(&tmp, entry));
        if written.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        written
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Threads compiling the same component at once each get it, and the
    /// cache ends with one good entry (they once shared a temporary file,
    /// and the loser's rename failed).
    #[test]
    fn concurrent_compiles_of_one_component_all_succeed() {
        let dir = tempfile::tempdir().unwrap();
        let engine = Engine::default();
        let flags = EngineFlags {
            fuel: false,
            nan_canonicalization: true,
        };
        let cache = CompileCache::new(&engine, flags, Some(dir.path().to_path_buf()));
        let bytes = wat::parse_str("(component (core module (func (export \"f\"))))").unwrap();
        let how = Compile {
            compiler: &Compiler::InProcess,
            flags,
            limits: &CompileLimits::default(),
        };
        std::thread::scope(|s| {
            let handles: Vec<_> = (0..8)
                .map(|_| {
                    s.spawn(|| {
                        cache
                            .load_or_compile(&engine, "abc", &bytes, Path::new("t.wasm"), &how)
                            .map(|(_, source)| source)
                    })
                })
                .collect();
            for h in handles {
                h.join().unwrap().unwrap();
            }
        });
        let files: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(files.len(), 1, "one entry, no temporary files: {files:?}");
        let (_, source) = cache
            .load_or_compile(&engine, "abc", &bytes, Path::new("t.wasm"), &how)
            .unwrap();
        assert_eq!(source, CompileSource::Cached);
    }
}
