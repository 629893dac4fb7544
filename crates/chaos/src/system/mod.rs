//! The system under test and the hands that hurt it.
//!
//! [`System`] is `tis up` ([`tis_up::TisUp`]: started by us in a temporary folder on free
//! ports, or attached to with `--attach`) plus any number of [`Extension`]s: the parts of a
//! scenario's system that `tis up` does not run. Every phase action goes through
//! [`System::act`]: an extension that [`handles`](Extension::handles) it carries it out,
//! otherwise `tis up`'s processes are signalled.
//!
//! # Where the other modes plug in
//!
//! SQLite mode needs no extension. The PostgreSQL, partition and two-gateway modes add one
//! file each here and one line each in `extensions_for`:
//!
//! - `pg.rs`: a primary, a synchronous replica and a replica, started before `tis up`
//!   ([`Extension::env`] gives `tis up` their URLs); handles `pg-kill`, `pg-promote`,
//!   `pg-delay`; [`Extension::check_writes`] can read the acknowledged writes back from
//!   each node directly.
//! - `netns.rs`: `reference-ns` in a network namespace ([`Extension::after_up`] registers it
//!   with the gateway); handles `partition` / `heal` and the `reference-ns` process actions.
//! - `haproxy.rs`: `gateway-2` and HAProxy in front of both gateways; [`Extension::entry`]
//!   sends the workload to HAProxy; handles the `gateway-2` process actions.

pub mod haproxy;
pub mod netns;
pub mod pg;
pub mod pg_cluster;
pub mod sibling;
pub mod tis_up;

use std::path::PathBuf;

use futures::future::BoxFuture;

use crate::scenario::{Action, Database, SystemSpec};
pub use tis_up::{TisUp, UpState};

/// Where the workload and the status poller send requests.
#[derive(Debug, Clone)]
pub struct Endpoints {
    /// `http://host:port` of the public entry (the gateway, or a load balancer in front).
    pub entry: String,
    /// The issuer (realm URL) whose token endpoint logs users in.
    pub issuer: String,
}

/// A part of the system that `tis up` does not run (see the module documentation).
pub trait Extension: Send + Sync {
    /// For messages: `postgres`, `partition`, `haproxy`.
    fn name(&self) -> &str;
    /// Extra settings of the `tis up` that `tis chaos` starts (database URLs…).
    fn env(&self) -> Vec<(String, String)> {
        Vec::new()
    }
    /// Runs once `tis up` is ready.
    fn after_up<'a>(&'a mut self, _up: &'a TisUp) -> BoxFuture<'a, anyhow::Result<()>> {
        Box::pin(async { Ok(()) })
    }
    /// Where the workload should go instead of `tis up`'s gateway (`http://host:port`).
    fn entry(&self) -> Option<String> {
        None
    }
    /// Whether this extension carries out `action`.
    fn handles(&self, action: &Action) -> bool;
    /// Carries out `action` (only those it [`handles`](Extension::handles)).
    fn act<'a>(
        &'a mut self,
        action: &'a Action,
        up: &'a TisUp,
    ) -> BoxFuture<'a, anyhow::Result<()>>;
    /// Problems with the acknowledged writes that only this extension can see (e.g. a row
    /// on the old primary but not the new one); empty when none.
    fn check_writes<'a>(
        &'a self,
        _abbreviations: &'a [String],
    ) -> BoxFuture<'a, anyhow::Result<Vec<String>>> {
        Box::pin(async { Ok(Vec::new()) })
    }
    /// Stops what it started; undoes what it did (a cut link, a delay).
    fn stop(&mut self) -> BoxFuture<'_, ()>;
}

/// The extensions a scenario's system needs, started (before `tis up`).
async fn extensions_for(
    spec: &SystemSpec,
    opts: &SystemOptions,
) -> anyhow::Result<Vec<Box<dyn Extension>>> {
    let mut extensions: Vec<Box<dyn Extension>> = Vec::new();
    if spec.database == Database::Postgres {
        extensions.push(Box::new(pg::Postgres::start().await?));
    }
    match spec.gateways {
        1 => {}
        2 => extensions.push(Box::new(haproxy::TwoGateways::new(&opts.tis_exe)?)),
        n => anyhow::bail!("system.gateways = {n}: 1 or 2"),
    }
    if spec.partition {
        if spec.database == Database::Postgres {
            anyhow::bail!("the partitioned instance runs in SQLite mode only");
        }
        extensions.push(Box::new(netns::Partition::start(&opts.tis_exe).await?));
    }
    Ok(extensions)
}

/// How to find or start `tis up`.
#[derive(Debug, Clone)]
pub struct SystemOptions {
    /// The `tis` binary to run `tis up` with.
    pub tis_exe: PathBuf,
    /// Attach to the `tis up` running on this data folder instead of starting one.
    pub attach: Option<PathBuf>,
    /// Keep the temporary data folder (with `up.log`) after the run.
    pub keep: bool,
}

/// `tis up` and its extensions.
pub struct System {
    pub up: TisUp,
    extensions: Vec<Box<dyn Extension>>,
}

impl System {
    /// Starts (or attaches to) the system `spec` describes and waits until it is ready.
    pub async fn start(spec: &SystemSpec, opts: &SystemOptions) -> anyhow::Result<System> {
        let extensions = extensions_for(spec, opts).await?;
        let up = match &opts.attach {
            Some(dir) => {
                if !extensions.is_empty() {
                    anyhow::bail!("--attach works with SQLite-mode scenarios only");
                }
                TisUp::attach(dir, spec).await?
            }
            None => {
                let mut env: Vec<(String, String)> = spec
                    .env
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect();
                for e in &extensions {
                    env.extend(e.env());
                }
                TisUp::start(&opts.tis_exe, spec.instances, &env, opts.keep).await?
            }
        };
        let mut system = System { up, extensions };
        for i in 0..system.extensions.len() {
            let e = &mut system.extensions[i];
            if let Err(err) = e.after_up(&system.up).await {
                let name = e.name().to_owned();
                system.stop().await;
                return Err(err.context(format!("starting {name}")));
            }
        }
        Ok(system)
    }

    pub fn endpoints(&self) -> Endpoints {
        let entry = self
            .extensions
            .iter()
            .find_map(|e| e.entry())
            .unwrap_or_else(|| format!("http://{}", self.up.gateway_addr()));
        Endpoints {
            entry,
            issuer: self.up.issuer().to_owned(),
        }
    }

    /// Carries out one action (not `refresh-tokens`, which is the workload's).
    pub async fn act(&mut self, action: &Action) -> anyhow::Result<()> {
        if let Some(e) = self.extensions.iter_mut().find(|e| e.handles(action)) {
            return e.act(action, &self.up).await;
        }
        self.up.act(action).await
    }

    /// Extra write problems the extensions see.
    pub async fn check_writes(&self, abbreviations: &[String]) -> anyhow::Result<Vec<String>> {
        let mut problems = Vec::new();
        for e in &self.extensions {
            problems.extend(e.check_writes(abbreviations).await?);
        }
        Ok(problems)
    }

    /// Undoes every fault (SIGCONT, holds lifted) and stops what we started.
    pub async fn stop(&mut self) {
        for e in self.extensions.iter_mut().rev() {
            e.stop().await;
        }
        self.up.stop().await;
    }
}
