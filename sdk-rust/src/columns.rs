//! Column selection shared by plugins: the comma-separated `columns`
//! param, choosing numeric columns, a column's present values, and a
//! trained model's feature columns found by name ([`model_features`]), and
//! the per-column affine maps scalers fit ([`ColumnAffine`]).

use std::borrow::Cow;

use crate::codec::{ByteReader, ByteWriter};
use crate::{Column, StepError, Table, Values};

/// Parses a comma-separated list of column names (blank entries skipped).
pub fn parse_names(text: &str, param: &str) -> Result<Vec<String>, StepError> {
    let mut names: Vec<String> = Vec::new();
    for name in text.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        if names.iter().any(|n| n == name) {
            return Err(StepError::invalid_params(format!(
                "param '{param}' names column '{name}' twice"
            )));
        }
        names.push(name.to_string());
    }
    Ok(names)
}

/// The columns a numeric transform works on: the listed ones, or every
/// numeric (f64 or i64) column when `names` is empty. A listed column that
/// is missing, or not numeric, is an invalid-input error naming `plugin`.
pub fn numeric_columns<'a>(
    data: &'a Table,
    names: &[String],
    plugin: &str,
) -> Result<Vec<&'a Column>, StepError> {
    if names.is_empty() {
        return Ok(data
            .columns()
            .iter()
            .filter(|c| c.kind().is_numeric())
            .collect());
    }
    let mut out = Vec::new();
    for name in names {
        let c = data.column(name)?;
        if !c.kind().is_numeric() {
            return Err(StepError::invalid_input(format!(
                "column '{name}' is {}, {plugin} needs f64 or i64",
                c.kind()
            )));
        }
        out.push(c);
    }
    Ok(out)
}

/// The present (non-null, non-NaN) values of an f64 or i64 column, as f64;
/// empty for a bool or string column.
pub fn present_values(c: &Column) -> Vec<f64> {
    // One pass and one buffer per type: the values are not cloned first,
    // and no call is made per value (this gathers million-row columns).
    fn keep(values: impl Iterator<Item = f64>, valid: Option<&[bool]>) -> Vec<f64> {
        match valid {
            None => values.filter(|x| !x.is_nan()).collect(),
            // A mask shorter than the values counts the rest as present,
            // as `Column::is_null` does.
            Some(valid) => values
                .zip(valid.iter().copied().chain(std::iter::repeat(true)))
                .filter(|&(x, ok)| ok && !x.is_nan())
                .map(|(x, _)| x)
                .collect(),
        }
    }
    let valid = c.valid.as_deref();
    match &c.values {
        Values::F64(v) => keep(v.iter().copied(), valid),
        Values::I64(v) => keep(v.iter().map(|&x| x as f64), valid),
        Values::Bool(_) | Values::Str(_) => Vec::new(),
    }
}

/// [`present_values`] without a copy when there is nothing to leave out:
/// an f64 column without nulls or NaN (the common case after `impute`).
pub fn present_values_ref(c: &Column) -> Cow<'_, [f64]> {
    if let (Values::F64(v), None) = (&c.values, &c.valid) {
        // A fold, not `any`: no early exit, so the loop compiles to SIMD.
        let has_nan = v.iter().fold(false, |seen, x| seen | x.is_nan());
        if !has_nan {
            return Cow::Borrowed(v);
        }
    }
    Cow::Owned(present_values(c))
}

/// The position of column `name`, which the transform fitted, in `data`: an
/// invalid-input error listing the data's columns when it is missing.
pub fn fitted_position(data: &Table, name: &str) -> Result<usize, StepError> {
    data.position(name).ok_or_else(|| {
        StepError::invalid_input(format!(
            "column '{name}' was fitted but is not in the data; columns: {}",
            data.names().join(", ")
        ))
    })
}

/// Replaces fitted numeric column `name` with an f64 column of `f(x)` for
/// each value `x` (i64 values converted to f64 first), keeping its name and
/// null mask; f64 buffers are reused. The column missing, or no longer f64
/// or i64, is an invalid-input error.
pub fn map_fitted_numeric(
    data: &mut Table,
    name: &str,
    mut f: impl FnMut(f64) -> f64,
) -> Result<(), StepError> {
    let i = fitted_position(data, name)?;
    let kind = data.columns[i].kind();
    if !kind.is_numeric() {
        return Err(StepError::invalid_input(format!(
            "column '{name}' was numeric when fitted but is {kind} now"
        )));
    }
    let column = std::mem::replace(&mut data.columns[i], Column::f64("", Vec::new()));
    let (name, values, valid) = column.into_parts();
    let mapped = match values {
        Values::F64(mut v) => {
            v.iter_mut().for_each(|x| *x = f(*x));
            v
        }
        Values::I64(v) => v.iter().map(|&x| f(x as f64)).collect(),
        Values::Bool(_) | Values::Str(_) => unreachable!("checked numeric above"),
    };
    data.columns[i] = Column {
        name,
        values: Values::F64(mapped),
        valid,
    };
    Ok(())
}

/// A trainer's feature column as f64: no nulls, numeric (f64, i64 or bool),
/// finite. Errors name the column and `plugin`.
pub fn numeric_feature(column: &Column, plugin: &str) -> Result<Vec<f64>, StepError> {
    numeric_feature_ref(column, plugin).map(Cow::into_owned)
}

/// [`numeric_feature`] without a copy when the column is already f64 (the
/// common case after `standardize`): large tables are not duplicated.
pub fn numeric_feature_ref<'a>(
    column: &'a Column,
    plugin: &str,
) -> Result<Cow<'a, [f64]>, StepError> {
    let values = numeric_values_ref(column, plugin)?;
    check_finite(column, &values)?;
    Ok(values)
}

/// [`numeric_feature_ref`] without its check for non-finite values, for a
/// plugin whose own first pass over the values tells whether there are any
/// (a sum is not finite when a value is not): it then calls
/// [`check_finite`] for the error.
pub fn numeric_values_ref<'a>(
    column: &'a Column,
    plugin: &str,
) -> Result<Cow<'a, [f64]>, StepError> {
    if column.has_nulls() {
        return Err(StepError::invalid_input(format!(
            "column '{}' has {} nulls; impute them first",
            column.name,
            column.null_count()
        )));
    }
    Ok(match &column.values {
        Values::F64(v) => Cow::Borrowed(v.as_slice()),
        _ => Cow::Owned(column.to_f64_lossy().map_err(|_| {
            StepError::invalid_input(format!(
                "column '{}' is {}; {plugin} needs f64, i64 or bool values here",
                column.name,
                column.kind()
            ))
        })?),
    })
}

/// An invalid-input error naming `column` and the row of its first value
/// (of `values`, the column's as f64) that is not finite, if one is not.
pub fn check_finite(column: &Column, values: &[f64]) -> Result<(), StepError> {
    check_finite_at(column, values, 0)
}

/// [`check_finite`] of a block of a column's rows that starts at row
/// `first_row` (a table read a block at a time, see
/// [`rows`](crate::rows)): the error names the row in the whole column.
pub fn check_finite_at(column: &Column, values: &[f64], first_row: u64) -> Result<(), StepError> {
    // The bits first, in a loop that compiles to SIMD (integer operations,
    // no early exit); the row only when some value is not finite.
    const EXPONENT: u64 = 0x7FF0_0000_0000_0000;
    let non_finite = |c: &[f64]| {
        c.iter()
            .fold(false, |bad, x| bad | (x.to_bits() & EXPONENT == EXPONENT))
    };
    if !values.chunks(4096).any(non_finite) {
        return Ok(());
    }
    match values.iter().position(|x| !x.is_finite()) {
        Some(i) => Err(StepError::invalid_input(format!(
            "column '{}' has a non-finite value ({}) at row {}",
            column.name,
            values[i],
            first_row + i as u64
        ))),
        None => Ok(()),
    }
}

/// What a scaler fits for one numeric column: `x -> (x - shift) / scale`
/// (`standardize`: the mean and the standard deviation; `min-max-scale`:
/// the minimum and the range).
#[derive(Debug, Clone, PartialEq)]
pub struct ColumnAffine {
    /// The column's name.
    pub name: String,
    /// Subtracted from every value.
    pub shift: f64,
    /// What the shifted values are divided by; never 0.
    pub scale: f64,
}

impl ColumnAffine {
    /// The map of column `name` for a fitted `shift` and `spread`: a spread
    /// of 0 (a constant column, or one without present values) scales by 1,
    /// as scikit-learn's `handle_zeros_in_scale` does, so such a column
    /// maps to 0.
    pub fn fitted(name: impl Into<String>, shift: f64, spread: f64) -> Self {
        ColumnAffine {
            name: name.into(),
            shift,
            scale: if spread == 0.0 { 1.0 } else { spread },
        }
    }
}

/// Applies each fitted map to its column ([`map_fitted_numeric`]: f64
/// out, nulls kept, NaN stays NaN); columns without a map pass unchanged.
/// A mapped column missing from `data`, or no longer numeric, is an
/// invalid-input error.
pub fn apply_affine(mut data: Table, maps: &[ColumnAffine]) -> Result<Table, StepError> {
    for m in maps {
        map_fitted_numeric(&mut data, &m.name, |x| (x - m.shift) / m.scale)?;
    }
    Ok(data)
}

/// Appends fitted maps to a state's blob: a length, then each column's
/// name, shift and scale (f64s exact).
pub fn write_affine(w: &mut ByteWriter, maps: &[ColumnAffine]) {
    w.len(maps.len());
    for m in maps {
        w.str(&m.name);
        w.f64(m.shift);
        w.f64(m.scale);
    }
}

/// Reads back what [`write_affine`] wrote; corrupt bytes are an
/// invalid-input error.
pub fn read_affine(r: &mut ByteReader<'_>) -> Result<Vec<ColumnAffine>, StepError> {
    let n = r.u64()?;
    let mut maps = Vec::new();
    for _ in 0..n {
        maps.push(ColumnAffine {
            name: r.str()?,
            shift: r.f64()?,
            scale: r.f64()?,
        });
    }
    Ok(maps)
}

/// The feature columns a trained model needs, found by name in `table`
/// and in the model's order (`names`), each as [`numeric_feature_ref`]
/// gives it (`plugin` is named in its errors): what a trainer's `predict`
/// reads. A name `table` lacks is an invalid-input error that lists the
/// table's columns; the first failing name, in order, is the one reported.
pub fn model_features<'t>(
    table: &'t Table,
    names: &[String],
    plugin: &str,
) -> Result<Vec<Cow<'t, [f64]>>, StepError> {
    names
        .iter()
        .map(|name| {
            let column = table.get(name).ok_or_else(|| {
                StepError::invalid_input(format!(
                    "the model needs feature '{name}', which is not in the data; columns: {}",
                    table.names().join(", ")
                ))
            })?;
            numeric_feature_ref(column, plugin)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A non-finite value anywhere (past the first chunk the bits check
    /// looks at too) is named by its row; finite values borrow.
    #[test]
    fn numeric_feature_ref_finds_the_first_non_finite_row() {
        let n = 10_000;
        let finite = Column::f64("x", (0..n).map(|i| i as f64 - 5e3).collect());
        assert!(matches!(
            numeric_feature_ref(&finite, "p"),
            Ok(Cow::Borrowed(_))
        ));
        for (bad, at) in [
            (f64::INFINITY, 9_999),
            (f64::NEG_INFINITY, 4_096),
            (f64::NAN, 0),
        ] {
            let mut v: Vec<f64> = (0..n).map(|i| i as f64).collect();
            v[at] = bad;
            v[n / 2 + 1] = f64::MAX; // large, but finite
            let err = numeric_feature_ref(&Column::f64("x", v), "p").unwrap_err();
            assert!(
                err.message.ends_with(&format!("at row {at}")),
                "{}",
                err.message
            );
        }
    }

    #[test]
    fn parse_names_trims_skips_blanks_and_rejects_repeats() {
        assert_eq!(parse_names(" a, ,b ,", "columns").unwrap(), ["a", "b"]);
        assert!(parse_names("", "columns").unwrap().is_empty());
        let err = parse_names("a,b,a", "keep").unwrap_err();
        assert!(err.message.contains("param 'keep' names column 'a' twice"));
    }

    #[test]
    fn present_values_ref_borrows_only_what_needs_no_filtering() {
        let plain = Column::f64("x", vec![1.0, 2.0]);
        assert!(matches!(
            present_values_ref(&plain),
            Cow::Borrowed(&[1.0, 2.0])
        ));
        let cases = [
            Column::f64("x", vec![1.0, f64::NAN, 2.0]),
            Column::f64("x", vec![1.0, 7.0, 2.0]).with_nulls(&[1]),
            Column::i64("x", vec![1, 2]),
        ];
        for c in &cases {
            let got = present_values_ref(c);
            assert!(matches!(got, Cow::Owned(_)), "{c:?}");
            assert_eq!(*got, present_values(c));
        }
    }

    /// Nulls (a mask shorter than the values counts the rest as present)
    /// and NaN are left out, for both numeric types.
    #[test]
    fn present_values_skip_nulls_and_nan() {
        let f = Column::f64("x", vec![1.0, f64::NAN, 3.0, 4.0, 5.0])
            .with_valid(vec![true, true, false]);
        assert_eq!(present_values(&f), vec![1.0, 4.0, 5.0]);
        let i = Column::i64("n", vec![7, 8, 9]).with_valid(vec![false, true, true]);
        assert_eq!(present_values(&i), vec![8.0, 9.0]);
        assert_eq!(
            present_values(&Column::f64("y", vec![f64::NAN, 2.0])),
            vec![2.0]
        );
    }

    #[test]
    fn numeric_columns_and_present_values() {
        let data = Table::new()
            .with(Column::f64("x", vec![1.0, f64::NAN, 3.0]).with_nulls(&[2]))
            .with(Column::strings("s", ["a", "b", "c"]))
            .with(Column::i64("n", vec![1, 2, 3]));
        let all = numeric_columns(&data, &[], "t").unwrap();
        assert_eq!(
            all.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(),
            ["x", "n"]
        );
        let err = numeric_columns(&data, &["s".into()], "t").unwrap_err();
        assert!(err.message.contains("column 's' is"));
        assert!(err.message.contains("t needs f64 or i64"));
        assert!(numeric_columns(&data, &["nope".into()], "t").is_err());
        assert_eq!(present_values(all[0]), [1.0]);
        assert_eq!(present_values(all[1]), [1.0, 2.0, 3.0]);
        assert!(present_values(data.column("s").unwrap()).is_empty());
    }

    #[test]
    fn map_fitted_numeric_keeps_nulls_and_checks_kind() {
        let mut data = Table::new()
            .with(Column::i64("n", vec![1, 2, 3]).with_nulls(&[1]))
            .with(Column::strings("s", ["a", "b", "c"]));
        map_fitted_numeric(&mut data, "n", |x| x * 10.0).unwrap();
        let n = data.column("n").unwrap();
        assert_eq!(n.f64_values().unwrap()[0], 10.0);
        assert_eq!(n.f64_values().unwrap()[2], 30.0);
        assert!(n.is_null(1));
        let err = map_fitted_numeric(&mut data, "s", |x| x).unwrap_err();
        assert!(
            err.message
                .contains("column 's' was numeric when fitted but is")
        );
        let err = map_fitted_numeric(&mut data, "nope", |x| x).unwrap_err();
        assert!(
            err.message
                .contains("column 'nope' was fitted but is not in the data; columns: n, s")
        );
        assert_eq!(fitted_position(&data, "s").unwrap(), 1);
    }

    /// Fitted maps scale their columns (a zero spread by 1), keep nulls,
    /// pass other columns through, round-trip exactly through their bytes,
    /// and refuse a fitted column that is missing.
    #[test]
    fn affine_maps_apply_and_round_trip() {
        let maps = vec![
            ColumnAffine::fitted("a", 1.0, 2.0),
            ColumnAffine::fitted("b", 5.0, 0.0),
        ];
        assert_eq!(maps[1].scale, 1.0);
        let data = Table::new()
            .with(Column::f64("a", vec![1.0, 3.0, 0.0]).with_nulls(&[2]))
            .with(Column::i64("b", vec![5, 5, 5]))
            .with(Column::strings("s", ["x", "y", "z"]));
        let out = apply_affine(data.clone(), &maps).unwrap();
        let a = out.column("a").unwrap();
        assert_eq!(&a.f64_values().unwrap()[..2], &[0.0, 1.0]);
        assert!(a.is_null(2));
        assert_eq!(out.column("b").unwrap().f64_values(), Some(&[0.0; 3][..]));
        assert_eq!(out.column("s").unwrap(), data.column("s").unwrap());

        let odd = vec![ColumnAffine::fitted("x", 0.1 + 0.2, 1.0 / 3.0)];
        let read = crate::codec::round_trip(|w| write_affine(w, &odd), read_affine);
        assert_eq!(read, odd);

        let err = apply_affine(Table::new().with(Column::f64("y", vec![1.0])), &maps).unwrap_err();
        assert!(
            err.message.contains("column 'a' was fitted"),
            "{}",
            err.message
        );
    }

    /// A model's features come in the model's order, whatever the table's,
    /// as numbers; a missing one, or one that is not numeric, is an
    /// invalid-input error naming it.
    #[test]
    fn model_features_are_found_by_name_in_the_models_order() {
        let data = Table::new()
            .with(Column::i64("b", vec![1, 2]))
            .with(Column::f64("a", vec![0.5, 1.5]))
            .with(Column::strings("s", ["x", "y"]));
        let names = ["a".to_string(), "b".to_string()];
        let columns = model_features(&data, &names, "p").unwrap();
        assert_eq!(columns.len(), 2);
        assert_eq!(&*columns[0], &[0.5, 1.5]);
        assert!(matches!(columns[0], Cow::Borrowed(_)));
        assert_eq!(&*columns[1], &[1.0, 2.0]);

        let err = model_features(&data, &["a".into(), "c".into()], "p").unwrap_err();
        assert_eq!(err.kind, crate::ErrorKind::InvalidInput);
        assert_eq!(
            err.message,
            "the model needs feature 'c', which is not in the data; columns: b, a, s"
        );
        let err = model_features(&data, &["s".into()], "p").unwrap_err();
        assert_eq!(err.kind, crate::ErrorKind::InvalidInput);
        assert!(err.message.contains("column 's' is"), "{}", err.message);
        assert!(err.message.contains("p needs f64"), "{}", err.message);
    }
}
