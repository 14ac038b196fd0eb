//! `sluice runs delete RUN...` and `sluice runs prune`: delete run records
//! and what only they refer to, keeping every run a registered version,
//! its lineage or a kept run's cache needs. The artifacts are left to
//! `sluice gc`.

use super::output::{outln, print_json};
use clap::Args;
use sluice::Workspace;
use sluice::meta::RunRecord;
use sluice::registry::{PruneRule, Registry};
use std::collections::BTreeSet;
use std::process::ExitCode;

#[derive(Debug, Args)]
pub struct DeleteArgs {
    /// Run ids, or unique prefixes of them.
    #[arg(required = true)]
    pub runs: Vec<String>,
    /// Say what would be deleted, and delete nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Print one JSON object: deleted (the run ids), dry_run.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  \
    sluice runs prune --keep-last 5 --dry-run\n  \
    sluice runs prune --older-than 30d --pipeline churn\n  \
    sluice runs prune --failed\n  \
    sluice runs prune                  (each pipeline's [retention])\n  \
    sluice gc --yes                    (then delete the artifacts nothing refers to)")]
pub struct PruneArgs {
    /// Keep the newest N runs of each pipeline.
    #[arg(long, value_name = "N")]
    pub keep_last: Option<u32>,
    /// Delete only runs started longer ago than this (`12h`, `30d`, ...).
    #[arg(long, value_name = "AGE", value_parser = super::gc::parse_age)]
    pub older_than: Option<chrono::Duration>,
    /// Delete only failed runs (and interrupted ones no process runs).
    #[arg(long)]
    pub failed: bool,
    /// Only this pipeline's runs.
    #[arg(long, value_name = "NAME")]
    pub pipeline: Option<String>,
    /// Say what would be deleted and what is kept, and delete nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Print one JSON object: deleted, kept (each with its reason),
    /// without_rule, dry_run.
    #[arg(long)]
    pub json: bool,
}

fn run_json(r: &RunRecord) -> serde_json::Value {
    serde_json::json!({
        "run_id": r.id,
        "pipeline": r.pipeline_name,
        "version": r.pipeline_version,
        "status": r.status,
        "started_at": r.started_at,
    })
}

async fn registry(home: &Workspace) -> anyhow::Result<Registry> {
    super::models::registry(home).await
}

pub async fn delete(home: &Workspace, args: DeleteArgs) -> anyhow::Result<ExitCode> {
    let reg = registry(home).await?;
    let tenant = Some(reg.tenant());
    let mut ids = Vec::new();
    for given in &args.runs {
        let id = reg.meta.get_run_in(tenant, given).await?.id;
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    let deleting: BTreeSet<String> = ids.iter().cloned().collect();
    let kept = reg.keepers(&deleting).await?;
    if !kept.is_empty() {
        let lines: Vec<String> = kept
            .iter()
            .map(|(run, why)| format!("  {run}: {why}"))
            .collect();
        let hint = if kept.values().any(|why| why.starts_with("model version")) {
            "\narchive a version (`sluice models archive NAME:VERSION`) to let its run go"
        } else {
            ""
        };
        anyhow::bail!(
            "nothing deleted: {} of the runs must be kept:\n{}{hint}",
            kept.len(),
            lines.join("\n")
        );
    }
    if !args.dry_run {
        reg.delete_runs(&ids).await?;
    }
    if args.json {
        print_json(&serde_json::json!({ "deleted": ids, "dry_run": args.dry_run }))?;
        return Ok(ExitCode::SUCCESS);
    }
    let verb = if args.dry_run {
        "would delete"
    } else {
        "deleted"
    };
    for id in &ids {
        outln!("{verb} run {id}");
    }
    if !args.dry_run {
        outln!("`sluice gc --yes` deletes the artifacts nothing refers to any more");
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn prune(home: &Workspace, args: PruneArgs) -> anyhow::Result<ExitCode> {
    let reg = registry(home).await?;
    let rule = PruneRule {
        keep_last: args.keep_last,
        keep_for: args.older_than,
        failed_only: args.failed,
    };
    let rule = (!rule.is_empty()).then_some(rule);
    let plan = reg
        .plan_prune(rule, args.pipeline.as_deref(), chrono::Utc::now())
        .await?;
    let ids: Vec<String> = plan.delete.iter().map(|r| r.id.clone()).collect();
    if !args.dry_run && !ids.is_empty() {
        reg.delete_runs(&ids).await?;
    }
    if args.json {
        print_json(&serde_json::json!({
            "deleted": plan.delete.iter().map(run_json).collect::<Vec<_>>(),
            "kept": plan.kept.iter().map(|k| {
                let mut run = run_json(&k.run);
                run["reason"] = k.reason.clone().into();
                run
            }).collect::<Vec<_>>(),
            "without_rule": plan.without_rule,
            "dry_run": args.dry_run,
        }))?;
        return Ok(ExitCode::SUCCESS);
    }
    let verb = if args.dry_run {
        "would delete"
    } else {
        "deleted"
    };
    for r in &plan.delete {
        outln!(
            "{verb} run {}  {} v{}  {}  {}",
            r.id,
            r.pipeline_name,
            r.pipeline_version,
            r.status,
            r.started_at
        );
    }
    for k in &plan.kept {
        outln!(
            "kept run {}  {}: {}",
            k.run.id,
            k.run.pipeline_name,
            k.reason
        );
    }
    if rule.is_none() && !plan.without_rule.is_empty() {
        outln!(
            "left alone (no [retention] in the pipeline file, no --keep-last, --older-than \
             or --failed): {}",
            plan.without_rule.join(", ")
        );
    }
    outln!(
        "{verb}: {} runs; kept: {} the rule would delete",
        plan.delete.len(),
        plan.kept.len()
    );
    if !args.dry_run && !ids.is_empty() {
        outln!("`sluice gc --yes` deletes the artifacts nothing refers to any more");
    }
    Ok(ExitCode::SUCCESS)
}
