//! What a step call returned, measured and checked before the host trusts
//! it: its size against `limits.output_mib`, a table's shape.
//!
//! Sizes are canonical-ABI sizes: 8 bytes per f64/s64, 1 per bool, the
//! bytes of a string, and 8 (`HEADER`) bytes for every string and list (its
//! pointer and length). Sums saturate, so no value can overflow them.

use super::bindings::types;

/// The entries of a returned value ([`StepValue::entries`]).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Entries {
    /// Columns of the tables returned.
    pub columns: u64,
    /// Metrics, checks and attributions returned.
    pub metrics: u64,
}

/// The bytes of a string or list header (pointer and length).
const HEADER: u64 = 8;

/// A value a step call returns.
pub trait StepValue {
    /// What it is, for messages ("table", "state", ...).
    const WHAT: &'static str;

    /// Its canonical-ABI size in bytes.
    fn wire_bytes(&self) -> u64;

    /// How many columns (of a table) and metrics, checks and attributions
    /// (of a report, model or explanation) it holds: what
    /// `limits.max_columns` and `limits.max_metrics` bound.
    fn entries(&self) -> Entries {
        Entries::default()
    }

    /// Whether its shape is what the contract promises.
    fn check_shape(&self) -> Result<(), String> {
        Ok(())
    }
}

fn str_bytes(s: &str) -> u64 {
    HEADER.saturating_add(s.len() as u64)
}

fn list_bytes<T>(items: &[T], each: impl Fn(&T) -> u64) -> u64 {
    items
        .iter()
        .fold(HEADER, |sum, item| sum.saturating_add(each(item)))
}

fn scalars<T>(items: &[T]) -> u64 {
    HEADER.saturating_add((items.len() as u64).saturating_mul(size_of::<T>() as u64))
}

fn column_bytes(c: &types::Column) -> u64 {
    let values = match &c.values {
        types::Values::F64s(v) => scalars(v),
        types::Values::I64s(v) => scalars(v),
        types::Values::Bools(v) => scalars(v),
        types::Values::Strings(v) => list_bytes(v, |s| str_bytes(s)),
    };
    let valid = c.valid.as_deref().map_or(0, scalars);
    str_bytes(&c.name)
        .saturating_add(values)
        .saturating_add(valid)
}

fn metrics_bytes(m: &[types::Metric]) -> u64 {
    list_bytes(m, |m| str_bytes(&m.name).saturating_add(8))
}

fn param_value_bytes(v: &types::ParamValue) -> u64 {
    match v {
        types::ParamValue::Text(s) => str_bytes(s),
        types::ParamValue::Numbers(n) => scalars(n),
        _ => 16,
    }
}

impl StepValue for types::Table {
    const WHAT: &'static str = "table";
    fn wire_bytes(&self) -> u64 {
        list_bytes(&self.columns, column_bytes)
    }
    fn entries(&self) -> Entries {
        Entries {
            columns: self.columns.len() as u64,
            metrics: 0,
        }
    }
    fn check_shape(&self) -> Result<(), String> {
        crate::data::check_shape(self)
            .map(|_| ())
            .map_err(|e| format!("an invalid table: {e}"))
    }
}

/// What a model call answers: predictions, or nothing (`hold`).
impl StepValue for Option<types::Table> {
    const WHAT: &'static str = "table";
    fn wire_bytes(&self) -> u64 {
        self.as_ref().map_or(0, StepValue::wire_bytes)
    }
    fn entries(&self) -> Entries {
        self.as_ref()
            .map_or_else(Entries::default, StepValue::entries)
    }
    fn check_shape(&self) -> Result<(), String> {
        self.as_ref().map_or(Ok(()), StepValue::check_shape)
    }
}

impl StepValue for Vec<u8> {
    const WHAT: &'static str = "state";
    fn wire_bytes(&self) -> u64 {
        scalars(self)
    }
}

impl StepValue for types::Trained {
    const WHAT: &'static str = "model";
    fn wire_bytes(&self) -> u64 {
        scalars(&self.model).saturating_add(metrics_bytes(&self.metrics))
    }
    fn entries(&self) -> Entries {
        Entries {
            columns: 0,
            metrics: self.metrics.len() as u64,
        }
    }
}

impl StepValue for types::ValidationReport {
    const WHAT: &'static str = "report";
    fn wire_bytes(&self) -> u64 {
        list_bytes(&self.checks, |c| {
            str_bytes(&c.name)
                .saturating_add(str_bytes(&c.detail))
                .saturating_add(1)
        })
        .saturating_add(metrics_bytes(&self.metrics))
    }
    fn entries(&self) -> Entries {
        Entries {
            columns: 0,
            metrics: (self.checks.len() as u64).saturating_add(self.metrics.len() as u64),
        }
    }
}

impl StepValue for types::Explanation {
    const WHAT: &'static str = "explanation";
    fn wire_bytes(&self) -> u64 {
        list_bytes(&self.global, |a| str_bytes(&a.feature).saturating_add(8))
            .saturating_add(metrics_bytes(&self.metrics))
    }
    fn entries(&self) -> Entries {
        Entries {
            columns: 0,
            metrics: (self.global.len() as u64).saturating_add(self.metrics.len() as u64),
        }
    }
}

impl StepValue for types::PluginInfo {
    const WHAT: &'static str = "plugin info";
    fn wire_bytes(&self) -> u64 {
        let params = list_bytes(&self.params, |p| {
            str_bytes(&p.name)
                .saturating_add(str_bytes(&p.kind))
                .saturating_add(str_bytes(&p.doc))
                .saturating_add(p.default.as_ref().map_or(1, param_value_bytes))
        });
        str_bytes(&self.name)
            .saturating_add(str_bytes(&self.version))
            .saturating_add(str_bytes(&self.doc))
            .saturating_add(1)
            .saturating_add(params)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn column(name: &str, values: types::Values, valid: Option<Vec<bool>>) -> types::Column {
        types::Column {
            name: name.into(),
            values,
            valid,
        }
    }

    #[test]
    fn sizes_count_elements_and_headers() {
        let t = types::Table {
            columns: vec![
                column("a", types::Values::F64s(vec![1.0; 10]), None),
                column(
                    "s",
                    types::Values::Strings(vec!["xyz".into(); 2]),
                    Some(vec![true; 2]),
                ),
            ],
        };
        // list header + ("a": 9, f64s: 8 + 80) + ("s": 9, strings: 8 + 2 * 11, valid: 8 + 2)
        assert_eq!(t.wire_bytes(), 8 + (9 + 88) + (9 + 30 + 10));
        assert_eq!(vec![0u8; 100].wire_bytes(), 108);
        // A huge name counts like huge data.
        let named = types::Table {
            columns: vec![column(
                &"n".repeat(1 << 20),
                types::Values::Bools(vec![]),
                None,
            )],
        };
        assert!(named.wire_bytes() > 1 << 20);
    }

    #[test]
    fn shapes_are_checked_with_the_column_named() {
        let ragged = types::Table {
            columns: vec![
                column("a", types::Values::F64s(vec![1.0, 2.0]), None),
                column("b", types::Values::I64s(vec![1]), None),
            ],
        };
        let e = ragged.check_shape().unwrap_err();
        assert!(e.contains("invalid table") && e.contains("`b`"), "{e}");
        let mask = types::Table {
            columns: vec![column(
                "m",
                types::Values::F64s(vec![1.0, 2.0]),
                Some(vec![true]),
            )],
        };
        let e = mask.check_shape().unwrap_err();
        assert!(e.contains("`m`") && e.contains("validity mask"), "{e}");
        assert!(types::Table { columns: vec![] }.check_shape().is_ok());
    }
}
