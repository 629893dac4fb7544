//! The service as a runnable app: the kit's skeleton ([`tis_service_kit::app`]) with TCS's
//! migrations and routes.

use crate::config::TcsConfig;

/// A built TCS instance, bound and ready to run.
pub type App = tis_service_kit::App;

/// Builds an instance (see [`tis_service_kit::app`] for what `build` does, in order).
pub async fn build(config: &TcsConfig) -> anyhow::Result<App> {
    App::builder(config, crate::migrations())
        .seed(|db| Box::pin(async move { crate::demo::seed(&db).await }))
        .build(|ctx| {
            Ok(tis_service_kit::app::Built::new(crate::routes::router(
                ctx.kit,
            )))
        })
        .await
}
