use std::time::Duration;

use nix::sys::signal::Signal;

use crate::support::*;

/// Sends `n` requests with `token` to the gateway, 16 at a time; returns the answers that
/// were not a 200 marked `TIS-Degraded: idp` (status and body), at most 5 of them, and
/// how many there were.
async fn burst(gw: &GatewayProc, token: &str, n: usize) -> (usize, Vec<String>) {
    const WORKERS: usize = 16;
    let mut workers = tokio::task::JoinSet::new();
    for w in 0..WORKERS {
        let (client, url, token) = (gw.client.clone(), gw.url(UPSTREAM_PATH), token.to_owned());
        let share = n / WORKERS + usize::from(w < n % WORKERS);
        workers.spawn(async move {
            let mut bad = Vec::new();
            for _ in 0..share {
                match client.get(&url).bearer_auth(&token).send().await {
                    Ok(res)
                        if res.status() == 200
                            && res
                                .headers()
                                .get("tis-degraded")
                                .and_then(|v| v.to_str().ok())
                                .is_some_and(|v| v.contains("idp")) => {}
                    Ok(res) => {
                        let status = res.status();
                        bad.push(format!("{status} {}", res.text().await.unwrap_or_default()));
                    }
                    Err(e) => bad.push(format!("no answer: {e}")),
                }
            }
            bad
        });
    }
    let mut bad = Vec::new();
    while let Some(done) = workers.join_next().await {
        bad.extend(done.expect("worker"));
    }
    let count = bad.len();
    bad.truncate(5);
    (count, bad)
}

/// `tis token` against a running `tis idp`.
fn token(issuer: &str) -> String {
    tis_testkit::up::token(TIS, issuer, &["--client", "etl"])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_the_idp_killed_valid_tokens_keep_working_marked_idp_even_after_a_gateway_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path();
    let idp_env = [
        (
            "TIS_IDP__REALM_FILE",
            path.join("realm.toml").display().to_string(),
        ),
        (
            "TIS_IDP__KEY_DIR",
            path.join("idp-keys").display().to_string(),
        ),
    ];
    let mut idp = spawn(
        "idp",
        path,
        &["idp", "--listen", "127.0.0.1:0", "--demo"],
        &idp_env,
    )
    .await;
    let issuer = format!("http://{}/realms/lin", idp.addr);
    let token = token(&issuer);

    let upstreams = Upstreams::new(path);
    let up = upstreams.spawn("upstream-1").await;
    let key = path.join("principal.pem");
    tis_auth::principal::keyfile::generate_keypair_files(&key, &path.join("principal.pub.pem"))
        .expect("keys");
    let toml = format!(
        "[gateway.auth]\nissuer = \"{issuer}\"\naudience = \"tis\"\nkeys_file = \"{}\"\n\
         refresh_interval = \"300ms\"\nbackoff_initial = \"100ms\"\nbackoff_max = \"300ms\"\n\
         [gateway.principal]\nsigning_key_file = \"{}\"\n\
         [gateway.profiles]\nsource = \"role-catalogue\"\n\
         [[gateway.routes]]\nprefix = \"/realms\"\nservice = \"upstream\"\n\
         [gateway.services.upstream]\ndiscovery = {{ kind = \"static\", addrs = [\"{}\"] }}\n",
        path.join("jwks.json").display(),
        key.display(),
        up.addr
    );
    let gw = GatewayProc::start(path, "gateway", &toml).await;
    let get = |gw: &GatewayProc| {
        let (client, url, token) = (gw.client.clone(), gw.url(UPSTREAM_PATH), token.clone());
        async move {
            client
                .get(url)
                .bearer_auth(token)
                .send()
                .await
                .expect("answer")
        }
    };
    let res = get(&gw).await;
    assert_eq!(res.status(), 200);
    assert!(res.headers().get("tis-degraded").is_none());

    idp.signal(Signal::SIGKILL);
    idp.wait_exit(Duration::from_secs(5)).await;
    until(
        "requests to be marked idp-degraded",
        Duration::from_secs(5),
        || {
            let gw = &gw;
            async move {
                let res = get(gw).await;
                assert_eq!(res.status(), 200, "a valid token must keep working");
                res.headers()
                    .get("tis-degraded")
                    .filter(|v| v.to_str().unwrap_or("").contains("idp"))
                    .map(|_| ())
            }
        },
    )
    .await;

    // Issue 3's system test: with the IdP dead, 10,000 requests with valid tokens all
    // succeed ...
    let (failed, examples) = burst(&gw, &token, 10_000).await;
    assert_eq!(
        failed, 0,
        "with the IdP down, requests failed: {examples:?}"
    );

    // ... and still do after the gateway restarts while the IdP is down: the new process
    // verifies from the keys the first one persisted.
    drop(gw);
    let gw2 = GatewayProc::start(path, "gateway-2", &toml).await;
    let (failed, examples) = burst(&gw2, &token, 10_000).await;
    assert_eq!(
        failed, 0,
        "after a restart with the IdP down, requests failed: {examples:?}"
    );
    let res = get(&gw2).await;
    assert_eq!(res.status(), 200);
    assert!(
        res.headers()["tis-degraded"]
            .to_str()
            .expect("ascii")
            .contains("idp")
    );
    let status: serde_json::Value = gw2
        .client
        .get(gw2.url("/api/status"))
        .send()
        .await
        .expect("get")
        .json()
        .await
        .expect("json");
    assert_eq!(status["capabilities"][0]["status"], "degraded");
}
