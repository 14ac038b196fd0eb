//! `sluice runs show RUN --checks`: each validator step's checks, read
//! from the `report` artifact it stored, as a table: the check, the column
//! it is about, its outcome, and the observed value and bound read out of
//! the plugin's detail text. Failed checks come first.
//!
//! A check is a name, an outcome and a free-form detail (the WIT `check`
//! record), so the observed value and the bound are recognised in the
//! detail's wording: `... 0.97 (minimum 0.95)`, `maximum 0.05`, `need
//! 100`, `p-value 0.3 > 0.05`, `[0, 100]` with `observed min 1, max 9`.
//! A detail none of these fits keeps both empty; the detail is shown
//! either way, its very long numbers (`1e300` printed in full) shortened.

use super::output::{fmt_num, outln, table};
use serde_json::{Value, json};
use sluice::artifacts::{ArtifactDigest, ArtifactStore};
use sluice::meta::RunRecord;

/// A number in a detail: where it starts and ends, and its value.
struct Num {
    start: usize,
    end: usize,
    value: f64,
}

/// The standalone numbers of `text` (not part of a word like `p_1`).
fn numbers(text: &str) -> Vec<Num> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let starts =
            b[i].is_ascii_digit() || (b[i] == b'-' && b.get(i + 1).is_some_and(u8::is_ascii_digit));
        let glued = i > 0 && (b[i - 1].is_ascii_alphanumeric() || matches!(b[i - 1], b'_' | b'.'));
        if !starts || glued {
            i += 1;
            continue;
        }
        let mut end = i + 1;
        while end < b.len() && (b[end].is_ascii_digit() || matches!(b[end], b'.' | b'e' | b'E'))
            || (end < b.len() && matches!(b[end], b'+' | b'-') && matches!(b[end - 1], b'e' | b'E'))
        {
            end += 1;
        }
        // The longest prefix that is a number ("0.5." ends a sentence).
        let mut j = end;
        while j > i {
            if let Ok(value) = text[i..j].parse::<f64>() {
                out.push(Num {
                    start: i,
                    end: j,
                    value,
                });
                break;
            }
            j -= 1;
        }
        i = end.max(i + 1);
    }
    out
}

/// The bound a check's detail states.
#[derive(Debug, Clone, PartialEq)]
pub enum Bound {
    /// At least this (`minimum`, `need`).
    Min(f64),
    /// At most this (`maximum`).
    Max(f64),
    /// Compared with this (`<`, `>=`, ...: the detail says which way).
    Threshold(&'static str, f64),
    /// Within this range, ends included.
    Range(f64, f64),
}

impl Bound {
    fn text(&self) -> String {
        match self {
            Bound::Min(v) => format!(">= {}", fmt_num(*v)),
            Bound::Max(v) => format!("<= {}", fmt_num(*v)),
            Bound::Threshold(_, v) => format!("threshold {}", fmt_num(*v)),
            Bound::Range(lo, hi) => format!("[{}, {}]", fmt_num(*lo), fmt_num(*hi)),
        }
    }

    fn json(&self) -> Value {
        match self {
            Bound::Min(v) => json!({"op": ">=", "value": v}),
            Bound::Max(v) => json!({"op": "<=", "value": v}),
            Bound::Threshold(op, v) => json!({"op": op, "value": v}),
            Bound::Range(lo, hi) => json!({"op": "in", "low": lo, "high": hi}),
        }
    }
}

/// What a check's detail says was observed.
#[derive(Debug, Clone, PartialEq)]
pub enum Observed {
    Value(f64),
    /// The smallest and largest value seen (a range check).
    Span(f64, f64),
}

impl Observed {
    fn text(&self) -> String {
        match self {
            Observed::Value(v) => fmt_num(*v),
            Observed::Span(lo, hi) => format!("{}..{}", fmt_num(*lo), fmt_num(*hi)),
        }
    }

    fn json(&self) -> Value {
        match self {
            Observed::Value(v) => json!(v),
            Observed::Span(lo, hi) => json!({"min": lo, "max": hi}),
        }
    }
}

/// The observed value and the bound a detail states, as far as its
/// wording is recognised (see the module docs).
pub fn parse_detail(detail: &str) -> (Option<Observed>, Option<Bound>) {
    let nums = numbers(detail);
    let before = |at: usize| {
        nums.iter()
            .rev()
            .find(|n| n.end <= at)
            .map(|n| Observed::Value(n.value))
    };
    // A range: `[lo, hi]`, observed as `observed min X, max Y` if stated.
    if let Some(open) = detail.find('[') {
        let inside: Vec<&Num> = nums.iter().filter(|n| n.start > open).take(2).collect();
        let closed = detail[open..].find(']').map(|c| open + c);
        if let (Some(close), [lo, hi]) = (closed, inside.as_slice())
            && hi.end <= close
        {
            let bound = Bound::Range(lo.value, hi.value);
            let observed = detail.find("observed min").and_then(|at| {
                let span: Vec<&Num> = nums.iter().filter(|n| n.start > at).take(2).collect();
                match span.as_slice() {
                    [a, b] => Some(Observed::Span(a.value, b.value)),
                    _ => None,
                }
            });
            let first = nums.first().filter(|n| n.end <= open);
            let observed = observed.or(first.map(|n| Observed::Value(n.value)));
            return (observed, Some(bound));
        }
    }
    // A word, or a comparison, right before a number.
    for n in &nums {
        let head = detail[..n.start].trim_end();
        let head = head.trim_end_matches('(').trim_end();
        let bound = if head.ends_with("minimum") || head.ends_with("need") {
            Bound::Min(n.value)
        } else if head.ends_with("maximum") {
            Bound::Max(n.value)
        } else if let Some(op) = [">=", "<=", ">", "<"]
            .into_iter()
            .find(|op| head.ends_with(op))
        {
            Bound::Threshold(op, n.value)
        } else {
            continue;
        };
        return (before(n.start), Some(bound));
    }
    (None, None)
}

/// `detail` with its long numbers (more than 10 characters) shortened.
pub fn shorten_numbers(detail: &str) -> String {
    let mut out = String::with_capacity(detail.len());
    let mut at = 0;
    for n in numbers(detail).iter().filter(|n| n.end - n.start > 10) {
        out.push_str(&detail[at..n.start]);
        out.push_str(&fmt_num(n.value));
        at = n.end;
    }
    out.push_str(&detail[at..]);
    out
}

/// One check of one validator step.
pub struct CheckRow {
    pub step: String,
    pub plugin: String,
    pub name: String,
    pub passed: bool,
    pub detail: String,
}

impl CheckRow {
    /// The check's kind and the column it is about: `nulls:age` is
    /// `nulls` of `age`; a name without a colon is about no column.
    fn split_name(&self) -> (&str, Option<&str>) {
        match self.name.split_once(':') {
            Some((kind, column)) => (kind, Some(column)),
            None => (&self.name, None),
        }
    }

    pub fn json(&self) -> Value {
        let (observed, bound) = parse_detail(&self.detail);
        let (_, column) = self.split_name();
        json!({
            "step": self.step,
            "plugin": self.plugin,
            "check": self.name,
            "column": column,
            "passed": self.passed,
            "observed": observed.map(|o| o.json()),
            "bound": bound.map(|b| b.json()),
            "detail": self.detail,
        })
    }
}

/// Every check the run's validator steps reported, step by step, failed
/// ones first within a step. A step that stored no report (it failed
/// before it had one) has none.
pub async fn load_checks(store: &ArtifactStore, run: &RunRecord) -> anyhow::Result<Vec<CheckRow>> {
    let mut rows = Vec::new();
    for s in run.steps.iter().filter(|s| s.kind == "validator") {
        let Some((_, digest)) = s.outputs.iter().find(|(name, _)| name == "report") else {
            continue;
        };
        let report = read_json(store, digest, &s.step_id, "report").await?;
        let mut checks: Vec<CheckRow> = report["checks"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|c| CheckRow {
                step: s.step_id.clone(),
                plugin: s.plugin_name.clone(),
                name: c["name"].as_str().unwrap_or_default().to_owned(),
                passed: c["passed"].as_bool().unwrap_or(false),
                detail: c["detail"].as_str().unwrap_or_default().to_owned(),
            })
            .collect();
        checks.sort_by_key(|c| c.passed);
        rows.extend(checks);
    }
    Ok(rows)
}

/// A JSON artifact a step stored; the error names the step and output.
pub async fn read_json(
    store: &ArtifactStore,
    digest: &ArtifactDigest,
    step: &str,
    output: &str,
) -> anyhow::Result<Value> {
    let bytes = store
        .get(digest)
        .await
        .map_err(|e| anyhow::anyhow!("step {step}: reading its {output} ({digest}): {e}"))?;
    serde_json::from_slice(&bytes)
        .map_err(|e| anyhow::anyhow!("step {step}: its {output} ({digest}) is not JSON: {e}"))
}

/// Prints the checks, a table per validator step.
pub fn print_checks(run: &RunRecord, rows: &[CheckRow]) {
    let validators: Vec<_> = run.steps.iter().filter(|s| s.kind == "validator").collect();
    if validators.is_empty() {
        outln!(
            "\nno checks: the run has no validator step (schema-check, drift, holdout-eval, ...)"
        );
        return;
    }
    for s in validators {
        let mine: Vec<&CheckRow> = rows.iter().filter(|r| r.step == s.step_id).collect();
        let failed = mine.iter().filter(|r| !r.passed).count();
        if mine.is_empty() {
            outln!(
                "\nchecks of step {} ({}): none stored (the step {})",
                s.step_id,
                s.plugin_name,
                s.status
            );
            continue;
        }
        outln!(
            "\nchecks of step {} ({}): {} passed, {failed} failed",
            s.step_id,
            s.plugin_name,
            mine.len() - failed
        );
        let mut t = table(&["check", "column", "result", "observed", "bound", "detail"]);
        for r in mine {
            let (observed, bound) = parse_detail(&r.detail);
            let (kind, column) = r.split_name();
            t.add_row(vec![
                kind.to_owned(),
                column.unwrap_or("-").to_owned(),
                if r.passed { "passed" } else { "FAILED" }.to_owned(),
                observed.map_or_else(|| "-".into(), |o| o.text()),
                bound.map_or_else(|| "-".into(), |b| b.text()),
                shorten_numbers(&r.detail),
            ]);
        }
        outln!("{t}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn details_give_observed_and_bound() {
        let huge = format!("log loss 0.074512 (maximum {})", 1e300);
        assert_eq!(
            parse_detail(&huge),
            (Some(Observed::Value(0.074512)), Some(Bound::Max(1e300)))
        );
        assert_eq!(shorten_numbers(&huge), "log loss 0.074512 (maximum 1e300)");
        assert_eq!(
            parse_detail("accuracy 0.97 (minimum 0.95) on 142 rows"),
            (Some(Observed::Value(0.97)), Some(Bound::Min(0.95)))
        );
        assert_eq!(
            parse_detail("0 nulls in 427 rows (fraction 0), maximum 0.05"),
            (Some(Observed::Value(0.0)), Some(Bound::Max(0.05)))
        );
        assert_eq!(
            parse_detail(
                "ks: statistic 0.1, p-value 0.3 > 0.05: no drift (9 reference, 9 current values)"
            ),
            (
                Some(Observed::Value(0.3)),
                Some(Bound::Threshold(">", 0.05))
            )
        );
        assert_eq!(
            parse_detail("all 427 non-null values in [0, 100]; observed min 6.981, max 28.11"),
            (
                Some(Observed::Span(6.981, 28.11)),
                Some(Bound::Range(0.0, 100.0))
            )
        );
        assert_eq!(
            parse_detail("ROC AUC undefined: only one class in the target (minimum 0)"),
            (None, Some(Bound::Min(0.0)))
        );
        assert_eq!(parse_detail("f64"), (None, None));
    }
}
