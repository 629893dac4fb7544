//! `tis up`: the whole system on one machine, supervised.
//!
//! 1. Prepare the data folder on first start (`prepare`): the demo realm and its signing
//!    keys, each service's SQLite database migrated and seeded with demo data.
//! 2. Start every process (`plan`) — the identity provider, then each service's instances —
//!    each in its own process group, told to announce its address and to exit if we die.
//! 3. Watch them (`child`): restart a crashed process with back-off; print where everything
//!    is once all are ready; keep `run/up.json` current for tools and tests.
//! 4. On Ctrl-C or SIGTERM: stop every process (SIGTERM, which drains it; SIGKILL after
//!    `up.stop_timeout`), then exit 0.

mod child;
mod plan;
mod prepare;

use std::collections::BTreeMap;
use std::net::SocketAddr;

use tokio::sync::{mpsc, watch};

use crate::cli::UpArgs;
use crate::config::{Config, InvalidConfig, Mode};
use child::Event;

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
    let started = tokio::time::Instant::now();
    let layout = prepare::prepare(&mut config).await?;
    let exe = std::env::current_exe()?;
    let specs = plan::children(&config, &layout);

    let (stop_tx, stop_rx) = watch::channel(false);
    let (events_tx, mut events) = mpsc::unbounded_channel();
    let mut tasks = tokio::task::JoinSet::new();
    for spec in specs.clone() {
        tasks.spawn(child::supervise(
            spec,
            exe.clone(),
            layout.run_dir.clone(),
            config.up.clone(),
            events_tx.clone(),
            stop_rx.clone(),
        ));
    }
    drop(events_tx);

    let mut ready: BTreeMap<String, (String, SocketAddr)> = BTreeMap::new();
    let mut announced = false;
    let shutdown = tis_core::shutdown::signal();
    tokio::pin!(shutdown);
    let result = loop {
        tokio::select! {
            () = &mut shutdown => break Ok(()),
            event = events.recv() => match event {
                None => break Ok(()),
                Some(Event::Ready { name, service, addr }) => {
                    tracing::info!(process.name = %name, server.address = %addr, "ready");
                    ready.insert(name, (service, addr));
                    layout.write_state(&ready)?;
                    if !announced && ready.len() == specs.len() {
                        announced = true;
                        plan::print_banner(&config, &ready, started.elapsed());
                    }
                }
                Some(Event::Down { name, service, addr, reason }) => {
                    let addr = addr.map(|a| a.to_string()).unwrap_or_default();
                    tracing::warn!(process.name = %name, service.name = %service, server.address = %addr, reason, "down");
                    ready.remove(&name);
                    layout.write_state(&ready)?;
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
    result
}
