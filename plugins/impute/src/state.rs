//! The fitted state of `impute` and its encoding (tag `IMPT`): version 1,
//! one f64 fill per numeric column (`mean`, `median`), and version 2, a
//! typed fill per column (`most_frequent`, `constant`). Not for computing
//! a fill or filling a column: that is [`crate::fill`].

use sluice_sdk::codec::{ByteReader, ByteWriter};
use sluice_sdk::columns::{fitted_position, numeric_columns, present_values};
use sluice_sdk::{Column, StepError, Table};

use crate::Strategy;
use crate::fill::{Fill, fill_column, fill_typed};

const TAG: [u8; 4] = *b"IMPT";
/// The state version of numeric fills ([`FillValues`]).
const VERSION: u8 = 1;
/// The state version of typed fills ([`TypedFills`]).
const VERSION_TYPED: u8 = 2;

/// The columns `strategy` fills: the listed ones (`names`, in that order),
/// or, when `names` is empty, every column (`most_frequent`, `constant`)
/// or every numeric column (`mean`, `median`), in table order. A listed
/// column that is missing, or not numeric for `mean` or `median`, is an
/// invalid-input error.
pub fn selected<'a>(
    data: &'a Table,
    names: &[String],
    strategy: Strategy,
) -> Result<Vec<&'a Column>, StepError> {
    if !strategy.is_typed() {
        let plugin = format!("impute (strategy '{}')", strategy.name());
        return numeric_columns(data, names, &plugin);
    }
    if names.is_empty() {
        return Ok(data.columns().iter().collect());
    }
    names.iter().map(|n| data.column(n)).collect()
}

/// The fill value learned for each numeric column, in the order of
/// [`selected`].
#[derive(Debug, Clone, PartialEq)]
pub struct FillValues {
    pub columns: Vec<(String, f64)>,
}

impl FillValues {
    pub fn fit(
        data: &Table,
        names: &[String],
        strategy: Strategy,
    ) -> Result<FillValues, StepError> {
        let columns = selected(data, names, strategy)?
            .into_iter()
            .map(|c| (c.name.clone(), strategy.statistic(present_values(c))))
            .collect();
        Ok(FillValues { columns })
    }

    pub fn apply(&self, mut data: Table) -> Result<Table, StepError> {
        for (name, fill) in &self.columns {
            let i = fitted_position(&data, name)?;
            let column = std::mem::replace(&mut data.columns[i], Column::f64("", Vec::new()));
            data.columns[i] = fill_column(column, *fill)?;
        }
        Ok(data)
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let mut w = ByteWriter::new(TAG, VERSION);
        w.len(self.columns.len());
        for (name, fill) in &self.columns {
            w.str(name);
            w.f64(*fill);
        }
        w.finish()
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<FillValues, StepError> {
        let mut r = ByteReader::new(bytes, TAG, VERSION)?;
        let n = r.u64()?;
        let mut columns = Vec::new();
        for _ in 0..n {
            columns.push((r.str()?, r.f64()?));
        }
        r.finish()?;
        Ok(FillValues { columns })
    }
}

/// The typed fill learned for each column, in the order of [`selected`]
/// (state version 2).
#[derive(Debug, Clone, PartialEq)]
pub struct TypedFills {
    pub columns: Vec<(String, Fill)>,
}

impl TypedFills {
    /// Fills for the columns [`selected`] picks.
    pub fn fit(
        data: &Table,
        names: &[String],
        strategy: Strategy,
        fill_value: &str,
    ) -> Result<TypedFills, StepError> {
        let columns = selected(data, names, strategy)?
            .into_iter()
            .map(|c| Ok((c.name.clone(), Fill::learn(c, strategy, fill_value)?)))
            .collect::<Result<_, StepError>>()?;
        Ok(TypedFills { columns })
    }

    pub fn apply(&self, mut data: Table) -> Result<Table, StepError> {
        for (name, fill) in &self.columns {
            let i = fitted_position(&data, name)?;
            let column = std::mem::replace(&mut data.columns[i], Column::f64("", Vec::new()));
            data.columns[i] = fill_typed(column, fill)?;
        }
        Ok(data)
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let mut w = ByteWriter::new(TAG, VERSION_TYPED);
        w.len(self.columns.len());
        for (name, fill) in &self.columns {
            w.str(name);
            w.u8(fill.code());
            match fill {
                Fill::F64(x) => w.f64(*x),
                Fill::I64(k) => w.i64(*k),
                Fill::Bool(b) => w.bool(*b),
                Fill::Str(s) => w.str(s),
            }
        }
        w.finish()
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<TypedFills, StepError> {
        let mut r = ByteReader::new(bytes, TAG, VERSION_TYPED)?;
        let n = r.u64()?;
        let mut columns = Vec::new();
        for _ in 0..n {
            let name = r.str()?;
            let fill = match r.u8()? {
                0 => Fill::F64(r.f64()?),
                1 => Fill::I64(r.i64()?),
                2 => Fill::Bool(r.bool()?),
                3 => Fill::Str(r.str()?),
                code => {
                    return Err(StepError::invalid_input(format!(
                        "IMPT blob has unknown fill kind {code} for column '{name}'"
                    )));
                }
            };
            columns.push((name, fill));
        }
        r.finish()?;
        Ok(TypedFills { columns })
    }
}

/// A fitted state of either version.
#[derive(Debug, Clone, PartialEq)]
pub enum State {
    /// Version 1: `mean` and `median`.
    Numeric(FillValues),
    /// Version 2: `most_frequent` and `constant`.
    Typed(TypedFills),
}

impl State {
    /// Fits the columns [`selected`] picks.
    pub fn fit(
        data: &Table,
        names: &[String],
        strategy: Strategy,
        fill_value: &str,
    ) -> Result<State, StepError> {
        if strategy.is_typed() {
            Ok(State::Typed(TypedFills::fit(
                data, names, strategy, fill_value,
            )?))
        } else {
            Ok(State::Numeric(FillValues::fit(data, names, strategy)?))
        }
    }

    pub fn apply(&self, data: Table) -> Result<Table, StepError> {
        match self {
            State::Numeric(fills) => fills.apply(data),
            State::Typed(fills) => fills.apply(data),
        }
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        match self {
            State::Numeric(fills) => fills.to_bytes(),
            State::Typed(fills) => fills.to_bytes(),
        }
    }

    /// Reads a state of version 1 or 2.
    pub fn from_bytes(bytes: &[u8]) -> Result<State, StepError> {
        match bytes.get(4) {
            Some(&VERSION_TYPED) if bytes[..4] == TAG => {
                Ok(State::Typed(TypedFills::from_bytes(bytes)?))
            }
            Some(&v) if bytes[..4] == TAG && v != VERSION => {
                Err(StepError::invalid_input(format!(
                    "IMPT blob has format version {v}, this plugin reads versions \
                 {VERSION} and {VERSION_TYPED}"
                )))
            }
            _ => Ok(State::Numeric(FillValues::from_bytes(bytes)?)),
        }
    }
}
