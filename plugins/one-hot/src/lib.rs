//! `one-hot`: a transform that replaces categorical columns with 0/1
//! indicator columns, like scikit-learn's `OneHotEncoder` (dense output,
//! no `drop`).
//!
//! Params:
//! - `columns` (text, default `""`): comma-separated columns to encode
//!   (string, bool or i64); `""` encodes every string and bool column.
//! - `handle_unknown` (text, default `ignore`): what `apply` does with a
//!   category not seen by `fit`. `ignore` writes all zeros for that row
//!   (scikit-learn's `handle_unknown='ignore'`); `error` fails with an
//!   invalid-input error naming the column, the value and the row.
//!
//! - `fit` learns the sorted distinct present (non-null) values of each
//!   column: strings by byte order (= Unicode code point order, as Python
//!   sorts), i64 numerically, bools `false` before `true`. A listed column
//!   that is missing, or f64, is an invalid-input error.
//! - `apply` replaces each fitted column, in place, with one f64 column per
//!   category named `<col>=<category>` (the category as text: `true`,
//!   `-3`, `red`), holding 1.0 where the row has that category and 0.0
//!   elsewhere. A null row gets 0.0 in every indicator column, and the
//!   indicator columns have no null mask. A column whose fit saw no present
//!   value yields no columns. Other columns pass unchanged. A fitted column
//!   missing from the data, of another type than at fit time, or an
//!   indicator name that clashes with an existing column, is an
//!   invalid-input error.

use sluice_sdk::codec::{ByteReader, ByteWriter};
use sluice_sdk::{Column, ParamSpec, Params, PluginInfo, StepError, Table, Transform};

pub use sluice_sdk::categories::{Categories, select};
use sluice_sdk::columns::fitted_position;
pub use sluice_sdk::columns::parse_names;

const TAG: [u8; 4] = *b"OHOT";
const VERSION: u8 = 1;

/// The fitted state.
#[derive(Debug, Clone, PartialEq)]
pub struct Encoder {
    /// Fail on unknown categories (`handle_unknown = error`).
    pub error_on_unknown: bool,
    pub columns: Vec<(String, Categories)>,
}

impl Encoder {
    pub fn fit(
        data: &Table,
        names: &[String],
        error_on_unknown: bool,
    ) -> Result<Encoder, StepError> {
        let columns = select(data, names)?
            .into_iter()
            .map(|c| Ok((c.name.clone(), Categories::fit(c)?)))
            .collect::<Result<_, StepError>>()?;
        Ok(Encoder {
            error_on_unknown,
            columns,
        })
    }

    pub fn apply(&self, data: Table) -> Result<Table, StepError> {
        for (name, cats) in &self.columns {
            let c = &data.columns[fitted_position(&data, name)?];
            if c.kind() != cats.kind() {
                return Err(StepError::invalid_input(format!(
                    "column '{name}' was {} when fitted but is {} now",
                    cats.kind(),
                    c.kind()
                )));
            }
        }
        let rows = data.num_rows();
        let mut out = Table::new();
        for column in data.columns() {
            let Some((_, cats)) = self.columns.iter().find(|(n, _)| *n == column.name) else {
                out.push(column.clone());
                continue;
            };
            let mut indicators = vec![vec![0.0; rows]; cats.len()];
            for (row, code) in cats.codes(column).into_iter().enumerate() {
                match code {
                    Some(Some(k)) => indicators[k][row] = 1.0,
                    Some(None) if self.error_on_unknown => {
                        return Err(StepError::invalid_input(format!(
                            "column '{}' has category '{}' at row {row}, not seen when fitted",
                            column.name,
                            column.value_text(row).unwrap_or_default()
                        )));
                    }
                    _ => {}
                }
            }
            for (label, values) in cats.labels().into_iter().zip(indicators) {
                out.push(Column::f64(format!("{}={label}", column.name), values));
            }
        }
        let names = out.names();
        if let Some(dup) = (0..names.len())
            .find(|&i| names[..i].contains(&names[i]))
            .map(|i| names[i])
        {
            return Err(StepError::invalid_input(format!(
                "one-hot output column '{dup}' clashes with another column of that name"
            )));
        }
        Ok(out)
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let mut w = ByteWriter::new(TAG, VERSION);
        w.bool(self.error_on_unknown);
        w.len(self.columns.len());
        for (name, cats) in &self.columns {
            w.str(name);
            cats.write(&mut w);
        }
        w.finish()
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Encoder, StepError> {
        let mut r = ByteReader::new(bytes, TAG, VERSION)?;
        let error_on_unknown = r.bool()?;
        let n = r.u64()?;
        let mut columns = Vec::new();
        for _ in 0..n {
            let name = r.str()?;
            columns.push((name, Categories::read(&mut r)?));
        }
        r.finish()?;
        Ok(Encoder {
            error_on_unknown,
            columns,
        })
    }
}

pub struct OneHot;

impl Transform for OneHot {
    fn describe() -> PluginInfo {
        PluginInfo::new(
            "one-hot",
            env!("CARGO_PKG_VERSION"),
            "Replaces categorical columns with one 0/1 f64 column per fitted category, \
             named <col>=<category> (like scikit-learn's OneHotEncoder).",
        )
        .param(ParamSpec::text(
            "columns",
            "",
            "comma-separated columns to encode (string, bool or i64); \
             empty encodes every string and bool column",
        ))
        .param(ParamSpec::text(
            "handle_unknown",
            "ignore",
            "unseen category at apply: ignore (all zeros) or error",
        ))
    }

    fn fit(data: Table, params: Params) -> Result<Vec<u8>, StepError> {
        let error_on_unknown = match params.text("handle_unknown")? {
            "ignore" => false,
            "error" => true,
            other => {
                return Err(StepError::invalid_params(format!(
                    "param 'handle_unknown' must be 'ignore' or 'error', got '{other}'"
                )));
            }
        };
        let names = parse_names(params.text("columns")?, "columns")?;
        Ok(Encoder::fit(&data, &names, error_on_unknown)?.to_bytes())
    }

    fn apply(state: Vec<u8>, data: Table) -> Result<Table, StepError> {
        Encoder::from_bytes(&state)?.apply(data)
    }
}

sluice_sdk::export_transform!(OneHot);

#[cfg(test)]
mod tests {
    use super::*;
    use sluice_sdk::ErrorKind;
    use sluice_sdk::testing::{self, f64s, text};

    fn fit(data: &Table, columns: &str, handle_unknown: &str) -> Result<Vec<u8>, StepError> {
        let params = testing::try_params(
            &OneHot::describe(),
            &[
                ("columns", text(columns)),
                ("handle_unknown", text(handle_unknown)),
            ],
        )?;
        OneHot::fit(data.clone(), params)
    }

    #[test]
    fn matches_one_hot_encoder() {
        // sklearn docs: OneHotEncoder(handle_unknown='ignore').fit(
        //   [['Male', 1], ['Female', 3], ['Female', 2]])
        // categories_ [['Female', 'Male'], [1, 2, 3]];
        // transform([['Female', 1], ['Male', 4]]) ->
        //   [[1, 0, 1, 0, 0], [0, 1, 0, 0, 0]].
        let t = Table::new()
            .with(Column::f64("before", vec![0.5, 1.5, 2.5]))
            .with(Column::strings("sex", ["Male", "Female", "Female"]))
            .with(Column::i64("n", vec![1, 3, 2]))
            .with(Column::f64("after", vec![9.0, 8.0, 7.0]));
        let state = fit(&t, "sex,n", "ignore").unwrap();
        let enc = Encoder::from_bytes(&state).unwrap();
        assert_eq!(
            enc.columns[0].1,
            Categories::Str(vec!["Female".into(), "Male".into()])
        );
        assert_eq!(enc.columns[1].1, Categories::I64(vec![1, 2, 3]));

        let new = Table::new()
            .with(Column::f64("before", vec![0.0, 0.0]))
            .with(Column::strings("sex", ["Female", "Male"]))
            .with(Column::i64("n", vec![1, 4]))
            .with(Column::f64("after", vec![0.0, 0.0]));
        let out = OneHot::apply(state, new).unwrap();
        assert_eq!(
            out.names(),
            [
                "before",
                "sex=Female",
                "sex=Male",
                "n=1",
                "n=2",
                "n=3",
                "after"
            ]
        );
        let row = |r: usize| -> Vec<f64> {
            out.columns()[1..6]
                .iter()
                .map(|c| c.f64_values().unwrap()[r])
                .collect()
        };
        assert_eq!(row(0), [1.0, 0.0, 1.0, 0.0, 0.0]);
        assert_eq!(row(1), [0.0, 1.0, 0.0, 0.0, 0.0]);
    }

    #[test]
    fn default_columns_bools_and_nulls() {
        let t = Table::new()
            .with(Column::strings("c", ["b", "a", "é", "b"]).with_nulls(&[3]))
            .with(Column::bool("f", vec![true, false, true, true]))
            .with(Column::i64("k", vec![1, 2, 3, 4]));
        let state = fit(&t, "", "error").unwrap();
        let out = OneHot::apply(state, t).unwrap();
        assert_eq!(out.names(), ["c=a", "c=b", "c=é", "f=false", "f=true", "k"]);
        assert_eq!(f64s(&out, "c=a"), &[0.0, 1.0, 0.0, 0.0]);
        assert_eq!(f64s(&out, "c=b"), &[1.0, 0.0, 0.0, 0.0]);
        assert_eq!(f64s(&out, "c=é"), &[0.0, 0.0, 1.0, 0.0]);
        assert!(out.column("c=b").unwrap().valid().is_none());
        assert_eq!(f64s(&out, "f=true"), &[1.0, 0.0, 1.0, 1.0]);
        assert_eq!(
            out.column("k").unwrap().i64_values().unwrap(),
            &[1, 2, 3, 4]
        );
    }

    #[test]
    fn unknown_categories() {
        let t = Table::new().with(Column::strings("c", ["x", "y"]));
        let new = Table::new().with(Column::strings("c", ["y", "zebra"]));
        let out = OneHot::apply(fit(&t, "", "ignore").unwrap(), new.clone()).unwrap();
        assert_eq!(f64s(&out, "c=x"), &[0.0, 0.0]);
        assert_eq!(f64s(&out, "c=y"), &[1.0, 0.0]);
        let err = OneHot::apply(fit(&t, "", "error").unwrap(), new).unwrap_err();
        assert_eq!(err.kind, ErrorKind::InvalidInput);
        assert!(
            err.message.contains("'c'") && err.message.contains("'zebra'"),
            "{}",
            err.message
        );
        assert_eq!(
            fit(&t, "", "drop").unwrap_err().kind,
            ErrorKind::InvalidParams
        );
    }

    #[test]
    fn input_errors() {
        let t = Table::new()
            .with(Column::strings("c", ["x", "y"]))
            .with(Column::f64("v", vec![1.0, 2.0]));
        let err = fit(&t, "v", "ignore").unwrap_err();
        assert_eq!(err.kind, ErrorKind::InvalidInput);
        assert!(err.message.contains("'v'"), "{}", err.message);
        assert_eq!(
            fit(&t, "zz", "ignore").unwrap_err().kind,
            ErrorKind::InvalidInput
        );
        let state = fit(&t, "", "ignore").unwrap();
        let err =
            OneHot::apply(state.clone(), Table::new().with(Column::f64("v", vec![]))).unwrap_err();
        assert!(err.message.contains("'c'"), "{}", err.message);
        let err =
            OneHot::apply(state.clone(), Table::new().with(Column::i64("c", vec![1]))).unwrap_err();
        assert_eq!(err.kind, ErrorKind::InvalidInput);
        let clash = Table::new()
            .with(Column::strings("c", ["x"]))
            .with(Column::f64("c=x", vec![0.0]));
        assert_eq!(
            OneHot::apply(state, clash).unwrap_err().kind,
            ErrorKind::InvalidInput
        );
    }

    #[test]
    fn state_round_trips() {
        let e = Encoder {
            error_on_unknown: true,
            columns: vec![
                ("s".into(), Categories::Str(vec!["a".into(), "βγ".into()])),
                ("i".into(), Categories::I64(vec![-5, 7])),
                ("b".into(), Categories::Bool(vec![false, true])),
            ],
        };
        assert_eq!(Encoder::from_bytes(&e.to_bytes()).unwrap(), e);
        assert!(Encoder::from_bytes(b"nonsense").is_err());
    }
}
