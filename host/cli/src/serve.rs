//! `sluice serve`: the registry's models over HTTP (the library's
//! `sluice::serve`), until SIGINT or SIGTERM.

use super::output::{errln, outln};
use clap::Args;
use sluice::Workspace;
use sluice::registry::Registry;
use sluice::runtime::StepLimits;
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
    NAME is a model's `production` alias, NAME@ALIAS or NAME:VERSION.\n\n\
    Example:\n  \
    sluice serve --addr 127.0.0.1:8080 --model churn\n  \
    curl -s localhost:8080/invocations -H 'content-type: application/json' \\\n       \
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
}

pub async fn serve(home: &Workspace, args: ServeArgs) -> anyhow::Result<ExitCode> {
    let (meta, tenant) = home.tenant_meta().await?;
    let registry = Registry::for_tenant(meta, home.artifacts()?, &tenant.name);
    let runtime = home.runtime_for(&tenant)?;
    let defaults = StepLimits::default();
    // Every plugin call of a request runs under the tenant's caps.
    let limits = StepLimits {
        memory_mib: defaults.memory_mib.min(tenant.caps.memory_mib),
        timeout_ms: defaults.timeout_ms.min(tenant.caps.timeout_ms),
        fuel: tenant.caps.fuel,
        log_kib: defaults.log_kib.min(tenant.caps.log_kib),
        output_mib: defaults.output_mib.min(tenant.caps.output_mib),
        ..defaults
    };
    let options = ServeOptions {
        default_model: args.model,
        max_body_bytes: args.max_body_mib.saturating_mul(1 << 20),
        request_timeout: Duration::from_millis(args.request_timeout_ms.max(1)),
        refresh: Duration::from_millis(args.refresh_ms.max(10)),
        limits,
    };
    let listener = tokio::net::TcpListener::bind(args.addr)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", args.addr))?;
    let addr = listener.local_addr()?;
    let server = Server::new(registry, runtime, options);
    outln!("listening on http://{addr}");
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
