//! `sluice run PIPELINE`

use super::output::{errln, escape_controls, fmt_metric, fmt_ms, outln, print_json, short, table};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use sluice::Workspace;
use sluice::artifacts::Integrity;
use sluice::meta::RunStatus;
use sluice::pipeline::executor::{Executor, RunObserver, StepKind, StepReport, VerifyReport};
use sluice::pipeline::{PlanOptions, plan_file, recorded_plan};
use sluice::registry::RunRegistrar;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};

#[derive(Debug, Args)]
pub struct RunArgs {
    /// The pipeline file (TOML).
    pub pipeline: PathBuf,
    /// More directories to look for plugins in, after the pipeline's own
    /// and before SLUICE_PLUGIN_PATH's (colon-separated) and the installed
    /// plugins' (`sluice plugin list` shows them all).
    #[arg(long = "plugin-dir")]
    pub plugin_dirs: Vec<PathBuf>,
    /// Set a step's param for this run, over the file's: `-P train.C=0.5`
    /// (repeat for more). The value is TOML (`0.5`, `true`, `"a,b"`), else
    /// text. Recorded with the run (`runs show`), not a new definition:
    /// no `version` bump needed; `resume` and `verify` apply it again.
    #[arg(short = 'P', long = "set", value_name = "STEP.PARAM=VALUE")]
    pub set: Vec<String>,
    /// Print one JSON object (run_id, status, steps) instead of a summary.
    #[arg(long)]
    pub json: bool,
    /// Run even though this pipeline's `version` was already run, and
    /// not failed, with a different definition (by default that is
    /// refused: bump the version, or name it `dev` or `X-dev`, whose
    /// definitions may change freely).
    #[arg(long)]
    pub allow_changed_version: bool,
    /// Run every step, reusing nothing from earlier runs (cache keys are
    /// still recorded).
    #[arg(long)]
    pub no_cache: bool,
}

struct Progress {
    bar: Option<ProgressBar>,
    /// The steps running now, in the order they started: (id, label).
    running: Mutex<Vec<(String, String)>>,
}

/// The spinner's message: every step running now, by id, the first with
/// its kind and plugin.
fn running_message(running: &[(String, String)]) -> String {
    match running {
        [] => String::new(),
        [(_, label)] => label.clone(),
        [(_, label), rest @ ..] => format!(
            "{label} + {}",
            rest.iter()
                .map(|(id, _)| id.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// The line printed when a step ends: a mark, its id, and its time or
/// where its outputs came from.
fn finished_line(step: &StepReport) -> String {
    let mark = if step.error.is_some() { "✗" } else { "✓" };
    let how = match (&step.cached_from, step.cached) {
        (Some(run), true) => format!("cached from {run}"),
        (None, true) => "cached".to_string(),
        _ => fmt_ms(step.duration_ms),
    };
    format!("  {mark} {:<24} {how:>10}", step.id)
}

impl Progress {
    fn running(&self) -> std::sync::MutexGuard<'_, Vec<(String, String)>> {
        self.running.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl RunObserver for Progress {
    fn run_started(&self, run_id: &str, steps: usize) {
        if let Some(bar) = &self.bar {
            bar.set_length(steps as u64);
            bar.println(format!("run {run_id}"));
        }
    }
    fn step_started(&self, id: &str, kind: StepKind, plugin: &str) {
        let mut running = self.running();
        running.push((id.to_string(), format!("{id} ({kind}, {plugin})")));
        if let Some(bar) = &self.bar {
            bar.set_message(escape_controls(&running_message(&running)).into_owned());
        }
    }
    fn step_finished(&self, step: &StepReport) {
        let mut running = self.running();
        running.retain(|(id, _)| *id != step.id);
        if let Some(bar) = &self.bar {
            bar.println(escape_controls(&finished_line(step)));
            bar.set_message(escape_controls(&running_message(&running)).into_owned());
            bar.inc(1);
        }
    }
    fn trial_finished(
        &self,
        step: &str,
        done: usize,
        total: usize,
        trial: &sluice::meta::TrialRecord,
    ) {
        if let Some(bar) = &self.bar {
            let score = trial.score.map_or_else(
                || "failed".to_string(),
                |s| format!("{}={}", trial.metric, fmt_metric(s)),
            );
            bar.set_message(
                escape_controls(&format!(
                    "{step}: search trial {done}/{total} (trial {} {} {score})",
                    trial.trial, trial.params
                ))
                .into_owned(),
            );
        }
    }
}

pub async fn run(home: &Workspace, args: RunArgs) -> anyhow::Result<ExitCode> {
    // The tenant first: its caps bound the plugins planning compiles.
    let (meta, tenant) = home.tenant_meta().await?;
    let runtime = home.runtime_for(&tenant)?;
    let dirs = sluice::installed::search_dirs(&args.plugin_dirs);
    let plan = plan(&runtime, &args.pipeline, dirs, args.set.clone()).await?;
    // Running the file arms the triggers it declares (and disarms those
    // it no longer does).
    if let Err(e) = sluice::triggers::arm(&meta, &tenant.name, &plan).await {
        errln!("warning: the pipeline's triggers were not armed: {e}");
    }
    // Said before the run, not at its last step.
    let store = sluice::tenants::tenant_store(&home.store_root()?, &tenant.name);
    for slow in sluice::pipeline::forecast::slow_steps(&meta, &store, &tenant, &plan).await {
        errln!("warning: {slow}");
    }
    let executor = Executor::builder(runtime, home.store_root()?, meta)
        .allow_changed_version(args.allow_changed_version)
        .use_cache(!args.no_cache)
        .registrar(Arc::new(RunRegistrar))
        .build();
    let progress = Progress::new(args.json);
    let report = executor.run_as(&tenant, &plan, &progress).await?;
    progress.finish();
    print_report(&report, executor.meta(), args.json).await
}

#[derive(Debug, Args)]
pub struct ResumeArgs {
    /// The run to continue (it failed or was interrupted).
    pub run: String,
    /// Print one JSON object, as `sluice run --json` does.
    #[arg(long)]
    pub json: bool,
}

/// `sluice resume RUN`: plan the run's pipeline file again (it must be
/// unchanged) and continue the run under the same id.
pub async fn resume(home: &Workspace, args: ResumeArgs) -> anyhow::Result<ExitCode> {
    let (meta, tenant) = home.tenant_meta().await?;
    let runtime = home.runtime_for(&tenant)?;
    let record = meta.get_run_in(Some(&tenant.name), &args.run).await?;
    let plan = recorded_plan(&meta, &record, &runtime).await?;
    let executor = Executor::builder(runtime, home.store_root()?, meta)
        .registrar(Arc::new(RunRegistrar))
        .build();
    let progress = Progress::new(args.json);
    let report = executor
        .resume_as(&tenant, &args.run, &plan, &progress)
        .await?;
    progress.finish();
    print_report(&report, executor.meta(), args.json).await
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The run to reproduce.
    pub run: String,
    /// Print one JSON object: run, verification_run, reproduced,
    /// stored_intact, damaged (stored outputs that were corrupt or
    /// missing), outputs.
    #[arg(long)]
    pub json: bool,
}

/// `sluice verify RUN`: re-read and re-hash every output the run stored,
/// then run the run's pipeline again without the cache (recorded as a new
/// run, registering no model) and compare every output byte for byte, by
/// digest, with what the run recorded. The stored bytes are checked first:
/// the re-execution writes the good bytes over a damaged object it
/// reproduces.
pub async fn verify(home: &Workspace, args: VerifyArgs) -> anyhow::Result<ExitCode> {
    let (meta, tenant) = home.tenant_meta().await?;
    let runtime = home.runtime_for(&tenant)?;
    let executor = Executor::builder(runtime, home.store_root()?, meta).build();
    let progress = Progress::new(args.json);
    let report = executor.verify(&tenant, &args.run, &progress).await?;
    progress.finish();
    if args.json {
        // Through a `Value`, whose keys are sorted: the order the command
        // has always printed.
        print_json(&serde_json::to_value(&report)?)?;
    } else {
        print_verify(&report);
    }
    Ok(if report.reproduced {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn print_verify(report: &VerifyReport) {
    outln!(
        "verify {}: re-read its {} stored outputs, then re-executed every step without \
         the cache as run {}",
        report.run,
        report.stored.len(),
        report.verification_run
    );
    let mut t = table(&["step", "output", "recorded", "stored", "re-executed", ""]);
    for r in &report.outputs {
        let d = |v: &Option<String>| {
            v.as_deref()
                .map_or("(none)".to_owned(), |x| short(x).to_string())
        };
        t.add_row(vec![
            r.step.clone(),
            r.output.clone(),
            d(&r.recorded),
            r.stored
                .as_ref()
                .map_or("-", |s| match s {
                    Integrity::Intact => "intact",
                    Integrity::Missing => "MISSING",
                    Integrity::Corrupt { .. } => "CORRUPT",
                })
                .to_owned(),
            d(&r.reproduced),
            if r.same { "same" } else { "DIFFERENT" }.to_owned(),
        ]);
    }
    outln!("{t}");
    for c in &report.damaged {
        outln!(
            "stored output `{}` of step `{}` ({}) is {}{}",
            c.output,
            c.step,
            c.digest,
            c.stored,
            if c.repaired {
                "; the re-execution wrote the good bytes back"
            } else {
                "; `sluice store check` names everything it affects"
            }
        );
    }
    if let Some(e) = &report.error {
        errln!("the re-execution failed: {e}");
    }
    let total = report.outputs.len();
    if report.reproduced {
        outln!("reproduced: all {total} outputs are stored intact and byte-identical");
    } else {
        let differ = report.differing();
        if differ > 0 || report.verification_status != RunStatus::Succeeded {
            outln!("NOT reproduced: {differ} of {total} outputs differ");
        }
        if !report.damaged.is_empty() {
            outln!(
                "NOT verified: {} stored output(s) of run {} were corrupt or missing",
                report.damaged.len(),
                report.run
            );
        }
    }
}

async fn plan(
    runtime: &sluice::runtime::Runtime,
    path: &std::path::Path,
    plugin_dirs: Vec<PathBuf>,
    overrides: Vec<String>,
) -> anyhow::Result<sluice::pipeline::Plan> {
    let options = PlanOptions {
        plugin_dirs,
        compile: None,
        overrides,
    };
    Ok(plan_file(runtime, path, options).await?)
}

impl Progress {
    /// A bar on a terminal unless `json`; its length is set when the run
    /// starts (its datasets and steps).
    fn new(json: bool) -> Progress {
        let bar = (!json && std::io::stderr().is_terminal()).then(|| {
            let bar = ProgressBar::new(0);
            bar.set_style(
                ProgressStyle::with_template("{spinner} [{pos}/{len}] {msg} {elapsed}")
                    .expect("valid template"),
            );
            bar.enable_steady_tick(std::time::Duration::from_millis(100));
            bar
        });
        Progress {
            bar,
            running: Mutex::new(Vec::new()),
        }
    }

    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

async fn print_report(
    report: &sluice::pipeline::executor::RunReport,
    meta: &sluice::meta::MetaStore,
    json: bool,
) -> anyhow::Result<ExitCode> {
    if json {
        print_json(report)?;
    } else {
        outln!(
            "run {}  pipeline {} v{}  {}  {}",
            report.run_id,
            report.pipeline,
            report.version,
            report.status,
            fmt_ms(report.duration_ms)
        );
        let mut t = table(&["step", "kind", "status", "time", "metrics", "outputs"]);
        for s in &report.steps {
            let status = match (&s.cached_from, s.cached) {
                (Some(from), true) if *from == report.run_id => "done before".to_owned(),
                (_, true) => "cached".to_owned(),
                _ => s.status.to_string(),
            };
            t.add_row(vec![
                s.id.clone(),
                s.kind.to_string(),
                status,
                fmt_ms(s.duration_ms),
                metrics_summary(&s.metrics),
                s.outputs
                    .iter()
                    .map(|(k, v)| format!("{k}:{}", short(v)))
                    .collect::<Vec<_>>()
                    .join(" "),
            ]);
        }
        outln!("{t}");
        print_warnings(report);
        for s in report
            .steps
            .iter()
            .filter(|s| s.outputs.contains_key("search"))
        {
            let trials = meta.trials_of(&report.run_id, &s.id).await?;
            if let Some(best) = trials.iter().find(|t| t.best) {
                let failed = trials.iter().filter(|t| t.status != "succeeded").count();
                outln!(
                    "search of {}: best trial {} {} with {} = {} ({} trial(s), {failed} failed; \
                     `sluice runs show {}` lists them)",
                    s.id,
                    best.trial,
                    best.params,
                    best.metric,
                    best.score.map_or_else(|| "-".into(), fmt_metric),
                    trials.len(),
                    report.run_id
                );
            }
        }
        for r in &report.registered {
            if r.reused {
                outln!(
                    "reused {}:{} (identical model): step {} made the same model, chain and \
                     metrics; no new version registered",
                    r.name,
                    r.version,
                    r.step
                );
                continue;
            }
            outln!(
                "registered {}:{} from step {} (`sluice models promote {}:{} --to production` \
                 serves it)",
                r.name,
                r.version,
                r.step,
                r.name,
                r.version
            );
        }
        let cached = report.steps.iter().filter(|s| s.cached).count();
        if cached > 0 {
            outln!(
                "{cached} of {} steps reused earlier outputs (--no-cache runs them all)",
                report.steps.len()
            );
        }
        if let Some(e) = &report.error {
            errln!("run failed: {e}");
            errln!(
                "see `sluice runs show {}` for the step logs; `sluice resume {}` continues it",
                report.run_id,
                report.run_id
            );
        }
    }
    Ok(if report.status == RunStatus::Succeeded {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// The warnings the steps' plugins logged, on standard error: at most
/// [`WARNINGS_SHOWN`] per step, the rest counted (`sluice runs show` has
/// the whole log).
fn print_warnings(report: &sluice::pipeline::executor::RunReport) {
    for s in &report.steps {
        for w in s.warnings.iter().take(WARNINGS_SHOWN) {
            errln!("warning: step {}: {}", s.id, escape_controls(w));
        }
        if s.warnings.len() > WARNINGS_SHOWN {
            errln!(
                "warning: step {}: {} more warnings (`sluice runs show {}` has its log)",
                s.id,
                s.warnings.len() - WARNINGS_SHOWN,
                report.run_id
            );
        }
    }
}

const WARNINGS_SHOWN: usize = 5;

/// At most eight metrics in the summary; `sluice runs show` has them all.
fn metrics_summary(metrics: &std::collections::BTreeMap<String, f64>) -> String {
    const SHOWN: usize = 8;
    let mut parts: Vec<String> = metrics
        .iter()
        .take(SHOWN)
        .map(|(k, v)| format!("{k}={}", fmt_metric(*v)))
        .collect();
    if metrics.len() > SHOWN {
        parts.push(format!("(+{} more)", metrics.len() - SHOWN));
    }
    parts.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use sluice::meta::StepStatus;

    #[test]
    fn the_spinner_names_every_step_running_and_cached_steps_say_so() {
        let label = |id: &str| (id.to_string(), format!("{id} (trainer, logreg@0.1.0)"));
        assert_eq!(running_message(&[]), "");
        assert_eq!(
            running_message(&[label("train")]),
            "train (trainer, logreg@0.1.0)"
        );
        assert_eq!(
            running_message(&[label("train"), label("explain"), label("check")]),
            "train (trainer, logreg@0.1.0) + explain, check"
        );

        let mut step = StepReport {
            id: "scale".into(),
            kind: StepKind::Transform,
            plugin: "standardize@0.1.0".into(),
            plugin_sha256: String::new(),
            status: StepStatus::Succeeded,
            duration_ms: 1234,
            outputs: Default::default(),
            metrics: Default::default(),
            cached: false,
            cached_from: None,
            error: None,
            warnings: Vec::new(),
        };
        let ran = finished_line(&step);
        assert!(
            ran.contains("✓ scale") && ran.contains(&fmt_ms(1234)),
            "{ran}"
        );
        step.cached = true;
        step.cached_from = Some("20261205-115317-14063e".into());
        let cached = finished_line(&step);
        assert!(
            cached.ends_with("cached from 20261205-115317-14063e"),
            "{cached}"
        );
        step.error = Some("boom".into());
        step.cached = false;
        assert!(finished_line(&step).contains("✗ scale"));
    }
}
