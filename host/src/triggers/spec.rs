//! A trigger as the pipeline file declares it (`[triggers.NAME]`), checked.

use crate::monitor::spec::span_ms;
use serde::{Deserialize, Serialize};

/// One trigger of a pipeline: what fires it, and how firings are run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TriggerSpec {
    /// Fire on a schedule: a cron expression of 5 fields (minute hour
    /// day-of-month month day-of-week) or 6 (seconds first), with names,
    /// ranges, steps and `@daily`-style nicknames.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule: Option<String>,
    /// The time zone the schedule is read in (an IANA name such as
    /// `Europe/Paris`); `UTC` by default.
    #[serde(default = "utc")]
    pub timezone: String,
    /// Fire when the named dataset's data changes: a file of it added,
    /// removed or rewritten with other bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_new_data: Option<String>,
    /// Fire when the monitor of the named model raises an alert.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_alert: Option<String>,
    /// For `on_alert`: only alerts of these checks (all by default).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub checks: Vec<String>,
    /// For `schedule`: run every slot missed while no trigger process
    /// ran (`true`), or only the latest (`false`, the default: the others
    /// are recorded as skipped).
    #[serde(default)]
    pub catchup: bool,
    /// At most this many runs of the trigger at once; a firing beyond
    /// waits for one to end (never dropped).
    #[serde(default = "one")]
    pub max_concurrency: u32,
    /// Wait until nothing changed (new data, new alerts) for this span
    /// before firing, so a batch of files or a burst of alerts fires once
    /// (`"30s"`; `"2s"` by default for data, none otherwise).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub debounce: Option<String>,
}

fn utc() -> String {
    "UTC".into()
}

fn one() -> u32 {
    1
}

/// What fires a trigger, parsed.
#[derive(Debug, Clone)]
pub enum Source {
    /// A cron schedule in a time zone.
    Schedule(Box<croner::Cron>, chrono_tz::Tz),
    /// A dataset of the pipeline.
    NewData(String),
    /// A model's monitor alerts.
    Alert(String),
}

impl TriggerSpec {
    /// What fires it; the error names the field.
    pub fn source(&self) -> Result<Source, String> {
        let given = [
            self.schedule.is_some(),
            self.on_new_data.is_some(),
            self.on_alert.is_some(),
        ];
        if given.iter().filter(|g| **g).count() != 1 {
            return Err("give exactly one of `schedule`, `on_new_data` and `on_alert`".to_owned());
        }
        if let Some(cron) = &self.schedule {
            let parsed: croner::Cron = cron
                .parse()
                .map_err(|e| format!("schedule: `{cron}` is not a cron expression: {e}"))?;
            let tz: chrono_tz::Tz = self.timezone.parse().map_err(|_| {
                format!(
                    "timezone: `{}` is not a time zone name (such as UTC or Europe/Paris)",
                    self.timezone
                )
            })?;
            return Ok(Source::Schedule(Box::new(parsed), tz));
        }
        if let Some(dataset) = &self.on_new_data {
            return Ok(Source::NewData(dataset.clone()));
        }
        Ok(Source::Alert(self.on_alert.clone().unwrap_or_default()))
    }

    /// The debounce in milliseconds.
    pub fn debounce_ms(&self) -> Result<i64, String> {
        match &self.debounce {
            Some(text) if text.trim() == "0s" || text.trim() == "0" => Ok(0),
            Some(text) => span_ms(text).map_err(|e| format!("debounce: {e}")),
            None if self.on_new_data.is_some() => Ok(2000),
            None => Ok(0),
        }
    }

    /// Check it against the pipeline's `datasets` and `models`; the error
    /// names the field.
    pub fn validate(&self, datasets: &[&str], models: &[&str]) -> Result<(), String> {
        match self.source()? {
            Source::NewData(d) if !datasets.contains(&d.as_str()) => {
                return Err(format!(
                    "on_new_data: the pipeline has no dataset `{d}` (it has: {})",
                    datasets.join(", ")
                ));
            }
            Source::Alert(m) if !models.contains(&m.as_str()) => {
                return Err(format!(
                    "on_alert: the pipeline declares no model `{m}` ([models.{m}])"
                ));
            }
            _ => {}
        }
        if !self.checks.is_empty() && self.on_alert.is_none() {
            return Err("checks: only an `on_alert` trigger picks checks".into());
        }
        if self.catchup && self.schedule.is_none() {
            return Err("catchup: only a `schedule` has slots to catch up".into());
        }
        if self.max_concurrency == 0 {
            return Err("max_concurrency: must be at least 1".into());
        }
        self.debounce_ms()?;
        Ok(())
    }

    /// In words, for listings: `cron 0 2 * * * (Europe/Paris)`, `new
    /// data in daily`, `alerts of churn`.
    pub fn describe(&self) -> String {
        if let Some(cron) = &self.schedule {
            format!("schedule `{cron}` ({})", self.timezone)
        } else if let Some(d) = &self.on_new_data {
            format!("new data in dataset `{d}`")
        } else {
            let model = self.on_alert.as_deref().unwrap_or_default();
            if self.checks.is_empty() {
                format!("alerts of model `{model}`")
            } else {
                format!("alerts of model `{model}` ({})", self.checks.join(", "))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(text: &str) -> Result<TriggerSpec, String> {
        let s: TriggerSpec = toml::from_str(text).map_err(|e| e.to_string())?;
        s.validate(&["daily"], &["churn"])?;
        Ok(s)
    }

    #[test]
    fn each_source_is_checked_and_bad_fields_are_named() {
        let s = spec("schedule = \"0 2 * * *\"\ntimezone = \"Europe/Paris\"\n").unwrap();
        assert!(matches!(s.source().unwrap(), Source::Schedule(..)));
        assert_eq!(s.max_concurrency, 1);
        assert!(!s.catchup);
        assert!(spec("schedule = \"*/5 * * * * *\"\ncatchup = true\n").is_ok());
        let s = spec("on_new_data = \"daily\"\n").unwrap();
        assert_eq!(s.debounce_ms(), Ok(2000));
        let s = spec("on_alert = \"churn\"\nchecks = [\"drift\"]\ndebounce = \"10s\"\n").unwrap();
        assert_eq!(s.debounce_ms(), Ok(10_000));

        for (text, expected) in [
            ("schedule = \"61 * * * *\"\n", "not a cron expression"),
            (
                "schedule = \"0 2 * * *\"\ntimezone = \"Mars/Olympus\"\n",
                "not a time zone",
            ),
            ("on_new_data = \"weekly\"\n", "no dataset `weekly`"),
            ("on_alert = \"fraud\"\n", "no model `fraud`"),
            ("", "exactly one of"),
            (
                "schedule = \"@daily\"\non_alert = \"churn\"\n",
                "exactly one of",
            ),
            ("on_new_data = \"daily\"\ncatchup = true\n", "catchup"),
            ("schedule = \"@daily\"\nchecks = [\"drift\"]\n", "checks"),
            (
                "schedule = \"@daily\"\nmax_concurrency = 0\n",
                "max_concurrency",
            ),
            ("on_new_data = \"daily\"\ndebounce = \"soon\"\n", "debounce"),
            ("schedule = \"@daily\"\ncron = 1\n", "unknown field"),
        ] {
            let e = spec(text).unwrap_err();
            assert!(e.contains(expected), "{text:?}: {e}");
        }
    }
}
