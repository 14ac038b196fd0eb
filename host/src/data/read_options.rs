//! How a dataset's files are read: the options of `[datasets.NAME]`
//! (`na_values`, `keep_default_na`, `delimiter`, `quote`, `encoding`,
//! `dtypes`, `parse_dates`, `time_unit`), checked once when the pipeline
//! is planned.
//!
//! The CSV reader (`csv_file/`) uses the first five and `dtypes` and
//! `parse_dates` to decide how a column is read; `plugin_types.rs` uses
//! `dtypes`, `parse_dates` and `time_unit` for every format, turning the
//! table into the types plugins receive.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::EpochUnit;

/// pandas' default `na_values` (`pandas._libs.parsers.STR_NA_VALUES`): the
/// tokens `pandas.read_csv` reads as missing in any column. The empty field
/// is missing too.
pub const DEFAULT_NA_VALUES: [&str; 18] = [
    "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN", "<NA>",
    "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null",
];

/// The unit dates and timestamps reach plugins in when a dataset gives no
/// `time_unit`: seconds since 1970-01-01 UTC.
pub const DEFAULT_TIME_UNIT: EpochUnit = EpochUnit::Seconds;

/// A type a column may be given with `dtypes`: one of the four a plugin
/// receives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnType {
    /// `"f64"` (also `"float64"`, `"float"`).
    F64,
    /// `"i64"` (also `"int64"`, `"int"`).
    I64,
    /// `"bool"` (also `"boolean"`).
    Bool,
    /// `"utf8"` (also `"string"`, `"str"`).
    Utf8,
}

impl ColumnType {
    /// The type `dtypes` names by `text`, or an error listing the names.
    pub fn parse(text: &str) -> Result<ColumnType, String> {
        match text {
            "f64" | "float64" | "float" => Ok(ColumnType::F64),
            "i64" | "int64" | "int" => Ok(ColumnType::I64),
            "bool" | "boolean" => Ok(ColumnType::Bool),
            "utf8" | "string" | "str" => Ok(ColumnType::Utf8),
            other => Err(format!(
                "{other:?} is not a type: use \"f64\", \"i64\", \"bool\" or \"utf8\" (for dates \
                 and times, list the column in `parse_dates`)"
            )),
        }
    }

    /// Its name in pipeline files.
    pub fn name(self) -> &'static str {
        match self {
            ColumnType::F64 => "f64",
            ColumnType::I64 => "i64",
            ColumnType::Bool => "bool",
            ColumnType::Utf8 => "utf8",
        }
    }

    /// The Arrow type it is.
    pub fn data_type(self) -> arrow::datatypes::DataType {
        use arrow::datatypes::DataType;
        match self {
            ColumnType::F64 => DataType::Float64,
            ColumnType::I64 => DataType::Int64,
            ColumnType::Bool => DataType::Boolean,
            ColumnType::Utf8 => DataType::Utf8,
        }
    }
}

/// How a dataset's files are read; [`Default`] is a dataset without any of
/// the options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadOptions {
    /// CSV: the tokens read as missing, spaces around a field aside (the
    /// empty field always is): `na_values`, after pandas' defaults unless
    /// `keep_default_na = false`.
    pub na_values: Vec<String>,
    /// Whether `na_values` was given or pandas' defaults were dropped
    /// (only then do the records name the tokens).
    pub na_values_set: bool,
    /// CSV: the byte between fields (`,`).
    pub delimiter: u8,
    /// CSV: the byte that quotes a field (`"`); `None`: no quoting.
    pub quote: Option<u8>,
    /// CSV: a single-byte encoding the fields are decoded from (Latin-1,
    /// Windows-1252, ...); `None`: UTF-8.
    pub encoding: Option<&'static encoding_rs::Encoding>,
    /// A type for each of these columns.
    pub dtypes: BTreeMap<String, ColumnType>,
    /// Columns read as dates or timestamps (ISO 8601 text).
    pub parse_dates: Vec<String>,
    /// The unit dates, timestamps, times of day and durations reach plugins
    /// in; `None`: [`DEFAULT_TIME_UNIT`].
    pub time_unit: Option<EpochUnit>,
}

impl Default for ReadOptions {
    fn default() -> Self {
        ReadOptions {
            na_values: DEFAULT_NA_VALUES.iter().map(|s| s.to_string()).collect(),
            na_values_set: false,
            delimiter: b',',
            quote: Some(b'"'),
            encoding: None,
            dtypes: BTreeMap::new(),
            parse_dates: Vec::new(),
            time_unit: None,
        }
    }
}

/// The options of `[datasets.NAME]` as written, before they are checked.
#[derive(Debug, Default, Clone, Copy)]
pub struct ReadKeys<'a> {
    /// `na_values`.
    pub na_values: Option<&'a [String]>,
    /// `keep_default_na`.
    pub keep_default_na: Option<bool>,
    /// `delimiter`.
    pub delimiter: Option<&'a str>,
    /// `quote`.
    pub quote: Option<&'a str>,
    /// `encoding`.
    pub encoding: Option<&'a str>,
    /// `dtypes`.
    pub dtypes: Option<&'a BTreeMap<String, String>>,
    /// `parse_dates`.
    pub parse_dates: Option<&'a [String]>,
    /// `time_unit`.
    pub time_unit: Option<&'a str>,
}

impl ReadOptions {
    /// The options `keys` give, or every problem with them (each naming
    /// its key).
    pub fn from_keys(keys: &ReadKeys<'_>) -> Result<ReadOptions, Vec<String>> {
        let mut problems = Vec::new();
        let mut options = ReadOptions::default();
        if keys.keep_default_na == Some(false) {
            options.na_values.clear();
            options.na_values_set = true;
        }
        if let Some(tokens) = keys.na_values {
            for token in tokens {
                if token.contains(['\n', '\r']) {
                    problems.push(format!("na_values: {token:?} spans lines"));
                } else if !options.na_values.contains(token) {
                    options.na_values.push(token.clone());
                }
            }
            options.na_values_set = true;
        }
        if let Some(d) = keys.delimiter {
            match one_byte("delimiter", d) {
                Ok(b) => options.delimiter = b,
                Err(e) => problems.push(e),
            }
        }
        if let Some(q) = keys.quote {
            if q.is_empty() {
                options.quote = None;
            } else {
                match one_byte("quote", q) {
                    Ok(b) => options.quote = Some(b),
                    Err(e) => problems.push(e),
                }
            }
        }
        if options.quote == Some(options.delimiter) {
            problems.push(format!(
                "`quote` and `delimiter` are both {:?}",
                options.delimiter as char
            ));
        }
        if let Some(label) = keys.encoding {
            match encoding(label) {
                Ok(e) => options.encoding = e,
                Err(e) => problems.push(e),
            }
        }
        for (column, name) in keys.dtypes.into_iter().flatten() {
            match ColumnType::parse(name) {
                Ok(t) => {
                    options.dtypes.insert(column.clone(), t);
                }
                Err(e) => problems.push(format!("dtypes: column `{column}`: {e}")),
            }
        }
        for column in keys.parse_dates.into_iter().flatten() {
            if options.parse_dates.contains(column) {
                problems.push(format!("parse_dates: column `{column}` is named twice"));
                continue;
            }
            if let Some(t) = options.dtypes.get(column)
                && !matches!(t, ColumnType::I64 | ColumnType::F64)
            {
                problems.push(format!(
                    "column `{column}` is in `parse_dates`, and `dtypes` makes it {}: a time \
                     reaches plugins as \"i64\" (the default) or \"f64\"",
                    t.name()
                ));
            }
            options.parse_dates.push(column.clone());
        }
        match keys.time_unit.map(EpochUnit::parse) {
            None => {}
            Some(Ok(unit)) => options.time_unit = Some(unit),
            Some(Err(e)) => problems.push(e),
        }
        if problems.is_empty() {
            Ok(options)
        } else {
            Err(problems)
        }
    }

    /// The unit times reach plugins in.
    pub fn unit(&self) -> EpochUnit {
        self.time_unit.unwrap_or(DEFAULT_TIME_UNIT)
    }

    /// Whether `field` (a CSV field's bytes) is missing: empty or one of
    /// [`na_values`](Self::na_values), spaces around it aside.
    pub fn is_missing(&self, field: &[u8]) -> bool {
        let trimmed = field.trim_ascii();
        trimmed.is_empty() || self.na_values.iter().any(|m| m.as_bytes() == trimmed)
    }

    /// The options as the dataset step's record and cache key hold them:
    /// only those given, so a dataset without any has `{}`.
    pub fn to_json(&self) -> Value {
        let mut out = serde_json::Map::new();
        let default = ReadOptions::default();
        if self.na_values_set {
            out.insert("na_values".into(), json!(self.na_values));
        }
        if self.delimiter != default.delimiter {
            out.insert(
                "delimiter".into(),
                json!((self.delimiter as char).to_string()),
            );
        }
        if self.quote != default.quote {
            let quote = self.quote.map(|q| (q as char).to_string());
            out.insert("quote".into(), json!(quote.unwrap_or_default()));
        }
        if !self.dtypes.is_empty() {
            let dtypes: serde_json::Map<String, Value> = self
                .dtypes
                .iter()
                .map(|(c, t)| (c.clone(), json!(t.name())))
                .collect();
            out.insert("dtypes".into(), Value::Object(dtypes));
        }
        if !self.parse_dates.is_empty() {
            out.insert("parse_dates".into(), json!(self.parse_dates));
        }
        if let Some(encoding) = self.encoding {
            out.insert("encoding".into(), json!(encoding.name()));
        }
        if let Some(unit) = self.time_unit {
            out.insert("time_unit".into(), json!(unit.name()));
        }
        Value::Object(out)
    }
}

/// The encoding `encoding = LABEL` names (WHATWG labels: `latin-1`,
/// `iso-8859-15`, `windows-1252`, `cp1250`, ...): `None` for UTF-8, else a
/// single-byte one, whose every byte is a character, so the delimiter and
/// quote are found in the bytes as they are. Others (UTF-16, Shift_JIS,
/// GBK) are refused, saying how to convert the file.
fn encoding(label: &str) -> Result<Option<&'static encoding_rs::Encoding>, String> {
    let convert = format!("convert the file first, e.g. `iconv -f {label} -t UTF-8`");
    let lower = label.to_ascii_lowercase();
    if matches!(lower.as_str(), "utf-8-sig" | "utf_8_sig" | "utf8-sig") {
        return Ok(None);
    }
    // WHATWG's labels, then Python's spellings of them (`latin-1`, `cp-1252`).
    let found = [
        lower.clone(),
        lower.replace('_', "-"),
        lower.replace(['-', '_'], ""),
    ]
    .iter()
    .find_map(|l| encoding_rs::Encoding::for_label(l.as_bytes()));
    match found {
        Some(e) if e == encoding_rs::UTF_8 => Ok(None),
        Some(e) if e.is_single_byte() => Ok(Some(e)),
        Some(e) => Err(format!(
            "`encoding = {label:?}` ({}) is not read: UTF-8 and single-byte encodings \
             (latin-1, windows-1252, iso-8859-15, ...) are; {convert}",
            e.name()
        )),
        None => Err(format!(
            "`encoding = {label:?}` is not an encoding's name (utf-8, latin-1, \
             windows-1252, iso-8859-15, ...); or {convert}"
        )),
    }
}

/// A one-character option (`delimiter`, `quote`): one ASCII character that
/// is not a line end.
fn one_byte(key: &str, text: &str) -> Result<u8, String> {
    match text.as_bytes() {
        [b] if b.is_ascii() && *b != b'\n' && *b != b'\r' => Ok(*b),
        _ => Err(format!(
            "`{key} = {text:?}` must be one ASCII character other than a line end \
             (e.g. \",\", \";\", \"\\t\")"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_checked_and_each_problem_named() {
        let dtypes: BTreeMap<String, String> = [
            ("id".to_owned(), "utf8".to_owned()),
            ("amount".to_owned(), "decimal".to_owned()),
            ("when".to_owned(), "bool".to_owned()),
        ]
        .into();
        let dates = ["when".to_owned()];
        let problems = ReadOptions::from_keys(&ReadKeys {
            delimiter: Some(";;"),
            quote: Some(";"),
            encoding: Some("utf-16"),
            dtypes: Some(&dtypes),
            parse_dates: Some(&dates),
            time_unit: Some("days"),
            ..Default::default()
        })
        .unwrap_err();
        let all = problems.join("\n");
        assert_eq!(problems.len(), 5, "{all}");
        assert!(
            all.contains("`delimiter = \";;\"` must be one ASCII"),
            "{all}"
        );
        assert!(
            all.contains("`encoding = \"utf-16\"` (UTF-16LE) is not read")
                && all.contains("iconv -f utf-16"),
            "{all}"
        );
        assert!(
            all.contains("dtypes: column `amount`: \"decimal\" is not a type"),
            "{all}"
        );
        assert!(
            all.contains("column `when` is in `parse_dates`, and `dtypes` makes it bool"),
            "{all}"
        );
        assert!(all.contains("`time_unit = \"days\"`"), "{all}");

        let na = ["-".to_owned(), "NA".to_owned()];
        let o = ReadOptions::from_keys(&ReadKeys {
            na_values: Some(&na),
            delimiter: Some("\t"),
            quote: Some(""),
            encoding: Some("UTF-8-sig"),
            ..Default::default()
        })
        .unwrap();
        assert!(o.is_missing(b" - ") && o.is_missing(b"NaN") && o.is_missing(b""));
        assert_eq!((o.delimiter, o.quote), (b'\t', None));
        assert_eq!(o.to_json()["delimiter"], "\t");
        assert_eq!(o.encoding, None, "UTF-8-sig is UTF-8");
        for (label, name) in [("latin-1", "windows-1252"), ("ISO_8859_15", "ISO-8859-15")] {
            let o = ReadOptions::from_keys(&ReadKeys {
                encoding: Some(label),
                ..Default::default()
            })
            .unwrap();
            assert_eq!(o.to_json()["encoding"], name, "{label}");
        }
        let e = encoding("klingon").unwrap_err();
        assert!(e.contains("not an encoding's name"), "{e}");
        assert_eq!(o.na_values.len(), DEFAULT_NA_VALUES.len() + 1);

        let o = ReadOptions::from_keys(&ReadKeys {
            keep_default_na: Some(false),
            na_values: Some(&na[..1]),
            ..Default::default()
        })
        .unwrap();
        assert!(o.is_missing(b"-") && !o.is_missing(b"NA") && o.is_missing(b"  "));
        assert_eq!(ReadOptions::default().to_json(), json!({}));
        assert_eq!(ReadOptions::default().unit(), EpochUnit::Seconds);
    }
}
