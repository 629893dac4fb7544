//! Which processes `tis up` runs, with what settings, and what it tells the person at the
//! terminal once they are ready.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::net::SocketAddr;
use std::time::Duration;

use tis_core::telemetry::LogFormat;

use super::child::ChildSpec;
use super::prepare::Layout;
use crate::config::Config;

/// Settings every process gets through the environment (which overrides `tis.toml`).
fn common_env(config: &Config, layout: &Layout) -> Vec<(String, String)> {
    let format = match config.log.format {
        LogFormat::Json => "json",
        LogFormat::Pretty => "pretty",
    };
    vec![
        ("TIS_MODE".into(), "local".into()),
        ("TIS_DATA_DIR".into(), layout.data_dir.display().to_string()),
        ("TIS_LOG__FORMAT".into(), format.into()),
        ("TIS_LOG__LEVEL".into(), config.log.level.clone()),
    ]
}

fn humantime(d: Duration) -> String {
    format!("{}ms", d.as_millis())
}

/// The processes, in start order.
pub fn children(config: &Config, layout: &Layout) -> Vec<ChildSpec> {
    let mut specs = Vec::new();
    let mut idp_env = common_env(config, layout);
    idp_env.extend([
        ("TIS_IDP__LISTEN".into(), config.idp.listen.to_string()),
        (
            "TIS_IDP__REALM_FILE".into(),
            config.idp.realm_file.display().to_string(),
        ),
        (
            "TIS_IDP__KEY_DIR".into(),
            config.idp.key_dir.display().to_string(),
        ),
        (
            "TIS_IDP__DRAIN__DRAIN_DELAY".into(),
            humantime(config.up.drain_delay),
        ),
    ]);
    specs.push(ChildSpec {
        name: "idp".into(),
        service: "idp".into(),
        args: vec![OsString::from("idp")],
        env: idp_env,
    });
    specs
}

/// Where everything is, for the person who typed `tis up`.
pub fn print_banner(
    config: &Config,
    ready: &BTreeMap<String, (String, SocketAddr)>,
    took: Duration,
) {
    let mut by_service: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for (service, addr) in ready.values() {
        by_service
            .entry(service.as_str())
            .or_default()
            .push(format!("http://{addr}"));
    }
    let mut text = format!(
        "\nTIS is up in {:.1}s (local mode, data in {}).\n\n",
        took.as_secs_f64(),
        config.data_dir.display()
    );
    for (service, urls) in &by_service {
        text.push_str(&format!("  {service:<12} {}\n", urls.join("  ")));
    }
    text.push_str(&format!(
        "\n  Log in:  TOKEN=$(tis token --user admin)      (users: admin, sensitive, trust.admin, observer; password: tis)\n\
         \x20 Issuer:  {}\n\
         \x20 Stop:    Ctrl-C\n",
        config.token.issuer
    ));
    eprintln!("{text}");
}
