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
