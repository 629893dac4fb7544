//! The gateway as a runnable app: `App::build(config).await?` sets up key verification,
//! principal signing, the route table and both listeners (port 0 friendly: the real
//! addresses are [`App::local_addr`] and [`App::admin_addr`]); `app.run(shutdown)` serves
//! both until `shutdown` resolves, then drains both.
//!
//! Readiness (`/health/ready`) does not depend on the identity provider: a gateway whose
//! keys are missing still serves the status page that explains why, and balancers must keep
//! sending people to it. It turns unready only while draining.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use arc_swap::ArcSwap;
use axum::Router;
use tis_auth::{AccessTokenVerifier, JwksCache, PrincipalSigner, ProfileSource, RoleCatalogue};
use tis_core::{DrainConfig, Health, Server};
use tis_mesh::{DiscoveryContext, Registry};
use tis_profile_client::ProfileClient;
use tokio::sync::watch;
use tokio::time::Instant;

use crate::config::{GatewayConfig, ProfilesSource};
use crate::registry::Instances;
use crate::reload::Reloader;
use crate::routes::RouteTable;
use crate::server::PublicServer;
use crate::stack;
use crate::status::history::recorder::{self, Recorder};
use crate::status::history::{History, Journal, now_ms};
use crate::status::{Sightings, Sources};
use crate::steps::admission::Admission;

/// A built gateway, bound and ready to [`run`](App::run).
pub struct App {
    public: PublicServer,
    admin: Server,
    stack: Arc<stack::Public>,
    admin_router: Router,
    health: Health,
    drain: DrainConfig,
    reloader: Arc<Reloader>,
    routes_poll: Duration,
    instances: Arc<Instances>,
    keys: JwksCache,
    principal_public_pem: String,
    recorder: Recorder,
}

impl std::fmt::Debug for App {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("App")
            .field("local_addr", &self.public.local_addr())
            .field("admin_addr", &self.admin.local_addr())
            .finish_non_exhaustive()
    }
}

impl App {
    /// Builds with the profile source of `config.profiles`: the cached Profile client
    /// (following the local registry by default) or the static role catalogue.
    pub async fn build(config: GatewayConfig) -> anyhow::Result<App> {
        // The recorder first: the clients built below describe their metrics, and a
        // description given before the recorder is installed is lost.
        tis_core::metrics::handle();
        let registry = Registry::new();
        if let Some(file) = &config.registry_file {
            seed_registry(&registry, file);
        }
        let profiles: Arc<dyn ProfileSource> = match config.profiles.source {
            ProfilesSource::RoleCatalogue => Arc::new(RoleCatalogue::tis()),
            ProfilesSource::Profile => {
                let client = &config.profiles.client;
                let ctx = DiscoveryContext {
                    registry: Some(registry.clone()),
                    dns: client.mesh.dns.clone(),
                };
                let discovery = client
                    .discovery
                    .start(tis_core::service::PROFILE, &ctx)
                    .await
                    .map_err(|e| {
                        anyhow::anyhow!(
                            "invalid configuration: `gateway.profiles.client.discovery` {e}"
                        )
                    })?;
                let profiles = ProfileClient::new(client, discovery)?;
                crate::metrics::register_profile_client();
                Arc::new(profiles)
            }
        };
        Self::assemble(config, profiles, registry).await
    }

    /// Builds with another source of profiles (tests).
    pub async fn build_with_profiles(
        config: GatewayConfig,
        profiles: Arc<dyn ProfileSource>,
    ) -> anyhow::Result<App> {
        Self::assemble(config, profiles, Registry::new()).await
    }

    async fn assemble(
        config: GatewayConfig,
        profiles: Arc<dyn ProfileSource>,
        registry: Arc<Registry>,
    ) -> anyhow::Result<App> {
        config.validate()?;
        let admin_token = config
            .admin_token_file
            .as_deref()
            .map(tis_auth::StaticToken::read)
            .transpose()
            .map_err(|e| {
                tis_core::config::InvalidConfig(vec![format!("`gateway.admin_token_file` {e}")])
            })?;
        tis_core::metrics::handle();
        crate::metrics::describe();
        let tls = config.tls.as_ref().map(crate::tls::acceptor).transpose()?;
        // Its values were checked above: what is left is the key itself (not PEM, not
        // Ed25519), a configuration problem too.
        let signer = PrincipalSigner::from_config(&config.principal).map_err(|e| {
            tis_core::config::InvalidConfig(vec![format!("`gateway.principal` {e}")])
        })?;
        let principal_public_pem = signer.public_pem();
        let keys = JwksCache::start(&config.auth)
            .await
            .context("setting up access-token verification (gateway.auth)")?;
        let verifier = AccessTokenVerifier::new(&config.auth, keys.clone())?;

        let instances = Arc::new(Instances::new(registry.clone()));
        let table = Arc::new(ArcSwap::from_pointee(RouteTable::empty()));
        let reloader = Arc::new(Reloader::new(
            table.clone(),
            registry,
            config.routes_file.clone(),
        ));
        if config.routes_file.is_some() {
            reloader.reload_file().await?;
        } else {
            reloader
                .apply(&config.routes, &config.services, "configuration")
                .await?;
        }

        let health = Health::new(tis_core::service::GATEWAY);
        let admission = Arc::new(Admission::new(config.max_concurrency));
        let sightings = Arc::new(Sightings::default());
        let (journal, history) = match &config.status_history.file {
            Some(file) => {
                let (journal, history) = Journal::open(file, now_ms())?;
                (Some(journal), history)
            }
            None => (None, History::default()),
        };
        let sources = Sources {
            keys: keys.clone(),
            table: table.clone(),
            admission: admission.clone(),
            sightings: sightings.clone(),
            reloader: reloader.clone(),
            instances: instances.clone(),
            started: Instant::now(),
            degraded_memory: config.degraded_memory,
            history: recorder::shared(history),
        };
        let public_stack = Arc::new(stack::public(stack::Parts {
            table,
            health: health.clone(),
            sources: sources.clone(),
            admission,
            verifier,
            profiles,
            signer,
            principal_lifetime: config.principal.lifetime,
            principal_reuse: config.principal_reuse,
            body_limit: config.body_limit,
            default_timeout: config.default_timeout,
            max_timeout: config.max_timeout,
            https: tls.is_some(),
            trust_forwarded: config.trust_forwarded_headers,
            sightings,
            cors: crate::cors::Cors::new(&config.cors),
        }));
        let recorder = Recorder {
            sources: sources.clone(),
            config: config.status_history.clone(),
            journal,
        };
        let admin_router = crate::admin::router(
            sources,
            reloader.clone(),
            instances.clone(),
            admin_token,
            &health,
        );

        let public = PublicServer::bind(
            config.listen,
            tls,
            config.timeouts,
            config.max_connections,
            config.workers,
        )
        .await
        .with_context(|| format!("binding the gateway listener to {}", config.listen))?;
        let admin = Server::bind(config.admin_listen)
            .await
            .with_context(|| format!("binding the admin listener to {}", config.admin_listen))?;
        tracing::info!(server.address = %public.local_addr(), admin.address = %admin.local_addr(), "gateway built");
        Ok(App {
            public,
            admin,
            stack: public_stack,
            admin_router,
            health,
            drain: config.drain,
            reloader,
            routes_poll: config.routes_file_poll,
            instances,
            keys,
            principal_public_pem,
            recorder,
        })
    }

    /// The public listener's address.
    pub fn local_addr(&self) -> SocketAddr {
        self.public.local_addr()
    }

    /// The admin listener's address.
    pub fn admin_addr(&self) -> SocketAddr {
        self.admin.local_addr()
    }

    pub fn health(&self) -> Health {
        self.health.clone()
    }

    /// The local registry (what `PUT /admin/registry/…` changes).
    pub fn instances(&self) -> Arc<Instances> {
        self.instances.clone()
    }

    /// The identity provider's key cache (for status and tests).
    pub fn keys(&self) -> JwksCache {
        self.keys.clone()
    }

    /// The public key services must trust for this gateway's principals (SPKI PEM).
    pub fn principal_public_pem(&self) -> &str {
        &self.principal_public_pem
    }

    /// Reloads the routes file now (as SIGHUP does).
    pub async fn reload(&self) -> Result<u64, crate::reload::ReloadError> {
        self.reloader.reload_file().await
    }

    /// Serves both listeners until `shutdown` resolves, then drains both.
    pub async fn run<F>(self, shutdown: F) -> anyhow::Result<()>
    where
        F: Future<Output = ()> + Send + 'static,
    {
        let App {
            public,
            admin,
            stack,
            admin_router,
            health,
            drain,
            reloader,
            routes_poll,
            recorder,
            ..
        } = self;
        let (stop_tx, stop_rx) = watch::channel(false);
        let signal = tokio::spawn(async move {
            shutdown.await;
            let _ = stop_tx.send(true);
        });
        let stopped = |mut rx: watch::Receiver<bool>| async move {
            let _ = rx.wait_for(|stop| *stop).await;
        };
        let watchers = reloader.spawn_watchers(routes_poll);
        let history = recorder.spawn(stop_rx.clone());
        let (_, admin_result) = tokio::join!(
            public.serve(stack, health.clone(), drain, stopped(stop_rx.clone())),
            admin.serve(admin_router, health, drain, stopped(stop_rx)),
        );
        for w in watchers {
            w.abort();
        }
        // The recorder's last append (it saw `stop`), then the peers' puller.
        for h in history {
            let _ = tokio::time::timeout(Duration::from_secs(5), h).await;
        }
        signal.abort();
        admin_result.context("serving the admin listener")
    }
}

/// Fills `registry` from a `{"<service>": ["<addr>", …]}` file (see
/// [`GatewayConfig::registry_file`]). Never fails the start: the supervisor re-announces
/// every instance anyway, the file only closes the gap until it has.
fn seed_registry(registry: &Registry, file: &std::path::Path) {
    let text = match std::fs::read_to_string(file) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return,
        Err(e) => {
            tracing::warn!(file.path = %file.display(), error.message = %e, "cannot read the registry file; starting with an empty registry");
            return;
        }
    };
    match serde_json::from_str::<std::collections::BTreeMap<String, Vec<std::net::SocketAddr>>>(
        &text,
    ) {
        Ok(services) => {
            for (service, addrs) in services {
                tracing::info!(
                    service,
                    instances = addrs.len(),
                    "registry seeded from file"
                );
                registry.set(&service, addrs);
            }
        }
        Err(e) => {
            tracing::warn!(file.path = %file.display(), error.message = %e, "the registry file is not valid; starting with an empty registry");
        }
    }
}
