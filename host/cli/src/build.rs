//! `sluice build DIR`: build a plugin project into a component.

use super::output::outln;
use clap::Args;
use sluice::authoring::build::{BuildOutcome, build};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, Args)]
pub struct BuildArgs {
    /// The plugin project (a folder with sluice-plugin.toml).
    pub dir: PathBuf,
    /// Where to write the component (default DIR/build/NAME.wasm).
    #[arg(short, long)]
    pub out: Option<PathBuf>,
}

pub async fn run(args: BuildArgs) -> anyhow::Result<ExitCode> {
    let started = std::time::Instant::now();
    let (out, outcome) =
        tokio::task::spawn_blocking(move || build(&args.dir, args.out.as_deref())).await??;
    match outcome {
        BuildOutcome::Built => outln!(
            "built {} in {:.1} s",
            out.display(),
            started.elapsed().as_secs_f64()
        ),
        BuildOutcome::UpToDate => outln!("{} is up to date", out.display()),
    }
    Ok(ExitCode::SUCCESS)
}
