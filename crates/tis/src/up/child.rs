//! One supervised process: start it, learn its address, wait until it is ready, watch it,
//! restart it with back-off when it dies, and stop it (SIGTERM, then SIGKILL) on request.
//!
//! Back-off: the first restart waits `restart_backoff`; each crash in a row doubles the wait
//! up to `restart_backoff_max`, with ±20 % jitter so that siblings do not restart in step. A
//! process that stayed up for `stable_after` is considered healthy again and its next crash
//! restarts it after the initial wait.
//!
//! Holding a process down: while `run/hold/<name>` exists, a process that exits is not
//! restarted; removing the file restarts it at once. Nothing but the file's presence is read,
//! so a tool (`tis chaos`) or a person (`touch .tis/run/hold/idp`) can keep a component down
//! for as long as an outage should last, and the supervisor still restarts everything else.

use std::ffi::OsString;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use tokio::process::{Child, Command};
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

use crate::config::UpConfig;

/// How to start one process.
#[derive(Debug, Clone)]
pub struct ChildSpec {
    /// Unique, e.g. `reference-1`.
    pub name: String,
    /// The service it runs, e.g. `reference`.
    pub service: String,
    /// Its arguments, `--config run/<name>.toml` among them: that file is all the
    /// configuration it reads (it inherits no `TIS_…` variable).
    pub args: Vec<OsString>,
}

/// What the supervisor learns about its processes.
#[derive(Debug, Clone)]
pub enum Event {
    Ready {
        name: String,
        service: String,
        addr: SocketAddr,
        /// Other listeners it announced, e.g. the gateway's `admin`.
        others: Vec<(String, SocketAddr)>,
        pid: u32,
    },
    Down {
        name: String,
        service: String,
        addr: Option<SocketAddr>,
        reason: String,
    },
    /// The process could not be started at all (a bad binary path, a bad configuration).
    Failed { name: String, reason: String },
}

/// Supervises `spec` until `stop` turns true.
pub async fn supervise(
    spec: ChildSpec,
    exe: PathBuf,
    run_dir: PathBuf,
    cfg: UpConfig,
    events: mpsc::UnboundedSender<Event>,
    mut stop: watch::Receiver<bool>,
) {
    let announce = run_dir.join(format!("{}.addr", spec.name));
    let mut backoff = cfg.restart_backoff;
    loop {
        if *stop.borrow() {
            return;
        }
        let _ = std::fs::remove_file(&announce);
        let started = Instant::now();
        let mut child = match start(&spec, &exe, &announce) {
            Ok(child) => child,
            Err(err) => {
                let _ = events.send(Event::Failed {
                    name: spec.name.clone(),
                    reason: format!("{err:#}"),
                });
                return;
            }
        };
        let pid = child.id();
        tracing::info!(process.name = %spec.name, process.pid = pid, "started");

        let outcome = tokio::select! {
            biased;
            _ = stop.changed() => None,
            status = child.wait() => {
                // Exit code 2 is an invalid configuration: restarting cannot help.
                if let Ok(s) = &status
                    && s.code() == Some(tis_core::config::EXIT_CONFIG)
                {
                    let _ = events.send(Event::Failed {
                        name: spec.name.clone(),
                        reason: "its configuration is invalid (exit code 2); see its error above".into(),
                    });
                    return;
                }
                Some(Err(status.map_or_else(|e| e.to_string(), describe)))
            }
            ready = wait_ready(&announce, cfg.ready_timeout) => Some(ready),
        };
        let addr = match outcome {
            None => {
                terminate(&mut child, cfg.stop_timeout).await;
                return;
            }
            Some(Ok((addr, others))) => {
                let _ = events.send(Event::Ready {
                    name: spec.name.clone(),
                    service: spec.service.clone(),
                    addr,
                    others,
                    pid: pid.unwrap_or_default(),
                });
                Some(addr)
            }
            Some(Err(reason)) => {
                tracing::warn!(process.name = %spec.name, reason, "did not become ready");
                kill_now(&mut child).await;
                None
            }
        };

        if addr.is_some() {
            tokio::select! {
                biased;
                _ = stop.changed() => {
                    terminate(&mut child, cfg.stop_timeout).await;
                    let _ = events.send(Event::Down { name: spec.name.clone(), service: spec.service.clone(), addr, reason: "stopped".into() });
                    return;
                }
                status = child.wait() => {
                    let reason = status.map_or_else(|e| e.to_string(), describe);
                    tracing::warn!(process.name = %spec.name, reason, "exited; will restart");
                    let _ = events.send(Event::Down { name: spec.name.clone(), service: spec.service.clone(), addr, reason });
                }
            }
        }

        if started.elapsed() >= cfg.stable_after {
            backoff = cfg.restart_backoff;
        }
        if held(&run_dir, &spec.name) {
            tracing::info!(process.name = %spec.name, "held down; not restarting until released");
            if !wait_released(&run_dir, &spec.name, &mut stop).await {
                return;
            }
            // A deliberate outage is not a crash loop: restart at once.
            tracing::info!(process.name = %spec.name, "released; restarting");
            backoff = cfg.restart_backoff;
            continue;
        }
        let wait = jitter(backoff);
        tracing::info!(process.name = %spec.name, restart_in = ?wait, "restarting after back-off");
        tokio::select! {
            _ = stop.changed() => return,
            () = tokio::time::sleep(wait) => {}
        }
        backoff = (backoff * 2).min(cfg.restart_backoff_max);
    }
}

/// The file whose presence keeps `name` down: `run/hold/<name>`. `tis chaos` creates it
/// before it kills a process it wants to stay down (an identity provider outage, every
/// instance of a service), and removes it to let the process come back.
pub fn hold_file(run_dir: &Path, name: &str) -> PathBuf {
    run_dir.join("hold").join(name)
}

fn held(run_dir: &Path, name: &str) -> bool {
    hold_file(run_dir, name).exists()
}

/// Waits until the hold on `name` is lifted (true) or the supervisor stops (false).
async fn wait_released(run_dir: &Path, name: &str, stop: &mut watch::Receiver<bool>) -> bool {
    while held(run_dir, name) {
        tokio::select! {
            _ = stop.changed() => return false,
            () = tokio::time::sleep(Duration::from_millis(50)) => {}
        }
    }
    !*stop.borrow()
}

fn start(spec: &ChildSpec, exe: &Path, announce: &Path) -> anyhow::Result<Child> {
    let mut cmd = Command::new(exe);
    // Our `TIS_…` settings are in the child's configuration file already, merged with the
    // rest; inherited, they would override the child's own settings in that file.
    for (key, _) in std::env::vars_os() {
        if key
            .as_encoded_bytes()
            .starts_with(tis_core::config::ENV_PREFIX.as_bytes())
        {
            cmd.env_remove(key);
        }
    }
    cmd.args(&spec.args)
        .arg("--announce-to")
        .arg(announce)
        .arg("--supervisor-pid")
        .arg(std::process::id().to_string())
        .stdin(Stdio::null())
        // Its own process group: Ctrl-C reaches the supervisor only, which stops children in order.
        .process_group(0)
        .kill_on_drop(true);
    Ok(cmd.spawn()?)
}

/// Waits for the announce file, then for `/health/ready` to answer 200.
async fn wait_ready(
    announce: &Path,
    timeout: Duration,
) -> Result<(SocketAddr, Vec<(String, SocketAddr)>), String> {
    let deadline = Instant::now() + timeout;
    let (addr, others) = loop {
        if let Ok(text) = tokio::fs::read_to_string(announce).await
            && let Some(found) = crate::supervised::parse_announcement(&text)
        {
            break found;
        }
        if Instant::now() >= deadline {
            return Err(format!("did not announce its address within {timeout:?}"));
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(1))
        .build()
        .map_err(|e| e.to_string())?;
    let url = format!("http://{addr}/health/ready");
    loop {
        if let Ok(res) = client.get(&url).send().await
            && res.status().is_success()
        {
            return Ok((addr, others));
        }
        if Instant::now() >= deadline {
            return Err(format!("not ready within {timeout:?} at {url}"));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// SIGTERM, then SIGKILL after `timeout`.
async fn terminate(child: &mut Child, timeout: Duration) {
    if let Some(pid) = child.id().and_then(|p| i32::try_from(p).ok()) {
        let _ = kill(Pid::from_raw(pid), Signal::SIGTERM);
    }
    if tokio::time::timeout(timeout, child.wait()).await.is_err() {
        tracing::warn!(timeout = ?timeout, "did not stop in time; killing");
        kill_now(child).await;
    }
}

async fn kill_now(child: &mut Child) {
    let _ = child.start_kill();
    let _ = child.wait().await;
}

fn describe(status: std::process::ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exited with code {code}"),
        (None, Some(sig)) => format!("killed by signal {sig}"),
        _ => status.to_string(),
    }
}

fn jitter(d: Duration) -> Duration {
    d.mul_f64(0.8 + 0.4 * fastrand::f64())
}
