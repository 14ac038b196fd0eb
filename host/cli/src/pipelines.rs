//! `sluice pipelines list` and `sluice pipelines show NAME`

use super::output::{outln, print_json, table};
use clap::Subcommand;
use sluice::Workspace;
use std::process::ExitCode;

#[derive(Debug, Subcommand)]
pub enum PipelinesCommand {
    /// Recorded pipeline versions: name, version, definition sha256, runs.
    List {
        /// Print the answer as JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// One pipeline's recorded versions and its runs, newest first.
    Show {
        /// The pipeline's name (its `[pipeline] name`).
        name: String,
        /// Print the answer as JSON instead of text.
        #[arg(long)]
        json: bool,
        /// Also print the text of each recorded definition.
        #[arg(long)]
        definition: bool,
    },
}

pub async fn pipelines(home: &Workspace, cmd: PipelinesCommand) -> anyhow::Result<ExitCode> {
    let (meta, tenant) = home.tenant_meta().await?;
    match cmd {
        PipelinesCommand::List { json } => {
            let versions = meta.pipeline_versions(&tenant.name, None).await?;
            if json {
                print_json(&versions)?;
            } else if versions.is_empty() {
                outln!("no pipelines recorded in {}", home.db_path().display());
            } else {
                let mut t = table(&[
                    "pipeline",
                    "version",
                    "definition sha256",
                    "runs",
                    "last run",
                ]);
                for v in &versions {
                    t.add_row(vec![
                        v.name.clone(),
                        v.version.clone(),
                        v.definition_sha256.clone(),
                        v.runs.to_string(),
                        v.last_run.clone().unwrap_or_default(),
                    ]);
                }
                outln!("{t}");
            }
        }
        PipelinesCommand::Show {
            name,
            json,
            definition,
        } => {
            let versions = meta.pipeline_versions(&tenant.name, Some(&name)).await?;
            if versions.is_empty() {
                anyhow::bail!(
                    "no pipeline named `{name}` is recorded in {}; `sluice pipelines list` \
                     shows the recorded ones",
                    home.db_path().display()
                );
            }
            let runs = meta.runs_of_pipeline(&tenant.name, &name).await?;
            let mut definitions = Vec::new();
            if definition || json {
                for v in &versions {
                    definitions.push(
                        meta.pipeline_definition(&name, &v.definition_sha256)
                            .await?
                            .unwrap_or_default(),
                    );
                }
            }
            if json {
                let versions: Vec<_> = versions
                    .iter()
                    .zip(&definitions)
                    .map(|(v, text)| {
                        let runs: Vec<_> = runs
                            .iter()
                            .filter(|r| {
                                r.pipeline_version == v.version
                                    && r.pipeline_sha256 == v.definition_sha256
                            })
                            .collect();
                        serde_json::json!({
                            "name": v.name,
                            "version": v.version,
                            "definition_sha256": v.definition_sha256,
                            "created_at": v.created_at,
                            "definition": text,
                            "runs": runs,
                        })
                    })
                    .collect();
                print_json(&serde_json::json!({ "name": name, "versions": versions }))?;
                return Ok(ExitCode::SUCCESS);
            }
            outln!("pipeline  {name}");
            for (i, v) in versions.iter().enumerate() {
                outln!(
                    "\nversion {}  definition sha256 {}  first run {}  ({} runs)",
                    v.version,
                    v.definition_sha256,
                    v.created_at,
                    v.runs
                );
                if let Some(text) = definitions.get(i) {
                    outln!("--- definition ---\n{}", text.trim_end());
                }
                let mut t = table(&["run", "status", "started", "error"]);
                for r in runs.iter().filter(|r| {
                    r.pipeline_version == v.version && r.pipeline_sha256 == v.definition_sha256
                }) {
                    t.add_row(vec![
                        r.id.clone(),
                        r.status.to_string(),
                        r.started_at.clone(),
                        r.error.clone().unwrap_or_default(),
                    ]);
                }
                outln!("{t}");
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
