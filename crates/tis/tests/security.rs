//! The security headers of every process `tis up` starts, for real: personal data is never
//! cacheable, no answer may be sniffed, and a 401 says how to authenticate (RFC 6750 §3).

use serde_json::Value;
use tis_testkit::up::TisUp;

const TIS: &str = env!("CARGO_BIN_EXE_tis");

const PROCESSES: [&str; 5] = ["gateway", "idp", "reference-1", "profile-1", "tcs-1"];

#[tokio::test]
async fn personal_data_is_never_cacheable_and_a_401_says_bearer_in_every_process() {
    let up = TisUp::start(TIS, &[]);
    let state: Value = up
        .state_when("every process ready", |s| TisUp::has(s, &PROCESSES))
        .await;
    let issuer = state["issuer"].as_str().expect("issuer").to_owned();
    let token = tis_testkit::up::token(TIS, &issuer, &["--user", "admin"]);
    let gateway = TisUp::addr_of(&state, "gateway", "addr");
    let client = reqwest::Client::new();

    // Through the gateway: the user's profile, TCS's people, and reference data.
    for path in [
        "/profile/api/userinfo",
        "/tcs/api/people?size=1",
        "/tcs/api/people/1",
        "/tcs/api/contact-details/1",
        "/tcs/api/personal-details/1",
        "/reference/api/grades?size=1",
    ] {
        let res = client
            .get(format!("http://{gateway}{path}"))
            .bearer_auth(&token)
            .send()
            .await
            .expect("request");
        let h = res.headers();
        assert_eq!(
            h.get("cache-control").map(|v| v.to_str().unwrap_or("")),
            Some("no-store"),
            "{path} ({})",
            res.status()
        );
        assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
        assert!(
            !h.contains_key("access-control-expose-headers"),
            "{path}: CORS is off"
        );
    }

    // Each service on its own port: a 401 challenges, and is not cacheable either.
    for (name, path) in [
        ("reference-1", "/reference/api/grades"),
        ("profile-1", "/profile/api/userinfo"),
        ("tcs-1", "/tcs/api/people"),
    ] {
        let addr = TisUp::addr_of(&state, name, "addr");
        let res = client
            .get(format!("http://{addr}{path}"))
            .send()
            .await
            .expect("request");
        assert_eq!(res.status(), 401, "{name}");
        assert_eq!(res.headers()["www-authenticate"], "Bearer", "{name}");
        assert_eq!(res.headers()["cache-control"], "no-store", "{name}");
        assert_eq!(res.headers()["x-content-type-options"], "nosniff", "{name}");
        let res = client
            .get(format!("http://{addr}{path}"))
            .bearer_auth("not.a.token")
            .send()
            .await
            .expect("request");
        assert_eq!(res.status(), 401, "{name}");
        assert_eq!(
            res.headers()["www-authenticate"],
            "Bearer error=\"invalid_token\"",
            "{name}"
        );
    }
}
