//! `sluice triggers list|show|history|run`: the triggers pipeline files
//! armed, their firings and the runs they started, and the engine that
//! fires them.

use super::output::{errln, outln, print_json, table};
use clap::{Args, Subcommand};
use sluice::Workspace;
use sluice::meta::{ArmedTrigger, Firing};
use sluice::triggers::{Armed, Engine, Source};
use std::process::ExitCode;

#[derive(Debug, Subcommand)]
pub enum TriggersCommand {
    /// The armed triggers (running a pipeline file arms the triggers it
    /// declares): what fires each, when it fires next, its last firing.
    List(ListArgs),
    /// One trigger: its declaration, where it stands, its latest firings.
    Show(ShowArgs),
    /// The firings, oldest first: why each fired, its state, the run it
    /// started and what came of it (or why it was skipped).
    History(HistoryArgs),
    /// Fire the tenant's triggers and run what they start, until stopped
    /// (`sluice serve` does the same beside serving). One engine per
    /// tenant runs at a time.
    Run(RunArgs),
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// Print them as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ShowArgs {
    /// The pipeline's name.
    pub pipeline: String,
    /// The trigger's name.
    pub trigger: String,
    /// Print it as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct HistoryArgs {
    /// Only this pipeline's firings.
    pub pipeline: Option<String>,
    /// Only this trigger's firings.
    #[arg(long)]
    pub trigger: Option<String>,
    /// At most this many of the latest.
    #[arg(long, default_value_t = 50)]
    pub limit: i64,
    /// Print them as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// Look once, wait for the runs that started, and exit (for a
    /// system cron or a test), instead of running until stopped.
    #[arg(long)]
    pub once: bool,
    /// Extra directories searched for plugins named without a path.
    #[arg(long = "plugin-dir")]
    pub plugin_dirs: Vec<std::path::PathBuf>,
}

pub async fn triggers(home: &Workspace, cmd: TriggersCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        TriggersCommand::List(args) => list(home, args).await,
        TriggersCommand::Show(args) => show(home, args).await,
        TriggersCommand::History(args) => history(home, args).await,
        TriggersCommand::Run(args) => run(home, args).await,
    }
}

fn time(ms: i64) -> String {
    sluice::serve::log::rfc3339(ms)
}

/// When `t` fires next, in words.
fn next(t: &ArmedTrigger, armed: &Armed) -> String {
    match armed.spec.source() {
        Ok(Source::Schedule(cron, tz)) => {
            let after = t
                .cursor
                .parse::<i64>()
                .unwrap_or(t.armed_ms)
                .max(chrono::Utc::now().timestamp_millis());
            chrono::DateTime::from_timestamp(after.div_euclid(1000), 0)
                .and_then(|a| cron.find_next_occurrence(&a.with_timezone(&tz), false).ok())
                .map(|n| time(n.timestamp_millis()))
                .unwrap_or_else(|| "never".into())
        }
        Ok(Source::NewData(_)) if !t.pending.is_empty() => {
            "new data seen, waiting for the debounce".into()
        }
        Ok(Source::NewData(_)) => "when the data changes".into(),
        Ok(Source::Alert(_)) => "at the next alert".into(),
        Err(e) => format!("never: {e}"),
    }
}

#[derive(serde::Serialize)]
struct Listed {
    #[serde(flatten)]
    trigger: ArmedTrigger,
    fires: String,
    next: String,
    last: Option<Firing>,
}

async fn listed(home: &Workspace) -> anyhow::Result<Vec<Listed>> {
    let (meta, tenant) = home.tenant_meta().await?;
    let armed = meta.armed_triggers(Some(&tenant.name)).await?;
    let mut out = Vec::new();
    for t in armed {
        let spec: Armed = serde_json::from_value(t.spec.clone())?;
        let last = meta
            .firings(&tenant.name, Some(&t.pipeline), Some(&t.name), &[], 1)
            .await?
            .pop();
        out.push(Listed {
            fires: spec.spec.describe(),
            next: next(&t, &spec),
            last,
            trigger: t,
        });
    }
    Ok(out)
}

async fn list(home: &Workspace, args: ListArgs) -> anyhow::Result<ExitCode> {
    let listed = listed(home).await?;
    if args.json {
        print_json(&listed)?;
        return Ok(ExitCode::SUCCESS);
    }
    if listed.is_empty() {
        errln!("no trigger is armed: running a pipeline file arms the [triggers] it declares");
        return Ok(ExitCode::SUCCESS);
    }
    let mut t = table(&["pipeline", "trigger", "fires on", "next", "last firing"]);
    for l in &listed {
        t.add_row([
            l.trigger.pipeline.clone(),
            l.trigger.name.clone(),
            l.fires.clone(),
            l.next.clone(),
            l.last
                .as_ref()
                .map(|f| format!("{} {}", time(f.fired_ms), f.state))
                .unwrap_or_else(|| "-".into()),
        ]);
    }
    outln!("{t}");
    Ok(ExitCode::SUCCESS)
}

async fn show(home: &Workspace, args: ShowArgs) -> anyhow::Result<ExitCode> {
    let listed = listed(home).await?;
    let Some(l) = listed
        .into_iter()
        .find(|l| l.trigger.pipeline == args.pipeline && l.trigger.name == args.trigger)
    else {
        anyhow::bail!(
            "pipeline `{}` has no armed trigger `{}` (see `sluice triggers list`)",
            args.pipeline,
            args.trigger
        );
    };
    let (meta, tenant) = home.tenant_meta().await?;
    let firings = meta
        .firings(
            &tenant.name,
            Some(&args.pipeline),
            Some(&args.trigger),
            &[],
            10,
        )
        .await?;
    if args.json {
        print_json(&serde_json::json!({ "trigger": l, "firings": firings }))?;
        return Ok(ExitCode::SUCCESS);
    }
    outln!(
        "trigger `{}` of pipeline `{}` ({})",
        l.trigger.name,
        l.trigger.pipeline,
        l.trigger.path
    );
    outln!("  fires on: {}", l.fires);
    outln!("  next:     {}", l.next);
    outln!("  armed:    {}", time(l.trigger.armed_ms));
    outln!("  declared: {}", l.trigger.spec["spec"]);
    print_firings(&firings);
    Ok(ExitCode::SUCCESS)
}

fn print_firings(firings: &[Firing]) {
    if firings.is_empty() {
        outln!("no firing yet");
        return;
    }
    let mut t = table(&["fired", "trigger", "state", "why", "run", "outcome"]);
    for f in firings {
        t.add_row([
            time(f.fired_ms),
            format!("{}/{}", f.pipeline, f.trigger),
            f.state.clone(),
            f.reason.clone(),
            f.run_id.clone().unwrap_or_else(|| "-".into()),
            f.detail.clone(),
        ]);
    }
    outln!("{t}");
}

async fn history(home: &Workspace, args: HistoryArgs) -> anyhow::Result<ExitCode> {
    let (meta, tenant) = home.tenant_meta().await?;
    let firings = meta
        .firings(
            &tenant.name,
            args.pipeline.as_deref(),
            args.trigger.as_deref(),
            &[],
            args.limit.max(1),
        )
        .await?;
    if args.json {
        print_json(&firings)?;
    } else {
        print_firings(&firings);
    }
    Ok(ExitCode::SUCCESS)
}

async fn run(home: &Workspace, args: RunArgs) -> anyhow::Result<ExitCode> {
    let (meta, tenant) = home.tenant_meta().await?;
    let runtime = home.runtime_for(&tenant)?;
    let dirs = sluice::installed::search_dirs(&args.plugin_dirs);
    let name = tenant.name.clone();
    let Some((engine, _lock)) = Engine::new(meta, home.store_root()?, runtime, tenant, dirs)
        .map_err(|e| anyhow::anyhow!(e))?
    else {
        anyhow::bail!(
            "another process (`sluice serve` or `sluice triggers run`) runs the triggers of \
             tenant `{name}`"
        );
    };
    if args.once {
        engine.recover().await.map_err(|e| anyhow::anyhow!(e))?;
        engine
            .clone()
            .tick(chrono::Utc::now().timestamp_millis())
            .await
            .map_err(|e| anyhow::anyhow!(e))?;
        engine.wait().await;
        return Ok(ExitCode::SUCCESS);
    }
    errln!("firing the triggers of tenant `{name}`; stop with Ctrl-C");
    tokio::select! {
        _ = engine.clone().run() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
    Ok(ExitCode::SUCCESS)
}
