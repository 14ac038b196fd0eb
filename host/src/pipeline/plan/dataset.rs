//! A dataset of a pipeline planned: its file, or its directory (or S3
//! prefix) and the pattern of its files, checked; its split, time window
//! and read options checked.

use super::PlannedDataset;
use crate::pipeline::definition::DatasetDef;
use std::path::Path;

pub(super) fn plan_dataset(
    name: &str,
    def: &DatasetDef,
    base: &Path,
    issues: &mut Vec<String>,
) -> PlannedDataset {
    let pattern =
        |issues: &mut Vec<String>| match def.files.as_deref().map(crate::data::FilePattern::glob) {
            None => Some(crate::data::FilePattern::DataFormats),
            Some(Ok(p)) => Some(p),
            Some(Err(e)) => {
                issues.push(format!("dataset '{name}': {e}"));
                None
            }
        };
    // An S3 prefix is only parsed here: it is listed when a run starts
    // (admission), and read by the run.
    let s3 = match crate::data::S3Prefix::parse(&def.path) {
        Some(Ok(prefix)) => Some(prefix),
        Some(Err(e)) => {
            issues.push(format!("dataset '{name}': path {e}"));
            None
        }
        None => None,
    };
    let path = if def.path.starts_with("s3:") {
        std::path::PathBuf::from(&def.path)
    } else {
        base.join(&def.path)
    };
    // Checked again on the descriptors the run reads (and against the
    // tenant's allowed_dirs) when the run starts.
    let files = if s3.is_some() {
        pattern(issues)
    } else if path.is_dir() {
        let pattern = pattern(issues);
        if let Some(pattern) = &pattern
            && let Err(e) = crate::data::open_data_dir(&path, pattern)
        {
            issues.push(format!("dataset '{name}': {e}"));
        }
        pattern
    } else {
        if let Err(e) = crate::data::open_data_file(&path) {
            issues.push(format!("dataset '{name}': {e}"));
        } else if def.files.is_some() {
            issues.push(format!(
                "dataset '{name}': `files` picks files of a directory, and {} is a file",
                path.display()
            ));
        }
        None
    };
    if let Some(split) = &def.split {
        if !(split.holdout > 0.0 && split.holdout < 1.0) {
            issues.push(format!(
                "dataset '{name}': split.holdout must be between 0 and 1 (exclusive), got {}",
                split.holdout
            ));
        }
        if split.stratify && def.target.is_none() {
            issues.push(format!("dataset '{name}': split.stratify needs `target`"));
        }
    }
    let window = plan_window(name, def, files.is_some(), issues);
    PlannedDataset {
        name: name.to_string(),
        path,
        s3,
        target: def.target.clone(),
        split: def.split.clone(),
        files,
        window,
        read: plan_read(name, def, issues),
    }
}

/// A dataset's read options (`na_values`, `delimiter`, `dtypes`, ...),
/// checked; each problem an issue naming the dataset.
fn plan_read(name: &str, def: &DatasetDef, issues: &mut Vec<String>) -> crate::data::ReadOptions {
    let keys = crate::data::ReadKeys {
        na_values: def.na_values.as_deref(),
        keep_default_na: def.keep_default_na,
        delimiter: def.delimiter.as_deref(),
        quote: def.quote.as_deref(),
        encoding: def.encoding.as_deref(),
        dtypes: def.dtypes.as_ref(),
        parse_dates: def.parse_dates.as_deref(),
        time_unit: def.time_unit.as_deref(),
    };
    crate::data::ReadOptions::from_keys(&keys).unwrap_or_else(|problems| {
        issues.extend(
            problems
                .into_iter()
                .map(|p| format!("dataset '{name}': {p}")),
        );
        crate::data::ReadOptions::default()
    })
}

/// A dataset's `window` and `time_column`, checked: a window by a column
/// of its rows (`window` and `time_column`; `time_unit`, checked with the
/// read options, is the unit of a column of integers), by the dates of
/// its files (`window` alone, for a directory or a prefix: `many_files`),
/// or none.
fn plan_window(
    name: &str,
    def: &DatasetDef,
    many_files: bool,
    issues: &mut Vec<String>,
) -> Option<crate::data::DatasetWindow> {
    let (span, column) = match (&def.window, &def.time_column) {
        (None, None) => return None,
        (Some(span), Some(column)) => (span, column),
        (Some(span), None) => {
            if !many_files {
                issues.push(format!(
                    "dataset '{name}': `window` without `time_column` keeps the newest files \
                     of a directory or an S3 prefix, and {} is one file: add `time_column`, \
                     the column that holds each row's time",
                    def.path
                ));
                return None;
            }
            let span_ms = crate::monitor::spec::span_ms(span)
                .map_err(|e| issues.push(format!("dataset '{name}': window: {e}")))
                .ok()?;
            return Some(crate::data::DatasetWindow::FileDates(
                crate::data::FileDateWindow {
                    span: span.clone(),
                    span_ms,
                },
            ));
        }
        (None, Some(_)) => {
            issues.push(format!(
                "dataset '{name}': `time_column` is used by `window`: add `window = \"30d\"` \
                 (or another span)"
            ));
            return None;
        }
    };
    let span_ms = crate::monitor::spec::span_ms(span)
        .map_err(|e| issues.push(format!("dataset '{name}': window: {e}")))
        .ok()?;
    // A bad `time_unit` is the read options' issue.
    let unit = match def.time_unit.as_deref().map(crate::data::EpochUnit::parse) {
        None => None,
        Some(Ok(unit)) => Some(unit),
        Some(Err(_)) => return None,
    };
    Some(crate::data::DatasetWindow::Rows(crate::data::TimeWindow {
        span: span.clone(),
        span_ms,
        column: column.clone(),
        unit,
    }))
}
