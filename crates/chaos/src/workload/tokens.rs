//! The demo users' access tokens, from the identity provider's token endpoint.
//!
//! Tokens live five minutes: a background task renews them every minute while the provider
//! answers, and keeps the old ones when it does not (an outage is what the gateway must
//! survive, with the tokens people already hold). `refresh-tokens` renews them all now.

use std::collections::HashMap;
use std::sync::RwLock;
use std::time::Duration;

use anyhow::{Context, bail};

/// People who read (password grant through `tis-ui`), each with different roles.
pub const READERS: &[&str] = &[
    "admin",
    "sensitive",
    "trust.admin",
    "observer",
    "profile.admin",
];
/// The service account that creates and updates reference data (client credentials).
pub const WRITER: &str = "etl";
/// Every demo password and client secret.
const SECRET: &str = "tis";

/// The token endpoint of `issuer` (Keycloak's layout).
pub fn token_endpoint(issuer: &str) -> String {
    format!("{issuer}/protocol/openid-connect/token")
}

/// The form that logs `user` in: a person by password, or the writer by client credentials.
pub fn login_form(user: &str) -> Vec<(&'static str, String)> {
    if user == WRITER {
        vec![
            ("grant_type", "client_credentials".into()),
            ("client_id", WRITER.into()),
            ("client_secret", SECRET.into()),
        ]
    } else {
        vec![
            ("grant_type", "password".into()),
            ("client_id", "tis-ui".into()),
            ("username", user.into()),
            ("password", SECRET.into()),
        ]
    }
}

pub struct Tokens {
    http: reqwest::Client,
    endpoint: String,
    current: RwLock<HashMap<&'static str, String>>,
}

impl Tokens {
    pub fn new(http: reqwest::Client, issuer: &str) -> Tokens {
        Tokens {
            http,
            endpoint: token_endpoint(issuer),
            current: RwLock::new(HashMap::new()),
        }
    }

    /// The current token of `user` (empty before the first login).
    pub fn get(&self, user: &str) -> String {
        self.current
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(user)
            .cloned()
            .unwrap_or_default()
    }

    async fn fetch(&self, user: &str) -> anyhow::Result<String> {
        let res = self
            .http
            .post(&self.endpoint)
            .timeout(Duration::from_secs(5))
            .form(&login_form(user))
            .send()
            .await
            .with_context(|| format!("logging {user} in at {}", self.endpoint))?;
        let status = res.status();
        let body: serde_json::Value = res.json().await.unwrap_or_default();
        match body["access_token"].as_str() {
            Some(t) if status.is_success() => Ok(t.to_owned()),
            _ => bail!("logging {user} in: {status} {body}"),
        }
    }

    /// Renews every user's token now; fails if any login fails.
    pub async fn refresh_all(&self) -> anyhow::Result<()> {
        let users = READERS.iter().chain(std::iter::once(&WRITER));
        for user in users {
            let token = self.fetch(user).await?;
            self.current
                .write()
                .unwrap_or_else(|p| p.into_inner())
                .insert(user, token);
        }
        Ok(())
    }

    /// [`Tokens::refresh_all`] until it works or `within` has passed.
    pub async fn refresh_all_within(&self, within: Duration) -> anyhow::Result<()> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            match self.refresh_all().await {
                Ok(()) => return Ok(()),
                Err(e) if tokio::time::Instant::now() >= deadline => return Err(e),
                Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn people_log_in_by_password_and_the_writer_by_client_credentials() {
        let form = login_form("observer");
        assert!(form.contains(&("grant_type", "password".into())));
        assert!(form.contains(&("username", "observer".into())));
        let form = login_form(WRITER);
        assert!(form.contains(&("grant_type", "client_credentials".into())));
        assert!(form.contains(&("client_id", "etl".into())));
        assert_eq!(
            token_endpoint("http://h/realms/lin"),
            "http://h/realms/lin/protocol/openid-connect/token"
        );
    }
}
