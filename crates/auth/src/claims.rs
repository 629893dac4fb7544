//! The claims of an identity-provider access token, as Keycloak writes them (DOMAIN §1.5),
//! and the audience and time checks made on them after the signature verified.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize};

use crate::error::AuthError;

/// `aud`: a string or a list of strings (RFC 7519 §4.1.3).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Audience {
    One(String),
    Many(Vec<String>),
}

impl Audience {
    fn none() -> Self {
        Audience::Many(Vec::new())
    }

    pub fn contains(&self, what: &str) -> bool {
        match self {
            Audience::One(a) => a == what,
            Audience::Many(list) => list.iter().any(|a| a == what),
        }
    }

    pub fn iter(&self) -> impl Iterator<Item = &str> {
        let slice: &[String] = match self {
            Audience::One(a) => std::slice::from_ref(a),
            Audience::Many(list) => list,
        };
        slice.iter().map(String::as_str)
    }
}

/// A list of roles, as in `realm_access` and each `resource_access.{client}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Roles {
    #[serde(default)]
    pub roles: Vec<String>,
}

/// The claims tis-auth reads from a verified access token. Unknown claims are ignored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AccessClaims {
    // `iss`, `aud` and `exp` default only so that their absence is reported by the
    // required-claims check as `missing_claim`, not as a parse error: a token without them
    // never verifies.
    #[serde(default)]
    pub iss: String,
    #[serde(default = "Audience::none")]
    pub aud: Audience,
    #[serde(default, deserialize_with = "numeric_date")]
    pub exp: u64,
    #[serde(
        default,
        deserialize_with = "opt_numeric_date",
        skip_serializing_if = "Option::is_none"
    )]
    pub nbf: Option<u64>,
    #[serde(
        default,
        deserialize_with = "opt_numeric_date",
        skip_serializing_if = "Option::is_none"
    )]
    pub iat: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub: Option<String>,
    /// Keycloak's authorised party: the client the token was issued to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub azp: Option<String>,
    /// Keycloak's token type (`Bearer`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub typ: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// RFC 9068 tokens (such as oidc-provider's) name the client here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preferred_username: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub given_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub family_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default)]
    pub realm_access: Roles,
    #[serde(default)]
    pub resource_access: BTreeMap<String, Roles>,
    /// Designated-body codes (the old system's Keycloak user attribute `DBC`), a string or a
    /// list.
    #[serde(default, deserialize_with = "string_or_list")]
    pub dbc: Vec<String>,
}

impl AccessClaims {
    /// The TIS user name: `preferred_username` (which is the `HeeUser` key), else the client
    /// of a service token, else `sub`.
    pub fn user_name(&self) -> Option<&str> {
        self.preferred_username
            .as_deref()
            .or(self.client_id.as_deref())
            .or(self.sub.as_deref())
    }

    /// The realm roles (`realm_access.roles`).
    pub fn realm_roles(&self) -> &[String] {
        &self.realm_access.roles
    }

    /// The roles granted for one client (`resource_access.{client}.roles`).
    pub fn client_roles(&self, client: &str) -> &[String] {
        self.resource_access
            .get(client)
            .map(|r| r.roles.as_slice())
            .unwrap_or(&[])
    }

    /// The audience check: `aud` names an accepted audience or, when it does not (Keycloak
    /// puts `account` there unless an audience mapper is configured), `azp` does. `aud` itself
    /// must be present: that is enforced before, as a required claim.
    pub fn check_audience(&self, accepted: &[String]) -> Result<(), AuthError> {
        let by_aud = accepted.iter().any(|a| self.aud.contains(a));
        let by_azp = self
            .azp
            .as_ref()
            .is_some_and(|azp| accepted.iter().any(|a| a == azp));
        if by_aud || by_azp {
            Ok(())
        } else {
            Err(AuthError::WrongAudience)
        }
    }
}

/// The time checks every token gets, with `skew` seconds of tolerance each way.
pub(crate) fn check_times(
    now: u64,
    skew: u64,
    exp: u64,
    nbf: Option<u64>,
    iat: Option<u64>,
) -> Result<(), AuthError> {
    if now > exp.saturating_add(skew) {
        return Err(AuthError::Expired);
    }
    if nbf.is_some_and(|nbf| nbf > now.saturating_add(skew)) {
        return Err(AuthError::NotYetValid);
    }
    if iat.is_some_and(|iat| iat > now.saturating_add(skew)) {
        return Err(AuthError::NotYetValid);
    }
    Ok(())
}

/// A JWT NumericDate: integer seconds, or a non-negative finite number rounded down.
pub(crate) fn numeric_date<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    let v = serde_json::Number::deserialize(d)?;
    if let Some(n) = v.as_u64() {
        return Ok(n);
    }
    match v.as_f64() {
        Some(f) if f.is_finite() && f >= 0.0 && f < u64::MAX as f64 => Ok(f as u64),
        _ => Err(serde::de::Error::custom("not a NumericDate")),
    }
}

pub(crate) fn opt_numeric_date<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    #[derive(Deserialize)]
    struct Wrap(#[serde(deserialize_with = "numeric_date")] u64);
    Ok(Option::<Wrap>::deserialize(d)?.map(|w| w.0))
}

fn string_or_list<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    Ok(match Option::<OneOrMany>::deserialize(d)? {
        None => Vec::new(),
        Some(OneOrMany::One(s)) => vec![s],
        Some(OneOrMany::Many(v)) => v,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn claims(v: serde_json::Value) -> AccessClaims {
        serde_json::from_value(v).expect("claims")
    }

    #[test]
    fn a_keycloak_token_is_read_in_full() {
        let c = claims(json!({
            "iss": "https://idp/realms/lin", "aud": "account", "azp": "api-tokens",
            "exp": 1700000000, "iat": 1699999700.5, "typ": "Bearer",
            "preferred_username": "gmc_etl", "given_name": "G", "family_name": "E",
            "email": "g@e", "realm_access": {"roles": ["uma_authorization", "ETL"]},
            "resource_access": {"account": {"roles": ["view-profile"]}},
            "dbc": "1-AIIDWA", "unknown": {"nested": true}
        }));
        assert_eq!(c.user_name(), Some("gmc_etl"));
        assert_eq!(c.realm_roles(), ["uma_authorization", "ETL"]);
        assert_eq!(c.client_roles("account"), ["view-profile"]);
        assert_eq!(c.client_roles("other"), [] as [String; 0]);
        assert_eq!(c.dbc, vec!["1-AIIDWA"]);
        assert_eq!(c.iat, Some(1699999700));
    }

    #[test]
    fn the_audience_matches_through_aud_or_else_azp() {
        let accepted = vec!["api-tokens".to_string()];
        let by_aud = claims(json!({"iss":"i","exp":1,"aud":["x","api-tokens"]}));
        assert!(by_aud.check_audience(&accepted).is_ok());
        let by_azp = claims(json!({"iss":"i","exp":1,"aud":"account","azp":"api-tokens"}));
        assert!(by_azp.check_audience(&accepted).is_ok());
        let neither = claims(json!({"iss":"i","exp":1,"aud":"account","azp":"other"}));
        assert_eq!(
            neither.check_audience(&accepted),
            Err(AuthError::WrongAudience)
        );
        let empty = claims(json!({"iss":"i","exp":1,"aud":[]}));
        assert_eq!(
            empty.check_audience(&accepted),
            Err(AuthError::WrongAudience)
        );
    }

    #[test]
    fn times_are_checked_with_skew_each_way() {
        assert_eq!(check_times(1000, 30, 1000, None, None), Ok(()));
        assert_eq!(check_times(1030, 30, 1000, None, None), Ok(()));
        assert_eq!(
            check_times(1031, 30, 1000, None, None),
            Err(AuthError::Expired)
        );
        assert_eq!(check_times(1000, 30, 2000, Some(1030), None), Ok(()));
        assert_eq!(
            check_times(1000, 30, 2000, Some(1031), None),
            Err(AuthError::NotYetValid)
        );
        assert_eq!(
            check_times(1000, 30, 2000, None, Some(1100)),
            Err(AuthError::NotYetValid)
        );
    }

    #[test]
    fn a_time_that_is_not_a_number_is_refused() {
        for bad in [json!("soon"), json!(-1), json!(null), json!(1e300)] {
            let r = serde_json::from_value::<AccessClaims>(json!({"iss":"i","aud":"a","exp":bad}));
            assert!(r.is_err(), "{bad}");
        }
    }
}
