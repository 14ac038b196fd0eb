//! The `sluice` command line: clap definitions, one file per subcommand,
//! over the `sluice` library. Printing lives here only, through `output`
//! (escaped; see there).
#![deny(clippy::print_stdout, clippy::print_stderr)]

mod archive;
mod artifacts;
mod build;
mod compile;
mod conformance;
mod gc;
mod inspect;
mod lineage;
mod models;
mod models_view;
mod monitor;
mod new;
mod output;
mod output_file;
mod pipelines;
mod plugins;
mod predict;
mod prune;
mod rollout;
mod run;
mod runs;
mod runs_checks;
mod runs_explain;
mod serve;
mod store;
mod tenants;
mod triggers;

use clap::{Parser, Subcommand};
use output::errln;
use std::path::PathBuf;
use std::process::ExitCode;

/// sluice runs machine-learning pipeline steps as sandboxed WebAssembly
/// components: microsecond steps, nothing granted by default, reproducible
/// to the byte, every artifact content-addressed and every run recorded.
#[derive(Debug, Parser)]
#[command(
    name = "sluice",
    version,
    about,
    long_about = None,
    after_help = "Examples:\n  sluice run pipelines/breast-cancer.toml        run and record a pipeline\n  sluice runs list                               recorded runs, newest first\n  sluice runs show RUN --logs                    one run's steps, metrics and logs\n  sluice artifacts get DIGEST -o model.bin       an artifact's bytes\n  sluice plugin inspect target/wasm32-wasip2/release/logreg.wasm\n\nExit codes: 0 success, 1 the run failed, 2 bad input or usage."
)]
pub struct Cli {
    /// Where artifacts, the metadata database and the compile cache live.
    #[arg(long, global = true, env = "SLUICE_HOME", default_value = ".sluice")]
    pub home: PathBuf,

    /// The tenant to act as: runs, artifacts and models of other tenants
    /// are invisible, and the tenant's caps bound every step. A claim, not
    /// a proof: it scopes what a command sees, and acting as a tenant may
    /// not create tenants or change caps.
    #[arg(long, global = true, env = "SLUICE_TENANT", default_value = "default")]
    pub tenant: String,

    /// Where artifacts live: `s3://BUCKET/PREFIX` (settings from AWS_ENDPOINT,
    /// AWS_REGION, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_ALLOW_HTTP)
    /// or a directory; default HOME/artifacts.
    #[arg(long, global = true, env = "SLUICE_STORE")]
    pub store: Option<String>,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a pipeline file end to end and record the run.
    Run(run::RunArgs),
    /// Continue a failed or interrupted run from its last completed steps
    /// (the pipeline file must be unchanged).
    Resume(run::ResumeArgs),
    /// Re-hash every output a run stored, re-execute every step without the
    /// cache and compare each output byte for byte with the recorded
    /// digests; exit 1 on any difference or damaged stored output.
    Verify(run::VerifyArgs),
    /// List, inspect, delete and prune recorded runs.
    #[command(subcommand)]
    Runs(runs::RunsCommand),
    /// Read artifacts from the content-addressed store.
    #[command(subcommand)]
    Artifacts(artifacts::ArtifactsCommand),
    /// Plugins: list, install, inspect and test components.
    #[command(subcommand)]
    Plugin(inspect::PluginCommand),
    /// The model registry: versions, aliases, gated promotion, rollback,
    /// audit history, model cards.
    #[command(subcommand)]
    Models(models::ModelsCommand),
    /// Predict with a registered model, in the sandbox, through its chain
    /// of fitted transforms.
    Predict(predict::PredictArgs),
    /// Serve the registry's models over HTTP: the Open Inference Protocol
    /// v2 (KServe, Triton, MLServer clients) and MLflow's scoring protocol,
    /// each request run in the sandbox as `predict` runs it, until SIGINT
    /// or SIGTERM (requests in flight are answered first).
    Serve(serve::ServeArgs),
    /// Attach true labels to a served model's logged requests, from a CSV
    /// or Parquet file naming each request by `request_id` (and `row`) or
    /// by `key`: what monitoring and `sluice serve logs --labels` join.
    Feedback(serve::FeedbackArgs),
    /// Watch served models: evaluate a model's monitor (drift, prediction
    /// drift, performance on labels, CBPE, service health, any validator)
    /// on its logged traffic, show the recorded results and alerts, write
    /// an HTML report. `sluice serve` runs the monitors window by window.
    #[command(subcommand)]
    Monitor(monitor::MonitorCommand),
    /// What starts runs on its own: the schedules, data and alerts a
    /// pipeline file's [triggers] watch (armed when the file runs), their
    /// firings and the runs they started. `sluice serve` fires them too.
    #[command(subcommand)]
    Triggers(triggers::TriggersCommand),
    /// Tenants and their caps (memory, time, fuel, output, log, concurrency,
    /// storage, granted directories).
    ///
    /// `--tenant` is a claim of whose view to act in, not a proof of who is
    /// asking. In a local home the OS user who can write it owns every
    /// tenant in it (nothing in sluice can stop them editing its database).
    /// Creating tenants and changing caps is an admin operation: run
    /// `tenants create|set` as the home's owner, without --tenant or
    /// SLUICE_TENANT; acting as another tenant is refused. A shared server
    /// will take it only from an authenticated admin credential.
    #[command(subcommand)]
    Tenants(tenants::TenantsCommand),
    /// Build a plugin project (Rust, Python, JavaScript or C) into a component.
    Build(build::BuildArgs),
    /// Create a plugin project: --lang rust|python|js|c --kind validator|transform|trainer|explainer NAME.
    New(new::NewArgs),
    /// The lineage of an artifact: the step run that made it and that
    /// step's inputs, recursively (or, with --downstream, what was made
    /// from it).
    Lineage(lineage::LineageArgs),
    /// Recorded pipeline versions and their runs.
    #[command(subcommand)]
    Pipelines(pipelines::PipelinesCommand),
    /// Delete artifacts no run, step or model version refers to (dry run
    /// unless --yes).
    Gc(gc::GcArgs),
    /// Check the artifact store: re-hash every object, report the runs and
    /// model versions a corrupt or missing one affects (`store check`).
    #[command(subcommand)]
    Store(store::StoreCommand),
    /// Compile one component for the runtime, in a bounded child process.
    #[command(name = "__compile", hide = true)]
    Compile(compile::CompileArgs),
}

/// An error and its causes, joined by `: `, leaving out a cause whose text
/// the message already holds (many errors name their source in their own
/// text, and `{:#}` would repeat it).
fn error_message(e: &anyhow::Error) -> String {
    let mut message = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        if message.contains(&text) {
            continue;
        }
        if !message.is_empty() {
            message.push_str(": ");
        }
        message.push_str(&text);
    }
    message
}

/// mimalloc, not glibc's malloc. A run moves tables of hundreds of MB
/// through host buffers (a dataset decoded and split, tables lowered into
/// sandboxes and lifted out, outputs encoded as Parquet), and on a VM that
/// gives freed memory back to its hypervisor every fresh 4 KiB page costs a
/// fault there. mimalloc takes large allocations from arenas in transparent
/// huge pages (2 MiB, one fault where 4 KiB pages took 512), and with
/// purging off (below) reuses what a step freed for the next one. That took
/// most of the page faults and of the system time off the 1M-row e2e
/// benchmark, against glibc tuned as before (docs/benchmarks.md;
/// benches/results/2026-11-27-e2e-4-direct-writes-mimalloc.md, change 2).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Exit codes: 0 success, 1 the run or check failed, 2 bad usage or input.
fn main() -> ExitCode {
    keep_freed_memory();
    let cli = Cli::parse();
    output::init_tracing();
    // The compiling child needs neither the async runtime nor a home.
    let command = match cli.command {
        Command::Compile(args) => return compile::compile(args),
        command => command,
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            errln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(2);
        }
    };
    let mut settings = sluice::WorkspaceSettings::new(cli.home.clone())
        .tenant(cli.tenant.clone())
        .compiler(sluice::runtime::Compiler::this_executable());
    settings.store = cli.store.clone();
    settings.read_only = reads_only(&command);
    let home = match settings.open() {
        Ok(home) => home,
        Err(sluice::WorkspaceError::TenantName { message, .. }) => {
            errln!("error: --tenant: {message}");
            return ExitCode::from(2);
        }
        Err(e) => {
            errln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    // Said only where there is no directory at all: an empty one given on
    // purpose (a new home) is a home with nothing recorded yet.
    if home.is_absent() && !home.home().exists() && !matches!(command, Command::Plugin(_)) {
        errln!(
            "note: no sluice home at {} (nothing recorded; --home or SLUICE_HOME names \
             another); nothing was created",
            home.home().display()
        );
    }
    let result = runtime.block_on(async move {
        let result = match command {
            Command::Run(args) => run::run(&home, args).await,
            Command::Resume(args) => run::resume(&home, args).await,
            Command::Verify(args) => run::verify(&home, args).await,
            Command::Runs(cmd) => runs::runs(&home, cmd).await,
            Command::Artifacts(cmd) => artifacts::artifacts(&home, cmd).await,
            Command::Plugin(cmd) => inspect::plugin(&home, cmd).await,
            Command::Models(cmd) => models::models(&home, cmd).await,
            Command::Predict(args) => predict::predict(&home, args).await,
            Command::Serve(args) => serve::serve(&home, args).await,
            Command::Feedback(args) => serve::feedback(&home, args).await,
            Command::Monitor(cmd) => monitor::monitor(&home, cmd).await,
            Command::Triggers(cmd) => triggers::triggers(&home, cmd).await,
            Command::Tenants(cmd) => tenants::tenants(&home, cmd).await,
            Command::Build(args) => build::run(args).await,
            Command::New(args) => new::run(args),
            Command::Lineage(args) => lineage::lineage(&home, args).await,
            Command::Pipelines(cmd) => pipelines::pipelines(&home, cmd).await,
            Command::Gc(args) => gc::gc(&home, args).await,
            Command::Store(cmd) => store::store(&home, cmd).await,
            Command::Compile(_) => unreachable!("handled before the async runtime starts"),
        };
        home.close().await;
        result
    });
    // A plugin stopped at its time limit while its WASI file open waited
    // (a FIFO in a granted directory) leaves that open on a blocking
    // thread, where no one can cancel it. Dropping the runtime would wait
    // for it forever: give the rest a moment and leave it behind.
    runtime.shutdown_timeout(std::time::Duration::from_millis(200));
    let code = match result {
        Ok(code) => code,
        Err(e) => {
            errln!("error: {}", error_message(&e));
            // A promotion its gates refused is an answer, not bad input.
            match e.downcast_ref::<sluice::registry::RegistryError>() {
                Some(sluice::registry::RegistryError::GateFailed { .. }) => ExitCode::from(1),
                _ => ExitCode::from(2),
            }
        }
    };
    match output::stdout_failure() {
        Some(e) => {
            errln!("error: cannot write to standard output: {e}");
            ExitCode::from(2)
        }
        None => code,
    }
}

/// Whether `command` only reads the home: a home that is not there is then
/// not created (it answers as an empty one).
fn reads_only(command: &Command) -> bool {
    use models::ModelsCommand as M;
    use tenants::{TenantsCommand as T, TokenCommand};
    match command {
        Command::Runs(cmd) => matches!(
            cmd,
            runs::RunsCommand::List { .. }
                | runs::RunsCommand::Show { .. }
                | runs::RunsCommand::Diff { .. }
        ),
        Command::Models(cmd) => matches!(
            cmd,
            M::List { .. }
                | M::Show { .. }
                | M::Compare { .. }
                | M::History { .. }
                | M::Card { .. }
        ),
        Command::Tenants(cmd) => matches!(
            cmd,
            T::List { .. } | T::Show { .. } | T::Token(TokenCommand::List { .. })
        ),
        Command::Triggers(cmd) => !matches!(cmd, triggers::TriggersCommand::Run(_)),
        Command::Monitor(cmd) => matches!(cmd, monitor::MonitorCommand::Show(_)),
        Command::Gc(args) => !args.yes,
        Command::Artifacts(_)
        | Command::Plugin(_)
        | Command::Predict(_)
        | Command::Lineage(_)
        | Command::Pipelines(_) => true,
        _ => false,
    }
}

/// mimalloc's `purge_delay` option (`mi_option_purge_delay` in mimalloc.h).
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;
/// Its default, 1000 ms.
const MI_DEFAULT_PURGE_DELAY: std::ffi::c_long = 1000;

/// Freed memory stays with the process instead of being handed back to the
/// kernel 1 s later: steps seconds apart reuse it warm (purging added page
/// faults and seconds to the e2e benchmark: docs/benchmarks.md;
/// benches/results/2026-11-27-e2e-4-direct-writes-mimalloc.md, change 2).
/// A `sluice` process
/// lives for one command, so what it keeps is at most its peak. A
/// `MIMALLOC_PURGE_DELAY` in the environment other than the default wins.
fn keep_freed_memory() {
    // SAFETY: mimalloc's option calls only read and set its option table;
    // called before any other thread exists.
    unsafe {
        if libmimalloc_sys::mi_option_get(MI_OPTION_PURGE_DELAY) == MI_DEFAULT_PURGE_DELAY {
            libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, -1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Cli;
    use clap::CommandFactory;

    /// Every argument and subcommand of every command, the paths of those
    /// `--help` leaves undescribed.
    fn undescribed(cmd: &clap::Command, path: &str, out: &mut Vec<String>) {
        for arg in cmd.get_arguments() {
            let id = arg.get_id().as_str();
            if id == "help" || id == "version" {
                continue;
            }
            if arg.get_help().is_none() && arg.get_long_help().is_none() {
                out.push(format!("{path} --{id}"));
            }
        }
        for sub in cmd.get_subcommands() {
            let sub_path = format!("{path} {}", sub.get_name());
            if sub.get_about().is_none() && sub.get_long_about().is_none() {
                out.push(sub_path.clone());
            }
            undescribed(sub, &sub_path, out);
        }
    }

    #[test]
    fn every_command_and_argument_is_described_in_its_help() {
        let mut missing = Vec::new();
        undescribed(&Cli::command(), "sluice", &mut missing);
        assert!(
            missing.is_empty(),
            "undescribed in --help:\n{}",
            missing.join("\n")
        );
    }
}
