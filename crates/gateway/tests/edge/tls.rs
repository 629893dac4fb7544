use crate::support::*;

#[tokio::test]
async fn with_a_certificate_configured_the_public_listener_speaks_https() {
    let idp = Idp::start().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let (_up, addr) = Upstream::start("a").await;
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).expect("cert");
    let cert_file = dir.path().join("cert.pem");
    let key_file = dir.path().join("key.pem");
    std::fs::write(&cert_file, cert.cert.pem()).expect("write");
    std::fs::write(&key_file, cert.signing_key.serialize_pem()).expect("write");
    let mut cfg = config(&idp, &dir, vec![addr]);
    cfg.tls = Some(tis_gateway::config::TlsConfig {
        cert_file,
        key_file,
    });
    let gw = Gateway::start(cfg).await;

    let client = reqwest::Client::builder()
        .add_root_certificate(
            reqwest::Certificate::from_pem(cert.cert.pem().as_bytes()).expect("root"),
        )
        .resolve("localhost", gw.addr)
        .build()
        .expect("client");
    let url = |p: &str| format!("https://localhost:{}{p}", gw.addr.port());
    let res = client.get(url("/api/status")).send().await.expect("https");
    assert_eq!(res.status(), 200);
    let res = client
        .get(url("/reference/echo"))
        .bearer_auth(idp.token())
        .send()
        .await
        .expect("https");
    assert_eq!(res.status(), 200);
    assert!(
        gw.client.get(gw.url("/api/status")).send().await.is_err(),
        "plain HTTP is not served"
    );
}
