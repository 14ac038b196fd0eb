//! `sluice predict NAME@ALIAS --input FILE -o OUT`

use super::models::registry;
use super::output::errln;
use super::output_file::{is_stdout, write_output_file};
use arrow::datatypes::{Field, Schema};
use arrow::record_batch::RecordBatch;
use clap::Args;
use sluice::Workspace;
use sluice::registry::ModelSpec;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, Args)]
pub struct PredictArgs {
    /// The model: NAME@ALIAS, NAME:VERSION, or NAME (its latest version).
    pub model: String,
    /// Raw features: .csv, .parquet, .arrow or .jsonl (JSON lines). Columns
    /// are matched by name; extra columns (the target, say) are ignored.
    #[arg(long)]
    pub input: PathBuf,
    /// Where to write the predictions (.parquet, .csv, .arrow or .jsonl), replacing
    /// a regular file there (a symlink, device or FIFO is refused); `-`
    /// writes CSV to standard output.
    #[arg(short, long)]
    pub output: PathBuf,
    /// Input columns to copy into the output, before the predictions
    /// (an id to join them back on): `--keep customer_id` (repeat it, or
    /// separate names with commas).
    #[arg(long, value_name = "COLUMN", value_delimiter = ',')]
    pub keep: Vec<String>,
}

pub async fn predict(home: &Workspace, args: PredictArgs) -> anyhow::Result<ExitCode> {
    let reg = registry(home).await?;
    let version = reg.resolve(&ModelSpec::parse(&args.model)?).await?;
    let input = sluice::data::read_table(&args.input)?;
    let runtime = home.runtime().await?;
    let started = std::time::Instant::now();
    let predictions = reg.predict(&runtime, &version, &input).await?;
    let predictions = keep_columns(&input, predictions, &args.keep, &args.input)?;
    // Standard output gets CSV; a file, the format its extension names.
    let bytes = if is_stdout(&args.output) {
        sluice::data::write_csv(&predictions)?
    } else {
        sluice::data::encode_table(&args.output, &predictions)?
    };
    write_output_file(&args.output, &bytes)?;
    errln!(
        "{} rows predicted with {} v{} in {:.1} ms -> {}",
        predictions.num_rows(),
        version.name,
        version.version,
        started.elapsed().as_secs_f64() * 1000.0,
        args.output.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// `predictions` with the input's columns named in `keep` first, in that
/// order; an error names a column the input lacks or the output has.
fn keep_columns(
    input: &RecordBatch,
    predictions: RecordBatch,
    keep: &[String],
    path: &std::path::Path,
) -> anyhow::Result<RecordBatch> {
    if keep.is_empty() {
        return Ok(predictions);
    }
    let mut fields = Vec::new();
    let mut columns = Vec::new();
    for name in keep {
        let Some(column) = input.column_by_name(name) else {
            let have: Vec<&str> = input
                .schema_ref()
                .fields()
                .iter()
                .map(|f| f.name().as_str())
                .collect();
            anyhow::bail!(
                "--keep {name}: {} has no column `{name}` (its columns: {})",
                path.display(),
                have.join(", ")
            );
        };
        if predictions.column_by_name(name).is_some()
            || fields.iter().any(|f: &Field| f.name() == name)
        {
            anyhow::bail!(
                "--keep {name}: the output already has a column `{name}` (the predictions', or kept twice)"
            );
        }
        let field = input.schema_ref().field_with_name(name)?.clone();
        fields.push(field);
        columns.push(column.clone());
    }
    for (f, c) in predictions
        .schema_ref()
        .fields()
        .iter()
        .zip(predictions.columns())
    {
        fields.push(f.as_ref().clone());
        columns.push(c.clone());
    }
    Ok(RecordBatch::try_new(
        std::sync::Arc::new(Schema::new(fields)),
        columns,
    )?)
}
