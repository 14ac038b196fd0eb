//! `sluice plugin list`, `sluice plugin add` and `sluice plugin remove`:
//! the plugins a pipeline can name without a path (see
//! `sluice::installed`).

use super::output::{errln, outln, print_json, table};
use sluice::Workspace;
use sluice::installed::{self, Installed};
use sluice::runtime::{Plugin, Runtime};
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

/// A plugin's `file` argument: a component file, or the name of a plugin
/// found in the plugin directories (`sluice plugin inspect logreg`).
pub fn component(file: PathBuf) -> anyhow::Result<PathBuf> {
    let spec = file.to_string_lossy().into_owned();
    if file.exists() || spec.contains('/') || spec.ends_with(".wasm") {
        return Ok(file);
    }
    let dirs = installed::search_dirs(&[]);
    sluice::pipeline::plan::resolve_plugin(&spec, Path::new("."), &dirs)
        .map_err(|e| anyhow::anyhow!(e))
}

async fn load(runtime: &Runtime, file: &Path) -> anyhow::Result<Arc<Plugin>> {
    let (runtime, file) = (runtime.clone(), file.to_path_buf());
    Ok(tokio::task::spawn_blocking(move || runtime.load(&file)).await??)
}

/// The first sentence of a plugin's doc, at most `max` characters.
fn summary(doc: &str, max: usize) -> String {
    let first = doc.split(". ").next().unwrap_or_default().trim();
    let first = first.lines().collect::<Vec<_>>().join(" ");
    if first.chars().count() <= max {
        first
    } else {
        first.chars().take(max - 3).collect::<String>() + "..."
    }
}

/// `sluice plugin list`: every component in the plugin directories, in
/// search order; a file name met again later is shadowed by the first.
pub async fn list(home: &Workspace, given: &[PathBuf], json: bool) -> anyhow::Result<ExitCode> {
    let runtime = home.runtime().await?;
    let dirs = installed::search_dirs(given);
    let user = installed::user_dir();
    let installation = installed::installation_dir();
    let kind = |dir: &PathBuf| {
        if given.contains(dir) {
            "--plugin-dir"
        } else if Some(dir) == user.as_ref() {
            "user"
        } else if Some(dir) == installation.as_ref() {
            "installation"
        } else {
            "SLUICE_PLUGIN_PATH"
        }
    };
    let mut seen = HashSet::new();
    let mut rows = Vec::new();
    for dir in &dirs {
        let files = installed::components(dir)
            .map_err(|e| anyhow::anyhow!("cannot list {}: {e}", dir.display()))?;
        for file in files {
            let shadowed = !seen.insert(file.file_name().map(|n| n.to_os_string()));
            let row = match load(&runtime, &file).await {
                Ok(p) => serde_json::json!({
                    "name": p.info.name,
                    "version": p.info.version,
                    "world": p.world.to_string(),
                    "doc": p.info.doc,
                    "file": file.display().to_string(),
                    "sha256": p.sha256,
                    "directory": kind(dir),
                    "shadowed": shadowed,
                }),
                Err(e) => serde_json::json!({
                    "name": file.file_stem().map(|s| s.to_string_lossy().replace('_', "-")),
                    "file": file.display().to_string(),
                    "directory": kind(dir),
                    "shadowed": shadowed,
                    "error": e.to_string(),
                }),
            };
            rows.push(row);
        }
    }
    if json {
        let dirs: Vec<_> = dirs
            .iter()
            .map(|d| {
                serde_json::json!({
                    "path": d.display().to_string(),
                    "kind": kind(d),
                    "exists": d.is_dir(),
                })
            })
            .collect();
        print_json(&serde_json::json!({ "directories": dirs, "plugins": rows }))?;
        return Ok(ExitCode::SUCCESS);
    }
    outln!("searched, in order (a pipeline's own plugin_dirs come first):");
    for d in &dirs {
        let missing = if d.is_dir() { "" } else { "  (missing)" };
        outln!("  {:<18} {}{missing}", kind(d), d.display());
    }
    if rows.is_empty() {
        outln!(
            "no plugins found; `sluice plugin add FILE.wasm` installs one, scripts/install.sh \
             the standard ones"
        );
        return Ok(ExitCode::SUCCESS);
    }
    let mut t = table(&["name", "version", "world", "doc", "from"]);
    for r in &rows {
        let text = |k: &str| r[k].as_str().unwrap_or("-").to_string();
        let mut name = text("name");
        if r["shadowed"] == true {
            name += " (shadowed)";
        }
        let doc = match r["error"].as_str() {
            Some(e) => format!("cannot load: {}", summary(e, 60)),
            None => summary(&text("doc"), 60),
        };
        t.add_row(vec![
            name,
            text("version"),
            text("world"),
            doc,
            text("directory"),
        ]);
    }
    outln!("{t}");
    Ok(ExitCode::SUCCESS)
}

/// `sluice plugin add PATH...`: every component loads and describes
/// itself before any is copied; then each goes into `to` (the user's
/// plugin directory by default) under the name its describe() gives.
pub async fn add(
    home: &Workspace,
    paths: &[PathBuf],
    to: Option<PathBuf>,
    force: bool,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let dir = target_dir(to, "--to")?;
    let mut files = Vec::new();
    for path in paths {
        if path.is_dir() {
            let found = installed::components(path)
                .map_err(|e| anyhow::anyhow!("cannot list {}: {e}", path.display()))?;
            if found.is_empty() {
                anyhow::bail!("{} holds no component (.wasm) file", path.display());
            }
            files.extend(found);
        } else {
            files.push(path.clone());
        }
    }
    let runtime = home.runtime().await?;
    let mut plugins = Vec::new();
    let mut names: Vec<(String, PathBuf)> = Vec::new();
    for file in &files {
        let plugin = load(&runtime, file)
            .await
            .map_err(|e| anyhow::anyhow!("{}: not added: {e}", file.display()))?;
        installed::check_name(&plugin.info.name)
            .map_err(|e| anyhow::anyhow!("{}: not added: {e}", file.display()))?;
        if let Some((_, other)) = names.iter().find(|(n, _)| *n == plugin.info.name) {
            anyhow::bail!(
                "{} and {} are both plugin `{}`: add one of them",
                other.display(),
                file.display(),
                plugin.info.name
            );
        }
        names.push((plugin.info.name.clone(), file.clone()));
        plugins.push((file, plugin));
    }
    if !force {
        // Refuse before copying anything.
        for (file, plugin) in &plugins {
            let target = dir.join(installed::file_name(&plugin.info.name));
            if let Ok(old) = std::fs::read(&target)
                && old != std::fs::read(file)?
            {
                anyhow::bail!(
                    "{} holds another plugin `{}` already; --force replaces it (nothing was added)",
                    target.display(),
                    plugin.info.name
                );
            }
        }
    }
    let mut done = Vec::new();
    for (file, plugin) in &plugins {
        let outcome = installed::install(file, &plugin.info.name, &dir, force)
            .map_err(|e| anyhow::anyhow!(e))?;
        let (what, target) = match outcome {
            Installed::Added(p) => ("added", p),
            Installed::Replaced(p) => ("replaced", p),
            Installed::Unchanged(p) => ("unchanged", p),
        };
        if !json {
            outln!(
                "{what:<9} {}@{} ({}) -> {}",
                plugin.info.name,
                plugin.info.version,
                plugin.world,
                target.display()
            );
        }
        done.push(serde_json::json!({
            "name": plugin.info.name,
            "version": plugin.info.version,
            "world": plugin.world.to_string(),
            "file": target.display().to_string(),
            "outcome": what,
        }));
    }
    if json {
        print_json(
            &serde_json::json!({ "directory": dir.display().to_string(), "plugins": done }),
        )?;
    }
    Ok(ExitCode::SUCCESS)
}

/// `sluice plugin remove NAME`: its file leaves the user's plugin
/// directory (or `from`).
pub fn remove(name: &str, from: Option<PathBuf>) -> anyhow::Result<ExitCode> {
    let dir = target_dir(from, "--from")?;
    let file = dir.join(installed::file_name(name));
    match std::fs::remove_file(&file) {
        Ok(()) => {
            outln!("removed {}", file.display());
            Ok(ExitCode::SUCCESS)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            errln!("error: no plugin `{name}` in {}", dir.display());
            Ok(ExitCode::from(2))
        }
        Err(e) => Err(anyhow::anyhow!("cannot remove {}: {e}", file.display())),
    }
}

fn target_dir(given: Option<PathBuf>, flag: &str) -> anyhow::Result<PathBuf> {
    given.or_else(installed::user_dir).ok_or_else(|| {
        anyhow::anyhow!(
            "neither HOME nor XDG_DATA_HOME is set, so there is no user plugin directory: \
             give {flag} DIR"
        )
    })
}
