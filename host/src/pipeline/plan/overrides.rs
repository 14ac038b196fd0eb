//! Params set from the command line (`sluice run P -P STEP.PARAM=VALUE`):
//! applied to the parsed file before it is planned, so they are checked
//! like the file's own params, and recorded with the run (not in the
//! definition: iterating on a param needs no new `version`).

use super::super::definition::PipelineFile;

/// One override, parsed: `STEP.PARAM=VALUE`.
#[derive(Debug, Clone, PartialEq)]
pub struct Override {
    /// The step's id.
    pub step: String,
    /// The param's name.
    pub param: String,
    /// The value: TOML (`0.5`, `true`, `"text"`, `[1, 2]`), else the text
    /// itself as a string.
    pub value: toml::Value,
}

/// Parse `STEP.PARAM=VALUE`; the error says what is expected.
pub fn parse_override(text: &str) -> Result<Override, String> {
    let bad = |why: &str| format!("-P {text}: {why}; expected STEP.PARAM=VALUE, e.g. train.C=0.5");
    let (key, value) = text.split_once('=').ok_or_else(|| bad("no `=`"))?;
    let (step, param) = key
        .trim()
        .rsplit_once('.')
        .ok_or_else(|| bad("no `.` between the step and the param"))?;
    if step.is_empty() || param.is_empty() {
        return Err(bad("the step or the param is empty"));
    }
    let value = value.trim();
    let value = toml::from_str::<toml::Table>(&format!("v = {value}"))
        .ok()
        .and_then(|mut t| t.remove("v"))
        .unwrap_or_else(|| toml::Value::String(value.to_owned()));
    Ok(Override {
        step: step.to_owned(),
        param: param.to_owned(),
        value,
    })
}

/// Set each override's param in `file`; the problems name the override
/// (a step the pipeline lacks, a malformed one). Later overrides of the
/// same param win.
pub(super) fn apply(file: &mut PipelineFile, overrides: &[String]) -> Vec<String> {
    let mut issues = Vec::new();
    for text in overrides {
        let o = match parse_override(text) {
            Ok(o) => o,
            Err(e) => {
                issues.push(e);
                continue;
            }
        };
        match file.steps.iter_mut().find(|s| s.id == o.step) {
            Some(step) => {
                step.params.insert(o.param, o.value);
            }
            None => issues.push(format!(
                "-P {text}: the pipeline has no step `{}` (its steps: {})",
                o.step,
                file.steps
                    .iter()
                    .map(|s| s.id.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
        }
    }
    issues
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_toml_else_text() {
        let o = parse_override("train.C=0.5").unwrap();
        assert_eq!((o.step.as_str(), o.param.as_str()), ("train", "C"));
        assert_eq!(o.value, toml::Value::Float(0.5));
        assert_eq!(
            parse_override("train.max_iter = 20").unwrap().value,
            toml::Value::Integer(20)
        );
        assert_eq!(
            parse_override("eval.scoring=accuracy").unwrap().value,
            toml::Value::String("accuracy".into())
        );
        assert_eq!(
            parse_override("cols.drop=\"a,b\"").unwrap().value,
            toml::Value::String("a,b".into())
        );
        let o = parse_override("my.step.alpha=1").unwrap();
        assert_eq!((o.step.as_str(), o.param.as_str()), ("my.step", "alpha"));
        for bad in ["train.C", "C=1", ".C=1", "train.=1"] {
            assert!(parse_override(bad).is_err(), "{bad}");
        }
    }
}
