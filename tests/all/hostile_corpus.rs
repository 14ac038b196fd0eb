//! The hostile corpus (tests/hostile/corpus.toml): every attack on the
//! sandbox ends as a failed step with a clear message naming the step, the
//! plugin and the limit or rule (or, for attempts at nondeterminism, repeats
//! byte for byte); the host survives each; a victim workload running at the
//! same time on the same runtime gives exactly the outputs it gives alone;
//! and inside a pipeline the failed step claims no success and no output.

use crate::support::*;
use serde::Deserialize;
use sluice::artifacts::ArtifactStore;
use sluice::data;
use sluice::runtime::{
    CompileLimits, ModelBinding, Plugin, Runtime, RuntimeError, StepContext, StepFailure,
    StepFailureKind, StepLimits,
};
use sluice::wit;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Corpus {
    case: Vec<Case>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Expect {
    Failure,
    Deterministic,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    id: String,
    attack: String,
    plugin: Option<String>,
    wat: Option<String>,
    generate: Option<String>,
    bytes: Option<String>,
    call: String,
    #[serde(default)]
    params: toml::Table,
    state: Option<String>,
    model: Option<String>,
    #[serde(default)]
    limits: toml::Table,
    #[serde(default)]
    compile: toml::Table,
    expect: Expect,
    kind: Option<String>,
    #[serde(default)]
    contains: Vec<String>,
    #[serde(default)]
    log_contains: Vec<String>,
    #[serde(default)]
    output_contains: Vec<String>,
    #[serde(default)]
    repeat: bool,
    #[serde(default)]
    pipeline: bool,
    max_seconds: Option<u64>,
}

impl Case {
    fn limits(&self) -> StepLimits {
        self.limits
            .clone()
            .try_into()
            .unwrap_or_else(|e| panic!("case {}: limits: {e}", self.id))
    }

    fn compile_limits(&self) -> CompileLimits {
        self.compile
            .clone()
            .try_into()
            .unwrap_or_else(|e| panic!("case {}: compile: {e}", self.id))
    }

    fn params(&self) -> Vec<wit::Param> {
        self.params
            .iter()
            .map(|(name, value)| wit::Param {
                name: name.clone(),
                value: match value {
                    toml::Value::String(s) => wit::ParamValue::Text(s.clone()),
                    toml::Value::Integer(i) => wit::ParamValue::Integer(*i),
                    toml::Value::Float(f) => wit::ParamValue::Number(*f),
                    toml::Value::Boolean(b) => wit::ParamValue::Flag(*b),
                    other => panic!("case {}: param {name} = {other} is not supported", self.id),
                },
            })
            .collect()
    }
}

fn corpus() -> Vec<Case> {
    let path = root().join("tests/hostile/corpus.toml");
    let text = std::fs::read_to_string(&path).expect("read the corpus");
    toml::from_str::<Corpus>(&text)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .case
}

/// What a case did.
#[derive(Debug)]
enum Observed {
    /// The call succeeded: its value (as Debug text) and its log.
    Value { value: String, log: String },
    /// A step call (or describe at load) failed.
    Step(StepFailure),
    /// Loading failed before any call.
    Load(RuntimeError),
}

impl Observed {
    fn kind(&self) -> String {
        match self {
            Observed::Value { .. } => "success".into(),
            Observed::Step(f) => step_kind(&f.kind).into(),
            Observed::Load(e) => load_kind(e).into(),
        }
    }

    fn message(&self) -> String {
        match self {
            Observed::Value { .. } => String::new(),
            Observed::Step(f) => f.to_string(),
            Observed::Load(e) => e.to_string(),
        }
    }
}

fn step_kind(kind: &StepFailureKind) -> &'static str {
    match kind {
        StepFailureKind::Timeout { .. } => "timeout",
        StepFailureKind::MemoryLimit { .. } => "memory",
        StepFailureKind::FuelExhausted { .. } => "fuel",
        StepFailureKind::OutputTooLarge { .. } => "output",
        StepFailureKind::TooManyEntries { .. } => "entries",
        StepFailureKind::ModelCallLimit { .. } => "model-calls",
        StepFailureKind::InvalidLimits { .. } => "invalid-limits",
        StepFailureKind::Trap { .. } => "trap",
        StepFailureKind::Guest { .. } => "guest",
        StepFailureKind::InvalidOutput { .. } => "invalid-output",
    }
}

fn load_kind(e: &RuntimeError) -> &'static str {
    match e {
        RuntimeError::ForbiddenImports { .. } => "forbidden-import",
        RuntimeError::UnknownWorld { .. } => "unknown-world",
        RuntimeError::Link { .. } => "link",
        RuntimeError::NotAComponent { .. } => "not-a-component",
        RuntimeError::CompileLimit { .. } => "compile-limit",
        RuntimeError::Step(f) => step_kind(&f.kind),
        _ => "other",
    }
}

/// The breast cancer data, features and target, as plugins receive them.
pub(crate) fn cancer() -> &'static (wit::Table, wit::Column) {
    static DATA: OnceLock<(wit::Table, wit::Column)> = OnceLock::new();
    DATA.get_or_init(|| {
        let batch = data::read_table(&root().join("pipelines/data/breast_cancer.csv")).unwrap();
        let mut table = data::batch_to_table(&batch).unwrap();
        let at = table
            .columns
            .iter()
            .position(|c| c.name == "benign")
            .expect("target column");
        let target = table.columns.remove(at);
        (table, target)
    })
}

/// One runtime for the corpus, and its home (the compile cache is under it).
fn runtime_home() -> &'static (Runtime, tempfile::TempDir) {
    static RT: OnceLock<(Runtime, tempfile::TempDir)> = OnceLock::new();
    RT.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        (runtime_in(dir.path()), dir)
    })
}

fn runtime() -> &'static Runtime {
    &runtime_home().0
}

/// A WAT fixture with its `;; generated` line replaced by a body of
/// `spec`: `deep:KIB`, a chain of `i32.add` over as many `i32.const`s, KIB
/// KiB of straight-line code that leaves one i32 (3 bytes per constant and
/// add).
pub(crate) fn with_generated_body(file: &str, spec: &str) -> Vec<u8> {
    let kib: usize = match spec.split_once(':') {
        Some(("deep", kib)) => kib.parse().expect("deep:KIB"),
        _ => panic!("unknown generated body {spec}"),
    };
    let constants = kib * 1024 / 3;
    let mut body = String::with_capacity(constants * 20);
    body.push_str(&"i32.const 1\n".repeat(constants));
    body.push_str(&"i32.add\n".repeat(constants - 1));
    let path = root().join("tests/hostile/wat").join(file);
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(
        text.contains(";; generated\n"),
        "{} has no marker",
        path.display()
    );
    wat::parse_str(text.replacen(";; generated\n", &body, 1))
        .unwrap_or_else(|e| panic!("{spec}: {e}"))
}

/// The case's component: a built plugin, a WAT fixture (with a generated
/// body), or spoiled bytes; loaded under the case's compile limits.
fn load(rt: &Runtime, case: &Case) -> Result<Arc<Plugin>, RuntimeError> {
    let limits = case.compile_limits();
    if let Some(name) = &case.plugin {
        return rt.load_within(&plugin(name), &limits);
    }
    if let Some(file) = &case.wat {
        let bytes = match &case.generate {
            Some(spec) => with_generated_body(file, spec),
            None => wat::parse_file(root().join("tests/hostile/wat").join(file))
                .unwrap_or_else(|e| panic!("case {}: {file}: {e}", case.id)),
        };
        return rt.load_bytes_within(&bytes, Path::new(file), &limits);
    }
    let spec = case.bytes.as_deref().expect("plugin, wat or bytes");
    let (how, name) = spec.split_once(':').expect("bytes = \"HOW:PLUGIN\"");
    let mut bytes = std::fs::read(plugin(name)).unwrap();
    match how {
        "truncated" => bytes.truncate(bytes.len() / 2),
        "corrupt" => {
            // Early, inside the first section (the end of a Rust component
            // is custom sections, which a scramble would leave harmless).
            for (i, b) in bytes[16..16 + 4096].iter_mut().enumerate() {
                *b ^= 0xA5 ^ (i as u8);
            }
        }
        other => panic!("case {}: unknown spoiling {other}", case.id),
    }
    rt.load_bytes_within(&bytes, Path::new(&format!("{how}-{name}.wasm")), &limits)
}

/// A logistic regression model of the data, for explainers.
fn trained_model(rt: &Runtime, trainer: &str) -> ModelBinding {
    let trainer = rt.load(&plugin(trainer)).unwrap();
    let (features, target) = cancer();
    let ctx = StepContext::new("corpus-model", StepLimits::default(), 3);
    let trained = block_on(rt.train(&trainer, &ctx, features, target, &[])).unwrap();
    ModelBinding {
        trainer,
        model: Arc::new(trained.value.model),
        limits: StepLimits::default(),
        spare_sessions: None,
    }
}

/// Run a case once: load, then its call.
fn run_case(rt: &Runtime, case: &Case) -> Observed {
    let plugin = match load(rt, case) {
        Ok(p) => p,
        Err(e) => return Observed::Load(e),
    };
    let mut ctx = StepContext::new(&case.id, case.limits(), 99);
    let (features, _) = cancer();
    let params = case.params();
    match case.call.as_str() {
        "load" => Observed::Value {
            value: format!("loaded {}", plugin.label()),
            log: String::new(),
        },
        "fit" => match block_on(rt.fit(&plugin, &ctx, features, &params)) {
            Ok(out) => Observed::Value {
                value: String::from_utf8_lossy(&out.value).into_owned(),
                log: out.log,
            },
            Err(f) => Observed::Step(f),
        },
        "apply" => {
            let state = case.state.clone().unwrap_or_default().into_bytes();
            match block_on(rt.apply(&plugin, &ctx, &state, features)) {
                Ok(out) => Observed::Value {
                    value: format!("{:?}", out.value),
                    log: out.log,
                },
                Err(f) => Observed::Step(f),
            }
        }
        "explain" => {
            ctx.model = case.model.as_deref().map(|m| trained_model(rt, m));
            match block_on(rt.explain(&plugin, &ctx, features, None, &params)) {
                Ok(out) => Observed::Value {
                    value: format!("{:?}", out.value),
                    log: out.log,
                },
                Err(f) => Observed::Step(f),
            }
        }
        other => panic!("case {}: unknown call {other}", case.id),
    }
}

/// The victim: standardize fit + apply, then logreg train + predict, on
/// the same runtime; its bytes are the state, the model and the
/// predictions as Parquet.
fn victim(rt: &Runtime) -> Vec<u8> {
    let (features, target) = cancer();
    let scale = rt.load(&plugin("standardize")).unwrap();
    let ctx = StepContext::new("victim", StepLimits::default(), 7);
    let state = block_on(rt.fit(&scale, &ctx, features, &[])).unwrap().value;
    let scaled = block_on(rt.apply(&scale, &ctx, &state, features))
        .unwrap()
        .value;
    let logreg = rt.load(&plugin("logreg")).unwrap();
    let trained = block_on(rt.train(&logreg, &ctx, &scaled, target, &[]))
        .unwrap()
        .value;
    let predicted = block_on(rt.predict(&logreg, &ctx, &trained.model, &scaled))
        .unwrap()
        .value;
    let parquet = data::write_parquet(&data::table_to_batch(predicted).unwrap()).unwrap();
    [state, trained.model, parquet].concat()
}

/// Run `case` while the victim runs over and over on another thread; the
/// case's panic (a host failure) is caught. Returns what the case did and
/// how many victim runs overlapped it, or why the victim went wrong.
fn run_beside_victim(
    rt: &Runtime,
    case: &Case,
    baseline: &[u8],
) -> Result<(Observed, u32), String> {
    let done = AtomicBool::new(false);
    std::thread::scope(|s| {
        let v = s.spawn(|| {
            let mut runs = 0u32;
            loop {
                let out = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| victim(rt)))
                    .map_err(|_| "the victim panicked".to_string())?;
                if out != baseline {
                    return Err("the victim's output differs from its solo baseline".to_string());
                }
                runs += 1;
                if done.load(Ordering::SeqCst) {
                    return Ok(runs);
                }
            }
        });
        let observed =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run_case(rt, case)));
        done.store(true, Ordering::SeqCst);
        let runs = v
            .join()
            .map_err(|_| "the victim thread died".to_string())??;
        let observed = observed.map_err(|_| "the host panicked running the case".to_string())?;
        Ok((observed, runs))
    })
}

/// What is wrong with a case's outcome (empty: nothing).
fn check(case: &Case, first: &Observed, rt: &Runtime) -> Vec<String> {
    let mut wrong = Vec::new();
    let mut want = |ok: bool, what: String| {
        if !ok {
            wrong.push(what);
        }
    };
    match case.expect {
        Expect::Failure => {
            let kind = case.kind.as_deref().expect("a failure case names its kind");
            want(
                first.kind() == kind,
                format!("expected a {kind} failure, got {first:?}"),
            );
            let msg = first.message();
            for fragment in &case.contains {
                want(
                    msg.contains(fragment.as_str()),
                    format!("message lacks {fragment:?}: {msg}"),
                );
            }
            match first {
                Observed::Step(f) => {
                    // At load the step is describe and the plugin its file.
                    let step = if case.call == "load" {
                        "describe"
                    } else {
                        &case.id
                    };
                    want(
                        msg.contains(&format!("step '{step}'")),
                        format!("message names no step: {msg}"),
                    );
                    want(
                        msg.contains(&f.plugin),
                        format!("message names no plugin: {msg}"),
                    );
                    want(
                        msg.contains(&f.sha256[..12]),
                        format!("message has no digest: {msg}"),
                    );
                    if let Some(name) = &case.plugin {
                        want(
                            f.plugin.starts_with(name.as_str()),
                            format!("plugin label {} is not {name}", f.plugin),
                        );
                    }
                    for fragment in &case.log_contains {
                        want(
                            f.log.contains(fragment.as_str()),
                            format!("log lacks {fragment:?}"),
                        );
                    }
                }
                Observed::Load(_) => {
                    let file = case
                        .plugin
                        .as_ref()
                        .map(|p| format!("{}.wasm", p.replace('-', "_")))
                        .or(case.wat.clone())
                        .unwrap_or_default();
                    want(
                        msg.contains(&file),
                        format!("message names no file {file}: {msg}"),
                    );
                }
                Observed::Value { .. } => {}
            }
            if case.repeat {
                let again = run_case(rt, case);
                want(
                    again.kind() == first.kind() && again.message() == msg,
                    format!("a second run ended differently: {again:?}"),
                );
            }
        }
        Expect::Deterministic => {
            let Observed::Value { value, log } = first else {
                wrong.push(format!("expected success, got {}", first.message()));
                return wrong;
            };
            for fragment in &case.output_contains {
                want(
                    value.contains(fragment.as_str()),
                    format!("output lacks {fragment:?}: {value:.200}"),
                );
            }
            for fragment in &case.log_contains {
                want(
                    log.contains(fragment.as_str()),
                    format!("log lacks {fragment:?}"),
                );
            }
            let bound = case.limits().log_bytes() + 200;
            want(
                log.len() <= bound,
                format!("log of {} bytes, over {bound}", log.len()),
            );
            match run_case(rt, case) {
                Observed::Value { value: v2, log: l2 } => {
                    want(&v2 == value, "a second run returned other bytes".into());
                    want(&l2 == log, "a second run logged other bytes".into());
                }
                other => wrong.push(format!("a second run failed: {}", other.message())),
            }
        }
    }
    wrong
}

#[test]
fn every_hostile_case_fails_cleanly_beside_an_unharmed_victim() {
    let cases = corpus();
    assert!(cases.len() >= 20, "the corpus has {} cases", cases.len());
    let mut ids = std::collections::HashSet::new();
    for c in &cases {
        assert!(ids.insert(c.id.as_str()), "case id {} twice", c.id);
        assert!(!c.attack.is_empty());
    }
    let rt = runtime();
    let baseline = victim(rt);
    assert_eq!(
        baseline,
        victim(rt),
        "the victim does not repeat even alone"
    );
    let mut failures = Vec::new();
    for case in &cases {
        let started = Instant::now();
        let outcome = run_beside_victim(rt, case, &baseline);
        let elapsed = started.elapsed();
        let mut wrong = match &outcome {
            Ok((observed, _)) => check(case, observed, rt),
            Err(e) => vec![e.clone()],
        };
        let max = Duration::from_secs(case.max_seconds.unwrap_or(30));
        if elapsed > max {
            wrong.push(format!("took {elapsed:?}, over {max:?}"));
        }
        let runs = outcome.as_ref().map_or(0, |(_, r)| *r);
        eprintln!(
            "hostile case {:<22} {:>7.0?} victim runs {runs:>3} {}",
            case.id,
            elapsed,
            if wrong.is_empty() { "ok" } else { "WRONG" }
        );
        if !wrong.is_empty() {
            failures.push(format!("{}: {}", case.id, wrong.join("\n    ")));
        }
    }
    // The host is still whole: the victim still gives its baseline.
    assert_eq!(victim(rt), baseline);
    assert!(
        failures.is_empty(),
        "{} case(s) went wrong:\n  {}",
        failures.len(),
        failures.join("\n  ")
    );
}

/// The keys of a TOML table as the inside of an inline table.
fn inline(table: &toml::Table) -> String {
    let pairs: Vec<String> = table.iter().map(|(k, v)| format!("{k} = {v}")).collect();
    pairs.join(", ")
}

/// The digests a run record names: step inputs, outputs and plugins.
fn record_digests(record: &serde_json::Value) -> Vec<String> {
    let mut digests = Vec::new();
    for step in record["steps"].as_array().into_iter().flatten() {
        digests.extend(step["plugin_sha256"].as_str().map(String::from));
        for key in ["inputs", "outputs"] {
            for digest in step[key].as_object().into_iter().flat_map(|o| o.values()) {
                digests.extend(digest.as_str().map(String::from));
            }
        }
    }
    digests
}

#[test]
fn pipeline_cases_fail_their_step_and_record_no_success() {
    let cases: Vec<Case> = corpus().into_iter().filter(|c| c.pipeline).collect();
    assert!(!cases.is_empty());
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    let mut failures = Vec::new();
    let mut referenced = std::collections::HashSet::new();
    for case in &cases {
        let name = case
            .plugin
            .as_deref()
            .expect("pipeline cases use built plugins");
        let (params, limits) = (inline(&case.params), inline(&case.limits));
        let pipeline = write_pipeline(
            dir.path(),
            &case.id,
            &format!(
                "[[steps]]\nid = \"scale\"\nplugin = \"standardize\"\ninput = \"cancer\"\n\n\
                 [[steps]]\nid = \"{}\"\nplugin = {:?}\ninput = \"scale\"\nparams = {{ {params} }}\nlimits = {{ {limits} }}\n",
                case.id,
                plugin(name).display().to_string(),
            ),
        );
        let out = sluice(&home)
            .arg("run")
            .arg(&pipeline)
            .arg("--json")
            .output()
            .unwrap();
        let mut wrong = Vec::new();
        if out.status.code() != Some(1) {
            wrong.push(format!(
                "exit code {:?}: {}",
                out.status.code(),
                stderr(&out)
            ));
        }
        let report = json(&out);
        let steps = report["steps"].as_array().cloned().unwrap_or_default();
        let find = |id: &str| {
            steps
                .iter()
                .find(|s| s["id"] == id)
                .cloned()
                .unwrap_or_default()
        };
        if find("scale")["status"] != "succeeded" {
            wrong.push(format!("the good step did not succeed: {report}"));
        }
        let step = find(&case.id);
        let error = step["error"].as_str().unwrap_or_default();
        if step["status"] != "failed" {
            wrong.push(format!("step status {}", step["status"]));
        }
        for fragment in case.contains.iter().chain([&format!("step '{}'", case.id)]) {
            if !error.contains(fragment.as_str()) {
                wrong.push(format!("error lacks {fragment:?}: {error}"));
            }
        }
        // A failed step claims no output at all (a transform stores its
        // fitted state only once apply has succeeded too).
        let outputs = step["outputs"].as_object().cloned().unwrap_or_default();
        let claimed: Vec<&String> = outputs.keys().collect();
        if !claimed.is_empty() {
            wrong.push(format!("the failed step claims outputs {claimed:?}"));
        }
        // The run record agrees.
        let run_id = report["run_id"].as_str().unwrap_or_default();
        let shown = sluice(&home)
            .args(["runs", "show", run_id, "--json"])
            .output()
            .unwrap();
        let record = json(&shown);
        let recorded = record["steps"]
            .as_array()
            .and_then(|s| s.iter().find(|s| s["step_id"] == case.id.as_str()).cloned())
            .unwrap_or_default();
        if recorded["status"] != "failed" || record["status"] == "succeeded" {
            wrong.push(format!(
                "the run record says step {} run {}",
                recorded["status"], record["status"]
            ));
        }
        // Every artifact in the store is one a step record names (an input,
        // an output, a plugin): the failed call stored nothing unnamed.
        referenced.extend(record_digests(&record));
        let stored = tokio::runtime::Runtime::new()
            .unwrap()
            .block_on(async { ArtifactStore::local(&home).unwrap().list().await.unwrap() });
        let orphans: Vec<String> = stored
            .iter()
            .map(|d| d.to_hex())
            .filter(|d| !referenced.contains(d))
            .collect();
        if stored.is_empty() {
            wrong.push("the store is empty: the good step stored nothing".into());
        }
        if !orphans.is_empty() {
            wrong.push(format!("artifacts no step record names: {orphans:?}"));
        }
        eprintln!(
            "pipeline case {:<22} {}",
            case.id,
            if wrong.is_empty() { "ok" } else { "WRONG" }
        );
        if !wrong.is_empty() {
            failures.push(format!("{}: {}", case.id, wrong.join("\n    ")));
        }
    }
    assert!(
        failures.is_empty(),
        "{} pipeline case(s) went wrong:\n  {}",
        failures.len(),
        failures.join("\n  ")
    );
}

#[test]
fn fuel_is_a_deterministic_budget() {
    let rt = runtime();
    let hostile = rt.load(&plugin("hostile")).unwrap();
    let (features, _) = cancer();
    let params = vec![wit::Param {
        name: "attack".into(),
        value: wit::ParamValue::Text("burn".into()),
    }];
    let fit = |fuel: Option<u64>| {
        let limits = StepLimits {
            fuel,
            ..StepLimits::default()
        };
        block_on(rt.fit(
            &hostile,
            &StepContext::new("burn", limits, 1),
            features,
            &params,
        ))
    };
    // A budget out of range is refused before anything runs.
    let f = fit(Some(0)).unwrap_err();
    assert!(
        matches!(f.kind, StepFailureKind::InvalidLimits { .. }),
        "{f}"
    );
    assert!(
        f.to_string().contains("limits.fuel must be between 1"),
        "{f}"
    );
    let unmetered = fit(None).unwrap();
    assert_eq!(unmetered.fuel_used, None);
    let a = fit(Some(1 << 40)).unwrap();
    let b = fit(Some(1 << 40)).unwrap();
    let used = a.fuel_used.expect("metered");
    assert!(used > 2_000_000, "the burn spends fuel: {used}");
    assert_eq!(b.fuel_used, Some(used), "same input, same fuel");
    // The metered engine compiled the plugin again, into an entry of its own.
    let cache = runtime_home().1.path().join("cache/compiled");
    let entries = std::fs::read_dir(&cache)
        .unwrap()
        .filter(|e| {
            let name = e
                .as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .into_owned();
            name.starts_with(&hostile.sha256) && name.ends_with(".cwasm")
        })
        .count();
    assert_eq!(
        entries,
        2,
        "one compile-cache entry per engine in {}",
        cache.display()
    );
    // What metering costs, for the record (not asserted: shared machines).
    let fastest = |fuel| (0..5).map(|_| fit(fuel).unwrap().elapsed).min().unwrap();
    eprintln!(
        "burn, fastest of 5: unmetered {:?}, metered {:?} ({used} fuel)",
        fastest(None),
        fastest(Some(1 << 40))
    );
    assert_eq!(a.value, unmetered.value, "metering does not change results");
    // The fuel it spent is enough; half of it is not, every time.
    assert_eq!(fit(Some(used)).unwrap().value, a.value);
    for _ in 0..2 {
        let f = fit(Some(used / 2)).unwrap_err();
        assert!(
            matches!(f.kind, StepFailureKind::FuelExhausted { fuel } if fuel == used / 2),
            "{f}"
        );
        assert!(f.to_string().contains("step 'burn'"), "{f}");
    }
    // Fuel is checked at loop heads and calls, so a budget just short of
    // what was spent may still finish; whichever way a budget ends, it ends
    // that way every time.
    for budget in [used - 1, used - 1_000, used - 100_000] {
        let outcome = |r: Result<sluice::runtime::StepOutput<Vec<u8>>, _>| match r {
            Ok(out) => format!("ok {:?} {:?}", out.value, out.fuel_used),
            Err(f) => format!("failed {f}"),
        };
        assert_eq!(
            outcome(fit(Some(budget))),
            outcome(fit(Some(budget))),
            "budget {budget}"
        );
    }
}

/// A pool slot keeps its linear memory resident between instances (see
/// `pooling_config`): what one instance wrote there must read as zero in
/// the next instance that gets the slot, as Wasm promises for new pages.
#[test]
fn an_instance_never_sees_what_the_last_one_left_in_its_memory() {
    let home = tempfile::tempdir().unwrap();
    let rt = runtime_in(home.path());
    let hostile = rt.load(&plugin("hostile")).unwrap();
    let ctx = StepContext::new("snoop", StepLimits::default(), 1);
    let params = [wit::Param {
        name: "attack".into(),
        value: wit::ParamValue::Text("snoop".into()),
    }];
    for call in 0..3 {
        let out = block_on(rt.fit(&hostile, &ctx, &cancer().0, &params)).unwrap();
        assert_eq!(
            String::from_utf8_lossy(&out.value),
            "0 non-zero bytes",
            "call {call} found what an earlier instance wrote"
        );
    }
}
