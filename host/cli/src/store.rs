//! `sluice store check [--repair]`: re-hash every stored object.

use super::output::{outln, print_json};
use clap::{Args, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use sluice::Workspace;
use sluice::integrity::{CheckProgress, DamagedArtifact, StoreCheck, check_store, remove_corrupt};
use std::io::IsTerminal;
use std::process::ExitCode;

#[derive(Debug, Subcommand)]
pub enum StoreCommand {
    /// Re-hash every object of the tenant's artifact store, find the
    /// objects runs and models refer to that are missing, and name the
    /// runs and model versions each damaged one affects; exit 1 when
    /// something is damaged (and not removed with --repair).
    Check(CheckArgs),
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Delete the corrupt objects, so nothing serves them and the next
    /// run of the pipelines named recomputes them.
    #[arg(long)]
    pub repair: bool,
    /// Print one JSON object: store, checked, bytes, damaged, reruns,
    /// repaired.
    #[arg(long)]
    pub json: bool,
}

pub async fn store(home: &Workspace, cmd: StoreCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        StoreCommand::Check(args) => check(home, args).await,
    }
}

/// A byte-counting bar on a terminal; nothing in a pipe or with --json.
struct Bar(Option<ProgressBar>);

impl CheckProgress for Bar {
    fn listed(&self, objects: usize, bytes: u64) {
        if let Some(bar) = &self.0 {
            bar.set_length(bytes);
            bar.set_message(format!("{objects} objects"));
        }
    }
    fn checked(&self, size: u64) {
        if let Some(bar) = &self.0 {
            bar.inc(size);
        }
    }
}

async fn check(home: &Workspace, args: CheckArgs) -> anyhow::Result<ExitCode> {
    let (meta, tenant) = home.tenant_meta().await?;
    let store = home.artifacts()?;
    let bar = Bar((!args.json && std::io::stderr().is_terminal()).then(|| {
        let bar = ProgressBar::new(0);
        bar.set_style(
            ProgressStyle::with_template(
                "{spinner} checking {msg}: {bytes}/{total_bytes} {wide_bar} {eta}",
            )
            .expect("valid template"),
        );
        bar.enable_steady_tick(std::time::Duration::from_millis(100));
        bar
    }));
    let mut report = check_store(&store, &meta, &tenant.name, &bar).await?;
    if let Some(bar) = &bar.0 {
        bar.finish_and_clear();
    }
    if args.repair {
        remove_corrupt(&store, &meta, &tenant.name, &mut report).await?;
    }
    let unrepaired = report.unrepaired();
    if args.json {
        let mut value = serde_json::to_value(&report)?;
        value["repaired"] = args.repair.into();
        value["ok"] = (unrepaired == 0).into();
        print_json(&value)?;
    } else {
        print_human(&report, args.repair);
    }
    Ok(if unrepaired == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn print_human(report: &StoreCheck, repair: bool) {
    outln!(
        "checked {} objects ({} bytes) in {}",
        report.checked,
        report.bytes,
        report.store
    );
    if report.damaged.is_empty() {
        outln!("every object hashes to its name, and every artifact the records name is stored");
        return;
    }
    for d in &report.damaged {
        print_damaged(d);
    }
    let removed = report.damaged.iter().filter(|d| d.removed).count();
    if repair {
        outln!(
            "removed {removed} corrupt object(s): a cached step whose output is gone runs again"
        );
    }
    if !report.reruns.is_empty() {
        outln!("to write the damaged artifacts again, run:");
        for r in &report.reruns {
            match &r.pipeline_path {
                Some(path) => outln!(
                    "  sluice run {path}    (pipeline {} v{}; run {})",
                    r.pipeline_name,
                    r.pipeline_version,
                    r.runs.join(", ")
                ),
                None => outln!(
                    "  pipeline {} v{} (run {}): its runs did not record their pipeline file",
                    r.pipeline_name,
                    r.pipeline_version,
                    r.runs.join(", ")
                ),
            }
        }
    }
    let unrepaired = report.unrepaired();
    if unrepaired > 0 {
        let hint = if repair || report.damaged.iter().all(|d| d.size.is_none()) {
            ""
        } else {
            "; `sluice store check --repair` removes the corrupt ones"
        };
        outln!(
            "DAMAGED: {unrepaired} artifact(s) in {}{hint}",
            report.store
        );
    }
}

fn print_damaged(d: &DamagedArtifact) {
    let removed = if d.removed { " (removed)" } else { "" };
    outln!("artifact {}: {}{removed}", d.digest, d.integrity);
    for s in &d.steps {
        outln!(
            "  {} `{}` of step `{}` in run {} (pipeline {} v{}, {})",
            s.role.as_str(),
            s.name,
            s.step_id,
            s.run_id,
            s.pipeline_name,
            s.pipeline_version,
            s.run_status
        );
    }
    for m in &d.models {
        outln!(
            "  model {} v{} holds it as `{}` (registered from run {})",
            m.model,
            m.version,
            m.field,
            m.run_id
        );
    }
    if d.steps.is_empty() && d.models.is_empty() {
        outln!("  no recorded run or model refers to it");
    }
}
