//! `{{name}}`: a sluice validator in Rust. Checks the table has at least
//! `min_rows` rows; metric `rows`. Build with `sluice build .`.

use sluice_sdk::{ParamSpec, Params, PluginInfo, StepError, Table, ValidationReport, Validator};

pub struct Plugin;

impl Validator for Plugin {
    fn describe() -> PluginInfo {
        PluginInfo::new("{{name}}", "0.1.0", "Checks the row count.")
            .metrics(&["rows"])
            .param(ParamSpec::integer("min_rows", 1, "fewest rows allowed").at_least(0.0))
    }

    fn validate(
        data: Table,
        _reference: Option<Table>,
        params: Params,
    ) -> Result<ValidationReport, StepError> {
        let min = params.integer("min_rows")?;
        let rows = data.num_rows();
        let mut report = ValidationReport::new();
        report.check("rows", rows as i64 >= min, format!("{rows} rows, need {min}"));
        report.metric("rows", rows as f64);
        Ok(report)
    }
}

sluice_sdk::export_validator!(Plugin);
