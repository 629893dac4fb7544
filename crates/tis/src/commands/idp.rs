//! `tis idp`: the development OpenID Connect provider.

use crate::cli::{IdpAction, IdpArgs, SupervisedArgs};
use crate::config::{Config, InvalidConfig, Mode};

pub async fn run(
    args: IdpArgs,
    mut config: Config,
    supervised: SupervisedArgs,
) -> anyhow::Result<()> {
    if let Some(listen) = args.listen {
        config.idp.listen = listen;
    }
    config
        .idp
        .validate()
        .map_err(|e| InvalidConfig(e.to_string()))?;
    if let Some(IdpAction::RotateKeys) = args.action {
        let rotation = tis_idp::rotate_keys(&config.idp).await?;
        tracing::info!(key.active = %rotation.active, "signing key rotated");
        return Ok(());
    }
    if args.demo {
        if config.mode != Mode::Local {
            return Err(InvalidConfig(
                "--demo writes demo identities and is refused outside mode = \"local\"".into(),
            )
            .into());
        }
        let path = config.idp.realm_file.clone();
        tokio::task::spawn_blocking(move || tis_idp::realm::demo::ensure_demo_realm(&path))
            .await??;
    }
    let app = tis_idp::App::build(config.idp).await?;
    crate::supervised::announce(&supervised, app.local_addr(), &[])?;
    app.run(crate::supervised::shutdown(supervised)).await
}
