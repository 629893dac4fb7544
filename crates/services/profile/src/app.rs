//! The service as a runnable app: the kit's skeleton ([`tis_service_kit::app`]) with Profile's
//! migrations, demo data, its own database as the source of profiles for callers with access
//! tokens ([`LocalProfiles`]), the Reference client, and its routes.
//!
//! The API routes carry tis-store's middleware (see [`crate::routes`]): until the monitor has
//! seen the database answer (and migrated it), API requests get 503 `database_unavailable` at
//! once instead of failing on missing tables; while the primary is down, reads (`/userinfo`
//! among them) go on from replicas and responses say `TIS-Degraded: db-read-only`, and writes
//! get 503 `primary_unavailable`; `TIS-Consistency` gives a caller read-your-writes across
//! replicas.

use std::sync::Arc;

use anyhow::Context;
use tis_mesh::Discovery;
use tis_service_kit::app::Built;

use crate::config::ProfileConfig;
use crate::local::LocalProfiles;
use crate::repo::Repo;
use crate::routes::{self, AppState};
use tis_reference_client::ReferenceClient;

/// A built Profile instance, bound and ready to run; it keeps its Reference client (its
/// endpoints and breakers, for status pages and tests).
pub type App = tis_service_kit::App<ReferenceClient>;

/// Builds an instance with Reference found through `config.reference.discovery`.
pub async fn build(config: &ProfileConfig) -> anyhow::Result<App> {
    let ctx = tis_mesh::DiscoveryContext {
        registry: None,
        dns: config.reference.mesh.dns.clone(),
    };
    let discovery = config
        .reference
        .discovery
        .start(tis_core::service::REFERENCE, &ctx)
        .await
        .map_err(|e| {
            tis_service_kit::config::InvalidConfig(vec![format!(
                "`profile.reference.discovery` {e}"
            )])
        })?;
    build_with_reference(config, discovery).await
}

/// Builds an instance with Reference found through `discovery` (a registry, a test's static
/// list).
pub async fn build_with_reference(
    config: &ProfileConfig,
    discovery: impl Discovery,
) -> anyhow::Result<App> {
    let reference = ReferenceClient::new(&config.reference, discovery).map_err(|e| {
        tis_service_kit::config::InvalidConfig(vec![format!(
            "`profile.reference.{}` {}",
            e.key, e.problem
        )])
    })?;
    tis_service_kit::App::builder(config, crate::migrations())
        .seed(|db| Box::pin(async move { crate::demo::seed(&db).await }))
        .profiles(|db| Arc::new(LocalProfiles::new(Repo::new(db.clone()))))
        .build(|ctx| {
            let userinfo = ctx
                .access_tokens
                .context("`profile.access_tokens` must be set")?;
            let limits = ctx.kit.limits;
            let state = AppState {
                repo: Repo::new(ctx.db),
                kit: ctx.kit,
                userinfo,
                reference: reference.clone(),
                limits,
            };
            let (router, openapi) = routes::router(state);
            Ok(Built {
                router,
                openapi,
                extra: reference,
            })
        })
        .await
}
