//! `sluice predict NAME@ALIAS --input FILE -o OUT`

use super::Home;
use super::models::registry;
use super::output::errln;
use crate::registry::ModelSpec;
use clap::Args;
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
    /// Where to write the predictions (.parquet, .csv or .arrow).
    #[arg(short, long)]
    pub output: PathBuf,
}

pub async fn predict(home: &Home, args: PredictArgs) -> anyhow::Result<ExitCode> {
    let reg = registry(home).await?;
    let version = reg.resolve(&ModelSpec::parse(&args.model)?).await?;
    let input = crate::data::read_table(&args.input)?;
    let runtime = home.runtime()?;
    let started = std::time::Instant::now();
    let predictions = reg.predict(&runtime, &version, &input).await?;
    // Write beside the target and rename: a failure leaves no partial file.
    let tmp = args.output.with_file_name(format!(
        ".{}.partial",
        args.output
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
    ));
    let ext = args
        .output
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("parquet");
    let tmp = tmp.with_extension(ext);
    crate::data::write_table(&tmp, &predictions)?;
    std::fs::rename(&tmp, &args.output)
        .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", args.output.display()))?;
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
