//! `sluice artifacts get DIGEST -o FILE`

use super::output::errln;
use super::output_file::{is_stdout, write_output_file};
use clap::Subcommand;
use sluice::Workspace;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, Subcommand)]
pub enum ArtifactsCommand {
    /// Write an artifact's bytes to a file (verified against its digest).
    Get {
        /// The artifact's sha256, or a unique prefix of at least 4 hex
        /// characters (as `sluice runs show` prints it).
        digest: String,
        /// Where to write it, replacing a regular file there (a symlink,
        /// device or FIFO is refused); `-` for standard output.
        #[arg(short, long)]
        output: PathBuf,
    },
}

pub async fn artifacts(home: &Workspace, cmd: ArtifactsCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        ArtifactsCommand::Get { digest, output } => {
            let (meta, tenant) = home.tenant_meta().await?;
            let digest = meta.resolve_digest(&tenant.name, &digest).await?;
            let bytes = home.artifacts()?.get(&digest).await?;
            write_output_file(&output, &bytes)?;
            if !is_stdout(&output) {
                errln!("wrote {} bytes to {}", bytes.len(), output.display());
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}
