//! `tis up`: the whole system on one machine, supervised.
//!
//! 1. Prepare the data folder on first start (`prepare`): the demo realm, the principal
//!    keys, each service's database migrated and seeded with demo data — a SQLite file in
//!    the data folder, or, with `[up.postgres]` / `--postgres`, a database of its own on a
//!    PostgreSQL primary whose replicas serve the reads (`postgres`).
//! 2. Start the processes in waves (`plan`): first the identity provider, then the gateway,
//!    then, once their real addresses are known, every instance of every service of the
//!    services table (`crate::services`). Each gets its configuration as a file,
//!    `run/<process>.toml` (`config_file`), runs in its own process group, announces its
//!    address through a file, and exits if we die.
//! 3. Watch them (`child`): restart a crashed process with back-off; print where everything
//!    is once all are ready; keep `run/up.json` current for tools and tests. A process
//!    whose `run/hold/<name>` file exists is not restarted until the file is removed
//!    (`tis chaos` holds the identity provider or a service down this way).
//! 4. On Ctrl-C or SIGTERM: stop every process (SIGTERM, which drains it; SIGKILL after
//!    `up.stop_timeout`), then exit 0.

pub mod announce;
mod child;
mod config_file;
mod plan;
pub mod postgres;
pub mod prepare;
#[cfg(test)]
mod tests;
mod web;

use std::collections::BTreeMap;
use std::path::Path;

use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;

use crate::cli::UpArgs;
use crate::config::{Config, InvalidConfig, Mode, UpConfig};
use crate::services;
use child::{ChildSpec, Event};
pub use postgres::UpPostgres;
pub use prepare::Running;

pub async fn run(args: UpArgs, mut config: Config) -> anyhow::Result<()> {
    if config.mode != Mode::Local {
        return Err(InvalidConfig(
            "`tis up` runs demo data and demo identities, and only in mode = \"local\"".into(),
        )
        .into());
    }
    if let Some(dir) = args.data_dir {
        config.data_dir = dir;
    }
    if let Some(n) = args.instances {
        config.up.instances = n;
    }
    if config.up.instances == 0 {
        return Err(InvalidConfig("up.instances must be at least 1".into()).into());
    }
    if let Some(url) = args.postgres {
        config.up.postgres.primary = Some(url);
    }
    if !args.replica.is_empty() {
        config.up.postgres.replicas = args.replica;
    }
    config.up.postgres.validate()?;
    let started = tokio::time::Instant::now();
    let layout = prepare::prepare(&mut config).await?;
    let exe = std::env::current_exe()?;

    let (stop_tx, stop_rx) = watch::channel(false);
    let (events_tx, mut events) = mpsc::unbounded_channel();
    let spawner = Spawner {
        exe: &exe,
        run_dir: &layout.run_dir,
        up: &config.up,
        events: &events_tx,
        stop: &stop_rx,
    };
    // Instances of an earlier run are gone: the gateway must not start with their addresses.
    let _ = std::fs::remove_file(layout.registry_file());
    let announcer = announce::Announcer::new(&layout.admin_token)?;
    let mut tasks = JoinSet::new();
    let mut ready: BTreeMap<String, Running> = BTreeMap::new();
    let mut wave_no = 0;
    let mut wave = plan::wave(wave_no, &config, &layout, &ready);
    spawner.spawn(&mut tasks, &wave)?;
    let mut announced = false;

    let shutdown = tis_core::shutdown::signal();
    tokio::pin!(shutdown);
    let result = loop {
        tokio::select! {
            () = &mut shutdown => break Ok(()),
            event = events.recv() => match event {
                None => break Ok(()),
                Some(Event::Ready { name, service, addr, others, pid }) => {
                    tracing::info!(process.name = %name, process.pid = pid, server.address = %addr, "ready");
                    let running = Running { service, addr, others, pid };
                    if let Some(admin) = running.admin() {
                        // A (re)started gateway has an empty registry: tell it everything.
                        for (instance, r) in ready.iter().filter(|(_, r)| services::is_service(&r.service)) {
                            announcer.register(admin, &r.service, instance, r.addr);
                        }
                    } else if services::is_service(&running.service)
                        && let Some(admin) = gateway_admin(&ready)
                    {
                        announcer.register(admin, &running.service, &name, running.addr);
                    }
                    ready.insert(name, running);
                    // The next wave starts once every process of this one is ready; its
                    // settings may depend on their addresses.
                    while !announced && wave.iter().all(|s| ready.contains_key(&s.name)) {
                        wave_no += 1;
                        if wave_no == 2 {
                            web::before_instances(&config, &layout, &ready).await?;
                        }
                        wave = plan::wave(wave_no, &config, &layout, &ready);
                        if wave.is_empty() {
                            announced = true;
                            plan::print_banner(&config, &layout, &ready, started.elapsed());
                        } else {
                            spawner.spawn(&mut tasks, &wave)?;
                        }
                    }
                    layout.write_state(&ready, &plan::issuer(&ready, &config))?;
                }
                Some(Event::Down { name, service, addr, reason }) => {
                    let addr = addr.map(|a| a.to_string()).unwrap_or_default();
                    tracing::warn!(process.name = %name, tis.service = %service, server.address = %addr, reason, "down");
                    ready.remove(&name);
                    // A crashed (or held-down) instance stays in the gateway's registry: it is
                    // expected back, so the gateway's breaker ejects it and /api/status says the
                    // service runs with reduced capacity, as it would if nobody had noticed the
                    // crash. Only one that stopped cleanly (drained) leaves the rotation.
                    let clean = reason == "stopped" || reason == "exited with code 0";
                    if services::is_service(&service)
                        && clean
                        && let Some(admin) = gateway_admin(&ready)
                    {
                        announcer.deregister(admin, &service, &name);
                    }
                    layout.write_state(&ready, &plan::issuer(&ready, &config))?;
                }
                Some(Event::Failed { name, reason }) => {
                    break Err(anyhow::anyhow!("could not start {name}: {reason}"));
                }
            }
        }
    };
    tracing::info!("stopping every process");
    let _ = stop_tx.send(true);
    while tasks.join_next().await.is_some() {}
    let _ = std::fs::remove_file(layout.state_file());
    let _ = std::fs::remove_file(layout.registry_file());
    result
}

/// The admin listener of the gateway, when it is ready.
fn gateway_admin(ready: &BTreeMap<String, Running>) -> Option<std::net::SocketAddr> {
    ready.values().find_map(Running::admin)
}

/// Starts supervision tasks.
struct Spawner<'a> {
    exe: &'a Path,
    run_dir: &'a Path,
    up: &'a UpConfig,
    events: &'a mpsc::UnboundedSender<Event>,
    stop: &'a watch::Receiver<bool>,
}

impl Spawner<'_> {
    /// Writes each process's configuration file, then starts supervising it.
    fn spawn(&self, tasks: &mut JoinSet<()>, planned: &[plan::Planned]) -> anyhow::Result<()> {
        for p in planned {
            let file = config_file::write(self.run_dir, &p.name, &p.config)?;
            let mut args = p.args.clone();
            args.extend([std::ffi::OsString::from("--config"), file.into_os_string()]);
            let spec = ChildSpec {
                name: p.name.clone(),
                service: p.service.clone(),
                args,
            };
            tasks.spawn(child::supervise(
                spec,
                self.exe.to_path_buf(),
                self.run_dir.to_path_buf(),
                self.up.clone(),
                self.events.clone(),
                self.stop.clone(),
            ));
        }
        Ok(())
    }
}
