//! The services table: everything `tis` knows about each domain service, in one entry.
//!
//! `tis serve <service>` and `tis migrate <service>` take their names from it (clap checks the
//! value against it); `tis up` prepares each entry's database (a SQLite file `<name>.db` in
//! the data folder, or `<prefix><name>` on the PostgreSQL primary), migrates and seeds it,
//! starts `<name>-1`…`<name>-<instances>`, announces them to the gateway's registry and lists
//! them in its banner; and the gateway gets each entry's route when the operator configured
//! none ([`gateway_defaults`]). Nothing else in `tis` names a service, so adding one is its
//! crate, one entry in [`SERVICES`], and one field in [`Config`] (serde needs a field per
//! section to refuse unknown keys; see `docs/architecture.md`, "Add a service").
//!
//! An entry holds functions, not trait objects of the service's types: the service's
//! configuration struct is reached through [`Section`], which every
//! [`tis_service_kit::config::ServiceConfig`] implements, so `tis` sets an instance's listener,
//! database and keys through typed fields whatever the service. A renamed field is a compile
//! error here, never a silently ignored setting.

use std::fmt;
use std::future::Future;
use std::pin::Pin;

use tis_gateway::{DiscoveryConfig, GatewayConfig, RouteConfig};
use tis_service_kit::app::Seed;
use tis_service_kit::config::{Base, BaseMut, InvalidConfig, ServiceConfig};
use tis_store::Migrations;

use crate::cli::SupervisedArgs;
use crate::config::Config;

#[cfg(test)]
mod tests;

/// A running instance's future: serves until shutdown, then drains.
pub type Serving = Pin<Box<dyn Future<Output = anyhow::Result<()>>>>;

/// One domain service.
pub struct Service {
    /// Its name: `tis serve <name>`, the `[<name>]` section, the principal audience, the
    /// registry name, the instances `<name>-<i>` and the database `<name>.db` / `tis_<name>`.
    pub name: &'static str,
    /// One line for `tis serve --help`.
    pub about: &'static str,
    /// Its gateway route when the operator configured none.
    pub route: Route,
    /// Its database migrations (both backends).
    pub migrations: fn() -> &'static Migrations,
    /// Its demo data; `tis up` loads it once migrated, before the instances start.
    pub seed: Seed,
    /// Its section of [`Config`]: `|c| &mut c.<name>`.
    pub section: fn(&mut Config) -> &mut dyn Section,
    /// Points its clients of the services in `route.calls` at `discovery`; `tis up` passes
    /// the gateway's registry. Nothing to do for a service that calls none.
    pub find_calls: fn(&mut Config, &DiscoveryConfig),
    /// Points a service that calls the APIs through the gateway (the web application) at
    /// the gateway's real address, `http://<addr>`, and gives it the demo realm's client;
    /// `tis up` calls it for every instance. Nothing to do for the others.
    pub find_gateway: fn(&mut Config, &str),
    /// Builds an instance from its (validated) section and serves it until shutdown
    /// ([`serve`] does the serving).
    pub serve: fn(Config, SupervisedArgs) -> Serving,
}

/// A service's default route at the gateway.
#[derive(Debug, Clone, Copy)]
pub struct Route {
    /// The path prefix, e.g. `/reference`; the path is forwarded unchanged.
    pub prefix: &'static str,
    /// What the status page calls it.
    pub title: &'static str,
    /// The services it calls on the caller's behalf, forwarding the caller's principal: the
    /// principal minted for its route names them as audiences too.
    pub calls: &'static [&'static str],
    /// Whether it must see the caller's access token itself (Profile's `/userinfo`).
    pub forward_access_token: bool,
    /// Whether it signs its users in itself (the web application): the gateway requires no
    /// token on its route and mints no principal (`RouteConfig::public`).
    pub public: bool,
    /// Whether it answers with whole pages (the web application): a page waits on other
    /// services and on the identity provider (3 s for a frozen one, by design), and some of
    /// its GETs are single-use (the sign-in callback redeems a code once). So the gateway
    /// neither cuts its tries early by latency nor retries a try it answered (its 503 is a
    /// page telling the user what is down); it still retries a try that reached no instance.
    /// A cut try used to be sent to the other instance, where it waited for the first one's
    /// lease or found the sign-in already used.
    pub pages: bool,
}

impl fmt::Debug for Service {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Service")
            .field("name", &self.name)
            .field("route", &self.route)
            .finish_non_exhaustive()
    }
}

/// Every domain service, in the order `tis up` starts them.
pub static SERVICES: &[Service] = &[
    Service {
        name: tis_reference::ReferenceConfig::NAME,
        about: "Lookup tables: sites, trusts, grades, designated bodies",
        route: Route {
            prefix: "/reference",
            title: "Reference data",
            calls: &[],
            forward_access_token: false,
            public: false,
            pages: false,
        },
        migrations: tis_reference::migrations,
        seed: |db| Box::pin(async move { tis_reference::demo::seed(&db).await }),
        section: |c| &mut c.reference,
        find_calls: |_, _| {},
        find_gateway: |_, _| {},
        serve: |c, s| {
            Box::pin(async move { serve(tis_reference::build(&c.reference).await?, s).await })
        },
    },
    Service {
        name: tis_profile::ProfileConfig::NAME,
        about: "Users, roles, permissions; each user's designated bodies, trusts, programmes",
        route: Route {
            prefix: "/profile",
            title: "User profiles",
            // It checks designated bodies with Reference on the caller's behalf, and its
            // /userinfo resolves the caller from the access token itself.
            calls: &[tis_core::service::REFERENCE],
            forward_access_token: true,
            public: false,
            pages: false,
        },
        migrations: tis_profile::migrations,
        seed: |db| Box::pin(async move { tis_profile::demo::seed(&db).await }),
        section: |c| &mut c.profile,
        find_calls: |c, discovery| c.profile.reference.discovery = discovery.clone(),
        find_gateway: |_, _| {},
        serve: |c, s| {
            Box::pin(async move { serve(tis_profile::build(&c.profile).await?, s).await })
        },
    },
    Service {
        name: tis_tcs::TcsConfig::NAME,
        about: "Trainee records: people, their programmes and training numbers",
        route: Route {
            prefix: "/tcs",
            title: "Trainee records",
            // It checks the Reference data writes name on the caller's behalf.
            calls: &[tis_core::service::REFERENCE],
            forward_access_token: false,
            public: false,
            pages: false,
        },
        migrations: tis_tcs::migrations,
        seed: |db| Box::pin(async move { tis_tcs::demo::seed(&db).await }),
        section: |c| &mut c.tcs,
        find_calls: |c, discovery| c.tcs.reference.discovery = discovery.clone(),
        find_gateway: |_, _| {},
        serve: |c, s| Box::pin(async move { serve(tis_tcs::build(&c.tcs).await?, s).await }),
    },
    Service {
        name: tis_web::WebConfig::NAME,
        about: "The admin web application: sign-in, people, programmes (served at /)",
        route: Route {
            // The catch-all: every path no API prefix claims.
            prefix: "/",
            title: "Web application",
            calls: &[],
            forward_access_token: false,
            public: true,
            pages: true,
        },
        migrations: tis_web::migrations,
        seed: |_| Box::pin(async { Ok(0) }),
        section: |c| &mut c.web,
        find_calls: |_, _| {},
        find_gateway: |c, gateway| {
            // Browsers and the application both reach the gateway at its real address; the
            // demo realm's `tis-web` client (secret `tis`) unless one is configured.
            c.web.gateway_url = gateway.to_owned();
            c.web.public_url = gateway.to_owned();
            if c.web.client_secret.is_empty() {
                c.web.client_secret = tis_idp::realm::demo::DEMO_PASSWORD.to_owned();
            }
        },
        serve: |c, s| Box::pin(async move { serve(tis_web::build(&c.web).await?, s).await }),
    },
];

/// The entry named `name`.
pub fn named(name: &str) -> Option<&'static Service> {
    SERVICES.iter().find(|s| s.name == name)
}

/// Whether processes of `service` are domain service instances (announced to the gateway,
/// listed by service in the banner).
pub fn is_service(service: &str) -> bool {
    named(service).is_some()
}

/// The value parser of `tis serve <service>` and `tis migrate <service>`: a name from the
/// table (listed, with each `about`, in `--help`).
pub fn parser() -> impl clap::builder::TypedValueParser<Value = &'static Service> {
    use clap::builder::{PossibleValue, PossibleValuesParser, TypedValueParser};
    PossibleValuesParser::new(
        SERVICES
            .iter()
            .map(|s| PossibleValue::new(s.name).help(s.about)),
    )
    .try_map(|name| named(&name).ok_or("not a service"))
}

/// Announces a built instance to `tis up` (when supervised) and serves it until shutdown.
pub async fn serve<X>(
    app: tis_service_kit::App<X>,
    supervised: SupervisedArgs,
) -> anyhow::Result<()> {
    crate::supervised::announce(&supervised, app.local_addr(), &[])?;
    app.run(crate::supervised::shutdown(supervised)).await
}

impl Service {
    /// How the gateway reaches it by default: from the local registry, with the mesh's
    /// defaults, except for a service of pages ([`Route::pages`]).
    pub fn gateway_service(&self) -> tis_gateway::ServiceConfig {
        let mut service = tis_gateway::ServiceConfig::default();
        if self.route.pages {
            service.mesh.latency_timeout.enabled = false;
            service.mesh.retry.retry_statuses.clear();
        }
        service
    }

    /// Its default gateway route.
    pub fn route_config(&self) -> RouteConfig {
        RouteConfig {
            title: Some(self.route.title.to_owned()),
            principal_audiences: self.route.calls.iter().map(|&c| c.to_owned()).collect(),
            forward_access_token: self.route.forward_access_token,
            public: self.route.public,
            ..RouteConfig::new(self.route.prefix, self.name)
        }
    }
}

/// Fills the gateway's route table from the services table, where the operator left it
/// empty. With `routes_file` set nothing is touched (the file is the table). Otherwise:
/// no `routes` at all → one route per service ([`Service::route_config`]); then every route
/// to a service of the table that has no `[gateway.services.<name>]` gets the default one
/// (instances from the local registry that `tis up` feeds).
pub fn gateway_defaults(gateway: &mut GatewayConfig) {
    if gateway.routes_file.is_some() {
        return;
    }
    if gateway.routes.is_empty() {
        gateway.routes = SERVICES.iter().map(Service::route_config).collect();
    }
    for route in &gateway.routes {
        if let Some(service) = named(&route.service) {
            gateway
                .services
                .entry(route.service.clone())
                .or_insert_with(|| service.gateway_service());
        }
    }
}

/// A service's section of [`Config`], whatever its type: what `tis` reads and sets without
/// knowing the service. Every [`ServiceConfig`] is one.
pub trait Section {
    /// The common values.
    fn base(&self) -> Base;
    /// The common values, to change in place.
    fn base_mut(&mut self) -> BaseMut<'_>;
    /// The common values of the section's default (its default database URL, say).
    fn default_base(&self) -> Base;
    /// Every problem at once, each naming its key (exit code 2).
    fn validate(&self) -> Result<(), InvalidConfig>;
}

impl<C: ServiceConfig> Section for C {
    fn base(&self) -> Base {
        ServiceConfig::base(self)
    }

    fn base_mut(&mut self) -> BaseMut<'_> {
        ServiceConfig::base_mut(self)
    }

    fn default_base(&self) -> Base {
        ServiceConfig::base(&C::default())
    }

    fn validate(&self) -> Result<(), InvalidConfig> {
        ServiceConfig::validate(self)
    }
}
