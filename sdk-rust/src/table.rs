//! Columnar tables: the data a step reads and writes.
//!
//! A [`Table`] is a list of named [`Column`]s of equal length. Each column
//! holds one typed vector ([`Values`]) and, optionally, a validity mask in
//! which `false` marks a null. The layout matches the WIT contract, so data
//! moves between the host and the plugin without a per-element copy.

use std::fmt;

use crate::StepError;

/// The type of a column's values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ValueKind {
    /// 64-bit floats.
    F64,
    /// 64-bit signed integers.
    I64,
    /// Booleans.
    Bool,
    /// UTF-8 strings.
    Str,
}

impl ValueKind {
    /// The type's name as users write it: `f64`, `i64`, `bool`, `string`.
    pub fn as_str(self) -> &'static str {
        match self {
            ValueKind::F64 => "f64",
            ValueKind::I64 => "i64",
            ValueKind::Bool => "bool",
            ValueKind::Str => "string",
        }
    }

    /// Parses a type name (`f64`, `i64`, `bool`, `string` or `str`).
    pub fn parse(name: &str) -> Option<ValueKind> {
        match name {
            "f64" => Some(ValueKind::F64),
            "i64" => Some(ValueKind::I64),
            "bool" => Some(ValueKind::Bool),
            "string" | "str" => Some(ValueKind::Str),
            _ => None,
        }
    }

    /// `f64` and `i64`: the kinds that hold numbers (bools are not counted).
    pub fn is_numeric(self) -> bool {
        matches!(self, ValueKind::F64 | ValueKind::I64)
    }
}

impl fmt::Display for ValueKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The values of one column, as one typed vector.
#[derive(Debug, Clone, PartialEq)]
pub enum Values {
    /// 64-bit floats.
    F64(Vec<f64>),
    /// 64-bit signed integers.
    I64(Vec<i64>),
    /// Booleans.
    Bool(Vec<bool>),
    /// UTF-8 strings.
    Str(Vec<String>),
}

impl Values {
    /// The number of rows.
    pub fn len(&self) -> usize {
        match self {
            Values::F64(v) => v.len(),
            Values::I64(v) => v.len(),
            Values::Bool(v) => v.len(),
            Values::Str(v) => v.len(),
        }
    }

    /// Whether there is no row.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The type of the values.
    pub fn kind(&self) -> ValueKind {
        match self {
            Values::F64(_) => ValueKind::F64,
            Values::I64(_) => ValueKind::I64,
            Values::Bool(_) => ValueKind::Bool,
            Values::Str(_) => ValueKind::Str,
        }
    }
}

/// A named column: typed values and an optional validity mask.
///
/// `valid`, when present, has one entry per row; `false` marks a null, and
/// the value stored at that row is a placeholder to ignore.
#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    /// The column's name, unique within its table.
    pub name: String,
    /// One value per row.
    pub values: Values,
    /// `None`: no null; otherwise one entry per row, `false` for a null.
    pub valid: Option<Vec<bool>>,
}

impl Column {
    /// A column without nulls.
    pub fn new(name: impl Into<String>, values: Values) -> Self {
        Column {
            name: name.into(),
            values,
            valid: None,
        }
    }

    /// A float column without nulls.
    pub fn f64(name: impl Into<String>, values: Vec<f64>) -> Self {
        Self::new(name, Values::F64(values))
    }

    /// An integer column without nulls.
    pub fn i64(name: impl Into<String>, values: Vec<i64>) -> Self {
        Self::new(name, Values::I64(values))
    }

    /// A boolean column without nulls.
    pub fn bool(name: impl Into<String>, values: Vec<bool>) -> Self {
        Self::new(name, Values::Bool(values))
    }

    /// A string column without nulls.
    pub fn strings<S: Into<String>>(
        name: impl Into<String>,
        values: impl IntoIterator<Item = S>,
    ) -> Self {
        Self::new(
            name,
            Values::Str(values.into_iter().map(Into::into).collect()),
        )
    }

    /// Sets the validity mask: `false` marks a null row.
    pub fn with_valid(mut self, valid: Vec<bool>) -> Self {
        self.valid = Some(valid);
        self
    }

    /// Marks the given rows null (the stored values there become
    /// placeholders). Rows past the end are ignored.
    pub fn with_nulls(mut self, null_rows: &[usize]) -> Self {
        let len = self.len();
        let valid = self.valid.get_or_insert_with(|| vec![true; len]);
        for &row in null_rows {
            if let Some(v) = valid.get_mut(row) {
                *v = false;
            }
        }
        self
    }

    /// The column's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The column's values (nulls hold placeholders).
    pub fn values(&self) -> &Values {
        &self.values
    }

    /// The number of rows, nulls included.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// Whether the column has no row.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// The type of the values.
    pub fn kind(&self) -> ValueKind {
        self.values.kind()
    }

    /// The validity mask, if the column has one.
    pub fn valid(&self) -> Option<&[bool]> {
        self.valid.as_deref()
    }

    /// Whether row `i` is null. Rows past the end are not null.
    pub fn is_null(&self, i: usize) -> bool {
        self.valid
            .as_ref()
            .is_some_and(|v| v.get(i).is_some_and(|ok| !ok))
    }

    /// How many rows are null.
    pub fn null_count(&self) -> usize {
        self.valid
            .as_ref()
            .map_or(0, |v| v.iter().filter(|ok| !**ok).count())
    }

    /// Whether any row is null.
    pub fn has_nulls(&self) -> bool {
        self.valid.as_ref().is_some_and(|v| v.iter().any(|ok| !ok))
    }

    /// The values if the column holds floats, else `None`.
    pub fn f64_values(&self) -> Option<&[f64]> {
        match &self.values {
            Values::F64(v) => Some(v),
            _ => None,
        }
    }

    /// The values if the column holds integers, else `None`.
    pub fn i64_values(&self) -> Option<&[i64]> {
        match &self.values {
            Values::I64(v) => Some(v),
            _ => None,
        }
    }

    /// The values if the column holds booleans, else `None`.
    pub fn bool_values(&self) -> Option<&[bool]> {
        match &self.values {
            Values::Bool(v) => Some(v),
            _ => None,
        }
    }

    /// The values if the column holds strings, else `None`.
    pub fn str_values(&self) -> Option<&[String]> {
        match &self.values {
            Values::Str(v) => Some(v),
            _ => None,
        }
    }

    /// The f64 values, or an invalid-input error naming the column.
    pub fn as_f64(&self) -> Result<&[f64], StepError> {
        self.f64_values()
            .ok_or_else(|| self.wrong_kind(ValueKind::F64))
    }

    /// The i64 values, or an invalid-input error naming the column.
    pub fn as_i64(&self) -> Result<&[i64], StepError> {
        self.i64_values()
            .ok_or_else(|| self.wrong_kind(ValueKind::I64))
    }

    /// The bool values, or an invalid-input error naming the column.
    pub fn as_bool(&self) -> Result<&[bool], StepError> {
        self.bool_values()
            .ok_or_else(|| self.wrong_kind(ValueKind::Bool))
    }

    /// The string values, or an invalid-input error naming the column.
    pub fn as_str(&self) -> Result<&[String], StepError> {
        self.str_values()
            .ok_or_else(|| self.wrong_kind(ValueKind::Str))
    }

    /// The values as f64: i64 converted with `as`, bool as 0.0 / 1.0.
    /// Null rows keep their placeholder. A string column is an invalid-input
    /// error.
    pub fn to_f64_lossy(&self) -> Result<Vec<f64>, StepError> {
        match &self.values {
            Values::F64(v) => Ok(v.clone()),
            Values::I64(v) => Ok(v.iter().map(|&x| x as f64).collect()),
            Values::Bool(v) => Ok(v.iter().map(|&x| if x { 1.0 } else { 0.0 }).collect()),
            Values::Str(_) => Err(StepError::invalid_input(format!(
                "column '{}' is string, expected a number (f64, i64 or bool)",
                self.name
            ))),
        }
    }

    /// The value at row `i` as text (`1`, `2.5`, `true`, `abc`), or `None`
    /// when the row is null or past the end. f64 values use Rust's shortest
    /// round-trip form, so `1.0` renders as `1`.
    pub fn value_text(&self, i: usize) -> Option<String> {
        if i >= self.len() || self.is_null(i) {
            return None;
        }
        Some(match &self.values {
            Values::F64(v) => v[i].to_string(),
            Values::I64(v) => v[i].to_string(),
            Values::Bool(v) => v[i].to_string(),
            Values::Str(v) => v[i].clone(),
        })
    }

    /// A copy of rows `range` (clamped to the column's rows), with their
    /// mask.
    pub fn rows(&self, range: std::ops::Range<usize>) -> Column {
        let end = range.end.min(self.len());
        let r = range.start.min(end)..end;
        Column {
            name: self.name.clone(),
            values: match &self.values {
                Values::F64(v) => Values::F64(v[r.clone()].to_vec()),
                Values::I64(v) => Values::I64(v[r.clone()].to_vec()),
                Values::Bool(v) => Values::Bool(v[r.clone()].to_vec()),
                Values::Str(v) => Values::Str(v[r.clone()].to_vec()),
            },
            valid: self.valid.as_ref().map(|m| m[r].to_vec()),
        }
    }

    /// Takes the values and the mask out, consuming the column.
    pub fn into_parts(self) -> (String, Values, Option<Vec<bool>>) {
        (self.name, self.values, self.valid)
    }

    fn wrong_kind(&self, expected: ValueKind) -> StepError {
        StepError::invalid_input(format!(
            "column '{}' is {}, expected {}",
            self.name,
            self.kind(),
            expected
        ))
    }
}

/// A table: named columns of equal length, in order.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Table {
    /// The columns, in order.
    pub columns: Vec<Column>,
}

impl Table {
    /// A table with no column.
    pub fn new() -> Self {
        Table::default()
    }

    /// Appends a column (builder style).
    pub fn with(mut self, column: Column) -> Self {
        self.columns.push(column);
        self
    }

    /// Appends a column.
    pub fn push(&mut self, column: Column) {
        self.columns.push(column);
    }

    /// Replaces the column of the same name in place, or appends it.
    pub fn set(&mut self, column: Column) {
        match self.position(&column.name) {
            Some(i) => self.columns[i] = column,
            None => self.columns.push(column),
        }
    }

    /// The number of rows: the length of the first column, 0 without columns.
    pub fn num_rows(&self) -> usize {
        self.columns.first().map_or(0, Column::len)
    }

    /// The number of columns.
    pub fn num_columns(&self) -> usize {
        self.columns.len()
    }

    /// Whether the table has no column.
    pub fn is_empty(&self) -> bool {
        self.columns.is_empty()
    }

    /// The columns, in order.
    pub fn columns(&self) -> &[Column] {
        &self.columns
    }

    /// The columns, moved out.
    pub fn into_columns(self) -> Vec<Column> {
        self.columns
    }

    /// The column names, in order.
    pub fn names(&self) -> Vec<&str> {
        self.columns.iter().map(|c| c.name.as_str()).collect()
    }

    /// The index of the column `name`, if there is one.
    pub fn position(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c.name == name)
    }

    /// Whether there is a column `name`.
    pub fn contains(&self, name: &str) -> bool {
        self.position(name).is_some()
    }

    /// The column `name`, if there is one.
    pub fn get(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.name == name)
    }

    /// The column `name` to change in place, if there is one.
    pub fn get_mut(&mut self, name: &str) -> Option<&mut Column> {
        self.columns.iter_mut().find(|c| c.name == name)
    }

    /// The named column, or an invalid-input error listing the columns.
    pub fn column(&self, name: &str) -> Result<&Column, StepError> {
        match self.position(name) {
            Some(i) => Ok(&self.columns[i]),
            None => Err(self.missing(name)),
        }
    }

    /// The named column, mutably, or an invalid-input error.
    pub fn column_mut(&mut self, name: &str) -> Result<&mut Column, StepError> {
        match self.position(name) {
            Some(i) => Ok(&mut self.columns[i]),
            None => Err(self.missing(name)),
        }
    }

    /// Removes the named column and returns it (the others keep their
    /// order), or an invalid-input error.
    pub fn take(&mut self, name: &str) -> Result<Column, StepError> {
        match self.position(name) {
            Some(i) => Ok(self.columns.remove(i)),
            None => Err(self.missing(name)),
        }
    }

    /// Checks that every column and mask has the same number of rows and
    /// that names are unique. The SDK runs this on every table the host
    /// hands in.
    pub fn check_shape(&self) -> Result<(), StepError> {
        let rows = self.num_rows();
        // Names seen so far: one lookup per column, so a table of 100,000
        // columns is checked in linear time.
        let mut names = std::collections::HashSet::with_capacity(self.columns.len());
        for c in &self.columns {
            if c.len() != rows {
                return Err(StepError::invalid_input(format!(
                    "column '{}' has {} rows, column '{}' has {}",
                    c.name,
                    c.len(),
                    self.columns[0].name,
                    rows
                )));
            }
            if let Some(valid) = &c.valid
                && valid.len() != rows
            {
                return Err(StepError::invalid_input(format!(
                    "column '{}' has {} rows but a validity mask of {}",
                    c.name,
                    rows,
                    valid.len()
                )));
            }
            if !names.insert(c.name.as_str()) {
                return Err(StepError::invalid_input(format!(
                    "column '{}' appears twice",
                    c.name
                )));
            }
        }
        Ok(())
    }

    fn missing(&self, name: &str) -> StepError {
        StepError::invalid_input(format!(
            "no column '{name}'; columns: {}",
            self.names().join(", ")
        ))
    }
}

impl From<Vec<Column>> for Table {
    fn from(columns: Vec<Column>) -> Self {
        Table { columns }
    }
}

impl FromIterator<Column> for Table {
    fn from_iter<I: IntoIterator<Item = Column>>(iter: I) -> Self {
        Table {
            columns: iter.into_iter().collect(),
        }
    }
}

impl IntoIterator for Table {
    type Item = Column;
    type IntoIter = std::vec::IntoIter<Column>;
    fn into_iter(self) -> Self::IntoIter {
        self.columns.into_iter()
    }
}

impl<'a> IntoIterator for &'a Table {
    type Item = &'a Column;
    type IntoIter = std::slice::Iter<'a, Column>;
    fn into_iter(self) -> Self::IntoIter {
        self.columns.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;

    #[test]
    fn builders_and_accessors() {
        let t = Table::new()
            .with(Column::f64("x", vec![1.0, 2.0, 3.0]).with_nulls(&[1]))
            .with(Column::i64("n", vec![4, 5, 6]))
            .with(Column::bool("b", vec![true, false, true]))
            .with(Column::strings("s", ["a", "b", "c"]));
        assert_eq!(t.num_rows(), 3);
        assert_eq!(t.num_columns(), 4);
        assert_eq!(t.names(), vec!["x", "n", "b", "s"]);
        t.check_shape().unwrap();

        let x = t.column("x").unwrap();
        assert_eq!(x.kind(), ValueKind::F64);
        assert_eq!(x.f64_values(), Some(&[1.0, 2.0, 3.0][..]));
        assert!(x.is_null(1) && !x.is_null(0) && !x.is_null(7));
        assert_eq!(x.null_count(), 1);
        assert_eq!(x.value_text(0).as_deref(), Some("1"));
        assert_eq!(x.value_text(1), None);
        assert!(x.i64_values().is_none());

        let n = t.column("n").unwrap();
        assert_eq!(n.to_f64_lossy().unwrap(), vec![4.0, 5.0, 6.0]);
        assert!(!n.has_nulls());
        let b = t.column("b").unwrap();
        assert_eq!(b.to_f64_lossy().unwrap(), vec![1.0, 0.0, 1.0]);
        assert_eq!(b.value_text(1).as_deref(), Some("false"));
        let s = t.column("s").unwrap();
        assert_eq!(s.to_f64_lossy().unwrap_err().kind, ErrorKind::InvalidInput);
        assert_eq!(s.as_str().unwrap()[2], "c");
        let err = s.as_f64().unwrap_err();
        assert_eq!(err.message, "column 's' is string, expected f64");
    }

    #[test]
    fn missing_column_lists_columns() {
        let t = Table::new().with(Column::f64("a", vec![]));
        let err = t.column("z").unwrap_err();
        assert_eq!(err.kind, ErrorKind::InvalidInput);
        assert_eq!(err.message, "no column 'z'; columns: a");
    }

    #[test]
    fn take_set_and_shape() {
        let mut t = Table::new()
            .with(Column::f64("a", vec![1.0, 2.0]))
            .with(Column::i64("b", vec![1, 2]))
            .with(Column::f64("c", vec![0.0, 0.0]));
        let b = t.take("b").unwrap();
        assert_eq!(b.name(), "b");
        assert_eq!(t.names(), vec!["a", "c"]);
        t.set(Column::i64("a", vec![9, 9]));
        assert_eq!(t.names(), vec!["a", "c"]);
        assert_eq!(t.column("a").unwrap().kind(), ValueKind::I64);

        t.push(Column::f64("d", vec![1.0]));
        assert!(t.check_shape().is_err());
        let bad_mask = Table::new().with(Column::f64("a", vec![1.0]).with_valid(vec![]));
        assert!(bad_mask.check_shape().is_err());
        let dup = Table::new()
            .with(Column::f64("a", vec![1.0]))
            .with(Column::f64("a", vec![1.0]));
        assert!(dup.check_shape().is_err());
    }
}
