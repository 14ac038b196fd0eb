//! What the data an `on_new_data` trigger watches hashes to.

use super::Armed;
use crate::data::FilePattern;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Mutex;

/// What the files of watched datasets hashed to, by path, size and
/// modification time: a file is read again only when one of them moved.
#[derive(Default)]
pub(super) struct DataWatch {
    known: Mutex<HashMap<PathBuf, (u64, i128, String)>>,
}

impl DataWatch {
    /// The digest of `armed`'s data (its files' names and contents) and
    /// how many files it has.
    pub(super) fn digest(&self, armed: &Armed) -> Result<(String, usize), String> {
        let path = armed
            .watch
            .as_ref()
            .ok_or("the trigger watches no dataset")?;
        let mut files: Vec<(String, PathBuf)> = Vec::new();
        if path.is_dir() {
            let pattern = match &armed.files {
                Some(g) => FilePattern::glob(g)?,
                None => FilePattern::DataFormats,
            };
            for entry in
                std::fs::read_dir(path).map_err(|e| format!("listing {}: {e}", path.display()))?
            {
                let entry = entry.map_err(|e| format!("listing {}: {e}", path.display()))?;
                let name = entry.file_name().to_string_lossy().into_owned();
                if pattern.matches(&name) && entry.path().is_file() {
                    files.push((name, entry.path()));
                }
            }
            files.sort();
        } else {
            files.push((String::new(), path.clone()));
        }
        let mut all = Sha256::new();
        for (name, file) in &files {
            let meta =
                std::fs::metadata(file).map_err(|e| format!("reading {}: {e}", file.display()))?;
            let mtime = std::os::unix::fs::MetadataExt::mtime(&meta) as i128 * 1_000_000_000
                + std::os::unix::fs::MetadataExt::mtime_nsec(&meta) as i128;
            let stamp = (meta.len(), mtime);
            let mut known = self.known.lock().unwrap_or_else(|e| e.into_inner());
            let sha = match known.get(file) {
                Some((len, time, sha)) if (*len, *time) == stamp => sha.clone(),
                _ => {
                    // Streamed: a data file may be larger than memory.
                    let read = |e: std::io::Error| format!("reading {}: {e}", file.display());
                    let mut hasher = Sha256::new();
                    std::io::copy(&mut std::fs::File::open(file).map_err(read)?, &mut hasher)
                        .map_err(read)?;
                    let sha = hex::encode(hasher.finalize());
                    known.insert(file.clone(), (stamp.0, stamp.1, sha.clone()));
                    sha
                }
            };
            all.update(name.as_bytes());
            all.update([0]);
            all.update(sha.as_bytes());
            all.update([0]);
        }
        Ok((hex::encode(all.finalize()), files.len()))
    }
}
