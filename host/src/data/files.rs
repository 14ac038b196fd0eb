//! A dataset that is a directory: the files of it that a pattern matches,
//! in the order of their names, each opened as [`open_data_file`] opens a
//! single dataset file.
//!
//! The directory is read once, not recursively; hidden files (a name that
//! starts with `.`, as a writer's file in progress often has) are never
//! matched. Every matching name is opened by [`open_data_file`], so a
//! symlink is followed and the file it leads to must be a regular file
//! outside `/proc`, `/sys` and `/dev`; a matching subdirectory is passed
//! over. Names are sorted by their bytes, so the rows of the files
//! concatenated, and the dataset's digest, are the same on every machine
//! (dates written `2024-01-31` sort in time order).

use std::fmt;
use std::path::{Path, PathBuf};

use super::source::{KERNEL_DIRS, SourceError};
use super::{DataFile, open_data_file};

/// The most files a dataset directory may have matched: each is held open
/// while the dataset is read, and a process may hold only so many files.
pub const MAX_DATASET_FILES: usize = 512;

/// Which files of a dataset directory are its files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FilePattern {
    /// Every file with an extension sluice reads (`.csv`, `.parquet`,
    /// `.arrow`, `.ipc`, `.feather`): a directory without `files`.
    DataFormats,
    /// The names a glob matches: `*` any run of characters, `?` any one;
    /// everything else is itself (`files = "*.parquet"`).
    Glob(String),
}

impl FilePattern {
    /// The pattern of `files = "..."`: not empty, and a name, not a path.
    pub fn glob(text: &str) -> Result<FilePattern, String> {
        if text.is_empty() {
            return Err("`files` is empty: give a pattern such as \"*.parquet\"".into());
        }
        if text.contains('/') {
            return Err(format!(
                "`files = {text:?}` has a '/': the pattern matches the names of the files \
                 directly in `path` (subdirectories are not read)"
            ));
        }
        Ok(FilePattern::Glob(text.to_owned()))
    }

    /// Whether a file called `name` is one of the dataset's.
    pub fn matches(&self, name: &str) -> bool {
        if name.starts_with('.') {
            return false;
        }
        match self {
            FilePattern::DataFormats => super::io::is_data_file_name(name),
            FilePattern::Glob(glob) => glob_matches(glob.as_bytes(), name.as_bytes()),
        }
    }
}

impl fmt::Display for FilePattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FilePattern::DataFormats => f.write_str("*.csv, *.parquet, *.arrow, *.ipc, *.feather"),
            FilePattern::Glob(glob) => f.write_str(glob),
        }
    }
}

/// `*` and `?` globbing, without backtracking blow-up: the last `*` seen is
/// the only one ever retried.
fn glob_matches(glob: &[u8], name: &[u8]) -> bool {
    let (mut g, mut n) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while n < name.len() {
        match glob.get(g) {
            Some(b'*') => {
                star = Some((g, n));
                g += 1;
            }
            Some(&c) if c == b'?' || c == name[n] => {
                g += 1;
                n += 1;
            }
            _ => match star {
                Some((sg, sn)) => {
                    g = sg + 1;
                    n = sn + 1;
                    star = Some((sg, sn + 1));
                }
                None => return false,
            },
        }
    }
    glob[g..].iter().all(|&c| c == b'*')
}

/// One file of a dataset directory, open.
#[derive(Debug)]
pub struct NamedFile {
    /// Its name in the directory.
    pub name: String,
    /// Its path: the directory's joined with the name.
    pub path: PathBuf,
    /// The file, opened and checked.
    pub file: DataFile,
}

/// Open the files of the directory `dir` that `pattern` matches, sorted by
/// name; an error when none does, or when more than
/// [`MAX_DATASET_FILES`] do.
pub fn open_data_dir(dir: &Path, pattern: &FilePattern) -> Result<Vec<NamedFile>, SourceError> {
    let read_error = |e: std::io::Error| SourceError::of_io(dir, &e);
    let real = std::fs::canonicalize(dir).map_err(read_error)?;
    if KERNEL_DIRS.iter().any(|d| real.starts_with(d)) {
        return Err(SourceError::KernelInterface {
            path: dir.to_owned(),
            real,
        });
    }
    let mut names = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(read_error)? {
        let name = entry.map_err(read_error)?.file_name();
        let Some(name) = name.to_str() else {
            // A name that is not UTF-8 cannot be named in a record.
            return Err(SourceError::Open {
                path: dir.join(&name),
                message: "the file name is not UTF-8".into(),
            });
        };
        if pattern.matches(name) {
            names.push(name.to_owned());
        }
    }
    names.sort();
    if names.len() > MAX_DATASET_FILES {
        return Err(SourceError::TooManyFiles {
            dir: dir.to_owned(),
            pattern: pattern.to_string(),
            count: names.len(),
        });
    }
    let mut files = Vec::with_capacity(names.len());
    for name in names {
        let path = dir.join(&name);
        match open_data_file(&path) {
            Ok(file) => files.push(NamedFile { name, path, file }),
            Err(SourceError::NotAFile {
                what: "directory", ..
            }) => {}
            Err(e) => return Err(e),
        }
    }
    if files.is_empty() {
        return Err(SourceError::NoFiles {
            dir: dir.to_owned(),
            pattern: pattern.to_string(),
        });
    }
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_match_whole_names() {
        let m = |g: &str, n: &str| FilePattern::glob(g).unwrap().matches(n);
        assert!(m("*.parquet", "2024-01-01.parquet"));
        assert!(!m("*.parquet", "2024-01-01.parquet.tmp"));
        assert!(!m("*.parquet", "2024-01-01.csv"));
        assert!(m("day-??.csv", "day-07.csv"));
        assert!(!m("day-??.csv", "day-7.csv"));
        assert!(m("*-*-*.csv", "a-b-c.csv"));
        assert!(m("*", "anything"));
        assert!(!m("*", ".hidden"), "hidden files are never a dataset's");
        assert!(m("a*b*c", "aXbYbZc"));
        assert!(!m("a*b*c", "aXbYbZ"));
        assert!(FilePattern::glob("sub/*.csv").is_err());
        assert!(FilePattern::glob("").is_err());
        let formats = FilePattern::DataFormats;
        assert!(formats.matches("a.CSV") && formats.matches("b.feather"));
        assert!(!formats.matches("_SUCCESS") && !formats.matches("notes.txt"));
    }

    #[test]
    fn a_directory_opens_its_matching_files_in_name_order() {
        let dir = tempfile::tempdir().unwrap();
        for name in ["b.csv", "a.csv", "c.txt", ".d.csv"] {
            std::fs::write(dir.path().join(name), "x\n1\n").unwrap();
        }
        std::fs::create_dir(dir.path().join("old.csv")).unwrap();
        let files = open_data_dir(dir.path(), &FilePattern::DataFormats).unwrap();
        let names: Vec<&str> = files.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["a.csv", "b.csv"]);

        let e = open_data_dir(dir.path(), &FilePattern::glob("*.parquet").unwrap()).unwrap_err();
        assert!(matches!(e, SourceError::NoFiles { .. }), "{e}");
        let text = e.to_string();
        assert!(
            text.contains(&dir.path().display().to_string()) && text.contains("*.parquet"),
            "{text}"
        );

        let fifo = dir.path().join("e.csv");
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(made.success());
        let e = open_data_dir(dir.path(), &FilePattern::DataFormats).unwrap_err();
        assert!(
            matches!(e, SourceError::NotAFile { what: "FIFO", .. }),
            "{e}"
        );

        let e = open_data_dir(Path::new("/proc/self"), &FilePattern::DataFormats).unwrap_err();
        assert!(matches!(e, SourceError::KernelInterface { .. }), "{e}");
    }
}
