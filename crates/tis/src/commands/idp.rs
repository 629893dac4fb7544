//! `tis idp`: the development OpenID Connect provider.

use crate::cli::{IdpAction, IdpArgs, SupervisedArgs};
use crate::config::{Config, InvalidConfig, Mode};

pub async fn run(
    args: IdpArgs,
    mut config: Config,
    supervised: SupervisedArgs,
) -> anyhow::Result<()> {
    if config.mode == Mode::Production {
        // Its users, passwords and keys live in local files meant for one machine (the demo
        // realm of `tis up` among them): production signs people in with Keycloak.
        return Err(tis_core::config::InvalidConfig(vec![
            "`mode` is \"production\": `tis idp` is the development identity provider and is refused; production uses Keycloak (`gateway.auth.issuer`)".into(),
        ])
        .into());
    }
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
