//! Printing: every line the CLI shows goes through here, escaped, and a
//! closed standard output ends the printing quietly.
//!
//! Much of what sluice shows came from a plugin or a data file: logs, step
//! errors, plugin names, versions and docs, param, column, check, metric
//! and model names. A hostile plugin could put terminal escapes there (set
//! the window title, write the clipboard with OSC 52, hide or rewrite what
//! came before), so human output renders control characters visibly
//! ([`escape_controls`]) and JSON output escapes the ones serde leaves raw
//! ([`escape_json_controls`]). [`outln!`] and [`errln!`] are the CLI's
//! `println!` and `eprintln!`; the lint at the top of `cli/mod.rs` keeps
//! the standard macros out.

use comfy_table::{ContentArrangement, Table, presets::UTF8_BORDERS_ONLY};
use std::borrow::Cow;
use std::fmt::Write as _;
use std::io::Write as _;
use std::sync::OnceLock;

/// Prints a line of human output to standard output, escaped.
macro_rules! outln {
    ($($arg:tt)*) => {
        $crate::output::print_out(&format!("{}\n", format_args!($($arg)*)))
    };
}

/// Prints a line to standard error, escaped.
macro_rules! errln {
    ($($arg:tt)*) => {
        $crate::output::print_err(&format!("{}\n", format_args!($($arg)*)))
    };
}

pub(crate) use {errln, outln};

/// Whether a character is rendered escaped: C0 controls but a line feed
/// and a tab, DEL, C1 controls (U+0080..U+009F: U+009B is a one-character
/// CSI to some terminals), and the bidirectional overrides and isolates
/// that make text read differently from what it is ("Trojan Source").
fn is_hidden_control(c: char) -> bool {
    matches!(c,
        '\u{0}'..='\u{8}' | '\u{b}'..='\u{1f}' | '\u{7f}'..='\u{9f}'
        | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// `text` with every [hidden control](is_hidden_control) written out:
/// `\x1b` for C0 and DEL, `\u{9b}` for the others. Line feeds and tabs
/// stay, so a multi-line log or error still reads as lines.
pub fn escape_controls(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_hidden_control) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        match c {
            c if !is_hidden_control(c) => out.push(c),
            c if c < '\u{80}' => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
        }
    }
    Cow::Owned(out)
}

/// JSON text (as serde_json writes it) with DEL, C1 controls and the
/// bidirectional overrides written as `\u` escapes of four hex digits:
/// serde_json escapes only C0. Outside strings JSON text is ASCII punctuation,
/// digits and letters, so every character replaced is inside a string,
/// where the escape means the same character.
pub fn escape_json_controls(json: &str) -> Cow<'_, str> {
    if !json.chars().any(is_hidden_control) {
        return Cow::Borrowed(json);
    }
    let mut out = String::with_capacity(json.len() + 16);
    for c in json.chars() {
        if is_hidden_control(c) {
            let _ = write!(out, "\\u{:04x}", c as u32);
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// The first error writing standard output; once there is one, nothing
/// more is written there.
static STDOUT_FAILED: OnceLock<std::io::Error> = OnceLock::new();

/// Writes bytes to standard output as they are (an artifact's bytes, or
/// text already escaped). A reader that went away (`sluice runs list |
/// head`) is not an error of the command: the rest of its output is
/// dropped and the command ends with its own status. Any other failure
/// is reported by [`stdout_failure`].
pub fn write_out(bytes: &[u8]) {
    if STDOUT_FAILED.get().is_some() {
        return;
    }
    let mut stdout = std::io::stdout().lock();
    if let Err(e) = stdout.write_all(bytes).and_then(|()| stdout.flush()) {
        let _ = STDOUT_FAILED.set(e);
    }
}

/// Prints human output to standard output, escaped.
pub fn print_out(text: &str) {
    write_out(escape_controls(text).as_bytes());
}

/// Prints to standard error, escaped. A failure to write there has
/// nowhere to be reported and is dropped.
pub fn print_err(text: &str) {
    let _ = std::io::stderr().write_all(escape_controls(text).as_bytes());
}

/// Why writing standard output failed, unless it failed because its
/// reader went away (a broken pipe ends the output quietly).
pub fn stdout_failure() -> Option<&'static std::io::Error> {
    STDOUT_FAILED
        .get()
        .filter(|e| e.kind() != std::io::ErrorKind::BrokenPipe)
}

/// Sends `tracing` events to standard error (`RUST_LOG`, default `warn`),
/// their fields escaped: a step's error, logged when it fails, is the
/// plugin's text.
pub fn init_tracing() {
    use tracing_subscriber::field::MakeExt as _;
    let fields = tracing_subscriber::fmt::format::debug_fn(|w, field, value| {
        let text = format!("{value:?}");
        let text = escape_controls(&text);
        if field.name() == "message" {
            write!(w, "{text}")
        } else {
            write!(w, "{field}={text}")
        }
    })
    .delimited(" ");
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .fmt_fields(fields)
        // Its own colors only on a terminal, so escapes on standard error
        // that is a pipe or a file are never sluice's.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr)
        .init();
}

/// A table of human output whose header and cells are escaped as they go
/// in, so the table measures the text it shows.
pub struct TextTable(Table);

impl TextTable {
    pub fn add_row<S: AsRef<str>>(&mut self, cells: impl IntoIterator<Item = S>) -> &mut Self {
        self.0.add_row(escaped(cells));
        self
    }
}

impl std::fmt::Display for TextTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

fn escaped<S: AsRef<str>>(cells: impl IntoIterator<Item = S>) -> Vec<String> {
    cells
        .into_iter()
        .map(|c| escape_controls(c.as_ref()).into_owned())
        .collect()
}

pub fn table(header: &[&str]) -> TextTable {
    let mut t = Table::new();
    t.load_preset(UTF8_BORDERS_ONLY)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_header(escaped(header));
    TextTable(t)
}

/// A value as pretty JSON, control characters escaped.
pub fn json_text<T: serde::Serialize>(value: &T) -> anyhow::Result<String> {
    let text = serde_json::to_string_pretty(value)?;
    Ok(escape_json_controls(&text).into_owned())
}

pub fn print_json<T: serde::Serialize>(value: &T) -> anyhow::Result<()> {
    let mut text = json_text(value)?;
    text.push('\n');
    write_out(text.as_bytes());
    Ok(())
}

pub fn short(digest: &str) -> &str {
    &digest[..12.min(digest.len())]
}

pub fn fmt_ms(ms: u64) -> String {
    if ms < 1000 {
        format!("{ms} ms")
    } else {
        format!("{:.2} s", ms as f64 / 1000.0)
    }
}

/// A metric as people read it: whole numbers whole, others to 4 decimals,
/// and the very large or very small (a bound of 1e300, a p-value of 1e-9)
/// in scientific notation rather than as hundreds of digits or `0.0000`.
pub fn fmt_metric(v: f64) -> String {
    let a = v.abs();
    if !v.is_finite() {
        v.to_string()
    } else if a >= 1e15 || (a != 0.0 && a < 1e-4) {
        fmt_num(v)
    } else if v.fract() == 0.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.4}")
    }
}

/// A number to at most 4 significant digits: integers below a million as
/// they are, very large or very small magnitudes in scientific notation
/// (`1e300`, `1.235e-7`).
pub fn fmt_num(x: f64) -> String {
    if !x.is_finite() {
        return x.to_string();
    }
    if x == 0.0 {
        return "0".into();
    }
    let a = x.abs();
    if x.fract() == 0.0 && a < 1e6 {
        return format!("{x:.0}");
    }
    if !(1e-4..1e6).contains(&a) {
        let s = format!("{x:.3e}");
        let (mantissa, exp) = s.split_once('e').unwrap_or((&s, "0"));
        return format!("{}e{exp}", trim_zeros(mantissa));
    }
    let decimals = (3 - a.log10().floor() as i32).max(0) as usize;
    trim_zeros(&format!("{x:.decimals$}")).to_owned()
}

fn trim_zeros(s: &str) -> &str {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.')
    } else {
        s
    }
}

/// A difference between two metrics, signed, to 4 significant digits:
/// `+0.002342`, `-1.5`, `+1.2e-7`, `±0`.
pub fn fmt_delta(d: f64) -> String {
    match d {
        0.0 => "±0".to_owned(),
        d if d > 0.0 => format!("+{}", fmt_num(d)),
        d => fmt_num(d),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_keep_four_significant_digits_and_go_scientific() {
        assert_eq!(fmt_num(0.978_873), "0.9789");
        assert_eq!(fmt_num(142.0), "142");
        assert_eq!(fmt_num(123.456), "123.5");
        assert_eq!(fmt_num(1e300), "1e300");
        assert_eq!(fmt_num(1.234_56e-7), "1.235e-7");
        assert_eq!(fmt_num(-0.05), "-0.05");
        assert_eq!(fmt_num(0.0), "0");
    }

    #[test]
    fn metrics_and_differences_are_rounded_for_people() {
        assert_eq!(fmt_metric(0.978873), "0.9789");
        assert_eq!(fmt_metric(142.0), "142");
        assert_eq!(fmt_metric(1e300), "1e300");
        assert_eq!(fmt_metric(-2.5e-9), "-2.5e-9");
        assert_eq!(fmt_metric(1.23456e20), "1.235e20");
        assert_eq!(fmt_metric(0.0), "0");
        assert_eq!(fmt_delta(-0.0023419203747072626), "-0.002342");
        assert_eq!(fmt_delta(0.014047933345611996), "+0.01405");
        assert_eq!(fmt_delta(12.5), "+12.5");
        assert_eq!(fmt_delta(1.2e-7), "+1.2e-7");
        assert_eq!(fmt_delta(0.0), "±0");
    }

    #[test]
    fn controls_are_rendered_visibly_and_lines_stay() {
        let hostile = "title\u{1b}]0;pwned\u{7} clip\u{1b}]52;c;ZXZpbA==\u{1b}\\ \
                       csi\u{9b}31m del\u{7f} cr\r bidi\u{202e}txt\u{2066}\nnext\tcol";
        let shown = escape_controls(hostile);
        assert_eq!(
            shown,
            "title\\x1b]0;pwned\\x07 clip\\x1b]52;c;ZXZpbA==\\x1b\\ \
             csi\\u{9b}31m del\\x7f cr\\x0d bidi\\u{202e}txt\\u{2066}\nnext\tcol"
        );
        assert!(!shown.chars().any(is_hidden_control));
        assert!(matches!(
            escape_controls("plain, ünïcode ✓\n"),
            Cow::Borrowed(_)
        ));
    }

    #[test]
    fn json_escapes_what_serde_leaves_raw_and_means_the_same() {
        let value = serde_json::json!({"log": "a\u{1b}[31m\u{9b}1m\u{7f}\u{202e}é"});
        let text = json_text(&value).unwrap();
        assert!(!text.chars().any(is_hidden_control), "{text}");
        assert!(
            text.contains("\\u001b[31m\\u009b1m\\u007f\\u202eé"),
            "{text}"
        );
        let back: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(back, value);
    }
}
