//! `tis ctl restart` against a real `tis up`: a rolling restart of Reference under a steady
//! GET load through the gateway, with real signals, and not one failed request.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use tis_testkit::up::TisUp;
use tokio::process::Command;

const TIS: &str = env!("CARGO_BIN_EXE_tis");

fn token(issuer: &str) -> String {
    tis_testkit::up::token(TIS, issuer, &["--user", "admin"])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rolling_restart_of_reference_under_load_fails_no_request() {
    let up = TisUp::start(TIS, &[]);
    let names = ["idp", "gateway", "reference-1", "reference-2"];
    let state = up
        .state_when("every process ready", |s| TisUp::has(s, &names))
        .await;
    let gateway = TisUp::addr_of(&state, "gateway", "addr");
    let issuer = state["issuer"].as_str().expect("issuer").to_owned();
    let token = token(&issuer);
    let url = format!("http://{gateway}/reference/api/grades?size=5");
    let client = reqwest::Client::new();
    // The gateway has both instances once `tis up` registered them.
    tis_testkit::wait::until(
        "the gateway to serve Reference",
        Duration::from_secs(30),
        Duration::from_millis(25),
        || {
            let req = client.get(&url).bearer_auth(&token);
            async move {
                let res = req.send().await.ok()?;
                res.status().is_success().then_some(())
            }
        },
    )
    .await
    .expect("Reference through the gateway");
    let before = [
        TisUp::pid_of(&state, "reference-1"),
        TisUp::pid_of(&state, "reference-2"),
    ];

    // A steady load: four callers in a loop, every answer counted.
    let stop = Arc::new(AtomicBool::new(false));
    let ok = Arc::new(AtomicU64::new(0));
    let failures = Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let mut callers = Vec::new();
    for _ in 0..4 {
        let (client, url, token) = (client.clone(), url.clone(), token.clone());
        let (stop, ok, failures) = (stop.clone(), ok.clone(), failures.clone());
        callers.push(tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                match client.get(&url).bearer_auth(&token).send().await {
                    Ok(res) if res.status().is_success() => {
                        ok.fetch_add(1, Ordering::Relaxed);
                    }
                    Ok(res) => {
                        let status = res.status();
                        let body = res.text().await.unwrap_or_default();
                        failures
                            .lock()
                            .expect("lock")
                            .push(format!("{status}: {body}"));
                    }
                    Err(e) => failures.lock().expect("lock").push(e.to_string()),
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        }));
    }
    tis_testkit::wait::until(
        "the load to run",
        Duration::from_secs(10),
        Duration::from_millis(10),
        || {
            let n = ok.load(Ordering::Relaxed);
            async move { (n >= 20).then_some(()) }
        },
    )
    .await
    .expect("load running");

    let out = Command::new(TIS)
        .args(["ctl", "restart", "reference", "--timeout", "60s"])
        .args(["--data-dir".as_ref(), up.dir().join(".tis").as_os_str()])
        .output()
        .await
        .expect("tis ctl");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "tis ctl restart failed: {stdout}{}\n{}",
        String::from_utf8_lossy(&out.stderr),
        up.log()
    );
    assert!(stdout.contains("every instance restarted"), "{stdout}");
    let served_during = ok.load(Ordering::Relaxed);

    // Some load after the restart too: the new instances take it.
    tis_testkit::wait::until(
        "more answers after the restart",
        Duration::from_secs(10),
        Duration::from_millis(10),
        || {
            let n = ok.load(Ordering::Relaxed);
            async move { (n >= served_during + 20).then_some(()) }
        },
    )
    .await
    .expect("load after the restart");
    stop.store(true, Ordering::Relaxed);
    for c in callers {
        c.await.expect("caller");
    }

    let failures = failures.lock().expect("lock").clone();
    assert!(
        failures.is_empty(),
        "{} of {} requests failed during the rolling restart: {:?}\n{stdout}",
        failures.len(),
        failures.len() as u64 + ok.load(Ordering::Relaxed),
        &failures[..failures.len().min(5)]
    );
    let after = up
        .state_when("both instances restarted", |s| {
            TisUp::has(s, &["reference-1", "reference-2"])
                && TisUp::pid_of(s, "reference-1") != before[0]
                && TisUp::pid_of(s, "reference-2") != before[1]
        })
        .await;
    assert!(TisUp::has(&after, &names));
    // One at a time: the output says so, in order.
    let first = stdout
        .find("reference-1: back")
        .expect("reference-1 restarted");
    let second = stdout
        .find("reference-2: draining")
        .expect("reference-2 restarted");
    assert!(first < second, "{stdout}");
}

#[tokio::test]
async fn without_a_running_tis_up_the_restart_says_so() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = Command::new(TIS)
        .args(["ctl", "restart", "reference", "--data-dir"])
        .arg(dir.path())
        .output()
        .await
        .expect("tis ctl");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("no running `tis up`"), "{stderr}");
}
