//! The web application in a real headless Chromium (Debian's `chromium`, driven by
//! `chromedriver` over the W3C WebDriver protocol, spoken here with plain HTTP) against a real
//! `tis up`: demo users sign in on the real login page, search, open a trainee, see a
//! validation message beside its field, save contact details, see sensitive fields masked or
//! not, and sign out. axe-core (vendored in `tests/browser/`) must report no serious or
//! critical violation on any page visited; screenshots of the main pages are saved in the
//! folder the test prints. Without the browser or its driver the test fails: it is never
//! skipped (`.ci/run` installs `chromium` and `chromium-driver`).

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use base64::Engine as _;
use serde_json::{Value, json};
use tis_testkit::up::TisUp;
use tokio::io::{AsyncBufReadExt, BufReader};

const TIS: &str = env!("CARGO_BIN_EXE_tis");
const CHROMIUM: &str = "/usr/bin/chromium";
const AXE: &str = include_str!("browser/axe.min.js");
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// `chromedriver` on a free port, killed when dropped.
struct Driver {
    _process: tokio::process::Child,
    url: String,
}

impl Driver {
    async fn start() -> Driver {
        assert!(
            std::path::Path::new(CHROMIUM).exists(),
            "{CHROMIUM} is missing: apt-get install chromium (see .ci/run)"
        );
        let mut process = tokio::process::Command::new("chromedriver")
            .arg("--port=0")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("chromedriver is missing: apt-get install chromium-driver (see .ci/run)");
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
            _process: process,
            url: format!("http://127.0.0.1:{port}"),
        }
    }
}

/// One browser session.
struct Browser {
    http: reqwest::Client,
    base: String,
    shots: PathBuf,
}

impl Browser {
    async fn open(driver: &Driver, shots: PathBuf) -> Browser {
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
            shots,
        }
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
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

    async fn go(&self, url: &str) {
        self.call(reqwest::Method::POST, "/url", Some(json!({"url": url})))
            .await;
    }

    async fn url(&self) -> String {
        let v = self.call(reqwest::Method::GET, "/url", None).await;
        v.as_str().expect("url").to_owned()
    }

    async fn source(&self) -> String {
        let v = self.call(reqwest::Method::GET, "/source", None).await;
        v.as_str().expect("source").to_owned()
    }

    async fn find(&self, css: &str) -> String {
        let v = self
            .call(
                reqwest::Method::POST,
                "/element",
                Some(json!({"using": "css selector", "value": css})),
            )
            .await;
        v[ELEMENT].as_str().expect("element").to_owned()
    }

    async fn fill(&self, css: &str, text: &str) {
        let e = self.find(css).await;
        self.call(
            reqwest::Method::POST,
            &format!("/element/{e}/clear"),
            Some(json!({})),
        )
        .await;
        self.call(
            reqwest::Method::POST,
            &format!("/element/{e}/value"),
            Some(json!({"text": text})),
        )
        .await;
    }

    async fn click(&self, css: &str) {
        let e = self.find(css).await;
        self.call(
            reqwest::Method::POST,
            &format!("/element/{e}/click"),
            Some(json!({})),
        )
        .await;
    }

    /// axe-core's serious and critical violations of WCAG 2.x A and AA on the current page.
    async fn axe(&self) -> Vec<String> {
        self.call(
            reqwest::Method::POST,
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
                reqwest::Method::POST,
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
    async fn check(&self, name: &str) {
        let violations = self.axe().await;
        assert!(
            violations.is_empty(),
            "{name} ({}): {violations:#?}",
            self.url().await
        );
        let png = self.call(reqwest::Method::GET, "/screenshot", None).await;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(png.as_str().expect("base64"))
            .expect("png");
        std::fs::write(self.shots.join(format!("{name}.png")), bytes).expect("screenshot");
    }

    /// The page's source once it contains `text` (a click's navigation may still be under
    /// way when the click returns); fails after 15 s with the page it last saw.
    async fn source_with(&self, text: &str) -> String {
        let found = tis_testkit::wait::until(
            text,
            Duration::from_secs(15),
            Duration::from_millis(50),
            || async { Some(self.source().await).filter(|s| s.contains(text)) },
        )
        .await;
        match found {
            Ok(html) => html,
            Err(_) => panic!(
                "no {text:?} in {}: {}",
                self.url().await,
                self.source().await
            ),
        }
    }

    async fn sign_in(&self, gateway: &str, user: &str) {
        self.go(&format!("http://{gateway}/")).await;
        assert!(self.url().await.contains("/realms/lin/"), "the login page");
        self.fill("#username", user).await;
        self.fill("#password", "tis").await;
        self.click("button[type=submit], input[type=submit]").await;
        self.source_with(&format!("Signed in as <strong>{user}</strong>"))
            .await;
    }

    async fn close(self) {
        let _ = self.http.delete(&self.base).send().await;
    }
}

fn dob(html: &str) -> String {
    let marker = "Date of birth</dt><dd class=\"nhsuk-summary-list__value\">";
    let at = html.find(marker).expect("a date of birth row") + marker.len();
    html[at..].split('<').next().expect("value").to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_a_real_browser_users_sign_in_search_edit_see_masking_and_sign_out_accessibly() {
    let driver = Driver::start().await;
    let up = TisUp::start(TIS, &[]);
    let state = up
        .state_when("the system ready", |s| {
            TisUp::has(
                s,
                &[
                    "idp",
                    "gateway",
                    "profile-1",
                    "reference-1",
                    "tcs-1",
                    "web-1",
                ],
            )
        })
        .await;
    let gateway = TisUp::addr_of(&state, "gateway", "addr");
    let shots = std::env::var_os("CARGO_TARGET_TMPDIR")
        .map(PathBuf::from)
        .unwrap_or_else(std::env::temp_dir)
        .join("web-screenshots");
    std::fs::create_dir_all(&shots).expect("screenshot folder");
    println!("screenshots: {}", shots.display());

    let b = Browser::open(&driver, shots.clone()).await;
    b.sign_in(&gateway, "admin").await;
    b.check("home").await;

    // Search, then open the first trainee found.
    b.go(&format!("http://{gateway}/people")).await;
    b.fill("#q", "smith").await;
    b.click("#maincontent form button[type=submit]").await;
    b.source_with("People found").await;
    b.check("people-search").await;
    b.click("table a[href^='/people/']").await;
    let record = b.source_with("Programme memberships").await;
    assert!(record.contains("Programme memberships"), "{record}");
    assert_eq!(
        dob(&record),
        "Not given",
        "admin does not see the date of birth"
    );
    let person = b.url().await;
    b.check("person").await;

    // A validation message beside its field, then a saved change.
    b.go(&format!("{person}/contact")).await;
    b.fill("#email", "not an address").await;
    b.click("#maincontent form button[type=submit]").await;
    let errors = b.source_with("There is a problem").await;
    assert!(
        errors.contains("nhsuk-error-summary") && errors.contains("id=\"email-error\""),
        "{}",
        &errors[errors.find("maincontent").unwrap_or(0)..]
    );
    b.check("contact-error").await;
    b.fill("#email", "browser.test@nhs.net").await;
    b.fill("#telephoneNumber", "0113 496 0000").await;
    b.click("#maincontent form button[type=submit]").await;
    let saved = b.source_with("Contact details saved.").await;
    assert!(
        saved.contains("Contact details saved.") && saved.contains("browser.test@nhs.net"),
        "{saved}"
    );
    b.check("person-saved").await;
    b.go(&format!("http://{gateway}/programmes")).await;
    b.check("programmes").await;

    // Sign out: back at the provider's login page.
    b.go(&format!("http://{gateway}/")).await;
    b.click("form[action='/auth/logout'] button").await;
    assert!(b.url().await.contains("/realms/lin/"), "signed out");
    b.close().await;

    // The sensitive user sees the date of birth the admin did not.
    let s = Browser::open(&driver, shots.clone()).await;
    s.sign_in(&gateway, "sensitive").await;
    s.go(&person).await;
    let shown = dob(&s.source().await);
    assert!(
        shown.split(' ').count() == 3 && shown.ends_with(|c: char| c.is_ascii_digit()),
        "a date in words for sensitive: {shown}"
    );
    s.close().await;

    for user in ["trust.admin", "observer", "profile.admin"] {
        let u = Browser::open(&driver, shots.clone()).await;
        u.sign_in(&gateway, user).await;
        u.check(&format!("home-{}", user.replace('.', "-"))).await;
        u.close().await;
    }
}
