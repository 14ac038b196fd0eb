//! The checks of a pipeline's steps when it is planned: each step's
//! shape against its plugin's world, its grants, limits and params, its
//! id, and the order the steps run in (a cycle is an error naming it).
//! They add to the plan's list of problems; building the plan itself is
//! the parent module's.

use super::super::definition::StepDef;
use super::super::params::{convert_value, param_json, refusal, value_kind};
use crate::runtime::{Plugin, StepLimits, World};
use crate::wit;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::PathBuf;
use std::sync::Arc;

pub(super) fn check_step_shape(
    step: &StepDef,
    plugin: &Plugin,
    plugins: &[Option<Arc<Plugin>>],
    ids: &HashMap<&str, usize>,
    issues: &mut Vec<String>,
) {
    let world = plugin.world;
    let id = &step.id;
    // The input must carry a table: datasets, transforms and validators do;
    // trainers and explainers do not.
    if let Some(&i) = ids.get(step.input.as_str())
        && let Some(p) = &plugins[i]
        && matches!(p.world, World::Trainer | World::Explainer)
    {
        issues.push(format!(
            "step '{id}': input '{}' is a {} step, which outputs no table; use a dataset, transform or validator",
            step.input, p.world
        ));
    }
    match (&step.model, world) {
        (Some(m), World::Validator | World::Explainer) => match ids.get(m.as_str()) {
            Some(&i) => {
                if let Some(p) = &plugins[i]
                    && p.world != World::Trainer
                {
                    issues.push(format!(
                        "step '{id}': model '{m}' is a {} step, not a trainer",
                        p.world
                    ));
                }
            }
            None => issues.push(format!(
                "step '{id}': model '{m}' is not a step of this pipeline"
            )),
        },
        (Some(_), w) => issues.push(format!(
            "step '{id}': `model` is only for validators and explainers; plugin '{}' is a {w}",
            step.plugin
        )),
        (None, World::Explainer) => issues.push(format!(
            "step '{id}': an explainer needs `model = \"TRAINER_STEP\"`"
        )),
        _ => {}
    }
    if let Some(name) = &step.register {
        if world != World::Trainer {
            issues.push(format!(
                "step '{id}': `register` is only for trainers; plugin '{}' is a {world}",
                step.plugin
            ));
        }
        if let Err(rule) = crate::registry::name_rule::check_model_name(name) {
            issues.push(format!("step '{id}': `{name}` is not a model name: {rule}"));
        }
    }
    if step.reference.is_some() && world != World::Validator {
        issues.push(format!("step '{id}': `reference` is only for validators"));
    }
    if step.on.is_some() && !matches!(world, World::Validator | World::Explainer) {
        issues.push(format!(
            "step '{id}': `on` is only for validators and explainers (a {world} fits on train and applies to both parts)"
        ));
    }
}

pub(super) fn step_grants(
    step: &StepDef,
    declared: &BTreeMap<String, String>,
    resolved: &BTreeMap<&str, PathBuf>,
    issues: &mut Vec<String>,
) -> Vec<crate::runtime::Grant> {
    let mut out = Vec::new();
    for name in &step.grants {
        match resolved.get(name.as_str()) {
            Some(path) => out.push(crate::runtime::Grant::planned(name.clone(), path.clone())),
            None if declared.contains_key(name) => {} // reported with [grants]
            None => issues.push(format!(
                "step '{}': grant '{name}' is not declared in [grants]",
                step.id
            )),
        }
    }
    out
}

pub(super) fn check_limits(step: &StepDef, limits: &StepLimits, issues: &mut Vec<String>) {
    if let Err(e) = limits.check() {
        issues.push(format!("step '{}': {e}", step.id));
    }
}

/// TOML values to the contract's params, checked against `describe()`.
pub(super) fn convert_params(
    step: &StepDef,
    plugin: &Plugin,
    issues: &mut Vec<String>,
) -> (Vec<wit::Param>, serde_json::Value) {
    let id = &step.id;
    let mut params = Vec::new();
    let mut json = serde_json::Map::new();
    for (name, value) in &step.params {
        let Some(spec) = plugin.param_spec(name) else {
            let known: Vec<&str> = plugin.info.params.iter().map(|p| p.name.as_str()).collect();
            issues.push(format!(
                "step '{id}': unknown param '{name}' for plugin {} (known: {})",
                plugin.label(),
                if known.is_empty() {
                    "none".to_string()
                } else {
                    known.join(", ")
                }
            ));
            continue;
        };
        let converted = convert_value(&spec.kind, value);
        match converted {
            Some(v) => {
                if let Some(why) = refusal(spec, &v) {
                    issues.push(format!(
                        "step '{id}': param '{name}' {why} (plugin {})",
                        plugin.label()
                    ));
                }
                json.insert(name.clone(), param_json(&v));
                params.push(wit::Param {
                    name: name.clone(),
                    value: v,
                });
            }
            None => issues.push(format!(
                "step '{id}': param '{name}' must be a {} (plugin {}), got {} `{value}`",
                spec.kind,
                plugin.label(),
                value.type_str()
            )),
        }
    }
    for spec in &plugin.info.params {
        let searched = step
            .search
            .as_ref()
            .is_some_and(|s| s.params.contains_key(&spec.name));
        if spec.default.is_none() && !step.params.contains_key(&spec.name) && !searched {
            issues.push(format!(
                "step '{id}': param '{}' ({}) is required by plugin {}: {}",
                spec.name,
                spec.kind,
                plugin.label(),
                spec.doc
            ));
        }
        if let Some(d) = &spec.default
            && value_kind(d) != spec.kind
            && !(spec.kind == "number" && value_kind(d) == "integer")
        {
            tracing::warn!(plugin = %plugin.label(), param = %spec.name, "default does not match the declared kind");
        }
    }
    (params, serde_json::Value::Object(json))
}

/// A step id is a name in runs, caches, lineage and the command line:
/// letters, digits, `-`, `_` and `.`, at most 128 of them. `:` is kept for
/// the dataset steps (`dataset:NAME`), which an id must never imitate.
pub fn check_step_id(id: &str) -> Result<(), String> {
    let ok = id.len() <= 128
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if ok {
        Ok(())
    } else {
        Err(
            "a step id may hold only letters, digits, '-', '_' and '.' (at most 128; ':' is \
             kept for dataset steps)"
                .into(),
        )
    }
}

/// Kahn's algorithm over input, reference and model edges, keeping the
/// file's order among steps that are ready together. Reports cycles.
pub(super) fn topological_order(
    steps: &[StepDef],
    ids: &HashMap<&str, usize>,
    issues: &mut Vec<String>,
) -> Vec<usize> {
    let n = steps.len();
    let mut deps: Vec<HashSet<usize>> = vec![HashSet::new(); n];
    for (i, s) in steps.iter().enumerate() {
        let refs = std::iter::once(Some(&s.input))
            .chain([s.reference.as_ref(), s.model.as_ref()])
            .flatten();
        for r in refs {
            if let Some(&j) = ids.get(r.as_str()) {
                deps[i].insert(j);
            }
        }
    }
    let mut done = vec![false; n];
    let mut order = Vec::with_capacity(n);
    while order.len() < n {
        let ready = (0..n).find(|&i| !done[i] && deps[i].iter().all(|&j| done[j]));
        match ready {
            Some(i) => {
                done[i] = true;
                order.push(i);
            }
            None => {
                let cycle = one_cycle(&deps, &done);
                issues.push(format!(
                    "steps form a cycle: {} (each waits for the next through input, reference or model)",
                    cycle
                        .iter()
                        .chain(cycle.first())
                        .map(|&i| steps[i].id.as_str())
                        .collect::<Vec<_>>()
                        .join(" -> ")
                ));
                break;
            }
        }
    }
    order
}

/// One cycle among the steps not `done` (each waits for a step not done,
/// so walking from any of them along waits must come back): the steps on
/// it in the order they wait for each other, without the steps that only
/// wait for the cycle downstream of it.
fn one_cycle(deps: &[HashSet<usize>], done: &[bool]) -> Vec<usize> {
    let Some(start) = (0..deps.len()).find(|&i| !done[i]) else {
        return Vec::new();
    };
    let mut seen_at: HashMap<usize, usize> = HashMap::new();
    let mut walk = Vec::new();
    let mut at = start;
    loop {
        if let Some(&first) = seen_at.get(&at) {
            // The walk waited its way back to `at`: the cycle, reversed to
            // read "a waits for b" as a -> b is its walk order already.
            return walk[first..].to_vec();
        }
        seen_at.insert(at, walk.len());
        walk.push(at);
        let mut next: Vec<usize> = deps[at].iter().copied().filter(|&j| !done[j]).collect();
        next.sort_unstable();
        match next.first() {
            Some(&j) => at = j,
            None => return walk,
        }
    }
}
