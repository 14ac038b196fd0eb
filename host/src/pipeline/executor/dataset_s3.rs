//! A dataset on an S3 prefix: listed when the run is admitted (so a
//! missing bucket, no matching object or missing credentials refuse the
//! run before it starts) and again when its dataset step reads it; kept to
//! its window by the objects' dates; within the tenant's `dataset_mib`;
//! then each object downloaded into a temporary file, from which it is
//! read as a directory's file is.

use super::dataset::within_cap;
use super::dataset_files::{OpenFiles, SourceFile};
use crate::data::{DatasetWindow, FilePattern, ListedObject, S3Objects, S3Prefix};
use crate::pipeline::Plan;
use crate::pipeline::plan::PlannedDataset;
use crate::tenants::{DEFAULT_TENANT, Tenant};
use futures::{StreamExt, TryStreamExt};
use std::path::PathBuf;

/// Objects downloaded at once.
const FETCHES_AT_ONCE: usize = 4;

/// The objects dataset `ds` reads from `prefix`, listed for `tenant`: the
/// client, the objects its window keeps (in key order), and how many it
/// left out (`None`: no window by dates).
async fn list_s3_dataset(
    tenant: &Tenant,
    ds: &PlannedDataset,
    prefix: &S3Prefix,
) -> Result<(S3Objects, Vec<ListedObject>, Option<usize>), String> {
    // The host's S3 credentials are the home owner's, not a tenant's.
    if tenant.name != DEFAULT_TENANT {
        return Err(format!(
            "{prefix} is on S3, read with this host's S3 credentials, which only tenant \
             '{DEFAULT_TENANT}' may use; copy the data into one of tenant '{}''s allowed_dirs",
            tenant.name
        ));
    }
    let objects = S3Objects::from_env(prefix).map_err(|e| e.to_string())?;
    let pattern = ds.files.clone().unwrap_or(FilePattern::DataFormats);
    let mut listed = objects.list(&pattern).await.map_err(|e| e.to_string())?;
    let mut outside_window = None;
    if let Some(DatasetWindow::FileDates(window)) = &ds.window {
        let dates: Vec<i64> = listed.iter().map(|o| o.modified_ms).collect();
        let mut keep = window.keep(&dates).into_iter();
        let before = listed.len();
        listed.retain(|_| keep.next().unwrap_or(false));
        outside_window = Some(before - listed.len());
    }
    let total: u64 = listed.iter().map(|o| o.size).sum();
    within_cap(
        tenant,
        &format!("{prefix} ({} objects)", listed.len()),
        total,
    )?;
    Ok((objects, listed, outside_window))
}

/// The objects of dataset `ds` on `prefix`, listed and downloaded (a few
/// at a time, each streamed to a temporary file) for `tenant`.
pub(super) async fn open_s3_dataset(
    tenant: &Tenant,
    ds: &PlannedDataset,
    prefix: &S3Prefix,
) -> Result<OpenFiles, String> {
    let (objects, listed, outside_window) = list_s3_dataset(tenant, ds, prefix).await?;
    let objects = &objects;
    let files = futures::stream::iter(listed)
        .map(|object| async move {
            let file = objects.fetch(&object).await.map_err(|e| e.to_string())?;
            Ok::<_, String>(SourceFile {
                path: PathBuf::from(prefix.url_of(&object.name)),
                name: Some(object.name),
                file,
            })
        })
        .buffered(FETCHES_AT_ONCE)
        .try_collect()
        .await?;
    Ok(OpenFiles {
        files,
        outside_window,
    })
}

/// Add to `problems` why `plan`'s datasets on S3 cannot be read by
/// `tenant` (listing each, downloading nothing).
pub(super) async fn check_s3_datasets(tenant: &Tenant, plan: &Plan, problems: &mut Vec<String>) {
    for ds in &plan.datasets {
        if let Some(prefix) = &ds.s3
            && let Err(e) = list_s3_dataset(tenant, ds, prefix).await
        {
            problems.push(format!("dataset '{}': {e}", ds.name));
        }
    }
}
