//! The service as a runnable app.
//!
//! `App::build(config)` checks the configuration; sets up principal verification and the
//! identity provider's key cache (used by `/userinfo`, and by every other endpoint for callers
//! with an access token, their profile read from this database); creates the database handle
//! without connecting and starts the tis-store monitor (migrations, readiness); starts the
//! Reference client (discovery, breakers); binds the listener (port 0 friendly) and assembles
//! the router. `app.run(shutdown)` serves until `shutdown` resolves, then drains.
//!
//! The API routes carry tis-store's middleware ([`tis_store::http::middleware`], see
//! [`crate::routes`]): until the monitor has seen the database answer (and migrated it), API
//! requests get 503 `database_unavailable` at once instead of failing on missing tables;
//! while the primary is down, reads (`/userinfo` among them) go on from replicas and
//! responses say `TIS-Degraded: db-read-only`, and writes get 503 `primary_unavailable`;
//! `TIS-Consistency` gives a caller read-your-writes across replicas.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use axum::Router;
use tis_auth::{AccessTokenVerifier, Authenticator, JwksCache, PrincipalVerifier};
use tis_core::http::Standard;
use tis_core::{Health, Server};
use tis_mesh::Discovery;
use tis_store::Db;
use tis_store::monitor::{self, Monitor};

use crate::config::ProfileConfig;
use crate::local::LocalProfiles;
use crate::reference::ReferenceClient;
use crate::repo::Repo;
use crate::routes::{self, AppState, Limits};

/// A built instance, bound and ready to [`run`](App::run).
pub struct App {
    server: Server,
    router: Router,
    health: Health,
    db: Db,
    reference: ReferenceClient,
    config: ProfileConfig,
    _monitor: Monitor,
}

impl std::fmt::Debug for App {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("App")
            .field("local_addr", &self.server.local_addr())
            .finish_non_exhaustive()
    }
}

impl App {
    /// Builds with Reference found through `config.reference.discovery`.
    pub async fn build(config: ProfileConfig) -> anyhow::Result<App> {
        config.validate()?;
        let ctx = tis_mesh::DiscoveryContext {
            registry: None,
            dns: config.reference.mesh.dns.clone(),
        };
        let discovery = config
            .reference
            .discovery
            .start("reference", &ctx)
            .await
            .map_err(|e| {
                anyhow::anyhow!("invalid configuration: `profile.reference.discovery` {e}")
            })?;
        Self::build_with_reference(config, discovery).await
    }

    /// Builds with Reference found through `discovery` (a registry, a test's static list).
    pub async fn build_with_reference(
        config: ProfileConfig,
        discovery: impl Discovery,
    ) -> anyhow::Result<App> {
        config.validate()?;
        tis_core::metrics::handle();
        let health = Health::new("profile");
        let principals = PrincipalVerifier::from_config(&config.principal)
            .context("setting up TIS-Principal verification")?;
        let tokens = config
            .access_tokens
            .as_ref()
            .context("`profile.access_tokens` must be set")?;
        let keys = JwksCache::start(tokens)
            .await
            .context("setting up access-token verification")?;
        keys.report_to(health.clone());
        let verifier = AccessTokenVerifier::new(tokens, keys)?;

        let db = Db::connect(&config.database).context("configuring the database")?;
        let migrations = config.database.migrate.then(crate::migrations);
        let monitor = monitor::start(
            db.clone(),
            health.clone(),
            config.database.health_interval,
            migrations,
        );
        if config.demo_data {
            tokio::spawn(monitor::seed_when_up(
                db.clone(),
                health.clone(),
                "profile",
                |db| async move { crate::demo::seed(&db).await },
            ));
        }
        let repo = Repo::new(db.clone());
        let auth = Authenticator::new(principals)
            .with_access_tokens(verifier.clone(), Arc::new(LocalProfiles::new(repo.clone())));
        let reference = ReferenceClient::new(&config.reference, discovery)
            .context("setting up the Reference client (`profile.reference.mesh`)")?;
        let server = Server::bind(config.listen)
            .await
            .with_context(|| format!("binding the profile listener to {}", config.listen))?;
        let state = AppState {
            repo,
            auth,
            userinfo: verifier,
            reference: reference.clone(),
            limits: Limits {
                default_page_size: config.default_page_size,
                max_page_size: config.max_page_size,
                max_items: config.max_items,
                body_limit: config.body_limit,
            },
        };
        let router = tis_core::http::standard(
            routes::router(state),
            &health,
            Standard {
                body_limit: config.body_limit,
                metrics: true,
            },
        );
        tracing::info!(server.address = %server.local_addr(), db.backend = db.backend().as_str(), "profile service built");
        Ok(App {
            server,
            router,
            health,
            db,
            reference,
            config,
            _monitor: monitor,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.server.local_addr()
    }

    pub fn health(&self) -> Health {
        self.health.clone()
    }

    pub fn db(&self) -> Db {
        self.db.clone()
    }

    /// The Reference client (its endpoints and breakers, for status pages).
    pub fn reference(&self) -> &ReferenceClient {
        &self.reference
    }

    /// The complete router (standard layers included), for tests without a socket.
    pub fn router(&self) -> Router {
        self.router.clone()
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
            config,
            _monitor,
            ..
        } = self;
        server
            .serve(router, health, config.drain, shutdown)
            .await
            .context("serving the profile API")
    }
}
