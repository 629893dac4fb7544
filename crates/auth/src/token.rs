//! The front end of verification: what is checked before any key is chosen or any
//! signature computed, in this order, each step cheap and bounded:
//!
//! 1. the size limit, before anything else touches the bytes (a 10 MB header must cost
//!    nothing);
//! 2. the shape: three non-empty segments of unpadded base64url, nothing else;
//! 3. the protected header, decoded and parsed as JSON (duplicate members are refused, so
//!    there is one `alg` and one `kid`, never two readings of the same header);
//! 4. `crit`: every name listed must be understood, and we understand none, so any `crit`
//!    is refused (RFC 7515 §4.1.11);
//! 5. `typ`: absent, `JWT` or `at+jwt` for access tokens (RFC 9068), case-insensitive, with
//!    or without `application/`;
//! 6. `alg`: `none` and HMAC are refused by name; the rest must be accepted by
//!    configuration (the key then narrows it further, see `keys`);
//! 7. `kid`: required and short.
//!
//! `jku`, `x5u`, `jwk` and `x5c` are not even read: a token cannot say where its own key is.
//! The payload is not decoded here; claims are read only after the signature verifies.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::Algorithm;
use serde::Deserialize;

use crate::error::AuthError;

/// The longest `kid` we look up. Keycloak's are 43 characters.
pub const MAX_KID_LEN: usize = 256;
/// The longest protected header we decode.
const MAX_HEADER_B64: usize = 4096;

/// The header members tis-auth reads. Everything else is ignored on purpose.
#[derive(Debug, Deserialize)]
struct RawHeader {
    alg: String,
    #[serde(default)]
    kid: Option<String>,
    #[serde(default)]
    typ: Option<String>,
    #[serde(default)]
    crit: Option<serde_json::Value>,
}

/// A token that passed the front end: its algorithm and key id, and the parts the signature
/// check needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenHead {
    pub alg: Algorithm,
    pub kid: String,
}

/// Which `typ` values a kind of token may carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TypPolicy {
    /// Identity-provider access tokens: absent, `JWT` or `at+jwt`.
    AccessToken,
    /// `TIS-Principal` tokens: exactly `tis-principal+jwt`, so that no other token can be
    /// passed off as a principal even if it were signed by a trusted key.
    Principal,
}

/// The `typ` of minted principal tokens.
pub const PRINCIPAL_TYP: &str = "tis-principal+jwt";

/// Runs the front-end checks (see the module documentation).
pub fn inspect(
    token: &str,
    max_bytes: usize,
    typ_policy: TypPolicy,
    allowed: &[Algorithm],
) -> Result<TokenHead, AuthError> {
    check_size(token, max_bytes)?;
    let header_b64 = check_shape(token)?;
    let header = parse_header(header_b64)?;

    if header.crit.is_some() {
        let first = match &header.crit {
            Some(serde_json::Value::Array(items)) => items
                .first()
                .and_then(|v| v.as_str())
                .unwrap_or("")
                .chars()
                .take(64)
                .collect(),
            _ => String::new(),
        };
        return Err(AuthError::UnsupportedCritical(first));
    }
    check_typ(header.typ.as_deref(), typ_policy)?;
    let alg = parse_alg(&header.alg, allowed)?;
    let kid = match header.kid {
        None => return Err(AuthError::MissingKeyId),
        Some(k) if k.is_empty() || k.len() > MAX_KID_LEN => {
            return Err(AuthError::Malformed("kid is empty or too long"));
        }
        Some(k) => k,
    };
    Ok(TokenHead { alg, kid })
}

/// The size limit, applied before any parsing.
pub fn check_size(token: &str, max_bytes: usize) -> Result<(), AuthError> {
    if token.len() > max_bytes {
        return Err(AuthError::TokenTooLarge {
            len: token.len(),
            max: max_bytes,
        });
    }
    if token.is_empty() {
        return Err(AuthError::MissingToken);
    }
    Ok(())
}

/// Three non-empty base64url segments; returns the header segment.
fn check_shape(token: &str) -> Result<&str, AuthError> {
    if !token
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.')
    {
        return Err(AuthError::Malformed(
            "characters outside unpadded base64url",
        ));
    }
    let mut parts = token.split('.');
    let (Some(header), Some(payload), Some(signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(AuthError::Malformed("not three dot-separated segments"));
    };
    if header.is_empty() || payload.is_empty() || signature.is_empty() {
        return Err(AuthError::Malformed("an empty segment"));
    }
    if header.len() > MAX_HEADER_B64 {
        return Err(AuthError::Malformed("header too long"));
    }
    Ok(header)
}

fn parse_header(header_b64: &str) -> Result<RawHeader, AuthError> {
    let bytes = URL_SAFE_NO_PAD
        .decode(header_b64)
        .map_err(|_| AuthError::Malformed("header is not base64url"))?;
    serde_json::from_slice(&bytes).map_err(|_| AuthError::Malformed("header is not a JWS header"))
}

fn check_typ(typ: Option<&str>, policy: TypPolicy) -> Result<(), AuthError> {
    let Some(typ) = typ else {
        return match policy {
            TypPolicy::AccessToken => Ok(()),
            TypPolicy::Principal => Err(AuthError::WrongTokenType(String::new())),
        };
    };
    let lower = typ.to_ascii_lowercase();
    let bare = lower.strip_prefix("application/").unwrap_or(&lower);
    let ok = match policy {
        TypPolicy::AccessToken => bare == "jwt" || bare == "at+jwt",
        TypPolicy::Principal => bare == PRINCIPAL_TYP,
    };
    if ok {
        Ok(())
    } else {
        Err(AuthError::WrongTokenType(typ.chars().take(64).collect()))
    }
}

fn parse_alg(name: &str, allowed: &[Algorithm]) -> Result<Algorithm, AuthError> {
    let shown = || name.chars().take(32).collect::<String>();
    let alg: Algorithm = name
        .parse()
        .map_err(|_| AuthError::AlgorithmNotAllowed(shown()))?;
    if matches!(alg, Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512)
        || !allowed.contains(&alg)
    {
        return Err(AuthError::AlgorithmNotAllowed(shown()));
    }
    Ok(alg)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: &[Algorithm] = &[
        Algorithm::RS256,
        Algorithm::PS256,
        Algorithm::ES256,
        Algorithm::EdDSA,
    ];

    fn b64(s: &str) -> String {
        URL_SAFE_NO_PAD.encode(s)
    }

    fn token(header: &str) -> String {
        format!("{}.{}.c2ln", b64(header), b64("{}"))
    }

    fn access(t: &str) -> Result<TokenHead, AuthError> {
        inspect(t, 8192, TypPolicy::AccessToken, ALL)
    }

    #[test]
    fn a_plain_header_passes_with_its_alg_and_kid() {
        let head = access(&token(r#"{"alg":"RS256","kid":"k1","typ":"JWT"}"#)).expect("ok");
        assert_eq!(
            head,
            TokenHead {
                alg: Algorithm::RS256,
                kid: "k1".into()
            }
        );
        access(&token(r#"{"alg":"ES256","kid":"k1","typ":"at+jwt"}"#)).expect("at+jwt");
        access(&token(
            r#"{"alg":"ES256","kid":"k1","typ":"application/AT+JWT"}"#,
        ))
        .expect("media type form");
        access(&token(r#"{"alg":"EdDSA","kid":"k1"}"#)).expect("no typ");
    }

    #[test]
    fn alg_none_and_hmac_are_refused_by_name() {
        for alg in ["none", "None", "HS256", "HS512", "RS1", ""] {
            let err = access(&token(&format!(r#"{{"alg":"{alg}","kid":"k"}}"#))).unwrap_err();
            assert!(
                matches!(err, AuthError::AlgorithmNotAllowed(_)),
                "{alg}: {err:?}"
            );
        }
    }

    #[test]
    fn an_algorithm_left_out_of_configuration_is_refused() {
        let err = inspect(
            &token(r#"{"alg":"PS256","kid":"k"}"#),
            8192,
            TypPolicy::AccessToken,
            &[Algorithm::RS256],
        )
        .unwrap_err();
        assert!(matches!(err, AuthError::AlgorithmNotAllowed(_)));
    }

    #[test]
    fn any_crit_header_is_refused() {
        let err = access(&token(
            r#"{"alg":"RS256","kid":"k","crit":["exp"],"exp":1}"#,
        ))
        .unwrap_err();
        assert_eq!(err, AuthError::UnsupportedCritical("exp".into()));
        let err = access(&token(r#"{"alg":"RS256","kid":"k","crit":[]}"#)).unwrap_err();
        assert!(matches!(err, AuthError::UnsupportedCritical(_)));
    }

    #[test]
    fn other_token_types_are_refused() {
        for typ in ["JWE", "dpop+jwt", "tis-principal+jwt"] {
            let err = access(&token(&format!(
                r#"{{"alg":"RS256","kid":"k","typ":"{typ}"}}"#
            )))
            .unwrap_err();
            assert!(matches!(err, AuthError::WrongTokenType(_)), "{typ}");
        }
    }

    #[test]
    fn a_principal_must_say_it_is_one() {
        let ok = inspect(
            &token(r#"{"alg":"EdDSA","kid":"k","typ":"tis-principal+jwt"}"#),
            8192,
            TypPolicy::Principal,
            &[Algorithm::EdDSA],
        );
        assert!(ok.is_ok());
        for header in [
            r#"{"alg":"EdDSA","kid":"k","typ":"JWT"}"#,
            r#"{"alg":"EdDSA","kid":"k"}"#,
        ] {
            let err = inspect(
                &token(header),
                8192,
                TypPolicy::Principal,
                &[Algorithm::EdDSA],
            )
            .unwrap_err();
            assert!(matches!(err, AuthError::WrongTokenType(_)), "{header}");
        }
    }

    #[test]
    fn size_is_checked_before_anything_else() {
        let huge = "!".repeat(9000);
        let err = access(&huge).unwrap_err();
        assert_eq!(
            err,
            AuthError::TokenTooLarge {
                len: 9000,
                max: 8192
            }
        );
    }

    #[test]
    fn bad_shapes_are_malformed() {
        for bad in [
            "a.b",
            "a.b.c.d",
            "..",
            "a..c",
            "a.b.",
            "a b.c.d",
            "a=.b.c",
            "é.b.c",
            "!!!.e30.c2ln",
        ] {
            assert!(
                matches!(access(bad), Err(AuthError::Malformed(_))),
                "{bad:?}"
            );
        }
        let not_json = format!("{}.{}.c2ln", b64("not json"), b64("{}"));
        assert!(matches!(access(&not_json), Err(AuthError::Malformed(_))));
        let dup = token(r#"{"alg":"RS256","alg":"none","kid":"k"}"#);
        assert!(matches!(access(&dup), Err(AuthError::Malformed(_))));
    }

    #[test]
    fn a_missing_or_absurd_kid_is_refused() {
        assert_eq!(
            access(&token(r#"{"alg":"RS256"}"#)).unwrap_err(),
            AuthError::MissingKeyId
        );
        let long = format!(r#"{{"alg":"RS256","kid":"{}"}}"#, "k".repeat(300));
        assert!(matches!(
            access(&token(&long)),
            Err(AuthError::Malformed(_))
        ));
    }

    #[test]
    fn key_location_headers_are_not_read() {
        let head = access(&token(
            r#"{"alg":"RS256","kid":"k","jku":"http://evil/jwks","x5u":"http://evil/x5u","jwk":{"kty":"oct","k":"AA"}}"#,
        ))
        .expect("ignored");
        assert_eq!(head.kid, "k");
    }
}
