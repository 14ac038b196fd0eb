//! Params as a pipeline file writes them and as the contract carries
//! them: TOML values converted to the WIT param of a declared kind, the
//! kind of a value, and a value as JSON (in run records and cache keys).
//! A leaf every layer may use: it knows the contract's types and nothing
//! of plans, plugins or runs.

use crate::wit;

/// A TOML value as a param of kind `kind` ("number", "integer", "flag",
/// "text", "numbers"), or `None` when it is not one.
pub fn convert_value(kind: &str, value: &toml::Value) -> Option<wit::ParamValue> {
    match (kind, value) {
        ("number", toml::Value::Float(f)) => Some(wit::ParamValue::Number(*f)),
        ("number", toml::Value::Integer(i)) => Some(wit::ParamValue::Number(*i as f64)),
        ("integer", toml::Value::Integer(i)) => Some(wit::ParamValue::Integer(*i)),
        ("flag", toml::Value::Boolean(b)) => Some(wit::ParamValue::Flag(*b)),
        ("text", toml::Value::String(s)) => Some(wit::ParamValue::Text(s.clone())),
        ("numbers", toml::Value::Array(items)) => items
            .iter()
            .map(|v| match v {
                toml::Value::Float(f) => Some(*f),
                toml::Value::Integer(i) => Some(*i as f64),
                _ => None,
            })
            .collect::<Option<Vec<f64>>>()
            .map(wit::ParamValue::Numbers),
        _ => None,
    }
}

/// A param value as JSON, as runs record it and cache keys hash it.
pub fn param_json(v: &wit::ParamValue) -> serde_json::Value {
    match v {
        wit::ParamValue::Number(f) => serde_json::json!(f),
        wit::ParamValue::Integer(i) => serde_json::json!(i),
        wit::ParamValue::Flag(b) => serde_json::json!(b),
        wit::ParamValue::Text(s) => serde_json::json!(s),
        wit::ParamValue::Numbers(v) => serde_json::json!(v),
    }
}

/// The kind of a param value, as `describe()` names kinds.
pub fn value_kind(v: &wit::ParamValue) -> &'static str {
    match v {
        wit::ParamValue::Number(_) => "number",
        wit::ParamValue::Integer(_) => "integer",
        wit::ParamValue::Flag(_) => "flag",
        wit::ParamValue::Text(_) => "text",
        wit::ParamValue::Numbers(_) => "numbers",
    }
}

/// The values `spec` allows, as a phrase (`one of: a, b`, `>= 1`,
/// `between 0 and 1`), or `None` when it allows every value of its kind.
pub fn allowed(spec: &wit::ParamSpec) -> Option<String> {
    if !spec.choices.is_empty() {
        return Some(format!("one of: {}", spec.choices.join(", ")));
    }
    let r = spec.range.as_ref()?;
    let op = |inclusive: bool, low: bool| match (inclusive, low) {
        (true, true) => ">=",
        (false, true) => ">",
        (true, false) => "<=",
        (false, false) => "<",
    };
    Some(match (r.min, r.max) {
        (Some(lo), Some(hi)) if r.min_inclusive && r.max_inclusive => {
            format!("between {lo} and {hi}")
        }
        (Some(lo), Some(hi)) => format!(
            "{} {lo} and {} {hi}",
            op(r.min_inclusive, true),
            op(r.max_inclusive, false)
        ),
        (Some(lo), None) => format!("{} {lo}", op(r.min_inclusive, true)),
        (None, Some(hi)) => format!("{} {hi}", op(r.max_inclusive, false)),
        (None, None) => return None,
    })
}

/// Why `value` is not one `spec` allows, if it is not: a text outside
/// its choices, a number (or an element of a list of numbers) outside its
/// range. The message names the value given and what is allowed, with
/// the closest choice when the text looks like a misspelling of one.
pub fn refusal(spec: &wit::ParamSpec, value: &wit::ParamValue) -> Option<String> {
    match value {
        wit::ParamValue::Text(t) if !spec.choices.is_empty() && !spec.choices.contains(t) => {
            let hint = closest(t, spec.choices.iter().map(String::as_str))
                .map(|c| format!(" (did you mean \"{c}\"?)"))
                .unwrap_or_default();
            Some(format!(
                "is \"{t}\", not {}{hint}",
                allowed(spec).unwrap_or_default()
            ))
        }
        wit::ParamValue::Number(_) | wit::ParamValue::Integer(_) | wit::ParamValue::Numbers(_) => {
            let r = spec.range.as_ref()?;
            let inside = |x: f64| {
                let low = r
                    .min
                    .is_none_or(|m| if r.min_inclusive { x >= m } else { x > m });
                let high = r
                    .max
                    .is_none_or(|m| if r.max_inclusive { x <= m } else { x < m });
                low && high && !x.is_nan()
            };
            let xs = match value {
                wit::ParamValue::Number(x) => vec![*x],
                wit::ParamValue::Integer(i) => vec![*i as f64],
                wit::ParamValue::Numbers(v) => v.clone(),
                _ => Vec::new(),
            };
            let bad = xs.into_iter().find(|x| !inside(*x))?;
            Some(format!(
                "is {bad}, but must be {}",
                allowed(spec).unwrap_or_default()
            ))
        }
        _ => None,
    }
}

/// The candidate closest to `given` when it is close enough to be a
/// likely misspelling (an edit distance of at most a third of its length,
/// and at least 1), else `None`.
pub fn closest<'a>(given: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let limit = (given.chars().count() / 3).max(1);
    candidates
        .into_iter()
        .map(|c| (edit_distance(&given.to_lowercase(), &c.to_lowercase()), c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// Levenshtein distance, in chars.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = if ca == *cb {
                prev
            } else {
                1 + prev.min(row[j]).min(row[j + 1])
            };
            prev = cur;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(choices: &[&str], range: Option<wit::NumberRange>) -> wit::ParamSpec {
        wit::ParamSpec {
            name: "p".into(),
            kind: "text".into(),
            default: None,
            doc: String::new(),
            choices: choices.iter().map(|c| c.to_string()).collect(),
            range,
        }
    }

    #[test]
    fn choices_refuse_other_text_with_a_suggestion() {
        let s = spec(&["accuracy", "roc_auc"], None);
        assert_eq!(refusal(&s, &wit::ParamValue::Text("accuracy".into())), None);
        assert_eq!(
            refusal(&s, &wit::ParamValue::Text("acuracy".into())).unwrap(),
            "is \"acuracy\", not one of: accuracy, roc_auc (did you mean \"accuracy\"?)"
        );
        assert_eq!(
            refusal(&s, &wit::ParamValue::Text("f1".into())).unwrap(),
            "is \"f1\", not one of: accuracy, roc_auc"
        );
    }

    #[test]
    fn ranges_refuse_numbers_outside_them() {
        let above_zero = wit::NumberRange {
            min: Some(0.0),
            max: None,
            min_inclusive: false,
            max_inclusive: true,
        };
        let s = spec(&[], Some(above_zero));
        assert_eq!(allowed(&s).unwrap(), "> 0");
        assert_eq!(refusal(&s, &wit::ParamValue::Number(0.1)), None);
        assert_eq!(
            refusal(&s, &wit::ParamValue::Number(0.0)).unwrap(),
            "is 0, but must be > 0"
        );
        assert!(refusal(&s, &wit::ParamValue::Number(f64::NAN)).is_some());
        let unit = wit::NumberRange {
            min: Some(0.0),
            max: Some(1.0),
            min_inclusive: true,
            max_inclusive: true,
        };
        let s = spec(&[], Some(unit));
        assert_eq!(refusal(&s, &wit::ParamValue::Integer(1)), None);
        assert_eq!(
            refusal(&s, &wit::ParamValue::Numbers(vec![0.5, 2.0])).unwrap(),
            "is 2, but must be between 0 and 1"
        );
    }

    #[test]
    fn closest_needs_a_near_name() {
        let names = ["accuracy", "log_loss", "roc_auc"];
        assert_eq!(closest("acuracy", names), Some("accuracy"));
        assert_eq!(closest("roc-auc", names), Some("roc_auc"));
        assert_eq!(closest("f1", names), None);
    }
}
