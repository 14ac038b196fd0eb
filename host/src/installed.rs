//! Where `sluice` finds the plugins a pipeline names, and installing them.
//!
//! A step's `plugin = "NAME"` is the file `NAME.wasm` ('-' read as '_') in
//! the first of these directories that has it:
//!
//! 1. the pipeline's `plugin_dirs` (relative to its file);
//! 2. `--plugin-dir` arguments, in order;
//! 3. `SLUICE_PLUGIN_PATH`, a list of directories like `PATH`;
//! 4. the user's plugin directory, where `sluice plugin add` copies plugins:
//!    `$XDG_DATA_HOME/sluice/plugins`, else `~/.local/share/sluice/plugins`;
//! 5. the installation's: `share/sluice/plugins` beside the `bin/` that
//!    holds the running `sluice`, where `scripts/install.sh` puts the
//!    standard plugins.
//!
//! [`search_dirs`] lists 2 to 5; planning a pipeline puts its own first.

use std::path::{Path, PathBuf};

/// The variable that adds plugin directories (like `PATH`).
pub const PATH_VAR: &str = "SLUICE_PLUGIN_PATH";

/// The user's plugin directory (whether it exists or not), if a home
/// directory is known.
pub fn user_dir() -> Option<PathBuf> {
    let data = std::env::var_os("XDG_DATA_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")))?;
    Some(data.join("sluice/plugins"))
}

/// The installation's plugin directory: `PREFIX/share/sluice/plugins` for
/// the running binary at `PREFIX/bin/sluice` (whether it exists or not).
pub fn installation_dir() -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    let exe = exe.canonicalize().unwrap_or(exe);
    Some(exe.parent()?.parent()?.join("share/sluice/plugins"))
}

/// The directories plugins are looked for in after a pipeline's own:
/// `given` (`--plugin-dir`), then `SLUICE_PLUGIN_PATH`'s, then the user's
/// and the installation's, each once.
pub fn search_dirs(given: &[PathBuf]) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = given.to_vec();
    if let Some(path) = std::env::var_os(PATH_VAR) {
        dirs.extend(std::env::split_paths(&path).filter(|p| !p.as_os_str().is_empty()));
    }
    dirs.extend(user_dir());
    dirs.extend(installation_dir());
    let mut seen = std::collections::HashSet::new();
    dirs.retain(|d| seen.insert(d.clone()));
    dirs
}

/// Whether `name`, as a plugin's describe() gave it, can name its file in
/// a plugin directory: letters, digits, '-' and '_' only.
pub fn check_name(name: &str) -> Result<(), String> {
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(format!(
            "its describe() names it {name:?}, which is not a plugin name \
             (letters, digits, '-' and '_')"
        ));
    }
    Ok(())
}

/// The file a plugin called `name` has in a plugin directory.
pub fn file_name(name: &str) -> String {
    format!("{}.wasm", name.replace('-', "_"))
}

/// The component files (`*.wasm`) directly in `dir`, by name; none when
/// it does not exist.
pub fn components(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut files = Vec::new();
    for entry in entries {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "wasm") && path.is_file() {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

/// What [`install`] did with one component.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Installed {
    /// It was copied to this path.
    Added(PathBuf),
    /// It replaced a different component of the same name there.
    Replaced(PathBuf),
    /// The same bytes were there already.
    Unchanged(PathBuf),
}

/// Copy the component at `source`, whose describe() gave `name`, into
/// `dir` as [`file_name`]`(name)`. A different component already there
/// is refused unless `replace`. The copy is written to a temporary file in
/// `dir` and renamed over the target, so a reader never sees half a file.
/// A name that is not letters, digits, '-' and '_' is refused: it would
/// not name a file in `dir`.
pub fn install(source: &Path, name: &str, dir: &Path, replace: bool) -> Result<Installed, String> {
    check_name(name).map_err(|e| format!("{}: {e}", source.display()))?;
    let bytes =
        std::fs::read(source).map_err(|e| format!("cannot read {}: {e}", source.display()))?;
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let target = dir.join(file_name(name));
    let existed = match std::fs::read(&target) {
        Ok(old) if old == bytes => return Ok(Installed::Unchanged(target)),
        Ok(_) if !replace => {
            return Err(format!(
                "{} holds another plugin `{name}` already; --force replaces it",
                target.display()
            ));
        }
        Ok(_) => true,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => false,
        Err(e) => return Err(format!("cannot read {}: {e}", target.display())),
    };
    let write = || -> std::io::Result<()> {
        let mut temp = tempfile::NamedTempFile::new_in(dir)?;
        std::io::Write::write_all(&mut temp, &bytes)?;
        temp.as_file().sync_all()?;
        temp.persist(&target).map_err(|e| e.error)?;
        Ok(())
    };
    write().map_err(|e| format!("cannot write {}: {e}", target.display()))?;
    Ok(if existed {
        Installed::Replaced(target)
    } else {
        Installed::Added(target)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn install_adds_keeps_refuses_and_replaces() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a.wasm"), dir.path().join("b.wasm"));
        std::fs::write(&a, b"one").unwrap();
        std::fs::write(&b, b"two").unwrap();
        let plugins = dir.path().join("plugins");
        let target = plugins.join("my_plugin.wasm");
        assert_eq!(
            install(&a, "my-plugin", &plugins, false),
            Ok(Installed::Added(target.clone()))
        );
        assert_eq!(
            install(&a, "my-plugin", &plugins, false),
            Ok(Installed::Unchanged(target.clone()))
        );
        let refused = install(&b, "my-plugin", &plugins, false).unwrap_err();
        assert!(refused.contains("--force"), "{refused}");
        assert_eq!(std::fs::read(&target).unwrap(), b"one");
        assert_eq!(
            install(&b, "my-plugin", &plugins, true),
            Ok(Installed::Replaced(target.clone()))
        );
        assert_eq!(std::fs::read(&target).unwrap(), b"two");
        assert_eq!(components(&plugins).unwrap(), [target]);
        assert!(components(&dir.path().join("none")).unwrap().is_empty());
        for bad in ["../escape", "a/b", "", "x\u{1b}[0m"] {
            let refused = install(&a, bad, &plugins, true).unwrap_err();
            assert!(refused.contains("not a plugin name"), "{refused}");
        }
        assert_eq!(components(&plugins).unwrap().len(), 1);
        assert!(!dir.path().join("escape.wasm").exists());
    }
}
