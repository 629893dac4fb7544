//! The status history (issue 18) with real `tis gateway` processes: a service down, then
//! back, seen by two gateways that pull each other's history; one gateway killed with
//! `kill -9` and started again on the same file keeps its history; both tell the same story
//! (the same incident, the same bars) on `/api/status` and `/status`.

#[path = "gateway/support.rs"]
#[allow(dead_code)]
mod support;

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use nix::sys::signal::Signal;
use serde_json::Value;
use support::*;

const SERVICE: &str = "reference";

/// A gateway whose admin listener is on `admin` (its peers must be told where it is).
async fn gateway(
    dir: &Path,
    name: &str,
    base: &str,
    admin: SocketAddr,
    peers: &[SocketAddr],
) -> Proc {
    let peers: Vec<String> = peers.iter().map(|p| format!("\"{p}\"")).collect();
    let toml = format!(
        "[gateway]\n{base}\
         [[gateway.routes]]\nprefix = \"/reference\"\nservice = \"{SERVICE}\"\ntitle = \"Reference data\"\n\
         [gateway.services.{SERVICE}]\ndiscovery = {{ kind = \"registry\" }}\n\
         [gateway.services.{SERVICE}.mesh.health_check]\ninterval = \"200ms\"\ntimeout = \"200ms\"\n\
         [gateway.status_history]\nfile = \"{}\"\nsample_interval = \"100ms\"\nflush_interval = \"100ms\"\n\
         exchange_interval = \"100ms\"\npeers = [{}]\n",
        dir.join(format!("{name}-history.jsonl")).display(),
        peers.join(", ")
    );
    let config = dir.join(format!("{name}.toml"));
    std::fs::write(&config, toml).expect("config");
    spawn(
        name,
        dir,
        &[
            "--config",
            &config.display().to_string(),
            "gateway",
            "--listen",
            "127.0.0.1:0",
            "--admin-listen",
            &admin.to_string(),
        ],
        &[("TIS_GATEWAY__DRAIN__DRAIN_DELAY", "100ms".to_owned())],
    )
    .await
}

async fn get(url: String) -> Option<Value> {
    reqwest::get(url).await.ok()?.json().await.ok()
}

async fn register(admin: SocketAddr, addr: SocketAddr) {
    let res = reqwest::Client::new()
        .put(format!(
            "http://{admin}/admin/registry/{SERVICE}/{SERVICE}-1"
        ))
        .json(&serde_json::json!({ "addr": addr }))
        .send()
        .await
        .expect("register");
    assert!(res.status().is_success(), "register: {}", res.status());
}

/// The history of `/api/status` once `ready` says it is what the test waits for.
async fn history_when(gw: &Proc, what: &str, ready: impl Fn(&Value) -> bool) -> Value {
    let url = format!("http://{}/api/status", gw.addr);
    tis_testkit::wait::until(
        what,
        Duration::from_secs(30),
        Duration::from_millis(50),
        || {
            let url = url.clone();
            let ready = &ready;
            async move {
                let body = get(url).await?;
                ready(&body["history"]).then(|| body["history"].clone())
            }
        },
    )
    .await
    .unwrap_or_else(|e| panic!("{}: {e}", gw.name))
}

fn reference(h: &Value) -> &Value {
    h["capabilities"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["id"] == "service:reference"))
        .expect("the Reference capability")
}

/// The incidents of Reference: (start, end, level).
fn incidents(h: &Value) -> Vec<(String, Value, String)> {
    h["incidents"]
        .as_array()
        .expect("incidents")
        .iter()
        .filter(|i| i["capability"] == "service:reference")
        .map(|i| {
            (
                i["start"].as_str().unwrap_or("").to_owned(),
                i["end"].clone(),
                i["level"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect()
}

fn ended_incident(h: &Value) -> bool {
    let list = incidents(h);
    list.len() == 1 && !list[0].1.is_null()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_gateways_keep_one_history_across_a_kill_and_a_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let tokens = Tokens::start().await;
    let base = base_toml(dir.path(), &tokens);
    // Peers must be told the admin addresses: two free ports, each gateway given both (its
    // own is recognised and skipped), as a deployment gives every gateway one list.
    let port = || tis_testkit::ports::free_port().expect("port");
    let (admin_a, admin_b): (SocketAddr, SocketAddr) = (
        format!("127.0.0.1:{}", port()).parse().expect("addr"),
        format!("127.0.0.1:{}", port()).parse().expect("addr"),
    );
    let peers = [admin_a, admin_b];
    let mut a = gateway(dir.path(), "gateway-a", &base, admin_a, &peers).await;
    let b = gateway(dir.path(), "gateway-b", &base, admin_b, &peers).await;

    // No instance of Reference anywhere: both gateways say it is down, and remember it.
    for gw in [&a, &b] {
        history_when(gw, "an ongoing incident", |h| {
            incidents(h)
                .first()
                .is_some_and(|i| i.1.is_null() && i.2 == "down")
        })
        .await;
    }
    // It comes back.
    let upstreams = Upstreams::new(dir.path());
    let instance = upstreams.spawn("reference-1").await;
    register(admin_a, instance.addr).await;
    register(admin_b, instance.addr).await;
    let seen_a = history_when(&a, "the incident ended, merged", |h| {
        ended_incident(h) && h["gateways"] == 2
    })
    .await;
    let seen_b = history_when(&b, "the same incident", |h| {
        ended_incident(h) && h["gateways"] == 2 && incidents(h) == incidents(&seen_a)
    })
    .await;
    let bars = |h: &Value| reference(h)["day"]["bars"].clone();
    assert_eq!(bars(&seen_a), bars(&seen_b), "both draw the same bars");
    let day = bars(&seen_a);
    let day = day.as_array().expect("bars");
    assert_eq!(day.len(), 96);
    assert_eq!(day[95], "down", "the slot of the outage is down");
    assert!(day[..94].iter().all(|b| b == "none"), "{day:?}");
    let availability = reference(&seen_a)["day"]["availability"]
        .as_f64()
        .expect("a percentage");
    assert!(availability < 100.0, "{availability}");

    // kill -9 in the middle: the history is in its file.
    let observed = reference(&seen_a)["day"]["observedSeconds"]
        .as_u64()
        .expect("seconds");
    let id = get(format!("http://{admin_a}/admin/status/history"))
        .await
        .expect("export")["gateway"]
        .clone();
    a.signal(Signal::SIGKILL);
    a.wait_exit(Duration::from_secs(10)).await;
    drop(a);
    let a = gateway(dir.path(), "gateway-a", &base, admin_a, &peers).await;
    assert_eq!(
        get(format!("http://{admin_a}/admin/status/history"))
            .await
            .expect("export")["gateway"],
        id,
        "a restarted gateway carries on under its id"
    );
    register(admin_a, instance.addr).await;
    // At once (before any pull from B could have refilled it), the file's history is there.
    let now_a = get(format!("http://{}/api/status", a.addr))
        .await
        .expect("status");
    let now_a = &now_a["history"];
    assert_eq!(reference(now_a)["day"]["bars"][95], "down");
    assert!(
        reference(now_a)["day"]["observedSeconds"]
            .as_u64()
            .unwrap_or(0)
            + 1
            >= observed,
        "{now_a}"
    );
    assert_eq!(
        incidents(now_a)[0].0,
        incidents(&seen_a)[0].0,
        "the incident kept its start"
    );

    // And the two agree again (the restart's own moment without Reference is no new
    // incident once the instance is registered, or is merged into the story both tell).
    let again_a = history_when(&a, "a settled history", |h| {
        incidents(h).iter().all(|i| !i.1.is_null()) && h["gateways"] == 2
    })
    .await;
    history_when(&b, "the same story as gateway-a", |h| {
        incidents(h) == incidents(&again_a) && bars(h) == bars(&again_a)
    })
    .await;

    // The page: the bars with their text alternatives, the incident in plain words, and
    // the same policy (no inline script or style).
    let res = reqwest::get(format!("http://{}/status", a.addr))
        .await
        .expect("page");
    let csp = res.headers()["content-security-policy"]
        .to_str()
        .expect("csp")
        .to_owned();
    assert!(
        csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"),
        "{csp}"
    );
    let page = res.text().await.expect("page");
    assert!(
        page.contains("aria-label=\"Reference data, last 24 hours: working normally"),
        "{page}"
    );
    assert!(
        page.contains("Reference data is unavailable: no instance of it is running."),
        "{page}"
    );
    assert!(!page.contains("style="), "no inline style");
    if let Ok(path) = std::env::var("TIS_STATUS_SCREENSHOT") {
        let shot = std::process::Command::new("chromium")
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--window-size=900,1400",
            ])
            .arg(format!("--screenshot={path}"))
            .arg(format!("http://{}/status", a.addr))
            .status();
        eprintln!("screenshot: {shot:?}");
    }
    drop(b);
    drop(instance);
}
