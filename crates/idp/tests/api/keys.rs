use std::os::unix::fs::PermissionsExt;
use std::time::{Duration, Instant};

use jsonwebtoken::jwk::JwkSet;
use serde_json::Value;
use tis_idp::SigningAlgorithm;

use crate::helpers::{TestIdp, peek, spawn_idp, spawn_in, spawn_with, verify};

fn kids(jwks: &JwkSet) -> Vec<String> {
    jwks.keys
        .iter()
        .filter_map(|k| k.common.key_id.clone())
        .collect()
}

fn kid_of(token: &str) -> String {
    jsonwebtoken::decode_header(token).unwrap().kid.unwrap()
}

async fn access_token(idp: &TestIdp) -> String {
    idp.login_alice().await["access_token"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn after_a_rotation_new_tokens_use_the_new_key_and_old_tokens_still_verify() {
    let idp = spawn_idp().await;
    let old_token = access_token(&idp).await;
    let old_kid = kid_of(&old_token);

    let rotation = idp.keys.rotate().await.unwrap();
    assert_eq!(rotation.previous.as_deref(), Some(old_kid.as_str()));
    assert_ne!(rotation.active, old_kid);

    let new_token = access_token(&idp).await;
    assert_eq!(kid_of(&new_token), rotation.active);
    let jwks = idp.jwks().await;
    assert_eq!(
        kids(&jwks).len(),
        2,
        "both keys are published during the overlap"
    );
    verify(&new_token, &jwks, &idp.issuer).expect("the new token verifies");
    verify(&old_token, &jwks, &idp.issuer).expect("the old token still verifies");
    assert_eq!(idp.userinfo(&old_token).await.status(), 200);
}

#[tokio::test]
async fn the_old_key_leaves_the_jwks_when_the_overlap_ends() {
    let idp = spawn_with(|c| c.rotation_overlap = Duration::from_secs(600)).await;
    let old_token = access_token(&idp).await;
    let old_kid = kid_of(&old_token);
    let rotation = idp.keys.rotate().await.unwrap();

    idp.clock.advance(Duration::from_secs(599));
    assert!(
        kids(&idp.jwks().await).contains(&old_kid),
        "still within the overlap"
    );
    idp.clock.advance(Duration::from_secs(1));
    let jwks = idp.jwks().await;
    assert_eq!(kids(&jwks), vec![rotation.active.clone()]);
    assert!(verify(&old_token, &jwks, &idp.issuer).is_err());
    assert_eq!(idp.userinfo(&old_token).await.status(), 401);

    // Upkeep deletes the retired key's file.
    let file = idp.config.key_dir.join(format!("{old_kid}.pem"));
    assert!(file.exists());
    idp.keys.maintain(None).await.unwrap();
    assert!(!file.exists(), "{file:?} should be gone");
}

#[tokio::test]
async fn keys_are_persisted_and_reloaded_across_restarts() {
    let idp = spawn_idp().await;
    let token = access_token(&idp).await;
    let old_issuer = idp.issuer.clone();
    let kid = kid_of(&token);
    let pem = idp.config.key_dir.join(format!("{kid}.pem"));
    let mode = std::fs::metadata(&pem).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);

    let (dir, config, clock) = idp.stop().await;
    let again = spawn_in(dir, config, clock).await;
    let jwks = again.jwks().await;
    assert_eq!(
        kids(&jwks),
        vec![kid.clone()],
        "the same key, not a new one"
    );
    // Port 0 gave the restart another port, so another issuer; the key is what must hold.
    verify(&token, &jwks, &old_issuer).expect("a token from before the restart verifies");
    let new_token = access_token(&again).await;
    assert_eq!(kid_of(&new_token), kid);
    assert_eq!(
        peek(&new_token)["sub"],
        peek(&token)["sub"],
        "the same user keeps the same sub"
    );
}

#[tokio::test]
async fn a_rotation_by_another_process_is_picked_up_while_running() {
    let idp = spawn_with(|c| c.key_check_interval = Duration::from_millis(50)).await;
    let before = kids(&idp.jwks().await);
    // What `tis idp rotate-keys` calls: it only knows the configuration.
    let rotation = tis_idp::rotate_keys(&idp.config).await.unwrap();
    assert_eq!(rotation.previous, before.first().cloned());

    let deadline = Instant::now() + Duration::from_secs(10);
    while !kids(&idp.jwks().await).contains(&rotation.active) {
        assert!(
            Instant::now() < deadline,
            "the running idp never loaded the new key"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(kid_of(&access_token(&idp).await), rotation.active);
}

#[tokio::test]
async fn es256_and_eddsa_keys_can_be_configured() {
    for (alg, jwt) in [
        (SigningAlgorithm::ES256, jsonwebtoken::Algorithm::ES256),
        (SigningAlgorithm::EdDSA, jsonwebtoken::Algorithm::EdDSA),
    ] {
        let idp = spawn_with(|c| c.algorithm = alg).await;
        let token = access_token(&idp).await;
        assert_eq!(jsonwebtoken::decode_header(&token).unwrap().alg, jwt);
        verify(&token, &idp.jwks().await, &idp.issuer).expect("verifies");
        let doc: Value = idp
            .http
            .get(idp.url("/realms/lin/.well-known/openid-configuration"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(
            doc["id_token_signing_alg_values_supported"][0],
            alg.as_str()
        );
    }
}
