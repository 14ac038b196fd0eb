//! The monitor report: one window of one model version against its
//! reference, as a single self-contained HTML page (`sluice monitor report
//! NAME -o report.html`).
//!
//! The page loads nothing: no scripts, styles, fonts or images by URL, and
//! its Content-Security-Policy forbids any fetch, so it opens the same
//! offline, from a mail attachment or from an artifact store. [`render`]
//! writes the [`ReportData`] into the page as JSON (a `<script
//! type="application/json" id="report-data">` block) and a small inline
//! script draws the charts from it as SVG. The script builds every node with
//! `createElement`/`createElementNS` and sets text with `textContent`, so a
//! feature or check named `<script>` is shown, never run; the JSON escapes
//! `<`, so no string can close its block either.
//!
//! Every chart is an `<svg class="chart" data-chart="KIND:NAME">`, KIND one
//! of `feature`, `prediction`, `history` and `latency`; its bars are
//! `class="bar"` and its lines `class="line"` elements. Tests count these in
//! the DOM headless Chromium leaves after the script ran.

use serde::Serialize;

/// Everything a monitor report shows: one window of one model version
/// against its reference.
#[derive(Debug, Clone, Serialize)]
pub struct ReportData {
    /// The model's name.
    pub model: String,
    /// The model version the window's requests were served by.
    pub version: i64,
    /// When the report was made (RFC 3339).
    pub generated_at: String,
    /// The window the report is about.
    pub window: WindowInfo,
    /// Data drift, one entry per input feature.
    pub features: Vec<FeatureDrift>,
    /// Prediction drift: the model's outputs in the window against its
    /// predictions on the holdout set; `None` when it was not computed.
    pub prediction: Option<FeatureDrift>,
    /// This window's checks.
    pub checks: Vec<CheckRow>,
    /// Check metrics over past windows (performance over time), one point
    /// per window and series.
    pub history: Vec<HistoryPoint>,
    /// Serving latency and errors, one point per past window.
    pub latency: Vec<LatencyPoint>,
    /// Alerts raised by the checks.
    pub alerts: Vec<AlertRow>,
}

/// The window a report is about.
#[derive(Debug, Clone, Serialize)]
pub struct WindowInfo {
    /// The window's first instant (RFC 3339).
    pub start: String,
    /// The instant the window ends (RFC 3339).
    pub end: String,
    /// Rows (input records) the model scored in the window.
    pub rows: u64,
    /// Requests served in the window; a request may carry many rows.
    pub requests: u64,
    /// Rows whose label has arrived, which the realised performance is
    /// measured on.
    pub labelled_rows: u64,
}

/// The distribution of one feature (or of the predictions) in the window
/// against the reference, and the drift test between them.
#[derive(Debug, Clone, Serialize)]
pub struct FeatureDrift {
    /// The feature's name.
    pub name: String,
    /// `"numeric"` or `"categorical"`.
    pub kind: String,
    /// Bin labels: an interval such as `"[0.5, 1.2)"` or a category.
    pub bins: Vec<String>,
    /// The share of reference rows in each bin (sums to 1).
    pub reference: Vec<f64>,
    /// The share of the window's rows in each bin (sums to 1).
    pub current: Vec<f64>,
    /// The test: `"ks"`, `"wasserstein"`, `"psi"`, `"jensenshannon"`,
    /// `"chisquare"` or `"z"`.
    pub test: String,
    /// The test's statistic, or the distance for distance tests.
    pub statistic: f64,
    /// The p-value, for the tests that have one.
    pub p_value: Option<f64>,
    /// The p-value below which, or the distance above which, the feature
    /// counts as drifted.
    pub threshold: f64,
    /// Whether the test found drift.
    pub drifted: bool,
}

/// One check of the window and its outcome.
#[derive(Debug, Clone, Serialize)]
pub struct CheckRow {
    /// The check's name.
    pub check: String,
    /// `"pass"`, `"fail"`, `"inconclusive"` or `"error"`.
    pub status: String,
    /// What the check found, in words.
    pub detail: String,
}

/// One value of one metric series at the end of a past window.
#[derive(Debug, Clone, Serialize)]
pub struct HistoryPoint {
    /// The end of the window the value is for (RFC 3339).
    pub window_end: String,
    /// The series, `SOURCE.METRIC`: `"performance.accuracy"`,
    /// `"cbpe.estimated_accuracy"`. The page draws one chart per source.
    pub series: String,
    /// The metric's value.
    pub value: f64,
}

/// Serving latency and errors of one past window.
#[derive(Debug, Clone, Serialize)]
pub struct LatencyPoint {
    /// The end of the window (RFC 3339).
    pub window_end: String,
    /// Median request latency, in milliseconds.
    pub p50_ms: f64,
    /// 99th percentile request latency, in milliseconds.
    pub p99_ms: f64,
    /// The share of requests that failed, 0 to 1.
    pub error_rate: f64,
    /// Requests served in the window.
    pub requests: u64,
}

/// One alert a check raised, and what was done about it.
#[derive(Debug, Clone, Serialize)]
pub struct AlertRow {
    /// When the alert was raised (RFC 3339).
    pub at: String,
    /// The check that raised it.
    pub check: String,
    /// What the check found.
    pub detail: String,
    /// What was done: the notification sent or the action taken.
    pub action: String,
}

/// The report as one self-contained HTML page.
///
/// Numbers that are not finite (NaN, infinities) are written as `null` and
/// shown as a dash; bins with such shares are left out of their chart.
pub fn render(data: &ReportData) -> String {
    let json = data_json(data);
    let title = format!("{} v{} · monitor report", data.model, data.version);
    let mut page = String::with_capacity(STYLE.len() + SCRIPT.len() + json.len() + 1024);
    page.push_str(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n",
    );
    // No fetch of any kind: the page is complete as it is.
    page.push_str(
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; \
         style-src 'unsafe-inline'; script-src 'unsafe-inline'\">\n<title>",
    );
    page.push_str(&html_escape(&title));
    page.push_str("</title>\n<style>");
    page.push_str(STYLE);
    page.push_str(
        "</style>\n</head>\n<body>\n<main id=\"report\"></main>\n\
         <noscript><p class=\"empty\">This report draws its charts with JavaScript; \
         enable it to read the report.</p></noscript>\n\
         <script type=\"application/json\" id=\"report-data\">",
    );
    page.push_str(&json);
    page.push_str("</script>\n<script>");
    page.push_str(SCRIPT);
    page.push_str("</script>\n</body>\n</html>\n");
    page
}

/// The data as JSON that is safe inside a `<script>` element: `<`, `>` and
/// `&` (which JSON allows only inside strings) are written as `\u` escapes,
/// so no `</script>` or `<!--` in a name can end the block early.
fn data_json(data: &ReportData) -> String {
    // serde_json writes non-finite floats as `null`, and these types have
    // nothing else it could refuse; `null` is the page's "no data" anyway.
    let json = serde_json::to_string(data).unwrap_or_else(|_| "null".to_owned());
    let mut out = String::with_capacity(json.len() + json.len() / 16);
    for c in json.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            c => out.push(c),
        }
    }
    out
}

/// Text as HTML character data or a quoted attribute value.
fn html_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The page's style: system fonts only, light, and printable.
const STYLE: &str = r#"
:root {
  --bg: #f4f5f7; --card: #fff; --ink: #1c2330; --muted: #667085; --rule: #e4e7ec;
  --ref: #b4bfce; --cur: #3563e9; --bad: #d92d20; --bad-bg: #fef3f2; --ok: #12805c;
  --ok-bg: #ecfdf3; --warn: #b54708; --warn-bg: #fffaeb; --err: #6941c6; --err-bg: #f4f3ff;
}
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--ink);
  font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Liberation Sans", sans-serif; }
main { max-width: 1200px; margin: 0 auto; padding: 28px 28px 48px; }
header.top { background: var(--card); border: 1px solid var(--rule); border-radius: 12px; padding: 22px 24px; }
.eyebrow { text-transform: uppercase; letter-spacing: .08em; font-size: 11px; font-weight: 600; color: var(--muted); }
h1 { margin: 4px 0 2px; font-size: 26px; font-weight: 650; word-break: break-word; }
h1 .ver { color: var(--muted); font-weight: 500; margin-left: 6px; }
.sub { color: var(--muted); margin: 0 0 16px; }
.tiles { display: grid; grid-template-columns: repeat(auto-fit, minmax(140px, 1fr)); gap: 10px; }
.tile { border: 1px solid var(--rule); border-radius: 10px; padding: 10px 12px; }
.tile .k { font-size: 12px; color: var(--muted); }
.tile .v { font-size: 22px; font-weight: 650; font-variant-numeric: tabular-nums; }
.tile .n { font-size: 12px; color: var(--muted); }
.tile.bad { border-color: #fda29b; background: var(--bad-bg); }
.tile.bad .v { color: var(--bad); }
.tile.good .v { color: var(--ok); }
nav { display: flex; flex-wrap: wrap; gap: 6px; margin: 14px 0 0; }
nav a { color: var(--ink); text-decoration: none; font-size: 13px; padding: 4px 10px; border-radius: 999px; border: 1px solid var(--rule); background: var(--card); }
nav a:hover { border-color: var(--cur); color: var(--cur); }
section { margin-top: 30px; }
h2 { font-size: 18px; margin: 0 0 4px; font-weight: 650; }
.lede { color: var(--muted); margin: 0 0 12px; }
.grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(320px, 1fr)); gap: 14px; }
.grid.wide { grid-template-columns: repeat(auto-fill, minmax(520px, 1fr)); }
figure.card { margin: 0; background: var(--card); border: 1px solid var(--rule); border-radius: 12px; padding: 14px 16px 8px; break-inside: avoid; }
figure.card.drifted { border-color: #fda29b; box-shadow: inset 3px 0 0 var(--bad); }
figcaption { margin-bottom: 6px; }
.cap-head { display: flex; align-items: center; gap: 8px; flex-wrap: wrap; }
.fname { font-weight: 650; font-size: 15px; word-break: break-word; }
.kind { font-size: 11px; color: var(--muted); border: 1px solid var(--rule); border-radius: 4px; padding: 0 5px; }
.badge { margin-left: auto; font-size: 12px; font-weight: 600; border-radius: 999px; padding: 1px 10px; }
.badge.drift { color: var(--bad); background: var(--bad-bg); }
.badge.nodrift { color: var(--ok); background: var(--ok-bg); }
.cap-test { color: var(--muted); font-size: 12px; margin-top: 2px; }
.cap-stats { color: var(--muted); font-size: 12.5px; font-variant-numeric: tabular-nums; margin-top: 2px; }
.cap-stats b { color: var(--ink); font-weight: 600; }
.legend { display: flex; flex-wrap: wrap; gap: 4px 14px; font-size: 12px; color: var(--muted); margin: 4px 0 2px; }
.legend span { display: inline-flex; align-items: center; gap: 5px; }
.legend i { display: inline-block; width: 12px; height: 12px; border-radius: 3px; }
.legend i.l { height: 3px; border-radius: 2px; }
svg.chart { display: block; width: 100%; max-width: 720px; height: auto; margin: 0 auto; overflow: visible; }
svg.chart text { font-size: 11px; fill: var(--muted); font-family: inherit; }
svg.chart .grid-rule { stroke: var(--rule); stroke-width: 1; }
svg.chart .axis { stroke: #98a2b3; stroke-width: 1; }
svg.chart rect.bar[data-series=reference] { fill: var(--ref); }
svg.chart rect.bar[data-series=current] { fill: var(--cur); }
svg.chart g.bin:hover rect.bar { opacity: .8; }
svg.chart path.line { fill: none; stroke-width: 2; stroke-linejoin: round; stroke-linecap: round; }
svg.chart .now { stroke: #98a2b3; stroke-dasharray: 3 3; }
svg.chart text.now-label { font-size: 10px; }
table { width: 100%; border-collapse: collapse; background: var(--card); border: 1px solid var(--rule); border-radius: 12px; overflow: hidden; }
th, td { text-align: left; padding: 8px 12px; border-bottom: 1px solid var(--rule); vertical-align: top; }
th { font-size: 12px; font-weight: 600; color: var(--muted); background: #f9fafb; }
tr:last-child td { border-bottom: none; }
td.mono, .mono { font-family: ui-monospace, "SFMono-Regular", "DejaVu Sans Mono", monospace; font-size: 12.5px; word-break: break-word; }
td.when { white-space: nowrap; color: var(--muted); font-variant-numeric: tabular-nums; }
.status { display: inline-block; min-width: 88px; max-width: 200px; overflow-wrap: break-word; text-align: center; font-size: 12px; font-weight: 600; border-radius: 999px; padding: 1px 10px; }
.status.pass { color: var(--ok); background: var(--ok-bg); }
.status.fail { color: var(--bad); background: var(--bad-bg); }
.status.inconclusive { color: var(--warn); background: var(--warn-bg); }
.status.error { color: var(--err); background: var(--err-bg); }
.status.other { color: var(--muted); background: #f2f4f7; }
.empty { color: var(--muted); font-style: italic; background: var(--card); border: 1px dashed var(--rule); border-radius: 12px; padding: 16px; margin: 0; }
.note { color: var(--warn); background: var(--warn-bg); border-radius: 8px; padding: 8px 12px; margin: 0 0 12px; }
footer { margin-top: 36px; color: var(--muted); font-size: 12px; text-align: center; }
@media print { body { background: #fff; } nav { display: none; } section { break-inside: auto; } }
"#;

/// The page's script: reads the JSON block and draws the report. No
/// libraries, no `innerHTML`: every text goes through `textContent`.
const SCRIPT: &str = r##"
(function () {
  "use strict";
  const SVG = "http://www.w3.org/2000/svg";
  const PALETTE = ["#3563e9", "#e04f5f", "#12805c", "#d97706", "#7c3aed", "#0891b2", "#64748b", "#c026d3"];
  const root = document.getElementById("report");

  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }
  function add(parent, child) { parent.appendChild(child); return child; }
  function svgEl(parent, tag, attrs, text) {
    const e = document.createElementNS(SVG, tag);
    for (const k of Object.keys(attrs || {})) e.setAttribute(k, String(attrs[k]));
    if (text !== undefined && text !== null) e.textContent = String(text);
    if (parent) parent.appendChild(e);
    return e;
  }
  function tip(parent, text) { svgEl(parent, "title", {}, text); }
  function num(v) { return typeof v === "number" && isFinite(v) ? v : null; }
  function str(v) { return v === undefined || v === null ? "" : String(v); }
  function arr(v) { return Array.isArray(v) ? v : []; }
  // A table's own entry: a name such as "constructor" finds nothing.
  function own(table, key) { return Object.prototype.hasOwnProperty.call(table, key) ? table[key] : undefined; }
  function fmt(v) {
    v = num(v);
    if (v === null) return "\u2014";
    if (v === 0) return "0";
    const a = Math.abs(v);
    if (a >= 1e6 || a < 1e-3) return v.toExponential(2);
    return String(parseFloat(v.toPrecision(4)));
  }
  function fmtInt(v) { v = num(v); return v === null ? "\u2014" : Math.round(v).toLocaleString("en-US"); }
  function pct(v) {
    v = num(v);
    if (v === null) return "\u2014";
    const p = v * 100;
    return (p !== 0 && Math.abs(p) < 10 ? p.toFixed(1) : p.toFixed(0)) + "%";
  }
  function fmtP(v) {
    v = num(v);
    if (v === null) return "\u2014";
    return v !== 0 && v < 1e-4 ? v.toExponential(1) : String(parseFloat(v.toPrecision(3)));
  }
  const TIME = /^(\d{4})-(\d\d)-(\d\d)[T ](\d\d):(\d\d)(?::\d\d(?:\.\d+)?)?(Z|[+-]\d\d:?\d\d)?$/i;
  const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
  // An RFC 3339 instant to the minute, for headers and tables.
  function shortTime(s) {
    s = str(s);
    const m = TIME.exec(s);
    if (!m) return s;
    const zone = !m[6] ? "" : /^(z|[+-]00:?00)$/i.test(m[6]) ? " UTC" : " " + m[6];
    return m[1] + "-" + m[2] + "-" + m[3] + " " + m[4] + ":" + m[5] + zone;
  }
  // Axis labels for a set of instants: as short as they can be and still
  // tell the windows apart ("Mar 4", "Mar 4 12:00", "Mar 4 2024").
  function tickLabeller(xs) {
    const ms = xs.map(function (x) { return TIME.exec(x); });
    if (!ms.length || ms.some(function (m) { return !m; })) return function (x) { return clip(x, 14); };
    const oneYear = ms.every(function (m) { return m[1] === ms[0][1]; });
    const midnight = ms.every(function (m) { return m[4] === "00" && m[5] === "00"; });
    return function (x) {
      const m = TIME.exec(x);
      let t = MONTHS[Number(m[2]) - 1] + " " + Number(m[3]);
      if (!midnight) t += " " + m[4] + ":" + m[5];
      if (!oneYear) t += " " + m[1];
      return t;
    };
  }
  function clip(s, n) { s = str(s); return s.length > n ? s.slice(0, n - 1) + "\u2026" : s; }
  function niceStep(span, count) {
    const raw = span / Math.max(1, count);
    const mag = Math.pow(10, Math.floor(Math.log10(raw)));
    const f = raw / mag;
    return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 2.5 ? 2.5 : f <= 5 ? 5 : 10) * mag;
  }
  // A y scale over [lo, hi] with round ticks.
  function scaleY(lo, hi, top, bottom, zero) {
    if (zero) { lo = Math.min(0, lo); hi = Math.max(0, hi); }
    if (!(hi > lo)) { const d = Math.abs(hi) > 0 ? Math.abs(hi) * 0.1 : 1; lo -= d; hi += d; if (zero && lo < 0 && hi > 0 && lo + d >= 0) lo = 0; }
    const step = niceStep(hi - lo, 4);
    lo = Math.floor(lo / step + 1e-9) * step;
    hi = Math.ceil(hi / step - 1e-9) * step;
    const ticks = [];
    for (let t = lo; t <= hi + step / 2; t += step) ticks.push(Math.abs(t) < step * 1e-9 ? 0 : t);
    return { ticks: ticks, at: function (v) { return bottom - (v - lo) / (hi - lo) * (bottom - top); } };
  }
  function yAxis(g, ys, left, right, label) {
    for (const t of ys.ticks) {
      const y = ys.at(t);
      svgEl(g, "line", { class: "grid-rule", x1: left, x2: right, y1: y, y2: y });
      svgEl(g, "text", { x: left - 6, y: y + 3.5, "text-anchor": "end" }, label(t));
    }
  }
  function legend(parent, items) {
    const l = add(parent, el("div", "legend"));
    for (const it of items) {
      const s = add(l, el("span"));
      const sw = add(s, el("i", it.line ? "l" : ""));
      sw.style.background = it.color;
      add(s, document.createTextNode(it.label));
    }
    return l;
  }
  function section(id, title, lede) {
    const s = add(root, el("section"));
    s.id = id;
    add(s, el("h2", "", title));
    if (lede) add(s, el("p", "lede", lede));
    return s;
  }
  function empty(parent, text) { return add(parent, el("p", "empty", text)); }

  let data = null;
  try { data = JSON.parse(document.getElementById("report-data").textContent); } catch (e) { data = null; }
  if (!data || typeof data !== "object") { empty(root, "The report's data could not be read."); return; }
  const win = data.window || {};
  const features = arr(data.features);
  const checks = arr(data.checks);
  const alerts = arr(data.alerts);
  const history = arr(data.history);
  const latency = arr(data.latency);

  // ---- drift charts ----
  // Name, what its statistic is called, and whether it decides by p-value.
  const TESTS = {
    ks: ["Kolmogorov\u2013Smirnov", "statistic", true], z: ["z-test", "z", true], chisquare: ["\u03c7\u00b2 test", "\u03c7\u00b2", true],
    wasserstein: ["Wasserstein distance", "distance"], psi: ["Population stability index", "PSI"],
    jensenshannon: ["Jensen\u2013Shannon distance", "distance"],
  };
  function driftCard(parent, d, kind) {
    const fig = add(parent, el("figure", "card" + (d.drifted ? " drifted" : "")));
    const cap = add(fig, el("figcaption"));
    const head = add(cap, el("div", "cap-head"));
    add(head, el("span", "fname", str(d.name)));
    if (d.kind) add(head, el("span", "kind", str(d.kind)));
    add(head, el("span", "badge " + (d.drifted ? "drift" : "nodrift"), d.drifted ? "drift" : "no drift"));
    const t = own(TESTS, d.test) || [str(d.test), "statistic", false];
    add(cap, el("div", "cap-test", t[0]));
    const stats = add(cap, el("div", "cap-stats"));
    add(stats, document.createTextNode(t[1] + " "));
    add(stats, el("b", "", fmt(d.statistic)));
    if (t[2] || (d.p_value !== undefined && d.p_value !== null)) {
      add(stats, document.createTextNode(" \u00b7 p-value "));
      add(stats, el("b", "", fmtP(d.p_value)));
      add(stats, document.createTextNode(" \u00b7 drift below " + fmtP(d.threshold)));
    } else {
      add(stats, document.createTextNode(" \u00b7 drift above " + fmt(d.threshold)));
    }
    barChart(fig, kind + ":" + str(d.name), arr(d.bins), arr(d.reference), arr(d.current));
    return fig;
  }
  function barChart(parent, id, bins, ref, cur) {
    const n = Math.max(bins.length, ref.length, cur.length);
    const W = 380, left = 36, right = 4, top = 8, plotH = 120;
    const labels = [];
    for (let i = 0; i < n; i++) labels.push(i < bins.length ? str(bins[i]) : "");
    const longest = labels.reduce(function (m, s) { return Math.max(m, s.length); }, 0);
    const slot = (W - left - right) / Math.max(1, n);
    const rotate = n > 0 && longest * 6 > slot - 4;
    const maxLen = rotate ? 16 : 40;
    const bottomPad = rotate ? Math.min(maxLen, longest) * 4.4 + 14 : 22;
    const H = top + plotH + bottomPad;
    const s = svgEl(parent, "svg", { class: "chart", "data-chart": id, viewBox: "0 0 " + W + " " + H, role: "img" });
    svgEl(s, "title", {}, id);
    let hi = 0;
    for (const v of ref.concat(cur)) if (num(v) !== null) hi = Math.max(hi, v);
    const ys = scaleY(0, hi > 0 ? hi : 1, top, top + plotH, true);
    yAxis(s, ys, left, W - right, pct);
    const bw = Math.max(1, Math.min(24, slot * 0.36));
    for (let i = 0; i < n; i++) {
      const g = svgEl(s, "g", { class: "bin" });
      const cx = left + slot * (i + 0.5);
      tip(g, labels[i] + "\nreference " + pct(ref[i]) + "\ncurrent " + pct(cur[i]));
      // A transparent column so the tooltip shows over the whole bin.
      svgEl(g, "rect", { x: cx - slot / 2, y: top, width: slot, height: plotH, fill: "transparent" });
      [["reference", ref[i], cx - bw], ["current", cur[i], cx]].forEach(function (b) {
        const v = num(b[1]);
        if (v === null) return;
        const y = ys.at(Math.max(0, v));
        svgEl(g, "rect", { class: "bar", "data-series": b[0], x: b[2], y: y, width: bw, height: Math.max(0, top + plotH - y), rx: 1.5 });
      });
      const ly = top + plotH + 14;
      const text = clip(labels[i], maxLen);
      if (rotate) svgEl(g, "text", { x: cx, y: ly - 4, "text-anchor": "end", transform: "rotate(-40 " + cx + " " + (ly - 4) + ")" }, text);
      else svgEl(g, "text", { x: cx, y: ly, "text-anchor": "middle" }, text);
    }
    svgEl(s, "line", { class: "axis", x1: left, x2: W - right, y1: top + plotH, y2: top + plotH });
    if (n === 0) svgEl(s, "text", { x: W / 2, y: top + plotH / 2, "text-anchor": "middle" }, "no bins");
    return s;
  }

  // ---- time-series charts ----
  function timeOrder(xs) {
    const ts = xs.map(function (x) { return Date.parse(x); });
    if (ts.every(function (t) { return !isNaN(t); })) {
      return xs.map(function (x, i) { return [x, ts[i]]; }).sort(function (a, b) { return a[1] - b[1]; }).map(function (p) { return p[0]; });
    }
    return xs.slice().sort();
  }
  // series: [{label, color, points: Map(x -> value)}]; opts.xs: the
  // instants on the x axis, so charts of one section line up.
  function lineChart(parent, id, series, opts) {
    const set = new Set(opts.xs || []);
    for (const sr of series) for (const x of sr.points.keys()) set.add(x);
    const xs = timeOrder(Array.from(set));
    const W = 560, H = 210, left = 52, right = 14, top = 10, bottom = 34;
    const s = svgEl(parent, "svg", { class: "chart", "data-chart": id, viewBox: "0 0 " + W + " " + H, role: "img" });
    svgEl(s, "title", {}, id);
    const vals = [];
    for (const sr of series) for (const v of sr.points.values()) if (num(v) !== null) vals.push(v);
    const lo = vals.length ? Math.min.apply(null, vals) : 0, hi = vals.length ? Math.max.apply(null, vals) : 1;
    const ys = scaleY(lo, hi, top, H - bottom, !!opts.zero);
    yAxis(s, ys, left, W - right, opts.fmt || fmt);
    const px = function (i) { return xs.length < 2 ? (left + W - right) / 2 : left + i * (W - left - right) / (xs.length - 1); };
    // At most six labels, spread evenly, the first and the last always.
    const label = tickLabeller(xs);
    const count = Math.min(xs.length, 6);
    const shown = new Set();
    for (let j = 0; j < count; j++) shown.add(count < 2 ? 0 : Math.round(j * (xs.length - 1) / (count - 1)));
    for (const i of shown) {
      const anchor = xs.length < 2 ? "middle" : i === 0 ? "start" : i === xs.length - 1 ? "end" : "middle";
      svgEl(s, "text", { x: px(i), y: H - bottom + 16, "text-anchor": anchor }, label(xs[i]));
    }
    svgEl(s, "line", { class: "axis", x1: left, x2: W - right, y1: H - bottom, y2: H - bottom });
    const nowAt = xs.indexOf(str(win.end));
    if (nowAt >= 0) {
      svgEl(s, "line", { class: "now", x1: px(nowAt), x2: px(nowAt), y1: top, y2: H - bottom });
      svgEl(s, "text", { class: "now-label", x: px(nowAt) - 4, y: top + 8, "text-anchor": "end" }, "this window");
    }
    for (const sr of series) {
      let d = "", pen = false;
      const dots = [];
      xs.forEach(function (x, i) {
        const v = sr.points.has(x) ? num(sr.points.get(x)) : null;
        if (v === null) { pen = false; return; }
        d += (pen ? "L" : "M") + px(i).toFixed(1) + " " + ys.at(v).toFixed(1);
        pen = true;
        dots.push([px(i), ys.at(v), x, v]);
      });
      const path = svgEl(s, "path", { class: "line", "data-series": sr.label, d: d || "M0 0", stroke: sr.color });
      tip(path, sr.label);
      if (dots.length <= 90) for (const p of dots) {
        const c = svgEl(s, "circle", { class: "point", cx: p[0], cy: p[1], r: 2.6, fill: sr.color });
        tip(c, sr.label + " \u00b7 " + p[2] + ": " + (opts.fmt || fmt)(p[3]) + (opts.extra ? opts.extra(p[2]) : ""));
      }
    }
    return s;
  }
  function chartCard(parent, title, series, id, opts) {
    const fig = add(parent, el("figure", "card"));
    const cap = add(fig, el("figcaption"));
    add(add(cap, el("div", "cap-head")), el("span", "fname", title));
    legend(cap, series.map(function (sr) { return { label: sr.label, color: sr.color, line: true }; }));
    lineChart(fig, id, series, opts);
    return fig;
  }

  // ---- summary ----
  const drifted = features.filter(function (f) { return f && f.drifted; }).length;
  const failed = checks.filter(function (c) { return c && c.status === "fail"; }).length;
  const errored = checks.filter(function (c) { return c && c.status === "error"; }).length;
  const header = add(root, el("header", "top"));
  add(header, el("div", "eyebrow", "Monitor report"));
  const h1 = add(header, el("h1", "", str(data.model)));
  add(h1, el("span", "ver", "v" + str(data.version)));
  add(header, el("p", "sub", "Window " + shortTime(win.start) + " \u2192 " + shortTime(win.end) + " \u00b7 generated " + shortTime(data.generated_at)));
  const tiles = add(header, el("div", "tiles"));
  function tile(k, v, note, cls) {
    const t = add(tiles, el("div", "tile" + (cls ? " " + cls : "")));
    add(t, el("div", "k", k));
    add(t, el("div", "v", v));
    if (note) add(t, el("div", "n", note));
  }
  tile("Rows", fmtInt(win.rows), "in this window");
  tile("Requests", fmtInt(win.requests));
  tile("Labelled rows", fmtInt(win.labelled_rows), num(win.rows) ? pct((win.labelled_rows || 0) / win.rows) + " of rows" : "");
  tile("Drifted features", drifted + " of " + features.length, "", drifted ? "bad" : features.length ? "good" : "");
  if (data.prediction) tile("Prediction drift", data.prediction.drifted ? "drift" : "none", str(data.prediction.test), data.prediction.drifted ? "bad" : "good");
  tile("Failed checks", failed + " of " + checks.length, errored ? errored + " could not run" : "", failed || errored ? "bad" : checks.length ? "good" : "");
  tile("Alerts", String(alerts.length), "", alerts.length ? "bad" : "");
  const nav = add(header, el("nav"));
  [["checks", "Checks"], ["data-drift", "Data drift"], ["prediction-drift", "Prediction drift"], ["performance", "Performance over time"], ["latency", "Latency"], ["alerts", "Alerts"]].forEach(function (n) {
    const a = add(nav, el("a", "", n[1]));
    a.href = '#' + n[0];
  });

  // ---- checks ----
  const RANK = { fail: 0, error: 1, inconclusive: 2, pass: 3 };
  const sc = section("checks", "Checks", "This window's checks, failures first.");
  if (!checks.length) empty(sc, "no checks ran in this window");
  else {
    const tbl = add(sc, el("table"));
    const hr = add(add(tbl, el("thead")), el("tr"));
    for (const h of ["Check", "Status", "Detail"]) add(hr, el("th", "", h));
    const body = add(tbl, el("tbody"));
    const rows = checks.map(function (c, i) { return [c || {}, i]; }).sort(function (a, b) {
      const ra = own(RANK, a[0].status), rb = own(RANK, b[0].status);
      return (ra === undefined ? 4 : ra) - (rb === undefined ? 4 : rb) || a[1] - b[1];
    });
    for (const r of rows) {
      const c = r[0];
      const tr = add(body, el("tr"));
      add(tr, el("td", "mono", str(c.check)));
      const st = str(c.status);
      add(add(tr, el("td")), el("span", "status " + (own(RANK, st) === undefined ? "other" : st), st || "unknown"));
      add(tr, el("td", "", str(c.detail)));
    }
  }

  // ---- data drift ----
  const sd = section("data-drift", "Data drift", "Share of rows per bin: the reference against this window.");
  if (!features.length) empty(sd, "no input features were compared in this window");
  else {
    legend(sd, [{ label: "reference", color: "var(--ref)" }, { label: "this window", color: "var(--cur)" }]);
    const grid = add(sd, el("div", "grid"));
    for (const f of features) if (f) driftCard(grid, f, "feature");
  }

  // ---- prediction drift ----
  const sp = section("prediction-drift", "Prediction drift", "The model's outputs in this window against its predictions on the holdout set.");
  if (!data.prediction) empty(sp, "no prediction drift was computed for this window");
  else {
    legend(sp, [{ label: "holdout predictions", color: "var(--ref)" }, { label: "this window", color: "var(--cur)" }]);
    driftCard(add(sp, el("div", "grid")), data.prediction, "prediction");
  }

  // ---- performance over time ----
  const sh = section("performance", "Performance over time", "Check metrics of past windows, one chart per source.");
  if (!num(win.labelled_rows)) add(sh, el("p", "note", "no labelled rows in this window: its realised performance is unknown"));
  if (!history.length) empty(sh, "no performance history yet");
  else {
    const groups = new Map();
    for (const p of history) {
      if (!p) continue;
      const name = str(p.series);
      const dot = name.indexOf(".");
      const group = dot > 0 ? name.slice(0, dot) : name;
      const label = dot > 0 ? name.slice(dot + 1) : name;
      if (!groups.has(group)) groups.set(group, new Map());
      const g = groups.get(group);
      if (!g.has(label)) g.set(label, new Map());
      g.get(label).set(str(p.window_end), p.value);
    }
    const TITLES = { performance: "Realised performance", cbpe: "Estimated performance (CBPE)", dle: "Estimated performance (DLE)" };
    const grid = add(sh, el("div", "grid wide"));
    const xs = history.filter(Boolean).map(function (p) { return str(p.window_end); });
    for (const [group, labels] of groups) {
      let k = 0;
      const series = [];
      for (const [label, points] of labels) series.push({ label: label, color: PALETTE[k++ % PALETTE.length], points: points });
      chartCard(grid, own(TITLES, group) || group, series, "history:" + group, { xs: xs });
    }
  }

  // ---- latency ----
  const sl = section("latency", "Latency and errors", "Serving latency and the share of failed requests, per window.");
  if (!latency.length) empty(sl, "no latency recorded");
  else {
    const p50 = new Map(), p99 = new Map(), errs = new Map(), reqs = new Map();
    for (const p of latency) {
      if (!p) continue;
      const x = str(p.window_end);
      p50.set(x, p.p50_ms); p99.set(x, p.p99_ms); errs.set(x, p.error_rate); reqs.set(x, p.requests);
    }
    const extra = function (x) { return " (" + fmtInt(reqs.get(x)) + " requests)"; };
    const grid = add(sl, el("div", "grid wide"));
    chartCard(grid, "Latency (ms)", [
      { label: "p50", color: PALETTE[0], points: p50 },
      { label: "p99", color: PALETTE[3], points: p99 },
    ], "latency:latency-ms", { zero: true, extra: extra });
    chartCard(grid, "Error rate", [{ label: "failed requests", color: PALETTE[1], points: errs }], "latency:error-rate", { zero: true, fmt: pct, extra: extra });
  }

  // ---- alerts ----
  const sa = section("alerts", "Alerts", "");
  if (!alerts.length) empty(sa, "no alerts");
  else {
    const tbl = add(sa, el("table"));
    const hr = add(add(tbl, el("thead")), el("tr"));
    for (const h of ["At", "Check", "Detail", "Action"]) add(hr, el("th", "", h));
    const body = add(tbl, el("tbody"));
    for (const a of alerts) {
      if (!a) continue;
      const tr = add(body, el("tr"));
      const when = add(tr, el("td", "when", shortTime(a.at)));
      when.title = str(a.at);
      add(tr, el("td", "mono", str(a.check)));
      add(tr, el("td", "", str(a.detail)));
      add(tr, el("td", "", str(a.action)));
    }
  }

  add(root, el("footer", "", "sluice monitor report \u00b7 " + str(data.model) + " v" + str(data.version) + " \u00b7 generated " + str(data.generated_at) + " \u00b7 self-contained: this page loads nothing from the network"));
})();
"##;

#[cfg(test)]
mod tests {
    use super::*;

    fn drift(name: &str, drifted: bool) -> FeatureDrift {
        FeatureDrift {
            name: name.to_owned(),
            kind: "numeric".to_owned(),
            bins: vec!["[0, 1)".to_owned(), "[1, 2)".to_owned()],
            reference: vec![0.5, 0.5],
            current: vec![0.25, 0.75],
            test: "ks".to_owned(),
            statistic: 0.25,
            p_value: Some(0.01),
            threshold: 0.05,
            drifted,
        }
    }

    fn empty_report() -> ReportData {
        ReportData {
            model: "churn".to_owned(),
            version: 3,
            generated_at: "2025-01-08T00:00:00Z".to_owned(),
            window: WindowInfo {
                start: "2025-01-07T00:00:00Z".to_owned(),
                end: "2025-01-08T00:00:00Z".to_owned(),
                rows: 0,
                requests: 0,
                labelled_rows: 0,
            },
            features: vec![],
            prediction: None,
            checks: vec![],
            history: vec![],
            latency: vec![],
            alerts: vec![],
        }
    }

    fn full_report() -> ReportData {
        let mut r = empty_report();
        r.window.rows = 1000;
        r.window.requests = 40;
        r.window.labelled_rows = 200;
        r.features = vec![drift("age", true), drift("income", false)];
        r.prediction = Some(drift("prediction", false));
        r.checks = vec![CheckRow {
            check: "drift.age".to_owned(),
            status: "fail".to_owned(),
            detail: "p = 0.01 < 0.05".to_owned(),
        }];
        r.history = vec![HistoryPoint {
            window_end: "2025-01-08T00:00:00Z".to_owned(),
            series: "performance.accuracy".to_owned(),
            value: 0.91,
        }];
        r.latency = vec![LatencyPoint {
            window_end: "2025-01-08T00:00:00Z".to_owned(),
            p50_ms: 3.5,
            p99_ms: 21.0,
            error_rate: 0.001,
            requests: 40,
        }];
        r.alerts = vec![AlertRow {
            at: "2025-01-08T00:00:05Z".to_owned(),
            check: "drift.age".to_owned(),
            detail: "age drifted".to_owned(),
            action: "webhook".to_owned(),
        }];
        r
    }

    /// The text of the page's JSON block.
    fn json_block(page: &str) -> &str {
        let open = "<script type=\"application/json\" id=\"report-data\">";
        let start = page.find(open).expect("the data block") + open.len();
        let len = page[start..]
            .find("</script>")
            .expect("the data block ends");
        &page[start..start + len]
    }

    fn embedded(page: &str) -> serde_json::Value {
        serde_json::from_str(json_block(page)).expect("the data block is JSON")
    }

    #[test]
    fn the_data_block_parses_back_to_the_data() {
        let data = full_report();
        let page = render(&data);
        assert_eq!(embedded(&page), serde_json::to_value(&data).unwrap());
    }

    #[test]
    fn names_cannot_close_the_data_block_or_become_markup() {
        let mut data = full_report();
        let evil = "</script><script>alert(\"x\")</script><!-- 'é' & 名前 \u{2028}";
        data.model = evil.to_owned();
        data.features[0].name = evil.to_owned();
        data.checks[0].detail = evil.to_owned();
        let page = render(&data);
        // The data block and the script's own: no third from the data.
        assert_eq!(page.matches("</script>").count(), 2);
        assert_eq!(page.matches("<script").count(), 2);
        assert!(!json_block(&page).contains('<'));
        assert!(!page.contains("<!--"));
        assert!(
            page.contains(
                "<title>&lt;/script&gt;&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;"
            )
        );
        // The escapes are JSON's: the names come back unchanged.
        let back = embedded(&page);
        assert_eq!(back["model"], evil);
        assert_eq!(back["features"][0]["name"], evil);
        assert_eq!(back["checks"][0]["detail"], evil);
    }

    #[test]
    fn non_finite_numbers_become_null() {
        let mut data = full_report();
        data.features[0].statistic = f64::NAN;
        data.features[0].p_value = Some(f64::INFINITY);
        data.features[0].current = vec![f64::NAN, f64::NEG_INFINITY];
        data.history[0].value = f64::NAN;
        data.latency[0].p99_ms = f64::INFINITY;
        let back = embedded(&render(&data));
        let f = &back["features"][0];
        assert!(f["statistic"].is_null());
        assert!(f["p_value"].is_null());
        assert_eq!(f["current"], serde_json::json!([null, null]));
        assert_eq!(f["reference"], serde_json::json!([0.5, 0.5]));
        assert!(back["history"][0]["value"].is_null());
        assert!(back["latency"][0]["p99_ms"].is_null());
        assert_eq!(back["latency"][0]["p50_ms"], 3.5);
    }

    #[test]
    fn an_empty_window_renders_and_says_what_is_missing() {
        let page = render(&empty_report());
        let back = embedded(&page);
        for key in ["features", "checks", "history", "latency", "alerts"] {
            assert_eq!(back[key], serde_json::json!([]), "{key}");
        }
        assert!(back["prediction"].is_null());
        // The words the script shows for empty sections.
        for words in [
            "no labelled rows in this window",
            "no alerts",
            "no checks ran in this window",
            "no input features were compared in this window",
            "no performance history yet",
            "no latency recorded",
        ] {
            assert!(page.contains(words), "{words}");
        }
    }

    #[test]
    fn the_page_loads_nothing() {
        let page = render(&full_report());
        for needle in [
            "src=", "href=", "url(", "@import", "<link", "<img", "https:",
        ] {
            assert!(!page.contains(needle), "{needle}");
        }
        // The only URL is the SVG namespace, which is a name, not a fetch.
        assert_eq!(page.matches("http:").count(), 1);
        assert!(page.contains("http://www.w3.org/2000/svg"));
        assert!(page.contains("default-src 'none'"));
    }
}
