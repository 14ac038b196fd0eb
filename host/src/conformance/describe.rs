//! The `describe` check's rules: what makes a plugin's describe() valid
//! (a name, a version, a kind matching its world, unique params of known
//! kinds with defaults of the declared kind and among the values they
//! allow; choices only on text params, ranges only on numbers). Not where describe() is
//! called (the suite, in the parent module).

use crate::pipeline::params::{refusal, value_kind};
use crate::runtime::World;
use crate::runtime::bindings::types;

const PARAM_KINDS: [&str; 5] = ["number", "integer", "flag", "text", "numbers"];

/// What is wrong with a plugin's describe(), if anything.
pub fn describe_problems(info: &types::PluginInfo, world: World) -> Vec<String> {
    let mut problems = Vec::new();
    if info.name.is_empty() {
        problems.push("the name is empty".to_string());
    }
    if info.version.is_empty() {
        problems.push("the version is empty".to_string());
    }
    if World::of_kind(info.kind) != world {
        problems.push(format!(
            "kind {:?} does not match the {world} world",
            info.kind
        ));
    }
    let mut seen = std::collections::BTreeSet::new();
    for p in &info.params {
        if !seen.insert(p.name.as_str()) {
            problems.push(format!("param '{}' is declared twice", p.name));
        }
        if !PARAM_KINDS.contains(&p.kind.as_str()) {
            problems.push(format!(
                "param '{}' has kind '{}', not one of {}",
                p.name,
                p.kind,
                PARAM_KINDS.join(", ")
            ));
        } else if let Some(d) = &p.default
            && value_kind(d) != p.kind
        {
            problems.push(format!(
                "param '{}' is a {} but its default is a {}",
                p.name,
                p.kind,
                value_kind(d)
            ));
        } else if let Some(d) = &p.default
            && let Some(why) = refusal(p, d)
        {
            problems.push(format!("param '{}': its default {why}", p.name));
        }
        if !p.choices.is_empty() && p.kind != "text" {
            problems.push(format!(
                "param '{}' has choices, but only a text param may",
                p.name
            ));
        }
        if p.range.is_some() && !matches!(p.kind.as_str(), "number" | "integer" | "numbers") {
            problems.push(format!(
                "param '{}' has a range, but only a number, integer or numbers param may",
                p.name
            ));
        }
    }
    problems
}
