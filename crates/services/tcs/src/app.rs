//! The service as a runnable app: the kit's skeleton ([`tis_service_kit::app`]) with TCS's
//! migrations and routes, and its Reference client.

use tis_mesh::Discovery;
use tis_reference_client::ReferenceClient;
use tis_service_kit::app::Built;
use tis_service_kit::config::InvalidConfig;

use crate::config::TcsConfig;
use crate::routes::Tcs;

/// A built TCS instance, bound and ready to run; it keeps its Reference client (its
/// endpoints and breakers, for tests).
pub type App = tis_service_kit::App<ReferenceClient>;

/// Builds an instance with Reference found through `config.reference.discovery` (see
/// [`tis_service_kit::app`] for what `build` does, in order).
pub async fn build(config: &TcsConfig) -> anyhow::Result<App> {
    let ctx = tis_mesh::DiscoveryContext {
        registry: None,
        dns: config.reference.mesh.dns.clone(),
    };
    let discovery = config
        .reference
        .discovery
        .start(tis_core::service::REFERENCE, &ctx)
        .await
        .map_err(|e| InvalidConfig(vec![format!("`tcs.reference.discovery` {e}")]))?;
    build_with_reference(config, discovery).await
}

/// Builds an instance with Reference found through `discovery` (a registry, a test's static
/// list).
pub async fn build_with_reference(
    config: &TcsConfig,
    discovery: impl Discovery,
) -> anyhow::Result<App> {
    let reference = ReferenceClient::new(&config.reference, discovery)
        .map_err(|e| InvalidConfig(vec![format!("`tcs.reference.{}` {}", e.key, e.problem)]))?;
    tis_service_kit::App::builder(config, crate::migrations())
        .seed(|db| Box::pin(async move { crate::demo::seed(&db).await }))
        .build(|ctx| {
            if config.day_turn {
                tokio::spawn(crate::day::every_day(ctx.db.clone(), ctx.health.clone()));
            }
            let state = Tcs {
                kit: ctx.kit,
                reference: reference.clone(),
            };
            let (router, openapi) = crate::routes::router(state);
            Ok(Built {
                router,
                openapi,
                extra: reference,
            })
        })
        .await
}
