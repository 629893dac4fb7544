//! The provider as a runnable app: `App::build(config).await?` loads the realms and keys
//! and binds (port 0 friendly); `app.run(shutdown)` serves until `shutdown` resolves, then
//! drains through `tis_core::Server`.
//!
//! While it runs, one background task looks after the keys every `key_check_interval`:
//! scheduled rotation, deleting retired keys, and reloading a folder rotated by another
//! process. A failure there keeps the current keys and marks the `signing_keys` readiness
//! check degraded; the provider keeps issuing tokens.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use axum::Router;
use tis_core::http::Standard;
use tis_core::{CheckStatus, Health, Server};

use crate::clock::{Clock, SystemClock};
use crate::config::{self, IdpConfig};
use crate::keys::{KeyStore, Rotation};
use crate::limiter::FailedLogins;
use crate::password::Verifier;
use crate::realm::Realms;
use crate::routes::{self, Idp};
use crate::tokens::{Lifetimes, TokenService};

/// The largest request body the provider reads. A token request is a few hundred bytes.
pub const BODY_LIMIT: usize = 64 * 1024;
/// The readiness check this app registers.
pub const KEYS_CHECK: &str = "signing_keys";

/// A built provider, bound and ready to [`run`](App::run).
#[derive(Debug)]
pub struct App {
    server: Server,
    router: Router,
    health: Health,
    keys: KeyStore,
    base_url: String,
    config: IdpConfig,
}

impl App {
    /// Builds with the system clock.
    pub async fn build(config: IdpConfig) -> anyhow::Result<App> {
        Self::build_with_clock(config, Arc::new(SystemClock)).await
    }

    /// Builds with an injected clock (tests move a [`ManualClock`](crate::clock::ManualClock)
    /// to expire tokens and retire keys).
    pub async fn build_with_clock(config: IdpConfig, clock: Arc<dyn Clock>) -> anyhow::Result<App> {
        config.validate()?;
        // Install the Prometheus recorder now: counters recorded before its first use are lost.
        tis_core::metrics::handle();
        metrics::describe_counter!(
            "idp_token_requests_total",
            "Token requests by realm, grant and outcome (issued, or the OAuth2 error code)."
        );
        metrics::describe_counter!(
            "idp_browser_logins_total",
            "Login-page posts by realm and outcome (signed_in, invalid_credentials, locked, disabled, incomplete)."
        );
        let path = config.realm_file.clone();
        let realms = tokio::task::spawn_blocking(move || Realms::load(&path))
            .await
            .context("loading the realm file was cancelled")??;
        // A Keycloak realm export's token lifetimes are the realm's: they win over `[idp]`.
        let mut config = config;
        if let Some(lifetimes) = realms.lifetimes() {
            lifetimes.apply(&mut config);
            config.validate().with_context(|| {
                format!(
                    "the token lifetimes of the realm export {}",
                    config.realm_file.display()
                )
            })?;
        }
        let keys = KeyStore::open(
            &config.key_dir,
            config.algorithm,
            config.rotation_overlap,
            clock.clone(),
        )
        .await
        .context("opening the signing keys")?;
        let server = Server::bind(config.listen)
            .await
            .with_context(|| format!("binding the idp listener to {}", config.listen))?;
        let base_url = config::base_url(config.public_url.as_deref(), server.local_addr());

        let health = Health::new(tis_core::service::IDP);
        health.set(KEYS_CHECK, CheckStatus::Up, None);
        let idp = Arc::new(Idp {
            realms,
            tokens: TokenService {
                keys: keys.clone(),
                clock: clock.clone(),
                lifetimes: Lifetimes {
                    access: config.access_token_lifetime,
                    refresh: config.refresh_token_lifetime,
                    session_max: config.session_max_lifetime,
                },
                base_url: base_url.clone(),
            },
            verifier: Verifier::per_core(),
            limiter: FailedLogins::new(config.max_failed_logins, config.failed_login_window),
            ledger: Default::default(),
            browser: Default::default(),
            code_lifetime: config.authorization_code_lifetime,
            login_timeout: config.login_timeout,
        });
        let mut names: Vec<&str> = idp.realms.names().collect();
        names.sort_unstable();
        tracing::info!(idp.base_url = %base_url, idp.realms = ?names, "identity provider ready");
        let router = tis_core::http::standard(
            routes::router(idp.clone()),
            &health,
            Standard {
                body_limit: BODY_LIMIT,
                metrics: true,
            },
        );
        Ok(App {
            server,
            router,
            health,
            keys,
            base_url,
            config,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.server.local_addr()
    }

    /// The base of every URL this provider hands out (`http://127.0.0.1:8180`).
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The issuer of `realm`: `<base_url>/realms/<realm>`.
    pub fn issuer(&self, realm: &str) -> String {
        format!("{}/realms/{realm}", self.base_url)
    }

    pub fn health(&self) -> Health {
        self.health.clone()
    }

    /// The complete router (standard layers included), for tests that call it without a socket.
    pub fn router(&self) -> Router {
        self.router.clone()
    }

    /// The signing keys; [`KeyStore::rotate`] rotates in-process.
    pub fn keys(&self) -> KeyStore {
        self.keys.clone()
    }

    /// Rotates the signing key now (see [`KeyStore::rotate`]).
    pub async fn rotate_keys(&self) -> anyhow::Result<Rotation> {
        Ok(self.keys.rotate().await?)
    }

    /// Serves until `shutdown` resolves, then drains.
    pub async fn run<F>(self, shutdown: F) -> anyhow::Result<()>
    where
        F: Future<Output = ()> + Send,
    {
        let App {
            server,
            router,
            health,
            keys,
            config,
            ..
        } = self;
        let upkeep = tokio::spawn(look_after_keys(keys, config.clone(), health.clone()));
        let served = server
            .serve(router, health, config.drain, shutdown)
            .await
            .context("serving the idp");
        upkeep.abort();
        served
    }
}

async fn look_after_keys(keys: KeyStore, config: IdpConfig, health: Health) {
    let mut tick = tokio::time::interval(config.key_check_interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tick.tick().await; // the first tick is immediate; the keys were just loaded
    loop {
        tick.tick().await;
        match keys.maintain(config.rotation_interval).await {
            Ok(()) => health.set(KEYS_CHECK, CheckStatus::Up, None),
            Err(e) => {
                tracing::warn!(error.message = %e, "key upkeep failed; keeping the current keys");
                health.set(KEYS_CHECK, CheckStatus::Degraded, Some(e.to_string()));
            }
        }
    }
}
