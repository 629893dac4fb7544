//! The telemetry of every process `tis up` starts, for real: `/metrics` that `promtool check
//! metrics` accepts (every metric described; the ones the documented alerts name present at
//! start, at zero), and log lines whose fields do not clash with ECS.

use std::io::Write;
use std::process::{Command, Stdio};

use serde_json::Value;
use tis_testkit::up::TisUp;

const TIS: &str = env!("CARGO_BIN_EXE_tis");

const PROCESSES: [&str; 5] = ["gateway", "idp", "reference-1", "profile-1", "tcs-1"];

/// `promtool check metrics` on `text`: its complaints, empty when it accepts it. Fails the test
/// when promtool is missing (Debian package `prometheus`; `.ci/run` installs it).
fn promtool(text: &str) -> String {
    let mut child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool is required (Debian package `prometheus`)");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(text.as_bytes())
        .expect("write to promtool");
    let out = child.wait_with_output().expect("promtool");
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    if out.status.success() {
        String::new()
    } else {
        said
    }
}

async fn metrics_of(state: &Value, name: &str) -> String {
    let field = if name == "gateway" { "admin" } else { "addr" };
    let addr = TisUp::addr_of(state, name, field);
    let res = reqwest::get(format!("http://{addr}/metrics"))
        .await
        .expect("GET /metrics");
    assert_eq!(res.status(), 200, "{name} /metrics");
    res.text().await.expect("metrics text")
}

#[tokio::test]
async fn every_process_of_tis_up_has_metrics_that_promtool_accepts_with_the_alerted_ones_at_zero() {
    let up = TisUp::start(TIS, &[]);
    let state = up
        .state_when("every process ready", |s| TisUp::has(s, &PROCESSES))
        .await;
    let mut failures = Vec::new();
    for name in PROCESSES {
        let text = metrics_of(&state, name).await;
        let said = promtool(&text);
        if !said.is_empty() {
            failures.push(format!("{name}:\n{said}"));
        }
    }
    assert!(
        failures.is_empty(),
        "promtool check metrics:\n{}",
        failures.join("\n")
    );

    // Before any request: what the alerts in docs/operations.md watch is there, at zero.
    let gateway = metrics_of(&state, "gateway").await;
    for kind in ["connect", "timeout", "status", "broken"] {
        assert!(
            gateway
                .lines()
                .any(|l| l.starts_with("mesh_endpoint_errors_total{")
                    && l.contains(&format!("kind=\"{kind}\""))
                    && l.ends_with(" 0")),
            "mesh_endpoint_errors_total{{kind=\"{kind}\"}} missing at start:\n{gateway}"
        );
    }
    for series in [
        "profile_cache_refresh_failures_total 0",
        "profile_cache_lookups_total{outcome=\"stale\"} 0",
        "profile_fetches_total{outcome=\"failed\"} 0",
        "gateway_shed_total 0",
        "gateway_route_reloads_total{result=\"failure\"} 0",
    ] {
        assert!(
            gateway.lines().any(|l| l == series),
            "`{series}` missing from the gateway's /metrics at start:\n{gateway}"
        );
    }
}

/// Every key of an ECS log line that clashes with the schema: an ECS object (`service`,
/// `tls`, `user`…) given as a plain value, or a key that is both a value and the prefix of
/// another key (`a.b` and `a.b.c`).
fn ecs_clashes(line: &serde_json::Map<String, Value>) -> Vec<String> {
    let mut clashes = Vec::new();
    for (key, value) in line {
        if tis_core::telemetry::ECS_OBJECTS.contains(&key.as_str()) && !value.is_object() {
            clashes.push(format!("`{key}` is an object in ECS, here {value}"));
        }
        let prefix = format!("{key}.");
        if let Some(other) = line.keys().find(|k| k.starts_with(&prefix)) {
            clashes.push(format!("`{key}` is a value and the prefix of `{other}`"));
        }
    }
    if !line.get("service.name").is_some_and(Value::is_string) {
        clashes.push("no `service.name`".into());
    }
    clashes
}

#[tokio::test]
async fn the_log_lines_of_every_process_of_tis_up_keep_to_ecs_field_names() {
    let up = TisUp::start(TIS, &[("TIS_LOG__LEVEL", "info".into())]);
    let state = up
        .state_when("every process ready", |s| TisUp::has(s, &PROCESSES))
        .await;
    // A request through the gateway: its lines, and those of the services it reaches.
    let issuer = state["issuer"].as_str().expect("issuer").to_owned();
    let token = tis_testkit::up::token(TIS, &issuer, &["--user", "admin"]);
    let gateway = TisUp::addr_of(&state, "gateway", "addr");
    for path in [
        "/reference/api/grades?size=1",
        "/reference/api/nothing-here",
    ] {
        reqwest::Client::new()
            .get(format!("http://{gateway}{path}"))
            .bearer_auth(&token)
            .send()
            .await
            .expect("request");
    }
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;

    let log = up.log();
    let mut services = std::collections::BTreeSet::new();
    let mut bad = Vec::new();
    for text in log.lines().filter(|l| l.starts_with('{')) {
        let Ok(Value::Object(line)) = serde_json::from_str::<Value>(text) else {
            continue;
        };
        if let Some(s) = line.get("service.name").and_then(Value::as_str) {
            services.insert(s.to_owned());
        }
        for clash in ecs_clashes(&line) {
            bad.push(format!("{clash}\n    in {text}"));
        }
    }
    for service in ["gateway", "idp", "reference", "profile", "tcs"] {
        assert!(
            services.contains(service),
            "no log line from {service} (saw {services:?}):\n{log}"
        );
    }
    assert!(bad.is_empty(), "ECS clashes:\n{}", bad.join("\n"));
}
