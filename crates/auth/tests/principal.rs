//! The `TIS-Principal` token: minting, verification, rotation of the gateway key, and
//! attempts to pass something else off as a principal.

use std::time::Duration;

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::json;
use tis_auth::principal::keyfile;
use tis_auth::principal::token::PrincipalSetupError;
use tis_auth::testing::{self, TestKey};
use tis_auth::{
    AuthError, AuthenticatedBy, Clock, PermissionPolicy, Principal, PrincipalConfig,
    PrincipalSigner, PrincipalVerifier, UserProfile,
};

fn profile() -> UserProfile {
    let mut p = UserProfile::named("jdoe");
    p.first_name = Some("Jane".into());
    p.last_name = Some("Doe".into());
    p.gmc_id = Some("1234567".into());
    p.email_address = Some("jane@example.org".into());
    p.designated_body_codes.insert("1-AIIDWA".into());
    p.roles.insert("HEE Admin".into());
    p.permissions.insert("person:view".into());
    p.permission_policies.push(PermissionPolicy {
        name: "person:view".into(),
        principal: "tis:profile::user:".into(),
        resource: "tis:people::person:".into(),
        actions: vec!["View".into()],
        effect: tis_auth::principal::Effect::Allow,
    });
    p.assigned_trusts.push(tis_auth::principal::AssignedTrust {
        id: 7,
        trust_code: "RJ1".into(),
        trust_name: "Guy's and St Thomas'".into(),
    });
    p.with_full_name()
}

fn verifier_config(service: &str) -> PrincipalConfig {
    PrincipalConfig {
        audience: service.into(),
        ..PrincipalConfig::default()
    }
}

fn pair(clock: Clock) -> (PrincipalSigner, keyfile::TrustedKey, String) {
    let (private, public) = keyfile::generate_pem().expect("keys");
    let signer = PrincipalSigner::new(
        keyfile::parse_private_pem(&private).expect("private"),
        "tis-gateway",
        Duration::from_secs(30),
        clock,
    );
    (
        signer,
        keyfile::parse_public_pem(&public).expect("public"),
        private,
    )
}

fn verifier(keys: Vec<keyfile::TrustedKey>, clock: Clock) -> PrincipalVerifier {
    PrincipalVerifier::with_keys(&verifier_config("tcs"), keys, clock).expect("verifier")
}

#[test]
fn a_minted_principal_verifies_and_carries_the_whole_profile() {
    let (signer, public, _) = pair(Clock::system());
    let v = verifier(vec![public], Clock::system());
    let mut principal = Principal::new(profile(), AuthenticatedBy::Gateway);
    principal.stale = true;
    principal.degraded = vec!["profile-stale".into()];
    let token = signer
        .mint(&principal, &["tcs", "reference"])
        .expect("mint");
    let got = v.verify(&token).expect("verifies");
    assert_eq!(*got.profile, profile());
    assert!(got.stale);
    assert_eq!(got.degraded, vec!["profile-stale"]);
    assert_eq!(got.token.as_deref(), Some(token.as_str()));
    assert!(got.has_permission("tis:people::person:", "View"));
    // The claims use the original JSON names.
    let claims = jsonwebtoken::dangerous::insecure_decode_claims::<serde_json::Value>(&token)
        .expect("claims");
    assert_eq!(claims["userName"], "jdoe");
    assert_eq!(claims["fullName"], "Jane Doe");
    assert_eq!(claims["assignedTrusts"][0]["trustCode"], "RJ1");
    assert_eq!(claims["iss"], "tis-gateway");
    assert!(claims["exp"].as_u64().expect("exp") - claims["iat"].as_u64().expect("iat") <= 60);
    // Again: from the cache, same answer.
    assert_eq!(v.verify(&token).expect("cached"), got);
}

#[test]
fn a_principal_for_another_service_is_refused() {
    let (signer, public, _) = pair(Clock::system());
    let v = verifier(vec![public], Clock::system());
    let token = signer
        .mint(
            &Principal::new(profile(), AuthenticatedBy::Gateway),
            &["reference"],
        )
        .expect("mint");
    assert_eq!(v.verify(&token).unwrap_err(), AuthError::WrongAudience);
}

#[test]
fn a_principal_signed_by_an_untrusted_key_is_refused() {
    let (_, public, _) = pair(Clock::system());
    let (rogue, _, rogue_private) = pair(Clock::system());
    let v = verifier(vec![public.clone()], Clock::system());
    let p = Principal::new(profile(), AuthenticatedBy::Gateway);
    let token = rogue.mint(&p, &["tcs"]).expect("mint");
    assert!(matches!(v.verify(&token), Err(AuthError::UnknownKey(_))));
    // The rogue key claiming the trusted key's id.
    let mut header = Header::new(Algorithm::EdDSA);
    header.typ = Some("tis-principal+jwt".into());
    header.kid = Some(public.kid.clone());
    let now = Clock::system().unix_secs();
    let claims =
        json!({"iss":"tis-gateway","aud":["tcs"],"iat":now,"exp":now+30,"userName":"root"});
    let key = EncodingKey::from_ed_pem(rogue_private.as_bytes()).expect("pem");
    let forged = jsonwebtoken::encode(&header, &claims, &key).expect("encode");
    assert_eq!(v.verify(&forged).unwrap_err(), AuthError::BadSignature);
}

#[test]
fn rotation_trusts_a_list_of_gateway_keys() {
    let (old, old_public, _) = pair(Clock::system());
    let (new, new_public, _) = pair(Clock::system());
    let p = Principal::new(profile(), AuthenticatedBy::Gateway);
    let during = verifier(vec![old_public, new_public.clone()], Clock::system());
    let old_token = old.mint(&p, &["tcs"]).expect("mint");
    during.verify(&old_token).expect("old key during rotation");
    during
        .verify(&new.mint(&p, &["tcs"]).expect("mint"))
        .expect("new key");
    let after = verifier(vec![new_public], Clock::system());
    assert!(matches!(
        after.verify(&old_token),
        Err(AuthError::UnknownKey(_))
    ));
    assert_eq!(old.kid().len(), 43);
    assert_ne!(old.kid(), new.kid());
}

#[tokio::test(start_paused = true)]
async fn a_principal_expires_with_its_short_lifetime() {
    let clock = Clock::tokio();
    let (signer, public, _) = pair(clock);
    let v = verifier(vec![public], clock);
    let token = signer
        .mint(
            &Principal::new(profile(), AuthenticatedBy::Gateway),
            &["tcs"],
        )
        .expect("mint");
    v.verify(&token).expect("fresh");
    tokio::time::advance(Duration::from_secs(30 + 5)).await;
    v.verify(&token).expect("within the 5 s skew");
    tokio::time::advance(Duration::from_secs(1)).await;
    assert_eq!(v.verify(&token).unwrap_err(), AuthError::Expired);
}

#[test]
fn a_long_lived_principal_is_refused_even_when_validly_signed() {
    let (_, public, private) = pair(Clock::system());
    let v = verifier(vec![public.clone()], Clock::system());
    let mut header = Header::new(Algorithm::EdDSA);
    header.typ = Some("tis-principal+jwt".into());
    header.kid = Some(public.kid.clone());
    let now = Clock::system().unix_secs();
    let claims =
        json!({"iss":"tis-gateway","aud":"tcs","iat":now,"exp":now+3600,"userName":"jdoe"});
    let key = EncodingKey::from_ed_pem(private.as_bytes()).expect("pem");
    let token = jsonwebtoken::encode(&header, &claims, &key).expect("encode");
    assert!(matches!(
        v.verify(&token),
        Err(AuthError::LifetimeTooLong { .. })
    ));
}

#[test]
fn an_access_token_cannot_pass_as_a_principal() {
    let (_, public, private) = pair(Clock::system());
    let v = verifier(vec![public.clone()], Clock::system());
    // Signed by the trusted key, but typed as an access token.
    let mut header = Header::new(Algorithm::EdDSA);
    header.kid = Some(public.kid.clone());
    let now = Clock::system().unix_secs();
    let claims = json!({"iss":"tis-gateway","aud":"tcs","iat":now,"exp":now+30,"userName":"jdoe"});
    let key = EncodingKey::from_ed_pem(private.as_bytes()).expect("pem");
    let token = jsonwebtoken::encode(&header, &claims, &key).expect("encode");
    assert!(matches!(
        v.verify(&token),
        Err(AuthError::WrongTokenType(_))
    ));
    // An IdP access token (RS256) is refused for its algorithm as well.
    let idp = TestKey::rsa("idp", 0);
    let mut h = idp.header();
    h.typ = Some("tis-principal+jwt".into());
    let access = idp.sign_with(&h, &testing::claims("tis-gateway", now));
    assert!(matches!(
        v.verify(&access),
        Err(AuthError::AlgorithmNotAllowed(_))
    ));
}

#[test]
fn an_oversized_principal_is_refused_before_parsing() {
    let (_, public, _) = pair(Clock::system());
    let v = verifier(vec![public], Clock::system());
    let huge = "a".repeat(65 * 1024);
    assert!(matches!(
        v.verify(&huge),
        Err(AuthError::TokenTooLarge { .. })
    ));
}

#[test]
fn signer_and_verifier_are_built_from_key_files() {
    let dir = tempfile::tempdir().expect("tempdir");
    let private = dir.path().join("principal.key");
    let public = dir.path().join("principal.pub");
    let kid = keyfile::ensure_keypair_files(&private, &public).expect("keys");
    let signer = PrincipalSigner::from_config(&PrincipalConfig {
        signing_key_file: Some(private.clone()),
        ..PrincipalConfig::default()
    })
    .expect("signer");
    assert_eq!(signer.kid(), kid);
    let verifier = PrincipalVerifier::from_config(&PrincipalConfig {
        audience: "tcs".into(),
        trusted_key_files: vec![public],
        ..PrincipalConfig::default()
    })
    .expect("verifier");
    let token = signer
        .mint(
            &Principal::new(profile(), AuthenticatedBy::Gateway),
            &["tcs"],
        )
        .expect("mint");
    assert_eq!(
        verifier.verify(&token).expect("verifies").user_name(),
        "jdoe"
    );
}

#[test]
fn a_verifier_without_an_audience_or_keys_is_a_configuration_error() {
    let err = PrincipalVerifier::from_config(&PrincipalConfig::default()).expect_err("no audience");
    assert!(err.to_string().contains("principal.audience"), "{err}");
    let err = PrincipalVerifier::from_config(&verifier_config("tcs")).expect_err("no keys");
    assert!(matches!(err, PrincipalSetupError::Config(_)), "{err}");
    assert!(
        err.to_string().contains("principal.trusted_key_files"),
        "{err}"
    );
}
