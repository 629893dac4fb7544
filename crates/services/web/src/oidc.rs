//! The OpenID Connect client: discovery, the authorization request (code + PKCE S256, state,
//! nonce), the code exchange, ID-token verification, refresh with rotation, and the
//! provider's logout URL.
//!
//! Discovery (`<issuer>/.well-known/openid-configuration`) is fetched when first needed and
//! kept; a failed fetch is retried at the next sign-in. The ID token is verified with
//! tis-auth's verifier over the same key cache that `access_tokens` configures (signature,
//! `iss`, `aud` = the client id, times), then its `nonce` is compared with the one this
//! browser's sign-in started with.

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;
use sha2::Digest as _;
use tis_auth::AccessTokenVerifier;
use tokio::sync::RwLock;

/// What the provider's discovery document says (the parts used here).
#[derive(Debug, Clone, Deserialize)]
pub struct Discovery {
    pub authorization_endpoint: String,
    pub token_endpoint: String,
    #[serde(default)]
    pub end_session_endpoint: Option<String>,
}

/// The token endpoint's answer.
#[derive(Debug, Clone, Deserialize)]
pub struct Tokens {
    pub access_token: String,
    #[serde(default)]
    pub id_token: Option<String>,
    #[serde(default)]
    pub refresh_token: Option<String>,
    /// Seconds.
    pub expires_in: u64,
    /// Seconds; absent or 0 when the refresh token does not expire by itself.
    #[serde(default)]
    pub refresh_expires_in: Option<u64>,
}

/// Why a call to the provider failed.
#[derive(Debug, thiserror::Error)]
pub enum OidcError {
    /// The provider could not be reached or answered 5xx: try again later; a session whose
    /// access token is still valid lives on.
    #[error("the identity provider is unavailable: {0}")]
    Unavailable(String),
    /// The provider refused (`invalid_grant`: a spent or revoked refresh token, a bad code).
    #[error("the identity provider refused: {0}")]
    Refused(String),
    /// The ID token did not verify, or its nonce is not this sign-in's.
    #[error("the ID token is not acceptable: {0}")]
    BadIdToken(String),
}

/// The client. Cheap to share (`Arc`).
#[derive(Debug)]
pub struct Oidc {
    issuer: String,
    client_id: String,
    client_secret: String,
    http: reqwest::Client,
    discovery: RwLock<Option<Discovery>>,
    id_tokens: AccessTokenVerifier,
}

/// The claims of a verified ID token that the application keeps.
#[derive(Debug, Clone)]
pub struct Identity {
    pub user_name: String,
}

#[derive(Deserialize)]
struct IdClaims {
    #[serde(default)]
    nonce: Option<String>,
    #[serde(default)]
    preferred_username: Option<String>,
    #[serde(default)]
    sub: Option<String>,
}

impl Oidc {
    pub fn new(
        issuer: &str,
        client_id: &str,
        client_secret: &str,
        timeout: Duration,
        id_tokens: AccessTokenVerifier,
    ) -> anyhow::Result<Oidc> {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        Ok(Oidc {
            issuer: issuer.trim_end_matches('/').to_owned(),
            client_id: client_id.to_owned(),
            client_secret: client_secret.to_owned(),
            http,
            discovery: RwLock::new(None),
            id_tokens,
        })
    }

    /// The issuer's origin (`scheme://host:port`), for the page policy's `form-action`.
    pub fn issuer_origin(&self) -> String {
        url::Url::parse(&self.issuer)
            .map(|u| u.origin().ascii_serialization())
            .unwrap_or_default()
    }

    /// The discovery document, fetched once.
    pub async fn discovery(&self) -> Result<Discovery, OidcError> {
        if let Some(d) = self.discovery.read().await.clone() {
            return Ok(d);
        }
        self.fetch_discovery().await
    }

    /// The discovery document fetched now (and kept): whether the provider answers at all.
    async fn fetch_discovery(&self) -> Result<Discovery, OidcError> {
        let url = format!("{}/.well-known/openid-configuration", self.issuer);
        let res = self.http.get(&url).send().await.map_err(unavailable)?;
        if !res.status().is_success() {
            return Err(OidcError::Unavailable(format!(
                "discovery: {}",
                res.status()
            )));
        }
        let d: Discovery = res.json().await.map_err(unavailable)?;
        *self.discovery.write().await = Some(d.clone());
        Ok(d)
    }

    /// The URL that starts a sign-in. The discovery document is fetched afresh: a browser sent
    /// to a provider that does not answer sees its own "cannot be reached" page, and the code
    /// could not be redeemed anyway; this way the user gets TIS's page that says so.
    pub async fn authorize_url(
        &self,
        redirect_uri: &str,
        state: &str,
        nonce: &str,
        verifier: &str,
    ) -> Result<String, OidcError> {
        let d = self.fetch_discovery().await?;
        let mut url = url::Url::parse(&d.authorization_endpoint)
            .map_err(|e| OidcError::Unavailable(format!("authorization_endpoint: {e}")))?;
        url.query_pairs_mut()
            .append_pair("response_type", "code")
            .append_pair("client_id", &self.client_id)
            .append_pair("redirect_uri", redirect_uri)
            .append_pair("scope", "openid")
            .append_pair("state", state)
            .append_pair("nonce", nonce)
            .append_pair("code_challenge", &challenge(verifier))
            .append_pair("code_challenge_method", "S256");
        Ok(url.into())
    }

    /// Redeems a code (with this sign-in's PKCE verifier).
    pub async fn exchange(
        &self,
        code: &str,
        redirect_uri: &str,
        verifier: &str,
    ) -> Result<Tokens, OidcError> {
        self.token(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", redirect_uri),
            ("code_verifier", verifier),
        ])
        .await
    }

    /// New tokens for a refresh token; the old one is spent (rotation).
    pub async fn refresh(&self, refresh_token: &str) -> Result<Tokens, OidcError> {
        self.token(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
        ])
        .await
    }

    async fn token(&self, form: &[(&str, &str)]) -> Result<Tokens, OidcError> {
        let d = self.discovery().await?;
        let res = self
            .http
            .post(&d.token_endpoint)
            .basic_auth(&self.client_id, Some(&self.client_secret))
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .body(serde_urlencoded::to_string(form).unwrap_or_default())
            .send()
            .await
            .map_err(unavailable)?;
        let status = res.status();
        if status.is_server_error() {
            return Err(OidcError::Unavailable(format!("token endpoint: {status}")));
        }
        if !status.is_success() {
            let body: serde_json::Value = res.json().await.unwrap_or_default();
            let error = body["error"].as_str().unwrap_or("refused").to_owned();
            return Err(OidcError::Refused(error));
        }
        res.json().await.map_err(unavailable)
    }

    /// Verifies an ID token and that it carries `nonce`.
    pub async fn verify_id_token(&self, token: &str, nonce: &str) -> Result<Identity, OidcError> {
        self.id_tokens
            .verify(token)
            .await
            .map_err(|e| OidcError::BadIdToken(e.to_string()))?;
        // The signature is verified: the payload is the provider's.
        let payload = token
            .split('.')
            .nth(1)
            .and_then(|p| URL_SAFE_NO_PAD.decode(p).ok())
            .and_then(|b| serde_json::from_slice::<IdClaims>(&b).ok())
            .ok_or_else(|| OidcError::BadIdToken("unreadable claims".into()))?;
        let got = payload.nonce.unwrap_or_default();
        if !crate::session::same(got.as_bytes(), nonce.as_bytes()) {
            return Err(OidcError::BadIdToken(
                "the nonce is not this sign-in's".into(),
            ));
        }
        let user_name = payload
            .preferred_username
            .or(payload.sub)
            .ok_or_else(|| OidcError::BadIdToken("no user name".into()))?;
        Ok(Identity { user_name })
    }

    /// Where to send the browser to end its session at the provider too.
    pub async fn end_session_url(&self, id_token: &str, after: &str) -> Option<String> {
        let d = self.discovery().await.ok()?;
        let mut url = url::Url::parse(d.end_session_endpoint.as_deref()?).ok()?;
        url.query_pairs_mut()
            .append_pair("id_token_hint", id_token)
            .append_pair("post_logout_redirect_uri", after)
            .append_pair("client_id", &self.client_id);
        Some(url.into())
    }
}

fn unavailable(e: reqwest::Error) -> OidcError {
    OidcError::Unavailable(e.without_url().to_string())
}

/// The PKCE S256 challenge of `verifier`.
pub fn challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(verifier.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_s256_challenge_is_the_unpadded_base64url_sha256_of_the_verifier() {
        // Computed independently: base64.urlsafe_b64encode(hashlib.sha256(v).digest()).
        assert_eq!(
            challenge("dBjftJeZ4CVP-mB92K9uhvUqFBf5ueP1Zw0PvdQw1qw"),
            "Oos_bKoCBr4KS1nvvYvF197v0wg81Wm3GPLhsHZgTfE"
        );
    }
}
