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
const STYLE: &str = concat!("\n", include_str!("report.css"));

/// The page's script: reads the JSON block and draws the report. No
/// libraries, no `innerHTML`: every text goes through `textContent`.
const SCRIPT: &str = concat!("\n", include_str!("report.js"));

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
