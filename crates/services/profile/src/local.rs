//! Profiles from Profile's own database, for callers that arrive with an access token instead
//! of a gateway principal: the original's in-process `ProfileUserDetailsServiceImpl`. It never
//! calls over the network (no cycle through the gateway or the cached client), so Profile
//! authorises its own callers whenever its database answers.

use futures::future::BoxFuture;
use tis_auth::{AccessClaims, ProfileError, ProfileSource, ResolvedProfile};

use crate::repo::{ProfileLookup, Repo};

/// A [`ProfileSource`] over the local repository.
#[derive(Debug, Clone)]
pub struct LocalProfiles {
    repo: Repo,
}

impl LocalProfiles {
    pub fn new(repo: Repo) -> Self {
        LocalProfiles { repo }
    }
}

impl ProfileSource for LocalProfiles {
    fn profile<'a>(
        &'a self,
        _token: &'a str,
        claims: &'a AccessClaims,
    ) -> BoxFuture<'a, Result<ResolvedProfile, ProfileError>> {
        Box::pin(async move {
            let user = claims
                .user_name()
                .filter(|u| !u.trim().is_empty())
                .ok_or_else(|| ProfileError::NoProfile(String::new()))?;
            match self.repo.user_profile(user).await {
                Ok(ProfileLookup::Found(profile)) => Ok(ResolvedProfile {
                    profile: *profile,
                    stale: false,
                    // Read from the database for this request.
                    fresh_for: None,
                }),
                Ok(ProfileLookup::Missing) => Err(ProfileError::NoProfile(user.to_owned())),
                Ok(ProfileLookup::Inactive) => Err(ProfileError::Inactive(user.to_owned())),
                Err(e) => Err(ProfileError::Unavailable(e.to_string())),
            }
        })
    }
}
