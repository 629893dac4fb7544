//! Finding the access token in a request.
//!
//! Clients send `Authorization: Bearer <token>`; the old nginx proxy and some batch jobs send
//! the legacy `OIDC_access_token: <token>` (DOMAIN §1.4). Both are read. When both carry a
//! token they must carry the same one: two different tokens is either a confused client or
//! an attempt to have one layer check one token and another layer use the other, and is
//! refused with 400 `conflicting_tokens`.

use http::header::AUTHORIZATION;
use http::{HeaderMap, HeaderName};

use crate::error::AuthError;

/// The legacy header carrying a raw access token.
pub const LEGACY_TOKEN_HEADER: &str = "oidc_access_token";

/// `OIDC_access_token`, parsed once (a lookup by `&str` parses the name every time).
const LEGACY: HeaderName = HeaderName::from_static(LEGACY_TOKEN_HEADER);

/// The access token of a request (see the module documentation).
///
/// Two passes over the headers, without collecting them (this runs on every request, twice
/// at the gateway): the first refuses any malformed value, the second finds the token and
/// refuses a different second one, naming both headers.
pub fn bearer_token(headers: &HeaderMap) -> Result<&str, AuthError> {
    for found in tokens(headers) {
        found?;
    }
    let mut found: Option<(&'static str, &str)> = None;
    for (header, token) in tokens(headers).filter_map(Result::ok).flatten() {
        match found {
            Some((first, prev)) if prev != token => {
                return Err(AuthError::ConflictingTokens(first, header));
            }
            _ => found = Some((header, token)),
        }
    }
    found.map(|(_, token)| token).ok_or(AuthError::MissingToken)
}

/// Each value of the two headers: an error when malformed, `None` when it carries no token
/// (another scheme, an empty legacy value), else the token with the header it came in, so
/// that a conflict names what conflicted.
fn tokens(
    headers: &HeaderMap,
) -> impl Iterator<Item = Result<Option<(&'static str, &str)>, AuthError>> {
    let bearer = headers.get_all(AUTHORIZATION).iter().map(|value| {
        let value = value
            .to_str()
            .map_err(|_| AuthError::Malformed("Authorization is not visible ASCII"))?
            .trim();
        let Some((scheme, rest)) = value.split_once(' ') else {
            return Ok(None); // not a bearer credential: another scheme, ignored
        };
        if !scheme.eq_ignore_ascii_case("bearer") {
            return Ok(None);
        }
        let token = rest.trim();
        if token.is_empty() {
            return Err(AuthError::Malformed("empty bearer token"));
        }
        Ok(Some(("Authorization", token)))
    });
    let legacy = headers.get_all(LEGACY).iter().map(|value| {
        let value = value
            .to_str()
            .map_err(|_| AuthError::Malformed("OIDC_access_token is not visible ASCII"))?
            .trim();
        let token = match value.split_once(' ') {
            Some((scheme, rest)) if scheme.eq_ignore_ascii_case("bearer") => rest.trim(),
            _ => value,
        };
        Ok((!token.is_empty()).then_some(("OIDC_access_token", token)))
    });
    bearer.chain(legacy)
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (name, value) in pairs {
            h.append(*name, HeaderValue::from_str(value).expect("value"));
        }
        h
    }

    #[test]
    fn the_bearer_token_is_read_from_authorization() {
        let h = headers(&[("authorization", "Bearer abc.def.ghi")]);
        assert_eq!(bearer_token(&h), Ok("abc.def.ghi"));
        let h = headers(&[("authorization", "bearer   abc.def.ghi ")]);
        assert_eq!(bearer_token(&h), Ok("abc.def.ghi"));
    }

    #[test]
    fn the_legacy_header_is_read_too() {
        let h = headers(&[("OIDC_access_token", "abc.def.ghi")]);
        assert_eq!(bearer_token(&h), Ok("abc.def.ghi"));
    }

    #[test]
    fn the_same_token_in_both_headers_is_fine() {
        let h = headers(&[
            ("authorization", "Bearer abc.def.ghi"),
            ("oidc_access_token", "abc.def.ghi"),
        ]);
        assert_eq!(bearer_token(&h), Ok("abc.def.ghi"));
    }

    #[test]
    fn two_different_tokens_are_refused() {
        let h = headers(&[
            ("authorization", "Bearer abc.def.ghi"),
            ("oidc_access_token", "xyz.def.ghi"),
        ]);
        let err = bearer_token(&h).expect_err("conflict");
        assert_eq!(
            err,
            AuthError::ConflictingTokens("Authorization", "OIDC_access_token")
        );
        assert_eq!(
            err.to_string(),
            "two different tokens were sent (Authorization and OIDC_access_token)"
        );
        let h = headers(&[
            ("authorization", "Bearer abc.def.ghi"),
            ("authorization", "Bearer xyz.def.ghi"),
        ]);
        let err = bearer_token(&h).expect_err("conflict");
        assert_eq!(
            err.to_string(),
            "two different tokens were sent (two Authorization headers)"
        );
        let h = headers(&[
            ("oidc_access_token", "abc.def.ghi"),
            ("oidc_access_token", "xyz.def.ghi"),
        ]);
        let err = bearer_token(&h).expect_err("conflict");
        assert_eq!(
            err.to_string(),
            "two different tokens were sent (two OIDC_access_token headers)"
        );
    }

    #[test]
    fn no_token_is_missing_and_other_schemes_are_ignored() {
        assert_eq!(
            bearer_token(&HeaderMap::new()),
            Err(AuthError::MissingToken)
        );
        let h = headers(&[("authorization", "Basic dXNlcjpwYXNz")]);
        assert_eq!(bearer_token(&h), Err(AuthError::MissingToken));
        let h = headers(&[("authorization", "Bearer ")]);
        assert!(bearer_token(&h).is_err());
    }
}
