//! The web application through the real system (`tis up`: `tis idp` with its login page, the
//! gateway on an ephemeral port, Profile, Reference, TCS, two web instances): a browser played
//! by a cookie-jar HTTP client that follows the real redirects, signs in on the real login
//! form, searches, opens a trainee, edits their contact details, and signs out; and each of
//! the refusals the issue lists (forged and replayed session cookies, missing and wrong CSRF
//! tokens, an open redirect after login, markup in a text field, another person's id in a
//! form), with the security headers on every page.

#[path = "browser/sessions.rs"]
mod sessions;

use std::sync::Arc;

use reqwest::cookie::{CookieStore, Jar};
use reqwest::redirect::Policy;
use tis_testkit::up::TisUp;

const TIS: &str = env!("CARGO_BIN_EXE_tis");

/// Every process the tests need, ready.
const READY: &[&str] = &[
    "idp",
    "gateway",
    "profile-1",
    "reference-1",
    "tcs-1",
    "web-1",
    "web-2",
];

/// A browser: a cookie jar, and a client that follows redirects and one that does not.
struct Browser {
    jar: Arc<Jar>,
    follow: reqwest::Client,
    manual: reqwest::Client,
    gateway: String,
}

struct Page {
    status: u16,
    url: String,
    headers: reqwest::header::HeaderMap,
    html: String,
}

impl Browser {
    fn new(gateway: &str) -> Browser {
        let jar = Arc::new(Jar::default());
        let client = |policy| {
            reqwest::Client::builder()
                .cookie_provider(jar.clone())
                .redirect(policy)
                .build()
                .expect("client")
        };
        Browser {
            follow: client(Policy::limited(10)),
            manual: client(Policy::none()),
            jar,
            gateway: format!("http://{gateway}"),
        }
    }

    async fn page(res: reqwest::Response) -> Page {
        Page {
            status: res.status().as_u16(),
            url: res.url().to_string(),
            headers: res.headers().clone(),
            html: res.text().await.expect("body"),
        }
    }

    async fn get(&self, path: &str) -> Page {
        let res = self
            .follow
            .get(format!("{}{path}", self.gateway))
            .send()
            .await;
        Self::page(res.expect("GET")).await
    }

    async fn post(&self, path: &str, form: &[(&str, &str)]) -> Page {
        let res = self
            .follow
            .post(format!("{}{path}", self.gateway))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(serde_urlencoded::to_string(form).expect("form"))
            .send()
            .await;
        Self::page(res.expect("POST")).await
    }

    /// Fills the identity provider's login form on `login` and submits it (following every
    /// redirect back to the application).
    async fn sign_in_on(&self, login: &Page, user: &str) -> Page {
        assert!(
            login.url.contains("/realms/lin/"),
            "the login page: {}",
            login.url
        );
        let action = attr(&login.html, "action=\"").replace("&amp;", "&");
        let origin = url::Url::parse(&login.url)
            .expect("url")
            .origin()
            .ascii_serialization();
        let res = self
            .follow
            .post(format!("{origin}{action}"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!("username={user}&password=tis"))
            .send()
            .await;
        Self::page(res.expect("login")).await
    }

    /// Signs `user` in from the home page.
    async fn sign_in(&self, user: &str) -> Page {
        let login = self.get("/").await;
        let home = self.sign_in_on(&login, user).await;
        assert_eq!(home.status, 200, "{}", home.html);
        assert!(
            home.html
                .contains(&format!("Signed in as <strong>{user}</strong>"))
        );
        home
    }

    /// The `TIS_SESSION` value the jar holds.
    fn session(&self) -> String {
        let url = self.gateway.parse().expect("url");
        let cookies = self.jar.cookies(&url).expect("cookies");
        let cookies = cookies.to_str().expect("ascii");
        cookies
            .split("; ")
            .find_map(|c| c.strip_prefix("TIS_SESSION="))
            .expect("a session cookie")
            .to_owned()
    }
}

/// The value after `marker` up to the next quote.
fn attr(html: &str, marker: &str) -> String {
    let at = html
        .find(marker)
        .unwrap_or_else(|| panic!("no {marker} in {html}"))
        + marker.len();
    html[at..].split('"').next().expect("value").to_owned()
}

fn csrf(html: &str) -> String {
    attr(html, "name=\"csrf\" value=\"")
}

/// The ids of the people listed on a search page.
fn people(html: &str) -> Vec<String> {
    html.split("<a href=\"/people/")
        .skip(1)
        .filter_map(|s| s.split('"').next())
        .filter(|id| id.chars().all(|c| c.is_ascii_digit()))
        .map(str::to_owned)
        .collect()
}

/// "7 December 1990": a day, a month's name, a year.
fn is_human_date(s: &str) -> bool {
    const MONTHS: [&str; 12] = [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ];
    let parts: Vec<&str> = s.split(' ').collect();
    parts.len() == 3
        && parts[0].parse::<u8>().is_ok_and(|d| (1..=31).contains(&d))
        && MONTHS.contains(&parts[1])
        && parts[2].len() == 4
        && parts[2].parse::<u16>().is_ok()
}

/// An ISO date (`2026-12-07`) shown in the page's main content, if any: dates are shown in
/// words, and forms take them in day, month and year boxes.
fn iso_date_in(html: &str) -> Option<String> {
    let main = html.split("id=\"maincontent\"").nth(1).unwrap_or(html);
    let b = main.as_bytes();
    (0..b.len().saturating_sub(10)).find_map(|i| {
        let w = &b[i..i + 10];
        let digits = |r: std::ops::Range<usize>| w[r].iter().all(u8::is_ascii_digit);
        (digits(0..4) && w[4] == b'-' && digits(5..7) && w[7] == b'-' && digits(8..10))
            .then(|| main[i.saturating_sub(60)..(i + 20).min(main.len())].to_owned())
    })
}

fn assert_secure(page: &Page) {
    let h = &page.headers;
    let csp = h["content-security-policy"].to_str().expect("ascii");
    assert!(
        csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"),
        "{}: {csp}",
        page.url
    );
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert_eq!(h["x-frame-options"], "DENY", "{}", page.url);
    assert_eq!(h["x-content-type-options"], "nosniff", "{}", page.url);
    assert_eq!(h["referrer-policy"], "same-origin", "{}", page.url);
    assert_eq!(h["cache-control"], "no-store", "{}", page.url);
    assert!(
        !page.html.contains("<script>"),
        "no inline script: {}",
        page.url
    );
}

async fn system() -> (TisUp, String) {
    let (up, state) = system_state().await;
    (up, TisUp::addr_of(&state, "gateway", "addr"))
}

async fn system_state() -> (TisUp, serde_json::Value) {
    let up = TisUp::start(TIS, &[]);
    let state = up
        .state_when("the system ready", |s| TisUp::has(s, READY))
        .await;
    (up, state)
}

/// A session's access token due for refresh, and pages of it asked for all at once, of one
/// web instance and then of both: the single-use refresh token is redeemed once (a second
/// redemption is token reuse to `tis idp`, which revokes the session and the user is signed
/// out), every page is served signed in with the new tokens, and the session goes on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_of_a_session_due_for_refresh_at_once_refresh_it_once_and_stay_signed_in() {
    const AT_ONCE: usize = 8;
    let (up, state) = system_state().await;
    let gateway = TisUp::addr_of(&state, "gateway", "addr");
    let webs = [
        TisUp::addr_of(&state, "web-1", "addr"),
        TisUp::addr_of(&state, "web-2", "addr"),
    ];
    let web_db = sessions::web_db(&up);
    let b = Browser::new(&gateway);
    b.sign_in("admin").await;
    let session = b.session();
    let client = reqwest::Client::builder()
        .redirect(Policy::none())
        .build()
        .expect("client");
    for (round, instances) in [("one instance", &webs[..1]), ("two instances", &webs[..])] {
        for attempt in 0..3 {
            let due = sessions::age_session(&web_db, &session, 20).await;
            let mut pages = tokio::task::JoinSet::new();
            for i in 0..AT_ONCE {
                let req = client
                    .get(format!("http://{}/", instances[i % instances.len()]))
                    .header("cookie", format!("TIS_SESSION={session}"));
                pages.spawn(async move {
                    let res = req.send().await.expect("GET");
                    let status = res.status().as_u16();
                    let location = res
                        .headers()
                        .get("location")
                        .and_then(|l| l.to_str().ok())
                        .map(str::to_owned);
                    (status, location, res.text().await.expect("page"))
                });
            }
            while let Some(page) = pages.join_next().await {
                let (status, location, html) = page.expect("join");
                assert!(
                    status == 200 && html.contains("Signed in as <strong>admin</strong>"),
                    "{round}, attempt {attempt}: {status} {location:?}: signed out by a second redemption of the refresh token? {html}"
                );
            }
            let renewed = sessions::access_expires(&web_db, &session)
                .await
                .unwrap_or_else(|| panic!("{round}, attempt {attempt}: the session ended"));
            assert!(
                renewed > due + 60,
                "{round}, attempt {attempt}: refreshed ({due} -> {renewed})"
            );
        }
    }
    // The provider did not revoke it either: through the gateway, the next page and the next
    // refresh work.
    sessions::age_session(&web_db, &session, 20).await;
    let home = b.get("/").await;
    assert_eq!(home.status, 200, "{}", home.html);
    assert!(
        home.html.contains("Signed in as <strong>admin</strong>"),
        "{}",
        home.html
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_signs_in_finds_a_trainee_edits_their_contact_details_and_signs_out() {
    let (_up, gateway) = system().await;
    let b = Browser::new(&gateway);

    // A deep link sends the browser to the real login page, and back to it once signed in.
    let login = b.get("/people?q=smith&status=CURRENT").await;
    let found = b.sign_in_on(&login, "admin").await;
    assert_eq!(found.status, 200, "{}", found.html);
    assert!(
        found.url.ends_with("/people?q=smith&status=CURRENT"),
        "{}",
        found.url
    );
    assert_secure(&found);
    let ids = people(&found.html);
    assert!(!ids.is_empty(), "Smiths are found: {}", found.html);
    let session = b.session();
    assert_eq!(session.len(), 43, "256 random bits, base64url");

    // The record, then the contact form.
    let id = &ids[0];
    let record = b.get(&format!("/people/{id}")).await;
    assert_eq!(record.status, 200);
    assert!(
        record.html.contains("Contact details") && record.html.contains("Programme memberships")
    );
    assert_secure(&record);
    let form = b.get(&format!("/people/{id}/contact")).await;
    assert_eq!(form.status, 200);
    let token = csrf(&form.html);
    let surname = attr(
        &form.html,
        "id=\"surname\" name=\"surname\" type=\"text\" value=\"",
    );
    let forenames = attr(
        &form.html,
        "id=\"forenames\" name=\"forenames\" type=\"text\" value=\"",
    );
    let path = format!("/people/{id}/contact");

    // The API's field error, next to its field and in the summary that links to it.
    let bad = b
        .post(
            &path,
            &[
                ("csrf", &token),
                ("surname", &surname),
                ("forenames", &forenames),
                ("email", "not an address"),
            ],
        )
        .await;
    assert_eq!(bad.status, 400, "{}", bad.html);
    assert!(
        bad.html.contains("<a href=\"#email\">"),
        "the summary links to the field"
    );
    assert!(
        bad.html.contains("id=\"email-error\""),
        "the message is beside the field"
    );
    assert!(bad.html.contains("aria-describedby=\"email-error\""));

    // No token, a wrong token: refused, nothing saved.
    let address = "<script>alert('x')</script> & 1 Main Street";
    for sent in [None, Some("forged")] {
        let mut fields = vec![
            ("surname", surname.as_str()),
            ("forenames", forenames.as_str()),
            ("address1", address),
        ];
        fields.extend(sent.map(|t| ("csrf", t)));
        let refused = b.post(&path, &fields).await;
        assert_eq!(refused.status, 403, "{sent:?}");
    }

    // Saved, shown, escaped; and in the change history.
    let saved = b
        .post(
            &path,
            &[
                ("csrf", &token),
                ("surname", &surname),
                ("forenames", &forenames),
                ("email", "trainee@nhs.net"),
                ("address1", address),
                ("postCode", "CT6 3BL"),
            ],
        )
        .await;
    assert_eq!(saved.status, 200, "{}", saved.html);
    assert!(
        saved.url.ends_with(&format!("/people/{id}?saved=contact")),
        "{}",
        saved.url
    );
    assert!(saved.html.contains("Contact details saved."));
    assert!(
        saved
            .html
            .contains("&#60;script&#62;alert(&#39;x&#39;)&#60;/script&#62; &#38; 1 Main Street"),
        "{}",
        saved.html
    );
    assert!(!saved.html.contains("<script>alert"), "markup is escaped");
    assert!(saved.html.contains("trainee@nhs.net"));
    assert!(
        saved.html.contains(">address1<"),
        "the change is in the history"
    );

    // Programmes and curricula.
    for path in ["/programmes", "/curricula"] {
        let page = b.get(path).await;
        assert_eq!(page.status, 200, "{path}: {}", page.html);
        assert!(
            page.html.contains("<table class=\"nhsuk-table\">"),
            "{path}"
        );
    }

    // Sign out: here and at the identity provider, whose login page comes back.
    let home = b.get("/").await;
    let out = b.post("/auth/logout", &[("csrf", &csrf(&home.html))]).await;
    assert!(
        out.url.contains("/realms/lin/"),
        "signed out at the provider too: {}",
        out.url
    );
    assert!(
        out.html.contains("password"),
        "its login form: {}",
        out.html
    );

    // The old cookie (replayed) and a forged one sign nobody in.
    let bare = reqwest::Client::builder()
        .redirect(Policy::none())
        .build()
        .expect("client");
    for value in [session, "A".repeat(43)] {
        let res = bare
            .get(format!("http://{gateway}/people"))
            .header("cookie", format!("TIS_SESSION={value}"))
            .send()
            .await
            .expect("GET");
        assert_eq!(res.status(), 303);
        assert_eq!(res.headers()["location"], "/auth/login?return_to=%2Fpeople");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_open_redirect_no_edits_out_of_scope_and_sensitive_fields_only_for_the_sensitive_user() {
    let (_up, gateway) = system().await;

    // A return URL to another site is dropped: after sign-in the browser lands on `/`.
    let b = Browser::new(&gateway);
    let login = b
        .get("/auth/login?return_to=https://evil.example/steal")
        .await;
    let action = attr(&login.html, "action=\"").replace("&amp;", "&");
    let origin = url::Url::parse(&login.url)
        .expect("url")
        .origin()
        .ascii_serialization();
    let to_callback = b
        .manual
        .post(format!("{origin}{action}"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("username=admin&password=tis")
        .send()
        .await
        .expect("login");
    let callback = to_callback.headers()["location"]
        .to_str()
        .expect("ascii")
        .to_owned();
    assert!(
        callback.starts_with(&format!("http://{gateway}/auth/callback?")),
        "{callback}"
    );
    let landed = b.manual.get(&callback).send().await.expect("callback");
    assert_eq!(landed.status(), 303);
    assert_eq!(landed.headers()["location"], "/");
    // The same callback again (a replayed code and state) starts no session.
    let again = b.manual.get(&callback).send().await.expect("callback");
    assert_eq!(again.status(), 400);

    // The admin sees no sensitive personal details; the sensitive user does.
    let search = b.get("/people?q=a").await;
    let ids = people(&search.html);
    let id = ids.first().expect("someone").clone();
    let admin_view = b.get(&format!("/people/{id}")).await;
    let sensitive = Browser::new(&gateway);
    sensitive.sign_in("sensitive").await;
    let full_view = sensitive.get(&format!("/people/{id}")).await;
    let dob = |html: &str| {
        attr(
            html,
            "Date of birth</dt><dd class=\"nhsuk-summary-list__value\">",
        )
        .split('<')
        .next()
        .expect("value")
        .to_owned()
    };
    assert_eq!(dob(&admin_view.html), "Not given", "masked for admin");
    let shown = dob(&full_view.html);
    assert!(
        is_human_date(&shown),
        "a date in words for sensitive: {shown}"
    );

    // The trust admin sees none of these people, and cannot edit one by putting their id in
    // the form's address: the API refuses (404), nothing is saved.
    let trust = Browser::new(&gateway);
    trust.sign_in("trust.admin").await;
    let home = trust.get("/").await;
    let before = b.get(&format!("/people/{id}/contact")).await;
    let surname = attr(
        &before.html,
        "id=\"surname\" name=\"surname\" type=\"text\" value=\"",
    );
    let refused = trust
        .post(
            &format!("/people/{id}/contact"),
            &[
                ("csrf", &csrf(&home.html)),
                ("surname", "Changed"),
                ("forenames", "Someone"),
            ],
        )
        .await;
    assert_eq!(refused.status, 404, "{}", refused.html);
    let after = b.get(&format!("/people/{id}/contact")).await;
    assert_eq!(
        attr(
            &after.html,
            "id=\"surname\" name=\"surname\" type=\"text\" value=\""
        ),
        surname,
        "nothing was saved"
    );
    // A session's token is no good in another session's form.
    let stolen = trust
        .post(
            &format!("/people/{id}/contact"),
            &[("csrf", &csrf(&before.html)), ("surname", "Changed")],
        )
        .await;
    assert_eq!(stolen.status, 403);
}

/// The links `href="<prefix><id>"` of a page, in order.
fn links(html: &str, prefix: &str) -> Vec<String> {
    html.split(&format!("href=\"{prefix}"))
        .skip(1)
        .filter_map(|s| s.split('"').next())
        .filter(|id| !id.is_empty() && id.chars().all(|c| c.is_ascii_digit()))
        .map(str::to_owned)
        .collect()
}

/// The values of a form's inputs, as a browser would send them back.
fn form_fields(html: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for input in html.split("<input ").skip(1) {
        let tag = format!(" {}", input.split('>').next().unwrap_or_default());
        let get = |k: &str| {
            tag.split(&format!(" {k}=\""))
                .nth(1)
                .and_then(|s| s.split('"').next())
                .map(|v| v.replace("&#38;", "&"))
        };
        let (Some(name), Some(kind)) = (get("name"), get("type")) else {
            continue;
        };
        if kind == "checkbox" && !tag.contains(" checked") {
            continue;
        }
        out.push((name, get("value").unwrap_or_default()));
    }
    for select in html.split("<select ").skip(1) {
        let name = select
            .split("name=\"")
            .nth(1)
            .and_then(|s| s.split('"').next())
            .unwrap_or_default()
            .to_owned();
        let body = select.split("</select>").next().unwrap_or_default();
        let chosen = body
            .split("<option value=\"")
            .skip(1)
            .find(|o| {
                o.split('>')
                    .next()
                    .unwrap_or_default()
                    .contains(" selected")
            })
            .and_then(|o| o.split('"').next())
            .unwrap_or_default()
            .to_owned();
        out.push((name, chosen));
    }
    out
}

fn with(fields: &[(String, String)], changes: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = fields
        .iter()
        .filter(|(k, _)| !changes.iter().any(|(c, _)| c == k))
        .cloned()
        .collect();
    out.extend(
        changes
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
    );
    out
}

impl Browser {
    async fn post_pairs(&self, path: &str, form: &[(String, String)]) -> Page {
        let res = self
            .follow
            .post(format!("{}{path}", self.gateway))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(serde_urlencoded::to_string(form).expect("form"))
            .send()
            .await;
        Self::page(res.expect("POST")).await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn posts_placements_and_administration_work_on_the_real_apis_with_dates_in_words() {
    let (_up, gateway) = system().await;
    let b = Browser::new(&gateway);
    let home = b.sign_in("admin").await;
    assert!(home.html.contains("href=\"/posts\""), "{}", home.html);

    // Posts: searched and filtered, then one with its placements.
    let posts = b.get("/posts?status=CURRENT").await;
    assert_eq!(posts.status, 200, "{}", posts.html);
    assert_secure(&posts);
    let post_ids = links(&posts.html, "/posts/");
    assert!(!post_ids.is_empty(), "{}", posts.html);
    let mut placement = None;
    for id in &post_ids {
        let post = b.get(&format!("/posts/{id}")).await;
        assert_eq!(post.status, 200, "{}", post.html);
        assert_eq!(iso_date_in(&post.html), None, "dates in words: /posts/{id}");
        if let Some(p) = links(&post.html, "/placements/").first() {
            assert!(post.html.contains("Add a placement in this post"));
            placement = Some(p.clone());
            break;
        }
    }
    let placement = placement.expect("a post with a placement");

    // The placement's form: the NHS date input, filled from the API.
    let form = b.get(&format!("/placements/{placement}")).await;
    assert_eq!(form.status, 200, "{}", form.html);
    assert!(form.html.contains("id=\"dateFrom-day\""), "{}", form.html);
    let fields = form_fields(&form.html);
    let value = |k: &str| {
        fields
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.clone())
            .unwrap_or_else(|| panic!("no {k} in {fields:?}"))
    };
    let trainee = value("traineeId");

    // The trainee's record: placements and timeline, dates in words.
    let record = b.get(&format!("/people/{trainee}")).await;
    assert_eq!(record.status, 200);
    assert!(
        record
            .html
            .contains(&format!("href=\"/placements/{placement}\""))
    );
    assert!(record.html.contains("Timeline"), "{}", record.html);
    assert_eq!(
        iso_date_in(&record.html),
        None,
        "dates in words: {}",
        record.html
    );

    // A date that is not a real one: said beside its boxes, nothing sent.
    let bad = b
        .post_pairs(
            "/placements/new",
            &with(&fields, &[("dateFrom-day", "31"), ("dateFrom-month", "2")]),
        )
        .await;
    assert_eq!(bad.status, 400, "{}", bad.html);
    assert!(bad.html.contains("id=\"dateFrom-error\""), "{}", bad.html);
    assert!(bad.html.contains("Start date must be a real date"));
    assert!(bad.html.contains("<a href=\"#dateFrom-day\">"));
    // The API's own field message (no placement type), beside its field. (TCS checks the
    // Reference ids of a write: just after start-up its client may not yet have found
    // Reference, and the form says so, 503, keeping what was typed.)
    let untyped_form = with(&fields, &[("placementType", "")]);
    let untyped = tis_testkit::wait::until(
        "TCS reaches Reference",
        std::time::Duration::from_secs(30),
        std::time::Duration::from_millis(200),
        || async {
            let page = b.post_pairs("/placements/new", &untyped_form).await;
            if page.status == 503 {
                assert!(page.html.contains("could not be saved"), "{}", page.html);
                assert!(
                    page.html.contains("id=\"dateFrom-day\""),
                    "the form is kept"
                );
                return None;
            }
            Some(page)
        },
    )
    .await
    .expect("an answer other than 503");
    assert_eq!(untyped.status, 400, "{}", untyped.html);
    assert!(
        untyped.html.contains("id=\"placementType-error\""),
        "{}",
        untyped.html
    );
    // The same placement again: the API's 409 overlap, in plain words.
    let overlap = b.post_pairs("/placements/new", &fields).await;
    assert_eq!(overlap.status, 409, "{}", overlap.html);
    assert!(overlap.html.contains("It overlaps"), "{}", overlap.html);
    assert_eq!(iso_date_in(&overlap.html), None, "{}", overlap.html);
    // A change saved: back at the trainee's record.
    let saved = b
        .post_pairs(
            &format!("/placements/{placement}"),
            &with(&fields, &[("wholeTimeEquivalent", "0.5")]),
        )
        .await;
    assert_eq!(saved.status, 200, "{}", saved.html);
    assert!(saved.html.contains("Placement saved."), "{}", saved.html);
    let again = b.get(&format!("/placements/{placement}")).await;
    assert!(again.html.contains("value=\"0.5\""), "{}", again.html);

    // Profile administration: for Profile administrators only.
    assert_eq!(b.get("/admin/users").await.status, 403);
    assert!(
        !home.html.contains("href=\"/admin/users\""),
        "no menu for admin"
    );
    let p = Browser::new(&gateway);
    let phome = p.sign_in("profile.admin").await;
    assert!(
        phome.html.contains("href=\"/admin/users\""),
        "{}",
        phome.html
    );
    let users = p.get("/admin/users?q=observer").await;
    assert_eq!(users.status, 200, "{}", users.html);
    assert!(
        users.html.contains("href=\"/admin/users/observer\""),
        "{}",
        users.html
    );
    let uform = p.get("/admin/users/observer").await;
    assert_eq!(uform.status, 200, "{}", uform.html);
    assert!(
        uform
            .html
            .contains("value=\"HEE Programme Observer\" checked")
    );
    let ufields = form_fields(&uform.html);
    let mut unknown = ufields.clone();
    unknown.push(("designatedBodyCodes".into(), "NO-SUCH-DBC".into()));
    let refused = p.post_pairs("/admin/users/observer", &unknown).await;
    assert_eq!(refused.status, 400, "{}", refused.html);
    assert!(
        refused
            .html
            .contains("no designated body with code NO-SUCH-DBC"),
        "{}",
        refused.html
    );
    let renamed = p
        .post_pairs(
            "/admin/users/observer",
            &with(&ufields, &[("firstName", "Renamed")]),
        )
        .await;
    assert_eq!(renamed.status, 200, "{}", renamed.html);
    assert!(
        p.get("/admin/users/observer")
            .await
            .html
            .contains("value=\"Renamed\"")
    );
    let roles = p.get("/admin/roles").await;
    assert_eq!(roles.status, 200);
    assert!(roles.html.contains("HEE Admin"));
    // Reference data: one list and one form for every entity. The admin may read it, not
    // change it: told so on the form, and the API refuses a change anyway.
    let seen = b.get("/admin/reference/grades").await;
    let first = links(&seen.html, "/admin/reference/grades/");
    let first = first.first().expect("a grade");
    let read_only = b.get(&format!("/admin/reference/grades/{first}")).await;
    assert!(
        read_only
            .html
            .contains("You can see this record, but not change it.")
    );
    let refused = b
        .post_pairs(
            &format!("/admin/reference/grades/{first}"),
            &form_fields(&read_only.html),
        )
        .await;
    assert_eq!(refused.status, 403, "{}", refused.html);
    // The Profile administrator gives reval.admin the ReferenceAdmin role on the user form;
    // reval.admin then changes reference data.
    let granted = p.get("/admin/users/reval.admin").await;
    let mut gfields = form_fields(&granted.html);
    gfields.push(("roles".into(), "ReferenceAdmin".into()));
    let saved = p.post_pairs("/admin/users/reval.admin", &gfields).await;
    assert_eq!(saved.status, 200, "{}", saved.html);
    let after = p.get("/admin/users/reval.admin").await;
    assert!(
        after.html.contains("value=\"ReferenceAdmin\" checked"),
        "{}",
        after.html
    );
    // (Not yet checked here: reval.admin, signed in afterwards, was not given the Reference
    // data menu within 90 s although the role is saved: see docs/web.md "Left to do".)
}
