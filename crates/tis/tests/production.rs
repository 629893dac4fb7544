//! What the real `tis` binary does with a configuration it must not run (issue 16, items
//! 2–4 and 6): every missing or invalid key in one message and exit code 2; in production,
//! every development shortcut and unsafe setting refused at start (or, where production
//! allows it, a warn log line naming the key); and a service that lets access tokens in
//! only where it should.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tis_auth::testing::{self, FakeIdp, TestKey};

const TIS: &str = env!("CARGO_BIN_EXE_tis");

/// `tis --config <dir>/tis.toml <args>` in `dir` with `config`, no `TIS_…` variable of
/// ours, to its end (each of these exits at once).
fn run(dir: &Path, config: &str, args: &[&str]) -> Output {
    let file = dir.join("tis.toml");
    std::fs::write(&file, config).expect("config");
    let mut cmd = Command::new(TIS);
    cmd.arg("--config").arg(&file).args(args).current_dir(dir);
    for (k, _) in std::env::vars().filter(|(k, _)| k.starts_with("TIS_")) {
        cmd.env_remove(k);
    }
    cmd.stdin(Stdio::null()).output().expect("run tis")
}

/// Asserts `out` is exit code 2 with one message on stderr naming every key of `keys`.
fn refused(out: &Output, keys: &[&str]) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    for key in keys {
        assert!(
            stderr.contains(&format!("`{key}`")),
            "{key} not named: {stderr}"
        );
    }
    assert_eq!(
        stderr.matches("invalid configuration").count(),
        1,
        "one message: {stderr}"
    );
    stderr
}

fn secret(dir: &Path, name: &str, text: &str, mode: u32) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).expect("chmod");
    path
}

fn principal_keys(dir: &Path) -> (PathBuf, PathBuf) {
    let (key, public) = (dir.join("principal.key"), dir.join("principal.pub"));
    tis_auth::principal::keyfile::generate_keypair_files(&key, &public).expect("keys");
    (key, public)
}

#[test]
fn missing_settings_exit_2_naming_every_key_in_one_message() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = run(
        dir.path(),
        "[gateway]\nlisten = \"127.0.0.1:0\"\nadmin_listen = \"127.0.0.1:0\"\n",
        &["gateway"],
    );
    refused(
        &out,
        &[
            "gateway.auth.issuer",
            "gateway.auth.audience",
            "gateway.principal.signing_key_file",
        ],
    );

    let out = run(dir.path(), "", &["serve", "reference"]);
    refused(&out, &["reference.principal.trusted_key_files"]);

    let out = run(
        dir.path(),
        "[profile]\nmax_page_size = 0\n",
        &["serve", "profile"],
    );
    refused(
        &out,
        &[
            "profile.principal.trusted_key_files",
            "profile.access_tokens",
            "profile.max_page_size",
        ],
    );

    // A key file that is not there is a configuration problem too, named with the others.
    let out = run(
        dir.path(),
        "[reference]\nmax_items = 0\nprincipal = { trusted_key_files = [\"/nonexistent/gateway.pub\"] }\n",
        &["serve", "reference"],
    );
    refused(
        &out,
        &[
            "reference.principal.trusted_key_files",
            "reference.max_items",
        ],
    );
}

#[test]
fn production_refuses_every_development_shortcut_at_start() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (_, public) = principal_keys(dir.path());

    // Demo data, and a database left at the development default (a SQLite file).
    let out = run(
        dir.path(),
        &format!(
            "mode = \"production\"\n[reference]\ndemo_data = true\n\
             principal = {{ trusted_key_files = [\"{}\"] }}\n",
            public.display()
        ),
        &["serve", "reference"],
    );
    refused(&out, &["reference.demo_data", "reference.database.url"]);
    assert!(
        !dir.path().join("reference.db").exists(),
        "nothing was created"
    );

    // The development identity provider, demo realm or not.
    let out = run(dir.path(), "mode = \"production\"\n", &["idp"]);
    refused(&out, &["mode"]);
    assert!(
        !dir.path().join(".tis").exists(),
        "no realm, no keys written"
    );
}

#[test]
fn production_refuses_plain_http_keys_a_key_others_can_read_and_open_admin_writes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (key, _) = principal_keys(dir.path());
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    let config = format!(
        "mode = \"production\"\n[gateway]\nlisten = \"127.0.0.1:0\"\nadmin_listen = \"127.0.0.1:0\"\n\
         [gateway.auth]\nissuer = \"http://login.example.org/realms/lin\"\naudience = \"tis\"\n\
         [gateway.principal]\nsigning_key_file = \"{}\"\n",
        key.display()
    );
    let out = run(dir.path(), &config, &["gateway"]);
    let stderr = refused(
        &out,
        &[
            "gateway.auth.issuer",
            "gateway.principal.signing_key_file",
            "gateway.admin_token_file",
        ],
    );
    assert!(stderr.contains("0644"), "{stderr}");

    // The same in local mode starts (and is stopped here once it has said so).
    let mut gateway = Spawned::start(dir.path(), &config.replace("production", "local"));
    gateway.wait_for_line("gateway ready");
}

#[test]
fn production_warns_about_an_admin_listener_off_loopback() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (key, _) = principal_keys(dir.path());
    let token = secret(
        dir.path(),
        "admin.token",
        "4b1f0c9d8e7a6b5c4d3e2f1a0b9c8d7e\n",
        0o600,
    );
    let config = format!(
        "mode = \"production\"\n[gateway]\nlisten = \"127.0.0.1:0\"\nadmin_listen = \"0.0.0.0:0\"\n\
         admin_token_file = \"{}\"\n\
         [gateway.auth]\nissuer = \"https://127.0.0.1:1/realms/lin\"\naudience = \"tis\"\n\
         [gateway.principal]\nsigning_key_file = \"{}\"\n",
        token.display(),
        key.display()
    );
    let mut gateway = Spawned::start(dir.path(), &config);
    let line = gateway.wait_for_line("gateway.admin_listen");
    let v: serde_json::Value = serde_json::from_str(&line).expect("an ECS JSON line");
    assert_eq!(v["log.level"], "warn", "{line}");
    assert_eq!(v["tis.config.key"], "gateway.admin_listen", "{line}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_service_lets_access_tokens_in_locally_and_in_production_only_when_accepted() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (_, public) = principal_keys(dir.path());
    let key = TestKey::ec("production-test");
    let idp = FakeIdp::start(testing::jwks(&[&key])).await;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_secs();
    let token = key.sign(&testing::claims(&idp.issuer(), now));
    let section = |mode: &str, accept: &str| {
        format!(
            "mode = \"{mode}\"\n[reference]\nlisten = \"127.0.0.1:0\"\n{accept}\
             principal = {{ trusted_key_files = [\"{}\"] }}\n\
             database = {{ url = \"sqlite://{}?mode=rwc\" }}\n\
             access_tokens = {{ issuer = \"{}\", audience = \"{}\" }}\n",
            public.display(),
            dir.path().join("reference.db").display(),
            idp.issuer(),
            testing::AUDIENCE,
        )
    };
    let client = reqwest::Client::new();
    for (mode, accept, status) in [
        ("local", "", 200),
        ("production", "", 401),
        ("production", "accept_access_tokens = true\n", 200),
        ("local", "accept_access_tokens = false\n", 401),
    ] {
        let mut service = Spawned::serve(dir.path(), &section(mode, accept));
        let addr = service.wait_for_field("server.address");
        let url = format!("http://{addr}/reference/api/grades");
        // Ready once migrated: until then API requests are refused with a 503.
        let got = tis_testkit::wait::until(
            "the instance to answer",
            Duration::from_secs(30),
            Duration::from_millis(20),
            || async {
                let res = client.get(&url).bearer_auth(&token).send().await.ok()?;
                (res.status() != 503).then(|| res.status().as_u16())
            },
        )
        .await
        .expect("ready");
        assert_eq!(got, status, "mode {mode}, {accept:?}");
    }
}

/// A long-running `tis` process whose stdout lines are collected; killed when dropped.
struct Spawned {
    child: Child,
    lines: Arc<Mutex<Vec<String>>>,
}

impl Spawned {
    fn start(dir: &Path, config: &str) -> Spawned {
        Spawned::spawn(dir, config, &["gateway"])
    }

    fn serve(dir: &Path, config: &str) -> Spawned {
        Spawned::spawn(dir, config, &["serve", "reference"])
    }

    fn spawn(dir: &Path, config: &str, args: &[&str]) -> Spawned {
        let file = dir.join("long.toml");
        std::fs::write(&file, config).expect("config");
        let mut cmd = Command::new(TIS);
        cmd.arg("--config").arg(&file).args(args).current_dir(dir);
        for (k, _) in std::env::vars().filter(|(k, _)| k.starts_with("TIS_")) {
            cmd.env_remove(k);
        }
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn tis");
        let lines = Arc::new(Mutex::new(Vec::new()));
        for out in [
            child
                .stdout
                .take()
                .map(|o| Box::new(o) as Box<dyn std::io::Read + Send>),
            child
                .stderr
                .take()
                .map(|o| Box::new(o) as Box<dyn std::io::Read + Send>),
        ]
        .into_iter()
        .flatten()
        {
            let lines = lines.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(out).lines().map_while(Result::ok) {
                    lines.lock().expect("lock").push(line);
                }
            });
        }
        Spawned { child, lines }
    }

    /// The first line containing `text`, waiting up to 30 s (failing if the process exits).
    fn wait_for_line(&mut self, text: &str) -> String {
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(line) = self
                .lines
                .lock()
                .expect("lock")
                .iter()
                .find(|l| l.contains(text))
            {
                return line.clone();
            }
            let all = || self.lines.lock().expect("lock").join("\n");
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                panic!("exited ({status}) before saying {text:?}:\n{}", all());
            }
            assert!(
                std::time::Instant::now() < deadline,
                "never said {text:?}:\n{}",
                all()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// The string value of `field` in the first JSON line that has it.
    fn wait_for_field(&mut self, field: &str) -> String {
        let line = self.wait_for_line(&format!("\"{field}\""));
        let v: serde_json::Value = serde_json::from_str(&line).expect("JSON line");
        v[field].as_str().expect("a string").to_owned()
    }
}

impl Drop for Spawned {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn a_new_production_database_gets_its_first_administrator_from_the_command_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite://{}", dir.path().join("profile.db").display());
    let config = "mode = \"production\"\n";
    let out = run(
        dir.path(),
        config,
        &[
            "profile",
            "add-user",
            "alice",
            "--role",
            "HEE Admin",
            "--role",
            "ProfileAdmin",
            "--dbc",
            "1-AIIDWA",
            "--database-url",
            &url,
        ],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr
            .contains("created `alice`: roles HEE Admin, ProfileAdmin; designated bodies 1-AIIDWA"),
        "{stderr}"
    );

    // Again, one more designated body: added, nothing removed.
    let out = run(
        dir.path(),
        config,
        &[
            "profile",
            "add-user",
            "alice",
            "--role",
            "HEE Admin",
            "--dbc",
            "1-AIIDVS",
            "--database-url",
            &url,
        ],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains(
            "updated `alice`: roles HEE Admin, ProfileAdmin; designated bodies 1-AIIDVS, 1-AIIDWA"
        ),
        "{stderr}"
    );

    // An unknown role: a failure naming it and the roles there are.
    let out = run(
        dir.path(),
        config,
        &[
            "profile",
            "add-user",
            "bob",
            "--role",
            "Wizard",
            "--database-url",
            &url,
        ],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(
        stderr.contains("no role named `Wizard`") && stderr.contains("HEE Admin"),
        "{stderr}"
    );
}
