//! The telemetry of every process `tis up` starts, for real: `/metrics` that `promtool check
//! metrics` accepts (every metric described; the ones the documented alerts name present at
//! start, at zero).

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

