//! Shared helpers: the workspace root, plugins built from source, the
//! `sluice` binary with a private home.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

/// The workspace's root (this binary is the `sluice-cli` package's, in
/// host/cli/).
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .expect("host/cli lives in the workspace")
        .to_path_buf()
}

/// Build every plugin component once per test process (unless
/// scripts/test.sh has just built them and says so with
/// `SLUICE_PLUGINS_BUILT=1`: the script's cargo, run from inside `cargo
/// test`, would otherwise rebuild the host with another environment).
pub fn plugin_dir() -> &'static Path {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT.get_or_init(|| {
        if std::env::var_os("SLUICE_PLUGINS_BUILT").is_some_and(|v| v == "1") {
            return root().join("target/wasm32-wasip2/release");
        }
        let status = Command::new(root().join("scripts/build-plugins.sh"))
            .status()
            .expect("run scripts/build-plugins.sh");
        assert!(status.success(), "building the plugins failed");
        root().join("target/wasm32-wasip2/release")
    })
}

/// Where scripts/build-plugins.sh puts the hostile test plugins
/// (tests/hostile/*), apart from the standard ones in [`plugin_dir`].
pub fn test_plugin_dir() -> PathBuf {
    plugin_dir()
        .parent()
        .expect("in target/wasm32-wasip2")
        .join("test-plugins")
}

/// The path of a built plugin component, standard or hostile.
pub fn plugin(name: &str) -> PathBuf {
    let file = format!("{}.wasm", name.replace('-', "_"));
    let p = plugin_dir().join(&file);
    if p.is_file() {
        return p;
    }
    let p = test_plugin_dir().join(&file);
    assert!(p.is_file(), "{} was not built", p.display());
    p
}

/// The `sluice` binary with a private home. Run it with [`Run::output`]:
/// a hung process is killed after two minutes instead of stalling CI.
pub fn sluice(home: &Path) -> Run {
    let mut c = Command::new(env!("CARGO_BIN_EXE_sluice"));
    // The user's plugin directory inside the home: what a developer
    // installed on this machine is not seen.
    c.env("SLUICE_HOME", home)
        .env("XDG_DATA_HOME", home.join("user-data"))
        .env_remove("SLUICE_PLUGIN_PATH")
        .env("RUST_LOG", "warn")
        .current_dir(root());
    Run(c)
}

pub struct Run(pub Command);

impl Run {
    pub fn arg(mut self, a: impl AsRef<std::ffi::OsStr>) -> Self {
        self.0.arg(a);
        self
    }

    pub fn env(mut self, key: &str, value: impl AsRef<std::ffi::OsStr>) -> Self {
        self.0.env(key, value);
        self
    }

    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        self.0.args(args);
        self
    }

    pub fn output(mut self) -> std::io::Result<Output> {
        use std::process::Stdio;
        use std::time::{Duration, Instant};
        let mut child = self
            .0
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()?;
        // Drain the pipes on threads so a chatty child never blocks.
        let mut out = child.stdout.take().expect("piped");
        let mut err = child.stderr.take().expect("piped");
        let out_t = std::thread::spawn(move || {
            let mut b = Vec::new();
            std::io::Read::read_to_end(&mut out, &mut b).map(|_| b)
        });
        let err_t = std::thread::spawn(move || {
            let mut b = Vec::new();
            std::io::Read::read_to_end(&mut err, &mut b).map(|_| b)
        });
        let deadline = Instant::now() + Duration::from_secs(120);
        let status = loop {
            if let Some(status) = child.try_wait()? {
                break status;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                panic!(
                    "sluice {:?} did not finish within 120 s",
                    self.0.get_args().collect::<Vec<_>>()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        Ok(Output {
            status,
            stdout: out_t.join().expect("stdout thread")?,
            stderr: err_t.join().expect("stderr thread")?,
        })
    }
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

pub fn json(o: &Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}):\n{}\nstderr:\n{}",
            stdout(o),
            stderr(o)
        )
    })
}

/// Write a pipeline file into `dir`, pointing at the repo's data and the
/// built plugins.
/// The tenant cap that lets a tenant's pipelines read the repository's
/// datasets (`pipelines/data`): datasets of a tenant other than the
/// default one must come from its `allowed_dirs`. With `more`, those
/// directories too.
pub fn data_dirs(more: &[&Path]) -> String {
    let mut dirs = vec![root().join("pipelines/data").display().to_string()];
    dirs.extend(more.iter().map(|d| d.display().to_string()));
    format!("allowed_dirs={}", dirs.join(","))
}

pub fn write_pipeline(dir: &Path, name: &str, body: &str) -> PathBuf {
    let _ = plugin_dir();
    let header = format!(
        "[pipeline]\nname = \"{name}\"\nversion = \"1\"\nseed = 1\nplugin_dirs = [{:?}, {:?}]\n\n[datasets.cancer]\npath = {:?}\ntarget = \"benign\"\n[datasets.cancer.split]\nholdout = 0.25\nseed = 7\nstratify = true\n\n",
        plugin_dir().display().to_string(),
        test_plugin_dir().display().to_string(),
        root()
            .join("pipelines/data/breast_cancer.csv")
            .display()
            .to_string(),
    );
    let path = dir.join(format!("{name}.toml"));
    std::fs::write(&path, header + body).expect("write pipeline");
    path
}

/// A copy of the example pipeline in `dir` (as NAME.toml) that runs from
/// there, with each `(from, to)` of `edits` made (each must be found).
pub fn example_pipeline_in(dir: &Path, name: &str, edits: &[(&str, &str)]) -> PathBuf {
    let mut text = std::fs::read_to_string(root().join("pipelines/breast-cancer.toml")).unwrap();
    let data = root().join("pipelines/data/breast_cancer.csv");
    let relative = [
        (
            "path = \"data/breast_cancer.csv\"".to_string(),
            format!("path = {:?}", data.display().to_string()),
        ),
        (
            "plugin_dirs = [\"../target/wasm32-wasip2/release\"]".to_string(),
            format!("plugin_dirs = [{:?}]", plugin_dir().display().to_string()),
        ),
    ];
    let edits = relative
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .chain(edits.iter().copied());
    for (from, to) in edits {
        assert!(text.contains(from), "the example pipeline has no `{from}`");
        text = text.replace(from, to);
    }
    let path = dir.join(format!("{name}.toml"));
    std::fs::write(&path, text).unwrap();
    path
}

/// The example's breast cancer CSV, its rows repeated until it is at
/// least `bytes` long.
pub fn cancer_repeated(bytes: usize) -> String {
    let example = std::fs::read_to_string(root().join("pipelines/data/breast_cancer.csv")).unwrap();
    let (header, rows) = example.split_once('\n').unwrap();
    let mut text = format!("{header}\n");
    while text.len() < bytes {
        text.push_str(rows);
    }
    text
}

/// A one-step pipeline in `dir` whose dataset is read from `data`.
pub fn pipeline_reading(dir: &Path, name: &str, data: &Path) -> PathBuf {
    let p = write_pipeline(
        dir,
        name,
        "[[steps]]\nid = \"scale\"\nplugin = \"standardize\"\ninput = \"cancer\"\n",
    );
    let example = root().join("pipelines/data/breast_cancer.csv");
    let text = std::fs::read_to_string(&p).unwrap();
    let text = text.replace(
        &format!("{:?}", example.display().to_string()),
        &format!("{:?}", data.display().to_string()),
    );
    assert!(text.contains(&data.display().to_string()));
    std::fs::write(&p, text).unwrap();
    p
}

pub fn runtime_in(home: &Path) -> sluice::runtime::Runtime {
    runtime_caching_in(home.join("cache/compiled"))
}

/// A runtime that compiles as the `sluice` command does: in a bounded
/// child process of the `sluice` binary (this test binary is not it).
fn runtime_caching_in(cache: PathBuf) -> sluice::runtime::Runtime {
    use sluice::runtime::{Compiler, Runtime, RuntimeOptions};
    Runtime::with_options(RuntimeOptions {
        cache_dir: Some(cache),
        compiler: Compiler::Process(env!("CARGO_BIN_EXE_sluice").into()),
        ..RuntimeOptions::default()
    })
    .expect("runtime")
}

/// A runtime whose compile cache outlives the test run (in target/): the
/// Python and JavaScript plugins take tens of seconds to compile, and the
/// cache is keyed by each component's sha256, so a stale entry is never used.
/// Drive a runtime call (any future) to completion on this thread, for the
/// tests that are not async: on one multi-threaded tokio runtime they all
/// share, so a call's model tasks have threads to run on.
pub fn block_on<F: std::future::Future>(call: F) -> F::Output {
    static TOKIO: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    TOKIO
        .get_or_init(|| {
            tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
                .expect("the tests' tokio runtime")
        })
        .block_on(call)
}

pub fn shared_runtime() -> &'static sluice::runtime::Runtime {
    static RT: OnceLock<sluice::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| runtime_caching_in(root().join("target/sluice-test-cache/compiled")))
}

/// A private sluice home whose compile cache is [`shared_runtime`]'s.
pub fn home_with_shared_cache() -> tempfile::TempDir {
    let home = tempfile::tempdir().expect("tempdir");
    let shared = root().join("target/sluice-test-cache/compiled");
    std::fs::create_dir_all(&shared).expect("shared cache dir");
    std::fs::create_dir_all(home.path().join("cache")).expect("cache dir");
    std::os::unix::fs::symlink(&shared, home.path().join("cache/compiled")).expect("symlink");
    home
}

/// Compile plugins into the shared cache, so a `sluice` process under
/// [`Run::output`]'s time limit only loads them.
pub fn warm_cache(names: &[&str]) {
    for name in names {
        shared_runtime()
            .load(&plugin(name))
            .unwrap_or_else(|e| panic!("load {name}: {e}"));
    }
}

/// `out`, after checking that the command succeeded (else its output).
/// `sluice ARGS` in `home`, which must succeed; its standard output as
/// JSON.
pub fn ok_json(home: &Path, args: &[&str]) -> serde_json::Value {
    let out = sluice(home).args(args).output().expect("run sluice");
    json(&succeeded(out, &format!("sluice {args:?}")))
}

pub fn succeeded(out: Output, what: &str) -> Output {
    assert!(
        out.status.success(),
        "{what} failed:\n{}\n{}",
        stdout(&out),
        stderr(&out)
    );
    out
}

/// The table a run stored as artifact `digest` (Parquet), read back with
/// `sluice artifacts get` in `home`.
pub fn stored_table(home: &Path, digest: &str) -> arrow::record_batch::RecordBatch {
    let out = sluice(home)
        .args(["artifacts", "get", digest, "-o", "-"])
        .output()
        .unwrap();
    let bytes = succeeded(out, "artifacts get").stdout;
    sluice::data::read_parquet(&bytes).unwrap()
}

/// The digest output `name` of step `step` in a `run --json` report.
pub fn output_of(report: &serde_json::Value, step: &str, name: &str) -> String {
    report["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == step)
        .unwrap()["outputs"][name]
        .as_str()
        .unwrap()
        .to_string()
}
