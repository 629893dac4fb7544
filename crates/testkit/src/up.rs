//! A real `tis up` in a temporary folder, for system tests: started on ephemeral ports, read
//! through its `run/up.json`, its processes held down (`run/hold/<name>`) and killed for real.
//!
//! ```ignore
//! let up = TisUp::start(env!("CARGO_BIN_EXE_tis"), &[]);
//! let state = up.state_when("every process ready", |s| TisUp::has(s, &["gateway"])).await;
//! up.hold("profile-1");                         // not restarted while held
//! TisUp::kill9(TisUp::pid_of(&state, "profile-1"));
//! ```

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use serde_json::Value;
use tokio::process::{Child, Command};

use crate::wait;

/// A running `tis up`, stopped (SIGKILL, with its process group's children following it: they
/// exit when their supervisor is gone) when dropped.
pub struct TisUp {
    pub child: Child,
    dir: tempfile::TempDir,
}

/// A failing test shows the end of what the system logged (warnings and errors, unless the
/// test asked for more): the only trace of a process's side of a failure once the temporary
/// folder is gone.
impl Drop for TisUp {
    fn drop(&mut self) {
        if std::thread::panicking() {
            let log = self.log();
            // The whole log, kept where CI collects its artefacts (`TISTEST_LOG_DIR`).
            if let Some(dir) = std::env::var_os("TISTEST_LOG_DIR") {
                let dir = PathBuf::from(dir);
                let name = format!(
                    "up-{}-{}.log",
                    std::thread::current()
                        .name()
                        .unwrap_or("test")
                        .replace("::", "-"),
                    std::process::id()
                );
                if std::fs::create_dir_all(&dir).is_ok()
                    && std::fs::write(dir.join(&name), &log).is_ok()
                {
                    eprintln!("--- tis up's whole log: {}", dir.join(name).display());
                }
            }
            let lines: Vec<&str> = log.lines().collect();
            let tail = &lines[lines.len().saturating_sub(LOG_TAIL)..];
            eprintln!(
                "--- the last {} of {} lines tis up logged ---\n{}",
                tail.len(),
                lines.len(),
                tail.join("\n")
            );
        }
    }
}

/// How many lines of `up.log` a failing test prints.
const LOG_TAIL: usize = 200;

impl TisUp {
    /// Starts `tis up --data-dir .tis` in a new temporary folder, every listener on port 0,
    /// logging warnings only, with `env` on top (`TIS_<SECTION>__<KEY>`, inherited by the
    /// processes it starts).
    pub fn start(tis: &str, env: &[(&str, String)]) -> TisUp {
        Self::start_in(tempfile::tempdir().expect("tempdir"), tis, env)
    }

    /// Like [`start`](Self::start), in `dir` (prepared by the caller: e.g. a realm file at
    /// `.tis/idp/realms.toml`, which `tis up` then keeps).
    pub fn start_in(dir: tempfile::TempDir, tis: &str, env: &[(&str, String)]) -> TisUp {
        let mut cmd = Command::new(tis);
        cmd.args(["up", "--data-dir", ".tis"])
            // Never a fixed port in tests: the identity provider and the gateway pick free ones.
            .env("TIS_IDP__LISTEN", "127.0.0.1:0")
            .env("TIS_GATEWAY__LISTEN", "127.0.0.1:0")
            .env("TIS_GATEWAY__ADMIN_LISTEN", "127.0.0.1:0")
            // Warnings only, unless the person running the tests asks for more
            // (`TISTEST_LOG_LEVEL=info`) to see a failure's lead-up.
            .env(
                "TIS_LOG__LEVEL",
                std::env::var("TISTEST_LOG_LEVEL").unwrap_or_else(|_| "warn".to_owned()),
            );
        for (k, v) in env {
            cmd.env(k, v);
        }
        // Everything the processes log (warnings, unless `TIS_LOG__LEVEL` says otherwise), for
        // a failing test to show: see [`log`](Self::log).
        let log = std::fs::File::create(dir.path().join("up.log")).expect("up.log");
        let child = cmd
            .current_dir(dir.path())
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("up.log"))
            .stderr(log)
            .kill_on_drop(true)
            .spawn()
            .expect("start tis up");
        TisUp { child, dir }
    }

    /// The folder `tis up` runs in.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// What `tis up` and its processes have logged so far (their stdout and stderr).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("up.log")).unwrap_or_default()
    }

    /// `.tis/run`: announce files, `up.json`, `hold/`.
    pub fn run_dir(&self) -> PathBuf {
        self.dir.path().join(".tis/run")
    }

    pub fn state_file(&self) -> PathBuf {
        self.run_dir().join("up.json")
    }

    /// The state (`run/up.json`) once `check` holds, failing after 60 s.
    pub async fn state_when(&self, what: &str, check: impl Fn(&Value) -> bool) -> Value {
        let path = self.state_file();
        wait::until(
            what,
            Duration::from_secs(60),
            Duration::from_millis(25),
            || {
                let path = path.clone();
                let ok = &check;
                async move {
                    let text = tokio::fs::read_to_string(&path).await.ok()?;
                    let state: Value = serde_json::from_str(&text).ok()?;
                    ok(&state).then_some(state)
                }
            },
        )
        .await
        .expect("tis up state")
    }

    /// Whether every process in `names` is ready in `state`.
    pub fn has(state: &Value, names: &[&str]) -> bool {
        names
            .iter()
            .all(|n| state["processes"][n]["addr"].is_string())
    }

    /// The pid of process `name` in `state`.
    pub fn pid_of(state: &Value, name: &str) -> i32 {
        state["processes"][name]["pid"]
            .as_i64()
            .and_then(|p| i32::try_from(p).ok())
            .unwrap_or_else(|| panic!("no pid for {name} in {state}"))
    }

    /// The address of process `name` (`field` = `addr`, or `admin` for the gateway's).
    pub fn addr_of(state: &Value, name: &str, field: &str) -> String {
        state["processes"][name][field]
            .as_str()
            .unwrap_or_else(|| panic!("no {field} for {name} in {state}"))
            .to_owned()
    }

    /// Keeps process `name` down once it exits (until [`release`](Self::release)).
    pub fn hold(&self, name: &str) {
        let dir = self.run_dir().join("hold");
        std::fs::create_dir_all(&dir).expect("hold folder");
        std::fs::write(dir.join(name), b"").expect("hold file");
    }

    /// Lets the supervisor restart process `name` (at once, if it is down).
    pub fn release(&self, name: &str) {
        std::fs::remove_file(self.run_dir().join("hold").join(name)).expect("remove hold file");
    }

    /// `kill -9 pid`.
    pub fn kill9(pid: i32) {
        kill(Pid::from_raw(pid), Signal::SIGKILL).expect("kill -9");
    }
}

/// An access token from the identity provider at `issuer`, through the `tis` binary:
/// `who` is `["--user", "admin"]` (a demo user, by password) or `["--client", "etl"]`
/// (a client's credentials). Fails the test, with `tis token`'s error, when there is none.
pub fn token(tis: &str, issuer: &str, who: &[&str]) -> String {
    let out = std::process::Command::new(tis)
        .arg("token")
        .args(who)
        .args(["--issuer", issuer])
        .output()
        .expect("tis token");
    assert!(
        out.status.success(),
        "tis token {who:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let token = String::from_utf8(out.stdout).expect("utf-8");
    assert_eq!(token.lines().count(), 1, "tis token prints only the token");
    token.trim().to_owned()
}
