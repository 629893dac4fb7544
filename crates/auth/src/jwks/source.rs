//! Where key sets come from.
//!
//! [`HttpKeySource`] finds the JWKS through OIDC discovery (`{issuer}/.well-known/openid-
//! configuration` → `jwks_uri`, checking that the document names our issuer) unless a
//! `jwks_uri` is configured, and fetches it with a size limit. The discovered URI is kept and
//! forgotten after a failed fetch, so that a moved JWKS is found again. Nothing a token says
//! ever becomes a URL here.
//!
//! The trait lets tests script a source without sockets (paused-clock tests) and lets a
//! deployment plug in another transport.

use std::sync::Mutex;
use std::time::Duration;

use futures::future::BoxFuture;

use crate::error::FetchError;

/// Responses larger than this are refused (a real JWKS is a few KiB).
pub const MAX_DOCUMENT_BYTES: usize = 512 * 1024;

/// A source of JWKS documents.
pub trait KeySource: Send + Sync + 'static {
    /// Fetches the current key set as JSON.
    fn fetch(&self) -> BoxFuture<'_, Result<serde_json::Value, FetchError>>;
    /// Where keys come from, for the status page.
    fn describe(&self) -> String;
}

/// Discovery and JWKS over HTTP.
pub struct HttpKeySource {
    client: reqwest::Client,
    issuer: String,
    configured_jwks_uri: Option<String>,
    discovered: Mutex<Option<String>>,
}

impl HttpKeySource {
    /// A source for `issuer`; `jwks_uri` skips discovery.
    pub fn new(
        issuer: &str,
        jwks_uri: Option<&str>,
        timeout: Duration,
    ) -> Result<Self, FetchError> {
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .redirect(reqwest::redirect::Policy::limited(3))
            .user_agent("tis-auth")
            .build()
            .map_err(|e| FetchError::Transport {
                url: issuer.to_owned(),
                message: e.to_string(),
            })?;
        Ok(HttpKeySource {
            client,
            issuer: issuer.trim_end_matches('/').to_owned(),
            configured_jwks_uri: jwks_uri.map(str::to_owned),
            discovered: Mutex::new(None),
        })
    }

    fn discovery_url(&self) -> String {
        format!("{}/.well-known/openid-configuration", self.issuer)
    }

    async fn jwks_uri(&self) -> Result<String, FetchError> {
        if let Some(uri) = &self.configured_jwks_uri {
            return Ok(uri.clone());
        }
        if let Some(uri) = self.lock_discovered().clone() {
            return Ok(uri);
        }
        let url = self.discovery_url();
        let doc = self.get_json(&url).await?;
        let found = doc
            .get("issuer")
            .and_then(|v| v.as_str())
            .unwrap_or_default();
        if found.trim_end_matches('/') != self.issuer {
            return Err(FetchError::IssuerMismatch {
                expected: self.issuer.clone(),
                found: found.chars().take(200).collect(),
            });
        }
        let uri = doc
            .get("jwks_uri")
            .and_then(|v| v.as_str())
            .filter(|u| u.starts_with("https://") || u.starts_with("http://"))
            .ok_or_else(|| FetchError::Invalid {
                url: url.clone(),
                message: "no http(s) jwks_uri".into(),
            })?
            .to_owned();
        *self.lock_discovered() = Some(uri.clone());
        Ok(uri)
    }

    fn lock_discovered(&self) -> std::sync::MutexGuard<'_, Option<String>> {
        self.discovered.lock().unwrap_or_else(|p| p.into_inner())
    }

    async fn get_json(&self, url: &str) -> Result<serde_json::Value, FetchError> {
        let transport = |e: reqwest::Error| FetchError::Transport {
            url: url.to_owned(),
            message: e.to_string(),
        };
        let mut res = self
            .client
            .get(url)
            .header(http::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(transport)?;
        if !res.status().is_success() {
            return Err(FetchError::Status {
                url: url.to_owned(),
                status: res.status().as_u16(),
            });
        }
        let mut body = Vec::new();
        while let Some(chunk) = res.chunk().await.map_err(transport)? {
            if body.len() + chunk.len() > MAX_DOCUMENT_BYTES {
                return Err(FetchError::TooLarge {
                    url: url.to_owned(),
                    max: MAX_DOCUMENT_BYTES,
                });
            }
            body.extend_from_slice(&chunk);
        }
        serde_json::from_slice(&body).map_err(|e| FetchError::Invalid {
            url: url.to_owned(),
            message: e.to_string(),
        })
    }
}

impl KeySource for HttpKeySource {
    fn fetch(&self) -> BoxFuture<'_, Result<serde_json::Value, FetchError>> {
        Box::pin(async move {
            let uri = self.jwks_uri().await?;
            let result = self.get_json(&uri).await;
            if result.is_err() {
                // The JWKS may have moved: discover again next time.
                *self.lock_discovered() = None;
            }
            result
        })
    }

    fn describe(&self) -> String {
        match &self.configured_jwks_uri {
            Some(uri) => uri.clone(),
            None => self
                .lock_discovered()
                .clone()
                .unwrap_or_else(|| self.discovery_url()),
        }
    }
}
