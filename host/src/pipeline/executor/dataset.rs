//! Dataset loading: a dataset file opened within the tenant's caps,
//! hashed and copied into the store, decoded and split into train and
//! holdout parts (or reused from an earlier read). Not for the steps that
//! read the parts.

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
        let params = serde_json::json!({
            "path": ds.path.display().to_string(),
            "target": ds.target,
            "split": ds.split.as_ref().map(|s| serde_json::json!({"holdout": s.holdout, "seed": s.seed, "stratify": s.stratify})),
        });
        let mut report = StepReport::new(
            id.clone(),
            StepKind::Dataset,
            "sluice:read+split".into(),
            String::new(),
            StepStatus::Succeeded,
        );
        // Opened and checked again (it may have changed since admission),
        // then read from that descriptor, a piece at a time: hashed, copied
        // into the store and decoded, never held whole.
        let file = match dataset_file(self.tenant, &ds.path) {
            Ok(file) => Some(Arc::new(file)),
            Err(e) => {
                report.status = StepStatus::Failed;
                report.error = Some(e);
                None
            }
        };
        // The file is decoded and split on a blocking thread. When the
        // dataset cannot be reused (never read with these params, or no
        // cache), that starts at once and the file is hashed meanwhile;
        // otherwise only after the hash missed the cache, so a rerun does
        // not spend a core on parts it does not need.
        let read_thread = |file: &Arc<crate::data::DataFile>| {
            let (file, path) = (file.clone(), ds.path.clone());
            let (target, split) = (ds.target.clone(), ds.split.clone());
            tokio::task::spawn_blocking(move || {
                read_parts(&path, file.reader(), target.as_deref(), split.as_ref())
            })
        };
        let resuming = self.resumed.as_ref().is_some_and(|r| r.contains_key(&id));
        let speculate = file.is_some()
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
        let mut parts = file.as_ref().filter(|_| speculate).map(read_thread);
        let source = match &file {
            Some(file) => {
                let hashed = file.clone();
                match tokio::task::spawn_blocking(move || hashed.hash()).await {
                    Ok(Ok(digest)) => match self.put_file(&id, file, digest).await {
                        Ok(d) => Some(d),
                        Err(abort) => {
                            report.error = Some(abort.into_failure()?);
                            None
                        }
                    },
                    Ok(Err(e)) => {
                        report.error = Some(format!("cannot read {}: {e}", ds.path.display()));
                        None
                    }
                    Err(e) => {
                        report.error = Some(format!("hashing {} failed: {e}", ds.path.display()));
                        None
                    }
                }
            }
            None => None,
        };
        let inputs: Vec<(String, ArtifactDigest)> = source
            .iter()
            .map(|d| ("source".to_string(), d.clone()))
            .collect();
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
            parts = file.as_ref().map(read_thread);
        }
        if report.error.is_none()
            && let Some(parts) = parts
            && let Some(file) = &file
        {
            let parts = parts
                .await
                .unwrap_or_else(|e| Err(format!("reading {} failed: {e}", ds.path.display())))
                .and_then(|parts| unchanged(self.tenant, &ds.path, file).map(|()| parts));
            match parts {
                Ok((train, holdout)) => {
                    report.metrics.insert(
                        "rows".into(),
                        (train.num_rows() + holdout.as_ref().map_or(0, |h| h.num_rows())) as f64,
                    );
                    report
                        .metrics
                        .insert("columns".into(), train.num_columns() as f64);
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

/// A dataset file's bytes decoded, checked for its target column and split
/// into train and holdout parts (no holdout without a split).
pub(super) fn read_parts(
    path: &std::path::Path,
    raw: data::FileRead,
    target: Option<&str>,
    split: Option<&crate::pipeline::definition::SplitDef>,
) -> Result<(RecordBatch, Option<RecordBatch>), String> {
    let (train, holdout) = decode_parts(path, raw, target, split)?;
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

pub(super) fn decode_parts(
    path: &std::path::Path,
    raw: data::FileRead,
    target: Option<&str>,
    split: Option<&crate::pipeline::definition::SplitDef>,
) -> Result<(RecordBatch, Option<RecordBatch>), String> {
    let missing_target = |schema: &arrow::datatypes::Schema| match target {
        Some(t) if schema.index_of(t).is_err() => {
            Err(format!("target column '{t}' is not in {}", path.display()))
        }
        _ => Ok(()),
    };
    if let Some(s) = split {
        let stratify = if s.stratify { target } else { None };
        let streamed = data::read_split(path, raw.clone(), s.holdout, s.seed, stratify)
            .map_err(|e| e.to_string())?;
        if let Some((train, holdout)) = streamed {
            missing_target(&train.schema())?;
            return Ok((train, Some(holdout)));
        }
    }
    let batch = data::table_from_file(path, raw).map_err(|e| e.to_string())?;
    missing_target(&batch.schema())?;
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

/// A dataset's file, opened for `tenant`: a regular data file (not a
/// device, FIFO or kernel interface) no larger than the tenant's
/// `dataset_mib` and, for a tenant other than the default one (the home's
/// owner), really inside one of its `allowed_dirs`.
pub(super) fn dataset_file(
    tenant: &Tenant,
    path: &std::path::Path,
) -> Result<crate::data::DataFile, String> {
    let file = crate::data::open_data_file(path).map_err(|e| e.to_string())?;
    let cap = tenant.caps.dataset_mib;
    if file.size > cap.saturating_mul(1 << 20) {
        return Err(format!(
            "{} is {} bytes, over tenant '{}''s cap dataset_mib = {cap} \
             (`sluice tenants set {} dataset_mib=N`)",
            path.display(),
            file.size,
            tenant.name,
            tenant.name
        ));
    }
    if tenant.name != DEFAULT_TENANT
        && !tenant
            .caps
            .allowed_dirs
            .iter()
            .any(|d| file.real_path.starts_with(d))
    {
        return Err(format!(
            "{} ({}) is not inside any of tenant '{}''s allowed_dirs: a tenant's datasets \
             must come from its allowed directories (`sluice tenants set {} allowed_dirs=DIR`)",
            path.display(),
            file.real_path.display(),
            tenant.name,
            tenant.name
        ));
    }
    Ok(file)
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
        let table = read_parts(&path, file.reader(), None, None).unwrap().0;
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
