//! [`App`]: the build/run skeleton every service shares.
//!
//! ```ignore
//! let app = App::builder(&config, crate::migrations())
//!     .seed(|db| Box::pin(async move { crate::demo::seed(&db).await }))
//!     .build(|ctx| Ok(Built::new(crate::routes::router(ctx.kit))))
//!     .await?;
//! let addr = app.local_addr();
//! app.run(shutdown).await?;
//! ```
//!
//! `build`, in order: checks the configuration (every problem at once, [`InvalidConfig`](crate::config::InvalidConfig): exit
//! code 2); sets up principal verification and, when `access_tokens` is set, the identity
//! provider's key cache (reported in readiness) and access-token verification, letting such
//! callers into the API (profiles from the built-in role catalogue or the service's own
//! source) only when [`Base::accepts_access_tokens`](crate::config::Base::accepts_access_tokens)
//! (local mode, or `accept_access_tokens = true`); creates the database handle
//! without connecting (an instance starts even when its database is down); starts tis-store's
//! monitor, which runs the migrations when `database.migrate` is set and keeps the `database`
//! readiness check honest; spawns the demo-data loader when `demo_data` is set; binds the
//! listener (port 0 friendly); lets the service assemble its routes from the [`Ctx`]; and wraps
//! them in tis-core's standard layers. `run` serves until the shutdown future resolves, then
//! drains.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;

use anyhow::Context;
use axum::Router;
use bytes::Bytes;
use tis_auth::{
    AccessTokenVerifier, Authenticator, JwksCache, PrincipalVerifier, ProfileSource, RoleCatalogue,
};
use tis_core::http::Standard;
use tis_core::{DrainConfig, Health, Server};
use tis_store::monitor::{self, Monitor};
use tis_store::{Db, Migrations, StoreError};

use crate::config::ServiceConfig;
use crate::http::Kit;
use crate::repo::Repo;

/// Loads a service's demo data; returns the rows written.
pub type Seed = fn(Db) -> Pin<Box<dyn Future<Output = Result<usize, StoreError>> + Send>>;

/// Makes the source of profiles for callers authenticated by access token.
pub type Profiles = Box<dyn FnOnce(&Db) -> Arc<dyn ProfileSource> + Send>;

/// What the service's routes are built from.
#[derive(Debug, Clone)]
pub struct Ctx {
    /// The kit's state: the descriptor repository over the service's database, the
    /// authenticator, the limits, the API prefix.
    pub kit: Kit,
    pub db: Db,
    pub health: Health,
    /// The access-token verifier, when `access_tokens` is set (Profile's `/userinfo`).
    pub access_tokens: Option<AccessTokenVerifier>,
}

/// What the service's route builder returns.
#[derive(Debug)]
pub struct Built<X = ()> {
    /// The service's routes, finished (see [`crate::http::serve_api`]).
    pub router: Router,
    /// Its OpenAPI document (compact JSON), also served by the router.
    pub openapi: Bytes,
    /// Anything of the service's own the app should keep (a client to other services).
    pub extra: X,
}

impl Built<()> {
    /// The router and its document, nothing else.
    pub fn new((router, openapi): (Router, Bytes)) -> Built<()> {
        Built {
            router,
            openapi,
            extra: (),
        }
    }
}

/// Builds an [`App`] (see the module documentation).
pub struct Builder<'a, C: ServiceConfig> {
    config: &'a C,
    api: &'static str,
    migrations: &'static Migrations,
    seed: Option<Seed>,
    profiles: Option<Profiles>,
}

impl<C: ServiceConfig> std::fmt::Debug for Builder<'_, C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Builder")
            .field("service", &C::NAME)
            .finish_non_exhaustive()
    }
}

impl<'a, C: ServiceConfig> Builder<'a, C> {
    /// The service's demo data, loaded once the database is migrated when `demo_data` is set.
    pub fn seed(mut self, seed: Seed) -> Self {
        self.seed = Some(seed);
        self
    }

    /// Where the profiles of callers authenticated by access token come from (default: the
    /// built-in role catalogue, tis-auth's `RoleCatalogue::tis`).
    pub fn profiles(
        mut self,
        profiles: impl FnOnce(&Db) -> Arc<dyn ProfileSource> + Send + 'static,
    ) -> Self {
        self.profiles = Some(Box::new(profiles));
        self
    }

    /// Where every API route lives (default `/<service>/api`).
    pub fn api(mut self, prefix: &'static str) -> Self {
        self.api = prefix;
        self
    }

    /// Builds the app; `routes` assembles the service's router from the [`Ctx`].
    pub async fn build<X>(
        self,
        routes: impl FnOnce(Ctx) -> anyhow::Result<Built<X>>,
    ) -> anyhow::Result<App<X>> {
        let config = self.config;
        config.validate()?;
        let base = config.base();
        let name = C::NAME;
        tis_core::metrics::handle();
        let health = Health::new(name);
        // Its values were checked above: what is left is the keys themselves (not PEM, not
        // Ed25519), a configuration problem too.
        let principals = PrincipalVerifier::from_config(&base.principal)
            .map_err(|e| crate::config::InvalidConfig(vec![format!("`{name}.principal` {e}")]))?;
        let db = Db::connect(&base.database).context("configuring the database")?;
        let mut auth = Authenticator::new(principals);
        let mut access_tokens = None;
        if let Some(tokens) = &base.access_tokens {
            let keys = JwksCache::start(tokens)
                .await
                .context("setting up access-token verification")?;
            keys.report_to(health.clone());
            let verifier = AccessTokenVerifier::new(tokens, keys)?;
            if base.accepts_access_tokens() {
                let source: Arc<dyn ProfileSource> = match self.profiles {
                    Some(make) => make(&db),
                    None => Arc::new(RoleCatalogue::tis()),
                };
                auth = auth.with_access_tokens(verifier.clone(), source);
            } else {
                tracing::info!(
                    "{name} API: gateway principals only (access tokens are verified for what needs the caller's own token; `{name}.accept_access_tokens` lets callers in with them directly)"
                );
            }
            access_tokens = Some(verifier);
        }
        // Not ready, and API requests refused, until the monitor has seen the database answer
        // (and migrated it, and its replicas have replayed that).
        let migrations = base.database.migrate.then_some(self.migrations);
        let monitor = monitor::start(
            db.clone(),
            health.clone(),
            base.database.health_interval,
            migrations,
        );
        if let (true, Some(seed)) = (base.demo_data, self.seed) {
            tokio::spawn(monitor::seed_when_up(
                db.clone(),
                health.clone(),
                name,
                seed,
            ));
        }
        let server = Server::bind(base.listen)
            .await
            .with_context(|| format!("binding the {name} listener to {}", base.listen))?;
        let kit = Kit {
            repo: Repo::new(db.clone()),
            auth,
            limits: base.limits,
            api: self.api,
        };
        let built = routes(Ctx {
            kit,
            db: db.clone(),
            health: health.clone(),
            access_tokens,
        })?;
        let router = tis_core::http::standard(
            built.router,
            &health,
            Standard {
                body_limit: base.limits.body_limit,
                metrics: true,
            },
        );
        tracing::info!(server.address = %server.local_addr(), db.backend = db.backend().as_str(), "{name} service built");
        Ok(App {
            name,
            server,
            router,
            health,
            db,
            openapi: built.openapi,
            drain: base.drain,
            extra: built.extra,
            _monitor: monitor,
        })
    }
}

/// A built instance, bound and ready to [`run`](App::run).
pub struct App<X = ()> {
    name: &'static str,
    server: Server,
    router: Router,
    health: Health,
    db: Db,
    openapi: Bytes,
    drain: DrainConfig,
    extra: X,
    _monitor: Monitor,
}

impl<X> std::fmt::Debug for App<X> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("App")
            .field("service", &self.name)
            .field("local_addr", &self.server.local_addr())
            .finish_non_exhaustive()
    }
}

impl App<()> {
    /// Starts building the app of the service `config` belongs to, with its migrations.
    pub fn builder<'a, C: ServiceConfig>(
        config: &'a C,
        migrations: &'static Migrations,
    ) -> Builder<'a, C> {
        Builder {
            config,
            api: default_api(C::NAME),
            migrations,
            seed: None,
            profiles: None,
        }
    }
}

/// `/<service>/api`, made once per service name.
fn default_api(name: &'static str) -> &'static str {
    use std::collections::HashMap;
    use std::sync::{LazyLock, Mutex};
    static MADE: LazyLock<Mutex<HashMap<&'static str, &'static str>>> =
        LazyLock::new(Mutex::default);
    let mut made = MADE.lock().unwrap_or_else(|p| p.into_inner());
    made.entry(name)
        .or_insert_with(|| Box::leak(format!("/{name}/api").into_boxed_str()))
}

impl<X> App<X> {
    pub fn local_addr(&self) -> SocketAddr {
        self.server.local_addr()
    }

    pub fn health(&self) -> Health {
        self.health.clone()
    }

    pub fn db(&self) -> Db {
        self.db.clone()
    }

    /// What the service kept of its own (see [`Built::extra`]).
    pub fn extra(&self) -> &X {
        &self.extra
    }

    /// The complete router (standard layers included), for tests without a socket.
    pub fn router(&self) -> Router {
        self.router.clone()
    }

    /// The OpenAPI document (compact JSON).
    pub fn openapi(&self) -> &Bytes {
        &self.openapi
    }

    /// Serves until `shutdown` resolves, then drains.
    pub async fn run<F>(self, shutdown: F) -> anyhow::Result<()>
    where
        F: Future<Output = ()> + Send,
    {
        let App {
            name,
            server,
            router,
            health,
            drain,
            _monitor,
            ..
        } = self;
        let release = tokio::spawn(release_start_pages_when_ready(name, health.clone()));
        let served = server
            .serve(router, health, drain, shutdown)
            .await
            .with_context(|| format!("serving the {name} API"));
        release.abort();
        served
    }
}

/// `TISKIT_KEEP_START_PAGES=1` keeps the pages (to measure one binary with and without).
/// Not `TIS_…`: every `TIS_` variable is a configuration key, and an unknown one is refused.
const KEEP_START_PAGES: &str = "TISKIT_KEEP_START_PAGES";

/// Once the instance reports ready, drops its mappings of the executable pages that only
/// start-up touched ([`tis_pages`]): an idle instance's RSS is mostly those.
async fn release_start_pages_when_ready(name: &'static str, health: Health) {
    if std::env::var(KEEP_START_PAGES).is_ok_and(|v| v == "1" || v == "true") {
        return;
    }
    let mut tick = tokio::time::interval(std::time::Duration::from_millis(100));
    while !health.is_ready() {
        tick.tick().await;
    }
    match tokio::task::spawn_blocking(tis_pages::release_executable_pages).await {
        Ok(Ok(r)) => tracing::info!(
            pages.mappings = r.mappings,
            pages.resident_bytes = r.resident,
            pages.kept = r.kept,
            "{name}: released the executable's start-up pages"
        ),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "{name}: could not release the executable's start-up pages")
        }
        Err(e) => tracing::warn!(error = %e, "{name}: releasing the start-up pages failed"),
    }
}
