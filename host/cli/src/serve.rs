//! `sluice serve`: the registry's models over HTTP (the library's
//! `sluice::serve`), until SIGINT or SIGTERM; `sluice serve logs`: a
//! model's inference log.

use super::output::{errln, outln};
use super::output_file::write_output_file;
use clap::{Args, Subcommand};
use sluice::Workspace;
use sluice::serve::tenancy::Auth;
use sluice::serve::{ServeOptions, Server, shutdown_signal};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

#[derive(Debug, Args)]
#[command(after_help = "Endpoints:\n  \
    GET  /v2, /v2/health/live, /v2/health/ready            Open Inference Protocol v2\n  \
    GET  /v2/models/NAME[/versions/V][/ready]              a model's metadata, readiness\n  \
    POST /v2/models/NAME[/versions/V]/infer                predict (tritonclient, KServe)\n  \
    POST /v2/models/NAME/feedback                          labels for logged requests\n  \
    POST /invocations, /models/NAME/invocations            MLflow's scoring protocol\n  \
    GET  /ping, /health, /version                          MLflow's probes\n\n\
    NAME is a model's `production` alias, NAME@ALIAS or NAME:VERSION. Model\n\
    requests need `Authorization: Bearer TOKEN` unless --no-auth.\n\n\
    Example:\n  \
    sluice tenants token create default    # prints TOKEN once\n  \
    sluice serve --addr 127.0.0.1:8080 --model churn\n  \
    curl -s localhost:8080/invocations -H \"authorization: Bearer $TOKEN\" \\\n       \
    -H 'content-type: application/json' \\\n       \
    -d '{\"dataframe_records\": [{\"tenure\": 3, \"charges\": 70.5}]}'\n  \
    sluice serve logs churn --since 1h -o last-hour.parquet")]
#[command(args_conflicts_with_subcommands = true)]
pub struct ServeArgs {
    #[command(subcommand)]
    pub command: Option<ServeCommand>,
    /// The address to listen on (port 0: any free port, printed at start).
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub addr: SocketAddr,
    /// The model `POST /invocations` answers with: NAME (its `production`
    /// alias), NAME@ALIAS or NAME:VERSION.
    #[arg(long)]
    pub model: Option<String>,
    /// The largest request body, in MiB (larger: 413).
    #[arg(long, default_value_t = 16)]
    pub max_body_mib: usize,
    /// How long a request may take, in milliseconds (longer: 504, and its
    /// plugin calls are stopped).
    #[arg(long, default_value_t = 30_000)]
    pub request_timeout_ms: u64,
    /// How often the served models' aliases are read again, in
    /// milliseconds: a promotion or rollback by another process takes
    /// effect within this time.
    #[arg(long, default_value_t = 250)]
    pub refresh_ms: u64,
    /// Serve without tokens: every caller acts as the tenant given with
    /// --tenant (default: the default tenant). Without this flag, every
    /// model request needs `Authorization: Bearer TOKEN` (`sluice tenants
    /// token create TENANT`) and sees that tenant's models only.
    #[arg(long)]
    pub no_auth: bool,
    /// The most rows one sandboxed call answers when concurrent requests
    /// for a version are batched together; 1 turns batching off.
    #[arg(long, default_value_t = 1024, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub batch_max_rows: u64,
    /// How long, in milliseconds, a request waits for others to batch
    /// with when a call is free. 0 (the default): it runs at once, and
    /// requests batch only while the version's calls are busy.
    #[arg(long, default_value_t = 0)]
    pub batch_window_ms: u64,
    /// How many calls of one version run at once before requests queue
    /// into batches (default: half the cores, at least 1, leaving the
    /// other half to HTTP and JSON).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=1024))]
    pub batch_calls: Option<u64>,
    /// Keep no inference log (by default every request of a model is
    /// logged: `sluice serve logs`).
    #[arg(long)]
    pub no_log: bool,
    /// The longest a request waits in the log's buffer before it is
    /// written to the store, in milliseconds: what a SIGKILL can lose.
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u64).range(10..))]
    pub log_flush_ms: u64,
    /// Do not fire the triggers pipeline files armed (`sluice triggers
    /// run` can, in a process of its own).
    #[arg(long)]
    pub no_triggers: bool,
    /// Extra directories searched for plugins named without a path, by
    /// the runs triggers start.
    #[arg(long = "plugin-dir")]
    pub plugin_dirs: Vec<std::path::PathBuf>,
    /// Write the log as soon as its buffer holds this many rows.
    #[arg(long, default_value_t = 65_536, value_parser = clap::value_parser!(u64).range(1..))]
    pub log_flush_rows: u64,
    /// The most the log's buffer holds, in MiB; past it requests wait for
    /// the store (and are answered 503 at their deadline) rather than the
    /// buffer growing.
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u64).range(1..=65_536))]
    pub log_buffer_mib: u64,
}

#[derive(Debug, Subcommand)]
pub enum ServeCommand {
    /// Export a model's inference log: one row per request row, with the
    /// request's id, time, version, variant, key, status, error and
    /// latency, its inputs (`input.<name>`), outputs (`output.<name>`) and
    /// its columns the model does not use (`extra`, JSON).
    #[command(after_help = "Examples:\n  \
        sluice serve logs churn                        # all of it, CSV on stdout\n  \
        sluice serve logs churn --since 15m -o recent.parquet\n  \
        sluice serve logs churn --since 2026-12-04T09:00:00Z -o today.csv")]
    Logs(LogsArgs),
}

#[derive(Debug, Args)]
pub struct LogsArgs {
    /// The model's name.
    pub model: String,
    /// Only requests from this time on: RFC 3339 (2026-12-04T09:00:00Z)
    /// or a span back from now (90s, 15m, 2h, 7d).
    #[arg(long)]
    pub since: Option<String>,
    /// Write the log to this file, in the format its extension names
    /// (.parquet, .csv, .arrow); `-` or no -o: CSV on standard output.
    #[arg(short, long)]
    pub output: Option<PathBuf>,
    /// Add a `label` column: each row's label sent by `sluice feedback` or
    /// `POST /v2/models/NAME/feedback` (empty where none was).
    #[arg(long)]
    pub labels: bool,
}

#[derive(Debug, Args)]
#[command(
    after_help = "The file has a label column and, per row, a `request_id` (the\n\
    x-request-id of the response; with a `row` column for one row of a\n\
    many-row request) or a `key` (the request's sticky key). A later label\n\
    of the same request, row or key replaces an earlier one.\n\n\
    Example:\n  \
    sluice feedback churn outcomes.csv           # request_id,label\n  \
    sluice serve logs churn --labels -o joined.parquet"
)]
pub struct FeedbackArgs {
    /// The model's name.
    pub model: String,
    /// The labels: a .csv or .parquet file.
    pub file: PathBuf,
    /// The column holding the labels.
    #[arg(long, default_value = "label")]
    pub label_column: String,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
}

pub async fn feedback(home: &Workspace, args: FeedbackArgs) -> anyhow::Result<ExitCode> {
    let registry = super::models::registry(home).await?;
    if registry.versions(&args.model).await?.is_empty() {
        anyhow::bail!(
            "no model named `{}`; `sluice models list` shows the registered models",
            args.model
        );
    }
    let table = sluice::data::read_table(&args.file)?;
    let received_ms = chrono::Utc::now().timestamp_millis();
    let labels =
        sluice::serve::log::labels::labels_from_table(&table, &args.label_column, received_ms)
            .map_err(|e| anyhow::anyhow!("{}: {e}", args.file.display()))?;
    let meta = home.meta().await?;
    let file = sluice::serve::log::labels::attach(
        &meta,
        &home.artifacts()?,
        home.tenant_name(),
        &args.model,
        &labels,
        received_ms,
    )
    .await
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    if args.json {
        outln!(
            "{}",
            serde_json::json!({ "model": args.model, "accepted": file.rows, "digest": file.digest })
        );
    } else {
        outln!(
            "attached {} label(s) to model `{}` ({})",
            file.rows,
            args.model,
            file.digest
        );
    }
    Ok(ExitCode::SUCCESS)
}

async fn logs(home: &Workspace, args: LogsArgs) -> anyhow::Result<ExitCode> {
    sluice::registry::check_model_name(&args.model)
        .map_err(|e| anyhow::anyhow!("model `{}`: {e}", args.model))?;
    let since = args
        .since
        .as_deref()
        .map(sluice::serve::log::since_ms)
        .transpose()
        .map_err(|e| anyhow::anyhow!("--since: {e}"))?;
    let meta = home.meta().await?;
    let store = home.artifacts()?;
    let Some(mut batch) =
        sluice::serve::log::read(&meta, &store, home.tenant_name(), &args.model, since).await?
    else {
        errln!(
            "no requests of model `{}` are logged{}",
            args.model,
            args.since
                .as_deref()
                .map(|s| format!(" since {s}"))
                .unwrap_or_default()
        );
        return Ok(ExitCode::SUCCESS);
    };
    if args.labels {
        let labels =
            sluice::serve::log::labels::read_labels(&meta, &store, home.tenant_name(), &args.model)
                .await?;
        if let Some(labels) = labels {
            batch = sluice::serve::log::labels::join(&batch, &labels)
                .map_err(|e| anyhow::anyhow!("joining the labels of `{}`: {e}", args.model))?;
        } else {
            errln!("no labels were sent for model `{}`", args.model);
        }
    }
    let path = args.output.unwrap_or_else(|| PathBuf::from("-"));
    let bytes = if path.as_os_str() == "-" {
        sluice::data::write_csv(&batch)?
    } else {
        sluice::data::encode_table(&path, &batch)?
    };
    write_output_file(&path, &bytes)?;
    if path.as_os_str() != "-" {
        errln!(
            "wrote {} rows of model `{}`'s inference log to {}",
            batch.num_rows(),
            args.model,
            path.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn serve(home: &Workspace, args: ServeArgs) -> anyhow::Result<ExitCode> {
    if let Some(ServeCommand::Logs(logs_args)) = args.command {
        return logs(home, logs_args).await;
    }
    let auth = if args.no_auth {
        // The tenant must exist: fail now rather than at the first request.
        home.tenant_meta().await?;
        Auth::Open {
            tenant: home.tenant_name().to_owned(),
        }
    } else {
        if home.tenant_name() != sluice::tenants::DEFAULT_TENANT {
            anyhow::bail!(
                "--tenant applies with --no-auth only: with tokens, each request's token names its tenant"
            );
        }
        Auth::Tokens
    };
    let options = ServeOptions {
        default_model: args.model,
        max_body_bytes: args.max_body_mib.saturating_mul(1 << 20),
        request_timeout: Duration::from_millis(args.request_timeout_ms.max(1)),
        refresh: Duration::from_millis(args.refresh_ms.max(10)),
        auth,
        batch: sluice::serve::batch::BatchOptions {
            max_rows: usize::try_from(args.batch_max_rows).unwrap_or(usize::MAX),
            window: Duration::from_millis(args.batch_window_ms),
            parallel: args.batch_calls.map_or_else(
                || sluice::serve::batch::BatchOptions::default().parallel,
                |n| usize::try_from(n).unwrap_or(usize::MAX),
            ),
        },
        log: sluice::serve::log::LogOptions {
            enabled: !args.no_log,
            flush_every: Duration::from_millis(args.log_flush_ms),
            flush_rows: usize::try_from(args.log_flush_rows).unwrap_or(usize::MAX),
            buffer_bytes: usize::try_from(args.log_buffer_mib)
                .unwrap_or(usize::MAX)
                .saturating_mul(1 << 20),
        },
        triggers: !args.no_triggers,
        plugin_dirs: sluice::installed::search_dirs(&args.plugin_dirs),
    };
    let listener = tokio::net::TcpListener::bind(args.addr)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", args.addr))?;
    let addr = listener.local_addr()?;
    let server = Server::open(home.settings().clone(), options)
        .await
        .map_err(|e| anyhow::anyhow!("{}", e.message))?;
    outln!("listening on http://{addr}");
    if args.no_auth {
        errln!(
            "warning: --no-auth: every caller acts as tenant `{}`; listen only where callers are trusted",
            home.tenant_name()
        );
    }
    let loading = server.clone();
    tokio::spawn(async move {
        let started = std::time::Instant::now();
        let (loaded, failed) = loading.preload().await;
        for (model, e) in &failed {
            errln!("warning: model {model} did not load: {}", e.message);
        }
        outln!(
            "ready: {loaded} model(s) loaded in {:.0} ms",
            started.elapsed().as_secs_f64() * 1e3
        );
    });
    server.serve(listener, shutdown_signal()).await?;
    outln!("stopped: every request in flight was answered, and logged");
    Ok(ExitCode::SUCCESS)
}
