//! `sluice models rollout NAME VERSION [--to ALIAS]`, and `status`,
//! `pause`, `resume`, `abort` of the rollout going on.

use super::output::{outln, print_json};
use clap::Args;
use sluice::Workspace;
use sluice::registry::{Registry, default_actor};
use sluice::rollout::{Control, RolloutSpec, Rollouts};
use std::process::ExitCode;

#[derive(Debug, Args)]
pub struct RolloutArgs {
    /// NAME:VERSION (or NAME@ALIAS, or NAME VERSION) to start a rollout;
    /// or `status`, `pause`, `resume` or `abort`, then NAME.
    #[arg(num_args = 1..=2, required = true, value_names = ["MODEL|ACTION", "VERSION|NAME"])]
    pub args: Vec<String>,
    /// The alias the candidate takes over.
    #[arg(long, default_value = "production")]
    pub to: String,
    /// The candidate's share at each step, in percent (the version's
    /// declared `[models.NAME.rollout]`, else 10,50,100).
    #[arg(long, value_delimiter = ',')]
    pub steps: Option<Vec<f64>>,
    /// How long each step lasts at least, and the span each judgement
    /// looks at (declared, else 10m).
    #[arg(long)]
    pub interval: Option<String>,
    /// Fewer candidate requests in an interval: inconclusive, the rollout
    /// holds (declared, else 100).
    #[arg(long)]
    pub min_requests: Option<u64>,
    /// Failed intervals before it rolls back (declared, else 2).
    #[arg(long)]
    pub failure_limit: Option<u32>,
    /// A check of each interval, repeated: `CHECK.METRIC >= BOUND` or
    /// `<= BOUND`, BOUND a number, `production`, `production - N` or
    /// `N * production` (replaces the declared checks).
    #[arg(long = "check")]
    pub checks: Vec<String>,
    /// Who starts or changes it, for the audit history (default: $USER).
    #[arg(long)]
    pub actor: Option<String>,
    /// Print the rollout as JSON.
    #[arg(long)]
    pub json: bool,
}

pub async fn rollout(
    home: &Workspace,
    reg: &Registry,
    args: RolloutArgs,
) -> anyhow::Result<ExitCode> {
    let (_, tenant) = home.tenant_meta().await?;
    let runtime = home.runtime().await?;
    let rollouts = Rollouts {
        registry: reg,
        runtime: &runtime,
        limits: tenant.caps.call_limits(),
    };
    let actor = args.actor.clone().unwrap_or_else(default_actor);
    let first = args.args[0].as_str();
    let second = args.args.get(1).map(String::as_str);
    if matches!(first, "status" | "pause" | "resume" | "abort") && second.is_none() {
        anyhow::bail!("`sluice models rollout {first}` needs the model's NAME after it");
    }
    // The model of `status|pause|resume|abort NAME`.
    let named = second.unwrap_or_default();
    let control = match first {
        "pause" => Some(Control::Pause),
        "resume" => Some(Control::Resume),
        "abort" => Some(Control::Abort),
        _ => None,
    };
    let row = if first == "status" {
        reg.versions(named).await?;
        match reg.meta.latest_rollout(reg.tenant(), named).await? {
            Some(row) => row,
            None => {
                if args.json {
                    print_json(&serde_json::Value::Null)?;
                } else {
                    outln!("model `{named}` has never been rolled out");
                }
                return Ok(ExitCode::SUCCESS);
            }
        }
    } else if let Some(control) = control {
        rollouts
            .control(named, control, &actor)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?
    } else {
        let candidate = super::models::named_version(reg, first, second, false).await?;
        let (first, version) = (candidate.name.as_str(), candidate.version);
        let declared = candidate.rollout.clone();
        let mut spec = declared.unwrap_or_default();
        if let Some(steps) = args.steps {
            spec.steps = steps;
        }
        if let Some(interval) = args.interval {
            spec.interval = interval;
        }
        if let Some(n) = args.min_requests {
            spec.min_requests = n;
        }
        if let Some(n) = args.failure_limit {
            spec.failure_limit = n;
        }
        if !args.checks.is_empty() {
            spec.checks = args.checks;
        }
        rollouts
            .start(first, version, &args.to, &spec, &actor)
            .await
            .map_err(|e| anyhow::anyhow!("rollout of {first}:{version}: {e}"))?
    };
    let spec: RolloutSpec = serde_json::from_str(&row.spec_json)?;
    if args.json {
        let mut value = serde_json::to_value(&row)?;
        value["spec"] = serde_json::to_value(&spec)?;
        value["share"] = serde_json::json!(spec.steps.get(row.step as usize));
        print_json(&value)?;
        return Ok(ExitCode::SUCCESS);
    }
    outln!(
        "rollout of {}:{} to `{}`: {}",
        row.model,
        row.candidate,
        row.alias,
        row.state
    );
    outln!(
        "  step {} of {} ({}% of the traffic), interval {}, {} of {} failed intervals, {} inconclusive",
        row.step + 1,
        spec.steps.len(),
        spec.steps.get(row.step as usize).copied().unwrap_or(0.0),
        spec.interval,
        row.failures,
        spec.failure_limit,
        row.inconclusive
    );
    outln!("  checks: {}", spec.checks.join("; "));
    if !row.last.is_empty() {
        outln!("  last: {}", row.last);
    }
    if row.state == "running" {
        let next = row.window_start_ms + spec.interval_ms().unwrap_or(0);
        outln!(
            "  next judgement after {} (by `sluice serve`)",
            sluice::serve::log::rfc3339(next)
        );
    }
    Ok(ExitCode::SUCCESS)
}
