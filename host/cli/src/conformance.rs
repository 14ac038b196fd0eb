//! `sluice plugin test FILE.wasm`: the conformance suite and its report.

use super::output::{outln, print_json, table};
use sluice::Workspace;
use sluice::conformance::{CHECKS_ON_THE_INPUT, SuiteOptions, run_suite};
use sluice::wit;
use std::path::PathBuf;
use std::process::ExitCode;

/// `NAME=VALUE` as a param of the kind the plugin declares for NAME.
fn parse_param(spec: &[wit::ParamSpec], text: &str) -> anyhow::Result<wit::Param> {
    let (name, value) = text
        .split_once('=')
        .ok_or_else(|| anyhow::anyhow!("--param {text:?}: expected NAME=VALUE"))?;
    let kind = spec
        .iter()
        .find(|s| s.name == name)
        .map(|s| s.kind.as_str())
        .ok_or_else(|| anyhow::anyhow!("--param {name}: the plugin declares no param '{name}'"))?;
    let bad = |e: &dyn std::fmt::Display| {
        anyhow::anyhow!("--param {name}: {value:?} is not a {kind}: {e}")
    };
    let value = match kind {
        "number" => wit::ParamValue::Number(value.parse().map_err(|e| bad(&e))?),
        "integer" => wit::ParamValue::Integer(value.parse().map_err(|e| bad(&e))?),
        "flag" => wit::ParamValue::Flag(value.parse().map_err(|e| bad(&e))?),
        "numbers" => wit::ParamValue::Numbers(
            value
                .split(',')
                .map(|x| x.trim().parse::<f64>())
                .collect::<Result<_, _>>()
                .map_err(|e| bad(&e))?,
        ),
        _ => wit::ParamValue::Text(value.to_string()),
    };
    Ok(wit::Param {
        name: name.to_string(),
        value,
    })
}

/// `--input FILE` as the table plugins receive: read as a dataset is, dates
/// and times cast to i64 (their default unit), dictionaries to their values.
/// Its column `target` (`--target`), if named, becomes the suite's target
/// column (`label`), which trainers train on.
fn read_input(path: &std::path::Path, target: Option<&str>) -> anyhow::Result<wit::Table> {
    let what = |e: &dyn std::fmt::Display| anyhow::anyhow!("--input {}: {e}", path.display());
    let batch = sluice::data::read_table(path).map_err(|e| what(&e))?;
    let batch = sluice::data::for_plugins(&batch, &Default::default(), &path.display().to_string())
        .map_err(|e| what(&e))?;
    let mut table = sluice::data::batch_to_table(&batch).map_err(|e| what(&e))?;
    let label = sluice::conformance::TARGET;
    if let Some(target) = target.filter(|t| *t != label) {
        if table.columns.iter().any(|c| c.name == label) {
            return Err(what(&format!(
                "it has a column `{label}`, which the suite reads as the target; \
                 rename it or give --target {label}"
            )));
        }
        let Some(column) = table.columns.iter_mut().find(|c| c.name == target) else {
            let names: Vec<_> = table.columns.iter().map(|c| c.name.as_str()).collect();
            return Err(what(&format!(
                "--target {target}: no such column (its columns: {})",
                names.join(", ")
            )));
        };
        column.name = label.to_string();
    }
    Ok(table)
}

pub async fn test(
    home: &Workspace,
    file: PathBuf,
    model: Option<PathBuf>,
    params: Vec<String>,
    input: Option<PathBuf>,
    target: Option<String>,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let on_input = input.as_ref().map(|p| p.display().to_string());
    let runtime = home.runtime().await?;
    // Loading compiles: on a blocking thread. The suite's calls are async.
    let loading = runtime.clone();
    let (file, plugin, options) = tokio::task::spawn_blocking(move || -> anyhow::Result<_> {
        let plugin = loading.load(&file)?;
        let model = model.map(|m| loading.load(&m)).transpose()?;
        let params = params
            .iter()
            .map(|p| parse_param(&plugin.info.params, p))
            .collect::<anyhow::Result<Vec<_>>>()?;
        let table = input
            .as_deref()
            .map(|p| read_input(p, target.as_deref()))
            .transpose()?;
        Ok((
            file,
            plugin,
            SuiteOptions {
                model,
                params,
                table,
            },
        ))
    })
    .await??;
    let report = run_suite(&runtime, &plugin, &options).await;
    if json {
        print_json(&serde_json::json!({
            "file": file.display().to_string(),
            "input": on_input,
            "checks_on_input": on_input.as_ref().map(|_| CHECKS_ON_THE_INPUT),
            "plugin": report.plugin,
            "world": report.world,
            "passed": report.passed(),
            "checks": report.checks,
        }))?;
    } else {
        outln!("{} ({}, {})", file.display(), report.plugin, report.world);
        let mut t = table(&["check", "result", "detail"]);
        for c in &report.checks {
            t.add_row(vec![
                c.name.clone(),
                if c.passed { "pass" } else { "FAIL" }.to_string(),
                c.detail.clone(),
            ]);
        }
        outln!("{t}");
        if let Some(input) = &on_input {
            outln!(
                "on {input}: {}; the input.* edge cases use generated tables",
                CHECKS_ON_THE_INPUT.join(", ")
            );
        }
        let failed = report.failed().count();
        outln!(
            "{} of {} checks passed{}",
            report.checks.len() - failed,
            report.checks.len(),
            if failed > 0 { " (FAIL)" } else { "" }
        );
    }
    Ok(if report.passed() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
