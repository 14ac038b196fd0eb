//! Writing a file the user named with `-o`: `artifacts get`, `predict`,
//! `models card`.
//!
//! The bytes go to a temporary file created exclusively (a fresh name, never
//! an existing file) in the target's directory, which is then renamed over
//! the target: a failure leaves no half-written file and never touches a
//! file of the user's. Only a regular file is replaced; a symlink, device,
//! FIFO or directory at the target is refused, so `-o /dev/full` as root or
//! `-o link` does not replace the device or the link. `-` is standard
//! output.

use std::io::Write as _;
use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;

/// Whether `-o` names standard output.
pub fn is_stdout(path: &Path) -> bool {
    path.as_os_str() == "-"
}

/// Writes `bytes` to `path` (or to standard output for `-`), replacing an
/// existing regular file (its permissions kept) and refusing anything else.
pub fn write_output_file(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    if is_stdout(path) {
        super::output::write_out(bytes);
        return Ok(());
    }
    let existing = match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_file() => Some(meta.permissions()),
        Ok(meta) => anyhow::bail!(
            "refusing to write {}: it is {}, and sluice replaces only regular files \
             (`-o -` writes to standard output)",
            path.display(),
            describe(&meta.file_type())
        ),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => anyhow::bail!("cannot write {}: {e}", path.display()),
    };
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let name = path
        .file_name()
        .ok_or_else(|| anyhow::anyhow!("cannot write {}: it names no file", path.display()))?;
    let failed = |e: std::io::Error| anyhow::anyhow!("cannot write {}: {e}", path.display());
    let mut tmp = tempfile::Builder::new()
        .prefix(&format!(".{}.", name.to_string_lossy()))
        .suffix(".sluice-partial")
        // As a new file by `std::fs::write`: what the umask allows.
        .permissions(std::fs::Permissions::from_mode(0o666))
        .tempfile_in(dir)
        .map_err(failed)?;
    tmp.write_all(bytes).map_err(failed)?;
    if let Some(permissions) = existing {
        tmp.as_file().set_permissions(permissions).map_err(failed)?;
    }
    tmp.persist(path).map_err(|e| failed(e.error))?;
    Ok(())
}

fn describe(kind: &std::fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    if kind.is_symlink() {
        "a symbolic link"
    } else if kind.is_dir() {
        "a directory"
    } else if kind.is_fifo() {
        "a FIFO"
    } else if kind.is_block_device() || kind.is_char_device() {
        "a device"
    } else if kind.is_socket() {
        "a socket"
    } else {
        "not a regular file"
    }
}
