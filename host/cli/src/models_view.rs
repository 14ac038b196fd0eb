//! How `sluice models show|compare|card` print a version: its fields,
//! a side-by-side comparison and the model card.

use super::output::{fmt_metric, outln, short};
use sluice::registry::{ModelVersion, Registry};
use std::collections::BTreeSet;

pub(super) fn print_version(v: &ModelVersion) {
    outln!("model     {} v{}", v.name, v.version);
    outln!(
        "run       {} step {} ({} v{}, sha256 {})",
        v.run_id,
        v.step_id,
        v.pipeline_name,
        v.pipeline_version,
        short(&v.pipeline_sha256)
    );
    outln!("created   {}", v.created_at);
    outln!(
        "target    {}",
        v.target.clone().unwrap_or_else(|| "-".into())
    );
    outln!(
        "features  {}",
        v.input_schema
            .iter()
            .map(|(n, t)| format!("{n}:{t}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    outln!("chain:");
    for c in &v.chain {
        outln!(
            "  {} {}@{} {} state {} params {}",
            c.plugin.step_id,
            c.plugin.name,
            c.plugin.version,
            short(&c.plugin.sha256),
            short(&c.state.to_string()),
            c.plugin.params
        );
    }
    outln!(
        "  {} {}@{} {} model {} params {}",
        v.trainer.step_id,
        v.trainer.name,
        v.trainer.version,
        short(&v.trainer.sha256),
        short(&v.model.to_string()),
        v.trainer.params
    );
    outln!("metrics:");
    for (k, m) in &v.metrics {
        outln!("  {k} = {}", fmt_metric(*m));
    }
}

pub(super) fn compare_rows(a: &ModelVersion, b: &ModelVersion) -> Vec<(String, String, String)> {
    let mut rows = vec![
        ("run".to_string(), a.run_id.clone(), b.run_id.clone()),
        (
            "pipeline".into(),
            format!("{} v{}", a.pipeline_name, a.pipeline_version),
            format!("{} v{}", b.pipeline_name, b.pipeline_version),
        ),
        (
            "trainer".into(),
            format!(
                "{}@{} {}",
                a.trainer.name,
                a.trainer.version,
                short(&a.trainer.sha256)
            ),
            format!(
                "{}@{} {}",
                b.trainer.name,
                b.trainer.version,
                short(&b.trainer.sha256)
            ),
        ),
        (
            "trainer params".into(),
            a.trainer.params.to_string(),
            b.trainer.params.to_string(),
        ),
        ("chain".into(), chain_text(a), chain_text(b)),
        ("data train".into(), opt(&a.data.train), opt(&b.data.train)),
        (
            "data holdout".into(),
            opt(&a.data.holdout),
            opt(&b.data.holdout),
        ),
        (
            "data source".into(),
            opt(&a.data.source),
            opt(&b.data.source),
        ),
        ("model".into(), a.model.to_string(), b.model.to_string()),
    ];
    let names: BTreeSet<&String> = a.metrics.keys().chain(b.metrics.keys()).collect();
    for n in names {
        let f = |v: &ModelVersion| {
            v.metrics
                .get(n)
                .map(|m| fmt_metric(*m))
                .unwrap_or_else(|| "-".into())
        };
        rows.push((format!("metric {n}"), f(a), f(b)));
    }
    rows
}

fn opt(d: &Option<sluice::artifacts::ArtifactDigest>) -> String {
    d.as_ref()
        .map(|d| d.to_string())
        .unwrap_or_else(|| "-".into())
}

fn chain_text(v: &ModelVersion) -> String {
    v.chain
        .iter()
        .map(|c| format!("{}@{} {}", c.plugin.name, c.plugin.version, c.plugin.params))
        .collect::<Vec<_>>()
        .join(" -> ")
}

pub(super) async fn top_features(
    reg: &Registry,
    v: &ModelVersion,
) -> anyhow::Result<Vec<(String, f64)>> {
    let Some(d) = &v.explanation else {
        return Ok(Vec::new());
    };
    let bytes = reg.artifacts.get(d).await?;
    let json: serde_json::Value = serde_json::from_slice(&bytes)?;
    Ok(json["global"]
        .as_array()
        .map(|a| {
            a.iter()
                .take(10)
                .filter_map(|x| Some((x["feature"].as_str()?.to_string(), x["score"].as_f64()?)))
                .collect()
        })
        .unwrap_or_default())
}

pub(super) fn model_card(
    v: &ModelVersion,
    top: &[(String, f64)],
    events: &[sluice::registry::AuditEvent],
    gates: &[String],
) -> String {
    let mut s = String::new();
    let mut line = |l: String| {
        s.push_str(&l);
        s.push('\n');
    };
    line(format!("# Model card: {} v{}\n", v.name, v.version));
    line(format!(
        "Registered {} from run `{}`, step `{}` of pipeline `{}` v{} (definition sha256 `{}`).\n",
        v.created_at, v.run_id, v.step_id, v.pipeline_name, v.pipeline_version, v.pipeline_sha256
    ));
    line("## Lineage\n".into());
    line("| step | plugin | sha256 | params | artifact |".into());
    line("|---|---|---|---|---|".into());
    for c in &v.chain {
        line(format!(
            "| {} | {}@{} | `{}` | `{}` | state `{}` |",
            c.plugin.step_id,
            c.plugin.name,
            c.plugin.version,
            short(&c.plugin.sha256),
            c.plugin.params,
            short(&c.state.to_string())
        ));
    }
    line(format!(
        "| {} | {}@{} | `{}` | `{}` | model `{}` |\n",
        v.trainer.step_id,
        v.trainer.name,
        v.trainer.version,
        short(&v.trainer.sha256),
        v.trainer.params,
        short(&v.model.to_string())
    ));
    line("## Data\n".into());
    line(format!("- dataset step: `{}`", v.data.dataset_step));
    line(format!("- source file sha256: `{}`", opt(&v.data.source)));
    line(format!("- train part: `{}`", opt(&v.data.train)));
    line(format!("- holdout part: `{}`", opt(&v.data.holdout)));
    line(format!(
        "- target: `{}`\n",
        v.target.clone().unwrap_or_else(|| "-".into())
    ));
    line("## Input schema\n".into());
    line("| column | type |".into());
    line("|---|---|".into());
    for (n, t) in &v.input_schema {
        line(format!("| {n} | {t} |"));
    }
    line("\n## Metrics\n".into());
    line("| metric | value |".into());
    line("|---|---|".into());
    for (k, m) in &v.metrics {
        line(format!("| {k} | {} |", fmt_metric(*m)));
    }
    line("\n## Top features\n".into());
    if top.is_empty() {
        line("The run had no explainer for this model.".into());
    } else {
        line("| feature | importance |".into());
        line("|---|---|".into());
        for (f, sc) in top {
            line(format!("| {f} | {sc:.4} |"));
        }
    }
    line("\n## Promotion gates\n".into());
    if gates.is_empty() {
        line("None declared.".into());
    }
    for g in gates {
        line(format!("- `{g}`"));
    }
    line("\n## Alias history\n".into());
    let moves: Vec<_> = events.iter().filter(|e| e.alias.is_some()).collect();
    if moves.is_empty() {
        line("No alias has pointed at any version yet.".into());
    } else {
        line("| time | actor | action | alias | from | to | forced | reason |".into());
        line("|---|---|---|---|---|---|---|---|".into());
        for e in moves {
            line(format!(
                "| {} | {} | {} | {} | {} | {} | {} | {} |",
                e.at,
                e.actor,
                e.action,
                e.alias.clone().unwrap_or_default(),
                e.from_version.map(|v| format!("v{v}")).unwrap_or_default(),
                e.to_version.map(|v| format!("v{v}")).unwrap_or_default(),
                if e.forced { "yes" } else { "" },
                e.reason
            ));
        }
    }
    s
}
