//! `sluice lineage DIGEST [--downstream] [--json]`

use super::output::{print_json, short};
use clap::Args;
use sluice::Workspace;
use sluice::meta::LineageNode;
use std::process::ExitCode;

#[derive(Debug, Args)]
pub struct LineageArgs {
    /// The artifact's sha256, or a unique prefix of at least 4 hex
    /// characters (as `sluice runs show` prints it).
    pub digest: String,
    /// What was made from the artifact, instead of what it was made from.
    #[arg(long)]
    pub downstream: bool,
    /// How many artifacts deep to follow the tree; deeper ones are shown
    /// as not expanded (`"truncated": true` in JSON). At most 1000.
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u16).range(1..=1000))]
    pub depth: u16,
    /// Print the tree as JSON.
    #[arg(long)]
    pub json: bool,
}

pub async fn lineage(home: &Workspace, args: LineageArgs) -> anyhow::Result<ExitCode> {
    let (meta, tenant) = home.tenant_meta().await?;
    let digest = meta.resolve_digest(&tenant.name, &args.digest).await?;
    let tenant = Some(tenant.name.as_str());
    let tree = if args.downstream {
        meta.downstream(tenant, &digest, args.depth.into()).await?
    } else {
        meta.upstream(tenant, &digest, args.depth.into()).await?
    };
    if tree.steps.is_empty() && tree.also_made_by.is_empty() && tree.media_type.is_none() {
        anyhow::bail!(
            "no run of tenant `{}` in {} recorded artifact {digest}; `sluice runs show RUN` \
             lists a run's artifacts",
            home.tenant_name(),
            home.db_path().display()
        );
    }
    if args.json {
        print_json(&tree)?;
    } else {
        let mut out = String::new();
        print_node(&tree, args.downstream, args.depth, "", &mut out);
        super::output::print_out(&out);
    }
    Ok(ExitCode::SUCCESS)
}

fn describe(node: &LineageNode) -> String {
    let mut text = node.digest.to_string();
    if let Some(media) = &node.media_type {
        text.push_str(&format!("  {media}"));
    }
    if let Some(size) = node.size {
        text.push_str(&format!(", {size} bytes"));
    }
    text
}

fn print_node(node: &LineageNode, downstream: bool, depth: u16, indent: &str, out: &mut String) {
    out.push_str(&describe(node));
    if node.repeated {
        out.push_str("  (shown above)\n");
        return;
    }
    if node.truncated {
        out.push_str(&format!("  (deeper than --depth {depth}: not followed)\n"));
        return;
    }
    out.push('\n');
    if node.steps.is_empty() && !downstream {
        out.push_str(&format!(
            "{indent}  (no recorded producer: an outside input)\n"
        ));
    }
    for step in &node.steps {
        let s = &step.step;
        let plugin = if s.plugin_sha256.is_empty() {
            format!("{}@{}", s.plugin_name, s.plugin_version)
        } else {
            format!(
                "{}@{} {}",
                s.plugin_name,
                s.plugin_version,
                short(&s.plugin_sha256)
            )
        };
        let how = if downstream { "read as" } else { "made as" };
        out.push_str(&format!(
            "{indent}  {how} `{}` by step {} of run {} ({} {plugin})\n",
            step.as_name, s.step_id, s.run_id, s.kind
        ));
        for edge in &step.edges {
            let arrow = if downstream { "->" } else { "<-" };
            out.push_str(&format!("{indent}    {arrow} {}: ", edge.name));
            print_node(
                &edge.artifact,
                downstream,
                depth,
                &format!("{indent}    "),
                out,
            );
        }
    }
    for other in &node.also_made_by {
        out.push_str(&format!(
            "{indent}  also written by step {} of run {}\n",
            other.step_id, other.run_id
        ));
    }
}
