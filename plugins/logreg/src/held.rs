//! A binary model held with a table for `predict-replacing`
//! ([`HeldBinary`]): the scores' partial sums kept, so that replacing a
//! feature recomputes only what it changes, to the bits `predict` gives.
//! Not for the model's encoding: that is [`crate::state`].

use sluice_sdk::{Column, StepError, Table, Values};

use crate::binary;
use crate::state::{LABEL_BY_SIGMOID, LogisticModel};

/// A binary model held with a table for `predict-replacing`: the scores'
/// partial sums before each group of four features (see
/// [`binary::decision_from`]), so that replacing a feature recomputes the
/// scores from its group on, not from the first feature, and gives the
/// very bits `predict` gives on the replaced table.
pub struct HeldBinary {
    model: LogisticModel,
    features: Table,
    /// The column of `features` that holds each of the model's features.
    column_of: Vec<usize>,
    /// `partial[g]`: the scores before the model's feature `4 g`, up to
    /// [`binary::quads_end`].
    partial: Vec<Vec<f64>>,
    /// The scores of the held table.
    scores: Vec<f64>,
    /// `|b| + sum |w_k x_k|` of each held row: what bounds the rounding
    /// error of its score (see [`HeldBinary::labels_replacing`]).
    magnitude: Vec<f64>,
}

impl HeldBinary {
    /// The table back when the model is not binary, or the table lacks a
    /// feature, has one that predict would refuse or convert, or gives a
    /// non-finite score: those go the general way
    /// ([`sluice_sdk::HeldTable`]), which answers (and fails) exactly as
    /// `predict`.
    pub fn new(model: LogisticModel, features: Table) -> Result<HeldBinary, Table> {
        if model.coef.len() != 1 {
            return Err(features);
        }
        let Some(column_of) = model
            .features
            .iter()
            .map(|name| features.columns.iter().position(|c| c.name == *name))
            .collect::<Option<Vec<_>>>()
        else {
            return Err(features);
        };
        let rows = features.num_rows();
        let partial;
        let scores;
        let magnitude;
        {
            let refs = column_of
                .iter()
                .map(|&j| match &features.columns[j] {
                    Column {
                        values: Values::F64(v),
                        valid: None,
                        ..
                    } => Some(v.as_slice()),
                    _ => None,
                })
                .collect::<Option<Vec<&[f64]>>>();
            let Some(refs) = refs else {
                return Err(features);
            };
            let (coef, intercept) = (&model.coef[0], model.intercept[0]);
            let end = binary::quads_end(&refs, coef, rows);
            let mut sums = vec![vec![intercept; rows]];
            for g in 0..end / 4 {
                let next = binary::decision_from(
                    &refs[..4 * (g + 1)],
                    &coef[..4 * (g + 1)],
                    sums[g].clone(),
                    4 * g,
                );
                sums.push(next);
            }
            scores = binary::decision_from(&refs, coef, sums[end / 4].clone(), end);
            partial = sums;
            magnitude = {
                let mut m = vec![intercept.abs(); rows];
                for (x, w) in refs.iter().zip(coef) {
                    for (m, x) in m.iter_mut().zip(*x) {
                        *m += w.abs() * x.abs();
                    }
                }
                m
            };
        }
        if !scores.iter().all(|z| z.is_finite()) {
            return Err(features);
        }
        Ok(HeldBinary {
            model,
            features,
            column_of,
            partial,
            scores,
            magnitude,
        })
    }

    /// `predict` on the held table with `columns` swapped in, the general
    /// way (for what the fast way does not cover, errors included).
    fn predict_swapped(&mut self, at: &[usize], columns: Vec<Column>) -> Result<Table, StepError> {
        let originals = sluice_sdk::swap_columns(&mut self.features, at, columns);
        let out = self.model.predict(&self.features);
        sluice_sdk::swap_columns(&mut self.features, at, originals);
        out
    }
}

/// What [`HeldBinary::scores_replacing`] found: the scores, or the general
/// way's whole answer.
enum Replaced {
    Scores(Vec<f64>),
    Answer(Table),
}

impl sluice_sdk::Held for HeldBinary {
    fn predict_replacing(&mut self, columns: Vec<Column>) -> Result<Table, StepError> {
        Ok(match self.scores_replacing(columns)? {
            Replaced::Scores(z) => self.model.binary_outputs(z),
            Replaced::Answer(table) => table,
        })
    }

    /// Asked for `prediction` only, the labels come from the scores without
    /// the probabilities (no `exp`): the same labels.
    fn predict_outputs(
        &mut self,
        columns: Vec<Column>,
        outputs: &[String],
    ) -> Result<Table, StepError> {
        if outputs != ["prediction"] {
            return sluice_sdk::select_outputs(self.predict_replacing(columns)?, outputs);
        }
        if let Some(labels) = self.labels_replacing(&columns)? {
            return Ok(Table::new().with(labels));
        }
        match self.scores_replacing(columns)? {
            Replaced::Scores(z) => Ok(Table::new().with(self.model.binary_labels(&z))),
            Replaced::Answer(table) => sluice_sdk::select_outputs(table, outputs),
        }
    }
}

impl HeldBinary {
    /// The model's features among `columns` (at `at` in the held table),
    /// by their index in the model, as f64 without nulls; None when one
    /// is not (the general way answers those).
    fn new_features<'c>(
        &self,
        at: &[usize],
        columns: &'c [Column],
    ) -> Option<Vec<(usize, &'c [f64])>> {
        let mut new = Vec::new();
        for (&j, column) in at.iter().zip(columns) {
            let Some(k) = self.column_of.iter().position(|&c| c == j) else {
                continue; // not a feature: predict ignores it
            };
            match column {
                Column {
                    values: Values::F64(v),
                    valid: None,
                    ..
                } => new.push((k, v.as_slice())),
                _ => return None,
            }
        }
        Some(new)
    }

    /// The held values of each of the model's features.
    fn held_features(&self) -> Vec<&[f64]> {
        self.column_of
            .iter()
            .map(|&j| match &self.features.columns[j].values {
                Values::F64(v) => v.as_slice(),
                _ => unreachable!("HeldBinary::new keeps f64 features only"),
            })
            .collect()
    }

    /// The `prediction` column `predict` gives on the held table with
    /// `columns` swapped in, from the held scores moved by the replaced
    /// features' change (`z + w (new - old)`, one pass) instead of sums
    /// over every feature. That score differs from `predict`'s by rounding
    /// only, at most a few hundred units in the last place of the row's
    /// magnitude (`|b| + sum |w_k x_k|`, held and new values together); a
    /// row whose moved score is within that slack of
    /// [`LABEL_BY_SIGMOID`] gets its score summed exactly as `predict`
    /// sums it, and its label as `predict` gives it. So the labels are
    /// `predict`'s. None for what this does not cover (a feature that is
    /// not f64 without nulls, a non-finite score).
    fn labels_replacing(&self, columns: &[Column]) -> Result<Option<Column>, StepError> {
        let at = sluice_sdk::check_replacing(&self.features, columns)?;
        let Some(new) = self.new_features(&at, columns) else {
            return Ok(None);
        };
        let held = self.held_features();
        let coef = &self.model.coef[0];
        let mut z = self.scores.clone();
        let mut magnitude = self.magnitude.clone();
        for &(k, v) in &new {
            let w = coef[k];
            for (((z, m), &a), &b) in z.iter_mut().zip(&mut magnitude).zip(v).zip(held[k]) {
                *z += w * (a - b);
                *m += w.abs() * a.abs();
            }
        }
        if !z.iter().all(|z| z.is_finite()) {
            return Ok(None);
        }
        // 2^-45: 256 units in the last place, a wide margin over the
        // error of two sums of up to a few hundred terms each.
        const SLACK: f64 = 1.0 / (1u64 << 45) as f64;
        let mut best: Vec<usize> = z.iter().map(|&z| usize::from(z > 0.0)).collect();
        let near: Vec<usize> = (0..z.len())
            .filter(|&i| z[i].abs() <= LABEL_BY_SIGMOID + SLACK * (magnitude[i] + z[i].abs()))
            .collect();
        if !near.is_empty() {
            let mut refs = held;
            for &(k, v) in &new {
                refs[k] = v;
            }
            let intercept = self.model.intercept[0];
            // Each score as `binary::decision` sums it: in feature order.
            let exact: Vec<f64> = near
                .iter()
                .map(|&i| {
                    refs.iter()
                        .zip(coef)
                        .fold(intercept, |z, (x, w)| z + w * x[i])
                })
                .collect();
            for (&i, label) in near.iter().zip(LogisticModel::labels_of(&exact)) {
                best[i] = label;
            }
        }
        Ok(Some(self.model.classes.column(&best)))
    }

    /// The scores of the held table with `columns` swapped in, from the
    /// partial sums; or the whole answer of the general way (for what the
    /// fast way does not cover).
    fn scores_replacing(&mut self, columns: Vec<Column>) -> Result<Replaced, StepError> {
        let at = sluice_sdk::check_replacing(&self.features, &columns)?;
        let Some(new) = self.new_features(&at, &columns) else {
            return self.predict_swapped(&at, columns).map(Replaced::Answer);
        };
        let Some(first) = new.iter().map(|&(k, _)| k).min() else {
            return Ok(Replaced::Scores(self.scores.clone()));
        };
        let mut refs = self.held_features();
        for &(k, v) in &new {
            refs[k] = v;
        }
        let coef = &self.model.coef[0];
        let end = binary::quads_end(&refs, coef, self.scores.len());
        let from = if first < end { first - first % 4 } else { end };
        let z = binary::decision_from(&refs, coef, self.partial[from.min(end) / 4].clone(), from);
        if !z.iter().all(|z| z.is_finite()) {
            // predict's own error (or answer) for a non-finite value.
            return self.predict_swapped(&at, columns).map(Replaced::Answer);
        }
        Ok(Replaced::Scores(z))
    }
}
