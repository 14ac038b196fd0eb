//! `sluice tenants create|list|show|set` and `sluice tenants token
//! create|list|revoke`

use super::output::{errln, outln, print_json, table};
use clap::Subcommand;
use serde::Serialize;
use sluice::Workspace;
use sluice::tenants::{Admin, CAP_NAMES, Tenant, TenantCaps};
use std::process::ExitCode;

#[derive(Debug, Subcommand)]
pub enum TenantsCommand {
    /// Create a tenant, with the default caps unless some are given.
    #[command(after_help = caps_help())]
    Create {
        /// 1 to 63 lowercase letters, digits and `-`.
        name: String,
        /// Caps to set, as CAP=VALUE (repeatable).
        #[arg(value_name = "CAP=VALUE")]
        caps: Vec<String>,
        /// Print the answer as JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// List tenants with their caps.
    List {
        /// Print the answer as JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Show a tenant: its caps, its storage use and its runs.
    Show {
        /// The tenant's name.
        name: String,
        /// Print the answer as JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Change caps of a tenant; runs already going keep the caps they
    /// started with.
    #[command(after_help = caps_help())]
    Set {
        /// The tenant's name.
        name: String,
        /// Caps to set, as CAP=VALUE (at least one).
        #[arg(value_name = "CAP=VALUE", required = true)]
        caps: Vec<String>,
        /// Print the answer as JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Bearer tokens of `sluice serve`, each acting as one tenant (an admin
    /// operation: run as the home's owner).
    #[command(subcommand)]
    Token(TokenCommand),
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Make a token for a tenant. The token is printed once and stored
    /// only as its SHA-256: keep it where its callers can read it.
    Create {
        /// The tenant the token acts as. (Not `tenant`: that is the global
        /// --tenant's id, which a positional of the same id would set.)
        #[arg(value_name = "TENANT")]
        name: String,
        /// Print the answer as JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// A tenant's tokens (ids, dates; never the tokens themselves).
    List {
        /// The tenant whose tokens are listed.
        #[arg(value_name = "TENANT")]
        name: String,
        /// Print the answer as JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Revoke a token by its id: a running server refuses it from its
    /// next request on.
    Revoke {
        /// The tenant the token acts as.
        #[arg(value_name = "TENANT")]
        name: String,
        /// The token's id (`tok-...`), from `tenants token list`.
        id: String,
        /// Print the answer as JSON instead of text.
        #[arg(long)]
        json: bool,
    },
}

/// The caps with their defaults, read from [`TenantCaps::default`] so the
/// help cannot drift from the code.
fn caps_help() -> String {
    let d = TenantCaps::default();
    let rows = [
        (
            "memory_mib=N",
            "linear memory of each step",
            d.memory_mib.to_string(),
        ),
        (
            "timeout_ms=N",
            "wall time of each call",
            d.timeout_ms.to_string(),
        ),
        ("log_kib=N", "kept log of each step", d.log_kib.to_string()),
        (
            "model_calls=N",
            "calls to the model import per step",
            d.model_calls.to_string(),
        ),
        (
            "fuel=N|none",
            "fuel of each step; when set every step is metered",
            d.fuel.map_or("none".into(), |f| f.to_string()),
        ),
        (
            "output_mib=N",
            "size of what one call returns",
            d.output_mib.to_string(),
        ),
        (
            "concurrency=N",
            "steps of this tenant running at once",
            d.concurrency.to_string(),
        ),
        (
            "storage_mib=N",
            "artifact bytes the tenant stores in all",
            d.storage_mib.to_string(),
        ),
        (
            "dataset_mib=N",
            "size of each dataset file a pipeline reads",
            d.dataset_mib.to_string(),
        ),
        (
            "plugin_mib=N",
            "size of each plugin component",
            d.plugin_mib.to_string(),
        ),
        (
            "max_functions=N",
            "function bodies in each plugin",
            d.max_functions.to_string(),
        ),
        (
            "max_function_kib=N",
            "size of each function body of a plugin",
            d.max_function_kib.to_string(),
        ),
        (
            "max_locals=N",
            "locals of each function of a plugin",
            d.max_locals.to_string(),
        ),
        (
            "compile_mib=N",
            "memory of compiling one plugin",
            d.compile_mib.to_string(),
        ),
        (
            "compile_ms=N",
            "wall time of compiling one plugin",
            d.compile_ms.to_string(),
        ),
        (
            "allowed_dirs=A,B",
            "host directories pipelines may read datasets from and grant read-only",
            "none".into(),
        ),
        (
            "nan_bits=canonical|native",
            "NaN bits of float operations: one pattern on every CPU, or the CPU's (faster; the same bits on reruns on one architecture only)",
            d.nan_bits.name().into(),
        ),
    ];
    let mut help = String::from("Caps (defaults in brackets):\n");
    for (cap, what, default) in rows {
        help.push_str(&format!("  {cap:<20}{what} [{default}]\n"));
    }
    help + "\nExample:\n  sluice tenants create acme memory_mib=512 concurrency=2 storage_mib=2048"
}

#[derive(Serialize)]
struct Shown {
    #[serde(flatten)]
    tenant: Tenant,
    artifacts: i64,
    stored_bytes: i64,
    runs: usize,
}

fn apply(caps: &mut TenantCaps, pairs: &[String]) -> anyhow::Result<()> {
    for pair in pairs {
        let Some((name, value)) = pair.split_once('=') else {
            anyhow::bail!(
                "`{pair}` is not CAP=VALUE; the caps are {}",
                CAP_NAMES.join(", ")
            );
        };
        caps.set(name.trim(), value.trim())
            .map_err(|e| anyhow::anyhow!(e))?;
    }
    Ok(())
}

pub async fn tenants(home: &Workspace, cmd: TenantsCommand) -> anyhow::Result<ExitCode> {
    let meta = home.meta().await?;
    match cmd {
        TenantsCommand::Create { name, caps, json } => {
            let admin = Admin::home_owner(home.tenant_name())?;
            let mut c = TenantCaps::default();
            apply(&mut c, &caps)?;
            let t = meta.create_tenant(&admin, &name, &c).await?;
            print_tenant(&t, json)?;
        }
        TenantsCommand::Set { name, caps, json } => {
            let admin = Admin::home_owner(home.tenant_name())?;
            let mut c = meta.tenant(&name).await?.caps;
            apply(&mut c, &caps)?;
            let t = meta.set_tenant_caps(&admin, &name, &c).await?;
            print_tenant(&t, json)?;
        }
        TenantsCommand::Token(cmd) => {
            let admin = Admin::home_owner(home.tenant_name())?;
            match cmd {
                TokenCommand::Create { name, json } => {
                    let (info, token) = meta.create_token(&admin, &name).await?;
                    if json {
                        print_json(&serde_json::json!({
                            "id": info.id,
                            "tenant": info.tenant,
                            "created_at": info.created_at,
                            "token": token,
                        }))?;
                    } else {
                        outln!("{token}");
                        errln!(
                            "token {} for tenant {} (shown once: sluice keeps only its SHA-256)",
                            info.id,
                            info.tenant
                        );
                    }
                }
                TokenCommand::List { name, json } => {
                    meta.tenant(&name).await?;
                    let tokens = meta.tokens(&name).await?;
                    if json {
                        print_json(&tokens)?;
                    } else {
                        let mut t = table(&["id", "tenant", "created", "revoked"]);
                        for x in &tokens {
                            t.add_row(vec![
                                x.id.clone(),
                                x.tenant.clone(),
                                x.created_at.clone(),
                                x.revoked_at.clone().unwrap_or_default(),
                            ]);
                        }
                        outln!("{t}");
                    }
                }
                TokenCommand::Revoke { name, id, json } => {
                    let info = meta.revoke_token(&admin, &name, &id).await?;
                    if json {
                        print_json(&info)?;
                    } else {
                        outln!("revoked {} of tenant {}", info.id, info.tenant);
                    }
                }
            }
        }
        TenantsCommand::List { json } => {
            let mut all = meta.list_tenants().await?;
            // A tenant sees its own caps; the home's owner sees every
            // tenant's.
            if Admin::home_owner(home.tenant_name()).is_err() {
                all.retain(|t| t.name == home.tenant_name());
            }
            if json {
                print_json(&all)?;
            } else {
                let mut t = table(&[
                    "tenant",
                    "memory_mib",
                    "timeout_ms",
                    "fuel",
                    "output_mib",
                    "concurrency",
                    "storage_mib",
                ]);
                for x in &all {
                    t.add_row(vec![
                        x.name.clone(),
                        x.caps.memory_mib.to_string(),
                        x.caps.timeout_ms.to_string(),
                        x.caps.fuel.map_or("none".into(), |f| f.to_string()),
                        x.caps.output_mib.to_string(),
                        x.caps.concurrency.to_string(),
                        x.caps.storage_mib.to_string(),
                    ]);
                }
                outln!("{t}");
            }
        }
        TenantsCommand::Show { name, json } => {
            // Another tenant reads as missing, as its runs and models do.
            if name != home.tenant_name() && Admin::home_owner(home.tenant_name()).is_err() {
                return Err(sluice::meta::MetaError::TenantNotFound { name }.into());
            }
            let tenant = meta.tenant(&name).await?;
            let (artifacts, stored_bytes) = meta.tenant_usage(&name).await?;
            let runs = meta.list_runs_in(Some(&name), -1).await?.len();
            let shown = Shown {
                tenant,
                artifacts,
                stored_bytes,
                runs,
            };
            if json {
                print_json(&shown)?;
            } else {
                print_tenant(&shown.tenant, false)?;
                outln!(
                    "storage      {} artifacts, {} bytes of {} MiB",
                    shown.artifacts,
                    shown.stored_bytes,
                    shown.tenant.caps.storage_mib
                );
                outln!("runs         {}", shown.runs);
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn print_tenant(t: &Tenant, json: bool) -> anyhow::Result<()> {
    if json {
        return print_json(t);
    }
    let c = &t.caps;
    outln!("tenant           {}", t.name);
    outln!("memory_mib       {}", c.memory_mib);
    outln!("timeout_ms       {}", c.timeout_ms);
    outln!("log_kib          {}", c.log_kib);
    outln!("model_calls      {}", c.model_calls);
    outln!(
        "fuel             {}",
        c.fuel.map_or("none (unmetered)".into(), |f| f.to_string())
    );
    outln!("output_mib       {}", c.output_mib);
    outln!("concurrency      {}", c.concurrency);
    outln!("storage_mib      {}", c.storage_mib);
    outln!("dataset_mib      {}", c.dataset_mib);
    outln!("plugin_mib       {}", c.plugin_mib);
    outln!("max_functions    {}", c.max_functions);
    outln!("max_function_kib {}", c.max_function_kib);
    outln!("max_locals       {}", c.max_locals);
    outln!("compile_mib      {}", c.compile_mib);
    outln!("compile_ms       {}", c.compile_ms);
    outln!("nan_bits         {}", c.nan_bits.name());
    outln!(
        "allowed_dirs     {}",
        if c.allowed_dirs.is_empty() {
            "none".to_string()
        } else {
            c.allowed_dirs
                .iter()
                .map(|d| d.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        }
    );
    Ok(())
}
