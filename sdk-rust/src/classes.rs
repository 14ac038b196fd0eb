//! The classes of a classification target, kept in the target's own type.
//!
//! Classes are sorted as `logreg` sorts them (numbers numerically, `false`
//! before `true`, strings by bytes) and render as text the way
//! [`Column::value_text`] does, for `p_<class>` column names: `p_0`,
//! `p_2.5`, `p_true`, `p_yes`.
//!
//! Used by the `knn` and `decision-tree` trainers, whose serialized models
//! embed [`Classes::write`]'s bytes.

use std::collections::BTreeSet;

use crate::codec::{ByteReader, ByteWriter};
use crate::{Column, StepError, Values};

/// The distinct classes, sorted, in the target's own type.
#[derive(Debug, Clone, PartialEq)]
pub enum Classes {
    /// Float labels, in `f64::total_cmp` order (`-0.0` and `0.0` are one
    /// class).
    F64(Vec<f64>),
    /// Integer labels, ascending.
    I64(Vec<i64>),
    /// Boolean labels (`false` before `true`).
    Bool(Vec<bool>),
    /// String labels, in byte order.
    Str(Vec<String>),
}

impl Classes {
    /// The sorted classes of `target` and each row's class index.
    pub fn from_target(target: &Column) -> Result<(Classes, Vec<usize>), StepError> {
        if target.has_nulls() {
            return Err(StepError::invalid_input(format!(
                "target '{}' has {} nulls; drop or impute them first",
                target.name,
                target.null_count()
            )));
        }
        fn index<T: PartialOrd>(classes: &[T], v: &T) -> usize {
            classes.partition_point(|c| c < v)
        }
        Ok(match &target.values {
            Values::F64(v) => {
                if v.iter().any(|x| x.is_nan()) {
                    return Err(StepError::invalid_input(format!(
                        "target '{}' has NaN labels",
                        target.name
                    )));
                }
                let mut distinct = v.clone();
                distinct.sort_by(f64::total_cmp);
                // -0.0 and 0.0 are one class, as they compare equal.
                distinct.dedup_by(|a, b| a == b);
                let y = v.iter().map(|x| index(&distinct, x)).collect();
                (Classes::F64(distinct), y)
            }
            Values::I64(v) => {
                let distinct: Vec<i64> = v
                    .iter()
                    .copied()
                    .collect::<BTreeSet<_>>()
                    .into_iter()
                    .collect();
                let y = v.iter().map(|x| index(&distinct, x)).collect();
                (Classes::I64(distinct), y)
            }
            Values::Bool(v) => {
                let distinct: Vec<bool> = v
                    .iter()
                    .copied()
                    .collect::<BTreeSet<_>>()
                    .into_iter()
                    .collect();
                let y = v.iter().map(|x| index(&distinct, x)).collect();
                (Classes::Bool(distinct), y)
            }
            Values::Str(v) => {
                let distinct: Vec<String> = v
                    .iter()
                    .map(String::as_str)
                    .collect::<BTreeSet<_>>()
                    .into_iter()
                    .map(str::to_string)
                    .collect();
                let y = v.iter().map(|x| index(&distinct, x)).collect();
                (Classes::Str(distinct), y)
            }
        })
    }

    /// How many distinct classes the target had.
    pub fn len(&self) -> usize {
        match self {
            Classes::F64(c) => c.len(),
            Classes::I64(c) => c.len(),
            Classes::Bool(c) => c.len(),
            Classes::Str(c) => c.len(),
        }
    }

    /// Whether there is no class at all (an empty target).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The classes rendered as text, as in `p_<class>` column names.
    pub fn texts(&self) -> Vec<String> {
        match self {
            Classes::F64(c) => c.iter().map(|x| x.to_string()).collect(),
            Classes::I64(c) => c.iter().map(|x| x.to_string()).collect(),
            Classes::Bool(c) => c.iter().map(|x| x.to_string()).collect(),
            Classes::Str(c) => c.clone(),
        }
    }

    /// A `prediction` column: class `index[i]` at row `i`.
    pub fn column(&self, index: &[usize]) -> Column {
        fn pick<T: Clone>(c: &[T], index: &[usize]) -> Vec<T> {
            index.iter().map(|&i| c[i].clone()).collect()
        }
        let values = match self {
            Classes::F64(c) => Values::F64(pick(c, index)),
            Classes::I64(c) => Values::I64(pick(c, index)),
            Classes::Bool(c) => Values::Bool(pick(c, index)),
            Classes::Str(c) => Values::Str(pick(c, index)),
        };
        Column::new("prediction", values)
    }

    /// Appends the classes to a fitted model's blob: a type byte, then the
    /// values.
    pub fn write(&self, w: &mut ByteWriter) {
        match self {
            Classes::F64(c) => {
                w.u8(0);
                w.f64s(c);
            }
            Classes::I64(c) => {
                w.u8(1);
                w.i64s(c);
            }
            Classes::Bool(c) => {
                w.u8(2);
                w.bools(c);
            }
            Classes::Str(c) => {
                w.u8(3);
                w.strs(c);
            }
        }
    }

    /// Reads back what [`Classes::write`] wrote; an unknown type byte is an
    /// invalid-input error (a corrupt model).
    pub fn read(r: &mut ByteReader<'_>) -> Result<Classes, StepError> {
        Ok(match r.u8()? {
            0 => Classes::F64(r.f64s()?),
            1 => Classes::I64(r.i64s()?),
            2 => Classes::Bool(r.bools()?),
            3 => Classes::Str(r.strs()?),
            k => {
                return Err(StepError::invalid_input(format!(
                    "corrupt model: unknown label type {k}"
                )));
            }
        })
    }
}

/// `p_<class>` columns (one per class, `proba[row][class]`) and the
/// `prediction` column: the most probable class, ties to the first (lowest)
/// class as scikit-learn's `argmax`.
pub fn class_outputs(classes: &Classes, proba: &[Vec<f64>]) -> Vec<Column> {
    let texts = classes.texts();
    let mut columns: Vec<Column> = texts
        .iter()
        .enumerate()
        .map(|(k, text)| Column::f64(format!("p_{text}"), proba.iter().map(|p| p[k]).collect()))
        .collect();
    let best: Vec<usize> = proba.iter().map(|p| argmax(p)).collect();
    columns.push(classes.column(&best));
    columns
}

/// Turns raw scores into probabilities in place: `exp(z_k - max) / sum`.
pub fn softmax(z: &mut [f64]) {
    let max = z.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let mut sum = 0.0;
    for v in z.iter_mut() {
        *v = (*v - max).exp();
        sum += *v;
    }
    for v in z.iter_mut() {
        *v /= sum;
    }
}

/// The index of the largest entry, the first one on ties.
pub fn argmax(values: &[f64]) -> usize {
    let mut best = 0;
    for (i, &v) in values.iter().enumerate() {
        if v > values[best] {
            best = i;
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn softmax_is_shift_invariant_and_sums_to_one() {
        let mut a = [1.0, 2.0, 3.0];
        let mut b = [1001.0, 1002.0, 1003.0];
        softmax(&mut a);
        softmax(&mut b);
        // exp(1) / (exp(1) + exp(2) + exp(3)) == 0.09003057317038046
        assert!((a[0] - 0.090_030_573_170_380_46).abs() < 1e-15, "{a:?}");
        assert!((a.iter().sum::<f64>() - 1.0).abs() < 1e-15);
        for (x, y) in a.iter().zip(&b) {
            assert!((x - y).abs() < 1e-15, "{a:?} vs {b:?}");
        }
        assert_eq!(argmax(&a), 2);
    }
}
