//! Throwaway PostgreSQL servers and clusters for tests.
//!
//! Two ways in:
//! - [`fresh_database`] gives a test its own empty database. The server is the one named by
//!   `TISTEST_DATABASE_URL` when set (CI starts one for the whole run), otherwise a server this
//!   test process starts for itself in a temporary folder.
//! - [`PgCluster::start`] builds a primary with streaming replicas (optionally one
//!   synchronous), for failover tests that kill and promote nodes for real.
//!
//! Every server runs as the `postgres` user when the tests run as root (initdb refuses
//! root), listens on 127.0.0.1 only, on a free port, and is removed when dropped. A watchdog
//! process removes it too if the test process dies without dropping it (a nextest timeout,
//! `kill -9`), so nothing is left running.
//!
//! When PostgreSQL cannot be started these functions return an error that says why; tests
//! propagate it and fail. They never skip.

use std::fs;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use anyhow::{Context, bail};
use nix::sys::signal::{self, Signal};
use nix::unistd::{Pid, User, chown};
use sqlx::Connection;

use crate::ports::free_port;

/// The environment variable naming a PostgreSQL server shared by a whole test run: a
/// superuser URL without a database name, e.g. `postgres://postgres@127.0.0.1:5433`. Not
/// `TIS_…`: every `TIS_` variable is configuration, and an unknown one stops a process.
pub const SHARED_URL_ENV: &str = "TISTEST_DATABASE_URL";

/// Where the PostgreSQL server binaries are.
pub fn bin_dir() -> anyhow::Result<PathBuf> {
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
        "PostgreSQL server binaries not found (no initdb under `pg_config --bindir` or /usr/lib/postgresql/*/bin); install the `postgresql` package",
    )
}

/// The user the server runs as: `postgres` when we are root, else ourselves.
pub(crate) fn run_as() -> anyhow::Result<Option<(u32, u32)>> {
    if !nix::unistd::geteuid().is_root() {
        return Ok(None);
    }
    let user = User::from_name("postgres")?
        .context("running as root, but there is no `postgres` user to run PostgreSQL as")?;
    Ok(Some((user.uid.as_raw(), user.gid.as_raw())))
}

pub(crate) fn command(bin: &Path, name: &str, owner: Option<(u32, u32)>) -> Command {
    let mut cmd = Command::new(bin.join(name));
    if let Some((uid, gid)) = owner {
        cmd.uid(uid).gid(gid);
    }
    cmd.stdin(Stdio::null()).env("LC_ALL", "C");
    cmd
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

/// One PostgreSQL server process and its data folder.
#[derive(Debug)]
pub struct PgNode {
    pub name: String,
    pub port: u16,
    data: PathBuf,
    log: PathBuf,
    bin: PathBuf,
    owner: Option<(u32, u32)>,
}

impl PgNode {
    /// A superuser URL for `database` on this node.
    pub fn url(&self, database: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{database}", self.port)
    }

    /// `127.0.0.1:port`, as tis-store names the endpoint.
    pub fn endpoint(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    pub fn data_dir(&self) -> &Path {
        &self.data
    }

    /// The server log, for assertion messages.
    pub fn log(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn pg_ctl(&self, args: &[&str], what: &str) -> anyhow::Result<()> {
        let mut cmd = command(&self.bin, "pg_ctl", self.owner);
        cmd.arg("-D").arg(&self.data).args(args);
        run(cmd, &format!("pg_ctl {what} ({})", self.name))
    }

    /// Starts the server and waits until it accepts connections.
    pub fn start(&self) -> anyhow::Result<()> {
        let mut cmd = command(&self.bin, "pg_ctl", self.owner);
        cmd.arg("-D")
            .arg(&self.data)
            .arg("-l")
            .arg(&self.log)
            .args(["-w", "-t", "60", "start"]);
        run(cmd, &format!("pg_ctl start ({})", self.name)).with_context(|| self.log())
    }

    /// A clean, fast shutdown.
    pub fn stop(&self) -> anyhow::Result<()> {
        self.pg_ctl(&["-w", "-m", "fast", "stop"], "stop")
    }

    /// The postmaster's pid, while it runs.
    pub fn pid(&self) -> Option<i32> {
        let text = fs::read_to_string(self.data.join("postmaster.pid")).ok()?;
        text.lines().next()?.trim().parse().ok()
    }

    /// `kill -9` of the postmaster: a crash, not a shutdown. Its children exit when they
    /// notice; the data folder stays as a crash left it.
    pub fn kill(&self) -> anyhow::Result<()> {
        let pid = self.pid().context("the server is not running")?;
        signal::kill(Pid::from_raw(pid), Signal::SIGKILL)?;
        // Children (backends, walsender) notice the postmaster's death and exit; wait for the
        // port to stop accepting so the next step sees a dead server.
        for _ in 0..200 {
            if std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
                let _ = fs::remove_file(self.data.join("postmaster.pid"));
                return Ok(());
            }
            std::thread::sleep(std::time::Duration::from_millis(25));
        }
        bail!("{} still accepts connections after kill -9", self.name)
    }

    /// Freezes (SIGSTOP) or thaws (SIGCONT) the postmaster.
    pub fn pause(&self, frozen: bool) -> anyhow::Result<()> {
        let pid = self.pid().context("the server is not running")?;
        signal::kill(
            Pid::from_raw(pid),
            if frozen {
                Signal::SIGSTOP
            } else {
                Signal::SIGCONT
            },
        )?;
        Ok(())
    }

    /// Promotes a standby to primary and waits until it accepts writes.
    pub fn promote(&self) -> anyhow::Result<()> {
        self.pg_ctl(&["-w", "promote"], "promote")
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

    /// Re-reads the configuration (`pg_ctl reload`).
    pub fn reload(&self) -> anyhow::Result<()> {
        self.pg_ctl(&["reload"], "reload")
    }

    fn stop_immediately(&self) {
        if self.pid().is_some() {
            let _ = self.pg_ctl(&["-w", "-m", "immediate", "stop"], "stop");
        }
    }
}

/// How to build a [`PgCluster`].
#[derive(Debug, Clone, Copy, Default)]
pub struct ClusterOptions {
    /// Streaming replicas beside the primary.
    pub replicas: usize,
    /// Make the first replica a synchronous standby (`synchronous_commit = on`), so that
    /// a commit acknowledged by the primary is on both nodes.
    pub synchronous: bool,
}

/// A primary and its streaming replicas in one temporary folder.
#[derive(Debug)]
pub struct PgCluster {
    root: PathBuf,
    pub primary: PgNode,
    pub replicas: Vec<PgNode>,
}

impl PgCluster {
    /// Builds and starts the cluster (about a second per node). Blocking.
    pub fn start(opts: ClusterOptions) -> anyhow::Result<PgCluster> {
        let bin = bin_dir()?;
        let owner = run_as()?;
        let root = std::env::temp_dir().join(format!(
            "tis-pg-{}-{}",
            std::process::id(),
            uuid::Uuid::new_v4().simple()
        ));
        fs::create_dir_all(&root)?;
        if let Some((uid, gid)) = owner {
            chown(&root, Some(uid.into()), Some(gid.into()))?;
        }
        spawn_watchdog(&bin, &root, owner)?;

        let primary = init_primary(&bin, &root, owner, opts)?;
        let mut cluster = PgCluster {
            root,
            primary,
            replicas: Vec::new(),
        };
        for i in 1..=opts.replicas {
            let node = cluster.add_replica(&format!("replica{i}"))?;
            cluster.replicas.push(node);
        }
        if opts.synchronous && opts.replicas > 0 {
            cluster
                .primary
                .configure("synchronous_standby_names = 'replica1'\nsynchronous_commit = on")?;
            cluster.primary.reload()?;
        }
        Ok(cluster)
    }

    fn add_replica(&self, name: &str) -> anyhow::Result<PgNode> {
        let p = &self.primary;
        let data = self.root.join(name);
        let mut last_err = None;
        for _ in 0..5 {
            let port = free_port()?;
            let mut cmd = command(&p.bin, "pg_basebackup", p.owner);
            cmd.args([
                "-h",
                "127.0.0.1",
                "-p",
                &p.port.to_string(),
                "-U",
                "postgres",
                "-D",
            ])
            .arg(&data)
            .args(["-R", "-X", "stream", "-C", "-S", name, "--no-sync"]);
            run(cmd, &format!("pg_basebackup ({name})"))?;
            let node = PgNode {
                name: name.into(),
                port,
                data: data.clone(),
                log: self.root.join(format!("{name}.log")),
                bin: p.bin.clone(),
                owner: p.owner,
            };
            node.configure(&format!("port = {port}\ncluster_name = '{name}'"))?;
            match node.start() {
                Ok(()) => return Ok(node),
                Err(e) => {
                    last_err = Some(e);
                    let _ = fs::remove_dir_all(&data);
                    // The slot exists now; drop it so the next attempt can create it again.
                    let mut drop_slot = command(&p.bin, "psql", p.owner);
                    drop_slot
                        .args([
                            "-h",
                            "127.0.0.1",
                            "-p",
                            &p.port.to_string(),
                            "-U",
                            "postgres",
                            "-c",
                        ])
                        .arg(format!("SELECT pg_drop_replication_slot('{name}')"));
                    let _ = drop_slot.output();
                }
            }
        }
        Err(last_err.unwrap_or_else(|| anyhow::anyhow!("could not start {name}")))
    }

    /// Every node, primary first.
    pub fn nodes(&self) -> impl Iterator<Item = &PgNode> {
        std::iter::once(&self.primary).chain(self.replicas.iter())
    }

    /// Creates a database on the primary (replicated to the standbys).
    pub async fn create_database(&self, name: &str) -> anyhow::Result<()> {
        create_database_at(&self.primary.url("postgres"), name).await
    }
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        for node in self.replicas.iter().chain(std::iter::once(&self.primary)) {
            node.stop_immediately();
        }
        let _ = fs::remove_dir_all(&self.root);
    }
}

fn init_primary(
    bin: &Path,
    root: &Path,
    owner: Option<(u32, u32)>,
    _opts: ClusterOptions,
) -> anyhow::Result<PgNode> {
    let data = root.join("primary");
    let mut cmd = command(bin, "initdb", owner);
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
    let mut last_err = None;
    for _ in 0..5 {
        let port = free_port()?;
        let node = PgNode {
            name: "primary".into(),
            port,
            data: data.clone(),
            log: root.join("primary.log"),
            bin: bin.to_path_buf(),
            owner,
        };
        node.configure(&format!(
            "listen_addresses = '127.0.0.1'\nport = {port}\nunix_socket_directories = '{}'\n\
             wal_level = replica\nmax_wal_senders = 10\nmax_replication_slots = 10\nhot_standby = on\n\
             wal_keep_size = '64MB'\nmax_connections = 200\nshared_buffers = '32MB'\n\
             fsync = off\nfull_page_writes = off\nlogging_collector = off",
            root.display()
        ))?;
        match node.start() {
            Ok(()) => return Ok(node),
            Err(e) => last_err = Some(e),
        }
    }
    Err(last_err.unwrap_or_else(|| anyhow::anyhow!("could not start the primary")))
}

/// A detached shell that stops the servers (and any process whose pid is listed in
/// `root/pids`) and removes `root` once this process is gone.
pub(crate) fn spawn_watchdog(
    bin: &Path,
    root: &Path,
    owner: Option<(u32, u32)>,
) -> anyhow::Result<()> {
    let script = format!(
        "while [ -d /proc/{pid} ]; do sleep 1; done; \
         [ -f {root}/pids ] && kill -9 $(cat {root}/pids) >/dev/null 2>&1; \
         for d in {root}/*/ {root}/*/data/; do [ -f \"$d/postmaster.pid\" ] && {pg_ctl} -D \"$d\" -m immediate stop >/dev/null 2>&1; done; \
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

pub(crate) async fn create_database_at(admin_url: &str, name: &str) -> anyhow::Result<()> {
    let mut conn = sqlx::PgConnection::connect(admin_url)
        .await
        .with_context(|| {
            format!("could not connect to the test PostgreSQL server at {admin_url}")
        })?;
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE \"{name}\"")))
        .execute(&mut conn)
        .await
        .with_context(|| format!("could not create database {name}"))?;
    conn.close().await.ok();
    Ok(())
}

/// The server this process creates test databases on.
enum Shared {
    /// Given by `TISTEST_DATABASE_URL`.
    External(String),
    /// Started by this process.
    Own(PgCluster),
}

static SHARED: OnceLock<Result<Shared, String>> = OnceLock::new();

fn shared() -> anyhow::Result<&'static Shared> {
    let shared = SHARED.get_or_init(|| match std::env::var(SHARED_URL_ENV) {
        Ok(url) if !url.trim().is_empty() => Ok(Shared::External(
            url.trim().trim_end_matches('/').to_owned(),
        )),
        _ => PgCluster::start(ClusterOptions::default())
            .map(Shared::Own)
            .map_err(|e| format!("{e:#}")),
    });
    shared.as_ref().map_err(|e| {
        anyhow::anyhow!("PostgreSQL is required by this test and could not be started: {e}")
    })
}

/// A new, empty database for one test; returns its URL. Fails (never skips) when no
/// PostgreSQL server can be reached or started.
pub async fn fresh_database() -> anyhow::Result<String> {
    let server = tokio::task::spawn_blocking(shared).await??;
    let name = format!("t_{}", uuid::Uuid::new_v4().simple());
    let base = match server {
        Shared::External(url) => url.clone(),
        Shared::Own(cluster) => format!("postgres://postgres@127.0.0.1:{}", cluster.primary.port),
    };
    create_database_at(&format!("{base}/postgres"), &name).await?;
    Ok(format!("{base}/{name}"))
}
