//! Reading the token endpoint's form body, and the client's credentials.
//!
//! RFC 6749 is strict about the body, and so are we: it must be
//! `application/x-www-form-urlencoded` (415 otherwise), within the body limit (413), no
//! parameter may appear twice (400), and an empty value counts as absent. Values are kept
//! out of `Debug` so that a form can be logged without its password.
//!
//! A client authenticates with HTTP Basic (`client_secret_basic`, each part form-decoded as
//! §2.3.1 says) or with `client_id`/`client_secret` fields (`client_secret_post`), never
//! both at once.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use base64::Engine;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use http::{HeaderMap, StatusCode, header};

use super::error::OAuthError;
use crate::password::Secret;

pub(crate) struct Form {
    params: HashMap<String, String>,
}

impl std::fmt::Debug for Form {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Form")
            .field("params", &self.params.keys().collect::<Vec<_>>())
            .finish()
    }
}

fn is_form(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|essence| {
            essence
                .trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        })
}

impl Form {
    /// Reads and parses the body of `req`; the body limit is the router's (`DefaultBodyLimit`).
    pub async fn read(req: Request) -> Result<Form, OAuthError> {
        if !is_form(req.headers()) {
            return Err(OAuthError::not_a_form());
        }
        let bytes = Bytes::from_request(req, &()).await.map_err(|rej| {
            if rej.status() == StatusCode::PAYLOAD_TOO_LARGE {
                OAuthError::too_large()
            } else {
                OAuthError::invalid_request("the request body could not be read")
            }
        })?;
        Form::parse(&bytes)
    }

    pub fn parse(bytes: &[u8]) -> Result<Form, OAuthError> {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(bytes)
            .map_err(|_| OAuthError::invalid_request("the body is not form-encoded"))?;
        let mut params = HashMap::with_capacity(pairs.len());
        for (name, value) in pairs {
            if value.is_empty() {
                continue;
            }
            if params.contains_key(&name) {
                let shown: String = name.chars().take(64).collect();
                return Err(OAuthError::invalid_request(format!(
                    "parameter `{shown}` is repeated"
                )));
            }
            params.insert(name, value);
        }
        Ok(Form { params })
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.params.get(name).map(String::as_str)
    }

    pub fn require(&self, name: &str) -> Result<&str, OAuthError> {
        self.get(name)
            .ok_or_else(|| OAuthError::invalid_request(format!("Missing parameter: {name}")))
    }

    pub fn secret(&self, name: &str) -> Option<Secret> {
        self.get(name).map(Secret::new)
    }
}

/// The client as it presented itself; not yet checked.
#[derive(Debug)]
pub(crate) struct PresentedClient {
    pub client_id: String,
    pub secret: Option<Secret>,
}

/// Finds the client's credentials in the `Authorization` header or the form.
pub(crate) fn presented_client(
    realm: &str,
    headers: &HeaderMap,
    form: &Form,
) -> Result<PresentedClient, OAuthError> {
    let bad = || OAuthError::invalid_client(realm, "Invalid client or Invalid client credentials");
    let basic = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("basic"))
        .map(|(_, creds)| creds.trim());
    match basic {
        Some(encoded) => {
            if form.get("client_secret").is_some() {
                return Err(OAuthError::invalid_request(
                    "use one client authentication method, not Basic and client_secret",
                ));
            }
            let (id, secret) = decode_basic(encoded).ok_or_else(bad)?;
            if form.get("client_id").is_some_and(|f| f != id) {
                return Err(OAuthError::invalid_request(
                    "client_id does not match the Authorization header",
                ));
            }
            Ok(PresentedClient {
                client_id: id,
                secret: Some(Secret::new(secret)),
            })
        }
        None => {
            let id = form
                .get("client_id")
                .ok_or_else(|| OAuthError::invalid_client(realm, "Missing parameter: client_id"))?;
            Ok(PresentedClient {
                client_id: id.to_owned(),
                secret: form.secret("client_secret"),
            })
        }
    }
}

fn decode_basic(encoded: &str) -> Option<(String, String)> {
    const LENIENT: GeneralPurpose = GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
    );
    let raw = LENIENT.decode(encoded).ok()?;
    let text = String::from_utf8(raw).ok()?;
    let (id, secret) = text.split_once(':')?;
    let id = form_decode(id)?;
    (!id.is_empty()).then_some((id, form_decode(secret)?))
}

/// `application/x-www-form-urlencoded` decoding of one value (`+` is a space).
fn form_decode(s: &str) -> Option<String> {
    let plus = s.replace('+', " ");
    percent_encoding::percent_decode_str(&plus)
        .decode_utf8()
        .ok()
        .map(|c| c.into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_values_are_absent_and_repeats_are_refused() {
        let f = Form::parse(b"grant_type=password&scope=&username=a%40b").unwrap();
        assert_eq!(f.get("username"), Some("a@b"));
        assert_eq!(f.get("scope"), None);
        let err = Form::parse(b"username=a&username=b").unwrap_err();
        assert_eq!(err.error, "invalid_request");
        assert!(err.description.contains("username"));
    }

    #[test]
    fn a_form_never_prints_its_values() {
        let f = Form::parse(b"password=hunter2").unwrap();
        assert!(!format!("{f:?}").contains("hunter2"));
    }

    #[test]
    fn basic_credentials_are_form_decoded() {
        let enc = base64::engine::general_purpose::STANDARD.encode("my%20client:s%3Acret+x");
        assert_eq!(
            decode_basic(&enc),
            Some(("my client".to_owned(), "s:cret x".to_owned()))
        );
        assert_eq!(decode_basic("!!!"), None);
        let no_colon = base64::engine::general_purpose::STANDARD.encode("etl");
        assert_eq!(decode_basic(&no_colon), None);
    }

    #[test]
    fn basic_and_a_form_secret_together_are_refused() {
        let mut h = HeaderMap::new();
        let enc = base64::engine::general_purpose::STANDARD.encode("etl:tis");
        h.insert(
            header::AUTHORIZATION,
            format!("Basic {enc}").parse().unwrap(),
        );
        let form = Form::parse(b"client_secret=tis").unwrap();
        assert_eq!(
            presented_client("lin", &h, &form).unwrap_err().error,
            "invalid_request"
        );
        let form = Form::parse(b"client_id=other").unwrap();
        assert_eq!(
            presented_client("lin", &h, &form).unwrap_err().error,
            "invalid_request"
        );
        let form = Form::parse(b"client_id=etl").unwrap();
        let p = presented_client("lin", &h, &form).unwrap();
        assert_eq!(p.client_id, "etl");
        assert_eq!(p.secret.unwrap().expose(), "tis");
    }
}
