//! The PostgreSQL servers of PostgreSQL mode: a primary and streaming standbys in one
//! temporary folder, on free loopback ports, as the `postgres` user when we run as root
//! (initdb refuses root), removed when dropped — and by a watchdog shell if `tis chaos` dies
//! without dropping them.
//!
//! tis-testkit does the same for tests, but it is a dev-dependency only (nothing shipped in
//! the binary may use it), so `tis chaos` has this small copy of what it needs: start, kill,
//! promote, configure + reload.

use std::fs;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use anyhow::{Context, bail};
use nix::sys::signal::{self, Signal};
use nix::unistd::{Pid, User, chown};

/// One server.
#[derive(Debug)]
pub struct Node {
    pub name: String,
    pub port: u16,
    data: PathBuf,
    log: PathBuf,
}

impl Node {
    /// A superuser URL for `database` on this node.
    pub fn url(&self, database: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{database}", self.port)
    }

    fn pid(&self) -> Option<i32> {
        let text = fs::read_to_string(self.data.join("postmaster.pid")).ok()?;
        text.lines().next()?.trim().parse().ok()
    }

    /// Appends settings to `postgresql.auto.conf` (applied at the next start or reload).
    pub fn configure(&self, settings: &str) -> anyhow::Result<()> {
        use std::io::Write;
        let mut f = fs::OpenOptions::new()
            .append(true)
            .open(self.data.join("postgresql.auto.conf"))?;
        writeln!(f, "{settings}")?;
        Ok(())
    }
}

/// A primary and its standbys.
#[derive(Debug)]
pub struct Cluster {
    root: PathBuf,
    bin: PathBuf,
    owner: Option<(u32, u32)>,
    /// `primary`, then `replica1`, `replica2`…
    pub nodes: Vec<Node>,
}

impl Cluster {
    /// Builds and starts a primary and `replicas` standbys, `replica1` synchronous when
    /// `synchronous`. Blocking (a second or two per node).
    pub fn start(replicas: usize, synchronous: bool) -> anyhow::Result<Cluster> {
        let bin = bin_dir()?;
        let owner = run_as()?;
        let root = std::env::temp_dir().join(format!(
            "tis-chaos-pg-{}-{}",
            std::process::id(),
            uuid::Uuid::new_v4().simple()
        ));
        fs::create_dir_all(&root)?;
        if let Some((uid, gid)) = owner {
            chown(&root, Some(uid.into()), Some(gid.into()))?;
        }
        watchdog(&bin, &root, owner)?;
        let mut cluster = Cluster {
            root,
            bin,
            owner,
            nodes: Vec::new(),
        };
        let primary = cluster.init_primary()?;
        cluster.nodes.push(primary);
        for i in 1..=replicas {
            let node = cluster.add_standby(&format!("replica{i}"))?;
            cluster.nodes.push(node);
        }
        if synchronous && replicas > 0 {
            cluster.nodes[0]
                .configure("synchronous_standby_names = 'replica1'\nsynchronous_commit = on")?;
            cluster.reload("primary")?;
        }
        Ok(cluster)
    }

    pub fn node(&self, name: &str) -> anyhow::Result<&Node> {
        self.nodes
            .iter()
            .find(|n| n.name == name)
            .with_context(|| format!("no PostgreSQL node {name}"))
    }

    fn command(&self, program: &str) -> Command {
        let mut cmd = Command::new(self.bin.join(program));
        if let Some((uid, gid)) = self.owner {
            cmd.uid(uid).gid(gid);
        }
        cmd.stdin(Stdio::null()).env("LC_ALL", "C");
        cmd
    }

    fn pg_ctl(&self, node: &Node, args: &[&str]) -> anyhow::Result<()> {
        let mut cmd = self.command("pg_ctl");
        cmd.arg("-D").arg(&node.data).args(args);
        run(cmd, &format!("pg_ctl {} ({})", args.join(" "), node.name))
    }

    fn start_node(&self, node: &Node) -> anyhow::Result<()> {
        let mut cmd = self.command("pg_ctl");
        cmd.arg("-D")
            .arg(&node.data)
            .arg("-l")
            .arg(&node.log)
            .args(["-w", "-t", "60", "start"]);
        run(cmd, &format!("pg_ctl start ({})", node.name))
            .with_context(|| fs::read_to_string(&node.log).unwrap_or_default())
    }

    fn init_primary(&self) -> anyhow::Result<Node> {
        let data = self.root.join("primary");
        let mut cmd = self.command("initdb");
        cmd.arg("-D").arg(&data).args([
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
            "--locale=C",
            "--no-sync",
        ]);
        run(cmd, "initdb")?;
        let mut last = None;
        for _ in 0..5 {
            let node = Node {
                name: "primary".into(),
                port: free_port()?,
                data: data.clone(),
                log: self.root.join("primary.log"),
            };
            node.configure(&format!(
                "listen_addresses = '127.0.0.1'\nport = {}\nunix_socket_directories = '{}'\n\
                 wal_level = replica\nmax_wal_senders = 10\nmax_replication_slots = 10\n\
                 hot_standby = on\nwal_keep_size = '256MB'\nmax_connections = 300\n\
                 shared_buffers = '32MB'\nfsync = off\nfull_page_writes = off\n\
                 logging_collector = off",
                node.port,
                self.root.display()
            ))?;
            match self.start_node(&node) {
                Ok(()) => return Ok(node),
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| anyhow::anyhow!("could not start the primary")))
    }

    fn add_standby(&self, name: &str) -> anyhow::Result<Node> {
        let primary = &self.nodes[0];
        let data = self.root.join(name);
        let mut cmd = self.command("pg_basebackup");
        cmd.args(["-h", "127.0.0.1", "-p", &primary.port.to_string()])
            .args(["-U", "postgres", "-D"])
            .arg(&data)
            .args(["-R", "-X", "stream", "-C", "-S", name, "--no-sync"]);
        run(cmd, &format!("pg_basebackup ({name})"))?;
        let mut last = None;
        for _ in 0..5 {
            let node = Node {
                name: name.into(),
                port: free_port()?,
                data: data.clone(),
                log: self.root.join(format!("{name}.log")),
            };
            node.configure(&format!("port = {}\ncluster_name = '{name}'", node.port))?;
            match self.start_node(&node) {
                Ok(()) => return Ok(node),
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| anyhow::anyhow!("could not start {name}")))
    }

    /// `kill -9` of the node's postmaster; returns once its port refuses connections.
    pub fn kill(&self, name: &str) -> anyhow::Result<()> {
        let node = self.node(name)?;
        let pid = node
            .pid()
            .with_context(|| format!("{name} is not running"))?;
        signal::kill(Pid::from_raw(pid), Signal::SIGKILL)?;
        for _ in 0..400 {
            if std::net::TcpStream::connect(("127.0.0.1", node.port)).is_err() {
                let _ = fs::remove_file(node.data.join("postmaster.pid"));
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        bail!("{name} still accepts connections after kill -9")
    }

    /// `pg_ctl promote`, waiting until the node accepts writes.
    pub fn promote(&self, name: &str) -> anyhow::Result<()> {
        self.pg_ctl(self.node(name)?, &["-w", "promote"])
    }

    /// `pg_ctl reload`.
    pub fn reload(&self, name: &str) -> anyhow::Result<()> {
        self.pg_ctl(self.node(name)?, &["reload"])
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for node in self.nodes.iter().rev() {
            if node.pid().is_some() {
                let _ = self.pg_ctl(node, &["-w", "-m", "immediate", "stop"]);
            }
        }
        let _ = fs::remove_dir_all(&self.root);
    }
}

fn run(mut cmd: Command, what: &str) -> anyhow::Result<()> {
    let out = cmd
        .output()
        .with_context(|| format!("could not run {what}"))?;
    if !out.status.success() {
        bail!(
            "{what} failed ({}): {}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(())
}

fn free_port() -> anyhow::Result<u16> {
    let l = std::net::TcpListener::bind("127.0.0.1:0").context("finding a free port")?;
    Ok(l.local_addr()?.port())
}

/// Where the server binaries are: `pg_config --bindir`, else the newest
/// `/usr/lib/postgresql/*/bin`.
fn bin_dir() -> anyhow::Result<PathBuf> {
    if let Ok(out) = Command::new("pg_config").arg("--bindir").output()
        && out.status.success()
    {
        let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        if dir.join("initdb").exists() {
            return Ok(dir);
        }
    }
    let mut found: Vec<PathBuf> = fs::read_dir("/usr/lib/postgresql")
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .map(|e| e.path().join("bin"))
                .filter(|p| p.join("initdb").exists())
                .collect()
        })
        .unwrap_or_default();
    found.sort();
    found.pop().context(
        "PostgreSQL mode needs the PostgreSQL server (initdb, pg_ctl, pg_basebackup): install \
         the Debian package `postgresql`",
    )
}

/// `postgres`'s uid and gid when we are root, else None (we run it as ourselves).
fn run_as() -> anyhow::Result<Option<(u32, u32)>> {
    if !nix::unistd::geteuid().is_root() {
        return Ok(None);
    }
    let user = User::from_name("postgres")?
        .context("running as root, but there is no `postgres` user to run PostgreSQL as")?;
    Ok(Some((user.uid.as_raw(), user.gid.as_raw())))
}

/// A detached shell that stops the servers and removes `root` once this process is gone.
fn watchdog(bin: &Path, root: &Path, owner: Option<(u32, u32)>) -> anyhow::Result<()> {
    let script = format!(
        "while [ -d /proc/{pid} ]; do sleep 1; done; \
         for d in {root}/*/; do [ -f \"$d/postmaster.pid\" ] && {pg_ctl} -D \"$d\" -m immediate stop >/dev/null 2>&1; done; \
         rm -rf {root}",
        pid = std::process::id(),
        root = root.display(),
        pg_ctl = bin.join("pg_ctl").display(),
    );
    let mut cmd = Command::new("/bin/sh");
    cmd.arg("-c")
        .arg(script)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0);
    if let Some((uid, gid)) = owner {
        cmd.uid(uid).gid(gid);
    }
    cmd.spawn()
        .context("could not start the PostgreSQL watchdog")?;
    Ok(())
}
