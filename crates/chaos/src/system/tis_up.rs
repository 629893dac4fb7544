//! `tis up`, started by us or attached to, and its processes signalled for real.
//!
//! What we read is `run/up.json` (the supervisor keeps it current: a process is listed once
//! it is ready, with its pid, and removed when it goes down). What we do:
//!
//! - `kill`: `kill -9` the pid; with `hold = true`, `run/hold/<name>` is created first so the
//!   supervisor leaves it down, and we wait until the supervisor has noticed.
//! - `release`: remove the hold file, wait until the process is listed again (ready) and,
//!   for a service instance, until the gateway reports the service `ok` again.
//! - `stop` / `cont`: SIGSTOP / SIGCONT; every process we stopped is continued at the end.
//! - `restart`: SIGTERM (the process drains), wait for its replacement as for `release`.
//! - `rolling-restart`: `restart` each instance of each service in turn.
//!
//! When we start `tis up` ourselves it runs in a temporary folder, on ports we chose free, so
//! that a restarted identity provider or gateway comes back at the same address (tokens name
//! the issuer; the workload keeps its gateway URL). Its output goes to `up.log` there.

use std::collections::{BTreeMap, BTreeSet};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context, bail};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use serde::Deserialize;
use tis_core::service::{GATEWAY, IDP, PROFILE, REFERENCE};
use tokio::process::{Child, Command};
use tokio::time::Instant;

use crate::scenario::{Action, SystemSpec, Target};

/// How long `tis up` may take to have everything ready (debug builds on a busy machine).
const START_TIMEOUT: Duration = Duration::from_secs(180);
/// How long a restarted or released process may take to be ready and routed to again.
const BACK_TIMEOUT: Duration = Duration::from_secs(60);

/// `run/up.json`.
#[derive(Debug, Clone, Deserialize)]
pub struct UpState {
    pub pid: i32,
    pub issuer: String,
    pub processes: BTreeMap<String, ProcessState>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ProcessState {
    pub service: String,
    pub addr: String,
    pub pid: i32,
    #[serde(default)]
    pub admin: Option<String>,
}

/// A `tis up`, ours or attached.
pub struct TisUp {
    run_dir: PathBuf,
    /// Ours: the child and the folder it runs in.
    child: Option<Child>,
    dir: Option<tempfile::TempDir>,
    keep: bool,
    gateway: String,
    issuer: String,
    instances: u16,
    /// Processes we SIGSTOPped and have not continued.
    stopped: BTreeSet<i32>,
    /// Hold files we created and have not removed.
    held: BTreeSet<String>,
    http: reqwest::Client,
}

fn free_port() -> anyhow::Result<u16> {
    let l = TcpListener::bind("127.0.0.1:0").context("finding a free port")?;
    Ok(l.local_addr()?.port())
}

fn signal(pid: i32, sig: Signal) -> anyhow::Result<()> {
    kill(Pid::from_raw(pid), sig).with_context(|| format!("{sig} to pid {pid}"))
}

impl TisUp {
    /// Starts `tis up --instances N` in a temporary folder and waits until it is ready.
    pub async fn start(
        exe: &Path,
        instances: u16,
        env: &[(String, String)],
        keep: bool,
    ) -> anyhow::Result<TisUp> {
        let dir = tempfile::Builder::new()
            .prefix("tis-chaos-")
            .tempdir()
            .context("creating a temporary folder")?;
        let data_dir = dir.path().join("data");
        let log = std::fs::File::create(dir.path().join("up.log"))?;
        let mut ports = BTreeSet::new();
        while ports.len() < 3 {
            ports.insert(free_port()?);
        }
        let ports: Vec<u16> = ports.into_iter().collect();
        let mut cmd = Command::new(exe);
        cmd.arg("up")
            .arg("--data-dir")
            .arg(&data_dir)
            .arg("--instances")
            .arg(instances.to_string())
            .env("TIS_IDP__LISTEN", format!("127.0.0.1:{}", ports[0]))
            .env("TIS_GATEWAY__LISTEN", format!("127.0.0.1:{}", ports[1]))
            .env(
                "TIS_GATEWAY__ADMIN_LISTEN",
                format!("127.0.0.1:{}", ports[2]),
            )
            .env("TIS_LOG__LEVEL", "warn")
            .env("TIS_LOG__FORMAT", "json")
            .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            // Ctrl-C at the terminal reaches us, and we stop it in order.
            .process_group(0)
            .kill_on_drop(true);
        let child = cmd
            .spawn()
            .with_context(|| format!("starting {} up", exe.display()))?;
        let mut up = TisUp {
            run_dir: data_dir.join("run"),
            child: Some(child),
            dir: Some(dir),
            keep,
            gateway: format!("127.0.0.1:{}", ports[1]),
            issuer: String::new(),
            instances,
            stopped: BTreeSet::new(),
            held: BTreeSet::new(),
            http: http_client(),
        };
        if let Err(err) = up.wait_started().await {
            let tail = up.log_tail();
            up.stop().await;
            return Err(err.context(format!("tis up did not start; its log ends:\n{tail}")));
        }
        Ok(up)
    }

    /// Attaches to the `tis up` running on `data_dir`.
    pub async fn attach(data_dir: &Path, spec: &SystemSpec) -> anyhow::Result<TisUp> {
        let run_dir = data_dir.join("run");
        let text = std::fs::read_to_string(run_dir.join("up.json")).with_context(|| {
            format!(
                "no running tis up on {} (run/up.json is missing)",
                data_dir.display()
            )
        })?;
        let state: UpState = serde_json::from_str(&text).context("reading run/up.json")?;
        if kill(Pid::from_raw(state.pid), None).is_err() {
            bail!("run/up.json names pid {}, which is not running", state.pid);
        }
        let gateway = state
            .processes
            .get(GATEWAY)
            .map(|g| g.addr.clone())
            .context("the attached tis up has no ready gateway")?;
        for service in [REFERENCE, PROFILE] {
            let name = format!("{service}-{}", spec.instances);
            if !state.processes.contains_key(&name) {
                bail!(
                    "the scenario needs {} instances of each service, and {name} is not running \
                     (start tis up --instances {})",
                    spec.instances,
                    spec.instances
                );
            }
        }
        let up = TisUp {
            run_dir,
            child: None,
            dir: None,
            keep: true,
            gateway,
            issuer: state.issuer.clone(),
            instances: spec.instances,
            stopped: BTreeSet::new(),
            held: BTreeSet::new(),
            http: http_client(),
        };
        up.wait_status_ok(Duration::from_secs(30)).await?;
        Ok(up)
    }

    pub fn gateway_addr(&self) -> &str {
        &self.gateway
    }

    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    pub fn run_dir(&self) -> &Path {
        &self.run_dir
    }

    /// The gateway's admin token (`keys/admin.token` in the data folder): its admin
    /// listener takes registry changes only with it.
    pub fn admin_token(&self) -> anyhow::Result<String> {
        let file = self.run_dir.join("../keys/admin.token");
        let text = std::fs::read_to_string(&file)
            .with_context(|| format!("reading the gateway's admin token {}", file.display()))?;
        Ok(text.trim().to_owned())
    }

    /// The folder we started `tis up` in (None when attached).
    pub fn folder(&self) -> Option<&Path> {
        self.dir.as_ref().map(|d| d.path())
    }

    /// Keep the folder after the run (its `up.log` explains a failure).
    pub fn keep_folder(&mut self) {
        self.keep = true;
    }

    /// The current `run/up.json`.
    pub fn state(&self) -> anyhow::Result<UpState> {
        let path = self.run_dir.join("up.json");
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("reading {}", path.display()))?;
        Ok(serde_json::from_str(&text)?)
    }

    fn pid_of(&self, name: &str) -> anyhow::Result<i32> {
        self.state()?
            .processes
            .get(name)
            .map(|p| p.pid)
            .with_context(|| format!("{name} is not running (not ready in run/up.json)"))
    }

    fn log_tail(&self) -> String {
        let Some(dir) = &self.dir else {
            return String::new();
        };
        let text = std::fs::read_to_string(dir.path().join("up.log")).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }

    async fn wait_started(&mut self) -> anyhow::Result<()> {
        let deadline = Instant::now() + START_TIMEOUT;
        let mut names = vec![IDP.to_owned(), GATEWAY.to_owned()];
        for i in 1..=self.instances {
            names.push(format!("{REFERENCE}-{i}"));
            names.push(format!("{PROFILE}-{i}"));
        }
        loop {
            if let Some(child) = &mut self.child
                && let Some(status) = child.try_wait()?
            {
                bail!("tis up exited: {status}");
            }
            if let Ok(state) = self.state()
                && names.iter().all(|n| state.processes.contains_key(n))
            {
                self.issuer = state.issuer;
                break;
            }
            if Instant::now() >= deadline {
                bail!("not every process was ready within {START_TIMEOUT:?}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        self.wait_status_ok(deadline.saturating_duration_since(Instant::now()))
            .await
    }

    /// Waits until the gateway's `/api/status` is `ok` overall.
    async fn wait_status_ok(&self, within: Duration) -> anyhow::Result<()> {
        self.wait_capability("overall", "ok", within).await
    }

    /// Waits until `/api/status` shows `capability` (`overall` for the top level) at `level`.
    pub async fn wait_capability(
        &self,
        capability: &str,
        level: &str,
        within: Duration,
    ) -> anyhow::Result<()> {
        let deadline = Instant::now() + within;
        let url = format!("http://{}/api/status", self.gateway);
        let mut last = String::from("no answer");
        loop {
            if let Ok(res) = self.http.get(&url).send().await
                && let Ok(status) = res.json::<serde_json::Value>().await
            {
                let now = capability_level(&status, capability);
                if now.as_deref() == Some(level) {
                    return Ok(());
                }
                last = status.to_string();
            }
            if Instant::now() >= deadline {
                bail!("/api/status did not show {capability} {level} within {within:?}: {last}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The process names `target` stands for.
    pub fn resolve(&self, target: &str) -> anyhow::Result<Vec<String>> {
        Ok(
            match Target::parse(target).map_err(|e| anyhow::anyhow!(e))? {
                Target::Process(name) => vec![name],
                Target::Service(s) => (1..=self.instances).map(|i| format!("{s}-{i}")).collect(),
            },
        )
    }

    /// Carries out a process action.
    pub async fn act(&mut self, action: &Action) -> anyhow::Result<()> {
        match action {
            Action::Kill { target, hold } => {
                let names = self.resolve(target)?;
                let mut killed = Vec::new();
                for name in &names {
                    if *hold {
                        self.hold(name)?;
                    }
                    let pid = self.pid_of(name)?;
                    signal(pid, Signal::SIGKILL)?;
                    killed.push((name.clone(), pid));
                }
                if *hold {
                    // Until the supervisor has seen them go, the gateway still routes to them.
                    for (name, pid) in killed {
                        self.wait_gone(&name, pid).await?;
                    }
                }
                Ok(())
            }
            Action::Stop { target } => {
                for name in self.resolve(target)? {
                    let pid = self.pid_of(&name)?;
                    signal(pid, Signal::SIGSTOP)?;
                    self.stopped.insert(pid);
                }
                Ok(())
            }
            Action::Cont { target } => {
                for name in self.resolve(target)? {
                    let pid = self.pid_of(&name)?;
                    signal(pid, Signal::SIGCONT)?;
                    self.stopped.remove(&pid);
                }
                Ok(())
            }
            Action::Restart { target } => {
                for name in self.resolve(target)? {
                    self.restart(&name).await?;
                }
                Ok(())
            }
            Action::Release { target } => {
                for name in self.resolve(target)? {
                    self.release(&name)?;
                }
                for name in self.resolve(target)? {
                    self.wait_back(&name, None).await?;
                }
                Ok(())
            }
            Action::RollingRestart { services } => {
                for service in services {
                    for i in 1..=self.instances {
                        self.restart(&format!("{service}-{i}")).await?;
                    }
                }
                Ok(())
            }
            other => bail!(
                "`{}` needs a part of the system that tis up does not run",
                other.describe()
            ),
        }
    }

    fn hold(&mut self, name: &str) -> anyhow::Result<()> {
        let dir = self.run_dir.join("hold");
        std::fs::create_dir_all(&dir)?;
        std::fs::write(dir.join(name), b"tis chaos\n")?;
        self.held.insert(name.to_owned());
        Ok(())
    }

    fn release(&mut self, name: &str) -> anyhow::Result<()> {
        let file = self.run_dir.join("hold").join(name);
        match std::fs::remove_file(&file) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e).with_context(|| format!("removing {}", file.display())),
        }
        self.held.remove(name);
        Ok(())
    }

    /// SIGTERM (drain), then wait for the replacement.
    async fn restart(&mut self, name: &str) -> anyhow::Result<()> {
        let pid = self.pid_of(name)?;
        signal(pid, Signal::SIGTERM)?;
        self.wait_back(name, Some(pid)).await
    }

    /// Waits until `name` is no longer listed with `pid`.
    async fn wait_gone(&self, name: &str, pid: i32) -> anyhow::Result<()> {
        let deadline = Instant::now() + BACK_TIMEOUT;
        loop {
            let state = self.state()?;
            if state.processes.get(name).is_none_or(|p| p.pid != pid) {
                return Ok(());
            }
            if Instant::now() >= deadline {
                bail!("tis up did not notice that {name} (pid {pid}) died");
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Waits until `name` is listed (ready) with a pid other than `old`, and, for a service
    /// instance, until the gateway reports the service `ok`.
    async fn wait_back(&self, name: &str, old: Option<i32>) -> anyhow::Result<()> {
        let deadline = Instant::now() + BACK_TIMEOUT;
        let service = loop {
            if let Ok(state) = self.state()
                && let Some(p) = state.processes.get(name)
                && Some(p.pid) != old
            {
                break p.service.clone();
            }
            if Instant::now() >= deadline {
                bail!("{name} was not back within {BACK_TIMEOUT:?}");
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        match service.as_str() {
            REFERENCE | PROFILE => {
                self.wait_capability(
                    &format!("service:{service}"),
                    "ok",
                    deadline.saturating_duration_since(Instant::now()),
                )
                .await
            }
            GATEWAY => self.wait_answering(deadline).await,
            _ => Ok(()),
        }
    }

    /// Waits until the gateway answers `/api/status` at all (whatever it says).
    async fn wait_answering(&self, deadline: Instant) -> anyhow::Result<()> {
        let url = format!("http://{}/api/status", self.gateway);
        loop {
            if let Ok(res) = self.http.get(&url).send().await
                && res.status().is_success()
            {
                return Ok(());
            }
            if Instant::now() >= deadline {
                bail!("the gateway did not answer {url} again within {BACK_TIMEOUT:?}");
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Continues what we stopped, lifts our holds, and stops `tis up` when it is ours.
    pub async fn stop(&mut self) {
        for pid in std::mem::take(&mut self.stopped) {
            let _ = signal(pid, Signal::SIGCONT);
        }
        for name in self.held.clone() {
            let _ = self.release(&name);
        }
        if let Some(mut child) = self.child.take() {
            if let Some(pid) = child.id().and_then(|p| i32::try_from(p).ok()) {
                let _ = signal(pid, Signal::SIGTERM);
            }
            if tokio::time::timeout(Duration::from_secs(30), child.wait())
                .await
                .is_err()
            {
                let _ = child.start_kill();
                let _ = child.wait().await;
            }
        }
        if self.keep
            && let Some(dir) = self.dir.take()
        {
            let _ = dir.keep();
        }
    }
}

impl Drop for TisUp {
    fn drop(&mut self) {
        for pid in &self.stopped {
            let _ = signal(*pid, Signal::SIGCONT);
        }
        for name in &self.held {
            let _ = std::fs::remove_file(self.run_dir.join("hold").join(name));
        }
    }
}

fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(2))
        .build()
        .expect("an HTTP client with default TLS settings")
}

/// The level of `capability` (`overall` for the top level) in an `/api/status` document.
pub fn capability_level(status: &serde_json::Value, capability: &str) -> Option<String> {
    if capability == "overall" {
        return status["status"].as_str().map(str::to_owned);
    }
    status["capabilities"]
        .as_array()?
        .iter()
        .find(|c| c["id"] == capability)
        .and_then(|c| c["status"].as_str())
        .map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capability_levels_are_read_from_the_public_status() {
        let status = serde_json::json!({
            "status": "degraded",
            "capabilities": [
                {"id": "login", "status": "ok", "reason": "People can log in."},
                {"id": "service:reference", "status": "degraded", "reason": "1 of 2"},
            ]
        });
        assert_eq!(
            capability_level(&status, "overall").as_deref(),
            Some("degraded")
        );
        assert_eq!(capability_level(&status, "login").as_deref(), Some("ok"));
        assert_eq!(
            capability_level(&status, "service:reference").as_deref(),
            Some("degraded")
        );
        assert_eq!(capability_level(&status, "service:profile"), None);
        assert_eq!(capability_level(&serde_json::json!("oops"), "login"), None);
    }

    #[test]
    fn up_json_is_read_as_tis_up_writes_it() {
        let state: UpState = serde_json::from_str(
            r#"{"issuer": "http://127.0.0.1:1/realms/lin", "pid": 7, "processes": {
                "gateway": {"addr": "127.0.0.1:2", "admin": "127.0.0.1:3", "pid": 8, "service": "gateway"},
                "reference-1": {"addr": "127.0.0.1:4", "pid": 9, "service": "reference"}}}"#,
        )
        .expect("up.json");
        assert_eq!(
            state.processes["gateway"].admin.as_deref(),
            Some("127.0.0.1:3")
        );
        assert_eq!(state.processes["reference-1"].pid, 9);
    }
}
