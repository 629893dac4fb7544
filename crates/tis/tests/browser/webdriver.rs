//! A headless Chromium driven by `chromedriver` over the W3C WebDriver protocol, spoken with
//! plain HTTP: open a session, go to a page, read it, fill and click, run axe-core, save a
//! screenshot. Used by `web_browser.rs`.

use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use base64::Engine as _;
use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use reqwest::Method;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};

const CHROMIUM: &str = "/usr/bin/chromium";
const AXE: &str = include_str!("axe.min.js");
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// How long a page may take to show what a test waits for (debug builds, a loaded machine).
pub const PAGE_WAIT: Duration = Duration::from_secs(30);

/// `chromedriver` on a free port and every Chromium it starts, in a process group of their
/// own: killed together when the driver is dropped, at the test's end and when it panics
/// (unwinding drops it), and by a watchdog if the test process itself is killed. Killing
/// `chromedriver` alone (`kill_on_drop`) left its browsers running after a failed test.
/// Their temporary files (profiles, `TMPDIR`) are in a folder removed with them.
pub struct Driver {
    process: tokio::process::Child,
    url: String,
    _tmp: tempfile::TempDir,
    /// Left running: it outlives the driver, to clean up after a killed test process.
    _watchdog: std::process::Child,
}

impl Driver {
    pub async fn start() -> Driver {
        assert!(
            Path::new(CHROMIUM).exists(),
            "{CHROMIUM} is missing: apt-get install chromium (see .ci/run)"
        );
        let tmp = tempfile::tempdir().expect("a folder for the browsers");
        let mut process = tokio::process::Command::new("chromedriver")
            .arg("--port=0")
            .env("TMPDIR", tmp.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .process_group(0)
            .kill_on_drop(true)
            .spawn()
            .expect("chromedriver is missing: apt-get install chromium-driver (see .ci/run)");
        let pid = process.id().expect("chromedriver's pid");
        let watchdog = watchdog(pid, tmp.path());
        let mut lines = BufReader::new(process.stdout.take().expect("stdout")).lines();
        let port = tokio::time::timeout(Duration::from_secs(30), async {
            while let Some(line) = lines.next_line().await.expect("chromedriver output") {
                if let Some(rest) = line.split("started successfully on port ").nth(1) {
                    return rest.trim_end_matches('.').trim().to_owned();
                }
            }
            panic!("chromedriver exited before announcing its port")
        })
        .await
        .expect("chromedriver announces its port");
        // Keep reading its output so that it never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Driver {
            process,
            url: format!("http://127.0.0.1:{port}"),
            _tmp: tmp,
            _watchdog: watchdog,
        }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let Some(pid) = self.process.id().and_then(|p| i32::try_from(p).ok()) else {
            return;
        };
        let _ = killpg(Pid::from_raw(pid), Signal::SIGKILL);
        // Reaped here, so that its folder is not removed under a process still exiting.
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while matches!(self.process.try_wait(), Ok(None)) && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

/// A detached shell that kills process group `group` and removes `tmp` once this test process
/// is gone, however it ended (a SIGKILL runs no `Drop`).
fn watchdog(group: u32, tmp: &Path) -> std::process::Child {
    let script = format!(
        "while [ -d /proc/{me} ]; do sleep 1; done; kill -9 -{group} 2>/dev/null; rm -rf '{tmp}'",
        me = std::process::id(),
        tmp = tmp.display(),
    );
    std::process::Command::new("/bin/sh")
        .arg("-c")
        .arg(script)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()
        .expect("the browser watchdog")
}

/// One browser session (its own profile: its own cookies).
pub struct Browser {
    http: reqwest::Client,
    base: String,
    shots: PathBuf,
}

impl Browser {
    pub async fn open(driver: &Driver, shots: &Path) -> Browser {
        let http = reqwest::Client::new();
        let caps = json!({"capabilities": {"alwaysMatch": {"browserName": "chrome",
            "goog:chromeOptions": {"binary": CHROMIUM,
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1280,1100"]}}}});
        let res: Value = http
            .post(format!("{}/session", driver.url))
            .json(&caps)
            .send()
            .await
            .expect("new session")
            .json()
            .await
            .expect("json");
        let id = res["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no browser session: {res}"));
        Browser {
            base: format!("{}/session/{id}", driver.url),
            http,
            shots: shots.to_owned(),
        }
    }

    async fn call(&self, method: Method, path: &str, body: Option<Value>) -> Value {
        let mut req = self.http.request(method, format!("{}{path}", self.base));
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res: Value = req
            .send()
            .await
            .expect("webdriver")
            .json()
            .await
            .expect("json");
        assert!(res["value"]["error"].is_null(), "{path}: {res}");
        res["value"].clone()
    }

    pub async fn go(&self, url: &str) {
        self.call(Method::POST, "/url", Some(json!({"url": url})))
            .await;
    }

    pub async fn url(&self) -> String {
        let v = self.call(Method::GET, "/url", None).await;
        v.as_str().expect("url").to_owned()
    }

    pub async fn source(&self) -> String {
        let v = self.call(Method::GET, "/source", None).await;
        v.as_str().expect("source").to_owned()
    }

    /// The value of cookie `name` (HttpOnly ones too: WebDriver sees every cookie).
    pub async fn cookie(&self, name: &str) -> String {
        let v = self
            .call(Method::GET, &format!("/cookie/{name}"), None)
            .await;
        v["value"].as_str().expect("cookie value").to_owned()
    }

    async fn find(&self, css: &str) -> String {
        let v = self
            .call(
                Method::POST,
                "/element",
                Some(json!({"using": "css selector", "value": css})),
            )
            .await;
        v[ELEMENT].as_str().expect("element").to_owned()
    }

    /// How many elements `css` matches.
    pub async fn count(&self, css: &str) -> usize {
        let v = self
            .call(
                Method::POST,
                "/elements",
                Some(json!({"using": "css selector", "value": css})),
            )
            .await;
        v.as_array().map_or(0, Vec::len)
    }

    /// The text of the first element `css` matches, as rendered ("" when there is none).
    pub async fn text(&self, css: &str) -> String {
        if self.count(css).await == 0 {
            return String::new();
        }
        let e = self.find(css).await;
        let v = self
            .call(Method::GET, &format!("/element/{e}/text"), None)
            .await;
        v.as_str().unwrap_or_default().to_owned()
    }

    pub async fn fill(&self, css: &str, text: &str) {
        let e = self.find(css).await;
        self.call(
            Method::POST,
            &format!("/element/{e}/clear"),
            Some(json!({})),
        )
        .await;
        self.call(
            Method::POST,
            &format!("/element/{e}/value"),
            Some(json!({"text": text})),
        )
        .await;
    }

    pub async fn click(&self, css: &str) {
        let e = self.find(css).await;
        self.call(
            Method::POST,
            &format!("/element/{e}/click"),
            Some(json!({})),
        )
        .await;
    }

    /// axe-core's serious and critical violations of WCAG 2.x A and AA on the current page.
    async fn axe(&self) -> Vec<String> {
        self.call(
            Method::POST,
            "/execute/sync",
            Some(json!({"script": format!("{AXE}\nreturn typeof axe;"), "args": []})),
        )
        .await;
        let script = "const done = arguments[arguments.length - 1];
            axe.run(document, {runOnly: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa']})
              .then(r => done(r.violations.filter(v => v.impact === 'serious' || v.impact === 'critical')
                .map(v => v.impact + ' ' + v.id + ': ' + v.help + ' at ' + v.nodes.map(n => n.target.join(' ')).join(', '))))
              .catch(e => done(['axe failed: ' + e]));";
        let v = self
            .call(
                Method::POST,
                "/execute/async",
                Some(json!({"script": script, "args": []})),
            )
            .await;
        v.as_array()
            .expect("violations")
            .iter()
            .map(|x| x.as_str().unwrap_or_default().to_owned())
            .collect()
    }

    /// Checks the page with axe and saves a screenshot as `<name>.png`.
    pub async fn check(&self, name: &str) {
        let violations = self.axe().await;
        assert!(
            violations.is_empty(),
            "{name} ({}): {violations:#?}",
            self.url().await
        );
        self.screenshot(name).await;
    }

    pub async fn screenshot(&self, name: &str) {
        let png = self.call(Method::GET, "/screenshot", None).await;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(png.as_str().expect("base64"))
            .expect("png");
        std::fs::write(self.shots.join(format!("{name}.png")), bytes).expect("screenshot");
    }

    /// The page's source once it contains `text` (a click's navigation may still be under
    /// way when the click returns); fails after [`PAGE_WAIT`] with the page it last saw.
    pub async fn source_with(&self, text: &str) -> String {
        self.source_when(text, |s| s.contains(text)).await
    }

    /// The page's source once `ok` holds for it; fails after [`PAGE_WAIT`] with the page it
    /// last saw.
    pub async fn source_when(&self, what: &str, ok: impl Fn(&str) -> bool) -> String {
        self.seen_when(what, || self.source(), ok).await
    }

    /// What `read` gives (the page's source, its URL) once `ok` holds for it, polled every
    /// 50 ms; fails after [`PAGE_WAIT`] with the URL and the page it last saw.
    async fn seen_when<F: Future<Output = String>>(
        &self,
        what: &str,
        read: impl Fn() -> F,
        ok: impl Fn(&str) -> bool,
    ) -> String {
        let found =
            tis_testkit::wait::until(what, PAGE_WAIT, Duration::from_millis(50), || async {
                Some(read().await).filter(|s| ok(s))
            })
            .await;
        match found {
            Ok(seen) => seen,
            Err(_) => panic!(
                "no {what:?} at {}: {}",
                self.url().await,
                self.source().await
            ),
        }
    }

    /// Goes to `url` again and again until `ok` holds for its source (a part of the system
    /// taking its time to be seen down, or up again), failing after `within` with the page
    /// it last saw.
    pub async fn reload_until(
        &self,
        url: &str,
        what: &str,
        within: Duration,
        ok: impl Fn(&str) -> bool,
    ) -> String {
        let found = tis_testkit::wait::until(what, within, Duration::from_millis(250), || async {
            self.go(url).await;
            Some(self.source().await).filter(|s| ok(s))
        })
        .await;
        match found {
            Ok(html) => html,
            Err(_) => panic!(
                "{what}: not within {within:?} at {url}: {}",
                self.source().await
            ),
        }
    }

    /// The current URL once `ok` holds for it (a click's navigation and its redirects may
    /// still be under way when the click returns); fails after [`PAGE_WAIT`].
    pub async fn url_when(&self, what: &str, ok: impl Fn(&str) -> bool) -> String {
        self.seen_when(what, || self.url(), ok).await
    }

    pub async fn sign_in(&self, gateway: &str, user: &str) {
        self.go(&format!("http://{gateway}/")).await;
        assert!(self.url().await.contains("/realms/lin/"), "the login page");
        self.fill("#username", user).await;
        self.fill("#password", "tis").await;
        self.click("button[type=submit], input[type=submit]").await;
        self.source_with(&format!("Signed in as <strong>{user}</strong>"))
            .await;
    }

    pub async fn close(self) {
        let _ = self.http.delete(&self.base).send().await;
    }
}
