//! `sluice runs list`, `show RUN` and `diff`; `delete` and `prune` are in
//! `prune`.

use super::output::{escape_controls, fmt_delta, fmt_metric, outln, print_json, short, table};
use clap::Subcommand;
use sluice::Workspace;
use std::process::ExitCode;

#[derive(Debug, Subcommand)]
pub enum RunsCommand {
    /// List recorded runs, newest first.
    List {
        /// At most this many runs.
        #[arg(long, default_value_t = 50)]
        limit: i64,
        /// Print the answer as JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Show one run: its steps, their inputs, outputs, metrics, logs, errors,
    /// and every trial of a hyperparameter search (the best marked `*`).
    Show {
        /// A run id, or a unique prefix of one.
        run: String,
        /// Print the answer as JSON instead of text.
        #[arg(long)]
        json: bool,
        /// Print each step's full log.
        #[arg(long)]
        logs: bool,
        /// Also print each validator step's checks as a table: check,
        /// column, passed or FAILED (failed first), the observed value and
        /// the bound. With --json, adds a `checks` array.
        #[arg(long)]
        checks: bool,
        /// Also print each evaluator step's confusion matrix (counted from
        /// the trainer's stored holdout predictions) and each explainer
        /// step's top 10 features by importance. With --json, adds an
        /// `explain` object.
        #[arg(long)]
        explain: bool,
    },
    /// What differs between two runs: pipeline, seed, steps, plugins,
    /// params, inputs, outputs, metrics. Exit 0 either way.
    Diff {
        /// A run id, or a unique prefix of one.
        run_a: String,
        /// A run id, or a unique prefix of one.
        run_b: String,
        /// Print the answer as JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Delete runs' records (steps, lineage, metrics, trials), all or
    /// none; refused for a run a registered version, its lineage or a kept
    /// run's cached steps need. `sluice gc` then deletes the artifacts.
    Delete(super::prune::DeleteArgs),
    /// Delete the runs a retention rule does not keep (the options, else
    /// each pipeline file's [retention]), skipping, with the reason, every
    /// run a registered version, its lineage or a kept run's cache needs.
    Prune(super::prune::PruneArgs),
}

pub async fn runs(home: &Workspace, cmd: RunsCommand) -> anyhow::Result<ExitCode> {
    let (meta, tenant) = home.tenant_meta().await?;
    let tenant = Some(tenant.name.as_str());
    match cmd {
        RunsCommand::Delete(args) => return super::prune::delete(home, args).await,
        RunsCommand::Prune(args) => return super::prune::prune(home, args).await,
        RunsCommand::List { limit, json } => {
            let runs = meta.list_runs_in(tenant, limit).await?;
            if json {
                print_json(&runs)?;
            } else if runs.is_empty() {
                outln!("no runs recorded in {}", home.home().display());
            } else {
                let mut t = table(&["run", "pipeline", "version", "status", "started", "error"]);
                for r in &runs {
                    t.add_row(vec![
                        r.id.clone(),
                        r.pipeline_name.clone(),
                        r.pipeline_version.clone(),
                        r.status.to_string(),
                        r.started_at.clone(),
                        r.error.clone().unwrap_or_default(),
                    ]);
                }
                outln!("{t}");
            }
        }
        RunsCommand::Show {
            run,
            json,
            logs,
            checks,
            explain,
        } => {
            let r = meta.get_run_in(tenant, &run).await?;
            // The artifact store is opened only when a flag needs it.
            let checks = match checks {
                true => Some(super::runs_checks::load_checks(&home.artifacts()?, &r).await?),
                false => None,
            };
            let explain = match explain {
                true => Some(super::runs_explain::load_explain(&home.artifacts()?, &r).await?),
                false => None,
            };
            if json {
                let mut value = serde_json::to_value(&r)?;
                if let Some(rows) = &checks {
                    value["checks"] = rows.iter().map(|c| c.json()).collect();
                }
                if let Some(e) = &explain {
                    value["explain"] = e.json();
                }
                print_json(&value)?;
                return Ok(ExitCode::SUCCESS);
            }
            outln!("run       {}", r.id);
            outln!(
                "pipeline  {} v{} (sha256 {})",
                r.pipeline_name,
                r.pipeline_version,
                short(&r.pipeline_sha256)
            );
            if !r.overrides.is_empty() {
                outln!("set       {}", escape_controls(&r.overrides.join("  ")));
            }
            outln!("status    {}", r.status);
            outln!(
                "started   {}   finished {}",
                r.started_at,
                r.finished_at.clone().unwrap_or_else(|| "-".into())
            );
            if let Some(e) = &r.error {
                outln!("error     {e}");
            }
            let mut t = table(&[
                "step", "kind", "plugin", "status", "ms", "inputs", "outputs", "metrics",
            ]);
            for s in &r.steps {
                t.add_row(vec![
                    s.step_id.clone(),
                    s.kind.clone(),
                    format!(
                        "{}@{} {}",
                        s.plugin_name,
                        s.plugin_version,
                        short(&s.plugin_sha256)
                    ),
                    match &s.cached_from {
                        Some(from) if s.cached => format!("cached\n(from {from})"),
                        _ => s.status.to_string(),
                    },
                    s.duration_ms.map(|d| d.to_string()).unwrap_or_default(),
                    s.inputs
                        .iter()
                        .map(|(k, d)| format!("{k}:{}", short(&d.to_string())))
                        .collect::<Vec<_>>()
                        .join("\n"),
                    s.outputs
                        .iter()
                        .map(|(k, d)| format!("{k}:{}", d))
                        .collect::<Vec<_>>()
                        .join("\n"),
                    s.metrics
                        .iter()
                        .map(|(k, v)| format!("{k}={}", fmt_metric(*v)))
                        .collect::<Vec<_>>()
                        .join("\n"),
                ]);
            }
            outln!("{t}");
            for s in r.steps.iter().filter(|s| !s.trials.is_empty()) {
                print_trials(s);
            }
            for s in &r.steps {
                if let Some(e) = &s.error {
                    outln!("\nstep {} failed: {e}", s.step_id);
                }
                if (logs || s.error.is_some()) && !s.log.trim().is_empty() {
                    outln!("--- log of {} ---\n{}", s.step_id, s.log.trim_end());
                }
            }
            if let Some(rows) = &checks {
                super::runs_checks::print_checks(&r, rows);
            }
            if let Some(e) = &explain {
                super::runs_explain::print_explain(e);
            }
        }
        RunsCommand::Diff { run_a, run_b, json } => {
            let a = meta.get_run_in(tenant, &run_a).await?;
            let b = meta.get_run_in(tenant, &run_b).await?;
            let diff = sluice::meta::RunDiff::between(&a, &b);
            if json {
                print_json(&diff)?;
            } else {
                print_diff(&diff);
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The trials of a step's hyperparameter search, best marked with `*`.
fn print_trials(s: &sluice::meta::StepRunRecord) {
    let metric = &s.trials[0].metric;
    outln!(
        "\nsearch of step {}: {} trial(s), metric {metric} (mean over folds)",
        s.step_id,
        s.trials.len()
    );
    let mut t = table(&["trial", "params", metric, "folds", "ms", "status"]);
    for trial in &s.trials {
        let params = match &trial.params {
            serde_json::Value::Object(m) => m
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(" "),
            other => other.to_string(),
        };
        t.add_row(vec![
            format!("{}{}", trial.trial, if trial.best { " *" } else { "" }),
            params,
            trial.score.map(fmt_metric).unwrap_or_else(|| "-".into()),
            trial
                .fold_scores
                .iter()
                .map(|v| fmt_metric(*v))
                .collect::<Vec<_>>()
                .join(" "),
            trial.duration_ms.to_string(),
            match &trial.error {
                Some(e) => format!("failed: {e}"),
                None => trial.status.clone(),
            },
        ]);
    }
    outln!("{t}");
}

fn show<T: std::fmt::Display>(v: &Option<T>) -> String {
    v.as_ref().map_or_else(
        || "(absent)".to_owned(),
        |v| {
            let text = v.to_string();
            // A digest as the tables print it: a unique prefix takes it.
            let digest = text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit());
            if digest {
                short(&text).to_owned()
            } else {
                text
            }
        },
    )
}

fn print_diff(d: &sluice::meta::RunDiff) {
    outln!("a  {}\nb  {}", d.a, d.b);
    if d.is_empty() {
        outln!(
            "\nno differences: same pipeline, seed, steps, plugins, params, inputs, outputs and metrics"
        );
        return;
    }
    for c in &d.run {
        outln!("{:<18} {} -> {}", c.name, show(&c.a), show(&c.b));
    }
    for id in &d.only_in_a {
        outln!("step {id}: only in a");
    }
    for id in &d.only_in_b {
        outln!("step {id}: only in b");
    }
    for s in &d.steps {
        outln!("\nstep {}", s.step_id);
        // (label, a, b, delta) per line, the labels padded to one width.
        let mut lines: Vec<(String, String, String, String)> = Vec::new();
        for c in &s.fields {
            lines.push((c.name.clone(), show(&c.a), show(&c.b), String::new()));
        }
        for c in &s.params {
            lines.push((
                format!("param {}", c.name),
                show(&c.a),
                show(&c.b),
                String::new(),
            ));
        }
        for (kind, list) in [("input", &s.inputs), ("output", &s.outputs)] {
            for c in list {
                lines.push((
                    format!("{kind} {}", c.name),
                    show(&c.a),
                    show(&c.b),
                    String::new(),
                ));
            }
        }
        for c in &s.metrics {
            let delta = match (c.a, c.b) {
                (Some(x), Some(y)) => format!("  ({})", fmt_delta(y - x)),
                _ => String::new(),
            };
            let value = |v: Option<f64>| v.map_or_else(|| "(absent)".into(), fmt_metric);
            lines.push((format!("metric {}", c.name), value(c.a), value(c.b), delta));
        }
        let width = lines.iter().map(|l| l.0.chars().count()).max().unwrap_or(0);
        for (label, a, b, delta) in lines {
            outln!("  {label:<width$}  {a} -> {b}{delta}");
        }
    }
    if !d.same.is_empty() {
        outln!("\nsame in both: {}", d.same.join(", "));
    }
}
