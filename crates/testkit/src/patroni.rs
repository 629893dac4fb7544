//! A throwaway Patroni cluster: one etcd, N PostgreSQL members managed by Patroni, and HAProxy
//! in front with a primary port and a replica port, as production runs outside Kubernetes.
//!
//! Everything runs as the `postgres` user when the tests run as root, listens on 127.0.0.1 on
//! free ports, lives in one temporary folder, and is stopped and removed on drop (or by a
//! watchdog if the test process dies). The DCS timings are shortened for tests (`ttl` 10 s,
//! `loop_wait` 1 s), so a failover after a hard kill takes about ten seconds rather than
//! thirty; HAProxy checks each member's REST API (`GET /primary`, `GET /replica`) every
//! 500 ms and cuts the sessions of a member it marks down.
//!
//! The binaries come from Debian's `patroni etcd-server etcd-client haproxy`. When one is
//! missing, [`PatroniCluster::start`] fails saying which package to install: tests never
//! skip.

use std::fs;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use nix::sys::signal::{self, Signal};
use nix::unistd::{Pid, chown};

use crate::pg::{bin_dir, run_as};
use crate::ports::free_port;

/// One Patroni-managed PostgreSQL server.
#[derive(Debug)]
pub struct PatroniMember {
    pub name: String,
    pub pg_port: u16,
    pub rest_port: u16,
    dir: PathBuf,
    patroni: Option<Child>,
}

impl PatroniMember {
    /// Whether Patroni's REST API answers 200 to `path` (`/primary`, `/replica`).
    pub fn answers(&self, path: &str) -> bool {
        http_status(self.rest_port, path) == Some(200)
    }

    /// The postmaster's pid, while it runs.
    pub fn postmaster_pid(&self) -> Option<i32> {
        let text = fs::read_to_string(self.dir.join("data/postmaster.pid")).ok()?;
        text.lines().next()?.trim().parse().ok()
    }

    /// The member's Patroni log, for assertion messages.
    pub fn log(&self) -> String {
        fs::read_to_string(self.dir.join("patroni.log")).unwrap_or_default()
    }
}

/// etcd, the members, and HAProxy.
#[derive(Debug)]
pub struct PatroniCluster {
    root: PathBuf,
    bin: PathBuf,
    owner: Option<(u32, u32)>,
    pub members: Vec<PatroniMember>,
    /// HAProxy's port that leads to the leader.
    pub primary_port: u16,
    /// HAProxy's port that leads to the replicas.
    pub replica_port: u16,
    etcd: Option<Child>,
    haproxy: Option<Child>,
}

fn find(name: &str, package: &str) -> anyhow::Result<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/bin".into(), "/usr/sbin".into()])
        .map(|d| d.join(name))
        .find(|p| p.exists())
        .with_context(|| {
            format!("`{name}` not found: install the Debian package `{package}` (apt-get install -y patroni etcd-server etcd-client haproxy)")
        })
}

/// `GET path` on 127.0.0.1:`port`; the status code, if anything answered.
fn http_status(port: u16, path: &str) -> Option<u16> {
    let mut s = TcpStream::connect_timeout(
        &std::net::SocketAddr::from(([127, 0, 0, 1], port)),
        Duration::from_millis(500),
    )
    .ok()?;
    s.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    write!(s, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").ok()?;
    let mut head = [0u8; 32];
    let n = s.read(&mut head).ok()?;
    let text = std::str::from_utf8(&head[..n]).ok()?;
    text.split_whitespace().nth(1)?.parse().ok()
}

/// Starts `cmd` (as `owner`), output to `log`, its pid listed in `root/pids` for the watchdog.
fn spawn(
    mut cmd: Command,
    owner: Option<(u32, u32)>,
    root: &Path,
    log: &Path,
) -> anyhow::Result<Child> {
    let out = fs::File::create(log)?;
    if let Some((uid, gid)) = owner {
        chown(log, Some(uid.into()), Some(gid.into()))?;
        cmd.uid(uid).gid(gid);
    }
    cmd.stdin(Stdio::null())
        .stdout(out.try_clone()?)
        .stderr(out)
        .env("LC_ALL", "C.UTF-8")
        .process_group(0);
    let child = cmd
        .spawn()
        .with_context(|| format!("could not start {:?}", cmd.get_program()))?;
    let mut pids = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(root.join("pids"))?;
    writeln!(pids, "{}", child.id())?;
    Ok(child)
}

fn wait_for(what: &str, timeout: Duration, mut check: impl FnMut() -> bool) -> anyhow::Result<()> {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if check() {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    bail!("timed out after {timeout:?} waiting for {what}")
}

impl PatroniCluster {
    /// Starts etcd, `members` Patroni members (the first bootstraps, the rest clone it) and
    /// HAProxy, and waits until there is a leader and every other member streams from it.
    /// Blocking; about 15 s.
    pub fn start(members: usize) -> anyhow::Result<PatroniCluster> {
        let patroni = find("patroni", "patroni")?;
        let etcd = find("etcd", "etcd-server")?;
        let haproxy = find("haproxy", "haproxy")?;
        let bin = bin_dir()?;
        let owner = run_as()?;
        let root = std::env::temp_dir().join(format!(
            "tis-patroni-{}-{}",
            std::process::id(),
            uuid::Uuid::new_v4().simple()
        ));
        fs::create_dir_all(&root)?;
        if let Some((uid, gid)) = owner {
            chown(&root, Some(uid.into()), Some(gid.into()))?;
        }
        crate::pg::spawn_watchdog(&bin, &root, owner)?;
        let mut cluster = PatroniCluster {
            root: root.clone(),
            bin: bin.clone(),
            owner,
            members: Vec::new(),
            primary_port: free_port()?,
            replica_port: free_port()?,
            etcd: None,
            haproxy: None,
        };

        let (client, peer) = (free_port()?, free_port()?);
        let mut cmd = Command::new(&etcd);
        cmd.args(["--name", "e1", "--data-dir"])
            .arg(root.join("etcd"))
            .arg(format!("--listen-client-urls=http://127.0.0.1:{client}"))
            .arg(format!("--advertise-client-urls=http://127.0.0.1:{client}"))
            .arg(format!("--listen-peer-urls=http://127.0.0.1:{peer}"))
            .arg(format!(
                "--initial-advertise-peer-urls=http://127.0.0.1:{peer}"
            ))
            .arg(format!("--initial-cluster=e1=http://127.0.0.1:{peer}"));
        cluster.etcd = Some(spawn(cmd, owner, &root, &root.join("etcd.log"))?);
        wait_for("etcd", Duration::from_secs(20), || {
            http_status(client, "/health") == Some(200)
        })
        .with_context(|| fs::read_to_string(root.join("etcd.log")).unwrap_or_default())?;

        for i in 1..=members {
            let name = format!("m{i}");
            let dir = root.join(&name);
            fs::create_dir_all(&dir)?;
            if let Some((uid, gid)) = owner {
                chown(&dir, Some(uid.into()), Some(gid.into()))?;
            }
            let (pg_port, rest_port) = (free_port()?, free_port()?);
            let config = dir.join("patroni.yml");
            fs::write(
                &config,
                member_config(&name, &dir, &bin, pg_port, rest_port, client),
            )?;
            let mut cmd = Command::new(&patroni);
            cmd.arg(&config);
            let child = spawn(cmd, owner, &root, &dir.join("patroni.log"))?;
            cluster.members.push(PatroniMember {
                name,
                pg_port,
                rest_port,
                dir,
                patroni: Some(child),
            });
            // The first member bootstraps alone; the others clone it once it leads.
            if i == 1 {
                let first = &cluster.members[0];
                wait_for(
                    "the first Patroni member to lead",
                    Duration::from_secs(60),
                    || first.answers("/primary"),
                )
                .with_context(|| first.log())?;
            }
        }
        wait_for("every replica streaming", Duration::from_secs(90), || {
            cluster.members[1..].iter().all(|m| m.answers("/replica"))
        })
        .with_context(|| {
            cluster
                .members
                .iter()
                .map(PatroniMember::log)
                .collect::<Vec<_>>()
                .join("\n----\n")
        })?;

        let cfg = root.join("haproxy.cfg");
        fs::write(&cfg, haproxy_config(&cluster))?;
        let mut cmd = Command::new(&haproxy);
        cmd.arg("-db").arg("-f").arg(&cfg);
        cluster.haproxy = Some(spawn(cmd, owner, &root, &root.join("haproxy.log"))?);
        // HAProxy starts with every server up, until its checks say otherwise: wait until it
        // has marked each member down on the port it must not serve.
        let leader = cluster.leader().context("no leader")?;
        let expected: Vec<String> = cluster
            .members
            .iter()
            .enumerate()
            .map(|(i, m)| {
                let listener = if i == leader { "replicas" } else { "primary" };
                format!("Server {listener}/{} is DOWN", m.name)
            })
            .collect();
        let log = root.join("haproxy.log");
        wait_for("HAProxy to route by role", Duration::from_secs(20), || {
            let text = fs::read_to_string(&log).unwrap_or_default();
            expected.iter().all(|e| text.contains(e))
        })
        .with_context(|| fs::read_to_string(&log).unwrap_or_default())?;
        Ok(cluster)
    }

    /// A superuser URL for `database` through HAProxy's primary port.
    pub fn primary_url(&self, database: &str) -> String {
        format!(
            "postgres://postgres@127.0.0.1:{}/{database}",
            self.primary_port
        )
    }

    /// The same through HAProxy's replica port.
    pub fn replica_url(&self, database: &str) -> String {
        format!(
            "postgres://postgres@127.0.0.1:{}/{database}",
            self.replica_port
        )
    }

    /// The member that answers `GET /primary` now.
    pub fn leader(&self) -> Option<usize> {
        self.members.iter().position(|m| m.answers("/primary"))
    }

    /// Creates a database through the primary port.
    pub async fn create_database(&self, name: &str) -> anyhow::Result<()> {
        crate::pg::create_database_at(&self.primary_url("postgres"), name).await
    }

    /// A host failure: `kill -9` of the member's Patroni and of its PostgreSQL at once, so
    /// that nothing is left to renew the leader key or to restart the server.
    pub fn kill_member(&mut self, i: usize) -> anyhow::Result<()> {
        let m = &mut self.members[i];
        let pg = m.postmaster_pid();
        if let Some(mut child) = m.patroni.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        if let Some(pid) = pg {
            signal::kill(Pid::from_raw(pid), Signal::SIGKILL)?;
        }
        let port = m.pg_port;
        wait_for(
            "the killed member to stop accepting",
            Duration::from_secs(10),
            || TcpStream::connect(("127.0.0.1", port)).is_err(),
        )
    }
}

impl Drop for PatroniCluster {
    fn drop(&mut self) {
        for child in self
            .members
            .iter_mut()
            .filter_map(|m| m.patroni.as_mut())
            .chain(self.haproxy.as_mut())
        {
            let _ = child.kill();
            let _ = child.wait();
        }
        for m in &self.members {
            if m.postmaster_pid().is_some() {
                let mut cmd = crate::pg::command(&self.bin, "pg_ctl", self.owner);
                cmd.arg("-D")
                    .arg(m.dir.join("data"))
                    .args(["-m", "immediate", "-w", "stop"])
                    .stdout(Stdio::null())
                    .stderr(Stdio::null());
                let _ = cmd.status();
            }
        }
        if let Some(mut etcd) = self.etcd.take() {
            let _ = etcd.kill();
            let _ = etcd.wait();
        }
        let _ = fs::remove_dir_all(&self.root);
    }
}

fn member_config(
    name: &str,
    dir: &Path,
    bin: &Path,
    pg_port: u16,
    rest_port: u16,
    etcd_port: u16,
) -> String {
    let dir = dir.display();
    format!(
        r#"scope: tis-test
namespace: /tis/
name: {name}
restapi:
  listen: 127.0.0.1:{rest_port}
  connect_address: 127.0.0.1:{rest_port}
etcd3:
  hosts: 127.0.0.1:{etcd_port}
bootstrap:
  dcs:
    ttl: 10
    loop_wait: 1
    retry_timeout: 4
    maximum_lag_on_failover: 1048576
    postgresql:
      use_pg_rewind: false
      use_slots: true
      parameters:
        wal_level: replica
        hot_standby: "on"
        max_wal_senders: 10
        max_replication_slots: 10
        wal_keep_size: 64MB
        max_connections: 100
        shared_buffers: 32MB
        fsync: "off"
        full_page_writes: "off"
  initdb:
    - encoding: UTF8
    - locale: C
    - auth: trust
  pg_hba:
    - local all all trust
    - host all all 127.0.0.1/32 trust
    - host replication all 127.0.0.1/32 trust
postgresql:
  listen: 127.0.0.1:{pg_port}
  connect_address: 127.0.0.1:{pg_port}
  data_dir: {dir}/data
  bin_dir: {bin}
  pgpass: {dir}/pgpass
  authentication:
    superuser:
      username: postgres
    replication:
      username: postgres
  parameters:
    unix_socket_directories: {dir}
tags:
  nofailover: false
  noloadbalance: false
  clonefrom: false
  nosync: false
"#,
        bin = bin.display()
    )
}

fn haproxy_config(c: &PatroniCluster) -> String {
    let servers = |check: &str| {
        c.members
            .iter()
            .map(|m| {
                format!(
                    "  server {} 127.0.0.1:{} check port {} # {check}\n",
                    m.name, m.pg_port, m.rest_port
                )
            })
            .collect::<String>()
    };
    format!(
        "global\n  maxconn 256\n\ndefaults\n  mode tcp\n  timeout connect 1s\n  timeout client 30m\n  timeout server 30m\n  timeout check 1s\n\n\
         listen primary\n  bind 127.0.0.1:{p}\n  option httpchk GET /primary\n  http-check expect status 200\n  default-server inter 500ms fall 2 rise 1 on-marked-down shutdown-sessions\n{ps}\n\
         listen replicas\n  bind 127.0.0.1:{r}\n  balance roundrobin\n  option httpchk GET /replica\n  http-check expect status 200\n  default-server inter 500ms fall 2 rise 1 on-marked-down shutdown-sessions\n{rs}",
        p = c.primary_port,
        r = c.replica_port,
        ps = servers("primary"),
        rs = servers("replica"),
    )
}
