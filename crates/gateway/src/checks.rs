//! What the gateway checks in its configuration before it starts: every problem at once,
//! each naming its key under `gateway.` (exit code 2), and in production the development
//! shortcuts and unsafe settings too (see `docs/operations.md`, "Production checklist").
//!
//! | Setting | Production |
//! |---|---|
//! | `auth.issuer` / `auth.jwks_uri` over `http://` | refused: whoever answers a plain-HTTP key fetch can sign tokens for anyone |
//! | `principal.signing_key_file`, `tls.key_file`, `admin_token_file` readable by others | refused, as PostgreSQL refuses a world-readable key |
//! | no `admin_token_file` | refused: the admin listener's writes (the registry) would be open |
//! | `admin_listen` not on loopback | a warning: Prometheus in another pod must reach `/metrics`; writes need the token, the network policy keeps users out |
//! | `profiles.source = "role-catalogue"` | a warning: roles come from the token, not Profile; deactivation is not seen |

use std::net::SocketAddr;

use tis_core::config::{InvalidConfig, Mode, https_problem, secret_file_problems};

use crate::config::{GatewayConfig, ProfilesSource};

impl GatewayConfig {
    /// Every problem for `mode`, or `Ok`.
    pub fn check(&self, mode: Mode) -> Result<(), InvalidConfig> {
        InvalidConfig::check(self.problems(mode))
    }

    /// Every problem for `mode`, each a sentence naming its key.
    pub fn problems(&self, mode: Mode) -> Vec<String> {
        let mut out = Vec::new();
        let mut bad = |key: &str, problem: &str| out.push(format!("`gateway.{key}` {problem}"));
        if let Some(problem) = self.cors.problem() {
            bad("cors.allowed_origins", &problem);
        }
        if self.max_concurrency == 0 {
            bad("max_concurrency", "must be at least 1");
        }
        if self.max_connections == 0 {
            bad("max_connections", "must be at least 1");
        }
        if self.workers > 256 {
            bad("workers", "must be at most 256");
        }
        if self.body_limit < 1024 {
            bad("body_limit", "must be at least 1024 bytes");
        }
        for (key, d) in [
            ("default_timeout", self.default_timeout),
            ("max_timeout", self.max_timeout),
            ("timeouts.header_read", self.timeouts.header_read),
            ("timeouts.idle", self.timeouts.idle),
            ("routes_file_poll", self.routes_file_poll),
            ("principal_reuse", self.principal_reuse),
        ] {
            if d.is_zero() {
                bad(key, "must be longer than zero");
            }
        }
        if self.default_timeout > self.max_timeout {
            bad("default_timeout", "must not be longer than max_timeout");
        }
        out.extend(self.status_history.problems());
        out.extend(self.auth.problems().iter().map(|e| e.under("gateway", "")));
        out.extend(
            self.principal
                .signer_problems()
                .iter()
                .map(|e| e.under("gateway", "")),
        );
        let (source, url) = self.auth.key_source();
        out.extend(https_problem(&format!("gateway.{source}"), url, mode));
        let secrets = [
            (
                "principal.signing_key_file",
                &self.principal.signing_key_file,
            ),
            ("admin_token_file", &self.admin_token_file),
            (
                "tls.key_file",
                &self.tls.as_ref().map(|t| t.key_file.clone()),
            ),
        ];
        for (key, path) in secrets {
            if let Some(path) = path {
                out.extend(secret_file_problems(&format!("gateway.{key}"), path, mode));
            }
        }
        if mode.is_production() && self.admin_token_file.is_none() {
            out.push(
                "`gateway.admin_token_file` must be set in production: without it anyone who \
                 reaches the admin listener can register instances and reload routes"
                    .into(),
            );
        }
        out
    }

    /// Logs, at warn, the settings production allows but an operator should know about
    /// (see the module documentation).
    pub fn warn_production(&self, mode: Mode) {
        if !mode.is_production() {
            return;
        }
        if !is_loopback(self.admin_listen) {
            tracing::warn!(
                tis.config.key = "gateway.admin_listen",
                server.address = %self.admin_listen,
                "the admin listener is not on loopback: keep it from users with a network policy (metrics and /admin/status are readable without a token)"
            );
        }
        if self.profiles.source == ProfilesSource::RoleCatalogue {
            tracing::warn!(
                tis.config.key = "gateway.profiles.source",
                "roles come from the built-in role catalogue and the token's claims, not from Profile: a user deactivated in Profile keeps access until the token expires"
            );
        }
    }
}

fn is_loopback(addr: SocketAddr) -> bool {
    addr.ip().is_loopback()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn secret(dir: &Path, name: &str, mode: u32) -> std::path::PathBuf {
        use std::os::unix::fs::PermissionsExt;
        let path = dir.join(name);
        std::fs::write(&path, "0123456789abcdef0123456789abcdef\n").expect("write");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).expect("chmod");
        path
    }

    fn configured(dir: &Path) -> GatewayConfig {
        let mut cfg = GatewayConfig::default();
        cfg.auth.issuer = "https://login.example.org/realms/lin".into();
        cfg.auth.audience = vec!["tis".into()];
        cfg.principal.signing_key_file = Some(secret(dir, "principal.key", 0o600));
        cfg.admin_token_file = Some(secret(dir, "admin.token", 0o600));
        cfg
    }

    #[test]
    fn production_refuses_plain_http_keys_secrets_others_can_read_and_open_admin_writes() {
        let dir = tempfile::tempdir().expect("tempdir");
        let good = configured(dir.path());
        assert_eq!(good.check(Mode::Production), Ok(()));

        let mut cfg = good.clone();
        cfg.auth.issuer = "http://login.example.org/realms/lin".into();
        cfg.principal.signing_key_file = Some(secret(dir.path(), "open.key", 0o644));
        cfg.admin_token_file = None;
        assert_eq!(
            cfg.check(Mode::Local),
            Ok(()),
            "local mode allows all three"
        );
        let InvalidConfig(problems) = cfg.check(Mode::Production).expect_err("refused");
        let text = problems.join("\n");
        assert_eq!(problems.len(), 3, "{text}");
        for key in [
            "`gateway.auth.issuer`",
            "`gateway.principal.signing_key_file`",
            "`gateway.admin_token_file`",
        ] {
            assert!(text.contains(key), "{key}: {text}");
        }
        assert!(text.contains("0644"), "{text}");

        // Keys from an https JWKS URI are fine whatever the issuer string says.
        cfg = good.clone();
        cfg.auth.jwks_uri = Some("http://keycloak:8080/realms/lin/certs".into());
        let err = cfg
            .check(Mode::Production)
            .expect_err("http jwks")
            .to_string();
        assert!(err.contains("`gateway.auth.jwks_uri`"), "{err}");
    }

    #[test]
    fn a_missing_key_file_is_named_with_every_other_problem() {
        let cfg = GatewayConfig {
            admin_token_file: Some("/nonexistent/admin.token".into()),
            max_concurrency: 0,
            ..GatewayConfig::default()
        };
        let InvalidConfig(problems) = cfg.check(Mode::Local).expect_err("invalid");
        let text = problems.join("\n");
        for key in [
            "`gateway.max_concurrency`",
            "`gateway.auth.issuer`",
            "`gateway.auth.audience`",
            "`gateway.principal.signing_key_file`",
            "`gateway.admin_token_file` /nonexistent/admin.token",
        ] {
            assert!(text.contains(key), "{key}: {text}");
        }
        assert_eq!(
            InvalidConfig(problems)
                .to_string()
                .matches("invalid configuration")
                .count(),
            1
        );
    }
}
