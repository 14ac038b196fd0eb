//! `sluice plugin inspect FILE.wasm` and `sluice plugin test FILE.wasm`

use super::output::{outln, print_json, table};
use clap::Subcommand;
use sluice::Workspace;
use sluice::wit;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, Subcommand)]
pub enum PluginCommand {
    /// Show a plugin's world, what its describe() says, and its imports.
    Inspect {
        /// A component file (.wasm), or the name of a plugin in the plugin
        /// directories (`sluice plugin list`).
        file: PathBuf,
        /// Print the answer as JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Run the conformance suite every plugin must pass. Exit codes: 0 every
    /// check passed, 1 a check failed, 2 bad input (the file cannot load).
    Test {
        /// A component file (.wasm), or the name of a plugin in the plugin
        /// directories (`sluice plugin list`).
        file: PathBuf,
        /// A trainer component whose model a validator or explainer calls.
        #[arg(long)]
        model: Option<PathBuf>,
        /// A value for a required param, NAME=VALUE (repeatable).
        #[arg(long = "param", value_name = "NAME=VALUE")]
        params: Vec<String>,
        /// A table of yours (CSV, Parquet, Arrow IPC) for the checks that
        /// call the plugin with a table, in place of the generated numeric
        /// one: for plugins of string or date columns.
        #[arg(long, value_name = "FILE")]
        input: Option<PathBuf>,
        /// The column of --input a trainer trains on (default: a column
        /// named `label`, if there is one).
        #[arg(long, value_name = "COLUMN", requires = "input")]
        target: Option<String>,
        /// Print the answer as JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// List the plugins pipelines can name without a path: the components
    /// in the plugin directories, in the order they are searched
    /// (--plugin-dir, SLUICE_PLUGIN_PATH, the user's, the installation's),
    /// with name, version, world and doc.
    List {
        /// More directories to search first, as `sluice run --plugin-dir`.
        #[arg(long = "plugin-dir", value_name = "DIR")]
        plugin_dirs: Vec<PathBuf>,
        /// Print the answer as JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Install plugins: copy components into the user's plugin directory
    /// ($XDG_DATA_HOME/sluice/plugins, else ~/.local/share/sluice/plugins)
    /// under the names their describe() gives, so pipelines name them
    /// without a path. Every component must load before any is copied.
    Add {
        /// Component files (.wasm), or directories whose .wasm files to add.
        #[arg(required = true, value_name = "FILE|DIR")]
        paths: Vec<PathBuf>,
        /// The plugin directory to add to, instead of the user's.
        #[arg(long, value_name = "DIR")]
        to: Option<PathBuf>,
        /// Replace a different component of the same name.
        #[arg(long)]
        force: bool,
        /// Print the answer as JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Remove a plugin `sluice plugin add` installed.
    Remove {
        /// The plugin's name.
        name: String,
        /// The plugin directory to remove it from, instead of the user's.
        #[arg(long, value_name = "DIR")]
        from: Option<PathBuf>,
    },
}

fn value_text(v: &wit::ParamValue) -> String {
    match v {
        wit::ParamValue::Number(f) => f.to_string(),
        wit::ParamValue::Integer(i) => i.to_string(),
        wit::ParamValue::Flag(b) => b.to_string(),
        wit::ParamValue::Text(s) => format!("{s:?}"),
        wit::ParamValue::Numbers(v) => format!("{v:?}"),
    }
}

pub async fn plugin(home: &Workspace, cmd: PluginCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        PluginCommand::Test {
            file,
            model,
            params,
            input,
            target,
            json,
        } => {
            super::conformance::test(
                home,
                super::plugins::component(file)?,
                model,
                params,
                input,
                target,
                json,
            )
            .await
        }
        PluginCommand::List { plugin_dirs, json } => {
            super::plugins::list(home, &plugin_dirs, json).await
        }
        PluginCommand::Add {
            paths,
            to,
            force,
            json,
        } => super::plugins::add(home, &paths, to, force, json).await,
        PluginCommand::Remove { name, from } => super::plugins::remove(&name, from),
        PluginCommand::Inspect { file, json } => {
            let file = super::plugins::component(file)?;
            let runtime = home.runtime().await?;
            let started = std::time::Instant::now();
            let plugin = {
                let file = file.clone();
                tokio::task::spawn_blocking(move || runtime.load(&file)).await??
            };
            let load_ms = started.elapsed().as_secs_f64() * 1000.0;
            let params: Vec<serde_json::Value> = plugin
                .info
                .params
                .iter()
                .map(|p| {
                    serde_json::json!({
                        "name": p.name,
                        "kind": p.kind,
                        "default": p.default.as_ref().map(sluice::pipeline::params::param_json),
                        "required": p.default.is_none(),
                        "doc": p.doc,
                        "choices": p.choices,
                        "range": p.range.as_ref().map(|r| serde_json::json!({
                            "min": r.min,
                            "max": r.max,
                            "min_inclusive": r.min_inclusive,
                            "max_inclusive": r.max_inclusive,
                        })),
                        "allowed": sluice::pipeline::params::allowed(p),
                    })
                })
                .collect();
            if json {
                print_json(&serde_json::json!({
                    "file": file.display().to_string(),
                    "sha256": plugin.sha256,
                    "world": plugin.world,
                    "name": plugin.info.name,
                    "version": plugin.info.version,
                    "doc": plugin.info.doc,
                    "params": params,
                    "metrics": plugin.info.metrics,
                    "imports": plugin.imports,
                    "exports_holding": plugin.exports_holding(),
                    "compiled": format!("{:?}", plugin.compile_source).to_lowercase(),
                    "load_ms": load_ms,
                }))?;
            } else {
                outln!("file      {}", file.display());
                outln!("sha256    {}", plugin.sha256);
                if plugin.world == sluice::runtime::World::Trainer {
                    // Whether an explainer's predict-replacing sends it only
                    // the new columns (docs/pipelines.md).
                    let holding = if plugin.exports_holding() {
                        "trainer, exports holding"
                    } else {
                        "trainer (no holding export: the host holds tables for it)"
                    };
                    outln!("world     {holding}");
                } else {
                    outln!("world     {}", plugin.world);
                }
                outln!("plugin    {}@{}", plugin.info.name, plugin.info.version);
                outln!(
                    "loaded    {:.1} ms ({})",
                    load_ms,
                    format!("{:?}", plugin.compile_source).to_lowercase()
                );
                if !plugin.info.doc.is_empty() {
                    outln!("\n{}\n", plugin.info.doc);
                }
                let mut t = table(&["param", "kind", "default", "allowed", "doc"]);
                for p in &plugin.info.params {
                    t.add_row(vec![
                        p.name.clone(),
                        p.kind.clone(),
                        p.default
                            .as_ref()
                            .map(value_text)
                            .unwrap_or_else(|| "(required)".into()),
                        sluice::pipeline::params::allowed(p).unwrap_or_else(|| "any".into()),
                        p.doc.clone(),
                    ]);
                }
                outln!("{t}");
                if !plugin.info.metrics.is_empty() {
                    outln!("metrics:  {}", plugin.info.metrics.join(", "));
                }
                outln!("imports:");
                for i in &plugin.imports {
                    outln!("  {i}");
                }
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}
