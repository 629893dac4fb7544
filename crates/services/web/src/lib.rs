//! tis-web: the TIS admin web application. People sign in with OpenID Connect (authorization
//! code + PKCE against Keycloak, or `tis idp` locally); the session lives in this service's
//! database and the browser holds only its `TIS_SESSION` cookie; pages are server-rendered HTML
//! in the NHS.UK design system, built from the APIs called **through the gateway** with the
//! user's own access token. It owns its sessions; it must not touch any service's tables or
//! call a service except through the gateway. See `docs/web.md` and `docs/architecture.md`
//! ("The web application").
//!
//! # Layout
//! - [`config`] — `[web]`.
//! - [`oidc`] — discovery, the authorization request, code exchange, ID-token verification,
//!   refresh, the provider's logout URL.
//! - [`session`] — the `web_session` and `web_login` tables, random values, constant-time
//!   comparison.
//! - [`api`] — the gateway, as pages call it (`TIS-Degraded`, field errors, outages).
//! - [`format`](mod@format) — dates as people read them, and the NHS date input.
//! - [`status`] — the status banner from `/api/status`, cached.
//! - [`pages`] — the router, the layout, sign-in and -out, people, programmes; security headers.
//! - [`assets`] — the vendored NHS.UK frontend, under a versioned path.
//! - `templates/`: askama templates (escaped by default).
//! - `migrations/{sqlite,postgres}`: the schema.

pub mod api;
pub mod assets;
pub mod config;
pub mod format;
pub mod oidc;
pub mod pages;
pub mod session;
pub mod status;

use std::sync::{Arc, LazyLock};

use anyhow::Context as _;
use http::HeaderValue;
use tis_auth::{AccessTokenVerifier, AuthConfig};
use tis_service_kit::app::Built;

pub use config::WebConfig;

static MIGRATIONS: LazyLock<tis_store::Migrations> = LazyLock::new(|| tis_store::Migrations {
    sqlite: sqlx::migrate!("./migrations/sqlite"),
    postgres: sqlx::migrate!("./migrations/postgres"),
});

/// The service's migrations (for `tis migrate web` and `tis up`).
pub fn migrations() -> &'static tis_store::Migrations {
    &MIGRATIONS
}

/// Builds an instance: the kit's `App` (listener, database and its monitor, health, metrics,
/// the identity provider's key cache from `access_tokens`) with the pages as its routes.
pub async fn build(config: &WebConfig) -> anyhow::Result<tis_service_kit::App> {
    let cfg = config.clone();
    tis_service_kit::App::builder(config, migrations())
        .build(move |ctx| {
            let tokens = ctx
                .access_tokens
                .as_ref()
                .context("`web.access_tokens` must be set")?;
            // ID tokens are for this client: same issuer and keys, the client id as audience.
            let auth = AuthConfig {
                audience: vec![cfg.client_id.clone()],
                ..cfg.access_tokens.clone().unwrap_or_default()
            };
            let id_tokens = AccessTokenVerifier::new(&auth, tokens.keys().clone())?;
            let oidc = oidc::Oidc::new(
                &auth.issuer,
                &cfg.client_id,
                &cfg.client_secret,
                cfg.idp_timeout,
                id_tokens,
            )?;
            let gateway = api::Gateway::new(&cfg.gateway_url, cfg.call_timeout)?;
            let csp = HeaderValue::from_str(&pages::csp(&oidc.issuer_origin()))
                .context("the page policy")?;
            let web = pages::Web {
                sessions: session::Sessions::new(ctx.db.clone(), cfg.session_lifetime),
                oidc: Arc::new(oidc),
                status: status::StatusCache::new(gateway.clone(), cfg.status_cache),
                gateway,
                redirect_uri: cfg.redirect_uri(),
                after_logout: cfg.after_logout(),
                secure_cookies: cfg.secure_cookies(),
                refresh_before: cfg.refresh_before,
                idp_timeout: cfg.idp_timeout,
                refreshing: session::RefreshFlights::default(),
                csp,
                last_profiles: pages::LastProfiles::default(),
            };
            Ok(Built::new((pages::router(web), bytes::Bytes::new())))
        })
        .await
}
