//! `sluice new`: a ready-to-build plugin project from a template, for each
//! language and world (the templates live in `templates/<lang>/`).

use super::{AuthoringError, CONTRACT_WIT, Lang, MANIFEST, io};
use crate::runtime::World;
use std::path::{Path, PathBuf};

/// The source template of a language and world.
fn source(lang: Lang, world: World) -> &'static str {
    macro_rules! pick {
        ($dir:literal, $ext:literal) => {
            match world {
                World::Validator => {
                    include_str!(concat!("../../../templates/", $dir, "/validator.", $ext))
                }
                World::Transform => {
                    include_str!(concat!("../../../templates/", $dir, "/transform.", $ext))
                }
                World::Trainer => {
                    include_str!(concat!("../../../templates/", $dir, "/trainer.", $ext))
                }
                World::Explainer => {
                    include_str!(concat!("../../../templates/", $dir, "/explainer.", $ext))
                }
            }
        };
    }
    match lang {
        Lang::Rust => pick!("rust", "rs"),
        Lang::Python => pick!("python", "py"),
        Lang::Js => pick!("js", "js"),
        Lang::C => pick!("c", "c"),
    }
}

/// Where the project's source goes, and how it is built and tested.
fn layout(lang: Lang) -> (&'static str, &'static str) {
    match lang {
        Lang::Rust => (
            "src/lib.rs",
            "Rust with sluice-sdk; `sluice build` runs cargo for wasm32-wasip2.",
        ),
        Lang::Python => (
            "app.py",
            "Python, built with componentize-py; `import sluice_sdk` for params and errors.",
        ),
        Lang::Js => (
            "plugin.js",
            "JavaScript, built with componentize-js; the sluice_sdk helpers are in scope.",
        ),
        Lang::C => (
            "plugin.c",
            "C, built with clang + wasi-libc; `#include \"sluice_sdk.h\"` for helpers.",
        ),
    }
}

/// The sluice-sdk version a generated Rust plugin depends on: this
/// binary's own (the SDK and the host are released together).
pub const SDK_VERSION: &str = env!("CARGO_PKG_VERSION");

/// Write a new project for `name` into `dir` (which must not exist or be
/// empty). Returns the files written.
pub fn generate(
    dir: &Path,
    name: &str,
    lang: Lang,
    world: World,
    sdk: Option<&Path>,
) -> Result<Vec<PathBuf>, AuthoringError> {
    let bad = |message: String| AuthoringError::Project {
        path: dir.to_path_buf(),
        message,
    };
    if name.is_empty()
        || !name.starts_with(|c: char| c.is_ascii_lowercase())
        || !name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    {
        return Err(bad(format!(
            "plugin name '{name}' must start with a lowercase letter and hold only lowercase letters, digits and '-'"
        )));
    }
    if dir.exists() && std::fs::read_dir(dir).map_err(io(dir))?.next().is_some() {
        return Err(bad("the directory exists and is not empty".into()));
    }
    let (src, how) = layout(lang);
    let mut files: Vec<(String, String)> = vec![
        (
            MANIFEST.into(),
            format!(
                "name = \"{name}\"\nlang = \"{}\"\nworld = \"{}\"\n",
                lang.name(),
                world.name()
            ),
        ),
        (src.into(), source(lang, world).replace("{{name}}", name)),
        ("wit/sluice.wit".into(), CONTRACT_WIT.into()),
        (
            "README.md".into(),
            format!(
                "# {name}\n\nA sluice {world} plugin in {how}\n\n```sh\nsluice build .                                  # -> build/{file}.wasm\nsluice plugin test build/{file}.wasm            # the conformance suite\n```\n\n`wit/sluice.wit` is the contract, for reference; the build uses the one\nbuilt into `sluice`.\n",
                file = name.replace('-', "_")
            ),
        ),
    ];
    if lang == Lang::Rust {
        // The published crate; a local checkout (this repository's tests,
        // a developer's clone) replaces it with a `[patch.crates-io]`.
        let patch = match sdk {
            Some(path) => {
                let path = path.canonicalize().map_err(io(path))?;
                if !path.join("Cargo.toml").is_file() {
                    return Err(bad(format!(
                        "--sdk {}: no Cargo.toml there (give the sdk-rust folder)",
                        path.display()
                    )));
                }
                format!(
                    "\n# A local sluice-sdk in place of the published crate (`sluice new --sdk`).\n\
                     [patch.crates-io]\nsluice-sdk = {{ path = {:?} }}\n",
                    path.display().to_string()
                )
            }
            None => String::new(),
        };
        files.push((
            "Cargo.toml".into(),
            include_str!("../../../templates/rust/Cargo.toml.tmpl")
                .replace("{{name}}", name)
                .replace("{{sdk_version}}", SDK_VERSION)
                .replace("{{sdk_patch}}", &patch),
        ));
        files.push((".gitignore".into(), "/target\n/build\n".into()));
    } else {
        files.push((".gitignore".into(), "/build\n".into()));
    }
    let mut written = Vec::new();
    for (rel, text) in files {
        let path = dir.join(&rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(io(parent))?;
        }
        std::fs::write(&path, text).map_err(io(&path))?;
        written.push(path);
    }
    Ok(written)
}
