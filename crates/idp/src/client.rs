//! The token client behind `tis token`: discovery, then one grant, then the access token.
//!
//! It finds the token endpoint through `<issuer>/.well-known/openid-configuration`, so it
//! works against this provider and against Keycloak alike. It speaks `client_secret_post`
//! (Keycloak accepts it for every confidential client) and gives up after `timeout`, with
//! an error a person can act on: the provider is not reachable, it answered with something
//! that is not OIDC, or it refused (`invalid_grant: Invalid user credentials`).

use std::time::Duration;

use serde::Deserialize;

use crate::password::Secret;

/// The password of every demo user and the demo `etl` secret.
pub const DEFAULT_PASSWORD: &str = crate::realm::demo::DEMO_PASSWORD;
/// The client of the password grant when none is named.
pub const DEFAULT_CLIENT: &str = "tis-ui";
/// The secret of the client-credentials grant when none is given.
pub const DEFAULT_SECRET: &str = crate::realm::demo::DEMO_PASSWORD;
/// A timeout that suits a person waiting at a terminal.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);

/// Which grant to ask for.
#[derive(Debug, Clone)]
pub enum TokenRequest {
    /// A person's token: `username`/`password` through `client_id` (public unless
    /// `client_secret` is given).
    Password {
        client_id: String,
        client_secret: Option<Secret>,
        username: String,
        password: Secret,
    },
    /// A service account's token.
    ClientCredentials {
        client_id: String,
        client_secret: Secret,
    },
}

impl TokenRequest {
    /// `--user <username>` with the defaults: password `tis`, client `tis-ui`.
    pub fn user(username: impl Into<String>) -> Self {
        TokenRequest::Password {
            client_id: DEFAULT_CLIENT.into(),
            client_secret: None,
            username: username.into(),
            password: Secret::new(DEFAULT_PASSWORD),
        }
    }

    /// `--client <client_id>` with the default secret `tis`.
    pub fn client(client_id: impl Into<String>) -> Self {
        TokenRequest::ClientCredentials {
            client_id: client_id.into(),
            client_secret: Secret::new(DEFAULT_SECRET),
        }
    }

    fn form(&self) -> Vec<(&'static str, &str)> {
        match self {
            TokenRequest::Password {
                client_id,
                client_secret,
                username,
                password,
            } => {
                let mut f = vec![
                    ("grant_type", "password"),
                    ("client_id", client_id.as_str()),
                    ("username", username.as_str()),
                    ("password", password.expose()),
                ];
                if let Some(s) = client_secret {
                    f.push(("client_secret", s.expose()));
                }
                f
            }
            TokenRequest::ClientCredentials {
                client_id,
                client_secret,
            } => vec![
                ("grant_type", "client_credentials"),
                ("client_id", client_id.as_str()),
                ("client_secret", client_secret.expose()),
            ],
        }
    }
}

/// Why no token could be had.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("the identity provider at {url} is not reachable: {reason}")]
    Unreachable { url: String, reason: String },
    #[error("the identity provider at {url} did not answer within {timeout:?}")]
    Timeout { url: String, timeout: Duration },
    #[error("{url} is not an OpenID Connect discovery document ({reason})")]
    NotOidc { url: String, reason: String },
    /// The provider refused: its OAuth2 error code and description.
    #[error("{error}: {description}")]
    Refused { error: String, description: String },
    #[error("the token endpoint {url} answered {status} without an OAuth2 error")]
    Unexpected { url: String, status: u16 },
}

#[derive(Deserialize)]
struct Discovery {
    token_endpoint: String,
}

/// The token endpoint's answer.
#[derive(Debug, Clone, Deserialize)]
pub struct TokenResponse {
    pub access_token: String,
    pub expires_in: u64,
    #[serde(default)]
    pub refresh_token: Option<String>,
    #[serde(default)]
    pub id_token: Option<String>,
    #[serde(default)]
    pub token_type: Option<String>,
    #[serde(default)]
    pub scope: Option<String>,
}

#[derive(Deserialize)]
struct OAuthErrorBody {
    error: String,
    #[serde(default)]
    error_description: Option<String>,
}

/// Gets an access token from the provider whose issuer is `issuer`
/// (`http://127.0.0.1:8180/realms/lin`).
pub async fn fetch_access_token(
    issuer: &str,
    request: &TokenRequest,
    timeout: Duration,
) -> Result<String, TokenError> {
    fetch_token(issuer, request, timeout)
        .await
        .map(|t| t.access_token)
}

/// Like [`fetch_access_token`], with the whole token response.
pub async fn fetch_token(
    issuer: &str,
    request: &TokenRequest,
    timeout: Duration,
) -> Result<TokenResponse, TokenError> {
    let issuer = issuer.trim_end_matches('/');
    let http = reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout)
        .build()
        .map_err(|e| TokenError::Unreachable {
            url: issuer.to_owned(),
            reason: e.to_string(),
        })?;
    let well_known = format!("{issuer}/.well-known/openid-configuration");
    let res = http
        .get(&well_known)
        .send()
        .await
        .map_err(|e| transport(issuer, timeout, e))?;
    let not_oidc = |reason: String| TokenError::NotOidc {
        url: well_known.clone(),
        reason,
    };
    if !res.status().is_success() {
        return Err(not_oidc(format!("status {}", res.status().as_u16())));
    }
    let discovery: Discovery = res
        .json()
        .await
        .map_err(|e| not_oidc(format!("no token_endpoint: {e}")))?;

    let endpoint = discovery.token_endpoint;
    let body =
        serde_urlencoded::to_string(request.form()).map_err(|e| TokenError::Unreachable {
            url: endpoint.clone(),
            reason: e.to_string(),
        })?;
    let res = http
        .post(&endpoint)
        .header(
            reqwest::header::CONTENT_TYPE,
            "application/x-www-form-urlencoded",
        )
        .header(reqwest::header::ACCEPT, "application/json")
        .body(body)
        .send()
        .await
        .map_err(|e| transport(&endpoint, timeout, e))?;
    let status = res.status();
    let bytes = res
        .bytes()
        .await
        .map_err(|e| transport(&endpoint, timeout, e))?;
    if status.is_success() {
        return serde_json::from_slice(&bytes).map_err(|_| TokenError::Unexpected {
            url: endpoint,
            status: status.as_u16(),
        });
    }
    match serde_json::from_slice::<OAuthErrorBody>(&bytes) {
        Ok(e) => Err(TokenError::Refused {
            description: e.error_description.unwrap_or_default(),
            error: e.error,
        }),
        Err(_) => Err(TokenError::Unexpected {
            url: endpoint,
            status: status.as_u16(),
        }),
    }
}

fn transport(url: &str, timeout: Duration, e: reqwest::Error) -> TokenError {
    if e.is_timeout() {
        TokenError::Timeout {
            url: url.to_owned(),
            timeout,
        }
    } else {
        // reqwest's top-level message is "error sending request"; the cause is the news.
        let mut reason = e.to_string();
        let mut source = std::error::Error::source(&e);
        while let Some(s) = source {
            reason = s.to_string();
            source = s.source();
        }
        TokenError::Unreachable {
            url: url.to_owned(),
            reason,
        }
    }
}
