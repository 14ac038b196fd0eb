//! A model's promotion gates checked against the metrics the pipeline
//! can give its versions, when the pipeline is planned: a gate naming a
//! step that neither trains nor evaluates the model, or a metric that
//! step's plugin never reports, would fail every promotion, so it is
//! refused before anything runs.
//!
//! A version's metrics are `STEP.METRIC` for the trainer step that
//! registers it and every validator or explainer with `model = STEP`
//! (`crate::registry::from_run`). What a step can report is what its
//! plugin's `describe()` declares in `metrics` (a `*` in a name stands
//! for any text: `class_*`, `*.p_value`), plus the metrics a
//! search adds to its trainer. A plugin that declares none is not checked.

use super::super::definition::PipelineFile;
use super::super::params::closest;
use crate::runtime::Plugin;
use std::sync::Arc;

/// Check the gates of every model a step of `file` registers; `plugins`
/// are the steps' plugins, in the file's order (`None`: not loaded, its
/// problem reported already).
pub(super) fn check_gates(
    file: &PipelineFile,
    plugins: &[Option<Arc<Plugin>>],
    issues: &mut Vec<String>,
) {
    for (model, def) in &file.models {
        // A model no step of this pipeline registers gets its versions
        // elsewhere: nothing here says what they report.
        let Some(trainer) = file
            .steps
            .iter()
            .position(|s| s.register.as_deref() == Some(model.as_str()))
        else {
            continue;
        };
        let trainer_id = &file.steps[trainer].id;
        // The steps whose metrics a version gets: the trainer and those
        // that evaluate its model.
        let scoring: Vec<usize> = (0..file.steps.len())
            .filter(|&i| i == trainer || file.steps[i].model.as_deref() == Some(trainer_id))
            .collect();
        for text in &def.gates {
            // A gate that does not parse is reported with the models.
            let Ok(gate) = crate::registry::gates::parse(text) else {
                continue;
            };
            let at = format!("[models.{model}]: gate `{}`", gate.text);
            let names = |list: &[usize]| {
                list.iter()
                    .map(|&i| format!("`{}`", file.steps[i].id))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            // The longest step id the metric starts with (ids may hold '.').
            let step = (0..file.steps.len())
                .filter(|&i| {
                    gate.metric
                        .strip_prefix(file.steps[i].id.as_str())
                        .is_some_and(|rest| rest.len() > 1 && rest.starts_with('.'))
                })
                .max_by_key(|&i| file.steps[i].id.len());
            let Some(i) = step else {
                let named = gate.metric.split('.').next().unwrap_or_default();
                issues.push(format!(
                    "{at}: the pipeline has no step `{named}`; a gate names a metric as \
                     STEP.METRIC, where STEP trains or evaluates the model: {}",
                    names(&scoring)
                ));
                continue;
            };
            let step_id = &file.steps[i].id;
            if !scoring.contains(&i) {
                issues.push(format!(
                    "{at}: step `{step_id}` neither trains nor evaluates model `{model}` \
                     (set `model = \"{trainer_id}\"` on it), so its metrics are not the \
                     version's; the steps that are: {}",
                    names(&scoring)
                ));
                continue;
            }
            let Some(plugin) = &plugins[i] else {
                continue;
            };
            let metric = &gate.metric[step_id.len() + 1..];
            let mut producible = plugin.info.metrics.clone();
            if producible.is_empty() {
                continue;
            }
            if let Some(search) = &file.steps[i].search {
                producible.extend([
                    format!("search_{}", search.metric),
                    "search_trials".into(),
                    "search_failed".into(),
                ]);
            }
            if producible.iter().any(|p| matches(p, metric)) {
                continue;
            }
            let hint = closest(
                metric,
                producible
                    .iter()
                    .filter(|p| !p.contains('*'))
                    .map(String::as_str),
            )
            .map(|c| format!(" (did you mean `{step_id}.{c}`?)"))
            .unwrap_or_default();
            issues.push(format!(
                "{at}: step `{step_id}` (plugin {}) never reports metric `{metric}`{hint}; \
                 it reports: {}",
                plugin.label(),
                producible.join(", ")
            ));
        }
    }
}

/// Whether the declared name `pattern` (a `*` in it stands for any text)
/// covers `metric`.
fn matches(pattern: &str, metric: &str) -> bool {
    match pattern.split_once('*') {
        Some((prefix, suffix)) => {
            metric.len() >= prefix.len() + suffix.len()
                && metric.starts_with(prefix)
                && metric.ends_with(suffix)
        }
        None => pattern == metric,
    }
}

#[cfg(test)]
mod tests {
    use super::matches;

    #[test]
    fn a_star_stands_for_any_rest() {
        assert!(matches("accuracy", "accuracy"));
        assert!(!matches("accuracy", "accuracy_1"));
        assert!(matches("class_*", "class_1_f1"));
        assert!(!matches("class_*", "clas_1"));
        assert!(matches("*", "anything"));
        assert!(matches("*.p_value", "age.p_value"));
        assert!(!matches("*.p_value", "age.statistic"));
        assert!(!matches("ab*ba", "aba"));
    }
}
