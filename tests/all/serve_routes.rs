//! Traffic policies of `sluice serve`: a weighted split between aliases
//! that is sticky by key (header or column) and says which version and
//! arm answered; a route changed by another process that takes traffic
//! within a second; shadows answered and counted, never returned; routes
//! declared in the pipeline file, changed with `sluice models route`,
//! audited, refused with their reason when wrong.

use crate::serve::{MODEL, Served, as_records, client, csv_columns, fixture, post_json};
use crate::support::*;
use arrow::array::Array as _;
use serde_json::{Value, json};
use std::path::Path;
use std::time::{Duration, Instant};

/// A home with v1 in production and v2 (another C) in canary.
fn two_versions(dir: &Path) -> std::path::PathBuf {
    let home = dir.join("home");
    crate::serve::register_and_promote_v1(&home);
    let v2 = example_pipeline_in(
        dir,
        "breast-cancer-v2",
        &[
            ("version = \"1\"", "version = \"2\""),
            ("c = 1.0", "c = 0.05"),
        ],
    );
    let run2 = ok_json(&home, &["run", v2.to_str().unwrap(), "--json"]);
    assert_eq!(run2["registered"][0]["version"], 2, "{run2}");
    let promoted = ok_json(
        &home,
        &[
            "models", "promote", MODEL, "2", "--to", "canary", "--force", "--reason", "test",
            "--json",
        ],
    );
    assert_eq!(promoted["to_version"], 2, "{promoted}");
    home
}

fn route(home: &Path, args: &[&str]) -> Value {
    let mut all = vec!["models", "route", MODEL];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--reason", "test", "--json"]);
    ok_json(home, &all)
}

/// A request with an `x-sluice-key` header: (version, variant, body).
fn keyed(url: &str, key: Option<&str>, body: &Value) -> (String, String, Value) {
    block_on(async {
        let mut req = client()
            .post(url)
            .header("content-type", "application/json")
            .body(body.to_string());
        if let Some(key) = key {
            req = req.header("x-sluice-key", key);
        }
        let resp = req.send().await.expect("POST");
        assert_eq!(resp.status(), 200);
        let header = |name: &str| {
            resp.headers()
                .get(name)
                .unwrap_or_else(|| panic!("no {name} header"))
                .to_str()
                .unwrap()
                .to_owned()
        };
        let (version, variant) = (header("x-sluice-model-version"), header("x-sluice-variant"));
        let body = resp.bytes().await.expect("a body");
        (
            version,
            variant,
            serde_json::from_slice(&body).expect("JSON"),
        )
    })
}

/// The value of a sample in the server's `/metrics`, if it is there.
fn metric(url: &str, sample: &str) -> Option<f64> {
    let text = String::from_utf8(crate::serve::get(&format!("{url}/metrics")).body).unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix(sample)?.trim().parse().ok())
}

#[test]
fn a_split_is_sticky_by_key_and_a_route_change_takes_traffic_within_a_second() {
    let dir = tempfile::tempdir().unwrap();
    let home = two_versions(dir.path());
    route(&home, &["--split", "production=50,canary=50"]);
    let served = Served::start(&home, &["--no-auth", "--refresh-ms", "250"]);
    let url = format!("{}/models/{MODEL}/invocations", served.url);
    let records = as_records(&csv_columns(&fixture().features));
    let body = json!({ "dataframe_records": records[..2] });

    // Each key sees one arm, always; the arms share the keys.
    let mut by_key = Vec::new();
    for i in 0..60 {
        let key = format!("customer-{i}");
        let (version, variant, _) = keyed(&url, Some(&key), &body);
        let expected_variant = if version == "1" {
            "production"
        } else {
            "canary"
        };
        assert_eq!(
            variant, expected_variant,
            "v{version} answered as {variant}"
        );
        by_key.push((key, version));
    }
    for (key, version) in &by_key {
        assert_eq!(&keyed(&url, Some(key), &body).0, version, "{key} moved");
    }
    let on_v2 = by_key.iter().filter(|(_, v)| v == "2").count();
    // 30 expected of 60; the bounds are ±4.6 standard deviations.
    assert!((12..=48).contains(&on_v2), "{on_v2} of 60 keys on v2");

    // Another process moves all traffic to canary: it takes within 1 s.
    route(&home, &["--split", "canary=1"]);
    let changed = Instant::now();
    let (key_on_v1, _) = by_key.iter().find(|(_, v)| v == "1").expect("a key on v1");
    loop {
        if keyed(&url, Some(key_on_v1), &body).0 == "2" {
            break;
        }
        assert!(
            changed.elapsed() < Duration::from_secs(1),
            "the route change took no traffic within a second"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    for (key, _) in &by_key[..10] {
        assert_eq!(keyed(&url, Some(key), &body).1, "canary");
    }

    // Sticky by a column: its value routes as the same header would, and
    // the declared passthrough column comes back without being asked for.
    let with_id: Vec<Value> = records[..3]
        .iter()
        .zip(["alice", "bob", "carol"])
        .map(|(r, id)| {
            let mut r = r.clone();
            r["customer_id"] = json!(id);
            r
        })
        .collect();
    route(
        &home,
        &[
            "--split",
            "production=50,canary=50",
            "--key",
            "customer_id",
            "--passthrough",
            "customer_id",
        ],
    );
    std::thread::sleep(Duration::from_millis(600));
    let mut versions_seen = std::collections::BTreeSet::new();
    for first in ["alice", "bob", "carol", "dave", "erin", "frank", "grace"] {
        let mut rows = with_id.clone();
        rows[0]["customer_id"] = json!(first);
        let by_column = keyed(&url, None, &json!({ "dataframe_records": rows }));
        let by_header = keyed(&url, Some(first), &body);
        assert_eq!(
            by_column.0, by_header.0,
            "{first}: column and header disagree"
        );
        versions_seen.insert(by_column.0);
        let answers = by_column.2["predictions"].as_array().unwrap().clone();
        assert_eq!(answers.len(), 3);
        assert_eq!(answers[0]["customer_id"], json!(first), "{}", by_column.2);
        assert_eq!(answers[2]["customer_id"], json!("carol"));
    }
    assert_eq!(versions_seen.len(), 2, "7 keys all went to one arm");
    let missing = post_json(&url, &body);
    assert_eq!(missing.status, 400);
    assert!(
        String::from_utf8_lossy(&missing.body).contains("customer_id"),
        "{}",
        String::from_utf8_lossy(&missing.body)
    );

    // Shadows: every request is also answered by canary, counted as
    // `shadow`, never returned.
    route(
        &home,
        &[
            "--split",
            "production=1",
            "--no-key",
            "--mirror",
            "canary=100",
        ],
    );
    std::thread::sleep(Duration::from_millis(600));
    let mirrored = 12;
    for i in 0..mirrored {
        let (version, variant, _) = keyed(&url, Some(&format!("m{i}")), &body);
        assert_eq!((version.as_str(), variant.as_str()), ("1", "production"));
    }
    let shadow = format!(
        "sluice_inference_requests_total{{model_name=\"{MODEL}\",model_version=\"2\",variant=\"shadow\",outcome=\"ok\"}}"
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    let shadows_answered = loop {
        let answered = metric(&served.url, &shadow).unwrap_or(0.0);
        let dropped = metric(
            &served.url,
            &format!("sluice_shadow_requests_dropped_total{{model_name=\"{MODEL}\",model_version=\"2\",variant=\"shadow\"}}"),
        )
        .unwrap_or(0.0);
        if answered + dropped >= f64::from(mirrored) {
            assert_eq!(answered + dropped, f64::from(mirrored));
            assert!(answered >= 1.0, "every shadow was dropped");
            break answered;
        }
        assert!(
            Instant::now() < deadline,
            "{answered} shadows of {mirrored}"
        );
        std::thread::sleep(Duration::from_millis(50));
    };

    // Naming an alias is never routed.
    let (version, variant, _) = keyed(
        &format!("{}/models/{MODEL}@canary/invocations", served.url),
        Some("m0"),
        &body,
    );
    assert_eq!((version.as_str(), variant.as_str()), ("2", "canary"));

    // Every change is in the audit history, with what it set.
    let history = ok_json(&home, &["models", "history", MODEL, "--json"]);
    let routes: Vec<&Value> = history
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "route")
        .collect();
    assert_eq!(routes.len(), 4, "{history}");
    let last: Value = serde_json::from_str(routes[3]["detail"].as_str().unwrap()).unwrap();
    assert_eq!(last["mirror"], json!({ "to": "canary", "percent": 100.0 }));
    assert!(last.get("key").is_none(), "{last}");

    // The log has each request under the arm that answered it, with its
    // key, and each shadow under its request's id.
    assert!(served.terminate().success());
    let log = crate::serve_log::logged(&home, MODEL);
    let of = |name: &str| -> Vec<String> {
        let column = log.column_by_name(name).unwrap();
        let text = arrow::compute::cast(column, &arrow::datatypes::DataType::Utf8).unwrap();
        let text = text
            .as_any()
            .downcast_ref::<arrow::array::StringArray>()
            .unwrap();
        (0..text.len())
            .map(|i| {
                if text.is_valid(i) {
                    text.value(i).to_owned()
                } else {
                    String::new()
                }
            })
            .collect()
    };
    let (ids, variants, keys, versions) =
        (of("request_id"), of("variant"), of("key"), of("version"));
    // A key read from a column is logged as a header's is, with the
    // version both chose.
    for first in ["alice", "bob", "carol", "dave", "erin", "frank", "grace"] {
        let seen: std::collections::BTreeSet<&String> = (0..keys.len())
            .filter(|&i| keys[i] == first)
            .map(|i| &versions[i])
            .collect();
        assert_eq!(seen.len(), 1, "{first}: logged under versions {seen:?}");
        let requests = (0..keys.len())
            .filter(|&i| keys[i] == first)
            .map(|i| &ids[i])
            .collect::<std::collections::BTreeSet<_>>();
        assert_eq!(requests.len(), 2, "{first}: by column and by header");
    }
    let shadows: std::collections::BTreeSet<&String> = (0..ids.len())
        .filter(|&i| variants[i] == "shadow")
        .map(|i| &ids[i])
        .collect();
    assert_eq!(shadows.len() as f64, shadows_answered);
    for id in shadows {
        let primary = (0..ids.len())
            .find(|&i| &ids[i] == id && variants[i] == "production")
            .unwrap_or_else(|| panic!("shadow {id} has no request"));
        assert!(keys[primary].starts_with('m'), "{}", keys[primary]);
    }
}

#[test]
fn routes_declared_in_the_pipeline_file_apply_at_registration_and_wrong_ones_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    let declared = |name: &str, version: &str, serving: &str| {
        let header = format!(
            "[models.breast-cancer-logreg.serving]\n{serving}\n\n[models.breast-cancer-logreg]\n"
        );
        let version = format!("version = \"{version}\"");
        example_pipeline_in(
            dir.path(),
            name,
            &[
                ("version = \"1\"", &version),
                ("[models.breast-cancer-logreg]\n", &header),
            ],
        )
    };
    let first = declared(
        "declared",
        "1",
        "split = { production = 90, canary = 10 }\npassthrough = [\"id\"]",
    );
    let run = ok_json(&home, &["run", first.to_str().unwrap(), "--json"]);
    assert_eq!(run["registered"][0]["version"], 1, "{run}");
    let shown = ok_json(&home, &["models", "route", MODEL, "--json"]);
    assert_eq!(
        shown["route"]["split"],
        json!({ "production": 90.0, "canary": 10.0 })
    );
    assert_eq!(shown["route"]["passthrough"], json!(["id"]));

    // A route changed by hand survives runs of the unchanged file...
    ok_json(
        &home,
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
    route(&home, &["--split", "production=1"]);
    ok_json(
        &home,
        &["run", first.to_str().unwrap(), "--no-cache", "--json"],
    );
    let shown = ok_json(&home, &["models", "route", MODEL, "--json"]);
    assert_eq!(shown["route"]["split"], json!({ "production": 1.0 }));
    // ...and a changed declaration applies at the next registration.
    let second = declared("declared2", "2", "split = { production = 70, canary = 30 }");
    ok_json(&home, &["run", second.to_str().unwrap(), "--json"]);
    let shown = ok_json(&home, &["models", "route", MODEL, "--json"]);
    assert_eq!(
        shown["route"]["split"],
        json!({ "production": 70.0, "canary": 30.0 })
    );
    let history = ok_json(&home, &["models", "history", MODEL, "--json"]);
    let reasons: Vec<&str> = history
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "route")
        .map(|e| e["reason"].as_str().unwrap())
        .collect();
    assert_eq!(
        reasons,
        [
            "declared by pipeline `breast-cancer`",
            "test",
            "declared by pipeline `breast-cancer`"
        ]
    );

    // Wrong routes are refused with their reason, and change nothing.
    let refused = |args: &[&str], says: &str| {
        let mut all = vec!["models", "route", MODEL];
        all.extend_from_slice(args);
        let out = sluice(&home).args(&all).output().unwrap();
        assert!(!out.status.success(), "{args:?} was accepted");
        let err = stderr(&out);
        assert!(err.contains(says), "{args:?}: {err}");
    };
    refused(
        &["--split", "production=1,staging=1"],
        "`staging`, which is not an alias",
    );
    refused(&["--split", "v9=1"], "not a version");
    refused(&["--split", "production=-1"], "weight");
    refused(&["--split", "production"], "ARM=WEIGHT");
    refused(&["--mirror", "production=150"], "mirror.percent");
    refused(
        &["--clear", "--split", "production=1"],
        "cannot be used with",
    );
    let other = dir.path().join("other-home");
    let out = sluice(&other)
        .args([
            "models",
            "route",
            "no-such-model",
            "--split",
            "production=1",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(stderr(&out).contains("no-such-model"), "{}", stderr(&out));
    let shown = ok_json(&home, &["models", "route", MODEL, "--json"]);
    assert_eq!(
        shown["route"]["split"],
        json!({ "production": 70.0, "canary": 30.0 })
    );

    // A wrong declaration stops the run before anything runs.
    let bad = declared("bad", "3", "split = { production = 0 }");
    let out = sluice(&home)
        .args(["run", bad.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("[models.breast-cancer-logreg.serving]: split: every weight is 0"),
        "{}",
        stderr(&out)
    );

    // --clear: bare-name requests go to production again.
    let cleared = route(&home, &["--clear"]);
    assert_eq!(cleared["route"], Value::Null);
}
