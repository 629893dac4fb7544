//! The partition mode: one more Reference instance, `reference-ns`, in its own network
//! namespace joined to ours by a veth pair, so that its link can be cut for real.
//!
//! ```text
//!   root namespace                         tischaos-XXXX namespace
//!   gateway, tis up's instances            reference-ns (tis serve reference)
//!   tcxXXXXh 10.213.N.1/30  <── veth ──>   tcxXXXXn 10.213.N.2/30
//! ```
//!
//! `reference-ns` runs with the same settings `tis up` gave `reference-1` (read from its
//! `/proc/<pid>/environ`: the same SQLite database file, the same principal key), listening on
//! the namespace's address; we register it with the gateway's registry as `tis up` registers
//! its own. Its own copy of the identity provider's keys is the last-good file of
//! `reference-1` (the provider, on the host's loopback, is out of its reach).
//!
//! - `partition`: a blackhole route to our end inside the namespace: every answer of the
//!   instance is dropped in silence, as on a cut network (not refused: connections and
//!   requests hang until timeouts).
//! - `heal`: the route removed.
//!
//! Needs root (`ip netns`, `tc`); without it the scenario is reported as not run. SQLite mode
//! only: a PostgreSQL on the host's loopback is out of the namespace's reach.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context, bail};
use futures::future::BoxFuture;
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use tis_core::service::{GATEWAY, REFERENCE};
use tokio::process::{Child, Command};

use super::{Extension, TisUp, sibling};
use crate::scenario::Action;

/// The process name scenarios use.
pub const NAME: &str = "reference-ns";

/// The namespace, the link and the instance in it.
pub struct Partition {
    tis_exe: PathBuf,
    netns: String,
    host_if: String,
    ns_if: String,
    host_ip: String,
    ns_ip: String,
    child: Option<Child>,
    addr: Option<SocketAddr>,
    /// The gateway's admin address and token, once reference-ns is registered there.
    gateway_admin: Option<(String, String)>,
    cut: bool,
    http: reqwest::Client,
}

async fn ip(args: &[&str]) -> anyhow::Result<()> {
    sh("ip", args).await
}

async fn sh(program: &str, args: &[&str]) -> anyhow::Result<()> {
    let out = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .await
        .with_context(|| format!("could not run {program} (iproute2)"))?;
    if !out.status.success() {
        bail!(
            "{program} {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(())
}

impl Partition {
    /// Creates the namespace and the veth pair (the instance starts once `tis up` is ready).
    pub async fn start(tis_exe: &Path) -> anyhow::Result<Partition> {
        let uid = nix::unistd::geteuid();
        if !uid.is_root() {
            bail!(
                "not run: the partition scenario needs root for `ip netns` and `tc` \
                 (running as uid {uid}); CI runs it as root"
            );
        }
        let tag = format!("{:04x}", fastrand::u16(..));
        let subnet = fastrand::u8(1..=254);
        let p = Partition {
            tis_exe: tis_exe.to_path_buf(),
            netns: format!("tischaos-{tag}"),
            host_if: format!("tcx{tag}h"),
            ns_if: format!("tcx{tag}n"),
            host_ip: format!("10.213.{subnet}.1"),
            ns_ip: format!("10.213.{subnet}.2"),
            child: None,
            addr: None,
            gateway_admin: None,
            cut: false,
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(2))
                .build()?,
        };
        if let Err(e) = p.create_link().await {
            p.remove_link().await;
            return Err(e);
        }
        Ok(p)
    }

    async fn create_link(&self) -> anyhow::Result<()> {
        let (ns, h, n) = (&self.netns, &self.host_if, &self.ns_if);
        ip(&["netns", "add", ns]).await?;
        ip(&["link", "add", h, "type", "veth", "peer", "name", n]).await?;
        ip(&["link", "set", n, "netns", ns]).await?;
        ip(&["addr", "add", &format!("{}/30", self.host_ip), "dev", h]).await?;
        ip(&["link", "set", h, "up"]).await?;
        let in_ns = |args: &[&str]| {
            let mut all = vec!["netns", "exec", ns, "ip"];
            all.extend_from_slice(args);
            all.into_iter().map(str::to_owned).collect::<Vec<_>>()
        };
        for args in [
            in_ns(&["addr", "add", &format!("{}/30", self.ns_ip), "dev", n]),
            in_ns(&["link", "set", n, "up"]),
            in_ns(&["link", "set", "lo", "up"]),
        ] {
            let refs: Vec<&str> = args.iter().map(String::as_str).collect();
            ip(&refs).await?;
        }
        Ok(())
    }

    /// Deleting the namespace deletes its end of the pair, and with it ours.
    async fn remove_link(&self) {
        let _ = ip(&["netns", "delete", &self.netns]).await;
        let _ = ip(&["link", "delete", &self.host_if]).await;
    }

    /// Starts `tis serve reference` in the namespace with `reference-1`'s settings.
    async fn start_instance(&mut self, up: &TisUp) -> anyhow::Result<()> {
        let state = up.state()?;
        let model = state
            .processes
            .get("reference-1")
            .context("reference-1 is not running: nothing to copy the settings from")?;
        let mut config = sibling::tis_config(model.pid)?;
        sibling::own_keys_file(&mut config, "reference.access_tokens.keys_file", NAME);
        sibling::set(&mut config, "reference.listen", format!("{}:0", self.ns_ip));
        let config_file = sibling::write_config(up.run_dir(), NAME, &config)?;
        let announce = up.run_dir().join(format!("{NAME}.addr"));
        let _ = std::fs::remove_file(&announce);
        let log = std::fs::File::create(up.run_dir().join(format!("{NAME}.log")))?;
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", &self.netns])
            .arg(&self.tis_exe)
            .args(["serve", REFERENCE, "--config"])
            .arg(&config_file)
            .arg("--announce-to")
            .arg(&announce)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .kill_on_drop(true);
        let mut child = cmd.spawn().context("starting reference-ns")?;
        let ready = sibling::wait_ready(
            NAME,
            &mut child,
            &announce,
            &self.http,
            Duration::from_secs(60),
        )
        .await;
        self.child = Some(child);
        let (addr, _) = ready.with_context(|| format!("see run/{NAME}.log"))?;
        self.addr = Some(addr);
        let admin = state
            .processes
            .get(GATEWAY)
            .and_then(|g| g.admin.clone())
            .context("the gateway's admin address is not in run/up.json")?;
        let url = format!("http://{admin}/admin/registry/reference/{NAME}");
        let token = up.admin_token()?;
        let res = self
            .http
            .put(&url)
            .bearer_auth(&token)
            .json(&serde_json::json!({ "addr": addr.to_string() }))
            .send()
            .await
            .context("registering reference-ns with the gateway")?;
        if !res.status().is_success() {
            bail!(
                "the gateway refused to register reference-ns: {}",
                res.status()
            );
        }
        self.gateway_admin = Some((admin, token));
        // Until the gateway routes to it, the scenario would not test anything.
        up.wait_capability("service:reference", "ok", Duration::from_secs(30))
            .await
            .context("the gateway did not take reference-ns in")
    }

    /// A blackhole route for our address inside the namespace: whatever reaches the instance
    /// is answered into nothing, so from the gateway's side it goes silent (connections and
    /// requests hang until timeouts), as behind a cut link. (`tc netem` would do the same,
    /// but kernels without `sch_netem`, like this CI's, refuse it.)
    async fn set_cut(&mut self, cut: bool) -> anyhow::Result<()> {
        let route = format!("{}/32", self.host_ip);
        let verb = if cut { "add" } else { "del" };
        ip(&[
            "netns",
            "exec",
            &self.netns,
            "ip",
            "route",
            verb,
            "blackhole",
            &route,
        ])
        .await?;
        self.cut = cut;
        Ok(())
    }

    fn pid(&self) -> anyhow::Result<i32> {
        self.child
            .as_ref()
            .and_then(Child::id)
            .and_then(|p| i32::try_from(p).ok())
            .context("reference-ns is not running")
    }
}

impl Extension for Partition {
    fn name(&self) -> &str {
        "partition"
    }

    fn after_up<'a>(&'a mut self, up: &'a TisUp) -> BoxFuture<'a, anyhow::Result<()>> {
        Box::pin(self.start_instance(up))
    }

    fn handles(&self, action: &Action) -> bool {
        match action {
            Action::Partition { .. } | Action::Heal { .. } => true,
            Action::Kill { target, .. } | Action::Stop { target } | Action::Cont { target } => {
                target == NAME
            }
            _ => false,
        }
    }

    fn act<'a>(
        &'a mut self,
        action: &'a Action,
        _up: &'a TisUp,
    ) -> BoxFuture<'a, anyhow::Result<()>> {
        Box::pin(async move {
            match action {
                Action::Partition { .. } => self.set_cut(true).await,
                Action::Heal { .. } => self.set_cut(false).await,
                Action::Kill { .. } => {
                    kill(Pid::from_raw(self.pid()?), Signal::SIGKILL)?;
                    Ok(())
                }
                Action::Stop { .. } => {
                    kill(Pid::from_raw(self.pid()?), Signal::SIGSTOP)?;
                    Ok(())
                }
                Action::Cont { .. } => {
                    kill(Pid::from_raw(self.pid()?), Signal::SIGCONT)?;
                    Ok(())
                }
                other => bail!("not a partition action: {}", other.describe()),
            }
        })
    }

    fn stop(&mut self) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            if self.cut {
                let _ = self.set_cut(false).await;
            }
            if let Some((admin, token)) = &self.gateway_admin {
                let url = format!("http://{admin}/admin/registry/reference/{NAME}");
                let _ = self.http.delete(&url).bearer_auth(token).send().await;
            }
            if let Some(mut child) = self.child.take() {
                if let Some(pid) = child.id().and_then(|p| i32::try_from(p).ok()) {
                    let _ = kill(Pid::from_raw(pid), Signal::SIGCONT);
                    let _ = kill(Pid::from_raw(pid), Signal::SIGTERM);
                }
                if tokio::time::timeout(Duration::from_secs(10), child.wait())
                    .await
                    .is_err()
                {
                    let _ = child.start_kill();
                    let _ = child.wait().await;
                }
            }
            self.remove_link().await;
        })
    }
}

impl Drop for Partition {
    /// When the run ends without `stop` (tis up failed to start): leave nothing behind.
    fn drop(&mut self) {
        if let Some(child) = &mut self.child {
            let _ = child.start_kill();
        }
        let _ = std::process::Command::new("ip")
            .args(["netns", "delete", &self.netns])
            .stderr(Stdio::null())
            .status();
    }
}
