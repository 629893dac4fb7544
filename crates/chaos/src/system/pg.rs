//! PostgreSQL mode: a primary, a synchronous replica and an asynchronous one, started by
//! `tis chaos` before `tis up` (which runs every service on them: `[up.postgres]`), so that a
//! scenario can kill and promote them for real.
//!
//! | node | role at start |
//! |---|---|
//! | `primary` | the primary |
//! | `replica1` | synchronous standby (`synchronous_standby_names = 'replica1'`, `synchronous_commit = on`): every acknowledged commit is on it |
//! | `replica2` | asynchronous standby |
//!
//! Actions:
//! - `pg-kill`: `kill -9` of the node's postmaster (its backends follow).
//! - `pg-promote`: `pg_ctl promote`, then every other running standby is pointed at the new
//!   primary (`primary_conninfo`, reload), as Patroni would, so it follows the new timeline
//!   instead of waiting for a primary that is gone. Promote `replica1`: the synchronous one,
//!   the only one guaranteed to have every acknowledged write.
//! - `pg-delay`: `recovery_min_apply_delay` on standbys (reload); `delay = "0s"` undoes it.
//!
//! At the end, [`Extension::check_writes`] reads every acknowledged create from the
//! current primary directly, and from every standby streaming from it once it has replayed
//! the primary's WAL: each must be there exactly once, on every node.

use std::time::Duration;

use anyhow::{Context, bail};
use futures::future::BoxFuture;
use sqlx::Connection;

use super::pg_cluster::{Cluster, Node};
use super::{Extension, TisUp};
use crate::scenario::Action;

/// The database `tis up` gives the Reference service (`up.postgres.database_prefix` + name).
const REFERENCE_DB: &str = "tis_reference";

/// The cluster and what we did to it.
pub struct Postgres {
    cluster: Option<Cluster>,
    /// Nodes we killed (not to be asked anything).
    dead: Vec<String>,
}

impl Postgres {
    /// Builds and starts the three nodes (a few seconds).
    pub async fn start() -> anyhow::Result<Postgres> {
        let cluster = tokio::task::spawn_blocking(|| Cluster::start(2, true))
            .await?
            .context("starting PostgreSQL (primary, synchronous replica1, replica2)")?;
        Ok(Postgres {
            cluster: Some(cluster),
            dead: Vec::new(),
        })
    }

    fn cluster(&self) -> anyhow::Result<&Cluster> {
        self.cluster.as_ref().context("PostgreSQL was stopped")
    }

    fn node(&self, name: &str) -> anyhow::Result<&Node> {
        self.cluster()?.node(name)
    }

    /// The node that is a primary now (not in recovery), among those alive.
    async fn current_primary(&self) -> anyhow::Result<&Node> {
        for node in &self.cluster()?.nodes {
            if self.dead.contains(&node.name) {
                continue;
            }
            if let Ok(false) = in_recovery(&node.url("postgres")).await {
                return Ok(node);
            }
        }
        bail!("no PostgreSQL node is a primary")
    }

    async fn promote(&self, name: &str) -> anyhow::Result<()> {
        let cluster = self.cluster()?;
        let node = cluster.node(name)?;
        tokio::task::block_in_place(|| cluster.promote(name))?;
        // Point the other live standbys at the new primary (no slot: slots stay behind on
        // the old primary), so that they follow its timeline.
        let conninfo = format!(
            "primary_conninfo = 'host=127.0.0.1 port={} user=postgres application_name={{name}}'\n\
             primary_slot_name = ''",
            node.port
        );
        for other in cluster.nodes.iter().skip(1) {
            if other.name == name || self.dead.contains(&other.name) {
                continue;
            }
            other.configure(&conninfo.replace("{name}", &other.name))?;
            tokio::task::block_in_place(|| cluster.reload(&other.name))?;
        }
        Ok(())
    }

    fn delay(&self, nodes: &[String], delay: Duration) -> anyhow::Result<()> {
        for name in nodes {
            let node = self.node(name)?;
            node.configure(&format!(
                "recovery_min_apply_delay = '{}ms'",
                delay.as_millis()
            ))?;
            tokio::task::block_in_place(|| self.cluster()?.reload(name))?;
        }
        Ok(())
    }
}

async fn in_recovery(url: &str) -> anyhow::Result<bool> {
    let mut conn = tokio::time::timeout(Duration::from_secs(2), sqlx::PgConnection::connect(url))
        .await
        .context("connecting timed out")??;
    let r: bool = sqlx::query_scalar("SELECT pg_is_in_recovery()")
        .fetch_one(&mut conn)
        .await?;
    conn.close().await.ok();
    Ok(r)
}

/// Each acknowledged create must be on `node` exactly once.
async fn count_problems(node: &Node, abbreviations: &[String]) -> anyhow::Result<Vec<String>> {
    let mut conn = sqlx::PgConnection::connect(&node.url(REFERENCE_DB))
        .await
        .with_context(|| format!("connecting to {} ({REFERENCE_DB})", node.name))?;
    let rows: Vec<(String, i64)> = sqlx::query_as(
        "SELECT abbreviation, count(*) FROM grade WHERE abbreviation = ANY($1) \
         GROUP BY abbreviation",
    )
    .bind(abbreviations)
    .fetch_all(&mut conn)
    .await
    .with_context(|| format!("reading the acknowledged creates on {}", node.name))?;
    conn.close().await.ok();
    let found: std::collections::BTreeMap<String, i64> = rows.into_iter().collect();
    let mut problems = Vec::new();
    for a in abbreviations {
        match found.get(a) {
            None => problems.push(format!(
                "{a}: acknowledged, not in the database on {}",
                node.name
            )),
            Some(&n) if n > 1 => problems.push(format!("{a}: {n} rows on {}", node.name)),
            Some(_) => {}
        }
    }
    Ok(problems)
}

/// Waits (up to 15 s) until the standby at `url` has replayed up to `lsn`.
async fn wait_replayed(url: &str, lsn: &str) -> anyhow::Result<()> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        let mut conn = sqlx::PgConnection::connect(url).await?;
        let done: bool = sqlx::query_scalar(
            "SELECT coalesce(pg_last_wal_replay_lsn() >= $1::text::pg_lsn, false)",
        )
        .bind(lsn)
        .fetch_one(&mut conn)
        .await?;
        conn.close().await.ok();
        if done {
            return Ok(());
        }
        if tokio::time::Instant::now() >= deadline {
            bail!("had not replayed the primary's WAL up to {lsn} within 15 s");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// `["a", "b"]`, as the configuration loader reads a list from the environment.
fn toml_list(items: &[String]) -> String {
    let quoted: Vec<String> = items.iter().map(|i| format!("{i:?}")).collect();
    format!("[{}]", quoted.join(", "))
}

impl Extension for Postgres {
    fn name(&self) -> &str {
        "postgres"
    }

    fn env(&self) -> Vec<(String, String)> {
        let Some(cluster) = &self.cluster else {
            return Vec::new();
        };
        let replicas: Vec<String> = cluster.nodes[1..]
            .iter()
            .map(|r| r.url("postgres"))
            .collect();
        vec![
            (
                "TIS_UP__POSTGRES__PRIMARY".into(),
                cluster.nodes[0].url("postgres"),
            ),
            ("TIS_UP__POSTGRES__REPLICAS".into(), toml_list(&replicas)),
        ]
    }

    fn handles(&self, action: &Action) -> bool {
        matches!(
            action,
            Action::PgKill { .. } | Action::PgPromote { .. } | Action::PgDelay { .. }
        )
    }

    fn act<'a>(
        &'a mut self,
        action: &'a Action,
        _up: &'a TisUp,
    ) -> BoxFuture<'a, anyhow::Result<()>> {
        Box::pin(async move {
            match action {
                Action::PgKill { node } => {
                    let cluster = self.cluster()?;
                    tokio::task::block_in_place(|| cluster.kill(node))?;
                    self.dead.push(node.clone());
                    Ok(())
                }
                Action::PgPromote { node } => self.promote(node).await,
                Action::PgDelay { nodes, delay } => self.delay(nodes, *delay),
                other => bail!("not a PostgreSQL action: {}", other.describe()),
            }
        })
    }

    fn check_writes<'a>(
        &'a self,
        abbreviations: &'a [String],
    ) -> BoxFuture<'a, anyhow::Result<Vec<String>>> {
        Box::pin(async move {
            let primary = self.current_primary().await?;
            let mut problems = count_problems(primary, abbreviations).await?;
            // Every standby streaming from the primary has them too, once it has replayed
            // what the primary has written by now.
            let mut conn = sqlx::PgConnection::connect(&primary.url("postgres")).await?;
            let target: String = sqlx::query_scalar("SELECT pg_current_wal_lsn()::text")
                .fetch_one(&mut conn)
                .await?;
            let streaming: Vec<String> = sqlx::query_scalar(
                "SELECT application_name FROM pg_stat_replication WHERE state = 'streaming'",
            )
            .fetch_all(&mut conn)
            .await?;
            conn.close().await.ok();
            for node in &self.cluster()?.nodes {
                if node.name == primary.name || self.dead.contains(&node.name) {
                    continue;
                }
                if !streaming.contains(&node.name) {
                    problems.push(format!(
                        "{} does not stream from {} (the primary now): its copy was not checked",
                        node.name, primary.name
                    ));
                    continue;
                }
                if let Err(e) = wait_replayed(&node.url("postgres"), &target).await {
                    problems.push(format!("{}: {e:#}", node.name));
                    continue;
                }
                problems.extend(count_problems(node, abbreviations).await?);
            }
            Ok(problems)
        })
    }

    fn stop(&mut self) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            if let Some(cluster) = self.cluster.take() {
                let _ = tokio::task::spawn_blocking(move || drop(cluster)).await;
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replica_urls_are_a_toml_list() {
        assert_eq!(
            toml_list(&["postgres://a/b".into(), "postgres://c/d".into()]),
            r#"["postgres://a/b", "postgres://c/d"]"#
        );
    }
}
