//! Finding the access token in a request.
//!
//! Clients send `Authorization: Bearer <token>`; the old nginx proxy and some batch jobs send
//! the legacy `OIDC_access_token: <token>` (DOMAIN §1.4). Both are read. When both carry a
//! token they must carry the same one: two different tokens is either a confused client or
//! an attempt to have one layer check one token and another layer use the other, and is
//! refused with 400 `conflicting_tokens`.

use http::HeaderMap;
use http::header::AUTHORIZATION;

use crate::error::AuthError;

/// The legacy header carrying a raw access token.
pub const LEGACY_TOKEN_HEADER: &str = "oidc_access_token";

/// The access token of a request (see the module documentation).
pub fn bearer_token(headers: &HeaderMap) -> Result<&str, AuthError> {
    // Each token with the header it came in, so that a conflict names what conflicted.
    let mut tokens: Vec<(&'static str, &str)> = Vec::new();
    for value in headers.get_all(AUTHORIZATION) {
        let value = value
            .to_str()
            .map_err(|_| AuthError::Malformed("Authorization is not visible ASCII"))?
            .trim();
        let Some((scheme, rest)) = value.split_once(' ') else {
            continue; // not a bearer credential: another scheme, ignored
        };
        if !scheme.eq_ignore_ascii_case("bearer") {
            continue;
        }
        let token = rest.trim();
        if token.is_empty() {
            return Err(AuthError::Malformed("empty bearer token"));
        }
        tokens.push(("Authorization", token));
    }
    for value in headers.get_all(LEGACY_TOKEN_HEADER) {
        let value = value
            .to_str()
            .map_err(|_| AuthError::Malformed("OIDC_access_token is not visible ASCII"))?
            .trim();
        let token = match value.split_once(' ') {
            Some((scheme, rest)) if scheme.eq_ignore_ascii_case("bearer") => rest.trim(),
            _ => value,
        };
        if !token.is_empty() {
            tokens.push(("OIDC_access_token", token));
        }
    }
    let mut found: Option<(&'static str, &str)> = None;
    for (header, token) in tokens {
        match found {
            Some((first, prev)) if prev != token => {
                return Err(AuthError::ConflictingTokens(first, header));
            }
            _ => found = Some((header, token)),
        }
    }
    found.map(|(_, token)| token).ok_or(AuthError::MissingToken)
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
