//! The usable rows of the current data and of the reference: whether each
//! prediction is the positive class, its score and (reference) whether its
//! label is.

use sluice_sdk::{Column, StepError, Table};

/// Rows with a prediction and a score (null or NaN scores, null
/// predictions left out).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ScoredRows {
    /// Whether the prediction is the positive class (compared as text).
    pub predicted: Vec<bool>,
    /// The score of the positive class, uncalibrated.
    pub score: Vec<f64>,
}

/// Reference rows that also have a label.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LabelledRows {
    pub scored: ScoredRows,
    /// Whether the label is the positive class (compared as text).
    pub truth: Vec<bool>,
}

fn column<'t>(
    table: &'t Table,
    name: &str,
    what: &str,
    role: &str,
) -> Result<&'t Column, StepError> {
    table.column(name).map_err(|_| {
        StepError::invalid_input(format!(
            "the {what} has no column `{name}` ({role}); columns: {}",
            table.names().join(", ")
        ))
    })
}

/// The prediction and score columns of `table` (`what`: "data" or
/// "reference", for messages) and the rows where both are usable.
fn scored_columns<'t>(
    table: &'t Table,
    positive: &str,
    what: &str,
) -> Result<(&'t Column, Vec<f64>, Vec<usize>), StepError> {
    let prediction = column(table, "prediction", what, "the predicted class")?;
    let score_name = format!("p_{positive}");
    let score_column = column(
        table,
        &score_name,
        what,
        &format!("the score of positive class `{positive}`"),
    )?;
    let score = score_column.to_f64_lossy().map_err(|_| {
        StepError::invalid_input(format!(
            "the {what}'s column `{score_name}` is {}, expected numbers (the score of \
             positive class `{positive}`)",
            score_column.kind().as_str()
        ))
    })?;
    let usable = (0..table.num_rows())
        .filter(|&i| !score_column.is_null(i) && !score[i].is_nan() && !prediction.is_null(i))
        .collect();
    Ok((prediction, score, usable))
}

fn is_positive(column: &Column, i: usize, positive: &str) -> bool {
    column.value_text(i).as_deref() == Some(positive)
}

impl ScoredRows {
    /// The usable rows of `table`; a missing column is an invalid-input
    /// error naming it.
    pub fn from_table(table: &Table, positive: &str, what: &str) -> Result<ScoredRows, StepError> {
        let (prediction, score, usable) = scored_columns(table, positive, what)?;
        Ok(ScoredRows {
            predicted: usable
                .iter()
                .map(|&i| is_positive(prediction, i, positive))
                .collect(),
            score: usable.iter().map(|&i| score[i]).collect(),
        })
    }

    pub fn len(&self) -> usize {
        self.score.len()
    }

    pub fn is_empty(&self) -> bool {
        self.score.is_empty()
    }
}

impl LabelledRows {
    /// The usable, labelled rows of the reference; a missing column, or no
    /// usable row, is an invalid-input error.
    pub fn from_table(
        table: &Table,
        target: &str,
        positive: &str,
    ) -> Result<LabelledRows, StepError> {
        let label = column(
            table,
            target,
            "reference",
            "the param `target`, the true label",
        )?;
        let (prediction, score, usable) = scored_columns(table, positive, "reference")?;
        let usable: Vec<usize> = usable.into_iter().filter(|&i| !label.is_null(i)).collect();
        if usable.is_empty() {
            return Err(StepError::invalid_input(format!(
                "the reference has no usable row: each of its {} rows lacks a label, a \
                 prediction or a score",
                table.num_rows()
            )));
        }
        Ok(LabelledRows {
            scored: ScoredRows {
                predicted: usable
                    .iter()
                    .map(|&i| is_positive(prediction, i, positive))
                    .collect(),
                score: usable.iter().map(|&i| score[i]).collect(),
            },
            truth: usable
                .iter()
                .map(|&i| is_positive(label, i, positive))
                .collect(),
        })
    }

    pub fn len(&self) -> usize {
        self.truth.len()
    }

    pub fn is_empty(&self) -> bool {
        self.truth.is_empty()
    }
}
