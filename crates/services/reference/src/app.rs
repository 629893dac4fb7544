//! The service as a runnable app.
//!
//! `App::build(config)` checks the configuration, sets up principal verification, creates the
//! database handle (without connecting: an instance starts even when its database is down),
//! starts the tis-store monitor (which runs the migrations when `database.migrate` is set and
//! keeps the `database` readiness check honest), binds the listener (port 0 friendly) and
//! assembles the router. `app.run(shutdown)` serves until `shutdown` resolves, then drains.
//!
//! The API routes carry tis-store's middleware ([`tis_store::http::middleware`]): until the
//! monitor has seen the database answer (and migrated it), API requests get 503
//! `database_unavailable` at once instead of failing on missing tables; while the primary is
//! down, reads go on from replicas and responses say `TIS-Degraded: db-read-only`; and
//! `TIS-Consistency` gives a caller read-your-writes across replicas. Everything recovers by
//! itself, promotions included.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use axum::Router;
use bytes::Bytes;
use tis_auth::{AccessTokenVerifier, Authenticator, JwksCache, PrincipalVerifier, RoleCatalogue};
use tis_core::http::Standard;
use tis_core::{Health, Server};
use tis_store::Db;
use tis_store::monitor::{self, Monitor};

use crate::config::ReferenceConfig;
use crate::routes::{self, AppState, Limits};

/// A built instance, bound and ready to [`run`](App::run).
pub struct App {
    server: Server,
    router: Router,
    health: Health,
    db: Db,
    openapi: Bytes,
    config: ReferenceConfig,
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
    pub async fn build(config: ReferenceConfig) -> anyhow::Result<App> {
        config.validate()?;
        tis_core::metrics::handle();
        let principals = PrincipalVerifier::from_config(&config.principal)
            .context("setting up TIS-Principal verification")?;
        let mut auth = Authenticator::new(principals);
        let health = Health::new("reference");
        if let Some(tokens) = &config.access_tokens {
            let keys = JwksCache::start(tokens)
                .await
                .context("setting up access-token verification")?;
            keys.report_to(health.clone());
            let verifier = AccessTokenVerifier::new(tokens, keys)?;
            auth = auth.with_access_tokens(verifier, Arc::new(RoleCatalogue::tis()));
        }
        let db = Db::connect(&config.database).context("configuring the database")?;
        // Not ready, and API requests refused, until the monitor has seen the database answer
        // (and migrated it).
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
                "reference",
                |db| async move { crate::demo::seed(&db).await },
            ));
        }
        let server = Server::bind(config.listen)
            .await
            .with_context(|| format!("binding the reference listener to {}", config.listen))?;
        let state = AppState {
            repo: crate::repo::Repo::new(db.clone()),
            auth,
            limits: Limits {
                default_page_size: config.default_page_size,
                max_page_size: config.max_page_size,
                max_items: config.max_items,
                body_limit: config.body_limit,
            },
        };
        let (routes, openapi) = routes::router(state);
        let router = tis_core::http::standard(
            routes,
            &health,
            Standard {
                body_limit: config.body_limit,
                metrics: true,
            },
        );
        tracing::info!(server.address = %server.local_addr(), db.backend = db.backend().as_str(), "reference service built");
        Ok(App {
            server,
            router,
            health,
            db,
            openapi,
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

    /// The complete router (standard layers included), for tests without a socket.
    pub fn router(&self) -> Router {
        self.router.clone()
    }

    /// The OpenAPI document served at `/reference/api-docs` (compact JSON).
    pub fn openapi(&self) -> &Bytes {
        &self.openapi
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
            .context("serving the reference API")
    }
}
