//! Dataset loading: a dataset's file (or its directory's or S3 prefix's
//! files, see [`dataset_files`](super::dataset_files)) opened within the tenant's
//! caps, hashed and copied into the store, decoded and split into train
//! and holdout parts (or reused from an earlier read). Not for the steps
//! that read the parts.

use super::dataset_files::{DatasetRows, SourceFile, manifest, open_dataset_files, read_dataset};
use super::error::{ExecError, StepAbort};
use super::{Parts, RunCtx, RunObserver, StepInfo, StepKind, StepReport, encode, lock, output};
use crate::artifacts::ArtifactDigest;
use crate::data;
use crate::meta::{NewStep, StepEnd, StepStatus};
use crate::pipeline::cache;
use crate::tenants::{DEFAULT_TENANT, Tenant};
use arrow::record_batch::RecordBatch;
use std::sync::Arc;
use std::time::Instant;

impl RunCtx<'_> {
    pub(super) async fn load_dataset(
        &self,
        position: i64,
        ds: &crate::pipeline::plan::PlannedDataset,
        observer: &dyn RunObserver,
    ) -> Result<StepReport, ExecError> {
        let run_id = self.run_id.as_str();
        let started = Instant::now();
        let id = format!("dataset:{}", ds.name);
        observer.step_started(&id, StepKind::Dataset, "sluice:read+split");
        let mut params = serde_json::json!({
            "path": ds.path.display().to_string(),
            "target": ds.target,
            "split": ds.split.as_ref().map(|s| serde_json::json!({"holdout": s.holdout, "seed": s.seed, "stratify": s.stratify})),
        });
        // Only a directory or a window adds fields, so a file's params
        // (which the cache looks up) stay as they were.
        if let Some(pattern) = &ds.files {
            params["files"] = pattern.to_string().into();
        }
        if let Some(window) = &ds.window {
            params["window"] = cache::window_json(window);
        }
        let read = ds.read.to_json();
        if read.as_object().is_some_and(|o| !o.is_empty()) {
            params["read"] = read;
        }
        let mut report = StepReport::new(
            id.clone(),
            StepKind::Dataset,
            "sluice:read+split".into(),
            String::new(),
            StepStatus::Succeeded,
        );
        // Opened and checked again (they may have changed since admission),
        // then read from those descriptors, a piece at a time: hashed,
        // copied into the store and decoded, never held whole.
        let mut files_outside_window = None;
        let files = match open_dataset_files(self.tenant, ds).await {
            Ok(opened) => {
                files_outside_window = opened.outside_window;
                Some(Arc::new(opened.files))
            }
            Err(e) => {
                report.status = StepStatus::Failed;
                report.error = Some(e);
                None
            }
        };
        // The files are decoded and split on a blocking thread. When the
        // dataset cannot be reused (never read with these params, or no
        // cache), that starts at once and the files are hashed meanwhile;
        // otherwise only after the hash missed the cache, so a rerun does
        // not spend a core on parts it does not need.
        let read_thread = |files: &Arc<Vec<SourceFile>>| {
            let (files, ds) = (files.clone(), ds.clone());
            tokio::task::spawn_blocking(move || read_dataset(&ds, &files))
        };
        let resuming = self.resumed.as_ref().is_some_and(|r| r.contains_key(&id));
        let speculate = files.is_some()
            && !resuming
            && (!self.use_cache
                || !self
                    .meta
                    .may_reuse(
                        &self.tenant.name,
                        StepKind::Dataset.as_str(),
                        &params.to_string(),
                    )
                    .await?);
        let mut parts = files.as_ref().filter(|_| speculate).map(read_thread);
        let mut inputs: Vec<(String, ArtifactDigest)> = Vec::new();
        if let Some(files) = &files {
            match self.store_sources(&id, ds, files).await? {
                Ok(stored) => inputs = stored,
                Err(e) => report.error = Some(e),
            }
        }
        let source = inputs.first().map(|(_, d)| d.clone());
        let key = source.as_ref().map(|s| cache::dataset_key(ds, s));
        if let Some(prev) = self.reusable(&id, key.as_deref()).await?
            && let Some(train) = output(&prev.outputs, "train")
        {
            let info = StepInfo {
                id: &id,
                kind: StepKind::Dataset,
                plugin_name: "sluice:read+split",
                plugin_version: env!("CARGO_PKG_VERSION"),
                plugin_sha256: "",
                params_json: params.to_string(),
            };
            let report = self
                .record_reuse(position, &info, &inputs, key.as_deref(), &prev)
                .await?;
            lock(&self.state.tables).insert(
                ds.name.clone(),
                Parts {
                    train,
                    holdout: output(&prev.outputs, "holdout"),
                },
            );
            return Ok(report);
        }
        self.meta
            .start_step(
                &NewStep {
                    run_id,
                    step_id: &id,
                    position,
                    kind: StepKind::Dataset.as_str(),
                    plugin_name: "sluice:read+split",
                    plugin_version: env!("CARGO_PKG_VERSION"),
                    plugin_sha256: "",
                    params_json: &params.to_string(),
                },
                &inputs,
            )
            .await?;
        let mut outputs = Vec::new();
        if report.error.is_none() && parts.is_none() {
            parts = files.as_ref().map(read_thread);
        }
        if report.error.is_none()
            && let Some(parts) = parts
            && let Some(files) = &files
        {
            let parts = parts
                .await
                .unwrap_or_else(|e| Err(format!("reading {} failed: {e}", ds.path.display())))
                .and_then(|parts| {
                    for f in files.iter() {
                        unchanged(self.tenant, &f.path, &f.file)?;
                    }
                    Ok(parts)
                });
            match parts {
                Ok(DatasetRows {
                    train,
                    holdout,
                    outside_window,
                }) => {
                    report.metrics.insert(
                        "rows".into(),
                        (train.num_rows() + holdout.as_ref().map_or(0, |h| h.num_rows())) as f64,
                    );
                    report
                        .metrics
                        .insert("columns".into(), train.num_columns() as f64);
                    if ds.files.is_some() {
                        report.metrics.insert("files".into(), files.len() as f64);
                    }
                    if let Some(left_out) = files_outside_window {
                        report
                            .metrics
                            .insert("files_outside_window".into(), left_out as f64);
                    }
                    if let Some(dropped) = outside_window {
                        report
                            .metrics
                            .insert("rows_outside_window".into(), dropped as f64);
                    }
                    match self.store_parts(&id, train, holdout, &mut outputs).await {
                        Ok(p) => {
                            lock(&self.state.tables).insert(ds.name.clone(), p);
                        }
                        Err(abort) => report.error = Some(abort.into_failure()?),
                    }
                }
                Err(e) => report.error = Some(e),
            }
        }
        if report.error.is_some() {
            report.status = StepStatus::Failed;
        } else if let Some(k) = &key {
            self.meta.set_step_cache_key(run_id, &id, k).await?;
        }
        report.duration_ms = started.elapsed().as_millis() as u64;
        report.outputs = outputs
            .iter()
            .map(|(k, v)| (k.clone(), v.to_string()))
            .collect();
        let metrics: Vec<(String, f64)> = report
            .metrics
            .iter()
            .map(|(k, v)| (k.clone(), *v))
            .collect();
        self.meta
            .finish_step(
                run_id,
                &id,
                &StepEnd {
                    status: report.status,
                    outputs: &outputs,
                    metrics: &metrics,
                    log: "",
                    error: report.error.as_deref(),
                },
            )
            .await?;
        Ok(report)
    }

    /// Hash dataset `ds`'s open `files` and copy them into the store:
    /// the step's inputs, `source` first. A file is its own source; a
    /// directory's source is the manifest of its files, each of which is
    /// an input too (`file:NAME`), so lineage names what was read. The
    /// inner error fails the step.
    async fn store_sources(
        &self,
        id: &str,
        ds: &crate::pipeline::plan::PlannedDataset,
        files: &Arc<Vec<SourceFile>>,
    ) -> Result<Result<Vec<(String, ArtifactDigest)>, String>, ExecError> {
        let hashed = files.clone();
        let digests = tokio::task::spawn_blocking(move || {
            hashed
                .iter()
                .map(|f| {
                    f.file
                        .hash()
                        .map_err(|e| format!("cannot read {}: {e}", f.path.display()))
                })
                .collect::<Result<Vec<_>, _>>()
        })
        .await
        .unwrap_or_else(|e| Err(format!("hashing {} failed: {e}", ds.path.display())));
        let digests = match digests {
            Ok(d) => d,
            Err(e) => return Ok(Err(e)),
        };
        let mut inputs = Vec::with_capacity(files.len() + 1);
        for (f, digest) in files.iter().zip(&digests) {
            match self.put_file(id, &f.file, digest.clone()).await {
                Ok(d) => {
                    if let Some(name) = &f.name {
                        inputs.push((format!("file:{name}"), d));
                    }
                }
                Err(abort) => return Ok(Err(abort.into_failure()?)),
            }
        }
        let source = match ds.files {
            None => digests[0].clone(),
            Some(_) => match self.put_json(id, &manifest(files, &digests)).await {
                Ok(d) => d,
                Err(abort) => return Ok(Err(abort.into_failure()?)),
            },
        };
        inputs.insert(0, ("source".to_string(), source));
        Ok(Ok(inputs))
    }

    /// Store a train part and an optional holdout part as Parquet.
    pub(super) async fn store_parts(
        &self,
        step: &str,
        train: RecordBatch,
        holdout: Option<RecordBatch>,
        outputs: &mut Vec<(String, ArtifactDigest)>,
    ) -> Result<Parts, StepAbort> {
        // Both parts are encoded at once, on blocking threads.
        let (train, holdout) = (encode(train), holdout.map(encode));
        let train_d = self.put_encoded(step, train.await).await?;
        outputs.push(("train".into(), train_d.clone()));
        let holdout_d = match holdout {
            Some(h) => {
                let d = self.put_encoded(step, h.await).await?;
                outputs.push(("holdout".into(), d.clone()));
                Some(d)
            }
            None => None,
        };
        Ok(Parts {
            train: train_d,
            holdout: holdout_d,
        })
    }
}

/// A dataset file's bytes decoded by its read options, cast to the types
/// plugins receive, checked for its target column and split into train and
/// holdout parts (no holdout without a split). `what` names the dataset.
pub(super) fn read_parts(
    what: &str,
    path: &std::path::Path,
    raw: data::FileRead,
    read: &data::ReadOptions,
    target: Option<&str>,
    split: Option<&crate::pipeline::definition::SplitDef>,
) -> Result<(RecordBatch, Option<RecordBatch>), String> {
    let (train, holdout) = decode_parts(what, path, raw, read, target, split)?;
    // An empty file, a header alone or a Parquet file of no rows would
    // otherwise pass here and fail later, in a plugin, far from the file.
    let rows = train.num_rows() + holdout.as_ref().map_or(0, RecordBatch::num_rows);
    if train.num_columns() == 0 {
        return Err(format!("{} has no columns", path.display()));
    }
    if rows == 0 {
        return Err(format!(
            "{} has no rows (a header alone, or an empty table)",
            path.display()
        ));
    }
    Ok((train, holdout))
}

fn decode_parts(
    what: &str,
    path: &std::path::Path,
    raw: data::FileRead,
    read: &data::ReadOptions,
    target: Option<&str>,
    split: Option<&crate::pipeline::definition::SplitDef>,
) -> Result<(RecordBatch, Option<RecordBatch>), String> {
    if let Some(s) = split {
        let stratify = if s.stratify { target } else { None };
        let streamed = data::read_split(path, raw.clone(), s.holdout, s.seed, stratify)
            .map_err(|e| e.to_string())?;
        if let Some((train, holdout)) = streamed {
            // Of plugin types already; `dtypes` may still cast a column.
            let cast =
                |b: &RecordBatch| data::for_plugins(b, read, what).map_err(|e| e.to_string());
            let (train, holdout) = (cast(&train)?, cast(&holdout)?);
            has_target(what, &train, target)?;
            return Ok((train, Some(holdout)));
        }
    }
    let batch = data::table_from_file_with(path, raw, read).map_err(|e| e.to_string())?;
    split_table(what, batch, read, target, split)
}

/// A dataset's table (`what` names the dataset) cast to the types plugins
/// receive, checked for its target column and split into train and
/// holdout parts.
pub(super) fn split_table(
    what: &str,
    batch: RecordBatch,
    read: &data::ReadOptions,
    target: Option<&str>,
    split: Option<&crate::pipeline::definition::SplitDef>,
) -> Result<(RecordBatch, Option<RecordBatch>), String> {
    let batch = data::for_plugins(&batch, read, what).map_err(|e| e.to_string())?;
    has_target(what, &batch, target)?;
    match split {
        Some(s) => {
            let stratify = if s.stratify { target } else { None };
            data::split_holdout(&batch, s.holdout, s.seed, stratify)
                .map(|(a, b)| (a, Some(b)))
                .map_err(|e| e.to_string())
        }
        None => Ok((batch, None)),
    }
}

fn has_target(what: &str, batch: &RecordBatch, target: Option<&str>) -> Result<(), String> {
    match target {
        Some(t) if batch.schema_ref().index_of(t).is_err() => {
            Err(format!("target column '{t}' is not in {what}"))
        }
        _ => Ok(()),
    }
}

/// A dataset's file, opened for `tenant`: a regular data file (not a
/// device, FIFO or kernel interface) no larger than the tenant's
/// `dataset_mib` and, for a tenant other than the default one (the home's
/// owner), really inside one of its `allowed_dirs`.
pub(super) fn dataset_file(
    tenant: &Tenant,
    path: &std::path::Path,
) -> Result<crate::data::DataFile, String> {
    let file = crate::data::open_data_file(path).map_err(|e| e.to_string())?;
    within_cap(tenant, &path.display().to_string(), file.size)?;
    tenant_allows(tenant, path, &file.real_path)?;
    Ok(file)
}

/// Whether `size` bytes of a dataset (`what`: its file, or its directory
/// and how many files) are within `tenant`'s `dataset_mib`.
pub(super) fn within_cap(tenant: &Tenant, what: &str, size: u64) -> Result<(), String> {
    let cap = tenant.caps.dataset_mib;
    if size > cap.saturating_mul(1 << 20) {
        return Err(format!(
            "{what} is {size} bytes, over tenant '{}''s cap dataset_mib = {cap} \
             (`sluice tenants set {} dataset_mib=N`)",
            tenant.name, tenant.name
        ));
    }
    Ok(())
}

/// Whether `real`, where the dataset path `path` really leads, is inside
/// one of `tenant`'s `allowed_dirs` (always, for the default tenant, the
/// home's owner).
pub(super) fn tenant_allows(
    tenant: &Tenant,
    path: &std::path::Path,
    real: &std::path::Path,
) -> Result<(), String> {
    if tenant.name != DEFAULT_TENANT
        && !tenant.caps.allowed_dirs.iter().any(|d| real.starts_with(d))
    {
        return Err(format!(
            "{} ({}) is not inside any of tenant '{}''s allowed_dirs: a tenant's datasets \
             must come from its allowed directories (`sluice tenants set {} allowed_dirs=DIR`)",
            path.display(),
            real.display(),
            tenant.name,
            tenant.name
        ));
    }
    Ok(())
}

/// Whether the dataset `file` (at `path`) is as it was when opened, and so
/// its table is the bytes its digest names; the error says how it changed
/// (grown past the tenant's `dataset_mib`, or otherwise).
pub(super) fn unchanged(
    tenant: &Tenant,
    path: &std::path::Path,
    file: &crate::data::DataFile,
) -> Result<(), String> {
    let now = file
        .changed()
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let Some(size) = now else {
        return Ok(());
    };
    let cap = tenant.caps.dataset_mib;
    if size > cap.saturating_mul(1 << 20) {
        return Err(format!(
            "{} grew to {size} bytes while it was read, over tenant '{}''s cap \
             dataset_mib = {cap}; only its first {} bytes were read",
            path.display(),
            tenant.name,
            file.size
        ));
    }
    Err(format!(
        "{} changed while it was read (it was {} bytes, it is {size}); run again once it \
         is written",
        path.display(),
        file.size
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Issue 18, point 13: a dataset file that grows after it was opened
    /// (its size then checked against the tenant's `dataset_mib`) is read
    /// only as far as it was, and the step's error names the cap: a
    /// terabyte appended (sparse) costs nothing to find. One rewritten in
    /// place, at the same size, is found changed too.
    #[test]
    fn a_dataset_that_changes_while_read_is_refused_naming_the_cap() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("d.csv");
        std::fs::write(&path, "a,b\n1,2\n").unwrap();
        let tenant = Tenant {
            name: "small".into(),
            caps: crate::tenants::TenantCaps {
                dataset_mib: 1,
                allowed_dirs: vec![dir.path().canonicalize().unwrap()],
                ..Default::default()
            },
            created_at: String::new(),
            updated_at: String::new(),
        };
        let file = dataset_file(&tenant, &path).unwrap();
        assert_eq!(unchanged(&tenant, &path, &file), Ok(()));
        let started = Instant::now();
        let grown = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
        grown.set_len(1 << 40).unwrap();
        let table = read_parts("d", &path, file.reader(), &Default::default(), None, None)
            .unwrap()
            .0;
        assert_eq!(table.num_rows(), 1, "the rows it had when opened");
        let err = unchanged(&tenant, &path, &file).unwrap_err();
        assert_eq!(
            err,
            format!(
                "{} grew to 1099511627776 bytes while it was read, over tenant 'small''s cap \
                 dataset_mib = 1; only its first 8 bytes were read",
                path.display()
            )
        );
        assert!(started.elapsed() < std::time::Duration::from_secs(10));
        let err = dataset_file(&tenant, &path).unwrap_err();
        assert!(
            err.contains("over tenant 'small''s cap dataset_mib = 1"),
            "{err}"
        );

        std::fs::write(&path, "a,b\n1,2\n").unwrap();
        let file = dataset_file(&tenant, &path).unwrap();
        // Past the file system's timestamp granularity.
        std::thread::sleep(std::time::Duration::from_millis(50));
        std::fs::write(&path, "a,b\n3,4\n").unwrap();
        let err = unchanged(&tenant, &path, &file).unwrap_err();
        assert!(
            err.ends_with(
                "changed while it was read (it was 8 bytes, it is 8); run again once it is written"
            ),
            "{err}"
        );
    }
}
