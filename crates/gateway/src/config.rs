//! `[gateway]`: the gateway's configuration.
//!
//! Every key has a default, so an empty section runs a gateway on `127.0.0.1:8080` (admin on
//! `127.0.0.1:8081`). The default route table is empty: this crate knows no service. `tis`
//! fills it from its services table when the operator gives no routes (one route per service,
//! instances from the local registry that `tis up` feeds; see `docs/configuration.md`). What
//! must be given: the identity provider (`auth.issuer`, `auth.audience`) and the principal
//! signing key (`principal.signing_key_file`).
//!
//! ```toml
//! [gateway]
//! listen = "0.0.0.0:8080"
//! admin_listen = "127.0.0.1:8081"
//! max_concurrency = 1024
//! routes_file = "/etc/tis/routes.toml"   # optional; reloaded on SIGHUP and when it changes
//!
//! [[gateway.routes]]
//! prefix = "/reference"
//! service = "reference"
//! timeout = "10s"
//!
//! [gateway.services.reference.pools.blue]
//! weight = 90
//! discovery = { kind = "dns", host = "reference-blue.tis.svc.cluster.local", port = 8080 }
//! [gateway.services.reference.pools.green]
//! weight = 10
//! discovery = { kind = "static", addrs = ["10.0.0.7:8080"] }
//! [gateway.services.reference.mesh]       # tis_mesh::MeshConfig overrides
//! per_try_timeout = "2s"
//! ```
//!
//! The route table (`routes` and `services`) is the part that can change without a restart:
//! see [`crate::reload`].

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tis_auth::{AuthConfig, PrincipalConfig};
use tis_core::DrainConfig;
use tis_mesh::MeshConfig;

/// The whole `[gateway]` section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GatewayConfig {
    /// The public listener; port 0 picks a free port.
    pub listen: SocketAddr,
    /// The admin listener (metrics, health, full status, the local registry). Never public.
    pub admin_listen: SocketAddr,
    /// The bearer token every write on the admin listener must carry (registry changes,
    /// route reloads): a file holding one line of at least 32 characters, readable by the
    /// gateway only. Reads (`/metrics`, health, `/admin/status`) stay open. Required in
    /// production; without it, in local mode, writes are open to whoever reaches the port.
    pub admin_token_file: Option<PathBuf>,
    /// Serve HTTPS on the public listener (HTTP/1.1 and HTTP/2 through ALPN).
    pub tls: Option<TlsConfig>,
    /// The largest request body, in bytes; more is a 413.
    pub body_limit: usize,
    pub timeouts: TimeoutsConfig,
    /// Requests being served at once through the routed stack; beyond it requests are shed
    /// with 503 `overloaded` at once.
    pub max_concurrency: usize,
    /// Open client connections at once; beyond it new connections wait in the backlog.
    pub max_connections: usize,
    /// Threads serving the public listener, each a single-threaded runtime with its own
    /// `SO_REUSEPORT` socket on the same address (nginx's model: a request's client and
    /// upstream sides stay on one thread). 0 serves it on the process's own runtime.
    /// Default: the number of cores.
    pub workers: usize,
    /// The deadline of a request whose client sent no `X-Request-Timeout` and whose route
    /// sets none.
    #[serde(with = "humantime_serde")]
    pub default_timeout: Duration,
    /// The longest deadline a client may ask for with `X-Request-Timeout`.
    #[serde(with = "humantime_serde")]
    pub max_timeout: Duration,
    /// Keep the client's `X-Forwarded-For` and append to it (only behind a proxy that sets
    /// it); otherwise it is replaced by the peer address.
    pub trust_forwarded_headers: bool,
    /// Routes, longest prefix first when matched.
    pub routes: Vec<RouteConfig>,
    /// The services routes point at.
    pub services: BTreeMap<String, ServiceConfig>,
    /// Instances to put in the local registry at start, before the first request: a JSON
    /// object `{"<service>": ["<addr>", …]}`. `tis up` keeps `run/registry.json` current and
    /// points its gateway at it, so a restarted gateway routes at once instead of answering
    /// 503 until the supervisor has re-announced every instance. Read once at start (the
    /// admin registry API changes the registry afterwards); a missing file is an empty
    /// registry, an unreadable one is logged and ignored.
    pub registry_file: Option<PathBuf>,
    /// When set, `routes` and `services` are read from this TOML file instead (same keys, at
    /// the top level), re-read on SIGHUP and whenever it changes.
    pub routes_file: Option<PathBuf>,
    /// How often the routes file is checked for changes.
    #[serde(with = "humantime_serde")]
    pub routes_file_poll: Duration,
    /// Verification of identity-provider access tokens (tis-auth).
    pub auth: AuthConfig,
    /// The `TIS-Principal` the gateway mints (its Ed25519 signing key, lifetime).
    pub principal: PrincipalConfig,
    /// Minted principals are reused for the same token and service for at most this long
    /// (and never past half their lifetime), so that a busy user costs one signature per
    /// interval, not one per request.
    #[serde(with = "humantime_serde")]
    pub principal_reuse: Duration,
    /// Where each caller's authorisation context (UserProfile) comes from.
    pub profiles: ProfilesConfig,
    /// How long the status page keeps saying "writes degraded" after an upstream last
    /// reported `db-read-only` — unless a successful answer of that service without it ends
    /// it first (the service marks every answer while its database has no primary).
    #[serde(with = "humantime_serde")]
    pub degraded_memory: Duration,
    pub drain: DrainConfig,
    /// Cross-origin requests from browsers: off unless origins are listed.
    pub cors: crate::cors::CorsConfig,
    /// The status page's history: its file, sampling, and the other gateways it is merged
    /// with (see [`crate::status::history`]).
    pub status_history: crate::status::history::HistoryConfig,
}

impl Default for GatewayConfig {
    fn default() -> Self {
        GatewayConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            admin_listen: SocketAddr::from(([127, 0, 0, 1], 8081)),
            admin_token_file: None,
            tls: None,
            body_limit: 2 * 1024 * 1024,
            timeouts: TimeoutsConfig::default(),
            max_concurrency: 1024,
            max_connections: 10_000,
            workers: std::thread::available_parallelism().map_or(1, |n| n.get()),
            default_timeout: Duration::from_secs(10),
            max_timeout: Duration::from_secs(60),
            trust_forwarded_headers: false,
            registry_file: None,
            // No service is known here: `tis` fills these from its services table.
            routes: Vec::new(),
            services: BTreeMap::new(),
            routes_file: None,
            routes_file_poll: Duration::from_secs(1),
            auth: AuthConfig::default(),
            principal: PrincipalConfig::default(),
            principal_reuse: Duration::from_secs(10),
            profiles: ProfilesConfig::default(),
            degraded_memory: Duration::from_secs(30),
            drain: DrainConfig::default(),
            cors: crate::cors::CorsConfig::default(),
            status_history: crate::status::history::HistoryConfig::default(),
        }
    }
}

/// PEM files of the public listener's certificate chain and private key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    pub cert_file: PathBuf,
    pub key_file: PathBuf,
}

/// Connection timeouts of the public listener, against slow or idle clients.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TimeoutsConfig {
    /// How long a client may take to send a request's headers (and, with TLS, to finish the
    /// handshake). Also bounds the wait for the next request on a keep-alive connection.
    #[serde(with = "humantime_serde")]
    pub header_read: Duration,
    /// A connection with no request in flight for this long is closed (HTTP/1.1 and h2).
    #[serde(with = "humantime_serde")]
    pub idle: Duration,
}

impl Default for TimeoutsConfig {
    fn default() -> Self {
        TimeoutsConfig {
            header_read: Duration::from_secs(10),
            idle: Duration::from_secs(60),
        }
    }
}

/// One route: requests whose path is `prefix` or starts with `prefix/` go to `service`.
/// The path is forwarded unchanged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteConfig {
    pub prefix: String,
    pub service: String,
    /// The deadline of requests on this route when the client sends no `X-Request-Timeout`.
    #[serde(default, with = "humantime_serde")]
    pub timeout: Option<Duration>,
    /// What people call this service on the status page ("Reference data").
    #[serde(default)]
    pub title: Option<String>,
    /// Services this route's service calls on the caller's behalf, forwarding the caller's
    /// `TIS-Principal` (Profile validates designated bodies with Reference): the principal
    /// minted for this route names them as audiences too.
    #[serde(default)]
    pub principal_audiences: Vec<String>,
    /// Forward the caller's access token (`Authorization: Bearer`, `OIDC_access_token`) to
    /// the service. Only for a service that must see it: Profile's `/userinfo` resolves the
    /// caller from the token itself. Off by default: a bearer token lets its holder act as
    /// the user anywhere until it expires.
    #[serde(default)]
    pub forward_access_token: bool,
    /// A route whose service signs its users in itself (the web application, with its own
    /// session cookie): no token is required and no principal is minted. Client-sent
    /// `TIS-Principal` is still stripped, and a bearer token is still removed unless
    /// `forward_access_token`; cookies pass through as on every route.
    #[serde(default)]
    pub public: bool,
}

/// `[gateway.profiles]`: where the authorisation context comes from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ProfilesConfig {
    pub source: ProfilesSource,
    /// The cached Profile client (`source = "profile"`): freshness, stale-if-error bound,
    /// and where Profile's instances are (default: the local registry, name `profile`).
    pub client: tis_profile_client::ProfileClientConfig,
}

impl Default for ProfilesConfig {
    fn default() -> Self {
        ProfilesConfig {
            source: ProfilesSource::Profile,
            client: tis_profile_client::ProfileClientConfig {
                discovery: DiscoveryConfig::Registry { name: None },
                ..Default::default()
            },
        }
    }
}

/// The sources of the authorisation context.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ProfilesSource {
    /// The Profile service, through the cached client (production).
    Profile,
    /// tis-auth's built-in role catalogue, from the token's realm roles and `dbc` claim: no
    /// other service needed (tests, and deployments without Profile).
    RoleCatalogue,
}

impl RouteConfig {
    /// A route from `prefix` to `service` with every option at its default.
    pub fn new(prefix: impl Into<String>, service: impl Into<String>) -> Self {
        RouteConfig {
            prefix: prefix.into(),
            service: service.into(),
            timeout: None,
            title: None,
            principal_audiences: Vec::new(),
            forward_access_token: false,
            public: false,
        }
    }
}

/// One downstream service: where its instances are, split into weighted pools.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServiceConfig {
    /// Where the instances are when no `pools` are given (one pool, `default`).
    pub discovery: DiscoveryConfig,
    /// Named pools (`blue`, `green`) with their own discovery and weight. Each pool has its
    /// own balancer and breakers; a request picks a pool by weight, then an instance.
    pub pools: BTreeMap<String, PoolConfig>,
    /// The tis-mesh client settings for this service (every pool).
    pub mesh: MeshConfig,
}

impl Default for ServiceConfig {
    fn default() -> Self {
        ServiceConfig {
            discovery: DiscoveryConfig::Registry { name: None },
            pools: BTreeMap::new(),
            mesh: MeshConfig::default(),
        }
    }
}

/// One pool of a service.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PoolConfig {
    /// Relative share of requests; 0 keeps the pool warm (health-checked) but unused.
    pub weight: u32,
    pub discovery: DiscoveryConfig,
}

/// Where a pool's instances are: tis-mesh's one discovery configuration. `kind =
/// "registry"` is the gateway's local registry (fed by `tis up` through the admin API); its
/// name defaults to the service name, or `<service>-<pool>` for a named pool.
pub use tis_mesh::DiscoveryConfig;

impl GatewayConfig {
    /// Checks what the route table does not (see [`crate::routes::build`] for routes and
    /// services): every problem at once, each naming its key (see [`crate::checks`], which
    /// also has production's).
    pub fn validate(&self) -> Result<(), tis_core::config::InvalidConfig> {
        self.check(tis_core::config::Mode::Local)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_section_has_defaults_and_no_routes_of_its_own() {
        let cfg: GatewayConfig = toml::from_str("").expect("defaults");
        assert_eq!(cfg, GatewayConfig::default());
        assert_eq!(cfg.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(cfg.admin_listen.to_string(), "127.0.0.1:8081");
        assert_eq!(cfg.default_timeout, Duration::from_secs(10));
        assert!(cfg.routes.is_empty(), "{:?}", cfg.routes);
        assert!(cfg.services.is_empty());
        assert_eq!(
            ServiceConfig::default().discovery,
            DiscoveryConfig::Registry { name: None }
        );
        // What has no default: the identity provider and the principal key.
        let err = cfg.validate().expect_err("no issuer, no key").to_string();
        for key in ["auth.issuer", "auth.audience", "principal.signing_key_file"] {
            assert!(err.contains(&format!("`gateway.{key}`")), "{key}: {err}");
        }
    }

    #[test]
    fn pools_discovery_and_mesh_overrides_parse_and_typos_are_refused() {
        let cfg: GatewayConfig = toml::from_str(
            r#"
            max_concurrency = 10
            [timeouts]
            idle = "5s"
            [[routes]]
            prefix = "/tcs"
            service = "tcs"
            timeout = "250ms"
            [services.tcs.pools.blue]
            weight = 90
            discovery = { kind = "static", addrs = ["127.0.0.1:9001"] }
            [services.tcs.pools.green]
            weight = 10
            discovery = { kind = "dns", host = "tcs-green.local", port = 8080 }
            [services.tcs.mesh]
            per_try_timeout = "2s"
            "#,
        )
        .expect("parses");
        assert_eq!(cfg.timeouts.idle, Duration::from_secs(5));
        assert_eq!(cfg.routes[0].timeout, Some(Duration::from_millis(250)));
        let tcs = &cfg.services["tcs"];
        assert_eq!(tcs.pools["blue"].weight, 90);
        assert_eq!(
            tcs.pools["green"].discovery,
            DiscoveryConfig::Dns {
                host: "tcs-green.local".into(),
                port: 8080
            }
        );
        assert_eq!(tcs.mesh.per_try_timeout, Duration::from_secs(2));

        let err = toml::from_str::<GatewayConfig>("max_concurency = 1").expect_err("typo");
        assert!(err.to_string().contains("max_concurency"), "{err}");
        let err = toml::from_str::<GatewayConfig>(
            "[services.x]\ndiscovery = { kind = \"static\", adrs = [] }",
        )
        .expect_err("typo in discovery");
        assert!(err.to_string().contains("adrs"), "{err}");
    }

    #[test]
    fn nonsense_values_are_refused_with_the_key_named() {
        let cfg = GatewayConfig {
            max_concurrency: 0,
            ..GatewayConfig::default()
        };
        let err = cfg.validate().expect_err("zero").to_string();
        assert!(err.contains("`gateway.max_concurrency`"), "{err}");
        let cfg = GatewayConfig {
            default_timeout: Duration::from_secs(120),
            ..GatewayConfig::default()
        };
        let err = cfg.validate().expect_err("long").to_string();
        assert!(err.contains("`gateway.default_timeout`"), "{err}");
    }
}
