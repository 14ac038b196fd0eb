//! `sluice run PIPELINE`

use super::Home;
use super::output::{fmt_metric, fmt_ms, print_json, short, table};
use crate::pipeline::executor::{Executor, RunObserver, StepReport};
use crate::pipeline::{PlanOptions, load_plan};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Mutex;

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
    fn step_started(&self, id: &str, kind: &str, plugin: &str) {
        if let Some(bar) = &self.bar {
            bar.set_message(format!("{id} ({kind}, {plugin})"));
        }
        *self.current.lock().unwrap_or_else(|e| e.into_inner()) = Some(id.to_string());
    }
    fn step_finished(&self, step: &StepReport) {
        if let Some(bar) = &self.bar {
            let mark = if step.error.is_some() { "✗" } else { "✓" };
            bar.println(format!(
                "  {mark} {:<24} {:>10}",
                step.id,
                fmt_ms(step.duration_ms)
            ));
            bar.inc(1);
        }
    }
}

pub async fn run(home: &Home, args: RunArgs) -> anyhow::Result<ExitCode> {
    let runtime = home.runtime()?;
    let mut options = PlanOptions {
        plugin_dirs: args.plugin_dirs.clone(),
    };
    if let Ok(path) = std::env::var("SLUICE_PLUGIN_PATH") {
        options
            .plugin_dirs
            .extend(std::env::split_paths(&path).filter(|p| !p.as_os_str().is_empty()));
    }
    let plan = {
        let runtime = runtime.clone();
        let path = args.pipeline.clone();
        tokio::task::spawn_blocking(move || load_plan(&path, &runtime, &options)).await??
    };
    let (meta, tenant) = home.tenant_meta().await?;
    let mut executor = Executor::new(runtime, home.store_root()?, meta);
    executor.allow_changed_version = args.allow_changed_version;
    let bar = (!args.json && std::io::stderr().is_terminal()).then(|| {
        let bar = ProgressBar::new((plan.datasets.len() + plan.steps.len()) as u64);
        bar.set_style(
            ProgressStyle::with_template("{spinner} [{pos}/{len}] {msg} {elapsed}")
                .expect("valid template"),
        );
        bar.enable_steady_tick(std::time::Duration::from_millis(100));
        bar
    });
    let progress = Progress {
        bar,
        current: Mutex::new(None),
    };
    let report = executor.run_as(&tenant, &plan, &progress).await?;
    if let Some(bar) = &progress.bar {
        bar.finish_and_clear();
    }
    if args.json {
        print_json(&report)?;
    } else {
        println!(
            "run {}  pipeline {} v{}  {}  {}",
            report.run_id,
            report.pipeline,
            report.version,
            report.status,
            fmt_ms(report.duration_ms)
        );
        let mut t = table(&["step", "kind", "status", "time", "metrics", "outputs"]);
        for s in &report.steps {
            t.add_row(vec![
                s.id.clone(),
                s.kind.clone(),
                s.status.clone(),
                fmt_ms(s.duration_ms),
                metrics_summary(&s.metrics),
                s.outputs
                    .iter()
                    .map(|(k, v)| format!("{k}:{}", short(v)))
                    .collect::<Vec<_>>()
                    .join(" "),
            ]);
        }
        println!("{t}");
        if let Some(e) = &report.error {
            eprintln!("run failed: {e}");
            eprintln!("see `sluice runs show {}` for the step logs", report.run_id);
        }
    }
    Ok(if report.status == "succeeded" {
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
