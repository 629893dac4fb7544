//! `[web]`: the web application's configuration.
//!
//! The common service keys (see [`tis_service_kit::config`]) and the web application's own.
//! The identity provider is `access_tokens.issuer`: the same section every service uses for
//! it, whose key cache (last-good file, grace, refresh) verifies the ID tokens here.
//!
//! ```toml
//! [web]
//! listen = "127.0.0.1:8090"
//! database = { url = "sqlite://web.db" }          # the sessions
//! public_url = "https://tis.example.org"           # where browsers reach the gateway
//! gateway_url = "http://gateway.internal:8080"     # where this service calls the APIs
//! client_id = "tis-web"
//! client_secret = "…"
//! access_tokens = { issuer = "https://login.example.org/realms/lin", audience = "tis" }
//! ```

use std::time::Duration;

tis_service_kit::service_config! {
    /// `[web]`: the common keys, and the sign-in client and the addresses of the web
    /// application.
    pub struct WebConfig("web") checked by problems {
        /// Where browsers reach the application (the gateway's public address): the
        /// callback is `<public_url>/auth/callback`; cookies are `Secure` when it is https.
        pub public_url: String = "http://127.0.0.1:8080".into(),
        /// Where the application calls the APIs and `/api/status`: the gateway (never a
        /// service directly, so that the gateway stays the one place tokens become
        /// principals).
        pub gateway_url: String = "http://127.0.0.1:8080".into(),
        /// The OpenID Connect client (confidential, authorization code + PKCE).
        pub client_id: String = "tis-web".into(),
        /// Its secret (`client_secret_basic`).
        pub client_secret: String = String::new(),
        /// The longest a session lives, however often its tokens are refreshed.
        #[serde(with = "humantime_serde")]
        pub session_lifetime: Duration = Duration::from_secs(12 * 3600),
        /// Tokens are refreshed when the access token has less than this left.
        #[serde(with = "humantime_serde")]
        pub refresh_before: Duration = Duration::from_secs(30),
        /// How long `/api/status` (the banner) is reused.
        #[serde(with = "humantime_serde")]
        pub status_cache: Duration = Duration::from_secs(5),
        /// Timeout of one call to the gateway.
        #[serde(with = "humantime_serde")]
        pub call_timeout: Duration = Duration::from_secs(10),
        /// Timeout of one call to the identity provider (sign-in, refresh, logout). Well under
        /// the gateway's deadline for the page (10 s): a refresh that hangs on an unreachable
        /// provider must give up in time for the page to render with the still-valid access
        /// token, not time out the browser's request with it.
        #[serde(with = "humantime_serde")]
        pub idp_timeout: Duration = Duration::from_secs(3),
    }
}

fn problems(cfg: &WebConfig) -> Vec<String> {
    let mut out = Vec::new();
    for (key, value) in [
        ("public_url", &cfg.public_url),
        ("gateway_url", &cfg.gateway_url),
    ] {
        match url::Url::parse(value) {
            Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => {}
            _ => out.push(format!("`web.{key}` must be an http(s) URL, not {value:?}")),
        }
    }
    if cfg.client_id.trim().is_empty() {
        out.push("`web.client_id` must be set".into());
    }
    if cfg.client_secret.is_empty() {
        out.push("`web.client_secret` must be set: the client is confidential".into());
    }
    match &cfg.access_tokens {
        Some(t) if !t.issuer.trim().is_empty() => {}
        _ => out.push(
            "`web.access_tokens.issuer` must be set: it is the identity provider people sign in with".into(),
        ),
    }
    if cfg.session_lifetime < Duration::from_secs(60) {
        out.push("`web.session_lifetime` must be at least 1m".into());
    }
    out
}

impl WebConfig {
    /// `<public_url>/auth/callback`.
    pub fn redirect_uri(&self) -> String {
        format!("{}/auth/callback", self.public_url.trim_end_matches('/'))
    }

    /// `<public_url>/`, where the identity provider sends people after logout.
    pub fn after_logout(&self) -> String {
        format!("{}/", self.public_url.trim_end_matches('/'))
    }

    /// Cookies are `Secure` unless the application is served over plain http (local mode).
    pub fn secure_cookies(&self) -> bool {
        self.public_url.starts_with("https://")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tis_service_kit::config::ServiceConfig;

    #[test]
    fn the_defaults_name_every_missing_key_and_a_complete_section_passes() {
        let err = WebConfig::default()
            .validate()
            .expect_err("no secret, no issuer");
        let text = err.to_string();
        assert!(text.contains("web.client_secret"), "{text}");
        assert!(text.contains("web.access_tokens.issuer"), "{text}");
        let mut ok = WebConfig {
            client_secret: "s".into(),
            access_tokens: Some(tis_auth::AuthConfig {
                issuer: "http://127.0.0.1:1/realms/lin".into(),
                audience: vec!["tis".into()],
                ..Default::default()
            }),
            ..WebConfig::default()
        };
        let (_, public) = tis_auth::principal::keyfile::generate_pem().expect("keys");
        ok.principal.trusted_keys_pem = vec![public];
        assert_eq!(ok.validate(), Ok(()));
        let bad = WebConfig {
            public_url: "javascript:alert(1)".into(),
            ..ok
        };
        assert!(
            bad.validate()
                .expect_err("bad url")
                .to_string()
                .contains("web.public_url")
        );
    }
}
