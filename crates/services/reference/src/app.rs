//! The service as a runnable app: the kit's skeleton ([`tis_service_kit::app`]) with
//! Reference's migrations, demo data and routes.
//!
//! The API routes carry tis-store's middleware: until the monitor has seen the database
//! answer (and migrated it), API requests get 503 `database_unavailable` at once instead of
//! failing on missing tables; while the primary is down, reads go on from replicas and
//! responses say `TIS-Degraded: db-read-only`; and `TIS-Consistency` gives a caller
//! read-your-writes across replicas. Everything recovers by itself, promotions included.

use crate::config::ReferenceConfig;

/// A built Reference instance, bound and ready to run.
pub type App = tis_service_kit::App;

/// Builds an instance (see [`tis_service_kit::app`] for what `build` does, in order).
pub async fn build(config: &ReferenceConfig) -> anyhow::Result<App> {
    App::builder(config, crate::migrations())
        .seed(|db| Box::pin(async move { crate::demo::seed(&db).await }))
        .build(|ctx| {
            Ok(tis_service_kit::app::Built::new(crate::routes::router(
                ctx.kit,
            )))
        })
        .await
}
