//! A plugin project's dependencies: Python packages from `requirements.txt`
//! (pip, pure-Python only) and npm packages from `package.json` (npm, then
//! one ES module bundled by esbuild).
//!
//! Both install into a scratch copy of the project under the build's
//! scratch directory, never into the project itself: a failed install
//! leaves nothing behind, and pip's in-tree builds of local packages
//! (`build/`, `*.egg-info`) do not land in the user's source.

use super::{AuthoringError, io};
use std::path::{Path, PathBuf};
use std::process::Command;

/// Folders that are never part of a project's inputs nor of its scratch
/// copy, at any depth: installed packages, caches, version control.
const SKIPPED_DIRS: [&str; 3] = ["node_modules", "__pycache__", ".git"];
/// The same, at the top of the project only: build outputs.
const SKIPPED_TOP_DIRS: [&str; 2] = ["build", "target"];

fn skipped(name: &std::ffi::OsStr, top: bool) -> bool {
    let name = name.to_string_lossy();
    SKIPPED_DIRS.contains(&name.as_ref())
        || (top && SKIPPED_TOP_DIRS.contains(&name.as_ref()))
        || name.ends_with(".egg-info")
        // A build's scratch directory, when the output is in the project.
        || name.ends_with(".build")
}

/// Every file of the project, relative to `dir`, sorted, without the
/// folders in [`SKIPPED_DIRS`] and [`SKIPPED_TOP_DIRS`], components and
/// build stamps. Build
/// inputs are these files: a local dependency's source (`vendor/...`)
/// counts as the plugin's own.
pub(super) fn project_files(dir: &Path, out: &Path) -> Result<Vec<PathBuf>, AuthoringError> {
    let mut files = Vec::new();
    let mut stack = vec![PathBuf::new()];
    while let Some(rel) = stack.pop() {
        let here = dir.join(&rel);
        for e in std::fs::read_dir(&here).map_err(io(&here))? {
            let e = e.map_err(io(&here))?;
            let path = e.path();
            let ty = e.file_type().map_err(io(&path))?;
            let top = rel.as_os_str().is_empty();
            if ty.is_dir() {
                if !skipped(&e.file_name(), top) {
                    stack.push(rel.join(e.file_name()));
                }
            } else if ty.is_file() && !out.starts_with(&path) {
                // Components and build stamps (an output written inside
                // the project) are never inputs.
                let ext = path.extension();
                if ext.is_some_and(|e| e == "wasm" || e == "inputs") {
                    continue;
                }
                files.push(rel.join(e.file_name()));
            }
        }
    }
    files.sort();
    Ok(files)
}

/// Copy the project's files (as [`project_files`] lists them) into `to`.
fn copy_project(dir: &Path, out: &Path, to: &Path) -> Result<(), AuthoringError> {
    for rel in project_files(dir, out)? {
        let dest = to.join(&rel);
        if let Some(parent) = dest.parent() {
            std::fs::create_dir_all(parent).map_err(io(parent))?;
        }
        std::fs::copy(dir.join(&rel), &dest).map_err(io(&dest))?;
    }
    Ok(())
}

fn tool_error(what: &str, dir: &Path, output: String) -> AuthoringError {
    AuthoringError::Tool {
        what: what.to_string(),
        path: dir.to_path_buf(),
        output,
    }
}

/// Run `cmd`; its output is the error when it fails.
fn run(mut cmd: Command, what: &str, dir: &Path) -> Result<(), AuthoringError> {
    let o = cmd.output().map_err(|e| {
        tool_error(
            what,
            dir,
            format!("cannot start {:?}: {e}", cmd.get_program()),
        )
    })?;
    if o.status.success() {
        return Ok(());
    }
    Err(tool_error(
        what,
        dir,
        format!(
            "{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        ),
    ))
}

/// When the project has `requirements.txt`: install it with the toolchain
/// venv's pip into `WORK/site-packages` (wheels only from an index, local
/// folders built with the venv's setuptools, `--no-build-isolation`: no
/// network for those) and return that folder, for componentize-py's path.
/// A package with compiled extension modules is refused.
pub(super) fn python(
    dir: &Path,
    out: &Path,
    work: &Path,
) -> Result<Option<PathBuf>, AuthoringError> {
    if !dir.join("requirements.txt").is_file() {
        return Ok(None);
    }
    let pip = super::build::tool(super::tools_dir().join("py/bin/pip"), "pip")?;
    let src = work.join("src");
    copy_project(dir, out, &src)?;
    let site = work.join("site-packages");
    let mut cmd = Command::new(pip);
    cmd.current_dir(&src)
        .args([
            "install",
            "--disable-pip-version-check",
            "--no-input",
            "--quiet",
            "--only-binary=:all:",
            "--no-build-isolation",
            "--target",
        ])
        .arg(&site)
        .args(["-r", "requirements.txt"]);
    run(cmd, "pip install -r requirements.txt", dir)?;
    refuse_compiled(dir, &site)?;
    Ok(Some(site))
}

/// Refuse what componentize-py cannot load: extension modules (`.so`,
/// `.pyd`, `.dylib`) or a wheel tagged for a platform (not
/// `py3-none-any`). The error names the distribution.
fn refuse_compiled(dir: &Path, site: &Path) -> Result<(), AuthoringError> {
    let mut compiled: Vec<(String, String)> = Vec::new();
    let entries: Vec<PathBuf> = std::fs::read_dir(site)
        .map_err(io(site))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    // Which distribution installed which file, from the RECORDs.
    let mut owner: Vec<(String, String)> = Vec::new();
    for info in entries
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "dist-info"))
    {
        let dist = info
            .file_stem()
            .map(|s| s.to_string_lossy().to_string())
            .unwrap_or_default();
        let dist = dist.split('-').next().unwrap_or(&dist).to_string();
        let wheel = std::fs::read_to_string(info.join("WHEEL")).unwrap_or_default();
        for tag in wheel.lines().filter_map(|l| l.strip_prefix("Tag:")) {
            let tag = tag.trim();
            if !tag.ends_with("-none-any") {
                compiled.push((dist.clone(), format!("its wheel is tagged {tag}")));
            }
        }
        let record = std::fs::read_to_string(info.join("RECORD")).unwrap_or_default();
        for line in record.lines() {
            let file = line.split(',').next().unwrap_or_default();
            owner.push((file.to_string(), dist.clone()));
        }
    }
    let mut stack = entries;
    while let Some(p) = stack.pop() {
        if p.is_dir() {
            stack.extend(
                std::fs::read_dir(&p)
                    .map_err(io(&p))?
                    .filter_map(|e| e.ok().map(|e| e.path())),
            );
            continue;
        }
        let name = p.file_name().unwrap_or_default().to_string_lossy();
        let native = name.ends_with(".so")
            || name.contains(".so.")
            || name.ends_with(".pyd")
            || name.ends_with(".dylib");
        if !native {
            continue;
        }
        let rel = p
            .strip_prefix(site)
            .unwrap_or(&p)
            .to_string_lossy()
            .replace('\\', "/");
        let dist = owner
            .iter()
            .find(|(f, _)| *f == rel)
            .map(|(_, d)| d.clone())
            .unwrap_or_else(|| rel.split('/').next().unwrap_or(&rel).to_string());
        compiled.push((dist, format!("it contains the compiled module {rel}")));
    }
    if compiled.is_empty() {
        return Ok(());
    }
    compiled.sort();
    compiled.dedup();
    let list: Vec<String> = compiled
        .iter()
        .map(|(d, why)| format!("package '{d}': {why}"))
        .collect();
    Err(AuthoringError::Project {
        path: dir.join("requirements.txt"),
        message: format!(
            "{}; componentize-py cannot load C extension modules in a WebAssembly component: \
             only pure-Python packages (py3-none-any wheels) work (numpy, pandas and scipy do not)",
            list.join("; ")
        ),
    })
}

/// When the project has `package.json`: in a scratch copy of the project
/// (`WORK/src`), install its dependencies (`npm ci` when there is a
/// `package-lock.json`, else `npm install`; scripts of packages are not
/// run), then bundle `source` (the sluice_sdk helpers and the plugin) with
/// esbuild into the one ES module componentize-js takes, `WORK/plugin.js`.
/// Returns false (nothing done) without a `package.json`.
pub(super) fn js(
    dir: &Path,
    out: &Path,
    work: &Path,
    source: &str,
) -> Result<bool, AuthoringError> {
    if !dir.join("package.json").is_file() {
        return Ok(false);
    }
    let esbuild = super::build::tool(
        super::tools_dir().join("js/node_modules/.bin/esbuild"),
        "esbuild",
    )?;
    let src = work.join("src");
    copy_project(dir, out, &src)?;
    let npm = std::env::var_os("NPM").unwrap_or_else(|| "npm".into());
    let (verb, what) = if dir.join("package-lock.json").is_file() {
        ("ci", "npm ci")
    } else {
        ("install", "npm install")
    };
    let mut cmd = Command::new(npm);
    cmd.current_dir(&src).args([
        verb,
        "--no-audit",
        "--no-fund",
        "--ignore-scripts",
        "--loglevel=error",
    ]);
    run(cmd, what, dir)?;
    // Beside the project's files, so node_modules resolves from there.
    let entry = src.join("__sluice_entry.js");
    std::fs::write(&entry, source).map_err(io(&entry))?;
    let mut cmd = Command::new(esbuild);
    cmd.current_dir(&src)
        .arg(&entry)
        .args([
            "--bundle",
            "--format=esm",
            "--platform=neutral",
            "--main-fields=module,main",
            "--log-level=warning",
        ])
        .arg(format!("--outfile={}", work.join("plugin.js").display()));
    run(
        cmd,
        "esbuild (bundling the plugin and its npm packages)",
        dir,
    )?;
    Ok(true)
}
