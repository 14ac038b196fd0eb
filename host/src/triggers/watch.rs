//! What the data an `on_new_data` trigger watches hashes to: a file, the
//! matching files of a directory, or the matching objects of an S3 prefix,
//! by name and content.

use super::Armed;
use crate::data::{FilePattern, ListedObject, S3Objects, S3Prefix};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

/// What the files of watched datasets hashed to, by path, size and
/// modification time (for an object: its URL, size, date and ETag): a file
/// is read again only when one of them moved.
#[derive(Default)]
pub(super) struct DataWatch {
    known: Mutex<HashMap<PathBuf, (u64, i128, String)>>,
    objects: Mutex<HashMap<String, (ListedObject, String)>>,
    /// A client per watched prefix, made once (its connections kept).
    clients: Mutex<HashMap<String, Arc<S3Objects>>>,
}

/// The digest of named contents: each name, then its sha256, in order.
fn digest_of<'a>(named: impl Iterator<Item = (&'a str, &'a str)>) -> String {
    let mut all = Sha256::new();
    for (name, sha) in named {
        all.update(name.as_bytes());
        all.update([0]);
        all.update(sha.as_bytes());
        all.update([0]);
    }
    hex::encode(all.finalize())
}

impl DataWatch {
    /// The digest of `armed`'s data (its files' names and contents) and
    /// how many files it has.
    pub(super) async fn digest(self: Arc<Self>, armed: Armed) -> Result<(String, usize), String> {
        let path = armed
            .watch
            .as_ref()
            .ok_or("the trigger watches no dataset")?;
        if let Some(prefix) = path.to_str().and_then(S3Prefix::parse) {
            return self.digest_s3(&prefix?, &armed).await;
        }
        // Hashing reads files: off the async workers.
        tokio::task::spawn_blocking(move || self.digest_local(&armed))
            .await
            .map_err(|e| format!("hashing the data: {e}"))?
    }

    /// The digest of the objects under `prefix` that `armed`'s pattern
    /// matches: listed each time, and an object downloaded (streamed
    /// through sha256) only when its size, date or ETag moved.
    async fn digest_s3(&self, prefix: &S3Prefix, armed: &Armed) -> Result<(String, usize), String> {
        let pattern = pattern(armed)?;
        let made = self
            .clients
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&prefix.to_string())
            .cloned();
        let client = match made {
            Some(client) => client,
            None => {
                let client = Arc::new(S3Objects::from_env(prefix).map_err(|e| e.to_string())?);
                self.clients
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .insert(prefix.to_string(), client.clone());
                client
            }
        };
        let listed = match client.list(&pattern).await {
            Ok(listed) => listed,
            // Nothing yet: the first object to come is new data.
            Err(crate::data::S3DataError::NoObjects { .. }) => Vec::new(),
            Err(e) => return Err(e.to_string()),
        };
        let mut named = Vec::with_capacity(listed.len());
        for object in listed {
            let url = prefix.url_of(&object.name);
            let known = self
                .objects
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .get(&url)
                .filter(|(seen, _)| *seen == object)
                .map(|(_, sha)| sha.clone());
            let sha = match known {
                Some(sha) => sha,
                None => {
                    let sha = client.digest(&object).await.map_err(|e| e.to_string())?;
                    self.objects
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .insert(url, (object.clone(), sha.clone()));
                    sha
                }
            };
            named.push((object.name, sha));
        }
        let digest = digest_of(named.iter().map(|(n, s)| (n.as_str(), s.as_str())));
        Ok((digest, named.len()))
    }

    fn digest_local(&self, armed: &Armed) -> Result<(String, usize), String> {
        let path = armed
            .watch
            .as_ref()
            .ok_or("the trigger watches no dataset")?;
        let mut files: Vec<(String, PathBuf)> = Vec::new();
        if path.is_dir() {
            let pattern = pattern(armed)?;
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
        let mut named = Vec::with_capacity(files.len());
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
            named.push((name.as_str(), sha));
        }
        let digest = digest_of(named.iter().map(|(n, s)| (*n, s.as_str())));
        Ok((digest, files.len()))
    }
}

/// The pattern of the files `armed` watches (every data file without
/// `files`).
fn pattern(armed: &Armed) -> Result<FilePattern, String> {
    match &armed.files {
        Some(g) => FilePattern::glob(g),
        None => Ok(FilePattern::DataFormats),
    }
}
