//! Processes `tis chaos` runs beside `tis up`'s (`reference-ns`, `gateway-2`): started with
//! the settings `tis up` gave a process of the same kind, announced and ready like them.

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use anyhow::{Context, bail};
use tokio::process::Child;
use tokio::time::Instant;

/// The `TIS_…` settings of a running process (`/proc/<pid>/environ`).
pub fn tis_env(pid: i32) -> anyhow::Result<Vec<(String, String)>> {
    let environ = std::fs::read(format!("/proc/{pid}/environ"))
        .with_context(|| format!("reading the environment of pid {pid}"))?;
    Ok(environ
        .split(|b| *b == 0)
        .filter_map(|kv| {
            let kv = std::str::from_utf8(kv).ok()?;
            let (k, v) = kv.split_once('=')?;
            k.starts_with("TIS_").then(|| (k.to_owned(), v.to_owned()))
        })
        .collect())
}

/// Sets `key` in `env` (replacing it when present).
pub fn set(env: &mut Vec<(String, String)>, key: &str, value: String) {
    env.retain(|(k, _)| k != key);
    env.push((key.to_owned(), value));
}

/// A copy of the last-good keys file named by `key` in `env`, for `owner`, so that two
/// processes never write the same file; `env` is pointed at the copy.
pub fn own_keys_file(env: &mut Vec<(String, String)>, key: &str, owner: &str) {
    let Some(file) = env
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| std::path::PathBuf::from(v))
    else {
        return;
    };
    let own = file.with_file_name(format!("jwks-{owner}.json"));
    let _ = std::fs::copy(&file, &own);
    set(env, key, own.display().to_string());
}

/// Waits for `announce` (written by the process once listening), then for `/health/ready`.
/// Returns the announced addresses (the first line is the main one; `name addr` lines follow).
pub async fn wait_ready(
    name: &str,
    child: &mut Child,
    announce: &Path,
    http: &reqwest::Client,
    within: Duration,
) -> anyhow::Result<(SocketAddr, Vec<(String, SocketAddr)>)> {
    let deadline = Instant::now() + within;
    let (addr, others) = loop {
        if let Ok(text) = std::fs::read_to_string(announce) {
            let mut lines = text.lines();
            if let Some(Ok(addr)) = lines.next().map(|l| l.trim().parse::<SocketAddr>()) {
                let others = lines
                    .filter_map(|l| {
                        let (n, a) = l.trim().split_once(' ')?;
                        Some((n.to_owned(), a.trim().parse().ok()?))
                    })
                    .collect();
                break (addr, others);
            }
        }
        if let Some(status) = child.try_wait()? {
            bail!("{name} exited before listening: {status}");
        }
        if Instant::now() >= deadline {
            bail!("{name} did not announce its address within {within:?}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let ready = format!("http://{addr}/health/ready");
    loop {
        if let Ok(res) = http.get(&ready).send().await
            && res.status().is_success()
        {
            return Ok((addr, others));
        }
        if let Some(status) = child.try_wait()? {
            bail!("{name} exited before it was ready: {status}");
        }
        if Instant::now() >= deadline {
            bail!("{name} at {addr} was not ready within {within:?}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
