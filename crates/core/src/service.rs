//! The names of TIS's processes, as other crates and processes know them: one constant each.
//!
//! A domain service's name is at once the `tis serve <name>` argument, its `[<name>]`
//! configuration section, the audience of the principals minted for it, its name in discovery
//! and the gateway's registry, the prefix of its instances' names (`reference-1`) and of its
//! database (`reference.db`). A crate that calls a service, or a tool that manages one, uses
//! the constant; the service's own configuration declares itself with it
//! (`tis_service_kit::service_config!`), and `tis`'s services table takes the name from there.
//!
//! A new service needs a constant here only when another crate names it.

/// Reference data: sites, trusts, grades, designated bodies (`tis-reference`).
pub const REFERENCE: &str = "reference";
/// Users, roles and permissions: the authorisation context (`tis-profile`).
pub const PROFILE: &str = "profile";
/// Trainee records (`tis-tcs`).
pub const TCS: &str = "tcs";
/// The edge (`tis gateway`): not a domain service, but a process `tis up` runs and
/// `tis chaos` may kill.
pub const GATEWAY: &str = "gateway";
/// The development OpenID Connect provider (`tis idp`).
pub const IDP: &str = "idp";
