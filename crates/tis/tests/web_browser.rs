//! The web application in a real headless Chromium (Debian's `chromium`, driven by
//! `chromedriver` over the W3C WebDriver protocol: `browser/webdriver.rs`) against one real
//! `tis up`, its scenarios in sequence, each restoring what it stopped:
//!
//! 1. demo users sign in on the real login page, search, open a trainee, see a validation
//!    message beside its field, save contact details, see sensitive fields masked or not, and
//!    sign out; every page there is (posts, placements, the timeline, reference data and
//!    Profile administration included) is opened;
//! 2. Reference frozen (SIGSTOP of its instances), then Profile frozen, then TCS's writes
//!    unavailable (its PostgreSQL primary stopped; its replica serves the reads): the right
//!    banner on every page, no broken page (no server error, no internal error text, an
//!    outage page with the layout where the part behind it is down), edit forms disabled
//!    with the reason;
//! 3. the identity provider frozen: a page that needs a token refresh still renders while the
//!    access token is valid, and the session goes on once the provider is back; past the
//!    token's life the user is sent to sign in.
//!
//! axe-core (vendored in `tests/browser/`) must report no serious or critical violation on
//! any page visited; screenshots of every page are saved in `target/ci-artefacts/web/`.
//! Frozen processes are continued (SIGCONT) by a guard, on panic too. Without the browser or
//! its driver the test fails: it is never skipped (`.ci/run` installs `chromium` and
//! `chromium-driver`).

#[path = "browser/sessions.rs"]
mod sessions;
#[path = "browser/webdriver.rs"]
mod webdriver;

use std::path::{Path, PathBuf};
use std::time::Duration;

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use serde_json::Value;
use tis_testkit::pg::{ClusterOptions, PgCluster};
use tis_testkit::up::TisUp;
use tis_web::status::{REFERENCE_STALE, WRITES_DOWN};
use webdriver::{Browser, Driver};

const TIS: &str = env!("CARGO_BIN_EXE_tis");

/// How long a part of the system may take to be seen down, or back, on every page.
const SEEN: Duration = Duration::from_secs(90);

/// What a page must never show a user, whatever is down: a server error, or the technical
/// detail of one (it belongs in the log).
const INTERNAL: &[&str] = &[
    "Internal Server Error",
    "Bad Gateway",
    "Gateway Timeout",
    "panicked",
    "\"error\"",
    "sqlx",
    "reqwest",
    "hyper",
    "error sending request",
    "onnection refused",
    "timed out",
    "deadline",
    "primary_unavailable",
    "database_unavailable",
    "no_healthy_endpoint",
    "no healthy endpoint",
    "127.0.0.1",
];

/// Processes stopped with SIGSTOP, continued (SIGCONT) when [`thaw`](Frozen::thaw)ed or
/// dropped, on panic too: a stopped child of `tis up` would otherwise outlive the test.
struct Frozen(Vec<i32>);

impl Frozen {
    fn stop(pids: Vec<i32>) -> Frozen {
        for &pid in &pids {
            kill(Pid::from_raw(pid), Signal::SIGSTOP).expect("SIGSTOP");
        }
        Frozen(pids)
    }

    fn thaw(self) {}
}

impl Drop for Frozen {
    fn drop(&mut self) {
        for &pid in &self.0 {
            let _ = kill(Pid::from_raw(pid), Signal::SIGCONT);
        }
    }
}

/// The pids of every process of `service` (`reference`, `profile`, `idp`) in `up.json`.
fn pids_of(state: &Value, service: &str) -> Vec<i32> {
    let pids: Vec<i32> = state["processes"]
        .as_object()
        .expect("processes")
        .iter()
        .filter(|(name, p)| p["service"].as_str() == Some(service) || name.as_str() == service)
        .filter_map(|(_, p)| p["pid"].as_i64().and_then(|p| i32::try_from(p).ok()))
        .collect();
    assert!(!pids.is_empty(), "no {service} process in {state}");
    pids
}

/// `target/ci-artefacts/web/`, where `.ci/run` keeps its artefacts.
fn artefacts() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("the target folder")
        .join("ci-artefacts/web");
    std::fs::create_dir_all(&dir).expect("artefacts folder");
    dir
}

fn dob(html: &str) -> String {
    let marker = "Date of birth</dt><dd class=\"nhsuk-summary-list__value\">";
    let at = html.find(marker).expect("a date of birth row") + marker.len();
    html[at..].split('<').next().expect("value").to_owned()
}

/// The ids of the `/prefix<id>` links in `html` (digits, or a name up to the quote), in order.
fn links(html: &str, prefix: &str) -> Vec<String> {
    html.split(&format!("href=\"{prefix}"))
        .skip(1)
        .filter_map(|rest| rest.split(['"', '?', '/']).next())
        .filter(|id| !id.is_empty() && *id != "new")
        .map(str::to_owned)
        .collect()
}

fn first_link(html: &str, prefix: &str) -> Option<String> {
    links(html, prefix).into_iter().next()
}

/// Where the browsers go, and an HTTP client that sends a browser's session cookie to see
/// the status code a page was answered with.
struct Site {
    base: String,
    http: reqwest::Client,
}

impl Site {
    /// Opens `path`, waits for the page, checks it with axe and saves it as `name`.
    async fn visit(&self, b: &Browser, path: &str, name: &str) -> String {
        b.go(&format!("{}{path}", self.base)).await;
        let html = b.source_with("id=\"maincontent\"").await;
        b.check(name).await;
        html
    }

    /// The status code of `path` for `b`'s session, redirects not followed.
    async fn status(&self, b: &Browser, path: &str) -> (u16, Option<String>) {
        let cookie = b.cookie("TIS_SESSION").await;
        let res = self
            .http
            .get(format!("{}{path}", self.base))
            .header("cookie", format!("TIS_SESSION={cookie}"))
            .send()
            .await
            .expect("GET");
        let location = res
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        (res.status().as_u16(), location)
    }

    /// `path` while part of TIS is down: a page (200, or 503 where the part behind it is
    /// down), never a server error; the layout with the banner saying `banner`; no internal
    /// error text; accessible. Returns the page's main text.
    async fn told(&self, b: &Browser, path: &str, banner: &str, name: &str) -> String {
        let (status, _) = self.status(b, path).await;
        assert!(
            status == 200 || status == 503,
            "{path} answered {status} while {name}"
        );
        // Each web instance reuses the status for `web.status_cache` (5 s): the instance that
        // answers may not have seen the outage yet. Reload until it has.
        let want = banner.to_lowercase();
        b.reload_until(
            &format!("{}{path}", self.base),
            &format!("the banner of {path} says {banner:?}"),
            SEEN,
            |html| {
                html.find("id=\"status-banner\"")
                    .is_some_and(|at| html[at..].to_lowercase().contains(&want))
            },
        )
        .await;
        // The page that said it stays loaded: loading it again could reach the other web
        // instance, which may not have seen the outage yet (a red CI run did just that).
        b.source_with("id=\"maincontent\"").await;
        b.check(name).await;
        let shown = b.text("#status-banner").await;
        assert!(
            shown.to_lowercase().contains(&banner.to_lowercase()),
            "{path}: the banner should say {banner:?}: {shown:?}"
        );
        assert_eq!(
            b.count("header .nhsuk-header__service").await,
            1,
            "{path}: the layout"
        );
        let main = b.text("#maincontent").await;
        for raw in INTERNAL {
            assert!(!main.contains(raw), "{path} shows {raw:?}: {main}");
        }
        if status == 503 {
            assert!(
                main.contains("unavailable"),
                "{path}: says what is unavailable: {main}"
            );
        }
        main
    }

    /// A form while changes cannot be saved: disabled, with the reason above it.
    async fn form_disabled(&self, b: &Browser, path: &str, name: &str) {
        self.told(b, path, WRITES_DOWN, name).await;
        let reason = b.text("#writes-down").await;
        assert!(
            reason.contains(WRITES_DOWN),
            "{path}: the reason: {reason:?}"
        );
        assert_eq!(
            b.count("#maincontent form fieldset[disabled]").await,
            1,
            "{path}: the form is disabled"
        );
    }

    /// Reloads `path` until no banner is shown: everything is working again.
    async fn all_well(&self, b: &Browser, what: &str) {
        b.reload_until(&format!("{}/", self.base), what, SEEN, |html| {
            html.contains("id=\"maincontent\"") && !html.contains("id=\"status-banner\"")
        })
        .await;
    }
}

/// The web database's session row of `b`: `access_expires`, or `None` once it is gone.
async fn access_expires(web_db: &str, b: &Browser) -> Option<i64> {
    sessions::access_expires(web_db, &b.cookie("TIS_SESSION").await).await
}

/// Makes `b`'s access token look `left` seconds from its end: its next page needs a refresh.
async fn age_session(web_db: &str, b: &Browser, left: i64) -> i64 {
    sessions::age_session(web_db, &b.cookie("TIS_SESSION").await, left).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_a_real_browser_every_page_is_accessible_and_parts_down_are_told_never_broken() {
    // TCS's database on a PostgreSQL primary with a streaming replica, so that its writes can
    // be made unavailable (the primary stopped) while its reads go on; the rest on SQLite.
    let cluster = tokio::task::spawn_blocking(|| {
        PgCluster::start(ClusterOptions {
            replicas: 1,
            synchronous: false,
        })
    })
    .await
    .expect("join")
    .expect("a PostgreSQL primary and replica");
    cluster.create_database("tis_tcs").await.expect("tis_tcs");
    let driver = Driver::start().await;
    let up = TisUp::start(
        TIS,
        &[
            ("TIS_TCS__DATABASE__URL", cluster.primary.url("tis_tcs")),
            (
                "TIS_TCS__DATABASE__REPLICAS",
                format!("[\"{}\"]", cluster.replicas[0].url("tis_tcs")),
            ),
        ],
    );
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
    let site = Site {
        base: format!("http://{}", TisUp::addr_of(&state, "gateway", "addr")),
        http: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client"),
    };
    let web_db = sessions::web_db(&up);
    let shots = artefacts();
    println!("screenshots: {}", shots.display());

    let b = Browser::open(&driver, &shots).await;
    let p = Browser::open(&driver, &shots).await;
    let (person, placement) = every_page(&site, &b, &p, &driver, &shots).await;
    site.all_well(&b, "nothing down before the faults").await;
    reference_frozen(&site, &b, &state, &person, &placement).await;
    profile_frozen(&site, &b, &p, &state, &person).await;
    writes_unavailable(&site, &b, &p, &cluster, &person, &placement).await;
    idp_outage(&site, &b, &state, &web_db).await;
    b.close().await;
    p.close().await;
    drop(up);
    drop(cluster);
}

/// Every page, as the users who may see it; returns a trainee's record and a placement form.
async fn every_page(
    site: &Site,
    b: &Browser,
    p: &Browser,
    driver: &Driver,
    shots: &Path,
) -> (String, String) {
    let gateway = site.base.trim_start_matches("http://");
    b.sign_in(gateway, "admin").await;
    b.check("home").await;

    // Search, then open the first trainee found.
    b.go(&format!("{}/people", site.base)).await;
    b.fill("#q", "smith").await;
    b.click("#maincontent form button[type=submit]").await;
    b.source_with("People found").await;
    b.check("people-search").await;
    b.click("table a[href^='/people/']").await;
    let record = b.source_with("Programme memberships").await;
    assert!(record.contains("Timeline"), "the record's timeline");
    assert_eq!(
        dob(&record),
        "Not given",
        "admin does not see the date of birth"
    );
    let person = b.url().await.replace(&site.base, "");
    b.check("person").await;

    // A validation message beside its field, then a saved change.
    b.go(&format!("{}{person}/contact", site.base)).await;
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
    assert!(saved.contains("browser.test@nhs.net"), "{saved}");
    b.check("person-saved").await;

    // Programmes, curricula, posts and placements, reference data.
    let programmes = site.visit(b, "/programmes", "programmes").await;
    let programme = first_link(&programmes, "/programmes/").expect("a programme");
    site.visit(b, &format!("/programmes/{programme}"), "programme")
        .await;
    site.visit(b, "/curricula", "curricula").await;
    let posts = site.visit(b, "/posts?status=CURRENT", "posts").await;
    let mut placement = None;
    for post in links(&posts, "/posts/").into_iter().take(20) {
        b.go(&format!("{}/posts/{post}", site.base)).await;
        let html = b.source_with("id=\"maincontent\"").await;
        if let Some(id) = first_link(&html, "/placements/") {
            b.check("post").await;
            site.visit(
                b,
                &format!("/placements/new?postId={post}"),
                "placement-new",
            )
            .await;
            placement = Some(format!("/placements/{id}"));
            break;
        }
    }
    let placement = placement.expect("a current post with a placement");
    site.visit(b, &placement, "placement").await;
    let index = site.visit(b, "/admin/reference", "reference").await;
    assert!(index.contains("/admin/reference/grades"), "{index}");
    let grades = site
        .visit(b, "/admin/reference/grades", "reference-grades")
        .await;
    // "Placement grade" reads Yes or No, as the rendered table shows it, not true/false.
    let table = b.text("#maincontent table").await;
    assert!(
        table.contains("Yes") && !table.contains("true") && !table.contains("false"),
        "{table}"
    );
    let grade = first_link(&grades, "/admin/reference/grades/").expect("a grade");
    site.visit(
        b,
        &format!("/admin/reference/grades/{grade}"),
        "reference-grade",
    )
    .await;

    // Sign out: back at the provider's login page.
    b.go(&format!("{}/", site.base)).await;
    b.click("form[action='/auth/logout'] button").await;
    b.url_when("signed out, at the provider", |u| {
        u.contains("/realms/lin/")
    })
    .await;

    // The sensitive user sees the date of birth the admin did not.
    let s = Browser::open(driver, shots).await;
    s.sign_in(gateway, "sensitive").await;
    s.go(&format!("{}{person}", site.base)).await;
    let shown = dob(&s.source().await);
    assert!(
        shown.split(' ').count() == 3 && shown.ends_with(|c: char| c.is_ascii_digit()),
        "a date in words for sensitive: {shown}"
    );
    s.close().await;

    for user in ["trust.admin", "observer"] {
        let u = Browser::open(driver, shots).await;
        u.sign_in(gateway, user).await;
        u.check(&format!("home-{}", user.replace('.', "-"))).await;
        u.close().await;
    }

    // Profile administration, as its administrator (kept signed in for the faults).
    p.sign_in(gateway, "profile.admin").await;
    p.check("home-profile-admin").await;
    let users = site.visit(p, "/admin/users", "users").await;
    assert!(users.contains("href=\"/admin/users/observer\""), "{users}");
    site.visit(p, "/admin/users/observer", "user").await;
    site.visit(p, "/admin/roles", "roles").await;

    // The admin again, for the faults.
    b.sign_in(gateway, "admin").await;
    (person, placement)
}

/// Reference frozen: "Reference data may be out of date" on every page; trainee records,
/// placements and reference data still shown, or an outage page.
async fn reference_frozen(site: &Site, b: &Browser, state: &Value, person: &str, placement: &str) {
    let frozen = Frozen::stop(pids_of(state, "reference"));
    b.reload_until(
        &format!("{}/", site.base),
        "the banner says Reference is down",
        SEEN,
        |html| html.contains(REFERENCE_STALE),
    )
    .await;
    site.told(b, "/", REFERENCE_STALE, "reference-frozen-home")
        .await;
    site.told(b, person, REFERENCE_STALE, "reference-frozen-person")
        .await;
    site.told(b, placement, REFERENCE_STALE, "reference-frozen-placement")
        .await;
    // The gateway may answer reference reads from what it last saw (a notice says so), or
    // the page says Reference data is unavailable: either way a page, with the banner.
    site.told(
        b,
        "/admin/reference/grades",
        REFERENCE_STALE,
        "reference-frozen-grades",
    )
    .await;
    frozen.thaw();
    site.all_well(b, "Reference back").await;
}

/// Profile frozen: the banner names it; signed-in users keep working (the gateway's cached
/// profiles); its administration tells it is unavailable.
async fn profile_frozen(site: &Site, b: &Browser, p: &Browser, state: &Value, person: &str) {
    let frozen = Frozen::stop(pids_of(state, "profile"));
    let said = |html: &str| {
        html.find("id=\"status-banner\"")
            .is_some_and(|at| html[at..].to_lowercase().contains("profile"))
    };
    b.reload_until(
        &format!("{}/", site.base),
        "the banner says Profile is down",
        SEEN,
        said,
    )
    .await;
    site.told(b, "/", "profile", "profile-frozen-home").await;
    site.told(b, "/people?q=smith", "profile", "profile-frozen-people")
        .await;
    site.told(b, person, "profile", "profile-frozen-person")
        .await;
    let users = site
        .told(p, "/admin/users", "profile", "profile-frozen-users")
        .await;
    assert!(users.contains("unavailable"), "{users}");
    frozen.thaw();
    site.all_well(b, "Profile back").await;
}

/// TCS's primary stopped: "Changes cannot be saved" on every page, its forms disabled with the
/// reason, records still read (from the replica); then the primary started again.
async fn writes_unavailable(
    site: &Site,
    b: &Browser,
    p: &Browser,
    cluster: &PgCluster,
    person: &str,
    placement: &str,
) {
    tokio::task::block_in_place(|| cluster.primary.stop()).expect("stop the primary");
    let restart = || tokio::task::block_in_place(|| cluster.primary.start());
    b.reload_until(
        &format!("{}/", site.base),
        "the banner says changes cannot be saved",
        SEEN,
        |html| html.contains(WRITES_DOWN),
    )
    .await;
    site.told(b, "/", WRITES_DOWN, "writes-down-home").await;
    let record = site
        .told(b, person, WRITES_DOWN, "writes-down-person")
        .await;
    assert!(record.contains("Programme memberships"), "read: {record}");
    site.form_disabled(b, &format!("{person}/contact"), "writes-down-contact")
        .await;
    site.form_disabled(b, placement, "writes-down-placement")
        .await;
    site.form_disabled(p, "/admin/users/observer", "writes-down-user")
        .await;
    restart().expect("start the primary again");
    site.all_well(b, "writes back").await;
}

/// The identity provider frozen: a page that needs a token refresh still renders while the
/// access token is valid (the refresh fails, the session lives on), and refreshes once the
/// provider is back; past the access token's life the user is sent to sign in.
async fn idp_outage(site: &Site, b: &Browser, state: &Value, web_db: &str) {
    let idp = pids_of(state, "idp");
    let frozen = Frozen::stop(idp.clone());
    let due = age_session(web_db, b, 20).await;
    b.go(&format!("{}/people?q=smith", site.base)).await;
    b.source_with("Signed in as <strong>admin</strong>").await;
    b.source_with("People found").await;
    // Said as it is: signed in until the access token's end, not "you stay signed in".
    b.source_with("You are signed in until ").await;
    b.check("idp-frozen-people").await;
    assert_eq!(
        access_expires(web_db, b).await,
        Some(due),
        "not refreshed: the provider is frozen"
    );
    frozen.thaw();
    b.go(&format!("{}/", site.base)).await;
    b.source_with("Signed in as <strong>admin</strong>").await;
    let renewed = access_expires(web_db, b).await.expect("the session");
    assert!(renewed > due + 60, "refreshed once the provider is back");

    // Past the access token's life, the provider still frozen: sent to sign in.
    let frozen = Frozen::stop(idp);
    age_session(web_db, b, -1).await;
    let (status, location) = site.status(b, "/people").await;
    assert!(
        (300..400).contains(&status)
            && location
                .as_deref()
                .is_some_and(|l| l.starts_with("/auth/login?return_to=%2Fpeople")),
        "{status} {location:?}"
    );
    assert_eq!(access_expires(web_db, b).await, None, "the session ended");
    // Signing in while the provider does not answer: TIS's page that says so, not the
    // browser's "cannot be reached" for the provider's address.
    b.go(&format!("{}/auth/login?return_to=%2Fpeople", site.base))
        .await;
    b.source_with("Signing in is unavailable right now").await;
    // This browser's session has just ended: the page says so.
    let main = b.text("#maincontent").await;
    assert!(
        main.contains("Your sign-in has ended") && !main.contains("stay signed in"),
        "{main}"
    );
    b.check("idp-frozen-sign-in").await;
    frozen.thaw();
    // Signing in again: the provider's login form, or straight back signed in by the
    // provider's own session (Keycloak's single sign-on), never an error.
    b.go(&format!("{}/people?q=smith", site.base)).await;
    b.source_when("the login form, or signed in again", |html| {
        html.contains("id=\"username\"") || html.contains("People found")
    })
    .await;
}
