//! The trials of a search: checking a step's `[steps.search]` against its
//! plugin, the values each param may take, and the grid or the random
//! draws.

use super::{MAX_TRIALS, Metric, Search, Trial, Validation};
use crate::data::SplitMix64;
use crate::pipeline::definition::{SearchDef, StepDef};
use crate::pipeline::params::{convert_value, param_json, refusal};
use crate::runtime::Plugin;
use crate::wit;
use serde_json::Value;

/// Checks a step's `[steps.search]` against its plugin and generates the
/// trials. Problems go to `issues`, each naming the step and the field.
pub fn plan_search(
    step: &StepDef,
    def: &SearchDef,
    plugin: &Plugin,
    base: &[wit::Param],
    seed: u64,
    issues: &mut Vec<String>,
) -> Option<Search> {
    let id = &step.id;
    let before = issues.len();
    if plugin.world != crate::runtime::World::Trainer {
        issues.push(format!(
            "step '{id}': `search` is only for trainers; plugin '{}' is a {}",
            step.plugin, plugin.world
        ));
        return None;
    }
    let random = match def.method.as_deref().unwrap_or("grid") {
        "grid" => false,
        "random" => true,
        other => {
            issues.push(format!(
                "step '{id}': search.method must be \"grid\" or \"random\", got \"{other}\""
            ));
            false
        }
    };
    let metric = Metric::parse(&def.metric);
    if metric.is_none() {
        issues.push(format!(
            "step '{id}': search.metric \"{}\" is not one of {}",
            def.metric,
            Metric::ALL.map(Metric::name).join(", ")
        ));
    }
    let stratify = def
        .stratify
        .unwrap_or(metric.is_some_and(Metric::classification));
    let validation = match (def.folds, def.holdout) {
        (Some(_), Some(_)) => {
            issues.push(format!(
                "step '{id}': set search.folds or search.holdout, not both"
            ));
            None
        }
        (Some(k), None) if !(2..=100).contains(&k) => {
            issues.push(format!(
                "step '{id}': search.folds must be 2 to 100, got {k}"
            ));
            None
        }
        (Some(k), None) => Some(Validation::Folds {
            k: k as usize,
            stratify,
        }),
        (None, Some(share)) if !(share > 0.0 && share < 1.0) => {
            issues.push(format!(
                "step '{id}': search.holdout is the share of the train part to score on, in (0, 1); got {share}"
            ));
            None
        }
        (None, Some(share)) => Some(Validation::Holdout { share, stratify }),
        (None, None) => Some(Validation::Folds { k: 5, stratify }),
    };
    if def.params.is_empty() {
        issues.push(format!(
            "step '{id}': search.params is empty; give the values to search, e.g. params = {{ c = [0.1, 1.0] }}"
        ));
    }
    match (random, def.trials) {
        (true, None) => issues.push(format!(
            "step '{id}': a random search needs search.trials (how many to draw)"
        )),
        (true, Some(n)) if n < 1 || n as usize > MAX_TRIALS => issues.push(format!(
            "step '{id}': search.trials must be 1 to {MAX_TRIALS}, got {n}"
        )),
        (false, Some(_)) => issues.push(format!(
            "step '{id}': search.trials is for method = \"random\"; a grid tries every combination"
        )),
        _ => {}
    }

    // Each searched param: its spec, and its values or distribution.
    let mut spaces: Vec<(String, Space)> = Vec::new();
    for (name, value) in &def.params {
        let Some(spec) = plugin.param_spec(name) else {
            let known: Vec<&str> = plugin.info.params.iter().map(|p| p.name.as_str()).collect();
            issues.push(format!(
                "step '{id}': search.params: unknown param '{name}' for plugin {} (known: {})",
                plugin.label(),
                known.join(", ")
            ));
            continue;
        };
        match space(&spec.kind, value, random) {
            Ok(s) => {
                // A range is convex: its ends bound what a distribution draws.
                if let Some(why) = s.ends().iter().find_map(|v| refusal(spec, v)) {
                    issues.push(format!(
                        "step '{id}': search.params.{name}: a value {why} (plugin {})",
                        plugin.label()
                    ));
                }
                spaces.push((name.clone(), s))
            }
            Err(e) => issues.push(format!(
                "step '{id}': search.params.{name} ({} param of plugin {}): {e}",
                spec.kind,
                plugin.label()
            )),
        }
    }
    if issues.len() > before {
        return None;
    }

    let points: Vec<Vec<(String, wit::ParamValue)>> = if random {
        let mut rng = SplitMix64(seed ^ 0x5EA2_C4ED_0000_0001);
        let n = def.trials.expect("checked") as usize;
        (0..n)
            .map(|_| {
                spaces
                    .iter()
                    .map(|(name, s)| (name.clone(), s.draw(&mut rng)))
                    .collect()
            })
            .collect()
    } else {
        let size = spaces
            .iter()
            .try_fold(1usize, |acc, (_, s)| acc.checked_mul(s.len()));
        match size {
            Some(n) if n <= MAX_TRIALS => {}
            _ => {
                issues.push(format!(
                    "step '{id}': the search grid has {} combinations, more than {MAX_TRIALS}; \
                     use fewer values or method = \"random\"",
                    size.map_or_else(|| "too many".to_string(), |n| n.to_string())
                ));
                return None;
            }
        }
        grid(&spaces)
    };
    let trials = points
        .into_iter()
        .map(|point| {
            let mut params: Vec<wit::Param> = base
                .iter()
                .filter(|p| !point.iter().any(|(n, _)| n == &p.name))
                .cloned()
                .collect();
            let mut searched = serde_json::Map::new();
            for (name, value) in point {
                searched.insert(name.clone(), param_json(&value));
                params.push(wit::Param { name, value });
            }
            Trial {
                params,
                searched: Value::Object(searched),
            }
        })
        .collect();
    Some(Search {
        random,
        validation: validation.expect("checked"),
        metric: metric.expect("checked"),
        positive: def.positive.clone().unwrap_or_else(|| "1".into()),
        trials,
    })
}

/// The values one param may take.
#[derive(Debug, Clone)]
pub(super) enum Space {
    Values(Vec<wit::ParamValue>),
    Uniform { lo: f64, hi: f64, log: bool },
    IntUniform { lo: i64, hi: i64, as_number: bool },
}

impl Space {
    /// Its values, or the ends of its distribution.
    fn ends(&self) -> Vec<wit::ParamValue> {
        match self {
            Space::Values(v) => v.clone(),
            Space::Uniform { lo, hi, .. } => {
                vec![wit::ParamValue::Number(*lo), wit::ParamValue::Number(*hi)]
            }
            Space::IntUniform { lo, hi, .. } => {
                vec![wit::ParamValue::Integer(*lo), wit::ParamValue::Integer(*hi)]
            }
        }
    }

    fn len(&self) -> usize {
        match self {
            Space::Values(v) => v.len(),
            _ => usize::MAX,
        }
    }

    pub(super) fn draw(&self, rng: &mut SplitMix64) -> wit::ParamValue {
        match self {
            Space::Values(v) => v[rng.below(v.len())].clone(),
            Space::Uniform { lo, hi, log: false } => {
                wit::ParamValue::Number(lo + (hi - lo) * rng.unit())
            }
            Space::Uniform { lo, hi, log: true } => {
                let (a, b) = (lo.ln(), hi.ln());
                wit::ParamValue::Number((a + (b - a) * rng.unit()).exp())
            }
            Space::IntUniform { lo, hi, as_number } => {
                let span = (hi - lo) as u64 + 1;
                let v = lo + rng.below(span as usize) as i64;
                if *as_number {
                    wit::ParamValue::Number(v as f64)
                } else {
                    wit::ParamValue::Integer(v)
                }
            }
        }
    }
}

pub(super) fn space(kind: &str, value: &toml::Value, random: bool) -> Result<Space, String> {
    match value {
        toml::Value::Array(items) => {
            if items.is_empty() {
                return Err("the list of values is empty".into());
            }
            // A `numbers` param takes a list per value: a list of lists.
            items
                .iter()
                .map(|v| {
                    convert_value(kind, v)
                        .ok_or_else(|| format!("value `{v}` is not of kind {kind}"))
                })
                .collect::<Result<Vec<_>, _>>()
                .map(Space::Values)
        }
        toml::Value::Table(t) if random => {
            let (dist, range) = match t.iter().collect::<Vec<_>>().as_slice() {
                [(d, r)] => (d.as_str(), *r),
                _ => {
                    return Err(
                        "give one of { uniform = [lo, hi] }, { log_uniform = [lo, hi] }, \
                         { int_uniform = [lo, hi] }"
                            .into(),
                    );
                }
            };
            let ends: Vec<&toml::Value> = match range {
                toml::Value::Array(a) if a.len() == 2 => a.iter().collect(),
                _ => return Err(format!("{dist} takes [lo, hi], got `{range}`")),
            };
            match dist {
                "uniform" | "log_uniform" => {
                    if kind != "number" {
                        return Err(format!("{dist} draws numbers; use a list of values"));
                    }
                    let num = |v: &toml::Value| match v {
                        toml::Value::Float(f) => Some(*f),
                        toml::Value::Integer(i) => Some(*i as f64),
                        _ => None,
                    };
                    let (Some(lo), Some(hi)) = (num(ends[0]), num(ends[1])) else {
                        return Err(format!("{dist} takes two numbers, got `{range}`"));
                    };
                    let log = dist == "log_uniform";
                    if !(lo.is_finite() && hi.is_finite() && lo < hi) || (log && lo <= 0.0) {
                        return Err(format!(
                            "{dist} needs finite lo < hi{}, got [{lo}, {hi}]",
                            if log { " and lo > 0" } else { "" }
                        ));
                    }
                    Ok(Space::Uniform { lo, hi, log })
                }
                "int_uniform" => {
                    if kind != "integer" && kind != "number" {
                        return Err("int_uniform draws integers; use a list of values".into());
                    }
                    let (Some(lo), Some(hi)) = (ends[0].as_integer(), ends[1].as_integer()) else {
                        return Err(format!("int_uniform takes two integers, got `{range}`"));
                    };
                    if lo > hi || hi - lo >= i64::from(u32::MAX) {
                        return Err(format!("int_uniform needs lo <= hi, got [{lo}, {hi}]"));
                    }
                    Ok(Space::IntUniform {
                        lo,
                        hi,
                        as_number: kind == "number",
                    })
                }
                other => Err(format!(
                    "unknown distribution '{other}' (uniform, log_uniform, int_uniform)"
                )),
            }
        }
        toml::Value::Table(_) => {
            Err("a grid takes a list of values; distributions are for method = \"random\"".into())
        }
        other => Err(format!(
            "give a list of values to try, e.g. [{other}], not a single value"
        )),
    }
}

/// Every combination, the last param varying fastest (scikit-learn's
/// `ParameterGrid` order with the params sorted by name).
pub(super) fn grid(spaces: &[(String, Space)]) -> Vec<Vec<(String, wit::ParamValue)>> {
    let mut points: Vec<Vec<(String, wit::ParamValue)>> = vec![Vec::new()];
    for (name, s) in spaces {
        let Space::Values(values) = s else {
            unreachable!("grid spaces are lists");
        };
        points = points
            .into_iter()
            .flat_map(|p| {
                values.iter().map(move |v| {
                    let mut q = p.clone();
                    q.push((name.clone(), v.clone()));
                    q
                })
            })
            .collect();
    }
    points
}
