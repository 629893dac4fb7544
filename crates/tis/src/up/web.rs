//! The demo realm's web client follows the gateway's real address.
//!
//! Browsers reach the web application through the gateway, so the `tis-web` client's
//! callback is `http://<gateway>/auth/callback`, compared exactly by the identity provider.
//! The realm file registers `127.0.0.1:8080` and `localhost:8080`; when the gateway listens
//! elsewhere (port 0 in tests, another configured port), its real address is added to the
//! realm file once the gateway is ready, and the identity provider, which reads its realm at
//! start, is restarted on the address it already had (so the issuer does not change) before
//! any instance starts. The exact-match rule itself is never relaxed.

use std::net::SocketAddr;
use std::path::Path;

use anyhow::Context as _;
use tis_idp::realm::demo::{DEMO_REALM, DEMO_WEB_CLIENT, DEMO_WEB_ORIGINS, to_toml};
use tis_idp::realm::file::RealmFile;

/// Adds `http://<gateway>`'s callback and post-logout address to the demo realm's web client
/// in `realm_file`. Whether the file changed (a realm without that client is left alone).
pub fn follow_gateway(realm_file: &Path, gateway: SocketAddr) -> anyhow::Result<bool> {
    let text = std::fs::read_to_string(realm_file)
        .with_context(|| format!("reading {}", realm_file.display()))?;
    let mut file: RealmFile =
        toml::from_str(&text).with_context(|| format!("parsing {}", realm_file.display()))?;
    let origin = format!("http://{gateway}");
    let callback = format!("{origin}/auth/callback");
    let Some(client) = file
        .realms
        .iter_mut()
        .filter(|r| r.name == DEMO_REALM)
        .flat_map(|r| r.clients.iter_mut())
        .find(|c| c.client_id == DEMO_WEB_CLIENT)
    else {
        return Ok(false);
    };
    if client.redirect_uris.contains(&callback) {
        return Ok(false);
    }
    // The demo origins and this gateway's: an address of an earlier run is dropped.
    let origins: Vec<&str> = DEMO_WEB_ORIGINS
        .iter()
        .copied()
        .chain([origin.as_str()])
        .collect();
    client.redirect_uris = origins
        .iter()
        .map(|o| format!("{o}/auth/callback"))
        .collect();
    client.post_logout_redirect_uris = origins.iter().map(|o| format!("{o}/")).collect();
    crate::supervised::write_atomically(realm_file, &to_toml(&file)?)?;
    Ok(true)
}

/// Once the gateway is ready and before the instances start: registers its address with the
/// demo realm's web client and, if that changed the realm file, restarts the identity
/// provider on its current address (its supervisor starts it again from `run/idp.toml`) and
/// waits until the new process answers, so that no sign-in meets the old realm.
pub async fn before_instances(
    config: &crate::config::Config,
    layout: &super::prepare::Layout,
    ready: &std::collections::BTreeMap<String, super::Running>,
) -> anyhow::Result<()> {
    use tis_core::service::{GATEWAY, IDP};
    let (Some(gateway), Some(idp)) = (ready.get(GATEWAY), ready.get(IDP)) else {
        return Ok(());
    };
    if !follow_gateway(&config.idp.realm_file, gateway.addr)? {
        return Ok(());
    }
    for mut planned in super::plan::wave(0, config, layout, ready) {
        planned.config.idp.listen = idp.addr;
        super::config_file::write(&layout.run_dir, &planned.name, &planned.config)?;
    }
    tracing::info!(process.name = IDP, server.address = %gateway.addr, "the web client's callback follows the gateway: restarting the identity provider on its address");
    let pid = nix::unistd::Pid::from_raw(i32::try_from(idp.pid).unwrap_or_default());
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM)
        .context("restarting the identity provider")?;
    let deadline = tokio::time::Instant::now() + RESTART_WITHIN;
    let ready = format!("http://{}/health/ready", idp.addr);
    let http = reqwest::Client::new();
    let mut gone = false;
    while tokio::time::Instant::now() < deadline {
        // The old process first exits (its supervisor reaps it), then the new one answers.
        gone = gone || nix::sys::signal::kill(pid, None).is_err();
        if gone && matches!(http.get(&ready).send().await, Ok(r) if r.status().is_success()) {
            return Ok(());
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    anyhow::bail!(
        "the identity provider did not come back on {} within {RESTART_WITHIN:?}",
        idp.addr
    )
}

/// How long the restarted identity provider may take.
const RESTART_WITHIN: std::time::Duration = std::time::Duration::from_secs(30);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_web_clients_callback_follows_the_gateway_once() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("realms.toml");
        tis_idp::realm::demo::write_demo_realm(&path).expect("demo realm");
        let at: SocketAddr = "127.0.0.1:41234".parse().expect("addr");
        assert!(follow_gateway(&path, at).expect("first"));
        assert!(
            !follow_gateway(&path, at).expect("again"),
            "nothing to change"
        );
        let file: RealmFile =
            toml::from_str(&std::fs::read_to_string(&path).expect("read")).expect("toml");
        let web = file.realms[0]
            .clients
            .iter()
            .find(|c| c.client_id == DEMO_WEB_CLIENT)
            .expect("client");
        assert!(
            web.redirect_uris
                .contains(&"http://127.0.0.1:41234/auth/callback".to_owned())
        );
        assert!(
            web.redirect_uris
                .contains(&"http://127.0.0.1:8080/auth/callback".to_owned())
        );
        assert!(
            web.post_logout_redirect_uris
                .contains(&"http://127.0.0.1:41234/".to_owned())
        );
        // The default address is registered already: nothing to do, no restart.
        let default: SocketAddr = "127.0.0.1:8080".parse().expect("addr");
        let fresh = dir.path().join("fresh.toml");
        tis_idp::realm::demo::write_demo_realm(&fresh).expect("demo realm");
        assert!(!follow_gateway(&fresh, default).expect("default"));
    }
}
