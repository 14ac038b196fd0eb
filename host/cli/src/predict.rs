//! `sluice predict NAME@ALIAS --input FILE -o OUT`

use super::models::registry;
use super::output::errln;
use super::output_file::{is_stdout, write_output_file};
use clap::Args;
use sluice::Workspace;
use sluice::registry::ModelSpec;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, Args)]
pub struct PredictArgs {
    /// The model: NAME@ALIAS, NAME:VERSION, or NAME (its latest version).
    pub model: String,
    /// Raw features: .csv, .parquet or .arrow. Columns are matched by name;
    /// extra columns (the target, say) are ignored.
    #[arg(long)]
    pub input: PathBuf,
    /// Where to write the predictions (.parquet, .csv or .arrow), replacing
    /// a regular file there (a symlink, device or FIFO is refused); `-`
    /// writes CSV to standard output.
    #[arg(short, long)]
    pub output: PathBuf,
}

pub async fn predict(home: &Workspace, args: PredictArgs) -> anyhow::Result<ExitCode> {
    let reg = registry(home).await?;
    let version = reg.resolve(&ModelSpec::parse(&args.model)?).await?;
    let input = sluice::data::read_table(&args.input)?;
    let runtime = home.runtime().await?;
    let started = std::time::Instant::now();
    let predictions = reg.predict(&runtime, &version, &input).await?;
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
