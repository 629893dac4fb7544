//! The `Authenticated` extractor in a service router, through `tis_core::http::standard`
//! (so the JSON error bodies and `TIS-Degraded` are the real ones), with `oneshot`.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::FromRef;
use axum::routing::get;
use http::{Request, StatusCode};
use http_body_util::BodyExt;
use tis_auth::principal::keyfile;
use tis_auth::testing::{self, ScriptedSource, TestKey};
use tis_auth::{
    AccessTokenVerifier, Authenticated, AuthenticatedBy, Authenticator, Clock, JwksCache,
    Principal, PrincipalConfig, PrincipalSigner, PrincipalVerifier, RoleCatalogue, UserProfile,
};
use tis_core::ErrorBody;
use tis_core::http::{Standard, standard};
use tower::ServiceExt;

const ISSUER: &str = "http://idp.test/realms/lin";

#[derive(Clone)]
struct AppState {
    auth: Authenticator,
}

impl FromRef<AppState> for Authenticator {
    fn from_ref(s: &AppState) -> Authenticator {
        s.auth.clone()
    }
}

async fn people(Authenticated(who): Authenticated) -> Result<String, tis_auth::AuthError> {
    who.require_permission("tis:people::person:", "View")?;
    Ok(who.user_name().to_owned())
}

async fn delete(Authenticated(who): Authenticated) -> Result<String, tis_auth::AuthError> {
    who.require_authority("tcs:delete:entities")?;
    Ok("deleted".into())
}

struct Rig {
    router: Router,
    signer: PrincipalSigner,
    idp_key: TestKey,
    source: Arc<ScriptedSource>,
    clock: Clock,
}

async fn rig() -> Rig {
    let clock = Clock::tokio();
    let (private, public) = keyfile::generate_pem().expect("keys");
    let signer = PrincipalSigner::new(
        keyfile::parse_private_pem(&private).expect("private"),
        "tis-gateway",
        Duration::from_secs(30),
        clock,
    );
    let principals = PrincipalVerifier::with_keys(
        &PrincipalConfig {
            audience: "tcs".into(),
            ..PrincipalConfig::default()
        },
        vec![keyfile::parse_public_pem(&public).expect("public")],
        clock,
    )
    .expect("principal verifier");
    let idp_key = TestKey::ed25519("idp-1");
    let source = Arc::new(ScriptedSource::serving(testing::jwks(&[&idp_key])));
    let config = testing::auth_config(ISSUER);
    let cache = JwksCache::new(&config, source.clone(), clock).expect("cache");
    cache.start_refreshing().await;
    let access = AccessTokenVerifier::new(&config, cache).expect("verifier");
    let auth =
        Authenticator::new(principals).with_access_tokens(access, Arc::new(RoleCatalogue::tis()));
    let routes = Router::new()
        .route("/tcs/api/people", get(people))
        .route("/tcs/api/delete", get(delete))
        .with_state(AppState { auth });
    let router = standard(routes, &tis_core::Health::new("tcs"), Standard::default());
    Rig {
        router,
        signer,
        idp_key,
        source,
        clock,
    }
}

async fn call(
    router: &Router,
    path: &str,
    headers: &[(&str, &str)],
) -> (StatusCode, Option<String>, String) {
    let mut req = Request::get(path);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let res = router
        .clone()
        .oneshot(req.body(Body::empty()).expect("request"))
        .await
        .expect("response");
    let status = res.status();
    let degraded = res
        .headers()
        .get("tis-degraded")
        .map(|v| v.to_str().expect("ascii").to_owned());
    let body = res.into_body().collect().await.expect("body").to_bytes();
    (
        status,
        degraded,
        String::from_utf8_lossy(&body).into_owned(),
    )
}

fn error_code(body: &str) -> String {
    serde_json::from_str::<ErrorBody>(body)
        .expect("a JSON error body")
        .error
        .code
}

fn viewer() -> Principal {
    let profile = RoleCatalogue::tis().profile("viewer", &["HEE Trust Observer".into()], &[]);
    Principal::new(profile, AuthenticatedBy::Gateway)
}

#[tokio::test(start_paused = true)]
async fn a_gateway_principal_authenticates_the_request() {
    let r = rig().await;
    let token = r.signer.mint(&viewer(), &["tcs"]).expect("mint");
    let (status, degraded, body) =
        call(&r.router, "/tcs/api/people", &[("tis-principal", &token)]).await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, "viewer"));
    assert_eq!(degraded, None);
}

#[tokio::test(start_paused = true)]
async fn no_credentials_is_a_401_missing_token() {
    let r = rig().await;
    let (status, _, body) = call(&r.router, "/tcs/api/people", &[]).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(error_code(&body), "missing_token");
}

#[tokio::test(start_paused = true)]
async fn a_missing_permission_is_a_403_naming_it() {
    let r = rig().await;
    let token = r.signer.mint(&viewer(), &["tcs"]).expect("mint");
    let (status, _, body) = call(&r.router, "/tcs/api/delete", &[("tis-principal", &token)]).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let err = serde_json::from_str::<ErrorBody>(&body)
        .expect("json")
        .error;
    assert_eq!(err.code, "forbidden");
    assert_eq!(err.message, "missing permission `tcs:delete:entities`");
}

#[tokio::test(start_paused = true)]
async fn a_bad_principal_is_refused_even_with_a_good_access_token_beside_it() {
    let r = rig().await;
    let token = r.signer.mint(&viewer(), &["reference"]).expect("mint");
    let access = r
        .idp_key
        .sign(&testing::claims(ISSUER, r.clock.unix_secs()));
    let bearer = format!("Bearer {access}");
    let (status, _, body) = call(
        &r.router,
        "/tcs/api/people",
        &[("tis-principal", &token), ("authorization", &bearer)],
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(error_code(&body), "wrong_audience");
}

#[tokio::test(start_paused = true)]
async fn a_raw_access_token_is_accepted_with_a_profile_from_the_role_catalogue() {
    let r = rig().await;
    let access = r
        .idp_key
        .sign(&testing::claims(ISSUER, r.clock.unix_secs()));
    let (status, _, body) = call(
        &r.router,
        "/tcs/api/people",
        &[("OIDC_access_token", &access)],
    )
    .await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, "jdoe"));
    let (status, _, body) = call(
        &r.router,
        "/tcs/api/delete",
        &[("authorization", &format!("Bearer {access}"))],
    )
    .await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "HEE Admin may not delete: {body}"
    );
}

#[tokio::test(start_paused = true)]
async fn two_different_access_tokens_are_a_400() {
    let r = rig().await;
    let now = r.clock.unix_secs();
    let a = r.idp_key.sign(&testing::claims(ISSUER, now));
    let b = r.idp_key.sign(&testing::claims(ISSUER, now + 1));
    let (status, _, body) = call(
        &r.router,
        "/tcs/api/people",
        &[
            ("authorization", &format!("Bearer {a}")),
            ("oidc_access_token", &b),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error_code(&body), "conflicting_tokens");
}

#[tokio::test(start_paused = true)]
async fn an_unreachable_idp_marks_responses_degraded_then_answers_503_beyond_grace() {
    let r = rig().await;
    r.source.set(Err(testing::unreachable()));
    tokio::time::advance(Duration::from_secs(301)).await;
    for _ in 0..20 {
        tokio::task::yield_now().await;
    }
    let access = r
        .idp_key
        .sign(&testing::claims(ISSUER, r.clock.unix_secs()));
    let (status, degraded, _) = call(
        &r.router,
        "/tcs/api/people",
        &[("OIDC_access_token", &access)],
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(degraded.as_deref(), Some("idp"));

    tokio::time::advance(Duration::from_secs(12 * 3600)).await;
    let access = r
        .idp_key
        .sign(&testing::claims(ISSUER, r.clock.unix_secs()));
    let (status, degraded, body) = call(
        &r.router,
        "/tcs/api/people",
        &[("OIDC_access_token", &access)],
    )
    .await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(error_code(&body), "idp_unavailable");
    assert_eq!(degraded.as_deref(), Some("idp"));
}

#[tokio::test(start_paused = true)]
async fn degradations_carried_by_the_principal_reach_the_response() {
    let r = rig().await;
    let mut p = Principal::new(UserProfile::named("jdoe"), AuthenticatedBy::Gateway);
    p.profile = viewer().profile;
    p.stale = true;
    p.degraded = vec!["idp".into()];
    let token = r.signer.mint(&p, &["tcs"]).expect("mint");
    let (status, degraded, _) =
        call(&r.router, "/tcs/api/people", &[("tis-principal", &token)]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(degraded.as_deref(), Some("idp, profile-stale"));
}
