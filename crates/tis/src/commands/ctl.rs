//! `tis ctl`: operations on a running `tis up`.
//!
//! `tis ctl restart <service>` restarts the service's instances one at a time, without a
//! failed request. It talks to the supervisor through what `tis up` already publishes and
//! already does, so the supervisor needs no control socket:
//!
//! 1. Read `run/up.json` (the supervisor's pid, every ready process, the gateway's admin
//!    address) and check the supervisor is alive.
//! 2. For each instance, in name order:
//!    - take it out of the gateway's registry (`DELETE /admin/registry/{service}/{name}`,
//!      with the admin token of `keys/admin.token`), so
//!      the gateway stops choosing it at once (in-flight requests continue);
//!    - SIGTERM it: it drains (unready, finishes what it has, exits); the supervisor sees the
//!      exit and restarts it after its back-off;
//!    - wait until `up.json` shows the instance again with a new pid (the supervisor writes
//!      it only once the new process answers `/health/ready`, and registers it with the
//!      gateway at the same moment);
//!    - wait until the gateway lists it and its breaker says `ready` (`GET /admin/status`),
//!      so that the next instance is only stopped when this one takes traffic.
//! 3. Any step that takes longer than `--timeout` stops the restart with an error (exit 1);
//!    the instances already restarted stay restarted, the current one is put back in the
//!    registry if it was never stopped.
//!
//! Processes that are not behind the gateway (`idp`, `gateway`) are restarted the same way,
//! without the registry steps: they are single instances, so that is a restart with a gap.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use serde_json::Value;
use tokio::time::Instant;

use crate::cli::{CtlAction, CtlArgs, CtlRestartArgs};
use crate::config::Config;

pub async fn run(args: CtlArgs, config: Config) -> anyhow::Result<()> {
    match args.action {
        CtlAction::Restart(restart_args) => restart(restart_args, config).await,
    }
}

/// One process of `up.json`.
#[derive(Debug, Clone, PartialEq)]
struct Process {
    name: String,
    service: String,
    pid: i32,
    addr: SocketAddr,
}

/// What `up.json` says.
#[derive(Debug)]
struct UpState {
    supervisor: i32,
    processes: Vec<Process>,
    gateway_admin: Option<SocketAddr>,
}

fn parse_state(text: &str) -> anyhow::Result<UpState> {
    let v: Value = serde_json::from_str(text)?;
    let supervisor = v["pid"]
        .as_i64()
        .and_then(|p| i32::try_from(p).ok())
        .context("no supervisor pid")?;
    let mut processes = Vec::new();
    let mut gateway_admin = None;
    if let Some(map) = v["processes"].as_object() {
        for (name, p) in map {
            let (Some(service), Some(pid), Some(addr)) = (
                p["service"].as_str(),
                p["pid"].as_i64().and_then(|p| i32::try_from(p).ok()),
                p["addr"].as_str().and_then(|a| a.parse().ok()),
            ) else {
                continue;
            };
            if let Some(admin) = p["admin"].as_str().and_then(|a| a.parse().ok()) {
                gateway_admin = Some(admin);
            }
            processes.push(Process {
                name: name.clone(),
                service: service.to_owned(),
                pid,
                addr,
            });
        }
    }
    processes.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(UpState {
        supervisor,
        processes,
        gateway_admin,
    })
}

async fn read_state(file: &Path) -> anyhow::Result<UpState> {
    let text = tokio::fs::read_to_string(file).await.with_context(|| {
        format!(
            "no running `tis up` here: {} cannot be read (start `tis up`, or pass --data-dir)",
            file.display()
        )
    })?;
    parse_state(&text).with_context(|| format!("{} is not a `tis up` state file", file.display()))
}

fn alive(pid: i32) -> bool {
    kill(Pid::from_raw(pid), None).is_ok()
}

async fn restart(args: CtlRestartArgs, config: Config) -> anyhow::Result<()> {
    let data_dir: PathBuf = args.data_dir.unwrap_or(config.data_dir);
    let state_file = data_dir.join("run").join("up.json");
    let state = read_state(&state_file).await?;
    if !alive(state.supervisor) {
        bail!(
            "the `tis up` of {} (pid {}) is not running",
            state_file.display(),
            state.supervisor
        );
    }
    let targets: Vec<Process> = state
        .processes
        .iter()
        .filter(|p| p.service == args.service)
        .cloned()
        .collect();
    if targets.is_empty() {
        let mut services: Vec<&str> = state.processes.iter().map(|p| p.service.as_str()).collect();
        services.dedup();
        bail!(
            "no running instance of `{}` (running: {})",
            args.service,
            services.join(", ")
        );
    }
    // The gateway's admin listener takes registry changes only with the admin token that
    // `tis up` keeps in its data folder.
    let token =
        crate::up::announce::read_admin_token(&crate::up::prepare::admin_token_file(&data_dir))?;
    let mut headers = reqwest::header::HeaderMap::new();
    let mut bearer = reqwest::header::HeaderValue::from_str(&format!("Bearer {token}"))
        .context("the admin token is not a header value")?;
    bearer.set_sensitive(true);
    headers.insert(reqwest::header::AUTHORIZATION, bearer);
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(2))
        .default_headers(headers)
        .build()?;
    let gateway = match state.gateway_admin {
        Some(admin) if routed_by(&http, admin, &args.service).await => Some(admin),
        _ => None,
    };
    println!(
        "restarting {} instance(s) of {} one at a time{}",
        targets.len(),
        args.service,
        if gateway.is_some() {
            ", each out of the gateway's rotation while it restarts"
        } else {
            ""
        }
    );
    for old in &targets {
        let started = Instant::now();
        let deadline = started + args.timeout;
        if let Some(admin) = gateway {
            registry(&http, admin, reqwest::Method::DELETE, old).await?;
        }
        println!("{}: draining (SIGTERM to pid {})", old.name, old.pid);
        if let Err(e) = kill(Pid::from_raw(old.pid), Signal::SIGTERM) {
            if let Some(admin) = gateway {
                let _ = registry(&http, admin, reqwest::Method::PUT, old).await;
            }
            bail!("could not signal {} (pid {}): {e}", old.name, old.pid);
        }
        let new = wait_until(deadline, &format!("{} to come back", old.name), || async {
            let state = read_state(&state_file).await.ok()?;
            state
                .processes
                .into_iter()
                .find(|p| p.name == old.name && p.pid != old.pid)
        })
        .await?;
        if let Some(admin) = gateway {
            wait_until(
                deadline,
                &format!("the gateway to take {} at {} again", new.name, new.addr),
                || endpoint_ready(&http, admin, &new),
            )
            .await?;
        }
        println!(
            "{}: back as pid {} at {}, taking traffic after {:.1} s",
            new.name,
            new.pid,
            new.addr,
            started.elapsed().as_secs_f64()
        );
    }
    println!("{}: every instance restarted", args.service);
    Ok(())
}

/// Polls `check` every 50 ms until it gives a value or `deadline` passes.
async fn wait_until<T, F, Fut>(deadline: Instant, what: &str, mut check: F) -> anyhow::Result<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    loop {
        if let Some(v) = check().await {
            return Ok(v);
        }
        if Instant::now() >= deadline {
            bail!("timed out waiting for {what}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Whether the gateway's registry has instances of `service`.
async fn routed_by(http: &reqwest::Client, admin: SocketAddr, service: &str) -> bool {
    let Ok(res) = http
        .get(format!("http://{admin}/admin/registry"))
        .send()
        .await
    else {
        return false;
    };
    let Ok(v) = res.json::<Value>().await else {
        return false;
    };
    v[service].as_object().is_some_and(|m| !m.is_empty())
}

async fn registry(
    http: &reqwest::Client,
    admin: SocketAddr,
    method: reqwest::Method,
    p: &Process,
) -> anyhow::Result<()> {
    let url = format!("http://{admin}/admin/registry/{}/{}", p.service, p.name);
    let mut req = http.request(method.clone(), &url);
    if method == reqwest::Method::PUT {
        req = req.json(&serde_json::json!({ "addr": p.addr.to_string() }));
    }
    let res = req
        .send()
        .await
        .with_context(|| format!("the gateway's admin listener at {admin} is unreachable"))?;
    if !(res.status().is_success() || res.status() == reqwest::StatusCode::NOT_FOUND) {
        bail!("{method} {url}: the gateway answered {}", res.status());
    }
    Ok(())
}

/// Some(()) once the gateway has `p`'s address as a ready endpoint of its service.
async fn endpoint_ready(http: &reqwest::Client, admin: SocketAddr, p: &Process) -> Option<()> {
    let res = http
        .get(format!("http://{admin}/admin/status"))
        .send()
        .await
        .ok()?;
    let v: Value = res.json().await.ok()?;
    let addr = p.addr.to_string();
    let ready = v["services"]
        .as_array()?
        .iter()
        .filter(|s| s["service"] == p.service.as_str())
        .flat_map(|s| s["pools"].as_array().into_iter().flatten())
        .flat_map(|pool| pool["client"]["endpoints"].as_array().into_iter().flatten())
        .any(|e| e["address"] == addr.as_str() && e["state"] == "ready");
    ready.then_some(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_state_file_gives_instances_in_order_and_the_gateways_admin() {
        let state = parse_state(
            r#"{"pid": 10, "issuer": "http://x/realms/lin", "processes": {
                "reference-2": {"service": "reference", "addr": "127.0.0.1:2", "pid": 12},
                "gateway": {"service": "gateway", "addr": "127.0.0.1:8080", "admin": "127.0.0.1:8081", "pid": 13},
                "reference-1": {"service": "reference", "addr": "127.0.0.1:1", "pid": 11},
                "junk": {"service": "x"}
            }}"#,
        )
        .expect("parses");
        assert_eq!(state.supervisor, 10);
        let names: Vec<&str> = state.processes.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["gateway", "reference-1", "reference-2"]);
        assert_eq!(
            state.gateway_admin,
            Some("127.0.0.1:8081".parse().expect("addr"))
        );
        assert!(parse_state("{}").is_err());
    }
}
