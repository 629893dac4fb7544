//! `tis up` for real: the binary, its children, real signals.

use std::path::Path;
use std::time::Duration;

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use serde_json::Value;
use tis_testkit::up::TisUp;
use tis_testkit::wait;
use tokio::process::Command;

const TIS: &str = env!("CARGO_BIN_EXE_tis");

fn all_ready(state: &Value) -> bool {
    ["idp", "reference-1", "reference-2"]
        .iter()
        .all(|n| state["processes"][n]["addr"].is_string())
}

fn alive(pid: i32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
        && std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .map(|s| !s.contains(") Z "))
            .unwrap_or(false)
}

fn token(issuer: &str) -> String {
    tis_testkit::up::token(TIS, issuer, &["--user", "admin"])
}

async fn get(addr: &str, path: &str, token: &str) -> reqwest::Response {
    reqwest::Client::new()
        .get(format!("http://{addr}{path}"))
        .bearer_auth(token)
        .send()
        .await
        .expect("request")
}

async fn grades(addr: &str, token: &str) -> reqwest::Response {
    get(addr, "/reference/api/grades?size=5", token).await
}

#[tokio::test]
async fn tis_up_serves_restarts_a_killed_instance_and_stops_everything_on_ctrl_c() {
    let mut up = TisUp::start(TIS, &[]);
    let state = up.state_when("every process ready", all_ready).await;

    let issuer = state["issuer"].as_str().expect("issuer").to_owned();
    let token = token(&issuer);
    for name in ["reference-1", "reference-2"] {
        let res = grades(
            state["processes"][name]["addr"].as_str().expect("addr"),
            &token,
        )
        .await;
        assert_eq!(res.status(), 200, "{name}");
        assert_eq!(
            res.headers()["x-total-count"],
            "27",
            "{name} serves the demo grades"
        );
    }
    // Through the gateway: every service, each instance announced to its registry.
    let gateway = state["processes"]["gateway"]["addr"]
        .as_str()
        .expect("gateway")
        .to_owned();
    let registry_url = format!(
        "http://{}/admin/registry",
        state["processes"]["gateway"]["admin"]
            .as_str()
            .expect("admin")
    );
    wait::until(
        "every instance registered",
        Duration::from_secs(10),
        Duration::from_millis(25),
        || {
            let url = registry_url.clone();
            async move {
                let registry: Value = reqwest::get(url).await.ok()?.json().await.ok()?;
                (registry["reference"].as_object()?.len() == 2
                    && registry["profile"].as_object()?.len() == 2)
                    .then_some(())
            }
        },
    )
    .await
    .expect("registered");
    assert_eq!(grades(&gateway, &token).await.status(), 200);
    let me: Value = get(&gateway, "/profile/api/userinfo", &token)
        .await
        .json()
        .await
        .expect("userinfo");
    assert_eq!(me["userName"], "admin");
    let status: Value = reqwest::get(format!("http://{gateway}/api/status"))
        .await
        .expect("status")
        .json()
        .await
        .expect("json");
    assert_eq!(status["status"], "ok", "{status}");

    // kill -9 one instance: the supervisor restarts it, on a new pid, and it serves again.
    let victim = TisUp::pid_of(&state, "reference-1");
    kill(Pid::from_raw(victim), Signal::SIGKILL).expect("kill -9");
    let state = up
        .state_when("reference-1 restarted", |s| {
            s["processes"]["reference-1"]["pid"]
                .as_i64()
                .is_some_and(|p| p != i64::from(victim))
        })
        .await;
    let addr = state["processes"]["reference-1"]["addr"]
        .as_str()
        .expect("addr");
    assert_eq!(grades(addr, &token).await.status(), 200);

    // Ctrl-C: every child drains and exits, then tis up exits 0.
    let children: Vec<i32> = ["idp", "reference-1", "reference-2"]
        .iter()
        .map(|n| TisUp::pid_of(&state, n))
        .collect();
    let pid = i32::try_from(up.child.id().expect("running")).expect("pid");
    kill(Pid::from_raw(pid), Signal::SIGINT).expect("SIGINT");
    let status = tokio::time::timeout(Duration::from_secs(20), up.child.wait())
        .await
        .expect("tis up stops")
        .expect("status");
    assert!(
        status.success(),
        "tis up exits 0 after Ctrl-C, got {status}"
    );
    for child in children {
        assert!(
            !alive(child),
            "child {child} still running after tis up exited"
        );
    }
    assert!(!up.state_file().exists(), "run/up.json removed on exit");
}

#[tokio::test]
async fn a_bad_configuration_exits_with_code_2_naming_the_key() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("tis.toml"),
        "[reference]\nlisen = \"127.0.0.1:0\"\n",
    )
    .expect("write");
    let out = Command::new(TIS)
        .args(["serve", "reference"])
        .current_dir(dir.path())
        .output()
        .await
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("lisen"), "{err}");

    let out = Command::new(TIS)
        .args(["up"])
        .env("TIS_UP__INSTANCES", "lots")
        .current_dir(dir.path())
        .output()
        .await
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
}
