//! `tis chaos` for real: it starts its own `tis up` on free ports, drives the workload,
//! kills every Reference instance with `kill -9` and holds them down, then releases them, and
//! reports. The scenario also states one expectation that cannot hold, so the test sees both
//! verdicts and the exit code of a missed expectation.

use std::process::Stdio;
use std::time::Duration;

use serde_json::Value;
use tokio::process::Command;

const TIS: &str = env!("CARGO_BIN_EXE_tis");

const SCENARIO: &str = r#"
name = "test-service-down"
summary = "every Reference instance killed and held down, then released"

[workload]
rate = 30
short_rate = 30
write_retry_for = "0s"
seed = 7

[[phases]]
name = "baseline"
duration = "3s"
short = "3s"

[[phases]]
name = "down"
duration = "5s"
short = "5s"
actions = [{ do = "kill", target = "service:reference", hold = true }]

# Requests started while the instances come back may fail: not judged.
[[phases]]
name = "back"
duration = "2s"
short = "2s"
actions = [{ do = "release", target = "service:reference" }]

[[phases]]
name = "after"
duration = "3s"
short = "3s"

[[expect]]
phase = ["baseline", "after"]
requests = "all"
min_success = 99.0

[[expect]]
phase = "down"
requests = "reference"
max_success = 0.0

# Cannot hold: every Reference instance is down.
[[expect]]
phase = "down"
requests = "reference.read"
min_success = 50.0

[[expect_status]]
phase = "down"
capability = "service:reference"
status = "down"
after = "1s"
"#;

#[tokio::test]
async fn a_real_scenario_reports_per_phase_and_fails_on_a_missed_expectation() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("test-service-down.toml");
    std::fs::write(&file, SCENARIO).expect("write scenario");
    let html = dir.path().join("report.html");
    let out = tokio::time::timeout(
        Duration::from_secs(300),
        Command::new(TIS)
            .args(["chaos", "run", "--short", "--json", "--quiet"])
            .arg(&file)
            .arg("--report")
            .arg(&html)
            .current_dir(dir.path())
            // The run misses an expectation, so tis chaos keeps tis up's folder for
            // inspection: inside ours, removed with it.
            .env("TMPDIR", dir.path())
            .stdin(Stdio::null())
            .kill_on_drop(true)
            .output(),
    )
    .await
    .expect("tis chaos finishes")
    .expect("tis chaos runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(1),
        "a missed expectation exits 1; stderr: {stderr}"
    );
    let report: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("JSON report ({e}); stderr: {stderr}"));

    let phases = report["phases"].as_array().expect("phases");
    let names: Vec<&str> = phases.iter().filter_map(|p| p["name"].as_str()).collect();
    assert_eq!(names, ["baseline", "down", "back", "after"]);
    for p in phases {
        assert!(
            p["all"]["requests"].as_u64().expect("requests") >= 30,
            "30 requests a second: {p}"
        );
    }
    let down = &phases[1];
    assert_eq!(
        down["groups"]["reference.read"]["success_pct"], 0.0,
        "{down}"
    );
    assert_eq!(
        down["groups"]["profile.read"]["success_pct"], 100.0,
        "{down}"
    );
    assert!(
        down["actions"][0]["error"].is_null(),
        "kill and hold worked: {down}"
    );
    assert!(phases[2]["actions"][0]["error"].is_null(), "released");
    assert!(
        down["status"]["service:reference"]["down"].as_u64() >= Some(5),
        "/api/status said so: {down}"
    );

    let missed: Vec<&str> = report["verdicts"]
        .as_array()
        .expect("verdicts")
        .iter()
        .filter(|v| v["passed"] == false)
        .filter_map(|v| v["what"].as_str())
        .collect();
    assert_eq!(missed, ["down: reference.read requests: success"]);
    assert_eq!(report["passed"], false);
    let kept = report["kept"]
        .as_str()
        .expect("a failed run keeps tis up's folder");
    assert!(
        std::path::Path::new(kept).join("up.log").is_file(),
        "with tis up's log: {kept}"
    );

    let writes = &report["writes"];
    assert!(writes["acknowledged"].as_u64() >= Some(5), "{writes}");
    assert_eq!(writes["lost"], serde_json::json!([]));
    assert_eq!(writes["duplicated"], serde_json::json!([]));

    // The same run as a page: well-formed, one point a second for the ~13 s, the kill and
    // the release marked, the missed verdict shown.
    let page = std::fs::read_to_string(&html).expect("the HTML report is written");
    tis_chaos::report::html::well_formed(&page).expect("well-formed HTML");
    assert!(page.starts_with("<!doctype html>"));
    assert!(page.contains("test-service-down: <span class=\"fail\">FAIL</span>"));
    let points: usize = page
        .split("<polyline class=\"s-all\" points=\"")
        .skip(1)
        .map(|p| p[..p.find('"').expect("quote")].split(' ').count())
        .sum();
    assert!((12..=15).contains(&points), "{points} seconds drawn");
    assert!(page.contains(">kill -9 service:reference (held down)</text>"));
    assert!(page.contains("<line class=\"mark recovery\""));
    assert!(
        page.contains("<rect class=\"c-down\""),
        "the status page said down"
    );
    assert!(page.contains("<td>down: reference.read requests: success</td>"));
}
