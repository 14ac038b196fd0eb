//! `sluice monitor run|show|report|reference NAME`: a model's monitor on
//! demand, its recorded results and alerts, a window's HTML report, and
//! the reference its windows are compared with.

use super::models::registry;
use super::output::{errln, outln, print_json, table};
use super::output_file::write_output_file;
use clap::{Args, Subcommand};
use sluice::Workspace;
use sluice::monitor::{Monitor, Span, Status, Window, last_requests};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, Subcommand)]
pub enum MonitorCommand {
    /// Evaluate the monitor of a model on its logged traffic now: each
    /// version with requests in the window, by the monitor it was
    /// registered with (else production's). The results and alerts are
    /// recorded, and `on_alert` acts, as in `sluice serve`. Exit 1 when a
    /// check failed.
    Run(RunArgs),
    /// The recorded results (per window, version and check, with their
    /// numbers) and alerts of a model's monitor.
    Show(ShowArgs),
    /// Write a self-contained HTML report of one window against the
    /// version's reference: per feature a histogram of reference and
    /// current values with its drift test, the checks, performance and
    /// latency over time, the alerts.
    Report(ReportArgs),
    /// The reference a version's traffic is compared with, as stored once
    /// (at registration, or at its first evaluation): its training rows
    /// and holdout predictions, each column's statistics.
    Reference(ReferenceArgs),
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// The model's name.
    pub model: String,
    /// The window evaluated, ending now: a span (`90s`, `10m`, `2h`,
    /// `7d`) or the last requests (`5000 requests`); the monitor's
    /// `window` by default.
    #[arg(long)]
    pub window: Option<String>,
    /// Report only: record nothing and take no action.
    #[arg(long)]
    pub dry_run: bool,
    /// Print the evaluation as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ShowArgs {
    /// The model's name.
    pub model: String,
    /// Only windows that ended in this span back from now (`1h`, `7d`).
    #[arg(long)]
    pub since: Option<String>,
    /// At most this many of the latest results.
    #[arg(long, default_value_t = 100)]
    pub limit: i64,
    /// Print the results and alerts as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// The model's name.
    pub model: String,
    /// The version reported (the one with most requests by default).
    #[arg(long)]
    pub version: Option<i64>,
    /// The window reported, ending now: a span (`10m`) or the last
    /// requests (`5000 requests`); the monitor's `window` by default.
    #[arg(long)]
    pub window: Option<String>,
    /// How far back the history charts and the alerts go.
    #[arg(long, default_value = "7d")]
    pub history: String,
    /// Where to write the HTML.
    #[arg(short, long, default_value = "report.html")]
    pub output: PathBuf,
}

#[derive(Debug, Args)]
pub struct ReferenceArgs {
    /// The model's name.
    pub model: String,
    /// The version (the one `production` holds by default, else the
    /// latest).
    #[arg(long)]
    pub version: Option<i64>,
    /// Print the references as JSON.
    #[arg(long)]
    pub json: bool,
}

pub async fn monitor(home: &Workspace, cmd: MonitorCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        MonitorCommand::Run(args) => run(home, args).await,
        MonitorCommand::Show(args) => show(home, args).await,
        MonitorCommand::Report(args) => report(home, args).await,
        MonitorCommand::Reference(args) => reference(home, args).await,
    }
}

/// The window ending now: `--window`, else the window the model's
/// production (or latest) version's monitor declares; a window of
/// requests is the last that many.
async fn window_ending_now(
    reg: &sluice::registry::Registry,
    model: &str,
    given: Option<&str>,
) -> anyhow::Result<Window> {
    let span = match given {
        Some(w) => Span::parse(w).map_err(|e| anyhow::anyhow!("--window: {e}"))?,
        None => {
            let aliases = reg.aliases(model).await?;
            let version = match aliases.get("production") {
                Some(v) => *v,
                None => *reg
                    .versions(model)
                    .await?
                    .last()
                    .ok_or_else(|| anyhow::anyhow!("model `{model}` has no version"))?,
            };
            let spec = reg
                .version(model, version)
                .await?
                .monitoring
                .ok_or_else(|| {
                    anyhow::anyhow!(
                        "{model}:{version} declares no monitor ([models.{model}.monitoring]); \
                     give the span with --window"
                    )
                })?;
            spec.span().map_err(|e| anyhow::anyhow!("{e}"))?
        }
    };
    let end = chrono::Utc::now().timestamp_millis();
    Ok(match span {
        Span::Time(ms) => Window {
            start_ms: end - ms,
            end_ms: end,
        },
        Span::Requests(count) => last_requests(reg, model, end, count)
            .await
            .map_err(|e| anyhow::anyhow!("the last {count} requests of `{model}`: {e}"))?,
    })
}

fn time(ms: i64) -> String {
    sluice::serve::log::rfc3339(ms)
}

/// A result's numbers, short.
fn numbers(metrics: &std::collections::BTreeMap<String, f64>) -> String {
    let keep = |k: &str| {
        !(k.contains('.')
            && (k.ends_with(".lower") || k.ends_with(".upper") || k.ends_with(".p_value")))
            && !["inconclusive", "calibrated", "columns"].contains(&k)
    };
    let shown: Vec<String> = metrics
        .iter()
        .filter(|(k, _)| keep(k) && !k.ends_with(".statistic"))
        .take(6)
        .map(|(k, v)| format!("{k}={}", fmt(*v)))
        .collect();
    shown.join(" ")
}

fn fmt(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e12 {
        format!("{v:.0}")
    } else {
        format!("{v:.4}")
    }
}

async fn run(home: &Workspace, args: RunArgs) -> anyhow::Result<ExitCode> {
    let reg = registry(home).await?;
    let window = window_ending_now(&reg, &args.model, args.window.as_deref()).await?;
    let (_, tenant) = home.tenant_meta().await?;
    let runtime = home.runtime().await?;
    let monitor = Monitor {
        registry: &reg,
        runtime: &runtime,
        limits: tenant.caps.call_limits(),
        record: !args.dry_run,
    };
    let evaluation = monitor
        .evaluate(&args.model, window)
        .await
        .map_err(|e| anyhow::anyhow!("monitoring `{}`: {e}", args.model))?;
    let failed = evaluation
        .versions
        .iter()
        .flat_map(|v| &v.results)
        .any(|r| r.status == Status::Fail);
    if args.json {
        print_json(&evaluation)?;
    } else if evaluation.versions.is_empty() {
        errln!(
            "no request of model `{}` is logged from {} to {}",
            args.model,
            time(window.start_ms),
            time(window.end_ms)
        );
    } else {
        outln!(
            "model `{}`, window {} .. {}",
            args.model,
            time(window.start_ms),
            time(window.end_ms)
        );
        let mut t = table(&["version", "check", "status", "rows", "numbers", "detail"]);
        for v in &evaluation.versions {
            if v.results.is_empty() {
                t.add_row([
                    format!("v{}", v.version),
                    "-".into(),
                    "-".into(),
                    v.rows.to_string(),
                    String::new(),
                    "the version declares no monitor".into(),
                ]);
            }
            for r in &v.results {
                t.add_row([
                    format!("v{}", v.version),
                    r.check.clone(),
                    r.status.as_str().to_owned(),
                    r.rows.to_string(),
                    numbers(&r.metrics),
                    r.detail.clone(),
                ]);
            }
        }
        outln!("{t}");
        for a in evaluation.versions.iter().flat_map(|v| &v.alerts) {
            outln!(
                "alert: v{} check `{}`: {} -> {}",
                a.version,
                a.check,
                a.detail,
                a.action
            );
        }
    }
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

async fn show(home: &Workspace, args: ShowArgs) -> anyhow::Result<ExitCode> {
    let reg = registry(home).await?;
    // An unknown model is an error, not an empty list.
    reg.versions(&args.model).await?;
    let since = args
        .since
        .as_deref()
        .map(sluice::serve::log::since_ms)
        .transpose()
        .map_err(|e| anyhow::anyhow!("--since: {e}"))?;
    let results = reg
        .meta
        .monitor_results(reg.tenant(), &args.model, since, args.limit.max(1))
        .await?;
    let alerts = reg
        .meta
        .monitor_alerts(reg.tenant(), &args.model, since)
        .await?;
    if args.json {
        print_json(&serde_json::json!({ "results": results, "alerts": alerts }))?;
        return Ok(ExitCode::SUCCESS);
    }
    if results.is_empty() {
        errln!("no monitor result of model `{}` is recorded", args.model);
        return Ok(ExitCode::SUCCESS);
    }
    let mut t = table(&[
        "window end",
        "version",
        "check",
        "status",
        "rows",
        "numbers",
        "detail",
    ]);
    for r in &results {
        t.add_row([
            time(r.window_end_ms),
            format!("v{}", r.version),
            r.check.clone(),
            r.status.clone(),
            r.rows.to_string(),
            numbers(&r.metrics),
            r.detail.clone(),
        ]);
    }
    outln!("{t}");
    if !alerts.is_empty() {
        let mut t = table(&["raised", "version", "role", "check", "detail", "action"]);
        for a in &alerts {
            t.add_row([
                time(a.at_ms),
                format!("v{}", a.version),
                a.role.clone(),
                a.check.clone(),
                a.detail.clone(),
                a.action.clone(),
            ]);
        }
        outln!("alerts:\n{t}");
    }
    Ok(ExitCode::SUCCESS)
}

async fn report(home: &Workspace, args: ReportArgs) -> anyhow::Result<ExitCode> {
    let reg = registry(home).await?;
    let window = window_ending_now(&reg, &args.model, args.window.as_deref()).await?;
    let history = sluice::serve::log::since_ms(&args.history)
        .map_err(|e| anyhow::anyhow!("--history: {e}"))?;
    let (_, tenant) = home.tenant_meta().await?;
    let runtime = home.runtime().await?;
    let monitor = Monitor {
        registry: &reg,
        runtime: &runtime,
        limits: tenant.caps.call_limits(),
        record: false,
    };
    let data = monitor
        .report(&args.model, args.version, window, history)
        .await
        .map_err(|e| anyhow::anyhow!("the report of `{}`: {e}", args.model))?;
    let html = sluice::monitor::report::render(&data);
    write_output_file(&args.output, html.as_bytes())?;
    errln!(
        "wrote the report of {}:{} ({} rows, {} feature(s), {} check(s)) to {}",
        args.model,
        data.version,
        data.window.rows,
        data.features.len(),
        data.checks.len(),
        args.output.display()
    );
    Ok(ExitCode::SUCCESS)
}

async fn reference(home: &Workspace, args: ReferenceArgs) -> anyhow::Result<ExitCode> {
    let reg = registry(home).await?;
    let versions = reg.versions(&args.model).await?;
    let version = match args.version {
        Some(v) => v,
        None => match reg.aliases(&args.model).await?.get("production") {
            Some(v) => *v,
            None => *versions
                .last()
                .ok_or_else(|| anyhow::anyhow!("model `{}` has no version", args.model))?,
        },
    };
    // An unknown version is an error, not an empty answer.
    reg.version(&args.model, version).await?;
    let mut stored = Vec::new();
    for kind in ["inputs", "outputs"] {
        if let Some(r) = reg
            .meta
            .monitor_reference(reg.tenant(), &args.model, version, kind)
            .await?
        {
            stored.push(r);
        }
    }
    if args.json {
        print_json(&stored)?;
        return Ok(ExitCode::SUCCESS);
    }
    if stored.is_empty() {
        errln!(
            "{}:{version} has no stored monitor reference: it is built when a version \
             declaring a monitor is registered, or at its first evaluation",
            args.model
        );
        return Ok(ExitCode::SUCCESS);
    }
    for r in &stored {
        let what = if r.kind == "inputs" {
            "training rows"
        } else {
            "holdout predictions"
        };
        outln!(
            "{}:{} {} reference ({what}): {} rows, built {}, artifact {}",
            r.model,
            r.version,
            r.kind,
            r.rows,
            time(r.created_ms),
            &r.digest.to_hex()[..12]
        );
        let mut t = table(&[
            "column", "kind", "nulls", "distinct", "min", "median", "max", "mean", "std", "top",
        ]);
        let num = |v: Option<f64>| v.map(fmt).unwrap_or_default();
        for c in &r.columns {
            t.add_row([
                c.name.clone(),
                c.kind.clone(),
                c.nulls.to_string(),
                c.distinct.to_string(),
                num(c.min),
                num(c.quantiles.get(2).copied()),
                num(c.max),
                num(c.mean),
                num(c.std),
                c.top
                    .iter()
                    .take(3)
                    .map(|(v, n)| format!("{v} ({n})"))
                    .collect::<Vec<_>>()
                    .join(", "),
            ]);
        }
        outln!("{t}");
    }
    Ok(ExitCode::SUCCESS)
}
