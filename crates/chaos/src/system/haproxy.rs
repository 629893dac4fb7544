//! Two gateways with HAProxy in front: `tis up`'s gateway, `gateway-2` (started by `tis
//! chaos` with the same settings, a copy of the gateway's `run/gateway.toml`), and HAProxy (Debian's
//! `haproxy` package) on a free port balancing both, where the workload goes.
//!
//! HAProxy checks each gateway's `/health/ready` every 200 ms (`fall 2 rise 1`, `timeout
//! check 2s`): a gateway that is draining answers 503 there at once and keeps serving for its
//! drain delay, so HAProxy stops sending (after two 503s, ~0.4 s) before it stops listening;
//! a check that is merely slow (a busy machine) does not take a gateway out, or both at once. A connection refused or closed without
//! an answer is retried on the other gateway (`retry-on conn-failure empty-response`,
//! `option redispatch`).
//!
//! `gateway-2` has its own in-memory registry: we register every service instance of
//! `tis up` with it (as `tis up` does with its own), again after each restart of it.
//! Actions on `gateway-2`: `restart` (SIGTERM, it drains; started again on the same ports),
//! `kill`, `stop`, `cont`.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context, bail};
use futures::future::BoxFuture;
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use tis_core::service::{GATEWAY, IDP};
use tokio::process::{Child, Command};

use super::{Extension, TisUp, sibling};
use crate::scenario::Action;

pub const NAME: &str = "gateway-2";

pub struct TwoGateways {
    tis_exe: PathBuf,
    /// HAProxy's port, chosen before `tis up` starts.
    front: u16,
    /// gateway-2's listeners, fixed so that a restart comes back at the same place.
    listen: u16,
    admin: u16,
    /// gateway-2's configuration file: a copy of the gateway's, with its own keys file.
    config_file: Option<PathBuf>,
    run_dir: Option<PathBuf>,
    gateway2: Option<Child>,
    haproxy: Option<Child>,
    folder: Option<tempfile::TempDir>,
    http: reqwest::Client,
}

fn free_port() -> anyhow::Result<u16> {
    let l = std::net::TcpListener::bind("127.0.0.1:0").context("finding a free port")?;
    Ok(l.local_addr()?.port())
}

fn pid_of(child: &Option<Child>) -> anyhow::Result<i32> {
    child
        .as_ref()
        .and_then(Child::id)
        .and_then(|p| i32::try_from(p).ok())
        .context("gateway-2 is not running")
}

impl TwoGateways {
    pub fn new(tis_exe: &Path) -> anyhow::Result<TwoGateways> {
        let out = std::process::Command::new("haproxy").arg("-v").output();
        if !out.is_ok_and(|o| o.status.success()) {
            bail!(
                "two gateways need HAProxy in front: install the Debian package `haproxy` \
                 (no `haproxy` on PATH)"
            );
        }
        let mut ports = std::collections::BTreeSet::new();
        while ports.len() < 3 {
            ports.insert(free_port()?);
        }
        let ports: Vec<u16> = ports.into_iter().collect();
        Ok(TwoGateways {
            tis_exe: tis_exe.to_path_buf(),
            front: ports[0],
            listen: ports[1],
            admin: ports[2],
            config_file: None,
            run_dir: None,
            gateway2: None,
            haproxy: None,
            folder: None,
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(2))
                .build()?,
        })
    }

    /// Starts gateway-2 and registers every service instance with it.
    async fn start_gateway2(&mut self, up: &TisUp) -> anyhow::Result<()> {
        let run_dir = self.run_dir.clone().context("not started")?;
        let announce = run_dir.join(format!("{NAME}.addr"));
        let _ = std::fs::remove_file(&announce);
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(run_dir.join(format!("{NAME}.log")))?;
        let config_file = self.config_file.clone().context("not started")?;
        let mut child = Command::new(&self.tis_exe)
            .arg(GATEWAY)
            .arg("--config")
            .arg(&config_file)
            .arg("--listen")
            .arg(format!("127.0.0.1:{}", self.listen))
            .arg("--admin-listen")
            .arg(format!("127.0.0.1:{}", self.admin))
            .arg("--announce-to")
            .arg(&announce)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .kill_on_drop(true)
            .spawn()
            .context("starting gateway-2")?;
        let ready = sibling::wait_ready(
            NAME,
            &mut child,
            &announce,
            &self.http,
            Duration::from_secs(60),
        )
        .await;
        self.gateway2 = Some(child);
        ready.with_context(|| format!("see run/{NAME}.log"))?;
        let token = up.admin_token()?;
        for (name, p) in &up.state()?.processes {
            // Every process of `tis up` but these two is a service instance.
            if matches!(p.service.as_str(), IDP | GATEWAY) {
                continue;
            }
            let url = format!(
                "http://127.0.0.1:{}/admin/registry/{}/{name}",
                self.admin, p.service
            );
            let res = self
                .http
                .put(&url)
                .bearer_auth(&token)
                .json(&serde_json::json!({ "addr": p.addr }))
                .send()
                .await
                .with_context(|| format!("registering {name} with gateway-2"))?;
            if !res.status().is_success() {
                bail!("gateway-2 refused to register {name}: {}", res.status());
            }
        }
        // Ready once it routes to every service (its pools see the instances ready).
        let status = format!("http://127.0.0.1:{}/api/status", self.listen);
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(res) = self.http.get(&status).send().await
                && let Ok(v) = res.json::<serde_json::Value>().await
                && ["service:reference", "service:profile"]
                    .iter()
                    .all(|c| super::tis_up::capability_level(&v, c).as_deref() == Some("ok"))
            {
                return Ok(());
            }
            if tokio::time::Instant::now() >= deadline {
                bail!("gateway-2 did not route to every service within 30 s");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn start_haproxy(&mut self, gateway1: &str) -> anyhow::Result<()> {
        let folder = tempfile::Builder::new()
            .prefix("tis-chaos-haproxy-")
            .tempdir()?;
        let cfg = folder.path().join("haproxy.cfg");
        std::fs::write(
            &cfg,
            format!(
                "global\n  maxconn 4096\n\n\
                 defaults\n  mode http\n  timeout connect 1s\n  timeout client 60s\n  \
                 timeout server 30s\n  timeout check 2s\n  retries 3\n  option redispatch 1\n  \
                 retry-on conn-failure empty-response\n\n\
                 frontend tis\n  bind 127.0.0.1:{front}\n  default_backend gateways\n\n\
                 backend gateways\n  balance roundrobin\n  \
                 option httpchk GET /health/ready\n  http-check expect status 200\n  \
                 default-server inter 200ms fall 2 rise 1\n  \
                 server gateway {gateway1} check\n  server gateway-2 127.0.0.1:{listen} check\n",
                front = self.front,
                listen = self.listen,
            ),
        )?;
        let log = std::fs::File::create(folder.path().join("haproxy.log"))?;
        let mut child = Command::new("haproxy")
            .arg("-db")
            .arg("-f")
            .arg(&cfg)
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .kill_on_drop(true)
            .spawn()
            .context("starting haproxy")?;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
        let url = format!("http://127.0.0.1:{}/api/status", self.front);
        loop {
            if let Ok(res) = self.http.get(&url).send().await
                && res.status().is_success()
            {
                break;
            }
            if let Some(status) = child.try_wait()? {
                bail!(
                    "haproxy exited: {status}: {}",
                    std::fs::read_to_string(folder.path().join("haproxy.log")).unwrap_or_default()
                );
            }
            if tokio::time::Instant::now() >= deadline {
                bail!("haproxy did not answer on port {} within 15 s", self.front);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        self.haproxy = Some(child);
        self.folder = Some(folder);
        Ok(())
    }

    async fn stop_gateway2(&mut self, sig: Signal) {
        if let Some(mut child) = self.gateway2.take() {
            if let Some(pid) = child.id().and_then(|p| i32::try_from(p).ok()) {
                let _ = kill(Pid::from_raw(pid), Signal::SIGCONT);
                let _ = kill(Pid::from_raw(pid), sig);
            }
            if tokio::time::timeout(Duration::from_secs(30), child.wait())
                .await
                .is_err()
            {
                let _ = child.start_kill();
                let _ = child.wait().await;
            }
        }
    }
}

impl Extension for TwoGateways {
    fn name(&self) -> &str {
        "haproxy"
    }

    fn after_up<'a>(&'a mut self, up: &'a TisUp) -> BoxFuture<'a, anyhow::Result<()>> {
        Box::pin(async move {
            let state = up.state()?;
            let gateway = state
                .processes
                .get(GATEWAY)
                .context("tis up's gateway is not ready")?;
            let mut config = sibling::tis_config(gateway.pid)?;
            sibling::own_keys_file(&mut config, "gateway.auth.keys_file", NAME);
            self.config_file = Some(sibling::write_config(up.run_dir(), NAME, &config)?);
            self.run_dir = Some(up.run_dir().to_path_buf());
            self.start_gateway2(up).await?;
            let gateway1 = up.gateway_addr().to_owned();
            self.start_haproxy(&gateway1).await
        })
    }

    fn entry(&self) -> Option<String> {
        Some(format!("http://127.0.0.1:{}", self.front))
    }

    fn handles(&self, action: &Action) -> bool {
        match action {
            Action::Kill { target, .. }
            | Action::Stop { target }
            | Action::Cont { target }
            | Action::Restart { target }
            | Action::Release { target } => target == NAME,
            _ => false,
        }
    }

    fn act<'a>(
        &'a mut self,
        action: &'a Action,
        up: &'a TisUp,
    ) -> BoxFuture<'a, anyhow::Result<()>> {
        Box::pin(async move {
            match action {
                Action::Restart { .. } => {
                    self.stop_gateway2(Signal::SIGTERM).await;
                    self.start_gateway2(up).await
                }
                Action::Kill { hold, .. } => {
                    kill(Pid::from_raw(pid_of(&self.gateway2)?), Signal::SIGKILL)?;
                    self.stop_gateway2(Signal::SIGKILL).await;
                    if *hold {
                        Ok(())
                    } else {
                        self.start_gateway2(up).await
                    }
                }
                Action::Release { .. } => {
                    if self.gateway2.is_none() {
                        self.start_gateway2(up).await?;
                    }
                    Ok(())
                }
                Action::Stop { .. } => {
                    kill(Pid::from_raw(pid_of(&self.gateway2)?), Signal::SIGSTOP)?;
                    Ok(())
                }
                Action::Cont { .. } => {
                    kill(Pid::from_raw(pid_of(&self.gateway2)?), Signal::SIGCONT)?;
                    Ok(())
                }
                other => bail!("not a gateway-2 action: {}", other.describe()),
            }
        })
    }

    fn stop(&mut self) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            if let Some(mut h) = self.haproxy.take() {
                let _ = h.start_kill();
                let _ = h.wait().await;
            }
            self.stop_gateway2(Signal::SIGTERM).await;
        })
    }
}

/// For messages about where HAProxy listens.
impl std::fmt::Debug for TwoGateways {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TwoGateways")
            .field("front", &SocketAddr::from(([127, 0, 0, 1], self.front)))
            .field(
                "gateway-2",
                &SocketAddr::from(([127, 0, 0, 1], self.listen)),
            )
            .finish()
    }
}
