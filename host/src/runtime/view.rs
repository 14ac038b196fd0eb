//! Tables lowered into a plugin without an owned copy first: the
//! contract's `table` and `column`, borrowing their values from wherever
//! they already are (an Arrow batch's buffers, or a [`types::Table`]).
//!
//! The canonical ABI copies a column's values into the sandbox's memory
//! in any case. Through [`types::Table`] a batch's values were copied
//! twice: into the table's vectors, then into the sandbox; a view lowers
//! an f64 or i64 column straight from its Arrow buffer: a whole table
//! less to copy and to hold.

use super::bindings::types;
use wasmtime::component::{ComponentType, Lower};

/// The contract's `table`, borrowed.
#[derive(ComponentType, Lower, Debug)]
#[component(record)]
pub struct TableView<'a> {
    /// Its columns, in order.
    pub columns: Vec<ColumnView<'a>>,
}

/// The contract's `column`, borrowed.
#[derive(ComponentType, Lower, Debug, Clone, Copy)]
#[component(record)]
pub struct ColumnView<'a> {
    /// Its name.
    pub name: &'a str,
    /// Its values, one per row.
    pub values: ValuesView<'a>,
    /// `false` at a null row; none when no row is null.
    pub valid: Option<&'a [bool]>,
}

/// The contract's `values`, borrowed.
#[derive(ComponentType, Lower, Debug, Clone, Copy)]
#[component(variant)]
pub enum ValuesView<'a> {
    /// Numbers.
    #[component(name = "f64s")]
    F64s(&'a [f64]),
    /// Integers.
    #[component(name = "i64s")]
    I64s(&'a [i64]),
    /// Flags.
    #[component(name = "bools")]
    Bools(&'a [bool]),
    /// Text.
    #[component(name = "strings")]
    Strings(&'a [String]),
}

impl<'a> From<&'a types::Column> for ColumnView<'a> {
    fn from(column: &'a types::Column) -> Self {
        ColumnView {
            name: &column.name,
            values: match &column.values {
                types::Values::F64s(v) => ValuesView::F64s(v),
                types::Values::I64s(v) => ValuesView::I64s(v),
                types::Values::Bools(v) => ValuesView::Bools(v),
                types::Values::Strings(v) => ValuesView::Strings(v),
            },
            valid: column.valid.as_deref(),
        }
    }
}

impl<'a> From<&'a types::Table> for TableView<'a> {
    fn from(table: &'a types::Table) -> Self {
        TableView {
            columns: table.columns.iter().map(ColumnView::from).collect(),
        }
    }
}

impl<'a> ColumnView<'a> {
    /// Its number of rows.
    pub fn len(&self) -> usize {
        match self.values {
            ValuesView::F64s(v) => v.len(),
            ValuesView::I64s(v) => v.len(),
            ValuesView::Bools(v) => v.len(),
            ValuesView::Strings(v) => v.len(),
        }
    }

    /// Whether it has no rows.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Rows `range` of it (clamped to its rows).
    pub fn rows(&self, range: std::ops::Range<usize>) -> ColumnView<'a> {
        let end = range.end.min(self.len());
        let r = range.start.min(end)..end;
        ColumnView {
            name: self.name,
            values: match self.values {
                ValuesView::F64s(v) => ValuesView::F64s(&v[r.clone()]),
                ValuesView::I64s(v) => ValuesView::I64s(&v[r.clone()]),
                ValuesView::Bools(v) => ValuesView::Bools(&v[r.clone()]),
                ValuesView::Strings(v) => ValuesView::Strings(&v[r.clone()]),
            },
            valid: self.valid.map(|m| &m[r]),
        }
    }

    /// An owned copy.
    pub fn to_column(&self) -> types::Column {
        types::Column {
            name: self.name.to_string(),
            values: match self.values {
                ValuesView::F64s(v) => types::Values::F64s(v.to_vec()),
                ValuesView::I64s(v) => types::Values::I64s(v.to_vec()),
                ValuesView::Bools(v) => types::Values::Bools(v.to_vec()),
                ValuesView::Strings(v) => types::Values::Strings(v.to_vec()),
            },
            valid: self.valid.map(<[bool]>::to_vec),
        }
    }
}

impl<'a> TableView<'a> {
    /// Its columns with their names and kinds and no rows: the table as
    /// passed to a plugin that reads its rows through the `rows` import
    /// (see [`RowSource`]).
    pub fn without_rows(&self) -> TableView<'a> {
        TableView {
            columns: self.columns.iter().map(|c| c.rows(0..0)).collect(),
        }
    }
}

/// The table of a call passed without its rows, which the plugin reads a
/// block at a time through the contract's `rows` import instead of getting
/// a copy of the whole table in its memory.
pub trait RowSource: Send + Sync {
    /// The call's table, whole.
    fn features(&self) -> TableView<'_>;
    /// The call's target column, whole, when it has one.
    fn target(&self) -> Option<ColumnView<'_>>;
}

/// The most rows one `rows.read` returns (the contract says so).
pub const MAX_READ: u32 = 65_536;

/// The number of rows of `source`.
pub fn rows_of(source: &dyn RowSource) -> u64 {
    let rows = match source.target() {
        Some(t) => t.len(),
        None => source.features().columns.first().map_or(0, ColumnView::len),
    };
    rows as u64
}

/// Rows `start` up to `start + len` of `source` (at most [`MAX_READ`],
/// clamped to its rows), copied: what `rows.read` returns.
pub fn read_rows(
    source: &dyn RowSource,
    start: u64,
    len: u32,
) -> (types::Table, Option<types::Column>) {
    let rows = rows_of(source);
    let start = start.min(rows);
    let end = (start + u64::from(len.min(MAX_READ))).min(rows);
    // Both fit in usize: they are at most the rows of a table in memory.
    let range = start as usize..end as usize;
    let table = types::Table {
        columns: source
            .features()
            .columns
            .iter()
            .map(|c| c.rows(range.clone()).to_column())
            .collect(),
    };
    (table, source.target().map(|t| t.rows(range).to_column()))
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Source(types::Table, Option<types::Column>);

    impl RowSource for Source {
        fn features(&self) -> TableView<'_> {
            TableView::from(&self.0)
        }
        fn target(&self) -> Option<ColumnView<'_>> {
            self.1.as_ref().map(ColumnView::from)
        }
    }

    fn column(name: &str, values: types::Values, valid: Option<Vec<bool>>) -> types::Column {
        types::Column {
            name: name.into(),
            values,
            valid,
        }
    }

    fn same(a: &types::Values, b: types::Values) {
        assert_eq!(format!("{a:?}"), format!("{b:?}"));
    }

    #[test]
    fn reads_are_clamped_to_the_rows_and_keep_masks_and_kinds() {
        let table = types::Table {
            columns: vec![
                column("a", types::Values::F64s(vec![1.0, 2.0, 3.0]), None),
                column(
                    "s",
                    types::Values::Strings(vec!["x".into(), "y".into(), "z".into()]),
                    Some(vec![true, false, true]),
                ),
            ],
        };
        let target = column("t", types::Values::I64s(vec![7, 8, 9]), None);
        let source = Source(table, Some(target));
        assert_eq!(rows_of(&source), 3);
        let (block, target) = read_rows(&source, 1, 10);
        same(
            &block.columns[0].values,
            types::Values::F64s(vec![2.0, 3.0]),
        );
        assert_eq!(block.columns[1].valid, Some(vec![false, true]));
        same(&target.unwrap().values, types::Values::I64s(vec![8, 9]));
        // Past the end: the columns, without rows.
        let (block, target) = read_rows(&source, 5, 2);
        assert_eq!(block.columns.len(), 2);
        same(&block.columns[1].values, types::Values::Strings(vec![]));
        same(&target.unwrap().values, types::Values::I64s(vec![]));
        // Without a target, the rows are the first column's.
        let source = Source(source.0, None);
        assert_eq!(rows_of(&source), 3);
        same(
            &read_rows(&source, 0, 2).0.columns[0].values,
            types::Values::F64s(vec![1.0, 2.0]),
        );
        // Without rows: the names and kinds.
        let empty = source.features().without_rows();
        assert!(empty.columns.iter().all(ColumnView::is_empty));
        assert!(matches!(empty.columns[1].values, ValuesView::Strings(_)));
    }

    #[test]
    fn a_read_returns_at_most_max_read_rows() {
        let n = MAX_READ as usize + 10;
        let table = types::Table {
            columns: vec![column("a", types::Values::F64s(vec![0.5; n]), None)],
        };
        let source = Source(table, None);
        let (block, _) = read_rows(&source, 0, u32::MAX);
        same(
            &block.columns[0].values,
            types::Values::F64s(vec![0.5; MAX_READ as usize]),
        );
        let (block, _) = read_rows(&source, MAX_READ as u64, u32::MAX);
        same(&block.columns[0].values, types::Values::F64s(vec![0.5; 10]));
    }
}
