//! `sluice run PIPELINE`

use super::output::{errln, escape_controls, fmt_metric, fmt_ms, outln, print_json, short, table};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use sluice::Workspace;
use sluice::integrity::check_run_outputs;
use sluice::meta::RunStatus;
use sluice::pipeline::executor::{Executor, RunObserver, StepKind, StepReport};
use sluice::pipeline::{PlanOptions, load_plan};
use sluice::registry::RunRegistrar;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};

#[derive(Debug, Args)]
pub struct RunArgs {
    /// The pipeline file (TOML).
    pub pipeline: PathBuf,
    /// More directories to look for plugins in (also SLUICE_PLUGIN_PATH,
    /// colon-separated).
    #[arg(long = "plugin-dir")]
    pub plugin_dirs: Vec<PathBuf>,
    /// Print one JSON object (run_id, status, steps) instead of a summary.
    #[arg(long)]
    pub json: bool,
    /// Run even though this pipeline's `version` was already run with a
    /// different definition (by default that is refused: bump the version).
    #[arg(long)]
    pub allow_changed_version: bool,
    /// Run every step, reusing nothing from earlier runs (cache keys are
    /// still recorded).
    #[arg(long)]
    pub no_cache: bool,
}

struct Progress {
    bar: Option<ProgressBar>,
    current: Mutex<Option<String>>,
}

impl RunObserver for Progress {
    fn run_started(&self, run_id: &str, _steps: usize) {
        if let Some(bar) = &self.bar {
            bar.println(format!("run {run_id}"));
        }
    }
    fn step_started(&self, id: &str, kind: StepKind, plugin: &str) {
        if let Some(bar) = &self.bar {
            bar.set_message(escape_controls(&format!("{id} ({kind}, {plugin})")).into_owned());
        }
        *self.current.lock().unwrap_or_else(|e| e.into_inner()) = Some(id.to_string());
    }
    fn step_finished(&self, step: &StepReport) {
        if let Some(bar) = &self.bar {
            let mark = if step.error.is_some() { "✗" } else { "✓" };
            bar.println(escape_controls(&format!(
                "  {mark} {:<24} {:>10}",
                step.id,
                fmt_ms(step.duration_ms)
            )));
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
    let mut dirs = args.plugin_dirs.clone();
    if let Ok(path) = std::env::var("SLUICE_PLUGIN_PATH") {
        dirs.extend(std::env::split_paths(&path).filter(|p| !p.as_os_str().is_empty()));
    }
    let plan = plan(&runtime, &args.pipeline, dirs).await?;
    let executor = Executor::builder(runtime, home.store_root()?, meta)
        .allow_changed_version(args.allow_changed_version)
        .use_cache(!args.no_cache)
        .registrar(Arc::new(RunRegistrar))
        .build();
    let progress = Progress::new(&plan, args.json);
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
    let progress = Progress::new(&plan, args.json);
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
    let original = meta.get_run_in(Some(&tenant.name), &args.run).await?;
    if original.status == RunStatus::Running {
        anyhow::bail!(
            "run {} never finished (status `running`): it is still going, or its process \
             was interrupted; there is nothing complete to verify. `sluice resume {}` \
             finishes an interrupted run",
            original.id,
            original.id
        );
    }
    let store = home.artifacts()?;
    let stored = check_run_outputs(&store, &original).await?;
    let plan = recorded_plan(&meta, &original, &runtime).await?;
    let executor = Executor::builder(runtime, home.store_root()?, meta)
        .use_cache(false)
        .build();
    let progress = Progress::new(&plan, args.json);
    let again = executor.run_as(&tenant, &plan, &progress).await?;
    progress.finish();

    // The damaged outputs, and whether the re-execution wrote them back.
    let mut damaged = Vec::new();
    for c in stored.iter().filter(|c| !c.integrity.is_intact()) {
        let now = store.check(&c.digest).await?;
        damaged.push(serde_json::json!({
            "step": c.step,
            "output": c.output,
            "digest": c.digest,
            "stored": c.integrity,
            "repaired": now.is_intact(),
        }));
    }
    let mut rows = Vec::new();
    let mut differ = 0;
    for step in &original.steps {
        let new = again.steps.iter().find(|s| s.id == step.step_id);
        let mut names: Vec<&String> = step.outputs.iter().map(|(n, _)| n).collect();
        if let Some(new) = new {
            names.extend(
                new.outputs
                    .keys()
                    .filter(|n| !names.contains(n))
                    .collect::<Vec<_>>(),
            );
        }
        for name in names {
            let recorded = step
                .outputs
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, d)| d.to_string());
            let now = new.and_then(|s| s.outputs.get(name).cloned());
            let same = recorded.is_some() && recorded == now;
            if !same {
                differ += 1;
            }
            let stored = stored
                .iter()
                .find(|c| c.step == step.step_id && c.output == *name)
                .map(|c| &c.integrity);
            rows.push(serde_json::json!({
                "step": step.step_id,
                "output": name,
                "recorded": recorded,
                "reproduced": now,
                "same": same,
                "stored": stored,
            }));
        }
    }
    let reproduced = differ == 0 && again.status == RunStatus::Succeeded && damaged.is_empty();
    if args.json {
        print_json(&serde_json::json!({
            "run": original.id,
            "verification_run": again.run_id,
            "reproduced": reproduced,
            "stored_intact": damaged.is_empty(),
            "damaged": damaged,
            "outputs": rows,
            "error": again.error,
        }))?;
    } else {
        outln!(
            "verify {}: re-read its {} stored outputs, then re-executed every step without \
             the cache as run {}",
            original.id,
            stored.len(),
            again.run_id
        );
        let mut t = table(&["step", "output", "recorded", "stored", "re-executed", ""]);
        for r in &rows {
            let d = |v: &serde_json::Value| {
                v.as_str()
                    .map_or("(none)".to_owned(), |x| short(x).to_string())
            };
            t.add_row(vec![
                r["step"].as_str().unwrap_or_default().to_owned(),
                r["output"].as_str().unwrap_or_default().to_owned(),
                d(&r["recorded"]),
                r["stored"]["state"]
                    .as_str()
                    .map_or("-".to_owned(), |s| match s {
                        "intact" => s.to_owned(),
                        _ => s.to_uppercase(),
                    }),
                d(&r["reproduced"]),
                if r["same"] == true {
                    "same"
                } else {
                    "DIFFERENT"
                }
                .to_owned(),
            ]);
        }
        outln!("{t}");
        for c in stored.iter().filter(|c| !c.integrity.is_intact()) {
            let repaired = damaged
                .iter()
                .any(|d| d["digest"] == c.digest.to_hex() && d["repaired"] == true);
            outln!(
                "stored output `{}` of step `{}` ({}) is {}{}",
                c.output,
                c.step,
                c.digest,
                c.integrity,
                if repaired {
                    "; the re-execution wrote the good bytes back"
                } else {
                    "; `sluice store check` names everything it affects"
                }
            );
        }
        if let Some(e) = &again.error {
            errln!("the re-execution failed: {e}");
        }
        if reproduced {
            outln!(
                "reproduced: all {} outputs are stored intact and byte-identical",
                rows.len()
            );
        } else {
            if differ > 0 || again.status != RunStatus::Succeeded {
                outln!("NOT reproduced: {differ} of {} outputs differ", rows.len());
            }
            if !damaged.is_empty() {
                outln!(
                    "NOT verified: {} stored output(s) of run {} were corrupt or missing",
                    damaged.len(),
                    original.id
                );
            }
        }
    }
    Ok(if reproduced {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

async fn plan(
    runtime: &sluice::runtime::Runtime,
    path: &std::path::Path,
    plugin_dirs: Vec<PathBuf>,
) -> anyhow::Result<sluice::pipeline::Plan> {
    let options = PlanOptions {
        plugin_dirs,
        compile: None,
    };
    let runtime = runtime.clone();
    let path = path.to_owned();
    Ok(tokio::task::spawn_blocking(move || load_plan(&path, &runtime, &options)).await??)
}

/// The plan of a recorded run, from the pipeline file and plugin
/// directories it recorded; the file must still hash to the recorded sha256.
async fn recorded_plan(
    meta: &sluice::meta::MetaStore,
    record: &sluice::meta::RunRecord,
    runtime: &sluice::runtime::Runtime,
) -> anyhow::Result<sluice::pipeline::Plan> {
    let run_id = record.id.as_str();
    let (path, dirs) = meta.run_source(run_id).await?;
    let Some(path) = path else {
        anyhow::bail!("run {run_id} did not record its pipeline file (it predates resume)");
    };
    let dirs: Vec<PathBuf> = match dirs {
        Some(json) => serde_json::from_str::<Vec<String>>(&json)?
            .into_iter()
            .map(PathBuf::from)
            .collect(),
        None => Vec::new(),
    };
    let plan = plan(runtime, std::path::Path::new(&path), dirs).await?;
    if plan.definition_sha256 != record.pipeline_sha256 {
        anyhow::bail!(
            "the pipeline file {path} of run {run_id} changed since the run (sha256 {} then, \
             {} now); `sluice pipelines show {} --definition` prints the recorded text",
            record.pipeline_sha256,
            plan.definition_sha256,
            record.pipeline_name
        );
    }
    Ok(plan)
}

impl Progress {
    fn new(plan: &sluice::pipeline::Plan, json: bool) -> Progress {
        let bar = (!json && std::io::stderr().is_terminal()).then(|| {
            let bar = ProgressBar::new((plan.datasets.len() + plan.steps.len()) as u64);
            bar.set_style(
                ProgressStyle::with_template("{spinner} [{pos}/{len}] {msg} {elapsed}")
                    .expect("valid template"),
            );
            bar.enable_steady_tick(std::time::Duration::from_millis(100));
            bar
        });
        Progress {
            bar,
            current: Mutex::new(None),
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
