//! Scopes. Keycloak applies `profile` and `email` to every token of a client by default, so
//! the only choice a request makes here is `openid` (which adds an ID token). Other names
//! Keycloak knows are accepted and change nothing; anything else is `invalid_scope`, so a
//! typo is not silently ignored.

/// Scope names this provider accepts.
pub const SUPPORTED: &[&str] = &[
    "openid",
    "profile",
    "email",
    "roles",
    "web-origins",
    "acr",
    "basic",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Scope {
    pub openid: bool,
}

impl Scope {
    /// Parses the `scope` parameter; the error names the first unknown scope.
    pub fn parse(requested: Option<&str>) -> Result<Scope, String> {
        let mut openid = false;
        for s in requested.unwrap_or("").split_ascii_whitespace() {
            if !SUPPORTED.contains(&s) {
                return Err(s.chars().take(64).collect());
            }
            openid |= s == "openid";
        }
        Ok(Scope { openid })
    }

    /// A refresh may keep or narrow the original scope, never widen it.
    pub fn narrow(self, requested: Option<&str>) -> Result<Scope, String> {
        match requested {
            None => Ok(self),
            Some(r) => {
                let asked = Scope::parse(Some(r))?;
                if asked.openid && !self.openid {
                    Err("openid".into())
                } else {
                    Ok(asked)
                }
            }
        }
    }

    /// The `scope` claim and response field.
    pub fn granted(&self) -> String {
        if self.openid {
            "openid profile email".into()
        } else {
            "profile email".into()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profile_and_email_are_always_granted_and_openid_on_request() {
        assert_eq!(Scope::parse(None).unwrap().granted(), "profile email");
        assert_eq!(
            Scope::parse(Some("openid  email")).unwrap().granted(),
            "openid profile email"
        );
    }

    #[test]
    fn an_unknown_scope_is_named() {
        assert_eq!(Scope::parse(Some("openid admin")).unwrap_err(), "admin");
    }

    #[test]
    fn a_refresh_cannot_add_openid() {
        let plain = Scope { openid: false };
        assert_eq!(plain.narrow(Some("openid")).unwrap_err(), "openid");
        let oidc = Scope { openid: true };
        assert!(!oidc.narrow(Some("profile")).unwrap().openid);
        assert!(oidc.narrow(None).unwrap().openid);
    }
}
