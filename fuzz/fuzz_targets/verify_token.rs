//! Fuzzes the front end of token verification with arbitrary bytes: the request-header
//! parser, the access-token verifier (with and without the fetch path), the principal
//! verifier, and the JWKS parser. With a leading 0x01 the rest is taken as a claims payload
//! and signed with a trusted key, so the claim checks after the signature are reached too.
//!
//! Nothing may panic, and nothing the fuzzer makes may verify except those signed payloads.
#![no_main]

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use http::{HeaderMap, HeaderValue};
use libfuzzer_sys::fuzz_target;
use tis_auth::principal::keyfile;
use tis_auth::testing::{self, ScriptedSource, TestKey};
use tis_auth::{
    AccessTokenVerifier, Algorithm, AuthConfig, Clock, JwksCache, PrincipalConfig,
    PrincipalVerifier,
};

const ISSUER: &str = "http://idp.fuzz/realms/lin";

struct Fixture {
    rt: tokio::runtime::Runtime,
    access: AccessTokenVerifier,
    principal: PrincipalVerifier,
    signer: TestKey,
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .expect("runtime");
        let ed = TestKey::ed25519("ed");
        let ec = TestKey::ec("ec");
        let rsa = TestKey::rsa("rsa", 0);
        let config = AuthConfig {
            // Keep the fetch path reachable but rare.
            unknown_kid_interval: Duration::from_secs(3600),
            ..testing::auth_config(ISSUER)
        };
        let source = Arc::new(ScriptedSource::serving(testing::jwks(&[&ed, &ec, &rsa])));
        let cache = JwksCache::new(&config, source, Clock::system()).expect("cache");
        rt.block_on(cache.refresh()).expect("keys");
        let access = AccessTokenVerifier::new(&config, cache).expect("verifier");
        let (_, public) = keyfile::generate_pem().expect("keys");
        let principal = PrincipalVerifier::with_keys(
            &PrincipalConfig {
                audience: "tcs".into(),
                ..PrincipalConfig::default()
            },
            vec![keyfile::parse_public_pem(&public).expect("public")],
            Clock::system(),
        )
        .expect("principal verifier");
        Fixture {
            rt,
            access,
            principal,
            signer: ed,
        }
    })
}

fuzz_target!(|data: &[u8]| {
    let f = fixture();
    if let Some((&1, payload)) = data.split_first() {
        let header = serde_json::to_value(f.signer.header()).expect("header");
        let token = f.signer.sign_raw(&header, payload);
        if let Ok(v) = f.access.verify_now(&token) {
            // Only a payload naming our issuer and audience, unexpired, may pass.
            assert_eq!(v.claims.iss, ISSUER);
            assert!(
                v.claims.aud.contains(testing::AUDIENCE)
                    || v.claims.azp.as_deref() == Some(testing::AUDIENCE)
            );
        }
        return;
    }
    if let Ok(value) = HeaderValue::from_bytes(data) {
        let mut headers = HeaderMap::new();
        headers.insert("authorization", value.clone());
        headers.append("oidc_access_token", value);
        let _ = tis_auth::bearer_token(&headers);
        let _ = f.rt.block_on(f.access.verify_headers(&headers));
    }
    if let Ok(text) = std::str::from_utf8(data) {
        assert!(
            f.access.verify_now(text).is_err(),
            "an unsigned input verified: {text:?}"
        );
        assert!(
            f.principal.verify(text).is_err(),
            "an unsigned principal verified: {text:?}"
        );
        let _ = f.rt.block_on(f.access.verify(text));
    }
    if let Ok(json) = serde_json::from_slice::<serde_json::Value>(data) {
        let _ = tis_auth::keys::parse_jwks(
            &json,
            &[Algorithm::RS256, Algorithm::ES256, Algorithm::EdDSA],
        );
    }
});
