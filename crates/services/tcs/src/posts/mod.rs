//! Posts: the establishment of training posts (`PostResource`, `RotationPostResource`), with
//! the original's routes and guards (docs/tcs.md "Posts").
//!
//! A post has a National Post Number ([`npn`]: the original's format, checked, unique), an
//! owner (a local office name, as a programme's), its sites and grades (Reference ids),
//! specialties and programmes (TCS's own), fundings, and the post it replaced or was replaced
//! by. Its row of the post list (`PostViewDTO`, `post_view`) and the trusts of its sites
//! (`post_trust`) are written in the transaction of every write ([`mod@write`]).
//!
//! Scope ([`crate::domain::scope::Scope::restrict_posts`]): the ETL sees every post, HEE staff
//! the posts their offices own, a trust admin the posts at their trusts' sites, a programme
//! observer the posts of their programmes; any other post is 404, as an unknown one.
//!
//! # Layout
//! - [`dto`]: the wire shapes.
//! - [`npn`]: the National Post Number's format, and making one.
//! - [`check`]: the checks that need no database.
//! - [`read`]: which posts the caller sees, and a post whole.
//! - [`mod@write`]: saving posts with everything derived from them.
//! - [`handlers`]: the handlers of `/posts…`, the bulk and patch routes.
//! - [`fundings`]: the `/post-fundings` routes (a post's fundings one by one).
//! - [`rotation_posts`]: the `/rotation-posts` routes.

pub mod check;
pub mod dto;
pub mod fundings;
pub mod handlers;
pub mod npn;
pub mod read;
pub mod rotation_posts;
pub mod write;

use tis_service_kit::guard::Guard;
use tis_service_kit::http::api::Api;

use crate::routes::Tcs;

/// `hasAuthority('post:view')`.
pub const VIEW: Guard = Guard::Authority("post:view");
/// `hasAuthority('post:add:modify')`.
pub const ADD_MODIFY: Guard = Guard::Authority("post:add:modify");
/// `hasAuthority('post:bulk:add:modify')`.
pub const BULK: Guard = Guard::Authority("post:bulk:add:modify");
/// `hasAuthority('post:delete')` (HEAD; 2018: `tcs:delete:entities`).
pub const DELETE: Guard = Guard::Authority("post:delete");
/// `hasAuthority('tcs:add:modify:entities')`: the ETL's patches and fundings.
pub const ENTITIES: Guard = Guard::Authority("tcs:add:modify:entities");
/// `hasRole('ETL') or hasAuthority('post:view')`.
pub const ETL_OR_VIEW: Guard = Guard::RoleOr("ETL", &VIEW);

/// Every post and rotation-post route.
pub fn routes(api: Api<Tcs>) -> Api<Tcs> {
    fundings::routes(rotation_posts::routes(handlers::routes(api)))
}
