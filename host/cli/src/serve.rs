//! `sluice serve`: the registry's models over HTTP (the library's
//! `sluice::serve`), until SIGINT or SIGTERM.

use super::output::{errln, outln};
use clap::Args;
use sluice::Workspace;
use sluice::serve::tenancy::Auth;
use sluice::serve::{ServeOptions, Server, shutdown_signal};
use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

#[derive(Debug, Args)]
#[command(after_help = "Endpoints:\n  \
    GET  /v2, /v2/health/live, /v2/health/ready            Open Inference Protocol v2\n  \
    GET  /v2/models/NAME[/versions/V][/ready]              a model's metadata, readiness\n  \
    POST /v2/models/NAME[/versions/V]/infer                predict (tritonclient, KServe)\n  \
    POST /invocations, /models/NAME/invocations            MLflow's scoring protocol\n  \
    GET  /ping, /health, /version                          MLflow's probes\n\n\
    NAME is a model's `production` alias, NAME@ALIAS or NAME:VERSION. Model\n\
    requests need `Authorization: Bearer TOKEN` unless --no-auth.\n\n\
    Example:\n  \
    sluice tenants token create default    # prints TOKEN once\n  \
    sluice serve --addr 127.0.0.1:8080 --model churn\n  \
    curl -s localhost:8080/invocations -H \"authorization: Bearer $TOKEN\" \\\n       \
    -H 'content-type: application/json' \\\n       \
    -d '{\"dataframe_records\": [{\"tenure\": 3, \"charges\": 70.5}]}'")]
pub struct ServeArgs {
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
}

pub async fn serve(home: &Workspace, args: ServeArgs) -> anyhow::Result<ExitCode> {
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
    outln!("stopped: every request in flight was answered");
    Ok(ExitCode::SUCCESS)
}
