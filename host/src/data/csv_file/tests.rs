//! The CSV reader's rules, and its read options.

use super::*;
use arrow::array::{Array, AsArray};
use arrow::datatypes::{Float64Type, Int64Type};
use std::io::Cursor;

fn read(text: &str) -> Result<RecordBatch, DataError> {
    read_csv(
        Path::new("d.csv"),
        Cursor::new(text.as_bytes().to_vec()),
        &ReadOptions::default(),
    )
}

fn floats(batch: &RecordBatch, column: usize) -> Vec<Option<f64>> {
    let array = batch.column(column).as_primitive::<Float64Type>();
    (0..array.len())
        .map(|i| array.is_valid(i).then(|| array.value(i)))
        .collect()
}

/// Issue 18, point 15: NaN, nan, inf, -inf, Infinity, NA and the empty
/// field each keep a numeric column numeric: the NaNs and NA are
/// missing (as in pandas), the infinities are infinities.
#[test]
fn nan_inf_and_na_keep_a_column_numeric() {
    for (token, want) in [
        ("NaN", None),
        ("nan", None),
        ("-nan", None),
        ("NAN", None),
        ("NA", None),
        ("N/A", None),
        ("NULL", None),
        ("null", None),
        ("None", None),
        ("#N/A", None),
        ("<NA>", None),
        ("", None),
        (" ", None),
        ("inf", Some(f64::INFINITY)),
        ("-inf", Some(f64::NEG_INFINITY)),
        ("+inf", Some(f64::INFINITY)),
        ("Infinity", Some(f64::INFINITY)),
        ("-Infinity", Some(f64::NEG_INFINITY)),
        ("INF", Some(f64::INFINITY)),
    ] {
        let batch = read(&format!("x,y\n1.5,1\n{token},2\n-2,3\n"))
            .unwrap_or_else(|e| panic!("{token:?}: {e}"));
        assert_eq!(
            batch.schema().field(0).data_type(),
            &DataType::Float64,
            "{token:?}"
        );
        assert_eq!(
            floats(&batch, 0),
            [Some(1.5), want, Some(-2.0)],
            "{token:?}"
        );
    }
    // In an integer column a missing token leaves it Int64; an
    // infinity makes it Float64.
    let batch = read("n\n1\nNA\n3\n").unwrap();
    assert_eq!(batch.schema().field(0).data_type(), &DataType::Int64);
    let n = batch.column(0).as_primitive::<Int64Type>();
    assert_eq!((n.value(0), n.is_null(1), n.value(2)), (1, true, 3));
    let batch = read("n\n1\ninf\n3\n").unwrap();
    assert_eq!(
        floats(&batch, 0),
        [Some(1.0), Some(f64::INFINITY), Some(3.0)]
    );
    // Spaces around numbers (`1, 2`) are not text.
    let batch = read("a,b\n1, 2\n3, 4.5\n").unwrap();
    assert_eq!(batch.schema().field(0).data_type(), &DataType::Int64);
    assert_eq!(floats(&batch, 1), [Some(2.0), Some(4.5)]);
    // A Boolean column with NA stays Boolean.
    let batch = read("b\ntrue\nNA\nFalse\n").unwrap();
    assert_eq!(batch.schema().field(0).data_type(), &DataType::Boolean);
    assert!(batch.column(0).is_null(1));
}

/// A number column with a stray string is an error naming the file,
/// the line, the column and the value, not a text column.
#[test]
fn a_stray_string_in_a_number_column_is_named() {
    let err = read("id,x\n1,0.5\n2,1.5\n3,oops\n4,2\n5,?\n").unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, DataError::CsvValue { line: 4, .. }), "{msg}");
    assert!(
        msg.starts_with("`d.csv` line 4, column `x`: \"oops\" is not a number"),
        "{msg}"
    );
    assert!(msg.contains("3 of the column's 5 values are"), "{msg}");
    // A stray `true` too, and the line counts a quoted field's newlines.
    let err = read("note,x\n\"two\nlines\",1\nb,2\nc,true\n").unwrap_err();
    assert!(
        err.to_string().contains("line 5, column `x`: \"true\""),
        "{err}"
    );
    // Control characters in the value are escaped, a long one cut.
    let long = "z".repeat(500);
    let err = read(&format!("x\n1\n2\n\u{1b}[2J{long}\n")).unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains(r#""\u{1b}[2Jzzz"#) && msg.len() < 300, "{msg}");
}

/// A column that is mostly text stays text, numbers and all.
#[test]
fn a_text_column_stays_text() {
    let batch = read("code,name\nA1,x\n17,y\nB2,NA\n").unwrap();
    assert_eq!(batch.schema().field(0).data_type(), &DataType::Utf8);
    let code = batch.column(0).as_string::<i32>();
    assert_eq!((code.value(0), code.value(1)), ("A1", "17"));
    // As in pandas, NA is missing in a text column too.
    assert!(batch.column(1).is_null(2));
    // Half numbers, half not: text.
    let batch = read("c\n1\nx\n").unwrap();
    assert_eq!(batch.schema().field(0).data_type(), &DataType::Utf8);
}

/// 1e999 is refused, naming the line, not read as infinity; a literal
/// that only underflows reads as zero, as in pandas.
#[test]
fn an_overflowing_literal_is_refused() {
    for literal in ["1e999", "-1e999", "1.5E+400"] {
        let err = read(&format!("x\n1.5\n{literal}\n")).unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.starts_with(&format!(
                "`d.csv` line 3, column `x`: {literal:?} is beyond"
            )),
            "{msg}"
        );
    }
    // In a text column it is text.
    let batch = read("x\na\n1e999\nb\n").unwrap();
    assert_eq!(batch.column(0).as_string::<i32>().value(1), "1e999");
    assert_eq!(floats(&read("x\n1e-999\n").unwrap(), 0), [Some(0.0)]);
    // An integer too long for i64 is a float.
    let batch = read("x\n99999999999999999999\n1\n").unwrap();
    assert_eq!(floats(&batch, 0), [Some(1e20), Some(1.0)]);
}

#[test]
fn text_that_is_not_utf8_is_named() {
    let err = read_csv(
        Path::new("d.csv"),
        Cursor::new(b"name\nok\nbad \xff\n".to_vec()),
        &ReadOptions::default(),
    )
    .unwrap_err();
    assert!(
        err.to_string()
            .contains("line 3, column `name`: \"bad \u{fffd}\" is not UTF-8"),
        "{err}"
    );
}

fn read_with(bytes: &[u8], options: &ReadOptions) -> Result<RecordBatch, DataError> {
    read_csv(Path::new("d.csv"), Cursor::new(bytes.to_vec()), options)
}

fn options(keys: crate::data::ReadKeys<'_>) -> ReadOptions {
    ReadOptions::from_keys(&keys).unwrap()
}

/// Issue 23, point 3: R's `write.csv2` and Excel's "CSV (semicolon)":
/// a byte order mark, CRLF line ends, `;` between fields, quoted fields
/// holding the delimiter, doubled quotes and a line end, `NA` for missing.
#[test]
fn r_like_csv_with_bom_crlf_semicolons_and_quoted_newlines() {
    let text = "\u{feff}\"id\";\"note\";\"amount\"\r\n\
                \"007\";\"a; b\";1.5\r\n\
                \"008\";\"said \"\"hi\"\"\r\nthen left\";NA\r\n\
                \"009\";NA;-2\r\n";
    let semicolons = options(crate::data::ReadKeys {
        delimiter: Some(";"),
        ..Default::default()
    });
    let batch = read_with(text.as_bytes(), &semicolons).unwrap();
    let names: Vec<&str> = batch
        .schema_ref()
        .fields()
        .iter()
        .map(|f| f.name().as_str())
        .collect();
    assert_eq!(names, ["id", "note", "amount"], "the BOM is not in a name");
    // Read without `dtypes`, the ids are numbers ...
    assert_eq!(batch.column(0).data_type(), &DataType::Int64);
    let note = batch.column(1).as_string::<i32>();
    assert_eq!(note.value(0), "a; b");
    assert_eq!(note.value(1), "said \"hi\"\r\nthen left");
    assert!(note.is_null(2));
    assert_eq!(floats(&batch, 2), [Some(1.5), None, Some(-2.0)]);
    // ... and with it, text as written.
    let dtypes = [("id".to_owned(), "utf8".to_owned())].into();
    let typed = options(crate::data::ReadKeys {
        delimiter: Some(";"),
        dtypes: Some(&dtypes),
        ..Default::default()
    });
    let batch = read_with(text.as_bytes(), &typed).unwrap();
    assert_eq!(batch.column(0).as_string::<i32>().value(0), "007");
    // A stray value's line counts the quoted line end.
    let bad = text
        .replace("-2", "oops")
        .replace("NA\r\n\"009\"", "3\r\n\"009\"");
    let err = read_with(bad.as_bytes(), &semicolons).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("`d.csv` line 5, column `amount`: \"oops\" is not a number"),
        "{err}"
    );
    // The `csv` crate counts a CRLF line at its CR: the lines named are
    // the file's all the same.
    let err = read("x\r\n1\r\n2\r\noops\r\n").unwrap_err();
    assert!(err.to_string().contains("line 4, column `x`"), "{err}");
    let err = read("x\r\n1\r\n2\r\n1e999\r\n").unwrap_err();
    assert!(err.to_string().contains("line 4, column `x`"), "{err}");
}

/// `na_values` adds tokens, `keep_default_na = false` drops pandas'
/// (`NA` is then Namibia's code), `quote = ""` reads quotes as text.
#[test]
fn na_values_and_quoting_are_options() {
    let text = b"code,x\nNA,-\nFR,1\n\"DE\",2\n";
    let dash = ["-".to_owned()];
    let batch = read_with(
        text,
        &options(crate::data::ReadKeys {
            na_values: Some(&dash),
            ..Default::default()
        }),
    )
    .unwrap();
    assert!(batch.column(0).is_null(0));
    assert_eq!(batch.column(1).data_type(), &DataType::Int64);
    assert!(batch.column(1).is_null(0));
    let batch = read_with(
        text,
        &options(crate::data::ReadKeys {
            na_values: Some(&dash),
            keep_default_na: Some(false),
            quote: Some(""),
            ..Default::default()
        }),
    )
    .unwrap();
    let code = batch.column(0).as_string::<i32>();
    assert_eq!((code.value(0), code.value(2)), ("NA", "\"DE\""));
    // Without the dash as missing, the column has a stray value.
    let err = read(std::str::from_utf8(text).unwrap()).unwrap_err();
    assert!(
        err.to_string().contains("line 2, column `x`: \"-\""),
        "{err}"
    );
}

/// `dtypes` makes a column a type: a value that is not one is named with
/// its line; a column it names that the header lacks is named too.
#[test]
fn dtypes_are_enforced_value_by_value() {
    let dtypes = [
        ("n".to_owned(), "i64".to_owned()),
        ("f".to_owned(), "f64".to_owned()),
        ("b".to_owned(), "bool".to_owned()),
    ]
    .into();
    let typed = options(crate::data::ReadKeys {
        dtypes: Some(&dtypes),
        ..Default::default()
    });
    let batch = read_with(b"n,f,b\n1,2,true\nNA,,False\n", &typed).unwrap();
    let types: Vec<&DataType> = batch.columns().iter().map(|c| c.data_type()).collect();
    assert_eq!(
        types,
        [&DataType::Int64, &DataType::Float64, &DataType::Boolean]
    );
    assert_eq!(floats(&batch, 1), [Some(2.0), None]);
    for (text, want) in [
        (
            "n,f,b\n1,2,true\n1.5,2,true\n",
            "line 3, column `n`: \"1.5\" is not an integer, and `dtypes` makes the column i64",
        ),
        (
            "n,f,b\n1,x,true\n",
            "line 2, column `f`: \"x\" is not a number, and `dtypes` makes the column f64",
        ),
        (
            "n,f,b\n1,2,yes\n",
            "line 2, column `b`: \"yes\" is not true or false",
        ),
        (
            "n,f\n1,2\n",
            "line 1, column `b`: `dtypes` names it, but the header has no such column \
             (columns: n, f)",
        ),
    ] {
        let err = read_with(text.as_bytes(), &typed).unwrap_err().to_string();
        assert!(err.contains(want), "{text:?}: {err}");
    }
}

/// `parse_dates` reads ISO 8601 as UTC instants; a value that is not one
/// is named with its file, line and column.
#[test]
fn parse_dates_reads_iso_times_and_names_the_rest() {
    let dates = ["t".to_owned()];
    let opts = options(crate::data::ReadKeys {
        parse_dates: Some(&dates),
        ..Default::default()
    });
    let batch = read_with(
        b"t,x\n1970-01-02,1\n1970-01-01 00:00:01,2\n\n1970-01-01T02:00:00+02:00,3\nNA,4\n",
        &opts,
    )
    .unwrap();
    assert_eq!(
        batch.column(0).data_type(),
        &crate::data::plugin_types::time_type()
    );
    let t = batch
        .column(0)
        .as_primitive::<arrow::datatypes::TimestampMicrosecondType>();
    assert_eq!(
        t.iter().collect::<Vec<_>>(),
        [Some(86_400_000_000), Some(1_000_000), Some(0), None]
    );
    let err = read_with(b"t,x\n2024-01-31,1\n2024-02-30,2\n", &opts)
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("`d.csv` line 3, column `t`: \"2024-02-30\" is not a date or time"),
        "{err}"
    );
}

/// Bytes that are not UTF-8 in any column (not only a text one) are named
/// with their line and column.
#[test]
fn invalid_utf8_is_named_in_any_column() {
    let err = read_with(b"a,b\n1,x\n2,caf\xe9\n", &ReadOptions::default())
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("`d.csv` line 3, column `b`: \"caf\u{fffd}\" is not UTF-8"),
        "{err}"
    );
    let err = read_with(b"a,\xff\n1,2\n", &ReadOptions::default())
        .unwrap_err()
        .to_string();
    assert!(err.contains("line 1, column `#2`"), "{err}");
}

/// `encoding = "latin-1"` (Windows-1252, as WHATWG reads the label):
/// Excel's "CSV" in western Europe, `é` one byte and `€` 0x80.
#[test]
fn a_single_byte_encoding_is_decoded() {
    let opts = options(crate::data::ReadKeys {
        encoding: Some("latin-1"),
        delimiter: Some(";"),
        ..Default::default()
    });
    let bytes = b"ville;prix \x80\nS\xe8te;1,5\nNA;2\n";
    let batch = read_with(bytes, &opts).unwrap();
    assert_eq!(batch.schema().field(1).name(), "prix \u{20ac}");
    let ville = batch.column(0).as_string::<i32>();
    assert_eq!(ville.value(0), "S\u{e8}te");
    assert!(ville.is_null(1));
    // Read as UTF-8, the same bytes are named.
    let utf8 = options(crate::data::ReadKeys {
        delimiter: Some(";"),
        ..Default::default()
    });
    let err = read_with(bytes, &utf8).unwrap_err().to_string();
    assert!(err.contains("line 1, column `#2`"), "{err}");
}
