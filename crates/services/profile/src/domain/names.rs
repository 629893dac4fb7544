//! Names parsed at the boundary: a user name is the `HeeUser` key and Keycloak's
//! `preferred_username`, so it must survive a URL path and a token claim unchanged.

use std::fmt;

/// The longest user, role or permission name accepted.
pub const MAX_NAME_CHARS: usize = 255;

/// Why a name was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum BadName {
    #[error("must not be blank")]
    Blank,
    #[error("must be at most 255 characters")]
    TooLong,
    #[error("must not contain spaces, control characters or `/`")]
    BadCharacter,
}

/// A user name: 1–255 characters, none of them white space, control characters or `/`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct UserName(String);

impl UserName {
    pub fn parse(raw: &str) -> Result<UserName, BadName> {
        if raw.trim().is_empty() {
            return Err(BadName::Blank);
        }
        if raw.chars().count() > MAX_NAME_CHARS {
            return Err(BadName::TooLong);
        }
        if raw
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == '/')
        {
            return Err(BadName::BadCharacter);
        }
        Ok(UserName(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

impl fmt::Display for UserName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A role or permission name: 1–255 characters, no control characters, not only spaces
/// (role names have spaces: "HEE Admin"). Leading and trailing spaces are refused rather than
/// trimmed, so that a name always means one row.
pub fn check_label(raw: &str) -> Result<(), BadName> {
    if raw.trim().is_empty() {
        return Err(BadName::Blank);
    }
    if raw.chars().count() > MAX_NAME_CHARS {
        return Err(BadName::TooLong);
    }
    if raw.chars().any(char::is_control) || raw.trim() != raw || raw.contains('/') {
        return Err(BadName::BadCharacter);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keycloak_user_names_are_accepted_and_odd_ones_refused() {
        for ok in [
            "admin",
            "trust.admin",
            "service-account-etl",
            "jane@nhs.net",
        ] {
            assert_eq!(UserName::parse(ok).expect(ok).as_str(), ok);
        }
        assert_eq!(UserName::parse(" "), Err(BadName::Blank));
        assert_eq!(UserName::parse("a b"), Err(BadName::BadCharacter));
        assert_eq!(UserName::parse("a/b"), Err(BadName::BadCharacter));
        assert_eq!(UserName::parse(&"x".repeat(256)), Err(BadName::TooLong));
    }

    #[test]
    fn role_names_may_have_inner_spaces_only() {
        assert_eq!(check_label("HEE Admin"), Ok(()));
        assert_eq!(check_label(" HEE Admin"), Err(BadName::BadCharacter));
        assert_eq!(check_label("tcs:view:entities"), Ok(()));
        assert_eq!(check_label("a\u{0}b"), Err(BadName::BadCharacter));
    }
}
