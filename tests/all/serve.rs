//! `sluice serve` end to end: the clients users have (tritonclient and
//! MLflow's scoring-server client, tests/serve/clients.py) and every input
//! format get exactly what `sluice predict` answers; bad requests are
//! refused with their reason while the server keeps answering; a promotion
//! by another process takes traffic within a second without failing a
//! request; SIGTERM lets the requests in flight finish; a real Prometheus
//! scrapes the metrics and reads back what was sent; tokens bind requests
//! to their tenant. The tests that are not about tokens serve --no-auth.

use crate::support::*;
use serde_json::{Value, json};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::sync::mpsc::{Receiver, channel};
use std::time::{Duration, Instant};

pub(crate) const MODEL: &str = "breast-cancer-logreg";

/// A running `sluice serve`, stopped (killed) when dropped.
pub(crate) struct Served {
    child: Child,
    pub(crate) url: String,
    lines: Receiver<String>,
}

impl Served {
    /// `sluice serve` on a free port of 127.0.0.1, once it is ready.
    pub(crate) fn start(home: &Path, args: &[&str]) -> Served {
        let mut child = Command::new(env!("CARGO_BIN_EXE_sluice"))
            .env("SLUICE_HOME", home)
            .env("RUST_LOG", "warn")
            .current_dir(root())
            .args(["serve", "--addr", "127.0.0.1:0"])
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start sluice serve");
        let (tx, lines) = channel();
        let out = child.stdout.take().expect("piped");
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut served = Served {
            child,
            url: String::new(),
            lines,
        };
        let listening = served.wait_for("listening on ");
        served.url = listening["listening on ".len()..].to_owned();
        served.wait_for("ready: ");
        served
    }

    /// The first line of the server's output starting with `prefix`.
    fn wait_for(&mut self, prefix: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) if line.starts_with(prefix) => return line,
                Ok(_) => {}
                Err(e) => panic!("sluice serve never printed `{prefix}...`: {e}"),
            }
        }
    }

    /// SIGTERM, then the exit status (within 30 s).
    pub(crate) fn terminate(mut self) -> std::process::ExitStatus {
        // SAFETY: kill(2) on our own child's pid.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "sluice serve did not stop on SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A response: status, the version header, the body.
pub(crate) struct Reply {
    pub(crate) status: u16,
    pub(crate) version: Option<String>,
    pub(crate) body: Vec<u8>,
}

impl Reply {
    pub(crate) fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }
}

pub(crate) fn client() -> &'static reqwest::Client {
    static CLIENT: OnceLock<reqwest::Client> = OnceLock::new();
    CLIENT.get_or_init(reqwest::Client::new)
}

fn request(
    method: &str,
    url: &str,
    content_type: Option<&str>,
    body: Vec<u8>,
) -> Result<Reply, reqwest::Error> {
    request_with(method, url, content_type, None, body)
}

/// A request with `Authorization: Bearer TOKEN` when a token is given.
fn request_with(
    method: &str,
    url: &str,
    content_type: Option<&str>,
    token: Option<&str>,
    body: Vec<u8>,
) -> Result<Reply, reqwest::Error> {
    block_on(async {
        let mut req = client().request(method.parse().expect("a method"), url);
        if let Some(t) = content_type {
            req = req.header("content-type", t);
        }
        if let Some(token) = token {
            req = req.header("authorization", format!("Bearer {token}"));
        }
        let resp = req.body(body).send().await?;
        let status = resp.status().as_u16();
        let version = resp
            .headers()
            .get("x-sluice-model-version")
            .map(|v| v.to_str().unwrap().to_owned());
        let body = resp.bytes().await?.to_vec();
        Ok(Reply {
            status,
            version,
            body,
        })
    })
}

pub(crate) fn post_json(url: &str, body: &Value) -> Reply {
    request(
        "POST",
        url,
        Some("application/json"),
        body.to_string().into_bytes(),
    )
    .expect("POST")
}

pub(crate) fn get(url: &str) -> Reply {
    request("GET", url, None, Vec::new()).expect("GET")
}

/// A home with the example's model registered and promoted to production,
/// shared by the tests that only read it; and the rows to predict.
pub(crate) struct Fixture {
    pub(crate) home: PathBuf,
    /// The example data's first 20 rows (the target column included).
    pub(crate) features: PathBuf,
    /// What `sluice predict` answered for them, as CSV.
    expected: PathBuf,
}

pub(crate) fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("serve");
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let home = dir.join("home");
        let _ = plugin_dir();
        register_and_promote_v1(&home);
        let text =
            std::fs::read_to_string(root().join("pipelines/data/breast_cancer.csv")).unwrap();
        let features = dir.join("features.csv");
        std::fs::write(
            &features,
            text.lines().take(21).collect::<Vec<_>>().join("\n") + "\n",
        )
        .unwrap();
        let expected = dir.join("expected.csv");
        let out = sluice(&home)
            .args(["predict", MODEL])
            .arg("--input")
            .arg(&features)
            .arg("-o")
            .arg(&expected)
            .output()
            .unwrap();
        succeeded(out, "sluice predict");
        Fixture {
            home,
            features,
            expected,
        }
    })
}

/// A CSV file's columns by name, as JSON values (numbers where they parse).
pub(crate) fn csv_columns(path: &Path) -> Vec<(String, Vec<Value>)> {
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines = text.lines();
    let names: Vec<String> = lines.next().unwrap().split(',').map(String::from).collect();
    let mut columns: Vec<(String, Vec<Value>)> =
        names.into_iter().map(|n| (n, Vec::new())).collect();
    for line in lines {
        for ((_, values), field) in columns.iter_mut().zip(line.split(',')) {
            values.push(match field.parse::<i64>() {
                Ok(i) => json!(i),
                Err(_) => json!(field.parse::<f64>().unwrap()),
            });
        }
    }
    columns
}

/// Columns as a list of records, one per row.
pub(crate) fn as_records(columns: &[(String, Vec<Value>)]) -> Vec<Value> {
    let rows = columns.first().map_or(0, |(_, v)| v.len());
    (0..rows)
        .map(|i| {
            Value::Object(
                columns
                    .iter()
                    .map(|(n, v)| (n.clone(), v[i].clone()))
                    .collect(),
            )
        })
        .collect()
}

fn column<'c>(columns: &'c [(String, Vec<Value>)], name: &str) -> &'c Vec<Value> {
    &columns
        .iter()
        .find(|(n, _)| n == name)
        .unwrap_or_else(|| panic!("no column {name}"))
        .1
}

fn serve_python() -> PathBuf {
    let tools = std::env::var_os("SLUICE_TOOLS")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").expect("HOME")).join(".cache/sluice-tools")
        });
    let python = tools.join("serve-py/bin/python");
    assert!(
        python.is_file(),
        "{} is missing: scripts/setup-toolchains.sh installs the serving tests' clients (tritonclient, MLflow)",
        python.display()
    );
    python
}

#[test]
fn tritonclient_and_mlflows_client_get_what_sluice_predict_answers() {
    let f = fixture();
    let served = Served::start(&f.home, &["--no-auth", "--model", MODEL]);
    let out = Command::new(serve_python())
        .arg(root().join("tests/serve/clients.py"))
        .arg(&served.url)
        .arg(MODEL)
        .arg(&f.features)
        .arg(&f.expected)
        .output()
        .expect("run tests/serve/clients.py");
    assert!(
        out.status.success(),
        "tests/serve/clients.py failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let said = String::from_utf8_lossy(&out.stdout);
    for client in [
        "tritonclient binary=True",
        "tritonclient binary=False",
        "tritonclient 2-D",
        "mlflow ScoringServerClient",
    ] {
        assert!(
            said.contains(&format!("ok: {client}")),
            "{client} was not checked:\n{said}"
        );
    }
}

#[test]
fn every_mlflow_input_format_answers_as_sluice_predict_does() {
    let f = fixture();
    let served = Served::start(&f.home, &["--no-auth", "--model", MODEL]);
    let inputs = csv_columns(&f.features);
    let expected = csv_columns(&f.expected);
    let want = column(&expected, "prediction");
    let rows = want.len();
    let names: Vec<&String> = inputs.iter().map(|(n, _)| n).collect();
    let records = as_records(&inputs);
    let matrix: Vec<Value> = (0..rows)
        .map(|i| Value::Array(inputs.iter().map(|(_, v)| v[i].clone()).collect()))
        .collect();
    let by_column = Value::Object(
        inputs
            .iter()
            .map(|(n, v)| (n.clone(), Value::Array(v.clone())))
            .collect(),
    );
    // The probes and the metadata the clients read first.
    assert_eq!(get(&format!("{}/v2", served.url)).json()["name"], "sluice");
    assert_eq!(
        get(&format!("{}/v2/health/live", served.url)).json()["live"],
        true
    );
    assert_eq!(
        get(&format!("{}/v2/health/ready", served.url)).json()["ready"],
        true
    );
    assert_eq!(get(&format!("{}/ping", served.url)).status, 200);
    assert_eq!(get(&format!("{}/health", served.url)).status, 200);
    assert_eq!(
        String::from_utf8(get(&format!("{}/version", served.url)).body).unwrap(),
        env!("CARGO_PKG_VERSION")
    );
    let metadata = get(&format!("{}/v2/models/{MODEL}/versions/1", served.url)).json();
    let schema: Vec<&str> = metadata["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["name"].as_str().unwrap())
        .collect();
    let features: Vec<&str> = inputs
        .iter()
        .map(|(n, _)| n.as_str())
        .filter(|n| *n != "benign")
        .collect();
    assert_eq!(
        schema, features,
        "the metadata's inputs are the features in order"
    );
    let outputs: Vec<&str> = metadata["outputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["name"].as_str().unwrap())
        .collect();
    let mut answered: Vec<&str> = expected.iter().map(|(n, _)| n.as_str()).collect();
    answered.sort();
    let mut outputs_sorted = outputs.clone();
    outputs_sorted.sort();
    assert_eq!(
        outputs_sorted, answered,
        "the metadata's outputs are what predict answers"
    );

    let invocations = format!("{}/invocations", served.url);
    let bodies = [
        (
            "dataframe_split",
            json!({ "dataframe_split": { "columns": names, "data": matrix } }),
        ),
        ("dataframe_records", json!({ "dataframe_records": records })),
        ("instances as records", json!({ "instances": records })),
        ("inputs as columns", json!({ "inputs": by_column })),
    ];
    for (format, body) in &bodies {
        let reply = post_json(&invocations, body);
        assert_eq!(
            reply.status,
            200,
            "{format}: {}",
            String::from_utf8_lossy(&reply.body)
        );
        assert_eq!(
            reply.version.as_deref(),
            Some("1"),
            "{format}: the version header"
        );
        assert_eq!(
            &reply.json()["predictions"],
            &Value::Array(want.clone()),
            "{format}"
        );
    }
    // Positional rows follow the model's schema: the features without the target.
    let features: Vec<&(String, Vec<Value>)> =
        inputs.iter().filter(|(n, _)| n != "benign").collect();
    let positional: Vec<Value> = (0..rows)
        .map(|i| Value::Array(features.iter().map(|(_, v)| v[i].clone()).collect()))
        .collect();
    let reply = post_json(&invocations, &json!({ "instances": positional }));
    assert_eq!(
        &reply.json()["predictions"],
        &Value::Array(want.clone()),
        "instances as rows"
    );
    // CSV, by the model's path.
    let csv = std::fs::read(&f.features).unwrap();
    let reply = request(
        "POST",
        &format!("{}/models/{MODEL}/invocations", served.url),
        Some("text/csv; charset=utf-8"),
        csv,
    )
    .unwrap();
    assert_eq!(
        reply.status,
        200,
        "{}",
        String::from_utf8_lossy(&reply.body)
    );
    assert_eq!(
        &reply.json()["predictions"],
        &Value::Array(want.clone()),
        "text/csv"
    );
    // Every output column, with the target passed through beside it.
    let reply = post_json(
        &invocations,
        &json!({ "dataframe_records": records, "params": { "passthrough": ["benign"] } }),
    );
    let answered = reply.json()["predictions"].as_array().unwrap().clone();
    assert_eq!(answered.len(), rows);
    for (i, record) in answered.iter().enumerate() {
        for (name, values) in &expected {
            assert_eq!(record[name], values[i], "row {i} {name}");
        }
        assert_eq!(
            record["benign"],
            column(&inputs, "benign")[i],
            "row {i}: passed through"
        );
    }
}

#[test]
fn bad_requests_are_refused_with_their_reason_and_the_server_keeps_answering() {
    let f = fixture();
    let served = Served::start(
        &f.home,
        &["--no-auth", "--model", MODEL, "--max-body-mib", "1"],
    );
    let infer = format!("{}/v2/models/{MODEL}/infer", served.url);
    let one = |name: &str, datatype: &str, data: Value| json!({ "inputs": [{ "name": name, "shape": [1], "datatype": datatype, "data": data }] });
    let inputs = csv_columns(&f.features);
    let full_row = |replace: Option<(&str, Value)>| {
        let tensors: Vec<Value> = inputs
            .iter()
            .map(|(n, v)| {
                let value = match &replace {
                    Some((r, x)) if r == n => x.clone(),
                    _ => v[0].clone(),
                };
                json!({ "name": n, "shape": [1], "datatype": "FP64", "data": [value] })
            })
            .collect();
        json!({ "inputs": tensors })
    };
    // What is sent (name, URL, content type, body) and what must come back
    // (status, a phrase of the message).
    type Case<'a> = (&'a str, String, Option<&'a str>, Vec<u8>, u16, &'a str);
    let cases: Vec<Case<'_>> = vec![
        ("malformed JSON", infer.clone(), Some("application/json"), b"{\"inputs\": [".to_vec(), 400, "not valid JSON"),
        ("a missing column", infer.clone(), None, one("mean_radius", "FP64", json!([1.0])).to_string().into_bytes(), 400, "lacks 29 feature column(s)"),
        ("a wrong datatype", infer.clone(), None, full_row(Some(("mean_radius", json!("big")))).to_string().into_bytes(), 400, "mean_radius"),
        ("a wrong shape", infer.clone(), None, json!({ "inputs": [{ "name": "mean_radius", "shape": [2], "datatype": "FP64", "data": [1.0] }] }).to_string().into_bytes(), 400, "needs 2 elements, the data has 1"),
        ("an unknown datatype", infer.clone(), None, one("mean_radius", "FP8", json!([1.0])).to_string().into_bytes(), 400, "not a FP8 value"),
        ("an unknown model", format!("{}/v2/models/nope/infer", served.url), None, full_row(None).to_string().into_bytes(), 404, "no model named `nope`"),
        ("a path that is no model name", format!("{}/v2/models/..%2Fother/infer", served.url), None, full_row(None).to_string().into_bytes(), 404, "no model"),
        ("an unknown alias", format!("{}/v2/models/{MODEL}@canary/infer", served.url), None, full_row(None).to_string().into_bytes(), 404, "no alias `canary`"),
        ("an unknown version", format!("{}/v2/models/{MODEL}/versions/9/infer", served.url), None, full_row(None).to_string().into_bytes(), 404, "no version 9"),
        ("a body over the cap", infer.clone(), None, vec![b' '; 2 << 20], 413, "over the server's limit of 1048576 bytes"),
        ("MLflow: two input keys", format!("{}/invocations", served.url), Some("application/json"), br#"{"instances": [], "inputs": []}"#.to_vec(), 400, "exactly one of"),
        ("MLflow: an unsupported type", format!("{}/invocations", served.url), Some("text/plain"), b"x".to_vec(), 415, "send application/json or text/csv"),
        ("MLflow: another charset", format!("{}/invocations", served.url), Some("text/csv; charset=latin-1"), b"x".to_vec(), 415, "charset"),
        ("an unknown route", format!("{}/v3/models", served.url), None, Vec::new(), 404, "no route /v3/models"),
    ];
    let good = full_row(None);
    for (what, url, content_type, body, status, says) in cases {
        let reply =
            request("POST", &url, content_type, body).unwrap_or_else(|e| panic!("{what}: {e}"));
        let text = String::from_utf8_lossy(&reply.body).to_string();
        assert_eq!(reply.status, status, "{what}: {text}");
        let answer = reply.json();
        let message = answer["error"]
            .as_str()
            .or(answer["message"].as_str())
            .unwrap_or_else(|| panic!("{what}: no error message: {text}"));
        assert!(
            message.contains(says),
            "{what}: `{message}` does not say `{says}`"
        );
        // The server still answers a good request after each bad one.
        let ok = post_json(&infer, &good);
        assert_eq!(
            ok.status,
            200,
            "after {what}: {}",
            String::from_utf8_lossy(&ok.body)
        );
    }
    assert!(served.terminate().success());
}

/// The example pipeline's model registered as v1 and promoted to
/// production in `home`.
pub(crate) fn register_and_promote_v1(home: &Path) {
    ok_json(home, &["run", "pipelines/breast-cancer.toml", "--json"]);
    let promoted = ok_json(
        home,
        &[
            "models",
            "promote",
            MODEL,
            "1",
            "--to",
            "production",
            "--json",
        ],
    );
    assert_eq!(promoted["to_version"], 1, "{promoted}");
}

#[test]
fn a_promotion_by_another_process_takes_traffic_within_a_second_without_failing_a_request() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    let _ = plugin_dir();
    register_and_promote_v1(&home);
    let v2 = example_pipeline_in(
        dir.path(),
        "breast-cancer-v2",
        &[
            ("version = \"1\"", "version = \"2\""),
            ("c = 1.0", "c = 0.05"),
        ],
    );
    let run2 = ok_json(&home, &["run", v2.to_str().unwrap(), "--json"]);
    assert_eq!(run2["registered"][0]["version"], 2, "{run2}");
    let served = Served::start(&home, &["--no-auth", "--refresh-ms", "250"]);
    let infer = format!("{}/v2/models/{MODEL}/infer", served.url);
    let inputs = csv_columns(&fixture().features);
    let body = json!({ "inputs": inputs.iter().map(|(n, v)| json!({ "name": n, "shape": [v.len()], "datatype": "FP64", "data": v })).collect::<Vec<_>>() });
    assert_eq!(post_json(&infer, &body).version.as_deref(), Some("1"));

    // Requests keep coming while another process promotes v2.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let hammer = {
        let (stop, infer, body) = (stop.clone(), infer.clone(), body.clone());
        std::thread::spawn(move || {
            let mut seen = Vec::new();
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let reply = post_json(&infer, &body);
                assert_eq!(
                    reply.status,
                    200,
                    "a request failed during the switch: {}",
                    String::from_utf8_lossy(&reply.body)
                );
                seen.push((Instant::now(), reply.version.unwrap()));
            }
            seen
        })
    };
    std::thread::sleep(Duration::from_millis(300));
    ok_json(
        &home,
        &[
            "models",
            "promote",
            MODEL,
            "2",
            "--to",
            "production",
            "--force",
            "--reason",
            "test",
            "--json",
        ],
    );
    let promoted = Instant::now();
    let switched = loop {
        let reply = post_json(&infer, &body);
        assert_eq!(reply.status, 200);
        if reply.version.as_deref() == Some("2") {
            break promoted.elapsed();
        }
        assert!(
            promoted.elapsed() < Duration::from_secs(10),
            "v2 never took traffic"
        );
        std::thread::sleep(Duration::from_millis(10));
    };
    std::thread::sleep(Duration::from_millis(200));
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let seen = hammer.join().expect("no request failed");
    assert!(
        switched < Duration::from_secs(1),
        "v2 took traffic {switched:?} after the promotion"
    );
    // Once v2 answers, v1 never answers again.
    let first_v2 = seen
        .iter()
        .position(|(_, v)| v == "2")
        .expect("the hammer saw v2");
    assert!(
        seen[first_v2..].iter().all(|(_, v)| v == "2"),
        "v1 answered after v2 had"
    );
    assert!(
        seen.len() > 10,
        "only {} requests during the switch",
        seen.len()
    );
    // A rollback goes back the same way.
    ok_json(
        &home,
        &[
            "models",
            "rollback",
            MODEL,
            "--alias",
            "production",
            "--reason",
            "test",
            "--json",
        ],
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    while post_json(&infer, &body).version.as_deref() != Some("1") {
        assert!(Instant::now() < deadline, "the rollback never took traffic");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn sigterm_lets_the_request_in_flight_finish_then_exits_cleanly() {
    use std::io::{Read, Write};
    let f = fixture();
    let mut served = Served::start(&f.home, &["--no-auth", "--model", MODEL]);
    let inputs = csv_columns(&f.features);
    let records = as_records(&inputs);
    let body = json!({ "dataframe_records": records }).to_string();
    let (first, rest) = body.split_at(body.len() / 2);
    // A request in flight: its headers and half its body sent.
    let addr = served.url.trim_start_matches("http://").to_owned();
    let mut conn = std::net::TcpStream::connect(&addr).expect("connect");
    write!(
        conn,
        "POST /invocations HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{first}",
        body.len()
    )
    .unwrap();
    conn.flush().unwrap();
    std::thread::sleep(Duration::from_millis(200));
    // SAFETY: kill(2) on our own child's pid.
    unsafe { libc::kill(served.child.id() as i32, libc::SIGTERM) };
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        served.child.try_wait().unwrap().is_none(),
        "sluice serve exited with a request in flight"
    );
    conn.write_all(rest.as_bytes()).unwrap();
    let mut response = String::new();
    conn.read_to_string(&mut response).expect("the answer");
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    let answer: Value = serde_json::from_str(response.split("\r\n\r\n").nth(1).unwrap()).unwrap();
    assert_eq!(
        answer["predictions"].as_array().unwrap().len(),
        20,
        "{answer}"
    );
    let lines = std::mem::replace(&mut served.lines, channel().1);
    let status = served.terminate();
    assert!(status.success(), "sluice serve exited with {status}");
    let said: Vec<String> = lines.iter().collect();
    assert!(said.iter().any(|l| l.starts_with("stopped")), "{said:?}");
}

/// A free port of 127.0.0.1 (free when asked; the caller binds it next).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A Prometheus server scraping `target` (host:port) every 500 ms, killed
/// when dropped.
struct Prometheus {
    child: Child,
    url: String,
    _dir: tempfile::TempDir,
}

impl Prometheus {
    fn start(target: &str) -> Prometheus {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("prometheus.yml");
        std::fs::write(
            &config,
            format!(
                "global:\n  scrape_interval: 500ms\nscrape_configs:\n  - job_name: sluice\n    static_configs:\n      - targets: [\"{target}\"]\n"
            ),
        )
        .unwrap();
        let port = free_port();
        let child = Command::new("prometheus")
            .arg(format!("--config.file={}", config.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.path().join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start prometheus (scripts/setup-toolchains.sh installs it)");
        Prometheus {
            child,
            url: format!("http://127.0.0.1:{port}"),
            _dir: dir,
        }
    }

    /// The value of an instant query's one result, once Prometheus has it
    /// and it equals `want` (or the last value seen after 30 s).
    fn wait_for(&self, query: &str, want: f64) -> Option<f64> {
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut last = None;
        while Instant::now() < deadline {
            let reply = block_on(async {
                client()
                    .get(format!("{}/api/v1/query", self.url))
                    .query(&[("query", query)])
                    .send()
                    .await?
                    .bytes()
                    .await
            });
            if let Ok(body) = reply
                && let Ok(answer) = serde_json::from_slice::<Value>(&body)
            {
                last = answer["data"]["result"][0]["value"][1]
                    .as_str()
                    .and_then(|v| v.parse().ok());
                if last == Some(want) {
                    return last;
                }
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        last
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn a_real_prometheus_scrapes_what_the_server_answered() {
    let f = fixture();
    let served = Served::start(&f.home, &["--no-auth", "--model", MODEL]);
    let target = served.url.trim_start_matches("http://").to_owned();
    let inputs = csv_columns(&f.features);
    let records = as_records(&inputs);
    let invocations = format!("{}/invocations", served.url);
    let (good, bad) = (7, 3);
    for _ in 0..good {
        let reply = post_json(&invocations, &json!({ "dataframe_records": records }));
        assert_eq!(reply.status, 200);
    }
    for _ in 0..bad {
        let reply = post_json(&invocations, &json!({ "instances": [[1.0]] }));
        assert_eq!(reply.status, 400);
    }
    let prometheus = Prometheus::start(&target);
    let model = format!("model_name=\"{MODEL}\",model_version=\"1\",variant=\"production\"");
    let checks = [
        (format!("sluice_inference_requests_total{{{model},outcome=\"ok\"}}"), good as f64),
        (format!("sluice_inference_requests_total{{{model},outcome=\"client_error\"}}"), bad as f64),
        (format!("request_predict_seconds_count{{{model}}}"), good as f64),
        (format!("sluice_request_rows_sum{{{model}}}"), (good * records.len()) as f64),
        (
            "http_server_request_duration_seconds_count{http_route=\"/invocations\",http_response_status_code=\"400\"}".to_string(),
            bad as f64,
        ),
        ("up{job=\"sluice\"}".to_string(), 1.0),
    ];
    for (query, want) in checks {
        assert_eq!(prometheus.wait_for(&query, want), Some(want), "{query}");
    }
    // Three sandboxes per request: the two fitted transforms and the trainer.
    let per_request = prometheus.wait_for("sluice_sandbox_instantiations_total", (good * 3) as f64);
    assert_eq!(per_request, Some((good * 3) as f64));
}

/// A first feature that makes the hostile trainer trap, and one that
/// makes it spin (tests/hostile/hostile-trainer).
pub(crate) const TRAP: f64 = -1_234_567.25;
pub(crate) const SPIN: f64 = -7_654_321.75;

/// A home whose model `hostile` is the hostile trainer's (it predicts its
/// first feature, traps on TRAP and spins on SPIN), promoted to production.
pub(crate) fn hostile_home(dir: &Path) -> PathBuf {
    let home = dir.join("home");
    let pipeline = write_pipeline(
        dir,
        "hostile",
        "[[steps]]\nid = \"train\"\nplugin = \"hostile-trainer\"\ninput = \"cancer\"\nregister = \"hostile\"\n",
    );
    ok_json(&home, &["run", pipeline.to_str().unwrap(), "--json"]);
    ok_json(
        &home,
        &[
            "models",
            "promote",
            "hostile",
            "1",
            "--to",
            "production",
            "--json",
        ],
    );
    home
}

/// An OIP request for the hostile model: one row, every feature 1.0 but
/// the first, `first`.
pub(crate) fn hostile_row(features: &[(String, Vec<Value>)], first: f64) -> Value {
    let tensors: Vec<Value> = features
        .iter()
        .enumerate()
        .map(|(i, (n, _))| {
            let value = if i == 0 { first } else { 1.0 };
            json!({ "name": n, "shape": [1], "datatype": "FP64", "data": [value] })
        })
        .collect();
    json!({ "inputs": tensors })
}

#[test]
fn a_trap_or_a_request_over_its_time_fails_alone_under_load() {
    let dir = tempfile::tempdir().unwrap();
    let home = hostile_home(dir.path());
    let served = Served::start(&home, &["--no-auth", "--request-timeout-ms", "1000"]);
    let infer = format!("{}/v2/models/hostile/infer", served.url);
    let features: Vec<(String, Vec<Value>)> = csv_columns(&fixture().features)
        .into_iter()
        .filter(|(n, _)| n != "benign")
        .collect();
    let trap = post_json(&infer, &hostile_row(&features, TRAP));
    assert_eq!(trap.status, 500, "{}", String::from_utf8_lossy(&trap.body));
    assert!(
        trap.json()["error"].as_str().unwrap().contains("trapped"),
        "{}",
        trap.json()
    );
    let started = Instant::now();
    let spin = post_json(&infer, &hostile_row(&features, SPIN));
    assert_eq!(spin.status, 504, "{}", String::from_utf8_lossy(&spin.body));
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "the spinning request was not stopped"
    );
    // Load: four clients, every tenth request a trap or malformed; every
    // good one answers with its own row's prediction.
    let clients: Vec<_> = (0..4)
        .map(|c| {
            let (infer, features) = (infer.clone(), features.clone());
            std::thread::spawn(move || {
                for i in 0..60 {
                    let x = (c * 1000 + i) as f64 + 0.5;
                    if i % 10 == 9 {
                        let bad = if i % 20 == 9 {
                            post_json(&infer, &hostile_row(&features, TRAP))
                        } else {
                            request("POST", &infer, None, b"{\"inputs\": [".to_vec()).unwrap()
                        };
                        assert!(
                            bad.status == 500 || bad.status == 400,
                            "a bad request answered {}",
                            bad.status
                        );
                        continue;
                    }
                    let reply = post_json(&infer, &hostile_row(&features, x));
                    assert_eq!(
                        reply.status,
                        200,
                        "a good request failed: {}",
                        String::from_utf8_lossy(&reply.body)
                    );
                    let prediction = &reply.json()["outputs"][0]["data"][0];
                    assert_eq!(prediction.as_f64(), Some(x), "client {c} request {i}");
                }
            })
        })
        .collect();
    for client in clients {
        client.join().expect("no good request failed");
    }
    assert!(served.terminate().success());
}

#[test]
fn tokens_bind_requests_to_their_tenant_and_other_tenants_models_are_not_found() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    let _ = plugin_dir();
    register_and_promote_v1(&home);
    ok_json(
        &home,
        &["tenants", "create", "beta", &data_dirs(&[]), "--json"],
    );
    let beta_pipeline = example_pipeline_in(
        dir.path(),
        "beta",
        &[
            (
                "register = \"breast-cancer-logreg\"",
                "register = \"beta-model\"",
            ),
            ("[models.breast-cancer-logreg]", "[models.beta-model]"),
        ],
    );
    let as_beta = |args: &[&str]| {
        let out = sluice(&home)
            .args(["--tenant", "beta"])
            .args(args)
            .output()
            .unwrap();
        json(&succeeded(out, &format!("beta: {args:?}")))
    };
    as_beta(&["run", beta_pipeline.to_str().unwrap(), "--json"]);
    as_beta(&[
        "models",
        "promote",
        "beta-model",
        "1",
        "--to",
        "production",
        "--json",
    ]);
    // Tokens are made by the home's owner only, and shown once.
    let refused = sluice(&home)
        .args(["--tenant", "beta", "tenants", "token", "create", "beta"])
        .output()
        .unwrap();
    assert_eq!(
        refused.status.code(),
        Some(2),
        "a tenant made itself a token"
    );
    let default_token = ok_json(&home, &["tenants", "token", "create", "default", "--json"]);
    let beta = ok_json(&home, &["tenants", "token", "create", "beta", "--json"]);
    let (default_token, beta_token) = (
        default_token["token"].as_str().unwrap().to_owned(),
        beta["token"].as_str().unwrap().to_owned(),
    );
    let listed = ok_json(&home, &["tenants", "token", "list", "beta", "--json"]);
    assert_eq!(listed[0]["id"], beta["id"]);
    assert!(
        !listed.to_string().contains(&beta_token),
        "a listed token shows its secret"
    );

    let served = Served::start(&home, &["--refresh-ms", "100"]);
    let inputs = csv_columns(&fixture().features);
    let body = json!({ "dataframe_records": as_records(&inputs) }).to_string();
    let call = |model: &str, token: Option<&str>| {
        request_with(
            "POST",
            &format!("{}/models/{model}/invocations", served.url),
            Some("application/json"),
            token,
            body.clone().into_bytes(),
        )
        .unwrap()
    };
    let oip = |model: &str, token: Option<&str>| {
        request_with(
            "GET",
            &format!("{}/v2/models/{model}", served.url),
            None,
            token,
            Vec::new(),
        )
        .unwrap()
    };
    // No token, a wrong one, a malformed header: 401.
    for (token, what) in [
        (None, "no token"),
        (Some("sluice_not-a-token"), "a wrong token"),
    ] {
        let reply = call(MODEL, token);
        assert_eq!(
            reply.status,
            401,
            "{what}: {}",
            String::from_utf8_lossy(&reply.body)
        );
        assert_eq!(oip(MODEL, token).status, 401, "{what} (metadata)");
    }
    // Probes and metrics need no token.
    assert_eq!(get(&format!("{}/v2/health/ready", served.url)).status, 200);
    // Each token sees its own tenant's models; another tenant's model is
    // not found, as a model that does not exist.
    assert_eq!(call(MODEL, Some(&default_token)).status, 200);
    assert_eq!(call("beta-model", Some(&beta_token)).status, 200);
    let hidden = call("beta-model", Some(&default_token));
    let missing = call("no-such-model", Some(&default_token));
    assert_eq!((hidden.status, missing.status), (404, 404));
    assert_eq!(
        hidden.json()["message"]
            .as_str()
            .unwrap()
            .replace("beta-model", "X"),
        missing.json()["message"]
            .as_str()
            .unwrap()
            .replace("no-such-model", "X"),
        "another tenant's model reads differently from a missing one"
    );
    assert_eq!(
        call(MODEL, Some(&beta_token)).status,
        404,
        "beta saw default's model"
    );
    assert_eq!(oip("beta-model", Some(&default_token)).status, 404);
    // Labels too: another tenant's model takes none.
    let label = |model: &str, token: &str| {
        request_with(
            "POST",
            &format!("{}/v2/models/{model}/feedback", served.url),
            Some("application/json"),
            Some(token),
            json!({ "labels": [{ "key": "k", "label": 1 }] })
                .to_string()
                .into_bytes(),
        )
        .unwrap()
        .status
    };
    assert_eq!(label("beta-model", &default_token), 404);
    assert_eq!(label("beta-model", &beta_token), 200);
    // A revoked token stops working within a second or so.
    ok_json(
        &home,
        &[
            "tenants",
            "token",
            "revoke",
            "beta",
            beta["id"].as_str().unwrap(),
            "--json",
        ],
    );
    let deadline = Instant::now() + Duration::from_secs(5);
    while call("beta-model", Some(&beta_token)).status != 401 {
        assert!(Instant::now() < deadline, "a revoked token still answers");
        std::thread::sleep(Duration::from_millis(100));
    }
    let listed = ok_json(&home, &["tenants", "token", "list", "beta", "--json"]);
    assert!(listed[0]["revoked_at"].is_string(), "{listed}");
    assert_eq!(
        call(MODEL, Some(&default_token)).status,
        200,
        "revoking one token touched another"
    );
}
