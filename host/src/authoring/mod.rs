//! Writing plugins in any language: project templates (`sluice new`) and
//! language builds (`sluice build`).
//!
//! A plugin project is a folder with a `sluice-plugin.toml` naming the
//! plugin, its language and its world, and the source: `app.py` (Python,
//! componentize-py), `plugin.js` (JavaScript, componentize-js), `plugin.c`
//! (C, clang + wasi-libc, bindings from `wit-bindgen c` and the
//! wasi_snapshot_preview1 reactor adapter, both in-process) or a Cargo
//! crate (Rust, `sluice-sdk`). The toolchains live under
//! [`tools_dir`] and are installed by `scripts/setup-toolchains.sh`.

pub mod build;
mod deps;
pub mod templates;

use serde::Deserialize;
use std::path::{Path, PathBuf};

use crate::runtime::World;

/// The contract every plugin is built against: the host's own WIT.
pub const CONTRACT_WIT: &str = include_str!("../../../wit/sluice.wit");
/// The Python helper module `sluice_sdk`, on the path of every Python build.
pub const PYTHON_SDK: &str = include_str!("../../../templates/python/sluice_sdk.py");
/// The JavaScript helpers put in front of every JavaScript plugin's source.
pub const JS_SDK: &str = include_str!("../../../templates/js/sluice_sdk.js");
/// The C helper header, next to the bindings of every C build.
pub const C_SDK: &str = include_str!("../../../templates/c/sluice_sdk.h");
/// The Node script that calls componentize-js.
pub const JS_COMPONENTIZE: &str = include_str!("../../../templates/js/componentize.mjs");

/// The languages sluice can build plugins from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    /// Rust, built with cargo for `wasm32-wasip2`.
    Rust,
    /// Python, built with componentize-py.
    Python,
    /// JavaScript, built with componentize-js.
    Js,
    /// C, built with clang and wasi-libc.
    C,
}

impl Lang {
    /// The language's name in a manifest (`rust`, `python`, `js`, `c`).
    pub fn name(self) -> &'static str {
        match self {
            Lang::Rust => "rust",
            Lang::Python => "python",
            Lang::Js => "js",
            Lang::C => "c",
        }
    }
}

/// `sluice-plugin.toml`: what a plugin project is.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// The plugin's name: its component file is `NAME.wasm`.
    pub name: String,
    /// The language it is written in.
    pub lang: Lang,
    /// The WIT world it implements (`validator`, `transform`, `trainer`,
    /// `explainer`).
    pub world: String,
}

/// The manifest's file name, at the root of a plugin project.
pub const MANIFEST: &str = "sluice-plugin.toml";

/// Why creating or building a plugin project failed.
#[derive(Debug, thiserror::Error)]
pub enum AuthoringError {
    /// The project is not valid (its manifest, its world, an existing
    /// directory, ...).
    #[error("{path}: {message}")]
    Project {
        /// The file or directory at fault.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// A toolchain the language needs is not installed.
    #[error("{tool} is not installed (looked for {path}); run scripts/setup-toolchains.sh")]
    MissingTool {
        /// The tool's name.
        tool: &'static str,
        /// Where it was looked for.
        path: PathBuf,
    },
    /// A build tool failed.
    #[error("{what} failed for {path}:\n{output}")]
    Tool {
        /// What was run (the tool and step).
        what: String,
        /// The project built.
        path: PathBuf,
        /// Its output (stdout and stderr).
        output: String,
    },
    /// A file of the project could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
}

pub(crate) fn io(path: &Path) -> impl FnOnce(std::io::Error) -> AuthoringError + '_ {
    move |source| AuthoringError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// A world by its WIT name.
pub fn world_named(name: &str) -> Option<World> {
    [
        World::Validator,
        World::Transform,
        World::Trainer,
        World::Explainer,
    ]
    .into_iter()
    .find(|w| w.name() == name)
}

impl Manifest {
    /// Read and check `DIR/sluice-plugin.toml`.
    pub fn read(dir: &Path) -> Result<(Manifest, World), AuthoringError> {
        let path = dir.join(MANIFEST);
        let text = std::fs::read_to_string(&path).map_err(io(&path))?;
        let bad = |message: String| AuthoringError::Project {
            path: path.clone(),
            message,
        };
        let m: Manifest = toml::from_str(&text).map_err(|e| bad(e.to_string()))?;
        let world = world_named(&m.world).ok_or_else(|| {
            bad(format!(
                "world '{}' is not one of validator, transform, trainer, explainer",
                m.world
            ))
        })?;
        if m.name.is_empty()
            || !m
                .name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        {
            return Err(bad(format!(
                "name '{}' must be lowercase letters, digits and '-'",
                m.name
            )));
        }
        Ok((m, world))
    }
}

/// Where the toolchains live: `$SLUICE_TOOLS`, else `~/.cache/sluice-tools`.
pub fn tools_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("SLUICE_TOOLS") {
        return PathBuf::from(d);
    }
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| ".".into());
    home.join(".cache/sluice-tools")
}
