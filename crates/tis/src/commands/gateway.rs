//! `tis gateway`: the edge (routes, authentication, principal, load shedding, status page).

use crate::cli::{GatewayArgs, SupervisedArgs};
use crate::config::Config;

pub async fn run(
    args: GatewayArgs,
    mut config: Config,
    supervised: SupervisedArgs,
) -> anyhow::Result<()> {
    if let Some(listen) = args.listen {
        config.gateway.listen = listen;
    }
    if let Some(admin) = args.admin_listen {
        config.gateway.admin_listen = admin;
    }
    // Routes and services the operator left out come from the services table.
    crate::services::gateway_defaults(&mut config.gateway);
    // Every problem at once, production's refusals included (exit 2); then what production
    // allows but an operator should know (warn lines naming the key).
    config.gateway.check(config.mode)?;
    config.gateway.warn_production(config.mode);
    let app = tis_gateway::App::build(config.gateway).await?;
    tracing::info!(server.address = %app.local_addr(), admin.address = %app.admin_addr(), "gateway ready");
    crate::supervised::announce(
        &supervised,
        app.local_addr(),
        &[("admin", app.admin_addr())],
    )?;
    app.run(crate::supervised::shutdown(supervised)).await
}
