//! `sluice artifacts get DIGEST -o FILE`

use super::Home;
use super::output::errln;
use crate::artifacts::ArtifactDigest;
use clap::Subcommand;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, Subcommand)]
pub enum ArtifactsCommand {
    /// Write an artifact's bytes to a file (verified against its digest).
    Get {
        /// The artifact's sha256 (as printed by `sluice runs show`).
        digest: String,
        /// Where to write it; `-` for standard output.
        #[arg(short, long)]
        output: PathBuf,
    },
}

pub async fn artifacts(home: &Home, cmd: ArtifactsCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        ArtifactsCommand::Get { digest, output } => {
            let digest = ArtifactDigest::parse(&digest)?;
            home.tenant_meta().await?;
            let bytes = home.artifacts()?.get(&digest).await?;
            if output.as_os_str() == "-" {
                use std::io::Write;
                std::io::stdout().write_all(&bytes)?;
            } else {
                // Write beside the target and rename, so a failure leaves
                // no half-written file.
                let tmp = output.with_extension("sluice-partial");
                std::fs::write(&tmp, &bytes)
                    .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", tmp.display()))?;
                std::fs::rename(&tmp, &output)
                    .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", output.display()))?;
                errln!("wrote {} bytes to {}", bytes.len(), output.display());
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}
