//! The categories of categorical (string, i64 or bool) columns, as the
//! `one-hot` and `ordinal-encode` transforms learn, store and apply them.
//!
//! Categories are the sorted distinct present (non-null) values of a
//! column: strings by byte order (= Unicode code point order, as Python
//! sorts), i64 numerically, bools `false` before `true`.

use crate::codec::{ByteReader, ByteWriter};
use crate::columns::fitted_position;
use crate::{Column, StepError, Table, ValueKind, Values};

/// The sorted distinct categories of one column, typed like the column.
#[derive(Debug, Clone, PartialEq)]
pub enum Categories {
    /// The categories of a string column.
    Str(Vec<String>),
    /// The categories of an integer column.
    I64(Vec<i64>),
    /// The categories of a boolean column (at most `false`, `true`).
    Bool(Vec<bool>),
}

impl Categories {
    /// The sorted distinct present values of a string, i64 or bool column.
    pub fn fit(c: &Column) -> Result<Categories, StepError> {
        fn sorted<T: Ord + Clone>(v: &[T], c: &Column) -> Vec<T> {
            let mut out: Vec<T> = v
                .iter()
                .enumerate()
                .filter(|&(i, _)| !c.is_null(i))
                .map(|(_, x)| x.clone())
                .collect();
            out.sort();
            out.dedup();
            out
        }
        match &c.values {
            Values::Str(v) => Ok(Categories::Str(sorted(v, c))),
            Values::I64(v) => Ok(Categories::I64(sorted(v, c))),
            Values::Bool(v) => Ok(Categories::Bool(sorted(v, c))),
            Values::F64(_) => Err(StepError::invalid_input(format!(
                "column '{}' is f64; categories must be string, bool or i64",
                c.name
            ))),
        }
    }

    /// The value kind of the column the categories were fitted on.
    pub fn kind(&self) -> ValueKind {
        match self {
            Categories::Str(_) => ValueKind::Str,
            Categories::I64(_) => ValueKind::I64,
            Categories::Bool(_) => ValueKind::Bool,
        }
    }

    /// How many categories.
    pub fn len(&self) -> usize {
        match self {
            Categories::Str(v) => v.len(),
            Categories::I64(v) => v.len(),
            Categories::Bool(v) => v.len(),
        }
    }

    /// Whether the fitted column had no present value.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The categories as text, in order.
    pub fn labels(&self) -> Vec<String> {
        match self {
            Categories::Str(v) => v.clone(),
            Categories::I64(v) => v.iter().map(i64::to_string).collect(),
            Categories::Bool(v) => v.iter().map(bool::to_string).collect(),
        }
    }

    /// The code of each row: `None` for a null row, `Some(None)` for an
    /// unknown category. The column must have this kind.
    pub fn codes(&self, c: &Column) -> Vec<Option<Option<usize>>> {
        fn find<T: Ord>(cats: &[T], v: &[T], c: &Column) -> Vec<Option<Option<usize>>> {
            v.iter()
                .enumerate()
                .map(|(i, x)| (!c.is_null(i)).then(|| cats.binary_search(x).ok()))
                .collect()
        }
        match (self, &c.values) {
            (Categories::Str(cats), Values::Str(v)) => find(cats, v, c),
            (Categories::I64(cats), Values::I64(v)) => find(cats, v, c),
            (Categories::Bool(cats), Values::Bool(v)) => find(cats, v, c),
            _ => vec![None; c.len()],
        }
    }

    /// Writes the categories: a kind byte (0 string, 1 i64, 2 bool), then
    /// the values.
    pub fn write(&self, w: &mut ByteWriter) {
        match self {
            Categories::Str(v) => {
                w.u8(0);
                w.strs(v);
            }
            Categories::I64(v) => {
                w.u8(1);
                w.i64s(v);
            }
            Categories::Bool(v) => {
                w.u8(2);
                w.bools(v);
            }
        }
    }

    /// Reads what [`Categories::write`] wrote.
    pub fn read(r: &mut ByteReader<'_>) -> Result<Categories, StepError> {
        match r.u8()? {
            0 => Ok(Categories::Str(r.strs()?)),
            1 => Ok(Categories::I64(r.i64s()?)),
            2 => Ok(Categories::Bool(r.bools()?)),
            b => Err(StepError::invalid_input(format!(
                "corrupt blob: unknown category kind {b}"
            ))),
        }
    }
}

/// Which columns to encode: the listed ones, or every string and bool
/// column when `names` is empty.
pub fn select<'a>(data: &'a Table, names: &[String]) -> Result<Vec<&'a Column>, StepError> {
    if names.is_empty() {
        return Ok(data
            .columns()
            .iter()
            .filter(|c| matches!(c.kind(), ValueKind::Str | ValueKind::Bool))
            .collect());
    }
    names.iter().map(|n| data.column(n)).collect()
}

/// The fitted categories of each column an encoder learns, by column
/// name, in the order of [`select`]: what `one-hot` and `ordinal-encode`
/// keep in their states.
pub type CategoryMap = Vec<(String, Categories)>;

/// Fits the categories of the columns [`select`] picks (the listed ones,
/// or every string and bool column). A listed column that is missing or
/// not categorical is an invalid-input error.
pub fn fit_map(data: &Table, names: &[String]) -> Result<CategoryMap, StepError> {
    select(data, names)?
        .into_iter()
        .map(|c| Ok((c.name.clone(), Categories::fit(c)?)))
        .collect()
}

/// Appends a [`CategoryMap`] to a state's blob: a length, then each
/// column's name and categories.
pub fn write_map(w: &mut ByteWriter, map: &[(String, Categories)]) {
    w.len(map.len());
    for (name, cats) in map {
        w.str(name);
        cats.write(w);
    }
}

/// Reads back what [`write_map`] wrote; corrupt bytes are an invalid-input
/// error.
pub fn read_map(r: &mut ByteReader<'_>) -> Result<CategoryMap, StepError> {
    let n = r.u64()?;
    let mut map = Vec::new();
    for _ in 0..n {
        let name = r.str()?;
        map.push((name, Categories::read(r)?));
    }
    Ok(map)
}

/// The position in `data` of the fitted column `name`, checked to hold
/// values of the type its categories were fitted on. Missing, or of
/// another type, is an invalid-input error naming the column.
pub fn fitted_column(data: &Table, name: &str, cats: &Categories) -> Result<usize, StepError> {
    let i = fitted_position(data, name)?;
    let kind = data.columns[i].kind();
    if kind != cats.kind() {
        return Err(StepError::invalid_input(format!(
            "column '{name}' was {} when fitted but is {kind} now",
            cats.kind()
        )));
    }
    Ok(i)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fit_sorts_skips_nulls_and_codes_rows() {
        let c = Column::strings("c", ["b", "a", "b", "z"]).with_nulls(&[3]);
        let cats = Categories::fit(&c).unwrap();
        assert_eq!(cats, Categories::Str(vec!["a".into(), "b".into()]));
        assert_eq!(cats.kind(), ValueKind::Str);
        assert_eq!(cats.labels(), ["a", "b"]);
        assert_eq!(
            cats.codes(&c),
            [Some(Some(1)), Some(Some(0)), Some(Some(1)), None]
        );
        let other = Column::strings("c", ["q"]);
        assert_eq!(cats.codes(&other), [Some(None)]);
        assert!(Categories::fit(&Column::f64("x", vec![1.0])).is_err());
    }

    #[test]
    fn categories_round_trip() {
        for cats in [
            Categories::Str(vec!["a".into()]),
            Categories::I64(vec![-3, 7]),
            Categories::Bool(vec![false, true]),
        ] {
            let read = crate::codec::round_trip(|w| cats.write(w), Categories::read);
            assert_eq!(read, cats);
        }
    }

    /// A category map fits the selected columns in order, round-trips
    /// through its bytes, and finds its columns again only with the type
    /// they were fitted on.
    #[test]
    fn a_category_map_fits_round_trips_and_checks_its_columns() {
        let data = Table::new()
            .with(Column::f64("x", vec![1.0, 2.0]))
            .with(Column::strings("s", ["b", "a"]))
            .with(Column::bool("f", vec![true, true]));
        let map = fit_map(&data, &[]).unwrap();
        assert_eq!(
            map,
            [
                (
                    "s".to_string(),
                    Categories::Str(vec!["a".into(), "b".into()])
                ),
                ("f".to_string(), Categories::Bool(vec![true])),
            ]
        );
        let listed = fit_map(&data, &["f".into()]).unwrap();
        assert_eq!(listed, map[1..]);
        assert!(fit_map(&data, &["nope".into()]).is_err());
        assert!(fit_map(&data, &["x".into()]).is_err());

        let read = crate::codec::round_trip(|w| write_map(w, &map), read_map);
        assert_eq!(read, map);

        assert_eq!(fitted_column(&data, "s", &map[0].1).unwrap(), 1);
        let err = fitted_column(&data, "x", &map[0].1).unwrap_err();
        assert_eq!(
            err.message,
            "column 'x' was string when fitted but is f64 now"
        );
        let err = fitted_column(&data, "gone", &map[0].1).unwrap_err();
        assert!(
            err.message
                .contains("column 'gone' was fitted but is not in the data")
        );
    }
}
