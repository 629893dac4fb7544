//! Minting and checking tokens.
//!
//! [`TokenService`] turns a successful grant into signed tokens (access, and for people a
//! refresh token and on `openid` an ID token) and checks the tokens clients bring back
//! (refresh tokens at the token endpoint, access tokens at userinfo). Checking uses only the
//! keys still published, the realm's issuer, and the provider's [`Clock`], never the
//! system clock, so tests can expire tokens by moving a clock.
//!
//! # Layout
//! - [`claims`]: the token shapes.
//! - [`ledger`]: single use of refresh tokens and revoked sessions.
//! - [`scope`]: the scopes this provider knows.

pub mod claims;
pub(crate) mod ledger;
pub(crate) mod scope;

use std::sync::Arc;
use std::time::Duration;

use jsonwebtoken::Validation;
use serde::de::DeserializeOwned;
use uuid::Uuid;

use crate::clock::Clock;
use crate::keys::{KeyError, KeyStore};
use crate::realm::{Client, Realm};
use claims::{AccessClaims, IdClaims, RefreshClaims, Roles, Subject};
use scope::Scope;

/// Tokens longer than this are refused before any parsing.
pub const MAX_TOKEN_BYTES: usize = 16 * 1024;

/// Why a presented token was not accepted. The variants are for logs and tests; clients
/// see one generic description, so a probe learns nothing about our keys.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum Rejected {
    #[error("the token is too large")]
    TooLarge,
    #[error("the token is not a JWT: {0}")]
    Malformed(String),
    #[error("the token's key is not published")]
    UnknownKey,
    #[error("the token is not valid: {0}")]
    Invalid(String),
    #[error("the token was issued by another realm or provider")]
    WrongIssuer,
    #[error("the token has expired")]
    Expired,
    #[error("the token is a {0} token")]
    WrongType(String),
}

/// Token lifetimes.
#[derive(Debug, Clone, Copy)]
pub struct Lifetimes {
    pub access: Duration,
    pub refresh: Duration,
    pub session_max: Duration,
}

/// A login session (password grant, or an SSO session of the browser sign-in), carried
/// through refreshes.
#[derive(Debug, Clone)]
pub(crate) struct Session {
    pub id: String,
    pub auth_time: u64,
    /// An SSO session of the browser sign-in: its refresh tokens work only while the
    /// provider still knows the session (not after a logout or a restart).
    pub browser: bool,
}

impl Session {
    pub fn start(now: u64) -> Session {
        Session {
            id: Uuid::new_v4().to_string(),
            auth_time: now,
            browser: false,
        }
    }
}

/// What a grant produced, ready for the token response.
#[derive(Debug)]
pub(crate) struct Issued {
    pub access_token: String,
    pub expires_in: u64,
    pub refresh: Option<(String, u64)>,
    pub id_token: Option<String>,
    pub scope: String,
    pub session: Option<String>,
}

/// What to issue for one grant.
pub(crate) struct Grant<'a> {
    pub realm: &'a Realm,
    pub client: &'a Client,
    pub subject: Subject<'a>,
    pub scope: &'a Scope,
    pub session: Option<Session>,
    pub with_refresh: bool,
    /// The authorization request's `nonce`, for the ID token (code grant only).
    pub nonce: Option<&'a str>,
}

#[derive(Debug, Clone)]
pub(crate) struct TokenService {
    pub keys: KeyStore,
    pub clock: Arc<dyn Clock>,
    pub lifetimes: Lifetimes,
    pub base_url: String,
}

impl TokenService {
    /// `<base>/realms/<realm>`, the `iss` of every token of the realm.
    pub fn issuer(&self, realm: &str) -> String {
        format!("{}/realms/{realm}", self.base_url)
    }

    pub fn now(&self) -> u64 {
        self.clock.unix()
    }

    pub fn issue(&self, g: Grant<'_>) -> Result<Issued, KeyError> {
        let now = self.now();
        let iss = self.issuer(&g.realm.name);
        let access_ttl = self.lifetimes.access.as_secs();
        let profile = g.subject.profile();
        let resource_access = g.subject.client_roles();
        let mut aud = vec![g.realm.audience.clone()];
        aud.extend(
            resource_access
                .keys()
                .filter(|c| **c != g.realm.audience)
                .cloned(),
        );
        let client_id = &g.client.entry.client_id;
        let sid = g.session.as_ref().map(|s| s.id.clone());
        let access = AccessClaims {
            exp: now + access_ttl,
            iat: now,
            nbf: now,
            jti: Uuid::new_v4().to_string(),
            iss: iss.clone(),
            aud,
            typ: "Bearer",
            azp: client_id.clone(),
            sid: sid.clone(),
            session_state: sid,
            acr: "1",
            scope: g.scope.granted(),
            realm_access: Roles {
                roles: g.subject.realm_roles(g.realm),
            },
            resource_access,
            client_id: matches!(g.subject, Subject::ServiceAccount(_)).then(|| client_id.clone()),
            profile: profile.clone(),
        };
        let access_token = self.keys.sign(&access)?;

        let (mut refresh, mut id_token) = (None, None);
        if let Some(session) = &g.session {
            if g.with_refresh {
                let session_end = session.auth_time + self.lifetimes.session_max.as_secs();
                let exp = (now + self.lifetimes.refresh.as_secs()).min(session_end);
                let claims = RefreshClaims {
                    exp,
                    iat: now,
                    jti: Uuid::new_v4().to_string(),
                    iss: iss.clone(),
                    aud: iss.clone(),
                    sub: profile.sub.clone(),
                    typ: "Refresh".into(),
                    azp: client_id.clone(),
                    sid: session.id.clone(),
                    session_state: session.id.clone(),
                    scope: g.scope.granted(),
                    auth_time: session.auth_time,
                    browser: session.browser,
                };
                refresh = Some((self.keys.sign(&claims)?, exp.saturating_sub(now)));
            }
            if g.scope.openid {
                let claims = IdClaims {
                    exp: now + access_ttl,
                    iat: now,
                    auth_time: session.auth_time,
                    jti: Uuid::new_v4().to_string(),
                    iss,
                    aud: client_id.clone(),
                    typ: "ID",
                    azp: client_id.clone(),
                    sid: session.id.clone(),
                    session_state: session.id.clone(),
                    acr: "1",
                    nonce: g.nonce.map(str::to_owned),
                    at_hash: at_hash(&access_token),
                    profile,
                };
                id_token = Some(self.keys.sign(&claims)?);
            }
        }
        Ok(Issued {
            access_token,
            expires_in: access_ttl,
            refresh,
            id_token,
            scope: g.scope.granted(),
            session: g.session.map(|s| s.id),
        })
    }

    /// Checks a token this provider issued for `realm`: size, a published `kid`, the
    /// signature with the algorithm of that key, `iss`, `exp` against our clock, and `typ`.
    pub fn verify<T>(&self, realm: &Realm, token: &str, typ: &str) -> Result<T, Rejected>
    where
        T: DeserializeOwned + HasTypAndExp,
    {
        self.verify_at(realm, token, typ, false)
    }

    /// [`verify`](Self::verify), but an expired token is accepted: an `id_token_hint` at
    /// logout names a session and is often past its short life (Keycloak accepts it too).
    pub fn verify_allowing_expired<T>(
        &self,
        realm: &Realm,
        token: &str,
        typ: &str,
    ) -> Result<T, Rejected>
    where
        T: DeserializeOwned + HasTypAndExp,
    {
        self.verify_at(realm, token, typ, true)
    }

    fn verify_at<T>(
        &self,
        realm: &Realm,
        token: &str,
        typ: &str,
        allow_expired: bool,
    ) -> Result<T, Rejected>
    where
        T: DeserializeOwned + HasTypAndExp,
    {
        if token.len() > MAX_TOKEN_BYTES {
            return Err(Rejected::TooLarge);
        }
        let header =
            jsonwebtoken::decode_header(token).map_err(|e| Rejected::Malformed(e.to_string()))?;
        let kid = header.kid.ok_or(Rejected::UnknownKey)?;
        let key = self.keys.published(&kid).ok_or(Rejected::UnknownKey)?;
        let mut validation = Validation::new(key.alg.jwt());
        validation.validate_exp = false; // checked below, against our clock
        validation.validate_nbf = false;
        validation.validate_aud = false; // the audience is the verifier's business
        validation.leeway = 0;
        validation.set_required_spec_claims(&["exp", "iss", "sub"]);
        let data = jsonwebtoken::decode::<T>(token, &key.decoding, &validation)
            .map_err(|e| Rejected::Invalid(e.to_string()))?;
        let claims = data.claims;
        if claims.iss() != self.issuer(&realm.name) {
            return Err(Rejected::WrongIssuer);
        }
        if !allow_expired && claims.exp() <= self.now() {
            return Err(Rejected::Expired);
        }
        if claims.typ() != typ {
            return Err(Rejected::WrongType(claims.typ().to_owned()));
        }
        Ok(claims)
    }
}

/// `at_hash`: the left half of the access token's digest with the hash of its signature
/// algorithm (SHA-256 for RS256 and ES256, SHA-512 for EdDSA/Ed25519), base64url.
fn at_hash(access_token: &str) -> Option<String> {
    use base64::Engine;
    let alg = jsonwebtoken::decode_header(access_token).ok()?.alg;
    let algorithm = match alg {
        jsonwebtoken::Algorithm::EdDSA => &aws_lc_rs::digest::SHA512,
        _ => &aws_lc_rs::digest::SHA256,
    };
    let d = aws_lc_rs::digest::digest(algorithm, access_token.as_bytes());
    let half = &d.as_ref()[..d.as_ref().len() / 2];
    Some(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(half))
}

/// The claims [`TokenService::verify`] checks itself.
pub trait HasTypAndExp {
    fn typ(&self) -> &str;
    fn exp(&self) -> u64;
    fn iss(&self) -> &str;
}

impl HasTypAndExp for RefreshClaims {
    fn typ(&self) -> &str {
        &self.typ
    }
    fn exp(&self) -> u64 {
        self.exp
    }
    fn iss(&self) -> &str {
        &self.iss
    }
}

impl HasTypAndExp for claims::PresentedAccess {
    fn typ(&self) -> &str {
        &self.typ
    }
    fn exp(&self) -> u64 {
        self.exp
    }
    fn iss(&self) -> &str {
        &self.iss
    }
}

impl HasTypAndExp for claims::PresentedId {
    fn typ(&self) -> &str {
        &self.typ
    }
    fn exp(&self) -> u64 {
        self.exp
    }
    fn iss(&self) -> &str {
        &self.iss
    }
}
