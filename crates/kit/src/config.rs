//! The keys every service section (`[reference]`, `[profile]`, `[tcs]`) has, and the macro that
//! declares a service's section around them.
//!
//! ```toml
//! [reference]
//! listen = "0.0.0.0:8088"                 # port 0 picks a free port
//! demo_data = false                       # load demo data once migrated (`tis up` only)
//! default_page_size = 20                  # `size` when a list request gives none
//! max_page_size = 500                     # more is a 400
//! max_items = 1000                        # items in a bulk body or an `in`/`exists` list
//! body_limit = 2097152                    # bytes; more is a 413
//! [reference.database]                    # tis-store: url, replicas, pools, lag bound…
//! url = "postgres://tis@db:5432/reference"
//! [reference.principal]                   # the gateway's public key(s)
//! trusted_key_files = ["/etc/tis/principal.pub"]
//! [reference.access_tokens]               # optional: verify IdP access tokens too
//! issuer = "https://login.example.org/realms/lin"
//! # accept_access_tokens = true           # production: let callers in with them directly
//! [reference.drain]                       # graceful shutdown
//! drain_delay = "5s"
//! ```
//!
//! A section is one struct with `deny_unknown_fields` (serde cannot combine that with
//! `flatten`), so [`service_config!`](crate::service_config!) writes the common fields into
//! each service's struct, with its own keys after them, and implements [`ServiceConfig`], through
//! which the kit's [`App`](crate::App) and `tis` (the services table, `tis up`) read and set the
//! common values without knowing the service.

use std::net::SocketAddr;

use tis_auth::{AuthConfig, PrincipalConfig};
use tis_core::DrainConfig;
use tis_core::config::Mode;
use tis_store::DbConfig;

use crate::http::Limits;

/// The common values of a section.
#[derive(Debug, Clone, PartialEq)]
pub struct Base {
    pub listen: SocketAddr,
    pub database: DbConfig,
    pub drain: DrainConfig,
    pub limits: Limits,
    pub principal: PrincipalConfig,
    pub access_tokens: Option<AuthConfig>,
    /// Whether a caller with an access token (no principal) is let into the API; `None`:
    /// the mode decides (see [`Base::accepts_access_tokens`]).
    pub accept_access_tokens: Option<bool>,
    pub demo_data: bool,
    /// The top-level `mode`, copied in by `tis` (not a key of the section).
    pub mode: Mode,
}

impl Base {
    /// The defaults of service `name`: `127.0.0.1:0`, an SQLite file `<name>.db` in the working
    /// folder migrated at start, principals for audience `name`, no access tokens.
    pub fn defaults(name: &str) -> Base {
        Base {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            database: DbConfig {
                url: format!("sqlite://{name}.db"),
                ..DbConfig::default()
            },
            drain: DrainConfig::default(),
            limits: Limits {
                default_page_size: 20,
                max_page_size: 500,
                max_items: 1000,
                body_limit: 2 * 1024 * 1024,
            },
            principal: PrincipalConfig {
                audience: name.to_owned(),
                ..PrincipalConfig::default()
            },
            access_tokens: None,
            accept_access_tokens: None,
            demo_data: false,
            mode: Mode::Local,
        }
    }

    /// Whether the API lets in a caller who sends an identity-provider access token and no
    /// gateway principal. Needs `access_tokens`; then `accept_access_tokens` decides, and
    /// when it is unset the mode does: yes in local mode (`tis up`, tests, batch jobs on one
    /// machine), no in production, where such a caller would skip the gateway's checks
    /// (deactivation, Profile's roles: the service's own profile source, often the built-in
    /// role catalogue, decides instead) until the token expires.
    pub fn accepts_access_tokens(&self) -> bool {
        self.access_tokens.is_some()
            && self
                .accept_access_tokens
                .unwrap_or(!self.mode.is_production())
    }

    /// Every problem with the common values, each naming its key under `section`.
    pub fn problems(&self, section: &str) -> Vec<String> {
        let mut out = Vec::new();
        let l = &self.limits;
        if l.max_page_size == 0 {
            out.push(format!("`{section}.max_page_size` must be at least 1"));
        }
        if l.default_page_size == 0 || l.default_page_size > l.max_page_size {
            out.push(format!(
                "`{section}.default_page_size` must be between 1 and max_page_size"
            ));
        }
        if l.max_items == 0 {
            out.push(format!("`{section}.max_items` must be at least 1"));
        }
        if l.body_limit < 1024 {
            out.push(format!(
                "`{section}.body_limit` must be at least 1024 bytes"
            ));
        }
        let principal = format!("{section}.principal");
        for e in self.principal.verifier_problems() {
            out.push(e.under(&principal, "principal."));
        }
        for file in &self.principal.trusted_key_files {
            if let Err(e) = std::fs::File::open(file) {
                out.push(format!(
                    "`{principal}.trusted_key_files` {}: cannot be read: {e}",
                    file.display()
                ));
            }
        }
        if let Some(tokens) = &self.access_tokens {
            let key = format!("{section}.access_tokens");
            for e in tokens.problems() {
                out.push(e.under(&key, "auth."));
            }
            let (source, url) = tokens.key_source();
            let source = format!("{key}.{}", source.trim_start_matches("auth."));
            out.extend(tis_core::config::https_problem(&source, url, self.mode));
        }
        if self.mode.is_production() {
            out.extend(self.production_problems(section));
        }
        out
    }

    /// The development shortcuts production refuses, each naming its key.
    fn production_problems(&self, section: &str) -> Vec<String> {
        let mut out = Vec::new();
        if self.demo_data {
            out.push(format!(
                "`{section}.demo_data` loads demo users and rows: refused in production"
            ));
        }
        if self.database.url == Base::defaults(section).database.url {
            out.push(format!(
                "`{section}.database.url` is not set (its default, {:?}, is a development \
                 SQLite file in the working folder): production names its database",
                self.database.url
            ));
        }
        out
    }
}

/// The common values, to change in place (`tis up` points each instance at its database and
/// keys).
#[derive(Debug)]
pub struct BaseMut<'a> {
    pub listen: &'a mut SocketAddr,
    pub database: &'a mut DbConfig,
    pub drain: &'a mut DrainConfig,
    pub principal: &'a mut PrincipalConfig,
    pub access_tokens: &'a mut Option<AuthConfig>,
    pub demo_data: &'a mut bool,
    pub mode: &'a mut Mode,
}

/// A configuration that loads but cannot work: every problem, each naming its key. Exit
/// code 2. The one type of every process (tis-core's).
pub use tis_core::config::InvalidConfig;

/// A service's section (implemented by [`service_config!`](crate::service_config!)).
pub trait ServiceConfig:
    Clone
    + std::fmt::Debug
    + PartialEq
    + serde::Serialize
    + serde::de::DeserializeOwned
    + Default
    + Send
    + Sync
    + 'static
{
    /// The service's name: its section, its principals' audience, its health and logs.
    const NAME: &'static str;

    fn base(&self) -> Base;

    fn base_mut(&mut self) -> BaseMut<'_>;

    /// The service's own checks beyond the common ones, each naming its key.
    fn own_problems(&self) -> Vec<String> {
        Vec::new()
    }

    /// Every problem at once, or `Ok`.
    fn validate(&self) -> Result<(), InvalidConfig> {
        let mut problems = self.base().problems(Self::NAME);
        problems.extend(self.own_problems());
        InvalidConfig::check(problems)
    }
}

/// Declares a service's configuration section: the common keys (see the module
/// documentation), then the service's own, each with its default.
///
/// ```ignore
/// tis_service_kit::service_config! {
///     /// `[profile]`: the Profile service's configuration.
///     pub struct ProfileConfig(tis_core::service::PROFILE) checked by profile_problems {
///         /// How Reference is reached to check designated-body codes.
///         pub reference: ReferenceClientConfig = ReferenceClientConfig::default(),
///     }
/// }
/// ```
///
/// The name in parentheses is the service's name (its section, principal audience, registry
/// name…): a string literal, or its `tis_core::service` constant when other crates name the
/// service too.
///
/// The service's own keys are checked by a function it names with `checked by`
/// (`fn(&ProfileConfig) -> Vec<String>`, one sentence per problem naming its key), which
/// [`ServiceConfig::validate`] calls after the common checks.
#[macro_export]
macro_rules! service_config {
    (
        $(#[$meta:meta])*
        pub struct $name:ident ($service:expr) $( checked by $check:path )? {
            $( $(#[$fmeta:meta])* pub $field:ident : $ty:ty = $default:expr, )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
        #[serde(deny_unknown_fields, default)]
        pub struct $name {
            /// Where to listen; port 0 picks a free port.
            pub listen: std::net::SocketAddr,
            /// The database: SQLite file or PostgreSQL primary and replicas (tis-store).
            pub database: $crate::__private::tis_store::DbConfig,
            /// Graceful shutdown: drain delay and timeout.
            pub drain: $crate::__private::tis_core::DrainConfig,
            /// `size` when a list request gives none.
            pub default_page_size: u64,
            /// The largest `size` accepted; more is a 400.
            pub max_page_size: u64,
            /// The most items in a bulk body or an `in`/`exists` list; more is a 400.
            pub max_items: usize,
            /// The largest request body, in bytes; more is a 413.
            pub body_limit: usize,
            /// How gateway principals are verified (`audience` defaults to the service's name).
            pub principal: $crate::__private::tis_auth::PrincipalConfig,
            /// When set, identity-provider access tokens are verified too (a batch job calling
            /// the service directly; Profile's `/userinfo`).
            pub access_tokens: Option<$crate::__private::tis_auth::AuthConfig>,
            /// Whether a caller with an access token and no principal is let into the API.
            /// Unset: yes in local mode, no in production (see
            /// [`Base::accepts_access_tokens`]($crate::config::Base::accepts_access_tokens)).
            pub accept_access_tokens: Option<bool>,
            /// Load the demo data once the database is migrated (`tis up`); refused in
            /// production.
            pub demo_data: bool,
            /// The top-level `mode`, copied in by `tis`: not a key of the section.
            #[serde(skip)]
            pub mode: $crate::__private::tis_core::config::Mode,
            $( $(#[$fmeta])* pub $field: $ty, )*
        }

        impl Default for $name {
            fn default() -> Self {
                let b = $crate::config::Base::defaults($service);
                $name {
                    listen: b.listen,
                    database: b.database,
                    drain: b.drain,
                    default_page_size: b.limits.default_page_size,
                    max_page_size: b.limits.max_page_size,
                    max_items: b.limits.max_items,
                    body_limit: b.limits.body_limit,
                    principal: b.principal,
                    access_tokens: b.access_tokens,
                    accept_access_tokens: b.accept_access_tokens,
                    demo_data: b.demo_data,
                    mode: b.mode,
                    $( $field: $default, )*
                }
            }
        }

        impl $crate::config::ServiceConfig for $name {
            const NAME: &'static str = $service;

            fn base(&self) -> $crate::config::Base {
                $crate::config::Base {
                    listen: self.listen,
                    database: self.database.clone(),
                    drain: self.drain.clone(),
                    limits: $crate::http::Limits {
                        default_page_size: self.default_page_size,
                        max_page_size: self.max_page_size,
                        max_items: self.max_items,
                        body_limit: self.body_limit,
                    },
                    principal: self.principal.clone(),
                    access_tokens: self.access_tokens.clone(),
                    accept_access_tokens: self.accept_access_tokens,
                    demo_data: self.demo_data,
                    mode: self.mode,
                }
            }

            fn base_mut(&mut self) -> $crate::config::BaseMut<'_> {
                $crate::config::BaseMut {
                    listen: &mut self.listen,
                    database: &mut self.database,
                    drain: &mut self.drain,
                    principal: &mut self.principal,
                    access_tokens: &mut self.access_tokens,
                    demo_data: &mut self.demo_data,
                    mode: &mut self.mode,
                }
            }

            $(
                fn own_problems(&self) -> Vec<String> {
                    $check(self)
                }
            )?
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    crate::service_config! {
        /// A section for the tests.
        pub struct WidgetConfig("widget") checked by widget_problems {
            /// Something of its own.
            pub colour: String = "blue".into(),
        }
    }

    fn widget_problems(cfg: &WidgetConfig) -> Vec<String> {
        if cfg.colour.is_empty() {
            vec!["`widget.colour` must not be empty".into()]
        } else {
            Vec::new()
        }
    }

    #[test]
    fn a_section_has_the_common_keys_its_own_and_refuses_unknown_ones() {
        let cfg: WidgetConfig =
            serde_json::from_str(r#"{"colour":"red","max_items":5}"#).expect("parses");
        assert_eq!(cfg.colour, "red");
        assert_eq!(cfg.max_items, 5);
        assert_eq!(cfg.principal.audience, "widget");
        assert_eq!(cfg.database.url, "sqlite://widget.db");
        let err = serde_json::from_str::<WidgetConfig>(r#"{"max_page":5}"#).expect_err("unknown");
        assert!(err.to_string().contains("max_page"), "{err}");
        assert_eq!(trusting().validate(), Ok(()));
    }

    /// The default section with a gateway key to trust: what a valid section needs.
    fn trusting() -> WidgetConfig {
        let mut cfg = WidgetConfig::default();
        cfg.principal.trusted_keys_pem = vec!["(a public key)".into()];
        cfg
    }

    #[test]
    fn every_problem_is_reported_at_once_naming_its_key() {
        let cfg = WidgetConfig {
            colour: String::new(),
            max_page_size: 0,
            body_limit: 10,
            access_tokens: Some(tis_auth::AuthConfig::default()),
            ..WidgetConfig::default()
        };
        let InvalidConfig(problems) = cfg.validate().expect_err("invalid");
        assert_eq!(problems.len(), 7, "{problems:?}");
        let text = InvalidConfig(problems).to_string();
        for key in [
            "widget.max_page_size",
            "widget.default_page_size",
            "widget.body_limit",
            "widget.colour",
            "widget.principal.trusted_key_files",
            "widget.access_tokens.issuer",
            "widget.access_tokens.audience",
        ] {
            assert!(text.contains(key), "{text}");
        }
        assert_eq!(text.matches("invalid configuration").count(), 1);
        let mut cfg = WidgetConfig::default();
        *cfg.base_mut().demo_data = true;
        assert!(cfg.base().demo_data);
    }

    fn keys_from(issuer: &str) -> Option<tis_auth::AuthConfig> {
        Some(tis_auth::AuthConfig {
            issuer: issuer.into(),
            audience: vec!["tis".into()],
            ..tis_auth::AuthConfig::default()
        })
    }

    #[test]
    fn production_refuses_demo_data_an_unnamed_database_and_keys_over_http() {
        let mut cfg = WidgetConfig {
            demo_data: true,
            access_tokens: keys_from("http://idp.internal/realms/lin"),
            ..trusting()
        };
        assert_eq!(cfg.validate(), Ok(()), "local mode allows all three");
        *cfg.base_mut().mode = Mode::Production;
        let InvalidConfig(problems) = cfg.validate().expect_err("production");
        let text = problems.join("\n");
        assert_eq!(problems.len(), 3, "{text}");
        for key in [
            "`widget.demo_data`",
            "`widget.database.url`",
            "`widget.access_tokens.issuer`",
        ] {
            assert!(text.contains(key), "{key}: {text}");
        }
        cfg.demo_data = false;
        cfg.database.url = "postgres://tis@db/widget".into();
        cfg.access_tokens = keys_from("https://login.example.org/realms/lin");
        assert_eq!(cfg.validate(), Ok(()));
    }

    #[test]
    fn access_tokens_let_callers_in_locally_and_in_production_only_when_accepted() {
        let mut base = trusting().base();
        assert!(!base.accepts_access_tokens(), "nothing to verify them with");
        base.access_tokens = keys_from("https://login.example.org/realms/lin");
        assert!(base.accepts_access_tokens(), "local mode");
        base.mode = Mode::Production;
        assert!(!base.accepts_access_tokens(), "production: principals only");
        base.accept_access_tokens = Some(true);
        assert!(base.accepts_access_tokens(), "explicitly accepted");
        base.mode = Mode::Local;
        base.accept_access_tokens = Some(false);
        assert!(!base.accepts_access_tokens(), "explicitly refused");
    }
}
