//! The files a dataset is read from: one file, or the files of a
//! directory, opened within the tenant's caps; decoded, joined, kept to
//! their time window and split; and the manifest that names a directory's
//! files by digest, which is the dataset's source in records and cache
//! keys.

use super::dataset::{dataset_file, read_parts, split_table, tenant_allows, within_cap};
use crate::artifacts::ArtifactDigest;
use crate::data::{self, DataFile, RecordBatch};
use crate::pipeline::plan::PlannedDataset;
use crate::tenants::{DEFAULT_TENANT, Tenant};
use std::path::PathBuf;

/// A file a dataset reads, open.
#[derive(Debug)]
pub(super) struct SourceFile {
    /// Its name in the dataset's directory; `None` for a dataset that is
    /// one file.
    pub name: Option<String>,
    /// Its path.
    pub path: PathBuf,
    /// The open file.
    pub file: DataFile,
}

/// A dataset's rows, read: its train part, its holdout part if it is
/// split, and how many rows its time window dropped, if it has one.
pub(super) struct DatasetRows {
    pub train: RecordBatch,
    pub holdout: Option<RecordBatch>,
    pub outside_window: Option<usize>,
}

/// The files a dataset reads, open, and how many its window by file dates
/// left out (`None`: it has no such window).
#[derive(Debug)]
pub(super) struct OpenFiles {
    pub files: Vec<SourceFile>,
    pub outside_window: Option<usize>,
}

/// The files of dataset `ds`, opened for `tenant`: its one file, its
/// directory's files or its S3 prefix's objects (downloaded: see
/// [`super::dataset_s3`]), in name order, kept to its window by file dates
/// if it has one.
pub(super) async fn open_dataset_files(
    tenant: &Tenant,
    ds: &PlannedDataset,
) -> Result<OpenFiles, String> {
    match &ds.s3 {
        Some(prefix) => super::dataset_s3::open_s3_dataset(tenant, ds, prefix).await,
        None => open_dataset(tenant, ds),
    }
}

/// The files of dataset `ds` on this machine, opened for `tenant`: its one
/// file, or its directory's files in name order (see
/// [`data::open_data_dir`]) that its window by file dates keeps; all of
/// them together within the tenant's `dataset_mib`, and for a tenant other
/// than the default one each really inside its `allowed_dirs`.
pub(super) fn open_dataset(tenant: &Tenant, ds: &PlannedDataset) -> Result<OpenFiles, String> {
    let Some(pattern) = &ds.files else {
        let file = dataset_file(tenant, &ds.path)?;
        return Ok(OpenFiles {
            files: vec![SourceFile {
                name: None,
                path: ds.path.clone(),
                file,
            }],
            outside_window: None,
        });
    };
    // A directory outside the tenant's is not listed: its file names are
    // not the tenant's to see, even in an error.
    if tenant.name != DEFAULT_TENANT {
        let real = std::fs::canonicalize(&ds.path)
            .map_err(|e| format!("cannot read directory {}: {e}", ds.path.display()))?;
        tenant_allows(tenant, &ds.path, &real)?;
    }
    let mut files = data::open_data_dir(&ds.path, pattern).map_err(|e| e.to_string())?;
    let mut outside_window = None;
    if let Some(data::DatasetWindow::FileDates(window)) = &ds.window {
        let dates = files
            .iter()
            .map(|f| {
                let modified = f.file.file.metadata().and_then(|m| m.modified());
                modified
                    .map(|t| match t.duration_since(std::time::UNIX_EPOCH) {
                        Ok(after) => after.as_millis() as i64,
                        Err(before) => -(before.duration().as_millis() as i64),
                    })
                    .map_err(|e| format!("cannot read the date of {}: {e}", f.path.display()))
            })
            .collect::<Result<Vec<i64>, String>>()?;
        let keep = window.keep(&dates);
        let before = files.len();
        let mut keep = keep.into_iter();
        files.retain(|_| keep.next().unwrap_or(false));
        outside_window = Some(before - files.len());
    }
    let total: u64 = files.iter().map(|f| f.file.size).sum();
    within_cap(
        tenant,
        &format!("{} ({} files)", ds.path.display(), files.len()),
        total,
    )?;
    let files = files
        .into_iter()
        .map(|f| {
            tenant_allows(tenant, &f.path, &f.file.real_path)?;
            Ok(SourceFile {
                name: Some(f.name),
                path: f.path,
                file: f.file,
            })
        })
        .collect::<Result<_, String>>()?;
    Ok(OpenFiles {
        files,
        outside_window,
    })
}

/// Read dataset `ds` from its open `files`: decoded, joined in order,
/// kept to its window, checked for its target column and split. One file
/// without a window is read as it always was (a Parquet file split as it
/// is decoded).
pub(super) fn read_dataset(
    ds: &PlannedDataset,
    files: &[SourceFile],
) -> Result<DatasetRows, String> {
    let (target, split) = (ds.target.as_deref(), ds.split.as_ref());
    let what = format!("dataset '{}' ({})", ds.name, ds.path.display());
    if let ([one], None, None) = (files, &ds.files, &ds.window) {
        let reader = one.file.reader();
        let (train, holdout) = read_parts(&what, &one.path, reader, &ds.read, target, split)?;
        return Ok(DatasetRows {
            train,
            holdout,
            outside_window: None,
        });
    }
    let mut tables = Vec::with_capacity(files.len());
    for f in files {
        let table = data::table_from_file_with(&f.path, f.file.reader(), &ds.read)
            .map_err(|e| e.to_string())?;
        tables.push((f.path.clone(), table));
    }
    let mut table = data::concat_files(tables).map_err(|e| e.to_string())?;
    let mut outside_window = None;
    if let Some(data::DatasetWindow::Rows(window)) = &ds.window {
        let kept = window.apply(&table, &what).map_err(|e| e.to_string())?;
        table = kept.batch;
        outside_window = Some(kept.dropped);
    }
    if table.num_columns() == 0 {
        return Err(format!("{what} has no columns"));
    }
    if table.num_rows() == 0 {
        return Err(match outside_window {
            Some(_) => format!("{what} has no rows in its window"),
            None => format!("{what} has no rows (headers alone, or empty tables)"),
        });
    }
    let (train, holdout) = split_table(&what, table, &ds.read, target, split)?;
    Ok(DatasetRows {
        train,
        holdout,
        outside_window,
    })
}

/// The manifest of a directory's files: each one's name, sha256 and size,
/// in the order they were read. Its digest is the dataset's: it changes
/// when a file is added, removed, renamed or changed, and only then.
pub(super) fn manifest(files: &[SourceFile], digests: &[ArtifactDigest]) -> serde_json::Value {
    let files: Vec<serde_json::Value> = files
        .iter()
        .zip(digests)
        .map(|(f, d)| {
            serde_json::json!({
                "name": f.name,
                "sha256": d.to_string(),
                "bytes": f.file.size,
            })
        })
        .collect();
    serde_json::json!({ "files": files })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::{DatasetWindow, FileDateWindow, FilePattern, TimeWindow};

    fn tenant(dataset_mib: u64, allowed: &std::path::Path) -> Tenant {
        Tenant {
            name: "small".into(),
            caps: crate::tenants::TenantCaps {
                dataset_mib,
                allowed_dirs: vec![allowed.canonicalize().unwrap()],
                ..Default::default()
            },
            created_at: String::new(),
            updated_at: String::new(),
        }
    }

    fn dataset(path: &std::path::Path, files: Option<FilePattern>) -> PlannedDataset {
        PlannedDataset {
            name: "d".into(),
            path: path.to_owned(),
            s3: None,
            target: None,
            split: None,
            files,
            window: None,
            read: Default::default(),
        }
    }

    /// A directory's files count against `dataset_mib` together, and a
    /// directory outside the tenant's `allowed_dirs` is not listed.
    #[test]
    fn a_directory_is_within_the_tenants_caps_as_a_whole() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("days");
        std::fs::create_dir(&dir).unwrap();
        let day = format!("t,x\n{}", "1,2\n".repeat(300_000));
        for name in ["a.csv", "b.csv"] {
            std::fs::write(dir.join(name), &day).unwrap();
        }
        let ds = dataset(&dir, Some(FilePattern::DataFormats));
        let files = open_dataset(&tenant(3, root.path()), &ds).unwrap().files;
        assert_eq!(files.len(), 2);
        // Each file is under 2 MiB, both together are not.
        let e = open_dataset(&tenant(2, root.path()), &ds).unwrap_err();
        assert!(
            e.contains("(2 files) is 2400008 bytes") && e.contains("dataset_mib = 2"),
            "{e}"
        );
        let elsewhere = tempfile::tempdir().unwrap();
        let e = open_dataset(&tenant(3, elsewhere.path()), &ds).unwrap_err();
        assert!(e.contains("allowed_dirs") && !e.contains("a.csv"), "{e}");
    }

    /// One file with a window is read, windowed and split like a
    /// directory's files; the rows dropped are counted.
    #[test]
    fn a_single_file_with_a_window_keeps_its_recent_rows() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("d.csv");
        std::fs::write(&path, "t,x\n1,1\n5,2\n9,3\n10,4\n").unwrap();
        let mut ds = dataset(&path, None);
        ds.window = Some(DatasetWindow::Rows(TimeWindow {
            span: "5s".into(),
            span_ms: 5000,
            column: "t".into(),
            unit: Some(crate::data::EpochUnit::Seconds),
        }));
        let files = open_dataset(&tenant(1, dir.path()), &ds).unwrap().files;
        let rows = read_dataset(&ds, &files).unwrap();
        // t = 9 and 10; t = 5 is 5 s before the newest, at the edge, out.
        assert_eq!(rows.train.num_rows(), 2);
        assert_eq!(rows.outside_window, Some(2));
        ds.window = None;
        let rows = read_dataset(&ds, &files).unwrap();
        assert_eq!((rows.train.num_rows(), rows.outside_window), (4, None));
    }

    /// A `parse_dates` column windows as the times it holds and then
    /// reaches plugins as integers of `time_unit`.
    #[test]
    fn parsed_dates_are_windowed_then_cast_to_the_unit() {
        use arrow::array::AsArray;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("d.csv");
        std::fs::write(
            &path,
            "t;x\r\n1970-01-01;1\r\n1970-01-05;2\r\n1970-01-06T00:00:00.0015Z;3\r\n",
        )
        .unwrap();
        let mut ds = dataset(&path, None);
        let dates = ["t".to_owned()];
        ds.read = data::ReadOptions::from_keys(&data::ReadKeys {
            delimiter: Some(";"),
            parse_dates: Some(&dates),
            time_unit: Some("ms"),
            ..Default::default()
        })
        .unwrap();
        ds.window = Some(DatasetWindow::Rows(TimeWindow {
            span: "2d".into(),
            span_ms: 2 * 86_400_000,
            column: "t".into(),
            unit: Some(crate::data::EpochUnit::Millis),
        }));
        let files = open_dataset(&tenant(1, dir.path()), &ds).unwrap();
        let rows = read_dataset(&ds, &files.files).unwrap();
        assert_eq!(rows.outside_window, Some(1));
        let t = rows
            .train
            .column(0)
            .as_primitive::<arrow::datatypes::Int64Type>();
        assert_eq!(t.values().to_vec(), [4 * 86_400_000, 5 * 86_400_000 + 1]);
        // A value that is not a time names the dataset's file and line.
        std::fs::write(&path, "t;x\r\n1970-01-01;1\r\nsoon;2\r\n").unwrap();
        let files = open_dataset(&tenant(1, dir.path()), &ds).unwrap();
        let e = read_dataset(&ds, &files.files).err().unwrap();
        assert!(
            e.contains("line 3, column `t`: \"soon\" is not a date"),
            "{e}"
        );
    }

    /// Issue 22, point 2: `window` without `time_column` keeps the files
    /// dated (modified) less than the span before the newest one, however
    /// the clock stands; the others are counted, not opened for reading.
    #[test]
    fn a_window_by_file_dates_keeps_the_newest_files() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("days");
        std::fs::create_dir(&dir).unwrap();
        // Modified in 2001: days 1 to 4, one day apart, names not in date
        // order.
        let day = std::time::Duration::from_secs(86_400);
        let base = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_000_000_000);
        for (name, d) in [("a.csv", 4), ("b.csv", 1), ("c.csv", 3), ("d.csv", 2)] {
            let path = dir.join(name);
            std::fs::write(&path, "x\n1\n").unwrap();
            let file = std::fs::File::options().write(true).open(&path).unwrap();
            file.set_modified(base + day * d).unwrap();
        }
        let mut ds = dataset(&dir, Some(FilePattern::DataFormats));
        ds.window = Some(DatasetWindow::FileDates(FileDateWindow {
            span: "2d".into(),
            span_ms: 2 * 86_400_000,
        }));
        let opened = open_dataset(&tenant(1, root.path()), &ds).unwrap();
        let names: Vec<_> = opened.files.iter().filter_map(|f| f.name.clone()).collect();
        // Days 4 and 3; day 2 is exactly two days before the newest, out.
        assert_eq!(names, ["a.csv", "c.csv"]);
        assert_eq!(opened.outside_window, Some(2));
        let rows = read_dataset(&ds, &opened.files).unwrap();
        assert_eq!((rows.train.num_rows(), rows.outside_window), (2, None));
    }
}
