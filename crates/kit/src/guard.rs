//! Guards: what an operation requires of its caller, written as the original's
//! `@PreAuthorize` said it (`hasAuthority('reference:add:modify:entities')`,
//! `hasPermission('tis:people::person:', 'View')`, `hasRole('ETL') or …`).
//!
//! A guard is checked in one of two ways, both before the request body is read (a caller
//! without the permission gets its 403 whatever it sent):
//! - on a route added through the registrar ([`crate::http::api::Api::add`]), by the layer the
//!   registrar puts in front of the handler, which also documents the guard in the OpenAPI
//!   document: the usual way;
//! - by the extractor [`Can<P>`] in a handler, for routes added to a plain axum router.
//!
//! Both authenticate with tis-auth's [`Authenticated`] (a gateway principal, or an access
//! token where the service accepts them), which keeps the caller in the request's extensions:
//! a handler that then takes `Authenticated` gets it without verifying twice.

use std::marker::PhantomData;

use axum::extract::{FromRef, FromRequestParts, Request};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::request::Parts;
use tis_auth::{AuthError, Authenticated, Authenticator, Principal};

use crate::error::ApiError;

/// What an operation requires of its caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Guard {
    /// Nothing: the handler authenticates by itself, or the route is public.
    Open,
    /// Any authenticated caller (the original's `authenticated`).
    Authenticated,
    /// `hasAuthority(name)`: the caller's permissions include `name`.
    Authority(&'static str),
    /// `hasPermission(resource, action)`: the caller's permission policies allow it.
    Permission(&'static str, &'static str),
    /// `hasRole(role) or <guard>`.
    RoleOr(&'static str, &'static Guard),
}

impl Guard {
    /// `Ok` when `who` passes; `Forbidden` naming what is missing otherwise.
    pub fn check(&self, who: &Principal) -> Result<(), AuthError> {
        match *self {
            Guard::Open | Guard::Authenticated => Ok(()),
            Guard::Authority(name) => who.require_authority(name),
            Guard::Permission(resource, action) => who.require_permission(resource, action),
            Guard::RoleOr(role, other) => {
                if who.has_role(role) {
                    Ok(())
                } else {
                    other.check(who)
                }
            }
        }
    }

    /// Whether a caller must be authenticated at all.
    pub fn needs_caller(&self) -> bool {
        !matches!(self, Guard::Open)
    }

    /// The guard in the original's words, for documents (`None` when anyone authenticated
    /// passes).
    pub fn describe(&self) -> Option<String> {
        match *self {
            Guard::Open | Guard::Authenticated => None,
            Guard::Authority(name) => Some(format!("hasAuthority('{name}')")),
            Guard::Permission(resource, action) => {
                Some(format!("hasPermission('{resource}', '{action}')"))
            }
            Guard::RoleOr(role, other) => Some(match other.describe() {
                Some(rest) => format!("hasRole('{role}') or {rest}"),
                None => format!("hasRole('{role}')"),
            }),
        }
    }
}

/// The guards of one entity's CRUD routes (see [`crate::http::crud`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Guards {
    /// Lists, one record, and the look-ups that only read.
    pub view: Guard,
    pub create: Guard,
    pub update: Guard,
    pub delete: Guard,
    pub bulk_create: Guard,
    pub bulk_update: Guard,
}

impl Guards {
    /// Reads by any authenticated caller, creates and updates (bulk too) with the authority
    /// `write`, deletes with `delete`: Reference's rule.
    pub const fn authorities(write: &'static str, delete: &'static str) -> Guards {
        Guards {
            view: Guard::Authenticated,
            create: Guard::Authority(write),
            update: Guard::Authority(write),
            delete: Guard::Authority(delete),
            bulk_create: Guard::Authority(write),
            bulk_update: Guard::Authority(write),
        }
    }
}

/// The route layer the registrar puts in front of a guarded handler: authenticates the caller
/// (keeping the principal in the request's extensions) and checks `guard`, before anything
/// else reads the request. Needs the [`Authenticator`] as a request extension (the kit's
/// router adds it).
pub async fn enforce(guard: Guard, req: Request, next: Next) -> Response {
    if !guard.needs_caller() {
        return next.run(req).await;
    }
    let (mut parts, body) = req.into_parts();
    match caller(&mut parts, guard).await {
        Ok(()) => next.run(Request::from_parts(parts, body)).await,
        Err(err) => err.into_response(),
    }
}

async fn caller(parts: &mut Parts, guard: Guard) -> Result<(), ApiError> {
    let who = match parts.extensions.get::<Principal>() {
        Some(p) => p.clone(),
        None => {
            let auth = parts
                .extensions
                .get::<Authenticator>()
                .cloned()
                .ok_or_else(|| {
                    ApiError::Http(tis_core::HttpError::internal(
                        "the route's authenticator is missing",
                    ))
                })?;
            let who = auth.authenticate(&parts.headers).await?;
            parts.extensions.insert(who.clone());
            who
        }
    };
    guard.check(&who)?;
    Ok(())
}

/// A guard known at compile time, for [`Can<P>`].
pub trait Permission: Send + Sync + 'static {
    const GUARD: Guard;
}

/// Declares unit types that implement [`Permission`], one per guard:
///
/// ```ignore
/// tis_service_kit::permissions! {
///     /// `profile:view:entities`
///     View = Guard::Authority("profile:view:entities");
/// }
/// ```
#[macro_export]
macro_rules! permissions {
    ($($(#[$doc:meta])* $t:ident = $guard:expr;)*) => {$(
        $(#[$doc])*
        #[derive(Debug)]
        pub struct $t;
        impl $crate::guard::Permission for $t {
            const GUARD: $crate::guard::Guard = $guard;
        }
    )*};
}

/// An authenticated caller who passes the guard of `P`, for handlers on a plain axum router.
#[derive(Debug)]
pub struct Can<P> {
    pub who: Principal,
    _needs: PhantomData<P>,
}

impl<P> std::ops::Deref for Can<P> {
    type Target = Principal;

    fn deref(&self) -> &Principal {
        &self.who
    }
}

impl<S, P> FromRequestParts<S> for Can<P>
where
    S: Send + Sync,
    Authenticator: FromRef<S>,
    P: Permission,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let Authenticated(who) = Authenticated::from_request_parts(parts, state).await?;
        P::GUARD.check(&who)?;
        Ok(Can {
            who,
            _needs: PhantomData,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tis_auth::{AuthenticatedBy, UserProfile};

    fn who(permissions: &[&str], roles: &[&str]) -> Principal {
        let mut profile = UserProfile::named("tester");
        profile.permissions = permissions.iter().map(|p| (*p).to_owned()).collect();
        profile.roles = roles.iter().map(|r| (*r).to_owned()).collect();
        Principal::new(profile, AuthenticatedBy::Gateway)
    }

    #[test]
    fn a_guard_checks_what_the_original_said_and_names_what_is_missing() {
        let write = Guard::Authority("reference:add:modify:entities");
        assert!(
            write
                .check(&who(&["reference:add:modify:entities"], &[]))
                .is_ok()
        );
        let err = write.check(&who(&[], &[])).expect_err("forbidden");
        assert!(
            err.to_string().contains("reference:add:modify:entities"),
            "{err}"
        );
        assert!(Guard::Authenticated.check(&who(&[], &[])).is_ok());
        static VIEW: Guard = Guard::Authority("tcs:view:entities");
        let etl = Guard::RoleOr("ETL", &VIEW);
        assert!(etl.check(&who(&[], &["ETL"])).is_ok());
        assert!(etl.check(&who(&["tcs:view:entities"], &[])).is_ok());
        assert!(etl.check(&who(&[], &["HEE"])).is_err());
        assert_eq!(
            etl.describe().as_deref(),
            Some("hasRole('ETL') or hasAuthority('tcs:view:entities')")
        );
        assert_eq!(
            Guard::Permission("tis:people::person:", "View")
                .describe()
                .as_deref(),
            Some("hasPermission('tis:people::person:', 'View')")
        );
    }
}
