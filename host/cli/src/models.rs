//! `sluice models ...`: the model registry.

use super::output::{
    errln, escape_controls, fmt_metric, json_text, outln, print_json, table, write_out,
};
use super::output_file::{is_stdout, write_output_file};
use clap::Subcommand;
use sluice::Workspace;
use sluice::registry::{Mirror, ModelSpec, Registry, aliases_at, default_actor, parse_time};
use std::path::PathBuf;
use std::process::ExitCode;

use super::models_view::{compare_rows, model_card, print_version, top_features};

#[derive(Debug, Subcommand)]
pub enum ModelsCommand {
    /// List registered models with their versions and aliases (archived
    /// versions are not counted).
    List {
        /// Also count and name archived versions, and list models whose
        /// every version is archived.
        #[arg(long)]
        all: bool,
        /// Print the answer as JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Archive a version (NAME:VERSION): hidden from `models list` and
    /// not the latest, it holds no alias (one pointing at it is refused,
    /// named) and no longer keeps its run from `sluice runs prune`; its
    /// model stays stored. Recorded in the audit history.
    Archive(super::archive::ArchiveArgs),
    /// Bring an archived version back (NAME:VERSION), recorded in the
    /// audit history.
    Unarchive(super::archive::ArchiveArgs),
    /// Show a model (NAME: its versions) or one version (NAME:VERSION,
    /// NAME@ALIAS): chain, trainer, metrics, data, lineage.
    Show {
        /// NAME, NAME:VERSION or NAME@ALIAS.
        spec: String,
        /// Print the answer as JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Compare two versions: metrics, params, plugins and data side by side.
    #[command(after_help = "Examples:\n  \
        sluice models compare churn:3 churn:4\n  \
        sluice models compare churn@production churn:5\n  \
        sluice models compare churn 3 4")]
    Compare {
        /// The two versions, each NAME:VERSION or NAME@ALIAS; or NAME
        /// then the two version numbers.
        #[arg(num_args = 2..=3, required = true, value_name = "VERSION")]
        versions: Vec<String>,
        /// Print the answer as JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Register a trainer step of a recorded run as a new model version.
    Register {
        /// The run: its id, or a unique prefix of one.
        run: String,
        /// The trainer step of that run whose model is registered.
        step: String,
        /// The model's name (created at its first version).
        #[arg(long)]
        name: String,
        /// Promotion gates (replace the model's gates), e.g.
        /// "evaluate.roc_auc >= 0.9". Repeatable.
        #[arg(long = "gate")]
        gates: Vec<String>,
        /// Print the answer as JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Point an alias at a version, after re-hashing its stored model,
    /// fitted states and plugin components and checking the model's gates.
    #[command(after_help = "Examples:\n  \
        sluice models promote churn:4 --to production\n  \
        sluice models promote churn@staging --to production\n  \
        sluice models promote churn 4 --to production")]
    Promote {
        /// The version: NAME:VERSION or NAME@ALIAS (the version the alias
        /// holds), or NAME with the version number after it.
        #[arg(value_name = "MODEL")]
        name: String,
        /// The version number, when MODEL is a bare name.
        version: Option<String>,
        /// The alias, e.g. staging or production.
        #[arg(long = "to")]
        alias: String,
        /// Why (recorded in the audit history; required with --force).
        #[arg(long, default_value = "")]
        reason: String,
        /// Promote even when a gate fails (recorded as forced).
        #[arg(long)]
        force: bool,
        /// Who is acting (default: SLUICE_ACTOR or the login name).
        #[arg(long)]
        actor: Option<String>,
        /// Print the answer as JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Move an alias back to the version that held it before.
    Rollback {
        /// The model's name.
        name: String,
        /// The alias to move back, e.g. production.
        #[arg(long)]
        alias: String,
        /// Why (recorded in the audit history).
        #[arg(long, default_value = "")]
        reason: String,
        /// Who is acting (default: SLUICE_ACTOR or the login name).
        #[arg(long)]
        actor: Option<String>,
        /// Print the answer as JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Show or change how `sluice serve` shares the model's traffic:
    /// weighted splits between aliases or versions (A/B), a sticky key,
    /// shadow traffic. Without options, prints the route in force. Options
    /// change only the parts they name; every change is audited.
    #[command(after_help = "Examples:\n  \
        sluice models route churn --split production=90,canary=10 --key customer_id\n  \
        sluice models route churn --mirror staging=5 --reason 'shadow the retrained model'\n  \
        sluice models route churn --clear")]
    Route {
        /// The model's name.
        name: String,
        /// Weights by arm (an alias, or vN for version N), e.g.
        /// production=90,canary=10. Requests for the bare name go to one
        /// arm each, sticky by their key.
        #[arg(long, value_delimiter = ',', value_name = "ARM=WEIGHT")]
        split: Vec<String>,
        /// The input column whose value is a request's sticky key when it
        /// has no x-sluice-key header.
        #[arg(long, value_name = "COLUMN", conflicts_with = "no_key")]
        key: Option<String>,
        /// Route without a key column (x-sluice-key still counts).
        #[arg(long)]
        no_key: bool,
        /// Also answer PERCENT of requests with ARM, as a shadow: its
        /// answers are counted and logged, never returned. E.g. staging=5.
        #[arg(long, value_name = "ARM=PERCENT", conflicts_with = "no_mirror")]
        mirror: Option<String>,
        /// Stop mirroring.
        #[arg(long)]
        no_mirror: bool,
        /// Request columns to echo beside every answer.
        #[arg(long, value_delimiter = ',', value_name = "COLUMN")]
        passthrough: Option<Vec<String>>,
        /// Remove the route: bare-name requests go to `production`.
        #[arg(long, conflicts_with_all = ["split", "key", "mirror", "passthrough"])]
        clear: bool,
        /// Why (recorded in the audit history).
        #[arg(long, default_value = "")]
        reason: String,
        /// Who is acting (default: SLUICE_ACTOR or the login name).
        #[arg(long)]
        actor: Option<String>,
        /// Print the answer as JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Roll a version out to an alias step by step (progressive
    /// delivery), judged each interval against the alias's version on the
    /// same window; `sluice serve` carries it out. `status`, `pause`,
    /// `resume` or `abort` then NAME act on the rollout going on.
    #[command(after_help = "Examples:\n  \
        sluice models rollout churn:4 --to production\n  \
        sluice models rollout churn:4 --steps 10,50,100 --interval 10m --min-requests 500 \\\n      \
        --check 'performance.accuracy >= production - 0.01' --check 'service.p99_ms <= 1.2 * production'\n  \
        sluice models rollout status churn\n  \
        sluice models rollout abort churn")]
    Rollout(super::rollout::RolloutArgs),
    /// The audit history: registrations, promotions, forced promotions,
    /// rollbacks, route changes. With --at, which version each alias held
    /// at that time.
    History {
        /// The model's name.
        name: String,
        /// A time (RFC 3339 or "YYYY-MM-DD HH:MM:SS", UTC).
        #[arg(long)]
        at: Option<String>,
        /// Print the answer as JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// A model card (Markdown, or --json) for one version.
    Card {
        /// The version: NAME (its latest), NAME:VERSION or NAME@ALIAS, or
        /// NAME with the version number after it.
        #[arg(value_name = "MODEL")]
        name: String,
        /// The version number, when MODEL is a bare name.
        version: Option<String>,
        /// Print the answer as JSON instead of text.
        #[arg(long)]
        json: bool,
        /// Write to a file instead of standard output, replacing a regular
        /// file there (a symlink, device or FIFO is refused).
        #[arg(short, long)]
        output: Option<PathBuf>,
    },
}

/// The version a command names, in the one address syntax of the registry:
/// `NAME:VERSION` or `NAME@ALIAS` (a bare `NAME`, its latest version, only
/// where `latest` allows), or the older `NAME VERSION` as two arguments.
pub(crate) async fn named_version(
    reg: &Registry,
    model: &str,
    version: Option<&str>,
    latest: bool,
) -> anyhow::Result<sluice::registry::ModelVersion> {
    let spec = match version {
        Some(v) => {
            let number = v.trim_start_matches('v').parse().map_err(|_| {
                anyhow::anyhow!("`{v}` is not a version number (give NAME:VERSION, e.g. churn:4)")
            })?;
            if model.contains([':', '@']) {
                anyhow::bail!(
                    "`{model}` already names a version: give NAME:VERSION alone, or NAME VERSION"
                );
            }
            ModelSpec::Version(model.to_owned(), number)
        }
        None => ModelSpec::parse(model)?,
    };
    if let (ModelSpec::Latest(name), false) = (&spec, latest) {
        anyhow::bail!(
            "`{name}` names no version: give NAME:VERSION (e.g. {name}:4) or NAME@ALIAS \
             (e.g. {name}@staging)"
        );
    }
    Ok(reg.resolve(&spec).await?)
}

/// What a `route` line of the history set, for people.
fn route_detail(e: &sluice::registry::AuditEvent) -> Option<String> {
    if e.action != "route" {
        return None;
    }
    Some(
        match serde_json::from_str::<sluice::registry::ServingPolicy>(&e.detail) {
            Ok(p) => format!("route: {}", p.summary()),
            Err(_) => "route cleared".to_owned(),
        },
    )
}

/// `ARM=NUMBER` of option `option`.
fn parse_pair(text: &str, option: &str, form: &str) -> anyhow::Result<(String, f64)> {
    let (arm, number) = text
        .split_once('=')
        .ok_or_else(|| anyhow::anyhow!("{option} {text}: write {form}"))?;
    let number: f64 = number
        .trim()
        .parse()
        .map_err(|_| anyhow::anyhow!("{option} {text}: `{number}` is not a number"))?;
    Ok((arm.trim().to_owned(), number))
}

pub async fn registry(home: &Workspace) -> anyhow::Result<Registry> {
    let (meta, tenant) = home.tenant_meta().await?;
    Ok(Registry::for_tenant(meta, home.artifacts()?, &tenant.name))
}

pub async fn models(home: &Workspace, cmd: ModelsCommand) -> anyhow::Result<ExitCode> {
    let reg = registry(home).await?;
    match cmd {
        ModelsCommand::Archive(args) => return super::archive::archive(&reg, args, true).await,
        ModelsCommand::Unarchive(args) => {
            return super::archive::archive(&reg, args, false).await;
        }
        ModelsCommand::List { all, json } => {
            let list = reg.list_with(all).await?;
            if json {
                print_json(&list)?;
            } else if list.is_empty() {
                outln!("no models registered in {}", home.home().display());
            } else {
                let mut t = table(&["model", "versions", "latest", "aliases", "gates"]);
                for m in &list {
                    let archived: Vec<String> =
                        m.archived.iter().map(|v| format!("v{v}")).collect();
                    t.add_row(vec![
                        m.name.clone(),
                        if archived.is_empty() {
                            m.versions.to_string()
                        } else {
                            format!("{} ({} archived)", m.versions, archived.join(" "))
                        },
                        m.latest.to_string(),
                        m.aliases
                            .iter()
                            .map(|(a, v)| format!("{a}=v{v}"))
                            .collect::<Vec<_>>()
                            .join(" "),
                        m.gates.join("\n"),
                    ]);
                }
                outln!("{t}");
            }
        }
        ModelsCommand::Show { spec, json } => {
            let spec = ModelSpec::parse(&spec)?;
            if let ModelSpec::Latest(name) = &spec {
                let gates = reg.gates(name).await?;
                let versions = reg.versions(name).await?;
                let aliases = reg.aliases(name).await?;
                let archived = reg.archived(name).await?;
                let mut all = Vec::new();
                for v in &versions {
                    all.push(reg.version(name, *v).await?);
                }
                if json {
                    print_json(&serde_json::json!({
                        "name": name,
                        "gates": gates,
                        "route": reg.serving(name).await?,
                        "aliases": aliases,
                        "archived": archived,
                        "versions": all,
                    }))?;
                } else {
                    outln!("model {name}");
                    outln!("gates {}", gates.join("; "));
                    if let Some(route) = reg.serving(name).await? {
                        outln!("route {}", route.summary());
                    }
                    let mut t = table(&[
                        "version", "aliases", "run", "pipeline", "created", "metrics",
                    ]);
                    for v in &all {
                        t.add_row(vec![
                            v.version.to_string(),
                            if archived.contains(&v.version) {
                                "(archived)".to_owned()
                            } else {
                                aliases
                                    .iter()
                                    .filter(|(_, x)| **x == v.version)
                                    .map(|(a, _)| a.clone())
                                    .collect::<Vec<_>>()
                                    .join(" ")
                            },
                            v.run_id.clone(),
                            format!("{} v{}", v.pipeline_name, v.pipeline_version),
                            v.created_at.clone(),
                            v.metrics
                                .iter()
                                .map(|(k, m)| format!("{k}={}", fmt_metric(*m)))
                                .collect::<Vec<_>>()
                                .join("\n"),
                        ]);
                    }
                    outln!("{t}");
                }
            } else {
                let v = reg.resolve(&spec).await?;
                if json {
                    print_json(&v)?;
                } else {
                    print_version(&v);
                }
            }
        }
        ModelsCommand::Compare { versions, json } => {
            let (a, b) = match versions.as_slice() {
                [name, v1, v2] => (
                    named_version(&reg, name, Some(v1), false).await?,
                    named_version(&reg, name, Some(v2), false).await?,
                ),
                [a, b] => (
                    named_version(&reg, a, None, false).await?,
                    named_version(&reg, b, None, false).await?,
                ),
                _ => unreachable!("clap takes two or three"),
            };
            let rows = compare_rows(&a, &b);
            let (v1, v2) = (a.version, b.version);
            if json {
                print_json(&serde_json::json!({
                    "name": a.name,
                    "names": [&a.name, &b.name],
                    "versions": [v1, v2],
                    "rows": rows.iter().map(|(k, x, y)| serde_json::json!({"field": k, "a": x, "b": y, "same": x == y})).collect::<Vec<_>>(),
                }))?;
            } else {
                let head = |v: &sluice::registry::ModelVersion| match a.name == b.name {
                    true => format!("v{}", v.version),
                    false => format!("{}:{}", v.name, v.version),
                };
                let mut t = table(&["field", &head(&a), &head(&b), ""]);
                for (k, x, y) in rows {
                    let mark = if x == y { "" } else { "≠" };
                    t.add_row(vec![k, x, y, mark.to_string()]);
                }
                outln!("{t}");
            }
        }
        ModelsCommand::Register {
            run,
            step,
            name,
            gates,
            json,
        } => {
            let gates = (!gates.is_empty()).then_some(gates);
            let registration = reg
                .register(&run, &step, &name, gates.as_deref(), &default_actor())
                .await?;
            let v = registration.version;
            if json {
                let mut shown = serde_json::to_value(&v)?;
                if registration.reused {
                    shown["reused"] = true.into();
                }
                print_json(&shown)?;
            } else if registration.reused {
                outln!(
                    "reused {}:{} (identical model): run {} step {step} made the same model \
                     as run {} step {}",
                    v.name,
                    v.version,
                    run,
                    v.run_id,
                    v.step_id
                );
            } else {
                outln!(
                    "registered {} v{} from run {} step {}",
                    v.name,
                    v.version,
                    v.run_id,
                    v.step_id
                );
            }
        }
        ModelsCommand::Promote {
            name,
            version,
            alias,
            reason,
            force,
            actor,
            json,
        } => {
            let actor = actor.unwrap_or_else(default_actor);
            let v = named_version(&reg, &name, version.as_deref(), false).await?;
            let name = v.name;
            let p = reg
                .promote(&name, v.version, &alias, &reason, force, &actor)
                .await?;
            if json {
                print_json(&p)?;
            } else {
                for g in &p.gates {
                    outln!(
                        "  {} {}: {}",
                        if g.passed { "✓" } else { "✗" },
                        g.gate,
                        g.detail
                    );
                }
                outln!(
                    "{name}@{alias}: {} -> v{}{}",
                    p.from_version
                        .map(|v| format!("v{v}"))
                        .unwrap_or_else(|| "none".into()),
                    p.to_version,
                    if p.forced {
                        " (forced past failing gates)"
                    } else {
                        ""
                    }
                );
            }
        }
        ModelsCommand::Rollback {
            name,
            alias,
            reason,
            actor,
            json,
        } => {
            let actor = actor.unwrap_or_else(default_actor);
            let p = reg.rollback(&name, &alias, &reason, &actor).await?;
            if json {
                print_json(&p)?;
            } else {
                outln!(
                    "{name}@{alias}: rolled back v{} -> v{}",
                    p.from_version.unwrap_or_default(),
                    p.to_version
                );
            }
        }
        ModelsCommand::Route {
            name,
            split,
            key,
            no_key,
            mirror,
            no_mirror,
            passthrough,
            clear,
            reason,
            actor,
            json,
        } => {
            let current = reg.serving(&name).await?;
            let changes = !split.is_empty()
                || key.is_some()
                || no_key
                || mirror.is_some()
                || no_mirror
                || passthrough.is_some()
                || clear;
            let policy = if !changes {
                current
            } else if clear {
                reg.route(&name, None, &reason, &actor.unwrap_or_else(default_actor))
                    .await?;
                None
            } else {
                let mut p = current.unwrap_or_default();
                if !split.is_empty() {
                    p.split.clear();
                    for arm in &split {
                        let (a, w) = parse_pair(arm, "--split", "ARM=WEIGHT")?;
                        p.split.insert(a, w);
                    }
                }
                if no_key {
                    p.key = None;
                }
                if key.is_some() {
                    p.key = key;
                }
                if no_mirror {
                    p.mirror = None;
                }
                if let Some(m) = &mirror {
                    let (to, percent) = parse_pair(m, "--mirror", "ARM=PERCENT")?;
                    p.mirror = Some(Mirror { to, percent });
                }
                if let Some(columns) = passthrough {
                    p.passthrough = columns;
                }
                reg.route(
                    &name,
                    Some(&p),
                    &reason,
                    &actor.unwrap_or_else(default_actor),
                )
                .await?;
                Some(p)
            };
            if json {
                print_json(&serde_json::json!({ "name": name, "route": policy }))?;
            } else {
                match &policy {
                    Some(p) => outln!("{name}: {}", p.summary()),
                    None => outln!("{name}: no route: requests for {name} go to {name}@production"),
                }
            }
        }
        ModelsCommand::Rollout(args) => return super::rollout::rollout(home, &reg, args).await,
        ModelsCommand::History { name, at, json } => {
            let events = reg.history(&name).await?;
            if let Some(at) = at {
                let t = parse_time(&at)?;
                let held = aliases_at(&events, t);
                if json {
                    print_json(
                        &serde_json::json!({"name": name, "at": t.to_rfc3339(), "aliases": held}),
                    )?;
                } else if held.is_empty() {
                    outln!(
                        "at {} no alias of {name} pointed at any version",
                        t.to_rfc3339()
                    );
                } else {
                    for (alias, v) in held {
                        outln!("at {} {name}@{alias} was v{v}", t.to_rfc3339());
                    }
                }
            } else if json {
                print_json(&events)?;
            } else {
                let mut t = table(&[
                    "#", "time", "actor", "action", "alias", "from", "to", "forced", "reason",
                ]);
                for e in &events {
                    t.add_row(vec![
                        e.id.to_string(),
                        e.at.clone(),
                        e.actor.clone(),
                        e.action.clone(),
                        e.alias.clone().unwrap_or_default(),
                        e.from_version.map(|v| format!("v{v}")).unwrap_or_default(),
                        e.to_version.map(|v| format!("v{v}")).unwrap_or_default(),
                        if e.forced {
                            "yes".into()
                        } else {
                            String::new()
                        },
                        match route_detail(e) {
                            Some(route) if e.reason.is_empty() => route,
                            Some(route) => format!("{}\n{route}", e.reason),
                            None => e.reason.clone(),
                        },
                    ]);
                }
                outln!("{t}");
            }
        }
        ModelsCommand::Card {
            name,
            version,
            json,
            output,
        } => {
            let v = named_version(&reg, &name, version.as_deref(), true).await?;
            let name = v.name.clone();
            let events = reg.history(&name).await?;
            let top = top_features(&reg, &v).await?;
            let text = if json {
                json_text(&serde_json::json!({
                    "model": v,
                    "top_features": top.iter().map(|(f, s)| serde_json::json!({"feature": f, "score": s})).collect::<Vec<_>>(),
                    "alias_history": events.iter().filter(|e| e.alias.is_some()).collect::<Vec<_>>(),
                    "gates": reg.gates(&name).await?,
                }))?
            } else {
                // Escaped like all human output: the card is read on a
                // terminal, from standard output or with `cat`.
                escape_controls(&model_card(&v, &top, &events, &reg.gates(&name).await?))
                    .into_owned()
            };
            match output {
                Some(path) => {
                    write_output_file(&path, text.as_bytes())?;
                    if !is_stdout(&path) {
                        errln!("wrote {}", path.display());
                    }
                }
                None => write_out(format!("{text}\n").as_bytes()),
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
