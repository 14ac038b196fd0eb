//! `sluice models archive NAME:VERSION` and `unarchive`: retire a version
//! (hidden from `models list`, holding no alias, its run prunable) or
//! bring it back, each recorded in the audit history.

use super::output::{outln, print_json};
use clap::Args;
use sluice::registry::{ModelSpec, Registry, default_actor};
use std::process::ExitCode;

#[derive(Debug, Args)]
pub struct ArchiveArgs {
    /// The version, as NAME:VERSION.
    pub version: String,
    /// Why (recorded in the audit history).
    #[arg(long, default_value = "")]
    pub reason: String,
    /// Who is acting (default: SLUICE_ACTOR or the login name).
    #[arg(long)]
    pub actor: Option<String>,
    /// Print one JSON object: name, version, archived, changed.
    #[arg(long)]
    pub json: bool,
}

/// Archive (`archived`) or unarchive the version `args` names.
pub async fn archive(
    reg: &Registry,
    args: ArchiveArgs,
    archived: bool,
) -> anyhow::Result<ExitCode> {
    let ModelSpec::Version(name, version) = ModelSpec::parse(&args.version)? else {
        anyhow::bail!(
            "`{}` names no single version: write NAME:VERSION (e.g. churn:3)",
            args.version
        );
    };
    let actor = args.actor.unwrap_or_else(default_actor);
    let changed = reg
        .set_archived(&name, version, archived, &args.reason, &actor)
        .await?;
    let what = if archived { "archived" } else { "unarchived" };
    if args.json {
        print_json(&serde_json::json!({
            "name": name,
            "version": version,
            "archived": archived,
            "changed": changed,
        }))?;
    } else if !changed {
        outln!("{name}:{version} was {what} already; nothing changed");
    } else if archived {
        outln!(
            "archived {name}:{version}: hidden from `sluice models list` (--all shows it); \
             `sluice runs prune` may now delete its run"
        );
    } else {
        outln!("unarchived {name}:{version}");
    }
    Ok(ExitCode::SUCCESS)
}
